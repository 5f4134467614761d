"mixup-sweep on a local Ray (CPU): a tiny DIGITS grid, a sweep killed half-way and run again, a failed run, bad grids."
import json, os, socket, subprocess, sys, time
from pathlib import Path
from mixup_nb.sweep import run_status, plan_sweep
from helpers import kill_tree

GRID = "dataset: DIGITS\nalpha: [0.0, 1.0]\nseed: [0, 1]\nepochs: 2\n"
NAMES = ['DIGITS/DigitsNet_alpha0_seed0', 'DIGITS/DigitsNet_alpha0_seed1', 'DIGITS/DigitsNet_alpha1_seed0', 'DIGITS/DigitsNet_alpha1_seed1']


def sweep_cmd(*args):
    return [sys.executable, '-m', 'mixup_nb.sweep', *map(str, args)]


def env():
    e = {**os.environ, 'PYTHONHASHSEED': '0', 'RAY_USAGE_STATS_ENABLED': '0'}
    e.pop('MPLBACKEND', None)
    return e


def statuses(out: Path, grid: Path) -> dict:
    return {r['name']: r['status'] for r in plan_sweep(grid, out)}


def test_sweep_killed_then_resumed(tmp_path):
    grid, out = tmp_path / 'grid.yaml', tmp_path / 'runs'
    grid.write_text(GRID)
    assert set(statuses(out, grid).values()) == {'new'}

    # 1. kill the whole sweep (driver, Ray, kernels) once a run is finished and another one has begun
    log = open(tmp_path / 'sweep1.log', 'w')
    p = subprocess.Popen(sweep_cmd(grid, '--out', out, '--workers', 2, '--no-summary'), stdout=log, stderr=subprocess.STDOUT,
                         env=env(), cwd=tmp_path, start_new_session=True)
    deadline = time.time() + 150
    try:
        while time.time() < deadline:
            st = statuses(out, grid)
            if 'finished' in st.values() and 'interrupted' in st.values(): break
            assert p.poll() is None, (tmp_path / 'sweep1.log').read_text()
            time.sleep(0.2)
        else: raise AssertionError("the sweep did not finish a run in time:\n" + (tmp_path / 'sweep1.log').read_text())
    finally:
        kill_tree(p.pid); p.wait(); log.close()
    st = statuses(out, grid)
    done = [n for n, s in st.items() if s == 'finished']
    assert 1 <= len(done) < 4 and 'interrupted' in st.values(), st
    stamps = {n: [(out / n / f).stat().st_mtime_ns for f in ('report.ipynb', 'metrics.json')] for n in done}
    assert (out / '.mixup-sweep.lock').exists()             # left by the killed sweep

    # 2. the same command again: only the missing runs run (the interrupted one resumed), then the summary
    r = subprocess.run(sweep_cmd(grid, '--out', out, '--workers', 2), capture_output=True, text=True, env=env(), cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert set(statuses(out, grid).values()) == {'finished'}
    for n in done:                                           # finished runs were not run again
        assert [(out / n / f).stat().st_mtime_ns for f in ('report.ipynb', 'metrics.json')] == stamps[n], n
        assert f"start {n}" not in r.stdout
    started = [l.split()[1] for l in r.stdout.splitlines() if l.strip().startswith('start ')]
    assert sorted(started) == sorted(set(NAMES) - set(done)), r.stdout
    interrupted = [n for n, s in st.items() if s == 'interrupted']
    assert all(f"start {n} (resume)" in r.stdout for n in interrupted), r.stdout
    rec = json.loads((out / 'sweep_status.json').read_text())
    assert rec['failed'] == [] and {n: x['status'] for n, x in rec['runs'].items() if n in done} == {n: 'skipped' for n in done}
    assert {x['status'] for n, x in rec['runs'].items() if n not in done} <= {'ran', 'resumed'}
    assert not (out / '.mixup-sweep.lock').exists()

    # each run folder holds one (alpha, seed) run with every epoch, and its own report
    for n in NAMES:
        m = json.loads((out / n / 'metrics.json').read_text())
        a, s = float(n.split('alpha')[1].split('_')[0]), int(n.split('seed')[1])
        assert [(x['alpha'], x['seed'], x['epochs_run']) for x in m['runs']] == [(a, s, 2)]
        assert m['parameters']['alphas'] == [a] and m['parameters']['seeds'] == [s] and m['parameters']['out_dir'] == str(out / n)
        assert (out / n / 'curves.png').exists()

    # the summary notebook ran over the sweep: DIGITS pooled over the four folders, "not run" elsewhere
    assert (out / 'paper.ipynb').exists() and rec['summary']['status'] == 'ran'
    md = (out / 'paper_table.md').read_text()
    assert '| DigitsNet | ERM | — |' in md and '| 2 | — | — | epochs=2 |' in md
    assert '| PreAct ResNet-18 | ERM | 5.6 (as quoted) | not run | 0 | — |' in md

    # 3. a third time: nothing to do, Ray is not even started
    r = subprocess.run(sweep_cmd(grid, '--out', out, '--no-summary'), capture_output=True, text=True, env=env(), cwd=tmp_path, timeout=120)
    assert r.returncode == 0 and '4 finished' in r.stdout and 'start ' not in r.stdout and 'ray:' not in r.stdout, r.stdout


def test_sweep_failed_run_on_existing_cluster(tmp_path, ray_address):
    "A run that fails is reported with its notebook and does not stop the others; --address joins a running Ray."
    grid, out = tmp_path / 'grid.yaml', tmp_path / 'runs'
    grid.write_text("dataset: DIGITS\nalpha: 0.0\nseed: 0\nepochs: 1\nlr: [0.05, 1.0e+30]\n")   # passes every check, diverges at run time
    r = subprocess.run(sweep_cmd(grid, '--out', out, '--address', ray_address, '--no-summary'), capture_output=True, text=True,
                       env=env(), cwd=tmp_path, timeout=300)
    assert r.returncode == 1, r.stdout + r.stderr
    bad, good = out / 'DIGITS/DigitsNet_alpha0_seed0_lr1e+30', out / 'DIGITS/DigitsNet_alpha0_seed0_lr0.05'
    assert f"FAILED DIGITS/DigitsNet_alpha0_seed0_lr1e+30: {bad / 'report.ipynb'}:" in r.stdout
    assert 'training loss became' in r.stdout.split('FAILED')[-1]
    assert (bad / 'report.ipynb').exists()                  # the failed notebook is there to read
    assert run_status(good, json.loads((good / 'metrics.json').read_text())['parameters'])[0] == 'finished'
    rec = json.loads((out / 'sweep_status.json').read_text())
    assert rec['failed'] == ['DIGITS/DigitsNet_alpha0_seed0_lr1e+30']


def test_sweep_bad_input(tmp_path, capsys):
    from mixup_nb.sweep import main
    def run(text, *extra):
        g = tmp_path / 'g.yaml'; g.write_text(text)
        rc = main([str(g), '--out', str(tmp_path / 'runs'), *map(str, extra)])
        err = capsys.readouterr().err
        assert rc == 2 and len(err.strip().splitlines()) == 1 and err.startswith('mixup-sweep: error: '), (rc, err)
        return err
    assert 'is not valid YAML' in run("alpha: [0, 1\n")
    assert "unknown parameter(s) 'epoch': the template accepts alpha, seed, dataset" in run("epoch: 3\n")
    assert "give 'alpha' (one value or a list), not 'alphas'" in run("alphas: [0, 1]\n")
    assert "alpha must be a number >= 0" in run("alpha: [-1]\n")
    assert "unknown dataset 'MNIST'" in run("dataset: MNIST\n")
    assert "workers must be an integer >= 1" in run("alpha: 0\n", '--workers', 0)
    assert main([str(tmp_path / 'missing.yaml')]) == 2 and 'missing.yaml not found' in capsys.readouterr().err
    # a second sweep on a folder that a live sweep holds is refused, and nothing runs
    (tmp_path / 'runs').mkdir(exist_ok=True)
    (tmp_path / 'runs' / '.mixup-sweep.lock').write_text(json.dumps({'host': socket.gethostname(), 'pid': os.getpid()}))
    assert 'another sweep' in run("alpha: 0\nseed: 0\nepochs: 1\n")
    assert not (tmp_path / 'runs' / 'DIGITS').exists()
    # the command line is installed as a console script
    r = subprocess.run(['mixup-sweep', '--help'], capture_output=True, text=True, env=env(), timeout=120)
    assert r.returncode == 0 and '--address' in r.stdout and '--workers' in r.stdout
