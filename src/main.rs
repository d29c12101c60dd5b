//! The `btdb` binary: parse arguments, set up tracing, run, map the outcome to an exit code.

use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;

use btdb::cli::{self, Cli};
use clap::Parser;
use tracing_subscriber::EnvFilter;

// Decoding a listing allocates a few small values per field; glibc's malloc and free took a
// quarter of streaming a million runs (BENCHMARKS.md, "Runs into DataFrames").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(
            cli.global
                .log_filter(matches!(cli.command, cli::Command::Serve(_))),
        )
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(cli.global.color.enabled(
            std::io::stderr().is_terminal(),
            std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
        ))
        .init();
    // A command is one chain of queries: on one thread, each message of the server reaches
    // the query that waits for it without a hand-over between threads (a 1,000-run listing:
    // 10.8 ms instead of 14.0, BENCHMARKS.md). `serve` answers many requests at once on every
    // core.
    let runtime = if matches!(cli.command, cli::Command::Serve(_)) {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    }
    .enable_all()
    .build();
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Server errors carry DETAIL and HINT lines; an error message stays on one line.
            let message = format!("{e:#}");
            // stderr may be a closed pipe too (`2>&1 | head`): nothing left to tell then.
            let _ = writeln!(
                std::io::stderr(),
                "error: {}",
                message.split_whitespace().collect::<Vec<_>>().join(" ")
            );
            ExitCode::FAILURE
        }
    }
}
