//! The kernel benchmark, shared by `jetsim bench` (native) and the page's
//! wasm build, so both measure the same simulated work. The caller times it
//! with its own clock; the core never reads one.

use crate::scenario;
use crate::sim::World;

/// Three servers in one cluster; one publisher on n1; four subscribers spread
/// over the three servers (one local, three across routes), so every publish
/// is delivered four times and crosses two routes.
pub fn fanout_scenario(messages: u64) -> String {
    format!(
        "jetsim 1
name \"bench: fan-out across routes\"
server n1 az=a
server n2 az=b
server n3 az=c
link default latency=uniform(200us,400us)
client pub server=n1
client s1 server=n1
client s2 server=n2
client s3 server=n2
client s4 server=n3
at 0s s1: nats sub bench.>
at 0s s2: nats sub bench.>
at 0s s3: nats sub bench.*
at 0s s4: nats sub bench.x
at 10ms pub: nats pub bench.x \"0123456789abcdef0123456789abcdef\" --count {messages} --sleep 1us
"
    )
}

/// What one benchmark run did (deterministic for a given `messages`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BenchRun {
    pub messages: u64,
    pub deliveries: u64,
    pub events: u64,
    pub trace_hash: u64,
}

/// Run the fan-out benchmark to completion. Frames in flight are not kept for
/// drawing and the trace keeps no events (its hash still covers all).
pub fn run_fanout(messages: u64) -> Result<BenchRun, String> {
    let sc = scenario::parse(&fanout_scenario(messages)).map_err(|e| e.to_string())?;
    let mut world = World::new(sc, 1).map_err(|e| e.to_string())?;
    world.set_track_in_flight(false);
    world.trace.set_capacity(0);
    while world.step().is_some() {}
    let deliveries = world.clients.iter().map(|c| c.node.stats.received).sum();
    Ok(BenchRun { messages, deliveries, events: world.metrics.events, trace_hash: world.trace.hash() })
}
