//! Reading JSON input field by field, so that every refusal names its field path and
//! carries its SPEC §11 reason.

use crate::decimal::{Dec, DecError};
use crate::error::{Error, Reason, Result};
use serde_json::{Map, Value};

/// A JSON value together with the path it was found at.
#[derive(Debug, Clone, Copy)]
pub struct At<'a> {
    /// The value.
    pub value: &'a Value,
    path: &'a str,
}

/// The JSON type name used in messages.
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A closed numeric range for [`At::dec_in`].
#[derive(Debug, Clone, Copy)]
pub struct Range {
    lo: Dec,
    lo_open: bool,
    hi: Dec,
}

impl Range {
    /// `lo ≤ x ≤ hi`.
    pub const fn closed(lo: Dec, hi: Dec) -> Range {
        Range { lo, lo_open: false, hi }
    }
    /// `lo < x ≤ hi`.
    pub const fn open_closed(lo: Dec, hi: Dec) -> Range {
        Range { lo, lo_open: true, hi }
    }
    /// True when `x` lies in the range.
    pub fn contains(&self, x: Dec) -> bool {
        (if self.lo_open { x > self.lo } else { x >= self.lo }) && x <= self.hi
    }
    fn describe(&self) -> String {
        format!("{} {} x ≤ {}", self.lo, if self.lo_open { "<" } else { "≤" }, self.hi)
    }
}

const fn e(n: u32) -> Dec {
    Dec::from_units(10i128.pow(n + 8))
}

/// SPEC §1 ranges.
pub mod ranges {
    use super::*;
    /// Signed quantities: wallet balances, position sizes.
    pub const SIGNED_QTY: Range = Range::closed(Dec::from_units(-(10i128.pow(23))), e(15));
    /// Non-negative quantities.
    pub const QTY: Range = Range::closed(Dec::ZERO, e(15));
    /// Positive amounts: order quantities, request amounts.
    pub const AMOUNT: Range = Range::open_closed(Dec::ZERO, e(15));
    /// Prices: index, mark, order, entry.
    pub const PRICE: Range = Range::open_closed(Dec::ZERO, e(9));
    /// Collateral and haircut ratios, auto-repay ratio.
    pub const RATIO: Range = Range::closed(Dec::ZERO, Dec::ONE);
    /// Discount.
    pub const DISCOUNT: Range = Range::open_closed(Dec::ZERO, Dec::ONE);
    /// IMR, MMR, interest rates, thresholds, bars, the IMR floor.
    pub const RATE: Range = Range::closed(Dec::ZERO, e(1));
    /// Tier bounds.
    pub const BOUND: Range = Range::open_closed(Dec::ZERO, e(18));
    /// Integer leverage.
    pub const LEVERAGE: (i64, i64) = (1, 1000);
    /// The largest quantity, 10^15.
    pub const MAX_QTY: Dec = e(15);
}

impl<'a> At<'a> {
    /// The root value at `path`.
    pub fn root(value: &'a Value, path: &'a str) -> At<'a> {
        At { value, path }
    }

    /// The path of this value.
    pub fn path(&self) -> &str {
        self.path
    }

    /// An error about this field.
    pub fn err(&self, reason: Reason, message: impl Into<String>) -> Error {
        Error::at(reason, self.path, message)
    }

    fn wrong_type(&self, expected: &str) -> Error {
        self.err(Reason::InvalidArgument, format!("must be {expected}, not {}", type_name(self.value)))
    }

    /// The value as an object.
    pub fn object(&self) -> Result<&'a Map<String, Value>> {
        self.value.as_object().ok_or_else(|| self.wrong_type("an object"))
    }

    /// The value as an object that may hold only the `allowed` keys (SPEC §3.1, §10):
    /// any other key is `INVALID_ARGUMENT` with its path as the field. Keys that begin
    /// with `_` are comments and are ignored.
    pub fn fields(&self, allowed: &[&str]) -> Result<&'a Map<String, Value>> {
        let m = self.object()?;
        if let Some(k) = m.keys().find(|k| !is_comment(k) && !allowed.contains(&k.as_str())) {
            return Err(Error::at(
                Reason::InvalidArgument,
                join(self.path, k),
                format!("unknown key {k:?} (expected one of: {})", allowed.join(", ")),
            ));
        }
        Ok(m)
    }

    /// The entries of an object keyed by codes (assets, symbols), comment keys skipped.
    pub fn entries(&self) -> Result<impl Iterator<Item = (&'a String, &'a Value)>> {
        Ok(self.object()?.iter().filter(|(k, _)| !is_comment(k)))
    }

    /// The value as an array.
    pub fn array(&self) -> Result<&'a Vec<Value>> {
        self.value.as_array().ok_or_else(|| self.wrong_type("an array"))
    }

    /// The value as a string.
    pub fn str(&self) -> Result<&'a str> {
        self.value.as_str().ok_or_else(|| self.wrong_type("a string"))
    }

    /// The value as a boolean.
    pub fn bool(&self) -> Result<bool> {
        self.value.as_bool().ok_or_else(|| self.wrong_type("a boolean"))
    }

    /// The value as a JSON integer within `lo..=hi` (a string or float is refused).
    pub fn int_in(&self, lo: i64, hi: i64) -> Result<i64> {
        let i = match self.value {
            Value::Number(n) if n.is_i64() || n.is_u64() => n.as_i64(),
            _ => return Err(self.wrong_type("an integer")),
        };
        match i {
            Some(i) if (lo..=hi).contains(&i) => Ok(i),
            _ => Err(self.err(Reason::OutOfRange, format!("must be an integer in {lo}..={hi}"))),
        }
    }

    /// The value as a decimal string (SPEC §1); a JSON number is `INVALID_DECIMAL`.
    pub fn dec(&self) -> Result<Dec> {
        let s = match self.value {
            Value::String(s) => s,
            Value::Number(_) => {
                return Err(
                    self.err(Reason::InvalidDecimal, "a decimal must be a JSON string, not a JSON number")
                )
            }
            _ => return Err(self.wrong_type("a decimal string")),
        };
        Dec::parse(s).map_err(|e| match e {
            DecError::Malformed => self.err(Reason::InvalidDecimal, format!("{s:?} is not a decimal")),
            DecError::TooManyDigits => {
                self.err(Reason::InvalidDecimal, format!("{s:?} has more than 8 digits after the point"))
            }
            DecError::Overflow => self.err(Reason::OutOfRange, format!("{s:?} is out of range")),
        })
    }

    /// One of the named values of an enum (an unknown name is `INVALID_ARGUMENT`).
    pub fn enum_of<T: Copy>(&self, options: &[(&str, T)]) -> Result<T> {
        let s = self.str()?;
        options.iter().find(|(n, _)| *n == s).map(|&(_, v)| v).ok_or_else(|| {
            let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
            self.err(Reason::InvalidArgument, format!("{s:?} is not one of {}", names.join(", ")))
        })
    }

    /// A decimal string within `range`.
    pub fn dec_in(&self, range: Range) -> Result<Dec> {
        let d = self.dec()?;
        if range.contains(d) {
            Ok(d)
        } else {
            Err(self.err(Reason::OutOfRange, format!("{d} is outside {}", range.describe())))
        }
    }
}

/// True for a key that is a comment (SPEC §3.1, §10: it begins with `_`).
pub fn is_comment(key: &str) -> bool {
    key.starts_with('_')
}

/// The path of `key` under `parent` (the root has an empty path).
fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// A child of an object, with its path.
pub struct Child<'a> {
    value: Option<&'a Value>,
    path: String,
}

impl Child<'_> {
    /// The path of the child.
    pub fn path(&self) -> &str {
        &self.path
    }
}

/// Looks up `key` in an object found at `parent`.
pub fn child<'a>(map: &'a Map<String, Value>, parent: &str, key: &str) -> Child<'a> {
    let path = join(parent, key);
    // A JSON null counts as absent for optional fields.
    Child { value: map.get(key).filter(|v| !v.is_null()), path }
}

/// The path of element `i` of an array at `parent`.
pub fn index_path(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}

impl Child<'_> {
    /// The child as a required value.
    pub fn required(&self) -> Result<At<'_>> {
        match self.value {
            Some(v) => Ok(At { value: v, path: &self.path }),
            None => Err(Error::at(Reason::InvalidArgument, &self.path, "is required")),
        }
    }

    /// The child, if present and not null.
    pub fn optional(&self) -> Option<At<'_>> {
        self.value.map(|v| At { value: v, path: &self.path })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decimal_field_errors_name_the_reason() {
        let v = json!({"a": 100, "b": "1e5", "c": "1.123456789", "d": true, "e": "5"});
        let m = v.as_object().unwrap();
        let reason = |k: &str| child(m, "x", k).required().unwrap().dec().unwrap_err().reason;
        assert_eq!(reason("a"), Reason::InvalidDecimal);
        assert_eq!(reason("b"), Reason::InvalidDecimal);
        assert_eq!(reason("c"), Reason::InvalidDecimal);
        assert_eq!(reason("d"), Reason::InvalidArgument);
        let e = child(m, "x", "e").required().unwrap().dec_in(ranges::RATIO).unwrap_err();
        assert_eq!((e.reason, e.field.as_deref()), (Reason::OutOfRange, Some("x.e")));
        let missing = child(m, "x", "zz").required().unwrap_err();
        assert_eq!(missing.reason, Reason::InvalidArgument);
    }

    #[test]
    fn unknown_keys_are_refused_with_their_path_and_comments_ignored() {
        let v = json!({"a": 1, "_note": "free text", "b": {"c": 1, "_c": 2}});
        let root = At::root(&v, "");
        assert!(root.fields(&["a", "b"]).is_ok());
        let e = root.fields(&["a"]).unwrap_err();
        assert_eq!((e.reason, e.field.as_deref()), (Reason::InvalidArgument, Some("b")));
        assert!(e.message.contains("expected one of: a"), "{}", e.message);
        let inner = At::root(&v["b"], "x.b");
        let e = inner.fields(&["d"]).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("x.b.c"));
        assert_eq!(inner.entries().unwrap().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["c"]);
        assert_eq!(root.fields(&[]).unwrap_err().field.as_deref(), Some("a"));
        assert_eq!(At::root(&json!([]), "y").fields(&["a"]).unwrap_err().reason, Reason::InvalidArgument);
    }

    #[test]
    fn integers_are_strict() {
        let v = json!({"s": "10", "f": 10.0, "b": true, "big": 1001, "ok": 10});
        let m = v.as_object().unwrap();
        let r = |k: &str| child(m, "", k).required().unwrap().int_in(1, 1000).map_err(|e| e.reason);
        assert_eq!(r("s"), Err(Reason::InvalidArgument));
        assert_eq!(r("f"), Err(Reason::InvalidArgument));
        assert_eq!(r("b"), Err(Reason::InvalidArgument));
        assert_eq!(r("big"), Err(Reason::OutOfRange));
        assert_eq!(r("ok"), Ok(10));
    }
}
