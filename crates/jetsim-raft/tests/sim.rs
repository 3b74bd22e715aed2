//! Deterministic simulation of Raft groups under faults.
//!
//! N nodes (3 or 5), a message queue with random per-message delays (so
//! messages reorder), a seeded PRNG, and faults: process crashes (storage
//! kept), power losses (only synced data kept), partitions (leader, random
//! minority, majority/minority splits, one-way links), message drops, pauses
//! (SIGSTOP: timers and inbox frozen), leader transfers, random proposals.
//! After every step the Raft invariants are checked with
//! `jetsim_raft::invariants::Checker`, plus, at the application level, that
//! no two nodes apply different payloads at one index and that each node
//! instance applies a contiguous sequence. After the fault phase everything
//! heals and the run continues until the group has converged: one leader,
//! identical logs, everything committed and applied everywhere, and every
//! acknowledged (committed) proposal present on every node.

use std::collections::{BTreeMap, BTreeSet};

use jetsim_raft::invariants::{Checker, Violation};
use jetsim_raft::*;

// ---- a tiny seeded PRNG ---------------------------------------------------------

#[derive(Clone)]
struct Rng(u64);

impl Entropy for Rng {
    fn next_u64(&mut self) -> u64 {
        // SplitMix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            (((self.next_u64() as u128) * (n as u128)) >> 64) as u64
        }
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo))
    }
    fn permille(&mut self, p: u64) -> bool {
        self.below(1000) < p
    }
    fn pick<T: Copy>(&mut self, v: &[T]) -> Option<T> {
        if v.is_empty() {
            None
        } else {
            Some(v[self.below(v.len() as u64) as usize])
        }
    }
}

// ---- fault profiles -------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
struct Profile {
    name: &'static str,
    sync: SyncPolicy,
    drop_permille: u64,
    max_delay: u64,
    crash: bool,
    power_loss: bool,
    partition: bool,
    pause: bool,
    transfer: bool,
    /// Whether safety violations are expected to be possible (lazy fsync).
    unsafe_durability: bool,
}

const BASE: Profile = Profile {
    name: "",
    sync: SyncPolicy::Always,
    drop_permille: 0,
    max_delay: 20 * MS,
    crash: false,
    power_loss: false,
    partition: false,
    pause: false,
    transfer: false,
    unsafe_durability: false,
};

const LOSSY: Profile =
    Profile { name: "lossy-network", drop_permille: 100, max_delay: 150 * MS, transfer: true, ..BASE };
const CRASH: Profile = Profile { name: "crash-and-power-loss", crash: true, power_loss: true, ..BASE };
const PARTITION: Profile = Profile { name: "partitions", partition: true, drop_permille: 10, ..BASE };
const PAUSE: Profile = Profile { name: "pauses", pause: true, transfer: true, ..BASE };
const MIXED: Profile = Profile {
    name: "mixed",
    drop_permille: 30,
    max_delay: 60 * MS,
    crash: true,
    power_loss: true,
    partition: true,
    pause: true,
    transfer: true,
    ..BASE
};
const LAZY: Profile = Profile {
    name: "lazy-fsync-power-loss",
    sync: SyncPolicy::Interval(10 * SEC),
    power_loss: true,
    partition: true,
    pause: true,
    unsafe_durability: true,
    ..BASE
};

// ---- the simulated world ----------------------------------------------------------

enum Slot {
    Up(Box<Raft<u64>>),
    Paused(Box<Raft<u64>>, Vec<(NodeId, Msg<u64>)>),
    Down(Storage<u64>),
}

/// Node table indexed by id - 1 (ids are 1..=n), with the few map-like
/// operations the harness needs.
#[derive(Default)]
struct Nodes(Vec<(NodeId, Option<Slot>)>);

impl Nodes {
    fn pos(&self, id: NodeId) -> Option<usize> {
        let i = (id as usize).checked_sub(1)?;
        (i < self.0.len()).then_some(i)
    }
    fn get(&self, id: &NodeId) -> Option<&Slot> {
        self.pos(*id).and_then(|i| self.0[i].1.as_ref())
    }
    fn get_mut(&mut self, id: &NodeId) -> Option<&mut Slot> {
        self.pos(*id).and_then(|i| self.0[i].1.as_mut())
    }
    fn remove(&mut self, id: &NodeId) -> Option<Slot> {
        self.pos(*id).and_then(|i| self.0[i].1.take())
    }
    fn insert(&mut self, id: NodeId, slot: Slot) {
        let i = id as usize - 1;
        while self.0.len() <= i {
            let next = self.0.len() as NodeId + 1;
            self.0.push((next, None));
        }
        self.0[i].1 = Some(slot);
    }
    fn iter(&self) -> impl Iterator<Item = (&NodeId, &Slot)> {
        self.0.iter().filter_map(|(id, s)| s.as_ref().map(|s| (id, s)))
    }
}

impl<'a> IntoIterator for &'a Nodes {
    type Item = (&'a NodeId, &'a Slot);
    type IntoIter = Box<dyn Iterator<Item = (&'a NodeId, &'a Slot)> + 'a>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

#[derive(Default, Debug, Clone)]
struct Stats {
    steps: u64,
    messages: u64,
    dropped: u64,
    proposals: u64,
    acked: u64,
    elections_won: u64,
    truncations: u64,
    lost_quorum_stepdowns: u64,
    transfers: u64,
    crashes: u64,
    power_losses: u64,
    pauses: u64,
    partitions: u64,
    refused_truncations: u64,
}

impl Stats {
    fn add(&mut self, o: &Stats) {
        self.steps += o.steps;
        self.messages += o.messages;
        self.dropped += o.dropped;
        self.proposals += o.proposals;
        self.acked += o.acked;
        self.elections_won += o.elections_won;
        self.truncations += o.truncations;
        self.lost_quorum_stepdowns += o.lost_quorum_stepdowns;
        self.transfers += o.transfers;
        self.crashes += o.crashes;
        self.power_losses += o.power_losses;
        self.pauses += o.pauses;
        self.partitions += o.partitions;
        self.refused_truncations += o.refused_truncations;
    }
}

#[derive(Debug)]
#[allow(dead_code)] // fields are read through Debug
enum Failure {
    Invariant(Violation),
    Apply(String),
    NotConverged(String),
}

struct Sim {
    p: Profile,
    rng: Rng,
    now: u64,
    ids: Vec<NodeId>,
    config: Config,
    nodes: Nodes,
    queue: BTreeMap<(u64, u64), (NodeId, NodeId, Msg<u64>)>,
    seq: u64,
    blocked: BTreeSet<(NodeId, NodeId)>,
    drop_permille: u64,
    checker: Checker<u64>,
    /// Payload first applied at each index (by any node).
    applied_global: Vec<Option<u64>>,
    /// Per node: index the current instance applied last.
    applied_last: BTreeMap<NodeId, Index>,
    /// Values acknowledged to "clients": committed on their leader.
    acked: BTreeMap<u64, Index>,
    restarts: Vec<(u64, NodeId)>,
    resumes: Vec<(u64, NodeId)>,
    heal_partition_at: Option<u64>,
    next_fault: u64,
    next_proposal: u64,
    next_value: u64,
    trace: u64,
    stats: Stats,
}

fn fingerprint(v: &u64) -> u64 {
    *v
}

impl Sim {
    fn new(seed: u64, n: u32, p: Profile) -> Sim {
        let mut rng = Rng(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ n as u64);
        let ids: Vec<NodeId> = (1..=n).collect();
        let mut config = Config::nats_defaults();
        // Some runs use small batches: followers then catch up a few entries
        // at a time, with many batch boundaries.
        config.max_batch_entries = [4, 32, 32, 32][rng.below(4) as usize];
        // Half the runs start the way a new stream group does, with a preferred leader.
        if rng.permille(500) {
            config.preferred_leader = rng.pick(&ids);
        }
        let mut sim = Sim {
            p,
            rng,
            now: 0,
            ids: ids.clone(),
            config,
            nodes: Nodes::default(),
            queue: BTreeMap::new(),
            seq: 0,
            blocked: BTreeSet::new(),
            drop_permille: p.drop_permille,
            checker: Checker::new().with_fingerprint(fingerprint).require_durable_commit(!p.unsafe_durability),
            applied_global: Vec::new(),
            applied_last: BTreeMap::new(),
            acked: BTreeMap::new(),
            restarts: Vec::new(),
            resumes: Vec::new(),
            heal_partition_at: None,
            next_fault: 0,
            next_proposal: 0,
            next_value: 1,
            trace: 0,
            stats: Stats::default(),
        };
        sim.next_fault = sim.rng.range(2 * SEC, 8 * SEC);
        sim.next_proposal = sim.rng.range(0, 300 * MS);
        for id in ids {
            sim.nodes.insert(id, Slot::Down(Storage::new(p.sync)));
            sim.start(id);
        }
        sim
    }

    fn mix(&mut self, x: u64) {
        self.trace = (self.trace ^ x).wrapping_mul(0x0000_0100_0000_01B3).rotate_left(17);
    }

    fn start(&mut self, id: NodeId) {
        if !matches!(self.nodes.get(&id), Some(Slot::Down(_))) {
            return;
        }
        let Some(Slot::Down(storage)) = self.nodes.remove(&id) else {
            return;
        };
        let (r, out) = Raft::new(id, self.ids.clone(), self.config.clone(), storage, self.now, &mut self.rng);
        self.nodes.insert(id, Slot::Up(Box::new(r)));
        self.applied_last.insert(id, 0);
        self.absorb(id, out).ok();
    }

    fn leaders(&self) -> Vec<NodeId> {
        self.nodes
            .iter()
            .filter_map(|(&id, s)| match s {
                Slot::Up(r) if r.is_leader() => Some(id),
                _ => None,
            })
            .collect()
    }

    fn absorb(&mut self, id: NodeId, out: Output<u64>) -> Result<(), Failure> {
        for (to, m) in out.sends {
            self.stats.messages += 1;
            self.mix(((id as u64) << 40) ^ ((to as u64) << 32) ^ m.term() ^ (m.kind().len() as u64) << 48);
            if self.rng.permille(self.drop_permille) {
                self.stats.dropped += 1;
                continue;
            }
            let delay = self.rng.range(MS / 2, self.p.max_delay);
            self.seq += 1;
            self.queue.insert((self.now + delay, self.seq), (id, to, m));
        }
        let is_leader = matches!(self.nodes.get(&id), Some(Slot::Up(r)) if r.is_leader());
        let mut last = *self.applied_last.get(&id).unwrap_or(&0);
        for e in &out.committed {
            if e.index != last + 1 {
                return Err(Failure::Apply(format!("node {id} applied {} after {last}", e.index)));
            }
            last = e.index;
            let v = match e.payload {
                Payload::Normal(v) => Some(v),
                Payload::Noop => None,
            };
            let pos = (e.index - 1) as usize;
            if self.applied_global.len() <= pos {
                self.applied_global.resize(pos + 1, None);
                self.applied_global[pos] = v;
            } else if self.applied_global[pos] != v && !self.p.unsafe_durability {
                return Err(Failure::Apply(format!(
                    "node {id} applied {v:?} at {}, another node applied {:?}",
                    e.index, self.applied_global[pos]
                )));
            }
            if is_leader {
                if let Some(v) = v {
                    self.acked.insert(v, e.index);
                    self.stats.acked += 1;
                }
            }
        }
        self.applied_last.insert(id, last);
        for ev in &out.events {
            match ev {
                RaftEvent::BecameLeader { term } => {
                    self.stats.elections_won += 1;
                    self.mix(*term);
                }
                RaftEvent::Truncated { .. } => self.stats.truncations += 1,
                RaftEvent::SteppedDown { reason: StepDownReason::LostQuorum, .. } => {
                    self.stats.lost_quorum_stepdowns += 1
                }
                RaftEvent::LeaderTransfer { .. } => self.stats.transfers += 1,
                RaftEvent::Ignored { reason: IgnoreReason::WouldTruncateCommitted { .. }, .. } => {
                    self.stats.refused_truncations += 1
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn check(&mut self) -> Result<(), Failure> {
        self.stats.steps += 1;
        // A plain loop: this runs after every step and debug-mode iterator
        // adapters are slow.
        let mut views = Vec::with_capacity(self.nodes.0.len());
        for (_, s) in &self.nodes.0 {
            if let Some(Slot::Up(r) | Slot::Paused(r, _)) = s {
                views.push(r.view());
            }
        }
        self.checker.observe(&views).map_err(Failure::Invariant)
    }

    fn with_node(
        &mut self,
        id: NodeId,
        f: impl FnOnce(&mut Raft<u64>, u64, &mut Rng, &mut Output<u64>),
    ) -> Result<(), Failure> {
        let mut out = Output::new();
        let now = self.now;
        match self.nodes.get_mut(&id) {
            Some(Slot::Up(r)) => f(r, now, &mut self.rng, &mut out),
            _ => return Ok(()),
        }
        self.absorb(id, out)
    }

    // ---- faults ---------------------------------------------------------------------

    fn up_ids(&self) -> Vec<NodeId> {
        self.nodes.iter().filter(|(_, s)| matches!(s, Slot::Up(_))).map(|(&id, _)| id).collect()
    }

    fn victim(&mut self) -> Option<NodeId> {
        // Prefer the leader half of the time: that is where it hurts.
        let leaders = self.leaders();
        if !leaders.is_empty() && self.rng.permille(500) {
            return self.rng.pick(&leaders);
        }
        let up = self.up_ids();
        self.rng.pick(&up)
    }

    fn kill(&mut self, id: NodeId, power_loss: bool) {
        let Some(slot) = self.nodes.remove(&id) else {
            return;
        };
        let storage = match slot {
            Slot::Up(r) | Slot::Paused(r, _) => r.into_storage(),
            Slot::Down(s) => s,
        };
        let storage = if power_loss {
            self.stats.power_losses += 1;
            storage.after_power_loss()
        } else {
            self.stats.crashes += 1;
            storage.after_crash()
        };
        self.nodes.insert(id, Slot::Down(storage));
        self.resumes.retain(|&(_, n)| n != id);
    }

    fn inject_fault(&mut self) -> Result<(), Failure> {
        let mut kinds = Vec::new();
        if self.p.crash {
            kinds.push(0);
        }
        if self.p.power_loss {
            kinds.push(1);
        }
        if self.p.partition {
            kinds.push(2);
            kinds.push(2);
        }
        if self.p.pause {
            kinds.push(3);
        }
        if self.p.transfer {
            kinds.push(4);
        }
        let Some(kind) = self.rng.pick(&kinds) else {
            return Ok(());
        };
        match kind {
            0 | 1 => {
                let power_loss = kind == 1;
                // Sometimes a coordinated power loss of a majority (or of every node).
                let victims: Vec<NodeId> = if power_loss && self.rng.permille(250) {
                    let k = if self.rng.permille(500) { self.ids.len() } else { self.ids.len() / 2 + 1 };
                    let mut all = self.ids.clone();
                    let mut chosen = Vec::new();
                    for _ in 0..k {
                        let i = self.rng.below(all.len() as u64) as usize;
                        chosen.push(all.remove(i));
                    }
                    chosen
                } else {
                    self.victim().into_iter().collect()
                };
                for id in victims {
                    self.kill(id, power_loss);
                    let at = self.now + self.rng.range(SEC, 15 * SEC);
                    self.restarts.push((at, id));
                }
            }
            2 => {
                self.stats.partitions += 1;
                self.blocked.clear();
                let n = self.ids.len();
                let ids = self.ids.clone();
                let mut side: Vec<NodeId> = match self.rng.below(4) {
                    // The leader alone.
                    0 => self.leaders().into_iter().take(1).collect(),
                    // A random minority.
                    1 => {
                        let k = 1 + self.rng.below((n / 2) as u64) as usize;
                        let mut pool = ids;
                        (0..k).map(|_| pool.remove(self.rng.below(pool.len() as u64) as usize)).collect()
                    }
                    // Any random split (may cut off a majority).
                    _ => ids.into_iter().filter(|_| self.rng.permille(400)).collect(),
                };
                if side.is_empty() {
                    side = self.rng.pick(&self.ids).into_iter().collect();
                }
                let one_way = self.rng.permille(150);
                for &a in &side {
                    for &b in &self.ids {
                        if !side.contains(&b) {
                            self.blocked.insert((a, b));
                            if !one_way {
                                self.blocked.insert((b, a));
                            }
                        }
                    }
                }
                self.heal_partition_at = Some(self.now + self.rng.range(2 * SEC, 25 * SEC));
            }
            3 => {
                if let Some(id) = self.victim() {
                    if let Some(Slot::Up(r)) = self.nodes.remove(&id) {
                        self.nodes.insert(id, Slot::Paused(r, Vec::new()));
                        self.stats.pauses += 1;
                        let at = self.now + self.rng.range(SEC, 20 * SEC);
                        self.resumes.push((at, id));
                    }
                }
            }
            _ => {
                if let Some(l) = self.rng.pick(&self.leaders()) {
                    let target = if self.rng.permille(700) { self.rng.pick(&self.ids) } else { None };
                    self.with_node(l, |r, now, rng, out| {
                        let _ = r.step_down(now, target, rng, out);
                    })?;
                }
            }
        }
        Ok(())
    }

    fn heal_all(&mut self) {
        self.blocked.clear();
        self.heal_partition_at = None;
        self.drop_permille = 0;
        for (_, id) in std::mem::take(&mut self.restarts) {
            self.start(id);
        }
        for id in self.ids.clone() {
            if matches!(self.nodes.get(&id), Some(Slot::Down(_))) {
                self.start(id);
            }
        }
        for (_, id) in std::mem::take(&mut self.resumes) {
            self.resume(id);
        }
    }

    fn resume(&mut self, id: NodeId) {
        if let Some(Slot::Paused(r, inbox)) = self.nodes.remove(&id) {
            self.nodes.insert(id, Slot::Up(r));
            // The kernel buffered what arrived meanwhile: deliver it soon, in order.
            for (from, m) in inbox {
                self.seq += 1;
                self.queue.insert((self.now, self.seq), (from, id, m));
            }
        }
    }

    // ---- the loop ---------------------------------------------------------------------

    fn step(&mut self, fault_end: u64, propose_end: u64) -> Result<bool, Failure> {
        // Next thing to happen.
        let mut best: (u64, u8, NodeId) = (u64::MAX, 9, 0);
        let mut consider = |t: u64, what: u8, id: NodeId| {
            if (t, what, id) < best {
                best = (t, what, id);
            }
        };
        if let Some((&(t, _), _)) = self.queue.first_key_value() {
            consider(t, 0, 0);
        }
        for (&id, s) in &self.nodes {
            if let Slot::Up(r) = s {
                if let Some(t) = r.next_wakeup() {
                    consider(t, 1, id);
                }
            }
        }
        for &(t, id) in &self.restarts {
            consider(t, 2, id);
        }
        for &(t, id) in &self.resumes {
            consider(t, 3, id);
        }
        if let Some(t) = self.heal_partition_at {
            consider(t, 4, 0);
        }
        if self.next_fault < fault_end {
            consider(self.next_fault, 5, 0);
        }
        if self.next_proposal < propose_end {
            consider(self.next_proposal, 6, 0);
        }
        let (t, what, id) = best;
        if t == u64::MAX {
            return Ok(false);
        }
        self.now = self.now.max(t);
        self.mix(t ^ ((what as u64) << 56));
        match what {
            0 => {
                let ((_, _), (from, to, m)) = self.queue.pop_first().unwrap();
                if self.blocked.contains(&(from, to)) {
                    self.stats.dropped += 1;
                } else {
                    match self.nodes.get_mut(&to) {
                        Some(Slot::Paused(_, inbox)) => inbox.push((from, m)),
                        Some(Slot::Up(_)) => {
                            self.with_node(to, |r, now, rng, out| r.on_message(now, from, m, rng, out))?
                        }
                        _ => self.stats.dropped += 1,
                    }
                }
            }
            1 => self.with_node(id, |r, now, rng, out| r.on_timer(now, rng, out))?,
            2 => {
                self.restarts.retain(|&(tt, n)| !(tt == t && n == id));
                self.start(id);
            }
            3 => {
                self.resumes.retain(|&(tt, n)| !(tt == t && n == id));
                self.resume(id);
            }
            4 => {
                self.blocked.clear();
                self.heal_partition_at = None;
            }
            5 => {
                self.inject_fault()?;
                self.next_fault = self.now + self.rng.range(SEC, 8 * SEC);
            }
            _ => {
                let leaders = self.leaders();
                if let Some(l) = self.rng.pick(&leaders) {
                    let v = self.next_value;
                    self.next_value += 1;
                    self.stats.proposals += 1;
                    if self.rng.permille(100) {
                        let batch: Vec<u64> = (0..self.rng.range(2, 40)).map(|i| v * 1000 + i).collect();
                        self.with_node(l, |r, now, _, out| {
                            r.propose_batch(now, batch, out).unwrap();
                        })?;
                    } else {
                        self.with_node(l, |r, now, _, out| {
                            r.propose(now, v * 1000, out).unwrap();
                        })?;
                    }
                }
                self.next_proposal = self.now + self.rng.range(20 * MS, 400 * MS);
            }
        }
        self.check()?;
        Ok(true)
    }

    /// Runs the fault phase, heals, and returns once converged (or fails).
    fn run(&mut self, fault_phase: u64, max_heal: u64) -> Result<(), Failure> {
        let fault_end = fault_phase;
        while self.now < fault_end {
            if !self.step(fault_end, fault_end)? {
                break;
            }
        }
        self.heal_all();
        self.check()?;
        let deadline = self.now + max_heal;
        let propose_end = self.now + 5 * SEC;
        // Liveness: converge within max_heal; check every simulated second.
        let mut next_probe = self.now + 10 * SEC;
        loop {
            if !self.step(fault_end, propose_end)? {
                return Err(Failure::NotConverged("nothing left to do".into()));
            }
            if self.now >= next_probe {
                next_probe = self.now + SEC;
                if self.converged().is_ok() {
                    return Ok(());
                }
            }
            if self.now > deadline {
                return Err(Failure::NotConverged(self.converged().unwrap_err()));
            }
        }
    }

    fn converged(&self) -> Result<(), String> {
        let leaders = self.leaders();
        if leaders.len() != 1 {
            return Err(format!("leaders {leaders:?}"));
        }
        let Some(Slot::Up(l)) = self.nodes.get(&leaders[0]) else { unreachable!() };
        if !l.is_leader_ready() || l.commit_index() != l.last_index() {
            return Err(format!("leader {} commit {} last {}", l.id(), l.commit_index(), l.last_index()));
        }
        let mut views = Vec::new();
        for (&id, s) in &self.nodes {
            let Slot::Up(r) = s else {
                return Err(format!("node {id} not up"));
            };
            if r.log() != l.log() || r.commit_index() != l.commit_index() || r.applied_index() != r.commit_index() {
                return Err(format!(
                    "node {id}: last {} commit {} applied {} vs leader {} last {} commit {}",
                    r.last_index(),
                    r.commit_index(),
                    r.applied_index(),
                    l.id(),
                    l.last_index(),
                    l.commit_index()
                ));
            }
            views.push(r.view());
        }
        self.checker.check_converged(&views).map_err(|v| v.to_string())?;
        for (&v, &index) in &self.acked {
            match l.entry(index).map(|e| &e.payload) {
                Some(Payload::Normal(x)) if *x == v => {}
                other => return Err(format!("acked value {v} at {index} is now {other:?}")),
            }
        }
        Ok(())
    }
}

// ---- drivers ----------------------------------------------------------------------

const SEEDS: u64 = 200;
const FAULT_PHASE: u64 = 30 * SEC;
const MAX_HEAL: u64 = 120 * SEC;

fn run_profile(p: Profile) -> (Stats, Vec<(u64, u32, String)>) {
    let mut total = Stats::default();
    let mut failures = Vec::new();
    for seed in 0..SEEDS {
        // Alternate 3- and 5-node groups.
        let n = if seed % 2 == 0 { 3 } else { 5 };
        let mut sim = Sim::new(seed, n, p);
        let r = sim.run(FAULT_PHASE, MAX_HEAL);
        total.add(&sim.stats);
        if let Err(f) = r {
            failures.push((seed, n, format!("{f:?}")));
        }
    }
    (total, failures)
}

fn assert_safe_profile(p: Profile) -> Stats {
    let (stats, failures) = run_profile(p);
    eprintln!("{}: {stats:?}", p.name);
    assert!(
        failures.is_empty(),
        "{}: {} failing seeds, first: {:?}",
        p.name,
        failures.len(),
        &failures[..failures.len().min(3)]
    );
    // Non-vacuous: work was done and acknowledged.
    assert!(stats.acked > 1000 * SEEDS / 20, "{}: only {} acked", p.name, stats.acked);
    assert!(stats.elections_won >= SEEDS, "{}", p.name);
    stats
}

#[test]
fn sim_lossy_network() {
    let s = assert_safe_profile(LOSSY);
    assert!(s.dropped > 0 && s.transfers > 0);
}

#[test]
fn sim_crash_and_power_loss_with_sync_always() {
    let s = assert_safe_profile(CRASH);
    assert!(s.crashes > 0 && s.power_losses > 0);
    assert!(s.truncations > 0, "coverage: some divergent suffix was truncated");
}

#[test]
fn sim_partitions() {
    let s = assert_safe_profile(PARTITION);
    assert!(s.partitions > 0 && s.truncations > 0 && s.lost_quorum_stepdowns > 0, "{s:?}");
}

#[test]
fn sim_pauses() {
    let s = assert_safe_profile(PAUSE);
    assert!(s.pauses > 0 && s.lost_quorum_stepdowns > 0, "{s:?}");
}

#[test]
fn sim_mixed() {
    let s = assert_safe_profile(MIXED);
    assert!(s.crashes > 0 && s.power_losses > 0 && s.partitions > 0 && s.pauses > 0 && s.transfers > 0);
}

/// Lazy fsync + power loss: the checker must catch lost acknowledged writes
/// in some seeds (Jepsen's NATS 2.12.1 finding). This shows the checker and
/// the durability model have teeth; it is not a property of a correct setup.
#[test]
fn sim_lazy_fsync_power_loss_loses_acked_writes() {
    let (stats, failures) = run_profile(LAZY);
    let violations = failures.iter().filter(|(_, _, f)| f.starts_with("Invariant")).count();
    eprintln!("{}: {} of {SEEDS} seeds violated safety; {stats:?}", LAZY.name, violations);
    assert!(violations > 0, "no seed lost data with a 10 s sync interval and power losses");
}

#[test]
fn sim_is_deterministic() {
    for seed in [3, 4, 17] {
        let n = if seed % 2 == 0 { 3 } else { 5 };
        let mut a = Sim::new(seed, n, MIXED);
        let mut b = Sim::new(seed, n, MIXED);
        let ra = format!("{:?}", a.run(FAULT_PHASE, MAX_HEAL));
        let rb = format!("{:?}", b.run(FAULT_PHASE, MAX_HEAL));
        assert_eq!(ra, rb);
        assert_eq!(a.trace, b.trace);
        assert_eq!(a.stats.messages, b.stats.messages);
        assert!(a.stats.messages > 100);
    }
    // And different seeds differ.
    let mut a = Sim::new(1, 3, MIXED);
    let mut b = Sim::new(2, 3, MIXED);
    let _ = a.run(FAULT_PHASE, MAX_HEAL);
    let _ = b.run(FAULT_PHASE, MAX_HEAL);
    assert_ne!(a.trace, b.trace);
}

#[test]
#[ignore]
fn debug_one_seed() {
    let seed: u64 = std::env::var("SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0);
    let n: u32 = std::env::var("N").ok().and_then(|s| s.parse().ok()).unwrap_or(3);
    let p = match std::env::var("PROFILE").as_deref() {
        Ok("crash") => CRASH,
        Ok("partition") => PARTITION,
        Ok("pause") => PAUSE,
        Ok("lossy") => LOSSY,
        Ok("lazy") => LAZY,
        _ => MIXED,
    };
    let mut sim = Sim::new(seed, n, p);
    let r = sim.run(FAULT_PHASE, MAX_HEAL);
    for (&id, s) in &sim.nodes {
        match s {
            Slot::Up(r) => eprintln!(
                "node {id}: {:?} term {} leader {:?} last {} commit {} wake {:?}",
                r.role(),
                r.term(),
                r.leader(),
                r.last_index(),
                r.commit_index(),
                r.next_wakeup()
            ),
            Slot::Paused(..) => eprintln!("node {id}: paused"),
            Slot::Down(_) => eprintln!("node {id}: down"),
        }
    }
    eprintln!("now {} result {r:?} stats {:?}", sim.now, sim.stats);
}

/// `cargo test --release -p jetsim-raft --test sim bench_throughput -- --ignored --nocapture`
/// Replicated, committed proposals per wall-clock second for a 3-node group
/// (every message through the simulated network, invariants checked after
/// every step).
#[test]
#[ignore]
fn bench_throughput() {
    let quiet = Profile { name: "quiet", ..BASE };
    let mut sim = Sim::new(1, 3, quiet);
    let started = std::time::Instant::now();
    // No faults; a proposal every 20..400 ms of simulated time, 10 minutes.
    sim.run(600 * SEC, MAX_HEAL).unwrap();
    let wall = started.elapsed().as_secs_f64();
    eprintln!(
        "{} proposals committed, {} messages, {} steps in {wall:.3} s wall: {:.0} commits/s, {:.0} steps/s",
        sim.stats.acked,
        sim.stats.messages,
        sim.stats.steps,
        sim.stats.acked as f64 / wall,
        sim.stats.steps as f64 / wall
    );
    assert!(sim.stats.acked > 1000);
}

/// Lists which invariant each failing seed of the lazy-fsync profile broke.
#[test]
#[ignore]
fn lazy_profile_breakdown() {
    let (_, failures) = run_profile(LAZY);
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for (_, _, f) in &failures {
        let k = f.split(['{', '(']).take(2).collect::<Vec<_>>().join("(");
        *kinds.entry(k).or_default() += 1;
    }
    eprintln!("{kinds:#?}");
}
