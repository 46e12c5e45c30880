"""Calls of OperatorService: interest settlement, ending a liquidation, VIP levels and
rulebook reloads (``engine_status`` is in :mod:`multimargin.client.risk`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from multimargin.client.base import ClientBase
from multimargin.results import Account
from multimargin.results_liability import RulebookImpact, RulebookPreview, RulebookReloaded, Settlement
from multimargin.v1 import operator_service_pb2 as op


def rulebook_json(rulebook: str | Mapping[str, Any]) -> str:
    """A rulebook for the wire: SPEC §10 JSON text as given, a mapping serialized."""
    return rulebook if isinstance(rulebook, str) else json.dumps(rulebook)


class OperatorCalls(ClientBase):
    """Calls of OperatorService that change the engine."""

    def run_settlement(self, as_of: datetime, *, request_id: str | None = None) -> Settlement:
        """Settles interest for every whole UTC hour up to ``as_of`` (an aware datetime),
        once per hour (SPEC §7.1), then auto-repay and the SPEC §8 checks."""
        if as_of.tzinfo is None:
            raise TypeError("as_of: a naive datetime is ambiguous; pass an aware one (e.g. tz=UTC)")
        ts = Timestamp()
        ts.FromDatetime(as_of)
        req = op.RunSettlementRequest(request_id=self._rid(request_id), as_of=ts)
        return Settlement.of(self._call(self.operator.RunSettlement, req))

    def end_liquidation(
        self, account_id: str, *, expected_version: int | None = None, request_id: str | None = None
    ) -> Account:
        """Ends the liquidation of a LIQUIDATING account that is no longer liquidatable."""
        req = op.EndLiquidationRequest(request_id=self._rid(request_id), account_id=account_id)
        return Account.of(
            self._call(self.operator.EndLiquidation, self._version(req, expected_version)).account
        )

    def set_vip_level(
        self,
        account_id: str,
        level: int,
        *,
        expected_version: int | None = None,
        request_id: str | None = None,
    ) -> Account:
        """Sets the VIP level (0–9) of a margin account; it selects its borrow limits."""
        req = op.SetVipLevelRequest(request_id=self._rid(request_id), account_id=account_id, vip_level=level)
        return Account.of(self._call(self.operator.SetVipLevel, self._version(req, expected_version)).account)

    def reload_rulebook(
        self, rulebook: str | Mapping[str, Any], *, request_id: str | None = None
    ) -> RulebookReloaded:
        """Makes ``rulebook`` (JSON text or a mapping) current, validated against every
        account; the accounts whose state it changed (SPEC §8 applied under it)."""
        req = op.ReloadRulebookRequest(
            request_id=self._rid(request_id), rulebook_json=rulebook_json(rulebook)
        )
        r = self._call(self.operator.ReloadRulebook, req)
        return RulebookReloaded(r.rulebook_version, tuple(RulebookImpact.of(c) for c in r.changed))

    def preview_rulebook(self, rulebook: str | Mapping[str, Any]) -> RulebookPreview:
        """What :meth:`reload_rulebook` would change, at the current prices; nothing changes."""
        req = op.PreviewRulebookRequest(rulebook_json=rulebook_json(rulebook))
        r = self._call(self.operator.PreviewRulebook, req)
        return RulebookPreview(
            r.rulebook_version, tuple(RulebookImpact.of(c) for c in r.crossings), r.accounts_evaluated
        )
