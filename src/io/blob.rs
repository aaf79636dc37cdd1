//! GeoPackage geometry blobs (GeoPackage 1.3 §2.1.3): the `GP` header with an envelope, then
//! little-endian WKB.

use geo::{BoundingRect, MultiPolygon};
use geo_traits::to_geo::ToGeoGeometry;

/// Encode a multipolygon as a GeoPackage blob with an `[minx, maxx, miny, maxy]` envelope.
pub fn encode(mp: &MultiPolygon<f64>, srs_id: i32) -> Vec<u8> {
    let geom = geo::Geometry::MultiPolygon(mp.clone());
    let mut out = Vec::with_capacity(40 + wkb::writer::geometry_wkb_size(&geom));
    out.extend_from_slice(b"GP");
    out.push(0); // version 1
    let empty = mp.0.is_empty();
    // flags: bit0 = little-endian header, bits1-3 = envelope code (1 = xy), bit4 = empty
    let flags: u8 = 0b0000_0001 | if empty { 0b0001_0000 } else { 0b0000_0010 };
    out.push(flags);
    out.extend_from_slice(&srs_id.to_le_bytes());
    if !empty {
        let r = mp.bounding_rect().expect("non-empty");
        for v in [r.min().x, r.max().x, r.min().y, r.max().y] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    wkb::writer::write_geometry(
        &mut out,
        &geom,
        &wkb::writer::WriteOptions { endianness: wkb::Endianness::LittleEndian },
    )
    .expect("writing WKB to a Vec cannot fail");
    out
}

/// The envelope `[minx, maxx, miny, maxy]` stored in a blob header, if any.
pub fn envelope(blob: &[u8]) -> Option<[f64; 4]> {
    let (flags, _) = header(blob)?;
    if (flags >> 1) & 0b111 == 0 {
        return None;
    }
    let le = flags & 1 == 1;
    let mut v = [0.0; 4];
    for (i, slot) in v.iter_mut().enumerate() {
        let b: [u8; 8] = blob.get(8 + i * 8..16 + i * 8)?.try_into().ok()?;
        *slot = if le { f64::from_le_bytes(b) } else { f64::from_be_bytes(b) };
    }
    Some(v)
}

fn header(blob: &[u8]) -> Option<(u8, usize)> {
    if blob.len() < 8 || &blob[0..2] != b"GP" {
        return None;
    }
    let flags = blob[3];
    let env_len = match (flags >> 1) & 0b111 {
        0 => 0,
        1 => 32,
        2 | 3 => 48,
        4 => 64,
        _ => return None,
    };
    Some((flags, 8 + env_len))
}

/// True if the blob is flagged empty (used by the `ST_IsEmpty` SQL function).
pub fn is_empty(blob: &[u8]) -> bool {
    header(blob).map(|(f, _)| f & 0b0001_0000 != 0).unwrap_or(true)
}

/// Decode a blob into a multipolygon (a polygon is promoted). Errors name what was wrong.
pub fn decode(blob: &[u8]) -> Result<MultiPolygon<f64>, String> {
    let (_, off) = header(blob).ok_or("not a GeoPackage geometry blob")?;
    let wkb = wkb::reader::read_wkb(&blob[off..]).map_err(|e| format!("bad WKB: {e}"))?;
    match wkb.to_geometry() {
        geo::Geometry::MultiPolygon(mp) => Ok(mp),
        geo::Geometry::Polygon(p) => Ok(MultiPolygon(vec![p])),
        other => Err(format!("expected a polygon, found {}", geom_name(&other))),
    }
}

/// Decode any geometry (for the rejects layer).
pub fn decode_any(blob: &[u8]) -> Result<geo::Geometry<f64>, String> {
    let (_, off) = header(blob).ok_or("not a GeoPackage geometry blob")?;
    let wkb = wkb::reader::read_wkb(&blob[off..]).map_err(|e| format!("bad WKB: {e}"))?;
    Ok(wkb.to_geometry())
}

/// Encode any geometry with an envelope (for the rejects layer).
pub fn encode_any(g: &geo::Geometry<f64>, srs_id: i32) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(b"GP");
    out.push(0);
    match g.bounding_rect() {
        Some(r) => {
            out.push(0b0000_0011);
            out.extend_from_slice(&srs_id.to_le_bytes());
            for v in [r.min().x, r.max().x, r.min().y, r.max().y] {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        None => {
            out.push(0b0001_0001);
            out.extend_from_slice(&srs_id.to_le_bytes());
        }
    }
    wkb::writer::write_geometry(&mut out, g, &wkb::writer::WriteOptions { endianness: wkb::Endianness::LittleEndian })
        .expect("writing WKB to a Vec cannot fail");
    out
}

/// OGC name of a geometry's type.
pub fn geom_name(g: &geo::Geometry<f64>) -> &'static str {
    match g {
        geo::Geometry::Point(_) => "Point",
        geo::Geometry::Line(_) | geo::Geometry::LineString(_) => "LineString",
        geo::Geometry::Polygon(_) | geo::Geometry::Rect(_) | geo::Geometry::Triangle(_) => "Polygon",
        geo::Geometry::MultiPoint(_) => "MultiPoint",
        geo::Geometry::MultiLineString(_) => "MultiLineString",
        geo::Geometry::MultiPolygon(_) => "MultiPolygon",
        geo::Geometry::GeometryCollection(_) => "GeometryCollection",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    #[test]
    fn round_trip_with_envelope() {
        let mp = MultiPolygon(vec![polygon![(x: 1.0, y: 2.0), (x: 5.0, y: 2.0), (x: 5.0, y: 7.0), (x: 1.0, y: 2.0)]]);
        let b = encode(&mp, 4549);
        assert_eq!(envelope(&b), Some([1.0, 5.0, 2.0, 7.0]));
        assert!(!is_empty(&b));
        assert_eq!(decode(&b).unwrap(), mp);
        assert!(is_empty(&encode(&MultiPolygon(vec![]), 4549)));
        assert!(decode(b"nonsense").is_err());
    }
}
