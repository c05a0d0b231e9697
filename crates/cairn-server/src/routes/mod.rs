//! The HTTP API, one module per resource. Routes and their OpenAPI entries are registered
//! together (utoipa-axum), so the document cannot miss a route.

mod aliases;
mod artifacts;
mod blobs;
mod chunks;
mod distributed;
mod files;
mod identity;
mod links;
mod params;
mod quotas;
mod reference;
mod runs;
mod uploads;
mod versions;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::any;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::{AppState, web};

#[derive(OpenApi)]
#[openapi(
    info(title = "Cairn registry", description = "Artifact registry for datasets and models (docs/api.md)."),
    components(schemas(cairn_core::wire::Problem)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(identity::health))
        .routes(routes!(identity::ready))
        .routes(routes!(identity::openapi_json))
        .routes(routes!(reference::reference))
        .routes(routes!(identity::whoami))
        .routes(routes!(identity::projects))
        .routes(routes!(identity::create_token))
        .routes(routes!(blobs::missing))
        .routes(routes!(blobs::put, blobs::head))
        .routes(routes!(chunks::known))
        .routes(routes!(chunks::chunk_list))
        .routes(routes!(chunks::put_pack))
        .routes(routes!(chunks::assemble))
        .routes(routes!(artifacts::list))
        .routes(routes!(artifacts::get))
        .routes(routes!(versions::list, versions::commit))
        .routes(routes!(versions::get, versions::update, versions::delete))
        .routes(routes!(versions::manifest))
        .routes(routes!(files::get))
        .routes(routes!(links::create))
        .routes(routes!(links::follow))
        .routes(routes!(aliases::put, aliases::delete))
        .routes(routes!(distributed::upsert))
        .routes(routes!(distributed::finish))
        .routes(routes!(distributed::inspect, distributed::abort))
        .routes(routes!(runs::create))
        .routes(routes!(runs::get))
        .routes(routes!(runs::use_version))
        .routes(routes!(runs::lineage))
        .routes(routes!(uploads::open))
        .routes(routes!(uploads::get, uploads::abort))
        .routes(routes!(uploads::part))
        .routes(routes!(uploads::complete))
        .routes(routes!(quotas::usage))
        .routes(routes!(quotas::set))
}

/// The OpenAPI document of every route (wildcards written `{path}`), each operation listing
/// the answers every route can give besides its own (401, 403, 429).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut doc) = api().split_for_parts();
    doc.paths.paths = std::mem::take(&mut doc.paths.paths)
        .into_iter()
        .map(|(path, item)| (path.replace("{*", "{"), item))
        .collect();
    common_responses(&mut doc);
    doc
}

/// Routes that need no token.
const PUBLIC: [&str; 5] = [
    "/api/v1/links/{ticket}",
    "/api/v1/health",
    "/api/v1/ready",
    "/api/v1/openapi.json",
    "/api/v1/reference",
];

/// Add to every operation that needs a token the answers any such route gives: 401 (no,
/// unknown or expired token), 403 (a role or scope that does not reach the path), 429 (too
/// many requests or failed sign-ins, with `Retry-After`).
fn common_responses(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let problem = |what: &str| {
        ResponseBuilder::new()
            .description(what)
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build()
    };
    let common = [
        ("401", "no token, or an unknown or expired one"),
        (
            "403",
            "the token's role or scope does not reach this entity or project",
        ),
        (
            "429",
            "too many requests, uploads in flight or failed sign-ins; retry after Retry-After seconds",
        ),
    ];
    for (path, item) in doc.paths.paths.iter_mut() {
        if PUBLIC.contains(&path.as_str()) {
            continue;
        }
        let ops = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
            &mut item.head,
        ];
        for op in ops.into_iter().flatten() {
            for (status, what) in common {
                op.responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| problem(what).into());
            }
        }
    }
}

/// The registry's whole HTTP app: the API, its OpenAPI document and the web app.
pub fn router(state: AppState) -> Router {
    router_with(state, Router::new())
}

/// [`router`] with `extra` routes beside the API (a compatibility layer such as
/// `cairn-wandb`'s), behind the same per-token fairness, request ids, tracing, body timeout
/// and drain handling.
pub fn router_with(state: AppState, extra: Router<AppState>) -> Router {
    let config = state.config.clone();
    let draining = state.draining.clone();
    let api: Router<AppState> = api().split_for_parts().0;
    let budget = crate::budget::JsonBudget::new(config.clone());
    let fair = crate::fairness::Fairness::new(&config);
    // the same per-token request rate and uploads in flight as the API's routes (a route
    // layer on a router without routes panics)
    let extra = if extra.has_routes() {
        let fair = fair.clone();
        extra.route_layer(axum::middleware::from_fn(move |req, next| {
            crate::fairness::limit(fair.clone(), req, next)
        }))
    } else {
        extra
    };
    let json_limit = usize::try_from(config.max_json_body).unwrap_or(usize::MAX);
    crate::monitoring::install();
    crate::spool::clear_stale(&crate::commit_body::spool_parent(&config));
    let app = api
        .route_layer(axum::middleware::from_fn(move |req, next| {
            crate::budget::admit(budget.clone(), req, next)
        }))
        .route_layer(axum::middleware::from_fn(move |req, next| {
            crate::fairness::limit(fair.clone(), req, next)
        }))
        .route_layer(axum::middleware::from_fn(crate::monitoring::track))
        .route(
            "/api/{*rest}",
            any(|| async { ApiError::NotFound("no such API route".into()) }),
        )
        .route("/metrics", axum::routing::get(crate::monitoring::render))
        .merge(extra)
        .layer(DefaultBodyLimit::max(json_limit))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            config.body_timeout,
        ))
        .with_state(state);
    // every log line of a request carries its id: the client's `X-Request-Id` if it sent one,
    // else a fresh UUID; the response returns it
    let trace = TraceLayer::new_for_http()
        .make_span_with(|req: &axum::http::Request<axum::body::Body>| {
            let id = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!(
                "request",
                method = %req.method(),
                uri = %req.uri(),
                request_id = %id,
            )
        })
        .on_response(DefaultOnResponse::new().level(Level::INFO));
    web::service(app, &config)
        // while draining, every connection ends with its response: keep-alive clients
        // reconnect, and the load balancer sends them to a replica that stays
        .layer(axum::middleware::map_response(
            move |mut res: axum::response::Response| {
                let draining = draining.load(std::sync::atomic::Ordering::SeqCst);
                async move {
                    if draining {
                        res.headers_mut().insert(
                            axum::http::header::CONNECTION,
                            axum::http::HeaderValue::from_static("close"),
                        );
                    }
                    res
                }
            },
        ))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(trace)
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}
