//! One error type for the core: a SPEC §11 reason, the field it concerns and a message.

use std::fmt;

macro_rules! reasons {
    ($($variant:ident => $code:literal, $class:ident;)*) => {
        /// A SPEC §11 reason code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Reason {
            $(#[doc = $code] $variant,)*
        }

        impl Reason {
            /// Every reason, in declaration order.
            pub const ALL: &'static [Reason] = &[$(Reason::$variant,)*];

            /// The UPPER_SNAKE code used on the wire and on Python exceptions.
            pub const fn code(self) -> &'static str {
                match self {
                    $(Reason::$variant => $code,)*
                }
            }

            /// The family of the reason; it decides the exception class and gRPC status.
            pub const fn class(self) -> ErrorClass {
                match self {
                    $(Reason::$variant => ErrorClass::$class,)*
                }
            }

            /// The reason for a code, if it is one.
            pub fn from_code(code: &str) -> Option<Reason> {
                match code {
                    $($code => Some(Reason::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

reasons! {
    InvalidDecimal => "INVALID_DECIMAL", Input;
    OutOfRange => "OUT_OF_RANGE", Input;
    UnknownAsset => "UNKNOWN_ASSET", Input;
    UnknownSymbol => "UNKNOWN_SYMBOL", Input;
    InvalidArgument => "INVALID_ARGUMENT", Input;
    ContractNotSupported => "CONTRACT_NOT_SUPPORTED", Input;
    AccountNotFound => "ACCOUNT_NOT_FOUND", NotFound;
    PriceUnavailable => "PRICE_UNAVAILABLE", PriceUnavailable;
    InsufficientMargin => "INSUFFICIENT_MARGIN", Rule;
    ExceedsMaxBorrow => "EXCEEDS_MAX_BORROW", Rule;
    ExceedsMaxTransfer => "EXCEEDS_MAX_TRANSFER", Rule;
    HasOpenPositions => "HAS_OPEN_POSITIONS", Rule;
    HasOpenOrders => "HAS_OPEN_ORDERS", Rule;
    HasLiabilities => "HAS_LIABILITIES", Rule;
    SubAccount => "SUB_ACCOUNT", Rule;
    CopyTradingOn => "COPY_TRADING_ON", Rule;
    ContractNotAllowedInMode => "CONTRACT_NOT_ALLOWED_IN_MODE", Rule;
    LeverageExceedsTier => "LEVERAGE_EXCEEDS_TIER", Rule;
    RiskLimitExceeded => "RISK_LIMIT_EXCEEDED", Rule;
    ProTermsNotAccepted => "PRO_TERMS_NOT_ACCEPTED", Rule;
    MarginLevelTooLow => "MARGIN_LEVEL_TOO_LOW", Rule;
    AccountLiquidating => "ACCOUNT_LIQUIDATING", Rule;
    InsufficientBalance => "INSUFFICIENT_BALANCE", Rule;
    IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED", Rule;
    VersionConflict => "VERSION_CONFLICT", Conflict;
    Internal => "INTERNAL", Internal;
}

/// Families of reasons (SPEC §11 rows), mapped to one exception class / gRPC status each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// Malformed or inconsistent input: INVALID_ARGUMENT.
    Input,
    /// Unknown account: NOT_FOUND.
    NotFound,
    /// A needed price is missing: FAILED_PRECONDITION.
    PriceUnavailable,
    /// A business rule is not met: FAILED_PRECONDITION.
    Rule,
    /// Stale expected version: ABORTED.
    Conflict,
    /// A fault of the engine itself (e.g. an arithmetic overflow): INTERNAL.
    Internal,
}

impl ErrorClass {
    /// The `multimargin.errors` exception class raised in Python for this class.
    pub const fn python_exception(self) -> &'static str {
        match self {
            ErrorClass::Input => "InvalidInputError",
            ErrorClass::NotFound => "AccountNotFoundError",
            ErrorClass::PriceUnavailable => "PriceUnavailableError",
            ErrorClass::Rule => "RuleViolationError",
            ErrorClass::Conflict => "VersionConflictError",
            ErrorClass::Internal => "InternalError",
        }
    }
}

/// Runs core code, turning a panic into an `INTERNAL` error (used at the Python
/// boundary, so a panic never crosses into the interpreter).
pub fn catch<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        Err(Error::internal(format!("engine fault: {what}")))
    })
}

/// An error of the core: a reason, the field path it concerns (if any) and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The SPEC §11 reason.
    pub reason: Reason,
    /// The field path, e.g. `rulebook.assets.ETH.collateral_tiers[1][0]`.
    pub field: Option<String>,
    /// A human-readable sentence naming the field or condition.
    pub message: String,
}

impl Error {
    /// An error about a field.
    pub fn at(reason: Reason, field: impl Into<String>, message: impl Into<String>) -> Error {
        Error { reason, field: Some(field.into()), message: message.into() }
    }

    /// An error about the state as a whole.
    pub fn new(reason: Reason, message: impl Into<String>) -> Error {
        Error { reason, field: None, message: message.into() }
    }

    /// The arithmetic left the 256-bit range: an engine fault, never a wrapped result.
    pub fn overflow() -> Error {
        Error::new(Reason::Internal, "arithmetic overflow in an intermediate value")
    }

    /// Any other engine fault.
    pub fn internal(message: impl Into<String>) -> Error {
        Error::new(Reason::Internal, message)
    }

    /// The same error with the field path prefixed (`prefix.field`).
    pub fn under(mut self, prefix: &str) -> Error {
        self.field = Some(match self.field {
            Some(f) if f.starts_with('[') => format!("{prefix}{f}"),
            Some(f) => format!("{prefix}.{f}"),
            None => prefix.to_string(),
        });
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{}: {} ({})", field, self.message, self.reason.code()),
            None => write!(f, "{} ({})", self.message, self.reason.code()),
        }
    }
}

impl std::error::Error for Error {}

/// Result alias of the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_upper_snake() {
        for &r in Reason::ALL {
            assert_eq!(Reason::from_code(r.code()), Some(r));
            assert!(r.code().chars().all(|c| c.is_ascii_uppercase() || c == '_'));
        }
        assert_eq!(Reason::from_code("NOPE"), None);
    }

    #[test]
    fn classes_follow_spec_table() {
        assert_eq!(Reason::InvalidDecimal.class(), ErrorClass::Input);
        assert_eq!(Reason::ContractNotSupported.class(), ErrorClass::Input);
        assert_eq!(Reason::PriceUnavailable.class(), ErrorClass::PriceUnavailable);
        assert_eq!(Reason::ContractNotAllowedInMode.class(), ErrorClass::Rule);
        assert_eq!(Reason::VersionConflict.class(), ErrorClass::Conflict);
        assert_eq!(Reason::AccountNotFound.class(), ErrorClass::NotFound);
    }

    #[test]
    fn every_reason_maps_to_one_python_exception() {
        for &r in Reason::ALL {
            assert!(r.class().python_exception().ends_with("Error"), "{r:?}");
        }
        assert_eq!(Reason::InvalidDecimal.class().python_exception(), "InvalidInputError");
        assert_eq!(Reason::ContractNotSupported.class().python_exception(), "InvalidInputError");
        assert_eq!(Reason::PriceUnavailable.class().python_exception(), "PriceUnavailableError");
        assert_eq!(Reason::InsufficientMargin.class().python_exception(), "RuleViolationError");
        assert_eq!(Reason::VersionConflict.class().python_exception(), "VersionConflictError");
        assert_eq!(Reason::AccountNotFound.class().python_exception(), "AccountNotFoundError");
        assert_eq!(Reason::Internal.class().python_exception(), "InternalError");
    }

    #[test]
    fn panics_become_internal_errors() {
        let e = catch::<()>(|| panic!("boom")).unwrap_err();
        assert_eq!(e.reason, Reason::Internal);
        assert!(e.message.contains("boom"));
    }

    #[test]
    fn field_paths_compose() {
        let e = Error::at(Reason::OutOfRange, "[1][0]", "bound").under("collateral_tiers");
        assert_eq!(e.field.as_deref(), Some("collateral_tiers[1][0]"));
        let e = e.under("rulebook.assets.ETH");
        assert_eq!(e.field.as_deref(), Some("rulebook.assets.ETH.collateral_tiers[1][0]"));
    }
}
