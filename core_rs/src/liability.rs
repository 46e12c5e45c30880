//! The money flows of SPEC §6–§7 on the core's compiled account: free and locked funds,
//! transfers, ledger entries, borrowing and hourly interest. Repayment is in
//! [`crate::repay`], the §8 transition in [`crate::risk_events`].
//!
//! Every flow is a pure function `(rulebook, market, account, request) → Flow`: it
//! validates the request, works on a copy and returns the account as it is after the flow
//! together with the §7.5 records it makes. A refused request returns the error and
//! changes nothing. Callers store the new values; they never do the arithmetic.

use crate::account::{Account, FuturesAccount, FuturesMode, MarginAccount, Market, Status};
use crate::decimal::{Dec, Exact};
use crate::error::{Error, Reason, Result};
use crate::flows::{futures_hourly_interest, margin_hourly_interest};
use crate::json::{ranges, Range};
use crate::margin::locked_by;
use crate::rulebook::{AssetId, Rulebook};

/// The kind of a §7.5 history record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// An interest charge (an hour boundary, or the first hour of a margin loan).
    Interest,
    /// A manual repayment (`Repay`, `RepayLiability`).
    RepayManual,
    /// A futures transfer-in that repaid debt first (§7.3).
    RepayTransferIn,
    /// A futures threshold auto-repayment (§7.3).
    RepayThreshold,
}

impl RecordKind {
    /// The wire name.
    pub fn name(self) -> &'static str {
        match self {
            RecordKind::Interest => "INTEREST",
            RecordKind::RepayManual => "REPAY_MANUAL",
            RecordKind::RepayTransferIn => "REPAY_TRANSFER_IN",
            RecordKind::RepayThreshold => "REPAY_THRESHOLD",
        }
    }
}

/// One SPEC §7.5 record: what was repaid or charged, who paid and at what prices.
/// Fields that do not apply to a kind are `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The kind.
    pub kind: RecordKind,
    /// The debt asset (repayments) or the charged asset (interest).
    pub asset: AssetId,
    /// The amount of `asset` repaid, or the interest charged.
    pub amount: Dec,
    /// Interest: the base it was charged on (futures debt less the interest-free quantity,
    /// margin principal, or the new loan).
    pub base: Option<Dec>,
    /// Interest: the hourly rate.
    pub rate: Option<Dec>,
    /// Futures interest: the interest-free quantity.
    pub interest_free: Option<Dec>,
    /// Margin repayment: the part of `amount` that paid interest.
    pub interest_repaid: Option<Dec>,
    /// Margin repayment: the part of `amount` that paid principal.
    pub principal_repaid: Option<Dec>,
    /// Repayment: the paying asset.
    pub payer: Option<AssetId>,
    /// Repayment: the amount of the paying asset spent.
    pub payer_amount: Option<Dec>,
    /// Conversion (§7.2): the index price of the debt asset used.
    pub debt_price: Option<Dec>,
    /// Conversion: the index price of the payer asset used.
    pub payer_price: Option<Dec>,
    /// Conversion: the payer's discount used.
    pub discount: Option<Dec>,
}

impl Record {
    /// A record with only its kind, asset and amount.
    pub fn new(kind: RecordKind, asset: AssetId, amount: Dec) -> Record {
        Record {
            kind,
            asset,
            amount,
            base: None,
            rate: None,
            interest_free: None,
            interest_repaid: None,
            principal_repaid: None,
            payer: None,
            payer_amount: None,
            debt_price: None,
            payer_price: None,
            discount: None,
        }
    }
}

/// The result of a flow: the account after it, its records, and the orders it cancelled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flow {
    /// The account after the flow (cancelled orders removed).
    pub account: Account,
    /// The §7.5 records, in the order they happened.
    pub records: Vec<Record>,
    /// Indices into the account's order list *before* the flow of the orders cancelled,
    /// in the order they were cancelled.
    pub cancelled: Vec<usize>,
}

impl Flow {
    fn of(account: Account) -> Flow {
        Flow { account, records: Vec::new(), cancelled: Vec::new() }
    }
}

/// How much a repayment is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepayAmount {
    /// Everything owed (futures `debt[d]`; margin `borrowed + interest`).
    All,
    /// This amount.
    Exactly(Dec),
}

pub(crate) fn check_range(x: Dec, range: Range, field: &str, what: &str) -> Result<Dec> {
    if range.contains(x) {
        Ok(x)
    } else {
        Err(Error::at(Reason::OutOfRange, field, format!("{what} {x} would leave the SPEC §1 range")))
    }
}

pub(crate) fn add(a: Dec, b: Dec, field: &str) -> Result<Dec> {
    a.checked_add(b).ok_or_else(|| Error::at(Reason::OutOfRange, field, "the amount leaves every range"))
}

pub(crate) fn sub(a: Dec, b: Dec) -> Result<Dec> {
    a.checked_sub(b).ok_or_else(Error::overflow)
}

/// The futures side of an account, or `INVALID_ARGUMENT` naming `account_id`.
pub fn futures_of<'a>(a: &'a Account, what: &str) -> Result<&'a FuturesAccount> {
    match a {
        Account::Futures(f) => Ok(f),
        Account::Margin(_) => Err(wrong_kind(what, "FUTURES")),
    }
}

/// The margin side of an account, or `INVALID_ARGUMENT` naming `account_id`.
pub fn margin_of<'a>(a: &'a Account, what: &str) -> Result<&'a MarginAccount> {
    match a {
        Account::Margin(m) => Ok(m),
        Account::Futures(_) => Err(wrong_kind(what, "MARGIN")),
    }
}

fn wrong_kind(what: &str, kind: &str) -> Error {
    Error::at(Reason::InvalidArgument, "account_id", format!("{what} applies to {kind} accounts"))
}

fn require_active(status: Status, what: &str) -> Result<()> {
    if status == Status::Liquidating {
        return Err(Error::new(
            Reason::AccountLiquidating,
            format!("{what} is refused while the account is being liquidated"),
        ));
    }
    Ok(())
}

/// Funds locked by open orders, per asset id, exact (SPEC §6: a BUY locks
/// `quantity × price` of the quote asset, a SELL `quantity` of the base asset).
pub fn locked(rb: &Rulebook, m: &MarginAccount) -> Vec<Exact> {
    let mut out = vec![Exact::ZERO; rb.assets().len()];
    for o in &m.orders {
        let (a, q) = locked_by(o);
        out[a] = out[a] + q;
    }
    out
}

/// `free[a] = max(0, holdings[a] − locked[a])` per asset id, exact (SPEC §6).
pub fn free(rb: &Rulebook, m: &MarginAccount) -> Result<Vec<Exact>> {
    locked(rb, m).into_iter().zip(&m.holdings).map(|(l, h)| Ok((h.exact() - l).max0()?)).collect()
}

/// A transfer of `amount` of `asset` into the account. Futures: a transfer into a
/// negative wallet repays first (§7.3); the record shows `min(amount, debt)` repaid.
/// The new balance must stay within the SPEC §1 range (`OUT_OF_RANGE` at `amount`).
pub fn transfer_in(account: &Account, asset: AssetId, amount: Dec) -> Result<Flow> {
    check_range(amount, ranges::AMOUNT, "amount", "the amount")?;
    let mut out = account.clone();
    let mut records = Vec::new();
    match &mut out {
        Account::Futures(f) => {
            let before = f.wallet[asset];
            let repaid = if before.is_negative() { amount.min(before.abs()) } else { Dec::ZERO };
            let after = add(before, amount, "amount")?;
            f.wallet[asset] = check_range(after, ranges::SIGNED_QTY, "amount", "the resulting balance")?;
            if repaid.is_positive() {
                records.push(Record {
                    payer: Some(asset),
                    payer_amount: Some(repaid),
                    ..Record::new(RecordKind::RepayTransferIn, asset, repaid)
                });
            }
        }
        Account::Margin(m) => {
            let after = add(m.holdings[asset], amount, "amount")?;
            m.holdings[asset] = check_range(after, ranges::QTY, "amount", "the resulting balance")?;
        }
    }
    Ok(Flow { account: out, records, cancelled: Vec::new() })
}

/// A transfer of `amount` of `asset` out of the account: refused while liquidating
/// (`ACCOUNT_LIQUIDATING`) and above the max transfer-out (`EXCEEDS_MAX_TRANSFER` at
/// `amount`; §5.3, §6.1, §6.2). An amount equal to the reported maximum is accepted.
pub fn transfer_out(
    rb: &Rulebook,
    market: &Market,
    account: &Account,
    asset: AssetId,
    amount: Dec,
) -> Result<Flow> {
    check_range(amount, ranges::AMOUNT, "amount", "the amount")?;
    let status = match account {
        Account::Futures(f) => f.status,
        Account::Margin(m) => m.status,
    };
    require_active(status, "a transfer out")?;
    let limit = match crate::evaluate(rb, market, account)? {
        crate::result::Evaluation::Futures(r) => lookup(&r.max_transfer_out, asset),
        crate::result::Evaluation::Margin(r) => lookup(&r.max_transfer_out, asset),
    };
    if amount > limit {
        return Err(Error::at(
            Reason::ExceedsMaxTransfer,
            "amount",
            format!("{amount} {} exceeds the max transfer-out {limit}", rb.asset(asset).code),
        ));
    }
    let mut out = account.clone();
    match &mut out {
        Account::Futures(f) => f.wallet[asset] = sub(f.wallet[asset], amount)?,
        Account::Margin(m) => m.holdings[asset] = sub(m.holdings[asset], amount)?,
    }
    Ok(Flow::of(out))
}

fn lookup(items: &[(AssetId, Dec)], a: AssetId) -> Dec {
    items.iter().find(|(x, _)| *x == a).map_or(Dec::ZERO, |&(_, d)| d)
}

/// A batch of ledger entries `(asset, signed amount)` — trades, fees, funding — applied
/// as one change (SPEC §7.4 *(ours)*: facts, never refused for want of margin).
///
/// Each amount is non-zero and within the signed range (`OUT_OF_RANGE` at
/// `entries[i].amount`). Only the resulting balances are checked, each at the field of
/// the last entry touching its asset, assets in the order they first appear: within the
/// signed range (`OUT_OF_RANGE`); margin holdings never below 0 and, in futures
/// SINGLE_ASSET mode, a non-settlement asset never below 0 (`INSUFFICIENT_BALANCE`).
///
/// A margin account left with `holdings[a] < locked[a]` has its open orders that lock
/// `a` cancelled, newest first, until `locked[a] ≤ holdings[a]` (§7.4); their indices
/// are in [`Flow::cancelled`].
pub fn ledger_entries(rb: &Rulebook, account: &Account, entries: &[(AssetId, Dec)]) -> Result<Flow> {
    let mut out = account.clone();
    let mut touched: Vec<(AssetId, usize)> = Vec::new();
    {
        let balances = match &mut out {
            Account::Futures(f) => &mut f.wallet,
            Account::Margin(m) => &mut m.holdings,
        };
        for (i, &(asset, amount)) in entries.iter().enumerate() {
            let field = format!("entries[{i}].amount");
            if amount.is_zero() {
                return Err(Error::at(Reason::OutOfRange, field, "a ledger entry moves a non-zero amount"));
            }
            check_range(amount, ranges::SIGNED_QTY, &field, "the amount")?;
            balances[asset] = add(balances[asset], amount, &field)?;
            match touched.iter_mut().find(|(a, _)| *a == asset) {
                Some(t) => t.1 = i,
                None => touched.push((asset, i)),
            }
        }
    }
    for &(asset, i) in &touched {
        let field = format!("entries[{i}].amount");
        let code = &rb.asset(asset).code;
        match &out {
            Account::Futures(f) => {
                let w = check_range(f.wallet[asset], ranges::SIGNED_QTY, &field, "the resulting balance")?;
                if w.is_negative() && f.mode == FuturesMode::SingleAsset && !rb.is_linear_settlement(asset) {
                    return Err(Error::at(
                        Reason::InsufficientBalance,
                        field,
                        format!(
                            "in SINGLE_ASSET mode only a settlement asset may go negative; {code} would become {w}"
                        ),
                    ));
                }
            }
            Account::Margin(m) => {
                let h = check_range(m.holdings[asset], ranges::SIGNED_QTY, &field, "the resulting balance")?;
                if h.is_negative() {
                    return Err(Error::at(
                        Reason::InsufficientBalance,
                        field,
                        format!("{code} holdings would become {h}"),
                    ));
                }
            }
        }
    }
    let mut flow = Flow::of(out);
    if let Account::Margin(m) = &mut flow.account {
        flow.cancelled = cancel_below_locked(rb, m)?;
    }
    Ok(flow)
}

/// SPEC §7.4 *(ours)*: for each asset (in id order) with `holdings < locked`, cancels the
/// orders locking it, newest first, until `locked ≤ holdings`. Returns the indices of
/// the cancelled orders (into the list before cancelling), in cancellation order.
pub fn cancel_below_locked(rb: &Rulebook, m: &mut MarginAccount) -> Result<Vec<usize>> {
    let mut cancelled = Vec::new();
    for (a, mut locked_a) in locked(rb, m).into_iter().enumerate() {
        for i in (0..m.orders.len()).rev() {
            if locked_a.try_cmp(m.holdings[a].exact())?.is_le() {
                break;
            }
            let (x, q) = locked_by(&m.orders[i]);
            if x == a {
                locked_a = locked_a - q;
                cancelled.push(i);
            }
        }
    }
    let mut keep = vec![true; m.orders.len()];
    for &i in &cancelled {
        keep[i] = false;
    }
    let mut k = keep.iter();
    m.orders.retain(|_| *k.next().unwrap_or(&true));
    Ok(cancelled)
}

/// A margin borrow of `amount` of `asset` (SPEC §6.3, §7.1): refused while liquidating
/// (`ACCOUNT_LIQUIDATING`) and above the max borrow (`EXCEEDS_MAX_BORROW` at `amount`);
/// then `holdings += B`, `borrowed += B`, and the first hour's interest
/// `ceil8(B × hourly_rate)` is charged at once (an `INTEREST` record).
pub fn borrow(
    rb: &Rulebook,
    market: &Market,
    account: &Account,
    asset: AssetId,
    amount: Dec,
) -> Result<Flow> {
    let m = margin_of(account, "Borrow")?;
    check_range(amount, ranges::AMOUNT, "amount", "the amount")?;
    require_active(m.status, "a borrow")?;
    let limit = lookup(&crate::margin::evaluate(rb, market, m)?.max_borrow, asset);
    if amount > limit {
        return Err(Error::at(
            Reason::ExceedsMaxBorrow,
            "amount",
            format!("{amount} {} exceeds the max borrow {limit}", rb.asset(asset).code),
        ));
    }
    // A positive max borrow implies a borrow section.
    let rate =
        rb.borrow_hourly_rate(asset).ok_or_else(|| Error::internal("borrow without a borrow section"))?;
    let charge = margin_hourly_interest(amount, rate)?;
    let mut n = m.clone();
    n.holdings[asset] =
        check_range(add(n.holdings[asset], amount, "amount")?, ranges::QTY, "amount", "holdings")?;
    n.borrowed[asset] =
        check_range(add(n.borrowed[asset], amount, "amount")?, ranges::QTY, "amount", "borrowed")?;
    n.interest[asset] =
        check_range(add(n.interest[asset], charge, "amount")?, ranges::QTY, "amount", "interest")?;
    let record =
        Record { base: Some(amount), rate: Some(rate), ..Record::new(RecordKind::Interest, asset, charge) };
    Ok(Flow { account: Account::Margin(n), records: vec![record], cancelled: Vec::new() })
}

/// Interest for ONE hour boundary (SPEC §7.1); the caller loops over the hours it settles.
///
/// * Futures: each asset with a `liability` section and debt `L > 0` is charged
///   `ceil8(max(0, L − interest_free) × hourly_rate)` from its wallet.
/// * Margin: each asset with borrowed principal is charged `ceil8(borrowed × rate)` as
///   interest.
///
/// One `INTEREST` record per asset charged a non-zero amount (`base` = the debt less the
/// interest-free quantity, or the principal). *(ours)* A charge never takes a balance past the SPEC §1 bound of 10^15:
/// it is capped there, so stored state stays valid.
pub fn interest_hour(rb: &Rulebook, account: &Account) -> Result<Flow> {
    let mut out = account.clone();
    let mut records = Vec::new();
    match &mut out {
        Account::Futures(f) => {
            for a in 0..f.wallet.len() {
                let Some(l) = rb.liability(a) else { continue };
                if !f.wallet[a].is_negative() {
                    continue;
                }
                let debt = f.wallet[a].abs();
                // wallet − charge ≥ −10^15.
                let room = add(f.wallet[a], ranges::MAX_QTY, "wallet")?;
                let charge = futures_hourly_interest(debt, l.interest_free, l.hourly_rate)?.min(room);
                if charge.is_positive() {
                    f.wallet[a] = sub(f.wallet[a], charge)?;
                    records.push(Record {
                        base: Some(debt.checked_sub(l.interest_free).unwrap_or(Dec::ZERO).max0()),
                        rate: Some(l.hourly_rate),
                        interest_free: Some(l.interest_free),
                        ..Record::new(RecordKind::Interest, a, charge)
                    });
                }
            }
        }
        Account::Margin(m) => {
            for a in 0..m.borrowed.len() {
                let (Some(rate), true) = (rb.borrow_hourly_rate(a), m.borrowed[a].is_positive()) else {
                    continue;
                };
                let room = sub(ranges::MAX_QTY, m.interest[a])?;
                let charge = margin_hourly_interest(m.borrowed[a], rate)?.min(room);
                if charge.is_positive() {
                    m.interest[a] = add(m.interest[a], charge, "interest")?;
                    records.push(Record {
                        base: Some(m.borrowed[a]),
                        rate: Some(rate),
                        ..Record::new(RecordKind::Interest, a, charge)
                    });
                }
            }
        }
    }
    Ok(Flow { account: out, records, cancelled: Vec::new() })
}
