//! A readable breakdown of an evaluation: per pool and asset, each tier slice with its
//! quantity, rate and value; the requirement of each position, order and liability.
//! Figures that are parts of a reported total are shown **exact** (`Exact::to_plain`), so
//! every table adds up to the exact total; beside it stands the reported figure, that
//! total rounded as SPEC §1 says. Requirements settled in another asset are converted
//! at `p(c)` in a reconciliation table per pool. Thresholds, distances and binding
//! constraints come from [`crate::explain_risk`].

use crate::account::{Account, FuturesAccount, FuturesMode, MarginAccount, MarginMode, Market, Position};
use crate::decimal::{Dec, Exact};
use crate::error::Result;
use crate::explain_risk;
use crate::futures::{opening_qty, order_im, pools, position_figures};
use crate::margin::{calc, locked_by};
use crate::result::PoolId;
use crate::rulebook::{AssetId, Rulebook};
use crate::tiers::TierTable;
use serde_json::{json, Value};

fn s(d: Dec) -> Value {
    Value::String(d.to_string())
}

fn x(e: Exact) -> Result<Value> {
    Ok(Value::String(e.to_plain()?))
}

/// One row of a reconciliation: `amount` of `asset` at `price`, `usdt` exact.
fn row(label: String, rb: &Rulebook, asset: AssetId, amount: Exact, price: Exact) -> Result<Value> {
    Ok(json!({
        "item": label,
        "asset": rb.asset(asset).code,
        "amount": x(amount)?,
        "price": x(price)?,
        "usdt": x(amount * price)?,
    }))
}

/// A figure's rows, their exact total and the reported (rounded) figure.
fn figure(name: &str, rows: Vec<Value>, total: Exact, up: bool) -> Result<Value> {
    Ok(json!({
        "figure": name,
        "rows": rows,
        "total": x(total)?,
        "rounding": if up { "up" } else { "down" },
        "reported": s(if up { total.ceil8()? } else { total.floor8()? }),
    }))
}

/// Slices of `at` in `table`, each valued `slice × rate × scale` (exact).
fn slices(table: &TierTable, at: Exact, scale: Dec) -> Result<Value> {
    let mut out = Vec::new();
    for (lo, hi, rate) in table.slices(at)? {
        let qty = hi - lo;
        let value = qty * rate * scale;
        out.push(json!({
            "from": s(lo.floor8()?),
            "to": s(hi.floor8()?),
            "quantity": s(qty.floor8()?),
            "rate": s(rate),
            "value": x(value)?,
        }));
    }
    Ok(Value::Array(out))
}

/// The breakdown of an account (see the module documentation).
pub fn explain(rb: &Rulebook, market: &Market, account: &Account) -> Result<Value> {
    let mut out = match account {
        Account::Futures(f) => explain_futures(rb, market, f)?,
        Account::Margin(m) => explain_margin(rb, market, m)?,
    };
    out["risk"] = explain_risk::risk(rb, market, account)?;
    Ok(out)
}

fn in_pool(id: PoolId, pos: &Position, settlement: AssetId) -> bool {
    match id {
        PoolId::Cross => !pos.isolated,
        PoolId::Settlement(a) => !pos.isolated && settlement == a,
        PoolId::Isolated(k) => pos.isolated && k == pos.contract,
    }
}

fn order_in_pool(id: PoolId, settlement: AssetId) -> bool {
    match id {
        PoolId::Cross => true,
        PoolId::Settlement(a) => settlement == a,
        PoolId::Isolated(_) => false,
    }
}

/// Per settlement asset: (Σ MM, Σ IM of positions, Σ IM of orders) in that asset, exact.
type Sums = Vec<Option<(Exact, Exact, Exact)>>;

fn explain_futures(rb: &Rulebook, market: &Market, f: &FuturesAccount) -> Result<Value> {
    let calcs = pools(rb, market, f)?;
    let mut out = Vec::new();
    let multi = f.mode == FuturesMode::MultiAsset;
    for pool in &calcs {
        let isolated = matches!(pool.id, PoolId::Isolated(_));
        let mut assets = Vec::new();
        let (mut em_rows, mut liability_rows) = (Vec::new(), Vec::new());
        for a in pool.assets() {
            let asset = rb.asset(a.asset);
            let price = market.need_price(rb, a.asset)?;
            let tiered = matches!(pool.id, PoolId::Cross) && multi && a.equity.is_positive()?;
            let weighted = if tiered { asset.collateral.tiered(a.equity)? } else { a.equity };
            let mut entry = json!({
                "asset": asset.code,
                "equity": x(a.equity)?,
                "collateral": x(weighted)?,
                "price": s(price),
                "value": x(a.value)?,
                "slices": if tiered { slices(&asset.collateral, a.equity, price)? } else { json!([]) },
            });
            let label = if tiered { "collateral value" } else { "equity value" };
            em_rows.push(row(format!("{} {label}", asset.code), rb, a.asset, weighted, price.exact())?);
            if a.equity.is_negative()? {
                if let (Some(l), false) = (&asset.liability, isolated) {
                    let liability = -a.equity;
                    entry["liability"] = x(liability)?;
                    entry["liability_mmr"] = s(l.mmr);
                    entry["liability_margin"] = x(liability * l.mmr * price)?;
                    let label = format!("{} liability × mmr {}", asset.code, l.mmr);
                    liability_rows.push(row(label, rb, a.asset, liability * l.mmr, price.exact())?);
                }
            }
            assets.push(entry);
        }
        let n = rb.assets().len();
        let mut sums: Sums = vec![None; n];
        let mut requirements = Vec::new();
        for pos in f.positions.iter().filter(|p| !p.size.is_zero()) {
            let c = rb.contract(pos.contract);
            if !in_pool(pool.id, pos, c.settlement) {
                continue;
            }
            let fig = position_figures(rb, market, pos.contract, pos.size, pos.entry_price, pos.leverage)?;
            let e = sums[c.settlement].get_or_insert((Exact::ZERO, Exact::ZERO, Exact::ZERO));
            e.0 = e.0 + fig.mm;
            e.1 = e.1 + fig.im;
            requirements.push(json!({
                "kind": "position",
                "symbol": c.symbol,
                "size": s(pos.size),
                "settlement": rb.asset(c.settlement).code,
                "notional": x(fig.notional)?,
                "upnl": x(fig.upnl)?,
                "leverage": pos.leverage,
                "mm_slices": slices(&c.mmr, fig.notional, Dec::ONE)?,
                "maintenance_margin": x(fig.mm)?,
                "initial_margin": s(fig.im),
            }));
        }
        for o in &f.orders {
            let c = rb.contract(o.contract);
            if order_in_pool(pool.id, c.settlement) {
                let size = f.position(o.contract).map_or(Dec::ZERO, |p| p.size);
                let im = order_im(f, o)?;
                let e = sums[c.settlement].get_or_insert((Exact::ZERO, Exact::ZERO, Exact::ZERO));
                e.2 = e.2 + im;
                requirements.push(json!({
                    "kind": "order",
                    "symbol": c.symbol,
                    "side": o.side.name(),
                    "price": s(o.price),
                    "quantity": s(o.quantity),
                    "opening_qty": s(opening_qty(o, size)),
                    "leverage": o.leverage.or_else(|| f.position(o.contract).map(|p| p.leverage)),
                    "settlement": rb.asset(c.settlement).code,
                    "initial_margin": s(im),
                }));
            }
        }
        let (mut mm_rows, mut im_rows) = (Vec::new(), Vec::new());
        for (c, sum) in sums.iter().enumerate() {
            let Some((mm, im_pos, im_ord)) = *sum else { continue };
            let p = market.need_price_exact(rb, c)?;
            let code = &rb.asset(c).code;
            if !mm.is_zero()? {
                mm_rows.push(row(format!("positions' MM in {code}"), rb, c, mm, p)?);
            }
            if !im_pos.is_zero()? || im_ord.is_zero()? {
                im_rows.push(row(format!("positions' IM in {code}"), rb, c, im_pos, p)?);
            }
            if !im_ord.is_zero()? {
                im_rows.push(row(format!("orders' IM in {code}"), rb, c, im_ord, p)?);
            }
        }
        mm_rows.extend(liability_rows.iter().cloned());
        im_rows.extend(liability_rows);
        out.push(json!({
            "id": pool.id.name(rb),
            "assets": assets,
            "requirements": requirements,
            "effective_margin": s(pool.em.floor8()?),
            "initial_margin": s(pool.im.ceil8()?),
            "maintenance_margin": s(pool.mm.ceil8()?),
            "available": s(pool.available().floor8()?),
            "reconciliation": [
                figure("effective_margin", em_rows, pool.em, false)?,
                figure("maintenance_margin", mm_rows, pool.mm, true)?,
                figure("initial_margin", im_rows, pool.im, true)?,
            ],
        }));
    }
    Ok(json!({ "kind": "FUTURES", "mode": match f.mode {
        FuturesMode::MultiAsset => "MULTI_ASSET",
        FuturesMode::SingleAsset => "SINGLE_ASSET",
    }, "pools": out }))
}

fn explain_margin(rb: &Rulebook, market: &Market, m: &MarginAccount) -> Result<Value> {
    let c = calc(rb, market, m)?;
    let restricted = rb.is_restricted(m.region.as_deref());
    let pro = m.mode == MarginMode::Pro;
    let mut assets = Vec::new();
    let (mut ta, mut cv, mut tl, mut im, mut mm) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (a, asset) in rb.assets().iter().enumerate() {
        let h = m.holdings[a];
        let l = m.borrowed[a].exact() + m.interest[a];
        if h.is_zero() && l.is_zero()? {
            continue;
        }
        let price = market.need_price(rb, a)?;
        let hv = h.exact() * price;
        let lv = l * price;
        let collateral = asset.haircut.tiered(hv)?;
        let code = &asset.code;
        ta.push(row(format!("{code} holdings"), rb, a, h.exact(), price.exact())?);
        cv.push(json!({ "item": format!("{code} haircut value"), "usdt": x(collateral)? }));
        tl.push(row(format!("{code} borrowed + interest"), rb, a, l, price.exact())?);
        let mut entry = json!({
            "asset": code,
            "holdings": s(h),
            "price": s(price),
            "holdings_value": x(hv)?,
            "haircut_slices": slices(&asset.haircut, hv, Dec::ONE)?,
            "collateral_value": x(collateral)?,
            "free": x(c.free[a])?,
            "borrowed": s(m.borrowed[a]),
            "interest": s(m.interest[a]),
            "liability_value": x(lv)?,
        });
        if let (true, Some(b)) = (pro, &asset.borrow) {
            let imr = if restricted { &b.imr_restricted } else { &b.imr };
            let (i, k) = (imr.tiered(lv)?, b.mmr.tiered(lv)?);
            entry["imr_slices"] = slices(imr, lv, Dec::ONE)?;
            entry["initial_margin"] = x(i)?;
            entry["mmr_slices"] = slices(&b.mmr, lv, Dec::ONE)?;
            entry["maintenance_margin"] = x(k)?;
            im.push(json!({ "item": format!("{code} IMR tiers"), "usdt": x(i)? }));
            mm.push(json!({ "item": format!("{code} MMR tiers"), "usdt": x(k)? }));
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
            "locked": x(q)?,
        }));
    }
    let mut figures = vec![
        figure("total_asset_value", ta, c.ta, false)?,
        figure("collateral_value", cv, c.cv, false)?,
        figure("total_liability_value", tl, c.tl, true)?,
    ];
    if pro {
        figures.push(figure("initial_margin", im, c.im, true)?);
        figures.push(figure("maintenance_margin", mm, c.mm, true)?);
    }
    let mut out = json!({
        "kind": "MARGIN",
        "mode": if pro { "PRO" } else { "CLASSIC" },
        "restricted_region": restricted,
        "assets": assets,
        "orders": orders,
        "total_asset_value": s(c.ta.floor8()?),
        "total_liability_value": s(c.tl.ceil8()?),
        "collateral_value": s(c.cv.floor8()?),
        "reconciliation": figures,
    });
    if pro {
        out["net_collateral"] = s(c.nc().floor8()?);
        out["open_order_loss"] = s(c.ool.ceil8()?);
        out["initial_margin"] = s(c.im.ceil8()?);
        out["maintenance_margin"] = s(c.mm.ceil8()?);
        out["available"] = s(c.available().floor8()?);
    }
    Ok(out)
}
