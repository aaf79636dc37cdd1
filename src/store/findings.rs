//! Stored check runs (`nrledger check --store`): the run (`nr_check_runs`: when, on which date and
//! vintages, which rules and tolerances, its summary) and its findings (`nr_findings`, a GeoPackage feature
//! table QGIS can open: the piece at fault, or no geometry for an attribute finding), written in one
//! transaction and append-only, like the import log. The service's `findings` collection is the latest run's.

use rusqlite::{params, OptionalExtension};

use super::{locked_or, Registry};
use crate::error::Result;
use crate::io::blob;

/// One finding as the registry keeps it (the check's own type lives above the store).
#[derive(Debug, Clone, PartialEq)]
pub struct FindingRow {
    /// Its row in `nr_findings` (0 before it is stored).
    pub fid: i64,
    /// Rule code (`NR101` …).
    pub rule: String,
    /// Rule name.
    pub name: String,
    /// `error`, `warning` or `info`.
    pub severity: String,
    /// `sliver`, `piece` or `attribute`.
    pub class: String,
    /// The layers involved, `;`-separated.
    pub layers: String,
    /// The records' keys, `;`-separated.
    pub ids: String,
    /// The records' fids, `;`-separated.
    pub fids: String,
    /// Ellipsoidal area of the piece, m².
    pub area_m2: f64,
    /// What is wrong.
    pub message: String,
    /// The approval of the exception that covers it.
    pub excepted_by: Option<String>,
    /// The piece at fault, registry CRS.
    pub geometry: Option<geo::MultiPolygon<f64>>,
}

/// A stored run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRun {
    /// Its id (0 before it is stored).
    pub run_id: i64,
    /// When it ran (RFC 3339).
    pub ran_at: String,
    /// The date checked (None: the current records).
    pub as_of: Option<String>,
    /// The region it was limited to.
    pub region: Option<String>,
    /// The rules run, `;`-separated codes.
    pub rules: String,
    /// Where the rules came from.
    pub rules_source: String,
    /// The vintages read, the tolerances and the per-rule summary, as the report's JSON.
    pub report: String,
    /// Who ran it (the user of the process).
    pub user: String,
    /// nrledger's version.
    pub tool_version: String,
    /// How many findings it stored (set when read back).
    pub findings: i64,
}

/// SQL creating the two tables.
pub(super) fn tables_sql(srs_id: i32) -> String {
    let guard = super::schema::append_only_sql;
    format!(
        "CREATE TABLE nr_check_runs (run_id INTEGER PRIMARY KEY AUTOINCREMENT, ran_at TEXT NOT NULL, as_of DATE, region TEXT,
  rules TEXT NOT NULL, rules_source TEXT NOT NULL, report TEXT NOT NULL, user TEXT NOT NULL, tool_version TEXT NOT NULL,
  findings INTEGER NOT NULL);
CREATE TABLE nr_findings (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, geom MULTIPOLYGON,
  run_id INTEGER NOT NULL REFERENCES nr_check_runs(run_id), rule TEXT NOT NULL, name TEXT NOT NULL, severity TEXT NOT NULL,
  class TEXT NOT NULL, layers TEXT NOT NULL, ids TEXT NOT NULL, fids TEXT NOT NULL, area_m2 REAL NOT NULL,
  message TEXT NOT NULL, excepted_by TEXT);
CREATE INDEX nr_findings_run ON nr_findings(run_id);
INSERT INTO gpkg_contents (table_name, data_type, identifier, description) VALUES
  ('nr_check_runs', 'attributes', 'nr_check_runs', '检查记录 Stored check runs');
INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) VALUES
  ('nr_findings', 'features', 'nr_findings', '检查发现 Findings of the stored check runs', {srs_id});
INSERT INTO gpkg_geometry_columns VALUES ('nr_findings', 'geom', 'MULTIPOLYGON', {srs_id}, 0, 0);
{}{}",
        guard("nr_check_runs"),
        guard("nr_findings")
    )
}

impl Registry {
    /// Store a check run and its findings, all or nothing; the run's id.
    pub fn store_check_run(&self, run: &CheckRun, findings: &[FindingRow]) -> Result<i64> {
        let path = self.path.clone();
        let tx = self.conn.unchecked_transaction().map_err(|e| locked_or(&path, e))?;
        tx.execute(
            "INSERT INTO nr_check_runs (ran_at, as_of, region, rules, rules_source, report, user, tool_version, findings)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                run.ran_at,
                run.as_of,
                run.region,
                run.rules,
                run.rules_source,
                run.report,
                run.user,
                run.tool_version,
                findings.len() as i64
            ],
        )
        .map_err(|e| locked_or(&path, e))?;
        let run_id = tx.last_insert_rowid();
        {
            let mut st = tx.prepare(
                "INSERT INTO nr_findings (geom, run_id, rule, name, severity, class, layers, ids, fids, area_m2, message, excepted_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?;
            for f in findings {
                st.execute(params![
                    f.geometry.as_ref().map(|g| blob::encode(g, self.srs_id)),
                    run_id,
                    f.rule,
                    f.name,
                    f.severity,
                    f.class,
                    f.layers,
                    f.ids,
                    f.fids,
                    f.area_m2,
                    f.message,
                    f.excepted_by
                ])
                .map_err(|e| locked_or(&path, e))?;
            }
        }
        tx.commit().map_err(|e| locked_or(&path, e))?;
        Ok(run_id)
    }

    /// The latest stored check run (without its findings); None before any.
    pub fn latest_check_run(&self) -> Result<Option<CheckRun>> {
        Ok(self
            .conn
            .query_row(
                "SELECT run_id, ran_at, as_of, region, rules, rules_source, report, user, tool_version, findings
                 FROM nr_check_runs ORDER BY run_id DESC LIMIT 1",
                [],
                |r| {
                    Ok(CheckRun {
                        run_id: r.get(0)?,
                        ran_at: r.get(1)?,
                        as_of: r.get(2)?,
                        region: r.get(3)?,
                        rules: r.get(4)?,
                        rules_source: r.get(5)?,
                        report: r.get(6)?,
                        user: r.get(7)?,
                        tool_version: r.get(8)?,
                        findings: r.get(9)?,
                    })
                },
            )
            .optional()?)
    }

    /// The latest stored check run and its findings, in the order found; None before any.
    pub fn latest_findings(&self) -> Result<Option<(CheckRun, Vec<FindingRow>)>> {
        let Some(run) = self.latest_check_run()? else { return Ok(None) };
        let mut st = self.conn.prepare(
            "SELECT fid, rule, name, severity, class, layers, ids, fids, area_m2, message, excepted_by, geom
             FROM nr_findings WHERE run_id = ?1 ORDER BY fid",
        )?;
        let rows = st.query_map([run.run_id], |r| {
            let g: Option<Vec<u8>> = r.get(11)?;
            Ok(FindingRow {
                fid: r.get(0)?,
                rule: r.get(1)?,
                name: r.get(2)?,
                severity: r.get(3)?,
                class: r.get(4)?,
                layers: r.get(5)?,
                ids: r.get(6)?,
                fids: r.get(7)?,
                area_m2: r.get(8)?,
                message: r.get(9)?,
                excepted_by: r.get(10)?,
                geometry: g.and_then(|b| blob::decode(&b).ok()),
            })
        })?;
        let findings = rows.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(Some((run, findings)))
    }
}
