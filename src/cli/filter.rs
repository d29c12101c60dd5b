//! The run filters that `runs`, `rank` and `compare` share.

use anyhow::Result;

use crate::query::filter::RunFilter;
use crate::query::where_parse;

#[derive(Debug, Clone, clap::Args)]
pub struct FilterArgs {
    /// Only runs on this data set.
    #[arg(long, value_name = "NAME")]
    pub dataset: Option<String>,

    /// Only runs of this sweep.
    #[arg(long, value_name = "NAME")]
    pub sweep: Option<String>,

    /// Only runs carrying this tag; repeat it for runs carrying every one.
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,

    /// Only runs meeting a condition on metrics and parameters, e.g.
    /// 'sharpe > 1 and params.fast = 10 and n_trades >= 30'. Operators: = != < <= > >=, and,
    /// or, not, parentheses; values: numbers, 'text', true, false. Metric conditions match
    /// completed runs.
    #[arg(long = "where", value_name = "EXPR")]
    pub condition: Option<String>,
}

impl FilterArgs {
    /// The filter, with `--where` parsed (a syntax error names the column and token).
    pub fn to_filter(&self, strategy: Option<String>) -> Result<RunFilter> {
        let condition = self
            .condition
            .as_deref()
            .map(where_parse::parse)
            .transpose()?;
        Ok(RunFilter {
            strategy,
            dataset: self.dataset.clone(),
            sweep: self.sweep.clone(),
            tags: self.tags.clone(),
            condition,
        })
    }
}
