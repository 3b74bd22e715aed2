//! One playground run: a scenario's text, a seed, the world built from them,
//! and the event log read from the world's trace. Pure Rust over the core's
//! public API (no DOM), so it is unit-tested natively; the component owns one.

use std::collections::VecDeque;
use std::rc::Rc;

use jetsim_core::scenario::{self, Fault, Limits};
use jetsim_core::sim::World;
use jetsim_core::time::Time;
use jetsim_core::trace::{RaftNote, TraceKind};

use super::lens::{Recent, RECENT_ACKS, RECENT_GROUPS};
use crate::text;

/// Entries kept in the event log (the oldest go first).
pub const LOG_CAP: usize = 500;

/// Events run between two reads of the trace (and two looks at the clock)
/// while advancing. The trace keeps the last 10,000 trace events; reading it
/// this often keeps the log complete unless single events fan out enormously
/// (a gap is then said in the log).
const CHUNK: u64 = 1_000;

/// One line of the event log.
#[derive(Clone, Debug, PartialEq)]
pub struct LogEntry {
    /// The trace sequence number (unique, used as the list key).
    pub seq: u64,
    pub at: Time,
    pub text: String,
    /// A CSS class for the kind of event (`fault`, `state`, `recv`, …).
    pub class: &'static str,
}

/// How a call to [`Session::advance`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Advance {
    /// The clock reached the requested time.
    Reached,
    /// The clock reached the scenario's `until` and stopped there (once).
    End,
    /// The event budget ran out first: the clock is behind the request.
    Behind,
}

/// What one [`Session::step`] did.
#[derive(Clone, Debug, PartialEq)]
pub struct StepReport {
    pub at: Time,
    /// Every trace event the step produced, described (frames included).
    pub events: Vec<String>,
}

pub struct Session {
    /// The scenario text this run was built from.
    pub text: Rc<str>,
    pub seed: u64,
    pub world: World,
    pub log: VecDeque<LogEntry>,
    /// The last quorum per Raft group and PubAcks received per stream (for
    /// the Raft lens), read from the trace with the log.
    pub recent: Recent,
    /// Where the automatic stop is (the scenario's `until`), until passed.
    pub stop_at: Option<Time>,
    /// Trace events not read because the trace had already dropped them.
    pub missed: u64,
    /// The next trace sequence number to read into the log.
    next_seq: u64,
    /// Fraction of a virtual nanosecond not yet run (slow speeds).
    carry: f64,
}

/// Parse a seed typed by a person: a whole number that fits in 64 bits.
pub fn parse_seed(s: &str) -> Result<u64, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("Enter a seed: a whole number such as 7.".into());
    }
    if !t.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "The seed \"{}\" is not a whole number: use digits only, from 0 to {}.",
            text::display_max(t, 40),
            u64::MAX
        ));
    }
    t.parse::<u64>()
        .map_err(|_| format!("The seed is too large: the largest is {}.", u64::MAX))
}

impl Session {
    /// Build a run. `seed` None means the scenario's own seed, else 1 (as
    /// `jetsim run`). Errors are one line, naming the scenario line if any.
    pub fn build(text: &str, seed: Option<u64>) -> Result<Session, String> {
        let sc = scenario::parse(text).map_err(|e| text::display(&e.to_string()))?;
        let seed = seed.or(sc.seed).unwrap_or(1);
        let stop_at = sc.until.filter(|&t| t > 0);
        let world = World::new(sc, seed).map_err(|e| text::display(&e.to_string()))?;
        let mut s = Session {
            text: Rc::from(text),
            seed,
            world,
            log: VecDeque::new(),
            recent: Recent::default(),
            stop_at,
            missed: 0,
            next_seq: 0,
            carry: 0.0,
        };
        s.drain();
        Ok(s)
    }

    /// The same scenario and seed from the start.
    pub fn rebuilt(&self) -> Result<Session, String> {
        Session::build(&self.text, Some(self.seed))
    }

    pub fn now(&self) -> Time {
        self.world.now()
    }

    /// Run `virtual_ns` more of virtual time (fractions carry over to the
    /// next call), processing at most `budget` events, and stopping early
    /// (between chunks of events) when `more()` says so: the caller's wall
    /// clock budget.
    pub fn advance(&mut self, virtual_ns: f64, budget: u64, more: &mut dyn FnMut() -> bool) -> Advance {
        let want = if virtual_ns.is_finite() && virtual_ns > 0.0 {
            virtual_ns
        } else {
            0.0
        } + self.carry;
        let whole = want.floor();
        self.carry = want - whole;
        // `as` saturates: a huge request is just "as far as the budget goes".
        let mut target = self.world.now().saturating_add(whole as u64);
        let mut end = false;
        if let Some(stop) = self.stop_at {
            if self.world.now() >= stop {
                self.stop_at = None;
            } else if target >= stop {
                target = stop;
                end = true;
            }
        }
        let mut used = 0u64;
        loop {
            let chunk = CHUNK.min(budget.saturating_sub(used));
            let before = self.world.metrics.events;
            let reached = self.world.run_until_bounded(target, chunk);
            used = used.saturating_add(self.world.metrics.events.saturating_sub(before));
            self.drain();
            if reached {
                break;
            }
            if used >= budget || !more() {
                self.carry = 0.0;
                return Advance::Behind;
            }
        }
        if end {
            self.stop_at = None;
            self.carry = 0.0;
            return Advance::End;
        }
        Advance::Reached
    }

    /// Process exactly one event. None when nothing is left to happen.
    pub fn step(&mut self) -> Option<StepReport> {
        let from = self.world.trace.count();
        let at = self.world.step()?;
        let world = &self.world;
        let events = world
            .trace
            .since(from)
            .map(|e| text::display(&world.describe(&e.kind)))
            .collect();
        self.drain();
        Some(StepReport { at, events })
    }

    pub fn apply_fault(&mut self, fault: &Fault) {
        self.world.apply_fault(fault);
        self.drain();
    }

    /// Run a console line (`kill n2`, `pub: nats pub orders.new hi`) now.
    /// Returns the action as the scenario format writes it.
    pub fn run_command(&mut self, line: &str) -> Result<String, String> {
        let action = scenario::parse_action_line(line, self.world.scenario(), &Limits::default())
            .map_err(|e| text::display(&e))?;
        self.world.apply_action(&action);
        self.drain();
        Ok(text::display(&scenario::action_text(&action)))
    }

    /// Read new trace events into the log (headline events only).
    fn drain(&mut self) {
        let count = self.world.trace.count();
        if count <= self.next_seq {
            return;
        }
        let oldest_kept = self.world.trace.recent().next().map_or(count, |e| e.seq);
        if oldest_kept > self.next_seq {
            let lost = oldest_kept - self.next_seq;
            self.missed = self.missed.saturating_add(lost);
            self.push(LogEntry {
                seq: self.next_seq,
                at: self.world.now(),
                text: format!("… {lost} trace events happened too fast to list here"),
                class: "gap",
            });
        }
        let from = self.next_seq;
        let world = &self.world;
        let fresh: Vec<LogEntry> = world
            .trace
            .since(from)
            .filter(|e| World::is_headline(&e.kind))
            .map(|e| LogEntry {
                seq: e.seq,
                at: e.at,
                text: text::display(&world.describe(&e.kind)),
                class: class_of(&e.kind),
            })
            .collect();
        for e in fresh {
            self.push(e);
        }
        let (recent, world) = (&mut self.recent, &self.world);
        for e in world.trace.since(from) {
            match &e.kind {
                TraceKind::Raft { group, event: RaftNote::Quorum { index, acks }, .. } => {
                    if recent.quorums.len() < RECENT_GROUPS || recent.quorums.contains_key(&**group) {
                        let by = acks.iter().map(|a| text::short(world.name(*a), 24)).collect();
                        recent.quorums.insert(group.to_string(), (e.at, *index, by));
                    }
                }
                TraceKind::PubAcked { client, stream, seq, latency, .. } => {
                    if recent.acks.len() < RECENT_GROUPS || recent.acks.contains_key(&**stream) {
                        let v = recent.acks.entry(stream.to_string()).or_default();
                        v.push((e.at, text::short(world.name(*client), 24), *seq, *latency));
                        if v.len() > RECENT_ACKS {
                            v.remove(0);
                        }
                    }
                }
                _ => {}
            }
        }
        self.next_seq = count;
    }

    fn push(&mut self, e: LogEntry) {
        self.log.push_back(e);
        while self.log.len() > LOG_CAP {
            self.log.pop_front();
        }
    }
}

/// The log's CSS class for an event (`other` for kinds added to the core later).
#[allow(unreachable_patterns)]
pub fn class_of(kind: &TraceKind) -> &'static str {
    match kind {
        TraceKind::Send { .. } | TraceKind::Deliver { .. } => "frame",
        TraceKind::Drop { .. } => "drop",
        TraceKind::Fault { .. } => "fault",
        TraceKind::ServerState { .. } => "state",
        TraceKind::Route { .. } => "route",
        TraceKind::ClientConnected { .. } | TraceKind::ClientDisconnected { .. } => "conn",
        TraceKind::Published { .. } => "pub",
        TraceKind::Received { .. } => "recv",
        TraceKind::Replied { .. } => "reply",
        TraceKind::NoResponders { .. }
        | TraceKind::RequestTimeout { .. }
        | TraceKind::ProtocolError { .. } => "warn",
        TraceKind::Note { .. } => "note",
        TraceKind::Raft { .. } => "raft",
        TraceKind::PubAcked { .. } => "ack",
        TraceKind::PubFailed { .. } => "warn",
        TraceKind::JsApi { ok: true, .. } => "api",
        TraceKind::JsApi { ok: false, .. } => "warn",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::examples;
    use jetsim_core::time::{MS, SEC};

    fn core() -> Session {
        let text = examples::find("core-pubsub")
            .map(|e| e.text)
            .unwrap_or_default();
        Session::build(text, None).expect("core-pubsub builds")
    }

    #[test]
    fn seed_defaults_to_the_scenarios() {
        assert_eq!(core().seed, 7);
        let text = examples::find("core-pubsub")
            .map(|e| e.text)
            .unwrap_or_default();
        assert_eq!(Session::build(text, Some(9)).map(|s| s.seed), Ok(9));
    }

    #[test]
    fn bad_text_is_an_error_naming_the_line() {
        let err = Session::build("jetsim 1\nserver n1\nbogus words\n", None)
            .err()
            .unwrap_or_default();
        assert!(err.starts_with("line 3:"), "{err}");
        assert!(Session::build("", None).is_err());
    }

    #[test]
    fn seeds_are_checked() {
        assert_eq!(parse_seed(" 42 "), Ok(42));
        assert_eq!(parse_seed("18446744073709551615"), Ok(u64::MAX));
        assert!(parse_seed("18446744073709551616").is_err());
        assert!(parse_seed("-1").is_err());
        assert!(parse_seed("1e3").is_err());
        assert!(parse_seed("").is_err());
    }

    #[test]
    fn advance_carries_fractions_and_stops_at_until() {
        let mut s = core();
        // 1/10000× for a 16 ms frame is 1.6 µs: fractions must add up.
        for _ in 0..10 {
            assert_eq!(s.advance(1_600.4, 10_000, &mut || true), Advance::Reached);
        }
        assert_eq!(s.now(), 16_004);
        assert_eq!(s.advance(10.0 * SEC as f64, u64::MAX, &mut || true), Advance::End);
        assert_eq!(s.now(), 5 * SEC, "stopped at the scenario's until");
        assert_eq!(
            s.advance(MS as f64, u64::MAX, &mut || true),
            Advance::Reached,
            "only once"
        );
        assert_eq!(s.now(), 5 * SEC + MS);
    }

    #[test]
    fn the_budget_bounds_the_work() {
        let mut s = core();
        assert_eq!(s.advance(SEC as f64, 3, &mut || true), Advance::Behind);
        assert_eq!(s.world.metrics.events, 3);
        assert!(s.now() < SEC);
    }

    #[test]
    fn the_caller_can_stop_between_chunks() {
        let mut s = Session::build(&jetsim_core::bench::fanout_scenario(10_000), None).expect("builds");
        let mut asked = 0;
        let r = s.advance(SEC as f64, u64::MAX, &mut || {
            asked += 1;
            false
        });
        assert_eq!(r, Advance::Behind);
        assert_eq!(asked, 1);
        assert_eq!(s.world.metrics.events, CHUNK);
    }

    #[test]
    fn the_log_sees_the_cross_route_delivery() {
        let mut s = core();
        s.advance(300.0 * MS as f64, u64::MAX, &mut || true);
        let texts: Vec<&str> = s.log.iter().map(|e| e.text.as_str()).collect();
        assert!(
            texts
                .iter()
                .any(|t| t.starts_with("sub received orders.new")),
            "{texts:#?}"
        );
        assert!(
            s.log.iter().all(|e| e.class != "frame"),
            "no per-frame events in the log"
        );
        let seqs: Vec<u64> = s.log.iter().map(|e| e.seq).collect();
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "in order, unique keys"
        );
    }

    #[test]
    fn step_is_one_event() {
        let mut s = core();
        let r = s.step().expect("something to do");
        assert_eq!(s.world.metrics.events, 1);
        assert_eq!(r.at, s.now());
        // Some events show nothing (a script step buffering a SUB before the
        // connection is up); soon one delivers a frame.
        let mut seen = false;
        for n in 2..50 {
            let r = s.step().expect("something to do");
            assert_eq!(s.world.metrics.events, n);
            if r.events.iter().any(|e| e.contains("arrived")) {
                seen = true;
                break;
            }
        }
        assert!(seen, "a step that delivers a frame says so");
    }

    #[test]
    fn faults_and_commands_reach_the_log() {
        let mut s = core();
        s.apply_fault(&Fault::Kill("n2".into()));
        assert!(s.log.iter().any(|e| e.text == "server n2 is down"));
        assert_eq!(s.run_command("restart n2"), Ok("restart n2".into()));
        assert!(s.log.iter().any(|e| e.text == "server n2 is up"));
        assert!(s.run_command("kill n9").is_err());
        assert!(s.run_command("").is_err());
        assert!(s.run_command("pub: nats pub orders.x hi").is_ok());
    }

    #[test]
    fn the_log_is_bounded() {
        let mut s = core();
        for _ in 0..(LOG_CAP + 50) {
            let _ = s.run_command("note hello");
        }
        assert_eq!(s.log.len(), LOG_CAP);
    }
}
