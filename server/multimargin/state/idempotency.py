"""Idempotency: the request ids mutations were applied under, and what they answered.

A mutation's ``request_id`` with the same request returns the stored response
(byte-identical) and changes nothing; with a different request it is refused
``IDEMPOTENCY_KEY_REUSED``. Recent ids are answered from memory
(:class:`~multimargin.state.recent.RecentRequests`, which also holds the ones not yet
durable), older ones by the journal's index (``JournalStore.lookup``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from multimargin.errors import RuleViolationError
from multimargin.state.recent import RecentRequests
from multimargin.store.interface import JournalStore


@dataclass
class Done:
    """A committed (or committing) mutation, for idempotent retries."""

    method: str
    digest: bytes  # sha256 of the method and the request's deterministic bytes
    response: bytes
    durable: asyncio.Future[None] | None  # None: read back from the journal


class RequestIds:
    """The mutations already applied, by request id: recent ones in memory, older ones
    in ``store``."""

    def __init__(self, store: JournalStore) -> None:
        self._store = store
        self.recent: RecentRequests[Done] = RecentRequests()

    def prior(self, request_id: str, method: str, digest: bytes) -> Done | None:
        """The earlier mutation under ``request_id`` (None for a new id); refuses a
        different request under it with IDEMPOTENCY_KEY_REUSED."""
        done = self.recent.get(request_id)
        if done is None:
            record = self._store.lookup(request_id)
            if record is None:
                return None
            done = Done(record.kind, record.request_hash, record.response, None)
        if done.method != method or done.digest != digest:
            raise RuleViolationError(
                f"request_id {request_id} was already used for a different request",
                "IDEMPOTENCY_KEY_REUSED",
                "request_id",
            )
        return done

    def add(self, request_id: str, done: Done) -> None:
        """Remembers a mutation just submitted (``done.durable`` set)."""
        assert done.durable is not None
        self.recent.add(request_id, done, done.durable)


__all__ = ["Done", "RequestIds"]
