"`tools/house.py`, the checker of the house rules: it finds each kind of violation in a small project tree written here."
import json, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOUSE = ROOT / 'tools' / 'house.py'


def house(root: Path, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(HOUSE), '--root', str(root), *args], capture_output=True, text=True, timeout=60)


def notebook(path: Path, *cells: str):
    "A notebook of code cells."
    path.write_text(json.dumps({'cells': [{'cell_type': 'code', 'metadata': {}, 'source': c, 'outputs': [], 'execution_count': None}
                                          for c in cells], 'metadata': {}, 'nbformat': 4, 'nbformat_minor': 5}))


def tree(tmp_path: Path, files: dict) -> Path:
    "A project root with `mixup_nb/<name>.py` modules (text) and `nbs/<name>.ipynb` notebooks (a tuple of cells)."
    (tmp_path / 'mixup_nb').mkdir(); (tmp_path / 'nbs').mkdir()
    (tmp_path / 'mixup_nb' / '__init__.py').write_text("__version__ = '0'\n")
    for name, text in files.items():
        if isinstance(text, tuple): notebook(tmp_path / 'nbs' / f'{name}.ipynb', *text)
        else:
            p = tmp_path / 'mixup_nb' / f"{name}.py"
            p.parent.mkdir(exist_ok=True); p.write_text(text)
    return tmp_path


def test_clean_tree_passes(tmp_path):
    root = tree(tmp_path, {
        'core': "import os\n\ndef f(): return os.sep\n",
        'train': "from .core import f\n\ndef g(): return f()\n",
        'data/__init__': "from .images import h\n__all__ = ['h']\n",
        'data/images': "from ..core import f\nfrom . import readers\n\ndef h(): return f(), readers.r()\n",
        'data/readers': "def r(): return 1\n",
        '_modidx': "d = {}\n" * 400,
        'nb': ("#| export\ndef f(): return 1", "test_eq(f(), 1)", "#| export\nclass C: pass\ndef _private(): pass", "C()")})
    r = house(root)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout == '' and 'no violations' in r.stderr


def test_each_rule_found(tmp_path):
    root = tree(tmp_path, {
        'big': "x = 1\n" * 301,
        'data': "def load():\n    from mixup_nb.audio import read\n    return read()\n",
        'audio': "from .data import load\n\ndef read(): return load\n",
        'train': "def _check(ok, msg): pass\n",
        'claims': "import os, json\nfrom .train import _check\nfrom . import core\n\ndef c(): return os.sep, _check, core._atomic\n",
        'core': "_atomic = 1\n",
        'nb': ("#| export\ndef shown(): return 1\ndef hidden(): return 2", "# hidden() is only named in a comment\nshown()",
               "#| export\ndef last(): pass", "#| eval: false\nlast()")})
    r = house(root)
    assert r.returncode == 1
    out = r.stdout.splitlines()
    assert "mixup_nb/big.py:1: size: 301 lines (at most 300)" in out
    assert any(l.startswith('mixup_nb/audio.py:1: circle: mixup_nb.audio') and 'mixup_nb.data (mixup_nb/data.py:2)' in l for l in out), out
    assert "mixup_nb/claims.py:2: private: imports _check from mixup_nb.train" in out
    assert "mixup_nb/claims.py:5: private: reads core._atomic from mixup_nb.core" in out
    assert "mixup_nb/claims.py:1: unused: 'json' imported but unused" in out
    assert any(l.startswith('nbs/nb.ipynb:cell 0: checked: hidden ') for l in out), out
    assert any(l.startswith('nbs/nb.ipynb:cell 2: checked: last ') for l in out), out
    assert not any(': shown ' in l or 'big.py' in l and 'unused' in l for l in out), out
    assert len(out) == 7, out
    # one rule at a time
    r = house(root, '--rule', 'size')
    assert r.returncode == 1 and r.stdout.splitlines() == ["mixup_nb/big.py:1: size: 301 lines (at most 300)"]


def test_bad_root(tmp_path):
    r = house(tmp_path)
    assert r.returncode == 2 and '--root must be a project root holding mixup_nb/' in r.stderr


def test_this_project_keeps_the_rules():
    "The checkout itself: no module over 300 lines, no import circle, no private name across modules, no unused import, every export checked."
    r = house(ROOT)
    assert r.returncode == 0, "house rules broken (python tools/house.py):\n" + r.stdout
