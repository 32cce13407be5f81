"""The calculator computes arithmetic exactly and refuses everything else, never running Python."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from continuum.agents.tools import arithmetic
from continuum.agents.tools import calculator as calculator_module
from continuum.agents.tools.arithmetic import (
    CONSTANTS,
    FUNCTIONS,
    MAX_BITS,
    MAX_DEPTH,
    MAX_LENGTH,
    CalculatorError,
    evaluate,
    format_number,
)
from continuum.agents.tools.base import ToolContext
from continuum.agents.tools.calculator import calculator_tool


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12*(3+4)", Fraction(84)),
        ("1 + 2 * 3", Fraction(7)),
        ("(1 + 2) * 3", Fraction(9)),
        ("10 / 4", Fraction(5, 2)),
        ("0.1 + 0.2", Fraction(3, 10)),
        ("-2**2", Fraction(-4)),
        ("(-2)**2", Fraction(4)),
        ("2**-1", Fraction(1, 2)),
        ("2**3**2", Fraction(512)),
        ("7 // 2", Fraction(3)),
        ("-7 // 2", Fraction(-4)),
        ("-7 % 3", Fraction(2)),
        ("7.5 % 2", Fraction(3, 2)),
        ("--3", Fraction(3)),
        ("+-+3", Fraction(-3)),
        ("1e3 + .5 + 2.", Fraction(2005, 2)),
        ("12E-1", Fraction(6, 5)),
        ("abs(-3) + floor(2.5) + ceil(2.5)", Fraction(8)),
        ("round(2.5) + round(3.5)", Fraction(6)),
        ("round(2.675, 2)", Fraction(268, 100)),
        ("min(3, 1/2, 2) + max(1, 4)", Fraction(9, 2)),
        ("sqrt(16/9)", Fraction(4, 3)),
        ("0**0", Fraction(1)),
        ("(-1)**1001", Fraction(-1)),
        ("2**4000 // 2**3999", Fraction(2)),
    ],
)
def test_computes_exactly(text: str, value: Fraction) -> None:
    result = evaluate(text)
    assert isinstance(result, Fraction) and result == value


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("12*(3+4)", "84"),
        ("1/3", "0.3333333333333333"),
        ("2**0.5", "1.4142135623730951"),
        ("sqrt(2)", "1.4142135623730951"),
        ("pi", "3.141592653589793"),
        ("10**400 / 3", "3.3333333333333333E+399"),
        ("1 / 10**400", "1E-400"),
        ("2**100", "1267650600228229401496703205376"),
    ],
)
def test_formats_results(text: str, shown: str) -> None:
    assert format_number(evaluate(text)) == shown


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("1 +", "at the end"),
        ("(1 + 2", "expected ')'"),
        ("1 + 2)", "unexpected ')'"),
        ("1 2", "unexpected '2'"),
        ("* 3", "expected a number"),
        ("sqrt", "sqrt is a function"),
        ("sqrt 4", "sqrt is a function"),
        ("min()", "expected a number"),
        ("round(1, 2, 3)", "one or two arguments"),
        ("round(1, 0.5)", "whole number"),
        ("abs(1, 2)", "one argument"),
        ("1 / 0", "division by zero"),
        ("1 // (2 - 2)", "division by zero"),
        ("5 % 0", "division by zero"),
        ("0 ** -1", "division by zero"),
        ("sqrt(-1)", "not a real number"),
        ("(-8) ** (1/3)", "not a real number"),
        ("(-8.0) ** 0.5", "not a real number"),
        ("9**9**9", "too large"),
        ("2**100000", "too large"),
        ("10**10**10", "too large"),
        ("1e100000", "out of range"),
        ("1e-5000", "out of range"),
        ("2.0**100000", "too large"),
        ("1e300 * 1e300 * pi", "too large"),
        ("sqrt(2) * 1e400", "too large"),
        ("pi ** 1e6", "too large"),
        ("0x10", "unknown name 'x10'"),
        ("1_000", "unknown name '_000'"),
        ("1 == 1", "unexpected character '='"),
        ("1 < 2", "unexpected character '<'"),
        ("~1", "unexpected character '~'"),
        ("1 & 2", "unexpected character '&'"),
        ("2 ^ 3", "unexpected character '^'"),
        ("١٢ + 1", "unexpected character"),
    ],
)
def test_refuses_with_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(CalculatorError, match=re.escape(message)):
        evaluate(text)


PYTHON_SNIPPETS = [
    "__import__('os').system('touch /tmp/pwned')",
    "__import__",
    "().__class__.__bases__[0].__subclasses__()",
    "(1).real",
    "1 .real",
    "(2).__pow__(3)",
    "lambda: 1",
    "(lambda x: x)(1)",
    "[x for x in range(3)]",
    "exec('1')",
    "eval('1+1')",
    "compile('1', 'f', 'eval')",
    "open('/etc/passwd').read()",
    "globals()",
    "__builtins__",
    "import os",
    "x",
    "x + 1",
    "os.system",
    "f'{1}'",
    "'1' + '2'",
    "1 if 1 else 2",
    "breakpoint()",
    "print(1)",
    "sqrt.__globals__",
    "min.__self__",
    "{1: 2}",
    "(1, 2)",
    "1; 2",
    "a := 1",
    "not 1",
    "1 and 2",
    "True",
    "None",
    "...",
    "@",
    "$1",
    "1 # comment",
    "1\\\n+2",
]


@pytest.mark.parametrize("snippet", PYTHON_SNIPPETS)
def test_python_is_refused(snippet: str) -> None:
    with pytest.raises(CalculatorError, match=r"calculator accepts|unexpected|expected|function"):
        evaluate(snippet)
    assert not Path("/tmp/pwned").exists()


def test_bounds_on_length_and_depth() -> None:
    long_sum = "+".join(["1"] * 500)  # 999 characters: computed by a loop, not recursion
    assert evaluate(long_sum) == 500
    with pytest.raises(CalculatorError, match=f"longer than {MAX_LENGTH}"):
        evaluate(long_sum + "+1")
    assert evaluate("(" * MAX_DEPTH + "1" + ")" * MAX_DEPTH) == 1
    with pytest.raises(CalculatorError, match="nests deeper"):
        evaluate("(" * (MAX_DEPTH + 1) + "1" + ")" * (MAX_DEPTH + 1))
    with pytest.raises(CalculatorError, match="nests deeper"):
        evaluate("2**" * (MAX_DEPTH + 1) + "1")
    assert evaluate("-" * 900 + "1") == 1  # signs are counted, not recursed
    assert evaluate(f"2**{MAX_BITS - 1}") == 2 ** (MAX_BITS - 1)
    with pytest.raises(CalculatorError, match="too large"):
        evaluate(f"2**{MAX_BITS}")


def test_the_engine_contains_no_way_to_run_python() -> None:
    """Structural: the calculator's modules never call eval/exec/compile or import machinery."""
    forbidden_names = {"eval", "exec", "compile", "__import__", "getattr", "globals", "locals"}
    forbidden_modules = {"ast", "builtins", "importlib", "code", "codeop", "runpy"}
    for module in (arithmetic, calculator_module):
        path = Path(str(module.__file__))
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Name):
                assert node.id not in forbidden_names, f"{path.name} uses {node.id}"
            if isinstance(node, ast.Import):
                assert not {a.name.split(".")[0] for a in node.names} & forbidden_modules
            if isinstance(node, ast.ImportFrom):
                assert (node.module or "").split(".")[0] not in forbidden_modules


async def test_the_tool_answers_text_and_reports_errors() -> None:
    calculator = calculator_tool()
    assert calculator.name == "calculator"
    assert calculator.parameters["required"] == ["expression"]
    assert await calculator.call('{"expression": "12*(3+4)"}', ToolContext()) == "84"
    with pytest.raises(CalculatorError, match="unknown name 'os'"):
        await calculator.call('{"expression": "os.system(1)"}', ToolContext())


# Property tests: generated arithmetic against exact Fraction arithmetic on the same tree.


@dataclass(frozen=True)
class Lit:
    value: Fraction
    text: str


@dataclass(frozen=True)
class Neg:
    operand: object


@dataclass(frozen=True)
class Bin:
    op: str
    left: object
    right: object


@dataclass(frozen=True)
class Pow:
    base: object
    exponent: object


LEVEL = {"+": 1, "-": 1, "*": 2, "/": 2, "//": 2, "%": 2}


def level(node: object) -> int:
    if isinstance(node, Bin):
        return LEVEL[node.op]
    return {Neg: 3, Pow: 4, Lit: 5}[type(node)]


def render(node: object) -> str:
    """Python's precedence with the fewest parentheses, so precedence itself is tested."""

    def wrap(child: object, needs: bool) -> str:
        return f"({render(child)})" if needs else render(child)

    if isinstance(node, Lit):
        return node.text
    if isinstance(node, Neg):
        return "-" + wrap(node.operand, level(node.operand) < 3)
    if isinstance(node, Pow):
        return (
            wrap(node.base, level(node.base) < 5)
            + "**"
            + wrap(node.exponent, level(node.exponent) < 3)
        )
    assert isinstance(node, Bin)
    mine = LEVEL[node.op]
    return f"{wrap(node.left, level(node.left) < mine)} {node.op} {wrap(node.right, level(node.right) <= mine)}"


class TooLarge(Exception):
    pass


def exact(node: object) -> Fraction:
    """The oracle: the tree computed with Fraction directly, left to right like the engine."""

    def bounded(value: Fraction) -> Fraction:
        if max(value.numerator.bit_length(), value.denominator.bit_length()) > MAX_BITS:
            raise TooLarge
        return value

    if isinstance(node, Lit):
        return node.value
    if isinstance(node, Neg):
        return -exact(node.operand)
    if isinstance(node, Pow):
        base, power = exact(node.base), exact(node.exponent)
        assert power.denominator == 1
        return bounded(base ** int(power))
    assert isinstance(node, Bin)
    left, right = exact(node.left), exact(node.right)
    if node.op == "+":
        return bounded(left + right)
    if node.op == "-":
        return bounded(left - right)
    if node.op == "*":
        return bounded(left * right)
    if node.op == "/":
        return bounded(left / right)
    if node.op == "//":
        return bounded(Fraction(left // right))
    return bounded(left % right)


def _decimal(digits: int, scale: int) -> Lit:
    text = str(digits).rjust(scale + 1, "0")
    if scale:
        text = f"{text[:-scale]}.{text[-scale:]}"
    return Lit(Fraction(digits, 10**scale), text)


literals = st.one_of(
    st.integers(0, 10**6).map(lambda n: Lit(Fraction(n), str(n))),
    st.builds(_decimal, st.integers(0, 10**6), st.integers(0, 4)),
    st.builds(
        lambda m, e: Lit(Fraction(m) * Fraction(10) ** e, f"{m}e{e}"),
        st.integers(0, 999),
        st.integers(-5, 5),
    ),
)
exponents = st.integers(-3, 3).map(
    lambda n: Neg(Lit(Fraction(-n), str(-n))) if n < 0 else Lit(Fraction(n), str(n))
)
trees = st.recursive(
    literals,
    lambda children: st.one_of(
        st.builds(Neg, children),
        st.builds(Bin, st.sampled_from(sorted(LEVEL)), children, children),
        st.builds(Pow, children, exponents),
    ),
    max_leaves=14,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees)
def test_generated_arithmetic_matches_exact_fractions(tree: object) -> None:
    text = render(tree)
    try:
        expected = exact(tree)
    except ZeroDivisionError:
        with pytest.raises(CalculatorError, match="division by zero"):
            evaluate(text)
        return
    except TooLarge:
        with pytest.raises(CalculatorError, match="too large"):
            evaluate(text)
        return
    result = evaluate(text)
    assert isinstance(result, Fraction)
    assert result == expected, text


ARITHMETIC_CHARACTERS = set("0123456789.eE+-*/%(), \t\n\r\x0b\x0c")
KNOWN_NAMES = set(FUNCTIONS) | set(CONSTANTS)


NUMBER = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _only_arithmetic(text: str) -> bool:
    without_numbers = NUMBER.sub(" ", text)
    if any(name not in KNOWN_NAMES for name in NAME.findall(without_numbers)):
        return False
    return set(NAME.sub(" ", without_numbers)) <= ARITHMETIC_CHARACTERS


# Pieces of arithmetic, names known and unknown, and any character at all.
any_text = st.lists(
    st.one_of(
        st.sampled_from([*sorted(ARITHMETIC_CHARACTERS), "**", "//", "1e5", ".5"]),
        st.sampled_from([*sorted(KNOWN_NAMES), "x", "_", "os", "import", "lambda", "__class__"]),
        st.characters(),
    ),
    max_size=40,
).map("".join)


@settings(max_examples=600, deadline=None)
@given(any_text)
def test_any_text_is_a_number_or_a_calculator_error(text: str) -> None:
    """Whatever the text, the answer is a value or a CalculatorError (never another
    exception), and only arithmetic is ever accepted."""
    try:
        value = evaluate(text)
    except CalculatorError as error:
        assert str(error)
        return
    assert isinstance(value, Fraction | float)
    assert _only_arithmetic(text), text


@settings(max_examples=300, deadline=None)
@given(
    st.builds(
        lambda a, s, b: f"{render(a)}{s}{render(b)}", trees, st.sampled_from(PYTHON_SNIPPETS), trees
    )
)
def test_python_inside_arithmetic_is_refused(text: str) -> None:
    with pytest.raises(CalculatorError):
        evaluate(text)
