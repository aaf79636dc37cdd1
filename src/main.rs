//! The `nrledger` command: parse arguments, run, print the error chain, exit 0 (done), 1 (done, but
//! records were rejected or findings remain), 2 (failure).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
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
