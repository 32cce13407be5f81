"""The OpenAI dialect: the chat request body, chunk and completion objects, the error object."""
