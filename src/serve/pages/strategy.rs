//! `/strategies/{name}`: one strategy's sweeps; the metric by two parameters as a heatmap
//! (each cell's value on hover), every parameter's sensitivity, and the in-sample against
//! out-of-sample check for two data sets — `btdb compare` in one page.

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use maud::{Markup, html};

use super::{chart, on_worker, params as params_text, select, value};
use crate::answers::compare;
use crate::query::strategy::Overview;
use crate::report::compare::Comparison;
use crate::report::plot;
use crate::serve::App;
use crate::serve::api::WRITES_FILES;
use crate::serve::params::Params;

pub async fn page(
    State(app): State<App>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let title = name.clone();
    on_worker(app, title, move |app| async move {
        let mut params = Params::parse(query.as_deref());
        let overview = Overview::load(&mut *app.db.conn().await?, &name).await?;
        let (is, oos) = (params.take_one("is"), params.take_one("oos"));
        params.take("strategy");
        let mut sweep = params.clone();
        // On first opening, the first two parameters, so that the page opens on a heatmap; a
        // submitted form may leave y empty for a line chart.
        if !sweep.has("x") && !sweep.has("y") {
            let mut names = overview.parameters.iter();
            if let Some(x) = names.next() {
                sweep.default("x", x);
            }
            if let Some(y) = names.next() {
                sweep.default("y", y);
            }
        }
        let strategy = format!("--strategy={name}");
        let args: compare::Args = sweep.args(std::slice::from_ref(&strategy), WRITES_FILES)?;
        let comparison = compare::answer(&args, &app.db).await?;
        let heatmap = match &comparison.pivot {
            Some(pivot) => Some(plot::sweep(&name, &args.metric, pivot)?),
            None => None,
        };
        let check = match (&is, &oos) {
            (Some(is), Some(oos)) => {
                let mut split = params.clone();
                split.take("dataset");
                split.take("x");
                split.take("y");
                split.default("is", is);
                split.default("oos", oos);
                let args: compare::Args = split.args(&[strategy], WRITES_FILES)?;
                Some(compare::answer(&args, &app.db).await?)
            }
            _ => None,
        };
        Ok(content(
            &overview,
            &args,
            &comparison,
            heatmap.as_deref(),
            (is.as_deref(), oos.as_deref()),
            check.as_ref(),
        ))
    })
    .await
}

fn content(
    overview: &Overview,
    args: &compare::Args,
    comparison: &Comparison,
    heatmap: Option<&str>,
    (is, oos): (Option<&str>, Option<&str>),
    check: Option<&Comparison>,
) -> Markup {
    let datasets: Vec<String> = overview.datasets.iter().map(|d| d.name.clone()).collect();
    html! {
        h1 { bdi { (overview.name) } }
        div.row {
            table {
                thead { tr { th { "data set" } th.num { "runs" } } }
                tbody { @for d in &overview.datasets { tr { td { a href={ "/runs?strategy=" (enc(&overview.name)) "&dataset=" (enc(&d.name)) } { bdi { (d.name) } } } td.num { (d.runs) } } } }
            }
            @if !overview.sweeps.is_empty() {
                table {
                    thead { tr { th { "sweep" } th.num { "runs" } } }
                    tbody { @for s in &overview.sweeps { tr { td { bdi { (s.name) } } td.num { (s.runs) } } } }
                }
            }
            dl.facts {
                dt { "versions" } dd { @for v in &overview.versions { span.params { (if v.version.is_empty() { "(none)" } else { &v.version }) } " " } }
                dt { "parameters" } dd { span.params { (overview.parameters.join(", ")) } }
            }
        }
        h2 { "By parameter" }
        form.filters method="get" {
            label { "metric" input type="text" name="metric" value=(args.metric); }
            label { "x" (select("x", &overview.parameters, args.x.as_deref(), false)) }
            label { "y" (select("y", &overview.parameters, args.y.as_deref(), true)) }
            label { "data set" (select("dataset", &datasets, args.filter.dataset.as_deref(), true)) }
            label { "where" input.wide type="text" name="where" value=[args.filter.condition.as_deref()]; }
            button type="submit" { "Compare" }
        }
        @if let Some(svg) = heatmap { (chart(svg)) }
        @if let Some(pivot) = &comparison.pivot {
            @if pivot.runs_without_parameter > 0 {
                p.note { (pivot.runs_without_parameter) " runs lack " (pivot.x) " or " (pivot.y.as_deref().unwrap_or("")) " and are left out." }
            }
        }
        @if let Some(sensitivity) = &comparison.sensitivity {
            h2 { "Sensitivity of " (comparison.metric) }
            table {
                thead { tr { th { "parameter" } th.num { "spread of means" } th { "mean by value" } } }
                tbody { @for s in sensitivity { tr {
                    td { bdi { (s.parameter) } } (value(Some(s.spread)))
                    td { span.params { @for (v, cell) in &s.values { (v) ": " (crate::report::number(cell.mean)) "  " } } }
                } } }
            }
        }
        h2 { "In sample against out of sample" }
        form.filters method="get" {
            input type="hidden" name="metric" value=(args.metric);
            label { "in sample" (select("is", &datasets, is, true)) }
            label { "out of sample" (select("oos", &datasets, oos, true)) }
            button type="submit" { "Check" }
        }
        @if let Some(check) = check.and_then(|c| c.out_of_sample.as_ref()) {
            dl.facts {
                dt { "parameter sets on both" } dd { (check.parameter_sets) }
                dt { "Spearman rank correlation" } dd { (check.spearman.map_or_else(|| "–".to_owned(), crate::report::number)) }
                @if let Some(w) = &check.winner {
                    dt { "in-sample winner" } dd { (params_text(&w.params)) ", out-of-sample rank " (w.out_of_sample_rank) " of " (check.parameter_sets) }
                }
            }
            table {
                thead { tr { th { "parameters" } th.num { "in sample" } th.num { "rank" } th.num { "out of sample" } th.num { "rank" } } }
                tbody { @for s in check.sets.iter().take(50) { tr {
                    td { (params_text(&s.params)) } (value(Some(s.in_sample))) td.num { (s.in_sample_rank) }
                    (value(Some(s.out_of_sample))) td.num { (s.out_of_sample_rank) }
                } } }
            }
        }
    }
}

fn enc(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
