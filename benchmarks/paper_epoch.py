"""Time paper-profile training epochs of an image task on the available device.

Uses the task's paper defaults (``odebench.tasks.image_classification``) and the shared trainer,
so the numbers are those a real run records. Data: real MNIST/CIFAR10 from the cache when
present (``--data-dir``), else an MNIST-shaped stand-in (the bundled 8x8 digits upsampled to
28x28 and repeated to the real set's size) — say which in any report.

    python benchmarks/paper_epoch.py --task mnist --model hbnode --epochs 1
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from odebench.data.mnist import digits_standin  # noqa: E402
from odebench.records import RunRecord  # noqa: E402
from odebench.tasks import image_classification as images  # noqa: E402
from odebench.tasks.run import RunContext, resolve_device  # noqa: E402

REAL_SIZES = {"mnist": (60_000, 10_000)}


def mnist_shaped_standin(n_train: int, n_test: int):
    """Digits upsampled to 1x28x28 and tiled to ``n_train``/``n_test`` images."""
    train_x, train_y, test_x, test_y = digits_standin()

    def grow(x, y, n):
        x = F.interpolate(x, size=(28, 28), mode="bilinear", align_corners=False)
        reps = -(-n // len(x))
        return x.repeat(reps, 1, 1, 1)[:n], y.repeat(reps)[:n]

    return (*grow(train_x, train_y, n_train), *grow(test_x, test_y, n_test))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="mnist", choices=["mnist"])
    parser.add_argument("--setup", default="nesterov2022", choices=list(images.SETUPS))
    parser.add_argument("--model", default="hbnode")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--n-train", type=int, default=None, help="cut the training set")
    parser.add_argument("--data-dir", default=None, help="cache with real MNIST, if any")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    cfg = images.resolve(args.task, args.setup, {"epochs": args.epochs, "seeds": 1,
                                                 "n_train": args.n_train})
    device = resolve_device(args.device)
    try:
        data = images.load(args.task, cfg, args.data_dir, offline=False)
        source = f"real {args.task}"
    except Exception as error:  # noqa: BLE001 - no network / no cache: say so and go on
        n_train, n_test = REAL_SIZES[args.task]
        data = mnist_shaped_standin(args.n_train or n_train, n_test)
        source = f"MNIST-shaped stand-in (digits upsampled to 28x28), real data unavailable: " \
                 f"{str(error).splitlines()[0][:120]}"
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"device {device} ({name}); data: {source}; train {len(data[0])}, "
          f"test {len(data[2])}", flush=True)

    with tempfile.TemporaryDirectory() as folder:
        record = RunRecord(Path(folder), args.task, args.model, 0)
        context = RunContext(device, args.data_dir, offline=False, log=print)
        images.load = lambda *_a, **_k: data  # the trainer gets exactly these tensors
        started = time.perf_counter()
        outcome, extra = images.run(args.task, cfg, args.model, 0, record, context)
        wall = time.perf_counter() - started
    summary = {"device": str(device), "model": args.model, "setup": args.setup,
               "status": outcome.status, "n_params": extra["n_params"], "wall_s": round(wall, 1),
               "epochs": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}
                          for r in outcome.rows]}
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
