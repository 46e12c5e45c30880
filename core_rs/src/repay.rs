//! Repayment (SPEC §7.2–§7.4): manual futures repayment, margin repayment (own asset or
//! converted) and futures threshold auto-repay. Each returns the account after the
//! repayment and its §7.5 records (see [`crate::liability`]).

use crate::account::{Account, FuturesAccount, Market};
use crate::decimal::{Dec, Exact};
use crate::error::{Error, Reason, Result};
use crate::flows::{conversion_cost, conversion_cover};
use crate::futures::pools;
use crate::liability::{free, futures_of, margin_of, sub, Flow, Record, RecordKind, RepayAmount};
use crate::parameters::RiskMode;
use crate::ratio::Ratio;
use crate::rulebook::{AssetId, Rulebook};

fn price_at(rb: &Rulebook, market: &Market, a: AssetId, field: &str) -> Result<Dec> {
    market.need_price(rb, a).map_err(|e| Error { field: Some(field.to_string()), ..e })
}

/// True when any pool of the futures account is liquidatable (SPEC §5.2).
pub fn futures_liquidatable(rb: &Rulebook, market: &Market, f: &FuturesAccount) -> Result<bool> {
    let t = rb.liquidation_threshold(RiskMode::Futures);
    for p in pools(rb, market, f)? {
        if p.liquidatable(t)? {
            return Ok(true);
        }
    }
    Ok(false)
}

fn requested(amount: RepayAmount, owed: Dec, what: &str, code: &str) -> Result<Dec> {
    let a = match amount {
        RepayAmount::All => owed,
        RepayAmount::Exactly(a) => a,
    };
    if !a.is_positive() {
        // Repay-all of nothing names the request's `all` flag.
        return Err(Error::at(
            Reason::OutOfRange,
            if amount == RepayAmount::All { "all" } else { "amount" },
            format!("there is no {what} of {code} to repay"),
        ));
    }
    if a > owed {
        return Err(Error::at(Reason::OutOfRange, "amount", format!("exceeds the {what} of {owed} {code}")));
    }
    Ok(a)
}

/// SPEC §7.3 manual repay (`RepayLiability`): `payer` pays for `amount` (or all) of the
/// debt of `debt`. Requires `payer ≠ debt` (`INVALID_ARGUMENT` at `payer_asset`),
/// `0 < A ≤ debt[d]` (`OUT_OF_RANGE` at `amount`, or at `all` for all of no debt), both index prices
/// (`PRICE_UNAVAILABLE` at `asset` / `payer_asset`) and `wallet[s] ≥ cost`
/// (`INSUFFICIENT_BALANCE` at `payer_asset`); refused (`INSUFFICIENT_MARGIN` at
/// `amount`) when it would make a non-liquidatable account liquidatable.
///
/// Example (§7.2): 1,000 USDT of debt repaid with BTC at 30,000, discount 0.9, costs
/// 0.03703704 BTC.
pub fn repay_futures(
    rb: &Rulebook,
    market: &Market,
    account: &Account,
    debt: AssetId,
    payer: AssetId,
    amount: RepayAmount,
) -> Result<Flow> {
    let f = futures_of(account, "RepayLiability")?;
    if payer == debt {
        return Err(Error::at(
            Reason::InvalidArgument,
            "payer_asset",
            "a futures repay is paid by another asset than the debt (SPEC §7.3)",
        ));
    }
    let code = &rb.asset(debt).code;
    let owed = f.wallet[debt].min(Dec::ZERO).abs();
    let a = requested(amount, owed, "debt", code)?;
    let pd = price_at(rb, market, debt, "asset")?;
    let ps = price_at(rb, market, payer, "payer_asset")?;
    let discount = rb.discount(payer);
    let cost = conversion_cost(a, pd, ps, discount)?;
    // A cost the wallet covers fits a `Dec`; a larger one may not (a quotient).
    let Some(cost) = cost.to_dec().filter(|&c| c <= f.wallet[payer]) else {
        return Err(Error::at(
            Reason::InsufficientBalance,
            "payer_asset",
            format!("repaying costs {cost} {}; the wallet holds {}", rb.asset(payer).code, f.wallet[payer]),
        ));
    };
    let mut n = f.clone();
    n.wallet[debt] = n.wallet[debt].checked_add(a).ok_or_else(Error::overflow)?;
    n.wallet[payer] = sub(n.wallet[payer], cost)?;
    if !futures_liquidatable(rb, market, f)? && futures_liquidatable(rb, market, &n)? {
        return Err(Error::at(
            Reason::InsufficientMargin,
            "amount",
            "the repayment would make the account liquidatable",
        ));
    }
    let record = Record {
        payer: Some(payer),
        payer_amount: Some(cost),
        debt_price: Some(pd),
        payer_price: Some(ps),
        discount: Some(discount),
        ..Record::new(RecordKind::RepayManual, debt, a)
    };
    Ok(Flow { account: Account::Futures(n), records: vec![record], cancelled: Vec::new() })
}

/// SPEC §7.4 margin repay (`Repay`): `amount` (or all: `borrowed + interest`, so no dust
/// is left) of the liability of `asset`, from the free holdings of `asset`, or — with a
/// `payer` other than `asset` — converted per §7.2 from the free holdings of the payer.
/// `0 < A ≤ liability` (`OUT_OF_RANGE` at `amount`); the source's free balance must cover
/// the cost (`INSUFFICIENT_BALANCE` at `payer_asset`, or `amount` without a payer);
/// interest is paid first, then principal. A payer equal to `asset` is no conversion.
pub fn repay_margin(
    rb: &Rulebook,
    market: &Market,
    account: &Account,
    asset: AssetId,
    payer: Option<AssetId>,
    amount: RepayAmount,
) -> Result<Flow> {
    let m = margin_of(account, "Repay")?;
    let payer = payer.filter(|&s| s != asset);
    let code = &rb.asset(asset).code;
    let owed = m.borrowed[asset].checked_add(m.interest[asset]).ok_or_else(Error::overflow)?;
    let a = requested(amount, owed, "liability", code)?;
    let source = payer.unwrap_or(asset);
    let mut record = Record::new(RecordKind::RepayManual, asset, a);
    let cost = match payer {
        None => Ratio::from(a),
        Some(s) => {
            let pd = price_at(rb, market, asset, "asset")?;
            let ps = price_at(rb, market, s, "payer_asset")?;
            let discount = rb.discount(s);
            record.debt_price = Some(pd);
            record.payer_price = Some(ps);
            record.discount = Some(discount);
            conversion_cost(a, pd, ps, discount)?
        }
    };
    let available = free(rb, m)?[source];
    if available.try_cmp(cost.exact())?.is_lt() {
        return Err(Error::at(
            Reason::InsufficientBalance,
            if payer.is_some() { "payer_asset" } else { "amount" },
            format!("repaying needs {cost} free {}; {} is free", rb.asset(source).code, available.floor8()?),
        ));
    }
    // At most the free balance (≤ the holding), so it fits a `Dec`.
    let cost = cost.to_dec().ok_or_else(Error::overflow)?;
    let interest_paid = a.min(m.interest[asset]);
    let principal_paid = sub(a, interest_paid)?;
    let mut n = m.clone();
    n.interest[asset] = sub(n.interest[asset], interest_paid)?;
    n.borrowed[asset] = sub(n.borrowed[asset], principal_paid)?;
    n.holdings[source] = sub(n.holdings[source], cost)?;
    record.interest_repaid = Some(interest_paid);
    record.principal_repaid = Some(principal_paid);
    record.payer = Some(source);
    record.payer_amount = Some(cost);
    Ok(Flow { account: Account::Margin(n), records: vec![record], cancelled: Vec::new() })
}

/// The amount threshold auto-repay repays of a debt above its threshold (SPEC §7.3):
/// `A = debt − threshold × (1 − auto_repay_ratio)`, rounded down to 8 digits *(ours)*
/// (the debt left is never below the target); `None` when the debt is not above the
/// threshold.
pub fn threshold_amount(debt: Dec, threshold: Dec, ratio: Dec) -> Result<Option<Dec>> {
    if debt <= threshold {
        return Ok(None);
    }
    let keep = threshold.exact() * (Exact::int(1) - ratio.exact());
    Ok(Some((debt.exact() - keep).floor8()?))
}

/// SPEC §7.3 threshold auto-repay, run after every change and settlement: for each
/// asset `d` (in id order) with a `liability` section and `debt[d] >
/// auto_repay_threshold[d]`, repays [`threshold_amount`] paid by the account's other
/// assets with a positive wallet, in `payer_order`. A payer that covers the rest pays
/// `ceil8(rest × p(d) / (p(s) × discount[s]))`; one that cannot pays its whole wallet
/// and covers `floor8(wallet × p(s) × discount[s] / p(d))`. It stops when `A` is covered
/// or payers run out (then what was covered is repaid). One `REPAY_THRESHOLD` record per
/// (debt, payer).
///
/// *(ours)* Never refused: a debt asset without an index price is skipped, and so is a
/// payer without one, or one whose whole wallet would cover less than 10^-8.
pub fn threshold_auto_repay(rb: &Rulebook, market: &Market, account: &Account) -> Result<Flow> {
    let f = futures_of(account, "threshold auto-repay")?;
    let mut n = f.clone();
    let mut records = Vec::new();
    for d in 0..n.wallet.len() {
        let Some(l) = rb.liability(d) else { continue };
        let debt = n.wallet[d].min(Dec::ZERO).abs();
        let Some(target) = threshold_amount(debt, l.auto_repay_threshold, l.auto_repay_ratio)? else {
            continue;
        };
        let Some(pd) = market.price(d) else { continue };
        let mut rest = target;
        for &s in rb.payer_order() {
            if rest.is_zero() {
                break;
            }
            let wallet = n.wallet[s];
            let Some(ps) = market.price(s) else { continue };
            if s == d || !wallet.is_positive() {
                continue;
            }
            let discount = rb.discount(s);
            let cost = conversion_cost(rest, pd, ps, discount)?;
            let (covered, paid) = match cost.to_dec().filter(|&c| c <= wallet) {
                Some(cost) => (rest, cost),
                // cost > wallet, so the wallet covers less than `rest`: a `Dec`.
                None => (
                    conversion_cover(wallet, ps, discount, pd)?.to_dec().ok_or_else(Error::overflow)?,
                    wallet,
                ),
            };
            if covered.is_zero() {
                continue;
            }
            n.wallet[s] = sub(wallet, paid)?;
            n.wallet[d] = n.wallet[d].checked_add(covered).ok_or_else(Error::overflow)?;
            rest = sub(rest, covered)?;
            records.push(Record {
                payer: Some(s),
                payer_amount: Some(paid),
                debt_price: Some(pd),
                payer_price: Some(ps),
                discount: Some(discount),
                ..Record::new(RecordKind::RepayThreshold, d, covered)
            });
        }
    }
    Ok(Flow { account: Account::Futures(n), records, cancelled: Vec::new() })
}
