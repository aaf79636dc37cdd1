//! `nrledger query`: what is at a point or in a box, in every layer.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use nrledger::catalog::Catalog;
use nrledger::model::AsOf;
use nrledger::query::{self, Probe};
use nrledger::Registry;

use super::Format;

/// List what is at a point (--at LON,LAT) or in a box (--bbox MINLON,MINLAT,MAXLON,MAXLAT) in every layer:
/// the registration unit, the parcel and its class, the red line, the farmland block, the urban boundary.
/// Longitude/latitude are CGCS2000 (the registry's geographic CRS).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Registry file.
    registry: PathBuf,
    /// A point: longitude,latitude.
    #[arg(long, value_name = "LON,LAT", allow_hyphen_values = true)]
    at: Option<String>,
    /// A box: min lon,min lat,max lon,max lat.
    #[arg(long, value_name = "W,S,E,N", allow_hyphen_values = true, conflicts_with = "at")]
    bbox: Option<String>,
    /// The date to look at (default: now).
    #[arg(long, value_parser = super::date_arg)]
    as_of: Option<AsOf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

fn numbers(s: &str, n: usize) -> anyhow::Result<Vec<f64>> {
    let v: Vec<f64> = s
        .split(',')
        .map(|x| x.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| anyhow::anyhow!("'{s}': expected {n} comma-separated numbers"))?;
    if v.len() != n {
        bail!("'{s}': expected {n} comma-separated numbers, found {}", v.len());
    }
    Ok(v)
}

pub fn run(a: Args, catalog: Catalog) -> anyhow::Result<ExitCode> {
    let reg = Registry::open(&a.registry, catalog)?;
    let probe = match (&a.at, &a.bbox) {
        (Some(at), _) => {
            let v = numbers(at, 2)?;
            Probe::At(v[0], v[1])
        }
        (None, Some(b)) => {
            let v = numbers(b, 4)?;
            if v[0] > v[2] || v[1] > v[3] {
                bail!("--bbox {b}: expected W,S,E,N with W ≤ E and S ≤ N");
            }
            Probe::BBox(v[0], v[1], v[2], v[3])
        }
        _ => bail!("give --at LON,LAT or --bbox W,S,E,N"),
    };
    let hits = query::query(&reg, probe, a.as_of)?;
    if a.format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&hits)?);
    } else if hits.is_empty() {
        println!("nothing here");
    } else {
        for h in &hits {
            let def = reg.catalog().layer(h.layer);
            let shown: Vec<String> = def
                .summary
                .iter()
                .filter_map(|n| h.attributes.get(n))
                .map(|v| match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            let area = h.area_m2;
            println!(
                "{:<9} {:<8} {:<16} {:<40} {:>12.4} ha {:>12.2} 亩  valid {}–{}",
                h.layer.name(),
                h.title,
                h.key,
                shown.join(" "),
                area.hectares(),
                area.mu(),
                h.valid_from,
                h.valid_to.as_deref().unwrap_or("")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
