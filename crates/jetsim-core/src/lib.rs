//! jetsim-core: a deterministic, sans-IO simulation of NATS servers, clusters,
//! clients and the links between them. No web dependencies: it builds natively
//! and for `wasm32-unknown-unknown`, and the same scenario and seed produce the
//! same trace, bit for bit, on both.
//!
//! Layout, one concern per module:
//! - [`time`], [`rng`], [`hash`]: virtual clock, the seeded PRNG, the trace hash.
//! - [`subject`], [`sublist`]: subject validation, wildcard matching, the
//!   subscription index.
//! - [`proto`]: the NATS client protocol (parser and writer, both directions).
//! - [`link`]: latency models and per-direction FIFO links with partitions.
//! - [`trace`]: the typed trace of everything that happens.
//! - [`node`]: the sans-IO node interface (frames, timers, the outbox).
//! - [`server`], [`client`]: the node state machines.
//! - [`external`]: connections fed from outside (real clients via `jetsim serve`).
//! - [`sim`]: the world: event queue, links, faults, node dispatch.
//! - [`scenario`]: the scenario file format (version 1) and its limits.
//! - [`report`]: the JSON report of `jetsim run --json`.

pub mod bench;
pub mod client;
pub mod external;
pub mod hash;
pub mod jetstream;
pub mod link;
pub mod node;
pub mod proto;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod server;
pub mod sim;
/// The page's one sort routine (stable; lives in `jetsim-raft`, the crate
/// every other depends on, so its code exists once).
pub use jetsim_raft::sort;
pub mod subject;
pub mod sublist;
pub mod time;
pub mod trace;
pub mod vecmap;

/// The nats-server version jetsim models and announces.
pub const NATS_VERSION: &str = "2.12.8";
