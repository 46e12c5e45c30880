//! Deployment settings (SPEC §3.4): parsed from a rulebook's `settings`, defaults filled
//! in for the settings it leaves out.

use crate::decimal::Dec;
use crate::error::{Error, Reason, Result};
use crate::json::{child, index_path, ranges, At, Range};
use crate::rulebook::{check_region, dec, AssetId, Settings};
use serde_json::Map;
use std::collections::HashMap;

/// The keys of `settings` (SPEC §3.4); any other key is refused.
const SETTINGS_KEYS: &[&str] = &[
    "liquidation",
    "mcr_default",
    "mcr_range",
    "classic_transfer_bar",
    "pro_switch_in_bar",
    "restricted_regions",
    "restricted_imr_floor",
    "payer_order",
];
/// The keys of `settings.liquidation`.
const LIQUIDATION_KEYS: &[&str] = &["FUTURES", "CLASSIC", "PRO"];

fn parse_mode_map(
    at: Option<At<'_>>,
    range: Range,
    defaults: (Dec, Dec),
    names: (&str, &str),
) -> Result<(Dec, Dec)> {
    let Some(at) = at else { return Ok(defaults) };
    let m = at.fields(&[names.0, names.1])?;
    let p = at.path();
    let a = match child(m, p, names.0).optional() {
        Some(v) => v.dec_in(range)?,
        None => defaults.0,
    };
    let b = match child(m, p, names.1).optional() {
        Some(v) => v.dec_in(range)?,
        None => defaults.1,
    };
    Ok((a, b))
}

pub(crate) fn parse_settings(
    at: Option<At<'_>>,
    assets_in_order: &[AssetId],
    asset_ids: &HashMap<String, AssetId>,
) -> Result<Settings> {
    let empty = Map::new();
    let (m, p) = match at {
        Some(at) => (at.fields(SETTINGS_KEYS)?, at.path().to_string()),
        None => (&empty, "rulebook.settings".to_string()),
    };
    let p = p.as_str();
    let rate_or = |k: &str, default: &str| -> Result<Dec> {
        match child(m, p, k).optional() {
            Some(v) => v.dec_in(ranges::RATE),
            None => Ok(dec(default)),
        }
    };

    let liq = child(m, p, "liquidation");
    let (liquidation_futures, liquidation_classic, liquidation_pro) = match liq.optional() {
        None => (dec("1"), dec("1.1"), dec("1")),
        Some(at) => {
            let lm = at.fields(LIQUIDATION_KEYS)?;
            let get = |k: &str, d: &str| -> Result<Dec> {
                match child(lm, at.path(), k).optional() {
                    Some(v) => v.dec_in(ranges::RATE),
                    None => Ok(dec(d)),
                }
            };
            (get("FUTURES", "1")?, get("CLASSIC", "1.1")?, get("PRO", "1")?)
        }
    };

    let mcr_range_child = child(m, p, "mcr_range");
    let mcr_range = match mcr_range_child.optional() {
        None => (dec("1.3"), dec("2")),
        Some(at) => {
            let arr = at.array()?;
            if arr.len() != 2 {
                return Err(at.err(Reason::InvalidArgument, "mcr_range is [low, high]"));
            }
            let lo = At::root(&arr[0], &index_path(at.path(), 0)).dec_in(ranges::RATE)?;
            let hip = index_path(at.path(), 1);
            let hi = At::root(&arr[1], &hip).dec_in(ranges::RATE)?;
            if hi < lo {
                return Err(Error::at(Reason::OutOfRange, hip, "mcr_range high must be ≥ low"));
            }
            (lo, hi)
        }
    };
    let (mcr_default_classic, mcr_default_pro) = parse_mode_map(
        child(m, p, "mcr_default").optional(),
        Range::closed(mcr_range.0, mcr_range.1),
        (dec("1.3"), dec("1.5")),
        ("CLASSIC", "PRO"),
    )?;

    let regions_child = child(m, p, "restricted_regions");
    let restricted_regions = match regions_child.optional() {
        None => {
            "FR GB PT AT AE IT SE MT FI NO LU IE GI DK PL BH SC AU".split(' ').map(str::to_string).collect()
        }
        Some(at) => {
            let arr = at.array()?;
            let mut out = Vec::with_capacity(arr.len());
            for (i, v) in arr.iter().enumerate() {
                out.push(check_region(At::root(v, &index_path(at.path(), i)))?);
            }
            out
        }
    };

    let payer_child = child(m, p, "payer_order");
    let payer_order = match payer_child.optional() {
        None => assets_in_order.to_vec(),
        Some(at) => {
            let arr = at.array()?;
            let mut out: Vec<AssetId> = Vec::with_capacity(arr.len());
            for (i, v) in arr.iter().enumerate() {
                let ip = index_path(at.path(), i);
                let vat = At::root(v, &ip);
                let code = vat.str()?;
                let id = *asset_ids.get(code).ok_or_else(|| {
                    vat.err(Reason::UnknownAsset, format!("{code:?} is not in the rulebook"))
                })?;
                if out.contains(&id) {
                    return Err(vat.err(Reason::InvalidArgument, format!("{code:?} is listed twice")));
                }
                out.push(id);
            }
            out
        }
    };

    Ok(Settings {
        liquidation_futures,
        liquidation_classic,
        liquidation_pro,
        mcr_default_classic,
        mcr_default_pro,
        mcr_range,
        classic_transfer_bar: rate_or("classic_transfer_bar", "2")?,
        pro_switch_in_bar: rate_or("pro_switch_in_bar", "2")?,
        restricted_regions,
        restricted_imr_floor: rate_or("restricted_imr_floor", "0.1112")?,
        payer_order,
    })
}
