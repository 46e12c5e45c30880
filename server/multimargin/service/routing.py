"""What the dispatcher offers an engine that routes calls elsewhere (cluster mode).

* :data:`CALL_CONTEXT`: the gRPC context of the call being handled, so that a router
  can forward the call with the caller's metadata (credentials) and deadline.
* :class:`Relayed`: a status to end the call with exactly as given (an owner's answer
  relayed unchanged, or UNAVAILABLE ``SHARD_MOVING``); the dispatcher aborts with it.
* :func:`shard_moving`: UNAVAILABLE with ErrorInfo reason ``SHARD_MOVING`` and the owner
  hint in the ErrorInfo metadata and in trailing metadata ``x-mm-shard-owner``.
"""

from __future__ import annotations

import contextvars
from typing import Any, NoReturn

import grpc
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from multimargin.service.errors import DOMAIN

#: The gRPC context of the call being handled (unset outside a call).
CALL_CONTEXT: contextvars.ContextVar[Any] = contextvars.ContextVar("multimargin_call_context")

#: Metadata naming the instance that forwarded a call (a forwarded call is never forwarded again).
FORWARDED_KEY = "x-mm-forwarded"
#: Trailing metadata naming the address of a shard's owner.
OWNER_KEY = "x-mm-shard-owner"
#: ErrorInfo reason of a call whose shard has no reachable owner right now.
SHARD_MOVING = "SHARD_MOVING"


class Relayed(Exception):
    """End the call with this code, message and trailing metadata, unchanged."""

    def __init__(
        self, code: grpc.StatusCode, details: str, trailing: tuple[tuple[str, Any], ...] = ()
    ) -> None:
        super().__init__(details)
        self.code = code
        self.details = details
        self.trailing = trailing

    async def abort(self, context: Any) -> NoReturn:
        own = tuple(context.trailing_metadata() or ())
        keys = {k for k, _ in own}
        trailing = (*own, *((k, v) for k, v in self.trailing if k not in keys))
        await context.abort(self.code, self.details, trailing_metadata=trailing)
        raise AssertionError("unreachable: context.abort raises")  # pragma: no cover


def shard_moving(shard: int, owner: str | None, why: str) -> Relayed:
    """UNAVAILABLE ``SHARD_MOVING`` for ``shard``, naming ``owner`` (an address) when known."""
    info = error_details_pb2.ErrorInfo(reason=SHARD_MOVING, domain=DOMAIN)
    info.metadata["shard"] = str(shard)
    if owner:
        info.metadata["owner"] = owner
    status = status_pb2.Status(
        code=code_pb2.UNAVAILABLE, message=f"shard {shard} {why}; retry with backoff ({SHARD_MOVING})"
    )
    status.details.add().Pack(info)
    wire = rpc_status.to_status(status)
    trailing = tuple(wire.trailing_metadata) + (((OWNER_KEY, owner),) if owner else ())
    return Relayed(wire.code, wire.details, trailing)


__all__ = ["CALL_CONTEXT", "FORWARDED_KEY", "OWNER_KEY", "SHARD_MOVING", "Relayed", "shard_moving"]
