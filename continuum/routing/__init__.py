"""Which deployment serves a public model id."""
