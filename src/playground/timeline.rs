//! The time machine's controls: step back, back to the start, a timeline to
//! scrub back to any earlier moment, "fork from here", go to a typed time,
//! keyboard shortcuts (see [`super::keys`]), presenter mode, loading a
//! scenario from a file and saving it, and the URL that holds the run.
//!
//! The state lives in [`TimeState`], one field of the component; the logic
//! is in `impl Playground` blocks here so `mod.rs` only delegates.

use jetsim_core::time::{fmt_time, parse_duration, Time};
use yew::prelude::*;

use super::keys::{self, Key};
use super::session::{Arrived, Moment, Session};
use super::{now_ms, Msg, Playground, Status, CUSTOM};
use crate::examples::{self, EXAMPLES};
use crate::url::{self, Shared, Source};

/// The time machine's messages (wrapped in [`Msg::Time`]).
pub enum TimeMsg {
    Key(Key),
    StepBack,
    Start,
    /// The timeline slider moved (ns, as text): show where it would go.
    Scrub(String),
    /// The timeline slider was released (ns, as text): go there.
    Goto(String),
    GotoInput(String),
    /// Go to the typed time (`1.5s`, `300ms`).
    GotoTyped,
    Fork,
    Presenter,
    Help(bool),
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    FileChosen(web_sys::File),
    FileLoaded(String, Result<String, String>),
    Save,
    HashChanged,
}

/// The time machine's part of the component's state.
#[derive(Default)]
pub struct TimeState {
    pub presenter: bool,
    help: bool,
    /// The keys list just opened (true) or closed (false): where focus goes
    /// after the render (`focus_help`).
    help_focus: Option<bool>,
    /// Where the slider is while being dragged (not yet gone to).
    scrub: Option<Time>,
    goto_text: String,
    /// The fragment last written to (or read from) the address bar.
    written: String,
    _keys: Option<gloo::events::EventListener>,
    _hash: Option<gloo::events::EventListener>,
    #[cfg(target_arch = "wasm32")]
    reader: Option<gloo::file::callbacks::FileReader>,
    #[cfg(target_arch = "wasm32")]
    saved: Option<gloo::file::ObjectUrl>,
}

/// The largest scenario file read.
const MAX_FILE: f64 = 256.0 * 1024.0;

fn location_hash() -> String {
    #[cfg(target_arch = "wasm32")]
    {
        gloo::utils::window().location().hash().unwrap_or_default()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        String::new()
    }
}

/// `file name.jetsim` for a scenario's name (letters, digits, `-`).
pub fn file_name(name: &str) -> String {
    let mut s: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    while s.contains("--") {
        s = s.replace("--", "-");
    }
    let s = s.trim_matches('-');
    let s = if s.is_empty() { "scenario" } else { &s[..s.len().min(60)] };
    format!("{s}.jetsim")
}

impl Playground {
    /// Listeners for shortcuts and for the address bar's fragment; then
    /// open the run the URL describes, if any. Called once from `create`.
    pub(super) fn time_start(&mut self, ctx: &Context<Self>) {
        #[cfg(target_arch = "wasm32")]
        {
            let link = ctx.link().clone();
            self.time._keys = Some(keys::listen(move |k| link.send_message(Msg::Time(TimeMsg::Key(k)))));
            let link = ctx.link().clone();
            self.time._hash = Some(gloo::events::EventListener::new(&gloo::utils::window(), "hashchange", move |_| {
                link.send_message(Msg::Time(TimeMsg::HashChanged))
            }));
        }
        #[cfg(not(target_arch = "wasm32"))]
        let _ = ctx;
        self.open_link(&location_hash());
    }

    /// Open the run a URL fragment describes (nothing if it is not ours).
    fn open_link(&mut self, hash: &str) {
        self.time.written = hash.trim_start_matches('#').to_string();
        let shared = match url::decode(hash) {
            Ok(None) => return,
            Ok(Some(s)) => s,
            Err(e) => {
                self.status = Status::Error(format!("The link could not be opened: {e}."));
                return;
            }
        };
        let (text, example) = match &shared.source {
            Source::Example(id) => match examples::find(id) {
                Some(e) => (e.text.to_string(), e.id.to_string()),
                None => {
                    self.status = Status::Error(format!(
                        "The link could not be opened: it names the example \"{}\", which this page does not have.",
                        crate::text::display_max(id, 40)
                    ));
                    return;
                }
            },
            Source::Text(t) => (t.clone(), CUSTOM.to_string()),
        };
        let started = now_ms();
        let built = Session::with_inputs(&text, shared.seed, shared.inputs.clone())
            .and_then(|mut s| s.goto(shared.at).map(|a| (s, a)));
        match built {
            Ok((s, arrived)) => {
                let seed = s.seed;
                let inputs = s.inputs().len();
                self.install(s);
                self.speed = shared
                    .speed
                    .and_then(|sp| super::speed::SPEEDS.iter().position(|&x| x == sp))
                    .unwrap_or(super::speed::DEFAULT);
                self.draft = text;
                self.example = if example == CUSTOM {
                    EXAMPLES.iter().find(|e| e.text == self.draft).map_or(CUSTOM.to_string(), |e| e.id.to_string())
                } else {
                    example
                };
                let took = now_ms() - started;
                self.status = Status::Info(format!(
                    "Opened the link: seed {seed}, {inputs} recorded input{}, {}{}",
                    if inputs == 1 { "" } else { "s" },
                    arrived_text(&arrived),
                    took_text(took)
                ));
            }
            Err(e) => self.status = Status::Error(format!("The link could not be opened: {e}")),
        }
    }

    /// The URL fragment for the current run.
    fn fragment(&self) -> Option<String> {
        let s = self.session.as_ref()?;
        let source = match examples::find(&self.example) {
            Some(e) if e.text == &*s.text => Source::Example(e.id.to_string()),
            _ => Source::Text(s.text.to_string()),
        };
        // The speed only when it is not the default, so most links stay short.
        let speed = super::speed::SPEEDS.get(self.speed).copied().filter(|_| self.speed != super::speed::DEFAULT);
        Some(url::encode(&Shared { source, seed: Some(s.seed), at: s.moment(), inputs: s.inputs().to_vec(), speed }))
    }

    /// Write the run into the address bar (replacing the entry, not adding
    /// one) when it changed; not while playing. Called after each render.
    pub(super) fn sync_url(&mut self) {
        if self.playing {
            return;
        }
        let Some(f) = self.fragment() else {
            return;
        };
        if f == self.time.written {
            return;
        }
        #[cfg(target_arch = "wasm32")]
        {
            let w = gloo::utils::window();
            if let Ok(h) = w.history() {
                let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&format!("#{f}")));
            }
        }
        self.time.written = f;
    }

    fn go(&mut self, target: Moment, what: &str) {
        self.pause();
        let Some(s) = self.session.as_mut() else {
            return;
        };
        let started = now_ms();
        self.status = match s.goto(target) {
            Ok(a) => Status::Info(format!("{what}: {}{}", arrived_text(&a), took_text(now_ms() - started))),
            Err(e) => Status::Error(e),
        };
    }

    pub(super) fn update_time(&mut self, ctx: &Context<Self>, msg: TimeMsg) -> bool {
        match msg {
            TimeMsg::Key(k) => match k {
                Key::TogglePlay => {
                    let m = if self.playing { Msg::Pause } else { Msg::Play };
                    return Component::update(self, ctx, m);
                }
                Key::Step => return Component::update(self, ctx, Msg::Step),
                Key::StepBack => return self.update_time(ctx, TimeMsg::StepBack),
                Key::Faster | Key::Slower => {
                    let i = if k == Key::Faster { self.speed + 1 } else { self.speed.saturating_sub(1) };
                    return Component::update(self, ctx, Msg::Speed(i.to_string()));
                }
                Key::Start => return self.update_time(ctx, TimeMsg::Start),
                Key::Fork => return self.update_time(ctx, TimeMsg::Fork),
                Key::Presenter => return self.update_time(ctx, TimeMsg::Presenter),
                Key::Help => self.set_help(!self.time.help),
                Key::Close => self.set_help(false),
            },
            TimeMsg::StepBack => {
                self.pause();
                let Some(s) = self.session.as_mut() else {
                    return true;
                };
                let started = now_ms();
                self.status = match s.step_back() {
                    Ok(None) => Status::Info("Already at the start: nothing to undo.".into()),
                    Ok(Some(a)) => {
                        Status::Info(format!("Stepped back: {}{}", arrived_text(&a), took_text(now_ms() - started)))
                    }
                    Err(e) => Status::Error(e),
                };
            }
            TimeMsg::Start => self.go(Moment::START, "Back to the start"),
            TimeMsg::Scrub(v) => {
                self.time.scrub = v.trim().parse::<Time>().ok();
            }
            TimeMsg::Goto(v) => {
                self.time.scrub = None;
                match v.trim().parse::<Time>() {
                    Ok(t) if self.session.as_ref().is_some_and(|s| s.now() != t) => {
                        self.go(Moment::time(t), &format!("Went to {}", fmt_time(t)))
                    }
                    _ => return false,
                }
            }
            TimeMsg::GotoInput(v) => {
                self.time.goto_text = v;
                return false;
            }
            TimeMsg::GotoTyped => match goto_parse(&self.time.goto_text) {
                Ok(t) => self.go(Moment::time(t), &format!("Went to {}", fmt_time(t))),
                Err(e) => {
                    self.status = Status::Error(format!(
                        "Go to: {} (write a time such as 1.5s, 300ms or 250us, or a number of seconds).",
                        crate::text::display_max(&e, 100)
                    ))
                }
            },
            TimeMsg::Fork => {
                self.pause();
                if let Some(s) = self.session.as_mut() {
                    self.status = match s.fork() {
                        Some(f) => Status::Info(format!(
                            "Forked at {}: the recorded future (to {}, {} input{}) is gone; what you do now makes a new one.",
                            fmt_time(f.at),
                            fmt_time(f.horizon),
                            f.inputs,
                            if f.inputs == 1 { "" } else { "s" }
                        )),
                        None => Status::Info("Nothing to fork: this is already the newest moment of the run.".into()),
                    };
                }
            }
            TimeMsg::Presenter => self.time.presenter = !self.time.presenter,
            TimeMsg::Help(open) => self.set_help(open),
            TimeMsg::FileChosen(file) => {
                #[cfg(target_arch = "wasm32")]
                {
                    let name = file.name();
                    if file.size() > MAX_FILE {
                        self.load_error = Some(format!(
                            "{}: the file is {} bytes; a scenario is at most {} bytes.",
                            crate::text::display_max(&name, 60),
                            file.size(),
                            MAX_FILE
                        ));
                        return true;
                    }
                    let link = ctx.link().clone();
                    let f = gloo::file::File::from(file);
                    self.time.reader = Some(gloo::file::callbacks::read_as_text(&f, move |r| {
                        link.send_message(Msg::Time(TimeMsg::FileLoaded(name, r.map_err(|e| e.to_string()))))
                    }));
                }
                #[cfg(not(target_arch = "wasm32"))]
                let _ = (file, MAX_FILE);
            }
            TimeMsg::FileLoaded(name, r) => {
                #[cfg(target_arch = "wasm32")]
                {
                    self.time.reader = None;
                }
                let shown = crate::text::display_max(&name, 60);
                match r {
                    Err(e) => self.load_error = Some(format!("{shown}: {}", crate::text::display_max(&e, 200))),
                    Ok(text) => match self.load(&text, None) {
                        Ok(()) => {
                            self.example = EXAMPLES
                                .iter()
                                .find(|e| e.text == text)
                                .map_or(CUSTOM.to_string(), |e| e.id.to_string());
                            self.draft = text;
                            self.status = Status::Info(format!("Loaded the scenario file {shown}."));
                        }
                        Err(e) => self.load_error = Some(format!("{shown}: {e}")),
                    },
                }
            }
            TimeMsg::Save => {
                if let Some(s) = &self.session {
                    let name = file_name(&s.world.scenario().name);
                    #[cfg(target_arch = "wasm32")]
                    {
                        use wasm_bindgen::JsCast;
                        let blob = gloo::file::Blob::new_with_options(&*s.text, Some("text/plain"));
                        let href = gloo::file::ObjectUrl::from(blob);
                        let a = gloo::utils::document()
                            .create_element("a")
                            .ok()
                            .and_then(|a| a.dyn_into::<web_sys::HtmlElement>().ok());
                        if let Some(a) = a {
                            let _ = a.set_attribute("href", &href);
                            let _ = a.set_attribute("download", &name);
                            a.click();
                        }
                        // Revoked when the next save replaces it.
                        self.time.saved = Some(href);
                    }
                    self.status = Status::Info(format!("Saved the scenario as {name}."));
                }
            }
            TimeMsg::HashChanged => {
                let h = location_hash();
                if h.trim_start_matches('#') != self.time.written {
                    self.open_link(&h);
                }
            }
        }
        true
    }

    pub(super) fn view_timeline(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let Some(s) = &self.session else {
            return html! {};
        };
        let now = s.now();
        let horizon = s.horizon.at.max(now);
        let shown = self.time.scrub.unwrap_or(now);
        let inputs = s.inputs();
        let ahead = inputs.len() - s.applied();
        let can_fork = ahead > 0 || s.horizon > s.moment();
        let ticks = inputs.iter().enumerate().map(|(i, input)| {
            let x = if horizon == 0 { 0.0 } else { input.at.at as f64 / horizon as f64 * 1000.0 };
            let class = if i < s.applied() { "tick done" } else { "tick ahead" };
            html! {
                <line class={class} x1={format!("{x:.1}")} x2={format!("{x:.1}")} y1="0" y2="10">
                    <title>{ format!("{}: {}", fmt_time(input.at.at), crate::text::display_max(&input.line, 80)) }</title>
                </line>
            }
        });
        let here = if horizon == 0 { 0.0 } else { now as f64 / horizon as f64 * 1000.0 };
        let on_goto = link.callback(|e: SubmitEvent| {
            e.prevent_default();
            Msg::Time(TimeMsg::GotoTyped)
        });
        html! {
            <div class="timeline">
                <div class="buttons">
                    <button id="step-back" type="button" title="Undo the last event (←)"
                        onclick={link.callback(|_| Msg::Time(TimeMsg::StepBack))}>{ super::icon("M2 2h3v12H2z M14 2l-8 6 8 6z") }{ "Step back" }</button>
                    <button id="to-start" type="button" title="Back to the start, keeping the recorded future (Home)"
                        onclick={link.callback(|_| Msg::Time(TimeMsg::Start))}>{ super::icon("M2 2h2v12H2z M9.5 2l-5.5 6 5.5 6z M15 2l-5.5 6 5.5 6z") }{ "Start" }</button>
                    <button id="fork" type="button" disabled={!can_fork}
                        title="Drop the recorded future and continue from here (F)"
                        onclick={link.callback(|_| Msg::Time(TimeMsg::Fork))}>{ "Fork from here" }</button>
                </div>
                <div class="scrubber">
                    <label for="timeline">{ "Timeline" }</label>
                    <div class="track">
                        <input id="timeline" type="range" min="0" max={horizon.to_string()} step="1"
                            value={shown.to_string()}
                            aria-valuetext={format!("{} of {}", fmt_time(shown), fmt_time(horizon))}
                            oninput={link.callback(|e: InputEvent| {
                                let el: web_sys::HtmlInputElement = e.target_unchecked_into();
                                Msg::Time(TimeMsg::Scrub(el.value()))
                            })}
                            onchange={link.callback(|e: Event| {
                                let el: web_sys::HtmlInputElement = e.target_unchecked_into();
                                Msg::Time(TimeMsg::Goto(el.value()))
                            })} />
                        <svg class="ticks" viewBox="0 0 1000 10" preserveAspectRatio="none" aria-hidden="true">
                            { for ticks }
                            <line class="here" x1={format!("{here:.1}")} x2={format!("{here:.1}")} y1="0" y2="10" />
                        </svg>
                    </div>
                    <output id="timeline-out" for="timeline">
                        { format!("{} / {}", fmt_time(shown), fmt_time(horizon)) }
                    </output>
                </div>
                <form class="goto" onsubmit={on_goto}>
                    <label for="goto-time">{ "Go to" }</label>
                    <input id="goto-time" type="text" size="8" placeholder="1.5s" autocomplete="off" spellcheck="false"
                        value={self.time.goto_text.clone()}
                        oninput={link.callback(|e: InputEvent| {
                            let el: web_sys::HtmlInputElement = e.target_unchecked_into();
                            Msg::Time(TimeMsg::GotoInput(el.value()))
                        })} />
                    <button type="submit" id="goto-go">{ "Go" }</button>
                </form>
                <p id="timeline-info" class="muted small">
                    { format!("Recorded to {} · {} input{}", fmt_time(s.horizon.at), inputs.len(), if inputs.len() == 1 { "" } else { "s" }) }
                    if ahead > 0 {
                        { format!(" ({ahead} ahead: played again when you play on)") }
                    }
                    if let Some(f) = &s.forked {
                        <span id="forked">{ format!(" · forked at {} (dropped {} input{} and the run to {})", fmt_time(f.at), f.inputs, if f.inputs == 1 { "" } else { "s" }, fmt_time(f.horizon)) }</span>
                    }
                    { " · the address bar holds this moment: copy it to share." }
                </p>
                <div class="buttons files">
                    <label class="file-button">{ "Open file…" }
                    <input id="load-file" class="visually-hidden" type="file" accept=".jetsim,.txt,text/plain"
                        aria-label="Open a scenario file"
                        onchange={link.batch_callback(|e: Event| {
                            let el: web_sys::HtmlInputElement = e.target_unchecked_into();
                            let file = el.files().and_then(|l| l.get(0));
                            el.set_value("");
                            file.map(|f| Msg::Time(TimeMsg::FileChosen(f)))
                        })} /></label>
                    <button id="save-file" type="button" title="Download this scenario's text"
                        onclick={link.callback(|_| Msg::Time(TimeMsg::Save))}>{ "Save scenario" }</button>
                    <button id="presenter" type="button" aria-pressed={self.time.presenter.to_string()}
                        title="Bigger controls and text (P)"
                        onclick={link.callback(|_| Msg::Time(TimeMsg::Presenter))}>{ "Presenter mode" }</button>
                    <button id="keys-help" type="button" aria-expanded={self.time.help.to_string()} aria-controls="keys-list"
                        onclick={link.callback(|_| Msg::Time(TimeMsg::Key(Key::Help)))}>{ "Keys ?" }</button>
                </div>
                if self.time.help {
                    { keys_popover(html! {
                        <div id="keys-list" class="keys-help" role="dialog" aria-label="Keyboard shortcuts">
                            <dl>
                                { for keys::HELP.iter().map(|(k, what)| html! { <><dt><kbd>{ *k }</kbd></dt><dd>{ *what }</dd></> }) }
                            </dl>
                            <p class="muted small">{ "Not while typing in a field. Esc closes." }</p>
                            <button type="button" onclick={link.callback(|_| Msg::Time(TimeMsg::Help(false)))}>{ "Close" }</button>
                        </div>
                    }) }
                }
            </div>
        }
    }
}

impl Playground {
    fn set_help(&mut self, open: bool) {
        if self.time.help != open {
            self.time.help = open;
            self.time.help_focus = Some(open);
        }
    }

    /// After the keys list opened or closed: focus its Close button (it is
    /// drawn at the end of `<body>`, so Tab alone would not reach it next),
    /// or give focus back to the Keys button. Called after each render.
    pub(super) fn focus_help(&mut self) {
        let Some(open) = self.time.help_focus.take() else { return };
        #[cfg(target_arch = "wasm32")]
        {
            use wasm_bindgen::JsCast;
            let sel = if open { "#keys-list button" } else { "#keys-help" };
            let el = gloo::utils::document().query_selector(sel).ok().flatten();
            if let Some(el) = el.and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()) {
                let _ = el.focus();
            }
        }
        #[cfg(not(target_arch = "wasm32"))]
        let _ = open;
    }
}

/// The keys list, drawn in `<body>` (a portal): it is `position: fixed` so
/// that `?` shows it wherever the page is scrolled, and the panels are
/// containing blocks for fixed descendants (`will-change: transform`).
fn keys_popover(list: Html) -> Html {
    #[cfg(target_arch = "wasm32")]
    {
        yew::create_portal(list, gloo::utils::body().into())
    }
    #[cfg(not(target_arch = "wasm32"))]
    list
}

/// The Go to box's text as a moment: a duration as the scenario language
/// writes it (`1.5s`, `300ms`, `250us`), or a bare number of seconds (`1.5`:
/// a person typing into a time box means seconds, not nanoseconds).
pub fn goto_parse(text: &str) -> Result<Time, String> {
    let t = text.trim();
    if t.starts_with('-') {
        return Err(format!("{:?} is before the start: a moment is 0s or later", crate::text::display_max(t, 40)));
    }
    if !t.is_empty() && t.chars().all(|c| c.is_ascii_digit() || c == '.') {
        if !t.contains(|c: char| c.is_ascii_digit()) {
            return Err(format!("{:?} has no number", crate::text::display_max(t, 40)));
        }
        // Errors name the text as typed, not with the added unit.
        return parse_duration(&format!("{t}s")).map_err(|e| e.replace(&format!("\"{t}s\""), &format!("{t:?}")));
    }
    parse_duration(t)
}

fn arrived_text(a: &Arrived) -> String {
    let n = a.at.events;
    let mut t = format!("at {} ({n} event{})", fmt_time(a.at.at), if n == 1 { "" } else { "s" });
    if a.replayed {
        t.push_str(", replayed from the start");
    }
    if !a.complete {
        t.push_str(&format!(
            "; the replay stopped after {} events, short of the target (replays are capped)",
            super::session::MAX_REPLAY_EVENTS
        ));
    }
    t
}

fn took_text(ms: f64) -> String {
    if ms > 0.0 {
        format!(" in {ms:.0} ms.")
    } else {
        ".".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goto_takes_durations_and_bare_seconds() {
        use jetsim_core::time::{MS, SEC, US};
        assert_eq!(goto_parse("1.5s"), Ok(1500 * MS));
        assert_eq!(goto_parse(" 300ms "), Ok(300 * MS));
        assert_eq!(goto_parse("250us"), Ok(250 * US));
        assert_eq!(goto_parse("1.5"), Ok(1500 * MS), "a bare number is seconds");
        assert_eq!(goto_parse("12"), Ok(12 * SEC));
        assert!(goto_parse("-1s").unwrap_err().contains("before the start"));
        assert!(goto_parse("").is_err());
        assert!(goto_parse("1.2.3").is_err());
        assert!(goto_parse(".").unwrap_err().contains("no number"));
        assert_eq!(goto_parse("1."), Ok(SEC));
        let big = goto_parse("99999999999999999999").unwrap_err();
        assert!(big.contains("\"99999999999999999999\"") && !big.contains("999s"), "{big}");
        assert!(goto_parse("5 parsecs").unwrap_err().contains("unknown unit"));
    }

    #[test]
    fn file_names_are_safe() {
        assert_eq!(file_name("Core pub/sub across routes"), "core-pub-sub-across-routes.jetsim");
        assert_eq!(file_name("../../etc"), "etc.jetsim");
        assert_eq!(file_name(""), "scenario.jetsim");
        assert_eq!(file_name("ü"), "scenario.jetsim");
        assert!(file_name(&"a".repeat(500)).len() <= 60 + ".jetsim".len());
    }
}
