//! A simulated NATS client: an application (driven by `nats` CLI-style
//! commands) over one connection that speaks the real client protocol through
//! [`crate::proto`]. It connects, subscribes, publishes, makes requests with a
//! shared inbox subscription (`_INBOX.<nuid>.*`, as the official clients do),
//! answers requests, and reconnects (rotating through its servers every
//! `reconnect_wait`) after the connection closes, re-sending its
//! subscriptions and then what it buffered meanwhile.

use crate::vecmap::VecMap as BTreeMap; // sorted-Vec map: small maps, smaller wasm (see vecmap.rs)
use std::collections::VecDeque;
use std::rc::Rc;

use bytes::Bytes;

use crate::node::{Ctx, Frame, Timer};
use crate::proto::{self, ClientParser, ServerOp, ServerOpRef};
use crate::scenario::{ClientCmd, ConsumerCmd, StreamCmd};
use crate::time::{Dur, Time, SEC};
use crate::trace::{Endpoint, FrameKind, TraceKind};

/// The official clients' default reconnect wait.
pub const RECONNECT_WAIT: Dur = 2 * SEC;
/// Bytes buffered while disconnected before publishes are refused (the Go
/// client's default ReconnectBufSize is 8 MiB).
pub const RECONNECT_BUF: usize = 8 * 1024 * 1024;

#[derive(Clone, Debug)]
pub struct ClientConfig {
    pub name: String,
    /// Server endpoints to connect to, in order.
    pub servers: Vec<Endpoint>,
    pub echo: bool,
    pub headers: bool,
    pub no_responders: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnState {
    Disconnected,
    /// TCP open sent, waiting for INFO.
    Connecting {
        server: Endpoint,
    },
    /// CONNECT + PING sent, waiting for PONG.
    Handshake {
        server: Endpoint,
    },
    Connected {
        server: Endpoint,
    },
}

#[derive(Clone, Debug)]
enum SubKind {
    /// An application subscription (`nats sub`).
    App,
    /// The request/reply inbox (`_INBOX.<nuid>.*`).
    Inbox,
    /// A `nats reply` responder answering with this body.
    Replier { body: Bytes },
    /// The inbox of a `nats consumer next` pull request: acknowledge what
    /// arrives (unless `--no-ack`), stop at a status or after `remaining`.
    Pull { op: Rc<str>, ack: bool, remaining: u64 },
}

#[derive(Clone, Debug)]
struct Sub {
    subject: Rc<str>,
    queue: Option<Rc<str>>,
    kind: SubKind,
    /// The subject of the last message received here (reused for the trace
    /// while messages repeat it, saving an allocation per message).
    last_subject: Option<Rc<str>>,
    /// Messages still wanted (`--count`), if limited.
    remaining: Option<u64>,
    received: u64,
}

#[derive(Clone, Debug)]
struct PubJob {
    subject: Rc<str>,
    body: String,
    headers: Vec<(String, String)>,
    reply: Option<String>,
    request: bool,
    timeout: Dur,
    next: u64,
    count: u64,
    sleep: Dur,
}

#[derive(Clone, Debug)]
struct Pending {
    subject: Rc<str>,
    sent_at: Time,
}

/// Per-client counters for reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientStats {
    pub published: u64,
    pub received: u64,
    pub requests: u64,
    pub replies: u64,
    pub no_responders: u64,
    pub timeouts: u64,
    pub errors: u64,
    pub reconnects: u64,
    pub dropped_while_disconnected: u64,
    /// Request round-trip times, in virtual ns (for percentiles).
    pub rtts: Vec<Dur>,
}

#[derive(Debug)]
pub struct Client {
    pub config: ClientConfig,
    pub state: ConnState,
    /// Boxed so that taking it out while its operations are handled moves a pointer.
    parser: Option<Box<ClientParser>>,
    next_sid: u64,
    subs: BTreeMap<u64, Sub>,
    inbox_prefix: Option<Rc<str>>,
    inbox_sid: Option<u64>,
    next_req: u64,
    pending: BTreeMap<u64, Pending>,
    jobs: BTreeMap<u64, PubJob>,
    next_job: u64,
    /// Bytes waiting for the connection (reconnect buffer).
    outbuf: VecDeque<(Bytes, FrameKind, Option<Rc<str>>)>,
    outbuf_bytes: usize,
    /// Index into `config.servers` of the next server to try.
    next_server: usize,
    reconnect_armed: bool,
    pub last_error: Option<String>,
    pub stats: ClientStats,
    buf: Vec<u8>,
    /// JetStream publishes and API calls waiting for their answer.
    js_pending: BTreeMap<u64, JsPending>,
    js_jobs: BTreeMap<u64, JsPubJob>,
    /// JetStream counters (`nats pub --jetstream`, `nats stream ...`).
    pub js: JsStats,
    /// Publish frames are cut from shared blocks (no allocation per frame).
    frames: proto::FrameArena,
}

#[derive(Clone, Debug)]
enum JsWait {
    /// A publish of job `job`, waiting for its PubAck.
    Pub { job: u64 },
    /// An API call (`op` is the command, e.g. `stream add ORDERS`).
    Api { op: Rc<str>, delete: Option<Rc<str>> },
}

#[derive(Clone, Debug)]
struct JsPending {
    wait: JsWait,
    subject: Rc<str>,
    sent_at: Time,
}

#[derive(Clone, Debug)]
struct JsPubJob {
    subject: Rc<str>,
    body: String,
    headers: Vec<(String, String)>,
    next: u64,
    count: u64,
    sleep: Dur,
    timeout: Dur,
}

/// Publish outcomes on one subject.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JsSubjectStats {
    pub sent: u64,
    pub acked: u64,
    pub timeouts: u64,
    pub errors: u64,
    /// PubAck latencies, virtual ns.
    pub latencies: Vec<Dur>,
}

/// A client's JetStream counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JsStats {
    /// JetStream publishes sent / acknowledged / timed out / errored (error
    /// PubAck or 503 no responders).
    pub published: u64,
    pub acked: u64,
    pub timeouts: u64,
    pub errors: u64,
    pub no_responders: u64,
    /// PubAck latencies, virtual ns (first 100 000).
    pub latencies: Vec<Dur>,
    /// Every acknowledged publish: (stream, seq, subject, payload).
    pub acked_msgs: Vec<(Rc<str>, u64, Rc<str>, Bytes)>,
    pub by_subject: BTreeMap<Rc<str>, JsSubjectStats>,
    /// Streams this client deleted successfully (`nats stream rm`).
    pub deleted_streams: Vec<Rc<str>>,
    pub api_calls: u64,
    pub api_errors: u64,
    /// The last API response: (command, JSON body).
    pub last_api: Option<(String, String)>,
    /// Every message that arrived on the request inbox (the last
    /// [`INBOX_LOG`]), duplicates and late answers included: (subject,
    /// headers, payload). For tests comparing replies byte for byte.
    pub inbox_log: VecDeque<(Rc<str>, Option<Bytes>, Bytes)>,
    /// Messages that arrived on the request inbox, in total.
    pub inbox_seen: u64,
    /// Record messages of application subscriptions in [`JsStats::sub_log`]
    /// (off by default; consumer tests turn it on).
    pub record_subs: bool,
    /// The last [`SUB_LOG`] messages of application subscriptions, when
    /// `record_subs` is on.
    pub sub_log: VecDeque<SubMsg>,
    /// The last [`DELIVERY_LOG`] JetStream messages (reply `$JS.ACK.…`)
    /// that arrived on application and `nats consumer next` subscriptions,
    /// always on: the page's console prints them and its guarantees panel
    /// checks them for duplicates and order. Not part of the trace hash.
    pub deliveries: VecDeque<JsDelivery>,
    /// JetStream messages logged in [`JsStats::deliveries`], in total.
    pub deliveries_seen: u64,
}

/// A JetStream message delivered to one of this client's subscriptions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JsDelivery {
    pub at: Time,
    /// The subscription's id and subject.
    pub sid: u64,
    pub sub: Rc<str>,
    pub subject: Rc<str>,
    /// `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>`
    pub reply: Rc<str>,
    /// The payload's size, and its first [`DELIVERY_BODY`] bytes.
    pub bytes: u32,
    pub body: Bytes,
}

/// How many deliveries [`JsStats::deliveries`] keeps, and body bytes each.
pub const DELIVERY_LOG: usize = 8192;
pub const DELIVERY_BODY: usize = 256;

/// A message received on an application subscription (for tests).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SubMsg {
    /// The subscription's subject.
    pub sub: Rc<str>,
    /// The message's subject.
    pub subject: Rc<str>,
    pub reply: Option<Rc<str>>,
    pub headers: Option<Bytes>,
    pub payload: Bytes,
}

/// How many messages [`JsStats::sub_log`] keeps.
pub const SUB_LOG: usize = 4096;

/// How many inbox messages [`JsStats::inbox_log`] keeps.
pub const INBOX_LOG: usize = 256;

impl Client {
    pub fn new(config: ClientConfig) -> Client {
        Client {
            config,
            state: ConnState::Disconnected,
            parser: Some(Box::default()),
            next_sid: 1,
            subs: BTreeMap::new(),
            inbox_prefix: None,
            inbox_sid: None,
            next_req: 1,
            pending: BTreeMap::new(),
            jobs: BTreeMap::new(),
            next_job: 1,
            outbuf: VecDeque::new(),
            outbuf_bytes: 0,
            next_server: 0,
            reconnect_armed: false,
            last_error: None,
            stats: ClientStats::default(),
            buf: Vec::new(),
            js_pending: BTreeMap::new(),
            js_jobs: BTreeMap::new(),
            js: JsStats::default(),
            frames: proto::FrameArena::new(),
        }
    }

    pub fn server(&self) -> Option<Endpoint> {
        match self.state {
            ConnState::Connected { server } | ConnState::Handshake { server } | ConnState::Connecting { server } => {
                Some(server)
            }
            ConnState::Disconnected => None,
        }
    }

    pub fn is_connected(&self) -> bool {
        matches!(self.state, ConnState::Connected { .. })
    }

    pub fn subscriptions(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.subs.values().map(|s| (&*s.subject, s.queue.as_deref()))
    }

    /// Start: connect to the first server.
    pub fn start(&mut self, ctx: &mut Ctx) {
        self.connect(ctx);
    }

    fn connect(&mut self, ctx: &mut Ctx) {
        if self.config.servers.is_empty() {
            return;
        }
        let idx = self.next_server % self.config.servers.len();
        let server = self.config.servers[idx];
        self.next_server = idx + 1;
        self.parser = Some(Box::default());
        self.state = ConnState::Connecting { server };
        ctx.send(server, Frame::Open, FrameKind::Connect, None);
    }

    fn arm_reconnect(&mut self, ctx: &mut Ctx) {
        if !self.reconnect_armed {
            self.reconnect_armed = true;
            ctx.timer(ctx.now + RECONNECT_WAIT, Timer::Reconnect);
        }
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx, timer: Timer) {
        match timer {
            Timer::Reconnect => {
                self.reconnect_armed = false;
                if self.state == ConnState::Disconnected {
                    self.stats.reconnects += 1;
                    self.connect(ctx);
                } else if let ConnState::Connecting { .. } | ConnState::Handshake { .. } = self.state {
                    // The attempt went nowhere (partition, dead server): try the next one.
                    self.state = ConnState::Disconnected;
                    self.stats.reconnects += 1;
                    self.connect(ctx);
                }
                if !self.is_connected() {
                    self.arm_reconnect(ctx);
                }
            }
            Timer::PublishJob(job) if job > u64::MAX / 2 => self.js_pub_next(ctx, u64::MAX - job),
            Timer::PublishJob(job) => self.run_job(ctx, job),
            Timer::RequestTimeout(id) => {
                if let Some(p) = self.pending.remove(&id) {
                    self.stats.timeouts += 1;
                    ctx.trace(TraceKind::RequestTimeout { client: ctx.me, subject: p.subject });
                }
            }
            Timer::JsTimeout(id) => self.js_timeout(ctx, id),
            Timer::Raft { .. } | Timer::JsDelayedReply(_) | Timer::JsConsumer { .. } | Timer::JsStreamExpire { .. } => {
            }
        }
    }

    pub fn on_frame(&mut self, ctx: &mut Ctx, from: Endpoint, frame: Frame) {
        if self.server() != Some(from) {
            return;
        }
        match frame {
            Frame::Close => self.disconnected(ctx),
            Frame::Bytes(b) => {
                // Operations are handled as they are parsed, messages borrowed
                // from the frame (no allocation per message). The parser is
                // taken out meanwhile; nothing an operation does replaces it
                // (only `connect` does, from a timer).
                let mut parser = self.parser.take().unwrap_or_default();
                let res = parser.feed_with(&b, |op| self.server_op(ctx, from, op));
                self.parser = Some(parser);
                if let Err(e) = res {
                    self.last_error = Some(e.text.clone());
                    self.stats.errors += 1;
                    self.close(ctx);
                }
            }
            Frame::Open | Frame::Route(_) | Frame::Raft { .. } => {}
        }
    }

    /// The connection is gone (FIN from the server, or reset).
    pub fn disconnected(&mut self, ctx: &mut Ctx) {
        if self.state == ConnState::Disconnected {
            return;
        }
        self.state = ConnState::Disconnected;
        ctx.trace(TraceKind::ClientDisconnected { client: ctx.me });
        self.arm_reconnect(ctx);
    }

    fn close(&mut self, ctx: &mut Ctx) {
        if let Some(server) = self.server() {
            ctx.send(server, Frame::Close, FrameKind::Close, None);
        }
        self.disconnected(ctx);
    }

    fn server_op(&mut self, ctx: &mut Ctx, server: Endpoint, op: ServerOpRef<'_>) {
        let op = match op {
            ServerOpRef::Msg { subject, sid, reply, headers, payload } => {
                self.on_msg(ctx, &subject, &sid, reply.as_deref(), headers.map(|h| h.as_slice()), payload.as_slice());
                return;
            }
            ServerOpRef::Op(op) => op,
        };
        match op {
            ServerOp::Info(_) => {
                if let ConnState::Connecting { .. } = self.state {
                    let connect = proto::ConnectInfo {
                        verbose: false,
                        pedantic: false,
                        name: Some(self.config.name.clone()),
                        lang: Some("jetsim".into()),
                        version: Some(env!("CARGO_PKG_VERSION").into()),
                        protocol: 1,
                        echo: self.config.echo,
                        headers: self.config.headers,
                        no_responders: self.config.no_responders,
                        ..Default::default()
                    };
                    self.buf.clear();
                    proto::write_connect(&mut self.buf, &connect);
                    proto::write_ping(&mut self.buf);
                    let b = Bytes::copy_from_slice(&self.buf);
                    ctx.send(server, Frame::Bytes(b), FrameKind::ClientCtl, None);
                    self.state = ConnState::Handshake { server };
                }
            }
            ServerOp::Ping => {
                self.buf.clear();
                proto::write_pong(&mut self.buf);
                let b = Bytes::copy_from_slice(&self.buf);
                ctx.send(server, Frame::Bytes(b), FrameKind::ClientCtl, None);
            }
            ServerOp::Pong => {
                if let ConnState::Handshake { .. } = self.state {
                    self.state = ConnState::Connected { server };
                    // Re-send subscriptions, then what was buffered.
                    self.buf.clear();
                    for (sid, sub) in &self.subs {
                        proto::write_sub(&mut self.buf, &sub.subject, sub.queue.as_deref(), &sid.to_string());
                    }
                    if !self.buf.is_empty() {
                        let b = Bytes::copy_from_slice(&self.buf);
                        ctx.send(server, Frame::Bytes(b), FrameKind::ClientCtl, None);
                    }
                    while let Some((b, kind, subject)) = self.outbuf.pop_front() {
                        ctx.send(server, Frame::Bytes(b), kind, subject);
                    }
                    self.outbuf_bytes = 0;
                }
            }
            ServerOp::Ok => {}
            ServerOp::Err(text) => {
                self.stats.errors += 1;
                self.last_error = Some(text);
            }
            // Messages arrive as `ServerOpRef::Msg`; handled the same if not.
            ServerOp::Msg { subject, sid, reply, payload } => {
                self.on_msg(ctx, &subject, &sid, reply.as_deref(), None, &payload);
            }
            ServerOp::Hmsg { subject, sid, reply, headers, payload } => {
                self.on_msg(ctx, &subject, &sid, reply.as_deref(), Some(&headers), &payload);
            }
        }
    }

    fn on_msg(
        &mut self,
        ctx: &mut Ctx,
        subject: &str,
        sid: &str,
        reply: Option<&str>,
        headers: Option<&[u8]>,
        payload: &[u8],
    ) {
        let Ok(sid) = sid.parse::<u64>() else { return };
        let Some(sub) = self.subs.get_mut(&sid) else { return };
        sub.received += 1;
        let subject_rc: Rc<str> = match &sub.last_subject {
            Some(s) if **s == *subject => s.clone(),
            _ => {
                let s: Rc<str> = Rc::from(subject);
                sub.last_subject = Some(s.clone());
                s
            }
        };
        let kind = sub.kind.clone();
        let sub_subject = if self.js.record_subs { Some(sub.subject.clone()) } else { None };
        if let Some(r) = reply.filter(|r| r.starts_with("$JS.ACK.")) {
            if matches!(kind, SubKind::App | SubKind::Pull { .. }) {
                let d = JsDelivery {
                    at: ctx.now,
                    sid,
                    sub: sub.subject.clone(),
                    subject: subject_rc.clone(),
                    reply: Rc::from(r),
                    bytes: payload.len() as u32,
                    body: Bytes::copy_from_slice(&payload[..payload.len().min(DELIVERY_BODY)]),
                };
                if self.js.deliveries.len() >= DELIVERY_LOG {
                    self.js.deliveries.pop_front();
                }
                self.js.deliveries.push_back(d);
                self.js.deliveries_seen += 1;
            }
        }
        let finished = match sub.remaining.as_mut() {
            Some(r) => {
                *r = r.saturating_sub(1);
                *r == 0
            }
            None => false,
        };
        match kind {
            SubKind::Inbox => {
                self.js.inbox_seen += 1;
                if self.js.inbox_log.len() >= INBOX_LOG {
                    self.js.inbox_log.pop_front();
                }
                self.js.inbox_log.push_back((
                    subject_rc.clone(),
                    headers.map(Bytes::copy_from_slice),
                    Bytes::copy_from_slice(payload),
                ));
                let id = subject.rsplit('.').next().and_then(|t| t.parse::<u64>().ok());
                let Some(id) = id else { return };
                let Some(p) = self.pending.remove(&id) else {
                    self.js_response(ctx, id, headers, payload);
                    return;
                };
                let status = headers.and_then(|h| proto::Headers::parse(h).ok()).and_then(|h| h.status);
                if status == Some(503) {
                    self.stats.no_responders += 1;
                    ctx.trace(TraceKind::NoResponders { client: ctx.me, subject: p.subject });
                } else {
                    let rtt = ctx.now.saturating_sub(p.sent_at);
                    self.stats.replies += 1;
                    if self.stats.rtts.len() < 100_000 {
                        self.stats.rtts.push(rtt);
                    }
                    ctx.trace(TraceKind::Replied { client: ctx.me, subject: p.subject, rtt });
                }
            }
            SubKind::App => {
                self.stats.received += 1;
                if self.js.record_subs {
                    // Tests of consumers read what arrived, status headers included.
                    if self.js.sub_log.len() >= SUB_LOG {
                        self.js.sub_log.pop_front();
                    }
                    self.js.sub_log.push_back(SubMsg {
                        sub: sub_subject.unwrap_or_default(),
                        subject: subject_rc.clone(),
                        reply: reply.map(Rc::from),
                        headers: headers.map(Bytes::copy_from_slice),
                        payload: Bytes::copy_from_slice(payload),
                    });
                }
                ctx.trace(TraceKind::Received { client: ctx.me, subject: subject_rc, bytes: payload.len() as u32 });
            }
            SubKind::Replier { body } => {
                self.stats.received += 1;
                ctx.trace(TraceKind::Received { client: ctx.me, subject: subject_rc, bytes: payload.len() as u32 });
                if let Some(reply) = reply {
                    let reply: Rc<str> = Rc::from(reply);
                    self.publish_raw(ctx, &reply, None, &[], &body);
                }
            }
            SubKind::Pull { op, ack, remaining } => {
                if self.pull_msg(ctx, sid, &op, ack, remaining, subject_rc, reply, headers, payload) {
                    self.unsubscribe_sid(ctx, sid);
                }
                return;
            }
        }
        if finished {
            self.unsubscribe_sid(ctx, sid);
        }
    }

    /// Queue bytes for the server: sent now when connected, else buffered.
    fn transmit(&mut self, ctx: &mut Ctx, bytes: Bytes, kind: FrameKind, subject: Option<Rc<str>>) -> bool {
        match self.state {
            ConnState::Connected { server } => {
                ctx.send(server, Frame::Bytes(bytes), kind, subject);
                true
            }
            _ => {
                if self.outbuf_bytes + bytes.len() > RECONNECT_BUF {
                    self.stats.dropped_while_disconnected += 1;
                    return false;
                }
                self.outbuf_bytes += bytes.len();
                self.outbuf.push_back((bytes, kind, subject));
                true
            }
        }
    }

    fn subscribe(
        &mut self,
        ctx: &mut Ctx,
        subject: &str,
        queue: Option<&str>,
        kind: SubKind,
        count: Option<u64>,
    ) -> u64 {
        let sid = self.next_sid;
        self.next_sid += 1;
        self.subs.insert(
            sid,
            Sub {
                subject: Rc::from(subject),
                queue: queue.map(Rc::from),
                kind,
                last_subject: None,
                remaining: count,
                received: 0,
            },
        );
        if let ConnState::Connected { server } = self.state {
            self.buf.clear();
            proto::write_sub(&mut self.buf, subject, queue, &sid.to_string());
            if let Some(n) = count {
                proto::write_unsub(&mut self.buf, &sid.to_string(), Some(n));
            }
            let b = Bytes::copy_from_slice(&self.buf);
            ctx.send(server, Frame::Bytes(b), FrameKind::ClientCtl, Some(Rc::from(subject)));
        }
        sid
    }

    fn unsubscribe_sid(&mut self, ctx: &mut Ctx, sid: u64) {
        if self.subs.remove(&sid).is_none() {
            return;
        }
        if let ConnState::Connected { server } = self.state {
            self.buf.clear();
            proto::write_unsub(&mut self.buf, &sid.to_string(), None);
            let b = Bytes::copy_from_slice(&self.buf);
            ctx.send(server, Frame::Bytes(b), FrameKind::ClientCtl, None);
        }
    }

    fn publish_raw(
        &mut self,
        ctx: &mut Ctx,
        subject: &Rc<str>,
        reply: Option<&str>,
        headers: &[(String, String)],
        body: &[u8],
    ) {
        let with_headers = !headers.is_empty() && self.config.headers;
        let b = if !with_headers {
            self.frames.publish(subject, reply, body)
        } else {
            let mut h = proto::Headers::default();
            for (k, v) in headers {
                h.append(k, v);
            }
            self.frames.frame(|buf| proto::write_hpub(buf, subject, reply, &h.to_bytes(), body))
        };
        if self.transmit(ctx, b, FrameKind::Publish, Some(subject.clone())) {
            self.stats.published += 1;
            ctx.trace(TraceKind::Published { client: ctx.me, subject: subject.clone(), bytes: body.len() as u32 });
        }
    }

    fn inbox(&mut self, ctx: &mut Ctx) -> Rc<str> {
        if let Some(p) = &self.inbox_prefix {
            return p.clone();
        }
        const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let nuid: String = (0..22).map(|_| ALPHABET[ctx.rng.index(ALPHABET.len())] as char).collect();
        let prefix: Rc<str> = Rc::from(format!("_INBOX.{nuid}").as_str());
        let sid = self.subscribe(ctx, &format!("{prefix}.*"), None, SubKind::Inbox, None);
        self.inbox_sid = Some(sid);
        self.inbox_prefix = Some(prefix.clone());
        prefix
    }

    /// Run a `nats` CLI command.
    pub fn on_command(&mut self, ctx: &mut Ctx, cmd: &ClientCmd) {
        match cmd {
            ClientCmd::Sub { subject, queue, count } => {
                self.subscribe(ctx, subject, queue.as_deref(), SubKind::App, *count);
            }
            ClientCmd::Unsub { subject } => {
                let sids: Vec<u64> = self
                    .subs
                    .iter()
                    .filter(|(_, s)| {
                        &*s.subject == subject.as_str() && matches!(s.kind, SubKind::App | SubKind::Replier { .. })
                    })
                    .map(|(sid, _)| *sid)
                    .collect();
                for sid in sids {
                    self.unsubscribe_sid(ctx, sid);
                }
            }
            ClientCmd::Reply { subject, body, queue } => {
                let body = Bytes::from(body.clone().into_bytes());
                self.subscribe(ctx, subject, queue.as_deref(), SubKind::Replier { body }, None);
            }
            ClientCmd::Pub { subject, body, headers, count, sleep, reply } => {
                let job = PubJob {
                    subject: Rc::from(subject.as_str()),
                    body: body.clone(),
                    headers: headers.clone(),
                    reply: reply.clone(),
                    request: false,
                    timeout: 0,
                    next: 1,
                    count: *count,
                    sleep: *sleep,
                };
                self.start_job(ctx, job);
            }
            ClientCmd::Req { subject, body, headers, count, timeout, sleep } => {
                let job = PubJob {
                    subject: Rc::from(subject.as_str()),
                    body: body.clone(),
                    headers: headers.clone(),
                    reply: None,
                    request: true,
                    timeout: *timeout,
                    next: 1,
                    count: *count,
                    sleep: *sleep,
                };
                self.start_job(ctx, job);
            }
            ClientCmd::JsPub { subject, body, headers, count, sleep, timeout } => {
                let id = self.next_job;
                self.next_job += 1;
                let job = JsPubJob {
                    subject: Rc::from(subject.as_str()),
                    body: body.clone(),
                    headers: headers.clone(),
                    next: 1,
                    count: *count,
                    sleep: *sleep,
                    timeout: *timeout,
                };
                self.js_jobs.insert(id, job);
                self.js_pub_next(ctx, id);
            }
            ClientCmd::Stream(sc) => self.stream_cmd(ctx, sc),
            ClientCmd::Consumer(cc) => self.consumer_cmd(ctx, cc),
        }
    }

    /// Send a request through the shared inbox; returns its id.
    fn js_request(
        &mut self,
        ctx: &mut Ctx,
        subject: &Rc<str>,
        headers: &[(String, String)],
        body: &[u8],
        timeout: Dur,
        wait: JsWait,
    ) {
        let prefix = self.inbox(ctx);
        let rid = self.next_req;
        self.next_req += 1;
        let reply = format!("{prefix}.{rid}");
        self.js_pending.insert(rid, JsPending { wait, subject: subject.clone(), sent_at: ctx.now });
        ctx.timer(ctx.now + timeout, Timer::JsTimeout(rid));
        self.publish_raw(ctx, subject, Some(&reply), headers, body);
    }

    /// Publish the next message of a `--jetstream` job (one at a time: the
    /// next goes after the previous one's PubAck, error or timeout).
    fn js_pub_next(&mut self, ctx: &mut Ctx, id: u64) {
        let Some(job) = self.js_jobs.get_mut(&id) else { return };
        if job.next > job.count {
            self.js_jobs.remove(&id);
            return;
        }
        let n = job.next;
        job.next += 1;
        let body = job.body.replace("{{Count}}", &n.to_string());
        let (subject, headers, timeout) = (job.subject.clone(), job.headers.clone(), job.timeout);
        self.js.published += 1;
        self.js.by_subject.entry(subject.clone()).or_default().sent += 1;
        self.js_request(ctx, &subject, &headers, body.as_bytes(), timeout, JsWait::Pub { job: id });
    }

    /// The job's publish finished: schedule or send the next one.
    fn js_pub_done(&mut self, ctx: &mut Ctx, job: u64) {
        let Some(j) = self.js_jobs.get(&job) else { return };
        if j.sleep > 0 && j.next <= j.count {
            // The sleep timer reuses the publish-job timer id space.
            ctx.timer(ctx.now + j.sleep, Timer::PublishJob(u64::MAX - job));
        } else {
            self.js_pub_next(ctx, job);
        }
    }

    fn js_timeout(&mut self, ctx: &mut Ctx, id: u64) {
        let Some(p) = self.js_pending.remove(&id) else { return };
        match p.wait {
            JsWait::Pub { job } => {
                self.js.timeouts += 1;
                self.js.by_subject.entry(p.subject.clone()).or_default().timeouts += 1;
                ctx.trace(TraceKind::PubFailed { client: ctx.me, subject: p.subject, reason: Rc::from("timeout") });
                self.js_pub_done(ctx, job);
            }
            JsWait::Api { op, .. } => {
                self.js.api_errors += 1;
                self.js.last_api = Some((op.to_string(), String::new()));
                ctx.trace(TraceKind::JsApi {
                    client: ctx.me,
                    op,
                    ok: false,
                    text: Rc::from("context deadline exceeded"),
                });
            }
        }
    }

    /// A reply on the inbox for a JetStream publish or API call.
    fn js_response(&mut self, ctx: &mut Ctx, id: u64, headers: Option<&[u8]>, payload: &[u8]) {
        let Some(p) = self.js_pending.remove(&id) else { return };
        let status = headers.and_then(|h| proto::Headers::parse(h).ok()).and_then(|h| h.status);
        let json: Option<serde_json::Value> = serde_json::from_slice(payload).ok();
        let err = if status == Some(503) {
            Some("no responders available for request".to_string())
        } else {
            match &json {
                None => Some("invalid JSON response".to_string()),
                Some(v) => v.get("error").map(|e| {
                    let d = e.get("description").and_then(|d| d.as_str()).unwrap_or("error");
                    let c = e.get("err_code").and_then(|c| c.as_u64()).unwrap_or(0);
                    format!("{d} ({c})")
                }),
            }
        };
        match p.wait {
            JsWait::Pub { job } => {
                let stats = self.js.by_subject.entry(p.subject.clone()).or_default();
                match err {
                    Some(e) => {
                        self.js.errors += 1;
                        stats.errors += 1;
                        if status == Some(503) {
                            self.js.no_responders += 1;
                        }
                        ctx.trace(TraceKind::PubFailed {
                            client: ctx.me,
                            subject: p.subject,
                            reason: Rc::from(e.as_str()),
                        });
                    }
                    None => {
                        let v = json.unwrap_or_default();
                        let stream: Rc<str> = Rc::from(v.get("stream").and_then(|s| s.as_str()).unwrap_or(""));
                        let seq = v.get("seq").and_then(|s| s.as_u64()).unwrap_or(0);
                        let latency = ctx.now.saturating_sub(p.sent_at);
                        self.js.acked += 1;
                        stats.acked += 1;
                        if stats.latencies.len() < 100_000 {
                            stats.latencies.push(latency);
                        }
                        if self.js.latencies.len() < 100_000 {
                            self.js.latencies.push(latency);
                        }
                        if self.js.acked_msgs.len() < 1_000_000 {
                            let body = self
                                .js_jobs
                                .get(&job)
                                .map(|j| Bytes::from(j.body.replace("{{Count}}", &(j.next - 1).to_string())))
                                .unwrap_or_default();
                            self.js.acked_msgs.push((stream.clone(), seq, p.subject.clone(), body));
                        }
                        ctx.trace(TraceKind::PubAcked { client: ctx.me, subject: p.subject, stream, seq, latency });
                    }
                }
                self.js_pub_done(ctx, job);
            }
            JsWait::Api { op, delete } => {
                let raw = String::from_utf8_lossy(payload).into_owned();
                self.js.last_api = Some((op.to_string(), raw));
                let (ok, text) = match err {
                    Some(e) => {
                        self.js.api_errors += 1;
                        (false, e)
                    }
                    None => {
                        if let Some(d) = delete {
                            self.js.deleted_streams.push(d);
                        }
                        (true, summarize_api(json.as_ref()))
                    }
                };
                ctx.trace(TraceKind::JsApi { client: ctx.me, op, ok, text: Rc::from(text.as_str()) });
            }
        }
    }

    fn stream_cmd(&mut self, ctx: &mut Ctx, cmd: &StreamCmd) {
        use serde_json::json;
        let (op, subject, body, delete): (String, String, Vec<u8>, Option<Rc<str>>) = match cmd {
            StreamCmd::Add { name, subjects, replicas, memory, max_msgs, max_bytes, max_age, discard_new, tags } => {
                let mut cfg = json!({
                    "name": name,
                    "subjects": if subjects.is_empty() { vec![name.clone()] } else { subjects.clone() },
                    "retention": "limits",
                    "max_consumers": -1,
                    "max_msgs": max_msgs.unwrap_or(-1),
                    "max_bytes": max_bytes.unwrap_or(-1),
                    "max_age": max_age.map_or(0, |a| a.min(i64::MAX as u64) as i64),
                    "max_msgs_per_subject": -1,
                    "max_msg_size": -1,
                    "discard": if *discard_new { "new" } else { "old" },
                    "storage": if *memory { "memory" } else { "file" },
                    "num_replicas": replicas,
                    "duplicate_window": 120_000_000_000i64,
                    "compression": "none",
                    "allow_direct": true,
                    "mirror_direct": false,
                    "sealed": false,
                    "deny_delete": false,
                    "deny_purge": false,
                    "allow_rollup_hdrs": false,
                    "consumer_limits": {},
                });
                if !tags.is_empty() {
                    cfg["placement"] = json!({"tags": tags});
                }
                (
                    format!("stream add {name}"),
                    format!("$JS.API.STREAM.CREATE.{name}"),
                    serde_json::to_vec(&cfg).unwrap_or_default(),
                    None,
                )
            }
            StreamCmd::Info { name } => {
                (format!("stream info {name}"), format!("$JS.API.STREAM.INFO.{name}"), Vec::new(), None)
            }
            StreamCmd::Rm { name } => (
                format!("stream rm {name}"),
                format!("$JS.API.STREAM.DELETE.{name}"),
                Vec::new(),
                Some(Rc::from(name.as_str())),
            ),
            StreamCmd::Purge { name } => {
                (format!("stream purge {name}"), format!("$JS.API.STREAM.PURGE.{name}"), Vec::new(), None)
            }
            StreamCmd::Ls => ("stream ls".to_string(), "$JS.API.STREAM.LIST".to_string(), Vec::new(), None),
            StreamCmd::StepDown { name } => (
                format!("stream cluster step-down {name}"),
                format!("$JS.API.STREAM.LEADER.STEPDOWN.{name}"),
                Vec::new(),
                None,
            ),
        };
        self.js.api_calls += 1;
        let subject: Rc<str> = Rc::from(subject.as_str());
        let wait = JsWait::Api { op: Rc::from(op.as_str()), delete };
        self.js_request(ctx, &subject, &[], &body, crate::scenario::DEFAULT_REQUEST_TIMEOUT, wait);
    }

    fn start_job(&mut self, ctx: &mut Ctx, job: PubJob) {
        let id = self.next_job;
        self.next_job += 1;
        self.jobs.insert(id, job);
        self.run_job(ctx, id);
    }

    /// Send the next message(s) of a publish job: all at once without
    /// `--sleep`, else one now and a timer for the next.
    fn run_job(&mut self, ctx: &mut Ctx, id: u64) {
        // The job stays in the map; what is borrowed while it runs is lent
        // out of it meanwhile (no map removal and re-insertion per message).
        let Some(job) = self.jobs.get_mut(&id) else { return };
        let body_src = std::mem::take(&mut job.body);
        let headers = std::mem::take(&mut job.headers);
        let reply_to = job.reply.take();
        let subject = job.subject.clone();
        let (request, timeout, count, sleep) = (job.request, job.timeout, job.count, job.sleep);
        let mut next = job.next;
        // (The cheap character search first: most bodies have no template.)
        let templated = body_src.contains('{') && body_src.contains("{{Count}}");
        while next <= count {
            let n = next;
            next += 1;
            let body: std::borrow::Cow<str> =
                if templated { body_src.replace("{{Count}}", &n.to_string()).into() } else { body_src.as_str().into() };
            if request {
                let prefix = self.inbox(ctx);
                let rid = self.next_req;
                self.next_req += 1;
                let reply = format!("{prefix}.{rid}");
                self.pending.insert(rid, Pending { subject: subject.clone(), sent_at: ctx.now });
                ctx.timer(ctx.now + timeout, Timer::RequestTimeout(rid));
                self.stats.requests += 1;
                self.publish_raw(ctx, &subject, Some(&reply), &headers, body.as_bytes());
            } else {
                self.publish_raw(ctx, &subject, reply_to.as_deref(), &headers, body.as_bytes());
            }
            if sleep > 0 && next <= count {
                ctx.timer(ctx.now + sleep, Timer::PublishJob(id));
                if let Some(job) = self.jobs.get_mut(&id) {
                    job.body = body_src;
                    job.headers = headers;
                    job.reply = reply_to;
                    job.next = next;
                }
                return;
            }
        }
        self.jobs.remove(&id);
    }
}

impl Client {
    /// `nats consumer ...`: API requests like `nats stream`, and `next` as a
    /// pull request on its own inbox subscription.
    fn consumer_cmd(&mut self, ctx: &mut Ctx, cmd: &ConsumerCmd) {
        use serde_json::json;
        let (op, subject, body): (String, String, Vec<u8>) = match cmd {
            ConsumerCmd::Add { stream, name, target, ack, deliver, filters, max_deliver, ack_wait, max_pending } => {
                let mut cfg = json!({"durable_name": name, "deliver_policy": deliver, "ack_policy": ack});
                if let Some(t) = target {
                    cfg["deliver_subject"] = json!(t);
                }
                match filters.as_slice() {
                    [] => {}
                    [one] => cfg["filter_subject"] = json!(one),
                    many => cfg["filter_subjects"] = json!(many),
                }
                if let Some(n) = max_deliver {
                    cfg["max_deliver"] = json!(n);
                }
                if let Some(w) = ack_wait {
                    cfg["ack_wait"] = json!(w);
                }
                if let Some(n) = max_pending {
                    cfg["max_ack_pending"] = json!(n);
                }
                let req = json!({"stream_name": stream, "config": cfg, "action": "create"});
                (
                    format!("consumer add {stream} {name}"),
                    format!("$JS.API.CONSUMER.CREATE.{stream}.{name}"),
                    serde_json::to_vec(&req).unwrap_or_default(),
                )
            }
            ConsumerCmd::Info { stream, name } => {
                (format!("consumer info {stream} {name}"), format!("$JS.API.CONSUMER.INFO.{stream}.{name}"), Vec::new())
            }
            ConsumerCmd::Rm { stream, name } => {
                (format!("consumer rm {stream} {name}"), format!("$JS.API.CONSUMER.DELETE.{stream}.{name}"), Vec::new())
            }
            ConsumerCmd::Ls { stream } => {
                (format!("consumer ls {stream}"), format!("$JS.API.CONSUMER.NAMES.{stream}"), Vec::new())
            }
            ConsumerCmd::StepDown { stream, name } => (
                format!("consumer cluster step-down {stream} {name}"),
                format!("$JS.API.CONSUMER.LEADER.STEPDOWN.{stream}.{name}"),
                Vec::new(),
            ),
            ConsumerCmd::Next { stream, name, count, ack } => {
                let prefix = self.inbox(ctx);
                let rid = self.next_req;
                self.next_req += 1;
                let inbox = format!("{prefix}.pull.{rid}");
                let op: Rc<str> = Rc::from(format!("consumer next {stream} {name}").as_str());
                self.subscribe(ctx, &inbox, None, SubKind::Pull { op, ack: *ack, remaining: *count }, None);
                let expires = crate::scenario::DEFAULT_REQUEST_TIMEOUT;
                let body = format!("{{\"batch\":{count},\"expires\":{expires}}}");
                let subject: Rc<str> = Rc::from(format!("$JS.API.CONSUMER.MSG.NEXT.{stream}.{name}").as_str());
                self.js.api_calls += 1;
                self.publish_raw(ctx, &subject, Some(&inbox), &[], body.as_bytes());
                return;
            }
        };
        self.js.api_calls += 1;
        let subject: Rc<str> = Rc::from(subject.as_str());
        let wait = JsWait::Api { op: Rc::from(op.as_str()), delete: None };
        self.js_request(ctx, &subject, &[], &body, crate::scenario::DEFAULT_REQUEST_TIMEOUT, wait);
    }

    /// A message on a `nats consumer next` inbox; returns whether the pull is over.
    #[allow(clippy::too_many_arguments)]
    fn pull_msg(
        &mut self,
        ctx: &mut Ctx,
        sid: u64,
        op: &Rc<str>,
        ack: bool,
        remaining: u64,
        subject: Rc<str>,
        reply: Option<&str>,
        headers: Option<&[u8]>,
        payload: &[u8],
    ) -> bool {
        match reply.filter(|r| r.starts_with("$JS.ACK.")) {
            Some(ack_subject) => {
                self.stats.received += 1;
                ctx.trace(TraceKind::Received { client: ctx.me, subject, bytes: payload.len() as u32 });
                if ack {
                    let a: Rc<str> = Rc::from(ack_subject);
                    self.publish_raw(ctx, &a, None, &[], b"+ACK");
                }
                let left = remaining.saturating_sub(1);
                if let Some(s) = self.subs.get_mut(&sid) {
                    s.kind = SubKind::Pull { op: op.clone(), ack, remaining: left };
                }
                left == 0
            }
            None => {
                // A status ends the pull (100 heartbeats do not).
                let h = headers.and_then(|h| proto::Headers::parse(h).ok());
                let code = h.as_ref().and_then(|h| h.status).unwrap_or(0);
                if code == 100 {
                    return false;
                }
                let text = format!("{code} {}", h.and_then(|h| h.description).unwrap_or_default());
                self.js.last_api = Some((op.to_string(), text.clone()));
                ctx.trace(TraceKind::JsApi {
                    client: ctx.me,
                    op: op.clone(),
                    ok: false,
                    text: Rc::from(text.as_str()),
                });
                true
            }
        }
    }
}

/// A one-line summary of a successful API response.
fn summarize_api(v: Option<&serde_json::Value>) -> String {
    let Some(v) = v else { return String::new() };
    if let (Some(name), Some(delivered)) = (v.get("name").and_then(|n| n.as_str()), v.get("delivered")) {
        let d = delivered.get("stream_seq").and_then(|n| n.as_u64()).unwrap_or(0);
        let f = v.get("ack_floor").and_then(|a| a.get("stream_seq")).and_then(|n| n.as_u64()).unwrap_or(0);
        let p = v.get("num_pending").and_then(|n| n.as_u64()).unwrap_or(0);
        let a = v.get("num_ack_pending").and_then(|n| n.as_u64()).unwrap_or(0);
        return format!("consumer {name}: delivered {d}, ack floor {f}, {p} pending, {a} unacked");
    }
    if let Some(list) = v.get("consumers").and_then(|s| s.as_array()) {
        let names: Vec<&str> = list.iter().filter_map(|s| s.as_str()).collect();
        return format!("{} consumers: {}", names.len(), names.join(", "));
    }
    if let (Some(cfg), Some(state)) = (v.get("config"), v.get("state")) {
        let name = cfg.get("name").and_then(|n| n.as_str()).unwrap_or("?");
        let msgs = state.get("messages").and_then(|n| n.as_u64()).unwrap_or(0);
        let last = state.get("last_seq").and_then(|n| n.as_u64()).unwrap_or(0);
        let leader = v.get("cluster").and_then(|c| c.get("leader")).and_then(|l| l.as_str()).unwrap_or("none");
        return format!("stream {name}: {msgs} messages, last seq {last}, leader {leader}");
    }
    if let Some(list) = v.get("streams").and_then(|s| s.as_array()) {
        let names: Vec<&str> = list
            .iter()
            .filter_map(|s| s.as_str().or_else(|| s.get("config").and_then(|c| c.get("name")).and_then(|n| n.as_str())))
            .collect();
        return format!("{} streams: {}", names.len(), names.join(", "));
    }
    if let Some(p) = v.get("purged").and_then(|p| p.as_u64()) {
        return format!("purged {p} messages");
    }
    if v.get("success").and_then(|s| s.as_bool()) == Some(true) {
        return "ok".to_string();
    }
    String::new()
}
