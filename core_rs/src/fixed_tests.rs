//! Whole evaluations by the fixed-scale fast paths against the general exact path:
//! the same result (or the same error) for random accounts and markets, with prices of
//! 0–8 fractional digits or missing, so that both the fast paths and their fallbacks run.

use crate::account::{FuturesAccount, FuturesMode, MarginAccount, MarginMode, Position, Status};
use crate::decimal::Dec;
use crate::market::Market;
use crate::rulebook::Rulebook;
use proptest::prelude::*;

fn rulebook() -> Rulebook {
    Rulebook::from_json_str(include_str!("../../bench/fixtures/rulebook.json")).unwrap()
}

/// Units of 10^-8 with up to `max_digits` digits, a multiple of a random power of ten.
fn units(max_digits: u32) -> impl Strategy<Value = i128> {
    (1u32..=max_digits, any::<u128>(), 0u32..=8).prop_map(|(digits, r, step)| {
        let p = 10i128.pow(step);
        (r % 10u128.pow(digits)) as i128 / p * p
    })
}

/// A market with the given prices: `pick` 0 leaves the price out, 1 keeps every digit,
/// otherwise the price keeps at most 4 fractional digits (the fast paths' form).
fn market(rb: &Rulebook, prices: &[(i128, u8)]) -> Market {
    let mut market = Market::empty(rb);
    for (a, &(p, pick)) in prices.iter().enumerate().take(rb.assets().len()) {
        let p = if pick > 1 { (p / 10_000).max(1) * 10_000 } else { p.max(1) };
        if Some(a) != rb.usdt() && pick != 0 && p <= 10i128.pow(17) {
            market.set_price(rb, a, Dec::from_units(p)).unwrap();
        }
    }
    market
}

/// A random position: contract pick, size, short, entry, mark, leverage, and `kind` (0:
/// no mark price; ≥ 35: isolated when the mode allows it).
type PositionDraw = (usize, i128, bool, i128, i128, u32, u8);

/// A futures account with `wallet` and the `positions` on distinct contracts, setting
/// their mark prices in `market`.
fn futures_account(
    rb: &Rulebook,
    market: &mut Market,
    multi: bool,
    wallet: &[(i128, bool)],
    positions: Vec<PositionDraw>,
) -> FuturesAccount {
    let n = rb.assets().len();
    let mut account = FuturesAccount {
        mode: if multi { FuturesMode::MultiAsset } else { FuturesMode::SingleAsset },
        region: None,
        status: Status::Active,
        wallet: wallet.iter().take(n).map(|&(w, neg)| Dec::from_units(if neg { -w } else { w })).collect(),
        positions: Vec::new(),
        orders: Vec::new(),
        sub_account: false,
        copy_trading: false,
    };
    for (c, size, short, entry, mark, leverage, kind) in positions {
        let contract = c % rb.contracts().len();
        if account.positions.iter().any(|p| p.contract == contract) {
            continue;
        }
        if kind != 0 {
            market.set_mark(contract, Dec::from_units(mark.max(1))).unwrap();
        }
        let isolated = !multi && kind >= 35;
        account.positions.push(Position {
            contract,
            size: Dec::from_units(if short { -size } else { size }),
            entry_price: Dec::from_units(entry.max(1)),
            leverage,
            isolated,
            isolated_margin: Dec::from_units(if isolated { entry } else { 0 }),
            airdrop: false,
        });
    }
    account
}

proptest! {
    #[test]
    fn margin_evaluation_is_the_same_by_the_fast_paths(
        pro in any::<bool>(),
        restricted in any::<bool>(),
        five in any::<bool>(),
        vip_level in 0u8..=9,
        holdings in proptest::collection::vec(units(17), 10),
        borrowed in proptest::collection::vec((units(16), units(8)), 10),
        prices in proptest::collection::vec((units(15), 0u8..40), 10),
    ) {
        let rb = rulebook();
        let n = rb.assets().len();
        let market = market(&rb, &prices);
        let borrowable = |a: usize| rb.asset(a).borrow.is_some();
        let m = MarginAccount {
            mode: if pro { MarginMode::Pro } else { MarginMode::Classic },
            region: Some(if restricted { "FR" } else { "JP" }.to_string()),
            status: Status::Active,
            holdings: holdings.iter().take(n).map(|&h| Dec::from_units(h)).collect(),
            borrowed: (0..n).map(|a| Dec::from_units(if borrowable(a) { borrowed[a].0 } else { 0 })).collect(),
            interest: (0..n).map(|a| Dec::from_units(if borrowable(a) { borrowed[a].1 } else { 0 })).collect(),
            orders: Vec::new(),
            classic_leverage: if five { 5 } else { 3 },
            mcr_classic: rb.settings.mcr_default_classic,
            mcr_pro: rb.settings.mcr_default_pro,
            pro_terms_accepted: true,
            vip_level,
        };
        let fast = crate::margin::evaluate_with(&rb, &market, &m, true);
        let general = crate::margin::evaluate_with(&rb, &market, &m, false);
        match (fast, general) {
            (Ok(x), Ok(y)) => prop_assert_eq!(x, y),
            (Err(e), Err(g)) => prop_assert_eq!(e.reason, g.reason),
            (x, y) => prop_assert!(false, "fast {:?} general {:?}", x.is_ok(), y.is_ok()),
        }
    }

    /// A futures evaluation, and the cross pools under it (`fixed_pool.rs`), are the same
    /// by the fixed-scale paths as by the general one, or both fail alike.
    #[test]
    fn futures_evaluation_and_pools_are_the_same_by_the_fast_paths(
        multi in any::<bool>(),
        wallet in proptest::collection::vec((units(17), any::<bool>()), 10),
        prices in proptest::collection::vec((units(15), 0u8..40), 10),
        positions in proptest::collection::vec(
            (0usize..20, units(16), any::<bool>(), units(15), units(15), 1u32..=125, 0u8..40),
            0..8),
    ) {
        let rb = rulebook();
        let mut market = market(&rb, &prices);
        let account = futures_account(&rb, &mut market, multi, &wallet, positions);
        let fast = crate::futures::evaluate_with(&rb, &market, &account, true);
        let general = crate::futures::evaluate_with(&rb, &market, &account, false);
        match (fast, general) {
            (Ok(x), Ok(y)) => prop_assert_eq!(x, y),
            (Err(e), Err(g)) => prop_assert_eq!(e.reason, g.reason),
            (x, y) => prop_assert!(false, "fast {:?} general {:?}", x.is_ok(), y.is_ok()),
        }
        let fast = crate::futures::pools_with(&rb, &market, &account, true);
        let general = crate::futures::pools_with(&rb, &market, &account, false);
        match (fast, general) {
            (Ok(x), Ok(y)) => {
                prop_assert_eq!(x.len(), y.len());
                for (p, q) in x.iter().zip(&y) {
                    prop_assert_eq!(p.id, q.id);
                    prop_assert!(p.em.try_cmp(q.em).unwrap().is_eq(), "EM {:?} {:?}", p.em, q.em);
                    prop_assert!(p.im.try_cmp(q.im).unwrap().is_eq(), "IM {:?} {:?}", p.im, q.im);
                    prop_assert!(p.mm.try_cmp(q.mm).unwrap().is_eq(), "MM {:?} {:?}", p.mm, q.mm);
                    prop_assert_eq!(p.assets().len(), q.assets().len());
                    for (a, b) in p.assets().iter().zip(q.assets()) {
                        prop_assert_eq!(a.asset, b.asset);
                        prop_assert!(a.equity.try_cmp(b.equity).unwrap().is_eq());
                        prop_assert!(a.value.try_cmp(b.value).unwrap().is_eq());
                    }
                }
            }
            (Err(e), Err(g)) => prop_assert_eq!(e.reason, g.reason),
            (x, y) => prop_assert!(false, "fast {:?} general {:?}", x.is_ok(), y.is_ok()),
        }
    }
}

#[test]
fn the_fixtures_take_the_fast_paths() {
    let rb = rulebook();
    for text in [
        include_str!("../../bench/fixtures/futures_multi.json"),
        include_str!("../../bench/fixtures/margin_pro.json"),
    ] {
        let doc: serde_json::Value = serde_json::from_str(text).unwrap();
        let s = crate::Scenario::from_json(&doc, Some(&rb)).unwrap();
        match &s.account {
            crate::account::Account::Futures(f) => {
                let raw = crate::fixed::cross_sums(&rb, &s.market, f).unwrap();
                assert!(crate::fixed_pool::cross_pools(&rb, &s.market, f, &raw, 0).is_some());
            }
            crate::account::Account::Margin(m) => {
                assert!(m.orders.is_empty());
                let restricted = rb.is_restricted(m.region.as_deref());
                let values = (&m.holdings[..], &m.borrowed[..], &m.interest[..]);
                let (mut hv, mut lv) = (Vec::new(), Vec::new());
                let fast = crate::fixed::margin_fixed(&rb, &s.market, restricted, values, &mut hv, &mut lv);
                assert!(fast.is_some());
            }
        }
    }
}
