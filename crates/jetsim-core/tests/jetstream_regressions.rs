//! Regression tests for bugs the world-level fault campaign
//! (`tests/fault_campaign.rs`) found in `jetstream/` and `sim.rs`, each pinned
//! by a small scripted scenario. Every world checks the Raft invariants after
//! every event.

use std::collections::BTreeSet;

use jetsim_core::scenario::{self, Limits};
use jetsim_core::sim::World;
use jetsim_core::time::{MS, SEC};

const STREAM: &str = "ORDERS";

fn scripted(text: &str, seed: u64) -> World {
    let sc = scenario::parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let mut w = World::new(sc, seed).unwrap_or_else(|e| panic!("{e}"));
    w.set_check_invariants(true);
    w
}

fn apply(w: &mut World, line: &str) {
    let sc = w.scenario().clone();
    let a = scenario::parse_action_line(line, &sc, &Limits::default()).unwrap_or_else(|e| panic!("{line}: {e}"));
    w.apply_action(&a);
}

fn client<'a>(w: &'a World, name: &str) -> Option<&'a jetsim_core::client::Client> {
    let ep = w.endpoint(name)?;
    w.clients.get((ep - w.server_count()) as usize).map(|c| &c.node)
}

/// A paused server's Raft timers fire late (held, then replayed on resume).
/// The JetStream timer bookkeeping used to clear its "armed" mark only when a
/// timer fired exactly on time, so after a pause no later wake-up was ever
/// scheduled: no heartbeats, no lost-quorum step-down, no elections. Found by
/// the `pause` profile (seeds 2, 5, 6: no stream leader after heal).
#[test]
fn regression_raft_timers_survive_pause_and_resume() {
    let text = "jetsim 1
raft_timescale 1/10
server n1 az=a1 jetstream=true
server n2 az=a2 jetstream=true
server n3 az=a3 jetstream=true
client c1 servers=n1,n2,n3
link default latency=1ms
at 1s c1: nats stream add ORDERS --subjects orders.> --replicas 3 --storage file
at 2s pause n1
at 2s pause n2
at 2s pause n3
at 3s resume n1
at 3s resume n2
at 3s resume n3
";
    for seed in 1..=3 {
        let mut w = scripted(text, seed);
        w.run_until(3500 * MS);
        let old = w.stream_leader(STREAM).expect("a stream leader after resume");
        let meta = w.meta_leader(0).expect("a meta leader after resume");
        let lname = w.name(old).to_string();
        let others: Vec<String> = (0..3).filter(|&s| s != old).map(|s| w.name(s).to_string()).collect();
        apply(&mut w, &format!("partition {lname} | {}", others.join(" ")));
        w.run_until(6500 * MS);
        // The majority elects a new stream leader; the isolated one steps down.
        let reps = w.stream_replicas(STREAM);
        let new = reps.iter().find(|(e, r)| *e != old && r.is_leader()).map(|(e, _)| *e);
        assert!(new.is_some(), "seed {seed}: the majority elected no stream leader after a pause");
        assert!(
            !reps.iter().any(|(e, r)| *e == old && r.is_leader()),
            "seed {seed}: the isolated leader never stepped down"
        );
        if meta == old {
            assert!(w.meta_leader(new.unwrap_or(0)).is_some_and(|m| m != old), "seed {seed}: no new meta leader");
        }
        apply(&mut w, "heal");
        w.run_until(8 * SEC);
        assert!(w.all_violations().is_empty(), "{:#?}", w.all_violations());
    }
}

/// After a lazy-fsync power loss of every server the stream survives (its
/// assignment was synced) but the last acknowledged messages do not, and
/// later publishes reuse their sequence numbers. The lost-ack check used to
/// look only at sequence numbers, so it saw nothing lost; it now compares the
/// stored message with the acknowledged one. Found by `power-loss-lazy`.
#[test]
fn regression_lost_ack_check_sees_reused_sequences() {
    let text = "jetsim 1
raft_timescale 1/10
server n1 az=a1 jetstream=true sync_interval=1s
server n2 az=a2 jetstream=true sync_interval=1s
server n3 az=a3 jetstream=true sync_interval=1s
client c1 servers=n1,n2,n3
client c2 servers=n2,n3,n1
link default latency=1ms
at 1s c1: nats stream add ORDERS --subjects orders.> --replicas 3 --storage file
at 5s c1: nats pub orders.a \"a-{{Count}}\" --jetstream --count 5
at 5.1s power-loss n1
at 5.1s power-loss n2
at 5.1s power-loss n3
at 5.2s restart n1
at 5.2s restart n2
at 5.2s restart n3
at 8s c2: nats pub orders.b \"b-{{Count}}\" --jetstream --count 5
";
    let mut w = scripted(text, 1);
    w.run_until(12 * SEC);
    let seqs = |c: &str| -> Vec<u64> {
        client(&w, c).map(|c| c.js.acked_msgs.iter().map(|m| m.1).collect()).unwrap_or_default()
    };
    let (a, b) = (seqs("c1"), seqs("c2"));
    assert_eq!((a.len(), b.len()), (5, 5));
    // The stream survived, and the new publishes reused some sequences.
    let reused: Vec<u64> = a.iter().copied().filter(|s| b.contains(s)).collect();
    assert!(!reused.is_empty(), "no sequence reused: c1 {a:?}, c2 {b:?}");
    let lost = w.lost_acked_publishes();
    assert!(lost.iter().all(|l| l.client == "c1"), "c2's publishes are all there: {lost:#?}");
    for s in &reused {
        let on: BTreeSet<String> = lost.iter().filter(|l| l.seq == *s).filter_map(|l| l.server.clone()).collect();
        assert_eq!(on.len(), 3, "c1 seq {s} is overwritten on every server: {lost:#?}");
    }
    let v = w.all_violations();
    let want = format!("{} acknowledged publishes missing (seq {}..", reused.len(), reused[0]);
    assert!(v.iter().any(|v| v.text.contains(&want)), "{want}: {v:#?}");
}

/// `nats stream add --tag` used the name rule (letters, digits, `_`, `-`), so
/// the `az:`/`region:` tags every server gets from `az=`/`region=` could not
/// be asked for: `--tag az:a2` was a parse error. Tags now follow the server
/// tag rule (also `.` and `:`). Found while writing the parser tests.
#[test]
fn regression_stream_placement_by_az_tag() {
    let text = "jetsim 1
raft_timescale 1/10
server n1 az=a1 jetstream=true
server n2 az=a2 jetstream=true
server n3 az=a3 jetstream=true
client c1 servers=n1,n2,n3
link default latency=1ms
at 1s c1: nats stream add ONE --subjects one --replicas 1 --storage file --tag az:a2
at 2s c1: nats pub one x --jetstream
";
    let mut w = scripted(text, 1);
    w.run_until(3 * SEC);
    let reps = w.stream_replicas("ONE");
    let peers: Vec<String> = reps
        .first()
        .map(|(_, r)| r.assignment.peers.iter().map(|&p| w.name(p).to_string()).collect())
        .unwrap_or_default();
    assert_eq!(peers, vec!["n2".to_string()]);
    assert_eq!(client(&w, "c1").map(|c| c.js.acked), Some(1));
    assert!(w.all_violations().is_empty(), "{:#?}", w.all_violations());
}
