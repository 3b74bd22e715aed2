//! The Raft state machine: inputs in, [`Output`] out.

use std::fmt::Debug;

use crate::config::Config;
use crate::invariants::NodeView;
use crate::msg::{Entry, Msg, Payload};
use crate::output::{IgnoreReason, Output, RaftEvent, StepDownReason};
use crate::storage::Storage;
use crate::{uniform, Entropy, Index, NodeId, Term};

/// The role of a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Follows a leader (or waits for one).
    Follower,
    /// Asks for votes.
    Candidate,
    /// Leads its term.
    Leader,
}

/// Returned by [`Raft::propose`] and [`Raft::step_down`] on a non-leader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotLeader {
    /// The leader this node currently follows, if it knows one.
    pub leader_hint: Option<NodeId>,
}

/// The leader's view of one follower (see [`Raft::progress`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerProgress {
    /// The follower.
    pub id: NodeId,
    /// Highest index known to be replicated on it.
    pub match_index: Index,
    /// Next index the leader will send.
    pub next_index: Index,
    /// Probing: the leader is looking for the point where the logs agree
    /// (after a rejection or at the start of a term) and sends one batch at a
    /// time; otherwise it pipelines.
    pub probing: bool,
    /// When the leader last heard from it in this leadership (None: not yet).
    pub last_heard: Option<u64>,
}

#[derive(Clone, Debug)]
struct Progress {
    id: NodeId,
    next: Index,
    matched: Index,
    probing: bool,
    last_heard: Option<u64>,
    /// Since when entries beyond `matched` have been outstanding (stall check).
    unacked_since: Option<u64>,
    /// Highest commit index this follower can have learned from what we sent
    /// (`min(commit, prev_index + entries)` of our AppendEntries).
    commit_sent: Index,
}

impl Progress {
    fn new(id: NodeId) -> Progress {
        Progress { id, next: 1, matched: 0, probing: true, last_heard: None, unacked_since: None, commit_sent: 0 }
    }
}

/// A generic Raft node (see the crate docs for the model).
#[derive(Clone, Debug)]
pub struct Raft<E> {
    id: NodeId,
    peers: Vec<NodeId>,
    quorum: usize,
    config: Config,
    storage: Storage<E>,
    role: Role,
    leader: Option<NodeId>,
    commit: Index,
    applied: Index,
    election_deadline: Option<u64>,
    /// Chosen as leader-transfer target: AppendEntries do not push the
    /// election deadline back (nats `lxfer`).
    lxfer: bool,
    votes: Vec<NodeId>,
    /// Other members, sorted by id.
    progress: Vec<Progress>,
    heartbeat_due: Option<u64>,
    quorum_check_due: Option<u64>,
    last_active: u64,
    noop_index: Index,
    ready: bool,
    leader_since: Option<u64>,
    last_heard_leader: Option<u64>,
    incarnation: u64,
    scratch: Vec<Index>,
}

impl<E: Clone + Debug> Raft<E> {
    /// Starts (or restarts) node `id` of the group `peers` (which should
    /// include `id`; it is added if missing; duplicates are removed) from
    /// `storage`. The node starts as a follower with commit index 0 (the
    /// commit index is volatile and is re-learned from the leader) and an
    /// election deadline: a random election timeout, or `campaign_min / 2`
    /// if it is the configured preferred leader of a brand-new group (term 0).
    /// The returned output carries `next_wakeup`.
    pub fn new(
        id: NodeId,
        peers: Vec<NodeId>,
        config: Config,
        storage: Storage<E>,
        now: u64,
        rng: &mut dyn Entropy,
    ) -> (Raft<E>, Output<E>) {
        let mut peers = peers;
        peers.push(id);
        crate::sort::sort(&mut peers);
        peers.dedup();
        let quorum = peers.len() / 2 + 1;
        let progress = peers.iter().filter(|&&p| p != id).map(|&p| Progress::new(p)).collect();
        let mut storage = storage;
        // A term in the log above the stored term can only come from a lazily
        // synced hard state; never run behind our own log.
        if storage.last_term() > storage.term() {
            let t = storage.last_term();
            storage.set_hard_state(t, None);
        }
        storage.schedule_sync(now);
        let mut r = Raft {
            id,
            peers,
            quorum,
            config,
            storage,
            role: Role::Follower,
            leader: None,
            commit: 0,
            applied: 0,
            election_deadline: None,
            lxfer: false,
            votes: Vec::new(),
            progress,
            heartbeat_due: None,
            quorum_check_due: None,
            last_active: now,
            noop_index: 0,
            ready: false,
            leader_since: None,
            last_heard_leader: None,
            incarnation: rng.next_u64(),
            scratch: Vec::new(),
        };
        let deadline = if r.config.preferred_leader == Some(id) && r.storage.term() == 0 {
            now.saturating_add(r.config.campaign_min / 2)
        } else {
            now.saturating_add(r.rand_election(rng))
        };
        r.election_deadline = Some(deadline);
        let mut out = Output::new();
        r.finish(&mut out);
        (r, out)
    }

    // ---- queries --------------------------------------------------------------

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }
    /// All members (sorted, including this node).
    pub fn peers(&self) -> &[NodeId] {
        &self.peers
    }
    /// Votes/acks needed: `members / 2 + 1`.
    pub fn quorum_size(&self) -> usize {
        self.quorum
    }
    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }
    /// Current role.
    pub fn role(&self) -> Role {
        self.role
    }
    /// Whether this node is leader.
    pub fn is_leader(&self) -> bool {
        self.role == Role::Leader
    }
    /// Whether this node is leader and its no-op of this term has committed
    /// (see [`RaftEvent::LeaderReady`]).
    pub fn is_leader_ready(&self) -> bool {
        self.role == Role::Leader && self.ready
    }
    /// Current term.
    pub fn term(&self) -> Term {
        self.storage.term()
    }
    /// Vote cast in the current term.
    pub fn voted_for(&self) -> Option<NodeId> {
        self.storage.vote()
    }
    /// The leader this node believes in (itself when leader).
    pub fn leader(&self) -> Option<NodeId> {
        self.leader
    }
    /// When this node became leader (None unless leader).
    pub fn leader_since(&self) -> Option<u64> {
        self.leader_since
    }
    /// When a follower last accepted a message from its leader.
    pub fn last_heard_from_leader(&self) -> Option<u64> {
        self.last_heard_leader
    }
    /// Commit index known to this node (volatile).
    pub fn commit_index(&self) -> Index {
        self.commit
    }
    /// Highest index emitted in [`Output::committed`] (or set by
    /// [`Raft::set_applied`]).
    pub fn applied_index(&self) -> Index {
        self.applied
    }
    /// Index of the last log entry.
    pub fn last_index(&self) -> Index {
        self.storage.last_index()
    }
    /// Term of the last log entry.
    pub fn last_term(&self) -> Term {
        self.storage.last_term()
    }
    /// The log; `log()[i]` has index `i + 1`.
    pub fn log(&self) -> &[Entry<E>] {
        self.storage.entries()
    }
    /// Entry at `index`, if present.
    pub fn entry(&self, index: Index) -> Option<&Entry<E>> {
        if index == 0 || index > self.last_index() {
            return None;
        }
        self.storage.entries().get((index - 1) as usize)
    }
    /// Whether `index` is in the log and committed (as far as this node knows).
    pub fn is_committed(&self, index: Index) -> bool {
        index >= 1 && index <= self.commit
    }
    /// Whether entry `index` of the current log survives a power loss.
    pub fn is_durable(&self, index: Index) -> bool {
        index >= 1 && index <= self.storage.durable_len()
    }
    /// `(index, term, committed, durable)` for entries `from..=to` present in
    /// the log, for the UI.
    pub fn log_summary(&self, from: Index, to: Index) -> Vec<(Index, Term, bool, bool)> {
        let from = from.max(1);
        let to = to.min(self.last_index());
        if from > to {
            return Vec::new();
        }
        let durable = self.storage.durable_len();
        self.storage.entries()[(from - 1) as usize..to as usize]
            .iter()
            .map(|e| (e.index, e.term, e.index <= self.commit, e.index <= durable))
            .collect()
    }
    /// The storage (log, term, vote, durable image).
    pub fn storage(&self) -> &Storage<E> {
        &self.storage
    }
    /// Consumes the node, returning its storage (to model a crash:
    /// `raft.into_storage().after_crash()`).
    pub fn into_storage(self) -> Storage<E> {
        self.storage
    }
    /// Per-follower replication state; empty unless leader. The caller can
    /// derive nats' `cluster.replicas` fields from it: `current` (match ==
    /// leader's last index), `lag` (last index − match) and `active`
    /// (now − last heard).
    pub fn progress(&self) -> Vec<PeerProgress> {
        if self.role != Role::Leader {
            return Vec::new();
        }
        self.progress
            .iter()
            .map(|p| PeerProgress {
                id: p.id,
                match_index: p.matched,
                next_index: p.next,
                probing: p.probing,
                last_heard: p.last_heard,
            })
            .collect()
    }
    /// Random id of this instance (changes on every [`Raft::new`]); the
    /// invariant checker uses it to recognise restarts.
    pub fn incarnation(&self) -> u64 {
        self.incarnation
    }
    /// When the node next needs [`Raft::on_timer`].
    pub fn next_wakeup(&self) -> Option<u64> {
        let mut w = self.storage.next_sync();
        let mut take = |t: Option<u64>| {
            if let Some(t) = t {
                w = Some(w.map_or(t, |x| x.min(t)));
            }
        };
        if self.role == Role::Leader {
            take(self.heartbeat_due);
            take(self.quorum_check_due);
        } else {
            take(self.election_deadline);
        }
        w
    }
    /// The node's state for [`crate::invariants::Checker`].
    pub fn view(&self) -> NodeView<'_, E> {
        NodeView {
            id: self.id,
            incarnation: self.incarnation,
            role: self.role,
            term: self.storage.term(),
            commit: self.commit,
            applied: self.applied,
            durable_len: self.storage.durable_len(),
            entries: self.storage.entries(),
            chains: self.storage.chains(),
        }
    }

    // ---- inputs ---------------------------------------------------------------

    /// Declares that the upper layer already applied everything up to `index`
    /// (e.g. its state survived a restart): those entries will not be emitted
    /// in [`Output::committed`]. Only raises the applied index.
    pub fn set_applied(&mut self, index: Index) {
        self.applied = self.applied.max(index);
    }

    /// Handles every timer that is due at `now`: interval sync, election
    /// timeout (follower/candidate), lost-quorum check and heartbeat (leader).
    /// Calling it early is harmless. `now` must not go backwards.
    pub fn on_timer(&mut self, now: u64, rng: &mut dyn Entropy, out: &mut Output<E>) {
        if let Some(true) = self.storage.maybe_sync(now) {
            out.events.push(RaftEvent::Synced { durable_index: self.storage.durable_len() });
        }
        match self.role {
            Role::Leader => {
                if self.quorum_check_due.is_some_and(|t| t <= now) {
                    if self.lost_quorum(now) {
                        self.step_down_to_follower(now, StepDownReason::LostQuorum, rng, out);
                        self.finish(out);
                        return;
                    }
                    self.quorum_check_due = Some(tick_after(self.quorum_check_due, self.config.lost_quorum_check, now));
                }
                if self.heartbeat_due.is_some_and(|t| t <= now) {
                    self.heartbeat(now, out);
                    self.heartbeat_due = Some(tick_after(self.heartbeat_due, self.config.heartbeat, now));
                }
            }
            Role::Follower | Role::Candidate => {
                if self.election_deadline.is_some_and(|t| t <= now) {
                    self.become_candidate(now, rng, out);
                }
            }
        }
        self.finish(out);
    }

    /// Alias of [`Raft::on_timer`].
    pub fn tick(&mut self, now: u64, rng: &mut dyn Entropy, out: &mut Output<E>) {
        self.on_timer(now, rng, out)
    }

    /// Forces a storage sync now (nats: a filestore flush).
    pub fn sync(&mut self, out: &mut Output<E>) {
        if self.storage.sync() {
            out.events.push(RaftEvent::Synced { durable_index: self.storage.durable_len() });
        }
        self.finish(out);
    }

    /// Asks this node to campaign after a random campaign timeout (nats
    /// `Campaign`, used when bootstrapping the meta group). No-op on a leader.
    pub fn campaign(&mut self, now: u64, rng: &mut dyn Entropy, out: &mut Output<E>) {
        if self.role != Role::Leader {
            let d = uniform(rng, self.config.campaign_min, self.config.campaign_max);
            self.election_deadline = Some(now.saturating_add(d));
        }
        self.finish(out);
    }

    /// Asks this node to campaign after `campaign_min / 2` (nats
    /// `CampaignImmediately`, used for a new group's preferred leader).
    pub fn campaign_immediately(&mut self, now: u64, out: &mut Output<E>) {
        if self.role != Role::Leader {
            self.election_deadline = Some(now.saturating_add(self.config.campaign_min / 2));
        }
        self.finish(out);
    }

    /// Appends `data` to the leader's log and replicates it. Returns its index.
    pub fn propose(&mut self, now: u64, data: E, out: &mut Output<E>) -> Result<Index, NotLeader> {
        if self.role != Role::Leader {
            return Err(NotLeader { leader_hint: self.leader });
        }
        let index = self.append_local(now, Payload::Normal(data));
        self.replicate(now, out);
        self.maybe_commit(now, out);
        self.finish(out);
        Ok(index)
    }

    /// Appends several entries and replicates them together (one
    /// AppendEntries per follower per `max_batch_entries`). Returns the index
    /// range `(first, last)`; `first > last` if `data` was empty.
    pub fn propose_batch(&mut self, now: u64, data: Vec<E>, out: &mut Output<E>) -> Result<(Index, Index), NotLeader> {
        if self.role != Role::Leader {
            return Err(NotLeader { leader_hint: self.leader });
        }
        let first = self.last_index() + 1;
        for d in data {
            self.append_local(now, Payload::Normal(d));
        }
        let last = self.last_index();
        if last >= first {
            self.replicate(now, out);
            self.maybe_commit(now, out);
        }
        self.finish(out);
        Ok((first, last))
    }

    /// Replaces the member set at once (no joint consensus), for a stream
    /// scale up/down decided by an outer, already replicated layer (nats: the
    /// meta group's new peer set, `UpdateKnownPeers`). `id` stays a member.
    /// Kept peers keep their progress; a leader probes added peers from its
    /// log end (they are caught up entry by entry) and recomputes its commit
    /// index with the new quorum. Safe only when no two disjoint majorities can
    /// form during the change: the caller keeps added, empty members from
    /// campaigning until they heard from the leader.
    pub fn set_peers(&mut self, now: u64, peers: Vec<NodeId>, out: &mut Output<E>) {
        let mut peers = peers;
        peers.push(self.id);
        crate::sort::sort(&mut peers);
        peers.dedup();
        let mut progress: Vec<Progress> = Vec::with_capacity(peers.len());
        for &p in peers.iter().filter(|&&p| p != self.id) {
            match self.progress.iter().position(|x| x.id == p) {
                Some(i) => progress.push(self.progress[i].clone()),
                None => {
                    // Probe from the start: an added member is usually empty.
                    // Counted as heard now (nats `addPeer` stamps the time),
                    // so a quorum check right after the change does not
                    // depose the leader before the new member could answer.
                    let mut np = Progress::new(p);
                    np.last_heard = Some(now);
                    progress.push(np);
                }
            }
        }
        self.quorum = peers.len() / 2 + 1;
        self.peers = peers;
        self.progress = progress;
        self.votes.retain(|v| self.peers.binary_search(v).is_ok());
        if self.role == Role::Leader {
            for i in 0..self.progress.len() {
                if self.progress[i].probing && self.progress[i].matched == 0 {
                    self.send_batch(i, now, out);
                }
            }
            self.maybe_commit(now, out);
        }
        self.finish(out);
    }

    /// Replaces the timing configuration (e.g. a member that was kept from
    /// campaigning while it caught up gets the normal timings). Volatile
    /// state (role, leader, commit) is kept; a follower or candidate draws a
    /// new election deadline under the new timings.
    pub fn set_config(&mut self, now: u64, config: Config, rng: &mut dyn Entropy, out: &mut Output<E>) {
        self.config = config;
        if self.role != Role::Leader {
            self.election_deadline = Some(now.saturating_add(self.rand_election(rng)));
        }
        self.finish(out);
    }

    /// Leader step-down, optionally transferring leadership (nats `StepDown`).
    /// The target is `preferred` if it is a member heard from within
    /// `healthy_window`, otherwise the healthy follower with the highest match
    /// index (lowest id on ties); nats picks the first healthy peer in map
    /// order. The leader first sends the target any entries it has not sent
    /// yet, then [`Msg::TimeoutNow`], and becomes a follower with a fresh
    /// election timeout. Returns the chosen target.
    pub fn step_down(
        &mut self,
        now: u64,
        preferred: Option<NodeId>,
        rng: &mut dyn Entropy,
        out: &mut Output<E>,
    ) -> Result<Option<NodeId>, NotLeader> {
        if self.role != Role::Leader {
            return Err(NotLeader { leader_hint: self.leader });
        }
        let window = self.config.healthy_window;
        let healthy = |p: &Progress| p.last_heard.is_some_and(|t| now.saturating_sub(t) < window);
        let mut target = preferred
            .filter(|&p| p != self.id)
            .and_then(|p| self.progress.iter().position(|x| x.id == p))
            .filter(|&i| healthy(&self.progress[i]));
        if target.is_none() {
            let mut best: Option<usize> = None;
            for (i, p) in self.progress.iter().enumerate() {
                if healthy(p) && best.is_none_or(|b| p.matched > self.progress[b].matched) {
                    best = Some(i);
                }
            }
            target = best;
        }
        let chosen = target.map(|i| self.progress[i].id);
        if let Some(i) = target {
            if !self.progress[i].probing && self.progress[i].next <= self.last_index() {
                self.send_batch(i, now, out);
            }
            let term = self.term();
            out.sends.push((self.progress[i].id, Msg::TimeoutNow { term, leader: self.id }));
            out.events.push(RaftEvent::LeaderTransfer { to: self.progress[i].id, term });
        }
        self.step_down_to_follower(now, StepDownReason::Requested, rng, out);
        self.finish(out);
        Ok(chosen)
    }

    /// Handles a message from `from`. Never panics; invalid or stale messages
    /// are ignored (with an [`RaftEvent::Ignored`] event).
    pub fn on_message(&mut self, now: u64, from: NodeId, msg: Msg<E>, rng: &mut dyn Entropy, out: &mut Output<E>) {
        if from == self.id || self.peers.binary_search(&from).is_err() {
            self.ignore(out, from, &msg, IgnoreReason::UnknownPeer);
            self.finish(out);
            return;
        }
        match msg {
            Msg::AppendEntries { term, leader, prev_index, prev_term, entries, commit } => {
                self.on_append(now, from, term, leader, prev_index, prev_term, entries, commit, rng, out)
            }
            Msg::AppendResponse { term, success, prev_index, index, hint_term } => {
                self.on_append_response(now, from, term, success, prev_index, index, hint_term, rng, out)
            }
            Msg::RequestVote { term, candidate, last_index, last_term } => {
                self.on_request_vote(now, from, term, candidate, last_index, last_term, rng, out)
            }
            Msg::VoteResponse { term, granted } => self.on_vote_response(now, from, term, granted, rng, out),
            Msg::TimeoutNow { term, leader } => self.on_timeout_now(now, from, term, leader, rng, out),
        }
        self.finish(out);
    }

    // ---- message handlers -------------------------------------------------------

    #[allow(clippy::too_many_arguments)]
    fn on_append(
        &mut self,
        now: u64,
        from: NodeId,
        term: Term,
        leader: NodeId,
        prev_index: Index,
        prev_term: Term,
        entries: Vec<Entry<E>>,
        leader_commit: Index,
        rng: &mut dyn Entropy,
        out: &mut Output<E>,
    ) {
        const KIND: &str = "ae";
        if leader != from {
            return self.ignore_kind(out, from, KIND, IgnoreReason::Malformed("leader != sender"));
        }
        if let Err(why) = validate_entries(term, prev_index, prev_term, &entries) {
            return self.ignore_kind(out, from, KIND, IgnoreReason::Malformed(why));
        }
        let my_term = self.term();
        if term < my_term {
            // Tell the stale leader about the newer term (it will step down).
            out.sends.push((
                from,
                Msg::AppendResponse {
                    term: my_term,
                    success: false,
                    prev_index,
                    index: self.last_index(),
                    hint_term: self.last_term(),
                },
            ));
            return self.ignore_kind(out, from, KIND, IgnoreReason::StaleTerm);
        }
        if term > my_term {
            self.adopt_term(now, term, Some(from), rng, out);
        } else {
            match self.role {
                Role::Leader => return self.ignore_kind(out, from, KIND, IgnoreReason::SameTermLeader),
                Role::Candidate => self.become_follower(now, Some(from), rng, out),
                Role::Follower => {
                    if self.leader != Some(from) {
                        self.leader = Some(from);
                        out.events.push(RaftEvent::BecameFollower { term, leader: Some(from) });
                    }
                }
            }
        }
        self.last_heard_leader = Some(now);
        if !self.lxfer {
            self.election_deadline = Some(now.saturating_add(self.rand_election(rng)));
        }

        // Log consistency check (Raft §5.3).
        let last = self.last_index();
        if prev_index > last || self.term_at(prev_index) != Some(prev_term) {
            let upto = prev_index.min(last);
            let hint = self.last_index_with_term_at_most(upto, prev_term);
            let hint_term = self.term_at(hint).unwrap_or(0);
            out.sends.push((from, Msg::AppendResponse { term, success: false, prev_index, index: hint, hint_term }));
            return;
        }
        // Skip entries we already have; truncate at the first conflict.
        let mut start = entries.len();
        for (k, e) in entries.iter().enumerate() {
            if e.index > last {
                start = k;
                break;
            }
            if self.term_at(e.index) != Some(e.term) {
                if e.index <= self.commit {
                    return self.ignore_kind(out, from, KIND, IgnoreReason::WouldTruncateCommitted { index: e.index });
                }
                self.storage.truncate_from(e.index);
                out.events.push(RaftEvent::Truncated { from_index: e.index, old_last: last });
                start = k;
                break;
            }
        }
        if start < entries.len() {
            self.storage.append_slice(&entries[start..]);
        }
        let matched = prev_index + entries.len() as u64;
        let new_commit = leader_commit.min(matched);
        if new_commit > self.commit {
            self.advance_commit(new_commit, out);
        }
        out.sends.push((from, Msg::AppendResponse { term, success: true, prev_index, index: matched, hint_term: 0 }));
    }

    #[allow(clippy::too_many_arguments)]
    fn on_append_response(
        &mut self,
        now: u64,
        from: NodeId,
        term: Term,
        success: bool,
        prev_index: Index,
        index: Index,
        hint_term: Term,
        rng: &mut dyn Entropy,
        out: &mut Output<E>,
    ) {
        const KIND: &str = "ae_resp";
        if term > self.term() {
            self.adopt_term(now, term, None, rng, out);
            return;
        }
        if term < self.term() {
            return self.ignore_kind(out, from, KIND, IgnoreReason::StaleTerm);
        }
        if self.role != Role::Leader {
            return self.ignore_kind(out, from, KIND, IgnoreReason::Stale);
        }
        let Some(pi) = self.progress.iter().position(|p| p.id == from) else {
            return self.ignore_kind(out, from, KIND, IgnoreReason::UnknownPeer);
        };
        let last = self.last_index();
        self.progress[pi].last_heard = Some(now);
        if success {
            if index > last || index < prev_index {
                return self.ignore_kind(out, from, KIND, IgnoreReason::Malformed("match index out of range"));
            }
            let p = &mut self.progress[pi];
            let advanced = index > p.matched;
            if advanced {
                p.matched = index;
            }
            if p.next <= index {
                p.next = index + 1;
            }
            p.probing = false;
            if p.matched + 1 >= p.next {
                p.unacked_since = None;
            } else if advanced || p.unacked_since.is_none() {
                // Progress: the remaining outstanding entries were sent no
                // earlier than now minus one round trip; restart the clock.
                p.unacked_since = Some(now);
            }
            self.maybe_commit(now, out);
            // Keep a lagging follower moving (top up the catch-up window), or
            // tell it about a commit it could not learn yet because its ack
            // came after the commit notification.
            if self.role == Role::Leader {
                let last = self.last_index();
                let window = (self.config.catchup_window.max(1) as u64)
                    .saturating_mul(self.config.max_batch_entries.max(1) as u64);
                let p = &self.progress[pi];
                if p.next <= last {
                    while self.progress[pi].next <= last
                        && self.progress[pi].next.saturating_sub(1 + self.progress[pi].matched) < window
                    {
                        self.send_batch(pi, now, out);
                    }
                } else if self.config.commit_notify && self.commit.min(p.matched) > p.commit_sent {
                    self.send_heartbeat(pi, out);
                }
            }
        } else {
            if prev_index == 0 || prev_index > last {
                return self.ignore_kind(out, from, KIND, IgnoreReason::Malformed("rejected prev_index out of range"));
            }
            let p = &self.progress[pi];
            if prev_index < p.matched || (p.probing && prev_index + 1 != p.next) {
                return self.ignore_kind(out, from, KIND, IgnoreReason::Stale);
            }
            // Leader-side refinement of the follower's hint.
            let h = index.min(last);
            let j = self.last_index_with_term_at_most(h, hint_term);
            let new_next = (j + 1).min(prev_index).max(1);
            let p = &mut self.progress[pi];
            p.next = new_next;
            if p.matched >= new_next {
                // The follower lost entries it had acknowledged (memory store
                // or power loss with lazy sync).
                p.matched = new_next - 1;
            }
            p.probing = true;
            p.unacked_since = None;
            self.send_batch(pi, now, out);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn on_request_vote(
        &mut self,
        now: u64,
        from: NodeId,
        term: Term,
        candidate: NodeId,
        last_index: Index,
        last_term: Term,
        rng: &mut dyn Entropy,
        out: &mut Output<E>,
    ) {
        const KIND: &str = "vote";
        if candidate != from {
            return self.ignore_kind(out, from, KIND, IgnoreReason::Malformed("candidate != sender"));
        }
        if last_term > term || (last_index == 0) != (last_term == 0) {
            return self.ignore_kind(out, from, KIND, IgnoreReason::Malformed("inconsistent last entry"));
        }
        if term < self.term() {
            out.sends.push((from, Msg::VoteResponse { term: self.term(), granted: false }));
            return self.ignore_kind(out, from, KIND, IgnoreReason::StaleTerm);
        }
        if term > self.term() {
            self.adopt_term(now, term, None, rng, out);
        }
        let vote = self.storage.vote();
        let vote_ok = vote.is_none() || vote == Some(from);
        let (my_last_index, my_last_term) = (self.last_index(), self.last_term());
        let up_to_date = last_term > my_last_term || (last_term == my_last_term && last_index >= my_last_index);
        let granted = vote_ok && up_to_date;
        if granted {
            // Durable before the answer is sent (see Storage).
            self.storage.set_hard_state(term, Some(from));
            self.election_deadline = Some(now.saturating_add(self.rand_election(rng)));
            out.events.push(RaftEvent::VoteGranted { to: from, term });
        } else {
            if vote.is_none() && self.role != Role::Candidate {
                // Our log is better and we have not voted: campaign soon
                // ourselves (nats processVoteRequest).
                let d = uniform(rng, self.config.campaign_min, self.config.campaign_max);
                self.election_deadline = Some(now.saturating_add(d));
            }
            out.events.push(RaftEvent::VoteDenied { to: from, term });
        }
        out.sends.push((from, Msg::VoteResponse { term: self.term(), granted }));
    }

    fn on_vote_response(
        &mut self,
        now: u64,
        from: NodeId,
        term: Term,
        granted: bool,
        rng: &mut dyn Entropy,
        out: &mut Output<E>,
    ) {
        const KIND: &str = "vote_resp";
        if term > self.term() {
            self.adopt_term(now, term, None, rng, out);
            return;
        }
        if term < self.term() {
            return self.ignore_kind(out, from, KIND, IgnoreReason::StaleTerm);
        }
        if !granted {
            return;
        }
        if let Some(p) = self.progress.iter_mut().find(|p| p.id == from) {
            p.last_heard = Some(now);
        }
        if self.role != Role::Candidate {
            return;
        }
        if !self.votes.contains(&from) {
            self.votes.push(from);
            out.events.push(RaftEvent::VoteReceived { from, term });
        }
        if self.votes.len() >= self.quorum {
            self.become_leader(now, out);
        }
    }

    fn on_timeout_now(
        &mut self,
        now: u64,
        from: NodeId,
        term: Term,
        leader: NodeId,
        rng: &mut dyn Entropy,
        out: &mut Output<E>,
    ) {
        const KIND: &str = "timeout_now";
        if leader != from {
            return self.ignore_kind(out, from, KIND, IgnoreReason::Malformed("leader != sender"));
        }
        if term < self.term() {
            return self.ignore_kind(out, from, KIND, IgnoreReason::StaleTerm);
        }
        if term > self.term() {
            self.adopt_term(now, term, Some(from), rng, out);
        } else {
            match self.role {
                Role::Leader => return self.ignore_kind(out, from, KIND, IgnoreReason::SameTermLeader),
                Role::Candidate => self.become_follower(now, Some(from), rng, out),
                Role::Follower => {}
            }
        }
        self.lxfer = true;
        self.election_deadline = Some(now.saturating_add(self.config.transfer_campaign));
        out.events.push(RaftEvent::TransferRequested { from, term });
    }

    // ---- role changes -----------------------------------------------------------

    /// Moves to a higher term as a follower of `leader` (vote cleared).
    fn adopt_term(&mut self, now: u64, term: Term, leader: Option<NodeId>, rng: &mut dyn Entropy, out: &mut Output<E>) {
        let old = self.term();
        self.storage.set_hard_state(term, None);
        match self.role {
            Role::Leader => {
                out.events.push(RaftEvent::SteppedDown { term: old, reason: StepDownReason::HigherTerm });
                self.become_follower(now, leader, rng, out);
            }
            Role::Candidate => self.become_follower(now, leader, rng, out),
            Role::Follower => {
                // nats keeps a follower's election timer when it only learns
                // a higher term.
                self.leader = leader;
                self.lxfer = false;
                out.events.push(RaftEvent::BecameFollower { term, leader });
            }
        }
    }

    fn become_follower(&mut self, now: u64, leader: Option<NodeId>, rng: &mut dyn Entropy, out: &mut Output<E>) {
        self.role = Role::Follower;
        self.leader = leader;
        self.lxfer = false;
        self.votes.clear();
        self.heartbeat_due = None;
        self.quorum_check_due = None;
        self.ready = false;
        self.leader_since = None;
        self.election_deadline = Some(now.saturating_add(self.rand_election(rng)));
        out.events.push(RaftEvent::BecameFollower { term: self.term(), leader });
    }

    fn step_down_to_follower(&mut self, now: u64, reason: StepDownReason, rng: &mut dyn Entropy, out: &mut Output<E>) {
        out.events.push(RaftEvent::SteppedDown { term: self.term(), reason });
        self.become_follower(now, None, rng, out);
    }

    fn become_candidate(&mut self, now: u64, rng: &mut dyn Entropy, out: &mut Output<E>) {
        let term = self.term() + 1;
        // The self-vote is durable before any request goes out.
        self.storage.set_hard_state(term, Some(self.id));
        self.role = Role::Candidate;
        self.leader = None;
        self.votes.clear();
        self.votes.push(self.id);
        for p in &mut self.progress {
            p.last_heard = None;
        }
        self.election_deadline = Some(now.saturating_add(self.rand_election(rng)));
        out.events.push(RaftEvent::BecameCandidate { term });
        if self.votes.len() >= self.quorum {
            self.become_leader(now, out);
            return;
        }
        let (last_index, last_term) = (self.last_index(), self.last_term());
        for p in &self.progress {
            out.sends.push((p.id, Msg::RequestVote { term, candidate: self.id, last_index, last_term }));
        }
    }

    fn become_leader(&mut self, now: u64, out: &mut Output<E>) {
        self.role = Role::Leader;
        self.leader = Some(self.id);
        self.lxfer = false;
        self.election_deadline = None;
        self.leader_since = Some(now);
        self.ready = false;
        let next = self.last_index() + 1;
        for p in &mut self.progress {
            p.next = next;
            p.matched = 0;
            p.probing = true;
            p.unacked_since = None;
            p.commit_sent = 0;
        }
        self.heartbeat_due = Some(now.saturating_add(self.config.heartbeat));
        self.quorum_check_due = Some(now.saturating_add(self.config.lost_quorum_check));
        out.events.push(RaftEvent::BecameLeader { term: self.term() });
        self.noop_index = self.append_local(now, Payload::Noop);
        for i in 0..self.progress.len() {
            self.send_batch(i, now, out);
        }
        self.maybe_commit(now, out);
    }

    // ---- leader machinery -------------------------------------------------------

    fn append_local(&mut self, now: u64, payload: Payload<E>) -> Index {
        let index = self.last_index() + 1;
        let term = self.term();
        self.storage.append(Entry { index, term, payload });
        self.last_active = now;
        index
    }

    /// Sends unsent entries to every pipelining follower.
    fn replicate(&mut self, now: u64, out: &mut Output<E>) {
        let last = self.last_index();
        for i in 0..self.progress.len() {
            while !self.progress[i].probing && self.progress[i].next <= last {
                self.send_batch(i, now, out);
            }
        }
    }

    /// Sends one AppendEntries to follower `i` starting at its `next` index.
    /// Pipelining followers have `next` advanced past the batch; probing ones
    /// keep it (the answer moves it).
    fn send_batch(&mut self, i: usize, now: u64, out: &mut Output<E>) {
        let last = self.last_index();
        let max = self.config.max_batch_entries.max(1) as u64;
        let p = &self.progress[i];
        let next = p.next.clamp(1, last + 1);
        let prev_index = next - 1;
        let prev_term = self.term_at(prev_index).unwrap_or(0);
        let end = last.min(prev_index.saturating_add(max));
        let entries = self.storage.entries()[prev_index as usize..end as usize].to_vec();
        let to = p.id;
        let carried_commit = self.commit.min(end);
        let msg = Msg::AppendEntries {
            term: self.term(),
            leader: self.id,
            prev_index,
            prev_term,
            entries,
            commit: self.commit,
        };
        out.sends.push((to, msg));
        let p = &mut self.progress[i];
        p.next = next;
        p.commit_sent = p.commit_sent.max(carried_commit);
        if end > prev_index {
            if !p.probing {
                p.next = end + 1;
            }
            if p.unacked_since.is_none() {
                p.unacked_since = Some(now);
            }
        }
    }

    /// An empty AppendEntries anchored at the follower's match index: it
    /// always fits the follower's log (unless the follower lost data), so it
    /// can be reordered freely with pipelined batches.
    fn send_heartbeat(&mut self, i: usize, out: &mut Output<E>) {
        let prev_index = self.progress[i].matched.min(self.last_index());
        let prev_term = self.term_at(prev_index).unwrap_or(0);
        let carried_commit = self.commit.min(prev_index);
        let p = &mut self.progress[i];
        p.commit_sent = p.commit_sent.max(carried_commit);
        out.sends.push((
            p.id,
            Msg::AppendEntries {
                term: self.term(),
                leader: self.id,
                prev_index,
                prev_term,
                entries: Vec::new(),
                commit: self.commit,
            },
        ));
    }

    fn heartbeat(&mut self, now: u64, out: &mut Output<E>) {
        let idle = now.saturating_sub(self.last_active) >= self.config.heartbeat;
        let hb = self.config.heartbeat;
        for i in 0..self.progress.len() {
            let p = &self.progress[i];
            if p.probing {
                self.send_batch(i, now, out);
            } else if p.matched + 1 < p.next && p.unacked_since.is_some_and(|t| now.saturating_sub(t) >= hb) {
                // Outstanding entries unanswered for a whole heartbeat: a
                // message was probably lost. Probe from the match index.
                let p = &mut self.progress[i];
                p.next = p.matched + 1;
                p.probing = true;
                p.unacked_since = None;
                self.send_batch(i, now, out);
            } else if idle {
                self.send_heartbeat(i, out);
            }
        }
    }

    fn lost_quorum(&self, now: u64) -> bool {
        let window = self.config.lost_quorum;
        let heard =
            self.progress.iter().filter(|p| p.last_heard.is_some_and(|t| now.saturating_sub(t) < window)).count();
        heard + 1 < self.quorum
    }

    /// Advances the leader's commit index to the highest index stored on a
    /// quorum, but only if that entry is of the current term (Raft §5.4.2;
    /// earlier entries commit with it).
    fn maybe_commit(&mut self, now: u64, out: &mut Output<E>) {
        if self.role != Role::Leader {
            return;
        }
        let last = self.last_index();
        self.scratch.clear();
        self.scratch.push(last);
        self.scratch.extend(self.progress.iter().map(|p| p.matched.min(last)));
        crate::sort::sort_by_less(&mut self.scratch, |a, b| a > b);
        let candidate = self.scratch[self.quorum - 1];
        if candidate <= self.commit || self.term_at(candidate) != Some(self.term()) {
            return;
        }
        for index in self.commit + 1..=candidate {
            let mut acks: Vec<NodeId> = self.progress.iter().filter(|p| p.matched >= index).map(|p| p.id).collect();
            acks.push(self.id);
            crate::sort::sort(&mut acks);
            let term = self.term_at(index).unwrap_or(0);
            out.events.push(RaftEvent::QuorumReached { index, term, acks });
        }
        self.advance_commit(candidate, out);
        if !self.ready && self.commit >= self.noop_index {
            self.ready = true;
            out.events.push(RaftEvent::LeaderReady { term: self.term(), index: self.noop_index });
        }
        if self.config.commit_notify {
            for i in 0..self.progress.len() {
                if self.progress[i].probing {
                    continue;
                }
                let p = &self.progress[i];
                if p.next <= last {
                    self.send_batch(i, now, out);
                } else if self.commit.min(p.matched) > p.commit_sent {
                    self.send_heartbeat(i, out);
                }
            }
        }
    }

    fn advance_commit(&mut self, index: Index, out: &mut Output<E>) {
        let index = index.min(self.last_index());
        if index <= self.commit {
            return;
        }
        self.commit = index;
        out.events.push(RaftEvent::Committed { index });
        if self.applied < self.commit {
            let from = self.applied as usize;
            out.committed.extend_from_slice(&self.storage.entries()[from..self.commit as usize]);
            self.applied = self.commit;
        }
    }

    // ---- helpers ----------------------------------------------------------------

    fn finish(&self, out: &mut Output<E>) {
        out.next_wakeup = self.next_wakeup();
    }

    fn rand_election(&self, rng: &mut dyn Entropy) -> u64 {
        uniform(rng, self.config.election_min, self.config.election_max)
    }

    /// Term of the entry at `index` (0 for index 0), None beyond the log.
    fn term_at(&self, index: Index) -> Option<Term> {
        if index == 0 {
            return Some(0);
        }
        if index > self.last_index() {
            return None;
        }
        Some(self.storage.entries()[(index - 1) as usize].term)
    }

    /// Largest index `<= upto` whose term is `<= term` (0 if none). Terms are
    /// non-decreasing along the log, so this is a binary search.
    fn last_index_with_term_at_most(&self, upto: Index, term: Term) -> Index {
        let upto = upto.min(self.last_index()) as usize;
        self.storage.entries()[..upto].partition_point(|e| e.term <= term) as Index
    }

    fn ignore(&self, out: &mut Output<E>, from: NodeId, msg: &Msg<E>, reason: IgnoreReason) {
        out.events.push(RaftEvent::Ignored { from, kind: msg.kind(), reason });
    }

    fn ignore_kind(&self, out: &mut Output<E>, from: NodeId, kind: &'static str, reason: IgnoreReason) {
        out.events.push(RaftEvent::Ignored { from, kind, reason });
    }

    /// Votes this node holds in its current election (itself included),
    /// while candidate; what it won with, while leader; empty as follower.
    pub fn votes_granted(&self) -> &[NodeId] {
        &self.votes
    }
}

/// Next tick of a periodic timer that was due at `due`: keeps the phase, but
/// never schedules in the past (after a pause it resumes from `now`).
fn tick_after(due: Option<u64>, period: u64, now: u64) -> u64 {
    let period = period.max(1);
    let next = due.unwrap_or(now).saturating_add(period);
    if next <= now {
        now.saturating_add(period)
    } else {
        next
    }
}

/// Structural checks of an AppendEntries a peer could have forged.
fn validate_entries<E>(
    term: Term,
    prev_index: Index,
    prev_term: Term,
    entries: &[Entry<E>],
) -> Result<(), &'static str> {
    if prev_term > term {
        return Err("prev_term above term");
    }
    if (prev_index == 0) != (prev_term == 0) {
        return Err("prev_index/prev_term inconsistent");
    }
    let mut expect = prev_index;
    let mut last_term = prev_term;
    for e in entries {
        expect = expect.checked_add(1).ok_or("index overflow")?;
        if e.index != expect {
            return Err("entries not contiguous");
        }
        if e.term == 0 || e.term > term || e.term < last_term {
            return Err("entry terms out of order");
        }
        last_term = e.term;
    }
    Ok(())
}
