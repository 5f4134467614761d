"""Exact resume: a DIGITS run killed with SIGKILL at any moment and resumed ends on the same weights and the same CSV bytes
as a run that never stopped; two runs with one seed agree bit for bit; the speed switches run and resume too."""
import signal
import pytest
import torch
from helpers import BASE, STEPS, run, start_then_wait, result, files, csv_epochs, assert_same_run

@pytest.fixture
def reference(resume_reference):
    "The uninterrupted run every killed-and-resumed run must end on (made once for the session: conftest)."
    return resume_reference

def test_two_runs_same_seed_identical(reference, tmp_path):
    result(run(tmp_path, tmp_path / 'again'))
    assert_same_run(reference, tmp_path / 'again')
    assert csv_epochs(files(reference)['csv']) == [1, 2, 3, 4, 5, 6]
    assert 'seconds' not in files(reference)['csv'].read_text().splitlines()[0]   # wall-clock time lives in time_*.csv

@pytest.mark.parametrize('kill, on_disk', [
    (['step', 3, 5, 'SIGKILL'], [1, 2]),             # mid-epoch
    (['saved', 2, None, 'SIGKILL'], [1]),            # after epoch 2's checkpoint, before its CSV row
    (['step', 1, 7, 'SIGKILL'], []),                 # before any checkpoint exists
    (['step', 6, STEPS, 'SIGKILL'], [1, 2, 3, 4, 5]),  # after the last step, before the last evaluation
    (['saved', 6, None, 'SIGKILL'], [1, 2, 3, 4, 5]),  # finished checkpoint, CSV one row short
], ids=['mid-epoch', 'between-checkpoint-and-csv', 'before-first-checkpoint', 'before-last-eval', 'after-last-checkpoint'])
def test_sigkill_then_resume_is_exact(reference, tmp_path, kill, on_disk):
    out = tmp_path / 'out'
    p = run(tmp_path, out, kill=kill)
    assert p.returncode == -signal.SIGKILL, (p.returncode, p.stderr[-2000:])
    assert csv_epochs(files(out)['csv']) == on_disk
    assert not [f for f in out.rglob('*') if f.name.endswith('.tmp')], "a temporary file was left behind"
    p = run(tmp_path, out, resume=True)
    r = result(p)
    done = kill[1] if kill[0] == 'saved' else kill[1] - 1          # epochs in the checkpoint the kill left
    if done == 0: assert r['resumed'] is None and 'starting from scratch' in p.stdout
    elif done == BASE['epochs']: assert r['resumed']['finished'] and 'already finished' in p.stdout
    else: assert r['resumed'] == {'finished': False, 'epoch': done, 'step': 0} and "resuming from" in p.stdout
    assert_same_run(reference, out)

def test_resume_without_checkpoint_starts_fresh(reference, tmp_path):
    p = run(tmp_path, tmp_path / 'out', resume=True)
    assert 'no checkpoint at' in p.stdout and 'starting from scratch' in p.stdout
    assert result(p)['resumed'] is None
    assert_same_run(reference, tmp_path / 'out')

def test_sigkill_at_a_random_moment(reference, tmp_path):
    "An outside SIGKILL, at a moment the run does not choose."
    out = tmp_path / 'out'
    p = start_then_wait(tmp_path, out, 0.4)
    p.kill(); p.communicate(timeout=60)
    assert p.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    assert 2 <= len(csv_epochs(files(out)['csv'])) < BASE['epochs']
    result(run(tmp_path, out, resume=True))
    assert_same_run(reference, out)

def test_finished_run_resumed_does_nothing(reference, tmp_path):
    import shutil
    out = tmp_path / 'out'; shutil.copytree(reference, out)
    f = files(out); before = {k: (p.stat().st_mtime_ns, p.read_bytes()) for k, p in f.items()}
    p = run(tmp_path, out, resume=True)
    r = result(p)
    assert 'already finished' in p.stdout and 'nothing to do' in p.stdout
    assert r['resumed']['finished'] is True and r['epochs_run'] == BASE['epochs']
    assert {k: (p_.stat().st_mtime_ns, p_.read_bytes()) for k, p_ in f.items()} == before, "a finished run rewrote its files"

def test_resume_with_other_settings_refused(reference, tmp_path):
    import shutil
    from mixup_nb.config import TrainConfig
    from mixup_nb.train import fit
    out = tmp_path / 'out'; shutil.copytree(reference, out)
    for change, shown in ((dict(alpha=0.5), "alpha=1.0 but this run asks alpha=0.5"), (dict(batch_size=32), "batch_size=64 but this run asks batch_size=32"),
                          (dict(lr=0.1), "lr=0.05 but this run asks lr=0.1")):
        with pytest.raises(ValueError) as e:
            fit(TrainConfig(**{**BASE, 'out_dir': str(out), 'resume': True, **change}), log=lambda s: None)
        assert 'cannot resume from' in str(e.value) and shown in str(e.value) and '\n' not in str(e.value)
    # more epochs is allowed: the run goes on from where it ended (the lr schedule does not depend on the total)
    r = fit(TrainConfig(**{**BASE, 'out_dir': str(out), 'resume': True, 'epochs': 7}), log=lambda s: None)
    assert r['epochs_run'] == 7 and r['resumed'] == {'finished': False, 'epoch': 6, 'step': 0}
    assert csv_epochs(files(out)['csv']) == list(range(1, 8))

def test_amp_channels_last_resume_exact(tmp_path):
    "bf16 autocast on the CPU and channels_last: they run, are recorded, and a mid-epoch kill still resumes exactly."
    opts = dict(amp=True, channels_last=True, epochs=3, name='fast')
    ref = result(run(tmp_path, tmp_path / 'ref', **opts))
    assert ref['speed']['amp_dtype'] == 'bfloat16' and ref['speed']['channels_last'] is True and ref['final_test_error'] < 60
    p = run(tmp_path, tmp_path / 'out', kill=['step', 2, 9, 'SIGKILL'], **opts)
    assert p.returncode == -signal.SIGKILL
    result(run(tmp_path, tmp_path / 'out', resume=True, **opts))
    from mixup_nb.checkpoint import load_checkpoint
    a, b = (load_checkpoint(files(tmp_path / d, name='fast')['last']) for d in ('ref', 'out'))
    assert all(torch.equal(a['model'][k], b['model'][k]) for k in a['model'])
    assert files(tmp_path / 'ref', name='fast')['csv'].read_bytes() == files(tmp_path / 'out', name='fast')['csv'].read_bytes()

def test_compile_runs_on_cpu(tmp_path):
    "torch.compile (inductor, with this machine's C++ compiler) trains DIGITS; it is recorded with the run."
    from mixup_nb.config import TrainConfig
    from mixup_nb.train import fit
    runs = {c: fit(TrainConfig(**{**BASE, 'epochs': 1, 'out_dir': str(tmp_path / str(c)), 'compile': c}), log=lambda s: None)
            for c in (False, True)}
    r, eager = runs[True], runs[False]
    assert r['speed']['compile'] is True and eager['speed']['compile'] is False and r['epochs_run'] == 1
    # the compiled model computes the same function: the same epoch up to float rounding
    assert r['final_train_loss'] == pytest.approx(eager['final_train_loss'], rel=1e-5)
    assert r['final_test_loss'] == pytest.approx(eager['final_test_loss'], rel=1e-4)
    assert abs(r['final_test_error'] - eager['final_test_error']) <= 100 / 899 + 1e-9

def test_compile_failure_is_one_clear_line(tmp_path, monkeypatch):
    from mixup_nb.config import TrainConfig
    from mixup_nb.train import fit
    def broken_backend(gm, example_inputs): raise RuntimeError("no C++ compiler here")
    real = torch.compile
    monkeypatch.setattr(torch, 'compile', lambda m, **kw: real(m, backend=broken_backend))
    with pytest.raises(RuntimeError) as e:
        fit(TrainConfig(**{**BASE, 'epochs': 1, 'out_dir': str(tmp_path), 'compile': True, 'name': 'broken'}), log=lambda s: None)
    msg = str(e.value)
    assert 'torch.compile failed for DigitsNet' in msg and 'rerun with compile=False' in msg and '\n' not in msg

def test_label_noise_sigkill_then_resume_is_exact(tmp_path):
    """A run on 50 % corrupted labels killed mid-epoch resumes to the run that never stopped: weights, CSV (memorization
    columns included) and the saved labels; resuming it with another noise level is refused."""
    import numpy as np
    ref, out = tmp_path / 'ref', tmp_path / 'out'
    result(run(tmp_path, ref, label_noise=0.5))
    p = run(tmp_path, out, label_noise=0.5, kill=['step', 3, 5, 'SIGKILL'])
    assert p.returncode == -signal.SIGKILL, (p.returncode, p.stderr[-2000:])
    assert csv_epochs(files(out)['csv']) == [1, 2]
    r = result(run(tmp_path, out, label_noise=0.5, resume=True))
    assert r['resumed'] == {'finished': False, 'epoch': 2, 'step': 0}
    assert_same_run(ref, out)
    assert files(out)['csv'].read_text().splitlines()[0].endswith(',train_error_noisy,train_error_true,memorized')
    la, lb = (np.load(d / 'results' / 'labels_DigitsNet_resume_3.npz') for d in (ref, out))
    assert np.array_equal(la['y_train'], lb['y_train']) and 350 < len(la['changed']) < 460   # about 0.5 * 0.9 * 898 changed
    p = run(tmp_path, out, label_noise=0.2, resume=True)
    assert p.returncode != 0 and 'label_noise=0.5 but this run asks label_noise=0.2' in p.stderr

def test_compile_makes_one_graph(tmp_path, monkeypatch):
    "Only the full-batch training step is compiled: the last batch (898 = 14 x 64 + 2) and evaluation run uncompiled."
    from mixup_nb.config import TrainConfig
    from mixup_nb.train import fit
    shapes = []
    def counting(gm, example_inputs):                 # a backend that records each graph it is given, then runs it as is
        shapes.append([tuple(t.shape) for t in example_inputs if isinstance(t, torch.Tensor) and t.dim() == 4])
        return gm.forward
    real = torch.compile
    monkeypatch.setattr(torch, 'compile', lambda m, **kw: real(m, backend=counting))
    torch._dynamo.reset()
    fit(TrainConfig(**{**BASE, 'epochs': 1, 'out_dir': str(tmp_path), 'compile': True, 'name': 'graphs'}), log=lambda s: None)
    assert len(shapes) == 1 and (BASE['batch_size'], 1, 8, 8) in shapes[0], shapes   # one graph, for the batch of 64 images
