//! The edges where data enters and leaves: GDAL sources, GeoPackage geometry blobs, and exports
//! (GeoJSON written by us, GeoPackage and Shapefile through GDAL). Nothing past this module sees a GDAL
//! type: geometries are `geo` types and values are [`crate::model::Value`]s.

pub(crate) mod blob;
pub(crate) mod encoding;
pub mod export;
pub(crate) mod geojson_out;
pub mod output;
pub mod source;
pub mod tabular;
