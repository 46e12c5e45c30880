"""Calls of RiskService, MarketDataService and OperatorService."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from multimargin.client.base import Amount, ClientBase, wire
from multimargin.results import (
    EngineStatus,
    Prices,
    PricesUpdated,
    RiskChange,
    RiskSummary,
    decimal_map,
    enum_name,
)
from multimargin.v1 import market_data_service_pb2 as mkt
from multimargin.v1 import operator_service_pb2 as op
from multimargin.v1 import risk_service_pb2 as risk
from multimargin.v1 import types_pb2 as t


class RiskCalls(ClientBase):
    """Calls of RiskService, MarketDataService and OperatorService."""

    def get_risk_summary(self, account_id: str) -> RiskSummary:
        """The SPEC §10 result of the live account."""
        r = self._call(self.risk.GetRiskSummary, risk.GetRiskSummaryRequest(account_id=account_id))
        return RiskSummary.of(r.risk)

    def simulate(self, account_id: str, changes: Sequence[risk.SimulatedChange]) -> RiskSummary:
        """The SPEC §10 result after hypothetical changes; nothing changes."""
        r = self._call(self.risk.Simulate, risk.SimulateRequest(account_id=account_id, changes=list(changes)))
        return RiskSummary.of(r.risk)

    def update_prices(
        self,
        index_prices: Mapping[str, Amount] | None = None,
        mark_prices: Mapping[str, Amount] | None = None,
        *,
        request_id: str | None = None,
    ) -> PricesUpdated:
        """Updates index/mark prices; every affected account is re-evaluated."""
        req = mkt.UpdatePricesRequest(
            request_id=self._rid(request_id),
            index_prices={k: wire(v, f"index_prices.{k}") for k, v in (index_prices or {}).items()},
            mark_prices={k: wire(v, f"mark_prices.{k}") for k, v in (mark_prices or {}).items()},
        )
        r = self._call(self.market.UpdatePrices, req)
        return PricesUpdated(
            r.prices_version,
            tuple(
                RiskChange(
                    a.account_id,
                    a.version,
                    enum_name(t.AccountStatus, a.status),
                    a.liquidatable,
                    a.margin_call,
                )
                for a in r.accounts
            ),
            r.accounts_evaluated,
        )

    def get_prices(self) -> Prices:
        """The index prices, mark prices and prices version."""
        r = self._call(self.market.GetPrices, mkt.GetPricesRequest())
        return Prices(decimal_map(r.index_prices), decimal_map(r.mark_prices), r.prices_version)

    def engine_status(self) -> EngineStatus:
        """The state hash, journal position, account count, snapshot position, last event
        sequence number and rulebook version."""
        return EngineStatus.of(self._call(self.operator.GetEngineStatus, op.GetEngineStatusRequest()))
