//! The arithmetic operators of [`Exact`] (exact sums, differences, products; poison
//! propagates) and its `Debug` form.

use super::{align_small, mul128, Exact, M, MAX_SCALE};
use crate::decimal::Dec;
use ethnum::I256;
use std::fmt;
use std::ops::{Add, Mul, Neg, Sub};

impl From<Dec> for Exact {
    fn from(d: Dec) -> Exact {
        d.exact()
    }
}

impl Add for Exact {
    type Output = Exact;
    #[inline(always)]
    fn add(self, rhs: Exact) -> Exact {
        // Fast path: 128 bits (aligning the scales when they differ).
        if let (Exact::Small(a, sa), Exact::Small(b, sb)) = (self, rhs) {
            if sa == sb {
                if let Some(r) = a.checked_add(b) {
                    return Exact::Small(r, sa);
                }
            } else if let Some((a, b, s)) = align_small(a, sa, b, sb) {
                if let Some(r) = a.checked_add(b) {
                    return Exact::Small(r, s);
                }
            }
        }
        add_slow(self, rhs)
    }
}

#[inline(never)]
fn add_slow(x: Exact, y: Exact) -> Exact {
    if let (Exact::Small(a, sa), Exact::Small(b, sb)) = (x, y) {
        if b == 0 {
            return x;
        }
        if a == 0 {
            return y;
        }
        if let Some((a, b, s)) = align_small(a, sa, b, sb) {
            if let Some(r) = a.checked_add(b) {
                return Exact::Small(r, s);
            }
        }
    }
    match x.aligned(y) {
        Some((M::S(a), M::S(b), s)) => match a.checked_add(b) {
            Some(r) => Exact::Small(r, s),
            None => Exact::Wide(I256::new(a) + I256::new(b), s),
        },
        Some((a, b, s)) => {
            a.wide().checked_add(b.wide()).map_or(Exact::Poison, |m| Exact::from_m(M::W(m), s))
        }
        None => Exact::Poison,
    }
}

impl Sub for Exact {
    type Output = Exact;
    #[inline]
    fn sub(self, rhs: Exact) -> Exact {
        self + (-rhs)
    }
}

impl Neg for Exact {
    type Output = Exact;
    #[inline(always)]
    fn neg(self) -> Exact {
        match self {
            Exact::Small(m, s) if m != i128::MIN => Exact::Small(-m, s),
            Exact::Small(m, s) => Exact::Wide(-I256::new(m), s),
            Exact::Wide(m, s) => m.checked_neg().map_or(Exact::Poison, |m| Exact::from_m(M::W(m), s)),
            Exact::Poison => Exact::Poison,
        }
    }
}

impl Mul for Exact {
    type Output = Exact;
    #[inline(always)]
    fn mul(self, rhs: Exact) -> Exact {
        if let (Exact::Small(x, sa), Exact::Small(y, sb)) = (self, rhs) {
            let s = sa + sb;
            if s <= MAX_SCALE {
                if let Some(r) = mul128(x, y) {
                    return Exact::Small(r, s);
                }
            }
        }
        mul_slow(self, rhs)
    }
}

#[inline(never)]
fn mul_slow(x: Exact, y: Exact) -> Exact {
    let (Some((a, sa)), Some((b, sb))) = (x.parts(), y.parts()) else { return Exact::Poison };
    if a.signum() == 0 || b.signum() == 0 {
        return Exact::ZERO;
    }
    let s = sa + sb;
    if s > MAX_SCALE {
        return Exact::Poison;
    }
    if let (M::S(x), M::S(y)) = (a, b) {
        // Two 128-bit factors never overflow 256 bits.
        return Exact::from_m(M::W(I256::new(x) * I256::new(y)), s);
    }
    a.wide().checked_mul(b.wide()).map_or(Exact::Poison, |m| Exact::from_m(M::W(m), s))
}

impl Add<Dec> for Exact {
    type Output = Exact;
    #[inline(always)]
    fn add(self, rhs: Dec) -> Exact {
        self + rhs.exact()
    }
}

impl Sub<Dec> for Exact {
    type Output = Exact;
    #[inline(always)]
    fn sub(self, rhs: Dec) -> Exact {
        self - rhs.exact()
    }
}

impl Mul<Dec> for Exact {
    type Output = Exact;
    #[inline(always)]
    fn mul(self, rhs: Dec) -> Exact {
        self * rhs.exact()
    }
}

impl std::iter::Sum for Exact {
    fn sum<I: Iterator<Item = Exact>>(iter: I) -> Exact {
        iter.fold(Exact::ZERO, |a, b| a + b)
    }
}

impl fmt::Debug for Exact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exact::Small(m, s) => write!(f, "Exact({m}e-{s})"),
            Exact::Wide(m, s) => write!(f, "Exact({m}e-{s})"),
            Exact::Poison => write!(f, "Exact(overflow)"),
        }
    }
}
