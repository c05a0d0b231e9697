//! A version's files as a folder tree (open and close folders, each with its file count and
//! size), a path filter that lists matching files flat, and a preview of the file picked.
//! Virtualised: only the rows on screen are drawn, whatever the version holds.

use std::collections::HashSet;
use std::sync::Arc;

use cairn_core::{Entry, EntryPath};
use leptos::prelude::*;

use super::preview::Preview;
use super::widgets::Virtual;
use crate::api;
use crate::size::{exact, human as size};
use crate::tree::{self, Kind, Node};

/// Versions with at most this many files open with every folder open.
const OPEN_ALL: usize = 200;

/// One drawn row.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Row {
    /// A node of the tree.
    Node(usize),
    /// A file matching the filter (its entry).
    Match(usize),
}

/// The tree, filter and preview of one version's files (`file_base` + path is a file's URL).
#[component]
pub(crate) fn FileTree(
    entries: Arc<Vec<(EntryPath, Entry)>>,
    file_base: String,
    /// Called with a file's path to download it.
    download: Callback<String>,
) -> impl IntoView {
    let nodes: Arc<Vec<Node>> = Arc::new(tree::build(
        entries.iter().map(|(p, e)| (p.as_str(), e.size)),
    ));
    let initially: HashSet<String> = if entries.len() <= OPEN_ALL {
        tree::folders(&nodes).map(str::to_owned).collect()
    } else {
        HashSet::new()
    };
    let open = RwSignal::new(initially);
    let filter = RwSignal::new(String::new());
    let picked = RwSignal::new(None::<usize>);
    let rows = {
        let (nodes, entries) = (nodes.clone(), entries.clone());
        Memo::new(move |_| {
            let f = filter.get().trim().to_lowercase();
            if f.is_empty() {
                open.with(|o| {
                    tree::visible(&nodes, o)
                        .into_iter()
                        .map(Row::Node)
                        .collect::<Vec<_>>()
                })
            } else {
                entries
                    .iter()
                    .enumerate()
                    .filter(|(_, (p, _))| p.as_str().to_lowercase().contains(&f))
                    .map(|(i, _)| Row::Match(i))
                    .collect()
            }
        })
    };
    let total = entries.len();
    let url_of = {
        let base = file_base.clone();
        move |path: &str| format!("{base}{}", api::encode_path(path))
    };
    let file_row = {
        let entries = entries.clone();
        move |i: usize, label: String, depth: usize| {
            let (path, entry) = entries[i].clone();
            let name = path.to_string();
            let is_ref = entry.reference.is_some();
            view! {
                <span class="path" style:padding-left=format!("{}rem", depth as f64 * 1.2 + 1.1) title=name.clone()>
                    <button class="link file" data-testid="file" on:click=move |_| picked.set(Some(i))>{label}</button>
                </span>
                <span class="size" title=exact(entry.size)>{size(entry.size)}</span>
                {if is_ref {
                    view! { <span class="ref">{entry.reference.unwrap_or_default()}</span> }.into_any()
                } else {
                    view! { <button class="link" data-testid="download" aria-label=format!("download {name}") on:click={ let name = name.clone(); move |_| download.run(name.clone()) }>"download"</button> }.into_any()
                }}
            }
            .into_any()
        }
    };
    let draw = {
        let nodes = nodes.clone();
        let entries = entries.clone();
        move |i: usize| {
            let Some(row) = rows.with(|r| r.get(i).copied()) else {
                return ().into_any();
            };
            match row {
                Row::Match(e) => file_row(e, entries[e].0.to_string(), 0),
                Row::Node(n) => match &nodes[n].kind {
                    Kind::File { entry } => file_row(*entry, nodes[n].name.clone(), nodes[n].depth),
                    Kind::Folder {
                        path,
                        files,
                        size: bytes,
                        ..
                    } => {
                        let path = path.clone();
                        let is_open = open.with(|o| o.contains(&path));
                        let toggle = path.clone();
                        view! {
                            <span class="path" style:padding-left=format!("{}rem", nodes[n].depth as f64 * 1.2)>
                                <button class="link folder" data-testid="folder" aria-expanded=is_open.to_string()
                                    on:click=move |_| open.update(|o| if !o.remove(&toggle) { o.insert(toggle.clone()); })>
                                    {if is_open { "▾ " } else { "▸ " }}{format!("{}/", nodes[n].name)}
                                </button>
                            </span>
                            <span class="meta">{format!("{files} file{}", if *files == 1 { "" } else { "s" })}</span>
                            <span class="size" title=exact(*bytes)>{size(*bytes)}</span>
                        }
                        .into_any()
                    }
                },
            }
        }
    };
    let all_folders: Vec<String> = tree::folders(&nodes).map(str::to_owned).collect();
    let has_folders = !all_folders.is_empty();
    view! {
        <div class="tree-tools">
            <input type="search" placeholder="filter by path" aria-label="filter files by path" data-testid="file-filter"
                prop:value=move || filter.get() on:input=move |ev| filter.set(event_target_value(&ev))/>
            {move || {
                let f = filter.get();
                (!f.trim().is_empty()).then(|| view! {
                    <span class="meta" data-testid="filter-count">{format!("{} of {total} files match", rows.with(Vec::len))}</span>
                })
            }}
            {has_folders.then(|| view! {
                <button class="link" on:click=move |_| open.set(all_folders.iter().cloned().collect())>"open all"</button>
                <button class="link" on:click=move |_| open.set(HashSet::new())>"close all"</button>
            })}
        </div>
        {move || picked.get().map(|i| {
            let (path, entry) = entries[i].clone();
            view! { <Preview url=url_of(path.as_str()) path=path.to_string() total=entry.size on_close=Callback::new(move |()| picked.set(None))/> }
        })}
        <Virtual count=Signal::derive(move || rows.with(Vec::len)) row=draw/>
    }
}
