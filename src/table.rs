//! Report tables: a title in Chinese and English, columns with Chinese and English headers and a unit, and
//! rows of a code, a label and numbers. Balance sheets (and the audit) build these; [`crate::io::tabular`]
//! writes them as CSV, Parquet (through polars) or an XLSX workbook, and [`Table::render`] as terminal text.

use serde::Serialize;
use unicode_width::UnicodeWidthStr;

/// A numeric column.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Col {
    /// Chinese header.
    pub zh: String,
    /// English header.
    pub en: String,
    /// Unit (公顷, 亩, m³, 万m³ …).
    pub unit: String,
    /// Decimals shown.
    pub decimals: usize,
}

impl Col {
    /// A column.
    pub fn new(zh: &str, en: &str, unit: &str, decimals: usize) -> Col {
        Col { zh: zh.into(), en: en.into(), unit: unit.into(), decimals }
    }
}

/// A row: code, label, one value per column (None: not applicable / not provided).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Row {
    /// Code (land class, origin, item id …).
    pub code: String,
    /// Label (Chinese, with English where useful).
    pub name: String,
    /// Values, parallel to the table's columns.
    pub values: Vec<Option<f64>>,
}

/// A column header in Chinese and English.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Header {
    /// Chinese.
    pub zh: String,
    /// English.
    pub en: String,
}

impl Header {
    /// A header.
    pub fn new(zh: &str, en: &str) -> Header {
        Header { zh: zh.into(), en: en.into() }
    }
}

/// A report table.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Table {
    /// Stable id (`land`, `matrix` …): file and sheet names derive from it.
    pub id: String,
    /// Chinese title.
    pub title: String,
    /// English title.
    pub title_en: String,
    /// Header of the code column.
    pub code_header: Header,
    /// Header of the label column.
    pub name_header: Header,
    /// Numeric columns.
    pub columns: Vec<Col>,
    /// Rows.
    pub rows: Vec<Row>,
    /// Notes printed under the table.
    pub notes: Vec<String>,
}

fn fmt_num(v: Option<f64>, decimals: usize) -> String {
    match v {
        None => "—".into(),
        Some(x) => {
            let s = format!("{:.*}", decimals, x);
            if s.starts_with('-') && s.trim_start_matches('-').chars().all(|c| c == '0' || c == '.') {
                s[1..].to_string()
            } else {
                s
            }
        }
    }
}

fn pad_left(s: &str, w: usize) -> String {
    format!("{}{s}", " ".repeat(w.saturating_sub(s.width())))
}

fn pad_right(s: &str, w: usize) -> String {
    format!("{s}{}", " ".repeat(w.saturating_sub(s.width())))
}

impl Table {
    /// The table as aligned terminal text (CJK characters count two columns).
    pub fn render(&self) -> String {
        let head: Vec<String> = std::iter::once(self.code_header.zh.clone())
            .chain(std::iter::once(self.name_header.zh.clone()))
            .chain(self.columns.iter().map(|c| {
                if c.unit.is_empty() {
                    c.zh.clone()
                } else {
                    format!("{}({})", c.zh, c.unit)
                }
            }))
            .collect();
        let body: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                std::iter::once(r.code.clone())
                    .chain(std::iter::once(r.name.clone()))
                    .chain(r.values.iter().zip(&self.columns).map(|(v, c)| fmt_num(*v, c.decimals)))
                    .collect()
            })
            .collect();
        let widths: Vec<usize> = (0..head.len())
            .map(|i| body.iter().map(|r| r[i].width()).chain([head[i].width()]).max().unwrap_or(0))
            .collect();
        let mut out = format!("{} ({})\n", self.title, self.title_en);
        let line = |cells: &[String]| -> String {
            cells
                .iter()
                .enumerate()
                .map(|(i, c)| if i < 2 { pad_right(c, widths[i]) } else { pad_left(c, widths[i]) })
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_string()
        };
        out.push_str(&line(&head));
        out.push('\n');
        out.push_str(&"─".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1)));
        out.push('\n');
        for r in &body {
            out.push_str(&line(r));
            out.push('\n');
        }
        for n in &self.notes {
            out.push_str(&format!("  注: {n}\n"));
        }
        out
    }
}
