"""What the store persists, and the hashes that make damage to it detectable.

Every journal row carries ``chain = sha256(prev_chain || row fields)``. SQLite
checks its b-tree structure but not the bytes inside a row, so a flipped bit
in a stored response would otherwise be replayed or served to an idempotent
retry without complaint. Chaining (rather than a per-row checksum) also makes
edits that keep each row self-consistent visible: a reordered, removed or
inserted row changes every chain value after it. The chain detects accidents
and careless edits; it is not a MAC against someone who can recompute it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1

# Domain-separated starting values: a chain value can never be mistaken for a
# snapshot checksum or for a chain of some other journal format.
GENESIS_CHAIN = hashlib.sha256(b"multimargin/journal/v1/genesis").digest()
_CHAIN_DOMAIN = b"multimargin/journal/v1/row"
_SNAPSHOT_DOMAIN = b"multimargin/journal/v1/snapshot"

# Every variable-length field is length-prefixed so that no two different rows
# encode to the same bytes ("ab" + "c" vs "a" + "bc"); None gets a length no
# real field can have, so it differs from "".
_NONE_MARK = (2**64 - 1).to_bytes(8, "big")


@dataclass(frozen=True, slots=True)
class JournalRecord:
    """One applied command, as the state machine hands it to the store.

    ``command``, ``response`` and ``state_hash`` are opaque to the store.
    ``request_id`` (AIP-155 idempotency key) is unique across the journal when
    set; ``request_hash`` lets the state machine tell a retry from a reused key.

    >>> JournalRecord(seq=1, ts_ns=0, kind="Deposit", account_id="a1",
    ...               request_id="r1", request_hash=b"h", command=b"c",
    ...               response=b"ok", state_hash=b"s").seq
    1
    """

    seq: int
    ts_ns: int
    kind: str
    account_id: str | None
    request_id: str | None
    request_hash: bytes
    command: bytes
    response: bytes
    state_hash: bytes


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The serialized in-memory state as of (and including) journal record ``seq``.

    ``seq`` 0 is the state before the first record.
    """

    seq: int
    state: bytes
    state_hash: bytes


@dataclass(frozen=True, slots=True)
class Recovery:
    """What :meth:`Store.recover` found: restore ``snapshot``, then replay ``records``.

    ``records`` are those with ``seq`` greater than the snapshot's (all of them
    when there is no snapshot), in order. Every journal row, including those
    before the snapshot, has been chain-verified.
    """

    snapshot: Snapshot | None
    records: list[JournalRecord]


@dataclass(frozen=True, slots=True)
class StoreStats:
    """Counters that make group commit observable.

    ``records_committed / batches_committed`` is the number of records made
    durable per fsync'd transaction.
    """

    records_committed: int
    batches_committed: int
    snapshots_committed: int
    meta_committed: int
    largest_batch: int


def _lp(data: bytes) -> bytes:
    return len(data).to_bytes(8, "big") + data


def _lp_opt(text: str | None) -> bytes:
    return _NONE_MARK if text is None else _lp(text.encode("utf-8"))


def chain_value(prev_chain: bytes, record: JournalRecord) -> bytes:
    """Return the chain value of ``record`` given the chain value before it.

    >>> r = JournalRecord(1, 0, "k", None, None, b"", b"", b"", b"")
    >>> len(chain_value(GENESIS_CHAIN, r))
    32
    """
    return hashlib.sha256(
        b"".join(
            (
                _CHAIN_DOMAIN,
                prev_chain,
                record.seq.to_bytes(8, "big", signed=True),
                record.ts_ns.to_bytes(8, "big", signed=True),
                _lp(record.kind.encode("utf-8")),
                _lp_opt(record.account_id),
                _lp_opt(record.request_id),
                _lp(record.request_hash),
                _lp(record.command),
                _lp(record.response),
                _lp(record.state_hash),
            )
        )
    ).digest()


def snapshot_checksum(snapshot: Snapshot) -> bytes:
    """Return the checksum stored beside ``snapshot`` (covers every field)."""
    h = hashlib.sha256(_SNAPSHOT_DOMAIN)
    h.update(snapshot.seq.to_bytes(8, "big", signed=True))
    h.update(_lp(snapshot.state_hash))
    # The state goes in last and without a concatenated copy: it can be
    # megabytes, and hashlib releases the GIL while digesting a large buffer.
    h.update(len(snapshot.state).to_bytes(8, "big"))
    h.update(snapshot.state)
    return h.digest()


def _check_int64(name: str, value: object) -> None:
    if type(value) is not int:
        raise TypeError(f"{name} must be int, not {type(value).__name__}")
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise ValueError(f"{name}={value} does not fit in a signed 64-bit integer")


def _check_bytes(name: str, value: object) -> None:
    if not isinstance(value, bytes):
        raise TypeError(f"{name} must be bytes, not {type(value).__name__}")


def _check_text(name: str, value: object, *, optional: bool) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str):
        raise TypeError(f"{name} must be str, not {type(value).__name__}")
    # Lone surrogates cannot be stored as UTF-8; refuse them here, in the
    # caller's frame, instead of failing the whole batch in the committer.
    value.encode("utf-8")


def validate_record(record: JournalRecord) -> None:
    """Raise ``TypeError``/``ValueError`` if ``record`` cannot be stored byte-exactly."""
    _check_int64("seq", record.seq)
    _check_int64("ts_ns", record.ts_ns)
    _check_text("kind", record.kind, optional=False)
    if not record.kind:
        raise ValueError("kind must not be empty")
    _check_text("account_id", record.account_id, optional=True)
    _check_text("request_id", record.request_id, optional=True)
    _check_bytes("request_hash", record.request_hash)
    _check_bytes("command", record.command)
    _check_bytes("response", record.response)
    _check_bytes("state_hash", record.state_hash)


def validate_snapshot(snapshot: Snapshot) -> None:
    """Raise ``TypeError``/``ValueError`` if ``snapshot`` cannot be stored."""
    _check_int64("seq", snapshot.seq)
    if snapshot.seq < 0:
        raise ValueError(f"snapshot seq must be >= 0, got {snapshot.seq}")
    _check_bytes("state", snapshot.state)
    _check_bytes("state_hash", snapshot.state_hash)

