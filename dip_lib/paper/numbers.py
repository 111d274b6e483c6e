"""The paper's numbers, stored once, each with its source beside it.

Ulyanov, Vedaldi, Lempitsky, "Deep Image Prior", IJCV 128 (2020) 1867-1888 (extended from
CVPR 2018). ``reproduce`` prints these next to our PSNRs. Rules kept here:

- a number is stored only where the paper prints it; where the paper gives no number the
  entry is absent (``paper_psnr`` returns None and the tables print "—");
- ``source`` names the table / section, and says so when a value was not re-checked
  against the PDF while writing this file (the kit was written offline).

``image=None`` is the paper's average over the whole set.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PaperNumber", "PAPER", "PAPER_NAMES", "paper_psnr", "paper_entry", "paper_name"]

IJCV = "Ulyanov, Vedaldi, Lempitsky, Deep Image Prior, IJCV 2020"


@dataclass(frozen=True)
class PaperNumber:
    table: str              # our table name: denoising | sr4 | sr8 | inpainting
    set: str                # CBM3D9 | Set5 | Set14 | Heide11
    image: str | None       # the paper's image name; None = the set average
    method: str             # DIP, DIP last, DIP EMA, NLM, CBM3D, ...
    psnr: float
    source: str


_DENOISE_SRC = (f"{IJCV}, Sec. 4 (applications), denoising paragraph on the 9 colour images of "
                f"CBM3D, sigma=25 (text, not a table; same numbers in CVPR 2018 Sec. 4): 29.22 after "
                f"1800 steps, 30.43 with the exponential average, 31.00 averaging two runs; CBM3D 31.42 "
                f"and NLM 30.26 quoted for reference. Set averages only: no per-image PSNRs in the paper")
_SR_SRC = (f"{IJCV}, super-resolution table (Set5/Set14, 4x and 8x), 'Ours' row, set average; "
           f"value transcribed offline from the published table, not re-checked against the PDF here")
_INPAINT_SRC = (f"{IJCV}, inpainting table (50% missing pixels on the 11 images of Heide et al. 2015; "
                f"comparison with Papyan et al. 2017), 'Ours' row (also CVPR 2018 Table 2); value "
                f"transcribed offline from the published table, not re-checked against the PDF here")

PAPER: tuple[PaperNumber, ...] = (
    # --- denoising, CBM3D9, sigma = 25 (set averages only) ---
    PaperNumber("denoising", "CBM3D9", None, "DIP last", 29.22, _DENOISE_SRC),
    PaperNumber("denoising", "CBM3D9", None, "DIP EMA", 30.43, _DENOISE_SRC),
    PaperNumber("denoising", "CBM3D9", None, "DIP", 31.00, _DENOISE_SRC),
    PaperNumber("denoising", "CBM3D9", None, "CBM3D", 31.42, _DENOISE_SRC),
    PaperNumber("denoising", "CBM3D9", None, "NLM", 30.26, _DENOISE_SRC),
    # --- super-resolution (set averages; per-image values not stored: not known reliably) ---
    PaperNumber("sr4", "Set5", None, "DIP", 29.90, _SR_SRC),
    PaperNumber("sr4", "Set14", None, "DIP", 27.00, _SR_SRC),
    PaperNumber("sr8", "Set5", None, "DIP", 24.15, _SR_SRC),
    PaperNumber("sr8", "Set14", None, "DIP", 22.70, _SR_SRC),
    # --- inpainting, Heide11, 50% Bernoulli mask (per image; the paper prints no average) ---
    *(PaperNumber("inpainting", "Heide11", name, "DIP", v, _INPAINT_SRC) for name, v in (
        ("Barbara", 32.22), ("Boat", 33.06), ("House", 39.16), ("Lena", 36.16), ("Peppers", 33.05),
        ("C.man", 29.8), ("Couple", 32.52), ("Finger", 32.84), ("Hill", 32.77), ("Man", 32.20),
        ("Montage", 34.54))),
)

# registry file stem -> the name the paper's table uses (where they differ)
PAPER_NAMES = {
    "Heide11": {"barbara": "Barbara", "boat": "Boat", "house": "House", "Lena512": "Lena",
                "peppers256": "Peppers", "Cameraman256": "C.man", "couple": "Couple",
                "fingerprint": "Finger", "hill": "Hill", "man": "Man", "montage": "Montage"},
    "CBM3D9": {"image_Baboon512rgb": "Baboon", "image_F16_512rgb": "F16", "image_House256rgb": "House",
               "image_Lena512rgb": "Lena", "image_Peppers512rgb": "Peppers"},
    "Set5": {s: s.capitalize() for s in ("baby", "bird", "butterfly", "head", "woman")},
}


def paper_name(set_name: str, stem: str) -> str:
    """The paper's name for a registry image (``Heide11``, ``Lena512`` -> ``Lena``)."""
    return PAPER_NAMES.get(set_name, {}).get(stem, stem)


def paper_entry(table: str, set_name: str, image: str | None, method: str) -> PaperNumber | None:
    """The stored :class:`PaperNumber`, or None where the paper gives no number."""
    for p in PAPER:
        if (p.table, p.set, p.image, p.method) == (table, set_name, image, method):
            return p
    return None


def paper_psnr(table: str, set_name: str, image: str | None, method: str = "DIP") -> float | None:
    """The paper's PSNR (dB) for ``image`` (None: the set average), or None if not published."""
    p = paper_entry(table, set_name, image, method)
    return None if p is None else p.psnr
