//! The integration tests, one module per area, in one test binary: each test binary links the whole
//! dependency tree (GDAL, PROJ, GEOS, polars …), so one binary instead of a dozen saves most of the suite's
//! build. They drive the real `nrledger` binary on real and hand-made fixtures (`tests/fixtures/`).

#![allow(dead_code)]

mod common;

mod access;
mod accounts;
mod architecture;
mod area_reference;
mod audit;
mod balance;
mod book;
mod checks;
mod generator;
mod import_inputs;
mod jobs;
mod map;
mod monitoring;
mod province;
mod register;
mod registry;
mod schemas;
mod serve;
mod warning;
