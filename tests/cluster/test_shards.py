"""The shard function is part of the stored format: these values must never change."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st
from multimargin.cluster.shards import Owner, ShardMap, shard_of


def test_shard_function_is_pinned() -> None:
    # first 8 bytes of sha256, big-endian, mod N (issue 10 design)
    assert [shard_of(a, 16) for a in ("acct-1", "demo-futures-single", "", "é")] == [6, 11, 4, 3]
    assert shard_of("acct-1", 1) == 0


@given(st.text(max_size=40), st.integers(1, 4096))
def test_shard_function_matches_its_definition(account_id: str, n: int) -> None:
    digest = hashlib.sha256(account_id.encode()).digest()
    assert shard_of(account_id, n) == int.from_bytes(digest[:8], "big") % n


def test_spread_is_even_enough() -> None:
    counts = [0] * 16
    for i in range(16_000):
        counts[shard_of(f"acct-{i}", 16)] += 1
    assert min(counts) > 850 and max(counts) < 1150


def test_shard_map_knows_local_and_remote() -> None:
    m = ShardMap(4, "me")
    m.update({0: Owner("me", "a:1"), 1: Owner("them", "b:2")})
    assert m.is_local(0) and not m.is_local(1) and not m.is_local(2)
    assert m.owner(1) == Owner("them", "b:2") and m.owner(3) is None
