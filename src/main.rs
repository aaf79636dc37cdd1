//! The `nrledger` command: parse arguments, run, print the error chain, exit 0 (done), 1 (done, but
//! records were rejected or findings remain), 2 (failure).

use std::process::ExitCode;

use clap::Parser;

/// mimalloc: the parallel geometry work allocates many small vectors from every thread, where glibc's
/// allocator serialises on its arena locks (seen in profiles of the balance sheet).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    nrledger::process::prepare();
    let cli = nrledger_cli::Cli::parse();
    match nrledger_cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(2)
        }
    }
}

#[path = "cli/mod.rs"]
mod nrledger_cli;
