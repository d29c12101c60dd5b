//! `btdb compare`: one strategy's parameter sweep, printed and with --plot drawn.

use anyhow::{Result, bail};

use super::GlobalArgs;
pub use crate::answers::compare::Args;
use crate::answers::compare::answer;
use crate::db::{Db, SchemaUse};
use crate::metrics::pbo::PboMetric;
use crate::report::{self, plot};

pub async fn run(args: Args, global: &GlobalArgs) -> Result<()> {
    if args.plot.is_some() && args.x.is_none() && !args.pbo {
        bail!("--plot draws a sweep by --x (and --y), or with --pbo its cross-validation: add one");
    }
    let db = Db::connect(&global.db_options(SchemaUse::Read)).await?;
    let output = answer(&args, &db).await?;
    if let Some(path) = &args.plot {
        let svg = match (&output.pbo, &output.pivot) {
            (Some(report), _) => plot::overfitting(
                &format!(
                    "{} on {}: probability of backtest overfitting {}",
                    args.strategy,
                    report.dataset,
                    report::number(report.pbo.probability)
                ),
                match args.pbo_metric {
                    PboMetric::Sharpe => "Sharpe ratio",
                    PboMetric::Mean => "mean return",
                },
                &report.pbo,
            )?,
            (None, Some(pivot)) => plot::sweep(&args.strategy, &args.metric, pivot, None)?,
            (None, None) => unreachable!("--plot needs --x or --pbo, checked above"),
        };
        plot::save(path, &svg)?;
    }
    report::emit(global.format, &output, || output.tables())
}
