"""Mixed precision on the CPU: the float16 + GradScaler path (what a pre-Ampere GPU gets) trains, skips an overflowing
step without calling it a fault, and its scaler state resumes exactly; the CUDA defaults are chosen by compute capability."""
from dataclasses import replace
from unittest.mock import patch
import pytest
import torch
import mixup_nb.train as T
import mixup_nb.config as C
from mixup_nb.data import load_dataset, DeviceLoader, TensorDataset
from mixup_nb.models import DigitsNet

def small_digits(n: int, split: str) -> TensorDataset:
    "The first `n` DIGITS examples of a split (float16 convolutions are slow on a CPU: keep the runs tiny)."
    ds = load_dataset('DIGITS', split=split)
    return TensorDataset(ds.x[:n], ds.y[:n], ds.classes, ds.name, ds.split)

def test_fp16_scaler_skips_overflow_without_fault():
    "A scale of 2**40 overflows the first step's float16 gradients: the scaler skips that step and backs off, the loop goes on."
    torch.manual_seed(0); g = torch.Generator().manual_seed(0)
    m = DigitsNet(); w0 = [p.detach().clone() for p in m.parameters()]
    o = torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9)
    sc = torch.amp.GradScaler('cpu', init_scale=2.0 ** 40, backoff_factor=2.0 ** -30)
    dl = DeviceLoader(small_digits(128, 'train'), 32, shuffle=True, generator=g)     # 4 steps
    r = T.train_one_epoch(m, dl, o, 1.0, g, amp_dtype=torch.float16, scaler=sc)
    assert sc.get_scale() == 2.0 ** 10                                 # exactly one step skipped (the first), none after
    assert 0 < r['train_loss'] < 3                                    # finite: an overflowing step is not a NaN fault
    assert any(not torch.equal(a, b) for a, b in zip(w0, m.parameters()))   # the other steps trained

@pytest.fixture
def fp16_on_cpu(monkeypatch):
    "fit's amp on this CPU as on a V100: float16 autocast with a GradScaler."
    monkeypatch.setattr(T, 'amp_setup', lambda device, amp: (torch.float16, True) if amp else (None, False))

def test_fp16_scaler_resume_is_exact(tmp_path, fp16_on_cpu):
    cfg = C.TrainConfig(dataset='DIGITS', alpha=1.0, epochs=2, batch_size=32, device='cpu', amp=True, progress=False, name='fp16')
    data = small_digits(128, 'train'), small_digits(64, 'test')        # 4 steps per epoch
    ref = T.fit(replace(cfg, out_dir=str(tmp_path / 'ref')), data=data, log=lambda s: None)
    assert ref['speed']['amp_dtype'] == 'float16' and ref['speed']['grad_scaler'] is True
    class Crash(Exception): pass
    def crash(event, **info):
        if event == 'step' and (info['epoch'], info['step']) == (2, 3): raise Crash()
    with pytest.raises(Crash): T.fit(replace(cfg, out_dir=str(tmp_path / 'run')), data=data, callback=crash, log=lambda s: None)
    res = T.fit(replace(cfg, out_dir=str(tmp_path / 'run'), resume=True), data=data, log=lambda s: None)
    assert res['resumed'] == {'finished': False, 'epoch': 1, 'step': 0}
    a, b = (T.load_checkpoint(C.run_paths(C.resolve_config(replace(cfg, out_dir=str(tmp_path / s))))['last']) for s in ('ref', 'run'))
    assert a['scaler'] and a['scaler'] == b['scaler']                  # the scale and its growth tracker, saved and restored
    assert all(torch.equal(a['model'][k], b['model'][k]) for k in a['model'])
    assert open(ref['csv'], 'rb').read() == open(res['csv'], 'rb').read()

def test_cuda_defaults_by_compute_capability():
    "bf16 only where the GPU computes it natively (>= 8.0); float16 + scaler before (not `is_bf16_supported`, which counts emulation)."
    with patch('torch.cuda.get_device_capability', lambda d=None: (7, 5)), patch('torch.cuda.is_bf16_supported', lambda *a, **k: True):
        assert T.amp_setup(torch.device('cuda'), True) == (torch.float16, True)
    with patch('torch.cuda.get_device_capability', lambda d=None: (9, 0)):
        assert T.amp_setup(torch.device('cuda'), True) == (torch.bfloat16, False)
    with patch('mixup_nb.config.get_device', lambda d: torch.device('cuda')):      # a CUDA machine: the fast settings by default
        c = C.resolve_config(dataset='DIGITS')
        assert (c.amp, c.channels_last) == (True, True)
        assert (C.resolve_config(dataset='DIGITS', amp=False).amp, C.resolve_config(dataset='DIGITS', channels_last=False).channels_last) == (False, False)
    c = C.resolve_config(dataset='DIGITS', device='cpu')
    assert (c.amp, c.channels_last) == (False, False)                  # CPU: unchanged
    with pytest.raises(ValueError, match="CUDA is not available") if not torch.cuda.is_available() else patch('os.sep', '/'):
        C.resolve_config(dataset='DIGITS', device='cuda')
