"""Repository tooling (tools/): the exercise builder and the gallery index. The exercise builder: student versions of the exercises are generated from one source of truth."""
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tools import course, gallery

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = ROOT / "exercises"

SOURCE = '''# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Exercise: add two numbers

# %%
a, b = 2, 3

# %% tags=["solution"]
total = a + b

# %% [markdown] tags=["solution"]
# *Solution.* Addition.

# %%
assert total == 5
'''


def test_committed_exercises_are_up_to_date():
    """What CI checks: `python tools/course.py check-exercises` passes on the repository."""
    problems = course.check_exercises(EXERCISES)
    assert not problems, "\n".join(problems) + "\nrun: python tools/course.py build-exercises"


def test_there_are_at_least_five_exercises_with_solutions():
    sources = course.exercise_sources(EXERCISES)
    assert len(sources) >= 5
    for src in sources:
        nb = course.solution_notebook(src)
        assert any("solution" in c.metadata.get("tags", []) for c in nb.cells), src
        assert any(c.cell_type == "code" and ("assert" in c.source or "dip.check(" in c.source) for c in nb.cells), \
            f"{src} has no check cell"


def test_student_version_replaces_solutions(tmp_path):
    (tmp_path / "ex.py").write_text(SOURCE)
    written = course.build_exercises(tmp_path, verbose=False)
    assert {p.relative_to(tmp_path).as_posix() for p in written} == {"ex.ipynb", "student/ex.ipynb"}
    student = nbformat.read(tmp_path / "student" / "ex.ipynb", as_version=4)
    sources = [c.source for c in student.cells]
    assert "total = a + b" not in "\n".join(sources) and "Addition" not in "\n".join(sources)
    assert course.STUDENT_CODE in sources and course.STUDENT_MARKDOWN in sources
    assert "a, b = 2, 3" in sources and "assert total == 5" in sources     # the rest is kept
    assert student.metadata["jupytext"]["formats"] == "ipynb"
    solution = nbformat.read(tmp_path / "ex.ipynb", as_version=4)
    assert "total = a + b" in [c.source for c in solution.cells]
    assert all(c.outputs == [] for c in solution.cells if c.cell_type == "code")
    nbformat.validate(student)
    nbformat.validate(solution)
    # building again writes nothing: the output is deterministic
    assert course.build_exercises(tmp_path, verbose=False) == []
    assert course.check_exercises(tmp_path) == []


def test_check_reports_stale_missing_and_untagged(tmp_path):
    (tmp_path / "ex.py").write_text(SOURCE)
    course.build_exercises(tmp_path, verbose=False)
    (tmp_path / "ex.py").write_text(SOURCE.replace("a, b = 2, 3", "a, b = 1, 4"))
    problems = course.check_exercises(tmp_path)
    assert len(problems) == 2 and all("out of date" in p for p in problems)
    (tmp_path / "student" / "ex.ipynb").unlink()
    assert any("student/ex.ipynb is missing" in p for p in course.check_exercises(tmp_path))
    (tmp_path / "ex.py").write_text(SOURCE.replace('tags=["solution"]', ""))
    assert any("no cell tagged 'solution'" in p for p in course.check_exercises(tmp_path))


def test_command_line_exit_codes(tmp_path):
    shutil.copy(EXERCISES / "02_prior_samples_without_skips.py", tmp_path / "02.py")
    cmd = [sys.executable, str(ROOT / "tools" / "course.py")]
    bad = subprocess.run(cmd + ["check-exercises", "--source", str(tmp_path)], capture_output=True, text=True)
    assert bad.returncode == 1 and "build-exercises" in bad.stderr and "missing" in bad.stderr
    ok = subprocess.run(cmd + ["build-exercises", "--source", str(tmp_path)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    good = subprocess.run(cmd + ["check-exercises", "--source", str(tmp_path)], capture_output=True, text=True)
    assert good.returncode == 0 and "up to date" in good.stdout


def test_strip_empties_outputs(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    nb.cells[0].outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=1)]
    nb.cells[0].execution_count = 1
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, path)
    assert course.strip_outputs([path]) == [path]
    again = nbformat.read(path, as_version=4)
    assert again.cells[0].outputs == [] and again.cells[0].execution_count is None
    assert course.strip_outputs([path]) == []


def test_gallery_index_lists_every_figure(tmp_path, capsys):
    from PIL import Image
    for name in ("03_denoising", "05_super_resolution"):
        Image.new("RGB", (4, 4)).save(tmp_path / f"{name}.png")
    assert gallery.main(["--index-only", "--out", str(tmp_path)]) == 0
    index = (tmp_path / "README.md").read_text()
    assert "![03_denoising](03_denoising.png)" in index and "![05_super_resolution](05_super_resolution.png)" in index


# --- Colab and Binder: badges and the install cell, generated from one repository URL -----------------

def _mini_repo(tmp_path, url="https://github.com/someone/kit", version="1.2.3"):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "dip_lib"\nversion = "{version}"\n\n'
                                             f'[project.urls]\nRepository = "{url}"\n')
    (tmp_path / "requirements.txt").write_text("# comment\ntorch\nnumpy>=1.24\nscikit-image>=0.22\nPyWavelets>=1.4\n")
    (tmp_path / "README.md").write_text(
        "# kit\n[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](old)\n"
        "[![Binder](https://mybinder.org/badge_logo.svg)](old)\n")
    (tmp_path / "notebooks" / "00_x.py").write_text(
        "# %% [markdown]\n# # 00\n# [![Open In Colab](https://x)](https://y)\n# [![Binder](https://x)](https://y)\n\n"
        "# %%\n# Setup: on Colab, old words\nimport sys\nif 0:\n    subprocess.run([sys.executable, \"-m\", \"pip\",\n"
        "                    \"dip_lib\"], check=True)\nimport matplotlib.pyplot as plt\nimport dip_lib as dip\np = 1\n")
    return tmp_path


def test_colab_cell_and_badges_come_from_the_repository_url(tmp_path):
    root = _mini_repo(tmp_path)
    assert course.check_colab(root) == ["notebooks/00_x.py: the Colab/Binder badges or the Colab install cell are "
                                        "out of date", "README.md: the Colab/Binder badges or the Colab install "
                                        "cell are out of date"]
    assert len(course.write_colab(root, sync=False)) == 2 and course.check_colab(root) == []
    text = (root / "notebooks" / "00_x.py").read_text()
    assert "blob/v1.2.3/notebooks/00_x.ipynb" in text and "gh/someone/kit/v1.2.3?labpath=notebooks%2F00_x.ipynb" in text
    assert 'KIT = "dip_lib @ git+https://github.com/someone/kit@v1.2.3"' in text and "old words" not in text
    assert text.endswith("check=True)\nimport matplotlib.pyplot as plt\nimport dip_lib as dip\np = 1\n")  # the rest is kept
    cell = course.colab_cell(root)
    assert '"--no-deps"' in cell and '("pywt", "PyWavelets>=1.4")' in cell and '("skimage", "scikit-image>=0.22")' in cell
    assert '"torch' not in cell                                         # never touches Colab's torch
    compile(cell, "cell", "exec")
    readme = (root / "README.md").read_text()
    assert "blob/v1.2.3/notebooks/00_tour.ipynb" in readme and "(old)" not in readme
    (root / "pyproject.toml").write_text((root / "pyproject.toml").read_text().replace("someone/kit", "other/kit"))
    assert len(course.check_colab(root)) == 2                          # one variable moves every badge


def test_colab_cell_runs_only_on_colab_and_installs_only_what_is_missing(tmp_path, monkeypatch):
    import importlib.util
    calls = []
    monkeypatch.setitem(sys.modules, "google.colab", type(sys)("google.colab"))
    monkeypatch.setattr(subprocess, "run", lambda cmd, check: calls.append(cmd))
    present = {"numpy", "skimage"}
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: object() if name in present else None)
    exec(course.colab_cell(_mini_repo(tmp_path)), {})
    assert calls == [[sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                      "dip_lib @ git+https://github.com/someone/kit@v1.2.3", "PyWavelets>=1.4"]]
    present |= {"dip_lib", "pywt"}
    exec(course.colab_cell(tmp_path), {})
    assert len(calls) == 1                                              # nothing missing: no pip at all


def test_colab_refuses_a_branch_and_a_non_github_url(tmp_path, monkeypatch):
    root = _mini_repo(tmp_path)
    monkeypatch.setattr(course, "KIT_REF", "main")
    with pytest.raises(ValueError, match="tag or a commit"):
        course.kit_ref(root)
    (tmp_path / "b").mkdir()
    root = _mini_repo(tmp_path / "b", url="https://example.org/kit")
    with pytest.raises(ValueError, match="github.com"):
        course.repository_url(root)


def test_exercises_get_the_same_colab_cell_without_badges(tmp_path):
    root = _mini_repo(tmp_path)
    course.write_colab(root, sync=False)
    (root / "exercises").mkdir()
    ex = root / "exercises" / "03_x.py"
    ex.write_text("# ---\n# jupyter:\n#   jupytext:\n#     formats: ipynb,py:percent\n# ---\n\n# %%\n"
                  "# Setup: on Colab, install the kit once\nimport sys\nif 0:\n    subprocess.run([sys.executable, "
                  "\"-m\", \"pip\", \"install\", \"dip_lib @ git+https://github.com/someone/kit\"], check=True)\n"
                  "import dip_lib as dip\n")
    assert course.check_colab(root) == ["exercises/03_x.py: the Colab/Binder badges or the Colab install cell are "
                                        "out of date"]
    assert course.write_colab(root, sync=False) == [ex] and course.check_colab(root) == []
    text = ex.read_text()
    assert 'KIT = "dip_lib @ git+https://github.com/someone/kit@v1.2.3"' in text and '"--no-deps"' in text
    assert "colab-badge" not in text and text.endswith("check=True)\nimport dip_lib as dip\n")


def test_committed_notebooks_have_the_generated_badges_and_colab_cell():
    assert course.check_colab(ROOT) == [], "run: python tools/course.py colab"
    assert "/main/" not in (ROOT / "notebooks" / "00_tour.py").read_text(encoding="utf-8").split("# %%")[1]


def test_colab_command_line(tmp_path, monkeypatch):
    root = _mini_repo(tmp_path)
    monkeypatch.chdir(root)
    monkeypatch.setattr(course, "_root", lambda: root)
    assert course.main(["colab", "--check"]) == 1
    assert course.main(["colab"]) == 0 and course.main(["colab", "--check"]) == 0
    (root / "notebooks" / "00_x.py").write_text("# no badges\n")
    assert course.main(["colab", "--check"]) == 2


# --- run times: one file for the README table, the notebook headers and the presets' minutes ----------

from tools import runtimes  # noqa: E402


def test_runtime_format():
    assert [runtimes.fmt(s) for s in (8, 30.4, 59.4, 60, 66, 258, 600, 1800)] == \
        ["8 s", "30 s", "59 s", "1 min", "1.1 min", "4.3 min", "10 min", "30 min"]
    assert runtimes.minutes(3) == 0.1 and runtimes.minutes(66) == 1.1


def test_readme_headers_and_presets_agree_with_the_runtimes_file():
    assert runtimes.check() == [], "run: python tools/runtimes.py write"
    data = runtimes.load()
    assert {name[:2] for name in data["notebooks"]} == {p.name[:2] for p in ROOT.glob("notebooks/[0-9][0-9]_*.py")}
    import dip_lib as dip
    for entry in data["notebooks"].values():
        for preset in runtimes.PRESETS:      # settings.py reads the file: minutes are the measured times
            assert dip.preset(entry["application"], preset).minutes == runtimes.minutes(entry["seconds"][preset])


def test_runtimes_write_fixes_a_stale_header_and_readme_row(tmp_path):
    (tmp_path / "notebooks").mkdir()
    header = "# # 00\n# | preset | where | run time |\n# |---|---|---|\n# | `test` | CI | ~1 h |\n" \
             "# | `cpu` | Binder / laptop | ~2 h |\n# | `paper` | GPU (Colab) | ~3 h |\n"
    (tmp_path / "notebooks" / "00_x.py").write_text(header)
    (tmp_path / "README.md").write_text("| # | notebook | paper | test | cpu | paper |\n|---|---|---|---|---|---|\n"
                                        "| 00 | [x](x): a, b | method | 1 h | 2 h | 3 h |\n")
    path = tmp_path / "runtimes.json"
    runtimes.save({"notebooks": {"00_x": {"application": "tour", "seconds": {"test": 30, "cpu": 66, "paper": 1200},
                                          "notes": {"cpu": "random AlexNet weights"}}}}, path)
    assert len(runtimes.check(tmp_path, path, settings=False)) == 2
    runtimes.write(tmp_path, path, verbose=False)
    assert runtimes.check(tmp_path, path, settings=False) == []
    assert "# | `cpu` | Binder / laptop | ~1.1 min (random AlexNet weights) |" in (tmp_path / "notebooks" / "00_x.py").read_text()
    assert "| 00 | [x](x): a, b | method | 30 s | 1.1 min† | 20 min |" in (tmp_path / "README.md").read_text()
    (tmp_path / "notebooks" / "00_x.py").write_text("# no table\n")
    with pytest.raises(ValueError, match="run-time table"):
        runtimes.check(tmp_path, path, settings=False)
    with pytest.raises(SystemExit) as e:              # the paper preset needs a GPU: not measured here
        runtimes.main(["--preset", "paper"])
    assert e.value.code == 2
