"""Turning a YAML file into a validated model, with errors that name the file, key and fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from continuum.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


def _key(loc: tuple[int | str, ...]) -> str:
    key = ""
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key or "(top level)"


def load_yaml(path: Path, schema: type[M], fix: str) -> M:
    """Load ``path`` into ``schema``; any problem becomes a ``ConfigError``."""
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(str(path), "(file)", f"cannot be read ({error.strerror})", fix) from None
    except yaml.YAMLError as error:
        raise ConfigError(str(path), "(file)", f"is not valid YAML ({error})", fix) from None
    if data is None:
        data = {}
    try:
        return schema.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        raise ConfigError(str(path), _key(first["loc"]), message, fix) from None
