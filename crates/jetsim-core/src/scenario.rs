//! The scenario file format, version 1: topology, clients and a timed script.
//!
//! The AST below is what the rest of the core consumes; [`parse`] turns text
//! into it. Every error names the line. Hard limits ([`Limits`]) refuse absurd
//! scenarios with a clear message instead of exhausting memory.

use crate::vecmap::{VecMap as BTreeMap, VecSet as BTreeSet}; // sorted-Vec maps: smaller wasm (see vecmap.rs)

use crate::time::{Dur, Time};

/// Hard limits on what a scenario may ask for.
#[derive(Clone, Debug)]
pub struct Limits {
    pub max_bytes: usize,
    pub max_lines: usize,
    pub max_servers: usize,
    pub max_clusters: usize,
    pub max_clients: usize,
    pub max_link_rules: usize,
    pub max_steps: usize,
    /// Upper bound on `--count` of one command and on the sum over the script.
    pub max_messages: u64,
    pub max_payload: usize,
    pub max_duration: Dur,
    pub max_name_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 256 * 1024,
            max_lines: 5_000,
            max_servers: 32,
            max_clusters: 8,
            max_clients: 64,
            max_link_rules: 256,
            max_steps: 2_000,
            max_messages: 1_000_000,
            max_payload: 1024 * 1024,
            max_duration: 24 * crate::time::HOUR,
            max_name_len: 64,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub version: u32,
    pub name: String,
    pub description: String,
    /// Default seed when the command line gives none.
    pub seed: Option<u64>,
    /// Default run length when the command line gives none.
    pub until: Option<Time>,
    pub clusters: Vec<ClusterDef>,
    pub servers: Vec<ServerDef>,
    pub clients: Vec<ClientDef>,
    pub links: Vec<LinkRule>,
    pub script: Vec<Step>,
    /// `raft_timescale N/D`: every JetStream Raft timing (election timeout,
    /// heartbeat, lost-quorum check, ...) is multiplied by N/D. `None` = 1/1.
    pub raft_timescale: Option<(u64, u64)>,
}

/// When a JetStream server fsyncs its Raft logs (nats `sync_interval`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncSetting {
    /// `sync_interval=always`: every write is synced before it is acknowledged.
    Always,
    /// `sync_interval=<duration>` (nats default 2m): writes are acknowledged
    /// from the page cache and synced every interval.
    Interval(Dur),
}

/// nats-server's default `sync_interval`.
pub const DEFAULT_SYNC_INTERVAL: Dur = 120 * crate::time::SEC;

impl Default for SyncSetting {
    fn default() -> Self {
        SyncSetting::Interval(DEFAULT_SYNC_INTERVAL)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ClusterDef {
    pub name: String,
    pub region: Option<String>,
    pub line: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ServerDef {
    pub name: String,
    pub cluster: String,
    pub az: Option<String>,
    /// Region: the server's own, else its cluster's.
    pub region: Option<String>,
    /// Server tags as nats-server `server_tags` (e.g. `ssd`); `az:<x>` and
    /// `region:<x>` tags are added from `az` / `region` by the parser.
    pub tags: Vec<String>,
    pub jetstream: bool,
    pub max_payload: u32,
    /// `sync_interval=always|<duration>` (JetStream servers; default 2m).
    pub sync: SyncSetting,
    /// `unique_tag=<prefix>` (nats `jetstream{unique_tag}`), e.g. `az:`.
    pub unique_tag: Option<String>,
    pub line: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ClientDef {
    pub name: String,
    /// Servers to connect to, in order (reconnects rotate through them).
    pub servers: Vec<String>,
    pub echo: bool,
    pub headers: bool,
    pub no_responders: bool,
    pub line: u32,
}

/// Which endpoints a link rule applies to.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Selector {
    /// Every endpoint (`default`, or `*`).
    Any,
    /// A server or client by name.
    Node(String),
    Az(String),
    Region(String),
    Cluster(String),
    /// All clients' links to their servers (`clients`).
    Clients,
}

#[derive(Clone, Debug, PartialEq)]
pub enum LatencySpec {
    Fixed(Dur),
    /// Uniform in `[lo, hi]`.
    Uniform(Dur, Dur),
    /// Pareto: `min / U^(1/alpha)`, capped at `cap` (long tail). `alpha_milli` is alpha × 1000.
    Pareto {
        min: Dur,
        alpha_milli: u32,
        cap: Dur,
    },
}

impl LatencySpec {
    /// `latency ± jitter` as the scenario's `latency=D jitter=J` means it:
    /// fixed when `jitter` is 0, else uniform from `latency - jitter`
    /// (floored at 0) to `latency + jitter`; `None` when the top is beyond
    /// `max`.
    pub fn with_jitter(latency: Dur, jitter: Dur, max: Dur) -> Option<LatencySpec> {
        if jitter == 0 {
            return Some(LatencySpec::Fixed(latency));
        }
        let hi = latency.checked_add(jitter).filter(|h| *h <= max)?;
        Some(LatencySpec::Uniform(latency.saturating_sub(jitter), hi))
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct LinkRule {
    pub a: Selector,
    pub b: Selector,
    pub latency: LatencySpec,
    pub line: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub at: Time,
    pub line: u32,
    pub action: Action,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Client {
        client: String,
        cmd: ClientCmd,
    },
    Fault(Fault),
    /// Narration shown in the event log and transcript.
    Note(String),
}

#[derive(Clone, Debug, PartialEq)]
pub enum ClientCmd {
    /// `nats pub <subject> [body] [--count N] [--sleep D] [-H K:V]... [--reply R]`
    /// The body may contain `{{Count}}` (1-based message number), as the nats CLI.
    Pub { subject: String, body: String, headers: Vec<(String, String)>, count: u64, sleep: Dur, reply: Option<String> },
    /// `nats sub <subject> [--queue Q] [--count N]`
    Sub { subject: String, queue: Option<String>, count: Option<u64> },
    /// `nats unsub <subject>`: drop this client's subscriptions on the subject.
    Unsub { subject: String },
    /// `nats req <subject> [body] [--count N] [--timeout D] [--sleep D] [-H K:V]...`
    Req { subject: String, body: String, headers: Vec<(String, String)>, count: u64, timeout: Dur, sleep: Dur },
    /// `nats reply <subject> [body] [--queue Q]`: answer every request with the body
    /// (the nats CLI's default queue group is `NATS-RPLY-22`).
    Reply { subject: String, body: String, queue: Option<String> },
    /// `nats pub <subject> [body] --jetstream [--count N] [--sleep D] [--timeout D] [-H K:V]...`:
    /// publish as a request and wait for the PubAck (one at a time, as the nats CLI).
    JsPub { subject: String, body: String, headers: Vec<(String, String)>, count: u64, sleep: Dur, timeout: Dur },
    /// `nats stream ...`
    Stream(StreamCmd),
    /// `nats consumer ...`
    Consumer(ConsumerCmd),
}

// ---------------------------------------------------------------------------
// Consumers (`nats consumer ...`), kept together here.

/// `nats consumer` subcommands.
#[derive(Clone, Debug, PartialEq)]
pub enum ConsumerCmd {
    /// `nats consumer add STREAM NAME [--pull | --target SUBJ] [--ack explicit|all|none]
    /// [--deliver all|last|new] [--filter S]... [--max-deliver N] [--wait D] [--max-pending N]`
    /// (a durable consumer; the nats CLI's defaults: pull, explicit acks, deliver all).
    Add {
        stream: String,
        name: String,
        target: Option<String>,
        ack: String,
        deliver: String,
        filters: Vec<String>,
        max_deliver: Option<i64>,
        ack_wait: Option<Dur>,
        max_pending: Option<i64>,
    },
    /// `nats consumer info STREAM NAME`
    Info { stream: String, name: String },
    /// `nats consumer rm STREAM NAME -f`
    Rm { stream: String, name: String },
    /// `nats consumer ls STREAM`
    Ls { stream: String },
    /// `nats consumer next STREAM NAME [--count N] [--no-ack]`: pull N messages
    /// (acknowledging each unless --no-ack), as the nats CLI does.
    Next { stream: String, name: String, count: u64, ack: bool },
    /// `nats consumer cluster step-down STREAM NAME`: the consumer's Raft
    /// group elects another leader.
    StepDown { stream: String, name: String },
}

const F_TARGET: Flag = Flag { long: "target", short: None, repeat: false };
const F_ACK: Flag = Flag { long: "ack", short: None, repeat: false };
const F_DELIVER: Flag = Flag { long: "deliver", short: None, repeat: false };
const F_FILTER: Flag = Flag { long: "filter", short: None, repeat: true };
const F_MAX_DELIVER: Flag = Flag { long: "max-deliver", short: None, repeat: false };
const F_WAIT: Flag = Flag { long: "wait", short: None, repeat: false };
const F_MAX_PENDING: Flag = Flag { long: "max-pending", short: None, repeat: false };

/// `nats consumer <add|info|rm|ls|next|cluster step-down> ...`
fn parse_consumer(args: &[String], limits: &Limits) -> Result<ClientCmd, String> {
    const KNOWN: &str = "add, info, rm, ls, next, cluster step-down";
    let Some(verb) = args.first() else {
        return Err(format!("missing subcommand after \"nats consumer\": known subcommands are {KNOWN}"));
    };
    let rest = args.get(1..).unwrap_or_default();
    let (force, rest) = take_switch(rest, &["-f", "--force"]);
    let (_, rest) = take_switch(&rest, &["--defaults"]);
    let names = |a: &CmdArgs, usage: &str| -> Result<(String, String), String> {
        let pos = a.take(usage, &["stream name", "consumer name"], 0)?;
        let (stream, name) = (pos[0].clone(), pos[1].clone());
        check_stream_name(&stream)?;
        check_stream_name(&name).map_err(|e| e.replace("stream name", "consumer name"))?;
        Ok((stream, name))
    };
    let cmd = match verb.as_str() {
        "add" | "create" | "new" => {
            const USAGE: &str = "nats consumer add STREAM NAME [--pull | --target SUBJ] [--ack explicit|all|none] [--deliver all|last|new] [--filter S]... [--max-deliver N] [--wait D] [--max-pending N]";
            let (_, rest) = take_switch(&rest, &["--pull"]);
            let a = parse_flags(
                "consumer add",
                &rest,
                &[F_TARGET, F_ACK, F_DELIVER, F_FILTER, F_MAX_DELIVER, F_WAIT, F_MAX_PENDING],
            )?;
            let (stream, name) = names(&a, USAGE)?;
            let (mut target, mut ack, mut deliver, mut filters) =
                (None, "explicit".to_string(), "all".to_string(), Vec::new());
            let (mut max_deliver, mut ack_wait, mut max_pending) = (None, None, None);
            for (f, v) in &a.flags {
                match *f {
                    "target" => {
                        check_publish_subject(v).map_err(|e| format!("--target: {e}"))?;
                        target = Some(v.clone());
                    }
                    "ack" => {
                        if !["explicit", "all", "none"].contains(&v.as_str()) {
                            return Err(format!("--ack {v}: ack is explicit, all or none"));
                        }
                        ack = v.clone();
                    }
                    "deliver" => {
                        if !["all", "last", "new"].contains(&v.as_str()) {
                            return Err(format!("--deliver {v}: deliver is all, last or new"));
                        }
                        deliver = v.clone();
                    }
                    "filter" => {
                        check_subject(v).map_err(|e| format!("--filter: {e}"))?;
                        filters.push(v.clone());
                    }
                    "max-deliver" => max_deliver = Some(parse_limit("--max-deliver", v)?),
                    "wait" => ack_wait = Some(parse_dur("--wait", v, limits)?),
                    "max-pending" => max_pending = Some(parse_limit("--max-pending", v)?),
                    _ => {}
                }
            }
            ConsumerCmd::Add { stream, name, target, ack, deliver, filters, max_deliver, ack_wait, max_pending }
        }
        "info" => {
            let (stream, name) = names(&parse_flags("consumer info", &rest, &[])?, "nats consumer info STREAM NAME")?;
            ConsumerCmd::Info { stream, name }
        }
        "rm" | "delete" | "del" => {
            let (stream, name) = names(&parse_flags("consumer rm", &rest, &[])?, "nats consumer rm STREAM NAME -f")?;
            if !force {
                return Err("nats consumer rm needs -f here (the simulated CLI cannot ask for confirmation)".into());
            }
            ConsumerCmd::Rm { stream, name }
        }
        "ls" | "list" => {
            let pos = parse_flags("consumer ls", &rest, &[])?.take("nats consumer ls STREAM", &["stream name"], 0)?;
            check_stream_name(&pos[0])?;
            ConsumerCmd::Ls { stream: pos[0].clone() }
        }
        "next" => {
            const USAGE: &str = "nats consumer next STREAM NAME [--count N] [--no-ack]";
            let (no_ack, rest) = take_switch(&rest, &["--no-ack"]);
            let a = parse_flags("consumer next", &rest, &[F_COUNT])?;
            let (stream, name) = names(&a, USAGE)?;
            let mut count = 1;
            for (f, v) in &a.flags {
                if *f == "count" {
                    count = parse_count(v, limits)?;
                }
            }
            ConsumerCmd::Next { stream, name, count, ack: !no_ack }
        }
        "cluster" => {
            const USAGE: &str = "nats consumer cluster step-down STREAM NAME";
            if !matches!(rest.first().map(String::as_str), Some("step-down") | Some("stepdown")) {
                return Err(format!("usage: {USAGE}"));
            }
            let a = parse_flags("consumer cluster step-down", rest.get(1..).unwrap_or_default(), &[])?;
            let (stream, name) = names(&a, USAGE)?;
            ConsumerCmd::StepDown { stream, name }
        }
        other => return Err(format!("unknown command \"nats consumer {other}\": known subcommands are {KNOWN}")),
    };
    Ok(ClientCmd::Consumer(cmd))
}

fn consumer_to_text(cc: &ConsumerCmd) -> String {
    let d = |v: Dur| fmt_dur(v);
    match cc {
        ConsumerCmd::Add { stream, name, target, ack, deliver, filters, max_deliver, ack_wait, max_pending } => {
            let mut out = format!("nats consumer add {stream} {name}");
            match target {
                Some(t) => out.push_str(&format!(" --target {}", quote(t))),
                None => out.push_str(" --pull"),
            }
            out.push_str(&format!(" --ack {ack} --deliver {deliver}"));
            for f in filters {
                out.push_str(&format!(" --filter {}", quote(f)));
            }
            if let Some(n) = max_deliver {
                out.push_str(&format!(" --max-deliver {n}"));
            }
            if let Some(w) = ack_wait {
                out.push_str(&format!(" --wait {}", d(*w)));
            }
            if let Some(n) = max_pending {
                out.push_str(&format!(" --max-pending {n}"));
            }
            out
        }
        ConsumerCmd::Info { stream, name } => format!("nats consumer info {stream} {name}"),
        ConsumerCmd::Rm { stream, name } => format!("nats consumer rm {stream} {name} -f"),
        ConsumerCmd::Ls { stream } => format!("nats consumer ls {stream}"),
        ConsumerCmd::StepDown { stream, name } => format!("nats consumer cluster step-down {stream} {name}"),
        ConsumerCmd::Next { stream, name, count, ack } => {
            let mut out = format!("nats consumer next {stream} {name}");
            if *count != 1 {
                out.push_str(&format!(" --count {count}"));
            }
            if !ack {
                out.push_str(" --no-ack");
            }
            out
        }
    }
}

// End of the consumer block.
// ---------------------------------------------------------------------------

/// `nats stream` subcommands.
#[derive(Clone, Debug, PartialEq)]
pub enum StreamCmd {
    /// `nats stream add NAME --subjects S[,S] --replicas R --storage file|memory
    /// [--max-msgs N] [--max-bytes N] [--max-age D] [--discard old|new] [--tag T]...`
    Add {
        name: String,
        subjects: Vec<String>,
        replicas: u32,
        memory: bool,
        max_msgs: Option<i64>,
        max_bytes: Option<i64>,
        max_age: Option<Dur>,
        discard_new: bool,
        tags: Vec<String>,
    },
    /// `nats stream info NAME`
    Info { name: String },
    /// `nats stream rm NAME -f`
    Rm { name: String },
    /// `nats stream purge NAME -f`
    Purge { name: String },
    /// `nats stream ls`
    Ls,
    /// `nats stream cluster step-down NAME`
    StepDown { name: String },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Crash a server: volatile state lost, connections closed.
    Kill(String),
    /// Power loss of a server: like kill, and its disks keep only what was
    /// fsynced (unsynced JetStream writes are lost).
    PowerLoss(String),
    Restart(String),
    /// Freeze a process: nothing processed, inbound queued until resume.
    Pause(String),
    Resume(String),
    /// Cut every link between the groups (each group a list of selectors), both ways.
    Partition(Vec<Vec<Selector>>),
    /// Cut links from the first group to the second only.
    PartitionOneWay(Vec<Selector>, Vec<Selector>),
    /// Cut a server (and its clients' links stay) from every other server.
    Isolate(String),
    /// Split the servers by AZ (`split az`) or region (`split region`).
    SplitBy(SplitKey),
    /// Heal every partition (`heal`), or only between the selected endpoints.
    Heal(Option<(Selector, Selector)>),
    /// Change a link's latency at run time (both directions).
    Latency(Selector, Selector, LatencySpec),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitKey {
    Az,
    Region,
}

/// A parse error: the 1-based line and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub line: u32,
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.message)
        } else {
            write!(f, "line {}: {}", self.line, self.message)
        }
    }
}

impl std::error::Error for ParseError {}

/// Parse a scenario with the default [`Limits`].
pub fn parse(text: &str) -> Result<Scenario, ParseError> {
    parse_with_limits(text, &Limits::default())
}

/// The only format version this parser reads.
pub const FORMAT_VERSION: u32 = 1;
/// The cluster servers join when the scenario has no `cluster` line.
pub const IMPLICIT_CLUSTER: &str = "nats";
/// The implicit cluster's name before 2026-11-27, still taken when a text
/// without cluster lines names it (see `finish`).
pub const LEGACY_IMPLICIT_CLUSTER: &str = "c1";
/// The queue group `nats reply` joins unless `--queue` says otherwise (as the nats CLI).
pub const DEFAULT_REPLY_QUEUE: &str = "NATS-RPLY-22";
/// How long `nats req` waits for a reply unless `--timeout` says otherwise (the nats CLI's default).
pub const DEFAULT_REQUEST_TIMEOUT: Dur = 5 * crate::time::SEC;
/// A server's `max_payload` unless `max_payload=` says otherwise (nats-server's default, 1MB).
pub const DEFAULT_MAX_PAYLOAD: u32 = 1024 * 1024;
/// The `nats` subcommands a client step may use, as listed in error messages.
pub const NATS_COMMANDS: &str = "pub, sub, unsub, req, reply, stream, consumer";
/// Names that are link selectors and so cannot name a server or client.
const RESERVED_NAMES: [&str; 2] = ["default", "clients"];
const TOP_LEVEL_WORDS: &str =
    "jetsim, name, description, seed, until, raft_timescale, cluster, server, client, link, at <time> or +<duration>";
const ACTION_WORDS: &str =
    "<client>: nats ..., kill, power-loss, restart, pause, resume, partition, isolate, split, heal, latency or note";

/// Parse a scenario, refusing anything beyond `limits`.
///
/// Syntax errors are reported line by line, top to bottom; references (a
/// client's server, a selector's AZ, a step's client, ...) are checked once the
/// whole file is read, so declarations may appear in any order.
pub fn parse_with_limits(text: &str, limits: &Limits) -> Result<Scenario, ParseError> {
    if text.len() > limits.max_bytes {
        return Err(perr(0, format!("scenario is {} bytes; the limit is {} bytes", text.len(), limits.max_bytes)));
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let n_lines = text.lines().count();
    if n_lines > limits.max_lines {
        return Err(perr(
            line_no(limits.max_lines.saturating_add(1)),
            format!("scenario has {n_lines} lines; the limit is {} lines", limits.max_lines),
        ));
    }
    let mut p = FileParser::new(limits);
    for (i, raw) in text.split('\n').enumerate() {
        let ln = line_no(i.saturating_add(1));
        p.line(ln, raw.strip_suffix('\r').unwrap_or(raw))?;
    }
    p.finish()
}

/// Parse a client command such as `nats pub orders.new "hi" --count 3`, with
/// the default [`Limits`] (the words before it, like `at 1s c1:`, are not part
/// of it). The playground console and the scenario parser share this code.
pub fn parse_client_command(line: &str) -> Result<ClientCmd, String> {
    parse_client_command_with_limits(line, &Limits::default())
}

/// [`parse_client_command`] with explicit limits.
pub fn parse_client_command_with_limits(line: &str, limits: &Limits) -> Result<ClientCmd, String> {
    let toks = tokenize(line)?;
    parse_nats(&toks, limits)
}

/// Parse one action as typed in the playground console, e.g.
/// `c1: nats pub orders.new hi`, `kill n2`, `partition n1 | n2 n3`, and check
/// every name it uses against `scenario`. The same code parses the action part
/// of a script step.
pub fn parse_action_line(line: &str, scenario: &Scenario, limits: &Limits) -> Result<Action, String> {
    let toks = tokenize(line)?;
    if toks.is_empty() {
        return Err(format!("empty command: expected {ACTION_WORDS}"));
    }
    let action = parse_action(&toks, limits)?;
    Topology::of(scenario).check_action(&action)?;
    Ok(action)
}

/// Parse a whole step line, `at <time> <action>` or `+<duration> <action>`
/// (relative to `prev`, the time of the previous step), and check it against
/// `scenario`. Time order is not checked here (the script parser does that).
pub fn parse_step_line(line: &str, prev: Time, scenario: &Scenario, limits: &Limits) -> Result<(Time, Action), String> {
    let toks = tokenize(line)?;
    let (at, action) = parse_step(&toks, prev, limits)?;
    Topology::of(scenario).check_action(&action)?;
    Ok((at, action))
}

fn perr(line: u32, message: impl Into<String>) -> ParseError {
    ParseError { line, message: message.into() }
}

/// A 1-based line number as `u32`, saturating (identical on 32- and 64-bit).
fn line_no(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

// ---------------------------------------------------------------------------
// Tokens

/// Split a line into words the way a POSIX shell does (without expansions):
/// whitespace separates words; `'...'` is literal; `"..."` allows the escapes
/// `\"`, `\\`, `\n`, `\t`, `\r` and `\'` (any other backslash is kept as is);
/// outside quotes a backslash makes the next character literal; a `#` at the
/// start of a word starts a comment. Adjacent quoted and bare parts join into
/// one word (`a"b c"` is `ab c`), and `""` is an empty word.
pub fn tokenize(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        match chars.peek() {
            None | Some('#') => break,
            Some(_) => {}
        }
        let mut tok = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                break;
            }
            chars.next();
            match c {
                '"' => loop {
                    match chars.next() {
                        None => return Err("unterminated double quote: a \" has no closing \"".into()),
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            None => return Err("unterminated double quote: a \" has no closing \"".into()),
                            Some('n') => tok.push('\n'),
                            Some('t') => tok.push('\t'),
                            Some('r') => tok.push('\r'),
                            Some(e @ ('"' | '\\' | '\'')) => tok.push(e),
                            Some(other) => {
                                tok.push('\\');
                                tok.push(other);
                            }
                        },
                        Some(other) => tok.push(other),
                    }
                },
                '\'' => loop {
                    match chars.next() {
                        None => return Err("unterminated single quote: a ' has no closing '".into()),
                        Some('\'') => break,
                        Some(other) => tok.push(other),
                    }
                },
                '\\' => match chars.next() {
                    None => return Err("a line cannot end with a backslash".into()),
                    Some(other) => tok.push(other),
                },
                other => tok.push(other),
            }
        }
        out.push(tok);
    }
    Ok(out)
}

/// Characters that never need quoting in a word.
fn is_bare_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "._-:/*>,=@%+^~!{}".contains(c)
}

/// Quote `s` so that [`tokenize`] reads it back as exactly one word equal to `s`.
pub fn quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(is_bare_char) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len().saturating_add(2));
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            other => out.push(other),
        }
    }
    out.push('"');
    out
}

/// Always double-quoted (for `name`, `description`, `note`).
fn quote_always(s: &str) -> String {
    let q = quote(s);
    if q.starts_with('"') {
        q
    } else {
        format!("\"{q}\"")
    }
}

/// Re-join words split inside parentheses: `pareto(100ms,` `2.5)` becomes
/// `pareto(100ms,2.5)`, so latency specs may contain spaces.
fn join_parens(toks: &[String]) -> Result<Vec<String>, String> {
    let mut out = Vec::with_capacity(toks.len());
    let mut acc: Option<String> = None;
    for t in toks {
        if let Some(a) = acc.as_mut() {
            a.push_str(t);
            if t.contains(')') {
                if let Some(done) = acc.take() {
                    out.push(done);
                }
            }
        } else if t.contains('(') && !t.contains(')') {
            acc = Some(t.clone());
        } else {
            out.push(t.clone());
        }
    }
    if let Some(a) = acc {
        return Err(format!("{a:?} has no closing ')'"));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Values

/// Check a server, client, cluster, AZ or region name: 1 to `max_name_len`
/// characters among letters, digits, `_` and `-`.
fn check_name(kind: &str, s: &str, limits: &Limits) -> Result<(), String> {
    if s.is_empty() {
        return Err(format!("{kind} name is empty"));
    }
    if let Some(c) = s.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-')) {
        return Err(format!("{kind} name {s:?} contains {c:?}: names use only letters, digits, '_' and '-'"));
    }
    if s.chars().count() > limits.max_name_len {
        return Err(format!("{kind} name {s:?} is longer than {} characters", limits.max_name_len));
    }
    Ok(())
}

fn check_node_name(kind: &str, s: &str, limits: &Limits) -> Result<(), String> {
    check_name(kind, s, limits)?;
    if RESERVED_NAMES.contains(&s) {
        return Err(format!("{s:?} cannot be a {kind} name: it is a link selector"));
    }
    Ok(())
}

fn parse_bool(key: &str, v: &str) -> Result<bool, String> {
    match v {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!("{key}= must be true or false, found {v:?}")),
    }
}

/// Parse a byte size as the nats-server configuration does: a whole number
/// with an optional, case-insensitive unit: `K`/`M`/`G` are powers of 1000,
/// `KB`/`MB`/`GB` (and `KiB`/`MiB`/`GiB`) powers of 1024, `B` or nothing is bytes.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    if num.is_empty() {
        return Err(format!("size {s:?} has no number (sizes look like 512, 64KB or 1MB)"));
    }
    let mult: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" => 1_000,
        "kb" | "ki" | "kib" => 1 << 10,
        "m" => 1_000_000,
        "mb" | "mi" | "mib" => 1 << 20,
        "g" => 1_000_000_000,
        "gb" | "gi" | "gib" => 1 << 30,
        _ => return Err(format!("size {s:?} has unknown unit {unit:?} (use B, K, KB, M, MB, G or GB)")),
    };
    num.parse::<u64>().ok().and_then(|n| n.checked_mul(mult)).ok_or_else(|| format!("size {s:?} is too large"))
}

fn fmt_size(n: u64) -> String {
    if n != 0 && n.is_multiple_of(1 << 20) {
        format!("{}MB", n >> 20)
    } else if n != 0 && n.is_multiple_of(1 << 10) {
        format!("{}KB", n >> 10)
    } else {
        n.to_string()
    }
}

/// Format a duration for scenario text and messages: whole hours and minutes
/// as `24h` / `90m`, anything else as [`crate::time::fmt_duration`] does.
/// [`crate::time::parse_duration`] reads every form back.
pub fn fmt_dur(d: Dur) -> String {
    use crate::time::{HOUR, MIN};
    if d != 0 && d.is_multiple_of(HOUR) {
        format!("{}h", d / HOUR)
    } else if d != 0 && d.is_multiple_of(MIN) {
        format!("{}m", d / MIN)
    } else {
        crate::time::fmt_duration(d)
    }
}

/// A duration no longer than `limits.max_duration`; `what` names it in errors.
fn parse_dur(what: &str, s: &str, limits: &Limits) -> Result<Dur, String> {
    let d = crate::time::parse_duration(s).map_err(|e| format!("{what}: {e}"))?;
    if d > limits.max_duration {
        return Err(format!("{what} {s} is beyond the limit of {}", fmt_dur(limits.max_duration)));
    }
    Ok(d)
}

/// A `--count`: a whole number from 1 to `limits.max_messages`.
fn parse_count(s: &str, limits: &Limits) -> Result<u64, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("--count must be a whole number of at least 1, found {s:?}"));
    }
    match s.parse::<u64>() {
        Ok(0) => Err("--count must be at least 1".into()),
        Ok(n) if n <= limits.max_messages => Ok(n),
        _ => Err(format!("--count {s} exceeds the limit of {} messages per scenario", limits.max_messages)),
    }
}

/// Pareto alpha as thousandths: `2.5` is 2500. From 0.001 to 100, at most 3 decimals.
fn parse_alpha(s: &str) -> Result<u32, String> {
    let bad =
        || format!("pareto alpha must be a number from 0.001 to 100 with at most 3 decimals, like 2.5; found {s:?}");
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 3
        || int.len() > 3
    {
        return Err(bad());
    }
    let int: u32 = if int.is_empty() { 0 } else { int.parse().map_err(|_| bad())? };
    let mut milli = int.checked_mul(1000).ok_or_else(bad)?;
    let mut scale = 100;
    for b in frac.bytes() {
        milli += u32::from(b - b'0') * scale;
        scale /= 10;
    }
    if milli == 0 || milli > 100_000 {
        return Err(bad());
    }
    Ok(milli)
}

fn fmt_alpha(milli: u32) -> String {
    let (int, frac) = (milli / 1000, milli % 1000);
    if frac == 0 {
        return int.to_string();
    }
    let mut f = format!("{frac:03}");
    while f.ends_with('0') {
        f.pop();
    }
    format!("{int}.{f}")
}

/// Parse a latency: a duration (`5ms`), `uniform(lo,hi)` or
/// `pareto(min,alpha[,cap])` (cap defaults to 10 × min). `jitter` turns a fixed
/// latency `d` into `uniform(d-jitter, d+jitter)` (clamped at 0).
pub fn parse_latency(s: &str, jitter: Option<Dur>, limits: &Limits) -> Result<LatencySpec, String> {
    let spec = if let Some((func, rest)) = s.split_once('(') {
        let Some(inner) = rest.strip_suffix(')') else {
            return Err(format!("latency {s:?} must end with ')'"));
        };
        let args: Vec<&str> = inner.split(',').map(str::trim).collect();
        match func {
            "uniform" => {
                let [lo, hi] = args[..] else {
                    return Err(format!("uniform takes two durations, like uniform(2ms,4ms); found {s:?}"));
                };
                let lo = parse_dur("uniform lower bound", lo, limits)?;
                let hi = parse_dur("uniform upper bound", hi, limits)?;
                if lo > hi {
                    return Err(format!("in {s:?} the lower bound is above the upper bound"));
                }
                LatencySpec::Uniform(lo, hi)
            }
            "pareto" => {
                let (min, alpha, cap) = match args[..] {
                    [m, a] => (m, a, None),
                    [m, a, c] => (m, a, Some(c)),
                    _ => {
                        return Err(format!(
                            "pareto takes a minimum, an alpha and an optional cap, like pareto(100ms,2.5) or pareto(100ms,2.5,2s); found {s:?}"
                        ))
                    }
                };
                let min = parse_dur("pareto minimum", min, limits)?;
                if min == 0 {
                    return Err("pareto minimum must be more than 0".into());
                }
                let alpha_milli = parse_alpha(alpha)?;
                let cap = match cap {
                    Some(c) => parse_dur("pareto cap", c, limits)?,
                    None => match min.checked_mul(10) {
                        Some(c) if c <= limits.max_duration => c,
                        _ => {
                            return Err(format!(
                                "the default pareto cap (10 × {}) is beyond the limit of {}; give a cap: pareto(min,alpha,cap)",
                                fmt_dur(min),
                                fmt_dur(limits.max_duration)
                            ))
                        }
                    },
                };
                if cap < min {
                    return Err(format!("in {s:?} the cap is below the minimum"));
                }
                LatencySpec::Pareto { min, alpha_milli, cap }
            }
            other => {
                return Err(format!(
                    "unknown latency distribution {other:?}: use a duration like 5ms, uniform(lo,hi) or pareto(min,alpha[,cap])"
                ))
            }
        }
    } else {
        LatencySpec::Fixed(parse_dur("latency", s, limits)?)
    };
    match (jitter, spec) {
        (None, spec) | (Some(0), spec @ LatencySpec::Fixed(_)) => Ok(spec),
        (Some(j), LatencySpec::Fixed(d)) => LatencySpec::with_jitter(d, j, limits.max_duration)
            .ok_or_else(|| format!("latency plus jitter is beyond the limit of {}", fmt_dur(limits.max_duration))),
        (Some(_), _) => Err("jitter= applies only to a fixed latency like 5ms".into()),
    }
}

/// The scenario text of a latency spec.
pub fn latency_text(l: &LatencySpec) -> String {
    let d = fmt_dur;
    match l {
        LatencySpec::Fixed(x) => d(*x),
        LatencySpec::Uniform(lo, hi) => format!("uniform({},{})", d(*lo), d(*hi)),
        LatencySpec::Pareto { min, alpha_milli, cap } => {
            if min.checked_mul(10) == Some(*cap) {
                format!("pareto({},{})", d(*min), fmt_alpha(*alpha_milli))
            } else {
                format!("pareto({},{},{})", d(*min), fmt_alpha(*alpha_milli), d(*cap))
            }
        }
    }
}

/// Parse a selector: `default` or `*`, `clients`, `az:X`, `region:X`,
/// `cluster:X`, or a server or client name. Names are not checked to exist.
pub fn parse_selector(s: &str, limits: &Limits) -> Result<Selector, String> {
    match s {
        "default" | "*" => return Ok(Selector::Any),
        "clients" => return Ok(Selector::Clients),
        _ => {}
    }
    if let Some((kind, name)) = s.split_once(':') {
        let (label, make): (&str, fn(String) -> Selector) = match kind {
            "az" => ("AZ", Selector::Az),
            "region" => ("region", Selector::Region),
            "cluster" => ("cluster", Selector::Cluster),
            _ => {
                return Err(format!(
                    "unknown selector {s:?}: a selector is default, *, clients, a server or client name, az:X, region:X or cluster:X"
                ))
            }
        };
        check_name(label, name, limits)?;
        return Ok(make(name.to_string()));
    }
    if s.is_empty() || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(format!(
            "invalid selector {s:?}: a selector is default, *, clients, a server or client name, az:X, region:X or cluster:X"
        ));
    }
    check_name("server or client", s, limits)?;
    Ok(Selector::Node(s.to_string()))
}

/// The scenario text of a selector.
pub fn selector_text(s: &Selector) -> String {
    match s {
        Selector::Any => "*".into(),
        Selector::Node(n) => n.clone(),
        Selector::Az(a) => format!("az:{a}"),
        Selector::Region(r) => format!("region:{r}"),
        Selector::Cluster(c) => format!("cluster:{c}"),
        Selector::Clients => "clients".into(),
    }
}

/// `sel` alone when `other` is `Any` (the one-selector form), else both.
fn selector_pair_text(a: &Selector, b: &Selector) -> String {
    if *b == Selector::Any {
        selector_text(a)
    } else {
        format!("{} {}", selector_text(a), selector_text(b))
    }
}

/// `key=value` options: each key once, each among `allowed`.
fn parse_opts<'t>(what: &str, toks: &'t [String], allowed: &[&str]) -> Result<Vec<(&'t str, &'t str)>, String> {
    let list = || allowed.iter().map(|a| format!("{a}=")).collect::<Vec<_>>().join(", ");
    let mut out: Vec<(&str, &str)> = Vec::new();
    for t in toks {
        let Some((k, v)) = t.split_once('=') else {
            return Err(format!("unexpected {t:?} in {what}: options are written key=value ({})", list()));
        };
        if k.is_empty() {
            return Err(format!("stray {t:?} in {what}: write key=value without spaces around '='"));
        }
        if !allowed.contains(&k) {
            return Err(format!("unknown option {k}= in {what}: allowed options are {}", list()));
        }
        if out.iter().any(|(k2, _)| *k2 == k) {
            return Err(format!("option {k}= is given twice"));
        }
        out.push((k, v));
    }
    Ok(out)
}

fn opt<'a>(opts: &[(&str, &'a str)], key: &str) -> Option<&'a str> {
    opts.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

// ---------------------------------------------------------------------------
// Client commands (nats CLI syntax)

#[derive(Clone, Copy)]
struct Flag {
    long: &'static str,
    short: Option<char>,
    repeat: bool,
}

const F_COUNT: Flag = Flag { long: "count", short: None, repeat: false };
const F_SLEEP: Flag = Flag { long: "sleep", short: None, repeat: false };
const F_HEADER: Flag = Flag { long: "header", short: Some('H'), repeat: true };
const F_REPLY: Flag = Flag { long: "reply", short: None, repeat: false };
const F_QUEUE: Flag = Flag { long: "queue", short: None, repeat: false };
const F_QUEUE_Q: Flag = Flag { long: "queue", short: Some('q'), repeat: false };
const F_TIMEOUT: Flag = Flag { long: "timeout", short: None, repeat: false };

fn flag_list(flags: &[Flag]) -> String {
    if flags.is_empty() {
        return "none".into();
    }
    flags
        .iter()
        .map(|f| match f.short {
            Some(c) => format!("-{c}/--{}", f.long),
            None => format!("--{}", f.long),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The arguments of one `nats` subcommand: positionals and flag values in order.
struct CmdArgs {
    positionals: Vec<String>,
    flags: Vec<(&'static str, String)>,
}

/// Split `args` into positionals and flags like the nats CLI (flags anywhere,
/// `--flag V`, `--flag=V`, `-H V`, `-HV`; `--` ends the flags).
fn parse_flags(cmd: &str, args: &[String], flags: &[Flag]) -> Result<CmdArgs, String> {
    let mut out = CmdArgs { positionals: Vec::new(), flags: Vec::new() };
    let mut only_positionals = false;
    let mut i = 0;
    while let Some(a) = args.get(i) {
        i += 1;
        if only_positionals || a == "-" || !a.starts_with('-') {
            out.positionals.push(a.clone());
            continue;
        }
        if a == "--" {
            only_positionals = true;
            continue;
        }
        let unknown = |shown: &str| {
            format!(
                "unknown flag {shown} for \"nats {cmd}\": allowed flags are {} (put -- before an argument that starts with '-')",
                flag_list(flags)
            )
        };
        let (flag, inline) = if let Some(long) = a.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let f = flags.iter().find(|f| f.long == name).ok_or_else(|| unknown(&format!("--{name}")))?;
            (f, inline)
        } else {
            let mut cs = a.chars();
            cs.next(); // the '-'
            let c = cs.next().unwrap_or('-');
            let tail = cs.as_str();
            let f = flags.iter().find(|f| f.short == Some(c)).ok_or_else(|| unknown(&format!("-{c}")))?;
            let inline = if tail.is_empty() { None } else { Some(tail.strip_prefix('=').unwrap_or(tail).to_string()) };
            (f, inline)
        };
        let value = match inline {
            Some(v) => v,
            None => {
                let v = args.get(i).ok_or_else(|| format!("flag --{} needs a value", flag.long))?;
                i += 1;
                v.clone()
            }
        };
        if !flag.repeat && out.flags.iter().any(|(l, _)| *l == flag.long) {
            return Err(format!("flag --{} is given twice", flag.long));
        }
        out.flags.push((flag.long, value));
    }
    Ok(out)
}

impl CmdArgs {
    /// The positionals: at least `required.len()`, at most that plus `optional.len()`.
    fn take(&self, usage: &str, required: &[&str], optional: usize) -> Result<Vec<String>, String> {
        if let Some(missing) = required.get(self.positionals.len()) {
            return Err(format!("missing {missing}: usage: {usage}"));
        }
        if let Some(extra) = self.positionals.get(required.len() + optional) {
            return Err(format!("unexpected argument {extra:?}: usage: {usage} (quote a body that contains spaces)"));
        }
        Ok(self.positionals.clone())
    }
}

fn check_subject(s: &str) -> Result<(), String> {
    if crate::subject::is_valid_subject(s) {
        Ok(())
    } else {
        Err(format!(
            "invalid subject {s:?}: a subject is non-empty tokens separated by '.', without spaces ('*' and a final '>' are wildcards)"
        ))
    }
}

fn check_publish_subject(s: &str) -> Result<(), String> {
    check_subject(s)?;
    if crate::subject::is_valid_publish_subject(s) {
        Ok(())
    } else {
        Err(format!("cannot publish to {s:?}: a publish subject cannot contain the wildcards '*' or '>'"))
    }
}

fn check_queue(q: &str) -> Result<(), String> {
    if q.is_empty() || q.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("invalid queue group {q:?}: a queue group is a non-empty word without spaces"));
    }
    Ok(())
}

/// A header `K:V` as the nats CLI reads `-H`: split at the first ':', both sides trimmed.
fn parse_header(s: &str) -> Result<(String, String), String> {
    let Some((k, v)) = s.split_once(':') else {
        return Err(format!("header {s:?} must be written K:V, like -H Trace-Id:42"));
    };
    let (k, v) = (k.trim(), v.trim());
    if k.is_empty() || !k.chars().all(|c| c.is_ascii_graphic() && c != ':') {
        return Err(format!("header name {k:?} must be printable ASCII without spaces or ':'"));
    }
    if v.contains(['\r', '\n']) {
        return Err(format!("header {k} has a line break in its value"));
    }
    Ok((k.to_string(), v.to_string()))
}

fn check_payload(body: &str, headers: &[(String, String)], limits: &Limits) -> Result<(), String> {
    let size = headers
        .iter()
        .fold(body.len(), |acc, (k, v)| acc.saturating_add(k.len()).saturating_add(v.len()).saturating_add(4));
    if size > limits.max_payload {
        return Err(format!("message is {size} bytes; the limit is {} bytes", limits.max_payload));
    }
    Ok(())
}

/// Parse `nats <command> ...` (the words after `c1:` in a step).
fn parse_nats(toks: &[String], limits: &Limits) -> Result<ClientCmd, String> {
    match toks.first().map(String::as_str) {
        Some("nats") => {}
        Some(other) => {
            return Err(format!(
                "expected a nats command, found {other:?}: client commands look like: nats pub <subject> [body]"
            ))
        }
        None => return Err("expected a nats command, like: nats pub <subject> [body]".into()),
    }
    let Some(sub) = toks.get(1) else {
        return Err(format!("missing command after \"nats\": known commands are {NATS_COMMANDS}"));
    };
    let args = toks.get(2..).unwrap_or_default();
    // One arm per command; `nats stream ...` and `nats consumer ...` go here.
    match sub.as_str() {
        "pub" | "publish" => parse_pub(args, limits),
        "sub" | "subscribe" => parse_sub(args, limits),
        "unsub" | "unsubscribe" => parse_unsub(args),
        "req" | "request" => parse_req(args, limits),
        "reply" => parse_reply(args, limits),
        "stream" | "str" => parse_stream(args, limits),
        "consumer" | "con" => parse_consumer(args, limits),
        other => Err(format!("unknown command \"nats {other}\": known commands are {NATS_COMMANDS}")),
    }
}

/// Remove boolean switches (`--jetstream`, `-f`, ...) from `args`: whether one was there.
fn take_switch(args: &[String], names: &[&str]) -> (bool, Vec<String>) {
    let mut found = false;
    let mut rest = Vec::with_capacity(args.len());
    let mut only_pos = false;
    for a in args {
        if !only_pos && a == "--" {
            only_pos = true;
        }
        if !only_pos && names.contains(&a.as_str()) {
            found = true;
        } else {
            rest.push(a.clone());
        }
    }
    (found, rest)
}

fn parse_pub(args: &[String], limits: &Limits) -> Result<ClientCmd, String> {
    let (js, args) = take_switch(args, &["--jetstream", "-J"]);
    if js {
        return parse_js_pub(&args, limits);
    }
    let args = &args[..];
    const USAGE: &str = "nats pub <subject> [body] [--count N] [--sleep D] [-H K:V]... [--reply R]";
    let a = parse_flags("pub", args, &[F_COUNT, F_SLEEP, F_HEADER, F_REPLY])?;
    let pos = a.take(USAGE, &["subject"], 1)?;
    let subject = pos.first().cloned().unwrap_or_default();
    let body = pos.get(1).cloned().unwrap_or_default();
    check_publish_subject(&subject)?;
    let (mut count, mut sleep, mut headers, mut reply) = (1, 0, Vec::new(), None);
    for (f, v) in &a.flags {
        match *f {
            "count" => count = parse_count(v, limits)?,
            "sleep" => sleep = parse_dur("--sleep", v, limits)?,
            "header" => headers.push(parse_header(v)?),
            "reply" => {
                check_publish_subject(v).map_err(|e| format!("--reply: {e}"))?;
                reply = Some(v.clone());
            }
            _ => {}
        }
    }
    check_payload(&body, &headers, limits)?;
    Ok(ClientCmd::Pub { subject, body, headers, count, sleep, reply })
}

fn parse_js_pub(args: &[String], limits: &Limits) -> Result<ClientCmd, String> {
    const USAGE: &str = "nats pub <subject> [body] --jetstream [--count N] [--sleep D] [--timeout D] [-H K:V]...";
    let a = parse_flags("pub", args, &[F_COUNT, F_SLEEP, F_HEADER, F_TIMEOUT])?;
    let pos = a.take(USAGE, &["subject"], 1)?;
    let subject = pos.first().cloned().unwrap_or_default();
    let body = pos.get(1).cloned().unwrap_or_default();
    check_publish_subject(&subject)?;
    let (mut count, mut sleep, mut headers, mut timeout) = (1, 0, Vec::new(), DEFAULT_REQUEST_TIMEOUT);
    for (f, v) in &a.flags {
        match *f {
            "count" => count = parse_count(v, limits)?,
            "sleep" => sleep = parse_dur("--sleep", v, limits)?,
            "header" => headers.push(parse_header(v)?),
            "timeout" => {
                timeout = parse_dur("--timeout", v, limits)?;
                if timeout == 0 {
                    return Err("--timeout must be more than 0".into());
                }
            }
            _ => {}
        }
    }
    check_payload(&body, &headers, limits)?;
    Ok(ClientCmd::JsPub { subject, body, headers, count, sleep, timeout })
}

const F_SUBJECTS: Flag = Flag { long: "subjects", short: None, repeat: true };
const F_REPLICAS: Flag = Flag { long: "replicas", short: None, repeat: false };
const F_STORAGE: Flag = Flag { long: "storage", short: None, repeat: false };
const F_MAX_MSGS: Flag = Flag { long: "max-msgs", short: None, repeat: false };
const F_MAX_BYTES: Flag = Flag { long: "max-bytes", short: None, repeat: false };
const F_MAX_AGE: Flag = Flag { long: "max-age", short: None, repeat: false };
const F_DISCARD: Flag = Flag { long: "discard", short: None, repeat: false };
const F_TAG: Flag = Flag { long: "tag", short: None, repeat: true };

/// `nats stream <add|info|rm|purge|ls|cluster step-down> ...`
fn parse_stream(args: &[String], limits: &Limits) -> Result<ClientCmd, String> {
    const KNOWN: &str = "add, info, rm, purge, ls, cluster step-down";
    let Some(verb) = args.first() else {
        return Err(format!("missing subcommand after \"nats stream\": known subcommands are {KNOWN}"));
    };
    let rest = args.get(1..).unwrap_or_default();
    let (force, rest) = take_switch(rest, &["-f", "--force"]);
    let (_, rest) = take_switch(&rest, &["--defaults"]);
    let name_of = |a: &CmdArgs, usage: &str| -> Result<String, String> {
        let pos = a.take(usage, &["stream name"], 0)?;
        let name = pos.first().cloned().unwrap_or_default();
        check_stream_name(&name)?;
        Ok(name)
    };
    let cmd = match verb.as_str() {
        "add" | "create" | "new" => {
            const USAGE: &str = "nats stream add NAME --subjects S --replicas R --storage file|memory [--max-msgs N] [--max-bytes N] [--max-age D] [--discard old|new] [--tag T]...";
            let a = parse_flags(
                "stream add",
                &rest,
                &[F_SUBJECTS, F_REPLICAS, F_STORAGE, F_MAX_MSGS, F_MAX_BYTES, F_MAX_AGE, F_DISCARD, F_TAG],
            )?;
            let name = name_of(&a, USAGE)?;
            let (
                mut subjects,
                mut replicas,
                mut memory,
                mut max_msgs,
                mut max_bytes,
                mut max_age,
                mut discard_new,
                mut tags,
            ) = (Vec::new(), 1u32, false, None, None, None, false, Vec::new());
            for (f, v) in &a.flags {
                match *f {
                    "subjects" => {
                        for s in v.split(',') {
                            check_subject(s)?;
                            subjects.push(s.to_string());
                        }
                    }
                    "replicas" => {
                        replicas = match v.parse::<u32>() {
                            Ok(r) if (1..=5).contains(&r) => r,
                            _ => return Err(format!("--replicas {v}: replicas are 1 to 5")),
                        }
                    }
                    "storage" => {
                        memory = match v.as_str() {
                            "file" | "f" => false,
                            "memory" | "m" => true,
                            _ => return Err(format!("--storage {v}: storage is file or memory")),
                        }
                    }
                    "max-msgs" => max_msgs = Some(parse_limit("--max-msgs", v)?),
                    "max-bytes" => {
                        max_bytes = Some(if v == "-1" {
                            -1
                        } else {
                            i64::try_from(parse_size(v).map_err(|e| format!("--max-bytes: {e}"))?).unwrap_or(i64::MAX)
                        })
                    }
                    "max-age" => max_age = Some(parse_dur("--max-age", v, limits)?),
                    "discard" => {
                        discard_new = match v.as_str() {
                            "old" => false,
                            "new" => true,
                            _ => return Err(format!("--discard {v}: discard is old or new")),
                        }
                    }
                    "tag" => {
                        check_tag(v, limits).map_err(|e| format!("--tag: {e}"))?;
                        tags.push(v.clone());
                    }
                    _ => {}
                }
            }
            StreamCmd::Add { name, subjects, replicas, memory, max_msgs, max_bytes, max_age, discard_new, tags }
        }
        "info" => StreamCmd::Info { name: name_of(&parse_flags("stream info", &rest, &[])?, "nats stream info NAME")? },
        "rm" | "delete" | "del" => {
            let name = name_of(&parse_flags("stream rm", &rest, &[])?, "nats stream rm NAME -f")?;
            if !force {
                return Err("nats stream rm needs -f here (the simulated CLI cannot ask for confirmation)".into());
            }
            StreamCmd::Rm { name }
        }
        "purge" => {
            let name = name_of(&parse_flags("stream purge", &rest, &[])?, "nats stream purge NAME -f")?;
            if !force {
                return Err("nats stream purge needs -f here (the simulated CLI cannot ask for confirmation)".into());
            }
            StreamCmd::Purge { name }
        }
        "ls" | "list" => {
            parse_flags("stream ls", &rest, &[])?.take("nats stream ls", &[], 0)?;
            StreamCmd::Ls
        }
        "cluster" => match rest.first().map(String::as_str) {
            Some("step-down") | Some("stepdown") => {
                let a = parse_flags("stream cluster step-down", rest.get(1..).unwrap_or_default(), &[])?;
                StreamCmd::StepDown { name: name_of(&a, "nats stream cluster step-down NAME")? }
            }
            _ => return Err("usage: nats stream cluster step-down NAME".into()),
        },
        other => return Err(format!("unknown command \"nats stream {other}\": known subcommands are {KNOWN}")),
    };
    Ok(ClientCmd::Stream(cmd))
}

/// A server tag or a stream placement tag (`--tag`): the same characters, so
/// a stream can ask for the `az:`/`region:` tags servers get from `az=`.
fn check_tag(t: &str, limits: &Limits) -> Result<(), String> {
    if t.is_empty() {
        return Err("a tag is empty".into());
    }
    if let Some(c) = t.chars().find(|c| !(c.is_ascii_alphanumeric() || "_-.:".contains(*c))) {
        return Err(format!("tag {t:?} contains {c:?}: tags use letters, digits, '_', '-', '.' and ':'"));
    }
    if t.chars().count() > limits.max_name_len {
        return Err(format!("tag {t:?} is longer than {} characters", limits.max_name_len));
    }
    Ok(())
}

fn parse_limit(flag: &str, v: &str) -> Result<i64, String> {
    match v.parse::<i64>() {
        Ok(n) if n >= -1 => Ok(n),
        _ => Err(format!("{flag} {v}: expected a whole number (-1 for unlimited)")),
    }
}

/// A stream name as nats-server accepts it (`isValidName`): no spaces,
/// wildcards, '.', '/' or '\\'.
fn check_stream_name(name: &str) -> Result<(), String> {
    if name.is_empty()
        || name.len() > 255
        || name.chars().any(|c| c.is_whitespace() || c.is_control() || "*>./\\".contains(c))
    {
        return Err(format!("invalid stream name {name:?}: no spaces, '.', '*', '>', '/' or '\\'"));
    }
    Ok(())
}

fn parse_sub(args: &[String], limits: &Limits) -> Result<ClientCmd, String> {
    const USAGE: &str = "nats sub <subject> [--queue Q] [--count N]";
    let a = parse_flags("sub", args, &[F_QUEUE, F_COUNT])?;
    let pos = a.take(USAGE, &["subject"], 0)?;
    let subject = pos.first().cloned().unwrap_or_default();
    check_subject(&subject)?;
    let (mut queue, mut count) = (None, None);
    for (f, v) in &a.flags {
        match *f {
            "queue" => {
                check_queue(v)?;
                queue = Some(v.clone());
            }
            "count" => count = Some(parse_count(v, limits)?),
            _ => {}
        }
    }
    Ok(ClientCmd::Sub { subject, queue, count })
}

fn parse_unsub(args: &[String]) -> Result<ClientCmd, String> {
    let a = parse_flags("unsub", args, &[])?;
    let pos = a.take("nats unsub <subject>", &["subject"], 0)?;
    let subject = pos.first().cloned().unwrap_or_default();
    check_subject(&subject)?;
    Ok(ClientCmd::Unsub { subject })
}

fn parse_req(args: &[String], limits: &Limits) -> Result<ClientCmd, String> {
    const USAGE: &str = "nats req <subject> [body] [--count N] [--timeout D] [--sleep D] [-H K:V]...";
    let a = parse_flags("req", args, &[F_COUNT, F_TIMEOUT, F_SLEEP, F_HEADER])?;
    let pos = a.take(USAGE, &["subject"], 1)?;
    let subject = pos.first().cloned().unwrap_or_default();
    let body = pos.get(1).cloned().unwrap_or_default();
    check_publish_subject(&subject)?;
    let (mut count, mut timeout, mut sleep, mut headers) = (1, DEFAULT_REQUEST_TIMEOUT, 0, Vec::new());
    for (f, v) in &a.flags {
        match *f {
            "count" => count = parse_count(v, limits)?,
            "timeout" => {
                timeout = parse_dur("--timeout", v, limits)?;
                if timeout == 0 {
                    return Err("--timeout must be more than 0".into());
                }
            }
            "sleep" => sleep = parse_dur("--sleep", v, limits)?,
            "header" => headers.push(parse_header(v)?),
            _ => {}
        }
    }
    check_payload(&body, &headers, limits)?;
    Ok(ClientCmd::Req { subject, body, headers, count, timeout, sleep })
}

fn parse_reply(args: &[String], limits: &Limits) -> Result<ClientCmd, String> {
    const USAGE: &str = "nats reply <subject> [body] [--queue Q]";
    let a = parse_flags("reply", args, &[F_QUEUE_Q])?;
    let pos = a.take(USAGE, &["subject"], 1)?;
    let subject = pos.first().cloned().unwrap_or_default();
    let body = pos.get(1).cloned().unwrap_or_default();
    check_subject(&subject)?;
    let mut queue = DEFAULT_REPLY_QUEUE.to_string();
    for (f, v) in &a.flags {
        if *f == "queue" {
            check_queue(v)?;
            queue = v.clone();
        }
    }
    check_payload(&body, &[], limits)?;
    Ok(ClientCmd::Reply { subject, body, queue: Some(queue) })
}

/// The `nats ...` text of a client command; [`parse_client_command`] reads it back.
pub fn client_cmd_text(cmd: &ClientCmd) -> String {
    let d = fmt_dur;
    // Positionals first; if one starts with '-', flags first and then `--`.
    fn assemble(cmd: &str, pos: &[&str], flags: &[String]) -> String {
        let mut out = format!("nats {cmd}");
        let dashed = pos.iter().any(|p| p.starts_with('-'));
        if dashed {
            for f in flags {
                out.push(' ');
                out.push_str(f);
            }
            out.push_str(" --");
        }
        for p in pos {
            out.push(' ');
            out.push_str(&quote(p));
        }
        if !dashed {
            for f in flags {
                out.push(' ');
                out.push_str(f);
            }
        }
        out
    }
    let hdrs = |headers: &[(String, String)], flags: &mut Vec<String>| {
        for (k, v) in headers {
            flags.push(format!("-H {}", quote(&format!("{k}:{v}"))));
        }
    };
    let body_pos = |subject: &'_ str, body: &'_ str| -> Vec<String> {
        if body.is_empty() {
            vec![subject.to_string()]
        } else {
            vec![subject.to_string(), body.to_string()]
        }
    };
    match cmd {
        ClientCmd::Pub { subject, body, headers, count, sleep, reply } => {
            let mut flags = Vec::new();
            if *count != 1 {
                flags.push(format!("--count {count}"));
            }
            if *sleep != 0 {
                flags.push(format!("--sleep {}", d(*sleep)));
            }
            hdrs(headers, &mut flags);
            if let Some(r) = reply {
                flags.push(format!("--reply {}", quote(r)));
            }
            let pos = body_pos(subject, body);
            assemble("pub", &pos.iter().map(String::as_str).collect::<Vec<_>>(), &flags)
        }
        ClientCmd::Sub { subject, queue, count } => {
            let mut flags = Vec::new();
            if let Some(q) = queue {
                flags.push(format!("--queue {}", quote(q)));
            }
            if let Some(c) = count {
                flags.push(format!("--count {c}"));
            }
            assemble("sub", &[subject], &flags)
        }
        ClientCmd::Unsub { subject } => assemble("unsub", &[subject], &[]),
        ClientCmd::Req { subject, body, headers, count, timeout, sleep } => {
            let mut flags = Vec::new();
            if *count != 1 {
                flags.push(format!("--count {count}"));
            }
            if *timeout != DEFAULT_REQUEST_TIMEOUT {
                flags.push(format!("--timeout {}", d(*timeout)));
            }
            if *sleep != 0 {
                flags.push(format!("--sleep {}", d(*sleep)));
            }
            hdrs(headers, &mut flags);
            let pos = body_pos(subject, body);
            assemble("req", &pos.iter().map(String::as_str).collect::<Vec<_>>(), &flags)
        }
        ClientCmd::Reply { subject, body, queue } => {
            let mut flags = Vec::new();
            if let Some(q) = queue.as_deref().filter(|q| *q != DEFAULT_REPLY_QUEUE) {
                flags.push(format!("--queue {}", quote(q)));
            }
            let pos = body_pos(subject, body);
            assemble("reply", &pos.iter().map(String::as_str).collect::<Vec<_>>(), &flags)
        }
        ClientCmd::JsPub { subject, body, headers, count, sleep, timeout } => {
            let mut flags = vec!["--jetstream".to_string()];
            if *count != 1 {
                flags.push(format!("--count {count}"));
            }
            if *sleep != 0 {
                flags.push(format!("--sleep {}", d(*sleep)));
            }
            if *timeout != DEFAULT_REQUEST_TIMEOUT {
                flags.push(format!("--timeout {}", d(*timeout)));
            }
            hdrs(headers, &mut flags);
            let pos = body_pos(subject, body);
            assemble("pub", &pos.iter().map(String::as_str).collect::<Vec<_>>(), &flags)
        }
        ClientCmd::Stream(sc) => match sc {
            StreamCmd::Add { name, subjects, replicas, memory, max_msgs, max_bytes, max_age, discard_new, tags } => {
                let mut out = format!("nats stream add {name}");
                if !subjects.is_empty() {
                    out.push_str(&format!(" --subjects {}", quote(&subjects.join(","))));
                }
                out.push_str(&format!(" --replicas {replicas} --storage {}", if *memory { "memory" } else { "file" }));
                if let Some(n) = max_msgs {
                    out.push_str(&format!(" --max-msgs {n}"));
                }
                if let Some(n) = max_bytes {
                    out.push_str(&format!(" --max-bytes {n}"));
                }
                if let Some(a) = max_age {
                    out.push_str(&format!(" --max-age {}", d(*a)));
                }
                if *discard_new {
                    out.push_str(" --discard new");
                }
                for t in tags {
                    out.push_str(&format!(" --tag {}", quote(t)));
                }
                out
            }
            StreamCmd::Info { name } => format!("nats stream info {name}"),
            StreamCmd::Rm { name } => format!("nats stream rm {name} -f"),
            StreamCmd::Purge { name } => format!("nats stream purge {name} -f"),
            StreamCmd::Ls => "nats stream ls".to_string(),
            StreamCmd::StepDown { name } => format!("nats stream cluster step-down {name}"),
        },
        ClientCmd::Consumer(cc) => consumer_to_text(cc),
    }
}

// ---------------------------------------------------------------------------
// Actions and steps

/// Parse `at <time> <action>` or `+<duration> <action>`; `prev` is the time of
/// the previous step (0 for the first).
fn parse_step(toks: &[String], prev: Time, limits: &Limits) -> Result<(Time, Action), String> {
    let head = toks.first().map(String::as_str).unwrap_or_default();
    let (at, rest) = if head == "at" {
        let t = toks.get(1).ok_or("missing time after \"at\", like: at 1s kill n2")?;
        (parse_dur("time", t, limits)?, toks.get(2..).unwrap_or_default())
    } else if let Some(rel) = head.strip_prefix('+') {
        if rel.is_empty() {
            return Err("missing duration after '+', like: +50ms c1: nats pub a.b hi".into());
        }
        let d = parse_dur("relative time", rel, limits)?;
        let at = prev
            .checked_add(d)
            .filter(|t| *t <= limits.max_duration)
            .ok_or_else(|| format!("{head} puts the step beyond the limit of {}", fmt_dur(limits.max_duration)))?;
        (at, toks.get(1..).unwrap_or_default())
    } else {
        return Err(format!("a step starts with \"at <time>\" or \"+<duration>\", found {head:?}"));
    };
    if rest.is_empty() {
        return Err(format!("missing action after the time: expected {ACTION_WORDS}"));
    }
    Ok((at, parse_action(rest, limits)?))
}

/// Parse an action (the part of a step after its time). Names are checked for
/// syntax only; [`Topology::check_action`] checks that they exist.
fn parse_action(toks: &[String], limits: &Limits) -> Result<Action, String> {
    let head = toks.first().map(String::as_str).unwrap_or_default();
    let args = toks.get(1..).unwrap_or_default();
    if let Some(client) = head.strip_suffix(':') {
        check_node_name("client", client, limits)?;
        let cmd = parse_nats(args, limits)?;
        return Ok(Action::Client { client: client.to_string(), cmd });
    }
    let one_server = |verb: &str| -> Result<String, String> {
        match args {
            [name] => {
                check_name("server", name, limits)?;
                Ok(name.clone())
            }
            _ => Err(format!("{verb} takes one server name, like: {verb} n1")),
        }
    };
    let fault = match head {
        "kill" => Fault::Kill(one_server("kill")?),
        "power-loss" => Fault::PowerLoss(one_server("power-loss")?),
        "restart" => Fault::Restart(one_server("restart")?),
        "pause" => Fault::Pause(one_server("pause")?),
        "resume" => Fault::Resume(one_server("resume")?),
        "isolate" => Fault::Isolate(one_server("isolate")?),
        "partition" => parse_partition(args, limits)?,
        "split" => match args {
            [k] if k == "az" => Fault::SplitBy(SplitKey::Az),
            [k] if k == "region" => Fault::SplitBy(SplitKey::Region),
            _ => return Err("split takes az or region, like: split az".into()),
        },
        "heal" => match args {
            [] => Fault::Heal(None),
            [a] => Fault::Heal(Some((parse_selector(a, limits)?, Selector::Any))),
            [a, b] => Fault::Heal(Some((parse_selector(a, limits)?, parse_selector(b, limits)?))),
            _ => {
                return Err("heal takes nothing (heal every partition) or one or two selectors, like: heal n1 n2".into())
            }
        },
        "latency" => {
            let (a, b, spec) = parse_link_args("latency", args, false, limits)?;
            Fault::Latency(a, b, spec)
        }
        "note" => {
            if args.is_empty() {
                return Err("note needs a text, like: note \"the leader is gone\"".into());
            }
            return Ok(Action::Note(args.join(" ")));
        }
        other => {
            let hint = if other.contains(':') {
                " (put a space after the client's ':', like: c1: nats pub a.b hi)"
            } else {
                ""
            };
            return Err(format!("unknown action {other:?}: expected {ACTION_WORDS}{hint}"));
        }
    };
    Ok(Action::Fault(fault))
}

/// `partition A B | C D` (both ways, two or more groups) or `partition A -> B` (one way).
fn parse_partition(args: &[String], limits: &Limits) -> Result<Fault, String> {
    const USAGE: &str = "partition n1 | n2 n3 (both ways) or partition n1 -> n2 (one way)";
    let mut groups: Vec<Vec<Selector>> = vec![Vec::new()];
    let (mut bars, mut arrows) = (0u32, 0u32);
    for t in args {
        let mut rest = t.as_str();
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix('|') {
                bars += 1;
                groups.push(Vec::new());
                rest = r;
            } else if let Some(r) = rest.strip_prefix("->") {
                arrows += 1;
                groups.push(Vec::new());
                rest = r;
            } else {
                let end = [rest.find('|'), rest.find("->")].into_iter().flatten().min().unwrap_or(rest.len());
                let (word, r) = rest.split_at(end);
                let sel = parse_selector(word, limits)?;
                if groups.iter().flatten().any(|s| *s == sel) {
                    return Err(format!("{word} appears twice in the partition"));
                }
                if let Some(g) = groups.last_mut() {
                    g.push(sel);
                }
                rest = r;
            }
        }
    }
    if bars > 0 && arrows > 0 {
        return Err(format!("a partition uses '|' or '->', not both: {USAGE}"));
    }
    if groups.len() < 2 {
        return Err(format!("partition needs at least two groups: {USAGE}"));
    }
    if groups.iter().any(Vec::is_empty) {
        return Err(format!("a partition group is empty: {USAGE}"));
    }
    if arrows > 1 {
        return Err(format!("a one-way partition has exactly two groups: {USAGE}"));
    }
    if arrows == 1 {
        let b = groups.pop().unwrap_or_default();
        let a = groups.pop().unwrap_or_default();
        return Ok(Fault::PartitionOneWay(a, b));
    }
    Ok(Fault::Partition(groups))
}

/// Shared by `link` lines and `latency` steps: one or two selectors (one means
/// "to anything"), a latency (as `latency=SPEC` when `keyed`, else the last
/// word) and an optional `jitter=D`.
fn parse_link_args(
    what: &str,
    args: &[String],
    keyed: bool,
    limits: &Limits,
) -> Result<(Selector, Selector, LatencySpec), String> {
    let usage = if keyed {
        "link <selector> [<selector>] latency=<latency> [jitter=<duration>], like: link n1 n2 latency=5ms"
    } else {
        "latency <selector> [<selector>] <latency> [jitter=<duration>], like: latency n1 n2 50ms"
    };
    let words = join_parens(args)?;
    let (opt_words, mut plain): (Vec<String>, Vec<String>) = words.into_iter().partition(|w| w.contains('='));
    let allowed: &[&str] = if keyed { &["latency", "jitter"] } else { &["jitter"] };
    let opts = parse_opts(what, &opt_words, allowed)?;
    let jitter = opt(&opts, "jitter").map(|j| parse_dur("jitter", j, limits)).transpose()?;
    let spec_text = if keyed {
        opt(&opts, "latency").ok_or_else(|| format!("missing latency=: {usage}"))?.to_string()
    } else {
        plain.pop().ok_or_else(|| format!("missing latency: {usage}"))?
    };
    let (a, b) = match &plain[..] {
        [a] => (parse_selector(a, limits)?, Selector::Any),
        [a, b] => (parse_selector(a, limits)?, parse_selector(b, limits)?),
        _ => return Err(format!("{what} takes one or two selectors: {usage}")),
    };
    if let (Selector::Node(x), Selector::Node(y)) = (&a, &b) {
        if x == y {
            return Err(format!("{what} joins two different endpoints, found {x} twice"));
        }
    }
    let spec = parse_latency(&spec_text, jitter, limits)?;
    Ok((a, b, spec))
}

/// The scenario text of an action (without its time); [`parse_action_line`] reads it back.
pub fn action_text(action: &Action) -> String {
    match action {
        Action::Client { client, cmd } => format!("{client}: {}", client_cmd_text(cmd)),
        Action::Note(n) => format!("note {}", quote_always(n)),
        Action::Fault(f) => match f {
            Fault::Kill(n) => format!("kill {n}"),
            Fault::PowerLoss(n) => format!("power-loss {n}"),
            Fault::Restart(n) => format!("restart {n}"),
            Fault::Pause(n) => format!("pause {n}"),
            Fault::Resume(n) => format!("resume {n}"),
            Fault::Isolate(n) => format!("isolate {n}"),
            Fault::Partition(groups) => {
                let gs: Vec<String> =
                    groups.iter().map(|g| g.iter().map(selector_text).collect::<Vec<_>>().join(" ")).collect();
                format!("partition {}", gs.join(" | "))
            }
            Fault::PartitionOneWay(a, b) => format!(
                "partition {} -> {}",
                a.iter().map(selector_text).collect::<Vec<_>>().join(" "),
                b.iter().map(selector_text).collect::<Vec<_>>().join(" ")
            ),
            Fault::SplitBy(SplitKey::Az) => "split az".into(),
            Fault::SplitBy(SplitKey::Region) => "split region".into(),
            Fault::Heal(None) => "heal".into(),
            Fault::Heal(Some((a, b))) => format!("heal {}", selector_pair_text(a, b)),
            Fault::Latency(a, b, spec) => format!("latency {} {}", selector_pair_text(a, b), latency_text(spec)),
        },
    }
}

/// How many messages an action publishes (for the per-scenario limit).
fn action_messages(action: &Action) -> u64 {
    match action {
        Action::Client {
            cmd: ClientCmd::Pub { count, .. } | ClientCmd::Req { count, .. } | ClientCmd::JsPub { count, .. },
            ..
        } => *count,
        _ => 0,
    }
}

// ---------------------------------------------------------------------------
// Name resolution

/// The names a scenario declares, for checking references.
struct Topology<'a> {
    servers: BTreeSet<&'a str>,
    clients: BTreeMap<&'a str, &'a ClientDef>,
    clusters: BTreeSet<&'a str>,
    azs: BTreeSet<&'a str>,
    regions: BTreeSet<&'a str>,
}

fn name_list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let all: Vec<&str> = names.into_iter().collect();
    if all.is_empty() {
        return "none declared".into();
    }
    let mut s = all.iter().take(10).copied().collect::<Vec<_>>().join(", ");
    if all.len() > 10 {
        s.push_str(", ...");
    }
    s
}

impl<'a> Topology<'a> {
    fn of(sc: &'a Scenario) -> Self {
        Topology {
            servers: sc.servers.iter().map(|s| s.name.as_str()).collect(),
            clients: sc.clients.iter().map(|c| (c.name.as_str(), c)).collect(),
            clusters: sc.clusters.iter().map(|c| c.name.as_str()).collect(),
            azs: sc.servers.iter().filter_map(|s| s.az.as_deref()).collect(),
            // A parsed server's region already includes its cluster's.
            regions: sc.servers.iter().filter_map(|s| s.region.as_deref()).collect(),
        }
    }

    fn check_server(&self, name: &str, verb: &str) -> Result<(), String> {
        if self.servers.contains(name) {
            Ok(())
        } else if self.clients.contains_key(name) {
            Err(format!("{name:?} is a client; {verb} takes a server"))
        } else {
            Err(format!("unknown server {name:?} (servers: {})", name_list(self.servers.iter().copied())))
        }
    }

    fn check_selector(&self, sel: &Selector) -> Result<(), String> {
        let (kind, name, set) = match sel {
            Selector::Any | Selector::Clients => return Ok(()),
            Selector::Node(n) => {
                if self.servers.contains(n.as_str()) || self.clients.contains_key(n.as_str()) {
                    return Ok(());
                }
                return Err(format!(
                    "unknown server or client {n:?} (servers: {}; clients: {})",
                    name_list(self.servers.iter().copied()),
                    name_list(self.clients.keys().copied())
                ));
            }
            Selector::Az(a) => ("AZ", a, &self.azs),
            Selector::Region(r) => ("region", r, &self.regions),
            Selector::Cluster(c) => ("cluster", c, &self.clusters),
        };
        if set.contains(name.as_str()) {
            Ok(())
        } else {
            Err(format!(
                "unknown {kind} {name:?} in selector {} (known: {})",
                selector_text(sel),
                name_list(set.iter().copied())
            ))
        }
    }

    fn check_action(&self, action: &Action) -> Result<(), String> {
        match action {
            Action::Note(_) => Ok(()),
            Action::Client { client, cmd } => {
                let Some(def) = self.clients.get(client.as_str()) else {
                    if self.servers.contains(client.as_str()) {
                        return Err(format!("{client:?} is a server; only clients run nats commands"));
                    }
                    return Err(format!(
                        "unknown client {client:?} (clients: {})",
                        name_list(self.clients.keys().copied())
                    ));
                };
                let has_headers = matches!(cmd, ClientCmd::Pub { headers, .. } | ClientCmd::Req { headers, .. } | ClientCmd::JsPub { headers, .. } if !headers.is_empty());
                if has_headers && !def.headers {
                    return Err(format!("client {client} has headers=false, so it cannot send -H headers"));
                }
                Ok(())
            }
            Action::Fault(f) => match f {
                Fault::Kill(n) => self.check_server(n, "kill"),
                Fault::PowerLoss(n) => self.check_server(n, "power-loss"),
                Fault::Restart(n) => self.check_server(n, "restart"),
                Fault::Pause(n) => self.check_server(n, "pause"),
                Fault::Resume(n) => self.check_server(n, "resume"),
                Fault::Isolate(n) => self.check_server(n, "isolate"),
                Fault::Partition(groups) => groups.iter().flatten().try_for_each(|s| self.check_selector(s)),
                Fault::PartitionOneWay(a, b) => a.iter().chain(b).try_for_each(|s| self.check_selector(s)),
                Fault::SplitBy(key) => {
                    let (kind, set) = match key {
                        SplitKey::Az => ("AZs", &self.azs),
                        SplitKey::Region => ("regions", &self.regions),
                    };
                    if set.len() < 2 {
                        return Err(format!(
                            "split needs servers in at least two {kind} (found: {})",
                            name_list(set.iter().copied())
                        ));
                    }
                    Ok(())
                }
                Fault::Heal(None) => Ok(()),
                Fault::Heal(Some((a, b))) | Fault::Latency(a, b, _) => {
                    self.check_selector(a)?;
                    self.check_selector(b)
                }
            },
        }
    }
}

// ---------------------------------------------------------------------------
// The file parser

struct FileParser<'l> {
    limits: &'l Limits,
    sc: Scenario,
    seen_version: bool,
    /// `cluster=` of each server as written (resolved in `finish`).
    server_cluster: Vec<Option<String>>,
    /// Servers and clients by name: the line that declared them.
    nodes: BTreeMap<String, u32>,
    /// Lines of `name`, `description`, `seed`, `until` (each at most once).
    header_lines: BTreeMap<&'static str, u32>,
    prev_time: Time,
    prev_step_line: u32,
    total_messages: u64,
}

impl<'l> FileParser<'l> {
    fn new(limits: &'l Limits) -> Self {
        FileParser {
            limits,
            sc: Scenario {
                version: FORMAT_VERSION,
                name: String::new(),
                description: String::new(),
                seed: None,
                until: None,
                clusters: Vec::new(),
                servers: Vec::new(),
                clients: Vec::new(),
                links: Vec::new(),
                script: Vec::new(),
                raft_timescale: None,
            },
            seen_version: false,
            server_cluster: Vec::new(),
            nodes: BTreeMap::new(),
            header_lines: BTreeMap::new(),
            prev_time: 0,
            prev_step_line: 0,
            total_messages: 0,
        }
    }

    fn line(&mut self, ln: u32, raw: &str) -> Result<(), ParseError> {
        let toks = tokenize(raw).map_err(|m| perr(ln, m))?;
        let Some(head) = toks.first() else { return Ok(()) };
        let args = toks.get(1..).unwrap_or_default();
        if !self.seen_version {
            if head != "jetsim" {
                return Err(perr(
                    ln,
                    format!("the first line must be the format version `jetsim {FORMAT_VERSION}`, found {head:?}"),
                ));
            }
            self.seen_version = true;
            return self.version(args).map_err(|m| perr(ln, m));
        }
        let r = match head.as_str() {
            "jetsim" => Err(format!("the version line `jetsim {FORMAT_VERSION}` may appear only once, at the top")),
            "name" | "description" | "seed" | "until" => self.header(ln, head, args),
            "raft_timescale" => self.timescale(ln, args),
            "cluster" => self.cluster(ln, args),
            "server" => self.server(ln, args),
            "client" => self.client(ln, args),
            "link" => self.link(ln, args),
            h if h == "at" || h.starts_with('+') => return self.step(ln, &toks),
            other => Err(format!("unknown line {other:?}: expected {TOP_LEVEL_WORDS}")),
        };
        r.map_err(|m| perr(ln, m))
    }

    fn version(&mut self, args: &[String]) -> Result<(), String> {
        let [v] = args else {
            return Err(format!("the version line is `jetsim {FORMAT_VERSION}`"));
        };
        if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("the scenario version must be a number, like `jetsim {FORMAT_VERSION}`; found {v:?}"));
        }
        if v.parse::<u32>().ok() != Some(FORMAT_VERSION) {
            return Err(format!("unsupported scenario version {v}: this jetsim reads version {FORMAT_VERSION}"));
        }
        Ok(())
    }

    /// `raft_timescale N/D` (or `raft_timescale N`).
    fn timescale(&mut self, ln: u32, args: &[String]) -> Result<(), String> {
        if let Some(prev) = self.header_lines.get("raft_timescale") {
            return Err(format!("raft_timescale is already given on line {prev}"));
        }
        let [v] = args else { return Err("raft_timescale takes one ratio, like: raft_timescale 1/10".into()) };
        let (n, d) = v.split_once('/').unwrap_or((v.as_str(), "1"));
        let num = |x: &str| x.parse::<u64>().ok().filter(|n| (1..=1000).contains(n));
        match (num(n), num(d)) {
            (Some(n), Some(d)) => self.sc.raft_timescale = Some((n, d)),
            _ => return Err(format!("raft_timescale {v}: write N/D with whole numbers from 1 to 1000, like 1/10")),
        }
        self.header_lines.insert("raft_timescale", ln);
        Ok(())
    }

    fn header(&mut self, ln: u32, head: &str, args: &[String]) -> Result<(), String> {
        let key: &'static str = match head {
            "name" => "name",
            "description" => "description",
            "seed" => "seed",
            _ => "until",
        };
        if let Some(prev) = self.header_lines.get(key) {
            return Err(format!("{key} is already given on line {prev}"));
        }
        match key {
            "name" | "description" => {
                if args.is_empty() {
                    return Err(format!("{key} needs a text, like: {key} \"...\""));
                }
                let text = args.join(" ");
                if key == "name" {
                    self.sc.name = text;
                } else {
                    self.sc.description = text;
                }
            }
            "seed" => {
                let [v] = args else { return Err("seed takes one number, like: seed 7".into()) };
                if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!("seed must be a whole number, found {v:?}"));
                }
                let s = v.parse::<u64>().map_err(|_| format!("seed {v} is larger than {}", u64::MAX))?;
                self.sc.seed = Some(s);
            }
            _ => {
                let [v] = args else { return Err("until takes one duration, like: until 10s".into()) };
                let d = parse_dur("until", v, self.limits)?;
                if d == 0 {
                    return Err("until must be more than 0s".into());
                }
                self.sc.until = Some(d);
            }
        }
        self.header_lines.insert(key, ln);
        Ok(())
    }

    fn cluster(&mut self, ln: u32, args: &[String]) -> Result<(), String> {
        if self.sc.clusters.len() >= self.limits.max_clusters {
            return Err(format!("too many clusters: the limit is {}", self.limits.max_clusters));
        }
        let Some((name, rest)) = args.split_first() else {
            return Err("cluster needs a name, like: cluster east region=us-east".into());
        };
        check_name("cluster", name, self.limits)?;
        if let Some(c) = self.sc.clusters.iter().find(|c| c.name == *name) {
            return Err(format!("cluster {name:?} is already declared on line {}", c.line));
        }
        let opts = parse_opts("cluster", rest, &["region"])?;
        let region = opt(&opts, "region").map(String::from);
        if let Some(r) = &region {
            check_name("region", r, self.limits)?;
        }
        self.sc.clusters.push(ClusterDef { name: name.clone(), region, line: ln });
        Ok(())
    }

    fn declare_node(&mut self, ln: u32, kind: &str, name: &str) -> Result<(), String> {
        check_node_name(kind, name, self.limits)?;
        if let Some(prev) = self.nodes.get(name) {
            return Err(format!(
                "the name {name:?} is already used on line {prev} (servers and clients share one set of names)"
            ));
        }
        self.nodes.insert(name.to_string(), ln);
        Ok(())
    }

    fn server(&mut self, ln: u32, args: &[String]) -> Result<(), String> {
        if self.sc.servers.len() >= self.limits.max_servers {
            return Err(format!("too many servers: the limit is {}", self.limits.max_servers));
        }
        let Some((name, rest)) = args.split_first() else {
            return Err("server needs a name, like: server n1 az=az1".into());
        };
        let opts = parse_opts(
            "server",
            rest,
            &["cluster", "az", "region", "tags", "max_payload", "jetstream", "sync_interval", "unique_tag"],
        )?;
        let name_opt = |key: &str, kind: &str| -> Result<Option<String>, String> {
            opt(&opts, key).map(|v| check_name(kind, v, self.limits).map(|_| v.to_string())).transpose()
        };
        let cluster = name_opt("cluster", "cluster")?;
        let az = name_opt("az", "AZ")?;
        let region = name_opt("region", "region")?;
        let mut tags: Vec<String> = Vec::new();
        if let Some(list) = opt(&opts, "tags") {
            for t in list.split(',') {
                if t.is_empty() {
                    return Err(format!("tags={list} has an empty tag: write tags=a,b"));
                }
                check_tag(t, self.limits)?;
                if t.starts_with("az:") || t.starts_with("region:") {
                    return Err(format!("tag {t:?} is added from az= and region=; give az= or region= instead"));
                }
                if tags.iter().any(|x| x == t) {
                    return Err(format!("tag {t:?} is given twice"));
                }
                tags.push(t.to_string());
            }
        }
        let max_payload = match opt(&opts, "max_payload") {
            None => DEFAULT_MAX_PAYLOAD,
            Some(v) => {
                let n = parse_size(v).map_err(|e| format!("max_payload: {e}"))?;
                let cap = u64::try_from(self.limits.max_payload).unwrap_or(u64::MAX).min(u64::from(u32::MAX));
                if n == 0 || n > cap {
                    return Err(format!("max_payload={v} must be from 1 byte to {} bytes", cap));
                }
                u32::try_from(n).unwrap_or(u32::MAX)
            }
        };
        let jetstream = opt(&opts, "jetstream").map(|v| parse_bool("jetstream", v)).transpose()?.unwrap_or(false);
        let sync = match opt(&opts, "sync_interval") {
            None => SyncSetting::default(),
            Some("always") => SyncSetting::Always,
            Some(v) => {
                let d = parse_dur("sync_interval", v, self.limits)?;
                if d == 0 {
                    return Err("sync_interval must be more than 0s (or always)".into());
                }
                SyncSetting::Interval(d)
            }
        };
        let unique_tag = match opt(&opts, "unique_tag") {
            None => None,
            Some(v) => {
                if v.is_empty() || v.chars().any(|c| !(c.is_ascii_alphanumeric() || "_-.:".contains(c))) {
                    return Err(format!("unique_tag={v:?}: a tag prefix like az:"));
                }
                Some(v.to_string())
            }
        };
        self.declare_node(ln, "server", name)?;
        self.server_cluster.push(cluster);
        self.sc.servers.push(ServerDef {
            name: name.clone(),
            cluster: String::new(),
            az,
            region,
            tags,
            jetstream,
            max_payload,
            sync,
            unique_tag,
            line: ln,
        });
        Ok(())
    }

    fn client(&mut self, ln: u32, args: &[String]) -> Result<(), String> {
        if self.sc.clients.len() >= self.limits.max_clients {
            return Err(format!("too many clients: the limit is {}", self.limits.max_clients));
        }
        let Some((name, rest)) = args.split_first() else {
            return Err("client needs a name, like: client c1 server=n1".into());
        };
        let opts = parse_opts("client", rest, &["server", "servers", "echo", "headers", "no_responders"])?;
        let servers: Vec<String> = match (opt(&opts, "server"), opt(&opts, "servers")) {
            (Some(_), Some(_)) => return Err("give server= or servers=, not both".into()),
            (None, None) => return Err(format!("client {name} needs server=<name> (or servers=n1,n2)")),
            (Some(s), None) => {
                check_name("server", s, self.limits)?;
                vec![s.to_string()]
            }
            (None, Some(list)) => {
                let mut v: Vec<String> = Vec::new();
                for s in list.split(',') {
                    check_name("server", s, self.limits)?;
                    if v.iter().any(|x| x == s) {
                        return Err(format!("server {s:?} is listed twice in servers="));
                    }
                    v.push(s.to_string());
                }
                v
            }
        };
        let flag = |key: &str| opt(&opts, key).map(|v| parse_bool(key, v)).transpose();
        let echo = flag("echo")?.unwrap_or(true);
        let headers = flag("headers")?.unwrap_or(true);
        let no_responders = flag("no_responders")?.unwrap_or(headers);
        if no_responders && !headers {
            return Err("no_responders=true needs headers=true (no-responders replies are headers)".into());
        }
        self.declare_node(ln, "client", name)?;
        self.sc.clients.push(ClientDef { name: name.clone(), servers, echo, headers, no_responders, line: ln });
        Ok(())
    }

    fn link(&mut self, ln: u32, args: &[String]) -> Result<(), String> {
        if self.sc.links.len() >= self.limits.max_link_rules {
            return Err(format!("too many link rules: the limit is {}", self.limits.max_link_rules));
        }
        let (a, b, latency) = parse_link_args("link", args, true, self.limits)?;
        self.sc.links.push(LinkRule { a, b, latency, line: ln });
        Ok(())
    }

    fn step(&mut self, ln: u32, toks: &[String]) -> Result<(), ParseError> {
        if self.sc.script.len() >= self.limits.max_steps {
            return Err(perr(ln, format!("too many steps: the limit is {}", self.limits.max_steps)));
        }
        let (at, action) = parse_step(toks, self.prev_time, self.limits).map_err(|m| perr(ln, m))?;
        if at < self.prev_time {
            return Err(perr(
                ln,
                format!(
                    "this step at {} comes before the step on line {} at {}: steps must be in time order",
                    fmt_dur(at),
                    self.prev_step_line,
                    fmt_dur(self.prev_time)
                ),
            ));
        }
        let total = self.total_messages.saturating_add(action_messages(&action));
        if total > self.limits.max_messages {
            return Err(perr(
                ln,
                format!(
                    "the script now asks for {total} messages; the limit is {} messages per scenario",
                    self.limits.max_messages
                ),
            ));
        }
        self.total_messages = total;
        self.prev_time = at;
        self.prev_step_line = ln;
        self.sc.script.push(Step { at, line: ln, action });
        Ok(())
    }

    fn finish(mut self) -> Result<Scenario, ParseError> {
        if !self.seen_version {
            return Err(perr(0, format!("empty scenario: the first line must be `jetsim {FORMAT_VERSION}`")));
        }
        if self.sc.servers.is_empty() {
            return Err(perr(0, "a scenario needs at least one server, like: server n1"));
        }
        let implicit = self.sc.clusters.is_empty();
        if implicit {
            // Texts written before 2026-11-27 knew the implicit cluster as
            // "c1": one that names it so (a server's cluster=, a link's
            // cluster: selector) keeps that name and keeps working.
            let legacy = self.server_cluster.iter().any(|c| c.as_deref() == Some(LEGACY_IMPLICIT_CLUSTER))
                || self.sc.links.iter().any(|l| {
                    [&l.a, &l.b].into_iter().any(|s| matches!(s, Selector::Cluster(c) if c == LEGACY_IMPLICIT_CLUSTER))
                });
            let name = if legacy { LEGACY_IMPLICIT_CLUSTER } else { IMPLICIT_CLUSTER };
            self.sc.clusters.push(ClusterDef { name: name.into(), region: None, line: 0 });
        }
        // Clusters, regions and the az:/region: tags.
        for (srv, cluster) in self.sc.servers.iter_mut().zip(&self.server_cluster) {
            let cdef = match cluster {
                Some(c) => self.sc.clusters.iter().find(|d| d.name == *c).ok_or_else(|| {
                    let known = if implicit {
                        format!("no cluster line declares it; without cluster lines every server is in cluster {IMPLICIT_CLUSTER:?}")
                    } else {
                        format!("clusters: {}", name_list(self.sc.clusters.iter().map(|c| c.name.as_str())))
                    };
                    perr(srv.line, format!("unknown cluster {c:?} ({known})"))
                })?,
                None => match &self.sc.clusters[..] {
                    [only] => only,
                    many => {
                        return Err(perr(
                            srv.line,
                            format!(
                                "server {} needs cluster=<name>: there are {} clusters ({})",
                                srv.name,
                                many.len(),
                                name_list(many.iter().map(|c| c.name.as_str()))
                            ),
                        ))
                    }
                },
            };
            srv.cluster = cdef.name.clone();
            if srv.region.is_none() {
                srv.region = cdef.region.clone();
            }
            if let Some(az) = &srv.az {
                srv.tags.push(format!("az:{az}"));
            }
            if let Some(r) = &srv.region {
                srv.tags.push(format!("region:{r}"));
            }
        }
        let topo = Topology::of(&self.sc);
        for c in &self.sc.clients {
            for s in &c.servers {
                topo.check_server(s, "a client's server=").map_err(|m| perr(c.line, m))?;
            }
        }
        for l in &self.sc.links {
            topo.check_selector(&l.a).map_err(|m| perr(l.line, m))?;
            topo.check_selector(&l.b).map_err(|m| perr(l.line, m))?;
        }
        for st in &self.sc.script {
            topo.check_action(&st.action).map_err(|m| perr(st.line, m))?;
        }
        Ok(self.sc)
    }
}

// ---------------------------------------------------------------------------
// The printer

/// Print a scenario in the version 1 format. For a scenario returned by
/// [`parse`], `parse(&to_text(&s))` gives back `s` except for line numbers
/// (and comments, which the AST does not keep). Every step is written with an
/// absolute `at` time.
pub fn to_text(s: &Scenario) -> String {
    let d = fmt_dur;
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "jetsim {}", s.version);
    if !s.name.is_empty() {
        let _ = writeln!(out, "name {}", quote_always(&s.name));
    }
    if !s.description.is_empty() {
        let _ = writeln!(out, "description {}", quote_always(&s.description));
    }
    if let Some(seed) = s.seed {
        let _ = writeln!(out, "seed {seed}");
    }
    if let Some(u) = s.until {
        let _ = writeln!(out, "until {}", d(u));
    }
    if let Some((n, dd)) = s.raft_timescale {
        let _ = writeln!(out, "raft_timescale {n}/{dd}");
    }
    out.push('\n');
    for c in &s.clusters {
        let _ = write!(out, "cluster {}", c.name);
        if let Some(r) = &c.region {
            let _ = write!(out, " region={r}");
        }
        out.push('\n');
    }
    for srv in &s.servers {
        let _ = write!(out, "server {} cluster={}", srv.name, srv.cluster);
        if let Some(az) = &srv.az {
            let _ = write!(out, " az={az}");
        }
        let cluster_region = s.clusters.iter().find(|c| c.name == srv.cluster).and_then(|c| c.region.as_ref());
        if let Some(r) = srv.region.as_ref().filter(|r| Some(*r) != cluster_region) {
            let _ = write!(out, " region={r}");
        }
        let tags: Vec<&str> = srv
            .tags
            .iter()
            .map(String::as_str)
            .filter(|t| !t.starts_with("az:") && !t.starts_with("region:"))
            .collect();
        if !tags.is_empty() {
            let _ = write!(out, " tags={}", tags.join(","));
        }
        if srv.max_payload != DEFAULT_MAX_PAYLOAD {
            let _ = write!(out, " max_payload={}", fmt_size(u64::from(srv.max_payload)));
        }
        if srv.jetstream {
            out.push_str(" jetstream=true");
        }
        match srv.sync {
            SyncSetting::Always => out.push_str(" sync_interval=always"),
            SyncSetting::Interval(i) if i != DEFAULT_SYNC_INTERVAL => {
                let _ = write!(out, " sync_interval={}", d(i));
            }
            SyncSetting::Interval(_) => {}
        }
        if let Some(u) = &srv.unique_tag {
            let _ = write!(out, " unique_tag={u}");
        }
        out.push('\n');
    }
    for c in &s.clients {
        let _ = write!(out, "client {}", c.name);
        if let [one] = &c.servers[..] {
            let _ = write!(out, " server={one}");
        } else {
            let _ = write!(out, " servers={}", c.servers.join(","));
        }
        if !c.echo {
            out.push_str(" echo=false");
        }
        if !c.headers {
            out.push_str(" headers=false");
        }
        if c.no_responders != c.headers {
            let _ = write!(out, " no_responders={}", c.no_responders);
        }
        out.push('\n');
    }
    for l in &s.links {
        let sel = if l.a == Selector::Any && l.b == Selector::Any {
            "default".to_string()
        } else {
            selector_pair_text(&l.a, &l.b)
        };
        let _ = writeln!(out, "link {sel} latency={}", latency_text(&l.latency));
    }
    if !s.script.is_empty() {
        out.push('\n');
    }
    for st in &s.script {
        let _ = writeln!(out, "at {} {}", d(st.at), action_text(&st.action));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{MS, SEC, US};

    const BASE: &str = "jetsim 1\nserver n1 az=a1\nserver n2 az=a2\nclient c1 server=n1\nclient c2 server=n2\n";
    /// Lines in BASE: an error on the first extra line is on line 6.
    const L: u32 = 6;

    fn ok(extra: &str) -> Scenario {
        let text = format!("{BASE}{extra}");
        match parse(&text) {
            Ok(s) => s,
            Err(e) => panic!("{e}\n--- text ---\n{text}"),
        }
    }

    #[track_caller]
    fn fails(text: &str, line: u32, phrase: &str) {
        match parse(text) {
            Ok(_) => panic!("expected an error containing {phrase:?} on line {line}, parsed fine:\n{text}"),
            Err(e) => {
                assert!(e.message.contains(phrase), "message {:?} lacks {phrase:?}", e.message);
                assert_eq!(e.line, line, "wrong line for {:?}", e.message);
            }
        }
    }

    #[track_caller]
    fn fails_extra(extra: &str, phrase: &str) {
        fails(&format!("{BASE}{extra}"), L, phrase);
    }

    fn action(extra: &str) -> Action {
        ok(extra).script.pop().expect("a step").action
    }

    fn cmd(line: &str) -> ClientCmd {
        match parse_client_command(line) {
            Ok(c) => c,
            Err(e) => panic!("{line}: {e}"),
        }
    }

    #[track_caller]
    fn cmd_err(line: &str, phrase: &str) {
        match parse_client_command(line) {
            Ok(c) => panic!("{line} parsed as {c:?}"),
            Err(e) => assert!(e.contains(phrase), "{e:?} lacks {phrase:?}"),
        }
    }

    fn node(s: &str) -> Selector {
        Selector::Node(s.into())
    }

    // --- version and header lines -------------------------------------

    #[test]
    fn minimal_scenario() {
        let s = parse("jetsim 1\nserver n1\n").unwrap();
        assert_eq!(s.version, 1);
        assert_eq!(s.name, "");
        assert_eq!(s.seed, None);
        assert_eq!(s.clusters, vec![ClusterDef { name: "nats".into(), region: None, line: 0 }]);
        let n1 = &s.servers[0];
        assert_eq!((n1.name.as_str(), n1.cluster.as_str(), n1.line), ("n1", "nats", 2));
        assert_eq!(n1.max_payload, 1024 * 1024);
        assert!(!n1.jetstream);
        assert!(n1.tags.is_empty());
    }

    #[test]
    fn comments_blank_lines_bom_and_crlf() {
        let s = parse("\u{feff}# a comment\n\n   # indented\njetsim 1 # version\r\nserver n1 # first\r\n").unwrap();
        assert_eq!(s.servers[0].line, 5);
    }

    #[test]
    fn version_errors() {
        fails("", 0, "empty scenario");
        fails("# only a comment\n\n", 0, "empty scenario");
        fails("server n1\n", 1, "the first line must be the format version `jetsim 1`");
        fails("# c\njetsim 2\nserver n1\n", 2, "unsupported scenario version 2: this jetsim reads version 1");
        fails("jetsim 99999999999999999999\n", 1, "unsupported scenario version 99999999999999999999");
        fails("jetsim one\n", 1, "must be a number");
        fails("jetsim\n", 1, "`jetsim 1`");
        fails("jetsim 1 2\n", 1, "`jetsim 1`");
        fails("jetsim 1\nserver n1\njetsim 1\n", 3, "only once");
    }

    #[test]
    fn needs_a_server() {
        fails("jetsim 1\nname \"x\"\n", 0, "at least one server");
    }

    #[test]
    fn header_lines() {
        let s = ok("name \"Core pub/sub\"\ndescription A long text\nseed 18446744073709551615\nuntil 1.5s\n");
        assert_eq!(s.name, "Core pub/sub");
        assert_eq!(s.description, "A long text");
        assert_eq!(s.seed, Some(u64::MAX));
        assert_eq!(s.until, Some(1500 * MS));
        fails(&format!("{BASE}name \"a\"\nname \"b\"\n"), L + 1, "already given on line 6");
        fails_extra("name\n", "name needs a text");
        fails_extra("seed 18446744073709551616\n", "larger than");
        fails_extra("seed -1\n", "whole number");
        fails_extra("seed 1 2\n", "seed takes one number");
        fails_extra("until 0s\n", "more than 0s");
        fails_extra("until 25h\n", "beyond the limit of 24h");
        fails_extra("until soon\n", "until:");
    }

    #[test]
    fn unknown_line() {
        fails_extra("serve n3\n", "unknown line \"serve\": expected jetsim, name");
    }

    // --- topology --------------------------------------------------------

    #[test]
    fn clusters_and_regions() {
        let s = parse(
            "jetsim 1\ncluster east region=us-east\ncluster west\n\
             server n1 cluster=east az=a1 tags=ssd,fast max_payload=64KB jetstream=true\n\
             server n2 cluster=east region=eu-west\nserver n3 cluster=west\n",
        )
        .unwrap();
        assert_eq!(s.clusters.len(), 2);
        assert_eq!(s.clusters[0], ClusterDef { name: "east".into(), region: Some("us-east".into()), line: 2 });
        let n1 = &s.servers[0];
        assert_eq!(n1.cluster, "east");
        assert_eq!(n1.region.as_deref(), Some("us-east"));
        assert_eq!(n1.tags, vec!["ssd", "fast", "az:a1", "region:us-east"]);
        assert_eq!(n1.max_payload, 65536);
        assert!(n1.jetstream);
        assert_eq!(s.servers[1].region.as_deref(), Some("eu-west"));
        assert_eq!(s.servers[1].tags, vec!["region:eu-west"]);
        assert_eq!(s.servers[2].region, None);
    }

    #[test]
    fn one_cluster_needs_no_cluster_option() {
        let s = parse("jetsim 1\ncluster east\nserver n1\n").unwrap();
        assert_eq!(s.servers[0].cluster, "east");
        assert_eq!(s.clusters.len(), 1);
    }

    #[test]
    fn cluster_errors() {
        fails("jetsim 1\ncluster a\ncluster b\nserver n1\n", 4, "needs cluster=<name>: there are 2 clusters (a, b)");
        fails("jetsim 1\ncluster a\nserver n1 cluster=b\n", 3, "unknown cluster \"b\" (clusters: a)");
        fails("jetsim 1\nserver n1 cluster=b\n", 2, "without cluster lines every server is in cluster \"nats\"");
        // The implicit cluster may be named explicitly, and by its old name.
        assert_eq!(parse("jetsim 1\nserver n1 cluster=nats\n").unwrap().servers[0].cluster, "nats");
        let old = parse("jetsim 1\nserver n1 cluster=c1\nserver n2\n").unwrap();
        assert_eq!((old.servers[0].cluster.as_str(), old.servers[1].cluster.as_str()), ("c1", "c1"));
        let old = parse("jetsim 1\nserver n1\nclient c2 server=n1\nlink cluster:c1 clients latency=3ms\n").unwrap();
        assert_eq!(old.servers[0].cluster, "c1");
        fails("jetsim 1\ncluster a\ncluster a\n", 3, "already declared on line 2");
        fails("jetsim 1\ncluster\n", 2, "cluster needs a name");
        fails("jetsim 1\ncluster a zone=x\n", 2, "unknown option zone= in cluster: allowed options are region=");
        fails("jetsim 1\ncluster a region=us east\n", 2, "unexpected \"east\"");
        fails("jetsim 1\ncluster a.b\n", 2, "contains '.'");
    }

    #[test]
    fn server_errors() {
        fails_extra("server n3 az=\n", "AZ name is empty");
        fails_extra("server n3 tags=a,,b\n", "empty tag");
        fails_extra("server n3 tags=az:x\n", "give az= or region= instead");
        fails_extra("server n3 tags=a,a\n", "given twice");
        fails_extra("server n3 tags=a/b\n", "contains '/'");
        fails_extra("server n3 max_payload=0\n", "must be from 1 byte to 1048576 bytes");
        fails_extra("server n3 max_payload=2MB\n", "must be from 1 byte");
        fails_extra("server n3 max_payload=lots\n", "has no number");
        fails_extra("server n3 max_payload=1XB\n", "unknown unit");
        fails_extra("server n3 max_payload=99999999999999999999999\n", "too large");
        fails_extra("server n3 jetstream=yes\n", "jetstream= must be true or false");
        fails_extra("server n3 az=a1 az=a2\n", "given twice");
        fails_extra("server n3 color=red\n", "unknown option color=");
        fails_extra("server\n", "server needs a name");
        fails_extra("server default\n", "it is a link selector");
        fails_extra("server clients\n", "it is a link selector");
        fails_extra("server n1\n", "the name \"n1\" is already used on line 2");
        fails_extra("server c1\n", "already used on line 4");
        fails_extra("client n2 server=n1\n", "already used on line 3");
        fails_extra("server n\u{e9}\n", "contains '\u{e9}'");
        let long = "x".repeat(65);
        fails_extra(&format!("server {long}\n"), "longer than 64 characters");
        assert!(parse(&format!("jetsim 1\nserver {}\n", "x".repeat(64))).is_ok());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512"), Ok(512));
        assert_eq!(parse_size("512B"), Ok(512));
        assert_eq!(parse_size("1K"), Ok(1000));
        assert_eq!(parse_size("1k"), Ok(1000));
        assert_eq!(parse_size("1KB"), Ok(1024));
        assert_eq!(parse_size("64kb"), Ok(65536));
        assert_eq!(parse_size("1MB"), Ok(1 << 20));
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert_eq!(parse_size("2M"), Ok(2_000_000));
        assert_eq!(parse_size("1GB"), Ok(1 << 30));
        assert!(parse_size("").is_err());
        assert!(parse_size("MB").is_err());
        assert!(parse_size("1.5MB").is_err());
        assert!(parse_size("20000000000GB").is_err());
        for n in [1u64, 1000, 1024, 65536, 1 << 20, 3 << 20, 1025] {
            assert_eq!(parse_size(&fmt_size(n)), Ok(n));
        }
    }

    #[test]
    fn clients() {
        let s = ok("client c3 servers=n2,n1 echo=false\nclient c4 server=n1 headers=false\nclient c5 server=n1 no_responders=false\n");
        let c1 = &s.clients[0];
        assert_eq!(
            (c1.servers.clone(), c1.echo, c1.headers, c1.no_responders),
            (vec!["n1".to_string()], true, true, true)
        );
        let c3 = &s.clients[2];
        assert_eq!((c3.servers.clone(), c3.echo), (vec!["n2".to_string(), "n1".to_string()], false));
        let c4 = &s.clients[3];
        assert_eq!((c4.headers, c4.no_responders), (false, false));
        assert!(!s.clients[4].no_responders);
        assert_eq!(s.clients[4].line, 8);
    }

    #[test]
    fn client_errors() {
        fails_extra("client c3\n", "client c3 needs server=<name>");
        fails_extra("client c3 server=n1 servers=n1,n2\n", "not both");
        fails_extra("client c3 server=n9\n", "unknown server \"n9\" (servers: n1, n2)");
        fails_extra("client c3 server=c1\n", "\"c1\" is a client");
        fails_extra("client c3 servers=n1,n1\n", "listed twice");
        fails_extra("client c3 servers=n1,\n", "server name is empty");
        fails_extra("client c3 server=n1 headers=false no_responders=true\n", "needs headers=true");
        fails_extra("client c3 server=n1 echo=0\n", "echo= must be true or false");
        fails_extra("client c3 server=n1 tls=true\n", "unknown option tls=");
        fails_extra("client\n", "client needs a name");
        // A client declared after the steps that use it, and a server after its client: any order works.
        let s = parse("jetsim 1\nat 0s c9: nats sub a\nclient c9 server=n9\nserver n9\n").unwrap();
        assert_eq!(s.clients[0].servers, vec!["n9"]);
    }

    // --- links and latency -------------------------------------------------

    #[test]
    fn links() {
        let s = ok("link default latency=1ms\n\
                    link * latency=2ms\n\
                    link n1 n2 latency=5ms jitter=1ms\n\
                    link az:a1 az:a2 latency=uniform(2ms,4ms)\n\
                    link clients latency=200us\n\
                    link n1 latency=pareto(100ms,2.5)\n\
                    link c1 n2 latency=pareto(100ms, 2.5, 2s)\n\
                    link cluster:nats clients latency=3ms jitter=5ms\n\
                    link region:r1 region:r1 latency = 1ms\n"
            .replace("region:r1 region:r1 latency = 1ms", "n2 latency=0")
            .as_str());
        let l: Vec<(Selector, Selector, LatencySpec)> =
            s.links.iter().map(|l| (l.a.clone(), l.b.clone(), l.latency.clone())).collect();
        assert_eq!(l[0], (Selector::Any, Selector::Any, LatencySpec::Fixed(MS)));
        assert_eq!(l[1], (Selector::Any, Selector::Any, LatencySpec::Fixed(2 * MS)));
        assert_eq!(l[2], (node("n1"), node("n2"), LatencySpec::Uniform(4 * MS, 6 * MS)));
        assert_eq!(l[3], (Selector::Az("a1".into()), Selector::Az("a2".into()), LatencySpec::Uniform(2 * MS, 4 * MS)));
        assert_eq!(l[4], (Selector::Clients, Selector::Any, LatencySpec::Fixed(200 * US)));
        assert_eq!(
            l[5],
            (node("n1"), Selector::Any, LatencySpec::Pareto { min: 100 * MS, alpha_milli: 2500, cap: SEC })
        );
        assert_eq!(
            l[6],
            (node("c1"), node("n2"), LatencySpec::Pareto { min: 100 * MS, alpha_milli: 2500, cap: 2 * SEC })
        );
        assert_eq!(l[7], (Selector::Cluster("nats".into()), Selector::Clients, LatencySpec::Uniform(0, 8 * MS)));
        assert_eq!(l[8], (node("n2"), Selector::Any, LatencySpec::Fixed(0)));
        assert_eq!(s.links[8].line, L + 8);
    }

    #[test]
    fn link_errors() {
        fails_extra("link n1 n2\n", "missing latency=");
        fails_extra("link latency=1ms\n", "link takes one or two selectors");
        fails_extra("link n1 n2 c1 latency=1ms\n", "link takes one or two selectors");
        fails_extra("link n1 n1 latency=1ms\n", "two different endpoints");
        fails_extra("link n1 n9 latency=1ms\n", "unknown server or client \"n9\" (servers: n1, n2; clients: c1, c2)");
        fails_extra("link az:a1 az:a9 latency=1ms\n", "unknown AZ \"a9\" in selector az:a9 (known: a1, a2)");
        fails_extra("link region:x latency=1ms\n", "unknown region \"x\" in selector region:x (known: none declared)");
        fails_extra(
            "link cluster:east latency=1ms\n",
            "unknown cluster \"east\" in selector cluster:east (known: nats)",
        );
        fails_extra("link zone:x latency=1ms\n", "unknown selector \"zone:x\"");
        fails_extra("link n.1 latency=1ms\n", "invalid selector \"n.1\"");
        fails_extra("link n1 latency=1ms loss=5\n", "unknown option loss= in link");
        fails_extra("link n1 latency=normal(1ms,2ms)\n", "unknown latency distribution \"normal\"");
        fails_extra("link n1 latency=uniform(4ms,2ms)\n", "lower bound is above the upper bound");
        fails_extra("link n1 latency=uniform(4ms)\n", "uniform takes two durations");
        fails_extra("link n1 latency=pareto(1ms)\n", "pareto takes a minimum");
        fails_extra("link n1 latency=pareto(0ms,2)\n", "minimum must be more than 0");
        fails_extra("link n1 latency=pareto(1ms,0)\n", "pareto alpha must be a number from 0.001 to 100");
        fails_extra("link n1 latency=pareto(1ms,2.0001)\n", "at most 3 decimals");
        fails_extra("link n1 latency=pareto(1ms,101)\n", "pareto alpha");
        fails_extra("link n1 latency=pareto(1ms,-2)\n", "pareto alpha");
        fails_extra("link n1 latency=pareto(10ms,2,5ms)\n", "cap is below the minimum");
        fails_extra("link n1 latency=pareto(3h,2)\n", "default pareto cap");
        fails_extra("link n1 latency=pareto(1ms,2\n", "has no closing ')'");
        fails_extra("link n1 latency=uniform(1ms,2ms)x\n", "must end with ')'");
        fails_extra("link n1 latency=uniform(1ms,2ms) jitter=1ms\n", "jitter= applies only to a fixed latency");
        fails_extra("link n1 latency=25h\n", "latency 25h is beyond the limit of 24h");
        fails_extra("link n1 latency=23h jitter=2h\n", "latency plus jitter is beyond the limit");
        fails_extra("link n1 latency = 5ms\n", "write key=value without spaces around '='");
        fails_extra("link n1 latency=5 parsecs\n", "unknown server or client \"parsecs\"");
        fails_extra("link n1 latency=fast\n", "latency:");
    }

    #[test]
    fn alpha_and_latency_text() {
        assert_eq!(parse_alpha("2.5"), Ok(2500));
        assert_eq!(parse_alpha(".5"), Ok(500));
        assert_eq!(parse_alpha("3."), Ok(3000));
        assert_eq!(parse_alpha("100"), Ok(100_000));
        assert_eq!(parse_alpha("0.001"), Ok(1));
        assert!(parse_alpha(".").is_err());
        assert!(parse_alpha("1e3").is_err());
        for m in [1, 10, 500, 2500, 3000, 100_000, 1234] {
            assert_eq!(parse_alpha(&fmt_alpha(m)), Ok(m));
        }
        let lim = Limits::default();
        for spec in [
            LatencySpec::Fixed(1500 * US),
            LatencySpec::Uniform(0, 3 * MS),
            LatencySpec::Pareto { min: 100 * MS, alpha_milli: 2500, cap: SEC },
            LatencySpec::Pareto { min: 100 * MS, alpha_milli: 1, cap: 2 * SEC },
        ] {
            assert_eq!(parse_latency(&latency_text(&spec), None, &lim), Ok(spec));
        }
    }

    // --- steps -------------------------------------------------------------

    #[test]
    fn step_times() {
        let s = ok("+50ms note a\nat 1s note b\n+250ms note c\n+0s note d\nat 1.25s note e\n");
        let times: Vec<Time> = s.script.iter().map(|s| s.at).collect();
        assert_eq!(times, vec![50 * MS, SEC, 1250 * MS, 1250 * MS, 1250 * MS]);
        let lines: Vec<u32> = s.script.iter().map(|s| s.line).collect();
        assert_eq!(lines, vec![L, L + 1, L + 2, L + 3, L + 4]);
    }

    #[test]
    fn step_errors() {
        fails(
            &format!("{BASE}at 2s note a\nat 1s note b\n"),
            L + 1,
            "this step at 1s comes before the step on line 6 at 2s",
        );
        fails_extra("at 25h note x\n", "time 25h is beyond the limit of 24h");
        fails(&format!("{BASE}at 23h note a\n+2h note b\n"), L + 1, "+2h puts the step beyond the limit of 24h");
        fails_extra("at\n", "missing time after \"at\"");
        fails_extra("at 1s\n", "missing action after the time");
        fails_extra("+ note x\n", "missing duration after '+'");
        fails_extra("+1x note x\n", "relative time:");
        fails_extra("at soon note x\n", "time:");
        fails_extra("at 1s explode n1\n", "unknown action \"explode\": expected <client>: nats ..., kill");
        fails_extra("at 1s c1:nats pub a b\n", "put a space after the client's ':'");
        fails_extra("at 1s c9: nats pub a\n", "unknown client \"c9\" (clients: c1, c2)");
        fails_extra("at 1s n1: nats pub a\n", "\"n1\" is a server; only clients run nats commands");
        fails_extra("at 1s c1: pub a\n", "expected a nats command, found \"pub\"");
        fails_extra("at 1s c1:\n", "expected a nats command");
        fails_extra(
            "at 1s c1: nats\n",
            "missing command after \"nats\": known commands are pub, sub, unsub, req, reply",
        );
        fails_extra("at 1s c.1: nats pub a\n", "client name \"c.1\" contains '.'");
        fails_extra("at 1s note\n", "note needs a text");
    }

    // --- client commands ------------------------------------------------------

    #[test]
    fn pub_command() {
        assert_eq!(
            cmd("nats pub orders.new \"hello {{Count}}\" --count 3 --sleep 10ms -H A:1 \"--header=B: two\"  --reply _INBOX.x"),
            ClientCmd::Pub {
                subject: "orders.new".into(),
                body: "hello {{Count}}".into(),
                headers: vec![("A".into(), "1".into()), ("B".into(), "two".into())],
                count: 3,
                sleep: 10 * MS,
                reply: Some("_INBOX.x".into()),
            }
        );
        assert_eq!(
            cmd("nats publish a"),
            ClientCmd::Pub {
                subject: "a".into(),
                body: String::new(),
                headers: vec![],
                count: 1,
                sleep: 0,
                reply: None
            }
        );
        // Flags before positionals, `=` forms, -HK:V, and `--` for a body that starts with '-'.
        assert_eq!(
            cmd("nats pub --count=2 -HK:V -- a -5"),
            ClientCmd::Pub {
                subject: "a".into(),
                body: "-5".into(),
                headers: vec![("K".into(), "V".into())],
                count: 2,
                sleep: 0,
                reply: None
            }
        );
    }

    #[test]
    fn sub_unsub_req_reply_commands() {
        assert_eq!(cmd("nats sub orders.>"), ClientCmd::Sub { subject: "orders.>".into(), queue: None, count: None });
        assert_eq!(
            cmd("nats subscribe 'orders.*' --queue workers --count=10"),
            ClientCmd::Sub { subject: "orders.*".into(), queue: Some("workers".into()), count: Some(10) }
        );
        assert_eq!(cmd("nats unsub orders.>"), ClientCmd::Unsub { subject: "orders.>".into() });
        assert_eq!(
            cmd("nats req svc.time \"what time\""),
            ClientCmd::Req {
                subject: "svc.time".into(),
                body: "what time".into(),
                headers: vec![],
                count: 1,
                timeout: 5 * SEC,
                sleep: 0
            }
        );
        assert_eq!(
            cmd("nats request svc.time x --timeout 1s --count 2 --sleep 1ms -H a:b"),
            ClientCmd::Req {
                subject: "svc.time".into(),
                body: "x".into(),
                headers: vec![("a".into(), "b".into())],
                count: 2,
                timeout: SEC,
                sleep: MS
            }
        );
        assert_eq!(
            cmd("nats reply svc.time noon"),
            ClientCmd::Reply { subject: "svc.time".into(), body: "noon".into(), queue: Some("NATS-RPLY-22".into()) }
        );
        assert_eq!(
            cmd("nats reply 'weather.>' -q wx"),
            ClientCmd::Reply { subject: "weather.>".into(), body: String::new(), queue: Some("wx".into()) }
        );
    }

    #[test]
    fn client_command_errors() {
        cmd_err("nats foo", "unknown command \"nats foo\": known commands are pub, sub, unsub, req, reply");
        cmd_err(
            "nats pub a --bogus 1",
            "unknown flag --bogus for \"nats pub\": allowed flags are --count, --sleep, -H/--header, --reply",
        );
        cmd_err("nats pub a -x", "unknown flag -x for \"nats pub\"");
        cmd_err("nats sub a --reply b", "unknown flag --reply for \"nats sub\"");
        cmd_err("nats unsub a --count 1", "allowed flags are none");
        cmd_err("nats reply a --count 1", "unknown flag --count for \"nats reply\"");
        cmd_err("nats pub", "missing subject: usage: nats pub <subject> [body]");
        cmd_err("nats pub a hello world", "unexpected argument \"world\"");
        cmd_err("nats sub a b", "unexpected argument \"b\"");
        cmd_err("nats pub orders.*", "cannot publish to \"orders.*\"");
        cmd_err("nats req orders.>", "cannot publish to");
        cmd_err("nats pub a..b", "invalid subject \"a..b\"");
        cmd_err("nats sub 'a b'", "invalid subject");
        cmd_err("nats sub a.>.b", "invalid subject");
        cmd_err("nats pub a --reply 'x.*'", "--reply: cannot publish");
        cmd_err("nats pub a --count 0", "--count must be at least 1");
        cmd_err("nats pub a --count -1", "--count must be a whole number of at least 1, found \"-1\"");
        cmd_err("nats pub a --count ten", "whole number");
        cmd_err(
            "nats pub a --count 1000000000",
            "--count 1000000000 exceeds the limit of 1000000 messages per scenario",
        );
        cmd_err("nats pub a --count 99999999999999999999999", "exceeds the limit of 1000000 messages");
        cmd_err("nats sub a --count 0", "at least 1");
        cmd_err("nats pub a --count 1 --count 2", "flag --count is given twice");
        cmd_err("nats pub a --count", "flag --count needs a value");
        cmd_err("nats pub a --sleep 1 --sleep 2", "given twice");
        cmd_err("nats pub a --sleep forever", "--sleep:");
        cmd_err("nats pub a --sleep 25h", "--sleep 25h is beyond the limit of 24h");
        cmd_err("nats req a --timeout 0s", "--timeout must be more than 0");
        cmd_err("nats pub a -H novalue", "must be written K:V");
        cmd_err("nats pub a -H ':v'", "header name \"\"");
        cmd_err("nats pub a -H 'a b:v'", "header name \"a b\"");
        cmd_err("nats pub a -H \"k:v\\nw\"", "line break");
        cmd_err("nats sub a --queue ''", "invalid queue group");
        cmd_err("nats sub a --queue 'a b'", "invalid queue group");
        cmd_err("", "expected a nats command");
        cmd_err("nats pub a \"unterminated", "unterminated double quote");
    }

    #[test]
    fn payload_limit() {
        let big = "x".repeat(1024 * 1024 + 1);
        cmd_err(&format!("nats pub a {big}"), "message is 1048577 bytes; the limit is 1048576 bytes");
        let lim = Limits { max_payload: 10, ..Limits::default() };
        assert!(parse_client_command_with_limits("nats pub a 0123456789", &lim).is_ok());
        let e = parse_client_command_with_limits("nats pub a 012345 -H k:v", &lim).unwrap_err();
        assert!(e.contains("message is 12 bytes"), "{e}");
        assert!(parse_client_command_with_limits("nats reply a 01234567890", &lim).is_err());
    }

    #[test]
    fn client_step_checks_headers() {
        fails(
            "jetsim 1\nserver n1\nclient c1 server=n1 headers=false\nat 0s c1: nats pub a b -H k:v\n",
            4,
            "client c1 has headers=false, so it cannot send -H headers",
        );
    }

    #[test]
    fn client_step() {
        assert_eq!(
            action("at 0s c2: nats sub orders.* --queue workers # a comment\n"),
            Action::Client {
                client: "c2".into(),
                cmd: ClientCmd::Sub { subject: "orders.*".into(), queue: Some("workers".into()), count: None }
            }
        );
    }

    // --- faults ------------------------------------------------------------------

    #[test]
    fn process_faults() {
        assert_eq!(action("at 1s kill n2\n"), Action::Fault(Fault::Kill("n2".into())));
        assert_eq!(action("at 1s restart n2\n"), Action::Fault(Fault::Restart("n2".into())));
        assert_eq!(action("at 1s pause n1\n"), Action::Fault(Fault::Pause("n1".into())));
        assert_eq!(action("at 1s resume n1\n"), Action::Fault(Fault::Resume("n1".into())));
        assert_eq!(action("at 1s isolate n1\n"), Action::Fault(Fault::Isolate("n1".into())));
        fails_extra("at 1s kill c1\n", "\"c1\" is a client; kill takes a server");
        fails_extra("at 1s restart n7\n", "unknown server \"n7\" (servers: n1, n2)");
        fails_extra("at 1s pause\n", "pause takes one server name");
        fails_extra("at 1s resume n1 n2\n", "resume takes one server name");
        fails_extra("at 1s isolate az:a1\n", "contains ':'");
    }

    #[test]
    fn partitions() {
        let sym = Action::Fault(Fault::Partition(vec![vec![node("n1")], vec![node("n2"), node("c1")]]));
        assert_eq!(action("at 1s partition n1 | n2 c1\n"), sym);
        assert_eq!(action("at 1s partition n1|n2 c1\n"), sym);
        assert_eq!(action("at 1s partition n1 |n2 c1\n"), sym);
        assert_eq!(
            action("at 1s partition az:a1 | az:a2 | c2\n"),
            Action::Fault(Fault::Partition(vec![
                vec![Selector::Az("a1".into())],
                vec![Selector::Az("a2".into())],
                vec![node("c2")]
            ]))
        );
        let one = Action::Fault(Fault::PartitionOneWay(vec![node("n1")], vec![node("n2")]));
        assert_eq!(action("at 1s partition n1 -> n2\n"), one);
        assert_eq!(action("at 1s partition n1->n2\n"), one);
        fails_extra("at 1s partition n1 n2\n", "partition needs at least two groups");
        fails_extra("at 1s partition n1 |\n", "a partition group is empty");
        fails_extra("at 1s partition | n1\n", "a partition group is empty");
        fails_extra("at 1s partition n1 || n2\n", "a partition group is empty");
        fails_extra("at 1s partition n1 | n2 -> c1\n", "'|' or '->', not both");
        fails_extra("at 1s partition n1 -> n2 -> c1\n", "exactly two groups");
        fails_extra("at 1s partition n1 | n1\n", "n1 appears twice in the partition");
        fails_extra("at 1s partition n1 | az:a9\n", "unknown AZ \"a9\"");
        fails_extra("at 1s partition n1 -> n9\n", "unknown server or client \"n9\"");
    }

    #[test]
    fn split_heal_latency_note() {
        assert_eq!(action("at 1s split az\n"), Action::Fault(Fault::SplitBy(SplitKey::Az)));
        fails_extra("at 1s split region\n", "split needs servers in at least two regions (found: none declared)");
        fails_extra("at 1s split rack\n", "split takes az or region");
        let s = parse("jetsim 1\ncluster e region=r1\nserver n1\nserver n2 region=r2\nat 0s split region\n").unwrap();
        assert_eq!(s.script[0].action, Action::Fault(Fault::SplitBy(SplitKey::Region)));
        fails("jetsim 1\nserver n1 az=a\nserver n2 az=a\nat 0s split az\n", 4, "at least two AZs (found: a)");

        assert_eq!(action("at 1s heal\n"), Action::Fault(Fault::Heal(None)));
        assert_eq!(action("at 1s heal n1\n"), Action::Fault(Fault::Heal(Some((node("n1"), Selector::Any)))));
        assert_eq!(action("at 1s heal n1 n2\n"), Action::Fault(Fault::Heal(Some((node("n1"), node("n2"))))));
        fails_extra("at 1s heal n1 n2 c1\n", "heal takes nothing");
        fails_extra("at 1s heal n1 zz\n", "unknown server or client \"zz\"");

        assert_eq!(
            action("at 1s latency n1 n2 50ms\n"),
            Action::Fault(Fault::Latency(node("n1"), node("n2"), LatencySpec::Fixed(50 * MS)))
        );
        assert_eq!(
            action("at 1s latency az:a1 az:a2 uniform(1ms, 3ms)\n"),
            Action::Fault(Fault::Latency(
                Selector::Az("a1".into()),
                Selector::Az("a2".into()),
                LatencySpec::Uniform(MS, 3 * MS)
            ))
        );
        assert_eq!(
            action("at 1s latency clients 10ms jitter=2ms\n"),
            Action::Fault(Fault::Latency(Selector::Clients, Selector::Any, LatencySpec::Uniform(8 * MS, 12 * MS)))
        );
        fails_extra("at 1s latency n1 n2\n", "latency:");
        fails_extra("at 1s latency\n", "missing latency");
        fails_extra("at 1s latency 5ms\n", "latency takes one or two selectors");
        fails_extra("at 1s latency n1 n2 5ms latency=4ms\n", "unknown option latency= in latency");

        assert_eq!(
            action("at 1s note \"The leader is gone: watch\"\n"),
            Action::Note("The leader is gone: watch".into())
        );
        assert_eq!(action("at 1s note two   words\n"), Action::Note("two words".into()));
    }

    // --- tokens ------------------------------------------------------------------

    #[test]
    fn tokenizer() {
        let t = |s: &str| tokenize(s).unwrap();
        assert_eq!(t("a  b\tc"), vec!["a", "b", "c"]);
        assert_eq!(
            t(r#"pub "hello world" 'it''s' "a\"b\\c\n\t" x"#),
            vec!["pub", "hello world", "its", "a\"b\\c\n\t", "x"]
        );
        assert_eq!(t(r#"a"b c"d"#), vec!["ab cd"]);
        assert_eq!(t(r#"'\n' "\q" a\ b"#), vec!["\\n", "\\q", "a b"]);
        assert_eq!(t(r#""" ''"#), vec!["", ""]);
        assert_eq!(t("a #comment \"unclosed"), vec!["a"]);
        assert_eq!(t("a#b '#c' \"#d\""), vec!["a#b", "#c", "#d"]);
        assert_eq!(t("   "), Vec::<String>::new());
        assert!(tokenize("\"abc").unwrap_err().contains("unterminated double quote"));
        assert!(tokenize("\"abc\\").unwrap_err().contains("unterminated double quote"));
        assert!(tokenize("'abc").unwrap_err().contains("unterminated single quote"));
        assert!(tokenize("abc\\").unwrap_err().contains("cannot end with a backslash"));
        fails_extra("at 0s note \"open\n", "unterminated double quote");
        for s in ["", "a b", "#x", "-x", "\"", "'", "\\", "a\nb\r\tc", "é ü", "{{Count}}", "x|y"] {
            assert_eq!(tokenize(&quote(s)).unwrap(), vec![s.to_string()], "{s:?} -> {}", quote(s));
        }
    }

    // --- limits -----------------------------------------------------------------

    #[test]
    fn ten_thousand_servers_are_refused_early() {
        let mut text = String::from("jetsim 1\n");
        for i in 0..10_000 {
            text.push_str(&format!("server n{i}\n"));
        }
        let e = parse_with_limits(&text, &Limits { max_lines: 20_000, ..Limits::default() }).unwrap_err();
        assert_eq!(e.line, 2 + 32, "{e}");
        assert_eq!(e.message, "too many servers: the limit is 32");
        // With the default limits the file is refused by size or line count first, just as clearly.
        let e = parse(&text).unwrap_err();
        assert!(e.message.contains("the limit is"), "{e}");
    }

    #[test]
    fn other_count_limits() {
        let lim = Limits { max_clusters: 1, max_clients: 1, max_link_rules: 1, max_steps: 1, ..Limits::default() };
        let p = |s: &str| parse_with_limits(s, &lim).unwrap_err();
        assert_eq!(p("jetsim 1\ncluster a\ncluster b\n").message, "too many clusters: the limit is 1");
        let e = p("jetsim 1\nserver n1\nclient c1 server=n1\nclient c2 server=n1\n");
        assert_eq!((e.line, e.message.as_str()), (4, "too many clients: the limit is 1"));
        assert_eq!(
            p("jetsim 1\nlink n1 latency=1ms\nlink n1 latency=1ms\n").message,
            "too many link rules: the limit is 1"
        );
        assert_eq!(p("jetsim 1\nat 0s note a\nat 0s note b\n").message, "too many steps: the limit is 1");
    }

    #[test]
    fn byte_and_line_limits() {
        let lim = Limits { max_bytes: 20, max_lines: 3, ..Limits::default() };
        let e = parse_with_limits("jetsim 1\nserver n1\n# a long comment\n", &lim).unwrap_err();
        assert_eq!((e.line, e.message.as_str()), (0, "scenario is 36 bytes; the limit is 20 bytes"));
        let e =
            parse_with_limits("jetsim 1\n\n\n\nserver n1", &Limits { max_lines: 3, ..Limits::default() }).unwrap_err();
        assert_eq!((e.line, e.message.as_str()), (4, "scenario has 5 lines; the limit is 3 lines"));
        assert!(parse_with_limits("jetsim 1\nserver n1\n", &lim).is_ok());
    }

    #[test]
    fn a_billion_messages_are_refused() {
        fails_extra(
            "at 0s c1: nats pub a --count 1000000000\n",
            "--count 1000000000 exceeds the limit of 1000000 messages per scenario",
        );
        // The total over the script counts too (pub and req).
        let text = format!(
            "{BASE}at 0s c1: nats pub a --count 600000\n+1s c2: nats req b --count 400000\n+1s c1: nats pub a\n"
        );
        fails(&text, L + 2, "the script now asks for 1000001 messages; the limit is 1000000 messages per scenario");
        // Subscriptions don't publish.
        ok("at 0s c1: nats pub a --count 1000000\nat 0s c2: nats sub a --count 1000000\n");
    }

    #[test]
    fn name_length_limit_is_configurable() {
        let lim = Limits { max_name_len: 3, ..Limits::default() };
        let e = parse_with_limits("jetsim 1\nserver abcd\n", &lim).unwrap_err();
        assert!(e.message.contains("longer than 3 characters"), "{e}");
    }

    // --- console helpers -------------------------------------------------------

    #[test]
    fn console_lines() {
        let s = ok("");
        let lim = Limits::default();
        assert_eq!(
            parse_action_line("c1: nats pub orders.new hi", &s, &lim),
            Ok(Action::Client {
                client: "c1".into(),
                cmd: ClientCmd::Pub {
                    subject: "orders.new".into(),
                    body: "hi".into(),
                    headers: vec![],
                    count: 1,
                    sleep: 0,
                    reply: None
                }
            })
        );
        assert_eq!(parse_action_line("kill n2", &s, &lim), Ok(Action::Fault(Fault::Kill("n2".into()))));
        assert!(parse_action_line("kill n9", &s, &lim).unwrap_err().contains("unknown server \"n9\""));
        assert!(parse_action_line("c9: nats sub a", &s, &lim).unwrap_err().contains("unknown client"));
        assert!(parse_action_line("  # nothing", &s, &lim).unwrap_err().contains("empty command"));
        assert_eq!(parse_step_line("+5ms heal", SEC, &s, &lim), Ok((SEC + 5 * MS, Action::Fault(Fault::Heal(None)))));
        assert_eq!(
            parse_step_line("at 2s pause n1", SEC, &s, &lim),
            Ok((2 * SEC, Action::Fault(Fault::Pause("n1".into()))))
        );
        assert!(parse_step_line("pause n1", SEC, &s, &lim).unwrap_err().contains("a step starts with"));
        // The printers produce what the parsers read.
        for line in [
            "c1: nats pub --count 2 -- -a \"-b c\"",
            "partition n1 | n2 c1",
            "latency n1 pareto(1ms,2.5,1s)",
            "note \"x y\"",
        ] {
            let a = parse_action_line(line, &s, &lim).unwrap();
            assert_eq!(parse_action_line(&action_text(&a), &s, &lim), Ok(a.clone()), "{}", action_text(&a));
        }
    }

    // --- JetStream syntax ----------------------------------------------------------

    /// Three JetStream servers and two clients; an error on the first extra
    /// line is on line `JL`.
    const JS: &str = "jetsim 1\nserver n1 az=a1 jetstream=true\nserver n2 az=a2 jetstream=true\n\
                      server n3 az=a3 jetstream=true\nclient c1 servers=n1,n2,n3\nclient c2 server=n2\n";
    const JL: u32 = 7;

    fn js_ok(extra: &str) -> Scenario {
        let text = format!("{JS}{extra}");
        parse(&text).unwrap_or_else(|e| panic!("{e}\n--- text ---\n{text}"))
    }

    #[track_caller]
    fn js_fails(extra: &str, phrase: &str) {
        fails(&format!("{JS}{extra}"), JL, phrase);
    }

    fn js_cmd(extra: &str) -> ClientCmd {
        match js_ok(extra).script.pop().map(|s| s.action) {
            Some(Action::Client { cmd, .. }) => cmd,
            other => panic!("not a client command: {other:?}"),
        }
    }

    #[test]
    fn raft_timescale_header() {
        assert_eq!(js_ok("").raft_timescale, None);
        assert_eq!(js_ok("raft_timescale 1/10\n").raft_timescale, Some((1, 10)));
        assert_eq!(js_ok("raft_timescale 3\n").raft_timescale, Some((3, 1)));
        assert_eq!(js_ok("raft_timescale 1000/1\n").raft_timescale, Some((1000, 1)));
        assert_eq!(js_ok("raft_timescale 1/1000\n").raft_timescale, Some((1, 1000)));
        // It is a header line: anywhere, once.
        let s = parse("jetsim 1\nraft_timescale 2/3\nserver n1 jetstream=true\n").unwrap();
        assert_eq!(s.raft_timescale, Some((2, 3)));
        for bad in ["0/1", "1/0", "1001/1", "1/1001", "a/b", "1/10/3", "-1/2", "1.5/2", "1/", "/10", "1 / 10"] {
            js_fails(&format!("raft_timescale {bad}\n"), "raft_timescale");
        }
        js_fails("raft_timescale 1/0\n", "whole numbers from 1 to 1000");
        js_fails("raft_timescale\n", "raft_timescale takes one ratio");
        fails(&format!("{JS}raft_timescale 1/10\nraft_timescale 1/2\n"), JL + 1, "already given on line 7");
    }

    #[test]
    fn server_sync_interval_and_unique_tag() {
        let s = js_ok(
            "server n4 jetstream=true sync_interval=always unique_tag=az:\nserver n5 jetstream=true sync_interval=10s\n\
             server n6 jetstream=true sync_interval=1.5s unique_tag=rack-\n",
        );
        let by = |n: &str| s.servers.iter().find(|d| d.name == n).unwrap();
        assert_eq!(
            (by("n1").sync, by("n1").unique_tag.as_deref()),
            (SyncSetting::Interval(DEFAULT_SYNC_INTERVAL), None)
        );
        assert_eq!(by("n1").sync, SyncSetting::Interval(120 * SEC), "nats' default is 2m");
        assert_eq!((by("n4").sync, by("n4").unique_tag.as_deref()), (SyncSetting::Always, Some("az:")));
        assert_eq!(by("n5").sync, SyncSetting::Interval(10 * SEC));
        assert_eq!((by("n6").sync, by("n6").unique_tag.as_deref()), (SyncSetting::Interval(1500 * MS), Some("rack-")));
        assert!(by("n4").jetstream && by("n1").jetstream);
        js_fails("server n4 sync_interval=0s\n", "sync_interval must be more than 0s (or always)");
        js_fails("server n4 sync_interval=never\n", "sync_interval");
        js_fails("server n4 sync_interval=\n", "sync_interval");
        js_fails("server n4 sync_interval=25h\n", "beyond the limit");
        js_fails("server n4 sync_interval=1s sync_interval=2s\n", "given twice");
        js_fails("server n4 unique_tag=\n", "unique_tag=\"\": a tag prefix like az:");
        js_fails("server n4 unique_tag=a/b\n", "unique_tag=\"a/b\"");
        js_fails("server n4 unique_tag=\"a b\"\n", "a tag prefix");
        js_fails("server n4 sync=always\n", "unknown option sync=");
    }

    #[test]
    fn jetstream_publish_command() {
        assert_eq!(
            cmd("nats pub orders.new hi --jetstream"),
            ClientCmd::JsPub {
                subject: "orders.new".into(),
                body: "hi".into(),
                headers: vec![],
                count: 1,
                sleep: 0,
                timeout: DEFAULT_REQUEST_TIMEOUT
            }
        );
        let full = ClientCmd::JsPub {
            subject: "orders.new".into(),
            body: "o {{Count}}".into(),
            headers: vec![("K".into(), "v".into())],
            count: 5,
            sleep: 10 * MS,
            timeout: 2 * SEC,
        };
        assert_eq!(
            cmd("nats pub orders.new 'o {{Count}}' --jetstream --count 5 --sleep 10ms --timeout 2s -H K:v"),
            full
        );
        // -J, flags anywhere, --flag=value, the publish alias.
        cmd_err("nats -J pub a", "unknown command \"nats -J\"");
        assert_eq!(cmd("nats publish -J --timeout=2s --count 5 orders.new --sleep=10ms 'o {{Count}}' -HK:v"), full);
        assert!(matches!(cmd("nats pub a -J"), ClientCmd::JsPub { .. }));
        // `--jetstream` after `--` is the body, not the switch.
        assert!(matches!(cmd("nats pub a -- --jetstream"), ClientCmd::Pub { ref body, .. } if body == "--jetstream"));
        cmd_err("nats pub a --jetstream --timeout 0s", "--timeout must be more than 0");
        cmd_err("nats pub a --jetstream --timeout soon", "--timeout");
        cmd_err("nats pub a --jetstream --reply r", "unknown flag --reply");
        cmd_err("nats pub 'a.*' --jetstream", "cannot publish to \"a.*\"");
        cmd_err("nats pub a --jetstream --count 0", "--count must be at least 1");
        cmd_err("nats pub --jetstream", "missing subject");
        // In a file, errors name the line.
        js_fails("at 1s c1: nats pub a --jetstream --timeout 0s\n", "--timeout must be more than 0");
        js_fails("at 1s c1: nats pub a --jetstream --count 2000000\n", "exceeds the limit");
        js_fails("at 1s c1: nats pub a b c --jetstream\n", "unexpected argument");
        // --count counts towards the scenario's message limit like nats pub.
        let limits = Limits { max_messages: 10, ..Limits::default() };
        let e = parse_with_limits(
            &format!("{JS}at 1s c1: nats pub a -J --count 6\nat 2s c2: nats pub a -J --count 6\n"),
            &limits,
        )
        .unwrap_err();
        assert_eq!(e.line, JL + 1, "{e}");
        assert!(matches!(js_cmd("at 1s c1: nats pub a -J --count 3\n"), ClientCmd::JsPub { count: 3, .. }));
    }

    #[test]
    fn stream_commands() {
        let add = |line: &str| match cmd(line) {
            ClientCmd::Stream(s) => s,
            other => panic!("{line}: {other:?}"),
        };
        assert_eq!(
            add("nats stream add ORDERS --subjects 'orders.>' --replicas 3 --storage file"),
            StreamCmd::Add {
                name: "ORDERS".into(),
                subjects: vec!["orders.>".into()],
                replicas: 3,
                memory: false,
                max_msgs: None,
                max_bytes: None,
                max_age: None,
                discard_new: false,
                tags: vec![],
            }
        );
        assert_eq!(
            add("nats stream create S --defaults --subjects a,b.* --subjects c --replicas=5 --storage m --max-msgs 100 \
                 --max-bytes 1MB --max-age 1h --discard new --tag ssd --tag az:x"),
            StreamCmd::Add {
                name: "S".into(),
                subjects: vec!["a".into(), "b.*".into(), "c".into()],
                replicas: 5,
                memory: true,
                max_msgs: Some(100),
                max_bytes: Some(1024 * 1024),
                max_age: Some(3600 * SEC),
                discard_new: true,
                tags: vec!["ssd".into(), "az:x".into()],
            }
        );
        // Defaults: R1, file, no subjects (the stream's name is its subject).
        assert!(
            matches!(add("nats stream new S"), StreamCmd::Add { replicas: 1, memory: false, ref subjects, .. } if subjects.is_empty())
        );
        assert!(matches!(
            add("nats stream add S --max-msgs -1 --max-bytes -1"),
            StreamCmd::Add { max_msgs: Some(-1), max_bytes: Some(-1), .. }
        ));
        assert_eq!(add("nats stream info S"), StreamCmd::Info { name: "S".into() });
        assert_eq!(add("nats stream ls"), StreamCmd::Ls);
        assert_eq!(add("nats stream list"), StreamCmd::Ls);
        assert_eq!(add("nats stream rm S -f"), StreamCmd::Rm { name: "S".into() });
        assert_eq!(add("nats stream delete -f S"), StreamCmd::Rm { name: "S".into() });
        assert_eq!(add("nats stream purge S --force"), StreamCmd::Purge { name: "S".into() });
        assert_eq!(add("nats stream cluster step-down S"), StreamCmd::StepDown { name: "S".into() });
        assert_eq!(add("nats stream cluster stepdown S"), StreamCmd::StepDown { name: "S".into() });

        cmd_err("nats stream", "missing subcommand after \"nats stream\"");
        cmd_err("nats stream edit S", "unknown command \"nats stream edit\"");
        cmd_err("nats stream add", "missing stream name");
        cmd_err("nats stream add a.b", "invalid stream name \"a.b\"");
        cmd_err("nats stream add 'A B'", "invalid stream name");
        cmd_err("nats stream add S --replicas 0", "--replicas 0: replicas are 1 to 5");
        cmd_err("nats stream add S --replicas 6", "replicas are 1 to 5");
        cmd_err("nats stream add S --replicas three", "replicas are 1 to 5");
        cmd_err("nats stream add S --replicas 3 --replicas 3", "given twice");
        cmd_err("nats stream add S --storage disk", "--storage disk: storage is file or memory");
        cmd_err("nats stream add S --discard newest", "discard is old or new");
        cmd_err("nats stream add S --max-msgs -2", "--max-msgs -2: expected a whole number (-1 for unlimited)");
        cmd_err("nats stream add S --max-bytes lots", "--max-bytes");
        cmd_err("nats stream add S --max-age forever", "--max-age");
        cmd_err("nats stream add S --subjects 'a..b'", "invalid subject \"a..b\"");
        cmd_err("nats stream add S --subjects a,", "invalid subject \"\"");
        cmd_err("nats stream add S --tag 'a b'", "--tag: tag \"a b\" contains ' '");
        cmd_err("nats stream add S --tag ''", "--tag: a tag is empty");
        cmd_err("nats stream add S --retention work", "unknown flag --retention");
        cmd_err("nats stream add S T", "unexpected argument \"T\"");
        cmd_err("nats stream rm S", "needs -f");
        cmd_err("nats stream purge S", "needs -f");
        cmd_err("nats stream info", "missing stream name");
        cmd_err("nats stream ls X", "unexpected argument");
        cmd_err("nats stream cluster S", "usage: nats stream cluster step-down NAME");
        // In a file, errors name the line.
        js_fails("at 1s c1: nats stream add S --replicas 9\n", "replicas are 1 to 5");
        js_fails("at 1s c1: nats stream rm S\n", "needs -f");
        js_fails("at 1s c9: nats stream ls\n", "unknown client \"c9\"");
        fails(&format!("{JS}at 1s c1: nats stream ls\nat 2s c1: nats stream add x.y\n"), JL + 1, "invalid stream name");
    }

    #[test]
    fn power_loss_action() {
        assert_eq!(action("at 1s power-loss n1\n"), Action::Fault(Fault::PowerLoss("n1".into())));
        assert_eq!(js_ok("at 1s power-loss n3\n+1s restart n3\n").script.len(), 2);
        fails_extra("at 1s power-loss\n", "power-loss takes one server name, like: power-loss n1");
        fails_extra("at 1s power-loss n1 n2\n", "power-loss takes one server name");
        fails_extra("at 1s power-loss n9\n", "n9");
        fails_extra("at 1s power-loss c1\n", "c1");
        let sc = js_ok("");
        let l = Limits::default();
        assert_eq!(parse_action_line("power-loss n2", &sc, &l), Ok(Action::Fault(Fault::PowerLoss("n2".into()))));
        assert!(parse_action_line("power-loss n7", &sc, &l).is_err());
        assert_eq!(action_text(&Action::Fault(Fault::PowerLoss("n2".into()))), "power-loss n2");
    }

    /// Every new command prints back to itself, alone and inside a scenario.
    #[test]
    fn jetstream_commands_round_trip() {
        for line in [
            "nats pub orders.new hi --jetstream",
            "nats pub orders.new 'a b' -J --count 7 --sleep 5ms --timeout 250ms -H a:b -H 'c:d e'",
            "nats pub x --jetstream -- -dash",
            "nats stream add ORDERS --subjects 'orders.>,x.*' --replicas 3 --storage file",
            "nats stream add S --replicas 5 --storage memory --max-msgs -1 --max-bytes 1KB --max-age 90s --discard new --tag ssd --tag 'az:x'",
            "nats stream add S",
            "nats stream info S",
            "nats stream ls",
            "nats stream rm S -f",
            "nats stream purge S -f",
            "nats stream cluster step-down S",
        ] {
            let c = cmd(line);
            let printed = client_cmd_text(&c);
            assert_eq!(cmd(&printed), c, "{line} printed as {printed}");
            assert_eq!(client_cmd_text(&cmd(&printed)), printed);
        }
        round_trips(
            "jetsim 1\nname \"js\"\nraft_timescale 1/10\n\
             server n1 az=a1 jetstream=true sync_interval=always unique_tag=az:\n\
             server n2 az=a2 jetstream=true sync_interval=30s\nserver n3 az=a3 jetstream=true\n\
             client c1 servers=n1,n2,n3\n\
             at 1s c1: nats stream add ORDERS --subjects 'orders.>' --replicas 3 --storage file --max-age 1h --tag az:a1\n\
             at 2s c1: nats pub orders.new 'o {{Count}}' --jetstream --count 20 --sleep 50ms --timeout 1s\n\
             at 3s power-loss n1\nat 4s restart n1\nat 5s c1: nats stream cluster step-down ORDERS\n\
             at 6s c1: nats stream info ORDERS\nat 7s c1: nats stream purge ORDERS -f\nat 8s c1: nats stream rm ORDERS -f\n",
        );
        // A bare `raft_timescale N` prints as N/1, which reads back the same.
        round_trips("jetsim 1\nraft_timescale 4\nserver n1 jetstream=true sync_interval=2m\n");
        let s = parse("jetsim 1\nraft_timescale 4\nserver n1 jetstream=true sync_interval=2m\n").unwrap();
        let t = to_text(&s);
        assert!(t.contains("raft_timescale 4/1\n") && !t.contains("sync_interval"), "{t}");
    }

    // --- printer and example files -------------------------------------------------

    pub(super) fn strip_lines(mut s: Scenario) -> Scenario {
        s.clusters.iter_mut().for_each(|c| c.line = 0);
        s.servers.iter_mut().for_each(|c| c.line = 0);
        s.clients.iter_mut().for_each(|c| c.line = 0);
        s.links.iter_mut().for_each(|c| c.line = 0);
        s.script.iter_mut().for_each(|c| c.line = 0);
        s
    }

    #[track_caller]
    fn round_trips(text: &str) {
        let a = parse(text).unwrap();
        let printed = to_text(&a);
        let b = parse(&printed).unwrap_or_else(|e| panic!("{e}\n--- printed ---\n{printed}"));
        assert_eq!(strip_lines(a), strip_lines(b.clone()), "printed:\n{printed}");
        assert_eq!(to_text(&b), printed);
    }

    #[test]
    fn printer_round_trips() {
        round_trips(
            &format!("{BASE}name \"A \\\"quoted\\\" name\"\ndescription 'multi\nseed 9\nuntil 2m\n")
                .replace("'multi\n", "\"multi\\nline\"\n"),
        );
        round_trips("jetsim 1\ncluster a region=r1\ncluster b\nserver n1 cluster=a az=q region=r2 tags=x,y:z max_payload=1000 jetstream=true\n\
                     server n2 cluster=a\nserver n3 cluster=b region=r1\n\
                     client c1 servers=n3,n1 echo=false headers=false\nclient c2 server=n2 no_responders=false\n\
                     link default latency=1ms\nlink * n1 latency=2ms\nlink clients latency=pareto(1ms,1.5)\n\
                     at 0s c2: nats pub -H 'a: b c' --reply r -- -x ''\nat 1s heal *\nat 1s heal * n1\n\
                     at 2s partition n1 az:q -> region:r1\n");
    }

    /// The example scenarios, compiled in (so this also runs on wasm32).
    const EXAMPLES: [(&str, &str); 4] = [
        ("core-pubsub.jetsim", include_str!("../../../scenarios/core-pubsub.jetsim")),
        ("partition.jetsim", include_str!("../../../scenarios/partition.jetsim")),
        ("faults.jetsim", include_str!("../../../scenarios/faults.jetsim")),
        ("regions.jetsim", include_str!("../../../scenarios/regions.jetsim")),
    ];

    #[test]
    fn compiled_in_examples_parse_and_round_trip() {
        for (path, text) in EXAMPLES {
            let s = parse(text).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert!(!s.name.is_empty() && !s.description.is_empty(), "{path}");
            round_trips(text);
        }
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn scenario_files() -> Vec<(String, String)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
        let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "jetsim"))
            .map(|p| (p.display().to_string(), std::fs::read_to_string(&p).unwrap()))
            .collect();
        files.sort();
        files
    }

    /// Every `.jetsim` file in `scenarios/`, including ones added later.
    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn every_example_scenario_parses_and_round_trips() {
        let files = scenario_files();
        assert!(files.len() >= 4, "expected the example scenarios, found {}", files.len());
        for (path, text) in &files {
            let s = parse(text).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert!(!s.name.is_empty(), "{path} has no name");
            assert!(!s.description.is_empty(), "{path} has no description");
            assert!(!s.script.is_empty(), "{path} has no script");
            round_trips(text);
        }
    }

    #[test]
    fn core_pubsub_example_has_what_it_promises() {
        let s = parse(EXAMPLES[0].1).unwrap();
        assert_eq!(s.servers.len(), 3);
        let azs: BTreeSet<_> = s.servers.iter().filter_map(|s| s.az.clone()).collect();
        assert_eq!(azs.len(), 3);
        let queue_members: Vec<&str> = s
            .script
            .iter()
            .filter_map(|st| match &st.action {
                Action::Client { client, cmd: ClientCmd::Sub { queue: Some(_), .. } } => Some(client.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(queue_members.len(), 2);
        let server_of = |c: &str| s.clients.iter().find(|d| d.name == c).map(|d| d.servers[0].clone());
        assert_ne!(server_of(queue_members[0]), server_of(queue_members[1]));
        assert!(s.script.iter().any(|st| matches!(&st.action, Action::Client { cmd: ClientCmd::Reply { .. }, .. })));
        assert!(s.script.iter().any(|st| matches!(&st.action, Action::Client { cmd: ClientCmd::Req { subject, .. }, .. } if subject == "svc.weather")));
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod proptests {
    use super::*;
    use crate::time::fmt_duration;
    use proptest::prelude::*;

    fn any_string(max: usize) -> impl Strategy<Value = String> {
        proptest::collection::vec(any::<char>(), 0..max).prop_map(|v| v.into_iter().collect())
    }

    fn dur() -> impl Strategy<Value = u64> {
        prop_oneof![0u64..2_000, (0u64..5_000).prop_map(|x| x * 1_000), (0u64..3_600_000).prop_map(|x| x * 1_000_000)]
    }

    fn latency() -> impl Strategy<Value = String> {
        prop_oneof![
            dur().prop_map(fmt_duration),
            (dur(), dur()).prop_map(|(a, b)| format!("uniform({},{})", fmt_duration(a.min(b)), fmt_duration(a.max(b)))),
            (1u64..360_000_000_000, 1u32..=100_000, proptest::option::of(0u64..1_000_000_000)).prop_map(|(m, a, c)| {
                match c {
                    Some(extra) => format!("pareto({},{},{})", fmt_duration(m), fmt_alpha(a), fmt_duration(m + extra)),
                    None => format!("pareto({},{})", fmt_duration(m), fmt_alpha(a)),
                }
            }),
        ]
    }

    const PUB_SUBJECT: &str = "[a-z0-9_$-]{1,4}(\\.[a-zA-Z0-9_-]{1,4}){0,3}";
    const SUB_SUBJECT: &str = "([a-z0-9]{1,3}|\\*)(\\.([a-z0-9]{1,3}|\\*)){0,2}(\\.>)?";

    #[derive(Debug, Clone)]
    enum G {
        Pub(u8, String, String, u64, u64, Option<(String, String)>, Option<String>),
        Sub(u8, String, Option<String>, Option<u64>),
        Unsub(u8, String),
        Req(u8, String, String, u64, u64, u64),
        Reply(u8, String, String, Option<String>),
        Server(u8, u8),
        Partition(u8, bool),
        SplitAz,
        Heal(Option<(u8, u8)>),
        Latency(u8, u8, String),
        Note(String),
    }

    fn step() -> impl Strategy<Value = G> {
        let hdr = proptest::option::of(
            ("[A-Za-z][A-Za-z0-9-]{0,6}", "[ -~]{0,8}").prop_map(|(k, v)| (k, v.trim().to_string())),
        );
        let queue = proptest::option::of("[A-Za-z0-9_.-]{1,8}");
        prop_oneof![
            (any::<u8>(), PUB_SUBJECT, any_string(12), 1u64..1000, dur(), hdr, proptest::option::of(PUB_SUBJECT))
                .prop_map(|(c, s, b, n, d, h, r)| G::Pub(c, s, b, n, d, h, r)),
            (any::<u8>(), SUB_SUBJECT, queue.clone(), proptest::option::of(1u64..100))
                .prop_map(|(c, s, q, n)| G::Sub(c, s, q, n)),
            (any::<u8>(), SUB_SUBJECT).prop_map(|(c, s)| G::Unsub(c, s)),
            (any::<u8>(), PUB_SUBJECT, any_string(12), 1u64..100, 1u64..10_000_000_000, dur())
                .prop_map(|(c, s, b, n, t, d)| G::Req(c, s, b, n, t, d)),
            (any::<u8>(), SUB_SUBJECT, any_string(12), queue).prop_map(|(c, s, b, q)| G::Reply(c, s, b, q)),
            (any::<u8>(), 0u8..5).prop_map(|(n, k)| G::Server(n, k)),
            (any::<u8>(), any::<bool>()).prop_map(|(k, one_way)| G::Partition(k, one_way)),
            Just(G::SplitAz),
            proptest::option::of((any::<u8>(), any::<u8>())).prop_map(G::Heal),
            (any::<u8>(), any::<u8>(), latency()).prop_map(|(a, b, l)| G::Latency(a, b, l)),
            any_string(20).prop_map(G::Note),
        ]
    }

    prop_compose! {
        fn scenario_text()(
            n_servers in 2usize..5,
            clusters in 0usize..3,
            region in proptest::option::of("[a-z]{1,5}"),
            clients in proptest::collection::vec((any::<u8>(), any::<u8>(), any::<bool>(), any::<bool>(), any::<bool>()), 1..4),
            links in proptest::collection::vec((any::<u8>(), any::<u8>(), latency()), 0..4),
            steps in proptest::collection::vec((dur(), any::<bool>(), step()), 0..12),
            name in proptest::option::of(any_string(16)),
            seed in proptest::option::of(any::<u64>()),
            tags in any::<bool>(),
        ) -> String {
            let mut t = String::from("jetsim 1\n");
            if let Some(n) = name {
                t.push_str(&format!("name {}\ndescription {}\n", quote_always(&n), quote(&n)));
            }
            if let Some(s) = seed {
                t.push_str(&format!("seed {s}\n"));
            }
            for c in 0..clusters {
                t.push_str(&format!("cluster k{c}"));
                if let (0, Some(r)) = (c, &region) {
                    t.push_str(&format!(" region={r}"));
                }
                t.push('\n');
            }
            let servers: Vec<String> = (0..n_servers).map(|i| format!("n{i}")).collect();
            for (i, s) in servers.iter().enumerate() {
                t.push_str(&format!("server {s} az=a{}", i % 2));
                if clusters > 1 {
                    t.push_str(&format!(" cluster=k{}", i % clusters));
                }
                if i == 1 {
                    t.push_str(" region=other");
                }
                if tags && i == 0 {
                    t.push_str(" tags=ssd,x:y max_payload=64KB jetstream=true");
                }
                t.push('\n');
            }
            let mut client_names = Vec::new();
            let mut client_headers = Vec::new();
            for (i, (a, b, echo, headers, nr)) in clients.iter().enumerate() {
                let name = format!("cl{i}");
                let s1 = &servers[usize::from(*a) % n_servers];
                let s2 = &servers[usize::from(*b) % n_servers];
                if s1 == s2 {
                    t.push_str(&format!("client {name} server={s1}"));
                } else {
                    t.push_str(&format!("client {name} servers={s1},{s2}"));
                }
                t.push_str(&format!(" echo={echo} headers={headers} no_responders={}\n", *nr && *headers));
                client_names.push(name);
                client_headers.push(*headers);
            }
            let sel = |x: u8| -> String {
                match x % 6 {
                    0 => "*".into(),
                    1 => "clients".into(),
                    2 => format!("az:a{}", x % 2),
                    3 => client_names[usize::from(x) % client_names.len()].clone(),
                    _ => servers[usize::from(x) % n_servers].clone(),
                }
            };
            for (a, b, l) in &links {
                let (a, b) = (sel(*a), sel(*b));
                if a == b && !a.contains(':') && a != "*" && a != "clients" {
                    t.push_str(&format!("link {a} latency={l}\n"));
                } else {
                    t.push_str(&format!("link {a} {b} latency={l}\n"));
                }
            }
            let mut now = 0u64;
            for (d, relative, g) in steps {
                let d = d % (10 * crate::time::SEC);
                now += d;
                if relative {
                    t.push_str(&format!("+{} ", fmt_duration(d)));
                } else {
                    t.push_str(&format!("at {} ", fmt_duration(now)));
                }
                let client = |c: u8| -> (String, bool) {
                    let i = usize::from(c) % client_names.len();
                    (client_names[i].clone(), client_headers[i])
                };
                let srv = |n: u8| servers[usize::from(n) % n_servers].clone();
                let line = match g {
                    G::Pub(c, s, b, n, d, h, r) => {
                        let (c, hdrs) = client(c);
                        let mut l = format!("{c}: nats pub --count={n}");
                        if d > 0 {
                            l.push_str(&format!(" --sleep {}", fmt_duration(d)));
                        }
                        if let (Some((k, v)), true) = (h, hdrs) {
                            l.push_str(&format!(" -H {}", quote(&format!("{k}:{v}"))));
                        }
                        if let Some(r) = r {
                            l.push_str(&format!(" --reply={r}"));
                        }
                        l.push_str(&format!(" -- {} {}", quote(&s), quote(&b)));
                        l
                    }
                    G::Sub(c, s, q, n) => {
                        let mut l = format!("{}: nats sub {s}", client(c).0);
                        if let Some(q) = q {
                            l.push_str(&format!(" --queue {q}"));
                        }
                        if let Some(n) = n {
                            l.push_str(&format!(" --count {n}"));
                        }
                        l
                    }
                    G::Unsub(c, s) => format!("{}: nats unsub {s}", client(c).0),
                    G::Req(c, s, b, n, to, sl) => format!(
                        "{}: nats req --count {n} --timeout {} --sleep {} -- {s} {}",
                        client(c).0, fmt_duration(to), fmt_duration(sl), quote(&b)
                    ),
                    G::Reply(c, s, b, q) => {
                        let mut l = format!("{}: nats reply -- {s} {}", client(c).0, quote(&b));
                        if let Some(q) = q {
                            l = format!("{}: nats reply -q {q} -- {s} {}", client(c).0, quote(&b));
                        }
                        l
                    }
                    G::Server(n, k) => {
                        let verb = ["kill", "restart", "pause", "resume", "isolate"][usize::from(k) % 5];
                        format!("{verb} {}", srv(n))
                    }
                    G::Partition(k, one_way) => {
                        let cut = 1 + usize::from(k) % (n_servers - 1);
                        let sep = if one_way { " -> " } else { " | " };
                        format!("partition {}{sep}{}", servers[..cut].join(" "), servers[cut..].join(" "))
                    }
                    G::SplitAz => "split az".into(),
                    G::Heal(None) => "heal".into(),
                    G::Heal(Some((a, b))) => {
                        let (a, b) = (srv(a), sel(b));
                        if a == b { format!("heal {a}") } else { format!("heal {a} {b}") }
                    }
                    G::Latency(a, b, l) => {
                        let (a, b) = (srv(a), srv(b));
                        if a == b { format!("latency {a} {l}") } else { format!("latency {a} {b} {l}") }
                    }
                    G::Note(n) => format!("note {}", quote(&n)),
                };
                t.push_str(&line);
                t.push('\n');
            }
            t
        }
    }

    const VALID: &str = include_str!("../../../scenarios/core-pubsub.jetsim");

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn quote_round_trips(s in any_string(40)) {
            prop_assert_eq!(tokenize(&quote(&s)).unwrap(), vec![s.clone()]);
            prop_assert_eq!(tokenize(&format!("x {} y", quote(&s))).unwrap(), vec!["x".to_string(), s, "y".to_string()]);
        }

        #[test]
        fn arbitrary_text_never_panics(s in any_string(300)) {
            let _ = parse(&s);
            let _ = parse(&format!("jetsim 1\nserver n1\nclient c1 server=n1\n{s}"));
            let _ = parse_client_command(&s);
            let _ = parse_client_command(&format!("nats {s}"));
            let _ = tokenize(&s);
        }

        #[test]
        fn arbitrary_words_never_panic(words in proptest::collection::vec(
            prop_oneof![
                Just("nats".to_string()), Just("pub".to_string()), Just("sub".to_string()), Just("req".to_string()),
                Just("reply".to_string()), Just("--count".to_string()), Just("-H".to_string()), Just("--".to_string()),
                Just("|".to_string()), Just("->".to_string()), Just("at".to_string()), Just("+1s".to_string()),
                Just("latency=".to_string()), Just("pareto(".to_string()), Just(")".to_string()), Just("c1:".to_string()),
                "[a-z0-9:=,().*>|-]{0,8}".prop_map(|s| s),
            ], 0..12)) {
            let line = words.join(" ");
            let _ = parse(&format!("jetsim 1\nserver n1\nclient c1 server=n1\n{line}\nlink {line}\nat 0s {line}\nat 0s c1: nats {line}\n"));
            let _ = parse_client_command(&line);
        }

        #[test]
        fn mutated_scenarios_never_panic(
            edits in proptest::collection::vec((any::<u16>(), 0u8..4, any::<char>(), 0u16..40), 1..8)
        ) {
            let mut chars: Vec<char> = VALID.chars().collect();
            for (pos, kind, c, len) in edits {
                let at = usize::from(pos) % (chars.len() + 1);
                match kind {
                    0 => chars.insert(at, c),
                    1 => { let end = (at + usize::from(len)).min(chars.len()); chars.drain(at..end); }
                    2 => { if at < chars.len() { chars[at] = c; } }
                    _ => { let end = (at + usize::from(len)).min(chars.len()); let dup: Vec<char> = chars[at..end].to_vec(); chars.splice(at..at, dup); }
                }
            }
            let text: String = chars.into_iter().collect();
            if let Ok(s) = parse(&text) {
                // Whatever parses must print and parse back.
                let again = parse(&to_text(&s));
                prop_assert!(again.is_ok(), "{:?}\n{}", again, to_text(&s));
            }
        }

        #[test]
        fn generated_scenarios_round_trip(text in scenario_text()) {
            let a = parse(&text);
            prop_assert!(a.is_ok(), "{}\n--- text ---\n{}", a.unwrap_err(), text);
            let a = a.unwrap();
            let printed = to_text(&a);
            let b = parse(&printed);
            prop_assert!(b.is_ok(), "{}\n--- printed ---\n{}", b.unwrap_err(), printed);
            let b = b.unwrap();
            prop_assert_eq!(to_text(&b), printed.clone());
            prop_assert_eq!(super::tests::strip_lines(a), super::tests::strip_lines(b));
        }
    }
}
