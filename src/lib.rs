//! # nrledger
//!
//! A geospatial registry of natural resources (自然资源统一确权登记) and, built on it, natural resource
//! asset balance sheets (自然资源资产负债表) for the outgoing audit of officials.
//!
//! Data flows one way:
//!
//! ```text
//! source file ──io::source──▶ import (map, validate, reproject, measure) ──▶ store (GeoPackage, vintages)
//!                                                                             │
//!              query / export ◀── geometry (R-tree over a vintage) ◀──────────┤
//!              check (rules) ◀────────────────────────────────────────────────┤
//!    tables ◀── balance sheet (two vintages → overlay → accounts) ◀───────────┘
//! ```
//!
//! - [`catalog`]: layer definitions, classification tables and mapping profiles, read from `layers/`;
//! - [`crs`] and [`area`]: coordinate systems (the only PROJ user) and ellipsoidal/planar areas; [`gcj02`]:
//!   the obfuscated coordinates of Chinese web maps, detected and converted on request;
//! - [`io`]: GDAL sources in, GeoJSON/GeoPackage/Shapefile out — GDAL types stop here;
//! - [`import`]: the validated, atomic import pipeline ([`hashing`]: record and source hashes, shared with the
//!   store); [`inspect`]: a delivery checked before it is accepted;
//! - [`store`]: the registry file, its history and its tables, read through one request value ([`Read`]);
//! - [`region`]: the ground an admin code stands for on a date, the counties of a province, the code table;
//! - [`geometry`]: the kernel every part above uses — exact clipping and intersection, edge tests, the
//!   uncovered ground of a coverage, the spatial index, and an outline indexed for fast point location,
//!   overlap tests and clipping (regions, zones, counties); [`query`]: the clerk's point/box lookup;
//! - [`validity`]: OGC validity of polygons (GEOS's IsValidOp);
//! - [`checks`]: the rules that find what is wrong on a date; [`units`], [`register`] and [`book`]:
//!   registration units, their events and register-book pages;
//! - [`balance`]: natural resource asset balance sheets (land, forest, water, liabilities) between two dates;
//! - [`audit`]: the outgoing audit of an official: indicators, score and grade, new findings, the HTML report;
//! - [`quantity`]: areas (m², ha, 亩), volumes (m³) and water quantities (万 m³) as types;
//! - [`table`]: report tables (bilingual headers) written as text, CSV, Parquet or XLSX by [`io::tabular`];
//! - [`gen`]: the deterministic demo-county generator behind `seeds/`;
//! - [`schemas`]: the JSON Schemas in `schemas/`, generated from the code.
//!
//! The library returns [`Error`]; the binary maps it to exit code 2.

#![warn(missing_docs)]

pub mod area;
pub mod audit;
pub mod balance;
pub mod book;
pub mod catalog;
pub mod checks;
pub mod crs;
pub mod error;
pub mod evaluation;
pub mod gcj02;
pub mod gen;
pub mod geometry;
pub mod hashing;
pub mod import;
pub mod inspect;
pub mod io;
pub mod model;
pub mod monitor;
pub mod process;
pub mod progress;
pub mod quantity;
pub mod query;
pub mod region;
pub mod register;
pub mod schemas;
pub mod serve;
pub mod store;
pub mod table;
pub mod units;
pub mod validity;
pub mod warning;

// the public surface, flat: the registry and what goes in and comes out of it
pub use audit::Audit;
pub use balance::BalanceSheet;
pub use catalog::Catalog;
pub use checks::{CheckReport, Finding};
pub use error::{Error, Result};
pub use import::{ImportReport, ImportRequest};
pub use inspect::InspectReport;
pub use model::{AsOf, LayerKind, Value};
pub use quantity::{CubicMetres, SquareMetres, WanCubicMetres};
pub use region::Region;
pub use store::{Read, Registry};

/// How many threads a read that splits itself across connections or file handles uses (a large GeoPackage
/// source read in fid ranges, an R-tree searched box run by box run): one per thread of rayon's pool, which
/// is one per core unless `RAYON_NUM_THREADS` says otherwise, and at most four (more handles on one file
/// gain nothing on this kind of machine).
pub(crate) fn read_threads() -> usize {
    rayon::current_num_threads().clamp(1, 4)
}
