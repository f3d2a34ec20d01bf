"""GPU check (`make gpu-check`): CUDA against CPU for one model of each family, and timed
paper-profile MNIST and CIFAR10 training slices per model with their NFE, written as a small
record under results/reference/gpu/.

1. Equality: each model is built once (seeded), copied to the CPU and to CUDA with the same
   weights, and given the same batch: the outputs, the loss, every parameter gradient and the
   forward/backward NFE must agree (float64, relative tolerance ``--rtol``).
2. Timing: one training slice per model at the paper's settings (tolerance, width, batch size,
   optimiser) on ``--slice`` training images, for MNIST and CIFAR10, through the same trainer a
   real run uses; the record keeps its seconds, images per second and NFE.

``--dry`` runs everything on the CPU (the "other" device is the CPU again) at toy size on the
offline stand-ins, in seconds: what CI tests. Without CUDA and without ``--dry`` it stops with
one line. Budget: at most ~8 minutes on one H100 with the defaults.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from odebench.data.cifar10 import cifar10_standin  # noqa: E402
from odebench.models.flow_baselines import build_flow_classifier  # noqa: E402
from odebench.models.images import build_image_model  # noqa: E402
from odebench.records import RunRecord  # noqa: E402
from odebench.records.atomic import atomic_write_text  # noqa: E402
from odebench.solvers import count_nfe  # noqa: E402
from odebench.tasks import image_classification as images  # noqa: E402
from odebench.tasks.run import RunContext  # noqa: E402

# One model of each family: first order (NODE), augmented (ANODE), second order (SONODE),
# heavy ball (HBNODE, GHBNODE), Nesterov (NesterovNODE, GNesterovNODE), ODEtoODE.
IMAGE_MODELS = ("node", "anode", "sonode", "hbnode", "ghbnode", "nesterovnode",
                "gnesterovnode")
FLOW_MODEL = "odetoode-1"
SETUP = "nesterov2022"  # NesterovNODE Table 2's settings for both image tasks
DEFAULT_OUT = Path("results/reference/gpu")


def _devices(dry: bool) -> tuple[torch.device, torch.device]:
    if dry:
        return torch.device("cpu"), torch.device("cpu")
    if not torch.cuda.is_available():
        raise SystemExit("gpu-check: no CUDA device here; run it on a GPU machine, or "
                         "`python tools/gpu_check.py --dry` for the CPU dry run")
    return torch.device("cpu"), torch.device("cuda")


def _max_rel(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.detach().double().cpu(), b.detach().double().cpu()
    scale = max(float(a.abs().max()), 1e-12)
    return float((a - b).abs().max()) / scale


def _forward_backward(model: nn.Module, x: torch.Tensor, y: torch.Tensor
                      ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor], int, int]:
    model.zero_grad(set_to_none=True)
    with count_nfe() as meter:
        out = model(x)
        forward = meter.forward
        loss = nn.functional.cross_entropy(out, y)
        loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()
             if p.grad is not None}
    return out.detach(), loss.detach(), grads, int(forward), int(meter.backward)


def equality(name: str, build, shape: tuple[int, ...], base: torch.device,
             other: torch.device, batch: int, rtol: float) -> dict[str, Any]:
    """``name`` (built by ``build()``) on ``base`` and ``other`` with equal weights and inputs."""
    torch.manual_seed(0)
    model = build().double()
    x = torch.randn(batch, *shape, dtype=torch.float64)
    y = torch.randint(0, 10, (batch,))
    copy = build().double()
    copy.load_state_dict(model.state_dict())
    first = _forward_backward(model.to(base), x.to(base), y.to(base))
    second = _forward_backward(copy.to(other), x.to(other), y.to(other))
    grad_diff = max((_max_rel(first[2][k], second[2][k]) for k in first[2]), default=0.0)
    row = {"model": name, "output_rel_diff": _max_rel(first[0], second[0]),
           "loss_rel_diff": _max_rel(first[1], second[1]), "grad_rel_diff": grad_diff,
           "nfe": [first[3], first[4]], "nfe_other": [second[3], second[4]],
           "grads_compared": len(first[2])}
    row["equal"] = bool(row["output_rel_diff"] <= rtol and row["loss_rel_diff"] <= rtol
                        and grad_diff <= rtol and row["nfe"] == row["nfe_other"]
                        and set(first[2]) == set(second[2]))
    return row


def _image_data(task: str, n_train: int, dry: bool):
    """The real data from the cache when present; else the stand-in at the paper's shape."""
    if not dry:
        try:
            cfg = images.resolve(task, SETUP, {"n_train": n_train, "n_test": 1000})
            return images.load(task, cfg, None, offline=False), f"real {task}"
        except Exception as error:  # noqa: BLE001 - no cache, no network: say so, go on
            reason = str(error).splitlines()[0][:120]
    else:
        reason = "dry run"
    if task == "cifar10":
        data = cifar10_standin(n_train, 64, size=32)
    else:
        from benchmarks.paper_epoch import mnist_shaped_standin

        data = mnist_shaped_standin(n_train, 64)
    return data, f"{task}-shaped stand-in ({reason})"


def timed_slice(task: str, model: str, n_train: int, device: torch.device, dry: bool
                ) -> dict[str, Any]:
    """One epoch on ``n_train`` images at the paper's settings (dry: a loose tolerance)."""
    overrides = {"epochs": 1, "seeds": 1, "n_train": n_train, "eval_every": 1}
    if dry:
        overrides.update(tol=1e-2, batch_size=16)
    cfg = images.resolve(task, SETUP, overrides)
    data, source = _image_data(task, n_train, dry)
    loader = images.load
    images.load = lambda *_a, **_k: data
    try:
        with tempfile.TemporaryDirectory() as folder:
            record = RunRecord(Path(folder), task, model, 0)
            context = RunContext(device, None, offline=dry, log=lambda _m: None)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            started = time.perf_counter()
            outcome, extra = images.run(task, cfg, model, 0, record, context)
            seconds = time.perf_counter() - started
    finally:
        images.load = loader
    row = outcome.rows[-1] if outcome.rows else {}
    return {"task": task, "model": model, "images": n_train, "tol": cfg["tol"],
            "batch_size": cfg["batch_size"], "seconds": round(seconds, 2),
            "images_per_second": round(n_train / seconds, 1) if seconds else math.nan,
            "nfe_forward": row.get("nfe_forward"), "nfe_backward": row.get("nfe_backward"),
            "test_accuracy": row.get("test_accuracy"), "status": outcome.status,
            "n_params": extra.get("n_params"), "data": source}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry", action="store_true",
                        help="CPU only, toy sizes, stand-in data (what CI runs)")
    parser.add_argument("--out", default=str(DEFAULT_OUT),
                        help=f"folder of the record (default {DEFAULT_OUT})")
    parser.add_argument("--slice", type=int, default=None,
                        help="training images per timed slice (default 4096; dry 32)")
    parser.add_argument("--rtol", type=float, default=1e-6,
                        help="largest relative difference CPU vs CUDA (float64; default 1e-6)")
    parser.add_argument("--models", default=",".join(IMAGE_MODELS),
                        help="image models to check and time (default: one of each family)")
    args = parser.parse_args(argv)
    base, other = _devices(args.dry)
    n_slice = args.slice or (32 if args.dry else 4096)
    models = [m for m in args.models.split(",") if m]
    started = time.perf_counter()
    spec = images.solver_for(images.resolve("mnist", SETUP, {"tol": 1e-3 if args.dry else 1e-5}))
    checks = []
    for model in models:
        checks.append(equality(model, lambda m=model: build_image_model(
            SETUP, "mnist", m, spec, image_shape=(1, 28, 28)), (1, 28, 28), base, other, 4,
            args.rtol))
        print(f"equal {model}: {checks[-1]['equal']} (output {checks[-1]['output_rel_diff']:.1e},"
              f" grads {checks[-1]['grad_rel_diff']:.1e}, NFE {checks[-1]['nfe']})", flush=True)
    checks.append(equality(FLOW_MODEL, lambda: build_flow_classifier(
        FLOW_MODEL, in_features=784, width=32 if args.dry else 128, dropout=0.0, eta=0.25,
        T=1.0), (784,), base, other, 4, args.rtol))
    print(f"equal {FLOW_MODEL}: {checks[-1]['equal']}", flush=True)
    timings = []
    for task in ("mnist", "cifar10"):
        for model in models:
            timings.append(timed_slice(task, model, n_slice, other, args.dry))
            t = timings[-1]
            print(f"{task} {model}: {t['seconds']} s for {t['images']} images, NFE "
                  f"{t['nfe_forward']}/{t['nfe_backward']}", flush=True)
    device_name = (torch.cuda.get_device_name(other) if other.type == "cuda"
                   else platform.processor() or "cpu")
    record = {"written_at": datetime.now(UTC).isoformat(timespec="seconds"), "dry": args.dry,
              "device": str(other), "device_name": device_name, "torch": torch.__version__,
              "cuda": torch.version.cuda, "rtol": args.rtol, "all_equal": all(
                  c["equal"] for c in checks), "equality": checks, "timings": timings,
              "wall_seconds": round(time.perf_counter() - started, 1)}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = "dry" if args.dry else f"{other.type}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    path = out / f"gpu_check-{stem}.json"
    atomic_write_text(path, json.dumps(record, indent=1) + "\n")
    print(f"gpu-check: {'all equal' if record['all_equal'] else 'DIFFERENCES'}; "
          f"{record['wall_seconds']} s; record {path}")
    return 0 if record["all_equal"] else 1


if __name__ == "__main__":
    sys.exit(main())
