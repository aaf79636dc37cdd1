//! `nrledger token`: access tokens for scripts and GIS clients (`Authorization: Bearer …`), each acting for
//! one account with its role.

use std::path::PathBuf;
use std::process::ExitCode;

use nrledger::catalog::Catalog;
use nrledger::store::Actor;
use nrledger::Registry;

use super::Format;

/// Make, list and revoke access tokens. A token acts for its account (with the account's role, while the
/// account is enabled) until it expires or is revoked; it is shown once, when made, and only its hash is
/// kept. Give it to QGIS as an "API Header" (Authorization: Bearer TOKEN) or to GDAL as
/// GDAL_HTTP_HEADERS="Authorization: Bearer TOKEN".
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    op: Op,
}

#[derive(Debug, clap::Subcommand)]
enum Op {
    /// Make a token for an account; prints it (once).
    Add {
        /// Registry file.
        registry: PathBuf,
        /// The account it acts for.
        account: String,
        /// Where it is used (e.g. "QGIS, GIS office PC 3").
        #[arg(long)]
        label: String,
        /// Days it is valid (1 to 366).
        #[arg(long, default_value_t = 90)]
        days: u32,
    },
    /// List the tokens (never the tokens themselves).
    List {
        /// Registry file.
        registry: PathBuf,
        /// Only this account's.
        #[arg(long)]
        account: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Revoke a token: it is refused from now on.
    Revoke {
        /// Registry file.
        registry: PathBuf,
        /// The token's number (from `token list`).
        id: i64,
    },
}

pub fn run(a: Args, catalog: Catalog) -> anyhow::Result<ExitCode> {
    let by = Actor::command_line();
    match a.op {
        Op::Add { registry, account, label, days } => {
            let reg = Registry::open(&registry, catalog)?;
            let (id, token) = reg.add_token(&account, &label, days, &by)?;
            eprintln!("token #{id} for {account} ('{label}'), valid {days} days; it is shown only now:");
            println!("{token}");
        }
        Op::List { registry, account, format } => {
            let reg = Registry::open(&registry, catalog)?;
            let list = reg.tokens(account.as_deref())?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&list)?),
                Format::Text => {
                    for t in &list {
                        let state = match &t.revoked_at {
                            Some(at) => format!("revoked {at} by {}", t.revoked_by.as_deref().unwrap_or("")),
                            None => format!("valid until {}", t.expires),
                        };
                        println!("#{:<4} {:<16} {:<40} {state}", t.id, t.account, t.label);
                    }
                }
            }
        }
        Op::Revoke { registry, id } => {
            let reg = Registry::open(&registry, catalog)?;
            let t = reg.revoke_token(id, &by)?;
            println!("token #{id} of {} ('{}') revoked", t.account, t.label);
        }
    }
    Ok(ExitCode::SUCCESS)
}
