"""The wire contract as data: every RPC of the generated :mod:`multimargin.v1` modules.

>>> rpcs = {rpc.full_method: rpc for rpc in contract_rpcs()}
>>> rpcs["/multimargin.v1.AccountService/GetAccount"].request_class.__name__
'GetAccountRequest'
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from dataclasses import dataclass
from typing import Any

from google.protobuf import message_factory
from google.protobuf.message import Message

import multimargin.v1


@dataclass(frozen=True)
class Rpc:
    """One method of the contract."""

    service: str
    """Full service name, e.g. ``multimargin.v1.AccountService``."""
    name: str
    """Short method name, e.g. ``GetAccount``; what :meth:`EngineLike.call` takes."""
    request_class: type[Message]
    response_class: type[Message]
    server_streaming: bool = False
    """True for a server-streaming RPC (EventService.WatchEvents)."""

    @property
    def full_method(self) -> str:
        """The HTTP/2 path of the method, e.g. ``/multimargin.v1.AccountService/GetAccount``."""
        return f"/{self.service}/{self.name}"


@functools.cache
def contract_rpcs() -> tuple[Rpc, ...]:
    """Every RPC of every service in :mod:`multimargin.v1`, ordered by service and method.

    All are unary but server-streaming ones (EventService.WatchEvents); none streams
    requests. Method names are unique across services, since the engine dispatches on
    the short name.
    """
    rpcs: list[Rpc] = []
    for info in pkgutil.iter_modules(multimargin.v1.__path__):
        if not info.name.endswith("_pb2"):
            continue
        module = importlib.import_module(f"{multimargin.v1.__name__}.{info.name}")
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                if method.client_streaming:
                    raise RuntimeError(f"{method.full_name}: client-streaming RPCs are not served")
                rpcs.append(
                    Rpc(
                        service=service.full_name,
                        name=method.name,
                        request_class=message_factory.GetMessageClass(method.input_type),
                        response_class=message_factory.GetMessageClass(method.output_type),
                        server_streaming=method.server_streaming,
                    )
                )
    rpcs.sort(key=lambda rpc: (rpc.service, rpc.name))
    names = [rpc.name for rpc in rpcs]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise RuntimeError(f"RPC names must be unique across services: {', '.join(duplicated)}")
    return tuple(rpcs)


def contract_services() -> list[str]:
    """Full names of the contract's services, sorted."""
    return sorted({rpc.service for rpc in contract_rpcs()})


def _message_types() -> tuple[dict[str, type[Any]], dict[str, type[Any]]]:
    rpcs = contract_rpcs()
    return {r.name: r.request_class for r in rpcs}, {r.name: r.response_class for r in rpcs}


#: Request and response classes of every RPC, by short method name.
REQUEST_TYPES, RESPONSE_TYPES = _message_types()

__all__ = ["REQUEST_TYPES", "RESPONSE_TYPES", "Rpc", "contract_rpcs", "contract_services"]
