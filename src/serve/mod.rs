//! `btdb serve`: the read commands in a browser, and their JSON beside them.
//!
//! Pages are rendered on the server (maud escapes every value), charts are the CLI's SVG
//! inline, and no page loads a script or anything from another origin. Each route reads its
//! query string as the matching command's long options (`params`), asks the command's own
//! `answer` function, and renders or serialises what it gets, so a page, its JSON and the CLI
//! cannot drift apart. Answers are cached until a change is announced (`cache`).

pub mod answers;
pub mod api;
pub mod auth;
pub mod cache;
pub mod csv;
pub mod host;
pub mod pages;
pub mod params;

use std::net::SocketAddr;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::db::{self, Db, DbOptions};
use auth::Token;
use cache::{Answer, AnswerCache};

/// What `btdb serve` was asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    pub bind: SocketAddr,
    pub token: Option<String>,
    /// Keep answers until the data under them changes, costing at most this many bytes in
    /// all; 0 keeps none.
    pub cache_bytes: usize,
    /// Names browsers may reach the server by, beside its address (`--allow-host`).
    pub hosts: Vec<String>,
    /// How long a browser stays logged in.
    pub session_life: std::time::Duration,
}

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct App {
    pub db: Db,
    pub cache: AnswerCache,
    pub token: Option<Token>,
    /// The names a request may call this server by.
    pub hosts: std::sync::Arc<host::Hosts>,
    /// Threads that run the database work of requests. Diesel's async queries are not `Send`
    /// for every lifetime, as axum's handlers must be, so each request's work runs pinned to
    /// one of these threads (as many as cores), its answer coming back over a channel.
    workers: tokio_util::task::LocalPoolHandle,
}

impl App {
    /// Runs the future `work` makes on a worker thread without waiting for it: work that
    /// outlives its request's handler (a download being streamed).
    pub fn spawn_local<F, Fut>(self, work: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        drop(self.workers.spawn_pinned(work));
    }

    /// Runs the future `work` makes on a worker thread and returns its response.
    pub async fn local<F, Fut>(self, work: F) -> Response
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Response> + 'static,
    {
        match self.workers.spawn_pinned(work).await {
            Ok(response) => response,
            Err(e) => pages::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &internal_failure(&format!("a request's work ended abnormally: {e}")),
            ),
        }
    }
}

/// The Content Security Policy of every answer: nothing from another origin, no script at all,
/// the style sheet from this server.
const POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
                      form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Shortest token accepted: shorter ones can be guessed.
const MIN_TOKEN: usize = 16;

/// Checks the options, connects, and serves until `shutdown` completes; requests under way
/// then finish.
pub async fn serve(
    options: Options,
    db_options: DbOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let token = match (&options.token, options.bind.ip().is_loopback()) {
        (Some(t), _) if t.len() < MIN_TOKEN => bail!(
            "--token is {} characters; use at least {MIN_TOKEN} (e.g. `openssl rand -hex 16`)",
            t.len()
        ),
        (Some(t), _) => Some(Token::new(t, options.session_life)),
        (None, true) => None,
        (None, false) => bail!(
            "--bind {} is not a loopback address: anyone who reaches it could read every run; \
             give --token (or BTDB_SERVE_TOKEN), or bind 127.0.0.1",
            options.bind
        ),
    };
    let db = Db::connect(&db_options).await?;
    let listener = tokio::net::TcpListener::bind(options.bind)
        .await
        .with_context(|| format!("cannot listen on {}", options.bind))?;
    let address = listener.local_addr()?;
    let cache = AnswerCache::new(options.cache_bytes);
    // On Citus no trigger announces a change, so nothing could tell a kept answer is stale.
    if options.cache_bytes > 0 && db.layout().announces_changes() {
        tokio::spawn(cache::follow(cache.clone(), db_options, db.clone()));
    }
    let workers = std::thread::available_parallelism().map_or(2, usize::from);
    let app = App {
        db,
        cache,
        token,
        hosts: std::sync::Arc::new(host::Hosts::new(address, &options.hosts)),
        workers: tokio_util::task::LocalPoolHandle::new(workers),
    };
    crate::report::print(&format!("btdb serve: http://{address}/\n"))?;
    // With each request's address, which the login counts wrong tokens by.
    let service = router(app).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving")?;
    tracing::info!("stopped");
    Ok(())
}

/// Every route, behind the cache, the token check, the security headers and the request log.
pub fn router(app: App) -> Router {
    Router::new()
        .route("/", get(pages::rank::page))
        .route("/strategies/{name}", get(pages::strategy::page))
        .route("/sweeps/{name}", get(pages::sweep::page))
        .route("/runs", get(pages::runs::page))
        .route("/runs/{id}", get(pages::run::page))
        .route("/runs/{id}/{csv}", get(csv::run_rows))
        .route("/rank.csv", get(csv::ranking))
        .route("/compare.csv", get(csv::comparison))
        .route("/side-by-side", get(pages::side_by_side::page))
        .route("/api/rank", get(api::rank))
        .route("/api/compare", get(api::compare))
        .route("/api/runs", get(api::runs))
        .route("/api/runs/{id}", get(api::show))
        .route("/api/runs/{id}/trades", get(api::trades))
        .route("/api/side-by-side", get(api::side_by_side))
        .route("/api/strategies/{name}", get(api::strategy))
        .layer(middleware::from_fn_with_state(app.clone(), cached))
        // Streamed: kept answers are held whole in memory, so this one is never kept.
        .route("/runs.csv", get(csv::runs))
        // What the cache holds now, which a kept answer would not say.
        .route("/api/status", get(api::status))
        .route("/runs/{id}/note", axum::routing::post(pages::note::on_run))
        .route(
            "/sweeps/{name}/note",
            axum::routing::post(pages::note::on_sweep),
        )
        .route("/login", get(auth::form).post(auth::login))
        .route("/logout", axum::routing::post(auth::logout))
        .route("/static/style.css", get(style))
        .fallback(not_found)
        .layer(middleware::from_fn(refuse_nul))
        .layer(middleware::from_fn_with_state(app.clone(), auth::check))
        .layer(middleware::from_fn_with_state(app.clone(), host::check))
        .layer(middleware::from_fn(headers))
        .layer(middleware::from_fn(log))
        .with_state(app)
}

/// Serves a kept answer, or computes it and keeps it if nothing changed meanwhile.
async fn cached(State(app): State<App>, request: Request, next: Next) -> Response {
    let key = request.uri().to_string();
    if let Some(answer) = app.cache.get(&key) {
        return respond(answer, "hit");
    }
    let ticket = app.cache.ticket();
    let response = next.run(request).await;
    if response.status() != StatusCode::OK {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let answer = Answer {
        content_type: parts.headers.get(header::CONTENT_TYPE).cloned(),
        disposition: parts.headers.get(header::CONTENT_DISPOSITION).cloned(),
        body,
    };
    app.cache.put(key, ticket, answer.clone());
    respond(answer, "miss")
}

fn respond(answer: Answer, cache: &'static str) -> Response {
    let mut response = Response::new(Body::from(answer.body));
    let headers = response.headers_mut();
    if let Some(content_type) = answer.content_type {
        headers.insert(header::CONTENT_TYPE, content_type);
    }
    if let Some(disposition) = answer.disposition {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    headers.insert("x-btdb-cache", HeaderValue::from_static(cache));
    response
}

/// The headers that make every answer safe to show: the policy, no sniffing, no framing, no
/// referrer (URLs name strategies).
async fn headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-cache"));
    response
}

/// One line per request: method, path and query, status and duration.
async fn log(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let uri = logged_uri(request.uri());
    let response = next.run(request).await;
    tracing::info!(
        "{method} {uri} {} {:.1} ms",
        response.status().as_u16(),
        started.elapsed().as_secs_f64() * 1e3
    );
    response
}

async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("style.css"),
    )
        .into_response()
}

async fn not_found(request: Request) -> Response {
    let message = format!("no page at {}", request.uri().path());
    refusal(&request, StatusCode::NOT_FOUND, &message)
}

/// An error answer in the request's own kind: JSON under `/api/`, a page elsewhere.
pub(crate) fn refusal(request: &Request, status: StatusCode, message: &str) -> Response {
    if request.uri().path().starts_with("/api/") {
        api::error(status, message)
    } else {
        pages::error(status, message)
    }
}

/// Refuses a request whose path or parameters hold a NUL character (`%00`): no name or value
/// btdb stores can hold one, and PostgreSQL refuses it in text, which would otherwise read as
/// the database failing (503) rather than the request (400).
async fn refuse_nul(request: Request, next: Next) -> Response {
    let uri = request.uri();
    let path = percent_encoding::percent_decode_str(uri.path()).collect::<Vec<u8>>();
    let in_path = path.contains(&0);
    let in_parameter = url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .find(|(name, value)| name.contains('\0') || value.contains('\0'))
        .map(|(name, _)| name.replace('\0', "\\0"));
    let message = match (in_path, in_parameter) {
        (true, _) => "the path holds a NUL character (%00), which no name btdb stores holds".into(),
        (false, Some(name)) => format!(
            "`{name}` holds a NUL character (%00), which no name or value btdb stores holds"
        ),
        (false, None) => return next.run(request).await,
    };
    refusal(&request, StatusCode::BAD_REQUEST, &message)
}

/// The request's path and query as logged: the values of parameters whose names look like
/// secrets (`token`, `password`, `api_key`, …) written as `***`, so that a secret put in a URL
/// by mistake never reaches the log; the rest cut at 300 characters.
fn logged_uri(uri: &axum::http::Uri) -> String {
    const SECRET: &[&str] = &[
        "token",
        "password",
        "passwd",
        "pwd",
        "secret",
        "api_key",
        "apikey",
        "access_key",
        "auth",
        "credential",
    ];
    let mut logged = uri.path().to_owned();
    if let Some(query) = uri.query() {
        logged.push('?');
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                let lower = percent_encoding::percent_decode_str(name)
                    .decode_utf8_lossy()
                    .to_ascii_lowercase();
                if !value.is_empty() && SECRET.iter().any(|s| lower.contains(s)) {
                    format!("{name}=***")
                } else {
                    pair.to_owned()
                }
            })
            .collect();
        logged.push_str(&pairs.join("&"));
    }
    if let Some((cut, _)) = logged.char_indices().nth(300) {
        logged.truncate(cut);
        logged.push('…');
    }
    logged
}

/// The status of a failed answer: 404 for a run that does not exist, 503 when the database
/// could not answer, 500 for a failure of btdb's own (a chart not drawn, output not written,
/// work that ended abnormally), 400 when the request was at fault (every other error a read
/// command gives is about what it was asked).
pub fn status_of(e: &anyhow::Error) -> StatusCode {
    if e.chain().any(|cause| cause.is::<crate::query::NotFound>()) {
        return StatusCode::NOT_FOUND;
    }
    let internal = e.chain().any(|cause| {
        cause.is::<crate::report::Internal>()
            || cause.is::<std::io::Error>()
            || cause.is::<tokio::task::JoinError>()
    });
    if internal {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    let database = e.chain().any(|cause| {
        cause.is::<db::Unavailable>()
            || cause.is::<diesel::result::Error>()
            || cause.is::<diesel::ConnectionError>()
            || cause.is::<tokio_postgres::Error>()
    });
    if database || db::error::kind_in(e).is_some() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::BAD_REQUEST
    }
}

/// A failed answer's status and what it says. The request's own faults are said as the CLI
/// says them; a failure of btdb's own is logged whole under a new id, and the answer gives
/// only the id, which finds it in the log.
pub fn failure(e: &anyhow::Error) -> (StatusCode, String) {
    let status = status_of(e);
    if status != StatusCode::INTERNAL_SERVER_ERROR {
        return (status, one_line(e));
    }
    (status, internal_failure(&one_line(e)))
}

/// Logs `what` under a new id and gives the message that names the id.
pub(crate) fn internal_failure(what: &str) -> String {
    let mut id = [0u8; 4];
    let _ = getrandom::fill(&mut id);
    let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
    tracing::error!("error {id}: {what}");
    format!("btdb failed to answer: error {id}, in the server's log")
}

/// An error as one line, as the CLI prints it.
pub fn one_line(e: &anyhow::Error) -> String {
    format!("{e:#}")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_was_asked_is_400_and_btdb_s_own_failure_500_with_an_id() {
        let asked = anyhow::anyhow!("--metric: no completed run has metric `sharp`");
        assert_eq!(failure(&asked), (StatusCode::BAD_REQUEST, one_line(&asked)));
        let missing = anyhow::Error::new(crate::query::NotFound("no run with id 9".into()));
        assert_eq!(status_of(&missing), StatusCode::NOT_FOUND);
        for own in [
            anyhow::Error::new(crate::report::Internal("drawing a chart: font".into())),
            anyhow::Error::new(std::io::Error::other("disk full")).context("writing the page"),
        ] {
            let (status, message) = failure(&own);
            assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
            // The id, never the inside of the failure.
            assert!(
                message.starts_with("btdb failed to answer: error "),
                "{message}"
            );
            assert!(
                !message.contains("font") && !message.contains("disk"),
                "{message}"
            );
        }
        let (_, first) = failure(&anyhow::Error::new(crate::report::Internal("x".into())));
        let (_, second) = failure(&anyhow::Error::new(crate::report::Internal("x".into())));
        assert_ne!(first, second, "each failure has an id of its own");
    }
}
