//! A commit's JSON body read as a stream: the entries of a full manifest go one at a time into
//! a [`Spool`] (sorted on disk in bounded memory) while the rest of the request — type,
//! aliases, description, metadata, or a patch — is parsed as usual. So a 1 GiB manifest never
//! exists in the registry's memory as JSON or as a map; only a patch is parsed whole, after its
//! share of the JSON budget grew to its size ([`JsonShare::grow`]).
//!
//! The body is parsed on a blocking thread from a reader fed by the request's frames; a parse
//! error stops the reading (the rest of the body is not read).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io::{self, Read};
use std::rc::Rc;

use axum::extract::Request;
use bytes::{Buf, Bytes};
use cairn_core::wire::CommitRequest;
use cairn_core::{Entry, EntryPath, Patch};
use futures::StreamExt;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};
use tokio::sync::mpsc;

use crate::AppState;
use crate::budget::JsonShare;
use crate::error::{ApiError, ApiResult};
use crate::spool::Spool;

/// Bytes the fields other than `manifest` and `patch` may take together (a description or
/// metadata larger than this is refused with 413).
pub const OTHER_FIELDS: u64 = 16 << 20;

/// Bytes read and dropped after the parse stopped at an error, before answering.
const DRAIN: u64 = 4 << 20;

/// A commit request as read.
#[derive(Debug)]
pub(crate) enum CommitBody {
    /// A full manifest, spooled; `request` carries neither manifest nor patch.
    Manifest {
        request: CommitRequest,
        spool: Spool,
    },
    /// Everything else (a patch, or no content at all: the store says what is missing).
    Whole(CommitRequest),
}

/// Read the body of `req` (a `POST …/versions`).
pub(crate) async fn read(state: &AppState, req: Request) -> ApiResult<CommitBody> {
    if !crate::budget::is_json(req.headers()) {
        return Err(ApiError::UnsupportedMediaType(
            "Expected request with `Content-Type: application/json`".into(),
        ));
    }
    let share = req.extensions().get::<JsonShare>().cloned();
    let config = state.config.clone();
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(8);
    let handle = tokio::runtime::Handle::current();
    let parse = tokio::task::spawn_blocking(move || {
        let limits = Limits {
            body: config.max_json_body,
            entries: config.max_manifest_entries,
        };
        parse(
            BodyReader::new(rx),
            spool_parent(&config),
            limits,
            share,
            &handle,
        )
    });
    let mut frames = req.into_body().into_data_stream();
    let mut refused = None::<u64>;
    while let Some(frame) = frames.next().await {
        if let Some(drained) = &mut refused {
            // the parser stopped at an error: read a little more so that a client a little
            // past it gets the answer rather than a reset connection
            *drained += frame.as_ref().map_or(DRAIN, |f| f.len() as u64);
            if *drained >= DRAIN {
                break;
            }
            continue;
        }
        let frame = frame.map_err(io::Error::other);
        let failed = frame.is_err();
        if tx.send(frame).await.is_err() {
            refused = Some(0);
        } else if failed {
            break;
        }
    }
    drop(tx);
    parse
        .await
        .map_err(|e| ApiError::BadRequest(format!("reading the commit body failed: {e}")))?
}

/// Where spooled manifests go: the configured folder, else the system's temporary one.
pub(crate) fn spool_parent(config: &crate::Config) -> std::path::PathBuf {
    config
        .spool_dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("cairn-spool"))
}

#[derive(Clone, Copy)]
struct Limits {
    body: u64,
    entries: u64,
}

/// Bytes read so far and the cap on them (shared by the reader and the parse).
#[derive(Default)]
struct Meter {
    read: Cell<u64>,
    cap: Cell<Option<u64>>,
}

/// A blocking [`Read`] over the frames the async side forwards.
struct BodyReader {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
    meter: Rc<Meter>,
}

impl BodyReader {
    fn new(rx: mpsc::Receiver<io::Result<Bytes>>) -> Self {
        Self {
            rx,
            current: Bytes::new(),
            meter: Rc::default(),
        }
    }
}

/// The reader's error when the body passes its cap (the parse turns it into a 413).
#[derive(Debug)]
struct OverCap;

impl fmt::Display for OverCap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the body passed its size limit")
    }
}

impl std::error::Error for OverCap {}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(frame) => self.current = frame?,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        let read = self.meter.read.get() + n as u64;
        self.meter.read.set(read);
        if self.meter.cap.get().is_some_and(|cap| read > cap) {
            return Err(io::Error::other(OverCap));
        }
        Ok(n)
    }
}

/// What the parse collects.
struct Ctx<'a> {
    spool: Option<Spool>,
    parent: std::path::PathBuf,
    limits: Limits,
    meter: Rc<Meter>,
    share: Option<JsonShare>,
    handle: &'a tokio::runtime::Handle,
    /// Why the parse stopped, when it is not the JSON's fault.
    fail: RefCell<Option<ApiError>>,
    other: Map<String, Value>,
    patch: Option<Patch>,
    version: Option<u64>,
    contents: bool,
}

impl Ctx<'_> {
    fn fail<E: de::Error>(&self, e: ApiError) -> E {
        let msg = e.to_string();
        *self.fail.borrow_mut() = Some(e);
        E::custom(msg)
    }

    /// Cap the bytes read from here at `more` past the body's own limit, whichever is first.
    fn cap(&self, more: Option<u64>) {
        let at = self.meter.read.get();
        let cap = more.map_or(self.limits.body, |m| (at + m).min(self.limits.body));
        self.meter.cap.set(Some(cap));
    }
}

fn parse(
    reader: BodyReader,
    parent: std::path::PathBuf,
    limits: Limits,
    share: Option<JsonShare>,
    handle: &tokio::runtime::Handle,
) -> ApiResult<CommitBody> {
    let meter = reader.meter.clone();
    let mut ctx = Ctx {
        spool: None,
        parent,
        limits,
        meter,
        share,
        handle,
        fail: RefCell::new(None),
        other: Map::new(),
        patch: None,
        version: None,
        contents: false,
    };
    ctx.cap(None);
    let mut de =
        serde_json::Deserializer::from_reader(io::BufReader::with_capacity(64 << 10, reader));
    let parsed = Top(&mut ctx).deserialize(&mut de).and_then(|()| de.end());
    if let Err(e) = parsed {
        if let Some(why) = ctx.fail.take() {
            return Err(why);
        }
        let meter = &ctx.meter;
        let over = meter.cap.get().is_some_and(|cap| meter.read.get() > cap);
        if over {
            return Err(ApiError::TooLarge(format!(
                "the commit body is over this registry's limit of {} bytes (--max-json-body), \
                 or its fields besides manifest and patch are over {OTHER_FIELDS} bytes",
                limits.body
            )));
        }
        return Err(ApiError::BadRequest(format!("invalid commit body: {e}")));
    }
    let mut request: CommitRequest = serde_json::from_value(Value::Object(ctx.other))
        .map_err(|e| ApiError::BadRequest(format!("invalid commit body: {e}")))?;
    request.patch = ctx.patch;
    let Some(spool) = ctx.spool else {
        return Ok(CommitBody::Whole(request));
    };
    if !ctx.contents {
        return Err(ApiError::BadRequest(
            "invalid commit body: manifest: missing field `contents`".into(),
        ));
    }
    match ctx.version {
        Some(1) => {}
        Some(v) => return Err(cairn_core::Error::UnsupportedManifestVersion(v).into()),
        None => {
            return Err(ApiError::BadRequest(
                "invalid commit body: manifest: missing field `version`".into(),
            ));
        }
    }
    if request.patch.is_some() {
        return Err(ApiError::BadRequest(
            "give exactly one of manifest or patch".into(),
        ));
    }
    Ok(CommitBody::Manifest { request, spool })
}

/// The request object.
struct Top<'c, 'a>(&'c mut Ctx<'a>);

impl<'de> DeserializeSeed<'de> for Top<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Top<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a commit request object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ctx = self.0;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "manifest" => {
                    if ctx.spool.is_some() {
                        return Err(de::Error::duplicate_field("manifest"));
                    }
                    ctx.spool = Some(Spool::new(ctx.parent.clone()));
                    map.next_value_seed(ManifestSeed(&mut *ctx))?;
                }
                "patch" => {
                    // parsed whole: the body's whole cost comes out of the budget first
                    if let Some(share) = &ctx.share {
                        share.grow(ctx.handle).map_err(|e| ctx.fail(e))?;
                    }
                    ctx.cap(None);
                    ctx.patch = Some(map.next_value()?);
                }
                _ => {
                    ctx.cap(Some(OTHER_FIELDS));
                    let value: Value = map.next_value()?;
                    if ctx.other.insert(key, value).is_some() {
                        return Err(de::Error::custom("a field is given twice"));
                    }
                }
            }
        }
        Ok(())
    }
}

/// `{"version": 1, "contents": {…}}`.
struct ManifestSeed<'c, 'a>(&'c mut Ctx<'a>);

impl<'de> DeserializeSeed<'de> for ManifestSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ManifestSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a manifest object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ctx = self.0;
        ctx.cap(None);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "version" => ctx.version = Some(map.next_value()?),
                "contents" => {
                    if ctx.contents {
                        return Err(de::Error::duplicate_field("contents"));
                    }
                    ctx.contents = true;
                    map.next_value_seed(ContentsSeed(&mut *ctx))?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// The entries, each pushed to the spool as it is read.
struct ContentsSeed<'c, 'a>(&'c mut Ctx<'a>);

impl<'de> DeserializeSeed<'de> for ContentsSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ContentsSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("entries keyed by path")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ctx = self.0;
        let limit = ctx.limits.entries;
        while let Some(path) = map.next_key::<EntryPath>()? {
            let entry: Entry = map.next_value()?;
            entry.check(&path).map_err(de::Error::custom)?;
            let spool = ctx.spool.as_mut().expect("created with the manifest key");
            if spool.entries() >= limit {
                let e = ApiError::TooLarge(format!(
                    "at least {} entries in one request; this registry takes at most {limit} \
                     (--max-manifest-entries): send them as several upserts of one distributed \
                     version",
                    limit + 1
                ));
                return Err(ctx.fail(e));
            }
            if let Err(e) = spool.push(path, entry) {
                return Err(ctx.fail(ApiError::Spool(e)));
            }
        }
        Ok(())
    }
}
