//! `jetsim serve`: the simulated cluster in real time, each simulated server
//! listening on its own 127.0.0.1 port and speaking the NATS client protocol,
//! so real clients (nats CLI, nats.py, async-nats, nats.js) connect unchanged.
//!
//! One thread owns the world; virtual time follows wall time (virtual ns =
//! elapsed wall ns, with bounded catch-up). It sleeps until the next event is
//! due or input arrives on its channel, fed by helper threads: one reading
//! stdin lines (control commands in the scenario's action syntax) and one
//! reader plus one writer per connection (blocking sockets, so a slow client
//! slows only itself). The core stays sans-IO: sockets are attached through
//! `World::attach_external` and friends.

use std::collections::BTreeMap;
use std::io::{self, BufRead, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jetsim_core::external::{Advertise, ExternalEvent};
use jetsim_core::scenario::{self, Action, Limits, Scenario};
use jetsim_core::sim::{Liveness, World};
use jetsim_core::time::{fmt_time, Time, MS};
use jetsim_core::trace::{Endpoint, TraceKind};

pub const USAGE: &str =
    "jetsim serve [<scenario>] [--servers N] [--port P] [--seed S] [--raft-timescale N/D] [--trace]";

const HELP: &str = "serve   run a scenario (or --servers N JetStream servers n1..nN in cluster \"jetsim\",
        default 3) in real time; server i listens on 127.0.0.1:<P+i> (P default 4222,
        0 = any free ports). Prints one nats:// URL per server, then `ready` once
        JetStream has a meta leader. Stdin takes actions in the scenario syntax
        (kill n2, restart n2, partition n1 | n2 n3, heal, c1: nats pub a hi, ...)
        and `status`, `help`, `quit`; `at 30s kill n2` / `+5s heal` schedule a step
        (virtual time = time since start); --trace prints the event log to stderr.";

/// Largest default cluster (the scenario limit on servers).
const MAX_SERVERS: u32 = 32;
/// Bytes read from one socket per loop turn.
const READ_CHUNK: usize = 64 * 1024;
/// Reads (of up to READ_CHUNK bytes) waiting for the world's thread at most.
const INPUT_QUEUE: usize = 256;
/// Listening sockets are polled at least this often.
const ACCEPT_POLL: Duration = Duration::from_millis(2);
/// A client that lets this much output pile up is disconnected (nats-server
/// would call it a slow consumer; its default limit is 64 MiB of pending bytes).
const MAX_PENDING_OUT: usize = 64 << 20;
/// Events processed per loop turn at most, so sockets stay served.
const MAX_EVENTS_PER_TURN: u64 = 200_000;
/// If virtual time lags wall time by more than this, the lag beyond it is
/// forgiven (virtual time slows down rather than spiralling).
const MAX_LAG: Time = 250 * MS;
/// Steps typed with a time waiting at most.
const MAX_SCHEDULED: usize = 2000;
/// Longest stdin line taken.
const MAX_LINE: usize = 4096;

struct Options {
    path: Option<String>,
    servers: Option<u32>,
    port: u16,
    seed: Option<u64>,
    timescale: Option<String>,
    trace: bool,
}

fn parse_options(args: &[String]) -> Result<Options, String> {
    let mut o = Options { path: None, servers: None, port: 4222, seed: None, timescale: None, trace: false };
    let mut i = 0;
    let value = |i: &mut usize, name: &str| -> Result<String, String> {
        *i += 1;
        args.get(*i).cloned().ok_or_else(|| format!("{name} needs a value"))
    };
    while i < args.len() {
        match args[i].as_str() {
            "--servers" => {
                let v = value(&mut i, "--servers")?;
                let n: u32 = v.parse().map_err(|_| format!("--servers {v:?} is not a whole number"))?;
                if n == 0 || n > MAX_SERVERS {
                    return Err(format!("--servers {n}: between 1 and {MAX_SERVERS}"));
                }
                o.servers = Some(n);
            }
            "--port" => {
                let v = value(&mut i, "--port")?;
                o.port = v.parse().map_err(|_| format!("--port {v:?} is not a port number (0 to 65535)"))?;
            }
            "--seed" => {
                let v = value(&mut i, "--seed")?;
                o.seed = Some(v.parse().map_err(|_| format!("--seed {v:?} is not a whole number"))?);
            }
            "--raft-timescale" => o.timescale = Some(value(&mut i, "--raft-timescale")?),
            "--trace" => o.trace = true,
            a if a.starts_with('-') => return Err(format!("unknown option {a}\nusage: {USAGE}")),
            a => {
                if o.path.is_some() {
                    return Err(format!("one scenario at a time (got {a:?} too)"));
                }
                o.path = Some(a.to_string());
            }
        }
        i += 1;
    }
    if o.path.is_some() && o.servers.is_some() {
        return Err("--servers is for the default cluster; a scenario names its own servers".into());
    }
    Ok(o)
}

/// The default cluster: `n` JetStream servers n1..nN in cluster "jetsim",
/// links like loopback (100 µs).
pub fn default_scenario_text(n: u32, timescale: Option<&str>) -> String {
    let mut t = String::from("jetsim 1\nname \"jetsim serve\"\n");
    if let Some(ts) = timescale {
        t.push_str(&format!("raft_timescale {ts}\n"));
    }
    t.push_str("cluster jetsim\n");
    for i in 1..=n {
        t.push_str(&format!("server n{i} cluster=jetsim jetstream=true\n"));
    }
    t.push_str("link default latency=100us\n");
    t
}

fn build(o: &Options) -> Result<Scenario, String> {
    let mut sc = match &o.path {
        Some(path) => crate::load(path)?,
        None => {
            let text = default_scenario_text(o.servers.unwrap_or(3), None);
            scenario::parse(&text).map_err(|e| format!("default cluster: {e}"))?
        }
    };
    if let Some(ts) = &o.timescale {
        // The scenario parser checks the value (N/D, 1 to 1000 each).
        let probe = scenario::parse(&format!("jetsim 1\nraft_timescale {ts}\n"))
            .map_err(|e| format!("--raft-timescale {ts:?}: {}", e.message))?;
        sc.raft_timescale = probe.raft_timescale;
    }
    Ok(sc)
}

struct Listener {
    server: Endpoint,
    port: u16,
    sock: Option<TcpListener>,
}

/// What the helper threads hand the world's thread.
enum Input {
    Line(Result<String, String>),
    /// Bytes read from connection `id`.
    Data(u64, Vec<u8>),
    /// Connection `id` reached EOF or failed (the client went away).
    Eof(u64),
}

/// What the world's thread hands a connection's writer thread.
enum Output {
    Bytes(Vec<u8>),
    /// Flush, then close the socket.
    Close,
}

struct Conn {
    ep: Endpoint,
    stream: TcpStream,
    tx: Sender<Output>,
    /// Bytes handed to the writer and not written yet.
    pending: Arc<AtomicUsize>,
}

fn bind(port: u16) -> io::Result<TcpListener> {
    let l = TcpListener::bind(("127.0.0.1", port))?;
    l.set_nonblocking(true)?;
    Ok(l)
}

pub fn cmd_serve(args: &[String]) -> Result<(), String> {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("usage: {USAGE}\n\n{HELP}");
        return Ok(());
    }
    let o = parse_options(args)?;
    let sc = build(&o)?;
    let seed = o.seed.or(sc.seed).unwrap_or(1);
    let n = sc.servers.len() as u32;
    if o.port != 0 && u32::from(o.port) + n - 1 > 65535 {
        return Err(format!(
            "--port {}: {n} servers need ports up to {}, beyond 65535",
            o.port,
            u32::from(o.port) + n - 1
        ));
    }
    let mut listeners = Vec::new();
    for i in 0..n {
        let want = if o.port == 0 { 0 } else { o.port + i as u16 };
        let name = &sc.servers[i as usize].name;
        let sock = bind(want).map_err(|e| format!("cannot listen on 127.0.0.1:{want} for {name}: {e}"))?;
        let port = sock.local_addr().map_err(|e| e.to_string())?.port();
        listeners.push(Listener { server: i, port, sock: Some(sock) });
    }
    let mut world = World::new(sc, seed).map_err(|e| e.to_string())?;
    world.set_track_in_flight(false);
    world.set_advertise(Advertise {
        host: "127.0.0.1".into(),
        ports: listeners.iter().map(|l| (l.server, l.port)).collect(),
    });
    let start = Instant::now();
    {
        let mut out = io::stdout().lock();
        for l in &listeners {
            let _ = writeln!(out, "nats://127.0.0.1:{}", l.port);
        }
        let _ = out.flush();
    }
    // Bounded: when the world falls behind, readers block and TCP pushes back.
    let (tx, rx) = mpsc::sync_channel(INPUT_QUEUE);
    spawn_stdin(tx.clone());
    let mut server = Serve {
        world,
        listeners,
        conns: BTreeMap::new(),
        next_id: 1,
        tx,
        start,
        lag: 0,
        ready: false,
        trace_from: 0,
        trace: o.trace,
        scheduled: BTreeMap::new(),
    };
    server.run(rx)
}

fn spawn_stdin(tx: SyncSender<Input>) {
    std::thread::spawn(move || {
        let stdin = io::stdin();
        let mut lock = stdin.lock();
        loop {
            let mut line = Vec::new();
            match (&mut lock).take(MAX_LINE as u64 + 1).read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let msg = if line.len() > MAX_LINE && !line.ends_with(b"\n") {
                // Skip the rest of the over-long line.
                let mut rest = Vec::new();
                let _ = lock.read_until(b'\n', &mut rest);
                Err(format!("line longer than {MAX_LINE} bytes ignored"))
            } else {
                String::from_utf8(line).map(|s| s.trim().to_string()).map_err(|_| "line is not UTF-8".to_string())
            };
            if tx.send(Input::Line(msg)).is_err() {
                return;
            }
        }
    });
}

/// A connection's reader: blocking reads, each chunk to the world's thread.
fn spawn_reader(id: u64, mut stream: TcpStream, tx: SyncSender<Input>) {
    std::thread::spawn(move || {
        let mut buf = vec![0u8; READ_CHUNK];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(k) => {
                    if tx.send(Input::Data(id, buf[..k].to_vec())).is_err() {
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        let _ = tx.send(Input::Eof(id));
    });
}

/// A connection's writer: blocking writes, so a slow reader slows only itself.
fn spawn_writer(mut stream: TcpStream, rx: Receiver<Output>, pending: Arc<AtomicUsize>) {
    std::thread::spawn(move || {
        while let Ok(out) = rx.recv() {
            match out {
                Output::Bytes(b) => {
                    let ok = stream.write_all(&b).is_ok();
                    pending.fetch_sub(b.len(), Ordering::Relaxed);
                    if !ok {
                        break;
                    }
                }
                Output::Close => break,
            }
        }
        // Ends the reader too (its read returns 0).
        let _ = stream.shutdown(Shutdown::Both);
    });
}

struct Serve {
    world: World,
    listeners: Vec<Listener>,
    /// Open connections by id (ids are never reused; endpoints are).
    conns: BTreeMap<u64, Conn>,
    next_id: u64,
    tx: SyncSender<Input>,
    start: Instant,
    /// Virtual time forgiven so far (ns the simulation fell behind).
    lag: Time,
    ready: bool,
    trace_from: u64,
    trace: bool,
    /// Steps typed with a time (`at 30s ...`, `+5s ...`), by (time, order).
    scheduled: BTreeMap<(Time, u64), Action>,
}

impl Serve {
    fn run(&mut self, rx: Receiver<Input>) -> Result<(), String> {
        loop {
            self.advance();
            self.accept();
            self.write();
            self.listeners_follow_liveness();
            self.check_ready();
            self.print_trace();
            // Sleep until the next event is due or input arrives; listeners
            // are polled at least every ACCEPT_POLL.
            let next = match (self.world.next_event_time(), self.scheduled.first_key_value()) {
                (Some(a), Some(((b, _), _))) => Some(a.min(*b)),
                (a, b) => a.or(b.map(|((t, _), _)| *t)),
            };
            let wait = match next {
                Some(t) => Duration::from_nanos(t.saturating_sub(self.virtual_target())).min(ACCEPT_POLL),
                None => ACCEPT_POLL,
            };
            let first = if wait.is_zero() { rx.try_recv().ok() } else { rx.recv_timeout(wait).ok() };
            let Some(first) = first else { continue };
            // Input is sent at the current virtual time.
            self.advance();
            // At most INPUT_QUEUE inputs per turn, so a flood cannot stop the clock.
            let mut next = Some(first);
            let mut handled = 0;
            while let Some(input) = next {
                if self.input(input) {
                    return Ok(());
                }
                handled += 1;
                next = if handled < INPUT_QUEUE { rx.try_recv().ok() } else { None };
            }
        }
    }

    /// Handle one input; true to quit.
    fn input(&mut self, input: Input) -> bool {
        match input {
            Input::Line(line) => return self.command(line),
            Input::Data(id, bytes) => {
                if let Some(c) = self.conns.get(&id) {
                    // Refused only once the server closed it: the bytes are lost, as on a real socket.
                    let _ = self.world.external_send(c.ep, &bytes);
                }
            }
            Input::Eof(id) => {
                // The client went away: a FIN to its server.
                if let Some(c) = self.conns.remove(&id) {
                    self.world.detach_external(c.ep);
                    let _ = c.tx.send(Output::Close);
                }
            }
        }
        false
    }

    fn virtual_target(&self) -> Time {
        let wall = u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        wall.saturating_sub(self.lag)
    }

    /// Run the world up to wall time, at most MAX_EVENTS_PER_TURN events;
    /// forgive lag beyond MAX_LAG.
    fn advance(&mut self) {
        let target = self.virtual_target().max(self.world.now());
        // Steps scheduled from stdin, each at its time.
        while let Some(entry) = self.scheduled.first_entry() {
            let at = entry.key().0;
            if at > target || !self.world.run_until_bounded(at, MAX_EVENTS_PER_TURN) {
                break;
            }
            let action = entry.remove();
            let line = self.apply(&action);
            let mut out = io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
        if !self.world.run_until_bounded(target, MAX_EVENTS_PER_TURN) {
            let behind = target.saturating_sub(self.world.now());
            if behind > MAX_LAG {
                self.lag += behind - MAX_LAG;
            }
        }
    }

    fn accept(&mut self) {
        for i in 0..self.listeners.len() {
            while let Some(sock) = &self.listeners[i].sock {
                match sock.accept() {
                    Ok((stream, _)) => {
                        let server = self.listeners[i].server;
                        self.open(server, stream);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => {
                        eprintln!("jetsim serve: accept on port {}: {e}", self.listeners[i].port);
                        break;
                    }
                }
            }
        }
    }

    fn open(&mut self, server: Endpoint, stream: TcpStream) {
        let _ = stream.set_nonblocking(false);
        let _ = stream.set_nodelay(true);
        let (reader, writer) = match (stream.try_clone(), stream.try_clone()) {
            (Ok(r), Ok(w)) => (r, w),
            _ => {
                let _ = stream.shutdown(Shutdown::Both);
                return;
            }
        };
        match self.world.attach_external(server) {
            Ok(ep) => {
                let id = self.next_id;
                self.next_id += 1;
                let (otx, orx) = mpsc::channel();
                let pending = Arc::new(AtomicUsize::new(0));
                spawn_writer(writer, orx, pending.clone());
                spawn_reader(id, reader, self.tx.clone());
                self.conns.insert(id, Conn { ep, stream, tx: otx, pending });
            }
            Err(e) => {
                eprintln!("jetsim serve: connection to {} refused: {e}", self.world.name(server));
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
    }

    /// Hand what the servers sent to the writers; close what they closed.
    fn write(&mut self) {
        let mut done = Vec::new();
        for (&id, c) in &self.conns {
            let mut bytes = Vec::new();
            let mut closed = false;
            for e in self.world.external_take(c.ep) {
                match e {
                    ExternalEvent::Bytes(b) => bytes.extend_from_slice(&b),
                    ExternalEvent::Closed => closed = true,
                }
            }
            if !bytes.is_empty() {
                let n = bytes.len();
                if c.pending.fetch_add(n, Ordering::Relaxed) + n > MAX_PENDING_OUT {
                    eprintln!(
                        "jetsim serve: {} is not reading (over {MAX_PENDING_OUT} bytes pending): closed",
                        self.world.name(c.ep)
                    );
                    // Closing the socket under the writer unblocks it.
                    let _ = c.stream.shutdown(Shutdown::Both);
                    closed = true;
                } else {
                    let _ = c.tx.send(Output::Bytes(bytes));
                }
            }
            if closed {
                let _ = c.tx.send(Output::Close);
                done.push(id);
            }
        }
        for id in done {
            if let Some(c) = self.conns.remove(&id) {
                self.world.detach_external(c.ep);
            }
        }
    }

    /// A crashed server's port refuses connections (like a dead process);
    /// it listens again once the server is restarted.
    fn listeners_follow_liveness(&mut self) {
        for l in &mut self.listeners {
            let down = self.world.servers[l.server as usize].liveness == Liveness::Down;
            if down && l.sock.is_some() {
                l.sock = None;
            } else if !down && l.sock.is_none() {
                match bind(l.port) {
                    Ok(s) => l.sock = Some(s),
                    Err(e) => eprintln!("jetsim serve: cannot listen again on port {}: {e} (retrying)", l.port),
                }
            }
        }
    }

    /// `ready` once every cluster with JetStream servers has a meta leader
    /// (a single server is its own meta group: ready as soon as it leads).
    fn check_ready(&mut self) {
        if self.ready {
            return;
        }
        let w = &self.world;
        let mut clusters: BTreeMap<&str, Endpoint> = BTreeMap::new();
        for (i, s) in w.servers.iter().enumerate() {
            if s.config.jetstream {
                clusters.entry(s.config.cluster.as_str()).or_insert(i as Endpoint);
            }
        }
        if clusters.values().all(|&ep| w.meta_leader(ep).is_some()) {
            self.ready = true;
            let mut out = io::stdout().lock();
            let _ = writeln!(out, "ready");
            let _ = out.flush();
        }
    }

    fn print_trace(&mut self) {
        let count = self.world.trace.count();
        if self.trace {
            let mut err = io::stderr().lock();
            for e in self.world.trace.since(self.trace_from) {
                if World::is_headline(&e.kind) {
                    let _ = writeln!(err, "{:>12} {}", fmt_time(e.at), self.world.describe(&e.kind));
                }
            }
        }
        self.trace_from = count;
    }

    /// One stdin line. Returns true to quit.
    fn command(&mut self, line: Result<String, String>) -> bool {
        let mut out = io::stdout().lock();
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                let _ = writeln!(out, "error: {e}");
                let _ = out.flush();
                return false;
            }
        };
        match line.as_str() {
            "" => {}
            "quit" | "exit" => return true,
            "help" => {
                let _ = writeln!(out, "{HELP}");
            }
            "status" => {
                let w = &self.world;
                let _ = write!(out, "at {}:", fmt_time(w.now()));
                for (i, s) in w.servers.iter().enumerate() {
                    let state = match s.liveness {
                        Liveness::Up => "up",
                        Liveness::Down => "down",
                        Liveness::Paused => "paused",
                    };
                    let port = self.listeners.get(i).map_or(0, |l| l.port);
                    let _ = write!(out, " {}={state}:{port}", s.config.name);
                }
                let leader = w.meta_leader(0).map(|e| w.name(e).to_string()).unwrap_or_else(|| "none".into());
                let _ = writeln!(out, " meta_leader={leader} connections={}", self.conns.len());
            }
            text if text.starts_with("at ") || text.starts_with('+') => {
                // A timed step: `at 30s kill n2` (virtual time since start) or `+5s heal`.
                let now = self.world.now();
                match scenario::parse_step_line(text, now, self.world.scenario(), &Limits::default()) {
                    Ok((at, action)) if at <= now => {
                        let _ = writeln!(out, "{}", self.apply(&action));
                    }
                    Ok(_) if self.scheduled.len() >= MAX_SCHEDULED => {
                        let _ = writeln!(out, "error: {MAX_SCHEDULED} steps are already scheduled");
                    }
                    Ok((at, action)) => {
                        let _ = writeln!(out, "scheduled at {}: {}", fmt_time(at), scenario::action_text(&action));
                        self.scheduled.insert((at, self.next_id), action);
                        self.next_id += 1;
                    }
                    Err(e) => {
                        let _ = writeln!(out, "error: {e}");
                    }
                }
            }
            text => match scenario::parse_action_line(text, self.world.scenario(), &Limits::default()) {
                Ok(action) => {
                    let _ = writeln!(out, "{}", self.apply(&action));
                }
                Err(e) => {
                    let _ = writeln!(out, "error: {e}");
                }
            },
        }
        let _ = out.flush();
        false
    }

    /// Apply an action now; what happened, as one line.
    fn apply(&mut self, action: &Action) -> String {
        let from = self.world.trace.count();
        self.world.apply_action(action);
        let mut line = format!("at {}: {}", fmt_time(self.world.now()), scenario::action_text(action));
        let effects: Vec<String> = self
            .world
            .trace
            .since(from)
            .filter(|e| World::is_headline(&e.kind))
            .filter(|e| !matches!(e.kind, TraceKind::Fault { .. }))
            .map(|e| self.world.describe(&e.kind))
            .collect();
        if !effects.is_empty() {
            line.push_str(&format!(" ({})", effects.join("; ")));
        }
        line
    }
}
