from __future__ import annotations

import pytest

from continuum.core.limits import RateLimit, parse_rate_limit, parse_rate_limits


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("100/minute", RateLimit(100, 60, "requests")),
        ("1/second", RateLimit(1, 1, "requests")),
        ("10/hour", RateLimit(10, 3600, "requests")),
        ("5/day", RateLimit(5, 86400, "requests")),
        ("5/days", RateLimit(5, 86400, "requests")),
        (" 7 / Minute ", RateLimit(7, 60, "requests")),
        ("20 requests/second", RateLimit(20, 1, "requests")),
        ("50000 tokens/hour", RateLimit(50000, 3600, "tokens")),
        ("1 token/minute", RateLimit(1, 60, "tokens")),
    ],
)
def test_every_form_parses(text: str, expected: RateLimit) -> None:
    assert parse_rate_limit(text) == expected
    assert parse_rate_limit(str(expected)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "minute",
        "100",
        "100/",
        "/minute",
        "1.5/minute",
        "-1/minute",
        "0/second",
        "1e9/minute",
        "100/week",
        "100 bananas/minute",
        "9" * 14 + "/day",
        "1/minute; DROP TABLE",
        None,
        5,
        ["1/minute"],
        "1/" + "m" * 100,
    ],
)
def test_hostile_values_are_refused(text: object) -> None:
    with pytest.raises(ValueError):
        parse_rate_limit(text)


def test_lists_and_none() -> None:
    assert parse_rate_limits(None) == ()
    assert parse_rate_limits("3/second") == (RateLimit(3, 1),)
    assert len(parse_rate_limits(["3/second", "100 tokens/minute"])) == 2
    with pytest.raises(ValueError, match="at most 32"):
        parse_rate_limits(["1/second"] * 33)
