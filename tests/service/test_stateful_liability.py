"""A hypothesis state machine over a real server (SPEC §7–§8): transfers, ledger
entries, borrows, repayments (amount and all, own asset and converted), price moves,
settlements, retried requests and restarts. After every step:

* conservation: per account and asset, the balances are exactly what the recorded
  flows make them — transfers and ledger entries as sent, borrows and repayments as
  their responses state, engine-initiated changes (interest, threshold repayments) as
  their history entries state;
* every repayment and interest charge has a history entry, and the history replayed
  over the flows reproduces the balances;
* a retried request returns the first response byte for byte and changes nothing;
* isolation: a change to one account leaves every other account byte for byte as it was;
* determinism: after a restart (SIGTERM or ``kill -9``) the state hash is the one before;
* versions never go back;
* each SPEC §8 change produced exactly one event: every ACTIVE → LIQUIDATING
  transition one LIQUIDATION_STARTED, every margin-call crossing one MARGIN_CALL or
  MARGIN_CALL_CLEARED.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import grpc
import rpckit
import serverkit
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from multimargin.v1 import event_service_pb2 as evs
from multimargin.v1 import history_pb2 as h
from rpckit import Rpc, fun, mkt, op, rid, t

ZERO = Decimal(0)
FUTURES = ["f0", "f1"]
MARGIN = ["m0", "m1"]
amounts = st.sampled_from(["0.5", "3", "250", "1000", "12345.67891234"])


def dmap(m: Any) -> dict[str, Decimal]:
    return {k: Decimal(v) for k, v in m.items() if Decimal(v) != 0}


def nonzero(m: dict[str, Decimal]) -> dict[str, Decimal]:
    return {k: v for k, v in m.items() if v != 0}


class LiabilityMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="mm-stateful-"))
        self.data = self.dir / "data"
        self.server = serverkit.start_server(self.data)
        self.rpc = Rpc(self.server.channel)
        self.rpc.set_prices(rpckit.INDEX, rpckit.MARKS)
        self._init_model()
        self.seen_seq = 0

    def _init_model(self) -> None:
        """Creates the accounts and the model the rules check against (subclasses too)."""
        # Expected balances: futures wallet; margin holdings, borrowed, interest.
        self.model: dict[str, dict[str, dict[str, Decimal]]] = {}
        for a in FUTURES:
            self.rpc.create("FUTURES", a)
            self.model[a] = {"wallet": defaultdict(Decimal)}
        for a in MARGIN:
            self.rpc.create("MARGIN", a)
            self.model[a] = {k: defaultdict(Decimal) for k in ("holdings", "borrowed", "interest")}
        self.seen_history: Counter[str] = Counter()
        self.status = {a: t.ACCOUNT_STATUS_ACTIVE for a in self.model}
        self.margin_call = dict.fromkeys(self.model, False)
        self.last: tuple[str, str, Any, bytes, int] | None = None
        self.borrow_interest: dict[str, list[str]] = defaultdict(list)
        self.versions: dict[str, int] = {}

    def teardown(self) -> None:
        try:
            if self.server.proc.poll() is None:
                assert self.server.stop() == 0
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    # ---- helpers --------------------------------------------------------------------

    def snapshot_accounts(self) -> dict[str, bytes]:
        return {a: self.rpc.account(a).SerializeToString(deterministic=True) for a in self.model}

    def call(self, service: str, name: str, request: Any) -> Any | None:
        """A mutation; refusals (business rules, bad amounts) are fine and change nothing.
        Isolation: a change to one account leaves every other account as it was."""
        account_id = getattr(request, "account_id", "")
        before = self.snapshot_accounts() if account_id else {}
        try:
            response = getattr(getattr(self.rpc, service), name)(request)
        except grpc.RpcError as e:
            assert e.code() in (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.INVALID_ARGUMENT), e
            return None
        if account_id:
            after = self.snapshot_accounts()
            assert {a: b for a, b in after.items() if a != account_id} == {
                a: b for a, b in before.items() if a != account_id
            }, "a change to one account changed another"
        version = self.rpc.account(account_id).version if account_id else 0
        self.last = (service, name, request, response.SerializeToString(deterministic=True), version)
        return response

    # ---- rules ----------------------------------------------------------------------

    @rule(a=st.sampled_from(FUTURES + MARGIN), asset=st.sampled_from(["USDT", "BTC", "USDC"]), amount=amounts)
    def transfer_in(self, a: str, asset: str, amount: str) -> None:
        r = self.call(
            "funds",
            "TransferIn",
            fun.TransferInRequest(request_id=rid(), account_id=a, asset=asset, amount=amount),
        )
        if r is not None:
            self.model[a]["wallet" if a in FUTURES else "holdings"][asset] += Decimal(amount)

    @rule(a=st.sampled_from(FUTURES + MARGIN), asset=st.sampled_from(["USDT", "BTC"]), amount=amounts)
    def transfer_out(self, a: str, asset: str, amount: str) -> None:
        r = self.call(
            "funds",
            "TransferOut",
            fun.TransferOutRequest(request_id=rid(), account_id=a, asset=asset, amount=amount),
        )
        if r is not None:
            self.model[a]["wallet" if a in FUTURES else "holdings"][asset] -= Decimal(amount)

    @rule(a=st.sampled_from(FUTURES), amount=amounts, sign=st.sampled_from(["", "-"]))
    def ledger(self, a: str, amount: str, sign: str) -> None:
        request = fun.PostLedgerEntriesRequest(request_id=rid(), account_id=a)
        request.entries.add(kind=t.LEDGER_ENTRY_KIND_REALIZED_PNL, asset="USDT", amount=sign + amount)
        if self.call("funds", "PostLedgerEntries", request) is not None:
            self.model[a]["wallet"]["USDT"] += Decimal(sign + amount)

    @rule(a=st.sampled_from(MARGIN), asset=st.sampled_from(["USDT", "BTC"]), amount=amounts)
    def borrow(self, a: str, asset: str, amount: str) -> None:
        r = self.call(
            "funds", "Borrow", fun.BorrowRequest(request_id=rid(), account_id=a, asset=asset, amount=amount)
        )
        if r is not None:
            m = self.model[a]
            m["holdings"][asset] += Decimal(amount)
            m["borrowed"][asset] += Decimal(amount)
            # The first hour's interest (r.interest_charged) comes as an INTEREST_CHARGED
            # event, which the invariant applies like every other interest charge.
            self.borrow_interest[a].append(r.interest_charged)

    @rule(
        a=st.sampled_from(MARGIN),
        asset=st.sampled_from(["USDT", "BTC"]),
        amount=st.one_of(st.none(), amounts),
        payer=st.sampled_from(["", "USDC", "BTC"]),
    )
    def repay_margin(self, a: str, asset: str, amount: str | None, payer: str) -> None:
        request = fun.RepayRequest(
            request_id=rid(),
            account_id=a,
            asset=asset,
            payer_asset=payer,
            amount=amount or "",
            all=amount is None,
        )
        r = self.call("funds", "Repay", request)
        if r is not None:
            m = self.model[a]
            m["holdings"][r.payer_asset] -= Decimal(r.payer_amount)
            m["interest"][asset] -= Decimal(r.interest_repaid)
            m["borrowed"][asset] -= Decimal(r.principal_repaid)
            self.seen_history[a] += 1

    @rule(
        a=st.sampled_from(FUTURES),
        amount=st.one_of(st.none(), amounts),
        payer=st.sampled_from(["BTC", "USDC"]),
    )
    def repay_futures(self, a: str, amount: str | None, payer: str) -> None:
        request = fun.RepayLiabilityRequest(
            request_id=rid(),
            account_id=a,
            debt_asset="USDT",
            payer_asset=payer,
            amount=amount or "",
            all=amount is None,
        )
        r = self.call("funds", "RepayLiability", request)
        if r is not None:
            w = self.model[a]["wallet"]
            w["USDT"] += Decimal(r.entry.amount)
            w[r.entry.payer_asset] -= Decimal(r.entry.payer_amount)
            self.seen_history[a] += 1

    @rule(btc=st.sampled_from(["20000", "60000", "61234.5", "150000"]))
    def prices(self, btc: str) -> None:
        self.call(
            "market",
            "UpdatePrices",
            mkt.UpdatePricesRequest(
                request_id=rid(), index_prices={"BTC": btc}, mark_prices={"BTCUSDT": btc}
            ),
        )

    @rule()
    def settle(self) -> None:
        request = op.RunSettlementRequest(request_id=rid())
        request.as_of.GetCurrentTime()
        self.call("operator", "RunSettlement", request)

    @precondition(lambda self: self.last is not None)
    @rule()
    def retry_last(self) -> None:
        assert self.last is not None
        service, name, request, first, version = self.last
        again = getattr(getattr(self.rpc, service), name)(request)
        assert again.SerializeToString(deterministic=True) == first
        account_id = getattr(request, "account_id", "")
        if account_id:
            assert self.rpc.account(account_id).version == version

    @rule(kill=st.booleans())
    def restart(self, kill: bool) -> None:
        # Determinism: the state after recovery (snapshot + replay) is the state before.
        before = self.rpc.status().state_hash
        if kill:
            self.server.proc.kill()
            self.server.wait()
        else:
            assert self.server.stop() == 0
        self.server = serverkit.start_server(self.data)
        self.rpc = Rpc(self.server.channel)
        assert self.rpc.status().state_hash == before

    # ---- invariants -----------------------------------------------------------------

    def new_events(self) -> list[h.Event]:
        last = self.rpc.status().event_seq
        out: list[h.Event] = []
        if last > self.seen_seq:
            stream = self.rpc.events.WatchEvents(evs.WatchEventsRequest(after_seq=self.seen_seq), timeout=30)
            for message in stream:
                out.append(message.event)
                if message.event.seq >= last:
                    break
            stream.cancel()
            assert [e.seq for e in out] == list(range(self.seen_seq + 1, last + 1))
            self.seen_seq = last
        return out

    @invariant()
    def conserved_and_recorded(self) -> None:
        events = self.new_events()
        by_account: dict[str, list[h.Event]] = defaultdict(list)
        for e in events:
            by_account[e.account_id].append(e)
        for a, model in self.model.items():
            charged = [e.entry.amount for e in by_account[a] if e.kind == h.EVENT_KIND_INTEREST_CHARGED]
            for amount in self.borrow_interest.pop(a, []):  # each borrow's charge was recorded
                charged.remove(amount)
            for e in by_account[a]:
                if e.kind == h.EVENT_KIND_INTEREST_CHARGED:
                    book = model["wallet"] if a in FUTURES else model["interest"]
                    book[e.entry.asset] += (
                        -Decimal(e.entry.amount) if a in FUTURES else Decimal(e.entry.amount)
                    )
                    self.seen_history[a] += 1
                elif e.kind == h.EVENT_KIND_REPAID and e.entry.kind == h.HISTORY_KIND_REPAY_THRESHOLD:
                    model["wallet"][e.entry.asset] += Decimal(e.entry.amount)
                    model["wallet"][e.entry.payer_asset] -= Decimal(e.entry.payer_amount)
                    self.seen_history[a] += 1
                elif e.kind == h.EVENT_KIND_REPAID and e.entry.kind == h.HISTORY_KIND_REPAY_TRANSFER_IN:
                    self.seen_history[a] += 1
            account = self.rpc.account(a)
            assert account.version >= self.versions.get(a, 0), "a version went back"
            self.versions[a] = account.version
            if a in FUTURES:
                assert dmap(account.futures.wallet) == nonzero(model["wallet"]), a
            else:
                for name in ("holdings", "borrowed", "interest"):
                    assert dmap(getattr(account.margin, name)) == nonzero(model[name]), (a, name)
            # Every repayment and interest charge has its history entry.
            entries = self.rpc.funds.ListHistory(fun.ListHistoryRequest(account_id=a, page_size=1000)).entries
            assert len(entries) == self.seen_history[a], a
            # SPEC §8: exactly one event per change.
            kinds = Counter(e.kind for e in by_account[a])
            started = account.status == t.ACCOUNT_STATUS_LIQUIDATING and self.status[a] != account.status
            assert kinds[h.EVENT_KIND_LIQUIDATION_STARTED] == int(started), a
            ended = kinds[h.EVENT_KIND_LIQUIDATION_ENDED]
            assert ended == 0
            self.status[a] = account.status
            if a in MARGIN:
                calls = kinds[h.EVENT_KIND_MARGIN_CALL] + kinds[h.EVENT_KIND_MARGIN_CALL_CLEARED]
                try:
                    now = self.rpc.risk_of(a).margin.margin_call
                except grpc.RpcError:
                    continue
                assert calls % 2 == int(now != self.margin_call[a]), a
                self.margin_call[a] = now


LiabilityMachine.TestCase.settings = settings(
    max_examples=6,
    stateful_step_count=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestLiability = LiabilityMachine.TestCase
