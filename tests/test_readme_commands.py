"""README's papermill commands, as written: each names a template that exists, only parameters that template has, with
values of the type its parameters cell declares (as papermill parses `-p` and `-y`), and writes into a folder that
exists on a fresh clone or that the same line creates first (papermill does not create it). One of them, the CIFAR-10
command, runs as written from a copy of the project on a small CIFAR-10 tree, with tiny epochs appended."""
import ast, os, re
import pytest
from pathlib import PurePosixPath
from papermill import inspect_notebook
import nbformat
from conftest import ROOT
from readme_commands import tracked, readme_commands, parse_args

TRACKED = set(tracked())
TRACKED_DIRS = {str(p) for f in TRACKED for p in PurePosixPath(f).parents}


def fits(value, typ: str) -> bool:
    "Does `value` fit papermill's inferred type name, e.g. 'Optional[list[float]]'?"
    m = re.fullmatch(r'Optional\[(.*)\]', typ)
    if m: return value is None or fits(value, m.group(1))
    m = re.fullmatch(r'dict\[str, (.*)\]', typ)
    if m: return isinstance(value, dict) and all(isinstance(k, str) and fits(v, m.group(1)) for k, v in value.items())
    m = re.fullmatch(r'list\[(.*)\]', typ)
    if m: return isinstance(value, list) and all(fits(v, m.group(1)) for v in value)
    kinds = {'str': str, 'bool': bool, 'int': int, 'float': (int, float)}
    return isinstance(value, kinds[typ]) and (typ == 'bool' or not isinstance(value, bool))


COMMANDS = readme_commands()
SIMPLE = r'(Optional\[)?(list\[|dict\[str, (list\[)?)?(str|bool|int|float)\]?\]?\]?'
TEMPLATES = sorted(p.name for p in (ROOT / 'nbs').glob('*.ipynb')
                   if any('parameters' in c.metadata.get('tags', []) for c in nbformat.read(p, as_version=4).cells))


@pytest.mark.parametrize('name', TEMPLATES)
def test_every_template_parameter_is_typed(name):
    "papermill --help-notebook shows a type for every assignment in the parameters cell (a second '=' on a line hides it)."
    cell = next(c for c in nbformat.read(ROOT / 'nbs' / name, as_version=4).cells if 'parameters' in c.metadata.get('tags', []))
    assigned = [t.id for n in ast.parse(cell.source).body if isinstance(n, (ast.Assign, ast.AnnAssign))
                for t in (n.targets if isinstance(n, ast.Assign) else [n.target])]
    declared = {k: p['inferred_type_name'] for k, p in inspect_notebook(str(ROOT / 'nbs' / name)).items()}
    assert list(declared) == assigned, f"{name}: papermill cannot read {sorted(set(assigned) - set(declared))}"
    untyped = {k: t for k, t in declared.items() if not re.fullmatch(SIMPLE, t)}
    assert not untyped, f"{name}: parameters without a simple type annotation: {untyped}"


def test_readme_has_the_commands():
    templates = {parse_args(a)[0] for _, _, a in COMMANDS}
    assert {'nbs/train.ipynb', 'nbs/paper.ipynb', 'nbs/ablation.ipynb', 'nbs/memorization.ipynb'} <= templates, templates


@pytest.mark.parametrize('line,made,argv', COMMANDS, ids=[f"line{i}" for i in range(len(COMMANDS))])
def test_readme_command_is_valid(line, made, argv):
    template, output, params = parse_args(argv)
    assert template in TRACKED, f"{line}: {template} is not in the repository"
    folder = os.path.dirname(output)
    assert folder == '' or folder in TRACKED_DIRS or folder in made, \
        f"{line}: papermill does not create {folder}/ and a fresh clone has none: start the line with mkdir -p {folder}"
    declared = {k: p['inferred_type_name'] for k, p in inspect_notebook(str(ROOT / template)).items()}
    for name, value in params.items():
        assert name in declared, f"{line}: {template} has no parameter {name!r} (it has {', '.join(declared)})"
        assert re.fullmatch(SIMPLE, declared[name]), \
            f"{line}: {template}'s parameter {name} is typed {declared[name]!r}: annotate it (papermill --help-notebook shows it)"
        assert fits(value, declared[name]), f"{line}: {name}={value!r} is not a {declared[name]}"


def test_cifar10_command_runs_as_written(cifar10_report):
    "The session's CIFAR-10 run is README's line run as written from a copy of the project: the run lands in runs/ there."
    clone = cifar10_report / 'clone'
    assert (clone / 'runs' / 'CIFAR10' / 'metrics.json').is_file() and (clone / 'runs' / 'CIFAR10' / 'report.ipynb').is_file()
    assert not (clone / 'nbs' / 'runs').exists()
