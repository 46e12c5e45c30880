"""WatchEvents in cluster mode."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from multimargin.errors import InvalidInputError


async def watch(engine: Any, method: str, request: Any) -> AsyncIterator[Any]:
    local = engine.host.local()
    if engine.map.shards == 1 and local:
        async for response in local[0][1].stream(method, request):
            yield response
        return
    raise InvalidInputError("WatchEvents is not served by a cluster yet", "INVALID_ARGUMENT", "")
    yield
