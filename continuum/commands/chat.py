"""``continuum chat``: a terminal client of a running gateway, through any of its doors.

    continuum chat 'Hello!'                          # one question, the answer, exit
    continuum chat --url tcp://127.0.0.1:8989        # an interactive multi-turn chat
    echo 'Hi' | continuum chat --url ws://127.0.0.1:8080

Exit status: 0 when every answer arrived whole; 1 when a request failed (the gateway's
error, or a lost connection, on stderr); 2 for a usage error (bad arguments or URL, no
key found); 130 when interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any, TextIO

from continuum.commands.chat_doors import ChatDoor, ChatFailed, open_door
from continuum.commands.exits import FAILED, INTERRUPTED, OK, USAGE
from continuum.settings import ChatClientSettings

DEFAULT_URL = "http://127.0.0.1:8080"
FALLBACK_MODEL = "local-text"

EPILOG = """\
doors (by the URL's scheme):
  http://host:port   SSE from POST /v1/chat/completions (the default: http://127.0.0.1:8080)
  ws://host:port     the WebSocket chat, /v1/chat/completions/ws
  tcp://host:port    the Continuum TCP protocol (port 8989 by default)

the key: --key, else CONTINUUM_API_KEY, else <data dir>/sample-key (the sample
credential `continuum serve` makes; data dir: --data-dir, CONTINUUM_DATA_DIR or ./data).
the model: --model, else the first one GET /v1/models lists (http and ws), else local-text.

without a prompt: an interactive chat; each line of stdin is your next message, the
conversation is kept, /exit or end of input ends it.

exit status: 0 every answer arrived; 1 a request failed (the error is on stderr; in an
interactive chat the session goes on unless the key or the connection failed);
2 a usage error (bad arguments or URL, no key); 130 interrupted.
"""


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``chat`` to the ``continuum`` command's subcommands."""
    chat = commands.add_parser(
        "chat",
        help="chat with a running gateway from the terminal (http, ws or tcp)",
        description="Chat with a running Continuum gateway through its HTTP (SSE), "
        "WebSocket or TCP door.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    chat.add_argument("prompt", nargs="?", help="one message to send; omit for a chat")
    chat.add_argument("--url", default=DEFAULT_URL, help=f"the gateway (default {DEFAULT_URL})")
    chat.add_argument("--key", help="the API key (default: CONTINUUM_API_KEY, then sample-key)")
    chat.add_argument("--model", help="the model (default: the first one the gateway lists)")
    chat.add_argument("--data-dir", type=Path, help="where sample-key lives (default ./data)")
    chat.set_defaults(handler=main)


def find_key(args: argparse.Namespace, settings: ChatClientSettings) -> str | None:
    if args.key:
        return str(args.key)
    if settings.api_key:
        return settings.api_key
    sample = (args.data_dir or settings.data_dir) / "sample-key"
    try:
        return sample.read_text().strip() or None
    except OSError:
        return None


def main(args: argparse.Namespace) -> int:
    """Run ``continuum chat``; returns the exit status."""
    settings = ChatClientSettings.from_env()
    key = find_key(args, settings)
    if key is None:
        print(
            "continuum chat: no API key: pass --key, set CONTINUUM_API_KEY, or run where "
            "`continuum serve` keeps data/sample-key (or pass --data-dir)",
            file=sys.stderr,
        )
        return USAGE
    try:
        door = open_door(args.url, key)
    except ValueError as error:
        print(f"continuum chat: {error}", file=sys.stderr)
        return USAGE
    try:
        return asyncio.run(_session(door, args.model, args.prompt, sys.stdin, sys.stdout))
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return INTERRUPTED


async def _session(
    door: ChatDoor, model: str | None, prompt: str | None, stdin: TextIO, stdout: TextIO
) -> int:
    try:
        model = model or await door.default_model() or FALLBACK_MODEL
        if prompt is not None:
            return await _one_shot(door, model, prompt, stdout)
        return await _interactive(door, model, stdin, stdout)
    finally:
        await door.aclose()


async def _reply(door: ChatDoor, model: str, messages: list[dict[str, Any]], out: TextIO) -> str:
    """Stream one answer to ``out`` as it comes; return its text."""
    parts: list[str] = []
    try:
        async for text in door.answer(model, messages):
            parts.append(text)
            out.write(text)
            out.flush()
    finally:
        if parts:
            out.write("\n")
            out.flush()
    return "".join(parts)


async def _one_shot(door: ChatDoor, model: str, prompt: str, out: TextIO) -> int:
    try:
        await _reply(door, model, [{"role": "user", "content": prompt}], out)
    except ChatFailed as error:
        print(f"continuum chat: {error}", file=sys.stderr)
        return FAILED
    return OK


async def _interactive(door: ChatDoor, model: str, stdin: TextIO, out: TextIO) -> int:
    tty = stdin.isatty()
    if tty:
        print(f"Chatting with {model}; /exit or Ctrl-D to end.", file=sys.stderr)
    messages: list[dict[str, Any]] = []
    status = OK
    while True:
        if tty:
            print("you> ", end="", file=sys.stderr, flush=True)
        line = await asyncio.to_thread(stdin.readline)
        if not line:  # end of input
            break
        text = line.strip()
        if text == "/exit":
            break
        if not text:
            continue
        messages.append({"role": "user", "content": text})
        try:
            answer = await _reply(door, model, messages, out)
        except ChatFailed as error:
            print(f"continuum chat: {error}", file=sys.stderr)
            messages.pop()  # the failed turn is not part of the conversation
            status = FAILED
            if error.fatal:
                break
            continue
        messages.append({"role": "assistant", "content": answer})
    return status
