"""Channels that carry credentials: a bearer token on every call, TLS or mutual TLS.

>>> channel = secure_channel("127.0.0.1:50051", token="mm_...")   # doctest: +SKIP

The token travels as ``authorization: Bearer <token>`` metadata (``multimargin serve
--auth``). Over plaintext it is readable on the wire: use TLS beyond loopback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc


class _BearerToken(
    grpc.UnaryUnaryClientInterceptor,  # type: ignore[misc]  # grpc is untyped
    grpc.UnaryStreamClientInterceptor,  # type: ignore[misc]
):
    """Adds ``authorization: Bearer <token>`` to the metadata of every call."""

    def __init__(self, token: str) -> None:
        self._header = ("authorization", f"Bearer {token}")

    def _details(self, details: Any) -> Any:
        metadata = [m for m in (details.metadata or ()) if m[0] != "authorization"]
        return _CallDetails(
            details.method,
            details.timeout,
            [*metadata, self._header],
            details.credentials,
            details.wait_for_ready,
            details.compression,
        )

    def intercept_unary_unary(self, continuation: Callable[..., Any], details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation: Callable[..., Any], details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)


class _CallDetails(grpc.ClientCallDetails):  # type: ignore[misc]
    def __init__(
        self,
        method: str,
        timeout: float | None,
        metadata: Any,
        credentials: Any,
        wait_for_ready: bool | None,
        compression: Any,
    ) -> None:
        self.method = method
        self.timeout = timeout
        self.metadata = metadata
        self.credentials = credentials
        self.wait_for_ready = wait_for_ready
        self.compression = compression


def secure_channel(
    target: str,
    *,
    token: str | None = None,
    tls: bool = False,
    root_certificates: bytes | None = None,
    private_key: bytes | None = None,
    certificate_chain: bytes | None = None,
    options: Any = (),
) -> grpc.Channel:
    """A channel to ``target``: TLS when ``tls`` or any certificate is given (the system
    roots unless ``root_certificates``; a client certificate for mutual TLS), else
    plaintext; with ``token``, every call carries it."""
    if tls or root_certificates or private_key or certificate_chain:
        credentials = grpc.ssl_channel_credentials(root_certificates, private_key, certificate_chain)
        channel = grpc.secure_channel(target, credentials, options)
    else:
        channel = grpc.insecure_channel(target, options)
    if token is not None:
        channel = grpc.intercept_channel(channel, _BearerToken(token))
    return channel


__all__ = ["secure_channel"]
