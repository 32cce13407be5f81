"""Which model serves seed 001's ``/model``, and whom its API admits without a key."""

from __future__ import annotations

from pathlib import Path

import pytest

from continuum.app import build_gateway
from continuum.errors import ConfigError, ModelNotFound
from continuum.gateway import Gateway
from continuum.settings import Settings

USERS = 'users:\n  - {token: "sk-config-test-0000000001", name: u, permissions: "*"}\n'
MODELS = """
{default}models:
  - {{id: local-echo, provider: local, upstream_model: echo}}
  - {{id: other, provider: local, upstream_model: text}}
"""


def gateway_with(tmp_path: Path, default: str | None = None, **env: str) -> Gateway:
    (tmp_path / "users.yml").write_text(USERS)
    line = f"default_model: {default}\n" if default else ""
    (tmp_path / "models.yml").write_text(MODELS.format(default=line))
    settings = Settings.from_env(env, config_dir=tmp_path, data_dir=tmp_path / "data")
    return build_gateway(settings)


def test_the_embedded_default_is_local_text(tmp_path: Path) -> None:
    settings = Settings.from_env({}, data_dir=tmp_path)
    assert build_gateway(settings).simple.model == "local-text"


def test_models_yml_names_it_and_the_environment_overrides(tmp_path: Path) -> None:
    assert gateway_with(tmp_path, "other").simple.model == "other"
    overridden = gateway_with(tmp_path, "other", CONTINUUM_DEFAULT_MODEL="local-echo")
    assert overridden.simple.model == "local-echo"


def test_a_default_naming_no_model_fails_the_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        gateway_with(tmp_path, "gpt-nothing")
    assert error.value.file.endswith("models.yml") and error.value.key == "default_model"
    with pytest.raises(ConfigError) as error:
        gateway_with(tmp_path, CONTINUUM_DEFAULT_MODEL="gpt-nothing")
    assert error.value.key == "CONTINUUM_DEFAULT_MODEL"


def test_without_a_default_model_the_api_says_how_to_set_one(tmp_path: Path) -> None:
    api = gateway_with(tmp_path).simple
    assert api.model is None and api.guest is None
    with pytest.raises(ModelNotFound) as error:
        api.default_model()
    assert "default_model" in error.value.message and error.value.status == 404


def test_anonymous_admission_needs_a_default_model(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        gateway_with(tmp_path, CONTINUUM_SIMPLE_ANONYMOUS="true")
    assert error.value.key == "CONTINUUM_SIMPLE_ANONYMOUS"


def test_the_guest_may_use_the_default_model_only_within_its_own_limits(tmp_path: Path) -> None:
    env = {
        "CONTINUUM_SIMPLE_ANONYMOUS": "yes",
        "CONTINUUM_SIMPLE_ANONYMOUS_RATE_LIMIT": "5/minute, 100 tokens/hour",
    }
    guest = gateway_with(tmp_path, "other", **env).simple.guest
    assert guest.anonymous and guest.may_use("other") and not guest.may_use("local-echo")
    assert [str(limit) for limit in guest.limits] == ["5 requests/minute", "100 tokens/hour"]


def test_settings_of_the_prompt_api_and_the_websocket_doors() -> None:
    default = Settings.from_env({})
    assert (default.simple_anonymous, default.default_model) == (False, None)
    assert [str(limit) for limit in default.simple_anonymous_limits] == [
        "20 requests/minute",
        "20000 tokens/hour",
    ]
    assert (default.ws_max_pending, default.ws_max_buffered_bytes) == (32, 1024 * 1024)
    assert default.ws_slow_consumer_seconds == 10
    with pytest.raises(ConfigError) as error:
        Settings.from_env({"CONTINUUM_SIMPLE_ANONYMOUS_RATE_LIMIT": "lots"})
    assert error.value.key == "CONTINUUM_SIMPLE_ANONYMOUS_RATE_LIMIT"
    with pytest.raises(ConfigError):
        Settings.from_env({"CONTINUUM_SIMPLE_ANONYMOUS": "perhaps"})
    with pytest.raises(ConfigError):
        Settings.from_env({"CONTINUUM_WS_MAX_PENDING": "0"})
