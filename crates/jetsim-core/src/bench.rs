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
    /// Messages handed to subscribing clients (fan-out; 0 for R3).
    pub deliveries: u64,
    /// JetStream publishes acknowledged (R3; 0 for fan-out).
    pub acked: u64,
    pub events: u64,
    /// Virtual time the run covered, in nanoseconds.
    pub sim_time: u64,
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
    Ok(BenchRun {
        messages,
        deliveries,
        acked: 0,
        events: world.metrics.events,
        sim_time: world.now(),
        trace_hash: world.trace.hash(),
    })
}

/// Most messages [`run_r3`] takes: a stream replica keeps at most
/// [`crate::jetstream::store::MAX_MSGS_PER_STREAM`].
pub const R3_MAX_MESSAGES: u64 = crate::jetstream::store::MAX_MSGS_PER_STREAM;

/// Three JetStream servers (nats-server's Raft timings), an R3 file stream,
/// and one client on n1 publishing with `--jetstream` as fast as the acks
/// allow: each publish waits for its PubAck before the next is sent (the
/// nats CLI's synchronous publish; no sleep), so the run measures the whole
/// publish → route to the stream leader → append → quorum → apply → PubAck
/// path once per message, with no queueing. Publishing starts at 3 s, after
/// the meta and stream elections.
pub fn r3_scenario(messages: u64) -> String {
    format!(
        "jetsim 1
name \"bench: R3 JetStream publishes\"
server n1 az=a jetstream=true
server n2 az=b jetstream=true
server n3 az=c jetstream=true
link default latency=uniform(200us,400us)
client pub server=n1
at 1s pub: nats stream add BENCH --subjects \"bench.>\" --replicas 3 --storage file
at 3s pub: nats pub bench.x \"0123456789abcdef0123456789abcdef\" --jetstream --count {messages} --timeout 5s
"
    )
}

/// Run the R3 benchmark until every publish is acknowledged (or failed).
/// Invariant checks are off and the trace keeps no events, as in
/// [`run_fanout`]. It is an error if a publish was not acknowledged, so a
/// broken cluster cannot pass for a fast one.
pub fn run_r3(messages: u64) -> Result<BenchRun, String> {
    if messages > R3_MAX_MESSAGES {
        return Err(format!("--messages {messages}: an R3 run takes at most {R3_MAX_MESSAGES} (one stream's limit)"));
    }
    let sc = scenario::parse(&r3_scenario(messages)).map_err(|e| e.to_string())?;
    let mut world = World::new(sc, 1).map_err(|e| e.to_string())?;
    world.set_track_in_flight(false);
    world.trace.set_capacity(0);
    // Raft heartbeats never stop, so run until the publisher is done, in
    // slices of virtual time; a publish takes about a millisecond.
    let limit = 10 * crate::time::SEC + messages.saturating_mul(50 * crate::time::MS);
    let done = |w: &World| {
        w.clients.first().is_some_and(|c| {
            let js = &c.node.js;
            js.published == messages && js.acked + js.timeouts + js.errors == messages
        })
    };
    while !done(&world) {
        if world.now() >= limit {
            return Err(format!("the R3 benchmark did not finish by {}", crate::time::fmt_time(world.now())));
        }
        let t = world.now() + 100 * crate::time::MS;
        world.run_until(t);
    }
    let (acked, timeouts, errors) =
        world.clients.first().map(|c| (c.node.js.acked, c.node.js.timeouts, c.node.js.errors)).unwrap_or_default();
    if acked != messages {
        return Err(format!(
            "only {acked} of {messages} R3 publishes were acknowledged ({timeouts} timed out, {errors} errors)"
        ));
    }
    Ok(BenchRun {
        messages,
        deliveries: 0,
        acked,
        events: world.metrics.events,
        sim_time: world.now(),
        trace_hash: world.trace.hash(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r3_bench_acks_every_publish_deterministically() {
        let a = run_r3(200).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((a.messages, a.acked, a.deliveries), (200, 200, 0));
        // A publish is a round trip plus a quorum round trip: well under the
        // 50 ms per message the run allows, and more than the link latency.
        assert!(a.sim_time > 3 * crate::time::SEC && a.sim_time < 4 * crate::time::SEC, "{}", a.sim_time);
        assert!(a.events > 200 * 8, "{a:?}");
        assert_eq!(run_r3(200), Ok(a));
        assert!(run_r3(R3_MAX_MESSAGES + 1).is_err());
    }

    #[test]
    fn fanout_bench_counts_deliveries() {
        let f = run_fanout(100).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((f.messages, f.deliveries, f.acked), (100, 400, 0));
    }
}
