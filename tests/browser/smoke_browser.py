"""Browser smoke test (``make browser-test``; not part of ``make test``): the course as a newcomer
sees it, in JupyterLab driven by headless Chromium through playwright.

- ``make course`` starts JupyterLab (on 127.0.0.1, a free port, a token) at the repository root and
  asks the browser to open ``notebooks/00_tour.ipynb``: the test opens exactly that address;
- notebook 00 runs to the end (``DIP_PRESET=test``) and its live view redraws in the page (at least
  two distinct images during the fit);
- notebook 11 runs to the end; then, in the ablation panel, moving the "iterations" slider and pressing
  "fit" refits: the panel's live image redraws during the fit and the results table gets a new row.

Screenshots go to ``build/browser/``. Needs Chromium (``CHROMIUM``, default /usr/bin/chromium) and the
``playwright`` package (never ``playwright install``: it drives the system's browser).
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build" / "browser"
RUN_TIMEOUT = float(os.environ.get("DIP_BROWSER_TIMEOUT", 600))   # seconds per notebook

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (make browser-test does)")


def _chromium() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path or not Path(path).exists():
        pytest.fail("no Chromium found: apt-get install chromium (or set CHROMIUM=/path/to/chrome)")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _api(base: str, token: str, path: str, method: str = "GET"):
    req = urllib.request.Request(f"{base}{path}", method=method, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        body = r.read()
    return json.loads(body) if body else None


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """``make course`` on 127.0.0.1 with a token; yields (base URL, token, the URL it asked the browser to open)."""
    tmp = tmp_path_factory.mktemp("lab")
    port, token = _free_port(), secrets.token_hex(16)
    url_file = tmp / "open-url.txt"
    browser = f"{sys.executable} {Path(__file__).with_name('record_url.py')} {url_file} %s"
    settings = tmp / "settings"          # never save the notebooks (they are stored without outputs), no news
    for plugin, values in {"docmanager-extension/plugin": {"autosave": False},
                           "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False}}.items():
        path = settings / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    args = (f"--ip=127.0.0.1 --port={port} --port-retries=0 --IdentityProvider.token={token} "
            f"--expose-app-in-browser --LabApp.workspaces_dir={tmp / 'workspaces'} "
            f"--LabApp.user_settings_dir={settings} --ServerApp.browser='{browser}'")
    env = dict(os.environ, DIP_PRESET="test", DIP_DEVICE="cpu", JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
               OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))   # as make test runs the notebooks
    env.pop("MPLBACKEND", None)          # the kernel's inline backend, as a user gets it
    log = open(tmp / "lab.log", "w")
    # -o: the set-up was just made by `make browser-test`; do not reinstall while the lab starts
    proc = subprocess.Popen(["make", "--no-print-directory", "-o", ".venv/.installed", "course",
                             f"JUPYTER_ARGS={args}"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 180
        while True:
            if proc.poll() is not None:
                pytest.fail(f"make course exited with {proc.returncode}:\n{(tmp / 'lab.log').read_text()[-3000:]}")
            try:
                _api(base, token, "/api/status")
                if url_file.exists() and url_file.read_text().strip():
                    break
            except OSError:
                pass
            if time.time() > deadline:
                pytest.fail(f"JupyterLab did not start in 180 s:\n{(tmp / 'lab.log').read_text()[-3000:]}")
            time.sleep(0.5)
        opened = url_file.read_text().strip()
        if opened.startswith("file:"):     # the redirect page JupyterLab writes for the browser
            page = Path(urllib.request.url2pathname(opened[len("file:"):])).read_text()
            opened = re.search(r'href="(http[^"]+)"', page).group(1).replace("&amp;", "&")
        yield base, token, opened
    finally:
        try:
            for s in _api(base, token, "/api/sessions") or []:
                _api(base, token, f"/api/sessions/{s['id']}", method="DELETE")
            _api(base, token, "/api/shutdown", method="POST")
            proc.wait(timeout=30)
        except Exception:
            pass
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        log.close()


NOTEBOOKS = [ROOT / "notebooks" / f"{name}.{ext}" for name in ("00_tour", "11_architecture_ablations")
             for ext in ("ipynb", "py")]


@pytest.fixture(scope="module", autouse=True)
def saves_nothing():
    """The notebooks on disk are the same after the test: the browser ran them, it saved nothing."""
    before = {p: p.read_bytes() for p in NOTEBOOKS}
    yield
    changed = [p.name for p in NOTEBOOKS if p.read_bytes() != before[p]]
    assert not changed, f"the browser test changed {changed}: strip them (python tools/course.py strip)"


@pytest.fixture(scope="module")
def page(lab):
    BUILD.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_chromium(), headless=True,
                                     args=["--no-sandbox", "--disable-dev-shm-usage"])
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        pg = context.new_page()
        pg.set_default_timeout(60_000)
        yield pg
        context.close()
        browser.close()


# --- JupyterLab through its application object (--expose-app-in-browser) ----------------------------

_STATE = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  if (!w || !w.content || !w.sessionContext || !w.context || !w.context.isReady) return null;
  const cells = w.content.widgets.filter(c => c.model.type === 'code');
  const kernel = w.sessionContext.session && w.sessionContext.session.kernel;
  const errors = [];
  cells.forEach((c, i) => c.model.outputs.toJSON().forEach(o => {
    if (o.output_type === 'error') errors.push(`code cell ${i}: ${o.ename}: ${o.evalue}`); }));
  return {path: w.context.path, kernel: kernel ? kernel.status : 'none', cells: cells.length,
          done: cells.filter(c => c.model.executionCount !== null).length, errors};
}"""

_WATCH = """(needle) => {
  // record every distinct <img> source in the code cells whose source contains `needle`
  const w = window.jupyterapp.shell.currentWidget;
  window.__renders = window.__renders || {};
  const cells = w.content.widgets.filter(c => c.model.type === 'code' && c.model.sharedModel.getSource().includes(needle));
  const seen = window.__renders[needle] = [];
  for (const cell of cells) {
    const record = () => cell.node.querySelectorAll('img').forEach((im, k) => {
      if (im.src && !seen.some(s => s.k === k && s.src === im.src)) seen.push({k, src: im.src, t: Date.now()}); });
    new MutationObserver(record).observe(cell.node, {subtree: true, childList: true, attributes: true,
                                                     attributeFilter: ['src']});
  }
  return cells.length;
}"""


def _open_and_wait(page, url: str, path: str):
    page.goto(url)
    page.wait_for_function(f"() => {{ const s = ({_STATE})(); return s && s.path === {json.dumps(path)} "
                           f"&& s.kernel === 'idle'; }}", timeout=180_000)


def _run_all(page, name: str) -> dict:
    # not awaited (its promise settles only at the end): poll, report progress, stop at the first error
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); return true; }")
    start, state, said = time.time(), None, 0.0
    while time.time() - start < RUN_TIMEOUT:
        time.sleep(1.0)
        state = page.evaluate(_STATE)
        if time.time() - said > 30:
            said = time.time()
            print(f"{name}: {state['done']}/{state['cells']} code cells run, kernel {state['kernel']}, "
                  f"{time.time() - start:.0f} s", flush=True)
        if state["errors"]:
            page.screenshot(path=str(BUILD / f"{name}_error.png"))
            pytest.fail(f"{name}: a cell failed in the browser: {state['errors'][0]}")
        if state["done"] == state["cells"] and state["kernel"] == "idle":
            return state
    page.screenshot(path=str(BUILD / f"{name}_timeout.png"))
    pytest.fail(f"{name}: not finished after {RUN_TIMEOUT:.0f} s: {state}")


def _scroll_to(page, needle: str):
    page.evaluate("""(needle) => { const w = window.jupyterapp.shell.currentWidget;
      const i = w.content.widgets.findIndex(c => c.model.sharedModel.getSource().includes(needle));
      w.content.activeCellIndex = i; w.content.scrollToItem(i, 'start'); }""", needle)
    time.sleep(1.0)


def test_make_course_opens_the_tour_and_its_live_view_redraws(lab, page):
    base, token, opened = lab
    assert opened.startswith(base) and "/lab/tree/notebooks/00_tour.ipynb" in opened, opened
    _open_and_wait(page, opened, "notebooks/00_tour.ipynb")
    page.screenshot(path=str(BUILD / "00_opened_by_make_course.png"))
    # the file browser shows the repository root (notebooks/, exercises/, docs/), not notebooks/ alone
    listing = _api(base, token, "/api/contents/")["content"]
    assert {"notebooks", "exercises", "docs"} <= {e["name"] for e in listing}
    assert page.evaluate(f"() => ({_WATCH})('dip.LiveView(')") == 1
    _run_all(page, "00_tour")
    renders = page.evaluate("() => window.__renders['dip.LiveView(']")
    _scroll_to(page, "dip.LiveView(")
    page.screenshot(path=str(BUILD / "00_live_view.png"))
    assert len(renders) >= 2, f"the live view drew {len(renders)} image(s) in the page; expected a redraw"


def test_ablation_panel_refits_in_the_browser(lab, page):
    base, token, _ = lab
    for s in _api(base, token, "/api/sessions") or []:      # one kernel at a time on a small machine
        _api(base, token, f"/api/sessions/{s['id']}", method="DELETE")
    _open_and_wait(page, f"{base}/lab/tree/notebooks/11_architecture_ablations.ipynb?token={token}",
                   "notebooks/11_architecture_ablations.ipynb")
    _run_all(page, "11_ablations")
    _scroll_to(page, "AblationPanel(p")
    slider = page.locator(".widget-slider", has=page.locator(".widget-label", has_text="iterations")).first
    slider.scroll_into_view_if_needed()
    rows = page.locator(".jp-OutputArea .widget-html table tbody tr")
    assert rows.count() == 1, "the panel should show its (cached) baseline row"
    page.screenshot(path=str(BUILD / "11_panel_before.png"))
    before = slider.locator(".widget-readout").inner_text()
    slider.locator(".noUi-handle").first.focus()
    page.keyboard.press("ArrowLeft")                         # one slider step fewer iterations
    page.wait_for_timeout(500)
    after = slider.locator(".widget-readout").inner_text()
    assert after != before, f"the iterations slider did not move ({before})"
    assert page.evaluate(f"() => ({_WATCH})('AblationPanel(p')") == 1
    page.locator("button.widget-button", has_text=re.compile(r"^\s*fit\s*$")).first.click()
    page.wait_for_function("() => document.querySelectorAll('.jp-OutputArea .widget-html table tbody tr').length >= 2",
                           timeout=RUN_TIMEOUT * 1000)
    page.wait_for_timeout(1500)                              # the last redraw of the plot
    renders = page.evaluate("() => window.__renders['AblationPanel(p']")
    page.locator(".jp-OutputArea .widget-image").first.scroll_into_view_if_needed()
    page.screenshot(path=str(BUILD / "11_panel_after.png"))
    status = page.locator(".widget-html", has_text="PSNR").first.inner_text()
    assert "done" in status and "cached" not in status, status
    assert rows.count() == 2
    live = [r for r in renders if r["k"] == 0]               # the panel's first image: the live view
    assert len(live) >= 2, f"the panel's live view drew {len(live)} image(s) during the fit; expected a redraw"
