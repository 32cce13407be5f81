"""What is checked at start: agents.yml against the routes, the internal key, seed 003's
settings; and the agent_runtime provider's own settings."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

from continuum.app import build_gateway
from continuum.errors import ConfigError
from continuum.settings import Settings
from continuum.testing.fake_upstream import Fault, fake_openai
from tests.agents.stage import staged, write_config

DEFAULT = "change-me-internal-key"


def start(tmp_path: Path, agents_yml: str, models: str = "", **env: str) -> None:
    config = write_config(tmp_path / "config", agents_yml, {}, models)
    build_gateway(Settings.from_env(env, config_dir=config, data_dir=tmp_path / "data"))


@pytest.mark.parametrize(
    ("agents_yml", "models", "says"),
    [
        (
            'agents: [{name: "math", model: "local-txt"}]',
            "",
            "agents.yml: agents[0].model: unknown model 'local-txt'. Fix: use a model id from "
            "models.yml, or agent/<name> for another agent",
        ),
        (
            'agents: [{name: "math", model: "local-text"}]',
            '  - {id: "agent/math", provider: "local", upstream_model: "text"}\n',
            "agents.yml: agents[0].name: 'agent/math' is also a model id in models.yml. "
            "Fix: rename the agent or that model",
        ),
        (
            'agents: [{name: "a", model: "agent/b"}, {name: "b", model: "agent/a"}]',
            "",
            "agents.yml: agents[0].model: the model chain of agent 'a' loops (a -> b -> a)",
        ),
        (
            'agents: [{name: "math", model: "local-text", tools: ["calculater"]}]',
            "",
            "agents.yml: agents[0].tools[0]: unknown tool 'calculater'",
        ),
        (
            'agents: [{name: "message", model: "local-text"}]',
            "",
            "agents.yml: agents[0].name: 'message' is reserved: /agent/message/stream is the "
            "agent-runtime endpoint (seed 003); choose another name",
        ),
    ],
)
def test_agents_yml_is_checked_against_the_routes_at_start(
    tmp_path: Path, agents_yml: str, models: str, says: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        start(tmp_path, agents_yml, models)
    assert says in str(refused.value)
    assert str(refused.value).startswith(str(tmp_path / "config" / "agents.yml"))


def test_without_agents_yml_there_are_no_agents(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config", "", {})
    (config / "agents.yml").unlink()
    gateway = build_gateway(Settings.from_env({}, config_dir=config, data_dir=tmp_path))
    assert gateway.agents.agents == {}
    assert [route.id for route in gateway.pipeline.table.routes()] == ["local-text"]


@pytest.mark.parametrize("variable", ["CONTINUUM_INTERNAL_KEY", "GATEWAY__INTERNAL_API_KEY"])
def test_the_seeds_published_internal_key_is_refused_outside_dev_mode(variable: str) -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({variable: DEFAULT})
    assert str(refused.value).startswith(f"environment: {variable}: is seed 003's published")
    with pytest.raises(ConfigError):
        Settings.from_env({}, internal_key=DEFAULT)
    for dev in ("CONTINUUM_DEV_MODE", "DEV_MODE"):
        assert Settings.from_env({variable: DEFAULT, dev: "true"}).internal_key == DEFAULT


def test_internal_key_and_dev_mode_settings() -> None:
    both = {"CONTINUUM_INTERNAL_KEY": "ours-0123456789", "GATEWAY__INTERNAL_API_KEY": "seed"}
    assert Settings.from_env(both).internal_key == "ours-0123456789"
    assert Settings.from_env({"GATEWAY__INTERNAL_API_KEY": "seed-key"}).internal_key == "seed-key"
    assert Settings.from_env({"CONTINUUM_INTERNAL_KEY": ""}).internal_key is None
    assert Settings.from_env({}).dev_mode is False
    assert Settings.from_env({"DEV_MODE": "1"}).dev_mode is True
    with pytest.raises(ConfigError, match="DEV_MODE: 'maybe' is not a boolean"):
        Settings.from_env({"DEV_MODE": "maybe"})


def test_the_seeds_log_level_is_accepted() -> None:
    assert Settings.from_env({"GATEWAY__LOG_LEVEL": "DEBUG"}).log_level == "debug"
    both = {"GATEWAY__LOG_LEVEL": "DEBUG", "CONTINUUM_LOG_LEVEL": "warning"}
    assert Settings.from_env(both).log_level == "warning"
    with pytest.raises(ConfigError, match="GATEWAY__LOG_LEVEL: 'loud' is unknown"):
        Settings.from_env({"GATEWAY__LOG_LEVEL": "LOUD"})


REMOTE = '  - {id: "remote", provider: "agent_runtime", upstream_model: "agent/x"}\n'


@pytest.mark.parametrize("variable", ["CONTINUUM_AGENT_TIMEOUT", "GATEWAY__REQUEST_TIMEOUT"])
@pytest.mark.parametrize("value", ["soon", "0", "-3", "1e9"])
def test_a_bad_agent_timeout_is_refused_at_start(tmp_path: Path, variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as refused:
        start(tmp_path, "agents: []", REMOTE, **{variable: value})
    assert str(refused.value).startswith(f"environment: {variable}: '{value}' is not a timeout")


def test_the_seeds_request_timeout_bounds_an_agent_runtime_reply(tmp_path: Path) -> None:
    # An "agent runtime" that takes 30 s to answer anything.
    stalled = fake_openai(fault=Fault(latency=30))
    with stalled.run_in_thread() as url:
        env = {"GATEWAY__AGENT_URL": url, "GATEWAY__REQUEST_TIMEOUT": "0.2"}
        with (
            staged(tmp_path, "agents: []", env=env, models=REMOTE) as stage,
            stage.client() as client,
            pytest.raises(openai.APIStatusError) as failed,
        ):
            client.chat.completions.create(
                model="remote", messages=[{"role": "user", "content": "hi"}]
            )
    assert failed.value.status_code == 504
    assert stalled.recorder.requests[0].path == "/agent/message/stream"
