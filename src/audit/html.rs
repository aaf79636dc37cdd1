//! The audit report as one self-contained HTML file: no scripts and nothing from the network, inline SVG
//! charts and map (drawn here), Chinese labels with English beside them, print CSS for A4.
//!
//! Sections: summary with the score and grade; indicators with traffic-light verdicts; charts (land class
//! areas at the start and end of the tenure, net change, the transition matrix as a heat map, indicator
//! change); the map (region, red lines, permanent farmland, urban boundary, findings that arose in the
//! tenure); the findings; the balance tables; reproducibility (hashes, vintages, tool version).

use std::fmt::Write as _;

use geo::{BoundingRect, MultiPolygon};

use super::{Audit, Verdict};
use crate::quantity::SquareMetres;
use crate::table::Table;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn num(v: Option<f64>, d: usize) -> String {
    // + 0.0 turns a negative zero into zero
    v.map(|x| format!("{:.*}", d, x + 0.0))
        .map(
            |t| if t.starts_with('-') && t[1..].chars().all(|c| c == '0' || c == '.') { t[1..].to_string() } else { t },
        )
        .unwrap_or_else(|| "—".into())
}

/// Horizontal grouped bars: land classes at the start and the end of the tenure (ha).
fn class_chart(a: &Audit) -> String {
    let acc = &a.sheet.land;
    let rows: Vec<(String, f64, f64)> = acc
        .classes
        .iter()
        .enumerate()
        .map(|(i, c)| {
            (
                format!("{} {}", c.code, c.name),
                SquareMetres(acc.opening(i) as f64).hectares(),
                SquareMetres(acc.closing(i) as f64).hectares(),
            )
        })
        .filter(|r| r.1 > 0.0 || r.2 > 0.0)
        .collect();
    let max = rows.iter().map(|r| r.1.max(r.2)).fold(0.0, f64::max).max(1e-9);
    let (lw, bw, rh) = (190.0, 430.0, 26.0);
    let h = rows.len() as f64 * rh + 30.0;
    let mut s = format!(
        r##"<svg id="chart-classes" class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" role="img" aria-label="地类面积"><g font-size="11">"##,
        w = lw + bw + 110.0
    );
    for (k, (label, o, c)) in rows.iter().enumerate() {
        let y = 10.0 + k as f64 * rh;
        let _ = write!(
            s,
            r##"<text x="{tx}" y="{ty}" text-anchor="end">{l}</text><rect class="bar-open" x="{lw}" y="{y}" width="{wo:.1}" height="9" fill="#9ecae1"><title>期初 {o:.4} 公顷</title></rect><rect class="bar-close" x="{lw}" y="{y2}" width="{wc:.1}" height="9" fill="#3182bd"><title>期末 {c:.4} 公顷</title></rect><text x="{tx2:.1}" y="{ty}" fill="#333">{c:.1}</text>"##,
            tx = lw - 6.0,
            ty = y + 13.0,
            l = esc(label),
            wo = bw * o / max,
            y2 = y + 10.0,
            wc = bw * c / max,
            tx2 = lw + bw * o.max(*c) / max + 4.0,
        );
    }
    let _ = write!(
        s,
        r##"<rect x="{lw}" y="{ly}" width="10" height="8" fill="#9ecae1"/><text x="{a}" y="{t}">期初 start</text><rect x="{b}" y="{ly}" width="10" height="8" fill="#3182bd"/><text x="{c}" y="{t}">期末 end (公顷)</text></g></svg>"##,
        ly = h - 16.0,
        t = h - 8.5,
        a = lw + 14.0,
        b = lw + 90.0,
        c = lw + 104.0
    );
    s
}

/// Diverging bars: net change of each class over the tenure (ha).
fn change_chart(a: &Audit) -> String {
    let acc = &a.sheet.land;
    let rows: Vec<(String, f64)> = acc
        .classes
        .iter()
        .enumerate()
        .map(|(i, c)| {
            (format!("{} {}", c.code, c.name), SquareMetres((acc.closing(i) - acc.opening(i)) as f64).hectares())
        })
        .filter(|r| r.1 != 0.0)
        .collect();
    let max = rows.iter().map(|r| r.1.abs()).fold(0.0, f64::max).max(1e-9);
    let (lw, half, rh) = (190.0, 200.0, 20.0);
    let h = rows.len().max(1) as f64 * rh + 12.0;
    let mid = lw + half + 80.0;
    let mut s = format!(
        r##"<svg id="chart-change" class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" role="img" aria-label="净变化"><g font-size="11"><line x1="{mid}" x2="{mid}" y1="4" y2="{y2}" stroke="#777"/>"##,
        w = mid + half + 80.0,
        y2 = h - 4.0
    );
    for (k, (label, v)) in rows.iter().enumerate() {
        let y = 6.0 + k as f64 * rh;
        let w = half * v.abs() / max;
        let x = if *v < 0.0 { mid - w } else { mid };
        let _ = write!(
            s,
            r##"<text x="{tx}" y="{ty}" text-anchor="end">{l}</text><rect x="{x:.1}" y="{y}" width="{w:.1}" height="12" fill="{f}"><title>{v:+.4} 公顷</title></rect><text x="{vx:.1}" y="{ty}" text-anchor="{anc}">{v:+.2}</text>"##,
            tx = lw,
            ty = y + 10.0,
            l = esc(label),
            f = if *v < 0.0 { "#de2d26" } else { "#31a354" },
            vx = if *v < 0.0 { mid - w - 4.0 } else { mid + w + 4.0 },
            anc = if *v < 0.0 { "end" } else { "start" },
        );
    }
    s.push_str("</g></svg>");
    s
}

/// The transition matrix as a heat map (log colour scale, areas in ha on hover and in the cells).
fn matrix_chart(a: &Audit) -> String {
    let acc = &a.sheet.land;
    let keep: Vec<usize> = (0..acc.classes.len()).filter(|&i| acc.opening(i) > 0 || acc.closing(i) > 0).collect();
    let n = keep.len();
    let (cell, left, top) = (44.0, 150.0, 120.0);
    let size = (left + cell * n as f64 + 10.0, top + cell * n as f64 + 10.0);
    let max = keep.iter().flat_map(|&i| keep.iter().map(move |&j| acc.matrix[i][j])).max().unwrap_or(1).max(1) as f64;
    let mut s = format!(
        r##"<svg id="chart-matrix" class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" role="img" aria-label="土地利用转移矩阵"><g font-size="10">"##,
        w = size.0,
        h = size.1
    );
    for (k, &j) in keep.iter().enumerate() {
        let x = left + cell * k as f64 + cell / 2.0;
        let _ = write!(
            s,
            r##"<text transform="translate({x},{y}) rotate(-60)">{l}</text>"##,
            y = top - 6.0,
            l = esc(&format!("{} {}", acc.classes[j].code, acc.classes[j].name))
        );
    }
    for (r, &i) in keep.iter().enumerate() {
        let y = top + cell * r as f64;
        let _ = write!(
            s,
            r##"<text x="{x}" y="{ty}" text-anchor="end">{l}</text>"##,
            x = left - 6.0,
            ty = y + cell / 2.0 + 3.0,
            l = esc(&format!("{} {}", acc.classes[i].code, acc.classes[i].name))
        );
        for (k, &j) in keep.iter().enumerate() {
            let v = acc.matrix[i][j] as f64;
            let t = if v > 0.0 { (1.0 + v).ln() / (1.0 + max).ln() } else { 0.0 };
            let (rr, gg, bb) = if i == j {
                (255.0 - 150.0 * t, 255.0 - 90.0 * t, 255.0 - 40.0 * t)
            } else {
                (255.0 - 20.0 * t, 255.0 - 200.0 * t, 255.0 - 200.0 * t)
            };
            let x = left + cell * k as f64;
            let _ = write!(
                s,
                r##"<rect class="cell" x="{x}" y="{y}" width="{cell}" height="{cell}" fill="rgb({rr:.0},{gg:.0},{bb:.0})" stroke="#fff"><title>{f} → {to}: {ha:.4} 公顷</title></rect>"##,
                f = esc(&acc.classes[i].code),
                to = esc(&acc.classes[j].code),
                ha = SquareMetres(v).hectares()
            );
            if v > 0.0 {
                let _ = write!(
                    s,
                    r##"<text x="{tx}" y="{ty}" text-anchor="middle" font-size="8">{ha:.0}</text>"##,
                    tx = x + cell / 2.0,
                    ty = y + cell / 2.0 + 3.0,
                    ha = SquareMetres(v).hectares()
                );
            }
        }
    }
    s.push_str("</g></svg>");
    s
}

/// The indicators by block: values, verdicts, points and why, each block with its score.
fn indicator_table(a: &Audit) -> String {
    let mut s = String::from(r#"<h2>一、审计指标 <span class="en">Indicators against targets</span></h2>"#);
    let zone = a.function_zone.as_deref().map(|z| format!("，主体功能区 {}", esc(z))).unwrap_or_default();
    let _ = write!(
        s,
        r#"<p id="system">评价体系 <b>{}</b>{zone}；得分 {:.2} / 可计分 {:.2}{}</p>"#,
        esc(&a.system.name),
        a.points_earned,
        a.points_available,
        if (a.points_available - a.total).abs() > 1e-9 {
            format!("，按可计分折算为 {:.2} / {} (scaled to the points with data)", a.score, a.total)
        } else {
            String::new()
        }
    );
    s.push_str(r#"<table id="indicators"><thead><tr><th>判定</th><th>指标</th><th>单位</th><th>任期初</th><th>任期末</th><th>变化</th><th>目标</th><th>规则</th><th>满分</th><th>得分</th><th>计分依据 <span class="en">why</span></th></tr></thead><tbody>"#);
    for b in &a.blocks {
        let _ = write!(
            s,
            r#"<tr class="block" id="block-{c}"><th colspan="8">{c} {n} <span class="en">{ne}</span></th><td class="n">{p}</td><td class="n"><b>{sc:.2}</b></td><td>{r}</td></tr>"#,
            c = esc(&b.code),
            n = esc(&b.name),
            ne = esc(&b.name_en),
            p = b.points,
            sc = b.score,
            r = esc(&b.reason)
        );
        for i in a.indicators.iter().filter(|i| i.block == b.code) {
            let evidence = i.evidence.as_deref().map(|e| format!("（证据 {}）", esc(e))).unwrap_or_default();
            let _ = write!(
                s,
                r#"<tr class="verdict-{v:?}" id="ind-{id}"><td><span class="light {v:?}"></span>{vl}</td><td>{n}<br><span class="en">{ne}</span></td><td>{u}</td><td class="n">{st}</td><td class="n">{en}</td><td class="n">{ch}</td><td class="n">{tg}</td><td>{r}</td><td class="n">{w}</td><td class="n">{pt:.2}</td><td>{why}{evidence}</td></tr>"#,
                v = i.verdict,
                id = esc(&i.id),
                vl = i.verdict.label(),
                n = esc(&i.name),
                ne = esc(&i.name_en),
                u = esc(&i.unit),
                st = num(i.start, 4),
                en = num(i.end, 4),
                ch = num(i.start.zip(i.end).map(|(a, b)| b - a), 4),
                tg = num(i.target, 4),
                r = esc(&i.rule),
                w = i.max_points,
                pt = i.points,
                why = esc(&i.reason),
            );
        }
    }
    s.push_str("</tbody></table>");
    s
}

/// The indicators at each year-end of the tenure, with their trend; a year without a survey is flagged.
fn years_table(a: &Audit) -> String {
    let mut s = String::from(
        r#"<h3>任期逐年 <span class="en">The tenure year by year</span></h3><table id="years"><thead><tr><th>指标</th><th>单位</th>"#,
    );
    let _ = write!(s, "<th>{}</th>", a.years.first().map(|y| esc(&y.from)).unwrap_or_default());
    for y in &a.years {
        let flag = if y.missing { r#"<br><span class="missing">无当年数据</span>"# } else { "" };
        let _ = write!(s, "<th>{}{flag}</th>", esc(&y.to));
    }
    s.push_str("<th>趋势 <span class=\"en\">trend</span></th></tr></thead><tbody>");
    for i in a.indicators.iter().filter(|i| i.by_year.iter().any(Option::is_some)) {
        let _ = write!(s, "<tr><td>{}</td><td>{}</td>", esc(&i.name), esc(&i.unit));
        for v in &i.by_year {
            let _ = write!(s, r#"<td class="n">{}</td>"#, num(*v, 4));
        }
        let _ = write!(s, "<td>{}</td></tr>", esc(&i.trend));
    }
    s.push_str("</tbody></table>");
    for y in a.years.iter().filter(|y| y.missing) {
        let _ = write!(
            s,
            r#"<p class="missing-year">{} 年无土地调查数据（{} 至 {} 无地类图斑更新），该年数值沿用此前数据。 <span class="en">No survey dated in that year: its figures carry the data before it.</span></p>"#,
            y.year,
            esc(&y.from),
            esc(&y.to)
        );
    }
    s
}

/// Indicator change, start → end, in % of the start value.
fn indicator_chart(a: &Audit) -> String {
    let rows: Vec<(&str, f64, Verdict)> = a
        .indicators
        .iter()
        .filter_map(|i| match (i.start, i.end) {
            (Some(s), Some(e)) if s.abs() > 0.0 => Some((i.name.as_str(), 100.0 * (e - s) / s.abs(), i.verdict)),
            _ => None,
        })
        .collect();
    let max = rows.iter().map(|r| r.1.abs()).fold(0.0, f64::max).max(1e-9);
    let (lw, half, rh) = (170.0, 180.0, 22.0);
    let h = rows.len().max(1) as f64 * rh + 12.0;
    let mid = lw + half + 80.0;
    let mut s = format!(
        r##"<svg id="chart-indicators" class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" role="img" aria-label="指标变化"><g font-size="11"><line x1="{mid}" x2="{mid}" y1="4" y2="{y2}" stroke="#777"/>"##,
        w = mid + half + 90.0,
        y2 = h - 4.0
    );
    for (k, (name, pct, v)) in rows.iter().enumerate() {
        let y = 6.0 + k as f64 * rh;
        let w = half * pct.abs() / max;
        let x = if *pct < 0.0 { mid - w } else { mid };
        let fill = match v {
            Verdict::Met => "#31a354",
            Verdict::NotMet => "#de2d26",
            Verdict::NoData => "#999",
            Verdict::Scored => "#3182bd",
        };
        let _ = write!(
            s,
            r##"<text x="{lw}" y="{ty}" text-anchor="end">{n}</text><rect x="{x:.1}" y="{y}" width="{w:.1}" height="13" fill="{fill}"/><text x="{vx:.1}" y="{ty}" text-anchor="{anc}">{pct:+.2} %</text>"##,
            ty = y + 11.0,
            n = esc(name),
            vx = if *pct < 0.0 { mid - w - 4.0 } else { mid + w + 4.0 },
            anc = if *pct < 0.0 { "end" } else { "start" },
        );
    }
    s.push_str("</g></svg>");
    s
}

/// The map: region outline, control zones at the end of the tenure, and the findings that arose in it.
/// A map's frame: the region's box fitted to `w` × `h` pixels.
struct Frame {
    x0: f64,
    y1: f64,
    sc: f64,
}

impl Frame {
    fn new(b: geo::Rect<f64>, w: f64, h: f64) -> Frame {
        let pad = 0.03 * b.width().max(b.height());
        let sc = (w / (b.width() + 2.0 * pad)).min(h / (b.height() + 2.0 * pad));
        Frame { x0: b.min().x - pad, y1: b.max().y + pad, sc }
    }

    /// An SVG path of a multipolygon.
    fn path(&self, mp: &MultiPolygon<f64>) -> String {
        let mut d = String::new();
        for p in &mp.0 {
            for r in std::iter::once(p.exterior()).chain(p.interiors()) {
                let mut last = (f64::NAN, f64::NAN);
                for (i, c) in r.0.iter().enumerate() {
                    let (x, y) = ((c.x - self.x0) * self.sc, (self.y1 - c.y) * self.sc);
                    // drop vertices closer than a tenth of a pixel to the last one drawn
                    if i > 0 && (x - last.0).abs() < 0.1 && (y - last.1).abs() < 0.1 {
                        continue;
                    }
                    let _ = write!(d, "{}{:.1},{:.1}", if i == 0 { "M" } else { "L" }, x, y);
                    last = (x, y);
                }
                d.push('Z');
            }
        }
        d
    }
}

/// The townships by warning level (资源环境承载能力监测预警), with a legend.
fn warning_svg(a: &Audit) -> String {
    let Some(w) = &a.warning else { return String::new() };
    let Some(region) = a.map.iter().find(|m| m.0 == "行政区") else { return String::new() };
    let Some(b) = region.1.bounding_rect() else { return String::new() };
    let (wd, h) = (640.0_f64, 480.0_f64);
    let f = Frame::new(b, wd, h);
    let mut s = format!(
        r##"<svg id="warning-map" class="map" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {wd} {h}" role="img" aria-label="承载能力预警"><rect width="{wd}" height="{h}" fill="#f7f7f2"/>"##
    );
    for u in &w.units {
        let _ = write!(
            s,
            r##"<path class="unit" data-level="{l}" d="{d}" fill="{c}" fill-opacity="0.75" stroke="#333" stroke-width="0.8"><title>{n} {code}: {l}</title></path>"##,
            l = esc(&u.level),
            d = f.path(&u.outline),
            c = esc(&u.colour),
            n = esc(&u.name),
            code = esc(&u.code)
        );
    }
    let mut levels: Vec<(&str, &str)> = Vec::new();
    for u in &w.units {
        if !levels.iter().any(|l| l.0 == u.level) {
            levels.push((&u.level, &u.colour));
        }
    }
    s.push_str(r#"<g font-size="11">"#);
    for (k, (l, c)) in levels.iter().enumerate() {
        let y = h - 15.0 * (levels.len() - k) as f64 - 5.0;
        let _ = write!(
            s,
            r##"<rect x="10" y="{y}" width="12" height="9" fill="{}" stroke="#333"/><text x="26" y="{}">{}</text>"##,
            esc(c),
            y + 8.0,
            esc(l)
        );
    }
    s.push_str("</g></svg>");
    s
}

fn map_svg(a: &Audit) -> String {
    let Some(region) = a.map.iter().find(|m| m.0 == "行政区") else { return String::new() };
    let Some(b) = region.1.bounding_rect() else { return String::new() };
    let (w, h) = (640.0_f64, 480.0_f64);
    let frame = Frame::new(b, w, h);
    let (x0, y1, sc) = (frame.x0, frame.y1, frame.sc);
    let path = |mp: &MultiPolygon<f64>| frame.path(mp);
    let mut s = format!(
        r##"<svg id="map" class="map" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" role="img" aria-label="区域图"><rect width="{w}" height="{h}" fill="#f7f7f2"/>"##
    );
    let style = |layer: &str| match layer {
        "行政区" => ("#ffffff", "#333", "1.2", ""),
        "永久基本农田" => ("#f6e58d", "#c9a800", "0.4", ""),
        "城镇开发边界" => ("none", "#7570b3", "1.2", "6,3"),
        _ => ("#fcbba1", "#d7301f", "0.6", ""),
    };
    for layer in ["行政区", "生态保护红线", "永久基本农田", "城镇开发边界"] {
        let (fill, stroke, sw, dash) = style(layer);
        let mut d = String::new();
        for (_, g) in a.map.iter().filter(|m| m.0 == layer) {
            d.push_str(&path(g));
        }
        if !d.is_empty() {
            let _ = write!(
                s,
                r##"<path class="layer" data-layer="{layer}" d="{d}" fill="{fill}" fill-opacity="0.8" stroke="{stroke}" stroke-width="{sw}" stroke-dasharray="{dash}" fill-rule="evenodd"/>"##
            );
        }
    }
    for (k, f) in a.new_findings.iter().enumerate() {
        let Some(g) = &f.geometry else { continue };
        let Some(c) = g.bounding_rect().map(|r| r.center()) else { continue };
        let (cx, cy) = ((c.x - x0) * sc, (y1 - c.y) * sc);
        let _ = write!(
            s,
            r##"<g class="finding"><path d="{d}" fill="#e31a1c" stroke="#67000d" stroke-width="0.8"/><circle cx="{cx:.1}" cy="{cy:.1}" r="9" fill="none" stroke="#e31a1c" stroke-width="2"/><text x="{tx:.1}" y="{ty:.1}" font-size="12" font-weight="bold" fill="#67000d">{n}</text><title>{t}</title></g>"##,
            d = path(g),
            tx = cx + 11.0,
            ty = cy + 4.0,
            n = k + 1,
            t = esc(&f.message)
        );
    }
    // legend and scale bar
    let km = 10f64.powf((b.width() / 5.0 / 1000.0).log10().floor()).max(1.0);
    let bar = km * 1000.0 * sc;
    let _ = write!(
        s,
        r##"<g font-size="11"><rect x="10" y="{y0}" width="12" height="9" fill="#fcbba1" stroke="#d7301f"/><text x="26" y="{t0}">生态保护红线</text><rect x="10" y="{y1}" width="12" height="9" fill="#f6e58d" stroke="#c9a800"/><text x="26" y="{t1}">永久基本农田</text><rect x="10" y="{y2}" width="12" height="9" fill="none" stroke="#7570b3" stroke-dasharray="3,2"/><text x="26" y="{t2}">城镇开发边界</text><rect x="10" y="{y3}" width="12" height="9" fill="#e31a1c"/><text x="26" y="{t3}">任期内新增问题</text><line x1="{bx}" x2="{bx2:.1}" y1="{by}" y2="{by}" stroke="#000" stroke-width="2"/><text x="{bx}" y="{bt}">{km} km</text></g></svg>"##,
        y0 = h - 70.0,
        t0 = h - 62.0,
        y1 = h - 55.0,
        t1 = h - 47.0,
        y2 = h - 40.0,
        t2 = h - 32.0,
        y3 = h - 25.0,
        t3 = h - 17.0,
        bx = w - 20.0 - bar,
        bx2 = w - 20.0,
        by = h - 20.0,
        bt = h - 26.0,
    );
    s
}

fn table_html(t: &Table) -> String {
    let mut s = format!(
        r#"<table class="data" id="table-{}"><caption>{} <span class="en">{}</span></caption><thead><tr><th>{}</th><th>{}</th>"#,
        esc(&t.id),
        esc(&t.title),
        esc(&t.title_en),
        esc(&t.code_header.zh),
        esc(&t.name_header.zh)
    );
    for c in &t.columns {
        let _ = write!(
            s,
            "<th>{}{}<br><span class=\"en\">{}</span></th>",
            esc(&c.zh),
            if c.unit.is_empty() { String::new() } else { format!("（{}）", esc(&c.unit)) },
            esc(&c.en)
        );
    }
    s.push_str("</tr></thead><tbody>");
    for r in &t.rows {
        let _ = write!(s, "<tr><td>{}</td><td>{}</td>", esc(&r.code), esc(&r.name));
        for (v, c) in r.values.iter().zip(&t.columns) {
            let _ = write!(s, "<td class=\"n\">{}</td>", num(*v, c.decimals));
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>");
    for n in &t.notes {
        let _ = write!(s, "<p class=\"note\">注：{}</p>", esc(n));
    }
    s
}

const CSS: &str = r#"
body{font-family:"Noto Sans CJK SC","Noto Sans SC","Source Han Sans SC","Microsoft YaHei",sans-serif;margin:24px auto;max-width:1100px;color:#222;line-height:1.45}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;border-bottom:2px solid #3182bd;padding-bottom:3px;margin-top:28px}
.en{color:#777;font-weight:normal;font-size:.85em}
.summary{display:flex;gap:24px;align-items:center;background:#f3f7fb;border:1px solid #d6e4f0;padding:14px 18px;border-radius:6px}
.grade{font-size:40px;font-weight:bold;color:#08519c} .score{font-size:18px}
table{border-collapse:collapse;margin:8px 0;font-size:12.5px} th,td{border:1px solid #ccc;padding:3px 6px} th{background:#eef3f8}
td.n{text-align:right;font-variant-numeric:tabular-nums} caption{text-align:left;font-weight:bold;padding:4px 0}
.light{display:inline-block;width:12px;height:12px;border-radius:50%;vertical-align:middle;margin-right:5px}
.Met{background:#31a354} .NotMet{background:#de2d26} .NoData{background:#bdbdbd}
svg.chart,svg.map{width:100%;height:auto;max-width:900px;display:block;margin:6px 0;background:#fff}
.note{font-size:12px;color:#555;margin:2px 0} .prov td{font-size:11.5px;word-break:break-all}
@media print{body{margin:0;max-width:none} h2{page-break-after:avoid} table,svg{page-break-inside:avoid}}
@page{size:A4;margin:14mm}
"#;

/// The report.
pub fn render(a: &Audit, balance_tables: &[Table]) -> String {
    let p = &a.sheet.provenance;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{region}自然资源资产离任审计 {from}—{to}</title><style>{CSS}</style></head><body>"#,
        region = esc(&p.region_name),
        from = p.from,
        to = p.to
    );
    let _ = write!(
        s,
        r#"<h1>领导干部自然资源资产离任审计 · 自然资源部分</h1><p class="en">Outgoing audit of an official — natural resources</p><p>被审计领导干部：<b>{post} {official}</b>　区域：<b>{region} {code}</b>　任期：<b>{from} 至 {to}</b></p>"#,
        post = esc(&a.post),
        official = esc(&a.official),
        region = esc(&p.region_name),
        code = esc(&p.region),
        from = p.from,
        to = p.to
    );
    let counts = super::verdict_counts(a);
    let _ = write!(
        s,
        r#"<div class="summary" id="summary"><div><div class="grade" id="grade">{grade}</div><div class="en">grade</div></div><div><div class="score">得分 <b id="score">{score:.1}</b> / {total}</div><div>达标 {met} 项 · 未达标 {not} 项 · 无数据 {nd} 项</div><div>任期内新增问题 <b>{nf}</b> 处 (new findings)</div></div></div>"#,
        grade = esc(&a.grade),
        score = a.score,
        total = a.total,
        met = counts.get("达标").copied().unwrap_or(0),
        not = counts.get("未达标").copied().unwrap_or(0),
        nd = counts.get("无数据").copied().unwrap_or(0),
        nf = a.new_findings.len()
    );
    s.push_str(&indicator_table(a));
    s.push_str(&years_table(a));
    s.push_str(r#"<h2>二、图表 <span class="en">Charts</span></h2><h3>地类面积（任期初 / 任期末） <span class="en">Land classes at the start and end</span></h3>"#);
    s.push_str(&class_chart(a));
    s.push_str(r#"<h3>地类净变化 <span class="en">Net change by class (公顷)</span></h3>"#);
    s.push_str(&change_chart(a));
    s.push_str(
        r#"<h3>土地利用转移矩阵 <span class="en">Transition matrix (rows: start, columns: end; 公顷)</span></h3>"#,
    );
    s.push_str(&matrix_chart(a));
    s.push_str(r#"<h3>指标变化 <span class="en">Indicator change over the tenure (%)</span></h3>"#);
    s.push_str(&indicator_chart(a));
    s.push_str(r#"<h2>三、区域图 <span class="en">Map</span></h2>"#);
    s.push_str(&map_svg(a));
    if let Some(w) = &a.warning {
        s.push_str(
            r#"<h3>资源环境承载能力监测预警 <span class="en">Carrying-capacity early warning by township</span></h3>"#,
        );
        s.push_str(&warning_svg(a));
        s.push_str(&table_html(&crate::warning::table(w)));
    }
    s.push_str(r#"<h2>四、任期内新增问题 <span class="en">Findings that arose during the tenure</span></h2>"#);
    if a.new_findings.is_empty() {
        s.push_str("<p>无 (none)</p>");
    } else {
        let count = |n: &str| a.new_findings.iter().filter(|f| f.nature == n).count();
        let _ = write!(
            s,
            r#"<p id="causes">人为 (human) {} 处 · 自然 (natural) {} 处 · 未注明 (not stated) {} 处</p>"#,
            count("人为"),
            count("自然"),
            count("未注明")
        );
        s.push_str(r#"<table id="findings"><thead><tr><th>#</th><th>规则</th><th>说明</th><th>原因</th><th>面积（m²）</th><th>位置（经度, 纬度）</th></tr></thead><tbody>"#);
        for (k, f) in a.new_findings.iter().enumerate() {
            let _ = write!(
                s,
                r#"<tr><td>{}</td><td>{} {}</td><td>{}</td><td>{}{}</td><td class="n">{:.2}</td><td>{:.5}°E, {:.5}°N</td></tr>"#,
                k + 1,
                esc(&f.rule),
                esc(&f.name),
                esc(&f.message),
                esc(&f.nature),
                f.cause.as_deref().map(|c| format!(" · {}", esc(c))).unwrap_or_default(),
                f.area_m2.0,
                f.location.lon,
                f.location.lat
            );
        }
        s.push_str("</tbody></table><p class=\"note\">注：原因取所涉图斑的变更原因 (BGYY, layers/classes/change-causes.csv)；数据未注明的列为未注明。</p>");
    }
    s.push_str(&patches_html(a));
    s.push_str(&ledger_html(a));
    s.push_str(r#"<h2>五、自然资源资产负债表 <span class="en">Balance sheets of the tenure</span></h2>"#);
    for t in balance_tables {
        s.push_str(&table_html(t));
    }
    s.push_str(r#"<h2>六、数据与可复核性 <span class="en">Reproducibility</span></h2><table class="prov" id="provenance"><tbody>"#);
    for (k, v) in super::about(a) {
        let _ = write!(s, "<tr><td>{}</td><td>{}</td></tr>", esc(&k), esc(&v));
    }
    s.push_str("</tbody></table></body></html>\n");
    s
}

/// The suspect patches found during the tenure and where each stood at its end, with the count of
/// unresolved illegal occupation of cultivated land.
fn patches_html(a: &Audit) -> String {
    let mut s = String::from(
        r#"<h3>任期内监测图斑 <span class="en">Suspect patches found during the tenure (nrledger screen --store)</span></h3>"#,
    );
    if a.patches.is_empty() {
        s.push_str("<p>无 (none stored)</p>");
        return s;
    }
    let unresolved: Vec<_> = a.patches.iter().filter(|p| p.unresolved_illegal_cultivated).collect();
    let _ = write!(
        s,
        r#"<p id="unresolved">违法占用耕地未整改 (illegal occupation of cultivated land not rectified): {} 处, {:.2} m²</p>"#,
        unresolved.len(),
        unresolved.iter().map(|p| p.area_m2.0).sum::<f64>()
    );
    s.push_str(r#"<table id="patches"><thead><tr><th>监测编号</th><th>变化</th><th>前 → 后</th><th>乡镇</th><th>面积（m²）</th><th>任期末状态</th></tr></thead><tbody>"#);
    for p in &a.patches {
        let _ = write!(
            s,
            r#"<tr><td>{}</td><td>{}</td><td>{} → {}</td><td>{}</td><td class="n">{:.2}</td><td>{}{}</td></tr>"#,
            esc(&p.patch_id),
            esc(&p.change),
            esc(&p.before),
            esc(&p.after),
            esc(&p.township),
            p.area_m2.0,
            esc(&p.step),
            p.result.as_deref().map(|r| format!(" ({})", esc(r))).unwrap_or_default()
        );
    }
    s.push_str("</tbody></table>");
    s
}

/// The tenure's cultivated-land ledgers over the region: what was taken and made up, balanced or not.
fn ledger_html(a: &Audit) -> String {
    let mut s = String::from(
        r#"<h3>耕地占补平衡、进出平衡 <span class="en">Cultivated-land ledgers of the tenure (nrledger screen)</span></h3>"#,
    );
    let Some(t) = a.ledger.last() else { return s };
    let yes = |b: bool| if b { "平衡 (balanced)" } else { "不平衡 (not balanced)" };
    let _ = write!(
        s,
        r#"<p id="ledger">占补平衡 {}: 建设占用耕地 {:.2} m²（其中已批 {:.2} m²），补充耕地 {:.2} m²。进出平衡 {}: 流出 {:.2} m²（例外 {:.2} m² 另计），流入 {:.2} m²。</p>"#,
        yes(t.occupation_balanced),
        t.taken_by_construction_m2.0,
        t.taken_approved_m2.0,
        t.supplemented_m2.0,
        yes(t.in_out_balanced),
        t.out_m2.0,
        t.out_exempt_m2.0,
        t.in_m2.0
    );
    s
}
