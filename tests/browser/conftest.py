"""Chromium driven by Playwright: Debian's browser (``/usr/bin/chromium``), never a download.

Without it every test here is skipped with the reason naming what to install;
``.ci/run`` installs the ``chromium`` package when it is missing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Screenshots for people to look at (git-ignored).
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"


def _missing() -> str | None:
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)) and not shutil.which(
        CHROMIUM
    ):
        return (
            f"no Chromium at {CHROMIUM}: install Debian's chromium package"
            " (apt-get install chromium), or set CHROMIUM to a Chromium binary"
        )
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "playwright is not installed: make install (the test extras)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _missing()
    if reason is None:
        return
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()
