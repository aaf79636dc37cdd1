//! `nrledger register` and `nrledger history`: registration operations on units and their history.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::ValueEnum;
use nrledger::catalog::Catalog;
use nrledger::io::source::SourceRequest;
use nrledger::model::{AsOf, EventType, LayerKind};
use nrledger::register::{self, RegisterRequest};
use nrledger::Registry;

use super::Format;
use nrledger::store::Read;

/// A registration type.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Op {
    /// 首次登记: register a new unit (needs --geometry, --name, --type).
    First,
    /// 变更登记: change a registered unit (attributes and/or boundary).
    Change,
    /// 更正登记: correct an error in a registered unit's record.
    Correct,
    /// 注销登记: cancel a registered unit.
    Cancel,
}

/// Register a natural-resource unit (自然资源统一确权登记): first registration, change, correction or
/// cancellation. Refused with the reason, and nothing written, when the code was used before (first), the
/// unit is not registered or was cancelled (change, correct, cancel), the unit would overlap another
/// registered unit, or a value breaks the layer's rules (e.g. the unit-code pattern).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Registry file.
    registry: PathBuf,
    /// Registration type.
    #[arg(value_enum)]
    op: Op,
    /// 登记单元号 (unit code).
    #[arg(long)]
    unit: String,
    /// 登记单元名称.
    #[arg(long)]
    name: Option<String>,
    /// 登记单元类型 (国家公园, 自然保护区, 水流, 湿地, 森林, 草原, 荒地 …).
    #[arg(long = "type")]
    unit_type: Option<String>,
    /// 坐落.
    #[arg(long)]
    location: Option<String>,
    /// 所有权主体 (全民 / 集体).
    #[arg(long)]
    owner: Option<String>,
    /// 所有权代表行使主体.
    #[arg(long)]
    representative: Option<String>,
    /// 所有权代理行使主体.
    #[arg(long)]
    agent: Option<String>,
    /// 行使方式.
    #[arg(long)]
    manner: Option<String>,
    /// 日常管理主体.
    #[arg(long)]
    manager: Option<String>,
    /// Any other field of the units layer, as FIELD=VALUE (repeatable), e.g. --set GYMJ=1200.5.
    #[arg(long, value_name = "FIELD=VALUE")]
    set: Vec<String>,
    /// File with the unit's (new) boundary; all its polygons form the unit.
    #[arg(long)]
    geometry: Option<PathBuf>,
    /// Layer of the geometry file, when it has several.
    #[arg(long)]
    src_layer: Option<String>,
    /// CRS of the geometry file, when it declares none.
    #[arg(long)]
    src_crs: Option<String>,
    /// Date of the registration (YYYY-MM-DD).
    #[arg(long, value_parser = super::date_arg)]
    date: AsOf,
    /// Registrar (default: $USER).
    #[arg(long)]
    registrar: Option<String>,
    /// Reason for the registration.
    #[arg(long)]
    reason: String,
    /// Document number (登记文号).
    #[arg(long)]
    document: Option<String>,
    /// Accept a registration date after today.
    #[arg(long)]
    force: bool,
}

pub fn run(a: Args, catalog: Catalog) -> anyhow::Result<ExitCode> {
    nrledger::model::check_not_future(a.date, a.force, "--date")?;
    let reg = Registry::open(&a.registry, catalog)?;
    let mut set: Vec<(String, String)> = [
        ("DYMC", &a.name),
        ("DYLX", &a.unit_type),
        ("ZL", &a.location),
        ("SYQZT", &a.owner),
        ("DBXSZT", &a.representative),
        ("DLXSZT", &a.agent),
        ("XSFS", &a.manner),
        ("GLZT", &a.manager),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.clone().map(|v| (k.to_string(), v)))
    .collect();
    for kv in &a.set {
        let (k, v) = kv.split_once('=').ok_or_else(|| anyhow::anyhow!("--set {kv}: expected FIELD=VALUE"))?;
        set.push((k.trim().to_string(), v.to_string()));
    }
    let op = match a.op {
        Op::First => EventType::First,
        Op::Change => EventType::Change,
        Op::Correct => EventType::Correct,
        Op::Cancel => EventType::Cancel,
    };
    let req = RegisterRequest {
        op,
        unit: a.unit.clone(),
        set,
        geometry: a.geometry.map(|p| (SourceRequest { path: p, layer: a.src_layer, ..Default::default() }, a.src_crs)),
        date: a.date,
        registrar: a.registrar.or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "unknown".into()),
        reason: a.reason,
        document_no: a.document,
    };
    let id = register::run(&reg, &req)?;
    println!("{} of unit {} on {} recorded (event #{id})", op.label(), a.unit, a.date);
    Ok(ExitCode::SUCCESS)
}

/// List the registration history of a unit: its events (who, when, why, document) and the versions of its
/// record (valid from / to, name, area).
#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// Registry file.
    registry: PathBuf,
    /// 登记单元号 (unit code).
    #[arg(long)]
    unit: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

pub fn history(a: HistoryArgs, catalog: Catalog) -> anyhow::Result<ExitCode> {
    let reg = Registry::open(&a.registry, catalog)?;
    let events = reg.events(Some(&a.unit))?;
    let versions: Vec<_> = reg
        .read(&Read::layer(LayerKind::Units).every_version())?
        .into_iter()
        .filter(|r| r.record.key == a.unit)
        .collect();
    if events.is_empty() && versions.is_empty() {
        anyhow::bail!("unit {} is not in the registry", a.unit);
    }
    let def = reg.catalog().layer(LayerKind::Units);
    let name_i = def.field_index("DYMC");
    if a.format == Format::Json {
        let v: Vec<serde_json::Value> = versions
            .iter()
            .map(|r| {
                serde_json::json!({
                    "fid": r.fid, "valid_from": r.valid_from, "valid_to": r.valid_to, "area_m2": (r.areas.ellipsoidal * 100.0).round() / 100.0,
                    "attributes": def.fields.iter().zip(&r.record.values).filter(|(_, v)| !v.is_blank()).map(|(f, v)| (f.name.clone(), serde_json::to_value(v).unwrap_or_default())).collect::<serde_json::Map<_, _>>(),
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({"unit": a.unit, "events": events, "versions": v}))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!("unit {}", a.unit);
    for e in &events {
        println!(
            "  {} {} by {} — {}{}{}",
            e.event_date,
            e.event_type,
            e.registrar,
            e.reason,
            e.document_no.as_deref().map(|d| format!(" ({d})")).unwrap_or_default(),
            e.import_id.map(|i| format!(" [import #{i}]")).unwrap_or_default()
        );
    }
    println!("  versions:");
    for r in &versions {
        println!(
            "    fid {:<6} valid {}–{:<10} {} {:.2} m²",
            r.fid,
            r.valid_from,
            r.valid_to.as_deref().unwrap_or(""),
            name_i.map(|i| r.record.value(i).to_string()).unwrap_or_default(),
            r.areas.ellipsoidal
        );
    }
    Ok(ExitCode::SUCCESS)
}
