//! Pages and the pieces they share.

mod browse;
mod edit;
mod widgets;

pub use browse::{Artifacts, Files, Home, Versions};
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
}
