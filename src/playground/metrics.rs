//! Metrics and guarantees panels.
//!
//! Metrics: the PubAck latency histogram with its percentiles (as a drawing
//! and as text), JetStream throughput (overall and over the last virtual
//! second), Raft elections and stream leader changes, failed publishes.
//! Latencies come from the clients' own records (`JsStats::latencies`,
//! complete up to 100,000 per client); elections and the recent throughput
//! from the trace as [`super::guide::Watch`] reads it.
//!
//! Guarantees: acknowledged messages kept (`World::lost_acked_publishes`),
//! Raft safety (`World::violations`: election safety, log matching, leader
//! completeness, state machine safety; the page turns the checker on, see
//! `Session::build`), no duplicate and no out-of-order first delivery to a
//! JetStream consumer ([`super::delivery_check`], incremental), each lit
//! red with the step that caused it. Core NATS subscriptions are not
//! checked for duplicates or order (a core message carries nothing to
//! compare).

use std::collections::VecDeque;

use jetsim_core::sim::World;
use jetsim_core::time::{fmt_duration, fmt_time, Time, SEC};
use jetsim_core::trace::{RaftNote, TraceEvent, TraceKind};
use yew::prelude::*;

use crate::text;

/// Bars in the latency histogram.
pub const BINS: usize = 12;

/// What the metrics panel accumulates from the trace.
#[derive(Clone, Debug, Default)]
pub struct MetricsState {
    /// Elections won: (meta group, stream groups).
    pub elections_meta: u64,
    pub elections_stream: u64,
    /// Elections in consumers' own groups (labelled "STREAM › CONSUMER").
    pub elections_consumer: u64,
    /// Stream leader changes to a different server.
    pub leader_changes: u64,
    pub pub_failed: u64,
    /// Times of recent PubAcks (the last virtual second or so).
    recent_acks: VecDeque<Time>,
    last_stream_leader: jetsim_core::vecmap::VecMap<String, u32>,
    /// Sorted latencies, recomputed only when their number changes.
    sorted: Vec<u64>,
    /// The guarantees at a trace position, and renders since computed.
    checked: Option<(u64, Vec<Guarantee>)>,
    stale_renders: u32,
    /// Duplicate / order checks of consumer deliveries (incremental).
    pub deliveries: super::delivery_check::DeliveryCheck,
}

/// Acknowledged publishes beyond which the guarantees are re-checked only
/// every [`RECHECK_EVERY`] renders while running (the check reads every
/// acknowledged message on every replica).
pub const CHEAP_CHECK: usize = 20_000;
pub const RECHECK_EVERY: u32 = 30;

impl MetricsState {
    pub fn observe(&mut self, _w: &World, e: &TraceEvent) {
        match &e.kind {
            TraceKind::Raft { server, stream, event: RaftNote::Leader { .. }, .. } => match stream {
                None => self.elections_meta += 1,
                Some(s) if s.contains('\u{203a}') => self.elections_consumer += 1,
                Some(s) => {
                    self.elections_stream += 1;
                    if let Some(prev) = self.last_stream_leader.insert(s.to_string(), *server) {
                        if prev != *server {
                            self.leader_changes += 1;
                        }
                    }
                }
            },
            TraceKind::PubAcked { .. } => {
                self.recent_acks.push_back(e.at);
                while self.recent_acks.len() > 100_000 {
                    self.recent_acks.pop_front();
                }
            }
            TraceKind::PubFailed { .. } => self.pub_failed += 1,
            _ => {}
        }
    }

    /// Every PubAck latency the clients recorded, sorted (cached).
    pub fn latencies(&mut self, w: &World) -> &[u64] {
        let n: usize = w.clients.iter().map(|c| c.node.js.latencies.len()).sum();
        if n != self.sorted.len() {
            self.sorted = latencies(w);
        }
        &self.sorted
    }

    /// The guarantees now; while `running` and with many acknowledged
    /// publishes, re-checked only every few renders.
    pub fn guarantees(&mut self, w: &World, running: bool) -> Vec<Guarantee> {
        let at = w.trace.count();
        let acked: usize = w.clients.iter().map(|c| c.node.js.acked_msgs.len()).sum();
        self.stale_renders += 1;
        let fresh = match &self.checked {
            Some((seen, _)) if *seen == at => true,
            Some(_) => running && acked > CHEAP_CHECK && self.stale_renders < RECHECK_EVERY,
            None => false,
        };
        if !fresh {
            self.deliveries.update(w);
            self.checked = Some((at, guarantees_with(w, &self.deliveries)));
            self.stale_renders = 0;
        }
        self.checked.as_ref().map(|(_, g)| g.clone()).unwrap_or_default()
    }

    /// PubAcks in the virtual second before `now`.
    pub fn acks_last_second(&mut self, now: Time) -> usize {
        while self.recent_acks.front().is_some_and(|&t| t + SEC < now) {
            self.recent_acks.pop_front();
        }
        self.recent_acks.iter().filter(|&&t| t + SEC >= now).count()
    }
}

/// Percentiles of a sample (nearest rank), in ns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Percentiles {
    pub count: usize,
    pub min: u64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
}

impl Percentiles {
    pub fn of(sorted: &[u64]) -> Option<Percentiles> {
        let n = sorted.len();
        if n == 0 {
            return None;
        }
        // Nearest rank: the smallest value with at least p% at or below it.
        let rank = |p: u64| sorted[((p as usize * n).div_ceil(100)).clamp(1, n) - 1];
        Some(Percentiles { count: n, min: sorted[0], p50: rank(50), p90: rank(90), p99: rank(99), max: sorted[n - 1] })
    }
}

/// Equal-width bins from min to max: (low, high, count). One bin when all
/// values are equal.
pub fn histogram(sorted: &[u64], bins: usize) -> Vec<(u64, u64, usize)> {
    let (Some(&lo), Some(&hi)) = (sorted.first(), sorted.last()) else { return Vec::new() };
    if lo == hi || bins <= 1 {
        return vec![(lo, hi, sorted.len())];
    }
    let width = (hi - lo).div_ceil(bins as u64).max(1);
    let mut out: Vec<(u64, u64, usize)> =
        (0..bins as u64).map(|i| (lo + i * width, (lo + (i + 1) * width).min(hi), 0)).collect();
    for &v in sorted {
        let i = (((v - lo) / width) as usize).min(bins - 1);
        out[i].2 += 1;
    }
    while out.last().is_some_and(|b| b.2 == 0) {
        out.pop();
    }
    out
}

/// Every PubAck latency the clients recorded, sorted.
pub fn latencies(w: &World) -> Vec<u64> {
    let mut v: Vec<u64> = w.clients.iter().flat_map(|c| c.node.js.latencies.iter().copied()).collect();
    jetsim_core::sort::sort(&mut v);
    v
}

pub fn metrics_view(w: &World, m: &mut MetricsState) -> Html {
    let (pct, bins) = {
        let lats = m.latencies(w);
        (Percentiles::of(lats), histogram(lats, BINS))
    };
    let now = w.now();
    let (sent, acked, timeouts, errors) = w.clients.iter().fold((0, 0, 0, 0), |a, c| {
        let j = &c.node.js;
        (a.0 + j.published, a.1 + j.acked, a.2 + j.timeouts, a.3 + j.errors)
    });
    let last_sec = m.acks_last_second(now);
    let overall = if now > 0 { acked as f64 * SEC as f64 / now as f64 } else { 0.0 };
    let peak = bins.iter().map(|b| b.2).max().unwrap_or(0).max(1);
    let (bw, bh) = (24.0_f64, 80.0_f64);
    let chart_w = bw * bins.len().max(1) as f64;
    html! {
        <section class="panel metrics" aria-labelledby="metrics-h">
            <h2 id="metrics-h" class="panel-title">{ "Metrics" }</h2>
            <dl id="metrics-text" class="metrics-text small"
                data-acked={acked.to_string()} data-p50={pct.map_or(0, |p| p.p50).to_string()}
                data-p99={pct.map_or(0, |p| p.p99).to_string()}
                data-elections={(m.elections_meta + m.elections_stream + m.elections_consumer).to_string()}
                data-leader-changes={m.leader_changes.to_string()}>
                <dt>{ "JetStream publishes" }</dt>
                <dd>{ format!("{sent} sent · {acked} acknowledged · {timeouts} timed out · {errors} errors") }</dd>
                <dt>{ "PubAck latency" }</dt>
                <dd>{ match pct {
                    Some(p) => format!("p50 {} · p90 {} · p99 {} · min {} · max {} ({} PubAcks)",
                        fmt_duration(p.p50), fmt_duration(p.p90), fmt_duration(p.p99), fmt_duration(p.min), fmt_duration(p.max), p.count),
                    None => "no PubAck yet".to_string(),
                } }</dd>
                <dt>{ "Throughput" }</dt>
                <dd>{ format!("{last_sec} PubAcks in the last virtual second · {overall:.1}/s over the run") }</dd>
                <dt>{ "Elections" }</dt>
                <dd>{ format!("{} won (meta {}, streams {}, consumers {}) · {} stream leader changes",
                    m.elections_meta + m.elections_stream + m.elections_consumer, m.elections_meta, m.elections_stream,
                    m.elections_consumer, m.leader_changes) }</dd>
            </dl>
            if !bins.is_empty() {
                <figure class="histogram">
                    <svg viewBox={format!("0 0 {chart_w} {}", bh + 2.0)} width={format!("{}", chart_w.min(480.0))} height="82"
                        role="img" aria-labelledby="hist-cap">
                        { for bins.iter().enumerate().map(|(i, (lo, hi, n))| {
                            let h = (bh * *n as f64 / peak as f64).max(if *n > 0 { 1.0 } else { 0.0 });
                            html! {
                                <rect class="bar" x={format!("{:.1}", i as f64 * bw + 1.0)} y={format!("{:.1}", bh - h)}
                                    width={format!("{:.1}", bw - 2.0)} height={format!("{h:.1}")}>
                                    <title>{ format!("{}–{}: {n}", fmt_duration(*lo), fmt_duration(*hi)) }</title>
                                </rect>
                            }
                        }) }
                    </svg>
                    <figcaption id="hist-cap" class="muted small">
                        { format!("PubAck latency histogram, {} bins from {} to {}: ", bins.len(),
                            fmt_duration(bins[0].0), fmt_duration(bins[bins.len() - 1].1)) }
                        { bins.iter().filter(|b| b.2 > 0).map(|(lo, hi, n)| format!("{}–{} {n}", fmt_duration(*lo), fmt_duration(*hi))).collect::<Vec<_>>().join(", ") }
                    </figcaption>
                </figure>
            }
        </section>
    }
}

/// One guarantee's state.
#[derive(Clone, Debug, PartialEq)]
pub struct Guarantee {
    pub id: &'static str,
    pub name: &'static str,
    /// None: not checked; Some(empty): holds; Some(breaks): broken.
    pub breaks: Option<Vec<Broken>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Broken {
    pub text: String,
    /// When, and the fault that caused it if known.
    pub at: Time,
    pub cause: String,
    pub trace_seq: u64,
}

/// The guarantees of a world, reading its deliveries from the start.
pub fn guarantees(w: &World) -> Vec<Guarantee> {
    let mut d = super::delivery_check::DeliveryCheck::default();
    d.update(w);
    guarantees_with(w, &d)
}

/// The guarantees, with the delivery checks as far as `d` has read.
pub fn guarantees_with(w: &World, d: &super::delivery_check::DeliveryCheck) -> Vec<Guarantee> {
    let all = w.all_violations();
    let to_broken = |v: &jetsim_core::sim::ViolationRecord, cause: String| Broken {
        text: text::display_max(&v.text, 400),
        at: v.at,
        cause,
        trace_seq: v.trace_seq,
    };
    let crash = w.last_crash.as_ref().map(|(_, _, t)| t.clone()).unwrap_or_default();
    let lost: Vec<Broken> = all.iter().filter(|v| v.group.is_empty()).map(|v| to_broken(v, crash.clone())).collect();
    let raft: Vec<Broken> =
        all.iter().filter(|v| !v.group.is_empty()).map(|v| to_broken(v, format!("Raft group {}", v.group))).collect();
    vec![
        Guarantee { id: "acked-kept", name: "Acknowledged messages are kept", breaks: Some(lost) },
        Guarantee {
            id: "raft-safety",
            name: "Raft safety (one leader per term, logs match, committed entries stay)",
            breaks: w.checks_invariants().then_some(raft),
        },
        Guarantee {
            id: "no-duplicates",
            name: "No duplicate delivery to a JetStream consumer (a stream seq with delivery count 1 once; redeliveries allowed)",
            breaks: Some(delivery_breaks(&d.duplicates, d.duplicates_total, "duplicates")),
        },
        Guarantee {
            id: "in-order",
            name: "First deliveries to a JetStream consumer in stream order (by consumer seq; redeliveries excepted)",
            breaks: Some(delivery_breaks(&d.order, d.order_total, "order violations")),
        },
    ]
}

/// Delivery breaks as the panel lists them; the Show button goes to the
/// moment the offending delivery arrived.
fn delivery_breaks(bs: &[super::delivery_check::DeliveryBreak], total: u64, what: &str) -> Vec<Broken> {
    let mut out: Vec<Broken> = bs
        .iter()
        .map(|b| Broken {
            text: text::display_max(&b.text, 400),
            at: b.at,
            cause: String::new(),
            trace_seq: NO_TRACE_SEQ,
        })
        .collect();
    if total > bs.len() as u64 {
        if let Some(last) = out.last_mut() {
            last.text.push_str(&format!(" ({} more {what} not listed)", total - bs.len() as u64));
        }
    }
    out
}

/// `Broken::trace_seq` when the break is not tied to one trace event.
pub const NO_TRACE_SEQ: u64 = u64::MAX;

/// `on_goto(time)` takes the reader to the step that broke a guarantee.
pub fn guarantees_view(gs: Vec<Guarantee>, on_goto: Callback<Time>) -> Html {
    let broken = gs.iter().any(|g| g.breaks.as_ref().is_some_and(|b| !b.is_empty()));
    html! {
        <section class={classes!("panel", "guarantees", broken.then_some("broken"))} aria-labelledby="guarantees-h"
            data-broken={broken.to_string()}>
            <h2 id="guarantees-h" class="panel-title">{ "Guarantees" }</h2>
            <details class="guarantees-what">
            <summary class="small">{ "What is checked, and what is not" }</summary>
            <p class="muted small" id="guarantees-help">
                { "Checked as the run goes. Acked kept: every acknowledged publish is on every running replica of its stream. Raft safety: one leader per term, matching logs, committed entries never lost or changed, checked after every event. Duplicates: per consumer, a stream sequence delivered with delivery count 1 twice, or one delivery arriving twice on one subscription (redeliveries after ack wait or NAK, and copies to several subscribers of a deliver subject, are allowed). Order: per consumer, first deliveries whose stream sequence goes backwards as the consumer sequence grows (compared by consumer sequence, so several workers or a deliver group may interleave freely; redeliveries excepted). Core NATS subscriptions are not checked: a core message carries no publisher sequence to compare." }
            </p>
            </details>
            <ul class="guarantee-list">
                { for gs.iter().map(|g| {
                    let (state, label) = match &g.breaks {
                        None => ("unchecked", "not checked"),
                        Some(b) if b.is_empty() => ("ok", "holds"),
                        Some(_) => ("broken", "BROKEN"),
                    };
                    html! {
                        <li class={classes!("guarantee", state)} data-guarantee={g.id} data-state={state}>
                            <span class="badge">{ label }</span>{ " " }{ g.name }
                            if state == "unchecked" {
                                <span class="muted small">{ " (the invariant checker is off for this run)" }</span>
                            }
                            if let Some(bs) = &g.breaks {
                                <ul class="breaks">
                                    { for bs.iter().map(|b| {
                                        let at = b.at;
                                        let cb = on_goto.clone();
                                        html! {
                                            <li>
                                                { b.text.clone() }
                                                { if b.trace_seq == NO_TRACE_SEQ {
                                                    format!(" — at {}", fmt_time(b.at))
                                                } else {
                                                    format!(" — seen at {} (trace event {})", fmt_time(b.at), b.trace_seq)
                                                } }
                                                if !b.cause.is_empty() { { format!(", after {}", b.cause) } }
                                                { " " }
                                                <button type="button" class="goto" onclick={Callback::from(move |_| cb.emit(at))}>
                                                    { format!("Show {}", fmt_time(at)) }
                                                </button>
                                            </li>
                                        }
                                    }) }
                                </ul>
                            }
                        </li>
                    }
                }) }
            </ul>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        let p = Percentiles::of(&v).expect("some");
        assert_eq!((p.p50, p.p90, p.p99, p.min, p.max, p.count), (50, 90, 99, 1, 100, 100));
        let p = Percentiles::of(&[7]).expect("some");
        assert_eq!((p.p50, p.p99), (7, 7));
        assert_eq!(Percentiles::of(&[]), None);
    }

    #[test]
    fn histogram_bins_cover_every_value() {
        let v: Vec<u64> = vec![4, 4, 6, 6, 6, 200];
        let h = histogram(&v, 4);
        assert_eq!(h.iter().map(|b| b.2).sum::<usize>(), v.len());
        assert_eq!(h[0].2, 5, "{h:?}");
        assert_eq!(h.last().map(|b| b.2), Some(1));
        assert_eq!(histogram(&[5, 5], 12), vec![(5, 5, 2)]);
        assert!(histogram(&[], 12).is_empty());
    }

    /// Every example: no duplicate, no order violation, no Raft violation
    /// with the checker on; and lazy-fsync loses acked messages.
    #[test]
    fn examples_keep_deliveries_and_raft_safety() {
        for e in crate::examples::EXAMPLES {
            let sc = jetsim_core::scenario::parse(e.text).expect("parses");
            let until = sc.until.unwrap_or(20 * SEC);
            let mut w = World::new(sc, 1).expect("builds");
            w.set_check_invariants(true);
            w.trace.set_capacity(0);
            let mut m = MetricsState::default();
            // Checked incrementally, as the page does between renders.
            let mut t = 0;
            while t < until {
                t += 50 * jetsim_core::time::MS;
                w.run_until(t);
                m.deliveries.update(&w);
            }
            let g = guarantees_with(&w, &m.deliveries);
            let state = |id: &str| g.iter().find(|g| g.id == id).and_then(|g| g.breaks.clone()).expect("checked");
            for id in ["no-duplicates", "in-order"] {
                assert_eq!(state(id), vec![], "{} {id}", e.id);
            }
            // A power loss with lazy fsync loses committed entries: Raft's
            // own assumption (stable storage) breaks, and the checker says so.
            let raft = state("raft-safety");
            if e.id == "lazy-fsync-power-loss" {
                assert!(raft.iter().any(|b| b.text.starts_with("LeaderCompleteness")), "{raft:?}");
            } else {
                assert_eq!(raft, vec![], "{}", e.id);
            }
            assert_eq!(state("acked-kept").is_empty(), e.id != "lazy-fsync-power-loss", "{}", e.id);
            assert_eq!(m.deliveries.missed, 0, "{}", e.id);
            if e.id == "pull-consumer" {
                assert!(m.deliveries.checked >= 40, "all 40 jobs were delivered: {:?}", m.deliveries.checked);
            }
        }
    }

    /// A duplicated delivery fed to a run's clients is reported, at its time.
    #[test]
    fn a_duplicated_delivery_is_reported_with_its_time() {
        let text = crate::examples::find("pull-consumer").map(|e| e.text).unwrap_or_default();
        let mut w = World::new(jetsim_core::scenario::parse(text).expect("parses"), 1).expect("builds");
        w.run_until(6 * SEC);
        let mut m = MetricsState::default();
        assert!(m.guarantees(&w, false).iter().all(|g| g.breaks.as_ref().is_none_or(|b| b.is_empty())));
        // worker2 gets worker1's first message again as a first delivery
        // under a new consumer sequence.
        let first = w.clients[1].node.js.deliveries.front().cloned().expect("worker1 got messages");
        let meta = crate::playground::delivery_check::parse_ack(&first.reply).expect("an ack subject");
        let mut dup = first.clone();
        dup.at = 6 * SEC;
        dup.reply = std::rc::Rc::from(format!("$JS.ACK.JOBS.workers.1.{}.999.0.0", meta.stream_seq).as_str());
        let js = &mut w.clients[2].node.js;
        js.deliveries.push_back(dup);
        js.deliveries_seen += 1;
        // (No event since: the cached guarantees stand until the trace moves.)
        assert!(m.guarantees(&w, false).iter().all(|g| g.breaks.as_ref().is_none_or(|b| b.is_empty())));
        m.deliveries.update(&w);
        let g = guarantees_with(&w, &m.deliveries);
        let d = g.iter().find(|g| g.id == "no-duplicates").and_then(|g| g.breaks.clone()).expect("checked");
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].at, 6 * SEC);
        assert!(d[0].text.contains(&format!("stream seq {} delivered again", meta.stream_seq)), "{d:?}");
        assert!(d[0].text.contains("to worker2"), "{d:?}");
    }

    /// Cost of the checks per event on the largest example (printed; run with
    /// `cargo test -p jetsim-web --lib --release measure_guarantee_cost -- --ignored --nocapture`).
    #[test]
    #[ignore]
    fn measure_guarantee_cost() {
        for e in crate::examples::EXAMPLES {
            let mut row = Vec::new();
            for inv in [false, true] {
                let sc = jetsim_core::scenario::parse(e.text).expect("parses");
                let until = sc.until.unwrap_or(20 * SEC);
                let mut w = World::new(sc, 1).expect("builds");
                w.set_check_invariants(inv);
                let mut m = MetricsState::default();
                let (mut sim, mut deliv, mut all, mut renders) = (0u128, 0u128, 0u128, 0u128);
                let mut t = 0;
                while t < until {
                    t += 16 * jetsim_core::time::MS;
                    let a = std::time::Instant::now();
                    w.run_until(t);
                    let b = std::time::Instant::now();
                    m.deliveries.update(&w);
                    let c = std::time::Instant::now();
                    let _ = guarantees_with(&w, &m.deliveries);
                    let d = std::time::Instant::now();
                    sim += (b - a).as_nanos();
                    deliv += (c - b).as_nanos();
                    all += (d - c).as_nanos();
                    renders += 1;
                }
                let events = w.metrics.events.max(1) as u128;
                row.push(format!("sim {:>6} ns/event", sim / events));
                if inv {
                    row.push(format!("delivery check {:>5} ns/render, acked+raft listing {:>7} ns/render ({} events, {} renders, {} deliveries)", deliv / renders, all / renders, events, renders, m.deliveries.checked));
                }
            }
            eprintln!("{:<22} checker off: {} | on: {}", e.id, row[0], row[1..].join(", "));
        }
    }

    #[test]
    fn lazy_fsync_breaks_the_acked_guarantee_and_kill_leader_does_not() {
        let run = |id: &str| {
            let text = crate::examples::find(id).map(|e| e.text).unwrap_or_default();
            jetsim_core::sim::run_headless(text, 1, None, 50_000_000).expect("runs")
        };
        let w = run("lazy-fsync-power-loss");
        let g = guarantees(&w);
        let acked = g.iter().find(|g| g.id == "acked-kept").expect("listed");
        let b = acked.breaks.as_ref().expect("checked");
        assert_eq!(b.len(), 1, "{b:?}");
        assert!(b[0].text.starts_with("20 acknowledged publishes missing"), "{b:?}");
        assert_eq!(b[0].at, 6 * SEC);
        assert!(b[0].cause.starts_with("power-loss"), "{b:?}");
        let w = run("kill-leader");
        assert!(guarantees(&w).iter().all(|g| g.breaks.as_ref().is_none_or(|b| b.is_empty())));
        let lats = latencies(&w);
        assert!(lats.len() > 80);
        assert_eq!(Percentiles::of(&lats).map(|p| p.p50), Some(6 * jetsim_core::time::MS));
    }
}
