//! The library's error type. Bad *data items* are not errors: they are [`crate::import::Problem`]s
//! collected and reported together. An `Error` means the operation as a whole cannot go on.

use std::path::PathBuf;

/// Result alias used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can stop an operation, with the context a user needs to fix it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
#[allow(missing_docs)] // variant fields are the context named in each message
pub enum Error {
    /// A source file GDAL cannot open as vector data.
    #[error("{path}: not a vector data source GDAL can read ({reason})")]
    NotVector { path: PathBuf, reason: String },
    /// A source with several layers and no way to choose one.
    #[error("{path}: has layers {layers:?}; choose one with --src-layer")]
    AmbiguousLayer { path: PathBuf, layers: Vec<String> },
    /// A named source layer that does not exist.
    #[error("{path}: no layer named '{layer}' (layers: {layers:?})")]
    NoSuchSourceLayer { path: PathBuf, layer: String, layers: Vec<String> },
    /// A source without a coordinate reference system.
    #[error(
        "{path} (layer {layer}): the source declares no coordinate reference system; give it with --src-crs{hint}"
    )]
    NoSourceCrs { path: PathBuf, layer: String, hint: String },
    /// Coordinates that cannot belong to the declared CRS.
    #[error("{path} (layer {layer}): {reason}")]
    CrsMismatch { path: PathBuf, layer: String, reason: String },
    /// A CRS PROJ or GDAL does not understand, or one the registry cannot use.
    #[error("coordinate reference system '{crs}': {reason}")]
    Crs { crs: String, reason: String },
    /// A problem with the registry file itself.
    #[error("registry {path}: {reason}")]
    Registry { path: PathBuf, reason: String },
    /// A problem with a configuration file (layer definition, profile, class table).
    #[error("{file}: {reason}")]
    Config { file: String, reason: String },
    /// A request that makes no sense for the registry's contents.
    #[error("{0}")]
    Invalid(String),
    /// An error from SQLite.
    #[error("registry database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// An error from GDAL.
    #[error("GDAL: {0}")]
    Gdal(#[from] gdal::errors::GdalError),
    /// An I/O error on a named file.
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

impl Error {
    /// Wrap an `std::io::Error` with the file it happened on.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }
}
