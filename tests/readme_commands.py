"""README.md's papermill commands as a user types them: read from its bash blocks, parsed as papermill parses them, and
one of them run as written from a copy of the project (what a fresh clone holds). Shared by conftest (the session's
CIFAR-10 run) and test_readme_commands."""
import os, re, shlex, shutil, subprocess, sys
from pathlib import Path
import yaml
from papermill.cli import _resolve_type

ROOT = Path(__file__).resolve().parents[1]


def tracked() -> list:
    return subprocess.run(['git', 'ls-files'], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()


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


def run_as_written(line: str, proj: Path, extra: str = '') -> subprocess.CompletedProcess:
    "Copy what a fresh clone holds (nbs/, mixup_nb/, settings.ini) to `proj` and run README's `line` there, `extra` appended."
    for f in tracked():
        if f.startswith(('nbs/', 'mixup_nb/')) or f == 'settings.ini':
            (proj / f).parent.mkdir(parents=True, exist_ok=True); shutil.copy(ROOT / f, proj / f)
    env = {**os.environ, 'PYTHONPATH': str(ROOT), 'PYTHONHASHSEED': '0',
           'PATH': os.path.dirname(sys.executable) + os.pathsep + os.environ['PATH']}
    env.pop('MPLBACKEND', None)
    return subprocess.run(line.split('#')[0] + extra, shell=True, cwd=proj, env=env, capture_output=True, text=True, timeout=900)
