"""Safe outputs: check an output path before any work, then write it atomically.

    path = check_output("out.png", inputs=["photo.png"], force=False)   # before fitting
    ...
    with atomic_write(path) as f:          # a temporary file in the same folder, then os.replace
        image.save(f, format=image_format(path))

``check_output`` refuses, with a one-line message that says what to do: an empty name, a folder,
an extension that is not a known image format, a folder that does not exist or cannot be written,
an output that is one of the inputs (the same file, however it is spelled), and an existing file
unless ``force``. ``atomic_write`` never leaves a half-written file under the final name: the
bytes go to a uniquely named temporary file next to it (same file system), which replaces the
target only once complete; on any error or Ctrl-C the temporary file is removed and the old
file, if any, is untouched.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterable, Iterator

__all__ = ["IMAGE_FORMATS", "image_format", "check_output", "check_folder_writable", "atomic_write",
           "same_file"]

# the formats an 8-bit restored image is written in (extension -> PIL format name)
IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".jpe": "JPEG", ".bmp": "BMP", ".tif": "TIFF",
                 ".tiff": "TIFF", ".webp": "WEBP", ".ppm": "PPM", ".pgm": "PPM", ".pnm": "PPM"}


def _known() -> str:
    return ", ".join(sorted({".png", ".jpg", ".bmp", ".tif", ".webp", ".ppm"}))


def image_format(path) -> str:
    """The PIL format written for ``path``'s extension; a ValueError names the known ones."""
    ext = Path(str(path)).suffix.lower()
    if not ext:
        raise ValueError(f"the output {str(path)!r} has no extension: add one of {_known()} (e.g. out.png)")
    if ext not in IMAGE_FORMATS:
        raise ValueError(f"the output {str(path)!r} has extension {ext!r}, not an image format this kit writes: "
                         f"use one of {_known()}")
    return IMAGE_FORMATS[ext]


def same_file(a, b) -> bool:
    """True when paths ``a`` and ``b`` name the same file (symlinks, '..' and hard links included)."""
    try:
        pa, pb = Path(a).expanduser(), Path(b).expanduser()
        if pa.exists() and pb.exists():
            return os.path.samefile(pa, pb)
        return pa.resolve() == pb.resolve()
    except (OSError, ValueError):
        return False


def check_folder_writable(folder) -> Path:
    """``folder`` if it is an existing folder we can create files in (probed with a real file,
    since ``os.access`` says yes to root even on read-only mounts); else a ValueError."""
    folder = Path(folder).expanduser()
    shown = str(folder) or "."
    if not folder.exists():
        raise ValueError(f"the output folder {shown!r} does not exist: create it first (mkdir -p {shown})")
    if not folder.is_dir():
        raise ValueError(f"{shown!r} is not a folder, so no output can be written inside it")
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".dip-write-test-")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise ValueError(f"the output folder {shown!r} is not writable ({e.strerror or e}): choose another "
                         f"folder with -o") from None
    return folder


def check_output(path, inputs: Iterable = (), force: bool = False, kind: str = "image") -> Path:
    """Check, before any work, that the image ``path`` can be written; return it as a Path.

    Refuses (ValueError): '' or a folder; an unknown extension; a missing or unwritable folder;
    an output that is one of ``inputs`` (never overwrite what was read, even with ``force``);
    an existing file unless ``force`` (FileExistsError).
    """
    s = str(path) if path is not None else ""
    if not s.strip():
        raise ValueError("the output path is empty: give a file name such as -o out.png")
    p = Path(s).expanduser()
    if p.is_dir():
        raise ValueError(f"the output {s!r} is a folder: give a file name inside it, e.g. {str(p / 'out.png')!r}")
    if kind == "image":
        image_format(p)
    for src in inputs:
        if src is not None and str(src) and same_file(p, src):
            raise ValueError(f"the output {s!r} is the input {str(src)!r}: writing it would destroy the input; "
                             f"choose another output name")
    check_folder_writable(p.parent)
    if p.exists() and not force:
        raise FileExistsError(f"the output {s!r} exists: pass --force to overwrite it, or choose another name")
    return p


@contextlib.contextmanager
def atomic_write(path, mode: str = "wb") -> Iterator:
    """Open a temporary file beside ``path`` for writing; on success it replaces ``path`` at once
    (``os.replace``), on any exception (Ctrl-C included) it is deleted and ``path`` is untouched."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    done = False
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        try:        # mkstemp makes 0600 files: give the result the permissions a plain open() would
            perm = path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask()
            os.chmod(tmp, perm)
        except OSError:
            pass
        os.replace(tmp, path)
        done = True
    finally:
        if not done:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _umask() -> int:
    m = os.umask(0o022)
    os.umask(m)
    return m
