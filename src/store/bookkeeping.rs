//! Bookkeeping fields (数据年份 SJNF …, [`crate::catalog::FieldDef::bookkeeping`]): a later survey may set
//! them on every record without changing what the record says. A record whose other content is unchanged
//! stays one version; the new values are appended to `nr_bookkeeping` (layer, fid, date, import, field,
//! value as JSON) and every read by date shows the latest values kept on or before that date, so an export
//! as of the second survey shows its data year while the record keeps its one version.

use std::collections::HashMap;

use rusqlite::{params, params_from_iter, Connection};

use super::read::{Fields, StoredRecord, When};
use super::Registry;
use crate::catalog::LayerDef;
use crate::error::Result;
use crate::model::{LayerKind, Value};

/// SQL creating `nr_bookkeeping` (append-only, an attribute table of the GeoPackage).
pub(super) fn table_sql() -> String {
    let t = "nr_bookkeeping";
    format!(
        "CREATE TABLE {t} (id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, layer TEXT NOT NULL, fid INTEGER NOT NULL,
  as_of DATE NOT NULL, import_id INTEGER NOT NULL REFERENCES nr_imports(import_id), field TEXT NOT NULL, value TEXT NOT NULL);
CREATE INDEX {t}_by_fid ON {t}(layer, fid);
INSERT INTO gpkg_contents (table_name, data_type, identifier, description) VALUES
  ('{t}', 'attributes', '{t}', '记账字段 Bookkeeping values (SJNF …) set by later imports on unchanged records');
{}",
        super::schema::append_only_sql(t)
    )
}

/// The bookkeeping values kept for a layer's records on or before `at` (all with None): fid → (field
/// position, value), the latest per field.
fn kept(
    conn: &Connection,
    def: &LayerDef,
    at: Option<&str>,
    fids: Option<&[i64]>,
) -> Result<HashMap<i64, Vec<(usize, Value)>>> {
    let mut out: HashMap<i64, Vec<(usize, Value)>> = HashMap::new();
    let only = match fids {
        Some(_) => " AND fid IN rarray(?3)",
        None => "",
    };
    let sql = format!(
        "SELECT fid, field, value FROM nr_bookkeeping WHERE layer = ?1 AND (?2 IS NULL OR as_of <= ?2){only} ORDER BY id"
    );
    let mut st = conn.prepare_cached(&sql)?;
    let ids: std::rc::Rc<Vec<rusqlite::types::Value>> =
        std::rc::Rc::new(fids.unwrap_or_default().iter().map(|&f| rusqlite::types::Value::Integer(f)).collect());
    let layer = def.kind.name();
    let mut args: Vec<&dyn rusqlite::ToSql> = vec![&layer, &at];
    if fids.is_some() {
        args.push(&ids);
    }
    let rows =
        st.query_map(args.as_slice(), |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))?;
    for row in rows {
        let (fid, field, value) = row?;
        let (Some(i), Ok(v)) = (def.field_index(&field), serde_json::from_str::<Value>(&value)) else { continue };
        let vals = out.entry(fid).or_default();
        match vals.iter_mut().find(|(j, _)| *j == i) {
            Some(slot) => slot.1 = v,
            None => vals.push((i, v)),
        }
    }
    Ok(out)
}

/// Bookkeeping values by fid.
pub(super) type ShownNow = rustc_hash::FxHashMap<i64, Box<[Value]>>;

/// The bookkeeping values the open records (of the scope) show now, by fid, in the order of
/// [`LayerDef::bookkeeping_indices`].
pub(super) fn shown(conn: &Connection, def: &LayerDef, scope_sql: &str, scope_params: &[&str]) -> Result<ShownNow> {
    let idx = def.bookkeeping_indices();
    let cols: Vec<String> = idx.iter().map(|&i| format!("\"{}\"", def.fields[i].name)).collect();
    let mut st = conn.prepare(&format!(
        "SELECT fid, {} FROM {} WHERE valid_to IS NULL{scope_sql}",
        cols.join(", "),
        def.kind.name()
    ))?;
    let mut shown = ShownNow::default();
    let mut rows = st.query(params_from_iter(scope_params.iter()))?;
    while let Some(r) = rows.next()? {
        let vals =
            (0..idx.len()).map(|k| super::read::value_of(r.get_ref(k + 1)?)).collect::<rusqlite::Result<Vec<_>>>()?;
        shown.insert(r.get(0)?, vals.into_boxed_slice());
    }
    for (fid, later) in kept(conn, def, None, None)? {
        if let Some(vals) = shown.get_mut(&fid) {
            for (i, v) in later {
                if let Some(k) = idx.iter().position(|&j| j == i) {
                    vals[k] = v;
                }
            }
        }
    }
    Ok(shown)
}

/// For an unchanged record (fid) of an import: append the bookkeeping values that differ from those it
/// shows; whether any did.
#[allow(clippy::too_many_arguments)]
pub(super) fn keep(
    conn: &Connection,
    def: &LayerDef,
    idx: &[usize],
    shown: Option<&[Value]>,
    fid: i64,
    as_of: &str,
    import_id: i64,
    values: &[Value],
) -> Result<bool> {
    let Some(shown) = shown else { return Ok(false) };
    let mut any = false;
    for (k, &i) in idx.iter().enumerate() {
        if values[i] != shown[k] {
            let mut st = conn.prepare_cached(
                "INSERT INTO nr_bookkeeping (layer, fid, as_of, import_id, field, value) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            let json = serde_json::to_string(&values[i]).expect("values serialise");
            st.execute(params![def.kind.name(), fid, as_of, import_id, def.fields[i].name, json])?;
            any = true;
        }
    }
    Ok(any)
}

impl Registry {
    /// Whether the registry's record hashes leave the bookkeeping fields out (a registry created with
    /// them); an older one's cover every field, and imports compare against both.
    pub fn hashes_leave_out_bookkeeping(&self) -> Result<bool> {
        let v: Option<String> = rusqlite::OptionalExtension::optional(self.conn.query_row(
            "SELECT value FROM nr_meta WHERE key = 'record_hash'",
            [],
            |r| r.get(0),
        ))?;
        Ok(v.as_deref() == Some(RECORD_HASH))
    }

    /// The bookkeeping values a read shows ([`Shown`]): for a read by date (or of the current records) those
    /// kept on or before that day for the fields the read fills in; none for a read of every version (the
    /// history shows each version as it was stored).
    pub(super) fn bookkeeping_shown(
        &self,
        kind: LayerKind,
        when: When,
        fields: Fields,
        fids: Option<&[i64]>,
    ) -> Result<Shown> {
        let def = self.catalog.layer(kind);
        let day = match when {
            When::Every | When::During(..) => return Ok(Shown::default()),
            When::Current => None,
            When::On(d) => Some(d.format("%Y-%m-%d").to_string()),
        };
        if !def.bookkeeping_indices().iter().any(|&i| fields.reads(&def.fields[i].name)) {
            return Ok(Shown::default());
        }
        let mut kept = kept(&self.conn, def, day.as_deref(), fids)?;
        for values in kept.values_mut() {
            values.retain(|(i, _)| fields.reads(&def.fields[*i].name));
        }
        Ok(Shown(kept))
    }
}

/// Bookkeeping values to show on the records of a read: fid → (field position, value).
#[derive(Debug, Default)]
pub(super) struct Shown(HashMap<i64, Vec<(usize, Value)>>);

impl Shown {
    /// Put the values kept for `r` in its slots.
    pub(super) fn apply(&self, r: &mut StoredRecord) {
        if self.0.is_empty() {
            return;
        }
        for (i, v) in self.0.get(&r.fid).into_iter().flatten() {
            // a read of some fields stops after the last one read
            if let Some(slot) = r.record.values.get_mut(*i) {
                *slot = v.clone();
            }
        }
    }
}

/// `nr_meta.record_hash` of a registry whose record hashes leave the bookkeeping fields out.
pub(super) const RECORD_HASH: &str = "without-bookkeeping";
