//! `btdb schema`: the JSON Schema of run document v1, for validators and editors.

use anyhow::Result;

use crate::document::JSON_SCHEMA;
use crate::report;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "The fields, rules and defaults are in docs/run-document.md; the \
    schema checks the shape, btdb checks the rest (decimal signs, time order, equity > 0) \
    when it records."
)]
pub struct Args {}

pub async fn run(_args: Args) -> Result<()> {
    report::print(JSON_SCHEMA)
}
