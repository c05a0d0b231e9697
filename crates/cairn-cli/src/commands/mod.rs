//! The client commands: each takes the connected [`Api`] and prints a human summary or, with
//! `--json`, one JSON document on stdout.

pub mod browse;
pub mod fetch;
pub mod quota;
pub mod write;

use std::path::{Path, PathBuf};

use cairn_client::{Api, ProjectRef};
use serde::Serialize;

/// How to print results.
#[derive(Clone, Copy, Debug)]
pub struct Output {
    pub json: bool,
}

impl Output {
    /// Print `value` as JSON, or `human` otherwise.
    pub fn print<T: Serialize>(
        self,
        value: &T,
        human: impl FnOnce() -> String,
    ) -> anyhow::Result<()> {
        if self.json {
            println!("{}", serde_json::to_string_pretty(value)?);
        } else {
            println!("{}", human());
        }
        Ok(())
    }
}

/// `PATH[:NAME]`: a local path and the name it takes in the artifact. The split is on the
/// last `:` unless the whole string is an existing path.
pub fn path_and_name(arg: &str) -> (PathBuf, Option<String>) {
    if Path::new(arg).exists() {
        return (PathBuf::from(arg), None);
    }
    match arg.rsplit_once(':') {
        Some((path, name)) if !path.is_empty() && !name.is_empty() => {
            (PathBuf::from(path), Some(name.to_owned()))
        }
        _ => (PathBuf::from(arg), None),
    }
}

/// `entity/project`, or the default project for an empty string.
pub fn project(api: &Api, s: &str) -> anyhow::Result<ProjectRef> {
    if s.is_empty() {
        return Ok(api.default_project()?);
    }
    let (entity, project) = s
        .split_once('/')
        .ok_or_else(|| anyhow::anyhow!("'{s}' is not entity/project"))?;
    Ok(ProjectRef {
        entity: entity.parse()?,
        project: project.parse()?,
    })
}

/// The project and collection of `[[entity/]project/]name` (no `:ref`).
pub fn collection(api: &Api, path: &str) -> anyhow::Result<(ProjectRef, cairn_core::ArtifactName)> {
    if path.contains(':') {
        anyhow::bail!("'{path}' names a version; give the artifact name without ':ref'");
    }
    let p = api.parse_path(path)?;
    Ok((
        ProjectRef {
            entity: p.entity,
            project: p.project,
        },
        p.name,
    ))
}
