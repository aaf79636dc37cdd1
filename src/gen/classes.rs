//! Land classes from smooth random fields, and the changes that make the second vintage.

use geo::{BooleanOps, BoundingRect, Coord, MultiPolygon, Rect};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::GenParcel;
use crate::area::AreaCalculator;
use crate::error::Result;

/// The smooth fields classes are drawn from.
#[derive(Debug, Clone)]
pub(crate) struct Fields {
    bumps: Vec<(Coord<f64>, f64, f64)>,
    pub(crate) town: Coord<f64>,
    pub(crate) town_r: f64,
    river_y: f64,
    river_amp: f64,
    river_len: f64,
    river_w: f64,
    reservoir: Coord<f64>,
    reservoir_r: f64,
    bbox: Rect<f64>,
    seed: u64,
}

impl Fields {
    pub(crate) fn new(rng: &mut ChaCha8Rng, bbox: Rect<f64>, cell: f64) -> Fields {
        let (w, h) = (bbox.width(), bbox.height());
        let at = |rng: &mut ChaCha8Rng, fx: (f64, f64), fy: (f64, f64)| Coord {
            x: bbox.min().x + w * rng.random_range(fx.0..fx.1),
            y: bbox.min().y + h * rng.random_range(fy.0..fy.1),
        };
        let bumps = (0..7)
            .map(|_| {
                (at(rng, (0.0, 1.0), (0.0, 1.0)), rng.random_range(0.5..1.1), w.min(h) * rng.random_range(0.12..0.28))
            })
            .collect();
        let town = at(rng, (0.4, 0.6), (0.4, 0.6));
        let reservoir = at(rng, (0.2, 0.8), (0.15, 0.35));
        Fields {
            bumps,
            town,
            town_r: 4.5 * cell,
            river_y: bbox.min().y + h * rng.random_range(0.45..0.6),
            river_amp: h * 0.08,
            river_len: w * rng.random_range(0.5..0.9),
            river_w: 0.55 * cell,
            reservoir,
            reservoir_r: 2.2 * cell,
            bbox,
            seed: rng.random(),
        }
    }

    /// Hill height (0 … ~1.5): forest where high, paddy where low.
    pub(crate) fn height(&self, p: Coord<f64>) -> f64 {
        let b: f64 = self
            .bumps
            .iter()
            .map(|(c, a, s)| a * (-((p.x - c.x).powi(2) + (p.y - c.y).powi(2)) / (2.0 * s * s)).exp())
            .sum();
        // mountains rise to the south-west, as in much of south-east China's hill counties
        let gx = 1.0 - (p.x - self.bbox.min().x) / self.bbox.width();
        let gy = 1.0 - (p.y - self.bbox.min().y) / self.bbox.height();
        b + 0.35 * gx * gy
    }

    pub(crate) fn town_distance(&self, p: Coord<f64>) -> f64 {
        ((p.x - self.town.x).powi(2) + (p.y - self.town.y).powi(2)).sqrt()
    }

    fn on_river(&self, p: Coord<f64>) -> bool {
        let f = self.river_y
            + self.river_amp * (2.0 * std::f64::consts::PI * (p.x - self.bbox.min().x) / self.river_len).sin();
        (p.y - f).abs() < self.river_w
    }

    fn in_reservoir(&self, p: Coord<f64>) -> bool {
        ((p.x - self.reservoir.x).powi(2) + (p.y - self.reservoir.y).powi(2)).sqrt() < self.reservoir_r
    }

    pub(crate) fn cell_rng(&self, cell: (i64, i64), salt: u64) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(
            self.seed
                ^ salt
                ^ (cell.0 as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
                ^ (cell.1 as u64).wrapping_mul(0xD6E8_FEB8_6659_FD93),
        )
    }

    /// (class code, slope grade, quality grade) for a parcel centred at `p`.
    pub(crate) fn class_at(&self, p: Coord<f64>, cell: (i64, i64)) -> (&'static str, u8, u8) {
        let mut r = self.cell_rng(cell, 1);
        let h = self.height(p);
        let slope = (1.0 + h * 4.0).clamp(1.0, 5.0) as u8;
        let quality = (2.0 + h * 8.0 + r.random_range(0.0..3.0)).clamp(1.0, 15.0) as u8;
        let pick = |r: &mut ChaCha8Rng, table: &[(&'static str, f64)]| {
            let x: f64 = r.random();
            let mut acc = 0.0;
            for (c, w) in table {
                acc += w;
                if x < acc {
                    return *c;
                }
            }
            table[table.len() - 1].0
        };
        let c = if self.in_reservoir(p) {
            "1103"
        } else if self.on_river(p) {
            pick(&mut r, &[("1101", 0.85), ("1106", 0.15)])
        } else if self.town_distance(p) < self.town_r {
            pick(
                &mut r,
                &[("0701", 0.5), ("05H1", 0.15), ("0601", 0.1), ("1004", 0.12), ("0810", 0.05), ("08H2", 0.08)],
            )
        } else if h > 0.9 {
            pick(&mut r, &[("0301", 0.6), ("0302", 0.3), ("0305", 0.1)])
        } else if h > 0.55 {
            pick(&mut r, &[("0302", 0.4), ("0301", 0.3), ("0202", 0.2), ("0307", 0.1)])
        } else if h > 0.3 {
            pick(
                &mut r,
                &[("0103", 0.35), ("0301", 0.2), ("0201", 0.15), ("0202", 0.15), ("0702", 0.1), ("0404", 0.05)],
            )
        } else {
            pick(
                &mut r,
                &[
                    ("0101", 0.55),
                    ("0103", 0.15),
                    ("0702", 0.12),
                    ("0102", 0.05),
                    ("1104", 0.05),
                    ("1006", 0.05),
                    ("1202", 0.03),
                ],
            )
        };
        (c, slope, quality)
    }

    /// (township 1–9, village 1–16) from a 3×3 township grid with 4×4 villages each.
    pub(crate) fn admin_units(&self, p: Coord<f64>) -> (u32, u32) {
        let fx = ((p.x - self.bbox.min().x) / self.bbox.width()).clamp(0.0, 0.999_999);
        let fy = ((p.y - self.bbox.min().y) / self.bbox.height()).clamp(0.0, 0.999_999);
        let (tx, ty) = ((fx * 3.0) as u32, (fy * 3.0) as u32);
        let (vx, vy) = (((fx * 12.0) as u32) % 4, ((fy * 12.0) as u32) % 4);
        (ty * 3 + tx + 1, vy * 4 + vx + 1)
    }
}

pub(crate) fn is_cultivated(c: &str) -> bool {
    c.starts_with("01")
}

pub(crate) fn is_forest(c: &str) -> bool {
    c.starts_with("03")
}

/// The second vintage: class changes (建设占用, 开垦, 生态退耕), splits and merges.
pub(crate) fn second_vintage(v1: &[GenParcel], f: &Fields, areas: &AreaCalculator) -> Result<Vec<GenParcel>> {
    let mut next_seq = v1.iter().map(|p| p.seq).max().unwrap_or(0) + 1;
    let mut out: Vec<GenParcel> = Vec::with_capacity(v1.len() + 64);
    let mut merged_away = std::collections::HashSet::new();
    let by_cell: std::collections::HashMap<(i64, i64), usize> =
        v1.iter().enumerate().filter(|(_, p)| p.geometry.0.len() == 1).map(|(i, p)| (p.cell, i)).collect();
    for (idx, p) in v1.iter().enumerate() {
        if merged_away.contains(&idx) {
            continue;
        }
        let mut r = f.cell_rng(p.cell, 2);
        let centre = p.geometry.bounding_rect().expect("parcel").center();
        let mut q = p.clone();
        let x: f64 = r.random();
        let near_town = f.town_distance(centre) < f.town_r * 1.6;
        if near_town && is_cultivated(p.dlbm) && x < 0.45 {
            q.dlbm = if r.random_bool(0.7) { "0701" } else { "0601" }; // 建设占用
        } else if is_forest(p.dlbm) && f.height(centre) > 0.55 && f.height(centre) < 0.9 && x < 0.03 {
            q.dlbm = "0103"; // 开垦
        } else if p.dlbm == "0103" && p.slope >= 3 && x < 0.12 {
            q.dlbm = "0301"; // 生态退耕
        } else if x > 0.985 && !near_town {
            // split along the vertical through the centre
            let b = p.geometry.bounding_rect().expect("parcel");
            let left = geo::Rect::new(b.min(), Coord { x: centre.x, y: b.max().y }).to_polygon();
            let right = geo::Rect::new(Coord { x: centre.x, y: b.min().y }, b.max()).to_polygon();
            for (k, half) in [left, right].into_iter().enumerate() {
                let g = p.geometry.intersection(&MultiPolygon(vec![half]));
                if g.0.is_empty() {
                    continue;
                }
                let mut h = p.clone();
                h.geometry = g;
                h.seq = next_seq;
                next_seq += 1;
                if k == 1 && is_cultivated(p.dlbm) {
                    h.dlbm = "1202"; // half turned into a farm facility
                }
                h.area = areas.areas(&h.geometry)?.ellipsoidal;
                out.push(h);
            }
            continue;
        } else if x > 0.975 && x <= 0.985 {
            // merge with the eastern neighbour when it is a whole cell of the same class
            if let Some(&n) = by_cell.get(&(p.cell.0 + 1, p.cell.1)) {
                if v1[n].dlbm == p.dlbm && !merged_away.contains(&n) && n > idx && p.geometry.0.len() == 1 {
                    let g = p.geometry.union(&v1[n].geometry);
                    if g.0.len() == 1 {
                        merged_away.insert(n);
                        q.geometry = g;
                        q.seq = next_seq;
                        next_seq += 1;
                        q.area = areas.areas(&q.geometry)?.ellipsoidal;
                    }
                }
            }
        }
        out.push(q);
    }
    Ok(out)
}
