//! The jetsim playground: a Yew front end over `jetsim-core`, built for
//! `wasm32-unknown-unknown` only (see the README's "Quick start").
//!
//! Layout:
//! - [`app`]: the root component (page shell).
//! - [`components`]: the pieces of the page.
//! - [`panic`]: a panic hook that shows a visible error instead of a blank page.
//! - [`playground`]: the playground itself (cluster view, time control,
//!   faults, event log); [`examples`] are the scenarios it offers; [`text`]
//!   makes untrusted text safe to show.
//! - [`hooks`]: `window.jetsim.bench` / `traceHash` for the browser tests.
//!
//! Boot: [`start`] runs when the module is instantiated (wasm-bindgen `start`);
//! it mounts [`app::App`] into `#jetsim` (or `<body>` if the page has no such
//! element). After the first render the app sets `data-ready="1"` on
//! `<body>`; tests wait for that marker.

pub mod app;
pub mod components;
pub mod examples;
pub mod hooks;
pub mod panic;
pub mod playground;
pub mod text;
pub mod url;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen::prelude::wasm_bindgen;

/// The id of the element the app mounts into.
pub const ROOT_ID: &str = "jetsim";

/// A URL fragment that makes the app panic on start, so tests can check that
/// a panic produces a visible message.
pub const TEST_PANIC_FRAGMENT: &str = "#jetsim-test-panic";

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen(start)]
pub fn start() {
    panic::install();
    hooks::install();
    let document = gloo::utils::document();
    if gloo::utils::window().location().hash().ok().as_deref() == Some(TEST_PANIC_FRAGMENT) {
        panic!("test panic requested by the URL fragment {TEST_PANIC_FRAGMENT}");
    }
    match document.get_element_by_id(ROOT_ID) {
        Some(root) => {
            // Drop the static "Loading…" placeholder.
            root.set_inner_html("");
            yew::Renderer::<app::App>::with_root(root).render();
        }
        None => {
            yew::Renderer::<app::App>::new().render();
        }
    }
}
