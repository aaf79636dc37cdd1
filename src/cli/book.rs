//! `nrledger book`: the register-book page (登记簿) of a unit.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::ValueEnum;
use nrledger::catalog::Catalog;
use nrledger::io::output;
use nrledger::model::AsOf;
use nrledger::Registry;

/// Page format.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum PageFormat {
    /// One self-contained HTML file that prints on A4.
    Html,
    /// JSON following schemas/book.schema.json.
    Json,
}

/// Write the register-book page (登记簿) of a unit as of a date: 自然状况 (area of each resource type from
/// the parcels), 权属状况 (国有 / 集体 / 争议 from the parcels' 权属性质), 关联信息 (red lines, farmland,
/// urban boundary overlapped, with areas; real-estate unit numbers), registration events and a map.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Registry file.
    registry: PathBuf,
    /// 登记单元号.
    #[arg(long)]
    unit: String,
    /// The date of the page (default: now).
    #[arg(long, value_parser = super::date_arg)]
    as_of: Option<AsOf>,
    /// html or json.
    #[arg(long, value_enum, default_value = "html")]
    format: PageFormat,
    /// Output file.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(a: Args, catalog: Catalog) -> anyhow::Result<ExitCode> {
    output::refuse_existing([&a.out])?;
    let reg = Registry::open(&a.registry, catalog)?;
    let page = nrledger::book::page(&reg, &a.unit, a.as_of)?;
    let text = match a.format {
        PageFormat::Html => nrledger::book::html::render(&page),
        PageFormat::Json => serde_json::to_string_pretty(&page)? + "\n",
    };
    output::write_file(&a.out, text.as_bytes())?;
    println!(
        "wrote the register-book page of {} ({}) as of {} to {}",
        page.unit,
        page.name,
        page.as_of,
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
