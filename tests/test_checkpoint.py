"""Checkpoints: what they hold, that they load with weights_only=True, that writing them is atomic,
and that a crafted pickle is refused without running."""
import os, pickle, random, builtins
import numpy as np
import pytest
import torch
from mixup_nb.config import TrainConfig, run_paths, resolve_config
from mixup_nb.checkpoint import load_checkpoint, save_checkpoint, get_rng_state, set_rng_state, CKPT_FORMAT
from mixup_nb.train import fit

CFG = dict(dataset='DIGITS', alpha=1.0, epochs=2, batch_size=64, device='cpu', name='ck', progress=False)

@pytest.fixture(scope='module')
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp('ck')
    r = fit(TrainConfig(**CFG, out_dir=str(out)), log=lambda s: None)
    return r, run_paths(resolve_config(TrainConfig(**CFG, out_dir=str(out))))

def test_checkpoint_holds_everything(run):
    r, paths = run
    ck = torch.load(paths['last'], weights_only=True)                    # plain torch, the safe way
    for k in ('model', 'optimizer', 'scheduler', 'scaler', 'epoch', 'step', 'best_test_error', 'best_epoch', 'history',
              'config', 'determinism', 'speed', 'rng', 'n_train', 'n_test'):
        assert k in ck, k
    assert ck['format'] == CKPT_FORMAT and (ck['epoch'], ck['step']) == (2, 0)
    assert [h['epoch'] for h in ck['history']] == [1, 2] and ck['history'] == r['history']
    assert ck['config']['alpha'] == 1.0 and ck['config']['batch_size'] == 64
    assert ck['best_test_error'] == min(h['test_error'] for h in ck['history'])
    assert ck['determinism']['deterministic_algorithms'] is True
    assert ck['optimizer']['state'] and all('momentum_buffer' in s for s in ck['optimizer']['state'].values())
    assert ck['scheduler']['last_epoch'] == 2
    (rng,) = ck['rng']                                                   # one set per process
    assert set(rng) == {'python', 'numpy', 'torch', 'cuda', 'mps', 'gen'}
    assert isinstance(rng['gen'], torch.Tensor) and isinstance(rng['torch'], torch.Tensor)
    assert isinstance(rng['numpy'][1], list) and len(rng['numpy'][1]) == 624
    model_keys = set(ck['model'])
    best = load_checkpoint(paths['best'])
    assert set(best['model']) == model_keys and best['epoch'] == best['best_epoch']

def test_rng_state_roundtrip():
    g = torch.Generator().manual_seed(5)
    st = get_rng_state(g, 'cpu')
    draws = lambda: (random.random(), np.random.rand(3).tolist(), torch.randn(3).tolist(), torch.rand(3, generator=g).tolist())
    a = draws(); set_rng_state(st, g, 'cpu'); assert draws() == a

class _System:
    def __init__(self, flag): self.flag = flag
    def __reduce__(self): return (os.system, (f"touch {self.flag}",))

class _Open:
    def __init__(self, flag): self.flag = flag
    def __reduce__(self): return (builtins.open, (str(self.flag), 'w'))

@pytest.mark.parametrize('how', ['torch.save', 'pickle-2', 'pickle-4', 'open-file'])
def test_crafted_pickle_is_refused_without_running(tmp_path, how):
    flag = tmp_path / 'code_ran'
    bad = tmp_path / 'ckpt_x_last_0.pt'
    if how == 'torch.save': torch.save({'format': CKPT_FORMAT, 'model': {}, 'x': _System(flag)}, bad)
    elif how == 'open-file': bad.write_bytes(pickle.dumps({'format': CKPT_FORMAT, 'x': _Open(flag)}, protocol=2))
    else: bad.write_bytes(pickle.dumps(_System(flag), protocol=int(how[-1])))
    with pytest.raises(ValueError) as e: load_checkpoint(bad)
    msg = str(e.value)
    assert msg.startswith(f"refusing to load {bad}") and 'nothing in it was run' in msg and '\n' not in msg, msg
    assert not flag.exists(), "the crafted checkpoint ran code"
    # the check is real: unpickling the same bytes without weights_only does run the code
    if how == 'pickle-2':
        pickle.loads(bad.read_bytes()); assert flag.exists()

def test_crafted_checkpoint_refused_on_resume(tmp_path):
    "fit(resume=True) reads `last` through the same safe path: one line, nothing run, nothing trained."
    flag = tmp_path / 'code_ran'
    cfg = TrainConfig(**CFG, out_dir=str(tmp_path), resume=True)
    last = run_paths(resolve_config(cfg))['last']; last.parent.mkdir(parents=True)
    torch.save({'format': CKPT_FORMAT, 'x': _System(flag)}, last)
    with pytest.raises(ValueError, match='refusing to load'): fit(cfg, log=lambda s: None)
    assert not flag.exists() and not run_paths(resolve_config(cfg))['csv'].exists()

def test_bad_files_clear_errors(tmp_path, run):
    _, paths = run
    cut = tmp_path / 'cut.pt'; cut.write_bytes(paths['last'].read_bytes()[:1000])
    with pytest.raises(ValueError, match='cannot read checkpoint .*truncated'): load_checkpoint(cut)
    other = tmp_path / 'other.pt'; torch.save({'state_dict': {'w': torch.ones(1)}}, other)
    with pytest.raises(ValueError, match='is not a mixup_nb checkpoint'): load_checkpoint(other)
    with pytest.raises(FileNotFoundError, match='no checkpoint at'): load_checkpoint(tmp_path / 'missing.pt')

def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    "A crash while writing leaves the previous checkpoint whole and no temporary file behind."
    p = tmp_path / 'ck.pt'
    save_checkpoint(p, {'format': CKPT_FORMAT, 'epoch': 1, 'w': torch.ones(3)})
    real_save = torch.save
    def crash(obj, f, *a, **k):
        real_save(obj, f, *a, **k)
        with open(f, 'r+b') as fh: fh.truncate(100)                       # half written...
        raise OSError("disk full")                                         # ...then the crash
    monkeypatch.setattr(torch, 'save', crash)
    with pytest.raises(OSError, match='disk full'): save_checkpoint(p, {'format': CKPT_FORMAT, 'epoch': 2, 'w': torch.zeros(3)})
    monkeypatch.undo()
    ck = load_checkpoint(p)
    assert ck['epoch'] == 1 and torch.equal(ck['w'], torch.ones(3))
    assert sorted(f.name for f in tmp_path.iterdir()) == ['ck.pt']

def test_best_is_last_under_a_second_name(tmp_path, monkeypatch):
    "`best` costs no second serialization: one torch.save per epoch, done off the training thread; `best` is a hard link of `last`."
    import threading
    saves = []
    real_save = torch.save
    def counting_save(obj, f, *a, **k):
        saves.append((threading.current_thread().name, obj.get('epoch')))
        return real_save(obj, f, *a, **k)
    monkeypatch.setattr(torch, 'save', counting_save)
    cfg = TrainConfig(**{**CFG, 'epochs': 2}, out_dir=str(tmp_path))
    r = fit(cfg, log=lambda s: None)
    assert saves == [('mixup_nb-checkpoint-writer', 1), ('mixup_nb-checkpoint-writer', 2)], saves
    paths = run_paths(resolve_config(cfg))
    same = paths['best'].stat().st_ino == paths['last'].stat().st_ino
    assert same == (r['best_epoch'] == 2)                     # linked when the last epoch was the best, else the older file
    assert load_checkpoint(paths['best'])['epoch'] == r['best_epoch']

def test_best_copied_where_links_fail(tmp_path, monkeypatch):
    def no_links(*a, **k): raise OSError(1, "Operation not permitted")
    monkeypatch.setattr(os, 'link', no_links)
    last, best = tmp_path / 'last.pt', tmp_path / 'best.pt'
    save_checkpoint(last, {'format': CKPT_FORMAT, 'w': torch.arange(4.)}, also=best)
    assert best.read_bytes() == last.read_bytes() and best.stat().st_ino != last.stat().st_ino
    assert sorted(f.name for f in tmp_path.iterdir()) == ['best.pt', 'last.pt']
