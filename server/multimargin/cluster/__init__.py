"""Several ``multimargin serve`` instances over one PostgreSQL (issue 10).

* :mod:`.shards`: the stable shard function and the map of owners.
* :mod:`.devpg`: a throw-away PostgreSQL for development and tests.
* :mod:`.leases`: shard leases with fencing tokens and instance membership, on
  PostgreSQL's clock.
* :mod:`.host`: one engine per owned shard, opened on acquire, closed on release,
  dropped without writing on loss.
* :mod:`.router`: the engine the service dispatches to: a local shard's engine, a
  forward to the owner (:mod:`.forward`), or SHARD_MOVING.
"""
