//! Resolving reference URIs into manifest entries (semantics §3).

use cairn_core::{Entry, EntryDigest};
use object_store::ObjectStore;

use crate::error::{Error, Result};
use crate::hashing::hash_file;
use crate::progress::Silent;

fn failed(uri: &str, reason: impl ToString) -> Error {
    Error::Reference {
        uri: uri.into(),
        reason: reason.to_string(),
    }
}

fn last_segment(s: &str) -> Option<String> {
    s.trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
}

fn etag_digest(uri: &str, etag: Option<String>) -> Result<EntryDigest> {
    let etag =
        etag.ok_or_else(|| failed(uri, "the server sent no ETag; add it with checksum=false"))?;
    Ok(etag.trim_start_matches("W/").trim_matches('"').parse()?)
}

/// The default name and the entry for `uri`.
pub(crate) async fn resolve(uri: &str, checksum: bool) -> Result<(Option<String>, Entry)> {
    let (scheme, rest) = uri.split_once("://").unwrap_or(("", uri));
    let mut entry = Entry {
        digest: EntryDigest::Opaque(String::new()),
        extra: None,
        reference: Some(uri.to_owned()),
        size: 0,
    };
    let name = match scheme {
        "file" | "http" | "https" | "s3" => {
            last_segment(rest.split(['?', '#']).next().unwrap_or(rest))
        }
        _ => None,
    };
    if !checksum {
        entry.digest = uri.parse()?;
        return Ok((name, entry));
    }
    match scheme {
        "file" => {
            let path = std::path::PathBuf::from(rest);
            let (digest, size) = tokio::task::spawn_blocking(move || hash_file(&path, &Silent))
                .await
                .map_err(|e| failed(uri, e))??;
            entry.digest = digest.into();
            entry.size = size;
        }
        "http" | "https" => {
            let res = reqwest::Client::new().head(uri).send().await?;
            if !res.status().is_success() {
                return Err(failed(uri, format!("HEAD answered {}", res.status())));
            }
            let etag = res
                .headers()
                .get(reqwest::header::ETAG)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            // a HEAD answer has no body, so read the header itself
            entry.size = res
                .headers()
                .get(reqwest::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.parse().ok())
                .unwrap_or(0);
            entry.digest = etag_digest(uri, etag.clone())?;
            entry.extra = Some(
                [("etag".to_owned(), serde_json::Value::from(etag))]
                    .into_iter()
                    .collect(),
            );
        }
        "s3" => {
            let (bucket, key) = rest
                .split_once('/')
                .ok_or_else(|| failed(uri, "expected s3://bucket/key"))?;
            let store = object_store::aws::AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .build()
                .map_err(|e| failed(uri, e))?;
            let meta = store
                .head(&object_store::path::Path::from(key))
                .await
                .map_err(|e| failed(uri, e))?;
            entry.size = meta.size;
            entry.digest = etag_digest(uri, meta.e_tag.clone())?;
            entry.extra = Some(
                [("etag".to_owned(), serde_json::Value::from(meta.e_tag))]
                    .into_iter()
                    .collect(),
            );
        }
        _ => {
            return Err(failed(
                uri,
                "unknown scheme: add it with checksum=false and a name",
            ));
        }
    }
    Ok((name, entry))
}
