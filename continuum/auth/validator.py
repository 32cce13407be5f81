"""The pluggable user validator of ``POST /validate-user`` (seed 001).

A validator is any ``(user_id: str) -> bool | str``: ``True`` valid, ``False`` invalid,
a string valid under that normalized id. It is named by dotted path,
``package.module:function`` or ``package.module.function``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from continuum.errors import ConfigError, PermissionDenied

Validator = Callable[[str], bool | str]


def accept_any(user_id: str) -> bool | str:
    """The default: every non-empty id is valid as it is."""
    return bool(user_id)


def load_validator(path: str | None) -> Validator:
    if not path:
        return accept_any
    module_name, sep, attribute = path.partition(":")
    if not sep:
        module_name, _, attribute = path.rpartition(".")
    fix = "set CONTINUUM_USER_VALIDATOR to 'package.module:function'"
    try:
        found = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError, ValueError) as error:
        raise ConfigError(
            "environment", "CONTINUUM_USER_VALIDATOR", f"cannot load {path!r} ({error})", fix
        ) from None
    if not callable(found):
        raise ConfigError(
            "environment", "CONTINUUM_USER_VALIDATOR", f"{path!r} is not callable", fix
        )
    validator: Validator = found
    return validator


def normalize_user(validator: Validator, user_id: str) -> str:
    """The id ``validator`` accepts ``user_id`` as (normalized, or as given).

    Raises ``PermissionDenied`` (403, ``invalid_user``) when the validator refuses it.
    """
    verdict = validator(user_id)
    if not verdict:
        raise PermissionDenied(
            f"The user_id '{user_id}' is not valid", param="user_id", code="invalid_user"
        )
    return verdict if isinstance(verdict, str) else user_id
