//! Regions: the ground an admin code (行政区划代码) stands for, in one place.
//!
//! - [`Region`]: the union of the admin (行政区) outlines whose code is the requested code (or, when none is,
//!   starts with it: a city's counties, a county's townships) on a date, indexed as an [`Outline`] for fast
//!   clipping — the region a balance sheet or an audit covers, and a check's gap outline;
//! - [`outermost`]: of several levels of 行政区, the outermost ones;
//! - [`counties`]: the counties (县级) a province run streams through;
//! - [`codes`]: the national table of division codes (`layers/regions.csv`), which chooses a new registry's
//!   Gauss-Krüger zone.

pub mod codes;

use crate::area::AreaCalculator;
use crate::error::{Error, Result};
use crate::model::{AsOf, LayerKind};
use crate::quantity::SquareMetres;
use crate::store::StoredRecord;
use crate::store::{Read, Registry};
use geo::MultiPolygon;

use crate::geometry::Outline;

/// The region of a sheet, an audit or a check.
pub struct Region {
    /// The requested code, or the codes of every outline joined by `;` when none was requested.
    pub code: String,
    /// Names of the outlines that make it up.
    pub name: String,
    /// The outline, indexed.
    pub outline: Outline,
    /// Ellipsoidal area, m² (densified like every piece).
    pub area: SquareMetres,
}

impl Region {
    /// The region `code` (None: every admin outline) on `date`.
    pub fn load(reg: &Registry, code: Option<&str>, date: AsOf, calc: &AreaCalculator) -> Result<Region> {
        let admin = reg.read(&Read::layer(LayerKind::Admin).on(Some(date)))?;
        if admin.is_empty() {
            return Err(Error::Invalid(format!(
                "{}: no admin (行政区) outline is valid on {date}; import the XZQ layer (nrledger import … --layer admin) so the sheet has a region to cover",
                reg.path().display()
            )));
        }
        let chosen: Vec<_> = match code {
            None => outermost(&admin),
            Some(c) => {
                let exact: Vec<_> = admin.iter().filter(|r| r.record.key == c).collect();
                if exact.is_empty() {
                    outermost(admin.iter().filter(|r| r.record.key.starts_with(c)))
                } else {
                    exact
                }
            }
        };
        if chosen.is_empty() {
            let mut codes: Vec<&str> = admin.iter().map(|r| r.record.key.as_str()).collect();
            codes.sort();
            codes.dedup();
            return Err(Error::Invalid(format!(
                "region {}: no admin outline with that code (or starting with it) on {date} in {}; the registry has {}",
                code.unwrap_or(""),
                reg.path().display(),
                codes.join(", ")
            )));
        }
        let name_idx = reg.catalog().layer(LayerKind::Admin).field_index("XZQMC");
        let name = chosen
            .iter()
            .map(|r| name_idx.map(|i| r.record.value(i).to_string()).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("、");
        let parts: Vec<geo::Polygon<f64>> = chosen.iter().flat_map(|r| r.record.geometry.0.iter().cloned()).collect();
        let geometry =
            if chosen.len() == 1 { chosen[0].record.geometry.clone() } else { geo::unary_union(parts.iter()) };
        let code = code
            .map(str::to_string)
            .unwrap_or_else(|| chosen.iter().map(|r| r.record.key.clone()).collect::<Vec<_>>().join(";"));
        let area = crate::area::piece_area(calc, &geometry);
        Ok(Region { code, name, outline: Outline::new(geometry), area: SquareMetres(area) })
    }
}

/// The admin records not inside another of the set: a county's townships are dropped when the county is
/// there too (the registry may hold several levels of 行政区; an outline is the union of the outermost).
pub fn outermost<'a>(records: impl IntoIterator<Item = &'a StoredRecord>) -> Vec<&'a StoredRecord> {
    let all: Vec<&StoredRecord> = records.into_iter().collect();
    all.iter()
        .filter(|r| {
            !all.iter()
                .any(|o| o.record.key.len() < r.record.key.len() && r.record.key.starts_with(o.record.key.as_str()))
        })
        .copied()
        .collect()
}

/// A county (县级 admin outline) of a streamed run.
#[derive(Debug, Clone)]
pub struct County {
    /// XZQDM, 6 digits.
    pub code: String,
    /// XZQMC.
    pub name: String,
    /// The outline, registry CRS.
    pub outline: MultiPolygon<f64>,
}

/// The counties (县级: 6-digit admin codes that group no other) under `prefix` on `at`, by code.
pub fn counties(reg: &Registry, at: Option<AsOf>, prefix: Option<&str>) -> Result<Vec<County>> {
    let admin = reg.read(&Read::layer(LayerKind::Admin).on(at))?;
    let six: Vec<_> =
        admin.iter().filter(|r| r.record.key.len() == 6 && r.record.key.bytes().all(|b| b.is_ascii_digit())).collect();
    // a code that only groups others: its stem (without trailing 00 pairs) starts another 6-digit code
    let groups = |code: &str| {
        let mut stem = code;
        while stem.len() > 2 && stem.ends_with("00") {
            stem = &stem[..stem.len() - 2];
        }
        stem != code && six.iter().any(|o| o.record.key != code && o.record.key.starts_with(stem))
    };
    let name_idx = reg.catalog().layer(LayerKind::Admin).field_index("XZQMC");
    let mut out: Vec<County> = six
        .iter()
        .filter(|r| !groups(&r.record.key) && prefix.is_none_or(|p| r.record.key.starts_with(p)))
        .map(|r| County {
            code: r.record.key.clone(),
            name: name_idx.map(|i| r.record.value(i).to_string()).unwrap_or_default(),
            outline: r.record.geometry.clone(),
        })
        .collect();
    out.sort_by(|a, b| a.code.cmp(&b.code));
    out.dedup_by(|a, b| a.code == b.code);
    if out.is_empty() {
        let mut codes: Vec<&str> = admin.iter().map(|r| r.record.key.as_str()).collect();
        codes.sort();
        return Err(Error::Invalid(format!(
            "--by-county: no county outline (6-digit XZQDM{}) in the admin layer of {}{}; it has {}",
            prefix.map(|p| format!(" starting {p}")).unwrap_or_default(),
            reg.path().display(),
            at.map(|d| format!(" on {d}")).unwrap_or_default(),
            if codes.is_empty() { "none".into() } else { codes.join(", ") }
        )));
    }
    Ok(out)
}
