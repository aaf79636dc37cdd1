//! Clipping to a rectangle, exactly in floating point, and the planar area of the result.

use geo::MultiPolygon;

/// Sutherland–Hodgman clip of every ring to a rectangle. The rings may come out with zero-width
/// connections along the rectangle's edges; the boolean operation that follows resolves them.
pub fn clip_to_rect(mp: &MultiPolygon<f64>, r: geo::Rect<f64>) -> MultiPolygon<f64> {
    use geo::{Coord, LineString, Polygon};
    fn clip(ring: &LineString<f64>, r: geo::Rect<f64>) -> Option<LineString<f64>> {
        let mut pts: Vec<Coord<f64>> = ring.0.clone();
        if pts.len() > 1 && pts.first() == pts.last() {
            pts.pop();
        }
        // (inside test, intersection) for each of the four half-planes
        for side in 0..4 {
            if pts.is_empty() {
                return None;
            }
            let inside = |c: &Coord<f64>| match side {
                0 => c.x >= r.min().x,
                1 => c.x <= r.max().x,
                2 => c.y >= r.min().y,
                _ => c.y <= r.max().y,
            };
            let cross = |p: Coord<f64>, q: Coord<f64>| {
                let (t, vertical) = match side {
                    0 => ((r.min().x - p.x) / (q.x - p.x), true),
                    1 => ((r.max().x - p.x) / (q.x - p.x), true),
                    2 => ((r.min().y - p.y) / (q.y - p.y), false),
                    _ => ((r.max().y - p.y) / (q.y - p.y), false),
                };
                let c = Coord { x: p.x + t * (q.x - p.x), y: p.y + t * (q.y - p.y) };
                // put the point exactly on the clip line
                match (side, vertical) {
                    (0, _) => Coord { x: r.min().x, ..c },
                    (1, _) => Coord { x: r.max().x, ..c },
                    (2, _) => Coord { y: r.min().y, ..c },
                    _ => Coord { y: r.max().y, ..c },
                }
            };
            let mut out = Vec::with_capacity(pts.len() + 4);
            for k in 0..pts.len() {
                let (p, q) = (pts[k], pts[(k + 1) % pts.len()]);
                match (inside(&p), inside(&q)) {
                    (true, true) => out.push(q),
                    (true, false) => out.push(cross(p, q)),
                    (false, true) => {
                        out.push(cross(p, q));
                        out.push(q);
                    }
                    (false, false) => {}
                }
            }
            pts = out;
        }
        if pts.len() < 3 {
            return None;
        }
        pts.push(pts[0]);
        Some(LineString(pts))
    }
    MultiPolygon(
        mp.0.iter()
            .filter_map(|p| {
                let ext = clip(p.exterior(), r)?;
                Some(Polygon::new(ext, p.interiors().iter().filter_map(|h| clip(h, r)).collect()))
            })
            .collect(),
    )
}

/// Area of a multipolygon by the shoelace formula, exteriors minus holes — exact for the output of
/// [`clip_to_rect`], whose zero-width connections add nothing.
pub fn shoelace_area(mp: &MultiPolygon<f64>) -> f64 {
    use geo::Area as _;
    mp.0.iter()
        .map(|p| {
            let ext = geo::Polygon::new(p.exterior().clone(), vec![]).unsigned_area();
            ext - p.interiors().iter().map(|h| geo::Polygon::new(h.clone(), vec![]).unsigned_area()).sum::<f64>()
        })
        .sum()
}
