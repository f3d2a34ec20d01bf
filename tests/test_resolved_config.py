"""A results folder's stale resolved config is dropped (odebench/records/resolved_config.py)."""

from __future__ import annotations

from odebench.records.resolved_config import drop_if_stale


def test_only_a_differing_copy_is_dropped(tmp_path):
    path = tmp_path / "config.yaml"
    assert drop_if_stale(path, "a: 1\n") is None  # missing: nothing to do
    path.write_text("a: 1\n")
    assert drop_if_stale(path, "a: 1\n") is None and path.exists()
    line = drop_if_stale(path, "a: 2\n")
    assert line.startswith(f"{path} differs from the config given") and not path.exists()
