//! The screening rules (`layers/rules/monitoring.toml`): which class changes are of concern, which layers
//! cover them, and which causes exempt them.

use std::path::Path;

use serde::Deserialize;

use super::Change;
use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::model::{FieldType, LayerKind};

const MONITORING: &str = include_str!("../../layers/rules/monitoring.toml");

/// A set of land classes by code prefix; the longest matching prefix decides, so `exclude` carves classes
/// out of `include`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassSet {
    /// Prefixes in the set.
    pub include: Vec<String>,
    /// Prefixes carved out of it.
    #[serde(default)]
    pub exclude: Vec<String>,
}

impl ClassSet {
    /// Whether land class `code` is in the set.
    pub fn contains(&self, code: &str) -> bool {
        let longest = |list: &[String]| list.iter().filter(|p| code.starts_with(p.as_str())).map(String::len).max();
        match (longest(&self.include), longest(&self.exclude)) {
            (Some(i), Some(e)) => i > e,
            (i, _) => i.is_some(),
        }
    }
}

/// A layer whose records cover changes while they are in force.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cover {
    /// The layer kind.
    pub layer: LayerKind,
    /// The date field from which a record is in force.
    pub from: String,
    /// The date field until which it is (inclusive), if it ends.
    #[serde(default)]
    pub until: Option<String>,
    /// The changes it covers.
    pub changes: Vec<Change>,
    /// Only changes into these classes (prefixes); empty: any.
    #[serde(default)]
    pub classes: Vec<String>,
}

impl Cover {
    /// Whether this layer covers a change of kind `change` into class `to`.
    pub fn applies(&self, change: Change, to: &str) -> bool {
        self.changes.contains(&change)
            && (self.classes.is_empty() || self.classes.iter().any(|c| to.starts_with(c.as_str())))
    }
}

/// A cause that exempts changes from needing cover.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exempt {
    /// The cause (a code of `change-causes.csv`).
    pub cause: String,
    /// The changes it exempts.
    pub changes: Vec<Change>,
}

/// How the cultivated-land ledgers sort land made cultivated.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerRules {
    /// Other agricultural land (code prefixes): cultivated land turned to it flows out, land turned back
    /// from it flows in (进出平衡); land made cultivated from any other class is 补充耕地 (占补平衡).
    pub agricultural: Vec<String>,
}

impl LedgerRules {
    /// Whether land class `code` is other agricultural land.
    pub fn is_agricultural(&self, code: &str) -> bool {
        self.agricultural.iter().any(|p| code.starts_with(p.as_str()))
    }
}

/// The rules, with where they came from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorRules {
    /// Ground covered up to this much is not covered; uncovered up to this much is covered (m²).
    pub tolerance_m2: f64,
    /// Construction land (建设用地).
    pub construction: ClassSet,
    /// Cultivated land (耕地).
    pub cultivated: ClassSet,
    /// What covers changes.
    #[serde(default)]
    pub cover: Vec<Cover>,
    /// What exempts them.
    #[serde(default)]
    pub exempt: Vec<Exempt>,
    /// The cultivated-land ledgers.
    pub ledger: LedgerRules,
    /// The file the rules came from.
    #[serde(skip)]
    pub source: String,
    /// Its SHA-256.
    #[serde(skip)]
    pub sha256: String,
}

impl MonitorRules {
    /// The embedded rules, or `dir/monitoring.toml` when it exists; checked against the catalog (every
    /// cover layer defined, its date fields dates, every cause a known one).
    pub fn load(dir: Option<&Path>, catalog: &Catalog) -> Result<MonitorRules> {
        let (text, source) = match dir.map(|d| d.join("monitoring.toml")).filter(|p| p.exists()) {
            Some(p) => (std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))?, p.display().to_string()),
            None => (MONITORING.to_string(), "layers/rules/monitoring.toml (embedded)".to_string()),
        };
        let bad = |reason: String| Error::Config { file: source.clone(), reason };
        let mut rules: MonitorRules = toml::from_str(&text).map_err(|e| bad(e.to_string()))?;
        if rules.tolerance_m2.is_nan() || rules.tolerance_m2 < 0.0 {
            return Err(bad(format!("tolerance_m2 {} is not a non-negative area", rules.tolerance_m2)));
        }
        for c in &rules.cover {
            let Some(def) = catalog.find_layer(c.layer) else {
                return Err(bad(format!("cover: layer '{}' is not defined in layers/kinds/", c.layer)));
            };
            for f in std::iter::once(&c.from).chain(&c.until) {
                let ty = def.field_index(f).map(|i| def.fields[i].field_type);
                if ty != Some(FieldType::Date) {
                    return Err(bad(format!("cover: layer {}: {f} is not a date field of the layer", c.layer)));
                }
            }
        }
        for e in &rules.exempt {
            if catalog.classes.cause_nature(&e.cause).is_none() {
                return Err(bad(format!("exempt: cause '{}' is not in layers/classes/change-causes.csv", e.cause)));
            }
        }
        rules.sha256 = crate::hashing::sha256_hex(text.as_bytes());
        rules.source = source;
        Ok(rules)
    }

    /// The change `from` → `to` is of concern as: construction (non-construction to construction), or
    /// cultivated (cultivated to anything else but construction); None when it is neither.
    pub fn change(&self, from: &str, to: &str) -> Option<Change> {
        if self.construction.contains(to) && !self.construction.contains(from) {
            return Some(Change::Construction);
        }
        (self.cultivated.contains(from) && !self.cultivated.contains(to) && !self.construction.contains(to))
            .then_some(Change::Cultivated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_rules_load_and_classify_changes() {
        let cat = Catalog::embedded().unwrap();
        let r = MonitorRules::load(None, &cat).unwrap();
        assert_eq!(r.change("0103", "0701"), Some(Change::Construction));
        assert_eq!(r.change("0301", "0602"), Some(Change::Construction));
        assert_eq!(r.change("0103", "0301"), Some(Change::Cultivated));
        assert_eq!(r.change("0101", "0103"), None);
        assert_eq!(r.change("0701", "0602"), None);
        // carved out: 盐田 and 农村道路 are not construction
        assert_eq!(r.change("0301", "0603"), None);
        assert_eq!(r.change("0101", "1006"), Some(Change::Cultivated));
        assert_eq!(r.change("0301", "1301"), Some(Change::Construction));
    }
}
