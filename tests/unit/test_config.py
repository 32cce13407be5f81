"""Configuration files: valid forms load, every invalid one fails naming the file, key and fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from continuum.app import build_gateway
from continuum.config.models import load_models
from continuum.config.users import load_users
from continuum.core.limits import RateLimit
from continuum.errors import ConfigError
from continuum.settings import Settings

PROVIDERS = ["local", "ollama", "openai"]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_seed_000_users_file_loads(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "users.yml",
        """
users:
  - token: "dev-token-strong-and-secret"
    name: "Developer"
    permissions:
      - "llama3:latest"
      - "gpt-4o"
    rate_limit: "100/minute"
""",
    )
    (user,) = load_users(path)
    principal = user.principal()
    assert principal.name == "Developer"
    assert principal.may_use("gpt-4o") and not principal.may_use("other")
    assert principal.limits == (RateLimit(100, 60, "requests"),)
    assert "dev-token" not in (principal.key_id or "")


def test_star_permission_and_several_limits(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "users.yml",
        """
users:
  - token: "0123456789abcdef-long"
    name: "ops"
    permissions: "*"
    rate_limit: ["10/second", "50000 tokens/hour"]
""",
    )
    principal = load_users(path)[0].principal()
    assert principal.permissions is None and principal.may_use("anything")
    assert principal.limits == (RateLimit(10, 1, "requests"), RateLimit(50000, 3600, "tokens"))


@pytest.mark.parametrize(
    ("body", "key", "problem"),
    [
        (
            'users:\n  - {token: "0123456789abcdef-x", name: "a", rate_limit: "lots"}',
            "users[0].rate_limit",
            "not a rate limit",
        ),
        (
            'users:\n  - {token: "0123456789abcdef-x", name: "a", rate_limit: "-5/minute"}',
            "users[0].rate_limit",
            "not a rate limit",
        ),
        (
            'users:\n  - {token: "0123456789abcdef-x", name: "a", rate_limit: "0/minute"}',
            "users[0].rate_limit",
            "between 1 and",
        ),
        (
            'users:\n  - {token: "0123456789abcdef-x", name: "a", rate_limit: "99999999999999/day"}',
            "users[0].rate_limit",
            "not a rate limit",
        ),
        (
            'users:\n  - {token: "0123456789abcdef-x", name: "a", rate_limit: "5/fortnight"}',
            "users[0].rate_limit",
            "unknown window",
        ),
        (
            'users:\n  - {token: "0123456789abcdef-x", name: "a", rate_limit: {"$ne": 1}}',
            "users[0].rate_limit",
            "expected a string",
        ),
        ('users:\n  - {token: "short", name: "a"}', "users[0].token", "at least 16"),
        ('users:\n  - {name: "a"}', "users[0].token", "required"),
        (
            'users:\n  - {token: "0123456789abcdef-x", name: "a", permissions: "all"}',
            "users[0].permissions",
            "model ids",
        ),
        (
            'users:\n  - {token: "0123456789abcdef-x", name: "a", tokn: "x"}',
            "users[0].tokn",
            "Extra inputs",
        ),
        (
            'users:\n  - {token: "0123456789abcdef-x", name: "a"}\n  - {token: "0123456789abcdef-x", name: "b"}',
            "(top level)",
            "repeats the token",
        ),
        ("users: [unclosed", "(file)", "not valid YAML"),
        ("- just\n- a list", "(top level)", "valid dictionary"),
    ],
)
def test_bad_users_file_names_file_key_and_fix(
    tmp_path: Path, body: str, key: str, problem: str
) -> None:
    path = write(tmp_path, "users.yml", body)
    with pytest.raises(ConfigError) as caught:
        load_users(path)
    message = str(caught.value)
    assert message.startswith(str(path))
    assert f": {key}: " in message
    assert problem in message
    assert "Fix:" in message


def test_seed_000_models_file_and_deployments(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "models.yml",
        """
models:
  - id: "llama3:latest"
    provider: "ollama"
  - id: "gpt-4o"
    provider: "openai"
  - id: "mixed"
    deployments:
      - {provider: "local", upstream_model: "text", weight: 3}
      - {provider: "openai", upstream_model: "gpt-4o-mini"}
""",
    )
    routes = {route.id: route for route in load_models(path, PROVIDERS)}
    (llama,) = routes["llama3:latest"].deployments
    assert (llama.provider, llama.upstream_model) == ("ollama", "llama3:latest")
    assert routes["gpt-4o"].owned_by == "openai"
    assert [(d.provider, d.upstream_model, d.weight) for d in routes["mixed"].deployments] == [
        ("local", "text", 3.0),
        ("openai", "gpt-4o-mini", 1.0),
    ]


@pytest.mark.parametrize(
    ("body", "key", "problem"),
    [
        (
            'models:\n  - {id: "x", provider: "nope"}',
            "models[0].deployments[0].provider",
            "unknown provider 'nope'",
        ),
        ('models:\n  - {id: "x"}', "models[0]", "needs a provider"),
        (
            'models:\n  - {id: "x", provider: "local", deployments: [{provider: "local"}]}',
            "models[0]",
            "not both",
        ),
        (
            'models:\n  - {id: "x", provider: "local"}\n  - {id: "x", provider: "local"}',
            "models[1].id",
            "repeats the id",
        ),
        (
            'models:\n  - {id: "x", provider: "local", weight: -1}',
            "models[0].deployments[0].weight",
            "greater than 0",
        ),
        ('models:\n  - {provider: "local"}', "models[0].id", "required"),
    ],
)
def test_bad_models_file_names_file_key_and_fix(
    tmp_path: Path, body: str, key: str, problem: str
) -> None:
    path = write(tmp_path, "models.yml", body)
    with pytest.raises(ConfigError) as caught:
        load_models(path, PROVIDERS)
    message = str(caught.value)
    assert message.startswith(str(path)) and f": {key}: " in message and problem in message


def test_config_dir_with_only_users_serves_local_models(tmp_path: Path) -> None:
    write(
        tmp_path,
        "users.yml",
        'users:\n  - {token: "0123456789abcdef-x", name: "a", permissions: "*"}',
    )
    gateway = build_gateway(Settings.from_env({}, config_dir=tmp_path, data_dir=tmp_path / "data"))
    assert [route.id for route in gateway.pipeline.table.routes()] == [
        "local-echo",
        "local-text",
        "local-embed",
    ]
    assert gateway.sample_key is None
    assert not (tmp_path / "data" / "sample-key").exists()


def test_models_file_with_local_provider_is_served(tmp_path: Path) -> None:
    write(
        tmp_path,
        "models.yml",
        'models:\n  - {id: "my-bot", provider: "local", upstream_model: "echo"}',
    )
    gateway = build_gateway(Settings.from_env({}, config_dir=tmp_path, data_dir=tmp_path / "data"))
    assert [route.id for route in gateway.pipeline.table.routes()] == ["my-bot"]


def test_missing_config_dir_fails(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        build_gateway(Settings.from_env({}, config_dir=tmp_path / "absent", data_dir=tmp_path))


def test_sample_key_refuses_non_loopback_but_users_file_allows_it(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"refusing to bind 0\.0\.0\.0 with the sample credential"
    ):
        build_gateway(Settings.from_env({}, host="0.0.0.0", data_dir=tmp_path / "d"))
    write(tmp_path, "users.yml", 'users:\n  - {token: "0123456789abcdef-x", name: "a"}')
    gateway = build_gateway(
        Settings.from_env({}, host="0.0.0.0", config_dir=tmp_path, data_dir=tmp_path / "d")
    )
    assert gateway.sample_key is None


def test_sample_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    settings = Settings.from_env({}, config_dir=empty, data_dir=tmp_path / "data")
    first = build_gateway(settings).sample_key
    assert first is not None and first.startswith("ck-") and len(first) > 40
    assert build_gateway(settings).sample_key == first
    assert (tmp_path / "data" / "sample-key").stat().st_mode & 0o777 == 0o600
    other = build_gateway(
        Settings.from_env({}, config_dir=empty, data_dir=tmp_path / "other")
    ).sample_key
    assert other != first


def test_route_level_timeout_and_retries_stay_out_of_the_inline_deployment(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "models.yml",
        """
models:
  - id: "fast"
    provider: "openai"
    timeout: 20
    first_token_timeout: 2
    connect_timeout: 1
    request_timeout: 45
    retries: 0
""",
    )
    (route,) = load_models(path, PROVIDERS)
    assert (route.timeout, route.retries) == (45, 0)
    assert dict(route.deployments[0].options) == {
        "timeout": 20,
        "first_token_timeout": 2,
        "connect_timeout": 1,
    }


def test_prefix_routing_flag(tmp_path: Path) -> None:
    assert Settings.from_env({}).prefix_routing is False
    assert Settings.from_env({"CONTINUUM_PREFIX_ROUTING": "true"}).prefix_routing is True
    with pytest.raises(ConfigError, match="CONTINUUM_PREFIX_ROUTING"):
        Settings.from_env({"CONTINUUM_PREFIX_ROUTING": "maybe"})
