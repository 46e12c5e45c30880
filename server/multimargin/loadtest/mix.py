"""The RPCs ``multimargin loadtest`` can send, and the ``--mix`` and duration syntax.

>>> parse_mix("CheckOrder=8,GetRiskSummary=1,TransferIn=1")
{'CheckOrder': 8, 'GetRiskSummary': 1, 'TransferIn': 1}
>>> parse_mix("Health=1")
{'Health/Check': 1}
>>> parse_duration("1m30s"), parse_duration("500ms"), parse_duration("2")
(90.0, 0.5, 2.0)
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Rpc:
    """One RPC of the mix: its full gRPC method, and whether it takes a fresh request_id."""

    method: str
    mutating: bool
    per_account: bool


#: Every RPC a mix may name. Requests are built per account by
#: :func:`multimargin.loadtest.accounts.requests_for`.
RPCS: dict[str, Rpc] = {
    "CheckOrder": Rpc("multimargin.v1.TradingService/CheckOrder", mutating=False, per_account=True),
    "GetRiskSummary": Rpc("multimargin.v1.RiskService/GetRiskSummary", mutating=False, per_account=True),
    "GetAccount": Rpc("multimargin.v1.AccountService/GetAccount", mutating=False, per_account=True),
    "TransferIn": Rpc("multimargin.v1.FundsService/TransferIn", mutating=True, per_account=True),
    "GetPrices": Rpc("multimargin.v1.MarketDataService/GetPrices", mutating=False, per_account=False),
    "Health/Check": Rpc("grpc.health.v1.Health/Check", mutating=False, per_account=False),
}
_ALIASES = {"Health": "Health/Check", "Check": "Health/Check", "health": "Health/Check"}

#: The .proto files (under the package's ``proto/`` folder) that declare the RPCs above.
PROTO_FILES = (
    "multimargin/v1/account_service.proto",
    "multimargin/v1/funds_service.proto",
    "multimargin/v1/trading_service.proto",
    "multimargin/v1/risk_service.proto",
    "multimargin/v1/market_data_service.proto",
    "grpc/health/v1/health.proto",
)


class MixError(ValueError):
    """A --mix, --duration or similar option that cannot be used."""


def parse_mix(text: str) -> dict[str, int]:
    """``NAME=WEIGHT,...`` (a bare NAME weighs 1) → {canonical name: weight}, in the given order."""
    mix: dict[str, int] = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        name, _, weight_text = part.partition("=")
        name = _ALIASES.get(name.strip(), name.strip())
        if name not in RPCS:
            known = ", ".join(RPCS)
            raise MixError(f"--mix: unknown RPC {name!r} (known: {known})")
        try:
            weight = int(weight_text) if weight_text else 1
        except ValueError:
            raise MixError(f"--mix: the weight of {name} must be a whole number: {weight_text!r}") from None
        if weight < 0:
            raise MixError(f"--mix: the weight of {name} must be >= 0")
        mix[name] = mix.get(name, 0) + weight
    mix = {name: weight for name, weight in mix.items() if weight > 0}
    if not mix:
        raise MixError("--mix: name at least one RPC with a weight > 0, e.g. CheckOrder=8,TransferIn=2")
    return mix


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Seconds of ``30s``, ``1m30s``, ``500ms`` or a plain number of seconds."""
    text = text.strip()
    try:
        seconds = float(text)
    except ValueError:
        pos, seconds = 0, 0.0
        for match in _DURATION.finditer(text):
            if match.start() != pos:
                break
            seconds += float(match.group(1)) * _UNITS[match.group(2)]
            pos = match.end()
        if pos != len(text) or not text:
            raise MixError(f"not a duration: {text!r} (e.g. 30s, 1m30s, 500ms)") from None
    if seconds < 0:
        raise MixError(f"not a duration: {text!r}")
    return seconds
