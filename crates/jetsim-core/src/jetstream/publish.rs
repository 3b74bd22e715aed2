//! Publishing into a stream: the stream leader's checks before proposing
//! (nats `processClusteredInboundMsg` + `checkMsgHeadersPreClusteredProposal`
//! for replicated streams) and what every replica does when it applies a
//! message (nats `processJetStreamMsg`: for an R1 stream, which nats runs
//! without a Raft node, every check happens there), with the PubAck texts of
//! nats-server 2.12.8.
//!
//! Order of the checks, replicated stream, before proposing: sealed (10109),
//! size (10054), header size (10097), `Nats-Expected-Stream` (10060),
//! `Nats-Msg-Id` in the duplicate window (duplicate ack, or 409/10158 while
//! the first is still in flight), `Nats-Expected-Last-Sequence` (10071,
//! against the last sequence plus what is in flight),
//! `Nats-Expected-Last-Subject-Sequence` (10071; 10164 if the subject has a
//! write in flight), `Nats-Rollup` (10111), discard new (10077). When
//! applied: `Nats-Expected-Last-Msg-Id` (10070), interest retention without
//! interest (sequence skipped, still acked), the store's discard-new checks
//! (10077), store, rollup.

use std::rc::Rc;

use bytes::Bytes;
use jetsim_raft::{Index, Output};

use super::api::ApiError;
use super::headers as h;
use super::store::{MsgStore, StoredMsg};
use super::{pub_ack, pub_ack_error, JsEntry, Pending, StreamReplica};
use crate::node::Ctx;
use crate::server::Server;

/// A proposed message the leader has not applied yet (nats `mset.inflight`,
/// `clseq - lseq`): counted by the discard-new and expected-sequence checks.
#[derive(Clone, Debug)]
pub(crate) struct Inflight {
    pub subject: Rc<str>,
    pub size: u64,
    pub msg_id: Option<Rc<str>>,
}

/// The duplicate PubAck, byte for byte as nats writes it (note the space).
pub fn pub_ack_duplicate(stream: &str, seq: u64) -> Vec<u8> {
    let mut b = pub_ack(stream, seq);
    b.pop();
    b.extend_from_slice(b",\"duplicate\": true}");
    b
}

fn rollup_err(value: &str) -> ApiError {
    ApiError::new(500, 10111, format!("rollup value invalid: {value:?}"))
}

/// What a rollup header asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rollup {
    None,
    Sub,
    All,
    Invalid,
}

fn rollup_of(hdr: &[u8]) -> (Rollup, String) {
    match h::get_str(hdr, h::ROLLUP) {
        None => (Rollup::None, String::new()),
        Some(v) => {
            let v = v.to_ascii_lowercase();
            let r = match v.as_str() {
                "sub" => Rollup::Sub,
                "all" => Rollup::All,
                _ => Rollup::Invalid,
            };
            (r, v)
        }
    }
}

/// The checks a replicated stream's leader makes before proposing. Ok, or
/// the reply to send (already a full PubAck body) and whether to send it
/// even on a `no_ack` stream.
fn pre_proposal(
    r: &StreamReplica,
    stream: &str,
    subject: &str,
    hdr: Option<&Bytes>,
    payload: &Bytes,
    now: crate::time::Time,
) -> Result<(), (Vec<u8>, bool)> {
    let cfg = &r.assignment.config;
    let err = |e: ApiError| Err((pub_ack_error(stream, &e), false));
    if cfg.sealed {
        return Err((pub_ack_error(stream, &ApiError::new(400, 10109, "invalid operation on sealed stream")), true));
    }
    let hlen = hdr.map_or(0, |h| h.len());
    if cfg.max_msg_size >= 0
        && (hlen as i64 > cfg.max_msg_size || payload.len() as i64 > cfg.max_msg_size - hlen as i64)
    {
        return err(ApiError::new(400, 10054, "message size exceeds maximum allowed"));
    }
    let hb: &[u8] = hdr.map_or(&[], |h| &h[..]);
    if !hb.is_empty() {
        if hb.len() > h::MAX_HEADER_BYTES {
            return err(ApiError::new(400, 10097, "header size exceeds maximum allowed of 64k"));
        }
        if let Some(s) = h::get_str(hb, h::EXPECTED_STREAM) {
            if s != stream {
                return err(ApiError::new(400, 10060, "expected stream does not match"));
            }
        }
        if let Some(id) = h::get_str(hb, h::MSG_ID) {
            if let Some(seq) = r.store.duplicate(id, now, cfg.duplicate_window) {
                return Err((super::publish::pub_ack_duplicate(stream, seq), true));
            }
            if r.inflight.values().any(|i| i.msg_id.as_deref() == Some(id)) {
                return err(ApiError::new(409, 10158, "duplicate message id is in process"));
            }
        }
        if let Some(seq) = h::get_seq(hb, h::EXPECTED_LAST_SEQ) {
            let clseq = r.store.last_seq() + r.inflight.len() as u64;
            if seq != clseq {
                return err(ApiError::new(400, 10071, format!("wrong last sequence: {clseq}")));
            }
        }
        if let Some(seq) = h::get_seq(hb, h::EXPECTED_LAST_SUBJ_SEQ) {
            let subj = h::get_str(hb, h::EXPECTED_LAST_SUBJ_SEQ_SUBJ).unwrap_or(subject);
            if r.inflight.values().any(|i| &*i.subject == subj) {
                return err(ApiError::new(400, 10164, "wrong last sequence"));
            }
            let fseq = r.store.last_by_subject(subj).map_or(0, |(s, _)| s);
            if seq != fseq {
                return err(ApiError::new(400, 10071, format!("wrong last sequence: {fseq}")));
            }
        } else if h::get_str(hb, h::EXPECTED_LAST_SUBJ_SEQ_SUBJ).is_some() {
            return err(ApiError::new(400, 10193, "missing sequence for expected last sequence per subject"));
        }
        let (rollup, value) = rollup_of(hb);
        if rollup != Rollup::None {
            if !cfg.allow_rollup_hdrs || cfg.deny_purge {
                return err(ApiError::new(500, 10111, "rollup not permitted"));
            }
            if rollup == Rollup::Invalid {
                return err(rollup_err(&value));
            }
        }
    }
    let size = MsgStore::msg_size(cfg.memory(), subject, hdr, payload);
    let (mut n, mut bytes, mut on_subject) = (0u64, 0u64, 0u64);
    for i in r.inflight.values() {
        n += 1;
        bytes += i.size;
        on_subject += u64::from(&*i.subject == subject);
    }
    if let Err(e) = r.store.check_discard_new_clustered(cfg, subject, size, (n, bytes, on_subject)) {
        return err(ApiError::new(503, 10077, e.description()));
    }
    Ok(())
}

impl Server {
    /// The stream leader got a publish on one of the stream's subjects.
    pub(super) fn js_stream_publish(
        &mut self,
        ctx: &mut Ctx,
        stream: &Rc<str>,
        subject: &Rc<str>,
        reply: Option<&Rc<str>>,
        headers: Option<&Bytes>,
        payload: &Bytes,
    ) {
        let Some(r) = self.js.as_mut().and_then(|js| js.streams.get_mut(stream)) else { return };
        if !r.is_leader() {
            return;
        }
        let cfg = &r.assignment.config;
        // nats `mset.itr`: the stored (and checked) subject is transformed.
        let transformed: Option<Rc<str>> = cfg
            .subject_transform
            .as_ref()
            .and_then(|(src, dest)| super::api::transform(src, dest, subject))
            .map(|t| Rc::from(t.as_str()));
        let subject: &Rc<str> = transformed.as_ref().unwrap_or(subject);
        let ack_reply = reply.filter(|_| !cfg.no_ack).cloned();
        let replicated = r.assignment.peers.len() > 1;
        if replicated {
            if let Err((body, always)) = pre_proposal(r, stream, subject, headers, payload, ctx.now) {
                let to = if always { reply.cloned() } else { ack_reply };
                if let Some(to) = to {
                    self.internal_publish(ctx, &to, None, Bytes::from(body));
                }
                return;
            }
        }
        let size = MsgStore::msg_size(cfg.memory(), subject, headers, payload);
        let msg_id = headers.and_then(|hb| h::get_str(hb, h::MSG_ID)).map(Rc::from);
        let msg = StoredMsg { subject: subject.clone(), hdr: headers.cloned(), data: payload.clone(), ts: ctx.now };
        let Some(g) = r.group.as_mut() else { return };
        let gname = g.name.clone();
        let mut out = Output::new();
        if let Ok(index) = g.raft.propose(ctx.now, JsEntry::Msg(Rc::new(msg)), &mut out) {
            // The apply decides whether it is answered (no_ack, leader).
            if let Some(reply) = reply.cloned() {
                r.pending.insert(index, Pending::PubAck(reply));
            }
            r.inflight.insert(index, Inflight { subject: subject.clone(), size, msg_id });
        }
        self.js_output(ctx, &gname, out);
    }

    /// Apply a committed message on this replica; returns the reply the
    /// leader owes (PubAck, duplicate ack or error PubAck), if any.
    pub(super) fn js_apply_msg(
        &mut self,
        _ctx: &mut Ctx,
        stream: &Rc<str>,
        index: Index,
        m: Rc<StoredMsg>,
        reply: Option<Rc<str>>,
    ) -> Option<(Rc<str>, Vec<u8>)> {
        let interest = self.js_has_interest(stream, &m.subject);
        let r = self.js.as_mut()?.streams.get_mut(stream)?;
        r.inflight.remove(&index);
        let cfg = r.assignment.config.clone();
        let leader = r.is_leader();
        // nats canRespond: acks on, a reply, and this replica leads.
        let can_respond = leader && !cfg.no_ack && reply.is_some();
        let respond = |body: Vec<u8>| if can_respond { reply.clone().map(|to| (to, body)) } else { None };
        let err = |e: ApiError| pub_ack_error(stream, &e);
        let hb: &[u8] = m.hdr.as_ref().map_or(&[], |h| &h[..]);
        // An R1 stream (no Raft node in nats) makes every check here.
        let consistency = r.assignment.peers.len() <= 1;
        if consistency {
            if cfg.sealed {
                return respond(err(ApiError::new(400, 10109, "invalid operation on sealed stream")));
            }
            if !hb.is_empty() {
                if let Some(s) = h::get_str(hb, h::EXPECTED_STREAM) {
                    if s != &**stream {
                        return respond(err(ApiError::new(400, 10060, "expected stream does not match")));
                    }
                }
                if let Some(seq) = h::get_seq(hb, h::EXPECTED_LAST_SUBJ_SEQ) {
                    let subj = h::get_str(hb, h::EXPECTED_LAST_SUBJ_SEQ_SUBJ).unwrap_or(&m.subject);
                    let fseq = r.store.last_by_subject(subj).map_or(0, |(s, _)| s);
                    if seq != fseq {
                        return respond(err(ApiError::new(400, 10071, format!("wrong last sequence: {fseq}"))));
                    }
                } else if h::get_str(hb, h::EXPECTED_LAST_SUBJ_SEQ_SUBJ).is_some() {
                    return respond(err(ApiError::new(
                        400,
                        10193,
                        "missing sequence for expected last sequence per subject",
                    )));
                }
                if let Some(seq) = h::get_seq(hb, h::EXPECTED_LAST_SEQ) {
                    let last = r.store.last_seq();
                    if seq != last {
                        return respond(err(ApiError::new(400, 10071, format!("wrong last sequence: {last}"))));
                    }
                }
                if let Some(id) = h::get_str(hb, h::MSG_ID) {
                    if let Some(seq) = r.store.duplicate(id, m.ts, cfg.duplicate_window) {
                        return respond(super::publish::pub_ack_duplicate(stream, seq));
                    }
                }
            }
        }
        if let Some(want) = h::get_str(hb, h::EXPECTED_LAST_MSG_ID) {
            let last = r.store.last_msg_id().to_string();
            if want != last {
                return respond(err(ApiError::new(400, 10070, format!("wrong last msg ID: {last}"))));
            }
        }
        let (rollup, value) = if hb.is_empty() { (Rollup::None, String::new()) } else { rollup_of(hb) };
        if consistency {
            if rollup != Rollup::None && (!cfg.allow_rollup_hdrs || cfg.deny_purge) {
                return respond(err(ApiError::new(500, 10111, "rollup not permitted")));
            }
            if rollup == Rollup::Invalid {
                return respond(err(rollup_err(&value)));
            }
            let hlen = hb.len();
            if cfg.max_msg_size >= 0
                && (hlen as i64 > cfg.max_msg_size || m.data.len() as i64 > cfg.max_msg_size - hlen as i64)
            {
                return respond(err(ApiError::new(400, 10054, "message size exceeds maximum allowed")));
            }
            if hlen > h::MAX_HEADER_BYTES {
                return respond(err(ApiError::new(400, 10097, "header size exceeds maximum allowed of 64k")));
            }
        }
        let msg_id = h::get_str(hb, h::MSG_ID);
        if cfg.is_interest() && !interest {
            // nats SkipMsg: the sequence is used, nothing is stored.
            let seq = r.store.skip(&cfg, m.ts, msg_id);
            let keep = 0;
            Self::rollup_purge(r, rollup, &m.subject, keep);
            return respond(pub_ack(stream, seq));
        }
        let size = MsgStore::msg_size(cfg.memory(), &m.subject, m.hdr.as_ref(), &m.data);
        if let Err(e) = r.store.check_store(&cfg, &m.subject, size) {
            return respond(err(ApiError::new(503, 10077, e.description())));
        }
        let subject = m.subject.clone();
        let prev_on_subject = r.store.last_by_subject(&subject).map_or(0, |(q, _)| q);
        let seq = r.store.store(&cfg, (*m).clone(), msg_id);
        Self::rollup_purge(r, rollup, &subject, 1);
        if leader {
            if let Some((src, dest, headers_only)) = &cfg.republish {
                if let Some(to) = super::api::transform(src, dest, &subject) {
                    // nats: the stored headers plus Nats-Stream/-Subject/
                    // -Sequence/-Time-Stamp/-Last-Sequence (and -Msg-Size
                    // with headers_only, which sends no payload).
                    let ts = super::api::rfc3339(m.ts);
                    let mut extra = format!(
                        "Nats-Stream: {stream}\r\nNats-Subject: {subject}\r\nNats-Sequence: {seq}\r\nNats-Time-Stamp: {ts}\r\nNats-Last-Sequence: {prev_on_subject}\r\n"
                    );
                    if *headers_only {
                        extra.push_str(&format!("Nats-Msg-Size: {}\r\n", m.data.len()));
                    }
                    extra.push_str("\r\n");
                    let hdr = h::append(m.hdr.as_deref(), &extra);
                    let data = if *headers_only { Bytes::new() } else { m.data.clone() };
                    r.republish.push((Rc::from(to.as_str()), Bytes::from(hdr), data));
                }
            }
        }
        respond(pub_ack(stream, seq))
    }

    /// After a rollup message: `sub` keeps only the newest `keep` on its
    /// subject, `all` only the newest `keep` in the stream.
    fn rollup_purge(r: &mut StreamReplica, rollup: Rollup, subject: &str, keep: u64) {
        let cfg = r.assignment.config.clone();
        match rollup {
            Rollup::Sub => {
                r.store.purge_ex(&cfg, subject, 0, keep);
            }
            Rollup::All => {
                if keep == 0 {
                    r.store.purge();
                } else {
                    r.store.purge_ex(&cfg, "", 0, keep);
                }
            }
            Rollup::None | Rollup::Invalid => {}
        }
    }
}
