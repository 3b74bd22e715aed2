//! JetStream consumers through real client requests in the simulated world:
//! create/info/delete/names/list with nats-server 2.12.8's JSON and errors,
//! pull requests with their exact status headers, acks, redelivery, deliver
//! policies, push delivery, and a consumer surviving a leader change.
//! Expected bodies and headers were taken from a real nats-server 2.12.8 on
//! 127.0.0.1 (same requests) and from its Go source. Every world checks the
//! Raft invariants after every event.

use jetsim_core::client::SubMsg;
use jetsim_core::scenario::{self, ClientCmd};
use jetsim_core::sim::World;
use jetsim_core::time::{Time, MS, SEC};
use serde_json::{json, Value};

mod common;
use common::*;

fn hdr(m: &SubMsg) -> String {
    m.headers.as_ref().map(|h| String::from_utf8_lossy(h).into_owned()).unwrap_or_default()
}

/// Everything that arrived on `c` since `mark` (an index into its log).
fn since(w: &World, c: &str, mark: usize) -> Vec<SubMsg> {
    log(w, c).into_iter().skip(mark).collect()
}

/// A pull request from `c`; returns what arrived within `wait`: stream
/// messages as ("MSG", subject, reply, body) and statuses as ("HDR", header text).
fn pull(w: &mut World, c: &str, stream: &str, consumer: &str, body: &str, wait: Time) -> Vec<(String, String, String)> {
    let r = inbox("pull");
    let mark = log(w, c).len();
    publish(w, c, &format!("$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}"), body, Some(&r));
    run(w, wait);
    since(w, c, mark)
        .into_iter()
        .filter(|m| &*m.subject == r.as_str() || m.reply.as_deref().is_some_and(|x| x.starts_with("$JS.ACK.")))
        .map(|m| match &m.reply {
            Some(ack) if ack.starts_with("$JS.ACK.") => {
                (m.subject.to_string(), ack.to_string(), String::from_utf8_lossy(&m.payload).into_owned())
            }
            _ => ("STATUS".to_string(), hdr(&m), String::from_utf8_lossy(&m.payload).into_owned()),
        })
        .collect()
}

/// `$JS.ACK.<s>.<c>.<dc>.<sseq>.<dseq>.<ts>.<pending>` tokens (dc, sseq, dseq, pending).
fn ack_tokens(ack: &str) -> (u64, u64, u64, u64) {
    let t: Vec<&str> = ack.split('.').collect();
    assert_eq!(t.len(), 9, "{ack}");
    let n = |i: usize| t[i].parse::<u64>().unwrap();
    (n(4), n(5), n(6), n(8))
}

#[test]
fn create_and_info_json_as_nats() {
    let mut w = world(3, 1);
    add_stream(&mut w, "S", "s.>", 1, "");
    js_pub(&mut w, "c1", "s.a", "hello");
    js_pub(&mut w, "c1", "s.b", "world");
    let v = api(
        &mut w,
        "c2",
        "$JS.API.CONSUMER.CREATE.S.C",
        r#"{"stream_name":"S","config":{"durable_name":"C","ack_policy":"explicit"}}"#,
    );
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "type",
            "stream_name",
            "name",
            "created",
            "config",
            "delivered",
            "ack_floor",
            "num_ack_pending",
            "num_redelivered",
            "num_waiting",
            "num_pending",
            "cluster",
            "ts"
        ]
    );
    assert_eq!(v["type"], "io.nats.jetstream.api.v1.consumer_create_response");
    assert_eq!(
        v["config"],
        json!({"durable_name":"C","name":"C","deliver_policy":"all","ack_policy":"explicit","ack_wait":30000000000u64,
               "max_deliver":-1,"replay_policy":"instant","max_waiting":512,"max_ack_pending":1000,"num_replicas":0,
               "metadata":{"_nats.level":"3","_nats.req.level":"0","_nats.ver":"2.12.8"}})
    );
    let ckeys: Vec<&str> = v["config"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(ckeys[..4], ["durable_name", "name", "deliver_policy", "ack_policy"]);
    assert_eq!(v["delivered"], json!({"consumer_seq":0,"stream_seq":0}));
    assert_eq!(v["ack_floor"], json!({"consumer_seq":0,"stream_seq":0}));
    assert_eq!(
        (v["num_pending"].as_u64(), v["num_ack_pending"].as_u64(), v["num_waiting"].as_u64()),
        (Some(2), Some(0), Some(0))
    );
    let leader = w.name(w.stream_leader("S").unwrap()).to_string();
    // An R1 consumer in a cluster: the cluster name and leader only (nats 2.12.8).
    assert_eq!(v["cluster"], json!({"name":"nats","leader":leader}));

    // One delivery: delivered moves, last_active appears, pending drops.
    let got = pull(&mut w, "c1", "S", "C", r#"{"batch":1}"#, 300 * MS);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!((got[0].0.as_str(), got[0].2.as_str()), ("s.a", "hello"));
    assert!(got[0].1.starts_with("$JS.ACK.S.C.1.1.1."), "{}", got[0].1);
    assert_eq!(ack_tokens(&got[0].1).3, 1);
    let info = api(&mut w, "c3", "$JS.API.CONSUMER.INFO.S.C", "");
    assert_eq!(info["type"], "io.nats.jetstream.api.v1.consumer_info_response");
    assert_eq!(
        (info["delivered"]["consumer_seq"].as_u64(), info["delivered"]["stream_seq"].as_u64()),
        (Some(1), Some(1))
    );
    assert!(info["delivered"]["last_active"].is_string(), "{info}");
    assert_eq!((info["num_ack_pending"].as_u64(), info["num_pending"].as_u64()), (Some(1), Some(1)));

    // A legacy ephemeral: generated 8-character name, no name in config,
    // ack none, 5s inactive threshold.
    let e = api(&mut w, "c1", "$JS.API.CONSUMER.CREATE.S", r#"{"stream_name":"S","config":{}}"#);
    let name = e["name"].as_str().unwrap().to_string();
    assert_eq!(name.len(), 8);
    assert_eq!(
        e["config"],
        json!({"deliver_policy":"all","ack_policy":"none","max_deliver":-1,"replay_policy":"instant","max_waiting":512,
               "inactive_threshold":5000000000u64,"num_replicas":0,
               "metadata":{"_nats.level":"3","_nats.req.level":"0","_nats.ver":"2.12.8"}})
    );
    let names = api(&mut w, "c1", "$JS.API.CONSUMER.NAMES.S", "");
    let mut want = vec!["C".to_string(), name.clone()];
    want.sort();
    assert_eq!(
        names,
        json!({"type":"io.nats.jetstream.api.v1.consumer_names_response","total":2,"offset":0,"limit":1024,"consumers":want})
    );
    let list = api(&mut w, "c1", "$JS.API.CONSUMER.LIST.S", "");
    assert_eq!((list["total"].as_u64(), list["limit"].as_u64()), (Some(2), Some(256)));
    assert_eq!(list["consumers"][0]["stream_name"], "S");
    // LIST shows the stored config: no dynamic `_nats.level` / `_nats.ver`.
    assert_eq!(list["consumers"][0]["config"]["metadata"], json!({"_nats.req.level":"0"}));
    assert!(list["consumers"][0].get("type").is_none());
    let stream = api(&mut w, "c1", "$JS.API.STREAM.INFO.S", "");
    assert_eq!(stream["state"]["consumer_count"], 2);
    let account = api(&mut w, "c1", "$JS.API.INFO", "");
    assert_eq!(account["consumers"], 2, "{account}");
    let d = api(&mut w, "c1", "$JS.API.CONSUMER.DELETE.S.C", "");
    assert_eq!(d, json!({"type":"io.nats.jetstream.api.v1.consumer_delete_response","success":true}));
    let gone = api(&mut w, "c2", "$JS.API.CONSUMER.INFO.S.C", "");
    assert_eq!(
        gone,
        json!({"type":"io.nats.jetstream.api.v1.consumer_info_response","error":{"code":404,"err_code":10014,"description":"consumer not found"}})
    );
    no_violations(&w);
}

#[test]
fn create_errors_as_nats() {
    let mut w = world(3, 2);
    add_stream(&mut w, "T", "t.>", 1, "");
    let mut err = |subject: &str, body: &str| -> (u64, u64, String) {
        let v = api(&mut w, "c1", subject, body);
        let e = &v["error"];
        assert_eq!(v.as_object().unwrap().len(), 2, "{v}");
        (e["code"].as_u64().unwrap(), e["err_code"].as_u64().unwrap(), e["description"].as_str().unwrap().to_string())
    };
    let cases: &[(&str, &str, u64, u64, &str)] = &[
        ("$JS.API.CONSUMER.CREATE.T.E", r#"{"stream_name":"T","config":{"durable_name":"X"}}"#, 400, 10017,
         "consumer name in subject does not match durable name in request"),
        ("$JS.API.CONSUMER.CREATE.T", r#"{"stream_name":"T","config":{"durable_name":"X"}}"#, 400, 10020,
         "consumer expected to be ephemeral but a durable name was set in request"),
        ("$JS.API.CONSUMER.DURABLE.CREATE.T.E", r#"{"stream_name":"T","config":{}}"#, 400, 10018,
         "consumer expected to be durable but a durable name was not set"),
        ("$JS.API.CONSUMER.CREATE.T.E.t.a", r#"{"stream_name":"T","config":{"filter_subject":"t.b"}}"#, 400, 10131,
         "Consumer create request did not match filtered subject from create subject"),
        ("$JS.API.CONSUMER.CREATE.T.Q", r#"{"stream_name":"T","config":{},"action":"update"}"#, 400, 10149, "consumer does not exist"),
        ("$JS.API.CONSUMER.CREATE.T.Q", r#"{"stream_name":"T","config":{"deliver_policy":"by_start_sequence"}}"#, 400, 10094,
         "consumer delivery policy is deliver by start sequence, but optional start sequence is not set"),
        ("$JS.API.CONSUMER.CREATE.T.Q", r#"{"stream_name":"T","config":{"bogus":1}}"#, 400, 10025, "invalid JSON: json: unknown field \"bogus\""),
        ("$JS.API.CONSUMER.CREATE.X.Q", r#"{"stream_name":"X","config":{}}"#, 404, 10059, "stream not found"),
        ("$JS.API.CONSUMER.CREATE.T.Q", r#"{"stream_name":"T","config":{"ack_policy":"foo"}}"#, 400, 10025, r#"invalid JSON: can not unmarshal "\"foo\"""#),
        ("$JS.API.CONSUMER.CREATE.T.Q", r#"{"stream_name":"T","config":{"ack_wait":"x"}}"#, 400, 10025,
         "invalid JSON: json: cannot unmarshal string into Go struct field ConsumerConfig.config.ack_wait of type time.Duration"),
        ("$JS.API.CONSUMER.CREATE.T.Q", "", 400, 10056, "stream name in subject does not match request"),
        ("$JS.API.CONSUMER.INFO.T.NOPE", "", 404, 10014, "consumer not found"),
        ("$JS.API.CONSUMER.DELETE.T.NOPE", "", 404, 10014, "consumer not found"),
    ];
    for (subject, body, code, err_code, text) in cases {
        assert_eq!(err(subject, body), (*code, *err_code, text.to_string()), "{subject} {body}");
    }
    // action create on an existing consumer with another config: 10148;
    // with the same config it is fine.
    let ok = api(
        &mut w,
        "c1",
        "$JS.API.CONSUMER.CREATE.T.D",
        r#"{"stream_name":"T","config":{"durable_name":"D","ack_policy":"explicit"}}"#,
    );
    assert!(ok.get("error").is_none(), "{ok}");
    let same = api(
        &mut w,
        "c1",
        "$JS.API.CONSUMER.CREATE.T.D",
        r#"{"stream_name":"T","config":{"durable_name":"D","ack_policy":"explicit"},"action":"create"}"#,
    );
    assert!(same.get("error").is_none(), "{same}");
    let v = api(
        &mut w,
        "c1",
        "$JS.API.CONSUMER.CREATE.T.D",
        r#"{"stream_name":"T","config":{"durable_name":"D","ack_policy":"none"},"action":"create"}"#,
    );
    assert_eq!(v["error"]["err_code"], 10148);
    // An update may not change the ack policy; it may change the description.
    let v = api(
        &mut w,
        "c1",
        "$JS.API.CONSUMER.CREATE.T.D",
        r#"{"stream_name":"T","config":{"durable_name":"D","ack_policy":"all"}}"#,
    );
    assert_eq!(v["error"], json!({"code":500,"err_code":10012,"description":"ack policy can not be updated"}));
    let v = api(
        &mut w,
        "c1",
        "$JS.API.CONSUMER.CREATE.T.D",
        r#"{"stream_name":"T","config":{"durable_name":"D","ack_policy":"explicit","deliver_subject":"x.y"}}"#,
    );
    assert_eq!(
        v["error"],
        json!({"code":500,"err_code":10012,"description":"can not update pull consumer to push based"})
    );
    let v = api(
        &mut w,
        "c1",
        "$JS.API.CONSUMER.CREATE.T.D",
        r#"{"stream_name":"T","config":{"durable_name":"D"},"action":"upsert"}"#,
    );
    assert_eq!(v["error"]["description"], r#"invalid JSON: unknown consumer action: "upsert""#);
    let v = api(
        &mut w,
        "c1",
        "$JS.API.CONSUMER.CREATE.T.D",
        r#"{"stream_name":"T","config":{"durable_name":"D","ack_policy":"explicit","description":"x"},"action":"update"}"#,
    );
    assert_eq!(v["config"]["description"], "x");
    // CONSUMER.INFO wants an empty body.
    let v = api(&mut w, "c1", "$JS.API.CONSUMER.INFO.T.D", "x");
    assert_eq!(
        v,
        json!({"type":"io.nats.jetstream.api.v1.consumer_info_response","error":{"code":400,"err_code":10038,"description":"expected an empty request payload"}})
    );
    no_violations(&w);
}

#[test]
fn max_consumers_enforced_recreate_does_not_count() {
    let mut w = world(3, 3);
    let v = api(&mut w, "c1", "$JS.API.STREAM.CREATE.M", r#"{"name":"M","subjects":["m"],"max_consumers":1}"#);
    assert!(v.get("error").is_none(), "{v}");
    let a = api(&mut w, "c1", "$JS.API.CONSUMER.CREATE.M.A", r#"{"stream_name":"M","config":{"durable_name":"A"}}"#);
    assert!(a.get("error").is_none(), "{a}");
    let again =
        api(&mut w, "c1", "$JS.API.CONSUMER.CREATE.M.A", r#"{"stream_name":"M","config":{"durable_name":"A"}}"#);
    assert!(again.get("error").is_none(), "{again}");
    let b = api(&mut w, "c1", "$JS.API.CONSUMER.CREATE.M.B", r#"{"stream_name":"M","config":{"durable_name":"B"}}"#);
    assert_eq!(b["error"], json!({"code":400,"err_code":10026,"description":"maximum consumers limit reached"}));
    no_violations(&w);
}

/// The probe sequence run against nats-server 2.12.8: request caps, max
/// bytes, heartbeat validation, max waiting.
#[test]
fn pull_statuses_as_nats() {
    let mut w = world(3, 4);
    add_stream(&mut w, "T", "t.>", 1, "");
    for (s, b) in [("t.a", "hello"), ("t.b", "world"), ("t.c", "third")] {
        js_pub(&mut w, "c1", s, b);
    }
    let v = api(
        &mut w,
        "c1",
        "$JS.API.CONSUMER.CREATE.T.D",
        r#"{"stream_name":"T","config":{"durable_name":"D","ack_policy":"explicit","max_batch":3,"max_expires":1000000000,"max_bytes":100,"max_waiting":1}}"#,
    );
    assert_eq!(
        (v["config"]["max_batch"].as_u64(), v["config"]["max_expires"].as_u64(), v["config"]["max_bytes"].as_u64()),
        (Some(3), Some(SEC), Some(100))
    );
    let status = |got: Vec<(String, String, String)>| -> Vec<String> {
        got.into_iter().map(|(k, h, _)| if k == "STATUS" { h } else { k }).collect()
    };
    let t = 300 * MS;
    assert_eq!(
        status(pull(&mut w, "c2", "T", "D", r#"{"batch":4}"#, t)),
        ["NATS/1.0 409 Exceeded MaxRequestBatch of 3\r\n\r\n"]
    );
    assert_eq!(
        status(pull(&mut w, "c2", "T", "D", r#"{"batch":1,"expires":2000000000}"#, t)),
        ["NATS/1.0 409 Exceeded MaxRequestExpires of 1s\r\n\r\n"]
    );
    assert_eq!(
        status(pull(&mut w, "c2", "T", "D", r#"{"batch":1,"max_bytes":200}"#, t)),
        ["NATS/1.0 409 Exceeded MaxRequestMaxBytes of 100\r\n\r\n"]
    );
    assert_eq!(
        status(pull(&mut w, "c2", "T", "D", r#"{"batch":1,"max_bytes":10}"#, t)),
        ["NATS/1.0 409 Message Size Exceeds MaxBytes\r\nNats-Pending-Messages: 1\r\nNats-Pending-Bytes: 10\r\n\r\n"]
    );
    assert_eq!(
        status(pull(&mut w, "c2", "T", "D", r#"{"batch":1,"expires":100000000,"idle_heartbeat":60000000}"#, t)),
        ["NATS/1.0 400 Bad Request - heartbeat value too large\r\n\r\n"]
    );
    // The message takes 3 + 39 (ack reply) + 5 = 47 bytes of the 90.
    assert_eq!(
        status(pull(&mut w, "c2", "T", "D", r#"{"batch":2,"max_bytes":90}"#, t)),
        [
            "t.a",
            "NATS/1.0 409 Message Size Exceeds MaxBytes\r\nNats-Pending-Messages: 1\r\nNats-Pending-Bytes: 43\r\n\r\n"
        ]
    );
    let got = pull(&mut w, "c2", "T", "D", r#"{"batch":1,"expires":500000000}"#, t);
    assert_eq!((got.len(), got[0].0.as_str(), ack_tokens(&got[0].1)), (1, "t.b", (1, 2, 2, 1)));
    let got = pull(&mut w, "c2", "T", "D", r#"{"batch":1,"expires":500000000}"#, t);
    assert_eq!((got.len(), got[0].0.as_str(), ack_tokens(&got[0].1)), (1, "t.c", (1, 3, 3, 0)));
    // Nothing left: a waiting request fills max_waiting 1, the next gets 409.
    assert!(pull(&mut w, "c2", "T", "D", r#"{"batch":1,"expires":900000000}"#, 50 * MS).is_empty());
    assert_eq!(status(pull(&mut w, "c2", "T", "D", "2", 50 * MS)), ["NATS/1.0 409 Exceeded MaxWaiting\r\n\r\n"]);
    no_violations(&w);
}

#[test]
fn no_wait_expiry_batch_completed_and_heartbeats() {
    let mut w = world(3, 5);
    add_stream(&mut w, "S", "s.>", 1, "");
    js_pub(&mut w, "c1", "s.a", "hello");
    js_pub(&mut w, "c1", "s.b", "world");
    api(
        &mut w,
        "c1",
        "$JS.API.CONSUMER.CREATE.S.C",
        r#"{"stream_name":"S","config":{"durable_name":"C","ack_policy":"explicit"}}"#,
    );
    let status = |got: &[(String, String, String)]| -> Vec<String> {
        got.iter().map(|(k, h, _)| if k == "STATUS" { h.clone() } else { k.clone() }).collect()
    };
    // batch 1 of 1000 bytes: the message, then 409 Batch Completed with the bytes left.
    let got = pull(&mut w, "c1", "S", "C", r#"{"batch":1,"max_bytes":1000}"#, 200 * MS);
    assert_eq!(
        status(&got),
        ["s.a", "NATS/1.0 409 Batch Completed\r\nNats-Pending-Messages: 0\r\nNats-Pending-Bytes: 953\r\n\r\n"]
    );
    // no_wait with one message left: it, then 404 at the end of the stream (2.12.2+).
    let got = pull(&mut w, "c1", "S", "C", r#"{"batch":5,"no_wait":true}"#, 200 * MS);
    assert_eq!(status(&got), ["s.b", "NATS/1.0 404 No Messages\r\n\r\n"]);
    let got = pull(&mut w, "c1", "S", "C", r#"{"batch":5,"no_wait":true}"#, 200 * MS);
    assert_eq!(status(&got), ["NATS/1.0 404 No Messages\r\n\r\n"]);
    // Expiry: 408 with what is left of the request, at the expiry (not before).
    let got = pull(&mut w, "c1", "S", "C", r#"{"batch":5,"expires":200000000}"#, 150 * MS);
    assert!(got.is_empty(), "{got:?}");
    run(&mut w, 100 * MS);
    let last = log(&w, "c1").last().cloned().unwrap();
    assert_eq!(hdr(&last), "NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: 5\r\nNats-Pending-Bytes: 0\r\n\r\n");
    // Heartbeats every 200 ms while waiting 1 s, then the 408.
    let got = pull(&mut w, "c1", "S", "C", r#"{"batch":1,"expires":1000000000,"idle_heartbeat":200000000}"#, 1100 * MS);
    let s = status(&got);
    let hb = "NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 2\r\nNats-Last-Stream: 2\r\n\r\n";
    assert_eq!(s.iter().filter(|h| *h == hb).count(), 4, "{s:?}");
    assert_eq!(
        s.last().unwrap(),
        "NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: 1\r\nNats-Pending-Bytes: 0\r\n\r\n"
    );
    // A waiting request is served by a later publish.
    let r = inbox("pull");
    publish(&mut w, "c2", "$JS.API.CONSUMER.MSG.NEXT.S.C", r#"{"batch":1,"expires":5000000000}"#, Some(&r));
    run(&mut w, 100 * MS);
    js_pub(&mut w, "c1", "s.c", "late");
    let got: Vec<SubMsg> = log(&w, "c2").into_iter().filter(|m| &*m.subject == "s.c").collect();
    assert_eq!(got.len(), 1);
    assert_eq!(&got[0].payload[..], b"late");
    no_violations(&w);
}

#[test]
fn acks_naks_redelivery_and_floors() {
    let mut w = world(3, 6);
    add_stream(&mut w, "S", "s.>", 1, "");
    for i in 1..=4 {
        js_pub(&mut w, "c1", &format!("s.{i}"), &format!("m{i}"));
    }
    api(
        &mut w,
        "c1",
        "$JS.API.CONSUMER.CREATE.S.C",
        r#"{"stream_name":"S","config":{"durable_name":"C","ack_policy":"explicit","ack_wait":1000000000,"max_deliver":3}}"#,
    );
    let got = pull(&mut w, "c1", "S", "C", r#"{"batch":4}"#, 100 * MS);
    assert_eq!(got.len(), 4, "{got:?}");
    let acks: Vec<String> = got.iter().map(|g| g.1.clone()).collect();
    // Ack 1 (as a request: the ack-ack is an empty message), nak 2, progress 3, term 4.
    let r = inbox("ackack");
    publish(&mut w, "c1", &acks[0], "+ACK", Some(&r));
    publish(&mut w, "c1", &acks[1], "-NAK", None);
    publish(&mut w, "c1", &acks[3], "+TERM", None);
    run(&mut w, 100 * MS);
    let aa = for_reply(&w, "c1", &r);
    assert_eq!(aa.len(), 1);
    assert!(aa[0].payload.is_empty() && aa[0].headers.is_none());
    // The NAKed message comes back next, delivery count 2, a new consumer seq.
    let got = pull(&mut w, "c1", "S", "C", r#"{"batch":1,"expires":300000000}"#, 100 * MS);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        (got[0].0.as_str(), ack_tokens(&got[0].1).0, ack_tokens(&got[0].1).1, ack_tokens(&got[0].1).2),
        ("s.2", 2, 2, 5)
    );
    let info = api(&mut w, "c1", "$JS.API.CONSUMER.INFO.S.C", "");
    assert_eq!(info["ack_floor"]["consumer_seq"], 1);
    assert_eq!(info["ack_floor"]["stream_seq"], 1);
    assert_eq!((info["num_ack_pending"].as_u64(), info["num_redelivered"].as_u64()), (Some(2), Some(1)));
    assert_eq!(info["delivered"]["consumer_seq"], 5);
    // +WPI keeps 3 from coming back at its ack wait; 2 comes back (dc 3).
    publish(&mut w, "c1", &acks[2], "+WPI", None);
    run(&mut w, 600 * MS);
    publish(&mut w, "c1", &acks[2], "+WPI", None);
    let got = pull(&mut w, "c1", "S", "C", r#"{"batch":5,"expires":900000000}"#, 950 * MS);
    let subjects: Vec<&str> = got.iter().filter(|g| g.0 != "STATUS").map(|g| g.0.as_str()).collect();
    assert_eq!(subjects, ["s.2"], "{got:?}");
    assert_eq!(ack_tokens(&got[0].1).0, 3);
    // max_deliver 3: 2 is not delivered again; 3 expires and comes back.
    let got = pull(&mut w, "c1", "S", "C", r#"{"batch":5,"expires":1000000000}"#, 1050 * MS);
    let subjects: Vec<&str> = got.iter().filter(|g| g.0 != "STATUS").map(|g| g.0.as_str()).collect();
    assert_eq!(subjects, ["s.3"], "{got:?}");
    let ack3 = got[0].1.clone();
    assert_eq!(ack_tokens(&ack3).0, 2);
    publish(&mut w, "c1", &ack3, "", None);
    run(&mut w, 100 * MS);
    let info = api(&mut w, "c1", "$JS.API.CONSUMER.INFO.S.C", "");
    // 2 left pending when its last ack wait ran out (max deliveries): with
    // nothing pending the floors jump to the last delivered message.
    assert_eq!(
        (info["num_ack_pending"].as_u64(), info["ack_floor"]["stream_seq"].as_u64()),
        (Some(0), Some(4)),
        "{info}"
    );
    // Only 2 keeps a delivery count (an ack forgets it, as nats' rdc).
    assert_eq!(info["num_redelivered"], 1, "{info}");
    // A NAK for an acked message is ignored.
    publish(&mut w, "c1", &acks[0], "-NAK", None);
    let got = pull(&mut w, "c1", "S", "C", r#"{"batch":1,"no_wait":true}"#, 100 * MS);
    assert_eq!(got.iter().map(|g| g.1.as_str()).collect::<Vec<_>>(), ["NATS/1.0 404 No Messages\r\n\r\n"]);
    no_violations(&w);
}

#[test]
fn nak_delay_backoff_and_ack_all() {
    let mut w = world(3, 7);
    add_stream(&mut w, "S", "s.>", 1, "");
    for i in 1..=3 {
        js_pub(&mut w, "c1", &format!("s.{i}"), "x");
    }
    // Backoff 200ms then 600ms: the first redelivery after 200 ms, the next 600 ms later.
    api(
        &mut w,
        "c1",
        "$JS.API.CONSUMER.CREATE.S.B",
        r#"{"stream_name":"S","config":{"durable_name":"B","ack_policy":"explicit","backoff":[200000000,600000000],"max_deliver":5,"filter_subject":"s.1"}}"#,
    );
    let info = api(&mut w, "c1", "$JS.API.CONSUMER.INFO.S.B", "");
    assert_eq!(info["config"]["ack_wait"], 200_000_000);
    let t0 = w.now();
    let r = inbox("bo");
    publish(&mut w, "c1", "$JS.API.CONSUMER.MSG.NEXT.S.B", r#"{"batch":3,"expires":2000000000}"#, Some(&r));
    run(&mut w, 1500 * MS);
    let times: Vec<u64> = log(&w, "c1")
        .iter()
        .filter(|m| &*m.subject == "s.1")
        .map(|m| ack_tokens(m.reply.as_deref().unwrap()).0)
        .collect();
    assert_eq!(times, [1, 2, 3]);
    let _ = t0;
    // -NAK with a delay: not before it.
    let v = api(
        &mut w,
        "c1",
        "$JS.API.CONSUMER.CREATE.S.N",
        r#"{"stream_name":"S","config":{"durable_name":"N","ack_policy":"explicit","filter_subject":"s.2"}}"#,
    );
    assert!(v.get("error").is_none(), "{v}");
    let got = pull(&mut w, "c1", "S", "N", r#"{"batch":1}"#, 100 * MS);
    assert_eq!(got.len(), 1, "{got:?}");
    publish(&mut w, "c1", &got[0].1, "-NAK {\"delay\":500000000}", None);
    let early = pull(&mut w, "c1", "S", "N", r#"{"batch":1,"expires":300000000}"#, 350 * MS);
    assert_eq!(early.len(), 1, "{early:?}");
    assert_eq!(early[0].0, "STATUS");
    let late = pull(&mut w, "c1", "S", "N", r#"{"batch":1,"expires":500000000}"#, 400 * MS);
    assert_eq!((late.len(), late[0].0.as_str(), ack_tokens(&late[0].1).0), (1, "s.2", 2), "{late:?}");
    // Ack all: acking the third acks the first two.
    api(
        &mut w,
        "c1",
        "$JS.API.CONSUMER.CREATE.S.A",
        r#"{"stream_name":"S","config":{"durable_name":"A","ack_policy":"all"}}"#,
    );
    let got = pull(&mut w, "c1", "S", "A", r#"{"batch":3}"#, 100 * MS);
    assert_eq!(got.len(), 3);
    publish(&mut w, "c1", &got[2].1, "+ACK", None);
    run(&mut w, 100 * MS);
    let info = api(&mut w, "c1", "$JS.API.CONSUMER.INFO.S.A", "");
    assert_eq!(
        (info["num_ack_pending"].as_u64(), info["ack_floor"]["stream_seq"].as_u64()),
        (Some(0), Some(3)),
        "{info}"
    );
    // Ack none: delivered means acked.
    api(&mut w, "c1", "$JS.API.CONSUMER.CREATE.S.Z", r#"{"stream_name":"S","config":{"durable_name":"Z"}}"#);
    pull(&mut w, "c1", "S", "Z", r#"{"batch":2}"#, 100 * MS);
    let info = api(&mut w, "c1", "$JS.API.CONSUMER.INFO.S.Z", "");
    assert_eq!(
        (info["num_ack_pending"].as_u64(), info["ack_floor"]["stream_seq"].as_u64(), info["num_pending"].as_u64()),
        (Some(0), Some(2), Some(1))
    );
    no_violations(&w);
}

#[test]
fn deliver_policies_and_filters() {
    let mut w = world(3, 8);
    add_stream(&mut w, "S", "s.>", 1, "");
    for (s, b) in [("s.a", "1"), ("s.b", "2"), ("s.a", "3"), ("s.c", "4"), ("s.b", "5")] {
        js_pub(&mut w, "c1", s, b);
    }
    let first = |w: &mut World, name: &str, cfg: &str| -> Vec<(String, String)> {
        let v = api(
            w,
            "c1",
            &format!("$JS.API.CONSUMER.CREATE.S.{name}"),
            &format!(r#"{{"stream_name":"S","config":{cfg}}}"#),
        );
        assert!(v.get("error").is_none(), "{v}");
        pull(w, "c1", "S", name, r#"{"batch":10,"no_wait":true}"#, 100 * MS)
            .into_iter()
            .filter(|g| g.0 != "STATUS")
            .map(|g| (g.0, g.2))
            .collect()
    };
    let p = |v: &[(&str, &str)]| v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<Vec<_>>();
    assert_eq!(first(&mut w, "ALL", "{}").len(), 5);
    assert_eq!(first(&mut w, "LAST", r#"{"deliver_policy":"last"}"#), p(&[("s.b", "5")]));
    assert_eq!(first(&mut w, "LASTA", r#"{"deliver_policy":"last","filter_subject":"s.a"}"#), p(&[("s.a", "3")]));
    assert_eq!(first(&mut w, "NEW", r#"{"deliver_policy":"new"}"#), p(&[]));
    assert_eq!(
        first(&mut w, "SEQ", r#"{"deliver_policy":"by_start_sequence","opt_start_seq":4}"#),
        p(&[("s.c", "4"), ("s.b", "5")])
    );
    assert_eq!(
        first(&mut w, "LPS", r#"{"deliver_policy":"last_per_subject","filter_subject":"s.*"}"#),
        p(&[("s.a", "3"), ("s.c", "4"), ("s.b", "5")])
    );
    assert_eq!(
        first(&mut w, "FS", r#"{"filter_subjects":["s.b","s.c"]}"#),
        p(&[("s.b", "2"), ("s.c", "4"), ("s.b", "5")])
    );
    let start = jetsim_core::jetstream::api::rfc3339(w.now());
    run(&mut w, 10 * MS);
    js_pub(&mut w, "c1", "s.d", "6");
    assert_eq!(
        first(&mut w, "TIME", &format!(r#"{{"deliver_policy":"by_start_time","opt_start_time":"{start}"}}"#)),
        p(&[("s.d", "6")])
    );
    let info = api(&mut w, "c1", "$JS.API.CONSUMER.INFO.S.NEW", "");
    assert_eq!(info["num_pending"], 1, "{info}");
    no_violations(&w);
}

#[test]
fn max_ack_pending_stops_delivery() {
    let mut w = world(3, 9);
    add_stream(&mut w, "S", "s.>", 1, "");
    for i in 1..=5 {
        js_pub(&mut w, "c1", "s.x", &i.to_string());
    }
    api(
        &mut w,
        "c1",
        "$JS.API.CONSUMER.CREATE.S.C",
        r#"{"stream_name":"S","config":{"durable_name":"C","ack_policy":"explicit","max_ack_pending":2}}"#,
    );
    let got = pull(&mut w, "c1", "S", "C", r#"{"batch":5,"expires":300000000}"#, 350 * MS);
    let msgs: Vec<&(String, String, String)> = got.iter().filter(|g| g.0 != "STATUS").collect();
    assert_eq!(msgs.len(), 2, "{got:?}");
    assert_eq!(
        got.last().unwrap().1,
        "NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: 3\r\nNats-Pending-Bytes: 0\r\n\r\n"
    );
    // Acking one lets one more through to a waiting request.
    let r = inbox("pull");
    publish(&mut w, "c1", "$JS.API.CONSUMER.MSG.NEXT.S.C", r#"{"batch":5,"expires":2000000000}"#, Some(&r));
    run(&mut w, 50 * MS);
    let ack = msgs[0].1.clone();
    let mark = log(&w, "c1").len();
    publish(&mut w, "c1", &ack, "+ACK", None);
    run(&mut w, 100 * MS);
    let more: Vec<SubMsg> = since(&w, "c1", mark).into_iter().filter(|m| &*m.subject == "s.x").collect();
    assert_eq!(more.len(), 1);
    assert_eq!(&more[0].payload[..], b"3");
    no_violations(&w);
}

#[test]
fn ack_next_requests_more() {
    let mut w = world(3, 10);
    add_stream(&mut w, "S", "s.>", 1, "");
    for i in 1..=4 {
        js_pub(&mut w, "c1", "s.x", &i.to_string());
    }
    api(
        &mut w,
        "c1",
        "$JS.API.CONSUMER.CREATE.S.C",
        r#"{"stream_name":"S","config":{"durable_name":"C","ack_policy":"explicit"}}"#,
    );
    let got = pull(&mut w, "c1", "S", "C", "", 100 * MS);
    assert_eq!(got.len(), 1);
    // +NXT 2 sent as a request: the next two arrive on its reply subject.
    let r = inbox("nxt");
    let mark = log(&w, "c1").len();
    publish(&mut w, "c1", &got[0].1, "+NXT 2", Some(&r));
    run(&mut w, 100 * MS);
    let next: Vec<SubMsg> = since(&w, "c1", mark).into_iter().filter(|m| &*m.subject == "s.x").collect();
    assert_eq!(next.iter().map(|m| String::from_utf8_lossy(&m.payload).into_owned()).collect::<Vec<_>>(), ["2", "3"]);
    let info = api(&mut w, "c1", "$JS.API.CONSUMER.INFO.S.C", "");
    assert_eq!((info["ack_floor"]["stream_seq"].as_u64(), info["num_ack_pending"].as_u64()), (Some(1), Some(2)));
    no_violations(&w);
}

#[test]
fn push_consumer_delivers_heartbeats_and_headers_only() {
    let mut w = world(3, 11);
    add_stream(&mut w, "P", "p.>", 1, "");
    js_pub(&mut w, "c1", "p.x", "hello");
    cmd(&mut w, "c3", "nats sub deliver.p");
    run(&mut w, 100 * MS);
    let v = api(
        &mut w,
        "c1",
        "$JS.API.CONSUMER.CREATE.P.PC",
        r#"{"stream_name":"P","config":{"durable_name":"PC","deliver_subject":"deliver.p","ack_policy":"explicit","idle_heartbeat":500000000,"headers_only":true}}"#,
    );
    assert!(v.get("error").is_none(), "{v}");
    run(&mut w, 1000 * MS);
    let got: Vec<SubMsg> = log(&w, "c3").into_iter().filter(|m| &*m.sub == "deliver.p").collect();
    assert_eq!(&*got[0].subject, "p.x");
    assert!(got[0].payload.is_empty());
    assert_eq!(hdr(&got[0]), "NATS/1.0\r\nNats-Msg-Size: 5\r\n\r\n");
    assert!(got[0].reply.as_deref().unwrap().starts_with("$JS.ACK.P.PC.1.1.1."));
    let hbs: Vec<&SubMsg> = got.iter().filter(|m| hdr(m).starts_with("NATS/1.0 100 Idle Heartbeat")).collect();
    assert_eq!(hbs.len(), 2, "{got:?}");
    assert_eq!(hdr(hbs[0]), "NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 1\r\nNats-Last-Stream: 1\r\n\r\n");
    let info = api(&mut w, "c1", "$JS.API.CONSUMER.INFO.P.PC", "");
    assert_eq!(info["push_bound"], true);
    // A pull request to a push consumer.
    let got = pull(&mut w, "c1", "P", "PC", "", 100 * MS);
    assert_eq!(got.iter().map(|g| g.1.as_str()).collect::<Vec<_>>(), ["NATS/1.0 409 Consumer is push based\r\n\r\n"]);
    no_violations(&w);
}

#[test]
fn ephemeral_deleted_after_inactive_threshold() {
    let mut w = world(3, 12);
    add_stream(&mut w, "S", "s.>", 1, "");
    let v = api(
        &mut w,
        "c1",
        "$JS.API.CONSUMER.CREATE.S.E",
        r#"{"stream_name":"S","config":{"name":"E","inactive_threshold":1000000000}}"#,
    );
    assert_eq!(v["config"]["inactive_threshold"], 1_000_000_000);
    run(&mut w, 400 * MS);
    let v = api(&mut w, "c1", "$JS.API.CONSUMER.INFO.S.E", "");
    assert_eq!(v["name"], "E");
    run(&mut w, 600 * MS);
    let v = api(&mut w, "c1", "$JS.API.CONSUMER.INFO.S.E", "");
    assert_eq!(v["error"]["err_code"], 10014, "{v}");
    no_violations(&w);
}

/// Spec §7 rows 51/52/57: a consumer of an R3 stream keeps its delivered and
/// ack state across a leader change, and waiting pulls get 409 Leadership Change.
#[test]
fn r3_consumer_survives_leader_change() {
    let mut w = world(3, 13);
    add_stream(&mut w, "R", "r.>", 3, "");
    for i in 1..=6 {
        js_pub(&mut w, "c1", "r.x", &i.to_string());
    }
    api(
        &mut w,
        "c1",
        "$JS.API.CONSUMER.CREATE.R.C",
        r#"{"stream_name":"R","config":{"durable_name":"C","ack_policy":"explicit"}}"#,
    );
    let got = pull(&mut w, "c2", "R", "C", r#"{"batch":3}"#, 100 * MS);
    assert_eq!(got.len(), 3);
    for g in &got[..2] {
        publish(&mut w, "c2", &g.1, "+ACK", None);
    }
    run(&mut w, 200 * MS);
    // c3 takes 4, 5 and 6 and keeps waiting for 7 more.
    let w2 = inbox("pull");
    let mark = log(&w, "c3").len();
    publish(&mut w, "c3", "$JS.API.CONSUMER.MSG.NEXT.R.C", r#"{"batch":10,"expires":30000000000}"#, Some(&w2));
    run(&mut w, 100 * MS);
    let before = consumer_leader(&w, "R", "C").unwrap();
    let stream_leader = w.stream_leader("R").unwrap();
    let info = api(&mut w, "c1", "$JS.API.CONSUMER.INFO.R.C", "");
    assert_eq!((info["delivered"]["stream_seq"].as_u64(), info["num_waiting"].as_u64()), (Some(6), Some(1)), "{info}");
    let v = api(&mut w, "c1", "$JS.API.CONSUMER.LEADER.STEPDOWN.R.C", "");
    assert_eq!(v, json!({"type":"io.nats.jetstream.api.v1.consumer_leader_stepdown_response","success":true}));
    run(&mut w, 2 * SEC);
    let after = consumer_leader(&w, "R", "C").expect("a new consumer leader");
    assert_ne!(before, after);
    // Only the consumer's group stepped down.
    assert_eq!(w.stream_leader("R"), Some(stream_leader));
    let lc: Vec<String> = since(&w, "c3", mark).iter().filter(|m| &*m.subject == w2.as_str()).map(hdr).collect();
    assert_eq!(lc, ["NATS/1.0 409 Leadership Change\r\n\r\n"]);
    // The new leader knows what was delivered and acked.
    let info = api(&mut w, "c1", "$JS.API.CONSUMER.INFO.R.C", "");
    assert_eq!(info["cluster"]["leader"], w.name(after));
    assert_eq!(
        (info["delivered"]["consumer_seq"].as_u64(), info["delivered"]["stream_seq"].as_u64()),
        (Some(6), Some(6)),
        "{info}"
    );
    assert_eq!(
        (info["ack_floor"]["consumer_seq"].as_u64(), info["ack_floor"]["stream_seq"].as_u64()),
        (Some(2), Some(2)),
        "{info}"
    );
    assert_eq!((info["num_ack_pending"].as_u64(), info["num_pending"].as_u64()), (Some(4), Some(0)), "{info}");
    // New messages continue the sequence on the new leader.
    js_pub(&mut w, "c1", "r.x", "7");
    let got = pull(&mut w, "c2", "R", "C", r#"{"batch":1,"expires":500000000}"#, 200 * MS);
    assert_eq!((got[0].2.as_str(), ack_tokens(&got[0].1).1, ack_tokens(&got[0].1).2), ("7", 7, 7), "{got:?}");
    no_violations(&w);
}

fn stream_msgs(w: &mut World, stream: &str) -> (u64, u64) {
    let v = api(w, "c1", &format!("$JS.API.STREAM.INFO.{stream}"), "");
    (v["state"]["messages"].as_u64().unwrap(), v["state"]["first_seq"].as_u64().unwrap())
}

/// Spec §7 rows 13, 14, 48, 53: work-queue restrictions, and acked messages leave.
#[test]
fn workqueue_retention_and_restrictions() {
    let mut w = world(3, 14);
    let v = api(
        &mut w,
        "c1",
        "$JS.API.STREAM.CREATE.WQ",
        r#"{"name":"WQ","subjects":["wq.>"],"retention":"workqueue","num_replicas":3}"#,
    );
    assert!(v.get("error").is_none(), "{v}");
    let create = |w: &mut World, name: &str, cfg: &str| -> Value {
        api(
            w,
            "c1",
            &format!("$JS.API.CONSUMER.CREATE.WQ.{name}"),
            &format!(r#"{{"stream_name":"WQ","config":{cfg}}}"#),
        )
    };
    let e = create(&mut w, "A", r#"{"durable_name":"A"}"#);
    assert_eq!(
        e["error"],
        json!({"code":400,"err_code":10084,"description":"consumer in pull mode requires explicit ack policy on workqueue stream"})
    );
    assert!(create(&mut w, "A", r#"{"durable_name":"A","ack_policy":"explicit"}"#).get("error").is_none());
    let e = create(&mut w, "B", r#"{"durable_name":"B","ack_policy":"explicit"}"#);
    assert_eq!(
        e["error"],
        json!({"code":400,"err_code":10099,"description":"multiple non-filtered consumers not allowed on workqueue stream"})
    );
    let e = create(&mut w, "B", r#"{"durable_name":"B","ack_policy":"explicit","filter_subject":"wq.a"}"#);
    assert_eq!(
        e["error"],
        json!({"code":400,"err_code":10100,"description":"filtered consumer not unique on workqueue stream"})
    );
    assert_eq!(api(&mut w, "c1", "$JS.API.CONSUMER.DELETE.WQ.A", "")["success"], true);
    assert!(create(&mut w, "B", r#"{"durable_name":"B","ack_policy":"explicit","filter_subject":"wq.a"}"#)
        .get("error")
        .is_none());
    assert_eq!(
        create(&mut w, "C", r#"{"durable_name":"C","ack_policy":"explicit","filter_subject":"wq.*"}"#)["error"]
            ["err_code"],
        10100
    );
    let e = create(
        &mut w,
        "C",
        r#"{"durable_name":"C","ack_policy":"explicit","filter_subject":"wq.b","deliver_policy":"last"}"#,
    );
    assert_eq!(
        e["error"],
        json!({"code":400,"err_code":10101,"description":"consumer must be deliver all on workqueue stream"})
    );
    assert!(create(&mut w, "C", r#"{"durable_name":"C","ack_policy":"explicit","filter_subject":"wq.b"}"#)
        .get("error")
        .is_none());
    for s in ["wq.a", "wq.a", "wq.b", "wq.a", "wq.b"] {
        js_pub(&mut w, "c1", s, "job");
    }
    assert_eq!(stream_msgs(&mut w, "WQ"), (5, 1));
    let b = pull(&mut w, "c2", "WQ", "B", r#"{"batch":3}"#, 100 * MS);
    assert_eq!(b.iter().map(|g| ack_tokens(&g.1).1).collect::<Vec<_>>(), [1, 2, 4]);
    for g in &b[..2] {
        publish(&mut w, "c2", &g.1, "+ACK", None);
    }
    run(&mut w, 200 * MS);
    assert_eq!(stream_msgs(&mut w, "WQ"), (3, 3));
    let c = pull(&mut w, "c3", "WQ", "C", r#"{"batch":3,"no_wait":true}"#, 100 * MS);
    for g in c.iter().filter(|g| g.0 != "STATUS") {
        publish(&mut w, "c3", &g.1, "+ACK", None);
    }
    run(&mut w, 200 * MS);
    assert_eq!(stream_msgs(&mut w, "WQ"), (1, 4));
    // Every replica removed the same messages.
    let digests: Vec<u64> = w.stream_replicas("WQ").into_iter().map(|(_, r)| r.store.digest()).collect();
    assert_eq!(digests.len(), 3);
    assert!(digests.iter().all(|d| *d == digests[0]), "{digests:?}");
    no_violations(&w);
}

/// Spec §7 rows 26, 27, 53: an interest stream keeps a message until every
/// consumer whose filter matches acknowledged it; deleting consumers lets go.
#[test]
fn interest_retention_removes_when_all_acked() {
    let mut w = world(3, 15);
    let v = api(&mut w, "c1", "$JS.API.STREAM.CREATE.I", r#"{"name":"I","subjects":["i.>"],"retention":"interest"}"#);
    assert!(v.get("error").is_none(), "{v}");
    for (n, cfg) in
        [("X", r#""ack_policy":"explicit""#), ("Y", r#""ack_policy":"all""#), ("Z", r#""filter_subject":"i.z""#)]
    {
        let v = api(
            &mut w,
            "c1",
            &format!("$JS.API.CONSUMER.CREATE.I.{n}"),
            &format!(r#"{{"stream_name":"I","config":{{"durable_name":"{n}",{cfg}}}}}"#),
        );
        assert!(v.get("error").is_none(), "{v}");
    }
    for s in ["i.a", "i.a", "i.z"] {
        js_pub(&mut w, "c1", s, "m");
    }
    assert_eq!(stream_msgs(&mut w, "I"), (3, 1));
    let x = pull(&mut w, "c1", "I", "X", r#"{"batch":3}"#, 100 * MS);
    let y = pull(&mut w, "c1", "I", "Y", r#"{"batch":3}"#, 100 * MS);
    assert_eq!((x.len(), y.len()), (3, 3));
    publish(&mut w, "c1", &x[0].1, "+ACK", None);
    run(&mut w, 100 * MS);
    assert_eq!(stream_msgs(&mut w, "I"), (3, 1), "Y still needs 1");
    publish(&mut w, "c1", &y[1].1, "+ACK", None);
    run(&mut w, 100 * MS);
    assert_eq!(stream_msgs(&mut w, "I"), (2, 2), "Y acked 1 and 2; X still needs 2");
    publish(&mut w, "c1", &x[1].1, "+ACK", None);
    publish(&mut w, "c1", &x[2].1, "+ACK", None);
    publish(&mut w, "c1", &y[2].1, "+ACK", None);
    run(&mut w, 100 * MS);
    assert_eq!(stream_msgs(&mut w, "I"), (1, 3), "Z (ack none, filter i.z) has not seen 3 yet");
    let z = pull(&mut w, "c1", "I", "Z", r#"{"batch":1}"#, 100 * MS);
    assert_eq!(z.len(), 1);
    assert_eq!(stream_msgs(&mut w, "I").0, 0);
    // Only consumers whose filter matches hold a message; deleting them lets it go.
    js_pub(&mut w, "c1", "i.b", "m");
    assert_eq!(stream_msgs(&mut w, "I").0, 1);
    api(&mut w, "c1", "$JS.API.CONSUMER.DELETE.I.X", "");
    assert_eq!(stream_msgs(&mut w, "I").0, 1);
    api(&mut w, "c1", "$JS.API.CONSUMER.DELETE.I.Y", "");
    assert_eq!(stream_msgs(&mut w, "I").0, 0);
    no_violations(&w);
}

/// `jetsim run --json`: each stream lists its consumers with their state.
#[test]
fn report_lists_consumers() {
    let mut w = world(3, 16);
    add_stream(&mut w, "S", "s.>", 3, "");
    for i in 1..=3 {
        js_pub(&mut w, "c1", "s.x", &i.to_string());
    }
    api(
        &mut w,
        "c1",
        "$JS.API.CONSUMER.CREATE.S.C",
        r#"{"stream_name":"S","config":{"durable_name":"C","ack_policy":"explicit"}}"#,
    );
    let got = pull(&mut w, "c1", "S", "C", r#"{"batch":2}"#, 100 * MS);
    publish(&mut w, "c1", &got[0].1, "+ACK", None);
    let r = inbox("pull");
    publish(&mut w, "c2", "$JS.API.CONSUMER.MSG.NEXT.S.C", r#"{"batch":5,"expires":10000000000}"#, Some(&r));
    run(&mut w, 200 * MS);
    let report = jetsim_core::report::Report::from_world(&w, None);
    let v = serde_json::to_value(&report).unwrap();
    let s = v["streams"].as_array().unwrap().iter().find(|s| s["name"] == "S").unwrap().clone();
    let leader = w.name(consumer_leader(&w, "S", "C").unwrap()).to_string();
    let group = s["consumers"][0]["group"].as_str().unwrap_or_default().to_string();
    assert!(group.starts_with("C-R3F-"), "{s}");
    assert_eq!(
        s["consumers"],
        json!([{"name":"C","delivered":{"consumer_seq":3,"stream_seq":3},"ack_floor":{"consumer_seq":1,"stream_seq":1},
                "num_pending":0,"num_ack_pending":2,"num_redelivered":0,"num_waiting":1,"leader":leader,"group":group}])
    );
    no_violations(&w);
}

fn fault(w: &mut World, line: &str) {
    let sc = w.scenario().clone();
    let a =
        scenario::parse_action_line(line, &sc, &scenario::Limits::default()).unwrap_or_else(|e| panic!("{line}: {e}"));
    w.apply_action(&a);
}

/// A consumer's state is in the stream's log: a whole-cluster restart
/// brings it back (delivered, ack floor, pending).
#[test]
fn consumer_state_survives_cluster_restart() {
    let mut w = world(3, 17);
    add_stream(&mut w, "S", "s.>", 3, "");
    for i in 1..=4 {
        js_pub(&mut w, "c1", "s.x", &i.to_string());
    }
    api(
        &mut w,
        "c1",
        "$JS.API.CONSUMER.CREATE.S.C",
        r#"{"stream_name":"S","config":{"durable_name":"C","ack_policy":"explicit"}}"#,
    );
    let got = pull(&mut w, "c1", "S", "C", r#"{"batch":3}"#, 100 * MS);
    publish(&mut w, "c1", &got[0].1, "+ACK", None);
    publish(&mut w, "c1", &got[1].1, "+ACK", None);
    run(&mut w, 200 * MS);
    for n in ["n1", "n2", "n3"] {
        fault(&mut w, &format!("kill {n}"));
    }
    run(&mut w, 100 * MS);
    for n in ["n1", "n2", "n3"] {
        fault(&mut w, &format!("restart {n}"));
    }
    run(&mut w, 5 * SEC);
    assert!(w.stream_leader("S").is_some());
    let info = api(&mut w, "c1", "$JS.API.CONSUMER.INFO.S.C", "");
    assert_eq!(
        (info["delivered"]["consumer_seq"].as_u64(), info["delivered"]["stream_seq"].as_u64()),
        (Some(3), Some(3)),
        "{info}"
    );
    assert_eq!(
        (info["ack_floor"]["stream_seq"].as_u64(), info["num_ack_pending"].as_u64(), info["num_pending"].as_u64()),
        (Some(2), Some(1), Some(1)),
        "{info}"
    );
    let got = pull(&mut w, "c1", "S", "C", r#"{"batch":1}"#, 100 * MS);
    assert_eq!((got.len(), ack_tokens(&got[0].1).1), (1, 4), "{got:?}");
    no_violations(&w);
}

/// Spec §7 rows 10, 11, 22: a purge moves the consumer past the purged
/// messages (pending dropped, floors moved) and later messages are delivered.
#[test]
fn purge_moves_consumer() {
    let mut w = world(3, 18);
    add_stream(&mut w, "S", "s.>", 1, "");
    for i in 1..=5 {
        js_pub(&mut w, "c1", "s.x", &i.to_string());
    }
    api(
        &mut w,
        "c1",
        "$JS.API.CONSUMER.CREATE.S.C",
        r#"{"stream_name":"S","config":{"durable_name":"C","ack_policy":"explicit"}}"#,
    );
    let got = pull(&mut w, "c1", "S", "C", r#"{"batch":2}"#, 100 * MS);
    assert_eq!(got.iter().map(|g| ack_tokens(&g.1).3).collect::<Vec<_>>(), [4, 3]);
    let v = api(&mut w, "c1", "$JS.API.STREAM.PURGE.S", "");
    assert_eq!(v["purged"], 5, "{v}");
    let info = api(&mut w, "c1", "$JS.API.CONSUMER.INFO.S.C", "");
    assert_eq!(
        (info["num_ack_pending"].as_u64(), info["num_pending"].as_u64(), info["ack_floor"]["stream_seq"].as_u64()),
        (Some(0), Some(0), Some(5)),
        "{info}"
    );
    js_pub(&mut w, "c1", "s.x", "6");
    js_pub(&mut w, "c1", "s.x", "7");
    let got = pull(&mut w, "c1", "S", "C", r#"{"batch":5,"no_wait":true}"#, 100 * MS);
    let msgs: Vec<(u64, u64, u64)> = got
        .iter()
        .filter(|g| g.0 != "STATUS")
        .map(|g| {
            let t = ack_tokens(&g.1);
            (t.1, t.2, t.3)
        })
        .collect();
    assert_eq!(msgs, [(6, 3, 1), (7, 4, 0)]);
    no_violations(&w);
}

/// Spec §7 row 32: a push consumer with flow control sends a
/// `100 FlowControl Request` past half its window (2 MiB to start, as nats:
/// 32 MiB / 16) and stalls beyond the window until the subscriber answers;
/// heartbeats meanwhile carry `Nats-Consumer-Stalled`. A wildcard
/// subscription does not make a push consumer active (nats watches the
/// exact deliver subject).
#[test]
fn push_flow_control_stalls_until_answered() {
    let mut w = world(3, 19);
    add_stream(&mut w, "P", "p.>", 1, "");
    let big = "x".repeat(300_000);
    for _ in 0..8 {
        js_pub(&mut w, "c1", "p.x", &big);
    }
    cmd(&mut w, "c3", "nats sub deliver.>");
    cmd(&mut w, "c2", "nats sub deliver.fc");
    run(&mut w, 100 * MS);
    let v = api(
        &mut w,
        "c1",
        "$JS.API.CONSUMER.CREATE.P.F",
        r#"{"stream_name":"P","config":{"durable_name":"F","deliver_subject":"deliver.fc","flow_control":true,"idle_heartbeat":300000000}}"#,
    );
    assert_eq!(v["config"]["flow_control"], true, "{v}");
    run(&mut w, 500 * MS);
    let got: Vec<SubMsg> = log(&w, "c2").into_iter().filter(|m| &*m.sub == "deliver.fc").collect();
    let kinds: Vec<String> = got
        .iter()
        .map(|m| {
            if m.payload.len() == big.len() {
                "msg".to_string()
            } else {
                hdr(m).lines().next().unwrap_or("").to_string()
            }
        })
        .collect();
    let fc = "NATS/1.0 100 FlowControl Request";
    let hb = "NATS/1.0 100 Idle Heartbeat";
    assert_eq!(kinds[..8], ["msg", "msg", "msg", "msg", fc, "msg", "msg", "msg"], "{kinds:?}");
    assert!(kinds[8..].iter().all(|k| k == hb), "{kinds:?}");
    let fc_msg = &got[4];
    assert_eq!(hdr(fc_msg), "NATS/1.0 100 FlowControl Request\r\n\r\n");
    let fc_reply = fc_msg.reply.as_deref().unwrap().to_string();
    assert!(fc_reply.starts_with("$JS.FC.P.F.") && fc_reply.len() == "$JS.FC.P.F.".len() + 4, "{fc_reply}");
    let stalled = got.iter().find(|m| hdr(m).starts_with(hb)).unwrap();
    assert_eq!(hdr(stalled), format!("NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 7\r\nNats-Last-Stream: 7\r\nNats-Consumer-Stalled: {fc_reply}\r\n\r\n"));
    // The answer lets the rest through.
    publish(&mut w, "c2", &fc_reply, "", None);
    run(&mut w, 100 * MS);
    let data = log(&w, "c2").iter().filter(|m| &*m.sub == "deliver.fc" && m.payload.len() == big.len()).count();
    assert_eq!(data, 8);
    // The wildcard subscriber saw the same messages but did not count as interest.
    api(
        &mut w,
        "c1",
        "$JS.API.CONSUMER.CREATE.P.W",
        r#"{"stream_name":"P","config":{"durable_name":"W","deliver_subject":"deliver.w"}}"#,
    );
    run(&mut w, 300 * MS);
    assert!(!log(&w, "c3")
        .iter()
        .any(|m| &*m.subject == "p.x" && m.reply.as_deref().is_some_and(|r| r.starts_with("$JS.ACK.P.W."))));
    let info = api(&mut w, "c1", "$JS.API.CONSUMER.INFO.P.W", "");
    assert!(info.get("push_bound").is_none(), "{info}");
    assert_eq!(info["delivered"]["consumer_seq"], 0);
    no_violations(&w);
}

/// A push consumer with a deliver group hands each message to one member.
#[test]
fn push_deliver_group_splits() {
    let mut w = world(3, 20);
    add_stream(&mut w, "P", "p.>", 1, "");
    // Members on the two servers that do not lead (a local member would
    // always be preferred, as in nats-server).
    let leader = w.name(w.stream_leader("P").unwrap()).to_string();
    let members: Vec<String> =
        ["1", "2", "3"].iter().filter(|i| leader != format!("n{i}")).map(|i| format!("c{i}")).collect();
    for c in &members {
        cmd(&mut w, c, "nats sub deliver.g --queue workers");
    }
    run(&mut w, 100 * MS);
    let v = api(
        &mut w,
        "c1",
        "$JS.API.CONSUMER.CREATE.P.G",
        r#"{"stream_name":"P","config":{"durable_name":"G","deliver_subject":"deliver.g","deliver_group":"workers","ack_policy":"explicit"}}"#,
    );
    assert_eq!(v["config"]["deliver_group"], "workers", "{v}");
    for i in 1..=20 {
        js_pub(&mut w, "c1", "p.x", &i.to_string());
    }
    run(&mut w, 200 * MS);
    let mut seqs: Vec<u64> = Vec::new();
    let mut per = Vec::new();
    for c in &members {
        let mine: Vec<u64> = log(&w, c)
            .iter()
            .filter(|m| &*m.sub == "deliver.g")
            .map(|m| ack_tokens(m.reply.as_deref().unwrap()).1)
            .collect();
        per.push(mine.len());
        seqs.extend(mine);
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=20).collect::<Vec<u64>>());
    assert!(per.iter().all(|&n| n > 0), "{per:?}");
    no_violations(&w);
}

/// Untrusted bodies and subjects: every create gets an error answer, pulls
/// and acks with garbage are answered or ignored, nothing panics.
#[test]
fn garbage_requests_never_panic() {
    let mut w = world(3, 21);
    add_stream(&mut w, "S", "s.>", 1, "");
    js_pub(&mut w, "c1", "s.a", "x");
    let bodies = [
        "{",
        "[]",
        "null",
        "1",
        r#""str""#,
        r#"{"stream_name":1}"#,
        r#"{"stream_name":"S","config":[]}"#,
        r#"{"stream_name":"S","config":{"opt_start_time":"2025-13-45T99:99:99Z","deliver_policy":"by_start_time"}}"#,
        r#"{"stream_name":"S","config":{"opt_start_time":"2025-01-01T00:00:0é0Z","deliver_policy":"by_start_time"}}"#,
        r#"{"stream_name":"S","config":{"backoff":[-1],"ack_policy":"explicit"}}"#,
        r#"{"stream_name":"S","config":{"max_deliver":-9223372036854775808,"ack_wait":-5}}"#,
        r#"{"stream_name":"S","config":{"filter_subjects":["s.a",""]}}"#,
        r#"{"stream_name":"S","config":{"filter_subject":"s..a"}}"#,
        r#"{"stream_name":"S","config":{"durable_name":"a*b"}}"#,
        r#"{"stream_name":"S","config":{"deliver_subject":"s.a"}}"#,
        r#"{"stream_name":"S","config":{"metadata":{"k":1}}}"#,
        r#"{"stream_name":"S","action":"explode","config":{}}"#,
        r#"{"stream_name":"S","config":{"replay_policy":"original"}}"#,
    ];
    for b in bodies {
        let v = api(&mut w, "c1", "$JS.API.CONSUMER.CREATE.S.G", b);
        assert!(v["error"]["err_code"].as_u64().is_some(), "{b}: {v}");
    }
    let v = api(
        &mut w,
        "c1",
        "$JS.API.CONSUMER.CREATE.S.OK",
        r#"{"stream_name":"S","config":{"ack_policy":"explicit","opt_start_seq":18446744073709551615,"deliver_policy":"by_start_sequence"}}"#,
    );
    assert!(v.get("error").is_none(), "{v}");
    let v = api(
        &mut w,
        "c1",
        "$JS.API.CONSUMER.CREATE.S.P",
        r#"{"stream_name":"S","config":{"ack_policy":"explicit","inactive_threshold":9223372036854775807,"max_expires":9223372036854775807}}"#,
    );
    assert!(v.get("error").is_none(), "{v}");
    for body in [
        "{",
        r#"{"batch":-9223372036854775808,"expires":9223372036854775807}"#,
        "-3",
        "99999999999999999999",
        r#"{"no_wait":"yes"}"#,
        r#"{"idle_heartbeat":9223372036854775807,"expires":1}"#,
    ] {
        pull(&mut w, "c1", "S", "P", body, 50 * MS);
        pull(&mut w, "c1", "S", "OK", body, 50 * MS);
    }
    let got = pull(&mut w, "c1", "S", "P", "{", 50 * MS);
    assert!(got[0].1.starts_with("NATS/1.0 400 Bad Request - "), "{got:?}");
    for subj in [
        "$JS.ACK.S.P.x.y.z.1.2",
        "$JS.ACK.S.P.1.18446744073709551615.1.1.1",
        "$JS.ACK.S.P",
        "$JS.ACK.S.P.1.1.1.1.1.extra",
    ] {
        for body in ["+ACK", "-NAK 5zz", "-NAK {\"delay\":-5}", "+NXT {", "+TERM why", "+WPI", "junk"] {
            publish(&mut w, "c1", subj, body, Some("_INBOX.junk"));
        }
    }
    run(&mut w, 2 * SEC);
    let info = api(&mut w, "c1", "$JS.API.CONSUMER.INFO.S.P", "");
    assert_eq!(info["name"], "P");
    no_violations(&w);
}

/// `nats consumer ...` scenario commands: parsing, errors naming the
/// problem, text round trips, and what they do in the world.
#[test]
fn consumer_cli_commands() {
    use jetsim_core::scenario::{client_cmd_text, parse_client_command, ConsumerCmd};
    let lines = [
        "nats consumer add S C --pull --ack explicit --deliver all",
        "nats consumer add S P --target deliver.p --ack none --deliver new --filter s.a --filter s.b --max-deliver 3 --wait 2s --max-pending 10",
        "nats consumer info S C",
        "nats consumer rm S C -f",
        "nats consumer ls S",
        "nats consumer next S C --count 3 --no-ack",
        "nats consumer next S C",
        "nats consumer cluster step-down S C",
    ];
    for l in lines {
        let c = parse_client_command(l).unwrap_or_else(|e| panic!("{l}: {e}"));
        assert_eq!(client_cmd_text(&c), l);
        assert_eq!(parse_client_command(&client_cmd_text(&c)).unwrap(), c);
    }
    assert!(matches!(
        parse_client_command("nats con add S C").unwrap(),
        ClientCmd::Consumer(ConsumerCmd::Add { ref ack, ref deliver, target: None, .. }) if ack == "explicit" && deliver == "all"
    ));
    let err = |l: &str| parse_client_command(l).unwrap_err();
    assert!(err("nats consumer").contains("known subcommands are add, info, rm, ls, next"));
    assert!(err("nats consumer rm S C").contains("needs -f"));
    assert!(err("nats consumer add S").contains("missing consumer name"));
    assert!(err("nats consumer add S C --ack maybe").contains("--ack maybe"));
    assert!(err("nats consumer add S C.x").contains("invalid consumer name"));
    assert!(err("nats consumer add S C --target a.*").contains("--target"));
    assert!(err("nats consumer next S C --count 0").contains("--count"));
    assert!(err("nats consumer bogus").contains("unknown command \"nats consumer bogus\""));
    assert!(err("nats consumer cluster S C").contains("usage: nats consumer cluster step-down STREAM NAME"));
    assert!(err("nats consumer cluster step-down S").contains("missing consumer name"));

    let mut w = world(3, 22);
    add_stream(&mut w, "S", "s.>", 3, "");
    for i in 1..=3 {
        js_pub(&mut w, "c1", "s.x", &i.to_string());
    }
    let last = |w: &World, c: &str| {
        let ep = w.endpoint(c).unwrap();
        w.clients[(ep - w.server_count()) as usize].node.js.last_api.clone().unwrap()
    };
    cmd(&mut w, "c1", "nats consumer add S C --pull --wait 5s");
    run(&mut w, 300 * MS);
    let (op, body) = last(&w, "c1");
    assert_eq!(op, "consumer add S C");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (v["config"]["ack_wait"].as_u64(), v["config"]["ack_policy"].as_str()),
        (Some(5 * SEC), Some("explicit")),
        "{v}"
    );
    cmd(&mut w, "c2", "nats consumer next S C --count 2");
    run(&mut w, 300 * MS);
    cmd(&mut w, "c2", "nats consumer info S C");
    run(&mut w, 300 * MS);
    let v: Value = serde_json::from_str(&last(&w, "c2").1).unwrap();
    assert_eq!((v["ack_floor"]["stream_seq"].as_u64(), v["num_pending"].as_u64()), (Some(2), Some(1)), "{v}");
    // A pull with nothing left ends with the status.
    cmd(&mut w, "c2", "nats consumer next S C --count 5");
    run(&mut w, 300 * MS);
    cmd(&mut w, "c2", "nats consumer info S C");
    run(&mut w, 300 * MS);
    let v: Value = serde_json::from_str(&last(&w, "c2").1).unwrap();
    assert_eq!((v["ack_floor"]["stream_seq"].as_u64(), v["num_waiting"].as_u64()), (Some(3), Some(1)), "{v}");
    cmd(&mut w, "c3", "nats consumer ls S");
    run(&mut w, 300 * MS);
    let v: Value = serde_json::from_str(&last(&w, "c3").1).unwrap();
    assert_eq!(v["consumers"], json!(["C"]));
    cmd(&mut w, "c3", "nats consumer rm S C -f");
    run(&mut w, 300 * MS);
    assert_eq!(serde_json::from_str::<Value>(&last(&w, "c3").1).unwrap()["success"], true);
    no_violations(&w);
}

/// The pull-consumer example: every message delivered once, acknowledged,
/// the waiting pull told about the leader change.
#[test]
fn pull_consumer_scenario() {
    let text = include_str!("../../../scenarios/pull-consumer.jetsim");
    let w = jetsim_core::sim::run_headless(text, 1, None, 50_000_000).unwrap();
    let report = serde_json::to_value(jetsim_core::report::Report::from_world(&w, None)).unwrap();
    let s = &report["streams"][0];
    assert_eq!(s["publishes_acked"], 40);
    let c = &s["consumers"][0];
    assert_eq!(
        (c["delivered"]["stream_seq"].as_u64(), c["ack_floor"]["stream_seq"].as_u64(), c["num_redelivered"].as_u64()),
        (Some(40), Some(40), Some(0)),
        "{c}"
    );
    let received: u64 = report["clients"].as_array().unwrap().iter().map(|c| c["received"].as_u64().unwrap()).sum();
    assert_eq!(received, 40);
    let ep = w.endpoint("worker1").unwrap();
    let (op, text) = w.clients[(ep - w.server_count()) as usize].node.js.last_api.clone().unwrap();
    assert_eq!((op.as_str(), text.as_str()), ("consumer next JOBS workers", "409 Leadership Change"));
    assert!(w.all_violations().is_empty());
}

/// A pull request that expires while a message waits behind it does not
/// hold the message: the next request gets it.
#[test]
fn expired_request_does_not_hold_messages() {
    let mut w = world(3, 23);
    add_stream(&mut w, "S", "s.>", 1, "");
    api(
        &mut w,
        "c1",
        "$JS.API.CONSUMER.CREATE.S.C",
        r#"{"stream_name":"S","config":{"durable_name":"C","ack_policy":"explicit","filter_subject":"s.a","deliver_policy":"last_per_subject"}}"#,
    );
    // Two requests wait; the first expires; a message published later goes to the second.
    let r1 = inbox("pull");
    publish(&mut w, "c1", "$JS.API.CONSUMER.MSG.NEXT.S.C", r#"{"batch":1,"expires":100000000}"#, Some(&r1));
    let r2 = inbox("pull");
    publish(&mut w, "c1", "$JS.API.CONSUMER.MSG.NEXT.S.C", r#"{"batch":1,"expires":2000000000}"#, Some(&r2));
    run(&mut w, 200 * MS);
    js_pub(&mut w, "c1", "s.a", "late");
    let got: Vec<SubMsg> =
        log(&w, "c1").into_iter().filter(|m| &*m.subject == "s.a" || &*m.subject == r1.as_str()).collect();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(
        hdr(&got[0]),
        "NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: 1\r\nNats-Pending-Bytes: 0\r\n\r\n"
    );
    assert_eq!(&got[1].payload[..], b"late");
    no_violations(&w);
}

/// A NAK delay and a +WPI are replicated: the next leader keeps the
/// redelivery clock they set.
#[test]
fn nak_delay_survives_leader_change() {
    let mut w = world(3, 24);
    add_stream(&mut w, "R", "r.>", 3, "");
    js_pub(&mut w, "c1", "r.x", "1");
    api(
        &mut w,
        "c1",
        "$JS.API.CONSUMER.CREATE.R.C",
        r#"{"stream_name":"R","config":{"durable_name":"C","ack_policy":"explicit","ack_wait":1000000000}}"#,
    );
    let got = pull(&mut w, "c1", "R", "C", r#"{"batch":1}"#, 50 * MS);
    assert_eq!(got.len(), 1);
    publish(&mut w, "c1", &got[0].1, "-NAK 3s", None);
    run(&mut w, 50 * MS);
    let before = consumer_leader(&w, "R", "C").unwrap();
    api(&mut w, "c1", "$JS.API.CONSUMER.LEADER.STEPDOWN.R.C", "");
    run(&mut w, SEC);
    assert_ne!(consumer_leader(&w, "R", "C").unwrap(), before);
    // Past the 1 s ack wait, before the 3 s delay: nothing.
    let early = pull(&mut w, "c2", "R", "C", r#"{"batch":1,"expires":1200000000}"#, 1300 * MS);
    assert_eq!(early.iter().map(|g| g.0.as_str()).collect::<Vec<_>>(), ["STATUS"], "{early:?}");
    let late = pull(&mut w, "c2", "R", "C", r#"{"batch":1,"expires":2000000000}"#, 2100 * MS);
    assert_eq!((late[0].0.as_str(), ack_tokens(&late[0].1).0), ("r.x", 2), "{late:?}");
    no_violations(&w);
}

/// Deleting a consumer, or its stream, tells waiting pulls `409 Consumer Deleted`.
#[test]
fn waiting_pulls_told_consumer_deleted() {
    let mut w = world(3, 25);
    add_stream(&mut w, "S", "s.>", 3, "");
    for c in ["A", "B"] {
        api(
            &mut w,
            "c1",
            &format!("$JS.API.CONSUMER.CREATE.S.{c}"),
            &format!(r#"{{"stream_name":"S","config":{{"durable_name":"{c}"}}}}"#),
        );
    }
    let (ra, rb) = (inbox("pull"), inbox("pull"));
    publish(&mut w, "c2", "$JS.API.CONSUMER.MSG.NEXT.S.A", r#"{"batch":1,"expires":10000000000}"#, Some(&ra));
    publish(&mut w, "c2", "$JS.API.CONSUMER.MSG.NEXT.S.B", r#"{"batch":1,"expires":10000000000}"#, Some(&rb));
    run(&mut w, 100 * MS);
    api(&mut w, "c1", "$JS.API.CONSUMER.DELETE.S.A", "");
    api(&mut w, "c1", "$JS.API.STREAM.DELETE.S", "");
    let got: Vec<(String, String)> = log(&w, "c2")
        .iter()
        .filter(|m| &*m.subject == ra.as_str() || &*m.subject == rb.as_str())
        .map(|m| (m.subject.to_string(), hdr(m)))
        .collect();
    let deleted = "NATS/1.0 409 Consumer Deleted\r\n\r\n".to_string();
    assert_eq!(got, [(ra.clone(), deleted.clone()), (rb.clone(), deleted)]);
    no_violations(&w);
}

/// A pull request to a consumer that does not exist: no responders (nats
/// 2.10.10+ skips the `$JS.API.>` import for MSG.NEXT).
#[test]
fn pull_to_missing_consumer_is_no_responders() {
    let mut w = world(3, 26);
    add_stream(&mut w, "S", "s.>", 1, "");
    let got = pull(&mut w, "c1", "S", "NOPE", "", 100 * MS);
    assert_eq!(
        got.iter().map(|g| g.1.as_str()).collect::<Vec<_>>(),
        ["NATS/1.0 503\r\nNats-Subject: $JS.API.CONSUMER.MSG.NEXT.S.NOPE\r\n\r\n"]
    );
    no_violations(&w);
}

/// A standalone server (no cluster) shows no `cluster` block for consumers,
/// as nats-server 2.12.8 alone; an R3 consumer shows its own `C-R3F-` group,
/// its leader and the replicas.
#[test]
fn cluster_block_standalone_and_r3() {
    let mut w = world(1, 27);
    add_stream(&mut w, "S", "s.>", 1, "");
    let v = api(&mut w, "c1", "$JS.API.CONSUMER.CREATE.S.C", r#"{"stream_name":"S","config":{"durable_name":"C"}}"#);
    assert!(v.get("cluster").is_none(), "{v}");
    let mut w = world(3, 28);
    add_stream(&mut w, "R", "r.>", 3, "");
    let v = api(&mut w, "c1", "$JS.API.CONSUMER.CREATE.R.C", r#"{"stream_name":"R","config":{"durable_name":"C"}}"#);
    let keys: Vec<&str> = v["cluster"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["name", "raft_group", "leader", "leader_since", "system_account", "traffic_account", "replicas"],
        "{v}"
    );
    assert!(v["cluster"]["raft_group"].as_str().unwrap().starts_with("C-R3F-"), "{v}");
    assert_eq!(v["cluster"]["replicas"].as_array().unwrap().len(), 2);
}

/// Conformance `max_deliver`: after the last allowed delivery the request
/// keeps waiting (num_waiting 1), the message leaves pending.
#[test]
fn max_deliver_request_keeps_waiting() {
    for n in [1, 3] {
        max_deliver_waiting_on(n);
    }
}

fn max_deliver_waiting_on(n: usize) {
    let mut w = world(n, 29);
    add_stream(&mut w, "S", "s.>", 1, "");
    js_pub(&mut w, "c1", "s.1", "x");
    api(
        &mut w,
        "c1",
        "$JS.API.CONSUMER.CREATE.S.P",
        r#"{"stream_name":"S","config":{"durable_name":"P","ack_policy":"explicit","ack_wait":400000000,"max_deliver":2}}"#,
    );
    let got = pull(&mut w, "c1", "S", "P", r#"{"batch":5,"expires":6000000000}"#, 1200 * MS);
    assert_eq!(got.iter().map(|g| ack_tokens(&g.1).0).collect::<Vec<_>>(), [1, 2], "{got:?}");
    let info = api(&mut w, "c1", "$JS.API.CONSUMER.INFO.S.P", "");
    assert_eq!(
        (info["num_waiting"].as_u64(), info["num_ack_pending"].as_u64(), info["num_redelivered"].as_u64()),
        (Some(1), Some(0), Some(1)),
        "{info}"
    );
}

/// Conformance `push_basic` / `deliver_last_per_subject`: the create answer
/// comes before the first delivery, and a new consumer's ack floor is 0
/// whatever its start (nats stores only the starting delivered position).
#[test]
fn create_answer_before_delivery_and_floor_zero() {
    let mut w = world(1, 30);
    add_stream(&mut w, "S", "s.>", 1, "");
    for i in 1..=3 {
        js_pub(&mut w, "c1", &format!("s.{i}"), "m");
    }
    cmd(&mut w, "c1", "nats sub push.basic");
    run(&mut w, 50 * MS);
    let v = api(
        &mut w,
        "c1",
        "$JS.API.CONSUMER.CREATE.S.PUSH",
        r#"{"stream_name":"S","config":{"durable_name":"PUSH","ack_policy":"explicit","deliver_subject":"push.basic"}}"#,
    );
    assert_eq!(
        (v["delivered"]["stream_seq"].as_u64(), v["num_pending"].as_u64(), v["push_bound"].as_bool()),
        (Some(0), Some(3), Some(true)),
        "{v}"
    );
    let v = api(
        &mut w,
        "c1",
        "$JS.API.CONSUMER.CREATE.S.NEW",
        r#"{"stream_name":"S","config":{"durable_name":"NEW","deliver_policy":"new"}}"#,
    );
    assert_eq!(
        (v["delivered"]["stream_seq"].as_u64(), v["ack_floor"]["stream_seq"].as_u64()),
        (Some(3), Some(0)),
        "{v}"
    );
}

/// A replicated consumer (R3, acks) sends a delivery once its op is
/// committed; a no_wait request that ends meanwhile is closed after the last
/// delivery with `408 Request Timeout` and what it had left (nats
/// `waitingDeliveries`), not 404; an ack-ack waits for the commit too.
#[test]
fn replicated_deliveries_wait_for_commit() {
    let mut w = world(3, 31);
    add_stream(&mut w, "R", "r.>", 3, "");
    for i in 1..=4 {
        js_pub(&mut w, "c1", &format!("r.{i}"), "m");
    }
    api(
        &mut w,
        "c1",
        "$JS.API.CONSUMER.CREATE.R.C",
        r#"{"stream_name":"R","config":{"durable_name":"C","ack_policy":"explicit"}}"#,
    );
    let got = pull(&mut w, "c1", "R", "C", r#"{"batch":2}"#, 200 * MS);
    assert_eq!(got.len(), 2);
    let r = inbox("ackack");
    publish(&mut w, "c1", &got[0].1, "+ACK", Some(&r));
    run(&mut w, 200 * MS);
    assert_eq!(for_reply(&w, "c1", &r).len(), 1);
    let got = pull(&mut w, "c1", "R", "C", r#"{"batch":5,"no_wait":true}"#, 300 * MS);
    let seen: Vec<String> = got.iter().map(|g| if g.0 == "STATUS" { g.1.clone() } else { g.0.clone() }).collect();
    assert_eq!(
        seen,
        ["r.3", "r.4", "NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: 3\r\nNats-Pending-Bytes: 0\r\n\r\n"]
    );
    // An R1 consumer answers the same request with 404 (nothing waits for a commit).
    add_stream(&mut w, "O", "o.>", 1, "");
    js_pub(&mut w, "c1", "o.1", "m");
    api(
        &mut w,
        "c1",
        "$JS.API.CONSUMER.CREATE.O.C",
        r#"{"stream_name":"O","config":{"durable_name":"C","ack_policy":"explicit"}}"#,
    );
    let got = pull(&mut w, "c1", "O", "C", r#"{"batch":5,"no_wait":true}"#, 300 * MS);
    assert_eq!(got.last().unwrap().1, "NATS/1.0 404 No Messages\r\n\r\n");
    no_violations(&w);
}

/// MSG_TERMINATED and MAX_DELIVERIES advisories (nats 2.12.8 fields).
#[test]
fn term_and_max_delivery_advisories() {
    let mut w = world(3, 32);
    add_stream(&mut w, "S", "s.>", 1, "");
    js_pub(&mut w, "c1", "s.1", "a");
    js_pub(&mut w, "c1", "s.2", "b");
    cmd(&mut w, "c2", "nats sub $JS.EVENT.ADVISORY.CONSUMER.>");
    run(&mut w, 50 * MS);
    api(
        &mut w,
        "c1",
        "$JS.API.CONSUMER.CREATE.S.P",
        r#"{"stream_name":"S","config":{"durable_name":"P","ack_policy":"explicit","ack_wait":300000000,"max_deliver":2}}"#,
    );
    let got = pull(&mut w, "c1", "S", "P", r#"{"batch":1}"#, 50 * MS);
    publish(&mut w, "c1", &got[0].1, "+TERM bad payload", None);
    // s.2: delivered twice, then its last ack wait runs out.
    pull(&mut w, "c1", "S", "P", r#"{"batch":2,"expires":1000000000}"#, 1100 * MS);
    let adv: Vec<Value> = log(&w, "c2")
        .iter()
        .filter(|m| m.subject.starts_with("$JS.EVENT.ADVISORY.CONSUMER."))
        .map(|m| {
            let mut v: Value = serde_json::from_slice(&m.payload).unwrap();
            assert_eq!(v["id"].as_str().map(str::len), Some(22), "{v}");
            assert!(v["timestamp"].is_string());
            let o = v.as_object_mut().unwrap();
            o.remove("id");
            o.remove("timestamp");
            json!({"subject": &*m.subject, "body": v})
        })
        .collect();
    assert_eq!(
        adv,
        [
            json!({"subject":"$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.S.P","body":{"type":"io.nats.jetstream.advisory.v1.terminated","stream":"S","consumer":"P","consumer_seq":1,"stream_seq":1,"deliveries":1,"reason":"bad payload"}}),
            json!({"subject":"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.S.P","body":{"type":"io.nats.jetstream.advisory.v1.max_deliver","stream":"S","consumer":"P","stream_seq":2,"deliveries":2}}),
        ]
    );
    no_violations(&w);
}
