"""Mixing methods end to end: every method trains through `mixup-train` under its own run name, a non-default method
resumes bit for bit after SIGKILL, and the template runs several methods with differences to ERM."""
import json, signal
import nbformat
import pandas as pd
import pytest
from conftest import run_main, check_run_numbers
import helpers as tr
from mixup_nb.mixup import MIXERS

STRENGTH = {'label_smoothing': 0.1, 'input_noise': 0.1}   # eps must be < 1; every other method takes alpha 1

def test_every_method_trains_under_its_own_name(tmp_path):
    names = {}
    for method in MIXERS:
        a = STRENGTH.get(method, 1.0)
        code, out, err = run_main(['--dataset', 'DIGITS', '--method', method, '--alpha', a, '--epoch', 1, '--batch-size', 128,
                                   '--out', tmp_path, '-q'])
        assert code == 0, (method, err[-2000:])
        names[method] = f"DIGITS_{'alpha1' if method == 'mixup' else method + ('_alpha1' if a == 1.0 else f'_{MIXERS[method].strength}{a:g}')}"
        log = pd.read_csv(tmp_path / 'results' / f"log_DigitsNet_{names[method]}_0.csv")
        assert log.epoch.tolist() == [1] and log.train_loss.notna().all(), method
        check_run_numbers(tmp_path, {'csv': f"results/log_DigitsNet_{names[method]}_0.csv", 'pred': f"results/pred_DigitsNet_{names[method]}_0.npz",
                                     'final_test_error': log.test_error.iloc[0]}, n_test=899)
    assert len(set(names.values())) == len(MIXERS)
    # the methods train differently: their first-epoch training losses are not all the same
    losses = {m: pd.read_csv(tmp_path / 'results' / f"log_DigitsNet_{n}_0.csv").train_loss.iloc[0] for m, n in names.items()}
    assert len(set(losses.values())) == len(MIXERS), losses
    # alpha 0 is ERM whatever the method: the ERM run's name
    code, out, err = run_main(['--dataset', 'DIGITS', '--method', 'cutmix', '--alpha', 0, '--dry-run'])
    assert code == 0 and '"name": "DIGITS_alpha0"' in out and '"method": "mixup"' in out and 'ERM' in out

@pytest.mark.parametrize('argv, message', [
    (['--method', 'cutmx'], "unknown method 'cutmx': choose one of mixup,"),
    (['--method', 'label_smoothing', '--alpha', '1'], "alpha (label_smoothing's eps) must be a number in [0, 1)"),
    (['--dataset', 'COMMAND', '--method', 'manifold_mixup'], "manifold_mixup mixes a hidden layer, which model VGG11 does not expose"),
])
def test_bad_method_is_one_line(argv, message):
    code, out, err = run_main(['--dry-run'] + (argv if '--dataset' in argv else ['--dataset', 'DIGITS'] + argv))
    assert code == 2 and message in err and err.strip().splitlines()[-1].startswith('mixup-train: error:')

@pytest.mark.parametrize('method', ['cutmix', 'manifold_mixup'])
def test_sigkill_then_resume_is_exact_for_a_method(tmp_path, method):
    "A run of another method, killed mid-epoch with SIGKILL and resumed, ends where an uninterrupted run ends, bit for bit."
    opts = dict(method=method, epochs=3, name=method)
    tr.result(tr.run(tmp_path, tmp_path / 'ref', **opts))
    p = tr.run(tmp_path, tmp_path / 'out', kill=['step', 2, 7, 'SIGKILL'], **opts)
    assert p.returncode == -signal.SIGKILL, p.stderr[-2000:]
    r = tr.result(tr.run(tmp_path, tmp_path / 'out', resume=True, **opts))
    assert r['resumed'] == {'finished': False, 'epoch': 1, 'step': 0}
    from mixup_nb.checkpoint import load_checkpoint
    a, b = (load_checkpoint(tr.files(tmp_path / d, name=method)['last']) for d in ('ref', 'out'))
    assert a['config']['method'] == method and all(__import__('torch').equal(a['model'][k], b['model'][k]) for k in a['model'])
    assert tr.files(tmp_path / 'ref', name=method)['csv'].read_bytes() == tr.files(tmp_path / 'out', name=method)['csv'].read_bytes()

def test_template_with_methods(digits_report):
    "The template runs several methods (the session's DIGITS run: mixup and cutmix beside ERM) with differences to ERM."
    report, out_dir = digits_report
    m = json.loads((out_dir / 'metrics.json').read_text())
    assert [(r['method'], r['alpha'], r['seed']) for r in m['runs']] == [('mixup', 0.0, 0), ('mixup', 0.0, 1), ('mixup', 1.0, 0),
                                                                         ('mixup', 1.0, 1), ('cutmix', 1.0, 0), ('cutmix', 1.0, 1)]
    assert [s['method'] for s in m['summary']] == ['ERM', 'mixup', 'cutmix']
    nb = nbformat.read(report, as_version=4)
    html = ''.join(o.get('data', {}).get('text/html', '') for c in nb.cells if c.cell_type == 'code' for o in c.get('outputs', []))
    assert 'cutmix (alpha=1)' in html and 'vs ERM, points (95 % CI, paired t over seeds)' in html
    assert (out_dir / 'mixed_examples.png').stat().st_size > 5000
