//! `nrledger warn`: carrying-capacity early warning on a hand-made county of four townships, each built to
//! land on one warning level — 红 (overloaded, worsening), 蓝 (near, stable), 黄 (near, worsening), 橙
//! (overloaded by two near pressures, one of them water against its cap) — with the layer, the formats and
//! bad input. The thresholds at and around their edges are the unit tests of `src/warning.rs`.

use crate::common::*;

/// Township strips 100 m wide: (code, [(x0, x1, class) in 2019], [(x0, x1, class) in 2020]).
type Strips = [(&'static str, &'static [(f64, f64, &'static str)], &'static [(f64, f64, &'static str)]); 4];

const TOWNS: Strips = [
    // 10 % built → 20 %: D −0.33 → +0.33 (超载), worse; no cultivated land; the rest is pasture (0401), whose
    // livestock goes from 11 % under its capacity to 25 % over it (超载, worse)
    ("330523101", &[(0.0, 10.0, "0701"), (10.0, 100.0, "0401")], &[(0.0, 20.0, "0701"), (20.0, 100.0, "0401")]),
    // 12 % built, unchanged: D = −0.2 (临界); cultivated land unchanged
    ("330523102", &[(100.0, 112.0, "0701"), (112.0, 200.0, "0101")], &[(100.0, 112.0, "0701"), (112.0, 200.0, "0101")]),
    // 5 % → 6 % built: D −0.67 → −0.6 (不超载, worse); cultivated land loses 0.47 of 94 m, 0.5 % (临界, worse)
    (
        "330523103",
        &[(200.0, 205.0, "0701"), (205.0, 206.0, "0301"), (206.0, 300.0, "0101")],
        &[(200.0, 206.0, "0701"), (206.0, 206.47, "0301"), (206.47, 300.0, "0101")],
    ),
    // 重点生态功能区 (t0 = 0.05): 4.5 % built, D = −0.1 (临界), stable; water 95 of a 100 cap (临界)
    ("330523104", &[(300.0, 304.5, "0701"), (304.5, 400.0, "0301")], &[(300.0, 304.5, "0701"), (304.5, 400.0, "0301")]),
];

fn county(dir: &std::path::Path) -> std::path::PathBuf {
    let reg = registry(dir);
    let mut props = vec![r#"{"XZQDM":"330523","XZQMC":"测试县"}"#.to_string()];
    let mut geoms = vec![rect(0.0, 400.0, 0.0, 100.0)];
    for (k, (code, _, _)) in TOWNS.iter().enumerate() {
        props.push(format!(r#"{{"XZQDM":"{code}","XZQMC":"第{}镇"}}"#, k + 1));
        let x0 = 100.0 * k as f64;
        geoms.push(rect(x0, x0 + 100.0, 0.0, 100.0));
    }
    let props: Vec<&str> = props.iter().map(String::as_str).collect();
    let admin = write_file(dir, "xzq.geojson", collection(&props, &geoms));
    for (date, second) in [("2019-12-31", false), ("2020-12-31", true)] {
        let (mut props, mut geoms) = (Vec::new(), Vec::new());
        for (code, a, b) in TOWNS {
            for (k, (x0, x1, class)) in (if second { b } else { a }).iter().enumerate() {
                props.push(format!(
                    r#"{{"BSM":"{code}{k}{}","DLBM":"{class}","ZLDWDM":"{code}0010000000"}}"#,
                    &date[..4]
                ));
                geoms.push(rect(*x0, *x1, 0.0, 100.0));
            }
        }
        let props: Vec<&str> = props.iter().map(String::as_str).collect();
        let parcels = write_file(dir, &format!("p{date}.geojson"), collection(&props, &geoms));
        for (layer, file) in [("admin", &admin), ("parcels", &parcels)] {
            let (c, _, e) = run(&["import", s(&reg), s(file), "--layer", layer, "--as-of", date]);
            assert_eq!(c, 0, "{layer} {date}: {e}");
        }
    }
    reg
}

#[test]
fn four_townships_four_warning_levels() {
    let d = tempfile::tempdir().unwrap();
    let reg = county(d.path());
    let targets = write_file(
        d.path(),
        "t.toml",
        "[regions.\"330523104\"]\nfunction_zone = \"重点生态功能区\"\nwater_use_cap_10k_m3_per_year = 100\n",
    );
    let water = write_file(d.path(), "w.csv", "行政区代码,年份,类别,项目,数值\n330523104,2020,地表水,工业取水,95\n");
    let (json, layer) = (d.path().join("w.json"), d.path().join("w.gpkg"));
    // pasture carrying 100 SU a hectare: 90 SU in 2019, 80 SU in 2020
    let rules = d.path().join("grazing-rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(
        rules.join("grazing.toml"),
        "intake_kg_per_day = 1.8\ngrazing_days = 365\n[sheep_units]\n\"绵羊\" = 1.0\n\"牛\" = 5.0\n\
         [forage.\"0401\"]\nyield_kg_per_ha = 65700.0\nutilisation = 1.0\n",
    )
    .unwrap();
    let livestock =
        write_file(d.path(), "l.csv", "行政区代码,年份,畜种,存栏数\n330523101,2019,绵羊,80\n330523101,2020,牛,20\n");
    let base = ["warn", s(&reg), "--from", "2019-12-31", "--to", "2020-12-31", "--region", "330523"];
    let mut args = base.to_vec();
    args.extend([
        "--targets",
        s(&targets),
        "--water",
        s(&water),
        "--livestock",
        s(&livestock),
        "--rules",
        s(&rules),
        "--format",
        "json",
        "--out",
        s(&json),
        "--layer",
        s(&layer),
    ]);
    let (c, _, e) = run(&args);
    assert_eq!(c, 0, "{e}");
    let w: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("schemas/warning.schema.json")).unwrap()).unwrap();
    let errors: Vec<String> =
        jsonschema::validator_for(&schema).unwrap().iter_errors(&w).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let units = w["units"].as_array().unwrap();
    let got: Vec<(&str, &str, &str)> = units
        .iter()
        .map(|u| (u["code"].as_str().unwrap(), u["overload"].as_str().unwrap_or("-"), u["level"].as_str().unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            ("330523101", "Overloaded", "红色预警"),
            ("330523102", "Critical", "蓝色预警"),
            ("330523103", "Critical", "黄色预警"),
            ("330523104", "Overloaded", "橙色预警"),
        ]
    );
    let pressure =
        |u: usize, id: &str| units[u]["pressures"].as_array().unwrap().iter().find(|p| p["id"] == id).unwrap().clone();
    let near =
        |v: &serde_json::Value, want: f64| assert!((v["value"].as_f64().unwrap() - want).abs() < 1e-4, "{v} vs {want}");
    near(&pressure(0, "land"), (0.20 - 0.15) / 0.15);
    assert_eq!(pressure(0, "land")["trend"], "Worsening");
    near(&pressure(1, "land"), (0.12 - 0.15) / 0.15);
    near(&pressure(2, "cultivated"), 100.0 * 0.47 / 94.0);
    assert_eq!(
        (pressure(2, "cultivated")["class"].as_str(), pressure(2, "land")["class"].as_str()),
        (Some("Critical"), Some("Sustainable"))
    );
    near(&pressure(3, "land"), (0.045 - 0.05) / 0.05);
    near(&pressure(3, "water"), 0.95);
    // 草畜平衡: the livestock over the pasture's capacity, in %, at each date (ellipsoidal areas: ±0.5)
    let grazing = pressure(0, "grazing");
    let at: Vec<f64> = grazing["by_date"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert!((at[0] - 100.0 * (80.0 - 90.0) / 90.0).abs() < 0.5 && (at[1] - 25.0).abs() < 0.5, "{grazing}");
    assert_eq!((grazing["class"].as_str(), grazing["trend"].as_str()), (Some("Overloaded"), Some("Worsening")));
    assert!(pressure(1, "grazing")["value"].is_null(), "no livestock rows: no data");
    assert_eq!(units[3]["function_zone"], "重点生态功能区");
    // no water statistics for the other townships: no data, said so
    assert!(
        pressure(0, "water")["value"].is_null()
            && pressure(0, "water")["basis"].as_str().unwrap().starts_with("无数据")
    );

    // the layer: one feature per township with its level and colour
    let ds = gdal::Dataset::open(&layer).unwrap();
    use gdal::vector::LayerAccess;
    let mut l = ds.layer(0).unwrap();
    let levels: Vec<(String, String)> = l
        .features()
        .map(|f| {
            let text = |n: &str| f.field_as_string(f.field_index(n).unwrap()).unwrap().unwrap();
            (text("YJDJ"), text("YS"))
        })
        .collect();
    assert_eq!(levels.len(), 4);
    assert_eq!(levels[0], ("红色预警".to_string(), "#ff0000".to_string()));

    // text and csv name each township's level
    let (c, out, e) = run(&base);
    assert_eq!(c, 0, "{e}");
    assert!(out.contains("第1镇 · 超载 · 耗损加剧 · 红色预警"), "{out}");
    // a city is judged county by county (here its one county), not township by township
    let (c, out, e) =
        run(&["warn", s(&reg), "--from", "2019-12-31", "--to", "2020-12-31", "--region", "330500", "--format", "json"]);
    assert_eq!(c, 0, "{e}");
    let city: serde_json::Value = serde_json::from_str(&out).unwrap();
    let codes: Vec<&str> = city["units"].as_array().unwrap().iter().map(|u| u["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["330523"]);
    // a region without units below it, and rules that do not hold, are refused
    let (c, _, e) = run(&["warn", s(&reg), "--from", "2019-12-31", "--to", "2020-12-31", "--region", "330523101"]);
    assert_eq!(c, 2);
    assert!(e.contains("--region 330523101: no admin outline below it") && e.contains("villages'"), "{e}");
    let rules = d.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(rules.join("warning.toml"), "[land]\noverload = 0\n").unwrap();
    let mut a = base.to_vec();
    a.extend(["--rules", s(&rules)]);
    let (c, _, e) = run(&a);
    assert_eq!(c, 2);
    assert!(e.contains("warning.toml") && e.contains("critical"), "{e}");
}
