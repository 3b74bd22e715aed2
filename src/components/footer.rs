use yew::prelude::*;

#[component]
pub fn Footer() -> Html {
    html! {
        <footer class="footer">
            { format!(
                "jetsim {} · models nats-server {} · deterministic: same scenario and seed, same run",
                env!("CARGO_PKG_VERSION"),
                jetsim_core::NATS_VERSION,
            ) }
        </footer>
    }
}
