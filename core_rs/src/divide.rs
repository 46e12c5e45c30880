//! Divisions by constants without division instructions: powers of ten (the roundings
//! of [`crate::decimal::Exact`] to 8 fractional digits, and trailing-zero stripping)
//! and small integers (a position's initial margin `notional / leverage`).
//!
//! Each is a multiply by a precomputed reciprocal followed by one exact correction, so
//! the result is the exact quotient (and whether the remainder is non-zero); property
//! tests compare every function with the plain division over random and edge inputs.

/// The largest power of ten divided by [`udiv_pow10`].
pub(crate) const MAX_POW10: u8 = 27;

/// 5^k for k ≤ 27 (5^27 < 2^63).
const POW5: [u64; 28] = {
    let mut t = [1u64; 28];
    let mut i = 1;
    while i < 28 {
        t[i] = t[i - 1] * 5;
        i += 1;
    }
    t
};

/// `⌊(2^128 − 1) / 5^k⌋`: a reciprocal of 5^k, too small by less than 1 part in 2^128
/// (5^k never divides 2^128 for k ≥ 1).
const RECIP5: [u128; 28] = {
    let mut t = [u128::MAX; 28];
    let mut i = 1;
    while i < 28 {
        t[i] = u128::MAX / POW5[i] as u128;
        i += 1;
    }
    t
};

/// The high 128 bits of the 256-bit product `a × b` (four 64×64-bit multiplies).
#[inline(always)]
fn mulhi(a: u128, b: u128) -> u128 {
    const LO: u128 = u64::MAX as u128;
    let (a1, a0) = (a >> 64, a & LO);
    let (b1, b0) = (b >> 64, b & LO);
    let (p00, p01, p10, p11) = (a0 * b0, a0 * b1, a1 * b0, a1 * b1);
    // Each term < 2^64, so the middle column sum < 3 × 2^64 fits.
    let mid = (p00 >> 64) + (p01 & LO) + (p10 & LO);
    p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64)
}

/// `⌊(2^64 − 1) / 10^k⌋` for k ≤ 19 (index 0 unused).
const RECIP10_64: [u64; 20] = {
    let mut t = [0u64; 20];
    let mut i = 1;
    let mut p = 1u64;
    while i < 20 {
        p *= 10;
        t[i] = u64::MAX / p;
        i += 1;
    }
    t
};

/// `n / D` for a constant `D < 2^32`, in 64-, 32- and 32-bit chunks (each a division of
/// a `u64` by a constant, which compiles to a multiply).
#[inline(always)]
fn udiv_chunks<const D: u64>(n: u128) -> (u128, bool) {
    let (hi, lo) = ((n >> 64) as u64, n as u64);
    let (q1, r1) = (hi / D, hi % D);
    let t = (r1 << 32) | (lo >> 32);
    let (q2, r2) = (t / D, t % D);
    let t = (r2 << 32) | (lo & 0xffff_ffff);
    let (q3, r3) = (t / D, t % D);
    ((u128::from(q1) << 64) | (u128::from(q2) << 32) | u128::from(q3), r3 != 0)
}

/// `n / 10^k` for `1 ≤ k ≤ 27`: the quotient and whether the remainder is non-zero.
///
/// Three forms, each exact:
/// * `n < 2^64` (most values): `⌊n × R / 2^64⌋` with `R = ⌊(2^64 − 1) / 10^k⌋` is low by
///   at most 1 (the error term `n × (2^64 − 10^k R) / (10^k 2^64)` is below 1); one
///   comparison of the remainder with 10^k corrects it.
/// * `k ≤ 9`: 32-bit chunks divided by the constant 10^k.
/// * otherwise `⌊n / 10^k⌋ = ⌊⌊n / 2^k⌋ / 5^k⌋`, the second quotient estimated the same
///   way with a 128-bit reciprocal of 5^k.
#[inline(always)]
pub(crate) fn udiv_pow10(n: u128, k: u8) -> (u128, bool) {
    debug_assert!((1..=MAX_POW10).contains(&k));
    if let Ok(x) = u64::try_from(n) {
        if k >= 20 {
            return (0, x != 0);
        }
        let d = 10u64.pow(u32::from(k));
        let mut q = ((u128::from(x) * u128::from(RECIP10_64[usize::from(k)])) >> 64) as u64;
        let mut r = x - q * d;
        if r >= d {
            q += 1;
            r -= d;
        }
        return (u128::from(q), r != 0);
    }
    match k {
        1 => udiv_chunks::<10>(n),
        2 => udiv_chunks::<100>(n),
        3 => udiv_chunks::<1_000>(n),
        4 => udiv_chunks::<10_000>(n),
        5 => udiv_chunks::<100_000>(n),
        6 => udiv_chunks::<1_000_000>(n),
        7 => udiv_chunks::<10_000_000>(n),
        8 => udiv_chunks::<100_000_000>(n),
        9 => udiv_chunks::<1_000_000_000>(n),
        _ => udiv_pow10_wide(n, k),
    }
}

/// `n / 10^k` by the 128-bit reciprocal of 5^k (see [`udiv_pow10`]).
#[inline(always)]
fn udiv_pow10_wide(n: u128, k: u8) -> (u128, bool) {
    let k = usize::from(k);
    let x = n >> k;
    let low = n & ((1u128 << k) - 1);
    let d = u128::from(POW5[k]);
    let mut q = mulhi(x, RECIP5[k]);
    // q ≤ x / 5^k, so q × 5^k ≤ x: no overflow, no underflow.
    let mut r = x - q * d;
    if r >= d {
        q += 1;
        r -= d;
    }
    (q, low != 0 || r != 0)
}

/// `m / 10^k` rounded toward −∞ (`up = false`) or +∞ (`up = true`), for `1 ≤ k ≤ 27`;
/// `None` for any other `k`.
#[inline(always)]
pub(crate) fn div_pow10_round(m: i128, k: u8, up: bool) -> Option<i128> {
    if k == 0 || k > MAX_POW10 {
        return None;
    }
    let (q, inexact) = udiv_pow10(m.unsigned_abs(), k);
    // q ≤ |m| / 10 < 2^127, so the casts below cannot wrap.
    let q = q as i128;
    Some(match (m < 0, up) {
        (false, false) => q,
        (false, true) => q + i128::from(inexact),
        (true, false) => -q - i128::from(inexact),
        (true, true) => -q,
    })
}

/// The largest divisor of [`div_ceil_small`] with a precomputed reciprocal.
const MAX_SMALL: usize = 1000;

/// `⌊(2^64 − 1) / d⌋` for `1 ≤ d ≤ 1000` (index 0 unused).
static RECIP_SMALL: [u64; MAX_SMALL + 1] = {
    let mut t = [0u64; MAX_SMALL + 1];
    let mut d = 1;
    while d <= MAX_SMALL {
        t[d] = u64::MAX / d as u64;
        d += 1;
    }
    t
};

/// `⌈x / d⌉` for `d ≥ 1` (a leverage): by the reciprocal of `d` when `d ≤ 1000` (the
/// estimate `⌊x × R / 2^64⌋` is low by at most 1, corrected by one comparison), by the
/// division instruction otherwise. `None` for `d = 0`.
#[inline(always)]
pub(crate) fn div_ceil_small(x: u64, d: u32) -> Option<u64> {
    let du = d as usize;
    if du == 0 {
        return None;
    }
    if du > MAX_SMALL {
        return Some(x.div_ceil(u64::from(d)));
    }
    let d = u64::from(d);
    let mut q = ((u128::from(x) * u128::from(RECIP_SMALL[du])) >> 64) as u64;
    let mut r = x - q * d;
    if r >= d {
        q += 1;
        r -= d;
    }
    Some(q + u64::from(r != 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ethnum::I256;
    use proptest::prelude::*;

    fn pow10(k: u8) -> u128 {
        10u128.pow(u32::from(k))
    }

    /// Values around multiples of 10^k and at the ends of the range.
    fn edges(k: u8) -> Vec<u128> {
        let p = pow10(k);
        let mut v = vec![0, 1, p - 1, p, p + 1, 2 * p - 1, u128::MAX, u128::MAX - 1, u128::MAX / p * p];
        v.extend([1u128 << 127, (1u128 << 127) - 1, (1u128 << 127) + 1, i128::MAX as u128 / p * p]);
        for s in [64u32, 96, 100, 126] {
            let b = 1u128 << s;
            v.extend([b - 1, b, b + 1, b / p * p, (b / p * p).saturating_sub(1)]);
        }
        v
    }

    #[test]
    fn power_of_ten_division_at_the_edges() {
        for k in 1..=MAX_POW10 {
            for n in edges(k) {
                let expected = (n / pow10(k), n % pow10(k) != 0);
                assert_eq!(udiv_pow10(n, k), expected, "{n} / 10^{k}");
                assert_eq!(udiv_pow10_wide(n, k), expected, "{n} / 10^{k} (wide)");
            }
        }
    }

    #[test]
    fn small_division_at_the_edges() {
        for d in (1u32..=1000).chain([1001, 65_536, u32::MAX]) {
            let du = u64::from(d);
            for x in
                [0, 1, du - 1, du, du + 1, u64::MAX, u64::MAX - 1, u64::MAX / du * du, u64::MAX / du * du - 1]
            {
                assert_eq!(div_ceil_small(x, d), Some(x.div_ceil(du)), "{x} / {d}");
            }
        }
        assert_eq!(div_ceil_small(5, 0), None);
    }

    proptest! {
        #[test]
        fn power_of_ten_division_equals_plain_division(
            n in any::<u128>(), bits in 0u32..=128, k in 1u8..=MAX_POW10,
        ) {
            // Every magnitude, not only the (overwhelmingly likely) 128-bit ones.
            let n = if bits == 128 { n } else { n & ((1u128 << bits) - 1) };
            let expected = (n / pow10(k), n % pow10(k) != 0);
            prop_assert_eq!(udiv_pow10(n, k), expected);
            prop_assert_eq!(udiv_pow10_wide(n, k), expected);
        }

        #[test]
        fn power_of_ten_rounding_equals_the_256_bit_one(
            m in any::<i128>(), k in 1u8..=MAX_POW10, up in any::<bool>(),
        ) {
            let q = div_pow10_round(m, k, up).unwrap();
            let (n, d) = (I256::new(m), I256::new(pow10(k) as i128));
            let (f, r) = (n.div_euclid(d), n.rem_euclid(d));
            let expected = if up && r != I256::ZERO { f + 1 } else { f };
            prop_assert_eq!(I256::new(q), expected);
        }

        #[test]
        fn small_division_equals_plain_division(x in any::<u64>(), bits in 0u32..=64, d in 1u32..=1200) {
            let x = if bits == 64 { x } else { x & ((1u64 << bits) - 1) };
            prop_assert_eq!(div_ceil_small(x, d), Some(x.div_ceil(u64::from(d))));
        }
    }
}
