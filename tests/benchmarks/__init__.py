"""Benchmarks for `make bench`: each ``bench_*.py`` module here has a ``main()``.

Helpers every benchmark may use: a fresh migrated database on the server named by
``TEST_DATABASE_URL`` / ``DATABASE_URL`` (else one embedded PostgreSQL started once
per run in a temporary directory), a free loopback port, the CPU time of a
process tree, and the code before a change (``code_before``) to run beside this one.
"""

from __future__ import annotations

import atexit
import io
import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from shared.migrate import migrate

ROOT = Path(__file__).resolve().parents[2]
_embedded: str | None = None


def server_conninfo() -> str:
    """A maintenance conninfo: the configured server, else an embedded one (started once)."""
    global _embedded
    url = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if url:
        return url
    if _embedded is None:
        from shared.embedded import start_embedded

        tmp = tempfile.mkdtemp(prefix="uptimatum-bench-pg-")
        atexit.register(shutil.rmtree, tmp, True)
        print("  no TEST_DATABASE_URL/DATABASE_URL: starting an embedded PostgreSQL", flush=True)
        _embedded = start_embedded(Path(tmp) / "pg", dbname="postgres", cleanup="delete")
    return _embedded


def with_dbname(conninfo: str, dbname: str) -> str:
    params = conninfo_to_dict(conninfo)
    params["dbname"] = dbname
    return make_conninfo("", **params)


@contextmanager
def bench_database(prefix: str = "uptimatum_bench") -> Iterator[str]:
    """A new migrated database, dropped afterwards; never the configured database itself."""
    server = server_conninfo()
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        url = with_dbname(server, name)
        migrate(url)
        yield url
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            conn.execute(drop.format(sql.Identifier(name)))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # fields from the 3rd (state) on


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (Granian runs its workers as child processes)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))):
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def cpu_seconds(pid: int, *, tree: bool = True) -> float:
    """User + system CPU time so far of ``pid`` (with its descendants when ``tree``)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for member in process_tree(pid) if tree else [pid]:
        fields = _stat(member)
        if fields:
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def code_before(added: str, dest: Path) -> str | None:
    """``services/`` and ``shared/`` of the commit before the one that added ``added``.

    Extracted (``git archive``) into ``dest``; returns that revision, or None without
    git or without the history.
    """
    try:
        commits = subprocess.run(
            ["git", "log", "--diff-filter=A", "--format=%H", "--", added],
            cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout.split()  # fmt: skip
        if not commits:
            return None
        base = commits[-1] + "~1"
        archive = subprocess.run(
            ["git", "archive", "--format=tar", base, "services", "shared"],
            cwd=ROOT, capture_output=True, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return None
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    return base
