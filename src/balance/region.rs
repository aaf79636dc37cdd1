//! The region a sheet covers and fast clipping to it.
//!
//! A region is the union of the admin (行政区) outlines whose code is the requested code (or, when none is,
//! starts with it: a city's counties, a county's townships), taken at the closing date so both vintages are
//! measured against the same ground. [`Outline`] indexes the outline's boundary segments in an R-tree, so a
//! polygon whose box no boundary segment meets is wholly inside or wholly outside, decided by counting
//! crossings of a ray — only polygons on the boundary need a boolean operation.

use geo::{BoundingRect, Coord, MultiPolygon};

use crate::area::AreaCalculator;
use crate::checks::context::outermost;
use crate::checks::geom;
use crate::error::{Error, Result};
use crate::index::LayerIndex;
use crate::model::{AsOf, LayerKind};
use crate::store::Registry;

/// Where a polygon lies relative to an outline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// Wholly inside.
    Inside,
    /// Wholly outside.
    Outside,
    /// Its box meets the outline's boundary: clip it.
    Boundary,
}

/// A multipolygon with an index over its boundary segments.
pub struct Outline {
    /// The outline, registry CRS.
    pub geometry: MultiPolygon<f64>,
    segments: Vec<(Coord<f64>, Coord<f64>)>,
    index: LayerIndex,
}

impl Outline {
    /// Index an outline.
    pub fn new(geometry: MultiPolygon<f64>) -> Outline {
        let segments: Vec<(Coord<f64>, Coord<f64>)> = geometry
            .0
            .iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
            .flat_map(|r| r.0.windows(2).map(|w| (w[0], w[1])))
            .filter(|(a, b)| a != b)
            .collect();
        let envs: Vec<(i64, [f64; 4])> =
            segments.iter().enumerate().map(|(i, (a, b))| (i as i64, [a.x.min(b.x), a.x.max(b.x), a.y.min(b.y), a.y.max(b.y)])).collect();
        Outline { index: LayerIndex::build(&envs), segments, geometry }
    }

    /// Where `mp` lies: inside, outside, or on the boundary (its box meets a boundary segment's box).
    pub fn position(&self, mp: &MultiPolygon<f64>) -> Position {
        let Some(b) = mp.bounding_rect() else { return Position::Outside };
        if !self.index.in_box(b.min().x, b.min().y, b.max().x, b.max().y).is_empty() {
            return Position::Boundary;
        }
        let Some(p) = mp.0.first().and_then(|p| p.exterior().0.first()) else { return Position::Outside };
        if self.contains_point(*p) {
            Position::Inside
        } else {
            Position::Outside
        }
    }

    /// Even–odd point-in-polygon through the segment index (a horizontal ray to the east).
    pub fn contains_point(&self, p: Coord<f64>) -> bool {
        let Some(b) = self.geometry.bounding_rect() else { return false };
        let mut inside = false;
        for i in self.index.in_box(p.x, p.y, b.max().x + 1.0, p.y) {
            let (a, c) = self.segments[i as usize];
            if (a.y > p.y) != (c.y > p.y) {
                let x = a.x + (p.y - a.y) / (c.y - a.y) * (c.x - a.x);
                if x > p.x {
                    inside = !inside;
                }
            }
        }
        inside
    }

    /// The part of `mp` inside the outline, and whether it was clipped (None: nothing inside).
    pub fn clip(&self, mp: &MultiPolygon<f64>) -> Option<(MultiPolygon<f64>, bool)> {
        match self.position(mp) {
            Position::Inside => Some((mp.clone(), false)),
            Position::Outside => None,
            Position::Boundary => {
                let g = geom::intersection(mp, &self.geometry);
                let (a, whole) = (geo::Area::unsigned_area(&g), geo::Area::unsigned_area(mp));
                if g.0.is_empty() || a <= 0.0 {
                    None
                } else if (whole - a).abs() <= 1e-9 * whole + 1e-6 {
                    // wholly inside, only touching the boundary: keep the exact original (the boolean
                    // operation's output is rounded to its grid and would no longer share vertices with neighbours)
                    Some((mp.clone(), false))
                } else {
                    Some((g, true))
                }
            }
        }
    }
}

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
        let name = chosen.iter().map(|r| name_idx.map(|i| r.record.values[i].to_string()).unwrap_or_default()).collect::<Vec<_>>().join("、");
        let parts: Vec<geo::Polygon<f64>> = chosen.iter().flat_map(|r| r.record.geometry.0.iter().cloned()).collect();
        let geometry = if chosen.len() == 1 { chosen[0].record.geometry.clone() } else { geo::unary_union(parts.iter()) };
        let code = code.map(str::to_string).unwrap_or_else(|| chosen.iter().map(|r| r.record.key.clone()).collect::<Vec<_>>().join(";"));
        let area = geom::piece_area(calc, &geometry);
        Ok(Region { code, name, outline: Outline::new(geometry), area })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{LineString, Polygon};

    fn sq(x0: f64, y0: f64, s: f64) -> Polygon<f64> {
        Polygon::new(LineString::from(vec![(x0, y0), (x0 + s, y0), (x0 + s, y0 + s), (x0, y0 + s), (x0, y0)]), vec![])
    }

    #[test]
    fn positions_and_clipping() {
        // a 100 m square with a 20 m hole
        let mut outer = sq(0.0, 0.0, 100.0);
        outer.interiors_push(sq(40.0, 40.0, 20.0).exterior().clone());
        let o = Outline::new(MultiPolygon(vec![outer]));
        assert_eq!(o.position(&MultiPolygon(vec![sq(10.0, 10.0, 5.0)])), Position::Inside);
        assert_eq!(o.position(&MultiPolygon(vec![sq(45.0, 45.0, 5.0)])), Position::Outside, "in the hole");
        assert_eq!(o.position(&MultiPolygon(vec![sq(200.0, 10.0, 5.0)])), Position::Outside);
        assert_eq!(o.position(&MultiPolygon(vec![sq(95.0, 10.0, 10.0)])), Position::Boundary);
        let (g, clipped) = o.clip(&MultiPolygon(vec![sq(95.0, 10.0, 10.0)])).unwrap();
        assert!(clipped);
        assert!((geo::Area::unsigned_area(&g) - 50.0).abs() < 1e-9);
        assert!(o.clip(&MultiPolygon(vec![sq(45.0, 45.0, 5.0)])).is_none());
    }
}
