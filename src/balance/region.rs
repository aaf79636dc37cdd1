//! The region a sheet covers and fast clipping to it.
//!
//! A region is the union of the admin (行政区) outlines whose code is the requested code (or, when none is,
//! starts with it: a city's counties, a county's townships), taken at the closing date so both vintages are
//! measured against the same ground, and indexed as an [`Outline`] (`crate::outline`) for fast clipping.

use crate::area::AreaCalculator;
use crate::checks::context::outermost;
use crate::error::{Error, Result};
use crate::model::{AsOf, LayerKind};
use crate::store::Registry;

pub use crate::geometry::{Clip, Outline, Position};

/// The region of a sheet.
pub struct Region {
    /// The requested code, or the codes of every outline joined by `;` when none was requested.
    pub code: String,
    /// Names of the outlines that make it up.
    pub name: String,
    /// The outline, indexed.
    pub outline: Outline,
    /// Ellipsoidal area, m² (densified like every piece).
    pub area: f64,
}

impl Region {
    /// The region `code` (None: every admin outline) on `date`.
    pub fn load(reg: &Registry, code: Option<&str>, date: AsOf, calc: &AreaCalculator) -> Result<Region> {
        let admin = reg.records_at(LayerKind::Admin, Some(date))?;
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
        Ok(Region { code, name, outline: Outline::new(geometry), area })
    }
}
