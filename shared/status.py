"""Status rules: the accepted status codes and how a probe's outcome becomes a status.

Rules are data (``expected_status``, ``degraded_threshold_ms``, ``keyword``) and are
judged here, in one place, by the API (validation) and the checker (evaluation).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Literal

Status = Literal["up", "degraded", "down"]
STATUSES: tuple[Status, ...] = ("up", "degraded", "down")
DEFAULT_EXPECTED_STATUS = ("200-299",)

_CODE = "[1-5][0-9]{2}"
_RULE = re.compile(f" *({_CODE}) *(?:- *({_CODE}) *)?")


def _range_low_to_high() -> str:
    """A regex of ``"low-high"`` with low <= high (JSON Schema cannot compare two numbers).

    By the first digit where the two codes differ: the hundreds, then the tens
    (hundreds repeated by a backreference), then the units (hundreds and tens
    repeated).
    """
    dash = " *- *"
    hundreds = [f"{h}[0-9]{{2}}{dash}[{h + 1}-5][0-9]{{2}}" for h in range(1, 5)]
    tens = [f"{t}[0-9]{dash}\\1[{t + 1}-9][0-9]" for t in range(9)]
    units = [f"{u}{dash}\\2[{u}-9]" for u in range(10)]
    return f"(?:{'|'.join(hundreds)}|([1-5])(?:{'|'.join(tens)})|([1-5][0-9])(?:{'|'.join(units)}))"


# One expected_status entry, as the OpenAPI document states it: a code, or a
# range from low to high, spaces allowed around both.
RULE_PATTERN = f"^ *(?:{_CODE}|{_range_low_to_high()}) *$"


def parse_expected_status(rules: Iterable[str]) -> list[tuple[int, int]]:
    """``["200-299", "418"]`` -> ``[(200, 299), (418, 418)]``; ValueError names the bad rule."""
    ranges = []
    for rule in rules:
        match = _RULE.fullmatch(rule) if isinstance(rule, str) else None
        if not match:
            raise ValueError(
                f"expected_status entry {rule!r} is not a status code (100-599) "
                "or a range such as '200-299'"
            )
        low = int(match.group(1))
        high = int(match.group(2) or low)
        if high < low:
            raise ValueError(f"expected_status range {rule!r} ends before it starts")
        ranges.append((low, high))
    if not ranges:
        raise ValueError("expected_status needs at least one code or range")
    return ranges


def normalize_expected_status(rules: Iterable[str]) -> list[str]:
    """The canonical spelling stored in the database: ``"200-299"``, ``"418"``."""
    return [f"{lo}" if lo == hi else f"{lo}-{hi}" for lo, hi in parse_expected_status(rules)]


def status_accepted(code: int, ranges: Sequence[tuple[int, int]]) -> bool:
    return any(lo <= code <= hi for lo, hi in ranges)


def judge(
    *,
    status_code: int,
    accepted: Sequence[tuple[int, int]],
    response_ms: int,
    degraded_threshold_ms: int | None,
    keyword_found: bool | None,
) -> tuple[Status, str | None]:
    """The status of a probe that got an HTTP answer, and the error text to record.

    ``keyword_found`` is None when the endpoint has no keyword rule.
    """
    if not status_accepted(status_code, accepted):
        return "down", f"HTTP {status_code}"
    if keyword_found is False:
        return "degraded", "keyword not found in the response body"
    if degraded_threshold_ms is not None and response_ms > degraded_threshold_ms:
        return "degraded", f"slow: {response_ms} ms > {degraded_threshold_ms} ms"
    return "up", None


DAY = 86400.0


def judge_certificate(
    validity: tuple[float, float], now: float, expiry_days: int | None
) -> tuple[Status, str | None]:
    """The certificate rule: ``down`` outside its validity, ``degraded`` when it expires soon.

    ``validity`` is (not before, not after) in epoch seconds; ``expiry_days`` None
    turns the "expires soon" part off.
    """
    not_before, not_after = validity
    if now >= not_after:
        return "down", "TLS error: certificate has expired"
    if now < not_before:
        return "down", "TLS error: certificate is not yet valid"
    left = not_after - now
    if expiry_days is not None and left <= expiry_days * DAY:
        days = round(left / DAY)
        if days < 1:
            return "degraded", "certificate expires today"
        return "degraded", f"certificate expires in {days} day{'s' if days != 1 else ''}"
    return "up", None


def with_certificate(
    answer: tuple[Status, str | None], certificate: tuple[Status, str | None]
) -> tuple[Status, str | None]:
    """An https:// check: a certificate out of its validity is the verdict, else the worse one.

    On a tie the HTTP answer's own rules speak first.
    """
    if certificate[0] == "down" or (answer[0] == "up" and certificate[0] != "up"):
        return certificate
    return answer
