"""Seed 003's chat-session messages (``WS /ws/{session_id}``): shapes only, no transport."""
