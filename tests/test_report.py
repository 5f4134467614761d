"The per-dataset report (nbs/train.ipynb run by papermill): every figure inline and as PNG, provenance, the paper's number."
import json
import nbformat

FIGURES = ('curves', 'final_error', 'calibration', 'mixed_examples')


def outputs_of(nb):
    return [o for c in nb.cells if c.cell_type == 'code' for o in c.get('outputs', [])]


def text_of(outputs, kind):
    return '\n'.join(''.join(o.get('data', {}).get(kind, '')) for o in outputs)


def test_report_digits(digits_report):
    report, out_dir = digits_report
    nb = nbformat.read(report, as_version=4)
    outs = outputs_of(nb)
    html, md = text_of(outs, 'text/html'), text_of(outs, 'text/markdown')
    m = json.loads((out_dir / 'metrics.json').read_text())

    # every figure of the report: inline, and saved as a PNG in the run folder
    pngs = [o for o in outs if 'image/png' in o.get('data', {})]
    assert len(pngs) == len(FIGURES), f"expected {len(FIGURES)} inline figures, got {len(pngs)}"
    for f in FIGURES:
        assert (out_dir / f'{f}.png').stat().st_size > 10_000, f

    # provenance, before the training cell: parameters, git commit and dirty flag, versions, device, seeds, determinism
    code = [c for c in nb.cells if c.cell_type == 'code' and not {'parameters', 'injected-parameters'} & set(c.metadata.get('tags', []))]
    prov = next(i for i, c in enumerate(code) if text_of(c.outputs, 'text/html'))     # the first table the report shows
    assert prov < next(i for i, c in enumerate(code) if 'run_experiment(' in c.source), "provenance must come before training"
    prov_html = text_of(code[prov].outputs, 'text/html')
    commit = m['provenance']['git']['commit']
    assert commit and commit in prov_html
    for item in ('uncommitted changes', 'torch', 'numpy', 'device name', 'seeds', 'deterministic_algorithms',
                 'cudnn_benchmark', 'CUBLAS_WORKSPACE_CONFIG', 'epochs'):
        assert item in prov_html, item
    assert m['provenance']['device_name'] in prov_html and '[0, 1]' in prov_html
    assert m['determinism']['deterministic_algorithms'] is True

    # test error: the median of the last 10 epochs and the final epoch, both labelled
    assert "test error % (median of last 10 epochs)" in html and 'test error % (final epoch)' in html
    assert "authors' protocol" not in html and 'validation' not in html     # DIGITS has no validation split
    s = {x['method']: x for x in m['summary']}
    assert f"{s['mixup']['median10_test_error_mean']:.2f} ± {s['mixup']['median10_test_error_std']:.2f}" in html
    assert f"{s['ERM']['final_test_error_mean']:.2f} ± {s['ERM']['final_test_error_std']:.2f}" in html
    # calibration: the ECE of each method, as metrics.json has it
    assert f"{100 * s['mixup']['final_test_ece_mean']:.2f} ± {100 * s['mixup']['final_test_ece_std']:.2f}" in html

    # the paper has no DIGITS number: the report says so instead of inventing one
    assert 'the paper reports no test error for DIGITS' in md
    assert 'not in the paper' in html


def test_report_cifar10_paper_number(cifar10_report):
    "Where the paper has a number (CIFAR-10, PreAct ResNet-18), the report puts it beside ours (the session's CIFAR-10 run)."
    out_dir = cifar10_report / 'run'
    nb = nbformat.read(cifar10_report / 'report.ipynb', as_version=4)
    outs = outputs_of(nb)
    html, md = text_of(outs, 'text/html'), text_of(outs, 'text/markdown')
    m = json.loads((out_dir / 'metrics.json').read_text())
    assert m['runs'][0]['config']['model'] == 'ResNet18_CIFAR10'
    assert 'ERM 5.6 (as quoted) %; mixup (alpha=1) 4.2 (as quoted) %' in md
    ours = m['summary'][1]['median10_test_error_mean']
    assert '4.2 (as quoted)' in html and f"{ours - 4.2:+.2f}" in html    # the difference, ours minus the paper
    assert len([o for o in outs if 'image/png' in o.get('data', {})]) == len(FIGURES)
    for f in FIGURES:
        assert (out_dir / f'{f}.png').exists(), f
