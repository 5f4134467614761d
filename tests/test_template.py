"The papermill template, run end to end on tiny parameters: what the executed notebook and the run folder hold."
import json
import nbformat
from conftest import NBS

def test_parameters_cell_is_tagged():
    nb = nbformat.read(NBS / 'train.ipynb', as_version=4)
    tagged = [c for c in nb.cells if 'parameters' in c.get('metadata', {}).get('tags', [])]
    assert len(tagged) == 1, "train.ipynb needs exactly one cell tagged 'parameters'"
    src = tagged[0].source
    for name in ('dataset', 'model', 'alphas', 'seeds', 'epochs', 'batch_size', 'lr', 'data_root', 'out_dir', 'device'):
        assert f"\n{name} =" in '\n' + src, name

def test_template_digits_tiny(tmp_path, papermill):
    out_dir = tmp_path / 'run'
    papermill(NBS / 'train.ipynb', tmp_path / 'report.ipynb', cwd=tmp_path,
              params={'alphas': [0.0, 0.5], 'seeds': [0, 1], 'epochs': 2, 'out_dir': str(out_dir)})
    nb = nbformat.read(tmp_path / 'report.ipynb', as_version=4)
    # papermill injected our values after the parameters cell
    inj = [i for i, c in enumerate(nb.cells) if 'injected-parameters' in c.metadata.get('tags', [])]
    par = [i for i, c in enumerate(nb.cells) if 'parameters' in c.metadata.get('tags', [])]
    assert inj and par and inj[0] == par[0] + 1
    assert nb.metadata.papermill.parameters['epochs'] == 2
    outputs = [o for c in nb.cells if c.cell_type == 'code' for o in c.get('outputs', [])]
    html = ''.join(o.get('data', {}).get('text/html', '') for o in outputs)
    assert 'ERM' in html and 'mixup (alpha=0.5)' in html and '±' in html, "the summary table is missing"
    pngs = [o for o in outputs if 'image/png' in o.get('data', {})]
    assert len(pngs) >= 3, f"expected at least 3 inline figures, got {len(pngs)}"
    for f in ('curves.png', 'final_error.png', 'mixed_examples.png'):
        assert (out_dir / f).stat().st_size > 5000, f
    m = json.loads((out_dir / 'metrics.json').read_text())
    assert [(r['alpha'], r['seed']) for r in m['runs']] == [(0.0, 0), (0.0, 1), (0.5, 0), (0.5, 1)]
    assert m['parameters']['epochs'] == 2 and m['provenance']['torch'] and 'commit' in m['provenance']['git']
    for r in m['runs']:
        assert r['epochs_run'] == 2 and 0 <= r['final_test_error'] <= 100
        assert (out_dir / r['csv']).exists()
    assert [s['n_seeds'] for s in m['summary']] == [2, 2]

def test_template_bad_input_fails_clearly(tmp_path, papermill):
    p = papermill(NBS / 'train.ipynb', tmp_path / 'bad.ipynb', cwd=tmp_path, params={'seeds': [], 'out_dir': str(tmp_path)}, check=False)
    assert p.returncode != 0
    assert 'seeds must be a non-empty list' in p.stdout + p.stderr
