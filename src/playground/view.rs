//! The cluster view (SVG) and its legend. Everything drawn is read from the
//! world through the core's public API; nothing here changes the simulation.

use jetsim_core::vecmap::VecMap as BTreeMap; // sorted-Vec map: smaller wasm

use jetsim_core::client::ConnState;
use jetsim_core::link::Latency;
use jetsim_core::sim::{InFlight, Liveness, World};
use jetsim_core::time::fmt_duration;
use jetsim_core::trace::{Endpoint, FrameKind};
use yew::prelude::*;

use super::canvas::{self, CanvasMsg, DropAction, Interact};
use super::causal::AckPath;
use super::layout::{num, pill_width, ClientSpec, Layout, Pill, Pt, ServerSpec, PILL_H, PILL_MAX_CHARS, SERVER_R};
use super::lens::{Detail, RaftFrame};
use crate::text;

/// Frames drawn at most (the rest are counted in the caption).
pub const MAX_FRAMES_DRAWN: usize = 300;

/// A cluster with more route links than this labels only the unusual ones.
const LABEL_ALL_UP_TO: usize = 6;

/// The layout's view of the world's servers.
pub fn server_specs(world: &World) -> Vec<ServerSpec> {
    world
        .servers
        .iter()
        .map(|s| ServerSpec {
            name: s.config.name.clone(),
            cluster: s.config.cluster.clone(),
            az: s.config.az.clone(),
            region: s.config.region.clone(),
        })
        .collect()
}

/// The layout's view of the world's clients: each sits by its current
/// server, else by the first one it would try.
pub fn client_specs(world: &World) -> Vec<ClientSpec> {
    world
        .clients
        .iter()
        .map(|c| ClientSpec {
            name: c.node.config.name.clone(),
            home: c.node.server().or_else(|| c.node.config.servers.first().copied()).map(|s| s as usize),
        })
        .collect()
}

pub fn liveness_name(l: Liveness) -> &'static str {
    match l {
        Liveness::Up => "up",
        Liveness::Down => "down",
        Liveness::Paused => "paused",
    }
}

/// Colour class and legend group of a frame kind (`k-other` for kinds the
/// core may add before the legend learns them).
#[allow(unreachable_patterns)]
pub fn kind_class(k: FrameKind) -> &'static str {
    match k {
        FrameKind::Publish => "k-publish",
        FrameKind::Deliver => "k-deliver",
        FrameKind::RouteMsg => "k-route-msg",
        FrameKind::RouteSub => "k-route-sub",
        FrameKind::RaftAppend | FrameKind::RaftAppendAck => "k-raft-append",
        FrameKind::RaftVote | FrameKind::RaftVoteReply => "k-raft-vote",
        FrameKind::ClientCtl | FrameKind::ServerCtl => "k-control",
        FrameKind::Connect | FrameKind::Close => "k-connection",
        _ => "k-other",
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Dot,
    /// A small dot: a Raft heartbeat (AppendEntries without entries).
    SmallDot,
    Diamond,
    Ring,
    /// A square: a PubAck on its way to the publisher.
    Square,
}

/// Colour class and shape of a frame, refined by what it carries (Raft
/// message variant, PubAck) when [`super::lens::frame_details`] knows it.
pub fn frame_look(k: FrameKind, detail: Option<&Detail>) -> (&'static str, Shape) {
    match detail {
        Some(Detail::Raft(r)) => match r {
            RaftFrame::Append => ("k-raft-append", Shape::Dot),
            RaftFrame::Heartbeat => ("k-raft-append", Shape::SmallDot),
            RaftFrame::Ack => ("k-raft-append", Shape::Ring),
            RaftFrame::Vote | RaftFrame::TimeoutNow => ("k-raft-vote", Shape::Diamond),
            RaftFrame::Granted => ("k-raft-vote", Shape::Ring),
            RaftFrame::Reject | RaftFrame::Denied => ("k-raft-reject", Shape::Ring),
        },
        Some(Detail::PubAck { .. }) => ("k-puback", Shape::Square),
        None => (kind_class(k), kind_shape(k)),
    }
}

#[allow(unreachable_patterns)]
fn kind_shape(k: FrameKind) -> Shape {
    match k {
        FrameKind::Publish | FrameKind::Deliver | FrameKind::RouteMsg | FrameKind::RaftAppend => Shape::Dot,
        FrameKind::RouteSub | FrameKind::ClientCtl | FrameKind::ServerCtl | FrameKind::RaftVote => Shape::Diamond,
        // Replies and acks are rings in their request's colour.
        FrameKind::RaftAppendAck | FrameKind::RaftVoteReply => Shape::Ring,
        FrameKind::Connect | FrameKind::Close => Shape::Ring,
        _ => Shape::Diamond,
    }
}

/// `"frame <class>"` (or `"frame ring <class>"`) as one static string:
/// the drawing sets 250+ frames' classes every animation frame, and
/// `classes!` allocates an index map each time. The kinds are few, so each
/// combination is made once.
fn frame_class(ring: bool, class: &'static str) -> &'static str {
    thread_local! {
        static MADE: std::cell::RefCell<Vec<(bool, &'static str, &'static str)>> = const {
            std::cell::RefCell::new(Vec::new())
        };
    }
    MADE.with(|m| {
        let mut m = m.borrow_mut();
        if let Some((_, _, s)) = m.iter().find(|(r, c, _)| *r == ring && *c == class) {
            return *s;
        }
        let s: &'static str =
            Box::leak(if ring { format!("frame ring {class}") } else { format!("frame {class}") }.into_boxed_str());
        m.push((ring, class, s));
        s
    })
}

fn shape_html(shape: Shape, class: &'static str, at: Pt) -> Html {
    let (x, y) = (num(at.x), num(at.y));
    let c = frame_class(matches!(shape, Shape::Ring), class);
    match shape {
        Shape::Dot => html! { <circle class={c} cx={x} cy={y} r="6" /> },
        Shape::SmallDot => html! { <circle class={c} cx={x} cy={y} r="3.5" /> },
        Shape::Square => html! {
            <rect class={c} x={num(at.x - 5.5)} y={num(at.y - 5.5)} width="11" height="11" rx="1.5" />
        },
        Shape::Diamond => html! {
            <rect class={c} x="-4.5" y="-4.5" width="9" height="9"
                transform={format!("translate({x} {y}) rotate(45)")} />
        },
        Shape::Ring => html! { <circle class={c} cx={x} cy={y} r="5" /> },
    }
}

/// The legend, as text with swatches (the SVG's colours explained).
pub fn legend() -> Html {
    // name, colour class, shapes (request, reply), what it is
    let frames: [(&str, &str, &[Shape], &str); 12] = [
        ("publish", "k-publish", &[Shape::Dot], "client → server PUB"),
        ("deliver", "k-deliver", &[Shape::Dot], "server → client MSG"),
        ("route-msg", "k-route-msg", &[Shape::Dot], "server → server RMSG"),
        ("route-sub", "k-route-sub", &[Shape::Diamond], "interest RS+ / RS−"),
        ("raft-append", "k-raft-append", &[Shape::Dot], "AppendEntries with entries"),
        ("raft-heartbeat", "k-raft-append", &[Shape::SmallDot], "AppendEntries without entries"),
        ("raft-ack", "k-raft-append", &[Shape::Ring], "AppendEntries accepted (ack)"),
        ("raft-vote", "k-raft-vote", &[Shape::Diamond, Shape::Ring], "vote request and vote granted"),
        ("raft-reject", "k-raft-reject", &[Shape::Ring], "AppendEntries rejected or vote denied"),
        ("puback", "k-puback", &[Shape::Square], "JetStream PubAck on its way to the publisher"),
        ("control", "k-control", &[Shape::Diamond], "CONNECT, SUB, PING, INFO, +OK…"),
        ("connection", "k-connection", &[Shape::Ring], "TCP open / close"),
    ];
    let swatch = |shape: Shape, class: &'static str| {
        html! {
            <svg class="swatch" viewBox="-8 -8 16 16" width="16" height="16" aria-hidden="true" focusable="false">
                { shape_html(shape, class, Pt::new(0.0, 0.0)) }
            </svg>
        }
    };
    let line = |class: &'static str| {
        html! {
            <svg class="swatch wide" viewBox="0 -5 28 10" width="28" height="10" aria-hidden="true" focusable="false">
                <line class={classes!("route", class)} x1="1" y1="0" x2="27" y2="0" />
            </svg>
        }
    };
    html! {
        <div class="legend" aria-label="Legend">
            <h3 class="visually-hidden">{ "Legend" }</h3>
            <ul class="legend-frames">
                { for frames.iter().map(|(name, class, shapes, what)| html! {
                    <li>{ for shapes.iter().map(|sh| swatch(*sh, class)) }<b>{ *name }</b>{ " " }<span class="muted">{ *what }</span></li>
                }) }
            </ul>
            <ul class="legend-links">
                <li>{ line("up") }{ "route up" }</li>
                <li>{ line("cut") }{ "cut by a partition" }</li>
                <li>{ line("down") }{ "down (server not running)" }</li>
                <li><span class="state-dot up" aria-hidden="true"></span>{ "server up" }</li>
                <li><span class="state-dot paused" aria-hidden="true"></span>{ "paused" }</li>
                <li><span class="state-dot down" aria-hidden="true"></span>{ "down" }</li>
                <li><span class="role-dot" aria-hidden="true">{ "M" }</span>{ "JetStream meta leader" }</li>
                <li><span class="role-dot" aria-hidden="true">{ "S" }</span>{ "stream leader (a number: leads that many)" }</li>
                <li>{ line("causal") }{ "an open causal trace: its hops and their latency" }</li>
            </ul>
            <p class="legend-hint small" id="canvas-hint">
                { "On the drawing: click a server (or focus it and press Enter) for its fault menu; drag from one server to another to cut their link, again to heal it; drag a server out of its ring to isolate it; click a latency label (or a link) to change the link's latency." }
            </p>
        </div>
    }
}

/// State of the route between two servers of a cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteState {
    Up,
    /// Both directions cut.
    Cut,
    /// One direction cut (`partition a -> b`).
    OneWay,
    /// Not up for another reason (a server is down).
    Down,
}

pub fn route_state(world: &World, a: Endpoint, b: Endpoint) -> RouteState {
    let (ab, ba) = (world.is_cut(a, b), world.is_cut(b, a));
    if ab && ba {
        RouteState::Cut
    } else if ab || ba {
        RouteState::OneWay
    } else if world.route_up(a, b) {
        RouteState::Up
    } else {
        RouteState::Down
    }
}

/// A short label for a latency model: `1ms`, `1ms–2ms`, `70ms+ tail`
/// (the full description goes in the link's tooltip).
#[allow(unreachable_patterns)]
pub fn latency_label(l: &Latency) -> String {
    match l {
        Latency::Fixed(_) | Latency::Uniform { .. } => l.describe(),
        Latency::Pareto { min, .. } => format!("{}+ tail", fmt_duration(*min)),
        _ => fmt_duration(l.typical()),
    }
}

/// Short and full latency text of a link: `1ms`, or `1ms / 2ms` when the
/// directions differ.
pub fn link_latency(world: &World, a: Endpoint, b: Endpoint) -> (String, String) {
    let (ab, ba) = (world.latency(a, b), world.latency(b, a));
    if ab == ba {
        (latency_label(ab), ab.describe())
    } else {
        (
            format!("{} / {}", latency_label(ab), latency_label(ba)),
            format!(
                "{} → {}: {}; {} → {}: {}",
                world.name(a),
                world.name(b),
                ab.describe(),
                world.name(b),
                world.name(a),
                ba.describe()
            ),
        )
    }
}

/// Endpoint positions: servers, then clients (pill centres).
fn endpoint_pos(layout: &Layout, pills: &[Pill], n_servers: usize, ep: Endpoint) -> Option<Pt> {
    let i = ep as usize;
    if i < n_servers {
        layout.servers.get(i).copied()
    } else {
        pills.get(i - n_servers).map(|p| p.center)
    }
}

/// The drawing's viewBox (x, y, width, height) for the world's clients now.
pub fn view_box(world: &World, layout: &Layout) -> (f64, f64, f64, f64) {
    layout.view_box(&layout.place_clients(&client_specs(world)))
}

/// The whole cluster view, with its interactive parts (`ix`, see
/// `canvas.rs`): servers open a fault menu and can be dragged, latency
/// labels open an editor, an open causal trace is highlighted.
fn cluster_view(world: &World, layout: &Layout, reduced_motion: bool, ix: &Interact<'_>) -> (Html, usize) {
    let ns = world.servers.len();
    let specs = client_specs(world);
    let pills = layout.place_clients(&specs);
    let (vx, vy, vw, vh) = layout.view_box(&pills);

    // Route links, per cluster: which to label.
    let mut routes: Vec<(usize, usize, RouteState, String)> = Vec::new();
    let mut full_latency: Vec<String> = Vec::new();
    for a in 0..ns {
        for b in (a + 1)..ns {
            if world.servers[a].config.cluster == world.servers[b].config.cluster {
                let (ea, eb) = (a as Endpoint, b as Endpoint);
                let (short, full) = link_latency(world, ea, eb);
                routes.push((a, b, route_state(world, ea, eb), short));
                full_latency.push(full);
            }
        }
    }
    let mut captions: BTreeMap<usize, String> = BTreeMap::new();
    let mut label_it: Vec<bool> = vec![true; routes.len()];
    for (ci, _) in layout.clusters.iter().enumerate() {
        let mine: Vec<usize> = (0..routes.len()).filter(|&r| layout.cluster_of(routes[r].0) == Some(ci)).collect();
        if mine.len() > LABEL_ALL_UP_TO {
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for &r in &mine {
                *counts.entry(routes[r].3.as_str()).or_default() += 1;
            }
            // Most common latency; ties go to the first in text order (deterministic).
            let mode = counts.iter().max_by(|x, y| x.1.cmp(y.1).then(y.0.cmp(x.0))).map(|(k, _)| k.to_string());
            if let Some(mode) = mode {
                for &r in &mine {
                    label_it[r] = routes[r].3 != mode;
                }
                captions.insert(ci, format!("routes {mode} unless labelled"));
            }
        }
    }

    let clusters = layout.clusters.iter().enumerate().map(|(ci, c)| {
        let (x, y, w, h) = c.rect;
        // Line 1: the name, and the region(s) if they fit; line 2: the rest.
        let title_chars = ((w - 24.0) / 8.6).max(8.0) as usize;
        let caption_chars = ((w - 24.0) / 6.4).max(8.0) as usize;
        let mut title = format!("cluster {}", text::short(&c.name, 24));
        let mut second: Vec<String> = Vec::new();
        if !c.caption.is_empty() {
            let region = text::short(&c.caption, 80);
            if title.chars().count() + 3 + region.chars().count() <= title_chars {
                title.push_str(" · ");
                title.push_str(&region);
            } else {
                second.push(region);
            }
        }
        if let Some(cap) = captions.get(&ci) {
            second.push(cap.clone());
        }
        // One caption line if both fit on it, else one line each.
        let joined = second.join(" · ");
        let lines: Vec<String> = if joined.chars().count() <= caption_chars {
            vec![joined].into_iter().filter(|l| !l.is_empty()).collect()
        } else {
            second.iter().map(|l| text::display_max(l, caption_chars)).collect()
        };
        html! {
            <g class="cluster" key={format!("c{ci}")}>
                <rect class="cluster-box" x={num(x)} y={num(y)} width={num(w)} height={num(h)} rx="14" />
                <text class="cluster-label" x={num(x + 12.0)} y={num(y + 20.0)}>{ text::display_max(&title, title_chars) }</text>
                { for lines.into_iter().enumerate().map(|(k, l)| html! {
                    <text class="cluster-caption" x={num(x + 12.0)} y={num(y + 36.0 + 15.0 * k as f64)}>{ l }</text>
                }) }
            </g>
        }
    });

    let zones = layout.zones.iter().enumerate().map(|(zi, z)| {
        html! {
            <g class="zone" key={format!("z{zi}")}>
                <path class="zone-band" d={z.path.clone()} fill-rule="evenodd">
                    <title>{ match &z.sublabel { Some(r) => format!("AZ {} · region {r}", text::short(&z.az, 60)), None => format!("AZ {}", text::short(&z.az, 60)) } }</title>
                </path>
            </g>
        }
    });
    let zone_labels = layout.zones.iter().enumerate().map(|(zi, z)| {
        let (x, y) = (z.label_at.x, z.label_at.y);
        match &z.sublabel {
            None => html! {
                <text class="zone-label halo" key={format!("zl{zi}")} x={num(x)} y={num(y)}
                    text-anchor="middle" dominant-baseline="central">{ z.label.clone() }</text>
            },
            Some(region) => html! {
                <g key={format!("zl{zi}")} class="zone-label-2">
                    <text class="zone-label halo" x={num(x)} y={num(y - 6.0)}
                        text-anchor="middle" dominant-baseline="central">{ z.label.clone() }</text>
                    <text class="zone-region halo" x={num(x)} y={num(y + 6.5)}
                        text-anchor="middle" dominant-baseline="central">{ region.clone() }</text>
                </g>
            },
        }
    });

    let route_lines = routes.iter().zip(&full_latency).map(|((a, b, st, _), lat)| {
        let (pa, pb) = (layout.servers[*a], layout.servers[*b]);
        let class = match st {
            RouteState::Up => "up",
            RouteState::Cut => "cut",
            RouteState::OneWay => "cut oneway",
            RouteState::Down => "down",
        };
        let state_text = match st {
            RouteState::Up => "route up".to_string(),
            RouteState::Cut => "cut by a partition (both ways)".to_string(),
            RouteState::OneWay => {
                let (ea, eb) = (*a as Endpoint, *b as Endpoint);
                if world.is_cut(ea, eb) {
                    format!("cut one way: {} → {} is dropped", world.name(ea), world.name(eb))
                } else {
                    format!("cut one way: {} → {} is dropped", world.name(eb), world.name(ea))
                }
            }
            RouteState::Down => "route down".to_string(),
        };
        let title =
            format!("{} ↔ {}: {state_text}; latency {lat}", world.name(*a as Endpoint), world.name(*b as Endpoint));
        let (a, b) = (*a, *b);
        html! {
            <g key={format!("r{a}-{b}")}>
                <line class={classes!("route", class)}
                    data-route={format!("{}-{}", world.name(a as Endpoint), world.name(b as Endpoint))}
                    data-state={class}
                    x1={num(pa.x)} y1={num(pa.y)} x2={num(pb.x)} y2={num(pb.y)}>
                    <title>{ text::display(&title) }</title>
                </line>
                // A wide invisible line: click a link to edit its latency.
                <line class="route-hit" x1={num(pa.x)} y1={num(pa.y)} x2={num(pb.x)} y2={num(pb.y)}
                    onclick={ix.send.reform(move |_| CanvasMsg::EditLatency(a, b))}>
                    <title>{ text::display(&format!("{title} (click to edit the latency)")) }</title>
                </line>
            </g>
        }
    });
    let wanted: Vec<(usize, usize, f64, String)> = routes
        .iter()
        .zip(&label_it)
        .filter(|(_, l)| **l)
        .map(|((a, b, _, lat), _)| {
            let shown = text::short(lat, 40);
            let w = shown.chars().count() as f64 * 6.3 + 4.0;
            (*a, *b, w, shown)
        })
        .collect();
    let spots = layout.place_route_labels(&wanted.iter().map(|(a, b, w, _)| (*a, *b, *w)).collect::<Vec<_>>());
    let hidden_labels = spots.iter().filter(|s| s.is_none()).count();
    let route_labels = wanted.iter().zip(&spots).filter_map(|((a, b, w, shown), at)| {
        let at = (*at)?;
        let (a, b) = (*a, *b);
        let (na, nb) = (world.name(a as Endpoint), world.name(b as Endpoint));
        let aria = text::display(&format!("Latency {na} ↔ {nb}: {shown}. Edit"));
        let send = ix.send.clone();
        let onkeydown = Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Enter" || e.key() == " " {
                e.prevent_default();
                send.emit(CanvasMsg::EditLatency(a, b));
            }
        });
        Some(html! {
            <g key={format!("rl{a}-{b}")} id={canvas::label_id(a, b)} class="route-label-g" role="button" tabindex="0"
                aria-label={aria} data-route={format!("{na}-{nb}")}
                onclick={ix.send.reform(move |_| CanvasMsg::EditLatency(a, b))} onkeydown={onkeydown}>
                <rect class="route-label-hit" x={num(at.x - w / 2.0 - 2.0)} y={num(at.y - 8.0)} width={num(w + 4.0)} height="16" rx="3" />
                <text class="route-label halo" x={num(at.x)} y={num(at.y)}
                    text-anchor="middle" dominant-baseline="middle">{ shown.clone() }</text>
            </g>
        })
    });

    // Client connections.
    let client_lines = world.clients.iter().enumerate().filter_map(|(i, c)| {
        let ep = (ns + i) as Endpoint;
        let (class, server) = match c.node.state {
            ConnState::Connected { server } => ("up", server),
            ConnState::Connecting { server } | ConnState::Handshake { server } => ("pending", server),
            ConnState::Disconnected => return None,
        };
        let cut = world.is_cut(ep, server) || world.is_cut(server, ep);
        let (pc, ps) = (pills.get(i)?.center, layout.servers.get(server as usize).copied()?);
        Some(html! {
            <line key={format!("cl{i}")} class={classes!("clink", class, cut.then_some("cut"))}
                x1={num(pc.x)} y1={num(pc.y)} x2={num(ps.x)} y2={num(ps.y)} />
        })
    });

    // Frames in flight: moving along their link, or counted per link.
    let flights: Vec<&InFlight> = world.in_flight().collect();
    let frames_html: Html = if reduced_motion {
        let mut per_link: BTreeMap<(Endpoint, Endpoint), Vec<FrameKind>> = BTreeMap::new();
        for f in &flights {
            let key = if f.from < f.to { (f.from, f.to) } else { (f.to, f.from) };
            per_link.entry(key).or_default().push(f.label.kind);
        }
        let badges = per_link.iter().filter_map(|((a, b), kinds)| {
            let pa = endpoint_pos(layout, &pills, ns, *a)?;
            let pb = endpoint_pos(layout, &pills, ns, *b)?;
            let at = Pt::lerp(pa, pb, 0.5);
            let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
            for k in kinds {
                *by_kind.entry(k.name()).or_default() += 1;
            }
            let detail: Vec<String> = by_kind.iter().map(|(k, n)| format!("{n} {k}")).collect();
            let main_class = kinds.first().map_or("k-control", |k| kind_class(*k));
            Some(html! {
                <g key={format!("fc{a}-{b}")} class="frame-count" transform={format!("translate({} {})", num(at.x), num(at.y))}>
                    <circle class={classes!("badge", main_class)} r="10" />
                    <text text-anchor="middle" dominant-baseline="central">{ kinds.len().to_string() }</text>
                    <title>{ format!("{} ↔ {}: {} in flight ({})", world.name(*a), world.name(*b), kinds.len(), detail.join(", ")) }</title>
                </g>
            })
        });
        html! { <g class="frames static">{ for badges }</g> }
    } else {
        // Moving frames are drawn in the overlay over the drawing (frames.rs).
        html! {}
    };

    // A drag in progress: where releasing would act.
    let drop = ix.drag.and_then(|(from, at)| {
        let at = at?;
        let action = canvas::drop_action(layout, from, at, |a, b| {
            let (a, b) = (a as Endpoint, b as Endpoint);
            world.is_cut(a, b) || world.is_cut(b, a)
        });
        Some((from, at, action))
    });
    let drop_on = match &drop {
        Some((_, _, DropAction::Cut(_, b) | DropAction::Heal(_, b))) => Some(*b),
        _ => None,
    };
    let drag_html = match &drop {
        Some((from, at, action)) => {
            let p0 = layout.servers[*from];
            let kind = match action {
                DropAction::Cut(..) => "cut",
                DropAction::Heal(..) => "heal",
                DropAction::Isolate(_) => "isolate",
                _ => "none",
            };
            html! {
                <g class={classes!("drag", kind)} data-drop={kind} aria-hidden="true">
                    <line class="drag-line" x1={num(p0.x)} y1={num(p0.y)} x2={num(at.x)} y2={num(at.y)} />
                    <text class="drag-hint halo" x={num(at.x + 12.0)} y={num(at.y - 12.0)}>{ canvas::drop_hint(world, action) }</text>
                </g>
            }
        }
        None => html! {},
    };
    let causal_html = ix.causal.map(|p| causal_overlay(world, layout, &pills, p));

    let roles = JsRoles::of(world);
    let servers = world.servers.iter().enumerate().map(|(i, s)| {
        let p = layout.servers[i];
        let state = liveness_name(s.liveness);
        let name = &s.config.name;
        let mut title = format!("server {name}: {state} · cluster {}", s.config.cluster);
        if let Some(az) = &s.config.az {
            title.push_str(&format!(" · AZ {az}"));
        }
        if let Some(r) = &s.config.region {
            title.push_str(&format!(" · region {r}"));
        }
        let meta = roles.is_meta_leader(i);
        let streams = roles.streams_led(i);
        if let Some(role) = roles.describe(i) {
            title.push_str(" · ");
            title.push_str(&role);
        }
        let open = ix.menu_server == Some(i);
        let aria = text::display(&format!("{title}. Faults menu; drag to another server to cut or heal its link"));
        let send = ix.send.clone();
        let onkeydown = Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Enter" || e.key() == " " {
                e.prevent_default();
                send.emit(CanvasMsg::OpenMenu(i));
            }
        });
        let (send, svg) = (ix.send.clone(), ix.svg.clone());
        let onpointerdown = Callback::from(move |e: PointerEvent| {
            if e.is_primary() && e.button() == 0 {
                e.prevent_default();
                canvas::capture_pointer(&svg, e.pointer_id());
                send.emit(CanvasMsg::DragStart(i));
            }
        });
        let drop_target = drop_on == Some(i);
        html! {
            <g key={format!("s{i}")} id={canvas::server_id(i)}
                class={classes!("server", state, open.then_some("menu-open"), drop_target.then_some("drop-target"))}
                data-server={name.clone()} data-state={state}
                data-meta-leader={meta.then_some("1")}
                role="button" tabindex="0" aria-label={aria} aria-haspopup="menu" aria-expanded={open.to_string()}
                onclick={ix.send.reform(move |_| CanvasMsg::OpenMenu(i))} onkeydown={onkeydown} onpointerdown={onpointerdown}
                transform={format!("translate({} {})", num(p.x), num(p.y))}>
                <circle class="server-body" r={num(SERVER_R)} />
                if s.liveness == Liveness::Down {
                    <path class="server-x" d="M -11 -11 L 11 11 M 11 -11 L -11 11" />
                }
                <text class="server-name" text-anchor="middle" y="-3">{ text::short(name, 7) }</text>
                <text class="server-state" text-anchor="middle" y="11">{ state }</text>
                if meta {
                    <g class="badge-g meta" transform="translate(-21 -21)">
                        <circle class="role-badge" r="9" />
                        <text text-anchor="middle" dominant-baseline="central">{ "M" }</text>
                    </g>
                }
                if !streams.is_empty() {
                    <g class="badge-g stream" transform="translate(21 -21)">
                        <circle class="role-badge" r="9" />
                        <text text-anchor="middle" dominant-baseline="central">
                            { if streams.len() == 1 { "S".to_string() } else { streams.len().to_string() } }
                        </text>
                    </g>
                }
                <title>{ text::display(&title) }</title>
            </g>
        }
    });

    let clients = world.clients.iter().enumerate().filter_map(|(i, c)| {
        let pill = pills.get(i)?;
        let name = &c.node.config.name;
        let (state, server) = match c.node.state {
            ConnState::Connected { server } => ("connected", Some(server)),
            ConnState::Connecting { server } | ConnState::Handshake { server } => ("connecting", Some(server)),
            ConnState::Disconnected => ("disconnected", None),
        };
        let title = match server {
            Some(s) => format!("client {name}: {state} to {}", world.name(s)),
            None => format!("client {name}: disconnected"),
        };
        let w = pill_width(name).max(pill.w);
        Some(html! {
            <g key={format!("k{i}")} class={classes!("client", state)} data-client={name.clone()}
                data-server={server.map(|s| world.name(s).to_string()).unwrap_or_default()}
                transform={format!("translate({} {})", num(pill.center.x), num(pill.center.y))}>
                <rect class="client-body" x={num(-w / 2.0)} y={num(-PILL_H / 2.0)} width={num(w)} height={num(PILL_H)} rx="10" />
                <text class="client-name" text-anchor="middle" dominant-baseline="central">{ text::short(name, PILL_MAX_CHARS) }</text>
                <title>{ text::display(&title) }</title>
            </g>
        })
    });

    let summary = view_summary(world);
    // Pointer handlers on the <svg>: only while dragging (moves, release) or
    // while a popover is open (a press elsewhere closes it).
    let dragging = ix.drag.is_some();
    let svg_move = dragging.then(|| {
        let (send, svg) = (ix.send.clone(), ix.svg.clone());
        Callback::from(move |e: PointerEvent| {
            if let Some((x, y)) = canvas::pointer_px(&svg, &e) {
                send.emit(CanvasMsg::DragMove(x, y));
            }
        })
    });
    let svg_up = dragging.then(|| {
        let (send, svg) = (ix.send.clone(), ix.svg.clone());
        Callback::from(move |e: PointerEvent| match canvas::pointer_px(&svg, &e) {
            Some((x, y)) => send.emit(CanvasMsg::DragEnd(x, y)),
            None => send.emit(CanvasMsg::DragCancel),
        })
    });
    let svg_cancel = dragging.then(|| ix.send.reform(|_: PointerEvent| CanvasMsg::DragCancel));
    let svg_down = ix.menu_server.is_some().then(|| {
        let send = ix.send.clone();
        Callback::from(move |e: PointerEvent| {
            // Presses on a server are the server's (it may open its menu).
            let on_server = e
                .target()
                .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok())
                .and_then(|el| el.closest("g.server").ok().flatten())
                .is_some();
            if !on_server {
                send.emit(CanvasMsg::CloseMenu { refocus: false });
            }
        })
    });
    // The frame tip follows the pointer (not while dragging a server).
    let wrap_move = (!dragging && !reduced_motion).then(|| {
        let (hover, svg) = (ix.hover.clone(), ix.svg.clone());
        Callback::from(move |e: PointerEvent| hover.emit(canvas::pointer_px(&svg, &e)))
    });
    let wrap_leave = ix.hover.reform(|_: PointerEvent| None);
    let drawing = html! {
          <div class="cv-wrap" onpointermove={wrap_move} onpointerleave={wrap_leave}>
            <svg class={classes!("cluster-view", reduced_motion.then_some("reduced-motion"), ix.drag.is_some().then_some("dragging"))}
                ref={ix.svg.clone()}
                viewBox={format!("{} {} {} {}", num(vx), num(vy), num(vw), num(vh))}
                role="group" aria-labelledby="cv-title" aria-describedby="cv-desc frames-caption" preserveAspectRatio="xMidYMid meet"
                onpointermove={svg_move} onpointerup={svg_up} onpointercancel={svg_cancel} onpointerdown={svg_down}>
                <title id="cv-title">{ "Cluster view" }</title>
                <desc id="cv-desc">{ summary.clone() }</desc>
                <g class="layer-clusters" aria-hidden="true">{ for clusters }</g>
                <g class="layer-zones" aria-hidden="true">{ for zones }</g>
                <g class="layer-routes">{ for route_lines }</g>
                <g class="layer-clinks" aria-hidden="true">{ for client_lines }</g>
                if let Some((lines, _)) = &causal_html { { lines.clone() } }
                <g class="layer-labels" aria-hidden="true">{ for zone_labels }</g>
                // Frames under servers and clients: they enter and leave
                // them, and must not take a click meant for a server.
                <g aria-hidden="true">{ frames_html }</g>
                <g class="layer-route-labels">{ for route_labels }</g>
                <g class="layer-servers">{ for servers }</g>
                <g class="layer-clients" aria-hidden="true">{ for clients }</g>
                if let Some((_, labels)) = &causal_html { { labels.clone() } }
                { drag_html }
            </svg>
            // Frames in flight: frames.rs writes its paths after each render
            // (each animation frame); same viewBox as the drawing. The tip
            // names the frame under the pointer.
            <svg class="frames-overlay" ref={ix.frames.clone()} aria-hidden="true" focusable="false"
                viewBox={format!("{} {} {} {}", num(vx), num(vy), num(vw), num(vh))} preserveAspectRatio="xMidYMid meet" />
            <div class="frame-tip" ref={ix.tip.clone()} aria-hidden="true" />
            { ix.overlay.clone() }
          </div>
    };
    (drawing, hidden_labels)
}

thread_local! {
    /// The drawing's last build: (key, Frozen version, html, hidden labels).
    static DRAWING: std::cell::RefCell<Option<(u64, u64, Html, usize)>> = const { std::cell::RefCell::new(None) };
}

/// Fold `v` into the key `h` (FNV-1a over its bytes): the page's "did what
/// this shows change" keys ([`world_key`], [`drawing_key`], the faults panel's).
pub fn fold_key(h: u64, v: u64) -> u64 {
    v.to_le_bytes().iter().fold(h, |h, b| (h ^ *b as u64).wrapping_mul(0x0000_0100_0000_01b3))
}

/// What the drawing and the faults panel show of the world that can change
/// while it runs, folded into a number: faults applied (liveness,
/// partitions, latency), each server's liveness, the JetStream roles, each
/// client's connection.
pub fn world_key(world: &World) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |v: u64| h = fold_key(h, v);
    eat(world.metrics.faults);
    eat(world.servers.len() as u64);
    for s in &world.servers {
        eat(s.liveness as u64);
    }
    let roles = JsRoles::of(world);
    for m in &roles.meta {
        eat(*m as u64);
    }
    for (name, leader) in &roles.streams {
        eat(name.len() as u64);
        for b in name.bytes() {
            eat(b as u64);
        }
        eat(*leader as u64);
    }
    for c in &world.clients {
        let (k, s) = match c.node.state {
            ConnState::Connected { server } => (1, server),
            ConnState::Connecting { server } => (2, server),
            ConnState::Handshake { server } => (3, server),
            ConnState::Disconnected => (4, 0),
        };
        eat(k);
        eat(s as u64);
    }
    h
}

/// [`world_key`] and what the drawing shows of the page: the open causal
/// trace's progress, the menu and drag (frames move in the overlay, not
/// here).
pub fn drawing_key(world: &World, ix: &Interact<'_>) -> u64 {
    let mut h = world_key(world);
    let mut eat = |v: u64| h = fold_key(h, v);
    match ix.causal {
        Some(p) => {
            eat(p.trace_seq);
            eat(p.hops.len() as u64);
            eat(p.quorum.is_some() as u64);
        }
        None => eat(u64::MAX),
    }
    eat(ix.menu_server.map_or(u64::MAX, |m| m as u64));
    eat(ix.drag.is_some() as u64);
    h
}

/// The cluster drawing and its caption. The SVG part is rebuilt only when
/// [`drawing_key`] changes or `reuse` is false (any render not caused by an
/// animation frame alone, and always with reduced motion, where the SVG
/// counts frames per link): between two such renders Yew compares one
/// version number instead of diffing the drawing. The caption (frames in
/// flight) is rebuilt every render.
pub fn cluster_figure(world: &World, layout: &Layout, reduced_motion: bool, ix: &Interact<'_>, reuse: bool) -> Html {
    let key = drawing_key(world, ix);
    let reuse = reuse && !reduced_motion;
    let (version, drawing, hidden_labels) = DRAWING.with(|d| {
        let mut d = d.borrow_mut();
        if let Some((k, v, html, hidden)) = d.as_ref() {
            if reuse && *k == key {
                return (*v, html.clone(), *hidden);
            }
        }
        let (html, hidden) = cluster_view(world, layout, reduced_motion, ix);
        let v = super::next_version();
        *d = Some((key, v, html.clone(), hidden));
        (v, html, hidden)
    });
    let total_frames = world.in_flight().count();
    let more = total_frames.saturating_sub(MAX_FRAMES_DRAWN);
    html! {
        <figure class="cluster-figure">
            { super::frozen(version, drawing) }
            <figcaption class="muted" id="frames-caption">
                { format!("{total_frames} frame{} in flight", if total_frames == 1 { "" } else { "s" }) }
                if more > 0 { { format!(" ({more} not drawn)") } }
                if hidden_labels > 0 {
                    { format!(" · {hidden_labels} latency label{} left out for room (a link's tooltip gives it; a server's menu → Link latency… edits it)", if hidden_labels == 1 { "" } else { "s" }) }
                }
                if reduced_motion { { " · reduced motion: frames are counted per link instead of moving" } }
            </figcaption>
        </figure>
    }
}

/// JetStream roles to show on servers: the meta leader of each cluster and
/// the leader of each stream (from the core's read-only JetStream view).
pub struct JsRoles {
    meta: Vec<Endpoint>,
    /// (stream, leader)
    streams: Vec<(String, Endpoint)>,
}

impl JsRoles {
    pub fn of(world: &World) -> JsRoles {
        let mut meta = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        for (i, s) in world.servers.iter().enumerate() {
            if s.config.jetstream && !seen.contains(&s.config.cluster.as_str()) {
                seen.push(&s.config.cluster);
                if let Some(l) = world.meta_leader(i as Endpoint) {
                    meta.push(l);
                }
            }
        }
        let streams =
            world.stream_names().into_iter().filter_map(|n| world.stream_leader(&n).map(|l| (n, l))).collect();
        JsRoles { meta, streams }
    }

    pub fn is_meta_leader(&self, server: usize) -> bool {
        self.meta.contains(&(server as Endpoint))
    }

    pub fn streams_led(&self, server: usize) -> Vec<&str> {
        self.streams.iter().filter(|(_, l)| *l as usize == server).map(|(n, _)| n.as_str()).collect()
    }

    /// `meta leader · leads ORDERS, EVENTS`, or None.
    pub fn describe(&self, server: usize) -> Option<String> {
        let mut parts = Vec::new();
        if self.is_meta_leader(server) {
            parts.push("meta leader".to_string());
        }
        let led = self.streams_led(server);
        if !led.is_empty() {
            parts.push(format!("leads {}", led.join(", ")));
        }
        (!parts.is_empty()).then(|| text::display(&parts.join(" · ")))
    }
}

/// One sentence for the SVG's description.
pub fn view_summary(world: &World) -> String {
    let servers: Vec<String> =
        world.servers.iter().map(|s| format!("{} {}", s.config.name, liveness_name(s.liveness))).collect();
    let connected = world.clients.iter().filter(|c| c.node.is_connected()).count();
    let n = world.servers.len();
    let mut down = 0;
    for a in 0..n {
        for b in (a + 1)..n {
            if world.servers[a].config.cluster == world.servers[b].config.cluster
                && route_state(world, a as Endpoint, b as Endpoint) != RouteState::Up
            {
                down += 1;
            }
        }
    }
    text::display(&format!(
        "{} servers: {}. {} of {} clients connected. {} route{} not up.",
        n,
        servers.join(", "),
        connected,
        world.clients.len(),
        down,
        if down == 1 { " is" } else { "s are" },
    ))
}

/// The drawing of an open causal trace: (hop lines and server rings, hop
/// labels), drawn under and over the servers respectively.
fn causal_overlay(world: &World, layout: &Layout, pills: &[Pill], p: &AckPath) -> (Html, Html) {
    let ns = world.servers.len();
    let pos = |ep: Endpoint| endpoint_pos(layout, pills, ns, ep);
    // Servers in order of first appearance along the path.
    let mut servers: Vec<Endpoint> = Vec::new();
    for h in &p.hops {
        for ep in [h.from_ep, h.to_ep] {
            if (ep as usize) < ns && !servers.contains(&ep) {
                servers.push(ep);
            }
        }
    }
    let names = |eps: &[Endpoint]| eps.iter().map(|&e| world.name(e).to_string()).collect::<Vec<_>>().join(",");
    let mut lines: Vec<Html> = Vec::new();
    let mut labels: Vec<Html> = Vec::new();
    let mut per_link: Vec<((Endpoint, Endpoint), Vec<String>)> = Vec::new();
    for (k, h) in p.hops.iter().enumerate() {
        let (Some(a), Some(b)) = (pos(h.from_ep), pos(h.to_ep)) else { continue };
        let (dx, dy) = (b.x - a.x, b.y - a.y);
        let len = (dx * dx + dy * dy).sqrt().max(1e-6);
        // Right of the direction of travel, so both directions show.
        let (nx, ny) = (-dy / len, dx / len);
        // Stop short of the endpoints' shapes so the arrowhead shows.
        let trim = |ep: Endpoint| if (ep as usize) < ns { SERVER_R + 4.0 } else { PILL_H / 2.0 + 2.0 };
        let (ta, tb) = (trim(h.from_ep).min(len / 3.0), trim(h.to_ep).min(len / 3.0));
        let a2 = Pt::new(a.x + dx / len * ta + nx * 4.0, a.y + dy / len * ta + ny * 4.0);
        let b2 = Pt::new(b.x - dx / len * tb + nx * 4.0, b.y - dy / len * tb + ny * 4.0);
        let lat = fmt_duration(h.arrived.saturating_sub(h.sent));
        let what = h.what.replace(' ', "-");
        lines.push(html! {
            <line key={format!("ch{k}")} class={classes!("causal-hop", format!("hop-{what}"))}
                data-hop={h.what} data-from={world.name(h.from_ep).to_string()} data-to={world.name(h.to_ep).to_string()}
                data-latency={lat.clone()} marker-end="url(#cv-arrow)"
                x1={num(a2.x)} y1={num(a2.y)} x2={num(b2.x)} y2={num(b2.y)} />
        });
        let key = (h.from_ep.min(h.to_ep), h.from_ep.max(h.to_ep));
        match per_link.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(format!("{} {lat}", h.what)),
            None => per_link.push((key, vec![format!("{} {lat}", h.what)])),
        }
    }
    // One block of labels per link (a link carries up to four hops: route,
    // append, append ack, PubAck route), beside the link's middle, on the
    // side away from its cluster's centre, far enough not to cover it.
    for ((lo, hi), texts) in &per_link {
        let (Some(a), Some(b)) = (pos(*lo), pos(*hi)) else { continue };
        let (dx, dy) = (b.x - a.x, b.y - a.y);
        let len = (dx * dx + dy * dy).sqrt().max(1e-6);
        let (mut nx, mut ny) = (-dy / len, dx / len);
        let mid = Pt::lerp(a, b, 0.5);
        let centre = [*lo, *hi]
            .iter()
            .find(|e| (**e as usize) < ns)
            .and_then(|e| layout.cluster_of(*e as usize))
            .and_then(|c| layout.clusters.get(c))
            .map(|c| c.center);
        if let Some(c) = centre {
            if (mid.x - c.x) * nx + (mid.y - c.y) * ny < 0.0 {
                (nx, ny) = (-nx, -ny);
            }
        }
        let chars = texts.iter().map(|t| t.chars().count()).max().unwrap_or(0) as f64;
        let (w, h) = (chars * 6.6, texts.len() as f64 * 13.0);
        let d = w / 2.0 * nx.abs() + h / 2.0 * ny.abs() + 8.0;
        let at = Pt::new(mid.x + nx * d, mid.y + ny * d - h / 2.0 + 6.5);
        labels.push(html! {
            <text key={format!("cl{lo}-{hi}")} class="causal-block halo" text-anchor="middle" dominant-baseline="middle">
                { for texts.iter().enumerate().map(|(k, t)| html! {
                    <tspan class="causal-label" x={num(at.x)} y={num(at.y + 13.0 * k as f64)}>{ t.clone() }</tspan>
                }) }
            </text>
        });
    }
    // Leader / quorum tags under the servers, over the hop lines.
    for &ep in &servers {
        let Some(c) = pos(ep) else { continue };
        let tag = if p.leader_ep == Some(ep) {
            "leader"
        } else if p.quorum_eps.contains(&ep) {
            "quorum"
        } else {
            continue;
        };
        labels.push(html! {
            <text key={format!("ct{ep}")} class="causal-tag halo" data-server={world.name(ep).to_string()}
                x={num(c.x)} y={num(c.y + SERVER_R + 18.0)} text-anchor="middle">{ tag }</text>
        });
    }
    let rings = servers.iter().filter_map(|&ep| {
        let c = pos(ep)?;
        let leader = p.leader_ep == Some(ep);
        let quorum = p.quorum_eps.contains(&ep);
        Some(html! {
            <g key={format!("cr{ep}")} class={classes!("causal-ring", leader.then_some("leader"), quorum.then_some("quorum"))}
                data-server={world.name(ep).to_string()}>
                <circle cx={num(c.x)} cy={num(c.y)} r={num(SERVER_R + 7.0)} />
            </g>
        })
    });
    let client = p.hops.first().map(|h| h.from_ep).filter(|&e| (e as usize) >= ns);
    let client_ring = client.and_then(|ep| {
        let pill = pills.get(ep as usize - ns)?;
        Some(html! {
            <rect class="causal-client" x={num(pill.center.x - pill.w / 2.0 - 4.0)} y={num(pill.center.y - pill.h / 2.0 - 4.0)}
                width={num(pill.w + 8.0)} height={num(pill.h + 8.0)} rx="13" />
        })
    });
    let under = html! {
        <g class="causal-path-overlay" id="causal-overlay" aria-hidden="true"
            data-trace-seq={p.trace_seq.to_string()} data-servers={names(&servers)}
            data-quorum={names(&p.quorum_eps)} data-leader={p.leader_ep.map(|e| world.name(e).to_string()).unwrap_or_default()}
            data-hops={p.hops.len().to_string()}>
            <defs>
                <marker id="cv-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="11" markerHeight="11" orient="auto">
                    <path class="causal-arrow" d="M 0 0 L 10 5 L 0 10 z" />
                </marker>
            </defs>
            { for rings }
            { for client_ring }
            { for lines }
        </g>
    };
    let over = html! { <g class="causal-labels" aria-hidden="true">{ for labels }</g> };
    (under, over)
}
