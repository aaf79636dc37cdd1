//! `nrledger schemas`: write the JSON Schemas generated from the code.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use nrledger::catalog::Catalog;

/// Write the JSON Schemas of every layer record, the catalog files and the JSON outputs into a folder
/// (the committed copies live in `schemas/`).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output folder.
    #[arg(long, default_value = "schemas")]
    out: PathBuf,
}

pub fn run(a: Args, catalog: Catalog) -> anyhow::Result<ExitCode> {
    for (rel, text) in nrledger::schemas::all(&catalog) {
        let path = a.out.join(&rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
