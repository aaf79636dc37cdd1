//! The changed pieces of a sheet (`nrledger balance --trace`): ground whose class changed at the sheet's
//! level, with the parcel it was and the parcel it became, as an exportable layer.

use super::BalanceSheet;
use crate::io::export::{Column, Table};
use crate::model::{FieldType, Value};
use crate::quantity::SquareMetres;

/// One side of a changed piece: the parcel at the opening or the closing date.
#[derive(Debug, Clone)]
pub struct TraceSide {
    /// The parcel's fid; negative for ground no parcel covered (未覆盖).
    pub fid: i64,
    /// The parcel's key (BSM).
    pub key: String,
    /// Its class at the sheet's level.
    pub class: String,
    /// Its second-level code.
    pub code: String,
}

/// A piece of ground that changed class.
#[derive(Debug, Clone)]
pub struct TracePiece {
    /// At the opening date.
    pub from: TraceSide,
    /// At the closing date.
    pub to: TraceSide,
    /// Ellipsoidal area, m².
    pub area: SquareMetres,
    /// The piece, registry CRS.
    pub geometry: geo::MultiPolygon<f64>,
}

/// The sheet's changed pieces as a layer `balance_trace` (from_/to_ fid, key, class, code; area_m2).
pub fn trace_table(sheet: &BalanceSheet) -> Table<'static> {
    let col = |n: &str, t: FieldType| Column { name: n.into(), field_type: t };
    let mut columns = Vec::new();
    for side in ["from", "to"] {
        columns.push(col(&format!("{side}_fid"), FieldType::Integer));
        for field in ["key", "class", "code"] {
            columns.push(col(&format!("{side}_{field}"), FieldType::Text));
        }
    }
    columns.push(col("area_m2", FieldType::Real));
    let side = |s: &TraceSide| {
        [Value::Int(s.fid), Value::Text(s.key.clone()), Value::Text(s.class.clone()), Value::Text(s.code.clone())]
    };
    let rows = sheet
        .trace
        .iter()
        .map(|p| {
            let values = side(&p.from).into_iter().chain(side(&p.to)).chain([Value::Real(p.area.0)]).collect();
            (geo::Geometry::MultiPolygon(p.geometry.clone()), values)
        })
        .collect();
    Table { name: "balance_trace", columns, rows }
}
