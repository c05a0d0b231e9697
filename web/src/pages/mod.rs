//! Pages and the pieces they share.

mod browse;
mod changes;
mod compare;
mod curate;
mod edit;
mod folders;
mod linediff;
mod preview;
mod widgets;

pub use browse::{Artifacts, Files, Home, Versions};
pub use compare::Compare;
pub use edit::{Create, DraftPage};
pub use widgets::SignIn;

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

/// An app path as a link: under `/embed` when the app is embedded (the router's base applies
/// only to relative links).
pub(crate) fn link(path: String) -> String {
    if crate::embed::active() {
        format!("{}{path}", crate::embed::BASE)
    } else {
        path
    }
}

/// The route's parameters, read reactively.
#[derive(Clone, Copy)]
pub(crate) struct Params(Memo<leptos_router::params::ParamsMap>);

impl Params {
    pub(crate) fn get() -> Self {
        let map = use_params_map();
        Self(Memo::new(move |_| map.get()))
    }

    pub(crate) fn at(self, key: &'static str) -> String {
        self.0.get().get(key).unwrap_or_default()
    }

    /// The API path of the page's artifact (`…/projects/{entity}/{project}/artifacts/{name}`)
    /// + `rest`.
    pub(crate) fn artifact_api(self, rest: &str) -> String {
        crate::api::project_api(
            &self.at("entity"),
            &self.at("project"),
            &format!("/artifacts/{}{rest}", self.at("name")),
        )
    }
}

/// Where the page is: `projects / entity/project / artifact / version`, every level above the
/// page a link (the route's parameters say how deep it is).
#[component]
pub(crate) fn Crumbs() -> impl IntoView {
    let p = Params::get();
    move || {
        let (entity, project) = (p.at("entity"), p.at("project"));
        let (name, reference) = (p.at("name"), p.at("reference"));
        let project_path = format!("/{entity}/{project}");
        let mut levels = vec![("projects".to_owned(), "/".to_owned())];
        if !entity.is_empty() {
            levels.push((format!("{entity}/{project}"), project_path.clone()));
        }
        if !name.is_empty() {
            levels.push((name.clone(), format!("{project_path}/{name}")));
        }
        if !reference.is_empty() {
            levels.push((reference, String::new()));
        }
        let last = levels.len() - 1;
        view! {
            <nav class="crumbs" aria-label="breadcrumbs" data-testid="crumbs">
                {levels.into_iter().enumerate().map(|(i, (label, path))| {
                    let sep = (i > 0).then_some(" / ");
                    if i == last {
                        view! { {sep} <span aria-current="page">{label}</span> }.into_any()
                    } else {
                        view! { {sep} <leptos_router::components::A href=link(path)>{label}</leptos_router::components::A> }.into_any()
                    }
                }).collect_view()}
            </nav>
        }
    }
}

/// An RFC 3339 time as "5 minutes ago", with the exact time on hover.
pub(crate) fn when(iso: &str) -> impl IntoView + use<> {
    let then = js_sys::Date::parse(iso);
    let secs = ((js_sys::Date::now() - then) / 1000.0).max(0.0);
    let ago = if then.is_nan() {
        iso.to_owned()
    } else {
        relative(secs as u64)
    };
    view! { <time datetime=iso.to_owned() title=iso.to_owned()>{ago}</time> }
}

/// Seconds ago, in words.
fn relative(secs: u64) -> String {
    let (n, unit) = match secs {
        0..60 => return "just now".into(),
        60..3600 => (secs / 60, "minute"),
        3600..86_400 => (secs / 3600, "hour"),
        86_400..2_592_000 => (secs / 86_400, "day"),
        2_592_000..31_536_000 => (secs / 2_592_000, "month"),
        _ => (secs / 31_536_000, "year"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}
