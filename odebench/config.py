"""Loading and validating workflow configs (config/*.yaml against config/schema.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """A config problem; the message names the file and the offending key or value."""


def schema_path_for(config_path: Path) -> Path:
    """``schema.yaml`` beside the config, else the repository's ``config/schema.yaml``."""
    beside = config_path.parent / "schema.yaml"
    return beside if beside.is_file() else REPO_ROOT / "config" / "schema.yaml"


def _key_path(error) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "<top level>"


def validate(config: dict[str, Any], schema_file: Path, source: str = "config") -> None:
    """Validate against the JSON schema; raise one readable :class:`ConfigError`."""
    import jsonschema  # only needed when validating

    schema = yaml.safe_load(schema_file.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        raise ConfigError(f"{source}: {_key_path(error)}: {error.message}")


def load_config(path: str | Path) -> dict[str, Any]:
    """Read a YAML config and validate it; errors name the file and the key."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        config = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    validate(config, schema_path_for(path), source=str(path))
    return config


def seeds_of(value: int | list[int]) -> list[int]:
    """``seeds: 3`` means seeds 0, 1, 2; a list is taken as it is."""
    return list(range(value)) if isinstance(value, int) else list(value)
