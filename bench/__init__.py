"""Continuum's benchmark suite: the gateway against the direct path and LiteLLM's proxy.

Run ``bench/run`` (or ``python -m bench``); see docs/performance.md for the method.
"""
