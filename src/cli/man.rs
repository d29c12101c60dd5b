//! `btdb man`: the manual page (roff), on standard output.

use anyhow::Result;
use clap::CommandFactory;

use super::Cli;
use crate::report;

#[derive(Debug, clap::Args)]
#[command(after_help = "Read it with `btdb man | man -l -`, or install it:\n  \
    btdb man > ~/.local/share/man/man1/btdb.1")]
pub struct Args {}

pub async fn run(_args: Args) -> Result<()> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut page)?;
    report::print(&String::from_utf8_lossy(&page))
}
