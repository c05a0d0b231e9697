//! Who the key is, and runs: a W&B run is recorded as a Cairn run (its name the W&B run id)
//! so what it logs and uses shows in Cairn's lineage. Run files and telemetry are accepted and
//! discarded: Cairn keeps artifacts, not run history.

use cairn_core::RunId;
use cairn_core::wire::RunRequest;
use cairn_server::AppState;
use cairn_store::{ProjectKey, Role};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Ctx;
use crate::error::Result;
use crate::ids;
use crate::ticket::Grant;

/// `Viewer`: the key's token as a W&B user; its entity is the token's (or, for a token of
/// every entity, its name).
pub fn viewer(ctx: &Ctx) -> Result<Value> {
    let entity = ctx.default_entity();
    Ok(json!({
        "viewer": {
            "id": ids::user(&ctx.caller.name),
            "entity": entity,
            "username": ctx.caller.name,
            "email": null,
            "admin": ctx.caller.role == Role::Admin && ctx.caller.entity.is_none(),
            "flags": "{}",
            "teams": { "edges": [] },
        }
    }))
}

#[derive(Serialize, Deserialize)]
struct RunState {
    id: RunId,
    /// The name of the token that started it.
    #[serde(default)]
    user: Option<String>,
}

fn run_key(p: &ProjectKey, run: &str) -> String {
    format!("wandb:run:{p}/{run}")
}

/// The Cairn run recorded for a W&B run, if any.
pub async fn cairn_run(state: &AppState, p: &ProjectKey, run: &str) -> Result<Option<RunId>> {
    Ok(run_state(state, p, run).await?.map(|s| s.id))
}

async fn run_state(state: &AppState, p: &ProjectKey, run: &str) -> Result<Option<RunState>> {
    let Some(raw) = state.meta.compat_state(&run_key(p, run)).await? else {
        return Ok(None);
    };
    let s: RunState = serde_json::from_str(&raw)
        .map_err(|e| cairn_store::Error::Corrupt(format!("W&B run state {run}: {e}")))?;
    Ok(Some(s))
}

/// The Cairn run for a W&B run, created on first sight (concurrent first sights agree: the
/// first recorded wins; a run another request created meanwhile is simply unused).
pub async fn ensure_run(
    ctx: &Ctx,
    p: &ProjectKey,
    run: &str,
    group: Option<&str>,
    job_type: Option<&str>,
) -> Result<(RunId, bool)> {
    if let Some(id) = cairn_run(&ctx.state, p, run).await? {
        return Ok((id, false));
    }
    let request = RunRequest {
        name: Some(run.to_owned()),
        group: group.and_then(|g| g.parse().ok()),
        job_type: job_type.map(str::to_owned),
    };
    let created = ctx.state.meta.create_run(p, request).await?;
    let state = serde_json::to_string(&RunState {
        id: created.id.clone(),
        user: Some(ctx.caller.name.clone()),
    })
    .expect("a run id serialises");
    let inserted = ctx
        .state
        .meta
        .set_compat_state(&run_key(p, run), &state, true)
        .await?;
    if inserted {
        return Ok((created.id, true));
    }
    Ok((
        cairn_run(&ctx.state, p, run).await?.unwrap_or(created.id),
        false,
    ))
}

/// `UpsertBucket`: start (or update) a run.
pub async fn upsert_bucket(ctx: &Ctx) -> Result<Value> {
    let entity = ctx.opt("entity").unwrap_or_else(|| ctx.default_entity());
    let project_name = ctx.opt("project").unwrap_or_else(|| "uncategorized".into());
    let p = ctx.project(&entity, &project_name, Role::Write)?;
    let name = match ctx.opt("name") {
        Some(n) => n,
        None => ctx.var("id")?,
    };
    let (_, inserted) = ensure_run(
        ctx,
        &p,
        &name,
        ctx.opt("groupName").as_deref(),
        ctx.opt("jobType").as_deref(),
    )
    .await?;
    Ok(json!({
        "upsertBucket": {
            "bucket": {
                "id": ids::run(&p, &name),
                "name": name,
                "displayName": ctx.opt("displayName").unwrap_or_else(|| name.clone()),
                "description": ctx.opt("description"),
                "config": ctx.opt("config").unwrap_or_else(|| "{}".into()),
                "sweepName": null,
                "project": {
                    "id": ids::project(&p),
                    "name": p.project.as_str(),
                    "entity": { "id": ids::project(&p), "name": p.entity.as_str() },
                },
                "historyLineCount": 0,
            },
            "inserted": inserted,
        }
    }))
}

/// `CreateRunFiles`: URLs for a run's files, which are accepted and discarded.
pub async fn create_run_files(ctx: &Ctx) -> Result<Value> {
    let p = ctx.project(&ctx.var("entity")?, &ctx.var("project")?, Role::Write)?;
    let run = ctx.var("run")?;
    let mut files = Vec::new();
    for f in ctx
        .vars
        .get("files")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let url = ctx.signed("put", Grant::PutRunFile).await?;
        files.push(json!({ "name": f, "uploadUrl": url }));
    }
    Ok(json!({
        "createRunFiles": {
            "runID": ids::run(&p, &run),
            "uploadHeaders": [],
            "files": files,
        }
    }))
}

/// `Run`: a run by its W&B id, as the public API's `Run` reads it (Cairn keeps no config,
/// metrics or history: those are empty).
pub async fn run(ctx: &Ctx) -> Result<Value> {
    let p = ctx.project(&ctx.var("entity")?, &ctx.var("project")?, Role::Read)?;
    let name = ctx.var("name")?;
    let Some(state) = run_state(&ctx.state, &p, &name).await? else {
        return Ok(json!({ "project": { "run": null } }));
    };
    let run = ctx.state.meta.run(&p, &state.id).await?;
    let user = state.user.unwrap_or_default();
    Ok(json!({
        "project": {
            "run": {
                "__typename": "Run",
                "id": ids::run(&p, &name),
                "projectId": 0,
                "name": name,
                "displayName": name,
                "tags": [],
                "sweepName": null,
                "state": "finished",
                "config": "{}",
                "group": run.group.map(|g| g.to_string()),
                "jobType": run.job_type,
                "commit": null,
                "readOnly": false,
                "createdAt": run.created_at,
                "heartbeatAt": run.created_at,
                "description": null,
                "notes": null,
                "systemMetrics": "{}",
                "summaryMetrics": "{}",
                "historyLineCount": 0,
                "historyKeys": null,
                "user": { "name": user, "username": user },
            }
        }
    }))
}

/// `RunOutputArtifacts` / `RunInputArtifacts`: the versions a run logged or used (deleted
/// ones left out).
pub async fn run_artifacts(ctx: &Ctx, logged: bool) -> Result<Value> {
    let p = ctx.project(&ctx.var("entity")?, &ctx.var("project")?, Role::Read)?;
    let Some(id) = cairn_run(&ctx.state, &p, &ctx.var("run")?).await? else {
        return Ok(json!({ "project": { "run": null } }));
    };
    let run = ctx.state.meta.run(&p, &id).await?;
    let keys = if logged { run.logged } else { run.used };
    let mut edges = Vec::new();
    for k in &keys {
        let r = cairn_core::VersionRef::Index(k.version.0);
        match ctx.state.meta.version(&p, &k.name, &r).await {
            Ok(v) => {
                let node = super::read::artifact_json(ctx, &p, &v).await?;
                edges.push(json!({ "node": node }));
            }
            Err(cairn_store::Error::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(json!({ "project": { "run": { "artifacts": {
        "totalCount": edges.len(),
        "pageInfo": { "__typename": "PageInfo", "hasNextPage": false, "endCursor": null },
        "edges": edges,
    }}}}))
}

/// `RunResumeStatus` (`wandb.init(id=…, resume=…)`): whether the run exists. Cairn keeps no
/// history, so a resumed run starts its history, summary and config empty.
pub async fn resume_status(ctx: &Ctx) -> Result<Value> {
    let entity = ctx.opt("entity").unwrap_or_else(|| ctx.default_entity());
    let project = ctx.opt("project").unwrap_or_else(|| "uncategorized".into());
    let p = ctx.project(&entity, &project, Role::Read)?;
    let name = ctx.var("name")?;
    let bucket = match cairn_run(&ctx.state, &p, &name).await? {
        None => Value::Null,
        Some(_) => json!({
            "id": ids::run(&p, &name),
            "name": name,
            "displayName": name,
            "summaryMetrics": "{}",
            "logLineCount": 0,
            "historyLineCount": 0,
            "eventsLineCount": 0,
            "historyTail": "[]",
            "eventsTail": "[]",
            "config": "{}",
            "tags": [],
            "notes": null,
            // the SDK counts a run as started when this has a "t" key
            "wandbConfig": "{\"t\": {}}",
        }),
    };
    Ok(json!({
        "model": {
            "id": ids::project(&p),
            "name": p.project.as_str(),
            "entity": { "id": ids::project(&p), "name": p.entity.as_str() },
            "bucket": bucket,
        }
    }))
}
