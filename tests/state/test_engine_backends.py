"""The engine over either store: the same invariants whether it journals to SQLite or to
one shard of PostgreSQL (it is handed an opened store and never learns which).

Real PostgreSQL (the session's throw-away server, tests/pgcluster.py)."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import given, settings
from multimargin.errors import InternalError
from multimargin.state.engine import Engine
from multimargin.store import LeaseLostError, pg_leases
from multimargin.store.postgres import PgStore
from multimargin.v1 import account_service_pb2 as acc
from multimargin.v1 import funds_service_pb2 as fun
from multimargin.v1 import types_pb2 as t
from pgcluster import PgCluster
from store_backends import PG_SHARD, Backend, pg_backend, sqlite_backend
from test_engine_properties import ACCOUNTS, SETTINGS, histories, play, setup, status

BACKENDS = ["sqlite", "postgresql"]


def _backend(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if name == "sqlite":
        return sqlite_backend(tmp_path)
    return pg_backend(request.getfixturevalue("pg_dsn"))


async def _open(backend: Backend, **kwargs: Any) -> Engine:
    return await Engine.open(backend.open(), **kwargs)


@settings(SETTINGS, max_examples=8)
@given(histories())
def test_replay_reproduces_state_over_postgresql(
    pg_cluster: PgCluster, history: list[tuple[str, Any]]
) -> None:
    """test_engine_properties' replay invariant, on a fresh PostgreSQL database each time."""
    backend = pg_backend(pg_cluster.create_database())

    async def run() -> None:
        e = await _open(backend, snapshot_every=3)
        await setup(e)
        applied = await play(e, history)
        before = await status(e)
        accounts = {i: e.account(i).canonical() for i in ACCOUNTS}
        await e.close()
        e2 = await _open(backend, snapshot_every=3)
        after = await status(e2)
        assert after.state_hash == before.state_hash
        assert after.journal_seq == before.journal_seq
        assert {i: e2.account(i).canonical() for i in ACCOUNTS} == accounts
        assert await play(e2, applied) == applied
        assert (await status(e2)).state_hash == before.state_hash
        await e2.close()

    asyncio.run(run())


def _transfer(n: int, amount: str = "1") -> fun.TransferInRequest:
    return fun.TransferInRequest(request_id=f"t-{n}", account_id="a1", asset="USDT", amount=amount)


@pytest.mark.parametrize("name", BACKENDS)
def test_retries_history_and_state_survive_a_reopen(
    name: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    backend = _backend(name, request, tmp_path)

    async def run() -> None:
        engine = await _open(backend)
        await setup(engine)
        await engine.call(
            "CreateAccount",
            acc.CreateAccountRequest(request_id="c-1", account_id="a1", kind=t.ACCOUNT_KIND_FUTURES),
        )
        first = await engine.call("TransferIn", _transfer(0))
        await asyncio.gather(*(engine.call("TransferIn", _transfer(n)) for n in range(1, 200)))
        await engine.call(
            "Borrow", fun.BorrowRequest(request_id="b-1", account_id="m1", asset="USDT", amount="100")
        )
        for n in range(3):  # three REPAID history entries
            await engine.call(
                "Repay", fun.RepayRequest(request_id=f"r-{n}", account_id="m1", asset="USDT", amount="10")
            )
        before = await status(engine)
        events_before = engine.feed.last_seq
        assert events_before >= 3
        history = await engine.call("ListHistory", fun.ListHistoryRequest(account_id="m1"))
        assert len(history.entries) >= 3  # the repayments, and the interest the borrow accrued
        await engine.close()

        engine = await _open(backend)
        try:
            assert (await status(engine)).state_hash == before.state_hash
            again = await engine.call("TransferIn", _transfer(0))
            assert again.SerializeToString(deterministic=True) == first.SerializeToString(deterministic=True)
            account = await engine.call("GetAccount", acc.GetAccountRequest(account_id="a1"))
            assert account.account.futures.wallet["USDT"] == "200"
            assert engine.feed.last_seq == events_before  # event numbering resumes
            page = await engine.call("ListHistory", fun.ListHistoryRequest(account_id="m1", page_size=2))
            rest = await engine.call(
                "ListHistory",
                fun.ListHistoryRequest(account_id="m1", page_size=2, page_token=page.next_page_token),
            )
            assert list(page.entries) + list(rest.entries) == list(history.entries)
        finally:
            await engine.close()

    asyncio.run(run())


def test_an_engine_whose_lease_is_taken_over_stops_and_the_new_owner_has_everything(pg_dsn: str) -> None:
    old = pg_backend(pg_dsn)

    async def run() -> None:
        engine = await _open(old)
        await engine.call(
            "CreateAccount",
            acc.CreateAccountRequest(request_id="c-1", account_id="a1", kind=t.ACCOUNT_KIND_FUTURES),
        )
        await asyncio.gather(*(engine.call("TransferIn", _transfer(n)) for n in range(50)))
        acknowledged = await status(engine)
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            fence = pg_leases.acquire(conn, PG_SHARD, "new-owner", "127.0.0.1:2", 60, force=True)
        assert fence is not None
        with pytest.raises(InternalError, match="could not be made durable"):
            await engine.call("TransferIn", _transfer(50))
        assert engine.fatal.done() and isinstance(engine.fatal.exception(), LeaseLostError)
        await engine.close()

        successor = await Engine.open(PgStore.open(pg_dsn, fence))
        try:
            assert (await status(successor)).state_hash == acknowledged.state_hash
            account = await successor.call("GetAccount", acc.GetAccountRequest(account_id="a1"))
            assert account.account.futures.wallet["USDT"] == "50"
            await successor.call("TransferIn", _transfer(50))  # the refused one, retried
        finally:
            await successor.close()

    asyncio.run(run())


def test_sqlite_stays_the_default_for_a_data_directory() -> None:
    async def run() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            engine = await Engine.open(Path(tmp))
            await engine.close()
            assert (Path(tmp) / "multimargin.db").exists()

    asyncio.run(run())
