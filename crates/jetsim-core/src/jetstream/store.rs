//! A stream's message store: what every replica applies committed entries
//! to, with nats' limits (msgs, bytes, age, per subject, discard old/new),
//! the per-subject index (`last_by_subj`, `next_by_subj`, rollups), the
//! duplicate window and last message id (both replicated state: every replica
//! derives them from the same applied entries), purge variants, and the
//! removal log other modules read.
//!
//! # Hooks for consumers and retention (stable API)
//!
//! * Reading: [`MsgStore::get`], [`MsgStore::range`], [`MsgStore::first_seq`],
//!   [`MsgStore::last_seq`], [`MsgStore::is_empty`].
//! * Removing: [`MsgStore::remove`] (one message, e.g. an interest or
//!   work-queue message nobody needs any more). The server wrapper
//!   `Server::js_retention_remove` (in `jetstream/mod.rs`) also tells the
//!   consumers.
//! * Every removal, whatever its cause (limits, age, purge, rollup, delete,
//!   retention), is appended to a log that [`MsgStore::take_removed`] drains:
//!   the apply path drains it after each entry and hands it to
//!   `Server::js_on_removed`.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use bytes::Bytes;

use super::api::StreamConfig;
use crate::time::Time;

/// Hard limit: messages one stream replica keeps. A publish beyond it is
/// refused (as `maximum messages exceeded`) rather than exhausting memory.
pub const MAX_MSGS_PER_STREAM: u64 = 200_000;
/// Hard limit: entries of the duplicate window (older ids are forgotten first).
pub const MAX_DEDUP_IDS: usize = 100_000;

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
    MaxMsgsPerSubject,
    /// jetsim's own limit ([`MAX_MSGS_PER_STREAM`]).
    SimLimit,
}

impl StoreError {
    pub fn description(self) -> &'static str {
        match self {
            StoreError::MaxMsgs => "maximum messages exceeded",
            StoreError::MaxBytes => "maximum bytes exceeded",
            StoreError::MaxMsgsPerSubject => "maximum messages per subject exceeded",
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
    /// Subject → its stored sequences.
    subjects: BTreeMap<Rc<str>, BTreeSet<u64>>,
    /// Duplicate window: message id → (seq, ts), and the same by time.
    dedup: BTreeMap<Rc<str>, (u64, Time)>,
    dedup_by_time: BTreeSet<(Time, Rc<str>)>,
    /// The last stored message's `Nats-Msg-Id` (nats `lmsgId`).
    last_msg_id: Rc<str>,
    /// Sequences removed since the last [`MsgStore::take_removed`].
    removed: Vec<u64>,
    /// Every sequence ever removed from this store (limits, age, purge,
    /// rollup, delete, retention), as disjoint ranges start → end
    /// (inclusive), so checks can tell "removed by the stream" from "lost".
    gone: BTreeMap<u64, u64>,
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

/// Does `subject` match the filter (`""` and `>` match everything)?
pub fn filter_matches(filter: &str, subject: &str) -> bool {
    filter.is_empty() || filter == ">" || crate::subject::matches(filter, subject)
}

impl MsgStore {
    pub fn new() -> MsgStore {
        MsgStore::default()
    }

    /// A store whose first message will get `first_seq` (nats `first_seq`).
    pub fn with_first_seq(first_seq: u64) -> MsgStore {
        let mut s = MsgStore::default();
        if first_seq > 1 {
            s.last = first_seq - 1;
            s.first = first_seq;
        }
        s
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

    fn size_of(cfg: &StreamConfig, m: &StoredMsg) -> u64 {
        Self::msg_size(cfg.memory(), &m.subject, m.hdr.as_ref(), &m.data)
    }

    /// Messages stored on `subject`.
    pub fn subject_count(&self, subject: &str) -> u64 {
        self.subjects.get(subject).map_or(0, |s| s.len() as u64)
    }

    /// The pre-proposal discard-new checks of a replicated stream's leader
    /// (nats `checkMsgHeadersPreClusteredProposal`): totals including
    /// `inflight` proposals (msgs, bytes, and this subject's) plus the new
    /// message must stay within max_msgs / max_bytes, then per subject.
    pub fn check_discard_new_clustered(
        &self,
        cfg: &StreamConfig,
        subject: &str,
        size: u64,
        inflight: (u64, u64, u64),
    ) -> Result<(), StoreError> {
        if self.msgs.len() as u64 + inflight.0 >= MAX_MSGS_PER_STREAM
            && (cfg.discard_new || cfg.max_msgs < 0 || cfg.max_msgs as u64 > MAX_MSGS_PER_STREAM)
        {
            return Err(StoreError::SimLimit);
        }
        if !cfg.discard_new {
            return Ok(());
        }
        let msgs = self.msgs.len() as u64 + inflight.0 + 1;
        let bytes = self.bytes + inflight.1 + size;
        if cfg.max_msgs > 0 && msgs > cfg.max_msgs as u64 {
            return Err(StoreError::MaxMsgs);
        }
        if cfg.max_bytes > 0 && bytes > cfg.max_bytes as u64 {
            return Err(StoreError::MaxBytes);
        }
        if cfg.discard_new_per_subject && cfg.max_msgs_per_subject > 0 {
            let n = self.subject_count(subject) + inflight.2 + 1;
            if n > cfg.max_msgs_per_subject as u64 {
                return Err(StoreError::MaxMsgsPerSubject);
            }
        }
        Ok(())
    }

    /// The store's own checks when a message is applied (nats memstore
    /// `storeRawMsg`): with discard new, a subject at its per-subject limit
    /// refuses with `discard_new_per_subject`, else it may replace its oldest
    /// message even when the stream is at max_msgs / max_bytes.
    pub fn check_store(&self, cfg: &StreamConfig, subject: &str, size: u64) -> Result<(), StoreError> {
        let n = self.msgs.len() as u64;
        if n >= MAX_MSGS_PER_STREAM
            && (cfg.discard_new || cfg.max_msgs < 0 || cfg.max_msgs as u64 > MAX_MSGS_PER_STREAM)
        {
            return Err(StoreError::SimLimit);
        }
        if !cfg.discard_new {
            return Ok(());
        }
        let per = self.subjects.get(subject);
        let asl =
            cfg.max_msgs_per_subject > 0 && per.is_some_and(|s| s.len() as u64 >= cfg.max_msgs_per_subject as u64);
        if asl && cfg.discard_new_per_subject {
            return Err(StoreError::MaxMsgsPerSubject);
        }
        if cfg.max_msgs > 0 && n >= cfg.max_msgs as u64 && !asl {
            return Err(StoreError::MaxMsgs);
        }
        if cfg.max_bytes > 0 && self.bytes + size > cfg.max_bytes as u64 {
            if !asl {
                return Err(StoreError::MaxBytes);
            }
            // Replacing the subject's oldest must free enough room.
            let oldest = per.and_then(|s| s.iter().next()).and_then(|q| self.msgs.get(q));
            if oldest.is_none_or(|m| Self::size_of(cfg, m) < size) {
                return Err(StoreError::MaxBytes);
            }
        }
        Ok(())
    }

    /// Store a message (applying a committed entry) at the next sequence,
    /// record its id, then enforce the per-subject limit (always discard old
    /// within the subject) and, with discard old, max_msgs / max_bytes / age.
    pub fn store(&mut self, cfg: &StreamConfig, msg: StoredMsg, msg_id: Option<&str>) -> u64 {
        let size = Self::size_of(cfg, &msg);
        self.last += 1;
        let seq = self.last;
        if self.msgs.is_empty() {
            self.first = seq;
        }
        self.last_ts = msg.ts;
        let now = msg.ts;
        let subject = msg.subject.clone();
        self.subjects.entry(subject.clone()).or_default().insert(seq);
        self.msgs.insert(seq, msg);
        self.bytes += size;
        self.last_msg_id = Rc::from(msg_id.unwrap_or(""));
        if let Some(id) = msg_id {
            self.record_id(id, seq, now, cfg.duplicate_window);
        }
        if cfg.max_msgs_per_subject > 0 {
            while self.subject_count(&subject) > cfg.max_msgs_per_subject as u64 {
                let Some(oldest) = self.subjects.get(&subject).and_then(|s| s.iter().next().copied()) else { break };
                self.remove(cfg, oldest);
            }
        }
        self.enforce(cfg, now);
        seq
    }

    /// A sequence consumed without a message (nats `SkipMsg`: interest
    /// retention with no interest). The id is still remembered.
    pub fn skip(&mut self, cfg: &StreamConfig, ts: Time, msg_id: Option<&str>) -> u64 {
        self.last += 1;
        self.last_ts = ts;
        if self.msgs.is_empty() {
            self.first = self.last + 1;
        }
        self.last_msg_id = Rc::from(msg_id.unwrap_or(""));
        if let Some(id) = msg_id {
            self.record_id(id, self.last, ts, cfg.duplicate_window);
        }
        self.last
    }

    fn record_id(&mut self, id: &str, seq: u64, ts: Time, window: i64) {
        if window <= 0 {
            return;
        }
        self.expire_ids(ts, window);
        let id: Rc<str> = Rc::from(id);
        if let Some((_, old_ts)) = self.dedup.insert(id.clone(), (seq, ts)) {
            self.dedup_by_time.remove(&(old_ts, id.clone()));
        }
        self.dedup_by_time.insert((ts, id));
        while self.dedup.len() > MAX_DEDUP_IDS {
            let Some((t, oldest)) = self.dedup_by_time.pop_first() else { break };
            let _ = t;
            self.dedup.remove(&oldest);
        }
    }

    /// Forget ids older than the window at `now`.
    pub fn expire_ids(&mut self, now: Time, window: i64) {
        let window = window.max(0) as u64;
        while let Some((t, _)) = self.dedup_by_time.first() {
            if now.saturating_sub(*t) < window {
                break;
            }
            let Some((_, id)) = self.dedup_by_time.pop_first() else { break };
            self.dedup.remove(&id);
        }
    }

    /// The sequence a `Nats-Msg-Id` was stored at, if still inside the
    /// duplicate window at `now`.
    pub fn duplicate(&self, id: &str, now: Time, window: i64) -> Option<u64> {
        let (seq, ts) = self.dedup.get(id)?;
        (window > 0 && now.saturating_sub(*ts) < window as u64).then_some(*seq)
    }

    /// The last stored message's id ("" if it had none).
    pub fn last_msg_id(&self) -> &str {
        &self.last_msg_id
    }

    /// Remove the oldest messages beyond `max_msgs` / `max_bytes` (discard
    /// old only, as nats), older than `max_age`, and beyond jetsim's own cap.
    pub fn enforce(&mut self, cfg: &StreamConfig, now: Time) {
        if cfg.max_msgs_per_subject > 0 {
            let over: Vec<Rc<str>> = self
                .subjects
                .iter()
                .filter(|(_, s)| s.len() as u64 > cfg.max_msgs_per_subject as u64)
                .map(|(k, _)| k.clone())
                .collect();
            for subj in over {
                while self.subject_count(&subj) > cfg.max_msgs_per_subject as u64 {
                    let Some(oldest) = self.subjects.get(&subj).and_then(|s| s.iter().next().copied()) else { break };
                    self.remove(cfg, oldest);
                }
            }
        }
        while let Some((&seq, m)) = self.msgs.iter().next() {
            let n = self.msgs.len() as u64;
            let old = !cfg.discard_new;
            let over_msgs = old && cfg.max_msgs > 0 && n > cfg.max_msgs as u64;
            let over_cap = n > MAX_MSGS_PER_STREAM;
            let over_bytes = old && cfg.max_bytes > 0 && self.bytes > cfg.max_bytes as u64;
            let too_old = cfg.max_age > 0 && now.saturating_sub(m.ts) >= cfg.max_age as u64;
            if !(over_msgs || over_bytes || too_old || over_cap) {
                break;
            }
            self.remove(cfg, seq);
        }
    }

    /// Remove messages older than max_age at `now` (the age timer). Returns
    /// how many went.
    pub fn expire(&mut self, cfg: &StreamConfig, now: Time) -> u64 {
        if cfg.max_age <= 0 {
            return 0;
        }
        let mut n = 0;
        while let Some((&seq, m)) = self.msgs.iter().next() {
            if now.saturating_sub(m.ts) < cfg.max_age as u64 {
                break;
            }
            self.remove(cfg, seq);
            n += 1;
        }
        n
    }

    /// When the oldest message reaches max_age (the next age-timer firing).
    pub fn next_expiry(&self, cfg: &StreamConfig) -> Option<Time> {
        if cfg.max_age <= 0 {
            return None;
        }
        self.msgs.values().next().map(|m| m.ts.saturating_add(cfg.max_age as u64))
    }

    /// Remove one message. Returns whether it was there.
    pub fn remove(&mut self, cfg: &StreamConfig, seq: u64) -> bool {
        let Some(m) = self.msgs.remove(&seq) else { return false };
        self.bytes = self.bytes.saturating_sub(Self::size_of(cfg, &m));
        if let Some(set) = self.subjects.get_mut(&m.subject) {
            set.remove(&seq);
            if set.is_empty() {
                self.subjects.remove(&m.subject);
            }
        }
        match self.msgs.keys().next() {
            Some(&f) => self.first = f,
            None => self.first = self.last + 1,
        }
        if self.removed.len() < MAX_MSGS_PER_STREAM as usize {
            self.removed.push(seq);
        }
        self.mark_gone(seq, seq);
        true
    }

    /// Record `from..=to` as removed, merging with neighbouring ranges.
    fn mark_gone(&mut self, from: u64, to: u64) {
        if from > to {
            return;
        }
        let (mut from, mut to) = (from, to);
        if let Some((&s, &e)) = self.gone.range(..=from).next_back() {
            if e.saturating_add(1) >= from {
                from = s;
                to = to.max(e);
                self.gone.remove(&s);
            }
        }
        while let Some((&s, &e)) = self.gone.range(from..).next() {
            if s > to.saturating_add(1) {
                break;
            }
            to = to.max(e);
            self.gone.remove(&s);
        }
        self.gone.insert(from, to);
    }

    /// Whether the stream removed `seq` (it was stored, then went).
    pub fn was_removed(&self, seq: u64) -> bool {
        self.gone.range(..=seq).next_back().is_some_and(|(_, &e)| seq <= e)
    }

    /// Remove everything; returns how many messages went.
    pub fn purge(&mut self) -> u64 {
        let n = self.msgs.len() as u64;
        if self.removed.len() + self.msgs.len() <= MAX_MSGS_PER_STREAM as usize {
            self.removed.extend(self.msgs.keys().copied());
        }
        if let (Some(&a), Some(&b)) = (self.msgs.keys().next(), self.msgs.keys().next_back()) {
            self.mark_gone(a, b);
        }
        self.msgs.clear();
        self.subjects.clear();
        self.bytes = 0;
        self.first = self.last + 1;
        n
    }

    /// nats `PurgeEx(filter, seq, keep)`: without a filter, `seq` compacts
    /// (removes everything below it) and `keep` keeps the newest `keep`;
    /// with a filter, the matching messages below `seq` (or all but the
    /// newest `keep` of them) go. Returns how many went.
    pub fn purge_ex(&mut self, cfg: &StreamConfig, filter: &str, seq: u64, keep: u64) -> u64 {
        if filter.is_empty() || filter == ">" {
            if keep == 0 && seq == 0 {
                return self.purge();
            }
            if seq > 1 {
                return self.compact(cfg, seq);
            }
            if keep > 0 {
                let n = self.msgs.len() as u64;
                if keep >= n {
                    return 0;
                }
                return self.compact(cfg, self.last - keep + 1);
            }
            return 0;
        }
        let matching: Vec<u64> =
            self.msgs.iter().filter(|(_, m)| filter_matches(filter, &m.subject)).map(|(s, _)| *s).collect();
        let mut todo = matching.len() as u64;
        if keep > 0 {
            if keep >= todo {
                return 0;
            }
            todo -= keep;
        }
        let last = if seq > 1 { seq - 1 } else { u64::MAX };
        let mut n = 0;
        for s in matching {
            if s > last || n >= todo {
                break;
            }
            if self.remove(cfg, s) {
                n += 1;
            }
        }
        n
    }

    /// Remove every message below `seq` (nats `Compact`); past the end, the
    /// next message gets `seq`.
    fn compact(&mut self, cfg: &StreamConfig, seq: u64) -> u64 {
        if self.first > seq {
            return 0;
        }
        if seq <= self.last {
            let below: Vec<u64> = self.msgs.range(..seq).map(|(s, _)| *s).collect();
            let n = below.len() as u64;
            for s in below {
                self.remove(cfg, s);
            }
            if self.msgs.is_empty() {
                self.first = seq;
            }
            n
        } else {
            let n = self.purge();
            self.last = seq - 1;
            self.first = seq;
            n
        }
    }

    /// Message counts of the subjects matching `filter`, sorted by subject.
    pub fn subject_totals(&self, filter: &str) -> Vec<(Rc<str>, u64)> {
        self.subjects
            .iter()
            .filter(|(s, _)| filter_matches(filter, s))
            .map(|(s, q)| (s.clone(), q.len() as u64))
            .collect()
    }

    /// Interior deleted sequences between first and last (nats `deleted`),
    /// at most [`MAX_MSGS_PER_STREAM`].
    pub fn deleted(&self) -> Vec<u64> {
        let mut out = Vec::new();
        let mut expect = self.first;
        for &s in self.msgs.keys() {
            while expect < s && out.len() < MAX_MSGS_PER_STREAM as usize {
                out.push(expect);
                expect += 1;
            }
            expect = s + 1;
        }
        out
    }

    /// Drain the log of removed sequences.
    pub fn take_removed(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.removed)
    }

    pub fn get(&self, seq: u64) -> Option<&StoredMsg> {
        self.msgs.get(&seq)
    }

    pub fn range(&self, from: u64) -> impl Iterator<Item = (u64, &StoredMsg)> {
        self.msgs.range(from..).map(|(s, m)| (*s, m))
    }

    /// The newest message whose subject matches `filter` (nats `LoadLastMsg`).
    pub fn last_by_subject(&self, filter: &str) -> Option<(u64, &StoredMsg)> {
        if crate::subject::is_literal(filter) && !filter.is_empty() {
            let seq = *self.subjects.get(filter)?.iter().next_back()?;
            return self.msgs.get(&seq).map(|m| (seq, m));
        }
        self.msgs.iter().rev().find(|(_, m)| filter_matches(filter, &m.subject)).map(|(s, m)| (*s, m))
    }

    /// The first message at or after `from` whose subject matches `filter`
    /// (nats `LoadNextMsg`).
    pub fn next_by_subject(&self, filter: &str, from: u64) -> Option<(u64, &StoredMsg)> {
        self.msgs.range(from..).find(|(_, m)| filter_matches(filter, &m.subject)).map(|(s, m)| (*s, m))
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
        StoreState {
            messages: self.msgs.len() as u64,
            bytes: self.bytes,
            first_seq: self.first,
            first_ts: self.msgs.values().next().map_or(0, |m| m.ts),
            last_seq: self.last,
            last_ts: self.last_ts,
            num_subjects: self.subjects.len() as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jetstream::api::parse_stream_config;

    fn cfg(extra: &str) -> StreamConfig {
        parse_stream_config(format!(r#"{{"name":"S","subjects":["s.>"],"storage":"memory"{extra}}}"#).as_bytes(), "S")
            .unwrap()
    }

    fn msg(subject: &str, ts: Time) -> StoredMsg {
        StoredMsg { subject: Rc::from(subject), hdr: None, data: Bytes::from_static(b"x"), ts }
    }

    #[test]
    fn per_subject_limit_keeps_newest() {
        let c = cfg(r#","max_msgs_per_subject":2"#);
        let mut s = MsgStore::new();
        for (i, subj) in ["s.a", "s.b", "s.a", "s.a", "s.b", "s.a"].iter().enumerate() {
            s.store(&c, msg(subj, i as Time), None);
        }
        let seqs: Vec<u64> = s.range(0).map(|(q, _)| q).collect();
        assert_eq!(seqs, vec![2, 4, 5, 6]);
        assert_eq!((s.subject_count("s.a"), s.subject_count("s.b")), (2, 2));
        assert_eq!(s.take_removed(), vec![1, 3]);
    }

    #[test]
    fn discard_new_with_subject_at_limit_replaces() {
        let c = cfg(r#","max_msgs":3,"discard":"new","max_msgs_per_subject":1"#);
        let mut s = MsgStore::new();
        for subj in ["s.a", "s.b", "s.c"] {
            assert_eq!(s.check_store(&c, subj, 10), Ok(()));
            s.store(&c, msg(subj, 0), None);
        }
        // A new subject: the stream is full.
        assert_eq!(s.check_store(&c, "s.d", 10), Err(StoreError::MaxMsgs));
        // A subject at its limit replaces its oldest.
        assert_eq!(s.check_store(&c, "s.a", 10), Ok(()));
        let c2 = cfg(r#","max_msgs":3,"discard":"new","max_msgs_per_subject":1,"discard_new_per_subject":true"#);
        assert_eq!(s.check_store(&c2, "s.a", 10), Err(StoreError::MaxMsgsPerSubject));
    }

    #[test]
    fn age_expiry_and_dedup_window() {
        let c = cfg(r#","max_age":1000000000,"duplicate_window":500000000"#);
        let mut s = MsgStore::new();
        s.store(&c, msg("s.a", 0), Some("id1"));
        assert_eq!(s.duplicate("id1", 400_000_000, c.duplicate_window), Some(1));
        assert_eq!(s.duplicate("id1", 500_000_000, c.duplicate_window), None);
        s.store(&c, msg("s.a", 600_000_000), Some("id2"));
        assert_eq!(s.duplicate("id1", 400_000_000, c.duplicate_window), None, "forgotten after the window");
        assert_eq!(s.next_expiry(&c), Some(1_000_000_000));
        assert_eq!(s.expire(&c, 999_999_999), 0);
        assert_eq!(s.expire(&c, 1_000_000_000), 1);
        assert_eq!((s.first_seq(), s.len()), (2, 1));
        assert_eq!(s.last_msg_id(), "id2");
    }

    #[test]
    fn removed_ranges_merge() {
        let c = cfg("");
        let mut s = MsgStore::new();
        for i in 0..10 {
            s.store(&c, msg("s.a", i), None);
        }
        for q in [3, 5, 4, 9] {
            s.remove(&c, q);
        }
        assert!(s.was_removed(3) && s.was_removed(4) && s.was_removed(5) && s.was_removed(9));
        assert!(!s.was_removed(2) && !s.was_removed(6) && !s.was_removed(11));
        assert_eq!(s.gone.len(), 2);
        s.purge();
        assert!(s.was_removed(1) && s.was_removed(10) && s.gone.len() == 1);
    }

    #[test]
    fn purge_variants() {
        let c = cfg("");
        let mut s = MsgStore::new();
        for (i, subj) in ["s.a", "s.b", "s.a", "s.b", "s.a"].iter().enumerate() {
            s.store(&c, msg(subj, i as Time), None);
        }
        let mut t = s.clone();
        assert_eq!(t.purge_ex(&c, "s.a", 0, 1), 2);
        assert_eq!(t.range(0).map(|(q, _)| q).collect::<Vec<_>>(), vec![2, 4, 5]);
        let mut t = s.clone();
        assert_eq!(t.purge_ex(&c, "", 4, 0), 3);
        assert_eq!(t.first_seq(), 4);
        let mut t = s.clone();
        assert_eq!(t.purge_ex(&c, "", 0, 2), 3);
        assert_eq!(t.first_seq(), 4);
        let mut t = s.clone();
        assert_eq!(t.purge_ex(&c, "", 10, 0), 5);
        assert_eq!((t.first_seq(), t.last_seq()), (10, 9));
        assert_eq!(s.last_by_subject("s.b").map(|(q, _)| q), Some(4));
        assert_eq!(s.last_by_subject("s.*").map(|(q, _)| q), Some(5));
        assert_eq!(s.next_by_subject("s.b", 3).map(|(q, _)| q), Some(4));
        assert_eq!(s.next_by_subject("s.b", 5), None);
    }
}
