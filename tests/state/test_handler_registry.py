"""The handler registry covers every RPC of the contract exactly, service by service:
a missing handler fails here, not as INTERNAL at run time."""

from __future__ import annotations

import pytest
from multimargin.contract import contract_rpcs
from multimargin.state import handlers

# Every method of every service in the generated contract, by service short name.
CONTRACT: dict[str, set[str]] = {}
for _rpc in contract_rpcs():
    CONTRACT.setdefault(_rpc.service.rsplit(".", 1)[-1], set()).add(_rpc.name)


def test_one_handler_module_per_service() -> None:
    assert set(handlers.SERVICES) == set(CONTRACT)


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_module_handles_exactly_its_service(name: str) -> None:
    module = handlers.SERVICES[name]
    methods = CONTRACT[name]
    handled = set(module.MUTATIONS) | set(module.QUERIES) | set(getattr(module, "STREAMS", {}))
    assert handled == methods
    assert not set(module.MUTATIONS) & set(module.QUERIES)


def test_registry_is_the_union_of_the_modules() -> None:
    every = set().union(*CONTRACT.values())
    registered = [*handlers.MUTATIONS, *handlers.QUERIES, *handlers.STREAMS]
    assert set(registered) == every
    assert len(registered) == len(every)
    streaming = {rpc.name for rpc in contract_rpcs() if rpc.server_streaming}
    assert streaming == set(handlers.STREAMS)
