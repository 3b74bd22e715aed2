//! Stream semantics through real client requests (issue #3 leftovers and the
//! stream half of issue #4): scale up/down, per-subject limits, max_age
//! expiry, who answers when there is no leader, config validation, dedup,
//! expected-* headers, rollups, purge variants, message get. Replies are
//! compared with what nats-server 2.12.8 sends (texts from its Go source).
//! Every world checks the Raft invariants after every event.

use jetsim_core::scenario::{self, Action, ClientCmd};
use jetsim_core::sim::World;
use jetsim_core::time::{Time, MS, SEC};
use jetsim_core::trace::Endpoint;
use serde_json::{json, Value};

mod common;
use common::*;

fn client<'a>(w: &'a World, name: &str) -> &'a jetsim_core::client::Client {
    let ep = w.endpoint(name).unwrap();
    &w.clients[(ep - w.server_count()) as usize].node
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
        .map(|(_, h, p)| {
            (h.as_ref().map(|h| String::from_utf8_lossy(h).into_owned()), String::from_utf8_lossy(p).into_owned())
        })
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
    let got = inbox_during(w, c, 200 * MS, |w| client_cmd(w, c, cmd));
    assert!(got.len() <= 1, "{got:?}");
    got.into_iter().next().map(|(_, p)| p)
}

fn stream_cfg(name: &str, extra: Value) -> String {
    let mut cfg =
        json!({"name": name, "subjects": [format!("{}.>", name.to_lowercase())], "storage": "file", "num_replicas": 1});
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

fn client_of(w: &World, server: Endpoint) -> String {
    format!("c{}", w.name(server).trim_start_matches('n'))
}

// ------------------------------------------------------------ scale up/down

#[test]
fn scale_up_r1_to_r3_catches_up_and_survives_leader_loss() {
    let mut w = cluster(3, 11);
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
    let mut w = cluster(3, 12);
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
    let mut w = cluster(3, 13);
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
    let mut w = cluster(5, 14);
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

// ------------------------------------------------------------ helpers (2)

fn info(w: &mut World, stream: &str) -> Value {
    req(w, "c1", &format!("$JS.API.STREAM.INFO.{stream}"), "")
}

fn ack_err(code: u16, err_code: u32, description: &str, stream: &str) -> String {
    json!({"error": {"code": code, "err_code": err_code, "description": description}, "stream": stream, "seq": 0})
        .to_string()
}

fn ack(stream: &str, seq: u64) -> String {
    format!("{{\"stream\":\"{stream}\",\"seq\":{seq}}}")
}

fn pub1(w: &mut World, subject: &str, body: &str, headers: &[(&str, &str)]) -> String {
    js_pub(w, "c1", subject, body, headers).unwrap_or_else(|| panic!("no PubAck for {subject}"))
}

fn err_of(v: &Value) -> (u64, u64, String) {
    let e = &v["error"];
    (
        e["code"].as_u64().unwrap_or(0),
        e["err_code"].as_u64().unwrap_or(0),
        e["description"].as_str().unwrap_or("").to_string(),
    )
}

fn create_err(w: &mut World, name: &str, extra: Value) -> (u64, u64, String) {
    let v = req(w, "c1", &format!("$JS.API.STREAM.CREATE.{name}"), &stream_cfg(name, extra));
    err_of(&v)
}

// ------------------------------------------------- config defaults and rules

#[test]
fn config_defaults_bytes_as_nats() {
    let mut w = cluster(3, 21);
    let v = req(&mut w, "c1", "$JS.API.STREAM.CREATE.ORDERS", r#"{"name":"ORDERS","subjects":["orders.>"]}"#);
    // nats 2.12.8 StreamConfig: Go field order, omitempty, `>` escaped, metadata stamped.
    let cfg = serde_json::to_string(&v["config"]).unwrap();
    assert_eq!(
        cfg,
        concat!(
            r#"{"name":"ORDERS","subjects":["orders.>"],"retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":-1,"#,
            r#""max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"old","storage":"file","num_replicas":1,"#,
            r#""duplicate_window":120000000000,"compression":"none","allow_direct":false,"mirror_direct":false,"sealed":false,"#,
            r#""deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false,"consumer_limits":{},"allow_msg_ttl":false,"#,
            r#""metadata":{"_nats.level":"3","_nats.req.level":"0","_nats.ver":"2.12.8"}}"#
        )
    );
    // The raw bytes escape `>` as Go does.
    let raw = req_all(&mut w, "c1", "$JS.API.STREAM.INFO.ORDERS", "");
    assert!(raw[0].starts_with(r#"{"type":"io.nats.jetstream.api.v1.stream_info_response","config":{"name":"ORDERS","subjects":["orders.\u003e"]"#), "{}", raw[0]);
    assert!(raw[0].ends_with(r#","total":0,"offset":0,"limit":0}"#), "{}", raw[0]);
    // Idempotent create; a different config is 10058.
    let again = req(&mut w, "c1", "$JS.API.STREAM.CREATE.ORDERS", r#"{"name":"ORDERS","subjects":["orders.>"]}"#);
    assert!(again.get("error").is_none() && again.get("did_create").is_none(), "{again}");
    assert_eq!(
        create_err(&mut w, "ORDERS", json!({"max_msgs": 5})),
        (400, 10058, "stream name already in use with a different configuration".into())
    );
    // max_age sets the default window.
    let v = create(&mut w, "AGED", json!({"max_age": 1_000_000_000i64}));
    assert_eq!(v["config"]["duplicate_window"], 1_000_000_000i64);
}

#[test]
fn config_validation_errors_as_nats() {
    let mut w = cluster(3, 22);
    let inv = |d: &str| (500u64, 10052u64, d.to_string());
    let cases: Vec<(Value, (u64, u64, String))> = vec![
        (json!({"duplicate_window": -1}), inv("duplicates window can not be negative")),
        (json!({"max_age": 1_000_000_000i64, "duplicate_window": 2_000_000_000i64}), inv("duplicates window can not be larger then max age")),
        (json!({"duplicate_window": 1000}), inv("duplicates window needs to be >= 100ms")),
        (json!({"max_age": -5}), inv("max age can not be negative")),
        (json!({"max_age": 10}), inv("max age needs to be >= 100ms")),
        (json!({"deny_purge": true, "allow_rollup_hdrs": true}), inv("roll-ups require the purge permission")),
        (json!({"discard_new_per_subject": true}), inv("discard new per subject requires discard new policy to be set")),
        (json!({"discard": "new", "discard_new_per_subject": true}), inv("discard new per subject requires max msgs per subject > 0")),
        (json!({"num_replicas": 6}), inv("maximum replicas is 5")),
        (json!({"num_replicas": -1}), (400, 10133, "replicas count cannot be negative".into())),
        (json!({"subjects": ["a.>", "a.b"]}), inv("subject \"a.>\" overlaps with \"a.b\"")),
        // nats checks later subjects for overlap first (oracle-confirmed).
        (json!({"subjects": ["a", "a"]}), inv("subject \"a\" overlaps with \"a\"")),
        (json!({"retention": "forever"}), (400, 10025, "invalid JSON: can not unmarshal \"\\\"forever\\\"\"".into())),
        (json!({"mirror": {"name": "O"}}), (400, 10034, "stream mirrors can not contain subjects".into())),
        (json!({"subjects": ["a..b"]}), inv("invalid subject")),
        (json!({"subjects": [">"]}), inv("capturing all subjects requires no-ack to be true")),
        (json!({"subjects": ["$JS.API.>"]}), inv("subjects that overlap with jetstream api require no-ack to be true")),
        (json!({"subjects": ["$SYS.x"]}), inv("subjects that overlap with system api require no-ack to be true")),
        (json!({"sealed": true}), inv("stream configuration for create can not be sealed")),
        (json!({"description": "x".repeat(4097)}), inv("stream description is too long, maximum allowed is 4096")),
        (json!({"bogus": 1}), (400, 10025, "invalid JSON: json: unknown field \"bogus\"".into())),
        (json!({"max_msgs": "x"}), (400, 10025, "invalid JSON: json: cannot unmarshal string into Go struct field StreamConfigRequest.StreamConfig.max_msgs of type int64".into())),
        (json!({"name": "OTHER"}), (400, 10056, "stream name in subject does not match request".into())),
    ];
    for (extra, want) in cases {
        let got = create_err(&mut w, "S", extra.clone());
        assert_eq!(got, want, "{extra}");
    }
    // No stream came out of any of them.
    let v = req(&mut w, "c1", "$JS.API.STREAM.NAMES", "");
    assert_eq!(v["total"], 0, "{v}");
}

#[test]
fn update_rules_as_nats() {
    let mut w = cluster(3, 23);
    create(&mut w, "S", json!({"deny_delete": true}));
    let upd = |w: &mut World, extra: Value| err_of(&req(w, "c1", "$JS.API.STREAM.UPDATE.S", &stream_cfg("S", extra)));
    let inv = |d: &str| (500u64, 10052u64, d.to_string());
    assert_eq!(
        upd(&mut w, json!({"deny_delete": true, "storage": "memory"})),
        inv("stream configuration update can not change storage type")
    );
    assert_eq!(upd(&mut w, json!({})), inv("stream configuration update can not cancel deny message deletes"));
    assert_eq!(
        upd(&mut w, json!({"deny_delete": true, "retention": "workqueue"})),
        inv("stream configuration update can not change retention policy to/from workqueue")
    );
    // limits → interest is allowed, and so are limits and subjects.
    let v = req(
        &mut w,
        "c1",
        "$JS.API.STREAM.UPDATE.S",
        &stream_cfg(
            "S",
            json!({"deny_delete": true, "retention": "interest", "max_msgs": 7, "subjects": ["s.>", "t"]}),
        ),
    );
    assert_eq!(
        (v["config"]["retention"].clone(), v["config"]["max_msgs"].clone()),
        (json!("interest"), json!(7)),
        "{v}"
    );
    assert_eq!(v["type"], "io.nats.jetstream.api.v1.stream_update_response");
    // Missing stream.
    let v = req(&mut w, "c1", "$JS.API.STREAM.UPDATE.NOPE", &stream_cfg("NOPE", json!({})));
    assert_eq!(err_of(&v), (404, 10059, "stream not found".into()));
    // Sealing: forced settings, then nothing new, no unseal.
    let v = req(
        &mut w,
        "c1",
        "$JS.API.STREAM.UPDATE.S",
        &stream_cfg("S", json!({"deny_delete": true, "sealed": true, "retention": "interest"})),
    );
    let c = &v["config"];
    assert_eq!(
        (c["sealed"].clone(), c["discard"].clone(), c["deny_purge"].clone()),
        (json!(true), json!("new"), json!(true)),
        "{v}"
    );
    assert_eq!(
        upd(&mut w, json!({"deny_delete": true, "deny_purge": true, "retention": "interest"})),
        inv("stream configuration update can not unseal a sealed stream")
    );
    assert_eq!(pub1(&mut w, "s.x", "m", &[]), ack_err(400, 10109, "invalid operation on sealed stream", "S"));
    let v = req(&mut w, "c1", "$JS.API.STREAM.PURGE.S", "");
    assert_eq!(err_of(&v), (400, 10109, "invalid operation on sealed stream".into()));
}

// ------------------------------------------------------- limits and discard

#[test]
fn max_msgs_per_subject_keeps_newest_on_every_replica() {
    let mut w = cluster(3, 24);
    create(&mut w, "S", json!({"num_replicas": 3, "max_msgs_per_subject": 2}));
    for (i, s) in ["s.a", "s.a", "s.b", "s.a", "s.a"].iter().enumerate() {
        assert_eq!(pub1(&mut w, s, &format!("{i}"), &[]), ack("S", i as u64 + 1));
    }
    run(&mut w, SEC);
    let v = info(&mut w, "S");
    assert_eq!(
        (v["state"]["messages"].clone(), v["state"]["first_seq"].clone(), v["state"]["num_subjects"].clone()),
        (json!(3), json!(3), json!(2)),
        "{v}"
    );
    assert!(v["state"].get("num_deleted").is_none(), "no interior gap: {v}");
    let st = replica_states(&w, "S");
    assert!(st.len() == 3 && st.iter().all(|s| s.1 == 3 && s.3 == st[0].3), "{st:?}");
    let g = req(&mut w, "c1", "$JS.API.STREAM.MSG.GET.S", r#"{"last_by_subj":"s.a"}"#);
    assert_eq!((g["message"]["seq"].clone(), g["message"]["data"].clone()), (json!(5), json!("NA==")), "{g}");
    let g = req(&mut w, "c1", "$JS.API.STREAM.MSG.GET.S", r#"{"next_by_subj":"s.a","seq":1}"#);
    assert_eq!(g["message"]["seq"], 4, "{g}");
    no_violations(&w);
}

#[test]
fn discard_new_and_per_subject_as_nats() {
    let mut w = cluster(3, 25);
    // discard new per subject: the subject is full.
    create(
        &mut w,
        "P",
        json!({"subjects": ["p.>"], "discard": "new", "max_msgs_per_subject": 1, "discard_new_per_subject": true, "num_replicas": 3}),
    );
    assert_eq!(pub1(&mut w, "p.a", "1", &[]), ack("P", 1));
    assert_eq!(pub1(&mut w, "p.a", "2", &[]), ack_err(503, 10077, "maximum messages per subject exceeded", "P"));
    assert_eq!(pub1(&mut w, "p.b", "3", &[]), ack("P", 2));
    // R1, discard new without per subject: a subject at its limit replaces
    // its oldest even with the stream full (nats store semantics).
    create(&mut w, "Q", json!({"subjects": ["q.>"], "discard": "new", "max_msgs": 2, "max_msgs_per_subject": 1}));
    assert_eq!(pub1(&mut w, "q.a", "1", &[]), ack("Q", 1));
    assert_eq!(pub1(&mut w, "q.b", "2", &[]), ack("Q", 2));
    assert_eq!(pub1(&mut w, "q.a", "3", &[]), ack("Q", 3));
    assert_eq!(pub1(&mut w, "q.c", "4", &[]), ack_err(503, 10077, "maximum messages exceeded", "Q"));
    // R3: the leader's pre-proposal check counts totals first (nats
    // checkMsgHeadersPreClusteredProposal), so the same publish is refused.
    create(
        &mut w,
        "R",
        json!({"subjects": ["r.>"], "discard": "new", "max_msgs": 2, "max_msgs_per_subject": 1, "num_replicas": 3}),
    );
    assert_eq!(pub1(&mut w, "r.a", "1", &[]), ack("R", 1));
    assert_eq!(pub1(&mut w, "r.b", "2", &[]), ack("R", 2));
    assert_eq!(pub1(&mut w, "r.a", "3", &[]), ack_err(503, 10077, "maximum messages exceeded", "R"));
    // max_bytes with discard new (file accounting: 22 + subject + payload + 8).
    create(&mut w, "B", json!({"subjects": ["b"], "discard": "new", "max_bytes": 70}));
    assert_eq!(pub1(&mut w, "b", "0123456789", &[]), ack("B", 1));
    assert_eq!(pub1(&mut w, "b", "0123456789", &[]), ack_err(503, 10077, "maximum bytes exceeded", "B"));
    // max_msg_size.
    create(&mut w, "M", json!({"subjects": ["m"], "max_msg_size": 4, "num_replicas": 3}));
    assert_eq!(pub1(&mut w, "m", "12345", &[]), ack_err(400, 10054, "message size exceeds maximum allowed", "M"));
    assert_eq!(pub1(&mut w, "m", "1234", &[]), ack("M", 1));
    no_violations(&w);
}

#[test]
fn max_age_expires_without_new_publishes() {
    let mut w = cluster(3, 26);
    create(&mut w, "S", json!({"num_replicas": 3, "max_age": 1_000_000_000i64}));
    for i in 0..3 {
        pub1(&mut w, "s.x", &format!("{i}"), &[]);
    }
    run(&mut w, 100 * MS);
    assert!(replica_states(&w, "S").iter().all(|s| s.1 == 3));
    // Nothing is published any more; the replicas' age timers remove all.
    run(&mut w, SEC);
    let st = replica_states(&w, "S");
    assert!(st.len() == 3 && st.iter().all(|s| s.1 == 0 && s.2 == 3), "{st:?}");
    let v = info(&mut w, "S");
    assert_eq!(
        (v["state"]["messages"].clone(), v["state"]["first_seq"].clone(), v["state"]["last_seq"].clone()),
        (json!(0), json!(4), json!(3)),
        "{v}"
    );
    assert_eq!(pub1(&mut w, "s.x", "late", &[]), ack("S", 4));
    no_violations(&w);
}

// --------------------------------------------------- dedup and expectations

#[test]
fn duplicate_window_as_nats() {
    for replicas in [1, 3] {
        let mut w = cluster(3, 27);
        create(&mut w, "S", json!({"num_replicas": replicas, "duplicate_window": 2_000_000_000i64}));
        let id = [("Nats-Msg-Id", "a1")];
        assert_eq!(pub1(&mut w, "s.x", "m", &id), ack("S", 1));
        assert_eq!(pub1(&mut w, "s.x", "m", &[]), ack("S", 2));
        // Byte for byte, with nats' space after the colon.
        assert_eq!(pub1(&mut w, "s.x", "m", &id), "{\"stream\":\"S\",\"seq\":1,\"duplicate\": true}");
        run(&mut w, 2 * SEC);
        assert_eq!(pub1(&mut w, "s.x", "m", &id), ack("S", 3), "R{replicas}: accepted again after the window");
        let v = info(&mut w, "S");
        assert_eq!(v["state"]["messages"], 3);
        no_violations(&w);
    }
}

#[test]
fn expected_headers_as_nats() {
    for replicas in [1, 3] {
        let mut w = cluster(3, 28);
        create(&mut w, "S", json!({"num_replicas": replicas}));
        assert_eq!(pub1(&mut w, "s.a", "1", &[("Nats-Msg-Id", "m1")]), ack("S", 1));
        assert_eq!(pub1(&mut w, "s.b", "2", &[("Nats-Msg-Id", "m2")]), ack("S", 2));
        let cases: Vec<(&str, &str, String)> = vec![
            ("Nats-Expected-Stream", "T", ack_err(400, 10060, "expected stream does not match", "S")),
            ("Nats-Expected-Last-Sequence", "5", ack_err(400, 10071, "wrong last sequence: 2", "S")),
            ("Nats-Expected-Last-Sequence", "x", ack_err(400, 10071, "wrong last sequence: 2", "S")),
            ("Nats-Expected-Last-Subject-Sequence", "2", ack_err(400, 10071, "wrong last sequence: 1", "S")),
            ("Nats-Expected-Last-Msg-Id", "m1", ack_err(400, 10070, "wrong last msg ID: m2", "S")),
        ];
        for (k, v, want) in cases {
            assert_eq!(pub1(&mut w, "s.a", "x", &[(k, v)]), want, "R{replicas} {k}: {v}");
        }
        // The right expectations pass (0 = no message on the subject yet).
        assert_eq!(pub1(&mut w, "s.a", "3", &[("Nats-Expected-Last-Sequence", "2")]), ack("S", 3));
        assert_eq!(pub1(&mut w, "s.c", "4", &[("Nats-Expected-Last-Subject-Sequence", "0")]), ack("S", 4));
        assert_eq!(pub1(&mut w, "s.a", "5", &[("Nats-Expected-Last-Subject-Sequence", "3")]), ack("S", 5));
        assert_eq!(pub1(&mut w, "s.a", "6", &[("Nats-Expected-Stream", "S"), ("Nats-Msg-Id", "m6")]), ack("S", 6));
        assert_eq!(pub1(&mut w, "s.a", "7", &[("Nats-Expected-Last-Msg-Id", "m6")]), ack("S", 7));
        // Failed expectations used no sequence.
        let v = info(&mut w, "S");
        assert_eq!(
            (v["state"]["messages"].clone(), v["state"]["last_seq"].clone()),
            (json!(7), json!(7)),
            "R{replicas}: {v}"
        );
        no_violations(&w);
    }
}

#[test]
fn no_ack_stream_sends_no_puback() {
    let mut w = cluster(3, 29);
    create(&mut w, "S", json!({"no_ack": true, "num_replicas": 3}));
    assert_eq!(js_pub(&mut w, "c1", "s.x", "m", &[]), None);
    run(&mut w, SEC);
    assert_eq!(info(&mut w, "S")["state"]["messages"], 1);
    assert!(client(&w, "c1").js.timeouts >= 1);
}

// ----------------------------------------------------------- rollup, purge

#[test]
fn rollups_as_nats() {
    let mut w = cluster(3, 30);
    create(&mut w, "N", json!({"subjects": ["n.>"]}));
    assert_eq!(pub1(&mut w, "n.a", "x", &[("Nats-Rollup", "sub")]), ack_err(500, 10111, "rollup not permitted", "N"));
    for replicas in [1, 3] {
        let name = format!("R{replicas}");
        let sub = format!("r{replicas}");
        create(
            &mut w,
            &name,
            json!({"subjects": [format!("{sub}.>")], "allow_rollup_hdrs": true, "num_replicas": replicas}),
        );
        for i in 0..3 {
            pub1(&mut w, &format!("{sub}.a"), &format!("a{i}"), &[]);
            pub1(&mut w, &format!("{sub}.b"), &format!("b{i}"), &[]);
        }
        assert_eq!(
            pub1(&mut w, &format!("{sub}.a"), "x", &[("Nats-Rollup", "bogus")]),
            ack_err(500, 10111, "rollup value invalid: \"bogus\"", &name)
        );
        assert_eq!(pub1(&mut w, &format!("{sub}.a"), "ra", &[("Nats-Rollup", "sub")]), ack(&name, 7));
        let v = info(&mut w, &name);
        assert_eq!(v["state"]["messages"], 4, "sub rollup keeps 3 b + the rollup: {v}");
        assert_eq!(pub1(&mut w, &format!("{sub}.b"), "all", &[("Nats-Rollup", "all")]), ack(&name, 8));
        run(&mut w, SEC);
        let v = info(&mut w, &name);
        assert_eq!((v["state"]["messages"].clone(), v["state"]["first_seq"].clone()), (json!(1), json!(8)), "{v}");
        let st = replica_states(&w, &name);
        assert!(st.iter().all(|s| s.1 == 1 && s.3 == st[0].3), "{st:?}");
    }
    no_violations(&w);
}

#[test]
fn purge_variants_as_nats() {
    let mut w = cluster(3, 31);
    create(&mut w, "S", json!({"num_replicas": 3}));
    let fill = |w: &mut World| {
        for i in 0..3 {
            pub1(w, "s.a", &format!("a{i}"), &[]);
            pub1(w, "s.b", &format!("b{i}"), &[]);
        }
    };
    fill(&mut w);
    let p = |w: &mut World, body: &str| req(w, "c1", "$JS.API.STREAM.PURGE.S", body);
    let v = p(&mut w, r#"{"filter":"s.a","keep":1}"#);
    assert_eq!(
        serde_json::to_string(&v).unwrap(),
        r#"{"type":"io.nats.jetstream.api.v1.stream_purge_response","success":true,"purged":2}"#
    );
    let v = p(&mut w, r#"{"seq":4}"#);
    assert_eq!(v["purged"], 1, "below 4 only s.b 2 is left: {v}");
    let v = p(&mut w, r#"{"seq":4,"keep":1}"#);
    assert_eq!(
        serde_json::to_string(&v).unwrap(),
        r#"{"type":"io.nats.jetstream.api.v1.stream_purge_response","error":{"code":400,"err_code":10003,"description":"bad request"},"purged":0}"#
    );
    let v = p(&mut w, r#"{"keep":1}"#);
    assert_eq!(v["purged"], 2, "{v}");
    let v = info(&mut w, "S");
    assert_eq!((v["state"]["messages"].clone(), v["state"]["first_seq"].clone()), (json!(1), json!(6)), "{v}");
    let v = p(&mut w, "");
    assert_eq!(v["purged"], 1);
    let v = info(&mut w, "S");
    assert_eq!(
        (v["state"]["messages"].clone(), v["state"]["first_seq"].clone(), v["state"]["last_seq"].clone()),
        (json!(0), json!(7), json!(6))
    );
    // deny_purge / deny_delete.
    create(&mut w, "D", json!({"subjects": ["d"], "deny_purge": true, "deny_delete": true}));
    pub1(&mut w, "d", "x", &[]);
    let v = req(&mut w, "c1", "$JS.API.STREAM.PURGE.D", "");
    assert_eq!(err_of(&v), (500, 10110, "stream purge not permitted".into()));
    let v = req(&mut w, "c1", "$JS.API.STREAM.MSG.DELETE.D", r#"{"seq":1}"#);
    assert_eq!(err_of(&v), (500, 10057, "message delete not permitted".into()));
    no_violations(&w);
}

#[test]
fn msg_get_variants_as_nats() {
    let mut w = cluster(3, 32);
    create(&mut w, "S", json!({"num_replicas": 3}));
    pub1(&mut w, "s.a", "one", &[("Nats-Msg-Id", "i1")]);
    pub1(&mut w, "s.b", "two", &[]);
    pub1(&mut w, "s.a", "three", &[]);
    let g = |w: &mut World, body: &str| req(w, "c1", "$JS.API.STREAM.MSG.GET.S", body);
    let v = g(&mut w, r#"{"seq":1}"#);
    let m = &v["message"];
    // StoredMsg field order: subject, seq, hdrs, data, time.
    let keys: Vec<&str> = m.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    assert_eq!(keys, ["subject", "seq", "hdrs", "data", "time"]);
    assert_eq!(m["hdrs"], "TkFUUy8xLjANCk5hdHMtTXNnLUlkOiBpMQ0KDQo=", "{v}");
    assert_eq!(m["data"], "b25l");
    assert_eq!(g(&mut w, r#"{"last_by_subj":"s.a"}"#)["message"]["seq"], 3);
    assert_eq!(g(&mut w, r#"{"last_by_subj":"s.*"}"#)["message"]["seq"], 3);
    assert_eq!(g(&mut w, r#"{"next_by_subj":"s.b"}"#)["message"]["seq"], 2);
    assert_eq!(g(&mut w, r#"{"next_by_subj":"s.a","seq":2}"#)["message"]["seq"], 3);
    assert_eq!(err_of(&g(&mut w, r#"{"next_by_subj":"s.b","seq":3}"#)), (404, 10037, "no message found".into()));
    assert_eq!(err_of(&g(&mut w, r#"{"seq":9}"#)), (404, 10037, "no message found".into()));
    assert_eq!(err_of(&g(&mut w, r#"{"seq":1,"last_by_subj":"s.a"}"#)), (400, 10003, "bad request".into()));
    assert_eq!(err_of(&g(&mut w, "")), (400, 10003, "bad request".into()));
    assert_eq!(err_of(&g(&mut w, "{}")), (400, 10003, "bad request".into()));
}

// ------------------------------------------------------------- retention

#[test]
fn interest_stream_without_consumers_stores_nothing_but_acks() {
    let mut w = cluster(3, 33);
    create(&mut w, "S", json!({"retention": "interest", "num_replicas": 3}));
    assert_eq!(pub1(&mut w, "s.x", "1", &[]), ack("S", 1));
    assert_eq!(pub1(&mut w, "s.x", "2", &[]), ack("S", 2));
    run(&mut w, SEC);
    let v = info(&mut w, "S");
    assert_eq!(
        (v["state"]["messages"].clone(), v["state"]["first_seq"].clone(), v["state"]["last_seq"].clone()),
        (json!(0), json!(3), json!(2)),
        "{v}"
    );
    let st = replica_states(&w, "S");
    assert!(st.iter().all(|s| s.1 == 0 && s.2 == 2), "{st:?}");
    no_violations(&w);
}

// ------------------------------------------------- oracle-confirmed details

/// Every reply on the inbox, with headers, for a request `f` sends.
fn raw_replies(w: &mut World, c: &str, subject: &str, body: &str) -> Vec<(Option<String>, String)> {
    let cmd = ClientCmd::Req {
        subject: subject.into(),
        body: body.into(),
        headers: Vec::new(),
        count: 1,
        timeout: SEC,
        sleep: 0,
    };
    inbox_during(w, c, 1500 * MS, |w| client_cmd(w, c, cmd))
}

#[test]
fn single_server_shapes_as_nats() {
    let mut w = cluster(1, 41);
    let v = req(&mut w, "c1", "$JS.API.STREAM.CREATE.S", &stream_cfg("S", json!({})));
    // Standalone: no cluster block on create; zero times while empty.
    assert!(v.get("cluster").is_none(), "{v}");
    assert_eq!(
        (v["state"]["first_ts"].clone(), v["state"]["last_ts"].clone()),
        (json!("0001-01-01T00:00:00Z"), json!("0001-01-01T00:00:00Z"))
    );
    let again = req(&mut w, "c1", "$JS.API.STREAM.CREATE.S", &stream_cfg("S", json!({})));
    assert_eq!(again["did_create"], true, "{again}");
    let v = info(&mut w, "S");
    assert_eq!(v["cluster"], json!({"leader": "n1"}), "{v}");
    assert_eq!(
        create_err(&mut w, "R3", json!({"num_replicas": 3})),
        (500, 10074, "replicas > 1 not supported in non-clustered mode".into())
    );
    // Empty body: the name does not match.
    let v = req(&mut w, "c1", "$JS.API.STREAM.CREATE.E", "");
    assert_eq!(err_of(&v), (400, 10056, "stream name in subject does not match request".into()));
    // Unknown API subjects get no answer from 2.12.8.
    assert!(raw_replies(&mut w, "c1", "$JS.API.FOO.BAR", "").is_empty());
    // After a purge the first time is zero again, the last one stays.
    pub1(&mut w, "s.a", "x", &[]);
    req(&mut w, "c1", "$JS.API.STREAM.PURGE.S", "");
    let v = info(&mut w, "S");
    assert_eq!(v["state"]["first_ts"], "0001-01-01T00:00:00Z");
    assert_ne!(v["state"]["last_ts"], "0001-01-01T00:00:00Z");
}

#[test]
fn info_details_names_and_list_as_nats() {
    let mut w = cluster(3, 42);
    create(&mut w, "S", json!({"num_replicas": 3}));
    for s in ["s.a", "s.b", "s.a", "s.c.d", "s.a"] {
        pub1(&mut w, s, "x", &[]);
    }
    req(&mut w, "c1", "$JS.API.STREAM.MSG.DELETE.S", r#"{"seq":2}"#);
    req(&mut w, "c1", "$JS.API.STREAM.MSG.DELETE.S", r#"{"seq":4}"#);
    let v = req(&mut w, "c1", "$JS.API.STREAM.INFO.S", r#"{"subjects_filter":">","deleted_details":true}"#);
    assert_eq!(
        (v["total"].clone(), v["offset"].clone(), v["limit"].clone()),
        (json!(1), json!(0), json!(100000)),
        "{v}"
    );
    assert_eq!(v["state"]["subjects"], json!({"s.a": 3}), "{v}");
    assert_eq!((v["state"]["num_deleted"].clone(), v["state"]["deleted"].clone()), (json!(2), json!([2, 4])), "{v}");
    let keys: Vec<&str> = v["state"].as_object().unwrap().keys().map(|k| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "messages",
            "bytes",
            "first_seq",
            "first_ts",
            "last_seq",
            "last_ts",
            "num_subjects",
            "subjects",
            "num_deleted",
            "deleted",
            "consumer_count"
        ]
    );
    // Missing messages: memory 10043, file EOF past the end.
    create(&mut w, "MEM", json!({"subjects": ["mem"], "storage": "memory"}));
    let v = req(&mut w, "c1", "$JS.API.STREAM.MSG.DELETE.MEM", r#"{"seq":1}"#);
    assert_eq!(err_of(&v), (400, 10043, "sequence 1 not found".into()));
    let v = req(&mut w, "c1", "$JS.API.STREAM.MSG.DELETE.S", r#"{"seq":10}"#);
    assert_eq!(err_of(&v), (500, 10057, "stream store EOF".into()));
    let v = req(&mut w, "c1", "$JS.API.STREAM.NAMES", r#"{"subject":"mem"}"#);
    assert_eq!(
        serde_json::to_string(&v).unwrap(),
        r#"{"type":"io.nats.jetstream.api.v1.stream_names_response","total":1,"offset":0,"limit":1024,"streams":["MEM"]}"#
    );
    let v = req(&mut w, "c1", "$JS.API.STREAM.NAMES", r#"{"offset":1}"#);
    assert_eq!((v["total"].clone(), v["offset"].clone(), v["streams"].clone()), (json!(2), json!(1), json!(["S"])));
    // LIST entries carry only the stored metadata key.
    let v = req(&mut w, "c1", "$JS.API.STREAM.LIST", "");
    assert_eq!(v["streams"][0]["config"]["metadata"], json!({"_nats.req.level": "0"}), "{v}");
}

#[test]
fn direct_get_as_nats() {
    let mut w = cluster(3, 43);
    create(&mut w, "DG", json!({"subjects": ["dg.>"], "allow_direct": true, "num_replicas": 3}));
    pub1(&mut w, "dg.a", "one", &[("X-App", "1")]);
    pub1(&mut w, "dg.b", "two", &[]);
    run(&mut w, 200 * MS);
    let one = |w: &mut World, subj: &str, body: &str| {
        let got = raw_replies(w, "c2", subj, body);
        assert_eq!(got.len(), 1, "one replica answers: {got:?}");
        got.into_iter().next().unwrap()
    };
    let (h, p) = one(&mut w, "$JS.API.DIRECT.GET.DG", r#"{"seq":1}"#);
    let h = h.unwrap();
    assert!(h.starts_with("NATS/1.0\r\nX-App: 1\r\nNats-Stream: DG\r\nNats-Subject: dg.a\r\nNats-Sequence: 1\r\nNats-Time-Stamp: 2025-"), "{h:?}");
    assert!(h.ends_with("\r\n\r\n"));
    assert_eq!(p, "one");
    let (h, p) = one(&mut w, "$JS.API.DIRECT.GET.DG.dg.b", "");
    assert!(h.unwrap().starts_with("NATS/1.0\r\nNats-Stream: DG\r\nNats-Subject: dg.b\r\nNats-Sequence: 2\r\n"));
    assert_eq!(p, "two");
    let (h, _) = one(&mut w, "$JS.API.DIRECT.GET.DG", r#"{"seq":50}"#);
    assert_eq!(h.as_deref(), Some("NATS/1.0 404 Message Not Found\r\n\r\n"));
    let (h, _) = one(&mut w, "$JS.API.DIRECT.GET.DG", "not json");
    assert_eq!(h.as_deref(), Some("NATS/1.0 408 Malformed Request\r\n\r\n"));
    // Without allow_direct nobody subscribes: 503 no responders.
    create(&mut w, "ND", json!({"subjects": ["nd"]}));
    let (h, _) = one(&mut w, "$JS.API.DIRECT.GET.ND", r#"{"seq":1}"#);
    assert!(h.unwrap().starts_with("NATS/1.0 503"), "no responders");
    no_violations(&w);
}

#[test]
fn subjects_update_moves_the_leader_subscription() {
    let mut w = cluster(3, 44);
    create(&mut w, "U", json!({"subjects": ["u.a"], "num_replicas": 3}));
    assert_eq!(pub1(&mut w, "u.a", "1", &[]), ack("U", 1));
    let v =
        req(&mut w, "c1", "$JS.API.STREAM.UPDATE.U", &stream_cfg("U", json!({"subjects": ["u.b"], "num_replicas": 3})));
    assert!(v.get("error").is_none(), "{v}");
    assert_eq!(pub1(&mut w, "u.b", "2", &[]), ack("U", 2));
    // The old subject has no stream any more: 503 no responders.
    let got = raw_replies(&mut w, "c1", "u.a", "3");
    assert!(got.len() == 1 && got[0].0.as_deref().is_some_and(|h| h.starts_with("NATS/1.0 503")), "{got:?}");
    no_violations(&w);
}

#[test]
fn scale_up_at_nats_timescale_keeps_a_leader() {
    let text = servers(3).replace("raft_timescale 1/10\n", "");
    let sc = scenario::parse(&text).unwrap();
    let mut w = World::new(sc, 45).unwrap();
    w.set_check_invariants(true);
    run(&mut w, 12 * SEC);
    create(&mut w, "SC", json!({"subjects": ["sc.>"]}));
    for i in 0..3 {
        pub1(&mut w, &format!("sc.{i}"), "x", &[]);
    }
    let v = req(
        &mut w,
        "c1",
        "$JS.API.STREAM.UPDATE.SC",
        &stream_cfg("SC", json!({"subjects": ["sc.>"], "num_replicas": 3})),
    );
    assert!(v.get("error").is_none(), "{v}");
    run(&mut w, SEC);
    let v = info(&mut w, "SC");
    assert!(v["cluster"]["leader"].is_string(), "{v}");
    assert_eq!(v["cluster"]["replicas"].as_array().map(|a| a.len()), Some(2), "{v}");
    run(&mut w, 15 * SEC);
    let v = info(&mut w, "SC");
    assert!(v["cluster"]["leader"].is_string(), "{v}");
    no_violations(&w);
}

#[test]
fn cluster_info_shapes_as_nats() {
    let mut w = cluster(3, 46);
    let v = req(&mut w, "c1", "$JS.API.STREAM.NAMES", "");
    assert_eq!(
        serde_json::to_string(&v).unwrap(),
        r#"{"type":"io.nats.jetstream.api.v1.stream_names_response","total":0,"offset":0,"limit":1024,"streams":null}"#
    );
    create(&mut w, "ONE", json!({"subjects": ["one"]}));
    create(&mut w, "THREE", json!({"subjects": ["three"], "num_replicas": 3}));
    pub1(&mut w, "three", "x", &[]);
    run(&mut w, SEC);
    // R1: no Raft node in nats, so {name, leader} only.
    let v = info(&mut w, "ONE");
    let keys: Vec<&str> = v["cluster"].as_object().unwrap().keys().map(|k| k.as_str()).collect();
    assert_eq!(keys, ["name", "leader"], "{v}");
    let v = info(&mut w, "THREE");
    let keys: Vec<&str> = v["cluster"].as_object().unwrap().keys().map(|k| k.as_str()).collect();
    assert_eq!(
        keys,
        ["name", "raft_group", "leader", "leader_since", "system_account", "traffic_account", "replicas"],
        "{v}"
    );
    assert_eq!(
        (v["cluster"]["system_account"].clone(), v["cluster"]["traffic_account"].clone()),
        (json!(true), json!("$SYS"))
    );
    // LIST (meta leader): an R1 stream's leader is its one peer, member or not.
    for i in 0..3 {
        create(&mut w, &format!("L{i}"), json!({"subjects": [format!("l{i}")]}));
    }
    let v = req(&mut w, "c1", "$JS.API.STREAM.LIST", "");
    for st in v["streams"].as_array().unwrap() {
        assert!(st["cluster"]["leader"].is_string(), "{st}");
    }
    // An equal create is answered by the stream leader: its state, no did_create.
    let v = req(
        &mut w,
        "c2",
        "$JS.API.STREAM.CREATE.THREE",
        &stream_cfg("THREE", json!({"subjects": ["three"], "num_replicas": 3})),
    );
    assert_eq!((v["state"]["messages"].clone(), v.get("did_create").is_none()), (json!(1), true), "{v}");
    no_violations(&w);
}

#[test]
fn scale_up_then_down_answers_both() {
    for seed in 50..56 {
        let text = servers(3).replace("raft_timescale 1/10\n", "");
        let mut w = World::new(scenario::parse(&text).unwrap(), seed).unwrap();
        w.set_check_invariants(true);
        run(&mut w, 12 * SEC);
        create(&mut w, "SC", json!({"subjects": ["sc.>"]}));
        for i in 0..3 {
            pub1(&mut w, &format!("sc.{i}"), "x", &[]);
        }
        let v = req(
            &mut w,
            "c1",
            "$JS.API.STREAM.UPDATE.SC",
            &stream_cfg("SC", json!({"subjects": ["sc.>"], "num_replicas": 3})),
        );
        assert_eq!(v["config"]["num_replicas"], 3, "seed {seed}: {v}");
        run(&mut w, SEC);
        let v = req(
            &mut w,
            "c1",
            "$JS.API.STREAM.UPDATE.SC",
            &stream_cfg("SC", json!({"subjects": ["sc.>"], "num_replicas": 1})),
        );
        assert_eq!(v["config"]["num_replicas"], 1, "seed {seed}: {v}");
        assert_eq!(v["state"]["messages"], 3, "seed {seed}: {v}");
        no_violations(&w);
    }
}

#[test]
fn republish_and_subject_transform_as_nats() {
    let mut w = cluster(3, 47);
    for c in w.clients.iter_mut() {
        c.node.js.record_subs = true;
    }
    client_cmd(&mut w, "c2", ClientCmd::Sub { subject: "out.>".into(), queue: None, count: None });
    run(&mut w, 100 * MS);
    let v = create(
        &mut w,
        "RP",
        json!({"subjects": ["rp.>"], "republish": {"src": "rp.>", "dest": "out.>"}, "num_replicas": 3}),
    );
    assert_eq!(v["config"]["republish"], json!({"src": "rp.>", "dest": "out.>"}), "{v}");
    pub1(&mut w, "rp.a", "hello", &[]);
    pub1(&mut w, "rp.a", "again", &[("X-K", "v")]);
    run(&mut w, 100 * MS);
    let got: Vec<_> = client(&w, "c2").js.sub_log.iter().filter(|m| m.subject.starts_with("out.")).cloned().collect();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(&*got[0].subject, "out.a");
    let h0 = String::from_utf8_lossy(got[0].headers.as_ref().unwrap()).into_owned();
    assert!(
        h0.starts_with("NATS/1.0\r\nNats-Stream: RP\r\nNats-Subject: rp.a\r\nNats-Sequence: 1\r\nNats-Time-Stamp: ")
            && h0.ends_with("Nats-Last-Sequence: 0\r\n\r\n"),
        "{h0:?}"
    );
    assert_eq!(&got[0].payload[..], b"hello");
    let h1 = String::from_utf8_lossy(got[1].headers.as_ref().unwrap()).into_owned();
    assert!(
        h1.starts_with("NATS/1.0\r\nX-K: v\r\nNats-Stream: RP\r\n") && h1.ends_with("Nats-Last-Sequence: 1\r\n\r\n"),
        "{h1:?}"
    );
    // A destination inside the stream's own subjects is a cycle.
    let e = create_err(&mut w, "CY", json!({"subjects": ["cy.>"], "republish": {"src": ">", "dest": "cy.x"}}));
    assert_eq!(e, (500, 10052, "stream configuration for republish destination forms a cycle".into()));
    // subject_transform: stored under the transformed subject.
    create(&mut w, "TR", json!({"subjects": ["in.>"], "subject_transform": {"src": "in.>", "dest": "stored.>"}}));
    assert_eq!(pub1(&mut w, "in.x", "1", &[]), ack("TR", 1));
    let g = req(&mut w, "c1", "$JS.API.STREAM.MSG.GET.TR", r#"{"seq":1}"#);
    assert_eq!(g["message"]["subject"], "stored.x", "{g}");
    no_violations(&w);
}

#[test]
fn direct_get_batch_as_nats() {
    let mut w = cluster(1, 48);
    create(&mut w, "NW", json!({"subjects": ["nw.>"], "allow_direct": true}));
    for s in ["nw.a", "nw.b", "nw.c.d", "nw.a"] {
        pub1(&mut w, s, s, &[]);
    }
    let got = raw_replies(&mut w, "c1", "$JS.API.DIRECT.GET.NW", r#"{"seq":1,"batch":3}"#);
    assert_eq!(got.len(), 4, "{got:?}");
    let hs: Vec<String> = got.iter().map(|(h, _)| h.clone().unwrap_or_default()).collect();
    assert!(
        hs[0].contains("Nats-Sequence: 1\r\n")
            && hs[0].ends_with("Nats-Num-Pending: 3\r\nNats-Last-Sequence: 0\r\n\r\n"),
        "{:?}",
        hs[0]
    );
    assert!(
        hs[2].contains("Nats-Subject: nw.c.d\r\n")
            && hs[2].ends_with("Nats-Num-Pending: 1\r\nNats-Last-Sequence: 2\r\n\r\n"),
        "{:?}",
        hs[2]
    );
    assert_eq!(hs[3], "NATS/1.0 204 EOB\r\nNats-Num-Pending: 1\r\nNats-Last-Sequence: 3\r\n\r\n");
    // Name length checks come after the character checks.
    let long = "N".repeat(256);
    let v = req(&mut w, "c1", &format!("$JS.API.STREAM.CREATE.{long}"), &json!({"name": long}).to_string());
    assert_eq!(err_of(&v), (500, 10052, "stream name is too long, maximum allowed is 255".into()));
}
