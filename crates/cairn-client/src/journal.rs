//! The packs an upload has sent, noted beside the config file
//! (`uploads/<entity>/<project>.packs`), so the same upload run again after an interruption
//! offers them to the registry (which checks they are this project's) instead of resending
//! their chunks. Cleared when an upload completes; any error reading or writing it only costs
//! the resume.

use std::io::Write;
use std::path::PathBuf;

use cairn_core::pack::PackId;
use cairn_core::wire::MAX_PACKS;

use crate::config::Config;
use crate::http::ProjectRef;

/// The journal of one project.
#[derive(Debug, Clone)]
pub(crate) struct Journal {
    file: Option<PathBuf>,
}

impl Journal {
    pub(crate) fn open(project: &ProjectRef) -> Self {
        let file = Config::path().ok().and_then(|p| {
            let dir = p.parent()?.join("uploads").join(project.entity.as_str());
            Some(dir.join(format!("{}.packs", project.project)))
        });
        Self { file }
    }

    /// The packs noted (the newest, as many as one request may name).
    pub(crate) fn packs(&self) -> Vec<PackId> {
        let Some(text) = self
            .file
            .as_ref()
            .and_then(|f| std::fs::read_to_string(f).ok())
        else {
            return Vec::new();
        };
        let all: Vec<PackId> = text.lines().filter_map(|l| l.parse().ok()).collect();
        all[all.len().saturating_sub(MAX_PACKS)..].to_vec()
    }

    /// Note a pack the registry has stored (from the task that sent it, at once).
    pub(crate) fn add(&self, id: PackId) {
        let Some(file) = &self.file else { return };
        let written = file
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(file)
            })
            .and_then(|mut f| writeln!(f, "{id}"));
        // not written: this upload cannot be resumed, nothing else changes
        drop(written);
    }

    pub(crate) fn clear(&self) {
        if let Some(file) = &self.file {
            let _ = std::fs::remove_file(file);
        }
    }
}
