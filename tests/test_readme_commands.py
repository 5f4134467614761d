"""README's papermill commands, as written: each names a template that exists, only parameters that template has, with
values of the type its parameters cell declares (as papermill parses `-p` and `-y`), and writes into a folder that
exists on a fresh clone or that the same line creates first (papermill does not create it). One of them, the CIFAR-10
command, runs as written from a copy of the project on a small CIFAR-10 tree, with tiny epochs appended."""
import ast, os, re, shlex, shutil, subprocess, sys
import pytest, yaml
from papermill.cli import _resolve_type
from papermill import inspect_notebook
import nbformat
from conftest import ROOT
from datatrees import write_cifar10

TRACKED = set(subprocess.run(['git', 'ls-files'], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split())
TRACKED_DIRS = {str(p) for f in TRACKED for p in __import__('pathlib').PurePosixPath(f).parents}


def readme_commands() -> list:
    "Every `papermill` command in README.md's bash blocks: (line, the `mkdir -p` folders before it on that line, argv)."
    text, out = (ROOT / 'README.md').read_text(), []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.splitlines():
            made = []
            for part in line.split('&&'):
                argv = shlex.split(part, comments=True)
                if argv[:2] == ['mkdir', '-p']: made += argv[2:]
                elif argv[:1] == ['papermill'] and '--help-notebook' not in argv: out.append((line.strip(), made, argv))
    return out


def parse_args(argv) -> tuple:
    "papermill's own reading of the command: (template, output, {name: value})."
    pos, params, i = [], {}, 1
    while i < len(argv):
        a = argv[i]
        if a in ('-p', '--parameters'): params[argv[i + 1]] = _resolve_type(argv[i + 2]); i += 3
        elif a in ('-y', '--parameters_yaml'): params.update(yaml.safe_load(argv[i + 1])); i += 2
        elif a.startswith('-'): raise AssertionError(f"unexpected papermill option {a}")
        else: pos.append(a); i += 1
    return pos[0], pos[1], params


def fits(value, typ: str) -> bool:
    "Does `value` fit papermill's inferred type name, e.g. 'Optional[list[float]]'?"
    m = re.fullmatch(r'Optional\[(.*)\]', typ)
    if m: return value is None or fits(value, m.group(1))
    m = re.fullmatch(r'list\[(.*)\]', typ)
    if m: return isinstance(value, list) and all(fits(v, m.group(1)) for v in value)
    kinds = {'str': str, 'bool': bool, 'int': int, 'float': (int, float)}
    return isinstance(value, kinds[typ]) and (typ == 'bool' or not isinstance(value, bool))


COMMANDS = readme_commands()
SIMPLE = r'(Optional\[)?(list\[)?(str|bool|int|float)\]?\]?'
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


def test_cifar10_command_runs_as_written(tmp_path):
    "From a copy of the project (what a fresh clone holds), the README's CIFAR-10 line, with tiny settings appended."
    line = next(l for l, _, a in COMMANDS if l.startswith('mkdir -p runs/CIFAR10 ') and '-p dataset CIFAR10' in l)
    proj = tmp_path / 'clone'
    for f in TRACKED:
        if f.startswith(('nbs/', 'mixup_nb/')) or f == 'settings.ini':
            (proj / f).parent.mkdir(parents=True, exist_ok=True); shutil.copy(ROOT / f, proj / f)
    write_cifar10(tmp_path / 'data', n_train=40, n_test=20)
    tiny = f" -p epochs 1 -y 'seeds: [0]' -p data_root {tmp_path / 'data'} -p download False -p verify False"
    env = {**os.environ, 'PYTHONPATH': str(ROOT), 'PATH': os.path.dirname(sys.executable) + os.pathsep + os.environ['PATH']}
    r = subprocess.run(line.split('#')[0] + tiny, shell=True, cwd=proj, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert (proj / 'runs' / 'CIFAR10' / 'metrics.json').is_file() and (proj / 'runs' / 'CIFAR10' / 'report.ipynb').is_file()
    assert not (proj / 'nbs' / 'runs').exists()
