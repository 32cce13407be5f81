"""docs/agents.md runs as written: its module, agents.yml, script, schema and answers."""

from __future__ import annotations

import json
import re
import runpy
import sys
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from continuum.agents import load_agents, run
from continuum.agents.loop import ModelCall
from continuum.app import create_app
from continuum.config.models import load_models
from continuum.config.users import load_users
from continuum.core.routes import Deployment
from continuum.providers import registry
from continuum.providers.local import LocalProvider
from continuum.settings import Settings
from continuum.testing.server import serve_in_thread

DOC = Path(__file__).resolve().parents[2] / "docs" / "agents.md"
TEXT = DOC.read_text()


def example(name: str) -> str:
    """The fenced block (or table) right after ``<!-- example: name -->``."""
    match = re.search(
        rf"<!-- example: {re.escape(name)} -->\n(```\w*\n(.*?)```|(\|.*?)\n\n)", TEXT, re.S
    )
    assert match is not None, f"docs/agents.md has no example {name!r}"
    return match.group(2) if match.group(2) is not None else match.group(3)


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "unit_tools.py").write_text(example("unit_tools.py"))
    (tmp_path / "agents.yml").write_text(example("agents.yml"))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    sys.modules.pop("unit_tools", None)


def local_text() -> ModelCall:
    provider = LocalProvider()
    return lambda request: provider.stream_chat(request, Deployment("local", "text"))


def test_the_script_prints_what_the_doc_says(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = folder / "run_math.py"
    script.write_text(example("run_math.py"))
    runpy.run_path(str(script), run_name="__main__")
    assert capsys.readouterr().out == example("output of run_math.py")


async def test_the_result_is_the_one_shown(folder: Path) -> None:
    config = load_agents(folder / "agents.yml")
    result = await run(config.agents["math"], "what is 12*(3+4)?", local_text())
    assert result.to_dict() == json.loads(example("result of math"))


def test_the_schema_is_the_one_shown(folder: Path) -> None:
    tool = load_agents(folder / "agents.yml").tools["convert_temperature"]
    shown = json.loads(example("schema of convert_temperature"))
    assert {
        "name": tool.name,
        "description": tool.description,
        "parameters": tool.parameters,
    } == shown


async def test_the_helper_answers_as_shown(folder: Path) -> None:
    helper = load_agents(folder / "agents.yml").agents["helper"]
    rows = re.findall(r"^\| `(.+?)` \| `(.+?)` \|$", example("helper answers"), re.M)
    assert len(rows) == 4
    for prompt, response in rows:
        result = await run(helper, prompt, local_text())
        assert result.response == response, prompt


def test_every_yaml_block_of_the_doc_is_a_valid_file(tmp_path: Path, folder: Path) -> None:
    """Blocks starting with ``# users.yml`` or ``# models.yml`` are those files; the rest
    are agents.yml."""
    blocks = re.findall(r"```yaml\n(.*?)```", TEXT, re.S)
    assert len(blocks) >= 6
    kinds = []
    for number, block in enumerate(blocks):
        path = tmp_path / f"block{number}.yml"
        path.write_text(block)
        first = block.splitlines()[0]
        kinds.append(first)
        if first == "# users.yml":
            assert load_users(path)
        elif first == "# models.yml":
            assert load_models(path, registry.BUILTIN)
        else:
            load_agents(path)
    assert {"# users.yml", "# models.yml"} <= set(kinds)


def test_the_agents_run_as_written_through_the_gateway(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (folder / "users.yml").write_text(example("users.yml for the agents"))
    settings = Settings.from_env({}, config_dir=folder, data_dir=folder / "data")
    script = example("chat_math.py")
    with serve_in_thread(create_app(settings)) as url:
        assert "http://127.0.0.1:8080" in script
        exec(compile(script.replace("http://127.0.0.1:8080", url), "chat_math.py", "exec"), {})
        assert capsys.readouterr().out == example("output of chat_math.py")
        rows = re.findall(r"^\| `(.+?)` \| `(.+?)` \|$", example("helper answers"), re.M)
        with openai.OpenAI(base_url=f"{url}/v1", api_key="sk-my-key-0123456789") as client:
            for prompt, response in rows:
                reply = client.chat.completions.create(
                    model="agent/helper", messages=[{"role": "user", "content": prompt}]
                )
                assert reply.choices[0].message.content == response, prompt
