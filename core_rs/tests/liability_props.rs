//! Property tests of the money flows (SPEC §7):
//! * a repayment reduces the debt by exactly A and the payer by exactly the cost, and the
//!   cost never favours the holder beyond rounding (`cost × p(s) × discount ≥ A × p(d)`,
//!   one step less would not be);
//! * repaying all leaves the liability exactly 0;
//! * threshold auto-repay never makes a payer negative and never over-repays;
//! * the interest charge is monotone in the debt;
//! * ledger cancellation leaves `locked ≤ holdings` with the fewest, newest orders.

mod common;

use common::*;
use multimargin_core::account::{Account, MarginOrder};
use multimargin_core::decimal::{Dec, Exact};
use multimargin_core::flows::{futures_hourly_interest, margin_hourly_interest};
use multimargin_core::liability::{ledger_entries, locked, RepayAmount};
use multimargin_core::margin::locked_by;
use multimargin_core::repay::{repay_futures, repay_margin, threshold_amount, threshold_auto_repay};
use proptest::prelude::*;
use serde_json::json;

const E8: i128 = 100_000_000;

fn s(units: i128) -> String {
    Dec::from_units(units).to_string()
}

fn value_ge(a: Exact, b: Exact) -> bool {
    a.try_cmp(b).unwrap().is_ge()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn futures_repay_conserves_value(
        debt in 1i128..=2_000_000 * E8,
        frac in 1u32..=1000,
        btc_price in E8..=200_000 * E8,
        discount in E8 / 100..=E8,
        spare in 0i128..=10 * E8,
    ) {
        let rb = rulebook(&s(discount));
        let m = market(&rb, json!({"BTC": s(btc_price)}));
        let a_units = (debt * i128::from(frac) / 1000).max(1);
        // A wallet of BTC that covers the cost, plus some spare.
        let cost_units = (a_units * E8).div_euclid(btc_price * discount / E8 + 1) + 2 * E8 + spare;
        let acct = account(&rb, json!({"kind": "FUTURES", "mode": "MULTI_ASSET",
                                       "wallet": {"USDT": s(-debt), "BTC": s(cost_units.min(1_000_000_000 * E8))}}));
        let (usdt, btc) = (id(&rb, "USDT"), id(&rb, "BTC"));
        let amount = Dec::from_units(a_units);
        match repay_futures(&rb, &m, &acct, usdt, btc, RepayAmount::Exactly(amount)) {
            Ok(flow) => {
                let r = &flow.records[0];
                let cost = r.payer_amount.unwrap();
                prop_assert_eq!(r.amount, amount);
                prop_assert_eq!(wallet(&flow.account, &rb, "USDT").units(), -debt + a_units);
                let btc_before = wallet(&acct, &rb, "BTC").units();
                prop_assert_eq!(wallet(&flow.account, &rb, "BTC").units(), btc_before - cost.units());
                let pay = |c: Dec| c.exact() * Dec::from_units(btc_price) * Dec::from_units(discount);
                prop_assert!(value_ge(pay(cost), amount.exact()));
                prop_assert!(!value_ge(pay(Dec::from_units(cost.units() - 1)), amount.exact()) || cost.is_zero());
            }
            Err(e) => {
                // Only the margin rule may refuse a repayment the wallet can afford.
                prop_assert_eq!(e.reason, multimargin_core::error::Reason::InsufficientMargin);
            }
        }
    }

    #[test]
    fn margin_repay_all_leaves_zero(
        borrowed in 0i128..=1_000_000 * E8,
        interest in 0i128..=1_000 * E8,
        extra in 0i128..=1_000 * E8,
    ) {
        prop_assume!(borrowed + interest > 0);
        let rb = rulebook("0.95");
        let m = market(&rb, json!({"BTC": "60000"}));
        let holdings = borrowed + interest + extra;
        let acct = account(&rb, json!({"kind": "MARGIN", "holdings": {"USDT": s(holdings)},
                                       "borrowed": {"USDT": s(borrowed)}, "interest": {"USDT": s(interest)}}));
        let flow = repay_margin(&rb, &m, &acct, id(&rb, "USDT"), None, RepayAmount::All).unwrap();
        let (h, b, i) = margin_parts(&flow.account, &rb, "USDT");
        prop_assert_eq!((b, i), (Dec::ZERO, Dec::ZERO));
        prop_assert_eq!(h.units(), extra);
        let r = &flow.records[0];
        let split = (r.interest_repaid.unwrap().units(), r.principal_repaid.unwrap().units());
        prop_assert_eq!(split, (interest, borrowed));
    }

    #[test]
    fn auto_repay_never_negative_never_over_repays(
        debt in 0i128..=200_000 * E8,
        btc in 0i128..=2 * E8,
        alt in 0i128..=50_000 * E8,
        usdc in 0i128..=50_000 * E8,
        btc_price in E8..=100_000 * E8,
        alt_price in 1i128..=10 * E8,
        discount in 1i128..=E8,
    ) {
        let rb = rulebook(&s(discount));
        let m = market(&rb, json!({"BTC": s(btc_price), "ALT": s(alt_price), "USDC": "1"}));
        let acct = account(&rb, json!({"kind": "FUTURES", "mode": "MULTI_ASSET",
            "wallet": {"USDT": s(-debt), "BTC": s(btc), "ALT": s(alt), "USDC": s(usdc)}}));
        let flow = threshold_auto_repay(&rb, &m, &acct).unwrap();
        let target = threshold_amount(Dec::from_units(debt), d("50000"), d("0.5")).unwrap();
        let mut covered = 0i128;
        for r in &flow.records {
            let payer = r.payer.unwrap();
            let paid = r.payer_amount.unwrap();
            // The payment is worth at least what it covers (never in the holder's favour).
            let worth = paid.exact() * r.payer_price.unwrap() * r.discount.unwrap();
            prop_assert!(value_ge(worth, r.amount.exact() * r.debt_price.unwrap()));
            prop_assert!(r.amount.is_positive() && paid.is_positive());
            let Account::Futures(f) = &flow.account else { unreachable!() };
            prop_assert!(!f.wallet[payer].is_negative());
            covered += r.amount.units();
        }
        prop_assert_eq!(wallet(&flow.account, &rb, "USDT").units(), -debt + covered);
        match target {
            None => prop_assert!(flow.records.is_empty()),
            Some(t) => {
                prop_assert!(covered <= t.units());
                // Short of the target only when every priced payer was used up (or
                // could not cover a single 10^-8).
                if covered < t.units() {
                    for code in ["BTC", "ALT", "USDC"] {
                        let w = wallet(&flow.account, &rb, code);
                        let before = wallet(&acct, &rb, code);
                        prop_assert!(w == before || w.is_zero(), "{} partly used", code);
                    }
                }
            }
        }
    }

    #[test]
    fn interest_is_monotone_in_debt(
        a in 0i128..=1_000_000_000 * E8,
        b in 0i128..=1_000_000_000 * E8,
        free in 0i128..=1_000_000 * E8,
        rate in 0i128..=E8 / 100,
    ) {
        let (lo, hi) = (Dec::from_units(a.min(b)), Dec::from_units(a.max(b)));
        let (free, rate) = (Dec::from_units(free), Dec::from_units(rate));
        let fut = |x: Dec| futures_hourly_interest(x, free, rate).unwrap();
        prop_assert!(fut(lo) <= fut(hi));
        prop_assert!(margin_hourly_interest(lo, rate).unwrap() <= margin_hourly_interest(hi, rate).unwrap());
    }

    #[test]
    fn ledger_cancellation_is_minimal_and_newest_first(
        holdings in 0i128..=10_000 * E8,
        orders in proptest::collection::vec((any::<bool>(), 1i128..=10 * E8, E8..=500 * E8), 0..12),
        spend in 1i128..=10_000 * E8,
    ) {
        let rb = rulebook("0.95");
        let order_json: Vec<_> = orders.iter().map(|(buy, q, p)| json!({
            "base": "BTC", "quote": "USDT", "side": if *buy { "BUY" } else { "SELL" },
            "price": s(*p), "quantity": s(*q)})).collect();
        let acct = account(&rb, json!({"kind": "MARGIN", "holdings": {"USDT": s(holdings + spend), "BTC": "20"},
                                       "orders": order_json}));
        let Account::Margin(before) = &acct else { unreachable!() };
        let usdt = id(&rb, "USDT");
        let flow = ledger_entries(&rb, &acct, &[(usdt, Dec::from_units(-spend))]).unwrap();
        let Account::Margin(after) = &flow.account else { unreachable!() };
        // The cancelled orders are kept out, the others kept in order.
        let kept: Vec<&MarginOrder> = before.orders.iter().enumerate()
            .filter(|(i, _)| !flow.cancelled.contains(i)).map(|(_, o)| o).collect();
        prop_assert_eq!(kept, after.orders.iter().collect::<Vec<_>>());
        for (a, &l) in locked(&rb, after).iter().enumerate() {
            let holdings = after.holdings[a].exact();
            prop_assert!(value_ge(holdings, l), "locked > holdings for asset {}", a);
            let locking: Vec<usize> = (0..before.orders.len())
                .filter(|&i| locked_by(&before.orders[i]).0 == a).collect();
            let gone: Vec<usize> = locking.iter().copied().filter(|i| flow.cancelled.contains(i)).collect();
            // Newest first: the cancelled ones are the newest of those locking `a` ...
            prop_assert_eq!(&gone[..], &locking[locking.len() - gone.len()..]);
            // ... and one fewer would not have been enough.
            if let Some(&oldest) = gone.first() {
                prop_assert!(!value_ge(holdings, l + locked_by(&before.orders[oldest]).1));
            }
        }
    }
}
