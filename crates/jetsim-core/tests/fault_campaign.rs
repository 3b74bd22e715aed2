//! A randomized fault campaign at the world level: many seeds × fault
//! profiles on a JetStream cluster (3 servers and an R3 stream; 5 servers with
//! an R3 stream for `mixed-5`, with an R5 one for `mixed-r5`) under a steady
//! `nats pub --jetstream` load, after Jepsen's NATS analysis (2025) and
//! nats-server's chaos tests (`/work/shared/reference/reliability.md` §1–§4).
//!
//! Each run is a scenario built as text from the seed (with
//! `jetsim_core::rng::Rng`): the topology, `raft_timescale 1/10` (election
//! timeout 400–900 ms, heartbeat 100 ms, lost-quorum check 1 s), one
//! `nats stream add`, three publishers (`--jetstream --count 250 --sleep 40ms
//! --timeout 500ms`, each on its own subject with unique bodies `cN-<n>`), and
//! a tail that heals everything: `heal`, `resume` and `restart` of every
//! server and the base latency back, then ten more publishes from a fresh
//! client (liveness after heal). The faults themselves depend on who leads
//! the stream when they start ("kill the leader"), so the campaign resolves
//! each planned fault into scenario lines at its start time (`kill n2`,
//! `partition n1 | n2 n3`, ...) and applies them through
//! `scenario::parse_action_line`, the playground console's path. A failing
//! run prints the whole scenario text with those lines inlined as `at` steps.
//!
//! Profiles (faults between 3 s and 13 s of virtual time, then heal):
//!
//! | profile | faults |
//! |---|---|
//! | `none` | none (control: one election, no timeouts) |
//! | `kill-leader` | kill the stream leader, restart it 0.3–2.5 s later |
//! | `kill-follower` | kill a follower of the stream |
//! | `partition-minority` | cut a minority of followers off |
//! | `partition-leader` | cut the leader (with a follower, of 5) off |
//! | `pause` | SIGSTOP a server (the leader half the time) |
//! | `latency` | 100–900 ms one-way latency on every link of a server |
//! | `mixed`, `mixed-5`, `mixed-r5` | overlapping faults of every kind above, also on random servers |
//! | `power-loss-lazy` | power loss of a majority or of every server at once, `sync_interval` 1s/2s/5s/2m |
//! | `power-loss-always` | the same schedules with `sync_interval=always` |
//!
//! Every run checks, after every event, the Raft invariants of every group
//! (`World::set_check_invariants`), and at the end, after catch-up:
//!
//! * no invariant violation and no lost acknowledged publish
//!   (`World::all_violations`, `World::lost_acked_publishes`): every acked
//!   publish is on every replica, with the payload that was acknowledged;
//! * every stored message was published by some client (no phantoms) and is
//!   stored at most once;
//! * the replicas converged (same sequence numbers and digest) and the ten
//!   publishes after heal were all acknowledged;
//! * coverage, summed over the seeds of each profile, so that "no violation"
//!   is not vacuous: re-elections, timed-out publishes, Raft log truncations,
//!   replicas that had to catch up, as each profile should cause.
//!
//! The `power-loss-lazy` profile must lose acknowledged writes for some seeds
//! (nats-server #7564); its twin with `sync_interval=always` must lose none.
//!
//! Bugs found so far (fixed, with regression tests in
//! `tests/jetstream_regressions.rs`): Raft timers of a paused server were
//! never re-armed after it resumed (`pause`: no leader after heal), and the
//! lost-ack check looked at sequence numbers only, so a lost publish whose
//! sequence a later one reused went unseen (`power-loss-lazy`).
//!
//! Sizes: the default (CI) run is 5 seeds per profile, 12 profiles (60 runs
//! spread over the cores: about 20 s in a debug build on two cores). The `#[ignore]`d
//! `fault_campaign_long` runs 100 seeds per profile
//! (`cargo test --release -p jetsim-core --test fault_campaign -- --ignored --nocapture`).
//! `JETSIM_CAMPAIGN_SEEDS=N` overrides the seed count of either, and
//! `JETSIM_CAMPAIGN_PROFILE=name` / `JETSIM_CAMPAIGN_SEED=n` narrow a run to
//! one profile or seed (printing that run's scenario). With `--nocapture` a
//! summary table is printed: profile, seeds, elections, acked, timeouts,
//! violations and more.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use jetsim_core::rng::Rng;
use jetsim_core::scenario::{self, fmt_dur, Limits};
use jetsim_core::sim::{Liveness, World};
use jetsim_core::time::{Time, MS, SEC};
use jetsim_core::trace::{RaftNote, TraceKind};

const STREAM: &str = "ORDERS";
const PUBLISHERS: [&str; 3] = ["c1", "c2", "c3"];
const PER_PUBLISHER: u64 = 250;
const FAULTS_FROM: Time = 3 * SEC;
const HEAL_AT: Time = 13 * SEC;
/// After a full restart the meta group elects, replays the stream assignment,
/// then the stream group elects: two election rounds (0.4–0.9 s each, more
/// with split votes) before the stream answers again.
const VERIFY_AT: Time = HEAL_AT + 4 * SEC;
const VERIFY_COUNT: u64 = 10;
/// After every publisher is done (and the verifier has run): time to catch up.
const CATCH_UP: Time = 3 * SEC;
const MAX_TIME: Time = 120 * SEC;
const SLICE: Time = 20 * MS;
/// Trace events kept between two scans (a slice makes a few thousand).
const RING: usize = 200_000;
const BASE_LATENCY: &str = "1ms jitter=500us";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    None,
    KillLeader,
    KillFollower,
    PartitionMinority,
    PartitionLeader,
    Pause,
    Latency,
    Mixed,
    PowerLoss,
}

#[derive(Clone, Copy, Debug)]
struct Profile {
    name: &'static str,
    servers: usize,
    replicas: u32,
    kind: Kind,
    /// `Some(true)`: sync_interval=always; `Some(false)`: a lazy interval
    /// chosen from the seed; `None`: the server default (2m).
    sync_always: Option<bool>,
}

const fn p(name: &'static str, servers: usize, replicas: u32, kind: Kind) -> Profile {
    Profile { name, servers, replicas, kind, sync_always: None }
}

const PROFILES: &[Profile] = &[
    p("none", 3, 3, Kind::None),
    p("kill-leader", 3, 3, Kind::KillLeader),
    p("kill-follower", 3, 3, Kind::KillFollower),
    p("partition-minority", 3, 3, Kind::PartitionMinority),
    p("partition-leader", 3, 3, Kind::PartitionLeader),
    p("pause", 3, 3, Kind::Pause),
    p("latency", 3, 3, Kind::Latency),
    p("mixed", 3, 3, Kind::Mixed),
    p("mixed-5", 5, 3, Kind::Mixed),
    p("mixed-r5", 5, 5, Kind::Mixed),
    Profile { name: "power-loss-lazy", servers: 3, replicas: 3, kind: Kind::PowerLoss, sync_always: Some(false) },
    Profile { name: "power-loss-always", servers: 3, replicas: 3, kind: Kind::PowerLoss, sync_always: Some(true) },
];

/// A planned fault: its kind, when it starts and ends (the target is chosen
/// when it starts).
#[derive(Clone, Debug)]
struct Planned {
    kind: Kind,
    start: Time,
    end: Time,
}

/// A run's scenario (head lines and timed steps) and its fault plan.
struct Plan {
    head: String,
    steps: Vec<(Time, String)>,
    faults: Vec<Planned>,
}

fn names(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("n{i}")).collect()
}

fn plan(p: &Profile, seed: u64) -> Plan {
    let mut rng = Rng::new(seed ^ 0xC0FF_EE00_FA17);
    let mut sync_rng = rng.fork();
    let servers = names(p.servers);
    let mut t = String::new();
    let _ = writeln!(t, "jetsim 1");
    let _ = writeln!(t, "name \"fault campaign: {} seed {seed}\"", p.name);
    let _ = writeln!(t, "seed {seed}");
    let _ = writeln!(t, "raft_timescale 1/10");
    let sync = match p.sync_always {
        Some(true) => " sync_interval=always".to_string(),
        Some(false) => {
            let choices = ["1s", "2s", "5s", "2m"];
            format!(" sync_interval={}", choices[sync_rng.index(choices.len())])
        }
        None => String::new(),
    };
    for (i, s) in servers.iter().enumerate() {
        let _ = writeln!(t, "server {s} az=a{} jetstream=true{sync}", i + 1);
    }
    let rotate = |k: usize| -> String {
        (0..servers.len()).map(|j| servers[(k + j) % servers.len()].clone()).collect::<Vec<_>>().join(",")
    };
    for (k, c) in PUBLISHERS.iter().enumerate() {
        let _ = writeln!(t, "client {c} servers={}", rotate(k));
    }
    let _ = writeln!(t, "client v servers={}", rotate(PUBLISHERS.len()));
    let _ = writeln!(t, "link default latency={BASE_LATENCY}");
    let mut steps: Vec<(Time, String)> = Vec::new();
    steps.push((
        SEC,
        format!("c1: nats stream add {STREAM} --subjects \"orders.>\" --replicas {} --storage file", p.replicas),
    ));
    let mut starts: Vec<Time> = PUBLISHERS.iter().map(|_| 2 * SEC + rng.range_inclusive(0, 50) * MS).collect();
    starts.sort_unstable();
    for (c, start) in PUBLISHERS.iter().zip(starts) {
        steps.push((
            start,
            format!("{c}: nats pub orders.{c} \"{c}-{{{{Count}}}}\" --jetstream --count {PER_PUBLISHER} --sleep 40ms --timeout 500ms"),
        ));
    }
    steps.push((HEAL_AT, "note \"heal everything\"".into()));
    steps.push((HEAL_AT, "heal".into()));
    for s in &servers {
        steps.push((HEAL_AT, format!("resume {s}")));
        steps.push((HEAL_AT, format!("restart {s}")));
    }
    steps.push((HEAL_AT, format!("latency * {BASE_LATENCY}")));
    steps.push((
        VERIFY_AT,
        format!("v: nats pub orders.v \"v-{{{{Count}}}}\" --jetstream --count {VERIFY_COUNT} --timeout 1s"),
    ));

    let mut faults = Vec::new();
    let dur = |rng: &mut Rng| rng.range_inclusive(300, 2500) * MS;
    match p.kind {
        Kind::None => {}
        Kind::Mixed => {
            let n = rng.range_inclusive(4, 8);
            let kinds = [
                Kind::KillLeader,
                Kind::KillFollower,
                Kind::PartitionMinority,
                Kind::PartitionLeader,
                Kind::Pause,
                Kind::Latency,
            ];
            for _ in 0..n {
                let start = FAULTS_FROM + rng.range_inclusive(0, (HEAL_AT - FAULTS_FROM - 300 * MS) / MS) * MS;
                let end = (start + dur(&mut rng)).min(HEAL_AT);
                faults.push(Planned { kind: kinds[rng.index(kinds.len())], start, end });
            }
            faults.sort_by_key(|f| f.start);
        }
        kind => {
            let mut at = FAULTS_FROM + rng.range_inclusive(0, 500) * MS;
            while at + 300 * MS < HEAL_AT {
                let end = (at + dur(&mut rng)).min(HEAL_AT);
                faults.push(Planned { kind, start: at, end });
                at = end + rng.range_inclusive(200, 1000) * MS;
            }
        }
    }
    Plan { head: t, steps, faults }
}

/// A scenario's text: its head, then its steps in time order (stable, so
/// steps at one time keep their order).
fn render(head: &str, steps: &[(Time, String)]) -> String {
    let mut steps = steps.to_vec();
    steps.sort_by_key(|(t, _)| *t);
    let mut text = head.to_string();
    for (t, line) in steps {
        let _ = writeln!(text, "at {} {line}", fmt_dur(t));
    }
    text
}

/// Counters of one run (summed per profile).
#[derive(Clone, Debug, Default)]
struct Stats {
    runs: u64,
    elections: u64,
    stepdowns: u64,
    truncations: u64,
    catchups: u64,
    faults: u64,
    published: u64,
    acked: u64,
    timeouts: u64,
    errors: u64,
    /// Timed-out or failed publishes that were stored anyway.
    recovered: u64,
    violations: u64,
    lost: u64,
    seeds_losing: u64,
    events: u64,
    /// Wall-clock time (not deterministic; only printed).
    millis: u64,
}

impl Stats {
    fn add(&mut self, o: &Stats) {
        self.runs += o.runs;
        self.elections += o.elections;
        self.stepdowns += o.stepdowns;
        self.truncations += o.truncations;
        self.catchups += o.catchups;
        self.faults += o.faults;
        self.published += o.published;
        self.acked += o.acked;
        self.timeouts += o.timeouts;
        self.errors += o.errors;
        self.recovered += o.recovered;
        self.violations += o.violations;
        self.lost += o.lost;
        self.seeds_losing += o.seeds_losing;
        self.events += o.events;
        self.millis += o.millis;
    }
}

struct Run {
    world: World,
    stats: Stats,
    /// The scenario with the resolved fault lines inlined, for reproduction.
    as_run: String,
    /// Safety problems found by the end-of-run checks (besides the world's).
    problems: Vec<String>,
}

fn client<'a>(w: &'a World, name: &str) -> Option<&'a jetsim_core::client::Client> {
    let ep = w.endpoint(name)?;
    w.clients.get((ep - w.server_count()) as usize).map(|c| &c.node)
}

fn leader_name(w: &World) -> Option<String> {
    w.stream_leader(STREAM).map(|l| w.name(l).to_string())
}

/// Members of the stream (from any replica's assignment), else every server.
fn members(w: &World, servers: &[String]) -> Vec<String> {
    match w.stream_replicas(STREAM).first() {
        Some((_, r)) => r.assignment.peers.iter().map(|&p| w.name(p).to_string()).collect(),
        None => servers.to_vec(),
    }
}

/// The highest sequence any running replica of the stream holds.
fn max_seq(w: &World) -> u64 {
    w.stream_replicas(STREAM).iter().map(|(_, r)| r.store.last_seq()).max().unwrap_or(0)
}

fn pick(rng: &mut Rng, v: &[String]) -> String {
    v[rng.index(v.len())].clone()
}

/// Scenario lines starting a fault now, and the lines ending it.
fn resolve(kind: Kind, mixed: bool, w: &World, rng: &mut Rng, servers: &[String]) -> (Vec<String>, Vec<String>) {
    let leader = leader_name(w);
    let members = members(w, servers);
    let followers: Vec<String> = members.iter().filter(|m| Some(*m) != leader.as_ref()).cloned().collect();
    let leader_or_any = leader.clone().unwrap_or_else(|| pick(rng, &members));
    let rest_of =
        |group: &[String]| -> Vec<String> { servers.iter().filter(|s| !group.contains(s)).cloned().collect() };
    let minority = (servers.len() - 1) / 2;
    match kind {
        Kind::None | Kind::Mixed => (vec![], vec![]),
        Kind::KillLeader => {
            // In mixed runs a kill hits any server a third of the time.
            let x = if mixed && rng.below(3) == 0 { pick(rng, servers) } else { leader_or_any };
            (vec![format!("kill {x}")], vec![format!("restart {x}")])
        }
        Kind::KillFollower => {
            let x = pick(rng, if followers.is_empty() { servers } else { &followers });
            (vec![format!("kill {x}")], vec![format!("restart {x}")])
        }
        Kind::PartitionMinority => {
            let mut pool: Vec<String> = if followers.is_empty() { servers.to_vec() } else { followers };
            let k = rng.range_inclusive(1, minority as u64) as usize;
            let mut group = Vec::new();
            while group.len() < k && !pool.is_empty() {
                group.push(pool.remove(rng.index(pool.len())));
            }
            group.sort();
            let rest = rest_of(&group);
            let heal = group.iter().map(|g| format!("heal {g}")).collect();
            (vec![format!("partition {} | {}", group.join(" "), rest.join(" "))], heal)
        }
        Kind::PartitionLeader => {
            let mut group = vec![leader_or_any];
            let mut pool = rest_of(&group);
            let extra = rng.range_inclusive(0, minority as u64 - 1) as usize;
            for _ in 0..extra {
                group.push(pool.remove(rng.index(pool.len())));
            }
            group.sort();
            let rest = rest_of(&group);
            let heal = group.iter().map(|g| format!("heal {g}")).collect();
            (vec![format!("partition {} | {}", group.join(" "), rest.join(" "))], heal)
        }
        Kind::Pause => {
            let x = if rng.below(2) == 0 { leader_or_any } else { pick(rng, servers) };
            (vec![format!("pause {x}")], vec![format!("resume {x}")])
        }
        Kind::Latency => {
            let x = if rng.below(2) == 0 { leader_or_any } else { pick(rng, servers) };
            let d = rng.range_inclusive(100, 900);
            (vec![format!("latency {x} {d}ms jitter=20ms")], vec![format!("latency {x} {BASE_LATENCY}")])
        }
        Kind::PowerLoss => {
            let group: Vec<String> = if rng.below(2) == 0 {
                servers.to_vec()
            } else {
                let mut pool = servers.to_vec();
                let mut g = Vec::new();
                while g.len() < servers.len() / 2 + 1 {
                    g.push(pool.remove(rng.index(pool.len())));
                }
                g.sort();
                g
            };
            (
                group.iter().map(|s| format!("power-loss {s}")).collect(),
                group.iter().map(|s| format!("restart {s}")).collect(),
            )
        }
    }
}

/// What the trace showed: coverage counters and every PubAck as
/// (invoked, acknowledged, seq).
#[derive(Default)]
struct Seen {
    next: u64,
    acks: Vec<(Time, Time, u64)>,
}

/// Read the trace events kept since the last scan; the ring is emptied
/// afterwards (so it only ever holds one slice).
fn scan(w: &mut World, seen: &mut Seen, st: &mut Stats) {
    for e in w.trace.recent() {
        assert_eq!(e.seq, seen.next, "trace events were dropped from the ring before they were scanned");
        seen.next = e.seq + 1;
        match &e.kind {
            TraceKind::Raft { stream: Some(_), event, .. } => match event {
                RaftNote::Leader { .. } => st.elections += 1,
                RaftNote::SteppedDown { .. } => st.stepdowns += 1,
                RaftNote::Truncated { .. } => st.truncations += 1,
                _ => {}
            },
            TraceKind::PubAcked { seq, latency, .. } => seen.acks.push((e.at.saturating_sub(*latency), e.at, *seq)),
            _ => {}
        }
    }
    w.trace.set_capacity(0);
    w.trace.set_capacity(RING);
}

fn advance(w: &mut World, to: Time, seen: &mut Seen, st: &mut Stats) {
    while w.now() < to {
        let t = (w.now() + SLICE).min(to);
        w.run_until(t);
        scan(w, seen, st);
    }
}

/// Appends are linearizable: a publish acknowledged before another one was
/// sent has the lower sequence number (Jepsen's footnote 4: no message acked
/// before an OK publish was invoked may be lost or ordered after it).
fn real_time_order(acks: &[(Time, Time, u64)]) -> Result<(), String> {
    let mut by_ack: Vec<(Time, u64)> = acks.iter().map(|&(_, a, s)| (a, s)).collect();
    by_ack.sort_unstable();
    // prefix[i]: the highest seq among the first i acks (in ack order).
    let mut prefix: Vec<(u64, Time)> = Vec::with_capacity(by_ack.len() + 1);
    let mut best = (0u64, 0 as Time);
    prefix.push(best);
    for &(a, s) in &by_ack {
        if s > best.0 {
            best = (s, a);
        }
        prefix.push(best);
    }
    for &(invoked, acked, seq) in acks {
        let before = by_ack.partition_point(|&(a, _)| a < invoked);
        let (max, at) = prefix[before];
        if max >= seq {
            return Err(format!(
                "seq {seq} (sent at {}, acked at {}) is not after seq {max}, acked at {} before it was sent",
                fmt_dur(invoked),
                fmt_dur(acked),
                fmt_dur(at)
            ));
        }
    }
    Ok(())
}

/// Publishers are done: every publish acknowledged, failed or timed out.
fn publishers_done(w: &World) -> bool {
    PUBLISHERS.iter().chain(["v"].iter()).all(|c| {
        let Some(cl) = client(w, c) else { return true };
        let js = &cl.js;
        let want = if *c == "v" { VERIFY_COUNT } else { PER_PUBLISHER };
        js.published == want && js.acked + js.timeouts + js.errors == js.published
    })
}

fn run_one(p: &Profile, seed: u64) -> Run {
    let Plan { head, steps, faults } = plan(p, seed);
    let text = render(&head, &steps);
    let sc = scenario::parse(&text).unwrap_or_else(|e| panic!("{}: generated scenario: {e}\n{text}", p.name));
    let mut w = World::new(sc.clone(), seed).unwrap_or_else(|e| panic!("{}: {e}", p.name));
    w.set_check_invariants(true);
    w.set_track_in_flight(false);
    w.trace.set_capacity(RING);
    let servers = names(p.servers);
    let mut rng = Rng::new(seed ^ 0x5EED_FA11);
    let mut st = Stats { runs: 1, ..Stats::default() };
    let mut seen = Seen::default();
    let mut applied: Vec<(Time, String)> = Vec::new();
    // (time, fault index, is_start)
    let mut agenda: Vec<(Time, usize, bool)> = Vec::new();
    for (i, f) in faults.iter().enumerate() {
        agenda.push((f.start, i, true));
        if f.end < HEAL_AT {
            agenda.push((f.end, i, false));
        }
    }
    agenda.sort_by_key(|&(t, i, start)| (t, !start, i));
    let mut ends: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    // Per open fault: the stream's highest sequence when it started. A fault
    // that ends after the stream moved on leaves a replica to catch up.
    let mut open: BTreeMap<usize, u64> = BTreeMap::new();
    for (at, i, start) in agenda {
        advance(&mut w, at, &mut seen, &mut st);
        let lines = if start {
            let (s, e) = resolve(faults[i].kind, p.kind == Kind::Mixed, &w, &mut rng, &servers);
            st.faults += 1;
            ends.insert(i, e);
            open.insert(i, max_seq(&w));
            s
        } else {
            if open.remove(&i).is_some_and(|s0| max_seq(&w) > s0) {
                st.catchups += 1;
            }
            ends.remove(&i).unwrap_or_default()
        };
        for line in lines {
            let a = scenario::parse_action_line(&line, &sc, &Limits::default())
                .unwrap_or_else(|e| panic!("{}: fault line {line:?}: {e}", p.name));
            w.apply_action(&a);
            applied.push((w.now(), line));
        }
    }
    // Faults still open end with the heal-everything tail.
    advance(&mut w, HEAL_AT, &mut seen, &mut st);
    let now_seq = max_seq(&w);
    st.catchups += open.values().filter(|&&s0| now_seq > s0).count() as u64;
    advance(&mut w, VERIFY_AT, &mut seen, &mut st);
    while !publishers_done(&w) && w.now() < MAX_TIME {
        let t = w.now() + 100 * MS;
        advance(&mut w, t, &mut seen, &mut st);
    }
    let t = w.now() + CATCH_UP;
    advance(&mut w, t, &mut seen, &mut st);

    // The scenario as run: the resolved fault lines as steps. (Replaying it
    // runs each fault before, not after, the other events of its instant, so
    // a replay can differ in detail; the campaign's own re-run is exact.)
    let mut all = steps.clone();
    all.extend(applied.iter().cloned());
    let as_run = render(&head, &all);

    let mut problems = Vec::new();
    if !publishers_done(&w) {
        problems.push(format!("publishers still busy at {}", fmt_dur(w.now())));
    }
    if p.sync_always != Some(false) {
        if let Err(e) = real_time_order(&seen.acks) {
            problems.push(format!("real-time order: {e}"));
        }
    }
    let mut attempted: BTreeSet<Vec<u8>> = BTreeSet::new();
    for c in PUBLISHERS.iter().chain(["v"].iter()) {
        let Some(cl) = client(&w, c) else { continue };
        let js = &cl.js;
        st.published += js.published;
        st.acked += js.acked;
        st.timeouts += js.timeouts;
        st.errors += js.errors;
        for n in 1..=js.published {
            attempted.insert(format!("{c}-{n}").into_bytes());
        }
    }
    // Phantoms and duplicates. (Acknowledged payloads on every replica:
    // `World::lost_acked_publishes` below.)
    let acked_bodies: BTreeSet<Vec<u8>> = PUBLISHERS
        .iter()
        .chain(["v"].iter())
        .filter_map(|c| client(&w, c))
        .flat_map(|c| c.js.acked_msgs.iter().map(|m| m.3.to_vec()))
        .collect();
    for (ep, r) in w.stream_replicas(STREAM) {
        if r.group.is_none() {
            continue;
        }
        let name = w.name(ep).to_string();
        let mut stored: BTreeSet<&[u8]> = BTreeSet::new();
        let mut recovered = 0;
        for (seq, m) in r.store.range(0) {
            if !attempted.contains(m.data.as_ref()) {
                problems.push(format!("{name}: seq {seq} holds {:?}, never published", m.data));
            }
            if !stored.insert(m.data.as_ref()) {
                problems.push(format!("{name}: {:?} stored twice (again at seq {seq})", m.data));
            }
            if !acked_bodies.contains(m.data.as_ref() as &[u8]) {
                recovered += 1;
            }
        }
        st.recovered = st.recovered.max(recovered);
    }
    let lost = w.lost_acked_publishes();
    st.lost = lost.len() as u64;
    st.seeds_losing = u64::from(!lost.is_empty());
    st.violations = w.all_violations().len() as u64;
    st.events = w.metrics.events;
    Run { world: w, stats: st, as_run, problems }
}

/// Convergence: every member up, one leader, identical stores.
fn converged(w: &World, replicas: u32) -> Result<(), String> {
    let reps: Vec<_> = w.stream_replicas(STREAM).into_iter().filter(|(_, r)| r.group.is_some()).collect();
    if reps.len() != replicas as usize {
        return Err(format!("{} of {replicas} replicas running", reps.len()));
    }
    if w.stream_leader(STREAM).is_none() {
        return Err("no stream leader".into());
    }
    let first = (reps[0].1.store.last_seq(), reps[0].1.store.digest());
    for (ep, r) in &reps {
        let st = (r.store.last_seq(), r.store.digest());
        if st != first {
            return Err(format!(
                "{} has last_seq {} (digest {:x}), {} has {} ({:x})",
                w.name(*ep),
                st.0,
                st.1,
                w.name(reps[0].0),
                first.0,
                first.1
            ));
        }
    }
    if w.servers.iter().any(|s| s.liveness != Liveness::Up) {
        return Err("a server is not up after heal".into());
    }
    Ok(())
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// One run, judged: its counters and what went wrong (inside a worker thread:
/// worlds are not `Send`, the verdicts are).
struct Verdict {
    profile: usize,
    stats: Stats,
    failure: Option<String>,
    as_run: String,
}

fn judge(pi: usize, seed: u64) -> Verdict {
    let prof = &PROFILES[pi];
    let t0 = std::time::Instant::now();
    let run = run_one(prof, seed);
    let w = &run.world;
    let lazy = prof.sync_always == Some(false);
    let mut why: Vec<String> = run.problems.clone();
    if !lazy {
        why.extend(w.all_violations().iter().map(|v| format!("violation: {} {:?}: {}", v.group, v.stream, v.text)));
        if let Err(e) = converged(w, prof.replicas) {
            why.push(format!("not converged: {e}"));
        }
        let v = client(w, "v").map(|c| c.js.acked).unwrap_or(0);
        if v != VERIFY_COUNT {
            why.push(format!("only {v} of {VERIFY_COUNT} publishes after heal were acknowledged"));
        }
    }
    if prof.kind == Kind::None && (run.stats.elections != 1 || run.stats.timeouts + run.stats.errors != 0) {
        why.push(format!(
            "control run: {} elections, {} timeouts, {} errors",
            run.stats.elections, run.stats.timeouts, run.stats.errors
        ));
    }
    let mut stats = run.stats.clone();
    stats.millis = t0.elapsed().as_millis() as u64;
    let failure = (!why.is_empty())
        .then(|| format!("{} seed {seed}:\n  {}\n--- scenario ---\n{}", prof.name, why.join("\n  "), run.as_run));
    Verdict { profile: pi, stats, failure, as_run: run.as_run }
}

/// What each profile must have caused, summed over its seeds, so that a
/// clean result is not vacuous (Antithesis' "sometimes" properties).
fn coverage(prof: &Profile, s: &Stats) -> Vec<String> {
    let mut miss = Vec::new();
    let mut need = |ok: bool, what: &str| {
        if !ok {
            miss.push(format!("{}: {what} (over {} seeds)", prof.name, s.runs));
        }
    };
    let reelections = s.elections > s.runs;
    let failed_pubs = s.timeouts + s.errors > 0;
    match prof.kind {
        Kind::None => {}
        Kind::KillLeader => {
            need(reelections, "no stream leader was re-elected");
            need(failed_pubs, "no publish failed or timed out");
            need(s.catchups > 0, "no restarted server had to catch up");
        }
        Kind::KillFollower | Kind::PartitionMinority => {
            need(s.catchups > 0, "no replica had to catch up");
            need(failed_pubs, "no publish failed or timed out");
        }
        Kind::PartitionLeader => {
            need(reelections, "no stream leader was re-elected");
            need(s.truncations > 0, "no uncommitted log suffix was truncated");
            need(s.catchups > 0, "no replica had to catch up");
        }
        Kind::Pause | Kind::Latency | Kind::Mixed => {
            need(reelections, "no stream leader was re-elected");
            need(s.timeouts > 0, "no publish timed out");
        }
        Kind::PowerLoss => {
            need(reelections, "no stream leader was re-elected");
            need(failed_pubs, "no publish failed or timed out");
            if prof.sync_always == Some(false) {
                need(s.seeds_losing > 0, "lazy fsync lost no acknowledged publish");
            }
        }
    }
    if prof.sync_always == Some(true) || prof.sync_always.is_none() {
        need(s.lost == 0, "acknowledged publishes were lost");
    }
    miss
}

fn campaign(default_seeds: u64) {
    let seeds = env_u64("JETSIM_CAMPAIGN_SEEDS").unwrap_or(default_seeds);
    let only_profile = std::env::var("JETSIM_CAMPAIGN_PROFILE").ok();
    let only_seed = env_u64("JETSIM_CAMPAIGN_SEED");
    let started = std::time::Instant::now();
    let mut jobs: Vec<(usize, u64)> = Vec::new();
    for (pi, prof) in PROFILES.iter().enumerate() {
        if only_profile.as_deref().is_some_and(|n| n != prof.name) {
            continue;
        }
        for seed in (1..=seeds).filter(|s| only_seed.is_none_or(|o| o == *s)) {
            jobs.push((pi, seed));
        }
    }
    assert!(!jobs.is_empty(), "no profile named {only_profile:?}");
    // Runs are independent and each is deterministic: spread them over the
    // cores; the verdicts are merged in profile and seed order.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut verdicts: Vec<(usize, Verdict)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(&(pi, seed)) = jobs.get(k) else { break };
                        out.push((k, judge(pi, seed)));
                    }
                    out
                })
            })
            .collect();
        workers.into_iter().flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    });
    verdicts.sort_by_key(|(k, _)| *k);
    let mut failures: Vec<String> = Vec::new();
    let mut table: Vec<(usize, Stats)> = Vec::new();
    for (_, v) in &verdicts {
        if only_seed.is_some() {
            println!("{}", v.as_run);
        }
        if let Some(f) = &v.failure {
            failures.push(f.clone());
        }
        match table.last_mut() {
            Some((pi, total)) if *pi == v.profile => total.add(&v.stats),
            _ => table.push((v.profile, v.stats.clone())),
        }
    }
    println!(
        "{:<19} {:>5} {:>9} {:>8} {:>6} {:>6} {:>8} {:>8} {:>8} {:>7} {:>9} {:>10} {:>9} {:>11} {:>9} {:>7}",
        "profile",
        "seeds",
        "elections",
        "stepdown",
        "trunc",
        "catchup",
        "sent",
        "acked",
        "timeouts",
        "errors",
        "recovered",
        "violations",
        "lost-acks",
        "seeds-lost",
        "events",
        "cpu"
    );
    for (pi, s) in &table {
        println!(
            "{:<19} {:>5} {:>9} {:>8} {:>6} {:>6} {:>8} {:>8} {:>8} {:>7} {:>9} {:>10} {:>9} {:>11} {:>9} {:>6.1}s",
            PROFILES[*pi].name,
            s.runs,
            s.elections,
            s.stepdowns,
            s.truncations,
            s.catchups,
            s.published,
            s.acked,
            s.timeouts,
            s.errors,
            s.recovered,
            s.violations,
            s.lost,
            s.seeds_losing,
            s.events,
            s.millis as f64 / 1000.0,
        );
    }
    println!(
        "({} runs on {threads} threads in {:.1} s; cpu is the per-profile sum of run times)",
        verdicts.len(),
        started.elapsed().as_secs_f64()
    );
    // Coverage needs a few seeds to mean anything.
    if seeds >= 4 && only_seed.is_none() {
        for (pi, s) in &table {
            failures.extend(coverage(&PROFILES[*pi], s));
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n\n"));
}

#[test]
fn fault_campaign() {
    campaign(5);
}

#[test]
#[ignore]
fn fault_campaign_long() {
    campaign(100);
}

/// The checkers fail on bad histories (a campaign that cannot fail proves
/// nothing).
#[test]
fn checkers_have_teeth() {
    // Concurrent publishes may take either order; sequential ones may not.
    assert!(real_time_order(&[(0, 10, 2), (5, 12, 1), (20, 25, 3)]).is_ok());
    let e = real_time_order(&[(0, 10, 2), (11, 15, 1)]).unwrap_err();
    assert!(e.contains("seq 1") && e.contains("seq 2"), "{e}");
    assert!(real_time_order(&[(0, 10, 4), (11, 15, 4)]).is_err(), "a reused sequence");
    // Coverage: a profile that caused nothing is reported.
    let none = Stats { runs: 5, elections: 5, ..Stats::default() };
    let kl = PROFILES.iter().find(|p| p.name == "kill-leader").copied().unwrap_or(PROFILES[0]);
    assert_eq!(coverage(&kl, &none).len(), 3, "{:?}", coverage(&kl, &none));
    let lazy = PROFILES.iter().find(|p| p.name == "power-loss-lazy").copied().unwrap_or(PROFILES[0]);
    assert!(coverage(&lazy, &none).iter().any(|m| m.contains("lost no acknowledged")));
    let always = PROFILES.iter().find(|p| p.name == "power-loss-always").copied().unwrap_or(PROFILES[0]);
    let lost = Stats { lost: 1, ..none.clone() };
    assert!(coverage(&always, &lost).iter().any(|m| m.contains("were lost")));
}
