//! Browsing: projects → artifacts → versions → a version's files.

use cairn_core::wire::{ArtifactList, Link, LinkRequest, ProjectList, Usage, Version, VersionList};
use cairn_core::{Entry, EntryPath, Manifest, VersionIndex};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;
use wasm_bindgen::JsCast;

use super::compare::{ComparePick, LineageView, UseIt};
use super::curate::{About, AliasChips, AliasForm, DeleteButton, use_role};
use super::folders::FileTree;
use super::{Params, link};
use crate::api;
use crate::size::{exact, human as size};

/// The projects the token reaches, or open one by name.
#[component]
pub fn Home() -> impl IntoView {
    let entity = RwSignal::new(String::new());
    let project = RwSignal::new(String::new());
    let navigate = use_navigate();
    let projects =
        LocalResource::new(|| async { api::get::<ProjectList>("/api/v1/projects").await });
    view! {
        <h1>"Projects"</h1>
        {move || match projects.get() {
            None => view! { <p>"Loading…"</p> }.into_any(),
            Some(Err(e)) => view! { <p class="error">{e}</p> }.into_any(),
            Some(Ok(l)) if l.projects.is_empty() => view! {
                <p>"No project holds artifacts yet: open one below and make its first version, or push with "<code>"cairn put"</code>"."</p>
            }.into_any(),
            Some(Ok(l)) => view! {
                <table data-testid="project-list">
                    <tr><th>"project"</th><th>"artifacts"</th><th>"versions"</th><th>"last version"</th></tr>
                    {l.projects.into_iter().map(|p| {
                        let name = format!("{}/{}", p.entity, p.project);
                        view! {
                            <tr>
                                <td><A href=link(format!("/{name}"))>{name.clone()}</A></td>
                                <td>{p.artifacts}</td>
                                <td>{p.versions}</td>
                                <td>{p.updated_at.as_deref().map(super::when)}</td>
                            </tr>
                        }
                    }).collect_view()}
                </table>
            }.into_any(),
        }}
        <h2>"Open a project"</h2>
        <form on:submit=move |ev| {
            ev.prevent_default();
            navigate(&link(format!("/{}/{}", entity.get_untracked().trim(), project.get_untracked().trim())), Default::default());
        }>
            <input placeholder="entity" aria-label="entity" prop:value=move || entity.get() on:input=move |ev| entity.set(event_target_value(&ev))/>
            " / "
            <input placeholder="project" aria-label="project" prop:value=move || project.get() on:input=move |ev| project.set(event_target_value(&ev))/>
            <button type="submit">"Open"</button>
        </form>
    }
}

/// A project's artifacts.
#[component]
pub fn Artifacts() -> impl IntoView {
    let p = Params::get();
    let list = LocalResource::new(move || {
        let url = api::project_api(&p.at("entity"), &p.at("project"), "/artifacts?limit=10000");
        async move { api::get::<ArtifactList>(&url).await }
    });
    let search = RwSignal::new(String::new());
    let kind = RwSignal::new(String::new());
    let usage = LocalResource::new(move || {
        let url = api::project_api(&p.at("entity"), &p.at("project"), "/usage");
        async move { api::get::<Usage>(&url).await }
    });
    view! {
        <super::Crumbs/>
        <h1>{move || format!("{}/{}", p.at("entity"), p.at("project"))}</h1>
        {move || usage.get().and_then(Result::ok).map(|u| view! {
            <p class="usage" data-testid="project-usage">
                {holds(&u)}
                {u.quota.map(|q| view! { " " <meter min="0" max=q.to_string() high=(q / 10 * 9).to_string() value=u.bytes.to_string()></meter> })}
            </p>
        })}
        <Show when=|| !crate::embed::read_only()>
            <p><A href=move || link(format!("/{}/{}/new", p.at("entity"), p.at("project")))>"+ New version from files"</A></p>
        </Show>
        {move || match list.get() {
            None => view! { <p>"Loading…"</p> }.into_any(),
            Some(Err(e)) => view! { <p class="error">{e}</p> }.into_any(),
            Some(Ok(l)) if l.artifacts.is_empty() => view! {
                <p>"No artifacts yet: make the first version from files above, or push one with "<code>"cairn put"</code>"."</p>
            }.into_any(),
            Some(Ok(l)) => {
                let mut types: Vec<String> = l.artifacts.iter().map(|a| a.type_.to_string()).collect();
                types.sort();
                types.dedup();
                let all = l.artifacts.clone();
                let shown = Memo::new(move |_| {
                    let (q, t) = (search.get().trim().to_lowercase(), kind.get());
                    all.iter()
                        .filter(|a| (t.is_empty() || a.type_.as_str() == t) && a.name.as_str().to_lowercase().contains(&q))
                        .cloned()
                        .collect::<Vec<_>>()
                });
                view! {
                    <p class="inline">
                        <input type="search" placeholder="search artifacts" aria-label="search artifacts by name" data-testid="artifact-search"
                            prop:value=move || search.get() on:input=move |ev| search.set(event_target_value(&ev))/>
                        <select aria-label="artifact type" data-testid="artifact-type-filter" on:change=move |ev| kind.set(event_target_value(&ev))>
                            <option value="">"all types"</option>
                            {types.into_iter().map(|t| view! { <option value=t.clone()>{t.clone()}</option> }).collect_view()}
                        </select>
                    </p>
                    <table data-testid="artifact-list">
                        <tr><th>"artifact"</th><th>"type"</th><th>"versions"</th><th>"latest"</th></tr>
                        {move || shown.get().into_iter().map(|a| view! {
                            <tr>
                                <td><A href=link(format!("/{}/{}/{}", p.at("entity"), p.at("project"), a.name))>{a.name.to_string()}</A></td>
                                <td>{a.type_.to_string()}</td>
                                <td>{a.versions}</td>
                                <td>{a.latest.map(|v| v.to_string()).unwrap_or_default()}</td>
                            </tr>
                        }).collect_view()}
                    </table>
                    {move || shown.with(Vec::is_empty).then(|| view! { <p class="hint">"No artifact matches."</p> })}
                }.into_any()
            }
        }}
    }
}

/// What a project holds against its quota, in words.
fn holds(u: &Usage) -> String {
    let held = format!("Holds {} in {} blobs", size(u.bytes), u.blobs);
    match u.quota {
        Some(q) => format!("{held} of its {} quota.", size(q)),
        None => format!("{held}; no quota."),
    }
}

/// Versions listed per page on an artifact's page (older ones on demand).
const VERSIONS_PAGE: u32 = 100;

/// A collection's versions: aliases as chips, an alias form for writers, delete for admins,
/// and a pick of two versions to compare.
#[component]
pub fn Versions() -> impl IntoView {
    let p = Params::get();
    let role = use_role();
    let changed = RwSignal::new(0u32);
    let error = RwSignal::new(None::<String>);
    let url = move |after: Option<String>| {
        let after = after
            .map(|a| format!("&after={}", js_sys::encode_uri_component(&a)))
            .unwrap_or_default();
        p.artifact_api(&format!(
            "/versions?order=desc&limit={VERSIONS_PAGE}{after}"
        ))
    };
    // the newest page, reloaded after a change; older pages appended on demand
    let list = LocalResource::new(move || {
        changed.track();
        let url = url(None);
        async move { api::get::<VersionList>(&url).await }
    });
    let older = RwSignal::new(Vec::<Version>::new());
    let cursor = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        if let Some(Ok(l)) = list.get() {
            older.set(Vec::new());
            cursor.set(l.next.clone());
        }
    });
    let load_older = move |_| {
        let Some(after) = cursor.get_untracked() else {
            return;
        };
        let url = url(Some(after));
        leptos::task::spawn_local(async move {
            match api::get::<VersionList>(&url).await {
                Ok(l) => {
                    older.update(|o| o.extend(l.versions));
                    cursor.set(l.next);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <super::Crumbs/>
        <h1>{move || p.at("name")}</h1>
        {move || error.get().map(|e| view! { <p class="error" role="alert" data-testid="curate-error">{e}</p> })}
        {move || match list.get() {
            None => view! { <p>"Loading…"</p> }.into_any(),
            Some(Err(e)) => view! { <p class="error">{e}</p> }.into_any(),
            Some(Ok(l)) if l.versions.is_empty() => view! { <p>"No versions left: every one was deleted."</p> }.into_any(),
            Some(Ok(l)) => {
                let mut versions = l.versions;
                versions.extend(older.get());
                let indices: Vec<VersionIndex> = versions.iter().map(|v| v.version).collect();
                let names: Vec<String> = indices.iter().map(ToString::to_string).collect();
                view! {
                    <table data-testid="version-list">
                        <tr><th>"version"</th><th>"aliases"</th><th>"files"</th><th>"size"</th><th>"digest"</th><th>"created"</th><th>"base"</th><th></th></tr>
                        {versions.into_iter().map(|v| {
                            let index = v.version;
                            view! {
                                <tr>
                                    <td><A href=link(format!("/{}/{}/{}/{}", p.at("entity"), p.at("project"), v.name, v.version))>{v.version.to_string()}</A></td>
                                    <td><AliasChips version=v.clone() role changed error/></td>
                                    <td>{v.file_count}</td>
                                    <td title=exact(v.size)>{size(v.size)}</td>
                                    <td class="mono">{v.digest.to_string()[..16].to_owned()}</td>
                                    <td>{super::when(&v.created_at)}</td>
                                    <td>{v.base.map(|b| view! { <A href=link(format!("/{}/{}/{}/{b}", p.at("entity"), p.at("project"), p.at("name")))>{b.to_string()}</A> })}</td>
                                    <td><Show when=move || role.get().is_admin()><DeleteButton version=index changed error/></Show></td>
                                </tr>
                            }
                        }).collect_view()}
                    </table>
                    {move || cursor.with(Option::is_some).then(|| view! {
                        <p><button class="link" data-testid="older-versions" on:click=load_older>{format!("Show {VERSIONS_PAGE} older versions")}</button></p>
                    })}
                    <Show when=move || role.get().can_write()>
                        <AliasForm versions=indices.clone() changed error/>
                    </Show>
                    {(names.len() > 1).then(|| view! { <ComparePick versions=names.clone() from=None/> })}
                }.into_any()
            }
        }}
    }
}

/// Download one file: the registry makes a link that needs no token (an hour long), and the
/// browser's own download manager fetches it — to disk, with its own progress and resume; the
/// page never holds the file.
async fn download(version_api: &str, path: String) -> Result<(), String> {
    let link: Link = api::json(
        "POST",
        &format!("{version_api}/links"),
        &LinkRequest { path },
    )
    .await?;
    let doc = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let a: web_sys::HtmlAnchorElement = doc
        .create_element("a")
        .map_err(|_| "no link")?
        .unchecked_into();
    a.set_href(&link.url);
    // named by the registry's Content-Disposition
    a.set_download("");
    a.click();
    Ok(())
}

/// A version and its files.
#[component]
pub fn Files() -> impl IntoView {
    let p = Params::get();
    let data = LocalResource::new(move || {
        let base = p.artifact_api(&format!("/versions/{}", p.at("reference")));
        let all = p.artifact_api("/versions?order=desc&limit=1000");
        async move {
            let v: Version = api::get(&base).await?;
            let m: Manifest = api::get(&format!("{base}/manifest")).await?;
            let others: Vec<String> = api::get::<VersionList>(&all)
                .await
                .map(|l| {
                    l.versions
                        .into_iter()
                        .map(|o| o.version)
                        .filter(|o| *o != v.version)
                        .map(|o| o.to_string())
                        .collect()
                })
                .unwrap_or_default();
            // a README.md at the root is shown as model cards are (its first 256 KiB)
            let readme = match m
                .iter()
                .find(|(p, _)| p.as_str().eq_ignore_ascii_case("readme.md"))
            {
                Some((path, _)) => {
                    let url = format!("{base}/files/{}", api::encode_path(path.as_str()));
                    api::get_head(&url, 256 << 10).await.ok().map(|(bytes, _)| {
                        crate::markdown::to_html(&String::from_utf8_lossy(&bytes))
                    })
                }
                None => None,
            };
            Ok::<_, String>((v, m, others, readme))
        }
    });
    let role = use_role();
    let error = RwSignal::new(None::<String>);
    view! {
        {move || match data.get() {
            None => view! { <p>"Loading…"</p> }.into_any(),
            Some(Err(e)) => view! { <p class="error">{e}</p> }.into_any(),
            Some(Ok((v, m, others, readme))) => {
                let entries: Vec<(EntryPath, Entry)> = m.iter().map(|(p, e)| (p.clone(), e.clone())).collect();
                let entries = std::sync::Arc::new(entries);
                let version_api = api::project_api(&p.at("entity"), &p.at("project"), &format!("/artifacts/{}/versions/{}", v.name, v.version));
                let file_base = format!("{version_api}/files/");
                let fetch = Callback::new(move |path: String| {
                    let version_api = version_api.clone();
                    leptos::task::spawn_local(async move {
                        if let Err(e) = download(&version_api, path).await {
                            error.set(Some(e));
                        }
                    });
                });
                let base_link = v.base.map(|b| link(format!("/{}/{}/{}/{b}", p.at("entity"), p.at("project"), v.name)));
                view! {
                    <super::Crumbs/>
                    <h1>{format!("{}:{}", v.name, v.version)}</h1>
                    <p class="meta">
                        {format!("{} · {} files · {} · aliases {} · created ", v.type_, v.file_count, size(v.size), v.aliases.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", "))}
                        {super::when(&v.created_at)}
                        " · digest "
                        <span class="mono">{v.digest.to_string()}</span>
                        {v.base.zip(base_link).map(|(b, href)| view! { " · drafted from " <A href=href>{b.to_string()}</A> })}
                    </p>
                    <LineageView version=v.clone()/>
                    <About version=v.clone() role/>
                    {(!crate::embed::read_only()).then(|| view! {
                        <p><A href=link(format!("/{}/{}/{}/{}/draft", p.at("entity"), p.at("project"), v.name, v.version))>"Open as draft"</A></p>
                    })}
                    {(!others.is_empty()).then(|| view! { <ComparePick versions=others.clone() from=Some(v.version.to_string())/> })}
                    <UseIt version=v.clone()/>
                    {move || error.get().map(|e| view! { <p class="error">{e}</p> })}
                    {readme.map(|html| view! {
                        <section class="readme" data-testid="readme" aria-label="README.md">
                            <h2>"README.md"</h2>
                            <div class="markdown" inner_html=html></div>
                        </section>
                    })}
                    <FileTree entries file_base download=fetch/>
                }.into_any()
            }
        }}
    }
}
