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
    /// `tiered(up_to_{i−1})` for each row i: the sum of every slice below the row.
    below: Vec<Exact>,
    /// The rate beyond a bounded last row: 0 (collateral) or the last rate (requirement).
    excess_rate: Exact,
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
        // Bounds ≤ 10^18 and rates ≤ 10 keep these sums far inside 128 bits.
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
        TierTable { rows, kind, exact, below, excess_rate }
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
        for (i, t) in self.rows.iter().enumerate() {
            match t.up_to {
                Some(b) if x.try_cmp(b.exact())?.is_gt() => continue,
                _ => return Ok(i),
            }
        }
        Ok(self.rows.len() - 1)
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
        let mut lower = Exact::ZERO;
        for (i, &(bound, rate)) in self.exact.iter().enumerate() {
            match bound {
                Some(b) if x.try_cmp(b)?.is_gt() => lower = b,
                _ => return Ok(self.below[i] + (x - lower) * rate),
            }
        }
        // x lies beyond a bounded last row.
        Ok(self.below[self.exact.len()] + (x - lower) * self.excess_rate)
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
        let mut lower = Exact::ZERO;
        for &(bound, rate) in &self.exact {
            match bound {
                Some(b) => {
                    let c = x.try_cmp(b)?;
                    // Inside the row's slice, or on its upper bound looking down.
                    if c.is_lt() || (c.is_eq() && dir == Dir::Down) {
                        let end = match dir {
                            Dir::Up => Some(b),
                            // Going down from a point strictly above `lower`.
                            Dir::Down => Some(lower),
                        };
                        return Ok((rate, end));
                    }
                    lower = b;
                }
                None => return Ok((rate, if dir == Dir::Down { Some(lower) } else { None })),
            }
        }
        // Beyond a bounded last row.
        Ok((self.excess_rate, if dir == Dir::Down { Some(lower) } else { None }))
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
