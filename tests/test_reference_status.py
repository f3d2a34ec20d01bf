"""`odebench reference-status`: the committed reference's pieces, tables and ledger counts."""

from __future__ import annotations

import json

from odebench.report.claims import HOLDS, INCONCLUSIVE, NOT_RUN
from odebench.report.reference_status import reference_status


def test_status_lists_pieces_tables_and_counts(tmp_path):
    config = {"profile": "reference", "pieces": {"a": {}, "b": {}, "c": {}}}
    (tmp_path / "pieces").mkdir()
    (tmp_path / "pieces" / "c.json").write_text(json.dumps({
        "runs": 1, "commit": "def5678", "uncommitted_code_changes": ["config/reference.yaml"],
        "machine": {"cores": 2, "cpu": "Some CPU"}}))
    (tmp_path / "pieces" / "a.json").write_text(json.dumps({
        "runs": 4, "span_hours": 1.25, "job_hours": 2.4, "commit": "abc1234",
        "machine": {"cores": 2, "cpu": "Some CPU"}}))
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "pointcloud.md").write_text("# t\n")
    (tmp_path / "claims.csv").write_text(
        "id,verdict\nx," + HOLDS + "\ny," + INCONCLUSIVE + "\nz," + NOT_RUN + "\n")
    text = reference_status(config, tmp_path)
    assert "3 claims: 1 holds, 0 contradicted, 1 inconclusive, 1 not run." in text
    assert "Experiments with tables: `pointcloud`." in text
    assert "| a | 4 runs | 1.25 | 2.4 | 2-core Some CPU, commit abc1234 |" in text
    assert "| b | not run yet | | | |" in text
    assert "commit def5678 + uncommitted changes to config/reference.yaml |" in text
    assert "2 of 3 pieces done, 2.40 h of summed job time" in text


def test_status_before_any_piece_says_what_to_run(tmp_path):
    text = reference_status({"profile": "reference", "pieces": {"a": {}}}, tmp_path)
    assert "no claims ledger yet (`make reference-report`)" in text
    assert "Experiments with tables: none yet." in text


def test_the_committed_reference_stays_within_its_20_mb_budget():
    """Run outputs are committed only under results/reference/, at most 20 MB in all."""
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    listed = subprocess.run(["git", "ls-files", "results/reference"], cwd=root,
                            capture_output=True, text=True, check=False)
    if listed.returncode != 0:
        import pytest

        pytest.skip("not a git checkout: the committed files cannot be listed")
    files = [root / line for line in listed.stdout.splitlines()]
    total = sum(path.stat().st_size for path in files if path.is_file())
    assert total <= 20_000_000, f"results/reference holds {total / 1e6:.1f} MB of committed files"
    assert not [p for p in files if p.suffix in (".pt", ".ckpt")]  # no checkpoints
