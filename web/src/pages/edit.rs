//! Creating a version from dropped files, and editing any version as a draft.

use std::sync::Arc;

use cairn_core::wire::{CommitResponse, Version};
use cairn_core::{Change, Draft, EntryPath, Manifest};
use leptos::prelude::*;
use leptos_router::components::A;

use super::widgets::{DropZone, FileRows, ProgressLine, Virtual};
use super::{Params, link};
use crate::files::Picked;
use crate::size::{exact, human, human_f64};
use crate::stage::{self, Meter, Staged, Target};
use crate::{api, embed};

/// What the staging and commit buttons share.
#[derive(Clone, Copy)]
struct Work {
    state: RwSignal<Staged>,
    hashing: RwSignal<Meter>,
    uploading: RwSignal<Meter>,
    rows: stage::Rows,
    cancel: RwSignal<bool>,
    busy: RwSignal<bool>,
    error: RwSignal<Option<String>>,
    done: RwSignal<Option<CommitResponse>>,
}

impl Work {
    fn new() -> Self {
        Self {
            state: RwSignal::new(Staged::default()),
            hashing: RwSignal::new(Meter::default()),
            uploading: RwSignal::new(Meter::default()),
            rows: RwSignal::new(Default::default()),
            cancel: RwSignal::new(false),
            busy: RwSignal::new(false),
            error: RwSignal::new(None),
            done: RwSignal::new(None),
        }
    }

    fn stage(self, files: Vec<Picked>, prefix: String, replace: bool) {
        self.busy.set(true);
        self.error.set(None);
        // new work: the last commit's result gives way to progress again
        self.done.set(None);
        leptos::task::spawn_local(async move {
            if let Err(e) = stage::stage(
                self.state,
                files,
                &prefix,
                replace,
                self.hashing,
                self.rows,
                self.cancel,
            )
            .await
            {
                self.error.set(Some(e));
            }
            self.busy.set(false);
        });
    }

    fn commit(self, target: Target) {
        self.busy.set(true);
        self.error.set(None);
        let staged = self.state.get_untracked();
        let (entity, project, artifact) = (
            target.entity.clone(),
            target.project.clone(),
            target.name.clone(),
        );
        leptos::task::spawn_local(async move {
            match stage::commit(staged, target, self.uploading, self.rows, self.cancel).await {
                Ok(out) => {
                    embed::post(
                        "version-created",
                        serde_json::json!({
                            "entity": entity, "project": project, "artifact": artifact,
                            "version": out.version, "index": out.index, "digest": out.digest,
                            "created": out.created, "aliases": out.aliases,
                            "warnings": out.warnings,
                        }),
                    );
                    self.done.set(Some(out));
                }
                Err(e) => {
                    embed::post("error", serde_json::json!({ "message": e }));
                    self.error.set(Some(e));
                }
            }
            self.busy.set(false);
        });
    }

    /// Bytes the registry may lack: the blobs this page added.
    fn bytes_to_upload(self) -> u64 {
        let s = self.state.get();
        let patch = s.draft.patch();
        let mut seen = std::collections::HashSet::new();
        patch
            .put
            .values()
            .filter_map(|e| {
                e.stored_blob()
                    .filter(|d| s.sources.contains_key(d) && seen.insert(*d))
                    .map(|_| e.size)
            })
            .sum()
    }

    fn view_status(self) -> impl IntoView {
        if embed::active() {
            Effect::new(move |_| {
                let (h, u) = (self.hashing.get(), self.uploading.get());
                embed::post(
                    "progress",
                    serde_json::json!({
                        "hashing": { "done": h.done, "total": h.total },
                        "uploading": { "done": u.done, "total": u.total },
                    }),
                );
            });
        }
        view! {
            // once committed, the progress lines collapse into what the commit took
            <Show when=move || self.done.with(Option::is_none) fallback=move || view! {
                <p class="result" data-testid="commit-result">{self.result()}</p>
            }>
                <ProgressLine meter=self.hashing label=Callback::new(|()| format!("hashing on {} workers", stage::workers())) testid="hash-progress"/>
                <ProgressLine meter=self.uploading label=Callback::new(|()| "uploading".to_owned()) testid="upload-progress"/>
            </Show>
            <Show when=move || self.busy.get()>
                <button data-testid="cancel" on:click=move |_| stage::cancel(self.cancel)>"Cancel"</button>
            </Show>
            <FileRows rows=self.rows/>
            {move || self.error.get().map(|e| view! { <p class="error" data-testid="error">{e}</p> })}
            {move || self.done.get().map(|d| {
                view! {
                    <p class="done">
                        {if d.created { "Committed " } else { "Same content as " }}
                        <span data-testid="version-label">{d.version.to_string()}</span>
                        {format!(" (aliases {})", d.aliases.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", "))}
                    </p>
                    // paths the registry says will not download everywhere
                    <Show when={let empty = d.warnings.is_empty(); move || !empty}>
                        <ul class="warnings" data-testid="commit-warnings">
                            {d.warnings.iter().map(|w| view! { <li>{w.clone()}</li> }).collect::<Vec<_>>()}
                        </ul>
                    </Show>
                }
            })}
        }
    }

    /// "Hashed 256.0 MiB · sent 1.1 MiB · 255.0 MiB already on the registry": the meters' last
    /// state, once committed.
    fn result(self) -> String {
        let (h, u) = (self.hashing.get_untracked(), self.uploading.get_untracked());
        let sent = (u.done - u.reused).max(0.0);
        let mut line = format!("Hashed {} · sent {}", human_f64(h.done), human_f64(sent));
        if u.reused > 0.0 {
            line += &format!(" · {} already on the registry", human_f64(u.reused));
        }
        line
    }

    /// Paths the draft adds that will not download everywhere (the registry warns about the
    /// same at commit; the version is committed all the same).
    fn view_portability(self) -> impl IntoView {
        let warnings = Memo::new(move |_| {
            let patch = self.state.with(|s| s.draft.patch());
            cairn_core::portable::warnings(patch.put.keys())
        });
        view! {
            <Show when=move || !warnings.with(Vec::is_empty)>
                <ul class="warnings" data-testid="path-warnings">
                    {move || warnings.get().into_iter().map(|w| view! { <li>{w}</li> }).collect::<Vec<_>>()}
                </ul>
            </Show>
        }
    }

    /// The draft's entries with their change against the base, and remove buttons.
    fn view_entries(self) -> impl IntoView {
        let rows = Memo::new(move |_| {
            let s = self.state.get();
            let d = &s.draft;
            let mut rows: Vec<(String, u64, Option<Change>)> = d
                .manifest()
                .iter()
                .map(|(p, e)| (p.to_string(), e.size, d.change(p.as_str())))
                .collect();
            rows.extend(
                d.base()
                    .iter()
                    .filter(|(p, _)| d.manifest().get(p.as_str()).is_none())
                    .map(|(p, e)| (p.to_string(), e.size, None)),
            );
            rows.sort_by(|a, b| a.0.cmp(&b.0));
            Arc::new(rows)
        });
        view! {
            <Virtual count=Signal::derive(move || rows.get().len()) row=move |i| {
                let (path, size, change) = rows.get()[i].clone();
                let (class, label) = match change {
                    Some(Change::Added) => ("added", "added"),
                    Some(Change::Modified) => ("modified", "modified"),
                    Some(Change::Unchanged) => ("unchanged", "unchanged"),
                    None => ("removed", "removed"),
                };
                let target = path.clone();
                let path_for_move = path.clone();
                // undo a change: an added file goes, a modified or removed one gets its base entry back
                let (action, undo) = match change {
                    Some(Change::Unchanged) => ("remove", false),
                    Some(Change::Added) => ("undo", false),
                    Some(Change::Modified) => ("undo", true),
                    None => ("restore", true),
                };
                let label_for = format!("{action} {path}");
                view! {
                    <span class=format!("path {class}")>{path}</span>
                    <span class="size" title=exact(size)>{human(size)}</span>
                    <span class=format!("status {class}")>{label}</span>
                    <button class="link" data-testid=format!("{action}-change") aria-label=label_for on:click=move |_| {
                        let mut failed = None;
                        self.state.update(|s| {
                            let result = if undo {
                                match s.draft.base().get(&target).cloned() {
                                    Some(entry) => EntryPath::new(target.clone()).and_then(|p| s.draft.put(p, entry)),
                                    None => Ok(()),
                                }
                            } else {
                                s.draft.remove(&target).map(|_| ())
                            };
                            if let Err(e) = result { failed = Some(e.to_string()) }
                        });
                        self.error.set(failed);
                    }>{action}</button>
                    {change.map(|_| {
                        let from = path_for_move.clone();
                        view! { <button class="link" data-testid="move-change" aria-label=format!("move {from}") on:click=move |_| {
                            let to = web_sys::window()
                                .and_then(|w| w.prompt_with_message_and_default("Move to (a path in the artifact)", &from).ok().flatten());
                            let Some(to) = to.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty() && *t != from) else { return };
                            let mut failed = None;
                            self.state.update(|s| failed = move_entry(&mut s.draft, &from, &to).err());
                            self.error.set(failed);
                        }>"move"</button> }
                    })}
                }
            }/>
        }
    }
}

/// Move (rename) the draft's entry at `from` to `to`: the same digest under a new path, so
/// nothing is uploaded. Refused if `to` is not a valid path or already holds a file.
fn move_entry(draft: &mut Draft, from: &str, to: &str) -> Result<(), String> {
    let to_path = EntryPath::new(to).map_err(|e| e.to_string())?;
    if draft.manifest().get(to).is_some() {
        return Err(format!("'{to}' already holds a file: remove it first"));
    }
    let entry = draft
        .manifest()
        .get(from)
        .cloned()
        .ok_or_else(|| format!("'{from}' is not in the draft"))?;
    draft.put(to_path, entry).map_err(|e| e.to_string())?;
    draft.remove(from).map_err(|e| e.to_string())?;
    Ok(())
}

fn summary(draft: &Draft) -> String {
    let s = draft.summary();
    format!(
        "{} added · {} modified · {} removed · {} unchanged",
        s.added, s.modified, s.removed, s.unchanged
    )
}

fn field(label: &'static str, testid: &'static str, value: RwSignal<String>) -> impl IntoView {
    view! {
        <label>{label}
            <input data-testid=testid prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev))/>
        </label>
    }
}

fn aliases(text: &str) -> Vec<String> {
    text.split([',', ' '])
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A new version from dropped files and folders.
#[component]
pub fn Create() -> impl IntoView {
    if embed::read_only() {
        return read_only().into_any();
    }
    let p = Params::get();
    let work = Work::new();
    let fixed_name = embed::query("artifact").filter(|_| embed::active());
    let (name, type_, alias_text, description) = (
        RwSignal::new(fixed_name.clone().unwrap_or_default()),
        RwSignal::new(
            embed::query("type")
                .filter(|_| embed::active())
                .unwrap_or_else(|| "dataset".to_owned()),
        ),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    let on_files = Callback::new(move |files: Vec<Picked>| work.stage(files, String::new(), false));
    let commit = move |_| {
        work.commit(Target {
            entity: p.at("entity"),
            project: p.at("project"),
            name: name.get_untracked().trim().to_owned(),
            type_: type_.get_untracked().trim().to_owned(),
            base: None,
            aliases: aliases(&alias_text.get_untracked()),
            description: Some(description.get_untracked()),
        })
    };
    view! {
        <h1>{move || format!("New version in {}/{}", p.at("entity"), p.at("project"))}</h1>
        <div class="form">
            {match fixed_name {
                Some(n) => view! { <p class="meta">"artifact " <b data-testid="artifact-fixed">{n}</b></p> }.into_any(),
                None => field("name", "artifact-name", name).into_any(),
            }}
            {field("type", "artifact-type", type_)}
            {field("aliases", "artifact-aliases", alias_text)}
            {field("description", "artifact-description", description)}
        </div>
        <DropZone on_files=on_files/>
        <p class="summary" title=move || exact(work.bytes_to_upload())>{move || format!("{} files · {} to upload at most", work.state.get().draft.manifest().len(), human(work.bytes_to_upload()))}</p>
        {work.view_portability()}
        <button data-testid="commit-button" disabled=move || work.busy.get() || name.get().trim().is_empty() on:click=commit>"Commit"</button>
        {work.view_status()}
        {move || work.done.get().map(|d| view! {
            <p><A href=link(format!("/{}/{}/{}/{}", p.at("entity"), p.at("project"), name.get_untracked().trim(), d.version))>"Open the new version"</A></p>
        })}
        {work.view_entries()}
    }
    .into_any()
}

fn read_only() -> impl IntoView {
    view! { <p class="hint" data-testid="read-only">"This view is read-only."</p> }
}

/// A draft of any version: the manifest is fetched, not the files.
#[component]
pub fn DraftPage() -> impl IntoView {
    if embed::read_only() {
        return read_only().into_any();
    }
    let p = Params::get();
    let work = Work::new();
    let base = RwSignal::new(None::<Version>);
    let prefix = RwSignal::new(String::new());
    let remove_target = RwSignal::new(String::new());
    let alias_text = RwSignal::new(String::new());
    leptos::task::spawn_local(async move {
        let url = p.artifact_api(&format!("/versions/{}", p.at("reference")));
        let loaded = async {
            let v: Version = api::get(&url).await?;
            let m: Manifest = api::get(&format!("{url}/manifest")).await?;
            Ok::<_, String>((v, m))
        };
        match loaded.await {
            Ok((v, m)) => {
                work.state.set(Staged {
                    draft: Draft::from_base(m),
                    sources: Default::default(),
                    chunks: Default::default(),
                    kept: Default::default(),
                });
                base.set(Some(v));
            }
            Err(e) => work.error.set(Some(e)),
        }
    });
    let on_files =
        Callback::new(move |files: Vec<Picked>| work.stage(files, prefix.get_untracked(), true));
    let remove = move |_| {
        let t = remove_target.get_untracked();
        let mut failed = None;
        work.state.update(|s| {
            if let Err(e) = s.draft.remove(t.trim()) {
                failed = Some(e.to_string())
            }
        });
        work.error.set(failed);
    };
    let commit = move |_| {
        let Some(v) = base.get_untracked() else {
            return;
        };
        work.commit(Target {
            entity: p.at("entity"),
            project: p.at("project"),
            name: v.name.to_string(),
            type_: v.type_.to_string(),
            base: Some(v.index),
            aliases: aliases(&alias_text.get_untracked()),
            description: None,
        })
    };
    view! {
        <h1>{move || format!("Draft of {}:{}", p.at("name"), base.get().map(|v| v.version.to_string()).unwrap_or_else(|| p.at("reference")))}</h1>
        <div class="form">
            <label>"drop into folder" <input placeholder="(root)" prop:value=move || prefix.get() on:input=move |ev| prefix.set(event_target_value(&ev))/></label>
            <label>"remove file or folder" <input data-testid="remove-path" prop:value=move || remove_target.get() on:input=move |ev| remove_target.set(event_target_value(&ev))/></label>
            <button data-testid="remove-button" on:click=remove>"Remove"</button>
            {field("aliases", "artifact-aliases", alias_text)}
        </div>
        <DropZone on_files=on_files/>
        <p class="summary" data-testid="diff-summary" title=move || exact(work.bytes_to_upload())>{move || format!("{} · {} to upload", summary(&work.state.get().draft), human(work.bytes_to_upload()))}</p>
        {work.view_portability()}
        <button data-testid="commit-button" disabled=move || work.busy.get() || base.get().is_none() on:click=commit>"Commit"</button>
        {work.view_status()}
        {work.view_entries()}
    }
    .into_any()
}
