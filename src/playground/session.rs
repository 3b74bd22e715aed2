//! One playground run: a scenario's text, a seed, the world built from them,
//! and the event log read from the world's trace. Pure Rust over the core's
//! public API (no DOM), so it is unit-tested natively; the component owns one.
//!
//! Time travel is replay. The world is deterministic (same text, seed and
//! inputs at the same moments ⇒ the same run), so the session records every
//! input it applied (faults, console commands) with the [`Moment`] it was
//! applied at: the *input log*. Going back ([`Session::goto`],
//! [`Session::step_back`]) rebuilds the world from (text, seed) and runs it
//! forward again, re-applying the logged inputs at their moments. Inputs
//! logged after the current moment are the recorded future: running forward
//! re-applies them, and a new input (or [`Session::fork`]) discards them.

use std::collections::VecDeque;
use std::rc::Rc;

use jetsim_core::scenario::{self, Action, Fault, Limits};
use jetsim_core::sim::World;
use jetsim_core::time::Time;
use jetsim_core::trace::{RaftNote, TraceKind};

use super::lens::Recent;
use crate::text;

/// Entries kept in the event log (the oldest go first).
pub const LOG_CAP: usize = 500;

/// Events run between two reads of the trace (and two looks at the clock)
/// while advancing. The trace keeps the last 10,000 trace events; reading it
/// this often keeps the log complete unless single events fan out enormously
/// (a gap is then said in the log).
const CHUNK: u64 = 1_000;

/// Inputs kept in the input log at most (a new one beyond is refused).
pub const MAX_INPUTS: usize = 1_000;
/// Longest input line kept in the log, in bytes.
pub const MAX_INPUT_LINE: usize = 1_000;
/// Events one replay (going back in time, or opening a link) runs at most:
/// beyond it the replay stops where it got to and says so. About 4 s of
/// wall time in the page (≈ 0.5 M events/s); the examples replay to their
/// `until` in under 10 ms (README "Benchmarks").
pub const MAX_REPLAY_EVENTS: u64 = 2_000_000;

/// A point in a run: `events` events processed, the clock at `at`. Ordered
/// by events, then time (both only grow along a run). The same moment of
/// the same run is the same state, whichever way it was reached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Moment {
    pub events: u64,
    pub at: Time,
}

impl Moment {
    pub const START: Moment = Moment { events: 0, at: 0 };

    /// The moment at clock `at` after every event due by then (a timeline
    /// position).
    pub fn time(at: Time) -> Moment {
        Moment { events: u64::MAX, at }
    }

    /// Whether a run that got to `self` has passed `other` (neither more
    /// events nor a later clock). Not the order: [`Moment::time`] targets
    /// compare by clock.
    pub fn covers(&self, other: &Moment) -> bool {
        other.events <= self.events && other.at <= self.at
    }
}

/// One recorded input: an action line (the scenario format's, re-parsed on
/// replay) applied at a moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input {
    pub at: Moment,
    pub line: String,
}

/// What the last fork discarded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Forked {
    /// Where the run forked.
    pub at: Time,
    /// Recorded inputs after that moment that were dropped.
    pub inputs: usize,
    /// How far the discarded future had been run.
    pub horizon: Time,
}

/// How a [`Session::goto`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arrived {
    /// The moment reached.
    pub at: Moment,
    /// Whether the world was rebuilt and replayed (going back) or just run
    /// forward.
    pub replayed: bool,
    /// False when the replay stopped at [`MAX_REPLAY_EVENTS`] short of the
    /// target.
    pub complete: bool,
}

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
    /// Every input applied in this timeline, in order, with its moment.
    inputs: Vec<Input>,
    /// How many of `inputs` the world has had applied (the rest are the
    /// recorded future).
    applied: usize,
    /// The furthest moment this timeline has been run to.
    pub horizon: Moment,
    /// What the last fork discarded, if anything was.
    pub forked: Option<Forked>,
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
    t.parse::<u64>().map_err(|_| format!("The seed is too large: the largest is {}.", u64::MAX))
}

impl Session {
    /// Build a run. `seed` None means the scenario's own seed, else 1 (as
    /// `jetsim run`). Errors are one line, naming the scenario line if any.
    pub fn build(text: &str, seed: Option<u64>) -> Result<Session, String> {
        let sc = scenario::parse(text).map_err(|e| text::display(&e.to_string()))?;
        let seed = seed.or(sc.seed).unwrap_or(1);
        let stop_at = sc.until.filter(|&t| t > 0);
        let mut world = World::new(sc, seed).map_err(|e| text::display(&e.to_string()))?;
        // The guarantees panel shows the Raft safety checks (metrics.rs).
        world.set_check_invariants(true);
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
            inputs: Vec::new(),
            applied: 0,
            horizon: Moment::START,
            forked: None,
        };
        s.drain();
        Ok(s)
    }

    /// A fresh run of `text` and `seed` with a recorded input log (from a
    /// shared link), not yet applied: [`Session::goto`] runs to a moment.
    /// Every line is checked against the scenario; moments must not go back.
    pub fn with_inputs(text: &str, seed: Option<u64>, inputs: Vec<Input>) -> Result<Session, String> {
        let mut s = Session::build(text, seed)?;
        if inputs.len() > MAX_INPUTS {
            return Err(format!("{} inputs: at most {MAX_INPUTS} can be replayed", inputs.len()));
        }
        let mut last = Moment::START;
        for (i, input) in inputs.iter().enumerate() {
            let n = i + 1;
            if input.line.len() > MAX_INPUT_LINE {
                return Err(format!("input {n} is longer than {MAX_INPUT_LINE} bytes"));
            }
            if input.at < last {
                return Err(format!("input {n} is at an earlier moment than input {}", n - 1));
            }
            last = input.at;
            scenario::parse_action_line(&input.line, s.world.scenario(), &Limits::default())
                .map_err(|e| format!("input {n} ({}): {}", text::display_max(&input.line, 60), text::display(&e)))?;
        }
        s.horizon = last;
        s.inputs = inputs;
        Ok(s)
    }

    /// The same scenario and seed from the start.
    pub fn rebuilt(&self) -> Result<Session, String> {
        Session::build(&self.text, Some(self.seed))
    }

    pub fn now(&self) -> Time {
        self.world.now()
    }

    /// Where the run is: events processed and the clock.
    pub fn moment(&self) -> Moment {
        Moment { events: self.world.metrics.events, at: self.world.now() }
    }

    /// The input log (applied and recorded future).
    pub fn inputs(&self) -> &[Input] {
        &self.inputs
    }

    /// How many inputs of the log have been applied.
    pub fn applied(&self) -> usize {
        self.applied
    }

    /// Run toward `target`, re-applying recorded inputs due on the way at
    /// their moments, processing at most `budget` events and asking
    /// `more()` between chunks. Returns whether `target` was reached.
    fn run_to(&mut self, target: Moment, budget: u64, more: &mut dyn FnMut() -> bool) -> bool {
        let mut used = 0u64;
        let reached = loop {
            let due = self.inputs.get(self.applied).map(|i| i.at).filter(|m| target.covers(m));
            let goal = due.unwrap_or(target);
            let before = self.world.metrics.events;
            let chunk = CHUNK.min(budget.saturating_sub(used)).min(goal.events.saturating_sub(before));
            let done = self.world.run_until_bounded(goal.at, chunk);
            let after = self.world.metrics.events;
            used = used.saturating_add(after.saturating_sub(before));
            self.drain();
            if done || after >= goal.events {
                if due.is_some() {
                    self.apply_next_input();
                    continue;
                }
                break true;
            }
            if used >= budget || !more() {
                break false;
            }
        };
        self.horizon = self.horizon.max(self.moment());
        reached
    }

    fn apply_next_input(&mut self) {
        let Some(input) = self.inputs.get(self.applied) else {
            return;
        };
        self.applied += 1;
        // Checked when logged (or when a link was opened): cannot fail.
        if let Ok(action) = scenario::parse_action_line(&input.line, self.world.scenario(), &Limits::default()) {
            self.world.apply_action(&action);
        }
        self.drain();
    }

    /// Go to `target` ([`Moment::time`] for a clock time): forward by
    /// running on, back by rebuilding the world and replaying the input log
    /// (at most [`MAX_REPLAY_EVENTS`] events). The recorded future is kept.
    pub fn goto(&mut self, target: Moment) -> Result<Arrived, String> {
        self.goto_within(target, MAX_REPLAY_EVENTS)
    }

    fn goto_within(&mut self, target: Moment, cap: u64) -> Result<Arrived, String> {
        let here = self.moment();
        let back = target.at < here.at || target.events < here.events;
        if back {
            let mut fresh = self.rebuilt()?;
            fresh.inputs = std::mem::take(&mut self.inputs);
            fresh.horizon = self.horizon;
            fresh.forked = self.forked;
            *self = fresh;
        }
        let complete = self.run_to(target, cap, &mut || true);
        self.carry = 0.0;
        if self.stop_at.is_some_and(|t| self.now() >= t) {
            self.stop_at = None;
        }
        Ok(Arrived { at: self.moment(), replayed: back, complete })
    }

    /// Undo the last event: go to the moment just after the one before it
    /// (with the inputs applied before the undone event). None at the start.
    pub fn step_back(&mut self) -> Result<Option<Arrived>, String> {
        let here = self.moment();
        match here.events {
            0 if here.at == 0 => Ok(None),
            0 => self.goto(Moment::START).map(Some),
            n => self.goto(Moment { events: n - 1, at: here.at }).map(Some),
        }
    }

    /// Continue from here as a new timeline: drop the recorded inputs after
    /// this moment and forget how far the old future had been run. Returns
    /// what was discarded (None when there was no future to discard).
    pub fn fork(&mut self) -> Option<Forked> {
        let here = self.moment();
        let dropped = self.inputs.len() - self.applied;
        if dropped == 0 && self.horizon <= here {
            return None;
        }
        let f = Forked { at: here.at, inputs: dropped, horizon: self.horizon.at };
        self.inputs.truncate(self.applied);
        self.horizon = here;
        self.forked = Some(f);
        Some(f)
    }

    /// Apply `action` now and log it as `line` (forking first if a recorded
    /// future exists).
    fn record(&mut self, action: &Action, line: String) -> Result<(), String> {
        if self.inputs.len() >= MAX_INPUTS && self.applied == self.inputs.len() {
            return Err(format!(
                "The input log is full ({MAX_INPUTS} inputs): reset or load the scenario to start a new one."
            ));
        }
        if line.len() > MAX_INPUT_LINE {
            return Err(format!("The command is longer than {MAX_INPUT_LINE} bytes."));
        }
        self.fork();
        self.inputs.push(Input { at: self.moment(), line });
        self.applied = self.inputs.len();
        self.world.apply_action(action);
        self.drain();
        Ok(())
    }

    /// The line to log for `action`: the scenario format's own text when it
    /// reads back as the same action, else what was typed.
    fn line_for(&self, action: &Action, typed: &str) -> String {
        let canonical = scenario::action_text(action);
        match scenario::parse_action_line(&canonical, self.world.scenario(), &Limits::default()) {
            Ok(a) if a == *action => canonical,
            _ => typed.trim().to_string(),
        }
    }

    /// Run `virtual_ns` more of virtual time (fractions carry over to the
    /// next call), processing at most `budget` events, and stopping early
    /// (between chunks of events) when `more()` says so: the caller's wall
    /// clock budget.
    pub fn advance(&mut self, virtual_ns: f64, budget: u64, more: &mut dyn FnMut() -> bool) -> Advance {
        let want = if virtual_ns.is_finite() && virtual_ns > 0.0 { virtual_ns } else { 0.0 } + self.carry;
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
        if !self.run_to(Moment::time(target), budget, more) {
            self.carry = 0.0;
            return Advance::Behind;
        }
        if end {
            self.stop_at = None;
            self.carry = 0.0;
            return Advance::End;
        }
        Advance::Reached
    }

    /// Process exactly one event (after any recorded input due before it).
    /// None when nothing is left to happen.
    pub fn step(&mut self) -> Option<StepReport> {
        let from = self.world.trace.count();
        let before = self.world.metrics.events;
        let next = self.world.next_event_time()?;
        // Recorded inputs due before the next event, then the event, then
        // inputs recorded right after it.
        self.run_to(Moment { events: before, at: next }, u64::MAX, &mut || true);
        self.world.step()?;
        let at = self.world.now();
        self.run_to(Moment { events: before + 1, at }, u64::MAX, &mut || true);
        let world = &self.world;
        let events = world.trace.since(from).map(|e| text::display(&world.describe(&e.kind))).collect();
        self.drain();
        Some(StepReport { at, events })
    }

    /// Apply a fault now (logged as an input). Refused only when the input
    /// log is full.
    pub fn apply_fault(&mut self, fault: &Fault) -> Result<(), String> {
        let action = Action::Fault(fault.clone());
        let line = scenario::action_text(&action);
        self.record(&action, line)
    }

    /// Run a console line (`kill n2`, `pub: nats pub orders.new hi`) now,
    /// logged as an input. Returns the action as the scenario format writes it.
    pub fn run_command(&mut self, line: &str) -> Result<String, String> {
        let action = scenario::parse_action_line(line, self.world.scenario(), &Limits::default())
            .map_err(|e| text::display(&e))?;
        let logged = self.line_for(&action, line);
        self.record(&action, logged)?;
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
        // Only the last LOG_CAP headline events can stay in the log: describe
        // just those (a fast replay or 10× play brings thousands per call).
        let headlines = world.trace.since(from).filter(|e| World::is_headline(&e.kind)).count();
        let fresh: Vec<LogEntry> = world
            .trace
            .since(from)
            .filter(|e| World::is_headline(&e.kind))
            .skip(headlines.saturating_sub(LOG_CAP))
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
                    let by = acks.iter().map(|a| text::short(world.name(*a), 24)).collect();
                    recent.note_quorum(group, e.at, *index, by);
                }
                TraceKind::PubAcked { client, stream, seq, latency, .. } => {
                    recent.note_ack(stream, (e.at, text::short(world.name(*client), 24), *seq, *latency));
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
        TraceKind::NoResponders { .. } | TraceKind::RequestTimeout { .. } | TraceKind::ProtocolError { .. } => "warn",
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
        let text = examples::find("core-pubsub").map(|e| e.text).unwrap_or_default();
        Session::build(text, None).expect("core-pubsub builds")
    }

    #[test]
    fn seed_defaults_to_the_scenarios() {
        assert_eq!(core().seed, 7);
        let text = examples::find("core-pubsub").map(|e| e.text).unwrap_or_default();
        assert_eq!(Session::build(text, Some(9)).map(|s| s.seed), Ok(9));
    }

    #[test]
    fn bad_text_is_an_error_naming_the_line() {
        let err = Session::build("jetsim 1\nserver n1\nbogus words\n", None).err().unwrap_or_default();
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
        assert_eq!(s.advance(MS as f64, u64::MAX, &mut || true), Advance::Reached, "only once");
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
        assert!(texts.iter().any(|t| t.starts_with("sub received orders.new")), "{texts:#?}");
        assert!(s.log.iter().all(|e| e.class != "frame"), "no per-frame events in the log");
        let seqs: Vec<u64> = s.log.iter().map(|e| e.seq).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order, unique keys");
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
        s.apply_fault(&Fault::Kill("n2".into())).expect("applied");
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
        // The input log is bounded too, and says so.
        for _ in s.inputs().len()..MAX_INPUTS {
            assert!(s.run_command("note again").is_ok());
        }
        let err = s.apply_fault(&Fault::Heal(None)).err().unwrap_or_default();
        assert!(err.contains("input log is full"), "{err}");
        assert_eq!(s.inputs().len(), MAX_INPUTS);
    }
    #[test]
    fn one_long_advance_logs_the_same_as_many_short_ones() {
        // More headline events than the log keeps arrive in one call: the log
        // must still be the last LOG_CAP of them, as with frame-sized calls.
        let text = "jetsim 1\nserver n1\nclient a server=n1\nclient b server=n1\n\
                    at 0s b: nats sub x\nat 1ms a: nats pub x hi --count 800 --sleep 1ms\n";
        let mut long = Session::build(text, None).expect("builds");
        let mut short = Session::build(text, None).expect("builds");
        assert_eq!(long.advance(2e9, u64::MAX, &mut || true), Advance::Reached);
        for _ in 0..2000 {
            assert_eq!(short.advance(1e6, u64::MAX, &mut || true), Advance::Reached);
        }
        assert_eq!(long.now(), short.now());
        assert_eq!(long.log.len(), LOG_CAP, "the load makes more headline events than the log keeps");
        assert_eq!(long.log, short.log);
    }

    /// What a test compares: the moment, the trace hash (every event so
    /// far), the log and the per-client counters.
    fn state(s: &Session) -> (Moment, u64, Vec<String>, Vec<(u64, u64)>) {
        (
            s.moment(),
            s.world.trace.hash(),
            s.log.iter().map(|e| format!("{} {}", e.at, e.text)).collect(),
            s.world.clients.iter().map(|c| (c.node.stats.published, c.node.stats.received)).collect(),
        )
    }

    fn play(s: &mut Session, to: Time) {
        let d = to.saturating_sub(s.now());
        assert_eq!(s.advance(d as f64, u64::MAX, &mut || true), Advance::Reached);
    }

    #[test]
    fn scrubbing_back_replays_the_same_state() {
        let mut s = core();
        play(&mut s, 100 * MS);
        s.apply_fault(&Fault::Kill("n2".into())).expect("applied");
        play(&mut s, 400 * MS);
        let at_t1 = state(&s);
        play(&mut s, 2 * SEC);
        let at_t2 = state(&s);
        assert_ne!(at_t1.1, at_t2.1);
        let a = s.goto(Moment::time(400 * MS)).expect("replays");
        assert!(a.replayed && a.complete);
        assert_eq!(state(&s), at_t1, "back at t1: same moment, trace, log, counters");
        // The kill at 100 ms was replayed, and is still in the log once.
        assert_eq!(s.inputs().len(), 1);
        assert_eq!(s.applied(), 1);
        assert!(s.log.iter().any(|e| e.text == "server n2 is down"));
        // Forward again over the same future.
        let a = s.goto(Moment::time(2 * SEC)).expect("runs on");
        assert!(!a.replayed);
        assert_eq!(state(&s), at_t2);
        assert_eq!(s.horizon.at, 2 * SEC);
    }

    #[test]
    fn the_recorded_future_is_replayed_when_playing_on() {
        let mut s = core();
        play(&mut s, 200 * MS);
        let _ = s.run_command("kill n3");
        play(&mut s, SEC);
        let original = state(&s);
        s.goto(Moment::time(50 * MS)).expect("replays");
        assert_eq!(s.applied(), 0, "the kill is in the future");
        play(&mut s, SEC);
        assert_eq!(s.applied(), 1);
        assert_eq!(state(&s), original, "the kill happened again at 200 ms");
    }

    #[test]
    fn forking_discards_the_future_and_runs_a_new_one() {
        let mut s = core();
        play(&mut s, 200 * MS);
        let _ = s.run_command("kill n3");
        play(&mut s, SEC);
        let original = state(&s);
        s.goto(Moment::time(100 * MS)).expect("replays");
        // A new input in the past forks: the kill of n3 is dropped.
        s.apply_fault(&Fault::Kill("n1".into())).expect("applied");
        assert_eq!(s.forked, Some(Forked { at: 100 * MS, inputs: 1, horizon: SEC }));
        assert_eq!(s.inputs().len(), 1);
        assert_eq!(s.inputs()[0].line, "kill n1");
        assert_eq!(s.horizon.at, 100 * MS);
        play(&mut s, SEC);
        let forked = state(&s);
        assert_eq!(forked.0.at, SEC);
        assert_ne!(forked.1, original.1, "a different future");
        assert!(s.log.iter().any(|e| e.text == "server n1 is down"));
        assert!(!s.log.iter().any(|e| e.text == "server n3 is down"));
        // Fork with nothing recorded ahead and at the horizon: nothing to drop.
        assert_eq!(s.fork(), None);
    }

    #[test]
    fn step_back_undoes_one_event() {
        let mut s = core();
        let mut seen = vec![state(&s)];
        for _ in 0..30 {
            s.step().expect("an event");
            seen.push(state(&s));
        }
        for want in seen.iter().rev().skip(1) {
            let a = s.step_back().expect("replays").expect("not at the start");
            assert!(a.complete);
            assert_eq!(&state(&s), want);
        }
        assert_eq!(s.step_back(), Ok(None), "nothing before the start");
    }

    #[test]
    fn step_back_lands_before_an_input_made_after_a_step() {
        let mut s = core();
        for _ in 0..5 {
            s.step();
        }
        let before_kill = state(&s);
        let _ = s.run_command("kill n2");
        s.step();
        s.step_back().expect("replays");
        // After 5 events with the kill applied (it came before event 6).
        assert_eq!(s.moment(), before_kill.0);
        assert_eq!(s.applied(), 1);
        s.step_back().expect("replays");
        assert_eq!(s.moment().events, 4);
        assert_eq!(s.applied(), 0);
    }

    #[test]
    fn a_shared_input_log_reproduces_the_run() {
        let mut s = core();
        play(&mut s, 150 * MS);
        let _ = s.run_command("partition n1 | n2 n3");
        s.step();
        s.apply_fault(&Fault::Heal(None)).expect("applied");
        play(&mut s, 900 * MS);
        let original = state(&s);
        let mut t = Session::with_inputs(&s.text, Some(s.seed), s.inputs().to_vec()).expect("valid");
        t.goto(s.moment()).expect("replays");
        assert_eq!(state(&t), original);
    }

    #[test]
    fn shared_input_logs_are_checked() {
        let text = examples::find("core-pubsub").map(|e| e.text).unwrap_or_default();
        let at = |events, at| Moment { events, at };
        let bad = |inputs: Vec<Input>| Session::with_inputs(text, None, inputs).err().unwrap_or_default();
        let err =
            bad(vec![Input { at: at(1, 5), line: "kill n1".into() }, Input { at: at(2, 5), line: "kill n99".into() }]);
        assert!(err.starts_with("input 2 (kill n99):"), "{err}");
        let err =
            bad(vec![Input { at: at(3, 5), line: "kill n1".into() }, Input { at: at(2, 9), line: "kill n2".into() }]);
        assert!(err.contains("earlier moment"), "{err}");
        let err = bad(vec![Input { at: at(0, 0), line: "x".repeat(MAX_INPUT_LINE + 1) }]);
        assert!(err.contains("longer than"), "{err}");
        let many = vec![Input { at: at(0, 0), line: "heal".into() }; MAX_INPUTS + 1];
        assert!(bad(many).contains("at most"));
    }

    #[test]
    fn fault_buttons_log_lines_that_read_back() {
        let mut s = core();
        let faults = [
            Fault::Kill("n1".into()),
            Fault::Restart("n1".into()),
            Fault::Pause("n2".into()),
            Fault::Resume("n2".into()),
            Fault::Isolate("n3".into()),
            Fault::Heal(None),
            Fault::PowerLoss("n1".into()),
        ];
        for f in &faults {
            s.apply_fault(f).expect("applied");
            let line = &s.inputs().last().expect("logged").line;
            let back = scenario::parse_action_line(line, s.world.scenario(), &Limits::default());
            assert_eq!(back, Ok(Action::Fault(f.clone())), "{line}");
        }
        assert_eq!(s.inputs().len(), faults.len());
    }

    #[test]
    fn a_long_replay_stops_at_the_cap_and_says_so() {
        let mut s = Session::build(&jetsim_core::bench::fanout_scenario(100_000), None).expect("builds");
        let a = s.goto_within(Moment::time(3_600 * SEC), 20_000).expect("runs");
        assert!(!a.complete);
        assert_eq!(a.at.events, 20_000);
        assert!(a.at.at < 3_600 * SEC);
    }
}
