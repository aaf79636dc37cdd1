//! Whether a polygon is valid by the OGC Simple Features rules, decided by GEOS's IsValidOp — the library
//! GDAL, PostGIS and QGIS use, so a parcel nrledger accepts is one they accept. It checks every rule,
//! including the ones `geo`'s validation leaves out (an interior split in two by holes that touch the shell
//! or each other, a polygon of zero area), and it is linear-logarithmic in the vertex count: real red lines
//! and county outlines have hundreds of thousands of vertices.

use geo::MultiPolygon;
use geos::{CoordSeq, CoordType, Geom, Geometry};

/// Why a geometry is invalid, as GEOS says it (e.g. `Self-intersection[500012.5 3300007.25]`, `Interior is
/// disconnected[…]`, `Too few points in geometry component[…]`), in a sentence for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Check a multipolygon's validity; `Err` says why it is not valid and where.
pub fn check(mp: &MultiPolygon<f64>) -> Result<(), Invalid> {
    let g = to_geos(mp)?;
    let reason = g.is_valid_reason().map_err(|e| Invalid(format!("GEOS could not check it: {e}")))?;
    if reason == "Valid Geometry" {
        Ok(())
    } else {
        Err(Invalid(reason))
    }
}

/// The multipolygon as a GEOS geometry; a ring GEOS cannot even build (fewer than four points, not closed)
/// is an invalid geometry, said so.
fn to_geos(mp: &MultiPolygon<f64>) -> Result<Geometry, Invalid> {
    let ring = |ls: &geo::LineString<f64>| -> Result<Geometry, Invalid> {
        let flat: Vec<f64> = ls.0.iter().flat_map(|c| [c.x, c.y]).collect();
        let points = ls.0.len();
        let seq = CoordSeq::new_from_buffer(&flat, points, CoordType::XY).map_err(|e| Invalid(e.to_string()))?;
        Geometry::create_linear_ring(seq).map_err(|_| match ls.0.first() {
            Some(c) => Invalid(format!(
                "Too few points in geometry component[{} {}] ({points} points, a ring needs 4)",
                c.x, c.y
            )),
            None => Invalid("Too few points in geometry component (an empty ring)".into()),
        })
    };
    let polygons =
        mp.0.iter()
            .map(|p| {
                let exterior = ring(p.exterior())?;
                let interiors = p.interiors().iter().map(ring).collect::<Result<Vec<_>, _>>()?;
                Geometry::create_polygon(exterior, interiors).map_err(|e| Invalid(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
    Geometry::create_multipolygon(polygons).map_err(|e| Invalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::wkt;

    fn verdict(mp: MultiPolygon<f64>) -> Result<(), String> {
        check(&mp).map_err(|e| e.0)
    }

    /// The OGC rules `geo`'s validation leaves out, each with a polygon of its own: the interior must be
    /// connected, and a polygon must have an area.
    #[test]
    fn disconnected_interiors_and_zero_area_are_invalid() {
        // a hole touching the shell at two points cuts the polygon in two
        let hole_touches_shell_twice =
            wkt!(MULTIPOLYGON(((0. 0.,10. 0.,10. 10.,0. 10.,0. 0.),(0. 5.,5. 2.,10. 5.,5. 8.,0. 5.))));
        assert!(verdict(hole_touches_shell_twice).unwrap_err().starts_with("Interior is disconnected"));
        // a chain of holes, each touching the next and the ends touching the shell
        let chain = wkt!(MULTIPOLYGON(((0. 0.,12. 0.,12. 10.,0. 10.,0. 0.),(0. 5.,3. 3.,6. 5.,3. 7.,0. 5.),(6. 5.,9. 3.,12. 5.,9. 7.,6. 5.))));
        assert!(verdict(chain).unwrap_err().starts_with("Interior is disconnected"));
        // two holes touching at two points enclose part of the interior
        let holes_touch_twice = wkt!(MULTIPOLYGON(((0. 0.,10. 0.,10. 10.,0. 10.,0. 0.),(2. 2.,5. 2.,5. 8.,2. 8.,2. 2.),(5. 2.,8. 2.,8. 8.,5. 8.,5. 2.))));
        assert!(verdict(holes_touch_twice).is_err());
        // zero area: every vertex on one line
        let flat = wkt!(MULTIPOLYGON(((0. 0.,10. 0.,20. 0.,0. 0.,0. 0.))));
        assert!(verdict(flat).is_err());
        // a hole touching the shell once is valid, as is a plain square
        let touches_once = wkt!(MULTIPOLYGON(((0. 0.,10. 0.,10. 10.,0. 10.,0. 0.),(0. 5.,5. 2.,5. 8.,0. 5.))));
        assert_eq!(verdict(touches_once), Ok(()));
        assert_eq!(verdict(wkt!(MULTIPOLYGON(((0. 0.,1. 0.,1. 1.,0. 0.))))), Ok(()));
    }

    #[test]
    fn self_intersections_and_short_rings_say_where() {
        let bowtie = wkt!(MULTIPOLYGON(((0. 0.,2. 2.,2. 0.,0. 2.,0. 0.))));
        assert_eq!(verdict(bowtie), Err("Self-intersection[1 1]".into()));
        let short =
            MultiPolygon(vec![geo::Polygon::new(geo::LineString::from(vec![(0., 0.), (1., 1.), (0., 0.)]), vec![])]);
        assert!(verdict(short).unwrap_err().starts_with("Too few points in geometry component[0 0]"));
    }
}
