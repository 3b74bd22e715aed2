//! Log entries and the messages nodes exchange.

use crate::{Index, NodeId, Term};

/// What a log entry carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload<E> {
    /// The entry a new leader appends as soon as it wins (nats writes its
    /// peer state, `EntryPeerState`, raft.go `switchToLeader`: "In our
    /// implementation this is equivalent to sending a NOOP-entry upon becoming
    /// leader"). It lets the leader commit entries of earlier terms and tells
    /// the upper layer when the leader is up to date
    /// ([`crate::RaftEvent::LeaderReady`]). Upper layers skip it when applying.
    Noop,
    /// An application entry proposed through [`crate::Raft::propose`].
    Normal(E),
}

impl<E> Payload<E> {
    /// The application payload, if any.
    pub fn as_normal(&self) -> Option<&E> {
        match self {
            Payload::Normal(e) => Some(e),
            Payload::Noop => None,
        }
    }
}

/// One log entry. Indices start at 1 and are contiguous; every proposal gets
/// its own index (nats stores a whole AppendEntry batch under one WAL index;
/// jetsim numbers entries individually, which changes only the numbering).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry<E> {
    /// Position in the log, from 1.
    pub index: Index,
    /// Term of the leader that created the entry.
    pub term: Term,
    /// The content.
    pub payload: Payload<E>,
}

/// A Raft message. The sender's id travels outside the message
/// ([`crate::Raft::on_message`] takes `from`); fields naming a node
/// (`leader`, `candidate`) must equal `from` or the message is ignored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Msg<E> {
    /// Replication and heartbeat (nats `$NRG.AE.<group>`). An empty `entries`
    /// is a heartbeat / commit notification.
    AppendEntries {
        /// Leader's term.
        term: Term,
        /// Leader's id.
        leader: NodeId,
        /// Index of the entry just before `entries` (0 for the start of the log).
        prev_index: Index,
        /// Term of the entry at `prev_index` (0 if `prev_index == 0`).
        prev_term: Term,
        /// Entries `prev_index+1 ..`, contiguous, at most `max_batch_entries`.
        entries: Vec<Entry<E>>,
        /// Leader's commit index.
        commit: Index,
    },
    /// Answer to an AppendEntries (nats `appendEntryResponse`).
    AppendResponse {
        /// Responder's current term.
        term: Term,
        /// Whether the entries (or heartbeat) matched and were appended.
        success: bool,
        /// `prev_index` of the AppendEntries this answers (lets the leader
        /// recognise stale answers).
        prev_index: Index,
        /// On success: the match index, `prev_index + entries.len()`, i.e. the
        /// highest index known to equal the leader's log. On failure: a
        /// conflict hint, the responder's highest index `<= prev_index` whose
        /// term is `<= prev_term` of the request (etcd-style fast back-off).
        index: Index,
        /// On failure: the responder's term at `index`. 0 on success.
        hint_term: Term,
    },
    /// A candidate asks for a vote (nats `$NRG.V.<group>`).
    RequestVote {
        /// Candidate's (new) term.
        term: Term,
        /// Candidate's id.
        candidate: NodeId,
        /// Index of the candidate's last entry.
        last_index: Index,
        /// Term of the candidate's last entry.
        last_term: Term,
    },
    /// Answer to a vote request.
    VoteResponse {
        /// Voter's current term (after processing the request).
        term: Term,
        /// Whether the vote was granted.
        granted: bool,
    },
    /// Leader transfer: the leader tells the chosen peer to campaign at once
    /// (nats appends an `EntryLeaderTransfer` entry naming the target to an
    /// AppendEntries; jetsim sends a separate message that takes no log index).
    TimeoutNow {
        /// Leader's term.
        term: Term,
        /// Leader's id.
        leader: NodeId,
    },
}

impl<E> Msg<E> {
    /// The term carried by the message.
    pub fn term(&self) -> Term {
        match self {
            Msg::AppendEntries { term, .. }
            | Msg::AppendResponse { term, .. }
            | Msg::RequestVote { term, .. }
            | Msg::VoteResponse { term, .. }
            | Msg::TimeoutNow { term, .. } => *term,
        }
    }

    /// A short, stable name for traces ("ae", "ae_resp", "vote", "vote_resp",
    /// "timeout_now").
    pub fn kind(&self) -> &'static str {
        match self {
            Msg::AppendEntries { .. } => "ae",
            Msg::AppendResponse { .. } => "ae_resp",
            Msg::RequestVote { .. } => "vote",
            Msg::VoteResponse { .. } => "vote_resp",
            Msg::TimeoutNow { .. } => "timeout_now",
        }
    }

    /// Whether this is an AppendEntries without entries (a heartbeat).
    pub fn is_heartbeat(&self) -> bool {
        matches!(self, Msg::AppendEntries { entries, .. } if entries.is_empty())
    }
}
