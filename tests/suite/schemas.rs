//! `schemas/` is generated from the code (no drift), and what the commands write validates against it.

use crate::common::*;

fn validator(rel: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(root().join("schemas").join(rel)).unwrap();
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
}

fn assert_valid(v: &jsonschema::Validator, instance: &serde_json::Value, what: &str) {
    let errors: Vec<String> = v.iter_errors(instance).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{what}: {errors:#?}");
}

#[test]
fn committed_schemas_match_the_code() {
    let catalog = nrledger::catalog::Catalog::embedded().unwrap();
    for (rel, text) in nrledger::schemas::all(&catalog) {
        let committed = std::fs::read_to_string(root().join("schemas").join(&rel)).unwrap_or_default();
        assert!(committed == text, "schemas/{rel} is out of date: run `cargo run -- schemas --out schemas`");
    }
}

#[test]
fn outputs_validate_against_their_schemas() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    // import report (with problems) and a successful one
    let (_, out, _) = run(&[
        "import",
        s(&reg),
        s(&fixture("dltb/bad_records.geojson")),
        "--layer",
        "parcels",
        "--profile",
        "sandiao-dltb",
        "--as-of",
        "2019-12-31",
        "--format",
        "json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["problems"].as_array().unwrap().len(), 10);
    assert_valid(&validator("import-report.schema.json"), &report, "import report");
    let (c, out, _) = run(&[
        "import",
        s(&reg),
        s(&fixture("dltb/gbk.shp")),
        "--layer",
        "parcels",
        "--profile",
        "sandiao-dltb",
        "--as-of",
        "2019-12-31",
        "--format",
        "json",
    ]);
    assert_eq!(c, 0);
    assert_valid(&validator("import-report.schema.json"), &serde_json::from_str(&out).unwrap(), "import report");
    let (_, out, _) = run(&["query", s(&reg), "--bbox", "119.2,30.3,119.9,30.9", "--format", "json"]);
    let hits: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(!hits.as_array().unwrap().is_empty());
    assert_valid(&validator("query.schema.json"), &hits, "query");
    let (_, out, _) = run(&["info", s(&reg), "--format", "json", "--events"]);
    assert_valid(&validator("info.schema.json"), &serde_json::from_str(&out).unwrap(), "info");
    // every exported parcel record
    let gj = d.path().join("p.geojson");
    assert_eq!(run(&["export", s(&reg), "--layer", "parcels", "--out", s(&gj)]).0, 0);
    let fc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&gj).unwrap()).unwrap();
    let v = validator("layers/parcels.schema.json");
    for f in fc["features"].as_array().unwrap() {
        assert_valid(&v, &f["properties"], "exported parcel");
    }
    // and a record that breaks the schema is caught (the test can fail)
    let mut bad = fc["features"][0]["properties"].clone();
    bad["DLBM"] = serde_json::json!("9999");
    assert!(!v.is_valid(&bad));
}

#[test]
fn catalog_files_validate_against_their_schemas() {
    let def = validator("layer-definition.schema.json");
    let prof = validator("profile.schema.json");
    for (dir, v) in [("layers/kinds", &def), ("layers/profiles", &prof)] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            let p = e.unwrap().path();
            let t: toml::Value = toml::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            assert_valid(v, &serde_json::to_value(t).unwrap(), &p.display().to_string());
        }
    }
}

#[test]
fn evaluation_systems_and_targets_validate_against_their_schemas() {
    let sys = validator("indicators.schema.json");
    let targets = validator("targets.schema.json");
    for (rel, v) in [
        ("layers/rules/indicators.toml", &sys),
        ("tests/fixtures/audit/indicators.toml", &sys),
        ("tests/fixtures/audit/targets.toml", &targets),
        ("seeds/anji/targets.toml", &targets),
    ] {
        let t: toml::Value = toml::from_str(&std::fs::read_to_string(root().join(rel)).unwrap()).unwrap();
        assert_valid(v, &serde_json::to_value(t).unwrap(), rel);
    }
    // a system without its blocks is not one
    let bad = serde_json::json!({"name": "x", "bands": [], "indicators": []});
    assert!(!sys.is_valid(&bad));
}
