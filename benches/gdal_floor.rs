//! The GDAL read floor of the peer benchmark (issue 6): how long the system GDAL — the library nrledger
//! reads every source through — needs to read every feature of a layer, geometry exported as WKB and every
//! field fetched, with nothing else done. Run by `benches/peers/run.py`:
//!
//! ```text
//! gdal_floor FILE LAYER        → {"seconds": …, "features": …, "bytes": …} on stdout
//! ```

use gdal::vector::LayerAccess;
use gdal::Dataset;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let [file, layer] = args.as_slice() else {
        eprintln!("usage: gdal_floor FILE LAYER");
        std::process::exit(2);
    };
    let t = std::time::Instant::now();
    let ds = Dataset::open(file).expect("open the file");
    let mut lyr = ds.layer_by_name(layer).expect("the layer");
    let nfields = lyr.defn().fields().count();
    let (mut features, mut bytes) = (0u64, 0u64);
    for f in lyr.features() {
        if let Some(g) = f.geometry() {
            bytes += g.wkb().expect("WKB").len() as u64;
        }
        for i in 0..nfields {
            std::hint::black_box(f.field(i).ok());
        }
        features += 1;
    }
    println!("{{\"seconds\": {}, \"features\": {features}, \"bytes\": {bytes}}}", t.elapsed().as_secs_f64());
}
