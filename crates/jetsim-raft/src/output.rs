//! What a node asks its caller to do, and what it reports.

use crate::msg::{Entry, Msg};
use crate::{Index, NodeId, Term};

/// Why a leader stopped being leader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepDownReason {
    /// It had not heard from a quorum within `lost_quorum` at a
    /// `lost_quorum_check` tick (nats `lostQuorum`).
    LostQuorum,
    /// [`crate::Raft::step_down`] was called (nats `StepDown`).
    Requested,
    /// It saw a message with a higher term.
    HigherTerm,
}

/// Why an incoming message was ignored. Ignoring is always safe; the reason is
/// for traces and statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IgnoreReason {
    /// The sender is not a member of the group (or is this node).
    UnknownPeer,
    /// The message belongs to an older term (a rejection was sent back where
    /// Raft requires one).
    StaleTerm,
    /// An answer that no longer matches the node's role or progress state.
    Stale,
    /// Structurally invalid (inconsistent indices, terms, ids).
    Malformed(&'static str),
    /// Another node claims leadership of this leader's own term; impossible
    /// unless Election Safety is already broken.
    SameTermLeader,
    /// Accepting the entries would truncate an entry this node knows is
    /// committed. nats refuses too (raft.go `processAppendEntry`: "Truncate
    /// to earlier entry would lose commits"); the node stays diverged until
    /// it restarts. Only reachable after committed data was lost (lazy fsync
    /// + power loss, memory stores).
    WouldTruncateCommitted {
        /// The committed index that would have been overwritten.
        index: Index,
    },
}

/// Something the visualisation or the trace may want to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RaftEvent {
    /// Election timeout: the node started an election in `term`.
    BecameCandidate {
        /// The new term.
        term: Term,
    },
    /// The node won the election of `term`.
    BecameLeader {
        /// The term.
        term: Term,
    },
    /// The leader's own no-op of `term` (at `index`) committed: its log is now
    /// known to hold every committed entry and the upper layer may act as
    /// leader (nats signals the lead change only after the first entry of
    /// its term is applied: raft.go `switchToLeader` / `aflr`).
    LeaderReady {
        /// The term.
        term: Term,
        /// Index of the no-op entry.
        index: Index,
    },
    /// The node is a follower in `term`, following `leader` (None: unknown).
    /// Emitted on every change of role, term or known leader.
    BecameFollower {
        /// The term.
        term: Term,
        /// The leader, if known.
        leader: Option<NodeId>,
    },
    /// A leader stopped leading.
    SteppedDown {
        /// The term it led.
        term: Term,
        /// Why.
        reason: StepDownReason,
    },
    /// This node granted its vote.
    VoteGranted {
        /// Candidate.
        to: NodeId,
        /// Term of the vote.
        term: Term,
    },
    /// This node refused a vote request of the current term.
    VoteDenied {
        /// Candidate.
        to: NodeId,
        /// Term of the request.
        term: Term,
    },
    /// A candidate received a granted vote.
    VoteReceived {
        /// Voter.
        from: NodeId,
        /// Term.
        term: Term,
    },
    /// On the leader: entry `index` is on a quorum, `acks` (sorted, including
    /// the leader) are the members holding it at that moment. Emitted once per
    /// entry, in index order, when it commits. Entries of earlier terms commit
    /// indirectly with the first entry of the current term (`term` tells
    /// which term the entry itself has).
    QuorumReached {
        /// The entry.
        index: Index,
        /// The entry's term.
        term: Term,
        /// Members holding it (sorted, leader included).
        acks: Vec<NodeId>,
    },
    /// The commit index advanced to `index`.
    Committed {
        /// New commit index.
        index: Index,
    },
    /// Entries `from_index..` were removed from the log (conflict with the
    /// leader).
    Truncated {
        /// First removed index.
        from_index: Index,
        /// Last index before truncation.
        old_last: Index,
    },
    /// A leader transfer was started towards `to`.
    LeaderTransfer {
        /// Target.
        to: NodeId,
        /// Term of the leader that transfers.
        term: Term,
    },
    /// This node was chosen as transfer target and will campaign shortly.
    TransferRequested {
        /// The leader that asked.
        from: NodeId,
        /// Its term.
        term: Term,
    },
    /// A storage sync made entries durable up to `durable_index`.
    Synced {
        /// New durable length of the log.
        durable_index: Index,
    },
    /// An incoming message was ignored.
    Ignored {
        /// Sender.
        from: NodeId,
        /// Message kind ([`Msg::kind`]).
        kind: &'static str,
        /// Why.
        reason: IgnoreReason,
    },
}

/// Everything a call produced. Calls append to an `Output` the caller owns, so
/// one buffer can be reused; [`Output::clear`] empties it.
#[derive(Clone, Debug)]
pub struct Output<E> {
    /// Messages to send, in order: `(destination, message)`.
    pub sends: Vec<(NodeId, Msg<E>)>,
    /// Newly committed entries to apply, in index order. Each index is emitted
    /// once per [`crate::Raft`] instance (a restarted node is a new instance
    /// and emits again from `applied_index() + 1`, i.e. from 1 unless
    /// [`crate::Raft::set_applied`] was called). Includes the leaders'
    /// [`crate::Payload::Noop`] entries, which upper layers skip.
    pub committed: Vec<Entry<E>>,
    /// Trace events, in the order they happened.
    pub events: Vec<RaftEvent>,
    /// When the node next needs [`crate::Raft::on_timer`] (absolute ns),
    /// recomputed at the end of every call.
    pub next_wakeup: Option<u64>,
}

impl<E> Default for Output<E> {
    fn default() -> Self {
        Output { sends: Vec::new(), committed: Vec::new(), events: Vec::new(), next_wakeup: None }
    }
}

impl<E> Output<E> {
    /// An empty output.
    pub fn new() -> Output<E> {
        Output::default()
    }

    /// Empties the buffers (keeps their capacity).
    pub fn clear(&mut self) {
        self.sends.clear();
        self.committed.clear();
        self.events.clear();
        self.next_wakeup = None;
    }

    /// No sends, commits or events.
    pub fn is_empty(&self) -> bool {
        self.sends.is_empty() && self.committed.is_empty() && self.events.is_empty()
    }

    /// The application payloads of `committed` (skipping no-ops).
    pub fn committed_payloads(&self) -> impl Iterator<Item = (Index, &E)> {
        self.committed.iter().filter_map(|e| e.payload.as_normal().map(|p| (e.index, p)))
    }
}
