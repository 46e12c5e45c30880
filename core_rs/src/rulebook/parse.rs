//! Parsing and validating the rulebook's JSON (SPEC §3, §10): tier rows, assets with their
//! liability and borrow terms, VIP limits, contracts, regions.

use super::{Asset, AssetId, Borrow, Category, Contract, ContractKind, Liability, Rulebook};
use crate::decimal::Dec;
use crate::error::{Error, Reason, Result};
use crate::json::{child, index_path, ranges, At, Range};
use crate::settings::parse_settings;
use crate::tiers::{TableKind, Tier, TierTable};
use serde_json::Value;
use std::collections::HashMap;

/// Parses a tier table `[[up_to, rate], …]`; `extra` reads any further columns of a row.
fn parse_rows<T>(
    at: At<'_>,
    rate_range: Range,
    mut extra: impl FnMut(&[Value], &str) -> Result<T>,
) -> Result<(Vec<Tier>, Vec<T>)> {
    let rows = at.array()?;
    if rows.is_empty() {
        return Err(at.err(Reason::InvalidArgument, "a tier table needs at least one row"));
    }
    let mut tiers = Vec::with_capacity(rows.len());
    let mut extras = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let rp = index_path(at.path(), i);
        let cells = At::root(row, &rp).array()?;
        if cells.len() < 2 {
            return Err(Error::at(Reason::InvalidArgument, &rp, "a tier row is [up_to, rate, …]"));
        }
        let bp = index_path(&rp, 0);
        let up_to = match &cells[0] {
            Value::Null if i + 1 == rows.len() => None,
            Value::Null => {
                return Err(Error::at(
                    Reason::InvalidArgument,
                    bp,
                    "only the last row may be unbounded (null)",
                ))
            }
            v => Some(At::root(v, &bp).dec_in(ranges::BOUND)?),
        };
        if let (Some(b), Some(Tier { up_to: Some(prev), .. })) = (up_to, tiers.last()) {
            if b <= *prev {
                return Err(Error::at(Reason::OutOfRange, bp, "bounds must strictly increase"));
            }
        }
        let rate = At::root(&cells[1], &index_path(&rp, 1)).dec_in(rate_range)?;
        extras.push(extra(cells, &rp)?);
        tiers.push(Tier { up_to, rate });
    }
    Ok((tiers, extras))
}

/// Checks that rates run the required way down the table.
fn check_order(tiers: &[Tier], path: &str, col: usize, increasing: bool) -> Result<()> {
    for (i, w) in tiers.windows(2).enumerate() {
        let bad = if increasing { w[1].rate < w[0].rate } else { w[1].rate > w[0].rate };
        if bad {
            let what = if increasing { "non-decreasing" } else { "non-increasing" };
            return Err(Error::at(
                Reason::OutOfRange,
                format!("{path}[{}][{col}]", i + 1),
                format!("rates must be {what} down the table"),
            ));
        }
    }
    Ok(())
}

fn collateral_table(at: At<'_>) -> Result<TierTable> {
    let (tiers, _) = parse_rows(at, ranges::RATIO, |_, _| Ok(()))?;
    check_order(&tiers, at.path(), 1, false)?;
    Ok(TierTable::new(tiers, TableKind::Collateral))
}

/// The keys of each rulebook object (SPEC §3, §10); any other key is refused.
mod keys {
    pub const RULEBOOK: &[&str] = &["assets", "contracts", "settings"];
    pub const ASSET: &[&str] = &["collateral_tiers", "haircut_tiers", "discount", "liability", "borrow"];
    pub const LIABILITY: &[&str] =
        &["hourly_rate", "interest_free", "mmr", "auto_repay_threshold", "auto_repay_ratio"];
    pub const BORROW: &[&str] = &["enabled", "hourly_rate", "classic_limit", "pro_tiers", "vip_limits"];
    pub const CONTRACT: &[&str] = &["settlement", "kind", "category", "risk_tiers"];
}

fn parse_liability(at: At<'_>) -> Result<Liability> {
    let m = at.fields(keys::LIABILITY)?;
    let p = at.path();
    let get = |k: &str, r: Range| child(m, p, k).required()?.dec_in(r);
    Ok(Liability {
        hourly_rate: get("hourly_rate", ranges::RATE)?,
        interest_free: get("interest_free", ranges::QTY)?,
        mmr: get("mmr", ranges::RATE)?,
        auto_repay_threshold: get("auto_repay_threshold", ranges::QTY)?,
        auto_repay_ratio: get("auto_repay_ratio", ranges::RATIO)?,
    })
}

/// The highest VIP level (SPEC §3.2, §4).
pub const MAX_VIP_LEVEL: u8 = 9;

/// Parses `vip_limits` rows `[level, max borrowed principal]` (SPEC §3.2).
fn parse_vip_limits(at: At<'_>) -> Result<Vec<(u8, Dec)>> {
    let rows = at.array()?;
    if rows.is_empty() {
        return Err(at.err(Reason::InvalidArgument, "a VIP limit table needs at least one row"));
    }
    let mut out: Vec<(u8, Dec)> = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let rp = index_path(at.path(), i);
        let cells = At::root(row, &rp).array()?;
        if cells.len() != 2 {
            return Err(Error::at(Reason::InvalidArgument, &rp, "a VIP limit row is [level, limit]"));
        }
        let lp = index_path(&rp, 0);
        let level = At::root(&cells[0], &lp).int_in(0, i64::from(MAX_VIP_LEVEL))? as u8;
        let cp = index_path(&rp, 1);
        let limit = At::root(&cells[1], &cp).dec_in(ranges::QTY)?;
        match out.last() {
            None if level != 0 => {
                return Err(Error::at(Reason::InvalidArgument, lp, "the first VIP limit row is level 0"))
            }
            Some(&(prev, _)) if level <= prev => {
                return Err(Error::at(Reason::OutOfRange, lp, "VIP levels must strictly increase"))
            }
            Some(&(_, prev)) if limit < prev => {
                return Err(Error::at(Reason::OutOfRange, cp, "VIP limits must not decrease"))
            }
            _ => {}
        }
        out.push((level, limit));
    }
    Ok(out)
}

/// Parses a `borrow` section; `None` when borrowing is disabled. Fields given with a
/// disabled section are validated all the same.
fn parse_borrow(at: At<'_>, imr_floor: Dec) -> Result<Option<Borrow>> {
    let m = at.fields(keys::BORROW)?;
    let p = at.path();
    let enabled = child(m, p, "enabled").required()?.bool()?;
    let (rate_c, limit_c, pt_c, vip_c) = (
        child(m, p, "hourly_rate"),
        child(m, p, "classic_limit"),
        child(m, p, "pro_tiers"),
        child(m, p, "vip_limits"),
    );
    let vip_limits = match vip_c.optional() {
        Some(v) => parse_vip_limits(v)?,
        None => Vec::new(),
    };
    if !enabled {
        if let Some(v) = rate_c.optional() {
            v.dec_in(ranges::RATE)?;
        }
        if let Some(v) = limit_c.optional() {
            v.dec_in(ranges::QTY)?;
        }
        if let Some(v) = pt_c.optional() {
            pro_tiers(v)?;
        }
        return Ok(None);
    }
    let hourly_rate = rate_c.required()?.dec_in(ranges::RATE)?;
    let classic_limit = limit_c.required()?.dec_in(ranges::QTY)?;
    let (imr_rows, mmr_rows) = pro_tiers(pt_c.required()?)?;
    let raised = imr_rows.iter().map(|t| Tier { up_to: t.up_to, rate: t.rate.max(imr_floor) });
    Ok(Some(Borrow {
        hourly_rate,
        classic_limit,
        imr_restricted: TierTable::new(raised.collect(), TableKind::Requirement),
        imr: TierTable::new(imr_rows, TableKind::Requirement),
        mmr: TierTable::new(mmr_rows, TableKind::Requirement),
        vip_limits,
    }))
}

/// Parses Pro tiers `[up_to, imr, mmr]` into IMR and MMR rows (SPEC §3.1, §3.2).
fn pro_tiers(pt: At<'_>) -> Result<(Vec<Tier>, Vec<Tier>)> {
    let (imr_rows, mmr_rates) = parse_rows(pt, ranges::RATE, |cells, rp| {
        let cp = index_path(rp, 2);
        match cells.get(2) {
            Some(v) => At::root(v, &cp).dec_in(ranges::RATE),
            None => Err(Error::at(Reason::InvalidArgument, cp, "a Pro tier row is [up_to, imr, mmr]")),
        }
    })?;
    let mmr_rows: Vec<Tier> =
        imr_rows.iter().zip(&mmr_rates).map(|(t, &rate)| Tier { up_to: t.up_to, rate }).collect();
    check_order(&imr_rows, pt.path(), 1, true)?;
    check_order(&mmr_rows, pt.path(), 2, true)?;
    for (i, (a, b)) in imr_rows.iter().zip(&mmr_rows).enumerate() {
        if a.rate < b.rate {
            return Err(Error::at(
                Reason::OutOfRange,
                format!("{}[{i}][1]", pt.path()),
                "a Pro tier's IMR must be at least its MMR",
            ));
        }
    }
    Ok((imr_rows, mmr_rows))
}

fn parse_contract(at: At<'_>, symbol: &str, asset_ids: &HashMap<String, AssetId>) -> Result<Contract> {
    let m = at.fields(keys::CONTRACT)?;
    let p = at.path();
    let settlement_at = child(m, p, "settlement");
    let settlement_at = settlement_at.required()?;
    let code = settlement_at.str()?;
    let settlement = *asset_ids.get(code).ok_or_else(|| {
        settlement_at.err(Reason::UnknownAsset, format!("settlement asset {code:?} is not in the rulebook"))
    })?;
    let kind = child(m, p, "kind")
        .required()?
        .enum_of(&[("LINEAR", ContractKind::Linear), ("INVERSE", ContractKind::Inverse)])?;
    let category = child(m, p, "category").required()?.enum_of(&[
        ("STANDARD", Category::Standard),
        ("STOCK", Category::Stock),
        ("PREDICTION", Category::Prediction),
    ])?;
    let rt = child(m, p, "risk_tiers");
    let rt = rt.required()?;
    let (tiers, max_leverage) = parse_rows(rt, ranges::RATE, |cells, rp| {
        let cp = index_path(rp, 2);
        match cells.get(2) {
            Some(v) => {
                let (lo, hi) = ranges::LEVERAGE;
                Ok(At::root(v, &cp).int_in(lo, hi)? as u32)
            }
            None => {
                Err(Error::at(Reason::InvalidArgument, cp, "a risk tier row is [up_to, mmr, max_leverage]"))
            }
        }
    })?;
    check_order(&tiers, rt.path(), 1, true)?;
    for (i, w) in max_leverage.windows(2).enumerate() {
        if w[1] > w[0] {
            return Err(Error::at(
                Reason::OutOfRange,
                format!("{}[{}][2]", rt.path(), i + 1),
                "max_leverage must not increase down the risk tiers",
            ));
        }
    }
    Ok(Contract {
        symbol: symbol.to_string(),
        settlement,
        kind,
        category,
        mmr: TierTable::new(tiers, TableKind::Requirement),
        max_leverage,
    })
}

fn is_region(s: &str) -> bool {
    s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase())
}

/// Checks a region code (ISO 3166-1 alpha-2: two upper-case letters).
pub fn check_region(at: At<'_>) -> Result<String> {
    let s = at.str()?;
    if is_region(s) {
        Ok(s.to_string())
    } else {
        Err(at.err(Reason::InvalidArgument, format!("{s:?} is not a two-letter upper-case region code")))
    }
}

pub(super) fn parse_rulebook(at: At<'_>) -> Result<Rulebook> {
    let m = at.fields(keys::RULEBOOK)?;
    let p = at.path();

    let assets_child = child(m, p, "assets");
    let assets_at = assets_child.required()?;
    let assets_map: Vec<(&String, &Value)> = assets_at.entries()?.collect();
    if assets_map.is_empty() {
        return Err(assets_at.err(Reason::InvalidArgument, "a rulebook needs at least one asset"));
    }
    // Ids follow code-point order; the file order is kept for the default payer order.
    let mut codes: Vec<&String> = assets_map.iter().map(|(c, _)| *c).collect();
    codes.sort();
    let asset_ids: HashMap<String, AssetId> =
        codes.iter().enumerate().map(|(i, c)| ((*c).clone(), i)).collect();
    let file_order: Vec<AssetId> = assets_map.iter().map(|(c, _)| asset_ids[*c]).collect();
    let asset_json: HashMap<&String, &Value> = assets_map.into_iter().collect();

    // The IMR floor is needed while parsing assets, so settings come first.
    let settings_child = child(m, p, "settings");
    let settings = parse_settings(settings_child.optional(), &file_order, &asset_ids)?;

    let mut assets = Vec::with_capacity(codes.len());
    for code in &codes {
        let ap = format!("{}.{code}", assets_at.path());
        let aat = At::root(asset_json[*code], &ap);
        let am = aat.fields(keys::ASSET)?;
        let collateral = collateral_table(child(am, &ap, "collateral_tiers").required()?)?;
        let haircut = collateral_table(child(am, &ap, "haircut_tiers").required()?)?;
        let discount = child(am, &ap, "discount").required()?.dec_in(ranges::DISCOUNT)?;
        let liability = match child(am, &ap, "liability").optional() {
            Some(v) => Some(parse_liability(v)?),
            None => None,
        };
        let borrow = match child(am, &ap, "borrow").optional() {
            Some(v) => parse_borrow(v, settings.restricted_imr_floor)?,
            None => None,
        };
        assets.push(Asset { code: (*code).clone(), collateral, haircut, discount, liability, borrow });
    }

    let contracts_child = child(m, p, "contracts");
    let mut contracts = Vec::new();
    if let Some(cat) = contracts_child.optional() {
        let mut entries: Vec<(&String, &Value)> = cat.entries()?.collect();
        entries.sort_by_key(|(sym, _)| *sym);
        for (sym, v) in entries {
            let cp = format!("{}.{sym}", cat.path());
            contracts.push(parse_contract(At::root(v, &cp), sym, &asset_ids)?);
        }
    }
    let contract_ids = contracts.iter().enumerate().map(|(i, c)| (c.symbol.clone(), i)).collect();

    let usdt = asset_ids.get("USDT").copied();
    let stables = ["USDT", "USDC"].iter().filter_map(|c| asset_ids.get(*c).copied()).collect();
    let mut linear_settlement = vec![false; assets.len()];
    for c in contracts.iter().filter(|c| c.kind == ContractKind::Linear) {
        linear_settlement[c.settlement] = true;
    }
    Ok(Rulebook { assets, asset_ids, contracts, contract_ids, settings, usdt, stables, linear_settlement })
}
