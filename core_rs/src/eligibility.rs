//! Eligibility checks of SPEC §9. Each check returns **every** unmet condition.

use crate::account::{FuturesAccount, FuturesMode, MarginAccount, MarginMode, Market, Status};
use crate::error::{Reason, Result};
use crate::margin::calc;
use crate::result::Rejection;
use crate::rulebook::Rulebook;

/// Conditions for switching a futures account to `target` (SPEC §9).
pub fn futures_mode_switch(f: &FuturesAccount, target: FuturesMode) -> Vec<Rejection> {
    let mut out = Vec::new();
    if f.mode == target {
        return out;
    }
    if f.positions.iter().any(|p| !p.size.is_zero()) {
        out.push(Rejection::new(Reason::HasOpenPositions, "close every position before switching mode"));
    }
    if !f.orders.is_empty() {
        out.push(Rejection::new(Reason::HasOpenOrders, "cancel every open order before switching mode"));
    }
    if f.wallet.iter().any(|w| w.is_negative()) {
        out.push(Rejection::new(
            Reason::HasLiabilities,
            "repay every negative balance before switching mode",
        ));
    }
    if target == FuturesMode::MultiAsset {
        if f.sub_account {
            out.push(Rejection::new(Reason::SubAccount, "a sub-account cannot use MULTI_ASSET mode"));
        }
        if f.copy_trading {
            out.push(Rejection::new(Reason::CopyTradingOn, "turn copy trading off before MULTI_ASSET mode"));
        }
    }
    out
}

/// Conditions for turning copy trading on (SPEC §9).
pub fn copy_trading_on(f: &FuturesAccount) -> Vec<Rejection> {
    match f.mode {
        FuturesMode::MultiAsset => {
            // The §11 code of the copy-trading condition, as when it blocks a mode switch.
            vec![Rejection::new(
                Reason::CopyTradingOn,
                "copy trading cannot be turned on in MULTI_ASSET mode",
            )]
        }
        FuturesMode::SingleAsset => Vec::new(),
    }
}

/// Conditions for switching a margin account to `target` (SPEC §9).
pub fn margin_mode_switch(
    rb: &Rulebook,
    market: &Market,
    m: &MarginAccount,
    target: MarginMode,
) -> Result<Vec<Rejection>> {
    let mut out = Vec::new();
    if m.mode == target {
        return Ok(out);
    }
    if m.status == Status::Liquidating {
        out.push(Rejection::new(Reason::AccountLiquidating, "the account is being liquidated"));
    }
    // Levels are computed now, under the target mode's rules.
    let under_target = MarginAccount { mode: target, ..m.clone() };
    let c = calc(rb, market, &under_target)?;
    match target {
        MarginMode::Pro => {
            if !m.pro_terms_accepted {
                out.push(Rejection::new(
                    Reason::ProTermsNotAccepted,
                    "pass the Pro quiz and accept the Pro terms first",
                ));
            }
            // Pro ML = (NC − OOL) / MM must exceed the bar; compared by cross-multiplying.
            let eq = c.cv - c.tl - c.ool;
            let bar = rb.settings.pro_switch_in_bar;
            let ok = c.tl.is_zero()?
                || if c.mm.is_zero()? { eq.is_positive()? } else { eq.try_cmp(c.mm * bar)?.is_gt() };
            if !ok {
                out.push(Rejection::new(
                    Reason::MarginLevelTooLow,
                    format!("the Pro margin level must exceed {bar} to switch to PRO"),
                ));
            }
        }
        MarginMode::Classic => {
            // CML = CV / TL must exceed R = L/(L−1)  ⇔  (L−1)·CV > L·TL.
            let l = i128::from(m.classic_leverage);
            let ok = c.tl.is_zero()?
                || (c.cv * crate::decimal::Exact::int(l - 1))
                    .try_cmp(c.tl * crate::decimal::Exact::int(l))?
                    .is_gt();
            if !ok {
                out.push(Rejection::new(
                    Reason::MarginLevelTooLow,
                    format!("the collateral margin level must exceed {l}/{} to switch to CLASSIC", l - 1),
                ));
            }
        }
    }
    Ok(out)
}

/// Conditions for changing the Classic leverage to `leverage` (3 or 5; SPEC §9).
pub fn classic_leverage_change(
    rb: &Rulebook,
    market: &Market,
    m: &MarginAccount,
    leverage: u32,
) -> Result<Vec<Rejection>> {
    let mut out = Vec::new();
    if m.mode != MarginMode::Classic {
        out.push(Rejection::new(
            Reason::InvalidArgument,
            "classic leverage can only be changed in CLASSIC mode",
        ));
        return Ok(out);
    }
    let c = calc(rb, market, m)?;
    // ML = TA / TL must exceed L/(L−1)  ⇔  (L−1)·TA > L·TL.
    let l = i128::from(leverage);
    let ok = c.tl.is_zero()?
        || (c.ta * crate::decimal::Exact::int(l - 1)).try_cmp(c.tl * crate::decimal::Exact::int(l))?.is_gt();
    if !ok {
        out.push(Rejection::new(
            Reason::MarginLevelTooLow,
            format!("the margin level must exceed {l}/{} for {l}x", l - 1),
        ));
    }
    Ok(out)
}
