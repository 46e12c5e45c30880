//! Any bytes as a SPEC §10 scenario (on the default rulebook unless it carries one):
//! parsing and evaluation return a result or an error, never panic or overflow.
#![no_main]

use libfuzzer_sys::fuzz_target;
use multimargin_core::rulebook::Rulebook;
use multimargin_core::{evaluate_scenario_str, Scenario};
use std::sync::OnceLock;

fn default_rulebook() -> &'static Rulebook {
    static RB: OnceLock<Rulebook> = OnceLock::new();
    RB.get_or_init(|| {
        Rulebook::from_json_str(include_str!("../../server/multimargin/rulebooks/default.json")).unwrap()
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = evaluate_scenario_str(&text, Some(default_rulebook()));
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
        if let Ok(s) = Scenario::from_json(&v, Some(default_rulebook())) {
            let _ = s.evaluate();
        }
    }
});
