"""Conversions between account state, core results and the wire messages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from multimargin.errors import InvalidInputError
from multimargin.state.model import AccountState, fmt
from multimargin.v1 import types_pb2 as t

KIND = {"FUTURES": t.ACCOUNT_KIND_FUTURES, "MARGIN": t.ACCOUNT_KIND_MARGIN}
KIND_NAME = {v: k for k, v in KIND.items()}
MODE = {
    "SINGLE_ASSET": t.ACCOUNT_MODE_SINGLE_ASSET,
    "MULTI_ASSET": t.ACCOUNT_MODE_MULTI_ASSET,
    "CLASSIC": t.ACCOUNT_MODE_CLASSIC,
    "PRO": t.ACCOUNT_MODE_PRO,
}
MODE_NAME = {v: k for k, v in MODE.items()}
STATUS = {"ACTIVE": t.ACCOUNT_STATUS_ACTIVE, "LIQUIDATING": t.ACCOUNT_STATUS_LIQUIDATING}
SIDE_NAME = {t.SIDE_BUY: "BUY", t.SIDE_SELL: "SELL"}
SIDE = {v: k for k, v in SIDE_NAME.items()}
LEDGER_KIND_NAME = {
    t.LEDGER_ENTRY_KIND_REALIZED_PNL: "REALIZED_PNL",
    t.LEDGER_ENTRY_KIND_FEE: "FEE",
    t.LEDGER_ENTRY_KIND_FUNDING: "FUNDING",
    t.LEDGER_ENTRY_KIND_TRADE: "TRADE",
}


def enum_name(mapping: Mapping[Any, str], value: int, field: str) -> str:
    """The name of a set enum value; UNSPECIFIED or unknown values are refused."""
    try:
        return mapping[value]
    except KeyError:
        raise InvalidInputError(
            f"must be one of {', '.join(mapping.values())}", "INVALID_ARGUMENT", field
        ) from None


def account_message(a: AccountState) -> t.Account:
    """The wire form of an account."""
    msg = t.Account(
        account_id=a.account_id,
        kind=KIND[a.kind],
        mode=MODE[a.mode],
        region=a.region,
        status=STATUS[a.status],
        version=a.version,
    )
    if a.futures is not None:
        f = a.futures
        msg.flags.sub_account = f.sub_account
        msg.flags.copy_trading = f.copy_trading
        fs = msg.futures
        fs.SetInParent()
        for k, v in sorted(f.wallet.items()):
            if v != 0:
                fs.wallet[k] = fmt(v)
        for _, p in sorted(f.positions.items()):
            fs.positions.add(
                symbol=p.symbol,
                size=fmt(p.size),
                entry_price=fmt(p.entry_price),
                leverage=p.leverage,
                isolated=p.isolated,
                isolated_margin=fmt(p.isolated_margin) if p.isolated else "",
                airdrop=p.airdrop,
            )
        for o in f.orders.values():
            rendered = o.scenario()  # remembered by the order: a large account has many
            om = fs.orders.add(
                order_id=o.order_id,
                symbol=o.symbol,
                side=SIDE[o.side],
                price=rendered["price"],
                quantity=rendered["quantity"],
            )
            if o.leverage is not None:
                om.leverage = o.leverage
    else:
        m = a.m
        ms = msg.margin
        ms.SetInParent()
        for target, source in (
            (ms.holdings, m.holdings),
            (ms.borrowed, m.borrowed),
            (ms.interest, m.interest),
        ):
            for k, v in sorted(source.items()):
                if v != 0:
                    target[k] = fmt(v)
        for mo in m.orders.values():
            rendered = mo.scenario()
            ms.orders.add(
                order_id=mo.order_id,
                base=mo.base,
                quote=mo.quote,
                side=SIDE[mo.side],
                price=rendered["price"],
                quantity=rendered["quantity"],
            )
        ms.classic_leverage = m.classic_leverage
        ms.pro_terms_accepted = m.pro_terms_accepted
        ms.pro_terms_version = m.pro_terms_version
        ms.mcr_classic = fmt(m.mcr_classic)
        ms.mcr_pro = fmt(m.mcr_pro)
        ms.pro_entered = m.pro_entered
        ms.vip_level = m.vip_level
    return msg


def risk_message(result: dict[str, Any], rulebook_version: int = 0) -> t.RiskSummary:
    """The wire form of a SPEC §10 result, computed under ``rulebook_version``."""
    out = t.RiskSummary(rulebook_version=rulebook_version)
    if "pools" in result:
        fr = out.futures
        fr.SetInParent()
        for p in result["pools"]:
            pm = fr.pools.add(
                id=p["id"],
                effective_margin=p["effective_margin"],
                initial_margin=p["initial_margin"],
                maintenance_margin=p["maintenance_margin"],
                available=p["available"],
                liquidatable=p["liquidatable"],
            )
            if p["margin_level"] is not None:
                pm.margin_level = p["margin_level"]
            pm.equity.update(p["equity"])
            pm.value.update(p["value"])
        fr.liquidatable = result["liquidatable"]
        fr.max_transfer_out.update(result["max_transfer_out"])
    else:
        mr = out.margin
        mr.total_asset_value = result["total_asset_value"]
        mr.total_liability_value = result["total_liability_value"]
        mr.collateral_value = result["collateral_value"]
        for key in (
            "net_collateral",
            "open_order_loss",
            "initial_margin",
            "maintenance_margin",
            "available",
            "margin_level",
            "collateral_margin_level",
        ):
            if result.get(key) is not None:
                setattr(mr, key, result[key])
        mr.liquidatable = result["liquidatable"]
        mr.margin_call = result["margin_call"]
        mr.max_borrow.update(result["max_borrow"])
        mr.max_transfer_out.update(result["max_transfer_out"])
    return out
