//! `nrledger inspect`: check a delivery before accepting it (质检), writing nothing but the report.

use std::path::PathBuf;
use std::process::ExitCode;

use nrledger::catalog::Catalog;
use nrledger::checks::RuleConfig;
use nrledger::inspect::{self, InspectRequest};
use nrledger::io::source::SourceRequest;

use super::Format;

/// Check a delivery before it is accepted (质检): every problem of the file in one go — field and code
/// errors, invalid geometry, duplicate keys, a CRS that cannot be right, and the rules that need no
/// registry (overlaps between its records, gaps against --outline, declared areas, deduction arithmetic).
///
/// Nothing is written but the report: the file goes through the import and the check rules exactly as it
/// would into a registry, in a throw-away registry that is removed afterwards. --out writes every problem
/// and finding with its geometry (rejected records as rule IMPORT) as a GeoJSON or GeoPackage layer.
/// Exit status: 0 the delivery would be accepted as it is, 1 it has problems, 2 failure.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    delivery: super::Delivery,
    /// Projected CRS to measure in (default: the source's own when projected, else the CGCS2000 3°
    /// Gauss-Krüger zone of its centre).
    #[arg(long)]
    crs: Option<String>,
    /// An outline (admin boundary file) to check coverage gaps against.
    #[arg(long)]
    outline: Option<PathBuf>,
    /// Layer of the outline file, when it has several.
    #[arg(long, requires = "outline")]
    outline_layer: Option<String>,
    /// Folder with checks.toml and/or redline-landuse.csv replacing the embedded rules.
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    /// Write the problems and findings with their geometry to this file (.geojson or .gpkg).
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn run(a: Args, catalog: Catalog) -> anyhow::Result<ExitCode> {
    let req = InspectRequest {
        source: a.delivery.request(false),
        layer: a.delivery.layer,
        profile: a.delivery.profile.clone(),
        src_crs: a.delivery.src_crs.clone(),
        crs: a.crs,
        outline: a.outline.map(|p| SourceRequest { path: p, layer: a.outline_layer, ..Default::default() }),
        rules: RuleConfig::load(a.rules.as_deref())?,
    };
    let report = inspect::run(&req, catalog)?;
    if let Some(out) = &a.out {
        let crs = nrledger::crs::describe(&report.crs)?;
        let n = super::check::write_layer(&report.check, out, &crs)?;
        eprintln!("wrote {n} problem and finding geometr(ies) to {}", out.display());
    }
    if a.format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let i = &report.import;
        println!(
            "inspection of {} as {} (profile {}, encoding {}, CRS {}; measured in {})",
            report.source,
            report.layer,
            i.profile,
            i.encoding,
            i.source_crs.chars().take(60).collect::<String>(),
            report.crs
        );
        let rejected = i.problems.iter().map(|p| p.feature_index).collect::<std::collections::BTreeSet<_>>().len();
        println!("{} feature(s) read, {rejected} would be rejected ({} problem(s)):", i.read, i.problems.len());
        for p in &i.problems {
            println!("  {p}");
        }
        // the rejected records are listed above with their file, layer and fid
        let mut rules = report.check.clone();
        rules.findings.retain(|f| f.rule != "IMPORT");
        super::check::print_text(&rules);
        println!(
            "{}",
            if report.clean() {
                "the delivery would be accepted as it is"
            } else {
                "the delivery has problems: see above"
            }
        );
    }
    Ok(if report.clean() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
