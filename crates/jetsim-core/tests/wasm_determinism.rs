//! Determinism across targets: the same scenario and seed give the same trace
//! hash natively and in wasm (headless Chromium).
//!
//! `scripts/test` runs `jetsim hashes` natively over every file in
//! `scenarios/` and passes the output to this test's build in
//! `JETSIM_NATIVE_HASHES` (`<file> <seed> <hash>` lines); the browser run then
//! recomputes each hash with the wasm build of the core and compares. Natively
//! the test checks that two runs of each scenario agree.

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use jetsim_core::sim::run_headless;

/// Every file in `scenarios/` (a native test below fails if one is missing).
const SCENARIOS: &[(&str, &str)] = &[
    ("core-pubsub.jetsim", include_str!("../../../scenarios/core-pubsub.jetsim")),
    ("faults.jetsim", include_str!("../../../scenarios/faults.jetsim")),
    ("kill-leader.jetsim", include_str!("../../../scenarios/kill-leader.jetsim")),
    ("lazy-fsync-power-loss.jetsim", include_str!("../../../scenarios/lazy-fsync-power-loss.jetsim")),
    ("lose-quorum.jetsim", include_str!("../../../scenarios/lose-quorum.jetsim")),
    ("partition.jetsim", include_str!("../../../scenarios/partition.jetsim")),
    ("r3-publish.jetsim", include_str!("../../../scenarios/r3-publish.jetsim")),
    ("regions.jetsim", include_str!("../../../scenarios/regions.jetsim")),
    ("regions-r3.jetsim", include_str!("../../../scenarios/regions-r3.jetsim")),
    ("pull-consumer.jetsim", include_str!("../../../scenarios/pull-consumer.jetsim")),
    ("r1-r3-r5.jetsim", include_str!("../../../scenarios/r1-r3-r5.jetsim")),
    ("az-unique-tag.jetsim", include_str!("../../../scenarios/az-unique-tag.jetsim")),
];

const MAX_EVENTS: u64 = 50_000_000;

fn hash_of(text: &str, seed: u64) -> String {
    let world = run_headless(text, seed, None, MAX_EVENTS).unwrap_or_else(|e| panic!("run failed: {e}"));
    format!("{:016x}", world.trace.hash())
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn same_seed_twice_same_hash() {
    for (name, text) in SCENARIOS {
        for seed in [1, 2] {
            assert_eq!(hash_of(text, seed), hash_of(text, seed), "{name} seed {seed}");
        }
    }
}

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen_test::wasm_bindgen_test]
fn wasm_hashes_equal_native_hashes() {
    let native = option_env!("JETSIM_NATIVE_HASHES")
        .expect("JETSIM_NATIVE_HASHES is not set: scripts/test sets it from `jetsim hashes scenarios/*.jetsim`");
    let mut checked = 0;
    for line in native.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let mut parts = line.split_whitespace();
        let (Some(name), Some(seed), Some(want)) = (parts.next(), parts.next(), parts.next()) else {
            panic!("malformed line in JETSIM_NATIVE_HASHES: {line:?}");
        };
        let seed: u64 = seed.parse().expect("seed");
        let text = SCENARIOS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| *t)
            .unwrap_or_else(|| panic!("{name} is not embedded in tests/wasm_determinism.rs: add it to SCENARIOS"));
        assert_eq!(hash_of(text, seed), want, "{name} seed {seed}: wasm trace differs from native");
        checked += 1;
    }
    assert!(checked >= SCENARIOS.len(), "only {checked} hashes compared");
}

#[cfg(not(target_arch = "wasm32"))]
#[test]
fn every_scenario_file_is_embedded() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scenarios");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .expect("scenarios/")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".jetsim"))
        .collect();
    files.sort();
    let mut embedded: Vec<String> = SCENARIOS.iter().map(|(n, _)| n.to_string()).collect();
    embedded.sort();
    assert_eq!(files, embedded, "keep SCENARIOS in step with scenarios/");
}
