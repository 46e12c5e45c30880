"""Forwarding a call to the instance that owns its shard: one hop, same credentials,
same deadline.

The request is sent as the caller sent it (re-serialized deterministically), with the
caller's metadata (the bearer token, ``x-request-id``) and ``x-mm-forwarded`` naming
this instance: the owner serves it from its own shards or answers SHARD_MOVING, and
never forwards it again. The call's remaining time is the forwarded call's deadline.
The owner's answer comes back unchanged: its response bytes (deterministic, so an
idempotent replay is byte-identical whichever instance relays it) or its status with
every detail. An owner that cannot be reached is UNAVAILABLE ``SHARD_MOVING``: the
client retries, and by then the lease has moved.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import grpc
from google.protobuf.message import Message

from multimargin.service.routing import FORWARDED_KEY, Relayed, shard_moving

log = logging.getLogger("multimargin.cluster")

#: Metadata a forward must not copy (gRPC's own, and the marker we set ourselves).
_NOT_FORWARDED = frozenset(
    {
        "user-agent",
        "content-type",
        "te",
        "grpc-timeout",
        "grpc-accept-encoding",
        "grpc-encoding",
        "accept-encoding",
        FORWARDED_KEY,
    }
)
_STATUS_DETAILS = "grpc-status-details-bin"


def _identity(b: bytes) -> bytes:
    return b


class Forwarder:
    """gRPC channels to the other instances, one per address, kept open."""

    def __init__(self, me: str) -> None:
        self.me = me
        self._channels: dict[str, Any] = {}
        self.forwarded = 0

    def _channel(self, address: str) -> Any:
        channel = self._channels.get(address)
        if channel is None:
            channel = grpc.aio.insecure_channel(address, options=(("grpc.enable_retries", 0),))
            self._channels[address] = channel
        return channel

    @staticmethod
    def metadata(context: Any, me: str) -> tuple[tuple[str, Any], ...]:
        md = tuple(
            (k, v)
            for k, v in (context.invocation_metadata() or ())
            if not k.startswith(":") and k not in _NOT_FORWARDED
        )
        return (*md, (FORWARDED_KEY, me))

    async def unary(
        self, address: str, shard: int, full_method: str, request: Message, response_class: Any, context: Any
    ) -> Message:
        """Call ``full_method`` on ``address`` with the caller's metadata and deadline."""
        call = self._channel(address).unary_unary(
            full_method, request_serializer=_identity, response_deserializer=_identity
        )
        remaining = context.time_remaining() if context is not None else None
        metadata = self.metadata(context, self.me) if context is not None else ((FORWARDED_KEY, self.me),)
        self.forwarded += 1
        try:
            raw = await call(
                request.SerializeToString(deterministic=True), timeout=remaining, metadata=metadata
            )
        except grpc.aio.AioRpcError as exc:
            raise relay(exc, shard, address) from None
        response: Message = response_class.FromString(raw)
        return response

    async def stream(
        self, address: str, full_method: str, request: Message, response_class: Any, context: Any
    ) -> Any:
        call = self._channel(address).unary_stream(
            full_method, request_serializer=_identity, response_deserializer=_identity
        )
        metadata = self.metadata(context, self.me) if context is not None else ((FORWARDED_KEY, self.me),)
        stream = call(request.SerializeToString(deterministic=True), metadata=metadata)
        try:
            async for raw in stream:
                yield response_class.FromString(raw)
        except grpc.aio.AioRpcError as exc:
            raise relay(exc, -1, address) from None
        finally:
            stream.cancel()

    async def close(self) -> None:
        for channel in self._channels.values():
            with contextlib.suppress(Exception):
                await channel.close()
        self._channels.clear()


def relay(exc: grpc.aio.AioRpcError, shard: int, address: str) -> Relayed:
    """The owner's status as ours; an owner that could not be reached is SHARD_MOVING."""
    trailing = tuple(exc.trailing_metadata() or ())
    has_details = any(k == _STATUS_DETAILS for k, _ in trailing)
    if exc.code() == grpc.StatusCode.UNAVAILABLE and not has_details:
        log.info("owner unreachable", extra={"fields": {"shard": shard, "owner": address}})
        return shard_moving(shard, None, f"has no reachable owner (was {address})")
    return Relayed(exc.code(), exc.details() or "", trailing)


__all__ = ["Forwarder", "relay"]
