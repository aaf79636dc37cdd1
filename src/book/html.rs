//! The book page as one self-contained HTML file: no scripts, no fonts or images from the network, an
//! inline SVG map, and print CSS for A4.

use std::fmt::Write as _;

use geo::{BoundingRect, MultiPolygon};

use super::BookPage;
use crate::model::LayerKind;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Fill colour of a resource type on the map.
fn colour(t: &str) -> &'static str {
    match t {
        "水流" => "#6baed6",
        "湿地" => "#9ecae1",
        "森林" => "#31a354",
        "草原" => "#a1d99b",
        "荒地" => "#d9c8a0",
        "非自然资源" => "#bdbdbd",
        _ => "#fdd49e",
    }
}

/// The 附图: the unit's parcels coloured by resource type, the control zones it overlaps, the unit outline.
pub fn map_svg(
    unit: &MultiPolygon<f64>,
    pieces: &[crate::units::Piece],
    zones: &[(LayerKind, MultiPolygon<f64>)],
) -> String {
    let Some(b) = unit.bounding_rect() else { return String::new() };
    let (w, h) = (170.0_f64, 120.0_f64); // millimetres on the page
    let pad = 0.04 * b.width().max(b.height());
    let (x0, y1) = (b.min().x - pad, b.max().y + pad);
    let s = (w / (b.width() + 2.0 * pad)).min(h / (b.height() + 2.0 * pad));
    let path = |mp: &MultiPolygon<f64>| {
        let mut d = String::new();
        for p in &mp.0 {
            for r in std::iter::once(p.exterior()).chain(p.interiors()) {
                for (i, c) in r.0.iter().enumerate() {
                    let _ = write!(d, "{}{:.2},{:.2} ", if i == 0 { "M" } else { "L" }, (c.x - x0) * s, (y1 - c.y) * s);
                }
                d.push('Z');
            }
        }
        d
    };
    let mut svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}mm" height="{h}mm" role="img" aria-label="附图"><defs><clipPath id="frame"><rect width="{w}" height="{h}"/></clipPath></defs><rect width="{w}" height="{h}" fill="#fff" stroke="#999" stroke-width="0.2"/><g clip-path="url(#frame)">"##
    );
    for p in pieces {
        let t = &p.resource_type;
        let _ = write!(
            svg,
            r##"<path class="piece" d="{}" fill="{}" fill-rule="evenodd" stroke="#fff" stroke-width="0.1"><title>{}</title></path>"##,
            path(&p.geometry),
            colour(t),
            esc(t)
        );
    }
    for (kind, mp) in zones {
        let (stroke, dash) = match *kind {
            LayerKind::Redlines => ("#d7301f", "1.2,0.6"),
            LayerKind::Farmland => ("#e6ab02", "0.6,0.6"),
            _ => ("#7570b3", "2,0.8"),
        };
        let _ = write!(
            svg,
            r##"<path class="zone" d="{}" fill="none" stroke="{stroke}" stroke-width="0.5" stroke-dasharray="{dash}" fill-rule="evenodd"/>"##,
            path(mp)
        );
    }
    let _ = write!(
        svg,
        r##"<path class="unit" d="{}" fill="none" stroke="#000" stroke-width="0.7" fill-rule="evenodd"/></g>"##,
        path(unit)
    );
    // scale bar: a round number of metres near a quarter of the width
    let metres = {
        let target = 0.25 * w / s;
        let p = 10f64.powf(target.log10().floor());
        [1.0, 2.0, 5.0].iter().map(|m| m * p).filter(|m| *m <= target).fold(p, f64::max)
    };
    let len = metres * s;
    let _ = write!(
        svg,
        r##"<g font-size="3" font-family="sans-serif"><rect x="4" y="{y}" width="{len:.2}" height="1.2" fill="#000"/><text x="4" y="{t}">{label}</text><text x="{nx}" y="8" text-anchor="middle">N ↑</text></g></svg>"##,
        y = h - 6.0,
        t = h - 7.5,
        label = if metres >= 1000.0 { format!("{} km", metres / 1000.0) } else { format!("{metres} m") },
        nx = w - 6.0
    );
    svg
}

/// The whole page.
pub fn render(p: &BookPage) -> String {
    let mut h = String::new();
    let area = |a: &super::Area| format!("{:.2} m²　{:.4} 公顷　{:.2} 亩", a.m2, a.ha, a.mu);
    let _ = write!(
        h,
        r##"<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>自然资源登记簿 {unit}</title><style>
@page {{ size: A4; margin: 15mm; }}
body {{ font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif; font-size: 10.5pt; color: #111; max-width: 180mm; margin: 0 auto; }}
h1 {{ font-size: 16pt; text-align: center; margin: 0 0 2mm; }} h2 {{ font-size: 12pt; border-bottom: 1px solid #333; margin: 5mm 0 2mm; }}
table {{ border-collapse: collapse; width: 100%; }} td, th {{ border: 1px solid #777; padding: 1mm 2mm; vertical-align: top; }} th {{ background: #eee; text-align: left; width: 30%; }}
td.n {{ text-align: right; white-space: nowrap; }} .en {{ color: #555; font-size: 8.5pt; }} .meta {{ font-size: 8pt; color: #555; text-align: center; }} .warn {{ color: #b30000; font-weight: bold; }}
.legend span {{ display: inline-block; margin-right: 3mm; font-size: 8.5pt; }} .legend i {{ display: inline-block; width: 3mm; height: 3mm; margin-right: 1mm; vertical-align: middle; }}
section {{ break-inside: avoid; }} @media print {{ .noprint {{ display: none; }} }}
</style></head><body>
<h1>自然资源登记簿 <span class="en">Register book of natural resources</span></h1>
<p class="meta">登记单元号 {unit}　截至 {as_of}　（{source}）</p>{warnings}
<section><h2>一、自然状况 <span class="en">Natural state</span></h2><table>
<tr><th>登记单元名称</th><td>{name}</td></tr><tr><th>登记单元类型</th><td>{ty}</td></tr><tr><th>坐落</th><td>{loc}</td></tr>
<tr><th>面积（椭球面积）</th><td>{total}</td></tr>{declared}</table>
<table><tr><th>资源类型 <span class="en">resource type</span></th><th>面积 <span class="en">area</span></th></tr>"##,
        unit = esc(&p.unit),
        as_of = esc(&p.as_of),
        source = esc(&p.source),
        name = esc(&p.name),
        ty = esc(&p.unit_type),
        loc = esc(&p.location),
        total = area(&p.area),
        warnings = p.warnings.iter().map(|w| format!(r#"<p class="warn">⚠ {}</p>"#, esc(w))).collect::<String>(),
        declared = p
            .declared_area
            .map(|d| format!("<tr><th>登记面积（DYMJ）</th><td>{}</td></tr>", area(&d)))
            .unwrap_or_default(),
    );
    for s in &p.resource_types {
        let _ = write!(h, r##"<tr class="rt"><td>{}</td><td class="n">{}</td></tr>"##, esc(&s.label), area(&s.area));
    }
    let _ = write!(h, r##"</table></section><section><h2>二、权属状况 <span class="en">Ownership</span></h2><table>"##);
    for (k, v) in &p.ownership {
        let _ = write!(h, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(v));
    }
    let _ = write!(
        h,
        r##"</table><table><tr><th>权属 <span class="en">ownership</span></th><th>面积 <span class="en">area</span></th></tr>"##
    );
    for s in &p.ownership_areas {
        let _ = write!(h, r##"<tr class="own"><td>{}</td><td class="n">{}</td></tr>"##, esc(&s.label), area(&s.area));
    }
    let _ = write!(
        h,
        r##"</table></section><section><h2>三、关联信息 <span class="en">Related information</span></h2><table><tr><th>公共管控</th><th>编号 / 名称</th><th>重叠面积</th></tr>"##
    );
    if p.links.is_empty() {
        h.push_str("<tr><td colspan=\"3\">无</td></tr>");
    }
    for l in &p.links {
        let _ = write!(
            h,
            r##"<tr class="link"><td>{}</td><td>{} {}</td><td class="n">{}</td></tr>"##,
            esc(&l.title),
            esc(&l.key),
            esc(&l.detail),
            area(&l.overlap)
        );
    }
    let _ = write!(
        h,
        "</table><table><tr><th>关联不动产单元号</th><td>{}</td></tr></table></section>",
        if p.real_estate_units.is_empty() { "无".to_string() } else { esc(&p.real_estate_units.join("；")) }
    );
    let _ = write!(
        h,
        r##"<section><h2>四、登记记录 <span class="en">Registration events</span></h2><table><tr><th>日期</th><th>类型</th><th>登簿人 / 原因 / 文号</th></tr>"##
    );
    for e in &p.events {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{} — {}{}</td></tr>",
            esc(&e.event_date),
            esc(&e.event_type),
            esc(&e.registrar),
            esc(&e.reason),
            e.document_no.as_deref().map(|d| format!("（{}）", esc(d))).unwrap_or_default()
        );
    }
    let _ = write!(
        h,
        r##"</table></section><section><h2>五、附图 <span class="en">Map</span></h2>{}<p class="legend">"##,
        p.map_svg
    );
    for t in ["水流", "湿地", "森林", "草原", "荒地", "其他", "非自然资源"] {
        let _ = write!(h, r##"<span><i style="background:{}"></i>{t}</span>"##, colour(t));
    }
    h.push_str(r##"<span><i style="border:1px dashed #d7301f"></i>生态保护红线</span><span><i style="border:1px dashed #e6ab02"></i>永久基本农田</span><span><i style="border:1px dashed #7570b3"></i>城镇开发边界</span><span><i style="border:2px solid #000"></i>登记单元</span></p></section></body></html>"##);
    h.push('\n');
    h
}
