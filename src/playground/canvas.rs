//! Faults from the cluster drawing (issue #5): a server's fault menu, cutting
//! and healing a link by dragging from one server to another, isolating a
//! server by dragging it out of its ring, editing a link's latency from its
//! label, and one-click "split this AZ / region from the rest" buttons.
//!
//! Every action here ends as a [`Msg::Fault`], the exact path the faults
//! panel's buttons take, so it is a recorded input of the session (time
//! travel, fork and the URL keep it). Nothing here changes the simulation by
//! itself. What the drawing shows is in `view.rs`; the menu and the latency
//! editor are HTML over the drawing, rendered here.

use jetsim_core::link::Latency;
use jetsim_core::scenario::{Fault, LatencySpec, Selector};
use jetsim_core::sim::{Liveness, World};
use jetsim_core::time::{Dur, MS};
use jetsim_core::trace::Endpoint;
use yew::prelude::*;

use super::layout::{Layout, Pt, BAND, SERVER_R};
use super::{view, Msg, Playground, Status};
use crate::text;

/// Largest latency the editor accepts, in ms (the scenario format's limit: 24 h).
pub const MAX_LATENCY_MS: f64 = 86_400_000.0;
/// Items in a server's menu at most (a big cluster lists the first links).
const MENU_MAX: usize = 16;
/// Released this close (in drawing units) to another server's centre, a drag
/// means that server.
const DROP_REACH: f64 = SERVER_R + 10.0;

pub enum CanvasMsg {
    /// Open the fault menu of this server (click, Enter or Space).
    OpenMenu(usize),
    /// Close the menu; `refocus`: give focus back to its server.
    CloseMenu {
        refocus: bool,
    },
    /// A key pressed in the menu (arrows, Home, End, Escape, Tab).
    MenuKey(String),
    /// A menu item: the fault to apply (then the menu closes).
    MenuFault(Fault),
    /// A pointer went down on this server (a drag may follow).
    DragStart(usize),
    /// The pointer moved / was released, in px from the drawing's top left.
    DragMove(f64, f64),
    DragEnd(f64, f64),
    DragCancel,
    /// Open the latency editor of the route between two servers (from its
    /// label: focus returns there).
    EditLatency(usize, usize),
    /// The same from server `.0`'s menu (focus returns to the server).
    MenuLatency(usize, usize),
    /// The editor's peer picker: edit the route to this server instead.
    LatencyPeer(usize),
    LatencyDraft(String),
    JitterDraft(String),
    LatencyApply,
    LatencyCancel,
}

struct Menu {
    server: usize,
    /// Index (in [`menu_items`]) of the item that has focus.
    focus: usize,
}

struct Drag {
    from: usize,
    /// Where the pointer is, in drawing units (None until it moves).
    at: Option<Pt>,
}

struct Edit {
    a: usize,
    b: usize,
    draft: String,
    /// ± jitter in ms (0: a fixed latency).
    jitter: String,
    /// What the link has now if the editor cannot show it (a Pareto tail).
    note: Option<String>,
    error: Option<String>,
    /// Opened from the server's menu (else from the link's label).
    from_menu: bool,
}

impl Edit {
    fn new(w: &World, a: usize, b: usize, from_menu: bool) -> Edit {
        let (draft, jitter, note) = latency_draft(w.latency(a as Endpoint, b as Endpoint));
        Edit { a, b, draft, jitter, note, error: None, from_menu }
    }

    /// Where focus goes when the editor closes.
    fn back(&self) -> String {
        if self.from_menu {
            server_id(self.a)
        } else {
            label_id(self.a.min(self.b), self.a.max(self.b))
        }
    }
}

/// The editor's fields for a link's latency model: the typical latency, ±
/// jitter (`uniform(lo,hi)` is the middle ± half the spread, what the
/// scenario's `latency=X jitter=Y` writes), and a note when the model is one
/// the fields cannot show (Pareto: Apply replaces it).
pub fn latency_draft(l: &Latency) -> (String, String, Option<String>) {
    match *l {
        Latency::Fixed(d) => (fmt_ms(d), "0".into(), None),
        Latency::Uniform { lo, hi } => (fmt_ms(lo + (hi - lo) / 2), fmt_ms((hi - lo) / 2), None),
        Latency::Pareto { .. } => {
            let note = format!("Now long-tailed ({}); Apply replaces it with latency ± jitter.", l.describe());
            (fmt_ms(l.typical()), "0".into(), Some(note))
        }
    }
}

/// The editor's two fields → the link model (`jitter` 0: fixed; else uniform
/// from latency − jitter, floored at 0, to latency + jitter, like the
/// scenario format's `jitter=`).
pub fn latency_spec(draft: &str, jitter: &str) -> Result<LatencySpec, String> {
    let d = parse_ms(draft)?;
    let j = parse_ms(jitter).map_err(|e| e.replacen("Latency:", "Jitter:", 1))?;
    LatencySpec::with_jitter(d, j, (MAX_LATENCY_MS as Dur) * MS)
        .ok_or_else(|| format!("Jitter: latency plus jitter must stay within {MAX_LATENCY_MS} ms."))
}

/// The drawing's interaction state (menu, drag, latency editor).
#[derive(Default)]
pub struct CanvasState {
    /// The cluster drawing's `<svg>`.
    pub svg: NodeRef,
    menu: Option<Menu>,
    drag: Option<Drag>,
    edit: Option<Edit>,
    /// A non-passive `touchstart` listener on the `<svg>` (see [`CanvasState::guard_touch`]).
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    touch_guard: Option<(web_sys::Element, gloo::events::EventListener)>,
}

impl CanvasState {
    /// A touch that starts on a server is a drag (or a tap), not a page
    /// scroll: SVG elements ignore CSS `touch-action`, so without this the
    /// browser takes the gesture over and cancels the pointer. Touches
    /// elsewhere on the drawing still scroll the page. Called after each
    /// render; installs the listener once per `<svg>` element.
    pub fn guard_touch(&mut self) {
        #[cfg(target_arch = "wasm32")]
        {
            use wasm_bindgen::JsCast;
            let Some(el) = self.svg.cast::<web_sys::Element>() else { return };
            if self.touch_guard.as_ref().is_some_and(|(e, _)| *e == el) {
                return;
            }
            let l = gloo::events::EventListener::new_with_options(
                &el,
                "touchstart",
                gloo::events::EventListenerOptions::enable_prevent_default(),
                |e| {
                    let on_server = e
                        .target()
                        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                        .and_then(|el| el.closest("g.server").ok().flatten())
                        .is_some();
                    if on_server {
                        e.prevent_default();
                    }
                },
            );
            self.touch_guard = Some((el, l));
        }
    }
}

/// What the cluster drawing needs from this module to draw its interactive
/// parts (see [`view::cluster_figure`]).
pub struct Interact<'a> {
    pub svg: NodeRef,
    pub send: Callback<CanvasMsg>,
    pub menu_server: Option<usize>,
    /// The dragged server and the pointer (drawing units).
    pub drag: Option<(usize, Option<Pt>)>,
    /// The causal path to highlight (an open causal trace).
    pub causal: Option<&'a super::causal::AckPath>,
    /// The menu and the latency editor (HTML over the drawing).
    pub overlay: Html,
    /// The overlay `<svg>` the frames in flight are drawn in, and their tip
    /// (frames.rs); the pointer over the drawing in px, or None when it left.
    pub frames: NodeRef,
    pub tip: NodeRef,
    pub hover: Callback<Option<(f64, f64)>>,
}

/// One entry of a server's fault menu.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub label: String,
    /// Element id suffix (`cv-menu-<id>`).
    pub id: String,
    pub enabled: bool,
    pub act: Act,
}

/// What a menu item does.
#[derive(Clone, Debug, PartialEq)]
pub enum Act {
    Fault(Fault),
    /// Open the latency editor of the route from this server to server `.0`
    /// (the keyboard's way to every link, labelled or not).
    Latency(usize),
}

impl Item {
    /// The fault this item applies, if it is one.
    pub fn fault(&self) -> Option<&Fault> {
        match &self.act {
            Act::Fault(f) => Some(f),
            Act::Latency(_) => None,
        }
    }
}

/// Server `i`'s peers in its cluster (the routes the drawing has), in order.
pub fn peers(w: &World, i: usize) -> Vec<usize> {
    let Some(slot) = w.servers.get(i) else { return Vec::new() };
    (0..w.servers.len()).filter(|&j| j != i && w.servers[j].config.cluster == slot.config.cluster).collect()
}

/// The scenario's clients whose link with server `i` is cut (either way):
/// what `heal n1` leaves alone, so the menu offers them one by one.
pub fn cut_clients(w: &World, i: usize) -> Vec<Endpoint> {
    let (n, e) = (w.server_count(), i as Endpoint);
    (0..w.clients.len() as Endpoint).map(|k| n + k).filter(|&c| w.is_cut(c, e) || w.is_cut(e, c)).collect()
}

/// Is a route direction between server `i` and another server cut? (What
/// the menu's Heal, `heal n2`, heals: a lone selector pairs with every
/// server, not with clients.)
pub fn has_cut(w: &World, i: usize) -> bool {
    let n = w.servers.len();
    let e = i as Endpoint;
    (0..n).filter(|&j| j != i).any(|j| w.is_cut(e, j as Endpoint) || w.is_cut(j as Endpoint, e))
}

/// Is server `i` cut from every other server (both ways)?
fn isolated(w: &World, i: usize) -> bool {
    let n = w.servers.len();
    let e = i as Endpoint;
    n > 1 && (0..n).filter(|&j| j != i).all(|j| w.is_cut(e, j as Endpoint) && w.is_cut(j as Endpoint, e))
}

/// The fault menu of server `i`, each item enabled as the faults panel's
/// button of the same name (Heal: when a link of it is cut; Isolate: unless
/// it is down or already cut from every server).
pub fn menu_items(w: &World, i: usize) -> Vec<Item> {
    let Some(slot) = w.servers.get(i) else { return Vec::new() };
    let name = slot.config.name.clone();
    let l = slot.liveness;
    let (up, down, paused) = (l == Liveness::Up, l == Liveness::Down, l == Liveness::Paused);
    let item = |label: &str, id: &str, enabled: bool, fault: Fault| Item {
        label: label.into(),
        id: id.into(),
        enabled,
        act: Act::Fault(fault),
    };
    let mut items = vec![
        item("Kill", "kill", !down, Fault::Kill(name.clone())),
        item("Restart", "restart", down, Fault::Restart(name.clone())),
        item("Pause", "pause", up, Fault::Pause(name.clone())),
        item("Resume", "resume", paused, Fault::Resume(name.clone())),
    ];
    if slot.config.jetstream {
        items.push(item("Power loss", "power-loss", !down, Fault::PowerLoss(name.clone())));
    }
    items.push(item("Isolate", "isolate", !down && !isolated(w, i), Fault::Isolate(name.clone())));
    items.push(item("Heal", "heal", has_cut(w, i), Fault::Heal(Some((Selector::Node(name.clone()), Selector::Any)))));
    let peers = peers(w, i);
    if let Some(&first) = peers.first() {
        let label = "Link latency…".to_string();
        items.push(Item { label, id: "latency".into(), enabled: true, act: Act::Latency(first) });
    }
    // A client's cut link (`partition c1 n1`): Heal above heals routes only.
    for c in cut_clients(w, i) {
        if items.len() >= MENU_MAX {
            break;
        }
        let cn = w.name(c).to_string();
        let fault = Fault::Heal(Some((Selector::Node(name.clone()), Selector::Node(cn.clone()))));
        items.push(item(&format!("Heal link to {}", text::short(&cn, 16)), &format!("client-{c}"), true, fault));
    }
    // One link at a time (the keyboard's way to do what a drag does): cut the
    // route to each other server of the cluster, or heal it when cut.
    let e = i as Endpoint;
    for j in peers {
        if items.len() >= MENU_MAX {
            break;
        }
        let o = w.servers[j].config.name.clone();
        let f = j as Endpoint;
        let short = text::short(&o, 16);
        if w.is_cut(e, f) || w.is_cut(f, e) {
            let fault = Fault::Heal(Some((Selector::Node(name.clone()), Selector::Node(o))));
            items.push(item(&format!("Heal link to {short}"), &format!("link-{j}"), true, fault));
        } else {
            let fault = Fault::Partition(vec![vec![Selector::Node(name.clone())], vec![Selector::Node(o)]]);
            items.push(item(&format!("Cut link to {short}"), &format!("link-{j}"), true, fault));
        }
    }
    items
}

/// What releasing a drag from server `from` at `at` (drawing units) does.
#[derive(Clone, Debug, PartialEq)]
pub enum DropAction {
    /// Released on the server itself: it was a click (open the menu).
    Menu,
    /// Cut the route between the two servers (both ways).
    Cut(usize, usize),
    /// Heal the cut route between the two servers.
    Heal(usize, usize),
    /// Dragged out of its ring: cut it from every other server.
    Isolate(usize),
    /// Nothing; the reason.
    Cancel(&'static str),
}

fn dist(a: Pt, b: Pt) -> f64 {
    ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt()
}

/// Decide a drop: on another server of the same cluster, cut the route (or
/// heal it when `cut(a, b)` says it is cut in either direction); outside the
/// ring band of the server's cluster (or its box), isolate; else nothing.
pub fn drop_action(layout: &Layout, from: usize, at: Pt, cut: impl Fn(usize, usize) -> bool) -> DropAction {
    let Some(&p0) = layout.servers.get(from) else { return DropAction::Cancel("no such server") };
    if dist(at, p0) <= SERVER_R {
        return DropAction::Menu;
    }
    let target = (0..layout.servers.len())
        .filter(|&b| b != from && dist(at, layout.servers[b]) <= DROP_REACH)
        .min_by(|&x, &y| dist(at, layout.servers[x]).total_cmp(&dist(at, layout.servers[y])));
    if let Some(b) = target {
        if layout.cluster_of(b) != layout.cluster_of(from) {
            return DropAction::Cancel("servers of different clusters have no route between them");
        }
        return if cut(from, b) { DropAction::Heal(from, b) } else { DropAction::Cut(from, b) };
    }
    let Some(cl) = layout.cluster_of(from).and_then(|c| layout.clusters.get(c)) else {
        return DropAction::Cancel("no cluster");
    };
    let (x, y, w, h) = cl.rect;
    let outside_box = at.x < x || at.y < y || at.x > x + w || at.y > y + h;
    if outside_box || dist(at, cl.center) > cl.ring + BAND {
        DropAction::Isolate(from)
    } else {
        DropAction::Cancel("release on another server to cut or heal its link, or outside the ring to isolate")
    }
}

/// The fault a drop applies, and a sentence for the status line.
pub fn drop_fault(w: &World, d: &DropAction) -> Option<(Fault, String)> {
    let name = |i: usize| w.servers.get(i).map(|s| s.config.name.clone());
    match *d {
        DropAction::Cut(a, b) => {
            let (na, nb) = (name(a)?, name(b)?);
            let msg = format!(
                "Cut the route {} ↔ {} (partition {} | {}).",
                text::short(&na, 24),
                text::short(&nb, 24),
                text::short(&na, 24),
                text::short(&nb, 24)
            );
            Some((Fault::Partition(vec![vec![Selector::Node(na)], vec![Selector::Node(nb)]]), msg))
        }
        DropAction::Heal(a, b) => {
            let (na, nb) = (name(a)?, name(b)?);
            let msg = format!(
                "Healed the route {} ↔ {} (heal {} {}).",
                text::short(&na, 24),
                text::short(&nb, 24),
                text::short(&na, 24),
                text::short(&nb, 24)
            );
            Some((Fault::Heal(Some((Selector::Node(na), Selector::Node(nb)))), msg))
        }
        DropAction::Isolate(a) => {
            let na = name(a)?;
            let msg = format!(
                "Isolated {} from every other server (isolate {}).",
                text::short(&na, 24),
                text::short(&na, 24)
            );
            Some((Fault::Isolate(na), msg))
        }
        DropAction::Menu | DropAction::Cancel(_) => None,
    }
}

/// What the drag hint says while dragging.
pub fn drop_hint(w: &World, d: &DropAction) -> String {
    let name = |i: usize| w.servers.get(i).map_or("?".to_string(), |s| text::short(&s.config.name, 16));
    match d {
        DropAction::Menu => "drag to another server to cut its link, or out of the ring to isolate".into(),
        DropAction::Cut(a, b) => format!("release: cut {} ↔ {}", name(*a), name(*b)),
        DropAction::Heal(a, b) => format!("release: heal {} ↔ {}", name(*a), name(*b)),
        DropAction::Isolate(a) => format!("release: isolate {}", name(*a)),
        DropAction::Cancel(why) => format!("release: nothing ({why})"),
    }
}

/// A latency in ms as typed in the editor → nanoseconds. Accepts decimals
/// (down to 1 µs); refuses what is not a number from 0 to [`MAX_LATENCY_MS`].
pub fn parse_ms(s: &str) -> Result<Dur, String> {
    let t = s.trim();
    let bad =
        || format!("Latency: type a number of milliseconds from 0 to {MAX_LATENCY_MS} (got {:?}).", text::short(t, 20));
    if t.is_empty() || t.len() > 32 {
        return Err(bad());
    }
    let v: f64 = t.parse().map_err(|_| bad())?;
    if !v.is_finite() || !(0.0..=MAX_LATENCY_MS).contains(&v) {
        return Err(bad());
    }
    Ok((v * 1000.0).round() as Dur * (MS / 1000))
}

/// Nanoseconds as ms for the editor: `1`, `0.5`, `12.25`.
pub fn fmt_ms(ns: Dur) -> String {
    let whole = ns / MS;
    let frac = (ns % MS) / 1000; // µs
    if frac == 0 {
        whole.to_string()
    } else {
        format!("{whole}.{frac:03}").trim_end_matches('0').to_string()
    }
}

/// Drawing units ↔ px in the `<svg>` box (`preserveAspectRatio="xMidYMid meet"`).
pub fn px_to_user(px: f64, py: f64, box_w: f64, box_h: f64, vb: (f64, f64, f64, f64)) -> Pt {
    let scale = (box_w / vb.2).min(box_h / vb.3);
    if !(scale > 0.0 && scale.is_finite()) {
        return Pt::new(vb.0, vb.1);
    }
    let (ox, oy) = ((box_w - vb.2 * scale) / 2.0, (box_h - vb.3 * scale) / 2.0);
    Pt::new(vb.0 + (px - ox) / scale, vb.1 + (py - oy) / scale)
}

pub fn user_to_px(p: Pt, box_w: f64, box_h: f64, vb: (f64, f64, f64, f64)) -> (f64, f64, f64) {
    let scale = (box_w / vb.2).min(box_h / vb.3);
    if !(scale > 0.0 && scale.is_finite()) {
        return (0.0, 0.0, 1.0);
    }
    let (ox, oy) = ((box_w - vb.2 * scale) / 2.0, (box_h - vb.3 * scale) / 2.0);
    (ox + (p.x - vb.0) * scale, oy + (p.y - vb.1) * scale, scale)
}

/// The `<svg>`'s size in px (0 when not drawn).
pub(super) fn svg_size(svg: &NodeRef) -> (f64, f64) {
    #[cfg(target_arch = "wasm32")]
    {
        svg.cast::<web_sys::Element>().map_or((0.0, 0.0), |e| (e.client_width() as f64, e.client_height() as f64))
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = svg;
        (0.0, 0.0)
    }
}

/// A pointer event's position in px from the `<svg>`'s top left.
pub fn pointer_px(svg: &NodeRef, e: &PointerEvent) -> Option<(f64, f64)> {
    #[cfg(target_arch = "wasm32")]
    {
        use wasm_bindgen::JsCast;
        let el = svg.cast::<web_sys::Element>()?;
        let f = js_sys::Reflect::get(&el, &"getBoundingClientRect".into()).ok()?.dyn_into::<js_sys::Function>().ok()?;
        let r = f.call0(&el).ok()?;
        let left = js_sys::Reflect::get(&r, &"left".into()).ok()?.as_f64()?;
        let top = js_sys::Reflect::get(&r, &"top".into()).ok()?.as_f64()?;
        Some((e.client_x() as f64 - left, e.client_y() as f64 - top))
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = (svg, e);
        None
    }
}

/// Capture the pointer on the `<svg>` so a drag keeps its events (mouse
/// leaving a server, touch).
pub fn capture_pointer(svg: &NodeRef, pointer_id: i32) {
    #[cfg(target_arch = "wasm32")]
    if let Some(el) = svg.cast::<web_sys::Element>() {
        let _ = el.set_pointer_capture(pointer_id);
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = (svg, pointer_id);
}

/// Focus the element with this id once the page has rendered. Yew may
/// split a long render over several tasks (its scheduler yields after
/// 16 ms), so an element not there yet is looked for again, every 20 ms for
/// up to a second (a busy machine made the first look miss it).
fn focus_later(id: String) {
    #[cfg(target_arch = "wasm32")]
    fn attempt(id: String, left: u32, delay: u32) {
        gloo::timers::callback::Timeout::new(delay, move || {
            use wasm_bindgen::JsCast;
            match gloo::utils::document().get_element_by_id(&id) {
                // `focus` exists on SVG elements too (the binding calls it by name).
                Some(el) => {
                    let _ = el.unchecked_into::<web_sys::HtmlElement>().focus();
                }
                None if left > 0 => attempt(id, left - 1, 20),
                None => {}
            }
        })
        .forget();
    }
    #[cfg(target_arch = "wasm32")]
    attempt(id, 50, 0);
    #[cfg(not(target_arch = "wasm32"))]
    let _ = id;
}

/// Does focus move to an element inside the element with id `within`?
fn focus_stays_in(to: Option<web_sys::EventTarget>, within: &str) -> bool {
    #[cfg(target_arch = "wasm32")]
    {
        use wasm_bindgen::JsCast;
        let Some(node) = to.and_then(|t| t.dyn_into::<web_sys::Node>().ok()) else { return false };
        gloo::utils::document().get_element_by_id(within).is_some_and(|el| el.contains(Some(&node)))
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = (to, within);
        false
    }
}

pub fn server_id(i: usize) -> String {
    format!("cv-server-{i}")
}

pub fn label_id(a: usize, b: usize) -> String {
    format!("cv-rl-{a}-{b}")
}

/// One "split … from the rest" action: its button text, a `kind:value` key
/// and the partition (two groups: the AZ or region, and everything else).
#[derive(Clone, Debug, PartialEq)]
pub struct Split {
    pub label: String,
    pub key: String,
    pub fault: Fault,
}

/// The "Split AZ x from the rest" / "Split region r from the rest" actions,
/// when there are at least two AZs (regions; servers without one count as
/// one more group).
pub fn splits(w: &World) -> Vec<Split> {
    let mut out = Vec::new();
    for kind in ["AZ", "region"] {
        let key_of = |s: &jetsim_core::sim::ServerSlot| -> Option<String> {
            if kind == "AZ" {
                s.config.az.clone()
            } else {
                s.config.region.clone()
            }
        };
        let sel = |v: &str| if kind == "AZ" { Selector::Az(v.to_string()) } else { Selector::Region(v.to_string()) };
        let mut values: Vec<String> = Vec::new();
        let mut without: Vec<Selector> = Vec::new();
        for s in &w.servers {
            match key_of(s) {
                Some(v) if !values.contains(&v) => values.push(v),
                Some(_) => {}
                None => without.push(Selector::Node(s.config.name.clone())),
            }
        }
        if values.len() + usize::from(!without.is_empty()) < 2 {
            continue;
        }
        for v in &values {
            let mut rest: Vec<Selector> = values.iter().filter(|x| *x != v).map(|x| sel(x)).collect();
            rest.extend(without.iter().cloned());
            out.push(Split {
                label: format!("Split {kind} {} from the rest", text::short(v, 24)),
                key: format!("{}:{v}", kind.to_lowercase()),
                fault: Fault::Partition(vec![vec![sel(v)], rest]),
            });
        }
    }
    out
}

/// The [`splits`] as buttons for the faults panel.
pub fn split_buttons(w: &World, on_fault: Callback<Fault>) -> Html {
    let all = splits(w);
    if all.is_empty() {
        return html! {};
    }
    html! {
        <div class="split-buttons" role="group" aria-label="Partition by AZ or region">
            { for all.into_iter().map(|sp| {
                let cb = on_fault.clone();
                let fault = sp.fault;
                html! {
                    <button type="button" class="split" data-split={sp.key}
                        onclick={Callback::from(move |_| cb.emit(fault.clone()))}>{ sp.label }</button>
                }
            }) }
        </div>
    }
}

impl Playground {
    /// The cluster drawing with its interactive parts.
    /// `reuse`: a render for animation frames alone may keep the last SVG
    /// drawing if nothing it shows changed (see [`view::cluster_figure`]).
    pub(super) fn view_cluster(&self, ctx: &Context<Self>, reuse: bool) -> Html {
        let (Some(s), Some(l)) = (&self.session, &self.layout) else {
            return html! { <p class="error">{ "No scenario is loaded." }</p> };
        };
        let w = &s.world;
        let send = ctx.link().callback(Msg::Canvas);
        // The open causal trace (a PubAck picked), if its path is still kept.
        let causal = self.causal_pick.and_then(|seq| {
            let mut watch = self.watch.borrow_mut();
            watch.sync(s);
            watch.causal.find(seq).cloned()
        });
        let c = &self.canvas;
        let menu_server = c.menu.as_ref().map(|m| m.server).filter(|&i| i < w.servers.len());
        let overlay = html! {
            <>
                { self.view_menu(w, l, &send) }
                { self.view_latency_editor(w, l, &send) }
            </>
        };
        let interact = Interact {
            svg: c.svg.clone(),
            send,
            menu_server,
            drag: c.drag.as_ref().filter(|d| d.from < w.servers.len()).map(|d| (d.from, d.at)),
            causal: causal.as_ref(),
            overlay,
            frames: self.frames_ref.clone(),
            tip: self.tip_ref.clone(),
            hover: ctx.link().callback(Msg::FrameHover),
        };
        view::cluster_figure(w, l, self.reduced_motion, &interact, reuse)
    }

    fn box_and_vb(&self, w: &World, l: &Layout) -> ((f64, f64), (f64, f64, f64, f64)) {
        (svg_size(&self.canvas.svg), view::view_box(w, l))
    }

    fn view_menu(&self, w: &World, l: &Layout, send: &Callback<CanvasMsg>) -> Html {
        let Some(m) = &self.canvas.menu else { return html! {} };
        let Some(slot) = w.servers.get(m.server) else { return html! {} };
        let items = menu_items(w, m.server);
        let ((bw, bh), vb) = self.box_and_vb(w, l);
        let (px, py, scale) = user_to_px(l.servers[m.server], bw, bh, vb);
        let r = SERVER_R * scale + 6.0;
        // Right of the server, or left of it near the right edge.
        // Vertically centred on the server, kept inside the drawing (estimated height).
        let h = items.len() as f64 * 34.0 + 30.0;
        let top = (py - h / 2.0).min(bh - h).max(0.0);
        let style = if px + r + 170.0 > bw && px - r - 170.0 > 0.0 {
            format!("right:{:.0}px;top:{top:.0}px", bw - px + r)
        } else {
            format!("left:{:.0}px;top:{top:.0}px", px + r)
        };
        let name = text::short(&slot.config.name, 24);
        let state = view::liveness_name(slot.liveness);
        let onkeydown = {
            let send = send.clone();
            Callback::from(move |e: KeyboardEvent| {
                let k = e.key();
                if matches!(k.as_str(), "ArrowDown" | "ArrowUp" | "Home" | "End" | "Escape") {
                    e.prevent_default();
                }
                if matches!(k.as_str(), "ArrowDown" | "ArrowUp" | "Home" | "End" | "Escape" | "Tab") {
                    send.emit(CanvasMsg::MenuKey(k));
                }
            })
        };
        // Focus leaving the menu (a press elsewhere, Shift+Tab) closes it.
        let onfocusout = {
            let send = send.clone();
            Callback::from(move |e: FocusEvent| {
                if !focus_stays_in(e.related_target(), "cv-menu") {
                    send.emit(CanvasMsg::CloseMenu { refocus: false });
                }
            })
        };
        html! {
            <div class="cv-pop cv-menu" role="menu" id="cv-menu" aria-label={format!("Faults for {name}")}
                data-server={slot.config.name.clone()} style={style} onkeydown={onkeydown} onfocusout={onfocusout}>
                <p class="cv-menu-title" aria-hidden="true">{ format!("{name} · {state}") }</p>
                { for items.iter().enumerate().map(|(k, it)| {
                    let send = send.clone();
                    let msg = match &it.act {
                        Act::Fault(f) => { let f = f.clone(); Callback::from(move |_: MouseEvent| send.emit(CanvasMsg::MenuFault(f.clone()))) }
                        Act::Latency(j) => { let (a, j) = (m.server, *j); Callback::from(move |_: MouseEvent| send.emit(CanvasMsg::MenuLatency(a, j))) }
                    };
                    html! {
                        <button type="button" role="menuitem" id={format!("cv-menu-{}", it.id)}
                            class={classes!("fault", it.id.clone())} disabled={!it.enabled}
                            tabindex={if k == m.focus { "0" } else { "-1" }}
                            aria-haspopup={matches!(it.act, Act::Latency(_)).then_some("dialog")}
                            onclick={msg}>
                            { it.label.clone() }
                        </button>
                    }
                }) }
            </div>
        }
    }

    fn view_latency_editor(&self, w: &World, l: &Layout, send: &Callback<CanvasMsg>) -> Html {
        let Some(ed) = &self.canvas.edit else { return html! {} };
        let (Some(pa), Some(pb)) = (l.servers.get(ed.a), l.servers.get(ed.b)) else { return html! {} };
        let ((bw, bh), vb) = self.box_and_vb(w, l);
        let (px, py, _) = user_to_px(Pt::lerp(*pa, *pb, l.label_t(ed.a, ed.b)), bw, bh, vb);
        let style = format!("left:{:.0}px;top:{:.0}px", (px - 90.0).clamp(0.0, (bw - 200.0).max(0.0)), py + 10.0);
        let (na, nb) = (w.name(ed.a as Endpoint), w.name(ed.b as Endpoint));
        let label = format!("Latency {} ↔ {} (ms, both ways)", text::short(na, 16), text::short(nb, 16));
        let peers = peers(w, ed.a);
        let on_submit = {
            let send = send.clone();
            Callback::from(move |e: SubmitEvent| {
                e.prevent_default();
                send.emit(CanvasMsg::LatencyApply)
            })
        };
        let on_input = send.reform(|e: InputEvent| {
            let el: web_sys::HtmlInputElement = e.target_unchecked_into();
            CanvasMsg::LatencyDraft(el.value())
        });
        let on_jitter = send.reform(|e: InputEvent| {
            let el: web_sys::HtmlInputElement = e.target_unchecked_into();
            CanvasMsg::JitterDraft(el.value())
        });
        let on_peer = send.reform(|e: Event| {
            let el: web_sys::HtmlSelectElement = e.target_unchecked_into();
            CanvasMsg::LatencyPeer(el.value().parse().unwrap_or(usize::MAX))
        });
        let on_key = {
            let send = send.clone();
            Callback::from(move |e: KeyboardEvent| {
                if e.key() == "Escape" {
                    e.prevent_default();
                    send.emit(CanvasMsg::LatencyCancel)
                }
            })
        };
        html! {
            <form class="cv-pop cv-latency" id="cv-latency" role="dialog" aria-label={label.clone()}
                data-route={format!("{na}-{nb}")} style={style} onsubmit={on_submit} onkeydown={on_key} novalidate=true>
                if peers.len() > 1 {
                    <label for="cv-lat-peer" class="small">{ format!("Link from {} to", text::short(na, 16)) }</label>
                    <select id="cv-lat-peer" onchange={on_peer}>
                        { for peers.iter().map(|&j| html! {
                            <option value={j.to_string()} selected={j == ed.b}>{ text::short(w.name(j as Endpoint), 24) }</option>
                        }) }
                    </select>
                }
                <label for="cv-lat-input">{ label }</label>
                <input id="cv-lat-input" type="number" min="0" max={MAX_LATENCY_MS.to_string()} step="any"
                    inputmode="decimal" value={ed.draft.clone()} oninput={on_input}
                    aria-invalid={ed.error.is_some().then_some("true")}
                    aria-describedby={ed.error.is_some().then_some("cv-lat-error")} />
                <label for="cv-jitter-input">{ "± jitter (ms, 0 for none)" }</label>
                <input id="cv-jitter-input" type="number" min="0" max={MAX_LATENCY_MS.to_string()} step="any"
                    inputmode="decimal" value={ed.jitter.clone()} oninput={on_jitter} />
                if let Some(n) = &ed.note {
                    <p class="small" id="cv-lat-note">{ n.clone() }</p>
                }
                <div class="row">
                    <button type="submit" id="cv-lat-apply">{ "Apply" }</button>
                    <button type="button" id="cv-lat-cancel" onclick={send.reform(|_| CanvasMsg::LatencyCancel)}>{ "Cancel" }</button>
                </div>
                if let Some(e) = &ed.error {
                    <p id="cv-lat-error" class="error small" role="alert">{ e.clone() }</p>
                }
            </form>
        }
    }

    pub(super) fn update_canvas(&mut self, ctx: &Context<Self>, m: CanvasMsg) -> bool {
        let Some(s) = self.session.as_ref() else { return false };
        let w = &s.world;
        let ns = w.servers.len();
        match m {
            CanvasMsg::OpenMenu(i) => {
                if i >= ns {
                    return false;
                }
                let items = menu_items(w, i);
                let focus = items.iter().position(|it| it.enabled).unwrap_or(0);
                if let Some(it) = items.get(focus) {
                    focus_later(format!("cv-menu-{}", it.id));
                }
                self.canvas.edit = None;
                self.canvas.drag = None;
                self.canvas.menu = Some(Menu { server: i, focus });
            }
            CanvasMsg::CloseMenu { refocus } => {
                let Some(m) = self.canvas.menu.take() else { return false };
                if refocus {
                    focus_later(server_id(m.server));
                }
            }
            CanvasMsg::MenuKey(k) => {
                let Some(menu) = self.canvas.menu.as_mut() else { return false };
                let items = menu_items(w, menu.server);
                let enabled: Vec<usize> = (0..items.len()).filter(|&k| items[k].enabled).collect();
                let pos = enabled.iter().position(|&k| k == menu.focus);
                let next = match (k.as_str(), pos) {
                    ("Escape", _) => {
                        let server = menu.server;
                        self.canvas.menu = None;
                        focus_later(server_id(server));
                        return true;
                    }
                    ("Tab", _) => {
                        self.canvas.menu = None;
                        return true;
                    }
                    (_, _) if enabled.is_empty() => return false,
                    ("ArrowDown", Some(p)) => enabled[(p + 1) % enabled.len()],
                    ("ArrowUp", Some(p)) => enabled[(p + enabled.len() - 1) % enabled.len()],
                    ("ArrowUp", None) | ("End", _) => enabled[enabled.len() - 1],
                    _ => enabled[0],
                };
                menu.focus = next;
                if let Some(it) = items.get(next) {
                    focus_later(format!("cv-menu-{}", it.id));
                }
            }
            CanvasMsg::MenuFault(f) => {
                if let Some(m) = self.canvas.menu.take() {
                    focus_later(server_id(m.server));
                }
                ctx.link().send_message(Msg::Fault(f));
            }
            CanvasMsg::DragStart(i) => {
                if i >= ns {
                    return false;
                }
                // Redraw: the <svg> gets its move/release handlers.
                self.canvas.drag = Some(Drag { from: i, at: None });
            }
            CanvasMsg::DragMove(px, py) | CanvasMsg::DragEnd(px, py) if self.canvas.drag.is_some() => {
                let end = matches!(m, CanvasMsg::DragEnd(..));
                let Some(l) = self.layout.as_ref() else { return false };
                let ((bw, bh), vb) = self.box_and_vb(w, l);
                let at = px_to_user(px, py, bw, bh, vb);
                if !end {
                    if let Some(d) = self.canvas.drag.as_mut() {
                        // Redraw only once the pointer has left the server.
                        let moved = d.at.is_some() || l.servers.get(d.from).is_some_and(|p| dist(*p, at) > SERVER_R);
                        if !moved {
                            return false;
                        }
                        d.at = Some(at);
                    }
                    return true;
                }
                let Some(d) = self.canvas.drag.take() else { return false };
                let action = drop_action(l, d.from, at, |a, b| {
                    let (a, b) = (a as Endpoint, b as Endpoint);
                    w.is_cut(a, b) || w.is_cut(b, a)
                });
                match &action {
                    DropAction::Menu => return self.update_canvas(ctx, CanvasMsg::OpenMenu(d.from)),
                    DropAction::Cancel(why) => {
                        if d.at.is_some() {
                            self.status = Status::Info(format!("Nothing changed: {why}."));
                        }
                    }
                    _ => {
                        if let Some((fault, msg)) = drop_fault(w, &action) {
                            self.canvas.menu = None;
                            self.status = Status::Info(msg);
                            ctx.link().send_message(Msg::Fault(fault));
                        }
                    }
                }
            }
            CanvasMsg::DragMove(..) | CanvasMsg::DragEnd(..) => return false,
            CanvasMsg::DragCancel => {
                return self.canvas.drag.take().is_some_and(|d| d.at.is_some());
            }
            CanvasMsg::EditLatency(a, b) | CanvasMsg::MenuLatency(a, b) => {
                if a >= ns || b >= ns || a == b {
                    return false;
                }
                let from_menu = matches!(m, CanvasMsg::MenuLatency(..));
                self.canvas.menu = None;
                self.canvas.edit = Some(Edit::new(w, a, b, from_menu));
                focus_later("cv-lat-input".into());
            }
            CanvasMsg::LatencyPeer(b) => {
                let Some(ed) = self.canvas.edit.as_mut() else { return false };
                if b >= ns || b == ed.a {
                    return false;
                }
                *ed = Edit::new(w, ed.a, b, ed.from_menu);
            }
            CanvasMsg::LatencyDraft(v) => {
                let Some(ed) = self.canvas.edit.as_mut() else { return false };
                ed.draft = v;
                // Redraw only to take a shown error away.
                return ed.error.take().is_some();
            }
            CanvasMsg::JitterDraft(v) => {
                let Some(ed) = self.canvas.edit.as_mut() else { return false };
                ed.jitter = v;
                return ed.error.take().is_some();
            }
            CanvasMsg::LatencyApply => {
                let Some(ed) = self.canvas.edit.as_mut() else { return false };
                match latency_spec(&ed.draft, &ed.jitter) {
                    Err(e) => ed.error = Some(e),
                    Ok(spec) => {
                        let (a, b) = (ed.a, ed.b);
                        focus_later(ed.back());
                        self.canvas.edit = None;
                        let (na, nb) = (w.name(a as Endpoint).to_string(), w.name(b as Endpoint).to_string());
                        ctx.link().send_message(Msg::Fault(Fault::Latency(
                            Selector::Node(na),
                            Selector::Node(nb),
                            spec,
                        )));
                    }
                }
            }
            CanvasMsg::LatencyCancel => {
                let Some(ed) = self.canvas.edit.take() else { return false };
                focus_later(ed.back());
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playground::layout::ServerSpec;

    fn world(id: &str) -> World {
        let text = crate::examples::find(id).map(|e| e.text).unwrap_or_default();
        let sc = jetsim_core::scenario::parse(text).expect("parses");
        World::new(sc, 1).expect("builds")
    }

    fn ring(n: usize) -> Layout {
        let specs: Vec<ServerSpec> = (0..n)
            .map(|i| ServerSpec { name: format!("n{}", i + 1), cluster: "c".into(), az: None, region: None })
            .collect();
        Layout::new(&specs, &[])
    }

    #[test]
    fn drops_cut_heal_isolate_or_nothing() {
        let l = ring(3);
        let never = |_: usize, _: usize| false;
        let always = |_: usize, _: usize| true;
        // On itself: a click.
        assert_eq!(drop_action(&l, 0, l.servers[0], never), DropAction::Menu);
        // On another server (a little off centre): cut, or heal when cut.
        let near1 = Pt::new(l.servers[1].x + 10.0, l.servers[1].y - 5.0);
        assert_eq!(drop_action(&l, 0, near1, never), DropAction::Cut(0, 1));
        assert_eq!(drop_action(&l, 0, near1, always), DropAction::Heal(0, 1));
        // The ring's centre: nothing.
        let c = l.clusters[0].center;
        assert!(matches!(drop_action(&l, 0, c, never), DropAction::Cancel(_)));
        // Far outside the ring: isolate.
        let out = Pt::new(c.x, c.y - l.clusters[0].ring - BAND - 20.0);
        assert_eq!(drop_action(&l, 2, out, never), DropAction::Isolate(2));
    }

    #[test]
    fn drops_across_clusters_do_nothing() {
        let specs: Vec<ServerSpec> = ["a1", "a2", "b1", "b2"]
            .iter()
            .map(|n| ServerSpec { name: n.to_string(), cluster: n[..1].into(), az: None, region: None })
            .collect();
        let l = Layout::new(&specs, &[]);
        assert!(matches!(drop_action(&l, 0, l.servers[2], |_, _| false), DropAction::Cancel(_)));
        assert_eq!(drop_action(&l, 0, l.servers[1], |_, _| false), DropAction::Cut(0, 1));
    }

    #[test]
    fn drop_faults_are_the_scenario_actions() {
        let w = world("r3-publish");
        let text = |d: DropAction| {
            let (f, _) = drop_fault(&w, &d).expect("a fault");
            jetsim_core::scenario::action_text(&jetsim_core::scenario::Action::Fault(f))
        };
        assert_eq!(text(DropAction::Cut(0, 2)), "partition n1 | n3");
        assert_eq!(text(DropAction::Heal(0, 2)), "heal n1 n3");
        assert_eq!(text(DropAction::Isolate(1)), "isolate n2");
        assert!(drop_fault(&w, &DropAction::Menu).is_none());
    }

    #[test]
    fn menu_follows_the_servers_state() {
        let mut w = world("r3-publish");
        let enabled = |w: &World| -> Vec<String> {
            menu_items(w, 1).into_iter().filter(|i| i.enabled).map(|i| i.label).collect()
        };
        assert_eq!(
            enabled(&w),
            ["Kill", "Pause", "Power loss", "Isolate", "Link latency…", "Cut link to n1", "Cut link to n3"]
        );
        w.apply_fault(&Fault::Pause("n2".into()));
        assert_eq!(
            enabled(&w),
            ["Kill", "Resume", "Power loss", "Isolate", "Link latency…", "Cut link to n1", "Cut link to n3"]
        );
        w.apply_fault(&Fault::Kill("n2".into()));
        assert_eq!(enabled(&w), ["Restart", "Link latency…", "Cut link to n1", "Cut link to n3"]);
        w.apply_fault(&Fault::Restart("n2".into()));
        // Cut one link from the menu: that item turns into its heal.
        let cut = menu_items(&w, 1)
            .into_iter()
            .find(|i| i.label == "Cut link to n3")
            .expect("cut")
            .fault()
            .cloned()
            .expect("a fault");
        w.apply_fault(&cut);
        assert!(w.is_cut(1, 2) && w.is_cut(2, 1) && !w.is_cut(1, 0));
        assert_eq!(
            enabled(&w),
            ["Kill", "Pause", "Power loss", "Isolate", "Heal", "Link latency…", "Cut link to n1", "Heal link to n3"]
        );
        let heal = menu_items(&w, 1)
            .into_iter()
            .find(|i| i.label == "Heal link to n3")
            .expect("heal")
            .fault()
            .cloned()
            .expect("a fault");
        w.apply_fault(&heal);
        assert!(!has_cut(&w, 1));
        w.apply_fault(&Fault::Isolate("n2".into()));
        assert_eq!(
            enabled(&w),
            ["Kill", "Pause", "Power loss", "Heal", "Link latency…", "Heal link to n1", "Heal link to n3"]
        );
        let heal =
            menu_items(&w, 1).into_iter().find(|i| i.label == "Heal").expect("heal").fault().cloned().expect("a fault");
        w.apply_fault(&heal);
        assert!(!has_cut(&w, 1), "the menu's Heal heals n2's links");
        assert!(menu_items(&w, 9).is_empty());
        // A cut client link is not what `heal n1` heals: Heal stays disabled,
        // and the menu offers that link's heal on its own.
        w.apply_fault(&Fault::Partition(vec![vec![Selector::Node("c1".into())], vec![Selector::Node("n1".into())]]));
        assert!(w.is_cut(3, 0) && !has_cut(&w, 0));
        assert_eq!(cut_clients(&w, 0), [3]);
        let items = menu_items(&w, 0);
        let labels: Vec<&str> = items.iter().filter(|i| i.enabled).map(|i| i.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "Kill",
                "Pause",
                "Power loss",
                "Isolate",
                "Link latency…",
                "Heal link to c1",
                "Cut link to n2",
                "Cut link to n3"
            ]
        );
        let heal = items.iter().find(|i| i.id == "client-3").and_then(Item::fault).cloned().expect("a heal");
        w.apply_fault(&heal);
        assert!(!w.is_cut(3, 0) && !w.is_cut(0, 3) && cut_clients(&w, 0).is_empty());
        // The latency item opens the editor on the first peer.
        let lat = items.iter().find(|i| i.id == "latency").expect("latency item");
        assert_eq!(lat.act, Act::Latency(1));
        assert_eq!(peers(&w, 0), [1, 2]);
    }

    #[test]
    fn latency_editor_keeps_or_sets_jitter() {
        assert_eq!(latency_spec("40", "0"), Ok(LatencySpec::Fixed(40 * MS)));
        assert_eq!(latency_spec("40", "2.5"), Ok(LatencySpec::Uniform(37_500_000, 42_500_000)));
        // Jitter larger than the latency floors at 0, as the scenario's `jitter=`.
        assert_eq!(latency_spec("1", "3"), Ok(LatencySpec::Uniform(0, 4 * MS)));
        assert!(latency_spec("-1", "0").unwrap_err().starts_with("Latency:"));
        assert!(latency_spec("1", "x").unwrap_err().starts_with("Jitter:"));
        assert!(latency_spec("86400000", "1").unwrap_err().starts_with("Jitter:"));
        // What the fields show for each model, and a round trip through them.
        assert_eq!(latency_draft(&Latency::Fixed(MS)), ("1".into(), "0".into(), None));
        let u = Latency::Uniform { lo: MS, hi: 3 * MS };
        let (d, j, note) = latency_draft(&u);
        assert_eq!((d.as_str(), j.as_str(), note), ("2", "1", None));
        assert_eq!(latency_spec(&d, &j).map(|s| Latency::from_spec(&s)), Ok(u));
        let p = Latency::Pareto { min: MS, alpha_milli: 1500, cap: 100 * MS };
        let (_, j, note) = latency_draft(&p);
        assert_eq!(j, "0");
        assert!(note.is_some_and(|n| n.contains("pareto")));
        // A scenario link with jitter shows it.
        let w = world("r3-publish");
        let (_, j, _) = latency_draft(w.latency(0, 2));
        assert_eq!(
            j,
            fmt_ms(match *w.latency(0, 2) {
                Latency::Uniform { lo, hi } => (hi - lo) / 2,
                _ => 0,
            })
        );
    }

    #[test]
    fn latency_text_in_ms() {
        assert_eq!(parse_ms("50"), Ok(50 * MS));
        assert_eq!(parse_ms(" 0.5 "), Ok(MS / 2));
        assert_eq!(parse_ms("0"), Ok(0));
        assert_eq!(parse_ms("86400000"), Ok(86_400_000 * MS));
        for bad in ["", "-1", "abc", "NaN", "inf", "86400001", "1e309", &"9".repeat(40)] {
            assert!(parse_ms(bad).is_err(), "{bad:?}");
        }
        assert_eq!(fmt_ms(MS), "1");
        assert_eq!(fmt_ms(MS / 2), "0.5");
        assert_eq!(fmt_ms(12 * MS + 250_000), "12.25");
    }

    #[test]
    fn px_and_drawing_units_round_trip() {
        let vb = (-100.0, -50.0, 400.0, 200.0);
        // A box twice as wide as the drawing's aspect: letterboxed left and right.
        for (bw, bh) in [(800.0, 400.0), (1000.0, 400.0), (800.0, 600.0)] {
            for p in [Pt::new(-100.0, -50.0), Pt::new(300.0, 150.0), Pt::new(12.5, 7.0)] {
                let (x, y, _) = user_to_px(p, bw, bh, vb);
                let q = px_to_user(x, y, bw, bh, vb);
                assert!((p.x - q.x).abs() < 1e-9 && (p.y - q.y).abs() < 1e-9, "{bw}x{bh}: {p:?} → {q:?}");
            }
        }
        // The drawing's centre is the box's centre.
        let (x, y, s) = user_to_px(Pt::new(100.0, 50.0), 1000.0, 400.0, vb);
        assert_eq!((x, y, s), (500.0, 200.0, 2.0));
    }

    #[test]
    fn splits_cut_one_az_or_region_from_the_rest() {
        // regions: use1/use2 (us-east, AZs use-a/use-b) and euw1/euw2 (eu-west).
        let w = world("regions");
        let all = splits(&w);
        let keys: Vec<&str> = all.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(keys, ["az:use-a", "az:use-b", "az:euw-a", "az:euw-b", "region:us-east", "region:eu-west"]);
        let text = |f: &Fault| jetsim_core::scenario::action_text(&jetsim_core::scenario::Action::Fault(f.clone()));
        assert_eq!(text(&all[0].fault), "partition az:use-a | az:use-b az:euw-a az:euw-b");
        let region = all.iter().find(|s| s.key == "region:eu-west").expect("eu-west");
        let mut w2 = world("regions");
        w2.apply_fault(&region.fault);
        let ep = |n: &str| (0..w2.servers.len()).find(|&i| w2.servers[i].config.name == n).expect(n) as Endpoint;
        assert!(w2.is_cut(ep("use1"), ep("euw1")) && w2.is_cut(ep("euw2"), ep("use2")));
        assert!(!w2.is_cut(ep("use1"), ep("use2")) && !w2.is_cut(ep("euw1"), ep("euw2")));
        // One region only (core-pubsub has three AZs, one region): AZ splits only.
        let one = splits(&world("core-pubsub"));
        assert_eq!(one.iter().map(|s| s.key.as_str()).collect::<Vec<_>>(), ["az:az1", "az:az2", "az:az3"]);
    }
}
