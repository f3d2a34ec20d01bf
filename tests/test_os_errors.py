"""Operating-system faults, injected for real: one ``odebench: error:`` line naming the file
and the fix, exit code 2, nothing half-written; ``--debug`` / ODEBENCH_DEBUG=1 show the
traceback instead."""

from __future__ import annotations

import contextlib
import os
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from odebench.cli import main
from odebench.config import load_config
from odebench.errors import CheckpointError
from odebench.records import run_dir
from odebench.tasks.run import run_one
from tests.conftest import REPO, run_cli
from tests.helpers import interruptible, write_config

POINTCLOUD = {"setup": "hbnode2021", "models": ["node"], "seeds": 1, "epochs": 1,
              "tol": 1.0e-3, "n_train": 12, "batch_size": 12}
BIG_TABLE = "| a | b |\n|---|---|\n" + "| x | y |\n" * 20000  # ~200 kB of HTML


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("odebench: error: ")
    return lines[0]


def _train_args(config: Path, *extra: str) -> list[str]:
    return ["train", "--config", str(config), "--experiment", "pointcloud", "--model", "node",
            "--seed", "0", "--quiet", *extra]


@contextlib.contextmanager
def _unwritable(folder: Path):
    """``folder`` made unwritable for this process: mode 0o555, or as root (who ignores
    modes) the immutable flag; skips where neither holds."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(folder)],
                                        capture_output=True).returncode != 0:
        pytest.skip("running as root and `chattr +i` is unavailable here: no way to make a "
                    "folder unwritable")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(folder)], check=True)


def test_unwritable_results_folder_is_one_line_naming_it(tmp_path, capsys):
    results = tmp_path / "results"
    results.mkdir()
    config = write_config(tmp_path, results, {"pointcloud": POINTCLOUD})
    with _unwritable(results):
        assert main(_train_args(config)) == 2
    line = _one_line(capsys.readouterr().err)
    assert str(results / "runs") in line and "permission" in line
    assert list(results.iterdir()) == []


def test_results_folder_under_a_file_is_one_line_naming_it(tmp_path, capsys):
    blocker = tmp_path / "results"
    blocker.write_text("a file where the results folder should be\n")
    config = write_config(tmp_path, blocker / "smoke", {"pointcloud": POINTCLOUD})
    assert main(_train_args(config)) == 2
    line = _one_line(capsys.readouterr().err)
    assert "not a directory" in line and str(blocker) in line and "is a file" in line
    assert blocker.read_text().startswith("a file where")


def test_file_size_limit_names_the_file_and_keeps_the_old_one(tmp_path):
    source, out = tmp_path / "table.md", tmp_path / "table.html"
    source.write_text(BIG_TABLE)
    out.write_text("old\n")
    result = subprocess.run(
        [sys.executable, "-m", "odebench.cli", "html", str(source), str(out)], cwd=REPO,
        capture_output=True, text=True, timeout=120,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536)))
    assert result.returncode == 2
    line = _one_line(result.stderr)
    assert f"file too large: {out}:" in line and "ulimit -f" in line
    assert out.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.html", "table.md"]


def _in_mount_namespace(script: str) -> subprocess.CompletedProcess:
    """``script`` (sh) as root of a new user and mount namespace, where tmpfs can be
    mounted without privileges; skips where the kernel or container forbids that."""
    unshare = shutil.which("unshare")
    probe = unshare and subprocess.run([unshare, "-rm", "true"], capture_output=True)
    if not probe or probe.returncode != 0:
        pytest.skip("no unprivileged mount namespaces here (`unshare -rm`): cannot mount a "
                    "small or read-only tmpfs")
    return subprocess.run([unshare, "-rm", "sh", "-c", script], cwd=REPO, capture_output=True,
                          text=True, timeout=120)


def _html_on_tmpfs(tmp_path: Path, options: str, remount: str = "") -> tuple[str, str]:
    """``odebench html`` of a big table onto a tmpfs mounted with ``options``; its stderr
    and a listing of that tmpfs (``name:content`` of each file) after the command."""
    source, disk = tmp_path / "table.md", tmp_path / "disk"
    source.write_text(BIG_TABLE)
    disk.mkdir()
    q = shlex.quote
    script = (f"mount -t tmpfs -o {options} tmpfs {q(str(disk))} && "
              f"echo old > {q(str(disk / 'table.html'))} && {remount}"
              f"{q(sys.executable)} -m odebench.cli html {q(str(source))} "
              f"{q(str(disk / 'table.html'))}; echo \"rc=$?\" >&2; "
              f"cd {q(str(disk))} && for f in .* *; do [ -f \"$f\" ] && "
              f"echo \"$f:$(cat \"$f\")\"; done")
    result = _in_mount_namespace(script)
    *errors, rc = result.stderr.strip().splitlines()
    assert rc == "rc=2", result.stderr
    return "\n".join(errors), result.stdout.strip()


def test_full_disk_names_the_file_and_keeps_the_old_one(tmp_path):
    stderr, listing = _html_on_tmpfs(tmp_path, "size=64k")
    line = _one_line(stderr)
    out = tmp_path / "disk" / "table.html"
    assert f"no space left on device: {out}:" in line and "free space on the disk" in line
    assert listing == "table.html:old"   # the old content, no temp file left behind


def test_read_only_file_system_names_the_file(tmp_path):
    stderr, listing = _html_on_tmpfs(tmp_path, "size=1m",
                                     remount=f"mount -o remount,ro {tmp_path / 'disk'} && ")
    line = _one_line(stderr)
    assert f"read-only file system: {tmp_path / 'disk' / 'table.html'}:" in line
    assert listing == "table.html:old"


@pytest.fixture()
def truncated_checkpoint(tmp_path) -> tuple[Path, Path]:
    """A real point-cloud run's checkpoint.pt cut in half (summary removed, so it resumes)."""
    config_path = write_config(tmp_path, tmp_path, {"pointcloud": POINTCLOUD})
    run_one(load_config(config_path), "pointcloud", "node", 0, log=lambda _m: None)
    folder = run_dir(tmp_path, "pointcloud", "node", 0)
    (folder / "summary.json").unlink()
    checkpoint = folder / "checkpoint.pt"
    data = checkpoint.read_bytes()
    checkpoint.write_bytes(data[:len(data) // 2])
    return config_path, checkpoint


def test_truncated_checkpoint_is_one_line_naming_it(truncated_checkpoint):
    config, checkpoint = truncated_checkpoint
    before = checkpoint.read_bytes()
    result = run_cli(*_train_args(config))
    assert result.returncode == 2
    line = _one_line(result.stderr)
    assert f"checkpoint {checkpoint} is truncated or unreadable" in line
    assert "delete it to restart the run" in line
    assert checkpoint.read_bytes() == before  # left for the user to inspect or restore


def test_debug_flag_and_variable_show_the_traceback(truncated_checkpoint, tmp_path,
                                                   monkeypatch):
    config, checkpoint = truncated_checkpoint
    with pytest.raises(CheckpointError, match="truncated or unreadable"):
        main(["--debug", *_train_args(config)])
    monkeypatch.setenv("ODEBENCH_DEBUG", "1")
    with pytest.raises(CheckpointError, match=str(checkpoint)):
        main(_train_args(config))
    result = run_cli("html", str(tmp_path / "missing.md"), str(tmp_path / "out.html"))
    assert result.returncode == 1 and "Traceback (most recent call last)" in result.stderr
    assert "FileNotFoundError: no Markdown file at" in result.stderr


def test_ctrl_c_is_one_line_and_exit_code_130(tmp_path):
    experiment = {"pointcloud": {**POINTCLOUD, "epochs": 200}}
    config = write_config(tmp_path, tmp_path, experiment)
    epochs_csv = run_dir(tmp_path, "pointcloud", "node", 0) / "epochs.csv"
    process = subprocess.Popen([sys.executable, "-m", "odebench.cli", *_train_args(config)],
                               cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True, preexec_fn=interruptible)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None and not epochs_csv.exists():
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert stderr.strip() == "odebench: interrupted"
