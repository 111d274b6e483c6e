"""The repository's teaching material is consistent with the library:

- every notebooks/NN_*.py (and exercises/NN_*.py) has its .ipynb pair with the same cells
  (``jupytext --sync`` was run after the last edit);
- no stored .ipynb holds outputs (they are stripped before committing);
- every setting a notebook or exercise reads as ``p.<name>`` exists in every preset of the
  application it passes to ``p = dip.preset("...")`` (a misspelt or removed setting would only
  show when that notebook runs in that preset).
"""
import json
import re
from pathlib import Path

import pytest

import dip_lib as dip

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(ROOT.glob("notebooks/[0-9][0-9]_*.py")) + sorted(ROOT.glob("exercises/[0-9][0-9]_*.py"))
NOTEBOOKS = sorted(ROOT.glob("notebooks/*.ipynb")) + sorted(ROOT.glob("exercises/**/*.ipynb"))
METHODS = {"replace", "describe", "keys", "for_image"}   # methods, not settings (for_image: reproduce only)
APP = re.compile(r"""\bp\s*=\s*dip\.preset\(\s*["']([A-Za-z_0-9]+)["']""")
ATTR = re.compile(r"\bp\.([a-z_0-9]+)")


def _rel(path):
    return str(path.relative_to(ROOT))


def test_there_is_material_to_check():
    assert len([s for s in SOURCES if s.parent.name == "notebooks"]) >= 12
    assert NOTEBOOKS


@pytest.mark.parametrize("source", SOURCES, ids=_rel)
def test_py_and_ipynb_pair_have_the_same_cells(source):
    jupytext = pytest.importorskip("jupytext")
    pair = source.with_suffix(".ipynb")
    assert pair.exists(), f"{_rel(source)} has no .ipynb pair: run jupytext --sync {_rel(source)}"
    py, nb = jupytext.read(source), jupytext.read(pair)
    cells = lambda book, kind: [c.source for c in book.cells if c.cell_type == kind]  # noqa: E731
    for kind in ("code", "markdown"):
        a, b = cells(py, kind), cells(nb, kind)
        diff = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
        assert a == b, (f"{_rel(pair)} is out of date ({kind} cell {diff}: {len(a)} cells in the .py, {len(b)} in "
                        f"the .ipynb): run jupytext --sync {_rel(source)}")


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=_rel)
def test_stored_notebooks_have_no_outputs(notebook):
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    with_output = [i for i, c in enumerate(cells) if c["cell_type"] == "code"
                   and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not with_output, f"{_rel(notebook)} stores outputs in cells {with_output}: strip them"


@pytest.mark.parametrize("source", SOURCES, ids=_rel)
def test_every_setting_a_notebook_reads_exists_in_every_preset(source):
    text = source.read_text(encoding="utf-8")
    apps = sorted(set(APP.findall(text)))
    names = sorted(set(ATTR.findall(text)))
    if not names:
        return
    assert apps, f"{_rel(source)} reads p.{names[0]} but never sets p = dip.preset('...')"
    missing = []
    for app in apps:
        assert app in dip.APPLICATIONS, f"{_rel(source)}: dip.preset({app!r}) is not an application"
        for name in dip.PRESETS:
            s = dip.preset(app, name)
            valid = set(s.keys()) | {m for m in METHODS if callable(getattr(s, m, None))}
            missing += [f"p.{k} ({app}, preset {name})" for k in names if k not in valid]
    assert not missing, f"{_rel(source)} reads settings that do not exist: {', '.join(missing)}"


# --- what Binder, Colab and CI install -----------------------------------------------------------------

# what requirements-dev.txt may add to requirements.txt: test runners and what only tests use (dask: the
# reproduce tests on a real dask cluster)
TEST_TOOLS = {"pytest", "pytest-xdist", "nbval", "jupytext", "jupyterlab", "ipykernel", "nbformat", "nbconvert", "dask"}


def _requirement_names(path):
    names, includes = set(), []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line.startswith("-r"):
            includes.append(line[2:].strip())
        elif line and not line.startswith("-"):
            names.add(re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0].lower())
    return names, includes


def test_binder_pins_python_and_installs_the_runtime_requirements():
    runtime = (ROOT / "binder" / "runtime.txt").read_text(encoding="utf-8").strip()
    m = re.fullmatch(r"python-3\.(\d+)", runtime)
    assert m and int(m.group(1)) >= 11, f"binder/runtime.txt must pin python-3.11 or later, not {runtime!r}"
    names, includes = _requirement_names(ROOT / "binder" / "requirements.txt")
    assert includes == ["../requirements.txt"], "Binder must install exactly requirements.txt (plus torch, jupytext)"
    assert names <= {"torch", "jupytext"}, names
    torch_pin = re.search(r"^TORCH \?= (\S+)", (ROOT / "Makefile").read_text(encoding="utf-8"), re.M).group(1)
    assert torch_pin + "+cpu" in (ROOT / "binder" / "requirements.txt").read_text(), \
        f"Binder's torch must be the CPU build of the version CI pins ({torch_pin})"


def test_ci_environment_is_binders_plus_test_tools():
    """CI (make test) installs requirements-dev.txt: requirements.txt, what Binder and the Colab cell install,
    plus test tools only; optional extras (bm3d) are installed apart (make test-extras)."""
    names, includes = _requirement_names(ROOT / "requirements-dev.txt")
    assert includes == ["requirements.txt"]
    assert names <= TEST_TOOLS, f"requirements-dev.txt adds more than test tools: {sorted(names - TEST_TOOLS)}"
    setup = re.search(r"^\$\(VENV\)/\.installed:.*?(?=^\S)", (ROOT / "Makefile").read_text(encoding="utf-8"),
                      re.M | re.S).group(0)
    assert "bm3d" not in setup, "the set-up of make test must not install optional extras"


def test_runtime_requirements_are_declared_in_both_places():
    """requirements.txt (Binder, Colab) and pyproject's dependencies (pip install dip_lib) name the same
    packages; scikit-image's wavelet noise estimate, which dip_lib uses, needs PyWavelets."""
    names, _ = _requirement_names(ROOT / "requirements.txt")
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    deps = {re.split(r"[<>=!~\[; ]", d, maxsplit=1)[0].lower() for d in project["dependencies"]}
    assert names == deps, f"only in requirements.txt: {sorted(names - deps)}; only in pyproject: {sorted(deps - names)}"
    uses_wavelets = any("estimate_sigma" in p.read_text(encoding="utf-8") or "denoise_wavelet" in p.read_text(encoding="utf-8")
                        for p in (ROOT / "dip_lib").rglob("*.py"))
    assert not uses_wavelets or "pywavelets" in names, "scikit-image's estimate_sigma imports pywt: declare PyWavelets"
