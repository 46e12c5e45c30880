"""Reading rows back: each column checked for the type it was written with (STRICT
tables, but a damaged file can still hold anything), rows turned into records, and the
end of a recovery checked (:func:`check_journal_end`, both backends)."""

from __future__ import annotations

from multimargin.store.errors import CorruptJournalError
from multimargin.store.records import JournalRecord, Snapshot, chain_value, snapshot_checksum
from multimargin.store.schema import JOURNAL_COLUMNS, META_CHAIN_HEAD, META_LAST_SEQ, UndecodableText


class _BadColumn(Exception):
    pass


def _int(value: object) -> int:
    if type(value) is not int:
        raise _BadColumn
    return value


def _text(value: object) -> str:
    if type(value) is not str:
        raise _BadColumn
    return value


def _opt_text(value: object) -> str | None:
    return None if value is None else _text(value)


def _blob(value: object) -> bytes:
    if type(value) is not bytes:
        raise _BadColumn
    return value


def _row_to_record(row: tuple[object, ...]) -> tuple[JournalRecord, bytes]:
    """Decode a ``SELECT {JOURNAL_COLUMNS}, chain`` row, checking every column's type."""
    try:
        record = JournalRecord(
            seq=_int(row[0]),
            ts_ns=_int(row[1]),
            kind=_text(row[2]),
            account_id=_opt_text(row[3]),
            request_id=_opt_text(row[4]),
            request_hash=_blob(row[5]),
            command=_blob(row[6]),
            response=_blob(row[7]),
            state_hash=_blob(row[8]),
        )
        return record, _blob(row[9])
    except _BadColumn:
        seq = row[0] if type(row[0]) is int else None
        names = [name.strip() for name in JOURNAL_COLUMNS.split(",")] + ["chain"]
        bad = [name for name, value in zip(names, row, strict=True) if isinstance(value, UndecodableText)]
        what = f"text that is not UTF-8 in {', '.join(bad)}" if bad else "a column of the wrong type"
        raise CorruptJournalError(f"journal row at seq {row[0]!r} has {what}", seq=seq) from None


def _row_to_snapshot(row: tuple[object, ...]) -> tuple[Snapshot, bytes]:
    try:
        snapshot = Snapshot(seq=_int(row[0]), state=_blob(row[1]), state_hash=_blob(row[2]))
        return snapshot, _blob(row[3])
    except _BadColumn:
        seq = row[0] if type(row[0]) is int else None
        raise CorruptJournalError(
            f"snapshot row at seq {row[0]!r} has a column of the wrong type", seq=seq
        ) from None


def _meta_int(value: object) -> int | None:
    if not isinstance(value, bytes) or not value.isdigit():
        return None
    return int(value)


def check_journal_end(
    meta: dict[str, bytes], last_seq: int, chain: bytes, snapshots: list[tuple[Snapshot, bytes]]
) -> None:
    """The end of a recovery, the same for every backend: the journal's last seq and its
    chain value against ``store.last_seq`` / ``store.chain_head`` (written in the
    transaction of each batch), and every retained snapshot (with its stored checksum)
    against the journal. Raises :class:`CorruptJournalError` naming the position."""
    meta_last = _meta_int(meta.get(META_LAST_SEQ))
    if meta_last is None:
        raise CorruptJournalError(f"meta {META_LAST_SEQ} is missing or malformed", seq=None)
    if last_seq < meta_last:
        raise CorruptJournalError(
            f"truncated tail: journal ends at seq {last_seq} but meta.last_seq is "
            f"{meta_last}; records {last_seq + 1}..{meta_last} are missing",
            seq=last_seq + 1,
        )
    if last_seq > meta_last:
        raise CorruptJournalError(
            f"journal extends beyond meta.last_seq {meta_last} to seq {last_seq}; "
            f"rows from seq {meta_last + 1} were not written by this store",
            seq=meta_last + 1,
        )
    if meta.get(META_CHAIN_HEAD) != chain:
        raise CorruptJournalError(
            f"chain mismatch at journal end: meta.chain_head does not match "
            f"the chain value of seq {last_seq}",
            seq=last_seq if last_seq else None,
        )
    for snapshot, stored_checksum in snapshots:
        if snapshot.seq > last_seq:
            raise CorruptJournalError(
                f"snapshot at seq {snapshot.seq} is beyond the journal end (last seq {last_seq})",
                seq=snapshot.seq,
            )
        if snapshot_checksum(snapshot) != stored_checksum:
            raise CorruptJournalError(f"snapshot checksum mismatch at seq {snapshot.seq}", seq=snapshot.seq)


def verified_row(row: tuple[object, ...], expected: int, chain: bytes) -> tuple[JournalRecord, bytes]:
    """One row of a journal walk (its columns, then its stored chain value): it must be
    seq ``expected`` and carry the chain value computed from ``chain`` (the value before
    it). Returns the record and its chain value; :class:`CorruptJournalError` naming the
    seq for a gap or an altered row, both backends alike."""
    seq = row[0]
    if seq != expected:
        raise CorruptJournalError(f"gap in seq: expected {expected}, found {seq}", seq=expected)
    record, stored_chain = _row_to_record(row)
    chain = chain_value(chain, record)
    if chain != stored_chain:
        raise CorruptJournalError(
            f"chain mismatch at seq {seq}: the row's contents or its chain "
            "value were altered (or rows were reordered)",
            seq=seq,
        )
    return record, chain
