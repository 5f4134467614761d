"""Notebooks that open unmodified in JupyterLab.

JupyterLab writes two things into a notebook's metadata when its kernel starts: the kernelspec (name, display name,
language) and the kernel's `language_info`. If either differs from what the file holds, the notebook is marked
modified the moment it opens, and saving it changes the committed file. `nbdev_clean` always stores the kernelspec's
display name as its name ("python3"), so the project's kernel is installed under that display name, and every
notebook carries the `language_info` this environment's kernel reports (kept by `nbdev_clean` through
`allowed_metadata_keys = language_info` in settings.ini).

    python tools/kernel.py install   # the project's kernel, display name "python3", into this environment (tools/env.sh does it)
    python tools/kernel.py stamp     # write the kernel's language_info into every notebook under nbs/
    python tools/kernel.py check     # exit 1 naming each notebook whose metadata JupyterLab would change

`language_info` holds the interpreter's version: with another Python than the one the notebooks were stamped with,
notebooks open modified until `stamp` is run (and then differ from the committed ones).
"""
import json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAME = 'python3'
KERNELSPEC = {'display_name': NAME, 'language': 'python', 'name': NAME}


def install() -> Path:
    "Install this interpreter's IPython kernel as `python3` with display name `python3` into sys.prefix."
    from ipykernel.kernelspec import install as _install
    return Path(_install(kernel_name=NAME, display_name=NAME, prefix=sys.prefix))


def installed_display_name() -> str | None:
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    try: return KernelSpecManager().get_kernel_spec(NAME).display_name
    except NoSuchKernel: return None


def language_info() -> dict:
    "The `language_info` the kernel reports to JupyterLab (its kernel_info reply), asked of a real kernel."
    from jupyter_client.manager import start_new_kernel
    km, kc = start_new_kernel(kernel_name=NAME)
    try: return kc.kernel_info(reply=True, timeout=60)['content']['language_info']
    finally:
        kc.stop_channels(); km.shutdown_kernel(now=True)


def notebooks() -> list:
    return sorted(p for p in (ROOT / 'nbs').glob('*.ipynb') if not p.name.startswith('.'))


def expected(info: dict) -> dict:
    return {'kernelspec': KERNELSPEC, 'language_info': info}


def stamp(info: dict | None = None) -> list:
    "Write the kernelspec and `language_info` into each notebook whose metadata differs; return the changed paths."
    from execnb.nbio import nb2str
    from mixup_nb.core import atomic_write_text
    info, changed = info or language_info(), []
    for p in notebooks():
        nb = json.loads(p.read_text(encoding='utf-8'))
        want = {**nb.get('metadata', {}), **expected(info)}
        if nb.get('metadata') == want: continue
        nb['metadata'] = want
        atomic_write_text(p, nb2str(nb))              # nbdev's own layout, so nbdev_clean leaves it as it is
        changed.append(p)
    return changed


def mismatches(info: dict | None = None) -> list:
    "One line per notebook whose kernelspec or language_info JupyterLab would rewrite on opening it."
    info, out = info or language_info(), []
    for p in notebooks():
        md = json.loads(p.read_text(encoding='utf-8')).get('metadata', {})
        for k, v in expected(info).items():
            if md.get(k) != v: out.append(f"{p.relative_to(ROOT)}: metadata {k} is {md.get(k)!r}, the kernel gives {v!r}")
    return out


def main(argv=None) -> int:
    cmd = (argv or sys.argv[1:] or ['check'])[0]
    if cmd == 'install': print(f"kernel {NAME!r} installed in {install()}"); return 0
    if cmd == 'stamp':
        for p in stamp(): print(f"stamped {p.relative_to(ROOT)}")
        return 0
    if cmd == 'check':
        bad = mismatches()
        if installed_display_name() != NAME: bad.insert(0, f"the installed kernel {NAME!r} is shown as {installed_display_name()!r}, not {NAME!r}: run python tools/kernel.py install")
        print('\n'.join(bad) or 'every notebook opens unmodified')
        return 1 if bad else 0
    print(f"unknown command {cmd!r}: use install, stamp or check", file=sys.stderr); return 2


if __name__ == '__main__': sys.exit(main())
