"""atheris fuzz target of the request handlers (issue 8, item 5), in-process: serialized
protobuf requests of every RPC the engine runs, fed through :meth:`Engine.call` on a
seeded state (accounts of each kind with funds, a position, orders, prices).

Every outcome must be a response or a :class:`multimargin.MarginError` whose reason is a
SPEC §11 reason — never another exception, never INTERNAL — and a refused mutation
changes nothing (same state hash, same journal position).

Mutation is structure-aware: an input is one method byte then the request's wire bytes;
the custom mutator decodes the request and changes it field by field (a scalar set to a
dictionary value — live account ids, assets, symbols, extreme decimals, unknown enum
numbers —, a field cleared, a repeated element added, the method switched), and falls
back to libFuzzer's byte mutation now and then. (``atheris-libprotobuf-mutator`` from
PyPI needs libprotobuf-mutator's C++ sources to build, which are not available here;
this mutator does the same job over the message descriptors.)

    python fuzz/handlers_fuzz.py -atheris_runs=2000          # short run (the test suite)
    python fuzz/handlers_fuzz.py -max_total_time=3600 fuzz/corpus/handlers   # long run
    python fuzz/handlers_fuzz.py crash-<sha1>                  # replay one finding

A finding becomes a regression test in ``tests/state/test_handler_fuzz_regressions.py``
(:func:`check` runs one method and request, exactly as the target does).
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

import atheris

with atheris.instrument_imports(include=["multimargin"]):
    import multimargin
    from google.protobuf.descriptor import FieldDescriptor
    from google.protobuf.message import DecodeError, Message
    from multimargin.contract import REQUEST_TYPES
    from multimargin.state import handlers
    from multimargin.state.engine import Engine
    from multimargin.v1 import account_service_pb2 as acc
    from multimargin.v1 import funds_service_pb2 as fun
    from multimargin.v1 import market_data_service_pb2 as mkt
    from multimargin.v1 import trading_service_pb2 as trd
    from multimargin.v1 import types_pb2 as t

#: SPEC §11 reasons.
REASONS = {
    "INVALID_DECIMAL", "OUT_OF_RANGE", "UNKNOWN_ASSET", "UNKNOWN_SYMBOL", "INVALID_ARGUMENT",
    "CONTRACT_NOT_SUPPORTED", "ACCOUNT_NOT_FOUND", "PRICE_UNAVAILABLE", "INSUFFICIENT_MARGIN",
    "EXCEEDS_MAX_BORROW", "EXCEEDS_MAX_TRANSFER", "HAS_OPEN_POSITIONS", "HAS_OPEN_ORDERS",
    "HAS_LIABILITIES", "SUB_ACCOUNT", "COPY_TRADING_ON", "CONTRACT_NOT_ALLOWED_IN_MODE",
    "LEVERAGE_EXCEEDS_TIER", "RISK_LIMIT_EXCEEDED", "PRO_TERMS_NOT_ACCEPTED", "MARGIN_LEVEL_TOO_LOW",
    "ACCOUNT_LIQUIDATING", "INSUFFICIENT_BALANCE", "IDEMPOTENCY_KEY_REUSED", "VERSION_CONFLICT",
}  # fmt: skip
METHODS = sorted(handlers.MUTATIONS) + sorted(set(handlers.QUERIES) - {"GetEngineStatus"})
ACCOUNTS = ["f1", "f2", "m1", "m2", "nobody"]
STRINGS = [
    *ACCOUNTS, "USDT", "BTC", "ETH", "USDC", "DOGE", "XYZ", "BTCUSDT", "ETHUSDT", "BTCUSD", "o1", "o2",
    "0", "-0", "1", "-1", "0.5", "1e3", "1E-8", "0.000000001", "0.00000001", "999999999999999.99999999",
    "1000000000000000", "-999999999999999.99999999", "NaN", "Infinity", " 1", "1.", ".5", "٣", "", "x" * 300,
    "\x00", "r1", "r2",
]  # fmt: skip
INTS = [0, 1, -1, 2, 3, 5, 10, 20, 125, 126, 2**31 - 1, -(2**31), 2**53, 2**63 - 1, 99]


class Target:
    """The engine on a seeded state, and one loop to run it."""

    def __init__(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.loop = asyncio.new_event_loop()
        self.engine: Engine = self.loop.run_until_complete(self._open())

    async def _open(self) -> Engine:
        e = await Engine.open(Path(self.tmp.name))
        prices = mkt.UpdatePricesRequest(
            request_id="seed-prices",
            index_prices={"BTC": "60000", "ETH": "3000", "USDC": "1", "SOL": "150", "MX": "3", "DOGE": "0.1"},
            mark_prices={"BTCUSDT": "60000", "ETHUSDT": "3000", "BTCUSDC": "60000"},
        )
        await e.call("UpdatePrices", prices)
        for a in ACCOUNTS[:4]:
            kind = t.ACCOUNT_KIND_FUTURES if a.startswith("f") else t.ACCOUNT_KIND_MARGIN
            await e.call(
                "CreateAccount", acc.CreateAccountRequest(request_id=f"seed-{a}", account_id=a, kind=kind)
            )
            await e.call(
                "TransferIn",
                fun.TransferInRequest(request_id=f"seed-in-{a}", account_id=a, asset="USDT", amount="100000"),
            )
        position = t.Position(symbol="BTCUSDT", size="0.5", entry_price="60000", leverage=10)
        await e.call(
            "SetPosition", trd.SetPositionRequest(request_id="seed-pos", account_id="f1", position=position)
        )
        order = t.FuturesOrder(
            order_id="o1", symbol="ETHUSDT", side=t.SIDE_BUY, price="2900", quantity="1", leverage=10
        )
        await e.call(
            "PlaceOrder", trd.PlaceOrderRequest(request_id="seed-o1", account_id="f1", futures=order)
        )
        await e.call(
            "Borrow", fun.BorrowRequest(request_id="seed-b", account_id="m1", asset="USDT", amount="10")
        )
        return e

    def run(self, method: str, request: Any) -> None:
        """One call; raises AssertionError on any outcome the contract forbids."""
        e = self.engine
        before = (e.state_hash(), e.engine_status().journal_seq) if method in handlers.MUTATIONS else None
        try:
            self.loop.run_until_complete(e.call(method, request))
        except multimargin.MarginError as exc:
            if exc.reason not in REASONS:
                raise AssertionError(
                    f"{method}: reason {exc.reason!r} is not a SPEC §11 reason: {exc}"
                ) from exc
            if before is not None:
                after = (e.state_hash(), e.engine_status().journal_seq)
                assert after == before, f"{method} was refused ({exc.reason}) but changed the state"


_target: Target | None = None


def target() -> Target:
    global _target
    if _target is None:
        _target = Target()
    return _target


def decode(data: bytes) -> tuple[str, Any] | None:
    """(method, request) of an input, or None when the bytes are not a request."""
    if not data:
        return None
    method = METHODS[data[0] % len(METHODS)]
    try:
        return method, REQUEST_TYPES[method].FromString(data[1:])
    except DecodeError:
        return None  # the service refuses these INVALID_ARGUMENT before the engine


def check(method: str, request: Any) -> None:
    """Runs one request as the fuzz target does (regression tests call this)."""
    target().run(method, request)


def test_one_input(data: bytes) -> None:
    decoded = decode(data)
    if decoded is not None:
        check(*decoded)


# ---- the structure-aware mutator ----------------------------------------------------------


def _mutate_message(msg: Message, rng: random.Random, depth: int = 0) -> None:
    fields = msg.DESCRIPTOR.fields
    if not fields:
        return
    f = rng.choice(fields)
    if rng.random() < 0.1:
        msg.ClearField(f.name)
        return
    if f.message_type is not None:
        if f.message_type.GetOptions().map_entry:
            container = getattr(msg, f.name)
            key, value = rng.choice(STRINGS), rng.choice(STRINGS)
            try:
                container[key] = value
            except (TypeError, ValueError):
                container.clear()
            return
        if f.is_repeated:
            items = getattr(msg, f.name)
            child = items[rng.randrange(len(items))] if items and rng.random() < 0.7 else items.add()
        else:
            child = getattr(msg, f.name)
        if f.message_type.full_name.startswith("google.protobuf."):
            child.SetInParent()
            if child.DESCRIPTOR.fields:
                _set_scalar(child, child.DESCRIPTOR.fields[0], rng)
            return
        if depth < 4:
            _mutate_message(child, rng, depth + 1)
        else:
            child.SetInParent()
        return
    _set_scalar(msg, f, rng)


def _set_scalar(msg: Message, f: FieldDescriptor, rng: random.Random) -> None:
    if f.type == FieldDescriptor.TYPE_STRING:
        value: Any = rng.choice(STRINGS) if rng.random() < 0.9 else rng.choice(STRINGS) + rng.choice(STRINGS)
    elif f.type == FieldDescriptor.TYPE_BOOL:
        value = rng.random() < 0.5
    elif f.type == FieldDescriptor.TYPE_ENUM:
        numbers = [v.number for v in f.enum_type.values]
        value = rng.choice([*numbers, 99, -1])
    elif f.type in (FieldDescriptor.TYPE_BYTES,):
        value = bytes(rng.randrange(256) for _ in range(rng.randrange(8)))
    elif f.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        value = rng.choice([0.0, -1.0, 1e308, float("nan")])
    else:
        value = rng.choice(INTS)
    try:
        if f.is_repeated:
            getattr(msg, f.name).append(value)
        else:
            setattr(msg, f.name, value)
    except (TypeError, ValueError):
        pass  # out of the field's range: not encodable


def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
    rng = random.Random(seed)
    decoded = decode(data)
    if decoded is None or rng.random() < 0.05:
        if decoded is None and rng.random() < 0.8:  # start over from a fresh request
            index = rng.randrange(len(METHODS))
            return bytes([index]) + REQUEST_TYPES[METHODS[index]]().SerializeToString()
        return atheris.Mutate(data, max_size)
    method, request = decoded
    if rng.random() < 0.1:
        index = rng.randrange(len(METHODS))
        return bytes([index]) + data[1:]
    for _ in range(rng.randint(1, 4)):
        _mutate_message(request, rng)
    out = bytes([METHODS.index(method)]) + request.SerializeToString()
    return out[:max_size]


def main(argv: list[str]) -> None:
    atheris.Setup(argv, test_one_input, custom_mutator=custom_mutator)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
