//! jetsim-raft: a deterministic, sans-IO Raft state machine for the Raft
//! groups of a simulated NATS JetStream cluster (the meta group, stream groups
//! and consumer groups of nats-server all use one Raft implementation,
//! `server/raft.go`, "NRG"; this crate models it).
//!
//! # Model
//!
//! * **Sans-IO.** A [`Raft`] never reads a clock, spawns, sleeps or does I/O.
//!   Time is a `u64` of nanoseconds passed into every call (it must not go
//!   backwards); randomness comes from the caller through [`Entropy`]. Every
//!   call appends to an [`Output`] owned by the caller: messages to send,
//!   committed entries to apply, trace events, and the next wake-up time.
//!   Peers are iterated in id order, nothing depends on `usize` or hashing,
//!   so a run replays bit for bit on every target (native and wasm32).
//! * **Timers.** The caller calls [`Raft::on_timer`] at (or after)
//!   [`Output::next_wakeup`]. Timings follow nats-server
//!   ([`Config::nats_defaults`]): election timeout uniform in [4 s, 9 s),
//!   heartbeat ticker 1 s (an empty AppendEntries only if nothing was
//!   appended in the last second), lost-quorum check every 10 s (the leader
//!   steps down if fewer than a quorum, itself included, were heard from in
//!   the last 10 s), campaign timeout [100 ms, 800 ms) when a follower
//!   rejects a vote because its own log is better, 10 ms for a leader-transfer
//!   target, `campaign_min/2` for a new group's preferred leader.
//!   [`Config::scaled`] rescales all of them.
//! * **Elections** (Raft §5.2, §5.4.1): one durable vote per term; a vote is
//!   granted only to a candidate whose log is at least as up to date. There
//!   is no pre-vote and no leader stickiness, as in nats: a node returning
//!   with a higher term makes the leader step down.
//! * **Replication** (§5.3): batched AppendEntries (`max_batch_entries`),
//!   pipelined per follower; a rejection carries a conflict hint (etcd-style)
//!   and puts the follower in probe mode (one batch at a time) until the logs
//!   agree. A follower truncates its uncommitted divergent suffix
//!   ([`RaftEvent::Truncated`]); it refuses to truncate below its commit index
//!   (only possible after committed data was lost), like nats.
//! * **Commit rule** (§5.4.2): quorum = members/2+1 including the leader; the
//!   leader commits an index once a quorum stores it *and* it is of the
//!   leader's current term; earlier entries commit with it. A new leader
//!   appends a [`Payload::Noop`] at once (nats writes its peer state,
//!   `EntryPeerState`, raft.go `switchToLeader`), so earlier-term entries
//!   commit without waiting for a client write. [`RaftEvent::QuorumReached`]
//!   reports, per committed entry, which members held it;
//!   [`RaftEvent::LeaderReady`] when the no-op committed. Followers learn the
//!   commit index from AppendEntries; after a commit advance the leader sends
//!   it right away ([`Config::commit_notify`], raft.go
//!   `processAppendEntryResponse`).
//! * **Leader transfer** ([`Raft::step_down`]): the leader picks a healthy
//!   peer (heard from within 3 s), sends it [`Msg::TimeoutNow`] and becomes a
//!   follower; the target campaigns after 10 ms and ignores the old leader's
//!   heartbeats meanwhile (nats `EntryLeaderTransfer`, `xferCampaign`,
//!   `lxfer`).
//! * **Durability** ([`Storage`]): a written image and a durable image.
//!   [`SyncPolicy::Always`] syncs every write before the node answers, so
//!   nothing it acknowledged can be lost; [`SyncPolicy::Interval`] syncs
//!   every N ns (driven by the wake-up time or [`Raft::sync`]) and acks from
//!   the page cache, so a power loss ([`Storage::after_power_loss`]) can take
//!   acknowledged, even committed, entries away. Term and vote are fsynced on
//!   every change, as in nats (`writeTermVote`). A process crash
//!   ([`Storage::after_crash`]) keeps everything written; [`Storage::empty`]
//!   is a memory store that keeps nothing. A restarted node is a new
//!   [`Raft::new`] over the surviving storage.
//! * **Commit and apply are volatile.** A restarted node starts with commit
//!   index 0, re-learns it from the leader and emits every committed entry
//!   again in [`Output::committed`] from index 1 (each index once per
//!   instance), unless the caller declares its applied index with
//!   [`Raft::set_applied`]. (nats replays its WAL on start and re-applies up
//!   to the commit index recorded in the last stored AppendEntry; jetsim
//!   simply waits for the leader.)
//! * **Robustness.** Every message a peer could send is validated; invalid or
//!   stale ones are ignored with a [`RaftEvent::Ignored`] event. No input
//!   panics.
//!
//! # Not modelled
//!
//! Snapshots and log compaction (logs grow without bound; a far-behind
//! follower is caught up entry by entry), membership changes (peer add/remove,
//! observers, scale up/down), nats' separate catch-up subscription (a
//! follower is caught up by ordinary AppendEntries with back-off), the
//! "empty vote" rule of nats for freshly created/empty peers, forwarding of
//! proposals to the leader, apply back-pressure (quorum pause), checksums and
//! on-disk corruption, and the cost of an fsync (a sync is instantaneous).
//!
//! # API summary
//!
//! ```text
//! Raft::new(id, peers, Config, Storage<E>, now, &mut dyn Entropy) -> (Raft<E>, Output<E>)
//! raft.on_timer(now, rng, &mut out)                 // also: tick
//! raft.on_message(now, from, Msg<E>, rng, &mut out)
//! raft.propose(now, E, &mut out) -> Result<Index, NotLeader>
//! raft.propose_batch(now, Vec<E>, &mut out) -> Result<(Index, Index), NotLeader>
//! raft.step_down(now, preferred: Option<NodeId>, rng, &mut out) -> Result<Option<NodeId>, NotLeader>
//! raft.campaign(now, rng, &mut out) / campaign_immediately(now, &mut out) / sync(&mut out)
//! raft.role() / term() / leader() / commit_index() / applied_index() / last_index()
//!     / log() / log_summary(from, to) / progress() / view() / storage() / into_storage()
//! invariants::Checker::observe(&[NodeView]) / check_converged(&[NodeView])
//! ```

//!
//! # Example
//!
//! ```
//! use jetsim_raft::{Config, Entropy, Output, Raft, Storage, SyncPolicy, SEC};
//!
//! struct Counter(u64);
//! impl Entropy for Counter {
//!     fn next_u64(&mut self) -> u64 {
//!         self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
//!         self.0
//!     }
//! }
//!
//! let mut rng = Counter(1);
//! // A single-node group (R1) that is its own preferred leader.
//! let config = Config::nats_defaults().with_preferred_leader(Some(1));
//! let (mut node, out) = Raft::<String>::new(1, vec![1], config, Storage::new(SyncPolicy::Always), 0, &mut rng);
//! let wake = out.next_wakeup.unwrap(); // campaign_min / 2 = 50 ms
//! let mut out = Output::new();
//! node.on_timer(wake, &mut rng, &mut out);
//! assert!(node.is_leader_ready());
//! let index = node.propose(wake, "hello".to_string(), &mut out).unwrap();
//! assert_eq!(node.commit_index(), index);
//! let applied: Vec<_> = out.committed_payloads().map(|(i, p)| (i, p.clone())).collect();
//! assert_eq!(applied, vec![(2, "hello".to_string())]);
//! // Nothing to do until the next heartbeat / lost-quorum tick.
//! assert_eq!(out.next_wakeup, Some(wake + SEC));
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod config;
pub mod invariants;
mod msg;
mod output;
mod raft;
pub mod sort;
pub mod storage;

pub use config::{Config, MS, SEC};
pub use msg::{Entry, Msg, Payload};
pub use output::{IgnoreReason, Output, RaftEvent, StepDownReason};
pub use raft::{NotLeader, PeerProgress, Raft, Role};
pub use storage::{Storage, StorageError, StorageKind, SyncPolicy};

/// A member of a Raft group.
pub type NodeId = u32;
/// A Raft term.
pub type Term = u64;
/// A log index (entries start at 1; 0 means "before the log").
pub type Index = u64;

/// The caller's seeded random number generator.
pub trait Entropy {
    /// The next 64 random bits.
    fn next_u64(&mut self) -> u64;
}

/// Uniform in `[lo, hi)` (`lo` if the range is empty), by a 128-bit
/// multiply: portable and independent of `usize`.
pub(crate) fn uniform(rng: &mut dyn Entropy, lo: u64, hi: u64) -> u64 {
    if hi <= lo {
        return lo;
    }
    let span = hi - lo;
    lo + (((rng.next_u64() as u128) * (span as u128)) >> 64) as u64
}

#[cfg(test)]
mod tests;
