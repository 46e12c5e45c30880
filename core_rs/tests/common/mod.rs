//! A small rulebook and builders shared by the liability tests.
#![allow(dead_code)]

use multimargin_core::account::{Account, Form, Market};
use multimargin_core::decimal::Dec;
use multimargin_core::rulebook::{AssetId, Rulebook};
use serde_json::{json, Value};

/// USDT (futures liability: 0.00001/h, interest-free 100, threshold 50,000, ratio 0.5;
/// borrowable), USDC (borrowable at 0.00001/h, the §7.1 example), BTC (discount
/// `btc_discount`), ALT (collateral 1 but discount 0.5: a payer that loses value when
/// it pays). Payer order: BTC, ALT, USDC, USDT.
pub fn rulebook_json(btc_discount: &str) -> Value {
    let borrow = |rate: &str| {
        json!({"enabled": true, "hourly_rate": rate, "classic_limit": "10000000",
               "pro_tiers": [["100000000", "0.1112", "0.03"], [null, "0.2", "0.05"]]})
    };
    json!({
        "assets": {
            "USDT": {"collateral_tiers": [[null, "1"]], "haircut_tiers": [[null, "1"]], "discount": "1",
                     "liability": {"hourly_rate": "0.00001", "interest_free": "100", "mmr": "0.01",
                                   "auto_repay_threshold": "50000", "auto_repay_ratio": "0.5"},
                     "borrow": borrow("0.000005")},
            "USDC": {"collateral_tiers": [[null, "1"]], "haircut_tiers": [[null, "1"]], "discount": "1",
                     "liability": {"hourly_rate": "0.00001", "interest_free": "0", "mmr": "0.01",
                                   "auto_repay_threshold": "50000", "auto_repay_ratio": "0"},
                     "borrow": borrow("0.00001")},
            "BTC": {"collateral_tiers": [[null, "0.95"]], "haircut_tiers": [[null, "0.95"]],
                    "discount": btc_discount, "borrow": borrow("0.000002")},
            "ALT": {"collateral_tiers": [[null, "1"]], "haircut_tiers": [[null, "1"]], "discount": "0.5"}
        },
        "contracts": {
            "BTCUSDT": {"settlement": "USDT", "kind": "LINEAR", "category": "STANDARD",
                        "risk_tiers": [["1000000", "0.005", 100], [null, "0.01", 50]]}
        },
        "settings": {"payer_order": ["BTC", "ALT", "USDC", "USDT"]}
    })
}

pub fn rulebook(btc_discount: &str) -> Rulebook {
    Rulebook::from_json(&rulebook_json(btc_discount)).unwrap()
}

pub fn d(s: &str) -> Dec {
    s.parse().unwrap()
}

pub fn id(rb: &Rulebook, code: &str) -> AssetId {
    rb.asset_id(code).unwrap()
}

pub fn market(rb: &Rulebook, prices: Value) -> Market {
    Market::from_json(rb, Some(&prices), Some(&json!({"BTCUSDT": "60000"}))).unwrap()
}

pub fn account(rb: &Rulebook, v: Value) -> Account {
    Account::from_json(rb, &v, Form::State).unwrap()
}

pub fn wallet(a: &Account, rb: &Rulebook, code: &str) -> Dec {
    match a {
        Account::Futures(f) => f.wallet[id(rb, code)],
        Account::Margin(m) => m.holdings[id(rb, code)],
    }
}

pub fn margin_parts(a: &Account, rb: &Rulebook, code: &str) -> (Dec, Dec, Dec) {
    match a {
        Account::Margin(m) => {
            let i = id(rb, code);
            (m.holdings[i], m.borrowed[i], m.interest[i])
        }
        Account::Futures(_) => panic!("not a margin account"),
    }
}
