"""A typed Python client of the multimargin gRPC service.

>>> from decimal import Decimal
>>> from multimargin.client import Client
>>> with Client("127.0.0.1:50051") as c:                        # doctest: +SKIP
...     c.create_account("alice", "FUTURES")
...     c.transfer_in("alice", "USDT", Decimal("1000"))
...     c.get_account("alice").risk.pools[0].available
Decimal('1000')

* **Numbers.** Amounts, prices and ratios go in as :class:`~decimal.Decimal`, decimal
  strings or ints, and travel as SPEC §1 strings; a ``float`` (or ``bool``) is refused
  with :class:`TypeError`, since binary floating point cannot hold money exactly.
* **Results** are frozen dataclasses of :mod:`multimargin.results` with ``Decimal``
  fields: every account is an :class:`~multimargin.results.Account`, every risk
  evaluation a :class:`~multimargin.results.RiskSummary`. A mutation that only changes
  the account returns the account; one that also reports figures returns an object
  with ``.account`` and those figures (:class:`~multimargin.results.Transferred`, ...).
* **Errors.** Every failure raises a :class:`multimargin.MarginError` subclass, never a
  raw ``grpc.RpcError``: refusals the class of their SPEC §11 row, with ``reason`` and
  ``field`` from the status's ``google.rpc.ErrorInfo`` (the same classes and text as the
  library raises locally); failures in transit :class:`~multimargin.errors.UnavailableError`
  (:class:`~multimargin.errors.DeadlineExceededError`,
  :class:`~multimargin.errors.OverloadedError`).
* **Credentials.** ``token`` (from ``multimargin principal add``) is sent on every call
  as ``authorization: Bearer <token>``; ``tls=True`` or ``root_certificates`` use TLS,
  ``private_key`` and ``certificate_chain`` (PEM bytes) mutual TLS
  (:func:`multimargin.client.auth.secure_channel`).
* **Deadline.** ``timeout`` (5 s) bounds each call, retries included;
  ``attempt_timeout`` optionally bounds each attempt.
* **Retries.** Every mutation carries a ``request_id`` (a UUID unless given) that the
  client keeps across its own retries, so a retried mutation is applied at most once
  (the server answers a repeat from its journal). Retried, up to ``retries`` times with
  exponential backoff and jitter while the deadline allows: UNAVAILABLE (server down or
  restarting), RESOURCE_EXHAUSTED (the server shed the call), CANCELLED (a draining
  server cancelled it) and an attempt's own DEADLINE_EXCEEDED.
* **Events.** :meth:`~multimargin.client.events.EventCalls.watch_events` iterates the
  SPEC §8 events (:class:`~multimargin.results_liability.Event`), resuming by itself
  after a restart or a slow-subscriber end, each event once and in order.
"""

from __future__ import annotations

from multimargin.client.accounts import AccountCalls
from multimargin.client.base import Amount
from multimargin.client.events import EventCalls, EventStream
from multimargin.client.funds import ALL, FundsCalls
from multimargin.client.operator import OperatorCalls
from multimargin.client.risk import RiskCalls
from multimargin.client.trading import TradingCalls
from multimargin.errors import MarginError, UnavailableError
from multimargin.results import Account, AccountView, OrderCheck, RiskSummary
from multimargin.results_liability import Event, HistoryEntry
from multimargin.transport import error_from


class Client(AccountCalls, FundsCalls, TradingCalls, RiskCalls, OperatorCalls, EventCalls):
    """A blocking client over one channel (see the module documentation); one method per
    RPC, grouped by service (:mod:`multimargin.client.accounts`, ``funds``, ``trading``,
    ``risk``, ``operator``, ``events``).

    ``timeout``, ``attempt_timeout``, ``retries``, ``backoff`` and ``max_backoff`` are
    those of :class:`~multimargin.transport.RetryPolicy`.
    """


__all__ = [
    "ALL",
    "Account",
    "AccountView",
    "Amount",
    "Client",
    "Event",
    "EventStream",
    "HistoryEntry",
    "MarginError",
    "OrderCheck",
    "RiskSummary",
    "UnavailableError",
    "error_from",
]
