"""The paper's numbers, stored once, each with its source beside it.

Ulyanov, Vedaldi, Lempitsky, "Deep Image Prior", IJCV 128 (2020) 1867-1888 (extended from
CVPR 2018). ``reproduce`` prints these next to our PSNRs. Rules kept here:

- every number is transcribed character for character from the paper's LaTeX source
  (``shared/paper/ijcv2020_deep_image_prior.tex``, next to the repository); bold markup
  (``$\\bm{25.53}$``, ``\\textbf{32.22}``) is dropped, the digits are kept as printed
  (``25.7`` stays ``25.7``). ``tests/test_paper_numbers.py`` parses the tex and checks that
  every stored number equals its cell and that every cell of the tables is stored;
- a number is stored only where the paper prints it; where the paper gives no number the
  entry is absent (``paper_psnr`` returns None and the tables print "—");
- ``source`` names the table (its LaTeX label and block) or the paragraph, and the row label
  as the paper prints it.

Keys: ``table`` (denoising | sr4 | sr8 | inpainting), ``set`` (CBM3D9 | Set5 | Set14 | Heide11),
``image`` as the paper's column header prints it (``image=None``: the paper's average over the
whole set), ``method`` as the paper's row label ("No prior", "Bicubic", "TV prior",
"Glasner et al.", "SelfExSR", "LapSRN", "SRResNet-MSE", "Papyan et al.", ...), except the
paper's "Ours", stored as ``"DIP"``.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PaperNumber", "PAPER", "PAPER_NAMES", "paper_psnr", "paper_entry", "paper_name"]

IJCV = "Ulyanov, Vedaldi, Lempitsky, Deep Image Prior, IJCV 2020"
TEX = "ijcv2020_deep_image_prior.tex"


@dataclass(frozen=True)
class PaperNumber:
    table: str              # our table name: denoising | sr4 | sr8 | inpainting
    set: str                # CBM3D9 | Set5 | Set14 | Heide11
    image: str | None       # the paper's image name; None = the set average
    method: str             # DIP (the paper's "Ours"), DIP last, DIP EMA, NLM, CBM3D, Bicubic, ...
    psnr: float
    source: str


# --- denoising: numbers stated in the text (no table, set averages only) ---------------------

_DENOISE_SRC = (f"{IJCV}, Sec. 'Denoising and generic reconstruction', paragraph on the 9 colour "
                f"images of CBM3D at sigma=25 (text, not a table; same numbers in CVPR 2018 Sec. 4): "
                f"29.22 after 1800 steps, 30.43 with the exponential average, 31.00 averaging two runs; "
                f"CBM3D (printed 'CMB3D') 31.42 and Non-local means 30.26 quoted for reference. Set "
                f"averages only: no per-image PSNRs in the paper. Transcribed from the LaTeX source ({TEX})")

_DENOISING = (("DIP last", 29.22), ("DIP EMA", 30.43), ("DIP", 31.00), ("CBM3D", 31.42), ("NLM", 30.26))

# --- super-resolution: tab:sr_s14 (Set14) and tab:sr_s5 (Set5), 4x and 8x blocks --------------
# Columns as the tex header prints them; the last column is the paper's "Avg." (image=None).
# Rows in the tex's order, labels as printed ("Ours" -> "DIP" when stored).

_SET14 = ("Baboon", "Barbara", "Bridge", "Coastguard", "Comic", "Face", "Flowers", "Foreman", "Lenna",
          "Man", "Monarch", "Pepper", "Ppt3", "Zebra", None)
_SET5 = ("Baby", "Bird", "Butterfly", "Head", "Woman", None)

_SR = {
    # (table, set): (LaTeX label, block, columns, rows)
    ("sr4", "Set14"): ("tab:sr_s14", "4x super-resolution", _SET14, (
        ("No prior", (22.24, 24.89, 23.94, 24.62, 21.06, 29.99, 23.75, 29.01, 28.23, 24.84, 25.76, 28.74, 20.26, 21.69, 24.93)),
        ("Bicubic", (22.44, 25.15, 24.47, 25.53, 21.59, 31.34, 25.33, 29.45, 29.84, 25.7, 27.45, 30.63, 21.78, 24.01, 26.05)),
        ("TV prior", (22.34, 24.78, 24.46, 25.78, 21.95, 31.34, 25.91, 30.63, 29.76, 25.94, 28.46, 31.32, 22.75, 24.52, 26.42)),
        ("Glasner et al.", (22.44, 25.38, 24.73, 25.38, 21.98, 31.09, 25.54, 30.40, 30.48, 26.33, 28.22, 32.02, 22.16, 24.34, 26.46)),
        ("Ours", (22.29, 25.53, 24.38, 25.81, 22.18, 31.02, 26.14, 31.66, 30.83, 26.09, 29.98, 32.08, 24.38, 25.71, 27.00)),
        ("SRResNet-MSE", (23.0, 26.08, 25.52, 26.31, 23.44, 32.71, 28.13, 33.8, 32.42, 27.43, 32.85, 34.28, 26.56, 26.95, 28.53)),
        ("LapSRN", (22.83, 25.69, 25.36, 26.21, 22.9, 32.62, 27.54, 33.59, 31.98, 27.27, 31.62, 33.88, 25.36, 26.98, 28.13)),
    )),
    ("sr8", "Set14"): ("tab:sr_s14", "8x super-resolution", _SET14, (
        ("No prior", (21.09, 23.04, 21.78, 23.63, 18.65, 27.84, 21.05, 25.62, 25.42, 22.54, 22.91, 25.34, 18.15, 18.85, 22.56)),
        ("Bicubic", (21.28, 23.44, 22.24, 23.65, 19.25, 28.79, 22.06, 25.37, 26.27, 23.06, 23.18, 26.55, 18.62, 19.59, 23.09)),
        ("TV prior", (21.30, 23.72, 22.30, 23.82, 19.50, 28.84, 22.50, 26.07, 26.74, 23.53, 23.71, 27.56, 19.34, 19.89, 23.48)),
        ("SelfExSR", (21.37, 23.90, 22.28, 24.17, 19.79, 29.48, 22.93, 27.01, 27.72, 23.83, 24.02, 28.63, 20.09, 20.25, 23.96)),
        ("Ours", (21.38, 23.94, 22.20, 24.21, 19.86, 29.52, 22.86, 27.87, 27.93, 23.57, 24.86, 29.18, 20.12, 20.62, 24.15)),
        ("LapSRN", (21.51, 24.21, 22.77, 24.10, 20.06, 29.85, 23.31, 28.13, 28.22, 24.20, 24.97, 29.22, 20.13, 20.28, 24.35)),
    )),
    ("sr4", "Set5"): ("tab:sr_s5", "4x super-resolution", _SET5, (
        ("No prior", (30.16, 27.67, 19.82, 29.98, 25.18, 26.56)),
        ("Bicubic", (31.78, 30.2, 22.13, 31.34, 26.75, 28.44)),
        ("TV prior", (31.21, 30.43, 24.38, 31.34, 26.93, 28.85)),
        ("Glasner et al.", (32.24, 31.10, 22.36, 31.69, 26.85, 28.84)),
        ("Ours", (31.49, 31.80, 26.23, 31.04, 28.93, 29.89)),
        ("LapSRN", (33.55, 33.76, 27.28, 32.62, 30.72, 31.58)),
        ("SRResNet-MSE", (33.66, 35.10, 28.41, 32.73, 30.6, 32.10)),
    )),
    ("sr8", "Set5"): ("tab:sr_s5", "8x super-resolution", _SET5, (
        ("No prior", (26.28, 24.03, 17.64, 27.94, 21.37, 23.45)),
        ("Bicubic", (27.28, 25.28, 17.74, 28.82, 22.74, 24.37)),
        ("TV prior", (27.93, 25.82, 18.40, 28.87, 23.36, 24.87)),
        ("SelfExSR", (28.45, 26.48, 18.80, 29.36, 24.05, 25.42)),
        ("Ours", (28.28, 27.09, 20.02, 29.55, 24.50, 25.88)),
        ("LapSRN", (28.88, 27.10, 19.97, 29.76, 24.79, 26.10)),
    )),
}

# --- inpainting: tab:papyan (Heide11, 50% of pixels missing; per image, no average) -----------

_HEIDE11 = ("Barbara", "Boat", "House", "Lena", "Peppers", "C.man", "Couple", "Finger", "Hill", "Man", "Montage")
_INPAINTING = ("tab:papyan", "50% missing pixels, Heide et al. 2015 images, vs Papyan et al. 2017", _HEIDE11, (
    ("Papyan et al.", (28.14, 31.44, 34.58, 35.04, 31.11, 27.90, 31.18, 31.34, 32.35, 31.92, 28.05)),
    ("Ours", (32.22, 33.06, 39.16, 36.16, 33.05, 29.8, 32.52, 32.84, 32.77, 32.20, 34.54)),
))


def _method(label: str) -> str:
    return "DIP" if label == "Ours" else label


def _table_rows(table: str, set_name: str, spec) -> list[PaperNumber]:
    label, block, columns, rows = spec
    out = []
    for row_label, values in rows:
        if len(values) != len(columns):
            raise ValueError(f"{table}/{set_name}/{row_label}: {len(values)} values for {len(columns)} columns")
        src = (f"{IJCV}, table {label} ({set_name}, {block}), row '{row_label}'; "
               f"transcribed character for character from the LaTeX source ({TEX})")
        out += [PaperNumber(table, set_name, image, _method(row_label), v, src) for image, v in zip(columns, values)]
    return out


PAPER: tuple[PaperNumber, ...] = (
    *(PaperNumber("denoising", "CBM3D9", None, m, v, _DENOISE_SRC) for m, v in _DENOISING),
    *(p for (table, set_name), spec in _SR.items() for p in _table_rows(table, set_name, spec)),
    *_table_rows("inpainting", "Heide11", _INPAINTING),
)

# registry file stem -> the name the paper's table uses (its column header)
PAPER_NAMES = {
    "Heide11": {"barbara": "Barbara", "boat": "Boat", "house": "House", "Lena512": "Lena",
                "peppers256": "Peppers", "Cameraman256": "C.man", "couple": "Couple",
                "fingerprint": "Finger", "hill": "Hill", "man": "Man", "montage": "Montage"},
    "CBM3D9": {"image_Baboon512rgb": "Baboon", "image_F16_512rgb": "F16", "image_House256rgb": "House",
               "image_Lena512rgb": "Lena", "image_Peppers512rgb": "Peppers"},
    "Set5": {"baby": "Baby", "bird": "Bird", "butterfly": "Butterfly", "head": "Head", "woman": "Woman"},
    "Set14": {"baboon": "Baboon", "barbara": "Barbara", "bridge": "Bridge", "coastguard": "Coastguard",
              "comic": "Comic", "face": "Face", "flowers": "Flowers", "foreman": "Foreman", "lenna": "Lenna",
              "man": "Man", "monarch": "Monarch", "pepper": "Pepper", "ppt3": "Ppt3", "zebra": "Zebra"},
}

_INDEX = {(p.table, p.set, p.image, p.method): p for p in PAPER}
if len(_INDEX) != len(PAPER):
    raise RuntimeError("duplicate paper numbers")


def paper_name(set_name: str, stem: str) -> str:
    """The paper's name for a registry image (``Heide11``, ``Lena512`` -> ``Lena``)."""
    return PAPER_NAMES.get(set_name, {}).get(stem, stem)


def paper_entry(table: str, set_name: str, image: str | None, method: str) -> PaperNumber | None:
    """The stored :class:`PaperNumber`, or None where the paper gives no number."""
    return _INDEX.get((table, set_name, image, method))


def paper_psnr(table: str, set_name: str, image: str | None, method: str = "DIP") -> float | None:
    """The paper's PSNR (dB) for ``image`` (None: the set average), or None if not published."""
    p = paper_entry(table, set_name, image, method)
    return None if p is None else p.psnr
