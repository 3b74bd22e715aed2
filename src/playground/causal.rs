//! Causal trace of a JetStream publish: for a PubAck, the path its publish
//! took (client → its server → route to the stream leader → append to each
//! follower and their acks → quorum → PubAck back over the route to the
//! client), which replicas formed the quorum, and each hop's latency as a
//! small waterfall.
//!
//! The path is reconstructed from the trace when the PubAck is read (the
//! frames of the last virtual moments are still in the trace's ring): the
//! client's PUB on the subject sent at `ack time − latency`, the route message
//! carrying it, the leader's last AppendEntries to each follower before the
//! quorum and the acks that arrived by then, the quorum note, and the frames
//! carrying the PubAck back. It is a reading of what the core recorded, not a
//! model of its own; when a frame is missing (the ring dropped it) the path
//! says so.

use std::collections::VecDeque;

use jetsim_core::sim::World;
use jetsim_core::time::{fmt_duration, fmt_time, Time};
use jetsim_core::trace::{Endpoint, FrameKind, RaftNote, TraceEvent, TraceKind};
use yew::prelude::*;

use crate::text;

/// PubAcks whose paths are kept.
pub const KEPT: usize = 20;

/// One hop of a path: a frame from `from` to `to`, sent and arrived.
#[derive(Clone, Debug, PartialEq)]
pub struct Hop {
    /// `publish`, `route`, `append`, `append ack`, `puback route`, `puback`.
    pub what: &'static str,
    pub from: String,
    pub to: String,
    pub sent: Time,
    pub arrived: Time,
    /// The endpoints (for the drawing's highlight).
    pub from_ep: Endpoint,
    pub to_ep: Endpoint,
}

/// The path of one acknowledged publish.
#[derive(Clone, Debug, PartialEq)]
pub struct AckPath {
    /// The PubAck's trace position (its key).
    pub trace_seq: u64,
    pub client: String,
    pub subject: String,
    pub stream: String,
    pub seq: u64,
    pub start: Time,
    pub end: Time,
    pub leader: Option<String>,
    /// Servers holding the entry when it reached quorum, and when.
    pub quorum: Option<(Vec<String>, Time)>,
    /// The quorum's servers and the leader as endpoints (for the drawing).
    pub quorum_eps: Vec<Endpoint>,
    pub leader_ep: Option<Endpoint>,
    pub replicas: usize,
    pub hops: Vec<Hop>,
    /// Frames that should be there but were not found in the trace.
    pub missing: Vec<&'static str>,
}

#[derive(Clone, Debug, Default)]
pub struct Causal {
    pub paths: VecDeque<AckPath>,
}

impl Causal {
    pub fn observe(&mut self, w: &World, e: &TraceEvent) {
        if let TraceKind::PubAcked { .. } = &e.kind {
            if let Some(p) = trace_path(w, e) {
                self.paths.push_back(p);
                while self.paths.len() > KEPT {
                    self.paths.pop_front();
                }
            }
        }
    }

    pub fn find(&self, trace_seq: u64) -> Option<&AckPath> {
        self.paths.iter().find(|p| p.trace_seq == trace_seq)
    }
}

/// Sends of the window: (seq, sent at, from, to, kind, subject, arrives).
struct Send<'a> {
    at: Time,
    from: Endpoint,
    to: Endpoint,
    kind: FrameKind,
    subject: Option<&'a str>,
    arrives: Time,
}

/// Reconstruct the path of the publish a `PubAcked` event acknowledges.
pub fn trace_path(w: &World, ack: &TraceEvent) -> Option<AckPath> {
    let TraceKind::PubAcked { client, subject, stream, seq, latency } = &ack.kind else { return None };
    let end = ack.at;
    let start = end.saturating_sub(*latency);
    // The trace's events of the publish's lifetime, oldest first.
    let window: Vec<&TraceEvent> = {
        let mut v: Vec<&TraceEvent> =
            w.trace.recent().rev().skip_while(|e| e.seq > ack.seq).take_while(|e| e.at >= start).collect();
        v.reverse();
        v
    };
    let sends: Vec<Send<'_>> = window
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::Send { from, to, label, arrives, .. } => Some(Send {
                at: e.at,
                from: *from,
                to: *to,
                kind: label.kind,
                subject: label.subject.as_deref(),
                arrives: *arrives,
            }),
            _ => None,
        })
        .collect();
    let name = |ep: Endpoint| text::short(w.name(ep), 24);
    let hop = |what: &'static str, s: &Send<'_>| Hop {
        what,
        from: name(s.from),
        to: name(s.to),
        sent: s.at,
        arrived: s.arrives,
        from_ep: s.from,
        to_ep: s.to,
    };
    let mut hops = Vec::new();
    let mut missing = Vec::new();
    // 1. The client's PUB.
    let publish = sends
        .iter()
        .find(|s| s.at == start && s.from == *client && s.kind == FrameKind::Publish && s.subject == Some(&**subject));
    let entry_server = publish.map(|p| p.to);
    match publish {
        Some(p) => hops.push(hop("publish", p)),
        None => missing.push("the client's publish"),
    }
    // 2. The quorum note of the stream's group (the leader's) in the window.
    let quorum = window.iter().rev().find_map(|e| match &e.kind {
        TraceKind::Raft { server, stream: Some(s), event: RaftNote::Quorum { acks, .. }, .. } if **s == **stream => {
            Some((*server, acks.clone(), e.at))
        }
        _ => None,
    });
    let leader = quorum.as_ref().map(|q| q.0);
    let replicas = w
        .stream_replicas(stream)
        .first()
        .map(|(_, r)| r.assignment.peers.len())
        .unwrap_or_else(|| quorum.as_ref().map_or(0, |q| q.1.len()));
    let mut at_leader = publish.map_or(start, |p| p.arrives);
    if let (Some(entry), Some(l)) = (entry_server, leader) {
        if entry != l {
            match sends.iter().find(|s| {
                s.from == entry
                    && s.to == l
                    && s.kind == FrameKind::RouteMsg
                    && s.subject == Some(&**subject)
                    && s.at >= at_leader
            }) {
                Some(r) => {
                    hops.push(hop("route", r));
                    at_leader = r.arrives;
                }
                None => missing.push("the route message to the leader"),
            }
        }
    }
    // 3. Replication: per follower, the leader's first append sent after the
    // message reached it and before the quorum, and the ack that came back.
    if let Some((l, acks, q_at)) = &quorum {
        let mut followers: Vec<Endpoint> = sends
            .iter()
            .filter(|s| s.from == *l && s.kind == FrameKind::RaftAppend && s.at >= at_leader && s.at < *q_at)
            .map(|s| s.to)
            .collect();
        jetsim_core::sort::sort(&mut followers);
        followers.dedup();
        for f in followers {
            // The first append after the message reached the leader carries
            // it (the leader proposes on receipt); later ones are commits.
            let Some(ae) = sends.iter().find(|s| {
                s.from == *l && s.to == f && s.kind == FrameKind::RaftAppend && s.at >= at_leader && s.at < *q_at
            }) else {
                continue;
            };
            hops.push(hop("append", ae));
            if let Some(ack) = sends.iter().find(|s| {
                s.from == f
                    && s.to == *l
                    && s.kind == FrameKind::RaftAppendAck
                    && s.at >= ae.arrives
                    && s.arrives <= *q_at
            }) {
                hops.push(hop("append ack", ack));
            }
        }
        if acks.len() > 1 && !hops.iter().any(|h| h.what == "append ack") {
            missing.push("the followers' acks");
        }
    } else {
        missing.push("the quorum");
    }
    // 4. The PubAck back: leader → (route) → entry server → client.
    let q_at = quorum.as_ref().map_or(start, |q| q.2);
    if let (Some(entry), Some(l)) = (entry_server, leader) {
        if entry != l {
            match sends.iter().find(|s| s.from == l && s.to == entry && s.kind == FrameKind::RouteMsg && s.at >= q_at) {
                Some(r) => hops.push(hop("puback route", r)),
                None => missing.push("the PubAck's route message"),
            }
        }
    }
    match sends.iter().rev().find(|s| s.to == *client && s.kind == FrameKind::Deliver && s.arrives == end) {
        Some(d) => hops.push(hop("puback", d)),
        None => missing.push("the PubAck's delivery"),
    }
    Some(AckPath {
        trace_seq: ack.seq,
        client: name(*client),
        subject: text::short(subject, 60),
        stream: text::short(stream, 40),
        seq: *seq,
        start,
        end,
        leader: leader.map(&name),
        quorum_eps: quorum.as_ref().map(|q| q.1.clone()).unwrap_or_default(),
        leader_ep: leader,
        quorum: quorum.map(|(_, acks, at)| (acks.iter().map(|&a| name(a)).collect(), at)),
        replicas,
        hops,
        missing,
    })
}

/// The path in one line of text.
pub fn describe(p: &AckPath) -> String {
    let mut parts: Vec<String> = Vec::new();
    for h in &p.hops {
        parts.push(format!("{} {} → {} {}", h.what, h.from, h.to, fmt_duration(h.arrived - h.sent)));
    }
    let q = match &p.quorum {
        Some((by, at)) => format!(
            "; quorum {} ({} of {}) at +{}",
            by.join(", "),
            by.len(),
            p.replicas,
            fmt_duration(at.saturating_sub(p.start))
        ),
        None => String::new(),
    };
    format!(
        "{} {} → {} seq {}: {}{q}; PubAck after {}.",
        p.client,
        p.subject,
        p.stream,
        p.seq,
        parts.join(", "),
        fmt_duration(p.end - p.start)
    )
}

/// The causal panel: the recent PubAcks (pick one) and the chosen one's path.
/// A picked PubAck (from the log or the buttons here) is "open": its path is
/// also highlighted on the cluster drawing until `on_close`.
pub fn causal_view(c: &Causal, picked: Option<u64>, on_pick: Callback<u64>, on_close: Callback<()>) -> Html {
    let chosen = match picked {
        Some(s) => c.find(s),
        None => c.paths.back(),
    };
    let gone = picked.is_some() && chosen.is_none();
    html! {
        <section class="panel causal" aria-labelledby="causal-h">
            <h2 id="causal-h" class="panel-title">{ "Causal trace of a PubAck" }</h2>
            if c.paths.is_empty() {
                <p class="muted small">{ "No JetStream publish has been acknowledged yet." }</p>
            } else {
                <div class="ack-picks" role="group" aria-label="Recent PubAcks">
                    { for c.paths.iter().rev().take(10).map(|p| {
                        let key = p.trace_seq;
                        let cb = on_pick.clone();
                        let pressed = chosen.is_some_and(|x| x.trace_seq == key);
                        html! {
                            <button type="button" class="ack-pick" aria-pressed={pressed.to_string()} data-trace-seq={key.to_string()}
                                onclick={Callback::from(move |_| cb.emit(key))}>
                                { format!("{} seq {} · {}", p.stream, p.seq, fmt_duration(p.end - p.start)) }
                            </button>
                        }
                    }) }
                </div>
            }
            if gone {
                <p class="muted small" id="causal-gone">
                    { format!("That PubAck is older than the last {KEPT} kept here; pick a recent one.") }
                </p>
            }
            if picked.is_some() && chosen.is_some() {
                <p class="small causal-open">
                    { "This path is highlighted on the cluster drawing. " }
                    <button type="button" id="causal-close" onclick={Callback::from(move |_| on_close.emit(()))}>
                        { "Close the trace" }
                    </button>
                </p>
            } else if chosen.is_some() {
                <p class="muted small">{ "The latest PubAck is shown. Pick one (here or in the event log) to highlight its path on the cluster drawing." }</p>
            }
            if let Some(p) = chosen {
                { waterfall(p) }
            }
        </section>
    }
}

fn waterfall(p: &AckPath) -> Html {
    let total = (p.end - p.start).max(1) as f64;
    let (w, row, label_w) = (360.0_f64, 16.0_f64, 170.0_f64);
    let rows = p.hops.len();
    let height = row * (rows as f64 + 1.0) + 4.0;
    let x = |t: Time| label_w + w * (t.saturating_sub(p.start)) as f64 / total;
    let q_x = p.quorum.as_ref().map(|(_, at)| x(*at));
    html! {
        <div class="waterfall" id="causal-path" data-client={p.client.clone()} data-stream={p.stream.clone()}
            data-seq={p.seq.to_string()} data-leader={p.leader.clone().unwrap_or_default()}
            data-quorum={p.quorum.as_ref().map(|(by, _)| by.join(",")).unwrap_or_default()}
            data-hops={p.hops.len().to_string()} data-latency-ns={(p.end - p.start).to_string()}>
            <p class="small" id="causal-text">{ describe(p) }</p>
            if !p.missing.is_empty() {
                <p class="warn small">{ format!("Not found in the trace (it keeps the last 10,000 events): {}.", p.missing.join(", ")) }</p>
            }
            <svg viewBox={format!("0 0 {} {height}", label_w + w + 60.0)} role="img" aria-labelledby="causal-text" class="waterfall-svg">
                { for p.hops.iter().enumerate().map(|(i, h)| {
                    let y = row * i as f64 + 2.0;
                    let (x0, x1) = (x(h.sent), x(h.arrived));
                    html! {
                        <g class={classes!("hop", format!("hop-{}", h.what.replace(' ', "-")))}>
                            <text x="0" y={format!("{:.1}", y + row * 0.75)} class="hop-label">{ format!("{} {}→{}", h.what, h.from, h.to) }</text>
                            <rect x={format!("{x0:.1}")} y={format!("{:.1}", y + 2.0)} width={format!("{:.1}", (x1 - x0).max(1.5))} height={format!("{:.1}", row - 5.0)} />
                            <text x={format!("{:.1}", x1 + 3.0)} y={format!("{:.1}", y + row * 0.75)} class="hop-time">{ fmt_duration(h.arrived - h.sent) }</text>
                        </g>
                    }
                }) }
                if let Some(qx) = q_x {
                    <line class="quorum-mark" x1={format!("{qx:.1}")} x2={format!("{qx:.1}")} y1="0" y2={format!("{:.1}", row * rows as f64 + 2.0)} />
                    <text class="hop-time" x={format!("{:.1}", qx + 3.0)} y={format!("{:.1}", row * rows as f64 + row * 0.8)}>{ "quorum" }</text>
                }
                <text class="hop-label" x="0" y={format!("{:.1}", row * rows as f64 + row * 0.8)}>
                    { format!("{} → {}", fmt_time(p.start), fmt_time(p.end)) }
                </text>
            </svg>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jetsim_core::time::{MS, SEC};

    fn world(id: &str, until: Time) -> World {
        let text = crate::examples::find(id).map(|e| e.text).unwrap_or_default();
        let sc = jetsim_core::scenario::parse(text).expect("parses");
        let mut w = World::new(sc, 1).expect("builds");
        w.run_until(until);
        w
    }

    fn last_path(w: &World) -> AckPath {
        let ack = w.trace.recent().rev().find(|e| matches!(e.kind, TraceKind::PubAcked { .. })).expect("an ack");
        trace_path(w, ack).expect("a path")
    }

    #[test]
    fn r3_publish_path_through_the_route_and_quorum() {
        // c1 is on n1, the ORDERS leader is n3 (seed 1), 1 ms links.
        let p = last_path(&world("r3-publish", 5 * SEC));
        assert!(p.missing.is_empty(), "{p:#?}");
        assert_eq!(p.leader.as_deref(), Some("n3"));
        assert_eq!(p.end - p.start, 6 * MS);
        let whats: Vec<&str> = p.hops.iter().map(|h| h.what).collect();
        assert_eq!(whats.first(), Some(&"publish"));
        assert_eq!(whats[1], "route");
        assert!(whats.contains(&"append") && whats.contains(&"append ack"), "{whats:?}");
        assert_eq!(&whats[whats.len() - 2..], ["puback route", "puback"]);
        let (by, at) = p.quorum.clone().expect("quorum");
        assert_eq!(by.len(), 2);
        assert!(by.contains(&"n3".to_string()));
        assert_eq!(at - p.start, 4 * MS, "client 1 + route 1 + append round trip 2");
        assert_eq!(p.replicas, 3);
        assert!(describe(&p).ends_with("PubAck after 6ms."), "{}", describe(&p));
    }

    #[test]
    fn the_leaders_own_client_has_no_route_hops() {
        // lose-quorum: c3 on n3, which leads ORDERS.
        let p = last_path(&world("lose-quorum", 5 * SEC));
        assert_eq!(p.leader.as_deref(), Some("n3"));
        assert!(p.hops.iter().all(|h| h.what != "route" && h.what != "puback route"), "{p:#?}");
        assert_eq!(p.end - p.start, 4 * MS);
        assert!(p.missing.is_empty(), "{p:#?}");
    }
}
