//! `/runs`: the listing with its filters, keyset paging both ways and a CSV download; runs
//! ticked here open side by side.

use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::{on_worker, params as params_text, run_link, strategy_link, value};
use crate::answers::runs;
use crate::report::runs::RunPage;
use crate::serve::api::{self, WRITES_FILES};
use crate::serve::params::Params;
use crate::serve::{App, one_line, status_of};

pub async fn page(State(app): State<App>, RawQuery(query): RawQuery) -> Response {
    let params = Params::parse(query.as_deref());
    let title = "Runs".to_owned();
    on_worker(app, title, move |app| async move {
        let args: runs::Args = params.args(&[], WRITES_FILES)?;
        let page = runs::answer(&args, &mut *app.db.conn().await?).await?;
        Ok(content(&args, &page, &params))
    })
    .await
}

/// The same page as `btdb runs --format csv`.
pub async fn csv(State(app): State<App>, RawQuery(query): RawQuery) -> Response {
    app.clone()
        .local(move || async move {
            let params = Params::parse(query.as_deref());
            let answer = async {
                let args: runs::Args = params.args(&[], WRITES_FILES)?;
                let page = runs::answer(&args, &mut *app.db.conn().await?).await?;
                anyhow::Ok(page.table(&args.metrics).to_csv())
            }
            .await;
            match answer {
                Ok(text) => (
                    [
                        (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                        (
                            header::CONTENT_DISPOSITION,
                            "attachment; filename=\"runs.csv\"",
                        ),
                    ],
                    text,
                )
                    .into_response(),
                Err(e) => api::error(status_of(&e), &one_line(&e)),
            }
        })
        .await
}

fn content(args: &runs::Args, page: &RunPage, params: &Params) -> Markup {
    let paged = |name: &str, cursor: Option<String>| {
        let mut p = params.clone();
        p.take("after");
        p.take("before");
        p.with(name, cursor.as_deref())
    };
    html! {
        h1 { "Runs" }
        form.filters method="get" action="/runs" {
            label { "strategy" input type="text" name="strategy" value=[args.strategy.as_deref()]; }
            label { "data set" input type="text" name="dataset" value=[args.filter.dataset.as_deref()]; }
            label { "sweep" input type="text" name="sweep" value=[args.filter.sweep.as_deref()]; }
            label { "where" input.wide type="text" name="where" value=[args.filter.condition.as_deref()]
                placeholder="sharpe > 1 and params.fast = 10"; }
            label { "per page" input type="text" name="limit" value=(args.limit); }
            button type="submit" { "Filter" }
        }
        nav.paging {
            @if let Some(previous) = page.previous { a.previous href={ "/runs?" (paged("before", Some(previous.to_string()))) } { "← newer" } }
            @if let Some(next) = page.next { a.next href={ "/runs?" (paged("after", Some(next.to_string()))) } { "older →" } }
            a href={ "/runs.csv?" (params.query()) } { "CSV" }
            a href={ "/api/runs?" (params.query()) } { "JSON" }
        }
        @if page.runs.is_empty() { p.note { "No run matches." } }
        @else {
            form method="get" action="/side-by-side" {
                table.runs {
                    thead { tr {
                        th {} th.num { "id" } th { "strategy" } th { "data set" } th { "status" } th { "parameters" }
                        @for m in &args.metrics { th.num { (m) } }
                    } }
                    tbody { @for run in &page.runs { tr {
                        td { input type="checkbox" name="id" value=(run.id) aria-label={ "compare run " (run.id) }; }
                        td.num { (run_link(run.id)) }
                        td { (strategy_link(&run.strategy.name)) }
                        td { bdi { (run.dataset) } }
                        td { (run.status) }
                        td { (params_text(&run.params)) }
                        @for m in &args.metrics { (value(run.metrics.get(m).copied())) }
                    } } }
                }
                p { button type="submit" { "Compare ticked runs side by side" } " " span.note { "2 to 8" } }
            }
        }
    }
}
