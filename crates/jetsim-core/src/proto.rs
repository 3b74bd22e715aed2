//! The NATS client protocol, both directions, as a sans-IO incremental codec.
//!
//! * [`ServerParser`]: bytes a client sends → [`ClientOp`]s (what nats-server's
//!   `client.parse` does for a `CLIENT` connection).
//! * [`ClientParser`]: bytes a server sends → [`ServerOp`]s.
//! * Writers for both directions (`write_*`), the `INFO`/`CONNECT` JSON types
//!   ([`ServerInfo`], [`ConnectInfo`]) and a header-block helper ([`Headers`]).
//!
//! Behaviour follows nats-server **v2.12.8** (`server/parser.go`,
//! `server/client.go`, `server/errors.go`, `server/util.go`, `server/server.go`).
//! Decisions worth knowing, with the source they come from:
//!
//! * **Error texts** ([`ProtoError::text`]) are what nats-server puts between the
//!   quotes of `-ERR '<text>'\r\n`; **the quotes are not part of `text`**,
//!   [`write_err`] adds them. An empty `text` means nats-server closes the
//!   connection *without* sending any `-ERR` (see [`ProtoError::sends_err`]).
//!   - unknown operation, bad keyword, missing space after `PUB`/`SUB`/…, an
//!     empty line, `MSG`/`RS+`/`A+`/`LS+` from a client, a payload not followed by
//!     exactly `\r\n` → `Unknown Protocol Operation`, closes (parser.go `parseErr:`).
//!   - control line longer than 4096 (`MAX_CONTROL_LINE_SIZE`) →
//!     `maximum control line exceeded` (lower case: parser.go
//!     `overMaxControlLineLimit` sends `ErrMaxControlLine.Error()`, errors.go), closes.
//!     The docs' "Maximum Control Line Exceeded" is only the closed-state name.
//!   - `PUB`/`HPUB` size over max_payload → `Maximum Payload Violation`, closes
//!     (client.go `maxPayloadViolation`).
//!   - wrong number of `PUB`/`HPUB`/`SUB`/`UNSUB` fields, a size that is not 1–9
//!     ASCII digits (so negative sizes too, util.go `parseSize`), `HPUB` header
//!     size > total size, `HPUB` on a connection without headers, bad `CONNECT`
//!     or client `INFO` JSON, a client sending `-ERR` → closed with **no** `-ERR`
//!     (client.go `processPub`/`processHeaderPub`/`parseSub`/`processUnsub`/
//!     `processConnect` return a plain error; `readLoop` then calls
//!     `closeConnection(ProtocolViolation)` without writing anything).
//!     nats-server 2.12 never sends `Parser Error`.
//!   - pedantic connections publishing to a subject that is not a valid literal
//!     → `Invalid Publish Subject`, connection stays open **and the message is
//!     still delivered** (client.go `processPub`). Emitted as
//!     [`ClientOp::SendErr`] just before the `Pub`/`Hpub`. Non-pedantic
//!     connections get no check at all: a publish to `foo.*` is accepted and
//!     routed like any other subject.
//!   - auth required and the first operation is not `CONNECT` →
//!     `Authorization Violation`, closes (parser.go `authErr:`), only if
//!     [`ServerParser::set_auth_required`] was called.
//!   - `invalid client protocol` and `no responders requires headers support`
//!     are checked by `processConnect` *after* authentication, so the parser does
//!     not raise them: call [`ConnectInfo::check`] from the server after auth.
//!   - `Invalid Subject` (bad `SUB` subject) comes from the sublist insert; the
//!     server raises it ([`ProtoError::invalid_subject`]).
//! * **Line endings.** A control line ends at `\n`; if the line contained a `\r`
//!   the last byte before `\n` is dropped, so both `\r\n` and a bare `\n` work
//!   (parser.go `c.drop`). nats-server's handling of a `\r` in the *middle* of a
//!   line depends on how reads are split; jetsim always behaves like the
//!   unsplit read (drop the byte before `\n`), so results never depend on chunking.
//! * `PING`/`PONG`/`+OK` ignore everything up to the next `\n` (`PING foo\n` is a
//!   PING). `CONNECT`/`INFO` need no space before the JSON. Keywords are
//!   case-insensitive. The first byte after the keyword's spaces always belongs
//!   to the argument, even if it is `\r` (so `CONNECT \r\n` is bad JSON).
//! * **CONNECT JSON** is decoded the way Go's `encoding/json` would decode it
//!   onto the connection's current options: fields are matched
//!   case-insensitively, `null` leaves a field unchanged, unknown fields are
//!   ignored, later duplicates win, and a second `CONNECT` is applied on top of
//!   the first. Before the first `CONNECT` the options are nats-server's
//!   `defaultOpts`: **verbose, pedantic and echo all true**, so `CONNECT {}`
//!   yields a verbose, pedantic connection (server.go `createClient`,
//!   client.go `defaultOpts`). Known gaps versus Go: a lone UTF-16 surrogate
//!   escape and an integer written `-0` are errors here; nesting deeper than
//!   128 levels is an error here (serde_json's limit).
//! * A client `INFO` is validated as Go would decode it into `Info` and then
//!   reported as [`ClientOp::Info`]; nats-server ignores it for clients.
//! * A client `HMSG <anything>\r\n` is not rejected by nats-server: it becomes
//!   a publish with an empty subject, no reply and an empty payload, which must
//!   be followed by `\r\n` (parser.go `HMSG_ARG` for a `CLIENT`, unsplit read).
//!   jetsim reports it as `ClientOp::Pub { subject: "" , .. }`.
//! * `HPUB` with header size 0 is reported as `Hpub` with empty headers;
//!   nats-server treats `hdr == 0` like a plain publish on most paths.
//! * Subjects, replies, sids and queue names that are not UTF-8 are converted
//!   lossily (U+FFFD); nats-server keeps the raw bytes.
//! * nats-server echoes the publisher's size *text* into `MSG` (so
//!   `PUB foo 05` is delivered as `MSG foo 1 05`); jetsim's writers always
//!   print the decimal length.
//! * `INFO` lines end with `" \r\n"` (a space before CRLF: util.go
//!   `generateInfoJSON` joins `INFO`, the JSON and CRLF with spaces), and JSON
//!   is written like Go's `json.Marshal` (HTML-escaped `<`, `>`, `&`).
//! * No responders (client.go `processInboundClientMsg`, 2.12):
//!   `HMSG <reply> <sid> <32+len(subj)> <32+len(subj)>\r\nNATS/1.0 503\r\nNats-Subject: <subj>\r\n\r\n\r\n`
//!   ([`write_no_responders`], [`no_responders_header`]).
//!
//! Nothing in here panics on any input, allocates in proportion to a size a
//! peer *claims* rather than sends, or depends on the pointer width.

use bytes::{Bytes, BytesMut};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;

// ---------------------------------------------------------------------------
// Limits and error texts
// ---------------------------------------------------------------------------

/// nats-server `MAX_CONTROL_LINE_SIZE` (const.go): the default `max_control_line`.
pub const MAX_CONTROL_LINE_SIZE: u32 = 4096;
/// nats-server `MAX_PAYLOAD_SIZE` (const.go): the default `max_payload`.
pub const MAX_PAYLOAD_SIZE: u32 = 1024 * 1024;
/// Default control-line limit of [`ClientParser`] (a server's `INFO` can be long).
pub const CLIENT_MAX_CONTROL_LINE: u32 = 1024 * 1024;

/// `-ERR 'Unknown Protocol Operation'` (parser.go `parseErr:`). Closes.
pub const ERR_UNKNOWN_OP: &str = "Unknown Protocol Operation";
/// `-ERR 'maximum control line exceeded'` (parser.go `overMaxControlLineLimit`,
/// errors.go `ErrMaxControlLine`). Closes.
pub const ERR_MAX_CONTROL_LINE: &str = "maximum control line exceeded";
/// `-ERR 'Maximum Payload Violation'` (client.go `maxPayloadViolation`). Closes.
pub const ERR_MAX_PAYLOAD: &str = "Maximum Payload Violation";
/// `-ERR 'Invalid Subject'` (client.go `processSubEx`, sublist insert failed). Stays open.
pub const ERR_INVALID_SUBJECT: &str = "Invalid Subject";
/// `-ERR 'Invalid Publish Subject'` (client.go `processPub`, pedantic only). Stays open.
pub const ERR_INVALID_PUBLISH_SUBJECT: &str = "Invalid Publish Subject";
/// `-ERR 'invalid client protocol'` (client.go `processConnect`, errors.go
/// `ErrBadClientProtocol`). Closes.
pub const ERR_INVALID_PROTOCOL: &str = "invalid client protocol";
/// `-ERR 'no responders requires headers support'` (client.go `processConnect`,
/// errors.go `ErrNoRespondersRequiresHeaders`). Closes.
pub const ERR_NO_RESPONDERS_REQUIRES_HEADERS: &str = "no responders requires headers support";
/// `-ERR 'Authorization Violation'` (client.go `authViolation`). Closes.
pub const ERR_AUTH_VIOLATION: &str = "Authorization Violation";

/// Which protocol error happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProtoErrorKind {
    /// Bad operation name or framing.
    UnknownOperation,
    /// Control line over the limit.
    MaxControlLine,
    /// Payload size over the limit.
    MaxPayload,
    /// Operation before `CONNECT` on a connection that needs auth.
    AuthorizationViolation,
    /// Pedantic publish to a non-literal subject (not fatal).
    InvalidPublishSubject,
    /// Bad subscription subject (raised by the server, not the parser).
    InvalidSubject,
    /// `CONNECT` with `protocol` outside 0..=1 (raised via [`ConnectInfo::check`]).
    InvalidClientProtocol,
    /// `no_responders` without headers (raised via [`ConnectInfo::check`]).
    NoRespondersRequiresHeaders,
    /// `HPUB` on a connection that did not negotiate headers.
    HeadersNotSupported,
    /// Bad `PUB` arguments.
    BadPub,
    /// Bad `HPUB` arguments.
    BadHpub,
    /// Bad `SUB` arguments.
    BadSub,
    /// Bad `UNSUB` arguments.
    BadUnsub,
    /// `CONNECT` JSON that Go would not decode.
    BadConnect,
    /// `INFO` JSON (from a client) that Go would not decode.
    BadInfo,
    /// The client sent `-ERR`; nats-server closes the connection.
    ClientSentErr,
    /// Client side: bad `MSG` arguments.
    BadMsg,
    /// Client side: bad `HMSG` arguments.
    BadHmsg,
}

/// A protocol error.
///
/// `text` is exactly what nats-server writes between the single quotes of
/// `-ERR '<text>'\r\n` (no quotes), or empty when nats-server closes the
/// connection without writing anything. Errors from [`ClientParser`] always
/// have an empty `text` (a client does not answer a server with `-ERR`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtoError {
    /// What happened.
    pub kind: ProtoErrorKind,
    /// The `-ERR` text without quotes; empty if nothing is sent.
    pub text: String,
    /// Whether the connection is closed.
    pub closes: bool,
    /// A human-readable detail for logs and traces; never sent.
    pub detail: String,
}

impl ProtoError {
    fn new(kind: ProtoErrorKind, text: &str, closes: bool, detail: String) -> Self {
        ProtoError { kind, text: text.to_string(), closes, detail }
    }
    /// `-ERR 'Unknown Protocol Operation'`, closes.
    pub fn unknown_op() -> Self {
        Self::new(ProtoErrorKind::UnknownOperation, ERR_UNKNOWN_OP, true, String::new())
    }
    /// `-ERR 'maximum control line exceeded'`, closes.
    pub fn max_control_line() -> Self {
        Self::new(ProtoErrorKind::MaxControlLine, ERR_MAX_CONTROL_LINE, true, String::new())
    }
    /// `-ERR 'Maximum Payload Violation'`, closes.
    pub fn max_payload() -> Self {
        Self::new(ProtoErrorKind::MaxPayload, ERR_MAX_PAYLOAD, true, String::new())
    }
    /// `-ERR 'Authorization Violation'`, closes.
    pub fn auth_violation() -> Self {
        Self::new(ProtoErrorKind::AuthorizationViolation, ERR_AUTH_VIOLATION, true, String::new())
    }
    /// `-ERR 'Invalid Publish Subject'`, stays open.
    pub fn invalid_publish_subject() -> Self {
        Self::new(ProtoErrorKind::InvalidPublishSubject, ERR_INVALID_PUBLISH_SUBJECT, false, String::new())
    }
    /// `-ERR 'Invalid Subject'`, stays open.
    pub fn invalid_subject() -> Self {
        Self::new(ProtoErrorKind::InvalidSubject, ERR_INVALID_SUBJECT, false, String::new())
    }
    /// `-ERR 'invalid client protocol'`, closes.
    pub fn invalid_client_protocol() -> Self {
        Self::new(ProtoErrorKind::InvalidClientProtocol, ERR_INVALID_PROTOCOL, true, String::new())
    }
    /// `-ERR 'no responders requires headers support'`, closes.
    pub fn no_responders_requires_headers() -> Self {
        Self::new(ProtoErrorKind::NoRespondersRequiresHeaders, ERR_NO_RESPONDERS_REQUIRES_HEADERS, true, String::new())
    }
    /// A protocol violation that closes the connection without any `-ERR`.
    pub fn silent_close(kind: ProtoErrorKind, detail: impl Into<String>) -> Self {
        ProtoError { kind, text: String::new(), closes: true, detail: detail.into() }
    }
    /// Whether nats-server writes `-ERR '<text>'` for this error.
    pub fn sends_err(&self) -> bool {
        !self.text.is_empty()
    }
    fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }
    /// The same error as seen by a client parser: nothing is sent back.
    fn client_side(mut self) -> Self {
        self.text.clear();
        self.closes = true;
        self
    }
}

impl fmt::Display for ProtoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.text.is_empty(), self.detail.is_empty()) {
            (false, true) => write!(f, "-ERR '{}'", self.text),
            (false, false) => write!(f, "-ERR '{}' ({})", self.text, self.detail),
            (true, _) => write!(f, "protocol violation {:?}: {}", self.kind, self.detail),
        }
    }
}

impl std::error::Error for ProtoError {}

// ---------------------------------------------------------------------------
// Go-compatible JSON
// ---------------------------------------------------------------------------

/// Serialize like Go's `json.Marshal`: serde_json's output with `<`, `>`, `&`,
/// U+2028 and U+2029 escaped as `\u003c`, `\u003e`, `\u0026`, `\u2028`, `\u2029`.
pub fn to_go_json<T: Serialize + ?Sized>(value: &T) -> String {
    let s = serde_json::to_string(value).unwrap_or_else(|_| String::from("{}"));
    go_html_escape(s)
}

fn go_html_escape(s: String) -> String {
    if !s.contains(['<', '>', '&', '\u{2028}', '\u{2029}']) {
        return s;
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// Go's `encoding/json` key folding (`appendFoldedName`): ASCII upper case, and
/// the non-ASCII runes whose `ToUpper(ToLower(r))` is ASCII.
fn go_fold_eq(key: &str, upper_ascii_name: &str) -> bool {
    let mut a = key.chars();
    let mut b = upper_ascii_name.bytes();
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            (Some(c), Some(n)) => {
                let f = match c {
                    '\u{212A}' => 'K', // Kelvin sign
                    '\u{017F}' => 'S', // long s
                    '\u{0130}' | '\u{0131}' => 'I',
                    c => c.to_ascii_uppercase(),
                };
                if f != n as char {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

fn go_bool<'de, A: MapAccess<'de>>(m: &mut A, f: &mut bool) -> Result<(), A::Error> {
    if let Some(v) = m.next_value::<Option<bool>>()? {
        *f = v;
    }
    Ok(())
}
fn go_string<'de, A: MapAccess<'de>>(m: &mut A, f: &mut String) -> Result<(), A::Error> {
    if let Some(v) = m.next_value::<Option<String>>()? {
        *f = v;
    }
    Ok(())
}
fn go_opt_string<'de, A: MapAccess<'de>>(m: &mut A, f: &mut Option<String>) -> Result<(), A::Error> {
    if let Some(v) = m.next_value::<Option<String>>()? {
        *f = Some(v);
    }
    Ok(())
}
fn go_i64<'de, A: MapAccess<'de>>(m: &mut A, f: &mut i64) -> Result<(), A::Error> {
    if let Some(v) = m.next_value::<Option<i64>>()? {
        *f = v;
    }
    Ok(())
}
fn go_u64<'de, A: MapAccess<'de>>(m: &mut A, f: &mut u64) -> Result<(), A::Error> {
    if let Some(v) = m.next_value::<Option<u64>>()? {
        *f = v;
    }
    Ok(())
}
/// Go `[]string`: `null` sets nil, `null` elements become "".
fn go_strings<'de, A: MapAccess<'de>>(m: &mut A, f: &mut Vec<String>) -> Result<(), A::Error> {
    match m.next_value::<Option<Vec<Option<String>>>>()? {
        None => f.clear(),
        Some(v) => *f = v.into_iter().map(Option::unwrap_or_default).collect(),
    }
    Ok(())
}

/// Type-checks a Go `*SubjectPermission` (`{"allow":[...],"deny":[...]}`) and drops it.
struct GoSubjectPermission;
impl<'de> Deserialize<'de> for GoSubjectPermission {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = GoSubjectPermission;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a subject permission object")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(GoSubjectPermission)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                let mut sink = Vec::new();
                while let Some(k) = m.next_key::<String>()? {
                    if go_fold_eq(&k, "ALLOW") || go_fold_eq(&k, "DENY") {
                        go_strings(&mut m, &mut sink)?;
                    } else {
                        m.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(GoSubjectPermission)
            }
        }
        d.deserialize_any(V)
    }
}

/// Type-checks a Go `[]byte` (a standard base64 string, or an array of bytes).
struct GoBytes;
impl<'de> Deserialize<'de> for GoBytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = GoBytes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("base64 bytes")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(GoBytes)
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                if valid_std_base64(s.as_bytes()) {
                    Ok(GoBytes)
                } else {
                    Err(E::custom("illegal base64 data"))
                }
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Self::Value, A::Error> {
                while s.next_element::<Option<u8>>()?.is_some() {}
                Ok(GoBytes)
            }
        }
        d.deserialize_any(V)
    }
}

/// Go `base64.StdEncoding.Decode` acceptance (it skips `\r` and `\n`).
fn valid_std_base64(s: &[u8]) -> bool {
    let v: Vec<u8> = s.iter().copied().filter(|&c| c != b'\r' && c != b'\n').collect();
    if v.len() & 3 != 0 {
        return false;
    }
    let n = v.len();
    for (i, &c) in v.iter().enumerate() {
        let alpha = c.is_ascii_alphanumeric() || c == b'+' || c == b'/';
        if alpha {
            continue;
        }
        if c != b'=' {
            return false;
        }
        // '=' only in the last quantum, at position 2 (then 3 must be '=') or 3.
        let pos = i % 4;
        let last_quantum = i + 4 - pos == n;
        if !last_quantum || pos < 2 || (pos == 2 && v.get(i + 1) != Some(&b'=')) {
            return false;
        }
    }
    true
}

// ---------------------------------------------------------------------------
// CONNECT
// ---------------------------------------------------------------------------

fn opt_str_empty(v: &Option<String>) -> bool {
    v.as_deref().is_none_or(str::is_empty)
}
fn is_false(v: &bool) -> bool {
    !*v
}
fn ser_opt_str_always<S: Serializer>(v: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(v.as_deref().unwrap_or(""))
}

/// The `CONNECT` options (nats-server `ClientOpts`, client.go).
///
/// Serialized (by [`write_connect`]) in nats.go's `connectInfo` order:
/// `verbose`, `pedantic`, `tls_required`, `name`, `lang`, `version`, `protocol`,
/// `echo`, `headers`, `no_responders` always; the credentials, `account` and
/// `new_account` only when set. Deserialized like Go would (see the module
/// docs); a missing field keeps its [`Default`] value, where `echo` is true.
/// The parser itself starts from [`ConnectInfo::nats_server_initial`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectInfo {
    /// `+OK` after every operation.
    pub verbose: bool,
    /// Extra checks (`Invalid Publish Subject`).
    pub pedantic: bool,
    /// User JWT.
    #[serde(skip_serializing_if = "opt_str_empty")]
    pub jwt: Option<String>,
    /// NKey public key.
    #[serde(skip_serializing_if = "opt_str_empty")]
    pub nkey: Option<String>,
    /// Signed nonce.
    #[serde(skip_serializing_if = "opt_str_empty")]
    pub sig: Option<String>,
    /// User name.
    #[serde(skip_serializing_if = "opt_str_empty")]
    pub user: Option<String>,
    /// Password.
    #[serde(skip_serializing_if = "opt_str_empty")]
    pub pass: Option<String>,
    /// Token.
    #[serde(skip_serializing_if = "opt_str_empty")]
    pub auth_token: Option<String>,
    /// Client requires TLS.
    pub tls_required: bool,
    /// Connection name (written as `""` when `None`).
    #[serde(serialize_with = "ser_opt_str_always")]
    pub name: Option<String>,
    /// Client language (written as `""` when `None`).
    #[serde(serialize_with = "ser_opt_str_always")]
    pub lang: Option<String>,
    /// Client version (written as `""` when `None`).
    #[serde(serialize_with = "ser_opt_str_always")]
    pub version: Option<String>,
    /// Protocol level; nats-server accepts 0 and 1.
    pub protocol: i64,
    /// Deliver the client's own publishes back to it.
    pub echo: bool,
    /// Client supports headers (`HPUB`/`HMSG`).
    pub headers: bool,
    /// Client wants 503 no-responders statuses.
    pub no_responders: bool,
    /// Obsolete account designation; nats-server answers with an auth violation.
    #[serde(skip_serializing_if = "opt_str_empty")]
    pub account: Option<String>,
    /// Obsolete; nats-server answers with an auth violation.
    #[serde(skip_serializing_if = "is_false")]
    pub new_account: bool,
}

impl Default for ConnectInfo {
    /// Everything zero except `echo`, which is true.
    fn default() -> Self {
        ConnectInfo {
            verbose: false,
            pedantic: false,
            jwt: None,
            nkey: None,
            sig: None,
            user: None,
            pass: None,
            auth_token: None,
            tls_required: false,
            name: None,
            lang: None,
            version: None,
            protocol: 0,
            echo: true,
            headers: false,
            no_responders: false,
            account: None,
            new_account: false,
        }
    }
}

impl ConnectInfo {
    /// nats-server's options for a client before any `CONNECT` (`defaultOpts`):
    /// verbose, pedantic and echo true.
    pub fn nats_server_initial() -> Self {
        ConnectInfo { verbose: true, pedantic: true, echo: true, ..ConnectInfo::default() }
    }

    /// Decode a first `CONNECT`'s JSON as nats-server would, i.e. on top of
    /// [`ConnectInfo::nats_server_initial`].
    pub fn from_json(json: &[u8]) -> Result<ConnectInfo, String> {
        let mut c = ConnectInfo::nats_server_initial();
        c.apply_json(json)?;
        Ok(c)
    }

    /// Apply `CONNECT` JSON on top of these options the way Go's
    /// `json.Unmarshal(arg, &c.opts)` does. On error `self` is unchanged.
    pub fn apply_json(&mut self, json: &[u8]) -> Result<(), String> {
        let text = String::from_utf8_lossy(json);
        let mut next = self.clone();
        let mut de = serde_json::Deserializer::from_str(&text);
        ApplyConnect(&mut next).deserialize(&mut de).map_err(|e| e.to_string())?;
        de.end().map_err(|e| e.to_string())?;
        *self = next;
        Ok(())
    }

    /// The checks `processConnect` makes after authentication, in its order:
    /// `protocol` must be 0 or 1, and `no_responders` needs headers
    /// (`server_headers`: the server supports headers, i.e. not `no_header_support`).
    pub fn check(&self, server_headers: bool) -> Result<(), ProtoError> {
        if !(0..=1).contains(&self.protocol) {
            return Err(ProtoError::invalid_client_protocol());
        }
        if self.no_responders && !(server_headers && self.headers) {
            return Err(ProtoError::no_responders_requires_headers());
        }
        Ok(())
    }
}

struct ApplyConnect<'a>(&'a mut ConnectInfo);

impl<'de> DeserializeSeed<'de> for ApplyConnect<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ApplyConnect<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a CONNECT object")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(()) // Go: null into a struct is a no-op
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<(), A::Error> {
        let c = self.0;
        while let Some(k) = m.next_key::<String>()? {
            let k = k.as_str();
            if go_fold_eq(k, "ECHO") {
                go_bool(&mut m, &mut c.echo)?;
            } else if go_fold_eq(k, "VERBOSE") {
                go_bool(&mut m, &mut c.verbose)?;
            } else if go_fold_eq(k, "PEDANTIC") {
                go_bool(&mut m, &mut c.pedantic)?;
            } else if go_fold_eq(k, "TLS_REQUIRED") {
                go_bool(&mut m, &mut c.tls_required)?;
            } else if go_fold_eq(k, "NKEY") {
                go_opt_string(&mut m, &mut c.nkey)?;
            } else if go_fold_eq(k, "JWT") {
                go_opt_string(&mut m, &mut c.jwt)?;
            } else if go_fold_eq(k, "SIG") {
                go_opt_string(&mut m, &mut c.sig)?;
            } else if go_fold_eq(k, "AUTH_TOKEN") {
                go_opt_string(&mut m, &mut c.auth_token)?;
            } else if go_fold_eq(k, "USER") {
                go_opt_string(&mut m, &mut c.user)?;
            } else if go_fold_eq(k, "PASS") {
                go_opt_string(&mut m, &mut c.pass)?;
            } else if go_fold_eq(k, "NAME") {
                go_opt_string(&mut m, &mut c.name)?;
            } else if go_fold_eq(k, "LANG") {
                go_opt_string(&mut m, &mut c.lang)?;
            } else if go_fold_eq(k, "VERSION") {
                go_opt_string(&mut m, &mut c.version)?;
            } else if go_fold_eq(k, "PROTOCOL") {
                go_i64(&mut m, &mut c.protocol)?;
            } else if go_fold_eq(k, "ACCOUNT") {
                go_opt_string(&mut m, &mut c.account)?;
            } else if go_fold_eq(k, "NEW_ACCOUNT") {
                go_bool(&mut m, &mut c.new_account)?;
            } else if go_fold_eq(k, "HEADERS") {
                go_bool(&mut m, &mut c.headers)?;
            } else if go_fold_eq(k, "NO_RESPONDERS") {
                go_bool(&mut m, &mut c.no_responders)?;
            } else if go_fold_eq(k, "IMPORT") || go_fold_eq(k, "EXPORT") {
                m.next_value::<GoSubjectPermission>()?;
            } else if go_fold_eq(k, "REMOTE_ACCOUNT") || go_fold_eq(k, "PROXY_SIG") {
                m.next_value::<Option<String>>()?;
            } else {
                m.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for ConnectInfo {
    /// Go-style decoding on top of [`ConnectInfo::default`].
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut c = ConnectInfo::default();
        ApplyConnect(&mut c).deserialize(d)?;
        Ok(c)
    }
}

// ---------------------------------------------------------------------------
// INFO
// ---------------------------------------------------------------------------

fn is_zero_i64(v: &i64) -> bool {
    *v == 0
}
fn is_zero_u64(v: &u64) -> bool {
    *v == 0
}

/// The server's `INFO` (nats-server `Info`, server.go), the fields a client
/// connection sees, in the struct's order, with Go's `omitempty` rules. Route,
/// gateway and leafnode fields are left out (always empty for clients).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ServerInfo {
    /// `server_id`.
    pub server_id: String,
    /// `server_name`.
    pub server_name: String,
    /// `version`.
    pub version: String,
    /// `proto`.
    pub proto: i64,
    /// `git_commit` (omitempty).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub git_commit: String,
    /// `go`.
    pub go: String,
    /// `host`.
    pub host: String,
    /// `port`.
    pub port: i64,
    /// `headers`.
    pub headers: bool,
    /// `auth_required` (omitempty).
    #[serde(skip_serializing_if = "is_false")]
    pub auth_required: bool,
    /// `tls_required` (omitempty).
    #[serde(skip_serializing_if = "is_false")]
    pub tls_required: bool,
    /// `tls_verify` (omitempty).
    #[serde(skip_serializing_if = "is_false")]
    pub tls_verify: bool,
    /// `tls_available` (omitempty).
    #[serde(skip_serializing_if = "is_false")]
    pub tls_available: bool,
    /// `max_payload` (Go `int32`; a negative value decodes as 0 here).
    pub max_payload: u32,
    /// `jetstream` (omitempty).
    #[serde(skip_serializing_if = "is_false")]
    pub jetstream: bool,
    /// `ip` (omitempty).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ip: String,
    /// `client_id` (omitempty).
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub client_id: u64,
    /// `client_ip` (omitempty).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_ip: String,
    /// `nonce` (omitempty).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub nonce: String,
    /// `cluster` (omitempty).
    #[serde(skip_serializing_if = "opt_str_empty")]
    pub cluster: Option<String>,
    /// `cluster_dynamic` (omitempty).
    #[serde(skip_serializing_if = "is_false")]
    pub cluster_dynamic: bool,
    /// `domain` (omitempty).
    #[serde(skip_serializing_if = "opt_str_empty")]
    pub domain: Option<String>,
    /// `connect_urls` (omitempty).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub connect_urls: Vec<String>,
    /// `ws_connect_urls` (omitempty).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ws_connect_urls: Vec<String>,
    /// `ldm`: lame duck mode (omitempty).
    #[serde(skip_serializing_if = "is_false")]
    pub ldm: bool,
    /// `compression` (omitempty).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub compression: String,
    /// `connect_info` (omitempty).
    #[serde(skip_serializing_if = "is_false")]
    pub connect_info: bool,
    /// `remote_account` (omitempty).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub remote_account: String,
    /// `acc_is_sys` (omitempty).
    #[serde(skip_serializing_if = "is_false")]
    pub acc_is_sys: bool,
    /// `api_lvl`: JetStream API level, 2 for 2.12 (omitempty).
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub api_lvl: i64,
    /// `xkey` (omitempty).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub xkey: String,
}

impl ServerInfo {
    /// Decode `INFO` JSON the way Go decodes it into `Info` (onto the default).
    pub fn from_json(json: &[u8]) -> Result<ServerInfo, String> {
        let text = String::from_utf8_lossy(json);
        let mut info = ServerInfo::default();
        let mut de = serde_json::Deserializer::from_str(&text);
        ApplyInfo(&mut info).deserialize(&mut de).map_err(|e| e.to_string())?;
        de.end().map_err(|e| e.to_string())?;
        Ok(info)
    }
}

struct ApplyInfo<'a>(&'a mut ServerInfo);

impl<'de> DeserializeSeed<'de> for ApplyInfo<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ApplyInfo<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an INFO object")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<(), A::Error> {
        let s = self.0;
        let mut sink_bool = false;
        let mut sink_str = String::new();
        let mut sink_int = 0i64;
        let mut sink_strs = Vec::new();
        while let Some(k) = m.next_key::<String>()? {
            let k = k.as_str();
            let f = |n: &str| go_fold_eq(k, n);
            if f("SERVER_ID") {
                go_string(&mut m, &mut s.server_id)?;
            } else if f("SERVER_NAME") {
                go_string(&mut m, &mut s.server_name)?;
            } else if f("VERSION") {
                go_string(&mut m, &mut s.version)?;
            } else if f("PROTO") {
                go_i64(&mut m, &mut s.proto)?;
            } else if f("GIT_COMMIT") {
                go_string(&mut m, &mut s.git_commit)?;
            } else if f("GO") {
                go_string(&mut m, &mut s.go)?;
            } else if f("HOST") {
                go_string(&mut m, &mut s.host)?;
            } else if f("PORT") {
                go_i64(&mut m, &mut s.port)?;
            } else if f("HEADERS") {
                go_bool(&mut m, &mut s.headers)?;
            } else if f("AUTH_REQUIRED") {
                go_bool(&mut m, &mut s.auth_required)?;
            } else if f("TLS_REQUIRED") {
                go_bool(&mut m, &mut s.tls_required)?;
            } else if f("TLS_VERIFY") {
                go_bool(&mut m, &mut s.tls_verify)?;
            } else if f("TLS_AVAILABLE") {
                go_bool(&mut m, &mut s.tls_available)?;
            } else if f("MAX_PAYLOAD") {
                if let Some(v) = m.next_value::<Option<i32>>()? {
                    s.max_payload = u32::try_from(v).unwrap_or(0);
                }
            } else if f("JETSTREAM") {
                go_bool(&mut m, &mut s.jetstream)?;
            } else if f("IP") {
                go_string(&mut m, &mut s.ip)?;
            } else if f("CLIENT_ID") {
                go_u64(&mut m, &mut s.client_id)?;
            } else if f("CLIENT_IP") {
                go_string(&mut m, &mut s.client_ip)?;
            } else if f("NONCE") {
                go_string(&mut m, &mut s.nonce)?;
            } else if f("CLUSTER") {
                go_opt_string(&mut m, &mut s.cluster)?;
            } else if f("CLUSTER_DYNAMIC") {
                go_bool(&mut m, &mut s.cluster_dynamic)?;
            } else if f("DOMAIN") {
                go_opt_string(&mut m, &mut s.domain)?;
            } else if f("CONNECT_URLS") {
                go_strings(&mut m, &mut s.connect_urls)?;
            } else if f("WS_CONNECT_URLS") {
                go_strings(&mut m, &mut s.ws_connect_urls)?;
            } else if f("LDM") {
                go_bool(&mut m, &mut s.ldm)?;
            } else if f("COMPRESSION") {
                go_string(&mut m, &mut s.compression)?;
            } else if f("CONNECT_INFO") {
                go_bool(&mut m, &mut s.connect_info)?;
            } else if f("REMOTE_ACCOUNT") {
                go_string(&mut m, &mut s.remote_account)?;
            } else if f("ACC_IS_SYS") {
                go_bool(&mut m, &mut s.acc_is_sys)?;
            } else if f("API_LVL") {
                go_i64(&mut m, &mut s.api_lvl)?;
            } else if f("XKEY") {
                go_string(&mut m, &mut s.xkey)?;
            // Route, gateway and leafnode fields: type-checked, dropped.
            } else if f("IMPORT") || f("EXPORT") {
                m.next_value::<GoSubjectPermission>()?;
            } else if f("LNOC") || f("LNOCU") || f("INFO_ON_CONNECT") || f("GATEWAY_NRP") || f("GATEWAY_IOM") {
                go_bool(&mut m, &mut sink_bool)?;
            } else if f("ROUTE_POOL_SIZE") || f("ROUTE_POOL_IDX") {
                go_i64(&mut m, &mut sink_int)?;
            } else if f("ROUTE_ACCOUNT") || f("ROUTE_ACC_ADD_REQID") || f("GATEWAY") || f("GATEWAY_URL") {
                go_string(&mut m, &mut sink_str)?;
            } else if f("GOSSIP_MODE") || f("GATEWAY_CMD") {
                m.next_value::<Option<u8>>()?;
            } else if f("GATEWAY_URLS") || f("LEAFNODE_URLS") {
                go_strings(&mut m, &mut sink_strs)?;
            } else if f("GATEWAY_CMD_PAYLOAD") {
                m.next_value::<GoBytes>()?;
            } else {
                m.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for ServerInfo {
    /// Go-style decoding on top of [`ServerInfo::default`].
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut s = ServerInfo::default();
        ApplyInfo(&mut s).deserialize(d)?;
        Ok(s)
    }
}

// ---------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------

/// An operation a client sent, as parsed by [`ServerParser`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientOp {
    /// `CONNECT`: the connection's options *after* applying this `CONNECT` on
    /// top of the previous ones (see the module docs).
    Connect(Box<ConnectInfo>),
    /// `PUB <subject> [reply] <#bytes>`.
    Pub { subject: String, reply: Option<String>, payload: Bytes },
    /// `HPUB <subject> [reply] <#hdr> <#total>`; `headers` is the whole header
    /// block (from `NATS/1.0` to the blank line's `\r\n`), unvalidated.
    Hpub { subject: String, reply: Option<String>, headers: Bytes, payload: Bytes },
    /// `SUB <subject> [queue] <sid>` (the subject is not validated here).
    Sub { subject: String, queue: Option<String>, sid: String },
    /// `UNSUB <sid> [max]`. `max` is `None` when absent *or* not 1–9 digits
    /// (nats-server then unsubscribes at once); `Some(0)` also means "at once".
    Unsub { sid: String, max: Option<u64> },
    /// `PING`.
    Ping,
    /// `PONG`.
    Pong,
    /// `INFO` from a client (valid JSON for Go's `Info`); nats-server ignores it.
    Info(String),
    /// Not an operation: the server must write `-ERR '<text>'` now and keep
    /// the connection open (pedantic `Invalid Publish Subject`).
    SendErr(ProtoError),
}

/// An operation a server sent, as parsed by [`ClientParser`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerOp {
    /// `INFO <json>`: the raw JSON (trailing blanks trimmed). See [`ServerInfo::from_json`].
    Info(String),
    /// `MSG <subject> <sid> [reply] <#bytes>`; an empty reply (the server's
    /// double-space quirk `MSG s 1  5`) is `None`.
    Msg { subject: String, sid: String, reply: Option<String>, payload: Bytes },
    /// `HMSG <subject> <sid> [reply] <#hdr> <#total>`.
    Hmsg { subject: String, sid: String, reply: Option<String>, headers: Bytes, payload: Bytes },
    /// `PING`.
    Ping,
    /// `PONG`.
    Pong,
    /// `+OK`.
    Ok,
    /// `-ERR '<text>'`: the text with surrounding blanks and one pair of
    /// single quotes removed.
    Err(String),
}

// ---------------------------------------------------------------------------
// The shared framing state machine
// ---------------------------------------------------------------------------
//
// Two ways through the same rules:
//
// * the **fast path** ([`fast_op`]): at the start of an operation, a message
//   operation (`PUB`/`HPUB` from a client, `MSG`/`HMSG` from a server) whose
//   control line, payload and terminating `\r\n` are all in the input is
//   handled in one go: one scan for `\n`, the fields split in place, the
//   payload borrowed (or sliced, zero-copy, from a `Bytes` input). It has no
//   side effect until it knows the operation is complete and well-formed;
//   anything else (an error, a split operation, an odd line) returns
//   without touching the state, and
// * the **byte-at-a-time state machine** handles it exactly as before.
//
// So the fast path is an optimisation of the state machine, never a second
// interpretation: the tests feed the same bytes whole (fast path) and split
// at every position (state machine) and compare.

/// An operation a client sent, borrowing from the input: what
/// [`ServerParser::feed_with`] hands its callback. Messages come as
/// [`ClientOpRef::Pub`] (with `headers` for `HPUB`); every other operation as
/// the owned [`ClientOp`]. [`ClientOpRef::into_owned`] gives exactly what
/// [`ServerParser::feed`] would have produced.
#[derive(Debug, Clone)]
pub enum ClientOpRef<'a> {
    /// `PUB`, or `HPUB` when `headers` is `Some`.
    Pub { subject: Cow<'a, str>, reply: Option<Cow<'a, str>>, headers: Option<PayloadRef<'a>>, payload: PayloadRef<'a> },
    /// Any other operation.
    Op(ClientOp),
}

impl ClientOpRef<'_> {
    /// The owned operation [`ServerParser::feed`] reports.
    pub fn into_owned(self) -> ClientOp {
        match self {
            ClientOpRef::Pub { subject, reply, headers: None, payload } => ClientOp::Pub {
                subject: subject.into_owned(),
                reply: reply.map(Cow::into_owned),
                payload: payload.to_bytes(),
            },
            ClientOpRef::Pub { subject, reply, headers: Some(h), payload } => ClientOp::Hpub {
                subject: subject.into_owned(),
                reply: reply.map(Cow::into_owned),
                headers: h.to_bytes(),
                payload: payload.to_bytes(),
            },
            ClientOpRef::Op(op) => op,
        }
    }
}

/// An operation a server sent, borrowing from the input: what
/// [`ClientParser::feed_with`] hands its callback. Messages come as
/// [`ServerOpRef::Msg`] (with `headers` for `HMSG`); every other operation as
/// the owned [`ServerOp`]. [`ServerOpRef::into_owned`] gives exactly what
/// [`ClientParser::feed`] would have produced.
#[derive(Debug, Clone)]
pub enum ServerOpRef<'a> {
    /// `MSG`, or `HMSG` when `headers` is `Some`.
    Msg {
        subject: Cow<'a, str>,
        sid: Cow<'a, str>,
        reply: Option<Cow<'a, str>>,
        headers: Option<PayloadRef<'a>>,
        payload: PayloadRef<'a>,
    },
    /// Any other operation.
    Op(ServerOp),
}

impl ServerOpRef<'_> {
    /// The owned operation [`ClientParser::feed`] reports.
    pub fn into_owned(self) -> ServerOp {
        match self {
            ServerOpRef::Msg { subject, sid, reply, headers: None, payload } => ServerOp::Msg {
                subject: subject.into_owned(),
                sid: sid.into_owned(),
                reply: reply.map(Cow::into_owned),
                payload: payload.to_bytes(),
            },
            ServerOpRef::Msg { subject, sid, reply, headers: Some(h), payload } => ServerOp::Hmsg {
                subject: subject.into_owned(),
                sid: sid.into_owned(),
                reply: reply.map(Cow::into_owned),
                headers: h.to_bytes(),
                payload: payload.to_bytes(),
            },
            ServerOpRef::Op(op) => op,
        }
    }
}

/// A payload or header block handed to a `feed_with` callback: borrowed from
/// the input, or from the parser's buffer when the operation arrived split
/// over several inputs. [`to_bytes`](Self::to_bytes) is zero-copy when the
/// input was given as [`Bytes`] and the operation was not split.
#[derive(Clone, Copy)]
pub struct PayloadRef<'a> {
    data: &'a [u8],
    /// The input as `Bytes` and where `data` starts in it.
    src: Option<(&'a Bytes, usize)>,
}

impl fmt::Debug for PayloadRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PayloadRef({:?})", show(self.data))
    }
}

impl<'a> PayloadRef<'a> {
    /// The bytes.
    pub fn as_slice(&self) -> &'a [u8] {
        self.data
    }
    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.data.len()
    }
    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
    /// As `Bytes`: a slice of the input when it was given as `Bytes`, else a copy.
    pub fn to_bytes(&self) -> Bytes {
        match self.src {
            Some((b, off)) if off.checked_add(self.data.len()).is_some_and(|end| end <= b.len()) => {
                b.slice(off..off + self.data.len())
            }
            _ => Bytes::copy_from_slice(self.data),
        }
    }
    /// The first `at` bytes (at most all) and the rest.
    fn split_at(self, at: usize) -> (PayloadRef<'a>, PayloadRef<'a>) {
        let at = at.min(self.data.len());
        let (a, b) = self.data.split_at(at);
        (PayloadRef { data: a, src: self.src }, PayloadRef { data: b, src: self.src.map(|(s, off)| (s, off + at)) })
    }
}

/// A complete payload as the framer has it.
enum Payload<'a> {
    /// In the current input.
    Input(PayloadRef<'a>),
    /// Collected in the parser's buffer (the operation was split); an owning
    /// sink takes the buffer, a borrowing one leaves it for reuse.
    Buffered(&'a mut Vec<u8>),
}

impl Payload<'_> {
    fn into_bytes(self) -> Bytes {
        match self {
            Payload::Input(p) => p.to_bytes(),
            Payload::Buffered(v) => Bytes::from(std::mem::take(v)),
        }
    }
    fn as_ref(&self) -> PayloadRef<'_> {
        match self {
            Payload::Input(p) => *p,
            Payload::Buffered(v) => PayloadRef { data: v, src: None },
        }
    }
}

/// The fields of a message operation's control line (`PUB`/`HPUB` from a
/// client, `MSG`/`HMSG` from a server), borrowed from the line. `sid` is
/// empty for a publish.
#[derive(Debug, Clone, Copy)]
struct MsgLine<'a> {
    subject: &'a [u8],
    sid: &'a [u8],
    reply: Option<&'a [u8]>,
    hdr: Option<u32>,
    size: u32,
    /// Known to be all ASCII (`subject`, `sid`, `reply`): only [`fast_op`]
    /// sets it, after checking the whole line.
    ascii: bool,
}

impl<'a> MsgLine<'a> {
    /// One of this line's fields as text (lossy, like [`lossy`]).
    #[inline]
    fn text(&self, field: &'a [u8]) -> Cow<'a, str> {
        if self.ascii {
            debug_assert!(field.is_ascii());
            // SAFETY: `ascii` is set only when the whole control line these
            // fields are slices of was checked to be ASCII (`fast_op`), and
            // ASCII is valid UTF-8. Skips a second validation per field.
            Cow::Borrowed(unsafe { std::str::from_utf8_unchecked(field) })
        } else {
            lossy_cow(field)
        }
    }
}

/// Where parsed operations go: a `Vec` of owned operations, or a callback
/// taking borrowed ones.
trait Sink<Op> {
    fn op(&mut self, op: Op);
    /// A complete message operation.
    fn msg(&mut self, m: &MsgLine<'_>, payload: Payload<'_>);
}

impl Sink<ClientOp> for Vec<ClientOp> {
    fn op(&mut self, op: ClientOp) {
        self.push(op);
    }
    fn msg(&mut self, m: &MsgLine<'_>, payload: Payload<'_>) {
        let data = payload.into_bytes();
        let (subject, reply) = (m.text(m.subject).into_owned(), m.reply.map(|r| m.text(r).into_owned()));
        match m.hdr {
            None => self.push(ClientOp::Pub { subject, reply, payload: data }),
            Some(h) => {
                let h = (h as usize).min(data.len());
                let mut payload = data;
                let headers = payload.split_to(h);
                self.push(ClientOp::Hpub { subject, reply, headers, payload });
            }
        }
    }
}

impl Sink<ServerOp> for Vec<ServerOp> {
    fn op(&mut self, op: ServerOp) {
        self.push(op);
    }
    fn msg(&mut self, m: &MsgLine<'_>, payload: Payload<'_>) {
        let data = payload.into_bytes();
        let (subject, sid, reply) =
            (m.text(m.subject).into_owned(), m.text(m.sid).into_owned(), m.reply.map(|r| m.text(r).into_owned()));
        match m.hdr {
            None => self.push(ServerOp::Msg { subject, sid, reply, payload: data }),
            Some(h) => {
                let h = (h as usize).min(data.len());
                let mut payload = data;
                let headers = payload.split_to(h);
                self.push(ServerOp::Hmsg { subject, sid, reply, headers, payload });
            }
        }
    }
}

/// A callback taking borrowed operations.
struct WithFn<F>(F);

/// `String::from_utf8_lossy`, with the common valid case checked first (faster).
#[inline]
fn lossy_cow(b: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(b),
    }
}

fn split_headers<'a>(m: &MsgLine<'_>, all: PayloadRef<'a>) -> (Option<PayloadRef<'a>>, PayloadRef<'a>) {
    match m.hdr {
        None => (None, all),
        Some(h) => {
            let (h, p) = all.split_at(h as usize);
            (Some(h), p)
        }
    }
}

impl<F: FnMut(ClientOpRef<'_>)> Sink<ClientOp> for WithFn<F> {
    fn op(&mut self, op: ClientOp) {
        (self.0)(ClientOpRef::Op(op));
    }
    fn msg(&mut self, m: &MsgLine<'_>, payload: Payload<'_>) {
        let (headers, payload) = split_headers(m, payload.as_ref());
        (self.0)(ClientOpRef::Pub { subject: m.text(m.subject), reply: m.reply.map(|r| m.text(r)), headers, payload });
    }
}

impl<F: FnMut(ServerOpRef<'_>)> Sink<ServerOp> for WithFn<F> {
    fn op(&mut self, op: ServerOp) {
        (self.0)(ServerOpRef::Op(op));
    }
    fn msg(&mut self, m: &MsgLine<'_>, payload: Payload<'_>) {
        let (headers, payload) = split_headers(m, payload.as_ref());
        (self.0)(ServerOpRef::Msg {
            subject: m.text(m.subject),
            sid: m.text(m.sid),
            reply: m.reply.map(|r| m.text(r)),
            headers,
            payload,
        });
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kw {
    Pub,
    Hpub,
    Sub,
    Unsub,
    Connect,
    Info,
    Ping,
    Pong,
    Ok,
    Err,
    Msg,
    Hmsg,
}

type KwTable = [(&'static [u8], Kw)];

const SERVER_KEYWORDS: &KwTable = &[
    (b"PUB", Kw::Pub),
    (b"HPUB", Kw::Hpub),
    (b"HMSG", Kw::Hmsg),
    (b"SUB", Kw::Sub),
    (b"UNSUB", Kw::Unsub),
    (b"PING", Kw::Ping),
    (b"PONG", Kw::Pong),
    (b"CONNECT", Kw::Connect),
    (b"INFO", Kw::Info),
    (b"+OK", Kw::Ok),
    (b"-ERR", Kw::Err),
];

const CLIENT_KEYWORDS: &KwTable = &[
    (b"MSG", Kw::Msg),
    (b"HMSG", Kw::Hmsg),
    (b"PING", Kw::Ping),
    (b"PONG", Kw::Pong),
    (b"INFO", Kw::Info),
    (b"+OK", Kw::Ok),
    (b"-ERR", Kw::Err),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lex {
    /// Waiting for the first byte of an operation.
    Start,
    /// Inside an operation name: `alive` has a bit per keyword table entry
    /// still matching the `len` bytes seen.
    Keyword { alive: u16, len: u8 },
    /// After `PUB` etc.: a space or tab must follow.
    NeedSpace(Kw),
    /// Skipping blanks before the arguments.
    Spaces(Kw),
    /// Collecting the arguments up to `\n`.
    Arg(Kw),
    /// `PING`/`PONG`/`+OK`: ignore everything up to `\n`.
    SkipLine(Kw),
    /// Reading a payload.
    Payload,
    /// Expecting the `\r` after a payload.
    EndR,
    /// Expecting the `\n` after a payload.
    EndN,
}

/// The fields of the message operation whose payload the state machine is
/// reading, packed into one reusable buffer.
#[derive(Debug, Clone, Default)]
struct PendingLine {
    buf: Vec<u8>,
    subject: usize,
    sid: usize,
    reply: Option<usize>,
    hdr: Option<u32>,
    size: u32,
}

impl PendingLine {
    fn store(&mut self, m: &MsgLine<'_>) {
        self.buf.clear();
        self.buf.extend_from_slice(m.subject);
        self.buf.extend_from_slice(m.sid);
        if let Some(r) = m.reply {
            self.buf.extend_from_slice(r);
        }
        self.subject = m.subject.len();
        self.sid = m.sid.len();
        self.reply = m.reply.map(<[u8]>::len);
        self.hdr = m.hdr;
        self.size = m.size;
    }

    fn line(&self) -> MsgLine<'_> {
        let b = &self.buf[..];
        let (subject, rest) = b.split_at(self.subject.min(b.len()));
        let (sid, rest) = rest.split_at(self.sid.min(rest.len()));
        let reply = self.reply.map(|r| &rest[..r.min(rest.len())]);
        MsgLine { subject, sid, reply, hdr: self.hdr, size: self.size, ascii: false }
    }
}

/// The state both parsers share: where we are, the partial control line, the
/// partial payload.
#[derive(Debug, Clone)]
struct Framer {
    state: Lex,
    arg: Vec<u8>,
    /// A `\r` was seen in the current control line (nats-server's `c.drop`).
    drop: bool,
    msg: Vec<u8>,
    need: usize,
    pending: PendingLine,
}

impl Framer {
    fn new() -> Self {
        Framer {
            state: Lex::Start,
            arg: Vec::new(),
            drop: false,
            msg: Vec::new(),
            need: 0,
            pending: PendingLine::default(),
        }
    }
}

/// What a side does with complete pieces.
trait Side {
    type Op;
    fn keywords(&self) -> &'static KwTable;
    fn max_control_line(&self) -> usize;
    /// Called with the first byte of every operation.
    fn op_start(&mut self, _b: u8) -> Result<(), ProtoError> {
        Ok(())
    }
    /// A framing error (bad keyword, bad payload terminator).
    fn framing_error(&self) -> ProtoError;
    /// `PING`, `PONG`, `+OK`.
    fn simple<K: Sink<Self::Op>>(&mut self, kw: Kw, out: &mut K);
    /// Whether `kw` is a message operation (a payload follows its line).
    fn is_msg(&self, kw: Kw) -> bool;
    /// A complete control line (without the line ending) of an operation that
    /// is not a message operation.
    fn line<K: Sink<Self::Op>>(&mut self, kw: Kw, arg: &[u8], out: &mut K) -> Result<(), ProtoError>;
    /// A message operation's complete control line, checked; no side effect.
    fn msg_line<'a>(&self, kw: Kw, arg: &'a [u8]) -> Result<MsgLine<'a>, ProtoError>;
    /// [`msg_line`](Self::msg_line) for the fast path: the same line when it
    /// is valid, `None` when it is not (the state machine then reports it).
    fn msg_line_fast<'a>(&self, kw: Kw, arg: &'a [u8]) -> Option<MsgLine<'a>> {
        self.msg_line(kw, arg).ok()
    }
    /// What happens once a message operation's line is accepted, before its
    /// payload (a pedantic `-ERR`).
    fn msg_accepted<K: Sink<Self::Op>>(&mut self, _kw: Kw, _m: &MsgLine<'_>, _out: &mut K) {}
    /// The message operation the fast path handles that `rest` starts with
    /// (keyword and one blank): the keyword and its length.
    fn fast_keyword(&self, rest: &[u8]) -> Option<(Kw, usize)>;
}

fn after_keyword(kw: Kw) -> Lex {
    match kw {
        Kw::Ping | Kw::Pong | Kw::Ok => Lex::SkipLine(kw),
        Kw::Connect | Kw::Info => Lex::Spaces(kw),
        _ => Lex::NeedSpace(kw),
    }
}

enum KwStep {
    Partial(u16),
    Done(Kw),
    Bad,
}

/// Advance keyword matching by one byte at position `pos` (already upper-cased).
fn keyword_step(table: &KwTable, alive: u16, pos: usize, b: u8) -> KwStep {
    let mut next = 0u16;
    for (idx, (word, kw)) in table.iter().enumerate().take(16) {
        let bit = 1u16 << idx;
        if alive & bit == 0 || word.get(pos) != Some(&b) {
            continue;
        }
        if word.len() == pos + 1 {
            return KwStep::Done(*kw);
        }
        next |= bit;
    }
    if next == 0 {
        KwStep::Bad
    } else {
        KwStep::Partial(next)
    }
}

#[inline]
fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Whether `rest` starts with `word` (upper case; matched case-insensitively,
/// as the state machine does) followed by a blank.
#[inline]
fn starts_with_kw(rest: &[u8], word: &[u8]) -> bool {
    rest.len() > word.len() && rest[..word.len()].eq_ignore_ascii_case(word) && is_blank(rest[word.len()])
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// The bytes of `w` equal to `b`, as the high bit of each byte; exact for the
/// lowest match (bits above a match may be spurious).
#[inline]
fn eq_bytes(w: u64, b: u8) -> u64 {
    let x = w ^ (LO * u64::from(b));
    x.wrapping_sub(LO) & !x & HI
}

/// The first `\n` in `s`, and whether a `\r` comes before it, eight bytes at
/// a time (little-endian words, so the same on every target).
fn find_line_end(s: &[u8]) -> Option<(usize, bool)> {
    let mut base = 0;
    let mut cr = false;
    let mut chunks = s.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        let nl = eq_bytes(w, b'\n');
        let crs = eq_bytes(w, b'\r');
        if nl != 0 {
            let bit = nl.trailing_zeros();
            // A spurious `\r` bit sits above a real `\r`, so this is exact.
            let below = (1u64 << bit) - 1;
            return Some((base + (bit / 8) as usize, cr || crs & below != 0));
        }
        cr |= crs != 0;
        base += 8;
    }
    for (k, &b) in chunks.remainder().iter().enumerate() {
        if b == b'\n' {
            return Some((base + k, cr));
        }
        cr |= b == b'\r';
    }
    None
}

/// The fast path: if `data[start..]` begins with a complete, well-formed
/// message operation the side handles this way, process it and return where
/// the next operation starts. Otherwise return `None` having changed nothing,
/// and the state machine takes over (errors included).
#[inline]
fn fast_op<S: Side, K: Sink<S::Op>>(
    side: &mut S,
    data: &[u8],
    start: usize,
    src: Option<&Bytes>,
    out: &mut K,
) -> Option<usize> {
    let rest = data.get(start..)?;
    let (kw, kw_len) = side.fast_keyword(rest)?;
    side.op_start(rest[0]).ok()?;
    // Blanks before the arguments; the first argument byte is taken
    // literally by the state machine even if it is `\r` or `\n`: leave
    // those lines to it.
    let mut a = kw_len + 1;
    while a < rest.len() && is_blank(rest[a]) {
        a += 1;
    }
    let first = *rest.get(a)?;
    if first == b'\r' || first == b'\n' {
        return None;
    }
    let (len, drop) = find_line_end(&rest[a..])?;
    let nl = a + len;
    // Like the state machine: a line with a `\r` loses the byte before `\n`.
    let arg = &rest[a..nl - usize::from(drop)];
    if arg.len() > side.max_control_line() {
        return None;
    }
    let mut m = side.msg_line_fast(kw, arg)?;
    m.ascii = arg.is_ascii();
    let p = nl + 1;
    let end = p.checked_add(m.size as usize)?;
    if rest.get(end..)?.get(..2)? != b"\r\n" {
        return None;
    }
    side.msg_accepted(kw, &m, out);
    let payload = PayloadRef { data: &rest[p..end], src: src.map(|b| (b, start + p)) };
    out.msg(&m, Payload::Input(payload));
    Some(start + end + 2)
}

/// Run the state machine over `data` (which is `src`'s bytes when `src` is given).
fn run<S: Side, K: Sink<S::Op>>(
    fr: &mut Framer,
    side: &mut S,
    data: &[u8],
    src: Option<&Bytes>,
    out: &mut K,
) -> Result<(), ProtoError> {
    let n = data.len();
    let mut i = 0;
    while i < n {
        match fr.state {
            Lex::Start => {
                if let Some(next) = fast_op(side, data, i, src, out) {
                    i = next;
                    continue;
                }
                let b = data[i];
                side.op_start(b)?;
                fr.state = match keyword_step(side.keywords(), u16::MAX, 0, b.to_ascii_uppercase()) {
                    KwStep::Partial(alive) => Lex::Keyword { alive, len: 1 },
                    KwStep::Done(kw) => after_keyword(kw),
                    KwStep::Bad => {
                        return Err(side.framing_error().with_detail(format!("unexpected byte {b:#04x} at op start")))
                    }
                };
                i += 1;
            }
            Lex::Keyword { alive, len } => {
                let b = data[i];
                fr.state = match keyword_step(side.keywords(), alive, usize::from(len), b.to_ascii_uppercase()) {
                    KwStep::Partial(alive) => Lex::Keyword { alive, len: len.saturating_add(1) },
                    KwStep::Done(kw) => after_keyword(kw),
                    KwStep::Bad => {
                        return Err(side.framing_error().with_detail(format!("unexpected byte {b:#04x} in op name")))
                    }
                };
                i += 1;
            }
            Lex::NeedSpace(kw) => {
                if !is_blank(data[i]) {
                    return Err(side.framing_error().with_detail("missing space after op name"));
                }
                fr.state = Lex::Spaces(kw);
                i += 1;
            }
            Lex::Spaces(kw) => {
                let b = data[i];
                if !is_blank(b) {
                    // The first byte is taken literally, even `\r` or `\n`.
                    fr.arg.clear();
                    fr.arg.push(b);
                    fr.drop = false;
                    if fr.arg.len() > side.max_control_line() {
                        return Err(ProtoError::max_control_line());
                    }
                    fr.state = Lex::Arg(kw);
                }
                i += 1;
            }
            Lex::Arg(kw) => {
                let rest = &data[i..];
                let nl = rest.iter().position(|&c| c == b'\n');
                let seg = match nl {
                    Some(p) => &rest[..p],
                    None => rest,
                };
                let drop = fr.drop || seg.contains(&b'\r');
                let counted = (fr.arg.len() + seg.len()).saturating_sub(usize::from(drop));
                if counted > side.max_control_line() {
                    return Err(ProtoError::max_control_line()
                        .with_detail(format!("control line over {} bytes", side.max_control_line())));
                }
                fr.arg.extend_from_slice(seg);
                fr.drop = drop;
                match nl {
                    None => i = n,
                    Some(p) => {
                        i += p + 1;
                        let end = fr.arg.len().saturating_sub(usize::from(fr.drop));
                        fr.state = Lex::Start;
                        fr.drop = false;
                        let arg = std::mem::take(&mut fr.arg);
                        let res = if side.is_msg(kw) {
                            side.msg_line(kw, &arg[..end]).map(|m| {
                                side.msg_accepted(kw, &m, out);
                                fr.pending.store(&m);
                                Some(m.size)
                            })
                        } else {
                            side.line(kw, &arg[..end], out).map(|()| None)
                        };
                        fr.arg = arg;
                        fr.arg.clear();
                        if let Some(size) = res? {
                            let need = size as usize;
                            fr.need = need;
                            if need == 0 {
                                fr.msg.clear();
                                fr.state = Lex::EndR;
                            } else if n - i >= need {
                                // Whole payload in this chunk: one exact copy.
                                if fr.msg.capacity() == 0 {
                                    fr.msg = data[i..i + need].to_vec();
                                } else {
                                    fr.msg.clear();
                                    fr.msg.extend_from_slice(&data[i..i + need]);
                                }
                                i += need;
                                fr.state = Lex::EndR;
                            } else {
                                fr.msg.clear();
                                fr.msg.reserve(need.min(64 * 1024));
                                fr.state = Lex::Payload;
                            }
                        }
                    }
                }
            }
            Lex::SkipLine(kw) => match data[i..].iter().position(|&c| c == b'\n') {
                Some(p) => {
                    i += p + 1;
                    fr.state = Lex::Start;
                    side.simple(kw, out);
                }
                None => i = n,
            },
            Lex::Payload => {
                let want = fr.need.saturating_sub(fr.msg.len());
                let take = want.min(n - i);
                fr.msg.extend_from_slice(&data[i..i + take]);
                i += take;
                if fr.msg.len() >= fr.need {
                    fr.state = Lex::EndR;
                }
            }
            Lex::EndR => {
                if data[i] != b'\r' {
                    return Err(side.framing_error().with_detail("payload not followed by \\r\\n"));
                }
                fr.state = Lex::EndN;
                i += 1;
            }
            Lex::EndN => {
                if data[i] != b'\n' {
                    return Err(side.framing_error().with_detail("payload not followed by \\r\\n"));
                }
                fr.state = Lex::Start;
                i += 1;
                out.msg(&fr.pending.line(), Payload::Buffered(&mut fr.msg));
                if fr.msg.capacity() > 64 * 1024 {
                    // A borrowing sink left a big buffer behind: do not keep it.
                    fr.msg = Vec::new();
                }
            }
        }
    }
    Ok(())
}

/// Up to `MAX_FIELDS` fields of a control line, and how many there were.
const MAX_FIELDS: usize = 6;
struct Fields<'a> {
    items: [&'a [u8]; MAX_FIELDS],
    count: usize,
}

impl<'a> Fields<'a> {
    fn get(&self, i: usize) -> &'a [u8] {
        self.items.get(i).copied().unwrap_or(&[])
    }
}

/// Split on blanks; with `crlf`, `\r` and `\n` separate too (client.go
/// `splitArg`), without they do not (client.go `processPub`).
#[inline]
fn split_fields(arg: &[u8], crlf: bool) -> Fields<'_> {
    if (8..=64).contains(&arg.len()) {
        split_fields_words(arg, crlf)
    } else {
        split_fields_bytes(arg, crlf)
    }
}

#[inline]
fn is_sep(c: u8, crlf: bool) -> bool {
    c == b' ' || c == b'\t' || (crlf && (c == b'\r' || c == b'\n'))
}

impl<'a> Fields<'a> {
    #[inline]
    fn push(&mut self, field: &'a [u8]) {
        if let Some(slot) = self.items.get_mut(self.count) {
            *slot = field;
        }
        self.count += 1;
    }
}

/// [`split_fields`] a byte at a time (the reference, and for short or long lines).
fn split_fields_bytes(arg: &[u8], crlf: bool) -> Fields<'_> {
    let mut f = Fields { items: [&[]; MAX_FIELDS], count: 0 };
    let mut start: Option<usize> = None;
    for (i, &c) in arg.iter().enumerate() {
        if is_sep(c, crlf) {
            if let Some(s) = start.take() {
                f.push(&arg[s..i]);
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        f.push(&arg[s..]);
    }
    f
}

/// One bit per byte of the little-endian word `w` (bit k for byte k): set
/// iff the byte is below 0x21, i.e. a candidate separator. Exact: `(b &
/// 0x7F) + 0x5F` never carries out of its byte.
#[inline]
fn low_byte_bits(w: u64) -> u64 {
    const L7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    let hi = !(((w & L7) + 0x5F5F_5F5F_5F5F_5F5F) | w) & HI;
    // Gather the eight high bits into the top byte (the partial products
    // land on distinct bits, so nothing carries), then down.
    (hi >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56
}

#[inline]
fn word_at(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

/// The bytes of `arg` (8 to 64 of them) that are not separators, one bit
/// per byte: eight bytes at a time.
#[inline(always)]
fn field_bits(arg: &[u8], crlf: bool) -> u64 {
    let n = arg.len();
    debug_assert!((8..=64).contains(&n));
    let mut low = 0u64;
    let mut at = 0;
    while at + 8 <= n {
        low |= low_byte_bits(word_at(arg, at)) << at;
        at += 8;
    }
    if at < n {
        // The last eight bytes (overlapping the previous word).
        low |= low_byte_bits(word_at(arg, n - 8)) << (n - 8);
    }
    // Bytes below 0x21 that are not separators (control characters) belong
    // to a field.
    let mut seps = 0u64;
    while low != 0 {
        let i = low.trailing_zeros();
        if is_sep(arg[i as usize], crlf) {
            seps |= 1 << i;
        }
        low &= low - 1;
    }
    let valid = if n == 64 { u64::MAX } else { (1u64 << n) - 1 };
    !seps & valid
}

/// The next field in `bits` (from [`field_bits`]), removing it.
#[inline(always)]
fn next_field<'a>(arg: &'a [u8], bits: &mut u64) -> &'a [u8] {
    let s = bits.trailing_zeros();
    let e = s + (*bits >> s).trailing_ones();
    *bits = if e >= 64 { 0 } else { *bits & (u64::MAX << e) };
    arg.get(s as usize..e as usize).unwrap_or(&[])
}

/// [`split_fields`] for 8 to 64 bytes.
#[inline]
fn split_fields_words(arg: &[u8], crlf: bool) -> Fields<'_> {
    let mut rest = field_bits(arg, crlf);
    let mut f = Fields { items: [&[]; MAX_FIELDS], count: 0 };
    while rest != 0 {
        f.push(next_field(arg, &mut rest));
    }
    f
}

/// For the fast path: the fields of `arg` if it is 8 to 64 bytes long and
/// has 2 to 5 fields (else `None`: take the general way). The same fields
/// as [`split_fields`].
#[inline(always)]
fn few_fields(arg: &[u8], crlf: bool) -> Option<([&[u8]; 5], u32)> {
    if !(8..=64).contains(&arg.len()) {
        return None;
    }
    let mut bits = field_bits(arg, crlf);
    let count = (bits & !(bits << 1)).count_ones();
    if !(2..=5).contains(&count) {
        return None;
    }
    let mut f: [&[u8]; 5] = [&[]; 5];
    for slot in f.iter_mut().take(count as usize) {
        *slot = next_field(arg, &mut bits);
    }
    Some((f, count))
}

/// nats-server `parseSize` (util.go): 1 to 9 ASCII digits, else `None`.
fn parse_size(d: &[u8]) -> Option<u32> {
    if d.is_empty() || d.len() > 9 {
        return None;
    }
    let mut n: u32 = 0;
    for &c in d {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u32::from(c - b'0');
    }
    Some(n)
}

/// Client-side sizes: ASCII digits, at most `u32::MAX`.
fn parse_u32(d: &[u8]) -> Option<u32> {
    if d.is_empty() {
        return None;
    }
    let mut n: u32 = 0;
    for &c in d {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u32::from(c - b'0'))?;
    }
    Some(n)
}

fn lossy(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => s.to_owned(),
        Err(_) => String::from_utf8_lossy(b).into_owned(),
    }
}

fn show(b: &[u8]) -> String {
    let b = &b[..b.len().min(128)];
    format!("{:?}", String::from_utf8_lossy(b))
}

/// nats-server `IsValidLiteralSubject` (sublist.go): every `.`-token non-empty
/// and not a lone `*` or `>`.
fn is_valid_literal_subject(subject: &[u8]) -> bool {
    subject.split(|&c| c == b'.').all(|t| !t.is_empty() && t != b"*" && t != b">")
}

// ---------------------------------------------------------------------------
// Server side: bytes from a client
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct ServerSide {
    max_payload: u32,
    max_control_line: u32,
    server_headers: bool,
    auth_required: bool,
    opts: ConnectInfo,
    connect_received: bool,
}

impl ServerSide {
    fn headers_enabled(&self) -> bool {
        self.connect_received && self.server_headers && self.opts.headers
    }

    fn check_size(&self, size: u32) -> Result<(), ProtoError> {
        if size > self.max_payload {
            return Err(ProtoError::max_payload().with_detail(format!("{size} vs {}", self.max_payload)));
        }
        Ok(())
    }
}

impl Side for ServerSide {
    type Op = ClientOp;

    fn keywords(&self) -> &'static KwTable {
        SERVER_KEYWORDS
    }

    fn max_control_line(&self) -> usize {
        self.max_control_line as usize
    }

    fn op_start(&mut self, b: u8) -> Result<(), ProtoError> {
        if self.auth_required && !self.connect_received && b != b'C' && b != b'c' {
            return Err(ProtoError::auth_violation().with_detail("operation before CONNECT"));
        }
        Ok(())
    }

    fn framing_error(&self) -> ProtoError {
        ProtoError::unknown_op()
    }

    fn simple<K: Sink<ClientOp>>(&mut self, kw: Kw, out: &mut K) {
        match kw {
            Kw::Ping => out.op(ClientOp::Ping),
            Kw::Pong => out.op(ClientOp::Pong),
            _ => {} // +OK from a client is ignored
        }
    }

    fn is_msg(&self, kw: Kw) -> bool {
        matches!(kw, Kw::Pub | Kw::Hpub | Kw::Hmsg)
    }

    fn fast_keyword(&self, rest: &[u8]) -> Option<(Kw, usize)> {
        match rest.first()? | 0x20 {
            b'p' if starts_with_kw(rest, b"PUB") => Some((Kw::Pub, 3)),
            b'h' if starts_with_kw(rest, b"HPUB") => Some((Kw::Hpub, 4)),
            _ => None,
        }
    }

    fn msg_line_fast<'a>(&self, kw: Kw, arg: &'a [u8]) -> Option<MsgLine<'a>> {
        let Some((f, n)) = few_fields(arg, false) else { return self.msg_line(kw, arg).ok() };
        let (subject, reply, hdr, size) = match (kw, n) {
            (Kw::Pub, 2) => (f[0], None, None, f[1]),
            (Kw::Pub, 3) => (f[0], Some(f[1]), None, f[2]),
            (Kw::Hpub, 3) if self.headers_enabled() => (f[0], None, Some(f[1]), f[2]),
            (Kw::Hpub, 4) if self.headers_enabled() => (f[0], Some(f[1]), Some(f[2]), f[3]),
            _ => return None,
        };
        let size = parse_size(size)?;
        let hdr = match hdr {
            Some(h) => Some(parse_size(h).filter(|&h| h <= size)?),
            None => None,
        };
        if size > self.max_payload {
            return None;
        }
        Some(MsgLine { subject, sid: &[], reply, hdr, size, ascii: false })
    }

    fn msg_line<'a>(&self, kw: Kw, arg: &'a [u8]) -> Result<MsgLine<'a>, ProtoError> {
        match kw {
            Kw::Pub => {
                let f = split_fields(arg, false);
                let (subject, reply, size) = match f.count {
                    2 => (f.get(0), None, f.get(1)),
                    3 => (f.get(0), Some(f.get(1)), f.get(2)),
                    _ => {
                        return Err(ProtoError::silent_close(
                            ProtoErrorKind::BadPub,
                            format!("processPub Parse Error: {}", show(arg)),
                        ))
                    }
                };
                let Some(size) = parse_size(size) else {
                    return Err(ProtoError::silent_close(
                        ProtoErrorKind::BadPub,
                        format!("processPub Bad or Missing Size: {}", show(arg)),
                    ));
                };
                self.check_size(size)?;
                Ok(MsgLine { subject, sid: &[], reply, hdr: None, size, ascii: false })
            }
            Kw::Hpub => {
                if !self.headers_enabled() {
                    return Err(ProtoError::silent_close(
                        ProtoErrorKind::HeadersNotSupported,
                        "message headers not supported",
                    ));
                }
                let f = split_fields(arg, false);
                let (subject, reply, hdr, size) = match f.count {
                    3 => (f.get(0), None, f.get(1), f.get(2)),
                    4 => (f.get(0), Some(f.get(1)), f.get(2), f.get(3)),
                    _ => {
                        return Err(ProtoError::silent_close(
                            ProtoErrorKind::BadHpub,
                            format!("processHeaderPub Parse Error: {}", show(arg)),
                        ))
                    }
                };
                let bad = |what: &str| {
                    ProtoError::silent_close(ProtoErrorKind::BadHpub, format!("processHeaderPub {what}: {}", show(arg)))
                };
                let hdr = parse_size(hdr).ok_or_else(|| bad("Bad or Missing Header Size"))?;
                let size = parse_size(size).ok_or_else(|| bad("Bad or Missing Total Size"))?;
                if hdr > size {
                    return Err(bad("Header Size larger then TotalSize"));
                }
                self.check_size(size)?;
                Ok(MsgLine { subject, sid: &[], reply, hdr: Some(hdr), size, ascii: false })
            }
            // A client's HMSG is not processed; what follows is an empty
            // payload published to an empty subject (see module docs).
            Kw::Hmsg => Ok(MsgLine { subject: &[], sid: &[], reply: None, hdr: None, size: 0, ascii: false }),
            _ => Err(ProtoError::unknown_op()),
        }
    }

    fn msg_accepted<K: Sink<ClientOp>>(&mut self, kw: Kw, m: &MsgLine<'_>, out: &mut K) {
        if matches!(kw, Kw::Pub | Kw::Hpub) && self.opts.pedantic && !is_valid_literal_subject(m.subject) {
            out.op(ClientOp::SendErr(ProtoError::invalid_publish_subject().with_detail(show(m.subject))));
        }
    }

    fn line<K: Sink<ClientOp>>(&mut self, kw: Kw, arg: &[u8], out: &mut K) -> Result<(), ProtoError> {
        match kw {
            Kw::Sub => {
                let f = split_fields(arg, true);
                let (subject, queue, sid) = match f.count {
                    2 => (f.get(0), None, f.get(1)),
                    3 => (f.get(0), Some(f.get(1)), f.get(2)),
                    _ => {
                        return Err(ProtoError::silent_close(
                            ProtoErrorKind::BadSub,
                            format!("processSub Parse Error: {}", show(arg)),
                        ))
                    }
                };
                out.op(ClientOp::Sub { subject: lossy(subject), queue: queue.map(lossy), sid: lossy(sid) });
                Ok(())
            }
            Kw::Unsub => {
                let f = split_fields(arg, true);
                let (sid, max) = match f.count {
                    1 => (f.get(0), None),
                    2 => (f.get(0), parse_size(f.get(1)).map(u64::from)),
                    _ => {
                        return Err(ProtoError::silent_close(
                            ProtoErrorKind::BadUnsub,
                            format!("processUnsub Parse Error: {}", show(arg)),
                        ))
                    }
                };
                out.op(ClientOp::Unsub { sid: lossy(sid), max });
                Ok(())
            }
            Kw::Connect => {
                if let Err(e) = self.opts.apply_json(arg) {
                    return Err(ProtoError::silent_close(ProtoErrorKind::BadConnect, e));
                }
                self.connect_received = true;
                out.op(ClientOp::Connect(Box::new(self.opts.clone())));
                Ok(())
            }
            Kw::Info => {
                if let Err(e) = ServerInfo::from_json(arg) {
                    return Err(ProtoError::silent_close(ProtoErrorKind::BadInfo, e));
                }
                out.op(ClientOp::Info(lossy(arg)));
                Ok(())
            }
            Kw::Err => {
                Err(ProtoError::silent_close(ProtoErrorKind::ClientSentErr, format!("Client Error {}", lossy(arg))))
            }
            Kw::Pub | Kw::Hpub | Kw::Hmsg | Kw::Ping | Kw::Pong | Kw::Ok | Kw::Msg => Err(ProtoError::unknown_op()),
        }
    }
}

/// Incremental parser for the bytes a client sends to a server (nats-server's
/// `client.parse` for a `CLIENT` connection).
///
/// Feed data as it arrives, split anywhere; the result never depends on how
/// the bytes were split. Once an error that closes the connection is
/// returned, every later [`feed`](Self::feed) returns the same error.
///
/// Three ways to feed, same operations: [`feed`](Self::feed) (owned
/// operations, payloads copied), [`feed_bytes`](Self::feed_bytes) (owned
/// operations, payloads sliced from the input without copying) and
/// [`feed_with`](Self::feed_with) (a callback gets each operation as it is
/// parsed, messages borrowed from the input: no allocation per message).
#[derive(Debug, Clone)]
pub struct ServerParser {
    fr: Framer,
    side: ServerSide,
    failed: Option<ProtoError>,
}

impl ServerParser {
    /// A parser for a new client connection with this `max_payload`.
    pub fn new(max_payload: u32) -> Self {
        ServerParser {
            fr: Framer::new(),
            side: ServerSide {
                max_payload,
                max_control_line: MAX_CONTROL_LINE_SIZE,
                server_headers: true,
                auth_required: false,
                opts: ConnectInfo::nats_server_initial(),
                connect_received: false,
            },
            failed: None,
        }
    }

    /// Whether the server supports headers (nats-server `no_header_support`
    /// off; default true). A connection may send `HPUB` only if this is true
    /// and its `CONNECT` said `headers: true`.
    pub fn set_headers_enabled(&mut self, enabled: bool) {
        self.side.server_headers = enabled;
    }

    /// Change `max_payload` (e.g. an account or user limit).
    pub fn set_max_payload(&mut self, max_payload: u32) {
        self.side.max_payload = max_payload;
    }

    /// Change `max_control_line` (default 4096).
    pub fn set_max_control_line(&mut self, max: u32) {
        self.side.max_control_line = max;
    }

    /// Whether the server requires authentication: then any operation before
    /// the first `CONNECT` is an `Authorization Violation`.
    pub fn set_auth_required(&mut self, required: bool) {
        self.side.auth_required = required;
    }

    /// The connection's current options (nats-server's initial ones until a
    /// `CONNECT` arrives).
    pub fn connect_info(&self) -> &ConnectInfo {
        &self.side.opts
    }

    /// Whether a `CONNECT` has been parsed.
    pub fn connect_received(&self) -> bool {
        self.side.connect_received
    }

    /// Whether this connection may use headers (server support and `headers: true`).
    pub fn headers_enabled(&self) -> bool {
        self.side.headers_enabled()
    }

    /// Parse `data`, pushing complete operations to `out`. On error the
    /// operations before it have been pushed.
    pub fn feed(&mut self, data: &[u8], out: &mut Vec<ClientOp>) -> Result<(), ProtoError> {
        self.feed_into(data, None, out)
    }

    /// [`feed`](Self::feed), with payloads and header blocks sliced from
    /// `data` (no copy) when an operation is complete in it.
    pub fn feed_bytes(&mut self, data: &Bytes, out: &mut Vec<ClientOp>) -> Result<(), ProtoError> {
        self.feed_into(data, Some(data), out)
    }

    /// Parse `data`, calling `f` with each operation as soon as it is
    /// complete; the same operations, in the same order, as [`feed`](Self::feed)
    /// (see [`ClientOpRef::into_owned`]), and the same result.
    pub fn feed_with(&mut self, data: &[u8], f: impl FnMut(ClientOpRef<'_>)) -> Result<(), ProtoError> {
        self.feed_into(data, None, &mut WithFn(f))
    }

    /// [`feed_with`](Self::feed_with) with `data` as `Bytes`, so that
    /// [`PayloadRef::to_bytes`] does not copy.
    pub fn feed_bytes_with(&mut self, data: &Bytes, f: impl FnMut(ClientOpRef<'_>)) -> Result<(), ProtoError> {
        self.feed_into(data, Some(data), &mut WithFn(f))
    }

    fn feed_into<K: Sink<ClientOp>>(
        &mut self,
        data: &[u8],
        src: Option<&Bytes>,
        out: &mut K,
    ) -> Result<(), ProtoError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        run(&mut self.fr, &mut self.side, data, src, out).inspect_err(|e| {
            if e.closes {
                self.failed = Some(e.clone());
            }
        })
    }
}

// ---------------------------------------------------------------------------
// Client side: bytes from a server
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct ClientSide {
    max_control_line: u32,
}

impl Side for ClientSide {
    type Op = ServerOp;

    fn keywords(&self) -> &'static KwTable {
        CLIENT_KEYWORDS
    }

    fn max_control_line(&self) -> usize {
        self.max_control_line as usize
    }

    fn framing_error(&self) -> ProtoError {
        ProtoError::unknown_op().client_side()
    }

    fn simple<K: Sink<ServerOp>>(&mut self, kw: Kw, out: &mut K) {
        match kw {
            Kw::Ping => out.op(ServerOp::Ping),
            Kw::Pong => out.op(ServerOp::Pong),
            _ => out.op(ServerOp::Ok),
        }
    }

    fn is_msg(&self, kw: Kw) -> bool {
        matches!(kw, Kw::Msg | Kw::Hmsg)
    }

    fn fast_keyword(&self, rest: &[u8]) -> Option<(Kw, usize)> {
        match rest.first()? | 0x20 {
            b'm' if starts_with_kw(rest, b"MSG") => Some((Kw::Msg, 3)),
            b'h' if starts_with_kw(rest, b"HMSG") => Some((Kw::Hmsg, 4)),
            _ => None,
        }
    }

    fn msg_line_fast<'a>(&self, kw: Kw, arg: &'a [u8]) -> Option<MsgLine<'a>> {
        let Some((f, n)) = few_fields(arg, true) else { return self.msg_line(kw, arg).ok() };
        let line = |subject, sid, reply, hdr, size| Some(MsgLine { subject, sid, reply, hdr, size, ascii: false });
        match (kw, n) {
            (Kw::Msg, 3) => line(f[0], f[1], None, None, parse_u32(f[2])?),
            (Kw::Msg, 4) => line(f[0], f[1], Some(f[2]), None, parse_u32(f[3])?),
            (Kw::Hmsg, 4 | 5) => {
                let (reply, hdr, size) = if n == 4 { (None, f[2], f[3]) } else { (Some(f[2]), f[3], f[4]) };
                let (hdr, size) = (parse_u32(hdr)?, parse_u32(size)?);
                if hdr > size {
                    return None;
                }
                line(f[0], f[1], reply, Some(hdr), size)
            }
            _ => None,
        }
    }

    fn msg_line<'a>(&self, kw: Kw, arg: &'a [u8]) -> Result<MsgLine<'a>, ProtoError> {
        match kw {
            Kw::Msg => {
                let f = split_fields(arg, true);
                let (subject, sid, reply, size) = match f.count {
                    3 => (f.get(0), f.get(1), None, f.get(2)),
                    4 => (f.get(0), f.get(1), Some(f.get(2)), f.get(3)),
                    _ => {
                        return Err(ProtoError::silent_close(
                            ProtoErrorKind::BadMsg,
                            format!("processMsgArgs Parse Error: {}", show(arg)),
                        ))
                    }
                };
                let size = parse_u32(size).ok_or_else(|| {
                    ProtoError::silent_close(
                        ProtoErrorKind::BadMsg,
                        format!("processMsgArgs Bad or Missing Size: {}", show(arg)),
                    )
                })?;
                Ok(MsgLine { subject, sid, reply, hdr: None, size, ascii: false })
            }
            Kw::Hmsg => {
                let f = split_fields(arg, true);
                let (subject, sid, reply, hdr, size) = match f.count {
                    4 => (f.get(0), f.get(1), None, f.get(2), f.get(3)),
                    5 => (f.get(0), f.get(1), Some(f.get(2)), f.get(3), f.get(4)),
                    _ => {
                        return Err(ProtoError::silent_close(
                            ProtoErrorKind::BadHmsg,
                            format!("processHeaderMsgArgs Parse Error: {}", show(arg)),
                        ))
                    }
                };
                let bad = |what: &str| {
                    ProtoError::silent_close(
                        ProtoErrorKind::BadHmsg,
                        format!("processHeaderMsgArgs {what}: {}", show(arg)),
                    )
                };
                let hdr = parse_u32(hdr).ok_or_else(|| bad("Bad or Missing Header Size"))?;
                let size = parse_u32(size).ok_or_else(|| bad("Bad or Missing Total Size"))?;
                if hdr > size {
                    return Err(bad("Header Size larger than Total Size"));
                }
                Ok(MsgLine { subject, sid, reply, hdr: Some(hdr), size, ascii: false })
            }
            _ => Err(ProtoError::unknown_op().client_side()),
        }
    }

    fn line<K: Sink<ServerOp>>(&mut self, kw: Kw, arg: &[u8], out: &mut K) -> Result<(), ProtoError> {
        match kw {
            Kw::Info => {
                let end = arg.iter().rposition(|&c| !c.is_ascii_whitespace()).map_or(0, |p| p + 1);
                out.op(ServerOp::Info(lossy(&arg[..end])));
                Ok(())
            }
            Kw::Err => {
                out.op(ServerOp::Err(normalize_err(arg)));
                Ok(())
            }
            _ => Err(ProtoError::unknown_op().client_side()),
        }
    }
}

/// `-ERR` text: surrounding blanks and one pair of single quotes removed.
fn normalize_err(arg: &[u8]) -> String {
    let t = String::from_utf8_lossy(arg);
    let t = t.trim_matches(|c| c == ' ' || c == '\t' || c == '\r' || c == '\n');
    let t = match t.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
        Some(inner) => inner,
        None => t,
    };
    t.to_string()
}

/// Incremental parser for the bytes a server sends to a client.
///
/// Same framing rules as [`ServerParser`]; a payload must be followed by
/// exactly `\r\n`. Errors never carry `-ERR` text. After an error every later
/// [`feed`](Self::feed) returns it again. Same three ways to feed as
/// [`ServerParser`].
#[derive(Debug, Clone)]
pub struct ClientParser {
    fr: Framer,
    side: ClientSide,
    failed: Option<ProtoError>,
}

impl Default for ClientParser {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientParser {
    /// A parser for a new connection, control lines up to [`CLIENT_MAX_CONTROL_LINE`].
    pub fn new() -> Self {
        ClientParser { fr: Framer::new(), side: ClientSide { max_control_line: CLIENT_MAX_CONTROL_LINE }, failed: None }
    }

    /// Change the control-line limit.
    pub fn set_max_control_line(&mut self, max: u32) {
        self.side.max_control_line = max;
    }

    /// Parse `data`, pushing complete operations to `out`.
    pub fn feed(&mut self, data: &[u8], out: &mut Vec<ServerOp>) -> Result<(), ProtoError> {
        self.feed_into(data, None, out)
    }

    /// [`feed`](Self::feed), with payloads and header blocks sliced from
    /// `data` (no copy) when an operation is complete in it.
    pub fn feed_bytes(&mut self, data: &Bytes, out: &mut Vec<ServerOp>) -> Result<(), ProtoError> {
        self.feed_into(data, Some(data), out)
    }

    /// Parse `data`, calling `f` with each operation as soon as it is
    /// complete; the same operations, in the same order, as [`feed`](Self::feed)
    /// (see [`ServerOpRef::into_owned`]), and the same result.
    pub fn feed_with(&mut self, data: &[u8], f: impl FnMut(ServerOpRef<'_>)) -> Result<(), ProtoError> {
        self.feed_into(data, None, &mut WithFn(f))
    }

    /// [`feed_with`](Self::feed_with) with `data` as `Bytes`, so that
    /// [`PayloadRef::to_bytes`] does not copy.
    pub fn feed_bytes_with(&mut self, data: &Bytes, f: impl FnMut(ServerOpRef<'_>)) -> Result<(), ProtoError> {
        self.feed_into(data, Some(data), &mut WithFn(f))
    }

    fn feed_into<K: Sink<ServerOp>>(
        &mut self,
        data: &[u8],
        src: Option<&Bytes>,
        out: &mut K,
    ) -> Result<(), ProtoError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        run(&mut self.fr, &mut self.side, data, src, out).inspect_err(|e| self.failed = Some(e.clone()))
    }
}

// ---------------------------------------------------------------------------
// Frames without an allocation each
// ---------------------------------------------------------------------------

/// Frames (and frames smaller than this) are cut from blocks of this size.
const FRAME_BLOCK: usize = 4 * 1024;

/// Builds outgoing frames in shared blocks: each frame is a [`Bytes`] view of
/// a block, so a small frame costs no allocation of its own. A block is
/// reused once every frame cut from it has been dropped, and freed when the
/// last one goes if the arena has moved on. A frame keeps its whole block
/// alive: something that keeps a payload long (a stream store) should copy
/// it (`Bytes::copy_from_slice`) rather than keep a slice of a frame.
#[derive(Debug, Default)]
pub struct FrameArena {
    block: BytesMut,
    scratch: Vec<u8>,
}

impl FrameArena {
    /// An empty arena (it allocates its first block on first use).
    pub fn new() -> Self {
        Self::default()
    }

    /// A frame with the bytes `write` appends to an empty buffer (e.g. one of
    /// the `write_*` functions).
    pub fn frame(&mut self, write: impl FnOnce(&mut Vec<u8>)) -> Bytes {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        write(&mut scratch);
        let frame = self.copy(&scratch);
        if scratch.capacity() <= FRAME_BLOCK {
            self.scratch = scratch;
        }
        frame
    }

    /// [`write_msg`] as a frame.
    pub fn msg(&mut self, subject: &str, sid: &str, reply: Option<&str>, payload: &[u8]) -> Bytes {
        let max = msg_len_bound(subject, sid, reply, 0, payload.len());
        self.cut(max, |out| msg_to(out, subject, sid, reply, payload))
    }

    /// [`write_hmsg`] as a frame.
    pub fn hmsg(&mut self, subject: &str, sid: &str, reply: Option<&str>, headers: &[u8], payload: &[u8]) -> Bytes {
        let max = msg_len_bound(subject, sid, reply, headers.len(), payload.len());
        self.cut(max, |out| hmsg_to(out, subject, sid, reply, headers, payload))
    }

    /// [`write_pub`] as a frame.
    pub fn publish(&mut self, subject: &str, reply: Option<&str>, payload: &[u8]) -> Bytes {
        let max = msg_len_bound(subject, "", reply, 0, payload.len());
        self.cut(max, |out| pub_to(out, subject, reply, payload))
    }

    /// A frame of at most `max` bytes written by `write` straight into the block.
    #[inline]
    fn cut(&mut self, max: usize, write: impl FnOnce(&mut BytesMut)) -> Bytes {
        if max > FRAME_BLOCK / 8 {
            let mut own = BytesMut::with_capacity(max);
            write(&mut own);
            return own.freeze();
        }
        if self.block.capacity() < max {
            // Reclaims the block if no frame of it is alive, else starts a new one.
            self.block.reserve(FRAME_BLOCK);
        }
        write(&mut self.block);
        self.block.split().freeze()
    }

    /// A frame holding a copy of `data`.
    pub fn copy(&mut self, data: &[u8]) -> Bytes {
        if data.len() > FRAME_BLOCK / 8 {
            return Bytes::copy_from_slice(data);
        }
        if self.block.capacity() < data.len() {
            // Reclaims the block if no frame of it is alive, else starts a new one.
            self.block.reserve(FRAME_BLOCK);
        }
        self.block.extend_from_slice(data);
        self.block.split().freeze()
    }
}

// ---------------------------------------------------------------------------
// Writers
// ---------------------------------------------------------------------------

/// Where the writers put bytes: a `Vec` (the public `write_*`) or a
/// [`FrameArena`] block.
trait Out {
    fn put(&mut self, b: &[u8]);
    fn reserve_total(&mut self, n: usize);
}

impl Out for Vec<u8> {
    #[inline]
    fn put(&mut self, b: &[u8]) {
        self.extend_from_slice(b);
    }
    #[inline]
    fn reserve_total(&mut self, n: usize) {
        self.reserve(n);
    }
}

impl Out for BytesMut {
    #[inline]
    fn put(&mut self, b: &[u8]) {
        self.extend_from_slice(b);
    }
    #[inline]
    fn reserve_total(&mut self, n: usize) {
        self.reserve(n);
    }
}

#[inline]
fn push_u64<O: Out>(out: &mut O, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 || i == 0 {
            break;
        }
    }
    out.put(&buf[i..]);
}

#[inline]
fn push_len<O: Out>(out: &mut O, n: usize) {
    push_u64(out, n as u64);
}

/// At most how long a `MSG`/`HMSG`/`PUB`/`HPUB` with these parts is.
fn msg_len_bound(subject: &str, sid: &str, reply: Option<&str>, headers: usize, payload: usize) -> usize {
    subject.len() + sid.len() + reply.map_or(0, str::len) + headers + payload + 64
}

/// `INFO <json> \r\n` exactly as nats-server writes it (note the space
/// before CRLF, util.go `generateInfoJSON`).
pub fn write_info(info: &ServerInfo) -> Vec<u8> {
    let json = to_go_json(info);
    let mut out = Vec::with_capacity(json.len() + 8);
    out.extend_from_slice(b"INFO ");
    out.extend_from_slice(json.as_bytes());
    out.extend_from_slice(b" \r\n");
    out
}

/// `MSG <subject> <sid> [reply ]<#bytes>\r\n<payload>\r\n`, as client.go
/// `msgHeader` writes it: `Some("")` as reply gives the double space.
pub fn write_msg(out: &mut Vec<u8>, subject: &str, sid: &str, reply: Option<&str>, payload: &[u8]) {
    msg_to(out, subject, sid, reply, payload);
}

#[inline]
fn msg_to<O: Out>(out: &mut O, subject: &str, sid: &str, reply: Option<&str>, payload: &[u8]) {
    out.reserve_total(msg_len_bound(subject, sid, reply, 0, payload.len()));
    out.put(b"MSG ");
    out.put(subject.as_bytes());
    out.put(b" ");
    out.put(sid.as_bytes());
    out.put(b" ");
    if let Some(r) = reply {
        out.put(r.as_bytes());
        out.put(b" ");
    }
    push_len(out, payload.len());
    out.put(b"\r\n");
    out.put(payload);
    out.put(b"\r\n");
}

/// `HMSG <subject> <sid> [reply ]<#hdr> <#total>\r\n<headers><payload>\r\n`.
pub fn write_hmsg(out: &mut Vec<u8>, subject: &str, sid: &str, reply: Option<&str>, headers: &[u8], payload: &[u8]) {
    hmsg_to(out, subject, sid, reply, headers, payload);
}

#[inline]
fn hmsg_to<O: Out>(out: &mut O, subject: &str, sid: &str, reply: Option<&str>, headers: &[u8], payload: &[u8]) {
    out.reserve_total(msg_len_bound(subject, sid, reply, headers.len(), payload.len()));
    out.put(b"HMSG ");
    out.put(subject.as_bytes());
    out.put(b" ");
    out.put(sid.as_bytes());
    out.put(b" ");
    if let Some(r) = reply {
        out.put(r.as_bytes());
        out.put(b" ");
    }
    push_len(out, headers.len());
    out.put(b" ");
    push_u64(out, headers.len() as u64 + payload.len() as u64);
    out.put(b"\r\n");
    out.put(headers);
    out.put(payload);
    out.put(b"\r\n");
}

/// The 2.12 no-responders header block:
/// `NATS/1.0 503\r\nNats-Subject: <subject>\r\n\r\n` (32 + len(subject) bytes).
pub fn no_responders_header(subject: &str) -> Vec<u8> {
    let mut h = Vec::with_capacity(32 + subject.len());
    h.extend_from_slice(b"NATS/1.0 503\r\nNats-Subject: ");
    h.extend_from_slice(subject.as_bytes());
    h.extend_from_slice(b"\r\n\r\n");
    h
}

/// The whole no-responders message nats-server 2.12 sends to the requester
/// (client.go `processInboundClientMsg`):
/// `HMSG <reply> <sid> <n> <n>\r\nNATS/1.0 503\r\nNats-Subject: <subject>\r\n\r\n\r\n`.
pub fn write_no_responders(out: &mut Vec<u8>, reply: &str, sid: &str, subject: &str) {
    let h = no_responders_header(subject);
    write_hmsg(out, reply, sid, None, &h, &[]);
}

/// `PING\r\n`.
pub fn write_ping(out: &mut Vec<u8>) {
    out.extend_from_slice(b"PING\r\n");
}

/// `PONG\r\n`.
pub fn write_pong(out: &mut Vec<u8>) {
    out.extend_from_slice(b"PONG\r\n");
}

/// `+OK\r\n`.
pub fn write_ok(out: &mut Vec<u8>) {
    out.extend_from_slice(b"+OK\r\n");
}

/// `-ERR '<text>'\r\n` (client.go `errProto`); `text` is without quotes.
pub fn write_err(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(b"-ERR '");
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(b"'\r\n");
}

/// `CONNECT <json>\r\n`.
pub fn write_connect(out: &mut Vec<u8>, info: &ConnectInfo) {
    out.extend_from_slice(b"CONNECT ");
    out.extend_from_slice(to_go_json(info).as_bytes());
    out.extend_from_slice(b"\r\n");
}

fn nonempty(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.is_empty())
}

/// `PUB <subject> [reply ]<#bytes>\r\n<payload>\r\n`; an empty reply is left out.
pub fn write_pub(out: &mut Vec<u8>, subject: &str, reply: Option<&str>, payload: &[u8]) {
    pub_to(out, subject, reply, payload);
}

#[inline]
fn pub_to<O: Out>(out: &mut O, subject: &str, reply: Option<&str>, payload: &[u8]) {
    out.reserve_total(msg_len_bound(subject, "", reply, 0, payload.len()));
    out.put(b"PUB ");
    out.put(subject.as_bytes());
    out.put(b" ");
    if let Some(r) = nonempty(reply) {
        out.put(r.as_bytes());
        out.put(b" ");
    }
    push_len(out, payload.len());
    out.put(b"\r\n");
    out.put(payload);
    out.put(b"\r\n");
}

/// `HPUB <subject> [reply ]<#hdr> <#total>\r\n<headers><payload>\r\n`.
pub fn write_hpub(out: &mut Vec<u8>, subject: &str, reply: Option<&str>, headers: &[u8], payload: &[u8]) {
    out.reserve(subject.len() + reply.map_or(0, str::len) + headers.len() + payload.len() + 32);
    out.extend_from_slice(b"HPUB ");
    out.extend_from_slice(subject.as_bytes());
    out.push(b' ');
    if let Some(r) = nonempty(reply) {
        out.extend_from_slice(r.as_bytes());
        out.push(b' ');
    }
    push_len(out, headers.len());
    out.push(b' ');
    push_u64(out, headers.len() as u64 + payload.len() as u64);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(headers);
    out.extend_from_slice(payload);
    out.extend_from_slice(b"\r\n");
}

/// `SUB <subject> [queue ]<sid>\r\n`; an empty queue is left out.
pub fn write_sub(out: &mut Vec<u8>, subject: &str, queue: Option<&str>, sid: &str) {
    out.extend_from_slice(b"SUB ");
    out.extend_from_slice(subject.as_bytes());
    out.push(b' ');
    if let Some(q) = nonempty(queue) {
        out.extend_from_slice(q.as_bytes());
        out.push(b' ');
    }
    out.extend_from_slice(sid.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// `UNSUB <sid>[ <max>]\r\n`.
pub fn write_unsub(out: &mut Vec<u8>, sid: &str, max: Option<u64>) {
    out.extend_from_slice(b"UNSUB ");
    out.extend_from_slice(sid.as_bytes());
    if let Some(m) = max {
        out.push(b' ');
        push_u64(out, m);
    }
    out.extend_from_slice(b"\r\n");
}

/// Write a [`ClientOp`] the way a client would send it. `SendErr` writes nothing.
pub fn write_client_op(out: &mut Vec<u8>, op: &ClientOp) {
    match op {
        ClientOp::Connect(c) => write_connect(out, c),
        ClientOp::Pub { subject, reply, payload } => write_pub(out, subject, reply.as_deref(), payload),
        ClientOp::Hpub { subject, reply, headers, payload } => {
            write_hpub(out, subject, reply.as_deref(), headers, payload)
        }
        ClientOp::Sub { subject, queue, sid } => write_sub(out, subject, queue.as_deref(), sid),
        ClientOp::Unsub { sid, max } => write_unsub(out, sid, *max),
        ClientOp::Ping => write_ping(out),
        ClientOp::Pong => write_pong(out),
        ClientOp::Info(json) => {
            out.extend_from_slice(b"INFO ");
            out.extend_from_slice(json.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        ClientOp::SendErr(_) => {}
    }
}

/// Write a [`ServerOp`] the way a server would send it (`Info` gets the
/// trailing space nats-server writes).
pub fn write_server_op(out: &mut Vec<u8>, op: &ServerOp) {
    match op {
        ServerOp::Info(json) => {
            out.extend_from_slice(b"INFO ");
            out.extend_from_slice(json.as_bytes());
            out.extend_from_slice(b" \r\n");
        }
        ServerOp::Msg { subject, sid, reply, payload } => write_msg(out, subject, sid, reply.as_deref(), payload),
        ServerOp::Hmsg { subject, sid, reply, headers, payload } => {
            write_hmsg(out, subject, sid, reply.as_deref(), headers, payload)
        }
        ServerOp::Ping => write_ping(out),
        ServerOp::Pong => write_pong(out),
        ServerOp::Ok => write_ok(out),
        ServerOp::Err(text) => write_err(out, text),
    }
}

// ---------------------------------------------------------------------------
// Headers
// ---------------------------------------------------------------------------

/// Why a header block did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderError {
    /// What was wrong.
    pub reason: &'static str,
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad header block: {}", self.reason)
    }
}

impl std::error::Error for HeaderError {}

/// A NATS header block:
/// `NATS/1.0[ <3-digit status>[ <description>]]\r\n(<Key>: <Value>\r\n)*\r\n`.
///
/// Keys keep their case and order; duplicates are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    /// Inline status code (`503`, `100`, `404`, …).
    pub status: Option<u16>,
    /// Text after the status code (`Idle Heartbeat`); ignored without a status.
    pub description: Option<String>,
    /// `(key, value)` in order.
    pub entries: Vec<(String, String)>,
}

fn split_header_line(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let p = b.iter().position(|&c| c == b'\n')?;
    let line = &b[..p];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    Some((line, &b[p + 1..]))
}

fn trim_blanks(mut b: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = b {
        if !is_blank(*first) {
            break;
        }
        b = rest;
    }
    while let [rest @ .., last] = b {
        if !is_blank(*last) {
            break;
        }
        b = rest;
    }
    b
}

impl Headers {
    /// An empty block (`NATS/1.0\r\n\r\n`).
    pub fn new() -> Self {
        Headers::default()
    }

    /// A block with a status line, e.g. `Headers::with_status(100, Some("Idle Heartbeat"))`.
    pub fn with_status(code: u16, description: Option<&str>) -> Self {
        Headers { status: Some(code), description: description.map(str::to_string), entries: Vec::new() }
    }

    /// Parse a whole header block (what `HPUB`/`HMSG` carry as headers).
    /// Lines may end in `\r\n` or `\n`; values are trimmed of blanks; nothing
    /// may follow the blank line. Invalid UTF-8 is converted lossily.
    pub fn parse(b: &[u8]) -> Result<Headers, HeaderError> {
        let (first, mut rest) = split_header_line(b).ok_or(HeaderError { reason: "no status line" })?;
        let tail = first.strip_prefix(b"NATS/1.0").ok_or(HeaderError { reason: "missing NATS/1.0" })?;
        let tail = trim_blanks(tail);
        let mut h = Headers::new();
        if !tail.is_empty() {
            let code = match tail {
                [a, b, c, ..] if a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit() => {
                    u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0')
                }
                _ => return Err(HeaderError { reason: "bad status code" }),
            };
            h.status = Some(code);
            let desc = trim_blanks(&tail[3..]);
            if !desc.is_empty() {
                h.description = Some(lossy(desc));
            }
        }
        loop {
            let (line, r) = split_header_line(rest).ok_or(HeaderError { reason: "unterminated header block" })?;
            rest = r;
            if line.is_empty() {
                break;
            }
            let colon =
                line.iter().position(|&c| c == b':').ok_or(HeaderError { reason: "header line without ':'" })?;
            let key = &line[..colon];
            if key.is_empty() || is_blank(key[0]) {
                return Err(HeaderError { reason: "empty header key" });
            }
            h.entries.push((lossy(key), lossy(trim_blanks(&line[colon + 1..]))));
        }
        if !rest.is_empty() {
            return Err(HeaderError { reason: "data after the header block" });
        }
        Ok(h)
    }

    /// Append a header.
    pub fn append(&mut self, key: &str, value: &str) {
        self.entries.push((key.to_string(), value.to_string()));
    }

    /// The first value for `key`, matched case-sensitively (like nats-server's
    /// `getHeader`).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// All values for `key`, in order.
    pub fn get_all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.entries.iter().filter(move |(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// No entries (a status may still be set).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Append the wire form to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"NATS/1.0");
        if let Some(code) = self.status {
            out.push(b' ');
            if code < 100 {
                out.push(b'0');
            }
            if code < 10 {
                out.push(b'0');
            }
            push_u64(out, u64::from(code));
            if let Some(d) = self.description.as_deref().filter(|d| !d.is_empty()) {
                out.push(b' ');
                out.extend_from_slice(d.as_bytes());
            }
        }
        out.extend_from_slice(b"\r\n");
        for (k, v) in &self.entries {
            out.extend_from_slice(k.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(v.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
    }

    /// The wire form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out);
        out
    }
}

fn find_bytes(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    if needle.len() > hay.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Look a header up in a raw header block exactly as nats-server's
/// `sliceHeader` does (client.go): case-sensitive, the key must start a line
/// (after `\r\n`) and be followed directly by `:`, leading spaces of the value
/// are skipped, the value runs to the next `\r\n`. First match wins.
pub fn get_header<'a>(hdr: &'a [u8], key: &str) -> Option<&'a [u8]> {
    let key = key.as_bytes();
    if hdr.is_empty() {
        return None;
    }
    let len = hdr.len();
    let mut offset = 0usize;
    let index = loop {
        let rel = find_bytes(hdr.get(offset..)?, key)?;
        // nats-server tests the *relative* index against 2 (`index < 2`).
        if rel < 2 {
            return None;
        }
        let index = rel + offset;
        if index >= len - 1 || hdr[index - 1] != b'\n' || hdr[index - 2] != b'\r' {
            offset = index + key.len();
            continue;
        }
        if index + key.len() >= len {
            return None;
        }
        if hdr[index + key.len()] != b':' {
            offset = index + key.len();
            continue;
        }
        break index;
    };
    let mut i = index + key.len() + 1;
    while i < len && hdr[i] == b' ' {
        i += 1;
    }
    let start = i;
    while i < len {
        if hdr[i] == b'\r' && i < len - 1 && hdr[i + 1] == b'\n' {
            break;
        }
        i += 1;
    }
    Some(&hdr[start..i])
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) type SRes = (Vec<ClientOp>, Option<ProtoError>);
    pub(super) type CRes = (Vec<ServerOp>, Option<ProtoError>);

    fn srv_chunks(mut p: ServerParser, data: &[u8], sizes: &[usize]) -> SRes {
        let mut out = Vec::new();
        let mut pos = 0;
        let mut k = 0;
        while pos < data.len() {
            let sz = if sizes.is_empty() { data.len() } else { sizes[k % sizes.len()].max(1) };
            k += 1;
            let end = (pos + sz).min(data.len());
            if let Err(e) = p.feed(&data[pos..end], &mut out) {
                return (out, Some(e));
            }
            pos = end;
        }
        (out, None)
    }

    fn cli_chunks(mut p: ClientParser, data: &[u8], sizes: &[usize]) -> CRes {
        let mut out = Vec::new();
        let mut pos = 0;
        let mut k = 0;
        while pos < data.len() {
            let sz = if sizes.is_empty() { data.len() } else { sizes[k % sizes.len()].max(1) };
            k += 1;
            let end = (pos + sz).min(data.len());
            if let Err(e) = p.feed(&data[pos..end], &mut out) {
                return (out, Some(e));
            }
            pos = end;
        }
        (out, None)
    }

    /// Parse with a fresh parser, and check that feeding one byte at a time
    /// and splitting at every boundary gives the same result.
    fn srv_with(p: ServerParser, data: &[u8]) -> SRes {
        let whole = srv_chunks(p.clone(), data, &[]);
        assert_eq!(srv_chunks(p.clone(), data, &[1]), whole, "byte-at-a-time differs for {:?}", show(data));
        for k in 1..data.len() {
            let mut out = Vec::new();
            let mut q = p.clone();
            let r = q.feed(&data[..k], &mut out).and_then(|_| q.feed(&data[k..], &mut out));
            assert_eq!((out, r.err()), whole, "split at {k} differs for {:?}", show(data));
        }
        whole
    }

    fn srv(data: &[u8]) -> SRes {
        srv_with(ServerParser::new(MAX_PAYLOAD_SIZE), data)
    }

    fn cli(data: &[u8]) -> CRes {
        let whole = cli_chunks(ClientParser::new(), data, &[]);
        assert_eq!(cli_chunks(ClientParser::new(), data, &[1]), whole, "byte-at-a-time differs");
        for k in 1..data.len() {
            let mut out = Vec::new();
            let mut q = ClientParser::new();
            let r = q.feed(&data[..k], &mut out).and_then(|_| q.feed(&data[k..], &mut out));
            assert_eq!((out, r.err()), whole, "split at {k} differs");
        }
        whole
    }

    fn ok_ops(data: &[u8]) -> Vec<ClientOp> {
        let (ops, err) = srv(data);
        assert_eq!(err, None, "unexpected error for {:?}", show(data));
        ops
    }

    fn err_of(data: &[u8]) -> ProtoError {
        srv(data).1.unwrap_or_else(|| panic!("expected an error for {:?}", show(data)))
    }

    fn pubop(subject: &str, reply: Option<&str>, payload: &[u8]) -> ClientOp {
        ClientOp::Pub {
            subject: subject.into(),
            reply: reply.map(Into::into),
            payload: Bytes::copy_from_slice(payload),
        }
    }

    const HDRS_ON: &[u8] = b"CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true}\r\n";

    // ---- simple ops -------------------------------------------------------

    #[test]
    fn ping_pong_ok_variants() {
        assert_eq!(ok_ops(b"PING\r\n"), vec![ClientOp::Ping]);
        assert_eq!(ok_ops(b"ping\r\n"), vec![ClientOp::Ping]);
        assert_eq!(ok_ops(b"PiNg\n"), vec![ClientOp::Ping]);
        assert_eq!(ok_ops(b"PING  \r  \n"), vec![ClientOp::Ping]);
        assert_eq!(ok_ops(b"PINGPONG\r\n"), vec![ClientOp::Ping]);
        assert_eq!(ok_ops(b"PONG\r\nPING\r\n"), vec![ClientOp::Pong, ClientOp::Ping]);
        assert_eq!(ok_ops(b"+OK\r\n+ok\r\nPING\r\n"), vec![ClientOp::Ping]);
        // Partial: nothing yet, no error.
        assert_eq!(ok_ops(b"PING"), vec![]);
        assert_eq!(ok_ops(b""), vec![]);
    }

    // ---- CONNECT ----------------------------------------------------------

    fn connect_of(data: &[u8]) -> ConnectInfo {
        match ok_ops(data).pop() {
            Some(ClientOp::Connect(c)) => *c,
            other => panic!("expected a CONNECT, got {other:?}"),
        }
    }

    #[test]
    fn connect_fields() {
        let c = connect_of(
            b"CONNECT {\"verbose\":false,\"pedantic\":false,\"tls_required\":false,\"name\":\"n\",\"lang\":\"go\",\
\"version\":\"1.2\",\"protocol\":1,\"echo\":false,\"headers\":true,\"no_responders\":true,\"user\":\"u\",\"pass\":\"p\",\
\"auth_token\":\"t\",\"unknown\":{\"a\":[1,2]}}\r\n",
        );
        assert!(!c.verbose && !c.pedantic && !c.echo && c.headers && c.no_responders);
        assert_eq!(c.name.as_deref(), Some("n"));
        assert_eq!(c.lang.as_deref(), Some("go"));
        assert_eq!(c.version.as_deref(), Some("1.2"));
        assert_eq!(c.protocol, 1);
        assert_eq!((c.user.as_deref(), c.pass.as_deref(), c.auth_token.as_deref()), (Some("u"), Some("p"), Some("t")));
    }

    #[test]
    fn connect_defaults_are_nats_server_default_opts() {
        // Missing fields keep nats-server's defaultOpts: verbose, pedantic, echo true.
        let c = connect_of(b"CONNECT {}\r\n");
        assert!(c.verbose && c.pedantic && c.echo && !c.headers);
        assert_eq!(c, ConnectInfo::nats_server_initial());
        // null is a no-op, both for the whole object and for a field.
        assert_eq!(connect_of(b"CONNECT null\r\n"), ConnectInfo::nats_server_initial());
        let c = connect_of(b"CONNECT {\"verbose\":null,\"name\":null}\r\n");
        assert!(c.verbose);
        assert_eq!(c.name, None);
        // serde Deserialize starts from Default (echo true, the rest zero).
        let d: ConnectInfo = serde_json::from_str("{}").unwrap_or_else(|_| ConnectInfo::nats_server_initial());
        assert_eq!(d, ConnectInfo::default());
        assert!(d.echo && !d.verbose);
    }

    #[test]
    fn connect_go_key_matching_and_framing() {
        // No space needed, keyword and keys case-insensitive, Kelvin sign folds to K.
        let c = connect_of(b"connect{\"VERBOSE\":false,\"Pedantic\":false,\"n\xe2\x84\xaaey\":\"x\"}\r\n");
        assert!(!c.verbose && !c.pedantic);
        assert_eq!(c.nkey.as_deref(), Some("x"));
        // Later duplicates win, whatever their case.
        let c = connect_of(b"CONNECT {\"verbose\":true,\"VERBOSE\":false}\r\n");
        assert!(!c.verbose);
        // A bare \n ends the line; "CONNECT\n" makes the \n part of the JSON.
        let c = connect_of(b"CONNECT\n{\"verbose\":false}\n");
        assert!(!c.verbose);
        // Tabs between keyword and JSON.
        assert!(!connect_of(b"CONNECT\t \t{\"echo\":false}\r\n").echo);
    }

    #[test]
    fn second_connect_applies_on_top() {
        let ops =
            ok_ops(b"CONNECT {\"verbose\":false,\"name\":\"a\",\"headers\":true}\r\nCONNECT {\"pedantic\":false}\r\n");
        let ClientOp::Connect(c) = &ops[1] else { panic!("not a connect: {ops:?}") };
        assert!(!c.verbose && !c.pedantic && c.headers);
        assert_eq!(c.name.as_deref(), Some("a"));
    }

    #[test]
    fn connect_bad_json_closes_silently() {
        for bad in [
            &b"CONNECT \r\n"[..],
            b"CONNECT {\r\n",
            b"CONNECT {\"verbose\":\"yes\"}\r\n",
            b"CONNECT {\"protocol\":1.5}\r\n",
            b"CONNECT {\"protocol\":\"1\"}\r\n",
            b"CONNECT {\"name\":5}\r\n",
            b"CONNECT []\r\n",
            b"CONNECT 5\r\n",
            b"CONNECT {} x\r\n",
            b"CONNECT {\"import\":5}\r\n",
        ] {
            let e = err_of(bad);
            assert_eq!(e.kind, ProtoErrorKind::BadConnect, "{:?}", show(bad));
            assert!(e.closes && e.text.is_empty() && !e.sends_err());
        }
        // Valid route-only fields are accepted and dropped.
        connect_of(b"CONNECT {\"import\":{\"allow\":[\"a\"]},\"remote_account\":\"x\"}\r\n");
    }

    #[test]
    fn connect_check_protocol_and_no_responders() {
        let mut c = ConnectInfo { protocol: 2, ..ConnectInfo::default() };
        let e = c.check(true).err();
        assert_eq!(e.as_ref().map(|e| e.text.as_str()), Some("invalid client protocol"));
        assert_eq!(e.map(|e| e.closes), Some(true));
        c.protocol = -1;
        assert_eq!(c.check(true).err().map(|e| e.kind), Some(ProtoErrorKind::InvalidClientProtocol));
        c.protocol = 1;
        c.no_responders = true;
        assert_eq!(c.check(true).err().map(|e| e.text), Some("no responders requires headers support".to_string()));
        c.headers = true;
        assert_eq!(c.check(true), Ok(()));
        assert_eq!(c.check(false).err().map(|e| e.kind), Some(ProtoErrorKind::NoRespondersRequiresHeaders));
        c.protocol = 0;
        assert_eq!(c.check(true), Ok(()));
    }

    // ---- PUB --------------------------------------------------------------

    #[test]
    fn pub_basic_and_spacing() {
        assert_eq!(ok_ops(b"PUB foo 5\r\nhello\r\n"), vec![pubop("foo", None, b"hello")]);
        assert_eq!(
            ok_ops(b"pub foo.bar INBOX.22 11\r\nhello world\r\n"),
            vec![pubop("foo.bar", Some("INBOX.22"), b"hello world")]
        );
        assert_eq!(ok_ops(b"PUB foo 0\r\n\r\n"), vec![pubop("foo", None, b"")]);
        assert_eq!(ok_ops(b"PUB foo 2\nok\r\n"), vec![pubop("foo", None, b"ok")]);
        // Payload may contain CR/LF.
        assert_eq!(ok_ops(b"PUB foo 4\r\n\r\n\r\n\r\n"), vec![pubop("foo", None, b"\r\n\r\n")]);
        // A \r inside the line is part of the subject (PUB splits on blanks only).
        assert_eq!(ok_ops(b"PUB foo\rbar 2\r\nok\r\n"), vec![pubop("foo\rbar", None, b"ok")]);
        // ... but SUB/UNSUB split on \r too.
        assert_eq!(
            ok_ops(b"SUB foo\rbar\r\n"),
            vec![ClientOp::Sub { subject: "foo".into(), queue: None, sid: "bar".into() }]
        );
        // Leading zeros and exactly 9 digits are fine.
        assert_eq!(ok_ops(b"PUB foo 002\r\nok\r\n"), vec![pubop("foo", None, b"ok")]);
        assert_eq!(ok_ops(b"PUB foo 000000002\r\nok\r\n"), vec![pubop("foo", None, b"ok")]);
        for (arg, subject, reply, size) in [
            ("a 2", "a", None, 2),
            (" foo 22", "foo", None, 22),
            ("foo 22 ", "foo", None, 22),
            (" foo   22 ", "foo", None, 22),
            ("foo bar 22", "foo", Some("bar"), 22),
            ("  foo   bar  22  ", "foo", Some("bar"), 22),
            ("a\t2", "a", None, 2),
            ("\tfoo\t\t\t22\t", "foo", None, 22),
            ("\t \tfoo\t \t \tbar\t \t22\t \t", "foo", Some("bar"), 22),
        ] {
            let payload = vec![b'x'; size];
            let mut data = format!("PUB {arg}\r\n").into_bytes();
            data.extend_from_slice(&payload);
            data.extend_from_slice(b"\r\n");
            assert_eq!(ok_ops(&data), vec![pubop(subject, reply, &payload)], "{arg:?}");
        }
    }

    #[test]
    fn pub_bad_args_close_without_err() {
        for (bad, kind) in [
            (&b"PUB foo\r\n"[..], ProtoErrorKind::BadPub),
            (b"PUB foo bar baz 5\r\n", ProtoErrorKind::BadPub),
            (b"PUB foo bar       \r\n", ProtoErrorKind::BadPub),
            (b"PUB foo -1\r\n", ProtoErrorKind::BadPub),
            (b"PUB foo 1x\r\n", ProtoErrorKind::BadPub),
            (b"PUB foo 1234567890\r\n", ProtoErrorKind::BadPub),
            (b"PUB foo 3333333333333333333333333333333333333333333333333333333333333333\r\n", ProtoErrorKind::BadPub),
            (b"PUB  \r\n", ProtoErrorKind::BadPub),
            // A \r inside a line ending in a bare \n: the byte before \n
            // ("2") is dropped, as in an unsplit nats-server read.
            (b"PUB foo\rbar 2\n", ProtoErrorKind::BadPub),
        ] {
            let e = err_of(bad);
            assert_eq!(e.kind, kind, "{:?}", show(bad));
            assert!(e.closes && !e.sends_err(), "{:?}", show(bad));
        }
    }

    #[test]
    fn payload_must_end_with_crlf() {
        for bad in [
            &b"PUB foo 2\r\nok \r\n"[..],
            b"PUB foo 2\r\nok\r \n",
            b"PUB foo.bar 11\r\nhello world hello world\r",
            b"PUB foo 2\r\nok\n",
        ] {
            let e = err_of(bad);
            assert_eq!(
                (e.kind, e.text.as_str(), e.closes),
                (ProtoErrorKind::UnknownOperation, "Unknown Protocol Operation", true)
            );
        }
    }

    #[test]
    fn max_payload_violation() {
        let p = ServerParser::new(10);
        let (ops, e) = srv_with(p.clone(), b"PUB foo 10\r\n0123456789\r\nPUB foo 11\r\n");
        assert_eq!(ops, vec![pubop("foo", None, b"0123456789")]);
        let e = e.unwrap_or_else(ProtoError::unknown_op);
        assert_eq!(
            (e.kind, e.text.as_str(), e.closes),
            (ProtoErrorKind::MaxPayload, "Maximum Payload Violation", true)
        );
        // HPUB counts the total size.
        let mut data = HDRS_ON.to_vec();
        data.extend_from_slice(b"HPUB foo 4 11\r\n");
        assert_eq!(srv_with(p, &data).1.map(|e| e.kind), Some(ProtoErrorKind::MaxPayload));
        // Bad size is checked before max payload.
        assert_eq!(
            srv_with(ServerParser::new(10), b"PUB foo 99999999999\r\n").1.map(|e| e.kind),
            Some(ProtoErrorKind::BadPub)
        );
    }

    #[test]
    fn pedantic_invalid_publish_subject_is_not_fatal() {
        let ops = ok_ops(b"CONNECT {}\r\nPUB foo.* 2\r\nok\r\nPUB foo 2\r\nok\r\n");
        assert_eq!(ops.len(), 4);
        match &ops[1] {
            ClientOp::SendErr(e) => {
                assert_eq!(
                    (e.text.as_str(), e.closes, e.kind),
                    ("Invalid Publish Subject", false, ProtoErrorKind::InvalidPublishSubject)
                )
            }
            other => panic!("expected SendErr, got {other:?}"),
        }
        // The message is still delivered.
        assert_eq!(ops[2], pubop("foo.*", None, b"ok"));
        assert_eq!(ops[3], pubop("foo", None, b"ok"));
        for bad in ["foo.>", "foo..bar", ".foo", "foo.", "*", ">"] {
            let data = format!("CONNECT {{\"pedantic\":true}}\r\nPUB {bad} 0\r\n\r\n");
            assert!(matches!(ok_ops(data.as_bytes())[1], ClientOp::SendErr(_)), "{bad}");
        }
        for good in ["foo.*x", "a>.b", "foo.bar", "$JS.API.INFO"] {
            let data = format!("CONNECT {{\"pedantic\":true}}\r\nPUB {good} 0\r\n\r\n");
            assert_eq!(ok_ops(data.as_bytes())[1], pubop(good, None, b""), "{good}");
        }
        // Non-pedantic: wildcards are published without complaint.
        let ops = ok_ops(b"CONNECT {\"pedantic\":false}\r\nPUB foo.> 0\r\n\r\n");
        assert_eq!(ops[1], pubop("foo.>", None, b""));
    }

    // ---- HPUB -------------------------------------------------------------

    #[test]
    fn hpub() {
        let mut data = HDRS_ON.to_vec();
        data.extend_from_slice(b"HPUB foo 12 17\r\nname:derek\r\nHELLO\r\nhpub foo INBOX.22 0 5\r\nHELLO\r\n");
        let ops = ok_ops(&data);
        assert_eq!(
            ops[1],
            ClientOp::Hpub {
                subject: "foo".into(),
                reply: None,
                headers: Bytes::from_static(b"name:derek\r\n"),
                payload: Bytes::from_static(b"HELLO")
            }
        );
        assert_eq!(
            ops[2],
            ClientOp::Hpub {
                subject: "foo".into(),
                reply: Some("INBOX.22".into()),
                headers: Bytes::new(),
                payload: Bytes::from_static(b"HELLO")
            }
        );
    }

    #[test]
    fn hpub_errors() {
        // Without headers negotiated: silent close.
        for pre in [&b""[..], b"CONNECT {}\r\n", b"CONNECT {\"headers\":false}\r\n"] {
            let mut d = pre.to_vec();
            d.extend_from_slice(b"HPUB foo 2 2\r\nab\r\n");
            let e = err_of(&d);
            assert_eq!((e.kind, e.closes, e.sends_err()), (ProtoErrorKind::HeadersNotSupported, true, false));
        }
        let mut p = ServerParser::new(MAX_PAYLOAD_SIZE);
        p.set_headers_enabled(false);
        let mut d = HDRS_ON.to_vec();
        d.extend_from_slice(b"HPUB foo 2 2\r\nab\r\n");
        assert_eq!(srv_with(p, &d).1.map(|e| e.kind), Some(ProtoErrorKind::HeadersNotSupported));
        for bad in [
            &b"HPUB foo 5\r\n"[..],
            b"HPUB foo 6 5\r\n",
            b"HPUB foo x 5\r\n",
            b"HPUB foo 1 y\r\n",
            b"HPUB a b c 1 2\r\n",
        ] {
            let mut d = HDRS_ON.to_vec();
            d.extend_from_slice(bad);
            let e = err_of(&d);
            assert_eq!((e.kind, e.sends_err()), (ProtoErrorKind::BadHpub, false), "{:?}", show(bad));
        }
    }

    // ---- SUB / UNSUB ------------------------------------------------------

    #[test]
    fn sub_unsub() {
        assert_eq!(
            ok_ops(b"SUB foo 1\r\nsub foo.* q 22\r\nSUB\tbar\t\t3\n"),
            vec![
                ClientOp::Sub { subject: "foo".into(), queue: None, sid: "1".into() },
                ClientOp::Sub { subject: "foo.*".into(), queue: Some("q".into()), sid: "22".into() },
                ClientOp::Sub { subject: "bar".into(), queue: None, sid: "3".into() },
            ]
        );
        assert_eq!(
            ok_ops(b"UNSUB 1\r\nUNSUB 1 5\r\nunsub 1 x\r\nUNSUB 1 0\r\nUNSUB 1 1234567890\r\n"),
            vec![
                ClientOp::Unsub { sid: "1".into(), max: None },
                ClientOp::Unsub { sid: "1".into(), max: Some(5) },
                ClientOp::Unsub { sid: "1".into(), max: None },
                ClientOp::Unsub { sid: "1".into(), max: Some(0) },
                ClientOp::Unsub { sid: "1".into(), max: None },
            ]
        );
        // The subject is not validated by the parser.
        assert_eq!(
            ok_ops(b"SUB foo..bar 1\r\n"),
            vec![ClientOp::Sub { subject: "foo..bar".into(), queue: None, sid: "1".into() }]
        );
    }

    #[test]
    fn sub_unsub_errors() {
        for (bad, kind) in [
            (&b"SUB foo\r\n"[..], ProtoErrorKind::BadSub),
            (b"SUB foo bar baz 22\r\n", ProtoErrorKind::BadSub),
            (b"SUB  \r\n", ProtoErrorKind::BadSub),
            (b"UNSUB \r\n", ProtoErrorKind::BadUnsub),
            (b"UNSUB          \t       \r\n", ProtoErrorKind::BadUnsub),
            (b"UNSUB 1 2 3\r\n", ProtoErrorKind::BadUnsub),
            (b"SUB\r\n", ProtoErrorKind::UnknownOperation),
            (b"UNSUB\r\n", ProtoErrorKind::UnknownOperation),
            (b"UNSUB_2\r\n", ProtoErrorKind::UnknownOperation),
            (b"UNSUBUNSUB 1\r\n", ProtoErrorKind::UnknownOperation),
        ] {
            let e = err_of(bad);
            assert_eq!(e.kind, kind, "{:?}", show(bad));
            assert_eq!(e.sends_err(), kind == ProtoErrorKind::UnknownOperation);
        }
    }

    // ---- unknown operations ----------------------------------------------

    #[test]
    fn unknown_protocol_operations() {
        // nats-server parser_test.go TestShouldFail, the ones that are framing errors.
        for bad in [
            "xxx",
            "Px",
            "PIx",
            "PINx",
            " PING",
            "POx",
            "PONx",
            "+x",
            "+Ox",
            "-x",
            "-Ex",
            "-ERx",
            "-ERRx",
            "Cx",
            "COx",
            "CONx",
            "CONNx",
            "CONNEx",
            "CONNECx",
            "PUx",
            "Sx",
            "SUx",
            "Ux",
            "UNx",
            "UNSx",
            "UNSUx",
            "UNSUBx",
            "Ix",
            "INx",
            "INFx",
            "M",
            "MSG foo 1 2\r\n",
            "\r\n",
            "\n",
            "RS+ foo 1\r\n",
            "A+ foo\r\n",
            "LS+ foo\r\n",
            "PUB\r\n",
            "HPUBx",
        ] {
            let e = err_of(bad.as_bytes());
            assert_eq!(
                (e.kind, e.text.as_str(), e.closes),
                (ProtoErrorKind::UnknownOperation, "Unknown Protocol Operation", true),
                "{bad:?}"
            );
        }
        // The rest of TestShouldFail: errors, but of other kinds.
        assert_eq!(err_of(b"CONNECT \r\n").kind, ProtoErrorKind::BadConnect);
        assert_eq!(err_of(b"INFO  \r\n").kind, ProtoErrorKind::BadInfo);
        // Ops before the error are kept.
        let (ops, e) = srv(b"PING\r\nPONG\r\nFOO\r\n");
        assert_eq!(ops, vec![ClientOp::Ping, ClientOp::Pong]);
        assert_eq!(e.map(|e| e.kind), Some(ProtoErrorKind::UnknownOperation));
    }

    #[test]
    fn errors_are_sticky() {
        let mut p = ServerParser::new(MAX_PAYLOAD_SIZE);
        let mut out = Vec::new();
        let e1 = p.feed(b"PING\r\nXX", &mut out).err();
        assert_eq!(out, vec![ClientOp::Ping]);
        assert!(e1.is_some());
        let e2 = p.feed(b"PING\r\n", &mut out).err();
        assert_eq!(e1, e2);
        assert_eq!(out, vec![ClientOp::Ping]);
        let mut c = ClientParser::new();
        let mut cout = Vec::new();
        let e1 = c.feed(b"PUB x 1\r\n", &mut cout).err();
        assert!(e1.is_some());
        assert_eq!(c.feed(b"PING\r\n", &mut cout).err(), e1);
        assert!(cout.is_empty());
    }

    #[test]
    fn max_control_line() {
        let arg = "a".repeat(4096 - 2);
        // Exactly 4096 argument bytes: fine (with \r\n or bare \n).
        let ok = format!("SUB {arg} 1\r\nSUB {arg} 2\n");
        assert_eq!(ok_ops(ok.as_bytes()).len(), 2);
        let bad = format!("PING\r\nSUB {arg} 12\r\n");
        let (ops, e) = srv(bad.as_bytes());
        assert_eq!(ops, vec![ClientOp::Ping]);
        let e = e.unwrap_or_else(ProtoError::unknown_op);
        assert_eq!(
            (e.kind, e.text.as_str(), e.closes),
            (ProtoErrorKind::MaxControlLine, "maximum control line exceeded", true)
        );
        // Caught before the line ends.
        let partial = format!("SUB {arg}123");
        assert_eq!(srv(partial.as_bytes()).1.map(|e| e.kind), Some(ProtoErrorKind::MaxControlLine));
        // Applies to CONNECT too.
        let big = format!("CONNECT {{\"name\":\"{}\"}}\r\n", "n".repeat(5000));
        assert_eq!(srv(big.as_bytes()).1.map(|e| e.kind), Some(ProtoErrorKind::MaxControlLine));
        // nats-server TestMaxControlLine: mcl 8, partial and whole.
        let mut p = ServerParser::new(MAX_PAYLOAD_SIZE);
        p.set_max_control_line(8);
        assert_eq!(srv_with(p.clone(), b"PUB foo.bar.ba").1.map(|e| e.kind), Some(ProtoErrorKind::MaxControlLine));
        assert_eq!(srv_with(p, b"PUB foo.bar.baz 2\r\nok\r\n").1.map(|e| e.kind), Some(ProtoErrorKind::MaxControlLine));
        // PING ignores what follows it, however long.
        let long_ping = format!("PING{}\r\n", " ".repeat(10_000));
        assert_eq!(ok_ops(long_ping.as_bytes()), vec![ClientOp::Ping]);
    }

    #[test]
    fn auth_required_before_connect() {
        let mut p = ServerParser::new(MAX_PAYLOAD_SIZE);
        p.set_auth_required(true);
        let e = srv_with(p.clone(), b"PING\r\n").1.unwrap_or_else(ProtoError::unknown_op);
        assert_eq!(
            (e.kind, e.text.as_str(), e.closes),
            (ProtoErrorKind::AuthorizationViolation, "Authorization Violation", true)
        );
        let (ops, e) = srv_with(p, b"connect {\"verbose\":false}\r\nPING\r\n");
        assert_eq!(e, None);
        assert_eq!(ops.len(), 2);
    }

    #[test]
    fn client_sent_err_info_and_hmsg() {
        let e = err_of(b"-ERR 'x'\r\n");
        assert_eq!((e.kind, e.closes, e.sends_err()), (ProtoErrorKind::ClientSentErr, true, false));
        let ops = ok_ops(b"INFO {\"server_id\":\"x\",\"port\":4222,\"connect_urls\":null,\"gateway_cmd_payload\":\"aGk=\"}\r\nPING\r\n");
        assert_eq!(ops.len(), 2);
        assert!(matches!(&ops[0], ClientOp::Info(s) if s.starts_with("{\"server_id\"")));
        for bad in [
            &b"INFO {\"port\":\"x\"}\r\n"[..],
            b"INFO {\"max_payload\":3000000000}\r\n",
            b"INFO {\"gateway_cmd_payload\":\"a\"}\r\n",
        ] {
            assert_eq!(err_of(bad).kind, ProtoErrorKind::BadInfo, "{:?}", show(bad));
        }
        // A client HMSG: an empty publish to an empty subject.
        assert_eq!(ok_ops(b"HMSG foo 1 5\r\n\r\n"), vec![pubop("", None, b"")]);
        assert_eq!(err_of(b"HMSG foo 1 5\r\nhello\r\n").kind, ProtoErrorKind::UnknownOperation);
    }

    #[test]
    fn mixed_stream_split_everywhere() {
        let mut data = HDRS_ON.to_vec();
        data.extend_from_slice(b"SUB foo 1\r\nSUB bar q 2\r\nPUB foo reply 5\r\nhello\r\nHPUB bar 18 23\r\nNATS/1.0\r\nA: b\r\n\r\nworld\r\n");
        data.extend_from_slice(b"PING\r\nUNSUB 1 3\r\npub foo 0\r\n\r\nPONG\r\n");
        let ops = ok_ops(&data);
        assert_eq!(ops.len(), 9);
        assert_eq!(ops[3], pubop("foo", Some("reply"), b"hello"));
        let mut back = Vec::new();
        for op in &ops {
            write_client_op(&mut back, op);
        }
        let reparsed = ok_ops(&back);
        // The re-written CONNECT spells out name/lang/version as "".
        assert_eq!(reparsed[1..], ops[1..]);
        match &reparsed[0] {
            ClientOp::Connect(c) => assert!(c.headers && !c.verbose && c.name.as_deref() == Some("")),
            other => panic!("expected CONNECT, got {other:?}"),
        }
    }

    // ---- client side ------------------------------------------------------

    fn msg(subject: &str, sid: &str, reply: Option<&str>, payload: &[u8]) -> ServerOp {
        ServerOp::Msg {
            subject: subject.into(),
            sid: sid.into(),
            reply: reply.map(Into::into),
            payload: Bytes::copy_from_slice(payload),
        }
    }

    #[test]
    fn client_parses_server_ops() {
        let data = b"INFO {\"server_id\":\"S\",\"max_payload\":1048576} \r\nPING\r\npong\r\n+OK\r\n-ERR 'Unknown Protocol Operation'\r\n\
MSG foo 1 5\r\nhello\r\nMSG foo 1 bar 0\r\n\r\nMSG _INBOX.x.1 99  2\r\nhi\r\nmsg\tfoo\t7\t\t1\nx\r\n\
HMSG foo 2 r 12 14\r\nNATS/1.0\r\n\r\nhi\r\n-ERR   'Permissions Violation for Publish to \"x\"'  \r\n";
        let (ops, e) = cli(data);
        assert_eq!(e, None);
        assert_eq!(
            ops,
            vec![
                ServerOp::Info("{\"server_id\":\"S\",\"max_payload\":1048576}".into()),
                ServerOp::Ping,
                ServerOp::Pong,
                ServerOp::Ok,
                ServerOp::Err("Unknown Protocol Operation".into()),
                msg("foo", "1", None, b"hello"),
                msg("foo", "1", Some("bar"), b""),
                msg("_INBOX.x.1", "99", None, b"hi"),
                msg("foo", "7", None, b"x"),
                ServerOp::Hmsg {
                    subject: "foo".into(),
                    sid: "2".into(),
                    reply: Some("r".into()),
                    headers: Bytes::from_static(b"NATS/1.0\r\n\r\n"),
                    payload: Bytes::from_static(b"hi")
                },
                ServerOp::Err("Permissions Violation for Publish to \"x\"".into()),
            ]
        );
        let info = match &ops[0] {
            ServerOp::Info(j) => ServerInfo::from_json(j.as_bytes()),
            _ => Err(String::new()),
        };
        assert_eq!(info.map(|i| (i.server_id, i.max_payload)), Ok(("S".to_string(), 1_048_576)));
    }

    #[test]
    fn client_errors() {
        for bad in [
            &b"PUB foo 1\r\nx\r\n"[..],
            b"SUB foo 1\r\n",
            b"CONNECT {}\r\n",
            b"MSG foo 5\r\n",
            b"MSG foo 1 2 3 4\r\n",
            b"MSG foo 1 x\r\n",
            b"MSG foo 1 99999999999\r\n",
            b"HMSG foo 1 3 2\r\n",
            b"HMSG foo 1 2\r\n",
            b"MSG foo 1 2\r\nabc\r\n",
            b"\r\n",
        ] {
            let (_, e) = cli(bad);
            let e = e.unwrap_or_else(|| panic!("expected error for {:?}", show(bad)));
            assert!(e.closes && e.text.is_empty(), "{:?}", show(bad));
        }
    }

    // ---- writers ----------------------------------------------------------

    #[test]
    fn writers_exact_bytes() {
        let mut o = Vec::new();
        write_msg(&mut o, "foo", "1", None, b"hello");
        write_msg(&mut o, "foo", "1", Some(""), b"hi");
        write_msg(&mut o, "foo", "1", Some("r"), b"");
        assert_eq!(o, b"MSG foo 1 5\r\nhello\r\nMSG foo 1  2\r\nhi\r\nMSG foo 1 r 0\r\n\r\n");
        o.clear();
        write_hmsg(&mut o, "foo", "9", Some("r"), b"NATS/1.0\r\n\r\n", b"hi");
        assert_eq!(o, b"HMSG foo 9 r 12 14\r\nNATS/1.0\r\n\r\nhi\r\n");
        o.clear();
        write_pub(&mut o, "a", Some("b"), b"x");
        write_pub(&mut o, "a", Some(""), b"");
        write_hpub(&mut o, "a", None, b"NATS/1.0\r\n\r\n", b"");
        write_sub(&mut o, "a.*", Some("q"), "7");
        write_sub(&mut o, "a", None, "8");
        write_unsub(&mut o, "7", Some(1_000_000_000_000));
        write_unsub(&mut o, "8", None);
        write_ping(&mut o);
        write_pong(&mut o);
        write_ok(&mut o);
        write_err(&mut o, "Invalid Subject");
        assert_eq!(
            String::from_utf8_lossy(&o),
            "PUB a b 1\r\nx\r\nPUB a 0\r\n\r\nHPUB a 12 12\r\nNATS/1.0\r\n\r\n\r\nSUB a.* q 7\r\nSUB a 8\r\n\
UNSUB 7 1000000000000\r\nUNSUB 8\r\nPING\r\nPONG\r\n+OK\r\n-ERR 'Invalid Subject'\r\n"
        );
    }

    #[test]
    fn push_u64_edges() {
        for v in [0u64, 9, 10, 99, 100, 4_294_967_295, u64::MAX] {
            let mut o = Vec::new();
            push_u64(&mut o, v);
            assert_eq!(o, v.to_string().into_bytes());
        }
    }

    #[test]
    fn info_json_like_nats_server() {
        let info = ServerInfo {
            server_id: "NB".into(),
            server_name: "s<1>&".into(),
            version: "2.12.8".into(),
            proto: 1,
            go: "go1.24.4".into(),
            host: "0.0.0.0".into(),
            port: 4222,
            headers: true,
            max_payload: 1_048_576,
            jetstream: true,
            client_id: 4,
            client_ip: "127.0.0.1".into(),
            cluster: Some("c".into()),
            api_lvl: 2,
            ..ServerInfo::default()
        };
        let line = String::from_utf8_lossy(&write_info(&info)).into_owned();
        assert_eq!(
            line,
            "INFO {\"server_id\":\"NB\",\"server_name\":\"s\\u003c1\\u003e\\u0026\",\"version\":\"2.12.8\",\"proto\":1,\
\"go\":\"go1.24.4\",\"host\":\"0.0.0.0\",\"port\":4222,\"headers\":true,\"max_payload\":1048576,\"jetstream\":true,\
\"client_id\":4,\"client_ip\":\"127.0.0.1\",\"cluster\":\"c\",\"api_lvl\":2} \r\n"
        );
        // A client reads it back.
        let (ops, e) = cli(line.as_bytes());
        assert_eq!(e, None);
        let back = match &ops[0] {
            ServerOp::Info(j) => ServerInfo::from_json(j.as_bytes()).ok(),
            _ => None,
        };
        assert_eq!(back, Some(info));
        // Empty/zero omitempty fields are left out; non-omitempty ones stay.
        assert_eq!(
            to_go_json(&ServerInfo::default()),
            "{\"server_id\":\"\",\"server_name\":\"\",\"version\":\"\",\"proto\":0,\"go\":\"\",\"host\":\"\",\"port\":0,\"headers\":false,\"max_payload\":0}"
        );
    }

    #[test]
    fn connect_json_like_nats_go() {
        let c = ConnectInfo {
            name: Some("app".into()),
            lang: Some("rust".into()),
            version: Some("0.1".into()),
            protocol: 1,
            headers: true,
            no_responders: true,
            user: Some("u".into()),
            ..ConnectInfo::default()
        };
        let mut o = Vec::new();
        write_connect(&mut o, &c);
        assert_eq!(
            String::from_utf8_lossy(&o),
            "CONNECT {\"verbose\":false,\"pedantic\":false,\"user\":\"u\",\"tls_required\":false,\"name\":\"app\",\"lang\":\"rust\",\
\"version\":\"0.1\",\"protocol\":1,\"echo\":true,\"headers\":true,\"no_responders\":true}\r\n"
        );
        assert_eq!(connect_of(&o), c);
    }

    #[test]
    fn no_responders_bytes() {
        let h = no_responders_header("svc.a");
        assert_eq!(h, b"NATS/1.0 503\r\nNats-Subject: svc.a\r\n\r\n");
        assert_eq!(h.len(), 32 + "svc.a".len());
        let mut o = Vec::new();
        write_no_responders(&mut o, "_INBOX.1", "3", "svc.a");
        assert_eq!(o, b"HMSG _INBOX.1 3 37 37\r\nNATS/1.0 503\r\nNats-Subject: svc.a\r\n\r\n\r\n");
        let parsed = Headers::parse(&h).ok();
        assert_eq!(parsed.as_ref().and_then(|h| h.status), Some(503));
        assert_eq!(parsed.as_ref().and_then(|h| h.get("Nats-Subject")), Some("svc.a"));
    }

    #[test]
    fn go_json_escape() {
        assert_eq!(
            to_go_json(&"a<b>&c\u{2028}\u{2029}\n\u{1}"),
            "\"a\\u003cb\\u003e\\u0026c\\u2028\\u2029\\n\\u0001\""
        );
        assert_eq!(to_go_json(&"plain"), "\"plain\"");
    }

    // ---- headers ----------------------------------------------------------

    #[test]
    fn headers_parse_and_print() {
        let h =
            Headers::parse(b"NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 5\r\nNats-Last-Stream:   7  \r\n\r\n");
        let h = h.unwrap_or_default();
        assert_eq!(h.status, Some(100));
        assert_eq!(h.description.as_deref(), Some("Idle Heartbeat"));
        assert_eq!(h.get("Nats-Last-Consumer"), Some("5"));
        assert_eq!(h.get("Nats-Last-Stream"), Some("7"));
        assert_eq!(h.get("nats-last-stream"), None);
        assert_eq!(
            h.to_bytes(),
            b"NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 5\r\nNats-Last-Stream: 7\r\n\r\n"
        );
        // 2.9–2.11 form of the 503.
        let h = Headers::parse(b"NATS/1.0 503\r\n\r\n").unwrap_or_default();
        assert_eq!((h.status, h.description.as_deref(), h.len()), (Some(503), None, 0));
        // Plain, duplicates: first wins, all kept in order.
        let h = Headers::parse(b"NATS/1.0\r\nA: 1\r\nA: 2\r\nB:3\r\n\r\n").unwrap_or_default();
        assert_eq!(h.status, None);
        assert_eq!(h.get("A"), Some("1"));
        assert_eq!(h.get_all("A").collect::<Vec<_>>(), vec!["1", "2"]);
        assert_eq!(h.get("B"), Some("3"));
        assert_eq!(Headers::new().to_bytes(), b"NATS/1.0\r\n\r\n");
        let mut h = Headers::with_status(408, Some("Request Timeout"));
        h.append("Nats-Pending-Messages", "1");
        assert_eq!(h.to_bytes(), b"NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: 1\r\n\r\n");
        assert_eq!(Headers::parse(&h.to_bytes()), Ok(h));
        // Bare \n line endings are accepted.
        assert_eq!(
            Headers::parse(b"NATS/1.0\nA: b\n\n").ok().and_then(|h| h.get("A").map(str::to_string)),
            Some("b".into())
        );
        for bad in [
            &b""[..],
            b"NATS/1.0",
            b"NATS/1.0\r\n",
            b"NATS/1.1\r\n\r\n",
            b"HTTP/1.0\r\n\r\n",
            b"NATS/1.0 50\r\n\r\n",
            b"NATS/1.0 abc\r\n\r\n",
            b"NATS/1.0\r\nNoColon\r\n\r\n",
            b"NATS/1.0\r\n: v\r\n\r\n",
            b"NATS/1.0\r\nA: b\r\n\r\nextra",
        ] {
            assert!(Headers::parse(bad).is_err(), "{:?}", show(bad));
        }
    }

    #[test]
    fn raw_get_header_like_nats_server() {
        let h = b"NATS/1.0\r\nNats-Subject: a\r\nSubject:  b\r\nX:c\r\nX: d\r\nEmpty:\r\n\r\n";
        assert_eq!(get_header(h, "Nats-Subject"), Some(&b"a"[..]));
        assert_eq!(get_header(h, "Subject"), Some(&b"b"[..]));
        assert_eq!(get_header(h, "X"), Some(&b"c"[..]));
        assert_eq!(get_header(h, "Empty"), Some(&b""[..]));
        assert_eq!(get_header(h, "x"), None);
        assert_eq!(get_header(h, "Missing"), None);
        assert_eq!(get_header(h, ""), None);
        assert_eq!(get_header(b"", "X"), None);
        assert_eq!(get_header(b"NATS/1.0\r\nX", "X"), None);
        assert_eq!(get_header(b"NATS/1.0\r\nX:", "X"), Some(&b""[..]));
        assert_eq!(get_header(b"NATS/1.0\r\nX: v", "X"), Some(&b"v"[..]));
        // nats-server's quirk: it tests the *relative* index against 2, so a
        // key found inside "NATS/1.0" ("A", "T", "S/1") ends the search.
        assert_eq!(get_header(b"NATS/1.0\r\nA: 1\r\n\r\n", "A"), None);
        assert_eq!(get_header(b"NATS/1.0\r\nB: 1\r\n\r\n", "B"), Some(&b"1"[..]));
    }

    // ---- the other ways to feed: same operations, same errors --------------

    /// How to feed a parser.
    #[derive(Clone, Copy, Debug)]
    pub(super) enum Way {
        Slice,
        Bytes,
        With,
        BytesWith,
    }
    pub(super) const WAYS: [Way; 4] = [Way::Slice, Way::Bytes, Way::With, Way::BytesWith];

    pub(super) fn srv_way(mut p: ServerParser, way: Way, data: &[u8], sizes: &[usize]) -> SRes {
        let mut out = Vec::new();
        let mut pos = 0;
        let mut k = 0;
        while pos < data.len() {
            let sz = if sizes.is_empty() { data.len() } else { sizes[k % sizes.len()].max(1) };
            k += 1;
            let end = (pos + sz).min(data.len());
            let chunk = Bytes::copy_from_slice(&data[pos..end]);
            let res = match way {
                Way::Slice => p.feed(&chunk, &mut out),
                Way::Bytes => p.feed_bytes(&chunk, &mut out),
                Way::With => p.feed_with(&chunk, |op| out.push(op.into_owned())),
                Way::BytesWith => p.feed_bytes_with(&chunk, |op| out.push(op.into_owned())),
            };
            if let Err(e) = res {
                return (out, Some(e));
            }
            pos = end;
        }
        (out, None)
    }

    pub(super) fn cli_way(mut p: ClientParser, way: Way, data: &[u8], sizes: &[usize]) -> CRes {
        let mut out = Vec::new();
        let mut pos = 0;
        let mut k = 0;
        while pos < data.len() {
            let sz = if sizes.is_empty() { data.len() } else { sizes[k % sizes.len()].max(1) };
            k += 1;
            let end = (pos + sz).min(data.len());
            let chunk = Bytes::copy_from_slice(&data[pos..end]);
            let res = match way {
                Way::Slice => p.feed(&chunk, &mut out),
                Way::Bytes => p.feed_bytes(&chunk, &mut out),
                Way::With => p.feed_with(&chunk, |op| out.push(op.into_owned())),
                Way::BytesWith => p.feed_bytes_with(&chunk, |op| out.push(op.into_owned())),
            };
            if let Err(e) = res {
                return (out, Some(e));
            }
            pos = end;
        }
        (out, None)
    }

    #[test]
    fn every_way_of_feeding_agrees() {
        let connect = b"CONNECT {\"headers\":true,\"pedantic\":true}\r\n".to_vec();
        let cases: &[&[u8]] = &[
            b"PUB foo 5\r\nhello\r\n",
            b"pub\tfoo  bar\t 5\r\nhello\r\nPUB foo 0\r\n\r\n",
            b"HPUB foo 12 17\r\nNATS/1.0\r\n\r\nhello\r\nHPUB a r 12 12\r\nNATS/1.0\r\n\r\n\r\n",
            b"PUB foo.* 2\r\nhi\r\nPING\r\nSUB a 1\r\n",
            b"PUB foo 5\r\nhelloXX",
            b"PUB foo 5\nhello\r\nPUB f\ro 1\r\nx\r\n",
            b"PUB \r\nfoo 1\r\nx\r\n",
            b"PUB foo 99999\r\n",
            b"HMSG x\r\n\r\n",
        ];
        for case in cases {
            let mut data = connect.clone();
            data.extend_from_slice(case);
            let want = srv_chunks(ServerParser::new(64), &data, &[]);
            for way in WAYS {
                for sizes in [&[][..], &[1], &[3, 7], &[16]] {
                    assert_eq!(
                        srv_way(ServerParser::new(64), way, &data, sizes),
                        want,
                        "{way:?} {sizes:?} {:?}",
                        show(&data)
                    );
                }
            }
        }
        let cases: &[&[u8]] = &[
            b"MSG foo 1 5\r\nhello\r\n",
            b"msg\tfoo 1 r 5\r\nhello\r\nMSG foo 1  0\r\n\r\n",
            b"HMSG foo 1 12 17\r\nNATS/1.0\r\n\r\nhello\r\nHMSG a 2 r 12 12\r\nNATS/1.0\r\n\r\n\r\n",
            b"MSG foo 1 5\r\nhelloXX",
            b"MSG f\ro 1 1\r\nx\r\nPING\r\n+OK\r\n-ERR 'x'\r\n",
            b"MSG foo 1 4294967296\r\n",
            b"MSG \nfoo 1 1\r\nx\r\n",
        ];
        for case in cases {
            let want = cli_chunks(ClientParser::new(), case, &[]);
            for way in WAYS {
                for sizes in [&[][..], &[1], &[3, 7], &[16]] {
                    assert_eq!(
                        cli_way(ClientParser::new(), way, case, sizes),
                        want,
                        "{way:?} {sizes:?} {:?}",
                        show(case)
                    );
                }
            }
        }
    }

    #[test]
    fn feed_bytes_slices_payloads_without_copying() {
        let data = Bytes::from_static(b"MSG foo 1 5\r\nhello\r\nHMSG foo 1 12 14\r\nNATS/1.0\r\n\r\nhi\r\n");
        let inside = |b: &[u8]| {
            let (start, end) = (data.as_ptr() as usize, data.as_ptr() as usize + data.len());
            b.as_ptr() as usize >= start && b.as_ptr() as usize + b.len() <= end
        };
        let mut out = Vec::new();
        ClientParser::new().feed_bytes(&data, &mut out).unwrap();
        match &out[..] {
            [ServerOp::Msg { payload, .. }, ServerOp::Hmsg { headers, payload: p2, .. }] => {
                assert_eq!(&payload[..], b"hello");
                assert!(inside(payload) && inside(headers) && inside(p2));
            }
            other => panic!("{other:?}"),
        }
        let mut seen = 0;
        ClientParser::new()
            .feed_bytes_with(&data, |op| {
                if let ServerOpRef::Msg { payload, subject, sid, .. } = op {
                    assert!(inside(payload.as_slice()) && inside(payload.to_bytes().as_ref()));
                    assert!(matches!(subject, Cow::Borrowed("foo")) && sid == "1");
                    seen += 1;
                }
            })
            .unwrap();
        assert_eq!(seen, 2);
        let pubs = Bytes::from_static(b"PUB foo 5\r\nhello\r\n");
        let mut out = Vec::new();
        ServerParser::new(64).feed_bytes(&pubs, &mut out).unwrap();
        match &out[..] {
            [ClientOp::Pub { payload, .. }] => assert_eq!(payload.as_ptr(), pubs[11..].as_ptr()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn fast_line_parsing_agrees_with_general() {
        let mut rng = XorShift(0x0BAD_5EED_1234_5678);
        const BYTES: &[u8] = b"  \t\r\n\x01ab.*>\x800123456789";
        let mut srv = ServerSide {
            max_payload: 5000,
            max_control_line: MAX_CONTROL_LINE_SIZE,
            server_headers: true,
            auth_required: false,
            opts: ConnectInfo::nats_server_initial(),
            connect_received: false,
        };
        let cli = ClientSide { max_control_line: CLIENT_MAX_CONTROL_LINE };
        let key = |m: MsgLine<'_>| (m.subject.to_vec(), m.sid.to_vec(), m.reply.map(<[u8]>::to_vec), m.hdr, m.size);
        let mut fast = 0;
        for i in 0..40_000 {
            srv.connect_received = i % 3 != 0;
            let len = rng.below(70);
            let arg: Vec<u8> = (0..len).map(|_| BYTES[rng.below(BYTES.len() as u64)]).collect();
            for kw in [Kw::Pub, Kw::Hpub] {
                let a = srv.msg_line_fast(kw, &arg).map(key);
                assert_eq!(a, srv.msg_line(kw, &arg).ok().map(key), "{kw:?} {:?}", show(&arg));
                fast += usize::from(a.is_some());
            }
            for kw in [Kw::Msg, Kw::Hmsg] {
                let a = cli.msg_line_fast(kw, &arg).map(key);
                assert_eq!(a, cli.msg_line(kw, &arg).ok().map(key), "{kw:?} {:?}", show(&arg));
                fast += usize::from(a.is_some());
            }
        }
        assert!(fast > 1000, "{fast}");
    }

    #[test]
    fn field_splitters_agree() {
        let mut rng = XorShift(0x1234_5678_9ABC_DEF1);
        const BYTES: &[u8] = b" \t\r\n\x00\x01\x1f\x20\x21ab.*>\x7f\x80\xa0\xff9";
        for _ in 0..20_000 {
            let len = rng.below(80);
            let arg: Vec<u8> = (0..len).map(|_| BYTES[rng.below(BYTES.len() as u64)]).collect();
            for crlf in [false, true] {
                let a = split_fields_bytes(&arg, crlf);
                let b = split_fields(&arg, crlf);
                assert_eq!((a.count, a.items), (b.count, b.items), "{:?} {crlf}", show(&arg));
            }
        }
    }

    #[test]
    fn frame_arena_frames_are_independent() {
        let mut arena = FrameArena::new();
        let mut frames = Vec::new();
        for i in 0..5000u32 {
            let f = arena.frame(|buf| write_pub(buf, "a.b", None, i.to_string().as_bytes()));
            frames.push((i, f));
            if i % 3 == 0 {
                frames.remove(0);
            }
        }
        for (subject, sid, reply, headers, payload) in [
            ("a", "1", None, &b""[..], &b"x"[..]),
            ("a.b", "22", Some("r"), b"NATS/1.0\r\n\r\n", b""),
            ("", "", Some(""), b"h", &[9u8; 3000][..]),
        ] {
            let mut want = Vec::new();
            write_msg(&mut want, subject, sid, reply, payload);
            assert_eq!(&arena.msg(subject, sid, reply, payload)[..], &want[..]);
            want.clear();
            write_hmsg(&mut want, subject, sid, reply, headers, payload);
            assert_eq!(&arena.hmsg(subject, sid, reply, headers, payload)[..], &want[..]);
            want.clear();
            write_pub(&mut want, subject, reply, payload);
            assert_eq!(&arena.publish(subject, reply, payload)[..], &want[..]);
        }
        let big = arena.copy(&vec![7u8; FRAME_BLOCK * 2]);
        assert_eq!(big.len(), FRAME_BLOCK * 2);
        for (i, f) in frames {
            let mut want = Vec::new();
            write_pub(&mut want, "a.b", None, i.to_string().as_bytes());
            assert_eq!(&f[..], &want[..]);
        }
    }

    // ---- a deterministic fuzz loop (runs on wasm32 too) --------------------

    const FRAGMENTS: &[&[u8]] = &[
        b"PUB ",
        b"HPUB ",
        b"SUB ",
        b"UNSUB ",
        b"PING",
        b"PONG",
        b"+OK",
        b"-ERR ",
        b"INFO ",
        b"MSG ",
        b"HMSG ",
        b"CONNECT ",
        b"{\"headers\":true,\"pedantic\":false}",
        b"{\"pedantic\":true,\"headers\":true}",
        b"{}",
        b"\r\n",
        b"\n",
        b"\r",
        b" ",
        b"\t",
        b"foo",
        b"foo.*",
        b"bar.>",
        b"5",
        b"0",
        b"2",
        b"12",
        b"17",
        b"999999999",
        b"hello",
        b"NATS/1.0\r\n\r\n",
        b"'x'",
        b"-1",
    ];

    struct XorShift(u64);
    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }
        fn below(&mut self, n: u64) -> usize {
            (self.next() % n.max(1)) as usize
        }
    }

    pub(super) fn fragments_input(rng_bytes: &[u64]) -> Vec<u8> {
        let mut out = Vec::new();
        for &r in rng_bytes {
            if r % 7 == 0 {
                out.push((r >> 8) as u8);
            } else {
                out.extend_from_slice(FRAGMENTS[(r >> 3) as usize % FRAGMENTS.len()]);
            }
        }
        out
    }

    #[test]
    fn fuzz_chunking_never_changes_results() {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let mut errors = 0;
        let mut ops_seen = 0;
        for _ in 0..3000 {
            let picks: Vec<u64> = (0..rng.below(30)).map(|_| rng.next()).collect();
            let data = fragments_input(&picks);
            let sizes: Vec<usize> = (0..4).map(|_| 1 + rng.below(9)).collect();
            let a = srv_chunks(ServerParser::new(64), &data, &[]);
            let b = srv_chunks(ServerParser::new(64), &data, &sizes);
            assert_eq!(a, b, "server {:?}", show(&data));
            let c = cli_chunks(ClientParser::new(), &data, &[]);
            let d = cli_chunks(ClientParser::new(), &data, &sizes);
            assert_eq!(c, d, "client {:?}", show(&data));
            for way in WAYS {
                assert_eq!(srv_way(ServerParser::new(64), way, &data, &sizes), a, "server {way:?} {:?}", show(&data));
                assert_eq!(cli_way(ClientParser::new(), way, &data, &[]), c, "client {way:?} {:?}", show(&data));
            }
            errors += usize::from(a.1.is_some());
            ops_seen += a.0.len() + c.0.len();
        }
        // The generator reaches both outcomes.
        assert!(errors > 100 && ops_seen > 100, "errors {errors}, ops {ops_seen}");
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod prop_tests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    fn feed_server(mut p: ServerParser, data: &[u8], sizes: &[usize]) -> (Vec<ClientOp>, Option<ProtoError>) {
        let mut out = Vec::new();
        let mut pos = 0;
        let mut k = 0;
        while pos < data.len() {
            let sz = if sizes.is_empty() { data.len() } else { sizes[k % sizes.len()].max(1) };
            k += 1;
            let end = (pos + sz).min(data.len());
            if let Err(e) = p.feed(&data[pos..end], &mut out) {
                return (out, Some(e));
            }
            pos = end;
        }
        (out, None)
    }

    fn feed_client(mut p: ClientParser, data: &[u8], sizes: &[usize]) -> (Vec<ServerOp>, Option<ProtoError>) {
        let mut out = Vec::new();
        let mut pos = 0;
        let mut k = 0;
        while pos < data.len() {
            let sz = if sizes.is_empty() { data.len() } else { sizes[k % sizes.len()].max(1) };
            k += 1;
            let end = (pos + sz).min(data.len());
            if let Err(e) = p.feed(&data[pos..end], &mut out) {
                return (out, Some(e));
            }
            pos = end;
        }
        (out, None)
    }

    fn token() -> impl Strategy<Value = String> {
        "[^ \t\r\n]{1,16}"
    }

    fn payload() -> impl Strategy<Value = Bytes> {
        vec(any::<u8>(), 0..48).prop_map(Bytes::from)
    }

    fn opt_s() -> impl Strategy<Value = Option<String>> {
        proptest::option::of(".{0,12}")
    }

    fn connect_info() -> impl Strategy<Value = ConnectInfo> {
        (
            (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>(), 0i64..3),
            (opt_s(), opt_s(), opt_s(), opt_s(), opt_s(), opt_s()),
            (opt_s(), opt_s(), opt_s(), opt_s(), any::<bool>(), any::<bool>()),
        )
            .prop_map(
                |(
                    (verbose, echo, tls, no_resp, protocol),
                    (jwt, nkey, sig, user, pass, tok),
                    (name, lang, version, account, new_account, _),
                )| {
                    ConnectInfo {
                        verbose,
                        pedantic: false,
                        jwt,
                        nkey,
                        sig,
                        user,
                        pass,
                        auth_token: tok,
                        tls_required: tls,
                        name,
                        lang,
                        version,
                        protocol,
                        echo,
                        headers: true,
                        no_responders: no_resp,
                        account,
                        new_account,
                    }
                },
            )
    }

    fn client_op() -> impl Strategy<Value = ClientOp> {
        prop_oneof![
            1 => connect_info().prop_map(|c| ClientOp::Connect(Box::new(c))),
            4 => (token(), proptest::option::of(token()), payload()).prop_map(|(subject, reply, payload)| ClientOp::Pub { subject, reply, payload }),
            4 => (token(), proptest::option::of(token()), payload(), payload())
                .prop_map(|(subject, reply, headers, payload)| ClientOp::Hpub { subject, reply, headers, payload }),
            2 => (token(), proptest::option::of(token()), token()).prop_map(|(subject, queue, sid)| ClientOp::Sub { subject, queue, sid }),
            2 => (token(), proptest::option::of(0u64..1_000_000_000)).prop_map(|(sid, max)| ClientOp::Unsub { sid, max }),
            1 => Just(ClientOp::Ping),
            1 => Just(ClientOp::Pong),
        ]
    }

    /// What the parser reports for a written CONNECT applied on top of `prev`:
    /// omitted (empty, omitempty) fields keep their previous values.
    fn merged(prev: &ConnectInfo, c: &ConnectInfo) -> ConnectInfo {
        let keep = |p: &Option<String>, n: &Option<String>| if opt_str_empty(n) { p.clone() } else { n.clone() };
        let always = |n: &Option<String>| Some(n.clone().unwrap_or_default());
        ConnectInfo {
            verbose: c.verbose,
            pedantic: c.pedantic,
            jwt: keep(&prev.jwt, &c.jwt),
            nkey: keep(&prev.nkey, &c.nkey),
            sig: keep(&prev.sig, &c.sig),
            user: keep(&prev.user, &c.user),
            pass: keep(&prev.pass, &c.pass),
            auth_token: keep(&prev.auth_token, &c.auth_token),
            tls_required: c.tls_required,
            name: always(&c.name),
            lang: always(&c.lang),
            version: always(&c.version),
            protocol: c.protocol,
            echo: c.echo,
            headers: c.headers,
            no_responders: c.no_responders,
            account: keep(&prev.account, &c.account),
            new_account: c.new_account || prev.new_account,
        }
    }

    fn info_op() -> impl Strategy<Value = ServerOp> {
        (
            token(),
            ".{0,10}",
            any::<u32>(),
            any::<u64>(),
            vec(token(), 0..3),
            proptest::option::of(token()),
            any::<bool>(),
        )
            .prop_map(|(server_id, server_name, max_payload, client_id, connect_urls, cluster, jetstream)| {
                let info = ServerInfo {
                    server_id,
                    server_name,
                    version: crate::NATS_VERSION.into(),
                    proto: 1,
                    max_payload: max_payload & 0x7fff_ffff,
                    client_id,
                    connect_urls,
                    cluster,
                    jetstream,
                    headers: true,
                    ..ServerInfo::default()
                };
                ServerOp::Info(to_go_json(&info))
            })
    }

    fn server_op() -> impl Strategy<Value = ServerOp> {
        prop_oneof![
            1 => info_op(),
            4 => (token(), token(), proptest::option::of(token()), payload())
                .prop_map(|(subject, sid, reply, payload)| ServerOp::Msg { subject, sid, reply, payload }),
            4 => (token(), token(), proptest::option::of(token()), payload(), payload())
                .prop_map(|(subject, sid, reply, headers, payload)| ServerOp::Hmsg { subject, sid, reply, headers, payload }),
            1 => Just(ServerOp::Ping),
            1 => Just(ServerOp::Pong),
            1 => Just(ServerOp::Ok),
            1 => "([a-zA-Z0-9]([a-zA-Z0-9 .:\"_-]{0,20}[a-zA-Z0-9])?)?".prop_map(ServerOp::Err),
        ]
    }

    fn headers() -> impl Strategy<Value = Headers> {
        (
            proptest::option::of(100u16..1000),
            proptest::option::of("[a-zA-Z0-9]([a-zA-Z0-9 ]{0,10}[a-zA-Z0-9])?"),
            vec(("[A-Za-z0-9-]{1,10}", "([!-~]([ -~]{0,10}[!-~])?)?"), 0..5),
        )
            .prop_map(|(status, description, entries)| Headers {
                description: if status.is_some() { description } else { None },
                status,
                entries,
            })
    }

    fn fragments() -> impl Strategy<Value = Vec<u8>> {
        vec(any::<u64>(), 0..40).prop_map(|v| super::tests::fragments_input(&v))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes_never_panic_and_chunking_is_invisible(
            data in vec(any::<u8>(), 0..400),
            sizes in vec(1usize..40, 1..8),
            max_payload in 0u32..100,
        ) {
            let a = feed_server(ServerParser::new(max_payload), &data, &[]);
            let b = feed_server(ServerParser::new(max_payload), &data, &sizes);
            prop_assert_eq!(a, b);
            let c = feed_client(ClientParser::new(), &data, &[]);
            let d = feed_client(ClientParser::new(), &data, &sizes);
            prop_assert_eq!(c, d);
        }

        #[test]
        fn protocol_like_bytes_never_panic_and_chunking_is_invisible(
            data in fragments(),
            sizes in vec(1usize..12, 1..8),
        ) {
            let a = feed_server(ServerParser::new(64), &data, &[]);
            let b = feed_server(ServerParser::new(64), &data, &sizes);
            prop_assert_eq!(a, b);
            let c = feed_client(ClientParser::new(), &data, &[]);
            let d = feed_client(ClientParser::new(), &data, &sizes);
            prop_assert_eq!(c, d);
        }

        #[test]
        fn client_ops_round_trip(ops in vec(client_op(), 0..20), sizes in vec(1usize..64, 1..8)) {
            let first = ConnectInfo { verbose: false, pedantic: false, headers: true, ..ConnectInfo::default() };
            let mut all = vec![ClientOp::Connect(Box::new(first))];
            all.extend(ops);
            let mut bytes = Vec::new();
            let mut expected = Vec::new();
            let mut prev = ConnectInfo::nats_server_initial();
            for op in &all {
                write_client_op(&mut bytes, op);
                match op {
                    ClientOp::Connect(c) => {
                        prev = merged(&prev, c);
                        expected.push(ClientOp::Connect(Box::new(prev.clone())));
                    }
                    other => expected.push(other.clone()),
                }
            }
            let (got, err) = feed_server(ServerParser::new(MAX_PAYLOAD_SIZE), &bytes, &sizes);
            prop_assert_eq!(err, None);
            prop_assert_eq!(got, expected);
        }

        #[test]
        fn server_ops_round_trip(ops in vec(server_op(), 0..20), sizes in vec(1usize..64, 1..8)) {
            let mut bytes = Vec::new();
            for op in &ops {
                write_server_op(&mut bytes, op);
            }
            let (got, err) = feed_client(ClientParser::new(), &bytes, &sizes);
            prop_assert_eq!(err, None);
            prop_assert_eq!(&got, &ops);
            for (g, o) in got.iter().zip(&ops) {
                if let (ServerOp::Info(a), ServerOp::Info(b)) = (g, o) {
                    prop_assert_eq!(ServerInfo::from_json(a.as_bytes()), ServerInfo::from_json(b.as_bytes()));
                    prop_assert!(ServerInfo::from_json(a.as_bytes()).is_ok());
                }
            }
        }

        #[test]
        fn headers_round_trip(h in headers()) {
            let bytes = h.to_bytes();
            prop_assert_eq!(Headers::parse(&bytes), Ok(h.clone()));
        }

        /// The raw nats-server-style lookup agrees with `Headers::get` for keys
        /// that cannot trip its relative-index quirk (see
        /// `raw_get_header_like_nats_server`).
        #[test]
        fn raw_header_lookup_agrees(
            entries in vec(("X-[a-z0-9]{1,8}", "([a-z0-9]([a-z0-9 :;]{0,10}[a-z0-9])?)?"), 0..6),
            probe in "X-[a-z0-9]{1,8}",
        ) {
            let h = Headers { status: None, description: None, entries };
            let bytes = h.to_bytes();
            for k in h.entries.iter().map(|(k, _)| k.as_str()).chain(std::iter::once(probe.as_str())) {
                let raw = get_header(&bytes, k).map(|b| String::from_utf8_lossy(b).into_owned());
                prop_assert_eq!(raw, h.get(k).map(str::to_string));
            }
        }

        #[test]
        fn headers_parse_never_panics(data in vec(any::<u8>(), 0..200), key in ".{0,6}") {
            let _ = Headers::parse(&data);
            let _ = get_header(&data, &key);
        }

        #[test]
        fn every_way_of_feeding_agrees_on_arbitrary_bytes(
            data in vec(any::<u8>(), 0..300),
            sizes in vec(1usize..40, 1..8),
            max_payload in 0u32..100,
        ) {
            let a = feed_server(ServerParser::new(max_payload), &data, &[]);
            let c = feed_client(ClientParser::new(), &data, &[]);
            for way in super::tests::WAYS {
                for sz in [&[][..], &sizes[..]] {
                    prop_assert_eq!(&super::tests::srv_way(ServerParser::new(max_payload), way, &data, sz), &a);
                    prop_assert_eq!(&super::tests::cli_way(ClientParser::new(), way, &data, sz), &c);
                }
            }
        }

        #[test]
        fn every_way_of_feeding_agrees_on_protocol_like_bytes(data in fragments(), sizes in vec(1usize..12, 1..8)) {
            let a = feed_server(ServerParser::new(64), &data, &[]);
            let c = feed_client(ClientParser::new(), &data, &[]);
            for way in super::tests::WAYS {
                for sz in [&[][..], &sizes[..]] {
                    prop_assert_eq!(&super::tests::srv_way(ServerParser::new(64), way, &data, sz), &a);
                    prop_assert_eq!(&super::tests::cli_way(ClientParser::new(), way, &data, sz), &c);
                }
            }
        }

        #[test]
        fn every_way_of_feeding_agrees_on_round_trips(ops in vec(server_op(), 0..20), sizes in vec(1usize..64, 1..8)) {
            let mut bytes = Vec::new();
            for op in &ops {
                write_server_op(&mut bytes, op);
            }
            for way in super::tests::WAYS {
                for sz in [&[][..], &sizes[..]] {
                    let (got, err) = super::tests::cli_way(ClientParser::new(), way, &bytes, sz);
                    prop_assert_eq!(err, None);
                    prop_assert_eq!(&got, &ops);
                }
            }
        }

        #[test]
        fn connect_json_never_panics(data in vec(any::<u8>(), 0..200)) {
            let _ = ConnectInfo::from_json(&data);
            let _ = ServerInfo::from_json(&data);
        }
    }
}
