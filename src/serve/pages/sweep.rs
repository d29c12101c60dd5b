//! `/sweeps/{name}`: a sweep seen whole, as an analyst reads an optimizer's study: parallel
//! coordinates of every parameter and the metric, each parameter's importance, the metric by
//! each parameter, the search's history and the metric's distribution, and the Pareto front of
//! two metrics; every mark a link to its run.

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use maud::{Markup, html};

use super::basket::Basket;
use super::{Head, chart, datalist, on_worker, segment};
use crate::query::sweep_view::SweepView;
use crate::report::readable;
use crate::report::sweep_charts as charts;
use crate::serve::App;
use crate::serve::params::Params;

pub async fn page(
    State(app): State<App>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let head = Head::carrying(format!("Sweep {name}"), query.as_deref());
    on_worker(app, head, move |app| async move {
        let mut params = Params::parse(query.as_deref());
        let basket = Basket::take(&mut params)?;
        let asked = params.take_one("metric").filter(|m| !m.is_empty());
        let second = params.take_one("pareto").filter(|m| !m.is_empty());
        let strategy = params.take_one("strategy").filter(|s| !s.is_empty());
        params.finish(&["metric", "pareto", "strategy"])?;
        let mut conn = app.db.reader().await?;
        let strategies = match &strategy {
            Some(name) => {
                crate::query::filter::RunFilter {
                    strategy: Some(name.clone()),
                    ..Default::default()
                }
                .resolve(&mut conn)
                .await?
                .strategy_ids
            }
            None => None,
        };
        let scope = (name.as_str(), strategies.as_deref());
        let metric = asked.clone().unwrap_or_else(|| "sharpe".to_owned());
        let mut view =
            SweepView::load(&mut conn, scope.0, scope.1, &metric, second.as_deref()).await?;
        // Opened without a metric on a sweep without sharpe: its first metric.
        let metric = match (&asked, view.points.is_empty(), view.metrics.first()) {
            (None, true, Some(first)) => {
                let first = first.clone();
                view =
                    SweepView::load(&mut conn, scope.0, scope.1, &first, second.as_deref()).await?;
                first
            }
            _ => metric,
        };
        if view.points.is_empty() && !view.metrics.contains(&metric) {
            anyhow::bail!(
                "no completed run of sweep `{name}` has metric `{metric}`{}",
                crate::query::suggest::hint(&metric, &view.metrics)
            );
        }
        Ok(content(
            &view,
            (&metric, second.as_deref()),
            strategy.as_deref(),
            &basket,
        ))
    })
    .await
}

fn content(
    view: &SweepView,
    (metric, second): (&str, Option<&str>),
    strategy: Option<&str>,
    basket: &Basket,
) -> Markup {
    let path = format!("/sweeps/{}", segment(&view.name));
    let (importance, shares) = charts::importance_bars(view, metric);
    let history = charts::history(view, metric);
    let pareto = second.and_then(|s| charts::pareto(view, metric, s));
    let mut best_first = Params::parse(None);
    best_first.push("sweep", &view.name);
    best_first.push("sort", metric);
    let direction = if view.lower_is_better {
        "smallest"
    } else {
        "largest"
    };
    html! {
        h1 { "Sweep " bdi { (view.name) } @if let Some(strategy) = strategy { " of " (super::strategy_link(strategy, basket)) } }
        (basket.bar(&path, &Params::parse(None)))
        @if view.cut {
            p.warning role="note" { "The sweep has more runs with " (metric) " than a page reads: these are its first " (readable::fixed(view.points.len() as f64, 0)) " by id. Narrow it to one strategy (strategy=…) to see all of that strategy's." }
        }
        p.note { (view.points.len()) " completed runs with " (metric) " (" (direction) " best) · "
            a href={ "/runs?" (basket.query(&best_first)) } { "its runs, best first" } }
        form.note method="post" action={ (path) "/note" } {
            input type="hidden" name="back" value=(path);
            label { "note" input.wide type="text" name="note" value=(view.note.as_deref().unwrap_or_default()) placeholder="what this sweep tried"; }
            button type="submit" { "Save note" }
        }
        form.filters method="get" action=(path) {
            (basket.fields())
            @if let Some(strategy) = strategy { input type="hidden" name="strategy" value=(strategy); }
            label { "metric" input type="text" name="metric" list="metrics" value=(metric); }
            label { "against (Pareto)" input type="text" name="pareto" list="metrics" value=(second.unwrap_or_default()); }
            button type="submit" { "Show" }
        }
        (datalist("metrics", &view.metrics))
        h2 { "Every parameter and " (metric) }
        (chart(&charts::parallel(view, metric)))
        p.note { "Each line is a run, through its value of each parameter to its " (metric) " on the right, coloured from worst (purple) to best (yellow); a line leads to its run." }
        h2 { "Importance" }
        (chart(&importance))
        p.note {
            "Each parameter's importance is the share of " (metric) "'s variance that the means of its values explain (η², the correlation ratio: the sum of squares between the values' means over the total), scaled so that the parameters' shares sum to 100% ("
            (shares.iter().map(|(n, s)| format!("{n} {}", readable::percent(*s))).collect::<Vec<_>>().join(", ")) "). A parameter that interacts with others can matter more than its share says."
        }
        @if let Some(svg) = charts::slices(view, metric) {
            h2 { (metric) " by each parameter" }
            (chart(&svg))
        }
        @if let Some(svg) = history {
            h2 { "Optimisation history" }
            (chart(&svg))
        }
        h2 { "Distribution of " (metric) }
        (chart(&charts::distribution(view, metric)))
        @if let (Some(second), Some((svg, front))) = (second, &pareto) {
            h2 { "Pareto front of " (metric) " and " (second) }
            (chart(svg))
            p.note { (front.len()) " runs no other run beats on both: "
                @for (k, i) in front.iter().enumerate() {
                    @if k > 0 { ", " }
                    a href=(basket.run_href(view.points[*i].run)) { "run " (view.points[*i].run) }
                }
            }
        }
    }
}
