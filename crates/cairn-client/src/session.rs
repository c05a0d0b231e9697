//! Large blobs through resumable upload sessions: the file goes up in parts (several at once);
//! when an earlier run was interrupted, the registry hands back the same session for the same
//! digest and only the parts it lacks are sent.

use std::path::Path;

use cairn_core::Digest;
pub use cairn_core::wire::RESUMABLE_THRESHOLD;
use cairn_core::wire::{UploadRequest, UploadSession};
use futures::{StreamExt, TryStreamExt};
use reqwest::Method;

use crate::error::{Error, Result};
use crate::http::{Http, ProjectRef};
use crate::progress::{Phase, Progress};

/// Parts of one blob sent at once.
const PARTS_AT_ONCE: usize = 4;

/// Upload `file` (`size` bytes hashing to `digest`) through a session; returns the bytes the
/// registry already held from an interrupted upload. A session that expired meanwhile, or
/// parts that do not add up to the digest (the file changed?), start over once.
pub(crate) async fn put_resumable(
    http: &Http,
    project: &ProjectRef,
    digest: &Digest,
    file: &Path,
    size: u64,
    progress: &dyn Progress,
) -> Result<u64> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match send(http, project, digest, file, size, progress).await {
            Err(Error::Api {
                status: 404 | 422, ..
            }) if attempt == 1 => continue,
            Err(Error::Api {
                status: 422,
                problem,
            }) => {
                return Err(Error::Api {
                    status: 422,
                    problem: Box::new(cairn_core::wire::Problem {
                        detail: format!(
                            "{}: {} (did the file change while it was uploaded?)",
                            file.display(),
                            problem.detail
                        ),
                        ..*problem
                    }),
                });
            }
            other => return other,
        }
    }
}

async fn send(
    http: &Http,
    project: &ProjectRef,
    digest: &Digest,
    file: &Path,
    size: u64,
    progress: &dyn Progress,
) -> Result<u64> {
    let request = UploadRequest {
        digest: *digest,
        size,
    };
    let session: UploadSession = http
        .json(Method::POST, &project.api("/uploads"), Some(&request))
        .await?;
    let held: u64 = session.parts.iter().map(|p| p.size).sum();
    progress.advance(Phase::Upload, held);
    let id = &session.id;
    futures::stream::iter(session.missing())
        .map(|n| async move {
            let len = UploadSession::part_len(size, session.part_size, n).ok_or_else(|| {
                Error::Config(format!("the registry's session {id} has no part {n}"))
            })?;
            let offset = u64::from(n) * session.part_size;
            let url = project.api(&format!("/uploads/{id}/parts/{n}"));
            http.put_file(&url, file, offset, len).await?;
            progress.advance(Phase::Upload, len);
            Ok::<_, Error>(())
        })
        .buffer_unordered(PARTS_AT_ONCE)
        .try_collect::<()>()
        .await?;
    let _: UploadSession = http
        .json(
            Method::POST,
            &project.api(&format!("/uploads/{id}/complete")),
            None::<&()>,
        )
        .await?;
    Ok(held)
}
