"""Maintenance windows: time zones, RFC 5545 rules, and their occurrences.

A window is ``[starts_at, ends_at)``; a recurring one repeats it by ``rrule`` (an
RFC 5545 RRULE without DTSTART) in ``timezone``: every occurrence starts at the
same wall-clock time there as the first one and lasts as long, so a Sunday
02:00 Europe/Berlin window stays at 02:00 Berlin time across daylight-saving
changes. (On the spring-forward day 02:00 does not exist: it starts at 03:00
CEST, the same instant as 02:00 CET; on the fall-back day, at the first 02:00.)

Occurrences are materialised as rows (``maintenance_occurrences``) up to
HORIZON ahead, so SQL can use them (uptime, status, alert suppression); the
API writes them with the window, the checker's hourly job extends them
(``extend_due``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, LiteralString, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrule, rrulestr
from psycopg.rows import dict_row

from shared import queries as q

HORIZON = timedelta(days=400)  # occurrences are materialised this far ahead
MAX_LENGTH = timedelta(days=31)  # the longest window (one occurrence)
MAX_OCCURRENCES = 10_000  # per expansion: an HOURLY rule over 400 days fits
FOREVER = datetime.max.replace(tzinfo=UTC)  # "expanded until" of a rule with no more to come
FREQUENCIES = ("HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY")
_PARTS = re.compile(r"^[A-Z]+=[A-Z0-9,+\-]+$")


class WindowError(ValueError):
    """A window, rule or time zone that cannot be used (the message names it)."""


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``, else WindowError naming it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise WindowError(
            f"timezone {name!r} is not an IANA time zone name (such as 'Europe/Berlin' or 'UTC')"
        ) from None


def parse_rule(text: str, first: datetime, tz: ZoneInfo) -> rrule:
    """The RRULE ``text`` (no DTSTART) anchored at ``first`` in ``tz``, else WindowError."""

    def bad(why: str) -> WindowError:
        return WindowError(f"rrule {text!r} is not a valid RFC 5545 RRULE: {why}")

    body = text.strip().upper().removeprefix("RRULE:")
    parts = body.split(";") if body else []
    if not parts or not all(_PARTS.match(p) for p in parts):
        raise bad("expected NAME=VALUE parts separated by ';', such as 'FREQ=WEEKLY;BYDAY=SU'")
    names = {p.split("=", 1)[0]: p.split("=", 1)[1] for p in parts}
    if "DTSTART" in names:
        raise bad("DTSTART is not allowed (the window's starts_at is the first occurrence)")
    freq = names.get("FREQ")
    if freq is None:
        raise bad("FREQ is required")
    if freq not in FREQUENCIES:
        raise bad(f"FREQ must be one of {', '.join(FREQUENCIES)}")
    if "COUNT" in names and "UNTIL" in names:
        raise bad("COUNT and UNTIL cannot both be given")
    if "UNTIL" in names and not names["UNTIL"].endswith("Z"):
        raise bad("UNTIL must be a UTC time ending in Z, such as 20271231T000000Z")
    for name in ("COUNT", "INTERVAL"):
        if name in names and (not names[name].isdigit() or int(names[name]) < 1):
            raise bad(f"{name} must be a positive integer")
    try:
        rule = rrulestr(body, dtstart=first.astimezone(tz))
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise bad(str(exc)) from None
    if not isinstance(rule, rrule):
        raise bad("one RRULE only")
    return rule


def check_window(
    starts_at: datetime, ends_at: datetime, rule: str | None, timezone: str
) -> rrule | None:
    """Validate a (merged) window; its parsed rule, if any. WindowError names the problem."""
    if ends_at <= starts_at:
        raise WindowError("ends_at must be after starts_at")
    if ends_at - starts_at > MAX_LENGTH:
        raise WindowError("a maintenance window is at most 31 days long")
    tz = zone(timezone)
    return None if rule is None else parse_rule(rule, starts_at, tz)


def occurrences(
    starts_at: datetime, ends_at: datetime, rule: rrule | None, since: datetime, until: datetime
) -> tuple[list[tuple[datetime, datetime]], datetime]:
    """The occurrences starting in ``[since, until)``, in UTC, and how far that expanded.

    The first occurrence is ``[starts_at, ends_at)`` whether or not the rule
    matches it (RFC 5545); each one lasts as long. The second value is the
    time up to which occurrences are now materialised: ``until``, FOREVER when
    the rule has no more, or less when MAX_OCCURRENCES was reached.
    """
    length = ends_at - starts_at
    found: list[tuple[datetime, datetime]] = []
    if since <= starts_at < until:
        found.append((starts_at.astimezone(UTC), ends_at.astimezone(UTC)))
    if rule is None:
        return found, FOREVER
    for start in _starts(rule, max(since, starts_at)):
        if start >= until:
            return found, until
        if start == starts_at:
            continue
        if len(found) >= MAX_OCCURRENCES:
            return found, start
        found.append((start.astimezone(UTC), (start + length).astimezone(UTC)))
    return found, FOREVER


def _starts(rule: rrule, since: datetime) -> Iterator[datetime]:
    """The rule's starts from ``since`` on, as instants.

    dateutil steps the wall clock with the zone attached (so 02:00 stays 02:00);
    converting to UTC fixes each instant (a nonexistent spring-forward time
    resolves with fold=0, an ambiguous fall-back time to its first instance).
    """
    for start in rule.xafter(since, inc=True):
        yield start.astimezone(UTC)


def expand(
    starts_at: datetime,
    ends_at: datetime,
    rule: str | None,
    timezone: str,
    since: datetime,
    now: datetime,
) -> dict[str, Any]:
    """The parameters of a statement writing occurrences: starts, ends, expanded_until."""
    parsed = None if rule is None else parse_rule(rule, starts_at, zone(timezone))
    found, until = occurrences(starts_at, ends_at, parsed, since, now + HORIZON)
    return {
        "starts": [s for s, _ in found],
        "ends": [e for _, e in found],
        "expanded_until": until,
    }


class Connection(Protocol):
    async def execute(self, query: LiteralString, params: dict[str, Any] | None = ...) -> Any: ...


async def extend_due(conn: Connection, *, now: datetime | None = None, batch: int = 100) -> int:
    """Materialise the next occurrences of every recurring window that needs it.

    Run hourly by the checker; each window is extended in its own statement,
    which skips occurrences already there (the API may have written them).
    Returns how many windows were extended.
    """
    now = now or datetime.now(UTC)
    extended, after = 0, 0
    while True:
        cur = await conn.execute(q.MAINTENANCES_TO_EXTEND, {"after_id": after, "batch": batch})
        cur.row_factory = dict_row  # by name, from a Link or a plain connection alike
        rows = await cur.fetchall()
        for m in rows:
            after = m["id"]
            try:
                params = expand(
                    m["starts_at"],
                    m["ends_at"],
                    m["rrule"],
                    m["timezone"],
                    m["expanded_until"],
                    now,
                )
            except WindowError:  # a rule stored before a stricter check: leave it be
                params = {"starts": [], "ends": [], "expanded_until": FOREVER}
            fence = {"id": m["id"], "updated_at": m["updated_at"], "since": m["expanded_until"]}
            await conn.execute(q.EXTEND_OCCURRENCES, {**fence, **params})
            extended += 1
        if len(rows) < batch:
            return extended
