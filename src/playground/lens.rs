//! The Raft lens: for each Raft group (the meta group `_meta_` of each
//! cluster, and each stream's group `S-R3F-…`), its members with role, term
//! and vote, a strip of the last log indexes per member (committed or not,
//! applied), the leader's proposals with their acks as they arrive (`1/3`,
//! then `2/3 quorum`), the Raft frames in flight and the PubAcks on their way
//! back to the publisher.
//!
//! Everything is read from the world each frame through the core's read-only
//! accessors (no simulation logic): the acks of an entry are the leader's
//! match indexes (plus the leader itself), which is how the leader counts its
//! quorum. Pure Rust, unit-tested natively; the HTML is in [`view`].

use jetsim_core::jetstream::{JsEntry, RaftMsg, META_GROUP};
use jetsim_core::node::{Frame, RouteMsg};
use jetsim_core::sim::{Liveness, World};
use jetsim_core::trace::{Endpoint, FrameKind};
use jetsim_raft::{Entry, Index, Payload, Raft, Role, Storage, Term};
use yew::prelude::*;

use crate::text;

/// Log indexes shown per member (the last ones of the longest log).
pub const WINDOW: u64 = 20;
/// Groups shown at most (the rest are counted).
pub const MAX_GROUPS: usize = 12;
/// The leader's most recent entries listed as proposals.
pub const MAX_PROPOSALS: usize = 5;
/// PubAcks in flight listed per stream at most.
pub const MAX_PUBACKS: usize = 6;

/// A Raft frame as the lens and the cluster view tell them apart (from the
/// message variant the frame carries).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RaftFrame {
    /// AppendEntries carrying entries.
    Append,
    /// AppendEntries without entries (heartbeat, commit notice).
    Heartbeat,
    /// AppendEntries response, success (an ack).
    Ack,
    /// AppendEntries response, rejected (the logs disagree, or a stale term).
    Reject,
    /// RequestVote.
    Vote,
    /// Leader transfer: campaign now.
    TimeoutNow,
    /// Vote granted.
    Granted,
    /// Vote denied.
    Denied,
}

impl RaftFrame {
    /// Every kind, in the order the lens lists them.
    pub const ALL: [RaftFrame; 8] = [
        RaftFrame::Append,
        RaftFrame::Heartbeat,
        RaftFrame::Ack,
        RaftFrame::Reject,
        RaftFrame::Vote,
        RaftFrame::TimeoutNow,
        RaftFrame::Granted,
        RaftFrame::Denied,
    ];

    pub fn of(msg: &RaftMsg) -> RaftFrame {
        match msg {
            RaftMsg::AppendEntries { entries, .. } if entries.is_empty() => RaftFrame::Heartbeat,
            RaftMsg::AppendEntries { .. } => RaftFrame::Append,
            RaftMsg::AppendResponse { success: true, .. } => RaftFrame::Ack,
            RaftMsg::AppendResponse { .. } => RaftFrame::Reject,
            RaftMsg::RequestVote { .. } => RaftFrame::Vote,
            RaftMsg::TimeoutNow { .. } => RaftFrame::TimeoutNow,
            RaftMsg::VoteResponse { granted: true, .. } => RaftFrame::Granted,
            RaftMsg::VoteResponse { .. } => RaftFrame::Denied,
        }
    }

    /// Stable name (`data-raft` in the cluster view, legend words).
    pub fn name(self) -> &'static str {
        match self {
            RaftFrame::Append => "append",
            RaftFrame::Heartbeat => "heartbeat",
            RaftFrame::Ack => "ack",
            RaftFrame::Reject => "reject",
            RaftFrame::Vote => "vote-request",
            RaftFrame::TimeoutNow => "timeout-now",
            RaftFrame::Granted => "vote-granted",
            RaftFrame::Denied => "vote-denied",
        }
    }

    /// Plural words for the lens's "in flight" line.
    fn words(self, n: usize) -> String {
        let s = if n == 1 { "" } else { "s" };
        match self {
            RaftFrame::Append => format!("{n} AppendEntries"),
            RaftFrame::Heartbeat => format!("{n} heartbeat{s}"),
            RaftFrame::Ack => format!("{n} ack{s}"),
            RaftFrame::Reject => format!("{n} reject{s}"),
            RaftFrame::Vote => format!("{n} vote request{s}"),
            RaftFrame::TimeoutNow => format!("{n} TimeoutNow"),
            RaftFrame::Granted => format!("{n} vote{s} granted"),
            RaftFrame::Denied => format!("{n} vote{s} denied"),
        }
    }
}

/// Frames longer than this are not searched for a PubAck body.
const MAX_PUBACK_FRAME: usize = 1024;

/// `(stream, seq)` of a PubAck (`{"stream":"NAME","seq":N}`, the 2.12
/// body) in a client-protocol MSG or a route RMSG; None for anything else,
/// error PubAcks included.
pub fn puback_of(frame: &Frame) -> Option<(String, u64)> {
    let bytes: &[u8] = match frame {
        Frame::Bytes(b) => b,
        Frame::Route(RouteMsg::Msg { payload, .. }) => payload,
        _ => return None,
    };
    // A PubAck frame is small (a MSG line and a short body): do not scan
    // big payloads every animation frame.
    if bytes.len() > MAX_PUBACK_FRAME {
        return None;
    }
    const HEAD: &[u8] = b"{\"stream\":\"";
    let at = bytes.windows(HEAD.len()).position(|w| w == HEAD)?;
    let rest = &bytes[at + HEAD.len()..];
    let end = rest.iter().position(|&c| c == b'"')?;
    let stream = std::str::from_utf8(&rest[..end]).ok()?.to_string();
    let rest = rest[end + 1..].strip_prefix(b",\"seq\":")?;
    let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || rest.get(digits) != Some(&b'}') {
        return None;
    }
    let seq = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
    Some((stream, seq))
}

/// What Raft frames and PubAcks in flight carry, by frame id (sorted; look
/// one up with [`detail`]).
pub fn frame_details(world: &World) -> Vec<(u64, Detail)> {
    let wanted = |k: FrameKind| {
        matches!(
            k,
            FrameKind::RaftAppend
                | FrameKind::RaftAppendAck
                | FrameKind::RaftVote
                | FrameKind::RaftVoteReply
                | FrameKind::Deliver
                | FrameKind::RouteMsg
        )
    };
    if !world.in_flight().any(|f| wanted(f.label.kind)) {
        return Vec::new();
    }
    let mut v: Vec<(u64, Detail)> = world
        .queued_frames()
        .filter_map(|(id, f)| {
            let d = match f {
                Frame::Raft { msg, .. } => Detail::Raft(RaftFrame::of(msg)),
                _ => {
                    let (stream, seq) = puback_of(f)?;
                    Detail::PubAck { stream, seq }
                }
            };
            Some((id, d))
        })
        .collect();
    jetsim_core::sort::sort_by_key(&mut v, |(id, _)| *id);
    v
}

/// The detail of frame `id` in [`frame_details`]'s answer.
pub fn detail(details: &[(u64, Detail)], id: u64) -> Option<&Detail> {
    details.binary_search_by_key(&id, |(i, _)| *i).ok().map(|i| &details[i].1)
}

/// What a frame in flight carries, as far as the lens cares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Detail {
    Raft(RaftFrame),
    PubAck { stream: String, seq: u64 },
}

/// A member's role as the lens shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberRole {
    Leader,
    Follower,
    Candidate,
    /// The server is down (its log is its disk image).
    Offline,
    /// The server runs but holds no member of the group (yet).
    Missing,
}

impl MemberRole {
    pub fn name(self) -> &'static str {
        match self {
            MemberRole::Leader => "leader",
            MemberRole::Follower => "follower",
            MemberRole::Candidate => "candidate",
            MemberRole::Offline => "offline",
            MemberRole::Missing => "missing",
        }
    }
}

/// One log index of a member's strip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cell {
    pub index: Index,
    pub term: Term,
    /// Committed as far as this member knows.
    pub committed: bool,
    pub applied: bool,
    /// On the leader, for entries not yet committed: members holding it.
    pub acks: Option<usize>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    pub server: Endpoint,
    pub name: String,
    pub liveness: Liveness,
    pub role: MemberRole,
    pub term: Term,
    pub voted_for: Option<String>,
    /// The leader it follows (its own belief).
    pub follows: Option<String>,
    pub last: Index,
    /// Commit and applied indexes (volatile: unknown while down).
    pub commit: Option<Index>,
    pub applied: Option<Index>,
    /// Its match index as the group's leader sees it (None on the leader).
    pub matched: Option<Index>,
    /// Candidate or leader: votes held (itself included).
    pub votes: Option<usize>,
    /// One per index of the group's window; None: not in this log.
    pub cells: Vec<Option<Cell>>,
}

/// One of the leader's recent entries.
#[derive(Clone, Debug, PartialEq)]
pub struct Proposal {
    pub index: Index,
    pub term: Term,
    pub what: String,
    /// Members holding it (the leader included), and who they are.
    pub acks: usize,
    pub acked_by: Vec<String>,
    pub committed: bool,
    pub applied: bool,
    /// A publish (its apply sends the PubAck).
    pub publish: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PubAckFlight {
    pub from: String,
    pub to: String,
    pub seq: u64,
    /// The last hop, server → the publishing client (else a route hop).
    pub to_client: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    pub group: String,
    pub stream: Option<String>,
    pub cluster: String,
    pub members: Vec<Member>,
    pub quorum: usize,
    /// Index into `members` of the leader (the highest-term one).
    pub leader: Option<usize>,
    /// Highest term among members.
    pub term: Term,
    /// Indexes shown: `first..=last` (empty when `last == 0`).
    pub first: Index,
    pub last: Index,
    pub proposals: Vec<Proposal>,
    /// Raft frames of this group in flight, per kind (indexed as [`RaftFrame::ALL`]).
    pub frames: [usize; 8],
    pub pubacks: Vec<PubAckFlight>,
}

impl Group {
    /// A key unique among the lens's groups: the group's name, and for a meta
    /// group (one per cluster, all named the same) its cluster too.
    pub fn key(&self) -> String {
        match self.stream {
            Some(_) => self.group.clone(),
            None => format!("{} {}", self.group, self.cluster),
        }
    }

    pub fn leader(&self) -> Option<&Member> {
        self.leader.and_then(|i| self.members.get(i))
    }

    /// A candidate's election, as text (`n2 asks for votes in term 4: 1/3, needs 2`).
    pub fn elections(&self) -> Vec<String> {
        let n = self.members.len();
        self.members
            .iter()
            .filter(|m| m.role == MemberRole::Candidate)
            .map(|m| {
                format!(
                    "{} asks for votes in term {}: votes {}/{n}, needs {}",
                    m.name,
                    m.term,
                    m.votes.unwrap_or(0),
                    self.quorum
                )
            })
            .collect()
    }

    /// The group in one sentence.
    pub fn headline(&self) -> String {
        let n = self.members.len();
        let up = self.members.iter().filter(|m| m.liveness == Liveness::Up).count();
        match self.leader() {
            Some(l) => format!(
                "Leader {} in term {}, commit {}; {up} of {n} members up, quorum {} of {n}.",
                l.name,
                l.term,
                l.commit.unwrap_or(0),
                self.quorum
            ),
            None => format!("No leader (term {}); {up} of {n} members up, quorum {} of {n}.", self.term, self.quorum),
        }
    }

    /// Raft frames in flight, as text.
    /// Raft frames of kind `k` in flight.
    pub fn in_flight(&self, k: RaftFrame) -> usize {
        self.frames[k as usize]
    }

    pub fn frames_text(&self) -> String {
        let parts: Vec<String> =
            RaftFrame::ALL.iter().filter(|k| self.in_flight(**k) > 0).map(|k| k.words(self.in_flight(*k))).collect();
        if parts.is_empty() {
            return "No Raft frames in flight.".into();
        }
        format!("In flight: {}.", parts.join(", "))
    }
}

/// Where a member's state comes from.
enum Source<'a> {
    Live(&'a Raft<JsEntry>),
    Disk(&'a Storage<JsEntry>),
    Nothing,
}

impl Source<'_> {
    fn last(&self) -> Index {
        match self {
            Source::Live(r) => r.last_index(),
            Source::Disk(s) => s.last_index(),
            Source::Nothing => 0,
        }
    }
}

fn describe_entry(e: &Entry<JsEntry>) -> (String, bool) {
    match &e.payload {
        Payload::Noop => ("leader's no-op of its term".into(), false),
        Payload::Normal(JsEntry::Msg(m)) => (format!("publish to {}", text::short(&m.subject, 40)), true),
        Payload::Normal(JsEntry::AddStream(a)) => (format!("add stream {}", text::short(&a.config.name, 32)), false),
        Payload::Normal(JsEntry::UpdateStream(a)) => {
            (format!("update stream {}", text::short(&a.config.name, 32)), false)
        }
        Payload::Normal(JsEntry::DeleteStream(n)) => (format!("delete stream {}", text::short(n, 32)), false),
        Payload::Normal(JsEntry::Purge(_)) => ("purge".into(), false),
        Payload::Normal(JsEntry::DeleteMsg(s)) => (format!("delete message {s}"), false),
        Payload::Normal(JsEntry::AddConsumer(a)) => (format!("add consumer {}", text::short(&a.name, 32)), false),
        Payload::Normal(JsEntry::DeleteConsumer(_, c)) => (format!("delete consumer {}", text::short(c, 32)), false),
        Payload::Normal(JsEntry::Consumer(c, _)) => (format!("consumer {} state", text::short(c, 32)), false),
    }
}

/// Build one group's view from its members' sources.
fn build_group(
    world: &World,
    group: &str,
    stream: Option<&str>,
    cluster: &str,
    sources: Vec<(Endpoint, Source<'_>)>,
) -> Group {
    let n = sources.len().max(1);
    let quorum = n / 2 + 1;
    let last = sources.iter().map(|(_, s)| s.last()).max().unwrap_or(0);
    let first = last.saturating_sub(WINDOW - 1).max(1);
    // The leader: the live leader with the highest term.
    let leader_ix = sources
        .iter()
        .enumerate()
        .filter_map(|(i, (_, s))| match s {
            Source::Live(r) if r.is_leader() => Some((i, r.term())),
            _ => None,
        })
        .max_by_key(|&(i, t)| (t, std::cmp::Reverse(i)))
        .map(|(i, _)| i);
    let leader_raft = leader_ix.and_then(|i| match &sources[i].1 {
        Source::Live(r) => Some(*r),
        _ => None,
    });
    let progress = leader_raft.map(|r| r.progress()).unwrap_or_default();
    let matched_of = |ep: Endpoint| progress.iter().find(|p| p.id == ep).map(|p| p.match_index);
    let acks_of = |index: Index| -> Vec<Endpoint> {
        let Some(l) = leader_raft else { return Vec::new() };
        let mut v = vec![l.id()];
        v.extend(progress.iter().filter(|p| p.match_index >= index).map(|p| p.id));
        v
    };
    let name = |ep: Endpoint| text::short(world.name(ep), 24);

    let members: Vec<Member> = sources
        .iter()
        .enumerate()
        .map(|(i, (ep, src))| {
            let liveness = world.servers.get(*ep as usize).map_or(Liveness::Down, |s| s.liveness);
            let is_leader = Some(i) == leader_ix;
            let cells_from = |entries: &[Entry<JsEntry>], commit: Index, applied: Index| -> Vec<Option<Cell>> {
                (first..=last)
                    .filter(|_| last > 0)
                    .map(|ix| {
                        let e = entries.get((ix as usize).checked_sub(1)?)?;
                        let committed = ix <= commit;
                        Some(Cell {
                            index: ix,
                            term: e.term,
                            committed,
                            applied: ix <= applied,
                            acks: (is_leader && !committed).then(|| acks_of(ix).len()),
                        })
                    })
                    .collect()
            };
            match src {
                Source::Live(r) => {
                    let role = match r.role() {
                        Role::Leader => MemberRole::Leader,
                        Role::Candidate => MemberRole::Candidate,
                        Role::Follower => MemberRole::Follower,
                    };
                    Member {
                        server: *ep,
                        name: name(*ep),
                        liveness,
                        role,
                        term: r.term(),
                        voted_for: r.voted_for().map(name),
                        follows: r.leader().map(name),
                        last: r.last_index(),
                        commit: Some(r.commit_index()),
                        applied: Some(r.applied_index()),
                        matched: if is_leader { None } else { matched_of(*ep) },
                        votes: (role != MemberRole::Follower).then(|| r.votes_granted().len()),
                        cells: cells_from(r.log(), r.commit_index(), r.applied_index()),
                    }
                }
                Source::Disk(s) => Member {
                    server: *ep,
                    name: name(*ep),
                    liveness,
                    role: MemberRole::Offline,
                    term: s.term(),
                    voted_for: s.vote().map(name),
                    follows: None,
                    last: s.last_index(),
                    commit: None,
                    applied: None,
                    matched: matched_of(*ep),
                    votes: None,
                    cells: cells_from(s.entries(), 0, 0),
                },
                Source::Nothing => Member {
                    server: *ep,
                    name: name(*ep),
                    liveness,
                    role: if liveness == Liveness::Down { MemberRole::Offline } else { MemberRole::Missing },
                    term: 0,
                    voted_for: None,
                    follows: None,
                    last: 0,
                    commit: None,
                    applied: None,
                    matched: matched_of(*ep),
                    votes: None,
                    cells: (first..=last).filter(|_| last > 0).map(|_| None).collect(),
                },
            }
        })
        .collect();

    let proposals = match leader_raft {
        None => Vec::new(),
        Some(l) => {
            let top = l.last_index();
            let from = top.saturating_sub(MAX_PROPOSALS as u64 - 1).max(1);
            (from..=top)
                .filter_map(|ix| {
                    let e = l.entry(ix)?;
                    let (what, publish) = describe_entry(e);
                    let by = acks_of(ix);
                    Some(Proposal {
                        index: ix,
                        term: e.term,
                        what,
                        acks: by.len(),
                        acked_by: by.into_iter().map(name).collect(),
                        committed: l.is_committed(ix),
                        applied: ix <= l.applied_index(),
                        publish,
                    })
                })
                .collect()
        }
    };
    let term = members.iter().map(|m| m.term).max().unwrap_or(0);
    Group {
        group: group.to_string(),
        stream: stream.map(str::to_string),
        cluster: cluster.to_string(),
        members,
        quorum,
        leader: leader_ix,
        term,
        first,
        last,
        proposals,
        frames: [0; 8],
        pubacks: Vec::new(),
    }
}

/// Every group of the world (meta groups first, then streams by name, each
/// followed by its consumers' groups), at most [`MAX_GROUPS`], and how many
/// more there are.
pub fn groups(world: &World) -> (Vec<Group>, usize) {
    let mut out = Vec::new();
    // Meta group per cluster, members: the cluster's JetStream servers.
    let mut clusters: Vec<&str> = Vec::new();
    for s in &world.servers {
        if s.config.jetstream && !clusters.contains(&s.config.cluster.as_str()) {
            clusters.push(&s.config.cluster);
        }
    }
    for c in &clusters {
        let sources = world
            .servers
            .iter()
            .enumerate()
            .filter(|(_, s)| s.config.jetstream && s.config.cluster == *c)
            .map(|(i, s)| {
                let src = if s.liveness == Liveness::Down {
                    s.disk.get(META_GROUP).map_or(Source::Nothing, Source::Disk)
                } else {
                    match s.node.js.as_ref().and_then(|js| js.meta.as_ref()) {
                        Some(g) => Source::Live(&g.raft),
                        None => Source::Nothing,
                    }
                };
                (i as Endpoint, src)
            })
            .collect();
        out.push(build_group(world, META_GROUP, None, c, sources));
    }
    let names = world.stream_names();
    let mut more = 0;
    for name in &names {
        if out.len() >= MAX_GROUPS {
            more += 1;
            continue;
        }
        let replicas = world.stream_replicas(name);
        let Some((_, first)) = replicas.first() else { continue };
        let a = first.assignment.clone();
        let cluster = a
            .peers
            .first()
            .and_then(|p| world.servers.get(*p as usize))
            .map_or(String::new(), |s| s.config.cluster.clone());
        let sources = a
            .peers
            .iter()
            .map(|&p| {
                let slot = world.servers.get(p as usize);
                let src = match slot {
                    Some(s) if s.liveness == Liveness::Down => {
                        s.disk.get(&*a.group).map_or(Source::Nothing, Source::Disk)
                    }
                    Some(_) => replicas
                        .iter()
                        .find(|(e, _)| *e == p)
                        .and_then(|(_, r)| r.group.as_ref())
                        .map_or(Source::Nothing, |g| Source::Live(&g.raft)),
                    None => Source::Nothing,
                };
                (p, src)
            })
            .collect();
        out.push(build_group(world, &a.group, Some(name), &cluster, sources));
        // The stream's consumers, each with its own Raft group ("ORDERS › C1").
        for (cname, c) in &first.consumers {
            if out.len() >= MAX_GROUPS {
                more += 1;
                continue;
            }
            let ca = c.assignment.clone();
            let sources = ca
                .peers
                .iter()
                .map(|&p| {
                    let src = match world.servers.get(p as usize) {
                        Some(s) if s.liveness == Liveness::Down => {
                            s.disk.get(&*ca.group).map_or(Source::Nothing, Source::Disk)
                        }
                        Some(_) => replicas
                            .iter()
                            .find(|(e, _)| *e == p)
                            .and_then(|(_, r)| r.consumers.get(cname))
                            .and_then(|c| c.group.as_ref())
                            .map_or(Source::Nothing, |g| Source::Live(&g.raft)),
                        None => Source::Nothing,
                    };
                    (p, src)
                })
                .collect();
            let title = format!("{name} \u{203a} {cname}");
            out.push(build_group(world, &ca.group, Some(&title), &cluster, sources));
        }
    }

    // Frames in flight: Raft frames by group, PubAcks by stream.
    let details = frame_details(world);
    if !details.is_empty() {
        for f in world.in_flight() {
            match detail(&details, f.id) {
                Some(Detail::Raft(k)) => {
                    let group = f.label.subject.as_deref().unwrap_or("");
                    if let Some(g) = out.iter_mut().find(|g| g.group == group) {
                        g.frames[*k as usize] += 1;
                    }
                }
                Some(Detail::PubAck { stream, seq }) => {
                    if let Some(g) = out.iter_mut().find(|g| g.stream.as_deref() == Some(stream)) {
                        if g.pubacks.len() < MAX_PUBACKS {
                            g.pubacks.push(PubAckFlight {
                                from: name_of(world, f.from),
                                to: name_of(world, f.to),
                                seq: *seq,
                                to_client: !world.is_server(f.to),
                            });
                        }
                    }
                }
                None => {}
            }
        }
    }
    (out, more)
}

fn name_of(world: &World, ep: Endpoint) -> String {
    text::short(world.name(ep), 24)
}

/// A PubAck a client received: (time, client, seq, latency ns).
pub type AckSeen = (u64, String, u64, u64);

/// The last quorum a group reached and the last PubAcks clients received,
/// as the session read them from the trace.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Recent {
    /// (group, time, index, servers holding it).
    pub quorums: Vec<(String, u64, Index, Vec<String>)>,
    /// (stream, last PubAcks received: (time, client, seq, latency ns)).
    pub acks: Vec<(String, Vec<AckSeen>)>,
}

impl Recent {
    pub fn quorum(&self, group: &str) -> Option<&(String, u64, Index, Vec<String>)> {
        self.quorums.iter().find(|q| q.0 == group)
    }

    pub fn acks(&self, stream: &str) -> &[AckSeen] {
        self.acks.iter().find(|a| a.0 == stream).map_or(&[], |a| &a.1)
    }

    /// Remember entry `index` of `group` reaching its quorum.
    pub fn note_quorum(&mut self, group: &str, at: u64, index: Index, by: Vec<String>) {
        if let Some(i) = self.quorums.iter().position(|q| q.0 == group) {
            let q = &mut self.quorums[i];
            (q.1, q.2, q.3) = (at, index, by);
        } else if self.quorums.len() < RECENT_GROUPS {
            self.quorums.push((group.to_string(), at, index, by));
        }
    }

    /// Remember a PubAck a client received (the last [`RECENT_ACKS`] per stream).
    pub fn note_ack(&mut self, stream: &str, ack: AckSeen) {
        let i = match self.acks.iter().position(|a| a.0 == stream) {
            Some(i) => i,
            None if self.acks.len() < RECENT_GROUPS => {
                self.acks.push((stream.to_string(), Vec::new()));
                self.acks.len() - 1
            }
            None => return,
        };
        let v = &mut self.acks[i].1;
        v.push(ack);
        if v.len() > RECENT_ACKS {
            v.remove(0);
        }
    }
}

/// Received PubAcks remembered per stream.
pub const RECENT_ACKS: usize = 3;
/// Groups (and streams) remembered at most.
pub const RECENT_GROUPS: usize = 64;

// ------------------------------------------------------------------- view

/// Width, height and gap of a strip cell in the strip's drawing units (one
/// unit is about 1.5 px at the strip's CSS height).
const CELL_W: f64 = 10.0;
const CELL_H: f64 = 11.0;
const CELL_GAP: f64 = 2.5;

/// The kinds of strip cell, each drawn as one path (CSS class, in drawing
/// order).
const CELL_KINDS: [&str; 4] = ["none", "uncommitted", "uncommitted pending", "committed"];

fn cell_kind(c: Option<&Cell>) -> usize {
    match c {
        None => 0,
        Some(c) if c.committed => 3,
        Some(c) if c.acks.is_some() => 2,
        Some(_) => 1,
    }
}

/// What a member's log strip draws (see [`strip_svg`]): one path per kind
/// of cell (by [`CELL_KINDS`]), the "applied" underlines, the acks so far on
/// the leader's uncommitted cells (x, acks), the counts, and the width in
/// drawing units.
#[derive(Debug, Default, PartialEq)]
pub struct StripPlan {
    pub d: [String; 4],
    pub applied: String,
    pub labels: Vec<(f64, usize)>,
    pub committed: usize,
    pub uncommitted: usize,
    pub applied_n: usize,
    pub width: f64,
}

pub fn strip_plan(cells: &[Option<Cell>]) -> StripPlan {
    use std::fmt::Write;
    let mut p = StripPlan::default();
    for (i, c) in cells.iter().enumerate() {
        let x = i as f64 * (CELL_W + CELL_GAP) + 0.75;
        let _ = write!(p.d[cell_kind(c.as_ref())], "M{x} 0.75h{CELL_W}v{CELL_H}h-{CELL_W}z");
        if let Some(c) = c {
            if c.committed {
                p.committed += 1;
            } else {
                p.uncommitted += 1;
            }
            if c.applied {
                p.applied_n += 1;
                let _ = write!(p.applied, "M{x} {}h{CELL_W}v2.5h-{CELL_W}z", CELL_H - 1.75);
            }
            if let Some(a) = c.acks {
                p.labels.push((x + CELL_W / 2.0, a));
            }
        }
    }
    let n = cells.len() as f64;
    p.width = n * CELL_W + (n - 1.0).max(0.0) * CELL_GAP + 1.5;
    p
}

/// One cell drawn as the strips draw it, for the lens's key.
fn legend_cell(c: Option<Cell>) -> Html {
    strip_svg(&[c], String::new())
}

/// A member's log strip as one small SVG: a path of cell outlines or fills
/// per kind of cell, a path of the "applied" underlines, and the acks so far
/// as text on the leader's uncommitted cells. One element per kind instead
/// of one per cell: a lens refresh rewrites a few `d` attributes rather than
/// hundreds of cells (README "Benchmarks", frame time). Counts for tests and
/// tools are on the element (`data-committed`, `data-uncommitted`,
/// `data-applied`). Decorative: the row's text says the same.
pub fn strip_svg(cells: &[Option<Cell>], title: String) -> Html {
    let p = strip_plan(cells);
    html! {
        <svg class="strip" viewBox={format!("0 0 {} {}", p.width, CELL_H + 1.5)} aria-hidden="true" focusable="false"
            data-cells={cells.len().to_string()} data-committed={p.committed.to_string()}
            data-uncommitted={p.uncommitted.to_string()} data-applied={p.applied_n.to_string()}>
            if !title.is_empty() {
                <title>{ title }</title>
            }
            { for CELL_KINDS.iter().zip(p.d).filter(|(_, d)| !d.is_empty()).map(|(class, d)| html! {
                <path class={format!("cells {class}")} d={d} />
            }) }
            if !p.applied.is_empty() {
                <path class="cells applied" d={p.applied} />
            }
            { for p.labels.into_iter().map(|(x, a)| html! {
                <text class="cell-acks" x={x.to_string()} y={(CELL_H / 2.0 + 0.75).to_string()}>{ a }</text>
            }) }
        </svg>
    }
}

fn opt(v: Option<Index>) -> String {
    v.map_or("–".into(), |v| v.to_string())
}

fn member_row(g: &Group, m: &Member) -> Html {
    let leader_last = g.leader().map(|l| l.last);
    let state = crate::playground::view::liveness_name(m.liveness);
    let role_text = match (m.role, m.votes) {
        (MemberRole::Candidate, Some(v)) => format!("candidate · votes {v}/{}", g.members.len()),
        (MemberRole::Leader, Some(v)) => format!("leader · won {v}/{} votes", g.members.len()),
        (MemberRole::Missing, _) => "not a member yet".to_string(),
        (r, _) => r.name().to_string(),
    };
    let state_text = match m.liveness {
        Liveness::Up => String::new(),
        _ => format!(" ({state})"),
    };
    let matched = match (m.matched, leader_last, m.role) {
        (_, _, MemberRole::Leader) if Some(m.server) == g.leader().map(|l| l.server) => "is the leader".to_string(),
        (Some(x), Some(l), _) if x >= l => format!("{x} (in sync)"),
        (Some(x), Some(l), _) => format!("{x} ({} behind)", l - x),
        _ => "–".to_string(),
    };
    let log_text = match (m.commit, m.applied) {
        (Some(c), Some(a)) => format!("last {} · commit {c} · applied {a}", m.last),
        _ => format!("last {} on disk · commit unknown", m.last),
    };
    let strip_title = format!(
        "{}: indexes {}–{}, filled = committed, outlined = not yet committed, underlined = applied",
        m.name, g.first, g.last
    );
    html! {
        <tr key={m.name.clone()} data-server={m.name.clone()} data-role={m.role.name()} data-state={state}
            data-term={m.term.to_string()} data-last={m.last.to_string()}
            data-commit={opt(m.commit)} data-applied={opt(m.applied)} data-match={opt(m.matched)}
            class={classes!("member", m.role.name())}>
            <th scope="row">{ m.name.clone() }</th>
            <td class="role">{ role_text }{ state_text }</td>
            <td class="num">{ m.term }</td>
            <td>{ m.voted_for.clone().unwrap_or_else(|| "–".into()) }</td>
            <td class="log-text">{ log_text }</td>
            <td class="match">{ matched }</td>
            <td class="strip-cell" aria-hidden="true">
                { strip_svg(&m.cells, strip_title) }
            </td>
        </tr>
    }
}

fn proposal_item(g: &Group, p: &Proposal) -> Html {
    let n = g.members.len();
    let quorum = p.acks >= g.quorum;
    let state = match (p.committed, p.applied, p.publish) {
        (false, _, _) if quorum => "quorum reached, commit pending (earlier term)".to_string(),
        (false, _, _) => format!("waiting for a quorum of {}", g.quorum),
        (true, false, _) => "committed, applying".to_string(),
        (true, true, true) => "committed, applied → PubAck sent".to_string(),
        (true, true, false) => "committed, applied".to_string(),
    };
    let acks = if quorum { format!("{}/{n} quorum", p.acks) } else { format!("{}/{n}", p.acks) };
    html! {
        <li key={p.index.to_string()} data-index={p.index.to_string()} data-acks={p.acks.to_string()}
            data-committed={if p.committed { "1" } else { "0" }}
            class={classes!("proposal", quorum.then_some("quorum"), p.committed.then_some("committed"))}>
            <span class="ix">{ format!("#{} (term {})", p.index, p.term) }</span>{ " " }
            <span class="what">{ p.what.clone() }</span>{ " · acks " }
            <b class="acks">{ acks }</b>
            <span class="muted">{ format!(" ({})", p.acked_by.join(", ")) }</span>{ " · " }
            <span class="pstate">{ state }</span>
        </li>
    }
}

/// One group's section of the lens.
pub fn group_html(g: &Group, recent: &Recent, multi_cluster: bool) -> Html {
    let title = match &g.stream {
        Some(s) => text::short(s, 40),
        None if multi_cluster => format!("Meta group (cluster {})", text::short(&g.cluster, 24)),
        None => "Meta group".to_string(),
    };
    let leader = g.leader().map(|l| l.name.clone()).unwrap_or_default();
    let elections = g.elections();
    let quorum_line = recent.quorum(&g.group).map(|(_, at, ix, by)| {
        format!(
            "Last quorum: entry {ix} at {} ({}/{}: {}).",
            jetsim_core::time::fmt_time(*at),
            by.len(),
            g.members.len(),
            by.join(", ")
        )
    });
    let acked = g.stream.as_ref().map(|s| recent.acks(s)).filter(|v| !v.is_empty());
    html! {
        <section class="raft-group" key={g.key()} data-group={g.group.clone()}
            data-stream={g.stream.clone().unwrap_or_default()} data-leader={leader}
            data-term={g.term.to_string()} aria-label={match (&g.stream, multi_cluster) {
                (None, true) => format!("Raft group {} of cluster {}", g.group, text::short(&g.cluster, 24)),
                _ => format!("Raft group {}", g.group),
            }}>
            <h3 class="group-title">{ title }{ " " }<span class="muted small">{ text::short(&g.group, 40) }</span></h3>
            <p class="group-status">{ g.headline() }</p>
            if !elections.is_empty() {
                <p class="election" role="status">{ for elections.iter().map(|e| html! { <span>{ e.clone() }{ ". " }</span> }) }</p>
            }
            <div class="table-wrap">
                <table class="lens-table">
                    <caption class="visually-hidden">{ format!("Members of {}", g.group) }</caption>
                    <thead><tr>
                        <th scope="col">{ "Server" }</th>
                        <th scope="col">{ "Role" }</th>
                        <th scope="col" class="num">{ "Term" }</th>
                        <th scope="col">{ "Voted for" }</th>
                        <th scope="col">{ "Log" }</th>
                        <th scope="col">{ "Leader's match" }</th>
                        <th scope="col" aria-hidden="true">{ format!("Indexes {}–{}", g.first, g.last) }</th>
                    </tr></thead>
                    <tbody>{ for g.members.iter().map(|m| member_row(g, m)) }</tbody>
                </table>
            </div>
            if !g.proposals.is_empty() {
                <ol class="proposals" aria-label={format!("Leader's last entries in {}", g.group)}>
                    { for g.proposals.iter().map(|p| proposal_item(g, p)) }
                </ol>
            }
            <p class="small frames-line">
                { g.frames_text() }
                if let Some(q) = quorum_line { { " " }{ q } }
            </p>
            if !g.pubacks.is_empty() || acked.is_some() {
                <p class="small pubacks">
                    { for g.pubacks.iter().map(|a| html! {
                        <span class="puback-flight" data-seq={a.seq.to_string()}>
                            { format!("PubAck seq {} {} → {}{}. ", a.seq, a.from, a.to, if a.to_client { "" } else { " (route)" }) }
                        </span>
                    }) }
                    if let Some(v) = acked {
                        { for v.iter().map(|(at, c, seq, lat)| html! {
                            <span class="puback-done" data-seq={seq.to_string()}>
                                { format!("{c} got PubAck seq {seq} at {} ({} after publishing). ", jetsim_core::time::fmt_time(*at), jetsim_core::time::fmt_duration(*lat)) }
                            </span>
                        }) }
                    }
                </p>
            }
        </section>
    }
}

/// The groups the lens shows and how many more it leaves out (see
/// [`groups`]), or `None` when the scenario has no JetStream server (no lens).
pub fn lens_groups(world: &World) -> Option<(Vec<Group>, usize)> {
    world.servers.iter().any(|s| s.config.jetstream).then(|| groups(world))
}

/// Whether the groups span more than one cluster (meta groups are then
/// titled with their cluster).
pub fn multi_cluster(groups: &[Group]) -> bool {
    groups.iter().filter(|g| g.stream.is_none()).count() > 1
}

/// The lens panel around its groups' html (`parts`, one per group of
/// `groups`, in order: see [`group_html`]; the playground builds and keeps
/// them one by one, `Playground::lens_panel`).
pub fn lens_frame(groups: &[Group], more: usize, parts: Vec<Html>) -> Html {
    html! {
        <section class="panel lens" aria-labelledby="lens-h">
            <h2 id="lens-h" class="panel-title">{ "Raft lens" }</h2>
            <p class="muted small lens-help">
                { "Each Raft group: its members (role, term, vote), their logs (last, commit, applied; the leader's view of each follower's match), the leader's last entries with the acks counted as they arrive, and the Raft frames in flight. Strip: " }
                { legend_cell(Some(Cell { index: 1, term: 1, committed: true, applied: true, acks: None })) }{ " committed and applied, " }
                { legend_cell(Some(Cell { index: 1, term: 1, committed: true, applied: false, acks: None })) }{ " committed, " }
                { legend_cell(Some(Cell { index: 1, term: 1, committed: false, applied: false, acks: None })) }{ " not yet committed (on the leader: acks so far), " }
                { legend_cell(None) }{ " not in this log." }
            </p>
            if groups.is_empty() {
                <p class="muted">{ "No Raft group yet." }</p>
            }
            { for parts }
            if more > 0 {
                <p class="muted small">{ format!("{more} more stream{} not shown.", if more == 1 { "" } else { "s" }) }</p>
            }
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::examples;
    use jetsim_core::scenario;
    use jetsim_core::time::{MS, SEC};

    fn world(id: &str) -> World {
        let e = examples::find(id).expect("example");
        World::new(scenario::parse(e.text).expect("parses"), 1).expect("builds")
    }

    fn stream_group(w: &World) -> Group {
        groups(w).0.into_iter().find(|g| g.stream.as_deref() == Some("ORDERS")).expect("ORDERS group")
    }

    #[test]
    fn recent_keeps_the_last_quorum_and_three_acks_per_stream() {
        let mut r = Recent::default();
        r.note_quorum("G", 1, 5, vec!["n1".into(), "n2".into()]);
        r.note_quorum("G", 2, 6, vec!["n1".into(), "n3".into()]);
        assert_eq!(r.quorums.len(), 1);
        assert_eq!(r.quorum("G").map(|q| (q.1, q.2)), Some((2, 6)));
        for seq in 1..=5 {
            r.note_ack("S", (seq, "c1".into(), seq, 1000));
        }
        assert_eq!(r.acks("S").iter().map(|a| a.2).collect::<Vec<_>>(), vec![3, 4, 5]);
        assert!(r.acks("other").is_empty());
        for i in 0..RECENT_GROUPS + 5 {
            r.note_ack(&format!("T{i}"), (0, "c".into(), 1, 0));
        }
        assert_eq!(r.acks.len(), RECENT_GROUPS, "bounded");
    }

    #[test]
    fn puback_bodies_are_recognised() {
        let msg = Frame::Bytes((&b"MSG _INBOX.x.1 1 26\r\n{\"stream\":\"ORDERS\",\"seq\":17}\r\n"[..]).into());
        assert_eq!(puback_of(&msg), Some(("ORDERS".into(), 17)));
        let err = Frame::Bytes((&b"{\"error\":{\"code\":503},\"stream\":\"ORDERS\",\"seq\":0}"[..]).into());
        assert_eq!(puback_of(&err), None);
        assert_eq!(puback_of(&Frame::Bytes((&b"{\"stream\":\"A\",\"seq\":}"[..]).into())), None);
        assert_eq!(puback_of(&Frame::Open), None);
        let mut big = b"{\"stream\":\"ORDERS\",\"seq\":1}".to_vec();
        big.resize(MAX_PUBACK_FRAME + 1, b' ');
        assert_eq!(puback_of(&Frame::Bytes(big.into())), None, "big frames are not scanned");
    }

    #[test]
    fn r3_stream_has_a_leader_three_members_and_committed_entries() {
        let mut w = world("r3-publish");
        w.run_until(6 * SEC);
        let (gs, more) = groups(&w);
        assert_eq!(more, 0);
        assert_eq!(gs[0].group, META_GROUP);
        let g = stream_group(&w);
        assert!(g.group.starts_with("S-R3F-"), "{}", g.group);
        assert_eq!(g.members.len(), 3);
        assert_eq!(g.quorum, 2);
        let l = g.leader().expect("a leader");
        assert_eq!(Some(l.server), w.stream_leader("ORDERS"));
        assert_eq!(g.members.iter().filter(|m| m.role == MemberRole::Leader).count(), 1);
        assert!(l.commit.unwrap() >= 10, "{:?}", l.commit);
        // Every committed proposal had a quorum of acks.
        assert!(!g.proposals.is_empty());
        for p in &g.proposals {
            if p.committed {
                assert!(p.acks >= 2, "{p:?}");
            }
        }
        // Cells: committed on the leader up to its commit index.
        let c = l.cells.iter().flatten().filter(|c| c.committed).count() as u64;
        assert_eq!(c, l.commit.unwrap().min(WINDOW).min(g.last - g.first + 1));
        assert_eq!(g.last - g.first + 1, WINDOW.min(g.last));
    }

    #[test]
    fn acks_count_up_to_quorum_while_an_entry_is_replicated() {
        // Step event by event through publishes: an uncommitted entry on the
        // leader is seen with fewer acks than the quorum, and every
        // committed one with at least a quorum.
        let mut w = world("r3-publish");
        w.run_until(4 * SEC);
        let mut seen_pending = false;
        let mut seen_frames = false;
        let end = 5 * SEC;
        while w.now() < end {
            if w.step().is_none() {
                break;
            }
            let g = stream_group(&w);
            for p in &g.proposals {
                assert!(p.acks >= 1 && p.acks <= 3);
                if !p.committed && p.acks < g.quorum {
                    seen_pending = true;
                }
                if p.committed {
                    assert!(p.acks >= g.quorum || p.term < g.term, "{p:?}");
                }
            }
            seen_frames |= g.in_flight(RaftFrame::Append) > 0 && g.in_flight(RaftFrame::Ack) > 0;
        }
        assert!(seen_pending, "never saw an entry waiting for its quorum");
        assert!(seen_frames, "never saw AppendEntries and acks in flight together");
    }

    #[test]
    fn killed_leader_is_offline_and_a_new_leader_takes_over() {
        let mut w = world("r3-publish");
        w.run_until(5 * SEC);
        let old = stream_group(&w);
        let old_leader = old.leader().unwrap().clone();
        w.kill(old_leader.server);
        let g = stream_group(&w);
        let m = g.members.iter().find(|m| m.server == old_leader.server).unwrap();
        assert_eq!(m.role, MemberRole::Offline);
        assert_eq!(m.commit, None);
        assert!(m.last >= old_leader.commit.unwrap(), "its disk keeps the log");
        w.run_until(w.now() + 3 * SEC);
        let g = stream_group(&w);
        let l = g.leader().expect("a new leader");
        assert_ne!(l.server, old_leader.server);
        assert!(l.term > old_leader.term);
        assert_eq!(l.votes.map(|v| v >= 2), Some(true), "won with a quorum of votes");
    }

    #[test]
    fn candidates_show_their_votes() {
        // Isolate the stream leader's two followers from each other and the
        // leader: each campaigns alone and holds only its own vote.
        let mut w = world("r3-publish");
        w.run_until(5 * SEC);
        let g = stream_group(&w);
        let leader = g.leader().unwrap().server;
        for m in &g.members {
            if m.server != leader {
                w.apply_fault(&scenario::Fault::Isolate(m.name.clone()));
            }
        }
        let mut saw = false;
        let end = w.now() + 5 * SEC;
        while w.now() < end && !saw {
            w.run_until(w.now() + 10 * MS);
            let g = stream_group(&w);
            if let Some(c) = g.members.iter().find(|m| m.role == MemberRole::Candidate) {
                assert_eq!(c.votes, Some(1));
                assert!(g.elections().iter().any(|e| e.contains("votes 1/3, needs 2")), "{:?}", g.elections());
                saw = true;
            }
        }
        assert!(saw, "no candidate seen");
    }

    #[test]
    fn strip_plan_draws_each_cell_once_by_kind() {
        let cell = |index, committed, applied, acks| Some(Cell { index, term: 1, committed, applied, acks });
        let cells = [
            None,
            cell(1, true, true, None),
            cell(2, true, false, None),
            cell(3, false, false, Some(2)),
            cell(4, false, false, None),
        ];
        let p = strip_plan(&cells);
        let count = |d: &str| d.matches('M').count();
        assert_eq!(CELL_KINDS, ["none", "uncommitted", "uncommitted pending", "committed"]);
        assert_eq!([count(&p.d[0]), count(&p.d[1]), count(&p.d[2]), count(&p.d[3])], [1, 1, 1, 2]);
        assert_eq!((p.committed, p.uncommitted, p.applied_n), (2, 2, 1));
        assert_eq!(count(&p.applied), 1);
        // Cells sit side by side: the second committed cell is the third cell.
        assert!(p.d[3].contains(&format!("M{} 0.75", 2.0 * (CELL_W + CELL_GAP) + 0.75)), "{}", p.d[3]);
        assert_eq!(p.labels, vec![(3.0 * (CELL_W + CELL_GAP) + 0.75 + CELL_W / 2.0, 2)]);
        assert_eq!(p.width, 5.0 * CELL_W + 4.0 * CELL_GAP + 1.5, "0.75 of margin on both sides");
        assert_eq!(strip_plan(&[]), StripPlan { width: 1.5, ..StripPlan::default() });
    }

    #[test]
    fn meta_groups_of_two_clusters_have_distinct_keys() {
        let text = "jetsim 1\nname \"two clusters\"\nseed 1\nuntil 10s\ncluster east\ncluster west\n\
            server a1 cluster=east jetstream=true\nserver a2 cluster=east jetstream=true\nserver a3 cluster=east jetstream=true\n\
            server b1 cluster=west jetstream=true\nserver b2 cluster=west jetstream=true\nserver b3 cluster=west jetstream=true\n";
        let w = World::new(scenario::parse(text).expect("parses"), 1).expect("builds");
        let (gs, _) = groups(&w);
        let metas: Vec<&Group> = gs.iter().filter(|g| g.stream.is_none()).collect();
        assert_eq!(metas.len(), 2);
        assert!(multi_cluster(&gs));
        assert_eq!(metas[0].group, metas[1].group, "one meta group name per cluster");
        let mut keys: Vec<String> = gs.iter().map(Group::key).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), gs.len(), "keys unique: {keys:?}");
    }

    #[test]
    fn consumer_groups_are_listed_under_their_stream() {
        let mut w = world("pull-consumer");
        w.run_until(5 * SEC);
        let (gs, _) = groups(&w);
        let titles: Vec<&str> = gs.iter().filter_map(|g| g.stream.as_deref()).collect();
        assert_eq!(titles, ["JOBS", "JOBS \u{203a} workers"]);
        let c = &gs[gs.len() - 1];
        assert!(c.group.starts_with("C-R3F-"), "{}", c.group);
        assert_eq!(c.members.len(), 3);
        assert!(c.leader().is_some());
        assert!(c.last > 0, "the consumer group's log has entries");
    }
}
