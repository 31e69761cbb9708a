"""The database goes away while checking: the checker logs, retries and carries on."""

from __future__ import annotations

import asyncio
import time

import psycopg
from loguru import logger

from .conftest import Target, eventually, make_endpoint, make_page, running_checker

INTERVAL = 5


async def test_database_outage_while_checking(db, settings, target: Target, pg_server: str):
    page = await make_page(db)
    paths = [f"/r{i}" for i in range(5)]
    for p in paths:
        await make_endpoint(db, page, target.answer(p), interval=INTERVAL, timeout=2)
    logs: list[str] = []
    sink = logger.add(lambda m: logs.append(str(m)), level="INFO")
    try:
        async with running_checker(settings) as checker:
            await eventually(lambda: all(target.count(p) >= 1 for p in paths), 5)
            await asyncio.sleep(0.6)  # flushed

            # "Restart": refuse new connections, drop every checker connection (the
            # pool's and the LISTEN one), stay away for a while, come back.
            dbname = (await (await db.execute("SELECT current_database()")).fetchone())[0]
            async with await psycopg.AsyncConnection.connect(pg_server, autocommit=True) as admin:
                await admin.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS false')
                cur = await admin.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = %s AND application_name = 'uptimatum-checker'",
                    (dbname,),
                )
                assert (await cur.fetchone())[0] >= 3  # claim, write, LISTEN
                await asyncio.sleep(3.0)
                await admin.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS true')
            back = time.time()

            # Every endpoint is checked again within an interval of the return ...
            await eventually(
                lambda: all(target.hits[p][-1].at > back for p in paths), INTERVAL + 1.0
            )
            # ... and a new endpoint is noticed (LISTEN reconnected) promptly.
            await eventually(lambda: checker.listener.connected, 5)
            await make_endpoint(db, page, target.answer("/late"), interval=INTERVAL, timeout=2)
            await eventually(lambda: target.count("/late") == 1, 3)
            assert checker.healthy()
    finally:
        logger.remove(sink)
    text = "\n".join(logs)
    assert "LISTEN connection lost" in text
    assert "database unavailable" in text or "cannot write results" in text
    assert "database is back" in text or "database writes work again" in text
    # Everything probed was recorded, outage or not.
    cur = await db.execute("SELECT sum(count) FROM checks")
    recorded = (await cur.fetchone())[0]
    assert recorded == sum(target.count(p) for p in [*paths, "/late"])
