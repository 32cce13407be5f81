"""The Continuum TCP protocol door (docs/protocol.md): codec, limits, server."""
