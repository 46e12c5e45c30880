"""AccountService against a real server: every RPC's success path and refusals, and the
SPEC §9 mode-switch conditions (each one reported, several reported together)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import rpckit
from rpckit import (
    FAILED_PRECONDITION,
    INVALID_ARGUMENT,
    NOT_FOUND,
    Rpc,
    acc,
    new_id,
    refused,
    rid,
    t,
    unchanged,
)

FUTURES, MARGIN = t.ACCOUNT_KIND_FUTURES, t.ACCOUNT_KIND_MARGIN
SINGLE, MULTI = t.ACCOUNT_MODE_SINGLE_ASSET, t.ACCOUNT_MODE_MULTI_ASSET
CLASSIC, PRO = t.ACCOUNT_MODE_CLASSIC, t.ACCOUNT_MODE_PRO


@pytest.fixture(scope="module")
def rpc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rpc]:
    with rpckit.serving(tmp_path_factory.mktemp("accounts") / "data") as (_, client):
        yield client


def switch_request(account_id: str, mode: int, **kwargs: object) -> acc.SwitchModeRequest:
    return acc.SwitchModeRequest(request_id=rid(), account_id=account_id, target_mode=mode, **kwargs)


# ---- CreateAccount / GetAccount / ListAccounts --------------------------------------------


def test_create_accounts_start_in_their_default_modes(rpc: Rpc) -> None:
    f = rpc.create("FUTURES", region="JP", sub_account=True)
    assert (f.kind, f.mode, f.status, f.version, f.region) == (
        FUTURES,
        SINGLE,
        t.ACCOUNT_STATUS_ACTIVE,
        1,
        "JP",
    )
    assert f.WhichOneof("state") == "futures"
    assert f.flags.sub_account and not f.flags.copy_trading

    m = rpc.create("MARGIN")
    assert (m.kind, m.mode, m.status, m.version, m.region) == (
        MARGIN,
        CLASSIC,
        t.ACCOUNT_STATUS_ACTIVE,
        1,
        "",
    )
    assert m.WhichOneof("state") == "margin"
    ms = m.margin
    assert (ms.classic_leverage, ms.mcr_classic, ms.mcr_pro) == (3, "1.3", "1.5")
    assert not ms.pro_terms_accepted and not ms.pro_entered

    for created in (f, m):
        got = rpc.accounts.GetAccount(acc.GetAccountRequest(account_id=created.account_id))
        assert got.account == created
        assert got.HasField("risk")


def test_create_refusals_change_nothing(rpc: Rpc) -> None:
    taken = rpc.create("FUTURES").account_id
    create = rpc.accounts.CreateAccount

    def request(**kwargs: object) -> acc.CreateAccountRequest:
        fields: dict[str, object] = {"request_id": rid(), "account_id": new_id(), "kind": FUTURES}
        fields.update(kwargs)
        return acc.CreateAccountRequest(**fields)  # type: ignore[arg-type]

    with unchanged(rpc, taken):
        refused(create, request(account_id=taken), INVALID_ARGUMENT, "INVALID_ARGUMENT", "account_id")
        refused(
            create, request(account_id=taken, kind=MARGIN), INVALID_ARGUMENT, "INVALID_ARGUMENT", "account_id"
        )
        refused(
            create, request(kind=t.ACCOUNT_KIND_UNSPECIFIED), INVALID_ARGUMENT, "INVALID_ARGUMENT", "kind"
        )
        refused(create, request(kind=7), INVALID_ARGUMENT, "INVALID_ARGUMENT", "kind")
        for region in ("jp", "JPN", "J", "J1", "日本"):
            refused(create, request(region=region), INVALID_ARGUMENT, "INVALID_ARGUMENT", "region")
        # Flags are futures-only.
        for flag in ("sub_account", "copy_trading"):
            refused(create, request(kind=MARGIN, **{flag: True}), INVALID_ARGUMENT, "INVALID_ARGUMENT", flag)
    assert rpc.accounts.GetAccount(acc.GetAccountRequest(account_id=taken)).account.kind == FUTURES


def test_get_account_unknown_is_not_found(rpc: Rpc) -> None:
    r = refused(
        rpc.accounts.GetAccount,
        acc.GetAccountRequest(account_id=new_id("missing")),
        NOT_FOUND,
        "ACCOUNT_NOT_FOUND",
        "account_id",
    )
    assert "missing-" in r.message
    refused(
        rpc.accounts.GetAccount,
        acc.GetAccountRequest(account_id=""),
        INVALID_ARGUMENT,
        "INVALID_ARGUMENT",
        "account_id",
    )


def test_list_accounts_pages_in_code_point_order(rpc: Rpc) -> None:
    prefix = new_id("list")
    mine = sorted(rpc.create("FUTURES" if i % 2 else "MARGIN", f"{prefix}-{i}").account_id for i in range(5))

    listed, pages, token = [], 0, ""
    while True:
        page = rpc.accounts.ListAccounts(acc.ListAccountsRequest(page_size=2, page_token=token))
        assert len(page.accounts) <= 2
        listed.extend(page.accounts)
        pages += 1
        token = page.next_page_token
        if not token:
            break
    ids = [a.account_id for a in listed]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert len(ids) == rpc.status().accounts
    assert set(mine) <= set(ids)
    assert pages == (len(ids) + 1) // 2
    summary = {a.account_id: a for a in listed}[mine[0]]
    account = rpc.account(mine[0])
    assert (summary.kind, summary.mode, summary.status, summary.version) == (
        account.kind,
        account.mode,
        account.status,
        account.version,
    )

    # 0 means the default (100); more than 1000 is treated as 1000: here, everything.
    for size in (0, 5000):
        page = rpc.accounts.ListAccounts(acc.ListAccountsRequest(page_size=size))
        assert [a.account_id for a in page.accounts] == ids[:100]
    refused(
        rpc.accounts.ListAccounts,
        acc.ListAccountsRequest(page_size=-1),
        INVALID_ARGUMENT,
        "OUT_OF_RANGE",
        "page_size",
    )


# ---- SetAccountFlags ----------------------------------------------------------------------


def test_set_account_flags(rpc: Rpc) -> None:
    a = rpc.create("FUTURES")
    flags = rpc.accounts.SetAccountFlags
    on = flags(
        acc.SetAccountFlagsRequest(request_id=rid(), account_id=a.account_id, copy_trading=True)
    ).account
    assert on.flags.copy_trading and not on.flags.sub_account and on.version == 2
    both = flags(
        acc.SetAccountFlagsRequest(request_id=rid(), account_id=a.account_id, sub_account=True)
    ).account
    assert both.flags.copy_trading and both.flags.sub_account and both.version == 3
    off = flags(
        acc.SetAccountFlagsRequest(
            request_id=rid(), account_id=a.account_id, copy_trading=False, sub_account=False
        )
    ).account
    assert not off.flags.copy_trading and not off.flags.sub_account and off.version == 4

    margin = rpc.create("MARGIN").account_id
    multi = rpc.create("FUTURES").account_id
    rpc.switch(multi, MULTI)
    with unchanged(rpc, margin, multi):
        refused(
            flags,
            acc.SetAccountFlagsRequest(request_id=rid(), account_id=margin, copy_trading=True),
            INVALID_ARGUMENT,
            "INVALID_ARGUMENT",
            "account_id",
        )
        # SPEC §9: copy trading cannot be turned on in MULTI_ASSET; a sub-account cannot use it.
        refused(
            flags,
            acc.SetAccountFlagsRequest(request_id=rid(), account_id=multi, copy_trading=True),
            FAILED_PRECONDITION,
            "COPY_TRADING_ON",
        )
        refused(
            flags,
            acc.SetAccountFlagsRequest(request_id=rid(), account_id=multi, sub_account=True),
            FAILED_PRECONDITION,
            "SUB_ACCOUNT",
        )
        refused(
            flags,
            acc.SetAccountFlagsRequest(request_id=rid(), account_id=new_id(), copy_trading=True),
            NOT_FOUND,
            "ACCOUNT_NOT_FOUND",
            "account_id",
        )


# ---- AcceptProTerms -----------------------------------------------------------------------


def test_accept_pro_terms(rpc: Rpc) -> None:
    m = rpc.create("MARGIN").account_id
    f = rpc.create("FUTURES").account_id
    accept = rpc.accounts.AcceptProTerms

    def request(account_id: str = m, **kwargs: object) -> acc.AcceptProTermsRequest:
        fields: dict[str, object] = {"quiz_passed": True, "terms_version": "2024-01"}
        fields.update(kwargs)
        return acc.AcceptProTermsRequest(request_id=rid(), account_id=account_id, **fields)  # type: ignore[arg-type]

    with unchanged(rpc, m, f):
        refused(
            accept, request(quiz_passed=False), FAILED_PRECONDITION, "PRO_TERMS_NOT_ACCEPTED", "quiz_passed"
        )
        refused(accept, request(terms_version=""), INVALID_ARGUMENT, "INVALID_ARGUMENT", "terms_version")
        refused(accept, request(f), INVALID_ARGUMENT, "INVALID_ARGUMENT", "account_id")
        refused(accept, request(new_id()), NOT_FOUND, "ACCOUNT_NOT_FOUND", "account_id")
    done = accept(request()).account
    assert done.margin.pro_terms_accepted and done.margin.pro_terms_version == "2024-01"
    assert done.version == 2 and done.mode == CLASSIC


# ---- CheckModeSwitch / SwitchMode: margin -------------------------------------------------------


def test_margin_switch_classic_to_pro_and_back(rpc: Rpc) -> None:
    m = rpc.create("MARGIN").account_id
    rpc.transfer_in(m, "USDT", "1000")
    check = rpc.check_switch(m, PRO)
    assert not check.allowed and [u.reason for u in check.unmet] == ["PRO_TERMS_NOT_ACCEPTED"]
    assert check.version == rpc.account(m).version
    with unchanged(rpc, m):
        r = refused(
            rpc.accounts.SwitchMode, switch_request(m, PRO), FAILED_PRECONDITION, "PRO_TERMS_NOT_ACCEPTED"
        )
        assert not r.violations  # one condition: ErrorInfo only

    # A Pro MCR set before the first switch is reset to the default on entering PRO.
    rpc.accounts.SetMarginCallRatio(
        acc.SetMarginCallRatioRequest(request_id=rid(), account_id=m, mode=PRO, ratio="2")
    )
    rpc.accept_terms(m)
    check = rpc.check_switch(m, PRO)
    assert check.allowed and not check.unmet
    pro = rpc.accounts.SwitchMode(switch_request(m, PRO, expected_version=check.version)).account
    assert pro.mode == PRO and pro.version == check.version + 1
    assert pro.margin.pro_entered and pro.margin.mcr_pro == "1.5"

    # Switching to the current mode changes nothing (it is journaled, as an answered request).
    before = rpc.status().state_hash
    same = rpc.accounts.SwitchMode(switch_request(m, PRO)).account
    assert same == pro == rpc.account(m)
    assert rpc.status().state_hash == before
    assert rpc.check_switch(m, PRO).allowed

    classic = rpc.switch(m, CLASSIC)
    assert classic.mode == CLASSIC and classic.margin.pro_entered
    # Later switches keep the stored Pro MCR.
    rpc.accounts.SetMarginCallRatio(
        acc.SetMarginCallRatioRequest(request_id=rid(), account_id=m, mode=PRO, ratio="1.8")
    )
    assert rpc.switch(m, PRO).margin.mcr_pro == "1.8"


def test_margin_switch_to_pro_reports_terms_and_low_pro_margin_level(rpc: Rpc) -> None:
    # Classic: 1000 USDT own + 1000 borrowed, and a BUY far above the market. Classic
    # margin ignores the order, but under Pro rules its open-order loss sinks the margin
    # level below pro_switch_in_bar (2).
    m = rpc.create("MARGIN").account_id
    rpc.transfer_in(m, "USDT", "1000")
    rpc.borrow(m, "USDT", "1000")
    order_id = rpc.place_margin(
        m, base="BTC", quote="USDT", side=t.SIDE_BUY, price="150000", quantity="0.0125"
    ).order_id
    assert rpc.account(m).status == t.ACCOUNT_STATUS_ACTIVE

    check = rpc.check_switch(m, PRO)
    reasons = ["PRO_TERMS_NOT_ACCEPTED", "MARGIN_LEVEL_TOO_LOW"]
    assert not check.allowed and [u.reason for u in check.unmet] == reasons
    assert all(u.message for u in check.unmet)
    with unchanged(rpc, m):
        r = refused(rpc.accounts.SwitchMode, switch_request(m, PRO), FAILED_PRECONDITION, reasons[0])
    assert [v[0] for v in r.violations] == reasons
    assert all(reason in r.message for reason in reasons)

    rpc.accept_terms(m)
    assert [u.reason for u in rpc.check_switch(m, PRO).unmet] == ["MARGIN_LEVEL_TOO_LOW"]
    with unchanged(rpc, m):
        refused(rpc.accounts.SwitchMode, switch_request(m, PRO), FAILED_PRECONDITION, "MARGIN_LEVEL_TOO_LOW")

    rpc.trading.CancelOrder(rpckit.trd.CancelOrderRequest(request_id=rid(), account_id=m, order_id=order_id))
    assert rpc.check_switch(m, PRO).allowed
    assert rpc.switch(m, PRO).mode == PRO


def test_margin_switch_pro_to_classic_needs_collateral_margin_level(rpc: Rpc) -> None:
    # Pro lets CV/TL go down to about 1.11; Classic (3x) needs CML > 1.5 to switch back.
    m = rpc.create("MARGIN").account_id
    rpc.transfer_in(m, "USDT", "1000")
    rpc.accept_terms(m)
    rpc.switch(m, PRO)
    rpc.borrow(m, "USDT", "2000")
    check = rpc.check_switch(m, CLASSIC)
    assert not check.allowed and [u.reason for u in check.unmet] == ["MARGIN_LEVEL_TOO_LOW"]
    with unchanged(rpc, m):
        refused(
            rpc.accounts.SwitchMode, switch_request(m, CLASSIC), FAILED_PRECONDITION, "MARGIN_LEVEL_TOO_LOW"
        )
    # Less debt: CML = 3000 / 1000.0045 > 1.5.
    rpc.funds.Repay(rpckit.fun.RepayRequest(request_id=rid(), account_id=m, asset="USDT", amount="1000"))
    assert rpc.check_switch(m, CLASSIC).allowed
    assert rpc.switch(m, CLASSIC).mode == CLASSIC


def test_switch_to_a_mode_of_the_other_kind_is_invalid(rpc: Rpc) -> None:
    m = rpc.create("MARGIN").account_id
    f = rpc.create("FUTURES").account_id
    with unchanged(rpc, m, f):
        for account_id, mode in (
            (m, MULTI),
            (m, SINGLE),
            (f, PRO),
            (f, CLASSIC),
            (f, t.ACCOUNT_MODE_UNSPECIFIED),
            (f, 9),
        ):
            refused(
                rpc.accounts.SwitchMode,
                switch_request(account_id, mode),
                INVALID_ARGUMENT,
                "INVALID_ARGUMENT",
                "target_mode",
            )
            refused(
                rpc.accounts.CheckModeSwitch,
                acc.CheckModeSwitchRequest(account_id=account_id, target_mode=mode),
                INVALID_ARGUMENT,
                "INVALID_ARGUMENT",
                "target_mode",
            )
        refused(
            rpc.accounts.SwitchMode,
            switch_request(new_id(), PRO),
            NOT_FOUND,
            "ACCOUNT_NOT_FOUND",
            "account_id",
        )
        refused(
            rpc.accounts.CheckModeSwitch,
            acc.CheckModeSwitchRequest(account_id=new_id(), target_mode=PRO),
            NOT_FOUND,
            "ACCOUNT_NOT_FOUND",
            "account_id",
        )


# ---- CheckModeSwitch / SwitchMode: futures (SPEC §9) ----------------------------------------------


def test_futures_switch_single_to_multi_and_back(rpc: Rpc) -> None:
    f = rpc.create("FUTURES").account_id
    rpc.transfer_in(f, "BTC", "1")
    rpc.transfer_in(f, "USDT", "100")
    assert rpc.check_switch(f, MULTI).allowed
    multi = rpc.switch(f, MULTI)
    assert multi.mode == MULTI and multi.version == 4
    # In MULTI_ASSET every asset is collateral, valued through its tiers.
    pools = rpc.risk_of(f).futures.pools
    assert [p.id for p in pools] == ["CROSS"]
    assert pools[0].value["BTC"] == "58500"  # 1 BTC × 0.975 × 60000
    assert rpc.switch(f, SINGLE).mode == SINGLE


def _with_position(rpc: Rpc, account_id: str) -> None:
    rpc.transfer_in(account_id, "USDT", "10000")
    rpc.set_position(account_id, symbol="BTCUSDT", size="0.1", entry_price="60000", leverage=10)


def _with_order(rpc: Rpc, account_id: str) -> None:
    rpc.transfer_in(account_id, "USDT", "10000")
    rpc.place_futures(
        account_id, symbol="ETHUSDT", side=t.SIDE_BUY, price="3000", quantity="0.1", leverage=10
    )


def _with_debt(rpc: Rpc, account_id: str) -> None:
    # MULTI_ASSET with BTC collateral and a USDT debt: not liquidatable; switch back to SINGLE.
    rpc.switch(account_id, MULTI)
    rpc.transfer_in(account_id, "BTC", "1")
    wallet = rpc.post(account_id, ("USDT", "-1000")).futures.wallet
    assert wallet["USDT"] == "-1000"


CONDITIONS = {
    "HAS_OPEN_POSITIONS": ({}, _with_position, MULTI),
    "HAS_OPEN_ORDERS": ({}, _with_order, MULTI),
    "HAS_LIABILITIES": ({}, _with_debt, SINGLE),
    "SUB_ACCOUNT": ({"sub_account": True}, None, MULTI),
    "COPY_TRADING_ON": ({"copy_trading": True}, None, MULTI),
}


@pytest.mark.parametrize("reason", list(CONDITIONS))
def test_futures_switch_reports_each_condition(rpc: Rpc, reason: str) -> None:
    flags, setup, target = CONDITIONS[reason]
    f = rpc.create("FUTURES", **flags).account_id
    if setup is not None:
        setup(rpc, f)
    account = rpc.account(f)
    assert account.status == t.ACCOUNT_STATUS_ACTIVE
    check = rpc.check_switch(f, target)
    assert not check.allowed
    assert [u.reason for u in check.unmet] == [reason]
    assert check.version == account.version
    with unchanged(rpc, f):
        refused(rpc.accounts.SwitchMode, switch_request(f, target), FAILED_PRECONDITION, reason)
        refused(
            rpc.accounts.SwitchMode,
            switch_request(f, target, expected_version=check.version),
            FAILED_PRECONDITION,
            reason,
        )


def test_futures_switch_with_every_condition_lists_every_one(rpc: Rpc) -> None:
    f = rpc.create("FUTURES", sub_account=True, copy_trading=True).account_id
    rpc.transfer_in(f, "USDT", "10000")
    # A long in profit (mark 60000) keeps the USDT pool healthy while the wallet is negative.
    rpc.set_position(f, symbol="BTCUSDT", size="1", entry_price="50000", leverage=10)
    rpc.post(f, ("USDT", "-10100"))
    rpc.place_futures(f, symbol="ETHUSDT", side=t.SIDE_BUY, price="3000", quantity="0.1", leverage=10)
    account = rpc.account(f)
    assert account.status == t.ACCOUNT_STATUS_ACTIVE and account.futures.wallet["USDT"] == "-100"
    assert len(account.futures.orders) == 1 and len(account.futures.positions) == 1

    expected = {"HAS_OPEN_POSITIONS", "HAS_OPEN_ORDERS", "HAS_LIABILITIES", "SUB_ACCOUNT", "COPY_TRADING_ON"}
    check = rpc.check_switch(f, MULTI)
    listed = [u.reason for u in check.unmet]
    assert not check.allowed and set(listed) == expected and len(listed) == len(expected)
    assert all(u.message for u in check.unmet)
    with unchanged(rpc, f):
        r = refused(rpc.accounts.SwitchMode, switch_request(f, MULTI), FAILED_PRECONDITION, listed[0])
    # google.rpc.PreconditionFailure lists every condition, in CheckModeSwitch's order.
    assert [v[0] for v in r.violations] == listed
    assert all(description for _, description in r.violations)
    assert all(reason in r.message for reason in expected)


# ---- SetMarginCallRatio -------------------------------------------------------------------


def test_set_margin_call_ratio(rpc: Rpc) -> None:
    m = rpc.create("MARGIN").account_id
    f = rpc.create("FUTURES").account_id
    mcr = rpc.accounts.SetMarginCallRatio

    def request(ratio: str, mode: int = CLASSIC, account_id: str = m) -> acc.SetMarginCallRatioRequest:
        return acc.SetMarginCallRatioRequest(request_id=rid(), account_id=account_id, mode=mode, ratio=ratio)

    # Bounds of mcr_range [1.3, 2] are inside; any mode may be set whatever the current one.
    assert mcr(request("2")).account.margin.mcr_classic == "2"
    assert mcr(request("1.3")).account.margin.mcr_classic == "1.3"
    after = mcr(request("1.75000000", PRO)).account
    assert (after.margin.mcr_pro, after.mode, after.version) == ("1.75", CLASSIC, 4)

    with unchanged(rpc, m, f):
        for ratio in ("1.29999999", "2.00000001", "0", "-1.5"):
            refused(mcr, request(ratio), INVALID_ARGUMENT, "OUT_OF_RANGE", "ratio")
        for ratio in ("1.000000001", "1e0", "abc"):
            refused(mcr, request(ratio), INVALID_ARGUMENT, "INVALID_DECIMAL", "ratio")
        refused(mcr, request(""), INVALID_ARGUMENT, "INVALID_ARGUMENT", "ratio")
        for mode in (MULTI, SINGLE, t.ACCOUNT_MODE_UNSPECIFIED):
            refused(mcr, request("1.5", mode), INVALID_ARGUMENT, "INVALID_ARGUMENT", "mode")
        refused(mcr, request("1.5", CLASSIC, f), INVALID_ARGUMENT, "INVALID_ARGUMENT", "account_id")
        refused(mcr, request("1.5", CLASSIC, new_id()), NOT_FOUND, "ACCOUNT_NOT_FOUND", "account_id")


# ---- SetClassicLeverage -------------------------------------------------------------------


def test_set_classic_leverage(rpc: Rpc) -> None:
    m = rpc.create("MARGIN").account_id
    f = rpc.create("FUTURES").account_id
    lev = rpc.accounts.SetClassicLeverage

    def request(leverage: int, account_id: str = m) -> acc.SetClassicLeverageRequest:
        return acc.SetClassicLeverageRequest(request_id=rid(), account_id=account_id, leverage=leverage)

    assert lev(request(5)).account.margin.classic_leverage == 5
    assert lev(request(3)).account.margin.classic_leverage == 3
    with unchanged(rpc, m, f):
        for bad in (4, 0, 1, 2, 10, -3):
            refused(lev, request(bad), INVALID_ARGUMENT, "OUT_OF_RANGE", "leverage")
        refused(lev, request(5, f), INVALID_ARGUMENT, "INVALID_ARGUMENT", "account_id")
        refused(lev, request(5, new_id()), NOT_FOUND, "ACCOUNT_NOT_FOUND", "account_id")

    # ML = TA / TL = 1200 / 1000.0045 ≈ 1.2: not above 5/4, so 5x is refused (not liquidatable: > 1.1).
    rpc.transfer_in(m, "USDT", "1000")
    rpc.borrow(m, "USDT", "1000")
    rpc.post(m, ("USDT", "-800"))
    summary = rpc.risk_of(m).margin
    assert summary.margin_level.startswith("1.19") and not summary.liquidatable
    with unchanged(rpc, m):
        refused(lev, request(5), FAILED_PRECONDITION, "MARGIN_LEVEL_TOO_LOW")
    # Setting the leverage the account already has is no change (SPEC §9 governs a
    # change): accepted, nothing changes, not even the version.
    before = rpc.account(m)
    same = lev(request(3)).account
    assert same.SerializeToString(deterministic=True) == before.SerializeToString(deterministic=True)


def test_set_classic_leverage_in_pro_mode_is_invalid_argument(rpc: Rpc) -> None:
    # SPEC §9: classic leverage changes only in CLASSIC mode. A wrong-mode request is not a
    # business condition of SPEC §11, so status and reason agree: INVALID_ARGUMENT.
    m = rpc.create("MARGIN").account_id
    rpc.accept_terms(m)
    rpc.switch(m, PRO)
    with unchanged(rpc, m):
        refused(
            rpc.accounts.SetClassicLeverage,
            acc.SetClassicLeverageRequest(request_id=rid(), account_id=m, leverage=5),
            INVALID_ARGUMENT,
            "INVALID_ARGUMENT",
            "account_id",
        )
