//! # cairn-web
//!
//! Cairn's browser app: browse projects, artifacts, versions and files; create a version by
//! dropping files or whole folders; open any version as a draft, drop files to add or replace,
//! remove files or folders, review the diff and commit only the patch and the missing blobs.
//! Files are hashed and chunked in the browser with cairn-core, slice by slice, on a pool of Web
//! Workers; only the chunks the registry cannot reuse go up, in packs.

pub mod api;
pub mod bench;
pub mod chunked;
pub mod embed;
pub mod files;
pub mod fingerprints;
mod idb;
pub mod journal;
pub mod markdown;
pub mod message;
mod packer;
mod pages;
pub mod parquet;
pub mod pool;
pub mod size;
pub mod stage;
pub mod tree;

use leptos::prelude::*;
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::path;

/// The whole app; under `/embed/` the embeddable one (see [`embed`]).
#[component]
pub fn App() -> impl IntoView {
    if embed::active() {
        return view! { <Embedded/> }.into_any();
    }
    let signed_in = RwSignal::new(api::token().is_some());
    provide_context(signed_in);
    view! {
        <Router>
            <header class="top">
                <A href="/">"Cairn"</A>
                <pages::SignIn/>
            </header>
            <main>
                <Show when=move || signed_in.get() fallback=|| view! { <p class="hint">"Sign in with a registry token to begin."</p> }>
                    <AppRoutes/>
                </Show>
            </main>
        </Router>
    }
    .into_any()
}

/// The app without its chrome, in a host page's iframe; links stay under `/embed`.
#[component]
fn Embedded() -> impl IntoView {
    let signed_in = RwSignal::new(false);
    provide_context(signed_in);
    embed::start(signed_in);
    view! {
        <Router base=embed::BASE>
            <main class="embed">
                <Show when=move || signed_in.get() fallback=|| view! { <p class="hint" data-testid="embed-waiting">"Waiting for the host page to hand over a token…"</p> }>
                    <AppRoutes/>
                </Show>
            </main>
        </Router>
    }
}

#[component]
fn AppRoutes() -> impl IntoView {
    view! {
        <Routes fallback=|| view! { <p>"No such page."</p> }>
            <Route path=path!("/") view=pages::Home/>
            <Route path=path!("/:entity/:project") view=pages::Artifacts/>
            <Route path=path!("/:entity/:project/new") view=pages::Create/>
            <Route path=path!("/:entity/:project/:name") view=pages::Versions/>
            <Route path=path!("/:entity/:project/:name/:reference") view=pages::Files/>
            <Route path=path!("/:entity/:project/:name/:reference/draft") view=pages::DraftPage/>
            <Route path=path!("/:entity/:project/:name/:reference/compare/:other") view=pages::Compare/>
        </Routes>
    }
}
