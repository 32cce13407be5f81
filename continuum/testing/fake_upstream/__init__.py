"""Protocol-faithful fake upstream servers with fault injection (OpenAI, Ollama, Anthropic).

    fake = fake_openai(chunks=20)
    with fake.run_in_thread() as base_url:          # http://127.0.0.1:PORT
        ...                                         # point a deployment at f"{base_url}/v1"
        fake.recorder.requests                      # what it received
        fake.script(Fault(status=503), times=1)     # break the next request
        fake.script_turns(calls(("add", '{"a":1}')), says("3"))  # script the next answers

Per request: header ``x-fake-fault: status=503`` or model ``name::drop_after=3``.
From a shell: ``python -m continuum.testing fake-openai --port 9000 --chunks 20``.
"""

from continuum.testing.fake_upstream.answers import Turn, calls, says
from continuum.testing.fake_upstream.anthropic import fake_anthropic
from continuum.testing.fake_upstream.faults import Fault
from continuum.testing.fake_upstream.ollama import fake_ollama
from continuum.testing.fake_upstream.openai import fake_openai
from continuum.testing.fake_upstream.record import Recorder, SeenConnection, SeenRequest
from continuum.testing.fake_upstream.server import FakeUpstream

__all__ = [
    "FakeUpstream",
    "Fault",
    "Recorder",
    "SeenConnection",
    "SeenRequest",
    "Turn",
    "calls",
    "fake_anthropic",
    "fake_ollama",
    "fake_openai",
    "says",
]
