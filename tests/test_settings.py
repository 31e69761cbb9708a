"""Settings from the environment: defaults, coercion, and one clear line for a bad value."""

import subprocess
import sys

import pytest

from shared.settings import SettingsError, load_settings


def test_defaults_and_coercion():
    s = load_settings({"PORT": "8080", "CORS_ORIGINS": "https://a.example, https://b.example"})
    assert (s.port, s.check_interval, s.check_timeout, s.check_retention_days) == (8080, 30, 10, 30)
    assert s.cors_origins == ["https://a.example", "https://b.example"]
    assert s.app_env == "development"
    assert not s.json_logs
    assert load_settings({"APP_ENV": "production"}).json_logs


def test_database_url_wins_over_the_parts():
    s = load_settings({"DATABASE_URL": "postgresql://u@h/d", "DB_HOST": "other"})
    assert s.conninfo() == "postgresql://u@h/d"
    parts = load_settings({"DB_HOST": "db", "DB_NAME": "up", "DB_USER": "me", "DB_PASSWORD": "p w"})
    assert parts.conninfo() == "host=db port=5432 dbname=up user=me password='p w'"


def test_a_short_interval_with_the_default_timeout_is_fine():
    # New endpoints get the smaller of the two; nothing to refuse.
    assert load_settings({"CHECK_INTERVAL": "5"}).check_timeout == 10


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PORT": "abc"}, "PORT='abc' is not valid: expected a whole number"),
        (
            {"CHECK_INTERVAL": "-3"},
            "CHECK_INTERVAL='-3' is not valid: expected a whole number >= 5",
        ),
        (
            {"APP_ENV": "staging"},
            "APP_ENV='staging' is not valid: expected development or production",
        ),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT='xml' is not valid: expected text or json"),
        ({"CHECK_TIMEOUT": "61"}, "CHECK_TIMEOUT='61' is not valid: expected a whole number <= 60"),
    ],
)
def test_a_bad_value_names_the_variable(env, message):
    with pytest.raises(SettingsError) as exc:
        load_settings(env)
    assert str(exc.value) == message


def test_the_command_stops_with_one_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "services.cli", "api"],
        env={"PORT": "abc", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "uptimatum: PORT='abc' is not valid: expected a whole number"
    ]


def test_secrets_never_show_in_the_repr():
    s = load_settings({"ADMIN_TOKEN": "s3cret", "DATABASE_URL": "postgresql://u:pw@h/d"})
    assert "s3cret" not in repr(s)
    assert "pw" not in repr(s)
