//! The browser map's library (MapLibre GL JS, from npm through `make web`) is compiled into the binary;
//! without it the build stops here with the command that fetches it.

fn main() {
    let dist = "web/node_modules/maplibre-gl/dist";
    println!("cargo:rerun-if-changed={dist}/maplibre-gl.js");
    println!("cargo:rerun-if-changed=build.rs");
    for file in ["maplibre-gl.js", "maplibre-gl.css", "LICENSE.txt"] {
        if !std::path::Path::new(dist).join(file).is_file() {
            panic!("{dist}/{file} is missing: run `make web` (npm ci in web/) before cargo builds nrledger");
        }
    }
}
