"""Seed 002's stream sessions on the wire: ``/init-stream``'s body and answer, and the
Server-Sent Events of ``/stream/{id}`` (docs/sessions.md)."""
