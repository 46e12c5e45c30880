//! Stable-toolchain fuzzing of the parsers and the evaluator (issue 8, item 5): the same
//! bodies as the cargo-fuzz targets in `fuzz/` (`fuzz/src/lib.rs` has the long-run
//! instructions), driven by proptest: raw bytes, and structure-aware mutations of the
//! example scenarios and vector rulebooks (a node replaced by an extreme number, a wrong
//! type, a deep or long value, or removed). Whatever the input, parsing and evaluation
//! return a value or an error; never a panic, never an overflow (`cargo test` builds
//! with overflow checks). Set `MM_FUZZ_CASES` for a longer run.

use multimargin_core::rulebook::Rulebook;
use multimargin_core::{evaluate_scenario_str, Scenario};
use proptest::prelude::*;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::OnceLock;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn default_rulebook() -> &'static Rulebook {
    static RB: OnceLock<Rulebook> = OnceLock::new();
    RB.get_or_init(|| {
        let text = std::fs::read_to_string(root().join("server/multimargin/rulebooks/default.json")).unwrap();
        Rulebook::from_json_str(&text).unwrap()
    })
}

/// Seeds: every example scenario, and every vector case as a scenario with its rulebook.
fn seeds() -> &'static Vec<Value> {
    static SEEDS: OnceLock<Vec<Value>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut out = Vec::new();
        for dir in ["examples", "tests/vectors", "fuzz/seeds"] {
            let Ok(entries) = std::fs::read_dir(root().join(dir)) else { continue };
            let mut paths: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
            paths.sort();
            for p in paths.into_iter().filter(|p| p.extension().is_some_and(|x| x == "json")) {
                let v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
                match v.get("cases").and_then(Value::as_array) {
                    Some(cases) => {
                        for case in cases.iter().take(5) {
                            let mut s = case.clone();
                            if let (Some(obj), Some(rb)) = (s.as_object_mut(), v.get("rulebook")) {
                                obj.entry("rulebook").or_insert_with(|| rb.clone());
                            }
                            out.push(s);
                        }
                    }
                    None => out.push(v),
                }
            }
        }
        assert!(out.len() >= 6, "expected the example scenarios and vectors as seeds");
        out
    })
}

/// The fuzz body (same as `fuzz/fuzz_targets/scenario.rs`): must not panic.
fn scenario_body(text: &str) {
    let _ = evaluate_scenario_str(text, Some(default_rulebook()));
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        if let Ok(s) = Scenario::from_json(&v, Some(default_rulebook())) {
            let _ = s.evaluate();
        }
    }
}

/// The fuzz body of `fuzz/fuzz_targets/rulebook.rs`.
fn rulebook_body(text: &str) {
    let _ = Rulebook::from_json_str(text);
}

fn paths(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                paths(x, p, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                let p = format!("{at}/{i}");
                out.push(p.clone());
                paths(x, p, out);
            }
        }
        _ => {}
    }
}

const EXTREMES: &[&str] = &[
    "0",
    "-0",
    "1e30",
    "-1",
    "0.000000001",
    "0.00000001",
    "999999999999999.99999999",
    "1000000000000000",
    "-999999999999999.99999999",
    "340282366920938463463374607431768211456",
    "1.5e-8",
    "NaN",
    "inf",
    "",
    " 1",
    "1.",
    ".5",
    "0x10",
    "٣",
];

fn replacement(kind: u8, pick: usize) -> Option<Value> {
    let s = EXTREMES[pick % EXTREMES.len()];
    Some(match kind % 12 {
        0 => Value::String(s.to_string()),
        1 => serde_json::json!((pick as u64).wrapping_mul(1_000_000_007)),
        2 => serde_json::json!((pick as i64).wrapping_neg()),
        3 => serde_json::json!(1e308),
        4 => Value::Null,
        5 => Value::Bool(pick % 2 == 0),
        6 => serde_json::json!([]),
        7 => serde_json::json!({}),
        8 => serde_json::json!([[null, s], [s, "1"], ["1", s]]),
        9 => serde_json::json!(u64::MAX),
        10 => Value::String(format!("{s}{s}")),
        _ => return None, // removal
    })
}

fn mutate(seed: &Value, edits: &[(usize, u8, usize)]) -> Value {
    let mut v = seed.clone();
    for &(at, kind, pick) in edits {
        let mut all = Vec::new();
        paths(&v, String::new(), &mut all);
        if all.is_empty() {
            break;
        }
        let path = &all[at % all.len()];
        match replacement(kind, pick) {
            Some(new) => {
                if let Some(node) = v.pointer_mut(path) {
                    *node = new;
                }
            }
            None => {
                let (parent, key) = path.rsplit_once('/').unwrap();
                match v.pointer_mut(parent) {
                    Some(Value::Object(m)) => {
                        m.shift_remove(&key.replace("~1", "/").replace("~0", "~"));
                    }
                    Some(Value::Array(a)) => {
                        let i: usize = key.parse().unwrap();
                        // Duplicate instead of removing now and then: long lists.
                        if pick % 3 == 0 {
                            let x = a[i].clone();
                            a.extend(std::iter::repeat_n(x, 64));
                        } else {
                            a.remove(i);
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    v
}

fn cases() -> u32 {
    std::env::var("MM_FUZZ_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(512)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn raw_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&bytes);
        scenario_body(&text);
        rulebook_body(&text);
    }

    #[test]
    fn mutated_scenarios_never_panic(
        seed in any::<prop::sample::Index>(),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<usize>()), 1..6),
    ) {
        let all = seeds();
        let v = mutate(&all[seed.index(all.len())], &edits);
        let text = v.to_string();
        scenario_body(&text);
        if let Some(rb) = v.get("rulebook") {
            rulebook_body(&rb.to_string());
        }
        // A truncated text: every prefix boundary is a parse error, never a panic.
        let cut = edits[0].2 % (text.len() + 1);
        if text.is_char_boundary(cut) {
            scenario_body(&text[..cut]);
        }
    }
}
