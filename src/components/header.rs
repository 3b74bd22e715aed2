use yew::prelude::*;

#[component]
pub fn Header() -> Html {
    html! {
        <header class="header">
            <h1 class="title">{ "jetsim" }</h1>
            <p class="tagline">{ "A NATS JetStream cluster simulator, in your browser" }</p>
        </header>
    }
}
