//! Layer definitions: the fields of each layer kind, read from `layers/kinds/*.toml`.

use serde::Deserialize;

use super::ClassTables;
use crate::error::{Error, Result};
use crate::model::{FieldType, LayerKind};

/// One attribute field of a layer kind.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldDef {
    /// Column name (the official field code, e.g. `DLBM`).
    pub name: String,
    /// Chinese title.
    pub title: String,
    /// English title.
    pub title_en: String,
    /// Value type.
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// A value must be present.
    #[serde(default)]
    pub required: bool,
    /// The value must be a code of this class table (`landuse`, `qsxz`, `gkfq`, `forest-origin`).
    #[serde(default)]
    pub codes: Option<String>,
    /// The value, if present, must be the name of the code in this other field.
    #[serde(default)]
    pub name_of: Option<String>,
    /// The text must match this regular expression.
    #[serde(default)]
    pub pattern: Option<String>,
    /// A bookkeeping field (数据年份 SJNF …): a later survey may set it on every record without changing
    /// what the record says. A record whose other content is unchanged stays one version; the new values
    /// are kept in `nr_bookkeeping` and read back with the record from the date of the import that set them.
    #[serde(default)]
    pub bookkeeping: bool,
    /// The longest text allowed, in characters (the official field length of the delivery standard, e.g.
    /// 18 for the 三调 BSM); a text field without one holds at most [`FieldDef::TEXT_MAX`].
    #[serde(default)]
    pub max_length: Option<usize>,
    /// Smallest allowed number.
    #[serde(default)]
    pub min: Option<f64>,
    /// Largest allowed number.
    #[serde(default)]
    pub max: Option<f64>,
    /// The registry keeps an index on this text field (with the validity dates), so a read of some
    /// classes — the parcels a red line can prohibit — finds their records without stepping through the
    /// layer. It costs a little at every import; registries created without it get it when next opened.
    #[serde(default)]
    pub indexed: bool,
    /// A date field that must not come before the date in this other field (an end date and its start:
    /// 有效期止 and 有效期起); a record whose dates run backwards is refused.
    #[serde(default)]
    pub not_before: Option<String>,
}

impl FieldDef {
    /// The longest text a text field without a `max_length` holds (Char(255), the longest text field of the
    /// 三调 and 确权登记 database standards).
    pub const TEXT_MAX: usize = 255;
}

/// The definition of one layer kind.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LayerDef {
    /// Which kind this defines.
    pub kind: LayerKind,
    /// Chinese title.
    pub title: String,
    /// English title.
    pub title_en: String,
    /// The field that identifies a record across vintages (unique within a vintage).
    pub key: String,
    /// The field holding the declared (official) area, if any.
    #[serde(default)]
    pub area_field: Option<String>,
    /// The field whose value starts with the code of the county a record belongs to (坐落单位代码,
    /// 行政区代码): a county's delivery (`import --scope CODE`) holds the records whose value starts with
    /// CODE. Default: the key.
    #[serde(default)]
    pub scope_field: Option<String>,
    /// Records of this layer are registration units and carry registration events.
    #[serde(default)]
    pub registration: bool,
    /// What a record keeps for life, by field name (`geometry` for its ground): a later delivery that gives
    /// a known key other values here is refused, field by field (an approval's number drawn on other ground,
    /// or with another approval date, is not the same approval).
    #[serde(default)]
    pub fixed: Vec<String>,
    /// The register book's 关联信息 lists this layer's records that overlap a unit (with the overlap's area
    /// and the summary fields): approvals, mining rights. The control lines (red lines, permanent farmland,
    /// the urban boundary) are always listed.
    #[serde(default)]
    pub linked: bool,
    /// Fields shown in one-line text summaries (the clerk's lookup).
    #[serde(default)]
    pub summary: Vec<String>,
    /// Attribute fields in column order.
    pub fields: Vec<FieldDef>,
    /// Compiled patterns, parallel to `fields`.
    #[serde(skip)]
    #[schemars(skip)]
    pub patterns: Vec<Option<regex::Regex>>,
}

impl LayerDef {
    pub(super) fn parse(file: &str, text: &str) -> Result<LayerDef> {
        let mut def: LayerDef =
            toml::from_str(text).map_err(|e| Error::Config { file: file.into(), reason: e.to_string() })?;
        def.patterns = def
            .fields
            .iter()
            .map(|f| {
                f.pattern
                    .as_deref()
                    .map(regex::Regex::new)
                    .transpose()
                    .map_err(|e| Error::Config { file: file.into(), reason: format!("field {}: {e}", f.name) })
            })
            .collect::<Result<_>>()?;
        if let Some(bad) = def.summary.iter().find(|n| def.field_index(n).is_none()) {
            return Err(Error::Config { file: file.into(), reason: format!("summary field {bad} is not defined") });
        }
        if let Some(bad) = def.fields.iter().find(|f| f.indexed && f.field_type != FieldType::Text) {
            return Err(Error::Config {
                file: file.into(),
                reason: format!("field {}: only text fields can be indexed", bad.name),
            });
        }
        for f in &def.fields {
            let Some(other) = &f.not_before else { continue };
            let later = def.field_index(other).map(|i| def.fields[i].field_type);
            if f.field_type != FieldType::Date || later != Some(FieldType::Date) {
                return Err(Error::Config {
                    file: file.into(),
                    reason: format!("field {}: not_before names {other}, and both must be date fields", f.name),
                });
            }
        }
        if let Some(bad) = def.fixed.iter().find(|n| *n != "geometry" && def.field_index(n).is_none()) {
            return Err(Error::Config {
                file: file.into(),
                reason: format!("fixed field {bad} is neither a field nor `geometry`"),
            });
        }
        if def.field_index(&def.key).is_none() {
            return Err(Error::Config { file: file.into(), reason: format!("key field {} is not defined", def.key) });
        }
        if let Some(bad) = def.scope_field.as_ref().filter(|n| def.field_index(n).is_none()) {
            return Err(Error::Config { file: file.into(), reason: format!("scope field {bad} is not defined") });
        }
        Ok(def)
    }

    pub(super) fn check_against(&self, classes: &ClassTables) -> Result<()> {
        for f in &self.fields {
            if let Some(t) = &f.codes {
                if classes.table(t).is_none() {
                    return Err(Error::Config {
                        file: format!("kinds/{}.toml", self.kind),
                        reason: format!("field {} refers to unknown class table '{t}'", f.name),
                    });
                }
            }
        }
        Ok(())
    }

    /// Position of a field by name.
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    /// The positions of the bookkeeping fields ([`FieldDef::bookkeeping`]).
    pub fn bookkeeping_indices(&self) -> Vec<usize> {
        self.fields.iter().enumerate().filter(|(_, f)| f.bookkeeping).map(|(i, _)| i).collect()
    }

    /// The names of the indexed fields ([`FieldDef::indexed`]).
    pub fn indexed_fields(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().filter(|f| f.indexed).map(|f| f.name.as_str())
    }

    /// Position of the key field.
    pub fn key_index(&self) -> usize {
        self.field_index(&self.key).expect("checked at load")
    }

    /// The field a county's delivery is scoped by (`scope_field`, else the key).
    pub fn scope_field(&self) -> &str {
        self.scope_field.as_deref().unwrap_or(&self.key)
    }

    /// Position of [`LayerDef::scope_field`].
    pub fn scope_index(&self) -> usize {
        self.field_index(self.scope_field()).expect("checked at load")
    }
}
