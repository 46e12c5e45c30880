//! Tier tables and the tiered sum (SPEC §3.1).

use crate::decimal::{Dec, Exact};
use crate::error::Result;

/// What a tier table values, which decides what happens above a bounded last row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    /// Collateral and haircut tables: the part above a bounded last row counts 0 (a cap).
    Collateral,
    /// IMR / MMR tables: the last row's rate also applies to any excess, so a requirement
    /// is never understated for a state beyond the limit.
    Requirement,
}

/// One row: `rate` applies to the slice of the base between the previous bound and `up_to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tier {
    /// Upper bound of the slice; `None` only on an unbounded last row.
    pub up_to: Option<Dec>,
    /// Rate applied to the slice.
    pub rate: Dec,
}

/// A validated tier table: at least one row, strictly increasing bounds, only the last
/// row may be unbounded.
#[derive(Debug, Clone)]
pub struct TierTable {
    rows: Vec<Tier>,
    kind: TableKind,
    /// `rows` as exact values, converted once (the hot paths read these).
    exact: Vec<(Option<Exact>, Exact)>,
    /// The rate beyond a bounded last row: 0 (collateral) or the last rate (requirement).
    excess_rate: Exact,
    /// Per row, then the excess: `(intercept, rate)` with `tiered(x) = intercept + x × rate`
    /// inside the row (`intercept = below − lower × rate`), so a sum is one product.
    lines: Vec<(Exact, Exact)>,
    /// The bounds as integers at each scale `s` in `0..=MAX_FAST_SCALE` (`bound × 10^s`,
    /// `i128::MAX` when unbounded or beyond 128 bits), row-major by scale: comparing
    /// `m / 10^s` with a bound is one integer comparison. Bounds have ≤ 8 fractional
    /// digits, so a scale `s < 8` is usable only when every bound is an integer there.
    scaled: Vec<i128>,
    /// Per scale in `0..=MAX_FAST_SCALE`: whether `scaled` holds that scale.
    scale_ok: Vec<bool>,
    /// `lines` as fixed-scale integers for [`TierTable::line16`]: the intercept at scale
    /// 24 and the rate in units of 10^-8; `None` where the intercept does not fit.
    lines24: Vec<Option<(i128, i128)>>,
}

/// The largest scale of the precomputed bounds (values with more fractional digits take
/// the general comparison).
const MAX_FAST_SCALE: u8 = 24;

/// `bound × 10^s` as an integer: `Some(i128::MAX)` when it exceeds 128 bits (no 128-bit
/// mantissa reaches it), `None` when it is not an integer at scale `s`.
fn bound_at_scale(bound: Option<Dec>, s: u8) -> Option<i128> {
    let Some(b) = bound else { return Some(i128::MAX) };
    let units = b.units();
    if s < 8 {
        let d = 10i128.pow(u32::from(8 - s));
        return (units % d == 0).then(|| units / d);
    }
    Some(units.checked_mul(10i128.pow(u32::from(s - 8))).unwrap_or(i128::MAX))
}

impl PartialEq for TierTable {
    fn eq(&self, other: &TierTable) -> bool {
        self.rows == other.rows && self.kind == other.kind
    }
}

impl Eq for TierTable {}

/// A direction along the base axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// Toward +∞.
    Up,
    /// Toward −∞.
    Down,
}

impl TierTable {
    /// A table from rows already validated by the rulebook parser.
    pub fn new(rows: Vec<Tier>, kind: TableKind) -> TierTable {
        debug_assert!(!rows.is_empty());
        let exact: Vec<(Option<Exact>, Exact)> =
            rows.iter().map(|t| (t.up_to.map(Dec::exact), t.rate.exact())).collect();
        let excess_rate = match kind {
            TableKind::Collateral => Exact::ZERO,
            TableKind::Requirement => rows[rows.len() - 1].rate.exact(),
        };
        // `below[i] = tiered(up_to_{i−1})`: the sum of every slice below row i. Bounds
        // ≤ 10^18 and rates ≤ 10 keep these sums far inside 128 bits.
        let mut below = Vec::with_capacity(rows.len() + 1);
        let (mut sum, mut lower) = (Exact::ZERO, Exact::ZERO);
        for &(bound, rate) in &exact {
            below.push(sum);
            if let Some(b) = bound {
                sum = sum + (b - lower) * rate;
                lower = b;
            }
        }
        below.push(sum);
        let mut lines = Vec::with_capacity(rows.len() + 1);
        let mut lower = Exact::ZERO;
        for (i, &(bound, rate)) in exact.iter().enumerate() {
            lines.push((below[i] - lower * rate, rate));
            if let Some(b) = bound {
                lower = b;
            }
        }
        lines.push((below[rows.len()] - lower * excess_rate, excess_rate));
        let at_scale: Vec<Option<i128>> =
            (0..=MAX_FAST_SCALE).flat_map(|s| rows.iter().map(move |t| bound_at_scale(t.up_to, s))).collect();
        let scale_ok = at_scale.chunks(rows.len()).map(|c| c.iter().all(Option::is_some)).collect();
        let scaled = at_scale.into_iter().map(|b| b.unwrap_or(i128::MAX)).collect();
        let lines24 = lines
            .iter()
            .map(|&(intercept, rate)| Some((intercept.mantissa_at(24)?, rate.mantissa_at(8)?)))
            .collect();
        TierTable { rows, kind, exact, excess_rate, lines, scaled, scale_ok, lines24 }
    }

    /// The first row at or above `m / 10^s` by the precomputed bounds (see `find`);
    /// `None` when the scale has none.
    #[inline(always)]
    fn find_fast(&self, m: i128, s: u8, strict: bool) -> Option<usize> {
        if s > MAX_FAST_SCALE || !self.scale_ok[usize::from(s)] {
            return None;
        }
        let n = self.rows.len();
        let at = usize::from(s) * n;
        let bounds = &self.scaled[at..at + n];
        // i128::MAX stands for a bound above every 128-bit mantissa: `m ≤ b` always holds
        // there, and `m < b` unless m is i128::MAX itself.
        let i = if strict {
            bounds.iter().position(|&b| b == i128::MAX || m < b)
        } else {
            bounds.iter().position(|&b| m <= b)
        };
        Some(i.unwrap_or(n))
    }

    /// The linear piece holding `x = m / 10^16` (`m > 0`) as fixed-scale integers
    /// `(intercept, rate)`: `tiered(x) = (intercept + m × rate) / 10^24`. `None` when
    /// the piece does not fit that form (the caller takes [`TierTable::tiered`]).
    #[inline]
    pub fn line16(&self, m: i128) -> Option<(i128, i128)> {
        debug_assert!(m > 0);
        self.lines24[self.find_fast(m, 16, false)?]
    }

    /// [`TierTable::segment`] for `x = m / 10^16` in fixed-scale integers: the slope in
    /// units of 10^-8 and the end of the piece at scale 16. `None` when the table has no
    /// bounds at scale 16 (the caller takes the general walk).
    #[inline]
    pub(crate) fn segment16(&self, m: i128, dir: Dir) -> Option<(i128, Option<i128>)> {
        if m < 0 || (m == 0 && dir == Dir::Down) {
            return Some((0, (dir == Dir::Up && m < 0).then_some(0)));
        }
        let i = self.find_fast(m, 16, dir == Dir::Up)?;
        let n = self.rows.len();
        let bounds = &self.scaled[16 * n..17 * n];
        let lower = if i == 0 { 0 } else { bounds[i - 1] };
        let (bound, rate) = match self.rows.get(i) {
            // i128::MAX marks the unbounded last row (bounds ≤ 10^18 fit at scale 16).
            Some(t) => ((bounds[i] != i128::MAX).then_some(bounds[i]), t.rate),
            None => (None, self.excess_rate_dec()),
        };
        Some((rate.units(), if dir == Dir::Up { bound } else { Some(lower) }))
    }

    fn excess_rate_dec(&self) -> Dec {
        match self.kind {
            TableKind::Collateral => Dec::ZERO,
            TableKind::Requirement => self.rows[self.rows.len() - 1].rate,
        }
    }

    /// The first row whose bound is above `x` (`strict`: `x < bound`) or at or above it
    /// (`x ≤ bound`); an unbounded row always is. `rows.len()` when `x` lies beyond a
    /// bounded last row.
    #[inline(always)]
    fn find(&self, x: Exact, strict: bool) -> Result<usize> {
        let n = self.rows.len();
        if let Some(i) = x.small_parts().and_then(|(m, s)| self.find_fast(m, s, strict)) {
            return Ok(i);
        }
        for (i, &(bound, _)) in self.exact.iter().enumerate() {
            match bound {
                Some(b) => {
                    let c = x.try_cmp(b)?;
                    if c.is_lt() || (!strict && c.is_eq()) {
                        return Ok(i);
                    }
                }
                None => return Ok(i),
            }
        }
        Ok(n)
    }

    /// The rows in order.
    pub fn rows(&self) -> &[Tier] {
        &self.rows
    }

    /// The bound of the last row when it is bounded: a cap or a limit.
    pub fn last_bound(&self) -> Option<Dec> {
        self.rows.last().and_then(|t| t.up_to)
    }

    /// The rate of the first row (used as the open-order-loss weight, SPEC §6.2).
    pub fn first_rate(&self) -> Dec {
        self.rows[0].rate
    }

    /// The index of the row whose slice holds `x` (0 for x ≤ first bound); for a base
    /// beyond a bounded last row, the last row.
    pub fn row_index(&self, x: Exact) -> Result<usize> {
        Ok(self.find(x, false)?.min(self.rows.len() - 1))
    }

    /// The tiered sum `Σ rate_i × max(0, min(x, up_to_i) − up_to_{i−1})` of SPEC §3.1,
    /// plus, for requirement tables, the last rate on any excess. 0 for `x ≤ 0`.
    ///
    /// ```
    /// use multimargin_core::decimal::Dec;
    /// use multimargin_core::tiers::{TableKind, Tier, TierTable};
    /// let d = |s: &str| s.parse::<Dec>().unwrap();
    /// let eth = TierTable::new(
    ///     [("100", "0.9"), ("200", "0.8"), ("300", "0.7"), ("400", "0.6")]
    ///         .iter()
    ///         .map(|(b, r)| Tier { up_to: Some(d(b)), rate: d(r) })
    ///         .collect(),
    ///     TableKind::Collateral,
    /// );
    /// // SPEC §5.2: 350 ETH → 90 + 80 + 70 + 30 = 270 ETH of collateral.
    /// assert_eq!(eth.tiered(d("350").exact()).unwrap().floor8().unwrap(), d("270"));
    /// ```
    pub fn tiered(&self, x: Exact) -> Result<Exact> {
        if !x.is_positive()? {
            return Ok(Exact::ZERO);
        }
        // Row i (or the excess beyond a bounded last row): below_i + (x − lower_i) × rate_i.
        let (intercept, rate) = self.lines[self.find(x, false)?];
        Ok(intercept + x * rate)
    }

    /// The slices of `x` that [`TierTable::tiered`] sums: `(from, to, rate)` per row that
    /// `x` reaches (and, for requirement tables, the excess beyond a bounded last row).
    pub fn slices(&self, x: Exact) -> Result<Vec<(Exact, Exact, Dec)>> {
        let mut out = Vec::new();
        if !x.is_positive()? {
            return Ok(out);
        }
        let mut lower = Exact::ZERO;
        for t in &self.rows {
            let upper = match t.up_to {
                Some(b) if x.try_cmp(b.exact())?.is_gt() => b.exact(),
                _ => {
                    out.push((lower, x, t.rate));
                    return Ok(out);
                }
            };
            out.push((lower, upper, t.rate));
            lower = upper;
        }
        let excess_rate = match self.kind {
            TableKind::Collateral => Dec::ZERO,
            TableKind::Requirement => self.rows[self.rows.len() - 1].rate,
        };
        out.push((lower, x, excess_rate));
        Ok(out)
    }

    /// The linear piece next to `x` in direction `dir`: its slope, and where it ends
    /// (the nearest breakpoint strictly beyond `x`, if any). One pass over the rows.
    pub fn segment(&self, x: Exact, dir: Dir) -> Result<(Exact, Option<Exact>)> {
        let s = x.sign()?;
        let first_bound = Some(Exact::ZERO);
        if s.is_lt() || (s.is_eq() && dir == Dir::Down) {
            // Flat below 0; going up, the first break is 0.
            return Ok((Exact::ZERO, if dir == Dir::Up && s.is_lt() { first_bound } else { None }));
        }
        // The row whose slice holds x, or whose upper bound x is on, looking down.
        let i = self.find(x, dir == Dir::Up)?;
        let lower = if i == 0 { Exact::ZERO } else { self.exact[i - 1].0.unwrap_or(Exact::ZERO) };
        let (bound, rate) = match self.exact.get(i) {
            Some(&(bound, rate)) => (bound, rate),
            // Beyond a bounded last row.
            None => (None, self.excess_rate),
        };
        let end = match dir {
            Dir::Up => bound,
            // Going down from a point strictly above `lower`.
            Dir::Down => Some(lower),
        };
        Ok((rate, end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Dec {
        s.parse().unwrap()
    }

    fn table(rows: &[(Option<&str>, &str)], kind: TableKind) -> TierTable {
        TierTable::new(rows.iter().map(|(b, r)| Tier { up_to: b.map(d), rate: d(r) }).collect(), kind)
    }

    #[test]
    fn collateral_cap_and_requirement_excess() {
        let t = table(&[(Some("100"), "0.9"), (Some("200"), "0.8")], TableKind::Collateral);
        assert_eq!(t.tiered(d("250").exact()).unwrap().floor8().unwrap(), d("170"));
        assert_eq!(t.tiered(d("-5").exact()).unwrap().floor8().unwrap(), d("0"));
        let r = table(&[(Some("100"), "0.1"), (Some("200"), "0.2")], TableKind::Requirement);
        assert_eq!(r.tiered(d("250").exact()).unwrap().floor8().unwrap(), d("40"));
    }

    /// The row-by-row walk the precomputed bounds replace.
    fn segment_by_rows(t: &TierTable, x: Exact, dir: Dir) -> (Exact, Option<Exact>) {
        if x.sign().unwrap().is_lt() || (x.is_zero().unwrap() && dir == Dir::Down) {
            return t.segment(x, dir).unwrap();
        }
        let mut lower = Exact::ZERO;
        for r in t.rows() {
            match r.up_to {
                Some(b) => {
                    let c = x.try_cmp(b.exact()).unwrap();
                    if c.is_lt() || (c.is_eq() && dir == Dir::Down) {
                        return (r.rate.exact(), Some(if dir == Dir::Up { b.exact() } else { lower }));
                    }
                    lower = b.exact();
                }
                None => return (r.rate.exact(), (dir == Dir::Down).then_some(lower)),
            }
        }
        let excess = if t.kind == TableKind::Collateral { Dec::ZERO } else { t.rows.last().unwrap().rate };
        (excess.exact(), (dir == Dir::Down).then_some(lower))
    }

    proptest::proptest! {
        /// The fast lookups agree with a walk over the rows, at every scale of the argument.
        #[test]
        fn precomputed_bounds_agree_with_the_rows(
            m in -10i128.pow(12)..10i128.pow(30), s in 0u8..=30, pick in 0usize..6, exact_bound in 0usize..4
        ) {
            let tables = [
                table(&[(Some("100"), "0.9"), (Some("200.5"), "0.8"), (Some("300.00000001"), "0.7")], TableKind::Collateral),
                table(&[(Some("0.5"), "0.1"), (None, "0.2")], TableKind::Requirement),
                table(&[(Some("50000"), "0.004"), (Some("1000000000000000000"), "0.01")], TableKind::Requirement),
            ];
            let t = &tables[pick % tables.len()];
            // Sometimes the argument sits exactly on a bound (at scale s when it is exact there).
            let x = match t.rows().get(exact_bound).and_then(|r| r.up_to) {
                Some(b) if pick >= 3 => b.exact(),
                _ => Exact::Small(m, s),
            };
            let by_slices = t.slices(x).unwrap().iter()
                .fold(Exact::ZERO, |acc, &(from, to, rate)| acc + (to - from) * rate);
            proptest::prop_assert!(t.tiered(x).unwrap().try_cmp(by_slices).unwrap().is_eq());
            for dir in [Dir::Up, Dir::Down] {
                let (rate, end) = t.segment(x, dir).unwrap();
                let (rate2, end2) = segment_by_rows(t, x, dir);
                proptest::prop_assert!(rate.try_cmp(rate2).unwrap().is_eq());
                proptest::prop_assert_eq!(end.is_some(), end2.is_some());
                if let (Some(a), Some(b)) = (end, end2) {
                    proptest::prop_assert!(a.try_cmp(b).unwrap().is_eq());
                }
            }
        }
    }

    proptest::proptest! {
        /// The fixed-scale segment equals the exact one at scale 16.
        #[test]
        fn fixed_scale_segments_agree(m in -10i128.pow(12)..10i128.pow(36), pick in 0usize..3, on_bound in 0usize..5) {
            let tables = [
                table(&[(Some("100"), "0.9"), (Some("200.5"), "0.8"), (Some("300.00000001"), "0.7")], TableKind::Collateral),
                table(&[(Some("0.5"), "0.1"), (None, "0.2")], TableKind::Requirement),
                table(&[(Some("50000"), "0.004"), (Some("1000000000000000000"), "0.01")], TableKind::Requirement),
            ];
            let t = &tables[pick];
            let m = match t.rows().get(on_bound).and_then(|r| r.up_to) {
                Some(b) => b.units() * 10i128.pow(8),
                None => m,
            };
            for dir in [Dir::Up, Dir::Down] {
                let (rate, end) = t.segment(Exact::Small(m, 16), dir).unwrap();
                let (rate8, end16) = t.segment16(m, dir).unwrap();
                proptest::prop_assert!(rate.try_cmp(Exact::Small(rate8, 8)).unwrap().is_eq());
                proptest::prop_assert_eq!(end.is_some(), end16.is_some());
                if let (Some(a), Some(b)) = (end, end16) {
                    proptest::prop_assert!(a.try_cmp(Exact::Small(b, 16)).unwrap().is_eq());
                }
            }
        }
    }

    #[test]
    fn slopes_and_breaks() {
        let t = table(&[(Some("100"), "0.9"), (Some("200"), "0.8")], TableKind::Collateral);
        let x = d("100").exact();
        let slope = |x: Exact, dir| t.segment(x, dir).unwrap().0.floor8().unwrap();
        assert_eq!(slope(x, Dir::Up), d("0.8"));
        assert_eq!(slope(x, Dir::Down), d("0.9"));
        assert_eq!(slope(d("300").exact(), Dir::Up), d("0"));
        assert_eq!(slope(Exact::ZERO, Dir::Up), d("0.9"));
        assert_eq!(slope(Exact::ZERO, Dir::Down), d("0"));
        let nb = |x: &str, dir| t.segment(d(x).exact(), dir).unwrap().1.map(|e| e.floor8().unwrap());
        assert_eq!(nb("100", Dir::Up), Some(d("200")));
        assert_eq!(nb("100", Dir::Down), Some(d("0")));
        assert_eq!(nb("250", Dir::Up), None);
        assert_eq!(nb("-1", Dir::Up), Some(d("0")));
        assert_eq!(nb("-1", Dir::Down), None);
    }
}
