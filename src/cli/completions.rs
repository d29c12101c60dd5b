//! `btdb completions SHELL`: the completion script of a shell, on standard output.

use anyhow::Result;
use clap::CommandFactory;
use clap_complete::Shell;

use super::Cli;
use crate::report;

#[derive(Debug, clap::Args)]
#[command(after_help = "Install, e.g.:\n  \
    bash: btdb completions bash > ~/.local/share/bash-completion/completions/btdb\n  \
    zsh:  btdb completions zsh > ~/.zfunc/_btdb   (with fpath+=(~/.zfunc) in ~/.zshrc)\n  \
    fish: btdb completions fish > ~/.config/fish/completions/btdb.fish")]
pub struct Args {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

pub async fn run(args: Args) -> Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "btdb", &mut script);
    report::print(&String::from_utf8_lossy(&script))
}
