import contextlib, io, os, sys, subprocess
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT / 'nbs'

def run_papermill(nb, out, cwd, params: dict | None = None, raw: dict | None = None, check=True):
    "Run `papermill nb out` in `cwd` with `-p` params (yaml-typed) and `-r` raw string params; return the CompletedProcess."
    cmd = [sys.executable, '-m', 'papermill', str(nb), str(out), '--log-output', '--no-progress-bar']
    import yaml
    for k, v in (params or {}).items(): cmd += ['-y', yaml.safe_dump({k: v})]
    for k, v in (raw or {}).items(): cmd += ['-r', k, str(v)]
    env = {**os.environ, 'PYTHONHASHSEED': '0'}
    env.pop('MPLBACKEND', None)
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env, timeout=900)
    if check and p.returncode != 0:
        raise AssertionError(f"papermill failed ({p.returncode}):\n{p.stdout[-4000:]}\n{p.stderr[-6000:]}")
    return p

@pytest.fixture
def papermill():
    return run_papermill

def run_main(argv) -> tuple:
    "Run `mixup-train` (`mixup_nb.cli.main`) in-process: (exit status, stdout, stderr)."
    from mixup_nb.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try: code = main([str(a) for a in argv])
        except SystemExit as e: code = e.code
    return code, out.getvalue(), err.getvalue()
