//! Comparing two versions of an artifact (file level: added, removed, modified with the size
//! change), and how to use a version from elsewhere (CLI, Python, curl).

use std::sync::Arc;

use cairn_core::RunId;
use cairn_core::wire::{Lineage, Run, Version};
use cairn_core::{Manifest, diff};
use leptos::prelude::*;
use leptos_router::components::A;

use super::linediff::{LineDiff, diffable};
use super::widgets::Virtual;
use super::{Params, link};
use crate::api;
use crate::size::{exact, human as size};

/// One file's change between two versions.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Change {
    pub path: String,
    pub kind: &'static str,
    /// Size before and after (`None` where the file is absent).
    pub before: Option<u64>,
    pub after: Option<u64>,
}

/// The file-level changes from `from` to `to`, in path order.
pub(crate) fn changes(from: &Manifest, to: &Manifest) -> Vec<Change> {
    let patch = diff(from, to);
    let mut out: Vec<Change> = patch
        .put
        .iter()
        .map(|(path, entry)| {
            let before = from.get(path.as_str()).map(|e| e.size);
            Change {
                path: path.to_string(),
                kind: if before.is_some() {
                    "modified"
                } else {
                    "added"
                },
                before,
                after: Some(entry.size),
            }
        })
        .chain(patch.remove.iter().map(|path| Change {
            path: path.clone(),
            kind: "removed",
            before: from.get(path).map(|e| e.size),
            after: None,
        }))
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// "+1.0 KiB", "−512 B", "±0 B".
fn delta(c: &Change) -> String {
    let (b, a) = (c.before.unwrap_or(0), c.after.unwrap_or(0));
    match a.cmp(&b) {
        std::cmp::Ordering::Greater => format!("+{}", size(a - b)),
        std::cmp::Ordering::Less => format!("−{}", size(b - a)),
        std::cmp::Ordering::Equal => "±0 B".into(),
    }
}

/// `/:entity/:project/:name/:reference/compare/:other`: what changes from one to the other.
#[component]
pub fn Compare() -> impl IntoView {
    let p = Params::get();
    let data = LocalResource::new(move || {
        let at = |r: String| p.artifact_api(&format!("/versions/{r}/manifest"));
        let (from, to) = (at(p.at("reference")), at(p.at("other")));
        async move {
            let from: Manifest = api::get(&from).await?;
            let to: Manifest = api::get(&to).await?;
            Ok::<_, String>(changes(&from, &to))
        }
    });
    let picked = RwSignal::new(None::<String>);
    let file_url = move |r: String, path: &str| {
        p.artifact_api(&format!("/versions/{r}/files/{}", api::encode_path(path)))
    };
    let version_link = move |r: String| {
        link(format!(
            "/{}/{}/{}/{r}",
            p.at("entity"),
            p.at("project"),
            p.at("name")
        ))
    };
    view! {
        <super::Crumbs/>
        <h1>
            {move || format!("{}: ", p.at("name"))}
            <A href=move || version_link(p.at("reference"))>{move || p.at("reference")}</A>
            " → "
            <A href=move || version_link(p.at("other"))>{move || p.at("other")}</A>
        </h1>
        {move || match data.get() {
            None => view! { <p>"Loading…"</p> }.into_any(),
            Some(Err(e)) => view! { <p class="error">{e}</p> }.into_any(),
            Some(Ok(list)) if list.is_empty() => view! { <p data-testid="no-changes">"The two versions hold the same files."</p> }.into_any(),
            Some(Ok(list)) => {
                let count = |kind: &str| list.iter().filter(|c| c.kind == kind).count();
                let summary = format!("{} added · {} removed · {} modified", count("added"), count("removed"), count("modified"));
                let n = list.len();
                let list = Arc::new(list);
                view! {
                    <p class="meta" data-testid="change-summary">{summary}</p>
                    {move || picked.get().map(|path| view! {
                        <LineDiff from=file_url(p.at("reference"), &path) to=file_url(p.at("other"), &path)
                            path=path.clone() on_close=Callback::new(move |()| picked.set(None))/>
                    })}
                    <Virtual count=Signal::derive(move || n) row=move |i| {
                        let c = list[i].clone();
                        let sizes = match (c.before, c.after) {
                            (Some(b), Some(a)) => format!("{} → {}", size(b), size(a)),
                            (None, Some(a)) => size(a),
                            (Some(b), None) => size(b),
                            (None, None) => String::new(),
                        };
                        let title = c.after.or(c.before).map(exact).unwrap_or_default();
                        view! {
                            <span class=format!("change {}", c.kind) data-testid="change">{c.kind}</span>
                            <span class="path">{if c.kind == "modified" && diffable(&c.path) {
                                let path = c.path.clone();
                                view! { <button class="link file" data-testid="show-line-diff" title="show the line diff"
                                    on:click=move |_| picked.set(Some(path.clone()))>{c.path.clone()}</button> }.into_any()
                            } else {
                                view! { {c.path.clone()} }.into_any()
                            }}</span>
                            <span class="size" title=title>{sizes}</span>
                            <span class="size">{delta(&c)}</span>
                        }
                    }/>
                }.into_any()
            }
        }}
    }
}

/// Pick two versions of the artifact to compare (`from` fixed on a version's own page).
#[component]
pub(crate) fn ComparePick(versions: Vec<String>, from: Option<String>) -> impl IntoView {
    let p = Params::get();
    let first = from
        .clone()
        .unwrap_or_else(|| versions.get(1).cloned().unwrap_or_default());
    let a = RwSignal::new(first.clone());
    let b = RwSignal::new(
        versions
            .iter()
            .find(|v| **v != first)
            .cloned()
            .unwrap_or_default(),
    );
    let href = move || {
        link(format!(
            "/{}/{}/{}/{}/compare/{}",
            p.at("entity"),
            p.at("project"),
            p.at("name"),
            a.get(),
            b.get()
        ))
    };
    let options = move |selected: RwSignal<String>| {
        versions
            .iter()
            .map(|v| {
                let (value, label, is) = (v.clone(), v.clone(), v.clone());
                view! { <option value=value selected=move || selected.get() == is>{label}</option> }
            })
            .collect_view()
    };
    view! {
        <p class="inline" data-testid="compare-pick">
            "Compare "
            {match from {
                Some(f) => view! { <strong>{f}</strong> }.into_any(),
                None => view! {
                    <select aria-label="first version" data-testid="compare-from"
                        on:change=move |ev| a.set(event_target_value(&ev))>{options(a)}</select>
                }.into_any(),
            }}
            " with "
            <select aria-label="second version" data-testid="compare-to"
                on:change=move |ev| b.set(event_target_value(&ev))>{options(b)}</select>
            " " <A href=href>"Show changes"</A>
        </p>
    }
}

/// Copyable ways to fetch exactly this version: CLI, Python and curl.
#[component]
pub(crate) fn UseIt(version: Version) -> impl IntoView {
    let p = Params::get();
    let origin = web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default();
    let (entity, project) = (p.at("entity"), p.at("project"));
    let full = format!("{entity}/{project}/{}:{}", version.name, version.version);
    let snippets = [
        (
            "CLI",
            format!(
                "CAIRN_HOST={origin} cairn get {full} --root ./{}",
                version.name
            ),
        ),
        (
            "Python",
            format!(
                "# CAIRN_HOST={origin}, CAIRN_TOKEN in the environment\nimport cairn\nrun = cairn.init(project=\"{project}\", entity=\"{entity}\")\nart = run.use_artifact(\"{full}\")\npath = art.download()"
            ),
        ),
        (
            "curl",
            format!(
                "curl -H \"Authorization: Bearer $CAIRN_TOKEN\" \\\n  {origin}{}",
                api::project_api(
                    &entity,
                    &project,
                    &format!(
                        "/artifacts/{}/versions/{}/manifest",
                        version.name, version.version
                    )
                )
            ),
        ),
    ];
    view! {
        <details class="use-it" data-testid="use-it">
            <summary>"Use this version"</summary>
            {snippets.into_iter().map(|(label, code)| {
                let copy = code.clone();
                view! {
                    <div class="snippet">
                        <span class="label">{label}</span>
                        <pre><code>{code}</code></pre>
                        <button class="link" aria-label=format!("copy the {label} snippet") on:click=move |_| {
                            if let Some(w) = web_sys::window() {
                                let _ = w.navigator().clipboard().write_text(&copy);
                            }
                        }>"copy"</button>
                    </div>
                }
            }).collect_view()}
        </details>
    }
}

/// Which run logged a version and which used it (the first 20 shown by name and job type).
#[component]
pub(crate) fn LineageView(version: Version) -> impl IntoView {
    let p = Params::get();
    let (entity, project) = (p.at("entity"), p.at("project"));
    let data = LocalResource::new(move || {
        let (entity, project) = (entity.clone(), project.clone());
        let url = api::project_api(
            &entity,
            &project,
            &format!(
                "/artifacts/{}/versions/{}/lineage",
                version.name, version.version
            ),
        );
        async move {
            let l: Lineage = api::get(&url).await?;
            let mut runs: Vec<Run> = Vec::new();
            for id in l.logged_by.iter().chain(&l.used_by).take(21) {
                let run_url = api::project_api(&entity, &project, &format!("/runs/{id}"));
                if let Ok(r) = api::get::<Run>(&run_url).await {
                    runs.push(r);
                }
            }
            Ok::<_, String>((l, runs))
        }
    });
    let label = |id: &RunId, runs: &[Run]| {
        let run = runs.iter().find(|r| r.id == *id);
        let text = match run {
            Some(Run {
                name: Some(n),
                job_type: Some(j),
                ..
            }) => format!("{n} ({j})"),
            Some(Run { name: Some(n), .. }) => n.clone(),
            _ => id.to_string(),
        };
        view! { <span class="run" title=format!("run {id}")>{text}</span> }
    };
    view! {
        <p class="meta" data-testid="lineage">
            {move || match data.get() {
                None => view! { "Lineage: loading…" }.into_any(),
                Some(Err(e)) => view! { <span class="error">{e}</span> }.into_any(),
                Some(Ok((l, runs))) => view! {
                    "Logged by "
                    {match &l.logged_by { Some(id) => label(id, &runs).into_any(), None => view! { "no run" }.into_any() }}
                    " · used by "
                    {if l.used_by.is_empty() {
                        view! { "no run yet" }.into_any()
                    } else {
                        let shown: Vec<_> = l.used_by.iter().take(20).map(|id| label(id, &runs)).collect();
                        let more = l.used_by.len().saturating_sub(20);
                        view! { {shown.into_iter().enumerate().map(|(i, v)| view! { {(i > 0).then_some(", ")} {v} }).collect_view()}
                            {(more > 0).then(|| format!(" and {more} more"))} }.into_any()
                    }}
                }.into_any(),
            }}
        </p>
    }
}
