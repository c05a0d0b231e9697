//! ls, alias, diff.

use cairn_client::Api;
use cairn_core::{Change, Draft, diff};

use super::{Output, collection};

/// `cairn ls [entity/project[/name]]`.
pub async fn ls(api: &Api, out: Output, path: Option<&str>) -> anyhow::Result<()> {
    let parts: Vec<&str> = path.map(|p| p.split('/').collect()).unwrap_or_default();
    match parts.as_slice() {
        [] | [_, _] => {
            let project = super::project(api, path.unwrap_or_default())?;
            let list = api.list_artifacts(&project).await?;
            // what the project holds against its quota, below the list (not in --json: the
            // list's shape stays; `cairn quota show` has it)
            let usage = if out.json {
                None
            } else {
                api.usage(&project).await.ok()
            };
            out.print(&list, || {
                list.iter()
                    .map(|a| {
                        format!(
                            "{:<40} {:<16} {:>6} versions  latest {}",
                            a.name,
                            a.type_,
                            a.versions,
                            a.latest.map_or("-".into(), |v| v.to_string())
                        )
                    })
                    .chain(usage.map(|u| super::quota::describe(&project, &u)))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        _ => {
            let (project, name) = collection(api, path.unwrap_or_default())?;
            let versions = api.list_versions(&project, &name).await?;
            out.print(&versions, || {
                versions
                    .iter()
                    .map(|v| {
                        let aliases = v
                            .aliases
                            .iter()
                            .map(|a| a.as_str())
                            .collect::<Vec<_>>()
                            .join(",");
                        format!(
                            "{:<6} {} {:>8} files {:>12}  {}  {aliases}",
                            v.version.to_string(),
                            &v.digest.to_string()[..12],
                            v.file_count,
                            indicatif::HumanBytes(v.size).to_string(),
                            v.created_at
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
    }
}

/// `cairn alias set name:ref ALIAS`.
pub async fn alias_set(api: &Api, out: Output, path: &str, alias: &str) -> anyhow::Result<()> {
    let v = api.set_alias(path, alias).await?;
    out.print(&v, || format!("{alias} → {}:{}", v.name, v.version))
}

/// `cairn alias rm name ALIAS`.
pub async fn alias_rm(api: &Api, out: Output, path: &str, alias: &str) -> anyhow::Result<()> {
    api.delete_alias(path, alias).await?;
    out.print(&serde_json::json!({"deleted": alias}), || {
        format!("removed alias {alias}")
    })
}

/// `cairn diff name:ref1 name:ref2`: what changes from the first to the second.
pub async fn diff_versions(api: &Api, out: Output, a: &str, b: &str) -> anyhow::Result<()> {
    let (from, to) = (api.artifact(a).await?, api.artifact(b).await?);
    let mut draft = Draft::from_base(from.manifest().clone());
    let patch = diff(from.manifest(), to.manifest());
    for r in &patch.remove {
        draft.remove(r)?;
    }
    for (p, e) in &patch.put {
        draft.put(p.clone(), e.clone())?;
    }
    let mut added = Vec::new();
    let mut modified = Vec::new();
    for p in patch.put.keys() {
        match draft.change(p.as_str()) {
            Some(Change::Added) => added.push(p.to_string()),
            Some(Change::Modified) => modified.push(p.to_string()),
            Some(Change::Unchanged) | None => {}
        }
    }
    let summary = draft.summary();
    let doc = serde_json::json!({"added": added, "modified": modified, "removed": patch.remove, "unchanged": summary.unchanged});
    out.print(&doc, || {
        let mut lines: Vec<String> = Vec::new();
        lines.extend(added.iter().map(|p| format!("+ {p}")));
        lines.extend(modified.iter().map(|p| format!("~ {p}")));
        lines.extend(patch.remove.iter().map(|p| format!("- {p}")));
        lines.push(format!(
            "{} added, {} modified, {} removed, {} unchanged",
            summary.added, summary.modified, summary.removed, summary.unchanged
        ));
        lines.join("\n")
    })
}

/// A download link to `file` of the version at `path`: its URL (and when it expires).
pub async fn link(api: &Api, out: Output, path: &str, file: &str) -> anyhow::Result<()> {
    let link = api.artifact(path).await?.link(file).await?;
    out.print(&link, || {
        format!(
            "{}\n(no token needed; anyone with it can fetch {file} until {})",
            link.url, link.expires_at
        )
    })
}
