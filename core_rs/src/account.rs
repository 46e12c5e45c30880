//! Account state (SPEC §4), parsed and validated against a rulebook from the scenario
//! JSON of §10 (or the engine's state form). Market data lives in [`crate::market`].

use crate::decimal::Dec;
use crate::error::{Error, Reason, Result};
use crate::json::{child, index_path, ranges, At};
use crate::rulebook::{check_region, AssetId, ContractId, ContractKind, Rulebook, MAX_VIP_LEVEL};
use serde_json::Value;

pub use crate::market::Market;

/// Order side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// Buy.
    Buy,
    /// Sell.
    Sell,
}

impl Side {
    /// The wire name.
    pub fn name(self) -> &'static str {
        match self {
            Side::Buy => "BUY",
            Side::Sell => "SELL",
        }
    }
}

/// Futures account mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FuturesMode {
    /// One cross pool per settlement asset; no collateral ratios.
    SingleAsset,
    /// One cross pool of every asset, valued with collateral tiers.
    MultiAsset,
}

/// Margin account mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MarginMode {
    /// Binance Cross Margin Classic.
    Classic,
    /// Binance Cross Margin Pro.
    Pro,
}

/// Account status (SPEC §4, §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Status {
    /// Normal.
    #[default]
    Active,
    /// Under liquidation: only reduce-only orders are accepted.
    Liquidating,
}

/// A futures position (SPEC §5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// The contract.
    pub contract: ContractId,
    /// Signed size: long > 0.
    pub size: Dec,
    /// Average entry price.
    pub entry_price: Dec,
    /// Leverage.
    pub leverage: u32,
    /// Isolated (a pool of its own).
    pub isolated: bool,
    /// Settlement-asset margin held apart (isolated only).
    pub isolated_margin: Dec,
    /// Granted by the exchange rather than traded.
    pub airdrop: bool,
}

/// An open futures order (SPEC §5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuturesOrder {
    /// The contract.
    pub contract: ContractId,
    /// Buy or sell.
    pub side: Side,
    /// Limit price.
    pub price: Dec,
    /// Quantity (> 0).
    pub quantity: Dec,
    /// Leverage; `None` = the position's leverage.
    pub leverage: Option<u32>,
}

/// An open margin (spot) order (SPEC §6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarginOrder {
    /// Base asset.
    pub base: AssetId,
    /// Quote asset.
    pub quote: AssetId,
    /// Buy or sell (of the base).
    pub side: Side,
    /// Limit price, quote per base.
    pub price: Dec,
    /// Base quantity (> 0).
    pub quantity: Dec,
}

/// Futures account state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuturesAccount {
    /// Mode.
    pub mode: FuturesMode,
    /// Region, if any.
    pub region: Option<String>,
    /// Status.
    pub status: Status,
    /// Wallet balance per asset id (dense; negative = liability).
    pub wallet: Vec<Dec>,
    /// Positions, at most one per contract.
    pub positions: Vec<Position>,
    /// Open orders.
    pub orders: Vec<FuturesOrder>,
    /// Is a sub-account.
    pub sub_account: bool,
    /// Copy trading is on.
    pub copy_trading: bool,
}

/// Margin account state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarginAccount {
    /// Mode.
    pub mode: MarginMode,
    /// Region, if any.
    pub region: Option<String>,
    /// Status.
    pub status: Status,
    /// Holdings per asset id (≥ 0).
    pub holdings: Vec<Dec>,
    /// Borrowed principal per asset id (≥ 0).
    pub borrowed: Vec<Dec>,
    /// Unpaid interest per asset id (≥ 0).
    pub interest: Vec<Dec>,
    /// Open orders.
    pub orders: Vec<MarginOrder>,
    /// Classic leverage, 3 or 5.
    pub classic_leverage: u32,
    /// Margin-call ratio in Classic mode.
    pub mcr_classic: Dec,
    /// Margin-call ratio in Pro mode.
    pub mcr_pro: Dec,
    /// Pro terms accepted (quiz passed and terms agreed).
    pub pro_terms_accepted: bool,
    /// The exchange's VIP level, 0–9: selects the borrow limits (SPEC §4, §6.3).
    pub vip_level: u8,
}

/// An account of either kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Account {
    /// A futures account.
    Futures(FuturesAccount),
    /// A margin account.
    Margin(MarginAccount),
}

impl FuturesAccount {
    /// The position on a contract with a non-zero size, if any.
    pub fn position(&self, c: ContractId) -> Option<&Position> {
        self.positions.iter().find(|p| p.contract == c && !p.size.is_zero())
    }
}

impl MarginAccount {
    /// The margin-call ratio of the current mode.
    pub fn mcr(&self) -> Dec {
        match self.mode {
            MarginMode::Classic => self.mcr_classic,
            MarginMode::Pro => self.mcr_pro,
        }
    }
}

const SIDES: &[(&str, Side)] = &[("BUY", Side::Buy), ("SELL", Side::Sell)];

/// Reads an asset map (`{"BTC": "1.5"}`) into a dense vector.
fn asset_map(rb: &Rulebook, at: Option<At<'_>>, range: crate::json::Range) -> Result<Vec<Dec>> {
    let mut out = vec![Dec::ZERO; rb.assets().len()];
    let Some(at) = at else { return Ok(out) };
    for (code, v) in at.entries()? {
        let p = format!("{}.{code}", at.path());
        let vat = At::root(v, &p);
        let id = rb
            .asset_id(code)
            .ok_or_else(|| vat.err(Reason::UnknownAsset, format!("{code:?} is not in the rulebook")))?;
        out[id] = vat.dec_in(range)?;
    }
    Ok(out)
}

fn contract_of(rb: &Rulebook, at: At<'_>) -> Result<ContractId> {
    let sym = at.str()?;
    rb.contract_id(sym)
        .ok_or_else(|| at.err(Reason::UnknownSymbol, format!("{sym:?} is not in the rulebook")))
}

/// SPEC §5.1: an order or position on an INVERSE contract is refused in every mode.
pub fn check_supported(rb: &Rulebook, c: ContractId, field: String) -> Result<()> {
    if rb.contract(c).kind == ContractKind::Inverse {
        return Err(Error::at(
            Reason::ContractNotSupported,
            field,
            format!(
                "{} is an INVERSE (coin-margined) contract, which this engine does not margin",
                rb.contract(c).symbol
            ),
        ));
    }
    Ok(())
}

fn asset_of(rb: &Rulebook, at: At<'_>) -> Result<AssetId> {
    let code = at.str()?;
    rb.asset_id(code).ok_or_else(|| at.err(Reason::UnknownAsset, format!("{code:?} is not in the rulebook")))
}

fn leverage(at: At<'_>) -> Result<u32> {
    let (lo, hi) = ranges::LEVERAGE;
    Ok(at.int_in(lo, hi)? as u32)
}

fn opt_bool(m: &serde_json::Map<String, Value>, p: &str, k: &str) -> Result<bool> {
    match child(m, p, k).optional() {
        Some(v) => v.bool(),
        None => Ok(false),
    }
}

/// The keys of each account object (SPEC §10); any other key is refused.
mod keys {
    pub const FUTURES: &[&str] = &["kind", "mode", "region", "wallet", "positions", "orders"];
    pub const MARGIN: &[&str] = &[
        "kind",
        "mode",
        "region",
        "holdings",
        "borrowed",
        "interest",
        "classic_leverage",
        "mcr",
        "orders",
        "vip_level",
    ];
    /// The engine state form adds the SPEC §4 status and flags.
    pub const FUTURES_STATE: &[&str] =
        &["kind", "mode", "region", "wallet", "positions", "orders", "status", "sub_account", "copy_trading"];
    pub const MARGIN_STATE: &[&str] = &[
        "kind",
        "mode",
        "region",
        "holdings",
        "borrowed",
        "interest",
        "classic_leverage",
        "mcr",
        "orders",
        "vip_level",
        "status",
        "pro_terms_accepted",
    ];
    pub const POSITION: &[&str] =
        &["symbol", "size", "entry_price", "leverage", "isolated", "isolated_margin", "airdrop"];
    pub const FUTURES_ORDER: &[&str] = &["symbol", "side", "price", "quantity", "leverage", "order_id"];
    pub const MARGIN_ORDER: &[&str] = &["base", "quote", "side", "price", "quantity", "order_id"];
    pub const MCR: &[&str] = &["CLASSIC", "PRO"];
}

/// Which keys an account document may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// The `account` of a SPEC §10 scenario: only the keys of its kind.
    Scenario,
    /// The engine's stored state: the scenario keys plus the SPEC §4 `status`, and
    /// `sub_account` and `copy_trading` (futures) or `pro_terms_accepted` (margin).
    State,
}

/// Parses one futures position at `at`.
pub fn parse_position(rb: &Rulebook, at: At<'_>) -> Result<Position> {
    let m = at.fields(keys::POSITION)?;
    let p = at.path();
    let contract = contract_of(rb, child(m, p, "symbol").required()?)?;
    let isolated = opt_bool(m, p, "isolated")?;
    let isolated_margin = match child(m, p, "isolated_margin").optional() {
        Some(v) => v.dec_in(ranges::QTY)?,
        None => Dec::ZERO,
    };
    Ok(Position {
        contract,
        size: child(m, p, "size").required()?.dec_in(ranges::SIGNED_QTY)?,
        entry_price: child(m, p, "entry_price").required()?.dec_in(ranges::PRICE)?,
        leverage: leverage(child(m, p, "leverage").required()?)?,
        isolated,
        isolated_margin: if isolated { isolated_margin } else { Dec::ZERO },
        airdrop: opt_bool(m, p, "airdrop")?,
    })
}

/// Parses one futures order at `at` (leverage defaulting and INVERSE contracts are
/// checked by the caller, against the account).
pub fn parse_futures_order(rb: &Rulebook, at: At<'_>) -> Result<FuturesOrder> {
    let m = at.fields(keys::FUTURES_ORDER)?;
    let p = at.path();
    Ok(FuturesOrder {
        contract: contract_of(rb, child(m, p, "symbol").required()?)?,
        side: child(m, p, "side").required()?.enum_of(SIDES)?,
        price: child(m, p, "price").required()?.dec_in(ranges::PRICE)?,
        quantity: child(m, p, "quantity").required()?.dec_in(ranges::AMOUNT)?,
        leverage: match child(m, p, "leverage").optional() {
            Some(v) => Some(leverage(v)?),
            None => None,
        },
    })
}

/// Parses one margin order at `at`.
pub fn parse_margin_order(rb: &Rulebook, at: At<'_>) -> Result<MarginOrder> {
    let m = at.fields(keys::MARGIN_ORDER)?;
    let p = at.path();
    let base = asset_of(rb, child(m, p, "base").required()?)?;
    let quote_child = child(m, p, "quote");
    let quote_at = quote_child.required()?;
    let quote = asset_of(rb, quote_at)?;
    if base == quote {
        return Err(quote_at.err(Reason::InvalidArgument, "base and quote must differ"));
    }
    Ok(MarginOrder {
        base,
        quote,
        side: child(m, p, "side").required()?.enum_of(SIDES)?,
        price: child(m, p, "price").required()?.dec_in(ranges::PRICE)?,
        quantity: child(m, p, "quantity").required()?.dec_in(ranges::AMOUNT)?,
    })
}

impl Account {
    /// Parses and validates an account against a rulebook: the `account` object of a
    /// scenario ([`Form::Scenario`]) or the engine's state ([`Form::State`]). Paths in
    /// errors start with `account.`.
    pub fn from_json(rb: &Rulebook, value: &Value, form: Form) -> Result<Account> {
        let at = At::root(value, "account");
        let p = at.path();
        let kind =
            child(at.object()?, p, "kind").required()?.enum_of(&[("FUTURES", true), ("MARGIN", false)])?;
        let m = at.fields(match (kind, form) {
            (true, Form::Scenario) => keys::FUTURES,
            (true, Form::State) => keys::FUTURES_STATE,
            (false, Form::Scenario) => keys::MARGIN,
            (false, Form::State) => keys::MARGIN_STATE,
        })?;
        let region = match child(m, p, "region").optional() {
            Some(v) => Some(check_region(v)?),
            None => None,
        };
        let status = match child(m, p, "status").optional() {
            Some(v) => v.enum_of(&[("ACTIVE", Status::Active), ("LIQUIDATING", Status::Liquidating)])?,
            None => Status::Active,
        };
        let account = if kind {
            let mode = match child(m, p, "mode").optional() {
                Some(v) => v.enum_of(&[
                    ("SINGLE_ASSET", FuturesMode::SingleAsset),
                    ("MULTI_ASSET", FuturesMode::MultiAsset),
                ])?,
                None => FuturesMode::SingleAsset,
            };
            let wallet_child = child(m, p, "wallet");
            let wallet = asset_map(rb, wallet_child.optional(), ranges::SIGNED_QTY)?;
            let mut positions: Vec<Position> = Vec::new();
            if let Some(list) = child(m, p, "positions").optional() {
                for (i, v) in list.array()?.iter().enumerate() {
                    let ip = index_path(list.path(), i);
                    let pos = parse_position(rb, At::root(v, &ip))?;
                    if positions.iter().any(|q| q.contract == pos.contract) {
                        return Err(Error::at(
                            Reason::InvalidArgument,
                            format!("{ip}.symbol"),
                            "an account holds at most one position per symbol",
                        ));
                    }
                    positions.push(pos);
                }
            }
            let mut orders = Vec::new();
            if let Some(list) = child(m, p, "orders").optional() {
                for (i, v) in list.array()?.iter().enumerate() {
                    orders.push(parse_futures_order(rb, At::root(v, &index_path(list.path(), i)))?);
                }
            }
            let f = FuturesAccount {
                mode,
                region,
                status,
                wallet,
                positions,
                orders,
                sub_account: opt_bool(m, p, "sub_account")?,
                copy_trading: opt_bool(m, p, "copy_trading")?,
            };
            validate_futures(rb, &f)?;
            Account::Futures(f)
        } else {
            let mode = match child(m, p, "mode").optional() {
                Some(v) => v.enum_of(&[("CLASSIC", MarginMode::Classic), ("PRO", MarginMode::Pro)])?,
                None => MarginMode::Classic,
            };
            let hc = child(m, p, "holdings");
            let bc = child(m, p, "borrowed");
            let ic = child(m, p, "interest");
            let holdings = asset_map(rb, hc.optional(), ranges::QTY)?;
            let borrowed = asset_map(rb, bc.optional(), ranges::QTY)?;
            let interest = asset_map(rb, ic.optional(), ranges::QTY)?;
            for (a, asset) in rb.assets().iter().enumerate() {
                if asset.borrow.is_none() {
                    for (vals, c) in [(&borrowed, &bc), (&interest, &ic)] {
                        if !vals[a].is_zero() {
                            return Err(Error::at(
                                Reason::InvalidArgument,
                                format!("{}.{}", c.path(), asset.code),
                                format!("{} cannot be borrowed", asset.code),
                            ));
                        }
                    }
                }
            }
            let mut orders = Vec::new();
            if let Some(list) = child(m, p, "orders").optional() {
                for (i, v) in list.array()?.iter().enumerate() {
                    orders.push(parse_margin_order(rb, At::root(v, &index_path(list.path(), i)))?);
                }
            }
            let classic_leverage = match child(m, p, "classic_leverage").optional() {
                Some(v) => {
                    let l = v.int_in(3, 5)?;
                    if l == 4 {
                        return Err(v.err(Reason::OutOfRange, "classic leverage is 3 or 5"));
                    }
                    l as u32
                }
                None => 3,
            };
            let s = &rb.settings;
            let mcr_range = crate::json::Range::closed(s.mcr_range.0, s.mcr_range.1);
            let (mcr_classic, mcr_pro) = match child(m, p, "mcr").optional() {
                None => (s.mcr_default_classic, s.mcr_default_pro),
                Some(at) => {
                    let mm = at.fields(keys::MCR)?;
                    let get = |k: &str, d: Dec| match child(mm, at.path(), k).optional() {
                        Some(v) => v.dec_in(mcr_range),
                        None => Ok(d),
                    };
                    (get("CLASSIC", s.mcr_default_classic)?, get("PRO", s.mcr_default_pro)?)
                }
            };
            Account::Margin(MarginAccount {
                mode,
                region,
                status,
                holdings,
                borrowed,
                interest,
                orders,
                classic_leverage,
                mcr_classic,
                mcr_pro,
                pro_terms_accepted: opt_bool(m, p, "pro_terms_accepted")?,
                vip_level: match child(m, p, "vip_level").optional() {
                    Some(v) => v.int_in(0, i64::from(MAX_VIP_LEVEL))? as u8,
                    None => 0,
                },
            })
        };
        Ok(account)
    }
}

/// SPEC §5.1–§5.2 and §9 checks of a futures state against its mode.
pub fn validate_futures(rb: &Rulebook, f: &FuturesAccount) -> Result<()> {
    // A size-0 position is no position (SPEC §5.1): only its fields were checked.
    for (i, pos) in f.positions.iter().enumerate().filter(|(_, p)| !p.size.is_zero()) {
        check_supported(rb, pos.contract, format!("account.positions[{i}].symbol"))?;
    }
    for (i, o) in f.orders.iter().enumerate() {
        check_supported(rb, o.contract, format!("account.orders[{i}].symbol"))?;
    }
    for (i, o) in f.orders.iter().enumerate() {
        if o.leverage.is_none() && f.position(o.contract).is_none() {
            return Err(Error::at(
                Reason::InvalidArgument,
                format!("account.orders[{i}].leverage"),
                "an order needs a leverage when there is no position on its symbol",
            ));
        }
    }
    match f.mode {
        FuturesMode::SingleAsset => {
            for (a, w) in f.wallet.iter().enumerate() {
                if w.is_negative() && !rb.is_linear_settlement(a) {
                    return Err(Error::at(
                        Reason::InvalidArgument,
                        format!("account.wallet.{}", rb.asset(a).code),
                        "in SINGLE_ASSET mode only a settlement asset may be negative",
                    ));
                }
            }
        }
        FuturesMode::MultiAsset => {
            for (i, pos) in f.positions.iter().enumerate() {
                if pos.size.is_zero() {
                    continue;
                }
                let field = format!("account.positions[{i}]");
                if pos.isolated {
                    return Err(not_allowed(format!("{field}.isolated"), "isolated positions"));
                }
                if pos.airdrop {
                    return Err(not_allowed(format!("{field}.airdrop"), "airdropped positions"));
                }
                check_multi_asset_contract(rb, pos.contract, &format!("{field}.symbol"))?;
            }
            for (i, o) in f.orders.iter().enumerate() {
                check_multi_asset_contract(rb, o.contract, &format!("account.orders[{i}].symbol"))?;
            }
        }
    }
    Ok(())
}

fn not_allowed(field: String, what: &str) -> Error {
    Error::at(Reason::ContractNotAllowedInMode, field, format!("MULTI_ASSET mode does not allow {what}"))
}

/// SPEC §9: a MULTI_ASSET contract is LINEAR, settled in USDT or USDC, STANDARD.
pub fn check_multi_asset_contract(rb: &Rulebook, c: ContractId, field: &str) -> Result<()> {
    let k = rb.contract(c);
    if k.kind != ContractKind::Linear
        || !rb.is_multi_asset_settlement(k.settlement)
        || k.category != crate::rulebook::Category::Standard
    {
        return Err(Error::at(
            Reason::ContractNotAllowedInMode,
            field,
            format!("{} is not a linear USDT/USDC standard contract, as MULTI_ASSET mode requires", k.symbol),
        ));
    }
    Ok(())
}
