"""The gRPC service of multimargin: thin — take the request, call the engine, convert.

* :mod:`~multimargin.service.server` — lifecycle of ``multimargin serve``
  (:func:`run_server`, :func:`serve_main`): health, reflection, graceful shutdown.
* :mod:`~multimargin.service.dispatch` — every RPC of ``proto/multimargin/v1``,
  registered from the service descriptors and forwarded to ``Engine.call``.
* :mod:`~multimargin.service.errors` — the one mapping of engine errors to gRPC
  status + ``google.rpc.ErrorInfo`` (SPEC §11).
* :mod:`~multimargin.service.interceptors` — request ids and per-call JSON logs.
* :mod:`~multimargin.service.logs` — JSON log lines, written off the event loop.
"""

from multimargin.service.server import run_server, serve_main

__all__ = ["run_server", "serve_main"]
