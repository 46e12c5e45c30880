//! SPEC v1.2 input rules: unknown keys are refused with their path (§3.1, §10), `_` keys
//! are comments, the engine state form (§4), and `vip_limits` / `vip_level` (§3.2, §4).

use multimargin_core::account::{Account, Form};
use multimargin_core::decimal::Dec;
use multimargin_core::error::{Error, Reason};
use multimargin_core::rulebook::Rulebook;
use multimargin_core::Scenario;
use serde_json::{json, Value};

fn rulebook_json() -> Value {
    json!({
        "assets": {
            "USDT": {"collateral_tiers": [[null, "1"]], "haircut_tiers": [[null, "1"]], "discount": "1",
                     "liability": {"hourly_rate": "0.00001", "interest_free": "0", "mmr": "0.01",
                                   "auto_repay_threshold": "1000", "auto_repay_ratio": "0.5"},
                     "borrow": {"enabled": true, "hourly_rate": "0.00001", "classic_limit": "1000000",
                                "pro_tiers": [[null, "0.1112", "0.03"]]}},
            "BTC": {"collateral_tiers": [[null, "0.95"]], "haircut_tiers": [[null, "0.95"]], "discount": "0.95",
                    "borrow": {"enabled": true, "hourly_rate": "0.00001", "classic_limit": "100",
                               "pro_tiers": [[null, "0.1112", "0.05"]],
                               "vip_limits": [[0, "1"], [3, "2.5"], [7, "10"]]}}
        },
        "contracts": {
            "BTCUSDT": {"settlement": "USDT", "kind": "LINEAR", "category": "STANDARD",
                        "risk_tiers": [[null, "0.005", 100]]}
        },
        "settings": {"liquidation": {"FUTURES": "1"}, "mcr_default": {"PRO": "1.5"}}
    })
}

fn futures() -> Value {
    json!({"kind": "FUTURES", "mode": "SINGLE_ASSET", "wallet": {"USDT": "1000"},
           "positions": [{"symbol": "BTCUSDT", "size": "0.1", "entry_price": "50000", "leverage": 10}],
           "orders": [{"symbol": "BTCUSDT", "side": "BUY", "price": "49000", "quantity": "0.1", "leverage": 10,
                       "order_id": "o-1"}]})
}

fn margin() -> Value {
    json!({"kind": "MARGIN", "mode": "CLASSIC", "holdings": {"USDT": "100000"}, "borrowed": {"BTC": "0.5"},
           "mcr": {"CLASSIC": "1.3"}, "vip_level": 3,
           "orders": [{"base": "BTC", "quote": "USDT", "side": "BUY", "price": "1", "quantity": "1"}]})
}

fn scenario(account: Value) -> Value {
    json!({"rulebook": rulebook_json(), "prices": {"BTC": "50000"}, "marks": {"BTCUSDT": "50000"},
           "account": account})
}

fn parse(s: &Value) -> Result<Scenario<'static>, Error> {
    Scenario::from_json(s, None)
}

/// The reason and field of a refused scenario.
fn refusal(s: &Value) -> (Reason, String) {
    let e = parse(s).err().expect("the scenario is refused");
    (e.reason, e.field.unwrap_or_default())
}

fn invalid(field: &str) -> (Reason, String) {
    (Reason::InvalidArgument, field.to_string())
}

#[test]
fn the_base_documents_are_valid() {
    parse(&scenario(futures())).unwrap().evaluate().unwrap();
    parse(&scenario(margin())).unwrap().evaluate().unwrap();
}

#[test]
fn unknown_keys_in_a_scenario_are_refused_with_their_path() {
    let mut s = scenario(futures());
    s["price"] = json!({});
    assert_eq!(refusal(&s), invalid("price"));

    let mut s = scenario(margin());
    s["account"]["holding"] = json!({"USDT": "1"});
    assert_eq!(refusal(&s), invalid("account.holding"));

    // A key of the other kind is unknown too.
    let mut s = scenario(futures());
    s["account"]["holdings"] = json!({"USDT": "1"});
    assert_eq!(refusal(&s), invalid("account.holdings"));
    let mut s = scenario(futures());
    s["account"]["vip_level"] = json!(1);
    assert_eq!(refusal(&s), invalid("account.vip_level"));

    let mut s = scenario(futures());
    s["account"]["positions"][0]["sise"] = json!("1");
    assert_eq!(refusal(&s), invalid("account.positions[0].sise"));

    let mut s = scenario(futures());
    s["account"]["orders"][0]["reduce_only"] = json!(true);
    assert_eq!(refusal(&s), invalid("account.orders[0].reduce_only"));

    let mut s = scenario(margin());
    s["account"]["orders"][0]["qty"] = json!("2");
    assert_eq!(refusal(&s), invalid("account.orders[0].qty"));

    let mut s = scenario(margin());
    s["account"]["mcr"]["CLASIC"] = json!("1.4");
    assert_eq!(refusal(&s), invalid("account.mcr.CLASIC"));
}

#[test]
fn state_keys_are_refused_in_a_scenario() {
    for (acct, key, v) in [
        (futures(), "status", json!("ACTIVE")),
        (futures(), "sub_account", json!(true)),
        (futures(), "copy_trading", json!(false)),
        (margin(), "status", json!("LIQUIDATING")),
        (margin(), "pro_terms_accepted", json!(true)),
    ] {
        let mut s = scenario(acct);
        s["account"][key] = v;
        assert_eq!(refusal(&s), invalid(&format!("account.{key}")));
    }
}

/// A change to a valid rulebook document.
type Mutation = fn(&mut Value);

#[test]
fn unknown_keys_in_a_rulebook_are_refused_with_their_path() {
    let cases: [(&str, Mutation); 9] = [
        ("rulebook.contract", |r| r["contract"] = json!({})),
        ("rulebook.assets.USDT.liabilty", |r| r["assets"]["USDT"]["liabilty"] = json!({})),
        ("rulebook.assets.USDT.liability.mmrr", |r| r["assets"]["USDT"]["liability"]["mmrr"] = json!("0")),
        ("rulebook.assets.BTC.borrow.vip_limit", |r| r["assets"]["BTC"]["borrow"]["vip_limit"] = json!([])),
        ("rulebook.contracts.BTCUSDT.max_leverage", |r| {
            r["contracts"]["BTCUSDT"]["max_leverage"] = json!(125)
        }),
        ("rulebook.settings.liquidation_ratio", |r| r["settings"]["liquidation_ratio"] = json!("1.2")),
        ("rulebook.settings.liquidation.MARGIN", |r| r["settings"]["liquidation"]["MARGIN"] = json!("1")),
        ("rulebook.settings.mcr_default.pro", |r| r["settings"]["mcr_default"]["pro"] = json!("1.5")),
        ("rulebook.assets.BTC.borrow.limit", |r| {
            r["assets"]["BTC"]["borrow"] = json!({"enabled": false, "limit": "1"})
        }),
    ];
    for (field, mutate) in cases {
        let mut rb = rulebook_json();
        mutate(&mut rb);
        let e = Rulebook::from_json(&rb).unwrap_err();
        assert_eq!((e.reason, e.field.as_deref()), (Reason::InvalidArgument, Some(field)), "{e}");
        assert!(e.message.contains("unknown key"), "{}", e.message);
    }
}

#[test]
fn underscore_keys_are_comments_everywhere() {
    let mut s = scenario(margin());
    s["_comment"] = json!("a scenario");
    s["prices"]["_why"] = json!("ignored");
    s["account"]["_note"] = json!({"anything": 1});
    s["account"]["holdings"]["_x"] = json!(42);
    s["account"]["orders"][0]["_o"] = json!(null);
    let rb = &mut s["rulebook"];
    rb["_comment"] = json!("rulebook");
    rb["assets"]["_about"] = json!("not an asset");
    rb["assets"]["BTC"]["_c"] = json!(1);
    rb["assets"]["BTC"]["borrow"]["_c"] = json!(1);
    rb["contracts"]["_c"] = json!(1);
    rb["settings"]["_c"] = json!(1);
    let with = parse(&s).unwrap();
    let without = parse(&scenario(margin())).unwrap();
    assert_eq!(with.rulebook.assets().len(), 2);
    assert_eq!(with.account, without.account);
    assert_eq!(
        with.evaluate().unwrap().to_json(&with.rulebook),
        without.evaluate().unwrap().to_json(&without.rulebook)
    );
}

#[test]
fn the_state_form_takes_status_and_flags() {
    let rb = Rulebook::from_json(&rulebook_json()).unwrap();
    let mut f = futures();
    f["status"] = json!("LIQUIDATING");
    f["sub_account"] = json!(true);
    f["copy_trading"] = json!(true);
    let Account::Futures(fa) = Account::from_json(&rb, &f, Form::State).unwrap() else { panic!() };
    assert!(fa.sub_account && fa.copy_trading);
    assert!(Account::from_json(&rb, &f, Form::Scenario).is_err());

    let mut m = margin();
    m["status"] = json!("ACTIVE");
    m["pro_terms_accepted"] = json!(true);
    let Account::Margin(ma) = Account::from_json(&rb, &m, Form::State).unwrap() else { panic!() };
    assert!(ma.pro_terms_accepted);
    assert_eq!(ma.vip_level, 3);
    // The state form is strict about everything else, and about the other kind's flags.
    m["sub_account"] = json!(false);
    let e = Account::from_json(&rb, &m, Form::State).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("account.sub_account"));
}

fn vip_refusal(rows: Value) -> (Reason, String) {
    let mut rb = rulebook_json();
    rb["assets"]["BTC"]["borrow"]["vip_limits"] = rows;
    let e = Rulebook::from_json(&rb).unwrap_err();
    (e.reason, e.field.unwrap_or_default())
}

#[test]
fn vip_limit_tables_are_validated() {
    let at = |s: &str| format!("rulebook.assets.BTC.borrow.vip_limits{s}");
    assert_eq!(vip_refusal(json!([])), (Reason::InvalidArgument, at("")));
    assert_eq!(vip_refusal(json!({})), (Reason::InvalidArgument, at("")));
    assert_eq!(vip_refusal(json!([[1, "5"]])), (Reason::InvalidArgument, at("[0][0]")));
    assert_eq!(vip_refusal(json!([[0, "5", "6"]])), (Reason::InvalidArgument, at("[0]")));
    assert_eq!(vip_refusal(json!([[0, "5"], [10, "6"]])), (Reason::OutOfRange, at("[1][0]")));
    assert_eq!(vip_refusal(json!([[-1, "5"]])), (Reason::OutOfRange, at("[0][0]")));
    assert_eq!(vip_refusal(json!([[0, "5"], ["1", "6"]])), (Reason::InvalidArgument, at("[1][0]")));
    assert_eq!(vip_refusal(json!([[0, "5"], [1.0, "6"]])), (Reason::InvalidArgument, at("[1][0]")));
    assert_eq!(vip_refusal(json!([[0, "5"], [3, "8"], [3, "9"]])), (Reason::OutOfRange, at("[2][0]")));
    assert_eq!(vip_refusal(json!([[0, "5"], [2, "4"]])), (Reason::OutOfRange, at("[1][1]")));
    assert_eq!(vip_refusal(json!([[0, "-1"]])), (Reason::OutOfRange, at("[0][1]")));
    assert_eq!(vip_refusal(json!([[0, "1000000000000000.1"]])), (Reason::OutOfRange, at("[0][1]")));
    assert_eq!(vip_refusal(json!([[0, 5]])), (Reason::InvalidDecimal, at("[0][1]")));
    // Equal limits on successive levels are allowed; so is a table on a disabled section,
    // which is still validated.
    let mut rb = rulebook_json();
    rb["assets"]["BTC"]["borrow"]["vip_limits"] = json!([[0, "5"], [1, "5"]]);
    Rulebook::from_json(&rb).unwrap();
    rb["assets"]["BTC"]["borrow"] = json!({"enabled": false, "vip_limits": [[0, "5"], [1, "4"]]});
    assert_eq!(Rulebook::from_json(&rb).unwrap_err().reason, Reason::OutOfRange);
}

#[test]
fn vip_level_is_an_integer_from_0_to_9() {
    let rb = Rulebook::from_json(&rulebook_json()).unwrap();
    for (v, reason) in [
        (json!(10), Reason::OutOfRange),
        (json!(-1), Reason::OutOfRange),
        (json!("1"), Reason::InvalidArgument),
        (json!(1.5), Reason::InvalidArgument),
    ] {
        let mut m = margin();
        m["vip_level"] = v;
        let e = Account::from_json(&rb, &m, Form::Scenario).unwrap_err();
        assert_eq!((e.reason, e.field.as_deref()), (reason, Some("account.vip_level")));
    }
    let mut m = margin();
    m.as_object_mut().unwrap().remove("vip_level");
    let Account::Margin(ma) = Account::from_json(&rb, &m, Form::Scenario).unwrap() else { panic!() };
    assert_eq!(ma.vip_level, 0);
}

#[test]
fn the_vip_limit_of_a_level_is_the_row_at_or_below_it() {
    let rb = Rulebook::from_json(&rulebook_json()).unwrap();
    let btc = rb.asset_id("BTC").unwrap();
    let usdt = rb.asset_id("USDT").unwrap();
    let d = |s: &str| s.parse::<Dec>().unwrap();
    let limits: Vec<Option<Dec>> = (0..=9).map(|l| rb.vip_limit(btc, l)).collect();
    let want = ["1", "1", "1", "2.5", "2.5", "2.5", "2.5", "10", "10", "10"];
    assert_eq!(limits, want.iter().map(|s| Some(d(s))).collect::<Vec<_>>());
    assert_eq!(rb.vip_limit(usdt, 5), None);
}

#[test]
fn max_borrow_respects_the_vip_limit_in_both_modes() {
    let max_btc = |mode: &str, level: u64, borrowed: &str| -> String {
        let mut m = margin();
        m["mode"] = json!(mode);
        m["vip_level"] = json!(level);
        m["borrowed"] = json!({"BTC": borrowed});
        m["holdings"] = json!({"USDT": "10000000"});
        m.as_object_mut().unwrap().remove("orders");
        let s = parse(&scenario(m)).unwrap();
        let out = s.evaluate().unwrap().to_json(&s.rulebook);
        out["max_borrow"].get("BTC").and_then(Value::as_str).unwrap_or("0").to_string()
    };
    for mode in ["CLASSIC", "PRO"] {
        assert_eq!(max_btc(mode, 0, "0.5"), "0.5");
        assert_eq!(max_btc(mode, 3, "0.5"), "2");
        assert_eq!(max_btc(mode, 8, "0.5"), "9.5");
        // Already beyond the limit of the level: 0.
        assert_eq!(max_btc(mode, 0, "1.5"), "0");
    }
}
