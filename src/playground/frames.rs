//! Frames in flight, drawn over the cluster drawing as a few SVG paths.
//!
//! The rest of the drawing is SVG (servers, links, labels: things a person
//! clicks, focuses and reads), rebuilt only when what it shows changes. The
//! 200–300 frames in flight move every animation frame: as one element each
//! they cost attribute writes, style invalidation and paint per element per
//! frame; on a `<canvas>` the bitmap was copied at every commit (3.8 ms a
//! frame in software-composited Chromium; README "Benchmarks" → "Frame
//! time"). Here [`plan`] says what to draw (pure, tested natively) and
//! [`paint`] writes one `<path>` per colour and shape (a dozen at most) into
//! an overlay `<svg>` with the drawing's viewBox, in its own compositor
//! layer. The paths carry the frame classes (`frame k-publish`, ...), so
//! the theme's colours apply as they did.
//!
//! A frame travels from the edge of the server or client it leaves to the
//! edge of the one it enters (the SVG drew it from centre to centre, under
//! the nodes: a frame just sent was hidden, now it shows when stepping).
//! The overlay says what it drew for tests and tools: `data-drawn` (count)
//! and `data-details` (the Raft and PubAck details seen). Hovering a frame shows what it is (kind,
//! route, subject) in a small tip; frames are decorative for screen readers
//! (the log, the lens and the caption say the same in text).

use jetsim_core::sim::{InFlight, World};
use jetsim_core::trace::Endpoint;

use super::layout::{Layout, Pill, Pt, SERVER_R};
use super::lens::{self, Detail};
use super::view::{frame_look, Shape, MAX_FRAMES_DRAWN};
use crate::text;

/// One frame to draw.
#[derive(Clone, Debug, PartialEq)]
pub struct Mark {
    pub id: u64,
    pub at: Pt,
    /// Colour class (`k-publish`, ...): the CSS variable `--<class>`.
    pub class: &'static str,
    pub shape: Shape,
    /// The lens detail (`append`, `heartbeat`, `ack`, `puback`, ...).
    pub detail: Option<&'static str>,
}

/// Where a frame's endpoint is drawn: a server's centre or a client's pill.
enum Node {
    Server(Pt),
    Client(Pill),
}

fn node(layout: &Layout, pills: &[Pill], n_servers: usize, ep: Endpoint) -> Option<Node> {
    let i = ep as usize;
    if i < n_servers {
        layout.servers.get(i).copied().map(Node::Server)
    } else {
        pills.get(i - n_servers).copied().map(Node::Client)
    }
}

impl Node {
    fn center(&self) -> Pt {
        match self {
            Node::Server(p) => *p,
            Node::Client(p) => p.center,
        }
    }
    /// How far from its centre, along the unit direction (ux, uy), a line
    /// leaves this node's shape.
    fn reach(&self, ux: f64, uy: f64) -> f64 {
        match self {
            Node::Server(_) => SERVER_R,
            Node::Client(p) => {
                let tx = if ux.abs() > 1e-9 { p.w / 2.0 / ux.abs() } else { f64::INFINITY };
                let ty = if uy.abs() > 1e-9 { p.h / 2.0 / uy.abs() } else { f64::INFINITY };
                tx.min(ty)
            }
        }
    }
    /// Whether a point is inside this node's shape.
    #[cfg(test)]
    fn covers(&self, p: Pt) -> bool {
        match self {
            Node::Server(c) => (p.x - c.x).hypot(p.y - c.y) < SERVER_R - 1e-6,
            Node::Client(pill) => {
                (p.x - pill.center.x).abs() < pill.w / 2.0 - 1e-6 && (p.y - pill.center.y).abs() < pill.h / 2.0 - 1e-6
            }
        }
    }
}

/// Where a frame is now: it travels from the edge of the node it left to
/// the edge of the node it goes to (never hidden inside one, so a frame
/// just sent shows when stepping), shifted to the right of its direction of
/// travel so the two directions of a link do not overlap.
fn frame_pos(now: u64, f: &InFlight, a: &Node, b: &Node) -> Pt {
    let span = f.arrives_at.saturating_sub(f.sent_at);
    let t = if span == 0 { 1.0 } else { (now.saturating_sub(f.sent_at) as f64 / span as f64).clamp(0.0, 1.0) };
    let (ca, cb) = (a.center(), b.center());
    let (dx, dy) = (cb.x - ca.x, cb.y - ca.y);
    let len = (dx * dx + dy * dy).sqrt();
    if len < 1e-6 {
        return ca;
    }
    let (ux, uy) = (dx / len, dy / len);
    let (ra, rb) = (a.reach(ux, uy), b.reach(ux, uy));
    let (from, to) = if ra + rb < len {
        (Pt::new(ca.x + ux * ra, ca.y + uy * ra), Pt::new(cb.x - ux * rb, cb.y - uy * rb))
    } else {
        let mid = Pt::lerp(ca, cb, 0.5);
        (mid, mid)
    };
    let p = Pt::lerp(from, to, t);
    Pt::new(p.x - uy * 5.0, p.y + ux * 5.0)
}

/// The frames to draw now: the first [`MAX_FRAMES_DRAWN`] in flight.
pub fn plan(world: &World, layout: &Layout, pills: &[Pill]) -> Vec<Mark> {
    let ns = world.servers.len();
    let now = world.now();
    let details = lens::frame_details(world);
    let mut out = Vec::new();
    for f in world.in_flight().take(MAX_FRAMES_DRAWN) {
        let (Some(a), Some(b)) = (node(layout, pills, ns, f.from), node(layout, pills, ns, f.to)) else {
            continue;
        };
        let at = frame_pos(now, f, &a, &b);
        let detail = lens::detail(&details, f.id);
        let (class, shape) = frame_look(f.label.kind, detail);
        out.push(Mark {
            id: f.id,
            at,
            class,
            shape,
            detail: detail.map(|d| match d {
                Detail::Raft(r) => r.name(),
                Detail::PubAck { .. } => "puback",
            }),
        });
    }
    out
}

/// What a frame is, for its tip: "publish c1 → n1: orders.new".
pub fn describe(world: &World, id: u64) -> Option<String> {
    let f = world.in_flight().find(|f| f.id == id)?;
    let details = lens::frame_details(world);
    let k = f.label.kind;
    let kind = match lens::detail(&details, id) {
        Some(Detail::Raft(r)) => format!("{} ({})", k.name(), r.name()),
        Some(Detail::PubAck { stream, seq }) => format!("{} (PubAck {} seq {seq})", k.name(), text::short(stream, 32)),
        None => k.name().to_string(),
    };
    let route = format!("{} → {}", world.name(f.from), world.name(f.to));
    Some(match &f.label.subject {
        Some(s) => format!("{kind} {route}: {}", text::short(s, 80)),
        None => format!("{kind} {route}"),
    })
}

/// The mark nearest to `p` (drawing units) within `reach`.
pub fn nearest(marks: &[Mark], p: Pt, reach: f64) -> Option<&Mark> {
    marks
        .iter()
        .map(|m| ((m.at.x - p.x).hypot(m.at.y - p.y), m))
        .filter(|(d, _)| *d <= reach)
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, m)| m)
}

/// The distinct details drawn, sorted, space-separated (`data-details`).
pub fn details_attr(marks: &[Mark]) -> String {
    let mut seen: Vec<&str> = marks.iter().filter_map(|m| m.detail).collect();
    jetsim_core::sort::sort(&mut seen);
    seen.dedup();
    seen.join(" ")
}

/// The order marks are painted in: grouped by colour and shape, so each
/// group is one path, one fill and one stroke.
pub fn groups(marks: &[Mark]) -> Vec<(&'static str, Shape, Vec<Pt>)> {
    let mut out: Vec<(&'static str, Shape, Vec<Pt>)> = Vec::new();
    for m in marks {
        match out.iter_mut().find(|(c, s, _)| *c == m.class && *s == m.shape) {
            Some(g) => g.2.push(m.at),
            None => out.push((m.class, m.shape, vec![m.at])),
        }
    }
    out
}

/// `v` in tenths, as SVG path text ("12.3", "-4", "0.5").
fn push_num(out: &mut String, v: f64) {
    let t = (v * 10.0).round();
    let t = if t.is_finite() { t.clamp(-1e12, 1e12) as i64 } else { 0 };
    if t < 0 {
        out.push('-');
    }
    let a = t.unsigned_abs();
    let mut digits = [0u8; 20];
    let mut n = 0;
    let mut whole = a / 10;
    loop {
        digits[n] = b'0' + (whole % 10) as u8;
        n += 1;
        whole /= 10;
        if whole == 0 {
            break;
        }
    }
    for d in digits[..n].iter().rev() {
        out.push(*d as char);
    }
    if a % 10 != 0 {
        out.push('.');
        out.push((b'0' + (a % 10) as u8) as char);
    }
}

/// One path's `d` for all the marks of one shape (drawing units): a dot is
/// a circle of radius 6, a small dot 3.5, a ring 5, a square 11 wide, a
/// diamond a 9-wide square turned 45°.
pub fn path_d(shape: Shape, pts: &[Pt]) -> String {
    let mut d = String::with_capacity(pts.len() * 40);
    for p in pts {
        let circle = |d: &mut String, r: f64| {
            d.push('M');
            push_num(d, p.x - r);
            d.push(' ');
            push_num(d, p.y);
            for sweep in [2.0 * r, -2.0 * r] {
                d.push('a');
                push_num(d, r);
                d.push(' ');
                push_num(d, r);
                d.push_str(" 0 1 0 ");
                push_num(d, sweep);
                d.push_str(" 0");
            }
        };
        match shape {
            Shape::Dot => circle(&mut d, 6.0),
            Shape::SmallDot => circle(&mut d, 3.5),
            Shape::Ring => circle(&mut d, 5.0),
            Shape::Square => {
                d.push('M');
                push_num(&mut d, p.x - 5.5);
                d.push(' ');
                push_num(&mut d, p.y - 5.5);
                d.push_str("h11v11h-11z");
            }
            Shape::Diamond => {
                d.push('M');
                push_num(&mut d, p.x);
                d.push(' ');
                push_num(&mut d, p.y - 6.4);
                d.push_str("l6.4 6.4l-6.4 6.4l-6.4-6.4z");
            }
        }
    }
    d
}

#[cfg(target_arch = "wasm32")]
pub use web::{hover, paint};

#[cfg(target_arch = "wasm32")]
mod web {
    use std::cell::RefCell;

    use jetsim_core::sim::World;
    use web_sys::{Element, HtmlElement};
    use yew::NodeRef;

    use super::{describe, details_attr, groups, nearest, path_d, plan, Mark};
    use crate::playground::canvas::{px_to_user, svg_size};
    use crate::playground::layout::Layout;
    use crate::playground::view::{client_specs, Shape};

    /// How far from a frame (drawing units) the pointer still names it.
    const REACH: f64 = 9.0;
    const SVG_NS: &str = "http://www.w3.org/2000/svg";

    #[derive(Default)]
    struct Painter {
        /// The overlay `<svg>` the paths are in (a new one resets the pool).
        overlay: Option<Element>,
        /// One `<path>` per colour class and shape, and its last `d`.
        paths: Vec<(&'static str, Shape, Element, bool)>,
        /// The last painted marks and the viewBox (for the tip).
        marks: Vec<Mark>,
        view_box: (f64, f64, f64, f64),
        /// The pointer over the drawing (px from its top left), if any.
        hover: Option<(f64, f64)>,
        tip_text: String,
        drawn_attr: (usize, String),
    }

    thread_local! {
        static PAINTER: RefCell<Painter> = RefCell::new(Painter::default());
    }

    impl Painter {
        fn path(&mut self, overlay: &Element, class: &'static str, shape: Shape) -> Option<usize> {
            if let Some(i) = self.paths.iter().position(|(c, s, _, _)| *c == class && *s == shape) {
                return Some(i);
            }
            let doc = web_sys::window()?.document()?;
            let el = doc.create_element_ns(Some(SVG_NS), "path").ok()?;
            let ring = if shape == Shape::Ring { "ring " } else { "" };
            let _ = el.set_attribute("class", &format!("frame {ring}{class}"));
            overlay.append_child(&el).ok()?;
            self.paths.push((class, shape, el, false));
            Some(self.paths.len() - 1)
        }
    }

    /// Draw the frames in flight into the overlay `<svg>` (`overlay`). With
    /// `reduced_motion` nothing moves: the paths are emptied (the drawing
    /// counts frames per link instead).
    pub fn paint(
        overlay: &NodeRef,
        tip: &NodeRef,
        svg: &NodeRef,
        world: &World,
        layout: &Layout,
        reduced_motion: bool,
    ) {
        let Some(el) = overlay.cast::<Element>() else { return };
        let pills = layout.place_clients(&client_specs(world));
        let marks = if reduced_motion { Vec::new() } else { plan(world, layout, &pills) };
        PAINTER.with(|p| {
            let mut p = p.borrow_mut();
            if p.overlay.as_ref() != Some(&el) {
                p.overlay = Some(el.clone());
                p.paths.clear();
                p.drawn_attr = (usize::MAX, String::new());
            }
            p.view_box = layout.view_box(&pills);
            for entry in p.paths.iter_mut() {
                entry.3 = false;
            }
            for (class, shape, pts) in groups(&marks) {
                if let Some(i) = p.path(&el, class, shape) {
                    let _ = p.paths[i].2.set_attribute("d", &path_d(shape, &pts));
                    p.paths[i].3 = true;
                }
            }
            for (_, _, path, used) in p.paths.iter() {
                if !used {
                    let _ = path.set_attribute("d", "");
                }
            }
            let attr = (marks.len(), details_attr(&marks));
            if attr != p.drawn_attr {
                let _ = el.set_attribute("data-drawn", &attr.0.to_string());
                let _ = el.set_attribute("data-details", &attr.1);
                p.drawn_attr = attr;
            }
            p.marks = marks;
            if p.hover.is_some() || !p.tip_text.is_empty() {
                update_tip(&mut p, tip, svg, world);
            }
        });
    }

    /// The pointer moved over the drawing (px from its top left) or left it.
    pub fn hover(tip: &NodeRef, svg: &NodeRef, world: &World, at: Option<(f64, f64)>) {
        PAINTER.with(|p| {
            let mut p = p.borrow_mut();
            p.hover = at;
            update_tip(&mut p, tip, svg, world);
        });
    }

    /// Name the frame under the pointer, if any (reads the drawing's size:
    /// only while the pointer is over it).
    fn update_tip(p: &mut Painter, tip: &NodeRef, svg: &NodeRef, world: &World) {
        let Some(el) = tip.cast::<HtmlElement>() else { return };
        let found = p.hover.and_then(|(x, y)| {
            let (w, h) = svg_size(svg);
            if w <= 0.0 || h <= 0.0 {
                return None;
            }
            let user = px_to_user(x, y, w, h, p.view_box);
            nearest(&p.marks, user, REACH).map(|m| (m.id, x, y))
        });
        let text = found.and_then(|(id, _, _)| describe(world, id)).unwrap_or_default();
        if text != p.tip_text {
            el.set_text_content(Some(&text));
            p.tip_text = text;
        }
        if let Some((_, x, y)) = found {
            let style = el.style();
            let _ = style.set_property("left", &format!("{}px", (x + 14.0).round()));
            let _ = style.set_property("top", &format!("{}px", (y + 14.0).round()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jetsim_core::scenario;
    use jetsim_core::sim::World;

    use crate::examples;
    use crate::playground::view::{client_specs, server_specs};

    fn world(id: &str) -> World {
        let e = examples::find(id).expect("example");
        World::new(scenario::parse(e.text).expect("parses"), 1).expect("builds")
    }

    const R3: &str = "r3-publish";

    fn run_until_frames(w: &mut World) {
        for _ in 0..100_000 {
            if w.in_flight().count() > 2 {
                return;
            }
            if w.step().is_none() {
                break;
            }
        }
    }

    #[test]
    fn every_frame_is_drawn_never_inside_its_endpoints() {
        let mut w = world(R3);
        let layout = Layout::new(&server_specs(&w), &client_specs(&w));
        let mut drawn = 0;
        for _ in 0..4000 {
            if w.step().is_none() {
                break;
            }
            let pills = layout.place_clients(&client_specs(&w));
            let marks = plan(&w, &layout, &pills);
            let ns = w.servers.len();
            for m in &marks {
                let f = w.in_flight().find(|f| f.id == m.id).expect("a mark is a frame in flight");
                for ep in [f.from, f.to] {
                    let n = node(&layout, &pills, ns, ep).expect("endpoint drawn");
                    assert!(!n.covers(m.at), "frame {} drawn inside {}", m.id, w.name(ep));
                }
            }
            assert_eq!(marks.len(), w.in_flight().count().min(MAX_FRAMES_DRAWN), "every frame is drawn");
            drawn += marks.len();
        }
        assert!(drawn > 0, "frames were drawn");
    }

    #[test]
    fn a_frame_halfway_is_drawn_with_its_look_and_detail() {
        let mut w = world(R3);
        run_until_frames(&mut w);
        let layout = Layout::new(&server_specs(&w), &client_specs(&w));
        let pills = layout.place_clients(&client_specs(&w));
        // Advance the clock to the middle of the first frame's trip.
        let f = w.in_flight().next().cloned().expect("a frame in flight");
        let mid = f.sent_at + (f.arrives_at - f.sent_at) / 2;
        while w.next_event_time().is_some_and(|t| t < mid) {
            w.step();
        }
        w.run_until(mid);
        assert!(w.in_flight().any(|g| g.id == f.id), "still in flight halfway");
        {
            let marks = plan(&w, &layout, &pills);
            let m = marks.iter().find(|m| m.id == f.id).expect("a frame halfway is drawn");
            let details = lens::frame_details(&w);
            let (class, shape) = frame_look(f.label.kind, lens::detail(&details, f.id));
            assert_eq!((m.class, m.shape), (class, shape));
            let text = describe(&w, f.id).expect("described");
            assert!(text.contains(" → "), "{text}");
            assert!(text.starts_with(f.label.kind.name()), "{text}");
        }
    }

    #[test]
    fn nearest_and_groups_and_details() {
        let m = |id, x, class, shape, detail| Mark { id, at: Pt::new(x, 0.0), class, shape, detail };
        let marks = vec![
            m(1, 0.0, "k-publish", Shape::Dot, None),
            m(2, 10.0, "k-raft-append", Shape::Dot, Some("append")),
            m(3, 20.0, "k-publish", Shape::Dot, None),
            m(4, 30.0, "k-raft-append", Shape::Ring, Some("ack")),
            m(5, 40.0, "k-raft-append", Shape::Dot, Some("append")),
        ];
        assert_eq!(nearest(&marks, Pt::new(12.0, 1.0), 9.0).map(|m| m.id), Some(2));
        assert_eq!(nearest(&marks, Pt::new(100.0, 0.0), 9.0), None);
        let g = groups(&marks);
        assert_eq!(g.len(), 3);
        assert_eq!(g[0].2.len(), 2);
        assert_eq!(g[1].2.len(), 2);
        assert_eq!((g[2].0, g[2].1), ("k-raft-append", Shape::Ring));
        assert_eq!(details_attr(&marks), "ack append");
    }

    #[test]
    fn paths_in_tenths() {
        let mut s = String::new();
        for v in [0.0, 12.34, -4.0, 0.05, -0.04, 1234.56, f64::NAN] {
            push_num(&mut s, v);
            s.push(' ');
        }
        assert_eq!(s, "0 12.3 -4 0.1 0 1234.6 0 ");
        assert_eq!(path_d(Shape::Square, &[Pt::new(10.0, 20.0)]), "M4.5 14.5h11v11h-11z");
        assert_eq!(path_d(Shape::Dot, &[Pt::new(10.0, 20.0)]), "M4 20a6 6 0 1 0 12 0a6 6 0 1 0 -12 0");
        assert_eq!(
            path_d(Shape::Diamond, &[Pt::new(1.0, 1.0), Pt::new(2.0, 2.0)]),
            "M1 -5.4l6.4 6.4l-6.4 6.4l-6.4-6.4zM2 -4.4l6.4 6.4l-6.4 6.4l-6.4-6.4z"
        );
    }
}
