//! `$JS.API.>` handlers: who answers what (nats `apiDispatch` rules, §2.1 of
//! the spec), stream CRUD through the meta leader, placement
//! (`selectPeerGroup`), and stream-leader requests.

use std::rc::Rc;

use bytes::Bytes;
use jetsim_raft::Output;
use serde_json::{json, Value};

use super::api::{self, error_response, parse_stream_config, response_type, ApiError};
use super::{Ent, JsEntry, Pending, StreamAssignment};
use crate::node::Ctx;
use crate::server::Server;
use crate::trace::Endpoint;

enum Who {
    MetaLeader,
    StreamLeader(String),
}

impl Server {
    pub(crate) fn js_api(
        &mut self,
        ctx: &mut Ctx,
        subject: &Rc<str>,
        reply: Option<&Rc<str>>,
        payload: &Bytes,
        from_client: bool,
    ) {
        let Some(rest) = subject.strip_prefix("$JS.API.") else { return };
        let toks: Vec<&str> = rest.split('.').collect();
        if toks.first() == Some(&"CONSUMER") {
            // Consumer requests: jetstream::consumer_api.
            self.js_consumer_api(ctx, &toks, reply, payload, from_client);
            return;
        }
        let (op, who, short): (&str, Who, &str) = match toks.as_slice() {
            ["INFO"] => ("info", Who::MetaLeader, "account_info_response"),
            ["STREAM", "CREATE", _] => ("create", Who::MetaLeader, "stream_create_response"),
            ["STREAM", "UPDATE", _] => ("update", Who::MetaLeader, "stream_update_response"),
            ["STREAM", "DELETE", _] => ("delete", Who::MetaLeader, "stream_delete_response"),
            ["STREAM", "NAMES"] => ("names", Who::MetaLeader, "stream_names_response"),
            ["STREAM", "LIST"] => ("list", Who::MetaLeader, "stream_list_response"),
            ["STREAM", "INFO", s] => ("sinfo", Who::StreamLeader(s.to_string()), "stream_info_response"),
            ["STREAM", "PURGE", s] => ("purge", Who::StreamLeader(s.to_string()), "stream_purge_response"),
            ["STREAM", "MSG", "GET", s] => ("get", Who::StreamLeader(s.to_string()), "stream_msg_get_response"),
            ["STREAM", "MSG", "DELETE", s] => ("mdel", Who::StreamLeader(s.to_string()), "stream_msg_delete_response"),
            ["STREAM", "LEADER", "STEPDOWN", s] => {
                ("sstep", Who::StreamLeader(s.to_string()), "stream_leader_stepdown_response")
            }
            ["META", "LEADER", "STEPDOWN"] => ("mstep", Who::MetaLeader, "meta_leader_stepdown_response"),
            ["DIRECT", "GET", ..] => {
                // Answered by the stream's replicas on their own
                // subscriptions (InternalSub::Direct), not the API import.
                return;
            }
            _ => {
                // nats-server 2.12.8 (conformance oracle): an unknown
                // `$JS.API` subject gets no answer (the client times out).
                return;
            }
        };
        let name = match toks.as_slice() {
            [_, _, s] | [_, _, _, s] => s.to_string(),
            _ => String::new(),
        };
        if from_client {
            // This server's client asked: only the first answer gets through.
            if let (Some(js), Some(r)) = (self.js.as_mut(), reply) {
                js.open_response(ctx.now, r);
            }
        }
        let unavailable = || error_response(short, &ApiError::cluster_unavailable());
        match who {
            Who::MetaLeader => {
                // nats: every server answers 503 while the meta group is
                // leaderless (past the startup threshold); else only the
                // meta leader answers.
                let Some(js) = self.js.as_ref() else { return };
                if js.meta_leaderless(ctx.now) {
                    self.js_count(true);
                    self.js_reply(ctx, reply, unavailable(), false);
                    return;
                }
                if !js.is_meta_leader() {
                    return;
                }
                self.js_count(false);
                self.js_meta_request(ctx, op, &name, reply, payload, short);
            }
            Who::StreamLeader(stream) => {
                let Some(js) = self.js.as_ref() else { return };
                let key: Rc<str> = Rc::from(stream.as_str());
                let meta_leaderless = js.meta_leaderless(ctx.now);
                // STREAM.INFO delays its errors so that a leader's answer
                // comes first; the other stream requests answer at once.
                let delayed = op == "sinfo";
                let Some(r) = js.streams.get(&key) else {
                    if js.is_meta_leader() {
                        self.js_count(true);
                        self.js_reply(ctx, reply, error_response(short, &ApiError::stream_not_found()), false);
                    } else if meta_leaderless {
                        self.js_count(true);
                        self.js_reply(ctx, reply, unavailable(), delayed);
                    }
                    return;
                };
                let lq = js.opts.raft_config().lost_quorum;
                let leaderless = r.group_leaderless(ctx.now, js.started, lq);
                if r.is_leader() {
                    self.js_count(false);
                    self.js_stream_request(ctx, op, &key, reply, payload, short);
                } else if leaderless {
                    if op == "sinfo" {
                        // Members of a leaderless group answer with their own view.
                        self.js_count(false);
                        let body = self.js_stream_info_json(ctx, &key, short, false);
                        self.js_reply(ctx, reply, body, false);
                    } else {
                        self.js_count(true);
                        self.js_reply(ctx, reply, unavailable(), false);
                    }
                } else if meta_leaderless {
                    self.js_count(true);
                    self.js_reply(ctx, reply, unavailable(), delayed);
                }
            }
        }
    }

    /// Send an API handler's result: its body, nothing (answered later or by
    /// another server), or its error as a `short` response (counted).
    pub(super) fn js_answer(
        &mut self,
        ctx: &mut Ctx,
        reply: Option<&Rc<str>>,
        short: &str,
        result: Result<Option<Vec<u8>>, ApiError>,
    ) {
        match result {
            Ok(Some(body)) => self.js_reply(ctx, reply, body, false),
            Ok(None) => {}
            Err(e) => {
                if let Some(js) = self.js.as_mut() {
                    js.api_errors += 1;
                }
                self.js_reply(ctx, reply, error_response(short, &e), false)
            }
        }
    }

    pub(super) fn js_count(&mut self, error: bool) {
        if let Some(js) = self.js.as_mut() {
            js.api_total += 1;
            if error {
                js.api_errors += 1;
            }
        }
    }

    fn js_meta_request(
        &mut self,
        ctx: &mut Ctx,
        op: &str,
        name: &str,
        reply: Option<&Rc<str>>,
        payload: &Bytes,
        short: &str,
    ) {
        let result: Result<Option<Vec<u8>>, ApiError> = match op {
            "info" => Ok(Some(self.js_account_info())),
            "names" | "list" => match parse_paged(payload, &["offset", "subject"]) {
                Err(e) => Err(e),
                Ok((offset, filter)) => {
                    let js = self.js.as_ref();
                    // nats: streams with a subject colliding with the filter.
                    let names: Vec<String> = js
                        .map(|j| {
                            j.streams
                                .iter()
                                .filter(|(_, r)| {
                                    filter.is_empty()
                                        || r.assignment
                                            .config
                                            .subjects
                                            .iter()
                                            .any(|s| crate::subject::subjects_collide(&filter, s))
                                })
                                .map(|(k, _)| k.to_string())
                                .collect()
                        })
                        .unwrap_or_default();
                    let total = names.len();
                    let offset = offset.min(total);
                    if op == "names" {
                        let page: Vec<String> = names.into_iter().skip(offset).take(1024).collect();
                        // Go marshals an empty (nil) list as null.
                        let streams = if page.is_empty() { Value::Null } else { json!(page) };
                        let v = json!({"type": response_type(short), "total": total, "offset": offset, "limit": 1024, "streams": streams});
                        Ok(Some(serde_json::to_vec(&v).unwrap_or_default()))
                    } else {
                        let infos: Vec<Value> = names
                            .iter()
                            .skip(offset)
                            .take(256)
                            .map(|n| {
                                let b = self.js_stream_info_json(ctx, &Rc::from(n.as_str()), "", false);
                                serde_json::from_slice::<Value>(&b).unwrap_or(Value::Null)
                            })
                            .collect();
                        let v = json!({"type": response_type(short), "total": total, "offset": offset, "limit": 256, "streams": infos});
                        Ok(Some(serde_json::to_vec(&v).unwrap_or_default()))
                    }
                }
            },
            "create" => self.js_create(ctx, name, reply, payload),
            "update" => self.js_update(ctx, name, reply, payload),
            "delete" => self.js_delete(ctx, name, reply),
            "mstep" => {
                let Some(js) = self.js.as_mut() else { return };
                let Some(g) = js.meta.as_mut() else { return };
                let gname = g.name.clone();
                let mut out = Output::new();
                let r = g.raft.step_down(ctx.now, None, &mut Ent(ctx.rng), &mut out);
                self.js_output(ctx, &gname, out);
                match r {
                    Ok(_) => Ok(Some(
                        serde_json::to_vec(&json!({"type": response_type(short), "success": true})).unwrap_or_default(),
                    )),
                    Err(_) => Err(ApiError::cluster_unavailable()),
                }
            }
            _ => Err(ApiError::bad_request()),
        };
        self.js_answer(ctx, reply, short, result);
    }

    fn js_account_info(&self) -> Vec<u8> {
        let (streams, mem, store, total, errors) = match self.js.as_ref() {
            Some(js) => {
                let mut mem = 0u64;
                let mut file = 0u64;
                for r in js.streams.values() {
                    let b = r.store.state().bytes;
                    if r.assignment.config.storage_memory {
                        mem += b;
                    } else {
                        file += b;
                    }
                }
                (js.streams.len(), mem, file, js.api_total, js.api_errors)
            }
            None => (0, 0, 0, 0, 0),
        };
        let v = json!({
            "type": response_type("account_info_response"),
            "memory": mem, "storage": store, "reserved_memory": 0, "reserved_storage": 0,
            "streams": streams,
            "consumers": self.js.as_ref().map_or(0, |js| js.streams.values().map(|r| r.consumers.len()).sum::<usize>()),
            "limits": {"max_memory": -1, "max_storage": -1, "max_streams": -1, "max_consumers": -1,
                       "max_ack_pending": -1, "memory_max_stream_bytes": -1, "storage_max_stream_bytes": -1,
                       "max_bytes_required": false},
            "api": {"level": api::JS_API_LEVEL, "total": total, "errors": errors},
        });
        serde_json::to_vec(&v).unwrap_or_default()
    }

    fn js_create(
        &mut self,
        ctx: &mut Ctx,
        name: &str,
        reply: Option<&Rc<str>>,
        payload: &Bytes,
    ) -> Result<Option<Vec<u8>>, ApiError> {
        let cfg = parse_stream_config(payload, name)?;
        let js = self.js.as_ref().ok_or_else(ApiError::cluster_unavailable)?;
        let key: Rc<str> = Rc::from(name);
        if !js.clustered() && cfg.num_replicas > 1 {
            return Err(ApiError::new(500, 10074, "replicas > 1 not supported in non-clustered mode"));
        }
        if let Some(r) = js.streams.get(&key) {
            if r.assignment.config == cfg {
                // Identical config: idempotent (a cluster answers without
                // did_create, a single server with it).
                if !js.clustered() {
                    return Ok(Some(self.js_stream_info_json(ctx, &key, "stream_create_response", true)));
                }
                // nats proposes the equal assignment again; the stream
                // leader answers when it is applied.
                let mut sa = (*r.assignment).clone();
                sa.reply = reply.cloned();
                self.js_meta_propose(ctx, JsEntry::AddStream(Rc::new(sa)), None)?;
                return Ok(None);
            }
            return Err(ApiError::new(400, 10058, "stream name already in use with a different configuration"));
        }
        if js.streams.len() >= api::MAX_STREAMS {
            return Err(ApiError::new(400, 10027, "maximum number of streams reached"));
        }
        for r in js.streams.values() {
            for a in &r.assignment.config.subjects {
                if cfg.subjects.iter().any(|b| crate::subject::subjects_collide(a, b)) {
                    return Err(ApiError::new(400, 10065, "subjects overlap with an existing stream"));
                }
            }
        }
        if let Some(c) = cfg.placement.as_ref().and_then(|p| p.cluster.as_ref()) {
            if *c != self.config.cluster {
                return Err(ApiError::new(400, 10005, "no suitable peers for placement"));
            }
        }
        let peers = self.js_select_peers(ctx, &cfg, &[])?;
        let preferred = {
            let online: Vec<Endpoint> =
                peers.iter().copied().filter(|p| *p == ctx.me || self.routes.contains(p)).collect();
            let pool = if online.is_empty() { &peers } else { &online };
            pool[ctx.rng.index(pool.len())]
        };
        const ALPHA: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let hash: String = (0..8).map(|_| ALPHA[ctx.rng.index(ALPHA.len())] as char).collect();
        let group: Rc<str> =
            Rc::from(format!("S-R{}{}-{hash}", cfg.num_replicas, if cfg.storage_memory { "M" } else { "F" }).as_str());
        let sa = StreamAssignment { config: cfg, group, peers, preferred, created: ctx.now, reply: reply.cloned() };
        self.js_meta_propose(ctx, JsEntry::AddStream(Rc::new(sa)), None)?;
        Ok(None)
    }

    fn js_update(
        &mut self,
        ctx: &mut Ctx,
        name: &str,
        reply: Option<&Rc<str>>,
        payload: &Bytes,
    ) -> Result<Option<Vec<u8>>, ApiError> {
        let cfg = api::parse_stream_update(payload, name)?;
        let js = self.js.as_ref().ok_or_else(ApiError::cluster_unavailable)?;
        if !js.clustered() && cfg.num_replicas > 1 {
            return Err(ApiError::new(500, 10074, "replicas > 1 not supported in non-clustered mode"));
        }
        let key: Rc<str> = Rc::from(name);
        let r = js.streams.get(&key).ok_or_else(ApiError::stream_not_found)?;
        let cfg = api::check_stream_update(&r.assignment.config, cfg)?;
        for (n, o) in &js.streams {
            if *n == key {
                continue;
            }
            for a in &o.assignment.config.subjects {
                if cfg.subjects.iter().any(|b| crate::subject::subjects_collide(a, b)) {
                    return Err(ApiError::new(400, 10065, "subjects overlap with an existing stream"));
                }
            }
        }
        let mut sa = (*r.assignment).clone();
        let (old_peers, want) = (sa.peers.clone(), cfg.num_replicas as usize);
        let leader = r.leader();
        if want > old_peers.len() {
            // Scale up (nats `selectPeerGroup` with the existing peers kept);
            // a singleton becomes the preferred leader of the grown group.
            let peers = self.js_select_peers(ctx, &cfg, &old_peers)?;
            if old_peers.len() == 1 {
                sa.preferred = old_peers[0];
            }
            sa.peers = peers;
        } else if want < old_peers.len() {
            // Scale down: keep the current leader, then online peers in order.
            // nats asks the stream leader (a system request); jetsim's meta
            // leader uses what its own replica knows (see README Fidelity).
            let mut chosen: Vec<Endpoint> = leader.into_iter().collect();
            for &p in &old_peers {
                if chosen.len() == want {
                    break;
                }
                if Some(p) != leader && (p == ctx.me || self.routes.contains(&p)) {
                    chosen.push(p);
                }
            }
            crate::sort::sort(&mut chosen);
            sa.peers = chosen;
        }
        sa.config = cfg;
        // The stream leader answers once it applied the update (nats
        // `processClusterUpdateStream`).
        sa.reply = reply.cloned();
        self.js_meta_propose(ctx, JsEntry::UpdateStream(Rc::new(sa)), None)?;
        Ok(None)
    }

    fn js_delete(&mut self, ctx: &mut Ctx, name: &str, reply: Option<&Rc<str>>) -> Result<Option<Vec<u8>>, ApiError> {
        let js = self.js.as_ref().ok_or_else(ApiError::cluster_unavailable)?;
        let key: Rc<str> = Rc::from(name);
        if !js.streams.contains_key(&key) {
            return Err(ApiError::stream_not_found());
        }
        let pending = reply.map(|r| Pending::Delete(r.clone()));
        self.js_meta_propose(ctx, JsEntry::DeleteStream(key), pending)?;
        Ok(None)
    }

    pub(super) fn js_meta_propose(
        &mut self,
        ctx: &mut Ctx,
        entry: JsEntry,
        pending: Option<Pending>,
    ) -> Result<(), ApiError> {
        let js = self.js.as_mut().ok_or_else(ApiError::cluster_unavailable)?;
        let g = js.meta.as_mut().ok_or_else(ApiError::cluster_unavailable)?;
        let gname = g.name.clone();
        let mut out = Output::new();
        let index = g.raft.propose(ctx.now, entry, &mut out).map_err(|_| ApiError::cluster_unavailable())?;
        if let Some(p) = pending {
            js.meta_pending.insert(index, p);
        }
        self.js_output(ctx, &gname, out);
        Ok(())
    }

    /// nats `selectPeerGroup`: online JetStream peers of this cluster with
    /// every required tag, at most one per `unique_tag` value, fewest streams
    /// first (random among equals).
    fn js_select_peers(
        &mut self,
        ctx: &mut Ctx,
        cfg: &api::StreamConfig,
        existing: &[Endpoint],
    ) -> Result<Vec<Endpoint>, ApiError> {
        let Some(js) = self.js.as_ref() else { return Err(ApiError::cluster_unavailable()) };
        let want = cfg.num_replicas as usize;
        let tags: Vec<String> = cfg.placement.as_ref().map(|p| p.tags.clone()).unwrap_or_default();
        let unique = js.opts.unique_tag.clone().filter(|u| !tags.iter().any(|t| t.starts_with(u.as_str())));
        let (mut offline, mut untagged, mut not_unique) = (false, false, false);
        let mut cands: Vec<(u64, u64, Endpoint, Option<String>)> = Vec::new();
        for p in js
            .opts
            .peers
            .iter()
            .filter(|p| p.jetstream && p.cluster == self.config.cluster && !existing.contains(&p.ep))
        {
            if p.ep != ctx.me && !self.routes.contains(&p.ep) {
                offline = true;
                continue;
            }
            let has = |t: &String| match t.strip_prefix('!') {
                Some(neg) => !p.tags.iter().any(|x| x == neg),
                None => p.tags.iter().any(|x| x == t),
            };
            if !tags.iter().all(has) {
                untagged = true;
                continue;
            }
            let load = js.streams.values().filter(|r| r.assignment.peers.contains(&p.ep)).count() as u64;
            let utag = unique.as_ref().and_then(|u| p.tags.iter().find(|t| t.starts_with(u.as_str())).cloned());
            if unique.is_some() && utag.is_none() {
                not_unique = true;
                continue;
            }
            cands.push((load, 0, p.ep, utag));
        }
        for c in cands.iter_mut() {
            c.1 = ctx.rng.next_u64();
        }
        crate::sort::sort(&mut cands);
        let mut chosen: Vec<Endpoint> = existing.to_vec();
        let mut used: Vec<String> = Vec::new();
        for e in existing {
            let tag =
                js.opts.peers.iter().find(|p| p.ep == *e).and_then(|p| {
                    unique.as_ref().and_then(|u| p.tags.iter().find(|t| t.starts_with(u.as_str())).cloned())
                });
            used.extend(tag);
        }
        for (_, _, ep, utag) in cands {
            if chosen.len() == want {
                break;
            }
            if let Some(t) = utag {
                if used.contains(&t) {
                    not_unique = true;
                    continue;
                }
                used.push(t);
            }
            chosen.push(ep);
        }
        if chosen.len() < want {
            let mut text = String::from("no suitable peers for placement");
            if offline {
                text.push_str(", peer offline");
            }
            if not_unique {
                text.push_str(", server tag not unique");
            }
            if untagged {
                text.push_str(&format!(", tags not matched ['{}']", tags.join("', '")));
            }
            return Err(ApiError::new(400, 10005, text));
        }
        crate::sort::sort(&mut chosen);
        Ok(chosen)
    }

    fn js_stream_request(
        &mut self,
        ctx: &mut Ctx,
        op: &str,
        stream: &Rc<str>,
        reply: Option<&Rc<str>>,
        payload: &Bytes,
        short: &str,
    ) {
        let mut entry = None;
        let mut pending = None;
        let body: Result<Option<Vec<u8>>, ApiError> = match op {
            "sinfo" => match parse_info_request(payload) {
                Ok(opts) => Ok(Some(self.js_stream_info_json_opts(ctx, stream, short, false, &opts))),
                Err(e) => Err(e),
            },
            "purge" => match self.js_purge_request(stream, payload) {
                Ok(req) => {
                    entry = Some(JsEntry::Purge(req));
                    pending = reply.map(|r| Pending::Purge(r.clone()));
                    Ok(None)
                }
                Err(e) => Err(e),
            },
            "get" => self.js_msg_get(stream, payload, short).map(Some),
            "mdel" => {
                let cfg = self.js.as_ref().and_then(|js| js.streams.get(stream)).map(|r| r.assignment.config.clone());
                match parse_msg_delete(payload) {
                    Err(e) => Err(e),
                    Ok(_) if cfg.as_ref().is_some_and(|c| c.sealed) => {
                        Err(ApiError::new(400, 10109, "invalid operation on sealed stream"))
                    }
                    Ok(_) if cfg.as_ref().is_some_and(|c| c.deny_delete) => {
                        Err(ApiError::new(500, 10057, "message delete not permitted"))
                    }
                    Ok(seq) => {
                        entry = Some(JsEntry::DeleteMsg(seq));
                        pending = reply.map(|r| Pending::MsgDelete(r.clone()));
                        Ok(None)
                    }
                }
            }
            "sstep" => self.js_stream_stepdown(ctx, stream, payload, short),
            _ => Err(ApiError::bad_request()),
        };
        if let Some(e) = entry {
            if let Some(r) = self.js.as_mut().and_then(|js| js.streams.get_mut(stream)) {
                if let Some(g) = r.group.as_mut() {
                    let gname = g.name.clone();
                    let mut out = Output::new();
                    if let Ok(index) = g.raft.propose(ctx.now, e, &mut out) {
                        if let Some(p) = pending {
                            r.pending.insert(index, p);
                        }
                    }
                    self.js_output(ctx, &gname, out);
                }
            }
        }
        self.js_answer(ctx, reply, short, body);
    }

    /// `$JS.API.STREAM.LEADER.STEPDOWN.<stream>` on the stream leader (nats
    /// `jsStreamLeaderStepDownRequest`): an optional `{"placement":
    /// {cluster, tags, preferred}}` body picks the peer to hand leadership to
    /// (`getStepDownPreferredPlacement`), then the Raft leader steps down
    /// transferring to it (`StepDown(preferred)`: an unhealthy preferred peer
    /// falls back to another healthy one, as in nats 2.12.8).
    fn js_stream_stepdown(
        &mut self,
        ctx: &mut Ctx,
        stream: &Rc<str>,
        payload: &Bytes,
        short: &str,
    ) -> Result<Option<Vec<u8>>, ApiError> {
        let success = || {
            Ok(Some(serde_json::to_vec(&json!({"type": response_type(short), "success": true})).unwrap_or_default()))
        };
        let placement = parse_stepdown_request(payload)?;
        let Some(js) = self.js.as_ref() else { return Ok(None) };
        // nats: a stream without a Raft node answers success.
        let Some(g) = js.streams.get(stream).and_then(|r| r.group.as_ref()) else { return success() };
        let preferred = match placement {
            None => None,
            Some(p) => Some(stepdown_target(&js.opts.peers, g.raft.peers(), ctx.me, &self.routes, &p, ctx.rng)?),
        };
        let Some(g) = self.js.as_mut().and_then(|js| js.streams.get_mut(stream)).and_then(|r| r.group.as_mut()) else {
            return success();
        };
        let gname = g.name.clone();
        let mut out = Output::new();
        let res = g.raft.step_down(ctx.now, preferred, &mut Ent(ctx.rng), &mut out);
        self.js_output(ctx, &gname, out);
        match res {
            Ok(_) => success(),
            // nats NewJSRaftGeneralError(errNotLeader).
            Err(_) => Err(ApiError::new(500, 10041, "raft: not leader")),
        }
    }

    /// A group's ClusterInfo (nats `clusterInfo`): cluster name, Raft group,
    /// leader (+ since), system account, and the other members' `current`,
    /// `offline`, `active`, `lag` as the leader sees them. A single server
    /// shows only itself as leader; a one-member group {name, leader}.
    pub(crate) fn js_cluster_block(&self, ctx: &Ctx, group: Option<&super::Group>, peers: &[Endpoint]) -> Value {
        let Some(js) = self.js.as_ref() else { return Value::Null };
        let name_of =
            |ep: Endpoint| js.opts.peers.iter().find(|p| p.ep == ep).map(|p| p.name.clone()).unwrap_or_default();
        let mut cluster = json!({"name": self.config.cluster});
        let clustered = js.clustered();
        if !clustered {
            // A single server: nats shows only itself as leader.
            cluster = json!({"leader": self.config.name});
        }
        let replicated = peers.len() > 1;
        if clustered && !replicated {
            // An R1 stream has no Raft node in nats: {name, leader} only, the
            // leader being its one peer (known from the assignment).
            if let Some(&p) = peers.first() {
                cluster["leader"] = Value::String(name_of(p));
            }
        }
        if let Some(g) = group.filter(|_| clustered && replicated) {
            cluster["raft_group"] = Value::String(g.name.to_string());
            if let Some(l) = g.raft.leader() {
                cluster["leader"] = Value::String(name_of(l));
                if let (true, Some(since)) = (g.raft.is_leader(), g.raft.leader_since()) {
                    cluster["leader_since"] = Value::String(api::rfc3339(since));
                }
            }
            // Replicated groups run in the system account (nats 2.12).
            cluster["system_account"] = Value::Bool(true);
            cluster["traffic_account"] = Value::String("$SYS".into());
            let progress = g.raft.progress();
            let last = g.raft.last_index();
            let mut replicas = Vec::new();
            for &p in peers.iter().filter(|&&p| Some(p) != g.raft.leader()) {
                // PeerInfo: name, current, offline?, active, lag?, peer.
                let (mut current, mut offline, mut active, mut lag) = (false, false, 0u64, 0u64);
                if g.raft.is_leader() {
                    if let Some(pp) = progress.iter().find(|pp| pp.id == p) {
                        let act = pp.last_heard.map(|h| ctx.now.saturating_sub(h));
                        lag = last.saturating_sub(pp.match_index);
                        let fresh = act.is_some_and(|a| a <= js.opts.raft_config().lost_quorum);
                        current = fresh && lag == 0;
                        active = act.unwrap_or(0);
                        offline = !fresh;
                    }
                } else if p == ctx.me {
                    current = g.raft.leader().is_some();
                }
                let mut rep = serde_json::Map::new();
                rep.insert("name".into(), name_of(p).into());
                rep.insert("current".into(), current.into());
                if offline {
                    rep.insert("offline".into(), true.into());
                }
                rep.insert("active".into(), active.into());
                if lag > 0 {
                    rep.insert("lag".into(), lag.into());
                }
                rep.insert("peer".into(), peer_hash(&name_of(p)).into());
                replicas.push(Value::Object(rep));
            }
            if !replicas.is_empty() {
                cluster["replicas"] = Value::Array(replicas);
            }
        }
        cluster
    }

    /// StreamInfo (as `short`, or bare when `short` is empty) from this
    /// server's view of the stream.
    pub(crate) fn js_stream_info_json(&self, ctx: &Ctx, stream: &Rc<str>, short: &str, did_create: bool) -> Vec<u8> {
        self.js_stream_info_json_opts(ctx, stream, short, did_create, &InfoOpts::default())
    }

    /// StreamInfo with STREAM.INFO's request options (subjects_filter,
    /// deleted_details, offset).
    pub(crate) fn js_stream_info_json_opts(
        &self,
        ctx: &Ctx,
        stream: &Rc<str>,
        short: &str,
        did_create: bool,
        opts: &InfoOpts,
    ) -> Vec<u8> {
        let Some(js) = self.js.as_ref() else { return Vec::new() };
        let Some(r) = js.streams.get(stream) else {
            return error_response(
                if short.is_empty() { "stream_info_response" } else { short },
                &ApiError::stream_not_found(),
            );
        };
        let st = r.store.state();
        // Field order and omitempty as nats' Go structs (StreamState).
        let mut state = serde_json::Map::new();
        state.insert("messages".into(), st.messages.into());
        state.insert("bytes".into(), st.bytes.into());
        state.insert("first_seq".into(), st.first_seq.into());
        // Go's zero time when there is no first / last message.
        const ZERO_TIME: &str = "0001-01-01T00:00:00Z";
        let first_ts = if st.messages == 0 { ZERO_TIME.to_string() } else { api::rfc3339(st.first_ts) };
        let last_ts = if st.last_seq == 0 || st.last_seq < r.assignment.config.first_seq {
            ZERO_TIME.to_string()
        } else {
            api::rfc3339(st.last_ts)
        };
        state.insert("first_ts".into(), first_ts.into());
        state.insert("last_seq".into(), st.last_seq.into());
        state.insert("last_ts".into(), last_ts.into());
        if st.num_subjects > 0 {
            state.insert("num_subjects".into(), st.num_subjects.into());
        }
        // subjects_filter: the subjects map (paged like nats, 100000 a page).
        let subject_totals =
            if opts.subjects_filter.is_empty() { Vec::new() } else { r.store.subject_totals(&opts.subjects_filter) };
        if !subject_totals.is_empty() {
            let m: serde_json::Map<String, Value> = subject_totals
                .iter()
                .skip(opts.offset)
                .take(MAX_SUBJECT_DETAILS)
                .map(|(k, n)| (k.to_string(), Value::from(*n)))
                .collect();
            if !m.is_empty() {
                state.insert("subjects".into(), Value::Object(m));
            }
        }
        let num_deleted = (st.last_seq + 1).saturating_sub(st.first_seq).saturating_sub(st.messages);
        if num_deleted > 0 && st.messages > 0 {
            state.insert("num_deleted".into(), num_deleted.into());
            if opts.deleted_details {
                let gaps: Vec<Value> = r.store.deleted().into_iter().map(Value::from).collect();
                state.insert("deleted".into(), Value::Array(gaps));
            }
        }
        state.insert("consumer_count".into(), self.js_consumer_count(stream).into());
        let clustered = js.clustered();
        let cluster = self.js_cluster_block(ctx, r.group.as_ref(), &r.assignment.peers);
        // JSApiStreamInfoResponse: type, (error), StreamInfo, ApiPaged; the
        // create response adds did_create.
        let mut v = serde_json::Map::new();
        if !short.is_empty() {
            v.insert("type".into(), Value::String(response_type(short)));
        }
        v.insert("config".into(), r.assignment.config.to_json_meta(!short.is_empty()));
        v.insert("created".into(), api::rfc3339(r.assignment.created).into());
        v.insert("state".into(), Value::Object(state));
        // A single server sends cluster info only with STREAM.INFO.
        if clustered || short == "stream_info_response" {
            v.insert("cluster".into(), cluster);
        }
        v.insert("ts".into(), api::rfc3339(ctx.now).into());
        if short == "stream_info_response" {
            let paged = !subject_totals.is_empty();
            v.insert("total".into(), subject_totals.len().into());
            v.insert("offset".into(), (if paged { opts.offset } else { 0 }).into());
            v.insert("limit".into(), (if paged { MAX_SUBJECT_DETAILS } else { 0 }).into());
        }
        if did_create {
            v.insert("did_create".into(), true.into());
        }
        let v = Value::Object(v);
        api::go_escape(serde_json::to_vec(&v).unwrap_or_default())
    }
}

impl Server {
    /// Consumers of a stream (nats counts the meta layer's assignments).
    /// Streams own no consumers in this module; the consumer module provides
    /// the number once it exists.
    pub(crate) fn js_consumer_count(&self, stream: &Rc<str>) -> u64 {
        self.js.as_ref().and_then(|js| js.streams.get(stream)).map_or(0, |r| r.consumers.len() as u64)
    }
}

impl Server {
    /// `$JS.API.DIRECT.GET.<stream>` (JSON `{seq}` / `{last_by_subj}` /
    /// `{next_by_subj, seq}`) and `$JS.API.DIRECT.GET.<stream>.<subject>`
    /// (last message on the subject), answered by any replica with the raw
    /// message and `Nats-Stream`/`-Subject`/`-Sequence`/`-Time-Stamp`
    /// headers, or a status (nats `processDirectGetRequest`,
    /// `getDirectRequest`), batches with `Nats-Num-Pending`/`-Last-Sequence` and the 204 EOB.
    pub(super) fn js_direct_get(
        &mut self,
        ctx: &mut Ctx,
        stream: &Rc<str>,
        subject: &Rc<str>,
        reply: Option<&Rc<str>>,
        payload: &Bytes,
    ) {
        let Some(reply) = reply.cloned() else { return };
        // nats' replicas form the queue group `_sys_` (one answers); jetsim
        // lets the leader answer, or one member (lowest id it can reach)
        // while the group has no leader.
        {
            let Some(r) = self.js.as_ref().and_then(|js| js.streams.get(stream)) else { return };
            let me = ctx.me;
            let answers = r.is_leader()
                || (r.leader().is_none()
                    && r.assignment.peers.iter().copied().filter(|&p| p == me || self.routes.contains(&p)).min()
                        == Some(me));
            if !answers {
                return;
            }
        }
        let status = |code: &str| Bytes::from(format!("NATS/1.0 {code}\r\n\r\n"));
        let prefix = format!("$JS.API.DIRECT.GET.{stream}");
        let by_subject = subject.strip_prefix(prefix.as_str()).and_then(|r| r.strip_prefix('.')).map(str::to_string);
        let parsed: Result<Value, _> =
            if payload.is_empty() { Ok(Value::Object(Default::default())) } else { serde_json::from_slice(payload) };
        let req = match parsed {
            Ok(Value::Object(m)) => m,
            _ => {
                let h = status("408 Malformed Request");
                self.internal_publish(ctx, &reply, Some(&h), Bytes::new());
                return;
            }
        };
        let num = |k: &str| req.get(k).and_then(Value::as_u64).unwrap_or(0);
        let text = |k: &str| req.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let (seq, mut last_for, next_for) = (num("seq"), text("last_by_subj"), text("next_by_subj"));
        let batch = num("batch");
        let other =
            req.get("start_time").is_some_and(|v| !v.is_null()) || req.get("multi_last").is_some_and(|v| !v.is_null());
        if let Some(key) = by_subject {
            if !last_for.is_empty() || !next_for.is_empty() || seq != 0 || batch != 0 || other {
                let h = status("408 Bad Request");
                self.internal_publish(ctx, &reply, Some(&h), Bytes::new());
                return;
            }
            last_for = key;
        } else {
            if payload.is_empty() || (seq == 0 && last_for.is_empty() && next_for.is_empty() && !other) {
                let h = status("408 Empty Request");
                self.internal_publish(ctx, &reply, Some(&h), Bytes::new());
                return;
            }
            if (seq > 0 && !last_for.is_empty())
                || (!last_for.is_empty() && !next_for.is_empty())
                || (!last_for.is_empty() && batch > 0)
                || other
            {
                let h = status("408 Bad Request");
                self.internal_publish(ctx, &reply, Some(&h), Bytes::new());
                return;
            }
        }
        let no_hdr = req.get("no_hdr").and_then(Value::as_bool).unwrap_or(false);
        let max_bytes = req.get("max_bytes").and_then(Value::as_u64).filter(|b| *b > 0).unwrap_or(64 * 1024 * 1024);
        let Some(r) = self.js.as_ref().and_then(|js| js.streams.get(stream)) else { return };
        let is_batch = batch > 0;
        let filter = if next_for.is_empty() { ">".to_string() } else { next_for.clone() };
        // nats NumPending(seq, filter): matching messages from seq on.
        let mut np = if is_batch {
            r.store.range(seq).filter(|(_, m)| super::store::filter_matches(&filter, &m.subject)).count() as u64
        } else {
            0
        };
        let mut out: Vec<(Bytes, Bytes)> = Vec::new();
        let (mut cursor, mut lseq, mut sent) = (seq, 0u64, 0u64);
        for i in 0..batch.clamp(1, 10_000) {
            let found = if cursor > 0 && next_for.is_empty() {
                if i == 0 && !is_batch {
                    r.store.get(cursor).map(|m| (cursor, m))
                } else {
                    r.store.next_by_subject(">", cursor)
                }
            } else if !next_for.is_empty() {
                r.store.next_by_subject(&next_for, cursor)
            } else {
                r.store.last_by_subject(&last_for)
            };
            let Some((sseq, m)) = found else {
                if i > 0 {
                    break;
                }
                let h = status("404 Message Not Found");
                self.internal_publish(ctx, &reply, Some(&h), Bytes::new());
                return;
            };
            cursor = sseq + 1;
            let ts = api::rfc3339(m.ts);
            let mut extra = format!(
                "Nats-Stream: {stream}\r\nNats-Subject: {}\r\nNats-Sequence: {sseq}\r\nNats-Time-Stamp: {ts}\r\n",
                m.subject
            );
            if is_batch {
                np = np.saturating_sub(1);
                extra.push_str(&format!("Nats-Num-Pending: {np}\r\nNats-Last-Sequence: {lseq}\r\n"));
            }
            extra.push_str("\r\n");
            let hdr = super::headers::append(m.hdr.as_deref(), &extra);
            lseq = sseq;
            out.push((if no_hdr { Bytes::new() } else { Bytes::from(hdr) }, m.data.clone()));
            sent += (m.subject.len() + m.hdr.as_ref().map_or(0, |h| h.len()) + m.data.len()) as u64;
            if sent >= max_bytes {
                break;
            }
        }
        for (hdr, data) in out {
            let h = (!hdr.is_empty()).then_some(hdr);
            self.internal_publish(ctx, &reply, h.as_ref(), data);
        }
        if is_batch {
            let h = Bytes::from(format!(
                "NATS/1.0 204 EOB\r\nNats-Num-Pending: {np}\r\nNats-Last-Sequence: {lseq}\r\n\r\n"
            ));
            self.internal_publish(ctx, &reply, Some(&h), Bytes::new());
        }
    }
}

/// nats `JSMaxSubjectDetails`.
const MAX_SUBJECT_DETAILS: usize = 100_000;

/// STREAM.INFO request options.
#[derive(Clone, Debug, Default)]
pub(crate) struct InfoOpts {
    pub deleted_details: bool,
    pub subjects_filter: String,
    pub offset: usize,
}

fn parse_obj(payload: &[u8], known: &[&str], ty: &str) -> Result<Option<serde_json::Map<String, Value>>, ApiError> {
    let first = payload.iter().copied().find(|c| !c.is_ascii_whitespace());
    if !matches!(first, Some(b'{') | Some(b'[')) {
        return Ok(None);
    }
    let v: Value = serde_json::from_slice(payload).map_err(|e| api::json_err(&e))?;
    let Value::Object(m) = v else {
        return Err(ApiError::invalid_json(&format!("json: cannot unmarshal array into Go value of type server.{ty}")));
    };
    if let Some(k) = m.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(ApiError::invalid_json(&format!("json: unknown field \"{k}\"")));
    }
    Ok(Some(m))
}

/// `{deleted_details, subjects_filter, offset}` (nats `JSApiStreamInfoRequest`).
fn parse_info_request(payload: &[u8]) -> Result<InfoOpts, ApiError> {
    let mut o = InfoOpts::default();
    if let Some(m) = parse_obj(payload, &["deleted_details", "subjects_filter", "offset"], "JSApiStreamInfoRequest")? {
        o.deleted_details = m.get("deleted_details").and_then(Value::as_bool).unwrap_or(false);
        o.subjects_filter = m.get("subjects_filter").and_then(Value::as_str).unwrap_or("").to_string();
        o.offset = m.get("offset").and_then(Value::as_i64).unwrap_or(0).max(0) as usize;
    }
    Ok(o)
}

/// `Placement` of a leader stepdown request (nats `JSApiLeaderStepdownRequest`).
#[derive(Debug, Default, PartialEq)]
pub(super) struct StepdownPlacement {
    cluster: String,
    tags: Vec<String>,
    preferred: String,
}

/// Longest accepted placement string and tag count in a stepdown request.
const STEPDOWN_MAX_STR: usize = 256;
const STEPDOWN_MAX_TAGS: usize = 64;

/// Body of a stream leader stepdown: empty or not JSON → no placement;
/// `{"placement": {cluster?, tags?, preferred?}}` otherwise (unknown fields
/// and wrong types are errors, as nats' strict unmarshal).
pub(super) fn parse_stepdown_request(payload: &[u8]) -> Result<Option<StepdownPlacement>, ApiError> {
    let Some(m) = parse_obj(payload, &["placement"], "JSApiLeaderStepdownRequest")? else { return Ok(None) };
    let field = |f: &str, want: &str, v: &Value| {
        let kind = match v {
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
            Value::Null => "null",
        };
        ApiError::invalid_json(&format!(
            "json: cannot unmarshal {kind} into Go struct field JSApiLeaderStepdownRequest.{f} of type {want}"
        ))
    };
    let p = match m.get("placement") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(p)) => p,
        Some(v) => return Err(field("placement", "server.Placement", v)),
    };
    if let Some(k) = p.keys().find(|k| !["cluster", "tags", "preferred"].contains(&k.as_str())) {
        return Err(ApiError::invalid_json(&format!("json: unknown field \"{k}\"")));
    }
    let mut out = StepdownPlacement::default();
    for (k, slot) in [("cluster", &mut out.cluster), ("preferred", &mut out.preferred)] {
        match p.get(k) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s.len() <= STEPDOWN_MAX_STR => *slot = s.clone(),
            Some(Value::String(_)) => {
                return Err(ApiError::invalid_json(&format!("placement.{k} longer than {STEPDOWN_MAX_STR} bytes")))
            }
            Some(v) => return Err(field(&format!("placement.{k}"), "string", v)),
        }
    }
    match p.get("tags") {
        None | Some(Value::Null) => {}
        Some(Value::Array(a)) => {
            if a.len() > STEPDOWN_MAX_TAGS {
                return Err(ApiError::invalid_json(&format!("placement.tags has more than {STEPDOWN_MAX_TAGS} tags")));
            }
            for t in a {
                match t {
                    Value::String(s) if s.len() <= STEPDOWN_MAX_STR => out.tags.push(s.clone()),
                    Value::String(_) => {
                        return Err(ApiError::invalid_json(&format!(
                            "placement.tags: a tag longer than {STEPDOWN_MAX_STR} bytes"
                        )))
                    }
                    v => return Err(field("placement.tags", "string", v)),
                }
            }
        }
        Some(v) => return Err(field("placement.tags", "[]string", v)),
    }
    Ok(Some(out))
}

/// nats `getStepDownPreferredPlacement`: `preferred` names a member server
/// (not this one); otherwise a random connected member other than this one,
/// in `cluster` and carrying every tag, if any.
pub(super) fn stepdown_target(
    known: &[super::PeerInfo],
    members: &[Endpoint],
    me: Endpoint,
    routes: &crate::vecmap::VecSet<Endpoint>,
    p: &StepdownPlacement,
    rng: &mut crate::rng::Rng,
) -> Result<Endpoint, ApiError> {
    let info = |ep: Endpoint| known.iter().find(|k| k.ep == ep);
    let no_peers = |msg: String| ApiError::new(400, 10005, msg);
    if !p.preferred.is_empty() {
        let found = members.iter().copied().find(|&ep| info(ep).is_some_and(|k| k.name == p.preferred));
        return match found {
            Some(ep) if ep == me => {
                Err(no_peers(format!("preferred server {} is already leader", api::go_quote(&p.preferred))))
            }
            Some(ep) => Ok(ep),
            None => Err(no_peers(format!("preferred server {} not known", api::go_quote(&p.preferred)))),
        };
    }
    let possible: Vec<Endpoint> = members
        .iter()
        .copied()
        .filter(|&ep| ep != me && routes.contains(&ep))
        .filter(|&ep| {
            info(ep).is_some_and(|k| {
                (p.cluster.is_empty() || k.cluster == p.cluster) && p.tags.iter().all(|t| k.tags.iter().any(|x| x == t))
            })
        })
        .collect();
    if possible.is_empty() {
        return Err(no_peers("no replacement peer connected".to_string()));
    }
    // nats takes the first of a Go map's random iteration order.
    Ok(possible[rng.index(possible.len())])
}

/// `{offset, subject}` of STREAM.NAMES / STREAM.LIST.
fn parse_paged(payload: &[u8], known: &[&str]) -> Result<(usize, String), ApiError> {
    match parse_obj(payload, known, "JSApiStreamNamesRequest")? {
        None => Ok((0, String::new())),
        Some(m) => Ok((
            m.get("offset").and_then(Value::as_i64).unwrap_or(0).max(0) as usize,
            m.get("subject").and_then(Value::as_str).unwrap_or("").to_string(),
        )),
    }
}

/// `$JS.API.STREAM.MSG.DELETE` body: `{seq, no_erase?}` (seq required).
fn parse_msg_delete(payload: &[u8]) -> Result<u64, ApiError> {
    if payload.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request());
    }
    let v: Value = serde_json::from_slice(payload).map_err(|e| ApiError::invalid_json(&e.to_string()))?;
    let Value::Object(m) = v else {
        return Err(ApiError::invalid_json(
            "json: cannot unmarshal non-object into Go value of type server.JSApiMsgDeleteRequest",
        ));
    };
    if let Some(k) = m.keys().find(|k| !["seq", "no_erase"].contains(&k.as_str())) {
        return Err(ApiError::invalid_json(&format!("json: unknown field \"{k}\"")));
    }
    let seq = match m.get("seq") {
        None | Some(Value::Null) => 0,
        Some(v) => v.as_u64().ok_or_else(|| {
            ApiError::invalid_json(&format!(
                "json: cannot unmarshal {v} into Go struct field JSApiMsgDeleteRequest.seq of type uint64"
            ))
        })?,
    };
    if seq == 0 {
        return Err(ApiError::bad_request());
    }
    Ok(seq)
}

impl Server {
    /// `$JS.API.STREAM.PURGE` body: empty, or `{filter, seq, keep}` (seq and
    /// keep exclusive: 10003). Sealed → 10109, deny_purge → 10110.
    fn js_purge_request(&self, stream: &Rc<str>, payload: &[u8]) -> Result<super::PurgeReq, ApiError> {
        let mut req = super::PurgeReq::default();
        let trimmed: Vec<u8> = payload.iter().copied().filter(|c| !c.is_ascii_whitespace()).collect();
        if trimmed.first().is_some_and(|c| *c == b'{' || *c == b'[') {
            let v: Value = serde_json::from_slice(payload).map_err(|e| ApiError::invalid_json(&e.to_string()))?;
            let Value::Object(m) = v else {
                return Err(ApiError::invalid_json(
                    "json: cannot unmarshal array into Go value of type server.JSApiStreamPurgeRequest",
                ));
            };
            if let Some(k) = m.keys().find(|k| !["filter", "seq", "keep"].contains(&k.as_str())) {
                return Err(ApiError::invalid_json(&format!("json: unknown field \"{k}\"")));
            }
            let num = |k: &str| -> Result<u64, ApiError> {
                match m.get(k) {
                    None | Some(Value::Null) => Ok(0),
                    Some(v) => v.as_u64().ok_or_else(|| {
                        ApiError::invalid_json(&format!("json: cannot unmarshal {v} into Go struct field JSApiStreamPurgeRequest.{k} of type uint64"))
                    }),
                }
            };
            req.seq = num("seq")?;
            req.keep = num("keep")?;
            match m.get("filter") {
                None | Some(Value::Null) => {}
                Some(Value::String(f)) => req.filter = Rc::from(f.as_str()),
                Some(v) => {
                    return Err(ApiError::invalid_json(&format!(
                        "json: cannot unmarshal {v} into Go struct field JSApiStreamPurgeRequest.filter of type string"
                    )))
                }
            }
            if req.seq > 0 && req.keep > 0 {
                return Err(ApiError::bad_request());
            }
        }
        let cfg = self.js.as_ref().and_then(|js| js.streams.get(stream)).map(|r| &r.assignment.config);
        if cfg.is_some_and(|c| c.sealed) {
            return Err(ApiError::new(400, 10109, "invalid operation on sealed stream"));
        }
        if cfg.is_some_and(|c| c.deny_purge) {
            return Err(ApiError::new(500, 10110, "stream purge not permitted"));
        }
        Ok(req)
    }

    /// `$JS.API.STREAM.MSG.GET`: `{seq}`, `{last_by_subj}` or
    /// `{next_by_subj, seq}` (nats `jsMsgGetRequest`).
    fn js_msg_get(&self, stream: &Rc<str>, payload: &[u8], short: &str) -> Result<Vec<u8>, ApiError> {
        if payload.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::bad_request());
        }
        let v: Value = serde_json::from_slice(payload).map_err(|e| ApiError::invalid_json(&e.to_string()))?;
        let Value::Object(m) = v else {
            return Err(ApiError::invalid_json(
                "json: cannot unmarshal non-object into Go value of type server.JSApiMsgGetRequest",
            ));
        };
        const KNOWN: &[&str] = &[
            "seq",
            "last_by_subj",
            "next_by_subj",
            "batch",
            "max_bytes",
            "start_time",
            "multi_last",
            "up_to_seq",
            "up_to_time",
            "no_hdr",
        ];
        if let Some(k) = m.keys().find(|k| !KNOWN.contains(&k.as_str())) {
            return Err(ApiError::invalid_json(&format!("json: unknown field \"{k}\"")));
        }
        let seq = match m.get("seq") {
            None | Some(Value::Null) => 0,
            Some(v) => v.as_u64().ok_or_else(|| {
                ApiError::invalid_json(&format!(
                    "json: cannot unmarshal {v} into Go struct field JSApiMsgGetRequest.seq of type uint64"
                ))
            })?,
        };
        let text = |k: &str| -> Result<String, ApiError> {
            match m.get(k) {
                None | Some(Value::Null) => Ok(String::new()),
                Some(Value::String(s)) => Ok(s.clone()),
                Some(v) => Err(ApiError::invalid_json(&format!(
                    "json: cannot unmarshal {v} into Go struct field JSApiMsgGetRequest.{k} of type string"
                ))),
            }
        };
        let (last_for, next_for) = (text("last_by_subj")?, text("next_by_subj")?);
        let positive = |k: &str| m.get(k).and_then(Value::as_i64).is_some_and(|n| n > 0);
        if positive("batch") || positive("max_bytes") {
            return Err(ApiError::bad_request());
        }
        if m.get("start_time").is_some_and(|v| !v.is_null()) || m.get("multi_last").is_some_and(|v| !v.is_null()) {
            return Err(ApiError::new(
                400,
                10003,
                "bad request (start_time and multi_last are not modelled by jetsim)",
            ));
        }
        if (seq > 0 && !last_for.is_empty())
            || (seq == 0 && last_for.is_empty() && next_for.is_empty())
            || (!last_for.is_empty() && !next_for.is_empty())
        {
            return Err(ApiError::bad_request());
        }
        let no_hdr = m.get("no_hdr").and_then(Value::as_bool).unwrap_or(false);
        let r = self.js.as_ref().and_then(|js| js.streams.get(stream)).ok_or_else(ApiError::stream_not_found)?;
        let found = if seq > 0 && next_for.is_empty() {
            r.store.get(seq).map(|m| (seq, m))
        } else if !next_for.is_empty() {
            r.store.next_by_subject(&next_for, seq)
        } else {
            r.store.last_by_subject(&last_for)
        };
        let (seq, msg) = found.ok_or_else(|| ApiError::new(404, 10037, "no message found"))?;
        // StoredMsg: subject, seq, hdrs?, data?, time.
        let mut out = serde_json::Map::new();
        out.insert("subject".into(), Value::String(msg.subject.to_string()));
        out.insert("seq".into(), seq.into());
        if let Some(h) = msg.hdr.as_ref().filter(|h| !h.is_empty() && !no_hdr) {
            out.insert("hdrs".into(), Value::String(base64_lite::encode(h)));
        }
        if !msg.data.is_empty() {
            out.insert("data".into(), Value::String(base64_lite::encode(&msg.data)));
        }
        out.insert("time".into(), Value::String(api::rfc3339(msg.ts)));
        let v = json!({"type": response_type(short), "message": Value::Object(out)});
        Ok(serde_json::to_vec(&v).unwrap_or_default())
    }
}

/// nats' peer id: a short hash of the server name (8 characters).
fn peer_hash(name: &str) -> String {
    let mut h = crate::hash::Fnv64::default();
    h.write_str(name);
    const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut x = h.finish();
    (0..8)
        .map(|_| {
            let c = ALPHA[(x % ALPHA.len() as u64) as usize] as char;
            x /= ALPHA.len() as u64;
            c
        })
        .collect()
}

/// Standard base64 (for STREAM.MSG.GET `data`/`hdrs`).
mod base64_lite {
    pub fn encode(b: &[u8]) -> String {
        const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::with_capacity(b.len().div_ceil(3) * 4);
        for c in b.chunks(3) {
            let n = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            out.push(T[(n >> 18) as usize & 63] as char);
            out.push(T[(n >> 12) as usize & 63] as char);
            out.push(if c.len() > 1 { T[(n >> 6) as usize & 63] as char } else { '=' });
            out.push(if c.len() > 2 { T[n as usize & 63] as char } else { '=' });
        }
        out
    }
}
