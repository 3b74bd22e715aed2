//! JetStream in a simulated server: the meta group (`_meta_`) that holds
//! stream assignments, one Raft group per stream (R1 streams too, as a
//! one-member log that never sends anything: it is only their durable store),
//! the stream leader's subject subscription, the publish → propose → commit →
//! apply → PubAck path, and the `$JS.API` handlers ([`dispatch`]).
//!
//! Everything here is an extension of [`crate::server::Server`]: Raft messages
//! leave as [`Frame::Raft`] over routes (dropped while the route is down),
//! Raft timers are [`Timer::Raft`], and the server's durable storages live in
//! the world's per-server disk between incarnations ([`JetStream::take_disk`]).

pub mod api;
pub mod consumer;
mod consumer_api;
mod dispatch;
pub mod headers;
mod publish;
pub mod store;

use crate::vecmap::VecMap as BTreeMap; // sorted-Vec map: small maps, smaller wasm (see vecmap.rs)
use std::rc::Rc;

use bytes::Bytes;
use jetsim_raft::{Config, Entropy, Index, Msg, Output, Raft, RaftEvent, Storage, SyncPolicy};

use crate::node::{Ctx, Frame, Timer};
use crate::rng::Rng;
use crate::scenario::SyncSetting;
use crate::server::Server;
use crate::time::Time;
use crate::trace::{Endpoint, FrameKind, RaftNote, TraceKind};

pub use api::{ApiError, StreamConfig};
pub use store::{MsgStore, StoredMsg};

/// The meta group's name (nats `defaultMetaGroupName`).
pub const META_GROUP: &str = "_meta_";

/// What JetStream Raft logs hold.
#[derive(Clone, Debug, PartialEq)]
pub enum JsEntry {
    /// Meta: a stream assignment (create).
    AddStream(Rc<StreamAssignment>),
    /// Meta: a changed stream configuration.
    UpdateStream(Rc<StreamAssignment>),
    /// Meta: the stream is deleted.
    DeleteStream(Rc<str>),
    /// Stream: a message (nats `streamMsgOp`).
    Msg(Rc<StoredMsg>),
    /// Stream: purge (everything, or by filter / below a sequence / all but
    /// the newest `keep`: nats `JSApiStreamPurgeRequest`).
    Purge(PurgeReq),
    /// Stream: remove one message.
    DeleteMsg(u64),
    /// Meta: a consumer assignment (create or update).
    AddConsumer(Rc<consumer::ConsumerAssignment>),
    /// Meta: the consumer (stream, name) is deleted.
    DeleteConsumer(Rc<str>, Rc<str>),
    /// Consumer group: the consumer's replicated delivery and ack state
    /// (nats' consumer ops, in the consumer's own `C-…` group).
    Consumer(Rc<str>, consumer::ConsumerOp),
}

/// A purge request (nats `JSApiStreamPurgeRequest`); the default purges all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PurgeReq {
    pub filter: Rc<str>,
    pub seq: u64,
    pub keep: u64,
}

/// A Raft message of a JetStream group.
pub type RaftMsg = Msg<JsEntry>;

/// Bytes a Raft frame would take on the wire (approximate, for drawing).
pub fn raft_wire_len(group: &str, msg: &RaftMsg) -> u32 {
    let body: usize = match msg {
        Msg::AppendEntries { entries, .. } => {
            entries
                .iter()
                .map(|e| match &e.payload {
                    jetsim_raft::Payload::Normal(JsEntry::Msg(m)) => {
                        m.subject.len() + m.data.len() + m.hdr.as_ref().map_or(0, |h| h.len()) + 32
                    }
                    _ => 64,
                })
                .sum::<usize>()
                + 42
        }
        _ => 32,
    };
    (group.len() + 10 + body).min(u32::MAX as usize) as u32
}

/// A stream assignment (nats `streamAssignment`): config, group, peers.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamAssignment {
    pub config: StreamConfig,
    /// Raft group name, `S-R3F-abcdefgh`.
    pub group: Rc<str>,
    /// Member servers (endpoints), sorted.
    pub peers: Vec<Endpoint>,
    /// Preferred first leader.
    pub preferred: Endpoint,
    pub created: Time,
    /// The create request's reply subject (the first stream leader answers it).
    pub reply: Option<Rc<str>>,
}

/// What a server knows statically about a peer of its cluster.
#[derive(Clone, Debug)]
pub struct PeerInfo {
    pub ep: Endpoint,
    pub name: String,
    pub cluster: String,
    pub tags: Vec<String>,
    pub jetstream: bool,
}

/// JetStream options of a server.
#[derive(Clone, Debug)]
pub struct JsOptions {
    /// Raft timings are multiplied by num/den.
    pub timescale: (u64, u64),
    pub sync: SyncSetting,
    pub unique_tag: Option<String>,
    /// JetStream servers of this server's cluster (the meta group), itself included.
    pub peers: Vec<PeerInfo>,
}

impl JsOptions {
    pub fn raft_config(&self) -> Config {
        Config::nats_defaults().scaled(self.timescale.0, self.timescale.1)
    }
    fn policy(&self) -> SyncPolicy {
        match self.sync {
            SyncSetting::Always => SyncPolicy::Always,
            SyncSetting::Interval(d) => SyncPolicy::Interval(d.max(1)),
        }
    }
}

/// One Raft group member on this server.
#[derive(Debug)]
pub struct Group {
    pub name: Rc<str>,
    pub raft: Raft<JsEntry>,
    armed: Option<Time>,
    /// When this member was created (nats `node.Created()`).
    pub created: Time,
    /// Whether it ever knew a leader (nats `HadPreviousLeader`).
    pub had_leader: bool,
    /// Elections this member won.
    pub elections_won: u64,
}

/// A reply the leader owes once an entry is applied.
#[derive(Clone, Debug)]
enum Pending {
    PubAck(Rc<str>),
    Purge(Rc<str>),
    MsgDelete(Rc<str>),
    Delete(Rc<str>),
}

/// A stream as one server sees it: its assignment, and if this server is a
/// member, its Raft group and message store.
#[derive(Debug)]
pub struct StreamReplica {
    pub assignment: Rc<StreamAssignment>,
    pub group: Option<Group>,
    pub store: MsgStore,
    /// Last applied log index.
    pub applied: Index,
    pending: BTreeMap<Index, Pending>,
    create_reply: Option<Rc<str>>,
    /// Internal subscription ids of the leader's subject subscriptions.
    subs: Vec<u32>,
    /// Added by a scale up with an empty log: it does not campaign until it
    /// has heard from the leader (applied something), then runs normally.
    learner: bool,
    /// Proposed messages not applied yet (leader only).
    pub(crate) inflight: BTreeMap<Index, publish::Inflight>,
    /// When this replica's age timer is due (max_age expiry).
    expire_at: Option<Time>,
    /// DIRECT.GET subscriptions of this replica: (internal id, subject).
    direct_subs: Vec<(u32, String)>,
    /// Republished messages the leader still has to send: (subject,
    /// headers, payload).
    pub(crate) republish: Vec<(Rc<str>, Bytes, Bytes)>,
    /// Consumers of this stream, by name.
    pub consumers: BTreeMap<Rc<str>, consumer::Consumer>,
    /// The leader's `$NRG.P.<group>` subscription (internal id, subject).
    prop_sub: Option<(u32, String)>,
}

impl StreamReplica {
    pub fn is_leader(&self) -> bool {
        self.group.as_ref().is_some_and(|g| g.raft.is_leader_ready())
    }
    /// The term this replica leads in, if it is a ready leader ([`Group::leader_term`]).
    pub fn leader_term(&self) -> Option<u64> {
        self.group.as_ref().and_then(Group::leader_term)
    }
    pub fn leader(&self) -> Option<Endpoint> {
        self.group.as_ref().and_then(|g| g.raft.leader())
    }

    /// nats `isGroupLeaderless`: this server is a member, its group has no
    /// leader, and it has waited long enough to say so (it had a leader and
    /// JetStream has run for the startup threshold, or the member is older
    /// than the lost-quorum interval).
    pub fn group_leaderless(&self, now: Time, js_started: Time, lost_quorum: Time) -> bool {
        self.group.as_ref().is_some_and(|g| g.leaderless(self.assignment.peers.len(), now, js_started, lost_quorum))
    }
}

impl Group {
    pub(crate) fn new(name: Rc<str>, raft: Raft<JsEntry>, now: Time) -> Group {
        Group { name, raft, armed: None, elections_won: 0, created: now, had_leader: false }
    }

    /// The term this member leads the group in, if it is a ready leader. Two
    /// members can both believe they lead for a while (an old leader cut off
    /// in a minority steps down only when it notices it lost quorum): the one
    /// with the higher term is the group's leader (`sim::highest_term`).
    pub fn leader_term(&self) -> Option<u64> {
        self.raft.is_leader_ready().then(|| self.raft.term())
    }

    /// nats `isGroupLeaderless` for a member of a group of `npeers`.
    pub fn leaderless(&self, npeers: usize, now: Time, js_started: Time, lost_quorum: Time) -> bool {
        if self.raft.leader().is_some() || npeers < 2 {
            return false;
        }
        (self.had_leader && now.saturating_sub(js_started) > lost_quorum)
            || now.saturating_sub(self.created) > lost_quorum
    }
}

/// What an internal subscription is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum InternalSub {
    Api,
    Stream(Rc<str>),
    /// A consumer leader's subscription: (stream, consumer).
    Consumer(Rc<str>, Rc<str>),
    /// A replica's `$JS.API.DIRECT.GET.<stream>[.>]` (allow_direct).
    Direct(Rc<str>),
    /// The stream leader's `$NRG.P.<group>`: proposals forwarded by a
    /// consumer leader on another server (nats `ForwardProposal`).
    Propose(Rc<str>),
}

/// A server's JetStream state.
#[derive(Debug)]
pub struct JetStream {
    pub opts: JsOptions,
    pub meta: Option<Group>,
    pub streams: BTreeMap<Rc<str>, StreamReplica>,
    /// Group name → stream name.
    groups: BTreeMap<Rc<str>, Rc<str>>,
    /// Consumer group name → (stream, consumer).
    cgroups: BTreeMap<Rc<str>, (Rc<str>, Rc<str>)>,
    meta_pending: BTreeMap<Index, Pending>,
    /// Storages from the disk not yet claimed by a group.
    pub disk: BTreeMap<Rc<str>, Storage<JsEntry>>,
    pub(crate) internal: BTreeMap<u32, InternalSub>,
    next_internal: u32,
    delayed: BTreeMap<u64, (Rc<str>, Vec<u8>)>,
    next_delayed: u64,
    pub api_total: u64,
    pub api_errors: u64,
    /// Reply subjects of `$JS.API` requests from this server's own clients,
    /// with how many answers may still pass and when the entry expires. nats
    /// imports `$JS.API.>` from the system account with a singleton response:
    /// every server may answer, the requester's server forwards the first
    /// answer and drops the rest.
    responses: BTreeMap<Rc<str>, (u32, Time)>,
    /// When JetStream started on this server (nats `js.started`).
    pub started: Time,
}

/// Most sequences in one forwarded retention-delete message.
const MAX_FORWARDED: usize = 1024;

/// How long a request's response mapping lives (nats' default service
/// response threshold, 2 minutes).
const RESPONSE_THRESHOLD: Time = 120 * crate::time::SEC;
/// Hard limit: open response mappings per server.
const MAX_RESPONSES: usize = 10_000;

impl JetStream {
    pub fn new(opts: JsOptions, disk: BTreeMap<Rc<str>, Storage<JsEntry>>) -> JetStream {
        JetStream {
            opts,
            meta: None,
            streams: BTreeMap::new(),
            groups: BTreeMap::new(),
            cgroups: BTreeMap::new(),
            meta_pending: BTreeMap::new(),
            disk,
            internal: BTreeMap::new(),
            next_internal: 1,
            delayed: BTreeMap::new(),
            next_delayed: 1,
            api_total: 0,
            api_errors: 0,
            responses: BTreeMap::new(),
            started: 0,
        }
    }

    /// Every storage this server holds (groups and unclaimed), by group name,
    /// as they are now: the world turns them into the crash or power-loss
    /// image when the process dies.
    pub fn take_disk(&mut self) -> BTreeMap<Rc<str>, Storage<JsEntry>> {
        let mut disk = std::mem::take(&mut self.disk);
        if let Some(g) = self.meta.take() {
            disk.insert(g.name.clone(), g.raft.into_storage());
        }
        for (_, s) in std::mem::take(&mut self.streams) {
            if let Some(g) = s.group {
                disk.insert(g.name.clone(), g.raft.into_storage());
            }
            for (_, c) in s.consumers {
                if let Some(g) = c.group {
                    disk.insert(g.name.clone(), g.raft.into_storage());
                }
            }
        }
        disk
    }

    /// Remember the reply subject of an API request from a local client
    /// (one more answer may pass on it).
    pub(crate) fn open_response(&mut self, now: Time, reply: &Rc<str>) {
        if self.responses.len() >= MAX_RESPONSES {
            self.responses.retain(|_, (_, exp)| *exp > now);
            if self.responses.len() >= MAX_RESPONSES {
                return;
            }
        }
        let e = self.responses.entry(reply.clone()).or_insert((0, 0));
        e.0 = e.0.saturating_add(1);
        e.1 = now + RESPONSE_THRESHOLD;
    }

    /// Whether a message to `subject` may go on: one answer per open
    /// request passes, later ones are dropped (nats' singleton response
    /// import). jetsim keys requests by reply subject, so a client reusing
    /// one reply subject for overlapping requests is approximated.
    pub fn response_gate(&mut self, now: Time, subject: &str) -> bool {
        if self.responses.is_empty() {
            return true;
        }
        match self.responses.get_mut(subject) {
            None => true,
            Some((_, exp)) if *exp <= now => {
                self.responses.remove(subject);
                true
            }
            Some((open, _)) if *open > 0 => {
                *open -= 1;
                true
            }
            Some(_) => false,
        }
    }

    /// nats `isLeaderless`: no meta leader, and JetStream has run for longer
    /// than the lost-quorum interval.
    pub fn meta_leaderless(&self, now: Time) -> bool {
        self.meta_leader().is_none() && now.saturating_sub(self.started) > self.opts.raft_config().lost_quorum
    }

    /// Requests nats does not pass through the `$JS.API.>` system import
    /// (2.10.10+): they reach only real subscribers (a consumer leader's
    /// MSG.NEXT, a replica's DIRECT.GET), so without one the client gets
    /// 503 no responders.
    pub fn import_skipped(subject: &str) -> bool {
        subject.starts_with("$JS.API.DIRECT.GET.") || subject.starts_with("$JS.API.CONSUMER.MSG.NEXT.")
    }

    /// Whether internal subscription `id` is the `$JS.API.>` import.
    pub(crate) fn is_api_sub(&self, id: u32) -> bool {
        matches!(self.internal.get(&id), Some(InternalSub::Api))
    }

    /// Whether this server is part of a JetStream cluster (nats
    /// `isClustered`); a lone JetStream server runs in standalone mode.
    pub fn clustered(&self) -> bool {
        self.opts.peers.len() > 1
    }

    pub fn is_meta_leader(&self) -> bool {
        self.meta.as_ref().is_some_and(|g| g.raft.is_leader())
    }

    pub fn meta_leader(&self) -> Option<Endpoint> {
        self.meta.as_ref().and_then(|g| g.raft.leader())
    }

    fn group_mut(&mut self, name: &str) -> Option<&mut Group> {
        if name == META_GROUP {
            return self.meta.as_mut();
        }
        if let Some((s, c)) = self.cgroups.get(name) {
            let (s, c) = (s.clone(), c.clone());
            return self.streams.get_mut(&s)?.consumers.get_mut(&c)?.group.as_mut();
        }
        let stream = self.groups.get(name)?.clone();
        self.streams.get_mut(&stream)?.group.as_mut()
    }

    /// The (stream, consumer) whose Raft group is `name`.
    pub fn consumer_of_group(&self, name: &str) -> Option<(Rc<str>, Rc<str>)> {
        self.cgroups.get(name).cloned()
    }

    /// Every Raft group member on this server: (group, stream name, raft);
    /// consumer groups come with their stream's name.
    pub fn rafts(&self) -> impl Iterator<Item = (&Rc<str>, Option<&Rc<str>>, &Raft<JsEntry>)> {
        self.meta.iter().map(|g| (&g.name, None, &g.raft)).chain(self.streams.iter().flat_map(|(n, s)| {
            s.group
                .iter()
                .map(move |g| (&g.name, Some(n), &g.raft))
                .chain(s.consumers.values().filter_map(move |c| c.group.as_ref().map(|g| (&g.name, Some(n), &g.raft))))
        }))
    }
}

/// The world's PRNG as Raft entropy.
pub(crate) struct Ent<'a>(pub &'a mut Rng);

impl Entropy for Ent<'_> {
    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
}

fn frame_kind(msg: &RaftMsg) -> FrameKind {
    match msg {
        Msg::AppendEntries { .. } => FrameKind::RaftAppend,
        Msg::AppendResponse { .. } => FrameKind::RaftAppendAck,
        Msg::RequestVote { .. } | Msg::TimeoutNow { .. } => FrameKind::RaftVote,
        Msg::VoteResponse { .. } => FrameKind::RaftVoteReply,
    }
}

/// The PubAck body of nats-server 2.12 (no space after the comma).
/// What a Raft event of a stream or consumer group shows in the trace (None:
/// not traced).
pub(crate) fn raft_note(ev: RaftEvent) -> Option<RaftNote> {
    Some(match ev {
        RaftEvent::BecameCandidate { term } => RaftNote::Candidate { term },
        RaftEvent::BecameLeader { term } => RaftNote::Leader { term },
        RaftEvent::BecameFollower { term, leader } => RaftNote::Follower { term, leader },
        RaftEvent::SteppedDown { term, reason } => RaftNote::SteppedDown {
            term,
            reason: match reason {
                jetsim_raft::StepDownReason::LostQuorum => "lost quorum",
                jetsim_raft::StepDownReason::Requested => "requested",
                jetsim_raft::StepDownReason::HigherTerm => "higher term",
            },
        },
        RaftEvent::QuorumReached { index, acks, .. } => RaftNote::Quorum { index, acks },
        RaftEvent::Truncated { from_index, .. } => RaftNote::Truncated { from_index },
        _ => return None,
    })
}

pub fn pub_ack(stream: &str, seq: u64) -> Vec<u8> {
    let name = serde_json::to_string(stream).unwrap_or_else(|_| "\"\"".into());
    format!("{{\"stream\":{name},\"seq\":{seq}}}").into_bytes()
}

/// An error PubAck.
pub fn pub_ack_error(stream: &str, err: &ApiError) -> Vec<u8> {
    let v = serde_json::json!({"error": err, "stream": stream, "seq": 0});
    api::go_escape(serde_json::to_vec(&v).unwrap_or_default())
}

impl Server {
    /// Start JetStream (at boot or restart): the meta group from the disk,
    /// the `$JS.API.>` subscription.
    pub fn js_start(&mut self, ctx: &mut Ctx, opts: JsOptions, disk: BTreeMap<Rc<str>, Storage<JsEntry>>) {
        let mut js = JetStream::new(opts, disk);
        js.started = ctx.now;
        let me = ctx.me;
        let peers: Vec<Endpoint> = js.opts.peers.iter().filter(|p| p.jetstream).map(|p| p.ep).collect();
        let name: Rc<str> = Rc::from(META_GROUP);
        let storage = js.disk.remove(&name).unwrap_or_else(|| Storage::new(js.opts.policy()));
        let fresh = storage.term() == 0 && storage.last_index() == 0;
        let (mut raft, mut out) = Raft::new(me, peers, js.opts.raft_config(), storage, ctx.now, &mut Ent(ctx.rng));
        if fresh {
            // A new meta group bootstraps with a campaign (nats `Campaign`).
            raft.campaign(ctx.now, &mut Ent(ctx.rng), &mut out);
        }
        js.meta = Some(Group {
            name: name.clone(),
            raft,
            armed: None,
            elections_won: 0,
            created: ctx.now,
            had_leader: false,
        });
        let id = js.next_internal;
        js.next_internal += 1;
        js.internal.insert(id, InternalSub::Api);
        self.js = Some(Box::new(js));
        self.internal_sub(ctx, "$JS.API.>", id);
        self.js_output(ctx, &name, out);
    }

    /// A Raft frame from a peer.
    pub(crate) fn js_raft_frame(&mut self, ctx: &mut Ctx, from: Endpoint, group: Rc<str>, msg: RaftMsg) {
        if !self.routes.contains(&from) {
            return;
        }
        let Some(js) = self.js.as_mut() else { return };
        let Some(g) = js.group_mut(&group) else { return };
        let mut out = Output::new();
        g.raft.on_message(ctx.now, from, msg, &mut Ent(ctx.rng), &mut out);
        self.js_output(ctx, &group, out);
    }

    /// A server timer for JetStream.
    pub fn js_timer(&mut self, ctx: &mut Ctx, timer: Timer) {
        match timer {
            Timer::Raft { group } => {
                let Some(js) = self.js.as_mut() else { return };
                let Some(g) = js.group_mut(&group) else { return };
                // The armed timer has fired once the clock reaches it. A timer
                // may fire late (held while the process was paused, then
                // replayed on resume), so compare with <=, not ==: an armed
                // time left in the past would block every later wake-up.
                if g.armed.is_some_and(|a| a <= ctx.now) {
                    g.armed = None;
                }
                let mut out = Output::new();
                match g.raft.next_wakeup() {
                    Some(w) if w <= ctx.now => g.raft.on_timer(ctx.now, &mut Ent(ctx.rng), &mut out),
                    Some(w) => out.next_wakeup = Some(w),
                    None => {}
                }
                self.js_output(ctx, &group, out);
            }
            Timer::JsDelayedReply(id) => {
                let Some(js) = self.js.as_mut() else { return };
                if let Some((reply, body)) = js.delayed.remove(&id) {
                    self.internal_publish(ctx, &reply, None, Bytes::from(body));
                }
            }
            Timer::JsConsumer { stream, consumer } => self.js_consumer_timer(ctx, &stream, &consumer),
            Timer::JsStreamExpire { stream } => self.js_expire_timer(ctx, &stream),
            _ => {}
        }
    }

    /// Carry out a Raft output of group `group`: frames, trace and leadership
    /// reactions, applying committed entries, the next timer.
    pub(crate) fn js_output(&mut self, ctx: &mut Ctx, group: &Rc<str>, out: Output<JsEntry>) {
        let Output { sends, committed, events, next_wakeup } = out;
        for (to, msg) in sends {
            if self.routes.contains(&to) {
                let kind = frame_kind(&msg);
                ctx.send(to, Frame::Raft { group: group.clone(), msg }, kind, Some(group.clone()));
            }
        }
        if let Some((s, c)) = self.js.as_ref().and_then(|js| js.consumer_of_group(group)) {
            for ev in events {
                self.js_consumer_event(ctx, group, &s, &c, ev);
            }
            for e in committed {
                self.js_apply_consumer_entry(ctx, &s, &c, e.index, e.payload);
            }
            if let Some(w) = next_wakeup {
                if let Some(g) = self.js.as_mut().and_then(|js| js.group_mut(group)) {
                    g.had_leader |= g.raft.leader().is_some();
                    if g.armed.is_none_or(|a| w < a) {
                        g.armed = Some(w);
                        ctx.timer(w, Timer::Raft { group: group.clone() });
                    }
                }
            }
            return;
        }
        let stream: Option<Rc<str>> =
            if &**group == META_GROUP { None } else { self.js.as_ref().and_then(|js| js.groups.get(group).cloned()) };
        for ev in events {
            self.js_event(ctx, group, stream.as_ref(), ev);
        }
        for e in committed {
            let jetsim_raft::Payload::Normal(entry) = e.payload else {
                if let Some(s) = &stream {
                    if let Some(r) = self.js.as_mut().and_then(|js| js.streams.get_mut(s)) {
                        r.applied = e.index;
                    }
                }
                continue;
            };
            match &stream {
                None => self.js_apply_meta(ctx, e.index, entry),
                Some(s) => self.js_apply_stream(ctx, s, e.index, entry),
            }
        }
        if let Some(w) = next_wakeup {
            if let Some(g) = self.js.as_mut().and_then(|js| js.group_mut(group)) {
                g.had_leader |= g.raft.leader().is_some();
                if g.armed.is_none_or(|a| w < a) {
                    g.armed = Some(w);
                    ctx.timer(w, Timer::Raft { group: group.clone() });
                }
            }
        }
        if let Some(s) = &stream {
            if self.js.as_ref().and_then(|js| js.streams.get(s)).is_some_and(|r| r.learner && r.applied > 0) {
                self.js_promote_learner(ctx, s);
            }
        }
    }

    fn js_event(&mut self, ctx: &mut Ctx, group: &Rc<str>, stream: Option<&Rc<str>>, ev: RaftEvent) {
        match &ev {
            RaftEvent::BecameLeader { .. } => {
                if let Some(g) = self.js.as_mut().and_then(|js| js.group_mut(group)) {
                    g.elections_won += 1;
                }
            }
            RaftEvent::LeaderReady { .. } => {
                if let Some(s) = stream {
                    self.js_stream_leader(ctx, s);
                }
            }
            RaftEvent::BecameFollower { leader, .. } => self.js_lost_leadership(ctx, stream, leader.is_some()),
            RaftEvent::SteppedDown { .. } => self.js_lost_leadership(ctx, stream, false),
            _ => {}
        }
        if let Some(event) = raft_note(ev) {
            ctx.trace(TraceKind::Raft { server: ctx.me, group: group.clone(), stream: stream.cloned(), event });
        }
    }

    /// This server's member of `stream` became a ready leader: subscribe to
    /// the subjects, answer the create request if still owed.
    fn js_stream_leader(&mut self, ctx: &mut Ctx, stream: &Rc<str>) {
        let Some(js) = self.js.as_mut() else { return };
        let Some(r) = js.streams.get_mut(stream) else { return };
        let mut ids = Vec::new();
        if r.subs.is_empty() {
            for subj in &r.assignment.config.subjects {
                let id = js.next_internal;
                js.next_internal += 1;
                js.internal.insert(id, InternalSub::Stream(stream.clone()));
                ids.push((id, subj.clone()));
            }
        }
        let create = r.create_reply.take();
        for (id, subj) in ids {
            if let Some(r) = self.js.as_mut().and_then(|js| js.streams.get_mut(stream)) {
                r.subs.push(id);
            }
            self.internal_sub(ctx, &subj, id);
        }
        if let Some(reply) = create {
            let body = self.js_stream_info_json(ctx, stream, "stream_create_response", true);
            self.internal_publish(ctx, &reply, None, Bytes::from(body));
        }
        // Proposals forwarded by consumer leaders on other servers.
        let Some(js) = self.js.as_mut() else { return };
        let Some(r) = js.streams.get_mut(stream) else { return };
        if r.prop_sub.is_none() {
            let subj = format!("$NRG.P.{}", r.assignment.group);
            let id = js.next_internal;
            js.next_internal += 1;
            js.internal.insert(id, InternalSub::Propose(stream.clone()));
            if let Some(r) = js.streams.get_mut(stream) {
                r.prop_sub = Some((id, subj.clone()));
            }
            self.internal_sub(ctx, &subj, id);
        }
    }

    fn js_lost_leadership(&mut self, ctx: &mut Ctx, stream: Option<&Rc<str>>, leader_known: bool) {
        let Some(js) = self.js.as_mut() else { return };
        if let Some(r) = stream.and_then(|s| js.streams.get_mut(s)) {
            if let Some((id, subj)) = r.prop_sub.take() {
                js.internal.remove(&id);
                self.internal_unsub(ctx, &subj, id);
            }
        }
        let Some(js) = self.js.as_mut() else { return };
        let Some(stream) = stream else {
            js.meta_pending.clear();
            return;
        };
        let Some(r) = js.streams.get_mut(stream) else { return };
        r.pending.clear();
        r.inflight.clear();
        if leader_known {
            r.create_reply = None;
        }
        let subs: Vec<u32> = std::mem::take(&mut r.subs);
        let subjects: Vec<String> = r.assignment.config.subjects.clone();
        for id in &subs {
            js.internal.remove(id);
        }
        for (id, subj) in subs.into_iter().zip(subjects) {
            self.internal_unsub(ctx, &subj, id);
        }
    }

    fn js_apply_meta(&mut self, ctx: &mut Ctx, index: Index, entry: JsEntry) {
        let pending = self.js.as_mut().and_then(|js| js.meta_pending.remove(&index));
        match entry {
            JsEntry::AddStream(sa) => {
                let name: Rc<str> = Rc::from(sa.config.name.as_str());
                let Some(js) = self.js.as_mut() else { return };
                if let Some(r) = js.streams.get(&name) {
                    // An equal create proposed again: the stream leader answers.
                    let leads = r.is_leader();
                    if let (true, Some(reply)) = (leads, sa.reply.as_ref()) {
                        let body = self.js_stream_info_json(ctx, &name, "stream_create_response", false);
                        self.internal_publish(ctx, reply, None, Bytes::from(body));
                    }
                    return;
                }
                let me = ctx.me;
                let member = sa.peers.contains(&me);
                js.groups.insert(sa.group.clone(), name.clone());
                js.streams.insert(
                    name.clone(),
                    StreamReplica {
                        assignment: sa.clone(),
                        group: None,
                        store: MsgStore::with_first_seq(sa.config.first_seq),
                        applied: 0,
                        pending: BTreeMap::new(),
                        create_reply: if member { sa.reply.clone() } else { None },
                        subs: Vec::new(),
                        learner: false,
                        inflight: BTreeMap::new(),
                        expire_at: None,
                        direct_subs: Vec::new(),
                        republish: Vec::new(),
                        consumers: BTreeMap::new(),
                        prop_sub: None,
                    },
                );
                if member {
                    let storage = match js.disk.remove(&sa.group) {
                        Some(s) => s,
                        None if sa.config.storage_memory => Storage::empty(),
                        None => Storage::new(js.opts.policy()),
                    };
                    let config = js.opts.raft_config().with_preferred_leader(Some(sa.preferred));
                    let (raft, out) = Raft::new(me, sa.peers.clone(), config, storage, ctx.now, &mut Ent(ctx.rng));
                    if let Some(r) = js.streams.get_mut(&name) {
                        r.group = Some(Group {
                            name: sa.group.clone(),
                            raft,
                            armed: None,
                            elections_won: 0,
                            created: ctx.now,
                            had_leader: false,
                        });
                    }
                    self.js_output(ctx, &sa.group, out);
                }
                self.js_sync_direct(ctx, &name);
            }
            JsEntry::UpdateStream(sa) => {
                self.js_apply_stream_update(ctx, sa);
            }
            JsEntry::DeleteStream(name) => {
                self.js_consumers_stream_deleted(ctx, &name);
                self.js_lost_leadership(ctx, Some(&name), false);
                self.js_unsub_direct(ctx, &name);
                if let Some(js) = self.js.as_mut() {
                    if let Some(r) = js.streams.remove(&name) {
                        js.groups.remove(&r.assignment.group);
                        js.disk.remove(&r.assignment.group);
                    }
                }
                if let Some(Pending::Delete(reply)) = pending {
                    let body =
                        serde_json::json!({"type": api::response_type("stream_delete_response"), "success": true});
                    self.internal_publish(
                        ctx,
                        &reply,
                        None,
                        Bytes::from(serde_json::to_vec(&body).unwrap_or_default()),
                    );
                }
            }
            JsEntry::AddConsumer(ca) => self.js_apply_add_consumer(ctx, ca),
            JsEntry::DeleteConsumer(s, c) => self.js_apply_delete_consumer(ctx, &s, &c, pending),
            _ => {}
        }
    }

    /// A committed stream update: the new config, and a new peer set on a
    /// scale up/down (nats `processClusterUpdateStream`): removed members stop
    /// and delete their replica, added members start an empty one that the
    /// leader catches up, kept members change their Raft membership. The
    /// stream leader answers the request.
    fn js_apply_stream_update(&mut self, ctx: &mut Ctx, sa: Rc<StreamAssignment>) {
        let name: Rc<str> = Rc::from(sa.config.name.as_str());
        let me = ctx.me;
        let Some(js) = self.js.as_mut() else { return };
        let Some(r) = js.streams.get_mut(&name) else { return };
        let was = r.assignment.peers.contains(&me);
        let is = sa.peers.contains(&me);
        let peers_changed = r.assignment.peers != sa.peers;
        let old_subjects = r.assignment.config.subjects.clone();
        let mut sa2 = (*sa).clone();
        sa2.reply = None;
        r.assignment = Rc::new(sa2);
        let cfg = r.assignment.config.clone();
        r.store.enforce(&cfg, ctx.now);
        let group = r.assignment.group.clone();
        if was && !is {
            // Removed: step down, drop the group and its data (nats `removeStream`).
            self.js_lost_leadership(ctx, Some(&name), false);
            if let Some(js) = self.js.as_mut() {
                js.disk.remove(&group);
                if let Some(r) = js.streams.get_mut(&name) {
                    r.group = None;
                    r.store = MsgStore::new();
                    r.applied = 0;
                    r.pending.clear();
                    r.learner = false;
                }
            }
        } else if !was && is {
            let storage = match js.disk.remove(&group) {
                Some(s) => s,
                None if cfg.storage_memory => Storage::empty(),
                None => Storage::new(js.opts.policy()),
            };
            let fresh = storage.last_index() == 0;
            let mut config = js.opts.raft_config().with_preferred_leader(Some(sa.preferred));
            if fresh {
                // nats does not let an empty new peer win an election before
                // it caught up; jetsim keeps it from campaigning at all.
                config.election_min = u64::MAX / 4;
                config.election_max = u64::MAX / 4 + 1;
            }
            let (raft, out) = Raft::new(me, sa.peers.clone(), config, storage, ctx.now, &mut Ent(ctx.rng));
            if let Some(r) = js.streams.get_mut(&name) {
                r.group = Some(Group {
                    name: group.clone(),
                    raft,
                    armed: None,
                    elections_won: 0,
                    created: ctx.now,
                    had_leader: false,
                });
                r.store = MsgStore::new();
                r.applied = 0;
                r.learner = fresh;
            }
            self.js_output(ctx, &group, out);
        } else if is && peers_changed {
            if let Some(g) = js.streams.get_mut(&name).and_then(|r| r.group.as_mut()) {
                let mut out = Output::new();
                g.raft.set_peers(ctx.now, sa.peers.clone(), &mut out);
                if sa.peers.len() == 1 && !g.raft.is_leader() {
                    // The one member left of a scale down to R1 leads at once
                    // (nats runs an R1 stream without Raft).
                    g.raft.campaign_immediately(ctx.now, &mut out);
                }
                self.js_output(ctx, &group, out);
            }
        }
        self.js_sync_direct(ctx, &name);
        let leads = self.js.as_ref().and_then(|js| js.streams.get(&name)).is_some_and(|r| r.is_leader());
        if leads && old_subjects != sa.config.subjects {
            self.js_resubscribe(ctx, &name, &old_subjects);
        }
        // nats: a member that is now the only one answers as the leader.
        let sole = sa.peers.len() == 1 && sa.peers[0] == me;
        if let (true, Some(reply)) = (leads || sole, sa.reply.as_ref()) {
            let body = self.js_stream_info_json(ctx, &name, "stream_update_response", false);
            self.internal_publish(ctx, reply, None, Bytes::from(body));
        }
    }

    /// A learner that has applied something heard from the leader: it gets
    /// the normal timings (and may campaign from now on).
    fn js_promote_learner(&mut self, ctx: &mut Ctx, stream: &Rc<str>) {
        let Some(js) = self.js.as_mut() else { return };
        let base = js.opts.raft_config();
        let Some(r) = js.streams.get_mut(stream) else { return };
        if !r.learner || r.applied == 0 {
            return;
        }
        r.learner = false;
        let config = base.with_preferred_leader(Some(r.assignment.preferred));
        let Some(g) = r.group.as_mut() else { return };
        let name = g.name.clone();
        let mut out = Output::new();
        g.raft.set_config(ctx.now, config, &mut Ent(ctx.rng), &mut out);
        self.js_output(ctx, &name, out);
    }

    fn js_apply_stream(&mut self, ctx: &mut Ctx, stream: &Rc<str>, index: Index, entry: JsEntry) {
        let mut applied_msg = None;
        if let JsEntry::Msg(m) = &entry {
            let reply = self.js.as_mut().and_then(|js| js.streams.get_mut(stream)).and_then(|r| {
                r.applied = index;
                match r.pending.remove(&index) {
                    Some(Pending::PubAck(to)) => Some(to),
                    _ => None,
                }
            });
            applied_msg = self.js_apply_msg(ctx, stream, index, m.clone(), reply);
        }
        let Some(r) = self.js.as_mut().and_then(|js| js.streams.get_mut(stream)) else { return };
        r.applied = index;
        let pending = r.pending.remove(&index);
        let cfg = r.assignment.config.clone();
        let (reply, body): (Option<Rc<str>>, Vec<u8>) = match entry {
            JsEntry::Msg(_) => match applied_msg {
                Some((to, body)) => (Some(to), body),
                None => (None, Vec::new()),
            },
            JsEntry::Purge(req) => {
                let n = r.store.purge_ex(&cfg, &req.filter, req.seq, req.keep);
                match pending {
                    Some(Pending::Purge(reply)) => {
                        let v = serde_json::json!({"type": api::response_type("stream_purge_response"), "success": true, "purged": n});
                        (Some(reply), serde_json::to_vec(&v).unwrap_or_default())
                    }
                    _ => (None, Vec::new()),
                }
            }
            JsEntry::DeleteMsg(seq) => {
                let ok = r.store.remove(&cfg, seq);
                match pending {
                    Some(Pending::MsgDelete(reply)) => {
                        // A missing message: the file store says 10057 "no
                        // message found", the memory store 10043.
                        let missing = if cfg.storage_memory {
                            ApiError::new(400, 10043, format!("sequence {seq} not found"))
                        } else if seq > r.store.last_seq() {
                            ApiError::new(500, 10057, "stream store EOF")
                        } else {
                            ApiError::new(500, 10057, "no message found")
                        };
                        let v = if ok {
                            serde_json::json!({"type": api::response_type("stream_msg_delete_response"), "success": true})
                        } else {
                            serde_json::json!({"type": api::response_type("stream_msg_delete_response"), "error": missing})
                        };
                        (Some(reply), serde_json::to_vec(&v).unwrap_or_default())
                    }
                    _ => (None, Vec::new()),
                }
            }
            _ => (None, Vec::new()),
        };
        if let Some(reply) = reply {
            self.internal_publish(ctx, &reply, None, Bytes::from(body));
        }
        self.js_stream_changed(ctx, stream);
        self.js_consumers_after_apply(ctx, stream);
    }

    /// A message on an internal subscription (its arguments are the
    /// message's fields, as the delivery path hands them over).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn js_internal_msg(
        &mut self,
        ctx: &mut Ctx,
        id: u32,
        subject: &Rc<str>,
        reply: Option<&Rc<str>>,
        headers: Option<&Bytes>,
        payload: &Bytes,
        from_client: bool,
    ) {
        let Some(kind) = self.js.as_ref().and_then(|js| js.internal.get(&id).cloned()) else { return };
        match kind {
            InternalSub::Api => self.js_api(ctx, subject, reply, payload, from_client),
            InternalSub::Stream(stream) => self.js_stream_publish(ctx, &stream, subject, reply, headers, payload),
            InternalSub::Consumer(s, c) => self.js_consumer_msg(ctx, &s, &c, subject, reply, headers, payload),
            InternalSub::Direct(s) => self.js_direct_get(ctx, &s, subject, reply, payload),
            InternalSub::Propose(s) => self.js_forwarded_proposal(ctx, &s, payload),
        }
    }

    /// The leader's subject subscriptions follow a subjects update.
    fn js_resubscribe(&mut self, ctx: &mut Ctx, stream: &Rc<str>, old_subjects: &[String]) {
        let Some(js) = self.js.as_mut() else { return };
        let Some(r) = js.streams.get_mut(stream) else { return };
        let subs = std::mem::take(&mut r.subs);
        for id in &subs {
            js.internal.remove(id);
        }
        for (id, subj) in subs.into_iter().zip(old_subjects) {
            self.internal_unsub(ctx, subj, id);
        }
        let Some(js) = self.js.as_mut() else { return };
        let Some(r) = js.streams.get(stream) else { return };
        let subjects = r.assignment.config.subjects.clone();
        for subj in subjects {
            let Some(js) = self.js.as_mut() else { return };
            let id = js.next_internal;
            js.next_internal += 1;
            js.internal.insert(id, InternalSub::Stream(stream.clone()));
            if let Some(r) = js.streams.get_mut(stream) {
                r.subs.push(id);
            }
            self.internal_sub(ctx, &subj, id);
        }
    }

    /// DIRECT.GET subscriptions: every replica of an `allow_direct` stream
    /// (nats `subscribeToDirect`), none otherwise.
    fn js_sync_direct(&mut self, ctx: &mut Ctx, stream: &Rc<str>) {
        let Some(js) = self.js.as_mut() else { return };
        let Some(r) = js.streams.get_mut(stream) else { return };
        let want = r.group.is_some() && r.assignment.config.allow_direct;
        if want != r.direct_subs.is_empty() {
            return;
        }
        if !want {
            self.js_unsub_direct(ctx, stream);
            return;
        }
        let mut subs = Vec::new();
        for subj in [format!("$JS.API.DIRECT.GET.{stream}"), format!("$JS.API.DIRECT.GET.{stream}.>")] {
            let id = js.next_internal;
            js.next_internal += 1;
            js.internal.insert(id, InternalSub::Direct(stream.clone()));
            subs.push((id, subj));
        }
        if let Some(r) = js.streams.get_mut(stream) {
            r.direct_subs = subs.clone();
        }
        for (id, subj) in subs {
            self.internal_sub(ctx, &subj, id);
        }
    }

    fn js_unsub_direct(&mut self, ctx: &mut Ctx, stream: &Rc<str>) {
        let Some(js) = self.js.as_mut() else { return };
        let Some(r) = js.streams.get_mut(stream) else { return };
        let subs = std::mem::take(&mut r.direct_subs);
        for (id, _) in &subs {
            js.internal.remove(id);
        }
        for (id, subj) in subs {
            self.internal_unsub(ctx, &subj, id);
        }
    }

    /// After anything changed a replica's store: hand the removed sequences
    /// to [`Server::js_on_removed`] and (re)arm the age timer.
    pub(crate) fn js_stream_changed(&mut self, ctx: &mut Ctx, stream: &Rc<str>) {
        let Some(r) = self.js.as_mut().and_then(|js| js.streams.get_mut(stream)) else { return };
        let republish = std::mem::take(&mut r.republish);
        let removed = r.store.take_removed();
        let next = r.store.next_expiry(&r.assignment.config);
        if let Some(t) = next {
            if r.expire_at.is_none_or(|a| t < a) {
                r.expire_at = Some(t);
                ctx.timer(t, Timer::JsStreamExpire { stream: stream.clone() });
            }
        }
        for (subject, hdr, data) in republish {
            self.internal_publish(ctx, &subject, Some(&hdr), data);
        }
        if !removed.is_empty() {
            self.js_on_removed(ctx, stream, &removed);
        }
    }

    /// The age timer of a replica (nats `expireMsgs` on every replica's
    /// store): messages older than max_age go, even without new publishes.
    fn js_expire_timer(&mut self, ctx: &mut Ctx, stream: &Rc<str>) {
        let Some(r) = self.js.as_mut().and_then(|js| js.streams.get_mut(stream)) else { return };
        if r.expire_at.is_none_or(|a| a > ctx.now) {
            return;
        }
        r.expire_at = None;
        if r.group.is_some() {
            let cfg = r.assignment.config.clone();
            r.store.expire(&cfg, ctx.now);
        }
        self.js_stream_changed(ctx, stream);
        self.js_consumers_after_apply(ctx, stream);
    }

    /// Hook: messages `seqs` left this replica's store (limits, age, purge,
    /// rollup, delete, retention). Consumers drop them from their pending
    /// state in `js_consumers_after_apply` (below the first sequence);
    /// interior removals are visible through [`MsgStore::get`].
    pub(crate) fn js_on_removed(&mut self, _ctx: &mut Ctx, _stream: &Rc<str>, _seqs: &[u64]) {}

    /// Hook for interest retention: does a consumer of this replica want
    /// `subject`? (nats `checkForInterest`: any consumer whose filter
    /// matches.) Without one, an interest stream stores nothing (the
    /// sequence is skipped, the publish still acked).
    pub(crate) fn js_has_interest(&self, stream: &Rc<str>, subject: &str) -> bool {
        self.js
            .as_ref()
            .and_then(|js| js.streams.get(stream))
            .is_some_and(|r| r.consumers.values().any(|c| c.config().matches(subject)))
    }

    /// Interest and work-queue retention decided by a consumer leader
    /// (nats 2.11+ `ackMsg` on a clustered stream): the removal is a
    /// message delete proposed to the stream's group, directly when this
    /// server leads the stream, else forwarded to the stream leader on
    /// `$NRG.P.<group>` (nats `ForwardProposal`); every replica removes the
    /// message when it applies the entry. Does nothing on a limits stream.
    pub(crate) fn js_retention_delete(&mut self, ctx: &mut Ctx, stream: &Rc<str>, seqs: &[u64]) {
        let Some(r) = self.js.as_mut().and_then(|js| js.streams.get_mut(stream)) else { return };
        if seqs.is_empty() || r.assignment.config.retention == "limits" {
            return;
        }
        if r.is_leader() {
            let Some(g) = r.group.as_mut() else { return };
            let gname = g.name.clone();
            let mut out = Output::new();
            for &seq in seqs {
                if g.raft.propose(ctx.now, JsEntry::DeleteMsg(seq), &mut out).is_err() {
                    break;
                }
            }
            self.js_output(ctx, &gname, out);
        } else {
            let subject = format!("$NRG.P.{}", r.assignment.group);
            for chunk in seqs.chunks(MAX_FORWARDED) {
                let body: Vec<String> = chunk.iter().map(u64::to_string).collect();
                self.internal_publish(ctx, &subject, None, Bytes::from(body.join(",")));
            }
        }
    }

    /// A forwarded retention delete on the stream leader's `$NRG.P.<group>`:
    /// comma-separated sequences (at most [`MAX_FORWARDED`]; anything else
    /// is ignored, as anyone may publish there).
    fn js_forwarded_proposal(&mut self, ctx: &mut Ctx, stream: &Rc<str>, payload: &Bytes) {
        let leads = self.js.as_ref().and_then(|js| js.streams.get(stream)).is_some_and(|r| r.is_leader());
        if !leads || payload.len() > MAX_FORWARDED * 21 {
            return;
        }
        let Ok(text) = std::str::from_utf8(payload) else { return };
        let seqs: Vec<u64> = text
            .split(',')
            .filter_map(|t| t.trim().parse::<u64>().ok())
            .filter(|&s| s > 0)
            .take(MAX_FORWARDED)
            .collect();
        self.js_retention_delete(ctx, stream, &seqs);
    }

    /// Publish a reply now, or after nats' `errRespDelay` (500 ms).
    fn js_reply(&mut self, ctx: &mut Ctx, reply: Option<&Rc<str>>, body: Vec<u8>, delayed: bool) {
        let Some(reply) = reply else { return };
        // Go's encoder escapes <, > and & (idempotent on escaped output).
        let body = api::go_escape(body);
        if delayed {
            let Some(js) = self.js.as_mut() else { return };
            let id = js.next_delayed;
            js.next_delayed += 1;
            js.delayed.insert(id, (reply.clone(), body));
            ctx.timer(ctx.now + 500 * crate::time::MS, Timer::JsDelayedReply(id));
        } else {
            self.internal_publish(ctx, reply, None, Bytes::from(body));
        }
    }
}
