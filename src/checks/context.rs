//! What the rules look at: each layer's records valid on the check date (optionally only those touching a
//! region), with an R-tree over them, the rule configuration and the exceptions.

use std::collections::HashMap;
use std::sync::Mutex;

use geo::{BoundingRect, Intersects, MultiPolygon};

use super::{Exceptions, RuleConfig};
use crate::area::AreaCalculator;
use crate::error::{Error, Result};
use crate::index::LayerIndex;
use crate::model::{AsOf, LayerKind};
use crate::catalog::Catalog;
use crate::crs::CrsInfo;
use crate::store::{Registry, StoredRecord};

/// One layer's records on the check date, with an index over their positions.
pub struct LayerSet {
    /// The records.
    pub records: Vec<StoredRecord>,
    /// R-tree whose ids are positions in `records`.
    pub index: LayerIndex,
}

impl LayerSet {
    fn new(records: Vec<StoredRecord>) -> LayerSet {
        let envs: Vec<(i64, [f64; 4])> = records
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.record.geometry.bounding_rect().map(|b| (i as i64, [b.min().x, b.max().x, b.min().y, b.max().y])))
            .collect();
        LayerSet { index: LayerIndex::build(&envs), records }
    }

    /// Positions of records whose envelope intersects the box.
    pub fn candidates(&self, b: geo::Rect<f64>) -> Vec<usize> {
        self.index.in_box(b.min().x, b.min().y, b.max().x, b.max().y).into_iter().map(|i| i as usize).collect()
    }
}

/// The admin records not inside another of the set: a county's townships are dropped when the county is
/// there too (the registry may hold several levels of 行政区; an outline is the union of the outermost).
pub fn outermost<'a>(records: impl IntoIterator<Item = &'a StoredRecord>) -> Vec<&'a StoredRecord> {
    let all: Vec<&StoredRecord> = records.into_iter().collect();
    all.iter()
        .filter(|r| !all.iter().any(|o| o.record.key.len() < r.record.key.len() && r.record.key.starts_with(o.record.key.as_str())))
        .copied()
        .collect()
}

/// Everything a rule needs.
pub struct Context {
    /// The registry file.
    pub registry: String,
    /// The registry CRS.
    pub crs: CrsInfo,
    /// The catalog (layer definitions, class tables).
    pub catalog: Catalog,
    /// The check date (None: now).
    pub at: Option<AsOf>,
    /// Rule configuration.
    pub config: RuleConfig,
    /// Exceptions.
    pub exceptions: Exceptions,
    /// The region the check is limited to (code, outline), if any.
    pub region: Option<(String, MultiPolygon<f64>)>,
    layers: HashMap<LayerKind, LayerSet>,
    /// Vintage (latest as-of ≤ check date) of each layer used, for the report.
    pub vintages: Vec<(LayerKind, Option<String>)>,
    notes: Mutex<Vec<String>>,
    parcel_overlaps: std::sync::OnceLock<Vec<super::geom::Piece>>,
}

impl Context {
    /// Load the registry's layers in `kinds` (those the rules to run read: [`super::layers_needed`]) valid on
    /// `at`, limited to `region` (a code prefix of the admin layer).
    pub fn load(reg: &Registry, at: Option<AsOf>, region: Option<&str>, config: RuleConfig, exceptions: Exceptions, kinds: &[LayerKind]) -> Result<Context> {
        let region = match region {
            None => None,
            Some(code) => {
                let admin = reg.records_at(LayerKind::Admin, at)?;
                let parts: Vec<geo::Polygon<f64>> = outermost(admin.iter().filter(|r| r.record.key.starts_with(code)))
                    .into_iter()
                    .flat_map(|r| r.record.geometry.0.iter().cloned())
                    .collect();
                if parts.is_empty() {
                    return Err(Error::Invalid(format!(
                        "region {code}: no admin outline with a code starting {code} in the registry{}",
                        at.map(|d| format!(" on {d}")).unwrap_or_default()
                    )));
                }
                Some((code.to_string(), geo::unary_union(parts.iter())))
            }
        };
        let t0 = std::time::Instant::now();
        let mut layers = HashMap::new();
        let mut vintages = Vec::new();
        for kind in LayerKind::ALL {
            let v = reg.vintages(kind)?;
            let used = v.iter().filter(|d| at.is_none_or(|a| **d <= a)).next_back().map(|d| d.to_string());
            vintages.push((kind, used));
            if !kinds.contains(&kind) {
                continue;
            }
            let mut recs = reg.records_at(kind, at)?;
            if let Some((_, outline)) = &region {
                if kind != LayerKind::Admin {
                    let b = outline.bounding_rect().expect("region has area");
                    recs.retain(|r| r.record.geometry.bounding_rect().is_some_and(|e| e.intersects(&b)) && r.record.geometry.intersects(outline));
                }
            }
            layers.insert(kind, LayerSet::new(recs));
            crate::progress::lap(t0, &format!("  check: {} loaded", kind.name()));
        }
        Ok(Context {
            registry: reg.path().display().to_string(),
            crs: reg.crs.clone(),
            catalog: reg.catalog().clone(),
            at,
            config,
            exceptions,
            region,
            layers,
            vintages,
            notes: Mutex::new(Vec::new()),
            parcel_overlaps: std::sync::OnceLock::new(),
        })
    }

    /// A layer's records. Panics when the layer was not loaded: a rule that reads a layer must list it in
    /// [`super::Check::layers`].
    pub fn layer(&self, kind: LayerKind) -> &LayerSet {
        self.layers.get(&kind).unwrap_or_else(|| panic!("the {} layer was not loaded: a rule reads it without listing it in Check::layers", kind.name()))
    }

    /// The date exceptions are compared with: the check date, or today.
    pub fn check_date(&self) -> AsOf {
        self.at.unwrap_or_else(|| chrono::Local::now().date_naive())
    }

    /// A new area calculator for the registry CRS (one per worker thread).
    pub fn area_calculator(&self) -> AreaCalculator {
        AreaCalculator::for_crs(&self.crs).expect("the registry CRS was usable when the registry was created")
    }

    /// Overlap pieces among the parcels (NR101's tolerances), computed once and shared by the rules that
    /// need them (parcel-overlap reports them; coverage-gap uses them to know where sums of areas can hide a gap).
    pub fn parcel_overlaps(&self) -> Result<&[super::geom::Piece]> {
        if let Some(p) = self.parcel_overlaps.get() {
            return Ok(p);
        }
        let tol = self.config.tolerance("NR101")?;
        let set = self.layer(LayerKind::Parcels);
        let pieces = super::geom::overlaps(self, set, set, true, tol);
        Ok(self.parcel_overlaps.get_or_init(|| pieces))
    }

    /// Record a note for the report (e.g. a rule that could not run).
    pub fn note(&self, s: String) {
        self.notes.lock().expect("not poisoned").push(s);
    }

    /// The notes recorded so far.
    pub fn notes(&self) -> Vec<String> {
        self.notes.lock().expect("not poisoned").clone()
    }
}
