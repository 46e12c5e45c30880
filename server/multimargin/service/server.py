"""The gRPC server: lifecycle of ``multimargin serve``.

Start-up: bind the port (a taken port fails fast, before recovery), open the engine
(recover the durable store under ``--data-dir``), register every RPC of the contract
(:mod:`multimargin.service.dispatch`), the standard health service and server
reflection, start, then report SERVING.

Shutdown on SIGTERM or SIGINT: health turns NOT_SERVING, the server stops taking
calls and lets the ones in flight finish for up to ``grace`` seconds (a second
signal cuts that short), then the engine flushes, snapshots and closes; exit 0.

If the engine's durable store fails (:attr:`EngineLike.fatal`), nothing more may be
acknowledged: the server stops at once, cancelling calls in flight, and exits 1.

Access (:func:`access_of`): ``--auth FILE`` checks a bearer token on every call against
the principals file; without it the server starts only with ``--insecure-no-auth`` on a
loopback address. ``--tls-cert``/``--tls-key`` serve TLS, ``--tls-client-ca`` mutual TLS.

Exit codes of :func:`serve_main`: 0 clean shutdown; 1 failure (store failed, port
taken, unreadable rulebook or TLS file, unexpected fault); 2 refused input (invalid
rulebook or principals file, bad ``--log-level``, unsafe or inconsistent access options).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import ipaddress
import logging
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from multimargin import config
from multimargin.contract import contract_rpcs
from multimargin.errors import MarginError
from multimargin.service.access import Guard
from multimargin.service.admission import (
    DEFAULT_MAX_LOOP_BUSY,
    DEFAULT_MAX_QUEUE_DELAY,
    DEFAULT_SHED_GRACE,
    Admission,
    CpuMeter,
)
from multimargin.service.decoding import DEFAULT_MAX_MESSAGE_BYTES
from multimargin.service.dispatch import DEFAULT_MAX_IN_FLIGHT, EngineLike, add_engine_services
from multimargin.service.interceptors import CallInterceptor
from multimargin.service.logs import configure_logging, shutdown_logging
from multimargin.service.metrics import Metrics
from multimargin.service.principals import PrincipalsError, load_principals
from multimargin.state.engine import Engine
from multimargin.store import StoreError

log = logging.getLogger("multimargin.server")

#: Seconds in-flight calls get to finish after SIGTERM.
DEFAULT_GRACE = 5.0
#: Calls gRPC core may hold before the server takes them; beyond it core cancels calls
#: (CANCELLED, no ErrorInfo). Overload is refused by our own admission control
#: (:class:`~multimargin.service.dispatch.Admission`, RESOURCE_EXHAUSTED + ErrorInfo)
#: long before this, so it only bounds core's queue against a flood.
MAX_PENDING_CALLS = 100_000
#: gRPC's own limit on a request, as a multiple of ours (``--max-message-bytes``): ours
#: refuses with an ErrorInfo (:class:`~multimargin.service.decoding.Oversized`); gRPC's,
#: far above it, only bounds memory (RESOURCE_EXHAUSTED without details).
GRPC_MESSAGE_HEADROOM = 4
MAX_RECEIVE_MESSAGE_BYTES = GRPC_MESSAGE_HEADROOM * DEFAULT_MAX_MESSAGE_BYTES
#: Seconds ``engine.close()`` may take after the store failed, before we give up on it.
FATAL_CLOSE_TIMEOUT = 5.0

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_INPUT = 2

_SERVING = health_pb2.HealthCheckResponse.SERVING
_NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class ListenError(RuntimeError):
    """The server could not listen on the requested address."""


def make_server(
    metrics: Metrics | None = None,
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    admission: Admission | None = None,
) -> Any:
    """A ``grpc.aio.Server`` with the interceptors and limits of multimargin, no services yet
    (``admission``: the one its services will be served under, whose clock stamps each
    call's arrival).

    No ``maximum_concurrent_rpcs``: gRPC's aio server enforces it by not taking new
    calls from core, which then sheds them itself as CANCELLED. Admission control is
    ours, in the dispatcher (SPEC §11: a shed call is RESOURCE_EXHAUSTED).
    """
    clock = admission.clock if admission is not None else None
    return grpc.aio.server(
        interceptors=(CallInterceptor(metrics, clock),),
        options=(
            ("grpc.max_receive_message_length", GRPC_MESSAGE_HEADROOM * max_message_bytes),
            ("grpc.server.max_pending_requests", MAX_PENDING_CALLS),
            ("grpc.server.max_pending_requests_hard_limit", MAX_PENDING_CALLS),
            # gRPC sets SO_REUSEPORT by default: a second server on the same port would
            # silently share it. We want "address already in use" instead.
            ("grpc.so_reuseport", 0),
        ),
    )


@dataclass(frozen=True)
class Tls:
    """The server's TLS: its certificate chain and key (PEM), and for mutual TLS the CA
    (PEM) that must have signed every client's certificate."""

    cert_chain: bytes
    private_key: bytes
    client_ca: bytes | None = None

    @classmethod
    def from_files(cls, cert: Path, key: Path, client_ca: Path | None = None) -> Tls:
        """Read the PEM files (OSError when one is unreadable)."""
        return cls(cert.read_bytes(), key.read_bytes(), client_ca.read_bytes() if client_ca else None)

    def credentials(self) -> Any:
        return grpc.ssl_server_credentials(
            ((self.private_key, self.cert_chain),),
            root_certificates=self.client_ca,
            require_client_auth=self.client_ca is not None,
        )


def is_loopback(listen: str) -> bool:
    """True when ``listen`` (host:port, [v6]:port or unix:PATH) is reachable only from this machine.

    >>> [is_loopback(a) for a in ("127.0.0.1:1", "[::1]:1", "localhost:1", "0.0.0.0:1", ":1", "[::]:1")]
    [True, True, True, False, False, False]
    """
    if listen.startswith(("unix:", "unix-abstract:")):
        return True
    host = listen.rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _listen(server: Any, listen: str, tls: Tls | None = None) -> int:
    try:
        if tls is None:
            port: int = server.add_insecure_port(listen)
        else:
            port = server.add_secure_port(listen, tls.credentials())
    except RuntimeError as exc:
        raise ListenError(f"cannot listen on {listen}: {exc}") from None
    if port == 0:  # older gRPC reports a failed bind this way
        raise ListenError(f"cannot listen on {listen}")
    return port


class _Signals:
    """SIGTERM/SIGINT handling: the first signal asks for a graceful stop, the next forces it."""

    def __init__(self, stop: asyncio.Event) -> None:
        self.stop = stop
        self.force = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._installed: list[signal.Signals] = []

    def __enter__(self) -> _Signals:
        for sig in _SIGNALS:
            try:
                self._loop.add_signal_handler(sig, self._received, sig)
            except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
                log.debug("cannot handle %s here", sig.name)
            else:
                self._installed.append(sig)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig in self._installed:
            self._loop.remove_signal_handler(sig)

    def _received(self, sig: signal.Signals) -> None:
        if self.stop.is_set():
            log.warning("%s again: cancelling the calls in flight", sig.name)
            self.force.set()
        else:
            log.info("%s: shutting down", sig.name, extra={"fields": {"signal": sig.name}})
            self.stop.set()


async def run_server(
    listen: str,
    data_dir: Path,
    rulebook_json: str | None,
    demo: bool,
    ready: asyncio.Event | None = None,
    *,
    grace: float = DEFAULT_GRACE,
    stop: asyncio.Event | None = None,
    clock: str = "explicit",
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
    max_queue_delay: float = DEFAULT_MAX_QUEUE_DELAY,
    max_loop_busy: float = DEFAULT_MAX_LOOP_BUSY,
    shed_grace: float = DEFAULT_SHED_GRACE,
    init_store: bool = False,
    metrics_listen: str | None = None,
    guard: Guard | None = None,
    tls: Tls | None = None,
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
) -> int:
    """Serve the engine stored under ``data_dir`` on ``listen`` until told to stop.

    ``ready`` is set once the server reports SERVING; at most ``max_in_flight`` calls
    are served at once, and a call that waited more than ``max_queue_delay`` seconds to
    reach its handler, or comes when the server has had no CPU to spare for more than
    ``max_loop_busy`` (:class:`~multimargin.service.admission.CpuMeter`), is shed
    RESOURCE_EXHAUSTED once such lateness has lasted ``shed_grace`` seconds
    (:mod:`multimargin.service.admission`; 0 turns a bound off);
    ``init_store`` creates a new store where one existed but its database is missing or empty
    (:meth:`multimargin.store.Store.open`). ``guard`` authenticates and authorizes
    every call (default: none, every call anonymous); ``tls`` serves TLS (mutual TLS with
    a client CA) instead of plaintext. Stops gracefully on SIGTERM or
    SIGINT (when running in the main thread) or when ``stop`` is set; returns
    :data:`EXIT_OK` then, or :data:`EXIT_FAILURE` when the durable store failed.
    Start-up failures raise: :class:`ListenError`, the engine's
    :class:`~multimargin.errors.MarginError` (e.g. an invalid rulebook) or
    :class:`~multimargin.store.StoreError`.
    """
    stop = stop if stop is not None else asyncio.Event()
    with _Signals(stop) as signals:
        metrics = Metrics() if metrics_listen else None
        admission = Admission(
            max_in_flight,
            max_queue_delay=max_queue_delay,
            max_loop_busy=max_loop_busy,
            grace=shed_grace,
            idle_at=CpuMeter().idle_at,
        )
        server = make_server(metrics, max_message_bytes, admission)
        port = _listen(server, listen, tls)
        log.info("opening the engine", extra={"fields": {"data_dir": str(data_dir), "demo": demo}})
        engine = await Engine.open(
            data_dir, rulebook_json=rulebook_json, demo=demo, init_store=init_store, clock=clock
        )
        closed = False
        http: Any = None
        try:
            health_servicer = health.aio.HealthServicer()
            await health_servicer.set("", _NOT_SERVING)
            health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
            services = add_engine_services(server, engine, admission, guard, max_message_bytes)
            if metrics is not None and metrics_listen is not None:
                engine.attach_metrics(metrics, lambda: admission.shed)
                http, _ = metrics.serve(metrics_listen)
                log.info("metrics", extra={"fields": {"listen": metrics_listen, "port": http.server_port}})
            reflection.enable_server_reflection(
                (*services, health.SERVICE_NAME, reflection.SERVICE_NAME), server
            )
            if stop.is_set():  # told to stop while recovering
                closed = True
                await engine.close()
                return EXIT_OK
            # What start-up loaded (the state, the modules) lives as long as the
            # server: out of the collector's sight, a full collection no longer walks
            # it, which would pause every call in flight for milliseconds.
            gc.collect()
            gc.freeze()
            await server.start()
            for name in ("", *services):
                await health_servicer.set(name, _SERVING)
            fields = {
                "listen": listen,
                "port": port,
                "data_dir": str(data_dir),
                "tls": "mutual" if tls and tls.client_ca else ("on" if tls else "off"),
                "auth": "tokens" if guard is not None and guard.authenticates else "none",
                "max_in_flight": max_in_flight,
                "max_queue_delay_ms": max_queue_delay * 1000,
                "max_loop_busy_ms": max_loop_busy * 1000 if admission.idle_at is not None else None,
                "shed_grace_ms": shed_grace * 1000,
            }
            log.info("serving", extra={"fields": fields})
            if ready is not None:
                ready.set()
            closed = True
            return await _serve_until_stopped(server, engine, health_servicer, signals, grace)
        finally:
            if http is not None:
                http.shutdown()
            if not closed:
                await server.stop(None)
                await _close_quietly(engine)


async def _serve_until_stopped(
    server: Any, engine: EngineLike, health_servicer: Any, signals: _Signals, grace: float
) -> int:
    fatal = engine.fatal
    stop_wait = asyncio.ensure_future(signals.stop.wait())
    await asyncio.wait((stop_wait, fatal), return_when=asyncio.FIRST_COMPLETED)
    stop_wait.cancel()
    if fatal.done():
        return await _stop_on_fatal(server, engine, health_servicer, fatal)

    await health_servicer.enter_graceful_shutdown()
    stopping = asyncio.ensure_future(server.stop(grace))
    await asyncio.sleep(0)  # let the stop begin: no new calls from here on
    log.info("draining calls in flight", extra={"fields": {"grace_s": grace}})
    force_wait = asyncio.ensure_future(signals.force.wait())
    await asyncio.wait((stopping, fatal, force_wait), return_when=asyncio.FIRST_COMPLETED)
    force_wait.cancel()
    if fatal.done():
        code = await _stop_on_fatal(server, engine, health_servicer, fatal)
        await stopping
        return code
    if not stopping.done():  # a second signal
        await server.stop(None)
    await stopping
    await _settle_rpc_tasks()
    try:
        await engine.close()
    except Exception:
        log.exception("closing the engine failed")
        return EXIT_FAILURE
    log.info("stopped")
    return EXIT_OK


async def _stop_on_fatal(
    server: Any, engine: EngineLike, health_servicer: Any, fatal: asyncio.Future[None]
) -> int:
    """The durable store failed: acknowledge nothing more, stop now."""
    error = None if fatal.cancelled() else fatal.exception()
    log.critical(
        "durable store failed; stopping without acknowledging anything more",
        exc_info=error,
    )
    await health_servicer.enter_graceful_shutdown()
    await server.stop(None)
    await _settle_rpc_tasks()
    await _close_quietly(engine)
    return EXIT_FAILURE


async def _settle_rpc_tasks(timeout: float = 1.0) -> None:
    """Let the tasks of finished calls run to their end before the loop is torn down.

    ``server.stop()`` returns once gRPC core has no live call, while the Python tasks of
    those calls may still have code to run (logging, releasing the call); cancelling them
    at interpreter exit instead is where gRPC's native code is least safe.
    """
    current = asyncio.current_task()
    pending = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
    if pending:
        _, still = await asyncio.wait(pending, timeout=timeout)
        if still:
            log.warning("%d tasks still running after the server stopped", len(still))


async def _close_quietly(engine: EngineLike) -> None:
    try:
        await asyncio.wait_for(engine.close(), FATAL_CLOSE_TIMEOUT)
    except Exception as exc:
        log.warning("closing the engine failed: %r", exc)


def serve_main(args: argparse.Namespace) -> int:
    """``multimargin serve``: run the server until SIGTERM/SIGINT; returns the exit code.

    The settings are those of :func:`multimargin.config.resolve`: defaults, the
    ``--config`` file, ``MULTIMARGIN_*`` environment variables, then the flags given.
    """
    try:
        cfg = config.resolve(getattr(args, "config", None), flags=vars(args))
    except config.ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    configure_logging(cfg["logging.level"])
    try:
        return _serve(cfg)
    finally:
        shutdown_logging()  # write what is queued; report dropped records


class RefusedOptions(ValueError):
    """``serve`` options that must not be combined, or that would serve unsafely."""


def access_of(cfg: dict[str, Any]) -> tuple[Guard, Tls | None]:
    """The guard and TLS that ``serve``'s access options ask for; :class:`RefusedOptions`
    when they are inconsistent or unsafe, :class:`PrincipalsError` or OSError when a file
    cannot be used.

    Authentication is mandatory: ``--auth FILE`` (principals), or ``--insecure-no-auth``,
    which serves every call as an anonymous operator and only on a loopback address.
    """
    auth = Path(cfg["auth.principals"]) if cfg["auth.principals"] else None
    insecure = cfg["auth.insecure_no_auth"]
    cert, key, client_ca = cfg["tls.cert"], cfg["tls.key"], cfg["tls.client_ca"]
    listen = cfg["server.listen"]
    if auth is not None and insecure:
        raise RefusedOptions("--auth and --insecure-no-auth exclude each other")
    if auth is None and not insecure:
        raise RefusedOptions(
            "refusing to serve without authentication: pass --auth FILE (principals, made with "
            "`multimargin principal add`), or --insecure-no-auth on a loopback address"
        )
    if insecure and not is_loopback(listen):
        raise RefusedOptions(f"--insecure-no-auth is refused on {listen}: it needs a loopback address")
    if (cert is None) != (key is None):
        raise RefusedOptions("--tls-cert and --tls-key go together")
    if client_ca is not None and cert is None:
        raise RefusedOptions("--tls-client-ca (mutual TLS) needs --tls-cert and --tls-key")
    tls = (
        Tls.from_files(Path(cert), Path(key), Path(client_ca) if client_ca else None)
        if cert is not None and key is not None
        else None
    )
    principals = load_principals(auth) if auth is not None else None
    rate = cfg["limits.rate_limit"]
    burst = cfg["limits.rate_burst"] or rate
    max_streams = cfg["limits.max_streams"]
    guard = Guard(principals, contract_rpcs(), rate=rate, burst=burst, max_streams=max_streams)
    if principals is not None and tls is None and not is_loopback(listen):
        log.warning("bearer tokens travel in clear text: serve TLS (--tls-cert) or terminate it in front")
    return guard, tls


def _serve(cfg: dict[str, Any]) -> int:
    try:
        guard, tls = access_of(cfg)
    except RefusedOptions as exc:
        log.error("refused to start: %s", exc)
        return EXIT_INPUT
    except (PrincipalsError, OSError) as exc:
        log.error("cannot start: %s", exc)
        return EXIT_INPUT if isinstance(exc, PrincipalsError) else EXIT_FAILURE
    if guard.principals is not None:
        log.info("principals loaded", extra={"fields": {"principals": len(guard.principals)}})
    rulebook_json = None
    if cfg["server.rulebook"] is not None:
        try:
            rulebook_json = Path(cfg["server.rulebook"]).read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            log.error("cannot read the rulebook %s: %s", cfg["server.rulebook"], exc)
            return EXIT_FAILURE
    if cfg["store.url"] is not None:
        from multimargin.cluster.serve import serve_cluster

        return serve_cluster(cfg, guard, tls, rulebook_json)
    try:
        with asyncio.Runner() as runner:
            return runner.run(
                run_server(
                    cfg["server.listen"],
                    Path(cfg["server.data_dir"]),
                    rulebook_json,
                    cfg["server.demo"],
                    grace=cfg["server.grace"],
                    clock=cfg["server.clock"],
                    max_in_flight=cfg["limits.max_in_flight"],
                    max_queue_delay=cfg["limits.max_queue_delay_ms"] / 1000,
                    max_loop_busy=cfg["limits.max_loop_busy_ms"] / 1000,
                    shed_grace=cfg["limits.shed_grace_ms"] / 1000,
                    init_store=cfg["server.init_store"],
                    metrics_listen=cfg["metrics.listen"],
                    guard=guard,
                    tls=tls,
                    max_message_bytes=cfg["limits.max_message_bytes"],
                )
            )
    except MarginError as exc:
        fields = {"reason": exc.reason, "field": exc.field}
        log.error("refused to start: %s", exc, extra={"fields": fields})
        return EXIT_INPUT
    except (ListenError, StoreError, OSError) as exc:
        log.error("cannot start: %s", exc)
        return EXIT_FAILURE
    except KeyboardInterrupt:  # before the signal handlers were installed
        return EXIT_OK
    except Exception:
        log.exception("the server failed")
        return EXIT_FAILURE


__all__ = [
    "DEFAULT_GRACE",
    "MAX_RECEIVE_MESSAGE_BYTES",
    "ListenError",
    "RefusedOptions",
    "Tls",
    "access_of",
    "is_loopback",
    "make_server",
    "run_server",
    "serve_main",
]
