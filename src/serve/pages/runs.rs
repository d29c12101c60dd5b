//! `/runs`: the listing with its filters, sorted by recording or by any metric (a click on a
//! column's header), keyset paging both ways, the count of the runs matching, the compare
//! basket, and every matching run as CSV (`/runs.csv`).

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};

use super::basket::Basket;
use super::{datalist, metric_value, on_worker_with_status, params as params_text, strategy_link};
use crate::answers::runs;
use crate::models::RunStatus;
use crate::query::suggest::Known;
use crate::report::runs::RunPage;
use crate::serve::api::WRITES_FILES;
use crate::serve::params::Params;
use crate::serve::{App, one_line, status_of};

pub async fn page(State(app): State<App>, RawQuery(query): RawQuery) -> Response {
    let title = "Runs".to_owned();
    on_worker_with_status(
        app,
        super::Head::carrying(title, query.as_deref()),
        move |app| async move {
            let mut params = Params::parse(query.as_deref());
            let basket = Basket::take(&mut params)?;
            let args: runs::Args = params.args(&[], WRITES_FILES)?;
            let mut conn = app.db.reader().await?;
            let known = Known::load(&mut conn).await?;
            let view = View {
                args: &args,
                params: &params,
                basket: &basket,
                known: &known,
            };
            // What was asked cannot be answered (a bad `where`, an unknown name): the form stays
            // filled in under the error, so that it can be corrected.
            Ok(match runs::answer(&args, &mut conn).await {
                Ok(page) => (StatusCode::OK, view.content(Ok(&page))),
                Err(e) => match status_of(&e) {
                    StatusCode::BAD_REQUEST => (StatusCode::BAD_REQUEST, view.content(Err(&e))),
                    _ => return Err(e),
                },
            })
        },
    )
    .await
}

/// What the page is drawn from.
struct View<'a> {
    args: &'a runs::Args,
    /// The query, without the basket.
    params: &'a Params,
    basket: &'a Basket,
    known: &'a Known,
}

impl View<'_> {
    /// `/runs` with `name` set (or removed) and back on the first page: a link that keeps the
    /// filters and the basket.
    fn link(&self, changes: &[(&str, Option<&str>)]) -> String {
        let mut p = self.params.clone();
        p.take("after");
        p.take("before");
        for (name, value) in changes {
            p.take(name);
            if let Some(value) = value {
                p.push(name, value);
            }
        }
        format!("/runs?{}", self.basket.query(&p))
    }

    /// A metric column's header: a link that sorts by it, largest first, or, when it is the
    /// order already, turns the order round.
    fn sort_header(&self, metric: &str, label: &str) -> Markup {
        let sorted = self.args.sort == metric;
        let (arrow, asc) = match (sorted, self.args.asc) {
            (true, false) => (" ▼", Some("true")),
            (true, true) => (" ▲", None),
            (false, _) => ("", None),
        };
        let href = self.link(&[("sort", Some(metric)), ("asc", asc)]);
        let what = match asc {
            Some(_) => "smallest first",
            None => "largest first",
        };
        html! {
            th.num aria-sort=[sorted.then_some(if self.args.asc { "ascending" } else { "descending" })] {
                a.sort href=(href) title={ "sort by " (metric) ", " (what) } { (label) (arrow) }
            }
        }
    }

    fn content(&self, page: Result<&RunPage, &anyhow::Error>) -> Markup {
        let args = self.args;
        let status = args.status.map(|s| s.to_string());
        let statuses =
            [RunStatus::Completed, RunStatus::Failed, RunStatus::Pruned].map(|s| s.to_string());
        let mut sorts = vec!["recorded".to_owned()];
        sorts.extend(self.known.metrics.iter().cloned());
        let paged = |name: &str, cursor: String| {
            let mut p = self.params.clone();
            p.take("after");
            p.take("before");
            p.push(name, &cursor);
            format!("/runs?{}", self.basket.query(&p))
        };
        let query = self.params.query();
        html! {
            h1 { "Runs" }
            (self.basket.bar("/runs", self.params))
            @if let Err(e) = page { p.error role="alert" { (super::page_terms(&one_line(e))) } }
            form.filters method="get" action="/runs" {
                (self.basket.fields())
                label { "strategy" input type="text" name="strategy" list="strategies" value=[args.strategy.as_deref()]; }
                label { "data set" input type="text" name="dataset" list="datasets" value=[args.filter.dataset.as_deref()]; }
                label { "sweep" input type="text" name="sweep" list="sweeps" value=[args.filter.sweep.as_deref()]; }
                label { "version" input type="text" name="strategy-version" value=[args.filter.strategy_version.as_deref()]; }
                label { "note" input type="text" name="note" value=[args.filter.note.as_deref()] placeholder="words in a run's note"; }
                @for tag in &args.filter.tags { input type="hidden" name="tag" value=(tag); }
                label { "tag" input type="text" name="tag" value=""; }
                label { "status" (super::select("status", &statuses, status.as_deref(), true)) }
                label { "where" input.wide type="text" name="where" value=[args.filter.condition.as_deref()]
                    placeholder="sharpe > 1 and params.fast = 10"; }
                label { "sort by" (super::select("sort", &sorts, Some(args.sort.as_str()), false)) }
                label.check { input type="checkbox" name="asc" value="true" checked[args.asc]; "smallest first" }
                label { "columns" input type="text" name="metrics" value=(args.metrics.as_deref().map_or_else(|| runs::TABLE_METRICS.join(","), |m| m.join(","))); }
                label { "per page" input type="text" name="limit" value=(args.limit); }
                button type="submit" { "Filter" }
            }
            (datalist("strategies", &self.known.strategies))
            (datalist("datasets", &self.known.datasets))
            (datalist("sweeps", &self.known.sweeps))
            @if !args.filter.tags.is_empty() {
                p.note { "carrying every tag of: " bdi { (args.filter.tags.join(", ")) } " · "
                    a href=(self.link(&[("tag", None)])) { "drop the tags" } }
            }
            @if let Ok(page) = page {
                nav.paging {
                    span.count { (page.count) }
                    @if let Some(previous) = page.previous { a.previous href=(paged("before", previous.to_string())) { "← previous" } }
                    @if let Some(next) = page.next { a.next href=(paged("after", next.to_string())) { "next →" } }
                    a href={ "/runs.csv?" (query) } { "CSV of all " (page.count.runs) (if page.count.exact { "" } else { "+" }) }
                    a href={ "/api/runs?" (query) } { "JSON" }
                }
                @if page.runs.is_empty() { p.note { "No run matches." } }
                @else {
                    table.runs {
                        thead { tr {
                            th { span.note { "compare" } }
                            (self.sort_header("recorded", "id"))
                            th { "strategy" } th { "data set" } th { "status" } th { "parameters" }
                            @for m in &page.metrics { (self.sort_header(m, m)) }
                        } }
                        tbody { @for run in &page.runs { tr {
                            td { (self.basket.toggle(run.id, "/runs", self.params)) }
                            td.num { a href=(self.basket.run_href(run.id)) { (run.id) } }
                            td { (strategy_link(&run.strategy.name, self.basket)) }
                            td { bdi { (run.dataset) } }
                            td { (run.status) }
                            td { (params_text(&run.params)) }
                            @for m in &page.metrics { (metric_value(m, run.metrics.get(m))) }
                        } } }
                    }
                }
            }
            @if self.basket.ids().is_empty() {
                p.note { "Pick runs with “+ compare”, on this page or others, to see them side by side." }
            }
        }
    }
}
