"""Arithmetic for the calculator tool, parsed and computed here: no Python is ever evaluated.

The text is split into tokens (numbers, a few names, operators and parentheses; any
other character is refused), parsed into a tree by recursive descent, then computed.
The grammar follows Python's precedence and associativity:

    expression := term (("+" | "-") term)*
    term       := factor (("*" | "/" | "//" | "%") factor)*
    factor     := ("+" | "-")* power
    power      := atom ("**" factor)?
    atom       := NUMBER | CONSTANT | FUNCTION "(" expression ("," expression)* ")"
                | "(" expression ")"

Numbers are exact (``Fraction``) until an operation can only be approximated (a
fractional power, a square root that is not a perfect square, a constant such as ``pi``),
after which the value is a float, as in Python. Hostile input cannot make it hang or
exhaust memory: the text, the nesting depth and every intermediate value are bounded,
and a power is refused before it is computed when its result would be too large.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Context, Decimal
from fractions import Fraction
from typing import TypeAlias

from continuum.agents.tools.base import ToolError

Value: TypeAlias = Fraction | float

MAX_LENGTH = 1000
MAX_DEPTH = 64
# 4096 bits is about 1233 decimal digits: far beyond any everyday sum, still cheap to compute.
MAX_BITS = 4096
MAX_LITERAL_EXPONENT = 1000
MAX_ROUND_DIGITS = 1000


class CalculatorError(ToolError):
    """The text is not arithmetic the calculator accepts, or its value cannot be computed."""


_TOKEN = re.compile(
    r"(?P<space>\s+)"
    r"|(?P<number>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>\*\*|//|[-+*/%(),])",
    re.ASCII,
)

CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e, "tau": math.tau}


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "number", "name", "op" or "end"
    text: str
    position: int


def tokenize(text: str) -> list[_Token]:
    """Split ``text`` into tokens; any character outside arithmetic is refused."""
    if len(text) > MAX_LENGTH:
        raise CalculatorError(f"the expression is longer than {MAX_LENGTH} characters")
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise CalculatorError(
                f"unexpected character {text[position]!r} at position {position + 1}; {_ACCEPTED}"
            )
        kind = match.lastgroup or ""
        if kind == "name" and match.group() not in FUNCTIONS and match.group() not in CONSTANTS:
            raise CalculatorError(
                f"unknown name {match.group()!r} at position {position + 1}; {_ACCEPTED}"
            )
        if kind != "space":
            tokens.append(_Token(kind, match.group(), position + 1))
        position = match.end()
    tokens.append(_Token("end", "", len(text) + 1))
    return tokens


# The tree. Chains of one precedence level are kept flat, so that computing a long
# sum is a loop, not a recursion: only parentheses, calls and powers nest.
@dataclass(frozen=True, slots=True)
class Number:
    value: Value


@dataclass(frozen=True, slots=True)
class Negate:
    operand: Node


@dataclass(frozen=True, slots=True)
class Chain:
    first: Node
    rest: tuple[tuple[str, Node], ...]


@dataclass(frozen=True, slots=True)
class Power:
    base: Node
    exponent: Node


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    arguments: tuple[Node, ...]


Node: TypeAlias = Number | Negate | Chain | Power | Call


class _Parser:
    def __init__(self, tokens: list[_Token]):
        self._tokens = tokens
        self._index = 0
        self._depth = 0

    @property
    def _token(self) -> _Token:
        return self._tokens[self._index]

    def _take(self) -> _Token:
        token = self._tokens[self._index]
        self._index += 1
        return token

    def _at(self, *ops: str) -> bool:
        return self._token.kind == "op" and self._token.text in ops

    def _expect(self, op: str) -> None:
        if not self._at(op):
            raise CalculatorError(f"expected {op!r} {_where(self._token)}")
        self._index += 1

    def _nest(self) -> None:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise CalculatorError(f"the expression nests deeper than {MAX_DEPTH} levels")

    def parse(self) -> Node:
        if self._token.kind == "end":
            raise CalculatorError(f"the expression is empty; {_ACCEPTED}")
        node = self._expression()
        if self._token.kind != "end":
            raise CalculatorError(f"unexpected {_where(self._token)}")
        return node

    def _expression(self) -> Node:
        return self._chain(self._term, ("+", "-"))

    def _term(self) -> Node:
        return self._chain(self._factor, ("*", "/", "//", "%"))

    def _chain(self, operand: Callable[[], Node], ops: tuple[str, ...]) -> Node:
        first = operand()
        rest: list[tuple[str, Node]] = []
        while self._at(*ops):
            op = self._take().text
            rest.append((op, operand()))
        return Chain(first, tuple(rest)) if rest else first

    def _factor(self) -> Node:
        negative = False
        while self._at("+", "-"):
            negative ^= self._take().text == "-"
        node = self._power()
        return Negate(node) if negative else node

    def _power(self) -> Node:
        base = self._atom()
        if not self._at("**"):
            return base
        self._take()
        self._nest()
        exponent = self._factor()
        self._depth -= 1
        return Power(base, exponent)

    def _atom(self) -> Node:
        token = self._take()
        if token.kind == "number":
            return Number(_literal(token))
        if token.kind == "op" and token.text == "(":
            self._nest()
            node = self._expression()
            self._expect(")")
            self._depth -= 1
            return node
        if token.kind == "name":
            return self._name(token)
        self._index -= 1
        raise CalculatorError(f"expected a number or '(' {_where(token)}")

    def _name(self, token: _Token) -> Node:
        name = token.text
        if name in FUNCTIONS:
            if not self._at("("):
                raise CalculatorError(f"{name} is a function: write {name}(...)")
            self._take()
            self._nest()
            arguments = [self._expression()]
            while self._at(","):
                self._take()
                arguments.append(self._expression())
            self._expect(")")
            self._depth -= 1
            return Call(name, tuple(arguments))
        return Number(CONSTANTS[name])  # the tokenizer lets through no other name


def _where(token: _Token) -> str:
    if token.kind == "end":
        return "at the end of the expression"
    return f"{token.text!r} at position {token.position}"


def _literal(token: _Token) -> Value:
    mantissa, _, exponent = token.text.lower().partition("e")
    whole, _, decimals = mantissa.partition(".")
    power = int(exponent or 0)
    if abs(power) > MAX_LITERAL_EXPONENT:
        raise CalculatorError(f"the number {token.text!r} is out of range")
    # Built from integers: Fraction's own string parser costs several times as much.
    digits, scale = int(whole + decimals or "0"), power - len(decimals)
    if scale >= 0:
        return _bounded(Fraction(digits * 10**scale))
    return _bounded(Fraction(digits, 10**-scale))


def parse(text: str) -> Node:
    """Parse ``text`` into a tree, or raise ``CalculatorError`` saying what is wrong."""
    return _Parser(tokenize(text)).parse()


# Computing.


def _bounded(value: Value) -> Value:
    if isinstance(value, Fraction):
        if max(value.numerator.bit_length(), value.denominator.bit_length()) > MAX_BITS:
            raise CalculatorError("a value is too large to compute (over about 1200 digits)")
    elif not math.isfinite(value):
        raise CalculatorError("a value is too large to compute (beyond floating point)")
    return value


def _float(value: Value) -> float:
    try:
        return float(value)
    except OverflowError:
        raise CalculatorError("a value is too large for floating point") from None


def _binary(op: str, left: Value, right: Value) -> Value:
    if op in ("/", "//", "%") and right == 0:
        raise CalculatorError("division by zero")
    try:
        if op == "+":
            return _bounded(left + right)
        if op == "-":
            return _bounded(left - right)
        if op == "*":
            return _bounded(left * right)
        if op == "/":
            return _bounded(left / right)
        if op == "//":
            quotient = left // right
            return _bounded(Fraction(quotient) if isinstance(quotient, int) else quotient)
        return _bounded(left % right)
    except OverflowError:
        raise CalculatorError("a value is too large for floating point") from None


def _power(base: Value, exponent: Value) -> Value:
    if isinstance(exponent, Fraction) and exponent.denominator == 1:
        count = exponent.numerator
        if count == 0:
            return Fraction(1)
        if base == 0:
            if count < 0:
                raise CalculatorError("division by zero (zero to a negative power)")
            return base
        if isinstance(base, Fraction):
            if abs(base) == 1:
                return base if count % 2 else abs(base)
            # Refuse before computing: a power's size is known from its operands.
            bits = max(base.numerator.bit_length(), base.denominator.bit_length())
            if (bits - 1) * abs(count) + 1 > MAX_BITS:
                raise CalculatorError("a value is too large to compute (over about 1200 digits)")
            return _bounded(base**count)
    whole = exponent.denominator == 1 if isinstance(exponent, Fraction) else exponent.is_integer()
    if base < 0 and not whole:
        raise CalculatorError("a negative number to a fractional power is not a real number")
    try:
        return _bounded(_float(base) ** _float(exponent))
    except OverflowError:
        raise CalculatorError("a value is too large for floating point") from None
    except ZeroDivisionError:
        raise CalculatorError("division by zero (zero to a negative power)") from None


def _sqrt(value: Value) -> Value:
    if value < 0:
        raise CalculatorError("sqrt of a negative number is not a real number")
    if isinstance(value, Fraction):
        top, bottom = math.isqrt(value.numerator), math.isqrt(value.denominator)
        if top * top == value.numerator and bottom * bottom == value.denominator:
            return Fraction(top, bottom)
    return _bounded(math.sqrt(_float(value)))


def _round(value: Value, digits: Value | None = None) -> Value:
    if digits is None:
        return Fraction(round(value))
    if not (isinstance(digits, Fraction) and digits.denominator == 1):
        raise CalculatorError("round's second argument must be a whole number")
    if abs(digits) > MAX_ROUND_DIGITS:
        raise CalculatorError(f"round's second argument must be within ±{MAX_ROUND_DIGITS}")
    if isinstance(value, Fraction):
        return _bounded(round(value, int(digits)))
    return _bounded(round(value, int(digits)))


def _abs(value: Value) -> Value:
    return -value if value < 0 else value


def _one(name: str, function: Callable[[Value], Value]) -> Callable[[list[Value]], Value]:
    def call(arguments: list[Value]) -> Value:
        if len(arguments) != 1:
            raise CalculatorError(f"{name} takes one argument, got {len(arguments)}")
        return function(arguments[0])

    return call


def _rounding(arguments: list[Value]) -> Value:
    if len(arguments) > 2:
        raise CalculatorError(f"round takes one or two arguments, got {len(arguments)}")
    return _round(*arguments)


FUNCTIONS: dict[str, Callable[[list[Value]], Value]] = {
    "abs": _one("abs", _abs),
    "sqrt": _one("sqrt", _sqrt),
    "floor": _one("floor", lambda v: Fraction(math.floor(v))),
    "ceil": _one("ceil", lambda v: Fraction(math.ceil(v))),
    "round": _rounding,
    "min": lambda arguments: min(arguments),
    "max": lambda arguments: max(arguments),
}

_ACCEPTED = (
    "the calculator accepts numbers, + - * / // % ** and parentheses, "
    f"the functions {', '.join(sorted(FUNCTIONS))} and the constants {', '.join(CONSTANTS)}"
)


def compute(node: Node) -> Value:
    """The value of a parsed tree (its depth is bounded by the parser)."""
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Negate):
        return -compute(node.operand)
    if isinstance(node, Chain):
        value = compute(node.first)
        for op, operand in node.rest:
            value = _binary(op, value, compute(operand))
        return value
    if isinstance(node, Power):
        return _power(compute(node.base), compute(node.exponent))
    return FUNCTIONS[node.name]([compute(argument) for argument in node.arguments])


def evaluate(text: str) -> Value:
    """Parse and compute ``text``: a ``Fraction`` when exact, else a float."""
    return compute(parse(text))


_DECIMAL = Context(prec=17)


def format_number(value: Value) -> str:
    """Whole numbers exactly; others as the shortest float that reads back the same."""
    if isinstance(value, Fraction):
        if value.denominator == 1:
            return str(value.numerator)
        try:
            approximate = float(value)
        except OverflowError:
            approximate = math.inf
        if approximate != 0 and math.isfinite(approximate):
            return repr(approximate)
        quotient = _DECIMAL.divide(Decimal(value.numerator), Decimal(value.denominator))
        return str(quotient.normalize(_DECIMAL))
    return repr(value)
