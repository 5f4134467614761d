"""Several processes: `torchrun --nproc_per_node=2` with the gloo backend on CPU trains one run with
DistributedDataParallel: it finishes, writes one CSV, matches a single-process run of the same global batch,
and stops and resumes exactly."""
import json, os, signal, subprocess, sys, textwrap
from pathlib import Path
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
TORCHRUN = Path(sys.executable).with_name('torchrun')

# TinyNet has no BatchNorm: its gradient does not depend on how a batch is split over processes, so the
# two-process run must match the one-process run up to float rounding (summation order).
SCRIPT = textwrap.dedent('''
    import json, os, signal, sys
    import torch
    from torch import nn
    torch.set_num_threads(1)
    from mixup_nb.models import MODELS
    from mixup_nb.config import TrainConfig
    from mixup_nb.train import fit
    class TinyNet(nn.Module):
        def __init__(self, num_classes=10, in_channels=1):
            super().__init__()
            self.net = nn.Sequential(nn.Conv2d(in_channels, 16, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(16 * 64, num_classes))
        def forward(self, x): return self.net(x)
    try:                                      # registered at run time: the test's own model
        from mixup_nb.models import ModelSpec
        MODELS['TinyNet'] = ModelSpec(TinyNet, 10, 1, (8, 8), 'test-only, no BatchNorm')
    except ImportError: MODELS['TinyNet'] = (TinyNet, 10, 1)
    out, opts = sys.argv[1], json.loads(sys.argv[2])
    kill = opts.pop('kill', None)             # [rank, epoch, step, signal]: that process signals itself there
    rank = int(os.environ.get('RANK', '0'))
    import time, mixup_nb.train as T          # log when each process loads the data (process 0 takes 0.5 s longer)
    _load = T.load_dataset
    def load_logged(*a, **k):
        t0 = time.time(); ds = _load(*a, **k)
        if rank == 0: time.sleep(0.5)
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, f'load_{rank}.txt'), 'a') as f: f.write(f"{t0} {time.time()}\\n")
        return ds
    T.load_dataset = load_logged
    def callback(event, **info):
        if kill and rank == kill[0] and event == 'step' and (info['epoch'], info['step']) == (kill[1], kill[2]):
            os.kill(os.getpid(), getattr(signal, kill[3]))
    r = fit(TrainConfig(out_dir=out, **opts), callback=callback, log=lambda s: print(s, flush=True))
    if rank == 0: print('RESULT ' + json.dumps({k: r[k] for k in ('history', 'speed', 'resumed', 'csv')}), flush=True)
''')
CFG = dict(dataset='DIGITS', model='TinyNet', alpha=1.0, epochs=3, batch_size=64, milestones=[2], device='cpu', name='ddp', seed=1)

def run(tmp, out, nproc=None, **opts):
    script = Path(tmp) / 'ddp_fit.py'; script.write_text(SCRIPT)
    cmd = ([str(TORCHRUN), '--standalone', f'--nproc_per_node={nproc}'] if nproc else [sys.executable]) + [str(script), str(out), json.dumps({**CFG, **opts})]
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONPATH': str(ROOT), 'PYTHONHASHSEED': '0'}
    for k in ('WORLD_SIZE', 'RANK', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT'): env.pop(k, None)
    return subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, env=env, timeout=400)

def result(p) -> dict:
    lines = [l for l in p.stdout.splitlines() if l.startswith('RESULT ')]
    assert p.returncode == 0 and len(lines) == 1, f"run failed ({p.returncode}):\n{p.stdout[-3000:]}\n{p.stderr[-4000:]}"
    return json.loads(lines[0][7:])

def last(out):
    from mixup_nb.checkpoint import load_checkpoint
    return load_checkpoint(Path(out) / 'checkpoint' / 'ckpt_ddp_last_1.pt')

@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('ddp')
    return tmp, result(run(tmp, tmp / 'two', nproc=2)), result(run(tmp, tmp / 'one'))

def test_two_processes_match_one(runs):
    tmp, two, one = runs
    assert two['speed']['world_size'] == 2 and two['speed']['backend'] == 'gloo' and one['speed']['world_size'] == 1
    # one CSV, written once (by process 0), every epoch once
    csvs = sorted((tmp / 'two' / 'results').glob('log_*.csv'))
    assert [c.name for c in csvs] == ['log_TinyNet_ddp_1.csv']
    assert [l.split(',')[0] for l in csvs[0].read_text().splitlines()] == ['epoch', '1', '2', '3']
    assert not [f for f in (tmp / 'two').rglob('*') if f.name.endswith('.tmp')]
    # the same run as one process, up to float rounding
    for a, b in zip(two['history'], one['history']):
        assert a['epoch'] == b['epoch'] and a['lr'] == b['lr']
        for k in ('train_loss', 'train_acc_mixed', 'test_loss', 'test_ece'):
            assert a[k] == pytest.approx(b[k], rel=1e-4, abs=1e-5), (a['epoch'], k, a[k], b[k])
        assert abs(a['test_error'] - b['test_error']) <= 100 / 899 + 1e-9          # at most one test example flips
    wa, wb = last(tmp / 'two')['model'], last(tmp / 'one')['model']
    assert wa.keys() == wb.keys()
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], rtol=1e-4, atol=1e-5)
    ck = last(tmp / 'two')
    assert ck['world_size'] == 2 and len(ck['rng']) == 2                        # every process's random states

def test_process_0_loads_the_data_first(runs):
    "Process 0 downloads and builds caches alone: process 1 starts loading only once process 0 has finished."
    tmp, _, _ = runs
    times = {r: [list(map(float, l.split())) for l in (tmp / 'two' / f'load_{r}.txt').read_text().splitlines()] for r in (0, 1)}
    assert len(times[0]) == len(times[1]) == 2                                  # train and test, on each process
    assert min(t0 for t0, _ in times[1]) >= max(t1 for _, t1 in times[0])

def test_sigterm_on_one_process_stops_both_and_resumes_exactly(runs, tmp_path):
    """SIGTERM reaches only process 1 (which writes nothing): both stop at the same step, the next read of the step
    statistics (every `check_every` = 2 steps here, so step 4 itself), and process 0 writes the checkpoint."""
    tmp, two, _ = runs
    out = tmp_path / 'out'
    p = run(tmp_path, out, nproc=2, kill=[1, 2, 3, 'SIGTERM'], check_every=2)
    assert p.returncode != 0 and 'interrupted by' in p.stdout + p.stderr, (p.stdout[-2000:], p.stderr[-3000:])
    ck = last(out)
    assert (ck['epoch'], ck['step']) == (1, 4)
    r = result(run(tmp_path, out, nproc=2, resume=True))
    assert r['resumed'] == {'finished': False, 'epoch': 1, 'step': 4}
    wa, wb = last(tmp / 'two')['model'], last(out)['model']
    assert all(torch.equal(wa[k], wb[k]) for k in wa), "a resumed two-process run differs from the uninterrupted one"
    assert (tmp / 'two' / 'results' / 'log_TinyNet_ddp_1.csv').read_bytes() == (out / 'results' / 'log_TinyNet_ddp_1.csv').read_bytes()

@pytest.mark.skipif(not (ROOT / 'mixup_nb' / 'cli.py').exists(), reason='needs the command line (mixup_nb/cli.py)')
def test_torchrun_module_entry_point(tmp_path):
    "`torchrun -m mixup_nb` (the command line) trains one run on two processes: one CSV, one set of checkpoints."
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONPATH': str(ROOT)}
    for k in ('WORLD_SIZE', 'RANK', 'LOCAL_RANK'): env.pop(k, None)
    p = subprocess.run([str(TORCHRUN), '--standalone', '--nproc_per_node=2', '-m', 'mixup_nb', '--dataset', 'DIGITS',
                        '--epoch', '2', '--seed', '4', '--device', 'cpu', '--out', str(tmp_path)],
                       cwd=tmp_path, capture_output=True, text=True, env=env, timeout=400)
    assert p.returncode == 0, (p.stdout[-2000:], p.stderr[-3000:])
    assert [c.name for c in (tmp_path / 'results').glob('log_*.csv')] == ['log_DigitsNet_DIGITS_alpha1_4.csv']
    assert sorted(c.name for c in (tmp_path / 'checkpoint').iterdir()) == ['ckpt_DIGITS_alpha1_best_4.pt', 'ckpt_DIGITS_alpha1_last_4.pt']
    assert p.stdout.count('epoch 2/2') == 1                                   # one per-epoch line: process 0 logs

def test_sigterm_to_torchrun_then_resume_exactly(runs, tmp_path):
    "What a scheduler does: SIGTERM to the launcher, which forwards it to every process; the resumed run is exact."
    import time
    tmp, _, _ = runs
    script = tmp_path / 'ddp_fit.py'; script.write_text(SCRIPT)
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONPATH': str(ROOT), 'PYTHONHASHSEED': '0'}
    out = tmp_path / 'out'
    p = subprocess.Popen([str(TORCHRUN), '--standalone', '--nproc_per_node=2', str(script), str(out), json.dumps(CFG)],
                         cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    csv = out / 'results' / 'log_TinyNet_ddp_1.csv'
    t0 = time.time()
    while (not csv.exists() or len(csv.read_text().splitlines()) < 2) and p.poll() is None and time.time() - t0 < 300: time.sleep(0.02)
    p.send_signal(signal.SIGTERM)
    so, se = p.communicate(timeout=300)
    assert p.returncode != 0, "torchrun should report the stop"
    ck = last(out)
    if ck['epoch'] < CFG['epochs']:
        assert 'interrupted by SIGTERM' in so + se, (so[-2000:], se[-3000:])
    r = result(run(tmp_path, out, nproc=2, resume=True))
    assert r['resumed']['epoch'] == ck['epoch'] and r['resumed']['step'] == ck['step']
    wa, wb = last(tmp / 'two')['model'], last(out)['model']
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert (tmp / 'two' / 'results' / 'log_TinyNet_ddp_1.csv').read_bytes() == csv.read_bytes()
