//! Guided scenarios: the scenario's `note` steps as numbered narration, a
//! "Next step" that runs to the next one, a plain-text summary of what the
//! cluster view shows now (meta leader, each stream's leader, replicas up,
//! quorum size, who held the last entry, PubAcks), and a transcript (a live
//! region) that narrates what happens as it happens.
//!
//! [`Watch`] reads the world's trace after every change (from the view, so it
//! always matches what is drawn) and feeds the narrator, the metrics and the
//! causal traces; it never changes the world.

use jetsim_core::vecmap::VecMap as BTreeMap;
use std::collections::VecDeque; // sorted-Vec map: smaller wasm

use jetsim_core::scenario::Action;
use jetsim_core::sim::{Liveness, World};
use jetsim_core::time::{fmt_duration, fmt_time, Time};
use jetsim_core::trace::{Endpoint, RaftNote, ServerState, TraceEvent, TraceKind};
use yew::prelude::*;

use super::causal::Causal;
use super::metrics::MetricsState;
use super::session::{Moment, Session};
use crate::text;

/// Transcript lines kept (the oldest go first).
pub const TRANSCRIPT_CAP: usize = 200;
/// After the first PubAck of a run of successes, every this many are said.
const ACK_EVERY: u64 = 10;

/// One transcript line.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub n: u64,
    pub at: Time,
    pub text: String,
    /// `note`, `fault`, `leader`, `quorum`, `ack`, `fail`, `api`, `broken`.
    pub class: &'static str,
}

/// What a stream looked like at the last observation (for the narration).
#[derive(Clone, Debug, Default)]
struct StreamSeen {
    leader: Option<String>,
    /// Say the next quorum / PubAck (after a start or a change).
    fresh: bool,
    acks_in_a_row: u64,
    fails_in_a_row: u64,
}

/// Turns trace events into sentences.
#[derive(Clone, Debug, Default)]
pub struct Narrator {
    pub lines: VecDeque<Line>,
    next_n: u64,
    streams: BTreeMap<String, StreamSeen>,
    meta_leader: BTreeMap<String, String>,
    /// Consumer groups ("STREAM › CONSUMER") and their last leader.
    consumer_leader: BTreeMap<String, String>,
    /// The last quorum per stream: (entry index, servers holding it).
    pub last_quorum: BTreeMap<String, (u64, Vec<String>)>,
    violations_said: usize,
}

impl Narrator {
    fn say(&mut self, at: Time, class: &'static str, text: String) {
        self.lines.push_back(Line { n: self.next_n, at, text, class });
        self.next_n += 1;
        while self.lines.len() > TRANSCRIPT_CAP {
            self.lines.pop_front();
        }
    }

    fn stream(&mut self, s: &str) -> &mut StreamSeen {
        self.streams.entry(s.to_string()).or_insert_with(|| StreamSeen { fresh: true, ..Default::default() })
    }

    pub fn observe(&mut self, w: &World, e: &TraceEvent) {
        let name = |ep: &Endpoint| text::short(w.name(*ep), 24);
        match &e.kind {
            TraceKind::Note { text: t } => self.say(e.at, "note", format!("Guide: {}", text::display_max(t, 600))),
            TraceKind::ServerState { server, state } => {
                let what = match state {
                    ServerState::Down => "is down",
                    ServerState::Up => "is up",
                    ServerState::Paused => "is paused",
                };
                self.say(e.at, "fault", format!("Server {} {what}.", name(server)));
                for s in self.streams.values_mut() {
                    s.fresh = true;
                }
            }
            TraceKind::Raft { server, group, stream, event } => match (stream, event) {
                // A consumer's own Raft group, labelled "STREAM › CONSUMER":
                // its leader delivers and takes acks; not a stream.
                (Some(c), ev) if c.contains('\u{203a}') => {
                    let who = name(server);
                    match ev {
                        RaftNote::Leader { term } => {
                            let before = self.consumer_leader.insert(c.to_string(), who.clone());
                            let text = match before {
                                Some(b) if b != who => format!(
                                    "Consumer {c}: new leader {who} (term {term}), replacing {b}; it carries the delivered and ack state."
                                ),
                                _ => format!("Consumer {c}: {who} is the consumer leader (term {term}); it delivers and takes the acks."),
                            };
                            self.say(e.at, "leader", text);
                        }
                        RaftNote::SteppedDown { term, reason } => {
                            self.say(
                                e.at,
                                "fail",
                                format!("Consumer {c}: leader {who} stepped down from term {term} ({reason})."),
                            );
                        }
                        _ => {}
                    }
                }
                (None, RaftNote::Leader { term }) => {
                    let who = name(server);
                    let before = self.meta_leader.insert(group.to_string(), who.clone());
                    let text = match before {
                        Some(b) if b != who => format!("Meta group: new leader {who} (term {term}), replacing {b}."),
                        _ => format!("Meta group: {who} is the meta leader (term {term}); it places streams."),
                    };
                    self.say(e.at, "leader", text);
                }
                (Some(s), RaftNote::Leader { term }) => {
                    let who = name(server);
                    let reps = replica_names(w, s);
                    let seen = self.stream(s);
                    let before = seen.leader.replace(who.clone());
                    seen.fresh = true;
                    let text = match before {
                        Some(b) if b != who => format!(
                            "Stream {s}: new leader {who} (term {term}), replacing {b}. Replicas: {}.",
                            reps.join(", ")
                        ),
                        _ => format!("Stream {s}: {who} is the leader (term {term}). Replicas: {}.", reps.join(", ")),
                    };
                    self.say(e.at, "leader", text);
                }
                (Some(s), RaftNote::SteppedDown { term, reason }) => {
                    let who = name(server);
                    let seen = self.stream(s);
                    if seen.leader.as_deref() == Some(who.as_str()) {
                        seen.leader = None;
                    }
                    seen.fresh = true;
                    let tail = if *reason == "lost quorum" {
                        ": it could not reach a quorum. No PubAcks until a leader is elected."
                    } else {
                        "."
                    };
                    self.say(
                        e.at,
                        "fail",
                        format!("Stream {s}: leader {who} stepped down from term {term} ({reason}){tail}"),
                    );
                }
                (Some(s), RaftNote::Quorum { index, acks }) => {
                    let by: Vec<String> = acks.iter().map(&name).collect();
                    let replicas = replica_names(w, s).len().max(acks.len());
                    let fresh = self.stream(s).fresh;
                    self.last_quorum.insert(s.to_string(), (*index, by.clone()));
                    if fresh {
                        self.say(
                            e.at,
                            "quorum",
                            format!(
                                "Stream {s}: entry {index} is on a quorum, held by {} ({} of {replicas}).",
                                by.join(", "),
                                by.len()
                            ),
                        );
                    }
                }
                _ => {}
            },
            TraceKind::PubAcked { client, stream, seq, latency, .. } => {
                let who = name(client);
                let seen = self.stream(stream);
                seen.acks_in_a_row += 1;
                let fails = std::mem::take(&mut seen.fails_in_a_row);
                let say_it = seen.fresh || seen.acks_in_a_row.is_multiple_of(ACK_EVERY);
                let n = seen.acks_in_a_row;
                seen.fresh = false;
                if say_it {
                    let after = if fails > 0 { format!(", after {fails} failed publishes") } else { String::new() };
                    let run = if n > 1 { format!(" ({n} in a row)") } else { String::new() };
                    self.say(
                        e.at,
                        "ack",
                        format!(
                            "{who} received a PubAck: {stream} seq {seq} after {}{run}{after}.",
                            fmt_duration(*latency)
                        ),
                    );
                }
            }
            TraceKind::PubFailed { client, subject, reason } => {
                // Which stream? The narration keys failures by subject's stream
                // when known; otherwise by the subject itself.
                let key = stream_of_subject(w, subject).unwrap_or_else(|| subject.to_string());
                let seen = self.stream(&key);
                seen.acks_in_a_row = 0;
                seen.fails_in_a_row += 1;
                seen.fresh = true;
                if seen.fails_in_a_row == 1 {
                    self.say(
                        e.at,
                        "fail",
                        format!(
                            "{} JetStream publish to {} failed: {}.",
                            name(client),
                            text::short(subject, 60),
                            text::short(reason, 80)
                        ),
                    );
                }
            }
            TraceKind::JsApi { client, op, ok, text: t } => {
                let what = if *ok { String::new() } else { "error: ".into() };
                self.say(e.at, "api", format!("{} nats {op}: {what}{}", name(client), text::display_max(t, 200)));
            }
            _ => {}
        }
    }

    /// Say new Raft invariant violations (the acknowledged-publish check is
    /// in the guarantees panel, computed when drawn).
    fn check_violations(&mut self, w: &World) {
        while self.violations_said < w.violations.len() {
            let v = &w.violations[self.violations_said];
            self.violations_said += 1;
            self.say(v.at, "broken", format!("Guarantee broken in {}: {}", v.group, text::display_max(&v.text, 300)));
        }
    }
}

/// The servers holding a stream's replicas (from its assignment), by name.
pub fn replica_names(w: &World, stream: &str) -> Vec<String> {
    w.stream_replicas(stream)
        .first()
        .map(|(_, r)| r.assignment.peers.iter().map(|&p| text::short(w.name(p), 24)).collect())
        .unwrap_or_default()
}

/// The stream whose subjects match `subject`, if any running server knows one.
fn stream_of_subject(w: &World, subject: &str) -> Option<String> {
    for name in w.stream_names() {
        let reps = w.stream_replicas(&name);
        let Some((_, r)) = reps.first() else { continue };
        if r.assignment.config.subjects.iter().any(|f| jetsim_core::subject::matches(f, subject)) {
            return Some(name);
        }
    }
    None
}

/// The panels' view of one session: what has been read from its trace.
#[derive(Default)]
pub struct Watch {
    /// Identifies the session (its text's address and seed): another one
    /// (load, reset, seed) starts the watch afresh.
    key: Option<(usize, u64)>,
    next_seq: u64,
    /// Trace events that were gone from the ring before they could be read.
    pub missed: u64,
    pub narrator: Narrator,
    pub metrics: MetricsState,
    pub causal: Causal,
}

impl Watch {
    /// Read what happened since the last call.
    pub fn sync(&mut self, s: &Session) {
        let key = (std::rc::Rc::as_ptr(&s.text) as *const u8 as usize, s.seed);
        let w = &s.world;
        if self.key != Some(key) || w.trace.count() < self.next_seq {
            *self = Watch { key: Some(key), ..Watch::default() };
        }
        let count = w.trace.count();
        if count <= self.next_seq {
            return;
        }
        let oldest = w.trace.recent().next().map_or(count, |e| e.seq);
        if oldest > self.next_seq {
            let lost = oldest - self.next_seq;
            self.missed += lost;
            self.narrator.say(
                w.now(),
                "gap",
                format!(
                    "… {lost} trace events went by too fast to narrate (the trace keeps the last {}).",
                    w.trace.capacity()
                ),
            );
        }
        for e in w.trace.since(self.next_seq) {
            self.narrator.observe(w, e);
            self.metrics.observe(w, e);
            self.causal.observe(w, e);
        }
        self.narrator.check_violations(w);
        self.next_seq = count;
    }
}

/// The scenario's narration steps: (time, text).
pub fn notes(w: &World) -> Vec<(Time, String)> {
    w.scenario()
        .script
        .iter()
        .filter_map(|s| match &s.action {
            Action::Note(t) => Some((s.at, t.clone())),
            _ => None,
        })
        .collect()
}

/// The time of the first note after `now`, if any.
pub fn next_note_time(w: &World) -> Option<Time> {
    let now = w.now();
    notes(w).into_iter().map(|(t, _)| t).find(|&t| t > now)
}

/// Run to the next narration step (and pause there). Returns the status line.
pub fn run_to_next_note(s: &mut Session) -> String {
    let Some(t) = next_note_time(&s.world) else {
        return "No narration step is left: this was the last one.".into();
    };
    goto_time(s, t)
}

/// Go to virtual time `t` (after every event due by then), forward or back
/// (back replays the run). Returns the status line.
pub fn goto_time(s: &mut Session, t: Time) -> String {
    match s.goto(Moment::time(t)) {
        Ok(a) if a.complete => {
            format!("{} {}.", if a.replayed { "Replayed the run to" } else { "Ran to" }, fmt_time(s.now()))
        }
        Ok(_) => format!("Stopped at {}: too many events to get to {} in one go.", fmt_time(s.now()), fmt_time(t)),
        Err(e) => e,
    }
}

/// One stream's state now, as the guide's summary states it.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamNow {
    pub name: String,
    pub replicas: Vec<String>,
    pub up: usize,
    pub quorum: usize,
    pub leader: Option<String>,
    pub acked: u64,
    pub last_quorum: Option<(u64, Vec<String>)>,
}

pub fn streams_now(w: &World, narrator: &Narrator) -> Vec<StreamNow> {
    w.stream_names()
        .into_iter()
        .map(|name| {
            let reps = w.stream_replicas(&name);
            let peers: Vec<Endpoint> = reps.first().map(|(_, r)| r.assignment.peers.clone()).unwrap_or_default();
            let up = peers
                .iter()
                .filter(|&&p| w.servers.get(p as usize).is_some_and(|s| s.liveness == Liveness::Up))
                .count();
            let acked = w
                .clients
                .iter()
                .map(|c| c.node.js.acked_msgs.iter().filter(|(s, ..)| **s == *name).count() as u64)
                .sum();
            StreamNow {
                replicas: peers.iter().map(|&p| text::short(w.name(p), 24)).collect(),
                up,
                quorum: peers.len() / 2 + 1,
                leader: w.stream_leader(&name).map(|l| text::short(w.name(l), 24)),
                acked,
                last_quorum: narrator.last_quorum.get(&name).cloned(),
                name,
            }
        })
        .collect()
}

/// The guide panel. `on_next` runs to the next narration step.
pub fn guide_view(w: &World, narrator: &Narrator, on_next: Callback<MouseEvent>) -> Html {
    let steps = notes(w);
    let now = w.now();
    let current = steps.iter().rposition(|(t, _)| *t <= now);
    let next = next_note_time(w);
    let meta = (0..w.server_count()).find_map(|i| w.meta_leader(i)).map(|e| text::short(w.name(e), 24));
    let streams = streams_now(w, narrator);
    let progress = match (current, steps.len()) {
        (_, 0) => "This scenario has no narration (no note lines).".to_string(),
        (None, n) => format!("{n} narration steps; the first is at {}.", fmt_time(steps[0].0)),
        (Some(i), n) => format!("Step {} of {n}.", i + 1),
    };
    html! {
        <section class="panel guide" aria-labelledby="guide-h">
            <h2 id="guide-h" class="panel-title">{ "Guide" }</h2>
            <div class="guide-bar">
                <p id="guide-progress" class="small" data-step={current.map_or(0, |i| i + 1).to_string()} data-steps={steps.len().to_string()}>{ progress }</p>
                <button id="guide-next" type="button" disabled={next.is_none()} onclick={on_next}
                    title="Run the simulation to the next narration step, then pause">
                    { match next { Some(t) => format!("Next step (run to {})", fmt_time(t)), None => "Next step".to_string() } }
                </button>
            </div>
            if !steps.is_empty() {
                <ol class="guide-steps">
                    { for steps.iter().enumerate().map(|(i, (t, s))| {
                        let state = match current { Some(c) if i == c => "current", Some(c) if i < c => "past", _ => "future" };
                        html! {
                            <li class={state} aria-current={(state == "current").then_some("step")}>
                                <span class="t">{ fmt_time(*t) }</span>{ " " }{ text::display_max(s, 600) }
                            </li>
                        }
                    }) }
                </ol>
            }
            <h3 class="guide-sub">{ "What the view shows now" }</h3>
            <ul id="guide-now" class="guide-now small" data-meta-leader={meta.clone().unwrap_or_default()}>
                <li>{ match &meta { Some(m) => format!("Meta leader: {m}."), None => "No meta leader.".to_string() } }</li>
                { for streams.iter().map(|s| {
                    let lq = s.last_quorum.as_ref().map(|(i, by)| format!(" · entry {i} held by {} ({} of {})", by.join(", "), by.len(), s.replicas.len())).unwrap_or_default();
                    html! {
                        <li class="stream-now" data-stream={s.name.clone()} data-leader={s.leader.clone().unwrap_or_default()}
                            data-replicas={s.replicas.len().to_string()} data-up={s.up.to_string()} data-quorum={s.quorum.to_string()}
                            data-acked={s.acked.to_string()}
                            data-last-quorum={s.last_quorum.as_ref().map(|(_, by)| by.join(",")).unwrap_or_default()}>
                            { format!(
                                "Stream {} (R{}): {} · {} of {} replicas up, quorum {}{}{} · {} PubAcks received.",
                                text::short(&s.name, 40),
                                s.replicas.len(),
                                match &s.leader { Some(l) => format!("leader {l}"), None => "no leader".to_string() },
                                s.up,
                                s.replicas.len(),
                                s.quorum,
                                if s.up < s.quorum { " (lost: nothing can be acknowledged)" } else { "" },
                                lq,
                                s.acked,
                            ) }
                        </li>
                    }
                }) }
            </ul>
            <h3 class="guide-sub" id="transcript-h">{ "Transcript (newest first)" }</h3>
            <ol id="transcript" class="transcript small" reversed=true aria-live="polite" aria-relevant="additions" aria-labelledby="transcript-h">
                { for narrator.lines.iter().rev().map(|l| html! {
                    <li key={l.n} class={l.class}><span class="t">{ fmt_time(l.at) }</span>{ " " }{ l.text.clone() }</li>
                }) }
            </ol>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::examples;
    use jetsim_core::time::SEC;

    fn session(id: &str) -> Session {
        Session::build(examples::find(id).map(|e| e.text).unwrap_or_default(), None).expect("builds")
    }

    fn run_to(s: &mut Session, w: &mut Watch, t: Time) {
        while s.now() < t {
            let step = (t - s.now()).min(SEC / 10);
            s.advance(step as f64, u64::MAX, &mut || true);
            w.sync(s);
        }
    }

    #[test]
    fn kill_leader_is_narrated() {
        let mut s = session("kill-leader");
        let mut w = Watch::default();
        run_to(&mut s, &mut w, 5 * SEC);
        let lines: Vec<&str> = w.narrator.lines.iter().map(|l| l.text.as_str()).collect();
        assert!(
            lines.iter().any(|l| l.starts_with("Stream ORDERS: n3 is the leader (term 1). Replicas: n1, n2, n3.")),
            "{lines:#?}"
        );
        assert!(lines.iter().any(|l| l.starts_with("Stream ORDERS: entry ") && l.ends_with("(2 of 3).")), "{lines:#?}");
        assert!(lines.iter().any(|l| l.starts_with("c1 received a PubAck: ORDERS seq 1 after 6ms")), "{lines:#?}");
        assert!(
            lines.iter().any(|l| l.starts_with("c1 received a PubAck: ORDERS seq 10 after 6ms (10 in a row)")),
            "{lines:#?}"
        );
        let now = streams_now(&s.world, &w.narrator);
        assert_eq!(now.len(), 1);
        assert_eq!((now[0].leader.as_deref(), now[0].up, now[0].quorum), (Some("n3"), 3, 2));
        run_to(&mut s, &mut w, 8 * SEC);
        let lines: Vec<&str> = w.narrator.lines.iter().map(|l| l.text.as_str()).collect();
        assert!(lines.contains(&"Server n3 is down."), "{lines:#?}");
        assert!(
            lines.iter().any(|l| l.starts_with("Stream ORDERS: new leader n2 (term 2), replacing n3.")),
            "{lines:#?}"
        );
        assert!(lines.iter().any(|l| l.contains("failed publishes.")), "{lines:#?}");
        let now = streams_now(&s.world, &w.narrator);
        assert_eq!((now[0].leader.as_deref(), now[0].up), (Some("n2"), 2));
    }

    #[test]
    fn consumer_groups_are_narrated_as_consumers_not_streams() {
        let mut s = session("pull-consumer");
        let mut w = Watch::default();
        run_to(&mut s, &mut w, 12 * SEC);
        let lines: Vec<&str> = w.narrator.lines.iter().map(|l| l.text.as_str()).collect();
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("Consumer JOBS \u{203a} workers: ") && l.contains("is the consumer leader")),
            "{lines:#?}"
        );
        // The step-down at 7s: a new consumer leader carrying the state.
        assert!(lines.iter().any(|l| l.starts_with("Consumer JOBS \u{203a} workers: new leader ")), "{lines:#?}");
        assert!(!lines.iter().any(|l| l.starts_with("Stream JOBS \u{203a}")), "{lines:#?}");
        let now = streams_now(&s.world, &w.narrator);
        assert_eq!(now.len(), 1, "only the stream JOBS is a stream");
    }

    #[test]
    fn notes_and_next_step() {
        let s = session("r1-r3-r5");
        let n = notes(&s.world);
        assert!(n.len() >= 6, "{n:?}");
        assert_eq!(n[0].0, 0, "the first note is at 0s");
        assert_eq!(next_note_time(&s.world), Some(n[1].0), "at 0s the next step is the second note");
        assert!(n[1].0 > 0);
    }

    #[test]
    fn a_new_session_starts_the_watch_afresh() {
        let mut s = session("r3-publish");
        let mut w = Watch::default();
        run_to(&mut s, &mut w, 5 * SEC);
        assert!(!w.narrator.lines.is_empty());
        let fresh = s.rebuilt().expect("rebuilds");
        w.sync(&fresh);
        assert!(w.narrator.lines.is_empty(), "nothing has happened in the new run");
    }
}
