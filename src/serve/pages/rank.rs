//! `/`: strategies ranked, as `btdb rank` ranks them, with the deflated Sharpe ratio beside a
//! ranking by sharpe.

use axum::extract::{RawQuery, State};
use axum::response::Response;
use maud::{Markup, html};

use super::basket::Basket;
use super::{metric_value, on_worker, params as params_text, strategy_link, value};
use crate::answers::rank::{self, Ranked};
use crate::query::rank::By;
use crate::query::suggest;
use crate::report::readable;
use crate::serve::App;
use crate::serve::api::WRITES_FILES;
use crate::serve::params::Params;

pub async fn page(State(app): State<App>, RawQuery(query): RawQuery) -> Response {
    let mut params = Params::parse(query.as_deref());
    let by_sharpe = params.get("metric").is_none_or(|m| m == "sharpe");
    if by_sharpe && params.get("runs").is_none() {
        params.default("deflated", "true");
    }
    let title = "Strategies".to_owned();
    on_worker(
        app,
        super::Head::carrying(title, query.as_deref()),
        move |app| async move {
            let basket = Basket::take(&mut params)?;
            let args: rank::Args = params.args(&[], WRITES_FILES)?;
            let mut conn = app.db.reader().await?;
            let ranked = rank::answer(&args, &mut conn).await?;
            let metrics = suggest::metric_names(&mut conn).await?;
            Ok(content(&args, &metrics, &ranked, (&params, &basket)))
        },
    )
    .await
}

fn content(
    args: &rank::Args,
    metrics: &[String],
    ranked: &Ranked,
    (params, basket): (&Params, &Basket),
) -> Markup {
    let metric = &args.metric;
    let query = params.query();
    let run_link = |id| html! { a href=(basket.run_href(id)) { (id) } };
    html! {
        h1 { "Strategies by " (metric) }
        (basket.bar("/", params))
        form.filters method="get" action="/" {
            (basket.fields())
            label { "metric" input type="text" name="metric" value=(metric) list="metrics"; }
            datalist id="metrics" { @for m in metrics { option value=(m) {} } }
            label { "by" select name="by" {
                @for by in By::ALL {
                    option value=(by.as_str()) selected[by == args.by] { (by.as_str()) }
                }
            } }
            label { "data set" input type="text" name="dataset" value=[args.filter.dataset.as_deref()]; }
            label { "tag" input type="text" name="tag" value=[args.filter.tags.first()]; }
            label { "min runs" input type="text" name="min-runs" value=[args.min_runs]; }
            label { "where" input.wide type="text" name="where" value=[args.filter.condition.as_deref()]
                placeholder="sharpe > 1 and params.fast = 10"; }
            label { "top" input type="text" name="top" value=(args.top); }
            button type="submit" { "Rank" }
        }
        @match ranked {
            Ranked::Strategies(rows) => {
                @if rows.is_empty() { p.note { "No strategy has a completed run with this metric." } }
                @else {
                    table {
                        thead { tr {
                            th.num { "#" } th { "strategy" } th.num { (args.by.as_str()) " " (metric) }
                            th.num { "runs" } th { "best run" } th { "its parameters" }
                            @if args.deflated { th.num { "deflated Sharpe" } th.num { "trials" } th.num { "E[max Sharpe]" } }
                        } }
                        tbody { @for row in rows { tr {
                            td.num { (row.rank) }
                            td { (strategy_link(&row.strategy.name, basket)) @if !row.strategy.version.is_empty() { " " span.note { (row.strategy.version) } } }
                            @if args.by == By::Count { td.num { (readable::fixed(row.score, 0)) } } @else { (metric_value(metric, Some(row.score))) }
                            td.num { (row.runs.map_or_else(|| "–".to_owned(), |n| n.to_string())) }
                            td { (run_link(row.best_run.id)) " " span.note { (row.best_run.dataset) } }
                            td { (params_text(&row.best_run.params)) }
                            @if let Some(d) = &row.deflated {
                                td.num { (d.probability.map_or_else(|| "–".to_owned(), readable::percent)) } td.num { (d.trials) } (value(d.expected_max_sharpe))
                            }
                        } } }
                    }
                    p.note { a href={ "/api/rank?" (query) } { "JSON" } " · " a href={ "/rank.csv?" (query) } { "CSV" } }
                }
            }
            Ranked::Runs(rows) => {
                p.note { a href={ "/api/rank?" (query) } { "JSON" } " · " a href={ "/rank.csv?" (query) } { "CSV" } }
                table {
                    thead { tr { th.num { "#" } th { "run" } th { "strategy" } th { "data set" } th.num { (metric) } th { "parameters" } } }
                    tbody { @for row in rows { tr {
                        td.num { (row.rank) } td { (run_link(row.run.id)) }
                        td { (strategy_link(&row.run.strategy.name, basket)) } td { bdi { (row.run.dataset) } }
                        (metric_value(metric, Some(row.value))) td { (params_text(&row.run.params)) }
                    } } }
                }
            }
        }
    }
}
