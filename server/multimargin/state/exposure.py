"""Which accounts a price moves: an index from each asset and contract to the accounts
whose figures depend on its price, kept up to date as accounts change, so that a price
update re-evaluates only those (SPEC §8, "each affected account")."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from multimargin.state.model import AccountState


def references(a: AccountState, contracts: dict[str, Any]) -> frozenset[str]:
    """The prices an account's figures depend on: ``a:ASSET`` index prices and
    ``s:SYMBOL`` marks."""
    if a.futures is not None:
        symbols = set(a.f.positions) | {o.symbol for o in a.f.orders.values()}
        # Requirements and upnl are valued at the settlement asset's price (SPEC §5.2).
        assets = set(a.f.wallet) | {contracts[s]["settlement"] for s in symbols}
    else:
        assets = set(a.m.holdings) | set(a.m.borrowed) | set(a.m.interest)
        assets |= {x for o in a.m.orders.values() for x in (o.base, o.quote)}
        symbols = set()
    return frozenset({f"a:{x}" for x in assets} | {f"s:{s}" for s in symbols})


class Exposure:
    """Price key → ids of the accounts that reference it."""

    def __init__(self) -> None:
        self._by_key: defaultdict[str, set[str]] = defaultdict(set)
        self._refs: dict[str, frozenset[str]] = {}

    def update(self, a: AccountState, contracts: dict[str, Any]) -> None:
        """Re-indexes one (changed or new) account."""
        new = references(a, contracts)
        old = self._refs.get(a.account_id, frozenset())
        if new == old:
            return
        for key in old - new:
            self._by_key[key].discard(a.account_id)
        for key in new - old:
            self._by_key[key].add(a.account_id)
        self._refs[a.account_id] = new

    def rebuild(self, accounts: Iterable[AccountState], contracts: dict[str, Any]) -> None:
        self._by_key.clear()
        self._refs.clear()
        for a in accounts:
            self.update(a, contracts)

    def exposed(self, assets: Iterable[str], symbols: Iterable[str]) -> set[str]:
        """Ids of the accounts whose figures depend on any of these prices."""
        out: set[str] = set()
        for key in [f"a:{x}" for x in assets] + [f"s:{s}" for s in symbols]:
            out |= self._by_key.get(key, set())
        return out
