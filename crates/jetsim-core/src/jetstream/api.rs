//! JetStream API shapes: StreamConfig (parsing with nats-server 2.12's
//! strictness and defaults), StreamInfo, API errors, and time formatting.
//! Request bodies are untrusted: every malformed input becomes the nats error
//! (10025 invalid JSON, 10052 invalid config, ...), never a panic.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::time::{Time, MS, SEC};

/// nats `StreamMaxReplicas`.
pub const STREAM_MAX_REPLICAS: u32 = 5;
/// nats `StreamDefaultDuplicatesWindow` (2m), in ns.
pub const DEFAULT_DUPLICATE_WINDOW: i64 = 120 * SEC as i64;
/// Hard limit: streams per cluster (refused with 10027).
pub const MAX_STREAMS: usize = 256;
/// Largest API request body parsed.
pub const MAX_API_BODY: usize = 64 * 1024;

/// A JetStream API error: `code` (HTTP-like), `err_code`, `description`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApiError {
    pub code: u16,
    pub err_code: u16,
    pub description: String,
}

impl ApiError {
    pub fn new(code: u16, err_code: u16, description: impl Into<String>) -> ApiError {
        ApiError { code, err_code, description: description.into() }
    }
    pub fn cluster_unavailable() -> ApiError {
        ApiError::new(503, 10008, "JetStream system temporarily unavailable")
    }
    pub fn stream_not_found() -> ApiError {
        ApiError::new(404, 10059, "stream not found")
    }
    pub fn bad_request() -> ApiError {
        ApiError::new(400, 10003, "bad request")
    }
    pub fn invalid_json(err: &str) -> ApiError {
        ApiError::new(400, 10025, format!("invalid JSON: {err}"))
    }
    pub fn invalid_config(err: &str) -> ApiError {
        ApiError::new(500, 10052, err)
    }
}

/// nats `JSApiLevel` of 2.12.8.
pub const JS_API_LEVEL: u32 = 3;

/// Go's `json.Marshal` escapes `<`, `>` and `&` (and U+2028/U+2029) inside
/// strings; outside strings JSON has none of them, so a byte rewrite of the
/// serialised document gives nats' bytes (`"orders.\u003e"`).
pub fn go_escape(json: Vec<u8>) -> Vec<u8> {
    if !json.iter().any(|&b| b == b'<' || b == b'>' || b == b'&' || b == 0xE2) {
        return json;
    }
    let mut out = Vec::with_capacity(json.len() + 16);
    let mut i = 0;
    while i < json.len() {
        match json[i] {
            b'<' => out.extend_from_slice(b"\\u003c"),
            b'>' => out.extend_from_slice(b"\\u003e"),
            b'&' => out.extend_from_slice(b"\\u0026"),
            0xE2 if json.get(i + 1) == Some(&0x80) && matches!(json.get(i + 2), Some(0xA8) | Some(0xA9)) => {
                out.extend_from_slice(if json[i + 2] == 0xA8 { b"\\u2028" } else { b"\\u2029" });
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// The full type name of a response.
pub fn response_type(short: &str) -> String {
    format!("io.nats.jetstream.api.v1.{short}")
}

/// `{"type":...,"error":{...}}` plus any extra fields the response type
/// carries even on error (e.g. `total/offset/limit` for stream info).
pub fn error_response(short: &str, err: &ApiError) -> Vec<u8> {
    let mut m = Map::new();
    m.insert("type".into(), Value::String(response_type(short)));
    m.insert("error".into(), serde_json::to_value(err).unwrap_or(Value::Null));
    if short == "stream_info_response" {
        m.insert("total".into(), 0.into());
        m.insert("offset".into(), 0.into());
        m.insert("limit".into(), 0.into());
    }
    if short == "stream_purge_response" {
        m.insert("purged".into(), 0.into());
    }
    go_escape(serde_json::to_vec(&Value::Object(m)).unwrap_or_default())
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Placement {
    /// Field order of nats' `Placement`: cluster, tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

/// A stream's configuration after defaults (nats `StreamConfig`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamConfig {
    pub name: String,
    pub description: String,
    pub subjects: Vec<String>,
    /// `limits`, `interest` or `workqueue`.
    pub retention: String,
    pub max_consumers: i64,
    pub max_msgs: i64,
    pub max_bytes: i64,
    /// ns, 0 = unlimited.
    pub max_age: i64,
    pub max_msgs_per_subject: i64,
    pub max_msg_size: i64,
    pub discard_new: bool,
    pub storage_memory: bool,
    pub num_replicas: u32,
    pub no_ack: bool,
    /// ns.
    pub duplicate_window: i64,
    pub placement: Option<Placement>,
    /// `none` or `s2` (accepted and shown; jetsim's byte counts ignore it).
    pub compression: String,
    pub first_seq: u64,
    /// `subject_transform` {src, dest}: incoming subjects are stored
    /// transformed.
    pub subject_transform: Option<(String, String)>,
    /// `republish` {src, dest, headers_only}.
    pub republish: Option<(String, String, bool)>,
    pub allow_direct: bool,
    pub mirror_direct: bool,
    pub discard_new_per_subject: bool,
    pub sealed: bool,
    pub deny_delete: bool,
    pub deny_purge: bool,
    pub allow_rollup_hdrs: bool,
    /// `consumer_limits.inactive_threshold` (ns, 0 = none).
    pub consumer_inactive_threshold: i64,
    /// `consumer_limits.max_ack_pending` (0 = none).
    pub consumer_max_ack_pending: i64,
    pub metadata: crate::vecmap::VecMap<String, String>,
}

impl StreamConfig {
    pub fn memory(&self) -> bool {
        self.storage_memory
    }
    pub fn is_interest(&self) -> bool {
        self.retention == "interest"
    }
    pub fn is_workqueue(&self) -> bool {
        self.retention == "workqueue"
    }

    /// The config as nats-server 2.12 writes it: Go struct field order and
    /// omitempty rules (`description`, `max_msg_size` (0 only),
    /// `no_ack`, `duplicate_window`, `placement`, `first_seq`,
    /// `discard_new_per_subject`, `metadata` are left out when zero).
    pub fn to_json(&self) -> Value {
        self.to_json_meta(true)
    }

    /// [`StreamConfig::to_json`]; `dynamic` adds `_nats.ver`/`_nats.level`
    /// (nats `setDynamicStreamMetadata`: info/create/update answers, not
    /// STREAM.LIST entries).
    pub fn to_json_meta(&self, dynamic: bool) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), self.name.clone().into());
        if !self.description.is_empty() {
            m.insert("description".into(), self.description.clone().into());
        }
        if !self.subjects.is_empty() {
            m.insert("subjects".into(), self.subjects.clone().into());
        }
        m.insert("retention".into(), self.retention.clone().into());
        m.insert("max_consumers".into(), self.max_consumers.into());
        m.insert("max_msgs".into(), self.max_msgs.into());
        m.insert("max_bytes".into(), self.max_bytes.into());
        m.insert("max_age".into(), self.max_age.into());
        m.insert("max_msgs_per_subject".into(), self.max_msgs_per_subject.into());
        if self.max_msg_size != 0 {
            m.insert("max_msg_size".into(), self.max_msg_size.into());
        }
        m.insert("discard".into(), if self.discard_new { "new" } else { "old" }.into());
        m.insert("storage".into(), if self.storage_memory { "memory" } else { "file" }.into());
        m.insert("num_replicas".into(), self.num_replicas.into());
        if self.no_ack {
            m.insert("no_ack".into(), true.into());
        }
        if self.duplicate_window != 0 {
            m.insert("duplicate_window".into(), self.duplicate_window.into());
        }
        if let Some(p) = &self.placement {
            m.insert("placement".into(), serde_json::to_value(p).unwrap_or(Value::Null));
        }
        m.insert("compression".into(), self.compression.clone().into());
        if self.first_seq != 0 {
            m.insert("first_seq".into(), self.first_seq.into());
        }
        if let Some((src, dest)) = &self.subject_transform {
            m.insert("subject_transform".into(), serde_json::json!({"src": src, "dest": dest}));
        }
        if let Some((src, dest, headers_only)) = &self.republish {
            let mut r = Map::new();
            r.insert("src".into(), src.clone().into());
            r.insert("dest".into(), dest.clone().into());
            if *headers_only {
                r.insert("headers_only".into(), true.into());
            }
            m.insert("republish".into(), Value::Object(r));
        }
        m.insert("allow_direct".into(), self.allow_direct.into());
        m.insert("mirror_direct".into(), self.mirror_direct.into());
        if self.discard_new_per_subject {
            m.insert("discard_new_per_subject".into(), true.into());
        }
        m.insert("sealed".into(), self.sealed.into());
        m.insert("deny_delete".into(), self.deny_delete.into());
        m.insert("deny_purge".into(), self.deny_purge.into());
        m.insert("allow_rollup_hdrs".into(), self.allow_rollup_hdrs.into());
        let mut cl = Map::new();
        if self.consumer_inactive_threshold != 0 {
            cl.insert("inactive_threshold".into(), self.consumer_inactive_threshold.into());
        }
        if self.consumer_max_ack_pending != 0 {
            cl.insert("max_ack_pending".into(), self.consumer_max_ack_pending.into());
        }
        m.insert("consumer_limits".into(), Value::Object(cl));
        m.insert("allow_msg_ttl".into(), false.into());
        // nats 2.12 stamps `_nats.req.level` (0: jetsim models no level-1+
        // feature) when it stores a config and adds `_nats.ver` and
        // `_nats.level` when it shows one; Go writes map keys sorted.
        let mut md = self.metadata.clone();
        md.insert("_nats.req.level".into(), "0".into());
        if dynamic {
            md.insert("_nats.ver".into(), crate::NATS_VERSION.into());
            md.insert("_nats.level".into(), JS_API_LEVEL.to_string());
        }
        let md: Map<String, Value> = md.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
        m.insert("metadata".into(), Value::Object(md));
        Value::Object(m)
    }
}

/// Fields nats-server 2.12's StreamConfig knows (strict JSON refuses others).
const KNOWN_FIELDS: &[&str] = &[
    "name",
    "description",
    "subjects",
    "retention",
    "max_consumers",
    "max_msgs",
    "max_bytes",
    "max_age",
    "max_msgs_per_subject",
    "max_msg_size",
    "discard",
    "discard_new_per_subject",
    "storage",
    "num_replicas",
    "no_ack",
    "template_owner",
    "duplicate_window",
    "placement",
    "mirror",
    "sources",
    "sealed",
    "deny_delete",
    "deny_purge",
    "allow_rollup_hdrs",
    "allow_direct",
    "mirror_direct",
    "republish",
    "first_seq",
    "subject_transform",
    "compression",
    "consumer_limits",
    "metadata",
    "allow_msg_ttl",
    "subject_delete_marker_ttl",
    "allow_msg_counter",
    "allow_atomic",
    "allow_msg_schedules",
    "persist_mode",
    "pedantic",
];

/// The JSON type name Go's `encoding/json` uses in an unmarshal error.
pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn unmarshal_err(field: &str, want: &str, got: &Value) -> ApiError {
    let kind = json_kind(got);
    // Go names the literal only when a number does not fit a numeric field.
    let numeric = want.starts_with("int") || want.starts_with("uint");
    let kind = match got {
        Value::Number(n) if numeric => format!("number {n}"),
        _ => kind.to_string(),
    };
    ApiError::invalid_json(&format!(
        "json: cannot unmarshal {kind} into Go struct field StreamConfigRequest.StreamConfig.{field} of type {want}"
    ))
}

fn get_int(m: &Map<String, Value>, k: &str, want: &str, min: i64, max: i64) -> Result<Option<i64>, ApiError> {
    match m.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_i64() {
            Some(n) if n >= min && n <= max => Ok(Some(n)),
            _ => Err(unmarshal_err(k, want, v)),
        },
    }
}

fn get_i64(m: &Map<String, Value>, k: &str) -> Result<Option<i64>, ApiError> {
    get_int(m, k, "int64", i64::MIN, i64::MAX)
}

fn get_bool(m: &Map<String, Value>, k: &str) -> Result<bool, ApiError> {
    match m.get(k) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(v) => Err(unmarshal_err(k, "bool", v)),
    }
}

fn get_str<'a>(m: &'a Map<String, Value>, k: &str) -> Result<Option<&'a str>, ApiError> {
    match m.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v) => Err(unmarshal_err(k, "string", v)),
    }
}

fn get_strs(m: &Map<String, Value>, k: &str) -> Result<Vec<String>, ApiError> {
    match m.get(k) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => {
            a.iter().map(|v| v.as_str().map(String::from).ok_or_else(|| unmarshal_err(k, "string", v))).collect()
        }
        Some(v) => Err(unmarshal_err(k, "[]string", v)),
    }
}

/// Whether a subject transform's destination fits its source: tokens are
/// literals, `*` (the source's wildcards in order), `>` (the source's tail,
/// last), `$N` or `{{wildcard(N)}}` (the N-th source wildcard).
pub fn transform_valid(src: &str, dest: &str) -> bool {
    if !crate::subject::is_valid_subject(dest) {
        return false;
    }
    let pwcs = src.split('.').filter(|t| *t == "*").count();
    let has_fwc = src.split('.').next_back() == Some(">");
    for t in dest.split('.') {
        match wildcard_ref(t) {
            Some(n) if n == 0 || n > pwcs => return false,
            _ => {}
        }
        if t == ">" && !has_fwc {
            return false;
        }
    }
    if dest.split('.').filter(|t| *t == "*").count() > pwcs {
        return false;
    }
    true
}

fn wildcard_ref(t: &str) -> Option<usize> {
    if let Some(n) = t.strip_prefix('$') {
        return n.parse().ok();
    }
    let inner = t.strip_prefix("{{")?.strip_suffix("}}")?.trim();
    let arg = inner.strip_prefix("wildcard(")?.strip_suffix(')')?.trim();
    arg.parse().ok()
}

/// Apply a checked transform to a literal subject: None if `src` does not
/// match it (nats `SubjectTransform.Match`).
pub fn transform(src: &str, dest: &str, subject: &str) -> Option<String> {
    if !crate::subject::matches(src, subject) {
        return None;
    }
    let stoks: Vec<&str> = src.split('.').collect();
    let toks: Vec<&str> = subject.split('.').collect();
    let mut wild: Vec<&str> = Vec::new();
    let mut tail = String::new();
    for (i, t) in stoks.iter().enumerate() {
        match *t {
            "*" => wild.push(toks[i]),
            ">" => tail = toks[i..].join("."),
            _ => {}
        }
    }
    let mut next = 0;
    let mut out: Vec<String> = Vec::new();
    for t in dest.split('.') {
        if t == "*" {
            out.push(wild.get(next)?.to_string());
            next += 1;
        } else if t == ">" {
            out.push(tail.clone());
        } else if let Some(n) = wildcard_ref(t) {
            out.push(wild.get(n.checked_sub(1)?)?.to_string());
        } else {
            out.push(t.to_string());
        }
    }
    Some(out.join("."))
}

/// A JSON syntax error as Go's decoder words the common ones.
pub fn json_err(e: &serde_json::Error) -> ApiError {
    match e.classify() {
        serde_json::error::Category::Eof => ApiError::invalid_json("unexpected EOF"),
        _ => ApiError::invalid_json(&e.to_string()),
    }
}

/// Go's `%q` for ASCII text (what nats' error texts quote).
pub fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// nats `JSMaxDescriptionLen`.
pub const MAX_DESCRIPTION_LEN: usize = 4 * 1024;
/// nats `JSMaxMetadataLen`.
pub const MAX_METADATA_LEN: usize = 128 * 1024;

/// Parse a STREAM.CREATE body (`name_in_subject` from the API subject),
/// apply nats' defaults and validation (`jsStreamCreateRequest` +
/// `checkStreamCfg`). Errors are the nats API errors.
pub fn parse_stream_config(body: &[u8], name_in_subject: &str) -> Result<StreamConfig, ApiError> {
    parse_config(body, name_in_subject, true)
}

/// Parse a STREAM.UPDATE body (nats `jsStreamUpdateRequest`: JSON, then
/// `checkStreamCfg`, then the name in the subject).
pub fn parse_stream_update(body: &[u8], name_in_subject: &str) -> Result<StreamConfig, ApiError> {
    parse_config(body, name_in_subject, false)
}

/// What may not change on update (nats `configUpdateCheck`), 10052 each;
/// a sealed stream gets its forced settings.
pub fn check_stream_update(old: &StreamConfig, new: StreamConfig) -> Result<StreamConfig, ApiError> {
    let mut cfg = new;
    let bad = |t: &str| Err(ApiError::invalid_config(t));
    if cfg.storage_memory != old.storage_memory {
        return bad("stream configuration update can not change storage type");
    }
    if cfg.retention != old.retention && (old.retention == "workqueue" || cfg.retention == "workqueue") {
        return bad("stream configuration update can not change retention policy to/from workqueue");
    }
    if !cfg.sealed && old.sealed {
        return bad("stream configuration update can not unseal a sealed stream");
    }
    if !cfg.deny_delete && old.deny_delete {
        return bad("stream configuration update can not cancel deny message deletes");
    }
    if !cfg.deny_purge && old.deny_purge {
        return bad("stream configuration update can not cancel deny purge");
    }
    if cfg.sealed {
        // nats: a sealed stream keeps everything and takes nothing new.
        cfg.max_age = 0;
        cfg.discard_new = true;
        cfg.deny_delete = true;
        cfg.deny_purge = true;
        cfg.allow_rollup_hdrs = false;
    }
    Ok(cfg)
}

fn parse_config(body: &[u8], name_in_subject: &str, create: bool) -> Result<StreamConfig, ApiError> {
    if body.len() > MAX_API_BODY {
        return Err(ApiError::new(400, 10003, "bad request"));
    }
    // nats decodes nothing from an empty body (an empty config).
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) { b"{}" } else { body };
    let v: Value = serde_json::from_slice(body).map_err(|e| json_err(&e))?;
    let Value::Object(m) = v else {
        return Err(ApiError::invalid_json(
            "json: cannot unmarshal non-object into Go value of type server.StreamConfigRequest",
        ));
    };
    if let Some(k) = m.keys().find(|k| !KNOWN_FIELDS.contains(&k.as_str())) {
        return Err(ApiError::invalid_json(&format!("json: unknown field \"{k}\"")));
    }
    // Types first (json.Unmarshal fails before any check).
    let name = get_str(&m, "name")?.unwrap_or_default().to_string();
    let description = get_str(&m, "description")?.unwrap_or_default().to_string();
    let mut subjects = get_strs(&m, "subjects")?;
    let max_consumers = get_int(&m, "max_consumers", "int", i64::MIN, i64::MAX)?;
    let max_msgs = get_i64(&m, "max_msgs")?;
    let max_bytes = get_i64(&m, "max_bytes")?;
    let max_age = get_i64(&m, "max_age")?.unwrap_or(0);
    let max_per = get_i64(&m, "max_msgs_per_subject")?;
    let max_msg_size = get_int(&m, "max_msg_size", "int32", i32::MIN as i64, i32::MAX as i64)?;
    let replicas = get_int(&m, "num_replicas", "int", i64::MIN, i64::MAX)?;
    let dw = get_i64(&m, "duplicate_window")?.unwrap_or(0);
    let first_seq = match m.get("first_seq") {
        None | Some(Value::Null) => 0,
        Some(v) => v.as_u64().ok_or_else(|| unmarshal_err("first_seq", "uint64", v))?,
    };
    // nats' enum UnmarshalJSON: `can not unmarshal %q` of the raw JSON.
    let bad_enum = |v: &Value| ApiError::invalid_json(&format!("can not unmarshal {}", go_quote(&v.to_string())));
    let enum_str = |k: &str, _ty: &str| -> Result<Option<String>, ApiError> {
        match m.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(bad_enum(v)),
        }
    };
    let retention = match enum_str("retention", "RetentionPolicy")?.as_deref() {
        None | Some("limits") => "limits".to_string(),
        Some("interest") => "interest".to_string(),
        Some("workqueue") => "workqueue".to_string(),
        Some(other) => return Err(bad_enum(&Value::String(other.to_string()))),
    };
    let storage_memory = match enum_str("storage", "StorageType")?.as_deref() {
        None | Some("file") => false,
        Some("memory") => true,
        Some(other) => return Err(bad_enum(&Value::String(other.to_string()))),
    };
    let discard_new = match enum_str("discard", "DiscardPolicy")?.map(|d| d.to_ascii_lowercase()).as_deref() {
        None | Some("old") => false,
        Some("new") => true,
        Some(other) => return Err(bad_enum(&Value::String(other.to_string()))),
    };
    let compression = match enum_str("compression", "StoreCompression")?.as_deref() {
        None | Some("") | Some("none") => "none".to_string(),
        Some("s2") => "s2".to_string(),
        Some(other) => return Err(bad_enum(&Value::String(other.to_string()))),
    };
    let placement = match m.get("placement") {
        None | Some(Value::Null) => None,
        Some(Value::Object(p)) => {
            if let Some(k) = p.keys().find(|k| !["cluster", "tags", "preferred"].contains(&k.as_str())) {
                return Err(ApiError::invalid_json(&format!("json: unknown field \"{k}\"")));
            }
            let cluster = get_str(p, "cluster")?.filter(|c| !c.is_empty()).map(String::from);
            let tags = get_strs(p, "tags")?;
            if get_str(p, "preferred")?.is_some_and(|s| !s.is_empty()) {
                return Err(ApiError::invalid_config("preferred can not be set for stream placement"));
            }
            if cluster.is_none() && tags.is_empty() {
                None
            } else {
                Some(Placement { cluster, tags })
            }
        }
        Some(v) => return Err(unmarshal_err("placement", "server.Placement", v)),
    };
    let (consumer_inactive_threshold, consumer_max_ack_pending) = match m.get("consumer_limits") {
        None | Some(Value::Null) => (0, 0),
        Some(Value::Object(c)) => {
            if let Some(k) = c.keys().find(|k| !["inactive_threshold", "max_ack_pending"].contains(&k.as_str())) {
                return Err(ApiError::invalid_json(&format!("json: unknown field \"{k}\"")));
            }
            (
                get_i64(c, "inactive_threshold")?.unwrap_or(0),
                get_int(c, "max_ack_pending", "int", i64::MIN, i64::MAX)?.unwrap_or(0),
            )
        }
        Some(v) => return Err(unmarshal_err("consumer_limits", "server.StreamConsumerLimits", v)),
    };
    let mut metadata = crate::vecmap::VecMap::new();
    match m.get("metadata") {
        None | Some(Value::Null) => {}
        Some(Value::Object(md)) => {
            for (k, v) in md {
                let v = v.as_str().ok_or_else(|| unmarshal_err("metadata", "string", v))?;
                // The server's own keys are replaced (nats deleteDynamicMetadata).
                if !k.starts_with("_nats.") {
                    metadata.insert(k.clone(), v.to_string());
                }
            }
        }
        Some(v) => return Err(unmarshal_err("metadata", "map[string]string", v)),
    }
    let flags = [
        "no_ack",
        "sealed",
        "deny_delete",
        "deny_purge",
        "allow_rollup_hdrs",
        "allow_direct",
        "mirror_direct",
        "discard_new_per_subject",
        "allow_msg_ttl",
        "allow_msg_counter",
        "allow_atomic",
        "allow_msg_schedules",
        "pedantic",
    ];
    for f in flags {
        get_bool(&m, f)?;
    }
    // jsStreamCreateRequest, in order (an update checks the name after
    // checkStreamCfg, below).
    let sealed = get_bool(&m, "sealed")?;
    let has_mirror = m.get("mirror").is_some_and(|v| !v.is_null());
    let mirror_direct = get_bool(&m, "mirror_direct")?;
    if create {
        if name_in_subject != name {
            return Err(ApiError::new(400, 10056, "stream name in subject does not match request"));
        }
        if name.contains(['\\', '/']) {
            return Err(ApiError::new(400, 10128, "Stream name can not contain path separators"));
        }
        if sealed {
            return Err(ApiError::invalid_config("stream configuration for create can not be sealed"));
        }
        if mirror_direct && !has_mirror {
            return Err(ApiError::invalid_config("stream has no mirror but does have mirror direct"));
        }
    }
    // Features jetsim does not model: refused rather than faked.
    let unmodelled = |what: &str| {
        Err(ApiError::invalid_config(&format!("{what} is not modelled by jetsim (nats-server 2.12 supports it)")))
    };
    let has_sources = m.get("sources").is_some_and(|v| v.as_array().is_some_and(|a| !a.is_empty()));
    if has_mirror {
        // checkStreamCfg's mirror rules come first.
        if m.get("first_seq").and_then(Value::as_u64).is_some_and(|f| f > 0) {
            return Err(ApiError::new(400, 10143, "stream mirrors can not have first sequence configured"));
        }
        if !subjects.is_empty() {
            return Err(ApiError::new(400, 10034, "stream mirrors can not contain subjects"));
        }
        if has_sources {
            return Err(ApiError::new(400, 10031, "stream mirrors can not also contain other sources"));
        }
    }
    if has_mirror || has_sources {
        return unmodelled("mirrors and sources");
    }
    let pair = |k: &str, extra: &[&str]| -> Result<Option<Map<String, Value>>, ApiError> {
        match m.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(o)) => {
                if let Some(f) =
                    o.keys().find(|f| !["src", "dest"].contains(&f.as_str()) && !extra.contains(&f.as_str()))
                {
                    return Err(ApiError::invalid_json(&format!("json: unknown field \"{f}\"")));
                }
                Ok(Some(o.clone()))
            }
            Some(v) => Err(unmarshal_err(k, "server.SubjectTransformConfig", v)),
        }
    };
    let subject_transform = match pair("subject_transform", &[])? {
        None => None,
        Some(o) => {
            let src = get_str(&o, "src")?.unwrap_or("").to_string();
            let dest = get_str(&o, "dest")?.unwrap_or("").to_string();
            let src = if src.is_empty() { ">".to_string() } else { src };
            if !crate::subject::is_valid_subject(&src) {
                return Err(ApiError::new(400, 10155, format!("stream transform source: invalid subject {src}")));
            }
            if !transform_valid(&src, &dest) {
                return Err(ApiError::new(
                    400,
                    10156,
                    format!("stream transform: invalid mapping destination {dest:?}"),
                ));
            }
            Some((src, dest))
        }
    };
    let republish = match pair("republish", &["headers_only"])? {
        None => None,
        Some(o) => {
            let src = get_str(&o, "src")?.unwrap_or("").to_string();
            let src = if src.is_empty() { ">".to_string() } else { src };
            let dest = get_str(&o, "dest")?.unwrap_or("").to_string();
            let headers_only = get_bool(&o, "headers_only")?;
            if !crate::subject::is_valid_subject(&src) || !transform_valid(&src, &dest) {
                return Err(ApiError::invalid_config(&format!(
                    "stream configuration for republish with transform from '{src}' to '{dest}' not valid"
                )));
            }
            Some((src, dest, headers_only))
        }
    };
    for f in ["allow_msg_ttl", "allow_msg_counter", "allow_atomic", "allow_msg_schedules"] {
        if get_bool(&m, f)? {
            return unmodelled(f);
        }
    }
    if get_i64(&m, "subject_delete_marker_ttl")?.unwrap_or(0) != 0 {
        return unmodelled("subject_delete_marker_ttl");
    }
    if get_str(&m, "persist_mode")?.is_some_and(|p| !p.is_empty() && p != "default") {
        return unmodelled("persist_mode");
    }
    // checkStreamCfg, in order.
    let bad_char = name.chars().any(|c| matches!(c, ' ' | '\t' | '\r' | '\n' | '\u{c}' | '.' | '*' | '>' | '\\' | '/'));
    if name.is_empty() || bad_char {
        return Err(ApiError::invalid_config("stream name is required and can not contain '.', '*', '>', '\\', '/'"));
    }
    if name.len() > crate::subject::MAX_ASSET_NAME_LEN {
        return Err(ApiError::invalid_config(&format!(
            "stream name is too long, maximum allowed is {}",
            crate::subject::MAX_ASSET_NAME_LEN
        )));
    }
    if description.len() > MAX_DESCRIPTION_LEN {
        return Err(ApiError::invalid_config(&format!(
            "stream description is too long, maximum allowed is {MAX_DESCRIPTION_LEN}"
        )));
    }
    if metadata.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>() > MAX_METADATA_LEN {
        return Err(ApiError::invalid_config(&format!(
            "stream metadata exceeds maximum size of {MAX_METADATA_LEN} bytes"
        )));
    }
    let num_replicas = match replicas {
        None | Some(0) => 1,
        Some(r) if r > STREAM_MAX_REPLICAS as i64 => {
            return Err(ApiError::invalid_config(&format!("maximum replicas is {STREAM_MAX_REPLICAS}")))
        }
        Some(r) if r < 0 => return Err(ApiError::new(400, 10133, "replicas count cannot be negative")),
        Some(r) => r as u32,
    };
    let lim = |v: Option<i64>| match v {
        None | Some(0) => -1,
        Some(n) if n < -1 => -1,
        Some(n) => n,
    };
    if max_age < 0 {
        return Err(ApiError::invalid_config("max age can not be negative"));
    }
    if max_age != 0 && max_age < 100 * MS as i64 {
        return Err(ApiError::invalid_config("max age needs to be >= 100ms"));
    }
    let mut dw = dw;
    if dw == 0 {
        dw = if max_age != 0 && max_age < DEFAULT_DUPLICATE_WINDOW { max_age } else { DEFAULT_DUPLICATE_WINDOW };
    }
    if dw < 0 {
        return Err(ApiError::invalid_config("duplicates window can not be negative"));
    }
    if max_age != 0 && dw > max_age {
        return Err(ApiError::invalid_config("duplicates window can not be larger then max age"));
    }
    if dw > 0 && dw < 100 * MS as i64 {
        return Err(ApiError::invalid_config("duplicates window needs to be >= 100ms"));
    }
    let deny_purge = get_bool(&m, "deny_purge")?;
    let allow_rollup_hdrs = get_bool(&m, "allow_rollup_hdrs")?;
    if deny_purge && allow_rollup_hdrs {
        return Err(ApiError::invalid_config("roll-ups require the purge permission"));
    }
    let max_msgs_per_subject = lim(max_per);
    let discard_new_per_subject = get_bool(&m, "discard_new_per_subject")?;
    if discard_new_per_subject {
        if !discard_new {
            return Err(ApiError::invalid_config("discard new per subject requires discard new policy to be set"));
        }
        if max_msgs_per_subject <= 0 {
            return Err(ApiError::invalid_config("discard new per subject requires max msgs per subject > 0"));
        }
    }
    let no_ack = get_bool(&m, "no_ack")?;
    if subjects.is_empty() {
        subjects.push(name.clone());
    }
    if subjects.len() > MAX_SUBJECTS {
        return Err(ApiError::invalid_config(&format!("jetsim allows at most {MAX_SUBJECTS} subjects per stream")));
    }
    for (i, s) in subjects.iter().enumerate() {
        if !crate::subject::is_valid_subject(s) {
            return Err(ApiError::invalid_config("invalid subject"));
        }
        if subjects[..i].contains(s) {
            return Err(ApiError::invalid_config("duplicate subjects detected"));
        }
        if s == ">" {
            if !no_ack {
                return Err(ApiError::invalid_config("capturing all subjects requires no-ack to be true"));
            }
            if num_replicas != 1 {
                return Err(ApiError::invalid_config("capturing all subjects requires replicas of 1"));
            }
        }
        if !no_ack {
            let collide = |ns: &str| crate::subject::subjects_collide(s, ns);
            if (collide("$JS.>") || collide("$JSC.>") || collide("$NRG.>"))
                && !crate::subject::is_subset_match(s, "$JS.EVENT.>")
            {
                return Err(ApiError::invalid_config(
                    "subjects that overlap with jetstream api require no-ack to be true",
                ));
            }
            if collide("$SYS.>") && !crate::subject::is_subset_match(s, "$SYS.ACCOUNT.>") {
                return Err(ApiError::invalid_config(
                    "subjects that overlap with system api require no-ack to be true",
                ));
            }
        }
        // nats checks the later subjects while still at this one, so a
        // repeated subject reads as an overlap.
        for t in &subjects[i + 1..] {
            if crate::subject::subjects_collide(t, s) {
                return Err(ApiError::invalid_config(&format!("subject {s:?} overlaps with {t:?}")));
            }
        }
    }
    if let Some((_, dest, _)) = &republish {
        if subjects.iter().any(|s| crate::subject::subjects_collide(dest, s)) {
            return Err(ApiError::invalid_config("stream configuration for republish destination forms a cycle"));
        }
    }
    if !create && name_in_subject != name {
        return Err(ApiError::new(400, 10056, "stream name in subject does not match request"));
    }
    Ok(StreamConfig {
        name,
        description,
        subjects,
        retention,
        max_consumers: lim(max_consumers),
        max_msgs: lim(max_msgs),
        max_bytes: lim(max_bytes),
        max_age,
        max_msgs_per_subject,
        max_msg_size: lim(max_msg_size),
        discard_new,
        storage_memory,
        num_replicas,
        no_ack,
        duplicate_window: dw,
        placement,
        compression,
        first_seq,
        subject_transform,
        republish: republish.clone(),
        allow_direct: get_bool(&m, "allow_direct")?,
        mirror_direct,
        discard_new_per_subject,
        sealed,
        deny_delete: get_bool(&m, "deny_delete")?,
        deny_purge,
        allow_rollup_hdrs,
        consumer_inactive_threshold,
        consumer_max_ack_pending,
        metadata,
    })
}

/// Hard limit: subjects per stream.
pub const MAX_SUBJECTS: usize = 1024;

/// Virtual time as RFC 3339 (virtual time 0 is 2025-01-01T00:00:00Z).
pub fn rfc3339(t: Time) -> String {
    const BASE_DAYS: i64 = 20089; // 2025-01-01 since 1970-01-01
    let secs = (t / SEC) as i64;
    let nanos = t % SEC;
    let days = BASE_DAYS + secs / 86_400;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    let frac = if nanos == 0 { String::new() } else { format!(".{nanos:09}").trim_end_matches('0').to_string() };
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{frac}Z", rem / 3600, (rem / 60) % 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults_and_errors() {
        let c = parse_stream_config(br#"{"name":"S","subjects":["a.>"],"num_replicas":3}"#, "S").unwrap();
        assert_eq!(
            (c.max_msgs, c.max_bytes, c.num_replicas, c.duplicate_window),
            (-1, -1, 3, DEFAULT_DUPLICATE_WINDOW)
        );
        assert_eq!(parse_stream_config(b"{", "S").unwrap_err().err_code, 10025);
        assert_eq!(parse_stream_config(b"[1]", "S").unwrap_err().err_code, 10025);
        let e = parse_stream_config(br#"{"name":"S","bogus":1}"#, "S").unwrap_err();
        assert_eq!(e.description, "invalid JSON: json: unknown field \"bogus\"");
        assert_eq!(parse_stream_config(br#"{"name":"T"}"#, "S").unwrap_err().err_code, 10056);
        assert_eq!(parse_stream_config(br#"{"name":"S","num_replicas":7}"#, "S").unwrap_err().err_code, 10052);
        assert_eq!(parse_stream_config(br#"{"name":"S","max_msgs":"x"}"#, "S").unwrap_err().err_code, 10025);
        let c = parse_stream_config(br#"{"name":"S"}"#, "S").unwrap();
        assert_eq!(c.subjects, vec!["S".to_string()]);
    }

    #[test]
    fn transforms() {
        assert_eq!(transform("in.>", "stored.>", "in.a.b").as_deref(), Some("stored.a.b"));
        assert_eq!(transform("a.*.*", "b.$2.{{wildcard(1)}}", "a.x.y").as_deref(), Some("b.y.x"));
        assert_eq!(transform("a.*", "b.*", "a.x").as_deref(), Some("b.x"));
        assert_eq!(transform("a.*", "b.*", "c.x"), None);
        assert!(transform_valid("a.*.*", "b.$2.{{wildcard(1)}}"));
        assert!(transform_valid("in.>", "stored.>"));
        assert!(!transform_valid("a.*", "b.$2"));
        assert!(!transform_valid("a.*", "b.>"));
    }

    #[test]
    fn go_escaping() {
        assert_eq!(
            go_escape(br#"{"s":["a.>","<&>"]}"#.to_vec()),
            br#"{"s":["a.\u003e","\u003c\u0026\u003e"]}"#.to_vec()
        );
        assert_eq!(go_escape("\u{2028}x".as_bytes().to_vec()), br"\u2028x".to_vec());
        let cfg = parse_stream_config(
            br#"{"name":"S","subjects":["s.>"],"metadata":{"b":"1","_nats.ver":"x","A":"2"}}"#,
            "S",
        )
        .unwrap();
        let md = cfg.to_json()["metadata"].clone();
        assert_eq!(md.to_string(), r#"{"A":"2","_nats.level":"3","_nats.req.level":"0","_nats.ver":"2.12.8","b":"1"}"#);
    }

    #[test]
    fn time_format() {
        assert_eq!(rfc3339(0), "2025-01-01T00:00:00Z");
        assert_eq!(rfc3339(86_400 * SEC + 1_500 * MS), "2025-01-02T00:00:01.5Z");
    }
}
