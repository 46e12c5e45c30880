//! A readable breakdown of an evaluation: per pool and asset, each tier slice with its
//! quantity, rate and value; the requirement of each position, order and liability.
//! Figures are rounded for display (values down, requirements up, as in SPEC §1).

use crate::account::{Account, FuturesAccount, FuturesMode, MarginAccount, MarginMode, Market};
use crate::decimal::{Dec, Exact};
use crate::error::Result;
use crate::futures::{opening_qty, order_im, pools, position_figures};
use crate::margin::{calc, locked_by};
use crate::result::PoolId;
use crate::rulebook::Rulebook;
use crate::tiers::TierTable;
use serde_json::{json, Value};

fn s(d: Dec) -> Value {
    Value::String(d.to_string())
}

/// Slices of `x` in `table`, each valued `slice × rate × scale`.
fn slices(table: &TierTable, x: Exact, scale: Dec, up: bool) -> Result<Value> {
    let mut out = Vec::new();
    for (lo, hi, rate) in table.slices(x)? {
        let qty = hi - lo;
        let value = qty * rate * scale;
        out.push(json!({
            "from": s(lo.floor8()?),
            "to": s(hi.floor8()?),
            "quantity": s(qty.floor8()?),
            "rate": s(rate),
            "value": s(if up { value.ceil8()? } else { value.floor8()? }),
        }));
    }
    Ok(Value::Array(out))
}

/// The breakdown of an account (see the module documentation).
pub fn explain(rb: &Rulebook, market: &Market, account: &Account) -> Result<Value> {
    match account {
        Account::Futures(f) => explain_futures(rb, market, f),
        Account::Margin(m) => explain_margin(rb, market, m),
    }
}

fn explain_futures(rb: &Rulebook, market: &Market, f: &FuturesAccount) -> Result<Value> {
    let calcs = pools(rb, market, f)?;
    let mut out = Vec::new();
    for pool in &calcs {
        let mut assets = Vec::new();
        for a in pool.assets() {
            let asset = rb.asset(a.asset);
            let price = market.need_price(rb, a.asset)?;
            let tiered = matches!(pool.id, PoolId::Cross)
                && f.mode == FuturesMode::MultiAsset
                && a.equity.is_positive()?;
            let mut entry = json!({
                "asset": asset.code,
                "equity": s(a.equity.floor8()?),
                "price": s(price),
                "value": s(a.value.floor8()?),
                "slices": if tiered { slices(&asset.collateral, a.equity, price, false)? } else { json!([]) },
            });
            if a.equity.is_negative()? {
                if let (Some(l), false) = (&asset.liability, matches!(pool.id, PoolId::Isolated(_))) {
                    let liability = -a.equity;
                    entry["liability"] = s(liability.ceil8()?);
                    entry["liability_mmr"] = s(l.mmr);
                    entry["liability_margin"] = s((liability * l.mmr * price).ceil8()?);
                }
            }
            assets.push(entry);
        }
        let mut requirements = Vec::new();
        for pos in f.positions.iter().filter(|p| !p.size.is_zero()) {
            let c = rb.contract(pos.contract);
            let in_pool = match pool.id {
                PoolId::Cross => !pos.isolated,
                PoolId::Settlement(a) => !pos.isolated && c.settlement == a,
                PoolId::Isolated(k) => pos.isolated && k == pos.contract,
            };
            if !in_pool {
                continue;
            }
            let fig = position_figures(rb, market, pos.contract, pos.size, pos.entry_price, pos.leverage)?;
            requirements.push(json!({
                "kind": "position",
                "symbol": c.symbol,
                "size": s(pos.size),
                "settlement": rb.asset(c.settlement).code,
                "notional": s(fig.notional.floor8()?),
                "upnl": s(fig.upnl.floor8()?),
                "leverage": pos.leverage,
                "mm_slices": slices(&c.mmr, fig.notional, Dec::ONE, true)?,
                "maintenance_margin": s(fig.mm.ceil8()?),
                "initial_margin": s(fig.im),
            }));
        }
        for o in &f.orders {
            let c = rb.contract(o.contract);
            let in_pool = match pool.id {
                PoolId::Cross => true,
                PoolId::Settlement(a) => c.settlement == a,
                PoolId::Isolated(_) => false,
            };
            if in_pool {
                let size = f.position(o.contract).map_or(Dec::ZERO, |p| p.size);
                requirements.push(json!({
                    "kind": "order",
                    "symbol": c.symbol,
                    "side": o.side.name(),
                    "price": s(o.price),
                    "quantity": s(o.quantity),
                    "opening_qty": s(opening_qty(o, size)),
                    "settlement": rb.asset(c.settlement).code,
                    "initial_margin": s(order_im(f, o)?),
                }));
            }
        }
        out.push(json!({
            "id": pool.id.name(rb),
            "assets": assets,
            "requirements": requirements,
            "effective_margin": s(pool.em.floor8()?),
            "initial_margin": s(pool.im.ceil8()?),
            "maintenance_margin": s(pool.mm.ceil8()?),
            "available": s(pool.available().floor8()?),
        }));
    }
    Ok(json!({ "kind": "FUTURES", "pools": out }))
}

fn explain_margin(rb: &Rulebook, market: &Market, m: &MarginAccount) -> Result<Value> {
    let c = calc(rb, market, m)?;
    let restricted = rb.is_restricted(m.region.as_deref());
    let mut assets = Vec::new();
    for (a, asset) in rb.assets().iter().enumerate() {
        let h = m.holdings[a];
        let l = m.borrowed[a].exact() + m.interest[a];
        if h.is_zero() && l.is_zero()? {
            continue;
        }
        let price = market.need_price(rb, a)?;
        let hv = h.exact() * price;
        let lv = l * price;
        let mut entry = json!({
            "asset": asset.code,
            "holdings": s(h),
            "price": s(price),
            "holdings_value": s(hv.floor8()?),
            "haircut_slices": slices(&asset.haircut, hv, Dec::ONE, false)?,
            "collateral_value": s(asset.haircut.tiered(hv)?.floor8()?),
            "free": s(c.free[a].floor8()?),
            "borrowed": s(m.borrowed[a]),
            "interest": s(m.interest[a]),
            "liability_value": s(lv.ceil8()?),
        });
        if let (MarginMode::Pro, Some(b)) = (m.mode, &asset.borrow) {
            let imr = if restricted { &b.imr_restricted } else { &b.imr };
            entry["imr_slices"] = slices(imr, lv, Dec::ONE, true)?;
            entry["initial_margin"] = s(imr.tiered(lv)?.ceil8()?);
            entry["mmr_slices"] = slices(&b.mmr, lv, Dec::ONE, true)?;
            entry["maintenance_margin"] = s(b.mmr.tiered(lv)?.ceil8()?);
        }
        assets.push(entry);
    }
    let mut orders = Vec::new();
    for o in &m.orders {
        let (a, q) = locked_by(o);
        orders.push(json!({
            "base": rb.asset(o.base).code,
            "quote": rb.asset(o.quote).code,
            "side": o.side.name(),
            "price": s(o.price),
            "quantity": s(o.quantity),
            "locks": rb.asset(a).code,
            "locked": s(q.ceil8()?),
        }));
    }
    let mut out = json!({
        "kind": "MARGIN",
        "mode": match m.mode { MarginMode::Classic => "CLASSIC", MarginMode::Pro => "PRO" },
        "restricted_region": restricted,
        "assets": assets,
        "orders": orders,
        "total_asset_value": s(c.ta.floor8()?),
        "total_liability_value": s(c.tl.ceil8()?),
        "collateral_value": s(c.cv.floor8()?),
    });
    if m.mode == MarginMode::Pro {
        out["open_order_loss"] = s(c.ool.ceil8()?);
        out["initial_margin"] = s(c.im.ceil8()?);
        out["maintenance_margin"] = s(c.mm.ceil8()?);
        out["available"] = s(c.available().floor8()?);
    }
    Ok(out)
}
