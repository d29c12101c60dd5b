//! `btdb help [COMMAND]…`: the help of btdb or of one of its subcommands. btdb's own rather
//! than clap's, so that `btdb help --help` answers like every other subcommand.

use anyhow::{Result, bail};
use clap::CommandFactory;

use super::Cli;
use crate::query::suggest;
use crate::report;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The subcommand to explain, e.g. `rank` or `db migrate`; none for btdb's own help.
    #[arg(value_name = "COMMAND")]
    pub command: Vec<String>,
}

pub async fn run(args: Args) -> Result<()> {
    let mut command = Cli::command();
    // Building names every subcommand's usage line after its parents (`btdb db migrate`).
    command.build();
    let mut current = &mut command;
    for name in &args.command {
        let known: Vec<String> = current
            .get_subcommands()
            .map(|c| c.get_name().to_owned())
            .collect();
        let path = current.get_bin_name().unwrap_or("btdb").to_owned();
        match current.find_subcommand_mut(name) {
            Some(sub) => current = sub,
            None => bail!(
                "`{path}` has no subcommand `{name}`{}",
                suggest::hint(name, &known)
            ),
        }
    }
    report::print(&current.render_long_help().to_string())
}
