//! Runs one fixture evaluation in a loop (for profilers):
//!     cargo run --release --example profile_eval -- futures_multi 100000
use multimargin_core::rulebook::Rulebook;
use multimargin_core::Scenario;
use serde_json::Value;

fn load(name: &str) -> Value {
    let path = format!("{}/../bench/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect(&path)).unwrap()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_else(|| "futures_multi".into());
    let n: usize = args.next().map_or(10_000, |s| s.parse().unwrap());
    let rb = Rulebook::from_json(&load("rulebook")).unwrap();
    let s = Scenario::from_json(&load(&name), Some(&rb)).unwrap();
    let t = std::time::Instant::now();
    for _ in 0..n {
        std::hint::black_box(s.evaluate().unwrap());
    }
    println!("{name}: {:.3} µs per evaluation", t.elapsed().as_secs_f64() * 1e6 / n as f64);
}
