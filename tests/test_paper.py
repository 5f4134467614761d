"The summary notebook (nbs/paper.ipynb) over a folder of runs: the paper's tables, 'not run' cells, runs pooled over folders."
import json
import nbformat
from conftest import NBS
from mixup_nb.core import atomic_write_json
from mixup_nb.experiment import run_experiment
from mixup_nb.reference import REFERENCE_ROWS


def md_rows(md: str) -> dict:
    "Markdown tables by section title: a list of {column: cell} per row."
    out, title, head = {}, None, None
    for line in md.splitlines():
        if line.startswith('### '): title, head = line[4:], None; out[title] = []
        elif line.startswith('|') and title:
            cells = [c.strip() for c in line.strip('|').split(' | ')]
            if head is None: head = cells
            elif not set(line) <= set('|-'): out[title].append(dict(zip(head, cells)))
    return out


def test_paper_tables(tmp_path, papermill):
    runs = tmp_path / 'runs'
    # one tiny DIGITS run (ERM and mixup, two seeds) ...
    m = run_experiment('DIGITS', alphas=[0.0, 1.0], seeds=[0, 1], out_dir=runs / 'DIGITS', epochs=2, progress=False)
    # ... a third seed of ERM in a folder of its own, as a sweep writes it: pooled with the other two
    m3 = run_experiment('DIGITS', alphas=[0.0], seeds=[2], out_dir=runs / 'sweep' / 'DIGITS' / 'DigitsNet_alpha0_seed2', epochs=2, progress=False)
    # ... and an unfinished run (fewer epochs done than asked), which must be left out
    bad = json.loads(json.dumps(m3)); bad['runs'][0]['seed'] = 7; bad['runs'][0]['config']['seed'] = 7; bad['runs'][0]['epochs_run'] = 1
    atomic_write_json(runs / 'sweep' / 'DIGITS' / 'DigitsNet_alpha0_seed7' / 'metrics.json', bad)

    papermill(NBS / 'paper.ipynb', tmp_path / 'paper.ipynb', cwd=tmp_path, raw={'runs_dir': str(runs)})
    nb = nbformat.read(tmp_path / 'paper.ipynb', as_version=4)
    assert nb.metadata.papermill.parameters['runs_dir'] == str(runs)
    assert nb.metadata.papermill.duration < 120          # "runs in seconds": nothing is trained here

    md = (runs / 'paper_table.md').read_text()
    assert not list(runs.glob('.paper_table.md.*'))      # written atomically: no temporary file left
    t = md_rows(md)
    assert list(t) == ['CIFAR-10', 'CIFAR-100', 'Google Speech Commands', 'Fashion-MNIST', 'DIGITS (scikit-learn 8 x 8 digits)',
                       'UCI data (paper section 3.6, Table 4)', 'GANs (paper section 3.7, Figure 5)']
    # the UCI table: Iris's paper numbers beside "not run", the other sets without a paper number; the GAN rows "not run"
    uci = {(r['dataset'], r['method']): r for r in t['UCI data (paper section 3.6, Table 4)']}
    assert uci[('Iris (UCI)', 'ERM')]['paper'] == '21.3 (as quoted)' and uci[('Iris (UCI)', 'ERM')]['ours (final epoch, mean ± std)'] == 'not run'
    assert uci[('Arcene (UCI)', 'ERM')]['paper'] == '—' and len(uci) == 12
    assert {r['modes covered'] for r in t['GANs (paper section 3.7, Figure 5)']} == {'not run'}
    assert 'Read from 5 finished run(s).' in md

    # every paper number appears, and with no run beside it says "not run", never a number from the paper
    paper_cells = [r for s in ('CIFAR-10', 'CIFAR-100', 'Google Speech Commands') for r in t[s]]
    assert len(paper_cells) == sum(1 for r in REFERENCE_ROWS if r[6] == 'paper' and r[3] == 'test' and r[0] != 'IRIS')
    for r in paper_cells:
        assert r['paper'] != '—' and r['ours (mean ± std)'] == 'not run' and r['n seeds'] == '0' and r['difference'] == '—', r
    assert {r['paper'] for r in t['CIFAR-10'] if r['model'] == 'WRN-28-10'} == {'3.8 (as quoted)', '2.7 (as quoted)'}
    assert '5.6 (as quoted)' in {r['paper'] for r in t['CIFAR-10']}
    for r in t['Fashion-MNIST']:
        assert (r['paper'], r['ours (mean ± std)']) == ('—', 'not run')

    # DIGITS: ours is the mean ± std over seeds of the median of the last 10 epochs, pooled over both folders
    dg = {r['method']: r for r in t['DIGITS (scikit-learn 8 x 8 digits)']}
    import numpy as np
    erm = [r['median10_test_error'] for r in m['runs'] if r['alpha'] == 0.0] + [m3['runs'][0]['median10_test_error']]
    assert dg['ERM']['n seeds'] == '3' and dg['mixup (alpha=1)']['n seeds'] == '2'
    assert dg['ERM']['ours (mean ± std)'] == f"{np.mean(erm):.2f} ± {np.std(erm, ddof=1):.2f}"
    assert dg['ERM']['paper'] == '—' and dg['ERM']['departs from the recipe'] == 'epochs=2'

    # the notebook shows the same tables
    html = ''.join(''.join(o.get('data', {}).get('text/html', '')) for c in nb.cells if c.cell_type == 'code' for o in c.get('outputs', []))
    assert html.count('not run') >= len(paper_cells) and f"{np.mean(erm):.2f} ± {np.std(erm, ddof=1):.2f}" in html


def test_paper_empty_and_custom_markdown_path(tmp_path, papermill):
    (tmp_path / 'runs').mkdir()
    papermill(NBS / 'paper.ipynb', tmp_path / 'paper.ipynb', cwd=tmp_path, raw={'runs_dir': str(tmp_path / 'runs'), 'table_md': str(tmp_path / 'x' / 't.md')})
    t = md_rows((tmp_path / 'x' / 't.md').read_text())
    rows = [r for s in t.values() for r in s]
    ours = [next(v for k, v in r.items() if k.startswith('ours') or k == 'modes covered') for r in rows]   # UCI and GAN rows name it differently
    assert rows and all(v == 'not run' for v in ours)


def test_paper_bad_runs_dir(tmp_path, papermill):
    p = papermill(NBS / 'paper.ipynb', tmp_path / 'paper.ipynb', cwd=tmp_path, raw={'runs_dir': str(tmp_path / 'nope')}, check=False)
    assert p.returncode != 0 and "is not a folder" in p.stdout + p.stderr
