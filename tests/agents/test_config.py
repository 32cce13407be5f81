"""agents.yml: loading, defaults, and errors that name the file, the key and the fix."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from continuum.agents.agent import Agent, agent_model_id, agent_name
from continuum.agents.config import load_agents
from continuum.core.limits import RateLimit
from continuum.errors import ConfigError

TOOLS_MODULE = '''
from continuum.agents.tools import tool

@tool
def shout(text: str) -> str:
    """Upper-case the text."""
    return text.upper()
'''

CLASH_MODULE = '''
from continuum.agents.tools import tool

@tool
def calculator(expression: str) -> str:
    """A second calculator."""
    return expression
'''


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "cfg_shout_tools.py").write_text(TOOLS_MODULE)
    (tmp_path / "cfg_clash_tools.py").write_text(CLASH_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in ("cfg_shout_tools", "cfg_clash_tools"):
        sys.modules.pop(name, None)


def write(folder: Path, text: str) -> Path:
    path = folder / "agents.yml"
    path.write_text(text)
    return path


def test_a_full_file(folder: Path) -> None:
    path = write(
        folder,
        """
tool_modules: ["cfg_shout_tools"]
tool_settings:
  http_get: {allow_hosts: ["api.example.com", "*.example.org"], max_bytes: 1000}
agents:
  - name: "math"
    model: "local-text"
    system_prompt: "You are a careful calculator."
    tools: ["calculator", "now"]
    max_iterations: 5
  - name: loud-1
    model: agent/math
    tools: [shout, http_get, scratchpad]
    tool_timeout: 2.5
    rate_limit: ["10/minute", "1000 tokens/hour"]
""",
    )
    config = load_agents(path, models={"local-text"})
    math = config.agents["math"]
    assert math == Agent(
        name="math",
        model="local-text",
        tools={"calculator": config.tools["calculator"], "now": config.tools["now"]},
        system_prompt="You are a careful calculator.",
        max_iterations=5,
    )
    assert math.tool_timeout == 30.0 and math.rate_limit == () and math.model_id == "agent/math"
    loud = config.get("loud-1")
    assert loud is not None and list(loud.tools) == ["shout", "http_get", "scratchpad"]
    assert loud.tool_timeout == 2.5 and loud.max_iterations == 5
    assert loud.rate_limit == (RateLimit(10, 60), RateLimit(1000, 3600, "tokens"))
    assert config.tool_settings.http_get.max_bytes == 1000
    assert config.tools.names() == ["calculator", "now", "scratchpad", "http_get", "shout"]
    assert config.get("nobody") is None


def test_an_empty_file_has_no_agents(folder: Path) -> None:
    config = load_agents(write(folder, ""))
    assert dict(config.agents) == {} and "calculator" in config.tools


def test_model_ids_of_agents() -> None:
    assert agent_model_id("math") == "agent/math"
    assert agent_name("agent/math") == "math" and agent_name("local-text") is None


def agent(**fields: object) -> str:
    entry = {"name": "a", "model": "local-text", **fields}
    lines = "\n".join(f"    {key}: {value}" for key, value in entry.items() if key != "name")
    return f"agents:\n  - name: {entry['name']}\n{lines}\n"


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ("agents: [{model: local-text}]", "agents[0].name", "Field required"),
        ("agents: [{name: a}]", "agents[0].model", "Field required"),
        (agent(name='"has space"'), "agents[0].name", "'has space' is not an agent name"),
        (agent(name='"-dash"'), "agents[0].name", "is not an agent name"),
        (agent(name="x" * 65), "agents[0].name", "is not an agent name"),
        (agent(name='"a/b"'), "agents[0].name", "is not an agent name"),
        (agent() + "  - {name: a, model: local-text}\n", "agents[1].name", "repeats the name 'a'"),
        (
            agent(tools="[calculator, calculator]"),
            "agents[0].tools",
            "names calculator more than once",
        ),
        (agent(tools="[shell]"), "agents[0].tools[0]", "unknown tool 'shell'"),
        (agent(tools="[http_get]"), "agents[0].tools[0]", "allow_hosts is empty"),
        (agent(max_iterations=0), "agents[0].max_iterations", "greater than or equal to 1"),
        (agent(max_iterations=101), "agents[0].max_iterations", "less than or equal to 100"),
        (agent(tool_timeout=0), "agents[0].tool_timeout", "greater than 0"),
        (agent(rate_limit='"lots"'), "agents[0].rate_limit", "is not a rate limit"),
        (agent(temperature=1), "agents[0].temperature", "Extra inputs are not permitted"),
        (agent(model="agent/nobody"), "agents[0].model", "'agent/nobody' names no agent"),
        (agent(model="agent/a"), "agents[0].model", "loops (a -> a)"),
        (
            "agents:\n  - {name: a, model: agent/b}\n  - {name: b, model: agent/c}\n"
            "  - {name: c, model: agent/a}\n",
            "agents[0].model",
            "loops (a -> b -> c -> a)",
        ),
        (
            "agents:\n  - {name: a, model: agent/b}\n  - {name: b, model: agent/b}\n",
            "agents[0].model",
            "loops (a -> b -> b)",
        ),
        (
            "tool_modules: [cfg_no_such_module]",
            "tool_modules[0]",
            "cannot import 'cfg_no_such_module'",
        ),
        ("tool_modules: ['os; rm']", "tool_modules", "is not a module name"),
        ("tool_modules: [cfg_clash_tools]", "tool_modules[0]", "two tools are named 'calculator'"),
        (
            "tool_settings: {http_get: {allow_hosts: ['http://x']}}",
            "tool_settings.http_get.allow_hosts",
            "not a host rule",
        ),
        (
            "tool_settings: {scratchpad: {max_keys: 0}}",
            "tool_settings.scratchpad.max_keys",
            "greater than or equal to 1",
        ),
        ("tools: []", "tools", "Extra inputs are not permitted"),
        ("agents: {name: a}", "agents", "valid list"),
        ("agents: [", "(file)", "is not valid YAML"),
    ],
)
def test_errors_name_the_file_key_and_fix(folder: Path, text: str, key: str, message: str) -> None:
    path = write(folder, text)
    with pytest.raises(ConfigError) as caught:
        load_agents(path)
    error = caught.value
    assert error.file == str(path)
    assert error.key == key, error.message
    assert message in error.message
    assert "Fix:" in error.message


def test_unknown_tools_list_the_available_ones(folder: Path) -> None:
    with pytest.raises(ConfigError, match="use one of: calculator, now, scratchpad, http_get"):
        load_agents(write(folder, agent(tools="[shell]")))


def test_models_are_checked_when_the_caller_knows_them(folder: Path) -> None:
    path = write(folder, agent(model="gpt-nope"))
    assert load_agents(path).agents["a"].model == "gpt-nope"  # unchecked without a list
    with pytest.raises(ConfigError, match="unknown model 'gpt-nope'") as caught:
        load_agents(path, models={"local-text", "local-echo"})
    assert caught.value.key == "agents[0].model"


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        load_agents(tmp_path / "agents.yml")
