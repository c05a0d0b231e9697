//! Large files through resumable upload sessions, as the SDK sends them: parts of the file go up
//! four at once; a dropped connection (the registry restarting, a network blip) is retried until
//! the registry answers again, without sending again the parts it holds; and dropping the same
//! file after a page reload resumes the session the registry keeps for that digest.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::rc::Rc;

use cairn_core::Digest;
use cairn_core::wire::{UploadRequest, UploadSession};
use futures::StreamExt;

use crate::api;

/// Parts of one file sent at once.
const PARTS_AT_ONCE: usize = 4;

/// How long to keep retrying a registry that does not answer, in tries (1 to 5 s apart).
const PATIENCE: u32 = 150;

/// Run `call` again while the registry cannot be reached or answers 429/502/503/504 (waiting
/// 1 s, then up to 5 s, between tries), until it succeeds, fails for good or is cancelled.
async fn patient<T, F, Fut>(call: F, cancelled: &dyn Fn() -> bool) -> Result<T, String>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let mut tries = 0;
    loop {
        tries += 1;
        match call().await {
            Ok(v) => return Ok(v),
            Err(_) if cancelled() => return Err("cancelled".into()),
            Err(e) if api::transient(&e) && tries < PATIENCE => {
                api::sleep_ms(1000 * tries.min(5) as i32).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Whether a failure means the session is gone (expired, or its parts did not add up).
fn start_over(error: &str) -> bool {
    error.ends_with("(404)") || error.ends_with("(422)")
}

/// Upload `file`, whose SHA-256 is `digest`, through a session; `progress` gets the bytes the
/// registry holds so far (including parts from an earlier, interrupted upload).
pub async fn put_resumable(
    entity: &str,
    project: &str,
    digest: &Digest,
    file: &web_sys::File,
    progress: impl Fn(f64) + 'static,
    cancelled: impl Fn() -> bool,
) -> Result<(), String> {
    let progress: Rc<dyn Fn(f64)> = Rc::new(progress);
    let mut fresh_starts = 0;
    loop {
        match send(entity, project, digest, file, progress.clone(), &cancelled).await {
            Err(e) if start_over(&e) && fresh_starts == 0 => fresh_starts += 1,
            Err(e) if e.ends_with("(422)") => {
                // the bytes are not what the digest says: if it was recalled, it is stale
                crate::fingerprints::forget(file).await;
                return Err(format!("{}: {e}; drop the file again", file.name()));
            }
            Err(e) => return Err(format!("{}: {e}", file.name())),
            Ok(()) => return Ok(()),
        }
    }
}

async fn send(
    entity: &str,
    project: &str,
    digest: &Digest,
    file: &web_sys::File,
    progress: Rc<dyn Fn(f64)>,
    cancelled: &dyn Fn() -> bool,
) -> Result<(), String> {
    let size = file.size() as u64;
    let request = UploadRequest {
        digest: *digest,
        size,
    };
    let open = api::project_api(entity, project, "/uploads");
    let session: UploadSession = patient(|| api::json("POST", &open, &request), cancelled).await?;
    let held: f64 = session.parts.iter().map(|p| p.size as f64).sum();
    // bytes of each part in flight; the total is what the registry holds plus these
    let moving: Rc<RefCell<HashMap<u32, f64>>> = Rc::default();
    let report = {
        let (moving, progress) = (moving.clone(), progress.clone());
        move || progress(held + moving.borrow().values().sum::<f64>())
    };
    report();
    let report = Rc::new(report);
    let id = session.id.clone();
    let results: Vec<Result<(), String>> = futures::stream::iter(session.missing())
        .map(|n| {
            let (moving, report) = (moving.clone(), report.clone());
            let url = api::project_api(entity, project, &format!("/uploads/{id}/parts/{n}"));
            let part_size = session.part_size;
            async move {
                let len = UploadSession::part_len(size, part_size, n)
                    .ok_or_else(|| format!("the registry's session has no part {n}"))?;
                let start = n as f64 * part_size as f64;
                let blob = file
                    .slice_with_f64_and_f64(start, start + len as f64)
                    .map_err(|_| "the file could not be read".to_string())?;
                let on_progress: Rc<dyn Fn(f64)> = Rc::new(move |sent| {
                    moving.borrow_mut().insert(n, sent);
                    report();
                });
                patient(|| api::xhr_put(&url, &blob, on_progress.clone()), cancelled).await
            }
        })
        .buffer_unordered(PARTS_AT_ONCE)
        .collect()
        .await;
    results.into_iter().collect::<Result<Vec<()>, String>>()?;
    let complete = api::project_api(entity, project, &format!("/uploads/{id}/complete"));
    let _: UploadSession = patient(|| api::json("POST", &complete, &()), cancelled).await?;
    progress(size as f64);
    Ok(())
}
