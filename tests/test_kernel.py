"""Notebooks open unmodified in JupyterLab: each carries the kernelspec nbdev_clean stores and the `language_info` the
installed kernel reports, and the kernel is installed under the display name nbdev_clean writes (tools/kernel.py).
The browser test opens one in a real JupyterLab and checks that nothing changes."""
import json, subprocess, sys
from execnb.nbio import nb2str
from conftest import ROOT

sys.path.insert(0, str(ROOT / 'tools'))
import kernel   # noqa: E402


def test_every_notebook_carries_what_the_kernel_reports():
    info = kernel.language_info()
    assert info['name'] == 'python' and info['version'] == '.'.join(map(str, sys.version_info[:3]))
    assert kernel.mismatches(info) == []
    assert kernel.installed_display_name() == 'python3'


def test_nbdev_clean_keeps_the_metadata(tmp_path):
    nb = json.loads((ROOT / 'nbs' / '01_mixup.ipynb').read_text())
    p = tmp_path / 'x.ipynb'
    p.write_text(json.dumps(nb))
    r = subprocess.run([sys.executable, '-c', f"from nbdev.clean import nbdev_clean; nbdev_clean({str(p)!r})"],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert json.loads(p.read_text())['metadata'] == nb['metadata'] == kernel.expected(nb['metadata']['language_info'])


def test_stamp_writes_only_what_differs(tmp_path, monkeypatch):
    nbs = tmp_path / 'nbs'; nbs.mkdir()
    good = json.loads((ROOT / 'nbs' / '01_mixup.ipynb').read_text())
    bad = {**good, 'metadata': {'kernelspec': {'display_name': 'Python 3 (ipykernel)', 'language': 'python', 'name': 'python3'}}}
    (nbs / 'a.ipynb').write_text(nb2str(good)); (nbs / 'b.ipynb').write_text(nb2str(bad))
    monkeypatch.setattr(kernel, 'ROOT', tmp_path)
    info = good['metadata']['language_info']
    assert [m.split(':')[0] for m in kernel.mismatches(info)] == ['nbs/b.ipynb', 'nbs/b.ipynb']
    assert kernel.stamp(info) == [nbs / 'b.ipynb']
    assert kernel.mismatches(info) == [] and (nbs / 'b.ipynb').read_text() == (nbs / 'a.ipynb').read_text()
