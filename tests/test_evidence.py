"The paper's other evidence, each template run end to end on tiny parameters: toy figures, UCI tables, GANs."
import json
import nbformat, numpy as np, pytest, torch
from conftest import NBS
from datatrees import write_uci
from mixup_nb.data import load_dataset, DATA_INFO
from mixup_nb.data.tabular import load_uci, TABULAR

@pytest.mark.parametrize('name', ['toy.ipynb', 'tabular.ipynb', 'gan.ipynb'])
def test_parameters_cell_is_tagged_and_typed(name):
    nb = nbformat.read(NBS / name, as_version=4)
    tagged = [c for c in nb.cells if 'parameters' in c.get('metadata', {}).get('tags', [])]
    assert len(tagged) == 1, f"{name} needs exactly one cell tagged 'parameters'"
    lines = [l for l in tagged[0].source.splitlines() if l.strip() and not l.startswith(('from ', 'import '))]   # the typing import is no parameter
    assert all(':' in l.split('=')[0] and '#' in l for l in lines), f"{name}: every parameter typed and commented"

def _outputs(path):
    nb = nbformat.read(path, as_version=4)
    return [o for c in nb.cells if c.cell_type == 'code' for o in c.get('outputs', [])]

def test_toy_template_tiny(tmp_path, papermill):
    out = tmp_path / 'toy'
    papermill(NBS / 'toy.ipynb', tmp_path / 'toy.ipynb', cwd=tmp_path,
              params={'out_dir': str(out), 'seeds': [0], 'toy_n': 40, 'toy_epochs': 2, 'fig2_epochs': 1, 'n_pairs': 30, 'lams': [0.5, 1.0]})
    m = json.loads((out / 'metrics.json').read_text())
    assert m['provenance']['git'] and m['parameters']['toy_epochs'] == 2
    assert {r['method'] for r in m['fig1b']} == {'ERM', 'mixup (alpha=1)'}
    rows = m['fig2']['rows']
    assert m['fig2']['dataset'] == 'DIGITS' and m['fig2']['n_pairs'] == 30
    assert sorted({(r['method'], r['lam']) for r in rows}) == [('ERM', 0.5), ('ERM', 1.0), ('mixup (alpha=1)', 0.5), ('mixup (alpha=1)', 1.0)]
    for r in rows:                                          # a miss rate is k of the 30 pairs; lam = 1 is the example itself
        k = r['miss_rate'] * 30 / 100
        assert abs(k - round(k)) < 1e-9 and r['grad_norm_mean'] > 0 and r['grad_norm_std'] >= 0, r
    for f in ('fig1b.png', 'fig2.png'): assert (out / f).stat().st_size > 5000, f
    assert sum('image/png' in o.get('data', {}) for o in _outputs(tmp_path / 'toy.ipynb')) >= 2

def test_toy_template_bad_input(tmp_path, papermill):
    p = papermill(NBS / 'toy.ipynb', tmp_path / 'bad.ipynb', cwd=tmp_path, params={'out_dir': str(tmp_path), 'alpha': 0.0}, check=False)
    assert p.returncode != 0 and 'alpha must be > 0, got 0.0' in p.stdout + p.stderr

def test_tabular_template_tiny(tmp_path, papermill):
    write_uci(tmp_path / 'data')
    out = tmp_path / 'tab'
    papermill(NBS / 'tabular.ipynb', tmp_path / 'tab.ipynb', cwd=tmp_path,
              params={'datasets': ['IRIS', 'PHISHING'], 'seeds': [0, 1], 'epochs': 1, 'data_root': str(tmp_path / 'data'), 'out_dir': str(out)})
    for d in ('IRIS', 'PHISHING'):
        m = json.loads((out / d / 'metrics.json').read_text())
        assert [(r['alpha'], r['seed'], r['epochs_run']) for r in m['runs']] == [(0.0, 0, 1), (0.0, 1, 1), (1.0, 0, 1), (1.0, 1, 1)]
        assert m['runs'][0]['config']['model'] == f'MLP_{d}' and m['runs'][0]['config']['batch_size'] == 16
    text = ''.join(o.get('data', {}).get('text/html', '') for o in _outputs(tmp_path / 'tab.ipynb'))
    assert '21.3 (as quoted)' in text and 'Phishing (UCI)' in text
    for f in ('uci_error.png', 'uci_curves.png'): assert (out / f).stat().st_size > 5000, f

def test_tabular_missing_file_is_one_line(tmp_path, papermill):
    p = papermill(NBS / 'tabular.ipynb', tmp_path / 'bad.ipynb', cwd=tmp_path,
                  params={'datasets': ['ABALONE'], 'data_root': str(tmp_path / 'empty'), 'out_dir': str(tmp_path / 'o'), 'download': False}, check=False)
    out = p.stdout + p.stderr
    assert p.returncode != 0 and 'ABALONE not found under' in out and 'download=False keeps this machine offline' in out
    assert 'abalone.data' in out                                           # says what to place where
    assert not (tmp_path / 'o' / 'ABALONE').exists()                     # nothing trained, nothing written

def test_uci_readers_real_layouts(tmp_path):
    n = write_uci(tmp_path)
    ab = load_uci('ABALONE', tmp_path, 'train'); assert ab.x.shape[1] == 10 and set(ab.y.tolist()) <= {0, 1, 2}
    # the first rows of the written file, read back: sex one-hot then rings grouped (rings 5 -> 0, 9 -> 1, 12 -> 2)
    from mixup_nb.data.tabular import abalone_xy, read_csv_rows, uci_arrays
    x, y = abalone_xy(read_csv_rows('ABALONE', tmp_path / 'uci/abalone/abalone.data', 9))
    assert x[0, :3].tolist() == [0, 0, 1] and y[:6].tolist() == [0, 0, 1, 1, 2, 2]       # 'M', rings 5 7 9 10 12 15
    xa, ya, _, split = uci_arrays('ARCENE', tmp_path)
    assert xa.shape == (n['ARCENE'], 10000) and split.sum() == n['ARCENE'] // 2
    assert ((xa[:, 0] > 500) == (ya == 1)).all()                                         # labels +1 / -1 beside their rows
    xr, yr, _, _ = uci_arrays('ARRHYTHMIA', tmp_path)
    assert np.isnan(xr[:, 10]).sum() == len(range(0, n['ARRHYTHMIA'], 7)) and sorted(set(yr.tolist())) == [0, 1, 9, 15]
    assert not torch.isnan(load_uci('ARRHYTHMIA', tmp_path, 'test').x).any()             # filled with the training median
    xp, yp, _, _ = uci_arrays('PHISHING', tmp_path)
    assert xp.shape == (n['PHISHING'], 30) and set(np.unique(xp)) <= {-1.0, 0.0, 1.0} and ((xp[:, 7] == 1) == (yp == 1)).all()
    for name in TABULAR:   # through load_dataset, like every other set
        tr = load_dataset(name, tmp_path, 'train'); assert tr.x.shape[1] == DATA_INFO[name]['in_channels'] and tr.x.dtype == torch.float32

def test_uci_unreachable_download_is_one_line(tmp_path, monkeypatch):
    import mixup_nb.data.tabular as tab
    monkeypatch.setitem(tab.UCI_FILES, 'ABALONE', dict(folder='uci/abalone', files={'abalone.data': 'http://127.0.0.1:9/abalone.data'}))
    with pytest.raises(FileNotFoundError, match=r"ABALONE not found under .*fetching it from the UCI repository failed: .*To place it by hand: save http://127.0.0.1:9/abalone.data") as e:
        load_uci('ABALONE', tmp_path, download=True)
    assert '\n' not in str(e.value) and not any((tmp_path / 'uci').rglob('*.data'))   # nothing half-written

def test_uci_bad_file_is_one_line(tmp_path):
    write_uci(tmp_path)
    (tmp_path / 'uci/htru2/HTRU_2.csv').write_text('1,2,3\n4,5,6\n')
    with pytest.raises(ValueError, match=r"HTRU2: .*HTRU_2.csv has 3 columns in 2 rows, expected 9 columns") as e:
        load_uci('HTRU2', tmp_path)
    assert '\n' not in str(e.value)

def test_gan_template_tiny(tmp_path, papermill):
    out = tmp_path / 'gan'
    papermill(NBS / 'gan.ipynb', tmp_path / 'gan.ipynb', cwd=tmp_path,
              params={'out_dir': str(out), 'seeds': [0], 'iterations': 3, 'snapshots': [1, 3], 'hidden': 8, 'n_eval': 50})
    m = json.loads((out / 'metrics.json').read_text())
    keys = {(r['shape'], r['method'], r['iteration']) for r in m['rows']}
    assert keys == {(s, meth, it) for s in ('ring', 'grid') for meth in ('GAN', 'mixup-GAN (alpha=0.2)') for it in (1, 3)}
    assert {r['modes'] for r in m['rows']} == {8, 25} and len(m['summary']) == 4
    for f in ('samples_gan.png', 'samples_mixup-gan.png', 'mode_stats.png'): assert (out / f).stat().st_size > 5000, f

def test_gan_bad_input(tmp_path, papermill):
    p = papermill(NBS / 'gan.ipynb', tmp_path / 'bad.ipynb', cwd=tmp_path, params={'out_dir': str(tmp_path), 'snapshots': [5], 'iterations': 3}, check=False)
    assert p.returncode != 0 and 'snapshots must be <= 3, got 5 in [5]' in p.stdout + p.stderr

def test_mixup_gan_discriminator_loss_is_the_formula():
    from mixup_nb.gan import gan_d_loss
    torch.manual_seed(0)
    d = torch.nn.Linear(2, 1)
    real, fake = torch.randn(64, 2), torch.randn(64, 2) - 2
    loss, lam = gan_d_loss(d, real, fake, alpha=1.0, generator=torch.Generator().manual_seed(0))
    z = d(lam[:, None] * real + (1 - lam[:, None]) * fake).squeeze(1)
    want = -(lam * torch.log(torch.sigmoid(z)) + (1 - lam) * torch.log(1 - torch.sigmoid(z))).mean()
    assert torch.allclose(loss, want, atol=1e-6) and lam.unique().numel() == 64
    # lam ~ Beta(1, 1) is uniform on (0, 1): its mean is near 1/2
    _, lam2 = gan_d_loss(d, torch.randn(4000, 2), torch.randn(4000, 2), alpha=1.0, generator=torch.Generator().manual_seed(1))
    assert abs(lam2.mean().item() - 0.5) < 0.03
