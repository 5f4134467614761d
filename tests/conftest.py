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

@pytest.fixture(scope='session')
def digits_report(tmp_path_factory):
    """The DIGITS template (nbs/train.ipynb) run once for the whole session on tiny parameters: ERM, mixup and cutmix
    (alpha 1), two seeds, 2 epochs, on the CPU; the dataset spelled 'digits' (accepted as on the command line).
    (executed notebook, run folder). The template, report, methods and same-numbers tests read it; none writes to it."""
    tmp = tmp_path_factory.mktemp('digits_report')
    run_papermill(NBS / 'train.ipynb', tmp / 'report.ipynb', cwd=tmp,
                  params={'dataset': 'digits', 'alphas': [0.0, 1.0], 'methods': ['mixup', 'cutmix'], 'seeds': [0, 1],
                          'epochs': 2, 'device': 'cpu', 'out_dir': str(tmp / 'run')})
    return tmp / 'report.ipynb', tmp / 'run'

@pytest.fixture(scope='session')
def cifar10_report(tmp_path_factory):
    """README's CIFAR-10 command, run as written (papermill's own command line, `mkdir -p` included) from a copy of the
    project, on a small CIFAR-10 tree in the real on-disk format (50 training, 20 test images), with tiny settings
    appended: one epoch, one seed, batch 20. The folder holding data/, clone/ (the copy), and run/ and report.ipynb (the
    run folder and report the command wrote, clone/runs/CIFAR10/). The per-dataset, report and README tests read it."""
    from datatrees import write_cifar10
    from readme_commands import readme_commands, run_as_written
    tmp = tmp_path_factory.mktemp('cifar10_report')
    write_cifar10(tmp / 'data', n_train=50, n_test=20)
    line = next(l for l, _, a in readme_commands() if l.startswith('mkdir -p runs/CIFAR10 ') and a[-2:] == ['dataset', 'CIFAR10'])
    p = run_as_written(line, tmp / 'clone', f" -p epochs 1 -y 'seeds: [0]' -p batch_size 20 -p data_root {tmp / 'data'} -p download False -p verify False")
    assert p.returncode == 0, f"README's {line!r} failed:\n{p.stderr[-4000:]}"
    (tmp / 'run').symlink_to(tmp / 'clone' / 'runs' / 'CIFAR10')
    (tmp / 'report.ipynb').symlink_to(tmp / 'clone' / 'runs' / 'CIFAR10' / 'report.ipynb')
    return tmp

@pytest.fixture(scope='session')
def resume_reference(tmp_path_factory):
    """The uninterrupted run of `helpers.BASE` (6 DIGITS epochs, in a fresh process): the run folder that every run killed
    and resumed in test_resume and test_faults must match bit for bit. Made once for the session; no test writes to it."""
    from helpers import BASE, run, result
    tmp = tmp_path_factory.mktemp('resume_reference')
    r = result(run(tmp, tmp / 'out'))
    assert r['epochs_run'] == BASE['epochs'] and r['resumed'] is None
    return tmp / 'out'

@pytest.fixture(scope='session')
def ray_address():
    """One local Ray cluster (2 CPUs) for the session's sweeps that join a running cluster with --address: started once,
    killed with everything it started at the end. (The sweep killed half-way starts and loses its own Ray.)"""
    from helpers import kill_tree
    env = {**os.environ, 'PYTHONHASHSEED': '0', 'RAY_USAGE_STATS_ENABLED': '0', 'PYTHONPATH': str(ROOT)}
    env.pop('MPLBACKEND', None)
    head = subprocess.Popen([sys.executable, '-c', "import ray, sys; ray.init(num_cpus=2, include_dashboard=False); "
                             "print(ray.get_runtime_context().gcs_address, flush=True); sys.stdin.read()"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
                            start_new_session=True)
    try:
        address = head.stdout.readline().strip()
        assert ':' in address, f"Ray did not start: {address!r}"
        yield address
    finally:
        kill_tree(head.pid); head.wait()

def run_main(argv) -> tuple:
    "Run `mixup-train` (`mixup_nb.cli.main`) in-process: (exit status, stdout, stderr)."
    from mixup_nb.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try: code = main([str(a) for a in argv])
        except SystemExit as e: code = e.code
    return code, out.getvalue(), err.getvalue()

def check_run_numbers(run_dir, r: dict, n_test: int | None = None, epochs: int | None = None):
    """A run's summary numbers (from metrics.json or `fit`) against what they are computed from: the CSV's rows and the saved
    test predictions. The final test error is the share of wrong predictions in the pred file, a multiple of 100 / n_test;
    the median and best are those of the CSV's test_error column; the final ECE and loss are the CSV's last row."""
    import numpy as np, pandas as pd
    from pathlib import Path
    run_dir = Path(run_dir)
    log = pd.read_csv(run_dir / r['csv'])
    z = np.load(run_dir / r['pred'])
    n = len(z['y'])
    if n_test is not None: assert n == n_test, f"{n} test predictions saved, expected {n_test}"
    if epochs is not None: assert r['epochs_run'] == epochs and log.epoch.tolist() == list(range(1, epochs + 1)), (r['epochs_run'], log.epoch.tolist())
    wrong = int((z['pred'] != z['y']).sum())
    assert r['final_test_error'] == pytest.approx(100 * wrong / n, abs=1e-9), \
        f"final_test_error {r['final_test_error']} but the saved predictions have {wrong} of {n} wrong"
    assert r['final_test_error'] == pytest.approx(log.test_error.iloc[-1], rel=1e-12), (r['final_test_error'], log.test_error.iloc[-1])
    if 'median10_test_error' in r: assert r['median10_test_error'] == pytest.approx(float(np.median(log.test_error.iloc[-10:])), abs=1e-12)
    if 'best_test_error' in r: assert r['best_test_error'] == pytest.approx(log.test_error.min(), rel=1e-12)
    if 'final_test_ece' in r: assert r['final_test_ece'] == pytest.approx(log.test_ece.iloc[-1], rel=1e-12)
    if 'final_test_loss' in r: assert r['final_test_loss'] == pytest.approx(log.test_loss.iloc[-1], rel=1e-12)
    return log
