//! Runtime checks of Raft's safety properties (Raft paper, Figure 3) over
//! snapshots of node states, for simulators.
//!
//! Call [`Checker::observe`] after every simulation step with a
//! [`NodeView`] of every node that is running (paused nodes too; crashed
//! nodes have no volatile state and are left out). The checker remembers what
//! it saw, so the properties are checked across time, not just per snapshot:
//!
//! * **Election Safety** — at most one leader per term, ever. A node that
//!   restarts (new [`NodeView::incarnation`]) and leads a term it already led
//!   also counts as a second leader (it must have forgotten its vote).
//! * **Leader Append-Only** — while a node stays leader of a term, its log
//!   only grows (the entry at its previous last index is unchanged).
//! * **Log Matching** — two logs (seen at any times) holding an entry with the
//!   same index and term agree on every earlier term. Checked with the
//!   per-entry prefix hashes ([`crate::storage::chain_hash`]).
//! * **Leader Completeness** — an entry some node reported committed is in
//!   the log of every leader of a later term. The term in which an entry
//!   committed is bounded by the lowest current term among the nodes first
//!   reporting it; only leaders of strictly higher terms are checked, which
//!   never raises false alarms.
//! * **State Machine Safety** — every node's committed prefix (and so
//!   everything it applied) agrees with one global committed sequence,
//!   including across restarts of the same node.
//! * Sanity: `commit <= last index`, commit never decreases within an
//!   incarnation, and optionally (`require_durable_commit`, etcd's
//!   `CommittedIsDurableInv`) a leader's commit index is within its durable
//!   log.
//!
//! [`Checker::check_converged`] then checks, after healing, that every
//! committed entry is present on every node.
//!
//! Costs are amortised O(new entries) per observation; truncations and
//! restarts re-register a node's log once.

use std::fmt;

use crate::msg::{Entry, Payload};
use crate::raft::Role;
use crate::storage::chain_hash;
use crate::{Index, NodeId, Term};

/// A snapshot of one node, borrowed from it (see [`crate::Raft::view`]).
#[derive(Clone, Copy, Debug)]
pub struct NodeView<'a, E> {
    /// Node id.
    pub id: NodeId,
    /// Changes whenever the node restarts (any value unique per instance).
    pub incarnation: u64,
    /// Role.
    pub role: Role,
    /// Current term.
    pub term: Term,
    /// Commit index.
    pub commit: Index,
    /// Applied index.
    pub applied: Index,
    /// Length of the log prefix that survives a power loss.
    pub durable_len: Index,
    /// The log (`entries[i].index == i + 1`).
    pub entries: &'a [Entry<E>],
    /// Prefix hashes, `chains[i]` covering indices `1..=i+1` (see
    /// [`chains_of`] to build them for hand-made views).
    pub chains: &'a [u64],
}

impl<E> NodeView<'_, E> {
    /// Last index of the log.
    pub fn last_index(&self) -> Index {
        self.entries.len() as Index
    }
    /// Term at `i` (0 for 0; None beyond the log).
    pub fn term_at(&self, i: Index) -> Option<Term> {
        if i == 0 {
            return Some(0);
        }
        if i > self.last_index() {
            return None;
        }
        self.entries.get((i - 1) as usize).map(|e| e.term)
    }
    /// Prefix hash at `i` (0 for 0; None beyond the log).
    pub fn chain_at(&self, i: Index) -> Option<u64> {
        if i == 0 {
            return Some(0);
        }
        if i > self.last_index() {
            return None;
        }
        self.chains.get((i - 1) as usize).copied()
    }
}

/// Prefix hashes for a log (for hand-made [`NodeView`]s).
pub fn chains_of<E>(entries: &[Entry<E>]) -> Vec<u64> {
    let mut prev = 0;
    entries
        .iter()
        .map(|e| {
            prev = chain_hash(prev, e.index, e.term);
            prev
        })
        .collect()
}

/// A broken property, with the nodes and indices involved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Violation {
    /// Two leaders (or two incarnations of one node) in the same term.
    ElectionSafety {
        /// The term.
        term: Term,
        /// The leader seen first.
        first: NodeId,
        /// The other one.
        second: NodeId,
    },
    /// A leader's log lost or changed an entry during its term.
    LeaderAppendOnly {
        /// The leader.
        node: NodeId,
        /// Its term.
        term: Term,
        /// The index that changed or disappeared.
        index: Index,
    },
    /// Same (index, term) with different earlier history.
    LogMatching {
        /// The node whose log disagreed with an earlier observation.
        node: NodeId,
        /// Index.
        index: Index,
        /// Term.
        term: Term,
    },
    /// A leader lacks an entry committed in an earlier term.
    LeaderCompleteness {
        /// The leader.
        leader: NodeId,
        /// Its term.
        term: Term,
        /// First committed index it lacks (or has with another term).
        index: Index,
    },
    /// A node's committed prefix disagrees with the committed sequence.
    StateMachineSafety {
        /// The node.
        node: NodeId,
        /// First disagreeing index.
        index: Index,
        /// Term committed there before.
        expected_term: Term,
        /// Term this node has there.
        found_term: Term,
    },
    /// Same (index, term) committed with different payloads (only with a
    /// fingerprint function).
    PayloadMismatch {
        /// The node.
        node: NodeId,
        /// Index.
        index: Index,
    },
    /// commit index beyond the node's log.
    CommitBeyondLog {
        /// The node.
        node: NodeId,
        /// Its commit index.
        commit: Index,
        /// Its last index.
        last_index: Index,
    },
    /// commit index went down without a restart.
    CommitRegressed {
        /// The node.
        node: NodeId,
        /// Previous commit index.
        was: Index,
        /// Current one.
        now: Index,
    },
    /// A leader's commit index is beyond its durable log.
    CommittedNotDurable {
        /// The leader.
        node: NodeId,
        /// Commit index.
        commit: Index,
        /// Durable length.
        durable_len: Index,
    },
    /// After convergence: a node lacks a committed entry.
    MissingCommitted {
        /// The node.
        node: NodeId,
        /// First missing (or different) committed index.
        index: Index,
    },
    /// A view whose `chains` do not match its `entries`.
    BadView {
        /// The node.
        node: NodeId,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::ElectionSafety { term, first, second } => {
                write!(f, "Election Safety: nodes {first} and {second} both led term {term}")
            }
            Violation::LeaderAppendOnly { node, term, index } => {
                write!(f, "Leader Append-Only: leader {node} of term {term} changed or dropped index {index}")
            }
            Violation::LogMatching { node, index, term } => {
                write!(f, "Log Matching: node {node} has ({index}, term {term}) with a different history")
            }
            Violation::LeaderCompleteness { leader, term, index } => {
                write!(f, "Leader Completeness: leader {leader} of term {term} lacks committed index {index}")
            }
            Violation::StateMachineSafety { node, index, expected_term, found_term } => write!(
                f,
                "State Machine Safety: node {node} committed term {found_term} at index {index}, \
                 term {expected_term} was committed there"
            ),
            Violation::PayloadMismatch { node, index } => {
                write!(f, "State Machine Safety: node {node} committed a different payload at index {index}")
            }
            Violation::CommitBeyondLog { node, commit, last_index } => {
                write!(f, "node {node} has commit {commit} beyond its last index {last_index}")
            }
            Violation::CommitRegressed { node, was, now } => {
                write!(f, "node {node} commit index went from {was} down to {now} without restarting")
            }
            Violation::CommittedNotDurable { node, commit, durable_len } => {
                write!(f, "leader {node} committed {commit} but only {durable_len} entries are durable")
            }
            Violation::MissingCommitted { node, index } => {
                write!(f, "node {node} lacks committed index {index} after convergence")
            }
            Violation::BadView { node } => write!(f, "view of node {node} is inconsistent"),
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct CommittedEntry {
    term: Term,
    chain: u64,
    /// Upper bound of the term in which the entry committed.
    bound: Term,
    fp: u64,
}

#[derive(Clone, Debug, Default)]
struct Track {
    id: NodeId,
    incarnation: u64,
    registered: Index,
    registered_chain: u64,
    commit_checked: Index,
    last_commit: Index,
    leader: Option<(Term, Index, u64)>,
    lc_term: Term,
    lc_checked: Index,
}

/// Stateful checker of the Raft safety properties (see the module docs).
#[derive(Clone, Debug)]
pub struct Checker<E> {
    /// Sorted by term (a `Vec`, not a `BTreeMap`: one map type less in the
    /// page's wasm; terms mostly arrive in order, so inserts append).
    leaders: Vec<(Term, (NodeId, u64))>,
    committed: Vec<CommittedEntry>,
    seen: Vec<Vec<(Term, u64)>>,
    /// Per-node memory (few nodes: a vector searched linearly).
    nodes: Vec<Track>,
    /// Scratch: position in `nodes` of each view of the current observation.
    slots: Vec<usize>,
    fingerprint: Option<fn(&E) -> u64>,
    require_durable_commit: bool,
    observations: u64,
}

impl<E> Default for Checker<E> {
    fn default() -> Self {
        Checker::new()
    }
}

impl<E> Checker<E> {
    /// A checker that compares entries by (index, term).
    pub fn new() -> Checker<E> {
        Checker {
            leaders: Vec::new(),
            committed: Vec::new(),
            seen: Vec::new(),
            nodes: Vec::new(),
            slots: Vec::new(),
            fingerprint: None,
            require_durable_commit: false,
            observations: 0,
        }
    }

    /// Also compares the payloads of committed entries through `f` (an entry
    /// committed at the same index must have the same fingerprint
    /// everywhere). No-ops fingerprint as 0.
    pub fn with_fingerprint(mut self, f: fn(&E) -> u64) -> Checker<E> {
        self.fingerprint = Some(f);
        self
    }

    /// Also requires a leader's commit index to be within its durable log
    /// (holds with [`crate::SyncPolicy::Always`]; lazy sync breaks it).
    pub fn require_durable_commit(mut self, on: bool) -> Checker<E> {
        self.require_durable_commit = on;
        self
    }

    /// Number of [`Checker::observe`] calls.
    pub fn observations(&self) -> u64 {
        self.observations
    }

    /// Highest index any node reported committed.
    pub fn committed_len(&self) -> Index {
        self.committed.len() as Index
    }

    /// Term of the committed entry at `index`.
    pub fn committed_term(&self, index: Index) -> Option<Term> {
        if index == 0 {
            return None;
        }
        self.committed.get((index - 1) as usize).map(|c| c.term)
    }

    /// Leaders seen so far, by term.
    pub fn leaders(&self) -> impl Iterator<Item = (Term, NodeId)> + '_ {
        self.leaders.iter().map(|(t, (n, _))| (*t, *n))
    }

    fn fp(&self, e: &Entry<E>) -> u64 {
        match (&self.fingerprint, &e.payload) {
            (Some(f), Payload::Normal(x)) => f(x),
            _ => 0,
        }
    }

    fn register(
        seen: &mut Vec<Vec<(Term, u64)>>,
        node: NodeId,
        i: Index,
        term: Term,
        chain: u64,
    ) -> Result<(), Violation> {
        let pos = (i - 1) as usize;
        if seen.len() <= pos {
            seen.resize_with(pos + 1, Vec::new);
        }
        let slot = &mut seen[pos];
        match slot.iter().find(|(t, _)| *t == term) {
            Some((_, c)) if *c != chain => Err(Violation::LogMatching { node, index: i, term }),
            Some(_) => Ok(()),
            None => {
                slot.push((term, chain));
                Ok(())
            }
        }
    }

    fn first_divergence(&self, v: &NodeView<'_, E>, upto: Index) -> Violation {
        for i in 1..=upto {
            let c = self.committed[(i - 1) as usize];
            if v.chain_at(i) != Some(c.chain) {
                return Violation::StateMachineSafety {
                    node: v.id,
                    index: i,
                    expected_term: c.term,
                    found_term: v.term_at(i).unwrap_or(0),
                };
            }
        }
        Violation::StateMachineSafety { node: v.id, index: upto, expected_term: 0, found_term: 0 }
    }

    /// Checks one step's snapshot of the running nodes. Returns the first
    /// violation found (the checker's memory is still updated as far as it
    /// got, so later calls may report further problems).
    pub fn observe(&mut self, views: &[NodeView<'_, E>]) -> Result<(), Violation> {
        self.observations += 1;
        self.slots.clear();
        for v in views {
            let slot = match self.nodes.iter().position(|t| t.id == v.id) {
                Some(i) => i,
                None => {
                    self.nodes.push(Track { id: v.id, incarnation: !v.incarnation, ..Track::default() });
                    self.nodes.len() - 1
                }
            };
            self.slots.push(slot);
        }
        // Per-node structural checks, Election Safety, Log Matching, Leader
        // Append-Only.
        for (k, v) in views.iter().enumerate() {
            let last = v.last_index();
            if v.chains.len() != v.entries.len() {
                return Err(Violation::BadView { node: v.id });
            }
            if v.commit > last {
                return Err(Violation::CommitBeyondLog { node: v.id, commit: v.commit, last_index: last });
            }
            if self.require_durable_commit && v.role == Role::Leader && v.commit > v.durable_len {
                return Err(Violation::CommittedNotDurable {
                    node: v.id,
                    commit: v.commit,
                    durable_len: v.durable_len,
                });
            }
            if v.role == Role::Leader {
                match self.leaders.binary_search_by_key(&v.term, |(t, _)| *t) {
                    Err(at) => {
                        self.leaders.insert(at, (v.term, (v.id, v.incarnation)));
                    }
                    Ok(at) => {
                        let (id, inc) = self.leaders[at].1;
                        if id != v.id || inc != v.incarnation {
                            return Err(Violation::ElectionSafety { term: v.term, first: id, second: v.id });
                        }
                    }
                }
            }
            let t = &mut self.nodes[self.slots[k]];
            if t.incarnation != v.incarnation {
                *t = Track { id: v.id, incarnation: v.incarnation, ..Track::default() };
            }
            if v.commit < t.last_commit {
                return Err(Violation::CommitRegressed { node: v.id, was: t.last_commit, now: v.commit });
            }
            t.last_commit = v.commit;
            let start = if t.registered <= last && v.chain_at(t.registered) == Some(t.registered_chain) {
                t.registered + 1
            } else {
                1
            };
            for i in start..=last {
                let e = &v.entries[(i - 1) as usize];
                if e.index != i {
                    return Err(Violation::BadView { node: v.id });
                }
                Self::register(&mut self.seen, v.id, i, e.term, v.chains[(i - 1) as usize])?;
            }
            t.registered = last;
            t.registered_chain = v.chain_at(last).unwrap_or(0);
            if v.role == Role::Leader {
                if let Some((lt, li, lc)) = t.leader {
                    if lt == v.term && (last < li || v.chain_at(li) != Some(lc)) {
                        return Err(Violation::LeaderAppendOnly { node: v.id, term: v.term, index: li });
                    }
                }
                t.leader = Some((v.term, last, v.chain_at(last).unwrap_or(0)));
            } else {
                t.leader = None;
            }
        }

        // Extend the global committed sequence from the node(s) that know most.
        let max_commit = views.iter().map(|v| v.commit).max().unwrap_or(0);
        let known = self.committed_len();
        if max_commit > known {
            if let Some(src) = views.iter().find(|v| v.commit == max_commit) {
                if known > 0 && src.chain_at(known) != Some(self.committed[(known - 1) as usize].chain) {
                    return Err(self.first_divergence(src, known));
                }
                for i in known + 1..=max_commit {
                    let bound = views.iter().filter(|v| v.commit >= i).map(|v| v.term).min().unwrap_or(0);
                    let e = &src.entries[(i - 1) as usize];
                    let fp = self.fp(e);
                    self.committed.push(CommittedEntry {
                        term: e.term,
                        chain: src.chains[(i - 1) as usize],
                        bound,
                        fp,
                    });
                }
            }
        }

        // State Machine Safety: each node's committed prefix agrees.
        for (k, v) in views.iter().enumerate() {
            let slot = self.slots[k];
            let checked = self.nodes[slot].commit_checked;
            if v.commit > checked {
                let want = self.committed[(v.commit - 1) as usize].chain;
                if v.chain_at(v.commit) != Some(want) {
                    return Err(self.first_divergence(v, v.commit));
                }
                if self.fingerprint.is_some() {
                    for i in checked + 1..=v.commit {
                        let pos = (i - 1) as usize;
                        if self.fp(&v.entries[pos]) != self.committed[pos].fp {
                            return Err(Violation::PayloadMismatch { node: v.id, index: i });
                        }
                    }
                }
                self.nodes[slot].commit_checked = v.commit;
            }
        }

        // Leader Completeness.
        let top = self.committed_len();
        for (k, v) in views.iter().enumerate() {
            if v.role != Role::Leader {
                continue;
            }
            let slot = self.slots[k];
            let t = &self.nodes[slot];
            let from = if t.lc_term == v.term { t.lc_checked } else { 0 };
            let mut m = top;
            while m > from {
                let c = self.committed[(m - 1) as usize];
                if c.bound < v.term {
                    if v.chain_at(m) != Some(c.chain) {
                        let mut index = m;
                        for i in 1..=m {
                            if v.chain_at(i) != Some(self.committed[(i - 1) as usize].chain) {
                                index = i;
                                break;
                            }
                        }
                        return Err(Violation::LeaderCompleteness { leader: v.id, term: v.term, index });
                    }
                    break;
                }
                m -= 1;
            }
            let t = &mut self.nodes[slot];
            t.lc_term = v.term;
            t.lc_checked = top;
        }
        Ok(())
    }

    /// After healing and enough quiet time: every committed entry is in every
    /// given node's log.
    pub fn check_converged(&self, views: &[NodeView<'_, E>]) -> Result<(), Violation> {
        let n = self.committed_len();
        if n == 0 {
            return Ok(());
        }
        let want = self.committed[(n - 1) as usize].chain;
        for v in views {
            if v.chain_at(n) != Some(want) {
                let mut index = n;
                for i in 1..=n {
                    if v.chain_at(i) != Some(self.committed[(i - 1) as usize].chain) {
                        index = i;
                        break;
                    }
                }
                return Err(Violation::MissingCommitted { node: v.id, index });
            }
        }
        Ok(())
    }
}
