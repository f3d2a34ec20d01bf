"""Progress lines of a training job: the ETA on each epoch (or ES iteration) line, and one
line with the final test metrics when the job ends."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any

from odebench.records.run_record import STATUS_COMPLETED

# (key of summary.json's ``final``, label, format): the metrics the result line shows, in order.
RESULT_METRICS = (
    ("test_accuracy", "test acc", "{:.3f}"),
    ("test_mse", "test MSE", "{:.4g}"),
    ("eval_return", "final return", "{:.4g}"),
    ("best_eval_return", "best return", "{:.4g}"),
    ("bounds_hold_fraction", "bounds hold in", "{:.0%} of (T, N) cells"),
    ("max_h_norm", "max ||h||", "{:.4g}"),
    ("train_loss_last", "train loss", "{:.4g}"),
    ("nfe_forward", "forward NFE", "{:.4g}"),
    ("nfe_backward", "backward NFE", "{:.4g}"),
    ("env_steps", "env steps", "{:.0f}"),
)
# Shown only when no metric of RESULT_METRICS is (a run with no test score).
FALLBACK_METRICS = (("test_loss", "test loss", "{:.4g}"), ("loss", "train loss", "{:.4g}"))
# Best-so-far scores shown beside the final one when they differ.
BEST_OF = {"test_accuracy": "{:.3f}", "test_mse": "{:.4g}"}
LISTED_AT_MOST = 3  # values listed when a run's final metrics have none of the known keys
NOT_METRICS = ("total_seconds", "epoch", "stopped_at_epoch", "iteration", "seconds", "lr")


def format_duration(seconds: float) -> str:
    """``42s``, ``3m12s``, ``2h05m`` or ``1d03h`` (whole seconds); ``?`` when not finite."""
    if not math.isfinite(seconds):
        return "?"
    total = max(0, round(seconds))
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def format_seconds(seconds: float) -> str:
    """A job's wall time: ``12.3 s`` under a minute, else :func:`format_duration`."""
    return f"{seconds:.1f} s" if seconds < 60 else format_duration(seconds)


class EtaClock:
    """Estimates the time left of ``total`` units (epochs, iterations) from the units done
    since it started: elapsed / done x remaining. A resumed run counts only this session."""

    def __init__(self, total: int, done: int = 0,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.total, self.start_done, self.clock = total, done, clock
        self.started = clock()

    def seconds_left(self, done: int) -> float | None:
        """Seconds left after ``done`` units; ``None`` before the first unit or at the end."""
        finished = done - self.start_done
        if finished <= 0 or done >= self.total:
            return None
        return (self.clock() - self.started) / finished * (self.total - done)

    def suffix(self, done: int) -> str:
        """`` ETA 3m12s`` for a progress line, or ``""`` when there is no estimate."""
        left = self.seconds_left(done)
        return "" if left is None else f" ETA {format_duration(left)}"


def metrics_text(final: Mapping[str, Any]) -> str:
    """The final metrics of ``final`` (summary.json's ``final``) as ``label value, ...``."""
    parts = [_metric(final, key, label, fmt) for key, label, fmt in RESULT_METRICS]
    parts = [part for part in parts if part]
    corrupted = [v for k, v in final.items()
                 if k.startswith("test_accuracy_") and _is_number(v)]
    if corrupted:
        parts.insert(1, f"corrupted test acc {sum(corrupted) / len(corrupted):.3f} "
                        f"(mean of {len(corrupted)})")
    if not parts:
        parts = [p for p in (_metric(final, *rule) for rule in FALLBACK_METRICS) if p]
    if not parts:
        parts = _listed(final)
    return ", ".join(parts) if parts else "no final metrics"


def result_line(experiment: str, run: str, seed: int, status: str, final: Mapping[str, Any],
                seconds: float) -> str:
    """``finished pointcloud/hbnode seed 0 in 12.3 s: test acc 0.930, forward NFE 26``; a run
    that stopped early names how and at which epoch."""
    how = ""
    if status != STATUS_COMPLETED:
        at = final.get("stopped_at_epoch")
        how = f" ({status}" + (f" at epoch {at}" if at is not None else "") + ")"
    return (f"finished {experiment}/{run} seed {seed}{how} in {format_seconds(seconds)}: "
            f"{metrics_text(final)}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _metric(final: Mapping[str, Any], key: str, label: str, fmt: str) -> str:
    """``label value`` (with the best value when it differs), or ``""`` when not recorded."""
    value = final.get(key)
    if not _is_number(value):
        return ""
    text = f"{label} {fmt.format(value)}"
    best = final.get(f"best_{key}")
    if key in BEST_OF and _is_number(best) and best != value:
        epoch = final.get(f"best_{key}_epoch")
        text += f" (best {BEST_OF[key].format(best)}" + (
            f" at epoch {epoch})" if epoch is not None else ")")
    return text


def _listed(final: Mapping[str, Any]) -> list[str]:
    """The first numeric values of ``final`` by name, and how many more summary.json holds."""
    values = [(k, v) for k, v in final.items() if _is_number(v) and k not in NOT_METRICS]
    parts = [f"{k} {v:.4g}" for k, v in values[:LISTED_AT_MOST]]
    if len(values) > LISTED_AT_MOST:
        parts.append(f"{len(values) - LISTED_AT_MOST} more in summary.json")
    return parts
