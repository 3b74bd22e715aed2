//! A panic hook for the page: instead of a silently dead (or blank) page, show
//! the panic message in a visible banner and log it with `console.error`.
//!
//! The page's wasm is built with `panic = "abort"`, so after the hook returns
//! the module traps; the banner is what the user sees.

/// The id of the banner element.
pub const BANNER_ID: &str = "jetsim-panic";

/// Install the hook (idempotent: a second call replaces the first).
pub fn install() {
    std::panic::set_hook(Box::new(|info| report(&info.to_string())));
}

/// The banner text for a panic message.
pub fn banner_text(message: &str) -> String {
    format!("jetsim crashed: {message}. Reload the page to start again.")
}

#[cfg(target_arch = "wasm32")]
fn report(message: &str) {
    web_sys::console::error_1(&format!("jetsim panicked: {message}").into());
    show_banner(&banner_text(message));
}

#[cfg(not(target_arch = "wasm32"))]
fn report(message: &str) {
    eprintln!("{}", banner_text(message));
}

#[cfg(target_arch = "wasm32")]
fn show_banner(text: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let Some(body) = document.body() else {
        return;
    };
    let banner = match document.get_element_by_id(BANNER_ID) {
        Some(el) => el,
        None => {
            let Ok(el) = document.create_element("div") else {
                return;
            };
            el.set_id(BANNER_ID);
            let _ = el.set_attribute("role", "alert");
            let _ = el.set_attribute("class", "panic-banner");
            let _ = body.prepend_with_node_1(&el);
            el
        }
    };
    banner.set_text_content(Some(text));
    // A "Loading…" placeholder would now be a lie.
    if let Ok(Some(loading)) = document.query_selector("#jetsim > .loading") {
        loading.remove();
    }
    let _ = body.set_attribute("data-panic", "1");
}
