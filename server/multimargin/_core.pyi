"""Typed surface of the Rust extension ``multimargin._core``."""

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Final, Literal, final

_JsonInput = Mapping[str, Any] | str
_DecimalInput = str | Decimal
_RangeName = Literal["signed_quantity", "quantity", "amount", "price", "ratio", "rate"]

__all__ = [
    "REASONS",
    "Account",
    "Market",
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
    def to_dict(self) -> dict[str, Any]: ...
    def to_json(self) -> str: ...
    def evaluate(self, account: Account, market: Market) -> dict[str, Any]: ...
    def evaluate_many(self, accounts: Sequence[Account], market: Market) -> list[dict[str, Any]]: ...
    def explain(self, account: Account, market: Market) -> dict[str, Any]: ...
    def check_order(
        self, account: Account, market: Market, order: Mapping[str, Any]
    ) -> dict[str, Any]: ...
    def check_mode_switch(
        self, account: Account, market: Market, target: str
    ) -> list[dict[str, str]]: ...
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
    """An account state (SPEC §4, scenario ``account`` object) compiled for a rulebook."""

    def __new__(cls, rulebook: Rulebook, account: _JsonInput) -> Account: ...
    @property
    def kind(self) -> Literal["FUTURES", "MARGIN"]: ...
    @property
    def mode(self) -> Literal["SINGLE_ASSET", "MULTI_ASSET", "CLASSIC", "PRO"]: ...

def evaluate_scenario(
    scenario: _JsonInput, default_rulebook: Rulebook | None = None
) -> dict[str, Any]: ...
def explain_scenario(
    scenario: _JsonInput, default_rulebook: Rulebook | None = None
) -> dict[str, Any]: ...
def check_decimal(value: object, kind: _RangeName, field: str) -> str: ...
def conversion_cost(amount: str, debt_price: str, payer_price: str, discount: str) -> str: ...
def conversion_cover(wallet: str, payer_price: str, discount: str, debt_price: str) -> str: ...
def futures_hourly_interest(debt: str, interest_free: str, hourly_rate: str) -> str: ...
def margin_hourly_interest(principal: str, hourly_rate: str) -> str: ...
