"""Apprise channels (slack://, discord://, tgram://, mailto://, ntfy://, json:// …).

Apprise is synchronous: each notification runs in a small thread pool of its
own, off the event loop, and the loop waits for it at most the attempt timeout.
Apprise's log lines (which may name URLs) never reach our logs (shared/channels.py
detaches its logger); the warnings of the attempt's own result explain a failure,
with anything that looks like a URL removed.
"""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor

import shared.channels  # noqa: F401 - detaches Apprise's logger before first use

THREADS = 8
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)


_POOL = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="apprise")
_PROBLEMS = ("WARNING", "ERROR", "CRITICAL")


def _notify(url: str, title: str, body: str) -> str | None:
    import apprise

    sender = apprise.Apprise()
    if not sender.add(url):
        return "Apprise could not parse the channel URL"
    result = sender.notify(title=title, body=body)
    if result:
        return None
    # The result carries the log lines of this call only (Apprise may run it in its own threads).
    lines = [e.message for e in result.logs() if e.level in _PROBLEMS]
    return _explain(lines, url)


def _explain(lines: list[str], url: str) -> str:
    if not lines:
        return "Apprise could not deliver the notification"
    text = lines[-1].replace(url, "<url>")
    text = _URL.sub("<url>", text).strip()[:300]
    return text or "Apprise could not deliver the notification"


async def send(url: str, title: str, body: str, seconds: float) -> str | None:
    """None when Apprise delivered it, else the error (never the URL)."""
    loop = asyncio.get_running_loop()
    future = loop.run_in_executor(_POOL, _notify, url, title, body)
    try:
        return await asyncio.wait_for(future, seconds)
    except TimeoutError:
        return f"no answer within {seconds:.0f} s"
    except Exception as exc:  # a bug in a plugin: report its kind, never its text (may hold URLs)
        return f"Apprise failed ({type(exc).__name__})"
