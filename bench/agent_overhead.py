"""What agents cost besides the model: the loop, the calculator, and http_get's client.

    .venv/bin/python -m bench.agent_overhead

* loop: a run of two model calls (one tool call, then the answer) against a model that
  answers instantly, compared with just reading the same two event streams: the
  difference is the loop's own cost per run.
* parallel: four tools that each wait 50 ms, asked for in one turn (about 50 ms when
  they run concurrently, 200 ms if they did not).
* calculator: typical expressions and the worst inputs its bounds allow.
* http_get: a GET with a new aiohttp session per call (what the tool does) against one
  reused session, on a local server.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import AsyncGenerator, Callable, Coroutine
from typing import Any

import aiohttp
from aiohttp import web

from continuum.agents import Agent, run, tool
from continuum.agents.tools.arithmetic import CalculatorError, evaluate
from continuum.core.events import Event, Finish, TextDelta, ToolCallDelta, Usage
from continuum.core.types import ChatRequest, Message


@tool(in_thread=False)
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
async def wait(ms: int) -> str:
    """Waits a while."""
    await asyncio.sleep(ms / 1000)
    return "waited"


def _events(request: ChatRequest, calls: list[tuple[str, str]]) -> list[Event]:
    if request.messages[-1].role == "tool":
        return [TextDelta("It"), TextDelta(" is"), TextDelta(" 5."), Finish("stop"), Usage(9, 3)]
    events: list[Event] = []
    for index, (name, arguments) in enumerate(calls):
        events += [ToolCallDelta(index, id=f"c{index}", name=name), ToolCallDelta(index, arguments)]
    return [*events, Finish("tool_calls"), Usage(9, 3)]


def instant(calls: list[tuple[str, str]]) -> Callable[[ChatRequest], AsyncGenerator[Event, None]]:
    async def model(request: ChatRequest) -> AsyncGenerator[Event, None]:
        for event in _events(request, calls):
            yield event

    return model


async def _median(job: Callable[[], Coroutine[Any, Any, object]], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        await job()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


async def loop_cost(rounds: int = 3000) -> None:
    agent = Agent("bench", "instant", {"add": add})
    model = instant([("add", '{"a": 2, "b": 3}')])
    first = ChatRequest("instant", (Message("user", "what is 2+3?"),))
    second = ChatRequest("instant", (Message("tool", "5", tool_call_id="c0"),))

    async def bare() -> None:
        for request in (first, second):
            async for _ in model(request):
                pass

    async def agent_run() -> None:
        await run(agent, "what is 2+3?", model)

    base = await _median(bare, rounds)
    full = await _median(agent_run, rounds)
    print(
        f"loop: run of 2 model calls + 1 tool call {full * 1e6:.1f} µs, reading the 2 "
        f"streams alone {base * 1e6:.1f} µs, loop's own cost {(full - base) * 1e6:.1f} µs"
    )


async def parallel_cost() -> None:
    agent = Agent("bench", "instant", {"wait": wait})
    model = instant([("wait", '{"ms": 50}')] * 4)
    elapsed = await _median(lambda: run(agent, "wait", model), 5)
    print(
        f"parallel: 4 tools of 50 ms each, one turn: {elapsed * 1000:.1f} ms "
        "(sequential would be 200 ms)"
    )


def calculator_cost() -> None:
    cases = {
        "12*(3+4)": "12*(3+4)",
        "sqrt(2)/3 + 1e3**2": "sqrt(2)/3 + 1e3**2",
        "9**9**9 (refused)": "9**9**9",
        "999-char sum": "+".join(["1"] * 500),
        "4096-bit values": "2**4095 * 3**2584 // 3**2584",
        "64 nested parentheses": "(" * 64 + "1" + ")" * 64,
        "1000 characters of garbage": "1+" * 300 + "x" * 400,
    }
    for label, text in cases.items():
        times = []
        for _ in range(300):
            started = time.perf_counter()
            with contextlib.suppress(CalculatorError):
                evaluate(text)
            times.append(time.perf_counter() - started)
        print(f"calculator: {label}: {statistics.median(times) * 1e6:.1f} µs")


async def http_cost(rounds: int = 300) -> None:
    async def page(request: web.Request) -> web.Response:
        return web.Response(text="hello")

    app = web.Application()
    app.router.add_get("/", page)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/"
    try:

        async def fresh() -> None:
            async with aiohttp.ClientSession() as session, session.get(url) as response:
                await response.read()

        async with aiohttp.ClientSession() as shared:

            async def reused() -> None:
                async with shared.get(url) as response:
                    await response.read()

            new = await _median(fresh, rounds)
            kept = await _median(reused, rounds)
        print(
            f"http_get: new session per GET {new * 1e6:.0f} µs, reused session {kept * 1e6:.0f} µs"
        )
    finally:
        await runner.cleanup()


async def main() -> None:
    await loop_cost()
    await parallel_cost()
    calculator_cost()
    await http_cost()


if __name__ == "__main__":
    asyncio.run(main())
