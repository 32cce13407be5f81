"""OpenAI and Ollama request encoding (shapes from their API references, cited in wire.py)."""

from __future__ import annotations

from continuum.core.types import ChatRequest, ContentPart, Message, SamplingParams, Tool, ToolCall
from continuum.providers.ollama.wire import chat_body as ollama_body
from continuum.providers.ollama.wire import error_message as ollama_error
from continuum.providers.openai.wire import chat_body as openai_body
from continuum.providers.openai.wire import error_message as openai_error

IMAGE = {"type": "image_url", "image_url": {"url": "data:image/png;base64,QUJD"}}
REQUEST = ChatRequest(
    model="public",
    messages=(
        Message("system", "Be brief."),
        Message(
            "user", (ContentPart("text", "What is this?"), ContentPart("image_url", raw=IMAGE))
        ),
        Message("assistant", None, tool_calls=(ToolCall("call_1", "lookup", '{"q":"x"}'),)),
        Message("tool", "found", tool_call_id="call_1", name="lookup"),
    ),
    params=SamplingParams(max_tokens=9, temperature=0.5, top_p=0.9, n=2, stop=("END",), seed=3),
    tools=(Tool("lookup", "Find", {"type": "object", "properties": {"q": {"type": "string"}}}),),
    tool_choice="auto",
    response_format={
        "type": "json_schema",
        "json_schema": {"name": "s", "schema": {"type": "object"}},
    },
    user="u1",
    extra={"logprobs": True},
)


def test_openai_body_passes_everything_through() -> None:
    body = openai_body(REQUEST, "gpt-upstream")
    assert body["model"] == "gpt-upstream" and body["logprobs"] is True
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["messages"][1]["content"] == [{"type": "text", "text": "What is this?"}, IMAGE]
    assert body["messages"][2]["tool_calls"][0]["function"] == {
        "name": "lookup",
        "arguments": '{"q":"x"}',
    }
    assert body["messages"][3] == {
        "role": "tool",
        "content": "found",
        "name": "lookup",
        "tool_call_id": "call_1",
    }
    assert body["response_format"] == REQUEST.response_format
    assert (body["max_tokens"], body["n"], body["stop"], body["seed"], body["user"]) == (
        9,
        2,
        ["END"],
        3,
        "u1",
    )
    assert body["tools"][0]["function"]["name"] == "lookup"
    assert openai_error({"error": {"message": "m"}}) == "m" and openai_error({"error": "s"}) == "s"
    assert openai_error([]) is None


def test_ollama_body_uses_native_fields() -> None:
    body = ollama_body(REQUEST, "llama3")
    assert body["options"] == {
        "num_predict": 9,
        "temperature": 0.5,
        "top_p": 0.9,
        "seed": 3,
        "stop": ["END"],
    }
    assert body["format"] == {"type": "object"}
    assert body["messages"][1] == {"role": "user", "content": "What is this?", "images": ["QUJD"]}
    assert body["messages"][2]["tool_calls"] == [
        {"function": {"name": "lookup", "arguments": {"q": "x"}}}
    ]
    assert body["tools"][0]["function"]["parameters"]["properties"] == {"q": {"type": "string"}}
    plain = ollama_body(
        ChatRequest("m", (Message("user", "hi"),), response_format={"type": "json_object"}), "m"
    )
    assert plain["format"] == "json" and "options" not in plain
    assert (
        ollama_error({"error": "model not found"}) == "model not found" and ollama_error({}) is None
    )
