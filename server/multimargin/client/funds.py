"""Calls of FundsService: transfers, ledger entries, borrowing, repaying and history."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Literal

from multimargin.client.base import LEDGER_KINDS, Amount, ClientBase, as_decimal, wire
from multimargin.results import (
    Account,
    Borrowed,
    Repaid,
    Transferred,
)
from multimargin.results_liability import HistoryEntry, HistoryPage, LiabilityRepaid
from multimargin.v1 import funds_service_pb2 as fun

#: ``amount="all"``: repay the whole liability.
ALL = "all"


class FundsCalls(ClientBase):
    """Calls of FundsService: transfers, ledger entries, borrowing, repaying and history."""

    def transfer_in(
        self,
        account_id: str,
        asset: str,
        amount: Amount,
        *,
        expected_version: int | None = None,
        request_id: str | None = None,
    ) -> Transferred:
        """Credits the account; returns it and the part that repaid a negative wallet."""
        req = fun.TransferInRequest(
            request_id=self._rid(request_id),
            account_id=account_id,
            asset=asset,
            amount=wire(amount, "amount"),
        )
        r = self._call(self.funds.TransferIn, self._version(req, expected_version))
        return Transferred(Account.of(r.account), as_decimal(r.repaid))

    def transfer_out(
        self,
        account_id: str,
        asset: str,
        amount: Amount,
        *,
        expected_version: int | None = None,
        request_id: str | None = None,
    ) -> Account:
        """Debits the account, up to its max transfer-out."""
        req = fun.TransferOutRequest(
            request_id=self._rid(request_id),
            account_id=account_id,
            asset=asset,
            amount=wire(amount, "amount"),
        )
        return Account.of(self._call(self.funds.TransferOut, self._version(req, expected_version)).account)

    def post_ledger_entries(
        self,
        account_id: str,
        entries: Sequence[tuple[str, str, Amount] | tuple[str, str, Amount, str]],
        *,
        expected_version: int | None = None,
        request_id: str | None = None,
    ) -> Account:
        """Posts (kind, asset, signed amount[, memo]) entries as one atomic batch."""
        req = fun.PostLedgerEntriesRequest(request_id=self._rid(request_id), account_id=account_id)
        for e in entries:
            req.entries.add(
                kind=LEDGER_KINDS.get(e[0], 0),
                asset=e[1],
                amount=wire(e[2], "entries.amount"),
                memo=e[3] if len(e) > 3 else "",
            )
        return Account.of(
            self._call(self.funds.PostLedgerEntries, self._version(req, expected_version)).account
        )

    def borrow(
        self,
        account_id: str,
        asset: str,
        amount: Amount,
        *,
        expected_version: int | None = None,
        request_id: str | None = None,
    ) -> Borrowed:
        """Borrows up to the max borrow; returns the account and the first hour's interest."""
        req = fun.BorrowRequest(
            request_id=self._rid(request_id),
            account_id=account_id,
            asset=asset,
            amount=wire(amount, "amount"),
        )
        r = self._call(self.funds.Borrow, self._version(req, expected_version))
        return Borrowed(Account.of(r.account), as_decimal(r.interest_charged))

    def repay(
        self,
        account_id: str,
        asset: str,
        amount: Amount | Literal["all"],
        *,
        payer_asset: str = "",
        expected_version: int | None = None,
        request_id: str | None = None,
    ) -> Repaid:
        """Repays debt of ``asset`` (from ``payer_asset`` when given): ``amount`` of it,
        or ``"all"`` of it (margin: borrowed + interest, so no dust is left)."""
        req = fun.RepayRequest(
            request_id=self._rid(request_id), account_id=account_id, asset=asset, payer_asset=payer_asset
        )
        if amount == ALL:
            req.all = True
        else:
            req.amount = wire(amount, "amount")
        r = self._call(self.funds.Repay, self._version(req, expected_version))
        return Repaid(
            Account.of(r.account),
            as_decimal(r.repaid),
            r.payer_asset,
            as_decimal(r.payer_amount),
            as_decimal(r.interest_repaid),
            as_decimal(r.principal_repaid),
        )

    def repay_liability(
        self,
        account_id: str,
        debt_asset: str,
        payer_asset: str,
        amount: Amount | Literal["all"],
        *,
        expected_version: int | None = None,
        request_id: str | None = None,
    ) -> LiabilityRepaid:
        """Repays a futures debt (negative wallet of ``debt_asset``) with ``payer_asset`` at
        the SPEC §7.2 conversion price: ``amount`` of it, or ``"all"`` of it (SPEC §7.3)."""
        req = fun.RepayLiabilityRequest(
            request_id=self._rid(request_id),
            account_id=account_id,
            debt_asset=debt_asset,
            payer_asset=payer_asset,
        )
        if amount == ALL:
            req.all = True
        else:
            req.amount = wire(amount, "amount")
        r = self._call(self.funds.RepayLiability, self._version(req, expected_version))
        return LiabilityRepaid(Account.of(r.account), HistoryEntry.of(r.entry))

    def list_history(self, account_id: str, *, page_size: int = 0, page_token: str = "") -> HistoryPage:
        """One page of the account's repayments and interest charges, newest first
        (SPEC §7.5); ``page_size`` 0 means 100. Paging is stable while entries arrive."""
        req = fun.ListHistoryRequest(account_id=account_id, page_size=page_size, page_token=page_token)
        return HistoryPage.of(self._call(self.funds.ListHistory, req))

    def history(self, account_id: str, *, page_size: int = 0) -> Iterator[HistoryEntry]:
        """Every history entry of the account, newest first, page by page."""
        token = ""
        while True:
            page = self.list_history(account_id, page_size=page_size, page_token=token)
            yield from page.entries
            if not page.next_page_token:
                return
            token = page.next_page_token
