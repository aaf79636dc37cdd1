//! Plain domain data with no I/O: layer kinds, field values, records, dates and areas.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// A kind of layer the registry holds, one GeoPackage table each: the seven built-in kinds below, whose
/// meaning the checks, balance sheets and register book rely on, and any other kind defined by a file in
/// `layers/kinds/` (approvals, mining rights …), which is imported, kept with its history, checked for
/// geometry and served like the others. The name is the table name and the CLI name.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LayerKind(&'static str);

#[allow(non_upper_case_globals)]
impl LayerKind {
    /// 行政区 administrative divisions.
    pub const Admin: LayerKind = LayerKind("admin");
    /// 自然资源登记单元 registration units.
    pub const Units: LayerKind = LayerKind("units");
    /// 地类图斑 land-use parcels.
    pub const Parcels: LayerKind = LayerKind("parcels");
    /// 生态保护红线 ecological protection red lines.
    pub const Redlines: LayerKind = LayerKind("redlines");
    /// 永久基本农田 permanent basic farmland.
    pub const Farmland: LayerKind = LayerKind("farmland");
    /// 城镇开发边界 urban development boundary.
    pub const Urban: LayerKind = LayerKind("urban");
    /// 森林资源小班 forest inventory stands.
    pub const Forest: LayerKind = LayerKind("forest");

    /// The built-in kinds, in the order they are listed and queried; every catalog defines them.
    pub const BUILT_IN: [LayerKind; 7] = [
        LayerKind::Admin,
        LayerKind::Units,
        LayerKind::Parcels,
        LayerKind::Redlines,
        LayerKind::Farmland,
        LayerKind::Urban,
        LayerKind::Forest,
    ];

    /// The kind named `name`, for code that relies on a kind the embedded catalog defines in
    /// `layers/kinds/` (the rules reading temporary land or facility filings): equal to the kind the catalog
    /// defines under that name.
    pub const fn named(name: &'static str) -> LayerKind {
        LayerKind(name)
    }

    /// The table name in the registry (also the CLI name).
    pub fn name(self) -> &'static str {
        self.0
    }

    /// A known kind by name: a built-in one or one a loaded layer definition named.
    pub fn parse(s: &str) -> Option<LayerKind> {
        LayerKind::all().iter().copied().find(|k| k.0 == s)
    }

    /// The kind named `name`, known from now on. A name is a table name: lower-case ASCII letters, digits
    /// and `_`, starting with a letter, at most 40 characters, not a name the registry uses itself.
    pub fn define(name: &str) -> std::result::Result<LayerKind, String> {
        if let Some(k) = LayerKind::parse(name) {
            return Ok(k);
        }
        let good = name.len() <= 40
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        let reserved = ["rejects", "layer_styles", "sqlite_sequence"].contains(&name)
            || ["nr_", "gpkg_", "rtree_", "sqlite_"].iter().any(|p| name.starts_with(p))
            || name.ends_with("_current");
        if !good || reserved {
            return Err(format!(
                "'{name}' cannot name a layer kind: use lower-case letters, digits and _ (at most 40, starting \
                 with a letter), not a name of the registry's own tables (nr_…, gpkg_…, rtree_…, rejects, …_current)"
            ));
        }
        let mut all = KINDS.write().unwrap_or_else(|e| e.into_inner());
        if let Some(k) = all.iter().copied().find(|k| k.0 == name) {
            return Ok(k);
        }
        let kind = LayerKind(Box::leak(name.to_string().into_boxed_str()));
        let mut more: Vec<LayerKind> = all.to_vec();
        more.push(kind);
        more.sort();
        *all = Box::leak(more.into_boxed_slice());
        Ok(kind)
    }

    /// Every kind known in this process: the built-in ones, then the defined ones by name.
    pub fn all() -> &'static [LayerKind] {
        *KINDS.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether this is one of the [`LayerKind::BUILT_IN`] kinds.
    pub fn is_built_in(self) -> bool {
        LayerKind::BUILT_IN.contains(&self)
    }

    fn rank(self) -> usize {
        LayerKind::BUILT_IN.iter().position(|k| *k == self).unwrap_or(LayerKind::BUILT_IN.len())
    }
}

/// The kinds known so far (a kind's name is leaked once, when it is first defined: there are a handful).
static KINDS: std::sync::RwLock<&'static [LayerKind]> = std::sync::RwLock::new(&LayerKind::BUILT_IN);

impl PartialOrd for LayerKind {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for LayerKind {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.rank(), self.0).cmp(&(other.rank(), other.0))
    }
}

impl fmt::Debug for LayerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Display for LayerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl Serialize for LayerKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for LayerKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<LayerKind, D::Error> {
        let name = String::deserialize(d)?;
        LayerKind::define(&name).map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for LayerKind {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "LayerKind".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A layer kind: its table name. Built in: admin (行政区), units (自然资源登记单元), parcels \
                (地类图斑), redlines (生态保护红线), farmland (永久基本农田), urban (城镇开发边界), forest (森林资源小班); \
                others are defined in layers/kinds/ (approvals 农用地转用和土地征收, supply 供地, temporary 临时用地, \
                facility 设施农用地, mining 矿业权 …).",
            "type": "string",
            "pattern": "^[a-z][a-z0-9_]{0,39}$"
        })
    }
}

/// The type of an attribute field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    /// UTF-8 text.
    Text,
    /// 64-bit integer.
    Integer,
    /// Double-precision number.
    Real,
    /// Calendar date (ISO 8601, `YYYY-MM-DD`).
    Date,
}

impl FieldType {
    /// SQLite/GeoPackage column type.
    pub fn sql(self) -> &'static str {
        match self {
            FieldType::Text => "TEXT",
            FieldType::Integer => "INTEGER",
            FieldType::Real => "REAL",
            FieldType::Date => "DATE",
        }
    }
}

/// One attribute value, as read from a source or the registry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Value {
    /// No value.
    Null,
    /// An integer.
    Int(i64),
    /// A real number.
    Real(f64),
    /// Text (dates are text in ISO 8601 form).
    Text(String),
}

impl Value {
    /// True for [`Value::Null`] and for blank text.
    pub fn is_blank(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Text(s) => s.trim().is_empty(),
            _ => false,
        }
    }

    /// The value as a number, if it is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Real(r) => Some(*r),
            _ => None,
        }
    }

    /// The value as text, if it is text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => Ok(()),
            Value::Int(i) => write!(f, "{i}"),
            Value::Real(r) => write!(f, "{r}"),
            Value::Text(s) => f.write_str(s),
        }
    }
}

/// A date stamp: the day a vintage describes (`--as-of`).
pub type AsOf = NaiveDate;

/// Parse `YYYY-MM-DD` into a date, with a message naming what was wrong.
pub fn parse_date(s: &str) -> Result<AsOf, String> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|e| format!("'{s}' is not a date in YYYY-MM-DD form ({e})"))
}

/// Refuse a date after today (the local calendar) unless forced: a vintage or event dated in the future
/// would make every realistic later date of its layer refuse itself. `what` names the argument.
pub fn check_not_future(date: AsOf, force: bool, what: &str) -> crate::Result<()> {
    let today = chrono::Local::now().date_naive();
    if date > today && !force {
        return Err(crate::Error::Invalid(format!(
            "{what} {date} is after today ({today}); vintages and events are added in date order, so a future date would \
             refuse every realistic date after it. Pass --force if the date is really meant"
        )));
    }
    Ok(())
}

/// Parts rounded to `1 / scale` (100: to 0.01) so that the published parts add up exactly to the
/// published total: the parts are scaled to the total, floored, and the units left over go to the largest
/// remainders (the earlier part on a tie). Parts that sum to nothing stay as they are, rounded.
pub fn apportion(parts: &[f64], total: f64, scale: f64) -> Vec<f64> {
    let sum: f64 = parts.iter().sum();
    if sum <= 0.0 || !sum.is_finite() {
        return parts.iter().map(|p| (p * scale).round() / scale).collect();
    }
    let target = (total * scale).round() as i64;
    let exact: Vec<f64> = parts.iter().map(|p| p / sum * target as f64).collect();
    let mut units: Vec<i64> = exact.iter().map(|e| e.floor() as i64).collect();
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())).then(a.cmp(&b)));
    let left = target - units.iter().sum::<i64>();
    for &i in order.iter().cycle().take(left.max(0) as usize) {
        units[i] += 1;
    }
    units.into_iter().map(|u| u as f64 / scale).collect()
}

/// A record of a layer as the registry stores it (attributes in the layer's field order).
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The value of the layer's key field (BSM, DYH, …).
    pub key: String,
    /// Attribute values in the order of [`crate::catalog::LayerDef::fields`].
    pub values: Vec<Value>,
    /// Polygonal geometry in the registry CRS.
    pub geometry: geo::MultiPolygon<f64>,
}

impl Record {
    /// The value of field `i` (its position in the layer's fields). A registry read restricted to some
    /// fields ([`crate::store::Fields::Only`]) stops the values after the last field it read, so the fields
    /// after it are null here too.
    pub fn value(&self, i: usize) -> &Value {
        const NULL: &Value = &Value::Null;
        self.values.get(i).unwrap_or(NULL)
    }
}

/// The four registration types of 自然资源统一确权登记.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventType {
    /// 首次登记
    First,
    /// 变更登记
    Change,
    /// 注销登记
    Cancel,
    /// 更正登记
    Correct,
}

impl EventType {
    /// The official Chinese term, as stored in the registry.
    pub fn label(self) -> &'static str {
        match self {
            EventType::First => "首次登记",
            EventType::Change => "变更登记",
            EventType::Cancel => "注销登记",
            EventType::Correct => "更正登记",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apportioned_parts_add_up_to_the_published_total() {
        let third = 10_000.0 / 3.0;
        let parts = apportion(&[third, third, third], 10_000.0, 100.0);
        assert_eq!(parts, vec![3333.34, 3333.33, 3333.33]);
        assert_eq!((parts.iter().sum::<f64>() * 100.0).round(), 1_000_000.0);
        // parts a little over the total (pieces measured apart): scaled down to it
        let parts = apportion(&[6_000.004, 4_000.004], 10_000.0, 100.0);
        assert_eq!(parts, vec![6000.0, 4000.0]);
        assert_eq!(apportion(&[0.0, 0.0], 5.0, 100.0), vec![0.0, 0.0]);
    }
}
