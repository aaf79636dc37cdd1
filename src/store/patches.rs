//! Suspect patches followed to their end (疑似违法图斑 → 销号): `nr_patches` (a GeoPackage feature table QGIS
//! can open) holds each patch a stored screening found, as it was found; `nr_patch_steps` every step taken
//! on it (待核查 → 已核查 → 整改中 → 已整改 → 销号: date, person, result, note); `nr_patch_evidence` the files
//! kept with a step (a field photo, a document), content-hashed. All three are append-only: a patch's
//! history is its steps. Which step may follow which is the monitor's rule ([`crate::monitor::follow`]),
//! checked here inside the writing transaction, so two people stepping one patch cannot both pass it.

use rusqlite::{params, OptionalExtension};

use super::trail::{self, Actor, Change};
use super::{locked_or, Registry};
use crate::error::{Error, Result};
use crate::io::blob;
use crate::monitor::follow::{self, NewStep, Step};

/// A patch as stored.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct PatchRow {
    /// 监测编号.
    pub patch_id: String,
    /// 新增建设用地 / 耕地流出.
    pub change: String,
    /// The screening's verdict when it was stored (未覆盖（疑似违法）/ 部分覆盖).
    pub screened: String,
    /// The earlier and later survey dates.
    pub from_date: String,
    /// The later survey's date.
    pub to_date: String,
    /// The parcels before and after (BSM) with their classes.
    pub before: String,
    /// The parcel after.
    pub after: String,
    /// Township code.
    pub township: String,
    /// Ellipsoidal area, m².
    pub area_m2: f64,
    /// Of it uncovered when screened, m².
    pub uncovered_m2: f64,
    /// Its latest step.
    pub step: Step,
    /// The result of its 核查, once checked (合法 / 违法 / 其他).
    pub result: Option<String>,
    /// The date of its latest step.
    pub step_date: String,
    /// The latest later survey that shows its ground restored (to be confirmed by a step), if any.
    pub restored_in: Option<String>,
}

/// A stored patch not yet closed, as a later survey is compared with it.
pub struct OpenPatch {
    /// 监测编号.
    pub patch_id: String,
    /// 新增建设用地 / 耕地流出.
    pub change: String,
    /// The survey it was found in.
    pub to_date: String,
    /// Its ground.
    pub geometry: geo::MultiPolygon<f64>,
    /// Its area, m².
    pub area_m2: f64,
}

/// One step taken on a patch.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct StepRow {
    /// Its number.
    pub id: i64,
    /// The step.
    pub step: Step,
    /// The 核查 result (已核查 only).
    pub result: Option<String>,
    /// The day it was taken.
    pub date: String,
    /// Who took it.
    pub person: String,
    /// What was seen or done.
    pub note: String,
    /// When it was recorded (UTC).
    pub recorded_at: String,
    /// The files kept with it: name, SHA-256, bytes.
    pub evidence: Vec<(String, String, i64)>,
}

/// SQL creating the tables (a registry made before them gets them when opened).
pub(super) fn tables_sql(srs_id: i32) -> String {
    let guard = super::schema::append_only_sql;
    format!(
        "CREATE TABLE nr_patches (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, geom MULTIPOLYGON, patch_id TEXT NOT NULL UNIQUE,
  change TEXT NOT NULL, screened TEXT NOT NULL, from_date DATE NOT NULL, to_date DATE NOT NULL, before TEXT NOT NULL,
  after TEXT NOT NULL, township TEXT NOT NULL, area_m2 REAL NOT NULL, uncovered_m2 REAL NOT NULL, compared TEXT NOT NULL,
  stored_at TEXT NOT NULL);
CREATE TABLE nr_patch_steps (id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, patch_id TEXT NOT NULL REFERENCES nr_patches(patch_id),
  step TEXT NOT NULL CHECK (step IN ('待核查','已核查','整改中','已整改','销号')), result TEXT CHECK (result IN ('合法','违法','其他')),
  step_date DATE NOT NULL, person TEXT NOT NULL, note TEXT NOT NULL, recorded_at TEXT NOT NULL);
CREATE INDEX nr_patch_steps_patch ON nr_patch_steps(patch_id, id);
CREATE TABLE nr_patch_restored (id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, patch_id TEXT NOT NULL REFERENCES nr_patches(patch_id),
  survey DATE NOT NULL, restored_m2 REAL NOT NULL, recorded_at TEXT NOT NULL, UNIQUE (patch_id, survey));
CREATE TABLE nr_patch_evidence (id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, step_id INTEGER NOT NULL REFERENCES nr_patch_steps(id),
  file_name TEXT NOT NULL, sha256 TEXT NOT NULL, bytes INTEGER NOT NULL, content BLOB NOT NULL);
INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) VALUES
  ('nr_patches', 'features', 'nr_patches', '疑似违法图斑 Suspect patches of stored screenings', {srs_id});
INSERT INTO gpkg_geometry_columns VALUES ('nr_patches', 'geom', 'MULTIPOLYGON', {srs_id}, 0, 0);
INSERT INTO gpkg_contents (table_name, data_type, identifier, description) VALUES
  ('nr_patch_steps', 'attributes', 'nr_patch_steps', '图斑核查整改记录 Steps taken on suspect patches'),
  ('nr_patch_evidence', 'attributes', 'nr_patch_evidence', '图斑佐证材料 Evidence kept with the steps'),
  ('nr_patch_restored', 'attributes', 'nr_patch_restored', '图斑复原 Later surveys showing a patch ground restored (to be confirmed)');
{}{}{}{}",
        guard("nr_patches"),
        guard("nr_patch_steps"),
        guard("nr_patch_evidence"),
        guard("nr_patch_restored")
    )
}

impl Registry {
    /// Store the suspect patches (not or partly covered) of a screening, each with its first step 待核查 on
    /// the later survey's date; patches already stored are left as they are. (new, already stored).
    pub fn store_patches(&self, s: &crate::monitor::Screening, by: &Actor) -> Result<(usize, usize)> {
        let tx = self.writing()?;
        let (mut new, mut known) = (0, 0);
        for p in s.patches.iter().filter(|p| p.status.is_suspect()) {
            let have: i64 =
                tx.query_row("SELECT count(*) FROM nr_patches WHERE patch_id = ?1", [&p.id], |r| r.get(0))?;
            if have > 0 {
                known += 1;
                continue;
            }
            tx.execute(
                "INSERT INTO nr_patches (geom, patch_id, change, screened, from_date, to_date, before, after, township,
                   area_m2, uncovered_m2, compared, stored_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                params![
                    blob::encode(&p.geometry, self.srs_id),
                    p.id,
                    p.change.label(),
                    p.status.label(),
                    s.from,
                    s.to,
                    format!("{} {} {}", p.before.key, p.before.class, p.before.name),
                    format!("{} {} {}", p.after.key, p.after.class, p.after.name),
                    p.township,
                    p.area_m2.0,
                    p.uncovered_m2.0,
                    crate::monitor::table::compared(p),
                    chrono::Utc::now().to_rfc3339(),
                ],
            )
            .map_err(|e| locked_or(&self.path, e))?;
            tx.execute(
                "INSERT INTO nr_patch_steps (patch_id, step, result, step_date, person, note, recorded_at)
                 VALUES (?1, '待核查', NULL, ?2, ?3, ?4, ?5)",
                params![
                    p.id,
                    s.to,
                    by.who,
                    format!("screening {} → {}", s.from, s.to),
                    chrono::Utc::now().to_rfc3339()
                ],
            )
            .map_err(|e| locked_or(&self.path, e))?;
            new += 1;
        }
        if new > 0 {
            let target = format!("screening {} {} → {}", s.region, s.from, s.to);
            let change = Change {
                action: "patch.store",
                target: &target,
                detail: format!("{new} new patch(es)"),
                before: None,
                after: None,
            };
            trail::record(&tx, by, &change)?;
        }
        tx.commit().map_err(|e| locked_or(&self.path, e))?;
        Ok((new, known))
    }

    /// The stored patches with their latest step, by patch id.
    pub fn patches(&self) -> Result<Vec<PatchRow>> {
        let mut st = self.conn.prepare(
            "SELECT p.patch_id, p.change, p.screened, p.from_date, p.to_date, p.before, p.after, p.township, p.area_m2,
               p.uncovered_m2, s.step, (SELECT result FROM nr_patch_steps r WHERE r.patch_id = p.patch_id AND r.result IS NOT NULL
               ORDER BY r.id DESC LIMIT 1), s.step_date,
               (SELECT max(survey) FROM nr_patch_restored x WHERE x.patch_id = p.patch_id)
             FROM nr_patches p JOIN nr_patch_steps s ON s.id = (SELECT max(id) FROM nr_patch_steps WHERE patch_id = p.patch_id)
             ORDER BY p.patch_id",
        )?;
        let rows = st.query_map([], |r| {
            let step: String = r.get(10)?;
            Ok(PatchRow {
                patch_id: r.get(0)?,
                change: r.get(1)?,
                screened: r.get(2)?,
                from_date: r.get(3)?,
                to_date: r.get(4)?,
                before: r.get(5)?,
                after: r.get(6)?,
                township: r.get(7)?,
                area_m2: r.get(8)?,
                uncovered_m2: r.get(9)?,
                step: Step::parse(&step).unwrap_or(Step::Pending),
                result: r.get(11)?,
                step_date: r.get(12)?,
                restored_in: r.get(13)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The stored patches not closed (销号) found before `before`, with their ground.
    pub fn open_patches(&self, before: &str) -> Result<Vec<OpenPatch>> {
        let mut st = self.conn.prepare(
            "SELECT p.patch_id, p.change, p.to_date, p.geom, p.area_m2 FROM nr_patches p WHERE p.to_date < ?1
               AND (SELECT step FROM nr_patch_steps s WHERE s.patch_id = p.patch_id ORDER BY id DESC LIMIT 1) <> '销号'
             ORDER BY p.patch_id",
        )?;
        let rows = st.query_map([before], |r| {
            let g: Vec<u8> = r.get(3)?;
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, g, r.get(4)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (patch_id, change, to_date, g, area_m2): (String, String, String, Vec<u8>, f64) = row?;
            let geometry =
                blob::decode(&g).map_err(|e| Error::Invalid(format!("nr_patches {patch_id}: geometry: {e}")))?;
            out.push(OpenPatch { patch_id, change, to_date, geometry, area_m2 });
        }
        Ok(out)
    }

    /// Record that the survey of `survey` shows these patches' ground restored (patch, restored m²); one
    /// already recorded for that survey is left as it is. How many were new.
    pub fn mark_restored(&self, survey: &str, restored: &[(String, f64)], by: &Actor) -> Result<usize> {
        let tx = self.writing()?;
        let mut new = 0;
        for (patch_id, m2) in restored {
            new += tx
                .execute(
                    "INSERT OR IGNORE INTO nr_patch_restored (patch_id, survey, restored_m2, recorded_at) VALUES (?1, ?2, ?3, ?4)",
                    params![patch_id, survey, m2, chrono::Utc::now().to_rfc3339()],
                )
                .map_err(|e| locked_or(&self.path, e))?;
        }
        if new > 0 {
            let target = format!("survey {survey}");
            let change = Change {
                action: "patch.restored",
                target: &target,
                detail: format!("{new} patch(es) restored, to confirm"),
                before: None,
                after: None,
            };
            trail::record(&tx, by, &change)?;
        }
        tx.commit().map_err(|e| locked_or(&self.path, e))?;
        Ok(new)
    }

    /// A patch's steps, oldest first, with their evidence (None: no such patch).
    pub fn patch_steps(&self, patch_id: &str) -> Result<Option<Vec<StepRow>>> {
        let exists: Option<i64> = self
            .conn
            .query_row("SELECT fid FROM nr_patches WHERE patch_id = ?1", [patch_id], |r| r.get(0))
            .optional()?;
        if exists.is_none() {
            return Ok(None);
        }
        let mut st = self.conn.prepare(
            "SELECT id, step, result, step_date, person, note, recorded_at FROM nr_patch_steps WHERE patch_id = ?1 ORDER BY id",
        )?;
        let mut ev = self
            .conn
            .prepare("SELECT file_name, sha256, bytes FROM nr_patch_evidence WHERE step_id = ?1 ORDER BY id")?;
        let mut out: Vec<StepRow> = st
            .query_map([patch_id], |r| {
                let step: String = r.get(1)?;
                Ok(StepRow {
                    id: r.get(0)?,
                    step: Step::parse(&step).unwrap_or(Step::Pending),
                    result: r.get(2)?,
                    date: r.get(3)?,
                    person: r.get(4)?,
                    note: r.get(5)?,
                    recorded_at: r.get(6)?,
                    evidence: Vec::new(),
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        for s in &mut out {
            s.evidence =
                ev.query_map([s.id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<rusqlite::Result<_>>()?;
        }
        Ok(Some(out))
    }

    /// The content of an evidence file of a patch, by its SHA-256.
    pub fn patch_evidence(&self, patch_id: &str, sha256: &str) -> Result<Option<(String, Vec<u8>)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT e.file_name, e.content FROM nr_patch_evidence e JOIN nr_patch_steps s ON s.id = e.step_id
                 WHERE s.patch_id = ?1 AND e.sha256 = ?2 LIMIT 1",
                params![patch_id, sha256],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// Take a step on a patch, with its evidence, all or nothing; the step's number. Refused when the patch
    /// is unknown or the step may not follow its latest one ([`follow::check`]).
    pub fn add_patch_step(&self, patch_id: &str, new: &NewStep, by: &Actor) -> Result<i64> {
        let tx = self.writing()?;
        let last: Option<(String, Option<String>, String)> = tx
            .query_row(
                "SELECT step, (SELECT result FROM nr_patch_steps r WHERE r.patch_id = ?1 AND r.result IS NOT NULL ORDER BY r.id DESC LIMIT 1),
                   step_date FROM nr_patch_steps WHERE patch_id = ?1 ORDER BY id DESC LIMIT 1",
                [patch_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((step, result, date)) = last else {
            return Err(Error::Invalid(format!(
                "patch {patch_id}: no such patch in {}; nothing was written",
                self.path.display()
            )));
        };
        let last = (Step::parse(&step).unwrap_or(Step::Pending), result, date);
        follow::check(patch_id, &last, new).map_err(|why| Error::Invalid(format!("{why}; nothing was written")))?;
        let now = chrono::Utc::now().to_rfc3339();
        tx.execute(
            "INSERT INTO nr_patch_steps (patch_id, step, result, step_date, person, note, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![patch_id, new.step.label(), new.result, new.date, new.person.trim(), new.note.trim(), now],
        )
        .map_err(|e| locked_or(&self.path, e))?;
        let id = tx.last_insert_rowid();
        for (name, content) in &new.evidence {
            tx.execute(
                "INSERT INTO nr_patch_evidence (step_id, file_name, sha256, bytes, content) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, name, crate::hashing::sha256_hex(content), content.len() as i64, content],
            )
            .map_err(|e| locked_or(&self.path, e))?;
        }
        let detail = format!(
            "{}{} on {} by {}",
            new.step.label(),
            new.result.as_deref().map(|r| format!(" ({r})")).unwrap_or_default(),
            new.date,
            new.person.trim()
        );
        let change = Change { action: "patch.step", target: patch_id, detail, before: None, after: None };
        trail::record(&tx, by, &change)?;
        tx.commit().map_err(|e| locked_or(&self.path, e))?;
        Ok(id)
    }
}
