//! Sequence (Lamport) diagram of the most recent frames: one lane per server
//! and client, virtual time downwards, an arrow per frame from its send to
//! its arrival (dashed while still in flight, a cross when dropped), labelled
//! with its kind and subject and with Lamport timestamps (send and receive)
//! counted over the frames shown. A list gives the same frames as text.
//! Read from the trace's ring; nothing here changes the world.

use std::collections::BTreeMap;

use jetsim_core::sim::World;
use jetsim_core::time::{fmt_duration, fmt_time, Time};
use jetsim_core::trace::{Endpoint, TraceKind};
use yew::prelude::*;

use super::view::kind_class;
use crate::text;

/// Frames shown at most (the most recent).
pub const FRAMES: usize = 30;

/// One arrow of the diagram.
#[derive(Clone, Debug, PartialEq)]
pub struct Arrow {
    pub id: u64,
    pub from: Endpoint,
    pub to: Endpoint,
    pub sent: Time,
    pub arrives: Time,
    pub label: String,
    pub class: &'static str,
    /// Arrived by now (else in flight, or dropped).
    pub delivered: bool,
    pub dropped: bool,
    /// Lamport timestamps of the send and, if delivered, the receive.
    pub l_send: u64,
    pub l_recv: Option<u64>,
}

/// The last `max` frames sent, oldest first, with Lamport timestamps.
pub fn arrows(w: &World, max: usize) -> Vec<Arrow> {
    let events: Vec<_> = w.trace.recent().collect();
    // The index of the `max`-th most recent send: start there.
    let mut sends = 0;
    let mut start = 0;
    for (i, e) in events.iter().enumerate().rev() {
        if matches!(e.kind, TraceKind::Send { .. }) {
            sends += 1;
            if sends == max {
                start = i;
                break;
            }
        }
    }
    let mut clock: BTreeMap<Endpoint, u64> = BTreeMap::new();
    let mut out: Vec<Arrow> = Vec::new();
    let mut by_id: BTreeMap<u64, usize> = BTreeMap::new();
    for e in &events[start..] {
        match &e.kind {
            TraceKind::Send { id, from, to, label, arrives, .. } => {
                let c = clock.entry(*from).or_default();
                *c += 1;
                let l = *c;
                let class = kind_class(label.kind);
                let label = match &label.subject {
                    Some(s) => format!("{} {}", label.kind.name(), text::short(s, 28)),
                    None => label.kind.name().to_string(),
                };
                by_id.insert(*id, out.len());
                out.push(Arrow {
                    id: *id,
                    from: *from,
                    to: *to,
                    sent: e.at,
                    arrives: *arrives,
                    label,
                    class,
                    delivered: false,
                    dropped: false,
                    l_send: l,
                    l_recv: None,
                });
            }
            TraceKind::Deliver { id, to, .. } => {
                if let Some(&i) = by_id.get(id) {
                    let c = clock.entry(*to).or_default();
                    *c = (*c).max(out[i].l_send) + 1;
                    out[i].delivered = true;
                    out[i].l_recv = Some(*c);
                }
            }
            TraceKind::Drop { id, .. } => {
                if let Some(&i) = by_id.get(id) {
                    out[i].dropped = true;
                }
            }
            _ => {}
        }
    }
    out
}

pub fn sequence_view(w: &World) -> Html {
    let arrows = arrows(w, FRAMES);
    let now = w.now();
    // Lanes: the endpoints the arrows touch, servers first, in endpoint order.
    let mut lanes: Vec<Endpoint> = arrows.iter().flat_map(|a| [a.from, a.to]).collect();
    lanes.sort_unstable();
    lanes.dedup();
    let lane_x: BTreeMap<Endpoint, f64> = lanes.iter().enumerate().map(|(i, &e)| (e, 50.0 + 100.0 * i as f64)).collect();
    let t0 = arrows.first().map_or(now, |a| a.sent);
    let t1 = arrows.iter().map(|a| a.arrives.min(now.max(a.sent))).max().unwrap_or(now).max(now).max(t0 + 1);
    let (top, height) = (28.0_f64, 380.0_f64);
    let y = |t: Time| top + height * (t.saturating_sub(t0)) as f64 / (t1 - t0) as f64;
    let width = 100.0 * lanes.len().max(1) as f64;
    html! {
        <section class="panel sequence" aria-labelledby="sequence-h">
            <h2 id="sequence-h" class="panel-title">{ "Sequence diagram" }</h2>
            <p class="muted small">
                { format!("The last {} frames between {} and {}, time downwards; L numbers are Lamport timestamps (send → receive) over these frames.",
                    arrows.len(), fmt_time(t0), fmt_time(t1)) }
            </p>
            if arrows.is_empty() {
                <p class="muted small">{ "No frame has been sent yet." }</p>
            } else {
                <div class="sequence-scroll">
                    <svg class="sequence-svg" viewBox={format!("0 0 {width} {}", top + height + 10.0)} width={format!("{width}")}
                        role="img" aria-label="Sequence diagram of recent frames (the list below says the same)">
                        <defs>
                            <marker id="seq-head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse">
                                <path d="M 0 0 L 10 5 L 0 10 z" class="seq-head" />
                            </marker>
                        </defs>
                        { for lanes.iter().map(|&e| {
                            let x = lane_x[&e];
                            html! {
                                <g class={classes!("lane", if w.is_server(e) { "server" } else { "client" })} data-lane={w.name(e).to_string()}>
                                    <text x={format!("{x:.1}")} y="14" text-anchor="middle" class="lane-name">{ text::short(w.name(e), 12) }</text>
                                    <line x1={format!("{x:.1}")} x2={format!("{x:.1}")} y1="20" y2={format!("{:.1}", top + height)} />
                                </g>
                            }
                        }) }
                        { for arrows.iter().map(|a| {
                            let (x0, x1) = (lane_x[&a.from], lane_x[&a.to]);
                            let y0 = y(a.sent);
                            let end = if a.delivered || a.dropped { a.arrives } else { now.min(a.arrives) };
                            let frac = if a.arrives > a.sent { (end - a.sent) as f64 / (a.arrives - a.sent) as f64 } else { 1.0 };
                            let (xe, ye) = (x0 + (x1 - x0) * frac, y(end));
                            let state = if a.dropped { "dropped" } else if a.delivered { "delivered" } else { "in-flight" };
                            html! {
                                <g class={classes!("seq-arrow", a.class, state)}>
                                    <title>{ format!("{} → {}: {} · sent {} · {} {}", w.name(a.from), w.name(a.to), a.label, fmt_time(a.sent),
                                        if a.dropped { "dropped" } else if a.delivered { "arrived after" } else { "arrives after" },
                                        fmt_duration(a.arrives - a.sent)) }</title>
                                    <line x1={format!("{x0:.1}")} y1={format!("{y0:.1}")} x2={format!("{xe:.1}")} y2={format!("{ye:.1}")}
                                        marker-end={(state == "delivered").then_some("url(#seq-head)")} />
                                    if a.dropped {
                                        <text x={format!("{xe:.1}")} y={format!("{:.1}", ye + 4.0)} text-anchor="middle" class="seq-drop">{ "×" }</text>
                                    }
                                    <text x={format!("{:.1}", x0 + if x1 >= x0 { 3.0 } else { -3.0 })} y={format!("{:.1}", y0 - 2.0)}
                                        text-anchor={if x1 >= x0 { "start" } else { "end" }} class="seq-label">
                                        { format!("L{} {}", a.l_send, a.label) }
                                    </text>
                                </g>
                            }
                        }) }
                    </svg>
                </div>
                <details class="sequence-text">
                    <summary>{ "The same frames as text" }</summary>
                    <ol id="sequence-list" class="small">
                        { for arrows.iter().map(|a| html! {
                            <li data-from={w.name(a.from).to_string()} data-to={w.name(a.to).to_string()} data-kind={a.class}>
                                { format!("{} {} → {}: {} (L{}{}){}", fmt_time(a.sent), text::short(w.name(a.from), 24), text::short(w.name(a.to), 24), a.label,
                                    a.l_send, a.l_recv.map_or(String::new(), |r| format!(" → L{r}")),
                                    if a.dropped { ", dropped" } else if a.delivered { "" } else { ", in flight" }) }
                            </li>
                        }) }
                    </ol>
                </details>
            }
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jetsim_core::time::SEC;

    #[test]
    fn lamport_timestamps_respect_happens_before() {
        let text = crate::examples::find("r3-publish").map(|e| e.text).unwrap_or_default();
        let sc = jetsim_core::scenario::parse(text).expect("parses");
        let mut w = World::new(sc, 1).expect("builds");
        w.run_until(4 * SEC + 3_000_000);
        let a = arrows(&w, FRAMES);
        assert_eq!(a.len(), FRAMES);
        assert!(a.windows(2).all(|p| p[0].sent <= p[1].sent), "oldest first");
        for x in &a {
            if let Some(r) = x.l_recv {
                assert!(r > x.l_send, "a receive comes after its send: {x:?}");
            }
            assert!(x.arrives >= x.sent);
        }
        // Per sender, send stamps increase.
        let mut last: BTreeMap<Endpoint, u64> = BTreeMap::new();
        for x in &a {
            let l = last.entry(x.from).or_default();
            assert!(x.l_send > *l, "{x:?}");
            *l = x.l_send;
        }
        assert!(a.iter().any(|x| x.label.starts_with("route-msg orders.new")), "{a:#?}");
    }
}
