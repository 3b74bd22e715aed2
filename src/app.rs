//! The root component: header, main area, footer.

use yew::prelude::*;

use crate::components::{Footer, Header};
use crate::playground::Playground;

/// The attribute set on `<body>` after the first render (`data-ready="1"`).
pub const READY_ATTR: &str = "data-ready";

#[component]
pub fn App() -> Html {
    // Runs once, after the first render has reached the DOM.
    use_effect_with((), |_| {
        mark_ready();
    });

    html! {
        <div class="app">
            <Header />
            <main role="main" id="main" class="main">
                <Playground />
            </main>
            <Footer />
        </div>
    }
}

fn mark_ready() {
    #[cfg(target_arch = "wasm32")]
    if let Some(body) = gloo::utils::document().body() {
        let _ = body.set_attribute(READY_ATTR, "1");
    }
}
