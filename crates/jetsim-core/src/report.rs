//! The JSON report of `jetsim run --json`. Its schema is documented in
//! README ("jetsim run --json schema"); `schema` is bumped on breaking change.
//! Everything in it is deterministic: the same scenario and seed give the
//! same document, byte for byte.

use serde::Serialize;

use crate::client::ConnState;
use crate::sim::{Liveness, World};

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub schema: u32,
    pub jetsim_version: String,
    pub nats_version: String,
    pub scenario: ScenarioInfo,
    pub seed: u64,
    /// Virtual time reached, in nanoseconds, and as text.
    pub time_ns: u64,
    pub time: String,
    /// The trace hash as 16 hex digits.
    pub trace_hash: String,
    pub servers: Vec<ServerReport>,
    pub clients: Vec<ClientReport>,
    pub metrics: MetricsReport,
    /// JetStream streams (empty without JetStream).
    pub streams: Vec<StreamReport>,
    /// Safety violations: Raft invariants (when checked) and acknowledged
    /// publishes missing from a running replica.
    pub violations: Vec<ViolationReport>,
}

#[derive(Clone, Debug, Serialize)]
pub struct StreamReport {
    pub name: String,
    pub replicas_configured: u32,
    pub storage: String,
    /// Raft group name (`S-R3F-...`).
    pub group: String,
    /// Current leader and its term (absent while leaderless).
    pub leader: Option<String>,
    pub term: u64,
    /// Elections won over the run, summed over the members that are up.
    pub elections: u64,
    pub replicas: Vec<ReplicaReport>,
    /// JetStream publishes to the stream's subjects, from every client.
    pub publishes_sent: u64,
    pub publishes_acked: u64,
    pub publishes_timed_out: u64,
    pub publishes_errored: u64,
    /// PubAck latency, virtual ms (absent without acks).
    pub puback_latency_ms: Option<PercentilesMs>,
    /// The stream's consumers, as the consumer leader (or, while leaderless,
    /// the first member) sees them.
    pub consumers: Vec<ConsumerReport>,
}

/// A consumer sequence pair (ConsumerInfo `delivered` / `ack_floor`).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct SeqPair {
    pub consumer_seq: u64,
    pub stream_seq: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct ConsumerReport {
    pub name: String,
    pub delivered: SeqPair,
    pub ack_floor: SeqPair,
    pub num_pending: u64,
    pub num_ack_pending: u64,
    pub num_redelivered: u64,
    pub num_waiting: u64,
    /// The consumer leader (the leader of the consumer's own Raft group),
    /// absent while leaderless.
    pub leader: Option<String>,
    /// The consumer's Raft group (`C-R3F-…`).
    pub group: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct ReplicaReport {
    pub server: String,
    /// `up`, `down` or `paused`.
    pub state: String,
    /// `leader`, `follower`, `candidate`, or `down`.
    pub role: String,
    pub term: u64,
    pub messages: u64,
    pub first_seq: u64,
    pub last_seq: u64,
    pub last_applied: u64,
    pub log_last_index: u64,
    pub commit_index: u64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PercentilesMs {
    pub count: u64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct ViolationReport {
    /// Raft group, or empty for lost acknowledged publishes.
    pub group: String,
    pub stream: Option<String>,
    /// The step after which it was seen: virtual ns and trace sequence number.
    pub at_ns: u64,
    pub trace_seq: u64,
    pub text: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct ScenarioInfo {
    pub name: String,
    pub file: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ServerReport {
    pub name: String,
    pub cluster: String,
    pub az: Option<String>,
    pub region: Option<String>,
    /// `up`, `down` or `paused`.
    pub state: String,
    pub connections: u32,
    pub subscriptions: u32,
    /// Names of the servers this one has a route to.
    pub routes: Vec<String>,
    pub in_msgs: u64,
    pub out_msgs: u64,
    pub in_bytes: u64,
    pub out_bytes: u64,
    pub route_msgs_sent: u64,
    pub route_msgs_received: u64,
    pub protocol_errors: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct ClientReport {
    pub name: String,
    /// The server it is connected to, if connected.
    pub server: Option<String>,
    pub connected: bool,
    pub published: u64,
    pub received: u64,
    pub requests: u64,
    pub replies: u64,
    pub no_responders: u64,
    pub timeouts: u64,
    pub errors: u64,
    pub reconnects: u64,
    pub last_error: Option<String>,
    /// Request round trips, virtual nanoseconds (absent without replies).
    pub rtt_ns: Option<Percentiles>,
    /// JetStream publishes (`nats pub --jetstream`): sent / acked / timed out / errored.
    pub js_published: u64,
    pub js_acked: u64,
    pub js_timeouts: u64,
    pub js_errors: u64,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Percentiles {
    pub count: u64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
}

impl Percentiles {
    /// Nearest-rank percentiles; `None` for no samples.
    pub fn of(samples: &[u64]) -> Option<Percentiles> {
        if samples.is_empty() {
            return None;
        }
        let mut v = samples.to_vec();
        crate::sort::sort(&mut v);
        let rank = |p: u64| -> u64 {
            let n = v.len() as u64;
            let r = (p * n).div_ceil(100).max(1);
            v[(r - 1) as usize]
        };
        Some(Percentiles { count: v.len() as u64, p50: rank(50), p90: rank(90), p99: rank(99), max: v[v.len() - 1] })
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct MetricsReport {
    pub events: u64,
    pub trace_events: u64,
    pub frames_sent: u64,
    pub frames_delivered: u64,
    pub frames_dropped: u64,
    pub timers_fired: u64,
    pub faults: u64,
    /// Messages handed to subscribing client applications.
    pub deliveries: u64,
}

impl Report {
    pub fn from_world(world: &World, file: Option<String>) -> Report {
        let servers = world
            .servers
            .iter()
            .map(|slot| {
                let sum = slot.node.summary();
                let up = slot.liveness != Liveness::Down;
                ServerReport {
                    name: slot.config.name.clone(),
                    cluster: slot.config.cluster.clone(),
                    az: slot.config.az.clone(),
                    region: slot.config.region.clone(),
                    state: match slot.liveness {
                        Liveness::Up => "up",
                        Liveness::Down => "down",
                        Liveness::Paused => "paused",
                    }
                    .to_string(),
                    connections: if up { sum.connections } else { 0 },
                    subscriptions: if up { sum.subscriptions } else { 0 },
                    // A crashed server's volatile state lingers until restart: report no routes.
                    routes: if up {
                        sum.routes.iter().map(|&r| world.name(r).to_string()).collect()
                    } else {
                        Vec::new()
                    },
                    in_msgs: sum.stats.in_msgs,
                    out_msgs: sum.stats.out_msgs,
                    in_bytes: sum.stats.in_bytes,
                    out_bytes: sum.stats.out_bytes,
                    route_msgs_sent: sum.stats.route_msgs_sent,
                    route_msgs_received: sum.stats.route_msgs_received,
                    protocol_errors: sum.stats.protocol_errors,
                }
            })
            .collect();
        let clients: Vec<ClientReport> = world
            .clients
            .iter()
            .map(|slot| {
                let c = &slot.node;
                let server = match c.state {
                    ConnState::Connected { server } => Some(world.name(server).to_string()),
                    _ => None,
                };
                ClientReport {
                    name: c.config.name.clone(),
                    connected: server.is_some(),
                    server,
                    published: c.stats.published,
                    received: c.stats.received,
                    requests: c.stats.requests,
                    replies: c.stats.replies,
                    no_responders: c.stats.no_responders,
                    timeouts: c.stats.timeouts,
                    errors: c.stats.errors,
                    reconnects: c.stats.reconnects,
                    last_error: c.last_error.clone(),
                    rtt_ns: Percentiles::of(&c.stats.rtts),
                    js_published: c.js.published,
                    js_acked: c.js.acked,
                    js_timeouts: c.js.timeouts,
                    js_errors: c.js.errors,
                }
            })
            .collect();
        let m = &world.metrics;
        Report {
            schema: SCHEMA_VERSION,
            jetsim_version: env!("CARGO_PKG_VERSION").to_string(),
            nats_version: crate::NATS_VERSION.to_string(),
            scenario: ScenarioInfo { name: world.scenario().name.clone(), file },
            seed: world.seed,
            time_ns: world.now(),
            time: crate::time::fmt_time(world.now()),
            trace_hash: format!("{:016x}", world.trace.hash()),
            metrics: MetricsReport {
                events: m.events,
                trace_events: world.trace.count(),
                frames_sent: m.frames_sent,
                frames_delivered: m.frames_delivered,
                frames_dropped: m.frames_dropped,
                timers_fired: m.timers_fired,
                faults: m.faults,
                deliveries: clients.iter().map(|c| c.received).sum(),
            },
            servers,
            clients,
            streams: streams(world),
            violations: world
                .all_violations()
                .into_iter()
                .map(|v| ViolationReport {
                    group: v.group,
                    stream: v.stream,
                    at_ns: v.at,
                    trace_seq: v.trace_seq,
                    text: v.text,
                })
                .collect(),
        }
    }
}

fn consumers(
    world: &World,
    reps: &[(crate::trace::Endpoint, &crate::jetstream::StreamReplica)],
) -> Vec<ConsumerReport> {
    let mut names: Vec<&std::rc::Rc<str>> = reps.iter().flat_map(|(_, r)| r.consumers.keys()).collect();
    crate::sort::sort(&mut names);
    names.dedup();
    let mut out = Vec::new();
    for name in names {
        // The consumer leader's view, else any member's (while leaderless).
        let members = || {
            reps.iter().filter_map(|(e, r)| r.consumers.get(name).filter(|c| c.group.is_some()).map(|c| (*e, *r, c)))
        };
        let lead_ep = crate::sim::highest_term(members().map(|(e, _, c)| (e, c.leader_term())));
        let lead = members().find(|(e, _, _)| Some(*e) == lead_ep);
        // (Every member down: the assignment as any server holds it.)
        let any = || reps.iter().find_map(|(e, r)| r.consumers.get(name).map(|c| (*e, *r, c)));
        let Some((ep, r, c)) = lead.or_else(|| members().next()).or_else(any) else { continue };
        let leader = lead.map(|_| world.name(ep).to_string());
        out.push(consumer_report(name, c, r, leader));
    }
    out
}

/// One consumer as one replica sees it (ConsumerInfo's counters); the page
/// reads every replica's view through this too.
pub fn consumer_report(
    name: &str,
    c: &crate::jetstream::consumer::Consumer,
    r: &crate::jetstream::StreamReplica,
    leader: Option<String>,
) -> ConsumerReport {
    ConsumerReport {
        name: name.to_string(),
        delivered: SeqPair { consumer_seq: c.dseq.max(1) - 1, stream_seq: c.sseq.max(1) - 1 },
        ack_floor: SeqPair { consumer_seq: c.adflr, stream_seq: c.asflr },
        num_pending: c.num_pending(&r.store),
        num_ack_pending: c.pending.len() as u64,
        num_redelivered: c.num_redelivered(),
        num_waiting: c.waiting.len() as u64,
        leader,
        group: c.assignment.group.to_string(),
    }
}

fn streams(world: &World) -> Vec<StreamReport> {
    let mut out = Vec::new();
    for name in world.stream_names() {
        let reps = world.stream_replicas(&name);
        let Some((_, first)) = reps.first() else { continue };
        let sa = first.assignment.clone();
        let leader = world.stream_leader(&name);
        let term = leader
            .and_then(|l| reps.iter().find(|(e, _)| *e == l))
            .and_then(|(_, r)| r.group.as_ref().map(|g| g.raft.term()))
            .unwrap_or(0);
        let mut replicas = Vec::new();
        let mut elections = 0;
        for &p in &sa.peers {
            let slot = &world.servers[p as usize];
            let state = match slot.liveness {
                Liveness::Up => "up",
                Liveness::Down => "down",
                Liveness::Paused => "paused",
            };
            let r = reps.iter().find(|(e, _)| *e == p).map(|(_, r)| *r);
            let g = r.and_then(|r| r.group.as_ref());
            elections += g.map_or(0, |g| g.elections_won);
            let st = r.map(|r| r.store.state()).unwrap_or_default();
            replicas.push(ReplicaReport {
                server: world.name(p).to_string(),
                state: state.to_string(),
                role: match g.map(|g| g.raft.role()) {
                    Some(jetsim_raft::Role::Leader) => "leader",
                    Some(jetsim_raft::Role::Candidate) => "candidate",
                    Some(jetsim_raft::Role::Follower) => "follower",
                    None => "down",
                }
                .to_string(),
                term: g.map_or(0, |g| g.raft.term()),
                messages: st.messages,
                first_seq: st.first_seq,
                last_seq: st.last_seq,
                last_applied: r.map_or(0, |r| r.applied),
                log_last_index: g.map_or(0, |g| g.raft.last_index()),
                commit_index: g.map_or(0, |g| g.raft.commit_index()),
            });
        }
        let (mut sent, mut acked, mut timeouts, mut errors, mut lats) = (0, 0, 0, 0, Vec::new());
        for c in &world.clients {
            for (subject, s) in &c.node.js.by_subject {
                if sa.config.subjects.iter().any(|p| crate::subject::matches(p, subject)) {
                    sent += s.sent;
                    acked += s.acked;
                    timeouts += s.timeouts;
                    errors += s.errors;
                    lats.extend_from_slice(&s.latencies);
                }
            }
        }
        let ms = |ns: u64| ns as f64 / 1e6;
        out.push(StreamReport {
            name: name.clone(),
            replicas_configured: sa.config.num_replicas,
            storage: if sa.config.storage_memory { "memory" } else { "file" }.to_string(),
            group: sa.group.to_string(),
            leader: leader.map(|l| world.name(l).to_string()),
            term,
            elections,
            replicas,
            publishes_sent: sent,
            publishes_acked: acked,
            publishes_timed_out: timeouts,
            publishes_errored: errors,
            puback_latency_ms: Percentiles::of(&lats).map(|p| PercentilesMs {
                count: p.count,
                p50: ms(p.p50),
                p90: ms(p.p90),
                p99: ms(p.p99),
                max: ms(p.max),
            }),
            consumers: consumers(world, &reps),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=100).collect();
        let p = Percentiles::of(&v).unwrap();
        assert_eq!((p.p50, p.p90, p.p99, p.max, p.count), (50, 90, 99, 100, 100));
        assert_eq!(Percentiles::of(&[]), None);
        let p = Percentiles::of(&[7]).unwrap();
        assert_eq!((p.p50, p.p99), (7, 7));
    }
}
