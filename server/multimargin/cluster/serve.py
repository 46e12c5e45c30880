"""``multimargin serve --store postgresql://…``: one instance of a cluster.

Start-up: bind the port, make or check the PostgreSQL schema (the shard count must be the
cluster's), start the lease manager, serve. Every shard this instance owns has its own
engine (:mod:`.host`); calls for the others are forwarded (:mod:`.router`).

Health: the overall status (service ``""``) and every service are SERVING while the last
lease round reached PostgreSQL and the instance owns at least one shard, NOT_SERVING
otherwise (PostgreSQL unreachable: nothing may be answered from state that may be stale;
no shard yet: still joining). A load balancer may still send calls to a NOT_SERVING
instance: it forwards them or answers SHARD_MOVING.

Shutdown (SIGTERM/SIGINT): NOT_SERVING, drain calls in flight, give every shard back
gracefully (flush, final snapshot, release the lease), leave the membership.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from pathlib import Path
from typing import Any

from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from multimargin.cluster import stores
from multimargin.cluster.forward import Forwarder
from multimargin.cluster.globals import POLL_SECONDS, Globals
from multimargin.cluster.host import ShardHost
from multimargin.cluster.leases import Lease, LeaseManager
from multimargin.cluster.router import ClusterEngine
from multimargin.cluster.shards import ShardMap
from multimargin.errors import MarginError
from multimargin.service.access import Guard
from multimargin.service.decoding import DEFAULT_MAX_MESSAGE_BYTES
from multimargin.service.dispatch import DEFAULT_MAX_IN_FLIGHT, Admission, add_engine_services
from multimargin.service.server import (
    EXIT_FAILURE,
    EXIT_INPUT,
    EXIT_OK,
    ListenError,
    Tls,
    _listen,
    _serve_until_stopped,
    _Signals,
    make_server,
)
from multimargin.state.engine import Engine
from multimargin.store import StoreError
from multimargin.store.postgres import describe_dsn

log = logging.getLogger("multimargin.cluster")

_SERVING = health_pb2.HealthCheckResponse.SERVING
_NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def instance_id(advertise: str) -> str:
    """A new id for every start (a restarted instance owns nothing of its past self)."""
    return f"{socket.gethostname()}/{advertise}/{os.getpid()}-{uuid.uuid4().hex[:6]}"


async def run_cluster_server(
    listen: str,
    url: str,
    *,
    advertise: str | None = None,
    shards: int = 16,
    lease_seconds: float = 5.0,
    data_dir: Path = Path("./data"),
    rulebook_json: str | None = None,
    demo: bool = False,
    ready: asyncio.Event | None = None,
    grace: float = 5.0,
    stop: asyncio.Event | None = None,
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
    guard: Guard | None = None,
    tls: Tls | None = None,
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
) -> int:
    """Serve as one instance of the cluster stored in ``url`` until told to stop."""
    stop = stop if stop is not None else asyncio.Event()
    with _Signals(stop) as signals:
        server = make_server(None, max_message_bytes)
        port = _listen(server, listen, tls)
        address = (
            advertise or listen.replace(":0", f":{port}") if listen.endswith(":0") else advertise or listen
        )
        me = instance_id(address)
        shards = await stores.prepare(url, shards)
        globals_ = Globals(url)
        await globals_.refresh()
        if globals_.rulebook is None:
            await globals_.publish_rulebook(stores.initial_rulebook(rulebook_json))
        opener = stores.opener(url, data_dir, me)

        async def open_shard(lease: Lease) -> Engine:
            await globals_.refresh()
            return await opener(lease, globals_.rulebook)

        host = ShardHost(open_shard)
        shard_map = ShardMap(shards, me)
        leases = LeaseManager(
            url,
            me,
            address,
            host,
            shards=shards,
            ttl=lease_seconds,
            on_owners=shard_map.update,
            # Fault tests only: no local deadline, so that fencing alone must refuse.
            local_deadline=os.environ.get("MULTIMARGIN_CLUSTER_FENCING_ONLY") != "1",
        )

        async def opened(shard: int, engine: Engine) -> None:
            globals_.forget(shard)
            await globals_.catch_up(shard, engine)

        async def failed(shard: int) -> None:
            globals_.forget(shard)
            await leases.forget(shard)

        host.on_opened = opened
        host.on_failed = failed
        forwarder = Forwarder(me)
        engine = ClusterEngine(host, shard_map, forwarder, globals_)
        health_servicer = health.aio.HealthServicer()
        await health_servicer.set("", _NOT_SERVING)
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
        services = add_engine_services(server, engine, Admission(max_in_flight), guard, max_message_bytes)
        reflection.enable_server_reflection((*services, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
        tasks: list[asyncio.Task[None]] = []

        async def shutdown() -> None:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await leases.stop()
            await host.close()
            await forwarder.close()
            await globals_.close()

        engine.closer = shutdown

        async def refresh() -> None:
            shard_map.update(await leases.owners())

        engine.refresh = refresh
        leases.start()
        tasks.append(asyncio.create_task(_follow(globals_, host)))
        tasks.append(asyncio.create_task(_health(leases, host, health_servicer, ("", *services))))
        if demo:
            tasks.append(asyncio.create_task(_seed_demo(engine, leases, host)))
        await server.start()
        log.info(
            "serving",
            extra={
                "fields": {
                    "listen": listen,
                    "port": port,
                    "advertise": address,
                    "instance": me,
                    "shards": shards,
                }
            },
        )
        if ready is not None:
            ready.set()
        if stop.is_set():
            await server.stop(None)
            await shutdown()
            return EXIT_OK
        return await _serve_until_stopped(server, engine, health_servicer, signals, grace)


async def _follow(globals_: Globals, host: ShardHost) -> None:
    """Bring every local shard to the cluster's latest rulebook and prices."""
    while True:
        await asyncio.sleep(POLL_SECONDS)
        try:
            await globals_.refresh()
            for shard, engine in host.local():
                await globals_.catch_up(shard, engine)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("following the cluster's prices and rulebook failed: %s", exc)


async def _health(leases: LeaseManager, host: ShardHost, servicer: Any, names: tuple[str, ...]) -> None:
    state = None
    while True:
        serving = leases.reachable and bool(host.engines)
        if serving != state:
            for name in names:
                await servicer.set(name, _SERVING if serving else _NOT_SERVING)
            log.info("health", extra={"fields": {"serving": serving, "shards": sorted(host.engines)}})
            state = serving
        await asyncio.sleep(0.1)


async def _seed_demo(engine: ClusterEngine, leases: LeaseManager, host: ShardHost) -> None:
    """The demo accounts and prices, once every shard has an owner (skipped when the
    cluster holds accounts already)."""
    from multimargin.state import demo as demo_data
    from multimargin.v1 import operator_service_pb2 as op

    while True:
        await asyncio.sleep(0.5)
        if not leases.held or len(engine.map.owners) < engine.map.shards:
            continue
        try:
            status = await engine.call("GetEngineStatus", op.GetEngineStatusRequest())
            if status.accounts:  # type: ignore[attr-defined]
                log.info("demo data not seeded: the cluster holds accounts")
                return
            for method, request in demo_data.commands():
                await engine.call(method, request)
        except Exception as exc:  # a shard still moving: try again
            log.info("demo data not seeded yet: %r", exc)
            continue
        log.info("demo data seeded", extra={"fields": {"shards": sorted(host.engines)}})
        return


def serve_cluster(cfg: dict[str, Any], guard: Guard, tls: Tls | None, rulebook_json: str | None) -> int:
    """``serve --store postgresql://…``: one instance of a cluster (:mod:`multimargin.cluster`)."""
    try:
        return asyncio.run(
            run_cluster_server(
                cfg["server.listen"],
                cfg["store.url"],
                advertise=cfg["cluster.advertise"],
                shards=cfg["cluster.shards"],
                lease_seconds=cfg["cluster.lease_seconds"],
                data_dir=Path(cfg["server.data_dir"]),
                rulebook_json=rulebook_json,
                demo=cfg["server.demo"],
                grace=cfg["server.grace"],
                max_in_flight=cfg["limits.max_in_flight"],
                guard=guard,
                tls=tls,
                max_message_bytes=cfg["limits.max_message_bytes"],
            )
        )
    except MarginError as exc:
        log.error("refused to start: %s", exc, extra={"fields": {"reason": exc.reason, "field": exc.field}})
        return EXIT_INPUT
    except (ListenError, StoreError, OSError) as exc:
        log.error("cannot start: %s", exc)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return EXIT_OK
    except Exception as exc:
        if type(exc).__module__.startswith("psycopg"):
            log.error("cannot start: PostgreSQL at %s: %s", describe_dsn(cfg["store.url"]), exc)
            return EXIT_FAILURE
        log.exception("the server failed")
        return EXIT_FAILURE


__all__ = ["instance_id", "run_cluster_server", "serve_cluster"]
