"""``multimargin health``: ask a server's standard health service whether it serves.

For container health checks and scripts: exit status 0 when the server answers SERVING,
1 when it answers anything else or cannot be asked in time (the message says which; Docker
reserves 2, so it is left to bad arguments). Speaks plaintext or
TLS (``--tls-ca``; a client certificate too for a server that requires mutual TLS), so
one command works whatever ``multimargin serve`` was started with. The health service
needs no bearer token.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from multimargin.client.auth import secure_channel

SERVING = health_pb2.HealthCheckResponse.SERVING


def check(
    target: str,
    *,
    service: str = "",
    timeout: float = 3.0,
    tls: bool = False,
    ca: bytes | None = None,
    cert: bytes | None = None,
    key: bytes | None = None,
    server_name: str | None = None,
) -> str:
    """The status name the server reports for ``service`` ("" is the whole server), e.g.
    ``"SERVING"``; raises :class:`grpc.RpcError` when it cannot be asked."""
    options = [("grpc.ssl_target_name_override", server_name)] if server_name else []
    channel = secure_channel(
        target, tls=tls, root_certificates=ca, private_key=key, certificate_chain=cert, options=options
    )
    with channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=service), timeout=timeout
        )
    name: str = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    return name


def _read(path: str | None) -> bytes | None:
    return Path(path).read_bytes() if path else None


def _cmd_health(args: argparse.Namespace) -> int:
    if bool(args.tls_cert) != bool(args.tls_key):
        print("multimargin health: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    try:
        status = check(
            args.target,
            service=args.service,
            timeout=args.timeout,
            tls=args.tls,
            ca=_read(args.tls_ca),
            cert=_read(args.tls_cert),
            key=_read(args.tls_key),
            server_name=args.server_name,
        )
    except OSError as e:  # a certificate file that cannot be read
        print(f"multimargin health: {e}", file=sys.stderr)
        return 2
    except grpc.RpcError as e:
        code = e.code().name if isinstance(e, grpc.Call) else "UNAVAILABLE"
        details = e.details() if isinstance(e, grpc.Call) else str(e)
        print(f"{args.target}: {code}: {details}", file=sys.stderr)
        return 1
    print(f"{args.target}: {status}")
    return 0 if status == "SERVING" else 1


def add_parser(sub: Any) -> None:
    """Registers ``multimargin health`` on the command line's subcommands."""
    p = sub.add_parser(
        "health",
        help="ask a server whether it serves (exit 0 SERVING, else 1)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--target", default="127.0.0.1:50051", help="host:port (default %(default)s)")
    p.add_argument("--service", default="", help="a service name; empty for the whole server")
    p.add_argument("--timeout", type=float, default=3.0, help="seconds (default %(default)s)")
    p.add_argument("--tls", action="store_true", help="TLS with the system's roots")
    p.add_argument("--tls-ca", metavar="PEM", help="TLS, trusting these roots (implies --tls)")
    p.add_argument("--tls-cert", metavar="PEM", help="client certificate, for mutual TLS")
    p.add_argument("--tls-key", metavar="PEM", help="client key, for mutual TLS")
    p.add_argument("--server-name", help="the name the server's certificate is checked against")
    p.set_defaults(func=_cmd_health)


__all__ = ["SERVING", "add_parser", "check"]
