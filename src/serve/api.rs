//! `/api/…`: the CLI's `--format json` answers, with the same parameters as its long options.

use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::params::Params;
use super::{App, answers, failure};
use crate::answers::{compare, rank, runs, show};
use crate::models::RunId;
use crate::query::strategy::Overview;

/// A JSON answer, or the error as `{"error": "…"}` with its status.
fn json<T: Serialize>(answer: anyhow::Result<T>) -> Response {
    match answer.and_then(|value| Ok(serde_json::to_vec(&value)?)) {
        Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => {
            let (status, message) = failure(&e);
            error(status, &message)
        }
    }
}

/// Runs `work` on a worker thread and answers what it gives as JSON.
async fn answer<T, F, Fut>(app: App, work: F) -> Response
where
    T: Serialize,
    F: FnOnce(App) -> Fut + Send + 'static,
    Fut: Future<Output = anyhow::Result<T>> + 'static,
{
    app.clone()
        .local(move || async move { json(work(app).await) })
        .await
}

/// `{"error": message}` with `status`.
pub fn error(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "error": message }).to_string();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Options that write files on the server, which a request may not give.
pub const WRITES_FILES: &[&str] = &["plot"];

pub async fn rank(State(app): State<App>, RawQuery(query): RawQuery) -> Response {
    answer(app, move |app| async move {
        let args: rank::Args = Params::parse(query.as_deref()).args(&[], WRITES_FILES)?;
        rank::answer(&args, &mut app.db.reader().await?).await
    })
    .await
}

pub async fn compare(State(app): State<App>, RawQuery(query): RawQuery) -> Response {
    answer(app, move |app| async move {
        let args: compare::Args = Params::parse(query.as_deref()).args(&[], WRITES_FILES)?;
        compare::answer(&args, &app.db).await
    })
    .await
}

/// The listing, or with `key` the run of that run_key (`show --key`).
pub async fn runs(State(app): State<App>, RawQuery(query): RawQuery) -> Response {
    let params = Params::parse(query.as_deref());
    if params.get("key").is_some() {
        return answer(app, move |app| async move {
            let args: show::Args = params.args(&[], WRITES_FILES)?;
            show::answer(&args, &mut app.db.reader().await?).await
        })
        .await;
    }
    answer(app, move |app| async move {
        let args: runs::Args = params.args(&[], WRITES_FILES)?;
        runs::answer(&args, &mut app.db.reader().await?).await
    })
    .await
}

pub async fn show(
    State(app): State<App>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    answer(app, move |app| async move {
        let args: show::Args = Params::parse(query.as_deref()).args(&[id], WRITES_FILES)?;
        show::answer(&args, &mut app.db.reader().await?).await
    })
    .await
}

/// A page of a run's trades: `limit` (default 100) after trade `after`.
pub async fn trades(
    State(app): State<App>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    answer(app, move |app| async move {
        let (id, after, limit) = trade_page(&id, &mut Params::parse(query.as_deref()))?;
        answers::trades(&mut *app.db.reader().await?, id, after, limit).await
    })
    .await
}

/// The run id, `after` and `limit` of a trades page; any other parameter is refused.
fn trade_page(id: &str, params: &mut Params) -> anyhow::Result<(RunId, Option<i32>, i64)> {
    fn number<T: std::str::FromStr>(name: &str, value: &str) -> anyhow::Result<T> {
        value
            .trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("`{name}` is a whole number in range, not `{value}`"))
    }
    let id = RunId(number("run id", id)?);
    let after = params
        .take_one("after")
        .map(|v| number("after", &v))
        .transpose()?;
    let limit = params
        .take_one("limit")
        .map(|v| number("limit", &v))
        .transpose()?
        .unwrap_or(100);
    params.finish(&["after", "limit"])?;
    Ok((id, after, limit))
}

/// Runs side by side: `id` repeated, 2 to 8 times.
pub async fn side_by_side(State(app): State<App>, RawQuery(query): RawQuery) -> Response {
    answer(app, move |app| async move {
        let mut params = Params::parse(query.as_deref());
        let ids = answers::ids(&params.take("id"))?;
        params.finish(&["id"])?;
        let (side_by_side, _) =
            answers::side_by_side(&mut app.db.reader().await?, &ids, false).await?;
        Ok(side_by_side)
    })
    .await
}

/// A strategy's versions, data sets, sweeps and parameter names.
pub async fn strategy(State(app): State<App>, Path(name): Path<String>) -> Response {
    app.clone()
        .local(move || async move {
            json(async { Overview::load(&mut app.db.reader().await?, &name).await }.await)
        })
        .await
}

/// `/api/status`: whether answers are kept, how many, and the bytes they take against the
/// limit (`--cache-size`).
pub async fn status(State(app): State<App>) -> Response {
    json(Ok(serde_json::json!({ "cache": app.cache.usage() })))
}
