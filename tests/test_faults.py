"""Faults: a NaN loss stops the run at its step and keeps the last good checkpoint; SIGTERM and SIGINT (Ctrl-C)
write a resumable checkpoint and stop, and the resumed run is exact."""
import signal
import pytest
import torch
from helpers import BASE, STEPS, run, start_then_wait, result, files, csv_epochs, assert_same_run

@pytest.fixture
def reference(resume_reference):
    "The uninterrupted run every killed-and-resumed run must end on (made once for the session: conftest)."
    return resume_reference

def test_nan_loss_stops_at_its_step(tmp_path):
    from mixup_nb.config import TrainConfig
    from mixup_nb.checkpoint import load_checkpoint
    from mixup_nb.train import fit
    def poison(event, **info):                      # after step 3 of epoch 2, a weight becomes NaN: step 4's loss is NaN
        if event == 'step' and (info['epoch'], info['step']) == (2, 3):
            with torch.no_grad(): next(info['model'].parameters()).fill_(float('nan'))
    with pytest.raises(FloatingPointError) as e:
        fit(TrainConfig(**{**BASE, 'out_dir': str(tmp_path)}), callback=poison, log=lambda s: None)
    msg = str(e.value)
    assert f"at epoch 2 step 4/{STEPS}" in msg and 'nan' in msg and 'last good checkpoint' in msg and '\n' not in msg, msg
    f = files(tmp_path)
    ck = load_checkpoint(f['last'])
    assert (ck['epoch'], ck['step']) == (1, 0)
    assert all(torch.isfinite(v).all() for v in ck['model'].values() if v.is_floating_point())
    assert csv_epochs(f['csv']) == [1]

def test_inf_loss_in_first_epoch(tmp_path):
    from mixup_nb.config import TrainConfig
    from mixup_nb.train import fit
    def blow_up(event, **info):
        if event == 'step' and info['step'] == 2:
            with torch.no_grad(): next(info['model'].parameters()).mul_(float('inf'))
    with pytest.raises(FloatingPointError, match=r"at epoch 1 step 3/.*no checkpoint had been written yet"):
        fit(TrainConfig(**{**BASE, 'out_dir': str(tmp_path)}), callback=blow_up, log=lambda s: None)

@pytest.mark.parametrize('sig', ['SIGTERM', 'SIGINT'])
def test_signal_writes_resumable_checkpoint(reference, tmp_path, sig):
    out = tmp_path / 'out'
    p = run(tmp_path, out, kill=['step', 3, 5, sig])
    assert p.returncode != 0 and p.returncode != -getattr(signal, sig), (p.returncode, p.stderr[-2000:])
    assert f"interrupted by {sig} at epoch 3 step 5/{STEPS}" in p.stderr and 'resume=True' in p.stderr
    from mixup_nb.checkpoint import load_checkpoint
    ck = load_checkpoint(files(out)['last'])
    assert (ck['epoch'], ck['step']) == (2, 5) and ck['gen_epoch_start'] is not None   # exact mid-epoch state
    assert csv_epochs(files(out)['csv']) == [1, 2]
    p2 = run(tmp_path, out, resume=True)
    assert '2 epochs done, 5 steps into epoch 3' in p2.stdout
    assert result(p2)['resumed'] == {'finished': False, 'epoch': 2, 'step': 5}
    assert_same_run(reference, out)

def test_sigterm_from_outside_then_sigkill_during_resume(reference, tmp_path):
    "SIGTERM at a moment the run does not choose; the resumed run is then SIGKILLed and resumed again: still exact."
    out = tmp_path / 'out'
    p = start_then_wait(tmp_path, out, 0.3)
    p.send_signal(signal.SIGTERM); _, err = p.communicate(timeout=120)
    assert p.returncode != 0 and 'interrupted by SIGTERM' in err, err[-2000:]
    from mixup_nb.checkpoint import load_checkpoint
    ck = load_checkpoint(files(out)['last'])
    assert ck['epoch'] < BASE['epochs'] and csv_epochs(files(out)['csv']) == list(range(1, ck['epoch'] + 1))
    p2 = run(tmp_path, out, resume=True, kill=['step', ck['epoch'] + 1, min(ck['step'] + 2, STEPS), 'SIGKILL'])
    assert p2.returncode == -signal.SIGKILL
    result(run(tmp_path, out, resume=True))
    assert_same_run(reference, out)
