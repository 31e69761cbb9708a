"""Our own checks for the schemathesis run (``SCHEMATHESIS_HOOKS=tests.api.schemathesis_hooks``).

Registered checks run with the built-in ones under ``--checks all``.
"""

from __future__ import annotations

from typing import Any

import schemathesis


@schemathesis.check
def errors_are_strings(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx and 503 is ``{"error": "<message>"}``: the frontend shows it as is."""
    if response.status_code < 400 or case.method == "OPTIONS" or response.status_code == 405:
        return None
    body = response.json()
    assert isinstance(body, dict), f"error body is not an object: {body!r}"
    assert isinstance(body.get("error"), str), f"'error' is not a string: {body!r}"
    assert body["error"].strip(), "the error message is empty"
    return True
