//! The risk parameters ("rulebook", SPEC §3), parsed and validated from the JSON of §10.

use crate::decimal::Dec;
use crate::error::{Error, Reason, Result};
use crate::json::At;
use crate::tiers::TierTable;
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

mod parse;
use parse::parse_rulebook;
pub use parse::{check_region, MAX_VIP_LEVEL};

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
