"""The ``calculator`` tool: exact arithmetic, computed by ``arithmetic`` (never by Python)."""

from __future__ import annotations

from continuum.agents.tools.arithmetic import evaluate, format_number
from continuum.agents.tools.base import FunctionTool


def calculator_tool() -> FunctionTool:
    """A tool that computes an arithmetic expression and returns the number as text."""

    def calculator(expression: str) -> str:
        """Compute an arithmetic expression exactly and return its value.

        Args:
            expression: Arithmetic such as "12*(3+4)" or "sqrt(2)/2": numbers,
                + - * / // % ** and parentheses, abs, ceil, floor, max, min, round,
                sqrt, pi, e and tau.
        """
        return format_number(evaluate(expression))

    # Bounded work (see arithmetic.py): cheaper inline than a thread hop.
    return FunctionTool(calculator, in_thread=False)
