//! The HTML view of every resource (OGC API – Features' HTML conformance class), drawn from the same JSON
//! a client gets: a page a clerk can follow from the landing page to a single parcel. Every text taken
//! from the registry or the request is escaped.

use serde_json::Value as Json;

/// `text` with HTML's special characters escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn text(v: &Json) -> String {
    match v {
        Json::Null => String::new(),
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A whole page around `body`.
fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <style>body{{font-family:\"Noto Sans CJK SC\",sans-serif;margin:1.5em;max-width:72em}}\
         table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.2em .5em;text-align:left}}\
         th{{background:#f2f2f2}}nav a{{margin-right:1em}}</style></head>\
         <body><nav><a href=\"/\">首页 Home</a><a href=\"/collections\">图层 Collections</a><a href=\"/api\">API</a></nav>\
         <h1>{t}</h1>{body}</body></html>\n",
        t = escape(title)
    )
}

/// The links of a resource as a list (those to HTML pages first).
fn links(v: &Json) -> String {
    let mut items: Vec<String> = v["links"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| {
            format!(
                "<li><a href=\"{}\">{}</a> ({}, {})</li>",
                escape(&text(&l["href"])),
                escape(&text(&l["title"])),
                escape(&text(&l["rel"])),
                escape(&text(&l["type"]))
            )
        })
        .collect();
    items.sort_by_key(|l| !l.contains("text/html"));
    format!("<ul>{}</ul>", items.join(""))
}

/// The conformance classes.
pub fn conformance(v: &Json) -> String {
    let rows: Vec<String> =
        v["conformsTo"].as_array().into_iter().flatten().map(|c| format!("<li>{}</li>", escape(&text(c)))).collect();
    page("符合性 Conformance", &format!("<ul>{}</ul>", rows.join("")))
}

/// The list of collections.
pub fn collections(v: &Json) -> String {
    let rows: Vec<String> = v["collections"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let id = escape(&text(&c["id"]));
            format!(
                "<tr><td><a href=\"/collections/{id}?f=html\">{id}</a></td><td>{}</td><td><a href=\"/collections/{id}/items?f=html\">要素 items</a></td></tr>",
                escape(&text(&c["title"]))
            )
        })
        .collect();
    page(
        "图层 Collections",
        &format!("<table><tr><th>id</th><th>名称 Title</th><th></th></tr>{}</table>", rows.join("")),
    )
}

/// One collection.
pub fn collection(v: &Json) -> String {
    let extent = escape(&v["extent"].to_string());
    let body =
        format!("<p>{}</p><p>范围 Extent: <code>{extent}</code></p>{}", escape(&text(&v["description"])), links(v));
    page(&text(&v["title"]), &body)
}

/// A collection's queryables.
pub fn queryables(v: &Json) -> String {
    let rows: Vec<String> = v["properties"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, p)| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(k),
                escape(&text(&p["title"])),
                escape(&text(&p["description"])),
                escape(&text(&p["type"]))
            )
        })
        .collect();
    page(
        &format!("可查询字段 Queryables · {}", text(&v["title"])),
        &format!("<table><tr><th>字段</th><th>名称</th><th>Name</th><th>type</th></tr>{}</table>", rows.join("")),
    )
}

/// A page of features: one row per feature, its properties as columns.
pub fn items(v: &Json) -> String {
    let feats: Vec<&Json> = v["features"].as_array().into_iter().flatten().collect();
    let cols: Vec<String> = feats
        .first()
        .and_then(|f| f["properties"].as_object())
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    let head: String = cols.iter().map(|c| format!("<th>{}</th>", escape(c))).collect();
    // a feature of a page is at its collection's items/{id}
    let collection = v["links"].as_array().into_iter().flatten().find(|l| l["rel"] == "collection");
    let collection = collection.and_then(|l| l["href"].as_str()).unwrap_or("");
    let rows: Vec<String> = feats
        .iter()
        .map(|f| {
            let href = format!("{collection}/items/{}", text(&f["id"]));
            let cells: String =
                cols.iter().map(|c| format!("<td>{}</td>", escape(&text(&f["properties"][c])))).collect();
            format!("<tr><td><a href=\"{}?f=html\">{}</a></td>{cells}</tr>", escape(&href), escape(&text(&f["id"])))
        })
        .collect();
    let body = format!(
        "<p>{} / {} 条 features</p>{}<table><tr><th>id</th>{head}</tr>{}</table>",
        text(&v["numberReturned"]),
        text(&v["numberMatched"]),
        links(v),
        rows.join("")
    );
    page("要素 Features", &body)
}

/// One feature: its properties.
pub fn item(v: &Json) -> String {
    let rows: Vec<String> = v["properties"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, p)| format!("<tr><th>{}</th><td>{}</td></tr>", escape(k), escape(&text(p))))
        .collect();
    page(&format!("要素 Feature {}", text(&v["id"])), &format!("<table>{}</table>{}", rows.join(""), links(v)))
}
