//! The geometry stage of an import: choose the source CRS, then for every feature check the geometry
//! type and validity, reproject to the registry CRS, check it lands inside the registry's zone, and measure
//! its ellipsoidal and planar areas — in parallel, one PROJ context per worker.

use geo::BoundingRect;
use rayon::prelude::*;

use crate::area::{AreaCalculator, Areas};
use crate::crs::{self, CrsInfo, Transformer};
use crate::error::{Error, Result};
use crate::io::source::{SourceFeature, SourceGeometry, SourceInfo};
use crate::model::LayerKind;

/// A feature's prepared geometry, or why it was refused (with the geometry to keep with the reject).
pub(super) type Prepared = std::result::Result<(geo::MultiPolygon<f64>, Areas), (String, Option<geo::Geometry<f64>>)>;

/// The largest northing a projected coordinate can have (the pole lies at about 10 002 km on a transverse
/// Mercator grid; a false northing adds at most a few thousand kilometres in the CRSs a registry uses).
const MAX_NORTHING: f64 = 20_000_000.0;

/// Prepare every feature's geometry for the registry, taking it out of the feature (a source in the
/// registry's CRS is not copied).
pub(super) fn prepare_all(
    features: &mut [SourceFeature],
    src_crs: &CrsInfo,
    reg: &CrsInfo,
    kind: LayerKind,
    make_valid: bool,
) -> Result<Vec<Prepared>> {
    let reg_crs = reg.definition.clone();
    let fe = reg.false_easting;
    let src_def = src_crs.definition.clone();
    // fail early, with a clear message, if PROJ cannot build the transformations (this thread's own, kept
    // for the next batch)
    Transformer::for_thread(&src_def, &reg_crs)?;
    AreaCalculator::for_thread(reg)?;
    Ok(features
        .par_iter_mut()
        .with_min_len(256)
        .map_init(
            || {
                (
                    Transformer::for_thread(&src_def, &reg_crs).expect("checked above"),
                    AreaCalculator::for_thread(reg).expect("checked above"),
                )
            },
            |(tr, calc), f| {
                let geometry = std::mem::replace(&mut f.geometry, SourceGeometry::Missing);
                prepare_one(geometry, tr, calc, fe, kind, make_valid, src_crs.gcj02)
            },
        )
        .collect())
}

fn prepare_one(
    geometry: SourceGeometry,
    tr: &Transformer,
    calc: &AreaCalculator,
    fe: f64,
    kind: LayerKind,
    make_valid: bool,
    gcj02: bool,
) -> Prepared {
    let mp = match geometry {
        SourceGeometry::Missing => return Err(("no geometry".to_string(), None)),
        SourceGeometry::Empty => return Err(("empty geometry".to_string(), None)),
        SourceGeometry::NotPolygonal(t) => {
            return Err((format!("geometry is a {t}; layer {kind} needs polygons"), None))
        }
        SourceGeometry::Unreadable(e) => return Err((format!("unreadable geometry: {e}"), None)),
        SourceGeometry::Polygonal { mp, .. } => mp,
    };
    let mp = if gcj02 {
        use geo::MapCoords;
        mp.map_coords(|c| crate::gcj02::to_wgs84(c.x, c.y).into())
    } else {
        mp
    };
    let moved = tr.multipolygon_owned(mp).map_err(|e| (e.to_string(), None))?;
    let as_geom = || Some(geo::Geometry::MultiPolygon(moved.clone()));
    use geo::CoordsIter;
    if !moved.coords_iter().all(|c| c.x.is_finite() && c.y.is_finite()) {
        return Err(("a coordinate is not a finite number (damaged coordinates?)".to_string(), None));
    }
    if let Some(r) = moved.bounding_rect() {
        let off = (r.min().x - fe).abs().max((r.max().x - fe).abs());
        if off > 1_000_000.0 {
            return Err((
                format!("geometry lands {:.0} km from the registry's central meridian after reprojection — wrong source CRS?", off / 1000.0),
                None,
            ));
        }
        // beyond the poles no projected northing exists: damaged coordinates, which would also make the
        // densified outline of the area computation take all memory
        let north = r.min().y.abs().max(r.max().y.abs());
        if north > MAX_NORTHING {
            return Err((
                format!("geometry lands {:.0} km from the equator after reprojection, beyond the poles — damaged coordinates or a wrong source CRS?", north / 1000.0),
                None,
            ));
        }
    }
    if !make_valid {
        if let Err(e) = crate::validity::check(&moved) {
            return Err((format!("invalid geometry: {e} (use --make-valid to repair with GEOS MakeValid)"), as_geom()));
        }
    }
    let areas = calc.areas(&moved).map_err(|e| (e.to_string(), as_geom()))?;
    if areas.ellipsoidal <= 0.0 {
        return Err(("geometry has zero area".to_string(), as_geom()));
    }
    Ok((moved, areas))
}

/// Whether `--src-crs` names GCJ-02 (the obfuscated WGS 84 of Chinese web maps).
fn is_gcj02(given: &str) -> bool {
    matches!(given.trim().to_ascii_uppercase().as_str(), "GCJ02" | "GCJ-02")
}

/// Decide the source CRS: `--src-crs` wins; GeoJSON lon/lat is taken as the registry's geographic CRS
/// (CGCS2000) as is; a source with no CRS is refused with a hint from its coordinates.
pub(super) fn source_crs(src: &SourceInfo, given: Option<&str>, reg: &CrsInfo) -> Result<CrsInfo> {
    Ok(match (given, &src.crs) {
        (Some(g), _) if is_gcj02(g) => CrsInfo { gcj02: true, ..crs::describe("EPSG:4326")? },
        (Some(g), _) => crs::describe(g)?,
        (None, Some(c)) if src.driver == "GeoJSON" && c.epsg == Some(4326) => crs::describe(&reg.geographic)?,
        (None, Some(c)) => c.clone(),
        (None, None) => {
            let hint = src.declared_extent.map(|e| crs::guess_hint(e[0], e[1], e[2], e[3], reg)).unwrap_or_default();
            return Err(Error::NoSourceCrs { path: src.path.clone(), layer: src.layer.clone(), hint });
        }
    })
}

/// Refuse projected coordinates that do not fit the source CRS's false easting (zone prefix confusion),
/// judged on the polygons' extent (`[minx, maxx, miny, maxy]`; a batch's, since a batch failing means the
/// whole source does).
pub(super) fn check_extent(src: &SourceInfo, info: &CrsInfo, extent: Option<[f64; 4]>) -> Result<()> {
    if let (Some(e), false) = (extent, info.gcj02) {
        crs::check_false_easting(info, e[0], e[1]).map_err(|reason| Error::CrsMismatch {
            path: src.path.clone(),
            layer: src.layer.clone(),
            reason,
        })?;
    }
    Ok(())
}
