"""The robustness claims: corrupted labels, FGSM / I-FGSM, and both templates (memorization, adversarial) run end to end
on tiny parameters; the summary notebook's claim tables."""
import json
import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from conftest import NBS
from mixup_nb.data import corrupt_labels
from mixup_nb.attacks import fgsm, ifgsm

def test_corrupt_labels_fraction_and_uniformity():
    y = torch.arange(20_000) % 10
    for p in (0.2, 0.5, 0.8):
        yn = corrupt_labels(y, p, 10, torch.Generator().manual_seed(7))
        assert abs((yn != y).float().mean().item() - p * 0.9) < 0.015, p          # about fraction * (1 - 1/K) change
        assert torch.equal(yn, corrupt_labels(y, p, 10, torch.Generator().manual_seed(7)))
    assert (corrupt_labels(y, 0.4, 10**9, torch.Generator().manual_seed(1)) != y).sum() == 8000   # exactly round(p n) redrawn
    with pytest.raises(ValueError, match=r'label noise fraction must be a number in \[0, 1\]'): corrupt_labels(y, -0.1, 10)

def test_fgsm_matches_hand_computation_and_raises_loss():
    torch.manual_seed(0)
    lin = nn.Linear(5, 3).eval()
    x, y = torch.randn(64, 5), torch.randint(0, 3, (64,))
    g = (torch.softmax(lin(x), 1) - F.one_hot(y, 3).float()) @ lin.weight.detach()
    xa = fgsm(lin, x, y, 0.25)
    assert torch.equal(xa, x + 0.25 * g.sign())
    ce = lambda z: F.cross_entropy(lin(z), y, reduction='none')
    assert (ce(xa) > ce(x)).all()

def test_ifgsm_stays_in_the_ball_and_beats_fgsm():
    torch.manual_seed(1)
    net = nn.Sequential(nn.Linear(8, 32), nn.Tanh(), nn.Linear(32, 4)).eval()
    x, y = torch.randn(128, 8), torch.randint(0, 4, (128,))
    xi = ifgsm(net, x, y, 0.3, steps=20, step_size=0.05)
    assert (xi - x).abs().max() <= 0.3 + 1e-6
    ce = lambda z: F.cross_entropy(net(z), y).item()
    assert ce(xi) > ce(fgsm(net, x, y, 0.3)) > ce(x)
    with pytest.raises(ValueError, match='eval mode'): ifgsm(net.train(), x, y, 0.1)

def _tagged(name):
    nb = nbformat.read(NBS / name, as_version=4)
    tagged = [c for c in nb.cells if 'parameters' in c.get('metadata', {}).get('tags', [])]
    assert len(tagged) == 1, f"{name} needs exactly one cell tagged 'parameters'"
    return tagged[0].source

def _outputs(path):
    nb = nbformat.read(path, as_version=4)
    outs = [o for c in nb.cells if c.cell_type == 'code' for o in c.get('outputs', [])]
    return ''.join(o.get('data', {}).get('text/html', '') + o.get('data', {}).get('text/markdown', '') for o in outs), \
           [o for o in outs if 'image/png' in o.get('data', {})]

def test_memorization_template_tiny(tmp_path, papermill):
    src = _tagged('memorization.ipynb')
    for name in ('dataset', 'model', 'noise_levels', 'alphas', 'seeds', 'epochs', 'out_dir', 'device'):
        assert f"\n{name}:" in '\n' + src, name
    out = tmp_path / 'mem'
    papermill(NBS / 'memorization.ipynb', tmp_path / 'mem.ipynb', cwd=tmp_path,
              params={'noise_levels': [0.5], 'alphas': [0.0, 8.0], 'seeds': [0], 'epochs': 2, 'out_dir': str(out)})
    html, pngs = _outputs(tmp_path / 'mem.ipynb')
    assert 'mixup (alpha=8)' in html and '18.8 / 44.6' in html, "the table with the paper's numbers is missing"
    assert len(pngs) >= 2 and (out / 'memorization_curves.png').stat().st_size > 5000 and (out / 'best_last.png').exists()
    m = json.loads((out / 'metrics.json').read_text())
    assert m['claim'] == 'memorization' and m['provenance']['git'] and len(m['results']) == 2
    assert all(r['label_noise'] == 0.5 and r['epochs'] == 2 and r['best_test_error'] <= r['last_test_error'] for r in m['results'])
    z = np.load(out / 'noise50' / 'results' / 'labels_DigitsNet_alpha0_0.npz')
    assert 330 < len(z['changed']) < 480                                      # about 0.45 of 898 labels changed

def test_adversarial_template_tiny(tmp_path, papermill):
    src = _tagged('adversarial.ipynb')
    for name in ('dataset', 'alphas', 'seeds', 'from_run', 'eps_list', 'headline_eps', 'attacks', 'steps', 'out_dir'):
        assert f"\n{name}:" in '\n' + src, name
    out = tmp_path / 'adv'
    papermill(NBS / 'adversarial.ipynb', tmp_path / 'adv.ipynb', cwd=tmp_path,
              params={'seeds': [0], 'epochs': 2, 'eps_list': [0.0, 0.3], 'headline_eps': 0.3, 'steps': 2, 'n_test': 100, 'out_dir': str(out)})
    html, pngs = _outputs(tmp_path / 'adv.ipynb')
    assert 'I-FGSM' in html and 'pixel levels' in html and '90.7' in html
    assert len(pngs) >= 1 and (out / 'adversarial_top1.png').stat().st_size > 5000
    m = json.loads((out / 'metrics.json').read_text())
    assert m['claim'] == 'adversarial' and m['models_dir'] == 'models' and len(m['results']) == 2 * 2 * 2
    clean = {r['alpha']: r['top1_error'] for r in m['results'] if r['eps'] == 0 and r['attack'] == 'fgsm'}
    assert all(r['top1_error'] >= clean[r['alpha']] for r in m['results'])
    # the summary notebook's claim tables read both folders
    from mixup_nb.claims import adversarial_claim
    t = adversarial_claim(tmp_path)
    assert t.iloc[:, 3].tolist() == ['not run'] * 4 and 'DIGITS' in t.columns[4]
