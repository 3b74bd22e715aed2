//! The console: a command line speaking the scenario's action syntax and the
//! `nats` CLI's (`nats stream info ORDERS` runs as the scenario's first
//! client; `c2: nats ...` as another), with output shaped like the nats CLI's
//! (`Stored in Stream: ORDERS Sequence: 3`, `Information for Stream ...` with
//! its Cluster Information and State sections, `Received on "subject"`),
//! filled in as the simulated replies arrive. History with ↑/↓ and name
//! completion (Tab, and a list of suggestions) for servers, clients, streams
//! and subcommands.
//!
//! Commands go through [`Session::run_command`] (so they are recorded for
//! time travel); the output is read from the trace and the client's last
//! API response (`JsStats::last_api`, which only holds the latest: when two
//! API responses for one client arrive between two renders, the earlier
//! prints its one-line summary instead of the full CLI output). Timestamps are the virtual clock as `HH:MM:SS.mmm`, where
//! the CLI prints the wall clock.

use std::collections::VecDeque;

use jetsim_core::client::JsDelivery;
use jetsim_core::scenario::{self, Action, ClientCmd, ConsumerCmd, Limits, StreamCmd};
use jetsim_core::sim::World;
use jetsim_core::time::Time;
use jetsim_core::trace::{Endpoint, RaftNote, TraceKind};
use serde_json::Value;
use yew::prelude::*;

use super::session::{Session, MAX_INPUT_LINE};
use crate::text;

/// Commands kept in the history, and console entries kept on screen.
pub const HISTORY_CAP: usize = 100;
pub const ENTRIES_CAP: usize = 50;
/// Output lines one entry collects at most.
pub const LINES_CAP: usize = 40;

/// The `nats` commands the console runs: (command, arguments, what it does:
/// natscli's own one-liner where natscli has the command). The help line
/// under the input, `help` and Tab completion of subcommands read this list.
pub const NATS_HELP: [(&str, &str, &str); 17] = [
    ("pub", "<subject> [body] [--count N] [--jetstream]", "Generic data publish utility"),
    ("sub", "<subject> [--queue Q] [--count N]", "Generic subscription client"),
    ("req", "<subject> [body] [--timeout D]", "Generic request-reply request utility"),
    ("reply", "<subject> [body] [--queue Q]", "Generic service reply utility"),
    ("unsub", "<subject>", "Drops this client's subscriptions on the subject (jetsim)"),
    ("stream add", "<name> --subjects S --replicas R", "Create a new Stream"),
    ("stream info", "<name>", "Stream information"),
    ("stream ls", "", "List all known Streams"),
    ("stream rm", "<name> -f", "Removes a Stream"),
    ("stream purge", "<name> -f", "Purge a Stream without deleting it"),
    ("stream cluster step-down", "<name>", "Force a new leader election by standing down the current leader"),
    ("consumer add", "<stream> <name> [--pull | --target S]", "Creates a new Consumer"),
    ("consumer info", "<stream> <name>", "Consumer information"),
    ("consumer ls", "<stream>", "List known Consumers"),
    ("consumer rm", "<stream> <name> -f", "Removes a Consumer"),
    ("consumer next", "<stream> <name> [--count N] [--no-ack]", "Retrieves messages from Pull Consumers"),
    (
        "consumer cluster step-down",
        "<stream> <name>",
        "Force a new leader election by standing down the current leader",
    ),
];

/// The scenario actions (docs/scenario-format.md, Steps): (action,
/// arguments, what it does).
pub const ACTIONS_HELP: [(&str, &str, &str); 11] = [
    ("kill", "<server>", "Crash a server (a JetStream server's disk survives)"),
    ("restart", "<server>", "Start a killed server again"),
    ("power-loss", "<server>", "Like kill, but the disk keeps only what was fsynced"),
    ("pause", "<server>", "Freeze a process (inbound traffic queues)"),
    ("resume", "<server>", "Thaw a paused process"),
    ("partition", "A B | C D  or  A -> B", "Cut the links between groups (both ways, or one way)"),
    ("isolate", "<server>", "Cut a server off from every other server"),
    ("split", "az | region", "Partition the servers by AZ or by region"),
    ("heal", "[A [B]]", "Heal every partition, or only between A and B"),
    ("latency", "A [B] <latency>", "Change a link's latency, both directions"),
    ("note", "<text>", "Narration in the event log"),
];

/// The keys of the command field: (key, what it does).
pub const KEYS_HELP: [(&str, &str); 3] = [
    ("↑/↓", "Browse the history (last 100 commands)"),
    ("Tab", "Complete names; with several, the common part, then the list (Tab again: next field)"),
    ("Enter", "Run the command"),
];

/// Console lines that print the help rather than run: `help`, `nats help`,
/// `nats --help`, `nats -h` (also after `<client>: `).
pub fn is_help(w: &World, input: &str) -> bool {
    // `c2: help` is help too, but only after a client's name (`note see: help` is a note).
    let rest = match input.split_once(": ") {
        Some((c, r)) if w.clients.iter().any(|x| x.node.config.name == c) => r,
        _ => input,
    };
    let words: Vec<&str> = rest.split_whitespace().collect();
    matches!(words.as_slice(), ["help" | "--help" | "-h"] | ["nats", "help" | "--help" | "-h"])
}

/// What `help` prints: the nats commands, the scenario actions and the keys,
/// in columns as natscli lists its commands.
pub fn help_lines() -> Vec<String> {
    let nats: Vec<(String, &str)> =
        NATS_HELP.iter().map(|(c, a, d)| (format!("nats {c} {a}").trim_end().to_string(), *d)).collect();
    let actions: Vec<(String, &str)> =
        ACTIONS_HELP.iter().map(|(c, a, d)| (format!("{c} {a}").trim_end().to_string(), *d)).collect();
    let keys: Vec<(String, &str)> = KEYS_HELP.iter().map(|(k, d)| (k.to_string(), *d)).collect();
    let width = nats.iter().chain(&actions).chain(&keys).map(|(c, _)| c.chars().count()).max().unwrap_or(0);
    let rows = |v: &[(String, &str)]| {
        v.iter().map(|(c, d)| format!("  {c}{}  {d}", " ".repeat(width - c.chars().count()))).collect::<Vec<_>>()
    };
    let mut out = vec!["Commands (nats ... runs as the first client; \"c2: nats ...\" as client c2):".to_string()];
    out.extend(rows(&nats));
    out.push(String::new());
    out.push("Scenario actions:".into());
    out.extend(rows(&actions));
    out.push(String::new());
    out.push("Keys:".into());
    out.extend(rows(&keys));
    out
}

/// The help line under the input: the same lists, in one sentence.
pub fn help_summary() -> String {
    let mut nats: Vec<String> = Vec::new();
    for (c, _, _) in NATS_HELP {
        match c.split_once(' ') {
            Some((group, sub)) => match nats.iter_mut().find(|x| x.starts_with(&format!("{group} "))) {
                Some(x) => {
                    x.push('/');
                    x.push_str(sub);
                }
                None => nats.push(format!("{group} {sub}")),
            },
            None => nats.push(c.to_string()),
        }
    }
    let actions: Vec<&str> = ACTIONS_HELP.iter().map(|(c, _, _)| *c).collect();
    format!(
        "nats CLI commands ({}) run as the first client, or as another with \"c2: nats ...\"; and any scenario action: {}. ↑/↓: history. Tab: complete names. Type help for the list.",
        nats.join(", "),
        actions.join(", ")
    )
}

/// What an entry is still waiting for.
#[derive(Clone, Debug, PartialEq)]
enum Follow {
    /// Publish results (JetStream: PubAcks or failures; core: publishes).
    Pub { client: Endpoint, js: bool, left: u64 },
    /// Messages received on a subscription (`subject` its pattern).
    Sub { client: Endpoint, left: u64, subject: String },
    /// The response to a `nats consumer add/info/rm/ls` call; `prefix` is
    /// what natscli puts before an error.
    ConsumerApi { client: Endpoint, op: String, prefix: String },
    /// `nats consumer next`: messages pulled, until `left` or a status.
    Next { client: Endpoint, op: String, left: u64, ack: bool },
    /// The response to a `nats stream ...` call.
    Api { client: Endpoint, op: String, info: bool, created: bool },
    /// A step-down's response, then the new leader.
    StepDown { client: Endpoint, op: String, stream: String, answered: bool },
}

impl Follow {
    /// What comes back once time runs, as a sentence's subject and verb.
    fn awaited(&self) -> &'static str {
        match self {
            Follow::Pub { js: false, .. } => "the message is published",
            Follow::Pub { js: true, .. } => "the PubAck arrives",
            Follow::Sub { .. } => "messages arrive",
            _ => "the reply arrives",
        }
    }
}

/// The hint that output only comes once time runs (the simulated client
/// sends the command, its reply crosses the simulated network).
pub const RUN_TIME_HINT: &str = "when time runs: press Play or Step (→)";

#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub n: u64,
    pub input: String,
    pub lines: Vec<String>,
    pub error: bool,
    follow: Option<Follow>,
    received: u64,
    /// When the command ran (virtual time).
    pub at: Time,
    /// Something came back for it (a line, a reply, a message).
    heard: bool,
}

impl Entry {
    fn push(&mut self, line: String) {
        if self.lines.len() < LINES_CAP {
            self.lines.push(line);
        } else if self.lines.len() == LINES_CAP {
            self.lines.push("…".into());
        }
    }

    /// While nothing came back yet for a command that waits for something:
    /// the line saying that it comes once time runs (shown while paused).
    pub fn pending(&self) -> Option<String> {
        let f = self.follow.as_ref().filter(|_| !self.heard)?;
        Some(format!("{} sent: {} {RUN_TIME_HINT}", hms(self.at), f.awaited()))
    }
}

/// Where a `Sent at ...` status says it waits for time to run.
const PAUSED_MARK: &str = " Paused: ";

/// The console's status line as shown: a `Sent at ...` status drops its
/// "Paused: ... press Play or Step" part once `still_waiting` is false (the
/// page is playing, or time ran since the command: `Playground::view_faults`).
pub fn settle_status(status: &str, still_waiting: bool) -> &str {
    // The hint is always last: the echoed command before it may hold the mark.
    match status.rsplit_once(PAUSED_MARK) {
        Some((head, _)) if !still_waiting && status.starts_with("Sent at ") => head,
        _ => status,
    }
}

#[derive(Clone, Debug, Default)]
pub struct Console {
    pub history: Vec<String>,
    /// Position while browsing the history with ↑/↓ (None: not browsing).
    pos: Option<usize>,
    pub entries: VecDeque<Entry>,
    next_n: u64,
    key: Option<(usize, u64)>,
    next_seq: u64,
    /// Per client: JetStream deliveries (`JsStats::deliveries_seen`) matched
    /// to their `Received` trace events so far.
    delivered: Vec<u64>,
}

/// Virtual time as the CLI's log prefix (`HH:MM:SS`), with milliseconds.
pub fn hms(t: Time) -> String {
    let ms = t / 1_000_000;
    format!("{:02}:{:02}:{:02}.{:03}", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000)
}

impl Console {
    /// Run a console line now. `Ok` is the one-line status (`Done at ...`;
    /// `Sent at ...` and when its output comes when `playing` is false and
    /// the command waits for a reply or messages).
    pub fn run(&mut self, s: &mut Session, input: &str, playing: bool) -> Result<String, String> {
        let input = input.trim();
        if input.is_empty() {
            return Err("Type a command, e.g. nats stream info ORDERS, or kill n2. Type help for the list.".into());
        }
        if self.history.last().map(String::as_str) != Some(input) {
            self.history.push(text::display_max(input, 1000));
            if self.history.len() > HISTORY_CAP {
                self.history.remove(0);
            }
        }
        self.pos = None;
        self.sync(s);
        // The length first, for every line (the session's own check would
        // only see lines that parse).
        if input.len() > MAX_INPUT_LINE {
            let e = format!("The command is longer than {MAX_INPUT_LINE} bytes.");
            self.entry(s.now(), input, vec![format!("nats: error: {e}")], true, None);
            return Err(e);
        }
        if is_help(&s.world, input) {
            self.entry(s.now(), input, help_lines(), false, None);
            return Ok("The console's commands, actions and keys are listed below.".into());
        }
        let line = match expand(&s.world, input) {
            Ok(l) => l,
            Err(e) => {
                self.entry(s.now(), input, vec![format!("nats: error: {e}")], true, None);
                return Err(e);
            }
        };
        let follow = scenario::parse_action_line(&line, s.world.scenario(), &Limits::default())
            .ok()
            .and_then(|a| follow_of(&s.world, &a));
        match s.run_command(&line) {
            Ok(done) => {
                let now = s.now();
                let mut lines = Vec::new();
                match &follow {
                    None => lines.push(format!("{} {done}", hms(now))),
                    Some(Follow::Sub { subject, .. }) => {
                        lines.push(format!("{} Subscribing on {}", hms(now), text::short(subject, 80)));
                    }
                    Some(_) => {}
                }
                let at = jetsim_core::time::fmt_time(now);
                let status = match &follow {
                    Some(f) if !playing => {
                        format!("Sent at {at}: {done}.{PAUSED_MARK}{} {RUN_TIME_HINT}.", f.awaited())
                    }
                    _ => format!("Done at {at}: {done}"),
                };
                self.entry(now, input, lines, false, follow);
                self.sync(s);
                Ok(status)
            }
            Err(e) => {
                self.entry(s.now(), input, vec![format!("nats: error: {e}")], true, None);
                Err(e)
            }
        }
    }

    fn entry(&mut self, at: Time, input: &str, lines: Vec<String>, error: bool, follow: Option<Follow>) {
        self.entries.push_back(Entry {
            at,
            heard: false,
            n: self.next_n,
            input: text::display_max(input, 300),
            lines,
            error,
            follow,
            received: 0,
        });
        self.next_n += 1;
        while self.entries.len() > ENTRIES_CAP {
            self.entries.pop_front();
        }
    }

    /// ↑ (older) / ↓ (newer) through the history: the line to show.
    pub fn browse(&mut self, older: bool) -> Option<String> {
        if self.history.is_empty() {
            return None;
        }
        let last = self.history.len() - 1;
        self.pos = match (self.pos, older) {
            (None, true) => Some(last),
            (None, false) => None,
            (Some(p), true) => Some(p.saturating_sub(1)),
            (Some(p), false) if p < last => Some(p + 1),
            (Some(_), false) => None,
        };
        Some(self.pos.map_or(String::new(), |p| self.history[p].clone()))
    }

    /// Fill in the entries' output from what happened since the last call.
    pub fn sync(&mut self, s: &Session) {
        let w = &s.world;
        let key = (std::rc::Rc::as_ptr(&s.text) as *const u8 as usize, s.seed);
        if self.key != Some(key) || w.trace.count() < self.next_seq {
            // Another run (or the same one replayed): stop following.
            for e in self.entries.iter_mut() {
                if e.follow.take().is_some() {
                    e.push("(the run was rebuilt: no more output)".into());
                }
            }
            self.key = Some(key);
            self.next_seq = w.trace.count();
            self.delivered = w.clients.iter().map(|c| c.node.js.deliveries_seen).collect();
            return;
        }
        if self.delivered.len() != w.clients.len() || self.entries.iter().all(|e| e.follow.is_none()) {
            self.next_seq = w.trace.count();
            self.delivered = w.clients.iter().map(|c| c.node.js.deliveries_seen).collect();
            return;
        }
        // Each event goes to the oldest entry waiting for it. A `Received`
        // of a JetStream message is paired with the client's delivery log
        // (same order: the client logs, then traces).
        for ev in w.trace.since(self.next_seq) {
            let delivery = match &ev.kind {
                TraceKind::Received { client, subject, .. } => self.next_delivery(w, *client, ev.at, subject),
                _ => None,
            };
            for e in self.entries.iter_mut().filter(|e| e.follow.is_some()) {
                if observe(w, e, ev.at, &ev.kind, delivery) {
                    break;
                }
            }
        }
        self.next_seq = w.trace.count();
        self.delivered = w.clients.iter().map(|c| c.node.js.deliveries_seen).collect();
    }

    /// The logged JetStream delivery behind a `Received` event, if it is one.
    fn next_delivery<'w>(&mut self, w: &'w World, client: Endpoint, at: Time, subject: &str) -> Option<&'w JsDelivery> {
        let i = (client as usize).checked_sub(w.server_count() as usize)?;
        let js = &w.clients.get(i)?.node.js;
        let read = self.delivered.get_mut(i)?;
        let first = js.deliveries_seen - js.deliveries.len() as u64;
        let k = (*read).max(first);
        let d = js.deliveries.get((k - first) as usize)?;
        if d.at == at && *d.subject == *subject {
            *read = k + 1;
            Some(d)
        } else {
            None
        }
    }
}

/// `nats ...` without a client runs as the scenario's first client.
fn expand(w: &World, input: &str) -> Result<String, String> {
    if input == "nats" || input.starts_with("nats ") {
        let Some(c) = w.clients.first() else {
            return Err("this scenario has no client to run nats commands as: add a client line".into());
        };
        return Ok(format!("{}: {input}", c.node.config.name));
    }
    Ok(input.to_string())
}

/// The JSON answer of `client`'s last `$JS.API` request, if that request was `op`.
fn last_api_json(w: &World, client: Endpoint, op: &str) -> Option<Value> {
    w.clients[(client - w.server_count()) as usize]
        .node
        .js
        .last_api
        .as_ref()
        .filter(|(o, _)| *o == op)
        .and_then(|(_, body)| serde_json::from_str::<Value>(body).ok())
}

fn follow_of(w: &World, a: &Action) -> Option<Follow> {
    let Action::Client { client, cmd } = a else { return None };
    let client = w.endpoint(client)?;
    Some(match cmd {
        ClientCmd::Pub { count, .. } => Follow::Pub { client, js: false, left: (*count).min(LINES_CAP as u64) },
        ClientCmd::JsPub { count, .. } => Follow::Pub { client, js: true, left: (*count).min(LINES_CAP as u64) },
        ClientCmd::Sub { count, subject, .. } => {
            Follow::Sub { client, left: count.unwrap_or(u64::MAX).min(LINES_CAP as u64), subject: subject.clone() }
        }
        ClientCmd::Consumer(cc) => match cc {
            ConsumerCmd::Next { stream, name, count, ack } => Follow::Next {
                client,
                op: format!("consumer next {stream} {name}"),
                left: (*count).min(LINES_CAP as u64 / 4).max(1),
                ack: *ack,
            },
            ConsumerCmd::Add { stream, name, .. } => Follow::ConsumerApi {
                client,
                op: format!("consumer add {stream} {name}"),
                prefix: "Consumer creation failed: ".into(),
            },
            ConsumerCmd::Info { stream, name } => Follow::ConsumerApi {
                client,
                op: format!("consumer info {stream} {name}"),
                prefix: format!("could not load Consumer {stream} > {name}: "),
            },
            ConsumerCmd::Rm { stream, name } => Follow::ConsumerApi {
                client,
                op: format!("consumer rm {stream} {name}"),
                prefix: "could not load Consumer: ".into(),
            },
            ConsumerCmd::Ls { stream } => Follow::ConsumerApi {
                client,
                op: format!("consumer ls {stream}"),
                prefix: "could not load Consumers: ".into(),
            },
            ConsumerCmd::StepDown { stream, name } => Follow::ConsumerApi {
                client,
                op: format!("consumer cluster step-down {stream} {name}"),
                prefix: format!("could not step down Consumer {stream} > {name}: "),
            },
        },
        ClientCmd::Stream(StreamCmd::StepDown { name }) => Follow::StepDown {
            client,
            op: format!("stream cluster step-down {name}"),
            stream: name.clone(),
            answered: false,
        },
        ClientCmd::Stream(sc) => Follow::Api {
            client,
            op: match sc {
                StreamCmd::Add { name, .. } => format!("stream add {name}"),
                StreamCmd::Info { name } => format!("stream info {name}"),
                StreamCmd::Rm { name } => format!("stream rm {name}"),
                StreamCmd::Purge { name } => format!("stream purge {name}"),
                StreamCmd::Ls | StreamCmd::StepDown { .. } => "stream ls".to_string(),
            },
            info: matches!(sc, StreamCmd::Info { .. } | StreamCmd::Add { .. }),
            created: matches!(sc, StreamCmd::Add { .. }),
        },
        _ => return None,
    })
}

/// Let an entry see one event; true when the event was for it.
fn observe(w: &World, e: &mut Entry, at: Time, kind: &TraceKind, delivery: Option<&JsDelivery>) -> bool {
    let Some(f) = e.follow.clone() else { return false };
    let mut mine = true;
    let done = match (f, kind) {
        (Follow::Pub { client, js: false, left }, TraceKind::Published { client: c, subject, bytes })
            if *c == client =>
        {
            e.push(format!("{} Published {bytes} bytes to \"{}\"", hms(at), text::short(subject, 80)));
            set_left(e, left.saturating_sub(1))
        }
        (Follow::Pub { client, js: true, left }, TraceKind::PubAcked { client: c, stream, seq, .. })
            if *c == client =>
        {
            e.push(format!("{} Stored in Stream: {} Sequence: {seq}", hms(at), text::short(stream, 40)));
            set_left(e, left.saturating_sub(1))
        }
        (Follow::Pub { client, js: true, left }, TraceKind::PubFailed { client: c, reason, .. }) if *c == client => {
            e.push(format!("{} nats: error: {}", hms(at), text::short(reason, 120)));
            e.error = true;
            set_left(e, left.saturating_sub(1))
        }
        (Follow::Sub { client, left, subject: pattern }, TraceKind::Received { client: c, subject, bytes })
            if *c == client
                && delivery.map_or(jetsim_core::subject::matches(&pattern, subject), |d| *d.sub == *pattern) =>
        {
            e.received += 1;
            match delivery.and_then(|d| delivery_parts(d).map(|m| (d, m))) {
                Some((d, m)) => {
                    // natscli's line for a message with a reply, then the
                    // metadata it parses from the $JS.ACK subject.
                    e.push(format!(
                        "[#{}] Received on \"{}\" with reply \"{}\"",
                        e.received,
                        text::short(subject, 80),
                        text::short(&d.reply, 160)
                    ));
                    e.push(format!(
                        "  JetStream: stream: {} consumer: {} / tries: {} / cons seq: {} / str seq: {} / pending: {}",
                        text::short(&m.stream, 40),
                        text::short(&m.consumer, 40),
                        m.delivered,
                        m.consumer_seq,
                        m.stream_seq,
                        comma(m.pending)
                    ));
                    e.push(body_text(&d.body, d.bytes));
                }
                None => {
                    e.push(format!("[#{}] Received on \"{}\" ({bytes} bytes)", e.received, text::short(subject, 80)))
                }
            }
            set_left(e, left.saturating_sub(1))
        }
        (Follow::Next { client, op, left, ack }, TraceKind::Received { client: c, subject, .. })
            if *c == client && delivery.is_some_and(|d| d.sub.contains(".pull.")) =>
        {
            let d = delivery.expect("checked");
            match delivery_parts(d) {
                Some(m) => e.push(format!(
                    "[{}] subj: {} / tries: {} / cons seq: {} / str seq: {} / pending: {}",
                    hms(at),
                    text::short(subject, 80),
                    m.delivered,
                    m.consumer_seq,
                    m.stream_seq,
                    comma(m.pending)
                )),
                None => {
                    e.push(format!("--- subject: {} reply: {}", text::short(subject, 80), text::short(&d.reply, 160)))
                }
            }
            e.push(String::new());
            e.push(body_text(&d.body, d.bytes));
            if ack {
                e.push(String::new());
                e.push("Acknowledged message".into());
            }
            e.push(String::new());
            let left = left.saturating_sub(1);
            e.follow = Some(Follow::Next { client, op, left, ack });
            left == 0
        }
        (Follow::Next { client, op, .. }, TraceKind::JsApi { client: c, op: o, ok: false, text: t })
            if *c == client && **o == *op =>
        {
            e.error = true;
            e.push(format!("nats: error: no message received: {}", text::display_max(t, 300)));
            true
        }
        (Follow::ConsumerApi { client, op, prefix }, TraceKind::JsApi { client: c, op: o, ok, text: t })
            if *c == client && **o == *op =>
        {
            if !*ok {
                e.error = true;
                e.push(format!("nats: error: {prefix}{}", text::display_max(t, 300)));
            } else {
                let json = last_api_json(w, client, &op);
                match json {
                    Some(v) if v.get("config").is_some() => {
                        for l in consumer_info_cli_lines(&v) {
                            e.push(l);
                        }
                    }
                    Some(v) if v.get("consumers").is_some() => {
                        let names: Vec<String> = v["consumers"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|n| n.as_str().or_else(|| n["name"].as_str()).map(|n| text::short(n, 80)))
                            .collect();
                        if names.is_empty() {
                            e.push("No Consumers defined".into());
                        } else {
                            for n in names {
                                e.push(n);
                            }
                        }
                    }
                    // The consumer group's leader steps down; the new one is
                    // elected after this answer (the Raft lens shows it).
                    Some(v) if v.get("success").is_some() && op.starts_with("consumer cluster step-down") => {
                        e.push(format!(
                            "Requested leader step down of Consumer {}",
                            op.trim_start_matches("consumer cluster step-down ").replacen(' ', " > ", 1)
                        ));
                    }
                    // `consumer rm`: natscli prints nothing on success.
                    Some(v) if v.get("success").is_some() => {}
                    _ => e.push(text::display_max(t, 300)),
                }
            }
            true
        }
        (Follow::Api { client, op, info, created }, TraceKind::JsApi { client: c, op: o, ok, text: t })
            if *c == client && **o == *op =>
        {
            if !*ok {
                e.error = true;
                e.push(format!("nats: error: {}", text::display_max(t, 300)));
            } else {
                let json = last_api_json(w, client, &op);
                match json {
                    Some(v) if info && v.get("config").is_some() => {
                        if created {
                            let name = v["config"]["name"].as_str().unwrap_or("?");
                            e.push(format!("Stream {} was created", text::short(name, 40)));
                            e.push(String::new());
                        }
                        for l in stream_info_lines(&v) {
                            e.push(l);
                        }
                    }
                    Some(v) if v.get("streams").is_some() => {
                        for l in stream_list_lines(&v) {
                            e.push(l);
                        }
                    }
                    _ => e.push(text::display_max(t, 300)),
                }
            }
            true
        }
        (
            Follow::StepDown { client, op, stream, answered: false },
            TraceKind::JsApi { client: c, op: o, ok, text: t },
        ) if *c == client && **o == *op => {
            if *ok {
                e.follow = Some(Follow::StepDown { client, op, stream, answered: true });
                false
            } else {
                e.error = true;
                e.push(format!("nats: error: {}", text::display_max(t, 300)));
                true
            }
        }
        (
            Follow::StepDown { stream, answered: true, .. },
            TraceKind::Raft { server, stream: Some(s), event: RaftNote::Leader { .. }, .. },
        ) if **s == *stream => {
            e.push(format!("{} New leader elected \"{}\"", hms(at), text::short(w.name(*server), 40)));
            true
        }
        _ => {
            mine = false;
            false
        }
    };
    if done {
        e.follow = None;
    }
    e.heard |= mine;
    mine
}

/// The `$JS.ACK` metadata of a delivery.
fn delivery_parts(d: &JsDelivery) -> Option<super::delivery_check::AckMeta> {
    super::delivery_check::parse_ack(&d.reply)
}

/// A message body as natscli prints it (the page keeps the first bytes).
fn body_text(body: &[u8], bytes: u32) -> String {
    let t = text::display_max(&String::from_utf8_lossy(body), 200);
    if (body.len() as u32) < bytes {
        format!("{t}… ({bytes} bytes)")
    } else {
        t
    }
}

/// An integer as natscli's `f()` (humanize.Comma: `1,234,567`).
pub fn comma(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A duration as natscli's `f()` (columns.HumanizeDuration: `30.00s`, `2m5s`).
pub fn go_duration(ns: u64) -> String {
    const MS: u64 = 1_000_000;
    const S: u64 = 1_000_000_000;
    if ns < MS {
        return format!("{}µs", (ns + 500) / 1000);
    }
    if ns < S {
        return format!("{}ms", (ns + MS / 2) / MS);
    }
    let secs = ns / S;
    let (mins, hrs, days) = (secs / 60, secs / 3600, secs / 86_400);
    if days > 0 {
        format!("{days}d{}h{}m{}s", hrs % 24, mins % 60, secs % 60)
    } else if hrs > 0 {
        format!("{hrs}h{}m{}s", mins % 60, secs % 60)
    } else if mins > 0 {
        format!("{mins}m{}s", secs % 60)
    } else {
        format!("{:.2}s", ns as f64 / S as f64)
    }
}

/// A ConsumerInfo response as `nats consumer info` (and `add`) prints it:
/// heading, Configuration, Cluster Information and State, natscli's field
/// names and alignment. "Last delivery ... ago" is left out (the page has
/// no wall clock to compare with).
pub fn consumer_info_cli_lines(v: &Value) -> Vec<String> {
    let s = |v: &Value| text::display_max(v.as_str().unwrap_or(""), 200);
    let num = |v: &Value| v.as_i64().unwrap_or(0);
    let cfg = &v["config"];
    let mut rows: Vec<(Option<&str>, String)> = vec![(None, "Configuration".into())];
    let name = s(&cfg["name"]);
    let durable = s(&cfg["durable_name"]);
    if !name.is_empty() {
        rows.push((Some("Name"), name.clone()));
    }
    if !durable.is_empty() && durable != name {
        rows.push((Some("Durable Name"), durable));
    }
    let deliver_subject = s(&cfg["deliver_subject"]);
    if !deliver_subject.is_empty() {
        rows.push((Some("Delivery Subject"), deliver_subject.clone()));
    } else {
        rows.push((Some("Pull Mode"), "true".into()));
    }
    if !s(&cfg["filter_subject"]).is_empty() {
        rows.push((Some("Filter Subject"), s(&cfg["filter_subject"])));
    }
    if let Some(fs) = cfg["filter_subjects"].as_array().filter(|a| !a.is_empty()) {
        rows.push((Some("Filter Subjects"), format!("[{}]", fs.iter().map(&s).collect::<Vec<_>>().join(" "))));
    }
    let policy = match cfg["deliver_policy"].as_str().unwrap_or("all") {
        "all" => "All".to_string(),
        "last" => "Last".into(),
        "new" => "New".into(),
        "last_per_subject" => "Last Per Subject".into(),
        "by_start_sequence" => format!("From Sequence {}", num(&cfg["opt_start_seq"])),
        "by_start_time" => format!("Since {}", s(&cfg["opt_start_time"])),
        other => text::short(other, 40),
    };
    rows.push((Some("Deliver Policy"), policy));
    if !s(&cfg["deliver_group"]).is_empty() && !deliver_subject.is_empty() {
        rows.push((Some("Deliver Queue Group"), s(&cfg["deliver_group"])));
    }
    let ack = cfg["ack_policy"].as_str().unwrap_or("none");
    rows.push((Some("Ack Policy"), capitalize(ack)));
    if ack != "none" {
        rows.push((Some("Ack Wait"), go_duration(num(&cfg["ack_wait"]).max(0) as u64)));
    }
    rows.push((Some("Replay Policy"), capitalize(cfg["replay_policy"].as_str().unwrap_or("instant"))));
    if num(&cfg["max_deliver"]) != -1 && cfg.get("max_deliver").is_some() {
        rows.push((Some("Maximum Deliveries"), num(&cfg["max_deliver"]).to_string()));
    }
    if num(&cfg["max_ack_pending"]) > 0 {
        rows.push((Some("Max Ack Pending"), comma(num(&cfg["max_ack_pending"]) as u64)));
    }
    if num(&cfg["max_waiting"]) > 0 {
        rows.push((Some("Max Waiting Pulls"), comma(num(&cfg["max_waiting"]) as u64)));
    }
    if num(&cfg["idle_heartbeat"]) > 0 {
        rows.push((Some("Idle Heartbeat"), go_duration(num(&cfg["idle_heartbeat"]) as u64)));
    }
    if !deliver_subject.is_empty() {
        rows.push((Some("Flow Control"), (cfg["flow_control"].as_bool() == Some(true)).to_string()));
    }
    if cfg["headers_only"].as_bool() == Some(true) {
        rows.push((Some("Headers Only"), "true".into()));
    }
    if num(&cfg["inactive_threshold"]) > 0 && deliver_subject.is_empty() {
        rows.push((Some("Inactive Threshold"), go_duration(num(&cfg["inactive_threshold"]) as u64)));
    }
    if let Some(b) = cfg["backoff"].as_array().filter(|a| !a.is_empty()) {
        rows.push((
            Some("Backoff"),
            b.iter().map(|d| go_duration(d.as_u64().unwrap_or(0))).collect::<Vec<_>>().join(", "),
        ));
    }
    if num(&cfg["num_replicas"]) > 0 {
        rows.push((Some("Replicas"), num(&cfg["num_replicas"]).to_string()));
    }
    if cfg["mem_storage"].as_bool() == Some(true) {
        rows.push((Some("Memory Storage"), "true".into()));
    }
    let cl = &v["cluster"];
    if !s(&cl["name"]).is_empty() {
        rows.push((None, "Cluster Information".into()));
        rows.push((Some("Name"), s(&cl["name"])));
        if !s(&cl["raft_group"]).is_empty() {
            rows.push((Some("Raft Group"), s(&cl["raft_group"])));
        }
        rows.push((Some("Leader"), s(&cl["leader"])));
        for r in cl["replicas"].as_array().into_iter().flatten() {
            let active = r["active"].as_u64().unwrap_or(0);
            let since = if active == 0 { "not seen".to_string() } else { format!("seen {} ago", go_duration(active)) };
            let cur = if r["current"].as_bool() == Some(true) { "current" } else { "outdated" };
            rows.push((Some("Replica"), format!("{}, {cur}, {since}", s(&r["name"]))));
        }
    }
    rows.push((None, "State".into()));
    let pair = |p: &Value| {
        format!(
            "Consumer sequence: {} Stream sequence: {}",
            comma(p["consumer_seq"].as_u64().unwrap_or(0)),
            comma(p["stream_seq"].as_u64().unwrap_or(0))
        )
    };
    rows.push((Some("Last Delivered Message"), pair(&v["delivered"])));
    if ack != "none" {
        rows.push((Some("Acknowledgment Floor"), pair(&v["ack_floor"])));
        let pending = v["num_ack_pending"].as_u64().unwrap_or(0);
        rows.push((
            Some("Outstanding Acks"),
            if num(&cfg["max_ack_pending"]) > 0 {
                format!("{} out of maximum {}", comma(pending), comma(num(&cfg["max_ack_pending"]) as u64))
            } else {
                pending.to_string()
            },
        ));
        rows.push((Some("Redelivered Messages"), v["num_redelivered"].as_u64().unwrap_or(0).to_string()));
    }
    rows.push((Some("Unprocessed Messages"), v["num_pending"].as_u64().unwrap_or(0).to_string()));
    if deliver_subject.is_empty() {
        let waiting = comma(v["num_waiting"].as_u64().unwrap_or(0));
        rows.push((
            Some("Waiting Pulls"),
            if num(&cfg["max_waiting"]) > 0 {
                format!("{waiting} of maximum {}", comma(num(&cfg["max_waiting"]) as u64))
            } else {
                format!("{waiting} of unlimited")
            },
        ));
    } else if v["push_bound"].as_bool() == Some(true) {
        let g = s(&cfg["deliver_group"]);
        rows.push((
            Some("Active Interest"),
            if g.is_empty() { "Active".into() } else { format!("Active using Queue Group {g}") },
        ));
    } else {
        rows.push((Some("Active Interest"), "No interest".into()));
    }
    let heading =
        format!("Information for Consumer {} > {} created {}", s(&v["stream_name"]), s(&v["name"]), s(&v["created"]));
    let mut out = columns(heading, rows);
    // `columns` opens with a blank line after the heading; the first
    // section title adds its own.
    if out.get(1).is_some_and(|l| l.is_empty()) && out.get(2).is_some_and(|l| l.is_empty()) {
        out.remove(1);
    }
    out
}

fn set_left(e: &mut Entry, left: u64) -> bool {
    if let Some(Follow::Pub { left: l, .. } | Follow::Sub { left: l, .. } | Follow::Next { left: l, .. }) =
        e.follow.as_mut()
    {
        *l = left;
    }
    left == 0
}

/// Bytes as the CLI's humanize.IBytes (`1.2 KiB`).
pub fn ibytes(n: u64) -> String {
    if n < 1024 {
        return format!("{n} B");
    }
    let units = ["KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64 / 1024.0;
    let mut i = 0;
    while v >= 1024.0 && i < units.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if v < 10.0 {
        format!("{v:.1} {}", units[i])
    } else {
        format!("{v:.0} {}", units[i])
    }
}

/// Rows `(key, value)` of one section; `None` key starts a section.
fn columns(heading: String, rows: Vec<(Option<&str>, String)>) -> Vec<String> {
    let width = rows.iter().filter_map(|(k, _)| k.map(|k| k.chars().count())).max().unwrap_or(0);
    let mut out = vec![heading, String::new()];
    for (k, v) in rows {
        match k {
            Some(k) => out.push(format!("{:>w$}: {v}", k, w = width + 2)),
            None => {
                out.push(String::new());
                out.push(format!("{v}:"));
                out.push(String::new());
            }
        }
    }
    out
}

/// A StreamInfo response as `nats stream info` prints it (the parts jetsim
/// models: configuration, limits, cluster, state).
pub fn stream_info_lines(v: &Value) -> Vec<String> {
    let s = |v: &Value| text::display_max(v.as_str().unwrap_or(""), 200);
    let num = |v: &Value| v.as_i64().unwrap_or(0);
    let cfg = &v["config"];
    let limit = |n: i64, f: &dyn Fn(i64) -> String| if n <= 0 { "unlimited".to_string() } else { f(n) };
    let mut rows: Vec<(Option<&str>, String)> = Vec::new();
    let subjects: Vec<String> = cfg["subjects"].as_array().map(|a| a.iter().map(&s).collect()).unwrap_or_default();
    if !subjects.is_empty() {
        rows.push((Some("Subjects"), subjects.join(", ")));
    }
    rows.push((Some("Replicas"), num(&cfg["num_replicas"]).to_string()));
    rows.push((Some("Storage"), if s(&cfg["storage"]) == "memory" { "Memory".into() } else { "File".into() }));
    if let Some(tags) = cfg["placement"]["tags"].as_array() {
        rows.push((Some("Placement Tags"), tags.iter().map(&s).collect::<Vec<_>>().join(", ")));
    }
    rows.push((None, "Options".into()));
    let retention = s(&cfg["retention"]);
    rows.push((Some("Retention"), capitalize(&retention)));
    rows.push((Some("Discard Policy"), if s(&cfg["discard"]) == "new" { "New".into() } else { "Old".into() }));
    rows.push((None, "Limits".into()));
    rows.push((Some("Maximum Messages"), limit(num(&cfg["max_msgs"]), &|n| n.to_string())));
    rows.push((Some("Maximum Bytes"), limit(num(&cfg["max_bytes"]), &|n| ibytes(n as u64))));
    rows.push((Some("Maximum Age"), limit(num(&cfg["max_age"]), &|n| jetsim_core::time::fmt_duration(n as u64))));
    let cl = &v["cluster"];
    if !s(&cl["name"]).is_empty() {
        rows.push((None, "Cluster Information".into()));
        rows.push((Some("Name"), s(&cl["name"])));
        if !s(&cl["raft_group"]).is_empty() {
            rows.push((Some("Cluster Group"), s(&cl["raft_group"])));
        }
        rows.push((Some("Leader"), s(&cl["leader"])));
        for r in cl["replicas"].as_array().into_iter().flatten() {
            let mut st = vec![s(&r["name"])];
            st.push(if r["current"].as_bool() == Some(true) { "current".into() } else { "outdated".into() });
            if r["offline"].as_bool() == Some(true) {
                st.push("OFFLINE".into());
            }
            // (The panel's own view has no "active": it says nothing.)
            if let Some(active) = r["active"].as_u64() {
                st.push(if active > 0 {
                    format!("seen {} ago", jetsim_core::time::fmt_duration(active))
                } else {
                    "not seen".into()
                });
            }
            match r["lag"].as_u64().unwrap_or(0) {
                0 => {}
                1 => st.push("1 operation behind".into()),
                n => st.push(format!("{n} operations behind")),
            }
            rows.push((Some("Replica"), st.join(", ")));
        }
    }
    let state = &v["state"];
    rows.push((None, "State".into()));
    rows.push((Some("Messages"), num(&state["messages"]).to_string()));
    rows.push((Some("Bytes"), ibytes(state["bytes"].as_u64().unwrap_or(0))));
    rows.push((Some("First Sequence"), num(&state["first_seq"]).to_string()));
    rows.push((Some("Last Sequence"), num(&state["last_seq"]).to_string()));
    if num(&state["num_deleted"]) > 0 {
        rows.push((Some("Deleted Messages"), num(&state["num_deleted"]).to_string()));
    }
    rows.push((Some("Active Consumers"), num(&state["consumer_count"]).to_string()));
    if num(&state["num_subjects"]) > 0 {
        rows.push((Some("Number of Subjects"), num(&state["num_subjects"]).to_string()));
    }
    let heading = format!("Information for Stream {} created {}", s(&cfg["name"]), s(&v["created"]));
    columns(heading, rows)
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A STREAM.LIST response as a short table (name, messages, bytes).
pub fn stream_list_lines(v: &Value) -> Vec<String> {
    let list = v["streams"].as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        return vec!["No Streams defined".into()];
    }
    let mut out = vec![format!("{:<20} {:>10} {:>12}", "Name", "Messages", "Size")];
    for st in &list {
        let name = st["config"]["name"].as_str().or(st.as_str()).unwrap_or("?");
        out.push(format!(
            "{:<20} {:>10} {:>12}",
            text::short(name, 20),
            st["state"]["messages"].as_u64().unwrap_or(0),
            ibytes(st["state"]["bytes"].as_u64().unwrap_or(0))
        ));
    }
    out
}

/// Completions of the input's last word: whole lines, for a datalist and Tab
/// (a word already typed in full is not offered again).
pub fn complete(w: &World, input: &str) -> Vec<String> {
    completions(w, input, false).into_iter().take(LISTED).collect()
}

/// Completions offered in the list (the datalist, and Tab's list) at most.
const LISTED: usize = 20;

/// The `nats` subcommands after `words` (`[]`: pub, sub, ..., stream,
/// consumer; `["stream"]`: add, info, ...), from [`NATS_HELP`].
fn nats_words(words: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (c, _, _) in NATS_HELP {
        let cw: Vec<&str> = c.split(' ').collect();
        if cw.len() > words.len() && cw[..words.len()] == *words && !out.iter().any(|x| x == cw[words.len()]) {
            out.push(cw[words.len()].to_string());
        }
    }
    out
}

/// [`complete`], with `keep_exact`: also the candidate equal to the last word.
fn completions(w: &World, input: &str, keep_exact: bool) -> Vec<String> {
    let (prefix_client, rest) = match input.split_once(": ") {
        Some((c, r)) if w.clients.iter().any(|x| x.node.config.name == c) => (format!("{c}: "), r),
        _ => (String::new(), input),
    };
    let ends_with_space = rest.ends_with(' ') || rest.is_empty();
    let mut words: Vec<&str> = rest.split_whitespace().collect();
    let partial = if ends_with_space { "" } else { words.pop().unwrap_or("") };
    let servers = || w.servers.iter().map(|s| s.config.name.clone()).collect::<Vec<_>>();
    let streams = || w.stream_names();
    let strs = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let candidates: Vec<String> = match words.as_slice() {
        [] if prefix_client.is_empty() => {
            let mut v = strs(&["nats"]);
            v.extend(ACTIONS_HELP.iter().map(|(a, _, _)| a.to_string()));
            v.push("help".into());
            v.extend(w.clients.iter().map(|c| format!("{}:", c.node.config.name)));
            v
        }
        [] => strs(&["nats"]),
        // The actions that take one server (kill, restart, ...: ACTIONS_HELP).
        [a] if ACTIONS_HELP.iter().any(|(x, args, _)| x == a && *args == "<server>") => servers(),
        ["partition", ..] | ["heal", ..] | ["latency", ..] => servers(),
        ["split"] => strs(&["az", "region"]),
        ["nats"] => nats_words(&[]),
        ["nats", "consumer" | "stream"] => nats_words(&words[1..]),
        ["nats", "consumer" | "stream", "cluster"] => nats_words(&words[1..]),
        ["nats", "consumer", "add" | "info" | "ls" | "rm" | "next"] => streams(),
        ["nats", "consumer", "info" | "rm" | "next", stream] => consumer_names(w, stream),
        ["nats", "consumer", "cluster", "step-down"] => streams(),
        ["nats", "consumer", "cluster", "step-down", stream] => consumer_names(w, stream),
        ["nats", "sub"] => push_subjects(w),
        ["nats", "stream", "info" | "rm" | "purge"] => streams(),
        ["nats", "stream", "cluster", "step-down"] => streams(),
        _ => Vec::new(),
    };
    let head = {
        let mut h = prefix_client.clone();
        for word in &words {
            h.push_str(word);
            h.push(' ');
        }
        h
    };
    candidates
        .into_iter()
        .filter(|c| c.starts_with(partial) && (keep_exact || c != partial))
        .map(|c| if c.ends_with(':') { format!("{head}{c} ") } else { format!("{head}{c}") })
        .collect()
}

/// The consumers of a stream, as its leader (else any replica) knows them.
fn consumer_names(w: &World, stream: &str) -> Vec<String> {
    let reps = w.stream_replicas(stream);
    let leader = w.stream_leader(stream);
    reps.iter()
        .find(|(e, _)| Some(*e) == leader)
        .or(reps.first())
        .map(|(_, r)| r.consumers.keys().map(|k| k.to_string()).collect())
        .unwrap_or_default()
}

/// Deliver subjects of push consumers (for `nats sub`).
fn push_subjects(w: &World) -> Vec<String> {
    let mut out = Vec::new();
    for s in w.stream_names() {
        let reps = w.stream_replicas(&s);
        if let Some((_, r)) = reps.first() {
            for c in r.consumers.values() {
                let d = &c.assignment.config.deliver_subject;
                if !d.is_empty() && !out.contains(d) {
                    out.push(d.to_string());
                }
            }
        }
    }
    out
}

/// What a Tab press in the command field does.
#[derive(Clone, Debug, PartialEq)]
pub enum Tab {
    /// Replace the input (the single completion, or the candidates' longest
    /// common prefix when it is longer than the input).
    Complete(String),
    /// Several candidates and nothing more in common: list them, focus stays
    /// in the field. Their last words (at most `LISTED`, then `… (N more)`)
    /// and how many there are in all.
    List(Vec<String>, usize),
    /// Nothing to add (empty or complete input, no candidate, or the
    /// candidates are already `listed`): Tab moves focus as usual.
    Pass,
}

/// A shell's Tab: complete what all candidates share; when that adds
/// nothing, list them once; a Tab that would add nothing new passes.
pub fn tab_action(w: &World, input: &str, listed: bool) -> Tab {
    if input.trim().is_empty() {
        return Tab::Pass;
    }
    let c = completions(w, input, true);
    let Some(first) = c.first() else { return Tab::Pass };
    if c.len() == 1 {
        let t = if first.ends_with(' ') { first.clone() } else { format!("{first} ") };
        // The last word is already typed in full: nothing to complete.
        return if t.trim_end() == input.trim_end() { Tab::Pass } else { Tab::Complete(t) };
    }
    let mut common = first.clone();
    for x in &c[1..] {
        let n = common.chars().zip(x.chars()).take_while(|(a, b)| a == b).count();
        common = common.chars().take(n).collect();
    }
    if common.chars().count() > input.chars().count() {
        Tab::Complete(common)
    } else if listed {
        Tab::Pass
    } else {
        // The common prefix above is over all of them; the list shows LISTED.
        let mut names: Vec<String> =
            c.iter().take(LISTED).map(|x| x.trim_end().rsplit(' ').next().unwrap_or(x).to_string()).collect();
        if c.len() > LISTED {
            names.push(format!("… ({} more)", c.len() - LISTED));
        }
        Tab::List(names, c.len())
    }
}

/// What the console form needs from the page.
pub struct ConsoleProps<'a> {
    pub world: &'a World,
    pub console: &'a Console,
    pub command: &'a str,
    /// The status line: (text, is an error).
    pub result: Option<(String, bool)>,
    pub on_input: Callback<String>,
    pub on_submit: Callback<()>,
    /// ↑ (true) / ↓ (false) through the history.
    pub on_history: Callback<bool>,
    /// The simulation runs (paused: entries waiting for output say so).
    pub playing: bool,
    /// Tab listed the candidates for `command` (shown under the input; the
    /// next Tab moves focus).
    pub listed: bool,
    /// Tab found several candidates and nothing more in common: list them.
    pub on_list: Callback<()>,
}

/// The command form, its completions and the output of recent commands.
pub fn console_view(p: ConsoleProps<'_>) -> Html {
    let completions = if p.command.is_empty() { Vec::new() } else { complete(p.world, p.command) };
    let tab = tab_action(p.world, p.command, p.listed);
    let candidates = match p.listed.then(|| tab_action(p.world, p.command, false)) {
        Some(Tab::List(words, total)) => format!("{total} completions: {}", words.join("  ")),
        _ => String::new(),
    };
    let on_input = p.on_input.clone();
    let on_history = p.on_history.clone();
    let on_list = p.on_list.clone();
    let onkeydown = Callback::from(move |e: KeyboardEvent| match e.key().as_str() {
        "ArrowUp" | "ArrowDown" => {
            e.prevent_default();
            on_history.emit(e.key() == "ArrowUp");
        }
        "Tab" if !e.shift_key() => match &tab {
            Tab::Complete(t) => {
                e.prevent_default();
                on_input.emit(t.clone());
            }
            Tab::List(..) => {
                e.prevent_default();
                on_list.emit(());
            }
            Tab::Pass => {}
        },
        _ => {}
    });
    let on_input = p.on_input.clone();
    let on_submit = p.on_submit.clone();
    let onsubmit = Callback::from(move |e: SubmitEvent| {
        e.prevent_default();
        on_submit.emit(());
    });
    html! {
        <form class="console" onsubmit={onsubmit}>
            <label for="command">{ "Command" }</label>
            <input id="command" type="text" autocomplete="off" spellcheck="false" list="command-completions"
                placeholder="nats stream info ORDERS · kill n2 · partition n1 | n2 n3 · c1: nats pub orders.new hi"
                aria-describedby="command-candidates command-help"
                value={p.command.to_string()}
                onkeydown={onkeydown}
                oninput={Callback::from(move |e: InputEvent| {
                    let el: web_sys::HtmlInputElement = e.target_unchecked_into();
                    on_input.emit(el.value())
                })} />
            <datalist id="command-completions">
                { for completions.iter().map(|c| html! { <option value={c.clone()} /> }) }
            </datalist>
            <button type="submit" id="run-command">{ "Run" }</button>
            <p id="command-candidates" class="small candidates" aria-live="polite">{ candidates }</p>
            <p id="command-help" class="muted small">{ help_summary() }</p>
            <p id="command-result" role="status" class="small">
                { match &p.result {
                    None => html! {},
                    Some((t, false)) => html! { { t.clone() } },
                    Some((t, true)) => html! { <span class="error">{ t.clone() }</span> },
                } }
            </p>
            if !p.console.entries.is_empty() {
                <div class="console-out" id="console-out" aria-label="Command output" tabindex="0">
                    { for p.console.entries.iter().rev().take(8).map(|e| html! {
                        <div class={classes!("console-entry", e.error.then_some("error"))} key={e.n} data-input={e.input.clone()}>
                            <pre><span class="prompt">{ "$ " }</span>{ e.input.clone() }{ "\n" }{ e.lines.join("\n") }</pre>
                            if let Some(note) = (!p.playing).then(|| e.pending()).flatten() {
                                <p class="pending small">{ note }</p>
                            }
                        </div>
                    }) }
                </div>
            }
        </form>
    }
}

/// Streams whose full store state (subject count) is read for the panel at
/// most: beyond, the panel leaves the subject count out (it sorts subjects).
pub const PANEL_STATE_MSGS: u64 = 20_000;

/// A stream as `nats stream info` would print it, built from the
/// simulator's own view (the leader's replica, else any running one)
/// rather than from an API response: replicas are current when they have
/// applied what the leader has, OFFLINE when their server is down.
pub fn stream_info_now(w: &World, stream: &str) -> Option<Value> {
    use jetsim_core::sim::Liveness;
    let reps = w.stream_replicas(stream);
    let leader = w.stream_leader(stream);
    let (_, r) = reps.iter().find(|(e, _)| Some(*e) == leader).or(reps.first())?;
    let a = &r.assignment;
    let store = &r.store;
    let mut state = serde_json::json!({
        "messages": store.len(),
        "first_seq": store.first_seq(),
        "last_seq": store.last_seq(),
        "consumer_count": r.consumers.len(),
    });
    if store.len() <= PANEL_STATE_MSGS {
        let st = store.state();
        state["bytes"] = st.bytes.into();
        state["num_subjects"] = st.num_subjects.into();
    }
    let cluster_name =
        a.peers.first().and_then(|&p| w.servers.get(p as usize)).map(|s| s.config.cluster.clone()).unwrap_or_default();
    let mut cluster = serde_json::json!({ "name": cluster_name });
    if a.peers.len() > 1 {
        cluster["raft_group"] = Value::String(a.group.to_string());
    }
    if let Some(l) = leader {
        cluster["leader"] = Value::String(w.name(l).to_string());
    }
    let replicas: Vec<Value> = a
        .peers
        .iter()
        .filter(|&&p| Some(p) != leader)
        .map(|&p| {
            let down = w.servers.get(p as usize).is_none_or(|s| s.liveness == Liveness::Down);
            let applied = reps.iter().find(|(e, _)| *e == p).map(|(_, x)| x.applied);
            let lag = match (applied, leader.is_some()) {
                (Some(ap), true) => r.applied.saturating_sub(ap),
                _ => 0,
            };
            let mut v = serde_json::json!({ "name": w.name(p), "current": !down && leader.is_some() && lag == 0 });
            if down {
                v["offline"] = Value::Bool(true);
            }
            if lag > 0 {
                v["lag"] = lag.into();
            }
            v
        })
        .collect();
    if !replicas.is_empty() {
        cluster["replicas"] = Value::Array(replicas);
    }
    Some(serde_json::json!({
        "config": a.config.to_json(),
        "created": jetsim_core::jetstream::api::rfc3339(a.created),
        "cluster": cluster,
        "state": state,
    }))
}

/// Pending acks listed per consumer in the panel (the count is always whole).
pub const PANEL_PENDING_LISTED: usize = 5;

/// The consumers of a stream as the panel prints them: per consumer, the
/// consumer leader's view (the same counters as `nats consumer info`, through
/// `report::consumer_report`), the first pending acks with their delivery
/// counts, and how every other member's copy of the state compares (the
/// state is replicated through the consumer's own Raft group, so after a
/// consumer leader change the new leader goes on from its copy).
pub fn consumer_info_lines(w: &World, stream: &str) -> Vec<String> {
    let reps = w.stream_replicas(stream);
    let leader = w.stream_leader(stream);
    let Some((view_at, r)) = reps.iter().find(|(e, _)| Some(*e) == leader).or(reps.first()).map(|(e, r)| (*e, *r))
    else {
        return Vec::new();
    };
    if r.consumers.is_empty() {
        return vec!["No consumers".into()];
    }
    // Each consumer as its own leader sees it (else its first member's view).
    let view_of = |name: &str| {
        let members = || reps.iter().filter(|(_, x)| x.consumers.get(name).is_some_and(|c| c.group.is_some()));
        let lead_ep = jetsim_core::sim::highest_term(
            members().map(|(e, x)| (*e, x.consumers.get(name).and_then(|c| c.leader_term()))),
        );
        let lead = members().find(|(e, _)| Some(*e) == lead_ep);
        let (e, x) = lead.or_else(|| members().next()).map(|(e, x)| (*e, *x)).unwrap_or((view_at, r));
        (e, x, lead.map(|(l, _)| w.name(*l).to_string()))
    };
    let leaders: jetsim_core::vecmap::VecSet<Option<String>> = r.consumers.keys().map(|n| view_of(n).2).collect();
    let (view_at, leader_name) = match leaders.iter().next() {
        Some(l) if leaders.len() == 1 => (view_of(r.consumers.keys().next().map_or("", |n| &**n)).0, l.clone()),
        _ => (view_at, None),
    };
    let mut out = vec![match &leader_name {
        Some(l) => format!("Consumers ({}), as the consumer leader {l} sees them:", r.consumers.len()),
        None if leaders.len() > 1 => format!("Consumers ({}), each as its consumer leader sees it:", r.consumers.len()),
        None => format!("Consumers ({}), no leader: as {} sees them:", r.consumers.len(), w.name(view_at)),
    }];
    let seqs =
        |p: &jetsim_core::report::SeqPair| format!("consumer seq {}, stream seq {}", p.consumer_seq, p.stream_seq);
    for name in r.consumers.keys() {
        let (view_at, r, leader_name) = view_of(name);
        let Some(c) = r.consumers.get(name) else { continue };
        let cfg = &c.assignment.config;
        let small = r.store.len() <= PANEL_STATE_MSGS;
        let rep = jetsim_core::report::consumer_report(name, c, r, leader_name.clone());
        out.push(String::new());
        out.push(format!(
            "{} ({}, {} ack{})",
            text::display_max(name, 80),
            if cfg.is_push() { "push" } else { "pull" },
            cfg.ack_policy.as_str(),
            if cfg.is_durable() { ", durable" } else { ", ephemeral" }
        ));
        let mut rows: Vec<(&str, String)> = Vec::new();
        rows.push(("Leader", leader_name.clone().unwrap_or_else(|| "none (no consumer leader)".into())));
        rows.push(("Delivered", seqs(&rep.delivered)));
        rows.push(("Ack floor", seqs(&rep.ack_floor)));
        let mut pending = format!("{}", rep.num_ack_pending);
        if !c.pending.is_empty() {
            let first: Vec<String> = c
                .pending
                .keys()
                .take(PANEL_PENDING_LISTED)
                .map(|&seq| format!("stream seq {seq} delivered {}x", c.delivery_count(seq)))
                .collect();
            let more = c.pending.len().saturating_sub(PANEL_PENDING_LISTED);
            pending.push_str(&format!(
                ": {}{}",
                first.join(", "),
                if more > 0 { format!(", {more} more") } else { String::new() }
            ));
        }
        rows.push(("Pending acks", pending));
        rows.push(("Redelivered", rep.num_redelivered.to_string()));
        rows.push(("Waiting pulls", if cfg.is_push() { "- (push)".into() } else { rep.num_waiting.to_string() }));
        if small {
            rows.push(("Unprocessed", rep.num_pending.to_string()));
        }
        for (e, other) in &reps {
            if *e == view_at {
                continue;
            }
            let st = match other.consumers.get(name) {
                None => "no copy of this consumer".to_string(),
                Some(o) if o.group.is_none() => continue,
                Some(o)
                    if o.dseq == c.dseq
                        && o.sseq == c.sseq
                        && o.adflr == c.adflr
                        && o.asflr == c.asflr
                        && o.pending.keys().eq(c.pending.keys())
                        && o.rdc == c.rdc =>
                {
                    "same state".to_string()
                }
                Some(o) => format!(
                    "differs: delivered {}/{}, ack floor {}/{}, {} pending acks",
                    o.dseq.max(1) - 1,
                    o.sseq.max(1) - 1,
                    o.adflr,
                    o.asflr,
                    o.pending.len()
                ),
            };
            rows.push(("Replica", format!("{} {st}", w.name(*e))));
        }
        let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        out.extend(rows.into_iter().map(|(k, v)| format!("{:>w$}: {v}", k, w = width + 2)));
    }
    out
}

/// The "Streams" panel: every stream as `nats stream info` prints it.
pub fn streams_view(w: &World) -> Html {
    let names = w.stream_names();
    html! {
        <section class="panel streams" aria-labelledby="streams-h">
            <h2 id="streams-h" class="panel-title">{ "Stream info" }</h2>
            <p class="muted small">
                { "Each stream as nats stream info prints it, read from the simulator (the leader's replica). Replicas: current, outdated, OFFLINE, operations behind. Under each stream, its consumers: delivered and ack floor, pending acks with their delivery counts, redeliveries, waiting pulls, and whether each other member of the consumer's own Raft group holds the same consumer state (the consumer leader's view)." }
            </p>
            if names.is_empty() {
                <p class="muted small">{ "No stream yet." }</p>
            }
            { for names.iter().filter_map(|n| stream_info_now(w, n).map(|v| (n, v))).map(|(n, v)| html! {
                <>
                    <pre class="stream-info" data-stream={n.clone()}>{ stream_info_lines(&v).join("\n") }</pre>
                    <pre class="consumer-info" data-stream={n.clone()} aria-label={format!("Consumers of {n}")}>{ consumer_info_lines(w, n).join("\n") }</pre>
                </>
            }) }
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jetsim_core::time::SEC;

    fn session(id: &str) -> Session {
        Session::build(crate::examples::find(id).map(|e| e.text).unwrap_or_default(), None).expect("builds")
    }

    fn run_to(s: &mut Session, c: &mut Console, t: Time) {
        s.advance((t - s.now()) as f64, u64::MAX, &mut || true);
        c.sync(s);
    }

    #[test]
    fn stream_info_is_printed_as_the_cli_does() {
        let mut s = session("r3-publish");
        let mut c = Console::default();
        run_to(&mut s, &mut c, 7 * SEC);
        assert!(c.run(&mut s, "nats stream info ORDERS", true).expect("runs").starts_with("Done at 7.000000s"));
        run_to(&mut s, &mut c, 7 * SEC + 100_000_000);
        let e = c.entries.back().expect("an entry");
        assert!(!e.error, "{e:#?}");
        let out = e.lines.join("\n");
        assert!(out.starts_with("Information for Stream ORDERS created "), "{out}");
        for want in [
            "          Subjects: orders.>",
            "          Replicas: 3",
            "           Storage: File",
            "Cluster Information:",
            "            Leader: n3",
            "          Messages: 20",
            "    Last Sequence: 20".trim_start(),
            "  Active Consumers: 0",
        ] {
            assert!(out.contains(want), "missing {want:?} in\n{out}");
        }
        assert_eq!(out.matches("Replica: n").count(), 2, "{out}");
        assert!(out.contains("current, seen "), "{out}");
    }

    #[test]
    fn jetstream_publishes_print_their_pubacks_and_errors_are_cli_errors() {
        let mut s = session("r3-publish");
        let mut c = Console::default();
        run_to(&mut s, &mut c, 7 * SEC);
        c.run(&mut s, "nats pub orders.x hi --jetstream --count 2", true).expect("runs");
        run_to(&mut s, &mut c, 8 * SEC);
        let e = c.entries.back().expect("an entry");
        assert_eq!(
            e.lines,
            [
                "00:00:07.006 Stored in Stream: ORDERS Sequence: 21",
                "00:00:07.012 Stored in Stream: ORDERS Sequence: 22"
            ]
        );
        assert!(c.run(&mut s, "nats stream info", true).is_err());
        assert!(c.entries.back().is_some_and(|e| e.error && e.lines[0].starts_with("nats: error: ")));
        assert!(c.run(&mut s, "kill n9", true).is_err());
        assert!(c.run(&mut s, "kill n2", true).expect("runs").ends_with("kill n2"));
        c.run(&mut s, "nats stream cluster step-down ORDERS", true).expect("runs");
        run_to(&mut s, &mut c, 12 * SEC);
        let e = c.entries.back().expect("an entry");
        assert!(e.lines.iter().any(|l| l.ends_with("New leader elected \"n1\"")), "{e:#?}");
    }

    #[test]
    fn history_and_completion() {
        let mut s = session("r3-publish");
        let mut c = Console::default();
        run_to(&mut s, &mut c, 3 * SEC);
        c.run(&mut s, "nats stream ls", true).expect("runs");
        c.run(&mut s, "note hi", true).expect("runs");
        assert_eq!(c.browse(true).as_deref(), Some("note hi"));
        assert_eq!(c.browse(true).as_deref(), Some("nats stream ls"));
        assert_eq!(c.browse(true).as_deref(), Some("nats stream ls"), "stays at the oldest");
        assert_eq!(c.browse(false).as_deref(), Some("note hi"));
        assert_eq!(c.browse(false).as_deref(), Some(""), "past the newest: empty");
        let w = &s.world;
        assert_eq!(complete(w, "kill n"), ["kill n1", "kill n2", "kill n3"]);
        assert_eq!(complete(w, "nats stream info O"), ["nats stream info ORDERS"]);
        assert_eq!(tab_action(w, "nats stream info O", false), Tab::Complete("nats stream info ORDERS ".into()));
        assert_eq!(tab_action(w, "nats st", false), Tab::Complete("nats stream ".into()));
        assert_eq!(complete(w, "c1: nats stream cluster s"), ["c1: nats stream cluster step-down"]);
        assert!(complete(w, "").iter().any(|x| x == "c1: "));
        assert_eq!(tab_action(w, "zzz", false), Tab::Pass);
        run_to(&mut s, &mut c, 3 * SEC + 100_000_000);
        let ls = c.entries.iter().find(|e| e.input == "nats stream ls").expect("entry");
        assert!(ls.lines.iter().any(|l| l.starts_with("ORDERS")), "{ls:#?}");
    }

    /// Five servers, a stream X with the pull consumers C and C2 by 5s.
    pub const TWO_CONSUMERS: &str = include_str!("../../tests/fixtures/two-consumers.jetsim");

    #[test]
    fn tab_completes_the_common_prefix_then_lists_the_candidates_once() {
        let mut s = Session::build(TWO_CONSUMERS, None).expect("builds");
        let mut c = Console::default();
        run_to(&mut s, &mut c, 5 * SEC);
        let w = &s.world;
        let list = |v: &[&str]| Tab::List(v.iter().map(|x| x.to_string()).collect(), v.len());
        // Several servers, nothing more in common: list them, once.
        assert_eq!(tab_action(w, "kill n", false), list(&["n1", "n2", "n3", "n4", "n5"]));
        assert_eq!(tab_action(w, "kill n", true), Tab::Pass, "a second Tab moves focus");
        // Consumers C and C2: first their common prefix, then the list.
        assert_eq!(complete(w, "nats consumer next X "), ["nats consumer next X C", "nats consumer next X C2"]);
        assert_eq!(tab_action(w, "nats consumer next X ", false), Tab::Complete("nats consumer next X C".into()));
        assert_eq!(tab_action(w, "nats consumer next X C", false), list(&["C", "C2"]), "C is a whole name too");
        assert_eq!(tab_action(w, "nats consumer next X C", true), Tab::Pass);
        assert_eq!(tab_action(w, "nats consumer next X C2", false), Tab::Pass, "complete: nothing to add");
        assert_eq!(tab_action(w, "nats consumer cluster step-down X C2", false), Tab::Pass);
        assert_eq!(tab_action(w, "nats consumer cluster step-down X C", false), list(&["C", "C2"]));
        // One candidate: completed with a space; empty or complete input passes.
        assert_eq!(tab_action(w, "kill n3", false), Tab::Pass);
        assert_eq!(tab_action(w, "", false), Tab::Pass);
        assert_eq!(tab_action(w, "   ", false), Tab::Pass);
        assert_eq!(tab_action(w, "zzz", false), Tab::Pass);
        assert_eq!(tab_action(w, "nats consumer cl", false), Tab::Complete("nats consumer cluster ".into()));
        assert_eq!(tab_action(w, "nats stream i", false), Tab::Complete("nats stream info ".into()));
        assert_eq!(tab_action(w, "nats s", false), list(&["sub", "stream"]));
        assert_eq!(tab_action(w, "he", false), list(&["heal", "help"]));
        assert_eq!(tab_action(w, "hea", false), Tab::Complete("heal ".into()));
    }

    #[test]
    fn tab_takes_the_common_prefix_over_every_candidate_not_the_listed_twenty() {
        // a1..a21 and b1: the first twenty share "a", all 22 only "".
        let mut text = String::from("jetsim 1\n");
        for i in 1..=21 {
            text.push_str(&format!("server a{i}\n"));
        }
        text.push_str("server b1\nclient c1 server=a1\n");
        let s = Session::build(&text, None).expect("builds");
        match tab_action(&s.world, "kill ", false) {
            Tab::List(names, total) => {
                assert_eq!(total, 22);
                assert_eq!(names.len(), LISTED + 1, "{names:?}");
                assert_eq!(names.last().map(String::as_str), Some("… (2 more)"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(complete(&s.world, "kill ").len(), LISTED);
    }

    #[test]
    fn help_lists_the_commands_actions_and_keys() {
        let mut s = session("r3-publish");
        for h in ["help", " help ", "nats --help", "nats help", "nats -h", "--help", "c1: nats --help"] {
            assert!(is_help(&s.world, h), "{h}");
        }
        for h in ["helpx", "nats", "nats pub help", "note help", "nats stream --help", "note see: help", "kill: -h"] {
            assert!(!is_help(&s.world, h), "{h}");
        }
        let mut c = Console::default();
        run_to(&mut s, &mut c, 3 * SEC);
        let inputs = s.inputs().len();
        for h in ["help", "nats --help"] {
            let status = c.run(&mut s, h, false).expect("help runs");
            assert!(status.contains("listed below"), "{status}");
            let (out, err) = last_out(&c);
            assert!(!err, "{out}");
            for (cmd, _, what) in NATS_HELP {
                assert!(
                    out.lines().any(|l| l.starts_with(&format!("  nats {cmd}")) && l.ends_with(what)),
                    "{cmd} in\n{out}"
                );
            }
            for (a, _, what) in ACTIONS_HELP {
                assert!(out.lines().any(|l| l.starts_with(&format!("  {a} ")) && l.ends_with(what)), "{a} in\n{out}");
            }
            assert!(out.contains("  nats stream ls "), "{out}");
            assert!(out.contains("List all known Streams"), "{out}");
            assert!(out.contains("  ↑/↓ ") && out.contains("  Tab "), "{out}");
        }
        assert_eq!(s.inputs().len(), inputs, "help is not an input of the run");
        assert_eq!(c.history.last().map(String::as_str), Some("nats --help"));
        // The line under the input says the same, from the same lists.
        let summary = help_summary();
        assert!(summary.starts_with("nats CLI commands (pub, sub, req, reply, unsub, stream add/info/ls/rm/purge/cluster step-down, consumer add/info/ls/rm/next/cluster step-down) run as the first client"), "{summary}");
        assert!(
            summary
                .contains("kill, restart, power-loss, pause, resume, partition, isolate, split, heal, latency, note."),
            "{summary}"
        );
        assert!(summary.contains("Type help"), "{summary}");
        // Completion offers the same subcommands.
        assert_eq!(
            complete(&s.world, "nats consumer "),
            [
                "nats consumer add",
                "nats consumer info",
                "nats consumer ls",
                "nats consumer rm",
                "nats consumer next",
                "nats consumer cluster"
            ]
        );
    }

    #[test]
    fn overlong_lines_are_refused_first_with_one_message() {
        let mut s = session("r3-publish");
        let mut c = Console::default();
        run_to(&mut s, &mut c, 3 * SEC);
        let want = Err("The command is longer than 1000 bytes.".to_string());
        let long = "x".repeat(10_000);
        for line in [long.clone(), format!("nats pub x.a {long}"), format!("kill {long}"), format!("help {long}")] {
            assert_eq!(c.run(&mut s, &line, false), want);
            let e = c.entries.back().expect("an entry");
            assert!(e.error, "{e:?}");
            assert_eq!(e.lines, ["nats: error: The command is longer than 1000 bytes."]);
            assert!(e.input.chars().count() <= 301, "the echo is short");
        }
        // At the limit it is parsed as usual.
        let at_limit = format!("kill {}", "y".repeat(MAX_INPUT_LINE - 5));
        let err = c.run(&mut s, &at_limit, false).expect_err("no such server");
        assert!(err.starts_with("server name \"yyy") && !err.contains("1000 bytes"), "{err}");
        assert!(c.run(&mut s, &format!("note {}", "y".repeat(900)), false).is_ok());
    }

    #[test]
    fn paused_commands_say_their_output_comes_when_time_runs() {
        let mut s = session("r3-publish");
        let mut c = Console::default();
        run_to(&mut s, &mut c, 9 * SEC);
        let status = c.run(&mut s, "nats stream ls", false).expect("runs");
        assert_eq!(
            status,
            "Sent at 9.000000s: c1: nats stream ls. Paused: the reply arrives when time runs: press Play or Step (→)."
        );
        let e = c.entries.back().expect("an entry");
        assert!(e.lines.is_empty(), "{e:?}");
        assert_eq!(
            e.pending().as_deref(),
            Some("00:00:09.000 sent: the reply arrives when time runs: press Play or Step (→)")
        );
        assert_eq!(settle_status(&status, true), status, "still waiting: the hint stays");
        // Time runs: the reply arrives, the note goes, and the status line
        // drops its hint.
        run_to(&mut s, &mut c, 9 * SEC + 100_000_000);
        let e = c.entries.back().expect("an entry");
        assert!(e.lines.iter().any(|l| l.starts_with("ORDERS")), "{e:?}");
        assert_eq!(e.pending(), None);
        assert_eq!(settle_status(&status, false), "Sent at 9.000000s: c1: nats stream ls.");
        assert_eq!(settle_status("Done at 1s: kill n2", false), "Done at 1s: kill n2");
        // The echoed command may hold the mark itself: only the last one is the hint.
        let tricky = "Sent at 1s: c1: nats pub x \"a Paused: b\". Paused: the message is published when time runs.";
        assert_eq!(settle_status(tricky, false), "Sent at 1s: c1: nats pub x \"a Paused: b\".");
        // A JetStream publish waits for its PubAck, a subscription for messages.
        let status = c.run(&mut s, "nats pub orders.x hi --jetstream", false).expect("runs");
        assert!(status.ends_with("Paused: the PubAck arrives when time runs: press Play or Step (→)."), "{status}");
        let status = c.run(&mut s, "nats sub orders.>", false).expect("runs");
        assert!(status.ends_with("Paused: messages arrive when time runs: press Play or Step (→)."), "{status}");
        assert!(c.entries.back().and_then(Entry::pending).is_some_and(|p| p.contains("messages arrive")));
        // No reply awaited: done at once, as before.
        let status = c.run(&mut s, "kill n2", false).expect("runs");
        assert_eq!(status, "Done at 9.100000s: kill n2");
        assert_eq!(c.entries.back().and_then(Entry::pending), None);
        // Playing: the output follows by itself.
        assert!(c
            .run(&mut s, "nats stream ls", true)
            .expect("runs")
            .starts_with("Done at 9.100000s: c1: nats stream ls"));
    }

    #[test]
    fn the_stream_panel_shows_a_killed_replica_offline() {
        let mut s = session("kill-leader");
        let mut c = Console::default();
        run_to(&mut s, &mut c, 5 * SEC);
        let out = stream_info_lines(&stream_info_now(&s.world, "ORDERS").expect("a stream")).join("\n");
        assert!(out.contains("            Leader: n3"), "{out}");
        assert_eq!(out.matches(", current").count(), 2, "{out}");
        assert!(!out.contains("seen"), "the panel has no last-seen: {out}");
        run_to(&mut s, &mut c, 8 * SEC);
        let out = stream_info_lines(&stream_info_now(&s.world, "ORDERS").expect("a stream")).join("\n");
        assert!(out.contains("            Leader: n2"), "{out}");
        assert!(out.contains("Replica: n3, outdated, OFFLINE"), "{out}");
        assert!(out.contains("Replica: n1, current"), "{out}");
    }

    /// `(key, value)` of the first consumer's rows.
    fn consumer_rows(lines: &[String]) -> Vec<(String, String)> {
        lines.iter().filter_map(|l| l.split_once(": ").map(|(k, v)| (k.trim().to_string(), v.to_string()))).collect()
    }

    fn row<'a>(rows: &'a [(String, String)], key: &str) -> &'a str {
        rows.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).unwrap_or_else(|| panic!("no {key} in {rows:?}"))
    }

    /// "consumer seq C, stream seq S" as (C, S).
    fn pair(v: &str) -> (u64, u64) {
        let n: Vec<u64> =
            v.split(|c: char| !c.is_ascii_digit()).filter(|x| !x.is_empty()).map(|x| x.parse().unwrap()).collect();
        (n[0], n[1])
    }

    #[test]
    fn the_consumer_panel_follows_the_leader_change_with_the_same_state() {
        let mut s = session("pull-consumer");
        let mut c = Console::default();
        run_to(&mut s, &mut c, 2 * SEC + 500_000_000);
        assert_eq!(consumer_info_lines(&s.world, "JOBS"), vec!["No consumers".to_string()]);
        run_to(&mut s, &mut c, 6900 * 1_000_000);
        let before = consumer_info_lines(&s.world, "JOBS");
        let info = stream_info_lines(&stream_info_now(&s.world, "JOBS").expect("a stream")).join("\n");
        assert!(info.contains("Active Consumers: 1"), "{info}");
        let text = before.join("\n");
        assert!(text.contains("workers (pull, explicit ack, durable)"), "{text}");
        let b = consumer_rows(&before);
        let leader_before = row(&b, "Leader").to_string();
        let (dc, ds) = pair(row(&b, "Delivered"));
        assert!(ds >= 20 && dc >= ds, "two batches of 10 were fetched: {text}");
        let (ac, as_) = pair(row(&b, "Ack floor"));
        assert!(ac <= dc && as_ <= ds, "{text}");
        assert_eq!(text.matches("same state").count(), 2, "{text}");
        run_to(&mut s, &mut c, 9500 * 1_000_000);
        let after = consumer_info_lines(&s.world, "JOBS");
        let text2 = after.join("\n");
        let a = consumer_rows(&after);
        assert_ne!(row(&a, "Leader"), leader_before, "{text}\n---\n{text2}");
        let (dc2, ds2) = pair(row(&a, "Delivered"));
        assert!(dc2 >= dc && ds2 >= ds, "the new leader goes on from the replicated state: {text}\n---\n{text2}");
        let (ac2, _) = pair(row(&a, "Ack floor"));
        assert!(ac2 >= ac, "{text2}");
        // The pending acks listed agree with their count.
        let pend = row(&a, "Pending acks");
        let n: usize = pend.split(':').next().unwrap().parse().unwrap();
        assert_eq!(pend.matches("stream seq").count(), n.min(PANEL_PENDING_LISTED), "{pend}");
        eprintln!("{text}\n---\n{text2}");
    }

    #[test]
    fn the_consumer_panel_lists_pending_acks_and_redeliveries_after_ack_wait() {
        // worker2 does not acknowledge its batch: its 10 messages stay
        // pending, and come back once ack_wait (2s) passes.
        // worker1's second pull (6.5s) does not acknowledge either, so the
        // redelivered messages stay pending (an ack removes a message from
        // num_redelivered, as nats' rdc).
        let text = crate::examples::find("pull-consumer")
            .expect("example")
            .text
            .replace(
                "at 4s worker2: nats consumer next JOBS workers --count 10",
                "at 4s worker2: nats consumer next JOBS workers --count 10 --no-ack",
            )
            .replace(
                "at 6500ms worker1: nats consumer next JOBS workers --count 30",
                "at 6500ms worker1: nats consumer next JOBS workers --count 30 --no-ack",
            );
        assert_eq!(text.matches("--no-ack").count(), 2);
        let mut s = Session::build(&text, None).expect("builds");
        let mut c = Console::default();
        run_to(&mut s, &mut c, 5 * SEC);
        let lines = consumer_info_lines(&s.world, "JOBS");
        let r = consumer_rows(&lines);
        let out = lines.join("\n");
        assert_eq!(row(&r, "Pending acks").split(':').next(), Some("10"), "{out}");
        assert_eq!(row(&r, "Pending acks").matches("delivered 1x").count(), PANEL_PENDING_LISTED, "{out}");
        assert!(row(&r, "Pending acks").ends_with(", 5 more"), "{out}");
        assert_eq!(row(&r, "Redelivered"), "0", "{out}");
        run_to(&mut s, &mut c, 6900 * 1_000_000);
        let lines = consumer_info_lines(&s.world, "JOBS");
        let r = consumer_rows(&lines);
        let out = lines.join("\n");
        let redelivered: u64 = row(&r, "Redelivered").parse().unwrap();
        assert_eq!(redelivered, 10, "ack_wait passed, worker1 got worker2's 10 again: {out}");
        let (dc, ds) = pair(row(&r, "Delivered"));
        assert_eq!((dc, ds), (50, 40), "redeliveries take consumer sequences: {out}");
        assert_eq!(row(&r, "Pending acks").split(':').next(), Some("30"), "worker1's first 10 were acked: {out}");
        assert_eq!(
            row(&r, "Pending acks").matches("delivered 2x").count(),
            PANEL_PENDING_LISTED,
            "the lowest pending are worker2's: {out}"
        );
        eprintln!("{out}");
    }

    fn last_out(c: &Console) -> (String, bool) {
        let e = c.entries.back().expect("an entry");
        (e.lines.join("\n"), e.error)
    }

    #[test]
    fn consumer_commands_print_as_natscli() {
        let mut s = session("pull-consumer");
        let mut c = Console::default();
        run_to(&mut s, &mut c, 13 * SEC);
        assert_eq!(complete(&s.world, "nats consumer info JOBS w"), ["nats consumer info JOBS workers"]);
        assert_eq!(tab_action(&s.world, "nats cons", false), Tab::Complete("nats consumer ".into()));
        // info: the numbers of the consumer's real state.
        c.run(&mut s, "nats consumer info JOBS workers", true).expect("runs");
        run_to(&mut s, &mut c, 13 * SEC + 100_000_000);
        let (out, err) = last_out(&c);
        assert!(!err, "{out}");
        let panel = consumer_rows(&consumer_info_lines(&s.world, "JOBS"));
        let (dc, ds) = pair(row(&panel, "Delivered"));
        let (ac, as_) = pair(row(&panel, "Ack floor"));
        assert!(out.starts_with("Information for Consumer JOBS > workers created "), "{out}");
        for want in [
            "Configuration:".to_string(),
            "                    Name: workers".into(),
            "               Pull Mode: true".into(),
            "          Deliver Policy: All".into(),
            "              Ack Policy: Explicit".into(),
            "                Ack Wait: 2.00s".into(),
            "Cluster Information:".into(),
            "State:".into(),
            format!("  Last Delivered Message: Consumer sequence: {dc} Stream sequence: {ds}"),
            format!("    Acknowledgment Floor: Consumer sequence: {ac} Stream sequence: {as_}"),
            "    Unprocessed Messages: 0".into(),
            format!("           Waiting Pulls: {} of maximum 512", row(&panel, "Waiting pulls")),
            format!(
                "        Outstanding Acks: {} out of maximum 1,000",
                row(&panel, "Pending acks").split(':').next().unwrap_or("?")
            ),
        ] {
            assert!(out.contains(&want), "missing {want:?} in\n{out}");
        }
        eprintln!("{out}");
        // next: two messages acknowledged; the ack floor moves.
        c.run(&mut s, "worker1: nats consumer next JOBS workers --count 2", true).expect("runs");
        run_to(&mut s, &mut c, 14 * SEC);
        let (out, err) = last_out(&c);
        eprintln!("{out}");
        assert!(!err || out.contains("no message received"), "{out}");
        // rm, then info: natscli's error.
        c.run(&mut s, "nats consumer rm JOBS workers -f", true).expect("runs");
        run_to(&mut s, &mut c, 14 * SEC + 100_000_000);
        assert_eq!(last_out(&c), (String::new(), false));
        c.run(&mut s, "nats consumer info JOBS workers", true).expect("runs");
        run_to(&mut s, &mut c, 14 * SEC + 200_000_000);
        assert_eq!(
            last_out(&c),
            ("nats: error: could not load Consumer JOBS > workers: consumer not found (10014)".to_string(), true)
        );
        c.run(&mut s, "nats consumer ls JOBS", true).expect("runs");
        run_to(&mut s, &mut c, 14 * SEC + 300_000_000);
        assert_eq!(last_out(&c), ("No Consumers defined".to_string(), false));
    }

    #[test]
    fn next_acks_and_the_ack_floor_moves() {
        // The example without its workers' pulls: the console's pull is the first.
        let text = crate::examples::find("pull-consumer").expect("example").text;
        let text: String =
            text.lines().filter(|l| !l.contains("nats consumer next")).map(|l| format!("{l}\n")).collect();
        let mut s = Session::build(&text, None).expect("builds");
        let mut c = Console::default();
        run_to(&mut s, &mut c, 6 * SEC);
        let floor = |s: &Session| pair(row(&consumer_rows(&consumer_info_lines(&s.world, "JOBS")), "Ack floor"));
        assert_eq!(floor(&s), (0, 0));
        c.run(&mut s, "worker1: nats consumer next JOBS workers --count 2", true).expect("runs");
        run_to(&mut s, &mut c, 6 * SEC + 100_000_000);
        let (out, err) = last_out(&c);
        assert!(!err, "{out}");
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines[0].starts_with("[00:00:06.0")
                && lines[0].ends_with("] subj: jobs.new / tries: 1 / cons seq: 1 / str seq: 1 / pending: 39"),
            "{out}"
        );
        assert_eq!(&lines[1..5], ["", "job 1", "", "Acknowledged message"], "{out}");
        assert!(lines.iter().any(|l| l.ends_with("cons seq: 2 / str seq: 2 / pending: 38")), "{out}");
        assert_eq!(out.matches("Acknowledged message").count(), 2, "{out}");
        assert_eq!(floor(&s), (2, 2));
    }

    #[test]
    fn sub_on_a_push_consumer_shows_the_ack_reply_and_metadata() {
        let mut s = session("pull-consumer");
        let mut c = Console::default();
        run_to(&mut s, &mut c, 6 * SEC);
        c.run(&mut s, "nats consumer add JOBS pusher --target out.jobs --ack explicit --deliver all", true)
            .expect("runs");
        run_to(&mut s, &mut c, 6 * SEC + 100_000_000);
        let (out, err) = last_out(&c);
        assert!(!err, "{out}");
        assert!(out.starts_with("Information for Consumer JOBS > pusher created "), "{out}");
        assert!(out.contains("        Delivery Subject: out.jobs"), "{out}");
        assert!(out.contains("         Active Interest: No interest"), "{out}");
        assert_eq!(complete(&s.world, "nats sub out"), ["nats sub out.jobs"]);
        c.run(&mut s, "worker2: nats sub out.jobs --count 3", true).expect("runs");
        run_to(&mut s, &mut c, 7 * SEC);
        let (out, err) = last_out(&c);
        assert!(!err, "{out}");
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].ends_with("Subscribing on out.jobs"), "{out}");
        assert!(lines[1].starts_with("[#1] Received on \"jobs.new\" with reply \"$JS.ACK.JOBS.pusher.1.1.1."), "{out}");
        assert_eq!(
            lines[2], "  JetStream: stream: JOBS consumer: pusher / tries: 1 / cons seq: 1 / str seq: 1 / pending: 39",
            "{out}"
        );
        assert_eq!(lines[3], "job 1", "{out}");
        assert_eq!(out.matches("Received on").count(), 3, "{out}");
    }

    #[test]
    fn go_durations_and_commas_as_natscli() {
        assert_eq!(go_duration(30 * SEC), "30.00s");
        assert_eq!(go_duration(125 * SEC), "2m5s");
        assert_eq!(go_duration(1_500_000), "2ms");
        assert_eq!(comma(1234567), "1,234,567");
        assert_eq!(comma(999), "999");
    }

    #[test]
    fn ibytes_like_humanize() {
        assert_eq!(ibytes(0), "0 B");
        assert_eq!(ibytes(1023), "1023 B");
        assert_eq!(ibytes(1536), "1.5 KiB");
        assert_eq!(ibytes(20 * 1024 * 1024), "20 MiB");
    }
}
