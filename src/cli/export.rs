//! `nrledger export`: write a layer's vintage (or its history) to GeoJSON, GeoPackage or Shapefile.

use std::path::PathBuf;
use std::process::ExitCode;

use nrledger::catalog::Catalog;
use nrledger::io::export::{self, Column, Table};
use nrledger::model::{AsOf, FieldType, Value};
use nrledger::store::Read;
use nrledger::{LayerKind, Registry};

/// Export a layer as it was on --as-of (default: now) — or every version with --history — to GeoJSON
/// (RFC 7946: CGCS2000 lon/lat written as is), GeoPackage or Shapefile (registry CRS, UTF-8), chosen by the
/// file extension (.geojson, .gpkg, .shp).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Registry file.
    registry: PathBuf,
    /// Layer to export.
    #[arg(long, value_parser = super::layer_arg)]
    layer: LayerKind,
    /// The date to export (default: now).
    #[arg(long, value_parser = super::date_arg, conflicts_with = "history")]
    as_of: Option<AsOf>,
    /// Export every version of every record (with valid_from / valid_to).
    #[arg(long)]
    history: bool,
    /// Output file (.geojson, .gpkg, .shp).
    #[arg(long)]
    out: PathBuf,
}

pub fn run(a: Args, catalog: Catalog) -> anyhow::Result<ExitCode> {
    let reg = Registry::open(&a.registry, catalog)?;
    let def = reg.catalog().layer(a.layer).clone();
    let records = if a.history {
        reg.read(&Read::layer(a.layer).every_version())?
    } else {
        reg.read(&Read::layer(a.layer).on(a.as_of))?
    };
    let mut columns: Vec<Column> =
        def.fields.iter().map(|f| Column { name: f.name.clone(), field_type: f.field_type }).collect();
    for (name, ty) in [
        ("area_ell", FieldType::Real),
        ("area_gk", FieldType::Real),
        ("valid_from", FieldType::Date),
        ("valid_to", FieldType::Date),
        ("import_id", FieldType::Integer),
    ] {
        columns.push(Column { name: name.into(), field_type: ty });
    }
    let rows = records
        .into_iter()
        .map(|r| {
            let mut vals = r.record.values;
            vals.push(Value::Real((r.areas.ellipsoidal * 100.0).round() / 100.0));
            vals.push(Value::Real((r.areas.planar * 100.0).round() / 100.0));
            vals.push(Value::Text(r.valid_from));
            vals.push(r.valid_to.map(Value::Text).unwrap_or(Value::Null));
            vals.push(Value::Int(r.import_id));
            (geo::Geometry::MultiPolygon(r.record.geometry), vals)
        })
        .collect();
    let table = Table { name: a.layer.name(), columns, rows };
    let n = export::write(&table, &a.out, &reg.crs.definition, &reg.crs.geographic)?;
    let when = if a.history {
        "all vintages".to_string()
    } else {
        a.as_of.map(|d| format!("as of {d}")).unwrap_or_else(|| "current".into())
    };
    println!("wrote {n} {} record(s) ({when}) to {}", a.layer, a.out.display());
    Ok(ExitCode::SUCCESS)
}
