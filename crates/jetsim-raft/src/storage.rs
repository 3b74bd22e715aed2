//! The durable state of a node (log, term, vote) and its power-loss model.
//!
//! A [`Storage`] holds two images of the same state:
//!
//! * the **written** image: everything the node has written (the OS page cache
//!   in a real server). The running node reads and writes only this one. A
//!   process crash (`kill -9`) keeps it: [`Storage::after_crash`].
//! * the **durable** image: what an fsync has reached. A power loss (or an OS
//!   crash, LazyFS "lose unsynced writes") keeps only this:
//!   [`Storage::after_power_loss`].
//!
//! The durable log is stored as the common prefix `written[..durable_len]`
//! plus a *durable tail*: durable entries that the written log has since
//! truncated and not yet overwritten durably (so a power loss after an
//! unsynced truncation brings the old suffix back, as on a real disk).
//!
//! [`SyncPolicy::Always`] syncs every write before the call that made it
//! returns, so a node never sends an acknowledgement (AppendResponse, vote)
//! for state a power loss could take away. [`SyncPolicy::Interval`] syncs only
//! every N nanoseconds (nats `sync_interval`, default 2 min): the node
//! acknowledges entries that are only in the page cache, which is how Jepsen's
//! 2025 analysis lost acknowledged writes (nats-server #7564, #7567).
//!
//! Term and vote are written with an fsync regardless of the policy, as in
//! nats-server (raft.go `writeTermVote` → `writeFileWithSync`; only the WAL
//! follows `sync_interval`). [`Storage::lazy_hard_state`] turns that off for
//! experiments (forgetting a vote breaks Election Safety).
//!
//! [`Storage::empty`] is a memory store (nats memory-storage streams): it
//! loses everything on any restart.

use crate::msg::Entry;
use crate::{Index, NodeId, Term};

/// When written log entries become durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncPolicy {
    /// fsync on every write (nats `sync_interval: always`).
    Always,
    /// fsync every N nanoseconds (nats `sync_interval`, default 2 min). The
    /// node schedules the sync through its wake-up time; [`crate::Raft::sync`]
    /// forces one.
    Interval(u64),
}

/// Where the state lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageKind {
    /// A file store with a durable image.
    File,
    /// A memory store: nothing survives a restart.
    Memory,
}

/// Why [`Storage::with_log`] rejected a log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StorageError {
    /// Entry at position `pos` (0-based) does not have index `pos + 1`.
    NonContiguous {
        /// 0-based position in the vector.
        pos: usize,
    },
    /// Terms must be non-decreasing, at least 1, and not above the stored term.
    BadTerm {
        /// Index of the offending entry.
        index: Index,
    },
}

/// Mixes an entry's (index, term) into the running hash of the log prefix.
/// Two logs have the same chain value at index `i` iff (with overwhelming
/// probability) their terms agree on `1..=i`, which makes Log Matching and
/// prefix comparisons O(1) for the invariant checker and the UI.
pub fn chain_hash(prev: u64, index: Index, term: Term) -> u64 {
    let mut z =
        prev ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ term.wrapping_mul(0xD1B5_4A32_D192_ED03).rotate_left(29);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A node's log, term and vote, with a durable image (see the module docs).
#[derive(Clone, Debug)]
pub struct Storage<E> {
    kind: StorageKind,
    policy: SyncPolicy,
    lazy_hard_state: bool,
    term: Term,
    vote: Option<NodeId>,
    log: Vec<Entry<E>>,
    chains: Vec<u64>,
    durable_term: Term,
    durable_vote: Option<NodeId>,
    /// `log[..durable]` is durable and identical in the durable image.
    durable: usize,
    /// Durable entries beyond `durable` that the written log no longer has.
    durable_tail: Vec<Entry<E>>,
    next_sync: Option<u64>,
    boots: u64,
    syncs: u64,
}

impl<E: Clone> Storage<E> {
    /// An empty file store with the given sync policy.
    pub fn new(policy: SyncPolicy) -> Storage<E> {
        Storage {
            kind: StorageKind::File,
            policy,
            lazy_hard_state: false,
            term: 0,
            vote: None,
            log: Vec::new(),
            chains: Vec::new(),
            durable_term: 0,
            durable_vote: None,
            durable: 0,
            durable_tail: Vec::new(),
            next_sync: None,
            boots: 0,
            syncs: 0,
        }
    }

    /// An empty memory store: it loses everything on [`Storage::after_crash`]
    /// and [`Storage::after_power_loss`].
    pub fn empty() -> Storage<E> {
        Storage { kind: StorageKind::Memory, ..Storage::new(SyncPolicy::Always) }
    }

    /// A file store that already holds `entries` (indices 1..=n, non-decreasing
    /// terms, none above `term`), all durable. For tests and scenario set-ups.
    pub fn with_log(
        policy: SyncPolicy,
        term: Term,
        vote: Option<NodeId>,
        entries: Vec<Entry<E>>,
    ) -> Result<Storage<E>, StorageError> {
        let mut prev_term = 0;
        for (pos, e) in entries.iter().enumerate() {
            if e.index != pos as u64 + 1 {
                return Err(StorageError::NonContiguous { pos });
            }
            if e.term == 0 || e.term < prev_term || e.term > term {
                return Err(StorageError::BadTerm { index: e.index });
            }
            prev_term = e.term;
        }
        let mut s = Storage::new(policy);
        s.term = term;
        s.vote = vote;
        s.durable_term = term;
        s.durable_vote = vote;
        s.log = entries;
        s.recompute_chains(0);
        s.durable = s.log.len();
        Ok(s)
    }

    /// Makes term and vote follow the sync policy like the log does, instead
    /// of being fsynced on every change as nats-server does. Only for
    /// experiments: a power loss can then make a node forget its vote.
    pub fn lazy_hard_state(mut self) -> Storage<E> {
        self.lazy_hard_state = true;
        self
    }

    /// File or memory.
    pub fn kind(&self) -> StorageKind {
        self.kind
    }

    /// The sync policy.
    pub fn policy(&self) -> SyncPolicy {
        self.policy
    }

    /// Current (written) term.
    pub fn term(&self) -> Term {
        self.term
    }

    /// Current (written) vote in [`Storage::term`].
    pub fn vote(&self) -> Option<NodeId> {
        self.vote
    }

    /// Term and vote as they would be after a power loss.
    pub fn durable_hard_state(&self) -> (Term, Option<NodeId>) {
        match self.kind {
            StorageKind::Memory => (0, None),
            StorageKind::File => (self.durable_term, self.durable_vote),
        }
    }

    /// The written log; `entries()[i]` has index `i + 1`.
    pub fn entries(&self) -> &[Entry<E>] {
        &self.log
    }

    /// Running prefix hashes of the log ([`chain_hash`]); `chains()[i]` covers
    /// indices `1..=i+1`.
    pub fn chains(&self) -> &[u64] {
        &self.chains
    }

    /// Index of the last written entry (0 if empty).
    pub fn last_index(&self) -> Index {
        self.log.len() as Index
    }

    /// Term of the last written entry (0 if empty).
    pub fn last_term(&self) -> Term {
        self.log.last().map_or(0, |e| e.term)
    }

    /// Entries `1..=durable_len()` of the written log survive a power loss.
    /// Always 0 for a memory store.
    pub fn durable_len(&self) -> Index {
        match self.kind {
            StorageKind::Memory => 0,
            StorageKind::File => self.durable as Index,
        }
    }

    /// Whether a sync would change the durable image.
    pub fn has_unsynced(&self) -> bool {
        self.kind == StorageKind::File
            && (self.durable != self.log.len()
                || !self.durable_tail.is_empty()
                || self.durable_term != self.term
                || self.durable_vote != self.vote)
    }

    /// How many times this storage went through a crash or power loss.
    pub fn boots(&self) -> u64 {
        self.boots
    }

    /// How many syncs changed the durable image (for statistics).
    pub fn syncs(&self) -> u64 {
        self.syncs
    }

    /// When the next interval sync is due, if scheduled.
    pub fn next_sync(&self) -> Option<u64> {
        self.next_sync
    }

    /// Makes everything written durable. Returns whether anything changed.
    pub fn sync(&mut self) -> bool {
        if !self.has_unsynced() {
            return false;
        }
        self.durable = self.log.len();
        self.durable_tail.clear();
        self.durable_term = self.term;
        self.durable_vote = self.vote;
        self.syncs += 1;
        true
    }

    /// The storage after a process crash: everything written survives (the
    /// page cache does), unsynced data is still unsynced. A memory store
    /// comes back empty.
    pub fn after_crash(self) -> Storage<E> {
        let boots = self.boots + 1;
        match self.kind {
            StorageKind::Memory => Storage { boots, ..Storage::empty() },
            StorageKind::File => Storage { boots, next_sync: None, ..self },
        }
    }

    /// The storage after a power loss / OS crash: only the durable image
    /// survives. A memory store comes back empty.
    pub fn after_power_loss(mut self) -> Storage<E> {
        let boots = self.boots + 1;
        match self.kind {
            StorageKind::Memory => Storage { boots, ..Storage::empty() },
            StorageKind::File => {
                self.log.truncate(self.durable);
                let tail = std::mem::take(&mut self.durable_tail);
                self.log.extend(tail);
                self.recompute_chains(self.durable);
                self.durable = self.log.len();
                self.term = self.durable_term;
                self.vote = self.durable_vote;
                self.next_sync = None;
                self.boots = boots;
                self
            }
        }
    }

    // ---- crate-internal mutation ------------------------------------------------

    fn recompute_chains(&mut self, from: usize) {
        self.chains.truncate(from);
        let mut prev = if from == 0 { 0 } else { self.chains[from - 1] };
        for e in &self.log[from..] {
            prev = chain_hash(prev, e.index, e.term);
            self.chains.push(prev);
        }
    }

    fn synced_writes(&self) -> bool {
        self.kind == StorageKind::File && self.policy == SyncPolicy::Always
    }

    fn after_log_write(&mut self) {
        if self.synced_writes() {
            self.durable = self.log.len();
            self.durable_tail.clear();
        }
    }

    pub(crate) fn set_hard_state(&mut self, term: Term, vote: Option<NodeId>) {
        self.term = term;
        self.vote = vote;
        if self.kind == StorageKind::File && (!self.lazy_hard_state || self.synced_writes()) {
            self.durable_term = term;
            self.durable_vote = vote;
        }
    }

    /// Appends one entry; the caller guarantees `e.index == last_index() + 1`.
    pub(crate) fn append(&mut self, e: Entry<E>) {
        let prev = self.chains.last().copied().unwrap_or(0);
        self.chains.push(chain_hash(prev, e.index, e.term));
        self.log.push(e);
        self.after_log_write();
    }

    /// Appends a run of entries (the caller guarantees contiguity).
    pub(crate) fn append_slice(&mut self, es: &[Entry<E>]) {
        let mut prev = self.chains.last().copied().unwrap_or(0);
        self.log.reserve(es.len());
        for e in es {
            prev = chain_hash(prev, e.index, e.term);
            self.chains.push(prev);
            self.log.push(e.clone());
        }
        self.after_log_write();
    }

    /// Removes entries with index `>= from` (from >= 1).
    pub(crate) fn truncate_from(&mut self, from: Index) {
        let keep = from.saturating_sub(1).min(self.log.len() as u64) as usize;
        if keep >= self.log.len() {
            return;
        }
        if self.kind == StorageKind::File && keep < self.durable {
            // The removed durable entries stay durable until the next sync.
            let removed = self.log.split_off(keep);
            let n_durable = self.durable - keep;
            let mut tail: Vec<Entry<E>> = removed.into_iter().take(n_durable).collect();
            tail.append(&mut self.durable_tail);
            self.durable_tail = tail;
            self.durable = keep;
        } else {
            self.log.truncate(keep);
        }
        self.chains.truncate(keep);
        self.after_log_write();
    }

    /// Starts the interval-sync ticker at `now` (no-op for `Always`/memory).
    pub(crate) fn schedule_sync(&mut self, now: u64) {
        self.next_sync = match (self.kind, self.policy) {
            (StorageKind::File, SyncPolicy::Interval(d)) => Some(now.saturating_add(d.max(1))),
            _ => None,
        };
    }

    /// Runs the interval sync if due. `Some(changed)` if it ran.
    pub(crate) fn maybe_sync(&mut self, now: u64) -> Option<bool> {
        match self.next_sync {
            Some(t) if t <= now => {
                let changed = self.sync();
                self.schedule_sync(now);
                Some(changed)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::Payload;

    fn e(index: Index, term: Term, v: u32) -> Entry<u32> {
        Entry { index, term, payload: Payload::Normal(v) }
    }

    #[test]
    fn always_policy_makes_every_write_durable() {
        let mut s: Storage<u32> = Storage::new(SyncPolicy::Always);
        s.set_hard_state(3, Some(2));
        s.append(e(1, 3, 10));
        s.append(e(2, 3, 11));
        assert_eq!(s.durable_len(), 2);
        assert!(!s.has_unsynced());
        let s = s.after_power_loss();
        assert_eq!(s.last_index(), 2);
        assert_eq!((s.term(), s.vote()), (3, Some(2)));
    }

    #[test]
    fn interval_policy_loses_unsynced_suffix_on_power_loss_only() {
        let mut s: Storage<u32> = Storage::new(SyncPolicy::Interval(100));
        s.set_hard_state(1, None);
        s.append(e(1, 1, 10));
        assert!(s.sync());
        s.append(e(2, 1, 11));
        s.append(e(3, 1, 12));
        assert_eq!(s.durable_len(), 1);
        let crashed = s.clone().after_crash();
        assert_eq!(crashed.last_index(), 3, "a process crash keeps the page cache");
        assert_eq!(crashed.durable_len(), 1, "but does not sync it");
        let lost = s.after_power_loss();
        assert_eq!(lost.last_index(), 1);
        assert_eq!(lost.chains().len(), 1);
        // Term and vote are fsynced like nats' tav.idx.
        assert_eq!(lost.term(), 1);
    }

    #[test]
    fn unsynced_truncation_is_undone_by_power_loss() {
        let mut s: Storage<u32> = Storage::new(SyncPolicy::Interval(100));
        s.set_hard_state(2, None);
        for i in 1..=3 {
            s.append(e(i, 1, i as u32));
        }
        s.sync();
        s.truncate_from(2);
        s.append(e(2, 2, 99));
        assert_eq!(s.durable_len(), 1);
        let back = s.clone().after_power_loss();
        let terms: Vec<_> = back.entries().iter().map(|x| (x.index, x.term)).collect();
        assert_eq!(terms, vec![(1, 1), (2, 1), (3, 1)], "old durable suffix returns");
        let mut synced = s;
        synced.sync();
        let after = synced.after_power_loss();
        let terms: Vec<_> = after.entries().iter().map(|x| (x.index, x.term)).collect();
        assert_eq!(terms, vec![(1, 1), (2, 2)]);
        // chains are recomputed consistently
        let mut fresh: Storage<u32> = Storage::new(SyncPolicy::Always);
        fresh.append(e(1, 1, 0));
        fresh.append(e(2, 2, 0));
        assert_eq!(after.chains(), fresh.chains());
    }

    #[test]
    fn lazy_hard_state_can_forget_a_vote() {
        let mut s: Storage<u32> = Storage::new(SyncPolicy::Interval(100)).lazy_hard_state();
        s.set_hard_state(5, Some(3));
        let s = s.after_power_loss();
        assert_eq!((s.term(), s.vote()), (0, None));
    }

    #[test]
    fn memory_store_forgets_everything() {
        let mut s: Storage<u32> = Storage::empty();
        s.set_hard_state(4, Some(1));
        s.append(e(1, 4, 1));
        assert_eq!(s.durable_len(), 0);
        let c = s.clone().after_crash();
        assert_eq!((c.last_index(), c.term(), c.boots()), (0, 0, 1));
        let p = s.after_power_loss();
        assert_eq!((p.last_index(), p.term()), (0, 0));
    }

    #[test]
    fn with_log_validates() {
        assert!(Storage::with_log(SyncPolicy::Always, 2, None, vec![e(1, 1, 0), e(2, 2, 0)]).is_ok());
        assert_eq!(
            Storage::with_log(SyncPolicy::Always, 2, None, vec![e(2, 1, 0)]).unwrap_err(),
            StorageError::NonContiguous { pos: 0 }
        );
        assert_eq!(
            Storage::with_log(SyncPolicy::Always, 2, None, vec![e(1, 2, 0), e(2, 1, 0)]).unwrap_err(),
            StorageError::BadTerm { index: 2 }
        );
        assert_eq!(
            Storage::with_log(SyncPolicy::Always, 1, None, vec![e(1, 2, 0)]).unwrap_err(),
            StorageError::BadTerm { index: 1 }
        );
    }
}
