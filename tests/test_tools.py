"""Repository tooling (tools/): the exercise builder and the gallery index. The exercise builder: student versions of the exercises are generated from one source of truth."""
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

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
        assert any(c.cell_type == "code" and "assert" in c.source for c in nb.cells), f"{src} has no check cell"


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
