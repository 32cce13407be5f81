"""What an operator sees of a running gateway: Prometheus metrics and structured logs.

``metrics.Metrics`` is the one object the gateway owns for its series;
``logging.configure_logging`` sets up a process's log output once, with redaction;
``access.AccessLog`` writes the one line per request.
"""
