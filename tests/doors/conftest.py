"""The gateway of the door tests that share one (``tests/doors/world.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from continuum.app import build_gateway, create_app
from continuum.testing.fake_upstream import fake_openai
from continuum.testing.server import serve_in_thread
from tests.doors.world import USERS, World, models_yml, scripted_provider, settings_for


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A gateway with the local, scripted and fake-upstream models (see ``world.py``)."""
    provider = scripted_provider()
    fake = fake_openai(api_key="sk-up")
    with fake.run_in_thread() as upstream:
        config = tmp_path_factory.mktemp("doors-config")
        (config / "users.yml").write_text(USERS)
        (config / "models.yml").write_text(models_yml(upstream))
        gateway = build_gateway(settings_for(config), providers={"scripted": provider})
        with serve_in_thread(create_app(gateway=gateway)) as url:
            yield World(url, provider, fake, config / "data")
