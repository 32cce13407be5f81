from __future__ import annotations

from pathlib import Path

import pytest

from continuum.errors import ConfigError
from continuum.providers.openai.llama import llama_routes
from continuum.settings import Settings


def test_defaults_are_the_embedded_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ./config here
    settings = Settings.from_env({})
    assert (settings.host, settings.port, settings.data_dir) == ("127.0.0.1", 8080, Path("data"))
    assert settings.config_dir is None and settings.is_loopback


def test_environment_and_flags(tmp_path: Path) -> None:
    env = {
        "CONTINUUM_HOST": "0.0.0.0",
        "CONTINUUM_PORT": "9000",
        "CONTINUUM_DATA_DIR": str(tmp_path),
        "CONTINUUM_LOG_LEVEL": "DEBUG",
        "CONTINUUM_CONFIG_DIR": "/etc/continuum",
        "OPENAI_API_KEY": "sk-x",
        "ANTHROPIC_API_KEY": "ak-y",
        "OLLAMA_BASE_URL": "http://o:1",
        "LLAMA_BASE_URL": "http://l/v1",
        "LLAMA_MODELS": "llama3, llama3.1 ,",
    }
    settings = Settings.from_env(env)
    assert (settings.host, settings.port, settings.log_level) == ("0.0.0.0", 9000, "debug")
    assert settings.config_dir == Path("/etc/continuum") and not settings.is_loopback
    # Providers read their own variables from the settings' environment.
    assert settings.environ["OPENAI_API_KEY"] == "sk-x"
    assert [r.id for r in llama_routes(settings)] == ["llama3", "llama3.1"]
    assert Settings.from_env(env, port=1234, host=None).port == 1234


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"CONTINUUM_PORT": "eighty"}, "CONTINUUM_PORT"),
        ({"CONTINUUM_PORT": "70000"}, "CONTINUUM_PORT"),
        ({"CONTINUUM_LOG_LEVEL": "loud"}, "CONTINUUM_LOG_LEVEL"),
        ({"CONTINUUM_WORKERS": "0"}, "CONTINUUM_WORKERS"),
    ],
)
def test_bad_environment_names_the_variable(env: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError, match=f"environment: {key}: .*Fix:"):
        Settings.from_env(env)
