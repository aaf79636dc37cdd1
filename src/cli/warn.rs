//! `nrledger warn`: carrying-capacity early warning (资源环境承载能力监测预警) of a region's townships.

use std::path::PathBuf;
use std::process::ExitCode;

use super::ReportFormat;
use anyhow::bail;
use nrledger::catalog::Catalog;
use nrledger::io::{export, output, tabular};
use nrledger::model::AsOf;
use nrledger::warning::{self, WarningRules};
use nrledger::Registry;

/// Carrying-capacity early warning (资源环境承载能力监测预警): each township of the region (each county of a
/// city or province) between two dates, year by year — 土地资源压力 (development intensity against the
/// proper intensity of its 主体功能区 type), the loss of cultivated land and the change of its quality grade,
/// water use against its cap, livestock against the grassland's capacity (草畜平衡) — each classified 超载 / 临界超载 / 不超载 by layers/rules/warning.toml,
/// combined by the short-board rule, and with their trend giving the warning level (红 / 橙 / 黄 / 蓝 / 绿).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Registry file.
    registry: PathBuf,
    /// Start of the period, YYYY-MM-DD.
    #[arg(long, value_parser = super::date_arg)]
    from: AsOf,
    /// End of the period (the units' outlines are those valid then), YYYY-MM-DD.
    #[arg(long, value_parser = super::date_arg)]
    to: AsOf,
    /// The region whose units are judged (a county: its townships; a city or province: its counties).
    #[arg(long)]
    region: String,
    /// Targets file: each unit's `function_zone` (主体功能区; else the region's) and
    /// `water_use_cap_10k_m3_per_year`.
    #[arg(long)]
    targets: Option<PathBuf>,
    /// Water statistics, livestock (rows by the units' codes) and the rules folder.
    #[command(flatten)]
    inputs: super::UnitInputs,
    /// Output format: text, json, csv or xlsx (needs --out).
    #[arg(long, value_enum, default_value = "text")]
    format: ReportFormat,
    /// Report file (default: stdout for text, json and csv).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write the units with their warning level as a map layer (.gpkg, .geojson or .shp).
    #[arg(long)]
    layer: Option<PathBuf>,
}

pub fn run(a: Args, catalog: Catalog) -> anyhow::Result<ExitCode> {
    output::refuse_existing(a.out.iter().chain(&a.layer))?;
    if a.format == ReportFormat::Xlsx && a.out.is_none() {
        bail!("--format xlsx writes a file: give --out FILE");
    }
    let rules = WarningRules::load(a.inputs.rules.as_deref())?;
    let reg = Registry::open(&a.registry, catalog)?;
    let req = warning::Request {
        from: a.from,
        to: a.to,
        region: a.region.clone(),
        targets: a.targets.clone(),
        water: a.inputs.water.clone(),
        livestock: a.inputs.livestock.clone(),
        rules: a.inputs.rules.clone(),
    };
    let w = warning::compute(&reg, &req, &rules)?;
    let table = warning::table(&w);
    let bytes = match a.format {
        ReportFormat::Text => (table.render() + "\n").into_bytes(),
        ReportFormat::Json => (serde_json::to_string_pretty(&w)? + "\n").into_bytes(),
        ReportFormat::Csv => {
            let mut buf = Vec::new();
            tabular::write_csv(std::slice::from_ref(&table), &mut buf)?;
            buf
        }
        ReportFormat::Xlsx => {
            let about = vec![
                ("区域 Region".to_string(), w.region.clone()),
                ("期间 Period".into(), format!("{} → {}", w.dates[0], w.dates[w.dates.len() - 1])),
                ("规则 Rules".into(), w.rules.clone()),
            ];
            let p = a.out.as_deref().expect("checked above");
            tabular::write_xlsx(std::slice::from_ref(&table), &about, &w.dates[w.dates.len() - 1], p)?;
            Vec::new()
        }
    };
    if a.format != ReportFormat::Xlsx {
        super::emit(a.out.as_deref(), &bytes)?;
    }
    if let Some(p) = &a.layer {
        let n = export::write_dated(
            &warning::layer(&w),
            p,
            &reg.crs.definition,
            &reg.crs.geographic,
            &w.dates[w.dates.len() - 1],
        )?;
        eprintln!("wrote {n} unit(s) with their warning level to {}", p.display());
    }
    Ok(ExitCode::SUCCESS)
}
