//! Market data (SPEC §2): index prices by asset and mark prices by contract, parsed and
//! validated against a rulebook from the scenario JSON of §10.

use crate::decimal::{Dec, Exact};
use crate::error::{Error, Reason, Result};
use crate::json::{ranges, At};
use crate::rulebook::{AssetId, ContractId, Rulebook};
use serde_json::Value;

/// `price` in units of 10^-4 when it is a whole number of them (prices are > 0), else 0.
fn price4(price: Dec) -> u64 {
    let u = price.units();
    if u % 10_000 == 0 {
        u64::try_from(u / 10_000).unwrap_or(0)
    } else {
        0
    }
}

/// Index and mark prices, by asset and contract id.
#[derive(Debug, Clone)]
pub struct Market {
    prices: Vec<Option<Dec>>,
    marks: Vec<Option<Dec>>,
    /// The same prices as exact values, converted once.
    prices_exact: Vec<Option<Exact>>,
    marks_exact: Vec<Option<Exact>>,
    /// The prices in units of 10^-4 for the fixed-scale paths: 0 when unknown or when a
    /// price has more than 4 fractional digits (those take the general path).
    prices4: Vec<u64>,
}

impl PartialEq for Market {
    fn eq(&self, other: &Market) -> bool {
        self.prices == other.prices && self.marks == other.marks
    }
}

impl Eq for Market {}

impl Market {
    /// No prices but USDT's (always 1).
    pub fn empty(rb: &Rulebook) -> Market {
        let mut market = Market {
            prices: vec![None; rb.assets().len()],
            marks: vec![None; rb.contracts().len()],
            prices_exact: vec![None; rb.assets().len()],
            marks_exact: vec![None; rb.contracts().len()],
            prices4: vec![0; rb.assets().len()],
        };
        if let Some(u) = rb.usdt() {
            market.prices[u] = Some(Dec::ONE);
            market.prices_exact[u] = Some(Dec::ONE.exact());
            market.prices4[u] = price4(Dec::ONE);
        }
        market
    }

    /// Parses `prices` and `marks` (either may be absent/null).
    pub fn from_json(rb: &Rulebook, prices: Option<&Value>, marks: Option<&Value>) -> Result<Market> {
        let mut market = Market::empty(rb);
        if let Some(v) = prices.filter(|v| !v.is_null()) {
            let at = At::root(v, "prices");
            for (code, pv) in at.entries()? {
                let p = format!("prices.{code}");
                let pat = At::root(pv, &p);
                let id = rb.asset_id(code).ok_or_else(|| {
                    pat.err(Reason::UnknownAsset, format!("{code:?} is not in the rulebook"))
                })?;
                market.set_price(rb, id, pat.dec_in(ranges::PRICE)?).map_err(|e| e.under(&p))?;
            }
        }
        if let Some(v) = marks.filter(|v| !v.is_null()) {
            let at = At::root(v, "marks");
            for (sym, mv) in at.entries()? {
                let p = format!("marks.{sym}");
                let mat = At::root(mv, &p);
                let id = rb.contract_id(sym).ok_or_else(|| {
                    mat.err(Reason::UnknownSymbol, format!("{sym:?} is not in the rulebook"))
                })?;
                market.set_mark(id, mat.dec_in(ranges::PRICE)?).map_err(|e| e.under(&p))?;
            }
        }
        Ok(market)
    }

    /// Sets an index price; USDT only takes 1 (SPEC §2). The error has no field: the
    /// caller names it.
    pub fn set_price(&mut self, rb: &Rulebook, asset: AssetId, price: Dec) -> Result<()> {
        if Some(asset) == rb.usdt() && price != Dec::ONE {
            return Err(Error::new(Reason::OutOfRange, "the USDT index price is 1 by definition"));
        }
        if !ranges::PRICE.contains(price) {
            return Err(Error::new(Reason::OutOfRange, "a price must satisfy 0 < p ≤ 10^9"));
        }
        self.prices[asset] = Some(price);
        self.prices_exact[asset] = Some(price.exact());
        self.prices4[asset] = price4(price);
        Ok(())
    }

    /// Sets a mark price.
    pub fn set_mark(&mut self, contract: ContractId, mark: Dec) -> Result<()> {
        if !ranges::PRICE.contains(mark) {
            return Err(Error::new(Reason::OutOfRange, "a price must satisfy 0 < p ≤ 10^9"));
        }
        self.marks[contract] = Some(mark);
        self.marks_exact[contract] = Some(mark.exact());
        Ok(())
    }

    /// The index price of an asset, if known.
    pub fn price(&self, a: AssetId) -> Option<Dec> {
        self.prices[a]
    }

    /// The index price of `a` in units of 10^-4, when it is known and has at most 4
    /// fractional digits (the fixed-scale paths); `None` otherwise.
    #[inline(always)]
    pub(crate) fn price4(&self, a: AssetId) -> Option<u64> {
        Some(self.prices4[a]).filter(|&p| p != 0)
    }

    /// The mark price of a contract, if known.
    pub fn mark(&self, c: ContractId) -> Option<Dec> {
        self.marks[c]
    }

    /// `qty × p(a)`, exact; the price is needed only when `qty ≠ 0` (SPEC §2).
    #[inline]
    pub fn value(&self, rb: &Rulebook, a: AssetId, qty: Exact) -> Result<Exact> {
        if qty.is_zero()? {
            return Ok(Exact::ZERO);
        }
        Ok(qty * self.need_price_exact(rb, a)?)
    }

    /// The index price of `a` as an exact value, or `PRICE_UNAVAILABLE`.
    #[inline]
    pub fn need_price_exact(&self, rb: &Rulebook, a: AssetId) -> Result<Exact> {
        match self.prices_exact[a] {
            Some(p) => Ok(p),
            None => Err(self.need_price(rb, a).unwrap_err()),
        }
    }

    /// The mark price of `c` as an exact value, or `PRICE_UNAVAILABLE`.
    #[inline]
    pub fn need_mark_exact(&self, rb: &Rulebook, c: ContractId) -> Result<Exact> {
        match self.marks_exact[c] {
            Some(p) => Ok(p),
            None => Err(self.need_mark(rb, c).unwrap_err()),
        }
    }

    /// The index price of `a`, or `PRICE_UNAVAILABLE`.
    pub fn need_price(&self, rb: &Rulebook, a: AssetId) -> Result<Dec> {
        self.prices[a].ok_or_else(|| {
            let code = &rb.asset(a).code;
            Error::at(
                Reason::PriceUnavailable,
                format!("prices.{code}"),
                format!("no index price for {code}"),
            )
        })
    }

    /// The mark price of `c`, or `PRICE_UNAVAILABLE`.
    pub fn need_mark(&self, rb: &Rulebook, c: ContractId) -> Result<Dec> {
        self.marks[c].ok_or_else(|| {
            let sym = &rb.contract(c).symbol;
            Error::at(Reason::PriceUnavailable, format!("marks.{sym}"), format!("no mark price for {sym}"))
        })
    }

    /// Prices as (asset id, price) pairs.
    pub fn prices(&self) -> impl Iterator<Item = (AssetId, Dec)> + '_ {
        self.prices.iter().enumerate().filter_map(|(i, p)| p.map(|p| (i, p)))
    }

    /// Marks as (contract id, price) pairs.
    pub fn marks(&self) -> impl Iterator<Item = (ContractId, Dec)> + '_ {
        self.marks.iter().enumerate().filter_map(|(i, p)| p.map(|p| (i, p)))
    }
}
