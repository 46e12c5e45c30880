"""EventService: the event stream (SPEC §8). The engine serves it itself: it owns the
subscribers and the order in which committed events are published."""

from __future__ import annotations

from multimargin.state.handlers.common import Mutation, Query

MUTATIONS: dict[str, Mutation] = {}
QUERIES: dict[str, Query] = {}
# Server-streaming RPCs, answered by Engine.stream.
STREAMS = frozenset({"WatchEvents"})
