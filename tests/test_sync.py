"""No host read per training step: the loop keeps its statistics on the device and reads them every `check_every`
steps and at the end of the epoch. Counted with patched tensor methods (on a GPU, `torch.cuda.set_sync_debug_mode`
would show the same)."""
import sys
from collections import Counter
import pytest
import torch
from mixup_nb.data import load_dataset, DeviceLoader
from mixup_nb.models import DigitsNet
from mixup_nb.train import train_one_epoch

READS = ('item', 'tolist', 'cpu', 'numpy')

@pytest.fixture
def count_reads(monkeypatch):
    "Count every call of a host-reading tensor method, by the function that made it."
    calls = Counter()
    for name in READS:
        real = getattr(torch.Tensor, name)
        def wrapped(self, *a, _real=real, _name=name, **k):
            calls[(_name, sys._getframe(1).f_code.co_name)] += 1
            return _real(self, *a, **k)
        monkeypatch.setattr(torch.Tensor, name, wrapped)
    return calls

_DIGITS = []

def epoch(check_every, amp=False, **kw):
    "One epoch of DigitsNet on DIGITS (898 examples, batch 64: 15 steps)."
    if not _DIGITS: _DIGITS.append(load_dataset('DIGITS', split='train'))
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    m, dl = DigitsNet(), DeviceLoader(_DIGITS[0], 64, shuffle=True, generator=g)
    o = torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9)
    return len(dl), train_one_epoch(m, dl, o, 1.0, g, amp, check_every=check_every, **kw)

@pytest.mark.parametrize('check_every, reads', [(1000, 1), (4, 4)])
def test_reads_per_epoch(count_reads, check_every, reads):
    n, r = epoch(check_every)
    assert n == 15 and r['train_loss'] > 0
    # the only host reads outside mixup's lam draw: one `.tolist()` per block of `check_every` steps (and the epoch's end)
    loop = {k: v for k, v in count_reads.items() if k[1] != 'sample_lam'}
    assert loop == {('tolist', 'read'): reads}, count_reads
    # sample_lam draws lam's seed with one `.item()` of a CPU tensor from the run's CPU generator: never a device tensor
    assert count_reads[('item', 'sample_lam')] == n

def test_same_sums_whatever_check_every():
    "The host adds the per-step sums in step order however they are read: identical epoch statistics."
    assert epoch(1)[1] == epoch(7)[1]

def test_bf16_amp_makes_no_read_per_step(count_reads):
    n, r = epoch(1000, amp=True)
    assert {k: v for k, v in count_reads.items() if k[1] != 'sample_lam'} == {('tolist', 'read'): 1}
