//! `nrledger import`: load a source into a layer as a vintage.

use std::path::PathBuf;
use std::process::ExitCode;

use nrledger::catalog::Catalog;
use nrledger::import::{self, ImportRequest};
use nrledger::model::AsOf;
use nrledger::progress::Progress;
use nrledger::Registry;

use super::Format;

/// Import a vector source (GeoJSON, Shapefile, GeoPackage, FileGDB, … anything GDAL reads) into a layer as
/// the vintage of --as-of.
///
/// Every record is validated against the layer definition and classification tables. By default the
/// import is atomic: one bad record and nothing is written, with every problem listed. --keep-going writes
/// the valid records and keeps the rejects, with reasons, in the registry's `rejects` layer.
/// Exit status: 0 all stored, 1 records rejected, 2 failure.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Registry file.
    registry: PathBuf,
    #[command(flatten)]
    delivery: super::Delivery,
    /// The date this vintage describes (YYYY-MM-DD).
    #[arg(long, value_parser = super::date_arg)]
    as_of: AsOf,
    /// Write the valid records and keep the rejects instead of refusing the whole import. A rejected
    /// record's stored predecessor stays open (it is not closed as missing).
    #[arg(long)]
    keep_going: bool,
    /// With --keep-going: the largest share of the source's records, in percent, that may be rejected;
    /// above it nothing is written. An import that rejects every record never writes anything.
    #[arg(long, value_name = "PERCENT", default_value_t = 5.0, value_parser = super::percent_arg)]
    max_rejected: f64,
    /// Accept a vintage date after today.
    #[arg(long)]
    force: bool,
    /// Repair invalid polygons with GEOS MakeValid instead of rejecting them.
    #[arg(long)]
    make_valid: bool,
    /// Registrar recorded on registration events (default: $USER).
    #[arg(long)]
    registrar: Option<String>,
    /// Reason recorded on registration events.
    #[arg(long)]
    reason: Option<String>,
    /// This vintage corrects errors: changed units are recorded as 更正登记, not 变更登记.
    #[arg(long)]
    correction: bool,
    /// Import one county of a layer delivered county by county (CODE: the county code, e.g. 330523): only
    /// the records whose scope field (ZLDWDM for parcels, XZQDM for zones and forest stands, else the key;
    /// `scope_field` in the layer definition) starts with CODE are compared with the source and closed; a
    /// source record outside it is refused. Each scope keeps its own vintages in date order.
    #[arg(long)]
    scope: Option<String>,
    /// Output format of the report.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

pub fn run(a: Args, catalog: Catalog) -> anyhow::Result<ExitCode> {
    let mut reg = Registry::open(&a.registry, catalog)?;
    let d = &a.delivery;
    let req = ImportRequest {
        profile: d.profile.clone(),
        src_crs: d.src_crs.clone(),
        keep_going: a.keep_going,
        max_rejected_percent: a.max_rejected,
        force: a.force,
        reason: a.reason,
        correction: a.correction,
        scope: a.scope.clone(),
        ..ImportRequest::new(
            d.layer,
            d.request(a.make_valid),
            a.as_of,
            a.registrar.or_else(|| std::env::var("USER").ok()),
        )
    };
    let bar = Progress::new(0, "reading");
    let report = import::run(&mut reg, &req, &bar)?;
    bar.finish();
    if a.format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for p in &report.problems {
            eprintln!("{p}");
        }
        println!(
            "{}: read {} feature(s) from layer {} (encoding {}, CRS {})",
            a.delivery.source.display(),
            report.read,
            report.source_layer,
            report.encoding,
            report.source_crs.chars().take(60).collect::<String>()
        );
        if let Some(why) = &report.profile_picked {
            println!("{why}");
        }
        if report.repaired > 0 {
            println!("repaired {} invalid geometr(ies) with MakeValid", report.repaired);
        }
        match &report.outcome {
            Some(o) => {
                println!(
                    "{}{} as of {}: {} inserted, {} unchanged, {} closed, {} rejected, {} registration event(s) (import #{})",
                    a.delivery.layer, a.scope.as_deref().map(|s| format!(" (scope {s})")).unwrap_or_default(), a.as_of, o.inserted, o.unchanged, o.closed, o.rejected, o.events, o.import_id
                );
                if o.bookkeeping > 0 {
                    println!("{} unchanged record(s) took new bookkeeping values (kept in nr_bookkeeping, no new version)", o.bookkeeping);
                }
                if o.kept_open > 0 {
                    println!("{} stored record(s) kept open: their source records were rejected", o.kept_open);
                }
            }
            None if report.refused.is_some() => eprintln!("{}", report.refused.as_deref().unwrap_or_default()),
            None => eprintln!(
                "{} record(s) with {} problem(s); nothing was written (use --keep-going to write the valid records and keep the rejects)",
                report.problems.iter().map(|p| p.feature_index).collect::<std::collections::BTreeSet<_>>().len(),
                report.problems.len()
            ),
        }
    }
    Ok(if report.problems.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
