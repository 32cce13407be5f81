"""The HTTP doors (FastAPI/Starlette)."""
