"""One writer per run, with real processes: a second `mixup-train` on the same run (name, seed, --out) is refused at once
in one line naming the first one's pid; the lock left by a SIGKILLed run is taken over."""
import os, signal, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def train(out, *extra) -> list:
    return [sys.executable, '-m', 'mixup_nb', '--dataset', 'DIGITS', '--device', 'cpu', '--quiet', '--name', 'L',
            '--out', str(out), *extra]


def env():
    return {**os.environ, 'PYTHONHASHSEED': '0', 'PYTHONPATH': str(ROOT)}


def test_second_process_refused_then_stale_lock_taken_over(tmp_path):
    out = tmp_path / 'out'; lock = out / 'checkpoint' / 'ckpt_L_0.lock'
    first = subprocess.Popen(train(out, '--epoch', '200'), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())
    try:
        t0 = time.monotonic()
        while not (lock.exists() and lock.read_text().startswith(f'pid {first.pid} ')):
            assert first.poll() is None and time.monotonic() - t0 < 120, first.communicate()
            time.sleep(0.1)
        second = subprocess.run(train(out, '--epoch', '1'), capture_output=True, text=True, env=env(), timeout=120)
        lines = [l for l in second.stderr.splitlines() if l.strip()]
        assert second.returncode == 1 and len(lines) == 1, second.stderr
        assert f"run 'L' seed 0 under {out} is in use by another process (pid {first.pid} on " in lines[0], lines[0]
        assert first.poll() is None                              # the first run goes on, untouched
    finally:
        first.send_signal(signal.SIGKILL); first.communicate()
    assert lock.exists()                                         # left behind by the killed run: stale, the kernel holds no lock
    third = subprocess.run(train(out, '--epoch', '1', '--resume'), capture_output=True, text=True, env=env(), timeout=300)
    assert third.returncode == 0, third.stderr
    assert not lock.exists()                                     # released and removed at the end
