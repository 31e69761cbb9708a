"""Loguru set-up: human text in development, one JSON object per line in production."""

from __future__ import annotations

import logging
import sys

from loguru import logger

from shared.settings import Settings


class _InterceptHandler(logging.Handler):
    """Route stdlib logging (psycopg_pool, aiohttp, granian) through loguru."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        logger.opt(depth=6, exception=record.exc_info).log(level, record.getMessage())


def setup_logging(settings: Settings, *, service: str) -> None:
    logger.remove()
    if settings.json_logs:
        logger.add(sys.stderr, level=settings.log_level, serialize=True)
    else:
        logger.add(
            sys.stderr,
            level=settings.log_level,
            format="<green>{time:HH:mm:ss.SSS}</green> <level>{level: <7}</level> "
            "<cyan>{extra[service]}</cyan> {message}",
        )
    logger.configure(extra={"service": service})
    logging.basicConfig(handlers=[_InterceptHandler()], level=logging.WARNING, force=True)
