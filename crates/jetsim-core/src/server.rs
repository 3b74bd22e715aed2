//! A simulated nats-server: client connections speaking the real client
//! protocol (through [`crate::proto`]), a subscription index, and routes to the
//! other servers of its cluster with interest propagation (a message crosses a
//! route only where the peer has interest), as nats-server does.
//!
//! The server is a sans-IO state machine: the world hands it frames and timers
//! with a [`Ctx`] and it records sends, timers and trace events.

use crate::vecmap::{VecMap as BTreeMap, VecSet as BTreeSet}; // sorted-Vec maps: smaller wasm (see vecmap.rs)
use std::rc::Rc;

use bytes::Bytes;

use crate::node::{Ctx, Frame, RouteMsg};
use crate::proto::{self, ClientOp, ClientOpRef, ServerParser};
use crate::sublist::Sublist;
use crate::trace::{Endpoint, FrameKind, TraceKind};

/// Static configuration of one server (from the scenario).
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub name: String,
    pub cluster: String,
    pub az: Option<String>,
    pub region: Option<String>,
    pub tags: Vec<String>,
    pub jetstream: bool,
    pub max_payload: u32,
}

/// Who a subscription in the index belongs to.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SubTarget {
    /// A subscription of a client connection (`sub` is the server's own id for it).
    Client { cid: u32, sub: u32 },
    /// Interest of a peer server across a route.
    Route { peer: Endpoint },
    /// A subscription of the server itself (JetStream: `$JS.API.>`, a stream
    /// leader's subjects).
    Internal { id: u32 },
}

/// Interest on a subject, optionally in a queue group (what RS+/RS- carry).
type InterestKey = (Rc<str>, Option<Rc<str>>);

#[derive(Clone, Debug)]
struct ClientSub {
    subject: Rc<str>,
    queue: Option<Rc<str>>,
    sid: Rc<str>,
    /// Auto-unsubscribe after this many deliveries (UNSUB <sid> <max>).
    max: Option<u64>,
    delivered: u64,
}

#[derive(Debug)]
struct Conn {
    endpoint: Endpoint,
    /// Boxed: taken out (a pointer move) while its operations are handled.
    parser: Option<Box<ServerParser>>,
    connected: bool,
    verbose: bool,
    echo: bool,
    headers: bool,
    no_responders: bool,
    name: String,
    /// By the server's sub id.
    subs: BTreeMap<u32, ClientSub>,
    /// sid → sub id.
    by_sid: BTreeMap<Rc<str>, u32>,
    in_msgs: u64,
    out_msgs: u64,
    /// CONNECT's `protocol` (1: the client takes async INFO).
    protocol: i64,
    /// The first PING after CONNECT was answered (nats `firstPongSent`).
    first_pong: bool,
}

/// Counters, as nats-server's varz.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerStats {
    pub in_msgs: u64,
    pub out_msgs: u64,
    pub in_bytes: u64,
    pub out_bytes: u64,
    pub route_msgs_sent: u64,
    pub route_msgs_received: u64,
    pub protocol_errors: u64,
}

#[derive(Debug)]
pub struct Server {
    pub config: ServerConfig,
    /// Every server of the cluster (endpoints), including this one.
    pub cluster_peers: Vec<Endpoint>,
    pub server_id: String,
    conns: BTreeMap<u32, Conn>,
    /// Client endpoint → connection id.
    conn_by_endpoint: BTreeMap<Endpoint, u32>,
    next_cid: u32,
    next_sub: u32,
    sublist: Sublist<SubTarget>,
    /// Local interest counts per (subject, queue), to send RS+/RS- on the
    /// first/last local subscription.
    local_interest: BTreeMap<InterestKey, u32>,
    /// Connected routes.
    pub(crate) routes: BTreeSet<Endpoint>,
    /// Interest each peer told us about.
    route_interest: BTreeMap<Endpoint, BTreeSet<InterestKey>>,
    pub stats: ServerStats,
    /// The last subject published here, reused while publishes repeat it
    /// (saves an allocation per message on the hot path).
    last_subject: Option<Rc<str>>,
    /// Scratch space for routing one message, reused across messages.
    scratch_local: Vec<(u32, u32)>,
    scratch_forward: Vec<(Endpoint, Vec<Rc<str>>)>,
    /// JetStream, when enabled and started ([`Server::js_start`]).
    pub js: Option<Box<crate::jetstream::JetStream>>,
    /// Delivery frames are cut from shared blocks (no allocation per frame).
    frames: proto::FrameArena,
    /// Real addresses INFO announces (`jetsim serve`); `None` in scenario runs.
    pub advertise: Option<Rc<crate::external::Advertise>>,
    /// While delivering a consumer's message: the subject subscribers see
    /// ([`Server::internal_deliver`]).
    shown_subject: Option<Rc<str>>,
}

/// Per-server summary for reports and the UI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerSummary {
    pub connections: u32,
    pub subscriptions: u32,
    pub routes: Vec<Endpoint>,
    pub stats: ServerStats,
}

impl Server {
    pub fn new(config: ServerConfig, cluster_peers: Vec<Endpoint>, server_id: String) -> Server {
        Server {
            config,
            cluster_peers,
            server_id,
            conns: BTreeMap::new(),
            conn_by_endpoint: BTreeMap::new(),
            next_cid: 1,
            next_sub: 1,
            sublist: Sublist::new(),
            local_interest: BTreeMap::new(),
            routes: BTreeSet::new(),
            route_interest: BTreeMap::new(),
            stats: ServerStats::default(),
            last_subject: None,
            scratch_local: Vec::new(),
            scratch_forward: Vec::new(),
            js: None,
            frames: proto::FrameArena::new(),
            advertise: None,
            shown_subject: None,
        }
    }

    fn intern(&mut self, subject: &str) -> Rc<str> {
        match &self.last_subject {
            Some(s) if &**s == subject => s.clone(),
            _ => {
                let s: Rc<str> = Rc::from(subject);
                self.last_subject = Some(s.clone());
                s
            }
        }
    }

    pub fn summary(&self) -> ServerSummary {
        ServerSummary {
            connections: self.conns.len() as u32,
            subscriptions: self.conns.values().map(|c| c.subs.len() as u32).sum(),
            routes: self.routes.iter().copied().collect(),
            stats: self.stats.clone(),
        }
    }

    pub fn connected_clients(&self) -> impl Iterator<Item = Endpoint> + '_ {
        self.conns.values().map(|c| c.endpoint)
    }

    /// Handle a frame arriving from `from` (a client or a peer server).
    pub fn on_frame(&mut self, ctx: &mut Ctx, from: Endpoint, frame: Frame) {
        match frame {
            Frame::Open => self.accept(ctx, from),
            Frame::Close => self.close_conn(ctx, from, false),
            Frame::Bytes(b) => self.client_bytes(ctx, from, &b),
            Frame::Route(msg) => self.route_msg(ctx, from, msg),
            Frame::Raft { group, msg } => self.js_raft_frame(ctx, from, group, msg),
        }
    }

    fn accept(&mut self, ctx: &mut Ctx, from: Endpoint) {
        if self.conn_by_endpoint.contains_key(&from) {
            // A reconnect over a connection we still think is open: drop the old one.
            self.close_conn(ctx, from, false);
        }
        let cid = self.next_cid;
        self.next_cid += 1;
        self.conns.insert(
            cid,
            Conn {
                endpoint: from,
                parser: Some(Box::new(ServerParser::new(self.config.max_payload))),
                connected: false,
                verbose: false,
                echo: true,
                headers: false,
                no_responders: false,
                name: String::new(),
                subs: BTreeMap::new(),
                by_sid: BTreeMap::new(),
                in_msgs: 0,
                out_msgs: 0,
                protocol: 0,
                first_pong: false,
            },
        );
        self.conn_by_endpoint.insert(from, cid);
        let info = self.info_json(cid, ctx.me);
        ctx.send(from, Frame::Bytes(Bytes::from(info)), FrameKind::ServerCtl, None);
    }

    /// INFO for connection `cid` (`connect_info`: the answer to its first
    /// PING, nats-server 2.12 `processPing`).
    fn info_json(&self, cid: u32, me: Endpoint) -> Vec<u8> {
        self.info_json_with(cid, me, false)
    }

    fn info_json_with(&self, cid: u32, me: Endpoint, connect_info: bool) -> Vec<u8> {
        let mut info = proto::ServerInfo {
            server_id: self.server_id.clone(),
            server_name: self.config.name.clone(),
            version: crate::NATS_VERSION.to_string(),
            proto: 1,
            go: "go1.24.4".to_string(),
            host: "0.0.0.0".to_string(),
            port: 4222,
            headers: true,
            max_payload: self.config.max_payload,
            jetstream: self.config.jetstream,
            client_id: cid as u64,
            client_ip: "127.0.0.1".to_string(),
            cluster: Some(self.config.cluster.clone()),
            ..Default::default()
        };
        if let Some(adv) = &self.advertise {
            // What nats-server 2.12.8 listening there sends (jetsim serve).
            info.host = adv.host.clone();
            info.port = adv.ports.get(&me).copied().map_or(0, i64::from);
            info.git_commit = crate::external::NATS_GIT_COMMIT.to_string();
            info.go = crate::external::NATS_GO_VERSION.to_string();
            if self.config.jetstream {
                info.api_lvl = crate::external::NATS_API_LEVEL;
            }
            if self.cluster_peers.len() == 1 {
                // A lone server is taken as a standalone nats-server (no
                // cluster block): its INFO names no cluster.
                info.cluster = None;
            } else {
                // Its own URL first, then the routed peers' (nats-server:
                // clientConnectURLs, then the map of the routes' URLs).
                info.connect_urls = adv.url_of(me).into_iter().collect();
                info.connect_urls.extend(
                    self.cluster_peers
                        .iter()
                        .filter(|&&p| p != me && self.routes.contains(&p))
                        .filter_map(|&p| adv.url_of(p)),
                );
            }
            if connect_info {
                info.connect_info = true;
                info.remote_account = "$G".to_string();
            }
        }
        proto::write_info(&info)
    }

    /// After the first PONG to a client that CONNECTed with protocol 1,
    /// nats-server 2.12 sends INFO with `connect_info` and its account
    /// (client.go `processPing`). Only with [`Server::advertise`] set (`jetsim
    /// serve`) for now: scenario runs keep their trace hashes.
    fn first_pong_info(&mut self, ctx: &mut Ctx, cid: u32) {
        let Some(conn) = self.conns.get_mut(&cid) else { return };
        if !conn.connected || conn.first_pong {
            return;
        }
        conn.first_pong = true;
        if conn.protocol < 1 {
            return;
        }
        let endpoint = conn.endpoint;
        let info = self.info_json_with(cid, ctx.me, true);
        ctx.send(endpoint, Frame::Bytes(Bytes::from(info)), FrameKind::ServerCtl, None);
    }

    /// The routes changed, so `connect_urls` did: INFO to every client that
    /// takes async INFO and got its first PONG (route.go
    /// `sendAsyncInfoToClients`). Only with [`Server::advertise`] set: without
    /// it INFO carries no `connect_urls`.
    fn async_info(&mut self, ctx: &mut Ctx) {
        if self.advertise.is_none() {
            return;
        }
        let targets: Vec<(u32, Endpoint)> = self
            .conns
            .iter()
            .filter(|(_, c)| c.protocol >= 1 && c.first_pong)
            .map(|(&cid, c)| (cid, c.endpoint))
            .collect();
        for (cid, endpoint) in targets {
            let info = self.info_json(cid, ctx.me);
            ctx.send(endpoint, Frame::Bytes(Bytes::from(info)), FrameKind::ServerCtl, None);
        }
    }

    /// Close a client connection (the client went away, or we close it).
    fn close_conn(&mut self, ctx: &mut Ctx, endpoint: Endpoint, notify: bool) {
        let Some(cid) = self.conn_by_endpoint.remove(&endpoint) else { return };
        let Some(conn) = self.conns.remove(&cid) else { return };
        for (sub_id, sub) in conn.subs {
            self.remove_local_sub(ctx, cid, sub_id, &sub);
        }
        if notify {
            ctx.send(endpoint, Frame::Close, FrameKind::Close, None);
        }
    }

    fn client_bytes(&mut self, ctx: &mut Ctx, from: Endpoint, data: &Bytes) {
        let Some(&cid) = self.conn_by_endpoint.get(&from) else { return };
        // Each operation is handled as soon as it is parsed, messages borrowed
        // from the frame (payloads sliced from it, not copied). The parser is
        // out of the connection meanwhile; once an operation has closed the
        // connection the rest are not handled.
        let Some(mut parser) = self.conns.get_mut(&cid).and_then(|c| c.parser.take()) else { return };
        let result = parser.feed_bytes_with(data, |op| {
            if self.conns.contains_key(&cid) {
                self.client_op(ctx, cid, op);
            }
        });
        if let Some(conn) = self.conns.get_mut(&cid) {
            conn.parser = Some(parser);
        }
        if let Err(e) = result {
            self.protocol_error(ctx, cid, &e.text, e.closes);
        }
    }

    /// Answer a protocol error as nats-server does: `-ERR '<text>'` (none for
    /// the violations it closes silently), then close if the error closes.
    fn protocol_error(&mut self, ctx: &mut Ctx, cid: u32, text: &str, closes: bool) {
        let Some(conn) = self.conns.get(&cid) else { return };
        let endpoint = conn.endpoint;
        self.stats.protocol_errors += 1;
        if !text.is_empty() {
            let mut out = Vec::new();
            proto::write_err(&mut out, text);
            ctx.send(endpoint, Frame::Bytes(Bytes::from(out)), FrameKind::ServerCtl, None);
        }
        let shown = if text.is_empty() { "(connection closed: protocol violation)" } else { text };
        ctx.trace(TraceKind::ProtocolError { client: endpoint, text: Rc::from(shown) });
        if closes {
            self.close_conn(ctx, endpoint, true);
        }
    }

    fn send_ok(&mut self, ctx: &mut Ctx, cid: u32) {
        if let Some(conn) = self.conns.get(&cid) {
            if conn.verbose {
                let mut out = Vec::new();
                proto::write_ok(&mut out);
                ctx.send(conn.endpoint, Frame::Bytes(Bytes::from(out)), FrameKind::ServerCtl, None);
            }
        }
    }

    fn client_op(&mut self, ctx: &mut Ctx, cid: u32, op: ClientOpRef<'_>) {
        let op = match op {
            ClientOpRef::Pub { subject, reply, headers, payload } => {
                self.client_pub(
                    ctx,
                    cid,
                    &subject,
                    reply.as_deref(),
                    headers.map(|h| h.to_bytes()),
                    payload.to_bytes(),
                );
                return;
            }
            ClientOpRef::Op(op) => op,
        };
        match op {
            ClientOp::Connect(info) => {
                // Same checks, same order as nats-server's processConnect.
                if let Err(e) = info.check(true) {
                    self.protocol_error(ctx, cid, &e.text, e.closes);
                    return;
                }
                if let Some(conn) = self.conns.get_mut(&cid) {
                    conn.connected = true;
                    conn.verbose = info.verbose;
                    conn.echo = info.echo;
                    conn.headers = info.headers;
                    conn.no_responders = info.no_responders;
                    conn.protocol = info.protocol;
                    conn.name = info.name.clone().unwrap_or_default();
                    ctx.trace(TraceKind::ClientConnected { client: conn.endpoint, server: ctx.me });
                }
                self.send_ok(ctx, cid);
            }
            ClientOp::Ping => {
                if let Some(conn) = self.conns.get(&cid) {
                    let mut out = Vec::new();
                    proto::write_pong(&mut out);
                    ctx.send(conn.endpoint, Frame::Bytes(Bytes::from(out)), FrameKind::ServerCtl, None);
                }
                if self.advertise.is_some() {
                    self.first_pong_info(ctx, cid);
                }
            }
            ClientOp::Pong => {}
            ClientOp::Sub { subject, queue, sid } => {
                self.client_sub(ctx, cid, subject, queue, sid);
            }
            ClientOp::Unsub { sid, max } => {
                self.client_unsub(ctx, cid, &sid, max);
                self.send_ok(ctx, cid);
            }
            // Publishes arrive as `ClientOpRef::Pub`; handled the same if not.
            ClientOp::Pub { subject, reply, payload } => {
                self.client_pub(ctx, cid, &subject, reply.as_deref(), None, payload);
            }
            ClientOp::Hpub { subject, reply, headers, payload } => {
                self.client_pub(ctx, cid, &subject, reply.as_deref(), Some(headers), payload);
            }
            // An error the parser reports without closing (a pedantic
            // client's wildcard publish): -ERR, and the op goes on.
            ClientOp::SendErr(e) => self.protocol_error(ctx, cid, &e.text, false),
            // nats-server ignores INFO from clients.
            ClientOp::Info(_) => {}
        }
    }

    fn client_sub(&mut self, ctx: &mut Ctx, cid: u32, subject: String, queue: Option<String>, sid: String) {
        if !crate::subject::is_valid_subject(&subject) || queue.as_deref().is_some_and(|q| q.is_empty()) {
            self.protocol_error(ctx, cid, proto::ERR_INVALID_SUBJECT, false);
            return;
        }
        let sid: Rc<str> = Rc::from(sid.as_str());
        let Some(conn) = self.conns.get(&cid) else { return };
        if conn.by_sid.contains_key(&sid) {
            // nats-server ignores a duplicate sid on the same connection.
            self.send_ok(ctx, cid);
            return;
        }
        let sub_id = self.next_sub;
        self.next_sub += 1;
        let subject: Rc<str> = Rc::from(subject.as_str());
        let queue: Option<Rc<str>> = queue.map(|q| Rc::from(q.as_str()));
        if self.sublist.insert(&subject, queue.as_deref(), SubTarget::Client { cid, sub: sub_id }).is_err() {
            self.protocol_error(ctx, cid, proto::ERR_INVALID_SUBJECT, false);
            return;
        }
        if let Some(conn) = self.conns.get_mut(&cid) {
            conn.by_sid.insert(sid.clone(), sub_id);
            conn.subs.insert(
                sub_id,
                ClientSub { subject: subject.clone(), queue: queue.clone(), sid, max: None, delivered: 0 },
            );
        }
        self.add_interest(ctx, (subject, queue));
        self.send_ok(ctx, cid);
    }

    fn client_unsub(&mut self, ctx: &mut Ctx, cid: u32, sid: &str, max: Option<u64>) {
        let Some(conn) = self.conns.get_mut(&cid) else { return };
        let Some(&sub_id) = conn.by_sid.get(sid) else { return };
        if let Some(max) = max {
            if let Some(sub) = conn.subs.get_mut(&sub_id) {
                if sub.delivered < max {
                    sub.max = Some(max);
                    return;
                }
            }
        }
        self.unsub_now(ctx, cid, sub_id);
    }

    fn unsub_now(&mut self, ctx: &mut Ctx, cid: u32, sub_id: u32) {
        let Some(conn) = self.conns.get_mut(&cid) else { return };
        let Some(sub) = conn.subs.remove(&sub_id) else { return };
        conn.by_sid.remove(&sub.sid);
        self.remove_local_sub(ctx, cid, sub_id, &sub);
    }

    /// One more local subscription on (subject, queue): the first tells every
    /// route (RS+), as nats-server propagates interest.
    fn add_interest(&mut self, ctx: &mut Ctx, key: InterestKey) {
        let count = self.local_interest.entry(key.clone()).or_insert(0);
        *count += 1;
        if *count == 1 {
            for &peer in &self.routes {
                ctx.send(
                    peer,
                    Frame::Route(RouteMsg::Sub { subject: key.0.clone(), queue: key.1.clone() }),
                    FrameKind::RouteSub,
                    Some(key.0.clone()),
                );
            }
        }
    }

    /// One local subscription fewer on (subject, queue): the last tells every
    /// route (RS-).
    fn release_interest(&mut self, ctx: &mut Ctx, key: InterestKey) {
        let gone = match self.local_interest.get_mut(&key) {
            Some(n) => {
                *n -= 1;
                *n == 0
            }
            None => false,
        };
        if gone {
            self.local_interest.remove(&key);
            for &peer in &self.routes {
                ctx.send(
                    peer,
                    Frame::Route(RouteMsg::Unsub { subject: key.0.clone(), queue: key.1.clone() }),
                    FrameKind::RouteSub,
                    Some(key.0.clone()),
                );
            }
        }
    }

    fn remove_local_sub(&mut self, ctx: &mut Ctx, cid: u32, sub_id: u32, sub: &ClientSub) {
        self.sublist.remove(&sub.subject, sub.queue.as_deref(), &SubTarget::Client { cid, sub: sub_id });
        self.release_interest(ctx, (sub.subject.clone(), sub.queue.clone()));
    }

    fn client_pub(
        &mut self,
        ctx: &mut Ctx,
        cid: u32,
        subject: &str,
        reply: Option<&str>,
        headers: Option<Bytes>,
        payload: Bytes,
    ) {
        let Some(conn) = self.conns.get_mut(&cid) else { return };
        conn.in_msgs += 1;
        let (echo, no_responders, conn_headers) = (conn.echo, conn.no_responders, conn.headers);
        self.stats.in_msgs += 1;
        self.stats.in_bytes += (payload.len() + headers.as_ref().map_or(0, |h| h.len())) as u64;
        // A non-pedantic nats-server does not validate publish subjects: a
        // subject with wildcard tokens is matched only by wildcard
        // subscriptions (the sublist handles that).
        self.send_ok(ctx, cid);
        let subject = self.intern(subject);
        let reply: Option<Rc<str>> = reply.map(Rc::from);
        let delivered = self.route_and_deliver(
            ctx,
            &subject,
            reply.as_ref(),
            headers.as_ref(),
            &payload,
            Origin::Client { cid, echo },
        );
        if !delivered && no_responders && conn_headers {
            if let Some(reply) = reply {
                // No responders: a 503 status to the requester's own reply subscription.
                let hdr = proto::no_responders_header(&subject);
                let hdr = Bytes::from(hdr);
                self.deliver_to_own_subs(ctx, cid, &reply, &hdr);
            }
        }
    }

    fn deliver_to_own_subs(&mut self, ctx: &mut Ctx, cid: u32, reply: &Rc<str>, hdr: &Bytes) {
        let result = self.sublist.matches(reply);
        let mut targets: Vec<u32> = Vec::new();
        for t in result.plain.iter() {
            if let SubTarget::Client { cid: c, sub } = t {
                if *c == cid {
                    targets.push(*sub);
                }
            }
        }
        for (_, members) in result.queues.iter() {
            for t in members {
                if let SubTarget::Client { cid: c, sub } = t {
                    if *c == cid {
                        targets.push(*sub);
                        break;
                    }
                }
            }
        }
        for sub in targets {
            self.deliver_local(ctx, cid, sub, reply, None, Some(hdr), &Bytes::new());
        }
    }

    /// Deliver a message to local subscribers and forward it across routes
    /// with interest. Returns whether it was delivered anywhere.
    fn route_and_deliver(
        &mut self,
        ctx: &mut Ctx,
        subject: &Rc<str>,
        reply: Option<&Rc<str>>,
        headers: Option<&Bytes>,
        payload: &Bytes,
        origin: Origin,
    ) -> bool {
        // A second answer to a local client's $JS.API request is dropped
        // (nats' singleton response import, see jetstream::JetStream::response_gate).
        if let Some(js) = self.js.as_mut() {
            if !js.response_gate(ctx.now, subject) {
                return true;
            }
        }
        let result = self.sublist.matches(subject);
        let mut delivered = false;
        // Routes to forward to (each once, in endpoint order), with the queue
        // groups each must serve; local (cid, sub) deliveries.
        let mut forward = std::mem::take(&mut self.scratch_forward);
        let mut local = std::mem::take(&mut self.scratch_local);
        forward.clear();
        local.clear();
        fn route_entry(forward: &mut Vec<(Endpoint, Vec<Rc<str>>)>, peer: Endpoint) -> &mut Vec<Rc<str>> {
            let i = match forward.iter().position(|(p, _)| *p == peer) {
                Some(i) => i,
                None => {
                    forward.push((peer, Vec::new()));
                    forward.len() - 1
                }
            };
            &mut forward[i].1
        }
        let from_route = matches!(origin, Origin::Route { .. });
        let mut internal: Vec<u32> = Vec::new();
        let route_queues: &[Rc<str>] = match &origin {
            Origin::Route { queues } => queues,
            Origin::Client { .. } => &[],
        };

        for t in result.plain.iter() {
            match t {
                SubTarget::Client { cid, sub } => {
                    if let Origin::Client { cid: pub_cid, echo: false } = origin {
                        if *cid == pub_cid {
                            continue;
                        }
                    }
                    local.push((*cid, *sub));
                }
                SubTarget::Route { peer } => {
                    if !from_route && self.routes.contains(peer) {
                        route_entry(&mut forward, *peer);
                    }
                }
                SubTarget::Internal { id } => internal.push(*id),
            }
        }
        for (queue, members) in result.queues.iter() {
            if from_route && !route_queues.iter().any(|q| **q == **queue) {
                continue;
            }
            let is_local = |t: &SubTarget| match t {
                SubTarget::Client { cid, .. } => {
                    !matches!(origin, Origin::Client { cid: pub_cid, echo: false } if *cid == pub_cid)
                }
                SubTarget::Route { .. } | SubTarget::Internal { .. } => false,
            };
            let n_local = members.iter().filter(|t| is_local(t)).count();
            if n_local > 0 {
                // Local members are preferred (nats-server processMsgResults).
                let k = ctx.rng.index(n_local);
                if let Some(SubTarget::Client { cid, sub }) = members.iter().filter(|t| is_local(t)).nth(k) {
                    local.push((*cid, *sub));
                }
            } else if !from_route {
                let is_remote = |t: &SubTarget| matches!(t, SubTarget::Route { peer } if self.routes.contains(peer));
                let n_remote = members.iter().filter(|t| is_remote(t)).count();
                if n_remote > 0 {
                    let k = ctx.rng.index(n_remote);
                    if let Some(SubTarget::Route { peer }) = members.iter().filter(|t| is_remote(t)).nth(k) {
                        route_entry(&mut forward, *peer).push(Rc::from(&**queue));
                    }
                }
            }
        }
        drop(result);
        if crate::jetstream::JetStream::import_skipped(subject) {
            // nats skips the `$JS.API.>` import for these (jetstream::
            // JetStream::import_skipped): only real subscribers count.
            if let Some(js) = self.js.as_ref() {
                internal.retain(|id| !js.is_api_sub(*id));
            }
            let ri = &self.route_interest;
            forward.retain(|(peer, queues)| {
                !queues.is_empty()
                    || ri.get(peer).is_some_and(|set| {
                        set.iter()
                            .any(|(s, q)| q.is_none() && &**s != "$JS.API.>" && crate::subject::matches(s, subject))
                    })
            });
        }
        for &(cid, sub) in &local {
            if self.deliver_local(ctx, cid, sub, subject, reply, headers, payload) {
                delivered = true;
            }
        }
        self.scratch_local = local;
        crate::sort::sort_by_key(&mut forward, |(peer, _)| *peer);
        for (peer, queues) in forward.drain(..) {
            delivered = true;
            self.stats.route_msgs_sent += 1;
            ctx.send(
                peer,
                Frame::Route(RouteMsg::Msg {
                    subject: subject.clone(),
                    reply: reply.cloned(),
                    headers: headers.cloned(),
                    payload: payload.clone(),
                    queues,
                    shown: self.shown_subject.clone(),
                }),
                FrameKind::RouteMsg,
                Some(subject.clone()),
            );
        }
        self.scratch_forward = forward;
        // Internal handlers publish on their own subjects.
        self.shown_subject = None;
        if !internal.is_empty() {
            let from_client = matches!(origin, Origin::Client { cid, .. } if cid != 0);
            for id in internal {
                self.js_internal_msg(ctx, id, subject, reply, headers, payload, from_client);
            }
            delivered = true;
        }
        delivered
    }

    /// Subscribe the server itself (an internal subscription `id`); interest
    /// propagates to the routes like a client's.
    pub(crate) fn internal_sub(&mut self, ctx: &mut Ctx, subject: &str, id: u32) {
        let subject: Rc<str> = Rc::from(subject);
        if self.sublist.insert(&subject, None, SubTarget::Internal { id }).is_err() {
            return;
        }
        self.add_interest(ctx, (subject, None));
    }

    /// Drop an internal subscription.
    pub(crate) fn internal_unsub(&mut self, ctx: &mut Ctx, subject: &str, id: u32) {
        if !self.sublist.remove(subject, None, &SubTarget::Internal { id }) {
            return;
        }
        self.release_interest(ctx, (Rc::from(subject), None));
    }

    /// Publish from the server itself (JetStream replies and acks).
    pub(crate) fn internal_publish(&mut self, ctx: &mut Ctx, subject: &str, headers: Option<&Bytes>, payload: Bytes) {
        let subject: Rc<str> = Rc::from(subject);
        self.route_and_deliver(ctx, &subject, None, headers, &payload, Origin::Client { cid: 0, echo: true });
    }

    /// Publish from the server itself to `deliver` (the routing subject),
    /// shown to subscribers as `shown` with reply `reply` (nats `pa.deliver`:
    /// JetStream consumers deliver stream messages to a pull request's inbox
    /// or a push deliver subject under their stream subject). Returns whether
    /// anything had interest.
    pub(crate) fn internal_deliver(
        &mut self,
        ctx: &mut Ctx,
        deliver: &Rc<str>,
        shown: &Rc<str>,
        reply: Option<&Rc<str>>,
        headers: Option<&Bytes>,
        payload: &Bytes,
    ) -> bool {
        self.shown_subject = Some(shown.clone());
        let d = self.route_and_deliver(ctx, deliver, reply, headers, payload, Origin::Client { cid: 0, echo: true });
        self.shown_subject = None;
        d
    }

    /// Whether a subscription on exactly `subject` (in queue group `queue`)
    /// exists here or behind a route: how nats notices a push consumer's
    /// deliver subject (`registerNotification` ignores wildcard subscriptions).
    pub(crate) fn has_exact_interest(&self, subject: &str, queue: Option<&str>) -> bool {
        let key: InterestKey = (Rc::from(subject), queue.map(Rc::from));
        self.local_interest.contains_key(&key) || self.route_interest.values().any(|set| set.contains(&key))
    }

    /// Whether anything (a client here, a route, an internal subscription)
    /// has interest in `subject`.
    pub(crate) fn has_interest(&mut self, subject: &str) -> bool {
        self.sublist.has_interest(subject)
    }

    /// Write MSG/HMSG to a local subscriber. Returns false if the sub is gone.
    #[allow(clippy::too_many_arguments)]
    fn deliver_local(
        &mut self,
        ctx: &mut Ctx,
        cid: u32,
        sub_id: u32,
        subject: &Rc<str>,
        reply: Option<&Rc<str>>,
        headers: Option<&Bytes>,
        payload: &Bytes,
    ) -> bool {
        let Some(conn) = self.conns.get_mut(&cid) else { return false };
        let Some(sub) = conn.subs.get_mut(&sub_id) else { return false };
        sub.delivered += 1;
        let done = sub.max.is_some_and(|m| sub.delivered >= m);
        let (sid, conn_headers) = (&*sub.sid, conn.headers);
        let subject = self.shown_subject.as_ref().unwrap_or(subject);
        // Cut from a shared block: no allocation per delivery.
        let frame = match headers {
            Some(h) if conn_headers => self.frames.hmsg(subject, sid, reply.map(|r| &**r), h, payload),
            _ => self.frames.msg(subject, sid, reply.map(|r| &**r), payload),
        };
        conn.out_msgs += 1;
        self.stats.out_msgs += 1;
        self.stats.out_bytes += (payload.len() + headers.map_or(0, |h| h.len())) as u64;
        let endpoint = conn.endpoint;
        ctx.send(endpoint, Frame::Bytes(frame), FrameKind::Deliver, Some(subject.clone()));
        if done {
            self.unsub_now(ctx, cid, sub_id);
        }
        true
    }

    fn route_msg(&mut self, ctx: &mut Ctx, from: Endpoint, msg: RouteMsg) {
        if !self.routes.contains(&from) {
            return;
        }
        match msg {
            RouteMsg::Sub { subject, queue } => {
                let set = self.route_interest.entry(from).or_default();
                if set.insert((subject.clone(), queue.clone())) {
                    let _ = self.sublist.insert(&subject, queue.as_deref(), SubTarget::Route { peer: from });
                }
            }
            RouteMsg::Unsub { subject, queue } => {
                if let Some(set) = self.route_interest.get_mut(&from) {
                    if set.remove(&(subject.clone(), queue.clone())) {
                        self.sublist.remove(&subject, queue.as_deref(), &SubTarget::Route { peer: from });
                    }
                }
            }
            RouteMsg::Msg { subject, reply, headers, payload, queues, shown } => {
                self.stats.route_msgs_received += 1;
                self.shown_subject = shown;
                self.route_and_deliver(
                    ctx,
                    &subject,
                    reply.as_ref(),
                    headers.as_ref(),
                    &payload,
                    Origin::Route { queues },
                );
                self.shown_subject = None;
            }
        }
    }

    /// The route to `peer` came up: send it all our local interest (as a
    /// new route connection does).
    pub fn on_route_up(&mut self, ctx: &mut Ctx, peer: Endpoint) {
        if !self.routes.insert(peer) {
            return;
        }
        self.async_info(ctx);
        for (subject, queue) in self.local_interest.keys() {
            ctx.send(
                peer,
                Frame::Route(RouteMsg::Sub { subject: subject.clone(), queue: queue.clone() }),
                FrameKind::RouteSub,
                Some(subject.clone()),
            );
        }
    }

    /// The route to `peer` went down: forget its interest.
    pub fn on_route_down(&mut self, ctx: &mut Ctx, peer: Endpoint) {
        if self.routes.remove(&peer) {
            self.async_info(ctx);
        }
        if let Some(set) = self.route_interest.remove(&peer) {
            for (subject, queue) in set {
                self.sublist.remove(&subject, queue.as_deref(), &SubTarget::Route { peer });
            }
        }
    }

    /// A client's connection vanished without a FIN reaching us (the world
    /// tells us when it is certain, e.g. the client was reset).
    pub fn drop_client(&mut self, ctx: &mut Ctx, endpoint: Endpoint) {
        self.close_conn(ctx, endpoint, false);
    }
}

#[derive(Clone, Debug)]
enum Origin {
    Client { cid: u32, echo: bool },
    Route { queues: Vec<Rc<str>> },
}
