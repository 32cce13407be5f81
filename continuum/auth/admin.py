"""The operator's admin key (``CONTINUUM_ADMIN_KEY``): one more key in the chain.

It may use the admin API and read every user's usage and limits; it may use no model
(an operator's credential has no business spending tokens).
"""

from __future__ import annotations

from continuum.core.context import Principal

ADMIN = Principal(
    id="admin", name="admin key", permissions=frozenset(), key_id="admin-key", is_admin=True
)
