"""The GPU check's CPU dry mode (CI has no GPU): every family compared across two model
copies, timed slices with NFE, and the record written."""

from __future__ import annotations

import json

import pytest
import torch

from tools import gpu_check


def test_dry_run_compares_every_family_and_writes_the_record(tmp_path, capsys):
    assert gpu_check.main(["--dry", "--out", str(tmp_path), "--models", "node,hbnode",
                           "--slice", "16"]) == 0
    record = json.loads((tmp_path / "gpu_check-dry.json").read_text())
    assert record["dry"] and record["all_equal"] and record["device"] == "cpu"
    assert [c["model"] for c in record["equality"]] == ["node", "hbnode", "odetoode-1"]
    assert all(c["grads_compared"] > 0 and c["nfe"][0] > 0 for c in record["equality"][:2])
    assert [(t["task"], t["model"]) for t in record["timings"]] == [
        ("mnist", "node"), ("mnist", "hbnode"), ("cifar10", "node"), ("cifar10", "hbnode")]
    assert all(t["nfe_forward"] > 0 and t["seconds"] > 0 for t in record["timings"])
    assert "gpu-check: all equal" in capsys.readouterr().out


def test_a_difference_beyond_the_tolerance_is_reported():
    from odebench.models.flow_baselines import build_flow_classifier

    row = gpu_check.equality("odetoode-1", lambda: build_flow_classifier(
        "odetoode-1", in_features=6, width=4, dropout=0.0, eta=0.5, T=1.0), (6,),
        torch.device("cpu"), torch.device("cpu"), 3, rtol=-1.0)
    assert row["equal"] is False


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_without_cuda_the_real_check_stops_with_one_line():
    with pytest.raises(SystemExit, match="no CUDA device here"):
        gpu_check.main([])
