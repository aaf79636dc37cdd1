//! `nrledger balance`: the natural resource asset balance sheet (自然资源资产负债表) of a region for a period.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::bail;
use clap::ValueEnum;
use nrledger::balance::{self, tables::AreaUnit, BalanceSheet, Level, OverlapPolicy};
use nrledger::catalog::Catalog;
use nrledger::io::export;
use nrledger::io::output;
use nrledger::io::tabular;
use nrledger::model::AsOf;
use nrledger::table::Table;
use nrledger::Registry;

/// Output format of the sheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SheetFormat {
    /// Aligned tables on the terminal.
    Text,
    /// The whole sheet as JSON (schemas/balance.schema.json).
    Json,
    /// Every table cell as one tidy row (table, code, name, column, unit, value).
    Csv,
    /// An Excel workbook, one sheet per table (needs --out).
    Xlsx,
    /// The tidy rows as Parquet (needs --out).
    Parquet,
}

/// Produce the balance sheet of a region between two dates: the land account by class with the transition
/// matrix (from a spatial overlay of the two vintages), of-which rows inside red lines and permanent basic
/// farmland, cultivated land by quality grade, the forest account (area by class, stock volume by origin),
/// the water account (from water statistics) and liabilities by a named model.
///
/// Every identity (row sums = opening, column sums = closing, total = the region's area) is checked; a
/// failure is an error (exit 2). --trace writes every piece of ground that changed class, with the parcels
/// it came from and went to.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Registry file.
    registry: PathBuf,
    /// Opening date (期初), YYYY-MM-DD.
    #[arg(long, value_parser = super::date_arg, required_unless_present = "years", conflicts_with = "years")]
    from: Option<AsOf>,
    /// Closing date (期末), YYYY-MM-DD.
    #[arg(long, value_parser = super::date_arg, required_unless_present = "years", conflicts_with = "years")]
    to: Option<AsOf>,
    /// A yearly series instead of one period: `2020..2023` draws one sheet per year (31 December to 31
    /// December), checks that each year opens where the year before closed, and adds the series tables
    /// (stocks at every year-end); a year without a survey of its own is flagged.
    #[arg(long, value_parser = years_arg, conflicts_with_all = ["by_county", "trace", "ledgers"])]
    years: Option<(i32, i32)>,
    /// Region: admin code (the outline with that code, or the outlines whose codes start with it). Default: every admin outline.
    #[arg(long)]
    region: Option<String>,
    /// Stream a province (or a city): measure one county (6-digit admin outline, under --region if given) at
    /// a time and add the counties up before the sheet is rounded, so memory follows the largest county, not
    /// the region. Prints a line per county on stderr; the sheet is the region's (the counties' outlines
    /// part it).
    #[arg(long)]
    by_county: bool,
    /// Classification level: 1 (first level), 2 (second level), 8class.
    #[arg(long, value_enum, default_value = "1")]
    level: Level,
    /// Area unit of the land tables.
    #[arg(long, value_enum, default_value = "ha")]
    unit: AreaUnit,
    /// Liability model (layers/rules/liabilities.toml; default: its `default`).
    #[arg(long)]
    liability: Option<String>,
    /// Targets file (TOML or JSON, schemas/targets.schema.json): control targets the liabilities compare with.
    #[arg(long)]
    targets: Option<PathBuf>,
    #[command(flatten)]
    inputs: super::SheetInputs,
    /// Overlapping parcels: resolve (the earlier-registered parcel keeps the ground; noted) or error.
    #[arg(long, value_enum, default_value = "resolve")]
    overlaps: Overlaps,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: SheetFormat,
    /// Output file (default: stdout for text, json and csv).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Also write the sheet as JSON to this file (whatever --format is).
    #[arg(long)]
    json: Option<PathBuf>,
    /// Also write the sheet as an Excel workbook to this file (whatever --format is).
    #[arg(long)]
    xlsx: Option<PathBuf>,
    /// Write the pieces of ground that changed class (parcel ids and classes at both dates, area) to this
    /// file (.gpkg or .geojson).
    #[arg(long)]
    trace: Option<PathBuf>,
    /// Add the cultivated-land ledgers of the period by township (耕地占补平衡, 耕地进出平衡; the table
    /// `nrledger screen` gives, with layers/rules/monitoring.toml from --rules): a second overlay of the two
    /// vintages, with the approvals in force.
    #[arg(long)]
    ledgers: bool,
}

fn years_arg(s: &str) -> Result<(i32, i32), String> {
    let bad = || format!("'{s}': give the first and last year as 2019..2023");
    let (a, b) = s.split_once("..").ok_or_else(bad)?;
    let (a, b): (i32, i32) = (a.trim().parse().map_err(|_| bad())?, b.trim().parse().map_err(|_| bad())?);
    if !(1900..=2200).contains(&a) || !(1900..=2200).contains(&b) || b < a {
        return Err(bad());
    }
    Ok((a, b))
}

/// Write the sheet in `format` to `out` (stdout when None; the formats writing files are checked to have one).
fn write(format: SheetFormat, out: Option<&Path>, sheet: &BalanceSheet, tables: &[Table]) -> anyhow::Result<()> {
    match (format, out) {
        (SheetFormat::Text, out) => {
            let s = balance::tables::render_text(sheet, tables);
            match out {
                Some(p) => output::write_file(p, s.as_bytes())?,
                None => print!("{s}"),
            }
        }
        (SheetFormat::Json, out) => {
            let mut v = serde_json::to_value(sheet)?;
            v["tables"] = serde_json::to_value(tables)?;
            let s = serde_json::to_string_pretty(&v)? + "\n";
            match out {
                Some(p) => output::write_file(p, s.as_bytes())?,
                None => print!("{s}"),
            }
        }
        (SheetFormat::Csv, out) => {
            let mut buf = Vec::new();
            tabular::write_csv(tables, &mut buf)?;
            match out {
                Some(p) => output::write_file(p, &buf)?,
                None => std::io::stdout().write_all(&buf)?,
            }
        }
        (SheetFormat::Xlsx, Some(p)) => {
            tabular::write_xlsx(tables, &balance::tables::about(sheet), &sheet.provenance.to, p)?
        }
        (SheetFormat::Parquet, Some(p)) => tabular::write_parquet(tables, p)?,
        (f, None) => bail!("--format {f:?} writes a file: give --out FILE"),
    }
    Ok(())
}

/// `--years`: the sheets of each year, chained, with the series tables.
fn series(a: &Args, reg: &Registry, req: &balance::Request, first: i32, last: i32) -> anyhow::Result<ExitCode> {
    let dates = balance::series::year_ends(first, last)?;
    let s = balance::series::compute(reg, req, &dates)?;
    let tables = balance::series::tables(&s, a.unit);
    let last_sheet = &s.years.last().expect("a year").sheet;
    nrledger::progress::stage("写出结果 writing the files");
    let write_series = |format: SheetFormat, out: Option<&Path>| -> anyhow::Result<()> {
        match format {
            SheetFormat::Json => {
                let v = balance::series::SeriesJson { series: s.clone(), tables: tables.clone() };
                let text = serde_json::to_string_pretty(&v)? + "\n";
                match out {
                    Some(p) => output::write_file(p, text.as_bytes())?,
                    None => print!("{text}"),
                }
                Ok(())
            }
            SheetFormat::Text => {
                let text = balance::series::render_text(&s, &tables);
                match out {
                    Some(p) => output::write_file(p, text.as_bytes())?,
                    None => print!("{text}"),
                }
                Ok(())
            }
            f => write(f, out, last_sheet, &tables),
        }
    };
    write_series(a.format, a.out.as_deref())?;
    for (format, out) in [(SheetFormat::Json, &a.json), (SheetFormat::Xlsx, &a.xlsx)] {
        if let Some(out) = out {
            write_series(format, Some(out))?;
            eprintln!("wrote the series ({} tables) to {}", tables.len(), out.display());
        }
    }
    for y in s.years.iter().filter(|y| y.missing) {
        eprintln!("{}: no survey dated in {} … {} (the year is drawn from the data before it)", y.year, y.from, y.to);
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Overlaps {
    Resolve,
    Error,
}

pub fn run(a: Args, catalog: Catalog) -> anyhow::Result<ExitCode> {
    output::refuse_existing(a.out.iter().chain(&a.trace).chain(&a.json).chain(&a.xlsx))?;
    if matches!(a.format, SheetFormat::Xlsx | SheetFormat::Parquet) && a.out.is_none() {
        bail!("--format {:?} writes a file: give --out FILE", a.format);
    }
    let reg = Registry::open(&a.registry, catalog)?;
    let (from, to) = match (a.from, a.to, a.years) {
        (_, _, Some((first, last))) => {
            let d = balance::series::year_ends(first, last)?;
            (d[0], d[d.len() - 1])
        }
        (Some(f), Some(t), None) => (f, t),
        _ => bail!("give --from and --to, or --years"),
    };
    let req = balance::Request {
        from,
        to,
        region: a.region.clone(),
        level: a.level,
        liability: a.liability.clone(),
        targets: a.targets.clone(),
        forest_changes: a.inputs.forest_changes.clone(),
        water: a.inputs.units.water.clone(),
        livestock: a.inputs.units.livestock.clone(),
        rules: a.inputs.units.rules.clone(),
        overlaps: match a.overlaps {
            Overlaps::Resolve => OverlapPolicy::Resolve,
            Overlaps::Error => OverlapPolicy::Error,
        },
        trace: a.trace.is_some(),
    };
    if let Some((first, last)) = a.years {
        return series(&a, &reg, &req, first, last);
    }
    let sheet = if a.by_county {
        balance::compute_by_county(&reg, &req, |c, secs| {
            nrledger::progress::stage(&format!("county {} {} measured", c.code, c.name));
            eprintln!(
                "county {} {}: {} / {} parcel piece(s), {:.0} m², {secs:.1} s",
                c.code, c.name, c.pieces.0, c.pieces.1, c.area_m2
            )
        })?
    } else {
        balance::compute(&reg, &req)?
    };
    let mut tables = balance::tables::tables(&sheet, a.unit);
    if a.ledgers {
        nrledger::progress::stage("耕地占补、进出平衡 the cultivated-land ledgers");
        let rules = nrledger::monitor::MonitorRules::load(a.inputs.units.rules.as_deref(), reg.catalog())?;
        let req = nrledger::monitor::Request { from, to, region: a.region.clone() };
        let screened = nrledger::monitor::screen(&reg, &req, &rules)?;
        tables.push(nrledger::monitor::table::ledger_table(&screened.ledger, &screened.from, &screened.to));
    }
    nrledger::progress::stage("写出结果 writing the files");
    write(a.format, a.out.as_deref(), &sheet, &tables)?;
    if let Some(out) = &a.out {
        if a.format != SheetFormat::Text || std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            eprintln!("wrote the balance sheet ({} tables) to {}", tables.len(), out.display());
        }
    }
    for (format, out) in [(SheetFormat::Json, &a.json), (SheetFormat::Xlsx, &a.xlsx)] {
        if let Some(out) = out {
            write(format, Some(out), &sheet, &tables)?;
            eprintln!("wrote the balance sheet ({} tables) to {}", tables.len(), out.display());
        }
    }
    if let Some(t) = &a.trace {
        let table = balance::trace_table(&sheet);
        let n = export::write_dated(&table, t, &reg.crs.definition, &reg.crs.geographic, &sheet.provenance.to)?;
        eprintln!("wrote {n} changed pieces to {}", t.display());
    }
    Ok(ExitCode::SUCCESS)
}
