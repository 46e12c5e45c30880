"""Bad input at the edge, against a real server: each refusal has the SPEC §11 status,
reason and field, and changes nothing (same state hash, nothing journaled, same
accounts). Ids, request ids, unknown accounts / assets / symbols, enum values, wrong
account kinds, amounts (sign, digits, exponent, range), batch sizes, message size."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
import rpckit
from rpckit import (
    FAILED_PRECONDITION,
    INVALID_ARGUMENT,
    NOT_FOUND,
    RESOURCE_EXHAUSTED,
    Rpc,
    acc,
    fun,
    mkt,
    new_id,
    refused,
    rid,
    risk,
    t,
    trd,
    unchanged,
)

MIB = 1024 * 1024


@dataclass(frozen=True)
class World:
    rpc: Rpc
    f: str  # futures, SINGLE_ASSET, USDT 1000, a BTCUSDT position, an open order "ord-1"
    m: str  # margin, CLASSIC, USDT 1000, an open order "ord-2"


def make_world(rpc: Rpc) -> World:
    f = rpc.create("FUTURES").account_id
    rpc.transfer_in(f, "USDT", "1000")
    rpc.set_position(f, symbol="BTCUSDT", size="0.01", entry_price="60000", leverage=10)
    rpc.place_futures(
        f, order_id="ord-1", symbol="ETHUSDT", side=t.SIDE_BUY, price="2900", quantity="0.1", leverage=10
    )
    m = rpc.create("MARGIN").account_id
    rpc.transfer_in(m, "USDT", "1000")
    rpc.borrow(m, "USDT", "10")
    rpc.place_margin(
        m, order_id="ord-2", base="BTC", quote="USDT", side=t.SIDE_BUY, price="50000", quantity="0.001"
    )
    return World(rpc, f, m)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with rpckit.serving(tmp_path_factory.mktemp("edge") / "data") as (_, rpc):
        yield make_world(rpc)


@pytest.fixture
def nothing_changes(world: World) -> Iterator[None]:
    with unchanged(world.rpc, world.f, world.m):
        yield


Call = tuple[Any, Any]


def mutations(w: World) -> dict[str, Call]:
    """A valid request of every mutating RPC, on the world's accounts (not sent)."""
    r = w.rpc
    fo = t.FuturesOrder(symbol="ETHUSDT", side=t.SIDE_BUY, price="2900", quantity="0.1", leverage=10)
    return {
        "CreateAccount": (
            r.accounts.CreateAccount,
            acc.CreateAccountRequest(request_id=rid(), account_id=new_id(), kind=t.ACCOUNT_KIND_FUTURES),
        ),
        "SetAccountFlags": (
            r.accounts.SetAccountFlags,
            acc.SetAccountFlagsRequest(request_id=rid(), account_id=w.f, copy_trading=True),
        ),
        "AcceptProTerms": (
            r.accounts.AcceptProTerms,
            acc.AcceptProTermsRequest(request_id=rid(), account_id=w.m, quiz_passed=True, terms_version="v1"),
        ),
        "SwitchMode": (
            r.accounts.SwitchMode,
            acc.SwitchModeRequest(request_id=rid(), account_id=w.m, target_mode=t.ACCOUNT_MODE_CLASSIC),
        ),
        "SetMarginCallRatio": (
            r.accounts.SetMarginCallRatio,
            acc.SetMarginCallRatioRequest(
                request_id=rid(), account_id=w.m, mode=t.ACCOUNT_MODE_CLASSIC, ratio="1.5"
            ),
        ),
        "SetClassicLeverage": (
            r.accounts.SetClassicLeverage,
            acc.SetClassicLeverageRequest(request_id=rid(), account_id=w.m, leverage=5),
        ),
        "TransferIn": (
            r.funds.TransferIn,
            fun.TransferInRequest(request_id=rid(), account_id=w.f, asset="USDT", amount="1"),
        ),
        "TransferOut": (
            r.funds.TransferOut,
            fun.TransferOutRequest(request_id=rid(), account_id=w.f, asset="USDT", amount="1"),
        ),
        "PostLedgerEntries": (
            r.funds.PostLedgerEntries,
            fun.PostLedgerEntriesRequest(
                request_id=rid(),
                account_id=w.f,
                entries=[fun.LedgerEntry(kind=t.LEDGER_ENTRY_KIND_FEE, asset="USDT", amount="-1")],
            ),
        ),
        "Borrow": (
            r.funds.Borrow,
            fun.BorrowRequest(request_id=rid(), account_id=w.m, asset="USDT", amount="1"),
        ),
        "Repay": (
            r.funds.Repay,
            fun.RepayRequest(request_id=rid(), account_id=w.m, asset="USDT", amount="1"),
        ),
        "SetPosition": (
            r.trading.SetPosition,
            trd.SetPositionRequest(
                request_id=rid(),
                account_id=w.f,
                position=t.Position(symbol="ETHUSDT", size="1", entry_price="3000", leverage=5),
            ),
        ),
        "PlaceOrder": (
            r.trading.PlaceOrder,
            trd.PlaceOrderRequest(request_id=rid(), account_id=w.f, futures=fo),
        ),
        "CancelOrder": (
            r.trading.CancelOrder,
            trd.CancelOrderRequest(request_id=rid(), account_id=w.f, order_id="ord-1"),
        ),
        "UpdatePrices": (
            r.market.UpdatePrices,
            mkt.UpdatePricesRequest(request_id=rid(), index_prices={"BTC": "60000"}),
        ),
    }


def reads(w: World) -> dict[str, Call]:
    """A valid request of every read RPC that names an account."""
    r = w.rpc
    fo = t.FuturesOrder(symbol="ETHUSDT", side=t.SIDE_BUY, price="2900", quantity="0.1", leverage=10)
    return {
        "GetAccount": (r.accounts.GetAccount, acc.GetAccountRequest(account_id=w.f)),
        "CheckModeSwitch": (
            r.accounts.CheckModeSwitch,
            acc.CheckModeSwitchRequest(account_id=w.f, target_mode=t.ACCOUNT_MODE_MULTI_ASSET),
        ),
        "CheckOrder": (r.trading.CheckOrder, trd.CheckOrderRequest(account_id=w.f, futures=fo)),
        "GetRiskSummary": (r.risk.GetRiskSummary, risk.GetRiskSummaryRequest(account_id=w.f)),
        "Simulate": (r.risk.Simulate, risk.SimulateRequest(account_id=w.f)),
    }


MUTATING = [
    "CreateAccount",
    "SetAccountFlags",
    "AcceptProTerms",
    "SwitchMode",
    "SetMarginCallRatio",
    "SetClassicLeverage",
    "TransferIn",
    "TransferOut",
    "PostLedgerEntries",
    "Borrow",
    "Repay",
    "SetPosition",
    "PlaceOrder",
    "CancelOrder",
    "UpdatePrices",
]
ON_ACCOUNTS = [n for n in MUTATING if n not in ("CreateAccount", "UpdatePrices")]
READS = ["GetAccount", "CheckModeSwitch", "CheckOrder", "GetRiskSummary", "Simulate"]


def test_the_valid_requests_are_valid(world: World) -> None:
    # The fault tests below change one field of these requests: unchanged, they pass
    # (sent to a twin of the world, so the world itself stays as it is).
    twin = make_world(world.rpc)
    for method, request in reads(twin).values():
        method(request)
    sent = mutations(twin)
    assert list(sent) == MUTATING
    for method, request in sent.values():
        method(request)


# ---- request ids and account ids ------------------------------------------------------------


@pytest.mark.usefixtures("nothing_changes")
@pytest.mark.parametrize("name", MUTATING)
@pytest.mark.parametrize(
    ("request_id", "why"),
    [("", "missing"), ("r" * 129, "129 chars"), ("tab\tid", "not printable"), ("ключ", "not ASCII")],
)
def test_request_id_is_required_and_bounded(world: World, name: str, request_id: str, why: str) -> None:
    method, request = mutations(world)[name]
    request.request_id = request_id
    refused(method, request, INVALID_ARGUMENT, "INVALID_ARGUMENT", "request_id")


@pytest.mark.usefixtures("nothing_changes")
@pytest.mark.parametrize("name", ON_ACCOUNTS + READS + ["CreateAccount"])
@pytest.mark.parametrize("account_id", ["", "a" * 65, "bad id", "-starts-with-dash", "ünïcode"])
def test_malformed_account_ids_are_invalid(world: World, name: str, account_id: str) -> None:
    method, request = {**mutations(world), **reads(world)}[name]
    request.account_id = account_id
    refused(method, request, INVALID_ARGUMENT, "INVALID_ARGUMENT", "account_id")


@pytest.mark.usefixtures("nothing_changes")
@pytest.mark.parametrize("name", ON_ACCOUNTS + READS)
@pytest.mark.parametrize("account_id", ["no-such-account", "a" * 64])
def test_unknown_accounts_are_not_found(world: World, name: str, account_id: str) -> None:
    method, request = {**mutations(world), **reads(world)}[name]
    request.account_id = account_id
    r = refused(method, request, NOT_FOUND, "ACCOUNT_NOT_FOUND", "account_id")
    assert account_id in r.message


# ---- field by field -------------------------------------------------------------------------

Case = tuple[str, Callable[[World], Call], grpc.StatusCode, str, str | None]


def _with(name: str, edit: Callable[[Any], None], on: str | None = None) -> Callable[[World], Call]:
    """A valid ``name`` request with ``edit`` applied; ``on`` ("f" or "m") sends it to
    the world's futures or margin account instead."""

    def build(w: World) -> Call:
        method, request = mutations(w)[name]
        if on is not None:
            request.account_id = getattr(w, on)
        edit(request)
        return method, request

    return build


def _price(asset: str, price: str) -> Callable[[Any], None]:
    def edit(request: Any) -> None:
        request.index_prices[asset] = price

    return edit


def _read(name: str, edit: Callable[[Any], None]) -> Callable[[World], Call]:
    def build(w: World) -> Call:
        method, request = reads(w)[name]
        edit(request)
        return method, request

    return build


def _set(**fields: Any) -> Callable[[Any], None]:
    def edit(request: Any) -> None:
        for path, value in fields.items():
            target = request
            *parents, leaf = path.split("__")
            for p in parents:
                target = getattr(target, p)
            setattr(target, leaf, value)

    return edit


def _entries(*entries: fun.LedgerEntry) -> Callable[[Any], None]:
    def edit(request: Any) -> None:
        del request.entries[:]
        request.entries.extend(entries)

    return edit


def _margin_order(on: str = "m", **fields: Any) -> Callable[[World], Call]:
    def build(w: World) -> Call:
        order = t.MarginOrder(base="BTC", quote="USDT", side=t.SIDE_BUY, price="50000", quantity="0.001")
        for k, v in fields.items():
            setattr(order, k, v)
        request = trd.PlaceOrderRequest(request_id=rid(), account_id=getattr(w, on), margin=order)
        return w.rpc.trading.PlaceOrder, request

    return build


def _entry(**fields: Any) -> fun.LedgerEntry:
    return fun.LedgerEntry(**{"kind": t.LEDGER_ENTRY_KIND_FEE, "asset": "USDT", "amount": "-1", **fields})


IA, OOR, BAD_DEC = "INVALID_ARGUMENT", "OUT_OF_RANGE", "INVALID_DECIMAL"
UA, US = "UNKNOWN_ASSET", "UNKNOWN_SYMBOL"

CASES: list[Case] = [
    # unknown assets and symbols
    ("transfer-in unknown asset", _with("TransferIn", _set(asset="XRP")), INVALID_ARGUMENT, UA, "asset"),
    ("transfer-in lower-case asset", _with("TransferIn", _set(asset="usdt")), INVALID_ARGUMENT, UA, "asset"),
    ("transfer-in no asset", _with("TransferIn", _set(asset="")), INVALID_ARGUMENT, IA, "asset"),
    ("transfer-out unknown asset", _with("TransferOut", _set(asset="XRP")), INVALID_ARGUMENT, UA, "asset"),
    ("borrow unknown asset", _with("Borrow", _set(asset="XRP")), INVALID_ARGUMENT, UA, "asset"),
    ("repay unknown asset", _with("Repay", _set(asset="XRP")), INVALID_ARGUMENT, UA, "asset"),
    ("repay unknown payer", _with("Repay", _set(payer_asset="XRP")), INVALID_ARGUMENT, UA, "payer_asset"),
    (
        "ledger unknown asset",
        _with("PostLedgerEntries", _entries(_entry(), _entry(asset="XRP"))),
        INVALID_ARGUMENT,
        UA,
        "entries[1].asset",
    ),
    (
        "position unknown symbol",
        _with("SetPosition", _set(position__symbol="XRPUSDT")),
        INVALID_ARGUMENT,
        US,
        "position.symbol",
    ),
    (
        "position no symbol",
        _with("SetPosition", _set(position__symbol="")),
        INVALID_ARGUMENT,
        IA,
        "position.symbol",
    ),
    (
        "order unknown symbol",
        _with("PlaceOrder", _set(futures__symbol="XRPUSDT")),
        INVALID_ARGUMENT,
        US,
        "futures.symbol",
    ),
    (
        "check unknown symbol",
        _read("CheckOrder", _set(futures__symbol="XRPUSDT")),
        INVALID_ARGUMENT,
        US,
        "futures.symbol",
    ),
    ("margin order unknown base", _margin_order(base="XRP"), INVALID_ARGUMENT, UA, "margin.base"),
    ("margin order unknown quote", _margin_order(quote="XRP"), INVALID_ARGUMENT, UA, "margin.quote"),
    ("margin order base = quote", _margin_order(base="USDT"), INVALID_ARGUMENT, IA, "margin.quote"),
    (
        "price of unknown asset",
        _with("UpdatePrices", _price("XRP", "1")),
        INVALID_ARGUMENT,
        UA,
        "index_prices.XRP",
    ),
    # enum values: UNSPECIFIED and unknown numbers
    ("kind unspecified", _with("CreateAccount", _set(kind=0)), INVALID_ARGUMENT, IA, "kind"),
    ("kind unknown", _with("CreateAccount", _set(kind=99)), INVALID_ARGUMENT, IA, "kind"),
    (
        "target mode unspecified",
        _with("SwitchMode", _set(target_mode=0)),
        INVALID_ARGUMENT,
        IA,
        "target_mode",
    ),
    ("target mode unknown", _with("SwitchMode", _set(target_mode=99)), INVALID_ARGUMENT, IA, "target_mode"),
    (
        "check target mode unknown",
        _read("CheckModeSwitch", _set(target_mode=99)),
        INVALID_ARGUMENT,
        IA,
        "target_mode",
    ),
    ("mcr mode unknown", _with("SetMarginCallRatio", _set(mode=99)), INVALID_ARGUMENT, IA, "mode"),
    (
        "order side unspecified",
        _with("PlaceOrder", _set(futures__side=0)),
        INVALID_ARGUMENT,
        IA,
        "futures.side",
    ),
    ("order side unknown", _with("PlaceOrder", _set(futures__side=7)), INVALID_ARGUMENT, IA, "futures.side"),
    ("margin side unspecified", _margin_order(side=0), INVALID_ARGUMENT, IA, "margin.side"),
    (
        "ledger kind unspecified",
        _with("PostLedgerEntries", _entries(_entry(kind=0))),
        INVALID_ARGUMENT,
        IA,
        "entries[0].kind",
    ),
    (
        "ledger kind unknown",
        _with("PostLedgerEntries", _entries(_entry(), _entry(kind=42))),
        INVALID_ARGUMENT,
        IA,
        "entries[1].kind",
    ),
    # wrong-kind operations
    ("flags on margin", _with("SetAccountFlags", _set(), on="m"), INVALID_ARGUMENT, IA, "account_id"),
    ("pro terms on futures", _with("AcceptProTerms", _set(), on="f"), INVALID_ARGUMENT, IA, "account_id"),
    ("mcr on futures", _with("SetMarginCallRatio", _set(), on="f"), INVALID_ARGUMENT, IA, "account_id"),
    (
        "classic leverage on futures",
        _with("SetClassicLeverage", _set(), on="f"),
        INVALID_ARGUMENT,
        IA,
        "account_id",
    ),
    ("borrow on futures", _with("Borrow", _set(), on="f"), INVALID_ARGUMENT, IA, "account_id"),
    ("position on margin", _with("SetPosition", _set(), on="m"), INVALID_ARGUMENT, IA, "account_id"),
    ("futures order on margin", _with("PlaceOrder", _set(), on="m"), INVALID_ARGUMENT, IA, "account_id"),
    ("margin order on futures", _margin_order(on="f"), INVALID_ARGUMENT, IA, "account_id"),
    (
        "futures mode for margin",
        _with("SwitchMode", _set(target_mode=t.ACCOUNT_MODE_MULTI_ASSET)),
        INVALID_ARGUMENT,
        IA,
        "target_mode",
    ),
    # amounts: sign, zero, digits, exponent, range, garbage
    ("transfer-in zero", _with("TransferIn", _set(amount="0")), INVALID_ARGUMENT, OOR, "amount"),
    ("transfer-in minus zero", _with("TransferIn", _set(amount="-0")), INVALID_ARGUMENT, OOR, "amount"),
    ("transfer-in negative", _with("TransferIn", _set(amount="-1")), INVALID_ARGUMENT, OOR, "amount"),
    (
        "transfer-in above 10^15",
        _with("TransferIn", _set(amount="1000000000000000.00000001")),
        INVALID_ARGUMENT,
        OOR,
        "amount",
    ),
    (
        "transfer-in 9 digits",
        _with("TransferIn", _set(amount="1.000000001")),
        INVALID_ARGUMENT,
        BAD_DEC,
        "amount",
    ),
    (
        "transfer-in trailing zeros past 8",
        _with("TransferIn", _set(amount="1.000000000")),
        INVALID_ARGUMENT,
        BAD_DEC,
        "amount",
    ),
    ("transfer-in exponent", _with("TransferIn", _set(amount="1e3")), INVALID_ARGUMENT, BAD_DEC, "amount"),
    (
        "transfer-in upper exponent",
        _with("TransferIn", _set(amount="1E3")),
        INVALID_ARGUMENT,
        BAD_DEC,
        "amount",
    ),
    ("transfer-in plus", _with("TransferIn", _set(amount="+1")), INVALID_ARGUMENT, BAD_DEC, "amount"),
    ("transfer-in space", _with("TransferIn", _set(amount="1 ")), INVALID_ARGUMENT, BAD_DEC, "amount"),
    ("transfer-in comma", _with("TransferIn", _set(amount="1,5")), INVALID_ARGUMENT, BAD_DEC, "amount"),
    ("transfer-in dot only", _with("TransferIn", _set(amount=".")), INVALID_ARGUMENT, BAD_DEC, "amount"),
    ("transfer-in trailing dot", _with("TransferIn", _set(amount="1.")), INVALID_ARGUMENT, BAD_DEC, "amount"),
    ("transfer-in NaN", _with("TransferIn", _set(amount="NaN")), INVALID_ARGUMENT, BAD_DEC, "amount"),
    (
        "transfer-in Infinity",
        _with("TransferIn", _set(amount="Infinity")),
        INVALID_ARGUMENT,
        BAD_DEC,
        "amount",
    ),
    ("transfer-in hex", _with("TransferIn", _set(amount="0x10")), INVALID_ARGUMENT, BAD_DEC, "amount"),
    ("transfer-in arabic digits", _with("TransferIn", _set(amount="١")), INVALID_ARGUMENT, BAD_DEC, "amount"),
    ("transfer-in missing", _with("TransferIn", _set(amount="")), INVALID_ARGUMENT, IA, "amount"),
    ("transfer-out zero", _with("TransferOut", _set(amount="0")), INVALID_ARGUMENT, OOR, "amount"),
    (
        "transfer-out 9 digits",
        _with("TransferOut", _set(amount="0.000000001")),
        INVALID_ARGUMENT,
        BAD_DEC,
        "amount",
    ),
    ("borrow negative", _with("Borrow", _set(amount="-1")), INVALID_ARGUMENT, OOR, "amount"),
    ("borrow exponent", _with("Borrow", _set(amount="1e3")), INVALID_ARGUMENT, BAD_DEC, "amount"),
    ("repay zero", _with("Repay", _set(amount="0")), INVALID_ARGUMENT, OOR, "amount"),
    ("repay 9 digits", _with("Repay", _set(amount="1.000000001")), INVALID_ARGUMENT, BAD_DEC, "amount"),
    (
        "ledger zero",
        _with("PostLedgerEntries", _entries(_entry(amount="0"))),
        INVALID_ARGUMENT,
        OOR,
        "entries[0].amount",
    ),
    (
        "ledger exponent",
        _with("PostLedgerEntries", _entries(_entry(), _entry(amount="-1e3"))),
        INVALID_ARGUMENT,
        BAD_DEC,
        "entries[1].amount",
    ),
    (
        "ledger 9 digits",
        _with("PostLedgerEntries", _entries(_entry(amount="1.000000001"))),
        INVALID_ARGUMENT,
        BAD_DEC,
        "entries[0].amount",
    ),
    (
        "ledger memo 257 chars",
        _with("PostLedgerEntries", _entries(_entry(memo="m" * 257))),
        INVALID_ARGUMENT,
        IA,
        "entries[0].memo",
    ),
    (
        "order zero quantity",
        _with("PlaceOrder", _set(futures__quantity="0")),
        INVALID_ARGUMENT,
        OOR,
        "futures.quantity",
    ),
    (
        "order negative quantity",
        _with("PlaceOrder", _set(futures__quantity="-0.1")),
        INVALID_ARGUMENT,
        OOR,
        "futures.quantity",
    ),
    (
        "order zero price",
        _with("PlaceOrder", _set(futures__price="0")),
        INVALID_ARGUMENT,
        OOR,
        "futures.price",
    ),
    (
        "order price above 10^9",
        _with("PlaceOrder", _set(futures__price="1000000001")),
        INVALID_ARGUMENT,
        OOR,
        "futures.price",
    ),
    (
        "order price exponent",
        _with("PlaceOrder", _set(futures__price="2.9e3")),
        INVALID_ARGUMENT,
        BAD_DEC,
        "futures.price",
    ),
    (
        "order leverage 0",
        _with("PlaceOrder", _set(futures__leverage=0)),
        INVALID_ARGUMENT,
        OOR,
        "futures.leverage",
    ),
    (
        "order leverage 1001",
        _with("PlaceOrder", _set(futures__leverage=1001)),
        INVALID_ARGUMENT,
        OOR,
        "futures.leverage",
    ),
    (
        "order id 65 chars",
        _with("PlaceOrder", _set(futures__order_id="o" * 65)),
        INVALID_ARGUMENT,
        IA,
        "futures.order_id",
    ),
    (
        "order id taken",
        _with("PlaceOrder", _set(futures__order_id="ord-1")),
        INVALID_ARGUMENT,
        IA,
        "futures.order_id",
    ),
    ("margin order zero quantity", _margin_order(quantity="0"), INVALID_ARGUMENT, OOR, "margin.quantity"),
    ("margin order negative price", _margin_order(price="-50000"), INVALID_ARGUMENT, OOR, "margin.price"),
    (
        "check order 9 digits",
        _read("CheckOrder", _set(futures__quantity="0.000000001")),
        INVALID_ARGUMENT,
        BAD_DEC,
        "futures.quantity",
    ),
    (
        "position size 9 digits",
        _with("SetPosition", _set(position__size="0.000000001")),
        INVALID_ARGUMENT,
        BAD_DEC,
        "position.size",
    ),
    (
        "position size above 10^15",
        _with("SetPosition", _set(position__size="-1000000000000001")),
        INVALID_ARGUMENT,
        OOR,
        "position.size",
    ),
    (
        "position entry price zero",
        _with("SetPosition", _set(position__entry_price="0")),
        INVALID_ARGUMENT,
        OOR,
        "position.entry_price",
    ),
    (
        "position leverage 0",
        _with("SetPosition", _set(position__leverage=0)),
        INVALID_ARGUMENT,
        OOR,
        "position.leverage",
    ),
    (
        "position isolated margin negative",
        _with("SetPosition", _set(position__isolated=True, position__isolated_margin="-1")),
        INVALID_ARGUMENT,
        OOR,
        "position.isolated_margin",
    ),
    (
        "mcr 9 digits",
        _with("SetMarginCallRatio", _set(ratio="1.500000001")),
        INVALID_ARGUMENT,
        BAD_DEC,
        "ratio",
    ),
    ("mcr exponent", _with("SetMarginCallRatio", _set(ratio="15e-1")), INVALID_ARGUMENT, BAD_DEC, "ratio"),
    ("classic leverage 4", _with("SetClassicLeverage", _set(leverage=4)), INVALID_ARGUMENT, OOR, "leverage"),
    (
        "terms version 33 chars",
        _with("AcceptProTerms", _set(terms_version="v" * 33)),
        INVALID_ARGUMENT,
        IA,
        "terms_version",
    ),
    (
        "cancel unknown order",
        _with("CancelOrder", _set(order_id="ord-404")),
        INVALID_ARGUMENT,
        IA,
        "order_id",
    ),
    (
        "cancel order id 65 chars",
        _with("CancelOrder", _set(order_id="o" * 65)),
        INVALID_ARGUMENT,
        IA,
        "order_id",
    ),
    (
        "price 9 digits",
        _with("UpdatePrices", _price("BTC", "60000.000000001")),
        INVALID_ARGUMENT,
        BAD_DEC,
        "index_prices.BTC",
    ),
    # batches
    (
        "1001 ledger entries",
        _with("PostLedgerEntries", _entries(*[_entry(amount="0.00000001")] * 1001)),
        INVALID_ARGUMENT,
        OOR,
        "entries",
    ),
    ("no ledger entries", _with("PostLedgerEntries", _entries()), INVALID_ARGUMENT, IA, "entries"),
    (
        "101 simulated changes",
        _read(
            "Simulate",
            lambda r: r.changes.extend(
                [risk.SimulatedChange(transfer=risk.SimulatedTransfer(asset="USDT", amount="1"))] * 101
            ),
        ),
        INVALID_ARGUMENT,
        OOR,
        "changes",
    ),
    ("missing order", _with("PlaceOrder", lambda r: r.ClearField("futures")), INVALID_ARGUMENT, IA, "order"),
    (
        "missing position",
        _with("SetPosition", lambda r: r.ClearField("position")),
        INVALID_ARGUMENT,
        IA,
        "position",
    ),
]


@pytest.mark.usefixtures("nothing_changes")
@pytest.mark.parametrize(("name", "build", "code", "reason", "field"), CASES, ids=[c[0] for c in CASES])
def test_bad_field(
    world: World,
    name: str,
    build: Callable[[World], Call],
    code: grpc.StatusCode,
    reason: str,
    field: str | None,
) -> None:
    method, request = build(world)
    refused(method, request, code, reason, field)


def test_a_full_batch_of_1000_entries_is_accepted(world: World) -> None:
    rpc = world.rpc
    f = rpc.create("FUTURES").account_id
    request = fun.PostLedgerEntriesRequest(
        request_id=rid(),
        account_id=f,
        entries=[_entry(kind=t.LEDGER_ENTRY_KIND_FUNDING, amount="0.00000001")] * 1000,
    )
    account = rpc.funds.PostLedgerEntries(request).account
    assert account.futures.wallet["USDT"] == "0.00001" and account.version == 2


# ---- message size ---------------------------------------------------------------------------


@pytest.mark.usefixtures("nothing_changes")
def test_oversized_messages_are_resource_exhausted(world: World) -> None:
    rpc = world.rpc
    # 600 entries × 2000-character memos: about 1.2 MiB, over the 1 MiB limit.
    big = fun.PostLedgerEntriesRequest(
        request_id=rid(), account_id=world.f, entries=[_entry(memo="m" * 2000)] * 600
    )
    assert big.ByteSize() > MIB
    for method, request in (
        (rpc.funds.PostLedgerEntries, big),
        (rpc.accounts.GetAccount, acc.GetAccountRequest(account_id="x" * (MIB + 1))),
        (
            rpc.market.UpdatePrices,
            mkt.UpdatePricesRequest(request_id="r" * (MIB + 1), index_prices={"BTC": "1"}),
        ),
    ):
        with pytest.raises(grpc.RpcError) as failed:
            method(request)
        assert failed.value.code() == RESOURCE_EXHAUSTED
    # Just under the limit the request reaches the engine, which names the field.
    near = fun.PostLedgerEntriesRequest(
        request_id=rid(), account_id=world.f, entries=[_entry(memo="m" * 1000)] * 1000
    )
    assert near.ByteSize() < MIB
    refused(rpc.funds.PostLedgerEntries, near, INVALID_ARGUMENT, IA, "entries[0].memo")


@pytest.mark.usefixtures("nothing_changes")
def test_refused_business_requests_change_nothing_either(world: World) -> None:
    # Not bad input, but refusals at the same edge: FAILED_PRECONDITION, nothing changed.
    rpc = world.rpc
    refused(
        rpc.funds.TransferOut,
        fun.TransferOutRequest(request_id=rid(), account_id=world.f, asset="USDT", amount="1000"),
        FAILED_PRECONDITION,
        "EXCEEDS_MAX_TRANSFER",
        "amount",
    )
    refused(
        rpc.funds.Borrow,
        fun.BorrowRequest(request_id=rid(), account_id=world.m, asset="USDT", amount="100000"),
        FAILED_PRECONDITION,
        "EXCEEDS_MAX_BORROW",
        "amount",
    )
