//! `nrledger gen`: generate a demo county's seed files.

use std::path::PathBuf;
use std::process::ExitCode;

use nrledger::gen::{self, GenRequest};

/// Generate a demo county in 三调 delivery form (DLTB, XZQ, STBHHX, YJJBNT, CZKFBJ, ZRZYDJDY) at two
/// vintages, from a real county outline. Deterministic: the same arguments give the same data.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// File with county outlines in CGCS2000 lon/lat (default: the bundled Huzhou counties fixture).
    #[arg(long)]
    outline: Option<PathBuf>,
    /// Field holding the region code in the outline file.
    #[arg(long, default_value = "gb")]
    code_field: String,
    /// 6-digit county code.
    #[arg(long, default_value = "330523")]
    code: String,
    /// Approximate number of parcels.
    #[arg(long, default_value_t = 3000)]
    parcels: usize,
    /// Random seed.
    #[arg(long, default_value_t = 20191231)]
    seed: u64,
    /// Output folder (one GeoPackage per vintage and defects.json).
    #[arg(long)]
    out: PathBuf,
    /// Hard data, as real deliveries can be: about 500 red lines drawn independently of the parcels over a
    /// quarter of the county (thousands of prohibited-use pieces), and a second survey in which every parcel
    /// carries a new data year (SJNF): a change to every record for the import to compare and keep.
    #[arg(long)]
    hard: bool,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let outline = a.outline.unwrap_or_else(|| gen::default_outline(std::path::Path::new(env!("CARGO_MANIFEST_DIR"))));
    let files = gen::run(&GenRequest {
        outline,
        code_field: a.code_field,
        code: a.code,
        parcels: a.parcels,
        seed: a.seed,
        out: a.out,
        hard: a.hard,
    })?;
    for f in files {
        println!("wrote {}", f.display());
    }
    Ok(ExitCode::SUCCESS)
}
