"""Request and response shapes.

Responses are camelCase on the wire (``rename="camel"``); request bodies are
snake_case (``page_id``) and reject unknown fields. Absent optional fields of a
PATCH are ``UNSET``, which is not the same as an explicit ``null``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from shared.kinds import FORBIDDEN_HEADERS, body_content_type
from shared.page_status import Indicator
from shared.status import RULE_PATTERN

IncidentStatus = Literal["investigating", "identified", "monitoring", "resolved"]
Impact = Literal["none", "minor", "major", "critical"]
MaintenanceStatus = Literal["scheduled", "in_progress", "completed"]
CheckStatus = Literal["up", "degraded", "down"]
KeyScope = Literal["read", "incidents", "write", "admin"]

MAX_ID = 2**63 - 1  # PostgreSQL bigint
# Every method a probe may use; the API accepts any case and stores upper case.
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

# The patterns state in the OpenAPI document what the API accepts, and msgspec
# enforces them: a value the document allows is never refused. (ECMA and Python
# read these alike: explicit classes, no \s or \d.)
NO_NUL = r"^[^\u0000]*$"  # PostgreSQL text cannot hold NUL
# Whitespace (str.isspace), control characters and DEL: never in a URL.
_BLANK = r"\u0000-\u0020\u007f\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# Characters whose NFKC form holds one of / ? # @ : (Python's urlsplit refuses them in a host).
_NFKC_DELIMITERS = (
    r"\u2047-\u2049\u2100\u2101\u2105\u2106\u2a74"
    r"\ufe13\ufe16\ufe55\ufe56\ufe5f\ufe6b\uff03\uff0f\uff1a\uff1f\uff20"
)
_NETLOC = rf"[^{_BLANK}{_NFKC_DELIMITERS}/?#@\[\]\\"
_PORT = "(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})"


def _ipv6() -> str:
    """RFC 3986's IPv6address (no zone id)."""
    h16 = "[0-9A-Fa-f]{1,4}"
    octet = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
    ls32 = rf"(?:{h16}:{h16}|{octet}(?:\.{octet}){{3}})"
    forms = [f"(?:{h16}:){{6}}{ls32}", f"::(?:{h16}:){{5}}{ls32}"]
    for before, after in ((0, 4), (1, 3), (2, 2), (3, 1), (4, 0)):
        head = f"(?:(?:{h16}:){{0,{before}}}{h16})?" if before else f"(?:{h16})?"
        forms.append(f"{head}::" + (f"(?:{h16}:){{{after}}}" if after else "") + ls32)
    forms.append(f"(?:(?:{h16}:){{0,5}}{h16})?::{h16}")
    forms.append(f"(?:(?:{h16}:){{0,6}}{h16})?::")
    return f"(?:{'|'.join(forms)})"


_PORT_1 = "(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
_HOST = rf"(?:{_NETLOC}:]+|\[{_ipv6()}\])"  # host name or [IPv6]
# The scheme picks the kind of check (shared/kinds.py): http(s) as a URL;
# tcp:// and tls:// a host and a port; dns:// a name.
URL_PATTERN = (
    "^(?:[Hh][Tt][Tt][Pp][Ss]?://"
    rf"(?:{_NETLOC}]*@)?"  # user:password@
    + _HOST
    + f"(?::{_PORT}?)?"
    + rf"(?:[/?#][^{_BLANK}]*)?"
    + f"|(?:[Tt][Cc][Pp]|[Tt][Ll][Ss])://{_HOST}:{_PORT_1}/?"
    + rf"|[Dd][Nn][Ss]://{_NETLOC}:]+/?"
    + ")$"
)
METHOD_PATTERN = "^(?:" + "|".join("".join(f"[{c}{c.lower()}]" for c in m) for m in METHODS) + ")$"

Id = Annotated[int, Meta(ge=1, le=MAX_ID)]

# RFC 3339 times as msgspec reads them (calendar days and leap years included),
# written out because JSON Schema's "date-time" format is only an annotation.
_LEAP_YEAR = "(?:[1-9][0-9](?:0[48]|[2468][048]|[13579][26])|(?:1[26]|[2468][048]|[3579][26])00)"
_DATE = (
    "(?:[1-9][0-9]{3}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    "|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))"
    f"|{_LEAP_YEAR}-02-29)"
)
_TIME = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?"
_OFFSET = "(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
DATETIME_PATTERN = f"{_DATE}T{_TIME}{_OFFSET}"
DateTime = Annotated[
    datetime,
    Meta(extra_json_schema={"format": "date-time", "pattern": f"^{DATETIME_PATTERN}$"}),
]
SLUG_PATTERN = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"
Slug = Annotated[str, Meta(min_length=1, max_length=100, pattern=SLUG_PATTERN)]
Name = Annotated[str, Meta(min_length=1, max_length=255, pattern=NO_NUL)]
Text = Annotated[str, Meta(pattern=NO_NUL)]
Url = Annotated[str, Meta(min_length=1, max_length=2048, pattern=URL_PATTERN)]
Method = Annotated[str, Meta(min_length=1, max_length=16, pattern=METHOD_PATTERN)]
MIN_INTERVAL, MAX_TIMEOUT = 5, 60
# "timeout and retry_interval not above interval" joins two fields: JSON Schema
# can state it only value by value (dozens of anyOf branches, too large for a
# generator), so the descriptions say it in words and the API enforces it (a
# 400 naming both values; tests/api/schemathesis.toml names the exception).
Interval = Annotated[
    int,
    Meta(
        ge=MIN_INTERVAL,
        le=86400,
        description="Seconds between checks (on create, default CHECK_INTERVAL); not below the"
        " timeout or the retry_interval (a 400 otherwise)",
    ),
]
Timeout = Annotated[
    int,
    Meta(
        ge=1,
        le=MAX_TIMEOUT,
        description="Seconds a check may take; not above the interval (a 400 otherwise)",
    ),
]
Threshold = Annotated[int, Meta(ge=1, le=2**31 - 1)]
Keyword = Annotated[str, Meta(max_length=1024, pattern=NO_NUL)]
ConfirmCount = Annotated[int, Meta(ge=1, le=100)]
RetryInterval = Annotated[
    int,
    Meta(
        ge=5,
        le=86400,
        description="Seconds to the next check while the latest result disagrees with the"
        " confirmed status (null: the interval); not above the interval (a 400 otherwise)",
    ),
]
ExpectedStatus = Annotated[
    list[Annotated[str, Meta(pattern=RULE_PATTERN)]], Meta(min_length=1, max_length=100)
]
# Markdown (CommonMark), stored and returned as written.
Message = Annotated[str, Meta(min_length=1, max_length=10_000, pattern=NO_NUL)]
Description = Annotated[str, Meta(max_length=10_000, pattern=NO_NUL)]
EndpointIds = Annotated[list[Id], Meta(max_length=1000)]
# A time with its UTC offset (or Z): a bare local time is refused.
Instant = Annotated[datetime, Meta(tz=True)]
Rule = Annotated[str, Meta(min_length=1, max_length=500)]
TimeZoneName = Annotated[str, Meta(min_length=1, max_length=64)]


# The probe settings of each kind (the url's scheme says which apply).
def _any_case(word: str) -> str:
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in word)


# An RFC 7230 token, but none of the headers the HTTP client owns.
HEADER_NAME_PATTERN = (
    "^(?!(?:"
    + "|".join(_any_case(name) for name in FORBIDDEN_HEADERS)
    + ")$)[!#$%&'*+.^_`|~0-9A-Za-z-]+$"
)
HEADER_VALUE_PATTERN = r"^[\u0009\u0020-\u007e]*$"  # printable ASCII and tab: 1 byte each
HeaderName = Annotated[str, Meta(min_length=1, max_length=256, pattern=HEADER_NAME_PATTERN)]
HeaderValue = Annotated[str, Meta(max_length=4096, pattern=HEADER_VALUE_PATTERN)]
Headers = Annotated[
    dict[HeaderName, HeaderValue],
    Meta(
        max_length=50,
        description="Request headers: at most 50; Host, Content-Length, Transfer-Encoding and"
        ' Connection are refused. Responses show each value as "***".',
    ),
]
Body = Annotated[str, Meta(max_length=65536, pattern=NO_NUL)]
ContentType = Annotated[
    str, Meta(min_length=1, max_length=255, pattern=r"^[^\u0000-\u001f\u007f]+$")
]
CertExpiryDays = Annotated[int, Meta(ge=1, le=365)]
DnsRecordType = Literal["A", "AAAA", "CNAME", "MX", "TXT", "NS"]
_DNS_NAME = "[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}"
DNS_SERVER_PATTERN = f"^(?:{_DNS_NAME}(?::{_PORT_1})?|\\[{_ipv6()}\\](?::{_PORT_1})?|{_ipv6()})$"
DnsServer = Annotated[str, Meta(min_length=1, max_length=261, pattern=DNS_SERVER_PATTERN)]
DnsExpected = Annotated[str, Meta(min_length=1, max_length=1024, pattern=NO_NUL)]


class Out(msgspec.Struct, rename="camel"):
    """Base of every response body."""


class In(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every request body."""

    # Rules across fields, as JSON Schema keywords (the document states them,
    # the code enforces them).
    __rules__: ClassVar[dict[str, Any]] = {}


# -- responses -----------------------------------------------------------------


class Success(Out):
    success: bool = True


class HealthBody(Out):
    status: str


class Page(Out):
    id: int
    slug: str
    name: str
    created_at: datetime


class Check(Out):
    """One history row: a run of equal results (``checkedAt`` is its last check)."""

    id: int
    endpoint_id: int
    status: CheckStatus
    response_time: int
    status_code: int | None
    error: str | None
    checked_at: datetime
    first_checked_at: datetime
    count: int
    response_time_min: int
    response_time_max: int
    response_time_avg: int
    cert_expires_at: datetime | None  # https:// and tls://: when the certificate expires


class Endpoint(Out):
    id: int
    page_id: int
    name: str
    url: str
    method: str
    interval: int
    timeout: int
    expected_status: list[str]
    degraded_threshold_ms: int | None
    keyword: str | None
    failure_threshold: int
    success_threshold: int
    retry_interval: int | None
    active: bool
    created_at: datetime
    status: CheckStatus | None  # the confirmed status
    in_maintenance: bool
    headers: Annotated[
        dict[str, str],
        Meta(description='Every request header name, each value "***" (values are secrets)'),
    ]
    body: str | None
    body_content_type: str | None  # the type sent with the body (null without a body)
    follow_redirects: bool
    verify_tls: bool
    cert_expiry_days: int | None
    dns_record_type: DnsRecordType
    dns_server: str | None
    dns_expected: str | None


class Uptimes(Out):
    h24: float | None = msgspec.field(name="24h")
    d7: float | None = msgspec.field(name="7d")
    d30: float | None = msgspec.field(name="30d")
    d90: float | None = msgspec.field(name="90d")


class PageEndpoint(Endpoint):
    latest: Check | None
    uptime: str
    uptimes: Uptimes


class PageStatus(Out):
    """Statuspage's indicator (none, minor, major, critical) and its description."""

    indicator: Indicator
    description: str


class TimelineUpdate(Out):
    """One entry of an incident's timeline (``message`` is null for a status change)."""

    id: int
    status: IncidentStatus
    message: str | None
    created_at: datetime


class Incident(Out):
    id: int
    page_id: int
    title: str
    description: str | None
    status: IncidentStatus
    impact: Impact
    affected_endpoint_ids: list[int]
    updates: list[TimelineUpdate]
    postmortem: str | None
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None


class ApiKey(Out):
    """A key's metadata (never its token)."""

    id: int
    name: str
    scope: KeyScope
    page_ids: list[int] | None
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None


class ApiKeyCreated(ApiKey):
    """The answer to POST /api/keys: the only time the token is shown."""

    token: str


class AuditEntry(Out):
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    summary: str


class Maintenance(Out):
    """A maintenance window; ``status`` and ``next*`` come from its occurrences and the clock."""

    id: int
    page_id: int
    title: str
    description: str | None
    starts_at: datetime
    ends_at: datetime
    rrule: str | None
    timezone: str
    endpoint_ids: list[int]
    status: MaintenanceStatus
    next_starts_at: datetime | None
    next_ends_at: datetime | None
    created_at: datetime
    updated_at: datetime


class PageDetail(Page):
    endpoints: list[PageEndpoint]
    status: PageStatus
    incidents: list[Incident]  # the unresolved ones
    maintenances: list[Maintenance]  # in progress and starting in the next 7 days


# -- requests ------------------------------------------------------------------


class PageCreate(In):
    name: Name
    slug: Slug


class PageUpdate(In):
    name: Name | UnsetType = UNSET
    slug: Slug | UnsetType = UNSET


class EndpointCreate(In):
    page_id: Id
    name: Name
    url: Url
    method: Method = "GET"
    interval: Interval | UnsetType = UNSET
    timeout: Timeout | UnsetType = UNSET
    expected_status: ExpectedStatus | UnsetType = UNSET
    degraded_threshold_ms: Threshold | None = None
    keyword: Keyword | None = None
    failure_threshold: ConfirmCount = 1
    success_threshold: ConfirmCount = 1
    retry_interval: RetryInterval | None = None
    active: bool = True
    headers: Headers | UnsetType = UNSET
    body: Body | None = None
    body_content_type: ContentType | None = None
    follow_redirects: bool = True
    verify_tls: bool = True
    cert_expiry_days: CertExpiryDays | None = 14
    dns_record_type: DnsRecordType = "A"
    dns_server: DnsServer | None = None
    dns_expected: DnsExpected | None = None


class EndpointUpdate(In):
    page_id: Id | UnsetType = UNSET
    name: Name | UnsetType = UNSET
    url: Url | UnsetType = UNSET
    method: Method | UnsetType = UNSET
    interval: Interval | UnsetType = UNSET
    timeout: Timeout | UnsetType = UNSET
    expected_status: ExpectedStatus | UnsetType = UNSET
    degraded_threshold_ms: Threshold | UnsetType | None = UNSET
    keyword: Keyword | UnsetType | None = UNSET
    failure_threshold: ConfirmCount | UnsetType = UNSET
    success_threshold: ConfirmCount | UnsetType = UNSET
    retry_interval: RetryInterval | UnsetType | None = UNSET
    active: bool | UnsetType = UNSET
    headers: Headers | UnsetType = UNSET
    body: Body | UnsetType | None = UNSET
    body_content_type: ContentType | UnsetType | None = UNSET
    follow_redirects: bool | UnsetType = UNSET
    verify_tls: bool | UnsetType = UNSET
    cert_expiry_days: CertExpiryDays | UnsetType | None = UNSET
    dns_record_type: DnsRecordType | UnsetType = UNSET
    dns_server: DnsServer | UnsetType | None = UNSET
    dns_expected: DnsExpected | UnsetType | None = UNSET


class IncidentCreate(In):
    page_id: Id
    title: Name
    description: Description | None = None
    status: IncidentStatus = "investigating"
    impact: Impact = "minor"
    affected_endpoint_ids: EndpointIds = msgspec.field(default_factory=list)
    postmortem: Description | None = None


class IncidentUpdate(In):
    title: Name | UnsetType = UNSET
    description: Description | UnsetType | None = UNSET
    status: IncidentStatus | UnsetType = UNSET
    impact: Impact | UnsetType = UNSET
    affected_endpoint_ids: EndpointIds | UnsetType = UNSET
    postmortem: Description | UnsetType | None = UNSET


class MaintenanceCreate(In):
    page_id: Id
    title: Name
    starts_at: Instant
    ends_at: Instant
    description: Description | None = None
    endpoint_ids: EndpointIds | None = None  # null or absent: every endpoint of the page
    rrule: Rule | None = None
    timezone: TimeZoneName = "UTC"


class MaintenanceUpdate(In):
    title: Name | UnsetType = UNSET
    description: Description | UnsetType | None = UNSET
    starts_at: Instant | UnsetType = UNSET
    ends_at: Instant | UnsetType = UNSET
    endpoint_ids: EndpointIds | UnsetType | None = UNSET
    rrule: Rule | UnsetType | None = UNSET
    timezone: TimeZoneName | UnsetType = UNSET


class TimelineUpdateCreate(In):
    message: Message
    status: IncidentStatus | UnsetType = UNSET


class KeyCreate(In):
    name: Name
    scope: KeyScope
    page_ids: Annotated[list[Id], Meta(min_length=1, max_length=1000)] | None = None
    expires_at: DateTime | None = None


class Login(In):
    token: Annotated[str, Meta(min_length=1, max_length=1024)]
    next: str | None = None


def sent_fields(data: In) -> dict[str, Any]:
    """The fields of a request body that were sent (or have a default), by name."""
    return {f: getattr(data, f) for f in data.__struct_fields__ if getattr(data, f) is not UNSET}


def patch_of(fields: dict[str, Any]) -> str:
    """The ``%(patch)s`` of an UPDATE_* statement: the fields to set, as a JSON object."""
    return msgspec.json.encode(fields).decode()


MASK = "***"


def masked(headers: dict[str, Any]) -> dict[str, str]:
    """Request headers as responses show them: every name, each value MASK (values are secrets)."""
    return dict.fromkeys(headers, MASK)


def endpoint_fields(row: dict[str, Any]) -> dict[str, Any]:
    """The Endpoint fields of a result row, by name; header values masked."""
    fields = {f: row[f] for f in Endpoint.__struct_fields__}
    fields["headers"] = masked(row["headers"])
    fields["body_content_type"] = body_content_type(row["body"], row["body_content_type"])
    return fields


_ENDPOINT_AT = {f: n for n, f in enumerate(Endpoint.__struct_fields__)}


def endpoint_picker(names: Sequence[str]) -> Callable[[tuple[Any, ...]], list[Any]]:
    """What ``endpoint_fields`` does, for plain tuple rows of the columns ``names``.

    The returned function gives a row's Endpoint fields in field order (as a
    list, for a Struct's positional constructor), header values masked. The
    names are looked up once per result, not once per row.
    """
    pick = operator.itemgetter(*(names.index(f) for f in Endpoint.__struct_fields__))
    headers, body, content_type = (
        _ENDPOINT_AT["headers"],
        _ENDPOINT_AT["body"],
        _ENDPOINT_AT["body_content_type"],
    )

    def fields(row: tuple[Any, ...]) -> list[Any]:
        values = list(pick(row))
        values[headers] = masked(values[headers])
        values[content_type] = body_content_type(values[body], values[content_type])
        return values

    return fields


def check_picker(
    names: Sequence[str], prefix: str, endpoint_column: str
) -> Callable[[tuple[Any, ...]], Check]:
    """A function giving the Check of a tuple row (columns ``names``).

    Its columns are ``prefix`` + each field's name, the endpoint id that of
    ``endpoint_column``; looked up once per result.
    """
    fields = Check.__struct_fields__
    columns = [endpoint_column if f == "endpoint_id" else prefix + f for f in fields]
    pick = operator.itemgetter(*(names.index(c) for c in columns))
    return lambda row: Check(*pick(row))


def endpoint_from_row(row: dict[str, Any]) -> Endpoint:
    return Endpoint(**endpoint_fields(row))


def maintenance_from_row(row: dict[str, Any]) -> Maintenance:
    return Maintenance(**{f: row[f] for f in Maintenance.__struct_fields__})


def incident_from_row(row: dict[str, Any]) -> Incident:
    """An Incident from a row of the incident statements (``updates`` as JSON, camelCase)."""
    fields = {f: row[f] for f in Incident.__struct_fields__ if f != "updates"}
    return Incident(**fields, updates=msgspec.convert(row["updates"], list[TimelineUpdate]))


# -- alerting ------------------------------------------------------------------

ChannelType = Literal["webhook", "apprise"]
DeliveryState = Literal["pending", "delivered", "failed"]
NotifyOn = Literal["down", "degraded", "up", "reminder", "maintenance"]
Secret = Annotated[str, Meta(min_length=1, max_length=1024, pattern=NO_NUL)]
# A webhook's http(s) URL or an Apprise URL (slack://…): checked by shared/channels.py.
ChannelUrl = Annotated[str, Meta(min_length=1, max_length=2048, pattern=NO_NUL)]
ReminderInterval = Annotated[int, Meta(ge=300, le=86400)]


class Channel(Out):
    """A notification channel; its url and secret are never shown (``target``: scheme and host)."""

    id: int
    name: str
    type: ChannelType
    target: str
    has_secret: bool
    active: bool
    created_at: datetime


class ChannelCreate(In):
    name: Name
    type: ChannelType
    url: ChannelUrl
    secret: Secret | None = None
    active: bool = True


class ChannelUpdate(In):
    name: Name | UnsetType = UNSET
    type: ChannelType | UnsetType = UNSET
    url: ChannelUrl | UnsetType = UNSET
    secret: Secret | UnsetType | None = UNSET
    active: bool | UnsetType = UNSET


class ChannelTest(Out):
    state: DeliveryState
    attempts: int
    last_error: str | None


class AlertRule(Out):
    id: int
    channel_id: int
    page_id: int | None
    endpoint_id: int | None
    notify_on: list[NotifyOn]
    reminder_interval: int | None
    created_at: datetime


class AlertRuleCreate(In):
    channel_id: Id
    page_id: Id | None = None
    endpoint_id: Id | None = None
    notify_on: Annotated[list[NotifyOn], Meta(min_length=1, max_length=4)] | UnsetType = UNSET
    reminder_interval: ReminderInterval | None = None

    # Exactly one of page_id or endpoint_id; "reminder" only with a reminder_interval.
    __rules__ = {
        "allOf": [
            {
                "oneOf": [
                    {
                        "required": ["page_id"],
                        "properties": {
                            "page_id": {"type": "integer"},
                            "endpoint_id": {"type": "null"},
                        },
                    },
                    {
                        "required": ["endpoint_id"],
                        "properties": {
                            "endpoint_id": {"type": "integer"},
                            "page_id": {"type": "null"},
                        },
                    },
                ]
            },
            {
                "anyOf": [
                    {"properties": {"notify_on": {"not": {"contains": {"const": "reminder"}}}}},
                    {
                        "required": ["reminder_interval"],
                        "properties": {"reminder_interval": {"type": "integer"}},
                    },
                ]
            },
        ]
    }


class Event(Out):
    id: int
    type: str
    page_id: int | None
    endpoint_id: int | None
    from_: CheckStatus | None = msgspec.field(name="from")
    to: CheckStatus | None
    occurred_at: datetime
    status_code: int | None
    response_time: int | None
    error: str | None
    # recorded inside a maintenance window: nobody was told (issue 9)
    suppressed: bool
    # maintenance.started / maintenance.ended: the window (null once deleted)
    maintenance_id: int | None


class Delivery(Out):
    id: int
    event_id: int
    channel_id: int
    state: DeliveryState
    attempts: int
    last_attempt_at: datetime | None
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
