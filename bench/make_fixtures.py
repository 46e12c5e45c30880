"""Writes the benchmark fixtures (bench/fixtures/*.json): a rulebook with 10 assets and
20 linear contracts, a MULTI_ASSET futures account (10 assets, 20 positions) and a PRO
margin account (10 assets, 5 loans). Deterministic; re-run after changing it.

    python bench/make_fixtures.py
"""

from __future__ import annotations

import json
from pathlib import Path

OUT = Path(__file__).resolve().parent / "fixtures"

ASSETS = {
    # code: (price, collateral tiers, haircut tiers, discount, borrow tiers or None)
    "USDT": ("1", [[None, "1"]], [[None, "1"]], "1", [["1000000", "0.1112", "0.03"], [None, "0.2", "0.05"]]),
    "USDC": ("0.9998", [[None, "1"]], [[None, "1"]], "0.999", [["1000000", "0.1112", "0.03"]]),
    "BTC": (
        "64123.45",
        [["1", "0.975"], ["5", "0.97"], ["10", "0.965"], ["50", "0.96"], ["100", "0.85"]],
        [["100000000", "1"], ["120000000", "0.975"], [None, "0.9"]],
        "0.95",
        [["50000", "0.1112", "0.05"], ["100000", "0.1429", "0.07"], [None, "0.2", "0.08"]],
    ),
    "ETH": (
        "3123.4",
        [["100", "0.9"], ["200", "0.8"], ["300", "0.7"], ["400", "0.6"]],
        [["50000000", "1"], [None, "0.9"]],
        "0.9",
        [["30000", "0.1112", "0.05"], [None, "0.1429", "0.07"]],
    ),
    "SOL": (
        "151.27",
        [["1000", "0.85"], ["5000", "0.75"], [None, "0.5"]],
        [["1000000", "0.95"], [None, "0.8"]],
        "0.85",
        [["20000", "0.1112", "0.05"], ["200000", "0.25", "0.1"]],
    ),
    "XRP": (
        "0.6123",
        [["100000", "0.8"], ["500000", "0.7"]],
        [["500000", "0.9"], [None, "0.7"]],
        "0.8",
        None,
    ),
    "DOGE": (
        "0.1234",
        [["1000000", "0.7"], ["5000000", "0.5"]],
        [["100000", "0.9"], [None, "0.7"]],
        "0.7",
        None,
    ),
    "ADA": ("0.4567", [["200000", "0.8"], [None, "0.6"]], [["200000", "0.9"], [None, "0.6"]], "0.8", None),
    "LINK": ("14.56", [["5000", "0.85"], [None, "0.7"]], [["300000", "0.9"], [None, "0.7"]], "0.8", None),
    "MX": (
        "3.21",
        [["10000", "0.95"], ["20000", "0.8"], ["30000", "0.7"]],
        [["100000", "0.8"], [None, "0.3"]],
        "0.8",
        None,
    ),
}

BASES = ["BTC", "ETH", "SOL", "XRP", "DOGE", "ADA", "LINK", "MX", "AVAX", "DOT"]
MARK = {
    "BTC": "64200",
    "ETH": "3130",
    "SOL": "150.9",
    "XRP": "0.6131",
    "DOGE": "0.1237",
    "ADA": "0.4571",
    "LINK": "14.61",
    "MX": "3.19",
    "AVAX": "36.2",
    "DOT": "7.31",
}


def rulebook() -> dict[str, object]:
    assets: dict[str, object] = {}
    for code, (_, coll, hc, disc, borrow) in ASSETS.items():
        a: dict[str, object] = {"collateral_tiers": coll, "haircut_tiers": hc, "discount": disc}
        if code in ("USDT", "USDC", "BTC", "ETH"):
            a["liability"] = {
                "hourly_rate": "0.00000417",
                "interest_free": "0",
                "mmr": "0.02",
                "auto_repay_threshold": "1000000",
                "auto_repay_ratio": "0.5",
            }
        if borrow:
            a["borrow"] = {
                "enabled": True,
                "hourly_rate": "0.0000045",
                "classic_limit": "5000000",
                "pro_tiers": borrow,
            }
        assets[code] = a
    contracts = {}
    for base in BASES:
        for quote in ("USDT", "USDC"):
            contracts[base + quote] = {
                "settlement": quote,
                "kind": "LINEAR",
                "category": "STANDARD",
                "risk_tiers": [
                    ["50000", "0.004", 125],
                    ["250000", "0.005", 100],
                    ["1000000", "0.01", 50],
                    ["5000000", "0.025", 20],
                    [None, "0.05", 10],
                ],
            }
    return {"assets": assets, "contracts": contracts, "settings": {}}


def futures_scenario() -> dict[str, object]:
    wallet = {
        "USDT": "150000",
        "USDC": "-20000.5",
        "BTC": "7.31",
        "ETH": "250.125",
        "SOL": "3200",
        "XRP": "150000",
        "DOGE": "2500000",
        "ADA": "90000",
        "LINK": "4000",
        "MX": "25000",
    }
    positions = []
    for i, base in enumerate(BASES):
        for j, quote in enumerate(("USDT", "USDC")):
            mark = float(MARK[base])
            size = round((50000 + 7919 * i + 3001 * j) / mark, 4) * (1 if (i + j) % 2 == 0 else -1)
            entry = f"{mark * (1.01 if size > 0 else 0.99):.4f}"
            positions.append(
                {
                    "symbol": base + quote,
                    "size": f"{size:.4f}",
                    "entry_price": entry,
                    "leverage": 5 + (i * 3 + j) % 20,
                }
            )
    return {
        "prices": {code: p[0] for code, p in ASSETS.items() if code != "USDT"},
        "marks": {base + q: MARK[base] for base in BASES for q in ("USDT", "USDC")},
        "account": {
            "kind": "FUTURES",
            "mode": "MULTI_ASSET",
            "region": "JP",
            "wallet": wallet,
            "positions": positions,
            "orders": [],
        },
    }


def margin_scenario() -> dict[str, object]:
    holdings = {
        "USDT": "250000",
        "USDC": "120000",
        "BTC": "4.5",
        "ETH": "80",
        "SOL": "2500",
        "XRP": "100000",
        "DOGE": "900000",
        "ADA": "70000",
        "LINK": "3000",
        "MX": "15000",
    }
    borrowed = {"USDT": "200000", "USDC": "90000", "BTC": "1.25", "ETH": "30", "SOL": "900"}
    interest = {"USDT": "12.5", "USDC": "4.05", "BTC": "0.0004", "ETH": "0.0123", "SOL": "0.31"}
    return {
        "prices": {code: p[0] for code, p in ASSETS.items() if code != "USDT"},
        "marks": {},
        "account": {
            "kind": "MARGIN",
            "mode": "PRO",
            "region": "DE",
            "holdings": holdings,
            "borrowed": borrowed,
            "interest": interest,
            "orders": [],
        },
    }


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for name, doc in [
        ("rulebook", rulebook()),
        ("futures_multi", futures_scenario()),
        ("margin_pro", margin_scenario()),
    ]:
        (OUT / f"{name}.json").write_text(json.dumps(doc, indent=1) + "\n", "utf-8")


if __name__ == "__main__":
    main()
