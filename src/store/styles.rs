//! The registry's QGIS styles: the `layer_styles` table of the GeoPackage convention QGIS reads (and writes
//! when a user saves a style into the file), holding a default style for every layer table and its `_current`
//! view, so a registry opened directly in QGIS shows the parcels in their land-class colours and the control
//! lines in theirs. The colours are the catalog's (`classes/map-colours.csv`), as on the service's map.
//! Written once, when the table is missing: a style a user saved over it is theirs and kept.

use crate::catalog::{Catalog, LayerDef, MapColours, Rgb};
use crate::model::LayerKind;

/// SQL creating `layer_styles` with the default style of every layer table.
pub fn layer_styles_sql(catalog: &Catalog) -> String {
    let mut sql = String::from(
        "CREATE TABLE layer_styles (id INTEGER PRIMARY KEY AUTOINCREMENT, f_table_catalog TEXT(256), \
         f_table_schema TEXT(256), f_table_name TEXT(256), f_geometry_column TEXT(256), styleName TEXT(30), \
         styleQML TEXT, styleSLD TEXT, useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30), \
         update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')));\n\
         INSERT INTO gpkg_contents (table_name, data_type, identifier, description) VALUES \
         ('layer_styles', 'attributes', 'layer_styles', 'QGIS 图层样式 Layer styles QGIS reads');\n",
    );
    for def in catalog.layers() {
        sql.push_str(&layer_style_sql(def, &catalog.colours));
    }
    sql
}

/// SQL inserting the default style of one layer's table and its `_current` view into `layer_styles`.
pub fn layer_style_sql(def: &LayerDef, colours: &MapColours) -> String {
    let mut sql = String::new();
    let qml = qml(def, colours);
    {
        for table in [def.kind.name().to_string(), format!("{}_current", def.kind.name())] {
            sql.push_str(&format!(
                "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, styleName, \
                 styleQML, styleSLD, useAsDefault, description, owner) VALUES ('', '', '{table}', 'geom', '{name}', '{qml}', '', 1, \
                 '{desc}', 'nrledger');\n",
                name = sql_text(&def.title),
                qml = sql_text(&qml),
                desc = sql_text(&format!("nrledger 默认样式 default style: {} {}", def.title, def.title_en)),
            ));
        }
    }
    sql
}

fn sql_text(s: &str) -> String {
    s.replace('\'', "''")
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// QGIS's `r,g,b,a`.
fn qgis_colour(c: &Rgb, alpha: u8) -> String {
    let [r, g, b] = c.channels();
    format!("{r},{g},{b},{alpha}")
}

/// One fill symbol.
fn symbol(name: &str, fill: Option<(&Rgb, u8)>, line: (&str, &str), dashed: bool) -> String {
    let (fill_colour, style) = match fill {
        Some((c, alpha)) => (qgis_colour(c, alpha), "solid"),
        None => ("0,0,0,0".to_string(), "no"),
    };
    let opt = |k: &str, v: &str| format!("<Option name=\"{k}\" type=\"QString\" value=\"{v}\"/>");
    format!(
        "<symbol type=\"fill\" name=\"{name}\" alpha=\"1\" clip_to_extent=\"1\" force_rhr=\"0\">\
         <layer class=\"SimpleFill\" enabled=\"1\" locked=\"0\" pass=\"0\"><Option type=\"Map\">{}{}{}{}{}{}</Option></layer></symbol>",
        opt("color", &fill_colour),
        opt("style", style),
        opt("outline_color", line.0),
        opt("outline_width", line.1),
        opt("outline_width_unit", "MM"),
        opt("outline_style", if dashed { "dash" } else { "solid" }),
    )
}

/// The land class a parcel is coloured by: the longest prefix of its code listed in the colours, as a QGIS
/// expression (nested CASE, longest prefixes first).
fn class_expression(field: &str, colours: &MapColours) -> String {
    let mut lengths: Vec<usize> = colours.landuse.iter().map(|s| s.code.chars().count()).collect();
    lengths.sort_unstable_by(|a, b| b.cmp(a));
    lengths.dedup();
    let mut expr = String::from("CASE");
    for n in lengths {
        let codes: Vec<String> = colours
            .landuse
            .iter()
            .filter(|s| s.code.chars().count() == n && s.fill.is_some())
            .map(|s| format!("'{}'", s.code.replace('\'', "''")))
            .collect();
        expr.push_str(&format!(" WHEN left(\"{field}\", {n}) IN ({}) THEN left(\"{field}\", {n})", codes.join(", ")));
    }
    expr.push_str(" END");
    expr
}

/// The QML of a layer's default style.
fn qml(def: &LayerDef, colours: &MapColours) -> String {
    let renderer = match def.fields.iter().find(|f| f.codes.as_deref() == Some("landuse")) {
        Some(field) if def.kind == LayerKind::Parcels => {
            let swatches: Vec<_> = colours.landuse.iter().filter(|s| s.fill.is_some()).collect();
            let categories: String = swatches
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    format!(
                        "<category value=\"{}\" label=\"{} {}\" symbol=\"{i}\" render=\"true\"/>",
                        xml(&s.code),
                        xml(&s.code),
                        xml(&s.name)
                    )
                })
                .collect();
            let symbols: String = swatches
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    symbol(&i.to_string(), s.fill.as_ref().map(|c| (c, 255)), ("140,140,140,255", "0.1"), false)
                })
                .collect();
            format!(
                "<renderer-v2 type=\"categorizedSymbol\" attr=\"{}\" symbollevels=\"0\" enableorderby=\"0\" forceraster=\"0\">\
                 <categories>{categories}</categories><symbols>{symbols}</symbols></renderer-v2>",
                xml(&class_expression(&field.name, colours))
            )
        }
        _ => {
            let swatch = colours.layer(def.kind.name());
            let fill =
                swatch.and_then(|s| s.fill.as_ref()).map(|c| (c, if def.kind == LayerKind::Forest { 128 } else { 40 }));
            let line = swatch
                .and_then(|s| s.line.as_ref().or(s.fill.as_ref()))
                .map_or("0,0,0,255".to_string(), |c| qgis_colour(c, 255));
            let width = if def.kind == LayerKind::Units { "0.6" } else { "0.4" };
            let dashed = matches!(def.kind, LayerKind::Farmland | LayerKind::Urban);
            format!(
                "<renderer-v2 type=\"singleSymbol\" symbollevels=\"0\" enableorderby=\"0\" forceraster=\"0\"><symbols>{}</symbols></renderer-v2>",
                symbol("0", fill, (&line, width), dashed)
            )
        }
    };
    format!(
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n<qgis version=\"3.28.0\" styleCategories=\"Symbology\">{renderer}</qgis>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_class_expression_takes_the_longest_listed_prefix() {
        let c = Catalog::embedded().unwrap();
        let e = class_expression("DLBM", &c.colours);
        let four = e.find("left(\"DLBM\", 4) IN").unwrap();
        let two = e.find("left(\"DLBM\", 2) IN").unwrap();
        assert!(four < two, "{e}");
        assert!(e.contains("'0101'") && e.contains("'05H1'") && e.ends_with(" END"), "{e}");
        let q = qml(c.layer(LayerKind::Parcels), &c.colours);
        assert!(q.contains("<category value=\"0101\" label=\"0101 水田\"") && q.contains("248,208,114,255"), "{q}");
        let red = qml(c.layer(LayerKind::Redlines), &c.colours);
        assert!(red.contains("215,48,31,255") && red.contains("singleSymbol"), "{red}");
    }
}
