"""What a user name (users.yml ``name``, a run-time key's ``name`` and ``owner``) may be.

A name is whom usage and limits count against, a column of the usage ledger, and a
query parameter of ``GET /usage``; so it is short, printable, and cannot be mistaken
for anything else: no ``*`` (once "every user" in ``/usage?user=*``), no ``user:`` /
``ip:`` prefix (the identities of anonymous callers, see ``RequestContext.subject``),
no control characters, no surrounding spaces.
"""

from __future__ import annotations

MAX_NAME = 256
ANONYMOUS_PREFIXES = ("user:", "ip:")


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a user or key (``None``: it can)."""
    if not name.strip():
        return "is empty"
    if len(name) > MAX_NAME:
        return f"is {len(name)} characters long; a name has at most {MAX_NAME}"
    if name != name.strip():
        return "has spaces at its start or end"
    if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in name):
        return "holds control characters"
    if "*" in name:
        return "holds '*', which is reserved"
    if name.startswith(ANONYMOUS_PREFIXES):
        return "starts with 'user:' or 'ip:', the prefixes of anonymous callers"
    return None


def check_name(name: str) -> str:
    """``name`` if it is a valid name, else ``ValueError`` saying why (for pydantic)."""
    problem = name_problem(name)
    if problem is not None:
        raise ValueError(f"the name {problem}")
    return name
