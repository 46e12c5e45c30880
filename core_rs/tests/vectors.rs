//! Every golden vector (tests/vectors/*.json, copies of ../shared/vectors) through the
//! Rust API, matched by the SPEC §10 rule.

use multimargin_core::decimal::Dec;
use multimargin_core::rulebook::Rulebook;
use multimargin_core::Scenario;
use serde_json::Value;
use std::path::PathBuf;

fn vector_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "expected the vector files in {}", dir.display());
    files
}

fn num(v: &Value) -> Option<Dec> {
    v.as_str().and_then(|s| s.parse().ok())
}

/// SPEC §10 matching: every expected field present and equal; maps compared whole with
/// missing keys as 0; `pools` position by position; null only equals null.
fn diff(path: &str, expected: &Value, actual: &Value, out: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) if is_asset_map(path) => {
            for k in e.keys().chain(a.keys()) {
                let ev = e.get(k).and_then(num).unwrap_or(Dec::ZERO);
                let av = a.get(k).and_then(num).unwrap_or(Dec::ZERO);
                if ev != av {
                    out.push(format!("{path}.{k}: expected {ev}, got {av}"));
                }
            }
        }
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                match a.get(k) {
                    Some(av) => diff(&format!("{path}.{k}"), ev, av, out),
                    None => out.push(format!("{path}.{k}: missing")),
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                out.push(format!("{path}: expected {} items, got {}", e.len(), a.len()));
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                diff(&format!("{path}[{i}]"), ev, av, out);
            }
        }
        (e, a) if e != a => out.push(format!("{path}: expected {e}, got {a}")),
        _ => {}
    }
}

fn is_asset_map(path: &str) -> bool {
    ["equity", "value", "max_borrow", "max_transfer_out"].iter().any(|k| path.ends_with(&format!(".{k}")))
}

#[test]
fn every_vector_case_matches() {
    let mut failures = Vec::new();
    let mut count = 0;
    for file in vector_files() {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let file_rb = Rulebook::from_json(&doc["rulebook"]).expect("file rulebook is valid");
        for case in doc["cases"].as_array().unwrap() {
            count += 1;
            let name =
                format!("{}:{}", file.file_name().unwrap().to_string_lossy(), case["name"].as_str().unwrap());
            // The case without its test fields is a SPEC §10 scenario.
            let mut scenario = case.clone();
            for k in ["name", "expected", "expected_error"] {
                scenario.as_object_mut().unwrap().remove(k);
            }
            let result = Scenario::from_json(&scenario, Some(&file_rb))
                .and_then(|s| Ok(s.evaluate()?.to_json(&s.rulebook)));
            match (case.get("expected"), case.get("expected_error"), result) {
                (Some(exp), _, Ok(actual)) => {
                    let mut d = Vec::new();
                    diff("", exp, &actual, &mut d);
                    if !d.is_empty() {
                        failures.push(format!("{name}: {}", d.join("; ")));
                    }
                }
                (Some(_), _, Err(e)) => failures.push(format!("{name}: unexpected error {e}")),
                (None, Some(reason), Err(e)) => {
                    if e.reason.code() != reason.as_str().unwrap() {
                        failures.push(format!("{name}: expected {reason}, got {e}"));
                    }
                }
                (None, Some(reason), Ok(_)) => {
                    failures.push(format!("{name}: expected {reason}, got a result"))
                }
                (None, None, _) => failures.push(format!("{name}: case has no expectation")),
            }
        }
    }
    assert!(count >= 437, "only {count} cases");
    assert!(failures.is_empty(), "{} of {count} cases failed:\n{}", failures.len(), failures.join("\n"));
}
