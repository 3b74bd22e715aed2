//! The playground page: a cluster view over a running world, time control
//! (play, pause, step, speed, reset), scenario picker and seed, fault
//! controls, a console, per-client counters and an event log.
//!
//! The component owns one [`session::Session`] (scenario text, seed, world,
//! log). While playing it asks for animation frames and advances the world by
//! wall time × speed, at most [`EVENTS_PER_FRAME`] events per frame; while
//! paused, or when the tab is hidden, it asks for none.

pub mod canvas;
pub mod causal;
pub mod console;
pub mod delivery_check;
pub mod frames;
pub mod guide;
pub mod keys;
pub mod layout;
pub mod lens;
pub mod metrics;
pub mod sequence;
pub mod session;
pub mod speed;
pub mod timeline;
pub mod view;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use jetsim_core::client::ConnState;
use jetsim_core::scenario::Fault;
use jetsim_core::sim::Liveness;
use jetsim_core::time::{fmt_time, Time};
use jetsim_core::trace::Endpoint;
use yew::prelude::*;

use crate::examples::{self, EXAMPLES};
use crate::text;
use layout::Layout;
use session::{parse_seed, Advance, Session};

/// Events processed per animation frame at most, so a busy scenario cannot
/// freeze the tab (the clock then falls behind and says so).
pub const EVENTS_PER_FRAME: u64 = 10_000;
/// Wall time one frame may spend simulating, in ms (checked between chunks
/// of events), so drawing keeps up.
const FRAME_BUDGET_MS: f64 = 8.0;
/// Longest wall-time gap one frame accounts for (a stalled tab does not
/// make the simulation jump).
const MAX_FRAME_MS: f64 = 100.0;
/// The picker's value for text that is not one of the examples.
const CUSTOM: &str = "custom";
/// While playing, a render caused by an animation frame rebuilds the panels
/// around the drawing (event log, guide/metrics/causal/sequence/streams, Raft
/// lens, faults, clients) only when theirs is older than this, in wall ms,
/// and at most one of them (or one Raft lens group) per frame, the one that
/// has waited longest first (`Playground::turn`); the drawing and the toolbar are rebuilt
/// every frame. Any other render (a click, typing, pause) rebuilds them all.
/// Measured by tests/bench/frame-bench.mjs (README "Benchmarks").
const PANEL_REFRESH_MS: f64 = 200.0;
/// Event log lines drawn while playing and following the newest line.
const LOG_LIVE: usize = 60;

thread_local! {
    /// A message other than [`Msg::Frame`] came since the last render: the
    /// next render rebuilds every panel.
    static PANELS_STALE: Cell<bool> = const { Cell::new(true) };
    /// The panels' last build while playing: (wall ms, version, html), by slot.
    /// (Its key, for a panel whose content a key tells: see [`Playground::panel`].)
    static PANELS: RefCell<[Option<PanelBuild>; slot::COUNT]> = RefCell::new(Default::default());
    /// The Raft lens's last build while playing (see [`Playground::lens_panel`]).
    static LENS: RefCell<LensBuild> = RefCell::new(LensBuild::default());
    /// Panel slots whose section is near the viewport (bit per slot; see
    /// [`offscreen`]). All are taken as seen until the observer says otherwise.
    static PANELS_SEEN: Cell<u32> = const { Cell::new(u32::MAX) };
    /// Versions handed to [`Frozen`] panels (one counter for all slots).
    static PANEL_VERSION: Cell<u64> = const { Cell::new(0) };
}

/// A panel's last build: (wall ms, version, html, key).
type PanelBuild = (f64, u64, Html, Option<u64>);

/// The panels' refresh slots: index in [`PANELS`], bit in [`PANELS_SEEN`].
/// The Raft lens has none: each of its groups refreshes on its own turn
/// ([`LensBuild`]).
mod slot {
    pub const LOG: usize = 0;
    pub const GUIDE: usize = 1;
    pub const METRICS: usize = 2;
    pub const CAUSAL: usize = 3;
    pub const SEQUENCE: usize = 4;
    pub const STREAMS: usize = 5;
    pub const FAULTS: usize = 6;
    pub const CLIENTS: usize = 7;
    pub const COUNT: usize = 8;
}

/// Which panel slot or Raft lens group (by `lens::Group::key`) a frame
/// rebuilds while playing (see [`Playground::turn`]).
#[derive(Clone, Debug, PartialEq)]
enum Turn {
    None,
    Slot(usize),
    Lens(String),
}

/// The Raft lens's last build while playing: each group's section by its
/// key (`lens::Group::key`; wall ms, version, html), in the lens's order, and
/// the panel around them (version, html).
#[derive(Default)]
struct LensBuild {
    groups: Vec<(String, f64, u64, Html)>,
    panel: Option<(u64, Html)>,
}

/// A panel's html behind a version number: while the version is the same,
/// Yew compares two integers and leaves the panel's DOM alone, instead of
/// diffing (and cloning) its whole subtree every frame.
#[derive(Properties, Clone)]
pub(crate) struct FrozenProps {
    pub version: u64,
    pub html: Html,
}

/// A new version number for a [`Frozen`] html.
pub(crate) fn next_version() -> u64 {
    PANEL_VERSION.with(|v| {
        v.set(v.get() + 1);
        v.get()
    })
}

impl PartialEq for FrozenProps {
    fn eq(&self, other: &Self) -> bool {
        self.version == other.version
    }
}

#[function_component]
pub(crate) fn Frozen(p: &FrozenProps) -> Html {
    p.html.clone()
}

/// `html` behind [`Frozen`] at `version`.
pub(crate) fn frozen(version: u64, html: Html) -> Html {
    html! { <Frozen version={version} html={html} /> }
}

pub enum Msg {
    Frame(f64),
    Play,
    Pause,
    Step,
    Reset,
    Speed(String),
    Seed(String),
    Pick(String),
    Draft(String),
    LoadDraft,
    Fault(Fault),
    CommandInput(String),
    RunCommand,
    /// Console history: ↑ (true) or ↓.
    CommandHistory(bool),
    /// Console Tab with several candidates: list them under the input.
    CommandList,
    VisibilityChanged,
    ReducedMotion(bool),
    /// Time travel, sharing, files, shortcuts (see `timeline`).
    Time(timeline::TimeMsg),
    /// Guided scenarios: run to the next narration step.
    GuideNext,
    /// Causal trace: show the path of this PubAck (its trace seq).
    CausalPick(u64),
    /// Guarantees: take the reader to the moment a guarantee broke.
    GotoTime(Time),
    /// The cluster drawing's fault menu, drags and latency editor (canvas.rs).
    Canvas(canvas::CanvasMsg),
    /// Close the open causal trace (its highlight on the drawing goes).
    CausalClose,
    /// The pointer over the drawing (px from its top left), or None when it
    /// left: the frame tip follows it (frames.rs), no render.
    FrameHover(Option<(f64, f64)>),
}

/// Panels that may stay as they are while off screen during play: those
/// without a live region (the log, the guide's transcript, the lens's
/// election status and the console's result are read by screen readers
/// wherever the page is scrolled, so they always refresh). By class and
/// slot (see `view`).
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))] // read by the wasm-only observer
const OFFSCREEN_SKIPPABLE: [(&str, usize); 5] = [
    ("metrics", slot::METRICS),
    ("causal", slot::CAUSAL),
    ("sequence", slot::SEQUENCE),
    ("streams", slot::STREAMS),
    ("clients", slot::CLIENTS),
];

/// While playing, a panel far off screen (not rendered anyway:
/// `content-visibility: auto`) is not rebuilt either: an IntersectionObserver
/// keeps [`PANELS_SEEN`]; a panel coming into view is older than
/// [`PANEL_REFRESH_MS`] and refreshes on the next frame. A render while
/// paused observes the sections again (Yew may have replaced one); reports
/// about sections no longer in the page are dropped (a replaced section
/// reports "not intersecting" as it leaves).
mod offscreen {
    #[cfg(target_arch = "wasm32")]
    thread_local! {
        static OBSERVER: std::cell::RefCell<Option<web_sys::IntersectionObserver>> = const { std::cell::RefCell::new(None) };
    }

    pub fn observe() {
        #[cfg(target_arch = "wasm32")]
        {
            use wasm_bindgen::closure::Closure;
            use wasm_bindgen::JsCast;
            OBSERVER.with(|o| {
                let mut o = o.borrow_mut();
                if o.is_none() {
                    let cb = Closure::<dyn FnMut(js_sys::Array, web_sys::IntersectionObserver)>::new(
                        |entries: js_sys::Array, obs: web_sys::IntersectionObserver| {
                            for e in entries.iter() {
                                let Ok(e) = e.dyn_into::<web_sys::IntersectionObserverEntry>() else { continue };
                                let target = e.target();
                                if !target.is_connected() {
                                    obs.unobserve(&target);
                                    continue;
                                }
                                let class = target.get_attribute("class").unwrap_or_default();
                                for (name, slot) in super::OFFSCREEN_SKIPPABLE {
                                    if class.split(' ').any(|c| c == name) {
                                        super::PANELS_SEEN.with(|m| {
                                            let bit = 1u32 << slot;
                                            m.set(if e.is_intersecting() { m.get() | bit } else { m.get() & !bit });
                                        });
                                    }
                                }
                            }
                        },
                    );
                    let init = web_sys::IntersectionObserverInit::new();
                    init.set_root_margin("200px 0px");
                    *o = web_sys::IntersectionObserver::new_with_options(cb.as_ref().unchecked_ref(), &init).ok();
                    cb.forget();
                }
                let Some(obs) = o.as_ref() else { return };
                let doc = gloo::utils::document();
                for (name, _) in super::OFFSCREEN_SKIPPABLE {
                    if let Ok(Some(el)) = doc.query_selector(&format!(".playground > .panel.{name}")) {
                        obs.observe(&el);
                    }
                }
            });
        }
    }
}

/// The panels beside the drawing, in page order.
#[derive(Clone, Copy)]
enum Side {
    Guide,
    Metrics,
    Causal,
    Sequence,
    Streams,
}

/// What the status line says.
#[derive(Clone, PartialEq)]
enum Status {
    None,
    Info(String),
    Error(String),
}

pub struct Playground {
    session: Option<Session>,
    layout: Option<Layout>,
    playing: bool,
    hidden: bool,
    reduced_motion: bool,
    behind: bool,
    speed: usize,
    last_ts: Option<f64>,
    frame: Option<gloo::render::AnimationFrame>,
    example: String,
    draft: String,
    seed_text: String,
    seed_error: Option<String>,
    load_error: Option<String>,
    status: Status,
    command: String,
    command_result: Status,
    /// The command text whose Tab candidates are listed under the input.
    command_listed: Option<String>,
    /// The moment the last console command ran: its status's "Paused: ...
    /// when time runs" hint holds until time runs from there.
    command_moment: Option<session::Moment>,
    log_ref: NodeRef,
    /// Keep the log scrolled to the bottom (false once the reader scrolls up).
    log_stick: Rc<Cell<bool>>,
    /// The first log entry's sequence number at the last render of the log.
    log_first: Cell<u64>,
    /// The log was rebuilt in the last render (scroll it to the bottom).
    log_dirty: Cell<bool>,
    /// Scrolls the log to its newest line when its panel comes on screen
    /// (see `stick_log_on_show`), on this panel element.
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    log_show: Option<(web_sys::Element, gloo::events::EventListener)>,
    /// What the guide, metrics and causal panels have read from the trace.
    watch: RefCell<guide::Watch>,
    causal_pick: Option<u64>,
    /// The console's history and output (src/playground/console.rs).
    console: RefCell<console::Console>,
    _visibility: Option<gloo::events::EventListener>,
    _motion: Option<gloo::events::EventListener>,
    time: timeline::TimeState,
    /// The drawing's menu, drag and latency editor (canvas.rs).
    canvas: canvas::CanvasState,
    /// The overlay the frames in flight are drawn in, and their tip.
    frames_ref: NodeRef,
    tip_ref: NodeRef,
}

fn document_hidden() -> bool {
    #[cfg(target_arch = "wasm32")]
    {
        gloo::utils::document().visibility_state() == web_sys::VisibilityState::Hidden
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        false
    }
}

/// `performance.now()` in ms (0 natively). The `Performance` object is
/// looked up once: the `window.performance` getter cost more than `now()`
/// itself (a frame calls this a dozen times).
fn now_ms() -> f64 {
    #[cfg(target_arch = "wasm32")]
    {
        thread_local! {
            static PERF: Option<web_sys::Performance> = web_sys::window().and_then(|w| w.performance());
        }
        PERF.with(|p| p.as_ref().map_or(0.0, |p| p.now()))
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        0.0
    }
}

fn reduced_motion_query() -> Option<web_sys::MediaQueryList> {
    #[cfg(target_arch = "wasm32")]
    {
        gloo::utils::window().match_media("(prefers-reduced-motion: reduce)").ok().flatten()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        None
    }
}

impl Playground {
    fn install(&mut self, session: Session) {
        let specs = view::server_specs(&session.world);
        let clients = view::client_specs(&session.world);
        self.layout = Some(Layout::new(&specs, &clients));
        self.seed_text = session.seed.to_string();
        self.seed_error = None;
        self.load_error = None;
        self.session = Some(session);
        self.log_stick.set(true);
        self.pause();
    }

    fn pause(&mut self) {
        self.playing = false;
        self.frame = None;
        self.last_ts = None;
        self.behind = false;
    }

    /// Ask for the next animation frame if playing and visible.
    fn schedule(&mut self, ctx: &Context<Self>) {
        if self.playing && !self.hidden && self.frame.is_none() {
            let link = ctx.link().clone();
            self.frame = Some(gloo::render::request_animation_frame(move |ts| link.send_message(Msg::Frame(ts))));
        }
    }

    fn load(&mut self, text: &str, seed: Option<u64>) -> Result<(), String> {
        let s = Session::build(text, seed)?;
        self.install(s);
        Ok(())
    }
}

impl Component for Playground {
    type Message = Msg;
    type Properties = ();

    fn create(ctx: &Context<Self>) -> Self {
        let mut me = Playground {
            session: None,
            layout: None,
            playing: false,
            hidden: document_hidden(),
            reduced_motion: reduced_motion_query().is_some_and(|q| q.matches()),
            behind: false,
            speed: speed::DEFAULT,
            last_ts: None,
            frame: None,
            example: examples::DEFAULT_EXAMPLE.to_string(),
            draft: String::new(),
            seed_text: String::new(),
            seed_error: None,
            load_error: None,
            status: Status::None,
            command: String::new(),
            command_result: Status::None,
            command_listed: None,
            command_moment: None,
            log_ref: NodeRef::default(),
            log_stick: Rc::new(Cell::new(true)),
            log_first: Cell::new(0),
            log_dirty: Cell::new(true),
            log_show: None,
            watch: RefCell::new(guide::Watch::default()),
            causal_pick: None,
            console: RefCell::new(console::Console::default()),
            _visibility: None,
            _motion: None,
            time: timeline::TimeState::default(),
            canvas: canvas::CanvasState::default(),
            frames_ref: NodeRef::default(),
            tip_ref: NodeRef::default(),
        };
        let text = examples::find(examples::DEFAULT_EXAMPLE).map_or("", |e| e.text);
        me.draft = text.to_string();
        if let Err(e) = me.load(text, None) {
            me.load_error = Some(format!("The built-in example could not be loaded: {e}"));
        }
        #[cfg(target_arch = "wasm32")]
        {
            let link = ctx.link().clone();
            me._visibility =
                Some(gloo::events::EventListener::new(&gloo::utils::document(), "visibilitychange", move |_| {
                    link.send_message(Msg::VisibilityChanged)
                }));
            if let Some(q) = reduced_motion_query() {
                let link = ctx.link().clone();
                let q2 = q.clone();
                me._motion = Some(gloo::events::EventListener::new(&q, "change", move |_| {
                    link.send_message(Msg::ReducedMotion(q2.matches()))
                }));
            }
        }
        me.time_start(ctx);
        me
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        if !matches!(msg, Msg::Frame(_) | Msg::FrameHover(_)) {
            PANELS_STALE.with(|f| f.set(true));
        }
        match msg {
            Msg::Frame(ts) => {
                self.frame = None;
                if !self.playing || self.hidden {
                    return false;
                }
                let dt = self.last_ts.map_or(0.0, |last| (ts - last).clamp(0.0, MAX_FRAME_MS));
                self.last_ts = Some(ts);
                let Some(s) = self.session.as_mut() else {
                    self.pause();
                    return true;
                };
                let started = now_ms();
                let mut more = || now_ms() - started < FRAME_BUDGET_MS;
                match s.advance(dt * 1e6 * speed::factor(self.speed), EVENTS_PER_FRAME, &mut more) {
                    Advance::Reached => self.behind = false,
                    Advance::Behind => self.behind = true,
                    Advance::End => {
                        let t = s.now();
                        self.pause();
                        self.status = Status::Info(format!(
                            "Paused at {}, the scenario's end (its until line). Play runs on from here.",
                            fmt_time(t)
                        ));
                        return true;
                    }
                }
                self.schedule(ctx);
                true
            }
            Msg::Play => {
                if self.session.is_some() && !self.playing {
                    self.playing = true;
                    self.last_ts = None;
                    self.status = Status::None;
                    self.schedule(ctx);
                }
                true
            }
            Msg::Pause => {
                self.pause();
                true
            }
            Msg::Step => {
                self.pause();
                let Some(s) = self.session.as_mut() else {
                    return true;
                };
                self.status = match s.step() {
                    None => Status::Info(
                        "Nothing left to happen: no event is scheduled. Faults and commands still work.".into(),
                    ),
                    Some(r) => {
                        let what = if r.events.is_empty() {
                            "an event with no visible effect (a timer, or a command waiting for its connection)"
                                .to_string()
                        } else {
                            let mut shown: Vec<String> = r.events.iter().take(3).cloned().collect();
                            if r.events.len() > 3 {
                                shown.push(format!("and {} more", r.events.len() - 3));
                            }
                            shown.join("; ")
                        };
                        Status::Info(format!("Stepped to {}: {what}", fmt_time(r.at)))
                    }
                };
                true
            }
            Msg::Reset => {
                if let Some(s) = &self.session {
                    match s.rebuilt() {
                        Ok(fresh) => {
                            self.install(fresh);
                            self.status = Status::Info("Reset to the start.".into());
                        }
                        Err(e) => self.status = Status::Error(e),
                    }
                }
                true
            }
            Msg::Speed(v) => {
                if let Ok(i) = v.trim().parse::<usize>() {
                    if i < speed::SPEEDS.len() {
                        self.speed = i;
                    }
                }
                true
            }
            Msg::Seed(v) => {
                self.seed_text = v.clone();
                match parse_seed(&v) {
                    Err(e) => self.seed_error = Some(e),
                    Ok(seed) => {
                        let text = self.session.as_ref().map(|s| s.text.clone());
                        let text = text.as_deref().unwrap_or(self.draft.as_str()).to_string();
                        match self.load(&text, Some(seed)) {
                            Ok(()) => self.status = Status::Info(format!("Rebuilt with seed {seed}.")),
                            Err(e) => self.load_error = Some(e),
                        }
                    }
                }
                true
            }
            Msg::Pick(id) => {
                if let Some(e) = examples::find(&id) {
                    self.draft = e.text.to_string();
                    match self.load(e.text, None) {
                        Ok(()) => {
                            self.example = id;
                            self.status = Status::None;
                        }
                        Err(err) => self.load_error = Some(format!("{}: {err}", e.id)),
                    }
                }
                true
            }
            Msg::Draft(v) => {
                self.draft = v;
                true
            }
            Msg::LoadDraft => {
                let draft = self.draft.clone();
                match self.load(&draft, None) {
                    Ok(()) => {
                        self.example =
                            EXAMPLES.iter().find(|e| e.text == draft).map_or(CUSTOM.to_string(), |e| e.id.to_string());
                        self.status = Status::Info("Loaded the scenario text.".into());
                    }
                    Err(e) => self.load_error = Some(e),
                }
                true
            }
            Msg::Fault(f) => {
                if let Some(s) = self.session.as_mut() {
                    if let Err(e) = s.apply_fault(&f) {
                        self.status = Status::Error(e);
                    }
                }
                true
            }
            Msg::CommandInput(v) => {
                self.command = v;
                true
            }
            Msg::RunCommand => {
                if let Some(s) = self.session.as_mut() {
                    self.command_listed = None;
                    self.command_result = match self.console.borrow_mut().run(s, &self.command, self.playing) {
                        Ok(done) => {
                            self.command.clear();
                            Status::Info(done)
                        }
                        Err(e) => Status::Error(e),
                    };
                    self.command_moment = Some(s.moment());
                }
                true
            }
            Msg::CommandList => {
                self.command_listed = Some(self.command.clone());
                true
            }
            Msg::CommandHistory(older) => {
                if let Some(line) = self.console.borrow_mut().browse(older) {
                    self.command = line;
                }
                true
            }
            Msg::VisibilityChanged => {
                self.hidden = document_hidden();
                if self.hidden {
                    self.frame = None;
                } else {
                    self.last_ts = None;
                    self.schedule(ctx);
                }
                true
            }
            Msg::ReducedMotion(on) => {
                self.reduced_motion = on;
                true
            }
            Msg::Time(m) => self.update_time(ctx, m),
            Msg::GuideNext => {
                self.pause();
                if let Some(s) = self.session.as_mut() {
                    self.status = Status::Info(guide::run_to_next_note(s));
                }
                true
            }
            Msg::CausalPick(seq) => {
                self.causal_pick = Some(seq);
                true
            }
            Msg::Canvas(m) => self.update_canvas(ctx, m),
            Msg::CausalClose => {
                self.causal_pick = None;
                true
            }
            Msg::FrameHover(at) => {
                #[cfg(target_arch = "wasm32")]
                if let Some(s) = &self.session {
                    frames::hover(&self.tip_ref, &self.canvas.svg, &s.world, at);
                }
                #[cfg(not(target_arch = "wasm32"))]
                let _ = at;
                false
            }
            Msg::GotoTime(t) => {
                self.pause();
                if let Some(s) = self.session.as_mut() {
                    self.status = Status::Info(guide::goto_time(s, t));
                }
                true
            }
        }
    }

    fn rendered(&mut self, _ctx: &Context<Self>, first: bool) {
        self.paint_frames();
        if first || !self.playing {
            offscreen::observe();
        }
        self.sync_url();
        self.canvas.guard_touch();
        // Only after the log was rebuilt: reading scrollHeight forces a
        // layout of the page, which every frame cost 13% of the main thread.
        // (Its panel element can only have changed then too.)
        if self.log_dirty.take() {
            if self.log_stick.get() {
                if let Some(el) = self.log_ref.cast::<web_sys::Element>() {
                    el.set_scroll_top(el.scroll_height());
                }
            }
            self.stick_log_on_show();
        }
        self.focus_help();
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        // The panels read the trace as it goes by: keep them reading every
        // frame even when their html is reused (the trace keeps only the
        // last events).
        if let Some(s) = &self.session {
            self.watch.borrow_mut().sync(s);
        }
        // Throttle the panels only in a render caused by animation frames alone.
        let stale = PANELS_STALE.with(|f| f.replace(false));
        let throttle = self.playing && !stale;
        // Each panel slot's key (see `panel`): only the faults panel has one.
        let mut keys = [None; slot::COUNT];
        keys[slot::FAULTS] = self.faults_key();
        let turn = if throttle { self.turn(&keys) } else { Turn::None };
        html! {
            <div class={classes!("playground", self.time.presenter.then_some("presenter"))}>
                // In reading order (style.css lays them out): Tab follows it.
                { self.view_toolbar(ctx) }
                <section class="panel view-panel" aria-labelledby="view-h">
                    <h2 id="view-h" class="panel-title">{ "Cluster" }</h2>
                    { self.view_cluster(ctx, throttle) }
                    { view::legend() }
                </section>
                { self.view_scenario(ctx) }
                { self.panel(slot::GUIDE, &turn, throttle, keys[slot::GUIDE], || self.view_panels(ctx, Side::Guide)) }
                { self.panel(slot::FAULTS, &turn, throttle, keys[slot::FAULTS], || self.view_faults(ctx)) }
                { self.panel(slot::LOG, &turn, throttle, keys[slot::LOG], || self.view_log(ctx)) }
                { self.panel(slot::CLIENTS, &turn, throttle, keys[slot::CLIENTS], || self.view_clients()) }
                { self.lens_panel(&turn, throttle) }
                { self.panel(slot::METRICS, &turn, throttle, keys[slot::METRICS], || self.view_panels(ctx, Side::Metrics)) }
                { self.panel(slot::CAUSAL, &turn, throttle, keys[slot::CAUSAL], || self.view_panels(ctx, Side::Causal)) }
                { self.panel(slot::SEQUENCE, &turn, throttle, keys[slot::SEQUENCE], || self.view_panels(ctx, Side::Sequence)) }
                { self.panel(slot::STREAMS, &turn, throttle, keys[slot::STREAMS], || self.view_panels(ctx, Side::Streams)) }
            </div>
        }
    }
}

impl Playground {
    /// The log panel is `content-visibility: auto` (style.css): while it is
    /// off screen its lines are not laid out, so the scroll to the newest
    /// line in `rendered` finds no height and leaves it at the top. When the
    /// panel comes on screen (`contentvisibilityautostatechange`), scroll it
    /// to the bottom again if it follows the newest line. Installed once per
    /// panel element; called after a render that rebuilt the log.
    fn stick_log_on_show(&mut self) {
        #[cfg(target_arch = "wasm32")]
        {
            let Some(scroll) = self.log_ref.cast::<web_sys::Element>() else {
                self.log_show = None; // no log panel now: drop the old one's listener
                return;
            };
            let Some(panel) = scroll.closest(".log-panel").ok().flatten() else { return };
            if self.log_show.as_ref().is_some_and(|(e, _)| *e == panel) {
                return;
            }
            let stick = self.log_stick.clone();
            let at = panel.clone();
            let l = gloo::events::EventListener::new(&panel, "contentvisibilityautostatechange", move |e| {
                // Only when it comes on screen (`skipped` false): going off
                // screen its lines are not laid out.
                let skipped = js_sys::Reflect::get(e, &"skipped".into()).ok().and_then(|v| v.as_bool());
                if skipped == Some(true) {
                    return;
                }
                if let (true, Ok(Some(scroll))) = (stick.get(), at.query_selector(".log-scroll")) {
                    scroll.set_scroll_top(scroll.scroll_height());
                }
            });
            self.log_show = Some((panel, l));
        }
    }

    /// Draw the frames in flight in the drawing's overlay (frames.rs).
    fn paint_frames(&self) {
        #[cfg(target_arch = "wasm32")]
        if let (Some(s), Some(l)) = (&self.session, &self.layout) {
            frames::paint(&self.frames_ref, &self.tip_ref, &self.canvas.svg, &s.world, l, self.reduced_motion);
        }
    }

    /// This frame's refresh turn while playing: of the panel slots and Raft
    /// lens groups whose last build is older than [`PANEL_REFRESH_MS`], the
    /// one that has waited longest (so none is starved, however many there
    /// are). Not a turn: a panel far off screen without a live region
    /// ([`OFFSCREEN_SKIPPABLE`]), or a keyed panel (the faults panel) while
    /// its key in `keys` is the one its last build had.
    fn turn(&self, keys: &[Option<u64>; slot::COUNT]) -> Turn {
        let now = now_ms();
        let seen = PANELS_SEEN.with(|m| m.get());
        let mut best = (PANEL_REFRESH_MS, Turn::None);
        let mut consider = |age: f64, t: Turn| {
            if age >= best.0 {
                best = (age, t);
            }
        };
        PANELS.with(|p| {
            for (slot, cached) in p.borrow().iter().enumerate() {
                let Some((at, _, _, was)) = cached else { continue };
                let same = was.is_some() && *was == keys[slot];
                if !same && seen & (1 << slot) != 0 {
                    consider(now - at, Turn::Slot(slot));
                }
            }
        });
        LENS.with(|l| {
            for (key, at, _, _) in &l.borrow().groups {
                consider(now - at, Turn::Lens(key.clone()));
            }
        });
        best.1
    }

    /// Panel `slot`'s html: `build()`, or while playing and rendering for
    /// animation frames (`throttle`) its last build unless this frame's
    /// [`Turn`] is this slot's, so no frame pays for more than one panel. A
    /// panel whose content a `key` tells (the faults panel: liveness,
    /// partitions, roles, console output) keeps its last build while the key
    /// is the same, however old. `throttle` is false for a render that must
    /// rebuild them all (see `view`).
    fn panel(&self, slot: usize, turn: &Turn, throttle: bool, key: Option<u64>, build: impl FnOnce() -> Html) -> Html {
        let now = now_ms();
        PANELS.with(|p| {
            let mut p = p.borrow_mut();
            let Some(cached) = p.get_mut(slot) else {
                return build();
            };
            if throttle && *turn != Turn::Slot(slot) {
                if let Some((_, version, html, _)) = cached.as_ref() {
                    return frozen(*version, html.clone());
                }
            }
            let html = build();
            let version = next_version();
            *cached = self.playing.then(|| (now, version, html.clone(), key));
            frozen(version, html)
        })
    }

    /// The Raft lens, refreshed a group at a time: while playing and
    /// rendering for animation frames, a group's section is rebuilt on its
    /// [`Turn`] (see [`Self::turn`]); the others keep their last build (a
    /// [`Frozen`] each, keyed by `lens::Group::key`). A group new to the lens
    /// appears on the lens's next turn (at once in a full render). A lens of
    /// three groups costs a third per refresh this way (README "Benchmarks",
    /// frame time). Every section keeps its election status live region.
    fn lens_panel(&self, turn: &Turn, throttle: bool) -> Html {
        let Some(s) = &self.session else {
            return html! {};
        };
        let now = now_ms();
        let my_turn = |key: &str| matches!(turn, Turn::Lens(k) if k == key);
        LENS.with(|cache| {
            let mut cache = cache.borrow_mut();
            if throttle && !matches!(turn, Turn::Lens(_)) {
                if let Some((version, html)) = &cache.panel {
                    return frozen(*version, html.clone());
                }
            }
            let Some((groups, more)) = lens::lens_groups(&s.world) else {
                *cache = LensBuild::default();
                return html! {};
            };
            let multi = lens::multi_cluster(&groups);
            let mut old = std::mem::take(&mut cache.groups);
            for g in &groups {
                let key = g.key();
                let kept = old.iter().position(|(k, ..)| *k == key).map(|i| old.swap_remove(i));
                let entry = match kept {
                    Some(k) if throttle && !my_turn(&key) => k,
                    _ => (key, now, next_version(), lens::group_html(g, &s.recent, multi)),
                };
                cache.groups.push(entry);
            }
            let parts = cache
                .groups
                .iter()
                .map(|(key, _, version, html)| html! { <Frozen key={key.as_str()} version={*version} html={html.clone()} /> })
                .collect();
            let version = next_version();
            let panel = lens::lens_frame(&groups, more, parts);
            if self.playing {
                cache.panel = Some((version, panel.clone()));
            } else {
                *cache = LensBuild::default();
            }
            frozen(version, panel)
        })
    }
}

/// A numeric column header shown short, read in full (the visible
/// abbreviation is hidden from screen readers; the full word is there).
fn short_th(short: &'static str, full: &'static str) -> Html {
    if short == full {
        return html! { <th scope="col" class="num">{ full }</th> };
    }
    html! {
        <th scope="col" class="num" title={full}>
            <span aria-hidden="true">{ short }</span><span class="visually-hidden">{ full }</span>
        </th>
    }
}

/// A 16×16 filled icon for a button (decorative: the button's text names it).
fn icon(d: &'static str) -> Html {
    html! {
        <svg class="icon" viewBox="0 0 16 16" width="14" height="14" aria-hidden="true" focusable="false">
            <path d={d} fill="currentColor" />
        </svg>
    }
}

/// A 16×16 outlined icon.
fn icon_stroke(d: &'static str) -> Html {
    html! {
        <svg class="icon" viewBox="0 0 16 16" width="14" height="14" aria-hidden="true" focusable="false">
            <path d={d} fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" />
        </svg>
    }
}

impl Playground {
    fn view_toolbar(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let (now, events, next): (Time, u64, Option<Time>) = match &self.session {
            Some(s) => (s.now(), s.world.metrics.events, s.world.next_event_time()),
            None => (0, 0, None),
        };
        let speed_label = speed::label(self.speed);
        let speed_text = format!("{speed_label} ({})", speed::per_second(self.speed));
        let play = if self.playing {
            html! {
                <button id="play" type="button" class="primary" onclick={link.callback(|_| Msg::Pause)}>
                    { icon("M3 2h3.5v12H3z M9.5 2H13v12H9.5z") }{ "Pause" }
                </button>
            }
        } else {
            html! {
                <button id="play" type="button" class="primary" onclick={link.callback(|_| Msg::Play)}
                    disabled={self.session.is_none()}>
                    { icon("M4 2l10 6-10 6z") }{ "Play" }
                </button>
            }
        };
        html! {
            <section class="panel toolbar" aria-label="Time control">
                <div class="buttons">
                    { play }
                    <button id="step" type="button" onclick={link.callback(|_| Msg::Step)}
                        title="Run the next event and say what it did" disabled={self.session.is_none()}>
                        { icon("M2 2l8 6-8 6z M11 2h3v12h-3z") }{ "Step" }
                    </button>
                    <button id="reset" type="button" onclick={link.callback(|_| Msg::Reset)}
                        title="Start this scenario again with the same seed" disabled={self.session.is_none()}>
                        { icon_stroke("M3.5 8a4.5 4.5 0 1 0 1.4-3.3 M2.5 2.5v3.5H6") }{ "Reset" }
                    </button>
                </div>
                <div class="speed">
                    <label for="speed">{ "Speed" }</label>
                    <input id="speed" type="range" min="0" max={(speed::SPEEDS.len() - 1).to_string()} step="1"
                        value={self.speed.to_string()} aria-valuetext={speed_text.clone()}
                        aria-describedby="speed-out"
                        oninput={link.callback(|e: InputEvent| {
                            let el: web_sys::HtmlInputElement = e.target_unchecked_into();
                            Msg::Speed(el.value())
                        })} />
                    <output id="speed-out" for="speed" title={speed_text}>{ speed_label }</output>
                </div>
                <div class="clock-box" data-events={events.to_string()} data-now-ns={now.to_string()}>
                    <span class="muted">{ "Virtual time " }</span>
                    <span id="clock" class="clock">{ fmt_time(now) }</span>
                    <span class="muted small" id="events">{ format!(" · {events} events") }</span>
                    <span class="muted small">
                        { match next { Some(t) => format!(" · next at {}", fmt_time(t)), None => " · nothing scheduled".to_string() } }
                    </span>
                    if self.behind {
                        <span class="warn small">{ " · running behind: too many events for this speed" }</span>
                    }
                    if self.hidden && self.playing {
                        <span class="muted small">{ " · tab hidden: paused" }</span>
                    }
                </div>
                <p id="status" class="status" role="status">
                    {
                        match &self.status {
                            Status::None => html! {},
                            Status::Info(t) => html! { { t.clone() } },
                            Status::Error(t) => html! { <span class="error">{ t.clone() }</span> },
                        }
                    }
                </p>
                { self.view_timeline(ctx) }
            </section>
        }
    }

    fn view_scenario(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let (name, description) = match &self.session {
            Some(s) => (s.world.scenario().name.clone(), s.world.scenario().description.clone()),
            None => (String::new(), String::new()),
        };
        html! {
            <section class="panel scenario" aria-labelledby="scenario-h">
                <h2 id="scenario-h" class="panel-title">{ "Scenario" }</h2>
                <div class="row">
                    <div class="field">
                        <label for="scenario">{ "Example" }</label>
                        <select id="scenario" onchange={link.callback(|e: Event| {
                            let el: web_sys::HtmlSelectElement = e.target_unchecked_into();
                            Msg::Pick(el.value())
                        })}>
                            { for EXAMPLES.iter().map(|e| html! {
                                <option value={e.id} selected={self.example == e.id}>{ examples::title(e) }</option>
                            }) }
                            if self.example == CUSTOM {
                                <option value={CUSTOM} selected=true disabled=true>{ "Your scenario text" }</option>
                            }
                        </select>
                    </div>
                    <div class="field">
                        <label for="seed">{ "Seed" }</label>
                        <input id="seed" type="text" inputmode="numeric" autocomplete="off" spellcheck="false"
                            size="12" value={self.seed_text.clone()}
                            aria-invalid={self.seed_error.is_some().then_some("true")}
                            aria-describedby="seed-help"
                            onchange={link.callback(|e: Event| {
                                let el: web_sys::HtmlInputElement = e.target_unchecked_into();
                                Msg::Seed(el.value())
                            })} />
                        <span id="seed-help" class="muted small">{ "Same scenario and seed, same run. Enter to apply." }</span>
                    </div>
                </div>
                if let Some(e) = &self.seed_error {
                    <p id="seed-error" class="error" role="alert">{ e.clone() }</p>
                }
                if let Some(e) = &self.load_error {
                    <p id="load-error" class="error" role="alert">
                        { format!("The scenario could not be loaded: {e}") }
                        if self.session.is_some() { { " The previous run is still shown." } }
                    </p>
                }
                if !name.is_empty() {
                    <h3 class="scenario-name">{ text::display(&name) }</h3>
                }
                if !description.is_empty() {
                    <p class="scenario-desc">{ text::display_max(&description, 1000) }</p>
                }
                <details class="scenario-text">
                    <summary>{ "Scenario text (edit and load)" }</summary>
                    <label for="scenario-text" class="visually-hidden">{ "Scenario text" }</label>
                    <textarea id="scenario-text" spellcheck="false" rows="14" value={self.draft.clone()}
                        oninput={link.callback(|e: InputEvent| {
                            let el: web_sys::HtmlTextAreaElement = e.target_unchecked_into();
                            Msg::Draft(el.value())
                        })} />
                    <button id="load-text" type="button" onclick={link.callback(|_| Msg::LoadDraft)}>{ "Load this text" }</button>
                </details>
            </section>
        }
    }

    /// What the faults panel shows that can change while playing: the
    /// world's faults, liveness, roles and clients ([`view::world_key`]) and
    /// the console's output (entries and their line counts). The console
    /// follows the trace here, every render, so it misses nothing while its
    /// panel is kept.
    fn faults_key(&self) -> Option<u64> {
        let s = self.session.as_ref()?;
        let mut console = self.console.borrow_mut();
        console.sync(s);
        let mut h = view::world_key(&s.world);
        for e in &console.entries {
            h = view::fold_key(h, e.n);
            h = view::fold_key(h, e.lines.len() as u64);
        }
        Some(h)
    }

    /// One of the panels beside the drawing, each its own refresh slot:
    /// guide and guarantees, metrics, causal trace, sequence diagram, stream
    /// info (src/playground/guide.rs, metrics.rs, causal.rs, sequence.rs,
    /// console.rs); the first three read the trace through `watch`.
    fn view_panels(&self, ctx: &Context<Self>, side: Side) -> Html {
        let Some(s) = &self.session else {
            return html! {};
        };
        let mut watch = self.watch.borrow_mut();
        watch.sync(s);
        let link = ctx.link();
        let watch = &mut *watch;
        match side {
            Side::Guide => html! {
                <>
                    { guide::guide_view(&s.world, &watch.narrator, link.callback(|_| Msg::GuideNext)) }
                    { metrics::guarantees_view(watch.metrics.guarantees(&s.world, self.playing), link.callback(Msg::GotoTime)) }
                </>
            },
            Side::Metrics => metrics::metrics_view(&s.world, &mut watch.metrics),
            Side::Causal => causal::causal_view(
                &watch.causal,
                self.causal_pick,
                link.callback(Msg::CausalPick),
                link.callback(|_| Msg::CausalClose),
            ),
            Side::Sequence => sequence::sequence_view(&s.world),
            Side::Streams => console::streams_view(&s.world),
        }
    }

    fn view_faults(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let Some(s) = &self.session else {
            return html! {};
        };
        let w = &s.world;
        let n = w.servers.len();
        let roles = view::JsRoles::of(w);
        let rows = w.servers.iter().enumerate().map(|(i, slot)| {
            let name = slot.config.name.clone();
            let state = view::liveness_name(slot.liveness);
            let cut_from: Vec<&str> = (0..n)
                .filter(|&j| j != i && (w.is_cut(i as Endpoint, j as Endpoint) || w.is_cut(j as Endpoint, i as Endpoint)))
                .map(|j| w.name(j as Endpoint))
                .collect();
            let where_ = match (&slot.config.az, &slot.config.region) {
                (Some(az), Some(r)) => format!("{} · {az} · {r}", slot.config.cluster),
                (Some(az), None) => format!("{} · {az}", slot.config.cluster),
                (None, Some(r)) => format!("{} · {r}", slot.config.cluster),
                (None, None) => slot.config.cluster.clone(),
            };
            let button = |label: &'static str, enabled: bool, fault: Fault| {
                let aria = format!("{label} {name}");
                html! {
                    <button type="button" class={classes!("fault", label.to_lowercase().replace(' ', "-"))} aria-label={aria}
                        disabled={!enabled} onclick={link.callback(move |_| Msg::Fault(fault.clone()))}>
                        { label }
                    </button>
                }
            };
            let role = roles.describe(i);
            let js = slot.config.jetstream;
            let up = slot.liveness == Liveness::Up;
            let down = slot.liveness == Liveness::Down;
            let paused = slot.liveness == Liveness::Paused;
            html! {
                <tr key={name.clone()} data-server={name.clone()}>
                    <th scope="row">{ text::short(&name, 24) }</th>
                    <td class="muted small">{ text::short(&where_, 60) }</td>
                    <td class={classes!("state", state)}>
                        { state }
                        if let Some(role) = &role {
                            <span class="small role">{ format!(" · {role}") }</span>
                        }
                        if !cut_from.is_empty() {
                            <span class="small">{ format!(" · cut from {}", cut_from.join(", ")) }</span>
                        }
                    </td>
                    <td class="actions">
                        { button("Kill", !down, Fault::Kill(name.clone())) }
                        if js {
                            { button("Power loss", !down, Fault::PowerLoss(name.clone())) }
                        }
                        { button("Restart", down, Fault::Restart(name.clone())) }
                        { button("Pause", up, Fault::Pause(name.clone())) }
                        { button("Resume", paused, Fault::Resume(name.clone())) }
                        { button("Isolate", !down, Fault::Isolate(name.clone())) }
                    </td>
                </tr>
            }
        });
        let mut console = self.console.borrow_mut();
        console.sync(s);
        let console_html = console::console_view(console::ConsoleProps {
            world: w,
            console: &console,
            command: &self.command,
            result: match &self.command_result {
                Status::None => None,
                Status::Info(t) => {
                    let waiting = !self.playing && self.command_moment == Some(s.moment());
                    Some((console::settle_status(t, waiting).to_string(), false))
                }
                Status::Error(t) => Some((t.clone(), true)),
            },
            on_input: link.callback(Msg::CommandInput),
            on_submit: link.callback(|_| Msg::RunCommand),
            on_history: link.callback(Msg::CommandHistory),
            playing: self.playing,
            listed: self.command_listed.as_deref() == Some(self.command.as_str()),
            on_list: link.callback(|_| Msg::CommandList),
        });
        html! {
            <section class="panel faults" aria-labelledby="faults-h">
                <h2 id="faults-h" class="panel-title">{ "Faults" }</h2>
                <div class="table-wrap">
                    <table class="fault-table">
                        <caption class="visually-hidden">{ "Servers and fault controls" }</caption>
                        <thead><tr>
                            <th scope="col">{ "Server" }</th><th scope="col">{ "Where" }</th>
                            <th scope="col">{ "State" }</th><th scope="col">{ "Actions" }</th>
                        </tr></thead>
                        <tbody>{ for rows }</tbody>
                    </table>
                </div>
                <p>
                    <button id="heal" type="button" onclick={link.callback(|_| Msg::Fault(Fault::Heal(None)))}>
                        { "Heal all partitions" }
                    </button>
                </p>
                { canvas::split_buttons(w, link.callback(Msg::Fault)) }
                { console_html }
            </section>
        }
    }

    fn view_clients(&self) -> Html {
        let Some(s) = &self.session else {
            return html! {};
        };
        let w = &s.world;
        let rows = w.clients.iter().map(|c| {
            let n = &c.node;
            let conn = match n.state {
                ConnState::Connected { server } => w.name(server).to_string(),
                ConnState::Connecting { server } | ConnState::Handshake { server } => {
                    format!("connecting to {}", w.name(server))
                }
                ConnState::Disconnected => "disconnected".to_string(),
            };
            let st = &n.stats;
            html! {
                <tr key={n.config.name.clone()} data-client={n.config.name.clone()}>
                    <th scope="row">{ text::short(&n.config.name, 24) }</th>
                    <td>{ conn }</td>
                    <td class="num">{ st.published }</td>
                    <td class="num">{ st.received }</td>
                    <td class="num">{ st.replies }</td>
                    <td class="num">{ st.no_responders }</td>
                    <td class="num">{ st.timeouts }</td>
                </tr>
            }
        });
        html! {
            <section class="panel clients" aria-labelledby="clients-h">
                <h2 id="clients-h" class="panel-title">{ "Clients" }</h2>
                <div class="table-wrap">
                    <table class="client-table">
                        <caption class="visually-hidden">{ "Per-client counters" }</caption>
                        <thead><tr>
                            <th scope="col">{ "Client" }</th>
                            <th scope="col">{ "Server" }</th>
                            { short_th("Pub.", "Published") }
                            { short_th("Recv.", "Received") }
                            { short_th("Replies", "Replies") }
                            { short_th("No resp.", "No responders") }
                            { short_th("Timeouts", "Timeouts") }
                        </tr></thead>
                        <tbody>{ for rows }</tbody>
                    </table>
                </div>
            </section>
        }
    }

    fn view_log(&self, ctx: &Context<Self>) -> Html {
        self.log_dirty.set(true);
        let stick = self.log_stick.clone();
        let onscroll = Callback::from(move |e: Event| {
            let el: web_sys::Element = e.target_unchecked_into();
            stick.set(el.scroll_top() + el.client_height() >= el.scroll_height() - 8);
        });
        let count = self.session.as_ref().map_or(0, |s| s.log.len());
        // While playing and following the newest line, only the newest
        // LOG_LIVE lines are drawn (a refresh replaces most of them: with all
        // 500 it was the costliest panel of a frame; README "Frame time");
        // paused, or scrolled up to read, all of them.
        let live = self.playing && self.log_stick.get();
        let skip = if live { count.saturating_sub(LOG_LIVE) } else { 0 };
        let entries = self.session.iter().flat_map(|s| s.log.iter()).skip(skip);
        // Keyed by event while most lines stay between two renders, so only
        // the new lines are created (and announced: aria-relevant=additions).
        // When more than half the log turned over since the last render
        // (fast play), reuse the <li> elements in place instead of removing
        // and creating hundreds of them.
        let first = self.session.as_ref().and_then(|s| s.log.get(skip)).map_or(0, |e| e.seq);
        let last_first = self.log_first.replace(first);
        let keyed = first.saturating_sub(last_first) < ((count - skip) / 2) as u64;
        let line = |e: &session::LogEntry| {
            let inner = html! {
                <>
                    <span class="t">{ fmt_time(e.at) }</span>{ " " }
                    if e.class == "ack" {
                        // A PubAck: show its causal trace.
                        <button type="button" class="what ack-link" title="Show this PubAck's causal trace"
                            onclick={ctx.link().callback({ let seq = e.seq; move |_| Msg::CausalPick(seq) })}>
                            { e.text.clone() }
                        </button>
                    } else {
                        <span class="what">{ e.text.clone() }</span>
                    }
                </>
            };
            if keyed {
                html! { <li key={e.seq} class={e.class}>{ inner }</li> }
            } else {
                html! { <li class={e.class}>{ inner }</li> }
            }
        };
        html! {
            <section class="panel log-panel" aria-labelledby="log-h">
                <h2 id="log-h" class="panel-title">{ "Event log" }</h2>
                <p class="muted small">
                    { format!("Most recent at the bottom; the last {} headline events (frames are not listed).", session::LOG_CAP) }
                    if skip > 0 {
                        { format!(" While playing, the newest {LOG_LIVE} are shown: pause or scroll up for all.") }
                    }
                </p>
                <div class="log-scroll" ref={self.log_ref.clone()} onscroll={onscroll} tabindex="0"
                    aria-label="Event log entries">
                    <ol id="log" class="log" aria-live="polite" aria-relevant="additions">
                        { for entries.map(line) }
                    </ol>
                    if count == 0 {
                        <p class="muted small">{ "Nothing has happened yet. Press Play or Step." }</p>
                    }
                </div>
            </section>
        }
    }
}
