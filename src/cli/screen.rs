//! `nrledger screen`: the changes between two surveys against what permits them (国土空间监测).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::ReportFormat;
use anyhow::bail;
use nrledger::catalog::Catalog;
use nrledger::io::{export, output, tabular};
use nrledger::model::AsOf;
use nrledger::monitor::{self, MonitorRules, Screening};
use nrledger::Registry;

/// Screen the change between two surveys (国土空间监测, 卫片执法): every piece of ground that went from
/// non-construction to construction land (新增建设用地), or from cultivated land to other land (耕地流出), is
/// compared with the approvals, land supply, temporary land, mining rights and facility filings in force on
/// the later date (layers/rules/monitoring.toml says which covers what), and classified 已覆盖 covered /
/// 部分覆盖 partly covered / 未覆盖 not covered (a suspect patch, 疑似违法图斑) / 例外 exempt by its cause.
///
/// Exit status: 0 nothing uncovered, 1 some ground not or partly covered, 2 failure.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Registry file.
    registry: PathBuf,
    /// The earlier survey (前时相), YYYY-MM-DD.
    #[arg(long, value_parser = super::date_arg)]
    from: AsOf,
    /// The later survey (后时相), YYYY-MM-DD; changes are placed on this date.
    #[arg(long, value_parser = super::date_arg)]
    to: AsOf,
    /// Region: admin code (the outline with that code, or those whose codes start with it). Default: every
    /// admin outline.
    #[arg(long)]
    region: Option<String>,
    /// Folder replacing layers/rules/monitoring.toml.
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Output format of the report: text, json (the screening, schemas/screen.schema.json), csv or xlsx
    /// (the patch and summary tables; xlsx needs --out).
    #[arg(long, value_enum, default_value = "text")]
    format: ReportFormat,
    /// Report file (default: stdout for text, json and csv).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write the patches as a layer to this file (.gpkg, .geojson or .shp; schemas/screen-patches.schema.json).
    #[arg(long)]
    patches: Option<PathBuf>,
    /// Keep the suspect patches (not or partly covered) in the registry, each at 待核查, to follow them to
    /// their end with `nrledger patch`; patches stored by an earlier screening are left as they are.
    #[arg(long)]
    store: bool,
}

pub fn run(a: Args, catalog: Catalog) -> anyhow::Result<ExitCode> {
    output::refuse_existing(a.out.iter().chain(&a.patches))?;
    if a.format == ReportFormat::Xlsx && a.out.is_none() {
        bail!("--format xlsx writes a file: give --out FILE");
    }
    let rules = MonitorRules::load(a.rules.as_deref(), &catalog)?;
    let reg = Registry::open(&a.registry, catalog)?;
    let req = monitor::Request { from: a.from, to: a.to, region: a.region.clone() };
    let s = monitor::screen(&reg, &req, &rules)?;
    write(a.format, a.out.as_deref(), &s)?;
    if let Some(p) = &a.patches {
        let n = export::write_dated(&monitor::table::layer(&s), p, &reg.crs.definition, &reg.crs.geographic, &s.to)?;
        eprintln!("wrote {n} patch(es) to {}", p.display());
    }
    if a.store {
        let (new, known) = reg.store_patches(&s, &nrledger::store::Actor::command_line())?;
        eprintln!("stored {new} new suspect patch(es) at 待核查 ({known} stored before)");
        let back = monitor::restored(&reg, a.to, &rules)?;
        let marked = reg.mark_restored(&s.to, &back, &nrledger::store::Actor::command_line())?;
        if !back.is_empty() {
            eprintln!(
                "{} patch(es) found before show their ground restored in the survey of {} ({marked} new): confirm them with `nrledger patch set`",
                back.len(),
                s.to
            );
        }
    }
    let open = s.patches.iter().any(|p| p.status.is_suspect());
    Ok(if open { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn write(format: ReportFormat, out: Option<&Path>, s: &Screening) -> anyhow::Result<()> {
    let tables = monitor::table::tables(s);
    let bytes = match format {
        ReportFormat::Text => {
            let mut t = format!(
                "screening {} {}: {} → {}, {} patch(es)\n",
                s.region,
                s.region_name,
                s.from,
                s.to,
                s.patches.len()
            );
            for l in &s.cover_layers {
                let v = l.vintage.as_deref().unwrap_or("never imported");
                t.push_str(&format!("  cover layer {}: {} record(s) (vintage {v})\n", l.layer, l.records));
            }
            t.push('\n');
            for table in &tables {
                t.push_str(&table.render());
                t.push('\n');
            }
            t.into_bytes()
        }
        ReportFormat::Json => (serde_json::to_string_pretty(s)? + "\n").into_bytes(),
        ReportFormat::Csv => {
            let mut buf = Vec::new();
            tabular::write_csv(&tables, &mut buf)?;
            buf
        }
        ReportFormat::Xlsx => {
            let about = vec![
                ("区域 Region".to_string(), format!("{} {}", s.region, s.region_name)),
                ("前时相 Earlier survey".into(), s.from.clone()),
                ("后时相 Later survey".into(), s.to.clone()),
                ("规则 Rules".into(), format!("{} (sha256 {})", s.rules, s.rules_sha256)),
            ];
            let p = out.expect("checked in run");
            tabular::write_xlsx(&tables, &about, &s.to, p)?;
            return Ok(());
        }
    };
    super::emit(out, &bytes)
}
