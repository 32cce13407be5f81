"""Subcommands of ``continuum`` besides ``serve``, each registering itself on the parser."""
