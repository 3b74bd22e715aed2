//! A stream's message store (limits retention): what every replica applies
//! committed entries to. Interest and work-queue retention and consumers are
//! later additions: they remove messages through [`MsgStore::remove`] and read
//! through [`MsgStore::get`] / [`MsgStore::range`].

use std::collections::BTreeMap;
use std::rc::Rc;

use bytes::Bytes;

use super::api::StreamConfig;
use crate::time::Time;

/// Hard limit: messages one stream replica keeps. A publish beyond it is
/// refused (as `maximum messages exceeded`) rather than exhausting memory.
pub const MAX_MSGS_PER_STREAM: u64 = 200_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMsg {
    pub subject: Rc<str>,
    pub hdr: Option<Bytes>,
    pub data: Bytes,
    pub ts: Time,
}

/// Why a message was not stored (nats `ErrMaxMsgs`, `ErrMaxBytes`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreError {
    MaxMsgs,
    MaxBytes,
    /// jetsim's own limit ([`MAX_MSGS_PER_STREAM`]).
    SimLimit,
}

impl StoreError {
    pub fn description(self) -> &'static str {
        match self {
            StoreError::MaxMsgs => "maximum messages exceeded",
            StoreError::MaxBytes => "maximum bytes exceeded",
            StoreError::SimLimit => "maximum messages exceeded (jetsim keeps at most 200000 messages per stream)",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MsgStore {
    msgs: BTreeMap<u64, StoredMsg>,
    /// `first_seq` as nats reports it (last + 1 after a purge of everything).
    first: u64,
    last: u64,
    last_ts: Time,
    bytes: u64,
}

/// The state part of StreamInfo.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreState {
    pub messages: u64,
    pub bytes: u64,
    pub first_seq: u64,
    pub first_ts: Time,
    pub last_seq: u64,
    pub last_ts: Time,
    pub num_subjects: u64,
}

impl MsgStore {
    pub fn new() -> MsgStore {
        MsgStore::default()
    }

    /// Bytes a message counts for (nats filestore / memstore accounting).
    pub fn msg_size(memory: bool, subject: &str, hdr: Option<&Bytes>, data: &Bytes) -> u64 {
        let h = hdr.map_or(0, |h| h.len()) as u64;
        let (s, d) = (subject.len() as u64, data.len() as u64);
        if memory {
            s + h + d + 16
        } else if h > 0 {
            22 + s + 4 + h + d + 8
        } else {
            22 + s + d + 8
        }
    }

    /// The checks nats makes before proposing (discard new) on the leader.
    pub fn check_discard_new(&self, cfg: &StreamConfig, size: u64) -> Result<(), StoreError> {
        if self.msgs.len() as u64 >= MAX_MSGS_PER_STREAM && (cfg.discard_new || cfg.max_msgs < 0 || cfg.max_msgs as u64 > MAX_MSGS_PER_STREAM) {
            return Err(StoreError::SimLimit);
        }
        if !cfg.discard_new {
            return Ok(());
        }
        if cfg.max_msgs > 0 && self.msgs.len() as u64 >= cfg.max_msgs as u64 {
            return Err(StoreError::MaxMsgs);
        }
        if cfg.max_bytes > 0 && self.bytes + size > cfg.max_bytes as u64 {
            return Err(StoreError::MaxBytes);
        }
        Ok(())
    }

    /// Store a message (applying a committed entry): the next sequence, then
    /// limits with discard old.
    pub fn store(&mut self, cfg: &StreamConfig, msg: StoredMsg) -> u64 {
        let size = Self::msg_size(cfg.memory(), &msg.subject, msg.hdr.as_ref(), &msg.data);
        self.last += 1;
        if self.msgs.is_empty() {
            self.first = self.last;
        }
        self.last_ts = msg.ts;
        let now = msg.ts;
        self.msgs.insert(self.last, msg);
        self.bytes += size;
        self.enforce(cfg, now);
        self.last
    }

    /// Remove the oldest messages beyond `max_msgs` / `max_bytes` / `max_age`
    /// (and jetsim's own cap).
    pub fn enforce(&mut self, cfg: &StreamConfig, now: Time) {
        let memory = cfg.memory();
        loop {
            let Some((&seq, m)) = self.msgs.iter().next() else { break };
            let n = self.msgs.len() as u64;
            let over_msgs = cfg.max_msgs > 0 && n > cfg.max_msgs as u64;
            let over_cap = n > MAX_MSGS_PER_STREAM;
            let over_bytes = cfg.max_bytes > 0 && self.bytes > cfg.max_bytes as u64;
            let too_old = cfg.max_age > 0 && now.saturating_sub(m.ts) > cfg.max_age as u64;
            if !(over_msgs || over_bytes || too_old || over_cap) {
                break;
            }
            let _ = memory;
            self.remove(cfg, seq);
        }
    }

    /// Remove one message. Returns whether it was there.
    pub fn remove(&mut self, cfg: &StreamConfig, seq: u64) -> bool {
        let Some(m) = self.msgs.remove(&seq) else { return false };
        self.bytes = self.bytes.saturating_sub(Self::msg_size(cfg.memory(), &m.subject, m.hdr.as_ref(), &m.data));
        match self.msgs.keys().next() {
            Some(&f) => self.first = f,
            None => self.first = self.last + 1,
        }
        true
    }

    /// Remove everything; returns how many messages went.
    pub fn purge(&mut self) -> u64 {
        let n = self.msgs.len() as u64;
        self.msgs.clear();
        self.bytes = 0;
        self.first = self.last + 1;
        n
    }

    pub fn get(&self, seq: u64) -> Option<&StoredMsg> {
        self.msgs.get(&seq)
    }

    pub fn range(&self, from: u64) -> impl Iterator<Item = (u64, &StoredMsg)> {
        self.msgs.range(from..).map(|(s, m)| (*s, m))
    }

    pub fn len(&self) -> u64 {
        self.msgs.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.msgs.is_empty()
    }

    pub fn last_seq(&self) -> u64 {
        self.last
    }

    pub fn first_seq(&self) -> u64 {
        self.first
    }

    /// A fingerprint of the stored messages (sequence, subject, payload), to
    /// compare replicas.
    pub fn digest(&self) -> u64 {
        let mut h = crate::hash::Fnv64::default();
        for (seq, m) in &self.msgs {
            h.write_u64(*seq);
            h.write_str(&m.subject);
            h.write(&m.data);
        }
        h.write_u64(self.first);
        h.write_u64(self.last);
        h.finish()
    }

    pub fn state(&self) -> StoreState {
        let mut subjects: Vec<&str> = self.msgs.values().map(|m| &*m.subject).collect();
        subjects.sort_unstable();
        subjects.dedup();
        StoreState {
            messages: self.msgs.len() as u64,
            bytes: self.bytes,
            first_seq: self.first,
            first_ts: self.msgs.values().next().map_or(0, |m| m.ts),
            last_seq: self.last,
            last_ts: self.last_ts,
            num_subjects: subjects.len() as u64,
        }
    }
}
