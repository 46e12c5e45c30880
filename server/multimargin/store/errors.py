"""The store's one error hierarchy, rooted in :class:`StoreError`.

The service layer maps these in one place: a :class:`DurabilityError` or
:class:`CorruptJournalError` stops the server (nothing may be acknowledged
that is not durable, and nothing may be served from a journal that does not
verify); :class:`StoreVersionError` and :class:`StoreLockedError` are
start-up refusals, as is :class:`StoreMissingError`.
"""

from __future__ import annotations


class StoreError(Exception):
    """Base class of every error raised by :mod:`multimargin.store`."""


class CorruptJournalError(StoreError):
    """The database file does not verify.

    ``seq`` is the journal position of the first bad record (a chain or
    checksum mismatch, the first missing seq of a gap or of a truncated tail, a
    snapshot's seq), or ``None`` when the damage cannot be tied to a record.

    >>> err = CorruptJournalError("gap in seq: expected 7, found 9", seq=7)
    >>> err.seq
    7
    """

    def __init__(self, message: str, *, seq: int | None) -> None:
        super().__init__(message)
        self.seq = seq

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only arguments defeat the default exception pickling; keep
        # the error transportable across process boundaries.
        return (_rebuild_corrupt, (str(self), self.seq))


def _rebuild_corrupt(message: str, seq: int | None) -> CorruptJournalError:
    return CorruptJournalError(message, seq=seq)


class DurabilityError(StoreError):
    """A write or commit failed, so the store can no longer promise durability.

    Raised into every pending and later future once the committer has seen an
    I/O failure (disk full, EIO, fsync failure). The store stays failed for
    good: after a failed fsync the kernel may already have dropped the dirty
    pages, so "retry and hope" could acknowledge data that is not on disk.
    The original exception is the ``__cause__``.
    """


class LeaseLostError(DurabilityError):
    """The store's shard lease is no longer ours (PostgreSQL store only).

    Every batch's transaction first checks the store's fencing token against the
    shard's lease row; once another instance has taken the lease over (or it
    expired), the batch is rolled back and the store fails for good with this error:
    nothing of that batch, or after it, is acknowledged.
    """


class StoreVersionError(StoreError):
    """The database file was written by a newer (or foreign) schema version."""

    def __init__(self, message: str, *, found: int, supported: int) -> None:
        super().__init__(message)
        self.found = found
        self.supported = supported

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_version, (str(self), self.found, self.supported))


def _rebuild_version(message: str, found: int, supported: int) -> StoreVersionError:
    return StoreVersionError(message, found=found, supported=supported)


class StoreLockedError(StoreError):
    """Another process (or another open :class:`Store`) owns the data directory.

    Two writers on one journal would hand out the same sequence numbers, so
    the second one is refused at open.
    """


class StoreMissingError(StoreError):
    """The database of a data directory that has held a store is missing or empty.

    Refused at open rather than taken for a new store; creating one there takes the
    operator's explicit ``init_store=True`` (``multimargin serve --init-store``).
    """
