//! The JSON Schemas in `schemas/`, generated from the code and the catalog so they never drift:
//! `nrledger schemas --out schemas` rewrites them and a test fails when the committed files differ.
//!
//! - `layers/<kind>.schema.json`: a record of each layer as exported (GeoJSON `properties`), from the
//!   layer definitions and class tables;
//! - `layer-definition.schema.json`, `profile.schema.json`: the TOML files in `layers/`;
//! - `import-report.schema.json`, `query.schema.json`, `info.schema.json`, `check-report.schema.json`: the
//!   `--format json` outputs; `exceptions.schema.json`: the allow-list file of `nrledger check`; `book.schema.json`: the register-book page.

use serde_json::{json, Value as Json};

use crate::catalog::{Catalog, LayerDef, Profile};
use crate::import::ImportReport;
use crate::model::FieldType;
use crate::query::Hit;
use crate::store::{EventRow, ImportLogRow};

const DRAFT: &str = "https://json-schema.org/draft/2020-12/schema";
const BASE: &str = "https://nrledger.invalid/schemas/";

/// Every schema as (relative path, pretty JSON text ending in a newline).
pub fn all(catalog: &Catalog) -> Vec<(String, String)> {
    let mut out: Vec<(String, Json)> = catalog
        .layers()
        .iter()
        .map(|d| (format!("layers/{}.schema.json", d.kind), layer_record(d, catalog)))
        .collect();
    out.push(("layer-definition.schema.json".into(), schemars_json::<LayerDef>("layer-definition")));
    out.push(("profile.schema.json".into(), schemars_json::<Profile>("profile")));
    out.push(("import-report.schema.json".into(), schemars_json::<ImportReport>("import-report")));
    out.push(("query.schema.json".into(), schemars_json::<Vec<Hit>>("query")));
    out.push(("info.schema.json".into(), info_schema()));
    out.push(("check-report.schema.json".into(), schemars_json::<crate::checks::CheckReport>("check-report")));
    out.push(("exceptions.schema.json".into(), schemars_json::<crate::checks::Exceptions>("exceptions")));
    out.push(("book.schema.json".into(), schemars_json::<crate::book::BookPage>("book")));
    out.into_iter().map(|(p, j)| (p, serde_json::to_string_pretty(&j).expect("json") + "\n")).collect()
}

fn schemars_json<T: schemars::JsonSchema>(id: &str) -> Json {
    let mut v = serde_json::to_value(schemars::schema_for!(T)).expect("schema serialises");
    if let Some(o) = v.as_object_mut() {
        o.insert("$id".into(), json!(format!("{BASE}{id}.schema.json")));
    }
    v
}

fn info_schema() -> Json {
    let mut v = json!({
        "$schema": DRAFT,
        "$id": format!("{BASE}info.schema.json"),
        "title": "nrledger info --format json",
        "type": "object",
        "required": ["registry", "crs", "crs_name", "layers", "imports", "events"],
        "properties": {
            "registry": {"type": "string"},
            "crs": {"type": "string", "description": "registry CRS, AUTH:CODE or WKT"},
            "crs_name": {"type": "string"},
            "layers": {"type": "array", "items": {"type": "object", "required": ["layer", "title", "vintages", "current_records"],
                "properties": {"layer": {"type": "string"}, "title": {"type": "string"},
                    "vintages": {"type": "array", "items": {"type": "string", "format": "date"}},
                    "current_records": {"type": "integer"}}}},
            "imports": {"type": "array", "items": {"$ref": "#/$defs/ImportLogRow"}},
            "events": {"type": "array", "items": {"$ref": "#/$defs/EventRow"}}
        }
    });
    let defs = json!({
        "ImportLogRow": strip(serde_json::to_value(schemars::schema_for!(ImportLogRow)).expect("json")),
        "EventRow": strip(serde_json::to_value(schemars::schema_for!(EventRow)).expect("json")),
    });
    v.as_object_mut().expect("object").insert("$defs".into(), defs);
    v
}

fn strip(mut v: Json) -> Json {
    if let Some(o) = v.as_object_mut() {
        o.remove("$schema");
    }
    v
}

/// The schema of one exported record of a layer.
fn layer_record(def: &LayerDef, catalog: &Catalog) -> Json {
    let mut props = serde_json::Map::new();
    let mut required = vec![];
    for f in &def.fields {
        let ty = match f.field_type {
            FieldType::Text => json!("string"),
            FieldType::Integer => json!("integer"),
            FieldType::Real => json!("number"),
            FieldType::Date => json!("string"),
        };
        let mut p = serde_json::Map::new();
        p.insert("title".into(), json!(format!("{} {}", f.title, f.title_en)));
        p.insert("type".into(), if f.required { ty } else { json!([ty, "null"]) });
        if f.field_type == FieldType::Date {
            p.insert("format".into(), json!("date"));
        }
        if let Some(pat) = &f.pattern {
            p.insert("pattern".into(), json!(pat));
        }
        if let Some(m) = f.min {
            p.insert("minimum".into(), json!(m));
        }
        if let Some(m) = f.max {
            p.insert("maximum".into(), json!(m));
        }
        if let Some(t) = f.codes.as_deref().and_then(|t| catalog.classes.table(t)) {
            let mut codes: Vec<Json> = t.codes().iter().map(|c| json!(c)).collect();
            if !f.required {
                codes.push(Json::Null);
            }
            p.insert("enum".into(), Json::Array(codes));
            p.insert("description".into(), json!(format!("a code of the `{}` table in layers/classes", f.codes.as_deref().unwrap_or(""))));
        }
        if let Some(of) = &f.name_of {
            p.insert("description".into(), json!(format!("the name of the code in {of}")));
        }
        if f.required {
            required.push(json!(f.name));
        }
        props.insert(f.name.clone(), Json::Object(p));
    }
    for (name, title, ty) in [
        ("area_ell", "椭球面积 ellipsoidal area on the CRS's ellipsoid (m², 2 decimals)", json!("number")),
        ("area_gk", "平面面积 planar area in the registry CRS (m², 2 decimals)", json!("number")),
        ("valid_from", "有效起始日期 first day the record is valid (its vintage)", json!("string")),
        ("valid_to", "有效终止日期 first day it is no longer valid; null while valid", json!(["string", "null"])),
        ("import_id", "导入批次 the import (nr_imports) that wrote it", json!("integer")),
    ] {
        let mut p = json!({"title": title, "type": ty});
        if name.starts_with("valid") {
            p["format"] = json!("date");
        }
        props.insert(name.into(), p);
        if name != "valid_to" {
            required.push(json!(name));
        }
    }
    json!({
        "$schema": DRAFT,
        "$id": format!("{BASE}layers/{}.schema.json", def.kind),
        "title": format!("{} {} — one record as exported (GeoJSON properties, GeoPackage/Shapefile attributes)", def.title, def.title_en),
        "description": format!("Key field: {}. Geometry: MultiPolygon (GeoJSON: CGCS2000 lon/lat as is; GeoPackage/Shapefile: registry CRS).", def.key),
        "type": "object",
        "required": required,
        "properties": props,
        "additionalProperties": false
    })
}
