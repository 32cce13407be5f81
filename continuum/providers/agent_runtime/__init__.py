"""Another service's agents as models: seed 003's agent runtime, over ``/agent/message/stream``."""

from continuum.providers.agent_runtime.provider import AgentRuntimeProvider
from continuum.providers.spec import ProviderSpec

SPEC = ProviderSpec("agent_runtime", AgentRuntimeProvider)

__all__ = ["SPEC", "AgentRuntimeProvider"]
