//! `POST /graphql`: the operations the SDK sends, matched by operation name (the SDK's own
//! tests match the same way; no schema is published to implement). Each answer is a superset
//! of the fields the SDK's query selects. An operation not listed here is refused with a
//! GraphQL error naming it, and logged, never answered with a guess.

mod browse;
mod commit;
mod curate;
mod read;
pub mod save;
mod session;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use cairn_core::{Entity, Project};
use cairn_server::AppState;
use cairn_server::auth::Caller;
use cairn_store::{ProjectKey, Role, TokenRecord};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{Result, WandbError};

/// What every operation is given.
#[derive(Debug)]
pub struct Ctx {
    /// The registry.
    pub state: AppState,
    /// The key's token.
    pub caller: TokenRecord,
    /// The registry's address as the client called it (for signed URLs).
    pub base: String,
    /// The operation's variables.
    pub vars: Value,
    /// The URL signer, read from the store once per request.
    pub signer: tokio::sync::OnceCell<crate::ticket::Signer>,
}

impl Ctx {
    /// A string variable, if given.
    pub fn opt(&self, name: &str) -> Option<String> {
        lookup(&self.vars, name)
    }

    /// A string variable the operation needs.
    pub fn var(&self, name: &str) -> Result<String> {
        self.opt(name)
            .ok_or_else(|| WandbError::Invalid(format!("the variable {name:?} is missing")))
    }

    /// The entity the key acts as when a request names none.
    pub fn default_entity(&self) -> String {
        match &self.caller.entity {
            Some(e) => e.to_string(),
            None => self.caller.name.clone(),
        }
    }

    /// `entity/project`, checked against the key's role.
    pub fn project(&self, entity: &str, project: &str, role: Role) -> Result<ProjectKey> {
        let key = ProjectKey {
            entity: entity.parse::<Entity>()?,
            project: project.parse::<Project>()?,
        };
        self.require(&key, role)?;
        Ok(key)
    }

    /// Fail unless the key has `role` on `project`.
    pub fn require(&self, project: &ProjectKey, role: Role) -> Result<()> {
        Caller(self.caller.clone()).require(project, role)?;
        Ok(())
    }

    /// The committed version the artifact id in variable `var` names, checked readable.
    pub async fn readable(&self, var: &str) -> Result<(ProjectKey, cairn_core::ArtifactName, u64)> {
        let (p, name, index) = commit::resolve(&self.state, &self.var(var)?).await?;
        self.require(&p, Role::Read)?;
        Ok((p, name, index))
    }

    /// A signed URL for `grant`.
    pub async fn signed(&self, verb: &str, grant: crate::ticket::Grant) -> Result<String> {
        let signer = self
            .signer
            .get_or_try_init(|| crate::ticket::Signer::load(&self.state))
            .await?;
        Ok(crate::ticket::url(&self.base, verb, &signer.sign(grant)))
    }
}

/// A string at `name` in a JSON object (a dotted path: `input.artifactID`).
pub fn lookup(v: &Value, name: &str) -> Option<String> {
    let mut at = v;
    for part in name.split('.') {
        at = at.get(part)?;
    }
    match at {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[derive(Deserialize)]
struct Request {
    query: String,
    #[serde(default)]
    variables: Option<Value>,
    #[serde(default, rename = "operationName")]
    operation_name: Option<String>,
}

/// The operation's name: `operationName`, else the first `query X` / `mutation X` of the text.
fn operation(req: &Request) -> Option<String> {
    if let Some(name) = req.operation_name.as_ref().filter(|n| !n.is_empty()) {
        return Some(name.clone());
    }
    // skip comments (`#graphql` leads some of the Python SDK's queries)
    let mut text = req.query.trim_start();
    while let Some(comment) = text.strip_prefix('#') {
        text = comment
            .split_once('\n')
            .map_or("", |(_, rest)| rest)
            .trim_start();
    }
    let rest = text
        .strip_prefix("query")
        .or_else(|| text.strip_prefix("mutation"))?;
    let name: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// An unnamed `{ viewer { … } }` (how earlier releases check a key) is `Viewer`.
fn anonymous_viewer(req: &Request) -> Option<String> {
    let text: String = req.query.split_whitespace().collect::<Vec<_>>().join(" ");
    let body = text.strip_prefix("query").unwrap_or(&text).trim_start();
    body.strip_prefix('{')
        .is_some_and(|rest| rest.trim_start().starts_with("viewer"))
        .then(|| "Viewer".to_owned())
}

/// The registry's address as the client called it.
fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|s| *s == "https")
        .unwrap_or("http");
    format!("{scheme}://{host}")
}

/// `POST /graphql`.
pub async fn graphql(
    State(state): State<AppState>,
    caller: std::result::Result<Caller, cairn_server::ApiError>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    // the key first: no body is read for an unknown caller
    let caller = match caller {
        Ok(c) => c.0,
        Err(e) => return WandbError::Unauthorized(e.to_string()).graphql(),
    };
    let too_large = || {
        let message = format!(
            "the GraphQL request is over {} MiB; Cairn refuses it",
            crate::GRAPHQL_LIMIT >> 20
        );
        let body = json!({ "data": null, "errors": [{ "message": message }] });
        (axum::http::StatusCode::PAYLOAD_TOO_LARGE, axum::Json(body)).into_response()
    };
    // refused from its declared length before a byte is read; else read up to the limit
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|n| n > crate::GRAPHQL_LIMIT) {
        return too_large();
    }
    let body: Bytes = match axum::body::to_bytes(body, crate::GRAPHQL_LIMIT).await {
        Ok(b) => b,
        Err(_) => return too_large(),
    };
    let req: Request = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return WandbError::Invalid(format!("not a GraphQL request: {e}")).graphql();
        }
    };
    let Some(op) = operation(&req).or_else(|| anonymous_viewer(&req)) else {
        let start: String = req.query.split_whitespace().collect::<Vec<_>>().join(" ");
        let start: String = start.chars().take(120).collect();
        tracing::warn!(query = %start, "W&B request without an operation name");
        return WandbError::Invalid(format!(
            "the GraphQL request names no operation (Cairn answers named operations only): {start}"
        ))
        .graphql();
    };
    let ctx = Ctx {
        state,
        caller,
        base: base_url(&headers),
        vars: req.variables.unwrap_or(Value::Null),
        signer: tokio::sync::OnceCell::new(),
    };
    match dispatch(&op, &ctx).await {
        Ok(data) => axum::Json(json!({ "data": data })).into_response(),
        Err(e) => {
            if matches!(e, WandbError::Unsupported(_)) {
                tracing::warn!(operation = %op, "W&B operation not implemented");
            } else {
                tracing::info!(operation = %op, error = %e, "W&B operation refused");
            }
            e.graphql()
        }
    }
}

async fn dispatch(op: &str, ctx: &Ctx) -> Result<Value> {
    match op {
        "Viewer" | "GetViewer" | "GetDefaultEntity" => session::viewer(ctx),
        "Run" => session::run(ctx).await,
        "RunResumeStatus" => session::resume_status(ctx).await,
        "RunOutputArtifacts" => session::run_artifacts(ctx, true).await,
        "RunInputArtifacts" => session::run_artifacts(ctx, false).await,
        "ServerFeaturesQuery" => Ok(json!({ "serverInfo": { "features": [] } })),
        "XXHashDigestsEnabled" => Ok(json!({ "entity": { "xxhashDigestsEnabled": false } })),
        "UpsertBucket" => session::upsert_bucket(ctx).await,
        "CreateRunFiles" => session::create_run_files(ctx).await,
        "FetchArtifactDigestAlgorithm" => read::digest_algorithm(ctx).await,
        "ArtifactType" => read::artifact_type(ctx).await,
        // no organisations here: the SDK goes on without one
        "OrganizationCoreWeaveOrganizationID" => Ok(json!({ "entity": { "organization": null } })),
        "CreateArtifact" => save::create_artifact(ctx).await,
        "CreateArtifactManifest" => save::create_manifest(ctx).await,
        "UpdateArtifactManifest" => save::update_manifest(ctx).await,
        "CreateArtifactFiles" => save::create_files(ctx).await,
        "CommitArtifact" => commit::commit(ctx).await,
        "UseArtifact" => commit::use_artifact(ctx).await,
        "ArtifactByID" => read::by_id(ctx).await,
        "ArtifactMembershipByName" => read::membership_by_name(ctx).await,
        "FetchArtifactManifest" | "ArtifactManifest" => read::manifest(ctx).await,
        "GetArtifactMembershipFileUrls" => read::membership_files(ctx).await,
        "ArtifactFileURLsByManifestEntries" => read::files_by_entries(ctx).await,
        "ArtifactFileURLs" => read::file_urls(ctx).await,
        "AddAliases" => curate::add_aliases(ctx).await,
        "DeleteAliases" => curate::delete_aliases(ctx).await,
        "UpdateArtifact" => curate::update_artifact(ctx).await,
        "DeleteArtifact" => curate::delete_artifact(ctx).await,
        "ArtifactCreatedBy" => curate::created_by(ctx).await,
        "ArtifactUsedBy" => curate::used_by(ctx).await,
        "IsProjectReadOnly" => curate::project_read_only(ctx).await,
        "ArtifactMembershipFiles" => browse::membership_files(ctx).await,
        "ProjectArtifacts" => browse::versions(ctx).await,
        "ProjectArtifactTypes" => browse::types(ctx).await,
        "ProjectArtifactType" => browse::artifact_type(ctx).await,
        "ArtifactTypeArtifactCollections" | "ProjectArtifactCollections" => {
            browse::list_collections(ctx).await
        }
        "ProjectArtifactCollection" => browse::collection(ctx).await,
        other => Err(WandbError::Unsupported(other.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(query: &str, name: Option<&str>) -> Request {
        Request {
            query: query.into(),
            variables: None,
            operation_name: name.map(str::to_owned),
        }
    }

    #[test]
    fn operation_names() {
        assert_eq!(
            operation(&req("query Viewer {\n viewer { id } }", None)).as_deref(),
            Some("Viewer")
        );
        assert_eq!(
            operation(&req("\n mutation CreateArtifact ($input: X!) {}", None)).as_deref(),
            Some("CreateArtifact")
        );
        assert_eq!(
            operation(&req("{ viewer { id } }", Some("Named"))).as_deref(),
            Some("Named")
        );
        assert_eq!(operation(&req("{ viewer { id } }", None)), None);
        assert_eq!(
            anonymous_viewer(&req("{ viewer { id } }", None)).as_deref(),
            Some("Viewer")
        );
        assert_eq!(
            anonymous_viewer(&req("query { viewer { id } }", None)).as_deref(),
            Some("Viewer")
        );
        assert_eq!(anonymous_viewer(&req("{ project { id } }", None)), None);
        assert_eq!(
            operation(&req("#graphql\n  # more\nquery Run($p: String!) {}", None)).as_deref(),
            Some("Run")
        );
    }

    #[test]
    fn lookup_walks_objects() {
        let v = json!({ "input": { "artifactID": "abc", "n": 3 } });
        assert_eq!(lookup(&v, "input.artifactID").as_deref(), Some("abc"));
        assert_eq!(lookup(&v, "input.n").as_deref(), Some("3"));
        assert_eq!(lookup(&v, "input.none"), None);
    }
}
