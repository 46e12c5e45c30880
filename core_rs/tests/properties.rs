//! Property tests of the SPEC's invariants:
//! * tiered sums are continuous and non-decreasing;
//! * every reported maximum satisfies its constraint and one more 10^-8 breaks it;
//! * adding collateral never lowers a margin level;
//! * evaluation is invariant under reordering of maps and lists.

use multimargin_core::account::{Account, FuturesAccount, MarginAccount, MarginMode, Market};
use multimargin_core::decimal::{Dec, Exact};
use multimargin_core::result::{Evaluation, PoolId};
use multimargin_core::rulebook::Rulebook;
use multimargin_core::tiers::{TableKind, Tier, TierTable};
use multimargin_core::{evaluate, futures, margin, Scenario};
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use std::sync::OnceLock;

fn rulebook_json() -> &'static Value {
    static RB: OnceLock<Value> = OnceLock::new();
    RB.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors/random-1.json");
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        doc["rulebook"].clone()
    })
}

fn rulebook() -> &'static Rulebook {
    static RB: OnceLock<Rulebook> = OnceLock::new();
    RB.get_or_init(|| Rulebook::from_json(rulebook_json()).unwrap())
}

/// The same rulebook with VIP borrow limits (SPEC §3.2, v1.2) on four assets, near the
/// generated borrowed amounts.
fn vip_rulebook() -> &'static Rulebook {
    static RB: OnceLock<Rulebook> = OnceLock::new();
    RB.get_or_init(|| {
        let mut v = rulebook_json().clone();
        let assets = &mut v["assets"];
        assets["BTC"]["borrow"]["vip_limits"] = json!([[0, "2"], [2, "20"], [5, "60.5"], [8, "150"]]);
        assets["ETH"]["borrow"]["vip_limits"] = json!([[0, "100"], [1, "250"], [4, "250"], [9, "1500"]]);
        assets["USDT"]["borrow"]["vip_limits"] = json!([[0, "50000"], [3, "800000.12345678"]]);
        assets["USDC"]["borrow"]["vip_limits"] = json!([[0, "0"], [6, "300000"]]);
        Rulebook::from_json(&v).unwrap()
    })
}

fn d(s: &str) -> Dec {
    s.parse().unwrap()
}

/// A decimal string with `units` of 10^-8.
fn dec_str(units: i128) -> String {
    Dec::from_units(units).to_string()
}

/// Amounts biased toward interesting points: near `anchors` (tier bounds), tiny, or wide.
fn amount(max_units: i128, anchors: &'static [i128]) -> impl Strategy<Value = i128> {
    let near =
        proptest::sample::select(anchors).prop_flat_map(|a| (-3i128..=3).prop_map(move |e| (a + e).max(0)));
    prop_oneof![
        3 => 0..=max_units,
        2 => near,
        1 => 0i128..100,
        1 => (0i128..=1000).prop_map(move |k| k * (max_units / 1000)),
    ]
}

const E8: i128 = 100_000_000;
const BTC_BOUNDS: &[i128] = &[E8, 5 * E8, 10 * E8, 50 * E8, 100 * E8, 2 * E8];
const ETH_BOUNDS: &[i128] = &[100 * E8, 200 * E8, 300 * E8, 400 * E8, 20 * E8];
const USD_BOUNDS: &[i128] = &[1_000_000 * E8, 5_000_000 * E8, 100_000 * E8, 50_000 * E8];

fn prices() -> impl Strategy<Value = Value> {
    (20_000i128..120_000, 1_000i128..6_000, 50i128..400, 1i128..10, 9_950i128..10_050).prop_map(
        |(btc, eth, sol, mx, usdc)| {
            json!({"BTC": dec_str(btc * E8 + 12_345_678), "ETH": dec_str(eth * E8 + 5_000_000),
                   "SOL": dec_str(sol * E8), "MX": dec_str(mx * E8 + 4_321), "DOGE": "0.12",
                   "XYZ": "3.5", "USDC": dec_str(usdc * 10_000)})
        },
    )
}

fn marks() -> impl Strategy<Value = Value> {
    (20_000i128..120_000, 1_000i128..6_000, 50i128..400, 100i128..300).prop_map(|(btc, eth, sol, tsla)| {
        json!({"BTCUSDT": dec_str(btc * E8), "BTCUSDC": dec_str(btc * E8 + 7 * E8), "ETHUSDT": dec_str(eth * E8),
               "SOLUSDC": dec_str(sol * E8 + 1), "TSLAUSDT": dec_str(tsla * E8), "BTCUSD": dec_str(btc * E8)})
    })
}

fn margin_account() -> impl Strategy<Value = Value> {
    let holdings = (
        amount(300 * E8, BTC_BOUNDS),
        amount(3_000 * E8, ETH_BOUNDS),
        amount(3_000_000 * E8, USD_BOUNDS),
        amount(3_000_000 * E8, USD_BOUNDS),
        amount(60_000 * E8, &[1_000 * E8, 5_000 * E8]),
        amount(200_000 * E8, &[10_000 * E8]),
    );
    let borrowed = (
        amount(150 * E8, BTC_BOUNDS),
        amount(2_000 * E8, ETH_BOUNDS),
        amount(2_000_000 * E8, USD_BOUNDS),
        amount(1_000_000 * E8, USD_BOUNDS),
        0i128..5 * E8,
    );
    let order = (0usize..4, 0usize..4, any::<bool>(), 1i128..100_000 * E8, 1i128..10 * E8);
    (
        any::<bool>(),
        any::<bool>(),
        prop_oneof![Just(3), Just(5)],
        holdings,
        borrowed,
        proptest::collection::vec(order, 0..3),
        proptest::sample::subsequence(vec![0usize, 1, 2, 3, 4, 5], 0..=6),
    )
        .prop_map(|(pro, restricted, lev, h, b, orders, keep)| {
            let codes = ["BTC", "ETH", "USDT", "USDC", "SOL", "MX"];
            let hv = [h.0, h.1, h.2, h.3, h.4, h.5];
            let mut holdings = Map::new();
            for i in keep {
                holdings.insert(codes[i].into(), json!(dec_str(hv[i])));
            }
            let mut borrowed = Map::new();
            let mut interest = Map::new();
            for (i, v) in [b.0, b.1, b.2, b.3].iter().enumerate() {
                if *v > 0 {
                    borrowed.insert(codes[i].into(), json!(dec_str(*v)));
                    interest.insert(codes[i].into(), json!(dec_str(b.4 % (v + 1))));
                }
            }
            let pairs = [("BTC", "USDT"), ("ETH", "USDT"), ("SOL", "USDC"), ("ETH", "BTC")];
            let orders: Vec<Value> = orders
                .iter()
                .map(|&(p, _, buy, price, qty)| {
                    let (base, quote) = pairs[p];
                    json!({"base": base, "quote": quote, "side": if buy {"BUY"} else {"SELL"},
                           "price": dec_str(price), "quantity": dec_str(qty)})
                })
                .collect();
            json!({"kind": "MARGIN", "mode": if pro {"PRO"} else {"CLASSIC"},
                   "region": if restricted {"FR"} else {"JP"}, "classic_leverage": lev,
                   "holdings": holdings, "borrowed": borrowed, "interest": interest, "orders": orders})
        })
}

fn futures_account() -> impl Strategy<Value = Value> {
    let wallet = (
        amount(150 * E8, BTC_BOUNDS),
        amount(500 * E8, ETH_BOUNDS),
        (-200_000 * E8..2_000_000 * E8),
        (-200_000 * E8..2_000_000 * E8),
        amount(40_000 * E8, &[10_000 * E8, 20_000 * E8, 30_000 * E8]),
    );
    let position =
        (0usize..4, -50 * E8..50 * E8, 1_000i128..100_000, 1u32..=50, any::<bool>(), 0i128..50_000 * E8);
    let order = (0usize..4, any::<bool>(), 1_000i128..100_000, 1i128..20 * E8, 1u32..=50);
    (
        any::<bool>(),
        wallet,
        proptest::collection::vec(position, 0..4),
        proptest::collection::vec(order, 0..3),
    )
        .prop_map(|(multi, w, positions, orders)| {
            let symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDC", "BTCUSDC"];
            let mut seen = std::collections::HashSet::new();
            let positions: Vec<Value> = positions
                .into_iter()
                .filter(|p| seen.insert(p.0))
                .map(|(s, size, entry, lev, iso, im)| {
                    let mut p = json!({"symbol": symbols[s], "size": dec_str(size), "entry_price": dec_str(entry * E8 / 10),
                                       "leverage": lev});
                    if iso && !multi {
                        p["isolated"] = json!(true);
                        p["isolated_margin"] = json!(dec_str(im));
                    }
                    p
                })
                .collect();
            let orders: Vec<Value> = orders
                .into_iter()
                .map(|(s, buy, price, qty, lev)| {
                    json!({"symbol": symbols[s], "side": if buy {"BUY"} else {"SELL"},
                           "price": dec_str(price * E8 / 10), "quantity": dec_str(qty), "leverage": lev})
                })
                .collect();
            let mut wallet = json!({"BTC": dec_str(w.0), "ETH": dec_str(w.1), "USDT": dec_str(w.2),
                                    "USDC": dec_str(w.3), "MX": dec_str(w.4)});
            if !multi {
                // SINGLE_ASSET: only settlement assets may be negative.
                for k in ["BTC", "ETH", "MX"] {
                    wallet[k] = json!(dec_str(d(wallet[k].as_str().unwrap()).units().abs()));
                }
            }
            json!({"kind": "FUTURES", "mode": if multi {"MULTI_ASSET"} else {"SINGLE_ASSET"},
                   "wallet": wallet, "positions": positions, "orders": orders})
        })
}

fn scenario(account: Value, prices: Value, marks: Value) -> Value {
    json!({"prices": prices, "marks": marks, "account": account})
}

fn parse(s: &Value) -> Scenario<'static> {
    Scenario::from_json(s, Some(rulebook())).expect("generated scenarios are valid")
}

// ---- maxima -------------------------------------------------------------------------

fn step() -> Dec {
    Dec::STEP
}

fn add(a: Dec, b: Dec) -> Dec {
    a.checked_add(b).unwrap()
}

/// All SPEC §6.1/§6.2/§6.3 conditions of borrowing `b` of asset `x`.
fn borrow_ok(rb: &Rulebook, market: &Market, m: &MarginAccount, x: usize, b: Dec) -> bool {
    let cap = d("1000000000000000");
    let mut m2 = m.clone();
    m2.holdings[x] = add(m.holdings[x], b);
    m2.borrowed[x] = add(m.borrowed[x], b);
    if m2.holdings[x] > cap || m2.borrowed[x] > cap {
        return false;
    }
    let asset = rb.asset(x);
    let borrow = asset.borrow.as_ref().unwrap();
    // SPEC §6.3 (v1.2): borrowed[x] + B within the VIP level's limit, both modes.
    if borrow.vip_limit(m.vip_level).is_some_and(|limit| m2.borrowed[x] > limit) {
        return false;
    }
    let c = margin::calc(rb, market, &m2).unwrap();
    match m.mode {
        MarginMode::Classic => {
            let l = i128::from(m.classic_leverage);
            m2.borrowed[x] <= borrow.classic_limit
                && (c.cv * Exact::int(l - 1)).try_cmp(c.tl * Exact::int(l)).unwrap().is_ge()
        }
        MarginMode::Pro => {
            let lv = (m2.borrowed[x].exact() + m2.interest[x]) * market.price(x).unwrap();
            let table =
                if rb.is_restricted(m.region.as_deref()) { &borrow.imr_restricted } else { &borrow.imr };
            let within = table.last_bound().is_none_or(|bound| lv.try_cmp(bound.exact()).unwrap().is_le());
            within && !c.available().is_negative().unwrap()
        }
    }
}

/// All conditions of transferring `t` of asset `x` out of a margin account.
fn margin_transfer_ok(rb: &Rulebook, market: &Market, m: &MarginAccount, x: usize, t: Dec) -> bool {
    let before = margin::calc(rb, market, m).unwrap();
    if t > before.free[x].floor8().unwrap() {
        return false;
    }
    let mut m2 = m.clone();
    m2.holdings[x] = m.holdings[x].checked_sub(t).unwrap();
    let c = margin::calc(rb, market, &m2).unwrap();
    match m.mode {
        MarginMode::Classic => {
            c.tl.is_zero().unwrap() || c.cv.try_cmp(c.tl * rb.settings.classic_transfer_bar).unwrap().is_ge()
        }
        MarginMode::Pro => !c.available().is_negative().unwrap(),
    }
}

/// All SPEC §5.3 conditions of transferring `t` of asset `a` out of a futures account.
fn futures_transfer_ok(rb: &Rulebook, market: &Market, f: &FuturesAccount, a: usize, t: Dec) -> bool {
    if t > f.wallet[a].max0() {
        return false;
    }
    let before = futures::pools(rb, market, f).unwrap();
    let mut f2 = f.clone();
    f2.wallet[a] = f.wallet[a].checked_sub(t).unwrap();
    let after = futures::pools(rb, market, &f2).unwrap();
    // Every cross pool of the current state that contains `a`.
    before
        .iter()
        .filter(|p| matches!(p.id, PoolId::Cross) || p.id == PoolId::Settlement(a))
        .all(|p| after.iter().find(|q| q.id == p.id).is_none_or(|q| !q.available().is_negative().unwrap()))
}

fn listed(map: &[(usize, Dec)], a: usize) -> Dec {
    map.iter().find(|(x, _)| *x == a).map_or(Dec::ZERO, |(_, v)| *v)
}

/// Every reported margin maximum (borrow, transfer-out) satisfies its conditions and
/// one more 10^-8 breaks them.
fn margin_maxima_tight(s: &Scenario<'_>) -> Result<(), TestCaseError> {
    let (rb, market) = (&*s.rulebook, &s.market);
    let Account::Margin(m) = &s.account else { unreachable!() };
    let Evaluation::Margin(r) = s.evaluate().unwrap() else { unreachable!() };
    for (x, asset) in rb.assets().iter().enumerate() {
        if asset.borrow.is_some() {
            let max = listed(&r.max_borrow, x);
            if max.is_positive() {
                prop_assert!(borrow_ok(rb, market, m, x, max), "{} max borrow {max} infeasible", asset.code);
            }
            prop_assert!(
                !borrow_ok(rb, market, m, x, add(max, step())),
                "{} max borrow {max} not tight",
                asset.code
            );
        }
        if m.holdings[x].is_positive() {
            let max = listed(&r.max_transfer_out, x);
            if max.is_positive() {
                prop_assert!(
                    margin_transfer_ok(rb, market, m, x, max),
                    "{} max transfer {max} infeasible",
                    asset.code
                );
            }
            prop_assert!(
                !margin_transfer_ok(rb, market, m, x, add(max, step())),
                "{} max transfer {max} not tight",
                asset.code
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn margin_maxima_are_tight(acct in margin_account(), prices in prices(), marks in marks()) {
        margin_maxima_tight(&parse(&scenario(acct, prices, marks)))?;
    }

    #[test]
    fn max_borrow_respects_vip_limits_and_is_tight(
        mut acct in margin_account(), level in 0u64..=9, prices in prices(), marks in marks(),
    ) {
        acct["vip_level"] = json!(level);
        let s = Scenario::from_json(&scenario(acct, prices, marks), Some(vip_rulebook())).unwrap();
        let Account::Margin(m) = &s.account else { unreachable!() };
        let Evaluation::Margin(r) = s.evaluate().unwrap() else { unreachable!() };
        for (x, asset) in s.rulebook.assets().iter().enumerate() {
            let Some(limit) = s.rulebook.vip_limit(x, m.vip_level) else { continue };
            let max = listed(&r.max_borrow, x);
            prop_assert!(max.is_zero() || add(m.borrowed[x], max) <= limit, "{} {max} beyond VIP limit {limit}", asset.code);
        }
        margin_maxima_tight(&s)?;
    }

    #[test]
    fn futures_max_transfer_out_is_tight(acct in futures_account(), prices in prices(), marks in marks()) {
        let s = parse(&scenario(acct, prices, marks));
        let (rb, market) = (&*s.rulebook, &s.market);
        let Account::Futures(f) = &s.account else { unreachable!() };
        let Evaluation::Futures(r) = s.evaluate().unwrap() else { unreachable!() };
        for (a, asset) in rb.assets().iter().enumerate() {
            if f.wallet[a].is_positive() {
                let max = listed(&r.max_transfer_out, a);
                if max.is_positive() {
                    prop_assert!(futures_transfer_ok(rb, market, f, a, max), "{} max {max} infeasible", asset.code);
                }
                prop_assert!(!futures_transfer_ok(rb, market, f, a, add(max, step())), "{} max {max} not tight", asset.code);
            }
        }
    }

    #[test]
    fn adding_collateral_never_lowers_margin_level(
        acct in prop_oneof![margin_account(), futures_account()],
        prices in prices(), marks in marks(), which in 0usize..6, extra in 1i128..1_000_000 * E8,
    ) {
        let s = parse(&scenario(acct, prices, marks));
        let rb = &*s.rulebook;
        let code = ["BTC", "ETH", "USDT", "USDC", "SOL", "MX"][which];
        let a = rb.asset_id(code).unwrap();
        let mut more = s.account.clone();
        match &mut more {
            Account::Futures(f) => f.wallet[a] = add(f.wallet[a], Dec::from_units(extra)),
            Account::Margin(m) => m.holdings[a] = add(m.holdings[a], Dec::from_units(extra)),
        }
        let before = s.evaluate().unwrap();
        let after = evaluate(rb, &s.market, &more).unwrap();
        match (before, after) {
            (Evaluation::Futures(b), Evaluation::Futures(x)) => {
                for (pb, px) in b.pools.iter().zip(&x.pools) {
                    prop_assert_eq!(pb.id, px.id);
                    if let (Some(lb), Some(lx)) = (pb.margin_level, px.margin_level) {
                        prop_assert!(lx >= lb, "pool {:?}: {} → {}", pb.id, lb, lx);
                    }
                    prop_assert!(px.effective_margin >= pb.effective_margin);
                    prop_assert!(!px.liquidatable || pb.liquidatable);
                }
            }
            (Evaluation::Margin(b), Evaluation::Margin(x)) => {
                if let (Some(lb), Some(lx)) = (b.margin_level, x.margin_level) {
                    prop_assert!(lx >= lb, "{} → {}", lb, lx);
                }
                if let (Some(lb), Some(lx)) = (b.collateral_margin_level, x.collateral_margin_level) {
                    prop_assert!(lx >= lb, "CML {} → {}", lb, lx);
                }
                prop_assert!(!x.liquidatable || b.liquidatable);
                prop_assert!(!x.margin_call || b.margin_call);
            }
            _ => unreachable!(),
        }
    }

    #[test]
    fn evaluation_ignores_order_of_maps_and_lists(
        acct in prop_oneof![margin_account(), futures_account()],
        prices in prices(), marks in marks(), seed in any::<u64>(),
    ) {
        let original = scenario(acct, prices, marks);
        let shuffled = shuffle(&original, seed);
        let a = parse(&original);
        let b = parse(&shuffled);
        let ra = a.evaluate().unwrap().to_json(&a.rulebook);
        let rb = b.evaluate().unwrap().to_json(&b.rulebook);
        prop_assert_eq!(serde_json::to_string(&ra).unwrap(), serde_json::to_string(&rb).unwrap());
    }

    #[test]
    fn tiered_sums_are_continuous_and_non_decreasing(
        bounds in proptest::collection::btree_set(1i128..1_000_000 * E8, 1..6),
        rates in proptest::collection::vec(0i128..=E8, 6),
        unbounded in any::<bool>(), requirement in any::<bool>(),
        x in 0i128..2_000_000 * E8, dx in 0i128..1_000 * E8,
    ) {
        let mut rates: Vec<i128> = rates.into_iter().take(bounds.len()).collect();
        // Collateral rates run down, requirement rates up (SPEC §3.1).
        if requirement { rates.sort(); } else { rates.sort_by(|a, b| b.cmp(a)); }
        let n = bounds.len();
        let rows: Vec<Tier> = bounds.iter().zip(&rates).enumerate().map(|(i, (&b, &r))| Tier {
            up_to: if unbounded && i + 1 == n { None } else { Some(Dec::from_units(b)) },
            rate: Dec::from_units(r),
        }).collect();
        let kind = if requirement { TableKind::Requirement } else { TableKind::Collateral };
        let t = TierTable::new(rows, kind);
        let at = |u: i128| t.tiered(Dec::from_units(u).exact()).unwrap();
        let (lo, hi, step) = (at(x), at(x + dx), at(x + 1));
        prop_assert!(hi.try_cmp(lo).unwrap().is_ge(), "non-decreasing");
        // Continuity: one step of 10^-8 moves the sum by at most max_rate × 10^-8.
        let max_rate = Dec::from_units(*rates.iter().max().unwrap()).exact();
        let jump = step - lo;
        prop_assert!(!jump.is_negative().unwrap());
        prop_assert!(jump.try_cmp(max_rate * Dec::STEP.exact()).unwrap().is_le(), "jump {:?}", jump);
    }
}

/// The same scenario with every object's keys and the account's lists reordered.
fn shuffle(v: &Value, seed: u64) -> Value {
    let mut state = seed | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    fn go(v: &Value, next: &mut dyn FnMut() -> u64) -> Value {
        match v {
            Value::Object(m) => {
                let mut entries: Vec<(&String, &Value)> = m.iter().collect();
                for i in (1..entries.len()).rev() {
                    entries.swap(i, (next() % (i as u64 + 1)) as usize);
                }
                Value::Object(entries.into_iter().map(|(k, x)| (k.clone(), go(x, next))).collect())
            }
            Value::Array(a) => {
                let mut items: Vec<Value> = a.iter().map(|x| go(x, next)).collect();
                // Tier rows are ordered data; only account lists are sets.
                if items.iter().all(Value::is_object) {
                    for i in (1..items.len()).rev() {
                        items.swap(i, (next() % (i as u64 + 1)) as usize);
                    }
                }
                Value::Array(items)
            }
            other => other.clone(),
        }
    }
    go(v, &mut next)
}
