//! What is done with committed versions: their full names, default download roots, alias
//! moves, and the error a failed verification raises.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use cairn_client::{Api, ArtifactVersion, ProjectRef, VerifyReport};
use pyo3::prelude::*;

use crate::error::{OrRaise, parse};
use crate::{block, connect};

/// The ValueError of a local copy that is not exactly `version`.
pub(crate) fn verify_error(root: &Path, version: &ArtifactVersion, report: VerifyReport) -> PyErr {
    let mut problems = Vec::new();
    let list = |v: Vec<String>| v.join(", ");
    if !report.missing.is_empty() {
        problems.push(format!(
            "missing: {}",
            list(report.missing.iter().map(|p| p.to_string()).collect())
        ));
    }
    if !report.mismatched.is_empty() {
        problems.push(format!(
            "different content: {}",
            list(report.mismatched.iter().map(|p| p.to_string()).collect())
        ));
    }
    if !report.extra.is_empty() {
        problems.push(format!("not in the manifest: {}", list(report.extra)));
    }
    pyo3::exceptions::PyValueError::new_err(format!(
        "{} does not match {}: {}",
        root.display(),
        qualified(version),
        problems.join("; ")
    ))
}

/// `entity/project/name:vN`.
pub(crate) fn qualified(version: &ArtifactVersion) -> String {
    let p = version.project();
    format!(
        "{}/{}/{}:{}",
        p.entity,
        p.project,
        version.info().name,
        version.info().version
    )
}

/// `./artifacts/<name>:<vN>`, W&B's default download directory.
pub(crate) fn default_root(version: &ArtifactVersion) -> PathBuf {
    PathBuf::from("artifacts").join(format!(
        "{}:{}",
        version.info().name,
        version.info().version
    ))
}

/// `project` or `entity/project`, with the API's default entity.
pub(crate) fn project_ref(api: &Api, text: &str) -> PyResult<ProjectRef> {
    let (entity, project) = match text.split_once('/') {
        Some((e, p)) => (parse(e)?, parse(p)?),
        None => {
            let default = api.default_project().or_raise()?;
            (default.entity, parse(text)?)
        }
    };
    Ok(ProjectRef { entity, project })
}

/// Move the aliases of a fetched version to `wanted`: set the new ones, remove the dropped ones
/// (`latest` moves by itself and stays).
pub(crate) fn save_aliases(
    py: Python<'_>,
    version: &ArtifactVersion,
    wanted: &[String],
) -> PyResult<()> {
    let api = connect()?;
    let path = qualified(version);
    let have: BTreeSet<String> = version
        .info()
        .aliases
        .iter()
        .map(|a| a.to_string())
        .collect();
    let want: BTreeSet<String> = wanted.iter().cloned().collect();
    let collection = path
        .rsplit_once(':')
        .map_or(path.as_str(), |(c, _)| c)
        .to_string();
    block(py, async {
        for alias in want.difference(&have) {
            api.set_alias(&path, alias).await?;
        }
        for alias in have.difference(&want).filter(|a| a.as_str() != "latest") {
            api.delete_alias(&collection, alias).await?;
        }
        Ok::<_, cairn_client::Error>(())
    })?
    .or_raise()
}
