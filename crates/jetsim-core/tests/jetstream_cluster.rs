//! Clustered JetStream scenarios, after nats-server's cluster tests (spec §7
//! rows 49, 50, 54, 55, 58), durability under power loss, and PubAck timing.
//! Every world checks the Raft invariants after every event.

use jetsim_core::scenario::{self, Action, Limits};
use jetsim_core::sim::World;
use jetsim_core::time::{Time, MS, SEC};
use jetsim_core::trace::Endpoint;

fn servers(n: usize, extra: &str) -> String {
    let mut s = String::from("jetsim 1\nraft_timescale 1/10\n");
    for i in 1..=n {
        s.push_str(&format!("server n{i} az=a{i} jetstream=true {extra}\n"));
    }
    for i in 1..=n {
        s.push_str(&format!("client c{i} server=n{i}\n"));
    }
    s.push_str("link default latency=1ms\n");
    s
}

fn world(text: &str, seed: u64) -> World {
    let sc = scenario::parse(text).unwrap_or_else(|e| panic!("{e}"));
    let mut w = World::new(sc, seed).unwrap();
    w.set_check_invariants(true);
    w
}

fn cmd(w: &mut World, client: &str, line: &str) {
    let cmd = scenario::parse_client_command(line).unwrap_or_else(|e| panic!("{line}: {e}"));
    w.apply_action(&Action::Client { client: client.into(), cmd });
}

fn fault(w: &mut World, line: &str) {
    let sc = w.scenario().clone();
    let a = scenario::parse_action_line(line, &sc, &Limits::default()).unwrap_or_else(|e| panic!("{line}: {e}"));
    w.apply_action(&a);
}

fn run(w: &mut World, d: Time) {
    let t = w.now() + d;
    w.run_until(t);
}

fn client<'a>(w: &'a World, name: &str) -> &'a jetsim_core::client::Client {
    let ep = w.endpoint(name).unwrap();
    &w.clients[(ep - w.server_count()) as usize].node
}

fn last_api(w: &World, c: &str) -> serde_json::Value {
    let (_, body) = client(w, c).js.last_api.clone().expect("an API answer");
    serde_json::from_str(&body).unwrap_or(serde_json::Value::Null)
}

/// (messages, last_seq, digest) of every running replica of the stream.
fn replica_states(w: &World, stream: &str) -> Vec<(Endpoint, u64, u64, u64)> {
    w.stream_replicas(stream)
        .into_iter()
        .filter(|(_, r)| r.group.is_some())
        .map(|(e, r)| (e, r.store.len(), r.store.last_seq(), r.store.digest()))
        .collect()
}

fn assert_converged(w: &World, stream: &str, msgs: u64, replicas: usize) {
    let st = replica_states(w, stream);
    assert_eq!(st.len(), replicas, "replicas of {stream}: {st:?}");
    for s in &st {
        assert_eq!((s.1, s.3), (msgs, st[0].3), "replica states differ: {st:?}");
    }
}

fn no_violations(w: &World) {
    let v = w.all_violations();
    assert!(v.is_empty(), "violations: {v:#?}");
}

fn create_r(w: &mut World, r: u32) {
    run(w, 2 * SEC);
    cmd(w, "c1", &format!("nats stream add ORDERS --subjects orders.> --replicas {r} --storage file"));
    run(w, SEC);
    assert!(w.stream_leader("ORDERS").is_some(), "no stream leader");
}

fn client_of(w: &World, server: Endpoint) -> String {
    format!("c{}", w.name(server).trim_start_matches('n'))
}

#[test]
fn row49_r3_publishes_and_info() {
    let mut w = world(&servers(3, ""), 1);
    create_r(&mut w, 3);
    let created = last_api(&w, "c1");
    assert_eq!(created["type"], "io.nats.jetstream.api.v1.stream_create_response");
    assert_eq!(created["did_create"], true);
    assert_eq!(created["config"]["num_replicas"], 3);
    cmd(&mut w, "c1", "nats pub orders.new hi --jetstream --count 10");
    run(&mut w, SEC);
    let js = &client(&w, "c1").js;
    assert_eq!((js.published, js.acked, js.timeouts, js.errors), (10, 10, 0, 0));
    assert_eq!(js.acked_msgs.iter().map(|m| m.1).collect::<Vec<_>>(), (1..=10).collect::<Vec<_>>());
    cmd(&mut w, "c1", "nats stream info ORDERS");
    run(&mut w, SEC);
    let info = last_api(&w, "c1");
    assert_eq!(info["state"]["messages"], 10);
    assert_eq!(info["state"]["last_seq"], 10);
    let leader = w.name(w.stream_leader("ORDERS").unwrap()).to_string();
    assert_eq!(info["cluster"]["leader"], leader.as_str());
    let reps = info["cluster"]["replicas"].as_array().unwrap();
    assert_eq!(reps.len(), 2);
    assert!(reps.iter().all(|r| r["current"] == true), "{info}");
    assert_converged(&w, "ORDERS", 10, 3);
    no_violations(&w);
}

#[test]
fn row50_offline_replica_catches_up() {
    let mut w = world(&servers(3, ""), 2);
    create_r(&mut w, 3);
    let leader = w.stream_leader("ORDERS").unwrap();
    let follower = (0..3).find(|&s| s != leader).unwrap();
    let line = format!("kill {}", w.name(follower));
    fault(&mut w, &line);
    let c = client_of(&w, leader);
    cmd(&mut w, &c, "nats pub orders.new \"m {{Count}}\" --jetstream --count 25");
    run(&mut w, SEC);
    assert_eq!(client(&w, &c).js.acked, 25);
    let line = format!("restart {}", w.name(follower));
    fault(&mut w, &line);
    run(&mut w, 3 * SEC);
    assert_converged(&w, "ORDERS", 25, 3);
    no_violations(&w);
}

#[test]
fn row55_leader_stepdown_keeps_data() {
    let mut w = world(&servers(3, ""), 3);
    create_r(&mut w, 3);
    cmd(&mut w, "c1", "nats pub orders.new a --jetstream --count 10");
    run(&mut w, SEC);
    let before = w.stream_leader("ORDERS").unwrap();
    cmd(&mut w, "c1", "nats stream cluster step-down ORDERS");
    run(&mut w, SEC);
    assert_eq!(last_api(&w, "c1")["success"], true);
    let after = w.stream_leader("ORDERS").expect("a new leader");
    assert_ne!(before, after);
    cmd(&mut w, "c1", "nats pub orders.new b --jetstream --count 10");
    run(&mut w, SEC);
    let js = &client(&w, "c1").js;
    assert_eq!(js.acked, 20);
    assert_eq!(js.acked_msgs.last().map(|m| m.1), Some(20));
    assert_converged(&w, "ORDERS", 20, 3);
    // The meta leader steps down too.
    let meta = w.meta_leader(0).unwrap();
    cmd(&mut w, "c1", "nats req $JS.API.META.LEADER.STEPDOWN \"\"");
    run(&mut w, 2 * SEC);
    let new_meta = w.meta_leader(0).expect("a new meta leader");
    assert_ne!(meta, new_meta);
    no_violations(&w);
}

#[test]
fn row54_quorum_loss_timeouts_then_503_then_recovery() {
    let mut w = world(&servers(3, ""), 4);
    create_r(&mut w, 3);
    let leader = w.stream_leader("ORDERS").unwrap();
    let c = client_of(&w, leader);
    let others: Vec<Endpoint> = (0..3).filter(|&s| s != leader).collect();
    for &o in &others {
        let line = format!("kill {}", w.name(o));
        fault(&mut w, &line);
    }
    // Before the lost-quorum check (10 s, 1 s at 1/10): no PubAck, timeouts.
    cmd(&mut w, &c, "nats pub orders.new x --jetstream --timeout 300ms");
    run(&mut w, 400 * MS);
    assert_eq!(client(&w, &c).js.timeouts, 1);
    // After it the leader steps down: no responders (503).
    run(&mut w, 2 * SEC);
    assert!(w.stream_leader("ORDERS").is_none());
    cmd(&mut w, &c, "nats pub orders.new y --jetstream --timeout 300ms");
    run(&mut w, 400 * MS);
    let js = &client(&w, &c).js;
    assert_eq!((js.no_responders, js.errors), (1, 1), "{js:?}");
    // STREAM.INFO is answered by the leaderless member with its own view.
    cmd(&mut w, &c, "nats stream info ORDERS");
    run(&mut w, SEC);
    let info = last_api(&w, &c);
    assert!(info.get("error").is_none(), "{info}");
    assert!(info["cluster"].get("leader").is_none(), "{info}");
    // The meta group lost quorum too: CRUD is 503/10008.
    cmd(&mut w, &c, "nats stream add OTHER --subjects other --replicas 1 --storage file");
    run(&mut w, 2 * SEC);
    assert_eq!(last_api(&w, &c)["error"]["err_code"], 10008, "{}", last_api(&w, &c));
    for &o in &others {
        let line = format!("restart {}", w.name(o));
        fault(&mut w, &line);
    }
    run(&mut w, 3 * SEC);
    assert!(w.stream_leader("ORDERS").is_some());
    let l = w.stream_leader("ORDERS").unwrap();
    let c2 = client_of(&w, l);
    cmd(&mut w, &c2, "nats pub orders.new z --jetstream --count 5");
    run(&mut w, SEC);
    assert_eq!(client(&w, &c2).js.acked, 5);
    // The publish that timed out stayed in the old leader's log; the group
    // may commit it after all (nats: an unacknowledged write can survive).
    let n = replica_states(&w, "ORDERS")[0].1;
    assert!(n == 5 || n == 6, "{n}");
    assert_converged(&w, "ORDERS", n, 3);
    no_violations(&w);
}

#[test]
fn row58_write_without_quorum_is_discarded() {
    let mut w = world(&servers(3, ""), 5);
    create_r(&mut w, 3);
    cmd(&mut w, "c1", "nats pub orders.new first --jetstream");
    run(&mut w, SEC);
    let leader = w.stream_leader("ORDERS").unwrap();
    let lname = w.name(leader).to_string();
    let others: Vec<String> = (0..3).filter(|&s| s != leader).map(|s| w.name(s).to_string()).collect();
    fault(&mut w, &format!("partition {lname} | {} {}", others[0], others[1]));
    let cl = client_of(&w, leader);
    cmd(&mut w, &cl, "nats pub orders.new lost --jetstream --timeout 500ms");
    run(&mut w, 2 * SEC);
    assert_eq!(client(&w, &cl).js.timeouts, 1);
    let new_leader =
        w.stream_replicas("ORDERS").into_iter().find(|(e, r)| *e != leader && r.is_leader()).map(|(e, _)| e);
    let new_leader = new_leader.expect("the majority elects a leader");
    let cn = client_of(&w, new_leader);
    cmd(&mut w, &cn, "nats pub orders.new won --jetstream");
    run(&mut w, SEC);
    assert_eq!(client(&w, &cn).js.acked_msgs.last().map(|m| m.1), Some(2));
    fault(&mut w, "heal");
    run(&mut w, 3 * SEC);
    assert_converged(&w, "ORDERS", 2, 3);
    for (_, r) in w.stream_replicas("ORDERS") {
        assert_eq!(&r.store.get(2).unwrap().data[..], b"won");
    }
    no_violations(&w);
}

#[test]
fn stream_leader_is_the_highest_term_while_an_isolated_old_leader_still_claims() {
    // nats: a leader cut off in a minority keeps believing it leads until it
    // notices it lost quorum; meanwhile the majority elects a leader in a
    // higher term. Observers (World::stream_leader, the reports, the
    // playground) must name the new one.
    let mut w = world(&servers(3, ""), 5);
    create_r(&mut w, 3);
    let old = w.stream_leader("ORDERS").unwrap();
    let line = format!("isolate {}", w.name(old));
    fault(&mut w, &line);
    let mut both = None;
    for _ in 0..100 {
        run(&mut w, SEC / 20);
        let claims: Vec<(u32, u64)> =
            w.stream_replicas("ORDERS").into_iter().filter_map(|(e, r)| r.leader_term().map(|t| (e, t))).collect();
        if claims.len() == 2 {
            both = Some(claims);
            break;
        }
    }
    let claims = both.expect("a window where the isolated old leader and the new one both claim");
    let (new, new_term) = claims.iter().copied().find(|(e, _)| *e != old).unwrap();
    let old_term = claims.iter().find(|(e, _)| *e == old).unwrap().1;
    assert!(new_term > old_term, "{claims:?}");
    assert_eq!(w.stream_leader("ORDERS"), Some(new), "{claims:?}");
    let report = jetsim_core::report::Report::from_world(&w, None);
    let orders = report.streams.iter().find(|r| r.name == "ORDERS").unwrap();
    assert_eq!(orders.leader.as_deref(), Some(w.name(new)), "{claims:?}");
    no_violations(&w);
}

fn power_loss_run(sync: &str) -> World {
    let mut w = world(&servers(3, sync), 6);
    create_r(&mut w, 3);
    let l = w.stream_leader("ORDERS").unwrap();
    let c = client_of(&w, l);
    cmd(&mut w, &c, "nats pub orders.new v --jetstream --count 10");
    run(&mut w, SEC);
    assert_eq!(client(&w, &c).js.acked, 10);
    for n in ["n1", "n2", "n3"] {
        fault(&mut w, &format!("power-loss {n}"));
    }
    for n in ["n1", "n2", "n3"] {
        fault(&mut w, &format!("restart {n}"));
    }
    run(&mut w, 5 * SEC);
    w
}

#[test]
fn power_loss_with_sync_always_keeps_acked_writes() {
    let w = power_loss_run("sync_interval=always");
    assert!(w.lost_acked_publishes().is_empty());
    assert_converged(&w, "ORDERS", 10, 3);
    no_violations(&w);
}

#[test]
fn power_loss_with_lazy_fsync_loses_acked_writes() {
    let w = power_loss_run("");
    assert!(!w.lost_acked_publishes().is_empty());
    let v = w.all_violations();
    assert!(
        v.iter().any(|v| v.text.contains("acknowledged publishes missing") && v.text.contains("power-loss")),
        "{v:#?}"
    );
}

/// p50 PubAck latency = client↔server RTT + leader↔(quorum−1)-th fastest follower RTT.
#[test]
fn puback_latency_follows_quorum_rtt() {
    for r in [1u32, 3, 5] {
        let mut text = servers(5, "");
        for i in 1..=5u64 {
            for j in (i + 1)..=5 {
                text.push_str(&format!("link n{i} n{j} latency={}ms\n", i * j));
            }
        }
        let mut w = world(&text, 7);
        create_r(&mut w, r);
        let leader = w.stream_leader("ORDERS").unwrap();
        let c = client_of(&w, leader);
        cmd(&mut w, &c, "nats pub orders.new x --jetstream --count 40 --sleep 50ms");
        run(&mut w, 5 * SEC);
        let js = &client(&w, &c).js;
        assert_eq!(js.acked, 40, "R{r}");
        let mut lat = js.latencies.clone();
        lat.sort_unstable();
        let p50 = lat[lat.len().div_ceil(2) - 1];
        let fixed = |a: Endpoint, b: Endpoint| match w.latency(a, b) {
            jetsim_core::link::Latency::Fixed(d) => *d,
            other => panic!("{other:?}"),
        };
        let cep = w.endpoint(&c).unwrap();
        let client_rtt = fixed(cep, leader) + fixed(leader, cep);
        let peers = &w.stream_replicas("ORDERS")[0].1.assignment.peers;
        let mut rtts: Vec<u64> =
            peers.iter().filter(|&&p| p != leader).map(|&p| fixed(leader, p) + fixed(p, leader)).collect();
        rtts.sort_unstable();
        let k = (r as usize) / 2; // followers needed for a quorum
        let want = client_rtt + if k == 0 { 0 } else { rtts[k - 1] };
        let diff = p50.abs_diff(want);
        assert!(diff * 20 <= want, "R{r}: p50 {p50} want {want}");
        no_violations(&w);
    }
}

#[test]
fn api_errors_are_nats_errors() {
    let mut w = world(&servers(3, ""), 8);
    run(&mut w, 2 * SEC);
    cmd(&mut w, "c1", "nats req $JS.API.STREAM.CREATE.X \"{bad\"");
    cmd(&mut w, "c2", "nats req $JS.API.STREAM.INFO.NOPE \"\"");
    cmd(&mut w, "c3", "nats stream add BIG --subjects big --replicas 5 --storage file");
    run(&mut w, SEC);
    assert_eq!(last_api(&w, "c3")["error"]["err_code"], 10005);
    assert!(last_api(&w, "c3")["error"]["description"]
        .as_str()
        .unwrap()
        .starts_with("no suitable peers for placement"));
    // nats req records replies as trace events; check the servers answered.
    let texts: Vec<String> = w.trace.recent().map(|e| w.describe(&e.kind)).collect();
    assert!(texts.iter().any(|t| t.contains("c1 got a reply")), "{texts:?}");
    assert!(texts.iter().any(|t| t.contains("c2 got a reply")));
    cmd(&mut w, "c1", "nats stream add A --subjects a.> --replicas 3 --storage memory");
    run(&mut w, SEC);
    cmd(&mut w, "c1", "nats stream add B --subjects a.b --replicas 1 --storage file");
    run(&mut w, SEC);
    assert_eq!(last_api(&w, "c1")["error"]["err_code"], 10065);
    cmd(&mut w, "c1", "nats stream ls");
    run(&mut w, SEC);
    assert_eq!(last_api(&w, "c1")["total"], 1);
    cmd(&mut w, "c1", "nats stream rm A -f");
    run(&mut w, SEC);
    assert_eq!(last_api(&w, "c1")["success"], true);
    assert!(w.stream_names().is_empty());
    no_violations(&w);
}

// ---- STREAM.LEADER.STEPDOWN with a placement (nats jsStreamLeaderStepDownRequest) ----

static NEXT_INBOX: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// Sends an API request from `c` and returns the one answer (panics on none
/// or several).
fn api(w: &mut World, c: &str, subject: &str, body: &str) -> serde_json::Value {
    let reply = format!("_INBOX.sd.{}", NEXT_INBOX.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let pub_cmd = scenario::ClientCmd::Pub {
        subject: subject.into(),
        body: body.into(),
        headers: Vec::new(),
        count: 1,
        sleep: 0,
        reply: Some(reply.clone()),
    };
    w.apply_action(&Action::Client { client: c.into(), cmd: pub_cmd });
    run(w, 300 * MS);
    let got: Vec<_> = client(w, c).js.sub_log.iter().filter(|m| *m.subject == *reply).cloned().collect();
    assert_eq!(got.len(), 1, "{subject} {body}: answers {got:?}");
    serde_json::from_slice(&got[0].payload).unwrap_or_else(|e| panic!("{subject}: {e}"))
}

/// An R3 stream whose clients record their `_INBOX.>` messages.
fn stepdown_world(seed: u64, extra: &str) -> World {
    let mut w = world(&servers(3, extra), seed);
    for c in w.clients.iter_mut() {
        c.node.js.record_subs = true;
    }
    create_r(&mut w, 3);
    for i in 1..=3 {
        cmd(&mut w, &format!("c{i}"), "nats sub _INBOX.>");
    }
    run(&mut w, 100 * MS);
    w
}

/// The conformance case cluster_replica_catchup: a follower is killed,
/// misses publishes and a delete, restarts; one stepdown naming it as
/// preferred makes it the leader (as nats-server 2.12.8 does), with the
/// full state.
#[test]
fn stepdown_to_preferred_restarted_replica() {
    for seed in 1..=6 {
        let mut w = stepdown_world(seed, "");
        let leader = w.stream_leader("ORDERS").unwrap();
        // The highest-id follower: a stepdown without a preference would pick
        // the other one (equal match index, lowest id first).
        let victim = (0..3).rev().find(|&s| s != leader).unwrap();
        let vname = w.name(victim).to_string();
        let c = client_of(&w, leader);
        cmd(&mut w, &c, "nats pub orders.a x --jetstream --count 3");
        run(&mut w, SEC);
        fault(&mut w, &format!("kill {vname}"));
        run(&mut w, 300 * MS);
        cmd(&mut w, &c, "nats pub orders.b y --jetstream --count 4");
        run(&mut w, SEC);
        let d = api(&mut w, &c, "$JS.API.STREAM.MSG.DELETE.ORDERS", r#"{"seq":2}"#);
        assert_eq!(d["success"], true, "seed {seed}: {d}");
        fault(&mut w, &format!("restart {vname}"));
        run(&mut w, 2 * SEC);
        let leader = w.stream_leader("ORDERS").unwrap();
        assert_ne!(leader, victim, "seed {seed}");
        let c = client_of(&w, leader);
        let body = format!(r#"{{"placement":{{"preferred":"{vname}"}}}}"#);
        let r = api(&mut w, &c, "$JS.API.STREAM.LEADER.STEPDOWN.ORDERS", &body);
        assert_eq!(r["success"], true, "seed {seed}: {r}");
        run(&mut w, 500 * MS);
        assert_eq!(w.stream_leader("ORDERS"), Some(victim), "seed {seed}: the preferred server leads");
        let vc = client_of(&w, victim);
        let info = api(&mut w, &vc, "$JS.API.STREAM.INFO.ORDERS", "");
        assert_eq!(info["cluster"]["leader"], vname.as_str(), "seed {seed}: {info}");
        assert_eq!(
            (info["state"]["messages"].as_u64(), info["state"]["last_seq"].as_u64()),
            (Some(6), Some(7)),
            "seed {seed}: {info}"
        );
        assert_converged(&w, "ORDERS", 6, 3);
        no_violations(&w);
    }
}

/// nats getStepDownPreferredPlacement errors (JSClusterNoPeersErrF, 400/10005)
/// and request parsing errors; a failed request leaves the leader in place.
#[test]
fn stepdown_placement_errors() {
    let mut w = stepdown_world(11, "");
    let leader = w.stream_leader("ORDERS").unwrap();
    let lname = w.name(leader).to_string();
    let c = client_of(&w, leader);
    let subj = "$JS.API.STREAM.LEADER.STEPDOWN.ORDERS";
    let cases = [
        (
            format!(r#"{{"placement":{{"preferred":"{lname}"}}}}"#),
            10005,
            format!("preferred server \"{lname}\" is already leader"),
        ),
        (r#"{"placement":{"preferred":"n9"}}"#.to_string(), 10005, "preferred server \"n9\" not known".to_string()),
        (r#"{"placement":{"cluster":"elsewhere"}}"#.to_string(), 10005, "no replacement peer connected".to_string()),
        (r#"{"placement":{"tags":["gpu"]}}"#.to_string(), 10005, "no replacement peer connected".to_string()),
        (r#"{"placement":{"preferred":7}}"#.to_string(), 10025, String::new()),
        (
            r#"{"placement":{"prefered":"n2"}}"#.to_string(),
            10025,
            "invalid JSON: json: unknown field \"prefered\"".to_string(),
        ),
        (r#"{"placement":"n2"}"#.to_string(), 10025, String::new()),
        ("{\"placement\":".to_string(), 10025, String::new()),
    ];
    for (body, code, desc) in &cases {
        let r = api(&mut w, &c, subj, body);
        assert_eq!(r["error"]["err_code"], *code, "{body}: {r}");
        if !desc.is_empty() {
            assert_eq!(r["error"]["description"], desc.as_str(), "{body}: {r}");
        }
        assert_eq!(r["type"], "io.nats.jetstream.api.v1.stream_leader_stepdown_response");
        assert_eq!(w.stream_leader("ORDERS"), Some(leader), "{body}: the leader stays");
    }
    // A member that is down is still "known": the request succeeds and the
    // leader hands over to a healthy peer instead (nats StepDown fallback).
    let down = (0..3).find(|&s| s != leader).unwrap();
    let other = (0..3).find(|&s| s != leader && s != down).unwrap();
    let line = format!("kill {}", w.name(down));
    fault(&mut w, &line);
    run(&mut w, 5 * SEC);
    let body = format!(r#"{{"placement":{{"preferred":"{}"}}}}"#, w.name(down));
    let r = api(&mut w, &c, subj, &body);
    assert_eq!(r["success"], true, "{r}");
    run(&mut w, SEC);
    assert_eq!(w.stream_leader("ORDERS"), Some(other));
    no_violations(&w);
}

/// `cluster` / `tags` without `preferred`: a connected member matching them.
#[test]
fn stepdown_placement_by_tags() {
    // n2 lacks the tag: it is never picked.
    let text = "jetsim 1\nraft_timescale 1/10\n\
                server n1 az=a1 jetstream=true tags=fast\n\
                server n2 az=a2 jetstream=true tags=slow\n\
                server n3 az=a3 jetstream=true tags=fast\n\
                client c1 server=n1\nclient c2 server=n2\nclient c3 server=n3\n\
                link default latency=1ms\n";
    for seed in 1..=4 {
        let mut w = world(text, seed);
        for c in w.clients.iter_mut() {
            c.node.js.record_subs = true;
        }
        create_r(&mut w, 3);
        for i in 1..=3 {
            cmd(&mut w, &format!("c{i}"), "nats sub _INBOX.>");
        }
        run(&mut w, 100 * MS);
        let leader = w.stream_leader("ORDERS").unwrap();
        let c = client_of(&w, leader);
        let r = api(&mut w, &c, "$JS.API.STREAM.LEADER.STEPDOWN.ORDERS", r#"{"placement":{"tags":["fast"]}}"#);
        run(&mut w, SEC);
        let fast: Vec<Endpoint> = (0..3).filter(|&s| s != leader && w.name(s) != "n2").collect();
        assert_eq!(r["success"], true, "seed {seed}: {r}");
        let now = w.stream_leader("ORDERS").expect("a new leader");
        assert!(fast.contains(&now), "seed {seed}: {} leads, want one of {fast:?}", w.name(now));
        no_violations(&w);
    }
}
