//! The world: servers, clients and the links between them, an event queue with
//! a total, stable order (virtual time, then insertion sequence), the run's one
//! seeded PRNG, faults, and the trace. Nodes are sans-IO state machines; the
//! world is the only thing that moves frames and fires timers.

use crate::vecmap::VecMap as BTreeMap; // sorted-Vec map: small maps, smaller wasm (see vecmap.rs)
use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};
use std::rc::Rc;

use crate::client::{Client, ClientConfig};
use crate::external::{Advertise, ExternalConn, ExternalEvent, MAX_EXTERNAL, MAX_SEND_BYTES};
use crate::jetstream::{JsEntry, JsOptions, PeerInfo};
use crate::link::{Latency, LinkTable};
use crate::node::{Ctx, Frame, Outbox, Timer};
use crate::rng::Rng;
use crate::scenario::{Action, Fault, LatencySpec, Scenario, Selector, SplitKey};
use crate::server::{Server, ServerConfig};
use crate::time::{Time, MS};
use crate::trace::{DropReason, Endpoint, FrameKind, Label, ServerState, Trace, TraceKind};
use jetsim_raft::invariants::{Checker, NodeView};
use jetsim_raft::Storage;

/// How far a run goes when neither the command line nor the scenario says
/// (`until`): the same rule natively (`jetsim run`) and in the browser.
pub const DEFAULT_UNTIL: Time = 60 * crate::time::SEC;

/// Run a scenario headlessly to `until` (else the scenario's own `until`, else
/// [`DEFAULT_UNTIL`]) with at most `max_events` events, keeping no trace ring
/// and no frames for drawing. Errors are human-readable.
pub fn run_headless(text: &str, seed: u64, until: Option<Time>, max_events: u64) -> Result<World, String> {
    let sc = crate::scenario::parse(text).map_err(|e| e.to_string())?;
    let until = until.or(sc.until).unwrap_or(DEFAULT_UNTIL);
    let mut world = World::new(sc, seed).map_err(|e| e.to_string())?;
    world.set_track_in_flight(false);
    world.trace.set_capacity(0);
    if !world.run_until_bounded(until, max_events) {
        return Err(format!("stopped after {max_events} events at {}", crate::time::fmt_time(world.now())));
    }
    Ok(world)
}

/// Default latency of every link when the scenario sets none.
pub const DEFAULT_LATENCY: Latency = Latency::Fixed(MS);

#[derive(Debug)]
enum EventKind {
    Frame { id: u64, from: Endpoint, to: Endpoint, epoch: u32, frame: Frame, kind: FrameKind },
    Timer { node: Endpoint, incarnation: u32, timer: Timer },
    Step(usize),
}

/// A queue key: small, so heap sifts move 24 bytes, not whole events. The
/// event itself waits in the slab at `slot`.
#[derive(Debug, Clone, Copy)]
struct Key {
    at: Time,
    seq: u64,
    slot: u32,
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at && self.seq == other.seq
    }
}
impl Eq for Key {}
impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Key {
    // Reversed: BinaryHeap is a max-heap and we want the earliest first;
    // ties in time go in insertion order, so the order is total and stable.
    fn cmp(&self, other: &Self) -> Ordering {
        other.at.cmp(&self.at).then_with(|| other.seq.cmp(&self.seq))
    }
}

/// A frame on the wire, for drawing.
#[derive(Clone, Debug, PartialEq)]
pub struct InFlight {
    pub id: u64,
    pub from: Endpoint,
    pub to: Endpoint,
    pub sent_at: Time,
    pub arrives_at: Time,
    pub label: Label,
}

/// Liveness of a server process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Liveness {
    Up,
    Down,
    Paused,
}

#[derive(Debug)]
pub struct ServerSlot {
    pub config: ServerConfig,
    pub liveness: Liveness,
    /// Bumped on every crash; stale timers carry an older one.
    pub incarnation: u32,
    pub node: Server,
    /// The server's disk while it is down: its JetStream Raft storages by
    /// group name (the crash or power-loss image). Empty while it runs (the
    /// running server holds them).
    pub disk: BTreeMap<Rc<str>, Storage<JsEntry>>,
}

/// A broken safety property, with the step that revealed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ViolationRecord {
    /// Raft group (`_meta_` or the stream's group), or empty for the
    /// acknowledged-publish check.
    pub group: String,
    pub stream: Option<String>,
    /// Virtual time and trace position of the step after which it was seen.
    pub at: Time,
    pub trace_seq: u64,
    pub text: String,
}

/// An acknowledged publish missing from a replica.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LostAck {
    pub client: String,
    pub stream: String,
    pub seq: u64,
    /// The server missing it (`None`: the stream itself is gone everywhere).
    pub server: Option<String>,
}

#[derive(Debug)]
pub struct ClientSlot {
    pub node: Client,
}

/// Aggregate counters of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metrics {
    pub events: u64,
    pub frames_sent: u64,
    pub frames_delivered: u64,
    pub frames_dropped: u64,
    pub timers_fired: u64,
    pub faults: u64,
}

#[derive(Debug)]
pub struct World {
    now: Time,
    seq: u64,
    next_frame_id: u64,
    rng: Rng,
    pub seed: u64,
    queue: BinaryHeap<Key>,
    slab: Vec<Option<EventKind>>,
    free: Vec<u32>,
    /// Events held for paused servers, replayed in order on resume.
    held: BTreeMap<Endpoint, VecDeque<EventKind>>,
    pub servers: Vec<ServerSlot>,
    pub clients: Vec<ClientSlot>,
    links: LinkTable,
    /// Frames in flight (for drawing), keyed by frame id.
    in_flight: std::collections::BTreeMap<u64, InFlight>,
    track_in_flight: bool,
    pub trace: Trace,
    pub metrics: Metrics,
    scenario: Rc<Scenario>,
    /// Route state between servers i<j, as the servers see it.
    routes_up: BTreeMap<(Endpoint, Endpoint), bool>,
    outbox: Outbox,
    names: Vec<String>,
    check_invariants: bool,
    checkers: BTreeMap<Rc<str>, Checker<JsEntry>>,
    /// Groups already reported (one violation per group is kept).
    violated: crate::vecmap::VecSet<Rc<str>>,
    pub violations: Vec<ViolationRecord>,
    /// The last kill / power-loss fault: (time, trace seq, text).
    pub last_crash: Option<(Time, u64, String)>,
    /// External connections (real clients), by endpoint. Their endpoints
    /// come after every scenario server and client.
    externals: BTreeMap<Endpoint, ExternalConn>,
    /// Endpoints of detached external connections, for reuse (smallest last).
    free_externals: Vec<Endpoint>,
    /// Endpoints created for external connections so far.
    external_endpoints: u32,
    /// External connections attached so far (names them `ext1`, `ext2`, ...).
    external_attached: u64,
    /// Real addresses announced in INFO (`jetsim serve`).
    advertise: Option<Rc<Advertise>>,
}

/// A world could not be built from a scenario: the line and what is wrong
/// (the same shape as a parse error, so callers report both alike).
pub type BuildError = crate::scenario::ParseError;

impl World {
    /// Build a world from a (parsed, validated) scenario and a seed.
    pub fn new(scenario: Scenario, seed: u64) -> Result<World, BuildError> {
        let scenario = Rc::new(scenario);
        let mut rng = Rng::new(seed);
        let n_servers = scenario.servers.len() as u32;
        let n = n_servers + scenario.clients.len() as u32;
        let mut names: Vec<String> = scenario.servers.iter().map(|s| s.name.clone()).collect();
        names.extend(scenario.clients.iter().map(|c| c.name.clone()));
        let index: BTreeMap<&str, Endpoint> =
            names.iter().enumerate().map(|(i, n)| (n.as_str(), i as Endpoint)).collect();

        let mut servers = Vec::new();
        for (i, s) in scenario.servers.iter().enumerate() {
            let cluster_peers: Vec<Endpoint> = scenario
                .servers
                .iter()
                .enumerate()
                .filter(|(_, o)| o.cluster == s.cluster)
                .map(|(j, _)| j as Endpoint)
                .collect();
            let config = ServerConfig {
                name: s.name.clone(),
                cluster: s.cluster.clone(),
                az: s.az.clone(),
                region: s.region.clone(),
                tags: s.tags.clone(),
                jetstream: s.jetstream,
                max_payload: s.max_payload,
            };
            let server_id = server_id(&mut rng, i);
            servers.push(ServerSlot {
                node: Server::new(config.clone(), cluster_peers, server_id),
                config,
                liveness: Liveness::Up,
                incarnation: 0,
                disk: BTreeMap::new(),
            });
        }
        let mut clients = Vec::new();
        for c in &scenario.clients {
            let mut eps = Vec::new();
            for s in &c.servers {
                match index.get(s.as_str()) {
                    Some(&e) if e < n_servers => eps.push(e),
                    _ => {
                        return Err(BuildError {
                            line: c.line,
                            message: format!("client {} names unknown server {s}", c.name),
                        })
                    }
                }
            }
            clients.push(ClientSlot {
                node: Client::new(ClientConfig {
                    name: c.name.clone(),
                    servers: eps,
                    echo: c.echo,
                    headers: c.headers,
                    no_responders: c.no_responders,
                }),
            });
        }

        let mut world = World {
            now: 0,
            seq: 0,
            next_frame_id: 1,
            rng,
            seed,
            queue: BinaryHeap::new(),
            slab: Vec::new(),
            free: Vec::new(),
            held: BTreeMap::new(),
            servers,
            clients,
            links: LinkTable::new(n, DEFAULT_LATENCY),
            in_flight: std::collections::BTreeMap::new(),
            track_in_flight: true,
            trace: Trace::new(10_000),
            metrics: Metrics::default(),
            scenario: scenario.clone(),
            routes_up: BTreeMap::new(),
            outbox: Outbox::default(),
            names,
            check_invariants: false,
            checkers: BTreeMap::new(),
            violated: crate::vecmap::VecSet::new(),
            violations: Vec::new(),
            last_crash: None,
            externals: BTreeMap::new(),
            free_externals: Vec::new(),
            external_endpoints: 0,
            external_attached: 0,
            advertise: None,
        };
        // More specific rules win whatever their order: default, then region,
        // cluster, AZ, client links, and named endpoints last; among rules of
        // equal specificity the later line wins.
        let mut rules: Vec<&crate::scenario::LinkRule> = scenario.links.iter().collect();
        crate::sort::sort_by_key(&mut rules, |r| specificity(&r.a) + specificity(&r.b));
        for rule in rules {
            world.apply_latency(&rule.a, &rule.b, &rule.latency);
        }
        for (i, step) in scenario.script.iter().enumerate() {
            world.push(step.at, EventKind::Step(i));
        }
        // Routes form between every pair of servers of a cluster.
        world.refresh_routes();
        for ep in 0..n_servers {
            world.start_jetstream(ep);
        }
        // Clients connect at time zero, in order.
        for c in 0..world.clients.len() {
            let ep = n_servers + c as Endpoint;
            world.with_client(ep, |client, ctx| client.start(ctx));
        }
        Ok(world)
    }

    pub fn now(&self) -> Time {
        self.now
    }

    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    pub fn server_count(&self) -> u32 {
        self.servers.len() as u32
    }

    /// The name of a server or client endpoint.
    pub fn name(&self, ep: Endpoint) -> &str {
        self.names.get(ep as usize).map(String::as_str).unwrap_or("?")
    }

    pub fn endpoint(&self, name: &str) -> Option<Endpoint> {
        self.names.iter().position(|n| n == name).map(|i| i as Endpoint)
    }

    pub fn is_server(&self, ep: Endpoint) -> bool {
        ep < self.server_count()
    }

    /// Is `ep` one of the scenario's simulated clients?
    pub fn is_client(&self, ep: Endpoint) -> bool {
        ep >= self.server_count() && ((ep - self.server_count()) as usize) < self.clients.len()
    }

    /// Is `ep` an external connection's endpoint (attached now or earlier)?
    pub fn is_external(&self, ep: Endpoint) -> bool {
        ep >= self.server_count() + self.clients.len() as u32 && ep < self.links.len_endpoints()
    }

    /// Keep (or stop keeping) the set of frames in flight for drawing.
    pub fn set_track_in_flight(&mut self, on: bool) {
        self.track_in_flight = on;
        if !on {
            self.in_flight.clear();
        }
    }

    pub fn in_flight(&self) -> impl Iterator<Item = &InFlight> {
        self.in_flight.values()
    }

    /// Latency model of the direction `from → to`.
    pub fn latency(&self, from: Endpoint, to: Endpoint) -> &Latency {
        &self.links.dir(from, to).latency
    }

    pub fn is_cut(&self, from: Endpoint, to: Endpoint) -> bool {
        self.links.dir(from, to).cut
    }

    pub fn route_up(&self, a: Endpoint, b: Endpoint) -> bool {
        let key = if a < b { (a, b) } else { (b, a) };
        self.routes_up.get(&key).copied().unwrap_or(false)
    }

    /// Events waiting in the queue.
    pub fn queue_len(&self) -> usize {
        self.queue.len()
    }

    /// Time of the next event, if any.
    pub fn next_event_time(&self) -> Option<Time> {
        self.queue.peek().map(|e| e.at)
    }

    fn push(&mut self, at: Time, kind: EventKind) {
        let seq = self.seq;
        self.seq += 1;
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slab[slot as usize] = Some(kind);
                slot
            }
            None => {
                self.slab.push(Some(kind));
                (self.slab.len() - 1) as u32
            }
        };
        self.queue.push(Key { at, seq, slot });
    }

    fn emit(&mut self, kind: TraceKind) {
        self.trace.emit(self.now, kind);
    }

    /// Process the next event. Returns its time, or `None` when nothing is left.
    pub fn step(&mut self) -> Option<Time> {
        let key = self.queue.pop()?;
        let kind = self.slab[key.slot as usize].take()?;
        self.free.push(key.slot);
        self.now = self.now.max(key.at);
        self.metrics.events += 1;
        self.dispatch(kind);
        if self.check_invariants {
            self.observe_invariants();
        }
        Some(self.now)
    }

    /// Process every event up to and including `t`, then set the clock to `t`.
    pub fn run_until(&mut self, t: Time) {
        while let Some(at) = self.next_event_time() {
            if at > t {
                break;
            }
            self.step();
        }
        self.now = self.now.max(t);
    }

    /// Run at most `max_events` events up to `t`; returns whether `t` was reached.
    pub fn run_until_bounded(&mut self, t: Time, max_events: u64) -> bool {
        let mut n = 0;
        while let Some(at) = self.next_event_time() {
            if at > t {
                break;
            }
            if n >= max_events {
                return false;
            }
            self.step();
            n += 1;
        }
        self.now = self.now.max(t);
        true
    }

    fn dispatch(&mut self, kind: EventKind) {
        match kind {
            EventKind::Step(i) => {
                let scenario = self.scenario.clone();
                if let Some(step) = scenario.script.get(i) {
                    self.apply_action(&step.action);
                }
            }
            EventKind::Frame { id, from, to, epoch, frame, kind } => {
                if self.is_server(to) && self.servers[to as usize].liveness == Liveness::Paused {
                    self.held.entry(to).or_default().push_back(EventKind::Frame { id, from, to, epoch, frame, kind });
                    return;
                }
                self.in_flight.remove(&id);
                let dir = self.links.dir_mut(from, to);
                if dir.epoch != epoch {
                    dir.frames_dropped += 1;
                    self.metrics.frames_dropped += 1;
                    let reason = if dir.cut { DropReason::Partition } else { DropReason::ConnectionClosed };
                    self.emit(TraceKind::Drop { id, from, to, kind, reason });
                    return;
                }
                if self.is_server(to) && self.servers[to as usize].liveness == Liveness::Down {
                    self.metrics.frames_dropped += 1;
                    self.emit(TraceKind::Drop { id, from, to, kind, reason: DropReason::NodeDown });
                    return;
                }
                if self.is_external(to) && !self.external_accepts(to, from) {
                    // For a connection detached (or replaced) meanwhile.
                    self.metrics.frames_dropped += 1;
                    self.emit(TraceKind::Drop { id, from, to, kind, reason: DropReason::ConnectionClosed });
                    return;
                }
                self.metrics.frames_delivered += 1;
                self.emit(TraceKind::Deliver { id, from, to, kind });
                if self.is_server(to) {
                    self.with_server(to, |s, ctx| s.on_frame(ctx, from, frame));
                } else if self.is_client(to) {
                    self.with_client(to, |c, ctx| c.on_frame(ctx, from, frame));
                } else {
                    self.external_frame(to, frame);
                }
            }
            EventKind::Timer { node, incarnation, timer } => {
                if self.is_server(node) {
                    let slot = &self.servers[node as usize];
                    if slot.incarnation != incarnation || slot.liveness == Liveness::Down {
                        return;
                    }
                    if slot.liveness == Liveness::Paused {
                        self.held.entry(node).or_default().push_back(EventKind::Timer { node, incarnation, timer });
                        return;
                    }
                    self.metrics.timers_fired += 1;
                    self.with_server(node, |s, ctx| s.js_timer(ctx, timer));
                } else {
                    self.metrics.timers_fired += 1;
                    self.with_client(node, |c, ctx| c.on_timer(ctx, timer));
                }
            }
        }
    }

    fn with_server(&mut self, ep: Endpoint, f: impl FnOnce(&mut Server, &mut Ctx)) {
        let mut out = std::mem::take(&mut self.outbox);
        {
            let mut ctx = Ctx { now: self.now, me: ep, rng: &mut self.rng, out: &mut out };
            f(&mut self.servers[ep as usize].node, &mut ctx);
        }
        self.flush(ep, &mut out);
        self.outbox = out;
    }

    fn with_client(&mut self, ep: Endpoint, f: impl FnOnce(&mut Client, &mut Ctx)) {
        let idx = (ep - self.server_count()) as usize;
        let mut out = std::mem::take(&mut self.outbox);
        {
            let mut ctx = Ctx { now: self.now, me: ep, rng: &mut self.rng, out: &mut out };
            f(&mut self.clients[idx].node, &mut ctx);
        }
        self.flush(ep, &mut out);
        self.outbox = out;
    }

    /// Carry out what a node asked for: trace, sends, timers (in that order).
    fn flush(&mut self, from: Endpoint, out: &mut Outbox) {
        for t in out.trace.drain(..) {
            self.trace.emit(self.now, t);
        }
        for (to, frame, label) in out.sends.drain(..) {
            self.transmit(from, to, frame, label);
        }
        let incarnation = if self.is_server(from) { self.servers[from as usize].incarnation } else { 0 };
        for (at, timer) in out.timers.drain(..) {
            self.push(at.max(self.now), EventKind::Timer { node: from, incarnation, timer });
        }
    }

    fn transmit(&mut self, from: Endpoint, to: Endpoint, frame: Frame, label: Label) {
        if to >= self.links.len_endpoints() {
            return;
        }
        let id = self.next_frame_id;
        self.next_frame_id += 1;
        let bytes = frame.wire_len();
        let dir = self.links.dir_mut(from, to);
        let arrives = dir.schedule(self.now, &mut self.rng);
        let epoch = dir.epoch;
        let cut = dir.cut;
        self.metrics.frames_sent += 1;
        let kind = label.kind;
        if self.track_in_flight && !cut {
            self.in_flight
                .insert(id, InFlight { id, from, to, sent_at: self.now, arrives_at: arrives, label: label.clone() });
        }
        self.trace.emit(self.now, TraceKind::Send { id, from, to, label, bytes, arrives });
        if cut {
            // Sent into a partition: lost.
            self.links.dir_mut(from, to).frames_dropped += 1;
            self.metrics.frames_dropped += 1;
            self.emit(TraceKind::Drop { id, from, to, kind, reason: DropReason::Partition });
            return;
        }
        self.push(arrives, EventKind::Frame { id, from, to, epoch, frame, kind });
    }

    // ------------------------------------------------------------- externals

    /// Announce real addresses in every server's INFO (`jetsim serve`): the
    /// host, each server's port, `connect_urls`, and the 2.12.8 binary's
    /// `git_commit`/`go`/`api_lvl`. Kept across restarts.
    pub fn set_advertise(&mut self, adv: Advertise) {
        let adv = Rc::new(adv);
        for s in &mut self.servers {
            s.node.advertise = Some(adv.clone());
        }
        self.advertise = Some(adv);
    }

    /// Open a connection from outside to `server`, as a TCP connect: a new
    /// endpoint (named `ext<N>`) with a link to the server whose latency
    /// follows the scenario's `link` rules (else the 1 ms default), and an
    /// `Open` frame on it; the server answers with INFO. Refused for a server
    /// that is down (a real one refuses the TCP connection) and beyond
    /// [`MAX_EXTERNAL`] open connections.
    pub fn attach_external(&mut self, server: Endpoint) -> Result<Endpoint, String> {
        if !self.is_server(server) {
            return Err(format!("no server with endpoint {server}"));
        }
        if self.servers[server as usize].liveness == Liveness::Down {
            return Err(format!("server {} is down", self.name(server)));
        }
        if self.externals.len() >= MAX_EXTERNAL {
            return Err(format!("too many external connections: the limit is {MAX_EXTERNAL}"));
        }
        self.external_attached += 1;
        let name = format!("ext{}", self.external_attached);
        let ep = match self.free_externals.pop() {
            Some(ep) => {
                // What servers still send to the previous connection on this
                // endpoint is dropped; what it sent (its Close) still arrives.
                for x in 0..self.server_count() {
                    let d = self.links.dir_mut(x, ep);
                    d.reset();
                    d.heal();
                    self.links.dir_mut(ep, x).heal();
                }
                self.names[ep as usize] = name;
                ep
            }
            None => {
                let ep = self.links.len_endpoints();
                self.grow_links(ep + 1);
                self.external_endpoints += 1;
                debug_assert_eq!(self.names.len(), ep as usize);
                self.names.push(name);
                ep
            }
        };
        self.externals.insert(ep, ExternalConn { server, events: Vec::new(), closed: false });
        self.apply_latency_rules_to(ep);
        self.transmit(ep, server, Frame::Open, Label { kind: FrameKind::Connect, subject: None });
        Ok(ep)
    }

    /// Bytes from the outside client on `ep`, sent now (they reach the
    /// server after the link's latency, in order). Refused once the server
    /// has closed the connection or after [`World::detach_external`].
    pub fn external_send(&mut self, ep: Endpoint, bytes: &[u8]) -> Result<(), String> {
        let Some(x) = self.externals.get(&ep) else {
            return Err(format!("no external connection {ep}"));
        };
        if x.closed {
            return Err(format!("connection {} was closed by the server", self.name(ep)));
        }
        let server = x.server;
        for chunk in bytes.chunks(MAX_SEND_BYTES) {
            let kind = if chunk.starts_with(b"PUB ") || chunk.starts_with(b"HPUB ") {
                FrameKind::Publish
            } else {
                FrameKind::ClientCtl
            };
            let frame = Frame::Bytes(bytes::Bytes::copy_from_slice(chunk));
            self.transmit(ep, server, frame, Label { kind, subject: None });
        }
        Ok(())
    }

    /// What the server sent to `ep` since the last call, in order (empty for
    /// an unknown endpoint).
    pub fn external_take(&mut self, ep: Endpoint) -> Vec<ExternalEvent> {
        self.externals.get_mut(&ep).map(|x| std::mem::take(&mut x.events)).unwrap_or_default()
    }

    /// The outside client went away: a FIN to the server (unless the server
    /// closed first). The endpoint is reused by a later attach.
    pub fn detach_external(&mut self, ep: Endpoint) {
        let Some(x) = self.externals.remove(&ep) else { return };
        if !x.closed {
            self.transmit(ep, x.server, Frame::Close, Label { kind: FrameKind::Close, subject: None });
        }
        self.free_externals.push(ep);
    }

    /// The server of an attached external connection.
    pub fn external_server(&self, ep: Endpoint) -> Option<Endpoint> {
        self.externals.get(&ep).map(|x| x.server)
    }

    /// Has the server closed external connection `ep` (or is it unknown)?
    pub fn external_closed(&self, ep: Endpoint) -> bool {
        self.externals.get(&ep).is_none_or(|x| x.closed)
    }

    /// Attached external connections, by endpoint.
    pub fn externals(&self) -> impl Iterator<Item = (Endpoint, &ExternalConn)> {
        self.externals.iter().map(|(&e, x)| (e, x))
    }

    /// Is a frame from `from` for external endpoint `to` still wanted?
    fn external_accepts(&self, to: Endpoint, from: Endpoint) -> bool {
        self.externals.get(&to).is_some_and(|x| x.server == from && !x.closed)
    }

    fn external_frame(&mut self, to: Endpoint, frame: Frame) {
        let Some(x) = self.externals.get_mut(&to) else { return };
        match frame {
            Frame::Bytes(b) => x.events.push(ExternalEvent::Bytes(b)),
            Frame::Close => {
                x.closed = true;
                x.events.push(ExternalEvent::Closed);
            }
            Frame::Open | Frame::Route(_) | Frame::Raft { .. } => {}
        }
    }

    /// Grow the dense link table to `n` endpoints, keeping every direction.
    fn grow_links(&mut self, n: u32) {
        let old = self.links.len_endpoints();
        let mut links = LinkTable::new(n, DEFAULT_LATENCY);
        for a in 0..old {
            for b in 0..old {
                *links.dir_mut(a, b) = self.links.dir(a, b).clone();
            }
        }
        self.links = links;
    }

    /// The scenario's `link` rules, in their order of precedence, applied to
    /// the links of endpoint `ep` only.
    fn apply_latency_rules_to(&mut self, ep: Endpoint) {
        for x in 0..self.server_count() {
            self.links.dir_mut(x, ep).latency = DEFAULT_LATENCY;
            self.links.dir_mut(ep, x).latency = DEFAULT_LATENCY;
        }
        let scenario = self.scenario.clone();
        let mut rules: Vec<&crate::scenario::LinkRule> = scenario.links.iter().collect();
        crate::sort::sort_by_key(&mut rules, |r| specificity(&r.a) + specificity(&r.b));
        for rule in rules {
            self.apply_latency_where(&rule.a, &rule.b, &rule.latency, Some(ep));
        }
    }

    // ---------------------------------------------------------------- faults

    /// Apply a script or console action now.
    pub fn apply_action(&mut self, action: &Action) {
        match action {
            Action::Client { client, cmd } => {
                if let Some(ep) = self.endpoint(client) {
                    if self.is_client(ep) {
                        self.with_client(ep, |c, ctx| c.on_command(ctx, cmd));
                    }
                }
            }
            Action::Fault(f) => self.apply_fault(f),
            Action::Note(text) => self.emit(TraceKind::Note { text: Rc::from(text.as_str()) }),
        }
    }

    pub fn apply_fault(&mut self, fault: &Fault) {
        self.metrics.faults += 1;
        self.emit(TraceKind::Fault { text: Rc::from(describe_fault(fault).as_str()) });
        match fault {
            Fault::Kill(name) => {
                self.last_crash = Some((self.now, self.trace.count(), format!("kill {name}")));
                if let Some(ep) = self.server_ep(name) {
                    self.kill(ep);
                }
            }
            Fault::PowerLoss(name) => {
                self.last_crash = Some((self.now, self.trace.count(), format!("power-loss {name}")));
                if let Some(ep) = self.server_ep(name) {
                    self.power_loss(ep);
                }
            }
            Fault::Restart(name) => {
                if let Some(ep) = self.server_ep(name) {
                    self.restart(ep);
                }
            }
            Fault::Pause(name) => {
                if let Some(ep) = self.server_ep(name) {
                    if self.servers[ep as usize].liveness == Liveness::Up {
                        self.servers[ep as usize].liveness = Liveness::Paused;
                        self.emit(TraceKind::ServerState { server: ep, state: ServerState::Paused });
                    }
                }
            }
            Fault::Resume(name) => {
                if let Some(ep) = self.server_ep(name) {
                    self.resume(ep);
                }
            }
            Fault::Partition(groups) => {
                let sets: Vec<Vec<Endpoint>> = groups.iter().map(|g| self.select_all(g)).collect();
                for (i, a) in sets.iter().enumerate() {
                    for b in sets.iter().skip(i + 1) {
                        self.cut_between(a, b, true);
                    }
                }
                self.refresh_routes();
            }
            Fault::PartitionOneWay(a, b) => {
                let a = self.select_all(a);
                let b = self.select_all(b);
                self.cut_between(&a, &b, false);
                self.refresh_routes();
            }
            Fault::Isolate(name) => {
                if let Some(ep) = self.server_ep(name) {
                    let others: Vec<Endpoint> = (0..self.server_count()).filter(|&s| s != ep).collect();
                    self.cut_between(&[ep], &others, true);
                    self.refresh_routes();
                }
            }
            Fault::SplitBy(key) => {
                let mut groups: BTreeMap<Option<String>, Vec<Endpoint>> = BTreeMap::new();
                for (i, s) in self.servers.iter().enumerate() {
                    let k = match key {
                        SplitKey::Az => s.config.az.clone(),
                        SplitKey::Region => s.config.region.clone(),
                    };
                    groups.entry(k).or_default().push(i as Endpoint);
                }
                let sets: Vec<Vec<Endpoint>> = groups.into_values().collect();
                for (i, a) in sets.iter().enumerate() {
                    for b in sets.iter().skip(i + 1) {
                        self.cut_between(a, b, true);
                    }
                }
                self.refresh_routes();
            }
            Fault::Heal(None) => {
                let n = self.links.len_endpoints();
                for a in 0..n {
                    for b in 0..n {
                        self.links.dir_mut(a, b).heal();
                    }
                }
                self.refresh_routes();
            }
            Fault::Heal(Some((a, b))) => {
                let a = self.select(a);
                let b = self.select(b);
                for &x in &a {
                    for &y in &b {
                        self.links.dir_mut(x, y).heal();
                        self.links.dir_mut(y, x).heal();
                    }
                }
                self.refresh_routes();
            }
            Fault::Latency(a, b, spec) => self.apply_latency(a, b, spec),
        }
    }

    fn server_ep(&self, name: &str) -> Option<Endpoint> {
        self.endpoint(name).filter(|&e| self.is_server(e))
    }

    /// Crash a server: volatile state lost, every connection closed, what is
    /// in flight to or from it dropped.
    pub fn kill(&mut self, ep: Endpoint) {
        self.crash(ep, false);
    }

    /// Power loss: a crash after which the server's disks hold only what was
    /// fsynced.
    pub fn power_loss(&mut self, ep: Endpoint) {
        self.crash(ep, true);
    }

    fn crash(&mut self, ep: Endpoint, power_loss: bool) {
        if !self.is_server(ep) || self.servers[ep as usize].liveness == Liveness::Down {
            return;
        }
        {
            let slot = &mut self.servers[ep as usize];
            let mut disk = slot.node.js.as_mut().map(|js| js.take_disk()).unwrap_or_default();
            disk.append(&mut slot.disk);
            slot.disk = disk
                .into_iter()
                .map(|(k, s)| (k, if power_loss { s.after_power_loss() } else { s.after_crash() }))
                .collect();
            slot.node.js = None;
        }
        let clients: Vec<Endpoint> = self.servers[ep as usize].node.connected_clients().collect();
        self.held.remove(&ep);
        let n = self.links.len_endpoints();
        for other in 0..n {
            self.links.dir_mut(ep, other).reset();
            self.links.dir_mut(other, ep).reset();
        }
        let slot = &mut self.servers[ep as usize];
        slot.liveness = Liveness::Down;
        slot.incarnation += 1;
        self.emit(TraceKind::ServerState { server: ep, state: ServerState::Down });
        // The OS closes the dead process's sockets: each client sees a FIN.
        for c in clients {
            self.transmit(ep, c, Frame::Close, Label { kind: FrameKind::Close, subject: None });
        }
        self.refresh_routes();
    }

    /// Restart a crashed server with fresh volatile state.
    pub fn restart(&mut self, ep: Endpoint) {
        if !self.is_server(ep) || self.servers[ep as usize].liveness != Liveness::Down {
            return;
        }
        let i = ep as usize;
        let peers = self.servers[i].node.cluster_peers.clone();
        let id = server_id(&mut self.rng, i);
        let config = self.servers[i].config.clone();
        self.servers[i].node = Server::new(config, peers, id);
        self.servers[i].node.advertise = self.advertise.clone();
        self.servers[i].liveness = Liveness::Up;
        self.emit(TraceKind::ServerState { server: ep, state: ServerState::Up });
        self.refresh_routes();
        self.start_jetstream(ep);
    }

    /// Start JetStream on a (re)started server from its disk.
    fn start_jetstream(&mut self, ep: Endpoint) {
        let i = ep as usize;
        if !self.servers[i].config.jetstream {
            return;
        }
        let def = &self.scenario.servers[i];
        let peers: Vec<PeerInfo> = self
            .servers
            .iter()
            .enumerate()
            .filter(|(_, s)| s.config.cluster == self.servers[i].config.cluster)
            .map(|(j, s)| PeerInfo {
                ep: j as Endpoint,
                name: s.config.name.clone(),
                cluster: s.config.cluster.clone(),
                tags: s.config.tags.clone(),
                jetstream: s.config.jetstream,
            })
            .collect();
        let opts = JsOptions {
            timescale: self.scenario.raft_timescale.unwrap_or((1, 1)),
            sync: def.sync,
            unique_tag: def.unique_tag.clone(),
            peers,
        };
        let disk = std::mem::take(&mut self.servers[i].disk);
        self.with_server(ep, |s, ctx| s.js_start(ctx, opts, disk));
    }

    // ------------------------------------------------------------ invariants

    /// Check the Raft safety properties of every JetStream group after every
    /// event (on in tests and `jetsim run --json`).
    pub fn set_check_invariants(&mut self, on: bool) {
        self.check_invariants = on;
    }

    pub fn checks_invariants(&self) -> bool {
        self.check_invariants
    }

    fn observe_invariants(&mut self) {
        let mut views: GroupViews<'_> = BTreeMap::new();
        for slot in &self.servers {
            if slot.liveness == Liveness::Down {
                continue;
            }
            let Some(js) = slot.node.js.as_ref() else { continue };
            for (g, stream, raft) in js.rafts() {
                views.entry(g.clone()).or_insert_with(|| (stream.cloned(), Vec::new())).1.push(raft.view());
            }
        }
        let mut found = Vec::new();
        for (g, (stream, vs)) in &views {
            if self.violated.contains(g) {
                continue;
            }
            let checker = self.checkers.entry(g.clone()).or_default();
            if let Err(v) = checker.observe(vs) {
                found.push((g.clone(), stream.clone(), format!("{v:?}")));
            }
        }
        drop(views);
        for (g, stream, text) in found {
            self.violated.insert(g.clone());
            self.violations.push(ViolationRecord {
                group: g.to_string(),
                stream: stream.map(|s| s.to_string()),
                at: self.now,
                trace_seq: self.trace.count(),
                text,
            });
        }
    }

    /// Acknowledged publishes missing from a running replica of their stream
    /// (absent, or another message at their sequence number), or whose stream
    /// vanished without a client deleting it. Meaningful after heal and
    /// catch-up.
    pub fn lost_acked_publishes(&self) -> Vec<LostAck> {
        let mut lost = Vec::new();
        for c in &self.clients {
            let js = &c.node.js;
            for (stream, seq, subject, body) in &js.acked_msgs {
                let deleted = self.clients.iter().any(|o| o.node.js.deleted_streams.iter().any(|d| d == stream));
                if deleted {
                    continue;
                }
                let mut seen = false;
                for (i, slot) in self.servers.iter().enumerate() {
                    if slot.liveness == Liveness::Down {
                        continue;
                    }
                    let Some(r) = slot.node.js.as_ref().and_then(|j| j.streams.get(stream)) else { continue };
                    seen = true;
                    if r.group.is_none() {
                        continue;
                    }
                    // The acknowledged message itself, not just its sequence
                    // number: after a lazy-fsync power loss the sequence can be
                    // reused by a later publish. (Removed by the stream's
                    // limits, below first_seq, counts as present.)
                    // (Removed by the stream itself, counts as present; a
                    // subject transform stores another subject.)
                    let transformed = r.assignment.config.subject_transform.is_some();
                    let present = match r.store.get(*seq) {
                        Some(m) => (m.subject == *subject || transformed) && m.data == *body,
                        None => (*seq < r.store.first_seq() && *seq <= r.store.last_seq()) || r.store.was_removed(*seq),
                    };
                    if !present {
                        lost.push(LostAck {
                            client: c.node.config.name.clone(),
                            stream: stream.to_string(),
                            seq: *seq,
                            server: Some(self.name(i as Endpoint).to_string()),
                        });
                    }
                }
                if !seen {
                    lost.push(LostAck {
                        client: c.node.config.name.clone(),
                        stream: stream.to_string(),
                        seq: *seq,
                        server: None,
                    });
                }
            }
        }
        lost
    }

    /// Every violation: the Raft invariant ones seen so far, and one per
    /// stream with acknowledged publishes lost (attributed to the last
    /// kill / power-loss).
    pub fn all_violations(&self) -> Vec<ViolationRecord> {
        let mut v = self.violations.clone();
        let mut by_stream: BTreeMap<String, Vec<&LostAck>> = BTreeMap::new();
        let lost = self.lost_acked_publishes();
        for l in &lost {
            by_stream.entry(l.stream.clone()).or_default().push(l);
        }
        for (stream, ls) in by_stream {
            let (at, seq, cause) = self.last_crash.clone().unwrap_or((self.now, self.trace.count(), String::new()));
            let mut seqs: Vec<u64> = ls.iter().map(|l| l.seq).collect();
            crate::sort::sort(&mut seqs);
            seqs.dedup();
            let servers: crate::vecmap::VecSet<String> =
                ls.iter().map(|l| l.server.clone().unwrap_or_else(|| "every server".into())).collect();
            v.push(ViolationRecord {
                group: String::new(),
                stream: Some(stream),
                at,
                trace_seq: seq,
                text: format!(
                    "{} acknowledged publishes missing (seq {}..{}) on {} after {}",
                    seqs.len(),
                    seqs.first().copied().unwrap_or(0),
                    seqs.last().copied().unwrap_or(0),
                    servers.into_iter().collect::<Vec<_>>().join(", "),
                    if cause.is_empty() { "the run".to_string() } else { cause }
                ),
            });
        }
        v
    }

    // ---------------------------------------------------------- JetStream view

    /// Streams known in the cluster (from any running server), sorted.
    pub fn stream_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .servers
            .iter()
            .filter(|s| s.liveness != Liveness::Down)
            .filter_map(|s| s.node.js.as_ref())
            .flat_map(|js| js.streams.keys().map(|k| k.to_string()))
            .collect();
        crate::sort::sort(&mut names);
        names.dedup();
        names
    }

    /// A stream as every running server sees it: one entry per server that
    /// knows its assignment.
    pub fn stream_replicas(&self, stream: &str) -> Vec<(Endpoint, &crate::jetstream::StreamReplica)> {
        self.servers
            .iter()
            .enumerate()
            .filter(|(_, s)| s.liveness != Liveness::Down)
            .filter_map(|(i, s)| s.node.js.as_ref().and_then(|js| js.streams.get(stream)).map(|r| (i as Endpoint, r)))
            .collect()
    }

    /// The stream leader: of the running servers whose member leads and is
    /// ready, the one with the highest term (an old leader isolated in a
    /// minority still believes it leads until it notices it lost quorum;
    /// the majority's new leader has the higher term). Ties (not possible
    /// in one term) go to the lowest index.
    pub fn stream_leader(&self, stream: &str) -> Option<Endpoint> {
        highest_term(self.stream_replicas(stream).into_iter().map(|(e, r)| (e, r.leader_term())))
    }

    /// The meta leader (the running server leading `_meta_` with the highest term).
    pub fn meta_leader(&self, cluster_of: Endpoint) -> Option<Endpoint> {
        let cluster = &self.servers.get(cluster_of as usize)?.config.cluster;
        highest_term(
            self.servers
                .iter()
                .enumerate()
                .filter(|(_, s)| s.liveness != Liveness::Down && s.config.cluster == *cluster)
                .filter_map(|(i, s)| s.node.js.as_ref().and_then(|js| js.meta.as_ref()).map(|g| (i as Endpoint, g)))
                .map(|(i, g)| (i, g.raft.is_leader().then(|| g.raft.term()))),
        )
    }

    fn resume(&mut self, ep: Endpoint) {
        if self.servers[ep as usize].liveness != Liveness::Paused {
            return;
        }
        self.servers[ep as usize].liveness = Liveness::Up;
        self.emit(TraceKind::ServerState { server: ep, state: ServerState::Up });
        if let Some(held) = self.held.remove(&ep) {
            let now = self.now;
            for kind in held {
                self.push(now, kind);
            }
        }
    }

    fn cut_between(&mut self, a: &[Endpoint], b: &[Endpoint], both: bool) {
        for &x in a {
            for &y in b {
                if x == y {
                    continue;
                }
                self.links.dir_mut(x, y).cut();
                if both {
                    self.links.dir_mut(y, x).cut();
                }
            }
        }
    }

    /// Recompute which routes are up (both servers alive, both directions
    /// uncut) and tell the servers about changes. A route that goes down
    /// forgets the peer's interest; one that comes up exchanges it afresh.
    fn refresh_routes(&mut self) {
        let n = self.server_count();
        for a in 0..n {
            for b in (a + 1)..n {
                if self.servers[a as usize].config.cluster != self.servers[b as usize].config.cluster {
                    continue;
                }
                let alive = |s: &ServerSlot| s.liveness != Liveness::Down;
                let up = alive(&self.servers[a as usize])
                    && alive(&self.servers[b as usize])
                    && !self.links.dir(a, b).cut
                    && !self.links.dir(b, a).cut;
                let was = self.routes_up.get(&(a, b)).copied().unwrap_or(false);
                if up == was {
                    continue;
                }
                self.routes_up.insert((a, b), up);
                self.emit(TraceKind::Route { a, b, up });
                if up {
                    self.with_server(a, |s, ctx| s.on_route_up(ctx, b));
                    self.with_server(b, |s, ctx| s.on_route_up(ctx, a));
                } else {
                    if self.servers[a as usize].liveness != Liveness::Down {
                        self.with_server(a, |s, ctx| s.on_route_down(ctx, b));
                    }
                    if self.servers[b as usize].liveness != Liveness::Down {
                        self.with_server(b, |s, ctx| s.on_route_down(ctx, a));
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------- selectors

    fn endpoint_matches(&self, ep: Endpoint, sel: &Selector) -> bool {
        let server_of = |ep: Endpoint| -> Option<&ServerSlot> {
            if self.is_server(ep) {
                self.servers.get(ep as usize)
            } else if self.is_client(ep) {
                let c = &self.clients[(ep - self.server_count()) as usize].node;
                c.server().or_else(|| c.config.servers.first().copied()).and_then(|s| self.servers.get(s as usize))
            } else {
                self.externals.get(&ep).and_then(|x| self.servers.get(x.server as usize))
            }
        };
        match sel {
            Selector::Any => true,
            Selector::Node(name) => self.name(ep) == name,
            Selector::Az(az) => server_of(ep).is_some_and(|s| s.config.az.as_deref() == Some(az.as_str())),
            Selector::Region(r) => server_of(ep).is_some_and(|s| s.config.region.as_deref() == Some(r.as_str())),
            Selector::Cluster(c) => server_of(ep).is_some_and(|s| s.config.cluster == *c),
            Selector::Clients => !self.is_server(ep),
        }
    }

    /// Endpoints a selector names (for partitions: servers unless a client is
    /// named explicitly).
    fn select(&self, sel: &Selector) -> Vec<Endpoint> {
        let n = self.links.len_endpoints();
        (0..n)
            .filter(|&ep| {
                let explicit_client = matches!(sel, Selector::Node(_) | Selector::Clients);
                (self.is_server(ep) || explicit_client) && self.endpoint_matches(ep, sel)
            })
            .collect()
    }

    fn select_all(&self, sels: &[Selector]) -> Vec<Endpoint> {
        let mut v: Vec<Endpoint> = sels.iter().flat_map(|s| self.select(s)).collect();
        crate::sort::sort(&mut v);
        v.dedup();
        v
    }

    /// Set the latency of every link direction between endpoints matching `a`
    /// and `b` (both directions). Client links match through their server's
    /// AZ/region/cluster.
    fn apply_latency(&mut self, a: &Selector, b: &Selector, spec: &LatencySpec) {
        self.apply_latency_where(a, b, spec, None);
    }

    /// [`World::apply_latency`], only on links touching `only` when given.
    fn apply_latency_where(&mut self, a: &Selector, b: &Selector, spec: &LatencySpec, only: Option<Endpoint>) {
        let lat = Latency::from_spec(spec);
        let n = self.links.len_endpoints();
        let is_default = matches!((a, b), (Selector::Any, Selector::Any));
        // Every ordered pair, or only the pairs touching `only`.
        let pairs: Box<dyn Iterator<Item = (Endpoint, Endpoint)>> = match only {
            None => Box::new((0..n).flat_map(move |x| (0..n).map(move |y| (x, y)))),
            Some(e) => Box::new((0..n).flat_map(move |y| [(e, y), (y, e)])),
        };
        for (x, y) in pairs {
            if x == y {
                continue;
            }
            let client_link = !self.is_server(x) || !self.is_server(y);
            let m = match (a, b) {
                (Selector::Clients, other) | (other, Selector::Clients) => {
                    client_link
                        && ((!self.is_server(x) && self.endpoint_matches(y, other))
                            || (!self.is_server(y) && self.endpoint_matches(x, other)))
                }
                _ if is_default => true,
                _ => {
                    (self.endpoint_matches(x, a) && self.endpoint_matches(y, b))
                        || (self.endpoint_matches(x, b) && self.endpoint_matches(y, a))
                }
            };
            if m {
                self.links.dir_mut(x, y).latency = lat.clone();
            }
        }
    }

    // --------------------------------------------------------------- queries

    /// A one-line description of a trace event, with names.
    pub fn describe(&self, kind: &TraceKind) -> String {
        use crate::time::fmt_duration;
        let n = |e: &Endpoint| self.name(*e).to_string();
        match kind {
            TraceKind::Send { from, to, label, bytes, .. } => match &label.subject {
                Some(s) => format!("{} → {}: {} {s} ({bytes} B)", n(from), n(to), label.kind.name()),
                None => format!("{} → {}: {} ({bytes} B)", n(from), n(to), label.kind.name()),
            },
            TraceKind::Deliver { from, to, kind, .. } => format!("{} ← {}: {} arrived", n(to), n(from), kind.name()),
            TraceKind::Drop { from, to, kind, reason, .. } => {
                format!("{} → {}: {} dropped ({})", n(from), n(to), kind.name(), reason.name())
            }
            TraceKind::Fault { text } => format!("fault: {text}"),
            TraceKind::ServerState { server, state } => format!("server {} is {}", n(server), state.name()),
            TraceKind::Route { a, b, up } => {
                format!("route {} ↔ {} {}", n(a), n(b), if *up { "up" } else { "down" })
            }
            TraceKind::ClientConnected { client, server } => format!("client {} connected to {}", n(client), n(server)),
            TraceKind::ClientDisconnected { client } => format!("client {} disconnected", n(client)),
            TraceKind::Published { client, subject, bytes } => format!("{} published {subject} ({bytes} B)", n(client)),
            TraceKind::Received { client, subject, bytes } => format!("{} received {subject} ({bytes} B)", n(client)),
            TraceKind::Replied { client, subject, rtt } => {
                format!("{} got a reply to {subject} after {}", n(client), fmt_duration(*rtt))
            }
            TraceKind::NoResponders { client, subject } => {
                format!("{} request to {subject}: no responders (503)", n(client))
            }
            TraceKind::RequestTimeout { client, subject } => format!("{} request to {subject} timed out", n(client)),
            TraceKind::ProtocolError { client, text } => format!("server sent -ERR {text} to {}", n(client)),
            TraceKind::Note { text } => format!("note: {text}"),
            TraceKind::Raft { server, group, stream, event } => match stream {
                Some(s) => format!("{} stream {s} ({group}): {}", n(server), event.text()),
                None => format!("{} {group}: {}", n(server), event.text()),
            },
            TraceKind::PubAcked { client, subject, stream, seq, latency } => {
                format!(
                    "{} publish to {subject} acknowledged: {stream} seq {seq} after {}",
                    n(client),
                    fmt_duration(*latency)
                )
            }
            TraceKind::PubFailed { client, subject, reason } => {
                format!("{} JetStream publish to {subject} failed: {reason}", n(client))
            }
            TraceKind::JsApi { client, op, ok, text } => {
                format!("{} nats {op}: {}{text}", n(client), if *ok { "" } else { "error: " })
            }
        }
    }

    /// Is this event one a person wants in the event log (not every frame)?
    pub fn is_headline(kind: &TraceKind) -> bool {
        !matches!(kind, TraceKind::Send { .. } | TraceKind::Deliver { .. })
    }

    /// The frames of events waiting in the queue (or held for a paused
    /// server) with their frame ids, in no particular order: lets a viewer
    /// read what an [`InFlight`] frame carries (e.g. a Raft message's
    /// variant). Read-only.
    pub fn queued_frames(&self) -> impl Iterator<Item = (u64, &Frame)> {
        self.slab.iter().flatten().chain(self.held.values().flatten()).filter_map(|e| match e {
            EventKind::Frame { id, frame, .. } => Some((*id, frame)),
            _ => None,
        })
    }
}

fn specificity(s: &Selector) -> u32 {
    match s {
        Selector::Any => 0,
        Selector::Region(_) => 1,
        Selector::Cluster(_) => 2,
        Selector::Az(_) => 3,
        Selector::Clients => 4,
        Selector::Node(_) => 6,
    }
}

fn server_id(rng: &mut Rng, _i: usize) -> String {
    // nats-server ids are 56 characters from the nkeys alphabet, starting with N.
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut s = String::from("N");
    for _ in 0..55 {
        s.push(ALPHABET[rng.index(ALPHABET.len())] as char);
    }
    s
}

/// The fault as a scenario line would say it.
pub fn describe_fault(f: &Fault) -> String {
    fn sel(s: &Selector) -> String {
        match s {
            Selector::Any => "*".into(),
            Selector::Node(n) => n.clone(),
            Selector::Az(a) => format!("az:{a}"),
            Selector::Region(r) => format!("region:{r}"),
            Selector::Cluster(c) => format!("cluster:{c}"),
            Selector::Clients => "clients".into(),
        }
    }
    fn group(g: &[Selector]) -> String {
        g.iter().map(sel).collect::<Vec<_>>().join(" ")
    }
    match f {
        Fault::Kill(n) => format!("kill {n}"),
        Fault::PowerLoss(n) => format!("power-loss {n}"),
        Fault::Restart(n) => format!("restart {n}"),
        Fault::Pause(n) => format!("pause {n}"),
        Fault::Resume(n) => format!("resume {n}"),
        Fault::Partition(groups) => {
            format!("partition {}", groups.iter().map(|g| group(g)).collect::<Vec<_>>().join(" | "))
        }
        Fault::PartitionOneWay(a, b) => format!("partition {} -> {}", group(a), group(b)),
        Fault::Isolate(n) => format!("isolate {n}"),
        Fault::SplitBy(SplitKey::Az) => "split az".into(),
        Fault::SplitBy(SplitKey::Region) => "split region".into(),
        Fault::Heal(None) => "heal".into(),
        Fault::Heal(Some((a, b))) => format!("heal {} {}", sel(a), sel(b)),
        Fault::Latency(a, b, spec) => format!("latency {} {} {}", sel(a), sel(b), Latency::from_spec(spec).describe()),
    }
}

/// The Raft groups' member views for the invariant checker, by group: the
/// stream (if any) and each live member's view.
type GroupViews<'a> = BTreeMap<Rc<str>, (Option<Rc<str>>, Vec<NodeView<'a, JsEntry>>)>;

/// Of `(member, term it leads in)` pairs, the member leading in the highest
/// term: the group's leader when an old leader has not yet noticed it was
/// replaced. (Two leaders of one term would break Raft's election safety,
/// which the invariant checker reports; the lowest index is taken then.)
pub fn highest_term(leaders: impl IntoIterator<Item = (Endpoint, Option<u64>)>) -> Option<Endpoint> {
    let mut best: Option<(u64, Endpoint)> = None;
    for (e, t) in leaders {
        if let Some(t) = t {
            if best.is_none_or(|(bt, be)| t > bt || (t == bt && e < be)) {
                best = Some((t, e));
            }
        }
    }
    best.map(|(_, e)| e)
}
