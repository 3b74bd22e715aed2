//! Sequence (Lamport) diagram of the most recent frames: one lane per server
//! and client, one row per event (a frame sent, a frame arrived or dropped)
//! in the order they happened, downwards, with its virtual time in the
//! margin; an arrow per frame from its send row to its arrival row (dashed
//! while still in flight, a cross when dropped), labelled with its kind and
//! subject and its Lamport timestamp, counted over the frames shown. A list
//! gives the same frames as text.
//! Read from the trace's ring; nothing here changes the world.

use jetsim_core::vecmap::VecMap as BTreeMap; // sorted-Vec map: smaller wasm

use jetsim_core::sim::World;
use jetsim_core::time::{fmt_duration, fmt_time, Time};
use jetsim_core::trace::{Endpoint, TraceKind};
use yew::prelude::*;

use super::view::kind_class;
use crate::text;

/// At most this much larger than drawn: the CSS scales the diagram to its
/// panel (readable labels with 3-4 lanes), but not 2-3x with two lanes.
const MAX_SCALE: f64 = 1.4;

/// Frames shown at most (the most recent).
pub const FRAMES: usize = 24;

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
    /// Rows of the send and of the arrival or drop (None: in flight).
    pub row_send: usize,
    pub row_end: Option<usize>,
}

/// The last `max` frames sent, oldest first, with Lamport timestamps and
/// rows; and the time of each row.
pub fn arrows(w: &World, max: usize) -> (Vec<Arrow>, Vec<Time>) {
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
    let mut rows: Vec<Time> = Vec::new();
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
                    row_send: rows.len(),
                    row_end: None,
                });
                rows.push(e.at);
            }
            TraceKind::Deliver { id, to, .. } => {
                if let Some(&i) = by_id.get(id) {
                    let c = clock.entry(*to).or_default();
                    *c = (*c).max(out[i].l_send) + 1;
                    out[i].delivered = true;
                    out[i].l_recv = Some(*c);
                    out[i].row_end = Some(rows.len());
                    rows.push(e.at);
                }
            }
            TraceKind::Drop { id, .. } => {
                if let Some(&i) = by_id.get(id) {
                    out[i].dropped = true;
                    out[i].row_end = Some(rows.len());
                    rows.push(e.at);
                }
            }
            _ => {}
        }
    }
    (out, rows)
}

pub fn sequence_view(w: &World) -> Html {
    let (arrows, rows) = arrows(w, FRAMES);
    let now = w.now();
    // Lanes: the endpoints the arrows touch, servers first, in endpoint order.
    let mut lanes: Vec<Endpoint> = arrows.iter().flat_map(|a| [a.from, a.to]).collect();
    jetsim_core::sort::sort(&mut lanes);
    lanes.dedup();
    let margin = 78.0_f64;
    let lane_w = 150.0_f64;
    let lane_x: BTreeMap<Endpoint, f64> =
        lanes.iter().enumerate().map(|(i, &e)| (e, margin + lane_w / 2.0 + lane_w * i as f64)).collect();
    let t0 = rows.first().copied().unwrap_or(now);
    let t1 = now;
    let (top, row_h) = (30.0_f64, 15.0_f64);
    // The row after the last is "now" (where frames in flight end).
    let height = row_h * (rows.len() as f64 + 1.0);
    let y = |row: usize| top + row_h * row as f64 + row_h / 2.0;
    let width = margin + lane_w * lanes.len().max(1) as f64;
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
                        style={format!("max-width: min(100%, {:.0}px)", width * MAX_SCALE)}
                        role="img" aria-label="Sequence diagram of recent frames (the list below says the same)">
                        <defs>
                            <marker id="seq-head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse">
                                <path d="M 0 0 L 10 5 L 0 10 z" class="seq-head" />
                            </marker>
                        </defs>
                        { for rows.iter().enumerate().filter(|(i, t)| *i == 0 || rows[i - 1] != **t).map(|(i, t)| html! {
                            <text class="row-time" x="2" y={format!("{:.1}", y(i) + 3.0)}>{ fmt_time(*t) }</text>
                        }) }
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
                            let y0 = y(a.row_send);
                            let (xe, ye) = match a.row_end {
                                Some(r) => (x1, y(r)),
                                // In flight: as far along as the clock says, on the "now" row.
                                None => {
                                    let frac = if a.arrives > a.sent { (now.min(a.arrives) - a.sent) as f64 / (a.arrives - a.sent) as f64 } else { 1.0 };
                                    (x0 + (x1 - x0) * frac, y(rows.len()))
                                }
                            };
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
        let (a, rows) = arrows(&w, FRAMES);
        assert_eq!(a.len(), FRAMES);
        assert!(a.windows(2).all(|p| p[0].sent <= p[1].sent), "oldest first");
        assert!(rows.windows(2).all(|p| p[0] <= p[1]), "rows in time order");
        for x in &a {
            if let Some(r) = x.l_recv {
                assert!(r > x.l_send, "a receive comes after its send: {x:?}");
            }
            assert!(x.arrives >= x.sent);
            assert_eq!(rows[x.row_send], x.sent, "the send row has the send's time");
            if let Some(r) = x.row_end {
                assert!(r > x.row_send);
                assert_eq!(rows[r], x.arrives, "the arrival row has the arrival's time");
            }
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
