"""``dip_lib.paper.numbers`` against the paper's LaTeX source, cell by cell.

The tex (``shared/paper/ijcv2020_deep_image_prior.tex``, next to the repository: present in CI
at ``../shared/paper/``) is the truth. Parsed here: the super-resolution tables ``tab:sr_s14``
and ``tab:sr_s5`` (4x and 8x blocks, every row, per image and the "Avg." column), the
inpainting table ``tab:papyan`` and the denoising numbers stated in the text. Every stored
number must equal its cell, and every cell of those tables must be stored.
"""
import re
from pathlib import Path

import pytest

from dip_lib import image_set
from dip_lib.paper.numbers import PAPER, PAPER_NAMES, paper_entry, paper_name, paper_psnr

PAPER_DIR = Path(__file__).resolve().parents[2] / "shared" / "paper"
TEX_PATH = PAPER_DIR / "ijcv2020_deep_image_prior.tex"

if not TEX_PATH.is_file():
    pytest.skip(f"the paper's LaTeX source is absent ({TEX_PATH}); it lives in shared/paper/ next to "
                f"the repository", allow_module_level=True)

TEX = TEX_PATH.read_text(encoding="utf-8")

# our (table, set) for each LaTeX label; SR blocks are told apart by their "N$\times$" heading
TABLES = {"tab:sr_s14": "Set14", "tab:sr_s5": "Set5", "tab:papyan": "Heide11"}


def _environment(label: str) -> str:
    """The text of the table/figure environment that holds ``\\label{label}``."""
    end = TEX.index(f"\\label{{{label}}}")
    begins = [m for m in re.finditer(r"\\begin\{(table\*?|figure\*?)\}", TEX[:end])]
    assert begins, label
    return TEX[begins[-1].start():end]


def _unwrap(cell: str) -> str:
    """'\\small{\\textbf{Avg.}}' -> 'Avg.'; '$\\bm{25.53}$' -> '25.53'; '{31.11}' -> '31.11'."""
    cell = cell.strip()
    while True:
        new = cell.strip().strip("$").strip()
        new = re.sub(r"^\\(?:small|bm|textbf)\s*\{(.*)\}$", r"\1", new).strip()
        new = re.sub(r"^\{(.*)\}$", r"\1", new).strip()
        if new == cell:
            return cell
        cell = new


def _tabular(body: str) -> dict:
    """{(image or None, row label): cell text} of one tabular."""
    header, cells = None, {}
    for line in body.splitlines():
        line = line.split("\\\\")[0]                   # drop '\\ \midrule' etc.
        if "&" not in line:
            continue
        parts = [p.strip() for p in line.split("&")]
        line_label = _unwrap(parts[0])
        if not line_label:                              # the header: '& \small{Baboon} & ...'
            header = [_unwrap(p) for p in parts[1:]]
            header = [None if h == "Avg." else h for h in header]
            continue
        assert header is not None, line
        values = [_unwrap(p) for p in parts[1:]]
        assert len(values) == len(header), (line_label, values)
        for image, v in zip(header, values):
            assert re.fullmatch(r"\d+\.\d+", v), (line_label, image, v)
            cells[(image, line_label)] = v
    return cells


def _tables() -> dict:
    """{(table, set, image, method): cell text} of every cell of the SR and inpainting tables."""
    out = {}
    for label, set_name in TABLES.items():
        env = _environment(label)
        blocks = list(re.finditer(r"\\begin\{tabular\}(.*?)\\end\{tabular\}", env, re.S))
        assert blocks, label
        for b in blocks:
            if set_name == "Heide11":
                table = "inpainting"
            else:
                factor = re.findall(r"(\d)\$\\times\$ super-resolution", env[:b.start()])[-1]
                table = f"sr{factor}"
            for (image, row), v in _tabular(b.group(1)).items():
                key = (table, set_name, image, "DIP" if row == "Ours" else row)
                assert key not in out, key
                out[key] = v
    return out


def _denoising() -> dict:
    """The denoising numbers stated in the text (CBM3D9, sigma = 25)."""
    para = next(p for p in TEX.splitlines() if "9 colored images with noise strength" in p)
    found = {
        "DIP last": re.search(r"PSNR of \$([\d.]+)\$ after 1800 optimization steps", para),
        "DIP EMA": re.search(r"improved up to \$([\d.]+)\$ if we additionally average", para),
        "DIP": re.search(r"further improves up to \$([\d.]+)\$ PSNR", para),
        "CBM3D": re.search(r"are \$([\d.]+)\$ and \$[\d.]+\$ respectively", para),
        "NLM": re.search(r"are \$[\d.]+\$ and \$([\d.]+)\$ respectively", para),
    }
    assert all(found.values()), {k: bool(v) for k, v in found.items()}
    return {("denoising", "CBM3D9", None, m): v.group(1) for m, v in found.items()}


CELLS = {**_tables(), **_denoising()}


def test_the_tex_tables_are_parsed_whole():
    # Set14: 7 rows x 15 columns (4x), 6 x 15 (8x); Set5: 7 x 6, 6 x 6; inpainting 2 x 11; 5 in the text
    assert len(CELLS) == 105 + 90 + 42 + 36 + 22 + 5
    assert CELLS[("sr4", "Set14", "Barbara", "DIP")] == "25.53"        # '$\bm{25.53}$'
    assert CELLS[("sr4", "Set14", "Man", "Bicubic")] == "25.7"
    assert CELLS[("inpainting", "Heide11", "C.man", "DIP")] == "29.8"
    assert CELLS[("inpainting", "Heide11", "Peppers", "Papyan et al.")] == "31.11"   # '{31.11}'


def test_every_stored_number_equals_its_cell():
    keys = [(p.table, p.set, p.image, p.method) for p in PAPER]
    assert len(set(keys)) == len(keys), "a number is stored twice"
    wrong = [(k, p.psnr, CELLS.get(k)) for k, p in zip(keys, PAPER) if CELLS.get(k) is None
             or p.psnr != float(CELLS[k])]
    assert not wrong, f"stored numbers that differ from the tex (key, stored, tex): {wrong}"


def test_every_cell_is_stored():
    missing = [(k, v) for k, v in CELLS.items() if paper_psnr(*k) is None]
    assert not missing, f"numbers of the tex that are not stored: {missing}"
    assert len(PAPER) == len(CELLS)


def test_sources_name_the_tex():
    for p in PAPER:
        assert "IJCV" in p.source and "LaTeX source" in p.source, p
        label = {"Set14": "tab:sr_s14", "Set5": "tab:sr_s5", "Heide11": "tab:papyan"}.get(p.set)
        if label:
            assert label in p.source, p


def test_paper_names_are_the_column_headers():
    """Every registry image of Set5, Set14 and Heide11 maps to a column of its table."""
    for set_name, table in (("Set5", "sr4"), ("Set14", "sr8"), ("Heide11", "inpainting")):
        stems = [n.split("/")[1].rsplit(".", 1)[0] for n in image_set(set_name)]
        assert sorted(stems) == sorted(PAPER_NAMES[set_name]), set_name
        headers = {k[2] for k in CELLS if k[:2] == (table, set_name) and k[2] is not None}
        assert {paper_name(set_name, s) for s in stems} == headers, set_name
        for s in stems:
            assert paper_entry(table, set_name, paper_name(set_name, s), "DIP") is not None
