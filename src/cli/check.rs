//! `nrledger check`: find what is wrong in the registry.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use nrledger::catalog::Catalog;
use nrledger::checks::{self, CheckReport, Context, Exceptions, RuleConfig, Severity};
use nrledger::io::export::{self, Column, Table};
use nrledger::model::{AsOf, FieldType, Value};
use nrledger::store::{CheckRun, FindingRow};
use nrledger::Registry;

use super::Format;

/// Check the registry on a date: overlaps, gaps, invalid geometry, duplicate ids, declared areas and area
/// arithmetic, control lines that overlap, land uses red lines forbid, unit/red-line links.
///
/// Prints a per-rule summary (count, area in m² and 亩); --format json prints the whole report; --out writes
/// the finding pieces (the overlap, the gap, the violating piece) as a GeoJSON or GeoPackage layer.
/// Exit status: 0 no finding at error severity, 1 findings at error severity, 2 failure.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Registry file.
    registry: PathBuf,
    /// The date to check (default: current records).
    #[arg(long, value_parser = super::date_arg)]
    as_of: Option<AsOf>,
    /// Limit to a region: admin code prefix (e.g. 330523), whose outline is used for the gap check.
    #[arg(long)]
    region: Option<String>,
    /// Stream a province: check one county (6-digit admin outline, under --region if given) at a time, so
    /// memory follows the largest county. Prints a line per county on stderr; the findings are those of
    /// one whole check (gaps cut at county borders).
    #[arg(long)]
    by_county: bool,
    /// Folder with checks.toml and/or redline-landuse.csv replacing the embedded rules.
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Allow-list of accepted findings (TOML, `[[exception]]` tables).
    #[arg(long)]
    exceptions: Option<PathBuf>,
    /// Run only these rules (codes or names, comma-separated).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    /// Write finding geometries to this file (.geojson or .gpkg).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Keep the run and its findings in the registry (nr_check_runs, nr_findings): the service's
    /// `findings` collection shows the latest stored run.
    #[arg(long)]
    store: bool,
}

pub fn run(a: Args, catalog: Catalog) -> anyhow::Result<ExitCode> {
    let reg = Registry::open(&a.registry, catalog)?;
    let config = RuleConfig::load(a.rules.as_deref())?;
    // the file's exceptions, and those granted in the registry (by reviewers, in the service)
    let exceptions = match &a.exceptions {
        Some(p) => Exceptions::load(p)?,
        None => Exceptions::default(),
    }
    .with_granted(&reg)?;
    let (findings, vintages, notes, counties, config) = if a.by_county {
        let s =
            checks::by_county::run(&reg, a.as_of, a.region.as_deref(), &config, &exceptions, &a.only, |c, secs| {
                eprintln!(
                    "county {} {}: {} record(s) in the window, {} finding(s){}, {secs:.1} s",
                    c.code,
                    c.name,
                    c.records,
                    c.findings,
                    if c.shared > 0 {
                        format!(" (+{} already reported by a neighbour)", c.shared)
                    } else {
                        String::new()
                    }
                )
            })?;
        (s.findings, s.vintages, s.notes, s.counties, config)
    } else {
        let needs = checks::layers_needed(&a.only, &config)?;
        let ctx = Context::load(&reg, a.as_of, a.region.as_deref(), config, exceptions, &needs)?;
        let findings = checks::run_all(&ctx, &a.only)?;
        let out = (findings, ctx.vintages.clone(), ctx.notes(), vec![], ctx.config.clone());
        // the loaded layers go with the process, which ends after the report: freeing a million records one
        // by one took a tenth of a whole-registry check (perf: drop_in_place<StoredRecord>, mi_free)
        std::mem::forget(ctx);
        out
    };
    let ran: Vec<(String, String)> =
        checks::selected(&a.only)?.iter().map(|c| (c.code().to_string(), c.name().to_string())).collect();
    let report = CheckReport {
        registry: a.registry.display().to_string(),
        as_of: a.as_of.map(|d| d.to_string()),
        region: a.region.clone(),
        vintages: vintages.iter().map(|(k, v)| (k.name().to_string(), v.clone())).collect(),
        rules_source: config.source.clone(),
        tolerances: config
            .all()
            .iter()
            .filter(|(k, _)| ran.iter().any(|(c, _)| c == *k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<BTreeMap<_, _>>(),
        summary: checks::summarise(&findings, &ran),
        notes,
        findings,
        counties,
        tool_version: env!("CARGO_PKG_VERSION").into(),
    };
    if let Some(out) = &a.out {
        let n = write_layer(&report, out, &reg.crs)?;
        eprintln!("wrote {n} finding geometr(ies) to {}", out.display());
    }
    if a.store {
        let (run, rows) = stored(&report, &ran);
        let id = reg.store_check_run(&run, &rows)?;
        eprintln!("stored check run {id} ({} finding(s)) in {}", rows.len(), a.registry.display());
    }
    if a.format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_text(&report);
    }
    let errors = report.findings.iter().any(|f| f.severity == Severity::Error);
    Ok(if errors { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// A report as the registry keeps it: the run (its vintages, tolerances, summary and notes as JSON) and
/// its findings.
fn stored(r: &CheckReport, ran: &[(String, String)]) -> (CheckRun, Vec<FindingRow>) {
    let report = serde_json::json!({
        "vintages": r.vintages, "tolerances": r.tolerances, "summary": r.summary, "notes": r.notes,
    });
    let run = CheckRun {
        run_id: 0,
        ran_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        as_of: r.as_of.clone(),
        region: r.region.clone(),
        rules: ran.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>().join(";"),
        rules_source: r.rules_source.clone(),
        report: report.to_string(),
        user: std::env::var("USER").unwrap_or_else(|_| "unknown".into()),
        tool_version: r.tool_version.clone(),
        findings: r.findings.len() as i64,
    };
    let rows = r
        .findings
        .iter()
        .map(|f| FindingRow {
            fid: 0,
            rule: f.rule.clone(),
            name: f.name.clone(),
            severity: format!("{:?}", f.severity).to_lowercase(),
            class: format!("{:?}", f.class).to_lowercase(),
            layers: f.layers.iter().map(|l| l.name()).collect::<Vec<_>>().join(";"),
            ids: f.ids.join(";"),
            fids: f.fids.iter().map(i64::to_string).collect::<Vec<_>>().join(";"),
            area_m2: (f.area_m2.0 * 100.0).round() / 100.0,
            message: f.message.clone(),
            excepted_by: f.excepted_by.clone(),
            geometry: f.geometry.clone(),
        })
        .collect();
    (run, rows)
}

pub(super) fn print_text(r: &CheckReport) {
    println!(
        "check of {}{}{} — vintages: {}",
        r.registry,
        r.as_of.as_deref().map(|d| format!(" as of {d}")).unwrap_or_default(),
        r.region.as_deref().map(|c| format!(" in region {c}")).unwrap_or_default(),
        r.vintages.iter().filter_map(|(k, v)| v.as_ref().map(|v| format!("{k} {v}"))).collect::<Vec<_>>().join(", ")
    );
    println!(
        "{:<6} {:<26} {:>6} {:>8} {:>6} {:>16} {:>12}",
        "rule", "name", "errors", "warnings", "info", "area m²", "亩"
    );
    for s in &r.summary {
        println!(
            "{:<6} {:<26} {:>6} {:>8} {:>6} {:>16.2} {:>12.2}",
            s.rule, s.name, s.errors, s.warnings, s.info, s.area_m2.0, s.area_mu
        );
    }
    for n in &r.notes {
        println!("note: {n}");
    }
    let shown: Vec<_> = r.findings.iter().filter(|f| f.severity > Severity::Info).collect();
    for f in &shown {
        println!("{} {:<7} {}", f.rule, format!("{:?}", f.severity).to_lowercase(), f.message);
    }
    let hidden = r.findings.len() - shown.len();
    if hidden > 0 {
        println!("{hidden} info finding(s) (slivers, excepted findings) not listed: see --format json or --out");
    }
}

pub(super) fn write_layer(
    r: &CheckReport,
    out: &std::path::Path,
    crs: &nrledger::crs::CrsInfo,
) -> anyhow::Result<usize> {
    let cols = [
        ("rule", FieldType::Text),
        ("name", FieldType::Text),
        ("severity", FieldType::Text),
        ("class", FieldType::Text),
        ("layers", FieldType::Text),
        ("ids", FieldType::Text),
        ("fids", FieldType::Text),
        ("area_m2", FieldType::Real),
        ("area_mu", FieldType::Real),
        ("message", FieldType::Text),
        ("excepted", FieldType::Text),
        ("as_of", FieldType::Text),
        ("vintages", FieldType::Text),
        ("tolerance", FieldType::Text),
    ];
    let vintages = serde_json::to_string(&r.vintages)?;
    let rows = r
        .findings
        .iter()
        .filter_map(|f| {
            let g = f.geometry.clone()?;
            let tol =
                r.tolerances.get(&f.rule).map(|t| serde_json::to_string(t).unwrap_or_default()).unwrap_or_default();
            Some((
                geo::Geometry::MultiPolygon(g),
                vec![
                    Value::Text(f.rule.clone()),
                    Value::Text(f.name.clone()),
                    Value::Text(format!("{:?}", f.severity).to_lowercase()),
                    Value::Text(format!("{:?}", f.class).to_lowercase()),
                    Value::Text(f.layers.iter().map(|l| l.name()).collect::<Vec<_>>().join(";")),
                    Value::Text(f.ids.join(";")),
                    Value::Text(f.fids.iter().map(i64::to_string).collect::<Vec<_>>().join(";")),
                    Value::Real((f.area_m2.0 * 100.0).round() / 100.0),
                    Value::Real((f.area_m2.mu() * 100.0).round() / 100.0),
                    Value::Text(f.message.clone()),
                    f.excepted_by.clone().map(Value::Text).unwrap_or(Value::Null),
                    r.as_of.clone().map(Value::Text).unwrap_or(Value::Null),
                    Value::Text(vintages.clone()),
                    Value::Text(tol),
                ],
            ))
        })
        .collect();
    let table = Table {
        name: "findings",
        columns: cols.iter().map(|(n, t)| Column { name: n.to_string(), field_type: *t }).collect(),
        rows,
    };
    Ok(export::write(&table, out, &crs.definition, &crs.geographic)?)
}

/// Write the exceptions granted in the registry (by reviewers, in `nrledger serve`) as an exceptions file:
/// TOML `[[exception]]` tables, the form `check --exceptions` reads (expired ones included: they are the
/// record; a check ignores them after their day).
#[derive(Debug, clap::Args)]
pub struct ExceptionsArgs {
    /// Registry file.
    registry: PathBuf,
    /// Write to this file (refused if it exists) instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn exceptions(a: ExceptionsArgs, catalog: Catalog) -> anyhow::Result<ExitCode> {
    let reg = Registry::open(&a.registry, catalog)?;
    let text = Exceptions::default().with_granted(&reg)?.to_toml()?;
    match &a.out {
        Some(p) => {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(p)
                .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
            std::io::Write::write_all(&mut f, text.as_bytes())?;
            eprintln!("wrote {}", p.display());
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
