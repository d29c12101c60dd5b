//! `btdb gen`: deterministic benchmark data as JSON Lines.

use std::io::{BufWriter, Write};

use anyhow::Result;

use super::GlobalArgs;
use super::record::record_and_report;
use crate::ingest::RecordOptions;
use crate::report;
use crate::synth::{GenSpec, write_jsonl};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Runs to generate.
    #[arg(long, default_value_t = 1000)]
    pub runs: u64,
    /// Distinct strategies; runs cycle through them.
    #[arg(long, default_value_t = 10)]
    pub strategies: u64,
    /// Distinct parameter sets per strategy.
    #[arg(long, default_value_t = 100)]
    pub params: u64,
    /// Trades per run.
    #[arg(long, default_value_t = 50)]
    pub trades: u64,
    /// Equity points per run.
    #[arg(long, default_value_t = 500)]
    pub equity: u64,
    /// Supplied metrics per run, beside the computed ones.
    #[arg(long, default_value_t = 0)]
    pub metrics: u64,
    /// Distinct data sets.
    #[arg(long, default_value_t = 2)]
    pub datasets: u64,
    /// Seed: the same seed and shape give the same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Record the runs straight into the database instead, through the same path as
    /// `btdb record` (no file in between).
    #[arg(long)]
    pub record: bool,
    /// With --record: runs written at once (capped at --pool-size).
    #[arg(short, long, default_value_t = 2, requires = "record",
          value_parser = clap::value_parser!(u32).range(1..=256))]
    pub jobs: u32,
}

pub async fn run(args: Args, global: &GlobalArgs) -> Result<()> {
    let spec = GenSpec {
        runs: args.runs,
        strategies: args.strategies,
        params_per_strategy: args.params,
        trades_per_run: args.trades,
        equity_per_run: args.equity,
        extra_metrics: args.metrics,
        datasets: args.datasets,
        seed: args.seed,
    };
    if args.record {
        let options = RecordOptions {
            jobs: args.jobs as usize,
            fail_fast: false,
            sweep: None,
            max_document: 64 << 20,
            replace: false,
        };
        return record_and_report(vec![spec.into_input()], options, global).await;
    }
    // Standard output, or the file of the global -o, which appears once whole.
    let mut out = BufWriter::with_capacity(1 << 20, report::sink::Results);
    report::stdout_written(write_jsonl(&spec, &mut out).and_then(|()| out.flush()))
}
