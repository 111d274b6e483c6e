"""benchmarks/device_check.py, the prepared GPU session: every step runs (tiny, on the CPU), a
step cut off by the budget still leaves its table, and a spent budget skips the rest."""
import importlib.util
import json
from pathlib import Path

import pytest

from markers import needs_data

ROOT = Path(__file__).resolve().parent.parent


def _load():
    spec = importlib.util.spec_from_file_location("device_check", ROOT / "benchmarks" / "device_check.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@needs_data
def test_smoke_runs_every_step_and_logs_one_line_each(tmp_path):
    records = _load().main(["--smoke", "--out", str(tmp_path), "--budget", "300"])
    lines = [json.loads(ln) for ln in (tmp_path / "device-check.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == ["bench 512", "bench 512 restarts loop", "bench 256",
                                          "reproduce denoising", "reproduce sr4"]
    assert lines == records and all(r["rc"] == 0 for r in lines)
    assert lines[0]["result"]["full_fit"]["steps"] == 5 and set(lines[0]["result"]["restarts"]) == {"1", "2"}
    assert lines[1]["result"]["restarts_mode"] == {"2": "loop"}
    assert "| Baby | Set5 |" in (tmp_path / "sr4.md").read_text()
    assert "\n| F16 | " in lines[3]["table"] and lines[3]["table"] == (tmp_path / "denoising.md").read_text().strip()


def test_a_step_cut_off_still_reports_and_a_spent_budget_skips(tmp_path):
    dc = _load()
    argv = ["-m", "dip_lib", "reproduce", "denoising", "--preset", "test", "--images", "F16", "--device", "cpu"]
    rec = dc.run_step("reproduce denoising", argv, tmp_path, left=0.5)   # python alone takes longer to start
    assert rec["rc"] == "timeout"                     # then --report-only ran, and says that no job finished
    assert "no results of the denoising table" in rec["table"]
    assert (tmp_path / "denoising.md").read_text().strip() == rec["table"]
    records = dc.main(["--smoke", "--out", str(tmp_path / "none"), "--budget", "0"])
    assert [r["rc"] for r in records] == ["skipped"] * 5


def test_refuses_a_missing_gpu_or_mirror_in_one_line(tmp_path, monkeypatch):
    import torch
    dc = _load()
    if not torch.cuda.is_available():
        with pytest.raises(SystemExit, match="no CUDA GPU is visible here"):
            dc.main(["--out", str(tmp_path)])
    monkeypatch.delenv("DIP_DATA_DIR", raising=False)
    with pytest.raises(SystemExit, match="set DIP_DATA_DIR"):
        dc.main(["--out", str(tmp_path), "--device", "cpu"])
