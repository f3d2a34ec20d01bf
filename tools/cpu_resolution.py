"""What a CPU set-up would install, without installing it: `pip install --dry-run --report`
of torch and the project, checked for CUDA packages (`make install-check`).

It resolves as `make install` does on a machine without CUDA: PyTorch's CPU wheel index first
(added as an extra index, so torch's ``+cpu`` build wins), or pip's configured sources alone
when that index cannot be reached; one line says which. Exit 1 names every CUDA package found.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

CPU_INDEX = "https://download.pytorch.org/whl/cpu"
TORCH_PIN = "torch==2.13.0"
# Distributions that only a CUDA build of torch pulls in.
CUDA_PREFIXES = ("nvidia-", "cuda-", "triton")


def index_reachable(url: str, timeout: float = 5.0) -> bool:
    """Whether ``url`` answers an HTTP request within ``timeout`` seconds."""
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return True
    except (urllib.error.URLError, OSError, ValueError):
        return False


def cuda_packages(report: dict[str, Any]) -> list[str]:
    """``name version`` of each package in a pip ``--report`` that belongs to a CUDA build."""
    found = []
    for item in report.get("install", []):
        meta = item.get("metadata", {})
        name = str(meta.get("name", "")).lower()
        if name.startswith(CUDA_PREFIXES):
            found.append(f"{name} {meta.get('version', '?')}")
    return found


def torch_install(report: dict[str, Any]) -> tuple[str, str] | None:
    """(version, URL) of the torch that the report would install, or None."""
    for item in report.get("install", []):
        meta = item.get("metadata", {})
        if str(meta.get("name", "")).lower() == "torch":
            return str(meta.get("version")), str(item.get("download_info", {}).get("url"))
    return None


def dry_run(project: Path, extras: str, index: str | None) -> dict[str, Any]:
    """pip's dry-run report for ``torch`` and the project (with ``extras``)."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "report.json"
        command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
                   "--quiet", "--report", str(out), TORCH_PIN, f"{project}{extras}"]
        if index:
            command[4:4] = ["--extra-index-url", index]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"pip could not resolve the set-up: {tail}")
        return json.loads(out.read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", default=".", help="project folder (default: .)")
    parser.add_argument("--extras", default="[dev]", help="extras to resolve (default: [dev])")
    parser.add_argument("--index", default=CPU_INDEX, help=f"CPU wheel index ({CPU_INDEX})")
    args = parser.parse_args(argv)
    index = args.index if index_reachable(args.index) else None
    print(f"resolving against {args.index} + pip's configured sources" if index else
          f"{args.index} could not be reached: resolving against pip's configured sources")
    try:
        report = dry_run(Path(args.project).resolve(), args.extras, index)
    except RuntimeError as error:
        print(f"install-check: {error}", file=sys.stderr)
        return 2
    torch = torch_install(report)
    cuda = cuda_packages(report)
    count = len(report.get("install", []))
    print(f"{count} packages; torch {torch[0]} from {torch[1]}" if torch else
          f"{count} packages; no torch in the resolution")
    if cuda:
        print(f"install-check: CUDA packages in a CPU set-up: {', '.join(cuda)}", file=sys.stderr)
        return 1
    print("no nvidia-*, cuda-* or triton package: a CPU set-up")
    return 0


if __name__ == "__main__":
    sys.exit(main())
