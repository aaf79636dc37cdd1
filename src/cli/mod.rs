//! Command-line interface: clap derive, one file per subcommand. Each subcommand turns its arguments into
//! a library call and prints the result as text or JSON; this is the only place that composes stages.

mod audit;
mod balance;
mod book;
mod check;
mod export;
mod gen;
mod import;
mod info;
mod init;
mod inspect;
mod patch;
mod query;
mod register;
mod schemas;
mod screen;
mod serve;
mod token;
mod user;
mod warn;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use nrledger::catalog::Catalog;

/// nrledger — natural-resource registry and asset balance sheets (自然资源登记与资产负债表).
#[derive(Debug, Parser)]
#[command(name = "nrledger", version, about, long_about = None)]
pub struct Cli {
    /// Folder overriding the embedded layer definitions, class tables and profiles (laid out like `layers/`).
    #[arg(long, global = true, value_name = "DIR")]
    layers: Option<PathBuf>,
    /// Seconds to wait for another process's write to the registry (an import, a registration) to finish.
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 30)]
    lock_wait: u64,
    #[command(subcommand)]
    command: Command,
}

/// Output format shared by all commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// Human-readable text.
    #[default]
    Text,
    /// JSON on stdout.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    Init(init::Args),
    Import(import::Args),
    Query(query::Args),
    Export(export::Args),
    Info(info::Args),
    Inspect(inspect::Args),
    Check(check::Args),
    Exceptions(check::ExceptionsArgs),
    Register(register::Args),
    History(register::HistoryArgs),
    Book(book::Args),
    Balance(balance::Args),
    Screen(screen::Args),
    Patch(patch::Args),
    Audit(audit::Args),
    Warn(warn::Args),
    Gen(gen::Args),
    Schemas(schemas::Args),
    Serve(serve::Args),
    Backup(serve::BackupArgs),
    User(user::Args),
    Token(token::Args),
}

/// Run a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    nrledger::store::set_lock_wait(cli.lock_wait);
    let catalog = match &cli.layers {
        Some(dir) => Catalog::with_overrides(dir)?,
        None => Catalog::embedded()?,
    };
    // a `--layer` argument names a kind before the catalog is read (it may define more kinds): one the
    // catalog does not define is refused here, before anything is opened
    if let Some(unknown) = nrledger::LayerKind::all().iter().find(|k| catalog.find_layer(**k).is_none()) {
        anyhow::bail!(
            "unknown layer '{unknown}'; layers are: {}",
            catalog.layers().iter().map(|d| d.kind.name()).collect::<Vec<_>>().join(", ")
        );
    }
    match cli.command {
        Command::Init(a) => init::run(a, catalog),
        Command::Import(a) => import::run(a, catalog),
        Command::Query(a) => query::run(a, catalog),
        Command::Export(a) => export::run(a, catalog),
        Command::Info(a) => info::run(a, catalog),
        Command::Inspect(a) => inspect::run(a, catalog),
        Command::Check(a) => check::run(a, catalog),
        Command::Exceptions(a) => check::exceptions(a, catalog),
        Command::Register(a) => register::run(a, catalog),
        Command::History(a) => register::history(a, catalog),
        Command::Book(a) => book::run(a, catalog),
        Command::Balance(a) => balance::run(a, catalog),
        Command::Screen(a) => screen::run(a, catalog),
        Command::Patch(a) => patch::run(a, catalog),
        Command::Audit(a) => audit::run(a, catalog),
        Command::Warn(a) => warn::run(a, catalog),
        Command::Gen(a) => gen::run(a),
        Command::Schemas(a) => schemas::run(a, catalog),
        Command::Serve(a) => serve::run(a, catalog),
        Command::Backup(a) => serve::backup(a, catalog),
        Command::User(a) => user::run(a, catalog),
        Command::Token(a) => token::run(a, catalog),
    }
}

/// The tabular inputs and rules folder a balance sheet (and an audit, which draws one) reads.
#[derive(Debug, clap::Args)]
pub struct SheetInputs {
    /// Forest changes (CSV or Parquet, schemas/forest-changes.tableschema.json): growth, afforestation,
    /// harvest, disaster.
    #[arg(long)]
    forest_changes: Option<PathBuf>,
    #[command(flatten)]
    units: UnitInputs,
}

/// The inputs read by region code for each unit judged (a sheet's region, a warning's townships), and the
/// rules folder.
#[derive(Debug, clap::Args)]
pub struct UnitInputs {
    /// Water statistics (CSV or Parquet, schemas/water.tableschema.json), water-resources bulletin style.
    #[arg(long)]
    water: Option<PathBuf>,
    /// Livestock (CSV or Parquet, schemas/livestock.tableschema.json): 年末存栏 by kind, for the 草畜平衡.
    #[arg(long)]
    livestock: Option<PathBuf>,
    /// Folder replacing files of layers/rules (checks.toml, redline-landuse.csv, water-items.csv, liabilities.toml,
    /// grazing.toml, indicators.toml, warning.toml).
    #[arg(long)]
    rules: Option<PathBuf>,
}

/// Parse a `YYYY-MM-DD` argument.
/// Output format of a report command (`screen`, `warn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ReportFormat {
    Text,
    Json,
    Csv,
    Xlsx,
}

/// A report's bytes to its file, or to stdout without one.
fn emit(out: Option<&std::path::Path>, bytes: &[u8]) -> anyhow::Result<()> {
    match out {
        Some(p) => nrledger::io::output::write_file(p, bytes)?,
        None => std::io::Write::write_all(&mut std::io::stdout(), bytes)?,
    }
    Ok(())
}

fn date_arg(s: &str) -> Result<nrledger::model::AsOf, String> {
    nrledger::model::parse_date(s)
}

/// A delivery to read, as `import` and `inspect` take it: the file, the layer kind it is for, and how to
/// read it.
#[derive(Debug, clap::Args)]
pub struct Delivery {
    /// Source file (or FileGDB folder).
    source: PathBuf,
    /// Target layer: admin, units, parcels, redlines, farmland, urban, forest, or a kind defined in layers/kinds
    /// (approvals, supply, temporary, facility, mining).
    #[arg(long, value_parser = layer_arg)]
    layer: nrledger::LayerKind,
    /// Mapping profile name (sandiao-dltb, stbhhx, yjjbnt, czkfbj, zrzy-djdy, forest-xb, tianditu-county) or
    /// a profile file; default: the one profile of the layer that claims the source layer's name.
    #[arg(long)]
    profile: Option<String>,
    /// Source layer to read, when the source has several.
    #[arg(long)]
    src_layer: Option<String>,
    /// CRS of the source, when it declares none or declares a wrong one (GCJ02: coordinates from a Chinese
    /// web map, converted to WGS 84).
    #[arg(long)]
    src_crs: Option<String>,
    /// Attribute encoding of a Shapefile (GBK, CP936, UTF-8 …); default: .cpg, else detected.
    #[arg(long)]
    encoding: Option<String>,
}

impl Delivery {
    /// What to read, repairing invalid polygons when `make_valid`.
    fn request(&self, make_valid: bool) -> nrledger::io::source::SourceRequest {
        nrledger::io::source::SourceRequest {
            path: self.source.clone(),
            layer: self.src_layer.clone(),
            preferred: vec![],
            encoding: self.encoding.clone(),
            make_valid,
        }
    }
}

/// Parse a percentage argument (0 to 100).
fn percent_arg(s: &str) -> Result<f64, String> {
    match s.trim().trim_end_matches('%').parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => Ok(p),
        _ => Err(format!("'{s}' is not a percentage from 0 to 100")),
    }
}

/// Parse a layer-kind argument: a well-formed name (whether the catalog defines it is checked in [`run`],
/// once the catalog, which `--layers` may extend, is read).
fn layer_arg(s: &str) -> Result<nrledger::LayerKind, String> {
    nrledger::LayerKind::define(s)
}
