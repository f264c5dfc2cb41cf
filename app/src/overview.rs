//! The overview: where to go from here.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn Overview() -> impl IntoView {
    view! {
        <Title text="Overview"/>
        <div class="page-head"><h1>"Overview"</h1></div>
        <div class="tiles">
            <A href="/services" attr:class="tile"><h2>"Services"</h2><p class="muted">"The catalogue of service images in the registry."</p></A>
            <A href="/processes" attr:class="tile"><h2>"Processes"</h2><p class="muted">"Your running instances of services."</p></A>
            <A href="/connections" attr:class="tile"><h2>"Connections"</h2><p class="muted">"Links between the interfaces of your processes."</p></A>
            <A href="/nodes" attr:class="tile"><h2>"Nodes"</h2><p class="muted">"The hosts of the swarm and their pools."</p></A>
        </div>
    }
}
