//! GeoPackage geometry blobs (GeoPackage 1.3 §2.1.3): the `GP` header with an envelope, then
//! little-endian WKB.

use geo::{BoundingRect, MultiPolygon};
use geo_traits::to_geo::ToGeoGeometry;

/// Encode a multipolygon as a GeoPackage blob with an `[minx, maxx, miny, maxy]` envelope.
pub fn encode(mp: &MultiPolygon<f64>, srs_id: i32) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(mp, srs_id, &mut out);
    out
}

/// [`encode`] into `out` (cleared first), so that a writer encoding blob after blob reuses one buffer.
pub fn encode_into(mp: &MultiPolygon<f64>, srs_id: i32, out: &mut Vec<u8>) {
    out.clear();
    out.reserve(40 + wkb::writer::geometry_wkb_size(mp));
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
    wkb::writer::write_geometry(out, mp, &wkb::writer::WriteOptions { endianness: wkb::Endianness::LittleEndian })
        .expect("writing WKB to a Vec cannot fail");
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
    if let Some(mp) = polygonal_le_2d(&blob[off..]) {
        return Ok(mp);
    }
    let wkb = wkb::reader::read_wkb(&blob[off..]).map_err(|e| format!("bad WKB: {e}"))?;
    match wkb.to_geometry() {
        geo::Geometry::MultiPolygon(mp) => Ok(mp),
        geo::Geometry::Polygon(p) => Ok(MultiPolygon(vec![p])),
        other => Err(format!("expected a polygon, found {}", geom_name(&other))),
    }
}

/// The WKB nrledger itself writes — a little-endian 2D Polygon or MultiPolygon — read straight into
/// `geo`, each ring's coordinates copied in one pass into a vector of the right size. Registry reads
/// decode a million such blobs per vintage, and going through the `wkb` crate's reader and the
/// `geo-traits` conversion coordinate by coordinate took a tenth of a whole-registry check's CPU time.
/// Anything else (big-endian, Z or M, other types, lengths that do not add up) is `None`, and the `wkb`
/// crate reads it; the rings are built by `Polygon::new` as that conversion builds them, so both paths
/// give the same geometry (tested below).
fn polygonal_le_2d(w: &[u8]) -> Option<MultiPolygon<f64>> {
    struct Cursor<'a>(&'a [u8]);
    impl<'a> Cursor<'a> {
        fn take(&mut self, n: usize) -> Option<&'a [u8]> {
            let (head, rest) = (self.0.get(..n)?, self.0.get(n..)?);
            self.0 = rest;
            Some(head)
        }
        fn u32(&mut self) -> Option<usize> {
            Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?) as usize)
        }
        /// A geometry's byte order and type, if little-endian.
        fn head(&mut self) -> Option<usize> {
            (self.take(1)? == [1]).then_some(())?;
            self.u32()
        }
        fn ring(&mut self) -> Option<geo::LineString<f64>> {
            let n = self.u32()?;
            let bytes = self.take(n.checked_mul(16)?)?;
            let f = |b: &[u8]| f64::from_le_bytes(b.try_into().expect("8 bytes"));
            Some(geo::LineString(bytes.chunks_exact(16).map(|p| geo::Coord { x: f(&p[..8]), y: f(&p[8..]) }).collect()))
        }
        fn polygon(&mut self) -> Option<geo::Polygon<f64>> {
            let rings = self.u32()?;
            // every ring takes at least its 4-byte count: a count beyond the bytes left is not ours
            if rings == 0 || rings > self.0.len() / 4 {
                return None;
            }
            let exterior = self.ring()?;
            let interiors = (1..rings).map(|_| self.ring()).collect::<Option<Vec<_>>>()?;
            Some(geo::Polygon::new(exterior, interiors))
        }
    }
    let mut c = Cursor(w);
    let mp = match c.head()? {
        3 => MultiPolygon(vec![c.polygon()?]),
        6 => {
            let n = c.u32()?;
            if n > c.0.len() / 9 {
                return None;
            }
            let mut parts = Vec::with_capacity(n);
            for _ in 0..n {
                (c.head()? == 3).then_some(())?;
                parts.push(c.polygon()?);
            }
            MultiPolygon(parts)
        }
        _ => return None,
    };
    c.0.is_empty().then_some(mp)
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

    /// The `wkb` crate's reading of a blob's WKB, as `decode` did before its fast path.
    fn by_the_wkb_crate(blob: &[u8]) -> Result<MultiPolygon<f64>, String> {
        let (_, off) = header(blob).unwrap();
        match wkb::reader::read_wkb(&blob[off..]).map_err(|e| format!("bad WKB: {e}"))?.to_geometry() {
            geo::Geometry::MultiPolygon(mp) => Ok(mp),
            geo::Geometry::Polygon(p) => Ok(MultiPolygon(vec![p])),
            other => Err(geom_name(&other).to_string()),
        }
    }

    fn blob_of(g: &geo::Geometry<f64>, endianness: wkb::Endianness) -> Vec<u8> {
        let mut out = vec![b'G', b'P', 0, 0b0000_0001, 0, 0, 0, 0];
        wkb::writer::write_geometry(&mut out, g, &wkb::writer::WriteOptions { endianness }).unwrap();
        out
    }

    use proptest::prelude::*;

    fn ring() -> impl Strategy<Value = Vec<(f64, f64)>> {
        // closed or open (Polygon::new closes it), 0 to 9 points
        (prop::collection::vec((-1e7..1e7f64, -1e7..1e7f64), 0..9), any::<bool>()).prop_map(|(mut pts, close)| {
            if close && !pts.is_empty() {
                pts.push(pts[0]);
            }
            pts
        })
    }

    fn polygon() -> impl Strategy<Value = geo::Polygon<f64>> {
        (ring(), prop::collection::vec(ring(), 0..3))
            .prop_map(|(e, holes)| geo::Polygon::new(e.into(), holes.into_iter().map(Into::into).collect()))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// The fast path and the `wkb` crate read the same geometry from every polygon and multipolygon,
        /// little- or big-endian (which only the crate reads); the fast path takes every little-endian one
        /// but an empty polygon (written with no rings); cut short, the fast path refuses the blob.
        #[test]
        fn the_fast_path_reads_what_the_wkb_crate_reads(parts in prop::collection::vec(polygon(), 0..4), single in any::<bool>(), cut in 0..40usize) {
            let has_empty = parts.iter().any(|p| p.exterior().0.is_empty());
            let g = if single && parts.len() == 1 {
                geo::Geometry::Polygon(parts[0].clone())
            } else {
                geo::Geometry::MultiPolygon(MultiPolygon(parts))
            };
            for endianness in [wkb::Endianness::LittleEndian, wkb::Endianness::BigEndian] {
                let b = blob_of(&g, endianness);
                let fast = polygonal_le_2d(&b[8..]);
                prop_assert_eq!(fast.is_some(), matches!(endianness, wkb::Endianness::LittleEndian) && !has_empty);
                prop_assert_eq!(decode(&b), by_the_wkb_crate(&b));
                let short = &b[..b.len().saturating_sub(cut + 1).max(8)];
                prop_assert!(polygonal_le_2d(&short[8..]).is_none());
            }
        }
    }

    #[test]
    fn the_fast_path_leaves_other_types_and_trailing_bytes_to_the_wkb_crate() {
        let line = geo::Geometry::LineString(vec![(0.0, 0.0), (1.0, 1.0)].into());
        let b = blob_of(&line, wkb::Endianness::LittleEndian);
        assert_eq!(polygonal_le_2d(&b[8..]), None);
        assert_eq!(decode(&b).unwrap_err(), "expected a polygon, found LineString");
        let sq = geo::Geometry::Polygon(
            geo::polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0), (x: 0.0, y: 0.0)],
        );
        let mut b = blob_of(&sq, wkb::Endianness::LittleEndian);
        assert!(polygonal_le_2d(&b[8..]).is_some());
        b.push(0);
        assert_eq!(polygonal_le_2d(&b[8..]), None);
    }
}
