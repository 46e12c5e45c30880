"""Typed surface of the Rust extension ``multimargin._core``."""

from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final, Literal, final, overload

from multimargin.errors import MarginError

_JsonInput = Mapping[str, Any] | str
_DecimalInput = str | Decimal
_RangeName = Literal["signed_quantity", "quantity", "amount", "price", "ratio", "rate"]
# The top-level keys of a SPEC §10 result (futures: pools, liquidatable, max_transfer_out).
_ResultKey = Literal[
    "pools",
    "total_asset_value",
    "total_liability_value",
    "collateral_value",
    "net_collateral",
    "open_order_loss",
    "initial_margin",
    "maintenance_margin",
    "available",
    "margin_level",
    "collateral_margin_level",
    "liquidatable",
    "margin_call",
    "max_borrow",
    "max_transfer_out",
]

__all__ = [
    "REASONS",
    "Account",
    "Market",
    "Result",
    "Results",
    "Rulebook",
    "check_decimal",
    "conversion_cost",
    "conversion_cover",
    "evaluate_scenario",
    "explain_scenario",
    "futures_hourly_interest",
    "margin_hourly_interest",
]

REASONS: Final[list[str]]

@final
class Rulebook:
    """A validated rulebook (SPEC §3), compiled once."""

    def __new__(cls, rulebook: _JsonInput) -> Rulebook: ...
    @property
    def assets(self) -> list[str]: ...
    @property
    def contracts(self) -> list[str]: ...
    def vip_limit(self, asset: str, level: int) -> str | None: ...
    def to_dict(self) -> dict[str, Any]: ...
    def to_json(self) -> str: ...
    def evaluate(self, account: Account, market: Market) -> dict[str, Any]: ...
    @overload
    def evaluate_many(
        self,
        accounts: Sequence[Account],
        market: Market,
        *,
        fields: Sequence[_ResultKey] | None = None,
        errors: Literal["raise"] = "raise",
    ) -> list[dict[str, Any]]: ...
    @overload
    def evaluate_many(
        self,
        accounts: Sequence[Account],
        market: Market,
        *,
        fields: Sequence[_ResultKey] | None = None,
        errors: Literal["return"],
    ) -> list[dict[str, Any] | MarginError]: ...
    def evaluate_batch(
        self,
        accounts: Sequence[Account],
        market: Market,
        *,
        fields: Sequence[_ResultKey] | None = None,
        errors: Literal["raise", "return"] = "raise",
    ) -> Results: ...
    def explain(self, account: Account, market: Market) -> dict[str, Any]: ...
    def check_order(self, account: Account, market: Market, order: Mapping[str, Any]) -> dict[str, Any]: ...
    def check_mode_switch(self, account: Account, market: Market, target: str) -> list[dict[str, str]]: ...
    def check_classic_leverage(
        self, account: Account, market: Market, leverage: int
    ) -> list[dict[str, str]]: ...
    def check_copy_trading_on(self, account: Account) -> list[dict[str, str]]: ...

@final
class Market:
    """Index and mark prices compiled against a rulebook."""

    def __new__(
        cls,
        rulebook: Rulebook,
        prices: Mapping[str, _DecimalInput] | None = None,
        marks: Mapping[str, _DecimalInput] | None = None,
    ) -> Market: ...
    def prices(self) -> dict[str, str]: ...
    def marks(self) -> dict[str, str]: ...

@final
class Account:
    """An account state (SPEC §4) compiled for a rulebook.

    ``Account(rulebook, account)`` takes a SPEC §10 scenario ``account`` object and
    refuses any other key (``InvalidInputError``, field = the key's path; ``_`` keys are
    comments). ``Account.from_state`` is the engine's form: it also takes ``status``,
    ``sub_account``, ``copy_trading`` (futures) and ``pro_terms_accepted`` (margin).
    """

    def __new__(cls, rulebook: Rulebook, account: _JsonInput) -> Account: ...
    @staticmethod
    def from_state(rulebook: Rulebook, state: _JsonInput) -> Account: ...
    @property
    def kind(self) -> Literal["FUTURES", "MARGIN"]: ...
    @property
    def mode(self) -> Literal["SINGLE_ASSET", "MULTI_ASSET", "CLASSIC", "PRO"]: ...

@final
class Results:
    """The outcome of ``Rulebook.evaluate_batch``: one slot per account, in order.

    A slot is a :class:`Result`, or (``errors="return"``) the ``MarginError`` of an
    account that failed. Figures become Python objects only when read.
    """

    def __len__(self) -> int: ...
    def __getitem__(self, key: int, /) -> Result | MarginError: ...
    def __iter__(self) -> Iterator[Result | MarginError]: ...
    def column(self, field: _ResultKey) -> list[Any]: ...
    def errors(self) -> list[tuple[int, MarginError]]: ...
    def to_dicts(self) -> list[dict[str, Any] | MarginError]: ...

@final
class Result:
    """One account's SPEC §10 result, read on demand (``fields`` limits the mapping view)."""

    @property
    def kind(self) -> Literal["FUTURES", "MARGIN"]: ...
    @property
    def liquidatable(self) -> bool: ...
    @property
    def margin_call(self) -> bool | None: ...
    @property
    def margin_level(self) -> str | None: ...
    def keys(self) -> list[str]: ...
    def __getitem__(self, key: str, /) -> Any: ...
    def __contains__(self, key: str, /) -> bool: ...
    def get(self, key: str) -> Any: ...
    def to_dict(self) -> dict[str, Any]: ...

def evaluate_scenario(scenario: _JsonInput, default_rulebook: Rulebook | None = None) -> dict[str, Any]: ...
def explain_scenario(scenario: _JsonInput, default_rulebook: Rulebook | None = None) -> dict[str, Any]: ...
def check_decimal(value: object, kind: _RangeName, field: str) -> str: ...
def conversion_cost(amount: str, debt_price: str, payer_price: str, discount: str) -> str: ...
def conversion_cover(wallet: str, payer_price: str, discount: str, debt_price: str) -> str: ...
def futures_hourly_interest(debt: str, interest_free: str, hourly_rate: str) -> str: ...
def margin_hourly_interest(principal: str, hourly_rate: str) -> str: ...
