//! `nrledger init`: create a registry.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use nrledger::catalog::Catalog;
use nrledger::store::{check_account, Actor, Role};
use nrledger::{crs, region, Registry};

/// Create an empty registry (a GeoPackage file) in a projected CRS.
///
/// Give the CRS with --crs (e.g. EPSG:4549, CGCS2000 3° Gauss-Krüger zone 40 without zone prefix) or let
/// --region choose the 3° zone from a 6-digit county code.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Registry file to create (.gpkg).
    registry: PathBuf,
    /// Registry CRS: EPSG code, WKT or PROJ string (projected).
    #[arg(long, conflicts_with = "region")]
    crs: Option<String>,
    /// 6-digit GB/T 2260 region code; picks the CGCS2000 3° Gauss-Krüger zone (no prefix) of its centroid.
    #[arg(long)]
    region: Option<String>,
    /// With --region: use the zone-prefixed code (EPSG:4513–4533) instead.
    #[arg(long, requires = "region")]
    zone_prefix: bool,
    /// Also create the first admin account, with this login name; its password is asked for (or read as the
    /// first line of standard input). There is no default account and no default password.
    #[arg(long, value_name = "NAME", requires = "admin_name")]
    admin: Option<String>,
    /// The first admin's full name (姓名), with --admin.
    #[arg(long, value_name = "FULL_NAME", requires = "admin")]
    admin_name: Option<String>,
}

pub fn run(a: Args, catalog: Catalog) -> anyhow::Result<ExitCode> {
    let def = match (&a.crs, &a.region) {
        (Some(c), _) => crs::normalise_arg(c),
        (None, Some(code)) => {
            let r = region::codes::lookup(code)?;
            let zone = r.gk3_zone();
            let epsg = crs::gk3_epsg(zone, a.zone_prefix)
                .with_context(|| format!("{} {} lies outside the CGCS2000 3° zones 25–45", r.code, r.name))?;
            eprintln!(
                "{} {}: centroid {:.4}°E → CGCS2000 3° Gauss-Krüger zone {zone} (central meridian {}°E): EPSG:{epsg}",
                r.code,
                r.name,
                r.lon,
                zone * 3
            );
            if r.spans_zones() {
                eprintln!(
                    "note: {} spans {:.2}°E–{:.2}°E, more than one 3° zone; the centroid's zone is used",
                    r.name, r.min_lon, r.max_lon
                );
            }
            format!("EPSG:{epsg}")
        }
        (None, None) => bail!("give --crs EPSG:xxxx or --region <6-digit county code>"),
    };
    let info = crs::describe(&def)?;
    // the first admin's name and password are checked before the file is made: a refusal leaves nothing
    let admin = match (&a.admin, &a.admin_name) {
        (Some(name), Some(full_name)) => {
            check_account(name, full_name)?;
            Some((name, full_name, super::user::read_password(name)?))
        }
        _ => None,
    };
    let reg = Registry::create(&a.registry, &info, catalog)?;
    println!("created {} in {} ({})", reg.path().display(), info.definition, info.name);
    if let Some((name, full_name, password)) = admin {
        let added = reg.add_account(name, full_name, Role::Admin, &password, &Actor::command_line());
        if let Err(e) = added {
            drop(reg);
            let _ = std::fs::remove_file(&a.registry);
            bail!("{e}; the registry was not kept");
        }
        println!("first admin: {name} ({full_name})");
    }
    Ok(ExitCode::SUCCESS)
}
