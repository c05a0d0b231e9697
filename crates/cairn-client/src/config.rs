//! Where the registry is and who we are: `CAIRN_HOST`, `CAIRN_TOKEN` (and optional
//! `CAIRN_ENTITY`, `CAIRN_PROJECT`), or the file `cairn login` writes.

use std::path::PathBuf;

use cairn_core::{Entity, Project};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Connection settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// Registry URL, e.g. `http://127.0.0.1:8080`.
    pub host: String,
    /// Bearer token.
    pub token: String,
    /// Default entity for short artifact paths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity: Option<Entity>,
    /// Default project for short artifact paths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<Project>,
}

impl Config {
    /// The config file: `$CAIRN_CONFIG`, else `$XDG_CONFIG_HOME/cairn/config.json`, else
    /// `~/.config/cairn/config.json`.
    pub fn path() -> Result<PathBuf> {
        if let Some(p) = std::env::var_os("CAIRN_CONFIG") {
            return Ok(PathBuf::from(p));
        }
        let base = match std::env::var_os("XDG_CONFIG_HOME") {
            Some(x) => PathBuf::from(x),
            None => PathBuf::from(
                std::env::var_os("HOME").ok_or_else(|| Error::Config("HOME is not set".into()))?,
            )
            .join(".config"),
        };
        Ok(base.join("cairn").join("config.json"))
    }

    /// The config file's settings, then the environment over them.
    pub fn load() -> Result<Self> {
        let path = Self::path()?;
        let mut config = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::default(),
            Err(e) => return Err(Error::io(path, e)),
        };
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if let Some(host) = var("CAIRN_HOST") {
            config.host = host;
        }
        if let Some(token) = var("CAIRN_TOKEN") {
            config.token = token;
        }
        if let Some(e) = var("CAIRN_ENTITY") {
            config.entity = Some(e.parse()?);
        }
        if let Some(p) = var("CAIRN_PROJECT") {
            config.project = Some(p.parse()?);
        }
        if config.host.is_empty() {
            config.host = "http://127.0.0.1:8080".into();
        }
        if config.token.is_empty() {
            return Err(Error::Config(
                "no token: set CAIRN_TOKEN or run `cairn login`".into(),
            ));
        }
        Ok(config)
    }

    /// Write the config file (what `cairn login` does), readable only by its owner.
    pub fn save(&self) -> Result<PathBuf> {
        let path = Self::path()?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let json = serde_json::to_vec_pretty(self).map_err(|e| Error::Config(e.to_string()))?;
        std::fs::write(&path, json).map_err(|e| Error::io(&path, e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| Error::io(&path, e))?;
        }
        Ok(path)
    }
}
