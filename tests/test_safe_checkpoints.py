"""Loading a checkpoint runs no code: a crafted checkpoint.pt (training or ES RL, torch zip
or the RL task's former raw pickle) is refused with one line naming it, and its payload
never runs."""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from odebench.cli import main
from odebench.errors import CheckpointError
from odebench.records import run_dir
from odebench.records.checkpoint import read_checkpoint, write_checkpoint
from odebench.tasks.run import run_one
from tests.helpers import write_config

POINTCLOUD = {"setup": "hbnode2021", "models": ["node"], "seeds": 1, "epochs": 1,
              "tol": 1.0e-3, "n_train": 12, "batch_size": 12}
RL = {"models": ["odetoode"], "seeds": 1, "iterations": 2, "perturbations": 4, "horizon": 20,
      "backend": "serial", "sweep": {"env": ["Swimmer-v5"]}}
RL_MODEL = "odetoode@env=Swimmer-v5"


class _Planted:
    """Unpickling this creates ``marker``: what a malicious checkpoint would do instead."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _torch_bytes(payload) -> bytes:
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


def _crafted(kind: str, marker: Path) -> bytes:
    """A checkpoint whose loading with torch.load(weights_only=False) or pickle.load creates
    ``marker``: a torch zip of a training checkpoint, of an RL one, or the RL task's former
    raw pickle."""
    evil = _Planted(marker)
    if kind == "training":
        return _torch_bytes({"epoch": 1, "model": {}, "optimizer": {}, "rows": [], "rng": evil})
    state = {"iteration": 1, "theta": evil, "env_steps": 0, "es": {}, "rng": {}, "rows": []}
    if kind == "rl":
        return _torch_bytes(state)
    return pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)


def _would_run(data: bytes, marker: Path, kind: str) -> bool:
    """Control: the unsafe loaders do run the planted code (then the marker is removed)."""
    if kind == "pickle":
        pickle.loads(data)
    else:
        torch.load(io.BytesIO(data), weights_only=False)
    ran = marker.exists()
    marker.unlink(missing_ok=True)
    return ran


def _train(tmp_path: Path, experiment: str) -> list[str]:
    entry = {"pointcloud": POINTCLOUD} if experiment == "pointcloud" else {"rl": RL}
    config = write_config(tmp_path, tmp_path, entry)
    model = "node" if experiment == "pointcloud" else RL_MODEL
    return ["train", "--config", str(config), "--experiment", experiment, "--model", model,
            "--seed", "0", "--quiet"]


@pytest.mark.parametrize("kind", ["training", "rl", "pickle"])
def test_crafted_checkpoint_is_refused_and_runs_nothing(tmp_path, capsys, kind):
    experiment = "pointcloud" if kind == "training" else "rl"
    model = "node" if kind == "training" else RL_MODEL
    marker = tmp_path / "planted-code-ran"
    data = _crafted(kind, marker)
    assert _would_run(data, marker, kind)
    args = _train(tmp_path, experiment)
    assert main(args) == 0  # a real run folder (identity.json and all) to plant it in
    checkpoint = run_dir(tmp_path, experiment, model, 0) / "checkpoint.pt"
    (checkpoint.parent / "summary.json").unlink()
    checkpoint.write_bytes(data)
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith(f"odebench: error: refusing to load checkpoint {checkpoint}: ")
    assert "delete it to restart the run" in err[0]
    assert not marker.exists()
    assert checkpoint.read_bytes() == data
    assert not (checkpoint.parent / "summary.json").exists()


def test_a_pickled_numpy_array_is_refused_too(tmp_path):
    """A checkpoint in the former format (numpy RNG state as an ndarray) is not loaded
    unsafely either: the refusal says to restart."""
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(_torch_bytes({"epoch": 1, "rng": {"numpy": np.random.get_state()}}))
    with pytest.raises(CheckpointError, match=f"refusing to load checkpoint {path}: .*numpy"):
        read_checkpoint(path)


def test_a_checkpoint_of_another_kind_is_named(tmp_path):
    path = tmp_path / "checkpoint.pt"
    write_checkpoint(path, {"iteration": 3})
    with pytest.raises(CheckpointError, match=f"{path} is not an odebench checkpoint .*epoch"):
        read_checkpoint(path, required=("epoch", "model"))


def test_real_checkpoints_load_safely_and_resume(tmp_path, capsys):
    """A finished run's checkpoints of both kinds are weights-only loadable (and the RL one
    holds θ as a tensor); a rerun without summary.json resumes from them."""
    for experiment, model in (("pointcloud", "node"), ("rl", RL_MODEL)):
        args = _train(tmp_path, experiment)
        assert main(args) == 0
        folder = run_dir(tmp_path, experiment, model, 0)
        payload = torch.load(folder / "checkpoint.pt", weights_only=True)
        assert payload["rows"] and isinstance(payload["rows"][0], dict)
        if experiment == "rl":
            assert payload["theta"].dtype == torch.float64
        (folder / "summary.json").unlink()
        capsys.readouterr()
        assert main([a for a in args if a != "--quiet"]) == 0
        assert "resuming" in capsys.readouterr().out


def test_rl_resume_with_observation_statistics_matches_an_uninterrupted_run(tmp_path):
    """θ and the observation statistics come back from their tensors bit for bit."""
    def stop_after_iteration_2(message):
        if "iteration 2/" in message:
            raise KeyboardInterrupt

    frames = []
    for name in ("whole", "part"):
        results = tmp_path / name
        results.mkdir()
        config = {"profile": "test", "results_dir": str(results), "device": "cpu",
                  "threads": 1, "offline": True,
                  "experiments": {"rl": {**RL, "iterations": 3, "obs_norm": True}}}
        if name == "part":
            with pytest.raises(KeyboardInterrupt):
                run_one(config, "rl", RL_MODEL, 0, log=stop_after_iteration_2)
        messages = []
        run_one(config, "rl", RL_MODEL, 0, log=messages.append)
        assert any("resuming" in m and "after iteration 2" in m for m in messages) \
            == (name == "part")
        folder = run_dir(results, "rl", RL_MODEL, 0)
        frames.append(pd.read_csv(folder / "epochs.csv").drop(columns="seconds"))
    pd.testing.assert_frame_equal(frames[0], frames[1], check_exact=True)
