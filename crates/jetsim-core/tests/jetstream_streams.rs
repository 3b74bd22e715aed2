//! Stream semantics through real client requests (issue #3 leftovers and the
//! stream half of issue #4): scale up/down, per-subject limits, max_age
//! expiry, who answers when there is no leader, config validation, dedup,
//! expected-* headers, rollups, purge variants, message get. Replies are
//! compared with what nats-server 2.12.8 sends (texts from its Go source).
//! Every world checks the Raft invariants after every event.

use jetsim_core::scenario::{self, Action, ClientCmd, Limits};
use jetsim_core::sim::World;
use jetsim_core::time::{Time, MS, SEC};
use jetsim_core::trace::Endpoint;
use serde_json::{json, Value};

fn servers(n: usize) -> String {
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

fn world(n: usize, seed: u64) -> World {
    let sc = scenario::parse(&servers(n)).unwrap_or_else(|e| panic!("{e}"));
    let mut w = World::new(sc, seed).unwrap();
    w.set_check_invariants(true);
    run(&mut w, 2 * SEC);
    w
}

fn run(w: &mut World, d: Time) {
    let t = w.now() + d;
    w.run_until(t);
}

fn client<'a>(w: &'a World, name: &str) -> &'a jetsim_core::client::Client {
    let ep = w.endpoint(name).unwrap();
    &w.clients[(ep - w.server_count()) as usize].node
}

fn fault(w: &mut World, line: &str) {
    let sc = w.scenario().clone();
    let a = scenario::parse_action_line(line, &sc, &Limits::default()).unwrap_or_else(|e| panic!("{line}: {e}"));
    w.apply_action(&a);
}

fn client_cmd(w: &mut World, c: &str, cmd: ClientCmd) {
    w.apply_action(&Action::Client { client: c.into(), cmd });
}

/// Everything that arrived on `c`'s inbox while `f` ran and `wait` passed:
/// (headers, payload) as text.
fn inbox_during(w: &mut World, c: &str, wait: Time, f: impl FnOnce(&mut World)) -> Vec<(Option<String>, String)> {
    let before = client(w, c).js.inbox_seen;
    f(w);
    run(w, wait);
    let js = &client(w, c).js;
    let new_n = ((js.inbox_seen - before) as usize).min(js.inbox_log.len());
    js.inbox_log
        .iter()
        .skip(js.inbox_log.len() - new_n)
        .map(|(_, h, p)| (h.as_ref().map(|h| String::from_utf8_lossy(h).into_owned()), String::from_utf8_lossy(p).into_owned()))
        .collect()
}

/// One API request; returns every reply body that reached the client.
fn req_all(w: &mut World, c: &str, subject: &str, body: &str) -> Vec<String> {
    let cmd = ClientCmd::Req {
        subject: subject.into(),
        body: body.into(),
        headers: Vec::new(),
        count: 1,
        timeout: 5 * SEC,
        sleep: 0,
    };
    inbox_during(w, c, 2 * SEC, |w| client_cmd(w, c, cmd)).into_iter().map(|(_, p)| p).collect()
}

/// One API request; exactly one reply expected, parsed.
fn req(w: &mut World, c: &str, subject: &str, body: &str) -> Value {
    let all = req_all(w, c, subject, body);
    assert_eq!(all.len(), 1, "{subject}: expected one reply, got {all:?}");
    serde_json::from_str(&all[0]).unwrap_or_else(|e| panic!("{subject}: {e}: {}", all[0]))
}

/// One JetStream publish with headers; returns the PubAck body (or None).
fn js_pub(w: &mut World, c: &str, subject: &str, body: &str, headers: &[(&str, &str)]) -> Option<String> {
    let cmd = ClientCmd::JsPub {
        subject: subject.into(),
        body: body.into(),
        headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        count: 1,
        sleep: 0,
        timeout: 2 * SEC,
    };
    let got = inbox_during(w, c, SEC, |w| client_cmd(w, c, cmd));
    assert!(got.len() <= 1, "{got:?}");
    got.into_iter().next().map(|(_, p)| p)
}

fn stream_cfg(name: &str, extra: Value) -> String {
    let mut cfg = json!({"name": name, "subjects": [format!("{}.>", name.to_lowercase())], "storage": "file", "num_replicas": 1});
    if let (Value::Object(m), Value::Object(e)) = (&mut cfg, extra) {
        for (k, v) in e {
            m.insert(k, v);
        }
    }
    cfg.to_string()
}

fn create(w: &mut World, name: &str, extra: Value) -> Value {
    let v = req(w, "c1", &format!("$JS.API.STREAM.CREATE.{name}"), &stream_cfg(name, extra));
    assert!(v.get("error").is_none(), "create failed: {v}");
    v
}

fn replica_states(w: &World, stream: &str) -> Vec<(Endpoint, u64, u64, u64)> {
    w.stream_replicas(stream)
        .into_iter()
        .filter(|(_, r)| r.group.is_some())
        .map(|(e, r)| (e, r.store.len(), r.store.last_seq(), r.store.digest()))
        .collect()
}

fn no_violations(w: &World) {
    let v = w.all_violations();
    assert!(v.is_empty(), "violations: {v:#?}");
}

fn client_of(w: &World, server: Endpoint) -> String {
    format!("c{}", w.name(server).trim_start_matches('n'))
}

// ------------------------------------------------------------ scale up/down

#[test]
fn scale_up_r1_to_r3_catches_up_and_survives_leader_loss() {
    let mut w = world(3, 11);
    create(&mut w, "ORDERS", json!({}));
    run(&mut w, SEC);
    let single = w.stream_leader("ORDERS").expect("R1 leader");
    let c = client_of(&w, single);
    for i in 0..10 {
        let ack = js_pub(&mut w, &c, "orders.new", &format!("m{i}"), &[]).expect("puback");
        assert_eq!(ack, format!("{{\"stream\":\"ORDERS\",\"seq\":{}}}", i + 1));
    }
    assert_eq!(replica_states(&w, "ORDERS").len(), 1);
    let v = req(&mut w, "c1", "$JS.API.STREAM.UPDATE.ORDERS", &stream_cfg("ORDERS", json!({"num_replicas": 3})));
    assert_eq!(v["type"], "io.nats.jetstream.api.v1.stream_update_response", "{v}");
    assert_eq!(v["config"]["num_replicas"], 3, "{v}");
    // The singleton stays leader (it is the grown group's preferred leader).
    assert_eq!(v["cluster"]["leader"], w.name(single), "{v}");
    run(&mut w, 2 * SEC);
    let st = replica_states(&w, "ORDERS");
    assert_eq!(st.len(), 3, "{st:?}");
    assert!(st.iter().all(|s| s.1 == 10 && s.3 == st[0].3), "not caught up: {st:?}");
    assert_eq!(w.stream_leader("ORDERS"), Some(single));
    // Quorum writes on the grown group.
    let ack = js_pub(&mut w, &c, "orders.new", "after", &[]).expect("puback");
    assert_eq!(ack, "{\"stream\":\"ORDERS\",\"seq\":11}");
    run(&mut w, SEC);
    assert!(replica_states(&w, "ORDERS").iter().all(|s| s.1 == 11));
    // The added members are full voters now: losing the old singleton
    // elects one of them, with every message.
    let line = format!("kill {}", w.name(single));
    fault(&mut w, &line);
    run(&mut w, 3 * SEC);
    let new_leader = w.stream_leader("ORDERS").expect("a new leader among the added members");
    assert_ne!(new_leader, single);
    let c2 = client_of(&w, new_leader);
    let ack = js_pub(&mut w, &c2, "orders.new", "x", &[]).expect("puback");
    assert_eq!(ack, "{\"stream\":\"ORDERS\",\"seq\":12}");
    no_violations(&w);
}

#[test]
fn scale_down_r3_to_r1_keeps_the_leader() {
    let mut w = world(3, 12);
    create(&mut w, "ORDERS", json!({"num_replicas": 3}));
    run(&mut w, SEC);
    let leader = w.stream_leader("ORDERS").expect("leader");
    let c = client_of(&w, leader);
    for i in 0..5 {
        js_pub(&mut w, &c, "orders.new", &format!("m{i}"), &[]).expect("puback");
    }
    let v = req(&mut w, "c1", "$JS.API.STREAM.UPDATE.ORDERS", &stream_cfg("ORDERS", json!({"num_replicas": 1})));
    assert_eq!(v["config"]["num_replicas"], 1, "{v}");
    assert_eq!(v["cluster"]["leader"], w.name(leader), "{v}");
    assert!(v["cluster"].get("replicas").is_none(), "{v}");
    run(&mut w, SEC);
    let st = replica_states(&w, "ORDERS");
    assert_eq!(st.len(), 1, "{st:?}");
    assert_eq!((st[0].0, st[0].1), (leader, 5));
    // Removed members dropped their data.
    for (e, r) in w.stream_replicas("ORDERS") {
        if e != leader {
            assert!(r.group.is_none() && r.store.is_empty());
        }
    }
    let ack = js_pub(&mut w, &c, "orders.new", "after", &[]).expect("puback");
    assert_eq!(ack, "{\"stream\":\"ORDERS\",\"seq\":6}");
    // And back up to 3.
    let v = req(&mut w, "c1", "$JS.API.STREAM.UPDATE.ORDERS", &stream_cfg("ORDERS", json!({"num_replicas": 3})));
    assert_eq!(v["config"]["num_replicas"], 3, "{v}");
    run(&mut w, 2 * SEC);
    let st = replica_states(&w, "ORDERS");
    assert_eq!(st.len(), 3);
    assert!(st.iter().all(|s| s.1 == 6 && s.3 == st[0].3), "{st:?}");
    no_violations(&w);
}

#[test]
fn scale_up_without_enough_peers_is_refused() {
    let mut w = world(3, 13);
    create(&mut w, "ORDERS", json!({}));
    run(&mut w, SEC);
    let v = req(&mut w, "c1", "$JS.API.STREAM.UPDATE.ORDERS", &stream_cfg("ORDERS", json!({"num_replicas": 5})));
    assert_eq!(v["error"]["err_code"], 10005, "{v}");
    assert_eq!(v["error"]["code"], 400, "{v}");
    assert!(v["error"]["description"].as_str().unwrap().starts_with("no suitable peers for placement"), "{v}");
}

// ------------------------------------------------------ who answers a 503

#[test]
fn meta_leaderless_503_reaches_the_client_once() {
    let mut w = world(5, 14);
    // Three of five down: the two left have no meta quorum; both answer
    // 503 and the requester's server forwards only the first.
    for n in ["n3", "n4", "n5"] {
        fault(&mut w, &format!("kill {n}"));
    }
    run(&mut w, 3 * SEC);
    let all = req_all(&mut w, "c1", "$JS.API.STREAM.CREATE.X", &stream_cfg("X", json!({})));
    assert_eq!(
        all,
        vec![
            "{\"type\":\"io.nats.jetstream.api.v1.stream_create_response\",\"error\":{\"code\":503,\"err_code\":10008,\"description\":\"JetStream system temporarily unavailable\"}}"
                .to_string()
        ]
    );
    let all = req_all(&mut w, "c2", "$JS.API.STREAM.INFO.X", "");
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(all[0].contains("\"err_code\":10008"), "{all:?}");
    let _ = MS;
}
