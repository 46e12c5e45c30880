//! The risk parameters ("rulebook", SPEC §3), parsed and validated from the JSON of §10.

use crate::decimal::Dec;
use crate::error::{Error, Reason, Result};
use crate::json::{child, index_path, ranges, At, Range};
use crate::settings::parse_settings;
use crate::tiers::{TableKind, Tier, TierTable};
use serde_json::Value;
use std::collections::HashMap;

/// Index of an asset in [`Rulebook::assets`] (assets are kept in code-point order).
pub type AssetId = usize;
/// Index of a contract in [`Rulebook::contracts`] (symbols in code-point order).
pub type ContractId = usize;

/// Futures liability parameters of an asset (SPEC §3.2, §7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Liability {
    /// Interest per hour on debt above `interest_free`.
    pub hourly_rate: Dec,
    /// Debt quantity that accrues no interest.
    pub interest_free: Dec,
    /// Liability maintenance rate.
    pub mmr: Dec,
    /// Debt quantity above which threshold auto-repay runs.
    pub auto_repay_threshold: Dec,
    /// Share of the threshold that stays as debt after an auto-repay.
    pub auto_repay_ratio: Dec,
}

/// Margin-account borrowing parameters of an asset (only when borrowing is enabled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Borrow {
    /// Interest per hour on borrowed principal.
    pub hourly_rate: Dec,
    /// Largest total borrowed principal in Classic mode.
    pub classic_limit: Dec,
    /// Pro initial margin rates by liability value.
    pub imr: TierTable,
    /// Pro IMR rows raised to at least the restricted-region floor (SPEC §3.4).
    pub imr_restricted: TierTable,
    /// Pro maintenance margin rates by liability value.
    pub mmr: TierTable,
    /// Borrow limits by VIP level (SPEC §3.2, v1.2): `(level, max borrowed principal)`,
    /// levels strictly increasing from 0; empty when the asset has no `vip_limits`.
    pub vip_limits: Vec<(u8, Dec)>,
}

impl Borrow {
    /// The largest borrowed principal an account of VIP `level` may carry: the row with
    /// the highest level ≤ `level` (SPEC §3.2, §6.3); `None` when there is no VIP table.
    pub fn vip_limit(&self, level: u8) -> Option<Dec> {
        self.vip_limits.iter().rev().find(|(l, _)| *l <= level).map(|&(_, limit)| limit)
    }
}

/// An asset (SPEC §3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asset {
    /// The asset code, e.g. `BTC`.
    pub code: String,
    /// Futures multi-asset collateral table, by quantity.
    pub collateral: TierTable,
    /// Margin-account haircut table, by USDT value.
    pub haircut: TierTable,
    /// Rate at which the asset is valued when it pays for another asset's debt.
    pub discount: Dec,
    /// Futures liability parameters, if the asset may be owed.
    pub liability: Option<Liability>,
    /// Margin borrowing, when enabled.
    pub borrow: Option<Borrow>,
}

/// `LINEAR` (USDT-M / USDC-M) or `INVERSE` (Coin-M).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContractKind {
    /// Margined and settled in the settlement asset; the only kind this engine margins.
    Linear,
    /// Coin-margined; described so eligibility can name it, refused everywhere.
    Inverse,
}

/// The product category of a contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// Crypto perpetuals.
    Standard,
    /// Stock perpetuals.
    Stock,
    /// Prediction contracts.
    Prediction,
}

/// A futures contract (SPEC §3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contract {
    /// The symbol, e.g. `BTCUSDT`.
    pub symbol: String,
    /// The settlement asset.
    pub settlement: AssetId,
    /// Linear or inverse.
    pub kind: ContractKind,
    /// Standard, stock or prediction.
    pub category: Category,
    /// Maintenance rates by notional.
    pub mmr: TierTable,
    /// The max leverage of each risk tier (same rows as `mmr`).
    pub max_leverage: Vec<u32>,
}

/// Deployment settings (SPEC §3.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Liquidation threshold of futures pools.
    pub liquidation_futures: Dec,
    /// Liquidation threshold of Classic margin accounts.
    pub liquidation_classic: Dec,
    /// Liquidation threshold of Pro margin accounts.
    pub liquidation_pro: Dec,
    /// Default Classic margin-call ratio.
    pub mcr_default_classic: Dec,
    /// Default Pro margin-call ratio.
    pub mcr_default_pro: Dec,
    /// Allowed margin-call ratios, inclusive.
    pub mcr_range: (Dec, Dec),
    /// Collateral margin level required after a Classic transfer-out.
    pub classic_transfer_bar: Dec,
    /// Pro margin level required to switch into Pro.
    pub pro_switch_in_bar: Dec,
    /// Regions where the Pro IMR floor applies.
    pub restricted_regions: Vec<String>,
    /// Floor of every Pro IMR row in restricted regions.
    pub restricted_imr_floor: Dec,
    /// Order in which assets pay in threshold auto-repay.
    pub payer_order: Vec<AssetId>,
}

/// A validated rulebook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rulebook {
    assets: Vec<Asset>,
    asset_ids: HashMap<String, AssetId>,
    contracts: Vec<Contract>,
    contract_ids: HashMap<String, ContractId>,
    /// The settings, defaults filled in.
    pub settings: Settings,
    usdt: Option<AssetId>,
    stables: Vec<AssetId>,
    /// Per asset: settles a LINEAR contract (computed once; read per evaluation).
    linear_settlement: Vec<bool>,
}

pub(crate) fn dec(s: &str) -> Dec {
    Dec::parse(s).expect("constant decimal")
}

impl Rulebook {
    /// Parses and validates a rulebook (SPEC §3, JSON of §10). Field paths in errors
    /// start with `rulebook.`.
    pub fn from_json(value: &Value) -> Result<Rulebook> {
        parse_rulebook(At::root(value, "rulebook"))
    }

    /// Parses a rulebook from JSON text.
    pub fn from_json_str(text: &str) -> Result<Rulebook> {
        let v: Value = serde_json::from_str(text)
            .map_err(|e| Error::at(Reason::InvalidArgument, "rulebook", format!("invalid JSON: {e}")))?;
        Rulebook::from_json(&v)
    }

    /// Assets in code-point order of their codes.
    pub fn assets(&self) -> &[Asset] {
        &self.assets
    }

    /// Contracts in code-point order of their symbols.
    pub fn contracts(&self) -> &[Contract] {
        &self.contracts
    }

    /// One asset.
    pub fn asset(&self, id: AssetId) -> &Asset {
        &self.assets[id]
    }

    /// One contract.
    pub fn contract(&self, id: ContractId) -> &Contract {
        &self.contracts[id]
    }

    /// The id of an asset code.
    pub fn asset_id(&self, code: &str) -> Option<AssetId> {
        self.asset_ids.get(code).copied()
    }

    /// The id of a contract symbol.
    pub fn contract_id(&self, symbol: &str) -> Option<ContractId> {
        self.contract_ids.get(symbol).copied()
    }

    /// USDT, whose index price is 1 by definition (SPEC §2).
    pub fn usdt(&self) -> Option<AssetId> {
        self.usdt
    }

    /// True for USDT and USDC: the settlement assets MULTI_ASSET mode allows (SPEC §9).
    pub fn is_multi_asset_settlement(&self, a: AssetId) -> bool {
        self.stables.contains(&a)
    }

    /// True when `a` settles a LINEAR contract (a SINGLE_ASSET pool asset, SPEC §5.2).
    pub fn is_linear_settlement(&self, a: AssetId) -> bool {
        self.linear_settlement[a]
    }

    /// The VIP borrow limit of asset `a` for an account of VIP `level` (SPEC §6.3):
    /// `None` when the asset cannot be borrowed or has no `vip_limits`.
    pub fn vip_limit(&self, a: AssetId, level: u8) -> Option<Dec> {
        self.assets[a].borrow.as_ref()?.vip_limit(level)
    }

    /// True when `region` is restricted (SPEC §3.4).
    pub fn is_restricted(&self, region: Option<&str>) -> bool {
        region.is_some_and(|r| self.settings.restricted_regions.iter().any(|x| x.as_bytes() == r.as_bytes()))
    }
}

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

fn parse_rulebook(at: At<'_>) -> Result<Rulebook> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Value {
        json!({
            "assets": {
                "USDT": {"collateral_tiers": [[null, "1"]], "haircut_tiers": [[null, "1"]], "discount": "1"},
                "ETH": {"collateral_tiers": [["100", "0.9"], ["200", "0.8"]], "haircut_tiers": [[null, "0.95"]],
                        "discount": "0.9",
                        "borrow": {"enabled": true, "hourly_rate": "0.00001", "classic_limit": "100",
                                   "pro_tiers": [["30000", "0.05", "0.03"], [null, "0.1429", "0.07"]]}}
            },
            "contracts": {
                "ETHUSDT": {"settlement": "USDT", "kind": "LINEAR", "category": "STANDARD",
                            "risk_tiers": [["1000", "0.005", 100], [null, "0.01", 50]]}
            }
        })
    }

    fn refuse(mutate: impl FnOnce(&mut Value)) -> (Reason, String) {
        let mut v = base();
        mutate(&mut v);
        let e = Rulebook::from_json(&v).unwrap_err();
        (e.reason, e.field.unwrap_or_default())
    }

    #[test]
    fn parses_with_defaults() {
        let rb = Rulebook::from_json(&base()).unwrap();
        assert_eq!(rb.assets().iter().map(|a| a.code.as_str()).collect::<Vec<_>>(), ["ETH", "USDT"]);
        // Default payer order = file order.
        assert_eq!(rb.settings.payer_order, vec![1, 0]);
        assert_eq!(rb.settings.liquidation_classic, dec("1.1"));
        assert!(rb.is_restricted(Some("FR")));
        assert!(!rb.is_restricted(Some("JP")) && !rb.is_restricted(None));
        let eth = rb.asset(rb.asset_id("ETH").unwrap());
        let b = eth.borrow.as_ref().unwrap();
        // The restricted-region floor raises IMR rows, never MMR rows.
        assert_eq!(b.imr_restricted.rows()[0].rate, dec("0.1112"));
        assert_eq!(b.imr_restricted.rows()[1].rate, dec("0.1429"));
        assert_eq!(b.mmr.rows()[0].rate, dec("0.03"));
    }

    #[test]
    fn refusals_name_field_and_reason() {
        assert_eq!(
            refuse(|v| v["assets"]["ETH"]["collateral_tiers"][1][0] = json!("50")),
            (Reason::OutOfRange, "rulebook.assets.ETH.collateral_tiers[1][0]".into())
        );
        assert_eq!(
            refuse(|v| v["assets"]["ETH"]["collateral_tiers"] = json!([])),
            (Reason::InvalidArgument, "rulebook.assets.ETH.collateral_tiers".into())
        );
        assert_eq!(
            refuse(|v| v["assets"]["ETH"]["collateral_tiers"][0][0] = Value::Null),
            (Reason::InvalidArgument, "rulebook.assets.ETH.collateral_tiers[0][0]".into())
        );
        assert_eq!(
            refuse(|v| v["assets"]["ETH"]["borrow"]["pro_tiers"][0][2] = json!("0.06")),
            (Reason::OutOfRange, "rulebook.assets.ETH.borrow.pro_tiers[0][1]".into())
        );
        assert_eq!(
            refuse(|v| v["contracts"]["ETHUSDT"]["risk_tiers"][1][2] = json!(200)),
            (Reason::OutOfRange, "rulebook.contracts.ETHUSDT.risk_tiers[1][2]".into())
        );
        assert_eq!(
            refuse(|v| v["contracts"]["ETHUSDT"]["settlement"] = json!("EUR")),
            (Reason::UnknownAsset, "rulebook.contracts.ETHUSDT.settlement".into())
        );
        assert_eq!(
            refuse(|v| v["settings"] = json!({"restricted_regions": ["fr"]})),
            (Reason::InvalidArgument, "rulebook.settings.restricted_regions[0]".into())
        );
        assert_eq!(
            refuse(|v| v["settings"] = json!({"payer_order": ["DOGE"]})),
            (Reason::UnknownAsset, "rulebook.settings.payer_order[0]".into())
        );
        assert_eq!(
            refuse(|v| v["assets"]["ETH"]["discount"] = json!(1)),
            (Reason::InvalidDecimal, "rulebook.assets.ETH.discount".into())
        );
        assert_eq!(
            refuse(|v| {
                v["assets"]["ETH"].as_object_mut().unwrap().remove("haircut_tiers");
            }),
            (Reason::InvalidArgument, "rulebook.assets.ETH.haircut_tiers".into())
        );
    }
}
