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
    serde_json::to_vec(&Value::Object(m)).unwrap_or_default()
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Placement {
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
    pub duplicate_window: i64,
    pub placement: Option<Placement>,
    pub sealed: bool,
    pub deny_delete: bool,
    pub deny_purge: bool,
    pub allow_rollup_hdrs: bool,
    pub allow_direct: bool,
    pub mirror_direct: bool,
}

/// StreamConfig as nats-server 2.12 writes it (field order of the Go struct).
#[derive(Serialize)]
struct ConfigJson<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    description: &'a str,
    subjects: &'a [String],
    retention: &'a str,
    max_consumers: i64,
    max_msgs: i64,
    max_bytes: i64,
    max_age: i64,
    max_msgs_per_subject: i64,
    max_msg_size: i64,
    discard: &'a str,
    storage: &'a str,
    num_replicas: u32,
    duplicate_window: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    placement: Option<&'a Placement>,
    compression: &'a str,
    allow_direct: bool,
    mirror_direct: bool,
    sealed: bool,
    deny_delete: bool,
    deny_purge: bool,
    allow_rollup_hdrs: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    no_ack: bool,
    consumer_limits: Map<String, Value>,
}

impl StreamConfig {
    pub fn memory(&self) -> bool {
        self.storage_memory
    }

    pub fn to_json(&self) -> Value {
        let j = ConfigJson {
            name: &self.name,
            description: &self.description,
            subjects: &self.subjects,
            retention: &self.retention,
            max_consumers: self.max_consumers,
            max_msgs: self.max_msgs,
            max_bytes: self.max_bytes,
            max_age: self.max_age,
            max_msgs_per_subject: self.max_msgs_per_subject,
            max_msg_size: self.max_msg_size,
            discard: if self.discard_new { "new" } else { "old" },
            storage: if self.storage_memory { "memory" } else { "file" },
            num_replicas: self.num_replicas,
            duplicate_window: self.duplicate_window,
            placement: self.placement.as_ref(),
            compression: "none",
            allow_direct: self.allow_direct,
            mirror_direct: self.mirror_direct,
            sealed: self.sealed,
            deny_delete: self.deny_delete,
            deny_purge: self.deny_purge,
            allow_rollup_hdrs: self.allow_rollup_hdrs,
            no_ack: self.no_ack,
            consumer_limits: Map::new(),
        };
        serde_json::to_value(&j).unwrap_or(Value::Null)
    }
}

/// Fields nats-server 2.12's StreamConfig knows (strict JSON refuses others).
const KNOWN_FIELDS: &[&str] = &[
    "name", "description", "subjects", "retention", "max_consumers", "max_msgs", "max_bytes", "max_age",
    "max_msgs_per_subject", "max_msg_size", "discard", "discard_new_per_subject", "storage", "num_replicas",
    "no_ack", "template_owner", "duplicate_window", "placement", "mirror", "sources", "sealed", "deny_delete",
    "deny_purge", "allow_rollup_hdrs", "allow_direct", "mirror_direct", "republish", "first_seq",
    "subject_transform", "compression", "consumer_limits", "metadata", "allow_msg_ttl",
    "subject_delete_marker_ttl", "allow_msg_counter", "allow_atomic", "allow_msg_schedules", "persist_mode",
    "pedantic",
];

fn unmarshal_err(field: &str, want: &str, got: &Value) -> ApiError {
    let kind = match got {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    ApiError::invalid_json(&format!("json: cannot unmarshal {kind} into Go struct field StreamConfig.{field} of type {want}"))
}

fn get_i64(m: &Map<String, Value>, k: &str) -> Result<Option<i64>, ApiError> {
    match m.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(|| unmarshal_err(k, "int64", v)),
    }
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
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map(String::from).ok_or_else(|| unmarshal_err(k, "string", v)))
            .collect(),
        Some(v) => Err(unmarshal_err(k, "[]string", v)),
    }
}

/// Parse a StreamConfig request body (`name_in_subject` from the API subject),
/// apply nats' defaults and validation. Errors are the nats API errors.
pub fn parse_stream_config(body: &[u8], name_in_subject: &str) -> Result<StreamConfig, ApiError> {
    if body.is_empty() {
        return Err(ApiError::invalid_json("unexpected end of JSON input"));
    }
    if body.len() > MAX_API_BODY {
        return Err(ApiError::new(400, 10003, "bad request"));
    }
    let v: Value = serde_json::from_slice(body).map_err(|e| ApiError::invalid_json(&e.to_string()))?;
    let Value::Object(m) = v else {
        return Err(ApiError::invalid_json("json: cannot unmarshal non-object into Go value of type server.StreamConfig"));
    };
    if let Some(k) = m.keys().find(|k| !KNOWN_FIELDS.contains(&k.as_str())) {
        return Err(ApiError::invalid_json(&format!("json: unknown field \"{k}\"")));
    }
    let name = get_str(&m, "name")?.unwrap_or_default().to_string();
    if name.is_empty() {
        // nats fills an empty name from the subject.
    } else if name != name_in_subject {
        return Err(ApiError::new(400, 10056, "stream name in subject does not match request"));
    }
    let name = name_in_subject.to_string();
    if !crate::subject::is_valid_asset_name(&name) {
        return Err(ApiError::invalid_config("stream name is required and can not contain '.', '*', '>'"));
    }
    let lim = |k: &str| -> Result<i64, ApiError> {
        Ok(match get_i64(&m, k)? {
            None | Some(0) => -1,
            Some(n) if n < -1 => -1,
            Some(n) => n,
        })
    };
    let max_age = get_i64(&m, "max_age")?.unwrap_or(0);
    if max_age < 0 || (max_age != 0 && max_age < 100 * MS as i64) {
        return Err(ApiError::invalid_config("max age needs to be >= 100ms"));
    }
    let mut dw = get_i64(&m, "duplicate_window")?.unwrap_or(0);
    if dw < 0 {
        return Err(ApiError::invalid_config("duplicates window can not be negative"));
    }
    if dw == 0 {
        dw = DEFAULT_DUPLICATE_WINDOW;
        if max_age != 0 && max_age < dw {
            dw = max_age;
        }
    } else if max_age != 0 && dw > max_age {
        return Err(ApiError::invalid_config("duplicates window can not be larger then max age"));
    }
    let replicas = match get_i64(&m, "num_replicas")? {
        None | Some(0) => 1,
        Some(r) if r < 0 => return Err(ApiError::new(400, 10133, "replicas count cannot be negative")),
        Some(r) if r > STREAM_MAX_REPLICAS as i64 => {
            return Err(ApiError::invalid_config(&format!("maximum replicas is {STREAM_MAX_REPLICAS}")))
        }
        Some(r) => r as u32,
    };
    let retention = get_str(&m, "retention")?.unwrap_or("limits").to_string();
    match retention.as_str() {
        "limits" => {}
        "interest" | "workqueue" => {
            return Err(ApiError::invalid_config(&format!(
                "retention {retention} is not modelled by jetsim yet (limits only)"
            )))
        }
        other => return Err(ApiError::invalid_json(&format!("can not unmarshal {other:?} into RetentionPolicy"))),
    }
    let storage_memory = match get_str(&m, "storage")?.unwrap_or("file") {
        "file" => false,
        "memory" => true,
        other => return Err(ApiError::invalid_json(&format!("can not unmarshal {other:?} into StorageType"))),
    };
    let discard_new = match get_str(&m, "discard")?.unwrap_or("old") {
        "old" => false,
        "new" => true,
        other => return Err(ApiError::invalid_json(&format!("can not unmarshal {other:?} into DiscardPolicy"))),
    };
    let mut subjects = get_strs(&m, "subjects")?;
    if subjects.is_empty() {
        subjects.push(name.clone());
    }
    for (i, s) in subjects.iter().enumerate() {
        if !crate::subject::is_valid_subject(s) {
            return Err(ApiError::invalid_config(&format!("invalid subject {s:?}")));
        }
        if s == ">" {
            return Err(ApiError::invalid_config("subjects '>' overlap with internal subjects; no_ack required"));
        }
        if s.starts_with("$JS.") || s.starts_with("$NRG.") || s.starts_with("$SYS.") {
            return Err(ApiError::invalid_config(&format!("subject {s:?} overlaps with internal subjects")));
        }
        for t in &subjects[..i] {
            if crate::subject::subjects_collide(s, t) {
                return Err(ApiError::invalid_config(&format!("subject {t:?} overlaps with {s:?}")));
            }
        }
    }
    let placement = match m.get("placement") {
        None | Some(Value::Null) => None,
        Some(Value::Object(p)) => {
            let cluster = get_str(p, "cluster")?.filter(|c| !c.is_empty()).map(String::from);
            let tags = get_strs(p, "tags")?;
            if p.contains_key("preferred") {
                return Err(ApiError::invalid_config("preferred leader placement is not allowed on stream create"));
            }
            if cluster.is_none() && tags.is_empty() {
                None
            } else {
                Some(Placement { cluster, tags })
            }
        }
        Some(v) => return Err(unmarshal_err("placement", "server.Placement", v)),
    };
    if get_bool(&m, "sealed")? {
        return Err(ApiError::invalid_config("stream configuration for create can not be sealed"));
    }
    if m.get("mirror").is_some_and(|v| !v.is_null()) || m.get("sources").is_some_and(|v| v.as_array().is_some_and(|a| !a.is_empty())) {
        return Err(ApiError::invalid_config("mirrors and sources are not modelled by jetsim yet"));
    }
    Ok(StreamConfig {
        name,
        description: get_str(&m, "description")?.unwrap_or_default().to_string(),
        subjects,
        retention,
        max_consumers: lim("max_consumers")?,
        max_msgs: lim("max_msgs")?,
        max_bytes: lim("max_bytes")?,
        max_age,
        max_msgs_per_subject: lim("max_msgs_per_subject")?,
        max_msg_size: lim("max_msg_size")?,
        discard_new,
        storage_memory,
        num_replicas: replicas,
        no_ack: get_bool(&m, "no_ack")?,
        duplicate_window: dw,
        placement,
        sealed: false,
        deny_delete: get_bool(&m, "deny_delete")?,
        deny_purge: get_bool(&m, "deny_purge")?,
        allow_rollup_hdrs: get_bool(&m, "allow_rollup_hdrs")?,
        allow_direct: get_bool(&m, "allow_direct")?,
        mirror_direct: get_bool(&m, "mirror_direct")?,
    })
}

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
        assert_eq!((c.max_msgs, c.max_bytes, c.num_replicas, c.duplicate_window), (-1, -1, 3, DEFAULT_DUPLICATE_WINDOW));
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
    fn time_format() {
        assert_eq!(rfc3339(0), "2025-01-01T00:00:00Z");
        assert_eq!(rfc3339(86_400 * SEC + 1_500 * MS), "2025-01-02T00:00:01.5Z");
    }
}
