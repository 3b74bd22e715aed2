//! Consumers with their own Raft group (issue #4), as nats-server 2.12:
//! the meta leader assigns each consumer a `C-R<n><F|M>-<hash>` group on a
//! subset of the stream's peers; the group's leader (not the stream's) takes
//! pull requests and acks and runs redelivery; delivered and ack state is
//! replicated through that group, so it survives the consumer leader's
//! death; CONSUMER.LEADER.STEPDOWN moves only the consumer leader; interest
//! and work-queue removal reaches every stream replica as a message delete
//! through the stream's group. Every world checks the Raft invariants of
//! every group (consumer groups included) after every event.

use std::collections::{BTreeMap, BTreeSet};

use jetsim_core::sim::World;
use jetsim_core::time::{Time, MS, SEC};
use serde_json::Value;

mod common;
use common::*;

/// A pull request from `c`: the stream messages that arrived within `wait`,
/// as (ack subject, body).
fn pull(w: &mut World, c: &str, stream: &str, consumer: &str, body: &str, wait: Time) -> Vec<(String, String)> {
    let r = inbox("pull");
    let mark = log(w, c).len();
    publish(w, c, &format!("$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}"), body, Some(&r));
    run(w, wait);
    log(w, c)
        .into_iter()
        .skip(mark)
        .filter_map(|m| {
            let ack =
                m.reply.as_deref().filter(|a| a.starts_with(&format!("$JS.ACK.{stream}.{consumer}.")))?.to_string();
            Some((ack, String::from_utf8_lossy(&m.payload).into_owned()))
        })
        .collect()
}

/// (delivery count, stream seq, consumer seq) of an ack subject.
fn ack_tokens(ack: &str) -> (u64, u64, u64) {
    let t: Vec<u64> = ack.split('.').skip(4).take(3).map(|x| x.parse().unwrap()).collect();
    (t[0], t[1], t[2])
}

fn add_consumer(w: &mut World, c: &str, stream: &str, name: &str, extra: &str) -> Value {
    api(
        w,
        c,
        &format!("$JS.API.CONSUMER.CREATE.{stream}.{name}"),
        &format!(r#"{{"stream_name":"{stream}","config":{{"durable_name":"{name}","ack_policy":"explicit"{extra}}}}}"#),
    )
}

/// Servers holding a member of consumer `c`'s group.
fn consumer_members(w: &World, stream: &str, c: &str) -> Vec<u32> {
    w.stream_replicas(stream)
        .into_iter()
        .filter(|(_, r)| r.consumers.get(c).is_some_and(|c| c.group.is_some()))
        .map(|(e, _)| e)
        .collect()
}

/// A client connected to a server other than `not`.
fn client_not_on(w: &World, not: u32) -> String {
    let i = (0..w.server_count()).find(|&e| e != not).unwrap();
    format!("c{}", i + 1)
}

fn stream_term(w: &World, stream: &str) -> u64 {
    let l = w.stream_leader(stream).unwrap();
    w.stream_replicas(stream).into_iter().find(|(e, _)| *e == l).unwrap().1.group.as_ref().unwrap().raft.term()
}

/// The consumer's group is its own, and its leader need not be the stream
/// leader: some of eight R3 consumers are led elsewhere, they serve pulls
/// and acks from there, and killing the stream leader leaves them be.
#[test]
fn consumer_leader_differs_from_stream_leader() {
    let mut w = world(3, 41);
    add_stream(&mut w, "S", "s.>", 3, "");
    let sgroup = w.stream_replicas("S")[0].1.assignment.group.to_string();
    for i in 1..=4 {
        js_pub(&mut w, "c1", "s.x", &i.to_string());
    }
    let names: Vec<String> = (0..8).map(|i| format!("C{i}")).collect();
    for n in &names {
        let v = add_consumer(&mut w, "c1", "S", n, "");
        assert!(v.get("error").is_none(), "{v}");
    }
    run(&mut w, SEC);
    let sl = w.stream_leader("S").unwrap();
    let mut elsewhere = Vec::new();
    for n in &names {
        let l = consumer_leader(&w, "S", n).unwrap_or_else(|| panic!("{n}: no leader"));
        assert_eq!(consumer_members(&w, "S", n).len(), 3);
        let info = api(&mut w, "c1", &format!("$JS.API.CONSUMER.INFO.S.{n}"), "");
        let g = info["cluster"]["raft_group"].as_str().unwrap().to_string();
        assert!(g.starts_with("C-R3F-") && g != sgroup, "{info}");
        assert_eq!(info["cluster"]["leader"], w.name(l), "{info}");
        if l != sl {
            elsewhere.push((n.clone(), l));
        }
    }
    assert!(!elsewhere.is_empty(), "every consumer led by the stream leader {}", w.name(sl));
    let (n, l) = elsewhere[0].clone();
    let c = client_not_on(&w, l);
    let got = pull(&mut w, &c, "S", &n, r#"{"batch":4}"#, 200 * MS);
    assert_eq!(got.iter().map(|g| g.1.as_str()).collect::<Vec<_>>(), ["1", "2", "3", "4"]);
    for g in &got {
        publish(&mut w, &c, &g.0, "+ACK", None);
    }
    run(&mut w, 200 * MS);
    // Kill the stream leader: the consumer leader stays, its state too.
    let c = client_not_on(&w, sl);
    let line = format!("kill {}", w.name(sl));
    fault(&mut w, &line);
    run(&mut w, 2 * SEC);
    assert_eq!(consumer_leader(&w, "S", &n), Some(l));
    let info = api(&mut w, &c, &format!("$JS.API.CONSUMER.INFO.S.{n}"), "");
    assert_eq!(
        (info["ack_floor"]["stream_seq"].as_u64(), info["num_ack_pending"].as_u64()),
        (Some(4), Some(0)),
        "{info}"
    );
    no_violations(&w);
}

/// Kill the consumer leader with acks pending: another member leads with
/// the same delivered, ack floor and pending; the unacked messages are
/// redelivered (delivery count 2) once their ack wait is over, new ones
/// follow; nothing is lost or acked twice, and the old leader catches up
/// after its restart.
#[test]
fn consumer_leader_killed_with_acks_pending() {
    let mut w = world(3, 42);
    add_stream(&mut w, "R", "r.>", 3, "");
    for i in 1..=10 {
        js_pub(&mut w, "c1", "r.x", &i.to_string());
    }
    let v = add_consumer(&mut w, "c1", "R", "C", r#","ack_wait":2000000000"#);
    assert!(v.get("error").is_none(), "{v}");
    let l = consumer_leader(&w, "R", "C").unwrap();
    let c = client_not_on(&w, l);
    let got = pull(&mut w, &c, "R", "C", r#"{"batch":6}"#, 200 * MS);
    assert_eq!(got.len(), 6);
    for g in &got[..3] {
        publish(&mut w, &c, &g.0, "+ACK", None);
    }
    run(&mut w, 200 * MS);
    let info = api(&mut w, &c, "$JS.API.CONSUMER.INFO.R.C", "");
    let state = |i: &Value| {
        (
            i["delivered"]["consumer_seq"].as_u64(),
            i["delivered"]["stream_seq"].as_u64(),
            i["ack_floor"]["stream_seq"].as_u64(),
            i["num_ack_pending"].as_u64(),
            i["num_pending"].as_u64(),
        )
    };
    assert_eq!(state(&info), (Some(6), Some(6), Some(3), Some(3), Some(4)), "{info}");
    let line = format!("kill {}", w.name(l));
    fault(&mut w, &line);
    run(&mut w, 2 * SEC);
    let l2 = consumer_leader(&w, "R", "C").expect("a new consumer leader");
    assert_ne!(l2, l);
    let info = api(&mut w, &c, "$JS.API.CONSUMER.INFO.R.C", "");
    assert_eq!(info["cluster"]["leader"], w.name(l2));
    assert_eq!(state(&info), (Some(6), Some(6), Some(3), Some(3), Some(4)), "{info}");
    // Redelivery goes on from the new leader: 4, 5, 6 again, then 7..10.
    let mut seen: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for _ in 0..4 {
        for g in pull(&mut w, &c, "R", "C", r#"{"batch":10,"expires":1500000000}"#, 1600 * MS) {
            let (dc, sseq, _) = ack_tokens(&g.0);
            seen.entry(sseq).or_default().push(dc);
            publish(&mut w, &c, &g.0, "+ACK", None);
        }
    }
    run(&mut w, 300 * MS);
    let want: BTreeMap<u64, Vec<u64>> = (4..=10).map(|s| (s, vec![if s <= 6 { 2 } else { 1 }])).collect();
    assert_eq!(seen, want);
    let info = api(&mut w, &c, "$JS.API.CONSUMER.INFO.R.C", "");
    assert_eq!(state(&info), (Some(13), Some(10), Some(10), Some(0), Some(0)), "{info}");
    // The old leader comes back and catches up from the consumer group.
    let line = format!("restart {}", w.name(l));
    fault(&mut w, &line);
    run(&mut w, 4 * SEC);
    let reps = w.stream_replicas("R");
    let old = reps.iter().find(|(e, _)| *e == l).map(|(_, r)| r.consumers.get("C").unwrap()).unwrap();
    assert!(old.group.is_some() && !old.is_leader());
    assert_eq!((old.asflr, old.sseq, old.pending.len()), (10, 11, 0));
    no_violations(&w);
}

/// CONSUMER.LEADER.STEPDOWN elects another consumer leader; the stream
/// keeps its leader and term.
#[test]
fn consumer_stepdown_moves_only_the_consumer_leader() {
    let mut w = world(3, 43);
    add_stream(&mut w, "S", "s.>", 3, "");
    add_consumer(&mut w, "c1", "S", "C", "");
    run(&mut w, SEC);
    let (sl, term) = (w.stream_leader("S").unwrap(), stream_term(&w, "S"));
    let before = consumer_leader(&w, "S", "C").unwrap();
    let v = api(&mut w, "c1", "$JS.API.CONSUMER.LEADER.STEPDOWN.S.C", "");
    assert_eq!(v["success"], true, "{v}");
    run(&mut w, 2 * SEC);
    let after = consumer_leader(&w, "S", "C").expect("a consumer leader");
    assert_ne!(after, before);
    assert_eq!((w.stream_leader("S"), stream_term(&w, "S")), (Some(sl), term));
    let info = api(&mut w, "c1", "$JS.API.CONSUMER.INFO.S.C", "");
    assert_eq!(info["cluster"]["leader"], w.name(after));
    let reps: Vec<&str> =
        info["cluster"]["replicas"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(reps.len(), 2);
    assert!(!reps.contains(&w.name(after)), "{info}");
    no_violations(&w);
}

/// `num_replicas` picks the consumer group's size among the stream's peers:
/// 1 → one member (cluster block {name, leader}), 2 → two, more than the
/// stream's → 10126; `mem_storage` makes it a memory group (`C-R3M-`).
#[test]
fn consumer_num_replicas_and_storage() {
    let mut w = world(3, 44);
    add_stream(&mut w, "S", "s.>", 3, "");
    js_pub(&mut w, "c1", "s.x", "1");
    let v = add_consumer(&mut w, "c1", "S", "ONE", r#","num_replicas":1"#);
    assert!(v.get("error").is_none(), "{v}");
    let members = consumer_members(&w, "S", "ONE");
    assert_eq!(members.len(), 1);
    assert_eq!(consumer_leader(&w, "S", "ONE"), Some(members[0]));
    let keys: Vec<&str> = v["cluster"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["name", "leader"], "{v}");
    assert_eq!(v["cluster"]["leader"], w.name(members[0]));
    let group = w.stream_replicas("S")[0].1.consumers["ONE"].assignment.group.to_string();
    assert!(group.starts_with("C-R1F-"), "{group}");
    // It serves pulls and acks.
    let c = client_not_on(&w, members[0]);
    let got = pull(&mut w, &c, "S", "ONE", "", 200 * MS);
    assert_eq!(got.len(), 1);
    publish(&mut w, &c, &got[0].0, "+ACK", None);
    run(&mut w, 100 * MS);
    let info = api(&mut w, &c, "$JS.API.CONSUMER.INFO.S.ONE", "");
    assert_eq!(info["ack_floor"]["stream_seq"].as_u64(), Some(1), "{info}");

    let v = add_consumer(&mut w, "c1", "S", "TWO", r#","num_replicas":2"#);
    assert!(v.get("error").is_none(), "{v}");
    assert_eq!(consumer_members(&w, "S", "TWO").len(), 2);
    assert_eq!(v["cluster"]["replicas"].as_array().map(Vec::len), Some(1), "{v}");

    let v = add_consumer(&mut w, "c1", "S", "MEM", r#","mem_storage":true"#);
    assert!(v["cluster"]["raft_group"].as_str().unwrap().starts_with("C-R3M-"), "{v}");

    let v = add_consumer(&mut w, "c1", "S", "FOUR", r#","num_replicas":4"#);
    assert_eq!(v["error"]["err_code"], 10126, "{v}");
    // Moving a consumer to another replica count is not modelled: refused.
    let v = add_consumer(&mut w, "c1", "S", "ONE", r#","num_replicas":3"#);
    assert_eq!(v["error"]["err_code"], 10052, "{v}");
    assert!(v["error"]["description"].as_str().unwrap().contains("not modelled"), "{v}");
    assert_eq!(consumer_members(&w, "S", "ONE").len(), 1);
    no_violations(&w);
}

/// Work-queue retention with a consumer led away from the stream leader:
/// the ack removes the message from every stream replica (the consumer
/// leader forwards a message delete to the stream leader). A consumer of a
/// work-queue stream must have the stream's replicas (10134, as nats).
#[test]
fn workqueue_ack_removes_on_every_replica() {
    let mut w = world(3, 45);
    add_stream(&mut w, "W", "w.>", 3, r#","retention":"workqueue""#);
    let v = add_consumer(&mut w, "c1", "W", "ONE", r#","num_replicas":1,"filter_subject":"w.one""#);
    assert_eq!(v["error"]["err_code"], 10134, "{v}");
    let sl = w.stream_leader("W").unwrap();
    // Consumers (unique filters) until one is led off the stream leader.
    let mut found = None;
    for i in 0..12 {
        let name = format!("W{i}");
        let v = add_consumer(&mut w, "c1", "W", &name, &format!(r#","filter_subject":"w.{i}""#));
        assert!(v.get("error").is_none(), "{v}");
        let l = consumer_leader(&w, "W", &name).unwrap();
        if l != sl {
            found = Some((i, name, l));
            break;
        }
    }
    let (i, name, l) = found.expect("a consumer placed off the stream leader");
    for k in 0..3 {
        js_pub(&mut w, "c1", &format!("w.{i}"), &k.to_string());
    }
    let counts =
        |w: &World| -> Vec<u64> { w.stream_replicas("W").iter().map(|(_, r)| r.store.state().messages).collect() };
    assert_eq!(counts(&w), [3, 3, 3]);
    let c = client_not_on(&w, l);
    let got = pull(&mut w, &c, "W", &name, r#"{"batch":2}"#, 200 * MS);
    assert_eq!(got.len(), 2);
    for g in &got {
        publish(&mut w, &c, &g.0, "+ACK", None);
    }
    run(&mut w, 300 * MS);
    assert_eq!(counts(&w), [1, 1, 1]);
    let firsts: BTreeSet<u64> = w.stream_replicas("W").iter().map(|(_, r)| r.store.first_seq()).collect();
    assert_eq!(firsts.into_iter().collect::<Vec<_>>(), [3]);
    // The removals are entries of the stream's log, on every replica.
    for (e, r) in w.stream_replicas("W") {
        let deletes: Vec<u64> = r
            .group
            .as_ref()
            .unwrap()
            .raft
            .log()
            .iter()
            .filter_map(|x| match &x.payload {
                jetsim_raft::Payload::Normal(jetsim_core::jetstream::JsEntry::DeleteMsg(s)) => Some(*s),
                _ => None,
            })
            .collect();
        assert_eq!(deletes, [1, 2], "on {}", w.name(e));
    }
    no_violations(&w);
}

/// A small fault campaign with consumers: an R3 stream, an R3 and an R1
/// consumer, a steady publisher and pullers that ack; the consumer leader,
/// the stream leader or a random server is killed, partitioned or paused,
/// then everything heals. The Raft invariants hold in every group (the
/// consumer groups included), every message is acknowledged once on each
/// consumer in the end, and the consumer groups' members agree.
#[test]
fn consumer_fault_campaign() {
    let seeds: u64 = std::env::var("JETSIM_CONSUMER_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(6);
    let mut elections = 0usize;
    for seed in 0..seeds {
        let mut w = world(3, 100 + seed);
        let mut rng = jetsim_core::rng::Rng::new(seed ^ 0xC0);
        add_stream(&mut w, "S", "s.>", 3, "");
        assert!(add_consumer(&mut w, "c1", "S", "A", r#","ack_wait":1000000000"#).get("error").is_none());
        assert!(add_consumer(&mut w, "c1", "S", "B", r#","ack_wait":1000000000,"num_replicas":1"#)
            .get("error")
            .is_none());
        let total = 60u64;
        cmd(
            &mut w,
            "c1",
            &format!("nats pub s.x \"m{{{{Count}}}}\" --jetstream --count {total} --sleep 50ms --timeout 2s"),
        );
        let mut acked: BTreeMap<&str, BTreeMap<u64, u32>> = BTreeMap::new();
        let start_leaders: Vec<Option<u32>> = ["A", "B"].iter().map(|c| consumer_leader(&w, "S", c)).collect();
        for round in 0..8u64 {
            if round == 2 || round == 5 {
                let target = match rng.index(3) {
                    0 => consumer_leader(&w, "S", "A"),
                    1 => w.stream_leader("S"),
                    _ => Some(rng.index(3) as u32),
                };
                if let Some(t) = target {
                    let n = w.name(t).to_string();
                    let others: Vec<String> = (0..3).filter(|&e| e != t).map(|e| w.name(e).to_string()).collect();
                    match rng.index(3) {
                        0 => fault(&mut w, &format!("kill {n}")),
                        1 => fault(&mut w, &format!("partition {n} | {}", others.join(" "))),
                        _ => fault(&mut w, &format!("pause {n}")),
                    }
                }
            }
            if round == 4 || round == 7 {
                fault(&mut w, "heal");
                for s in ["n1", "n2", "n3"] {
                    fault(&mut w, &format!("resume {s}"));
                    fault(&mut w, &format!("restart {s}"));
                }
            }
            for (cons, c) in [("A", "c2"), ("B", "c3")] {
                for g in pull(&mut w, c, "S", cons, r#"{"batch":20,"expires":400000000}"#, 450 * MS) {
                    let (_, sseq, _) = ack_tokens(&g.0);
                    publish(&mut w, c, &g.0, "+ACK", None);
                    *acked.entry(cons).or_default().entry(sseq).or_default() += 1;
                }
            }
        }
        fault(&mut w, "heal");
        run(&mut w, 3 * SEC);
        let last = w
            .stream_leader("S")
            .map(|l| w.stream_replicas("S").into_iter().find(|(e, _)| *e == l).unwrap().1.store.last_seq());
        let last = last.expect("a stream leader after heal");
        // A publish may time out during a fault (not retried).
        assert!(last >= total / 2, "seed {seed}: {last} messages stored");
        // Drain what is left (redeliveries included) until both ack floors reach the end.
        for _ in 0..30 {
            let mut done = true;
            for (cons, c) in [("A", "c2"), ("B", "c3")] {
                let floor =
                    api(&mut w, c, &format!("$JS.API.CONSUMER.INFO.S.{cons}"), "")["ack_floor"]["stream_seq"].as_u64();
                if floor == Some(last) {
                    continue;
                }
                done = false;
                for g in pull(&mut w, c, "S", cons, r#"{"batch":50,"expires":500000000}"#, 600 * MS) {
                    let (_, sseq, _) = ack_tokens(&g.0);
                    publish(&mut w, c, &g.0, "+ACK", None);
                    *acked.entry(cons).or_default().entry(sseq).or_default() += 1;
                }
            }
            if done {
                break;
            }
        }
        run(&mut w, 2 * SEC);
        for cons in ["A", "B"] {
            let leader = consumer_leader(&w, "S", cons).unwrap_or_else(|| panic!("seed {seed}: {cons} leaderless"));
            let reps = w.stream_replicas("S");
            let lc = reps.iter().find(|(e, _)| *e == leader).unwrap().1.consumers.get(cons).unwrap();
            assert_eq!((lc.asflr, lc.pending.len()), (last, 0), "seed {seed}: {cons} on {}", w.name(leader));
            // Every message was delivered and acked; a second ack only for a redelivery.
            let a = acked.get(cons).cloned().unwrap_or_default();
            assert_eq!(a.keys().copied().collect::<Vec<_>>(), (1..=last).collect::<Vec<_>>(), "seed {seed}: {cons}");
            // The members agree with the leader.
            for (e, r) in &reps {
                let c = r.consumers.get(cons).unwrap();
                if c.group.is_some() {
                    assert_eq!(
                        (c.asflr, c.sseq, c.pending.len()),
                        (lc.asflr, lc.sseq, 0),
                        "seed {seed}: {cons} on {}",
                        w.name(*e)
                    );
                }
            }
        }
        let end_leaders: Vec<Option<u32>> = ["A", "B"].iter().map(|c| consumer_leader(&w, "S", c)).collect();
        elections += start_leaders.iter().zip(&end_leaders).filter(|(a, b)| a != b).count();
        no_violations(&w);
    }
    // Coverage: some runs moved a consumer leader.
    assert!(seeds < 4 || elections > 0, "no consumer leader ever changed");
}

/// An old-style ephemeral (no durable name, replicas 0) on a limits stream
/// is R1 (nats `ConsumerConfig.replicas`); a durable one takes the
/// stream's replicas.
#[test]
fn ephemeral_on_limits_stream_is_r1() {
    let mut w = world(3, 46);
    add_stream(&mut w, "S", "s.>", 3, "");
    let v = api(&mut w, "c1", "$JS.API.CONSUMER.CREATE.S", r#"{"stream_name":"S","config":{"ack_policy":"explicit"}}"#);
    let name = v["name"].as_str().unwrap().to_string();
    assert_eq!(consumer_members(&w, "S", &name).len(), 1, "{v}");
    let keys: Vec<&str> = v["cluster"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["name", "leader"], "{v}");
    let v = add_consumer(&mut w, "c1", "S", "D", "");
    assert_eq!(consumer_members(&w, "S", "D").len(), 3, "{v}");
    no_violations(&w);
}

/// CONSUMER.LEADER.STEPDOWN as nats 2.12: a placement picks the next
/// leader; an R1 consumer answers success and keeps its leader; a
/// standalone server answers 10010.
#[test]
fn consumer_stepdown_placement_r1_and_standalone() {
    let mut w = world(3, 47);
    add_stream(&mut w, "S", "s.>", 3, "");
    add_consumer(&mut w, "c1", "S", "C", "");
    run(&mut w, SEC);
    let l = consumer_leader(&w, "S", "C").unwrap();
    let target = (0..3).find(|&e| e != l).unwrap();
    let body = format!(r#"{{"placement":{{"preferred":"{}"}}}}"#, w.name(target));
    let v = api(&mut w, "c1", "$JS.API.CONSUMER.LEADER.STEPDOWN.S.C", &body);
    assert_eq!(v["success"], true, "{v}");
    run(&mut w, SEC);
    assert_eq!(consumer_leader(&w, "S", "C"), Some(target));
    let body = format!(r#"{{"placement":{{"preferred":"{}"}}}}"#, w.name(target));
    let v = api(&mut w, "c1", "$JS.API.CONSUMER.LEADER.STEPDOWN.S.C", &body);
    assert_eq!(v["error"]["err_code"], 10005, "{v}");

    add_consumer(&mut w, "c1", "S", "ONE", r#","num_replicas":1"#);
    let one = consumer_leader(&w, "S", "ONE").unwrap();
    let v = api(&mut w, "c1", "$JS.API.CONSUMER.LEADER.STEPDOWN.S.ONE", "");
    assert_eq!(v["success"], true, "{v}");
    run(&mut w, SEC);
    assert_eq!(consumer_leader(&w, "S", "ONE"), Some(one));
    no_violations(&w);

    let mut w = world(1, 48);
    add_stream(&mut w, "S", "s.>", 1, "");
    add_consumer(&mut w, "c1", "S", "C", "");
    let v = api(&mut w, "c1", "$JS.API.CONSUMER.LEADER.STEPDOWN.S.C", "");
    assert_eq!((v["error"]["code"].as_u64(), v["error"]["err_code"].as_u64()), (Some(503), Some(10010)), "{v}");
}

/// A pull request waiting on a consumer leader that dies: the next leader,
/// which learned of the request through the consumer's group, tells it
/// `409 Leadership Change` (nats `checkPendingRequests`).
#[test]
fn new_leader_tells_waiting_pulls_of_a_dead_leader() {
    let mut w = world(3, 49);
    add_stream(&mut w, "S", "s.>", 3, "");
    add_consumer(&mut w, "c1", "S", "C", "");
    let l = consumer_leader(&w, "S", "C").unwrap();
    let c = client_not_on(&w, l);
    let r = inbox("pull");
    publish(&mut w, &c, "$JS.API.CONSUMER.MSG.NEXT.S.C", r#"{"batch":5,"expires":30000000000}"#, Some(&r));
    run(&mut w, 200 * MS);
    let line = format!("kill {}", w.name(l));
    fault(&mut w, &line);
    run(&mut w, 2 * SEC);
    assert!(consumer_leader(&w, "S", "C").is_some_and(|n| n != l));
    let got: Vec<String> = log(&w, &c)
        .iter()
        .filter(|m| &*m.subject == r.as_str())
        .map(|m| m.headers.as_ref().map(|h| String::from_utf8_lossy(h).into_owned()).unwrap_or_default())
        .collect();
    assert_eq!(got, ["NATS/1.0 409 Leadership Change\r\n\r\n"]);
    no_violations(&w);
}
