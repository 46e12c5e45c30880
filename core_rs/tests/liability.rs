//! SPEC §7 worked examples and every refusal of the money flows (liability.rs,
//! repay.rs, risk_events.rs).

mod common;

use common::*;
use multimargin_core::account::{Account, Status};
use multimargin_core::error::Reason;
use multimargin_core::liability::{
    borrow, free, interest_hour, ledger_entries, locked, transfer_in, transfer_out, RecordKind, RepayAmount,
};
use multimargin_core::repay::{repay_futures, repay_margin, threshold_amount, threshold_auto_repay};
use multimargin_core::result::PoolId;
use multimargin_core::risk_events::{may_end_liquidation, transition, RiskAction};
use serde_json::json;

fn refusal<T: std::fmt::Debug>(r: multimargin_core::error::Result<T>) -> (Reason, String) {
    let e = r.unwrap_err();
    (e.reason, e.field.unwrap_or_default())
}

// ---- §7.1 interest ---------------------------------------------------------------------

#[test]
fn margin_interest_example_borrow_then_one_boundary() {
    // 1,000 USDC at 0.00001/h, borrowed 13:20 (first hour at once), 14:00 boundary → 0.02.
    let rb = rulebook("0.95");
    let m = market(&rb, json!({"USDC": "1", "BTC": "60000"}));
    let a = account(&rb, json!({"kind": "MARGIN", "holdings": {"BTC": "1"}}));
    let usdc = id(&rb, "USDC");
    let f = borrow(&rb, &m, &a, usdc, d("1000")).unwrap();
    assert_eq!(margin_parts(&f.account, &rb, "USDC"), (d("1000"), d("1000"), d("0.01")));
    let r = &f.records[0];
    assert_eq!(
        (r.kind, r.asset, r.amount, r.base, r.rate),
        (RecordKind::Interest, usdc, d("0.01"), Some(d("1000")), Some(d("0.00001")))
    );
    let h = interest_hour(&rb, &f.account).unwrap();
    assert_eq!(margin_parts(&h.account, &rb, "USDC"), (d("1000"), d("1000"), d("0.02")));
    assert_eq!(h.records.len(), 1);
    assert_eq!(h.records[0].amount, d("0.01"));
    // Repaid at 14:15: everything owed is 1,000.02; the holder needs 0.02 more USDC.
    let short = refusal(repay_margin(&rb, &m, &h.account, usdc, None, RepayAmount::All));
    assert_eq!(short, (Reason::InsufficientBalance, "amount".into()));
    let topped = transfer_in(&h.account, usdc, d("0.02")).unwrap().account;
    let paid = repay_margin(&rb, &m, &topped, usdc, None, RepayAmount::All).unwrap();
    assert_eq!(margin_parts(&paid.account, &rb, "USDC"), (d("0"), d("0"), d("0")));
    let r = &paid.records[0];
    assert_eq!(
        (r.amount, r.interest_repaid, r.principal_repaid),
        (d("1000.02"), Some(d("0.02")), Some(d("1000")))
    );
}

#[test]
fn futures_interest_example() {
    // USDT wallet −1,000, interest-free 100, 0.00001/h → 0.009 per hour.
    let rb = rulebook("0.95");
    let a = account(&rb, json!({"kind": "FUTURES", "wallet": {"USDT": "-1000", "BTC": "1"}}));
    let f = interest_hour(&rb, &a).unwrap();
    assert_eq!(wallet(&f.account, &rb, "USDT"), d("-1000.009"));
    assert_eq!(wallet(&f.account, &rb, "BTC"), d("1"));
    let r = &f.records[0];
    assert_eq!(
        (r.kind, r.amount, r.base, r.interest_free),
        (RecordKind::Interest, d("0.009"), Some(d("900")), Some(d("100")))
    );
    // A debt within the interest-free quantity, or an asset without a liability section,
    // is not charged.
    let a = account(
        &rb,
        json!({"kind": "FUTURES", "mode": "MULTI_ASSET", "wallet": {"USDT": "-100", "ALT": "5"}}),
    );
    assert!(interest_hour(&rb, &a).unwrap().records.is_empty());
}

// ---- §7.2 / §7.3 repayment ------------------------------------------------------------

#[test]
fn conversion_example_manual_futures_repay() {
    // Repaying 1,000 USDT with BTC at 30,000 and discount 0.9 costs 0.03703704 BTC.
    let rb = rulebook("0.9");
    let m = market(&rb, json!({"BTC": "30000"}));
    let a = account(
        &rb,
        json!({"kind": "FUTURES", "mode": "MULTI_ASSET", "wallet": {"USDT": "-1000", "BTC": "1"}}),
    );
    let (usdt, btc) = (id(&rb, "USDT"), id(&rb, "BTC"));
    let f = repay_futures(&rb, &m, &a, usdt, btc, RepayAmount::Exactly(d("1000"))).unwrap();
    assert_eq!(wallet(&f.account, &rb, "USDT"), d("0"));
    assert_eq!(wallet(&f.account, &rb, "BTC"), d("0.96296296"));
    let r = &f.records[0];
    assert_eq!(r.kind, RecordKind::RepayManual);
    assert_eq!((r.payer, r.payer_amount), (Some(btc), Some(d("0.03703704"))));
    assert_eq!((r.debt_price, r.payer_price, r.discount), (Some(d("1")), Some(d("30000")), Some(d("0.9"))));
    // ALL repays debt[d].
    let all = repay_futures(&rb, &m, &a, usdt, btc, RepayAmount::All).unwrap();
    assert_eq!(all.account, f.account);
}

#[test]
fn futures_repay_refusals() {
    let rb = rulebook("0.9");
    let m = market(&rb, json!({"BTC": "30000", "ALT": "1"}));
    let (usdt, btc, alt, usdc) = (id(&rb, "USDT"), id(&rb, "BTC"), id(&rb, "ALT"), id(&rb, "USDC"));
    let a = account(
        &rb,
        json!({"kind": "FUTURES", "mode": "MULTI_ASSET", "wallet": {"USDT": "-1000", "BTC": "0.01"}}),
    );
    let x = |amt: &str| RepayAmount::Exactly(d(amt));
    assert_eq!(
        refusal(repay_futures(&rb, &m, &a, usdt, usdt, x("1"))),
        (Reason::InvalidArgument, "payer_asset".into())
    );
    assert_eq!(
        refusal(repay_futures(&rb, &m, &a, usdt, btc, x("1000.00000001"))),
        (Reason::OutOfRange, "amount".into())
    );
    assert_eq!(
        refusal(repay_futures(&rb, &m, &a, btc, usdt, RepayAmount::All)),
        (Reason::OutOfRange, "all".into())
    );
    assert_eq!(refusal(repay_futures(&rb, &m, &a, usdt, btc, x("0"))), (Reason::OutOfRange, "amount".into()));
    // 0.01 BTC covers 270 USDT at most.
    assert_eq!(
        refusal(repay_futures(&rb, &m, &a, usdt, btc, x("271"))),
        (Reason::InsufficientBalance, "payer_asset".into())
    );
    assert!(repay_futures(&rb, &m, &a, usdt, btc, x("270")).is_ok());
    // Missing prices name the request field.
    let no_btc = market(&rb, json!({}));
    assert_eq!(
        refusal(repay_futures(&rb, &no_btc, &a, usdt, btc, x("1"))),
        (Reason::PriceUnavailable, "payer_asset".into())
    );
    let b = account(
        &rb,
        json!({"kind": "FUTURES", "mode": "MULTI_ASSET", "wallet": {"USDC": "-10", "USDT": "100"}}),
    );
    assert_eq!(
        refusal(repay_futures(&rb, &no_btc, &b, usdc, usdt, x("1"))),
        (Reason::PriceUnavailable, "asset".into())
    );
    // ALT is full collateral but pays at a 0.5 discount: paying loses value. EM 200,
    // MM 100 → after repaying 150: EM 50, MM 98.5 → liquidatable, so refused.
    let c = account(
        &rb,
        json!({"kind": "FUTURES", "mode": "MULTI_ASSET", "wallet": {"USDT": "-10000", "ALT": "10200"}}),
    );
    assert_eq!(
        refusal(repay_futures(&rb, &m, &c, usdt, alt, x("150"))),
        (Reason::InsufficientMargin, "amount".into())
    );
    assert!(repay_futures(&rb, &m, &c, usdt, alt, x("50")).is_ok());
    // Margin accounts use Repay, not RepayLiability.
    let mm = account(&rb, json!({"kind": "MARGIN"}));
    assert_eq!(
        refusal(repay_futures(&rb, &m, &mm, usdt, btc, x("1"))),
        (Reason::InvalidArgument, "account_id".into())
    );
}

#[test]
fn threshold_auto_repay_example() {
    // USDT debt 60,000, threshold 50,000, ratio 0.5 → A = 35,000; BTC at 60,000 with
    // discount 0.95 pays 0.61403509 BTC; the debt becomes 25,000.
    assert_eq!(threshold_amount(d("60000"), d("50000"), d("0.5")).unwrap(), Some(d("35000")));
    assert_eq!(threshold_amount(d("50000"), d("50000"), d("0.5")).unwrap(), None);
    let rb = rulebook("0.95");
    let m = market(&rb, json!({"BTC": "60000"}));
    let a = account(
        &rb,
        json!({"kind": "FUTURES", "mode": "MULTI_ASSET", "wallet": {"USDT": "-60000", "BTC": "2"}}),
    );
    let f = threshold_auto_repay(&rb, &m, &a).unwrap();
    assert_eq!(wallet(&f.account, &rb, "USDT"), d("-25000"));
    assert_eq!(wallet(&f.account, &rb, "BTC"), d("1.38596491"));
    assert_eq!(f.records.len(), 1);
    let r = &f.records[0];
    assert_eq!(
        (r.kind, r.amount, r.payer_amount),
        (RecordKind::RepayThreshold, d("35000"), Some(d("0.61403509")))
    );
    assert_eq!((r.debt_price, r.payer_price, r.discount), (Some(d("1")), Some(d("60000")), Some(d("0.95"))));
}

#[test]
fn threshold_auto_repay_walks_payers_and_skips_unpriced() {
    let rb = rulebook("0.95");
    let (btc, alt, usdc) = (id(&rb, "BTC"), id(&rb, "ALT"), id(&rb, "USDC"));
    // BTC (first payer) covers floor8(0.1 × 60,000 × 0.95) = 5,700; ALT 10,000 × 0.5 =
    // 5,000 more; USDC pays the remaining 24,300 at par.
    let m = market(&rb, json!({"BTC": "60000", "ALT": "1", "USDC": "1"}));
    let a = account(
        &rb,
        json!({"kind": "FUTURES", "mode": "MULTI_ASSET",
                                "wallet": {"USDT": "-60000", "BTC": "0.1", "ALT": "10000", "USDC": "100000"}}),
    );
    let f = threshold_auto_repay(&rb, &m, &a).unwrap();
    let got: Vec<_> =
        f.records.iter().map(|r| (r.payer.unwrap(), r.amount, r.payer_amount.unwrap())).collect();
    assert_eq!(
        got,
        vec![(btc, d("5700"), d("0.1")), (alt, d("5000"), d("10000")), (usdc, d("24300"), d("24300"))]
    );
    assert_eq!(wallet(&f.account, &rb, "USDT"), d("-25000"));
    // Without a BTC price, BTC is skipped; payers running out repay what they covered.
    let m2 = market(&rb, json!({"ALT": "1"}));
    let b = account(
        &rb,
        json!({"kind": "FUTURES", "mode": "MULTI_ASSET", "wallet": {"USDT": "-60000", "BTC": "5", "ALT": "10000"}}),
    );
    let g = threshold_auto_repay(&rb, &m2, &b).unwrap();
    assert_eq!(g.records.len(), 1);
    assert_eq!(wallet(&g.account, &rb, "USDT"), d("-55000"));
    assert_eq!(wallet(&g.account, &rb, "ALT"), d("0"));
    assert_eq!(wallet(&g.account, &rb, "BTC"), d("5"));
}

#[test]
fn transfer_in_repays_first() {
    let rb = rulebook("0.95");
    let usdt = id(&rb, "USDT");
    let a = account(&rb, json!({"kind": "FUTURES", "wallet": {"USDT": "-100"}}));
    let f = transfer_in(&a, usdt, d("150")).unwrap();
    assert_eq!(wallet(&f.account, &rb, "USDT"), d("50"));
    let r = &f.records[0];
    assert_eq!((r.kind, r.amount, r.payer_amount), (RecordKind::RepayTransferIn, d("100"), Some(d("100"))));
    let g = transfer_in(&a, usdt, d("40")).unwrap();
    assert_eq!((wallet(&g.account, &rb, "USDT"), g.records[0].amount), (d("-60"), d("40")));
    let h = transfer_in(&f.account, usdt, d("1")).unwrap();
    assert!(h.records.is_empty());
    // The resulting balance must stay within 10^15.
    let big = account(&rb, json!({"kind": "FUTURES", "wallet": {"USDT": "1000000000000000"}}));
    assert_eq!(refusal(transfer_in(&big, usdt, d("0.00000001"))), (Reason::OutOfRange, "amount".into()));
    let mbig = account(&rb, json!({"kind": "MARGIN", "holdings": {"USDT": "999999999999999"}}));
    assert_eq!(refusal(transfer_in(&mbig, usdt, d("2"))), (Reason::OutOfRange, "amount".into()));
    assert_eq!(
        wallet(&transfer_in(&mbig, usdt, d("1")).unwrap().account, &rb, "USDT"),
        d("1000000000000000")
    );
}

#[test]
fn transfer_out_refusals() {
    let rb = rulebook("0.95");
    let m = market(&rb, json!({"BTC": "60000"}));
    let usdt = id(&rb, "USDT");
    let a = account(&rb, json!({"kind": "MARGIN", "holdings": {"USDT": "1000"}}));
    assert_eq!(wallet(&transfer_out(&rb, &m, &a, usdt, d("1000")).unwrap().account, &rb, "USDT"), d("0"));
    assert_eq!(
        refusal(transfer_out(&rb, &m, &a, usdt, d("1000.00000001"))),
        (Reason::ExceedsMaxTransfer, "amount".into())
    );
    let l = account(&rb, json!({"kind": "MARGIN", "status": "LIQUIDATING", "holdings": {"USDT": "1000"}}));
    assert_eq!(refusal(transfer_out(&rb, &m, &l, usdt, d("1"))).0, Reason::AccountLiquidating);
    let f = account(&rb, json!({"kind": "FUTURES", "wallet": {"USDT": "5"}}));
    assert_eq!(wallet(&transfer_out(&rb, &m, &f, usdt, d("5")).unwrap().account, &rb, "USDT"), d("0"));
    assert_eq!(
        refusal(transfer_out(&rb, &m, &f, usdt, d("6"))),
        (Reason::ExceedsMaxTransfer, "amount".into())
    );
}

#[test]
fn borrow_refusals() {
    let rb = rulebook("0.95");
    let m = market(&rb, json!({"BTC": "60000"}));
    let (usdt, alt) = (id(&rb, "USDT"), id(&rb, "ALT"));
    let a = account(&rb, json!({"kind": "MARGIN", "holdings": {"USDT": "1000"}}));
    // Classic 3x: CV ≥ 1.5 × TL → max borrow 2,000 USDT.
    assert!(borrow(&rb, &m, &a, usdt, d("2000")).is_ok());
    assert_eq!(
        refusal(borrow(&rb, &m, &a, usdt, d("2000.00000001"))),
        (Reason::ExceedsMaxBorrow, "amount".into())
    );
    assert_eq!(refusal(borrow(&rb, &m, &a, alt, d("1"))), (Reason::ExceedsMaxBorrow, "amount".into()));
    let l = account(&rb, json!({"kind": "MARGIN", "status": "LIQUIDATING", "holdings": {"USDT": "1000"}}));
    assert_eq!(refusal(borrow(&rb, &m, &l, usdt, d("1"))).0, Reason::AccountLiquidating);
    let f = account(&rb, json!({"kind": "FUTURES"}));
    assert_eq!(refusal(borrow(&rb, &m, &f, usdt, d("1"))), (Reason::InvalidArgument, "account_id".into()));
}

#[test]
fn margin_repay_with_payer_and_refusals() {
    let rb = rulebook("0.9");
    let m = market(&rb, json!({"BTC": "30000"}));
    let (usdt, btc) = (id(&rb, "USDT"), id(&rb, "BTC"));
    let a = account(
        &rb,
        json!({"kind": "MARGIN", "holdings": {"BTC": "1", "USDT": "10"},
                                "borrowed": {"USDT": "1000"}, "interest": {"USDT": "5"},
                                "orders": [{"base": "BTC", "quote": "USDT", "side": "SELL", "price": "40000",
                                            "quantity": "0.98"}]}),
    );
    // Interest first, then principal; BTC pays at 30,000 × 0.9 from its free 0.02.
    let f = repay_margin(&rb, &m, &a, usdt, Some(btc), RepayAmount::Exactly(d("300"))).unwrap();
    assert_eq!(margin_parts(&f.account, &rb, "USDT"), (d("10"), d("705"), d("0")));
    assert_eq!(margin_parts(&f.account, &rb, "BTC").0, d("0.98888888"));
    let r = &f.records[0];
    assert_eq!(
        (r.interest_repaid, r.principal_repaid, r.payer_amount),
        (Some(d("5")), Some(d("295")), Some(d("0.01111112")))
    );
    // 0.02 free BTC covers at most 540 USDT.
    assert_eq!(
        refusal(repay_margin(&rb, &m, &a, usdt, Some(btc), RepayAmount::Exactly(d("541")))),
        (Reason::InsufficientBalance, "payer_asset".into())
    );
    assert_eq!(
        refusal(repay_margin(&rb, &m, &a, usdt, None, RepayAmount::Exactly(d("11")))),
        (Reason::InsufficientBalance, "amount".into())
    );
    assert_eq!(
        refusal(repay_margin(&rb, &m, &a, usdt, None, RepayAmount::Exactly(d("1005.00000001")))),
        (Reason::OutOfRange, "amount".into())
    );
    assert_eq!(
        refusal(repay_margin(&rb, &m, &a, btc, None, RepayAmount::All)),
        (Reason::OutOfRange, "all".into())
    );
    // A payer equal to the asset is no conversion.
    let g = repay_margin(&rb, &m, &a, usdt, Some(usdt), RepayAmount::Exactly(d("7"))).unwrap();
    assert_eq!(margin_parts(&g.account, &rb, "USDT"), (d("3"), d("998"), d("0")));
    assert_eq!(g.records[0].discount, None);
    // Prices are needed only for a conversion.
    let none = market(&rb, json!({}));
    assert!(repay_margin(&rb, &none, &a, usdt, None, RepayAmount::Exactly(d("1"))).is_ok());
    assert_eq!(
        refusal(repay_margin(&rb, &none, &a, usdt, Some(btc), RepayAmount::Exactly(d("1")))),
        (Reason::PriceUnavailable, "payer_asset".into())
    );
}

#[test]
fn free_and_locked() {
    let rb = rulebook("0.95");
    let (usdt, btc) = (id(&rb, "USDT"), id(&rb, "BTC"));
    let a = account(
        &rb,
        json!({"kind": "MARGIN", "holdings": {"BTC": "1", "USDT": "100"},
        "orders": [{"base": "BTC", "quote": "USDT", "side": "BUY", "price": "30000.5", "quantity": "0.00000003"},
                   {"base": "BTC", "quote": "USDT", "side": "SELL", "price": "1", "quantity": "2"}]}),
    );
    let Account::Margin(mm) = &a else { panic!() };
    let l = locked(&rb, mm);
    assert_eq!((l[usdt].ceil8().unwrap(), l[btc].ceil8().unwrap()), (d("0.00090002"), d("2")));
    let fr = free(&rb, mm).unwrap();
    assert_eq!((fr[usdt].floor8().unwrap(), fr[btc].floor8().unwrap()), (d("99.99909998"), d("0")));
}

// ---- §7.4 ledger entries ---------------------------------------------------------------

#[test]
fn ledger_entries_refusals() {
    let rb = rulebook("0.95");
    let (usdt, btc, alt) = (id(&rb, "USDT"), id(&rb, "BTC"), id(&rb, "ALT"));
    let m = account(&rb, json!({"kind": "MARGIN", "holdings": {"USDT": "10"}}));
    // The batch is one change: only the resulting balances are checked, at the last entry.
    let f = ledger_entries(&rb, &m, &[(usdt, d("-15")), (btc, d("1")), (usdt, d("6"))]).unwrap();
    assert_eq!((wallet(&f.account, &rb, "USDT"), wallet(&f.account, &rb, "BTC")), (d("1"), d("1")));
    assert_eq!(
        refusal(ledger_entries(&rb, &m, &[(usdt, d("-15")), (btc, d("1")), (usdt, d("4"))])),
        (Reason::InsufficientBalance, "entries[2].amount".into())
    );
    assert_eq!(
        refusal(ledger_entries(&rb, &m, &[(btc, d("1")), (usdt, d("0"))])),
        (Reason::OutOfRange, "entries[1].amount".into())
    );
    assert_eq!(
        refusal(ledger_entries(&rb, &m, &[(btc, d("1000000000000000")), (btc, d("1"))])),
        (Reason::OutOfRange, "entries[1].amount".into())
    );
    // Futures SINGLE_ASSET: a settlement asset may go negative, others may not.
    let f = account(&rb, json!({"kind": "FUTURES", "wallet": {"USDT": "1", "ALT": "1"}}));
    assert_eq!(wallet(&ledger_entries(&rb, &f, &[(usdt, d("-5"))]).unwrap().account, &rb, "USDT"), d("-4"));
    assert_eq!(
        refusal(ledger_entries(&rb, &f, &[(alt, d("-2"))])),
        (Reason::InsufficientBalance, "entries[0].amount".into())
    );
    let multi = account(&rb, json!({"kind": "FUTURES", "mode": "MULTI_ASSET", "wallet": {"ALT": "1"}}));
    assert_eq!(wallet(&ledger_entries(&rb, &multi, &[(alt, d("-2"))]).unwrap().account, &rb, "ALT"), d("-1"));
    assert_eq!(
        refusal(ledger_entries(&rb, &multi, &[(alt, d("-1000000000000002"))])),
        (Reason::OutOfRange, "entries[0].amount".into())
    );
}

#[test]
fn ledger_entries_cancel_newest_orders_locking_the_asset() {
    let rb = rulebook("0.95");
    let usdt = id(&rb, "USDT");
    let order = |side: &str, qty: &str| json!({"base": "BTC", "quote": "USDT", "side": side, "price": "100", "quantity": qty});
    let a = account(
        &rb,
        json!({"kind": "MARGIN", "holdings": {"USDT": "1000", "BTC": "1"},
        "orders": [order("BUY", "3"), order("SELL", "1"), order("BUY", "4"), order("BUY", "2")]}),
    );
    // Locked USDT 900; holdings fall to 450 → cancel order 3 (200), then order 2 (400):
    // locked 300 ≤ 450. The SELL (locks BTC) and the oldest BUY stay.
    let f = ledger_entries(&rb, &a, &[(usdt, d("-550"))]).unwrap();
    assert_eq!(f.cancelled, vec![3, 2]);
    let Account::Margin(m) = &f.account else { panic!() };
    assert_eq!(m.orders.len(), 2);
    assert_eq!(m.orders[0].quantity, d("3"));
    assert_eq!(m.orders[1].quantity, d("1"));
    // Holdings still cover locked: nothing cancelled.
    assert!(ledger_entries(&rb, &a, &[(usdt, d("-100"))]).unwrap().cancelled.is_empty());
}

// ---- §8 transition ---------------------------------------------------------------------

#[test]
fn transition_cancels_then_liquidates() {
    let rb = rulebook("0.95");
    let m = market(&rb, json!({"BTC": "60000"}));
    // EM 1,000 vs MM 0.005 × 60,000 × 3 = 900 (orders add IM, never MM): not liquidatable.
    let pos = json!({"symbol": "BTCUSDT", "size": "3", "entry_price": "60000", "leverage": 100});
    let order = json!({"symbol": "BTCUSDT", "side": "BUY", "price": "60000", "quantity": "1"});
    let fine = account(
        &rb,
        json!({"kind": "FUTURES", "wallet": {"USDT": "1000"}, "positions": [pos], "orders": [order]}),
    );
    let t = transition(&rb, &m, &fine).unwrap().unwrap();
    assert_eq!((t.action, t.liquidatable, t.margin_call), (RiskAction::None, false, false));
    let fig = t.figures.unwrap();
    assert_eq!(
        (fig.pool, fig.numerator, fig.denominator, fig.threshold),
        (Some(PoolId::Settlement(id(&rb, "USDT"))), d("1000"), d("900"), d("1"))
    );
    // Wallet 800: liquidatable; the order adds no MM, so cancelling does not help.
    let bad = account(
        &rb,
        json!({"kind": "FUTURES", "wallet": {"USDT": "800"}, "positions": [pos], "orders": [order]}),
    );
    let t = transition(&rb, &m, &bad).unwrap().unwrap();
    assert_eq!(
        (t.action, t.cancelled.clone(), t.liquidatable),
        (RiskAction::LiquidationStarted, vec![0], true)
    );
    let Account::Futures(f) = &t.account else { panic!() };
    assert_eq!((f.status, f.orders.len()), (Status::Liquidating, 0));
    assert_eq!(t.figures.as_ref().unwrap().margin_level, Some(d("0.88888888").into()));
    assert!(!t.may_end_liquidation());
    // Already liquidating: evaluated only.
    let t2 = transition(&rb, &m, &t.account).unwrap().unwrap();
    assert_eq!((t2.action, t2.account), (RiskAction::None, t.account));
    // Missing mark: unknown, the account is left alone.
    let no_marks = multimargin_core::account::Market::from_json(&rb, None, None).unwrap();
    assert!(transition(&rb, &no_marks, &bad).unwrap().is_none());
    assert_eq!(may_end_liquidation(&rb, &no_marks, &bad).unwrap_err().reason, Reason::PriceUnavailable);
}

#[test]
fn transition_orders_cancelled_for_margin_pro() {
    let rb = rulebook("0.95");
    let m = market(&rb, json!({"BTC": "60000"}));
    // Pro: holdings 1,200 USDT, borrowed 1,000 USDT → NC 200, MM 30. A BUY of 0.003 BTC
    // at twice its price has OOL 0.003 × 60,000 × (2 − 0.95) = 189 → NC − OOL = 11 ≤ 30:
    // liquidatable; cancelling it clears the loss.
    let a = account(
        &rb,
        json!({"kind": "MARGIN", "mode": "PRO", "holdings": {"USDT": "1200"}, "borrowed": {"USDT": "1000"},
        "orders": [{"base": "BTC", "quote": "USDT", "side": "BUY", "price": "120000", "quantity": "0.003"}]}),
    );
    let t = transition(&rb, &m, &a).unwrap().unwrap();
    assert_eq!(
        (t.action, t.cancelled.clone(), t.liquidatable),
        (RiskAction::OrdersCancelled, vec![0], false)
    );
    let fig = t.figures.unwrap();
    assert_eq!(
        (fig.numerator, fig.denominator, fig.threshold, fig.margin_call_ratio),
        (d("11"), d("30"), d("1"), Some(d("1.5")))
    );
    assert!(!t.margin_call, "NC 200 > 1.5 × MM 30 after cancelling");
    let Account::Margin(mm) = &t.account else { panic!() };
    assert_eq!((mm.status, mm.orders.len()), (Status::Active, 0));
}

#[test]
fn conversions_beyond_the_reported_decimal_refuse_or_cover_exactly() {
    // BTC at 10^-8 with discount 10^-8: repaying 10^15 USDT would cost 10^31 BTC, beyond
    // `Dec`'s range — a plain refusal (SPEC §1: no overflow on in-range input).
    let rb = rulebook("0.00000001");
    let m = market(&rb, json!({"BTC": "0.00000001"}));
    let (usdt, btc) = (id(&rb, "USDT"), id(&rb, "BTC"));
    let big = "1000000000000000";
    let f = account(
        &rb,
        json!({"kind": "FUTURES", "mode": "MULTI_ASSET", "wallet": {"USDT": format!("-{big}"), "BTC": big}}),
    );
    assert_eq!(
        refusal(repay_futures(&rb, &m, &f, usdt, btc, RepayAmount::All)),
        (Reason::InsufficientBalance, "payer_asset".into())
    );
    let a = account(&rb, json!({"kind": "MARGIN", "holdings": {"BTC": big}, "borrowed": {"USDT": big}}));
    assert_eq!(
        refusal(repay_margin(&rb, &m, &a, usdt, Some(btc), RepayAmount::All)).0,
        Reason::InsufficientBalance
    );
    // The threshold auto-repay takes the whole BTC wallet, which covers 10^15 × 10^-16.
    let t = threshold_auto_repay(&rb, &m, &f).unwrap();
    assert_eq!(wallet(&t.account, &rb, "BTC"), d("0"));
    assert_eq!(wallet(&t.account, &rb, "USDT"), d("-999999999999999.9"));
}
