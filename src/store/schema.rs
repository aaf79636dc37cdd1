//! The registry's table layout, generated from the layer definitions. Documented for users in
//! `schemas/registry.md`.
//!
//! Every layer kind is an ordinary GeoPackage feature table holding **all vintages**: a record is valid
//! from `valid_from` (inclusive) to `valid_to` (exclusive, NULL = still valid). A view `<layer>_current`
//! shows the records valid now. Triggers make the history append-only: rows cannot be deleted, and the
//! only update allowed is closing an open record (setting `valid_to` once).

use crate::catalog::LayerDef;
use crate::crs::CrsInfo;

/// Version of this table layout, stored in `nr_meta`.
pub const SCHEMA_VERSION: &str = "1";

/// Columns every layer table has after its attribute fields, with their types.
pub const SYSTEM_COLUMNS: &[(&str, &str)] = &[
    ("valid_from", "DATE NOT NULL"),
    ("valid_to", "DATE"),
    ("import_id", "INTEGER NOT NULL"),
    ("area_ell", "REAL NOT NULL"),
    ("area_gk", "REAL NOT NULL"),
    ("rec_hash", "TEXT NOT NULL"),
];

fn q(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// SQL creating the GeoPackage core tables and the registry's own tables.
pub fn core_sql(crs: &CrsInfo, srs_id: i32) -> String {
    let org = if crs.epsg.is_some() { "EPSG" } else { "NONE" };
    let org_id = crs.epsg.map(|c| c as i64).unwrap_or(srs_id as i64);
    format!(
        r#"
PRAGMA application_id = 1196444487;
PRAGMA user_version = 10300;
CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
INSERT INTO gpkg_spatial_ref_sys VALUES ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system');
INSERT INTO gpkg_spatial_ref_sys VALUES ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system');
INSERT INTO gpkg_spatial_ref_sys VALUES ('WGS 84 geodetic', 4326, 'EPSG', 4326, 'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]', 'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid');
INSERT OR REPLACE INTO gpkg_spatial_ref_sys VALUES ({name}, {srs_id}, '{org}', {org_id}, {wkt}, 'nrledger registry CRS');
CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
  description TEXT DEFAULT '', last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name), CONSTRAINT uk_gc_table_name UNIQUE (table_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
CREATE TABLE gpkg_extensions (table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL, definition TEXT NOT NULL,
  scope TEXT NOT NULL, CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name));

{meta}
CREATE TABLE nr_imports (import_id INTEGER PRIMARY KEY AUTOINCREMENT, layer TEXT NOT NULL, as_of DATE NOT NULL,
  source_path TEXT NOT NULL, source_sha256 TEXT NOT NULL, source_layer TEXT NOT NULL, driver TEXT NOT NULL,
  profile TEXT NOT NULL, source_crs TEXT NOT NULL, encoding TEXT NOT NULL, mode TEXT NOT NULL,
  read_count INTEGER NOT NULL, inserted INTEGER NOT NULL, unchanged INTEGER NOT NULL, closed INTEGER NOT NULL,
  rejected INTEGER NOT NULL, repaired INTEGER NOT NULL, user TEXT NOT NULL, tool_version TEXT NOT NULL,
  started_at TEXT NOT NULL, finished_at TEXT NOT NULL);
{vintages}
CREATE TABLE nr_events (event_id INTEGER PRIMARY KEY AUTOINCREMENT, unit_code TEXT NOT NULL, event_type TEXT NOT NULL
  CHECK (event_type IN ('首次登记','变更登记','注销登记','更正登记')), event_date DATE NOT NULL, registrar TEXT NOT NULL,
  reason TEXT NOT NULL, document_no TEXT, import_id INTEGER REFERENCES nr_imports(import_id), old_fid INTEGER, new_fid INTEGER,
  recorded_at TEXT NOT NULL, reviewer TEXT, submission_id INTEGER);
CREATE INDEX nr_events_unit ON nr_events(unit_code, event_date);
CREATE TABLE rejects (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, geom GEOMETRY, import_id INTEGER NOT NULL,
  layer TEXT NOT NULL, source_path TEXT NOT NULL, feature_index INTEGER NOT NULL, source_fid INTEGER, record_key TEXT,
  field TEXT, reason TEXT NOT NULL, attributes TEXT NOT NULL);
INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) VALUES
  ('rejects', 'features', 'rejects', '导入拒收记录 Records rejected by imports, with reasons', {srs_id});
INSERT INTO gpkg_geometry_columns VALUES ('rejects', 'geom', 'GEOMETRY', {srs_id}, 0, 0);
INSERT INTO gpkg_contents (table_name, data_type, identifier, description) VALUES
  ('nr_imports', 'attributes', 'nr_imports', '导入日志 Import log'),
  ('nr_vintages', 'attributes', 'nr_vintages', '数据版本 Vintages of each layer'),
  ('nr_events', 'attributes', 'nr_events', '登记事件 Registration events'),
  ('nr_meta', 'attributes', 'nr_meta', 'Registry metadata');
{append_only}
{scoped}
"#,
        name = lit(&crs.name),
        wkt = lit(&crs.wkt),
        meta = META_TABLE,
        vintages = VINTAGES_TABLE,
        append_only = ["nr_imports", "nr_vintages", "nr_events", "rejects"].map(append_only_sql).concat(),
        scoped = scoped_vintages_sql(),
    )
}

// The registry's own attribute tables have an INTEGER PRIMARY KEY, as the GeoPackage standard asks of
// every attribute table (Req 119); their natural keys are UNIQUE constraints.
const META_TABLE: &str = "CREATE TABLE nr_meta (id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, key TEXT NOT NULL UNIQUE, value TEXT NOT NULL);";
const VINTAGES_TABLE: &str =
    "CREATE TABLE nr_vintages (id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, layer TEXT NOT NULL, as_of DATE NOT NULL,
  import_id INTEGER NOT NULL REFERENCES nr_imports(import_id), UNIQUE (layer, as_of));";
const SCOPED_VINTAGES_TABLE: &str = "CREATE TABLE nr_scoped_vintages (id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, layer TEXT NOT NULL,
  scope TEXT NOT NULL, as_of DATE NOT NULL, import_id INTEGER NOT NULL REFERENCES nr_imports(import_id), UNIQUE (layer, scope, as_of));";

/// SQL rebuilding the registry's attribute tables whose primary key was TEXT (registries created before
/// they had an INTEGER one, which the GeoPackage standard asks of attribute tables), keeping every row and
/// the append-only triggers; `tables` names those to rebuild (`nr_meta`, `nr_vintages`, `nr_scoped_vintages`).
pub fn integer_key_sql(tables: &[&str]) -> String {
    let mut sql = String::new();
    for &t in tables {
        let (create, cols) = match t {
            "nr_meta" => (META_TABLE, "key, value"),
            "nr_vintages" => (VINTAGES_TABLE, "layer, as_of, import_id"),
            _ => (SCOPED_VINTAGES_TABLE, "layer, scope, as_of, import_id"),
        };
        let create = create.replacen(&format!("CREATE TABLE {t} ("), &format!("CREATE TABLE {t}_rebuilt ("), 1);
        sql.push_str(&format!(
            "{create}\nINSERT INTO {t}_rebuilt ({cols}) SELECT {cols} FROM {t} ORDER BY rowid;\nDROP TABLE {t};\nALTER TABLE {t}_rebuilt RENAME TO {t};\n"
        ));
        if t != "nr_meta" {
            sql.push_str(&append_only_sql(t));
        }
    }
    sql
}

/// SQL keeping table `t` append-only: triggers refusing every delete and every update.
pub(super) fn append_only_sql(t: &str) -> String {
    format!(
        "CREATE TRIGGER {t}_no_delete BEFORE DELETE ON {t} BEGIN SELECT RAISE(ABORT, 'nrledger: {t} is append-only'); END;\n\
         CREATE TRIGGER {t}_no_update BEFORE UPDATE ON {t} BEGIN SELECT RAISE(ABORT, 'nrledger: {t} is append-only'); END;\n"
    )
}

/// SQL creating `nr_scoped_vintages`: the vintages of one county (scope: a prefix of the layer's scope
/// field) of a layer delivered county by county (`import --scope`). Append-only like `nr_vintages`. Registries created before it get it
/// when they are opened.
pub fn scoped_vintages_sql() -> String {
    let t = "nr_scoped_vintages";
    format!(
        "{SCOPED_VINTAGES_TABLE}
INSERT INTO gpkg_contents (table_name, data_type, identifier, description) VALUES
  ('{t}', 'attributes', '{t}', '分区数据版本 Vintages of one county of a layer (import --scope)');
{}",
        append_only_sql(t)
    )
}

/// SQL creating one layer's feature table, its R-tree index, its current view and its guard triggers.
pub fn layer_sql(def: &LayerDef, srs_id: i32) -> String {
    let t = def.kind.name();
    let mut cols = vec!["fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL".to_string(), "geom MULTIPOLYGON".to_string()];
    cols.extend(def.fields.iter().map(|f| format!("{} {}", q(&f.name), f.field_type.sql())));
    cols.extend(SYSTEM_COLUMNS.iter().map(|(n, ty)| format!("{n} {ty}")));
    let desc = format!("{} {} — all vintages (valid_from ≤ date < valid_to)", def.title, def.title_en);
    let desc_cur = format!("{} {} — records valid now", def.title, def.title_en);
    format!(
        r#"
CREATE TABLE {t} ({cols});
CREATE INDEX {t}_key ON {t}({key}, valid_from);
CREATE INDEX {t}_open ON {t}(valid_to);
{field_indexes}
INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) VALUES ('{t}', 'features', '{t}', {desc}, {srs_id});
INSERT INTO gpkg_geometry_columns VALUES ('{t}', 'geom', 'MULTIPOLYGON', {srs_id}, 0, 0);
CREATE VIRTUAL TABLE rtree_{t}_geom USING rtree(id, minx, maxx, miny, maxy);
INSERT INTO gpkg_extensions VALUES ('{t}', 'geom', 'gpkg_rtree_index', 'http://www.geopackage.org/spec120/#extension_rtree', 'write-only');
CREATE TRIGGER rtree_{t}_geom_insert AFTER INSERT ON {t} WHEN (new.geom NOT NULL AND NOT ST_IsEmpty(NEW.geom))
BEGIN INSERT OR REPLACE INTO rtree_{t}_geom VALUES (NEW.fid, ST_MinX(NEW.geom), ST_MaxX(NEW.geom), ST_MinY(NEW.geom), ST_MaxY(NEW.geom)); END;
CREATE TRIGGER rtree_{t}_geom_update1 AFTER UPDATE OF geom ON {t} WHEN OLD.fid = NEW.fid AND (NEW.geom NOTNULL AND NOT ST_IsEmpty(NEW.geom))
BEGIN INSERT OR REPLACE INTO rtree_{t}_geom VALUES (NEW.fid, ST_MinX(NEW.geom), ST_MaxX(NEW.geom), ST_MinY(NEW.geom), ST_MaxY(NEW.geom)); END;
CREATE TRIGGER rtree_{t}_geom_update2 AFTER UPDATE OF geom ON {t} WHEN OLD.fid = NEW.fid AND (NEW.geom ISNULL OR ST_IsEmpty(NEW.geom))
BEGIN DELETE FROM rtree_{t}_geom WHERE id = OLD.fid; END;
CREATE TRIGGER rtree_{t}_geom_update3 AFTER UPDATE ON {t} WHEN OLD.fid != NEW.fid AND (NEW.geom NOTNULL AND NOT ST_IsEmpty(NEW.geom))
BEGIN DELETE FROM rtree_{t}_geom WHERE id = OLD.fid; INSERT OR REPLACE INTO rtree_{t}_geom VALUES (NEW.fid, ST_MinX(NEW.geom), ST_MaxX(NEW.geom), ST_MinY(NEW.geom), ST_MaxY(NEW.geom)); END;
CREATE TRIGGER rtree_{t}_geom_update4 AFTER UPDATE ON {t} WHEN OLD.fid != NEW.fid AND (NEW.geom ISNULL OR ST_IsEmpty(NEW.geom))
BEGIN DELETE FROM rtree_{t}_geom WHERE id IN (OLD.fid, NEW.fid); END;
CREATE TRIGGER rtree_{t}_geom_delete AFTER DELETE ON {t} WHEN old.geom NOT NULL
BEGIN DELETE FROM rtree_{t}_geom WHERE id = OLD.fid; END;
CREATE TRIGGER {t}_no_delete BEFORE DELETE ON {t}
BEGIN SELECT RAISE(ABORT, 'nrledger: registry records are never deleted; a later vintage or a cancellation closes them'); END;
{close_only}
CREATE VIEW {t}_current AS SELECT * FROM {t} WHERE valid_to IS NULL;
INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) VALUES ('{t}_current', 'features', '{t}_current', {desc_cur}, {srs_id});
INSERT INTO gpkg_geometry_columns VALUES ('{t}_current', 'geom', 'MULTIPOLYGON', {srs_id}, 0, 0);
"#,
        cols = cols.join(", "),
        key = q(&def.key),
        desc = lit(&desc),
        desc_cur = lit(&desc_cur),
        close_only = close_only_sql(def),
        field_indexes = def.indexed_fields().map(|f| field_index_sql(def, f)).collect::<Vec<_>>().join("\n"),
    )
}

/// The name of the index on field `field` of a layer table ([`crate::catalog::FieldDef::indexed`]).
pub fn field_index_name(def: &LayerDef, field: &str) -> String {
    format!("{}_by_{field}", def.kind.name())
}

/// SQL creating the index on an indexed field: the field, then the validity dates, so a read of some
/// classes on a date is answered from the index alone and touches only the rows it keeps.
pub fn field_index_sql(def: &LayerDef, field: &str) -> String {
    format!(
        "CREATE INDEX IF NOT EXISTS {} ON {}({}, valid_from, valid_to);",
        q(&field_index_name(def, field)),
        def.kind.name(),
        q(field)
    )
}

/// The trigger that refuses every update but closing an open record; it names every column, so it is
/// regenerated when columns are added.
pub fn close_only_sql(def: &LayerDef) -> String {
    let t = def.kind.name();
    let all_cols: Vec<String> = ["fid".to_string(), "geom".to_string()]
        .into_iter()
        .chain(def.fields.iter().map(|f| q(&f.name)))
        .chain(SYSTEM_COLUMNS.iter().filter(|(n, _)| *n != "valid_to").map(|(n, _)| n.to_string()))
        .collect();
    let unchanged = all_cols.iter().map(|c| format!("NEW.{c} IS OLD.{c}")).collect::<Vec<_>>().join(" AND ");
    format!(
        "CREATE TRIGGER {t}_close_only BEFORE UPDATE ON {t}
WHEN NOT (OLD.valid_to IS NULL AND NEW.valid_to IS NOT NULL AND NEW.valid_to > OLD.valid_from AND {unchanged})
BEGIN SELECT RAISE(ABORT, 'nrledger: registry records are never overwritten; only closing an open record is allowed'); END;"
    )
}

/// SQL adding the fields a layer definition has and its table lacks (a registry created with an older
/// definition), or None when nothing is missing. New fields are always optional for the old records.
pub fn migrate_sql(def: &LayerDef, existing: &[String]) -> Option<String> {
    let t = def.kind.name();
    let missing: Vec<String> = def
        .fields
        .iter()
        .filter(|f| !existing.iter().any(|c| c.eq_ignore_ascii_case(&f.name)))
        .map(|f| format!("ALTER TABLE {t} ADD COLUMN {} {};", q(&f.name), f.field_type.sql()))
        .collect();
    if missing.is_empty() {
        return None;
    }
    Some(format!(
        "{}
DROP TRIGGER IF EXISTS {t}_close_only;
{}",
        missing.join(
            "
"
        ),
        close_only_sql(def)
    ))
}
