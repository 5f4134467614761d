"""The docs site would build: nbdev's generated YAML parses, the sidebar lists every notebook (templates apart from the API),
and every notebook goes through nbdev's own doc processors without error. Quarto itself cannot be installed here, so
`nbdev_docs` is not run; this covers everything nbdev does before handing over to Quarto."""
import os, re, shutil, subprocess, sys
from configparser import ConfigParser
import yaml
from conftest import ROOT, NBS


def project_copy(tmp_path):
    "The project's notebooks, package and settings in a temporary folder, so that generated files never land in the tree."
    for d in ('nbs', 'mixup_nb'): shutil.copytree(ROOT / d, tmp_path / d, ignore=shutil.ignore_patterns('_proc', '_docs', '__pycache__'))
    shutil.copy(ROOT / 'settings.ini', tmp_path)
    return tmp_path


def run_py(code, cwd, timeout=600):
    env = {**os.environ, 'PYTHONPATH': str(cwd)}
    return subprocess.run([sys.executable, '-c', code], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def test_generated_yaml_parses(tmp_path):
    p = project_copy(tmp_path)
    r = run_py("from nbdev.quarto import refresh_quarto_yml; refresh_quarto_yml()", p)
    assert r.returncode == 0, r.stderr
    cfg = ConfigParser(); cfg.read(ROOT / 'settings.ini')
    site = yaml.safe_load((p / 'nbs' / 'nbdev.yml').read_text())['website']
    assert site['description'] == cfg['DEFAULT']['description'] and site['title'] == cfg['DEFAULT']['title']
    assert 'localhost' not in site['repo-url'] + site['site-url'] and site['repo-url'].startswith('https://')
    quarto = yaml.safe_load((NBS / '_quarto.yml').read_text())
    assert (NBS / quarto['format']['html']['css']).is_file()          # styles.css, which Quarto needs
    assert set(quarto['metadata-files']) == {'nbdev.yml', 'sidebar.yml'}
    generated = ['nbs/nbdev.yml', '_docs/index.html', '_proc/00_core.ipynb']
    ignored = subprocess.run(['git', 'check-ignore', *generated], cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert ignored == generated                                          # generated files are never committed


def _pages(contents, section=None):
    for c in contents:
        if isinstance(c, dict): yield from _pages(c['contents'], c['section'])
        else: yield section, c


def test_sidebar_lists_every_notebook_templates_apart():
    import nbformat
    side = list(_pages(yaml.safe_load((NBS / 'sidebar.yml').read_text())['website']['sidebar']['contents']))
    listed = [p for _, p in side]
    nbs = sorted(p.name for p in NBS.glob('*.ipynb') if not p.name.startswith(('_', '.')))
    assert sorted(listed) == nbs, f"nbs/sidebar.yml must list every notebook once: {sorted(set(nbs) ^ set(listed))}"
    for section, page in side:
        nb = nbformat.read(NBS / page, as_version=4)
        template = any('parameters' in c.metadata.get('tags', []) for c in nb.cells)
        assert (section == 'API') == (re.match(r'\d', page) is not None and not template), (section, page)


def test_every_notebook_goes_through_nbdevs_processors(tmp_path):
    """nbdev's own doc processors (nbdev_proc_nbs's), in one process: front matter, show_doc cells, directives, links.
    `exec_show_docs` is left out: it re-executes the exported and import cells, which nbdev_test already runs, and
    would make this test take minutes."""
    p = project_copy(tmp_path)
    code = """
import sys
from pathlib import Path
from execnb.nbio import read_nb
from nbdev.processors import FilterDefaults, exec_show_docs
class Procs(FilterDefaults):
    def base_procs(self): return [o for o in super().base_procs() if o is not exec_show_docs]
failed, n = [], 0
for f in sorted(Path('nbs').glob('*.ipynb')):
    try: Procs()(read_nb(f)); n += 1
    except Exception as e: failed.append(f"{f.name}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
print(n, 'notebooks processed'); print('\\n'.join(failed)); sys.exit(1 if failed or n == 0 else 0)
"""
    r = run_py(code, p)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert int(r.stdout.split()[0]) == len(list(NBS.glob('*.ipynb')))
