//! Criterion benchmarks of one account evaluation, maxima included:
//! a MULTI_ASSET futures account (10 assets, 20 positions) and a PRO margin account
//! (10 assets, 5 loans). Fixtures: bench/fixtures (bench/make_fixtures.py).
//!
//!     cargo bench --bench evaluate

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use multimargin_core::rulebook::Rulebook;
use multimargin_core::Scenario;
use serde_json::Value;

fn load(name: &str) -> Value {
    let path = format!("{}/../bench/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect(&path)).unwrap()
}

fn bench(c: &mut Criterion) {
    let rb = Rulebook::from_json(&load("rulebook")).unwrap();
    for name in ["futures_multi", "margin_pro"] {
        let doc = load(name);
        let s = Scenario::from_json(&doc, Some(&rb)).unwrap();
        s.evaluate().unwrap();
        c.bench_function(&format!("evaluate/{name}"), |b| b.iter(|| black_box(&s).evaluate().unwrap()));
        c.bench_function(&format!("parse+evaluate/{name}"), |b| {
            b.iter(|| Scenario::from_json(black_box(&doc), Some(&rb)).unwrap().evaluate().unwrap())
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
