//! Exporting a layer (one vintage, or its whole history) to GeoJSON, GeoPackage or Shapefile. GeoJSON is
//! written by `io::geojson_out`; GeoPackage and Shapefile through GDAL, in the registry CRS, with UTF-8
//! attributes (a `.cpg` is written for Shapefiles).

use std::path::Path;

use gdal::vector::{Geometry, LayerOptions, OGRFieldType, OGRwkbGeometryType};
use gdal::DriverManager;

use super::geojson_out::{self, OutFeature};
use crate::crs::{gdal_srs, Transformer};
use crate::error::{Error, Result};
use crate::model::{FieldType, Value};

/// Output format, from the file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// RFC 7946 GeoJSON.
    GeoJson,
    /// OGC GeoPackage.
    GeoPackage,
    /// ESRI Shapefile.
    Shapefile,
}

impl Format {
    /// Pick the format from a file name.
    pub fn from_path(p: &Path) -> Result<Format> {
        match p.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("geojson") | Some("json") => Ok(Format::GeoJson),
            Some("gpkg") => Ok(Format::GeoPackage),
            Some("shp") => Ok(Format::Shapefile),
            _ => Err(Error::Invalid(format!("{}: unknown output format; use .geojson, .gpkg or .shp", p.display()))),
        }
    }
}

/// A column of an exported table.
#[derive(Debug, Clone)]
pub struct Column {
    /// Name.
    pub name: String,
    /// Type.
    pub field_type: FieldType,
}

/// A table to export: columns and rows (geometry in the registry CRS, values parallel to columns).
pub struct Table<'a> {
    /// Layer name in the output.
    pub name: &'a str,
    /// Columns.
    pub columns: Vec<Column>,
    /// Rows.
    pub rows: Vec<(geo::Geometry<f64>, Vec<Value>)>,
}

/// Write a table to `out`. `crs` is the registry CRS, `geographic` its geographic CRS (for GeoJSON).
pub fn write(table: &Table<'_>, out: &Path, crs: &str, geographic: &str) -> Result<usize> {
    super::output::refuse_existing([&out.to_path_buf()])?;
    match Format::from_path(out)? {
        Format::GeoJson => {
            let t = Transformer::new(crs, geographic)?;
            super::output::write_through(out, |tmp| {
                let f = std::fs::File::create(tmp).map_err(|e| Error::io(tmp, e))?;
                let feats = table.rows.iter().map(|(g, vals)| OutFeature {
                    geometry: g.clone(),
                    properties: table
                        .columns
                        .iter()
                        .map(|c| c.name.clone())
                        .zip(vals.iter().map(geojson_out::json_value))
                        .collect(),
                });
                geojson_out::write(std::io::BufWriter::new(f), &t, feats, out)
            })
        }
        fmt => write_gdal(table, out, crs, fmt),
    }
}

/// [`write`], with `date` (`YYYY-MM-DD`) as the GeoPackage's `last_change` instead of the current time:
/// the same table and date give the same bytes (what a report's files need to be reproducible).
pub fn write_dated(table: &Table<'_>, out: &Path, crs: &str, geographic: &str, date: &str) -> Result<usize> {
    /// GDAL's current date for this thread, until dropped.
    struct Stamp;
    impl Drop for Stamp {
        fn drop(&mut self) {
            let _ = gdal::config::clear_thread_local_config_option("OGR_CURRENT_DATE");
        }
    }
    gdal::config::set_thread_local_config_option("OGR_CURRENT_DATE", &format!("{date}T00:00:00.000Z"))?;
    let _stamp = Stamp;
    write(table, out, crs, geographic)
}

fn write_gdal(table: &Table<'_>, out: &Path, crs: &str, fmt: Format) -> Result<usize> {
    let (driver, lco): (&str, Vec<&str>) = match fmt {
        Format::GeoPackage => ("GPKG", vec![]),
        Format::Shapefile => ("ESRI Shapefile", vec!["ENCODING=UTF-8"]),
        Format::GeoJson => unreachable!(),
    };
    let drv = DriverManager::get_driver_by_name(driver)?;
    let mut ds = drv.create_vector_only(out)?;
    let srs = gdal_srs(crs)?;
    let geom_type =
        if table.rows.iter().all(|(g, _)| matches!(g, geo::Geometry::MultiPolygon(_) | geo::Geometry::Polygon(_))) {
            OGRwkbGeometryType::wkbMultiPolygon
        } else {
            OGRwkbGeometryType::wkbUnknown
        };
    if fmt == Format::GeoPackage {
        let mut txn = ds.start_transaction()?;
        fill(&mut txn, table, &srs, geom_type, &lco, fmt)?;
        txn.commit()?;
    } else {
        fill(&mut ds, table, &srs, geom_type, &lco, fmt)?;
    }
    Ok(table.rows.len())
}

/// Add a table as a new layer of a GeoPackage, creating the file if needed (used by the generator, which
/// writes several layers into one delivery file).
pub fn append(table: &Table<'_>, out: &Path, crs: &str) -> Result<()> {
    let srs = gdal_srs(crs)?;
    let mut ds = if out.exists() {
        gdal::Dataset::open_ex(
            out,
            gdal::DatasetOptions {
                open_flags: gdal::GdalOpenFlags::GDAL_OF_VECTOR | gdal::GdalOpenFlags::GDAL_OF_UPDATE,
                ..Default::default()
            },
        )?
    } else {
        DriverManager::get_driver_by_name("GPKG")?.create_vector_only(out)?
    };
    let mut txn = ds.start_transaction()?;
    fill(&mut txn, table, &srs, OGRwkbGeometryType::wkbMultiPolygon, &[], Format::GeoPackage)?;
    txn.commit()?;
    Ok(())
}

fn fill(
    ds: &mut gdal::Dataset,
    table: &Table<'_>,
    srs: &gdal::spatial_ref::SpatialRef,
    geom_type: OGRwkbGeometryType::Type,
    lco: &[&str],
    fmt: Format,
) -> Result<()> {
    let layer =
        ds.create_layer(LayerOptions { name: table.name, srs: Some(srs), ty: geom_type, options: Some(lco) })?;
    for c in &table.columns {
        let ty = match c.field_type {
            FieldType::Text => OGRFieldType::OFTString,
            FieldType::Integer => OGRFieldType::OFTInteger64,
            FieldType::Real => OGRFieldType::OFTReal,
            FieldType::Date => OGRFieldType::OFTDate,
        };
        let fd = gdal::vector::FieldDefn::new(&c.name, ty)?;
        if fmt == Format::Shapefile {
            match c.field_type {
                FieldType::Text => fd.set_width(254),
                FieldType::Real => {
                    fd.set_width(24);
                    fd.set_precision(6)
                }
                _ => {}
            }
        }
        fd.add_to_layer(&layer)?;
    }
    let defn = gdal::vector::Defn::from_layer(&layer);
    for (g, vals) in &table.rows {
        let mut f = gdal::vector::Feature::new(&defn)?;
        let g = match g {
            geo::Geometry::Polygon(p) => geo::Geometry::MultiPolygon(geo::MultiPolygon(vec![p.clone()])),
            other => other.clone(),
        };
        let mut wkb = Vec::new();
        wkb::writer::write_geometry(
            &mut wkb,
            &g,
            &wkb::writer::WriteOptions { endianness: wkb::Endianness::LittleEndian },
        )
        .expect("WKB to Vec");
        f.set_geometry(Geometry::from_wkb(&wkb)?)?;
        for (i, v) in vals.iter().enumerate() {
            match v {
                Value::Null => f.set_field_null(i)?,
                Value::Int(x) => f.set_field_integer64(i, *x)?,
                Value::Real(x) => f.set_field_double(i, *x)?,
                Value::Text(s) => f.set_field_string(i, s)?,
            }
        }
        f.create(&layer)?;
    }
    Ok(())
}
