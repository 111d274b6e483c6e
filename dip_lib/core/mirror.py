"""An offline copy of the data registry, in one command.

    python -m dip_lib data fetch [NAME ...] [--to DIR] [--from SOURCE]   download (all, or sets/images)
    python -m dip_lib data verify [DIR]                                  check every file of a mirror

A mirror is a folder laid out like the registry (``Set5/baby.png``, ``paper/denoising/F16_GT.png``,
...) with a ``MANIFEST.tsv`` (path, sha256, bytes, source URL) listing what it holds: exactly
what ``DIP_DATA_DIR`` expects. ``fetch`` checks each file's sha256 as it arrives, skips files
already present and valid, replaces damaged ones, and writes through a temporary file in the
same folder, so an interrupted run never leaves a half-written file under a registry name.
NAME is a set (Set5, Set14, CBM3D9, Heide11), an alias (F16, zebra, kate, ...), a registry path
(Set5/baby.png) or a folder of the registry (paper, paper/sr); none means everything.
``--from`` takes another mirror (a folder) or a base URL (file://, https://) to copy from
instead of each file's public URL. The default DIR is ``DIP_DATA_DIR`` if set, else ``dip_data``.
"""
from __future__ import annotations

import argparse
import difflib
import hashlib
import os
import sys
import tempfile
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from . import data

__all__ = ["main", "select", "fetch_files", "verify", "write_manifest", "default_dir", "FetchReport", "VerifyReport"]

MANIFEST = "MANIFEST.tsv"
_HEADER = "path\tsha256\tbytes\tsource_url"


def default_dir() -> Path:
    """Where a mirror goes when no folder is given: ``DIP_DATA_DIR`` if set, else ./dip_data."""
    return Path(os.environ.get("DIP_DATA_DIR") or "dip_data").expanduser()


def select(names) -> list[str]:
    """Registry paths for ``names`` (sets, aliases, paths, stems or registry folders; none: all).

    An unknown name raises :class:`dip_lib.core.data.UnknownName` with the closest names.
    """
    reg = data._registry()
    if not names:
        return sorted(reg)
    keys: list[str] = []
    for name in names:
        name = str(name).strip().strip("/")
        if name in data.SETS:
            found = data.image_set(name)
        elif data._resolve(name) is not None:
            found = [data._resolve(name)]
        else:
            found = sorted(k for k in reg if k.startswith(name + "/")) if name else []
        if not found:
            folders = {k.rsplit("/", i)[0] for k in reg for i in (1, 2) if "/" in k}
            pool = list(dict.fromkeys(list(data.ALIASES) + list(data.SETS) + sorted(folders) + list(reg)))
            close = difflib.get_close_matches(name, pool, n=3, cutoff=0.6) or data.close_names(name)
            hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
            raise data.UnknownName(f"{name!r} is not a set, image or folder of the data registry{hint}; use a set "
                                   f"({', '.join(data.SETS)}), an alias (F16, zebra, kate, ...), a path such as "
                                   f"Set5/baby.png, or nothing for all {len(reg)} files")
        keys += [k for k in found if k not in keys]
    return keys


def _source_url(key: str, source: str | None) -> str:
    """The URL a file is downloaded from: its registry URL, or ``source`` (a mirror folder or base URL) + key."""
    if not source:
        return data._registry()[key][1]
    if "://" in source:
        return source.rstrip("/") + "/" + urllib.parse.quote(key)
    return Path(source).expanduser().resolve().joinpath(key).as_uri()


def _download(url: str, dest: Path, sha: str, timeout: float = 60) -> int:
    """Copy ``url`` to ``dest`` through a temporary file in its folder, checking the sha256 first.

    Returns the number of bytes; raises ValueError on a hash mismatch (``dest`` is left as it was).
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    h, n = hashlib.sha256(), 0
    try:
        req = urllib.request.Request(url, headers={"User-Agent": "dip_lib-mirror"})
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(req, timeout=timeout) as r:
            for chunk in iter(lambda: r.read(1 << 20), b""):
                h.update(chunk)
                out.write(chunk)
                n += len(chunk)
        if h.hexdigest() != sha:
            raise ValueError(f"sha256 {h.hexdigest()[:12]}... differs from the registry's {sha[:12]}...: the "
                             f"source holds a different file")
        os.replace(tmp, dest)
        return n
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _valid(path: Path, sha: str) -> bool:
    return path.is_file() and data.sha256_of(path) == sha


@dataclass
class FetchReport:
    fetched: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)     # already present and valid
    failed: list[tuple[str, str]] = field(default_factory=list)   # (path, why)
    bytes: int = 0


def fetch_files(keys, dest, source: str | None = None, progress: bool = True) -> FetchReport:
    """Download the registry files ``keys`` into the mirror ``dest`` (sha256 checked), then write its manifest.

    Files already present with the right sha256 are skipped; a damaged one is replaced. A file
    that fails (network, HTTP, wrong hash) is listed in the report; the others go on.
    """
    from tqdm.auto import tqdm
    keys = list(keys)
    dest = Path(dest).expanduser()
    reg = data._registry()
    report = FetchReport()
    todo = []
    for key in keys:
        (report.skipped if _valid(dest / key, reg[key][0]) else todo).append(key)
    with tqdm(total=len(todo), unit="file", desc="fetch", disable=not progress or not todo, file=sys.stderr) as bar:
        for key in todo:
            bar.set_postfix_str(key, refresh=True)
            url = _source_url(key, source)
            try:
                report.bytes += _download(url, dest / key, reg[key][0])
                report.fetched.append(key)
            except Exception as e:     # URLError, HTTPError, timeouts, hash mismatch, disk full, ...
                why = getattr(e, "reason", None) or e
                report.failed.append((key, f"{type(e).__name__}: {why} ({url})"))
            bar.update(1)
    write_manifest(dest, keys)
    return report


def write_manifest(dest, keys=()) -> Path:
    """Write ``dest/MANIFEST.tsv``: what the mirror holds and should hold, with the registry's sha256.

    Its rows are the registry files already listed or present in ``dest`` plus ``keys`` (the files
    just asked for), so a file that goes missing later, or failed to download, is reported by
    :func:`verify`; the bytes column is empty for a file that is not there.
    """
    dest = Path(dest).expanduser()
    reg = data._registry()
    old = dest / MANIFEST
    listed = set(keys)
    if old.is_file():
        listed |= {ln.split("\t", 1)[0] for ln in old.read_text().splitlines()[1:] if ln.strip()}
    rows = [_HEADER]
    for key, (sha, url) in sorted(reg.items()):
        path = dest / key
        if key in listed or path.is_file():
            rows.append(f"{key}\t{sha}\t{path.stat().st_size if path.is_file() else ''}\t{url}")
    dest.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest, prefix=f".{MANIFEST}.", suffix=".part")
    try:
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(rows) + "\n")
        os.replace(tmp, dest / MANIFEST)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest / MANIFEST


@dataclass
class VerifyReport:
    ok: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    bad: list[tuple[str, str]] = field(default_factory=list)     # (path, why)

    @property
    def passed(self) -> bool:
        return not self.missing and not self.bad


def verify(dest) -> VerifyReport:
    """Check every file of the mirror ``dest`` against the registry's sha256.

    The files checked are those its ``MANIFEST.tsv`` lists (all of the registry when it has none);
    a listed file that is absent is missing, one whose sha256 differs (or that the registry does
    not know) is bad.
    """
    dest = Path(dest).expanduser()
    reg = data._registry()
    manifest = dest / MANIFEST
    if manifest.is_file():
        lines = manifest.read_text().splitlines()
        keys = [ln.split("\t", 1)[0] for ln in lines[1:] if ln.strip()]
    else:
        keys = sorted(reg)
    report = VerifyReport()
    for key in keys:
        path = dest / key
        if key not in reg:
            report.bad.append((key, "not in the data registry (an old or foreign manifest row)"))
        elif not path.is_file():
            report.missing.append(key)
        else:
            got = data.sha256_of(path)
            if got == reg[key][0]:
                report.ok.append(key)
            else:
                report.bad.append((key, f"sha256 {got[:12]}... differs from the registry's {reg[key][0][:12]}..."))
    return report


class _Parser(argparse.ArgumentParser):
    def error(self, message):          # one line and exit code 2, never a usage dump
        raise SystemExit(_fail(f"{message} (see: {self.prog} --help)"))


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="python -m dip_lib data", description="An offline mirror of the data registry "
                 "(point DIP_DATA_DIR at it).")
    sub = ap.add_subparsers(dest="command", parser_class=_Parser)
    f = sub.add_parser("fetch", help="download registry files into a mirror (sha256 checked)",
                       description="Download registry files into a mirror laid out as DIP_DATA_DIR expects; "
                                   "files already present and valid are skipped.")
    f.add_argument("names", nargs="*", metavar="NAME",
                   help="sets (Set5, Set14, CBM3D9, Heide11), aliases (F16, zebra, ...), registry paths "
                        "(Set5/baby.png) or folders (paper); none: all")
    f.add_argument("--to", metavar="DIR", help="the mirror folder (default: DIP_DATA_DIR, else ./dip_data)")
    f.add_argument("--from", dest="source", metavar="SOURCE",
                   help="copy from another mirror (a folder) or base URL instead of the public URLs")
    f.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    v = sub.add_parser("verify", help="check every file of a mirror (missing, wrong sha256)",
                       description="Check every file of a mirror against the registry's sha256; exit 0 if all "
                                   "are good, 1 otherwise.")
    v.add_argument("dir", nargs="?", metavar="DIR", help="the mirror (default: DIP_DATA_DIR, else ./dip_data)")
    return ap


def main(argv=None) -> int:
    """``python -m dip_lib data fetch|verify ...``: 0 on success, 1 when files failed, 2 on bad usage."""
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = _parser()
    try:
        a = ap.parse_args(argv)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else 2
    if a.command is None:
        ap.print_help()
        return 2
    if a.command == "fetch":
        return _fetch_command(a)
    return _verify_command(a)


def _fetch_command(a) -> int:
    try:
        keys = select(a.names)
    except data.UnknownName as e:
        return _fail(str(e))
    dest = Path(a.to).expanduser() if a.to else default_dir()
    if dest.exists() and not dest.is_dir():
        return _fail(f"--to {dest} is a file, not a folder")
    if a.source and "://" not in a.source and not Path(a.source).expanduser().is_dir():
        return _fail(f"--from {a.source} is neither a folder nor a URL")
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        return _fail(f"cannot create the mirror folder {dest} ({e.strerror or e}): choose another with --to")
    r = fetch_files(keys, dest, a.source, progress=not a.quiet)
    for key, why in r.failed:
        print(f"FAILED {key}: {why}", file=sys.stderr)
    print(f"{len(keys)} files: {len(r.fetched)} fetched ({r.bytes / 1e6:.1f} MB), {len(r.skipped)} already present "
          f"and valid, {len(r.failed)} failed -> {dest}")
    if r.failed:
        print("some files failed: check the network (or --from) and run the same command again; files already "
              "fetched are kept", file=sys.stderr)
        return 1
    print(f"use it: export DIP_DATA_DIR={dest.resolve()}")
    return 0


def _verify_command(a) -> int:
    dest = Path(a.dir).expanduser() if a.dir else default_dir()
    if not dest.is_dir():
        return _fail(f"no mirror at {dest}: build one with `{data.FETCH_COMMAND} --to {dest}`")
    r = verify(dest)
    for key in r.missing:
        print(f"MISSING {key}")
    for key, why in r.bad:
        print(f"BAD {key}: {why}")
    n = len(r.ok) + len(r.missing) + len(r.bad)
    print(f"{dest}: {n} files checked, {len(r.ok)} ok, {len(r.missing)} missing, {len(r.bad)} bad")
    if not r.passed:
        names = " ".join(sorted(set(r.missing) | {k for k, _ in r.bad if k in data._registry()}))
        if names:
            print(f"repair: {data.FETCH_COMMAND} {names} --to {dest}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
