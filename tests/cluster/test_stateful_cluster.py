"""The hypothesis state machine of tests/service/test_stateful_liability.py against three
instances over PostgreSQL: every call goes to the first instance, which serves its own
shards and forwards the rest; a restart is ``kill -9`` (or SIGTERM) of another instance,
its shards taken over, and a new instance joining. The same invariants hold (conservation,
history, idempotent retries byte for byte, isolation, the state hash across restarts,
versions, one event per change), events read per shard (``after_shard_seq``).

``MM_CLUSTER_STATEFUL_EXAMPLES`` sets the number of examples (default 2: the suite stays
short; ``make test-cluster-long`` runs more).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc
import psycopg
import pytest
from clusterkit import Cluster, wait_until
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import rule
from multimargin.v1 import event_service_pb2 as evs
from multimargin.v1 import history_pb2 as h

sys.path.insert(0, str(Path(__file__).parents[1] / "service"))
import rpckit  # tests/service is on the path from here on
from rpckit import Rpc
from test_stateful_liability import LiabilityMachine

_PG: dict[str, Any] = {}

#: gRPC retries UNAVAILABLE (SHARD_MOVING while a shard changes owner) by itself.
_RETRY = json.dumps(
    {
        "methodConfig": [
            {
                "name": [{}],
                "retryPolicy": {
                    "maxAttempts": 5,
                    "initialBackoff": "0.2s",
                    "maxBackoff": "2s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ]
    }
)


@pytest.fixture(autouse=True)
def _postgres(pg_cluster: Any) -> None:
    _PG["cluster"] = pg_cluster


class ClusterLiabilityMachine(LiabilityMachine):
    def __init__(self) -> None:
        from hypothesis.stateful import RuleBasedStateMachine

        RuleBasedStateMachine.__init__(self)
        self.dir = Path(tempfile.mkdtemp(prefix="mm-stateful-cluster-"))
        self.cluster = Cluster(_PG["cluster"].create_database("st"), self.dir, lease_seconds=3.0)
        try:
            self._start()
        except BaseException:  # no teardown for a machine that never finished starting
            self.cluster.stop()
            shutil.rmtree(self.dir, ignore_errors=True)
            raise

    def _start(self) -> None:
        for _ in range(3):
            self.cluster.start()
        wait_until(lambda: self.cluster.balanced(3), 30, "three instances sharing the shards")
        time.sleep(1.5)  # every instance's owner map is fresh
        self.entry = self.cluster.instances[0]
        self.channel = grpc.insecure_channel(
            self.entry.address, options=(("grpc.service_config", _RETRY), ("grpc.enable_retries", 1))
        )
        self.rpc = Rpc(self.channel)
        self.rpc.set_prices(rpckit.INDEX, rpckit.MARKS)
        self._settle_prices()
        self._init_model()
        self.cursors: dict[int, int] = {}

    def teardown(self) -> None:
        try:
            self.channel.close()
            self.cluster.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def _settle_prices(self) -> None:
        """Every shard follows a price update within a poll interval: wait it out."""
        time.sleep(1.0)

    @rule(btc=st.sampled_from(["20000", "45000", "64000", "90000"]))
    def prices(self, btc: str) -> None:
        super().prices(btc)
        self._settle_prices()

    @rule(kill=st.booleans())
    def restart(self, kill: bool) -> None:
        before = self.rpc.status().state_hash
        victim = self.cluster.instances[-1]
        if kill:
            victim.kill()
        else:
            assert victim.stop() == 0
        self.cluster.instances.remove(victim)
        wait_until(lambda: self.cluster.balanced(2), 30, "two instances owning every shard")
        self.cluster.start()
        wait_until(lambda: self.cluster.balanced(3), 30, "three instances sharing the shards")
        time.sleep(1.5)
        assert self.rpc.status().state_hash == before

    def new_events(self) -> list[h.Event]:
        with psycopg.connect(self.cluster.url, autocommit=True) as conn:
            rows = conn.execute("SELECT shard, max(seq) FROM mm_events GROUP BY shard").fetchall()
        last = {int(s): int(m) for s, m in rows}
        if all(last[s] <= self.cursors.get(s, 0) for s in last):
            return []
        out: list[h.Event] = []
        seen = dict(self.cursors)
        stream = self.rpc.events.WatchEvents(evs.WatchEventsRequest(after_shard_seq=self.cursors), timeout=30)
        for message in stream:
            assert message.event.seq == seen.get(message.shard, 0) + 1, "a shard's events skipped or repeated"
            seen[message.shard] = message.event.seq
            out.append(message.event)
            if all(seen.get(s, 0) >= m for s, m in last.items()):
                break
        stream.cancel()
        self.cursors = seen
        return out


ClusterLiabilityMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("MM_CLUSTER_STATEFUL_EXAMPLES", "2")),
    stateful_step_count=15,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
TestClusterLiability = ClusterLiabilityMachine.TestCase
