//! Creating a version from dropped files, and editing any version as a draft.

use cairn_core::wire::{CommitResponse, Version};
use cairn_core::{Draft, Manifest};
use leptos::prelude::*;
use leptos_router::components::A;

use super::changes::{Actions, Changes};
use super::widgets::{DropZone, FileRows, ProgressLine};
use super::{Params, link};
use crate::files::Picked;
use crate::size::{exact, human, human_f64};
use crate::stage::{self, Meter, Placing, Staged, Target};
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

    fn stage(self, files: Vec<Picked>, prefix: String, placing: Placing) {
        self.busy.set(true);
        self.error.set(None);
        // new work: the last commit's result gives way to progress again
        self.done.set(None);
        leptos::task::spawn_local(async move {
            if let Err(e) = stage::stage(
                self.state,
                files,
                &prefix,
                placing,
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

    /// The draft's files grouped by folder, with what each change can undo, move or replace.
    fn view_changes(self) -> impl IntoView {
        let replace = Callback::new(move |(folder, files): (String, Vec<Picked>)| {
            if !files.is_empty() {
                self.stage(files, folder, Placing::ReplaceFolder);
            }
        });
        view! { <Changes actions=Actions { state: self.state, busy: self.busy, replace }/> }
    }
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
    let on_files =
        Callback::new(move |files: Vec<Picked>| work.stage(files, String::new(), Placing::Add));
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
        <p class="summary" data-testid="stage-summary" title=move || exact(work.bytes_to_upload())>{move || {
            let n = work.state.with(|s| s.draft.manifest().len());
            format!("{n} file{} · {} to upload at most", if n == 1 { "" } else { "s" }, human(work.bytes_to_upload()))
        }}</p>
        {work.view_portability()}
        <button data-testid="commit-button" disabled=move || work.busy.get() || name.get().trim().is_empty() on:click=commit>"Commit"</button>
        {work.view_status()}
        {move || work.done.get().map(|d| view! {
            <p><A href=link(format!("/{}/{}/{}/{}", p.at("entity"), p.at("project"), name.get_untracked().trim(), d.version))>"Open the new version"</A></p>
        })}
        {work.view_changes()}
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
    let on_files = Callback::new(move |files: Vec<Picked>| {
        work.stage(files, prefix.get_untracked(), Placing::Merge)
    });
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
        {work.view_changes()}
    }
    .into_any()
}
