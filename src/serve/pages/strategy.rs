//! `/strategies/{name}`: one strategy's sweeps; the metric by two parameters as a heatmap
//! (each cell's value on hover), every parameter's sensitivity, and the in-sample against
//! out-of-sample check for two data sets — `btdb compare` in one page.

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use maud::{Markup, html};

use super::basket::Basket;
use super::{chart, metric_value, on_worker, params as params_text, select};
use crate::answers::{compare, rank};
use crate::query::rank::RunRank;
use crate::query::strategy::Overview;
use crate::query::sweep::{self, ParamValue};
use crate::report::compare::Comparison;
use crate::report::plot;
use crate::report::readable;
use crate::serve::App;
use crate::serve::api::WRITES_FILES;
use crate::serve::params::Params;

pub async fn page(
    State(app): State<App>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let title = name.clone();
    on_worker(
        app,
        super::Head::carrying(title, query.as_deref()),
        move |app| async move {
            let mut params = Params::parse(query.as_deref());
            let basket = Basket::take(&mut params)?;
            let overview = Overview::load(&mut app.db.reader().await?, &name).await?;
            let (is, oos) = (params.take_one("is"), params.take_one("oos"));
            // The overfitting estimate's own fields: asked for apart from the heatmap's.
            let pbo_asked = params
                .take_one("pbo")
                .is_some_and(|v| v != "false" && !v.is_empty());
            let partitions = params.take_one("partitions").filter(|p| !p.is_empty());
            let intersect = params.take_one("align").is_some_and(|a| a == "intersect");
            params.take("strategy");
            let mut sweep = params.clone();
            // The page opens on one data set, the one with most runs: pooling hourly and daily
            // runs would average unlike figures. An empty `dataset` (the form's "all data sets")
            // pools them, and says so.
            let opened_on = match sweep.has("dataset") {
                true => None,
                false => overview
                    .datasets
                    .iter()
                    .max_by_key(|d| d.runs)
                    .map(|d| d.name.clone()),
            };
            if let Some(dataset) = &opened_on {
                sweep.default("dataset", dataset);
            }
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
            let metrics = crate::query::suggest::metric_names(&mut *app.db.reader().await?).await?;
            let to_runs = RunsOf::new(
                &name,
                args.filter.dataset.as_deref(),
                args.filter.condition.as_deref(),
                &args.metric,
                &basket,
            );
            let link = |x: &ParamValue, y: Option<&ParamValue>| {
                let mut pairs = vec![(args.x.as_deref().unwrap_or_default(), x)];
                if let (Some(name), Some(y)) = (args.y.as_deref(), y) {
                    pairs.push((name, y));
                }
                to_runs.href(&pairs)
            };
            let heatmap = match &comparison.pivot {
                Some(pivot) => Some(plot::sweep(&name, &args.metric, pivot, Some(&link))?),
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
                    let args: compare::Args =
                        split.args(std::slice::from_ref(&strategy), WRITES_FILES)?;
                    Some(compare::answer(&args, &app.db).await?)
                }
                _ => None,
            };
            let best = best_runs(&app, &strategy, &args).await?;
            let overfitting = Overfitting {
                result: overfitting(
                    &app,
                    &strategy,
                    &args,
                    pbo_asked,
                    (partitions.as_deref(), intersect),
                )
                .await?,
                partitions: partitions.as_deref(),
                intersect,
            };
            Ok(content(
                &overview,
                &args,
                &comparison,
                heatmap.as_deref(),
                (is.as_deref(), oos.as_deref()),
                check.as_ref(),
                (&to_runs, opened_on.as_deref(), &metrics),
                &params,
                (&overfitting, &best),
            ))
        },
    )
    .await
}

/// Links to the runs behind a figure: `/runs` filtered to the strategy, the page's data set
/// and condition, and the figure's parameter values, best first by the page's metric.
struct RunsOf<'a> {
    strategy: &'a str,
    dataset: Option<&'a str>,
    condition: Option<&'a str>,
    basket: &'a Basket,
    /// The end of every link's query, the same for all: the sort and the basket, encoded.
    sorted: String,
}

impl<'a> RunsOf<'a> {
    fn new(
        strategy: &'a str,
        dataset: Option<&'a str>,
        condition: Option<&'a str>,
        metric: &'a str,
        basket: &'a Basket,
    ) -> Self {
        let mut sort = Params::parse(None);
        sort.push("sort", metric);
        Self {
            strategy,
            dataset,
            condition,
            basket,
            sorted: basket.query(&sort),
        }
    }

    /// Built by hand rather than through `Params` and the basket for each figure: a
    /// heatmap's 500 cells each have one, a tenth of the page's own time that way.
    fn href_on(&self, dataset: Option<&str>, pairs: &[(&str, &ParamValue)]) -> Option<String> {
        let cell = sweep::condition(pairs)?;
        let condition = match self.condition {
            Some(c) => format!("({c}) and {cell}"),
            None => cell,
        };
        // As `Params::query` writes them: pairs in order, empty values left out.
        let path = "/runs?";
        let mut query = url::form_urlencoded::Serializer::for_suffix(path.to_owned(), path.len());
        query.append_pair("strategy", self.strategy);
        if let Some(d) = dataset.filter(|d| !d.is_empty()) {
            query.append_pair("dataset", d);
        }
        query.append_pair("where", &condition);
        let mut href = query.finish();
        href.push('&');
        href.push_str(&self.sorted);
        Some(href)
    }

    fn href(&self, pairs: &[(&str, &ParamValue)]) -> Option<String> {
        self.href_on(self.dataset, pairs)
    }

    /// The runs of one parameter set (every parameter equal) on `dataset`.
    fn of_set(&self, params: &serde_json::Value, dataset: &str) -> Option<String> {
        let values: Vec<(&str, ParamValue)> = params
            .as_object()?
            .iter()
            .map(|(k, v)| Some((k.as_str(), ParamValue::from_json(v)?)))
            .collect::<Option<_>>()?;
        let pairs: Vec<(&str, &ParamValue)> = values.iter().map(|(k, v)| (*k, v)).collect();
        self.href_on(Some(dataset), &pairs)
    }
}

/// `text` linking to `href`, or plain where there is no link.
fn maybe_link(href: Option<String>, text: Markup) -> Markup {
    html! { @if let Some(href) = href { a href=(href) { (text) } } @else { (text) } }
}

#[allow(clippy::too_many_arguments)]
fn content(
    overview: &Overview,
    args: &compare::Args,
    comparison: &Comparison,
    heatmap: Option<&str>,
    (is, oos): (Option<&str>, Option<&str>),
    check: Option<&Comparison>,
    (to_runs, opened_on, metrics): (&RunsOf<'_>, Option<&str>, &[String]),
    params: &Params,
    (overfitting, best): (&Overfitting<'_>, &[RunRank]),
) -> Markup {
    let basket = to_runs.basket;
    let path = format!("/strategies/{}", super::segment(&overview.name));
    let version_runs = |version: &str| {
        let mut p = Params::parse(None);
        p.push("strategy", &overview.name);
        p.push("strategy-version", version);
        format!("/runs?{}", basket.query(&p))
    };
    let sweep_runs = |sweep: &str| {
        let mut p = Params::parse(None);
        p.push("metric", &args.metric);
        p.push("strategy", &overview.name);
        format!("/sweeps/{}?{}", super::segment(sweep), basket.query(&p))
    };
    let runs_on = |dataset: &str| {
        let mut p = Params::parse(None);
        p.push("strategy", &overview.name);
        p.push("dataset", dataset);
        format!("/runs?{}", basket.query(&p))
    };
    let datasets: Vec<String> = overview.datasets.iter().map(|d| d.name.clone()).collect();
    let drawn: Vec<&str> = [args.x.as_deref(), args.y.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    // A parameter of the grid that takes one value: the chart is a line over the other.
    let constant = comparison.pivot.as_ref().and_then(|p| {
        let y = p.y.as_ref()?;
        match (p.x_values.as_slice(), p.y_values.as_slice()) {
            (_, [only]) => Some((y.clone(), only.to_string(), p.x.clone())),
            ([only], [_, _, ..]) => Some((p.x.clone(), only.to_string(), y.clone())),
            _ => None,
        }
    });
    let averaged: Vec<&String> = overview
        .parameters
        .iter()
        .filter(|p| !drawn.contains(&p.as_str()))
        .collect();
    html! {
        h1 { bdi { (overview.name) } }
        (basket.bar(&path, params))
        div.row {
            table {
                thead { tr { th { "data set" } th.num { "runs" } } }
                tbody { @for d in &overview.datasets { tr { td { a href=(runs_on(&d.name)) { bdi { (d.name) } } } td.num { (d.runs) } } } }
            }
            @if !overview.sweeps.is_empty() {
                table {
                    thead { tr { th { "sweep" } th.num { "runs" } th { "note" } } }
                    tbody { @for s in &overview.sweeps { tr {
                        td { a href=(sweep_runs(&s.name)) { bdi { (s.name) } } } td.num { (s.runs) }
                        td { form.note method="post" action={ "/sweeps/" (super::segment(&s.name)) "/note" } {
                            input type="hidden" name="back" value={ (path) "?" (basket.query(params)) };
                            input type="text" name="note" value=(s.note.as_deref().unwrap_or_default()) placeholder="a note on this sweep";
                            button type="submit" { "Save" }
                        } }
                    } } }
                }
            }
            dl.facts {
                dt { "versions" } dd { @for v in &overview.versions {
                    a.params href=(version_runs(&v.version)) { (if v.version.is_empty() { "(none)" } else { &v.version }) } " "
                } }
                dt { "parameters" } dd { span.params { (overview.parameters.join(", ")) } }
            }
        }
        h2 { "By parameter" }
        form.filters method="get" {
            (basket.fields())
            label { "metric" input type="text" name="metric" list="metrics" value=(args.metric); }
            label { "x" (select("x", &overview.parameters, args.x.as_deref(), false)) }
            label { "y" (select("y", &overview.parameters, args.y.as_deref(), true)) }
            label { "data set" select name="dataset" {
                option value="" selected[args.filter.dataset.is_none()] { "all data sets (pooled)" }
                @for d in &datasets { option value=(d) selected[args.filter.dataset.as_deref() == Some(d.as_str())] { (d) } }
            } }
            label { "where" input.wide type="text" name="where" value=[args.filter.condition.as_deref()]; }
            @if let Some(is) = is { input type="hidden" name="is" value=(is); }
            @if let Some(oos) = oos { input type="hidden" name="oos" value=(oos); }
            button type="submit" { "Compare" }
        }
        (super::datalist("metrics", metrics))
        p.note.caption {
            @match (args.filter.dataset.as_deref(), opened_on) {
                (Some(d), Some(_)) => { "On " bdi { (d) } ", the data set with most runs; choose another, or all data sets, above. " }
                (Some(d), None) => { "On " bdi { (d) } ". " }
                (None, _) => { @if datasets.len() > 1 { strong { "Pooled over " (datasets.len()) " data sets" } ": runs on different data sets (their bar lengths and periods) are averaged together. " } }
            }
            @if !averaged.is_empty() {
                "Each " (if args.y.is_some() { "cell" } else { "point" }) " averages over every value of "
                span.params { (averaged.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")) }
                "; narrow them with where (e.g. params." (averaged[0]) " = …). "
            }
            @if let Some((name, v, other)) = &constant {
                bdi { (name) } " is " (v) " in every run here, so the chart is by " bdi { (other) } " alone. "
            }
            "Click a " (if args.y.is_some() && constant.is_none() { "cell" } else { "point" }) " for its runs."
        }
        @if let Some(svg) = heatmap { (chart(svg)) }
        p.note {
            a href={ "/compare.csv?" (pivot_query(overview, args)) } { "CSV" } " · "
            a href={ "/api/compare?" (pivot_query(overview, args)) } { "JSON" }
        }
        @if let Some(pivot) = &comparison.pivot {
            @if pivot.runs_without_parameter > 0 {
                p.note { (pivot.runs_without_parameter) " runs lack " (pivot.x) " or " (pivot.y.as_deref().unwrap_or("")) " and are left out." }
            }
        }
        @if !best.is_empty() {
            h2 { "Best runs by " (args.metric) }
            table {
                thead { tr { th.num { "#" } th { "run" } th { "data set" } th { "parameters" } th.num { (args.metric) } th.num { "probabilistic Sharpe" } th.num { "track record needed" } } }
                tbody { @for row in best { tr {
                    td.num { (row.rank) }
                    td { a href=(basket.run_href(row.run.id)) { (row.run.id) } }
                    td { bdi { (row.run.dataset) } }
                    td { (params_text(&row.run.params)) }
                    td.num { (readable::metric(&args.metric, row.value)) }
                    td.num { (row.confidence.and_then(|c| c.psr).map_or_else(|| "–".to_owned(), readable::percent)) }
                    td.num { (row.confidence.and_then(|c| c.min_track_record).map_or_else(|| "–".to_owned(), |t| format!("{} years", readable::significant(t.years, 3)))) }
                } } }
            }
            p.note { "The probabilistic Sharpe ratio is the probability that the run's true Sharpe ratio is above 0, given its length, skew and kurtosis; the track record needed is how long it would have to run for 95 % confidence (docs/metrics.md)." }
        }
        @if let Some(sensitivity) = &comparison.sensitivity {
            h2 { "Sensitivity of " (comparison.metric) }
            table {
                thead { tr { th { "parameter" } th.num { "spread of means" } th { "mean by value" } } }
                tbody { @for s in sensitivity { tr {
                    td { bdi { (s.parameter) } } (metric_value(&comparison.metric, Some(s.spread)))
                    td { span.params { @for (v, cell) in &s.values {
                        (maybe_link(to_runs.href(&[(s.parameter.as_str(), v)]), html! { (v) ": " (readable::metric(&comparison.metric, cell.mean)) }))
                        "  "
                    } } }
                } } }
            }
        }
        h2 { "In sample against out of sample" }
        form.filters method="get" {
            (basket.fields())
            // The heatmap's state rides along, so that checking leaves it as it was.
            input type="hidden" name="metric" value=(args.metric);
            @if let Some(x) = &args.x { input type="hidden" name="x" value=(x); }
            input type="hidden" name="y" value=(args.y.as_deref().unwrap_or_default());
            input type="hidden" name="dataset" value=(args.filter.dataset.as_deref().unwrap_or_default());
            @if let Some(c) = &args.filter.condition { input type="hidden" name="where" value=(c); }
            label { "in sample" (select("is", &datasets, is, true)) }
            label { "out of sample" (select("oos", &datasets, oos, true)) }
            button type="submit" { "Check" }
        }
        @if let Some(check) = check.and_then(|c| c.out_of_sample.as_ref()) {
            dl.facts {
                dt { "parameter sets on both" } dd { (check.parameter_sets) }
                dt { "Spearman rank correlation" } dd { (check.spearman.map_or_else(|| "–".to_owned(), crate::report::number)) }
                @if let Some(w) = &check.winner {
                    dt { "in-sample winner" } dd {
                        (params_text(&w.params)) ", out-of-sample rank " (w.out_of_sample_rank) " of " (check.parameter_sets)
                        " · " (maybe_link(to_runs.of_set(&w.params, &check.in_sample), html! { "its runs in sample" }))
                        " · " (maybe_link(to_runs.of_set(&w.params, &check.out_of_sample), html! { "out of sample" }))
                    }
                }
            }
            table {
                thead { tr { th { "parameters" } th.num { "in sample" } th.num { "rank" } th.num { "out of sample" } th.num { "rank" } } }
                tbody { @for s in check.sets.iter().take(50) { tr {
                    td { (params_text(&s.params)) }
                    td.num { (maybe_link(to_runs.of_set(&s.params, &check.in_sample), html! { (readable::metric(&args.metric, s.in_sample)) })) }
                    td.num { (s.in_sample_rank) }
                    td.num { (maybe_link(to_runs.of_set(&s.params, &check.out_of_sample), html! { (readable::metric(&args.metric, s.out_of_sample)) })) }
                    td.num { (s.out_of_sample_rank) }
                } } }
            }
            p.note { "The in-sample value links to the set's runs in sample, the out-of-sample value to its runs out of sample; a run's page compares it with its twin." }
        }
        h2 { "Probability of backtest overfitting" }
        form.filters method="get" {
            (basket.fields())
            input type="hidden" name="pbo" value="true";
            input type="hidden" name="metric" value=(args.metric);
            @if let Some(x) = &args.x { input type="hidden" name="x" value=(x); }
            input type="hidden" name="y" value=(args.y.as_deref().unwrap_or_default());
            input type="hidden" name="dataset" value=(args.filter.dataset.as_deref().unwrap_or_default());
            @if let Some(c) = &args.filter.condition { input type="hidden" name="where" value=(c); }
            label { "partitions" input type="text" name="partitions" value=(overfitting.partitions.unwrap_or("16")); }
            label.check { input type="checkbox" name="align" value="intersect" checked[overfitting.intersect]; "leave out runs of shorter curves" }
            button type="submit" { "Estimate" }
        }
        @match &overfitting.result {
            None => { p.note { "Combinatorially symmetric cross-validation of the sweep on " (args.filter.dataset.as_deref().unwrap_or("one data set")) ": how often the in-sample best parameter set ranks in the bottom half out of sample (docs/metrics.md)." } }
            Some(Err(e)) => { p.error role="alert" { (e) } }
            Some(Ok(report)) => {
                dl.facts {
                    dt { "probability of backtest overfitting" } dd { (readable::percent(report.pbo.probability)) }
                    dt { "probability of loss" } dd { (readable::percent(report.pbo.probability_of_loss)) }
                    dt { "degradation slope" } dd { (readable::significant(report.pbo.degradation.slope, 4)) " (R² " (readable::significant(report.pbo.degradation.r2, 3)) ")" }
                    dt { "parameter sets · periods" } dd { (report.pbo.parameter_sets) " · " (readable::fixed(report.pbo.periods as f64, 0)) }
                    dt { "splits" } dd { (readable::fixed(report.pbo.combinations as f64, 0)) " (" (report.pbo.partitions) " partitions)" }
                }
                @if !report.dropped.is_empty() { p.note { (report.dropped.len()) " runs of shorter curves left out." } }
                @if let Ok(svg) = plot::overfitting(&format!("{}: overfitting on {}", overview.name, report.dataset), &args.metric, &report.pbo) { (chart(&svg)) }
            }
        }
    }
}

/// The overfitting section's state: its estimate (or why there is none), and its fields.
struct Overfitting<'a> {
    result: Option<Result<crate::report::compare::PboReport, String>>,
    partitions: Option<&'a str>,
    intersect: bool,
}

/// The probability of backtest overfitting of the page's sweep on its data set, when asked:
/// what stands in its way (one data set, curves that do not align) is said in its section,
/// not as the page's error.
async fn overfitting(
    app: &App,
    strategy: &str,
    args: &compare::Args,
    asked: bool,
    (partitions, intersect): (Option<&str>, bool),
) -> anyhow::Result<Option<Result<crate::report::compare::PboReport, String>>> {
    if !asked {
        return Ok(None);
    }
    let Some(dataset) = args.filter.dataset.as_deref() else {
        return Ok(Some(Err(
            "the estimate is of one data set: choose one above".to_owned(),
        )));
    };
    let mut asked = vec![
        strategy.to_owned(),
        "--pbo".to_owned(),
        format!("--dataset={dataset}"),
        format!("--metric={}", args.metric),
    ];
    if let Some(n) = partitions {
        asked.push(format!("--partitions={n}"));
    }
    if intersect {
        asked.push("--align=intersect".to_owned());
    }
    let estimate = match Params::parse(None).args::<compare::Args>(&asked, WRITES_FILES) {
        Ok(pbo_args) => compare::answer(&pbo_args, &app.db).await,
        Err(e) => Err(e.into()),
    };
    match estimate {
        Ok(c) => Ok(Some(c.pbo.ok_or_else(|| "no estimate".to_owned()))),
        Err(e) if crate::serve::status_of(&e) == axum::http::StatusCode::BAD_REQUEST => Ok(Some(
            Err(super::page_terms(&crate::serve::one_line(&e).replace(
                "--align intersect leaves them out",
                "“leave out runs of shorter curves” does",
            ))),
        )),
        Err(e) => Err(e),
    }
}

/// The query of the page's pivot, as `/api/compare` and `/compare.csv` take it.
fn pivot_query(overview: &Overview, args: &compare::Args) -> String {
    let mut p = Params::parse(None);
    p.push("strategy", &overview.name);
    p.push("metric", &args.metric);
    if let Some(x) = &args.x {
        p.push("x", x);
    }
    if let Some(y) = &args.y {
        p.push("y", y);
    }
    if let Some(d) = &args.filter.dataset {
        p.push("dataset", d);
    }
    if let Some(c) = &args.filter.condition {
        p.push("where", c);
    }
    p.query()
}

/// The strategy's ten best runs by the page's metric, on its data set and condition, each with
/// its probabilistic Sharpe ratio: `btdb rank --runs --psr` of the page.
async fn best_runs(
    app: &App,
    strategy: &str,
    args: &compare::Args,
) -> anyhow::Result<Vec<RunRank>> {
    let mut asked = vec![
        strategy.to_owned(),
        "--runs".to_owned(),
        "--psr".to_owned(),
        "--top=10".to_owned(),
        format!("--metric={}", args.metric),
    ];
    if let Some(dataset) = &args.filter.dataset {
        asked.push(format!("--dataset={dataset}"));
    }
    if let Some(condition) = &args.filter.condition {
        asked.push(format!("--where={condition}"));
    }
    let rank_args: rank::Args = Params::parse(None).args(&asked, WRITES_FILES)?;
    Ok(
        match rank::answer(&rank_args, &mut app.db.reader().await?).await? {
            rank::Ranked::Runs(rows) => rows,
            rank::Ranked::Strategies(_) => Vec::new(),
        },
    )
}
