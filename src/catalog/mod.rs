//! The catalog: what the registry knows about layers, classifications and source schemas, all read
//! from the data files in `layers/` (embedded in the binary; `--layers DIR` overrides them).
//!
//! - [`LayerDef`]: the fields of each layer kind (`layers/kinds/*.toml`),
//! - [`ClassTables`]: the classification tables (`layers/classes/*.csv`),
//! - [`Profile`]: how a delivered schema maps to ours (`layers/profiles/*.toml`);
//! - [`RedlineRules`]: the land uses a red-line zone prohibits (`layers/rules/redline-landuse.csv`).

mod classes;
mod colours;
mod layer_def;
mod profile;
mod redline;

use std::path::Path;

pub use classes::{ClassTable, ClassTables, CrossClass};
pub use colours::{MapColours, Rgb, Swatch};
pub use layer_def::{FieldDef, LayerDef};
pub use profile::{FieldSource, Profile};
pub use redline::{RedlineRules, Verdict};

use crate::error::{Error, Result};
use crate::model::LayerKind;

/// Files embedded at build time, as (relative path, content).
const EMBEDDED: &[(&str, &str)] = &[
    ("kinds/admin.toml", include_str!("../../layers/kinds/admin.toml")),
    ("kinds/units.toml", include_str!("../../layers/kinds/units.toml")),
    ("kinds/parcels.toml", include_str!("../../layers/kinds/parcels.toml")),
    ("kinds/redlines.toml", include_str!("../../layers/kinds/redlines.toml")),
    ("kinds/farmland.toml", include_str!("../../layers/kinds/farmland.toml")),
    ("kinds/urban.toml", include_str!("../../layers/kinds/urban.toml")),
    ("kinds/forest.toml", include_str!("../../layers/kinds/forest.toml")),
    ("kinds/approvals.toml", include_str!("../../layers/kinds/approvals.toml")),
    ("kinds/supply.toml", include_str!("../../layers/kinds/supply.toml")),
    ("kinds/temporary.toml", include_str!("../../layers/kinds/temporary.toml")),
    ("kinds/facility.toml", include_str!("../../layers/kinds/facility.toml")),
    ("kinds/grassland.toml", include_str!("../../layers/kinds/grassland.toml")),
    ("kinds/mining.toml", include_str!("../../layers/kinds/mining.toml")),
    ("kinds/protected.toml", include_str!("../../layers/kinds/protected.toml")),
    ("classes/gbt21010-2017.csv", include_str!("../../layers/classes/gbt21010-2017.csv")),
    ("classes/sandiao-extensions.csv", include_str!("../../layers/classes/sandiao-extensions.csv")),
    ("classes/qsxz.csv", include_str!("../../layers/classes/qsxz.csv")),
    ("classes/gkfq.csv", include_str!("../../layers/classes/gkfq.csv")),
    ("classes/forest-origin.csv", include_str!("../../layers/classes/forest-origin.csv")),
    ("classes/resource-types.csv", include_str!("../../layers/classes/resource-types.csv")),
    ("classes/crosswalks.csv", include_str!("../../layers/classes/crosswalks.csv")),
    ("classes/change-causes.csv", include_str!("../../layers/classes/change-causes.csv")),
    ("classes/map-colours.csv", include_str!("../../layers/classes/map-colours.csv")),
    ("classes/approval-types.csv", include_str!("../../layers/classes/approval-types.csv")),
    ("classes/supply-methods.csv", include_str!("../../layers/classes/supply-methods.csv")),
    ("classes/mining-types.csv", include_str!("../../layers/classes/mining-types.csv")),
    ("classes/facility-types.csv", include_str!("../../layers/classes/facility-types.csv")),
    ("classes/grassland-classes.csv", include_str!("../../layers/classes/grassland-classes.csv")),
    ("classes/basic-grassland.csv", include_str!("../../layers/classes/basic-grassland.csv")),
    ("classes/protected-types.csv", include_str!("../../layers/classes/protected-types.csv")),
    ("profiles/sandiao-dltb.toml", include_str!("../../layers/profiles/sandiao-dltb.toml")),
    ("profiles/stbhhx.toml", include_str!("../../layers/profiles/stbhhx.toml")),
    ("profiles/yjjbnt.toml", include_str!("../../layers/profiles/yjjbnt.toml")),
    ("profiles/czkfbj.toml", include_str!("../../layers/profiles/czkfbj.toml")),
    ("profiles/zrzy-djdy.toml", include_str!("../../layers/profiles/zrzy-djdy.toml")),
    ("profiles/forest-xb.toml", include_str!("../../layers/profiles/forest-xb.toml")),
    ("profiles/tianditu-county.toml", include_str!("../../layers/profiles/tianditu-county.toml")),
    ("profiles/pzyd.toml", include_str!("../../layers/profiles/pzyd.toml")),
    ("profiles/gd.toml", include_str!("../../layers/profiles/gd.toml")),
    ("profiles/lsyd.toml", include_str!("../../layers/profiles/lsyd.toml")),
    ("profiles/ssnyd.toml", include_str!("../../layers/profiles/ssnyd.toml")),
    ("profiles/cy.toml", include_str!("../../layers/profiles/cy.toml")),
    ("profiles/kyq.toml", include_str!("../../layers/profiles/kyq.toml")),
    ("profiles/zrbhd.toml", include_str!("../../layers/profiles/zrbhd.toml")),
];

/// Everything loaded from `layers/`.
#[derive(Debug, Clone)]
pub struct Catalog {
    layers: Vec<LayerDef>,
    /// Classification and code tables.
    pub classes: ClassTables,
    profiles: Vec<Profile>,
    /// Map colours by land class and layer.
    pub colours: MapColours,
}

impl Catalog {
    /// The catalog embedded in the binary.
    pub fn embedded() -> Result<Catalog> {
        Catalog::from_files(EMBEDDED.iter().map(|(p, c)| (p.to_string(), c.to_string())).collect())
    }

    /// The embedded catalog with any file present in `dir` (same layout as `layers/`) taking its place,
    /// and any extra profile in `dir/profiles/` added.
    pub fn with_overrides(dir: &Path) -> Result<Catalog> {
        let mut files: Vec<(String, String)> = EMBEDDED.iter().map(|(p, c)| (p.to_string(), c.to_string())).collect();
        for sub in ["kinds", "classes", "profiles"] {
            let d = dir.join(sub);
            let Ok(entries) = std::fs::read_dir(&d) else { continue };
            for entry in entries.flatten() {
                let path = entry.path();
                let rel = format!("{sub}/{}", entry.file_name().to_string_lossy());
                if !(rel.ends_with(".toml") || rel.ends_with(".csv")) {
                    continue;
                }
                let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
                files.retain(|(p, _)| p != &rel);
                files.push((rel, text));
            }
        }
        Catalog::from_files(files)
    }

    fn from_files(files: Vec<(String, String)>) -> Result<Catalog> {
        let mut layers = Vec::new();
        let mut profiles = Vec::new();
        let mut class_files = Vec::new();
        let mut colours = MapColours::default();
        for (path, text) in &files {
            if path == "classes/map-colours.csv" {
                colours = MapColours::parse(path, text)?;
            } else if let Some(name) = path.strip_prefix("kinds/").and_then(|n| n.strip_suffix(".toml")) {
                let def = LayerDef::parse(path, text)?;
                if def.kind.name() != name {
                    return Err(Error::Config {
                        file: path.clone(),
                        reason: format!(
                            "defines kind '{}': a kind's file is named after it ({}.toml)",
                            def.kind, def.kind
                        ),
                    });
                }
                layers.push(def);
            } else if path.starts_with("profiles/") {
                profiles.push(Profile::parse(path, text)?);
            } else if path.starts_with("classes/") {
                class_files.push((path.clone(), text.clone()));
            }
        }
        let classes = ClassTables::parse(&class_files)?;
        for kind in LayerKind::BUILT_IN {
            if !layers.iter().any(|l: &LayerDef| l.kind == kind) {
                return Err(Error::Config {
                    file: format!("kinds/{kind}.toml"),
                    reason: "missing layer definition".into(),
                });
            }
        }
        for l in &layers {
            l.check_against(&classes)?;
        }
        for p in &profiles {
            let Some(def) = layers.iter().find(|l| l.kind == p.layer) else {
                return Err(Error::Config {
                    file: format!("profiles/{}.toml", p.name),
                    reason: format!("layer '{}' is not defined in kinds/", p.layer),
                });
            };
            p.check_against(def)?;
        }
        layers.sort_by_key(|l| l.kind);
        Ok(Catalog { layers, classes, profiles, colours })
    }

    /// The definition of a layer kind.
    pub fn layer(&self, kind: LayerKind) -> &LayerDef {
        self.layers.iter().find(|l| l.kind == kind).expect("catalog holds every kind")
    }

    /// The definition of a layer kind, if this catalog defines it.
    pub fn find_layer(&self, kind: LayerKind) -> Option<&LayerDef> {
        self.layers.iter().find(|l| l.kind == kind)
    }

    /// The kinds this catalog defines, built-in ones first.
    pub fn kinds(&self) -> impl Iterator<Item = LayerKind> + '_ {
        self.layers.iter().map(|l| l.kind)
    }

    /// All layer definitions.
    pub fn layers(&self) -> &[LayerDef] {
        &self.layers
    }

    /// A profile by name, or a profile file given by path.
    pub fn profile(&self, name_or_path: &str) -> Result<Profile> {
        if let Some(p) = self.profiles.iter().find(|p| p.name == name_or_path) {
            return Ok(p.clone());
        }
        let path = Path::new(name_or_path);
        if path.exists() {
            let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
            let p = Profile::parse(name_or_path, &text)?;
            let Some(def) = self.find_layer(p.layer) else {
                return Err(Error::Config {
                    file: name_or_path.to_string(),
                    reason: format!("layer '{}' is not defined in kinds/", p.layer),
                });
            };
            p.check_against(def)?;
            return Ok(p);
        }
        Err(Error::Config {
            file: name_or_path.to_string(),
            reason: format!(
                "no such profile; known profiles: {}",
                self.profiles.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ")
            ),
        })
    }

    /// All known profiles.
    pub fn profiles(&self) -> &[Profile] {
        &self.profiles
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_catalog_loads_and_is_consistent() {
        let c = Catalog::embedded().unwrap();
        assert_eq!(c.layers().len(), 14);
        assert_eq!(c.layer(LayerKind::Parcels).key, "BSM");
        assert_eq!(c.classes.landuse_name("0103"), Some("旱地"));
        assert_eq!(c.classes.landuse_name("1104A"), Some("养殖坑塘"));
        assert_eq!(c.classes.landuse_name("9999"), None);
        assert_eq!(c.profile("sandiao-dltb").unwrap().layer, LayerKind::Parcels);
        assert_eq!(c.classes.resource_type("0301"), "森林");
        assert_eq!(c.classes.resource_type("0304"), "湿地");
        assert_eq!(c.classes.resource_type("1101"), "水流");
        assert_eq!(c.classes.resource_type("0702"), "非自然资源");
        assert_eq!(c.classes.resource_type("0101"), "其他");
        assert!(c.profile("no-such").is_err());
    }
}
