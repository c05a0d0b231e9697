//! The registry's HTTP API, with retries of transient failures and problem documents turned
//! into [`Error::Api`].

use std::time::Duration;

use cairn_core::wire::Problem;
use cairn_core::{Entity, Project};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::Config;
use crate::error::{Error, Result};

/// How many times a transient failure is tried.
const ATTEMPTS: u32 = 5;

/// Characters escaped in one path segment.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'\\')
    .add(b'^')
    .add(b'|');

/// Percent-encode an entry path for a URL, keeping its `/`s.
pub(crate) fn encode_path(path: &str) -> String {
    path.split('/')
        .map(|s| utf8_percent_encode(s, SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// A project on a registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProjectRef {
    /// The entity.
    pub entity: Entity,
    /// The project.
    pub project: Project,
}

impl ProjectRef {
    /// `/api/v1/projects/{entity}/{project}` + `rest`.
    pub(crate) fn api(&self, rest: &str) -> String {
        format!("/api/v1/projects/{}/{}{rest}", self.entity, self.project)
    }
}

/// An authenticated connection to a registry.
#[derive(Clone, Debug)]
pub struct Http {
    client: reqwest::Client,
    host: String,
    token: String,
}

fn transient(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS
            | StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT
    )
}

async fn backoff(attempt: u32) {
    let base = 100u64 << attempt.min(6);
    let jitter = rand::random::<u64>() % base;
    tokio::time::sleep(Duration::from_millis(base + jitter)).await;
}

/// Wait as the registry asked (`Retry-After` in seconds, at most a minute), else back off.
async fn wait_as_asked(res: &Response, attempt: u32) {
    let asked = res
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match asked {
        Some(secs) => tokio::time::sleep(Duration::from_secs(secs.min(60))).await,
        None => backoff(attempt).await,
    }
}

impl Http {
    /// Connect with `config`.
    pub fn new(config: &Config) -> Result<Self> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()?;
        Ok(Self {
            client,
            host: config.host.trim_end_matches('/').to_owned(),
            token: config.token.clone(),
        })
    }

    /// `path` (absolute on the registry) as a whole URL.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.host)
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.host))
            .bearer_auth(&self.token)
    }

    /// Send what `make` builds, retrying connection failures and 429/502/503/504 (after
    /// `Retry-After` when the registry says, else with backoff);
    /// any other non-success answer becomes [`Error::Api`].
    pub(crate) async fn send(
        &self,
        make: impl Fn(RequestBuilder) -> Result<RequestBuilder>,
        method: Method,
        path: &str,
    ) -> Result<Response> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = make(self.request(method.clone(), path))?.send().await;
            match result {
                Ok(res) if res.status().is_success() => return Ok(res),
                Ok(res) if transient(res.status()) && attempt < ATTEMPTS => {
                    wait_as_asked(&res, attempt).await
                }
                Ok(res) => return Err(problem(res).await),
                Err(e)
                    if (e.is_connect() || e.is_timeout() || e.is_request())
                        && attempt < ATTEMPTS =>
                {
                    backoff(attempt).await
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// A JSON call.
    pub(crate) async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&(impl Serialize + Sync)>,
    ) -> Result<T> {
        let res = self
            .send(
                |r| {
                    Ok(match body {
                        Some(b) => r.json(b),
                        None => r,
                    })
                },
                method,
                path,
            )
            .await?;
        Ok(res.json().await?)
    }

    /// A JSON GET, for calls the SDK does not wrap.
    pub async fn json_get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.json(Method::GET, path, None::<&()>).await
    }

    /// A GET whose body the caller streams.
    pub(crate) async fn get(&self, path: &str) -> Result<Response> {
        self.send(Ok, Method::GET, path).await
    }
}

async fn problem(res: Response) -> Error {
    let status = res.status();
    let text = res.text().await.unwrap_or_default();
    let problem = serde_json::from_str::<Problem>(&text).unwrap_or_else(|_| Problem {
        type_: "about:blank".into(),
        title: status.canonical_reason().unwrap_or("error").into(),
        status: status.as_u16(),
        detail: if text.is_empty() {
            status.to_string()
        } else {
            text
        },
        missing: None,
        conflicts: None,
        path: None,
        reference: None,
    });
    Error::Api {
        status: status.as_u16(),
        problem: Box::new(problem),
    }
}
