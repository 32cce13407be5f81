"""Rate limiters behind the ``Limiter`` protocol."""
