"""Which shard an account lives in, and who owns each shard.

The shard function is part of the stored format: it must give the same answer in every
version, on every machine, for the life of a cluster (the number of shards is fixed when
the PostgreSQL schema is created). ``shard_of(account_id, n)`` is the first 8 bytes of
``sha256(account_id as UTF-8)`` read as a big-endian unsigned integer, modulo ``n``.

>>> shard_of("acct-1", 16), shard_of("acct-1", 16) == shard_of("acct-1", 16)
(6, True)
>>> [shard_of(f"a{i}", 4) for i in range(6)]
[2, 0, 1, 3, 2, 3]
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

#: Shards of a new cluster unless configured (``[cluster] shards``).
DEFAULT_SHARDS = 16


def shard_of(account_id: str, shards: int) -> int:
    """The shard of ``account_id`` in a cluster of ``shards`` shards (see module docs)."""
    if shards < 1:
        raise ValueError("a cluster has at least one shard")
    digest = hashlib.sha256(account_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % shards


@dataclass(frozen=True)
class Owner:
    """The holder of a shard's lease: its instance id and the address it serves on."""

    instance: str
    address: str


@dataclass
class ShardMap:
    """Who owns each shard, as this instance last saw it (leases are the truth; this is
    a routing hint refreshed with every lease round)."""

    shards: int
    me: str
    owners: dict[int, Owner] = field(default_factory=dict)

    def shard(self, account_id: str) -> int:
        return shard_of(account_id, self.shards)

    def owner(self, shard: int) -> Owner | None:
        return self.owners.get(shard)

    def is_local(self, shard: int) -> bool:
        owner = self.owners.get(shard)
        return owner is not None and owner.instance == self.me

    def update(self, owners: dict[int, Owner]) -> None:
        self.owners = dict(owners)


__all__ = ["DEFAULT_SHARDS", "Owner", "ShardMap", "shard_of"]
