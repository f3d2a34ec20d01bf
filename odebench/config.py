"""Loading and validating workflow configs (config/*.yaml against config/schema.yaml)."""

from __future__ import annotations

import difflib
import functools
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


def _schema_hint(error) -> str:
    """What to do about a schema error: for an unknown key the close and the valid keys, for
    a value the reasons of each alternative (``oneOf``) and the key's description."""
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        valid = list(error.schema.get("properties", {}))
        unknown = [key for key in error.instance if key not in valid]
        close = difflib.get_close_matches(str(unknown[0]), valid, n=3) if unknown else []
        guess = f"did you mean {', '.join(close)}? " if close else ""
        return f"; {guess}valid: {', '.join(valid)}" if valid else ""
    hint = ""
    if error.context:
        reasons = dict.fromkeys(sub.message for sub in error.context)
        hint += f" ({'; '.join(reasons)})"
    description = error.schema.get("description") if isinstance(error.schema, dict) else None
    return hint + (f"; {error.path[-1] if error.path else 'it'}: {description.strip()}"
                   if description else "")


def schema_error_line(error, source: str) -> str:
    """``<source>: <key path>: <schema message>; <hint>``: one line for a jsonschema error."""
    return f"{source}: {_key_path(error)}: {error.message}{_schema_hint(error)}"


def validate(config: dict[str, Any], schema_file: Path, source: str = "config") -> None:
    """Validate against the JSON schema; raise one readable :class:`ConfigError`."""
    import jsonschema  # only needed when validating

    schema = yaml.safe_load(schema_file.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        raise ConfigError(schema_error_line(errors[0], source))


@functools.cache
def _schema() -> dict[str, Any]:
    return yaml.safe_load((REPO_ROOT / "config" / "schema.yaml").read_text())


def _experiment_schema(experiment: str) -> dict[str, Any] | None:
    """The schema of ``experiments.<experiment>`` (its ``$defs`` entry), None if unlisted."""
    schema = _schema()
    entry = schema["properties"]["experiments"].get("properties", {}).get(experiment)
    if entry is None:
        return None
    name = entry["$ref"].rsplit("/", 1)[-1] if "$ref" in entry else None
    return schema["$defs"][name] if name else entry


def accepted_settings(experiment: str) -> list[str] | None:
    """The keys an ``experiments.<experiment>`` entry accepts (config/schema.yaml), or None
    for an experiment id the schema does not list."""
    entry = _experiment_schema(experiment)
    return None if entry is None else list(entry.get("properties", {}))


def check_entry(experiment: str, entry: dict[str, Any], source: str) -> None:
    """Validate one experiment entry against its schema; :class:`ConfigError` names ``source``
    and the offending key (used for each sweep value, which the file schema cannot type)."""
    import jsonschema

    schema = _experiment_schema(experiment)
    if schema is None:
        return
    root = {**schema, "$defs": _schema()["$defs"]}
    errors = sorted(jsonschema.Draft202012Validator(root).iter_errors(entry),
                    key=lambda e: list(e.absolute_path))
    if errors:
        raise ConfigError(schema_error_line(errors[0], source))


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
    check_experiments_listed(config, str(path))
    validate(config, schema_path_for(path), source=str(path))
    return config


def check_experiments_listed(config: dict[str, Any], source: str) -> None:
    """``experiments:`` names at least one experiment (an empty plan would run nothing)."""
    if "experiments" in config and not config["experiments"]:
        valid = ", ".join(_schema()["properties"]["experiments"].get("properties", {}))
        raise ConfigError(f"{source}: experiments: is empty; name at least one experiment "
                          f"(valid: {valid})")


def seeds_of(value: int | list[int]) -> list[int]:
    """``seeds: 3`` means seeds 0, 1, 2; a list is taken as it is."""
    return list(range(value)) if isinstance(value, int) else list(value)
