"""The web console's static files (``static/``), served at ``/ui`` by ``doors/http/console.py``."""
