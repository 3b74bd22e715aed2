//! `jetsim`: run, check and benchmark scenarios natively.
//!
//! ```text
//! jetsim run <scenario> [--seed N] [--until <duration>] [--json] [--events N]
//! jetsim check <scenario>...
//! jetsim bench [--r3] [--messages N] [--repeat N]
//! jetsim hashes [--seeds 1,2,3] <scenario>...
//! jetsim serve [<scenario>] [--servers N] [--port P] [--seed S] [--raft-timescale N/D] [--trace]
//! ```

mod serve;

use std::process::ExitCode;

use jetsim_core::report::Report;
use jetsim_core::scenario;
use jetsim_core::sim::{World, DEFAULT_UNTIL};
use jetsim_core::time::{fmt_time, parse_duration};

const USAGE: &str = "usage:
  jetsim run <scenario> [--seed N] [--until <duration>] [--json] [--events N]
  jetsim check <scenario>...
  jetsim bench [--r3] [--messages N] [--repeat N]
  jetsim hashes [--seeds 1,2,3] <scenario>...
  jetsim serve [<scenario>] [--servers N] [--port P] [--seed S] [--raft-timescale N/D] [--trace]

run     simulate a scenario and print what happened (--json: one JSON document)
check   parse and validate scenarios, reporting errors by line
bench   measure the kernel: simulated message deliveries per wall second
        (--r3: acknowledged JetStream publishes to an R3 stream per wall second)
hashes  print `<file> <seed> <trace hash>` per scenario and seed (the browser
        determinism test compares these with the same runs in wasm)
serve   run a scenario (or --servers N JetStream servers n1..nN in cluster \"jetsim\",
        default 3) in real time; server i listens on 127.0.0.1:<P+i> (P default 4222,
        0 = any free ports) for real NATS clients. Prints one nats:// URL per server,
        then `ready` once JetStream has a meta leader. Stdin takes actions in the
        scenario syntax (kill n2, restart n2, partition n1 | n2 n3, heal, ...) and
        `status`, `help`, `quit`; --trace prints the event log to stderr";

/// Hard cap on events processed by one `run`, so no scenario can spin forever.
const MAX_EVENTS: u64 = 200_000_000;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => cmd_run(&args[1..]),
        Some("check") => cmd_check(&args[1..]),
        Some("bench") => cmd_bench(&args[1..]),
        Some("hashes") => cmd_hashes(&args[1..]),
        Some("serve") => serve::cmd_serve(&args[1..]),
        Some("-h") | Some("--help") | Some("help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command {other:?}\n{USAGE}")),
        None => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("jetsim: {e}");
            ExitCode::from(2)
        }
    }
}

fn flag_value<'a>(args: &'a [String], i: &mut usize, name: &str) -> Result<&'a str, String> {
    *i += 1;
    args.get(*i).map(String::as_str).ok_or_else(|| format!("{name} needs a value"))
}

fn load(path: &str) -> Result<scenario::Scenario, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{path}: {e}"))?;
    let limit = scenario::Limits::default().max_bytes as u64;
    if meta.len() > limit {
        return Err(format!("{path}: {} bytes is over the scenario size limit of {limit} bytes", meta.len()));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    scenario::parse(&text).map_err(|e| format!("{path}: {e}"))
}

fn cmd_run(args: &[String]) -> Result<(), String> {
    let mut path = None;
    let mut seed = None;
    let mut until = None;
    let mut json = false;
    let mut events_shown: usize = 200;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--seed" => {
                let v = flag_value(args, &mut i, "--seed")?;
                seed = Some(v.parse::<u64>().map_err(|_| format!("--seed {v:?} is not a whole number"))?);
            }
            "--until" => {
                let v = flag_value(args, &mut i, "--until")?;
                until = Some(parse_duration(v).map_err(|e| format!("--until: {e}"))?);
            }
            "--json" => json = true,
            "--events" => {
                let v = flag_value(args, &mut i, "--events")?;
                events_shown = v.parse().map_err(|_| format!("--events {v:?} is not a whole number"))?;
            }
            a if a.starts_with('-') => return Err(format!("unknown option {a}\n{USAGE}")),
            a => {
                if path.is_some() {
                    return Err(format!("one scenario at a time (got {a:?} too)"));
                }
                path = Some(a.to_string());
            }
        }
        i += 1;
    }
    let path = path.ok_or("run needs a scenario file")?;
    let sc = load(&path)?;
    let limit = scenario::Limits::default().max_duration;
    let until = until.or(sc.until).unwrap_or(DEFAULT_UNTIL);
    if until > limit {
        return Err(format!("--until {} is beyond the limit of {}", fmt_time(until), fmt_time(limit)));
    }
    let seed = seed.or(sc.seed).unwrap_or(1);
    let mut world = World::new(sc, seed).map_err(|e| format!("{path}: {e}"))?;
    world.set_track_in_flight(false);
    world.trace.set_capacity(if json { 0 } else { 100_000 });
    if json {
        world.set_check_invariants(true);
    }
    if !world.run_until_bounded(until, MAX_EVENTS) {
        return Err(format!(
            "stopped after {MAX_EVENTS} events at {} (the scenario never goes quiet)",
            fmt_time(world.now())
        ));
    }
    let report = Report::from_world(&world, Some(path.clone()));
    if json {
        let s = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        println!("{s}");
        return Ok(());
    }
    println!("scenario {:?} ({path}), seed {seed}, ran to {}", report.scenario.name, report.time);
    let headlines: Vec<_> = world.trace.recent().filter(|e| World::is_headline(&e.kind)).collect();
    let skip = headlines.len().saturating_sub(events_shown);
    if skip > 0 {
        println!("… {skip} earlier events not shown (--events N shows more)");
    }
    for e in headlines.into_iter().skip(skip) {
        println!("{:>12}  {}", fmt_time(e.at), world.describe(&e.kind));
    }
    println!();
    for s in &report.servers {
        println!(
            "server {:<8} {:<6} conns {:<3} subs {:<4} in {:<8} out {:<8} routes [{}]",
            s.name,
            s.state,
            s.connections,
            s.subscriptions,
            s.in_msgs,
            s.out_msgs,
            s.routes.join(" ")
        );
    }
    for c in &report.clients {
        println!(
            "client {:<8} {:<10} published {:<8} received {:<8} replies {:<5} no-responders {:<3} timeouts {}",
            c.name,
            c.server.as_deref().unwrap_or("(none)"),
            c.published,
            c.received,
            c.replies,
            c.no_responders,
            c.timeouts
        );
    }
    println!("trace hash {}  ({} events)", report.trace_hash, report.metrics.trace_events);
    Ok(())
}

fn cmd_check(args: &[String]) -> Result<(), String> {
    if args.is_empty() {
        return Err("check needs at least one scenario file".into());
    }
    let mut failed = 0;
    for path in args {
        match load(path) {
            Ok(sc) => println!(
                "{path}: ok ({} servers, {} clients, {} steps)",
                sc.servers.len(),
                sc.clients.len(),
                sc.script.len()
            ),
            Err(e) => {
                failed += 1;
                eprintln!("{e}");
            }
        }
    }
    if failed > 0 {
        return Err(format!("{failed} of {} scenarios have errors", args.len()));
    }
    Ok(())
}

fn cmd_hashes(args: &[String]) -> Result<(), String> {
    let mut seeds: Vec<u64> = vec![1, 2, 3];
    let mut files = Vec::new();
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--seeds" => {
                let v = flag_value(args, &mut i, "--seeds")?;
                seeds = v
                    .split(',')
                    .map(|s| s.trim().parse::<u64>().map_err(|_| format!("--seeds: {s:?} is not a whole number")))
                    .collect::<Result<_, _>>()?;
            }
            a if a.starts_with('-') => return Err(format!("unknown option {a}\n{USAGE}")),
            a => files.push(a.to_string()),
        }
        i += 1;
    }
    if files.is_empty() {
        return Err("hashes needs at least one scenario file".into());
    }
    for path in &files {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
        let name = std::path::Path::new(path).file_name().and_then(|n| n.to_str()).unwrap_or(path);
        for &seed in &seeds {
            let world =
                jetsim_core::sim::run_headless(&text, seed, None, MAX_EVENTS).map_err(|e| format!("{path}: {e}"))?;
            println!("{name} {seed} {:016x}", world.trace.hash());
        }
    }
    Ok(())
}

fn cmd_bench(args: &[String]) -> Result<(), String> {
    let mut messages: Option<u64> = None;
    let mut repeat: u32 = 3;
    let mut r3 = false;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--messages" => {
                let v = flag_value(args, &mut i, "--messages")?;
                messages = Some(v.parse().map_err(|_| format!("--messages {v:?} is not a whole number"))?);
            }
            "--repeat" => {
                let v = flag_value(args, &mut i, "--repeat")?;
                repeat = v.parse().map_err(|_| format!("--repeat {v:?} is not a whole number"))?;
            }
            "--r3" => r3 = true,
            a => return Err(format!("unknown option {a}\n{USAGE}")),
        }
        i += 1;
    }
    let messages = messages.unwrap_or(if r3 { 20_000 } else { 200_000 });
    let mut best = f64::MAX;
    let mut last = None;
    for _ in 0..repeat.max(1) {
        let start = std::time::Instant::now();
        let run = if r3 { jetsim_core::bench::run_r3(messages)? } else { jetsim_core::bench::run_fanout(messages)? };
        let secs = start.elapsed().as_secs_f64();
        best = best.min(secs);
        last = Some(run);
    }
    let run = last.ok_or("no run")?;
    let out = if r3 {
        serde_json::json!({
            "bench": "jetstream-r3",
            "target": "native",
            "messages": run.messages,
            "acked": run.acked,
            "events": run.events,
            "best_seconds": best,
            "acked_per_sec": (run.acked as f64 / best).round(),
            "events_per_sec": (run.events as f64 / best).round(),
            "sim_seconds": run.sim_time as f64 / 1e9,
            "trace_hash": format!("{:016x}", run.trace_hash),
        })
    } else {
        serde_json::json!({
            "bench": "kernel-fanout",
            "target": "native",
            "messages": run.messages,
            "deliveries": run.deliveries,
            "events": run.events,
            "best_seconds": best,
            "deliveries_per_sec": (run.deliveries as f64 / best).round(),
            "events_per_sec": (run.events as f64 / best).round(),
            "trace_hash": format!("{:016x}", run.trace_hash),
        })
    };
    println!("{}", serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?);
    Ok(())
}
