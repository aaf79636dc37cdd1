//! `nrledger user`: the registry's accounts and roles (用户与角色). The command line is where the first admin
//! comes from: there is no default account and no default password.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

use nrledger::catalog::Catalog;
use nrledger::store::{Account, Actor, Password, Role};
use nrledger::Registry;

use super::Format;

/// Add, list, disable and change the registry's accounts. A password is read from the terminal (typed twice,
/// not shown) or, when standard input is not a terminal, as its first line; never from the command line.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    op: Op,
}

#[derive(Debug, clap::Subcommand)]
enum Op {
    /// Add an account with a role (admin, registrar, reviewer, auditor, viewer).
    Add {
        /// Registry file.
        registry: PathBuf,
        /// Login name: 2 to 32 lower-case letters, digits, '.', '_' or '-'.
        name: String,
        /// Role.
        #[arg(long)]
        role: String,
        /// The person's full name (姓名).
        #[arg(long)]
        full_name: String,
    },
    /// List the accounts (never their passwords).
    List {
        /// Registry file.
        registry: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Disable an account: it can no longer log in, and its sessions end.
    Disable {
        /// Registry file.
        registry: PathBuf,
        /// Login name.
        name: String,
    },
    /// Enable a disabled account again.
    Enable {
        /// Registry file.
        registry: PathBuf,
        /// Login name.
        name: String,
    },
    /// Set an account's password.
    Passwd {
        /// Registry file.
        registry: PathBuf,
        /// Login name.
        name: String,
    },
    /// Give an account another role.
    Role {
        /// Registry file.
        registry: PathBuf,
        /// Login name.
        name: String,
        /// The new role.
        role: String,
    },
}

pub fn run(a: Args, catalog: Catalog) -> anyhow::Result<ExitCode> {
    let by = Actor::command_line();
    let changed = match a.op {
        Op::Add { registry, name, role, full_name } => {
            let role: Role = role.parse()?;
            let reg = Registry::open(&registry, catalog)?;
            let password = read_password(&name)?;
            reg.add_account(&name, &full_name, role, &password, &by)?
        }
        Op::List { registry, format } => {
            let reg = Registry::open(&registry, catalog)?;
            list(&reg.accounts()?, format)?;
            return Ok(ExitCode::SUCCESS);
        }
        Op::Disable { registry, name } => Registry::open(&registry, catalog)?.disable_account(&name, &by)?,
        Op::Enable { registry, name } => Registry::open(&registry, catalog)?.enable_account(&name, &by)?,
        Op::Passwd { registry, name } => {
            let reg = Registry::open(&registry, catalog)?;
            if reg.account(&name)?.is_none() {
                anyhow::bail!("account {name}: no such account");
            }
            let password = read_password(&name)?;
            reg.set_password(&name, &password, &by)?
        }
        Op::Role { registry, name, role } => Registry::open(&registry, catalog)?.set_role(&name, role.parse()?, &by)?,
    };
    println!("{}", line(&changed));
    Ok(ExitCode::SUCCESS)
}

fn line(a: &Account) -> String {
    let state = match &a.disabled_at {
        Some(at) => format!("disabled since {at}"),
        None => "enabled".into(),
    };
    format!("{:<16} {:<10} {:<5} {:<12} {state}", a.name, a.role.name(), a.role.title(), a.full_name)
}

fn list(accounts: &[Account], format: Format) -> anyhow::Result<()> {
    if format == Format::Json {
        println!("{}", serde_json::to_string_pretty(accounts)?);
        return Ok(());
    }
    if accounts.is_empty() {
        println!(
            "no accounts: add the first admin with `nrledger user add REGISTRY NAME --role admin --full-name NAME`"
        );
    }
    for a in accounts {
        println!("{}", line(a));
    }
    Ok(())
}

/// The new password of account `name`: typed twice at the terminal, or the first line of standard input.
pub(super) fn read_password(name: &str) -> anyhow::Result<Password> {
    let text = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("password for {name}: "))?;
        let again = rpassword::prompt_password("the same password again: ")?;
        if first != again {
            anyhow::bail!("account {name}: the two passwords differ; nothing was changed");
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\n', '\r']).to_string()
    };
    Ok(Password::new(text, name)?)
}
