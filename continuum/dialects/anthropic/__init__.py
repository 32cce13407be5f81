"""The Anthropic Messages dialect: request bodies, stream events, message and error objects."""
