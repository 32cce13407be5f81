"""The fakes as users run them: from the CLI, read by the providers' official SDKs."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import anthropic
import pytest

from continuum.testing.fake_upstream import Fault, fake_anthropic


@pytest.fixture
def cli_anthropic() -> Iterator[str]:
    command = [sys.executable, "-m", "continuum.testing", "fake-anthropic", "--port", "0"]
    process = subprocess.Popen(
        [*command, "--api-key", "sk-ant-k", "--chunks", "4"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "listening on" in line
        yield line.rsplit(" ", 1)[1].strip()
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def test_cli_fake_speaks_anthropic_to_the_official_sdk(cli_anthropic: str) -> None:
    client = anthropic.Anthropic(base_url=cli_anthropic, api_key="sk-ant-k", max_retries=0)
    ask = [{"role": "user", "content": "red green"}]
    message = client.messages.create(model="claude-x", max_tokens=100, messages=ask)  # type: ignore[arg-type]
    assert message.content[0].text == "red green red green"  # type: ignore[union-attr]
    assert message.stop_reason == "end_turn" and message.usage.output_tokens == 4
    with client.messages.stream(model="claude-x", max_tokens=3, messages=ask) as stream:  # type: ignore[arg-type]
        assert "".join(stream.text_stream) == "red green red"
        final = stream.get_final_message()
    assert final.stop_reason == "max_tokens"
    tools = [{"name": "paint", "input_schema": {"type": "object", "required": ["color"]}}]
    with client.messages.stream(
        model="claude-x",
        max_tokens=50,
        messages=ask,
        tools=tools,
        tool_choice={"type": "any"},  # type: ignore[arg-type,list-item]
    ) as stream:
        final = stream.get_final_message()
    block = final.content[0]
    assert block.type == "tool_use" and block.input == {"color": "red green"}
    assert final.stop_reason == "tool_use"
    client.close()


def test_anthropic_errors_are_error_objects() -> None:
    fake = fake_anthropic(fault=Fault(status=529))
    with fake.run_in_thread() as url:
        client = anthropic.Anthropic(base_url=url, api_key="k", max_retries=0)
        with pytest.raises(anthropic.APIStatusError) as caught:
            client.messages.create(
                model="c", max_tokens=5, messages=[{"role": "user", "content": "x"}]
            )
        client.close()
    assert caught.value.status_code == 529
    assert caught.value.body == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "injected fault: status 529"},
    }
