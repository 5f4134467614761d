"The papermill template, run end to end on tiny parameters: what the executed notebook and the run folder hold."
import json, shutil, subprocess, sys
import nbformat
from conftest import NBS, ROOT, check_run_numbers

def test_parameters_cell_is_tagged():
    nb = nbformat.read(NBS / 'train.ipynb', as_version=4)
    tagged = [c for c in nb.cells if 'parameters' in c.get('metadata', {}).get('tags', [])]
    assert len(tagged) == 1, "train.ipynb needs exactly one cell tagged 'parameters'"
    import papermill as pm
    params = pm.inspect_notebook(str(NBS / 'train.ipynb'))
    for name in ('dataset', 'model', 'alphas', 'seeds', 'epochs', 'batch_size', 'lr', 'data_root', 'out_dir', 'device'):
        assert name in params, name
    for name, p in params.items():                     # every parameter typed and explained for --help-notebook
        assert p['inferred_type_name'] not in ('None', '') and p['help'], (name, p)

def test_help_notebook_shows_types():
    out = subprocess.run([sys.executable, '-m', 'papermill', '--help-notebook', str(NBS / 'train.ipynb')],
                         capture_output=True, text=True, check=True).stdout
    assert 'Unknown type' not in out
    assert 'seeds: list[int] (default [0, 1, 2])' in out and 'epochs: Optional[int] (default None)' in out

def test_template_digits_tiny(digits_report):
    report, out_dir = digits_report
    nb = nbformat.read(report, as_version=4)
    # papermill injected our values after the parameters cell
    inj = [i for i, c in enumerate(nb.cells) if 'injected-parameters' in c.metadata.get('tags', [])]
    par = [i for i, c in enumerate(nb.cells) if 'parameters' in c.metadata.get('tags', [])]
    assert inj and par and inj[0] == par[0] + 1
    assert nb.metadata.papermill.parameters['epochs'] == 2
    outputs = [o for c in nb.cells if c.cell_type == 'code' for o in c.get('outputs', [])]
    html = ''.join(o.get('data', {}).get('text/html', '') for o in outputs)
    assert 'ERM' in html and 'mixup (alpha=1)' in html and '±' in html, "the summary table is missing"
    pngs = [o for o in outputs if 'image/png' in o.get('data', {})]
    assert len(pngs) >= 3, f"expected at least 3 inline figures, got {len(pngs)}"
    for f in ('curves.png', 'final_error.png', 'mixed_examples.png'):
        assert (out_dir / f).stat().st_size > 5000, f
    m = json.loads((out_dir / 'metrics.json').read_text())
    assert [(r['method'], r['alpha'], r['seed']) for r in m['runs']] == [('mixup', 0.0, 0), ('mixup', 0.0, 1), ('mixup', 1.0, 0),
                                                                         ('mixup', 1.0, 1), ('cutmix', 1.0, 0), ('cutmix', 1.0, 1)]
    assert m['parameters']['epochs'] == 2 and m['provenance']['torch'] and 'commit' in m['provenance']['git']
    for r in m['runs']:                                    # DIGITS holds out half of its 1797 images: 899 test examples
        check_run_numbers(out_dir, r, n_test=899, epochs=2)
    assert len({r['final_test_error'] for r in m['runs']}) > 1, "every run ended on the same error: were the runs different?"
    assert [s['n_seeds'] for s in m['summary']] == [2, 2, 2]

def test_template_bad_input_fails_clearly(tmp_path, papermill):
    p = papermill(NBS / 'train.ipynb', tmp_path / 'bad.ipynb', cwd=tmp_path, params={'seeds': [], 'out_dir': str(tmp_path)}, check=False)
    assert p.returncode != 0
    assert 'seeds must be a non-empty list' in p.stdout + p.stderr

def test_template_string_for_list_fails_at_once(tmp_path, papermill):
    "papermill's -p passes '[0]' as a string: the first code cell names the fix, before anything is imported or trained."
    p = papermill(NBS / 'train.ipynb', tmp_path / 'bad.ipynb', cwd=tmp_path, raw={'seeds': '[0]', 'out_dir': str(tmp_path / 'run')}, check=False)
    assert p.returncode != 0
    assert "seeds must be a non-empty list of integers, got the string '[0]': pass lists with -y 'seeds: [0]'" in p.stdout + p.stderr
    nb = nbformat.read(tmp_path / 'bad.ipynb', as_version=4)
    failed = [c for c in nb.cells if c.cell_type == 'code' and any(o.get('output_type') == 'error' for o in c.get('outputs', []))]
    assert len(failed) == 1 and 'check_param' in failed[0].source and 'torch' not in failed[0].source
    assert not (tmp_path / 'run').exists()                 # nothing was started

def test_template_paths_from_project_root(tmp_path, papermill):
    "With the kernel in nbs/ (as in JupyterLab) the default out_dir is runs/<dataset> at the project's top level."
    shutil.copy(ROOT / 'settings.ini', tmp_path)
    (tmp_path / 'nbs').mkdir(); shutil.copy(NBS / 'train.ipynb', tmp_path / 'nbs')
    (tmp_path / 'runs' / 'DIGITS').mkdir(parents=True)
    papermill(tmp_path / 'nbs' / 'train.ipynb', tmp_path / 'runs' / 'DIGITS' / 'report.ipynb', cwd=tmp_path / 'nbs',
              params={'alphas': [0.0], 'seeds': [0], 'epochs': 1})
    assert (tmp_path / 'runs' / 'DIGITS' / 'metrics.json').exists() and not (tmp_path / 'nbs' / 'runs').exists()
    nb = nbformat.read(tmp_path / 'runs' / 'DIGITS' / 'report.ipynb', as_version=4)
    text = ''.join(o.get('data', {}).get('text/markdown', '') for c in nb.cells for o in c.get('outputs', []))
    assert '**Run folder** `runs/DIGITS`' in text
    streams = [o for c in nb.cells for o in c.get('outputs', []) if o.get('output_type') == 'stream']
    assert not [o for o in streams if o['name'] == 'stderr' and ('%|' in o['text'] or '\r' in o['text'])], "progress-bar debris"
    lines = [l for o in streams if o['name'] == 'stdout' for l in o['text'].splitlines() if ' epoch 1/1 ' in l]
    assert len(lines) == 1, lines                          # one clean line per epoch and run
