"""Reading and validating ``models.yml`` and ``users.yml``."""
