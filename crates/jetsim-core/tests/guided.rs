//! The guided scenarios (`scenarios/*.jetsim` with `note` narration): what
//! their notes tell a reader must be what the simulation does. Each test runs
//! one scenario natively with its own seed and checks the claims.

use jetsim_core::sim::{run_headless, World};

fn run(text: &str) -> World {
    let sc = jetsim_core::scenario::parse(text).expect("parses");
    let mut w = World::new(sc.clone(), sc.seed.unwrap_or(1)).expect("builds");
    w.set_check_invariants(true);
    w.run_until(sc.until.expect("the scenario has an until"));
    w
}

/// (acked, failed: timeouts + errors) of `client` on `subject`.
fn outcome(w: &World, client: &str, subject: &str) -> (u64, u64) {
    let c = w.clients.iter().find(|c| c.node.config.name == client).expect("client");
    let s = c.node.js.by_subject.get(subject).cloned().unwrap_or_default();
    (s.acked, s.timeouts + s.errors)
}

fn peers(w: &World, stream: &str) -> Vec<String> {
    let reps = w.stream_replicas(stream);
    let (_, r) = reps.first().unwrap_or_else(|| panic!("stream {stream} is known"));
    r.assignment.peers.iter().map(|&p| w.name(p).to_string()).collect()
}

#[test]
fn r1_r3_r5_each_survives_what_the_notes_say() {
    let w = run(include_str!("../../../scenarios/r1-r3-r5.jetsim"));
    // Placement as the description says (seed 1).
    assert_eq!(peers(&w, "ONE"), ["n1"]);
    assert_eq!(peers(&w, "THREE"), ["n2", "n4", "n5"]);
    assert_eq!(peers(&w, "FIVE").len(), 5);
    // 3 publishes per phase; phases: none down, n2, n2+n4, n2+n4+n1.
    assert_eq!(outcome(&w, "app", "one.x"), (9, 3), "R1 lives until its server dies");
    assert_eq!(outcome(&w, "app", "three.x"), (6, 6), "R3 survives one failure, not two");
    assert_eq!(outcome(&w, "app", "five.x"), (9, 3), "R5 survives two failures, not three");
    assert!(w.all_violations().is_empty(), "{:#?}", w.all_violations());
}

#[test]
fn az_unique_tag_puts_one_replica_per_az_and_survives_an_az() {
    let w = run(include_str!("../../../scenarios/az-unique-tag.jetsim"));
    let mut azs: Vec<String> = peers(&w, "ORDERS")
        .iter()
        .map(|p| {
            let ep = w.endpoint(p).expect("server");
            w.servers[ep as usize].config.az.clone().expect("an az")
        })
        .collect();
    azs.sort();
    assert_eq!(azs, ["az1", "az2", "az3"]);
    assert_eq!(outcome(&w, "app", "orders.new"), (60, 0), "every publish acknowledged through the AZ failure");
    assert!(w.all_violations().is_empty(), "{:#?}", w.all_violations());
}

#[test]
fn kill_leader_elects_another_and_loses_nothing() {
    let text = include_str!("../../../scenarios/kill-leader.jetsim");
    let sc = jetsim_core::scenario::parse(text).expect("parses");
    let mut w = World::new(sc, 1).expect("builds");
    w.set_check_invariants(true);
    w.run_until(5_000_000_000);
    assert_eq!(w.stream_leader("ORDERS").map(|e| w.name(e).to_string()).as_deref(), Some("n3"));
    w.run_until(7_000_000_000);
    let new = w.stream_leader("ORDERS").map(|e| w.name(e).to_string());
    assert!(matches!(new.as_deref(), Some("n1" | "n2")), "new leader {new:?}");
    w.run_until(30_000_000_000);
    let (acked, failed) = outcome(&w, "c1", "orders.new");
    assert!(acked > 80 && failed > 0, "acked {acked} failed {failed}");
    assert!(w.all_violations().is_empty(), "{:#?}", w.all_violations());
}

#[test]
fn lose_quorum_fails_publishes_then_recovers() {
    let w = run(include_str!("../../../scenarios/lose-quorum.jetsim"));
    let (acked, failed) = outcome(&w, "c3", "orders.new");
    assert!(failed > 50, "publishes fail without a quorum: {failed}");
    // 20 before the kills, more after the restarts at 14s.
    assert!(acked > 25, "acknowledged again after the restarts: {acked}");
    assert!(w.all_violations().is_empty(), "{:#?}", w.all_violations());
}

#[test]
fn lazy_fsync_power_loss_loses_acknowledged_publishes() {
    let w = run(include_str!("../../../scenarios/lazy-fsync-power-loss.jetsim"));
    assert_eq!(outcome(&w, "c1", "orders.new").0, 20);
    let v = w.all_violations();
    assert!(v.iter().any(|v| v.text.contains("20 acknowledged publishes missing")), "{v:#?}");
}

#[test]
fn r3_publish_every_publish_is_acknowledged_by_a_quorum() {
    let w = run_headless(include_str!("../../../scenarios/r3-publish.jetsim"), 1, None, 50_000_000).expect("runs");
    assert_eq!(outcome(&w, "c1", "orders.new"), (20, 0));
}
