//! `nrledger audit`: the natural-resource part of an official's outgoing audit (领导干部自然资源资产离任审计).

use std::path::PathBuf;
use std::process::ExitCode;

use nrledger::catalog::Catalog;
use nrledger::io::output;
use nrledger::model::AsOf;
use nrledger::{audit, Registry};

/// Prepare the natural-resource part of an official's outgoing audit: indicators at the start and end of
/// the tenure against the targets file (a configurable 100-point score and grade 好 / 较好 / 一般 / 较差 / 差),
/// the check findings that arose during the tenure, and the balance sheets of the period — as one
/// self-contained HTML report (charts and map inline, no network) and optionally an XLSX workbook.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Registry file.
    registry: PathBuf,
    /// The official (姓名).
    #[arg(long)]
    official: String,
    /// The official's post (职务), e.g. 县长.
    #[arg(long)]
    post: String,
    /// Region code (admin outline in the registry).
    #[arg(long)]
    region: String,
    /// Start of the tenure, YYYY-MM-DD.
    #[arg(long, value_parser = super::date_arg)]
    from: AsOf,
    /// End of the tenure, YYYY-MM-DD.
    #[arg(long, value_parser = super::date_arg)]
    to: AsOf,
    /// Targets file (TOML or JSON, schemas/targets.schema.json): control targets, input values, the auditor's
    /// judgements, and optionally the office's evaluation system ([system]; else `--rules DIR`'s
    /// indicators.toml, else the default).
    #[arg(long)]
    targets: PathBuf,
    #[command(flatten)]
    inputs: super::SheetInputs,
    /// The report (HTML).
    #[arg(long, default_value = "report.html")]
    out: PathBuf,
    /// Also write the numbers as an XLSX workbook.
    #[arg(long)]
    xlsx: Option<PathBuf>,
    /// Also write the audit as JSON (schemas/audit.schema.json).
    #[arg(long)]
    json: Option<PathBuf>,
}

pub fn run(a: Args, catalog: Catalog) -> anyhow::Result<ExitCode> {
    output::refuse_existing(std::iter::once(&a.out).chain(a.xlsx.iter()).chain(a.json.iter()))?;
    let reg = Registry::open(&a.registry, catalog)?;
    let req = audit::Request {
        official: a.official.clone(),
        post: a.post.clone(),
        from: a.from,
        to: a.to,
        region: a.region.clone(),
        targets: a.targets.clone(),
        forest_changes: a.inputs.forest_changes.clone(),
        water: a.inputs.units.water.clone(),
        livestock: a.inputs.units.livestock.clone(),
        rules: a.inputs.units.rules.clone(),
    };
    // everything is computed before anything is written: a failure leaves no partial report
    let au = audit::compute(&reg, &req)?;
    let balance_tables = nrledger::balance::tables::tables(&au.sheet, nrledger::balance::tables::AreaUnit::Ha);
    nrledger::progress::stage("写出报告 writing the report");
    let html = audit::html::render(&au, &balance_tables);
    if let Some(j) = &a.json {
        output::write_file(j, (serde_json::to_string_pretty(&au)? + "\n").as_bytes())?;
    }
    if let Some(x) = &a.xlsx {
        let mut tables = audit::tables(&au);
        tables.extend(balance_tables.iter().cloned());
        nrledger::io::tabular::write_xlsx(&tables, &audit::about(&au), &au.sheet.provenance.to, x)?;
    }
    output::write_file(&a.out, html.as_bytes())?;
    println!(
        "{} {} ({} {}, {} → {}): score {:.2} / {}, grade {}; {} finding(s) arose during the tenure",
        au.post,
        au.official,
        au.sheet.provenance.region,
        au.sheet.provenance.region_name,
        au.sheet.provenance.from,
        au.sheet.provenance.to,
        au.score,
        au.total,
        au.grade,
        au.new_findings.len()
    );
    for b in &au.blocks {
        println!("  {} {}: {:.2} / {}", b.code, b.name, b.score, b.points);
        for i in au.indicators.iter().filter(|i| i.block == b.code) {
            println!("    {:<6} {} {} — {}", i.verdict.label(), i.name, i.rule, i.reason);
        }
    }
    println!("wrote the audit report to {}", a.out.display());
    if let Some(x) = &a.xlsx {
        println!("wrote the workbook to {}", x.display());
    }
    Ok(ExitCode::SUCCESS)
}
