"""Type aliases of the dependencies handlers receive by name (provided in app.py)."""

from __future__ import annotations

from typing import TypeAlias

from litestar.di import NamedDependency
from psycopg_pool import AsyncConnectionPool

Pool: TypeAlias = NamedDependency[AsyncConnectionPool]
