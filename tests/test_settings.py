"""Settings from the environment: defaults, coercion, and one clear line for a bad value."""

import subprocess
import sys
import time
import urllib.request

import psycopg
import pytest

from shared.settings import SettingsError, load_settings
from tests.checker.conftest import ROOT, CheckerProcess


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


def test_api_workers_migrations_dir_and_data_dir_are_settings():
    s = load_settings({"API_WORKERS": "4", "MIGRATIONS_DIR": "/m", "DATA_DIR": "/d"})
    assert (s.api_workers, s.migrations_dir, s.data_dir) == (4, "/m", "/d")
    assert (load_settings({}).api_workers, load_settings({}).data_dir) == (1, ".data")
    with pytest.raises(SettingsError) as exc:
        load_settings({"API_WORKERS": "abc"}, command="api")
    assert str(exc.value) == "API_WORKERS='abc' is not valid: expected a whole number"
    # Only the commands that read it are stopped by a bad value.
    assert load_settings({"API_WORKERS": "abc"}, command="migrate").api_workers == 1


def _uptimatum(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        env={"PATH": "/usr/bin:/bin", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_bad_api_workers_stops_the_api_with_one_line_and_nothing_else(
    empty_database_url, tmp_path
):
    api = _uptimatum("api", API_WORKERS="abc", DATABASE_URL=empty_database_url)
    assert api.returncode == 2
    assert api.stderr.strip().splitlines() == [
        "uptimatum: API_WORKERS='abc' is not valid: expected a whole number"
    ]
    migrate = _uptimatum("migrate", API_WORKERS="abc", DATABASE_URL=empty_database_url)
    assert migrate.returncode == 0, migrate.stderr
    assert "Traceback" not in migrate.stderr
    with psycopg.connect(empty_database_url) as conn:
        assert conn.execute("SELECT to_regclass('endpoint_state') IS NOT NULL").fetchone() == (
            True,
        )
    checker = CheckerProcess(empty_database_url, tmp_path / "checker.log", API_WORKERS="abc")
    try:
        deadline = time.monotonic() + 20
        while not _answers(f"http://127.0.0.1:{checker.metrics_port}/health"):
            assert checker.proc.poll() is None, checker.log()
            assert time.monotonic() < deadline, checker.log()
            time.sleep(0.1)
    finally:
        checker.terminate()
        assert checker.wait() == 0
    assert "Traceback" not in checker.log()


def test_migrations_dir_is_where_migrate_looks(empty_database_url, tmp_path):
    missing = _uptimatum("migrate", MIGRATIONS_DIR=str(tmp_path / "nowhere"))
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [
        f"uptimatum: MIGRATIONS_DIR={str(tmp_path / 'nowhere')!r} is not a directory"
    ]
    (tmp_path / "none").mkdir()
    empty = _uptimatum(
        "migrate", MIGRATIONS_DIR=str(tmp_path / "none"), DATABASE_URL=empty_database_url
    )
    assert empty.returncode == 0, empty.stderr
    with psycopg.connect(empty_database_url) as conn:
        assert conn.execute("SELECT to_regclass('pages') IS NULL").fetchone() == (True,)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False
