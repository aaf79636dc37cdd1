//! `nrledger serve`: the registry as a shared, read-only service for the whole bureau — OGC API – Features
//! (Part 1 Core, Part 2 CRS, property filters) for QGIS and GDAL, with an HTML view of every resource, and
//! vector tiles of every layer at any date ([`tiles`]).
//!
//! One process keeps the registry open: the file in SQLite's WAL mode (imports and registrations from the
//! CLI commit while it serves, and a request never waits for them), a pool of read connections each
//! answering one request at a time inside one read snapshot ([`pool`]), on tokio and axum with request
//! logs, timeouts, a body-size limit and a panic guard (a panic is a 500 for that request only). Requests
//! are parsed into typed parameters first ([`params`]): every malformed one is a 400 naming the parameter
//! ([`problem`]) before the registry is touched.

mod admin;
mod auth;
mod cql;
mod crs;
mod features;
mod geojson;
mod html;
mod jobs;
mod login;
mod lookup;
mod map;
mod openapi;
mod params;
mod patches;
mod pool;
mod preview;
mod problem;
mod registrations;
mod reports;
mod review;
mod session;
mod tiles;
mod upload;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::handler::Handler;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

use crate::catalog::Catalog;
use crate::crs::CrsInfo;
use crate::error::{Error, Result};
use crate::store::{Change, Registry, Role};

pub use auth::Need;
pub use problem::ApiError;

/// The longest query string answered (a longer one is a 414 naming it): far more than any filter needs.
pub const MAX_QUERY_BYTES: usize = 16 * 1024;
/// The largest request body accepted, but by the routes taking uploads (the read side takes none).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// How a server runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Address to listen on (port 0: any free port; the one taken is printed).
    pub listen: SocketAddr,
    /// The URL clients reach the server by (behind a reverse proxy); default `http://LISTEN`.
    pub public_url: Option<String>,
    /// Read connections (requests answered at once); the rest wait their turn.
    pub readers: usize,
    /// A request still unanswered after this long is a 503.
    pub timeout: Duration,
    /// Collections anyone may read, signed in or not (once the registry has accounts).
    pub public: Vec<String>,
    /// A browser session ends after this long without a request.
    pub idle: Duration,
    /// Where report jobs keep their files (default: beside the registry, `NAME.jobs`).
    pub jobs_dir: Option<std::path::PathBuf>,
    /// Report jobs run at once (the others wait their turn).
    pub workers: usize,
}

/// The most report jobs waiting for a worker; more are refused (503) until some have run.
pub const MAX_WAITING_JOBS: usize = 16;

/// What every request handler shares: the registry's readers and what does not change while it runs.
pub struct Service {
    pool: pool::Pool,
    /// The one connection that writes (the trail, account changes), one change at a time.
    writer: Arc<Mutex<Registry>>,
    gate: auth::Gate,
    catalog: Catalog,
    crs: CrsInfo,
    /// The report jobs.
    jobs: Arc<jobs::Jobs>,
    /// Outlines uploaded for registration previews.
    drafts: preview::Drafts,
    /// The public base URL, without a trailing slash.
    base: String,
}

impl Service {
    /// The path of the public base URL (`""` at a host's root), which the cookies are set on.
    fn base_path(&self) -> &str {
        let rest = self.base.split_once("://").map_or("", |(_, r)| r);
        rest.find('/').map_or("", |i| &rest[i..])
    }

    /// Run `write` on the writing connection, on a blocking thread. A refusal of the registry's
    /// (`Error::Invalid`: the last admin, an unknown account …) is a 400 saying why.
    async fn write<T, F>(&self, write: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Registry) -> Result<T> + Send + 'static,
    {
        let writer = self.writer.clone();
        let done = tokio::task::spawn_blocking(move || {
            let reg = writer.lock().unwrap_or_else(|p| p.into_inner());
            write(&reg)
        })
        .await
        .map_err(|_| ApiError::internal("a write panicked"))?;
        done.map_err(|e| match e {
            Error::Invalid(why) => ApiError::bad("", why),
            e => ApiError::from(e),
        })
    }

    /// Write an event (a login, a logout) to the trail.
    async fn record(&self, actor: crate::store::Actor, change: Change<'_>) -> Result<(), ApiError> {
        let (action, target, detail) = (change.action.to_string(), change.target.to_string(), change.detail);
        self.write(move |reg| {
            let change = Change { action: &action, target: &target, detail, before: None, after: None };
            reg.record_event(&actor, &change)
        })
        .await
    }
}

/// An endpoint: its method, its path, who may call it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The path, with its parameters in braces.
    pub path: &'static str,
    /// Who may call it.
    pub need: Need,
}

/// An endpoint, its handler and the largest request body it takes.
struct Route {
    endpoint: Endpoint,
    handler: MethodRouter<Arc<Service>>,
    limit: usize,
}

impl Route {
    /// The route taking bodies up to `limit` bytes (larger: 413, before the body is read).
    fn taking(self, limit: usize) -> Route {
        Route { limit, ..self }
    }
}

fn route<H, T>(method: &'static str, path: &'static str, need: Need, handler: H) -> Route
where
    H: Handler<T, Arc<Service>>,
    T: 'static,
{
    let filter = if method == "POST" { MethodFilter::POST } else { MethodFilter::GET };
    Route {
        endpoint: Endpoint { method, path, need },
        handler: axum::routing::on(filter, handler),
        limit: MAX_BODY_BYTES,
    }
}

/// Who may read the trail.
const TRAIL_READERS: &[Role] = &[Role::Admin, Role::Auditor];
/// Who may change accounts.
const ADMINS: &[Role] = &[Role::Admin];
/// Who may read the registrations submitted.
const REGISTRATION_READERS: &[Role] = &[Role::Registrar, Role::Reviewer, Role::Auditor, Role::Admin];
/// Who prepares and submits registrations.
const REGISTRARS: &[Role] = &[Role::Registrar];
/// Who approves or returns them, grants exceptions to findings, and steps suspect patches.
const REVIEWERS: &[Role] = &[Role::Reviewer];
/// Who may start report jobs (auditors: sheets and reports; reviewers: check runs).
const JOB_STARTERS: &[Role] = &[Role::Auditor, Role::Reviewer];
/// Who may see report jobs (each sees the ones [`reports`] lets them) and cancel their own.
const JOB_READERS: &[Role] = &[Role::Auditor, Role::Reviewer, Role::Admin];

/// Every endpoint of the service, with who may call it.
fn routes() -> Vec<Route> {
    use Need::*;
    vec![
        route("GET", "/", Catalogue, map::home),
        route("GET", "/health", Open, health),
        route("GET", "/conformance", Catalogue, features::conformance),
        route("GET", "/api", Catalogue, openapi::document),
        route("GET", "/collections", Catalogue, features::collections),
        route("GET", "/collections/{id}", Layer, features::collection),
        route("GET", "/collections/{id}/queryables", Layer, features::queryables),
        route("GET", "/collections/{id}/items", Layer, features::items),
        route("GET", "/collections/{id}/items/{fid}", Layer, features::item),
        route("GET", "/lookup", SignedIn, lookup::lookup),
        route("GET", "/search", SignedIn, map::search),
        route("GET", "/map/config.json", SignedIn, map::config),
        route("GET", "/assets/{file}", Open, map::asset),
        route("GET", "/units/{code}/book", SignedIn, map::book),
        route("GET", "/tiles/{file}", Layer, tiles::tilejson),
        route("GET", "/tiles/{layer}/{z}/{x}/{y}", Layer, tiles::tile),
        route("GET", "/login", Open, login::page),
        route("POST", "/login", Open, login::login),
        route("POST", "/logout", SignedIn, login::logout),
        route("GET", "/me", Open, login::me),
        route("GET", "/admin/trail", Roles(TRAIL_READERS), admin::trail),
        route("GET", "/admin/users", Roles(ADMINS), admin::users),
        route("POST", "/admin/users", Roles(ADMINS), admin::change_user),
        route("GET", "/registrations", Roles(REGISTRATION_READERS), registrations::list),
        route("GET", "/registrations/new", Roles(REGISTRARS), registrations::new),
        route("POST", "/registrations", Roles(REGISTRARS), registrations::submit).taking(upload::MAX_UPLOAD_BYTES),
        route("GET", "/registrations/{id}", Roles(REGISTRATION_READERS), registrations::show),
        route("POST", "/registrations/{id}/approve", Roles(REVIEWERS), registrations::approve),
        route("POST", "/registrations/{id}/return", Roles(REVIEWERS), registrations::give_back),
        route("GET", "/findings", SignedIn, review::list),
        route("POST", "/findings/{fid}/except", Roles(REVIEWERS), review::except),
        route("GET", "/patches", SignedIn, patches::list),
        route("GET", "/patches/{id}", SignedIn, patches::show),
        route("POST", "/patches/{id}/steps", Roles(REVIEWERS), patches::step).taking(upload::MAX_UPLOAD_BYTES),
        route("GET", "/patches/{id}/evidence/{sha}", SignedIn, patches::evidence),
        route("GET", "/jobs", Roles(JOB_READERS), reports::list),
        route("GET", "/jobs/new", Roles(JOB_STARTERS), reports::new),
        route("POST", "/jobs", Roles(JOB_STARTERS), reports::start).taking(upload::MAX_UPLOAD_BYTES),
        route("GET", "/jobs/{id}", Roles(JOB_READERS), reports::show),
        route("POST", "/jobs/{id}/cancel", Roles(JOB_READERS), reports::cancel),
        route("GET", "/jobs/{id}/files/{name}", Roles(JOB_READERS), reports::file),
    ]
}

/// Every endpoint of the service and who may call it (what the authorisation tests walk through).
pub fn endpoints() -> Vec<Endpoint> {
    routes().into_iter().map(|r| r.endpoint).collect()
}

/// Serve the registry at `path` until SIGTERM or Ctrl-C; prints the address served first.
pub fn run(path: &Path, catalog: Catalog, opts: Options) -> Result<()> {
    let first = Registry::open(path, catalog.clone())?;
    first.use_wal()?;
    let crs = first.crs.clone();
    let known = features::collection_ids(&catalog);
    for id in &opts.public {
        if !known.contains(id) {
            return Err(Error::Invalid(format!(
                "--public {id}: no such collection (collections: {})",
                known.join(", ")
            )));
        }
    }
    let public: HashSet<String> = opts.public.iter().cloned().collect();
    let gate = auth::Gate::new(Registry::open(path, catalog.clone())?, public, opts.idle)?;
    let writer = Arc::new(Mutex::new(Registry::open(path, catalog.clone())?));
    let pool = pool::Pool::new(path, catalog.clone(), opts.readers.max(1), first);
    let jobs_dir = opts.jobs_dir.clone().unwrap_or_else(|| path.with_extension("jobs"));
    let jobs = Arc::new(jobs::Jobs::open(&jobs_dir, path, opts.workers, MAX_WAITING_JOBS)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Invalid(format!("cannot start the server's runtime: {e}")))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(opts.listen)
            .await
            .map_err(|e| Error::Invalid(format!("cannot listen on {}: {e}", opts.listen)))?;
        let addr = listener.local_addr().map_err(|e| Error::Invalid(e.to_string()))?;
        let base =
            opts.public_url.clone().unwrap_or_else(|| format!("http://{addr}")).trim_end_matches('/').to_string();
        let (closed, _) = gate.standing(None).map_err(|e| Error::Invalid(e.detail().to_string()))?;
        let drafts = preview::Drafts::default();
        let service = Arc::new(Service { pool, writer, gate, catalog, crs, jobs, drafts, base: base.clone() });
        init_logs();
        // a closed stdout (a service manager, a test that has read the address) must not stop the server
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "nrledger serve: {} on http://{addr}/", path.display());
        let _ = writeln!(
            out,
            "  OGC API – Features for QGIS: {base}/  ·  collections: {base}/collections  ·  health: {base}/health"
        );
        if closed {
            let _ = writeln!(out, "  sign in: {base}/login (QGIS and GDAL: HTTP Basic with the same account)");
        } else {
            let _ = writeln!(
                out,
                "  warning: the registry has no enabled account, so anyone who reaches this address reads it; \
                 add the first admin with `nrledger user add {} NAME --role admin`",
                path.display()
            );
        }
        let _ = out.flush();
        drop(out);
        let app = router(service, opts.timeout).into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown())
            .await
            .map_err(|e| Error::Invalid(format!("the server stopped: {e}")))?;
        tracing::info!("shut down");
        Ok(())
    })
}

/// The routes, each behind its authorisation, and the layers every request passes through.
fn router(service: Arc<Service>, timeout: Duration) -> Router {
    let mut app = Router::new();
    for Route { endpoint, handler, limit } in routes() {
        let guard = axum::middleware::from_fn_with_state((service.clone(), endpoint.need), auth::authorize);
        app = app.route(endpoint.path, handler.route_layer(guard).route_layer(RequestBodyLimitLayer::new(limit)));
    }
    app.merge(fault::routes())
        .fallback(not_found)
        .layer(axum::middleware::from_fn(guard_query))
        .layer(axum::middleware::from_fn_with_state(service.clone(), auth::identify))
        .layer(axum::middleware::from_fn_with_state(timeout, deadline))
        .layer(CatchPanicLayer::custom(|_: Box<dyn std::any::Any + Send>| {
            ApiError::internal("a request handler panicked").into_response()
        }))
        .layer(TraceLayer::new_for_http().make_span_with(span).on_response(on_response))
        .with_state(service)
}

/// The test seam of the guards (compiled only with the `fault-injection` feature, as `make test` builds):
/// a handler that panics, one whose registry read panics, one that outlasts the request timeout.
#[cfg(feature = "fault-injection")]
mod fault {
    use std::sync::Arc;

    use axum::extract::State;
    use axum::routing::get;
    use axum::Router;

    use super::{ApiError, Service};

    pub fn routes() -> Router<Arc<Service>> {
        Router::new()
            .route("/_fault/panic", get(|| async { panicking() }))
            .route(
                "/_fault/panic-in-read",
                get(|State(s): State<Arc<Service>>| async move {
                    s.pool.read(|_| -> Result<(), ApiError> { Err(panicking()) }).await
                }),
            )
            .route("/_fault/slow", get(|| async { tokio::time::sleep(std::time::Duration::from_secs(5)).await }))
    }

    fn panicking() -> ApiError {
        panic!("fault injection: a request panics")
    }
}

/// Without the feature, no seam.
#[cfg(not(feature = "fault-injection"))]
mod fault {
    pub fn routes() -> axum::Router<std::sync::Arc<super::Service>> {
        axum::Router::new()
    }
}

/// `/health`: the registry answers a read.
async fn health(State(s): State<Arc<Service>>) -> Response {
    match s.pool.read(|reg| Ok(reg.imports()?.len())).await {
        Ok(n) => axum::Json(serde_json::json!({"status": "ok", "imports": n})).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn not_found(req: Request) -> ApiError {
    ApiError::not_found("path", format!("no resource at {}", req.uri().path()))
}

/// Give up a request still unanswered after `timeout`: a 503 exception (its work on a blocking thread
/// finishes and is dropped).
async fn deadline(State(timeout): State<Duration>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(timeout, next.run(req)).await {
        Ok(res) => res,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "",
            format!("the request was not answered within {} s; try a smaller one", timeout.as_secs()),
        )
        .into_response(),
    }
}

/// Refuse an overlong query string before any handler parses it.
async fn guard_query(req: Request, next: Next) -> Response {
    let len = req.uri().query().map_or(0, str::len);
    if len > MAX_QUERY_BYTES {
        return ApiError::new(
            StatusCode::URI_TOO_LONG,
            "query",
            format!("the query string has {len} bytes; at most {MAX_QUERY_BYTES} are accepted"),
        )
        .into_response();
    }
    let mut res = next.run(req).await;
    res.headers_mut().entry(header::ACCESS_CONTROL_ALLOW_ORIGIN).or_insert(HeaderValue::from_static("*"));
    res
}

/// The request's span: method and URI (path and query).
fn span(req: &Request) -> tracing::Span {
    tracing::info_span!("request", method = %req.method(), uri = %req.uri())
}

fn on_response(res: &Response, latency: Duration, _: &tracing::Span) {
    tracing::info!(status = res.status().as_u16(), ms = latency.as_secs_f64() * 1000.0, "answered");
}

/// Structured request logs (JSON lines on stderr; `RUST_LOG` filters them, `info` by default).
fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().json().with_writer(std::io::stderr).with_env_filter(filter).try_init();
}

/// Resolves on SIGTERM (systemd's stop) or Ctrl-C: requests under way are answered, then the server ends.
async fn shutdown() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term => {},
    }
    tracing::info!("stopping: answering the requests under way");
}
