//! Mapping profiles: how a delivered schema (三调 DLTB, STBHHX, …) maps to a layer kind's fields.
//! A profile is a TOML file: for each target field, the source field names to try (case-insensitive,
//! first present wins), or a `{ from = "gb", strip_prefix = "156" }` table for simple rewrites. The
//! pseudo-field `@fid` is the source feature id, for sources without a key of their own.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::LayerDef;
use crate::error::{Error, Result};
use crate::model::LayerKind;

/// Where a target field's value comes from.
#[derive(Debug, Clone, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(untagged)]
pub enum FieldSource {
    /// A source field name.
    Name(String),
    /// A source field with a rewrite.
    Rewrite {
        /// Source field name.
        from: String,
        /// Remove this prefix from the text, if present.
        #[serde(default)]
        strip_prefix: Option<String>,
    },
}

impl FieldSource {
    /// The source field name.
    pub fn field(&self) -> &str {
        match self {
            FieldSource::Name(n) => n,
            FieldSource::Rewrite { from, .. } => from,
        }
    }
}

/// A mapping profile (`layers/profiles/*.toml`).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Profile name (`--profile NAME`).
    pub name: String,
    /// The layer kind it loads.
    pub layer: LayerKind,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// Source layer names to pick when a source has several layers.
    #[serde(default)]
    pub source_layers: Vec<String>,
    /// Target field → candidate sources.
    pub fields: BTreeMap<String, Vec<FieldSource>>,
}

impl Profile {
    pub(super) fn parse(file: &str, text: &str) -> Result<Profile> {
        toml::from_str(text).map_err(|e| Error::Config { file: file.into(), reason: e.to_string() })
    }

    pub(super) fn check_against(&self, def: &LayerDef) -> Result<()> {
        for target in self.fields.keys() {
            if def.field_index(target).is_none() {
                return Err(Error::Config {
                    file: format!("profile {}", self.name),
                    reason: format!("maps to field {target}, which layer {} does not have", def.kind),
                });
            }
        }
        Ok(())
    }

    /// The identity profile of a layer kind: each field from the source field of the same name.
    pub fn identity(def: &LayerDef) -> Profile {
        Profile {
            name: format!("{}-default", def.kind),
            layer: def.kind,
            description: "fields by their own names".into(),
            source_layers: vec![],
            fields: def.fields.iter().map(|f| (f.name.clone(), vec![FieldSource::Name(f.name.clone())])).collect(),
        }
    }
}
