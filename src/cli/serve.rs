//! `nrledger serve` and `nrledger backup`: the registry as a shared service, and a consistent copy of it
//! taken while it serves.

use std::path::PathBuf;
use std::process::ExitCode;

use nrledger::catalog::Catalog;
use nrledger::Registry;

/// Serve the registry to the bureau: OGC API – Features (for QGIS, GDAL, a browser) at --listen, until
/// SIGTERM or Ctrl-C. Once the registry has an account, callers sign in: a browser at /login, QGIS and GDAL
/// with HTTP Basic credentials. Imports and registrations from the command line may go on while it serves: each
/// request reads one committed state. The registry is switched to SQLite's WAL mode (kept in the file).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Registry file.
    registry: PathBuf,
    /// Address and port to listen on (port 0: a free port, printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: std::net::SocketAddr,
    /// The URL clients reach the server by, when it runs behind a reverse proxy (e.g. https://gis.example.gov.cn/nrledger).
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// Requests answered at once (read connections); more wait their turn.
    #[arg(long, default_value_t = 8)]
    readers: usize,
    /// Seconds after which an unanswered request is given up (503).
    #[arg(long, default_value_t = 30)]
    timeout: u64,
    /// Collections anyone may read without signing in (read-only), e.g. `--public redlines,parcels`; the
    /// rest, the map and every page need an account once the registry has one.
    #[arg(long, value_delimiter = ',', value_name = "COLLECTION,...")]
    public: Vec<String>,
    /// Minutes after which a browser session without a request ends.
    #[arg(long, default_value_t = 30, value_name = "MINUTES")]
    idle_minutes: u64,
    /// Folder where report jobs (balance sheets, audit reports, check runs asked for in the browser) keep
    /// their inputs and results (default: beside the registry, NAME.jobs).
    #[arg(long, value_name = "DIR")]
    jobs_dir: Option<PathBuf>,
    /// Report jobs run at once; the others wait their turn.
    #[arg(long, default_value_t = 2, value_name = "N")]
    job_workers: usize,
}

pub fn run(a: Args, catalog: Catalog) -> anyhow::Result<ExitCode> {
    if let Some(url) = &a.public_url {
        anyhow::ensure!(
            url.starts_with("http://") || url.starts_with("https://"),
            "--public-url '{url}' must start with http:// or https://"
        );
    }
    let opts = nrledger::serve::Options {
        listen: a.listen,
        public_url: a.public_url,
        readers: a.readers,
        timeout: std::time::Duration::from_secs(a.timeout.max(1)),
        public: a.public,
        idle: std::time::Duration::from_secs(a.idle_minutes.max(1) * 60),
        jobs_dir: a.jobs_dir,
        workers: a.job_workers.max(1),
    };
    nrledger::serve::run(&a.registry, catalog, opts)?;
    Ok(ExitCode::SUCCESS)
}

/// Copy the registry to DEST while it is in use (a server reading it, an import writing it): one committed
/// state, verified (PRAGMA integrity_check) and recorded with its SHA-256 in DEST.sha256.
#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// Registry file.
    registry: PathBuf,
    /// The copy to write (refused if it exists).
    dest: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: super::Format,
}

pub fn backup(a: BackupArgs, catalog: Catalog) -> anyhow::Result<ExitCode> {
    let reg = Registry::open(&a.registry, catalog)?;
    let report = reg.backup(&a.dest)?;
    if a.format == super::Format::Json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    let dest = a.dest.display();
    println!("backed up {} to {dest}", a.registry.display());
    println!(
        "  {} bytes, {} pages, integrity check: {}, latest import: {}",
        report.bytes, report.pages, report.integrity, report.last_import
    );
    println!("  SHA-256 {} (recorded in {dest}.sha256)", report.sha256);
    println!("to restore: stop the server, check the copy, put it in place and remove the old write-ahead log:");
    println!(
        "  sha256sum -c {dest}.sha256 && cp {dest} {reg} && rm -f {reg}-wal {reg}-shm",
        reg = a.registry.display()
    );
    Ok(ExitCode::SUCCESS)
}
