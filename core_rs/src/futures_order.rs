//! The pre-trade check of a futures order (SPEC §5.4), re-exported by
//! [`crate::futures`].

use crate::account::{check_multi_asset_contract, FuturesAccount, FuturesMode, FuturesOrder, Market, Status};
use crate::decimal::{Dec, Exact};
use crate::error::{Reason, Result};
use crate::futures::{cross_pool_id, opening_qty, order_leverage, pools, position_size, PoolCalc};
use crate::result::Rejection;
use crate::rulebook::Rulebook;

/// The outcome of a pre-trade check (SPEC §5.4, §6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderCheck {
    /// Every unmet condition; empty when accepted.
    pub rejections: Vec<Rejection>,
    /// `IM(order)` for futures; the locked amount for margin orders.
    pub requirement: Dec,
    /// The pool's `available` before the order (futures), or the free balance of the
    /// locked asset (margin).
    pub available: Dec,
}

impl OrderCheck {
    /// True when no condition is unmet.
    pub fn accepted(&self) -> bool {
        self.rejections.is_empty()
    }
}

/// The pre-trade check of a futures order (SPEC §5.4). The order is validated already.
pub fn check_order(
    rb: &Rulebook,
    market: &Market,
    f: &FuturesAccount,
    order: &FuturesOrder,
) -> Result<OrderCheck> {
    let size = position_size(f, order.contract);
    let opening = opening_qty(order, size);
    let leverage = order_leverage(f, order)?;
    let requirement = Exact::div_ceil8(opening.exact() * order.price, Exact::int(i128::from(leverage)))?;
    let calcs = pools(rb, market, f)?;
    let pool_id = cross_pool_id(f, rb.contract(order.contract).settlement);
    let available = calcs.iter().find(|p| p.id == pool_id).map_or(Exact::ZERO, PoolCalc::available);
    let mut rejections = Vec::new();
    if opening.is_zero() {
        // Reduce-only orders are always accepted (SPEC §5.4 rule 1).
        return Ok(OrderCheck { rejections, requirement, available: available.floor8()? });
    }
    if f.status == Status::Liquidating {
        rejections.push(Rejection::new(
            Reason::AccountLiquidating,
            "the account is being liquidated; only reduce-only orders are accepted",
        ));
    }
    if f.mode == FuturesMode::MultiAsset {
        if let Err(e) = check_multi_asset_contract(rb, order.contract, "order.symbol") {
            rejections.push(Rejection::from_error(&e));
        }
        if let Some(p) = f.position(order.contract) {
            if p.isolated || p.airdrop {
                rejections.push(Rejection::new(
                    Reason::ContractNotAllowedInMode,
                    "MULTI_ASSET mode does not allow isolated or airdropped positions",
                ));
            }
        }
    }
    // Rule 3: leverage within the risk tier of position notional + opening orders.
    let contract = rb.contract(order.contract);
    let mut total = if size.is_zero() {
        Exact::ZERO
    } else {
        size.abs().exact() * market.need_mark(rb, order.contract)?
    };
    for o in f.orders.iter().chain(std::iter::once(order)).filter(|o| o.contract == order.contract) {
        total = total + opening_qty(o, size).exact() * o.price;
    }
    match contract.mmr.last_bound() {
        Some(limit) if total.try_cmp(limit.exact())?.is_gt() => rejections.push(Rejection::new(
            Reason::RiskLimitExceeded,
            format!("{} exposure would exceed the last risk tier ({limit})", contract.symbol),
        )),
        _ => {
            let tier = contract.mmr.row_index(total)?;
            let max = contract.max_leverage[tier];
            if leverage > max {
                rejections.push(Rejection::new(
                    Reason::LeverageExceedsTier,
                    format!(
                        "leverage {leverage} exceeds {max}, the max of {} risk tier {}",
                        contract.symbol,
                        tier + 1
                    ),
                ));
            }
        }
    }
    // Rule 4: available ≥ IM(order) (valued in USDT like the pool), before adding it.
    if available.try_cmp(market.value(rb, contract.settlement, requirement.exact())?)?.is_lt() {
        rejections.push(Rejection::new(
            Reason::InsufficientMargin,
            format!(
                "available margin {} is below the order's initial margin {requirement}",
                available.floor8()?
            ),
        ));
    }
    Ok(OrderCheck { rejections, requirement, available: available.floor8()? })
}
