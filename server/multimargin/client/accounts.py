"""Calls of AccountService: create, read, list and configure accounts."""

from __future__ import annotations

from collections.abc import Iterator

from multimargin.client.base import KINDS, MODES, Amount, ClientBase, wire
from multimargin.results import (
    Account,
    AccountSummary,
    AccountView,
    ModeSwitchCheck,
    RiskSummary,
)
from multimargin.v1 import account_service_pb2 as acc
from multimargin.v1 import types_pb2 as t


class AccountCalls(ClientBase):
    """Calls of AccountService: create, read, list and configure accounts."""

    def create_account(
        self,
        account_id: str,
        kind: str,
        *,
        region: str = "",
        sub_account: bool = False,
        copy_trading: bool = False,
        request_id: str | None = None,
    ) -> Account:
        """Creates a FUTURES or MARGIN account."""
        req = acc.CreateAccountRequest(
            request_id=self._rid(request_id),
            account_id=account_id,
            kind=KINDS.get(kind, t.ACCOUNT_KIND_UNSPECIFIED),
            region=region,
            sub_account=sub_account,
            copy_trading=copy_trading,
        )
        return Account.of(self._call(self.accounts.CreateAccount, req).account)

    def get_account(self, account_id: str) -> AccountView:
        """The account and its risk summary (``risk`` None when a price it needs is missing)."""
        r = self._call(self.accounts.GetAccount, acc.GetAccountRequest(account_id=account_id))
        return AccountView(Account.of(r.account), RiskSummary.of(r.risk) if r.HasField("risk") else None)

    def list_accounts(self, page_size: int = 100) -> Iterator[AccountSummary]:
        """Every account, page by page."""
        token = ""
        while True:
            r = self._call(
                self.accounts.ListAccounts, acc.ListAccountsRequest(page_size=page_size, page_token=token)
            )
            yield from (AccountSummary.of(a) for a in r.accounts)
            if not r.next_page_token:
                return
            token = r.next_page_token

    def set_account_flags(
        self,
        account_id: str,
        *,
        sub_account: bool | None = None,
        copy_trading: bool | None = None,
        expected_version: int | None = None,
        request_id: str | None = None,
    ) -> Account:
        """Sets the sub-account and/or copy-trading flag of a futures account."""
        req = acc.SetAccountFlagsRequest(request_id=self._rid(request_id), account_id=account_id)
        if sub_account is not None:
            req.sub_account = sub_account
        if copy_trading is not None:
            req.copy_trading = copy_trading
        return Account.of(
            self._call(self.accounts.SetAccountFlags, self._version(req, expected_version)).account
        )

    def accept_pro_terms(
        self,
        account_id: str,
        terms_version: str,
        *,
        quiz_passed: bool = True,
        expected_version: int | None = None,
        request_id: str | None = None,
    ) -> Account:
        """Records that the Pro quiz was passed and the terms accepted."""
        req = acc.AcceptProTermsRequest(
            request_id=self._rid(request_id),
            account_id=account_id,
            quiz_passed=quiz_passed,
            terms_version=terms_version,
        )
        return Account.of(
            self._call(self.accounts.AcceptProTerms, self._version(req, expected_version)).account
        )

    def check_mode_switch(self, account_id: str, target_mode: str) -> ModeSwitchCheck:
        """Whether the switch is allowed now, else every unmet condition (SPEC §9)."""
        r = self._call(
            self.accounts.CheckModeSwitch,
            acc.CheckModeSwitchRequest(account_id=account_id, target_mode=MODES.get(target_mode, 0)),
        )
        return ModeSwitchCheck(r.allowed, tuple((u.reason, u.message) for u in r.unmet), r.version)

    def switch_mode(
        self,
        account_id: str,
        target_mode: str,
        *,
        expected_version: int | None = None,
        request_id: str | None = None,
    ) -> Account:
        """Switches mode; a refusal lists every unmet condition (``RuleViolationError.conditions``)."""
        req = acc.SwitchModeRequest(
            request_id=self._rid(request_id), account_id=account_id, target_mode=MODES.get(target_mode, 0)
        )
        return Account.of(self._call(self.accounts.SwitchMode, self._version(req, expected_version)).account)

    def set_margin_call_ratio(
        self,
        account_id: str,
        mode: str,
        ratio: Amount,
        *,
        expected_version: int | None = None,
        request_id: str | None = None,
    ) -> Account:
        """Sets the margin-call ratio of a margin mode."""
        req = acc.SetMarginCallRatioRequest(
            request_id=self._rid(request_id),
            account_id=account_id,
            mode=MODES.get(mode, 0),
            ratio=wire(ratio, "ratio"),
        )
        return Account.of(
            self._call(self.accounts.SetMarginCallRatio, self._version(req, expected_version)).account
        )

    def set_classic_leverage(
        self,
        account_id: str,
        leverage: int,
        *,
        expected_version: int | None = None,
        request_id: str | None = None,
    ) -> Account:
        """Sets the Classic leverage (3 or 5)."""
        req = acc.SetClassicLeverageRequest(
            request_id=self._rid(request_id), account_id=account_id, leverage=leverage
        )
        return Account.of(
            self._call(self.accounts.SetClassicLeverage, self._version(req, expected_version)).account
        )
