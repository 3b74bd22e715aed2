//! JetStream consumers: `ConsumerConfig` (parsing, nats-server 2.12's
//! defaults and validation, its JSON in the Go struct's field order), the
//! consumer assignment that goes through the meta group, and a consumer's
//! delivery state (delivered / ack floor / pending / redelivery counts, the
//! pull wait queue) with the pure rules that move it. The server side (API
//! handlers, delivery, acks, timers) is in [`super::consumer_api`].
//!
//! Request bodies are untrusted: every malformed input becomes the nats API
//! error (10025 invalid JSON, 10094 policy, ...), never a panic.

use crate::vecmap::VecMap as BTreeMap; // sorted-Vec map: small maps, smaller wasm (see vecmap.rs)
use std::collections::VecDeque;
use std::rc::Rc;

use serde::Serialize;
use serde_json::{Map, Value};

use super::api::{json_kind as kind, ApiError, StreamConfig};
use crate::time::{Time, MS, SEC};

/// nats `JsAckWaitDefault`.
pub const ACK_WAIT_DEFAULT: i64 = 30 * SEC as i64;
/// nats `JsDefaultMaxAckPending`.
pub const MAX_ACK_PENDING_DEFAULT: i64 = 1000;
/// nats `JSWaitQueueDefaultMax`.
pub const MAX_WAITING_DEFAULT: i64 = 512;
/// nats `JsDeleteWaitTimeDefault` (ephemerals' inactive threshold).
pub const INACTIVE_DEFAULT: i64 = 5 * SEC as i64;
/// nats `JSMaxDescriptionLen`.
pub const MAX_DESCRIPTION_LEN: usize = 4096;
/// Hard limit: consumers per stream (beyond it, 10026 as if `max_consumers`).
pub const MAX_CONSUMERS_PER_STREAM: usize = 1024;
/// Hard limit: waiting pull requests per consumer, whatever `max_waiting` says.
pub const MAX_WAITING_CAP: i64 = 10_000;
/// Hard limit: backoff entries.
pub const MAX_BACKOFF: usize = 64;
/// Hard limit: filter subjects.
pub const MAX_FILTERS: usize = 256;
/// nats' push flow-control window: `JsFlowControlMaxPending` (32 MiB) / 16
/// to start, doubling on each reply up to 32 MiB.
pub const FC_WINDOW_START: u64 = 2 * 1024 * 1024;
pub const FC_WINDOW_MAX: u64 = 32 * 1024 * 1024;
/// nats' API level (`JSApiLevel`) reported in dynamic metadata.
pub const API_LEVEL: &str = "3";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliverPolicy {
    All,
    Last,
    New,
    ByStartSequence,
    ByStartTime,
    LastPerSubject,
}

impl DeliverPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliverPolicy::All => "all",
            DeliverPolicy::Last => "last",
            DeliverPolicy::New => "new",
            DeliverPolicy::ByStartSequence => "by_start_sequence",
            DeliverPolicy::ByStartTime => "by_start_time",
            DeliverPolicy::LastPerSubject => "last_per_subject",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AckPolicy {
    None,
    All,
    Explicit,
}

impl AckPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            AckPolicy::None => "none",
            AckPolicy::All => "all",
            AckPolicy::Explicit => "explicit",
        }
    }
}

/// A consumer's configuration after defaults (nats `ConsumerConfig`).
/// Durations are nanoseconds, as on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerConfig {
    pub durable: String,
    pub name: String,
    pub description: String,
    pub deliver_policy: DeliverPolicy,
    pub opt_start_seq: u64,
    pub opt_start_time: Option<Time>,
    pub ack_policy: AckPolicy,
    pub ack_wait: i64,
    pub max_deliver: i64,
    pub backoff: Vec<i64>,
    pub filter_subject: String,
    pub filter_subjects: Vec<String>,
    pub max_waiting: i64,
    pub max_ack_pending: i64,
    pub flow_control: bool,
    pub headers_only: bool,
    pub max_batch: i64,
    pub max_expires: i64,
    pub max_bytes: i64,
    pub deliver_subject: String,
    pub deliver_group: String,
    pub idle_heartbeat: i64,
    pub inactive_threshold: i64,
    pub num_replicas: i64,
    pub mem_storage: bool,
    /// User metadata plus the static `_nats.req.level`.
    pub metadata: BTreeMap<String, String>,
}

/// `action` of a CreateConsumerRequest (2.10+).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    CreateOrUpdate,
    Create,
    Update,
}

/// ConsumerConfig as nats-server 2.12 writes it (field order of the Go struct).
#[derive(Serialize)]
struct ConfigJson<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    durable_name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    description: &'a str,
    deliver_policy: &'a str,
    #[serde(skip_serializing_if = "is_zero_u64")]
    opt_start_seq: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    opt_start_time: Option<String>,
    ack_policy: &'a str,
    #[serde(skip_serializing_if = "is_zero")]
    ack_wait: i64,
    #[serde(skip_serializing_if = "is_zero")]
    max_deliver: i64,
    #[serde(skip_serializing_if = "<[i64]>::is_empty")]
    backoff: &'a [i64],
    #[serde(skip_serializing_if = "str::is_empty")]
    filter_subject: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    filter_subjects: &'a [String],
    replay_policy: &'a str,
    #[serde(skip_serializing_if = "is_zero")]
    max_waiting: i64,
    #[serde(skip_serializing_if = "is_zero")]
    max_ack_pending: i64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    flow_control: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    headers_only: bool,
    #[serde(skip_serializing_if = "is_zero")]
    max_batch: i64,
    #[serde(skip_serializing_if = "is_zero")]
    max_expires: i64,
    #[serde(skip_serializing_if = "is_zero")]
    max_bytes: i64,
    #[serde(skip_serializing_if = "str::is_empty")]
    deliver_subject: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    deliver_group: &'a str,
    #[serde(skip_serializing_if = "is_zero")]
    idle_heartbeat: i64,
    #[serde(skip_serializing_if = "is_zero")]
    inactive_threshold: i64,
    num_replicas: i64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    mem_storage: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    metadata: BTreeMap<String, String>,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}
fn is_zero_u64(v: &u64) -> bool {
    *v == 0
}

impl ConsumerConfig {
    pub fn is_durable(&self) -> bool {
        !self.durable.is_empty()
    }
    pub fn is_push(&self) -> bool {
        !self.deliver_subject.is_empty()
    }
    /// The filters (`filter_subject` or `filter_subjects`), nats `gatherSubjectFilters`.
    pub fn filters(&self) -> Vec<&str> {
        if !self.filter_subject.is_empty() {
            vec![self.filter_subject.as_str()]
        } else {
            self.filter_subjects.iter().map(String::as_str).collect()
        }
    }
    /// Whether a stream subject passes the filters.
    pub fn matches(&self, subject: &str) -> bool {
        if !self.filter_subject.is_empty() {
            return crate::subject::matches(&self.filter_subject, subject);
        }
        self.filter_subjects.is_empty() || self.filter_subjects.iter().any(|f| crate::subject::matches(f, subject))
    }

    /// The config as a response shows it: with the dynamic metadata
    /// (`_nats.level`, `_nats.ver`) added.
    pub fn to_json(&self) -> Value {
        self.to_json_meta(true)
    }

    /// The config, with the dynamic metadata or without it (CONSUMER.LIST
    /// shows the stored config only).
    pub fn to_json_meta(&self, dynamic: bool) -> Value {
        let mut metadata = self.metadata.clone();
        if dynamic {
            metadata.insert("_nats.level".into(), API_LEVEL.into());
            metadata.insert("_nats.ver".into(), crate::NATS_VERSION.into());
        }
        let j = ConfigJson {
            durable_name: &self.durable,
            name: &self.name,
            description: &self.description,
            deliver_policy: self.deliver_policy.as_str(),
            opt_start_seq: self.opt_start_seq,
            opt_start_time: self.opt_start_time.map(super::api::rfc3339),
            ack_policy: self.ack_policy.as_str(),
            ack_wait: self.ack_wait,
            max_deliver: self.max_deliver,
            backoff: &self.backoff,
            filter_subject: &self.filter_subject,
            filter_subjects: &self.filter_subjects,
            replay_policy: "instant",
            max_waiting: self.max_waiting,
            max_ack_pending: self.max_ack_pending,
            flow_control: self.flow_control,
            headers_only: self.headers_only,
            max_batch: self.max_batch,
            max_expires: self.max_expires,
            max_bytes: self.max_bytes,
            deliver_subject: &self.deliver_subject,
            deliver_group: &self.deliver_group,
            idle_heartbeat: self.idle_heartbeat,
            inactive_threshold: self.inactive_threshold,
            num_replicas: self.num_replicas,
            mem_storage: self.mem_storage,
            metadata,
        };
        serde_json::to_value(&j).unwrap_or(Value::Null)
    }
}

/// Fields of nats-server 2.12's ConsumerConfig (strict JSON refuses others).
const KNOWN_FIELDS: &[&str] = &[
    "durable_name",
    "name",
    "description",
    "deliver_policy",
    "opt_start_seq",
    "opt_start_time",
    "ack_policy",
    "ack_wait",
    "max_deliver",
    "backoff",
    "filter_subject",
    "filter_subjects",
    "replay_policy",
    "rate_limit_bps",
    "sample_freq",
    "max_waiting",
    "max_ack_pending",
    "flow_control",
    "headers_only",
    "max_batch",
    "max_expires",
    "max_bytes",
    "deliver_subject",
    "deliver_group",
    "idle_heartbeat",
    "inactive_threshold",
    "num_replicas",
    "mem_storage",
    "direct",
    "metadata",
    "pause_until",
    "priority_groups",
    "priority_policy",
    "priority_timeout",
];

fn type_err(field: &str, want: &str, got: &Value) -> ApiError {
    ApiError::invalid_json(&format!(
        "json: cannot unmarshal {} into Go struct field ConsumerConfig.config.{field} of type {want}",
        kind(got)
    ))
}

fn enum_err(got: &Value) -> ApiError {
    let raw = serde_json::to_string(got).unwrap_or_default();
    ApiError::invalid_json(&format!("can not unmarshal {}", serde_json::to_string(&raw).unwrap_or_default()))
}

fn int(m: &Map<String, Value>, k: &str, want: &str) -> Result<i64, ApiError> {
    match m.get(k) {
        None | Some(Value::Null) => Ok(0),
        Some(v) => v.as_i64().ok_or_else(|| type_err(k, want, v)),
    }
}

fn uint(m: &Map<String, Value>, k: &str) -> Result<u64, ApiError> {
    match m.get(k) {
        None | Some(Value::Null) => Ok(0),
        Some(v) => v.as_u64().ok_or_else(|| type_err(k, "uint64", v)),
    }
}

fn boolean(m: &Map<String, Value>, k: &str) -> Result<bool, ApiError> {
    match m.get(k) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(v) => Err(type_err(k, "bool", v)),
    }
}

fn string(m: &Map<String, Value>, k: &str) -> Result<String, ApiError> {
    match m.get(k) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(v) => Err(type_err(k, "string", v)),
    }
}

/// Parse an RFC 3339 UTC time (`2025-01-01T00:00:01.5Z`) into virtual time
/// (times before the virtual epoch become 0).
pub fn parse_rfc3339(s: &str) -> Option<Time> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || (b[10] != b'T' && b[10] != b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> { s.get(r)?.parse::<i64>().ok() };
    let (y, mo, d, h, mi, se) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut rest = s.get(19..)?;
    let mut nanos: i64 = 0;
    if let Some(r) = rest.strip_prefix('.') {
        let digits: String = r.chars().take_while(|c| c.is_ascii_digit()).collect();
        if digits.is_empty() || digits.len() > 9 {
            return None;
        }
        nanos = format!("{digits:0<9}").parse().ok()?;
        rest = &r[digits.len()..];
    }
    if rest != "Z" && rest != "z" {
        return None;
    }
    // days_from_civil (Howard Hinnant).
    let yy = if mo <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468 - 20_089;
    let secs = days.checked_mul(86_400)?.checked_add(h * 3600 + mi * 60 + se)?;
    if secs < 0 {
        return Some(0);
    }
    (secs as u64).checked_mul(SEC)?.checked_add(nanos as u64)
}

/// A parsed CreateConsumerRequest.
#[derive(Clone, Debug)]
pub struct CreateRequest {
    pub stream_name: String,
    pub config: ConsumerConfig,
    pub action: Action,
}

/// Parse a CreateConsumerRequest body. Only JSON shape and types are checked
/// here; defaults and rules come after ([`set_defaults`], [`check_config`]).
pub fn parse_create_request(body: &[u8]) -> Result<CreateRequest, ApiError> {
    if body.len() > super::api::MAX_API_BODY {
        return Err(ApiError::bad_request());
    }
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        // Go unmarshals nothing into the zero request: the stream name is then
        // empty and does not match the subject.
        return Ok(CreateRequest {
            stream_name: String::new(),
            config: empty_config(),
            action: Action::CreateOrUpdate,
        });
    }
    let v: Value = serde_json::from_slice(body).map_err(|e| ApiError::invalid_json(&e.to_string()))?;
    let Value::Object(m) = v else {
        return Err(ApiError::invalid_json(&format!(
            "json: cannot unmarshal {} into Go value of type server.CreateConsumerRequest",
            kind(&v)
        )));
    };
    if let Some(k) = m.keys().find(|k| !["stream_name", "config", "action", "pedantic"].contains(&k.as_str())) {
        return Err(ApiError::invalid_json(&format!("json: unknown field \"{k}\"")));
    }
    let stream_name = match m.get("stream_name") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => {
            return Err(ApiError::invalid_json(&format!(
                "json: cannot unmarshal {} into Go struct field CreateConsumerRequest.stream_name of type string",
                kind(v)
            )))
        }
    };
    if m.get("pedantic").is_some_and(|p| p.as_bool() == Some(true)) {
        return Err(ApiError::invalid_config("pedantic mode is not modelled by jetsim yet"));
    }
    let action = match m.get("action") {
        None | Some(Value::Null) => Action::CreateOrUpdate,
        Some(Value::String(s)) if s.is_empty() => Action::CreateOrUpdate,
        Some(Value::String(s)) if s == "create" => Action::Create,
        Some(Value::String(s)) if s == "update" => Action::Update,
        Some(v) => {
            return Err(ApiError::invalid_json(&format!(
                "unknown consumer action: {}",
                serde_json::to_string(v).unwrap_or_default()
            )))
        }
    };
    let config = match m.get("config") {
        None | Some(Value::Null) => empty_config(),
        Some(Value::Object(c)) => parse_config(c)?,
        Some(v) => {
            return Err(ApiError::invalid_json(&format!(
            "json: cannot unmarshal {} into Go struct field CreateConsumerRequest.config of type server.ConsumerConfig",
            kind(v)
        )))
        }
    };
    Ok(CreateRequest { stream_name, config, action })
}

fn empty_config() -> ConsumerConfig {
    ConsumerConfig {
        durable: String::new(),
        name: String::new(),
        description: String::new(),
        deliver_policy: DeliverPolicy::All,
        opt_start_seq: 0,
        opt_start_time: None,
        ack_policy: AckPolicy::None,
        ack_wait: 0,
        max_deliver: 0,
        backoff: Vec::new(),
        filter_subject: String::new(),
        filter_subjects: Vec::new(),
        max_waiting: 0,
        max_ack_pending: 0,
        flow_control: false,
        headers_only: false,
        max_batch: 0,
        max_expires: 0,
        max_bytes: 0,
        deliver_subject: String::new(),
        deliver_group: String::new(),
        idle_heartbeat: 0,
        inactive_threshold: 0,
        num_replicas: 0,
        mem_storage: false,
        metadata: BTreeMap::new(),
    }
}

fn parse_config(m: &Map<String, Value>) -> Result<ConsumerConfig, ApiError> {
    if let Some(k) = m.keys().find(|k| !KNOWN_FIELDS.contains(&k.as_str())) {
        return Err(ApiError::invalid_json(&format!("json: unknown field \"{k}\"")));
    }
    let mut c = empty_config();
    c.durable = string(m, "durable_name")?;
    c.name = string(m, "name")?;
    c.description = string(m, "description")?;
    c.deliver_policy = match m.get("deliver_policy") {
        None | Some(Value::Null) => DeliverPolicy::All,
        Some(Value::String(s)) => match s.as_str() {
            "all" | "undefined" => DeliverPolicy::All,
            "last" => DeliverPolicy::Last,
            "new" => DeliverPolicy::New,
            "by_start_sequence" => DeliverPolicy::ByStartSequence,
            "by_start_time" => DeliverPolicy::ByStartTime,
            "last_per_subject" => DeliverPolicy::LastPerSubject,
            _ => return Err(enum_err(&Value::String(s.clone()))),
        },
        Some(v) => return Err(enum_err(v)),
    };
    c.opt_start_seq = uint(m, "opt_start_seq")?;
    c.opt_start_time = match m.get("opt_start_time") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(parse_rfc3339(s).ok_or_else(|| {
            ApiError::invalid_json(&format!("parsing time {:?} as \"2006-01-02T15:04:05Z07:00\": cannot parse", s))
        })?),
        Some(v) => return Err(type_err("opt_start_time", "time.Time", v)),
    };
    c.ack_policy = match m.get("ack_policy") {
        None | Some(Value::Null) => AckPolicy::None,
        Some(Value::String(s)) => match s.as_str() {
            "none" => AckPolicy::None,
            "all" => AckPolicy::All,
            "explicit" => AckPolicy::Explicit,
            _ => return Err(enum_err(&Value::String(s.clone()))),
        },
        Some(v) => return Err(enum_err(v)),
    };
    c.ack_wait = int(m, "ack_wait", "time.Duration")?;
    c.max_deliver = int(m, "max_deliver", "int")?;
    c.backoff = match m.get("backoff") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => {
            if a.len() > MAX_BACKOFF {
                return Err(ApiError::invalid_config(&format!("jetsim accepts at most {MAX_BACKOFF} backoff values")));
            }
            a.iter()
                .map(|v| v.as_i64().ok_or_else(|| type_err("backoff", "time.Duration", v)))
                .collect::<Result<_, _>>()?
        }
        Some(v) => return Err(type_err("backoff", "[]time.Duration", v)),
    };
    c.filter_subject = string(m, "filter_subject")?;
    c.filter_subjects = match m.get("filter_subjects") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => {
            if a.len() > MAX_FILTERS {
                return Err(ApiError::invalid_config(&format!("jetsim accepts at most {MAX_FILTERS} filter subjects")));
            }
            a.iter()
                .map(|v| v.as_str().map(String::from).ok_or_else(|| type_err("filter_subjects", "string", v)))
                .collect::<Result<_, _>>()?
        }
        Some(v) => return Err(type_err("filter_subjects", "[]string", v)),
    };
    match m.get("replay_policy") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s == "instant" => {}
        Some(Value::String(s)) if s == "original" => {
            return Err(ApiError::invalid_config("replay_policy original is not modelled by jetsim yet (instant only)"))
        }
        Some(v) => return Err(enum_err(v)),
    }
    if uint(m, "rate_limit_bps")? > 0 && string(m, "deliver_subject")?.is_empty() {
        return Err(ApiError::new(400, 10086, "consumer in pull mode can not have rate limit set"));
    }
    if uint(m, "rate_limit_bps")? > 0 {
        return Err(ApiError::invalid_config("rate_limit_bps is not modelled by jetsim yet"));
    }
    if !string(m, "sample_freq")?.is_empty() {
        return Err(ApiError::invalid_config("sample_freq (ack sampling advisories) is not modelled by jetsim yet"));
    }
    c.max_waiting = int(m, "max_waiting", "int")?;
    c.max_ack_pending = int(m, "max_ack_pending", "int")?;
    c.flow_control = boolean(m, "flow_control")?;
    c.headers_only = boolean(m, "headers_only")?;
    c.max_batch = int(m, "max_batch", "int")?;
    c.max_expires = int(m, "max_expires", "time.Duration")?;
    c.max_bytes = int(m, "max_bytes", "int")?;
    c.deliver_subject = string(m, "deliver_subject")?;
    c.deliver_group = string(m, "deliver_group")?;
    c.idle_heartbeat = int(m, "idle_heartbeat", "time.Duration")?;
    c.inactive_threshold = int(m, "inactive_threshold", "time.Duration")?;
    c.num_replicas = int(m, "num_replicas", "int")?;
    c.mem_storage = boolean(m, "mem_storage")?;
    if boolean(m, "direct")? {
        return Err(ApiError::invalid_config("direct consumers (mirrors and sources) are not modelled by jetsim yet"));
    }
    if m.get("pause_until").is_some_and(|v| !v.is_null()) {
        return Err(ApiError::invalid_config("pause_until is not modelled by jetsim yet"));
    }
    if m.get("priority_groups").is_some_and(|v| v.as_array().is_some_and(|a| !a.is_empty()))
        || m.get("priority_policy")
            .is_some_and(|v| !v.is_null() && v.as_str() != Some("none") && v.as_str() != Some(""))
    {
        return Err(ApiError::invalid_config("priority groups are not modelled by jetsim yet"));
    }
    match m.get("metadata") {
        None | Some(Value::Null) => {}
        Some(Value::Object(md)) => {
            let mut len = 0usize;
            for (k, v) in md {
                let v = v.as_str().ok_or_else(|| type_err("metadata", "string", v))?;
                len += k.len() + v.len();
                if !k.starts_with("_nats.") {
                    c.metadata.insert(k.clone(), v.to_string());
                }
            }
            if len > 128 * 1024 {
                return Err(ApiError::new(400, 10135, "consumer metadata exceeds maximum size of 128KB"));
            }
        }
        Some(v) => return Err(type_err("metadata", "map[string]string", v)),
    }
    Ok(c)
}

/// nats `setConsumerConfigDefaults` (non-pedantic, no server/account limits),
/// plus the clustered create path's defaults and the ephemeral inactive
/// threshold.
pub fn set_defaults(c: &mut ConsumerConfig) {
    if c.max_deliver == 0 || c.max_deliver < -1 {
        c.max_deliver = -1;
    }
    if c.max_waiting < 0 {
        c.max_waiting = 0;
    }
    if c.max_ack_pending < -1 {
        c.max_ack_pending = -1;
    }
    if c.max_batch < 0 {
        c.max_batch = 0;
    }
    if c.max_expires < 0 {
        c.max_expires = 0;
    }
    if c.max_bytes < 0 {
        c.max_bytes = 0;
    }
    if c.idle_heartbeat < 0 {
        c.idle_heartbeat = 0;
    }
    if c.inactive_threshold < 0 {
        c.inactive_threshold = 0;
    }
    if c.deliver_subject.is_empty() && c.max_waiting == 0 {
        c.max_waiting = MAX_WAITING_DEFAULT;
    }
    if c.ack_wait == 0 && c.ack_policy != AckPolicy::None {
        c.ack_wait = ACK_WAIT_DEFAULT;
    }
    if let Some(&first) = c.backoff.first() {
        c.ack_wait = first;
    }
    if c.ack_policy != AckPolicy::None && c.max_ack_pending == 0 {
        c.max_ack_pending = MAX_ACK_PENDING_DEFAULT;
    }
    if !c.is_durable() && c.inactive_threshold == 0 {
        c.inactive_threshold = INACTIVE_DEFAULT;
    }
    c.metadata.insert("_nats.req.level".into(), "0".into());
}

/// nats `checkConsumerCfg` (the rules jetsim models), in nats' order.
pub fn check_config(c: &ConsumerConfig, stream: &StreamConfig) -> Result<(), ApiError> {
    use crate::subject::{is_literal, is_subset_match, is_valid_asset_name, is_valid_subject};
    if !c.name.is_empty() && !is_valid_asset_name(&c.name) {
        return Err(ApiError::invalid_config("consumer name can not contain '.', '*', '>', '\\', '/'"));
    }
    if !c.durable.is_empty() && !is_valid_asset_name(&c.durable) {
        return Err(ApiError::invalid_config("consumer durable name can not contain '.', '*', '>', '\\', '/'"));
    }
    if c.num_replicas > 0 && c.num_replicas > i64::from(stream.num_replicas) {
        return Err(ApiError::new(400, 10126, "consumer config replica count exceeds parent stream"));
    }
    if c.num_replicas < 0 {
        return Err(ApiError::new(400, 10133, "replicas count cannot be negative"));
    }
    if (stream.retention == "interest" || stream.retention == "workqueue")
        && c.num_replicas != 0
        && c.num_replicas != i64::from(stream.num_replicas)
    {
        return Err(ApiError::new(
            400,
            10134,
            "consumer config replicas must match interest retention stream's replicas",
        ));
    }
    if c.backoff.iter().any(|&b| b < 0) {
        return Err(ApiError::new(400, 10184, "consumer backoff needs to be positive"));
    }
    if c.ack_wait < 0 {
        return Err(ApiError::new(400, 10183, "consumer ack wait needs to be positive"));
    }
    if !c.backoff.is_empty() && c.max_deliver != -1 && c.backoff.len() as i64 > c.max_deliver {
        return Err(ApiError::new(400, 10116, "max deliver is required to be > length of backoff values"));
    }
    if c.description.len() > MAX_DESCRIPTION_LEN {
        return Err(ApiError::new(
            400,
            10107,
            format!("consumer description is too long, maximum allowed is {MAX_DESCRIPTION_LEN}"),
        ));
    }
    if c.is_push() {
        if !is_literal(&c.deliver_subject) {
            return Err(ApiError::new(400, 10079, "consumer deliver subject has wildcards"));
        }
        if !is_valid_subject(&c.deliver_subject) {
            return Err(ApiError::new(400, 10112, "invalid push consumer deliver subject"));
        }
        if stream.subjects.iter().any(|s| crate::subject::matches(s, &c.deliver_subject)) {
            return Err(ApiError::new(400, 10081, "consumer deliver subject forms a cycle"));
        }
        if c.max_waiting != 0 {
            return Err(ApiError::new(400, 10080, "consumer in push mode can not set max waiting"));
        }
        if c.max_ack_pending > 0 && c.ack_policy == AckPolicy::None {
            return Err(ApiError::new(400, 10082, "consumer requires ack policy for max ack pending"));
        }
        if c.idle_heartbeat > 0 && c.idle_heartbeat < 100 * MS as i64 {
            return Err(ApiError::new(400, 10083, "consumer idle heartbeat needs to be >= 100ms"));
        }
    } else {
        if c.ack_policy == AckPolicy::None && stream.retention == "workqueue" {
            return Err(ApiError::new(
                400,
                10084,
                "consumer in pull mode requires explicit ack policy on workqueue stream",
            ));
        }
        if c.idle_heartbeat > 0 {
            return Err(ApiError::new(400, 10088, "consumer idle heartbeat requires a push based consumer"));
        }
        if c.flow_control {
            return Err(ApiError::new(400, 10089, "consumer flow control requires a push based consumer"));
        }
        if c.max_expires != 0 && c.max_expires < MS as i64 {
            return Err(ApiError::new(400, 10115, "consumer max request expires needs to be >= 1ms"));
        }
    }
    if !c.filter_subject.is_empty() && !c.filter_subjects.is_empty() {
        return Err(ApiError::new(400, 10136, "consumer cannot have both FilterSubject and FilterSubjects specified"));
    }
    if !c.filter_subject.is_empty() && !is_valid_subject(&c.filter_subject) {
        return Err(ApiError::invalid_config("invalid subject"));
    }
    if c.filter_subjects.iter().any(String::is_empty) {
        return Err(ApiError::new(400, 10139, "consumer filter in FilterSubjects cannot be empty"));
    }
    let filters = c.filters();
    for (i, f) in filters.iter().enumerate() {
        if !is_valid_subject(f) {
            return Err(ApiError::invalid_config("invalid subject"));
        }
        for (j, g) in filters.iter().enumerate() {
            if i != j && is_subset_match(f, g) {
                return Err(ApiError::new(400, 10138, "consumer subject filters cannot overlap"));
            }
        }
    }
    let bad_start = |dp: &str, start: &str| {
        ApiError::new(
            400,
            10094,
            format!("consumer delivery policy is deliver {dp}, but optional start {start} is also set"),
        )
    };
    let not_set = |dp: &str, what: &str| {
        ApiError::new(400, 10094, format!("consumer delivery policy is deliver {dp}, but optional {what} is not set"))
    };
    let (seq, time) = (c.opt_start_seq > 0, c.opt_start_time.is_some());
    match c.deliver_policy {
        DeliverPolicy::All | DeliverPolicy::Last | DeliverPolicy::New | DeliverPolicy::LastPerSubject => {
            let dp = match c.deliver_policy {
                DeliverPolicy::All => "all",
                DeliverPolicy::Last => "last",
                DeliverPolicy::New => "new",
                _ => "last per subject",
            };
            if seq {
                return Err(bad_start(dp, "sequence"));
            }
            if time {
                return Err(bad_start(dp, "time"));
            }
            if c.deliver_policy == DeliverPolicy::LastPerSubject && filters.is_empty() {
                return Err(not_set(dp, "filter subject"));
            }
        }
        DeliverPolicy::ByStartSequence => {
            if !seq {
                return Err(not_set("by start sequence", "start sequence"));
            }
            if time {
                return Err(bad_start("by start sequence", "time"));
            }
        }
        DeliverPolicy::ByStartTime => {
            if !time {
                return Err(not_set("by start time", "start time"));
            }
            if seq {
                return Err(bad_start("by start time", "start sequence"));
            }
        }
    }
    if c.flow_control && c.idle_heartbeat == 0 {
        return Err(ApiError::new(400, 10108, "consumer with flow control also needs heartbeats"));
    }
    if !c.durable.is_empty() && !c.name.is_empty() && c.name != c.durable {
        return Err(ApiError::new(400, 10132, "Consumer Durable and Name have to be equal if both are provided"));
    }
    Ok(())
}

/// nats `checkNewConsumerConfig`: what an update may not change, in nats'
/// order. `old_deliver_bound`: the old deliver subject still has interest.
pub fn check_update(old: &ConsumerConfig, new: &ConsumerConfig, old_deliver_bound: bool) -> Result<(), ApiError> {
    if old == new {
        return Ok(());
    }
    let err = |what: &str| Err(ApiError::new(500, 10012, what.to_string()));
    if old.deliver_policy != new.deliver_policy {
        return err("deliver policy can not be updated");
    }
    if old.opt_start_seq != new.opt_start_seq {
        return err("start sequence can not be updated");
    }
    if old.opt_start_time != new.opt_start_time {
        return err("start time can not be updated");
    }
    if old.ack_policy != new.ack_policy {
        return err("ack policy can not be updated");
    }
    if old.idle_heartbeat != new.idle_heartbeat {
        return err("heart beats can not be updated");
    }
    if old.flow_control != new.flow_control {
        return err("flow control can not be updated");
    }
    if old.deliver_subject != new.deliver_subject {
        if !old.is_push() {
            return err("can not update pull consumer to push based");
        }
        if !new.is_push() {
            return err("can not update push consumer to pull based");
        }
        if old_deliver_bound {
            return Err(ApiError::new(400, 10013, "consumer name already in use"));
        }
    }
    if old.max_waiting != new.max_waiting {
        return err("max waiting can not be updated");
    }
    Ok(())
}

/// A consumer assignment (nats `consumerAssignment`), what the meta group holds.
#[derive(Clone, Debug, PartialEq)]
pub struct ConsumerAssignment {
    pub stream: Rc<str>,
    pub name: Rc<str>,
    pub config: ConsumerConfig,
    pub created: Time,
    /// The create request's reply subject (the consumer leader answers it).
    pub reply: Option<Rc<str>>,
    /// The consumer's own Raft group (nats `groupNameForConsumer`:
    /// `C-R<n><F|M>-<hash>`), its members (a subset of the stream's peers,
    /// sorted) and the preferred first leader.
    pub group: Rc<str>,
    pub peers: Vec<crate::trace::Endpoint>,
    pub preferred: crate::trace::Endpoint,
}

/// A consumer's replicated state change (nats' consumer ops
/// `updateDeliveredOp`, `updateAcksOp`, `updateSkipOp`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsumerOp {
    /// The start position the first leader chose.
    Start {
        sseq: u64,
        lss: Vec<u64>,
    },
    Delivered {
        dseq: u64,
        sseq: u64,
        dc: u64,
        ts: Time,
    },
    Ack {
        dseq: u64,
        sseq: u64,
        ts: Time,
    },
    /// A pending message's redelivery clock moved (`+WPI`, `-NAK <delay>`).
    Pending {
        sseq: u64,
        ts: Time,
        due: Option<Time>,
    },
    /// A pull request joined (`add`) or left the leader's wait queue (nats
    /// `addPendingRequest` / `removePendingRequest`): followers remember the
    /// open ones, and a new leader tells them `409 Leadership Change`.
    Request {
        reply: Rc<str>,
        add: bool,
    },
}

/// last_per_subject's skip list: sequences to deliver first, where to resume.
pub type SkipList = (VecDeque<u64>, u64);

/// A request with held deliveries: the last held stream seq, and once the
/// request ended, the messages and bytes it had left.
pub type HeldRequest = (u64, Option<(i64, i64)>);

/// A message a consumer leader sends: `to` (routing subject), shown as
/// `subject`, with `reply`, headers and payload.
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub to: Rc<str>,
    pub subject: Rc<str>,
    pub reply: Option<Rc<str>>,
    pub hdr: Option<bytes::Bytes>,
    pub data: bytes::Bytes,
}

/// A waiting pull request (nats `waitingRequest`).
#[derive(Clone, Debug)]
pub struct WaitingRequest {
    pub reply: Rc<str>,
    /// Messages still wanted.
    pub n: i64,
    /// Messages delivered so far.
    pub d: i64,
    /// Bytes still allowed (0: no limit).
    pub b: i64,
    pub expires: Option<Time>,
    pub no_wait: bool,
    pub hb: u64,
    pub hbt: Option<Time>,
}

/// A pending (delivered, unacknowledged) message: the consumer sequence of
/// its first delivery and when it was (re)delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingMsg {
    pub dseq: u64,
    pub ts: Time,
    /// A NAK with a delay: redeliver at this time (nats moves the pending
    /// timestamp to `now - ack_wait + delay`).
    pub due: Option<Time>,
}

/// A consumer as one server sees it. The leader of the consumer's own Raft
/// group drives it; the group's other members apply the replicated delivery
/// and ack operations. Servers outside the group only hold the assignment.
#[derive(Debug)]
pub struct Consumer {
    pub assignment: Rc<ConsumerAssignment>,
    /// Next stream sequence to look at (nats `o.sseq`).
    pub sseq: u64,
    /// Next consumer sequence (nats `o.dseq`).
    pub dseq: u64,
    /// Ack floors: consumer and stream sequence.
    pub adflr: u64,
    pub asflr: u64,
    pub pending: BTreeMap<u64, PendingMsg>,
    /// Extra deliveries per stream sequence (delivery count - 1), nats `o.rdc`.
    pub rdc: BTreeMap<u64, u64>,
    /// Redelivery queue (stream sequences).
    pub rdq: VecDeque<u64>,
    /// last_per_subject start: the sequences still to deliver first, and where to resume.
    pub lss: Option<SkipList>,
    pub waiting: VecDeque<WaitingRequest>,
    pub delivered_active: Option<Time>,
    pub ack_active: Option<Time>,
    /// Last pull request, delivery or ack (for `inactive_threshold`).
    pub last_activity: Time,
    /// Whether the start position was chosen (done by the first leader).
    pub started: bool,
    /// The leader's subscriptions: (internal id, subject).
    pub subs: Vec<(u32, String)>,
    /// Push: whether the deliver subject has interest.
    pub active: bool,
    /// Push: last delivery or heartbeat sent.
    pub last_sent: Time,
    /// Push flow control (nats `pbytes`, `maxpb`, `fcsz`, `fcid`): bytes
    /// delivered and not yet released by a flow-control reply, the window
    /// (delivery stalls beyond it; a request goes out past half of it), the
    /// bytes the outstanding request covers and its reply subject.
    pub pbytes: u64,
    pub fc_window: u64,
    pub fcsz: u64,
    pub fcid: Option<Rc<str>>,
    pub armed: Option<Time>,
    pub create_reply: Option<Rc<str>>,
    /// A delete was asked for (inactivity); do not ask again.
    pub delete_requested: bool,
    /// Ops this leader proposed and already applied to itself, by log index
    /// (skipped when they commit).
    pub proposed: BTreeMap<u64, ConsumerOp>,
    /// Replicated consumers (nats `replicateDeliveries`: R>1, acks, no flow
    /// control) hold each delivery until its op is committed: by stream seq.
    pub held: BTreeMap<u64, Outgoing>,
    /// Per reply subject with held deliveries: the last held seq and, once
    /// the request ended meanwhile, what it had left (nats
    /// `waitingDeliveries`: a 408 follows the last delivery).
    pub held_requests: BTreeMap<Rc<str>, HeldRequest>,
    /// Ack-ack replies sent once the ack op is committed (by stream seq).
    pub ack_replies: BTreeMap<u64, Rc<str>>,
    /// Messages released by committed ops, to send.
    pub ready: Vec<Outgoing>,
    /// Stream sequences acknowledged since the stream last checked them for
    /// interest / work-queue removal (inclusive ranges).
    pub acked_ranges: Vec<(u64, u64)>,
    /// This server's member of the consumer's Raft group (None when the
    /// server is not one of the consumer's peers).
    pub group: Option<super::Group>,
    /// Last applied index of the consumer group.
    pub applied: u64,
    /// Follower: pull requests open on the leader (nats `o.prm`).
    pub prm: crate::vecmap::VecSet<Rc<str>>,
    /// Leader: the requests it told the group about.
    pub told_requests: crate::vecmap::VecSet<Rc<str>>,
}

impl Consumer {
    pub fn new(assignment: Rc<ConsumerAssignment>, now: Time) -> Consumer {
        Consumer {
            create_reply: assignment.reply.clone(),
            assignment,
            sseq: 0,
            dseq: 1,
            adflr: 0,
            asflr: 0,
            pending: BTreeMap::new(),
            rdc: BTreeMap::new(),
            rdq: VecDeque::new(),
            lss: None,
            waiting: VecDeque::new(),
            delivered_active: None,
            ack_active: None,
            last_activity: now,
            started: false,
            subs: Vec::new(),
            active: false,
            last_sent: now,
            pbytes: 0,
            fc_window: FC_WINDOW_START,
            fcsz: 0,
            fcid: None,
            armed: None,
            delete_requested: false,
            proposed: BTreeMap::new(),
            held: BTreeMap::new(),
            held_requests: BTreeMap::new(),
            ack_replies: BTreeMap::new(),
            ready: Vec::new(),
            acked_ranges: Vec::new(),
            group: None,
            applied: 0,
            prm: crate::vecmap::VecSet::new(),
            told_requests: crate::vecmap::VecSet::new(),
        }
    }

    /// Whether this server is the consumer's ready leader (nats
    /// `o.isLeader()`: the consumer group's leader, not the stream's).
    pub fn is_leader(&self) -> bool {
        self.group.as_ref().is_some_and(|g| g.raft.is_leader_ready())
    }

    /// The term this member leads the consumer group in, if it is a ready
    /// leader ([`super::Group::leader_term`]).
    pub fn leader_term(&self) -> Option<u64> {
        self.group.as_ref().and_then(super::Group::leader_term)
    }

    /// The consumer group's leader as this member sees it.
    pub fn leader(&self) -> Option<crate::trace::Endpoint> {
        self.group.as_ref().and_then(|g| g.raft.leader())
    }

    pub fn config(&self) -> &ConsumerConfig {
        &self.assignment.config
    }

    /// nats `selectStartingSeqNo` against the stream store.
    pub fn select_start(&mut self, store: &super::MsgStore) {
        let cfg = self.assignment.config.clone();
        let (first, last) = (store.first_seq().max(1), store.last_seq());
        let empty = store.is_empty();
        let mut sseq = match cfg.deliver_policy {
            DeliverPolicy::All => first,
            DeliverPolicy::Last => {
                // The last message matching the filters.
                store.range(0).filter(|(_, m)| cfg.matches(&m.subject)).map(|(s, _)| s).last().unwrap_or(last + 1)
            }
            DeliverPolicy::New => last + 1,
            DeliverPolicy::ByStartSequence => cfg.opt_start_seq,
            DeliverPolicy::ByStartTime => {
                let t = cfg.opt_start_time.unwrap_or(0);
                store.range(0).find(|(_, m)| m.ts >= t).map(|(s, _)| s).unwrap_or(last + 1)
            }
            DeliverPolicy::LastPerSubject => {
                let mut per: BTreeMap<&str, u64> = BTreeMap::new();
                for (s, m) in store.range(0) {
                    if cfg.matches(&m.subject) {
                        per.insert(&m.subject, s);
                    }
                }
                let mut seqs: Vec<u64> = per.into_values().collect();
                crate::sort::sort(&mut seqs);
                if seqs.is_empty() {
                    last + 1
                } else {
                    let s0 = seqs[0];
                    self.lss = Some((seqs.into_iter().collect(), last + 1));
                    s0
                }
            }
        };
        if empty && cfg.opt_start_seq == 0 && cfg.deliver_policy != DeliverPolicy::New {
            sseq = sseq.max(1).min(last + 1);
        }
        if cfg.opt_start_seq == 0 && sseq > last + 1 {
            sseq = last + 1;
        }
        if sseq < first && !empty {
            sseq = first;
        }
        if sseq == 0 {
            sseq = 1;
        }
        self.sseq = sseq;
        self.dseq = 1;
        // nats records only the delivered position at the start
        // (`SetStarting`); the ack floor stays at 0 until acks move it.
        self.adflr = 0;
        self.asflr = 0;
        self.started = true;
    }

    /// Messages not yet delivered that match the filters (`num_pending`).
    pub fn num_pending(&self, store: &super::MsgStore) -> u64 {
        if let Some((seqs, resume)) = &self.lss {
            let later = store.range(*resume).filter(|(_, m)| self.assignment.config.matches(&m.subject)).count() as u64;
            return seqs.len() as u64 + later;
        }
        let cfg = &self.assignment.config;
        if cfg.filter_subject.is_empty() && cfg.filter_subjects.is_empty() {
            let (first, last, n) = (store.first_seq(), store.last_seq(), store.len());
            if n == 0 || self.sseq > last {
                return 0;
            }
            if self.sseq <= first {
                return n;
            }
            if last + 1 - first == n {
                // No interior gaps: a subtraction, not a count.
                return last + 1 - self.sseq;
            }
            return store.range(self.sseq).count() as u64;
        }
        store.range(self.sseq).filter(|(_, m)| cfg.matches(&m.subject)).count() as u64
    }

    /// The delivery count of a stream sequence (nats `deliveryCount`).
    pub fn delivery_count(&self, seq: u64) -> u64 {
        self.rdc.get(&seq).copied().unwrap_or(0) + 1
    }

    pub fn num_redelivered(&self) -> u64 {
        self.rdc.values().filter(|&&n| n > 0).count() as u64
    }

    /// The ack deadline of a pending message (ack_wait, or the backoff step).
    pub fn deadline(&self, seq: u64, p: &PendingMsg) -> Time {
        if let Some(d) = p.due {
            return d;
        }
        let cfg = &self.assignment.config;
        let wait = if cfg.backoff.is_empty() {
            cfg.ack_wait
        } else {
            let dc = self.rdc.get(&seq).copied().unwrap_or(0) as usize;
            cfg.backoff[dc.min(cfg.backoff.len() - 1)]
        };
        p.ts.saturating_add(wait.max(0) as u64)
    }

    /// Whether `seq` reached `max_deliver` (nats `hasMaxDeliveries`).
    pub fn has_max_deliveries(&self, seq: u64) -> bool {
        let md = self.assignment.config.max_deliver;
        md > 0 && self.delivery_count(seq) >= md as u64
    }

    /// Record a delivery (leader and replicas): consumer seq, stream seq,
    /// delivery count and time.
    pub fn record_delivery(&mut self, dseq: u64, sseq: u64, dc: u64, now: Time) {
        if dseq >= self.dseq {
            self.dseq = dseq + 1;
        }
        if dc == 1 && sseq >= self.sseq {
            self.sseq = sseq + 1;
        }
        self.delivered_active = Some(now);
        match self.assignment.config.ack_policy {
            AckPolicy::None => {
                self.adflr = self.adflr.max(dseq);
                self.asflr = self.asflr.max(sseq);
                self.note_acked(sseq, sseq);
            }
            _ => {
                if dc > 1 {
                    self.rdc.insert(sseq, dc - 1);
                }
                match self.pending.get_mut(&sseq) {
                    Some(p) => {
                        p.ts = now;
                        p.due = None;
                    }
                    None => {
                        self.pending.insert(sseq, PendingMsg { dseq, ts: now, due: None });
                    }
                }
            }
        }
    }

    /// Record an ack (nats `processAckMsg`): returns whether it acked anything.
    pub fn record_ack(&mut self, sseq: u64, dseq: u64, now: Time) -> bool {
        if sseq >= self.sseq {
            return false;
        }
        match self.assignment.config.ack_policy {
            AckPolicy::Explicit => {
                let Some(p) = self.pending.remove(&sseq) else {
                    self.rdc.remove(&sseq);
                    self.rdq.retain(|&s| s != sseq);
                    return false;
                };
                let dseq = p.dseq;
                if self.pending.is_empty() {
                    self.adflr = self.dseq - 1;
                    self.asflr = self.sseq - 1;
                } else if dseq == self.adflr + 1 {
                    self.adflr = dseq;
                    self.asflr = sseq;
                    if let Some((&ss, p)) = self.pending.range(sseq + 1..).next() {
                        if p.dseq > 0 {
                            self.adflr = p.dseq - 1;
                            self.asflr = ss - 1;
                        }
                    }
                }
                self.rdc.remove(&sseq);
                self.rdq.retain(|&s| s != sseq);
                self.note_acked(sseq, sseq);
            }
            AckPolicy::All => {
                if dseq <= self.adflr || sseq <= self.asflr {
                    return true;
                }
                self.note_acked(self.asflr + 1, sseq);
                self.adflr = dseq;
                self.asflr = sseq;
                let gone: Vec<u64> = self.pending.range(..=sseq).map(|(s, _)| *s).collect();
                for s in gone {
                    self.pending.remove(&s);
                    self.rdc.remove(&s);
                }
                self.rdq.retain(|&s| s > sseq);
            }
            AckPolicy::None => return false,
        }
        self.ack_active = Some(now);
        true
    }

    fn note_acked(&mut self, lo: u64, hi: u64) {
        if self.acked_ranges.len() >= 4096 {
            // Coalesce rather than grow without bound.
            let (l, h) = self.acked_ranges.iter().fold((u64::MAX, 0), |(l, h), &(a, b)| (l.min(a), h.max(b)));
            self.acked_ranges.clear();
            self.acked_ranges.push((l, h));
        }
        self.acked_ranges.push((lo, hi));
    }

    /// Whether this consumer still needs `seq` (subject `subject`) kept in an
    /// interest or work-queue stream (nats `needAck`).
    pub fn need_ack(&self, seq: u64, subject: &str) -> bool {
        let cfg = &self.assignment.config;
        if !cfg.matches(subject) {
            return false;
        }
        let need = match cfg.ack_policy {
            AckPolicy::None | AckPolicy::All => seq > self.asflr,
            AckPolicy::Explicit => seq > self.asflr && (seq >= self.sseq || self.pending.contains_key(&seq)),
        };
        need || self.rdc.contains_key(&seq)
    }

    /// Drop pending messages below the stream's first sequence (after a
    /// purge or limits removal), moving the floors (nats `checkPending`).
    pub fn drop_below(&mut self, first: u64) {
        if self.sseq < first {
            self.sseq = first;
        }
        let gone: Vec<(u64, PendingMsg)> = self.pending.range(..first).map(|(s, p)| (*s, *p)).collect();
        for (s, p) in gone {
            self.pending.remove(&s);
            self.rdc.remove(&s);
            self.rdq.retain(|&x| x != s);
            self.asflr = self.asflr.max(s);
            self.adflr = self.adflr.max(p.dseq);
        }
        if self.pending.is_empty() {
            self.adflr = self.dseq - 1;
            self.asflr = self.sseq.saturating_sub(1).max(self.asflr);
        }
        if let Some((seqs, _)) = self.lss.as_mut() {
            seqs.retain(|&s| s >= first);
        }
    }
}

/// Format a duration as Go's `time.Duration.String()` (`1s`, `1.5s`, `500ms`, `1m0s`).
pub fn go_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    let neg = ns < 0;
    let u = ns.unsigned_abs();
    let s = if u < SEC {
        let (unit, div) = if u < 1_000 {
            ("ns", 1)
        } else if u < MS {
            ("µs", 1_000)
        } else {
            ("ms", MS)
        };
        format!("{}{unit}", frac(u, div))
    } else {
        let h = u / (3600 * SEC);
        let m = (u / (60 * SEC)) % 60;
        let rem = u % (60 * SEC);
        let secs = frac(rem, SEC);
        if h > 0 {
            format!("{h}h{m}m{secs}s")
        } else if m > 0 {
            format!("{m}m{secs}s")
        } else {
            format!("{secs}s")
        }
    };
    if neg {
        format!("-{s}")
    } else {
        s
    }
}

fn frac(v: u64, div: u64) -> String {
    let whole = v / div;
    let rest = v % div;
    if rest == 0 {
        return whole.to_string();
    }
    let width = div.to_string().len() - 1;
    let f = format!("{rest:0width$}");
    format!("{whole}.{}", f.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream() -> StreamConfig {
        super::super::api::parse_stream_config(br#"{"name":"S","subjects":["s.>"]}"#, "S").unwrap()
    }

    fn cfg(body: &str) -> Result<ConsumerConfig, ApiError> {
        let mut r = parse_create_request(body.as_bytes())?;
        set_defaults(&mut r.config);
        check_config(&r.config, &stream())?;
        Ok(r.config)
    }

    #[test]
    fn defaults_match_nats() {
        let c = cfg(r#"{"stream_name":"S","config":{"durable_name":"C","ack_policy":"explicit"}}"#).unwrap();
        assert_eq!(
            (c.ack_wait, c.max_deliver, c.max_waiting, c.max_ack_pending, c.inactive_threshold),
            (30 * SEC as i64, -1, 512, 1000, 0)
        );
        let j = serde_json::to_string(&c.to_json()).unwrap();
        assert_eq!(
            j,
            format!(
                r#"{{"durable_name":"C","deliver_policy":"all","ack_policy":"explicit","ack_wait":30000000000,"max_deliver":-1,"replay_policy":"instant","max_waiting":512,"max_ack_pending":1000,"num_replicas":0,"metadata":{{"_nats.level":"3","_nats.req.level":"0","_nats.ver":"{}"}}}}"#,
                crate::NATS_VERSION
            )
        );
        let e = cfg(r#"{"stream_name":"S","config":{}}"#).unwrap();
        assert_eq!((e.ack_policy, e.inactive_threshold, e.max_ack_pending), (AckPolicy::None, 5 * SEC as i64, 0));
        let b = cfg(r#"{"stream_name":"S","config":{"ack_policy":"explicit","backoff":[1000000000,5000000000],"max_deliver":3}}"#).unwrap();
        assert_eq!(b.ack_wait, SEC as i64);
    }

    #[test]
    fn errors_match_nats() {
        let code = |b: &str| cfg(b).unwrap_err();
        assert_eq!(
            code(r#"{"stream_name":"S","config":{"bogus":1}}"#).description,
            "invalid JSON: json: unknown field \"bogus\""
        );
        assert_eq!(
            code(r#"{"stream_name":"S","config":{"ack_policy":"foo"}}"#).description,
            r#"invalid JSON: can not unmarshal "\"foo\"""#
        );
        assert_eq!(
            code(r#"{"stream_name":"S","config":{"ack_wait":"x"}}"#).description,
            "invalid JSON: json: cannot unmarshal string into Go struct field ConsumerConfig.config.ack_wait of type time.Duration"
        );
        let e = code(r#"{"stream_name":"S","config":{"deliver_policy":"by_start_sequence"}}"#);
        assert_eq!(
            (e.err_code, e.description.as_str()),
            (10094, "consumer delivery policy is deliver by start sequence, but optional start sequence is not set")
        );
        assert_eq!(code(r#"{"stream_name":"S","config":{"deliver_policy":"last_per_subject"}}"#).err_code, 10094);
        assert_eq!(
            code(r#"{"stream_name":"S","config":{"ack_policy":"explicit","backoff":[1,2,3],"max_deliver":2}}"#)
                .err_code,
            10116
        );
        assert_eq!(code(r#"{"stream_name":"S","config":{"deliver_subject":"s.x"}}"#).err_code, 10081);
        assert_eq!(code(r#"{"stream_name":"S","config":{"deliver_subject":"d.*"}}"#).err_code, 10079);
        assert_eq!(
            code(r#"{"stream_name":"S","config":{"deliver_subject":"d","idle_heartbeat":1000}}"#).err_code,
            10083
        );
        assert_eq!(code(r#"{"stream_name":"S","config":{"idle_heartbeat":1000000000}}"#).err_code, 10088);
        assert_eq!(code(r#"{"stream_name":"S","config":{"deliver_subject":"d","flow_control":true}}"#).err_code, 10108);
        assert_eq!(
            code(r#"{"stream_name":"S","config":{"filter_subject":"s.a","filter_subjects":["s.b"]}}"#).err_code,
            10136
        );
        assert_eq!(code(r#"{"stream_name":"S","config":{"filter_subjects":["s.>","s.a"]}}"#).err_code, 10138);
        assert_eq!(code(r#"{"stream_name":"S","config":{"durable_name":"A","name":"B"}}"#).err_code, 10132);
        assert_eq!(code(r#"{"stream_name":"S","config":{"num_replicas":3}}"#).err_code, 10126);
        assert_eq!(code(r#"[1]"#).err_code, 10025);
    }

    #[test]
    fn go_durations_and_times() {
        assert_eq!(go_duration(SEC as i64), "1s");
        assert_eq!(go_duration(1_500 * MS as i64), "1.5s");
        assert_eq!(go_duration(500 * MS as i64), "500ms");
        assert_eq!(go_duration(90 * SEC as i64), "1m30s");
        assert_eq!(go_duration(3600 * SEC as i64), "1h0m0s");
        assert_eq!(parse_rfc3339("2025-01-01T00:00:01.5Z"), Some(1_500 * MS));
        assert_eq!(parse_rfc3339("2025-01-02T00:00:00Z"), Some(86_400 * SEC));
        assert_eq!(parse_rfc3339("2020-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
