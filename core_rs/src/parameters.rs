//! Typed reads of the SPEC §3.4 settings and of the per-asset parameters the money flows
//! use (§3.2, §7). The engine reads these instead of the rulebook's JSON, so a setting a
//! rulebook leaves out takes its SPEC default in exactly one place (the parser).

use crate::account::MarginMode;
use crate::decimal::Dec;
use crate::error::{Error, Reason, Result};
use crate::rulebook::{AssetId, ContractKind, Liability, Rulebook};

/// The three kinds of liquidation rule, one threshold each (SPEC §3.4 `liquidation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RiskMode {
    /// Futures pools (§5.2).
    Futures,
    /// Margin Classic (§6.1).
    Classic,
    /// Margin Pro (§6.2).
    Pro,
}

impl RiskMode {
    /// The key used in the rulebook's `liquidation` map.
    pub fn name(self) -> &'static str {
        match self {
            RiskMode::Futures => "FUTURES",
            RiskMode::Classic => "CLASSIC",
            RiskMode::Pro => "PRO",
        }
    }

    /// Parses `FUTURES`, `CLASSIC` or `PRO`; anything else is `INVALID_ARGUMENT` at `field`.
    pub fn parse(s: &str, field: &str) -> Result<RiskMode> {
        match s {
            "FUTURES" => Ok(RiskMode::Futures),
            "CLASSIC" => Ok(RiskMode::Classic),
            "PRO" => Ok(RiskMode::Pro),
            _ => Err(Error::at(
                Reason::InvalidArgument,
                field,
                format!("{s:?} is not FUTURES, CLASSIC or PRO"),
            )),
        }
    }
}

impl From<MarginMode> for RiskMode {
    fn from(m: MarginMode) -> RiskMode {
        match m {
            MarginMode::Classic => RiskMode::Classic,
            MarginMode::Pro => RiskMode::Pro,
        }
    }
}

/// Parses a margin mode name (`CLASSIC` / `PRO`); else `INVALID_ARGUMENT` at `field`.
pub fn parse_margin_mode(s: &str, field: &str) -> Result<MarginMode> {
    match s {
        "CLASSIC" => Ok(MarginMode::Classic),
        "PRO" => Ok(MarginMode::Pro),
        _ => Err(Error::at(Reason::InvalidArgument, field, format!("{s:?} is not CLASSIC or PRO"))),
    }
}

impl Rulebook {
    /// The liquidation threshold of a mode (SPEC §3.4; defaults FUTURES 1, CLASSIC 1.1, PRO 1).
    ///
    /// ```
    /// use multimargin_core::rulebook::Rulebook;
    /// use multimargin_core::parameters::RiskMode;
    /// let rb = Rulebook::from_json_str(r#"{"assets": {"USDT": {"collateral_tiers": [[null, "1"]],
    ///     "haircut_tiers": [[null, "1"]], "discount": "1"}}}"#).unwrap();
    /// assert_eq!(rb.liquidation_threshold(RiskMode::Classic).to_string(), "1.1");
    /// ```
    pub fn liquidation_threshold(&self, mode: RiskMode) -> Dec {
        let s = &self.settings;
        match mode {
            RiskMode::Futures => s.liquidation_futures,
            RiskMode::Classic => s.liquidation_classic,
            RiskMode::Pro => s.liquidation_pro,
        }
    }

    /// The default margin-call ratio of a margin mode (SPEC §3.4; CLASSIC 1.3, PRO 1.5).
    pub fn mcr_default(&self, mode: MarginMode) -> Dec {
        match mode {
            MarginMode::Classic => self.settings.mcr_default_classic,
            MarginMode::Pro => self.settings.mcr_default_pro,
        }
    }

    /// The allowed margin-call ratios, inclusive (SPEC §3.4; default [1.3, 2]).
    pub fn mcr_range(&self) -> (Dec, Dec) {
        self.settings.mcr_range
    }

    /// SPEC §9 "set MCR": the value must lie in `mcr_range`, else `OUT_OF_RANGE` at `field`.
    pub fn check_mcr(&self, value: Dec, field: &str) -> Result<Dec> {
        let (lo, hi) = self.settings.mcr_range;
        if value < lo || value > hi {
            return Err(Error::at(
                Reason::OutOfRange,
                field,
                format!("must lie in the margin-call range [{lo}, {hi}]"),
            ));
        }
        Ok(value)
    }

    /// The collateral margin level required after a Classic transfer-out (default 2).
    pub fn classic_transfer_bar(&self) -> Dec {
        self.settings.classic_transfer_bar
    }

    /// The Pro margin level required to switch into Pro (default 2).
    pub fn pro_switch_in_bar(&self) -> Dec {
        self.settings.pro_switch_in_bar
    }

    /// The order in which assets pay in threshold auto-repay (default: the rulebook's
    /// `assets` in file order).
    pub fn payer_order(&self) -> &[AssetId] {
        &self.settings.payer_order
    }

    /// Regions where the Pro IMR floor applies.
    pub fn restricted_regions(&self) -> &[String] {
        &self.settings.restricted_regions
    }

    /// The floor of every Pro IMR row in restricted regions (default 0.1112).
    pub fn restricted_imr_floor(&self) -> Dec {
        self.settings.restricted_imr_floor
    }

    /// The settlement assets of `LINEAR` contracts (the SINGLE_ASSET pool assets, §5.2),
    /// in asset-id (code-point) order.
    pub fn linear_settlement_assets(&self) -> Vec<AssetId> {
        let mut out: Vec<AssetId> = self
            .contracts()
            .iter()
            .filter(|c| c.kind == ContractKind::Linear)
            .map(|c| c.settlement)
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The rate at which `a` is valued when it pays for another asset's debt (§3.2).
    pub fn discount(&self, a: AssetId) -> Dec {
        self.asset(a).discount
    }

    /// The margin borrow rate per hour of `a`, when borrowing it is enabled (§3.2).
    pub fn borrow_hourly_rate(&self, a: AssetId) -> Option<Dec> {
        self.asset(a).borrow.as_ref().map(|b| b.hourly_rate)
    }

    /// The futures liability section of `a`, if any (§3.2).
    pub fn liability(&self, a: AssetId) -> Option<&Liability> {
        self.asset(a).liability.as_ref()
    }

    /// The id of an asset code, or `UNKNOWN_ASSET` naming `field`.
    pub fn need_asset(&self, code: &str, field: &str) -> Result<AssetId> {
        self.asset_id(code)
            .ok_or_else(|| Error::at(Reason::UnknownAsset, field, format!("{code:?} is not in the rulebook")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rb(settings: &str) -> Rulebook {
        Rulebook::from_json_str(&format!(
            r#"{{"assets": {{
                "USDT": {{"collateral_tiers": [[null, "1"]], "haircut_tiers": [[null, "1"]], "discount": "1",
                          "liability": {{"hourly_rate": "0.00001", "interest_free": "100", "mmr": "0.01",
                                        "auto_repay_threshold": "50000", "auto_repay_ratio": "0.5"}}}},
                "BTC": {{"collateral_tiers": [[null, "0.95"]], "haircut_tiers": [[null, "0.95"]], "discount": "0.95",
                         "borrow": {{"enabled": true, "hourly_rate": "0.000002", "classic_limit": "10",
                                    "pro_tiers": [[null, "0.2", "0.1"]]}}}}
              }},
              "contracts": {{
                "BTCUSDT": {{"settlement": "USDT", "kind": "LINEAR", "category": "STANDARD",
                             "risk_tiers": [[null, "0.005", 100]]}},
                "BTCUSD": {{"settlement": "BTC", "kind": "INVERSE", "category": "STANDARD",
                            "risk_tiers": [[null, "0.005", 100]]}}
              }},
              "settings": {settings}}}"#
        ))
        .unwrap()
    }

    fn d(s: &str) -> Dec {
        s.parse().unwrap()
    }

    #[test]
    fn defaults_follow_spec() {
        let rb = rb("{}");
        assert_eq!(rb.liquidation_threshold(RiskMode::Futures), d("1"));
        assert_eq!(rb.liquidation_threshold(RiskMode::Classic), d("1.1"));
        assert_eq!(rb.liquidation_threshold(RiskMode::Pro), d("1"));
        assert_eq!(rb.mcr_default(MarginMode::Classic), d("1.3"));
        assert_eq!(rb.mcr_default(MarginMode::Pro), d("1.5"));
        assert_eq!(rb.mcr_range(), (d("1.3"), d("2")));
        assert_eq!(rb.classic_transfer_bar(), d("2"));
        assert_eq!(rb.pro_switch_in_bar(), d("2"));
        assert_eq!(rb.restricted_imr_floor(), d("0.1112"));
        assert_eq!(rb.restricted_regions().len(), 18);
        // File order: USDT first, then BTC.
        let usdt = rb.asset_id("USDT").unwrap();
        let btc = rb.asset_id("BTC").unwrap();
        assert_eq!(rb.payer_order(), &[usdt, btc]);
        // Only LINEAR contracts settle SINGLE_ASSET pools.
        assert_eq!(rb.linear_settlement_assets(), vec![usdt]);
        assert_eq!(rb.discount(btc), d("0.95"));
        assert_eq!(rb.borrow_hourly_rate(btc), Some(d("0.000002")));
        assert_eq!(rb.borrow_hourly_rate(usdt), None);
        assert_eq!(rb.liability(usdt).unwrap().interest_free, d("100"));
        assert!(rb.liability(btc).is_none());
    }

    #[test]
    fn settings_given_are_read() {
        let rb = rb(r#"{"liquidation": {"CLASSIC": "1.05"}, "mcr_default": {"PRO": "1.8"},
                        "mcr_range": ["1.2", "1.9"], "payer_order": ["BTC"]}"#);
        assert_eq!(rb.liquidation_threshold(RiskMode::Classic), d("1.05"));
        assert_eq!(rb.liquidation_threshold(RiskMode::Futures), d("1"));
        assert_eq!(rb.mcr_default(MarginMode::Pro), d("1.8"));
        assert_eq!(rb.payer_order(), &[rb.asset_id("BTC").unwrap()]);
        assert_eq!(rb.check_mcr(d("1.2"), "ratio").unwrap(), d("1.2"));
        assert_eq!(rb.check_mcr(d("1.9"), "ratio").unwrap(), d("1.9"));
        for bad in ["1.19999999", "1.90000001"] {
            let e = rb.check_mcr(d(bad), "ratio").unwrap_err();
            assert_eq!((e.reason, e.field.as_deref()), (Reason::OutOfRange, Some("ratio")));
        }
    }

    #[test]
    fn names_parse() {
        assert_eq!(RiskMode::parse("PRO", "mode").unwrap(), RiskMode::Pro);
        assert_eq!(RiskMode::parse("pro", "mode").unwrap_err().reason, Reason::InvalidArgument);
        assert_eq!(RiskMode::from(MarginMode::Classic).name(), "CLASSIC");
        assert_eq!(parse_margin_mode("CLASSIC", "mode").unwrap(), MarginMode::Classic);
        assert_eq!(parse_margin_mode("FUTURES", "mode").unwrap_err().field.as_deref(), Some("mode"));
    }
}
