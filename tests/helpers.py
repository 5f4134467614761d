"""Run-and-kill helpers shared by the tests that stop runs and resume them (resume, faults, methods, sweep): a DIGITS
`fit` in a fresh process that signals itself at a chosen event, a start then a pause at a moment the run does not choose,
the files a run writes, the check that two runs ended on the same bits, and a SIGKILL of a whole process tree."""
import json, os, random, signal, subprocess, sys, textwrap, time
from pathlib import Path
import torch

ROOT = Path(__file__).resolve().parents[1]

# 6 epochs of DigitsNet on DIGITS (898 training examples, batch 64: 15 steps per epoch), lr decay after epoch 4
BASE = dict(dataset='DIGITS', alpha=1.0, epochs=6, batch_size=64, milestones=[4], device='cpu', name='resume', seed=3)
STEPS = 15

SCRIPT = textwrap.dedent('''
    import json, os, signal, sys
    import torch
    torch.set_num_threads(1)           # the same thread count in every run: CPU float sums stay bit-identical
    from mixup_nb.config import TrainConfig
    from mixup_nb.train import fit
    out, opts = sys.argv[1], json.loads(sys.argv[2])
    kill = opts.pop('kill', None)      # [event, epoch, step, signal name]: the process signals itself there
    def callback(event, **info):
        if kill and event == kill[0] and info['epoch'] == kill[1] and (event == 'saved' or info['step'] == kill[2]):
            os.kill(os.getpid(), getattr(signal, kill[3]))
    r = fit(TrainConfig(out_dir=out, **opts), callback=callback, log=lambda s: print(s, flush=True))
    print('RESULT ' + json.dumps({k: r[k] for k in ('final_test_error', 'epochs_run', 'resumed', 'speed')}), flush=True)
''')

def script_path(tmp) -> Path:
    p = Path(tmp) / 'run_fit.py'
    if not p.exists(): p.write_text(SCRIPT)
    return p

def env():
    return {**os.environ, 'PYTHONHASHSEED': '0', 'OMP_NUM_THREADS': '1', 'PYTHONPATH': str(ROOT)}

def run(tmp, out, timeout=300, **opts) -> subprocess.CompletedProcess:
    "Run `fit` in a fresh python process with BASE updated by `opts` (and `kill=[...]`)."
    cfg = {**BASE, **opts}
    return subprocess.run([sys.executable, str(script_path(tmp)), str(out), json.dumps(cfg)], cwd=tmp,
                          capture_output=True, text=True, env=env(), timeout=timeout)

def start(tmp, out, **opts) -> subprocess.Popen:
    cfg = {**BASE, **opts}
    return subprocess.Popen([sys.executable, str(script_path(tmp)), str(out), json.dumps(cfg)], cwd=tmp,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())

def result(p) -> dict:
    lines = [l for l in p.stdout.splitlines() if l.startswith('RESULT ')]
    assert p.returncode == 0 and lines, f"run failed ({p.returncode}):\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
    return json.loads(lines[-1][7:])

def files(out, name='resume', seed=3, model='DigitsNet') -> dict:
    out = Path(out)
    return {'csv': out / 'results' / f'log_{model}_{name}_{seed}.csv', 'times': out / 'results' / f'time_{model}_{name}_{seed}.csv',
            'last': out / 'checkpoint' / f'ckpt_{name}_last_{seed}.pt', 'best': out / 'checkpoint' / f'ckpt_{name}_best_{seed}.pt',
            'pred': out / 'results' / f'pred_{model}_{name}_{seed}.npz'}

def csv_epochs(path) -> list:
    if not Path(path).exists(): return []
    return [int(l.split(',')[0]) for l in Path(path).read_text().splitlines()[1:]]

def start_then_wait(tmp, out, max_pause: float) -> subprocess.Popen:
    """Start a run, wait until its CSV holds 2 epochs, then pause at random: a moment the run does not choose.
    The pause is at most `max_pause` s and at most one epoch's duration (as measured from epoch 1 to 2), so that
    with 4 epochs left the run is still going when the caller signals it, however fast the machine."""
    p = start(tmp, out)
    t0 = time.time(); seen = {}
    while len(csv_epochs(files(out)['csv'])) < 2 and p.poll() is None and time.time() - t0 < 240:
        seen.setdefault(len(csv_epochs(files(out)['csv'])), time.time()); time.sleep(0.005)
    epoch_s = time.time() - seen.get(1, t0)
    time.sleep(random.uniform(0.0, min(max_pause, epoch_s)))
    return p

def assert_same_run(a, b, **kw):
    "Bit-identical final weights, optimizer state and lr schedule; byte-identical CSV; same predictions."
    from mixup_nb.checkpoint import load_checkpoint
    fa, fb = files(a, **kw), files(b, **kw)
    ca, cb = load_checkpoint(fa['last']), load_checkpoint(fb['last'])
    assert ca['model'].keys() == cb['model'].keys()
    for k in ca['model']:
        assert torch.equal(ca['model'][k], cb['model'][k]), f"weights differ: {k}"
    for (ka, va), (kb, vb) in zip(ca['optimizer']['state'].items(), cb['optimizer']['state'].items()):
        assert all(torch.equal(va[n], vb[n]) for n in va), f"optimizer state differs for parameter {ka}"
    assert ca['scheduler'] == cb['scheduler']
    assert fa['csv'].read_bytes() == fb['csv'].read_bytes(), "CSVs differ"
    assert csv_epochs(fb['times']) == list(range(1, BASE['epochs'] + 1))
    import numpy as np
    pa, pb = np.load(fa['pred']), np.load(fb['pred'])
    assert all(np.array_equal(pa[k], pb[k]) for k in ('conf', 'pred', 'y'))
    assert (ca['epoch'], ca['step'], cb['epoch'], cb['step']) == (BASE['epochs'], 0, BASE['epochs'], 0)


def process_tree(pid: int) -> list:
    "`pid` and all its descendants (from /proc)."
    kids = {}
    for p in Path('/proc').iterdir():
        if not p.name.isdigit(): continue
        try: ppid = int((p / 'stat').read_text().rsplit(')', 1)[1].split()[1])
        except (OSError, ValueError, IndexError): continue
        kids.setdefault(ppid, []).append(int(p.name))
    out, todo = [], [pid]
    while todo:
        q = todo.pop(); out.append(q); todo += kids.get(q, [])
    return out


def kill_tree(pid: int):
    "SIGKILL a process we started and everything it started (stopped first, so that nothing new is spawned meanwhile)."
    seen = set()
    for _ in range(3):
        for q in process_tree(pid):
            if q not in seen:
                seen.add(q)
                try: os.kill(q, signal.SIGSTOP)
                except ProcessLookupError: pass
    for q in seen:
        try: os.kill(q, signal.SIGKILL)
        except ProcessLookupError: pass
