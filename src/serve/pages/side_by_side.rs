//! `/side-by-side?id=…`: 2 to 8 runs' parameters and metrics in columns (`diff` for the rows
//! where they differ only), and their equity curves overlaid, each rebased to 1, over their
//! drawdowns. The ids are the compare basket: each column drops its run, and the runs list
//! picks more.

use axum::extract::{RawQuery, State};
use axum::response::Response;
use maud::{Markup, html};

use super::basket::Basket;
use super::{chart, metric_value, on_worker, strategy_link};
use crate::metrics;
use crate::report::plot::{self, Align};
use crate::report::side_by_side::SideBySide;
use crate::serve::App;
use crate::serve::answers;
use crate::serve::params::Params;

pub async fn page(State(app): State<App>, RawQuery(query): RawQuery) -> Response {
    let title = "Side by side".to_owned();
    on_worker(
        app,
        super::Head::new(title, super::basket::Basket::peek(query.as_deref(), "id")),
        move |app| async move {
            let mut params = Params::parse(query.as_deref());
            let ids = answers::ids(&params.take("id"))?;
            let diff = params
                .take_one("diff")
                .is_some_and(|d| d != "false" && d != "0");
            let align = match params.take_one("align").as_deref() {
                None | Some("" | "dates") => Align::Dates,
                Some("elapsed") => Align::Elapsed,
                Some(other) => anyhow::bail!(
                    "align is `dates` (on the calendar) or `elapsed` (from each run's start), not `{other}`"
                ),
            };
            params.finish(&["id", "diff", "align"])?;
            let (runs, curves) =
                answers::side_by_side(&mut app.db.reader().await?, &ids, true).await?;
            let series: Vec<_> = runs
                .runs
                .iter()
                .map(|r| {
                    let points = curves.get(&r.id).map(Vec::as_slice).unwrap_or_default();
                    let points: Vec<_> = points
                        .iter()
                        .map(|p| (p.ts, metrics::to_f64(&p.equity)))
                        .collect();
                    (legend(&runs, r), points)
                })
                .collect();
            let svg = plot::overlaid("equity, rebased to 1, over drawdown", &series, align).ok();
            // Curves over periods that never meet share no stretch of the calendar.
            let spans: Vec<_> = series
                .iter()
                .filter_map(|(_, p)| Some((p.first()?.0, p.last()?.0)))
                .collect();
            let apart = spans
                .iter()
                .any(|a| spans.iter().any(|b| a.1 < b.0 || b.1 < a.0));
            Ok(content(&runs, svg.as_deref(), (diff, align, apart), &ids))
        },
    )
    .await
}

/// A curve's name in the legend: the run, its strategy and data set, and the parameters on
/// which the runs differ.
fn legend(side: &SideBySide, run: &crate::query::runs::RunSummary) -> String {
    let differing: Vec<String> = side
        .parameters
        .iter()
        .filter(|row| row.differs)
        .filter_map(|row| Some(format!("{}={}", row.name, run.params.get(&row.name)?)))
        .collect();
    let mut label = format!("run {}: {} on {}", run.id, run.strategy.name, run.dataset);
    if !differing.is_empty() {
        label.push_str(", ");
        label.push_str(&differing.join(" "));
    }
    label
}

fn content(
    side: &SideBySide,
    svg: Option<&str>,
    (diff, align, apart): (bool, Align, bool),
    ids: &[crate::models::RunId],
) -> Markup {
    let basket = Basket::from(ids);
    // Runs of unlike bars annualise their per-period figures from unlike data.
    let mut bars: Vec<f64> = side.runs.iter().map(|r| r.periods_per_year).collect();
    bars.sort_by(f64::total_cmp);
    bars.dedup();
    html! {
        h1 { (side.runs.len()) " runs side by side" }
        p.note {
            a href={ "/runs?" (basket.query(&Params::parse(None))) } { "pick more runs" }
            " · the runs stay picked on every page you open from here"
        }
        form.filters method="get" action="/side-by-side" {
            @for id in ids { input type="hidden" name="id" value=(id); }
            label { "differences only" input type="checkbox" name="diff" checked[diff]; }
            label { "align by elapsed time" input type="checkbox" name="align" value="elapsed" checked[align == Align::Elapsed]; }
            button type="submit" { "Show" }
        }
        table.side {
            thead {
                tr { th {} @for r in &side.runs { th { "run " a href=(basket.run_href(r.id)) { (r.id) } } } }
                @if side.runs.len() > 2 {
                    tr { th {} @for r in &side.runs { td { a.drop href=(Basket::side_by_side(basket.without(r.id).ids())) title={ "drop run " (r.id) } { "× drop" } } } }
                }
                tr { th { "strategy" } @for r in &side.runs { td { (strategy_link(&r.strategy.name, &basket)) } } }
                tr { th { "data set" } @for r in &side.runs { td { bdi { (r.dataset) } } } }
            }
            tbody {
                tr { th colspan=(side.runs.len() + 1) { "parameters" } }
                @for row in side.parameters.iter().filter(|r| !diff || r.differs) {
                    tr.differs[row.differs] { td { bdi { (row.name) } } @for v in &row.values { td.params { bdi { (v.as_ref().map_or_else(|| "–".to_owned(), ToString::to_string)) } } } }
                }
                tr { th colspan=(side.runs.len() + 1) { "metrics" } }
                @for row in side.metrics.iter().filter(|r| !diff || r.differs) {
                    tr.differs[row.differs] { td { (row.name) } @for v in &row.values { (metric_value(&row.name, *v)) } }
                }
            }
        }
        @if bars.len() > 1 {
            p.warning role="note" {
                "These runs are of unlike bars (" (bars.iter().map(|b| crate::report::readable::significant(*b, 4)).collect::<Vec<_>>().join(", ")) " periods a year): "
                "their Sharpe ratios, volatilities and other per-period figures are annualised from unlike data."
            }
        }
        @if let Some(svg) = svg {
            h2 { "Equity, rebased to 1" @if align == Align::Elapsed { ", by time since each run's start" } }
            @if apart && align == Align::Dates { p.note { "Some of these runs' periods do not meet: align by elapsed time to lay them over one another." } }
            (chart(svg))
        }
        p.note { a href={ "/api/side-by-side?" @for (i, id) in ids.iter().enumerate() { @if i > 0 { "&" } "id=" (id) } } { "JSON" } }
    }
}
