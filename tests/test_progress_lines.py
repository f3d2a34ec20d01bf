"""Training progress lines: an ETA on every epoch / ES iteration line but the last, and one
line with the final test metrics when a job ends (printed under --quiet too)."""

from __future__ import annotations

import json
import math
import re

import pytest

from odebench.cli import main
from odebench.config import load_config
from odebench.records.progress import EtaClock, format_duration, metrics_text, result_line
from odebench.tasks.run import run_one
from tests.helpers import write_config

POINTCLOUD = {"setup": "hbnode2021", "models": ["node", "hbnode"], "seeds": 1, "epochs": 3,
              "tol": 1.0e-3, "n_train": 12, "batch_size": 6}
EPOCH_LINE = re.compile(r"\[pointcloud/hbnode/seed0\] epoch (\d)/3 .*")


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0s"), (42.4, "42s"), (59.6, "1m00s"), (192, "3m12s"), (3_900, "1h05m"),
    (90_000, "1d01h"), (-3, "0s"), (math.nan, "?"), (math.inf, "?")])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_eta_is_elapsed_per_unit_times_the_units_left():
    clock = FakeClock()
    eta = EtaClock(10, clock=clock)
    assert eta.suffix(0) == ""  # nothing done yet: no estimate
    clock.now += 5.0
    assert eta.suffix(1) == " ETA 45s"
    clock.now += 187.0  # 192 s for 2 epochs: 96 s each, 8 left
    assert eta.suffix(2) == " ETA 12m48s"
    assert eta.suffix(10) == ""  # the last epoch has nothing left


def test_a_resumed_run_estimates_from_this_session_only():
    clock = FakeClock()
    eta = EtaClock(10, done=4, clock=clock)  # epochs 1-4 came from the checkpoint
    clock.now += 10.0
    assert eta.seconds_left(6) == pytest.approx(20.0)  # 5 s per epoch, 4 left


def test_result_line_names_the_run_its_time_and_test_metrics():
    final = {"test_accuracy": 0.93, "best_test_accuracy": 0.95, "best_test_accuracy_epoch": 2,
             "nfe_forward": 26.0, "nfe_backward": 31.5, "loss": 0.2, "total_seconds": 12.0}
    assert result_line("pointcloud", "hbnode", 0, "completed", final, 12.34) == (
        "finished pointcloud/hbnode seed 0 in 12.3 s: test acc 0.930 (best 0.950 at epoch 2), "
        "forward NFE 26, backward NFE 31.5")


def test_result_line_of_a_stopped_run_says_how_and_when():
    line = result_line("mnist", "node", 1, "stopped: NFE cap",
                       {"stopped_at_epoch": 2, "loss": 1.5, "nfe_forward": 400.0}, 75.0)
    assert line == ("finished mnist/node seed 1 (stopped: NFE cap at epoch 2) in 1m15s: "
                    "forward NFE 400")


@pytest.mark.parametrize(("final", "text"), [
    ({"test_mse": 0.0123, "best_test_mse": 0.0123, "nfe_forward": 12.5},
     "test MSE 0.0123, forward NFE 12.5"),
    ({"eval_return": 31.5, "best_eval_return": 40.25, "env_steps": 1280},
     "final return 31.5, best return 40.25, env steps 1280"),
    ({"test_accuracy": 0.9, "test_accuracy_fog": 0.5, "test_accuracy_blur": 0.7},
     "test acc 0.900, corrupted test acc 0.600 (mean of 2)"),
    ({"test_loss": 0.5, "loss": 0.7}, "test loss 0.5, train loss 0.7"),
    ({"a/gd": 1.0, "a/hb": 2.0, "b/gd": 3.0, "b/hb": 4.0, "total_seconds": 1.0},
     "a/gd 1, a/hb 2, b/gd 3, 1 more in summary.json"),
    ({"max_h_norm": float("inf"), "nfe_forward": 40}, "max ||h|| inf, forward NFE 40"),
    ({}, "no final metrics"),
])
def test_metrics_text_picks_what_summary_final_holds(final, text):
    assert metrics_text(final) == text


def _train(config, *extra):
    return main(["train", "--config", str(config), "--experiment", "pointcloud",
                 "--model", "hbnode", "--seed", "0", *extra])


def test_train_prints_eta_on_epoch_lines_and_the_final_test_metrics(tmp_path, capsys):
    config = write_config(tmp_path, tmp_path, {"pointcloud": POINTCLOUD})
    assert _train(config) == 0
    out = capsys.readouterr().out.splitlines()
    epochs = [line for line in out if EPOCH_LINE.fullmatch(line)]
    assert len(epochs) == 3, out
    assert all(re.search(r" ETA \d+s$", line) for line in epochs[:2]), epochs
    assert "ETA" not in epochs[2]  # the last epoch has nothing left
    final = json.loads((tmp_path / "runs/pointcloud/hbnode/seed0/summary.json").read_text())
    finals = [line for line in out if line.startswith("finished ")]
    assert finals == [line for line in finals if re.fullmatch(
        r"finished pointcloud/hbnode seed 0 in \d+\.\d s: test acc "
        + re.escape(f"{final['final']['test_accuracy']:.3f}") + r".*, forward NFE "
        + re.escape(f"{final['final']['nfe_forward']:.4g}") + r", backward NFE .*", line)]
    assert len(finals) == 1, out
    assert out[-1] == "pointcloud/hbnode/seed0: completed"
    # the job's own wall time and start are recorded (reference pieces and done lines read them)
    assert 0 < final["wall_seconds"] < 600 and final["started_at"].endswith("+00:00")
    shown = float(re.search(r" in (\d+\.\d) s:", finals[0]).group(1))
    assert shown == pytest.approx(final["wall_seconds"], abs=0.06)


def test_quiet_train_keeps_only_the_final_line(tmp_path, capsys):
    config = write_config(tmp_path, tmp_path, {"pointcloud": {**POINTCLOUD, "epochs": 2}})
    assert _train(config, "--quiet") == 0
    out = capsys.readouterr().out.splitlines()
    assert not [line for line in out if "epoch" in line or "ETA" in line], out
    assert len(out) == 2 and out[0].startswith("finished pointcloud/hbnode seed 0 in "), out
    assert "test acc " in out[0]


class Interrupted(Exception):
    """Stands for a Ctrl-C after an epoch's checkpoint was written."""


def test_a_resumed_run_prints_eta_on_its_own_epochs(tmp_path):
    config = load_config(write_config(tmp_path, tmp_path,
                                      {"pointcloud": {**POINTCLOUD, "epochs": 4}}))

    def interrupt_after_epoch_2(line: str) -> None:
        if " epoch 2/4 " in line:
            raise Interrupted(line)

    with pytest.raises(Interrupted):
        run_one(config, "pointcloud", "hbnode", 0, log=interrupt_after_epoch_2)
    lines: list[str] = []
    summary = run_one(config, "pointcloud", "hbnode", 0, log=lines.append)
    assert summary["status"] == "completed" and summary["epochs_completed"] == 4
    assert lines[0].startswith("resuming from ") and "after epoch 2" in lines[0], lines
    epochs = [line for line in lines if " epoch " in line and "resuming" not in line]
    assert [line.split("] ")[1][:9] for line in epochs] == ["epoch 3/4", "epoch 4/4"], lines
    assert [("ETA" in line) for line in epochs] == [True, False], lines
    assert lines[-1].startswith("finished pointcloud/hbnode seed 0 in "), lines
