//! The risk part of `explain` (thresholds, moves to them, binding constraints), checked
//! against `evaluate`: a move lands where the threshold's flag turns on, one 10^-8 step
//! short of it does not; a binding constraint names the limit that equals the maximum.

use multimargin_core::account::{Account, Form, Market};
use multimargin_core::decimal::Dec;
use multimargin_core::explain::explain;
use multimargin_core::explain_risk::PriceInput;
use multimargin_core::result::Evaluation;
use multimargin_core::rulebook::Rulebook;
use multimargin_core::{evaluate, Scenario};
use serde_json::{json, Value};
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn d(s: &str) -> Dec {
    s.parse().unwrap()
}

/// Every example scenario and every vector case that evaluates.
fn scenarios() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for dir in ["examples", "tests/vectors"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        for f in files {
            let v: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
            let name = f.file_name().unwrap().to_string_lossy().to_string();
            match v.get("cases") {
                None => out.push((name, v)),
                Some(cases) => {
                    for c in cases.as_array().unwrap().iter().filter(|c| c.get("expected").is_some()) {
                        let mut s = json!({
                            "rulebook": c.get("rulebook").unwrap_or(&v["rulebook"]),
                            "account": c["account"],
                        });
                        for k in ["prices", "marks"] {
                            if let Some(x) = c.get(k) {
                                s[k] = x.clone();
                            }
                        }
                        out.push((format!("{name}: {}", c["name"]), s));
                    }
                }
            }
        }
    }
    assert!(out.len() > 20);
    out
}

fn default_rulebook() -> Rulebook {
    let text = std::fs::read_to_string(root().join("server/multimargin/rulebooks/default.json")).unwrap();
    Rulebook::from_json_str(&text).unwrap()
}

/// The threshold's flag, from `evaluate` alone.
fn flag(rb: &Rulebook, market: &Market, account: &Account, name: &str) -> bool {
    match evaluate(rb, market, account).unwrap() {
        Evaluation::Futures(r) => {
            let id = name.strip_prefix("liquidation, pool ").unwrap();
            r.pools.iter().find(|p| p.id.name(rb) == id).unwrap().liquidatable
        }
        Evaluation::Margin(r) => match name {
            "margin call" => r.margin_call,
            "liquidation" => r.liquidatable,
            other => panic!("unknown threshold {other}"),
        },
    }
}

fn input(rb: &Rulebook, e: &Value) -> PriceInput {
    let name = e["name"].as_str().unwrap();
    match e["kind"].as_str().unwrap() {
        "index" => PriceInput::Index(rb.asset_id(name).unwrap()),
        _ => PriceInput::Mark(rb.contract_id(name).unwrap()),
    }
}

#[test]
fn every_move_lands_on_its_threshold() {
    let default = default_rulebook();
    let mut moves = 0;
    for (name, v) in scenarios() {
        let Ok(s) = Scenario::from_json(&v, Some(&default)) else { continue };
        let (rb, market, account) = (&*s.rulebook, &s.market, &s.account);
        let Ok(x) = explain(rb, market, account) else { continue };
        let risk = &x["risk"];
        for t in risk["thresholds"].as_array().unwrap() {
            let tname = t["name"].as_str().unwrap();
            assert_eq!(t["reached"], flag(rb, market, account, tname), "{name}: {tname}");
            for (key, toward_current) in [("move_down", 1), ("move_up", -1)] {
                let m = &t[key];
                if m.is_null() {
                    continue;
                }
                let inp = input(rb, &risk["largest_exposure"]);
                let current = d(risk["largest_exposure"]["price"].as_str().unwrap());
                let q = d(m["price"].as_str().unwrap());
                assert!(flag(rb, &inp.with(rb, market, q).unwrap(), account, tname), "{name} {tname} {key}");
                if q != current {
                    let short = Dec::from_units(q.units() + toward_current);
                    let at = inp.with(rb, market, short).unwrap();
                    assert!(!flag(rb, &at, account, tname), "{name} {tname} {key}: reached before {q}");
                    moves += 1;
                } else {
                    assert_eq!(m["move"], "0");
                }
            }
        }
        for key in ["max_borrow", "max_transfer_out"] {
            for b in risk[key].as_array().into_iter().flatten() {
                assert!(!b["binding"].as_array().unwrap().is_empty(), "{name}: {key} {b}");
            }
        }
    }
    assert!(moves >= 5, "only {moves} moves checked");
}

fn rulebook(borrow: Value) -> Rulebook {
    Rulebook::from_json(&json!({
        "assets": {
            "USDT": {"collateral_tiers": [[null, "1"]], "haircut_tiers": [[null, "1"]], "discount": "1",
                     "borrow": borrow},
            "BTC": {"collateral_tiers": [[null, "1"]], "haircut_tiers": [[null, "0.5"]], "discount": "1"}
        },
        "contracts": {
            "BTCUSDT": {"settlement": "USDT", "kind": "LINEAR", "category": "STANDARD",
                        "risk_tiers": [["1000000", "0.005", 100], [null, "0.01", 50]]}
        },
        "settings": {"payer_order": ["USDT", "BTC"]}
    }))
    .unwrap()
}

fn borrow(classic_limit: &str, last_bound: &str, vip: Option<&str>) -> Value {
    let mut b = json!({"enabled": true, "hourly_rate": "0.00001", "classic_limit": classic_limit,
                       "pro_tiers": [[last_bound, "0.1", "0.05"]]});
    if let Some(v) = vip {
        b["vip_limits"] = json!([[0, v]]);
    }
    b
}

/// (amount, binding) of `asset` in `risk[key]`.
fn bound(rb: &Rulebook, account: Value, key: &str, asset: &str) -> (String, Vec<String>) {
    let market =
        Market::from_json(rb, Some(&json!({"BTC": "100"})), Some(&json!({"BTCUSDT": "100"}))).unwrap();
    let account = Account::from_json(rb, &account, Form::Scenario).unwrap();
    let x = explain(rb, &market, &account).unwrap();
    let e = x["risk"][key].as_array().unwrap().iter().find(|e| e["asset"] == asset).unwrap().clone();
    let binding = e["binding"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect();
    (e["amount"].as_str().unwrap().to_string(), binding)
}

fn margin(mode: &str, holdings: Value, borrowed: Value) -> Value {
    json!({"kind": "MARGIN", "mode": mode, "classic_leverage": 3, "holdings": holdings, "borrowed": borrowed})
}

#[test]
fn binding_constraint_of_max_borrow() {
    // Classic: the classic limit (1,000) binds long before CV ≥ 1.5 × TL.
    let rb = rulebook(borrow("1000", "1000000", None));
    let acct = margin("CLASSIC", json!({"USDT": "1000000"}), json!({}));
    assert_eq!(bound(&rb, acct, "max_borrow", "USDT"), ("1000".into(), vec!["classic_limit 1000".into()]));
    // Classic: 2 × (100 + B) ≥ 3 × B ⇒ B ≤ 200, CV ≥ R × TL binds.
    let rb = rulebook(borrow("1000000", "1000000", None));
    let acct = margin("CLASSIC", json!({"USDT": "100"}), json!({}));
    assert_eq!(bound(&rb, acct, "max_borrow", "USDT"), ("200".into(), vec!["CV ≥ R × TL (R = 3/2)".into()]));
    // VIP limit 50 binds in both modes.
    let rb = rulebook(borrow("1000000", "1000000", Some("50")));
    for mode in ["CLASSIC", "PRO"] {
        let acct = margin(mode, json!({"USDT": "100"}), json!({}));
        assert_eq!(bound(&rb, acct, "max_borrow", "USDT"), ("50".into(), vec!["VIP 0 limit 50".into()]));
    }
    // Pro: available = 100 + B − B − 0.1 B ≥ 0 ⇒ B ≤ 1,000.
    let rb = rulebook(borrow("1000000", "1000000", None));
    let acct = margin("PRO", json!({"USDT": "100"}), json!({}));
    assert_eq!(bound(&rb, acct, "max_borrow", "USDT"), ("1000".into(), vec!["available ≥ 0".into()]));
    // Pro: the last bounded tier (500 of liability value) binds first.
    let rb = rulebook(borrow("1000000", "500", None));
    let acct = margin("PRO", json!({"USDT": "100"}), json!({}));
    let want = ("500".into(), vec!["Pro tier limit 500 (liability value)".into()]);
    assert_eq!(bound(&rb, acct, "max_borrow", "USDT"), want);
    // The 10^15 range: holdings already at the top.
    let rb = rulebook(borrow("1000000000000000", "1000000000000000000", None));
    let acct = margin("PRO", json!({"USDT": "1000000000000000"}), json!({}));
    assert_eq!(bound(&rb, acct, "max_borrow", "USDT"), ("0".into(), vec!["10^15 range".into()]));
}

#[test]
fn binding_constraint_of_max_transfer_out() {
    let rb = rulebook(borrow("1000000", "1000000", None));
    // No debt: the free balance binds.
    let acct = margin("CLASSIC", json!({"USDT": "300"}), json!({}));
    assert_eq!(bound(&rb, acct, "max_transfer_out", "USDT"), ("300".into(), vec!["free balance".into()]));
    // CV − 2 × TL ≥ 0: 300 − T ≥ 200.
    let acct = margin("CLASSIC", json!({"USDT": "300"}), json!({"USDT": "100"}));
    let want = ("100".into(), vec!["CV ≥ 2 × TL (classic_transfer_bar)".into()]);
    assert_eq!(bound(&rb, acct, "max_transfer_out", "USDT"), want);
    // Pro: 300 − T − 100 − 10 ≥ 0.
    let acct = margin("PRO", json!({"USDT": "300"}), json!({"USDT": "100"}));
    assert_eq!(bound(&rb, acct, "max_transfer_out", "USDT"), ("190".into(), vec!["available ≥ 0".into()]));
    // Futures: the wallet, then the pool's available (IM of 1 BTC at 100, leverage 10 = 10).
    let fut = |positions: Value| json!({"kind": "FUTURES", "mode": "SINGLE_ASSET", "wallet": {"USDT": "1000"}, "positions": positions});
    assert_eq!(
        bound(&rb, fut(json!([])), "max_transfer_out", "USDT"),
        ("1000".into(), vec!["wallet balance".into()])
    );
    let pos = json!([{"symbol": "BTCUSDT", "size": "1", "entry_price": "100", "leverage": 10}]);
    let want = ("990".into(), vec!["available ≥ 0 in pool USDT".into()]);
    assert_eq!(bound(&rb, fut(pos), "max_transfer_out", "USDT"), want);
}

#[test]
fn move_of_a_single_btc_position_is_exact() {
    // Long 1 BTC at 100 with 20 USDT: liquidation when 20 + (m − 100) ≤ 0.005 m,
    // i.e. m ≤ 80 / 0.995 = 80.40201005…; the highest such multiple of 10^-8 is 80.40201005.
    let rb = rulebook(borrow("1000000", "1000000", None));
    let market =
        Market::from_json(&rb, Some(&json!({"BTC": "100"})), Some(&json!({"BTCUSDT": "100"}))).unwrap();
    let acct = json!({"kind": "FUTURES", "mode": "SINGLE_ASSET", "wallet": {"USDT": "20"},
                      "positions": [{"symbol": "BTCUSDT", "size": "1", "entry_price": "100", "leverage": 10}]});
    let account = Account::from_json(&rb, &acct, Form::Scenario).unwrap();
    let x = explain(&rb, &market, &account).unwrap();
    let risk = &x["risk"];
    assert_eq!(
        risk["largest_exposure"],
        json!({"kind": "mark", "name": "BTCUSDT", "price": "100", "exposure": "100"})
    );
    let t = &risk["thresholds"][0];
    assert_eq!(t["name"], "liquidation, pool USDT");
    assert_eq!(t["margin_level"], "40"); // 20 / 0.5
    assert_eq!(t["distance"], "39");
    assert_eq!(t["move_down"], json!({"price": "80.40201005", "move": "-0.19597989"}));
    assert_eq!(t["move_up"], Value::Null);
}
