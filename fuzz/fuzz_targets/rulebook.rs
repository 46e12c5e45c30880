//! Any bytes as a rulebook: parsed or refused, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use multimargin_core::rulebook::Rulebook;

fuzz_target!(|data: &[u8]| {
    let _ = Rulebook::from_json_str(&String::from_utf8_lossy(data));
});
