"""The engine's whole state as one canonical document: what a snapshot stores and what
the state hash is taken over (SPEC §9's "replay reproduces state").

Keys that later versions added are written only when they differ from what an older
state meant, so that older states keep their hashes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from multimargin.state.model import AccountState, canonical_json
from multimargin.store import Snapshot, StoreError

#: The ``format`` of the document.
SNAPSHOT_STATE_VERSION = 1


@dataclass
class StateDocument:
    """Everything the engine's state is: rulebook, prices, settlement, accounts."""

    rulebook_json: str
    rulebook_version: int
    index_prices: dict[str, str]
    mark_prices: dict[str, str]
    prices_version: int
    settled_through: int
    accounts: dict[str, AccountState]

    def to_dict(self) -> dict[str, Any]:
        """The canonical document (accounts in id order)."""
        return {
            "format": SNAPSHOT_STATE_VERSION,
            "rulebook": self.rulebook_json,
            # Written from the second version on, so that older states hash as before.
            **({"rulebook_version": self.rulebook_version} if self.rulebook_version > 1 else {}),
            "index_prices": self.index_prices,
            "mark_prices": self.mark_prices,
            "prices_version": self.prices_version,
            **({"settled_through": self.settled_through} if self.settled_through else {}),
            "accounts": [self.accounts[i].canonical() for i in sorted(self.accounts)],
        }

    def hash(self) -> str:
        """sha256 of the canonical document, hex: equal hashes mean equal states."""
        return hashlib.sha256(canonical_json(self.to_dict())).hexdigest()

    def snapshot(self, seq: int) -> Snapshot:
        """The snapshot of this state as of journal ``seq``."""
        state = canonical_json(self.to_dict())
        return Snapshot(seq=seq, state=state, state_hash=hashlib.sha256(state).digest())

    @classmethod
    def from_snapshot(cls, snapshot: Snapshot) -> StateDocument:
        """The state a snapshot holds; StoreError when its format is unknown or its bytes
        do not match its hash."""
        doc = json.loads(snapshot.state)
        if doc.get("format") != SNAPSHOT_STATE_VERSION:
            raise StoreError(f"snapshot at seq {snapshot.seq} has an unknown format {doc.get('format')!r}")
        if hashlib.sha256(canonical_json(doc)).digest() != snapshot.state_hash:
            raise StoreError(f"snapshot at seq {snapshot.seq} does not match its state hash")
        return cls(
            rulebook_json=doc["rulebook"],
            rulebook_version=doc.get("rulebook_version", 1),
            index_prices=doc["index_prices"],
            mark_prices=doc["mark_prices"],
            prices_version=doc["prices_version"],
            settled_through=doc.get("settled_through", 0),
            accounts={a["account_id"]: AccountState.from_canonical(a) for a in doc["accounts"]},
        )


__all__ = ["SNAPSHOT_STATE_VERSION", "StateDocument"]
