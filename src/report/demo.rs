//! `demo`'s report: the ranking with the deflated Sharpe ratio and how each strategy's
//! in-sample ranking held out of sample.

use std::path::PathBuf;

use serde::Serialize;

use super::compare::out_of_sample_table;
use super::rank::strategy_table;
use super::{Table, number};
use crate::metrics::pbo::Pbo;
use crate::query::rank::{By, StrategyRank};
use crate::query::sweep::OutOfSample;

/// What `demo` prints (`--format json`).
#[derive(Debug, Clone, Serialize)]
pub struct DemoReport {
    pub documents: usize,
    pub runs_folder: PathBuf,
    pub recorded: u64,
    pub already_present: u64,
    pub failed: u64,
    pub ranking_dataset: String,
    pub ranking: Vec<StrategyRank>,
    pub out_of_sample: Vec<(String, OutOfSample)>,
    /// Each strategy's probability of backtest overfitting on the ranking's data set.
    pub overfitting: Vec<(String, Pbo)>,
    pub pbo_partitions: usize,
    pub heatmap: PathBuf,
}

impl DemoReport {
    /// The ranking, the out-of-sample summary per strategy, and momentum's detail.
    pub fn tables(&self) -> Vec<Table> {
        let report = self;
        let mut ranking = strategy_table(&report.ranking, By::Best, "sharpe");
        ranking.note(format!(
            "strategies on {} by their best Sharpe ratio; `deflated` is the probability that the \
         best beats what its number of trials would reach by luck",
            report.ranking_dataset
        ));
        let mut summary = Table::new([
            "strategy",
            "parameter sets",
            "spearman in/out",
            "in-sample winner",
            "its rank out of sample",
            "PBO",
        ]);
        for (strategy, check) in &report.out_of_sample {
            let pbo = report
                .overfitting
                .iter()
                .find(|(s, _)| s == strategy)
                .map_or_else(|| "-".to_owned(), |(_, p)| number(p.probability));
            summary.push(vec![
                strategy.clone(),
                check.parameter_sets.to_string(),
                check.spearman.map_or_else(|| "-".to_owned(), number),
                check
                    .winner
                    .as_ref()
                    .map_or_else(|| "-".to_owned(), |w| w.params.to_string()),
                check.winner.as_ref().map_or_else(
                    || "-".to_owned(),
                    |w| {
                        format!(
                            "{} of {}",
                            number(w.out_of_sample_rank),
                            check.parameter_sets
                        )
                    },
                ),
                pbo,
            ]);
        }
        summary.note(
            "in-sample ranks that hold out of sample have a Spearman correlation near 1; near 0 or \
         below, the in-sample winner was luck",
        );
        summary.note(format!(
            "PBO: the probability of backtest overfitting on {}, the share of {} \
             cross-validation splits of its curves whose in-sample best ranked at or below the \
             median out of sample (docs/metrics.md)",
            report.ranking_dataset,
            report
                .overfitting
                .first()
                .map_or(0, |(_, p)| p.combinations)
        ));
        let mut out = vec![ranking, summary];
        if let Some((strategy, check)) = report.out_of_sample.iter().find(|(s, _)| s == "momentum")
        {
            let mut detail = out_of_sample_table(check, "sharpe");
            detail.note(format!(
                "({strategy}, parameter sets by in-sample Sharpe ratio)"
            ));
            out.push(detail);
        }
        out
    }
}
