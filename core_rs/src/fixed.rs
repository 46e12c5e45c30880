//! Fixed-scale fast paths: the same exact figures as the general [`Exact`] arithmetic,
//! computed in 128-bit integers at a scale fixed per formula (no per-operation scale
//! alignment), for the common case where every input and sum fits. Each path returns
//! `None` as soon as anything would not fit — the caller then runs the general path —
//! so a result is never approximated and overflow is never wrapped.

use crate::account::FuturesAccount;
use crate::decimal::{Dec, Exact};
use crate::divide::{div_ceil_small, udiv_pow10};
use crate::futures::Settled;
use crate::market::Market;
use crate::rulebook::Rulebook;
use crate::tiers::TierTable;

/// `ceil(n16 / 10^8 / leverage)`: a position's IM in units of 10^-8 from its notional at
/// scale 16 (`ceil(ceil(a / b) / c) = ceil(a / (b·c))` for positive integers).
#[inline]
fn im_units(n16: i128, leverage: u32) -> Option<i128> {
    let (q, inexact) = udiv_pow10(u128::try_from(n16).ok()?, 8);
    let q = q + u128::from(inexact);
    if leverage == 0 {
        return None;
    }
    let units = match u64::try_from(q) {
        Ok(q) => u128::from(div_ceil_small(q, leverage)?),
        Err(_) => q.div_ceil(u128::from(leverage)),
    };
    i128::try_from(units).ok()
}

/// `a × b` for non-negative `a` and a rate `b < 2^64`, `None` beyond `i128` (two 64×64
/// multiplies instead of a checked 128-bit multiply, which is a library call).
#[inline(always)]
pub(crate) fn mul_rate(a: i128, b: i128) -> Option<i128> {
    let (a, b) = (u128::try_from(a).ok()?, u64::try_from(b).ok()?);
    let lo = u128::from(a as u64) * u128::from(b);
    let hi = (a >> 64) * u128::from(b);
    if hi >> 63 != 0 {
        return None;
    }
    i128::try_from((hi << 64).checked_add(lo)?).ok()
}

/// Per settlement asset, the sums of the cross (non-isolated) positions of SPEC §5.1 as
/// fixed-scale integers: Σ upnl at scale 16 (`size × (mark − entry)`), Σ MM at scale 24
/// (the risk tier line at the notional `|size| × mark`), Σ IM in units of 10^-8
/// (`ceil8(notional / leverage)`, orders' IM added by the caller), and whether any
/// position or order settles there.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RawSettled {
    pub(crate) upnl16: i128,
    pub(crate) mm24: i128,
    pub(crate) im8: i128,
    pub(crate) active: bool,
}

impl RawSettled {
    /// The same sums as exact values (trailing zeros stripped).
    pub(crate) fn settled(&self) -> Settled {
        Settled {
            upnl: Exact::from_fixed(self.upnl16, 16),
            mm: Exact::from_fixed(self.mm24, 24),
            im: Dec::from_units(self.im8),
            active: self.active,
        }
    }
}

/// The [`RawSettled`] sums of every settlement asset. `None` when a mark is missing (the
/// general path reports it) or a figure leaves 128 bits.
pub(crate) fn cross_sums(rb: &Rulebook, market: &Market, f: &FuturesAccount) -> Option<Vec<RawSettled>> {
    let mut sums = vec![RawSettled::default(); rb.assets().len()];
    for pos in f.positions.iter().filter(|p| !p.isolated && !p.size.is_zero()) {
        let c = rb.contract(pos.contract);
        let mark = i64::try_from(market.mark(pos.contract)?.units()).ok()?;
        let size = i64::try_from(pos.size.units()).ok()?;
        let entry = i64::try_from(pos.entry_price.units()).ok()?;
        // |size| < 2^63 and prices ≤ 10^17 units: these products cannot overflow.
        let n16 = i128::from(size.unsigned_abs()) * i128::from(mark);
        let pnl16 = i128::from(size) * i128::from(mark.checked_sub(entry)?);
        let mm24 = tiered16(&c.mmr, n16)?;
        let t = &mut sums[c.settlement];
        t.upnl16 = t.upnl16.checked_add(pnl16)?;
        t.mm24 = t.mm24.checked_add(mm24)?;
        t.im8 = t.im8.checked_add(im_units(n16, pos.leverage)?)?;
        t.active = true;
    }
    Some(sums)
}

/// `tiered(m / 10^16)` at scale 24 for `m > 0`, by the table's fixed-scale line.
#[inline]
pub(crate) fn tiered16(t: &TierTable, m: i128) -> Option<i128> {
    let (intercept, rate) = t.line16(m)?;
    intercept.checked_add(mul_rate(m, rate)?)
}

/// A margin account's sums over its assets (SPEC §6.1, §6.2) from each asset's holdings
/// value `hv` and liability value `lv`: `(TA, TL, CV, IM, MM)` — TA and TL at scale 16,
/// the tiered CV (haircut), Pro IM (the region's IMR table) and MM at scale 24. `None`
/// when a value has more than 16 fractional digits or a sum leaves 128 bits.
pub(crate) fn margin_sums(
    rb: &Rulebook,
    restricted: bool,
    hv: &[Exact],
    lv: &[Exact],
) -> Option<(Exact, Exact, Exact, Exact, Exact)> {
    let (mut ta, mut tl, mut cv, mut im, mut mm) = (0i128, 0i128, 0i128, 0i128, 0i128);
    for (a, asset) in rb.assets().iter().enumerate() {
        let (h, l) = (hv[a].mantissa_at(16)?, lv[a].mantissa_at(16)?);
        ta = ta.checked_add(h)?;
        tl = tl.checked_add(l)?;
        // tiered(x) = 0 for x ≤ 0.
        if h > 0 {
            cv = cv.checked_add(tiered16(&asset.haircut, h)?)?;
        }
        if let (Some(b), true) = (&asset.borrow, l > 0) {
            let imr = if restricted { &b.imr_restricted } else { &b.imr };
            im = im.checked_add(tiered16(imr, l)?)?;
            mm = mm.checked_add(tiered16(&b.mmr, l)?)?;
        }
    }
    Some((
        Exact::from_fixed(ta, 16),
        Exact::from_fixed(tl, 16),
        Exact::from_fixed(cv, 24),
        Exact::from_fixed(im, 24),
        Exact::from_fixed(mm, 24),
    ))
}

/// A margin account's sums (SPEC §6.1, §6.2) at fixed scales: TA and TL at scale 16,
/// the tiered CV, Pro IM and MM at scale 24.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MarginSums {
    pub(crate) ta16: i128,
    pub(crate) tl16: i128,
    pub(crate) cv24: i128,
    pub(crate) im24: i128,
    pub(crate) mm24: i128,
}

/// The [`MarginSums`] of an account without open orders, pushing each asset's
/// `holdings × p` and `(borrowed + interest) × p` (scale 16, prices in units of 10^-4)
/// onto `hv` and `lv`. `None` — with `hv` and `lv` partly filled — when a needed price is
/// missing or has more than 4 fractional digits, or a figure leaves 128 bits.
pub(crate) fn margin_fixed(
    rb: &Rulebook,
    market: &Market,
    restricted: bool,
    (holdings, borrowed, interest): (&[Dec], &[Dec], &[Dec]),
    hv: &mut Vec<Exact>,
    lv: &mut Vec<Exact>,
) -> Option<MarginSums> {
    const E4: i128 = 10_000;
    let mut f = MarginSums { ta16: 0, tl16: 0, cv24: 0, im24: 0, mm24: 0 };
    for (a, asset) in rb.assets().iter().enumerate() {
        let h = holdings[a].units();
        let l = borrowed[a].units().checked_add(interest[a].units())?;
        // The price is needed only for a non-zero quantity (SPEC §2).
        let (h16, l16) = if h == 0 && l == 0 {
            (0, 0)
        } else {
            let p = i128::from(market.price4(a)?);
            (mul_rate(mul_rate(h, p)?, E4)?, mul_rate(mul_rate(l, p)?, E4)?)
        };
        f.ta16 = f.ta16.checked_add(h16)?;
        f.tl16 = f.tl16.checked_add(l16)?;
        // tiered(x) = 0 for x ≤ 0.
        if h16 > 0 {
            f.cv24 = f.cv24.checked_add(tiered16(&asset.haircut, h16)?)?;
        }
        if let (Some(b), true) = (&asset.borrow, l16 > 0) {
            let imr = if restricted { &b.imr_restricted } else { &b.imr };
            f.im24 = f.im24.checked_add(tiered16(imr, l16)?)?;
            f.mm24 = f.mm24.checked_add(tiered16(&b.mmr, l16)?)?;
        }
        hv.push(Exact::Small(h16, 16));
        lv.push(Exact::Small(l16, 16));
    }
    Some(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::{FuturesMode, Position, Status};
    use crate::futures::position_figures;
    use proptest::prelude::*;

    fn rulebook() -> Rulebook {
        Rulebook::from_json_str(include_str!("../../bench/fixtures/rulebook.json")).unwrap()
    }

    /// Units of 10^-8 spread over every magnitude up to `max` (and its negation when signed).
    fn units(max: i128, signed: bool) -> impl Strategy<Value = i128> {
        (1u32..=38, any::<u128>(), any::<bool>()).prop_map(move |(digits, r, neg)| {
            let v = (r % 10u128.pow(digits)) as i128 % max + 1;
            if signed && neg {
                -v
            } else {
                v
            }
        })
    }

    proptest! {
        /// The fixed-scale sums equal the general per-position figures, summed exactly,
        /// whenever the fast path answers (and it answers for ordinary sizes).
        #[test]
        fn fixed_sums_equal_the_general_figures(
            positions in proptest::collection::vec(
                (0usize..20, units(10i128.pow(23), true), units(10i128.pow(17), false),
                 units(10i128.pow(17), false), 1u32..=1000, any::<bool>()),
                0..12),
        ) {
            let rb = rulebook();
            let mut market = Market::empty(&rb);
            let mut account = FuturesAccount {
                mode: FuturesMode::SingleAsset,
                region: None,
                status: Status::Active,
                wallet: vec![Dec::ZERO; rb.assets().len()],
                positions: Vec::new(),
                orders: Vec::new(),
                sub_account: false,
                copy_trading: false,
            };
            let mut ordinary = true;
            for (c, size, entry, mark, leverage, isolated) in positions {
                let contract = c % rb.contracts().len();
                if account.positions.iter().any(|p| p.contract == contract) {
                    continue;
                }
                market.set_mark(contract, Dec::from_units(mark)).unwrap();
                // Notionals below 10^12 keep every MM sum far inside 128 bits at scale 24.
                ordinary &= (i64::try_from(size).is_ok()
                    && size.abs().checked_mul(mark).is_some_and(|n| n < 10i128.pow(28)))
                    || isolated;
                account.positions.push(Position {
                    contract,
                    size: Dec::from_units(size),
                    entry_price: Dec::from_units(entry),
                    leverage,
                    isolated,
                    isolated_margin: Dec::ZERO,
                    airdrop: false,
                });
            }
            let fast = cross_sums(&rb, &market, &account);
            if ordinary {
                prop_assert!(fast.is_some());
            }
            let Some(fast) = fast else { return Ok(()) };
            let fast: Vec<Settled> = fast.iter().map(RawSettled::settled).collect();
            let n = rb.assets().len();
            let (mut upnl, mut mm, mut im) = (vec![Exact::ZERO; n], vec![Exact::ZERO; n], vec![Dec::ZERO; n]);
            for p in account.positions.iter().filter(|p| !p.isolated) {
                let f = position_figures(&rb, &market, p.contract, p.size, p.entry_price, p.leverage).unwrap();
                let s = rb.contract(p.contract).settlement;
                upnl[s] = upnl[s] + f.upnl;
                mm[s] = mm[s] + f.mm;
                im[s] = im[s].checked_add(f.im).unwrap();
            }
            for a in 0..n {
                prop_assert!(fast[a].upnl.try_cmp(upnl[a]).unwrap().is_eq(), "upnl of asset {}", a);
                prop_assert!(fast[a].mm.try_cmp(mm[a]).unwrap().is_eq(), "mm of asset {}", a);
                prop_assert_eq!(fast[a].im, im[a]);
            }
        }
    }

    proptest! {
        /// The fixed-scale margin sums equal the general tiered sums, at every scale the
        /// values come in (and the fast path answers for ordinary values).
        #[test]
        fn margin_sums_equal_the_general_sums(
            values in proptest::collection::vec((0i128..10i128.pow(26), 0u8..=18, 0i128..10i128.pow(26), 0u8..=18), 10),
            restricted in any::<bool>(),
        ) {
            let rb = rulebook();
            let n = rb.assets().len();
            let hv: Vec<Exact> = (0..n).map(|a| Exact::Small(values[a % 10].0, values[a % 10].1)).collect();
            let lv: Vec<Exact> = (0..n).map(|a| Exact::Small(values[a % 10].2, values[a % 10].3)).collect();
            let fast = margin_sums(&rb, restricted, &hv, &lv);
            // Values below 10^12 USDT with at most 16 fractional digits always fit.
            let ordinary = |m: i128, s: u8| s <= 16 && m < 10i128.pow(12 + u32::from(s));
            if values.iter().all(|v| ordinary(v.0, v.1) && ordinary(v.2, v.3)) {
                prop_assert!(fast.is_some());
            }
            let Some((ta, tl, cv, im, mm)) = fast else { return Ok(()) };
            let (mut ta2, mut tl2, mut cv2, mut im2, mut mm2) = (Exact::ZERO, Exact::ZERO, Exact::ZERO, Exact::ZERO, Exact::ZERO);
            for (a, asset) in rb.assets().iter().enumerate() {
                ta2 = ta2 + hv[a];
                tl2 = tl2 + lv[a];
                cv2 = cv2 + asset.haircut.tiered(hv[a]).unwrap();
                if let Some(b) = &asset.borrow {
                    let imr = if restricted { &b.imr_restricted } else { &b.imr };
                    im2 = im2 + imr.tiered(lv[a]).unwrap();
                    mm2 = mm2 + b.mmr.tiered(lv[a]).unwrap();
                }
            }
            for (x, y, what) in [(ta, ta2, "TA"), (tl, tl2, "TL"), (cv, cv2, "CV"), (im, im2, "IM"), (mm, mm2, "MM")] {
                prop_assert!(x.try_cmp(y).unwrap().is_eq(), "{}", what);
            }
        }
    }

    #[test]
    fn stripping_keeps_the_value() {
        for (m, s) in [
            (0i128, 16u8),
            (1, 16),
            (-120_000, 16),
            (10i128.pow(30), 24),
            (i128::MIN, 24),
            (7 * 10i128.pow(20), 20),
        ] {
            let x = Exact::from_fixed(m, s);
            assert!(x.try_cmp(Exact::Small(m, s)).unwrap().is_eq(), "{m}e-{s}");
        }
    }
}
