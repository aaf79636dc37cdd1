//! The JSON Schemas in `schemas/`, generated from the code and the catalog so they never drift:
//! `nrledger schemas --out schemas` rewrites them and a test fails when the committed files differ.
//!
//! - `layers/<kind>.schema.json`: a record of each layer as exported (GeoJSON `properties`), from the
//!   layer definitions and class tables;
//! - `layer-definition.schema.json`, `profile.schema.json`: the TOML files in `layers/`;
//! - `import-report.schema.json`, `query.schema.json`, `info.schema.json`, `check-report.schema.json`: the
//!   `--format json` outputs; `exceptions.schema.json`: the allow-list file of `nrledger check`; `book.schema.json`: the register-book page;
//! - `balance.schema.json` (`nrledger balance --format json`), `targets.schema.json` (the targets file), and
//!   Frictionless Table Schemas for the balance sheet's tabular inputs (`forest-changes`, `water`) and its
//!   tidy CSV/Parquet output (`balance-tables`); `balance-trace.schema.json`: the `--trace` layer;
//! - `screen.schema.json` (`nrledger screen --format json`) and `screen-patches.schema.json` (its `--patches` layer).

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
    let mut out: Vec<(String, Json)> =
        catalog.layers().iter().map(|d| (format!("layers/{}.schema.json", d.kind), layer_record(d, catalog))).collect();
    out.push(("layer-definition.schema.json".into(), schemars_json::<LayerDef>("layer-definition")));
    out.push(("profile.schema.json".into(), schemars_json::<Profile>("profile")));
    out.push(("import-report.schema.json".into(), schemars_json::<ImportReport>("import-report")));
    out.push(("query.schema.json".into(), schemars_json::<Vec<Hit>>("query")));
    out.push(("info.schema.json".into(), info_schema()));
    out.push(("check-report.schema.json".into(), schemars_json::<crate::checks::CheckReport>("check-report")));
    out.push(("inspect-report.schema.json".into(), schemars_json::<crate::inspect::InspectReport>("inspect-report")));
    out.push(("exceptions.schema.json".into(), schemars_json::<crate::checks::Exceptions>("exceptions")));
    out.push(("book.schema.json".into(), schemars_json::<crate::book::BookPage>("book")));
    out.push(("balance.schema.json".into(), schemars_json::<crate::balance::BalanceJson>("balance")));
    out.push((
        "balance-series.schema.json".into(),
        schemars_json::<crate::balance::series::SeriesJson>("balance-series"),
    ));
    out.push(("warning.schema.json".into(), schemars_json::<crate::warning::Warning>("warning")));
    out.push(("audit.schema.json".into(), schemars_json::<crate::audit::Audit>("audit")));
    out.push(("targets.schema.json".into(), schemars_json::<crate::balance::inputs::Targets>("targets")));
    out.push(("indicators.schema.json".into(), schemars_json::<crate::evaluation::system::SystemFile>("indicators")));
    out.push(("forest-changes.tableschema.json".into(), forest_changes_schema()));
    out.push(("water.tableschema.json".into(), water_schema()));
    out.push(("livestock.tableschema.json".into(), livestock_schema()));
    out.push(("balance-tables.tableschema.json".into(), tidy_schema()));
    out.push(("balance-trace.schema.json".into(), trace_schema()));
    out.push(("screen.schema.json".into(), schemars_json::<crate::monitor::Screening>("screen")));
    out.push(("screen-patches.schema.json".into(), patches_schema()));
    out.into_iter().map(|(p, j)| (p, serde_json::to_string_pretty(&j).expect("json") + "\n")).collect()
}

/// A Frictionless Table Schema (<https://specs.frictionlessdata.io/table-schema/>) for a CSV/Parquet input or output.
fn table_schema(id: &str, title: &str, description: &str, fields: Json) -> Json {
    json!({
        "$id": format!("{BASE}{id}.tableschema.json"),
        "title": title,
        "description": description,
        "profile": "tabular-data-resource table schema; CSV in UTF-8 with a header row, or Parquet with the same column names",
        "fields": fields
    })
}

fn forest_changes_schema() -> Json {
    table_schema(
        "forest-changes",
        "林木资源变动 forest changes (nrledger balance --forest-changes)",
        "One row per region, year, origin and item. Rows of the sheet's region and the regions under it (code prefix) are taken, for the years whose 31 December lies in the period. English column names (region, year, origin, item, volume_m3, area_ha) are accepted too.",
        json!([
            {"name": "行政区代码", "title": "region code (GB/T 2260, 6–12 digits)", "type": "string", "constraints": {"required": true, "pattern": "^[0-9]{6,12}$"}},
            {"name": "年份", "title": "calendar year", "type": "integer", "constraints": {"required": true, "minimum": 1900, "maximum": 2200}},
            {"name": "起源", "title": "origin: 天然 natural, 人工 planted, 其他 other (aliases of layers/classes/forest-origin.csv accepted)", "type": "string", "constraints": {"required": true}},
            {"name": "项目", "title": "item: 生长量 growth, 造林 afforestation (increases); 采伐 harvest, 灾害 disaster losses (decreases)", "type": "string", "constraints": {"required": true, "enum": ["生长量", "造林", "采伐", "灾害"]}},
            {"name": "蓄积量", "title": "stock volume, m³ (non-negative; the item says the direction)", "type": "number", "constraints": {"required": true, "minimum": 0}},
            {"name": "面积", "title": "area, ha (optional, informative)", "type": "number", "constraints": {"required": false, "minimum": 0}}
        ]),
    )
}

fn water_schema() -> Json {
    let cfg = crate::balance::inputs::BalanceConfig::load(None).expect("embedded balance configuration");
    let mut accounts: Vec<&str> = cfg.water_items.iter().map(|w| w.account.as_str()).collect();
    accounts.dedup();
    let mut items: Vec<&str> = cfg.water_items.iter().map(|w| w.item.as_str()).collect();
    items.sort();
    items.dedup();
    let list: Vec<String> =
        cfg.water_items.iter().map(|w| format!("{}/{} ({:?}: {})", w.account, w.item, w.kind, w.name_en)).collect();
    table_schema(
        "water",
        "水资源统计 water statistics (nrledger balance --water), water-resources bulletin style",
        &format!(
            "One row per region, year, account and item, values in 万 m³ (quality: number of assessed sections). Items (layers/rules/water-items.csv): {}. English column names (region, year, account, item, value) are accepted too.",
            list.join("; ")
        ),
        json!([
            {"name": "行政区代码", "title": "region code (GB/T 2260, 6–12 digits)", "type": "string", "constraints": {"required": true, "pattern": "^[0-9]{6,12}$"}},
            {"name": "年份", "title": "calendar year", "type": "integer", "constraints": {"required": true, "minimum": 1900, "maximum": 2200}},
            {"name": "类别", "title": "account", "type": "string", "constraints": {"required": true, "enum": accounts}},
            {"name": "项目", "title": "item (valid combinations of 类别 and 项目: see the description)", "type": "string", "constraints": {"required": true, "enum": items}},
            {"name": "数值", "title": "value, 万 m³ (sections for 水质)", "type": "number", "constraints": {"required": true, "minimum": 0}}
        ]),
    )
}

fn livestock_schema() -> Json {
    let rules = crate::balance::grazing::GrazingRules::parse(
        crate::balance::grazing::DEFAULT,
        "layers/rules/grazing.toml",
        &crate::catalog::Catalog::embedded().expect("embedded catalog"),
    )
    .expect("embedded grazing rules");
    let kinds: Vec<&str> = rules.sheep_units.keys().map(String::as_str).collect();
    table_schema(
        "livestock",
        "牲畜存栏 livestock (nrledger balance|audit|warn --livestock), for the 草畜平衡",
        "One row per region, year and kind: the head at the end of the year (年末存栏). A date's stocking is the count of the latest year ending on or before it. Rows of the sheet's region and the regions under it (code prefix) are taken. Kinds are the keys of [sheep_units] in layers/rules/grazing.toml (a --rules folder may name others). English column names (region, year, kind, head) are accepted too.",
        json!([
            {"name": "行政区代码", "title": "region code (GB/T 2260, 6–12 digits)", "type": "string", "constraints": {"required": true, "pattern": "^[0-9]{6,12}$"}},
            {"name": "年份", "title": "calendar year (the count is at its end)", "type": "integer", "constraints": {"required": true, "minimum": 1900, "maximum": 2200}},
            {"name": "畜种", "title": "kind of livestock (default coefficients: layers/rules/grazing.toml)", "type": "string", "constraints": {"required": true, "enum": kinds}},
            {"name": "存栏数", "title": "head at the end of the year", "type": "number", "constraints": {"required": true, "minimum": 0}}
        ]),
    )
}

fn tidy_schema() -> Json {
    table_schema(
        "balance-tables",
        "nrledger balance --format csv|parquet: every cell of every table of the sheet as one row",
        "Tables (ids): land, matrix, of_which, quality, forest_area, forest_volume, water, water_quality, water_area, liabilities; with the accounts that apply: wetland, wetland_types, grassland, grassland_classes, grassland_grades, grazing, resources_inside, causes. The XLSX workbook holds the same tables, one sheet each, with Chinese headers and English on a second header row.",
        json!([
            {"name": "table", "title": "table id", "type": "string", "constraints": {"required": true}},
            {"name": "table_title", "title": "Chinese table title", "type": "string", "constraints": {"required": true}},
            {"name": "code", "title": "row code (class code, origin, item …; empty on total rows)", "type": "string"},
            {"name": "name", "title": "row label", "type": "string", "constraints": {"required": true}},
            {"name": "column", "title": "Chinese column header", "type": "string", "constraints": {"required": true}},
            {"name": "column_en", "title": "English column header", "type": "string", "constraints": {"required": true}},
            {"name": "unit", "title": "unit (公顷, 亩, m², m³, 万m³, %, …)", "type": "string"},
            {"name": "value", "title": "value; empty when not applicable or not provided", "type": "number"}
        ]),
    )
}

fn trace_schema() -> Json {
    json!({
        "$schema": DRAFT,
        "$id": format!("{BASE}balance-trace.schema.json"),
        "title": "nrledger balance --trace: one piece of ground that changed class (GeoJSON properties, GeoPackage layer balance_trace)",
        "description": "Geometry: the piece (MultiPolygon; GeoJSON in CGCS2000 lon/lat, GeoPackage in the registry CRS). Pieces of one (from_class, to_class) add up to that cell of the transition matrix, apart from 田坎 shares, which move with their parcels.",
        "type": "object",
        "required": ["from_fid", "from_key", "from_class", "from_code", "to_fid", "to_key", "to_class", "to_code", "area_m2"],
        "additionalProperties": false,
        "properties": {
            "from_fid": {"type": "integer", "description": "registry fid of the opening parcel (negative: 未覆盖 ground)"},
            "from_key": {"type": "string", "description": "BSM of the opening parcel (empty for 未覆盖)"},
            "from_class": {"type": "string", "description": "opening class at the sheet's level"},
            "from_code": {"type": "string", "description": "opening DLBM as delivered"},
            "to_fid": {"type": "integer"},
            "to_key": {"type": "string"},
            "to_class": {"type": "string"},
            "to_code": {"type": "string"},
            "area_m2": {"type": "number", "description": "ellipsoidal area, m²"}
        }
    })
}

/// The layer `nrledger screen --patches` writes, from its column list.
fn patches_schema() -> Json {
    use crate::model::FieldType;
    let properties: serde_json::Map<String, Json> = crate::monitor::table::COLUMNS
        .iter()
        .map(|(name, ty, what)| {
            let t = match ty {
                FieldType::Text => json!({"type": ["string", "null"], "description": what}),
                FieldType::Date => json!({"type": "string", "format": "date", "description": what}),
                FieldType::Real | FieldType::Integer => json!({"type": "number", "description": what}),
            };
            (name.to_string(), t)
        })
        .collect();
    json!({
        "$schema": DRAFT,
        "$id": format!("{BASE}screen-patches.schema.json"),
        "title": "nrledger screen --patches: one changed piece of ground of concern (监测图斑; GeoJSON properties, GeoPackage layer screen_patches)",
        "description": "Geometry: the piece (MultiPolygon; GeoJSON in CGCS2000 lon/lat, GeoPackage in the registry CRS). Statuses and what covers which change: layers/rules/monitoring.toml.",
        "type": "object",
        "required": crate::monitor::table::COLUMNS.iter().map(|c| c.0).collect::<Vec<_>>(),
        "additionalProperties": false,
        "properties": properties,
    })
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
        if f.field_type == FieldType::Text {
            p.insert("maxLength".into(), json!(f.max_length.unwrap_or(crate::catalog::FieldDef::TEXT_MAX)));
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
            p.insert(
                "description".into(),
                json!(format!("a code of the `{}` table in layers/classes", f.codes.as_deref().unwrap_or(""))),
            );
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
