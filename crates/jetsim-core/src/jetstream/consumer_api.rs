//! Consumers on the server: the `$JS.API.CONSUMER.*` handlers (create,
//! info, delete, names, list, leader step-down) with nats' who-answers rules,
//! the consumer's own Raft group (`C-R<n><F|M>-<hash>` on a subset of the
//! stream's peers, nats `createGroupForConsumer`), the consumer leader (the
//! group's leader, independent of the stream leader) with its pull wait
//! queue, deliveries with `$JS.ACK` reply subjects, acks, redelivery timers,
//! push delivery with idle heartbeats, and the replicated consumer ops.

use std::rc::Rc;

use bytes::Bytes;
use jetsim_raft::{Index, Output};
use serde::Serialize;
use serde_json::{json, Value};

use super::api::{error_response, json_kind as kind, response_type, ApiError};
use super::consumer::{
    self, AckPolicy, Action, Consumer, ConsumerAssignment, ConsumerOp, DeliverPolicy, Outgoing, WaitingRequest,
};
use super::{InternalSub, JsEntry, Pending};
use crate::node::{Ctx, Timer};
use crate::server::Server;
use crate::time::{Time, SEC};

/// Virtual time 0 (2025-01-01T00:00:00Z) in Unix nanoseconds, for the
/// timestamp token of `$JS.ACK` subjects.
const UNIX_OFFSET_NS: u64 = 1_735_689_600 * SEC;

/// Largest pull request body parsed.
const MAX_PULL_BODY: usize = 4096;

fn status(code: u16, text: &str) -> Bytes {
    Bytes::from(format!("NATS/1.0 {code} {text}\r\n\r\n"))
}

fn status_pending(code: u16, text: &str, n: i64, b: i64) -> Bytes {
    Bytes::from(format!("NATS/1.0 {code} {text}\r\nNats-Pending-Messages: {n}\r\nNats-Pending-Bytes: {b}\r\n\r\n"))
}

enum Who {
    Meta,
    Leader(Rc<str>, Rc<str>),
    /// CONSUMER.LIST: the stream leader answers with its consumers' state
    /// (nats' meta leader gathers it from the consumer leaders).
    List(Rc<str>),
}

#[derive(Serialize)]
struct SeqInfo {
    consumer_seq: u64,
    stream_seq: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_active: Option<String>,
}

/// A parsed pull request (nats `nextReqFromMsg`).
struct PullRequest {
    batch: i64,
    expires: i64,
    max_bytes: i64,
    no_wait: bool,
    hb: i64,
}

fn parse_pull(body: &[u8]) -> Result<PullRequest, String> {
    let t = body.trim_ascii();
    let mut r = PullRequest { batch: 1, expires: 0, max_bytes: 0, no_wait: false, hb: 0 };
    if t.is_empty() {
        return Ok(r);
    }
    if t[0] == b'{' {
        if t.len() > MAX_PULL_BODY {
            return Err("request too large".into());
        }
        let v: Value = serde_json::from_slice(t).map_err(|e| e.to_string())?;
        let Value::Object(m) = v else { return Err("json: cannot unmarshal into Go value".into()) };
        let int = |k: &str, ty: &str| -> Result<i64, String> {
            match m.get(k) {
                None | Some(Value::Null) => Ok(0),
                Some(v) => v.as_i64().ok_or_else(|| {
                    format!(
                        "json: cannot unmarshal {} into Go struct field JSApiConsumerGetNextRequest.{k} of type {ty}",
                        kind(v)
                    )
                }),
            }
        };
        r.batch = int("batch", "int")?;
        r.expires = int("expires", "time.Duration")?;
        r.max_bytes = int("max_bytes", "int")?;
        r.hb = int("idle_heartbeat", "time.Duration")?;
        r.no_wait = match m.get("no_wait") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(v) => {
                return Err(format!(
                    "json: cannot unmarshal {} into Go struct field JSApiConsumerGetNextRequest.no_wait of type bool",
                    kind(v)
                ))
            }
        };
        if r.hb > 0 && r.hb.saturating_mul(2) > r.expires {
            return Err("heartbeat value too large".into());
        }
        return Ok(r);
    }
    if let Some(n) = std::str::from_utf8(t).ok().and_then(|s| s.parse::<i64>().ok()) {
        r.batch = n;
    }
    Ok(r)
}

/// Apply a committed consumer op to this replica (every member; the leader
/// skips the ops it proposed itself, already applied when it acted).
pub(super) fn apply_op(c: &mut Consumer, last_seq: u64, index: Index, op: &ConsumerOp) {
    if c.proposed.remove(&index).is_some_and(|p| p == *op) {
        // Our own op, applied when we acted; now committed: release what
        // waited for it (nats sends replicated deliveries and ack-acks then).
        match op {
            ConsumerOp::Delivered { sseq, .. } => {
                if let Some(m) = c.held.remove(sseq) {
                    let to = m.to.clone();
                    c.ready.push(m);
                    if let Some((last, ended)) = c.held_requests.get(&to).copied() {
                        if last == *sseq {
                            c.held_requests.remove(&to);
                            if let Some((pn, pb)) = ended.filter(|(pn, pb)| *pn > 0 || *pb > 0) {
                                c.ready.push(Outgoing {
                                    to: to.clone(),
                                    subject: to,
                                    reply: None,
                                    hdr: Some(status_pending(408, "Request Timeout", pn, pb)),
                                    data: Bytes::new(),
                                });
                            }
                        }
                    }
                }
            }
            ConsumerOp::Ack { sseq, .. } => {
                if let Some(to) = c.ack_replies.remove(sseq) {
                    c.ready.push(Outgoing { to: to.clone(), subject: to, reply: None, hdr: None, data: Bytes::new() });
                }
            }
            _ => {}
        }
        return;
    }
    match op {
        ConsumerOp::Start { sseq, lss } => {
            c.sseq = *sseq;
            c.dseq = 1;
            c.adflr = 0;
            c.asflr = 0;
            c.lss = if lss.is_empty() { None } else { Some((lss.iter().copied().collect(), last_seq + 1)) };
            c.started = true;
        }
        ConsumerOp::Delivered { dseq, sseq, dc, ts } => {
            c.record_delivery(*dseq, *sseq, *dc, *ts);
            if let Some((seqs, resume)) = c.lss.as_mut() {
                seqs.retain(|&s| s != *sseq);
                if seqs.is_empty() {
                    c.sseq = c.sseq.max(*resume);
                    c.lss = None;
                }
            }
        }
        ConsumerOp::Ack { dseq, sseq, ts } => {
            c.record_ack(*sseq, *dseq, *ts);
        }
        ConsumerOp::Pending { sseq, ts, due } => {
            if let Some(p) = c.pending.get_mut(sseq) {
                p.ts = *ts;
                p.due = *due;
            }
        }
        ConsumerOp::Request { reply, add } => {
            if c.is_leader() {
                return;
            }
            if *add {
                if c.prm.len() < consumer::MAX_WAITING_CAP as usize {
                    c.prm.insert(reply.clone());
                }
            } else {
                c.prm.remove(reply);
            }
        }
    }
}

impl Server {
    /// A `$JS.API.CONSUMER.*` request (from `js_api`).
    pub(crate) fn js_consumer_api(
        &mut self,
        ctx: &mut Ctx,
        toks: &[&str],
        reply: Option<&Rc<str>>,
        payload: &Bytes,
        from_client: bool,
    ) {
        let rc = |s: &str| -> Rc<str> { Rc::from(s) };
        let (short, who): (&str, Who) = match toks {
            ["CONSUMER", "CREATE", _, ..] | ["CONSUMER", "DURABLE", "CREATE", ..] => {
                ("consumer_create_response", Who::Meta)
            }
            ["CONSUMER", "DELETE", _, _] => ("consumer_delete_response", Who::Meta),
            ["CONSUMER", "NAMES", _] => ("consumer_names_response", Who::Meta),
            ["CONSUMER", "LIST", s] => ("consumer_list_response", Who::List(rc(s))),
            ["CONSUMER", "INFO", s, c] => ("consumer_info_response", Who::Leader(rc(s), rc(c))),
            ["CONSUMER", "LEADER", "STEPDOWN", s, c] => {
                ("consumer_leader_stepdown_response", Who::Leader(rc(s), rc(c)))
            }
            // Pull requests go to the consumer leader's own subscription.
            ["CONSUMER", "MSG", "NEXT", ..] => return,
            _ => {
                if from_client {
                    self.js_count(true);
                    self.js_reply(ctx, reply, error_response("error_response", &ApiError::bad_request()), false);
                }
                return;
            }
        };
        if from_client {
            if let (Some(js), Some(r)) = (self.js.as_mut(), reply) {
                js.open_response(ctx.now, r);
            }
        }
        let Some(js) = self.js.as_ref() else { return };
        let unavailable = error_response(short, &ApiError::cluster_unavailable());
        match who {
            Who::Meta => {
                if js.meta_leaderless(ctx.now) {
                    self.js_count(true);
                    self.js_reply(ctx, reply, unavailable, false);
                    return;
                }
                if !js.is_meta_leader() {
                    return;
                }
                self.js_count(false);
                let result = match toks {
                    ["CONSUMER", "DELETE", s, c] => self.js_consumer_delete(ctx, s, c, reply),
                    ["CONSUMER", "NAMES", s] => Ok(Some(self.js_consumer_names(ctx, s, short, payload))),
                    _ => self.js_consumer_create(ctx, toks, reply, payload),
                };
                self.js_answer(ctx, reply, short, result);
            }
            Who::List(s) => {
                if js.meta_leaderless(ctx.now) {
                    self.js_count(true);
                    self.js_reply(ctx, reply, unavailable, false);
                    return;
                }
                let answer = match js.streams.get(&s) {
                    None => js.is_meta_leader(),
                    Some(r) => r.is_leader() || (js.is_meta_leader() && r.leader().is_none()),
                };
                if answer {
                    self.js_count(false);
                    let body = self.js_consumer_names(ctx, &s, short, payload);
                    self.js_reply(ctx, reply, body, false);
                }
            }
            Who::Leader(s, c) => {
                if short == "consumer_leader_stepdown_response" && !js.clustered() {
                    self.js_count(true);
                    let e = ApiError::new(503, 10010, "JetStream clustering support required");
                    self.js_reply(ctx, reply, error_response(short, &e), false);
                    return;
                }
                let meta_leader = js.is_meta_leader();
                let meta_leaderless = js.meta_leaderless(ctx.now);
                let lq = js.opts.raft_config().lost_quorum;
                let err = match js.streams.get(&s) {
                    None => Some(ApiError::stream_not_found()),
                    Some(r) if !r.consumers.contains_key(&c) => Some(ApiError::new(404, 10014, "consumer not found")),
                    Some(_) => None,
                };
                if let Some(e) = err {
                    if meta_leader {
                        self.js_count(true);
                        self.js_reply(ctx, reply, error_response(short, &e), false);
                    } else if meta_leaderless {
                        self.js_count(true);
                        self.js_reply(ctx, reply, unavailable, true);
                    }
                    return;
                }
                let Some(r) = js.streams.get(&s) else { return };
                let Some(cons) = r.consumers.get(&c) else { return };
                if cons.is_leader() {
                    self.js_count(false);
                    let body = if short == "consumer_info_response" {
                        if payload.iter().any(|b| !b.is_ascii_whitespace()) {
                            error_response(short, &ApiError::new(400, 10038, "expected an empty request payload"))
                        } else {
                            self.js_consumer_info_json(ctx, &s, &c, short)
                        }
                    } else {
                        self.js_consumer_stepdown(ctx, &s, &c, payload, short)
                    };
                    self.js_reply(ctx, reply, body, false);
                } else if cons
                    .group
                    .as_ref()
                    .is_some_and(|g| g.leaderless(cons.assignment.peers.len(), ctx.now, js.started, lq))
                    || meta_leaderless
                {
                    // Members of a leaderless group answer CONSUMER.INFO with 503.
                    self.js_count(true);
                    self.js_reply(ctx, reply, unavailable, false);
                }
            }
        }
    }

    /// CONSUMER.LEADER.STEPDOWN on the consumer leader (nats
    /// `jsConsumerLeaderStepDownRequest`): the consumer's group steps down
    /// (the stream's leader stays), to the peer an optional `{"placement":
    /// ...}` body picks; an R1 consumer (no Raft node in nats) answers
    /// success and stays.
    fn js_consumer_stepdown(
        &mut self,
        ctx: &mut Ctx,
        stream: &Rc<str>,
        name: &Rc<str>,
        payload: &Bytes,
        short: &str,
    ) -> Vec<u8> {
        let success =
            || serde_json::to_vec(&json!({"type": response_type(short), "success": true})).unwrap_or_default();
        let placement = match super::dispatch::parse_stepdown_request(payload) {
            Ok(p) => p,
            Err(e) => return error_response(short, &e),
        };
        let Some(js) = self.js.as_ref() else { return Vec::new() };
        let Some(c) = js.streams.get(stream).and_then(|r| r.consumers.get(name)) else { return Vec::new() };
        let Some(g) = c.group.as_ref().filter(|_| c.assignment.peers.len() > 1) else { return success() };
        let preferred = match placement {
            None => None,
            Some(p) => match super::dispatch::stepdown_target(
                &js.opts.peers,
                g.raft.peers(),
                ctx.me,
                &self.routes,
                &p,
                ctx.rng,
            ) {
                Ok(t) => Some(t),
                Err(e) => return error_response(short, &e),
            },
        };
        let Some(g) = self.js_consumer_mut(stream, name).and_then(|c| c.group.as_mut()) else { return success() };
        let gname = g.name.clone();
        let mut out = Output::new();
        let res = g.raft.step_down(ctx.now, preferred, &mut super::Ent(ctx.rng), &mut out);
        self.js_output(ctx, &gname, out);
        match res {
            Ok(_) => success(),
            Err(_) => error_response(short, &ApiError::new(500, 10041, "raft: not leader")),
        }
    }

    /// CONSUMER.CREATE / DURABLE.CREATE on the meta leader (nats
    /// `jsConsumerCreateRequest` + `jsClusteredConsumerRequest`).
    fn js_consumer_create(
        &mut self,
        ctx: &mut Ctx,
        toks: &[&str],
        reply: Option<&Rc<str>>,
        payload: &Bytes,
    ) -> Result<Option<Vec<u8>>, ApiError> {
        let mut req = consumer::parse_create_request(payload)?;
        // ccLegacyEphemeral: CREATE.<s>; ccLegacyDurable: DURABLE.CREATE.<s>.<c>;
        // ccNew: CREATE.<s>.<c>[.<filter>].
        let (legacy_eph, legacy_dur) = (toks.len() == 3 && toks[1] == "CREATE", toks[1] == "DURABLE");
        if legacy_dur && toks.len() != 5 {
            return Err(ApiError::new(
                400,
                10016,
                "consumer expected to be durable but no durable name set in subject",
            ));
        }
        let (stream, cname, filter) = if legacy_dur {
            (toks[3], toks[4], String::new())
        } else if legacy_eph {
            (toks[2], "", String::new())
        } else {
            (toks[2], toks[3], toks[4..].join("."))
        };
        if stream != req.stream_name {
            return Err(ApiError::new(400, 10056, "stream name in subject does not match request"));
        }
        if cname.contains(['\\', '/']) {
            return Err(ApiError::new(400, 10127, "Consumer name can not contain path separators"));
        }
        if legacy_dur {
            if req.config.durable.is_empty() {
                return Err(ApiError::new(
                    400,
                    10018,
                    "consumer expected to be durable but a durable name was not set",
                ));
            }
            if cname != req.config.durable {
                return Err(ApiError::new(
                    400,
                    10017,
                    "consumer name in subject does not match durable name in request",
                ));
            }
            req.config.name = cname.to_string();
        } else if !legacy_eph {
            if !req.config.durable.is_empty() && cname != req.config.durable {
                return Err(ApiError::new(
                    400,
                    10017,
                    "consumer name in subject does not match durable name in request",
                ));
            }
            req.config.name = cname.to_string();
        } else if !req.config.durable.is_empty() {
            return Err(ApiError::new(
                400,
                10020,
                "consumer expected to be ephemeral but a durable name was set in request",
            ));
        }
        if !filter.is_empty() && !req.config.filter_subjects.is_empty() {
            return Err(ApiError::new(
                400,
                10137,
                "consumer with multiple subject filters cannot use subject based API",
            ));
        }
        if !filter.is_empty() && req.config.filter_subject != filter {
            return Err(ApiError::new(
                400,
                10131,
                "Consumer create request did not match filtered subject from create subject",
            ));
        }
        let js = self.js.as_ref().ok_or_else(ApiError::cluster_unavailable)?;
        let skey: Rc<str> = Rc::from(stream);
        let r = js.streams.get(&skey).ok_or_else(ApiError::stream_not_found)?;
        let scfg = r.assignment.config.clone();
        let mut cfg = req.config;
        consumer::set_defaults(&mut cfg);
        consumer::check_config(&cfg, &scfg)?;
        let oname: String = if !cfg.name.is_empty() { cfg.name.clone() } else { cfg.durable.clone() };
        let existing = (!oname.is_empty()).then(|| r.consumers.get(oname.as_str())).flatten();
        if req.action != Action::Update && existing.is_none() {
            let maxc =
                if scfg.max_consumers > 0 { scfg.max_consumers as usize } else { consumer::MAX_CONSUMERS_PER_STREAM };
            if r.consumers.len() >= maxc.min(consumer::MAX_CONSUMERS_PER_STREAM) {
                return Err(ApiError::new(400, 10026, "maximum consumers limit reached"));
            }
        }
        let (name, created, placed): (Rc<str>, Time, Option<_>) = match existing {
            Some(c) => {
                let old = &c.assignment.config;
                if req.action == Action::Create && *old != cfg {
                    return Err(ApiError::new(400, 10148, "consumer already exists"));
                }
                let bound = old.is_push() && c.active;
                consumer::check_update(old, &cfg, bound)?;
                let want = if cfg.num_replicas <= 0 { r.assignment.peers.len() } else { cfg.num_replicas as usize };
                if want != c.assignment.peers.len() {
                    // nats moves the consumer to a new peer set; not modelled.
                    return Err(ApiError::invalid_config(
                        "changing a consumer's num_replicas is not modelled by jetsim yet",
                    ));
                }
                let a = &c.assignment;
                (a.name.clone(), a.created, Some((a.group.clone(), a.peers.clone(), a.preferred)))
            }
            None => {
                if req.action == Action::Update {
                    return Err(ApiError::new(400, 10149, "consumer does not exist"));
                }
                if scfg.retention == "workqueue" {
                    if cfg.ack_policy != AckPolicy::Explicit {
                        return Err(ApiError::new(400, 10098, "workqueue stream requires explicit ack"));
                    }
                    let mine = cfg.filters();
                    if mine.is_empty() && !r.consumers.is_empty() {
                        return Err(ApiError::new(
                            400,
                            10099,
                            "multiple non-filtered consumers not allowed on workqueue stream",
                        ));
                    }
                    for o in r.consumers.values() {
                        // nats `partitionUnique`: an unfiltered consumer collides with all.
                        let theirs = o.assignment.config.filters();
                        if theirs.is_empty()
                            || theirs.iter().any(|p| mine.iter().any(|m| crate::subject::subjects_collide(m, p)))
                        {
                            return Err(ApiError::new(400, 10100, "filtered consumer not unique on workqueue stream"));
                        }
                    }
                    if cfg.deliver_policy != DeliverPolicy::All {
                        return Err(ApiError::new(400, 10101, "consumer must be deliver all on workqueue stream"));
                    }
                }
                let name = if oname.is_empty() {
                    // nats `createConsumerName`: 8 characters.
                    const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
                    loop {
                        let n: String = (0..8).map(|_| ALPHA[ctx.rng.index(ALPHA.len())] as char).collect();
                        if !r.consumers.contains_key(n.as_str()) {
                            break n;
                        }
                    }
                } else {
                    oname
                };
                (Rc::from(name.as_str()), ctx.now, None)
            }
        };
        let (group, peers, preferred) = match placed {
            Some(p) => p,
            None => self.js_consumer_place(ctx, &skey, &cfg)?,
        };
        let ca = ConsumerAssignment {
            stream: skey,
            name,
            config: cfg,
            created,
            reply: reply.cloned(),
            group,
            peers,
            preferred,
        };
        self.js_meta_propose(ctx, JsEntry::AddConsumer(Rc::new(ca)), None)?;
        Ok(None)
    }

    /// nats `createGroupForConsumer`: the stream's peers for `num_replicas`
    /// 0 (or equal to the stream's), else a random subset of the stream's
    /// connected peers (503 10023 without a quorum of them); the group name
    /// `C-R<n><F|M>-<hash>` (memory when the consumer or the stream is), a
    /// random preferred leader among the connected members.
    fn js_consumer_place(
        &mut self,
        ctx: &mut Ctx,
        stream: &Rc<str>,
        cfg: &consumer::ConsumerConfig,
    ) -> Result<(Rc<str>, Vec<crate::trace::Endpoint>, crate::trace::Endpoint), ApiError> {
        let js = self.js.as_ref().ok_or_else(ApiError::cluster_unavailable)?;
        let r = js.streams.get(stream).ok_or_else(ApiError::stream_not_found)?;
        let insufficient = || ApiError::new(503, 10023, "insufficient resources");
        let speers = r.assignment.peers.clone();
        let scfg = &r.assignment.config;
        let mem = cfg.mem_storage || scfg.storage_memory;
        let me = ctx.me;
        let active: Vec<crate::trace::Endpoint> =
            speers.iter().copied().filter(|p| *p == me || self.routes.contains(p)).collect();
        // nats `ConsumerConfig.replicas`: 0 → the stream's, except an
        // old-style ephemeral (no durable name) on a limits stream: R1.
        let n = if cfg.num_replicas <= 0 {
            if cfg.durable.is_empty() && scfg.retention == "limits" {
                1
            } else {
                speers.len()
            }
        } else {
            cfg.num_replicas as usize
        };
        if speers.is_empty() || n > speers.len() || n / 2 + 1 > active.len() {
            return Err(insufficient());
        }
        let mut peers: Vec<crate::trace::Endpoint> = if n >= speers.len() {
            speers.clone()
        } else {
            // A subset of the active peers, shuffled.
            let mut up = active.clone();
            for i in (1..up.len()).rev() {
                let j = ctx.rng.index(i + 1);
                up.swap(i, j);
            }
            if up.len() < n {
                return Err(insufficient());
            }
            up.truncate(n);
            up
        };
        crate::sort::sort(&mut peers);
        // nats `setPreferred`: a random online member.
        let pool: Vec<_> = peers.iter().copied().filter(|p| active.contains(p)).collect();
        let pool = if pool.is_empty() { peers.clone() } else { pool };
        let preferred = pool[ctx.rng.index(pool.len())];
        // A random hash (nats names an R1 group after its peer, but runs no
        // Raft node for it; jetsim's one-member groups need unique names).
        const ALPHA: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let hash: String = (0..8).map(|_| ALPHA[ctx.rng.index(ALPHA.len())] as char).collect();
        let group: Rc<str> = Rc::from(format!("C-R{}{}-{hash}", peers.len(), if mem { "M" } else { "F" }).as_str());
        Ok((group, peers, preferred))
    }

    fn js_consumer_delete(
        &mut self,
        ctx: &mut Ctx,
        stream: &str,
        name: &str,
        reply: Option<&Rc<str>>,
    ) -> Result<Option<Vec<u8>>, ApiError> {
        let js = self.js.as_ref().ok_or_else(ApiError::cluster_unavailable)?;
        let r = js.streams.get(stream).ok_or_else(ApiError::stream_not_found)?;
        if !r.consumers.contains_key(name) {
            return Err(ApiError::new(404, 10014, "consumer not found"));
        }
        let pending = reply.map(|r| Pending::Delete(r.clone()));
        self.js_meta_propose(ctx, JsEntry::DeleteConsumer(Rc::from(stream), Rc::from(name)), pending)?;
        Ok(None)
    }

    fn js_consumer_names(&self, ctx: &Ctx, stream: &str, short: &str, payload: &Bytes) -> Vec<u8> {
        let Some(r) = self.js.as_ref().and_then(|js| js.streams.get(stream)) else {
            return error_response(short, &ApiError::stream_not_found());
        };
        let offset = serde_json::from_slice::<Value>(payload)
            .ok()
            .and_then(|v| v.get("offset").and_then(Value::as_u64))
            .unwrap_or(0) as usize;
        let names: Vec<Rc<str>> = r.consumers.keys().cloned().collect();
        let total = names.len();
        let stream: Rc<str> = Rc::from(stream);
        if short == "consumer_names_response" {
            let page: Vec<&str> = names.iter().skip(offset).take(1024).map(|n| &**n).collect();
            let v = json!({"type": response_type(short), "total": total, "offset": offset, "limit": 1024, "consumers": page});
            serde_json::to_vec(&v).unwrap_or_default()
        } else {
            let infos: Vec<Value> = names
                .iter()
                .skip(offset)
                .take(256)
                .map(|n| {
                    serde_json::from_slice(&self.js_consumer_info_json(ctx, &stream, n, "-")).unwrap_or(Value::Null)
                })
                .collect();
            let v = json!({"type": response_type(short), "total": total, "offset": offset, "limit": 256, "consumers": infos});
            serde_json::to_vec(&v).unwrap_or_default()
        }
    }

    /// ConsumerInfo (as response `short`, or bare when empty) from this
    /// server's view.
    pub(crate) fn js_consumer_info_json(&self, ctx: &Ctx, stream: &Rc<str>, name: &Rc<str>, short: &str) -> Vec<u8> {
        let Some(js) = self.js.as_ref() else { return Vec::new() };
        let Some(r) = js.streams.get(stream) else { return error_response(short, &ApiError::stream_not_found()) };
        let Some(c) = r.consumers.get(name) else {
            return error_response(short, &ApiError::new(404, 10014, "consumer not found"));
        };
        let mut m = serde_json::Map::new();
        // `short` "-": a CONSUMER.LIST entry (no type, the stored config).
        let listed = short == "-";
        if !short.is_empty() && !listed {
            m.insert("type".into(), Value::String(response_type(short)));
        }
        let (dseq, sseq) = (c.dseq.max(1), c.sseq.max(1));
        m.insert("stream_name".into(), Value::String(stream.to_string()));
        m.insert("name".into(), Value::String(name.to_string()));
        m.insert("created".into(), Value::String(super::api::rfc3339(c.assignment.created)));
        m.insert("config".into(), c.config().to_json_meta(!listed));
        let seq = |cs: u64, ss: u64, t: Option<Time>| {
            serde_json::to_value(SeqInfo { consumer_seq: cs, stream_seq: ss, last_active: t.map(super::api::rfc3339) })
                .unwrap_or(Value::Null)
        };
        m.insert("delivered".into(), seq(dseq - 1, sseq - 1, c.delivered_active));
        m.insert("ack_floor".into(), seq(c.adflr, c.asflr, c.ack_active));
        m.insert("num_ack_pending".into(), c.pending.len().into());
        let redelivered = if c.config().max_deliver == 1 { 0 } else { c.num_redelivered() };
        m.insert("num_redelivered".into(), redelivered.into());
        m.insert("num_waiting".into(), c.waiting.len().into());
        m.insert("num_pending".into(), c.num_pending(&r.store).into());
        if let Some(cluster) = self.js_consumer_cluster(ctx, stream, name) {
            m.insert("cluster".into(), cluster);
        }
        if c.config().is_push() && c.active {
            m.insert("push_bound".into(), Value::Bool(true));
        }
        m.insert("ts".into(), Value::String(super::api::rfc3339(ctx.now)));
        serde_json::to_vec(&Value::Object(m)).unwrap_or_default()
    }

    /// The consumer's `cluster` block (nats `clusterInfo(o.raftGroup())`):
    /// the consumer group's name, leader and replicas; an R1 consumer shows
    /// only the cluster name and its leader.
    fn js_consumer_cluster(&self, ctx: &Ctx, stream: &Rc<str>, name: &Rc<str>) -> Option<Value> {
        let js = self.js.as_ref()?;
        if !js.clustered() {
            // A standalone server shows no cluster block for consumers.
            return None;
        }
        let c = js.streams.get(stream)?.consumers.get(name)?;
        Some(self.js_cluster_block(ctx, c.group.as_ref(), &c.assignment.peers))
    }

    /// A committed consumer assignment (every server; nats
    /// `processClusterCreateConsumer`): the consumer's peers start a member
    /// of its Raft group (its log from the disk after a restart); the group
    /// elects the consumer leader.
    pub(super) fn js_apply_add_consumer(&mut self, ctx: &mut Ctx, ca: Rc<ConsumerAssignment>) {
        let me = ctx.me;
        let Some(js) = self.js.as_mut() else { return };
        let policy = js.opts.policy();
        let base = js.opts.raft_config();
        let Some(r) = js.streams.get_mut(&ca.stream) else { return };
        let member = ca.peers.contains(&me) && r.group.is_some();
        let mut start: Option<jetsim_raft::Storage<JsEntry>> = None;
        match r.consumers.get_mut(&ca.name) {
            Some(c) => {
                let mut a = (*ca).clone();
                a.created = c.assignment.created;
                a.reply = None;
                c.assignment = Rc::new(a);
                c.create_reply = if member { ca.reply.clone() } else { None };
            }
            None => {
                let mut a = (*ca).clone();
                a.reply = None;
                let mut c = Consumer::new(Rc::new(a), ctx.now);
                c.create_reply = if member { ca.reply.clone() } else { None };
                if member {
                    c.select_start(&r.store);
                    let mem = ca.group.split('-').nth(1).is_some_and(|k| k.ends_with('M'));
                    start = Some(match js.disk.remove(&ca.group) {
                        Some(s) => s,
                        None if mem => jetsim_raft::Storage::empty(),
                        None => jetsim_raft::Storage::new(policy),
                    });
                }
                r.consumers.insert(ca.name.clone(), c);
            }
        }
        if let Some(storage) = start {
            let config = base.with_preferred_leader(Some(ca.preferred));
            let (raft, out) =
                jetsim_raft::Raft::new(me, ca.peers.clone(), config, storage, ctx.now, &mut super::Ent(ctx.rng));
            let Some(js) = self.js.as_mut() else { return };
            js.cgroups.insert(ca.group.clone(), (ca.stream.clone(), ca.name.clone()));
            if let Some(c) = js.streams.get_mut(&ca.stream).and_then(|r| r.consumers.get_mut(&ca.name)) {
                c.group = Some(super::Group::new(ca.group.clone(), raft, ctx.now));
            }
            self.js_output(ctx, &ca.group, out);
        } else if self.js_consumer_mut(&ca.stream, &ca.name).is_some_and(|c| c.is_leader()) {
            // An update: the leader answers.
            self.js_consumer_lead(ctx, &ca.stream, &ca.name, false);
        }
    }

    /// A Raft event of a consumer group: leadership comes and goes (nats
    /// `processConsumerLeaderChange` → `setLeader`).
    pub(super) fn js_consumer_event(
        &mut self,
        ctx: &mut Ctx,
        group: &Rc<str>,
        stream: &Rc<str>,
        name: &Rc<str>,
        ev: jetsim_raft::RaftEvent,
    ) {
        use crate::trace::TraceKind;
        use jetsim_raft::RaftEvent;
        match &ev {
            RaftEvent::BecameLeader { .. } => {
                if let Some(g) = self.js_consumer_mut(stream, name).and_then(|c| c.group.as_mut()) {
                    g.elections_won += 1;
                }
            }
            RaftEvent::LeaderReady { .. } => self.js_consumer_became_leader(ctx, stream, name),
            RaftEvent::BecameFollower { .. } | RaftEvent::SteppedDown { .. } => {
                self.js_consumer_lost(ctx, stream, name)
            }
            _ => {}
        }
        if let Some(event) = super::raft_note(ev) {
            // Labelled "<stream> › <consumer>": the page's stream narration,
            // metrics and causal paths match the stream's own name only.
            let label: Rc<str> = Rc::from(format!("{stream} \u{203a} {name}").as_str());
            ctx.trace(TraceKind::Raft { server: ctx.me, group: group.clone(), stream: Some(label), event });
        }
    }

    /// A committed entry of a consumer group (every member; nats
    /// `applyConsumerEntries`): the op updates the replicated state; on the
    /// leader, what waited for the commit goes out and acked messages are
    /// checked for retention.
    pub(super) fn js_apply_consumer_entry(
        &mut self,
        ctx: &mut Ctx,
        stream: &Rc<str>,
        name: &Rc<str>,
        index: Index,
        payload: jetsim_raft::Payload<JsEntry>,
    ) {
        let Some(r) = self.js.as_mut().and_then(|js| js.streams.get_mut(stream)) else { return };
        let last_seq = r.store.last_seq();
        let Some(c) = r.consumers.get_mut(name) else { return };
        c.applied = index;
        if let jetsim_raft::Payload::Normal(JsEntry::Consumer(_, op)) = payload {
            apply_op(c, last_seq, index, &op);
        }
        let leads = c.is_leader();
        if !leads {
            // Only the consumer leader asks the stream to remove acked messages.
            c.acked_ranges.clear();
        }
        let ready = std::mem::take(&mut c.ready);
        for m in ready {
            if m.subject == m.to {
                self.internal_publish(ctx, &m.to, m.hdr.as_ref(), m.data);
            } else {
                self.internal_deliver(ctx, &m.to, &m.subject, m.reply.as_ref(), m.hdr.as_ref(), &m.data);
            }
        }
        if leads {
            self.js_consumers_retention(ctx, stream, false);
        }
    }

    /// This server leads `consumer`: subscribe, answer a create owed, deliver.
    fn js_consumer_lead(&mut self, ctx: &mut Ctx, stream: &Rc<str>, name: &Rc<str>, fresh: bool) {
        let Some(js) = self.js.as_mut() else { return };
        let Some(r) = js.streams.get_mut(stream) else { return };
        let Some(c) = r.consumers.get_mut(name) else { return };
        let mut subjects: Vec<String> = Vec::new();
        if c.subs.is_empty() {
            // Push consumers answer pull requests with 409 too.
            subjects.push(format!("$JS.API.CONSUMER.MSG.NEXT.{stream}.{name}"));
            if c.config().is_push() {
                subjects.push(format!("$JS.FC.{stream}.{name}.*"));
            }
            subjects.push(format!("$JS.ACK.{stream}.{name}.>"));
        }
        c.last_activity = ctx.now;
        let mut ids = Vec::new();
        for s in subjects {
            let id = js.next_internal;
            js.next_internal += 1;
            js.internal.insert(id, InternalSub::Consumer(stream.clone(), name.clone()));
            ids.push((id, s));
        }
        let Some(c) = js.streams.get_mut(stream).and_then(|r| r.consumers.get_mut(name)) else { return };
        c.subs.extend(ids.iter().cloned());
        let create = c.create_reply.take();
        let start = (fresh && c.started).then(|| ConsumerOp::Start {
            sseq: c.sseq,
            lss: c.lss.as_ref().map(|(s, _)| s.iter().copied().collect()).unwrap_or_default(),
        });
        for (id, s) in ids {
            self.internal_sub(ctx, &s, id);
        }
        // Push: is the deliver subject bound (nats registers for interest
        // notifications when it becomes leader, before answering)?
        let push = self
            .js_consumer_mut(stream, name)
            .map(|c| (c.config().deliver_subject.clone(), c.config().deliver_group.clone()));
        if let Some((ds, group)) = push.filter(|(ds, _)| !ds.is_empty()) {
            let bound = self.has_exact_interest(&ds, (!group.is_empty()).then_some(group.as_str()));
            if let Some(c) = self.js_consumer_mut(stream, name) {
                c.active = bound;
            }
        }
        // The answer first: nats replies before the consumer delivers
        // anything (and an R1 group applies the start op at once).
        if let Some(reply) = create {
            let body = self.js_consumer_info_json(ctx, stream, name, "consumer_create_response");
            self.internal_publish(ctx, &reply, None, Bytes::from(body));
        }
        if let Some(op) = start {
            self.js_consumer_propose(ctx, stream, name, op);
        }
        self.js_consumer_pump(ctx, stream, name);
        self.js_consumer_arm(ctx, stream, name);
    }

    /// A committed consumer delete (every server).
    pub(super) fn js_apply_delete_consumer(
        &mut self,
        ctx: &mut Ctx,
        stream: &Rc<str>,
        name: &Rc<str>,
        pending: Option<Pending>,
    ) {
        let waiting: Vec<Rc<str>> = self
            .js
            .as_ref()
            .and_then(|js| js.streams.get(stream))
            .and_then(|r| r.consumers.get(name).filter(|c| c.is_leader()))
            .map(|c| c.waiting.iter().map(|w| w.reply.clone()).collect())
            .unwrap_or_default();
        for reply in waiting {
            self.internal_publish(ctx, &reply, Some(&status(409, "Consumer Deleted")), Bytes::new());
        }
        self.js_consumer_unsub(ctx, stream, name);
        if let Some(js) = self.js.as_mut() {
            // The consumer's group goes with it, its log too.
            let removed = js.streams.get_mut(stream).and_then(|r| r.consumers.remove(name));
            if let Some(c) = removed {
                js.cgroups.remove(&c.assignment.group);
                js.disk.remove(&c.assignment.group);
            }
        }
        // Messages only this consumer held on an interest stream go.
        self.js_consumers_retention(ctx, stream, true);
        if let Some(Pending::Delete(reply)) = pending {
            let body = json!({"type": response_type("consumer_delete_response"), "success": true});
            self.internal_publish(ctx, &reply, None, Bytes::from(serde_json::to_vec(&body).unwrap_or_default()));
        }
    }

    fn js_consumer_unsub(&mut self, ctx: &mut Ctx, stream: &Rc<str>, name: &Rc<str>) {
        let Some(js) = self.js.as_mut() else { return };
        let Some(c) = js.streams.get_mut(stream).and_then(|r| r.consumers.get_mut(name)) else { return };
        let subs = std::mem::take(&mut c.subs);
        for (id, _) in &subs {
            js.internal.remove(id);
        }
        for (id, s) in subs {
            self.internal_unsub(ctx, &s, id);
        }
    }

    /// This server became the consumer's ready leader: choose the start
    /// position if no leader did yet, look for acked messages a previous
    /// leader did not get removed (nats `checkInterestState`), subscribe
    /// and deliver.
    fn js_consumer_became_leader(&mut self, ctx: &mut Ctx, stream: &Rc<str>, name: &Rc<str>) {
        let fresh = self
            .js
            .as_mut()
            .and_then(|js| js.streams.get_mut(stream))
            .and_then(|r| {
                let store = &r.store;
                let c = r.consumers.get_mut(name)?;
                let fresh = !c.started;
                if fresh {
                    c.select_start(store);
                }
                if c.asflr >= store.first_seq() {
                    c.acked_ranges.push((store.first_seq(), c.asflr));
                }
                Some(fresh)
            })
            .unwrap_or(false);
        // nats `checkPendingRequests`: the requests the old leader had open.
        let prm: Vec<Rc<str>> = self
            .js_consumer_mut(stream, name)
            .map(|c| std::mem::take(&mut c.prm).into_iter().collect())
            .unwrap_or_default();
        for reply in prm {
            self.internal_publish(ctx, &reply, Some(&status(409, "Leadership Change")), Bytes::new());
        }
        self.js_consumer_lead(ctx, stream, name, fresh);
        self.js_consumers_retention(ctx, stream, false);
    }

    /// A replicated consumer's leader tells its group which pull requests
    /// joined or left the wait queue since it last did (nats
    /// `addClusterPendingRequest` / `removeClusterPendingRequest`).
    fn js_consumer_sync_requests(&mut self, ctx: &mut Ctx, stream: &Rc<str>, name: &Rc<str>) {
        let Some(c) = self.js_consumer_mut(stream, name) else { return };
        if c.assignment.peers.len() < 2 || !c.is_leader() {
            return;
        }
        let now: crate::vecmap::VecSet<Rc<str>> = c.waiting.iter().map(|w| w.reply.clone()).collect();
        if now == c.told_requests {
            return;
        }
        let mut ops: Vec<ConsumerOp> =
            c.told_requests.difference(&now).map(|r| ConsumerOp::Request { reply: r.clone(), add: false }).collect();
        ops.extend(now.difference(&c.told_requests).map(|r| ConsumerOp::Request { reply: r.clone(), add: true }));
        c.told_requests = now;
        for op in ops {
            self.js_consumer_propose(ctx, stream, name, op);
        }
    }

    /// The stream is deleted: its consumers go with it, and the leader tells
    /// waiting pull requests `409 Consumer Deleted` (nats
    /// `releaseAnyPendingRequests`).
    pub(super) fn js_consumers_stream_deleted(&mut self, ctx: &mut Ctx, stream: &Rc<str>) {
        let names: Vec<Rc<str>> = self
            .js
            .as_ref()
            .and_then(|js| js.streams.get(stream))
            .map(|r| r.consumers.keys().cloned().collect())
            .unwrap_or_default();
        for n in names {
            self.js_apply_delete_consumer(ctx, stream, &n, None);
        }
    }

    /// The consumer's leadership left this server (nats `setLeader(false)`):
    /// the wait queue is reset (the next leader tells the requests it knows
    /// of `409 Leadership Change`; an R1 consumer's leader tells its own),
    /// the redelivery queue and what waited for commits go, subscriptions go.
    pub(super) fn js_consumer_lost(&mut self, ctx: &mut Ctx, stream: &Rc<str>, name: &Rc<str>) {
        let waiting: Vec<Rc<str>> = match self.js_consumer_mut(stream, name) {
            Some(c) if !c.subs.is_empty() || !c.waiting.is_empty() => {
                c.told_requests.clear();
                let replicated = c.assignment.peers.len() > 1;
                c.proposed.clear();
                c.held.clear();
                c.held_requests.clear();
                c.ack_replies.clear();
                c.ready.clear();
                c.rdq.clear();
                c.acked_ranges.clear();
                c.armed = None;
                c.fcid = None;
                let w: Vec<Rc<str>> = c.waiting.drain(..).map(|w| w.reply).collect();
                if replicated {
                    Vec::new()
                } else {
                    w
                }
            }
            _ => return,
        };
        for reply in waiting {
            self.internal_publish(ctx, &reply, Some(&status(409, "Leadership Change")), Bytes::new());
        }
        self.js_consumer_unsub(ctx, stream, name);
    }

    /// Interest and work-queue retention (nats `ackMsg` / `checkInterestState`):
    /// a message acknowledged by a consumer goes once no consumer needs it
    /// any more. `everything` checks the whole store (a consumer went away).
    /// Only consumer leaders decide (their acked ranges; `everything` on the
    /// stream leader), and the removal is a message delete through the
    /// stream's group ([`Server::js_retention_delete`]). Interest is judged
    /// from the consumers this server is a member of, as nats' `mset.consumers`.
    pub(super) fn js_consumers_retention(&mut self, ctx: &mut Ctx, stream: &Rc<str>, everything: bool) {
        let Some(r) = self.js.as_mut().and_then(|js| js.streams.get_mut(stream)) else { return };
        let mut ranges: Vec<(u64, u64)> = Vec::new();
        for c in r.consumers.values_mut() {
            if c.is_leader() {
                ranges.append(&mut c.acked_ranges);
            } else {
                c.acked_ranges.clear();
            }
        }
        let everything = everything && r.is_leader();
        if r.assignment.config.retention == "limits" {
            return;
        }
        if everything {
            // Only interest streams drop what nobody wants when a consumer
            // goes; a work queue keeps its messages for the next consumer.
            if r.assignment.config.retention != "interest" {
                return;
            }
            ranges = vec![(r.store.first_seq(), r.store.last_seq())];
        }
        if ranges.is_empty() {
            return;
        }
        crate::sort::sort(&mut ranges);
        let mut gone: Vec<u64> = Vec::new();
        let mut done_upto = 0u64;
        for (lo, hi) in ranges {
            let lo = lo.max(done_upto + 1);
            if lo > hi {
                continue;
            }
            for (seq, m) in r.store.range(lo).take_while(|(s, _)| *s <= hi) {
                if !r.consumers.values().any(|c| c.group.is_some() && c.need_ack(seq, &m.subject)) {
                    gone.push(seq);
                }
            }
            done_upto = hi;
        }
        self.js_retention_delete(ctx, stream, &gone);
    }

    /// After an entry of the stream was applied: the consumers this server
    /// leads see new messages (or a purge).
    pub(super) fn js_consumers_after_apply(&mut self, ctx: &mut Ctx, stream: &Rc<str>) {
        self.js_consumers_retention(ctx, stream, false);
        // Deliveries and ack-acks whose ops just committed.
        let ready: Vec<consumer::Outgoing> = match self.js.as_mut().and_then(|js| js.streams.get_mut(stream)) {
            Some(r) => r.consumers.values_mut().flat_map(|c| std::mem::take(&mut c.ready)).collect(),
            None => Vec::new(),
        };
        for m in ready {
            if m.subject == m.to {
                self.internal_publish(ctx, &m.to, m.hdr.as_ref(), m.data);
            } else {
                self.internal_deliver(ctx, &m.to, &m.subject, m.reply.as_ref(), m.hdr.as_ref(), &m.data);
            }
        }
        let Some(r) = self.js.as_mut().and_then(|js| js.streams.get_mut(stream)) else { return };
        if r.consumers.is_empty() {
            return;
        }
        let first = r.store.first_seq();
        for c in r.consumers.values_mut() {
            if c.started {
                c.drop_below(first);
            }
        }
        let names: Vec<Rc<str>> =
            r.consumers.iter().filter(|(_, c)| c.is_leader() && !c.subs.is_empty()).map(|(n, _)| n.clone()).collect();
        for n in names {
            self.js_consumer_pump(ctx, stream, &n);
            self.js_consumer_arm(ctx, stream, &n);
        }
    }

    /// Propose a consumer op through the consumer's group (applied here already).
    fn js_consumer_propose(&mut self, ctx: &mut Ctx, stream: &Rc<str>, name: &Rc<str>, op: ConsumerOp) {
        let Some(c) = self.js_consumer_mut(stream, name) else { return };
        let Some(g) = c.group.as_mut() else { return };
        let gname = g.name.clone();
        let mut out = Output::new();
        if let Ok(index) = g.raft.propose(ctx.now, JsEntry::Consumer(name.clone(), op.clone()), &mut out) {
            c.proposed.insert(index, op);
        }
        self.js_output(ctx, &gname, out);
    }

    /// A message on one of a consumer leader's subscriptions.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn js_consumer_msg(
        &mut self,
        ctx: &mut Ctx,
        stream: &Rc<str>,
        name: &Rc<str>,
        subject: &Rc<str>,
        reply: Option<&Rc<str>>,
        headers: Option<&Bytes>,
        payload: &Bytes,
    ) {
        let leads = self
            .js
            .as_ref()
            .and_then(|js| js.streams.get(stream))
            .is_some_and(|r| r.consumers.get(name).is_some_and(|c| c.is_leader()));
        if !leads {
            return;
        }
        // Only the body counts (an HPUB's headers are skipped, as nats does).
        let _ = headers;
        if subject.starts_with("$JS.ACK.") {
            self.js_consumer_ack(ctx, stream, name, subject, reply, payload);
        } else if subject.starts_with("$JS.FC.") {
            // nats `processFlowControl`: the window doubles, the covered bytes go.
            if let Some(c) = self.js_consumer_mut(stream, name) {
                if c.fcid.as_deref() == Some(&**subject) {
                    c.fc_window = (c.fc_window * 2).min(consumer::FC_WINDOW_MAX);
                    c.pbytes = c.pbytes.saturating_sub(c.fcsz);
                    c.fcid = None;
                    c.fcsz = 0;
                }
            }
        } else if let Some(reply) = reply {
            self.js_consumer_next(ctx, stream, name, reply, payload);
        }
        self.js_consumer_pump(ctx, stream, name);
        self.js_consumer_arm(ctx, stream, name);
    }

    /// Publish a consumer advisory (nats `sendAdvisory`: only when someone
    /// listens): `type`, `id`, `timestamp`, then the fields `fill` adds.
    fn js_consumer_advisory(
        &mut self,
        ctx: &mut Ctx,
        subject: &str,
        kind: &str,
        fill: impl FnOnce(&mut serde_json::Map<String, Value>),
    ) {
        if !self.has_interest(subject) {
            return;
        }
        const NUID: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let id: String = (0..22).map(|_| NUID[ctx.rng.index(NUID.len())] as char).collect();
        let mut m = serde_json::Map::new();
        m.insert("type".into(), Value::String(kind.to_string()));
        m.insert("id".into(), Value::String(id));
        m.insert("timestamp".into(), Value::String(super::api::rfc3339(ctx.now)));
        fill(&mut m);
        let body = serde_json::to_vec(&Value::Object(m)).unwrap_or_default();
        self.internal_publish(ctx, subject, None, Bytes::from(body));
    }

    /// nats `replicateDeliveries`: an R>1 consumer with acks and without flow
    /// control sends each delivery once its op is committed.
    fn js_consumer_replicates(&self, stream: &Rc<str>, name: &Rc<str>) -> bool {
        self.js.as_ref().and_then(|js| js.streams.get(stream)).is_some_and(|r| {
            r.consumers.get(name).is_some_and(|c| {
                c.assignment.peers.len() > 1 && c.config().ack_policy != AckPolicy::None && !c.config().flow_control
            })
        })
    }

    fn js_consumer_mut(&mut self, stream: &Rc<str>, name: &Rc<str>) -> Option<&mut Consumer> {
        self.js.as_mut()?.streams.get_mut(stream)?.consumers.get_mut(name)
    }

    /// A pull request (nats `processNextMsgRequest`).
    fn js_consumer_next(&mut self, ctx: &mut Ctx, stream: &Rc<str>, name: &Rc<str>, reply: &Rc<str>, payload: &Bytes) {
        let Some(r) = self.js.as_mut().and_then(|js| js.streams.get_mut(stream)) else { return };
        let pending_msgs = {
            let Some(c) = r.consumers.get(name) else { return };
            c.num_pending(&r.store) + c.rdq.len() as u64
        };
        let Some(c) = r.consumers.get_mut(name) else { return };
        let cfg = c.config().clone();
        let err: Option<Bytes> = if cfg.is_push() {
            Some(status(409, "Consumer is push based"))
        } else {
            match parse_pull(payload) {
                Err(e) => Some(status(400, &format!("Bad Request - {e}"))),
                Ok(p) => {
                    if cfg.max_batch > 0 && p.batch > cfg.max_batch {
                        Some(status(409, &format!("Exceeded MaxRequestBatch of {}", cfg.max_batch)))
                    } else if p.expires > 0 && cfg.max_expires > 0 && p.expires > cfg.max_expires {
                        Some(status(
                            409,
                            &format!("Exceeded MaxRequestExpires of {}", consumer::go_duration(cfg.max_expires)),
                        ))
                    } else if p.max_bytes > 0 && cfg.max_bytes > 0 && p.max_bytes > cfg.max_bytes {
                        Some(status(409, &format!("Exceeded MaxRequestMaxBytes of {}", cfg.max_bytes)))
                    } else if p.no_wait && pending_msgs == 0 && p.expires <= 0 {
                        c.last_activity = ctx.now;
                        Some(status(404, "No Messages"))
                    } else if p.no_wait
                        && pending_msgs > 0
                        && pending_msgs < c.waiting.iter().map(|w| w.n.max(0) as u64).sum::<u64>()
                    {
                        c.last_activity = ctx.now;
                        Some(status(408, "Requests Pending"))
                    } else if c.waiting.len() as i64 >= cfg.max_waiting.min(consumer::MAX_WAITING_CAP) {
                        (p.hb == 0).then(|| status(409, "Exceeded MaxWaiting"))
                    } else {
                        c.last_activity = ctx.now;
                        c.waiting.push_back(WaitingRequest {
                            reply: reply.clone(),
                            n: p.batch,
                            d: 0,
                            b: p.max_bytes.max(0),
                            expires: (p.expires > 0).then(|| ctx.now.saturating_add(p.expires as u64)),
                            no_wait: p.no_wait,
                            hb: p.hb.max(0) as u64,
                            hbt: (p.hb > 0).then(|| ctx.now.saturating_add(p.hb as u64)),
                        });
                        None
                    }
                }
            }
        };
        if let Some(h) = err {
            self.internal_publish(ctx, reply, Some(&h), Bytes::new());
        }
    }

    /// An ack on `$JS.ACK.<stream>.<consumer>.<dc>.<sseq>.<dseq>.<ts>.<pending>`
    /// (nats `processAck`).
    fn js_consumer_ack(
        &mut self,
        ctx: &mut Ctx,
        stream: &Rc<str>,
        name: &Rc<str>,
        subject: &str,
        reply: Option<&Rc<str>>,
        body: &Bytes,
    ) {
        let toks: Vec<&str> = subject.split('.').collect();
        if toks.len() != 9 {
            return;
        }
        let num = |i: usize| toks[i].parse::<u64>().unwrap_or(0);
        let (dc, sseq, dseq) = (num(4), num(5), num(6));
        let body: &[u8] = body;
        let mut ack_reply = reply.is_some() && sseq > 0;
        let mut op: Option<ConsumerOp> = None;
        let mut next: Option<Bytes> = None;
        let now = ctx.now;
        {
            let Some(c) = self.js_consumer_mut(stream, name) else { return };
            c.last_activity = now;
            if body.is_empty()
                || body == b"+ACK"
                || body == b"+OK"
                || body.starts_with(b"+NXT")
                || body.starts_with(b"+TERM")
            {
                if c.record_ack(sseq, dseq, now) {
                    op = Some(ConsumerOp::Ack { dseq, sseq, ts: now });
                } else {
                    ack_reply = false;
                }
                if let Some(rest) = body.strip_prefix(b"+NXT") {
                    next = Some(Bytes::copy_from_slice(rest));
                    ack_reply = false;
                }
            } else if body.starts_with(b"-NAK") {
                let valid = dseq > c.adflr && dseq < c.dseq && c.pending.contains_key(&sseq);
                if valid {
                    let arg = body[4..].trim_ascii();
                    let delay = if arg.is_empty() {
                        None
                    } else if arg[0] == b'{' {
                        serde_json::from_slice::<Value>(arg).ok().and_then(|v| v.get("delay").and_then(Value::as_i64))
                    } else {
                        std::str::from_utf8(arg)
                            .ok()
                            .and_then(|s| crate::time::parse_duration(s).ok())
                            .map(|d| d as i64)
                    };
                    match delay {
                        Some(d) => {
                            c.rdq.retain(|&s| s != sseq);
                            if let Some(p) = c.pending.get_mut(&sseq) {
                                p.due = Some(now + d.max(0) as u64);
                                op = Some(ConsumerOp::Pending { sseq, ts: p.ts, due: p.due });
                            }
                        }
                        None => {
                            if !c.rdq.contains(&sseq) {
                                c.rdq.push_back(sseq);
                            }
                        }
                    }
                }
                let _ = dc;
            } else if body == b"+WPI" {
                if let Some(p) = c.pending.get_mut(&sseq) {
                    p.ts = now;
                    p.due = None;
                    op = Some(ConsumerOp::Pending { sseq, ts: now, due: None });
                }
            } else {
                ack_reply = false;
            }
        }
        if let Some(op) = op {
            self.js_consumer_propose(ctx, stream, name, op);
        }
        if let Some(reason) = body.strip_prefix(b"+TERM") {
            // nats `processTerm`: the advisory goes whether or not it acked.
            let reason = String::from_utf8_lossy(reason.trim_ascii()).into_owned();
            let subject = format!("$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.{stream}.{name}");
            self.js_consumer_advisory(ctx, &subject, "io.nats.jetstream.advisory.v1.terminated", |m| {
                m.insert("stream".into(), Value::String(stream.to_string()));
                m.insert("consumer".into(), Value::String(name.to_string()));
                m.insert("consumer_seq".into(), dseq.into());
                m.insert("stream_seq".into(), sseq.into());
                m.insert("deliveries".into(), dc.into());
                if !reason.is_empty() {
                    m.insert("reason".into(), Value::String(reason));
                }
            });
        }
        self.js_consumers_retention(ctx, stream, false);
        if let (true, Some(r)) = (ack_reply, reply) {
            // Ack-ack for an ack sent as a request (AckSync); a replicated
            // consumer answers once the ack is committed.
            if self.js_consumer_replicates(stream, name) {
                if let Some(c) = self.js_consumer_mut(stream, name) {
                    c.ack_replies.insert(sseq, r.clone());
                }
            } else {
                self.internal_publish(ctx, r, None, Bytes::new());
            }
        }
        if let (Some(rest), Some(r)) = (next, reply) {
            self.js_consumer_next(ctx, stream, name, r, &rest);
        }
    }

    /// Deliver what can be delivered now (nats `loopAndGatherMsgs`, one pass).
    fn js_consumer_pump(&mut self, ctx: &mut Ctx, stream: &Rc<str>, name: &Rc<str>) {
        let mut budget = 100_000u32;
        loop {
            budget -= 1;
            if budget == 0 {
                break;
            }
            // Expired requests first (interest and heartbeats are looked at
            // when nothing can be delivered, as nats' `waitForMsgs`).
            self.js_consumer_process_waiting(ctx, stream, name, false, false);
            let push_subject = {
                let Some(r) = self.js.as_ref().and_then(|js| js.streams.get(stream)) else { return };
                let Some(c) = r.consumers.get(name) else { return };
                if !c.is_leader() || c.subs.is_empty() {
                    return;
                }
                c.config().is_push().then(|| Rc::<str>::from(c.config().deliver_subject.as_str()))
            };
            if let Some(ds) = &push_subject {
                let group =
                    self.js_consumer_mut(stream, name).map(|c| c.config().deliver_group.clone()).unwrap_or_default();
                let active = self.has_exact_interest(ds, (!group.is_empty()).then_some(group.as_str()));
                let Some(c) = self.js_consumer_mut(stream, name) else { return };
                if active && !c.active {
                    c.last_activity = ctx.now;
                }
                c.active = active;
                let fc = c.config().flow_control;
                if !active || (fc && c.pbytes > c.fc_window) {
                    break;
                }
            } else if self.js_consumer_mut(stream, name).is_none_or(|c| c.waiting.is_empty()) {
                break;
            }
            // The next message (nats `getNextMsg`).
            let now = ctx.now;
            let replicated = self.js_consumer_replicates(stream, name);
            let Some(r) = self.js.as_mut().and_then(|js| js.streams.get_mut(stream)) else { return };
            let store = &r.store;
            let Some(c) = r.consumers.get_mut(name) else { return };
            let cfg = c.config().clone();
            let mut found: Option<(u64, u64)> = None; // (sseq, dc)
            let mut max_pending_hit = false;
            // Where it came from, to put it back if no request takes it.
            let mut from_rdq = false;
            let mut saved_lss: Option<(Option<consumer::SkipList>, u64)> = None;
            while let Some(seq) = c.rdq.pop_front() {
                let dc = c.delivery_count(seq) + 1;
                if cfg.max_deliver > 0 && dc > cfg.max_deliver as u64 {
                    c.pending.remove(&seq);
                    continue;
                }
                if store.get(seq).is_none() {
                    c.pending.remove(&seq);
                    c.rdc.remove(&seq);
                    continue;
                }
                found = Some((seq, dc));
                from_rdq = true;
                break;
            }
            if found.is_none() {
                if cfg.max_ack_pending > 0 && c.pending.len() as i64 >= cfg.max_ack_pending {
                    max_pending_hit = true;
                } else if c.lss.is_some() {
                    saved_lss = Some((c.lss.clone(), c.sseq));
                    if let Some((seqs, resume)) = c.lss.as_mut() {
                        let resume = *resume;
                        while let Some(s) = seqs.pop_front() {
                            if store.get(s).is_some() {
                                found = Some((s, 1));
                                c.sseq = s + 1;
                                break;
                            }
                        }
                        if seqs.is_empty() {
                            c.sseq = c.sseq.max(resume);
                            c.lss = None;
                        }
                    }
                    if found.is_none() {
                        // The skip list ran out (its messages were removed):
                        // go on from where it would have resumed.
                        continue;
                    }
                } else {
                    let next = store.range(c.sseq).find(|(_, m)| cfg.matches(&m.subject)).map(|(s, _)| s);
                    match next {
                        Some(s) => {
                            found = Some((s, 1));
                            c.sseq = s + 1;
                        }
                        None => c.sseq = c.sseq.max(store.last_seq() + 1),
                    }
                }
            }
            let Some((seq, dc)) = found else {
                let eos = !max_pending_hit;
                self.js_consumer_process_waiting(ctx, stream, name, eos, true);
                break;
            };
            let Some(m) = store.get(seq) else { break };
            let msg = m.clone();
            let pending_after = c.num_pending(store);
            let dseq = c.dseq;
            let ts_ns = UNIX_OFFSET_NS.saturating_add(msg.ts);
            let ack: Rc<str> =
                Rc::from(format!("$JS.ACK.{stream}.{name}.{dc}.{seq}.{dseq}.{ts_ns}.{pending_after}").as_str());
            let (hdr, data) = if cfg.headers_only {
                let mut h = match &msg.hdr {
                    Some(h) if h.len() >= 4 => h[..h.len() - 2].to_vec(),
                    _ => b"NATS/1.0\r\n".to_vec(),
                };
                h.extend_from_slice(format!("Nats-Msg-Size: {}\r\n\r\n", msg.data.len()).as_bytes());
                (Some(Bytes::from(h)), Bytes::new())
            } else {
                (msg.hdr.clone(), msg.data.clone())
            };
            let sz = (msg.subject.len() + ack.len() + hdr.as_ref().map_or(0, |h| h.len()) + data.len()) as i64;
            // Pick the request (nats `nextWaiting`).
            let mut target: Option<Rc<str>> = push_subject.clone();
            let mut batch_done: Option<(i64, i64)> = None;
            let mut too_big: Vec<(Rc<str>, i64, i64)> = Vec::new();
            if target.is_none() {
                while let Some(w) = c.waiting.front_mut() {
                    if w.b > 0 {
                        if sz <= w.b {
                            w.b -= sz;
                            if w.b == 0 {
                                w.n = 1;
                            }
                        } else {
                            too_big.push((w.reply.clone(), w.n, w.b));
                            c.waiting.pop_front();
                            continue;
                        }
                    }
                    if w.expires.is_some_and(|e| e <= now) {
                        break;
                    }
                    w.d = w.d.saturating_add(1);
                    w.n = w.n.saturating_sub(1);
                    target = Some(w.reply.clone());
                    let (n, b, hb) = (w.n, w.b, w.hb);
                    if n <= 0 {
                        c.waiting.pop_front();
                        if b > 0 {
                            batch_done = Some((n, b));
                        }
                    } else {
                        if hb > 0 {
                            w.hbt = Some(now + hb);
                        }
                        if c.waiting.len() > 1 {
                            if let Some(w) = c.waiting.pop_front() {
                                c.waiting.push_back(w);
                            }
                        }
                    }
                    break;
                }
            }
            let Some(target) = target else {
                // Nobody to take it: put it back.
                if from_rdq {
                    c.rdq.push_front(seq);
                } else if let Some((lss, sseq)) = saved_lss {
                    c.lss = lss;
                    c.sseq = sseq;
                } else if seq + 1 == c.sseq {
                    c.sseq = seq;
                }
                let more = !c.waiting.is_empty();
                for (reply, n, b) in too_big {
                    self.internal_publish(
                        ctx,
                        &reply,
                        Some(&status_pending(409, "Message Size Exceeds MaxBytes", n, b)),
                        Bytes::new(),
                    );
                }
                self.js_consumer_process_waiting(ctx, stream, name, false, false);
                // An expired request at the front was dropped: try the next one.
                if more {
                    continue;
                }
                break;
            };
            c.record_delivery(dseq, seq, dc, now);
            c.last_activity = now;
            c.last_sent = now;
            if push_subject.is_some() && cfg.flow_control {
                c.pbytes += sz as u64;
            }
            let need_fc = push_subject.is_some() && cfg.flow_control && c.fcid.is_none() && c.pbytes > c.fc_window / 2;
            let op =
                (cfg.ack_policy != AckPolicy::None).then_some(ConsumerOp::Delivered { dseq, sseq: seq, dc, ts: now });
            for (reply, n, b) in too_big {
                self.internal_publish(
                    ctx,
                    &reply,
                    Some(&status_pending(409, "Message Size Exceeds MaxBytes", n, b)),
                    Bytes::new(),
                );
            }
            if op.is_some() && !cfg.flow_control && replicated {
                // nats `addReplicatedQueuedMsg`: sent when the op commits.
                if let Some(c) = self.js_consumer_mut(stream, name) {
                    c.held.insert(
                        seq,
                        consumer::Outgoing {
                            to: target.clone(),
                            subject: msg.subject.clone(),
                            reply: Some(ack.clone()),
                            hdr: hdr.clone(),
                            data: data.clone(),
                        },
                    );
                    c.held_requests.insert(target.clone(), (seq, None));
                }
            } else {
                self.internal_deliver(ctx, &target, &msg.subject, Some(&ack), hdr.as_ref(), &data);
            }
            if cfg.ack_policy == AckPolicy::None {
                self.js_consumers_retention(ctx, stream, false);
            }
            if let Some((n, b)) = batch_done {
                self.internal_publish(ctx, &target, Some(&status_pending(409, "Batch Completed", n, b)), Bytes::new());
            }
            if let Some(op) = op {
                self.js_consumer_propose(ctx, stream, name, op);
            }
            if need_fc {
                self.js_consumer_flow_control(ctx, stream, name, &target);
            }
        }
    }

    /// nats `sendFlowControl`: a `100 FlowControl Request` whose reply the
    /// subscriber must answer before delivery goes on.
    fn js_consumer_flow_control(&mut self, ctx: &mut Ctx, stream: &Rc<str>, name: &Rc<str>, deliver: &Rc<str>) {
        const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let id: String = (0..4).map(|_| DIGITS[ctx.rng.index(DIGITS.len())] as char).collect();
        let fc: Rc<str> = Rc::from(format!("$JS.FC.{stream}.{name}.{id}").as_str());
        if let Some(c) = self.js_consumer_mut(stream, name) {
            c.fcid = Some(fc.clone());
            c.fcsz = c.pbytes;
        }
        let hdr = Bytes::from_static(b"NATS/1.0 100 FlowControl Request\r\n\r\n");
        self.internal_deliver(ctx, deliver, deliver, Some(&fc), Some(&hdr), &Bytes::new());
    }

    /// nats `processWaiting`: expired requests get 408, no-wait requests at
    /// the end of the stream 404, requests without interest are dropped,
    /// heartbeats go out.
    /// `full`: also drop requests whose reply lost interest and send the
    /// heartbeats due (else only expiry).
    fn js_consumer_process_waiting(&mut self, ctx: &mut Ctx, stream: &Rc<str>, name: &Rc<str>, eos: bool, full: bool) {
        let now = ctx.now;
        let replies: Vec<Rc<str>> =
            match self.js.as_ref().and_then(|js| js.streams.get(stream)).and_then(|r| r.consumers.get(name)) {
                Some(c) if !c.waiting.is_empty() => c.waiting.iter().map(|w| w.reply.clone()).collect(),
                _ => return,
            };
        let interest: Vec<bool> = replies.iter().map(|r| !full || self.has_interest(r)).collect();
        let mut sends: Vec<(Rc<str>, Bytes)> = Vec::new();
        let Some(c) = self.js_consumer_mut(stream, name) else { return };
        let (dseq, sseq) = (c.dseq, c.sseq);
        let mut kept = std::collections::VecDeque::new();
        let mut held_requests = std::mem::take(&mut c.held_requests);
        for (w, has) in c.waiting.drain(..).zip(interest) {
            let expired = w.expires.is_some_and(|e| now >= e);
            if (eos && w.no_wait) || expired {
                if let Some(h) = held_requests.get_mut(&w.reply) {
                    // Deliveries still wait for their commit: the request
                    // ends after the last one, with a 408 if it had more to take.
                    h.1 = Some((w.n, w.b));
                    continue;
                }
                if expired {
                    sends.push((w.reply.clone(), status_pending(408, "Request Timeout", w.n, w.b)));
                    continue;
                } else if w.expires.is_none() || w.d > 0 {
                    sends.push((w.reply.clone(), status(404, "No Messages")));
                    continue;
                }
            }
            if !has {
                continue;
            }
            let mut w = w;
            if let Some(t) = w.hbt.filter(|_| full) {
                if now >= t {
                    let h = format!(
                        "NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: {}\r\nNats-Last-Stream: {}\r\n\r\n",
                        dseq.saturating_sub(1),
                        sseq.saturating_sub(1)
                    );
                    sends.push((w.reply.clone(), Bytes::from(h)));
                    w.hbt = Some(now + w.hb);
                }
            }
            kept.push_back(w);
        }
        c.waiting = kept;
        c.held_requests = held_requests;
        for (reply, h) in sends {
            self.internal_publish(ctx, &reply, Some(&h), Bytes::new());
        }
    }

    /// A consumer's timer: redeliveries due, request expiry, heartbeats,
    /// inactivity.
    pub(super) fn js_consumer_timer(&mut self, ctx: &mut Ctx, stream: &Rc<str>, name: &Rc<str>) {
        let now = ctx.now;
        let leads = self
            .js
            .as_ref()
            .and_then(|js| js.streams.get(stream))
            .and_then(|r| r.consumers.get(name))
            .is_some_and(|c| c.is_leader());
        let mut hb: Option<(Rc<str>, Bytes)> = None;
        let mut delete = false;
        let mut maxed: Vec<(u64, u64)> = Vec::new();
        let run_pump;
        {
            let Some(c) = self.js_consumer_mut(stream, name) else { return };
            if c.armed.is_some_and(|a| a <= now) {
                c.armed = None;
            }
            if !leads || c.subs.is_empty() {
                return;
            }
            // nats `checkPending`: expired ack waits go to the redelivery queue.
            // A message at max_deliver leaves pending (its delivery count stays).
            let mut expired: Vec<u64> = Vec::new();
            let mut exhausted: Vec<u64> = Vec::new();
            for (&seq, p) in &c.pending {
                if now >= c.deadline(seq, p) && !c.rdq.contains(&seq) {
                    if c.has_max_deliveries(seq) {
                        exhausted.push(seq);
                    } else {
                        expired.push(seq);
                    }
                }
            }
            for s in &exhausted {
                c.pending.remove(s);
                c.rdc.entry(*s).or_insert(0);
                maxed.push((*s, c.delivery_count(*s)));
            }
            // Pump only when something is due (nats' loop sleeps otherwise,
            // and only then looks at the waiting requests' interest).
            run_pump = !expired.is_empty()
                || c.config().is_push()
                || c.waiting.iter().any(|w| w.expires.is_some_and(|e| e <= now) || w.hbt.is_some_and(|h| h <= now));
            if let Some(&first) = expired.first() {
                let off = c.pending.get(&first).map_or(0, |p| now.saturating_sub(p.ts));
                for s in &expired {
                    if let Some(p) = c.pending.get_mut(s) {
                        p.ts += off;
                        p.due = None;
                    }
                }
                c.rdq.extend(expired);
            }
            let cfg = c.config().clone();
            if cfg.is_push() && cfg.idle_heartbeat > 0 && c.active && now >= c.last_sent + cfg.idle_heartbeat as u64 {
                let mut h = format!(
                    "NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: {}\r\nNats-Last-Stream: {}\r\n",
                    c.dseq.saturating_sub(1),
                    c.sseq.saturating_sub(1)
                );
                if let Some(fc) = &c.fcid {
                    h.push_str(&format!("Nats-Consumer-Stalled: {fc}\r\n"));
                }
                h.push_str("\r\n");
                c.last_sent = now;
                hb = Some((Rc::from(cfg.deliver_subject.as_str()), Bytes::from(h)));
            }
            let idle = if cfg.is_push() { !c.active } else { c.waiting.is_empty() };
            if cfg.inactive_threshold > 0
                && idle
                && !c.delete_requested
                && now >= c.last_activity + cfg.inactive_threshold as u64
            {
                c.delete_requested = true;
                delete = true;
            }
        }
        if let Some((subj, h)) = hb {
            self.internal_publish(ctx, &subj, Some(&h), Bytes::new());
        }
        for (seq, dc) in maxed {
            // nats `notifyDeliveryExceeded`.
            let subject = format!("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{stream}.{name}");
            self.js_consumer_advisory(ctx, &subject, "io.nats.jetstream.advisory.v1.max_deliver", |m| {
                m.insert("stream".into(), Value::String(stream.to_string()));
                m.insert("consumer".into(), Value::String(name.to_string()));
                m.insert("stream_seq".into(), seq.into());
                m.insert("deliveries".into(), dc.into());
            });
        }
        if delete {
            // nats' consumer leader asks the meta layer to delete an inactive
            // consumer; jetsim sends the API request (no reply wanted).
            let subject = format!("$JS.API.CONSUMER.DELETE.{stream}.{name}");
            self.internal_publish(ctx, &subject, None, Bytes::new());
        }
        if run_pump {
            self.js_consumer_pump(ctx, stream, name);
        }
        self.js_consumer_arm(ctx, stream, name);
    }

    /// Schedule the consumer's next timer if it is earlier than the armed one.
    fn js_consumer_arm(&mut self, ctx: &mut Ctx, stream: &Rc<str>, name: &Rc<str>) {
        self.js_consumer_sync_requests(ctx, stream, name);
        let now = ctx.now;
        let Some(c) = self.js_consumer_mut(stream, name) else { return };
        if c.subs.is_empty() {
            return;
        }
        let cfg = c.config().clone();
        let mut next: Option<Time> = None;
        let mut at = |t: Time| {
            let t = t.max(now + 1);
            if next.is_none_or(|n| t < n) {
                next = Some(t);
            }
        };
        for w in &c.waiting {
            if let Some(e) = w.expires {
                at(e);
            }
            if let Some(h) = w.hbt {
                at(h);
            }
        }
        for (&seq, p) in &c.pending {
            if !c.rdq.contains(&seq) {
                at(c.deadline(seq, p));
            }
        }
        if cfg.is_push() {
            if cfg.idle_heartbeat > 0 && c.active {
                at(c.last_sent + cfg.idle_heartbeat as u64);
            }
            if !c.active {
                // Interest is polled while nobody listens (jetsim has no
                // interest-change signal).
                at(now + 100 * crate::time::MS);
            }
        }
        let idle = if cfg.is_push() { !c.active } else { c.waiting.is_empty() };
        if cfg.inactive_threshold > 0 && idle && !c.delete_requested {
            at(c.last_activity + cfg.inactive_threshold as u64);
        }
        if let Some(t) = next {
            if c.armed.is_none_or(|a| t < a || a < now) {
                c.armed = Some(t);
                ctx.timer(t, Timer::JsConsumer { stream: stream.clone(), consumer: name.clone() });
            }
        }
    }
}
