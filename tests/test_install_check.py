"""`make install-check` (tools/cpu_resolution.py): a CPU set-up resolves no CUDA package; and
the packaging metadata (SPDX licence)."""

from __future__ import annotations

import socket
import tomllib
from pathlib import Path

import pytest

from tools import cpu_resolution as cr

ROOT = Path(__file__).resolve().parents[1]


def _report(*packages: tuple[str, str, str]) -> dict:
    return {"install": [{"metadata": {"name": n, "version": v}, "download_info": {"url": u}}
                        for n, v, u in packages]}


CPU = _report(("torch", "2.13.0+cpu", "file:///wheels/torch-2.13.0+cpu.whl"),
              ("numpy", "2.3.0", "https://files/numpy.whl"))
CUDA = _report(("torch", "2.13.0", "https://files/torch-2.13.0.whl"),
               ("nvidia-cublas-cu12", "12.8", "https://files/cublas.whl"),
               ("triton", "3.5.0", "https://files/triton.whl"),
               ("cuda-toolkit", "12.8", "https://files/cuda.whl"))


def test_cpu_resolution_has_no_cuda_package():
    assert cr.cuda_packages(CPU) == []
    assert cr.torch_install(CPU) == ("2.13.0+cpu", "file:///wheels/torch-2.13.0+cpu.whl")


def test_cuda_resolution_names_every_cuda_package():
    assert cr.cuda_packages(CUDA) == ["nvidia-cublas-cu12 12.8", "triton 3.5.0",
                                      "cuda-toolkit 12.8"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_index_is_detected_without_waiting():
    assert not cr.index_reachable(f"http://127.0.0.1:{_closed_port()}/whl/cpu", timeout=2)


def test_main_fails_on_a_cuda_resolution(monkeypatch, capsys):
    monkeypatch.setattr(cr, "dry_run", lambda *a: CUDA)
    assert cr.main(["--index", f"http://127.0.0.1:{_closed_port()}/"]) == 1
    out = capsys.readouterr()
    assert "could not be reached: resolving against pip's configured sources" in out.out
    assert "nvidia-cublas-cu12 12.8" in out.err and "triton 3.5.0" in out.err


def test_the_real_set_up_resolves_to_cpu_torch(capsys):
    """pip's own dry run of torch + .[dev] against this machine's configured sources only (no
    CPU index: the test never asks anything outside the package registries)."""
    try:
        report = cr.dry_run(ROOT, "[dev]", None)
    except RuntimeError as error:
        pytest.skip(f"pip cannot resolve here (no package registry?): {error}")
    torch = cr.torch_install(report)
    assert torch is not None
    assert cr.cuda_packages(report) == [], "a CPU set-up would install CUDA packages"


def test_licence_is_an_spdx_string_with_its_file():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT"
    assert all((ROOT / name).is_file() for name in project["license-files"])
