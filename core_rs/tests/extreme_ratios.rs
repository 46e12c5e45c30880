//! Reported ratios on extreme in-range input (SPEC §1: overflow on in-range input is a
//! bug). Holdings of 10^15 at prices of 10^9 against a debt or position of 10^-8 at a
//! price of 10^-8 give margin levels of 10^33..10^42, far beyond the 8-digit `i128` of
//! the other reported figures; they must be reported exactly, rounded down.

use multimargin_core::decimal::Dec;
use multimargin_core::explain::explain;
use multimargin_core::ratio::Ratio;
use multimargin_core::risk_events::transition;
use multimargin_core::rulebook::Rulebook;
use multimargin_core::{evaluate_scenario_str, Scenario};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::sync::OnceLock;

const BIG: &str = "1000000000000000";
const TOP: &str = "1000000000";
const TINY: &str = "0.00000001";

fn default_rulebook() -> &'static Rulebook {
    static RB: OnceLock<Rulebook> = OnceLock::new();
    RB.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../server/multimargin/rulebooks/default.json");
        Rulebook::from_json(&serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()).unwrap()
    })
}

fn run(s: Value) -> Value {
    evaluate_scenario_str(&s.to_string(), Some(default_rulebook())).unwrap()
}

fn prices(debt_price: &str) -> Value {
    json!({"USDT": "1", "USDC": "1", "BTC": TOP, "ETH": TOP, "MX": TOP, "SOL": debt_price, "DOGE": TOP})
}

fn margin(mode: &str, holding: &str, debt: &str, debt_price: &str) -> Value {
    let holdings: serde_json::Map<String, Value> =
        ["BTC", "ETH", "MX", "DOGE", "USDT"].iter().map(|a| (a.to_string(), json!(holding))).collect();
    json!({"prices": prices(debt_price),
           "account": {"kind": "MARGIN", "mode": mode, "holdings": holdings, "borrowed": {"SOL": debt}}})
}

#[test]
fn classic_levels_beyond_i128_are_exact() {
    let r = run(margin("CLASSIC", BIG, TINY, TINY));
    // TA = 4·10^24 + 10^15 (USDT) against TL = 10^-16.
    assert_eq!(r["total_asset_value"], "4000000001000000000000000");
    assert_eq!(r["margin_level"], "40000000010000000000000000000000000000000");
    assert_eq!(r["collateral_margin_level"], "27500000010000000296900000000000000000000");
    assert_eq!(r["liquidatable"], false);
}

#[test]
fn pro_level_beyond_i128_is_exact() {
    let r = run(margin("PRO", BIG, TINY, TINY));
    assert_eq!(r["margin_level"], "550000000200000005937999999999999999999980");
}

#[test]
fn futures_level_beyond_i128_is_exact() {
    let s = json!({"prices": prices(TINY), "marks": {"BTCUSDT": TINY},
        "account": {"kind": "FUTURES", "mode": "MULTI_ASSET",
                    "wallet": {"BTC": BIG, "ETH": BIG, "USDT": BIG},
                    "positions": [{"symbol": "BTCUSDT", "size": TINY, "entry_price": TINY, "leverage": 1}]}});
    let r = run(s);
    assert_eq!(r["pools"][0]["margin_level"], "2500976450000000000000000000000000");
}

#[test]
fn explanations_and_risk_figures_report_levels_beyond_i128() {
    let v = margin("CLASSIC", BIG, TINY, TINY);
    let s = Scenario::from_json(&v, Some(default_rulebook())).unwrap();
    let x = explain(&s.rulebook, &s.market, &s.account).unwrap();
    let thresholds = x["risk"]["thresholds"].as_array().unwrap();
    assert!(!thresholds.is_empty());
    for t in thresholds {
        // TA / TL (or CV / TL) and its distance to the threshold, both rounded down.
        let level = t["margin_level"].as_str().unwrap();
        assert!(level.len() > 40, "{t}");
        assert!(t["distance"].as_str().unwrap().len() > 40, "{t}");
    }
    let call = thresholds.iter().find(|t| t["name"] == "margin call").unwrap();
    assert_eq!(call["margin_level"], "40000000010000000000000000000000000000000");
    assert_eq!(call["distance"], "40000000009999999999999999999999999999998.7"); // − 1.3
    let tr = transition(&s.rulebook, &s.market, &s.account).unwrap().unwrap();
    let f = tr.figures.unwrap();
    assert_eq!(f.margin_level.unwrap().to_string(), "40000000010000000000000000000000000000000");
    assert!(!tr.liquidatable);
}

/// The reported level is `floor8(num / den)` of the exact figures: for a Classic account
/// TA/TL, checked against the exact product `level ≤ TA/TL < level + 10^-8`.
fn check_classic(holding: i128, debt: i128, debt_price: i128) {
    let (h, q, p) = (Dec::from_units(holding), Dec::from_units(debt), Dec::from_units(debt_price));
    let r = run(margin("CLASSIC", &h.to_string(), &q.to_string(), &p.to_string()));
    // TA = 4 × h × 10^9 + h (USDT), TL = q × p: both exact.
    let (ta, tl) = (h.exact() * Dec::from_int(4_000_000_001), q.exact() * p);
    assert_eq!(r["total_asset_value"], ta.floor8().unwrap().to_string());
    let level = Ratio::div_floor8(ta, tl).unwrap();
    assert_eq!(r["margin_level"], level.to_string());
    // level ≤ TA/TL < level + 10^-8, by cross-multiplying.
    let lo = level.exact() * tl;
    let hi = (level.exact() + Dec::from_units(1)) * tl;
    assert!(lo.try_cmp(ta).unwrap().is_le() && ta.try_cmp(hi).unwrap().is_lt());
}

fn extreme(max: i128) -> impl Strategy<Value = i128> {
    prop_oneof![Just(1i128), Just(max), Just(max - 1), 1..=1000i128, 1..=max]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn classic_level_is_the_exact_quotient_rounded_down(
        holding in extreme(1_000_000_000_000_000 * 100_000_000),
        debt in extreme(1_000_000),
        price in extreme(1_000),
    ) {
        check_classic(holding, debt, price);
    }
}
