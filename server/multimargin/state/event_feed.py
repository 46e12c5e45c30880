"""The event feed (SPEC §7.5, §8): numbers events, writes them with their journal
record, hands them to WatchEvents subscribers once durable (in order, never blocking
the engine), and answers ListHistory with signed page tokens."""

from __future__ import annotations

import asyncio
import base64
import collections
import hmac
import os
import secrets
from collections.abc import AsyncIterator, Callable
from typing import Any

from multimargin.errors import InvalidInputError, ResourceExhaustedError
from multimargin.state import events as ev
from multimargin.store import JournalRecord
from multimargin.store.interface import EventRow, JournalStore
from multimargin.v1 import event_service_pb2, history_pb2

TOKEN_KEY_META = "engine.page_token_key"  # secret that signs ListHistory page tokens
#: Events queued for one WatchEvents subscriber at most; more end its stream with
#: SUBSCRIBER_TOO_SLOW. The environment variable (read at start) is for tests that
#: provoke that end cheaply; leave it unset in production.
SUBSCRIBER_BUFFER = int(os.environ.get("MULTIMARGIN_SUBSCRIBER_BUFFER", "10000"))
BACKLOG_CHUNK = 500


class _Subscriber:
    """One WatchEvents stream: a bounded buffer of published events."""

    def __init__(self, accounts: frozenset[str]) -> None:
        self.accounts = accounts
        self.queue: asyncio.Queue[history_pb2.Event] = asyncio.Queue()
        self.overflowed = False

    def offer(self, event: history_pb2.Event) -> None:
        if self.overflowed or (self.accounts and event.account_id not in self.accounts):
            return
        if self.queue.qsize() >= SUBSCRIBER_BUFFER:
            # Never block the engine: the subscriber is told to resume instead.
            self.overflowed = True
            self.queue.put_nowait(history_pb2.Event())  # wakes the stream to end it
            return
        self.queue.put_nowait(event)


class EventFeed:
    """Event numbering, publication and the history reads of one store."""

    def __init__(self, store: JournalStore) -> None:
        self._store = store
        self._next = 1
        self._outbox: collections.deque[tuple[asyncio.Future[None], list[history_pb2.Event]]] = (
            collections.deque()
        )
        self._subscribers: set[_Subscriber] = set()
        self._token_key = b""
        self.on_publish: Callable[[history_pb2.Event], None] | None = None  # metrics

    @property
    def backlog(self) -> int:
        """Events queued for subscribers and not yet sent."""
        return sum(sub.queue.qsize() for sub in list(self._subscribers))

    async def open(self) -> None:
        """Continues the numbering after the store's last event; loads (or creates) the
        page-token key."""
        self._next = self._store.last_event_seq() + 1
        self._token_key = self._store.get_meta(TOKEN_KEY_META) or b""
        if not self._token_key:
            self._token_key = secrets.token_bytes(32)
            await self._store.put_meta(TOKEN_KEY_META, self._token_key)

    @property
    def last_seq(self) -> int:
        """The last event number issued; 0 when none."""
        return self._next - 1

    def publish_when_durable(self, durable: asyncio.Future[None], events: list[history_pb2.Event]) -> None:
        if events:
            self._outbox.append((durable, events))
            durable.add_done_callback(self._publish)

    def rows(self, record: JournalRecord, events: list[history_pb2.Event]) -> tuple[EventRow, ...]:
        """Numbers the events of a record and renders their store rows."""
        rows = []
        for event in events:
            event.seq = self._next
            self._next += 1
            body = event.SerializeToString(deterministic=True)
            rows.append((event.seq, record.seq, event.account_id, int(ev.is_history(event)), body))
        return tuple(rows)

    def _publish(self, _: asyncio.Future[None]) -> None:
        """Hands committed events to the subscribers, in sequence order (group commit
        settles the durability futures in journal order)."""
        while self._outbox and self._outbox[0][0].done():
            durable, events = self._outbox.popleft()
            if durable.cancelled() or durable.exception() is not None:
                self._outbox.clear()  # the store failed: nothing after it is published
                return
            for event in events:
                for sub in self._subscribers:
                    sub.offer(event)
                if self.on_publish is not None:
                    self.on_publish(event)

    # ---- events and history ----------------------------------------------------------

    async def watch(self, request: Any) -> AsyncIterator[Any]:
        """WatchEvents (SPEC §8): every committed event after ``after_seq`` of the given
        accounts (all when none), then new ones as they commit, exactly once each. (The
        caller has checked the account ids.)"""
        last = request.after_seq
        if not 0 <= last < self._next:
            raise InvalidInputError(
                f"no event {last} was issued (the last is {self._next - 1})",
                "OUT_OF_RANGE",
                "after_seq",
            )
        sub = _Subscriber(frozenset(request.account_ids))
        self._subscribers.add(sub)
        try:
            while True:  # the backlog from the store, then the live feed
                backlog = self._store.events_after(last, tuple(request.account_ids), BACKLOG_CHUNK)
                for seq, body in backlog:
                    last = seq
                    yield event_service_pb2.WatchEventsResponse(event=history_pb2.Event.FromString(body))
                if len(backlog) < BACKLOG_CHUNK:
                    break
            while True:
                event = await sub.queue.get()
                if sub.overflowed and sub.queue.empty():
                    raise ResourceExhaustedError(
                        f"the subscriber fell too far behind; resume after seq {last}",
                        "SUBSCRIBER_TOO_SLOW",
                        "after_seq",
                    )
                if event.seq > last:
                    last = event.seq
                    yield event_service_pb2.WatchEventsResponse(event=event)
        finally:
            self._subscribers.discard(sub)

    def history(self, account_id: str, before: int | None, limit: int) -> list[tuple[int, Any]]:
        """Committed SPEC §7.5 entries of an account, newest first, as (seq, event)."""
        rows = self._store.history(account_id, before if before is not None else 2**62, limit)
        return [(seq, history_pb2.Event.FromString(body)) for seq, body in rows]

    def history_token(self, account_id: str, seq: int) -> str:
        """A page token continuing below event ``seq``, signed with the store's key."""
        mac = hmac.new(self._token_key, f"{account_id}\0{seq}".encode(), "sha256").digest()[:16]
        return base64.urlsafe_b64encode(seq.to_bytes(8, "big") + mac).decode().rstrip("=")

    def history_cursor(self, account_id: str, token: str) -> int:
        """The event seq a page token continues below; a forged token is refused."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (ValueError, TypeError):
            raw = b""
        if len(raw) == 24:
            seq = int.from_bytes(raw[:8], "big")
            if hmac.compare_digest(self.history_token(account_id, seq), token):
                return seq
        raise InvalidInputError("is not a page token this server issued", "INVALID_ARGUMENT", "page_token")

