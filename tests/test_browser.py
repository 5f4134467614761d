"""The main interface as a researcher uses it: JupyterLab in a real browser (Debian's Chromium driven by Playwright).
Opens nbs/01_mixup.ipynb and nbs/train.ipynb (tiny parameters) in a temporary copy of the project, runs all cells,
and checks that no cell fails, that the run lands in runs/ at the project's top level (never nbs/runs/), and that
the progress shows as a widget, not as text debris. Screenshots go to $MIXUP_NB_SCREENSHOTS (default: the test's
temporary folder)."""
import os, secrets, shutil, socket, subprocess, sys, time, urllib.request
from pathlib import Path
import nbformat
import pytest
from conftest import ROOT, NBS

CHROMIUM = Path('/usr/bin/chromium')     # Debian's; Playwright's own browser download cannot work offline


def ensure_chromium() -> Path:
    if not CHROMIUM.exists():
        subprocess.run('apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium',
                       shell=True, check=True, timeout=1200)
    return CHROMIUM


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


@pytest.fixture(scope='module')
def lab(tmp_path_factory):
    "JupyterLab serving a temporary copy of the project (settings.ini and nbs/; no runs/), stopped by its pid."
    proj = tmp_path_factory.mktemp('project')
    shutil.copy(ROOT / 'settings.ini', proj); shutil.copytree(NBS, proj / 'nbs', ignore=shutil.ignore_patterns('_proc', '.*'))
    port, token = free_port(), secrets.token_hex(16)
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(ROOT), os.environ.get('PYTHONPATH', '')]), 'PYTHONHASHSEED': '0'}
    for k in ('IN_TEST', 'CI', 'MPLBACKEND'): env.pop(k, None)   # the kernel runs as on a researcher's machine
    log = open(proj / 'lab.log', 'w')
    p = subprocess.Popen([sys.executable, '-m', 'jupyterlab', '--no-browser', '--allow-root', '--ip=127.0.0.1', f'--port={port}',
                          f'--IdentityProvider.token={token}', f'--ServerApp.root_dir={proj}', '--LabApp.news_url=',
                          f'--LabApp.workspaces_dir={proj / "workspaces"}',   # not the user's: no tabs restored from other sessions
                          '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate'],
                         cwd=proj, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(240):
            try: urllib.request.urlopen(f'http://127.0.0.1:{port}/api/status?token={token}', timeout=2); break
            except OSError: time.sleep(0.5)
        else: raise AssertionError(f"JupyterLab did not start: {(proj / 'lab.log').read_text()[-2000:]}")
        yield f'http://127.0.0.1:{port}', token, proj
    finally:
        p.terminate()
        try: p.wait(20)
        except subprocess.TimeoutExpired: p.kill(); p.wait()
        log.close()


@pytest.fixture(scope='module')
def browser():
    sync_api = pytest.importorskip('playwright.sync_api', reason='playwright is a dev requirement (settings.ini)')
    exe = ensure_chromium()
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(exe), args=['--no-sandbox', '--disable-gpu'])
        yield b
        b.close()


def open_notebook(browser, lab, name, timeout_s, cell_state='visible'):
    "A new page with nbs/<name> open in JupyterLab and its kernel idle."
    url, token, proj = lab
    page = browser.new_page(viewport={'width': 1400, 'height': 1000})
    page.set_default_timeout(timeout_s * 1000)
    page.goto(f'{url}/lab/tree/nbs/{name}?reset&token={token}')   # reset: no tab restored from an earlier page
    page.wait_for_selector('.jp-NotebookPanel .jp-Cell', state=cell_state)
    page.wait_for_selector('#jp-main-statusbar >> text=Idle')
    return page


def run_all(browser, lab, name, timeout_s=300):
    "Open nbs/<name> in JupyterLab, run all cells, save; return the saved notebook."
    url, token, proj = lab
    page = open_notebook(browser, lab, name, timeout_s)
    page.locator('.lm-MenuBar-item', has_text='Run').first.click()       # Run > Run All Cells
    page.click('li[data-command="runmenu:run-all"]')
    t0 = time.time()
    n = sum(c.cell_type == 'code' for c in nbformat.read(proj / 'nbs' / name, as_version=4).cells)
    while True:           # every code cell has run: its prompt shows a number, none shows [*] (text of cells out of view included)
        prompts = [p.strip() for p in page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt').all_text_contents()]
        if len(prompts) == n and all(p[1:2].isdigit() for p in prompts): break
        if page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output:has-text("Traceback")').count():
            break         # a cell failed: the rest will not run; the saved notebook shows which
        assert time.time() - t0 < timeout_s, f"{name}: cells still running after {timeout_s} s: {prompts}"
        time.sleep(1)
    page.keyboard.press('Control+s'); time.sleep(2)
    shots = Path(os.environ.get('MIXUP_NB_SCREENSHOTS', proj)); shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / f'lab_{Path(name).stem}.png'))      # MIXUP_NB_SCREENSHOTS=DIR keeps them
    page.close()
    return nbformat.read(proj / 'nbs' / name, as_version=4)


def errors(nb):
    return [(c.source[:80], o.get('ename'), o.get('evalue')) for c in nb.cells if c.cell_type == 'code'
            for o in c.get('outputs', []) if o.get('output_type') == 'error']


def test_lab_opens_a_notebook_unmodified(browser, lab):
    "Opening a notebook starts its kernel; JupyterLab then rewrites the kernelspec and language_info if they differ."
    url, token, proj = lab
    page = open_notebook(browser, lab, '00_core.ipynb', 180, cell_state='attached')
    time.sleep(3)
    dirty = page.locator('.lm-TabBar-tab.jp-mod-dirty').count()
    page.keyboard.press('Control+s'); time.sleep(2)
    page.close()
    assert dirty == 0, "JupyterLab marked nbs/00_core.ipynb modified on opening it (python tools/kernel.py check says why)"
    assert (proj / 'nbs' / '00_core.ipynb').read_bytes() == (ROOT / 'nbs' / '00_core.ipynb').read_bytes()


def test_lab_runs_the_mixup_notebook(browser, lab):
    nb = run_all(browser, lab, '01_mixup.ipynb')
    assert not errors(nb), errors(nb)
    assert all(c.execution_count for c in nb.cells if c.cell_type == 'code')


def test_lab_runs_the_template_into_top_level_runs(browser, lab):
    url, token, proj = lab
    tpl = proj / 'nbs' / 'train.ipynb'
    nb = nbformat.read(tpl, as_version=4)
    par = next(c for c in nb.cells if 'parameters' in c.metadata.get('tags', []))
    par.source += "\nseeds = [0]\nepochs = 2   # tiny: a browser test"
    nbformat.write(nb, tpl)
    nb = run_all(browser, lab, 'train.ipynb')
    assert not errors(nb), errors(nb)
    assert (proj / 'runs' / 'DIGITS' / 'metrics.json').is_file() and (proj / 'runs' / 'DIGITS' / 'curves.png').is_file()
    assert not (proj / 'nbs' / 'runs').exists()
    out = [o for c in nb.cells for o in c.get('outputs', [])]
    shown = ''.join(o.get('data', {}).get('text/markdown', '') for o in out)
    assert '**Run folder** `runs/DIGITS`' in shown
    text = ''.join(o.get('text', '') for o in out if o.get('output_type') == 'stream')
    assert text.count(' epoch 2/2 ') == 2 and '%|' not in text and '\r' not in text   # one line per epoch, no text bars
