"""The TCP door's settings and seed 000's variable names (ENABLE_TCP_SERVER, TCP_*, HTTP_*)."""

from __future__ import annotations

from pathlib import Path

import pytest

from continuum.app import build_gateway
from continuum.doors.tcp.door import tcp_limits
from continuum.errors import ConfigError
from continuum.settings import ChatClientSettings, Settings, TcpSettings


def test_tcp_is_off_by_default_and_follows_the_http_host() -> None:
    settings = Settings.from_env({})
    assert settings.tcp == TcpSettings()
    assert not settings.tcp.enabled and settings.tcp.port == 8989
    assert settings.tcp_host == "127.0.0.1"
    assert Settings.from_env({"CONTINUUM_HOST": "10.1.2.3"}).tcp_host == "10.1.2.3"


def test_seed_names_are_accepted() -> None:
    settings = Settings.from_env(
        {
            "ENABLE_TCP_SERVER": "true",
            "TCP_HOST": "0.0.0.0",
            "TCP_PORT": "7000",
            "HTTP_HOST": "0.0.0.0",
            "HTTP_PORT": "7001",
        }
    )
    assert settings.tcp.enabled and settings.tcp_host == "0.0.0.0" and settings.tcp.port == 7000
    assert (settings.host, settings.port) == ("0.0.0.0", 7001)


def test_continuum_names_win_over_the_seed_names() -> None:
    settings = Settings.from_env(
        {
            "ENABLE_TCP_SERVER": "true",
            "CONTINUUM_TCP_ENABLED": "false",
            "TCP_HOST": "0.0.0.0",
            "CONTINUUM_TCP_HOST": "127.0.0.2",
            "TCP_PORT": "7000",
            "CONTINUUM_TCP_PORT": "7100",
            "HTTP_HOST": "0.0.0.0",
            "CONTINUUM_HOST": "127.0.0.3",
            "HTTP_PORT": "7001",
            "CONTINUUM_PORT": "7101",
        }
    )
    assert not settings.tcp.enabled
    assert (settings.tcp_host, settings.tcp.port) == ("127.0.0.2", 7100)
    assert (settings.host, settings.port) == ("127.0.0.3", 7101)
    # An empty CONTINUUM_ variable counts as unset, as everywhere else.
    assert Settings.from_env({"CONTINUUM_PORT": "", "HTTP_PORT": "7001"}).port == 7001


def test_bad_values_name_the_variable_that_holds_them() -> None:
    with pytest.raises(ConfigError, match="TCP_PORT: 70000 is out of range"):
        Settings.from_env({"TCP_PORT": "70000"})
    with pytest.raises(ConfigError, match="ENABLE_TCP_SERVER: 'maybe' is not a boolean"):
        Settings.from_env({"ENABLE_TCP_SERVER": "maybe"})
    with pytest.raises(ConfigError, match="CONTINUUM_TCP_REQUEST_WINDOW"):
        Settings.from_env({"CONTINUUM_TCP_REQUEST_WINDOW": "1024"})  # below a frame


def test_limits_reach_the_server() -> None:
    tcp = Settings.from_env(
        {
            "CONTINUUM_TCP_MAX_CONCURRENT_REQUESTS": "7",
            "CONTINUUM_TCP_REQUEST_WINDOW": "20000",
            "CONTINUUM_TCP_CONNECTION_WINDOW": "300000",
            "CONTINUUM_TCP_HANDSHAKE_TIMEOUT": "2",
            "CONTINUUM_TCP_DRAIN_TIMEOUT": "0",
        }
    ).tcp
    limits = tcp_limits(tcp)
    assert (limits.max_concurrent_requests, limits.handshake_timeout) == (7, 2.0)
    assert (limits.initial_request_window, limits.initial_connection_window) == (20000, 300000)
    assert tcp.drain_timeout == 0


def test_sample_credential_refuses_a_public_tcp_host(tmp_path: Path) -> None:
    env = {"CONTINUUM_DATA_DIR": str(tmp_path), "ENABLE_TCP_SERVER": "1", "TCP_HOST": "0.0.0.0"}
    with pytest.raises(
        ConfigError, match=r"refusing to bind 0\.0\.0\.0 with the sample credential"
    ):
        build_gateway(Settings.from_env(env))
    # The same TCP host is fine while the door is off, and loopback is fine when it is on.
    build_gateway(Settings.from_env({**env, "ENABLE_TCP_SERVER": "0"}))
    build_gateway(Settings.from_env({**env, "TCP_HOST": "127.0.0.1"}))


def test_chat_client_settings(tmp_path: Path) -> None:
    assert ChatClientSettings.from_env({}) == ChatClientSettings(None, Path("data"))
    got = ChatClientSettings.from_env(
        {"CONTINUUM_API_KEY": "ck-x", "CONTINUUM_DATA_DIR": str(tmp_path)}
    )
    assert got == ChatClientSettings("ck-x", tmp_path)
