//! Curating versions from the browser: what the token may do (`/api/v1/whoami`), aliases as
//! chips that a writer can remove, an alias form, a version's description and metadata edited
//! in place, and an admin's delete — each with the registry's refusal shown next to it.

use cairn_core::wire::{AliasTarget, Version, VersionUpdate, Whoami};
use cairn_core::{Alias, VersionIndex};
use leptos::prelude::*;
use serde_json::{Map, Value};

use crate::api;

/// What the signed-in token may do.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(crate) enum Role {
    Read,
    Write,
    Admin,
}

impl Role {
    pub(crate) fn can_write(self) -> bool {
        self >= Self::Write
    }

    pub(crate) fn is_admin(self) -> bool {
        self == Self::Admin
    }
}

/// The token's role, once `/api/v1/whoami` answered (read-only until then, and when embedded
/// read-only).
pub(crate) fn use_role() -> Signal<Role> {
    let me = LocalResource::new(|| async { api::get::<Whoami>("/api/v1/whoami").await });
    Signal::derive(move || {
        if crate::embed::read_only() {
            return Role::Read;
        }
        match me.get().and_then(Result::ok).map(|w| w.role) {
            Some(r) if r == "admin" => Role::Admin,
            Some(r) if r == "write" => Role::Write,
            _ => Role::Read,
        }
    })
}

/// A version's aliases as chips; a writer may remove any but `latest` (the registry moves it).
#[component]
pub(crate) fn AliasChips(
    version: Version,
    role: Signal<Role>,
    /// Bumped after a change, so the page reloads.
    changed: RwSignal<u32>,
    error: RwSignal<Option<String>>,
) -> impl IntoView {
    let p = super::Params::get();
    version
        .aliases
        .into_iter()
        .map(|alias| {
            let removable = alias.as_str() != "latest";
            let label = format!("remove alias {alias}");
            let name = alias.to_string();
            view! {
                <span class="chip" data-testid="alias-chip">
                    {alias.to_string()}
                    <Show when=move || removable && role.get().can_write()>
                        <button class="chip-x" aria-label=label.clone() title=label.clone() on:click={
                            let name = name.clone();
                            move |_| {
                                let url = p.artifact_api(&format!("/aliases/{name}"));
                                leptos::task::spawn_local(async move {
                                    match api::send("DELETE", &url, None, None).await {
                                        Ok(_) => changed.update(|n| *n += 1),
                                        Err(e) => error.set(Some(e)),
                                    }
                                });
                            }
                        }>"×"</button>
                    </Show>
                </span>
            }
        })
        .collect_view()
}

/// Put an alias on a version (moving it from the version that had it).
#[component]
pub(crate) fn AliasForm(
    versions: Vec<VersionIndex>,
    changed: RwSignal<u32>,
    error: RwSignal<Option<String>>,
) -> impl IntoView {
    let p = super::Params::get();
    let alias = RwSignal::new(String::new());
    let target = RwSignal::new(versions.first().map(|v| v.to_string()).unwrap_or_default());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let name = alias.get_untracked().trim().to_owned();
        let version = match (
            name.parse::<Alias>(),
            target.get_untracked().parse::<VersionIndex>(),
        ) {
            (Ok(_), Ok(v)) => v,
            (Err(e), _) => return error.set(Some(e.to_string())),
            (_, Err(e)) => return error.set(Some(e.to_string())),
        };
        let url = p.artifact_api(&format!("/aliases/{name}"));
        leptos::task::spawn_local(async move {
            match api::json::<Version, _>("PUT", &url, &AliasTarget { version }).await {
                Ok(_) => {
                    alias.set(String::new());
                    error.set(None);
                    changed.update(|n| *n += 1);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <form class="inline" on:submit=submit data-testid="alias-form">
            <label>"Alias " <input placeholder="best" aria-label="alias name" data-testid="alias-name"
                prop:value=move || alias.get() on:input=move |ev| alias.set(event_target_value(&ev))/></label>
            <label>" on " <select aria-label="version for the alias" data-testid="alias-version"
                on:change=move |ev| target.set(event_target_value(&ev))>
                {versions.iter().map(|v| view! { <option value=v.to_string()>{v.to_string()}</option> }).collect_view()}
            </select></label>
            " " <button type="submit">"Set alias"</button>
        </form>
    }
}

/// Delete a version (admin), after the browser's confirmation.
#[component]
pub(crate) fn DeleteButton(
    version: VersionIndex,
    changed: RwSignal<u32>,
    error: RwSignal<Option<String>>,
) -> impl IntoView {
    let p = super::Params::get();
    let click = move |_| {
        let sure = web_sys::window()
            .and_then(|w| {
                w.confirm_with_message(&format!(
                    "Delete {version}? Its number is never reused; blobs no other version names are collected later."
                ))
                .ok()
            })
            .unwrap_or(false);
        if !sure {
            return;
        }
        let url = p.artifact_api(&format!("/versions/{version}"));
        leptos::task::spawn_local(async move {
            match api::send("DELETE", &url, None, None).await {
                Ok(_) => {
                    error.set(None);
                    changed.update(|n| *n += 1);
                }
                Err(e) => error.set(Some(format!("{version} not deleted: {e}"))),
            }
        });
    };
    view! {
        <button class="link danger" data-testid="delete-version" aria-label=format!("delete {version}") on:click=click>"delete"</button>
    }
}

/// A version's description and metadata: shown, and edited in place by a writer.
#[component]
pub(crate) fn About(version: Version, role: Signal<Role>) -> impl IntoView {
    let p = super::Params::get();
    let description = RwSignal::new(version.description.clone().unwrap_or_default());
    let metadata = RwSignal::new(version.metadata.clone());
    let editing = RwSignal::new(false);
    let draft = RwSignal::new(String::new());
    let draft_meta = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let url = p.artifact_api(&format!("/versions/{}", version.version));
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let meta = match serde_json::from_str::<Map<String, Value>>(&draft_meta.get_untracked()) {
            Ok(m) => m,
            Err(e) => return error.set(Some(format!("metadata is not a JSON object: {e}"))),
        };
        let update = VersionUpdate {
            description: Some(draft.get_untracked()),
            metadata: Some(meta),
        };
        let url = url.clone();
        leptos::task::spawn_local(async move {
            match api::json::<Version, _>("PATCH", &url, &update).await {
                Ok(v) => {
                    description.set(v.description.unwrap_or_default());
                    metadata.set(v.metadata);
                    editing.set(false);
                    error.set(None);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let edit = move |_| {
        draft.set(description.get_untracked());
        draft_meta.set(
            serde_json::to_string_pretty(&metadata.get_untracked()).unwrap_or_else(|_| "{}".into()),
        );
        editing.set(true);
    };
    view! {
        <section class="about" aria-label="description and metadata">
            <Show when=move || !editing.get() fallback=move || view! {
                <form on:submit=save.clone() data-testid="about-form">
                    <label>"Description" <textarea rows="4" data-testid="description-input"
                        prop:value=move || draft.get() on:input=move |ev| draft.set(event_target_value(&ev))></textarea></label>
                    <label>"Metadata (a JSON object)" <textarea rows="6" class="mono" data-testid="metadata-input"
                        prop:value=move || draft_meta.get() on:input=move |ev| draft_meta.set(event_target_value(&ev))></textarea></label>
                    <button type="submit">"Save"</button> " "
                    <button type="button" class="link" on:click=move |_| editing.set(false)>"Cancel"</button>
                </form>
            }>
                <div class="description markdown" data-testid="description" inner_html=move || {
                    let d = description.get();
                    if d.is_empty() { "<p>No description.</p>".to_owned() } else { crate::markdown::to_html(&d) }
                }></div>
                {move || {
                    let m = metadata.get();
                    (!m.is_empty()).then(|| view! {
                        <table class="metadata" data-testid="metadata">
                            {m.into_iter().map(|(k, v)| view! {
                                <tr><th>{k}</th><td class="mono">{match v { Value::String(s) => s, other => other.to_string() }}</td></tr>
                            }).collect_view()}
                        </table>
                    })
                }}
                <Show when=move || role.get().can_write()>
                    <button class="link" data-testid="edit-about" on:click=edit>"Edit description and metadata"</button>
                </Show>
            </Show>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </section>
    }
}
