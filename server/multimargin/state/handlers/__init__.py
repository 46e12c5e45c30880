"""What each RPC decides and changes: one module per proto service.

A mutation handler reads the live state through a :class:`Context`, validates the whole
request, works on copies, and returns an :class:`Outcome`; the engine applies it only
after the handler returned. :data:`MUTATIONS` and :data:`QUERIES` are the registry the
engine dispatches on; ``tests/state/test_handler_registry.py`` checks that together they
cover every RPC of the contract exactly.
"""

from __future__ import annotations

from multimargin.state.handlers import accounts, events, funds, market_data, operator, risk, trading
from multimargin.state.handlers.common import Context, Mutation, Outcome, Query, compile_account

SERVICES = {
    "AccountService": accounts,
    "FundsService": funds,
    "TradingService": trading,
    "RiskService": risk,
    "MarketDataService": market_data,
    "OperatorService": operator,
    "EventService": events,
}

MUTATIONS: dict[str, Mutation] = {}
QUERIES: dict[str, Query] = {}
STREAMS: frozenset[str] = frozenset()
for _module in SERVICES.values():
    MUTATIONS.update(_module.MUTATIONS)
    QUERIES.update(_module.QUERIES)
    STREAMS |= getattr(_module, "STREAMS", frozenset())

__all__ = ["MUTATIONS", "QUERIES", "SERVICES", "STREAMS", "Context", "Outcome", "compile_account"]
