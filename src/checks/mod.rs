//! Checks: what is wrong in the registry on a date — overlaps, gaps, invalid geometry, area mismatches,
//! control lines that overlap, land uses a red line forbids (`nrledger check`).
//!
//! Each rule is one module in [`rules`] implementing [`Check`], with a stable code (`NR101` …) and a doc
//! comment saying what it catches and why. The R-tree finds candidate pairs; the exact geometry runs in
//! parallel; every hit carries the piece of geometry at fault (the overlap, the gap, the violating piece),
//! its ellipsoidal area, the ids involved, and is classed sliver or real by the rule's tolerances
//! (`layers/rules/checks.toml`). Exceptions (an allow-list with approval documents and expiry dates) turn
//! findings into `excepted` until they expire.

pub mod by_county;
mod config;
mod context;
pub(crate) mod geom;
mod report;
pub mod rules;

use serde::Serialize;

pub use config::{Exception, Exceptions, RuleConfig, Tolerance};
pub use context::Context;
pub use report::{summarise, CheckReport, RuleSummary};

use crate::error::Result;
use crate::model::AsOf;
use crate::model::LayerKind;
use crate::quantity::SquareMetres;
use crate::store::{ClassPrefixes, Fields, Read, Registry, StoredRecord};

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational (e.g. slivers along shared edges).
    Info,
    /// Should be looked at.
    Warning,
    /// Wrong: `nrledger check` exits 1.
    Error,
}

/// Whether a geometric hit is a sliver (numerical noise of digitising) or a real piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// Below the rule's sliver area or width.
    Sliver,
    /// A real piece.
    Real,
    /// Not a geometric finding (attributes, ids).
    Attribute,
}

/// One thing wrong.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Finding {
    /// Rule code (`NR101` …).
    pub rule: String,
    /// Rule name (`parcel-overlap` …).
    pub name: String,
    /// Severity after sliver classification and exceptions.
    pub severity: Severity,
    /// Sliver, real piece, or attribute finding.
    pub class: Class,
    /// Layers involved.
    pub layers: Vec<LayerKind>,
    /// Keys of the records involved (BSM, HXBH, …), in `layers` order.
    pub ids: Vec<String>,
    /// Registry fids of the records involved.
    pub fids: Vec<i64>,
    /// Ellipsoidal area of the piece at fault, m² (0 for attribute findings; the discrepancy for area
    /// arithmetic findings).
    pub area_m2: SquareMetres,
    /// Planar area of the piece in the registry CRS, m² (what GEOS or PostGIS `ST_Area` would give).
    pub area_planar_m2: SquareMetres,
    /// What is wrong, in a sentence.
    pub message: String,
    /// Set when an unexpired exception covers the finding: its approval document.
    pub excepted_by: Option<String>,
    /// The piece of geometry at fault, in the registry CRS.
    #[serde(skip)]
    #[schemars(skip)]
    pub geometry: Option<geo::MultiPolygon<f64>>,
}

/// A rule.
pub trait Check: Sync {
    /// Stable code, e.g. `NR101`.
    fn code(&self) -> &'static str;
    /// Short name, e.g. `parcel-overlap`.
    fn name(&self) -> &'static str;
    /// The layers it reads: the check loads only the layers of the rules it runs.
    fn layers(&self) -> &'static [LayerKind];
    /// Layers it reads only where another layer's records are: `(layer, near)` says every finding on
    /// `layer` lies inside a record of `near`, so a whole-registry check that runs no other rule reading
    /// `layer` reads only its records whose box meets a box covering a `near` record
    /// ([`crate::geometry::Outline::cover`]; NR501 reads the parcels under the red lines, not the county).
    fn near(&self) -> &'static [(LayerKind, LayerKind)] {
        &[]
    }
    /// The attribute fields of `kind` it reads (the key is always read). `None`, the default, means every
    /// field. A layer is read with only the named fields when every rule run that reads it names them
    /// ([`Needs::fields`]); any other field of its records is then [`crate::model::Value::Null`].
    fn fields(&self, _kind: LayerKind) -> Option<&'static [&'static str]> {
        None
    }
    /// The only records of `kind` it can find fault with, by class: `(field, prefixes)` says a record whose
    /// `field` starts with none of `prefixes` never gives it a finding (NR501: the classes the red-line
    /// table prohibits somewhere). `None`, the default, means any record. A layer is read with only those
    /// classes when every rule run that reads it restricts it on the same field ([`Needs::classes`]).
    fn classes(&self, _kind: LayerKind, _config: &RuleConfig) -> Option<(&'static str, Vec<String>)> {
        None
    }
    /// Find what is wrong.
    fn run(&self, ctx: &Context) -> Result<Vec<Finding>>;
    /// A rule whose findings need the whole registry, not a window of it, answers here (NR202: a key is
    /// unique across a layer, which SQLite groups without loading it): a check streamed county by county
    /// runs it once, through this, instead of in every county window. `None`, the default: the rule runs in
    /// the windows.
    fn run_on_registry(
        &self,
        _reg: &Registry,
        _at: Option<AsOf>,
        _config: &RuleConfig,
    ) -> Option<Result<Vec<Finding>>> {
        None
    }
}

/// The rules whose code or name is in `only` (every rule when `only` is empty), in code order. A name that
/// is no rule's is refused: a typo must not pass as a clean check.
pub fn selected(only: &[String]) -> Result<Vec<Box<dyn Check>>> {
    let all = rules::catalogue();
    let unknown: Vec<&str> =
        only.iter().filter(|o| !all.iter().any(|c| *o == c.code() || *o == c.name())).map(String::as_str).collect();
    if !unknown.is_empty() {
        return Err(crate::error::Error::Invalid(format!(
            "--only {}: no such rule; the rules are {}",
            unknown.join(","),
            all.iter().map(|c| format!("{} {}", c.code(), c.name())).collect::<Vec<_>>().join(", ")
        )));
    }
    Ok(all.into_iter().filter(|c| only.is_empty() || only.iter().any(|o| o == c.code() || o == c.name())).collect())
}

/// The layers a set of rules reads, for [`Context::load`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Needs {
    /// Every layer a rule reads ([`Check::layers`]).
    pub kinds: Vec<LayerKind>,
    /// `(layer, near)`: `layer` is needed only where `near`'s records are — every rule that reads `layer`
    /// says so ([`Check::near`]).
    pub near: Vec<(LayerKind, LayerKind)>,
    /// `(layer, fields)`: only these fields of `layer` are read, since every rule reading it names the
    /// fields it uses ([`Check::fields`]). A layer not listed is read with every field.
    pub fields: Vec<(LayerKind, Vec<&'static str>)>,
    /// `(layer, field, prefixes)`: only the records whose `field` starts with one of `prefixes` are read,
    /// since every rule reading the layer can fault only those ([`Check::classes`]; the union of theirs).
    pub classes: Vec<(LayerKind, &'static str, Vec<String>)>,
}

impl Needs {
    /// The fields to read of `kind`.
    pub fn fields_of(&self, kind: LayerKind) -> Fields<'_> {
        match self.fields.iter().find(|(k, _)| *k == kind) {
            Some((_, names)) => Fields::Only(names),
            None => Fields::All,
        }
    }

    /// The classes to read of `kind` (None: every record).
    pub fn classes_of(&self, kind: LayerKind) -> Option<ClassPrefixes<'_>> {
        self.classes.iter().find(|(k, _, _)| *k == kind).map(|(_, field, prefixes)| ClassPrefixes { field, prefixes })
    }

    /// The records of `kind` valid on `at` as the rules need them — their fields, their classes (when the
    /// layer has the class field) — the whole layer with `boxes` None, else those whose box meets one.
    pub fn read(
        &self,
        reg: &Registry,
        kind: LayerKind,
        at: Option<AsOf>,
        boxes: Option<&[geo::Rect<f64>]>,
    ) -> Result<Vec<StoredRecord>> {
        let classes = self.classes_of(kind).filter(|c| reg.catalog().layer(kind).field_index(c.field).is_some());
        match boxes {
            None => reg.read(&Read::layer(kind).on(at).fields(self.fields_of(kind)).classes(classes)),
            Some(b) => reg.read(&Read::layer(kind).on(at).fields(self.fields_of(kind)).classes(classes).in_boxes(b)),
        }
    }
}

/// The layers the rules in `only` read, with the fields and classes they use (see [`Check::layers`],
/// [`Check::near`], [`Check::fields`], [`Check::classes`]; `config` holds the tables a rule's classes come from).
pub fn layers_needed(only: &[String], config: &RuleConfig) -> Result<Needs> {
    let rules = selected(only)?;
    let kinds: Vec<LayerKind> =
        LayerKind::all().iter().copied().filter(|k| rules.iter().any(|c| c.layers().contains(k))).collect();
    let near = kinds
        .iter()
        .filter_map(|k| {
            let mut readers = rules.iter().filter(|c| c.layers().contains(k));
            let (_, near) = *readers.next()?.near().iter().find(|(a, _)| a == k)?;
            readers.all(|c| c.near().contains(&(*k, near))).then_some((*k, near))
        })
        .collect();
    let fields = kinds
        .iter()
        .filter_map(|k| {
            let mut names: Vec<&'static str> = Vec::new();
            for c in rules.iter().filter(|c| c.layers().contains(k)) {
                names.extend(c.fields(*k)?);
            }
            names.sort_unstable();
            names.dedup();
            Some((*k, names))
        })
        .collect();
    let classes = kinds
        .iter()
        .filter_map(|k| {
            let mut readers = rules.iter().filter(|c| c.layers().contains(k));
            let (field, mut prefixes) = readers.next()?.classes(*k, config)?;
            for c in readers {
                let (f, p) = c.classes(*k, config)?;
                if f != field {
                    return None;
                }
                prefixes.extend(p);
            }
            prefixes.sort_unstable();
            prefixes.dedup();
            Some((*k, field, prefixes))
        })
        .collect();
    Ok(Needs { kinds, near, fields, classes })
}

/// Run every rule (or those whose code or name is in `only`), apply exceptions, and sort the findings.
pub fn run_all(ctx: &Context, only: &[String]) -> Result<Vec<Finding>> {
    let mut all = Vec::new();
    let t0 = std::time::Instant::now();
    for check in selected(only)? {
        all.extend(check.run(ctx)?);
        crate::progress::lap(t0, &format!("  check: {} run", check.code()));
    }
    finish(&mut all, &ctx.exceptions, ctx.check_date());
    Ok(all)
}

/// Apply the exceptions valid on `date` and sort the findings (rule, ids, first fid).
fn finish(all: &mut [Finding], exceptions: &Exceptions, date: crate::model::AsOf) {
    for f in all.iter_mut() {
        if let Some(ex) = exceptions.covering(f, date) {
            f.excepted_by = Some(ex.approval.clone());
            f.severity = Severity::Info;
        }
    }
    all.sort_by(|a, b| (&a.rule, &a.ids, a.fids.first()).cmp(&(&b.rule, &b.ids, b.fids.first())));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> RuleConfig {
        RuleConfig::load(None).unwrap()
    }

    fn only(rules: &str) -> Vec<String> {
        rules.split(',').map(str::to_string).collect()
    }

    #[test]
    fn a_layer_is_read_near_another_only_when_every_rule_reading_it_says_so() {
        let n = layers_needed(&only("NR501"), &defaults()).unwrap();
        assert_eq!(n.kinds.len(), 2);
        assert!(n.kinds.contains(&LayerKind::Parcels) && n.kinds.contains(&LayerKind::Redlines));
        assert_eq!(n.near, vec![(LayerKind::Parcels, LayerKind::Redlines)]);
        // NR101 reads every parcel: the parcels are read whole
        let n = layers_needed(&only("NR101,NR501"), &defaults()).unwrap();
        assert!(n.near.is_empty(), "{n:?}");
        assert!(layers_needed(&[], &defaults()).unwrap().near.is_empty());
        // rules that do not read parcels leave NR501's restriction alone
        let n = layers_needed(&only("NR501,NR401"), &defaults()).unwrap();
        assert_eq!(n.near, vec![(LayerKind::Parcels, LayerKind::Redlines)]);
    }

    #[test]
    fn a_layer_is_read_with_some_classes_only_when_every_rule_reading_it_restricts_them() {
        let config = defaults();
        let prohibited = config.redline.prohibited_prefixes();
        // the table's prohibited prefixes, each once: built-up land everywhere, cultivation in a 核心保护区,
        // and not the positive list's allowed classes
        assert!(["01", "05", "07", "13"].iter().all(|p| prohibited.contains(&p.to_string())), "{prohibited:?}");
        assert!(!prohibited.iter().any(|p| p == "0702" || p == "03"), "{prohibited:?}");
        assert!(prohibited.windows(2).all(|w| w[0] < w[1]));
        let n = layers_needed(&only("NR501"), &config).unwrap();
        assert_eq!(n.classes, vec![(LayerKind::Parcels, "DLBM", prohibited.clone())]);
        assert_eq!(n.classes_of(LayerKind::Parcels), Some(ClassPrefixes { field: "DLBM", prefixes: &prohibited }));
        assert_eq!(n.classes_of(LayerKind::Redlines), None);
        // rules that do not read parcels leave the restriction alone; NR101 reads every parcel
        assert_eq!(layers_needed(&only("NR501,NR401"), &config).unwrap().classes, n.classes);
        assert!(layers_needed(&only("NR101,NR501"), &config).unwrap().classes.is_empty());
        assert!(layers_needed(&[], &config).unwrap().classes.is_empty());
        // an empty table prohibits nothing: no parcel can be at fault, none is read
        let mut empty = defaults();
        empty.redline = crate::catalog::RedlineRules::default();
        let n = layers_needed(&only("NR501"), &empty).unwrap();
        assert_eq!(n.classes, vec![(LayerKind::Parcels, "DLBM", vec![])]);
    }

    #[test]
    fn a_layer_is_read_with_some_fields_only_when_every_rule_reading_it_names_them() {
        let n = layers_needed(&only("NR101"), &defaults()).unwrap();
        assert_eq!(n.fields, vec![(LayerKind::Parcels, vec![])]);
        assert_eq!(n.fields_of(LayerKind::Parcels), Fields::Only(&[]));
        // the union of what the rules name, per layer
        let n = layers_needed(&only("NR101,NR501,NR401"), &defaults()).unwrap();
        assert_eq!(n.fields_of(LayerKind::Parcels), Fields::Only(&["DLBM", "DLMC"]));
        assert_eq!(n.fields_of(LayerKind::Redlines), Fields::Only(&["GKFQ"]));
        assert_eq!(n.fields_of(LayerKind::Farmland), Fields::Only(&[]));
        // NR301 (declared area) names no fields: whoever else reads the parcels, they are read whole
        let n = layers_needed(&only("NR101,NR301"), &defaults()).unwrap();
        assert_eq!(n.fields_of(LayerKind::Parcels), Fields::All);
        let n = layers_needed(&[], &defaults()).unwrap();
        assert!(n.kinds.iter().all(|k| n.fields_of(*k) == Fields::All), "{n:?}");
    }
}
