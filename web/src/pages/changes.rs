//! A draft's files grouped by folder, each folder with its file count, size and what changed
//! under it (`+added ~modified −removed`). Every file and folder can be undone (its changes
//! only), moved (typed in place: the same digests under new paths, nothing to upload) or
//! removed; a folder can be replaced by a folder picked or dropped onto its row. Errors show on
//! the row that caused them. Virtualised like the version's file tree.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use cairn_core::Change;
use leptos::prelude::*;

use super::widgets::Virtual;
use crate::files::{self, Picked};
use crate::size::{exact, human};
use crate::stage::Staged;
use crate::tree::{self, Kind, Node};

/// Drafts with at most this many rows open with every folder open.
const OPEN_ALL: usize = 200;

/// One file of the draft or of its base: `change` is `None` for a removed one.
#[derive(Clone, Debug, PartialEq)]
struct File {
    path: String,
    size: u64,
    change: Option<Change>,
}

/// What changed under a folder.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Counts {
    added: u32,
    modified: u32,
    removed: u32,
}

impl Counts {
    fn any(self) -> bool {
        self.added + self.modified + self.removed > 0
    }

    fn add(&mut self, change: Option<Change>) {
        match change {
            Some(Change::Added) => self.added += 1,
            Some(Change::Modified) => self.modified += 1,
            None => self.removed += 1,
            Some(Change::Unchanged) => {}
        }
    }

    /// "+2 ~1 −3" (what is zero left out).
    fn label(self) -> String {
        [("+", self.added), ("~", self.modified), ("−", self.removed)]
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(sign, n)| format!("{sign}{n}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The draft's files and the removed files of its base, in path order (only the changed ones
/// with `changes_only`).
fn files_of(s: &Staged, changes_only: bool) -> Vec<File> {
    let d = &s.draft;
    let mut out: Vec<File> = d
        .manifest()
        .iter()
        .map(|(p, e)| File {
            path: p.to_string(),
            size: e.size,
            change: d.change(p.as_str()),
        })
        .filter(|f| !changes_only || f.change != Some(Change::Unchanged))
        .collect();
    out.extend(
        d.base()
            .iter()
            .filter(|(p, _)| d.manifest().get(p.as_str()).is_none())
            .map(|(p, e)| File {
                path: p.to_string(),
                size: e.size,
                change: None,
            }),
    );
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// The counts of each node of `nodes` (files' own change counted too).
fn counts_of(nodes: &[Node], files: &[File]) -> Vec<Counts> {
    let mut out = vec![Counts::default(); nodes.len()];
    // the folders above the node being visited
    let mut above: Vec<usize> = Vec::new();
    for (n, node) in nodes.iter().enumerate() {
        while above.last().is_some_and(|&f| nodes[f].depth >= node.depth) {
            above.pop();
        }
        match node.kind {
            Kind::Folder { .. } => above.push(n),
            Kind::File { entry } => {
                for &f in &above {
                    out[f].add(files[entry].change);
                }
                out[n].add(files[entry].change);
            }
        }
    }
    out
}

/// The draft's tree, with what each node holds.
#[derive(PartialEq)]
struct Grouped {
    files: Vec<File>,
    nodes: Vec<Node>,
    counts: Vec<Counts>,
}

/// What a row's actions do to the draft (a file or a folder path).
#[derive(Clone, Copy)]
pub(crate) struct Actions {
    pub state: RwSignal<Staged>,
    pub busy: RwSignal<bool>,
    /// Stage `files` as the folder's whole new contents.
    pub replace: Callback<(String, Vec<Picked>)>,
}

/// The draft's changes grouped by folder.
#[component]
pub(crate) fn Changes(actions: Actions) -> impl IntoView {
    let changes_only = RwSignal::new(false);
    let grouped = Memo::new(move |_| {
        let files = actions.state.with(|s| files_of(s, changes_only.get()));
        let nodes = tree::build(files.iter().map(|f| (f.path.as_str(), f.size)));
        let counts = counts_of(&nodes, &files);
        Arc::new(Grouped {
            files,
            nodes,
            counts,
        })
    });
    // folders open: all of a small draft; in a large one those whose changes changed
    let open = RwSignal::new(HashSet::<String>::new());
    let seen = StoredValue::new(HashMap::<String, Counts>::new());
    Effect::new(move |_| {
        let g = grouped.get();
        let small = g.nodes.len() <= OPEN_ALL;
        let mut now = HashMap::new();
        let mut opened = Vec::new();
        for (n, node) in g.nodes.iter().enumerate() {
            if let Kind::Folder { path, .. } = &node.kind {
                let before = seen.with_value(|s| s.get(path).copied());
                let c = g.counts[n];
                if (small && before.is_none()) || (c.any() && before != Some(c)) {
                    opened.push(path.clone());
                }
                now.insert(path.clone(), c);
            }
        }
        seen.set_value(now);
        if !opened.is_empty() {
            open.update(|o| o.extend(opened));
        }
    });
    let rows = Memo::new(move |_| {
        let g = grouped.get();
        open.with(|o| tree::visible(&g.nodes, o))
    });
    // the path being moved (its row shows an input), and the last error with its row's path
    let moving = RwSignal::new(None::<String>);
    let failed = RwSignal::new(None::<(String, String)>);
    let draw = move |i: usize| {
        let Some(n) = rows.with(|r| r.get(i).copied()) else {
            return ().into_any();
        };
        let g = grouped.get();
        let node = &g.nodes[n];
        let pad = format!("{}rem", node.depth as f64 * 1.2);
        let (path, size, label) = match &node.kind {
            Kind::Folder { path, size, .. } => (path.clone(), *size, None),
            Kind::File { entry } => {
                let f = &g.files[*entry];
                (f.path.clone(), f.size, Some(f.change))
            }
        };
        let row = Row {
            actions,
            path: path.clone(),
            moving,
            failed,
        };
        let error = row.error();
        if moving.with(|m| m.as_deref() == Some(path.as_str())) {
            return row.move_input(pad).into_any();
        }
        let tail = match error {
            Some(e) => inline_error(e).into_any(),
            None => ().into_any(),
        };
        match (&node.kind, label) {
            (Kind::Folder { files, .. }, _) => {
                let is_open = open.with(|o| o.contains(&path));
                let toggle = path.clone();
                let c = g.counts[n];
                let over = RwSignal::new(false);
                let on_drop = {
                    let folder = path.clone();
                    move |ev: web_sys::DragEvent| {
                        ev.prevent_default();
                        ev.stop_propagation();
                        over.set(false);
                        let found = files::dropped(&ev);
                        let folder = folder.clone();
                        leptos::task::spawn_local(async move {
                            match found.await {
                                Ok(found) => actions.replace.run((folder, strip_top(found))),
                                Err(e) => failed.set(Some((folder, e))),
                            }
                        });
                    }
                };
                view! {
                    <span class="path drop-target" class:over=move || over.get() style:padding-left=pad
                        on:dragover=move |ev: web_sys::DragEvent| { ev.prevent_default(); over.set(true); }
                        on:dragleave=move |_| over.set(false) on:drop=on_drop>
                        <button class="link folder" data-testid="draft-folder" aria-expanded=is_open.to_string()
                            on:click=move |_| open.update(|o| if !o.remove(&toggle) { o.insert(toggle.clone()); })>
                            {if is_open { "▾ " } else { "▸ " }}{format!("{}/", node.name)}
                        </button>
                    </span>
                    {tail}
                    <span class="meta">{format!("{files} file{}", if *files == 1 { "" } else { "s" })}</span>
                    <span class="counts" data-testid="folder-changes" title=format!("{} added, {} modified, {} removed", c.added, c.modified, c.removed)>{c.label()}</span>
                    <span class="size" title=exact(size)>{human(size)}</span>
                    {row.folder_actions(c.any(), *files > u64::from(c.removed))}
                }
                .into_any()
            }
            (Kind::File { .. }, change) => {
                let change = change.flatten();
                let (class, word) = match change {
                    Some(Change::Added) => ("added", "added"),
                    Some(Change::Modified) => ("modified", "modified"),
                    Some(Change::Unchanged) => ("unchanged", "unchanged"),
                    None => ("removed", "removed"),
                };
                view! {
                    <span class=format!("path {class}") style:padding-left=format!("calc({pad} + 1.1rem)") title=path.clone()>{node.name.clone()}</span>
                    {tail}
                    <span class="size" title=exact(size)>{human(size)}</span>
                    <span class=format!("status {class}")>{word}</span>
                    {row.file_actions(change)}
                }
                .into_any()
            }
        }
    };
    let empty = Memo::new(move |_| {
        actions
            .state
            .with(|s| s.draft.manifest().is_empty() && s.draft.base().is_empty())
    });
    view! {
        <Show when=move || !empty.get() fallback=|| view! {
            <p class="hint" data-testid="no-files">"Files you drop show here, grouped by folder: each can be undone, moved or removed before you commit."</p>
        }>
        <div class="tree-tools">
            <label><input type="checkbox" data-testid="changes-only" prop:checked=move || changes_only.get()
                on:change=move |ev| changes_only.set(event_target_checked(&ev))/>" changes only"</label>
        </div>
        <Virtual count=Signal::derive(move || rows.with(Vec::len)) row=draw/>
        </Show>
    }
}

/// One row's path and the signals its actions change.
#[derive(Clone)]
struct Row {
    actions: Actions,
    path: String,
    moving: RwSignal<Option<String>>,
    failed: RwSignal<Option<(String, String)>>,
}

impl Row {
    /// Apply `edit` to the draft; its error shows on this row. Whether it worked.
    fn edit(
        &self,
        edit: impl FnOnce(&mut cairn_core::Draft) -> Result<(), cairn_core::Error>,
    ) -> bool {
        let mut result = Ok(());
        self.actions.state.update(|s| result = edit(&mut s.draft));
        let ok = result.is_ok();
        self.failed
            .set(result.err().map(|e| (self.path.clone(), e.to_string())));
        ok
    }

    /// The last error, if this row caused it.
    fn error(&self) -> Option<String> {
        self.failed.with(|f| {
            f.as_ref()
                .filter(|(p, _)| *p == self.path)
                .map(|(_, e)| e.clone())
        })
    }

    fn button(
        &self,
        action: &'static str,
        what: &'static str,
        run: impl Fn(&Row) + 'static,
    ) -> impl IntoView {
        let me = self.clone();
        view! {
            <button class=if action == "remove" { "link danger" } else { "link" } data-testid=format!("{action}-{what}")
                aria-label=format!("{action} {}", self.path) disabled=move || me.actions.busy.get()
                on:click={ let me = self.clone(); move |_| run(&me) }>{action}</button>
        }
    }

    fn file_actions(&self, change: Option<Change>) -> impl IntoView {
        let undo = match change {
            // an unchanged file can only go; a changed one goes back to the base
            Some(Change::Unchanged) => None,
            Some(Change::Added) => Some("undo"),
            Some(Change::Modified) => Some("undo"),
            None => Some("restore"),
        };
        view! {
            <span class="actions">
            {undo.map(|action| self.button(action, "change", move |r| { r.edit(|d| d.revert(&r.path).map(drop)); }))}
            {change.map(|_| self.button("move", "change", move |r| r.moving.set(Some(r.path.clone()))))}
            {change.map(|_| self.button("remove", "change", move |r| { r.edit(|d| d.remove(&r.path).map(drop)); }))}
            </span>
        }
    }

    /// `changed`: something under it changed; `present`: the draft still has files under it.
    fn folder_actions(&self, changed: bool, present: bool) -> impl IntoView {
        let replace = self.actions.replace;
        let folder = self.path.clone();
        let busy = self.actions.busy;
        let on_pick = move |ev: web_sys::Event| {
            replace.run((folder.clone(), strip_top(files::take_picked(&ev))));
        };
        view! {
            <span class="actions">
            {changed.then(|| self.button("undo", "folder", move |r| { r.edit(|d| d.revert(&r.path).map(drop)); }))}
            {present.then(|| self.button("move", "folder", move |r| r.moving.set(Some(r.path.clone()))))}
            <label class="link pick-inline" title="replace this folder's files with a folder's (or drop a folder on this row)">
                "replace…"
                <input type="file" multiple prop:webkitdirectory=true data-testid="replace-folder"
                    aria-label=format!("replace {} with a folder", self.path) disabled=move || busy.get() on:change=on_pick/>
            </label>
            {present.then(|| self.button("remove", "folder", move |r| { r.edit(|d| d.remove(&r.path).map(drop)); }))}
            </span>
        }
    }

    /// The row of the path being moved: its new path typed in place (Enter moves, Escape leaves).
    fn move_input(self, pad: String) -> impl IntoView {
        let to = RwSignal::new(self.path.clone());
        let apply = {
            let me = self.clone();
            move || {
                let dest = to.get_untracked().trim().to_owned();
                if me.edit(|d| d.rename(&me.path, &dest).map(drop)) {
                    me.moving.set(None);
                }
            }
        };
        let error = {
            let me = self.clone();
            move || me.error()
        };
        let moving = self.moving;
        let field = NodeRef::<leptos::html::Input>::new();
        Effect::new(move |_| {
            if let Some(input) = field.get() {
                let _ = input.focus();
                input.select();
            }
        });
        let on_key = {
            let apply = apply.clone();
            move |ev: web_sys::KeyboardEvent| match ev.key().as_str() {
                "Enter" => apply(),
                "Escape" => moving.set(None),
                _ => {}
            }
        };
        view! {
            <span class="path" style:padding-left=pad>
                <input class="move-to" data-testid="move-to" aria-label=format!("new path for {}", self.path)
                    prop:value=move || to.get() on:input=move |ev| to.set(event_target_value(&ev)) on:keydown=on_key node_ref=field/>
            </span>
            {move || error().map(inline_error)}
            <span class="actions">
                <button class="link" data-testid="move-apply" on:click=move |_| apply()>"move"</button>
                <button class="link" on:click=move |_| moving.set(None)>"cancel"</button>
            </span>
        }
    }
}

/// An error on the row that caused it (the whole message on hover).
fn inline_error(message: String) -> impl IntoView {
    let title = message.clone();
    view! { <span class="error inline" role="alert" title=title data-testid="row-error">{message}</span> }
}

/// Files picked as one folder (`name/…`) lose that first component: they become the contents of
/// the folder they replace.
pub(crate) fn strip_top(mut picked: Vec<Picked>) -> Vec<Picked> {
    let top = |p: &Picked| p.path.split_once('/').map(|(t, _)| t.to_owned());
    let first = picked.first().and_then(top);
    if let Some(first) = first
        && picked
            .iter()
            .all(|p| top(p).as_deref() == Some(first.as_str()))
    {
        for p in &mut picked {
            p.path = p.path[first.len() + 1..].to_owned();
        }
    }
    picked
}
