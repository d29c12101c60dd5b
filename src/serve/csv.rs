//! CSV downloads: every matching run streamed a page at a time (`/runs.csv`), and the small
//! answers (a ranking, a pivot, a run's trades and equity) whole.

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use axum::extract::Path;

use super::api::{self, WRITES_FILES};
use super::params::Params;
use super::{App, failure, one_line};
use crate::answers::{compare, rank, runs, show};
use crate::report::Table;
use crate::report::arrow::{Decimals, csv_header, csv_rows};

/// Pages that may wait to be sent: a slow client holds the reading back, not memory.
const QUEUED: usize = 4;

/// `text` as a CSV download named `name`.
pub fn attachment(name: &str, text: impl Into<Body>) -> Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    let mut response = Response::new(text.into());
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// Runs `work` on a worker thread and answers the table it makes as the CSV download `name`,
/// or the error as JSON with its status.
async fn table<F, Fut>(app: App, name: String, work: F) -> Response
where
    F: FnOnce(App) -> Fut + Send + 'static,
    Fut: Future<Output = anyhow::Result<Table>> + 'static,
{
    app.clone()
        .local(move || async move {
            match work(app).await {
                Ok(table) => attachment(&name, table.to_csv()),
                Err(e) => {
                    let (status, message) = failure(&e);
                    api::error(status, &message)
                }
            }
        })
        .await
}

/// `/rank.csv`: the ranking of `/` (the parameters of `btdb rank`).
pub async fn ranking(State(app): State<App>, RawQuery(query): RawQuery) -> Response {
    table(app, "ranking.csv".to_owned(), move |app| async move {
        let args: rank::Args = Params::parse(query.as_deref()).args(&[], WRITES_FILES)?;
        let ranked = rank::answer(&args, &mut app.db.reader().await?).await?;
        Ok(ranked.table(&args))
    })
    .await
}

/// `/compare.csv`: a strategy page's pivot, or its in-sample against out-of-sample table with
/// `is` and `oos` (the parameters of `btdb compare`).
pub async fn comparison(State(app): State<App>, RawQuery(query): RawQuery) -> Response {
    table(app, "compare.csv".to_owned(), move |app| async move {
        let args: compare::Args = Params::parse(query.as_deref()).args(&[], WRITES_FILES)?;
        let answer = compare::answer(&args, &app.db).await?;
        answer
            .tables()
            .into_iter()
            .next()
            .ok_or_else(|| anyhow::anyhow!("give `x` (a pivot) or `is` and `oos`"))
    })
    .await
}

/// `/runs/{id}/trades.csv` and `/runs/{id}/equity.csv`: every trade, or every point of the
/// equity curve, of a run.
pub async fn run_rows(
    State(app): State<App>,
    Path((id, what)): Path<(String, String)>,
) -> Response {
    let name = format!("run-{id}-{what}");
    table(app, name, move |app| async move {
        let trades = match what.as_str() {
            "trades.csv" => true,
            "equity.csv" => false,
            _ => {
                return Err(crate::query::NotFound(format!("no page at /runs/{id}/{what}")).into());
            }
        };
        let mut params = Params::parse(None);
        params.push(if trades { "trades" } else { "equity" }, "true");
        let args: show::Args = params.args(&[id], WRITES_FILES)?;
        let detail = show::answer(&args, &mut app.db.reader().await?).await?;
        Ok(match trades {
            true => crate::report::show::trades_table(detail.trades.as_deref().unwrap_or_default()),
            false => {
                crate::report::show::equity_table(detail.equity.as_deref().unwrap_or_default())
            }
        })
    })
    .await
}

/// `/runs.csv`: every run the listing's parameters select (not one page), in its order, with a
/// column per parameter key and per metric. The first page is read before answering, so that a
/// bad request gets its status; the rest follows as it is read.
pub async fn runs(State(app): State<App>, RawQuery(query): RawQuery) -> Response {
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(QUEUED);
    let (started, start) = tokio::sync::oneshot::channel::<Result<(), Response>>();
    let params = Params::parse(query.as_deref());
    app.clone().spawn_local(move || async move {
        let mut started = Some(started);
        let result = stream(&app, &params, &sender, &mut started).await;
        match (result, started) {
            // Failed before the first line: the request gets the error.
            (Err(e), Some(started)) => {
                let (status, message) = failure(&e);
                let _ = started.send(Err(api::error(status, &message)));
            }
            // Failed midway: the download ends short, as an error the client sees.
            (Err(e), None) => {
                tracing::error!("/runs.csv stopped: {}", one_line(&e));
                let _ = sender.send(Err(std::io::Error::other(one_line(&e)))).await;
            }
            (Ok(()), _) => {}
        }
    });
    match start.await {
        Ok(Ok(())) => {
            let body = futures_util::stream::unfold(receiver, |mut r| async move {
                r.recv().await.map(|item| (item, r))
            });
            attachment("runs.csv", Body::from_stream(body))
        }
        Ok(Err(response)) => response,
        Err(_) => {
            receiver.close();
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Writes the header and every page into `sender`, saying on `started` when the first is
/// ready; stops when the client goes away.
async fn stream(
    app: &App,
    params: &Params,
    sender: &tokio::sync::mpsc::Sender<std::io::Result<Vec<u8>>>,
    started: &mut Option<tokio::sync::oneshot::Sender<Result<(), Response>>>,
) -> anyhow::Result<()> {
    let args: runs::Args = params.args(&[], WRITES_FILES)?;
    let mut conn = app.db.reader().await?;
    let args = runs::Args {
        limit: runs::Limit::All,
        ..args
    };
    let (mut pages, frame) = runs::stream(&args, &mut conn, Decimals::Text).await?;
    let mut chunk = csv_header(frame.schema());
    while let Some(page) = pages.next(&mut conn).await? {
        chunk.extend(csv_rows(&frame.batch(&page)?));
        if let Some(started) = started.take() {
            let _ = started.send(Ok(()));
        }
        if sender.send(Ok(std::mem::take(&mut chunk))).await.is_err() {
            return Ok(());
        }
    }
    Ok(())
}
