"""The OpenAI Responses dialect: the request, conversation items, output and stream events."""
