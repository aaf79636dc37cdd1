//! `nrledger info`: what a registry holds.

use std::path::PathBuf;
use std::process::ExitCode;

use nrledger::catalog::Catalog;
use nrledger::Registry;

use super::Format;

/// Show the registry's CRS, each layer's vintages and record counts, the import log and (with --events)
/// the registration events.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Registry file.
    registry: PathBuf,
    /// Also list registration events (optionally of one unit with --unit).
    #[arg(long)]
    events: bool,
    /// Unit code for --events.
    #[arg(long, requires = "events")]
    unit: Option<String>,
    /// Also list the audit trail (操作留痕): every change to accounts, who made it, when and from where.
    #[arg(long)]
    trail: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

pub fn run(a: Args, catalog: Catalog) -> anyhow::Result<ExitCode> {
    let reg = Registry::open(&a.registry, catalog)?;
    let mut layers = Vec::new();
    for def in reg.catalog().layers() {
        let vintages = reg.vintages(def.kind)?;
        let current = reg.count_at(def.kind, None)?;
        layers.push(serde_json::json!({
            "layer": def.kind, "title": def.title, "vintages": vintages.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
            "current_records": current,
        }));
    }
    let imports = reg.imports()?;
    let events = if a.events { reg.events(a.unit.as_deref())? } else { vec![] };
    let trail = if a.trail { reg.trail()? } else { vec![] };
    if a.format == Format::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "registry": reg.path(), "crs": reg.crs.definition, "crs_name": reg.crs.name,
                "layers": layers, "imports": imports, "events": events, "trail": trail,
            }))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!("registry {} — CRS {} ({})", reg.path().display(), reg.crs.definition, reg.crs.name);
    for l in &layers {
        println!(
            "  {:<9} {:<10} {:>8} current record(s); vintages: {}",
            l["layer"].as_str().unwrap_or(""),
            l["title"].as_str().unwrap_or(""),
            l["current_records"],
            l["vintages"]
                .as_array()
                .map(|v| v.iter().filter_map(|d| d.as_str()).collect::<Vec<_>>().join(", "))
                .unwrap_or_default()
        );
    }
    if !imports.is_empty() {
        println!("imports:");
        for i in &imports {
            println!(
                "  #{} {}{} as of {} from {} ({}, {}): {} inserted, {} unchanged, {} closed, {} rejected",
                i.import_id,
                i.layer,
                i.scope.as_deref().map(|s| format!(" (scope {s})")).unwrap_or_default(),
                i.as_of,
                i.source,
                i.profile,
                i.mode,
                i.inserted,
                i.unchanged,
                i.closed,
                i.rejected
            );
        }
    }
    for e in &events {
        println!(
            "  {} {} {} by {} — {}{}",
            e.event_date,
            e.unit_code,
            e.event_type,
            e.registrar,
            e.reason,
            e.document_no.as_deref().map(|d| format!(" ({d})")).unwrap_or_default()
        );
    }
    if a.trail {
        println!("trail (操作留痕):");
    }
    for t in &trail {
        let hashes = |h: &Option<String>| h.as_deref().map_or("-".to_string(), |h| h[..12.min(h.len())].to_string());
        println!(
            "  #{} {} {} from {}: {} {} — {} [{} → {}]",
            t.id,
            t.at,
            t.who,
            t.origin,
            t.action,
            t.target,
            t.detail,
            hashes(&t.before),
            hashes(&t.after)
        );
    }
    Ok(ExitCode::SUCCESS)
}
