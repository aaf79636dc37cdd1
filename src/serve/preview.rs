//! A registration seen before it is recorded: the book page it would give the unit (附图: the parcels under
//! the outline by resource type, the control zones, the outline; 自然状况 and 权属状况 areas; the controls it
//! overlaps), shown on the registrar's form when they ask for a preview and on the reviewer's page. The
//! outline uploaded for a preview is kept a while (a draft of that account's), so that the form can be
//! submitted without choosing the file again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::book::{BookPage, Share};

use super::html::escape;

/// How long an uploaded outline is kept for its form.
const DRAFT_LIFE: Duration = Duration::from_secs(30 * 60);
/// The most drafts one account keeps (the oldest goes first).
const DRAFTS_PER_ACCOUNT: usize = 4;

struct Draft {
    owner: String,
    name: String,
    bytes: Vec<u8>,
    made: Instant,
}

/// Outlines uploaded for previews, by a random token the form carries.
#[derive(Default)]
pub struct Drafts(Mutex<HashMap<String, Draft>>);

impl Drafts {
    /// Keep `owner`'s uploaded file `name`; the token that finds it again.
    pub fn keep(&self, owner: &str, name: &str, bytes: Vec<u8>) -> String {
        let mut b = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut b);
        let token = hex::encode(b);
        let mut all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        all.retain(|_, d| d.made.elapsed() < DRAFT_LIFE);
        let mut mine: Vec<(String, Instant)> =
            all.iter().filter(|(_, d)| d.owner == owner).map(|(t, d)| (t.clone(), d.made)).collect();
        mine.sort_by_key(|(_, made)| *made);
        while mine.len() >= DRAFTS_PER_ACCOUNT {
            all.remove(&mine.remove(0).0);
        }
        all.insert(token.clone(), Draft { owner: owner.into(), name: name.into(), bytes, made: Instant::now() });
        token
    }

    /// `owner`'s file kept under `token` (name, bytes), if it is theirs and still kept.
    pub fn take(&self, owner: &str, token: &str) -> Option<(String, Vec<u8>)> {
        let all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        all.get(token)
            .filter(|d| d.owner == owner && d.made.elapsed() < DRAFT_LIFE)
            .map(|d| (d.name.clone(), d.bytes.clone()))
    }
}

/// The preview of a registration's book page: its map, areas and controls (None: a cancellation, which
/// has no outline; Err: why the page could not be drawn).
pub fn html(page: Option<&Result<BookPage, String>>) -> String {
    let page = match page {
        None => return "<p>注销登记无界线 A cancellation has no outline.</p>".into(),
        Some(Err(why)) => return format!("<p class=\"error\">无法生成预览 No preview: {}</p>", escape(why)),
        Some(Ok(p)) => p,
    };
    let shares = |title: &str, list: &[Share]| {
        let rows: String = list
            .iter()
            .filter(|s| s.area.m2 > 0.0)
            .map(|s| {
                format!(
                    "<tr><td>{}</td><td>{:.2}</td><td>{:.4}</td><td>{:.2}</td></tr>",
                    escape(&s.label),
                    s.area.m2,
                    s.area.ha,
                    s.area.mu
                )
            })
            .collect();
        format!(
            "<table class=\"shares\"><tr><th>{title}</th><th>m²</th><th>公顷 ha</th><th>亩 mu</th></tr>{rows}</table>"
        )
    };
    let links: String = page
        .links
        .iter()
        .map(|l| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.2}</td></tr>",
                escape(&l.title),
                escape(&l.key),
                escape(&l.detail),
                l.overlap.m2
            )
        })
        .collect();
    let links = if links.is_empty() {
        "<p>不与生态保护红线、永久基本农田、城镇开发边界重叠 Overlaps no control zone.</p>".to_string()
    } else {
        format!("<table><tr><th>管控 Control</th><th>代码 Code</th><th>名称 Name</th><th>重叠 Overlap m²</th></tr>{links}</table>")
    };
    let warnings: String = page.warnings.iter().map(|w| format!("<p class=\"error\">{}</p>", escape(w))).collect();
    format!(
        "<div class=\"preview\"><p>登记簿预览 The book page on {date}: 面积 area {m2:.2} m² · {ha:.4} 公顷 · {mu:.2} 亩</p>\
         <figure class=\"book-map\">{svg}<figcaption>附图: 图斑按资源类型着色, 虚线为管控边界, 黑线为单元界线 \
         parcels by resource type, control zones dashed, the unit outlined</figcaption></figure>\
         <h3>自然状况 Resource types</h3>{types}<h3>权属状况 Ownership</h3>{owners}<h3>关联信息 Controls</h3>{links}{warnings}</div>",
        date = escape(&page.as_of),
        m2 = page.area.m2,
        ha = page.area.ha,
        mu = page.area.mu,
        svg = page.map_svg,
        types = shares("资源类型 Type", &page.resource_types),
        owners = shares("权属性质 Ownership", &page.ownership_areas),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_is_its_owners_only_and_an_account_keeps_a_few() {
        let d = Drafts::default();
        let t = d.keep("zhao", "u.zip", b"PK".to_vec());
        assert_eq!(d.take("zhao", &t), Some(("u.zip".into(), b"PK".to_vec())));
        assert_eq!(d.take("sun", &t), None);
        assert_eq!(d.take("zhao", "not-a-token"), None);
        let later: Vec<String> =
            (0..DRAFTS_PER_ACCOUNT).map(|i| d.keep("zhao", &format!("{i}.geojson"), vec![])).collect();
        assert_eq!(d.take("zhao", &t), None, "the oldest draft goes first");
        assert!(later.iter().all(|t| d.take("zhao", t).is_some()));
        let other = d.keep("li", "x.gpkg", vec![1]);
        assert!(
            d.take("li", &other).is_some() && d.take("zhao", &later[0]).is_some(),
            "accounts do not evict each other"
        );
    }
}
