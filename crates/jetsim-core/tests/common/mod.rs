//! What the JetStream integration tests share (`mod common;` in
//! `jetstream_streams.rs`, `jetstream_consumers.rs`, `consumer_raft.rs`): an
//! n-server JetStream cluster with one client per server, and the few ways
//! the tests drive it (client commands, faults, raw publishes, API requests
//! answered on a recorded `_INBOX.>` subscription). A test file may define
//! its own variant of any of these: a local item shadows the glob import.
#![allow(dead_code)]

use jetsim_core::client::SubMsg;
use jetsim_core::scenario::{self, Action, ClientCmd, Limits};
use jetsim_core::sim::World;
use jetsim_core::time::{Time, MS, SEC};
use serde_json::Value;

/// Scenario text: servers n1..nN (JetStream, one AZ each), clients c1..cN
/// (ci on ni), 1 ms links, Raft timings scaled to 1/10.
pub fn servers(n: usize) -> String {
    let mut s = String::from("jetsim 1\nraft_timescale 1/10\n");
    for i in 1..=n {
        s.push_str(&format!("server n{i} az=a{i} jetstream=true\n"));
    }
    for i in 1..=n {
        s.push_str(&format!("client c{i} server=n{i}\n"));
    }
    s.push_str("link default latency=1ms\n");
    s
}

/// The cluster of [`servers`] after 2 s (a meta leader elected), checking
/// the Raft invariants after every event.
pub fn cluster(n: usize, seed: u64) -> World {
    let sc = scenario::parse(&servers(n)).unwrap_or_else(|e| panic!("{e}"));
    let mut w = World::new(sc, seed).unwrap();
    w.set_check_invariants(true);
    run(&mut w, 2 * SEC);
    w
}

/// [`cluster`] with every client recording what its subscriptions receive
/// and subscribed to `_INBOX.>` (where [`api`] and [`pull`] answers arrive).
pub fn world(n: usize, seed: u64) -> World {
    let sc = scenario::parse(&servers(n)).unwrap_or_else(|e| panic!("{e}"));
    let mut w = World::new(sc, seed).unwrap();
    w.set_check_invariants(true);
    for c in w.clients.iter_mut() {
        c.node.js.record_subs = true;
    }
    run(&mut w, 2 * SEC);
    for i in 1..=n {
        cmd(&mut w, &format!("c{i}"), "nats sub _INBOX.>");
    }
    run(&mut w, 100 * MS);
    w
}

/// Let `d` of virtual time pass.
pub fn run(w: &mut World, d: Time) {
    let t = w.now() + d;
    w.run_until(t);
}

/// A console-style client command (`nats sub …`) for client `c`.
pub fn cmd(w: &mut World, c: &str, line: &str) {
    let cmd = scenario::parse_client_command(line).unwrap_or_else(|e| panic!("{line}: {e}"));
    w.apply_action(&Action::Client { client: c.into(), cmd });
}

/// A scenario action line (`kill n2`, `partition n1 | n2 n3`, …).
pub fn fault(w: &mut World, line: &str) {
    let sc = w.scenario().clone();
    let a = scenario::parse_action_line(line, &sc, &Limits::default()).unwrap_or_else(|e| panic!("{line}: {e}"));
    w.apply_action(&a);
}

/// One core publish from `c`, optionally with a reply subject.
pub fn publish(w: &mut World, c: &str, subject: &str, body: &str, reply: Option<&str>) {
    let cmd = ClientCmd::Pub {
        subject: subject.into(),
        body: body.into(),
        headers: Vec::new(),
        count: 1,
        sleep: 0,
        reply: reply.map(String::from),
    };
    w.apply_action(&Action::Client { client: c.into(), cmd });
}

/// What client `c`'s subscriptions received (needs `record_subs`, see [`world`]).
pub fn log(w: &World, c: &str) -> Vec<SubMsg> {
    let ep = w.endpoint(c).unwrap();
    w.clients[(ep - w.server_count()) as usize].node.js.sub_log.iter().cloned().collect()
}

static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// A fresh reply subject under `_INBOX.<kind>.`.
pub fn inbox(kind: &str) -> String {
    format!("_INBOX.{kind}.{}", NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

/// Messages `c` received for `reply` (status messages and JSON answers
/// arrive on the inbox itself; pulled messages under their stream subject).
pub fn for_reply(w: &World, c: &str, reply: &str) -> Vec<SubMsg> {
    log(w, c).into_iter().filter(|m| &*m.subject == reply).collect()
}

/// An API request from `c`; returns the one JSON answer.
pub fn api(w: &mut World, c: &str, subject: &str, body: &str) -> Value {
    let r = inbox("api");
    publish(w, c, subject, body, Some(&r));
    run(w, 300 * MS);
    let got = for_reply(w, c, &r);
    assert_eq!(got.len(), 1, "{subject}: answers {got:?}");
    serde_json::from_slice(&got[0].payload).unwrap_or_else(|e| panic!("{subject}: {e}"))
}

/// Create stream `name` on `subjects` with `replicas` (and `extra` JSON
/// members, e.g. `,"retention":"workqueue"`) from c1; it must succeed.
pub fn add_stream(w: &mut World, name: &str, subjects: &str, replicas: u32, extra: &str) {
    let v = api(
        w,
        "c1",
        &format!("$JS.API.STREAM.CREATE.{name}"),
        &format!(r#"{{"name":"{name}","subjects":["{subjects}"],"num_replicas":{replicas}{extra}}}"#),
    );
    assert!(v.get("error").is_none(), "{v}");
}

/// A JetStream publish from `c` (a request to the stream's subject); it must
/// be acknowledged.
pub fn js_pub(w: &mut World, c: &str, subject: &str, body: &str) {
    let v = api(w, c, subject, body);
    assert!(v.get("seq").is_some(), "{v}");
}

/// The server leading consumer `c` of `stream` (its own Raft group's leader).
pub fn consumer_leader(w: &World, stream: &str, c: &str) -> Option<u32> {
    w.stream_replicas(stream)
        .into_iter()
        .find(|(_, r)| r.consumers.get(c).is_some_and(|c| c.is_leader()))
        .map(|(e, _)| e)
}

/// No Raft or stream invariant was broken so far.
pub fn no_violations(w: &World) {
    let v = w.all_violations();
    assert!(v.is_empty(), "violations: {v:#?}");
}
