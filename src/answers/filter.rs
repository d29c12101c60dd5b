//! The run filters that `runs`, `rank` and `compare` share, and the run selection of `delete`
//! and `export`.

use crate::db::Reader;
use anyhow::Result;

use crate::models::RunId;
use crate::query::filter::RunFilter;
use crate::query::selection::Selection;
use crate::query::where_parse;

#[derive(Debug, Clone, clap::Args)]
pub struct FilterArgs {
    /// Only runs on this data set.
    #[arg(long, value_name = "NAME")]
    pub dataset: Option<String>,

    /// Only runs of this sweep.
    #[arg(long, value_name = "NAME")]
    pub sweep: Option<String>,

    /// Only runs of this strategy version (exactly as recorded): of the strategy named, or of
    /// any strategy.
    #[arg(long, value_name = "VERSION")]
    pub strategy_version: Option<String>,

    /// Only runs carrying this tag; repeat it for runs carrying every one.
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,

    /// Only runs meeting a condition on metrics and parameters, e.g.
    /// 'sharpe > 1 and params.fast = 10 and n_trades >= 30'. Operators: = != < <= > >=, and,
    /// or, not, parentheses; values: numbers, 'text', true, false. Metric conditions match
    /// completed runs.
    #[arg(long = "where", value_name = "EXPR")]
    pub condition: Option<String>,

    /// Only runs whose note (`btdb note`) holds this text, in any case.
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
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
            version: self.strategy_version.clone(),
            dataset: self.dataset.clone(),
            sweep: self.sweep.clone(),
            tags: self.tags.clone(),
            condition,
            note: self.note.clone(),
        })
    }
}

/// Runs named by id or run_key, narrowed by the filters.
#[derive(Debug, Clone, clap::Args)]
pub struct SelectionArgs {
    /// Runs by id (the number `runs` and `rank` print); filters given as well narrow these.
    #[arg(value_name = "ID")]
    pub ids: Vec<RunId>,

    /// A run by its run_key; repeat it for several.
    #[arg(long = "key", value_name = "RUN_KEY")]
    pub keys: Vec<String>,

    /// Only runs of this strategy (name in any case, every version).
    #[arg(long, value_name = "NAME")]
    pub strategy: Option<String>,

    #[command(flatten)]
    pub filter: FilterArgs,
}

impl SelectionArgs {
    /// Whether anything narrows the selection: without, it is every run.
    pub fn selects(&self) -> bool {
        let f = &self.filter;
        !self.ids.is_empty()
            || !self.keys.is_empty()
            || self.strategy.is_some()
            || f.dataset.is_some()
            || f.sweep.is_some()
            || f.strategy_version.is_some()
            || f.note.is_some()
            || !f.tags.is_empty()
            || f.condition.is_some()
    }

    /// The selection, with `--where` parsed and the names looked up.
    pub async fn resolve(&self, reader: &mut Reader<'_>) -> Result<Selection> {
        let filter = self.filter.to_filter(self.strategy.clone())?;
        Ok(Selection {
            filter: filter.resolve(reader).await?,
            ids: self.ids.clone(),
            keys: self.keys.clone(),
        })
    }
}
