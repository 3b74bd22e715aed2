//! The sans-IO interface between the world and its nodes (servers, clients).
//! A node never touches links, queues or clocks: it is handed an input and a
//! [`Ctx`] (the virtual time, the run's one PRNG, and an outbox) and records
//! what it wants done: frames to send, timers to set, trace events.

use std::rc::Rc;

use bytes::Bytes;

use crate::rng::Rng;
use crate::time::Time;
use crate::trace::{Endpoint, FrameKind, Label, TraceKind};

/// What travels on a link.
#[derive(Clone, Debug)]
pub enum Frame {
    /// A client opens a TCP connection to a server.
    Open,
    /// The connection is closed (FIN) by the side that sends this.
    Close,
    /// NATS client-protocol bytes (either direction).
    Bytes(Bytes),
    /// Server-to-server route traffic.
    Route(RouteMsg),
    /// A Raft message of JetStream group `group` (nats `$NRG.*` traffic),
    /// carried over the route between two servers.
    Raft { group: Rc<str>, msg: crate::jetstream::RaftMsg },
}

/// Route protocol between servers of a cluster (nats-server's RS+, RS-, RMSG),
/// kept typed: the route wire format is not visible to users.
#[derive(Clone, Debug)]
pub enum RouteMsg {
    Sub {
        subject: Rc<str>,
        queue: Option<Rc<str>>,
    },
    Unsub {
        subject: Rc<str>,
        queue: Option<Rc<str>>,
    },
    Msg {
        subject: Rc<str>,
        reply: Option<Rc<str>>,
        headers: Option<Bytes>,
        payload: Bytes,
        /// Queue groups for which the receiving server must pick a local member.
        queues: Vec<Rc<str>>,
        /// The subject subscribers see, when it is not the routing subject
        /// (nats `pa.deliver`: a consumer's message routed to a pull
        /// request's inbox or a push deliver subject keeps its stream subject).
        shown: Option<Rc<str>>,
    },
}

impl Frame {
    pub fn wire_len(&self) -> u32 {
        match self {
            Frame::Open | Frame::Close => 0,
            Frame::Bytes(b) => b.len() as u32,
            Frame::Route(RouteMsg::Sub { subject, queue }) | Frame::Route(RouteMsg::Unsub { subject, queue }) => {
                (subject.len() + queue.as_ref().map_or(0, |q| q.len() + 1) + 6) as u32
            }
            Frame::Route(RouteMsg::Msg { subject, reply, headers, payload, queues, .. }) => {
                let q: usize = queues.iter().map(|q| q.len() + 1).sum();
                (subject.len()
                    + reply.as_ref().map_or(0, |r| r.len() + 1)
                    + headers.as_ref().map_or(0, |h| h.len())
                    + payload.len()
                    + q
                    + 16) as u32
            }
            Frame::Raft { group, msg } => crate::jetstream::raft_wire_len(group, msg),
        }
    }
}

/// Timers a node can set. Stale timers are recognised by the node itself
/// (each carries enough to check it is still wanted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Timer {
    /// Client: try to (re)connect.
    Reconnect,
    /// Client: next message of publish job `job`.
    PublishJob(u64),
    /// Client: request `id` timed out.
    RequestTimeout(u64),
    /// Server: Raft group `group` wants its `on_timer` (JetStream).
    Raft { group: Rc<str> },
    /// Server: send delayed JetStream API reply `id` (nats `errRespDelay`).
    JsDelayedReply(u64),
    /// Client: JetStream request (publish or API call) `id` timed out.
    JsTimeout(u64),
    /// Server: consumer `consumer` of `stream` wants its timers checked
    /// (ack waits, pull request expiry, heartbeats, inactivity).
    JsConsumer { stream: Rc<str>, consumer: Rc<str> },
    /// Server: the age timer of this server's replica of `stream` (max_age).
    JsStreamExpire { stream: Rc<str> },
}

#[derive(Debug, Default)]
pub struct Outbox {
    pub sends: Vec<(Endpoint, Frame, Label)>,
    pub timers: Vec<(Time, Timer)>,
    pub trace: Vec<TraceKind>,
}

impl Outbox {
    pub fn is_empty(&self) -> bool {
        self.sends.is_empty() && self.timers.is_empty() && self.trace.is_empty()
    }
}

/// What a node is handed with each input.
pub struct Ctx<'a> {
    pub now: Time,
    /// This node's endpoint.
    pub me: Endpoint,
    pub rng: &'a mut Rng,
    pub out: &'a mut Outbox,
}

impl Ctx<'_> {
    pub fn send(&mut self, to: Endpoint, frame: Frame, kind: FrameKind, subject: Option<Rc<str>>) {
        self.out.sends.push((to, frame, Label { kind, subject }));
    }
    pub fn timer(&mut self, at: Time, timer: Timer) {
        self.out.timers.push((at, timer));
    }
    pub fn trace(&mut self, kind: TraceKind) {
        self.out.trace.push(kind);
    }
}
