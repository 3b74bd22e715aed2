//! External clients: connections whose bytes come from outside the world (a
//! real NATS client through `jetsim serve`, or nats.js in the page). The world
//! gives each one an endpoint and a link to its server like any simulated
//! client's; the server sees an ordinary client connection speaking the real
//! protocol. Nothing here does IO: the caller feeds bytes in
//! ([`crate::sim::World::external_send`]) at the current virtual time and takes
//! what the server sent ([`crate::sim::World::external_take`]), so a run with
//! the same timed input is the same run.

use crate::vecmap::VecMap as BTreeMap; // sorted-Vec map: smaller wasm (see vecmap.rs)

use bytes::Bytes;

use crate::trace::Endpoint;

/// At most this many external connections are open at once (each one adds an
/// endpoint to the world's dense link table; freed endpoints are reused).
pub const MAX_EXTERNAL: usize = 256;

/// At most this many bytes of one `external_send` call (the caller splits
/// larger reads); nats-server's own read buffer tops out at 64 KiB too.
pub const MAX_SEND_BYTES: usize = 1 << 20;

/// What the server did on an external connection, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExternalEvent {
    /// Protocol bytes from the server (INFO, MSG, PONG, -ERR, ...).
    Bytes(Bytes),
    /// The server closed the connection (an error that closes, or a crash).
    Closed,
}

/// One external connection as the world keeps it.
#[derive(Clone, Debug)]
pub struct ExternalConn {
    /// The server it is attached to.
    pub server: Endpoint,
    /// Events not yet taken.
    pub events: Vec<ExternalEvent>,
    /// The server closed it (no more bytes will come).
    pub closed: bool,
}

/// How real clients reach the simulated servers (`jetsim serve`). With it
/// set, a server's INFO announces what nats-server 2.12.8 listening on these
/// addresses would: the real host and port, `connect_urls` of itself and the
/// peers it has routes to, and the release binary's `git_commit`, `go` and
/// `api_lvl`. Without it (every scenario run) INFO is unchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Advertise {
    pub host: String,
    /// Client port of each server, by endpoint.
    pub ports: BTreeMap<Endpoint, u16>,
}

/// `git_commit` of the nats-server 2.12.8 release binary (its INFO).
pub const NATS_GIT_COMMIT: &str = "b692325";
/// `go` of the nats-server 2.12.8 release binary (its INFO).
pub const NATS_GO_VERSION: &str = "go1.26.2";
/// `api_lvl` nats-server 2.12.8 announces when JetStream is enabled.
pub const NATS_API_LEVEL: i64 = 3;

impl Advertise {
    /// The `host:port` a client would dial for server `ep`.
    pub fn url_of(&self, ep: Endpoint) -> Option<String> {
        self.ports.get(&ep).map(|p| format!("{}:{p}", self.host))
    }
}
