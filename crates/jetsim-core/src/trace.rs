//! The typed trace of everything that happens in a run, with virtual
//! timestamps, and its hash. Every event is folded into the hash as it is
//! emitted; a bounded ring keeps the most recent events for the UI and logs.

use std::collections::VecDeque;
use std::rc::Rc;

use crate::hash::Fnv64;
use crate::time::Time;

/// An endpoint index: servers are `0..servers`, clients follow.
pub type Endpoint = u32;

/// What a frame on a link carries, for colouring and filtering.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FrameKind {
    /// TCP connection set-up or tear-down between a client and a server.
    Connect,
    Close,
    /// Client → server control: CONNECT, SUB, UNSUB, PING, PONG.
    ClientCtl,
    /// Client → server PUB/HPUB.
    Publish,
    /// Server → client control: INFO, PONG, +OK, -ERR.
    ServerCtl,
    /// Server → client MSG/HMSG.
    Deliver,
    /// Route interest (RS+/RS-).
    RouteSub,
    /// Route message (RMSG).
    RouteMsg,
    /// Raft AppendEntries (`$NRG.AE.<group>`), heartbeats included.
    RaftAppend,
    /// Raft AppendEntries response.
    RaftAppendAck,
    /// Raft vote request (and leader-transfer TimeoutNow).
    RaftVote,
    /// Raft vote response.
    RaftVoteReply,
}

impl FrameKind {
    pub fn name(self) -> &'static str {
        match self {
            FrameKind::Connect => "connect",
            FrameKind::Close => "close",
            FrameKind::ClientCtl => "client-ctl",
            FrameKind::Publish => "publish",
            FrameKind::ServerCtl => "server-ctl",
            FrameKind::Deliver => "deliver",
            FrameKind::RouteSub => "route-sub",
            FrameKind::RouteMsg => "route-msg",
            FrameKind::RaftAppend => "raft-append",
            FrameKind::RaftAppendAck => "raft-append-ack",
            FrameKind::RaftVote => "raft-vote",
            FrameKind::RaftVoteReply => "raft-vote-reply",
        }
    }
}

/// Why a frame did not arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// The direction was cut by a partition (in flight or sent into it).
    Partition,
    /// The receiving or sending process had crashed.
    NodeDown,
    /// The connection it belonged to was closed.
    ConnectionClosed,
}

impl DropReason {
    pub fn name(self) -> &'static str {
        match self {
            DropReason::Partition => "partition",
            DropReason::NodeDown => "node down",
            DropReason::ConnectionClosed => "connection closed",
        }
    }
}

/// A short human label for a frame: kind and subject if any.
#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    pub kind: FrameKind,
    pub subject: Option<Rc<str>>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TraceKind {
    Send {
        id: u64,
        from: Endpoint,
        to: Endpoint,
        label: Label,
        bytes: u32,
        arrives: Time,
    },
    Deliver {
        id: u64,
        from: Endpoint,
        to: Endpoint,
        kind: FrameKind,
    },
    Drop {
        id: u64,
        from: Endpoint,
        to: Endpoint,
        kind: FrameKind,
        reason: DropReason,
    },
    /// A fault or heal applied by the script or the user, as text (`kill n1`).
    Fault {
        text: Rc<str>,
    },
    /// A server changed state.
    ServerState {
        server: Endpoint,
        state: ServerState,
    },
    /// A route between two servers came up or went down.
    Route {
        a: Endpoint,
        b: Endpoint,
        up: bool,
    },
    ClientConnected {
        client: Endpoint,
        server: Endpoint,
    },
    ClientDisconnected {
        client: Endpoint,
    },
    /// The client application published (handed a message to its connection).
    Published {
        client: Endpoint,
        subject: Rc<str>,
        bytes: u32,
    },
    /// The client application received a message on a subscription.
    Received {
        client: Endpoint,
        subject: Rc<str>,
        bytes: u32,
    },
    /// A request completed with a reply after `rtt`.
    Replied {
        client: Endpoint,
        subject: Rc<str>,
        rtt: u64,
    },
    NoResponders {
        client: Endpoint,
        subject: Rc<str>,
    },
    RequestTimeout {
        client: Endpoint,
        subject: Rc<str>,
    },
    /// The server sent `-ERR` to a client.
    ProtocolError {
        client: Endpoint,
        text: Rc<str>,
    },
    /// Narration from the scenario.
    Note {
        text: Rc<str>,
    },
    /// A JetStream Raft group changed state on `server` (`group` is `_meta_`
    /// or the stream's group name, `stream` the stream name if any).
    Raft {
        server: Endpoint,
        group: Rc<str>,
        stream: Option<Rc<str>>,
        event: RaftNote,
    },
    /// A JetStream publish was acknowledged (`{"stream":..,"seq":..}`) after `latency`.
    PubAcked {
        client: Endpoint,
        subject: Rc<str>,
        stream: Rc<str>,
        seq: u64,
        latency: u64,
    },
    /// A JetStream publish failed: timed out, no responders, or an error PubAck.
    PubFailed {
        client: Endpoint,
        subject: Rc<str>,
        reason: Rc<str>,
    },
    /// A JetStream API call (`nats stream ...`) returned: `ok` and a summary.
    JsApi {
        client: Endpoint,
        op: Rc<str>,
        ok: bool,
        text: Rc<str>,
    },
}

/// What happened in a Raft group, as the trace shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RaftNote {
    /// Started an election for `term`.
    Candidate { term: u64 },
    /// Won the election of `term`.
    Leader { term: u64 },
    /// Follows `leader` in `term`.
    Follower { term: u64, leader: Option<Endpoint> },
    /// Stopped leading `term`: `lost quorum`, `requested` or `higher term`.
    SteppedDown { term: u64, reason: &'static str },
    /// Entry `index` reached quorum; `acks` are the servers holding it.
    Quorum { index: u64, acks: Vec<Endpoint> },
    /// The log was truncated from `from_index` (uncommitted entries discarded).
    Truncated { from_index: u64 },
}

impl RaftNote {
    pub fn text(&self) -> String {
        match self {
            RaftNote::Candidate { term } => format!("campaigns for term {term}"),
            RaftNote::Leader { term } => format!("became leader in term {term}"),
            RaftNote::Follower { term, leader: Some(_) } => format!("follows in term {term}"),
            RaftNote::Follower { term, leader: None } => format!("follower without leader in term {term}"),
            RaftNote::SteppedDown { term, reason } => format!("stepped down from term {term} ({reason})"),
            RaftNote::Quorum { index, acks } => format!("entry {index} on quorum ({} acks)", acks.len()),
            RaftNote::Truncated { from_index } => format!("log truncated from {from_index}"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerState {
    Up,
    Down,
    Paused,
}

impl ServerState {
    pub fn name(self) -> &'static str {
        match self {
            ServerState::Up => "up",
            ServerState::Down => "down",
            ServerState::Paused => "paused",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct TraceEvent {
    /// Position in the trace (0-based, counts every event ever emitted).
    pub seq: u64,
    pub at: Time,
    pub kind: TraceKind,
}

fn hash_opt_str(h: &mut Fnv64, s: &Option<Rc<str>>) {
    match s {
        Some(s) => {
            h.write_u64(1);
            h.write_str(s);
        }
        None => h.write_u64(0),
    }
}

impl TraceKind {
    /// Fold this event into the hash with a fixed, platform-independent encoding.
    pub fn hash_into(&self, h: &mut Fnv64) {
        match self {
            TraceKind::Send { id, from, to, label, bytes, arrives } => {
                h.write_u64(1);
                h.write_u64(*id);
                h.write_u64(u64::from(*from) << 32 | u64::from(*to));
                h.write_u64(label.kind as u64);
                hash_opt_str(h, &label.subject);
                h.write_u64(u64::from(*bytes));
                h.write_u64(*arrives);
            }
            TraceKind::Deliver { id, from, to, kind } => {
                h.write_u64(2);
                h.write_u64(*id);
                h.write_u64(u64::from(*from) << 32 | u64::from(*to));
                h.write_u64(*kind as u64);
            }
            TraceKind::Drop { id, from, to, kind, reason } => {
                h.write_u64(3);
                h.write_u64(*id);
                h.write_u64(u64::from(*from) << 32 | u64::from(*to));
                h.write_u64(*kind as u64);
                h.write_u64(*reason as u64);
            }
            TraceKind::Fault { text } => {
                h.write_u64(4);
                h.write_str(text);
            }
            TraceKind::ServerState { server, state } => {
                h.write_u64(5);
                h.write_u64(u64::from(*server));
                h.write_u64(*state as u64);
            }
            TraceKind::Route { a, b, up } => {
                h.write_u64(6);
                h.write_u64(u64::from(*a) << 32 | u64::from(*b));
                h.write_u64(u64::from(*up));
            }
            TraceKind::ClientConnected { client, server } => {
                h.write_u64(7);
                h.write_u64(u64::from(*client) << 32 | u64::from(*server));
            }
            TraceKind::ClientDisconnected { client } => {
                h.write_u64(8);
                h.write_u64(u64::from(*client));
            }
            TraceKind::Published { client, subject, bytes } => {
                h.write_u64(9);
                h.write_u64(u64::from(*client));
                h.write_str(subject);
                h.write_u64(u64::from(*bytes));
            }
            TraceKind::Received { client, subject, bytes } => {
                h.write_u64(10);
                h.write_u64(u64::from(*client));
                h.write_str(subject);
                h.write_u64(u64::from(*bytes));
            }
            TraceKind::Replied { client, subject, rtt } => {
                h.write_u64(11);
                h.write_u64(u64::from(*client));
                h.write_str(subject);
                h.write_u64(*rtt);
            }
            TraceKind::NoResponders { client, subject } => {
                h.write_u64(12);
                h.write_u64(u64::from(*client));
                h.write_str(subject);
            }
            TraceKind::RequestTimeout { client, subject } => {
                h.write_u64(13);
                h.write_u64(u64::from(*client));
                h.write_str(subject);
            }
            TraceKind::ProtocolError { client, text } => {
                h.write_u64(14);
                h.write_u64(u64::from(*client));
                h.write_str(text);
            }
            TraceKind::Note { text } => {
                h.write_u64(15);
                h.write_str(text);
            }
            TraceKind::Raft { server, group, stream, event } => {
                h.write_u64(16);
                h.write_u64(u64::from(*server));
                h.write_str(group);
                hash_opt_str(h, stream);
                match event {
                    RaftNote::Candidate { term } => {
                        h.write_u64(1);
                        h.write_u64(*term);
                    }
                    RaftNote::Leader { term } => {
                        h.write_u64(2);
                        h.write_u64(*term);
                    }
                    RaftNote::Follower { term, leader } => {
                        h.write_u64(3);
                        h.write_u64(*term);
                        h.write_u64(leader.map_or(u64::MAX, u64::from));
                    }
                    RaftNote::SteppedDown { term, reason } => {
                        h.write_u64(4);
                        h.write_u64(*term);
                        h.write_str(reason);
                    }
                    RaftNote::Quorum { index, acks } => {
                        h.write_u64(5);
                        h.write_u64(*index);
                        for a in acks {
                            h.write_u64(u64::from(*a));
                        }
                    }
                    RaftNote::Truncated { from_index } => {
                        h.write_u64(6);
                        h.write_u64(*from_index);
                    }
                }
            }
            TraceKind::PubAcked { client, subject, stream, seq, latency } => {
                h.write_u64(17);
                h.write_u64(u64::from(*client));
                h.write_str(subject);
                h.write_str(stream);
                h.write_u64(*seq);
                h.write_u64(*latency);
            }
            TraceKind::PubFailed { client, subject, reason } => {
                h.write_u64(18);
                h.write_u64(u64::from(*client));
                h.write_str(subject);
                h.write_str(reason);
            }
            TraceKind::JsApi { client, op, ok, text } => {
                h.write_u64(19);
                h.write_u64(u64::from(*client));
                h.write_str(op);
                h.write_u64(u64::from(*ok));
                h.write_str(text);
            }
        }
    }
}

/// The trace: a running hash over every event, a bounded ring of recent ones.
#[derive(Clone, Debug)]
pub struct Trace {
    hash: Fnv64,
    count: u64,
    ring: VecDeque<TraceEvent>,
    capacity: usize,
}

impl Trace {
    /// `capacity` recent events are kept (0 keeps none; the hash covers all).
    pub fn new(capacity: usize) -> Trace {
        Trace { hash: Fnv64::default(), count: 0, ring: VecDeque::new(), capacity }
    }

    pub fn emit(&mut self, at: Time, kind: TraceKind) {
        self.hash.write_u64(at);
        kind.hash_into(&mut self.hash);
        self.count += 1;
        if self.capacity > 0 {
            if self.ring.len() == self.capacity {
                self.ring.pop_front();
            }
            self.ring.push_back(TraceEvent { seq: self.count - 1, at, kind });
            return;
        }
        // Not kept. The two events of every frame are dropped without the
        // generic drop glue (a call and a match over every variant).
        match kind {
            // Every field is `Copy` (listed, so that a new field is noticed here).
            k @ TraceKind::Deliver { id: _, from: _, to: _, kind: _ } => std::mem::forget(k),
            TraceKind::Send { label, .. } => drop(label),
            other => drop(other),
        }
    }

    pub fn hash(&self) -> u64 {
        self.hash.finish()
    }

    /// Number of events emitted so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity;
        while self.ring.len() > capacity {
            self.ring.pop_front();
        }
    }

    /// The kept events with `seq >= from`, oldest first.
    pub fn since(&self, from: u64) -> impl Iterator<Item = &TraceEvent> {
        self.ring.iter().filter(move |e| e.seq >= from)
    }

    pub fn recent(&self) -> impl DoubleEndedIterator<Item = &TraceEvent> + ExactSizeIterator {
        self.ring.iter()
    }
}
