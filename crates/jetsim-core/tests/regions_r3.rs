//! `scenarios/regions-r3.jetsim`: an R3 stream stretched over three regions.
//! The p50 PubAck latency in the run's report must be within 5% of the
//! analytic value from the scenario's link latencies:
//!
//! client ↔ its server round trip
//! + its server ↔ stream leader round trip (0 when it is the leader)
//! + the leader ↔ follower round trip of the (quorum − 1)-th fastest follower
//!
//! (the leader answers once a quorum holds the entry; the simulator adds no
//! processing time). Every replica is in another region, so that last term is
//! a cross-region round trip: at least 200 ms.

use jetsim_core::link::Latency;
use jetsim_core::report::Report;
use jetsim_core::sim::{run_headless, World};
use jetsim_core::time::MS;
use jetsim_core::trace::Endpoint;

const TEXT: &str = include_str!("../../../scenarios/regions-r3.jetsim");

fn fixed(w: &World, a: Endpoint, b: Endpoint) -> u64 {
    match w.latency(a, b) {
        Latency::Fixed(d) => *d,
        other => panic!("{} → {} is not a fixed latency: {other:?}", w.name(a), w.name(b)),
    }
}

fn rtt(w: &World, a: Endpoint, b: Endpoint) -> u64 {
    if a == b {
        0
    } else {
        fixed(w, a, b) + fixed(w, b, a)
    }
}

/// The analytic PubAck latency (ns) of `client` publishing to `stream`.
fn analytic(w: &World, client: &str, stream: &str) -> u64 {
    let cep = w.endpoint(client).expect("client");
    let c = &w.clients[(cep - w.server_count()) as usize].node;
    let server = c.server().expect("the client is connected");
    let leader = w.stream_leader(stream).expect("a stream leader");
    let reps = w.stream_replicas(stream);
    let peers = &reps.first().expect("replicas").1.assignment.peers;
    let mut follower_rtts: Vec<u64> = peers.iter().filter(|&&p| p != leader).map(|&p| rtt(w, leader, p)).collect();
    follower_rtts.sort_unstable();
    let k = peers.len() / 2; // followers needed for a quorum
    let quorum = if k == 0 { 0 } else { follower_rtts[k - 1] };
    rtt(w, cep, server) + rtt(w, server, leader) + quorum
}

#[test]
fn regions_r3_puback_p50_is_the_cross_region_quorum_rtt() {
    let seed = jetsim_core::scenario::parse(TEXT).expect("parses").seed.expect("the scenario names its seed");
    let w = run_headless(TEXT, seed, None, 50_000_000).unwrap_or_else(|e| panic!("{e}"));
    let report = Report::from_world(&w, None);
    assert!(report.violations.is_empty(), "{:#?}", report.violations);
    let stream =
        |name: &str| report.streams.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no stream {name}"));

    let orders = stream("ORDERS");
    assert_eq!((orders.publishes_sent, orders.publishes_acked), (20, 20));
    // One replica per region (unique_tag=region:).
    let regions: std::collections::BTreeSet<String> = orders
        .replicas
        .iter()
        .map(|r| w.servers[w.endpoint(&r.server).expect("server") as usize].config.region.clone().unwrap_or_default())
        .collect();
    assert_eq!(regions.len(), 3, "{:?}", orders.replicas);
    let p50_ns = orders.puback_latency_ms.as_ref().expect("PubAck latencies").p50 * 1e6;
    let want = analytic(&w, "app", "ORDERS");
    assert!(want >= 200 * MS, "the quorum needs a cross-region round trip: {want}");
    let diff = (p50_ns - want as f64).abs();
    assert!(diff <= 0.05 * want as f64, "ORDERS p50 {p50_ns} ns, analytic {want} ns");

    // The R1 stream in the client's region answers in milliseconds.
    let local = stream("LOCAL");
    assert_eq!(local.publishes_acked, 20);
    let local_p50 = local.puback_latency_ms.as_ref().expect("PubAck latencies").p50;
    let want_local = analytic(&w, "app", "LOCAL");
    assert!(
        (local_p50 * 1e6 - want_local as f64).abs() <= 0.05 * want_local as f64,
        "LOCAL p50 {local_p50} ms, analytic {want_local} ns"
    );
    assert!(local_p50 < 5.0, "{local_p50} ms");
}

/// The formula holds wherever the leader lands: with a leader abroad the
/// publish also crosses the ocean to reach it (about 400 ms).
#[test]
fn regions_r3_formula_holds_for_any_leader() {
    let mut abroad = 0;
    for seed in 1..=4 {
        let w = run_headless(TEXT, seed, None, 50_000_000).unwrap_or_else(|e| panic!("{e}"));
        let report = Report::from_world(&w, None);
        let orders = report.streams.iter().find(|s| s.name == "ORDERS").expect("ORDERS");
        let p50_ns = orders.puback_latency_ms.as_ref().expect("latencies").p50 * 1e6;
        let want = analytic(&w, "app", "ORDERS");
        assert!((p50_ns - want as f64).abs() <= 0.05 * want as f64, "seed {seed}: p50 {p50_ns} ns, analytic {want} ns");
        if want >= 400 * MS {
            abroad += 1;
        }
    }
    assert!(abroad > 0, "seeds 1..=4 should include a leader outside us-east");
}
