//! Unit tests: scripted scenarios over a zero-latency FIFO network.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::invariants::{Checker, Violation};
use crate::*;

pub(crate) struct SplitMix(pub u64);
impl Entropy for SplitMix {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

enum Slot {
    Up(Box<Raft<u64>>),
    Down(Storage<u64>),
}

/// A tiny cluster: messages are delivered instantly in FIFO order, timers
/// fire in time order, and the invariant checker runs after every step.
struct Net {
    ids: Vec<NodeId>,
    config: Config,
    nodes: BTreeMap<NodeId, Slot>,
    queue: VecDeque<(NodeId, NodeId, Msg<u64>)>,
    now: u64,
    rng: SplitMix,
    blocked: BTreeSet<(NodeId, NodeId)>,
    applied: BTreeMap<NodeId, Vec<(Index, Payload<u64>)>>,
    events: Vec<(u64, NodeId, RaftEvent)>,
    sent: Vec<(u64, NodeId, NodeId, Msg<u64>)>,
    checker: Checker<u64>,
    violation: Option<Violation>,
}

impl Net {
    fn new(n: u32, config: Config, policy: SyncPolicy) -> Net {
        let ids: Vec<NodeId> = (1..=n).collect();
        let nodes = ids.iter().map(|&id| (id, Slot::Down(Storage::new(policy)))).collect();
        let mut net = Net {
            ids: ids.clone(),
            config,
            nodes,
            queue: VecDeque::new(),
            now: 0,
            rng: SplitMix(7),
            blocked: BTreeSet::new(),
            applied: BTreeMap::new(),
            events: Vec::new(),
            sent: Vec::new(),
            checker: Checker::new().with_fingerprint(|v| *v),
            violation: None,
        };
        for id in ids {
            net.start(id);
        }
        net
    }

    fn with_storages(config: Config, storages: Vec<Storage<u64>>) -> Net {
        let mut net = Net::new(storages.len() as u32, config, SyncPolicy::Always);
        for (i, s) in storages.into_iter().enumerate() {
            let id = i as NodeId + 1;
            net.nodes.insert(id, Slot::Down(s));
            net.start(id);
        }
        net
    }

    fn start(&mut self, id: NodeId) {
        let storage = match self.nodes.remove(&id) {
            Some(Slot::Down(s)) => s,
            Some(up @ Slot::Up(_)) => {
                self.nodes.insert(id, up);
                return;
            }
            None => return,
        };
        let (r, out) = Raft::new(id, self.ids.clone(), self.config.clone(), storage, self.now, &mut self.rng);
        self.nodes.insert(id, Slot::Up(Box::new(r)));
        self.absorb(id, out);
    }

    fn node(&self, id: NodeId) -> &Raft<u64> {
        match &self.nodes[&id] {
            Slot::Up(r) => r,
            Slot::Down(_) => panic!("node {id} is down"),
        }
    }

    fn up(&self) -> Vec<NodeId> {
        self.nodes.iter().filter(|(_, s)| matches!(s, Slot::Up(_))).map(|(&id, _)| id).collect()
    }

    fn absorb(&mut self, id: NodeId, out: Output<u64>) {
        for (to, m) in out.sends {
            self.sent.push((self.now, id, to, m.clone()));
            self.queue.push_back((id, to, m));
        }
        let applied = self.applied.entry(id).or_default();
        for e in out.committed {
            applied.push((e.index, e.payload));
        }
        for ev in out.events {
            self.events.push((self.now, id, ev));
        }
        self.check();
    }

    fn check(&mut self) {
        if self.violation.is_some() {
            return;
        }
        let views: Vec<_> = self
            .nodes
            .values()
            .filter_map(|s| match s {
                Slot::Up(r) => Some(r.view()),
                Slot::Down(_) => None,
            })
            .collect();
        if let Err(v) = self.checker.observe(&views) {
            self.violation = Some(v);
        }
    }

    fn with_node<T>(
        &mut self,
        id: NodeId,
        f: impl FnOnce(&mut Raft<u64>, u64, &mut SplitMix, &mut Output<u64>) -> T,
    ) -> T {
        let mut out = Output::new();
        let now = self.now;
        let t = match self.nodes.get_mut(&id) {
            Some(Slot::Up(r)) => f(r, now, &mut self.rng, &mut out),
            _ => panic!("node {id} is down"),
        };
        self.absorb(id, out);
        t
    }

    fn deliver_all(&mut self) {
        let mut budget = 1_000_000;
        while let Some((from, to, m)) = self.queue.pop_front() {
            budget -= 1;
            assert!(budget > 0, "message storm");
            if self.blocked.contains(&(from, to)) {
                continue;
            }
            if !matches!(self.nodes.get(&to), Some(Slot::Up(_))) {
                continue;
            }
            self.with_node(to, |r, now, rng, out| r.on_message(now, from, m, rng, out));
        }
    }

    /// Runs timers (and delivers everything after each) until `now + d`.
    fn advance(&mut self, d: u64) {
        let target = self.now + d;
        self.deliver_all();
        loop {
            let next = self.up().into_iter().filter_map(|id| self.node(id).next_wakeup().map(|t| (t, id))).min();
            match next {
                Some((t, id)) if t <= target => {
                    self.now = self.now.max(t);
                    self.with_node(id, |r, now, rng, out| r.on_timer(now, rng, out));
                    self.deliver_all();
                }
                _ => break,
            }
        }
        self.now = target;
    }

    fn leaders(&self) -> Vec<NodeId> {
        self.up().into_iter().filter(|&id| self.node(id).is_leader()).collect()
    }

    fn leader(&self) -> NodeId {
        let l = self.leaders();
        assert_eq!(l.len(), 1, "expected exactly one leader, got {l:?}");
        l[0]
    }

    fn propose(&mut self, id: NodeId, v: u64) -> Result<Index, NotLeader> {
        let r = self.with_node(id, |r, now, _, out| r.propose(now, v, out));
        self.deliver_all();
        r
    }

    fn isolate(&mut self, id: NodeId) {
        for &o in &self.ids {
            if o != id {
                self.blocked.insert((id, o));
                self.blocked.insert((o, id));
            }
        }
    }

    fn heal(&mut self) {
        self.blocked.clear();
    }

    fn crash(&mut self, id: NodeId, power_loss: bool) {
        if let Some(Slot::Up(r)) = self.nodes.remove(&id) {
            let s = r.into_storage();
            let s = if power_loss { s.after_power_loss() } else { s.after_crash() };
            self.nodes.insert(id, Slot::Down(s));
        }
        self.applied.remove(&id);
    }

    fn values_applied(&self, id: NodeId) -> Vec<u64> {
        self.applied
            .get(&id)
            .map(|v| v.iter().filter_map(|(_, p)| p.as_normal().copied()).collect())
            .unwrap_or_default()
    }

    fn log_values(&self, id: NodeId) -> Vec<u64> {
        self.node(id).log().iter().filter_map(|e| e.payload.as_normal().copied()).collect()
    }

    fn events_of(&self, id: NodeId) -> Vec<RaftEvent> {
        self.events.iter().filter(|(_, n, _)| *n == id).map(|(_, _, e)| e.clone()).collect()
    }

    fn assert_safe(&self) {
        assert_eq!(self.violation, None, "invariant violated");
    }
}

fn cfg() -> Config {
    Config::nats_defaults()
}

fn e(index: Index, term: Term, v: u64) -> Entry<u64> {
    Entry { index, term, payload: Payload::Normal(v) }
}

// ---- elections ------------------------------------------------------------------

#[test]
fn single_node_becomes_leader_and_commits() {
    let mut net = Net::new(1, cfg(), SyncPolicy::Always);
    assert_eq!(net.node(1).role(), Role::Follower);
    net.advance(3 * SEC);
    assert_eq!(net.node(1).role(), Role::Follower, "no election before 4 s");
    net.advance(7 * SEC);
    assert_eq!(net.node(1).role(), Role::Leader);
    assert_eq!(net.node(1).term(), 1);
    assert_eq!(net.node(1).commit_index(), 1, "the no-op commits at once");
    assert!(net.node(1).is_leader_ready());
    let idx = net.propose(1, 42).unwrap();
    assert_eq!(idx, 2);
    assert_eq!(net.node(1).commit_index(), 2);
    assert_eq!(net.values_applied(1), vec![42]);
    let evs = net.events_of(1);
    assert!(evs.contains(&RaftEvent::BecameCandidate { term: 1 }));
    assert!(evs.contains(&RaftEvent::BecameLeader { term: 1 }));
    assert!(evs.contains(&RaftEvent::LeaderReady { term: 1, index: 1 }));
    assert!(evs.contains(&RaftEvent::QuorumReached { index: 2, term: 1, acks: vec![1] }));
    net.assert_safe();
}

#[test]
fn three_node_election() {
    let mut net = Net::new(3, cfg(), SyncPolicy::Always);
    net.advance(10 * SEC);
    let l = net.leader();
    let term = net.node(l).term();
    for id in [1, 2, 3] {
        assert_eq!(net.node(id).term(), term);
        assert_eq!(net.node(id).leader(), Some(l));
        assert_eq!(net.node(id).commit_index(), 1, "no-op committed everywhere");
    }
    // Election timeouts are within 4..9 s: the first campaign began in that window.
    let t_cand = net
        .events
        .iter()
        .find(|(_, _, ev)| matches!(ev, RaftEvent::BecameCandidate { .. }))
        .map(|(t, _, _)| *t)
        .unwrap();
    assert!((4 * SEC..9 * SEC).contains(&t_cand), "{t_cand}");
    // Stays stable.
    net.advance(60 * SEC);
    assert_eq!(net.leader(), l);
    assert_eq!(net.node(l).term(), term);
    net.assert_safe();
}

#[test]
fn preferred_leader_campaigns_first() {
    let mut net = Net::new(3, cfg().with_preferred_leader(Some(2)), SyncPolicy::Always);
    net.advance(60 * MS);
    assert_eq!(net.leaders(), vec![2]);
    assert_eq!(net.node(2).term(), 1);
    net.assert_safe();
}

// ---- replication ----------------------------------------------------------------

#[test]
fn replication_commit_and_quorum_acks() {
    let mut net = Net::new(3, cfg().with_preferred_leader(Some(1)), SyncPolicy::Always);
    net.advance(SEC);
    assert_eq!(net.leader(), 1);
    let idx = net.propose(1, 7).unwrap();
    assert_eq!(net.node(1).commit_index(), idx);
    for id in [1, 2, 3] {
        assert_eq!(net.values_applied(id), vec![7], "node {id}");
        assert_eq!(net.node(id).commit_index(), idx);
    }
    let quorum = net
        .events_of(1)
        .into_iter()
        .find_map(|ev| match ev {
            RaftEvent::QuorumReached { index, acks, .. } if index == idx => Some(acks),
            _ => None,
        })
        .unwrap();
    // With FIFO delivery node 2's ack arrives first and completes the quorum.
    assert_eq!(quorum, vec![1, 2]);

    // With node 3 cut off, the quorum is exactly {1, 2}.
    net.isolate(3);
    net.blocked.remove(&(1, 2));
    let idx2 = net.propose(1, 8).unwrap();
    assert!(net.events_of(1).contains(&RaftEvent::QuorumReached { index: idx2, term: 1, acks: vec![1, 2] }));
    assert_eq!(net.values_applied(3), vec![7]);
    net.heal();
    net.advance(3 * SEC);
    assert_eq!(net.values_applied(3), vec![7, 8], "node 3 caught up after the heal");
    net.assert_safe();
}

#[test]
fn batches_are_bounded_and_followers_catch_up() {
    let mut config = cfg().with_preferred_leader(Some(1));
    config.max_batch_entries = 16;
    let mut net = Net::new(3, config, SyncPolicy::Always);
    net.advance(SEC);
    net.crash(3, false);
    let values: Vec<u64> = (100..400).collect();
    let r = net.with_node(1, |r, now, _, out| r.propose_batch(now, values.clone(), out));
    assert_eq!(r, Ok((2, 301)));
    net.deliver_all();
    assert_eq!(net.node(1).commit_index(), 301);
    net.start(3);
    net.advance(5 * SEC);
    assert_eq!(net.node(3).last_index(), 301);
    assert_eq!(net.values_applied(3), values);
    let max_batch = net
        .sent
        .iter()
        .filter_map(|(_, _, _, m)| match m {
            Msg::AppendEntries { entries, .. } => Some(entries.len()),
            _ => None,
        })
        .max()
        .unwrap();
    assert_eq!(max_batch, 16);
    net.assert_safe();
}

#[test]
fn heartbeats_only_when_idle() {
    let mut config = cfg().with_preferred_leader(Some(1));
    config.commit_notify = false;
    let mut net = Net::new(3, config, SyncPolicy::Always);
    net.advance(SEC);
    let empty_aes = |net: &Net, from_t: u64| {
        net.sent.iter().filter(|(t, f, _, m)| *t >= from_t && *f == 1 && m.is_heartbeat()).count()
    };
    // Busy: a proposal every 400 ms for 10 s -> no heartbeats.
    let t0 = net.now;
    for i in 0..25 {
        net.propose(1, i).unwrap();
        net.advance(400 * MS);
    }
    assert_eq!(empty_aes(&net, t0), 0);
    // Idle for 10 s -> about one heartbeat per follower per second.
    let t1 = net.now;
    net.advance(10 * SEC);
    let n = empty_aes(&net, t1);
    assert!((18..=22).contains(&n), "{n}");
    net.assert_safe();
}

#[test]
fn follower_truncates_divergent_uncommitted_entries() {
    // Node 1 holds uncommitted entries of term 2 that the term-3 leader (2) never saw.
    let s1 = Storage::with_log(SyncPolicy::Always, 2, None, vec![e(1, 1, 10), e(2, 2, 11), e(3, 2, 12)]).unwrap();
    let s2 = Storage::with_log(SyncPolicy::Always, 2, None, vec![e(1, 1, 10)]).unwrap();
    let s3 = Storage::with_log(SyncPolicy::Always, 2, None, vec![e(1, 1, 10)]).unwrap();
    let mut net = Net::with_storages(cfg(), vec![s1, s2, s3]);
    // Node 2 wins term 3 with votes from 3 (1 refuses: its log is longer).
    net.isolate(1);
    net.blocked.remove(&(2, 3));
    net.blocked.remove(&(3, 2));
    net.with_node(2, |r, now, _, out| r.campaign_immediately(now, out));
    net.advance(SEC);
    assert_eq!(net.node(2).role(), Role::Leader);
    net.propose(2, 20).unwrap();
    net.heal();
    net.advance(2 * SEC);
    assert_eq!(net.log_values(1), vec![10, 20]);
    assert!(net.events_of(1).iter().any(|ev| matches!(ev, RaftEvent::Truncated { from_index: 2, old_last: 3 })));
    assert_eq!(net.node(1).log(), net.node(2).log());
    net.assert_safe();
}

#[test]
fn minority_leader_write_is_never_committed_and_is_truncated_after_heal() {
    // nats TestJetStreamClusterDesyncAfterPublishToLeaderWithoutQuorum.
    let mut net = Net::new(3, cfg().with_preferred_leader(Some(1)), SyncPolicy::Always);
    net.advance(SEC);
    net.propose(1, 1).unwrap();
    net.isolate(1);
    let lost = net.propose(1, 666).unwrap();
    assert_eq!(net.node(1).commit_index(), lost - 1, "no quorum, no commit");
    net.advance(25 * SEC);
    assert_ne!(net.node(1).role(), Role::Leader, "lost quorum -> stepped down");
    assert!(net
        .events_of(1)
        .iter()
        .any(|ev| matches!(ev, RaftEvent::SteppedDown { reason: StepDownReason::LostQuorum, .. })));
    let l = net.leader();
    assert_ne!(l, 1);
    net.propose(l, 2).unwrap();
    net.heal();
    net.advance(5 * SEC);
    for id in [1, 2, 3] {
        assert_eq!(net.log_values(id), vec![1, 2], "node {id}");
        assert!(!net.values_applied(id).contains(&666));
    }
    net.assert_safe();
}

// ---- terms and votes ------------------------------------------------------------

fn lone_node(storage: Storage<u64>) -> (Raft<u64>, SplitMix) {
    let mut rng = SplitMix(1);
    let (r, _) = Raft::new(1, vec![1, 2, 3], cfg(), storage, 0, &mut rng);
    (r, rng)
}

#[test]
fn stale_term_messages_are_rejected_or_ignored() {
    let s = Storage::with_log(SyncPolicy::Always, 5, None, vec![e(1, 4, 1)]).unwrap();
    let (mut r, mut rng) = lone_node(s);
    let mut out = Output::new();
    r.on_message(
        1,
        2,
        Msg::AppendEntries { term: 3, leader: 2, prev_index: 1, prev_term: 3, entries: vec![e(2, 3, 9)], commit: 2 },
        &mut rng,
        &mut out,
    );
    assert_eq!(r.last_index(), 1);
    assert_eq!(r.term(), 5);
    assert!(matches!(out.sends[..], [(2, Msg::AppendResponse { term: 5, success: false, .. })]));
    out.clear();
    r.on_message(1, 3, Msg::RequestVote { term: 4, candidate: 3, last_index: 9, last_term: 4 }, &mut rng, &mut out);
    assert_eq!(out.sends, vec![(3, Msg::VoteResponse { term: 5, granted: false })]);
    assert_eq!(r.voted_for(), None);
    out.clear();
    r.on_message(1, 3, Msg::VoteResponse { term: 4, granted: true }, &mut rng, &mut out);
    r.on_message(
        1,
        3,
        Msg::AppendResponse { term: 4, success: true, prev_index: 0, index: 1, hint_term: 0 },
        &mut rng,
        &mut out,
    );
    r.on_message(1, 2, Msg::TimeoutNow { term: 4, leader: 2 }, &mut rng, &mut out);
    assert!(out.sends.is_empty());
    assert_eq!(
        out.events.iter().filter(|ev| matches!(ev, RaftEvent::Ignored { reason: IgnoreReason::StaleTerm, .. })).count(),
        3
    );
    assert_eq!((r.term(), r.role()), (5, Role::Follower));
}

#[test]
fn one_vote_per_term_and_it_survives_a_crash() {
    let (mut r, mut rng) = lone_node(Storage::new(SyncPolicy::Always));
    let mut out = Output::new();
    let vote = |cand: NodeId| Msg::RequestVote { term: 2, candidate: cand, last_index: 0, last_term: 0 };
    r.on_message(1, 2, vote(2), &mut rng, &mut out);
    r.on_message(2, 3, vote(3), &mut rng, &mut out);
    r.on_message(3, 2, vote(2), &mut rng, &mut out);
    assert_eq!(
        out.sends,
        vec![
            (2, Msg::VoteResponse { term: 2, granted: true }),
            (3, Msg::VoteResponse { term: 2, granted: false }),
            (2, Msg::VoteResponse { term: 2, granted: true }),
        ]
    );
    // Crash (even a power loss: term and vote are fsynced) and restart.
    for storage in [r.clone().into_storage().after_crash(), r.into_storage().after_power_loss()] {
        let (mut r2, _) = Raft::new(1, vec![1, 2, 3], cfg(), storage, 10, &mut rng);
        let mut out = Output::new();
        r2.on_message(11, 3, vote(3), &mut rng, &mut out);
        assert_eq!(out.sends, vec![(3, Msg::VoteResponse { term: 2, granted: false })]);
        assert_eq!(r2.voted_for(), Some(2));
    }
}

#[test]
fn vote_requires_an_up_to_date_log() {
    let s = Storage::with_log(SyncPolicy::Always, 2, None, vec![e(1, 1, 1), e(2, 2, 2)]).unwrap();
    let (mut r, mut rng) = lone_node(s);
    let mut out = Output::new();
    // Lower last term, although longer.
    r.on_message(1, 2, Msg::RequestVote { term: 3, candidate: 2, last_index: 5, last_term: 1 }, &mut rng, &mut out);
    // Same last term, shorter.
    r.on_message(2, 3, Msg::RequestVote { term: 3, candidate: 3, last_index: 1, last_term: 2 }, &mut rng, &mut out);
    assert_eq!(
        out.sends,
        vec![(2, Msg::VoteResponse { term: 3, granted: false }), (3, Msg::VoteResponse { term: 3, granted: false })]
    );
    assert_eq!(r.voted_for(), None);
    // Having a better log and no vote, it campaigns within the campaign timeout.
    let w = r.next_wakeup().unwrap();
    assert!((100 * MS..=800 * MS + 2).contains(&w), "{w}");
    out.clear();
    r.on_message(3, 3, Msg::RequestVote { term: 3, candidate: 3, last_index: 2, last_term: 2 }, &mut rng, &mut out);
    assert_eq!(out.sends, vec![(3, Msg::VoteResponse { term: 3, granted: true })]);
}

#[test]
fn leader_steps_down_on_higher_term() {
    let mut net = Net::new(3, cfg().with_preferred_leader(Some(1)), SyncPolicy::Always);
    net.advance(SEC);
    assert_eq!(net.leader(), 1);
    let term = net.node(1).term();
    // An AppendResponse carrying a higher term (e.g. from a node that campaigned in isolation).
    net.with_node(1, |r, now, rng, out| {
        r.on_message(
            now,
            3,
            Msg::AppendResponse { term: term + 5, success: false, prev_index: 1, index: 0, hint_term: 0 },
            rng,
            out,
        )
    });
    assert_eq!(net.node(1).role(), Role::Follower);
    assert_eq!(net.node(1).term(), term + 5);
    assert!(net.events_of(1).contains(&RaftEvent::SteppedDown { term, reason: StepDownReason::HigherTerm }));
    net.queue.clear();
    net.advance(20 * SEC);
    assert_eq!(net.leaders().len(), 1);
    assert!(net.node(net.leader()).term() > term + 5);
    net.assert_safe();
}

#[test]
fn leader_transfer_to_a_chosen_peer() {
    let mut net = Net::new(3, cfg().with_preferred_leader(Some(1)), SyncPolicy::Always);
    net.advance(SEC);
    net.propose(1, 5).unwrap();
    net.advance(SEC);
    let term = net.node(1).term();
    let chosen = net.with_node(1, |r, now, rng, out| r.step_down(now, Some(3), rng, out));
    assert_eq!(chosen, Ok(Some(3)));
    assert!(net.events_of(1).contains(&RaftEvent::SteppedDown { term, reason: StepDownReason::Requested }));
    assert!(net.sent.iter().any(|(_, f, t, m)| *f == 1 && *t == 3 && matches!(m, Msg::TimeoutNow { .. })));
    net.advance(20 * MS);
    assert_eq!(net.leaders(), vec![3]);
    assert_eq!(net.node(3).term(), term + 1);
    assert_eq!(net.log_values(3), vec![5]);
    // Non-leaders cannot step down.
    let err = net.with_node(1, |r, now, rng, out| r.step_down(now, None, rng, out));
    assert_eq!(err, Err(NotLeader { leader_hint: Some(3) }));
    net.assert_safe();
}

#[test]
fn leader_transfer_skips_an_unhealthy_preferred_peer() {
    let mut net = Net::new(3, cfg().with_preferred_leader(Some(1)), SyncPolicy::Always);
    net.advance(SEC);
    net.crash(2, false);
    net.advance(5 * SEC);
    let chosen = net.with_node(1, |r, now, rng, out| r.step_down(now, Some(2), rng, out));
    assert_eq!(chosen, Ok(Some(3)), "2 was not heard from within 3 s");
    net.advance(20 * MS);
    assert_eq!(net.leaders(), vec![3]);
    net.assert_safe();
}

#[test]
fn leader_steps_down_after_losing_quorum_for_10s() {
    let mut net = Net::new(3, cfg().with_preferred_leader(Some(1)), SyncPolicy::Always);
    net.advance(SEC);
    let since = net.node(1).leader_since().unwrap();
    // Healthy: no step-down for a minute.
    net.advance(60 * SEC);
    assert_eq!(net.leader(), 1);
    let cut = net.now;
    let heard = net.node(1).progress().iter().map(|p| p.last_heard.unwrap()).max().unwrap();
    net.isolate(1);
    // Quorum checks tick at since + k*10 s; the leader steps down at the
    // first tick at least 10 s after it last heard from the others.
    let mut step_down_at = None;
    for _ in 0..300 {
        net.advance(100 * MS);
        if net.node(1).role() != Role::Leader {
            step_down_at = Some(net.now);
            break;
        }
    }
    let t = step_down_at.expect("stepped down");
    assert!(t >= heard + 10 * SEC && t <= cut + 20 * SEC + 100 * MS, "cut {cut} heard {heard} stepped down {t}");
    assert!((t - since) % (10 * SEC) < 100 * MS, "on a lost-quorum tick");
    assert!(net
        .events_of(1)
        .iter()
        .any(|ev| matches!(ev, RaftEvent::SteppedDown { reason: StepDownReason::LostQuorum, .. })));
    net.assert_safe();
}

#[test]
fn leader_commits_only_current_term_entries_by_counting() {
    // Raft Figure 8 / nats TestNRGOnlyCommitIfCurrentTerm.
    let s = Storage::with_log(SyncPolicy::Always, 1, None, vec![e(1, 1, 10)]).unwrap();
    let mut rng = SplitMix(3);
    let (mut r, _) = Raft::new(1, vec![1, 2, 3], cfg(), s, 0, &mut rng);
    let mut out = Output::new();
    r.on_timer(9 * SEC, &mut rng, &mut out);
    assert_eq!((r.role(), r.term()), (Role::Candidate, 2));
    r.on_message(9 * SEC, 2, Msg::VoteResponse { term: 2, granted: true }, &mut rng, &mut out);
    assert_eq!(r.role(), Role::Leader);
    assert_eq!(r.log().iter().map(|e| e.term).collect::<Vec<_>>(), vec![1, 2]);
    // Both followers store index 1 (term 1) only: a quorum, but not of this term.
    for f in [2, 3] {
        r.on_message(
            9 * SEC,
            f,
            Msg::AppendResponse { term: 2, success: true, prev_index: 0, index: 1, hint_term: 0 },
            &mut rng,
            &mut out,
        );
    }
    assert_eq!(r.commit_index(), 0);
    r.on_message(
        9 * SEC,
        2,
        Msg::AppendResponse { term: 2, success: true, prev_index: 1, index: 2, hint_term: 0 },
        &mut rng,
        &mut out,
    );
    assert_eq!(r.commit_index(), 2);
    let q: Vec<_> = out.events.iter().filter(|ev| matches!(ev, RaftEvent::QuorumReached { .. })).cloned().collect();
    assert_eq!(
        q,
        vec![
            RaftEvent::QuorumReached { index: 1, term: 1, acks: vec![1, 2, 3] },
            RaftEvent::QuorumReached { index: 2, term: 2, acks: vec![1, 2] },
        ]
    );
    assert_eq!(out.committed.len(), 2);
}

// ---- durability -----------------------------------------------------------------

/// Jepsen's part-kill in miniature: a write is acknowledged (committed on
/// all three nodes), then the leader and one follower lose power while the
/// third node is partitioned away; the two elect a leader and go on; the
/// third restarts and rejoins. Returns whether the acknowledged value
/// survived on every node, and the checker's verdict.
fn part_kill(policy: SyncPolicy) -> (bool, Option<Violation>, Vec<u64>) {
    let mut net = Net::new(3, cfg().with_preferred_leader(Some(1)), policy);
    net.advance(SEC);
    net.propose(1, 77).unwrap();
    net.advance(100 * MS);
    assert!(net.events_of(1).iter().any(|ev| matches!(ev, RaftEvent::QuorumReached { term: 1, .. })));
    for id in [1, 2, 3] {
        assert_eq!(net.values_applied(id), vec![77], "acknowledged everywhere");
    }
    net.isolate(3);
    net.crash(1, true);
    net.crash(2, true);
    net.start(1);
    net.start(2);
    net.advance(30 * SEC);
    let l = net.leader();
    assert_ne!(l, 3);
    net.propose(l, 88).unwrap();
    net.crash(3, false);
    net.heal();
    net.start(3);
    net.advance(30 * SEC);
    let survived = [1, 2, 3].iter().all(|&id| net.log_values(id).contains(&77));
    (survived, net.violation.clone(), net.log_values(3))
}

#[test]
fn power_loss_with_sync_always_never_loses_a_committed_entry() {
    let (survived, violation, log3) = part_kill(SyncPolicy::Always);
    assert!(survived);
    assert_eq!(violation, None);
    assert_eq!(log3, vec![77, 88]);
}

#[test]
fn power_loss_with_lazy_sync_loses_an_acknowledged_entry() {
    let (survived, violation, log3) = part_kill(SyncPolicy::Interval(120 * SEC));
    assert!(!survived, "the 2-minute sync interval lets the power loss eat the acked write");
    assert_eq!(log3, vec![88], "node 3 even discarded its copy to follow the new leader");
    assert!(
        matches!(
            violation,
            Some(Violation::StateMachineSafety { index: 1, .. }) | Some(Violation::LeaderCompleteness { .. })
        ),
        "{violation:?}"
    );
}

#[test]
fn power_loss_of_every_node_with_sync_always_keeps_committed_entries() {
    let mut net = Net::new(3, cfg(), SyncPolicy::Always);
    net.advance(10 * SEC);
    let l = net.leader();
    for v in 0..20 {
        net.propose(l, v).unwrap();
    }
    let committed = net.node(l).commit_index();
    for id in [1, 2, 3] {
        net.crash(id, true);
    }
    for id in [1, 2, 3] {
        net.start(id);
        assert_eq!(net.node(id).commit_index(), 0, "commit index is volatile");
    }
    net.advance(20 * SEC);
    let l = net.leader();
    assert!(net.node(l).commit_index() > committed);
    for id in [1, 2, 3] {
        assert_eq!(net.values_applied(id), (0..20).collect::<Vec<_>>(), "re-applied after restart");
    }
    net.assert_safe();
}

#[test]
fn memory_store_restarts_empty_and_catches_up() {
    let config = cfg().with_preferred_leader(Some(1));
    let mut net = Net::with_storages(config, vec![Storage::empty(), Storage::empty(), Storage::empty()]);
    net.advance(SEC);
    for v in 0..10 {
        net.propose(1, v).unwrap();
    }
    net.crash(3, false);
    assert_eq!(
        match &net.nodes[&3] {
            Slot::Down(s) => (s.last_index(), s.term()),
            Slot::Up(_) => unreachable!(),
        },
        (0, 0),
        "a memory store keeps nothing"
    );
    net.start(3);
    net.advance(3 * SEC);
    assert_eq!(net.node(3).log(), net.node(1).log());
    assert_eq!(net.values_applied(3), (0..10).collect::<Vec<_>>());
    net.assert_safe();
}

#[test]
fn set_applied_suppresses_re_emission() {
    let mut net = Net::new(1, cfg().with_preferred_leader(Some(1)), SyncPolicy::Always);
    net.advance(SEC);
    for v in 0..5 {
        net.propose(1, v).unwrap();
    }
    let storage = match net.nodes.remove(&1) {
        Some(Slot::Up(r)) => r.into_storage().after_crash(),
        _ => unreachable!(),
    };
    let mut rng = SplitMix(9);
    let (mut r, _) = Raft::new(1, vec![1], cfg(), storage, 0, &mut rng);
    r.set_applied(4);
    let mut out = Output::new();
    r.on_timer(10 * SEC, &mut rng, &mut out);
    assert!(r.is_leader());
    assert_eq!(out.committed.iter().map(|e| e.index).collect::<Vec<_>>(), vec![5, 6, 7]);
}

#[test]
fn interval_sync_is_driven_by_the_wakeup() {
    let mut net = Net::new(1, cfg().with_preferred_leader(Some(1)), SyncPolicy::Interval(10 * SEC));
    net.advance(SEC);
    net.propose(1, 1).unwrap();
    assert_eq!(net.node(1).storage().durable_len(), 0);
    assert!(!net.node(1).is_durable(2));
    net.advance(10 * SEC);
    assert_eq!(net.node(1).storage().durable_len(), 2);
    assert!(net.node(1).is_durable(2));
    assert!(net.events_of(1).contains(&RaftEvent::Synced { durable_index: 2 }));
    let s = net.node(1).log_summary(1, 10);
    assert_eq!(s, vec![(1, 1, true, true), (2, 1, true, true)]);
}

#[test]
fn scaled_config_keeps_behaviour() {
    let c = Config::nats_defaults().scaled(1, 10);
    assert_eq!(c.election_min, 400 * MS);
    assert_eq!(c.heartbeat, 100 * MS);
    assert_eq!(c.transfer_campaign, MS);
    assert_eq!(c.max_batch_entries, 256);
    assert!(c.validate().is_ok());
    let mut net = Net::new(3, c, SyncPolicy::Always);
    net.advance(SEC);
    assert_eq!(net.leaders().len(), 1, "elected within 0.9 s at 1/10 scale");
    assert_eq!(Config::nats_defaults().scaled(5, 0), Config::nats_defaults());
}

// ---- robustness -----------------------------------------------------------------

#[test]
fn malformed_messages_are_ignored() {
    let s = Storage::with_log(SyncPolicy::Always, 3, None, vec![e(1, 1, 1), e(2, 3, 2)]).unwrap();
    let (mut r, mut rng) = lone_node(s);
    let mut out = Output::new();
    let bad: Vec<(NodeId, Msg<u64>)> = vec![
        (9, Msg::VoteResponse { term: 9, granted: true }),
        (1, Msg::VoteResponse { term: 9, granted: true }),
        (2, Msg::AppendEntries { term: 4, leader: 3, prev_index: 0, prev_term: 0, entries: vec![], commit: 0 }),
        (
            2,
            Msg::AppendEntries {
                term: 4,
                leader: 2,
                prev_index: 2,
                prev_term: 3,
                entries: vec![e(4, 4, 0)],
                commit: 0,
            },
        ),
        (
            2,
            Msg::AppendEntries {
                term: 4,
                leader: 2,
                prev_index: 2,
                prev_term: 3,
                entries: vec![e(3, 5, 0)],
                commit: 0,
            },
        ),
        (
            2,
            Msg::AppendEntries {
                term: 4,
                leader: 2,
                prev_index: u64::MAX,
                prev_term: 3,
                entries: vec![e(0, 4, 0)],
                commit: 0,
            },
        ),
        (2, Msg::AppendEntries { term: 4, leader: 2, prev_index: 0, prev_term: 2, entries: vec![], commit: u64::MAX }),
        (2, Msg::RequestVote { term: 4, candidate: 3, last_index: 9, last_term: 3 }),
        (2, Msg::RequestVote { term: 4, candidate: 2, last_index: 0, last_term: 3 }),
        (2, Msg::TimeoutNow { term: 4, leader: 3 }),
    ];
    for (from, m) in bad {
        r.on_message(5, from, m, &mut rng, &mut out);
    }
    assert!(out.sends.is_empty(), "{:?}", out.sends);
    assert_eq!((r.term(), r.last_index(), r.commit_index()), (3, 2, 0));
    assert_eq!(out.events.len(), 10);
    assert!(out.events.iter().all(|ev| matches!(ev, RaftEvent::Ignored { .. })));
    // A huge prev_index beyond the log is a normal rejection, not a panic.
    r.on_message(
        6,
        2,
        Msg::AppendEntries {
            term: 4,
            leader: 2,
            prev_index: u64::MAX - 1,
            prev_term: 4,
            entries: vec![],
            commit: u64::MAX,
        },
        &mut rng,
        &mut out,
    );
    assert!(matches!(out.sends[..], [(2, Msg::AppendResponse { success: false, index: 2, .. })]));
    assert_eq!(r.commit_index(), 0);
}

#[test]
fn refuses_to_truncate_a_committed_entry() {
    let s = Storage::with_log(SyncPolicy::Always, 1, None, vec![e(1, 1, 1)]).unwrap();
    let (mut r, mut rng) = lone_node(s);
    let mut out = Output::new();
    // Learn that index 1 is committed.
    r.on_message(
        1,
        2,
        Msg::AppendEntries { term: 1, leader: 2, prev_index: 1, prev_term: 1, entries: vec![], commit: 1 },
        &mut rng,
        &mut out,
    );
    assert_eq!(r.commit_index(), 1);
    out.clear();
    // A (buggy or amnesiac) leader of term 2 tries to overwrite it.
    r.on_message(
        2,
        3,
        Msg::AppendEntries { term: 2, leader: 3, prev_index: 0, prev_term: 0, entries: vec![e(1, 2, 9)], commit: 1 },
        &mut rng,
        &mut out,
    );
    assert_eq!(r.log()[0].term, 1);
    assert!(out
        .events
        .iter()
        .any(|ev| matches!(ev, RaftEvent::Ignored { reason: IgnoreReason::WouldTruncateCommitted { index: 1 }, .. })));
}

#[cfg(not(target_arch = "wasm32"))]
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    fn arb_entries() -> impl Strategy<Value = Vec<Entry<u64>>> {
        prop::collection::vec((0u64..8, 0u64..6, any::<u64>()), 0..4)
            .prop_map(|v| v.into_iter().map(|(i, t, x)| e(i, t, x)).collect())
    }

    fn arb_msg() -> impl Strategy<Value = Msg<u64>> {
        let small = 0u64..8;
        prop_oneof![
            (
                small.clone(),
                0u32..5,
                small.clone(),
                small.clone(),
                arb_entries(),
                prop_oneof![small.clone(), Just(u64::MAX)]
            )
                .prop_map(|(term, leader, prev_index, prev_term, entries, commit)| {
                    Msg::AppendEntries { term, leader, prev_index, prev_term, entries, commit }
                }),
            (small.clone(), any::<bool>(), small.clone(), prop_oneof![small.clone(), Just(u64::MAX)], small.clone())
                .prop_map(|(term, success, prev_index, index, hint_term)| {
                    Msg::AppendResponse { term, success, prev_index, index, hint_term }
                }),
            (small.clone(), 0u32..5, prop_oneof![small.clone(), Just(u64::MAX)], small.clone()).prop_map(
                |(term, candidate, last_index, last_term)| {
                    Msg::RequestVote { term, candidate, last_index, last_term }
                }
            ),
            (small.clone(), any::<bool>()).prop_map(|(term, granted)| Msg::VoteResponse { term, granted }),
            (small, 0u32..5).prop_map(|(term, leader)| Msg::TimeoutNow { term, leader }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
        /// Arbitrary message sequences (from members and strangers, with
        /// timers and proposals mixed in) never panic and never break the
        /// node's own basic invariants.
        #[test]
        fn arbitrary_messages_never_panic(
            ops in prop::collection::vec((0u8..10, 0u32..5, arb_msg(), 0u64..3_000_000_000), 1..60),
            start_leader in any::<bool>(),
        ) {
            let s = Storage::with_log(SyncPolicy::Always, 2, None, vec![e(1, 1, 1), e(2, 2, 2)]).unwrap();
            let mut rng = SplitMix(11);
            let (mut r, _) = Raft::new(1, vec![1, 2, 3], cfg(), s, 0, &mut rng);
            let mut out = Output::new();
            let mut now = 0;
            if start_leader {
                now = 10 * SEC;
                r.on_timer(now, &mut rng, &mut out);
                r.on_message(now, 2, Msg::VoteResponse { term: r.term(), granted: true }, &mut rng, &mut out);
                prop_assert!(r.is_leader());
            }
            let mut last_term = r.term();
            for (op, from, msg, dt) in ops {
                now += dt;
                match op {
                    0 => r.on_timer(now, &mut rng, &mut out),
                    1 => { let _ = r.propose(now, 5, &mut out); }
                    2 => { let _ = r.step_down(now, Some(from), &mut rng, &mut out); }
                    _ => r.on_message(now, from, msg, &mut rng, &mut out),
                }
                prop_assert!(r.term() >= last_term);
                last_term = r.term();
                prop_assert!(r.commit_index() <= r.last_index());
                prop_assert!(r.applied_index() <= r.commit_index());
                prop_assert!(r.log().iter().enumerate().all(|(i, e)| e.index == i as u64 + 1));
                prop_assert!(r.log().windows(2).all(|w| w[0].term <= w[1].term));
                prop_assert!(r.log().iter().all(|e| e.term <= r.term()));
                out.clear();
            }
        }
    }
}

// ---- the checker has teeth -------------------------------------------------------

mod checker {
    use super::*;
    use crate::invariants::{chains_of, NodeView};

    struct V {
        id: NodeId,
        inc: u64,
        role: Role,
        term: Term,
        commit: Index,
        entries: Vec<Entry<u64>>,
        chains: Vec<u64>,
    }

    fn v(id: NodeId, role: Role, term: Term, commit: Index, terms: &[Term]) -> V {
        let entries: Vec<_> = terms.iter().enumerate().map(|(i, &t)| e(i as u64 + 1, t, i as u64)).collect();
        let chains = chains_of(&entries);
        V { id, inc: id as u64, role, term, commit, entries, chains }
    }

    fn view(x: &V) -> NodeView<'_, u64> {
        NodeView {
            id: x.id,
            incarnation: x.inc,
            role: x.role,
            term: x.term,
            commit: x.commit,
            applied: x.commit,
            durable_len: x.entries.len() as u64,
            entries: &x.entries,
            chains: &x.chains,
        }
    }

    fn run(steps: &[Vec<V>]) -> Result<(), Violation> {
        let mut c = Checker::new();
        for s in steps {
            let views: Vec<_> = s.iter().map(view).collect();
            c.observe(&views)?;
        }
        Ok(())
    }

    use Role::{Follower as F, Leader as L};

    #[test]
    fn healthy_history_passes() {
        assert_eq!(
            run(&[
                vec![v(1, L, 1, 1, &[1]), v(2, F, 1, 0, &[1])],
                vec![v(1, F, 2, 1, &[1]), v(2, L, 2, 2, &[1, 2])],
                vec![v(1, F, 2, 2, &[1, 2]), v(2, L, 2, 3, &[1, 2, 2])],
            ]),
            Ok(())
        );
    }

    #[test]
    fn detects_two_leaders_in_one_term() {
        assert_eq!(
            run(&[vec![v(1, L, 1, 0, &[]), v(2, F, 1, 0, &[])], vec![v(1, F, 1, 0, &[]), v(2, L, 1, 0, &[])]]),
            Err(Violation::ElectionSafety { term: 1, first: 1, second: 2 })
        );
        // The same node leading the same term again after a restart.
        let mut again = v(1, L, 1, 0, &[]);
        again.inc = 99;
        assert_eq!(
            run(&[vec![v(1, L, 1, 0, &[])], vec![again]]),
            Err(Violation::ElectionSafety { term: 1, first: 1, second: 1 })
        );
    }

    #[test]
    fn detects_log_matching_violation() {
        assert_eq!(
            run(&[vec![v(1, F, 3, 0, &[1, 2, 3]), v(2, F, 3, 0, &[1, 1, 3])]]),
            Err(Violation::LogMatching { node: 2, index: 3, term: 3 })
        );
    }

    #[test]
    fn detects_leader_overwriting_its_log() {
        assert_eq!(
            run(&[vec![v(1, L, 2, 0, &[1, 2])], vec![v(1, L, 2, 0, &[1])]]),
            Err(Violation::LeaderAppendOnly { node: 1, term: 2, index: 2 })
        );
    }

    #[test]
    fn detects_state_machine_safety_violation() {
        assert_eq!(
            run(&[vec![v(1, F, 2, 2, &[1, 1])], vec![v(2, F, 2, 2, &[1, 2])]]),
            Err(Violation::StateMachineSafety { node: 2, index: 2, expected_term: 1, found_term: 2 })
        );
    }

    #[test]
    fn detects_leader_completeness_violation_but_not_for_stale_leaders() {
        // Index 2 committed in term 2; the leader of term 3 lacks it.
        assert_eq!(
            run(&[vec![v(1, L, 2, 2, &[1, 2])], vec![v(3, L, 3, 0, &[1])]]),
            Err(Violation::LeaderCompleteness { leader: 3, term: 3, index: 2 })
        );
        // A stale leader of term 1 may lack entries committed in term 2.
        assert_eq!(run(&[vec![v(2, L, 2, 2, &[1, 2]), v(1, L, 1, 0, &[1, 1, 1])]]), Ok(()));
    }

    #[test]
    fn detects_missing_committed_entries_at_convergence() {
        let mut c = Checker::new();
        let a = v(1, L, 1, 2, &[1, 1]);
        let b = v(2, F, 1, 1, &[1]);
        c.observe(&[view(&a), view(&b)]).unwrap();
        assert_eq!(c.check_converged(&[view(&a), view(&b)]), Err(Violation::MissingCommitted { node: 2, index: 2 }));
    }

    #[test]
    fn detects_non_durable_commit_when_required() {
        let mut c = Checker::new().require_durable_commit(true);
        let a = v(1, L, 1, 2, &[1, 1]);
        let mut va = view(&a);
        va.durable_len = 1;
        assert_eq!(c.observe(&[va]), Err(Violation::CommittedNotDurable { node: 1, commit: 2, durable_len: 1 }));
    }
}

// ---- membership change (stream scale up/down) ---------------------------------

/// Deliver every message among `nodes` until none is left.
fn pump(nodes: &mut BTreeMap<NodeId, Raft<u64>>, mut out: Vec<(NodeId, Output<u64>)>, now: u64, rng: &mut SplitMix) {
    let mut queue: VecDeque<(NodeId, NodeId, Msg<u64>)> = VecDeque::new();
    for (from, o) in out.drain(..) {
        for (to, m) in o.sends {
            queue.push_back((from, to, m));
        }
    }
    let mut steps = 0;
    while let Some((from, to, m)) = queue.pop_front() {
        steps += 1;
        assert!(steps < 10_000, "message storm");
        let Some(n) = nodes.get_mut(&to) else { continue };
        let mut o = Output::new();
        n.on_message(now, from, m, rng, &mut o);
        for (t, m) in o.sends {
            queue.push_back((to, t, m));
        }
    }
}

#[test]
fn set_peers_grows_a_singleton_and_shrinks_back() {
    let mut rng = SplitMix(3);
    let (mut a, mut o) = Raft::new(1, vec![1], cfg(), Storage::new(SyncPolicy::Always), 0, &mut rng);
    a.on_timer(10 * SEC, &mut rng, &mut o);
    assert!(a.is_leader());
    let mut o = Output::new();
    for v in [10, 11, 12] {
        a.propose(10 * SEC, v, &mut o).unwrap();
    }
    assert_eq!(a.commit_index(), 4, "alone, every entry commits at once");
    // Two empty members join; a quorum is now 2 of 3.
    let now = 11 * SEC;
    let mut nodes: BTreeMap<NodeId, Raft<u64>> = BTreeMap::new();
    for id in [2, 3] {
        let (n, _) = Raft::new(id, vec![1, 2, 3], cfg(), Storage::new(SyncPolicy::Always), now, &mut rng);
        nodes.insert(id, n);
    }
    let mut o = Output::new();
    a.set_peers(now, vec![1, 2, 3], &mut o);
    assert_eq!((a.peers(), a.quorum_size()), (&[1, 2, 3][..], 2));
    assert!(a.progress().iter().all(|p| p.last_heard == Some(now)), "added peers count as heard now");
    nodes.insert(1, a);
    pump(&mut nodes, vec![(1, o)], now, &mut rng);
    for id in [2, 3] {
        assert_eq!(nodes[&id].log(), nodes[&1].log(), "member {id} caught up");
        assert_eq!(nodes[&id].leader(), Some(1));
    }
    // A new entry needs an acknowledgement now.
    let mut o = Output::new();
    let idx = nodes.get_mut(&1).unwrap().propose(now, 13, &mut o).unwrap();
    assert!(!nodes[&1].is_committed(idx), "not committed before a follower acked");
    pump(&mut nodes, vec![(1, o)], now, &mut rng);
    assert!(nodes[&1].is_committed(idx));
    // Back to one member: commits alone again.
    let mut a = nodes.remove(&1).unwrap();
    let mut o = Output::new();
    a.set_peers(now, vec![1], &mut o);
    let idx = a.propose(now, 14, &mut o).unwrap();
    assert!(a.is_committed(idx) && a.quorum_size() == 1);
    // set_config keeps the leader and its state.
    let mut o = Output::new();
    let mut c = cfg();
    c.election_min = 100 * SEC;
    c.election_max = 101 * SEC;
    a.set_config(now, c, &mut rng, &mut o);
    assert!(a.is_leader() && a.config().election_min == 100 * SEC);
}
