//! Core NATS over the simulated kernel: routing, interest, queue groups,
//! request/reply, no responders, faults, and determinism.

use jetsim_core::report::Report;
use jetsim_core::scenario::parse;
use jetsim_core::sim::{Liveness, World};
use jetsim_core::time::{MS, SEC};
use jetsim_core::trace::{FrameKind, TraceKind};

fn world(text: &str, seed: u64) -> World {
    let sc = parse(text).unwrap_or_else(|e| panic!("scenario does not parse: {e}"));
    let mut w = World::new(sc, seed).expect("world builds");
    w.trace.set_capacity(1_000_000);
    w
}

fn client<'a>(w: &'a World, name: &str) -> &'a jetsim_core::client::Client {
    &w.clients.iter().find(|c| c.node.config.name == name).expect("client exists").node
}

const THREE: &str = "jetsim 1
server n1 az=a
server n2 az=b
server n3 az=c
link default latency=1ms
";

#[test]
fn publish_reaches_subscriber_on_another_server_and_only_where_interest_is() {
    let text = format!(
        "{THREE}
client p server=n1
client s server=n3
at 0s s: nats sub orders.>
at 100ms p: nats pub orders.new hello --count 5
at 200ms p: nats pub other.subject nobody-listens --count 3
"
    );
    let mut w = world(&text, 1);
    w.run_until(SEC);
    assert_eq!(client(&w, "p").stats.published, 8);
    assert_eq!(client(&w, "s").stats.received, 5);
    // Interest propagation: the 5 matching messages cross n1→n3 once each;
    // nothing crosses to n2 (no interest there) and `other.subject` crosses nowhere.
    let n1 = &w.servers[0].node;
    assert_eq!(n1.stats.route_msgs_sent, 5, "n1 forwarded only where there was interest");
    assert_eq!(w.servers[1].node.stats.route_msgs_received, 0);
    assert_eq!(w.servers[2].node.stats.route_msgs_received, 5);
    // The delivery is a MSG over the client protocol, traced.
    assert!(w
        .trace
        .recent()
        .any(|e| matches!(&e.kind, TraceKind::Received { subject, .. } if &**subject == "orders.new")));
}

#[test]
fn message_latency_follows_the_links() {
    // client→n1 (1ms) + n1→n3 (1ms) + n3→client (1ms): received 3ms after publish.
    let text = format!(
        "{THREE}
client p server=n1
client s server=n3
at 0s s: nats sub x
at 100ms p: nats pub x hi
"
    );
    let mut w = world(&text, 1);
    w.run_until(SEC);
    let published = w.trace.recent().find(|e| matches!(e.kind, TraceKind::Published { .. })).unwrap().at;
    let received = w.trace.recent().find(|e| matches!(e.kind, TraceKind::Received { .. })).unwrap().at;
    assert_eq!(published, 100 * MS);
    assert_eq!(received - published, 3 * MS);
}

#[test]
fn queue_group_delivers_each_message_to_exactly_one_member() {
    let text = format!(
        "{THREE}
client p server=n1
client q1 server=n2
client q2 server=n3
client q3 server=n3
client plain server=n2
at 0s q1: nats sub work.* --queue workers
at 0s q2: nats sub work.* --queue workers
at 0s q3: nats sub work.* --queue workers
at 0s plain: nats sub work.*
at 100ms p: nats pub work.item job --count 300
"
    );
    let mut w = world(&text, 3);
    w.run_until(2 * SEC);
    let q: Vec<u64> = ["q1", "q2", "q3"].iter().map(|n| client(&w, n).stats.received).collect();
    assert_eq!(q.iter().sum::<u64>(), 300, "each message to exactly one member: {q:?}");
    assert!(q.iter().all(|&n| n > 0), "every member gets some: {q:?}");
    assert_eq!(client(&w, "plain").stats.received, 300);
}

#[test]
fn queue_group_prefers_a_local_member() {
    let text = format!(
        "{THREE}
client p server=n1
client local server=n1
client remote server=n2
at 0s local: nats sub jobs --queue g
at 0s remote: nats sub jobs --queue g
at 100ms p: nats pub jobs x --count 50
"
    );
    let mut w = world(&text, 5);
    w.run_until(SEC);
    assert_eq!(client(&w, "local").stats.received, 50);
    assert_eq!(client(&w, "remote").stats.received, 0);
}

#[test]
fn request_reply_across_servers_and_no_responders() {
    let text = format!(
        "{THREE}
client svc server=n3
client c server=n1
at 0s svc: nats reply time.now noon
at 100ms c: nats req time.now what --count 4
at 200ms c: nats req nobody.home hello
"
    );
    let mut w = world(&text, 2);
    w.run_until(10 * SEC);
    let c = client(&w, "c");
    assert_eq!(c.stats.replies, 4);
    assert_eq!(c.stats.no_responders, 1, "503 status for a request nobody serves");
    assert_eq!(c.stats.timeouts, 0);
    // Round trip: c→n1, n1→n3, n3→svc, svc→n3, n3→n1, n1→c = 6 × 1ms.
    assert!(c.stats.rtts.iter().all(|&r| r == 6 * MS), "{:?}", c.stats.rtts);
}

#[test]
fn request_times_out_when_responder_is_partitioned_away() {
    let text = format!(
        "{THREE}
client svc server=n3
client c server=n1
at 0s svc: nats reply svc ok
at 100ms c: nats req svc a --timeout 1s
at 200ms partition n3 | n1 n2
at 300ms c: nats req svc b --timeout 1s
"
    );
    let mut w = world(&text, 2);
    w.run_until(5 * SEC);
    let c = client(&w, "c");
    assert_eq!(c.stats.replies, 1);
    // After the partition the route is down: n1 knows no interest, so 503.
    assert_eq!(c.stats.no_responders, 1);
}

#[test]
fn partition_drops_in_flight_frames_and_heal_restores_interest() {
    let text = "jetsim 1
server n1
server n2
link default latency=50ms
client p server=n1
client s server=n2
at 0s s: nats sub t
at 1s p: nats pub t before
at 1070ms partition n1 | n2
at 2s p: nats pub t during
at 3s heal
at 4s p: nats pub t after
";
    let mut w = world(text, 1);
    w.run_until(6 * SEC);
    // `before` was on the n1→n2 route when the cut came: dropped. `during`: no route.
    assert_eq!(client(&w, "s").stats.received, 1, "only `after` arrives");
    assert!(w.trace.recent().any(|e| matches!(
        e.kind,
        TraceKind::Drop { kind: FrameKind::RouteMsg, reason: jetsim_core::trace::DropReason::Partition, .. }
    )));
}

#[test]
fn one_way_partition_cuts_only_one_direction() {
    let text = "jetsim 1
server n1
server n2
link default latency=1ms
";
    let mut w = world(text, 1);
    w.apply_fault(&jetsim_core::scenario::Fault::PartitionOneWay(
        vec![jetsim_core::scenario::Selector::Node("n1".into())],
        vec![jetsim_core::scenario::Selector::Node("n2".into())],
    ));
    assert!(w.is_cut(0, 1));
    assert!(!w.is_cut(1, 0));
    assert!(!w.route_up(0, 1), "a TCP route cannot live on one direction");
}

#[test]
fn kill_closes_connections_and_clients_reconnect_after_restart() {
    let text = "jetsim 1
server n1
server n2
link default latency=1ms
client p server=n1
client s servers=n2,n1
at 0s s: nats sub t
at 100ms p: nats pub t one
at 1s kill n2
at 1500ms p: nats pub t lost
at 3s restart n2
at 8s p: nats pub t two
";
    let mut w = world(text, 1);
    w.run_until(2 * SEC);
    assert_eq!(w.servers[1].liveness, Liveness::Down);
    let r = Report::from_world(&w, None);
    assert_eq!(r.servers[1].state, "down");
    assert!(r.servers[1].routes.is_empty(), "a dead server reports no routes: {:?}", r.servers[1].routes);
    assert_eq!(r.servers[0].routes, Vec::<String>::new(), "n1 lost its only peer");
    w.run_until(10 * SEC);
    let s = client(&w, "s");
    assert!(s.stats.reconnects >= 1);
    assert!(s.is_connected());
    // `one` and `two` arrive; the subscription was re-sent after reconnecting.
    // (`lost` may arrive if the client reconnected to n1 in time: count ≥ 2.)
    assert!(s.stats.received >= 2, "received {}", s.stats.received);
    assert!(w.trace.recent().any(|e| matches!(e.kind, TraceKind::ClientDisconnected { .. })));
}

#[test]
fn pause_holds_inbound_until_resume() {
    let text = "jetsim 1
server n1
server n2
link default latency=1ms
client p server=n1
client s server=n2
at 0s s: nats sub t
at 100ms pause n2
at 200ms p: nats pub t held
at 2s resume n2
";
    let mut w = world(text, 1);
    w.run_until(SEC);
    assert_eq!(client(&w, "s").stats.received, 0, "nothing processed while paused");
    w.run_until(3 * SEC);
    assert_eq!(client(&w, "s").stats.received, 1, "delivered after resume");
    let got = w.trace.recent().find(|e| matches!(e.kind, TraceKind::Received { .. })).unwrap().at;
    assert!(got >= 2 * SEC);
}

#[test]
fn max_payload_violation_closes_the_connection() {
    let text = "jetsim 1
server n1 max_payload=16
client p server=n1
at 100ms p: nats pub t 0123456789abcdef0123456789
";
    let mut w = world(text, 1);
    w.run_until(SEC);
    let p = client(&w, "p");
    assert!(p.last_error.as_deref().is_some_and(|e| e.contains("Maximum Payload Violation")), "{:?}", p.last_error);
}

#[test]
fn same_seed_same_trace_hash_and_different_seed_differs() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../scenarios/core-pubsub.jetsim"))
        .expect("scenarios/core-pubsub.jetsim");
    let run = |seed| {
        let mut w = world(&text, seed);
        w.run_until(30 * SEC);
        let r = Report::from_world(&w, None);
        (w.trace.hash(), serde_json::to_string(&r).unwrap())
    };
    let (a1, r1) = run(7);
    let (a2, r2) = run(7);
    assert_eq!(a1, a2);
    assert_eq!(r1, r2, "the JSON report is byte-identical");
    let (b, _) = run(8);
    assert_ne!(a1, b, "another seed takes another path (queue picks, jitter)");
}

#[test]
fn latency_rules_most_specific_wins() {
    let text = "jetsim 1
server n1 az=a
server n2 az=b
server n3 az=b
client c server=n1
link n1 n2 latency=7ms
link az:a az:b latency=5ms
link default latency=1ms
link clients latency=100us
";
    let w = world(text, 1);
    let lat = |a, b| w.latency(a, b).typical();
    assert_eq!(lat(0, 1), 7 * MS);
    assert_eq!(lat(1, 0), 7 * MS);
    assert_eq!(lat(0, 2), 5 * MS);
    assert_eq!(lat(1, 2), MS);
    assert_eq!(lat(3, 0), 100_000);
}

#[test]
fn wildcard_publish_reaches_only_wildcard_subscribers() {
    // nats-server (non-pedantic) routes a publish to `foo.*` through the
    // sublist: `foo.*`, `foo.>` and `>` match it, the literal `foo.bar` does not.
    let text = format!(
        "{THREE}
client p server=n1
client a server=n2
client b server=n3
client c server=n1
client d server=n2
at 0s a: nats sub foo.*
at 0s b: nats sub foo.>
at 0s c: nats sub >
at 0s d: nats sub foo.bar
"
    );
    let mut w = world(&text, 1);
    w.run_until(100 * MS);
    // The scenario parser refuses wildcard publishes (a clear error beats a
    // surprise), so drive the client directly: the server must still cope.
    use jetsim_core::scenario::{Action, ClientCmd};
    w.apply_action(&Action::Client {
        client: "p".into(),
        cmd: ClientCmd::Pub {
            subject: "foo.*".into(),
            body: "wild".into(),
            headers: vec![],
            count: 1,
            sleep: 0,
            reply: None,
        },
    });
    w.run_until(SEC);
    let got: Vec<u64> = ["a", "b", "c", "d"].iter().map(|n| client(&w, n).stats.received).collect();
    assert_eq!(got, vec![1, 1, 1, 0]);
}
