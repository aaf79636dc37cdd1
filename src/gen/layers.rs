//! From generated parcels to the delivered layers (DLTB, XZQ, STBHHX, YJJBNT, CZKFBJ, ZRZYDJDY) and the
//! seed files, one GeoPackage per vintage. The deliberate defects of the second vintage are placed here,
//! where the zones are known, and listed in the `defects.json` written beside the seeds.

use std::path::{Path, PathBuf};

use geo::{Area, BooleanOps, BoundingRect, Coord, Intersects, LineString, MultiPolygon, Polygon, Rect};

use super::classes::{is_cultivated, is_forest};
use super::{centre, round2, County, GenParcel, Zone};
use crate::error::{Error, Result};
use crate::geometry::LayerIndex;
use crate::geometry::Outline;
use crate::io::export::{self, Column, Table};
use crate::model::{FieldType, Value};

fn union_components(parts: &[&MultiPolygon<f64>], min_area: f64) -> Vec<MultiPolygon<f64>> {
    if parts.is_empty() {
        return vec![];
    }
    let polys: Vec<geo::Polygon<f64>> = parts.iter().flat_map(|m| m.0.iter().cloned()).collect();
    let u = geo::unary_union(polys.iter());
    let mut out: Vec<MultiPolygon<f64>> =
        u.0.into_iter().filter(|p| geo::Area::unsigned_area(p) >= min_area).map(|p| MultiPolygon(vec![p])).collect();
    out.sort_by(|a, b| {
        let (ca, cb) = (a.bounding_rect().unwrap().center(), b.bounding_rect().unwrap().center());
        (ca.y, ca.x).partial_cmp(&(cb.y, cb.x)).unwrap()
    });
    out
}

/// Write the county's seed files into `dir`: `<as-of>.gpkg` per vintage and `defects.json`.
pub fn write_county(c: &County, dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let heights = Heights::of(c);
    let redlines = redlines(c, &heights)?;
    let urban = urban(c);
    // point location in the zones through their tiled outlines (a zone is a union of many parcels: testing
    // every parcel against its whole boundary is quadratic in a county of millions of parcels)
    let red_outlines: Vec<Outline> = redlines.iter().map(|z| Outline::new(z.geometry.clone())).collect();
    let in_red = |p: &GenParcel| red_outlines.iter().any(|o| o.contains_point(centre(p)));
    let farmland = farmland(c, &in_red);
    let second = second_vintage(c, &redlines, &red_outlines, &urban, &farmland)?;
    let units = units(c, &redlines, &heights, &in_red);
    let xzq = admin(c)?;
    let forest = super::forest::stands(c, &second.parcels)?;
    let delivery = Delivery { xzq: &xzq, redlines: &redlines, urban: &urban, units: &units, forest: &forest };
    let mut written = vec![
        write_vintage(c, dir, ("2019-12-31", 2019), &c.vintages[0], &farmland, &delivery)?,
        write_vintage(c, dir, ("2020-12-31", 2020), &second.parcels, &second.farmland, &delivery)?,
    ];
    let (approvals, rights) = super::permits::permits(c, &c.vintages[0], &second.parcels)?;
    write_zone_table(&written[1], "PZYD", &super::permits::APPROVAL_COLUMNS, &approvals, &c.crs)?;
    write_zone_table(&written[1], "KYQ", &super::permits::MINING_COLUMNS, &rights, &c.crs)?;
    let (v2, farmland2, defects) = (&second.parcels, &second.farmland, &second.defects);
    let code = &c.code;
    let dpath = dir.join("defects.json");
    let summary = serde_json::json!({
        "county": {"code": code, "name": c.name, "crs": c.crs},
        "counts": {"parcels_2019": c.vintages[0].len(), "parcels_2020": v2.len(), "redlines": redlines.len(), "farmland_2019": farmland.len(), "farmland_2020": farmland2.len(), "urban": urban.len(), "units": units.len()},
        "defects_2020": defects,
    });
    std::fs::write(&dpath, serde_json::to_string_pretty(&summary).expect("json")).map_err(|e| Error::io(&dpath, e))?;
    written.push(dpath);
    written.extend(super::forest::write_tables(c, &forest, &farmland, dir)?);
    Ok(written)
}

/// The heights (of the terrain at parcel centres) that draw the zones: red-line cores above `core`, general
/// red lines between `general` and `core` (forest far from the town), the 森林 unit between `unit` and
/// `general`.
struct Heights {
    core: f64,
    general: f64,
    unit: f64,
}

impl Heights {
    fn of(c: &County) -> Heights {
        let f = &c.fields;
        let mut hs: Vec<f64> = c.vintages[0].iter().map(|p| f.height(centre(p))).collect();
        hs.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
        let q = |x: f64| hs[((hs.len() as f64 * x) as usize).min(hs.len() - 1)];
        Heights { core: q(0.92), general: q(0.80), unit: q(0.6) }
    }
}

/// 生态保护红线: the highest hills — core the top 8 % of parcels by height, general the next 12 % (forest
/// only); for hard data, [`scattered_redlines`] instead.
fn redlines(c: &County, h: &Heights) -> Result<Vec<Zone>> {
    if c.hard {
        return scattered_redlines(c, SCATTERED_REDLINES, SCATTERED_COVER);
    }
    let (code, f, cell2, v1) = (&c.code, &c.fields, c.cell * c.cell, &c.vintages[0]);
    let (t_core, t_gen) = (h.core, h.general);
    let core: Vec<&MultiPolygon<f64>> =
        v1.iter().filter(|p| f.height(centre(p)) > t_core && !p.dlbm.starts_with('1')).map(|p| &p.geometry).collect();
    let general: Vec<&MultiPolygon<f64>> = v1
        .iter()
        .filter(|p| {
            (t_gen..=t_core).contains(&f.height(centre(p)))
                && is_forest(p.dlbm)
                && f.town_distance(centre(p)) > f.town_r * 2.5
        })
        .map(|p| &p.geometry)
        .collect();
    let mut redlines = Vec::new();
    for (zone, parts) in [("核心保护区", core), ("一般控制区", general)] {
        for g in union_components(&parts, 5.0 * cell2) {
            let n = redlines.len() + 1;
            let area = c.areas.areas(&g)?.ellipsoidal;
            redlines.push(Zone {
                key: format!("{code}HX{n:03}"),
                attrs: vec![
                    Value::Text(format!("{code}HX{n:03}")),
                    Value::Text(format!("{}生态保护红线{n}号片区", c.name)),
                    Value::Text(zone.into()),
                    Value::Text(if n % 2 == 0 { "生物多样性维护" } else { "水源涵养" }.into()),
                    Value::Text(code.clone()),
                    Value::Real(round2(area)),
                    Value::Text("浙政函〔2019〕1号".into()),
                ],
                geometry: g,
            });
        }
    }
    Ok(redlines)
}

/// How many red lines hard data draws, and the share of the county they cover (about).
const SCATTERED_REDLINES: usize = 500;
const SCATTERED_COVER: f64 = 0.25;

/// Hard data's red lines: `count` irregular patches scattered over the county independently of the parcels
/// (their edges cut through parcels, and they take in towns and farmland: thousands of prohibited-use
/// pieces), apart from each other, covering about `cover` of the county; clipped to its outline.
fn scattered_redlines(c: &County, count: usize, cover: f64) -> Result<Vec<Zone>> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(c.seed ^ 0x5ca7_7e2e_d11e_5000);
    let b = c.outline.bounding_rect().ok_or_else(|| Error::Invalid("empty outline".into()))?;
    let mean_r = (cover * c.outline.unsigned_area() / (count as f64 * std::f64::consts::PI)).sqrt();
    let inside = Outline::new(c.outline.clone());
    let mut discs: Vec<(Coord<f64>, f64)> = Vec::new();
    for _ in 0..count * 400 {
        if discs.len() == count {
            break;
        }
        let p = Coord { x: rng.random_range(b.min().x..b.max().x), y: rng.random_range(b.min().y..b.max().y) };
        let r = mean_r * rng.random_range(0.6..1.35);
        // each patch reaches at most 1.2 × its radius (below): apart by more than that
        let apart = discs
            .iter()
            .all(|(q, s)| ((p.x - q.x).powi(2) + (p.y - q.y).powi(2)).sqrt() > 1.2 * (r + s) + 0.05 * mean_r);
        if inside.contains_point(p) && apart {
            discs.push((p, r));
        }
    }
    let mut zones = Vec::new();
    for (p, r) in discs {
        // a wobbly outline: the radius swings with two waves and a little noise, 48 vertices
        let (k1, k2) = (rng.random_range(2.0..4.0_f64).floor(), rng.random_range(5.0..8.0_f64).floor());
        let tau = std::f64::consts::TAU;
        let (ph1, ph2) = (rng.random_range(0.0..tau), rng.random_range(0.0..tau));
        let mut ring: Vec<Coord<f64>> = (0..48)
            .map(|i| {
                let t = i as f64 / 48.0 * std::f64::consts::TAU;
                let rr = r
                    * (1.0 + 0.12 * (k1 * t + ph1).sin() + 0.05 * (k2 * t + ph2).sin() + rng.random_range(-0.02..0.02));
                Coord { x: p.x + rr * t.cos(), y: p.y + rr * t.sin() }
            })
            .collect();
        ring.push(ring[0]);
        let patch = MultiPolygon::new(vec![Polygon::new(LineString(ring), vec![])]);
        let g = patch.intersection(&c.outline);
        if g.0.is_empty() || g.unsigned_area() < 1.0 {
            continue;
        }
        let n = zones.len() + 1;
        let area = c.areas.areas(&g)?.ellipsoidal;
        let zone = if n % 3 == 0 { "核心保护区" } else { "一般控制区" };
        zones.push(Zone {
            key: format!("{}HX{n:03}", c.code),
            attrs: vec![
                Value::Text(format!("{}HX{n:03}", c.code)),
                Value::Text(format!("{}生态保护红线{n}号片区", c.name)),
                Value::Text(zone.into()),
                Value::Text(if n % 2 == 0 { "生物多样性维护" } else { "水源涵养" }.into()),
                Value::Text(c.code.clone()),
                Value::Real(round2(area)),
                Value::Text("浙政函〔2019〕1号".into()),
            ],
            geometry: g,
        });
    }
    Ok(zones)
}

/// 城镇开发边界: the ground around the town.
fn urban(c: &County) -> Vec<Zone> {
    let (code, f, cell2, v1) = (&c.code, &c.fields, c.cell * c.cell, &c.vintages[0]);
    let urban_parts: Vec<&MultiPolygon<f64>> =
        v1.iter().filter(|p| f.town_distance(centre(p)) < f.town_r * 1.6).map(|p| &p.geometry).collect();
    union_components(&urban_parts, 4.0 * cell2)
        .into_iter()
        .take(1)
        .map(|g| {
            let area = c.areas.areas(&g).map(|a| a.ellipsoidal).unwrap_or(0.0);
            Zone {
                key: format!("{code}CZ001"),
                attrs: vec![
                    Value::Text(format!("{code}CZ001")),
                    Value::Text("集中建设区".into()),
                    Value::Text(code.clone()),
                    Value::Real(round2(area)),
                    Value::Text("浙政函〔2019〕2号".into()),
                ],
                geometry: g,
            }
        })
        .collect()
}

/// 永久基本农田: cultivated parcels outside the town and the red lines, in blocks graded by their parcels.
fn farmland(c: &County, in_red: &dyn Fn(&GenParcel) -> bool) -> Vec<Zone> {
    let (code, f, cell2, v1) = (&c.code, &c.fields, c.cell * c.cell, &c.vintages[0]);
    let farm_parts: Vec<&GenParcel> = v1
        .iter()
        .filter(|p| is_cultivated(p.dlbm) && f.town_distance(centre(p)) >= f.town_r * 1.6 && !in_red(p))
        .collect();
    let farm_geoms: Vec<&MultiPolygon<f64>> = farm_parts.iter().map(|p| &p.geometry).collect();
    let farm_centres: Vec<(i64, [f64; 4])> = farm_parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            (i as i64, {
                let c = centre(p);
                [c.x, c.x, c.y, c.y]
            })
        })
        .collect();
    let farm_index = LayerIndex::build(&farm_centres);
    union_components(&farm_geoms, 3.0 * cell2)
        .into_iter()
        .enumerate()
        .map(|(i, g)| {
            // the block's parcels: centres in its box (R-tree), then in the block (tiled outline)
            let b = g.bounding_rect().expect("block");
            let o = Outline::new(g.clone());
            let q: Vec<u8> = farm_index
                .in_box(b.min().x, b.min().y, b.max().x, b.max().y)
                .into_iter()
                .map(|k| farm_parts[k as usize])
                .filter(|p| o.contains_point(centre(p)))
                .map(|p| p.quality)
                .collect();
            let grade = if q.is_empty() {
                8
            } else {
                (q.iter().map(|&x| x as u32).sum::<u32>() as f64 / q.len() as f64).round() as i64
            };
            let area = c.areas.areas(&g).map(|a| a.ellipsoidal).unwrap_or(0.0);
            Zone {
                key: format!("{code}JB{:04}", i + 1),
                attrs: vec![
                    Value::Text(format!("{code}JB{:04}", i + 1)),
                    Value::Text(code.clone()),
                    Value::Real(round2(area)),
                    Value::Int(grade),
                    Value::Text("浙政土〔2019〕3号".into()),
                ],
                geometry: g,
            }
        })
        .collect()
}

/// The second vintage with its deliberate defects, listed for `defects.json`.
struct SecondVintage {
    parcels: Vec<GenParcel>,
    farmland: Vec<Zone>,
    defects: Vec<serde_json::Value>,
}

/// The second vintage: the county's, with (1) mining inside a core red line, (2) housing inside a general
/// red line, (3) an overlapping parcel, (4) a gap, (5) a farmland block drawn into the urban boundary.
fn second_vintage(
    c: &County,
    redlines: &[Zone],
    red_outlines: &[Outline],
    urban: &[Zone],
    farmland: &[Zone],
) -> Result<SecondVintage> {
    let (code, f) = (&c.code, &c.fields);
    let mut v2 = c.vintages[1].clone();
    let mut defects = Vec::new();
    let next_seq = v2.iter().map(|p| p.seq).max().unwrap_or(0) + 1;
    // (1) mining inside a core red line, (2) housing inside a general red line
    for (zone, class, what) in
        [("核心保护区", "0602", "采矿用地 in 核心保护区"), ("一般控制区", "0701", "城镇住宅用地 in 一般控制区")]
    {
        if let Some((z, o)) =
            redlines.iter().zip(red_outlines).find(|(z, _)| matches!(&z.attrs[2], Value::Text(t) if t == zone))
        {
            if let Some(p) = v2.iter_mut().filter(|p| p.geometry.0.len() == 1 && o.contains_point(centre(p))).nth(2) {
                p.dlbm = class;
                defects.push(serde_json::json!({"kind": "redline_violation", "what": what, "BSM": bsm(code, p.seq), "redline": z.key, "area_m2": round2(p.area)}));
            }
        }
    }
    // (3) an overlapping parcel: a 40 m square straddling two parcels in the middle of the county
    let mid = v2.len() / 2;
    let pc = centre(&v2[mid]);
    let sq = MultiPolygon(vec![Rect::new(
        Coord { x: pc.x - 20.0, y: pc.y - 20.0 },
        Coord { x: pc.x + 20.0, y: pc.y + 20.0 },
    )
    .to_polygon()]);
    let sq_area = c.areas.areas(&sq)?.ellipsoidal;
    let mut extra = v2[mid].clone();
    extra.geometry = sq;
    extra.seq = next_seq;
    extra.dlbm = "1202";
    extra.area = sq_area;
    defects.push(serde_json::json!({"kind": "parcel_overlap", "BSM": bsm(code, next_seq), "area_m2": round2(sq_area)}));
    v2.push(extra);
    // (4) a gap: the parcel a third of the way through is missing from the survey
    let gi = v2
        .iter()
        .enumerate()
        .filter(|(_, p)| p.geometry.0.len() == 1 && f.town_distance(centre(p)) > f.town_r * 2.0)
        .nth(v2.len() / 3)
        .map(|(i, _)| i);
    if let Some(gi) = gi {
        let p = v2.remove(gi);
        defects
            .push(serde_json::json!({"kind": "coverage_gap", "was_BSM": bsm(code, p.seq), "area_m2": round2(p.area)}));
    }
    // (5) 2020 farmland delivery with one block drawn into the urban boundary
    let mut farmland2: Vec<Zone> = farmland
        .iter()
        .map(|z| Zone { key: z.key.clone(), geometry: z.geometry.clone(), attrs: z.attrs.clone() })
        .collect();
    if let Some(u) = urban.first() {
        let b = u.geometry.bounding_rect().expect("urban");
        let cc = b.center();
        let g = MultiPolygon(vec![Rect::new(
            Coord { x: cc.x - 60.0, y: cc.y - 60.0 },
            Coord { x: cc.x + 60.0, y: cc.y + 60.0 },
        )
        .to_polygon()]);
        let area = c.areas.areas(&g)?.ellipsoidal;
        let key = format!("{code}JB{:04}", farmland.len() + 1);
        defects.push(serde_json::json!({"kind": "farmland_urban_overlap", "BHKBH": key, "area_m2": round2(area)}));
        farmland2.push(Zone {
            key: key.clone(),
            attrs: vec![
                Value::Text(key),
                Value::Text(code.clone()),
                Value::Real(round2(area)),
                Value::Int(6),
                Value::Text("浙政土〔2020〕1号".into()),
            ],
            geometry: g,
        });
    }

    Ok(SecondVintage { parcels: v2, farmland: farmland2, defects })
}

/// Registration units (自然资源登记单元) from disjoint parcel sets.
fn units(c: &County, redlines: &[Zone], h: &Heights, in_red: &dyn Fn(&GenParcel) -> bool) -> Vec<Zone> {
    let (code, f, v1) = (&c.code, &c.fields, &c.vintages[0]);
    let (q06, t_gen) = (h.unit, h.general);
    let unit_sets: Vec<(&str, &str, Vec<&GenParcel>)> = vec![
        (
            "ZB",
            "自然保护区",
            v1.iter()
                .filter(|p| {
                    redlines.iter().any(|z| {
                        matches!(&z.attrs[2], Value::Text(t) if t == "核心保护区")
                            && z.geometry.intersects(&centre_point(p))
                    })
                })
                .collect(),
        ),
        ("SL", "水流", v1.iter().filter(|p| p.dlbm == "1101" || p.dlbm == "1106").collect()),
        ("SD", "湿地", v1.iter().filter(|p| p.dlbm == "1103").collect()),
        (
            "SN",
            "森林",
            v1.iter()
                .filter(|p| is_forest(p.dlbm) && (q06..t_gen).contains(&f.height(centre(p))) && !in_red(p))
                .collect(),
        ),
    ];
    let mut units = Vec::new();
    for (n, (tag, kind, parts)) in unit_sets.into_iter().enumerate() {
        let geoms: Vec<&MultiPolygon<f64>> = parts.iter().map(|p| &p.geometry).collect();
        let comps = union_components(&geoms, 0.0);
        if comps.is_empty() {
            continue;
        }
        let g = MultiPolygon(comps.into_iter().flat_map(|m| m.0).collect());
        let state: f64 = parts.iter().filter(|p| qsxz(f, p) == "10").map(|p| p.area).sum();
        let total: f64 = parts.iter().map(|p| p.area).sum();
        // a unit links the red lines it overlaps (touching along an edge is not a link)
        let links: Vec<&str> = redlines
            .iter()
            .filter(|z| {
                z.geometry.intersects(&g)
                    && geo::Area::unsigned_area(&geo::BooleanOps::intersection(&z.geometry, &g)) > 1.0
            })
            .map(|z| z.key.as_str())
            .collect();
        let key = format!("{code}{tag}{:04}", n + 1);
        let collective = total - state;
        units.push(Zone {
            key: key.clone(),
            attrs: vec![
                Value::Text(key),
                Value::Text(format!("{}{}{}登记单元", c.name, kind, n + 1)),
                Value::Text(kind.into()),
                Value::Text(format!("浙江省湖州市{}", c.name)),
                Value::Text(if collective > state { "集体" } else { "全民" }.into()),
                Value::Text("自然资源部".into()),
                Value::Text("浙江省人民政府".into()),
                Value::Text("代理行使".into()),
                Value::Text(format!("{}自然资源和规划局", c.name)),
                Value::Real(round2(total)),
                Value::Real(round2(state)),
                Value::Real(round2(collective)),
                Value::Real(0.0),
                Value::Text(links.join(";")),
                Value::Text(format!("安自然资登字〔2019〕第{}号", n + 1)),
                Value::Null,
            ],
            geometry: g,
        });
    }

    units
}

/// 行政区: the county outline and its townships (乡镇, 9-digit codes as in ZLDWDM, the union of their 2019
/// parcels).
fn admin(c: &County) -> Result<Vec<Zone>> {
    let (code, v1) = (&c.code, &c.vintages[0]);
    let outline_area = c.areas.areas(&c.outline)?.ellipsoidal;
    let mut xzq = vec![Zone {
        key: code.clone(),
        attrs: vec![Value::Text(code.clone()), Value::Text(c.name.clone()), Value::Real(round2(outline_area))],
        geometry: c.outline.clone(),
    }];
    let mut towns: Vec<u32> = v1.iter().map(|p| p.township).collect();
    towns.sort_unstable();
    towns.dedup();
    for t in towns {
        let parts: Vec<&MultiPolygon<f64>> = v1.iter().filter(|p| p.township == t).map(|p| &p.geometry).collect();
        let g = MultiPolygon(union_components(&parts, 0.0).into_iter().flat_map(|m| m.0).collect());
        let key = format!("{code}{:03}", 100 + t);
        let area = c.areas.areas(&g)?.ellipsoidal;
        xzq.push(Zone {
            key: key.clone(),
            attrs: vec![Value::Text(key), Value::Text(format!("{}第{t}镇", c.name)), Value::Real(round2(area))],
            geometry: g,
        });
    }
    Ok(xzq)
}

/// The zones delivered with every vintage.
struct Delivery<'a> {
    xzq: &'a [Zone],
    redlines: &'a [Zone],
    urban: &'a [Zone],
    units: &'a [Zone],
    forest: &'a super::forest::Forest,
}

/// Write one vintage's GeoPackage `<date>.gpkg`: its parcels (SJNF the year a parcel was last surveyed,
/// BGYY the cause of a changed class), its farmland, and the zones.
fn write_vintage(
    c: &County,
    dir: &Path,
    (date, year): (&str, i64),
    parcels: &[GenParcel],
    farm: &[Zone],
    d: &Delivery,
) -> Result<PathBuf> {
    let first: std::collections::HashMap<u64, &GenParcel> = c.vintages[0].iter().map(|p| (p.seq, p)).collect();
    let (xzq, redlines, urban, units, forest) = (d.xzq, d.redlines, d.urban, d.units, d.forest);
    let path = dir.join(format!("{date}.gpkg"));
    let _ = std::fs::remove_file(&path);
    // SJNF is the year a parcel was last surveyed: parcels untouched since 2019 keep it
    let rows = parcels
        .iter()
        .map(|p| {
            let same = first.get(&p.seq).is_some_and(|q| q.dlbm == p.dlbm && q.geometry == p.geometry);
            // 变更原因 of a 2020 parcel whose class changed (a split or merge keeping its class has none)
            let cause = match first.get(&p.seq) {
                _ if year == 2019 => None,
                Some(q) if q.dlbm != p.dlbm => Some(match (q.dlbm, p.dlbm) {
                    (_, n) if n.starts_with("06") || n.starts_with("07") => "建设占用",
                    (o, "0103") if o.starts_with("03") => "开发",
                    ("0103", n) if n.starts_with("03") => "生态退耕",
                    _ => "农业结构调整",
                }),
                None if p.dlbm == "1202" => Some("农业结构调整"),
                _ => None,
            };
            // hard data re-versions every parcel: the second survey gives each its own year
            let mut row = dltb_row(c, p, if same && !c.hard { 2019 } else { year });
            let bz = row.pop().expect("BZ is last");
            row.push(cause.map(|x| Value::Text(x.into())).unwrap_or(Value::Null));
            row.push(bz);
            (p.geometry.clone(), row)
        })
        .collect();
    write_table(&path, "DLTB", dltb_columns(), rows, &c.crs)?;
    write_zone_table(
        &path,
        "XZQ",
        &[("XZQDM", FieldType::Text), ("XZQMC", FieldType::Text), ("DCMJ", FieldType::Real)],
        xzq,
        &c.crs,
    )?;
    write_zone_table(
        &path,
        "STBHHX",
        &[
            ("HXBH", FieldType::Text),
            ("HXMC", FieldType::Text),
            ("GKFQ", FieldType::Text),
            ("HXLX", FieldType::Text),
            ("XZQDM", FieldType::Text),
            ("HXMJ", FieldType::Real),
            ("PZWH", FieldType::Text),
        ],
        redlines,
        &c.crs,
    )?;
    write_zone_table(
        &path,
        "YJJBNT",
        &[
            ("BHKBH", FieldType::Text),
            ("XZQDM", FieldType::Text),
            ("JBNTMJ", FieldType::Real),
            ("ZLDJ", FieldType::Integer),
            ("PZWH", FieldType::Text),
        ],
        farm,
        &c.crs,
    )?;
    write_zone_table(
        &path,
        "CZKFBJ",
        &[
            ("BJBH", FieldType::Text),
            ("FQLX", FieldType::Text),
            ("XZQDM", FieldType::Text),
            ("BJMJ", FieldType::Real),
            ("PZWH", FieldType::Text),
        ],
        urban,
        &c.crs,
    )?;
    write_table(&path, "XB", super::forest::columns(), forest.layer(year, &c.code), &c.crs)?;
    write_zone_table(
        &path,
        "ZRZYDJDY",
        &[
            ("DYH", FieldType::Text),
            ("DYMC", FieldType::Text),
            ("DYLX", FieldType::Text),
            ("ZL", FieldType::Text),
            ("SYQZT", FieldType::Text),
            ("DBXSZT", FieldType::Text),
            ("DLXSZT", FieldType::Text),
            ("XSFS", FieldType::Text),
            ("GLZT", FieldType::Text),
            ("DYMJ", FieldType::Real),
            ("GYMJ", FieldType::Real),
            ("JTMJ", FieldType::Real),
            ("ZYMJ", FieldType::Real),
            ("STHX", FieldType::Text),
            ("DJWH", FieldType::Text),
            ("BZ", FieldType::Text),
        ],
        units,
        &c.crs,
    )?;
    Ok(path)
}

fn centre_point(p: &GenParcel) -> geo::Point<f64> {
    geo::Point::from(centre(p))
}

fn bsm(code: &str, seq: u64) -> String {
    format!("{code}{seq:08}")
}

fn qsxz(f: &super::classes::Fields, p: &GenParcel) -> &'static str {
    let c = centre(p);
    if p.dlbm.starts_with("11") || f.town_distance(c) < f.town_r * 1.6 || f.height(c) > 1.1 {
        "10"
    } else if p.seq % 7 == 0 {
        "31"
    } else {
        "30"
    }
}

fn dltb_columns() -> Vec<(&'static str, FieldType)> {
    vec![
        ("BSM", FieldType::Text),
        ("YSDM", FieldType::Text),
        ("TBBH", FieldType::Text),
        ("DLBM", FieldType::Text),
        ("DLMC", FieldType::Text),
        ("QSXZ", FieldType::Text),
        ("QSDWDM", FieldType::Text),
        ("QSDWMC", FieldType::Text),
        ("ZLDWDM", FieldType::Text),
        ("ZLDWMC", FieldType::Text),
        ("TBMJ", FieldType::Real),
        ("KCDLBM", FieldType::Text),
        ("KCXS", FieldType::Real),
        ("KCMJ", FieldType::Real),
        ("TBDLMJ", FieldType::Real),
        ("GDLX", FieldType::Text),
        ("GDPDJB", FieldType::Text),
        ("ZLDJ", FieldType::Integer),
        ("SJNF", FieldType::Integer),
        ("BGYY", FieldType::Text),
        ("BZ", FieldType::Text),
    ]
}

fn dltb_row(c: &County, p: &GenParcel, year: i64) -> Vec<Value> {
    let code = &c.code;
    let zl = format!("{code}{:03}{:03}0000000", 100 + p.township, 200 + p.village);
    let zlmc = format!("{}第{}镇第{}村", c.name, p.township, p.village);
    let q = qsxz(&c.fields, p);
    let (qsdm, qsmc) = if q == "10" {
        (format!("{code}0000000000000"), format!("{}人民政府", c.name))
    } else {
        (zl.clone(), format!("{zlmc}农民集体"))
    };
    let tbmj = round2(p.area);
    let dry = p.dlbm == "0103" && p.slope >= 2;
    let kcxs = if dry { [0.0, 0.0, 0.06, 0.1, 0.14, 0.18][p.slope as usize] } else { 0.0 };
    let kcmj = round2(tbmj * kcxs);
    static CATALOG: std::sync::OnceLock<crate::catalog::Catalog> = std::sync::OnceLock::new();
    let cat = CATALOG.get_or_init(|| crate::catalog::Catalog::embedded().expect("embedded catalog"));
    let name = cat.classes.landuse_name(p.dlbm).unwrap_or_default().to_string();
    let cultivated = is_cultivated(p.dlbm);
    vec![
        Value::Text(bsm(code, p.seq)),
        Value::Text("2001010100".into()),
        Value::Text(format!("{}", p.seq)),
        Value::Text(p.dlbm.into()),
        Value::Text(name),
        Value::Text(q.into()),
        Value::Text(qsdm),
        Value::Text(qsmc),
        Value::Text(zl),
        Value::Text(zlmc),
        Value::Real(tbmj),
        if dry { Value::Text("1203".into()) } else { Value::Null },
        Value::Real(kcxs),
        Value::Real(kcmj),
        Value::Real(round2(tbmj - kcmj)),
        if p.dlbm == "0103" { Value::Text(if p.slope >= 3 { "PD" } else { "TT" }.into()) } else { Value::Null },
        if cultivated { Value::Text(p.slope.to_string()) } else { Value::Null },
        if cultivated { Value::Int(p.quality as i64) } else { Value::Null },
        Value::Int(year),
        Value::Null,
    ]
}

fn write_table(
    path: &Path,
    name: &str,
    cols: Vec<(&str, FieldType)>,
    rows: Vec<(MultiPolygon<f64>, Vec<Value>)>,
    crs: &str,
) -> Result<()> {
    let table = Table {
        name,
        columns: cols.into_iter().map(|(n, t)| Column { name: n.into(), field_type: t }).collect(),
        rows: rows.into_iter().map(|(g, v)| (geo::Geometry::MultiPolygon(g), v)).collect(),
    };
    export::append(&table, path, crs)
}

fn write_zone_table(path: &Path, name: &str, cols: &[(&str, FieldType)], zones: &[Zone], crs: &str) -> Result<()> {
    write_table(path, name, cols.to_vec(), zones.iter().map(|z| (z.geometry.clone(), z.attrs.clone())).collect(), crs)
}
