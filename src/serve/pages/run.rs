//! `/runs/{id}`: one run as `btdb show` shows it, its equity curve over its drawdown, its
//! trades a page at a time (`trades-after`), and the way to compare it: the compare basket
//! (`pick`) and its twins, the same parameters on the other data sets.

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use maud::{Markup, html};

use super::basket::Basket;
use super::{chart, metric_value, on_worker, strategy_link, value, when};
use crate::answers::show;
use crate::models::RunId;
use crate::query::run_detail::{RunDetail, TradeGroup};
use crate::report::{plot, readable};
use crate::serve::App;
use crate::serve::answers::{self, TradePage};
use crate::serve::api::WRITES_FILES;
use crate::serve::params::Params;

/// Trades one page of a run shows.
const TRADES: i64 = 50;

pub async fn page(
    State(app): State<App>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let title = format!("Run {id}");
    on_worker(
        app,
        super::Head::carrying(title, query.as_deref()),
        move |app| async move {
            let mut params = Params::parse(query.as_deref());
            let basket = Basket::take(&mut params)?;
            let after = params
                .take_one("trades-after")
                .map(|a| a.parse::<i32>())
                .transpose()
                .map_err(|_| anyhow::anyhow!("`trades-after` is a trade number"))?;
            params.default("equity", "true");
            let mut args: show::Args = params.args(std::slice::from_ref(&id), WRITES_FILES)?;
            args.by = vec![
                TradeGroup::Symbol,
                TradeGroup::EntryTag,
                TradeGroup::ExitReason,
            ];
            let mut conn = app.db.reader().await?;
            let detail = show::answer(&args, &mut conn).await?;
            let trades = answers::trades(&mut conn, detail.run.id, after, TRADES).await?;
            let twins = RunDetail::twins(&mut conn, detail.run.id).await?;
            let curve = show::equity_points(detail.equity.as_deref().unwrap_or_default());
            let svg = if curve.is_empty() {
                None
            } else {
                Some(plot::equity(&show::title(&detail), &curve)?)
            };
            let here = Here {
                basket: &basket,
                params: &params,
                twins: &twins,
                trades_after: after,
            };
            Ok(content(&detail, svg.as_deref(), &trades, &here))
        },
    )
    .await
}

/// Where the page stands: the basket it carries, its own parameters, the run's twins.
struct Here<'a> {
    basket: &'a Basket,
    params: &'a Params,
    twins: &'a [(RunId, String)],
    /// The trade the trades shown follow (`trades-after`).
    trades_after: Option<i32>,
}

impl Here<'_> {
    /// The run's page showing the trades after trade `after` (from the first: `None`),
    /// keeping the rest of the page's state.
    fn trades_from(&self, path: &str, after: Option<i32>) -> String {
        let params = match after {
            Some(after) => self
                .params
                .with_pairs(&[("trades-after", &after.to_string())]),
            None => self.params.clone(),
        };
        format!("{path}?{}", self.basket.query(&params))
    }
}

/// The direction the run declared for `metric`, as the page says it.
fn direction<'a>(detail: &'a RunDetail, metric: &str) -> Option<&'a str> {
    match detail.directions.as_ref()?.get(metric)?.as_str()? {
        "minimize" => Some("minimised"),
        "maximize" => Some("maximised"),
        _ => None,
    }
}

fn content(detail: &RunDetail, svg: Option<&str>, trades: &TradePage, here: &Here<'_>) -> Markup {
    let run = &detail.run;
    let path = format!("/runs/{}", run.id);
    html! {
        h1 { "Run " (run.id) ": " (strategy_link(&run.strategy.name, here.basket)) " on " bdi { (run.dataset) } }
        (here.basket.bar(&path, here.params))
        p.compare {
            (here.basket.toggle(run.id, &path, here.params))
            @for (twin, dataset) in here.twins {
                " · " a.twin href=(Basket::side_by_side(&[run.id, *twin])) { "compare with its twin on " bdi { (dataset) } " (run " (twin) ")" }
            }
            @if here.twins.is_empty() { " · " span.note { "no run of the same parameters on another data set" } }
        }
        div.row {
            dl.facts {
                dt { "run_key" } dd { code { (run.run_key) } }
                dt { "status" } dd { (run.status) }
                dt { "version" } dd { (run.strategy.version) }
                dt { "sweep" } dd { bdi { (run.sweep.as_deref().unwrap_or("–")) } }
                dt { "tags" } dd { bdi { (run.tags.join(", ")) } }
                dt { "period" } dd { (detail.period_start.map(when).unwrap_or_default()) " – " (detail.period_end.map(when).unwrap_or_default()) }
                dt { "initial capital" } dd { (detail.initial_capital.as_ref().map(|c| readable::grouped(&c.to_plain_string())).unwrap_or_default()) }
                dt { "recorded" } dd { (when(run.recorded_at)) }
                @if let Some(trial) = detail.trial {
                    dt { "trial" } dd { (trial) " (" (detail.started_at.map(when).unwrap_or_default()) " – " (detail.finished_at.map(when).unwrap_or_default()) ")" }
                }
                dt { "trades" } dd { (detail.n_trades) " (" (detail.trade_summary.winners) " won, " (detail.trade_summary.losers) " lost)" }
                dt { "probabilistic Sharpe" } dd { (detail.confidence.psr.map_or_else(|| "–".to_owned(), readable::percent)) }
            }
            table {
                thead { tr { th { "parameter" } th { "value" } } }
                tbody { @for (k, v) in run.params.as_object().into_iter().flatten() { tr { td { bdi { (k) } } td.params { bdi { (v) } } } } }
            }
            table {
                thead { tr { th { "metric" } th.num { "value" } } }
                tbody { @for (k, v) in run.metrics.iter() { tr {
                    td { (k) @if let Some(d) = direction(detail, k) { " " span.note { "(" (d) ")" } } }
                    (metric_value(k, Some(v)))
                } } }
            }
        }
        form.note method="post" action={ (path) "/note" } {
            input type="hidden" name="back" value={ (path) "?" (here.basket.query(here.params)) };
            label { "note" textarea name="note" rows="3" cols="60" placeholder="what to remember of this run" { (detail.note.as_deref().unwrap_or_default()) } }
            button type="submit" { "Save note" }
        }
        @if !detail.intermediate.is_empty() {
            details.intermediate {
                summary { "Intermediate values (" (detail.intermediate.len()) " steps)" }
                table {
                    thead { tr { th.num { "step" } th.num { "value" } } }
                    tbody { @for (step, v) in &detail.intermediate { tr { td.num { (step) } (value(Some(*v))) } } }
                }
            }
        }
        @if let Some(svg) = svg { h2 { "Equity and drawdown" } (chart(svg)) }
        @for (by, groups) in &detail.trades_by {
            // A breakdown says something when the trades fall in more than one group, or
            // when the backtester named them at all.
            @if groups.len() > 1 || (*by != TradeGroup::Symbol && groups.iter().any(|g| g.name.is_some())) {
                h2 { "Trades by " (by.label()) }
                table.breakdown {
                    thead { tr { th { (by.label()) } th.num { "trades" } th.num { "won" } th.num { "lost" } th.num { "pnl" } th.num { "fees" } } }
                    tbody { @for g in groups { tr {
                        td { @match &g.name { Some(name) => bdi { (name) }, None => span.note { "none" } } }
                        td.num { (g.trades) } td.num { (g.winners) } td.num { (g.losers) } td.num { (g.pnl) } td.num { (g.fees) }
                    } } }
                }
            }
        }
        h2 { "Trades" }
        @if trades.trades.is_empty() { p.note { "No trades" (if detail.n_trades > 0 { " after this one" } else { "" }) "." } }
        @else {
            @let tagged = trades.trades.iter().any(|t| t.entry_tag.is_some() || t.exit_reason.is_some());
            @let levered = trades.trades.iter().any(|t| t.leverage.is_some());
            // Each column of decimals to the same places, as a trade blotter reads.
            @let column = |f: fn(&crate::models::Trade) -> &bigdecimal::BigDecimal| readable::decimals_alike(trades.trades.iter().map(f).collect::<Vec<_>>());
            @let (quantity, entry, exit) = (column(|t| &t.quantity), column(|t| &t.entry_price), column(|t| &t.exit_price));
            @let (fees, pnl) = (column(|t| &t.fees), column(|t| &t.pnl));
            table.trades {
                thead { tr {
                    th.num { "#" } th { "symbol" } th { "side" } th.num { "quantity" } th { "entry" } th.num { "price" } th { "exit" } th.num { "price" } th.num { "fees" } th.num { "pnl" }
                    @if levered { th.num { "leverage" } }
                    @if tagged { th { "entry tag" } th { "exit reason" } }
                } }
                tbody { @for (i, t) in trades.trades.iter().enumerate() { tr {
                    td.num { (t.seq) } td { bdi { (t.symbol) } } td { (t.side) } td.num { (quantity[i]) }
                    td { (when(t.entry_time)) } td.num { (entry[i]) }
                    td { (when(t.exit_time)) } td.num { (exit[i]) }
                    td.num { (fees[i]) } td.num { (pnl[i]) }
                    @if levered { td.num { @if let Some(l) = &t.leverage { (l) } } }
                    @if tagged {
                        td { @if let Some(tag) = &t.entry_tag { bdi { (tag) } } }
                        td { @if let Some(reason) = &t.exit_reason { bdi { (reason) } } }
                    }
                } } }
            }
        }
        nav.paging {
            // Trades are numbered from 0 without gaps, so the page before starts a page back.
            @if let Some(after) = here.trades_after {
                a.previous href=(here.trades_from(&path, Some(after - TRADES as i32).filter(|a| *a >= 0))) { "← earlier trades" }
            }
            @if let Some(next) = trades.next { a.next href=(here.trades_from(&path, Some(next))) { "later trades →" } }
            a href={ (path) "/trades.csv" } { "trades as CSV" }
            a href={ (path) "/equity.csv" } { "equity as CSV" }
            a href={ "/api/runs/" (run.id) } { "JSON" }
            a href={ "/api/runs/" (run.id) "/trades" } { "trades as JSON" }
        }
    }
}
