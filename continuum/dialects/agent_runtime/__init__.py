"""The agent-runtime protocol (seed 003): ``POST /agent/message/stream``, answered in SSE.

A service (a seed 003 gateway, another Continuum's ``agent_runtime`` provider) sends a
session's message with ``X-Internal-Auth``; the reply streams as ``data:`` events. The
request body is ``RuntimeMessage``; the events are made by ``RuntimeEncoder``. See
docs/agents.md, "Agent runtime".
"""

from continuum.dialects.agent_runtime.events import RuntimeEncoder, error_body, error_object
from continuum.dialects.agent_runtime.request import RuntimeMessage

__all__ = ["RuntimeEncoder", "RuntimeMessage", "error_body", "error_object"]
