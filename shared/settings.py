"""Settings: read once from the environment at start-up, typed and validated.

Every field is the lower-case name of an environment variable (``PORT`` ->
``port``). A wrong value stops the process with one line naming the variable;
a variable that only some commands read (``API_WORKERS``: the API) stops only those.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from typing import Annotated, Literal
from urllib.parse import urlsplit

import msgspec
from psycopg.conninfo import make_conninfo

Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]
Seconds = Annotated[int, msgspec.Meta(ge=1)]


class SettingsError(ValueError):
    """A variable of the environment has a value we cannot use."""


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    database_url: str | None = None
    db_host: str | None = None
    db_port: Port = 5432
    db_name: str | None = None
    db_user: str | None = None
    db_password: str | None = None
    db_pool_min: Annotated[int, msgspec.Meta(ge=0, le=100)] = 1
    db_pool_max: Annotated[int, msgspec.Meta(ge=1, le=200)] = 10
    host: str = "0.0.0.0"  # noqa: S104 - a service in a container listens on all interfaces
    port: Port = 3000
    api_workers: Annotated[int, msgspec.Meta(ge=1, le=256)] = 1
    check_interval: Annotated[int, msgspec.Meta(ge=5, le=86400)] = 30
    check_timeout: Annotated[int, msgspec.Meta(ge=1, le=60)] = 10
    check_retention_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] = 30
    check_concurrency: Annotated[int, msgspec.Meta(ge=1, le=10000)] = 200
    history_bucket_seconds: Annotated[int, msgspec.Meta(ge=60, le=86400)] = 3600
    cleanup_hour: Annotated[int, msgspec.Meta(ge=0, le=23)] = 2
    metrics_port: Port = 9100
    app_env: Literal["development", "production"] = "development"
    admin_token: str | None = None
    log_level: Literal["TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["text", "json"] | None = None
    cors_origins: list[str] = msgspec.field(default_factory=lambda: ["*"])
    # Where people reach the API (https://status.example.com): session cookies are
    # Secure when it is https, and cookie-authenticated writes must come from its origin;
    # notifications link to its status pages (<PUBLIC_URL>/status/<slug>).
    public_url: str | None = None
    audit_retention_days: Annotated[int, msgspec.Meta(ge=1, le=36500)] = 365
    migrations_dir: str | None = None  # None: the checkout's migrations/, or /app/migrations
    data_dir: str = ".data"  # `uptimatum dev`: the embedded database and the admin token
    # Alerting: how long a delivery is retried after its event before it is failed.
    notify_give_up_seconds: Annotated[int, msgspec.Meta(ge=60, le=2592000)] = 86400

    def __repr__(self) -> str:  # never print a password or the admin token
        shown = {
            f: ("***" if f in _SECRETS and getattr(self, f) else getattr(self, f))
            for f in self.__struct_fields__
        }
        return f"Settings({shown})"

    @property
    def production(self) -> bool:
        return self.app_env == "production"

    @property
    def json_logs(self) -> bool:
        if self.log_format is None:
            return self.production
        return self.log_format == "json"

    def page_url(self, slug: str) -> str | None:
        """The public status page of ``slug`` (None without PUBLIC_URL)."""
        if not self.public_url:
            return None
        return f"{self.public_url.rstrip('/')}/status/{slug}"

    @property
    def database_configured(self) -> bool:
        return bool(self.database_url or self.db_host or self.db_name)

    def conninfo(self) -> str:
        """The libpq connection string: ``DATABASE_URL`` wins over the ``DB_*`` parts."""
        if self.database_url:
            return self.database_url
        parts = {
            "host": self.db_host,
            "port": self.db_port,
            "dbname": self.db_name,
            "user": self.db_user,
            "password": self.db_password,
        }
        return make_conninfo("", **{k: v for k, v in parts.items() if v is not None})


_SECRETS = frozenset({"database_url", "db_password", "admin_token"})
FIELDS = {name.upper(): name for name in Settings.__struct_fields__}
# Variables read by some commands only: a bad value stops those and no other
# (API_WORKERS=abc stops `uptimatum api`, not `uptimatum migrate`).
USED_BY = {"api_workers": frozenset({"api", "dev"})}
_PATH = re.compile(r"at `\$\.(\w+)")
_EXPECTED = {
    "app_env": "expected development or production",
    "log_format": "expected text or json",
    "log_level": "expected a level such as DEBUG, INFO or WARNING",
}


def load_settings(
    environ: Mapping[str, str] | None = None, *, command: str | None = None, **overrides: object
) -> Settings:
    """Build the settings from ``environ`` (default: ``os.environ``) plus overrides.

    ``command``: the `uptimatum` subcommand; variables it does not read (USED_BY)
    keep their defaults. None reads them all.
    """
    env = os.environ if environ is None else environ
    raw: dict[str, object] = {}
    for var, field in FIELDS.items():
        value = env.get(var)
        if value is None or value == "":
            continue
        if command is not None and command not in USED_BY.get(field, (command,)):
            continue
        if field == "cors_origins":
            raw[field] = [o.strip() for o in value.split(",") if o.strip()]
        elif field in ("log_level", "app_env", "log_format"):
            raw[field] = value.strip().upper() if field == "log_level" else value.strip().lower()
        else:
            raw[field] = value.strip()
    raw.update(overrides)
    try:
        settings = msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        match = _PATH.search(str(exc))
        field = match.group(1) if match else "?"
        expected = _EXPECTED.get(field) or _plain(str(exc).split(" - at ")[0])
        got = raw.get(field)
        raise SettingsError(f"{field.upper()}={got!r} is not valid: {expected}") from None
    if settings.public_url is not None:
        parts = urlsplit(settings.public_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise SettingsError(
                f"PUBLIC_URL={settings.public_url!r} is not valid:"
                " expected an absolute http(s) URL such as https://status.example.com"
            )
    return settings


def _plain(msgspec_message: str) -> str:
    text = msgspec_message.replace("Expected `int`", "expected a whole number")
    text = text.replace("Expected `str`", "expected text")
    return re.sub(r", got \w+$", "", text.replace("`", ""))


def generate_token() -> str:
    return secrets.token_urlsafe(32)
