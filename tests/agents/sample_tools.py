"""Tools of the gateway agent tests: one that adds, one that fails, one that never ends,
and two that only finish when they run at the same time."""

from __future__ import annotations

import asyncio

from continuum.agents.tools import ToolContext, tool


@tool(in_thread=False)
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first.
        b: The second.
    """
    return a + b


@tool(in_thread=False)
def explode(reason: str) -> str:
    """Fail, always.

    Args:
        reason: What to fail with.
    """
    raise RuntimeError(reason)


@tool
async def hang(reason: str) -> str:
    """Never answer.

    Args:
        reason: Ignored.
    """
    await asyncio.Event().wait()
    return reason


async def _meet(who: str, context: ToolContext) -> str:
    # Both calls share the conversation's state: run one after the other, the first
    # would wait for the second until the tool timeout.
    meeting = context.state.setdefault("meeting", asyncio.Barrier(2))
    await meeting.wait()
    return f"{who} met"


@tool
async def meet_a(*, context: ToolContext) -> str:
    """Wait for meet_b to run at the same time."""
    return await _meet("a", context)


@tool
async def meet_b(*, context: ToolContext) -> str:
    """Wait for meet_a to run at the same time."""
    return await _meet("b", context)
