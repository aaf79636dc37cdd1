//! Tables in and out: reading tabular inputs (CSV or Parquet, through polars) as rows of text, and writing
//! report [`Table`]s as tidy CSV or Parquet (one row per cell, through polars) or as an XLSX workbook (one
//! sheet per table in the official layout: Chinese headers, English on a second header row, numbers as
//! numbers).

use chrono::Datelike;
use std::path::Path;

use polars::prelude::*;
use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook};

use crate::error::{Error, Result};
use crate::table::Table;

/// Rows of a tabular input: headers and, per row, its cells as text (None: empty).
pub struct Rows {
    /// Column names.
    pub headers: Vec<String>,
    /// Cells.
    pub rows: Vec<Vec<Option<String>>>,
}

fn polars_err(path: &Path, e: PolarsError) -> Error {
    Error::Invalid(format!("{}: {e}", path.display()))
}

/// Read a CSV (UTF-8, header row) or Parquet file; every cell as text so the caller can name the row and
/// field of a bad value.
pub fn read_rows(path: &Path) -> Result<Rows> {
    if !path.exists() {
        return Err(Error::Invalid(format!("{}: no such file", path.display())));
    }
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    let df = match ext.as_deref() {
        Some("csv") => CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .try_into_reader_with_file_path(Some(path.to_path_buf()))
            .and_then(|r| r.finish())
            .map_err(|e| polars_err(path, e))?,
        Some("parquet") => {
            let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
            ParquetReader::new(f).finish().map_err(|e| polars_err(path, e))?
        }
        _ => return Err(Error::Invalid(format!("{}: unknown table format; use .csv or .parquet", path.display()))),
    };
    let headers: Vec<String> =
        df.get_column_names().iter().map(|s| s.trim_start_matches('\u{feff}').trim().to_string()).collect();
    let mut cols = Vec::new();
    for c in df.get_columns() {
        let s = c.cast(&DataType::String).map_err(|e| polars_err(path, e))?;
        let v: Vec<Option<String>> = s
            .str()
            .map_err(|e| polars_err(path, e))?
            .into_iter()
            .map(|x| x.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()))
            .collect();
        cols.push(v);
    }
    let rows = (0..df.height()).map(|i| cols.iter().map(|c| c[i].clone()).collect()).collect();
    Ok(Rows { headers, rows })
}

/// The tables as one tidy frame: table, code, name, column (Chinese and English), unit, value.
pub fn tidy(tables: &[Table]) -> Result<DataFrame> {
    let (mut t, mut tt, mut code, mut name, mut col, mut col_en, mut unit, mut val) =
        (vec![], vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    for tab in tables {
        for r in &tab.rows {
            for (c, v) in tab.columns.iter().zip(&r.values) {
                t.push(tab.id.clone());
                tt.push(tab.title.clone());
                code.push(r.code.clone());
                name.push(r.name.clone());
                col.push(c.zh.clone());
                col_en.push(c.en.clone());
                unit.push(c.unit.clone());
                val.push(*v);
            }
        }
    }
    DataFrame::new(vec![
        Column::new("table".into(), t),
        Column::new("table_title".into(), tt),
        Column::new("code".into(), code),
        Column::new("name".into(), name),
        Column::new("column".into(), col),
        Column::new("column_en".into(), col_en),
        Column::new("unit".into(), unit),
        Column::new("value".into(), val),
    ])
    .map_err(|e| Error::Invalid(format!("building the table frame: {e}")))
}

/// Write the tables as tidy CSV to any writer.
pub fn write_csv<W: std::io::Write>(tables: &[Table], out: W) -> Result<()> {
    let mut df = tidy(tables)?;
    CsvWriter::new(out).include_header(true).finish(&mut df).map_err(|e| Error::Invalid(format!("writing CSV: {e}")))
}

/// Write the tables as tidy Parquet.
pub fn write_parquet(tables: &[Table], out: &Path) -> Result<()> {
    let mut df = tidy(tables)?;
    super::output::write_through(out, |tmp| {
        let f = std::fs::File::create(tmp).map_err(|e| Error::io(tmp, e))?;
        ParquetWriter::new(f).finish(&mut df).map(|_| ()).map_err(|e| polars_err(out, e))
    })
}

/// Write a workbook: first a sheet of `about` (key, value) lines, then one sheet per table. Its creation
/// date is `date` (the report's closing date), not the current time: the same tables and date give the
/// same bytes.
pub fn write_xlsx(tables: &[Table], about: &[(String, String)], date: &str, out: &Path) -> Result<()> {
    let xe = |e: rust_xlsxwriter::XlsxError| Error::Invalid(format!("{}: {e}", out.display()));
    let bad = |e: String| Error::Invalid(format!("{}: the workbook's date '{date}': {e}", out.display()));
    let day = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|e| bad(e.to_string()))?;
    let day = rust_xlsxwriter::ExcelDateTime::from_ymd(day.year() as u16, day.month() as u8, day.day() as u8)
        .map_err(|e| bad(e.to_string()))?;
    let mut wb = Workbook::new();
    wb.set_properties(&rust_xlsxwriter::DocProperties::new().set_creation_datetime(&day));
    let title = Format::new().set_bold().set_font_size(13);
    let head = Format::new()
        .set_bold()
        .set_align(FormatAlign::Center)
        .set_border(FormatBorder::Thin)
        .set_background_color("#DDEBF7")
        .set_text_wrap();
    let head_en = Format::new()
        .set_italic()
        .set_align(FormatAlign::Center)
        .set_border(FormatBorder::Thin)
        .set_font_color("#555555")
        .set_text_wrap();
    let text = Format::new().set_border(FormatBorder::Thin);
    {
        let ws = wb.add_worksheet().set_name("说明 About").map_err(xe)?;
        ws.write_with_format(0, 0, "自然资源资产负债表 Natural resource asset balance sheet", &title).map_err(xe)?;
        for (i, (k, v)) in about.iter().enumerate() {
            ws.write(i as u32 + 2, 0, k).map_err(xe)?;
            ws.write(i as u32 + 2, 1, v).map_err(xe)?;
        }
        ws.set_column_width(0, 28).map_err(xe)?;
        ws.set_column_width(1, 90).map_err(xe)?;
    }
    for t in tables {
        let ws = wb.add_worksheet().set_name(sheet_name(&t.title)).map_err(xe)?;
        ws.write_with_format(0, 0, format!("{} {}", t.title, t.title_en), &title).map_err(xe)?;
        let heads = [(&t.code_header.zh, &t.code_header.en), (&t.name_header.zh, &t.name_header.en)];
        for (c, (zh, en)) in heads.iter().enumerate() {
            ws.write_with_format(2, c as u16, zh.as_str(), &head).map_err(xe)?;
            ws.write_with_format(3, c as u16, en.as_str(), &head_en).map_err(xe)?;
        }
        for (k, c) in t.columns.iter().enumerate() {
            let col = k as u16 + 2;
            let unit = if c.unit.is_empty() { String::new() } else { format!("（{}）", c.unit) };
            ws.write_with_format(2, col, format!("{}{unit}", c.zh), &head).map_err(xe)?;
            ws.write_with_format(3, col, c.en.as_str(), &head_en).map_err(xe)?;
            ws.set_column_width(col, 14).map_err(xe)?;
        }
        ws.set_column_width(0, 10).map_err(xe)?;
        ws.set_column_width(1, 26).map_err(xe)?;
        let formats: Vec<Format> = t
            .columns
            .iter()
            .map(|c| {
                Format::new().set_border(FormatBorder::Thin).set_num_format(if c.decimals == 0 {
                    "#,##0".to_string()
                } else {
                    format!("#,##0.{}", "0".repeat(c.decimals))
                })
            })
            .collect();
        for (i, r) in t.rows.iter().enumerate() {
            let row = i as u32 + 4;
            ws.write_with_format(row, 0, r.code.as_str(), &text).map_err(xe)?;
            ws.write_with_format(row, 1, r.name.as_str(), &text).map_err(xe)?;
            for (k, v) in r.values.iter().enumerate() {
                match v {
                    Some(x) => ws.write_number_with_format(row, k as u16 + 2, *x, &formats[k]).map_err(xe)?,
                    None => ws.write_with_format(row, k as u16 + 2, "—", &text).map_err(xe)?,
                };
            }
        }
        for (k, n) in t.notes.iter().enumerate() {
            ws.write(t.rows.len() as u32 + 5 + k as u32, 0, format!("注: {n}")).map_err(xe)?;
        }
        ws.set_freeze_panes(4, 2).map_err(xe)?;
    }
    super::output::write_through(out, |tmp| wb.save(tmp).map_err(xe))
}

/// An Excel sheet name: at most 31 characters, none of `[]:*?/\`.
fn sheet_name(title: &str) -> String {
    title.chars().filter(|c| !"[]:*?/\\".contains(*c)).take(31).collect()
}
