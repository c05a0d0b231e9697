//! Listing collections and versions, and moving aliases.

use cairn_core::wire::{AliasTarget, ArtifactList, ArtifactSummary, Version, VersionList};
use cairn_core::{Alias, ArtifactName};
use reqwest::Method;

use crate::api::Api;
use crate::error::Result;
use crate::http::{ProjectRef, encode_path};

impl Api {
    /// The bytes and blobs a project holds, and its quota.
    pub async fn usage(&self, project: &ProjectRef) -> Result<cairn_core::wire::Usage> {
        self.http.json_get(&project.api("/usage")).await
    }

    /// Set (`Some(bytes)`) or lift (`None`) a project's storage quota (an admin token).
    pub async fn set_quota(
        &self,
        project: &ProjectRef,
        bytes: Option<u64>,
    ) -> Result<cairn_core::wire::Usage> {
        let body = cairn_core::wire::QuotaRequest { bytes };
        self.http
            .json(Method::PUT, &project.api("/quota"), Some(&body))
            .await
    }

    /// Every collection of a project (all pages).
    pub async fn list_artifacts(&self, project: &ProjectRef) -> Result<Vec<ArtifactSummary>> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let query = after
                .as_deref()
                .map_or_else(String::new, |a| format!("&after={}", encode_path(a)));
            let page: ArtifactList = self
                .http
                .json(
                    Method::GET,
                    &project.api(&format!("/artifacts?limit=1000{query}")),
                    None::<&()>,
                )
                .await?;
            out.extend(page.artifacts);
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(out),
            }
        }
    }

    /// Every version of a collection, oldest first (all pages).
    pub async fn list_versions(
        &self,
        project: &ProjectRef,
        name: &ArtifactName,
    ) -> Result<Vec<Version>> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let query = after
                .as_deref()
                .map_or_else(String::new, |a| format!("&after={a}"));
            let url = project.api(&format!("/artifacts/{name}/versions?limit=1000{query}"));
            let page: VersionList = self.http.json(Method::GET, &url, None::<&()>).await?;
            out.extend(page.versions);
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(out),
            }
        }
    }

    /// Point `alias` at the version `path` names (`[[entity/]project/]name:ref`).
    pub async fn set_alias(&self, path: &str, alias: &str) -> Result<Version> {
        let version = self.artifact(path).await?;
        let alias: Alias = alias.parse()?;
        let info = version.info();
        let url = version.project.api(&format!(
            "/artifacts/{}/aliases/{}",
            info.name,
            encode_path(alias.as_str())
        ));
        self.http
            .json(
                Method::PUT,
                &url,
                Some(&AliasTarget {
                    version: info.version,
                }),
            )
            .await
    }

    /// Change the description and/or metadata (`None`: unchanged; metadata replaces the old)
    /// of a version already fetched; its contents never change.
    pub async fn update_version(
        &self,
        version: &crate::ArtifactVersion,
        update: &cairn_core::wire::VersionUpdate,
    ) -> Result<Version> {
        let info = version.info();
        let url = version.project().api(&format!(
            "/artifacts/{}/versions/{}",
            info.name, info.version
        ));
        self.http.json(Method::PATCH, &url, Some(update)).await
    }

    /// Remove `alias` from the collection `path` names (`[[entity/]project/]name`).
    pub async fn delete_alias(&self, path: &str, alias: &str) -> Result<()> {
        let p = self.parse_path(path)?;
        let alias: Alias = alias.parse()?;
        let project = ProjectRef {
            entity: p.entity,
            project: p.project,
        };
        let url = project.api(&format!(
            "/artifacts/{}/aliases/{}",
            p.name,
            encode_path(alias.as_str())
        ));
        self.http.send(Ok, Method::DELETE, &url).await?;
        Ok(())
    }
}
