"""The ``now`` tool: the current date and time, in UTC or an IANA time zone."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from continuum.agents.tools.base import FunctionTool, ToolError

Clock = Callable[[], datetime]
"""Returns the current time as an aware datetime (tests pass a fixed one)."""

_ZONE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,2}$")


def _system_clock() -> datetime:
    return datetime.now(UTC)


def _zone(name: str) -> tzinfo:
    if name.upper() == "UTC":
        return UTC
    # Checked before zoneinfo sees it: a key is a relative path under the tz database.
    if len(name) > 64 or not _ZONE_NAME.match(name):
        raise ToolError(f"{name!r:.80} is not a time zone name; use one like 'Europe/Rome'")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ToolError(
            f"unknown time zone {name!r}; use an IANA name like 'Europe/Rome'"
        ) from None


def now_tool(clock: Clock | None = None) -> FunctionTool:
    """A tool telling the time by ``clock`` (the system clock by default)."""
    read = clock or _system_clock

    def now(timezone: str | None = None) -> dict[str, Any]:
        """The current date and time.

        Args:
            timezone: An IANA time zone such as "Europe/Rome" or "America/New_York";
                UTC when omitted.
        """
        zone = _zone(timezone) if timezone else UTC
        moment = read().astimezone(zone)
        return {
            "iso": moment.isoformat(),
            "timezone": timezone if timezone else "UTC",
            "weekday": moment.strftime("%A"),
            "unix": moment.timestamp(),
        }

    return FunctionTool(now, in_thread=False)
