//! The attribute stage of an import: map source fields to the layer's fields through the profile, then
//! coerce and check every value (type, required, range, pattern, code tables).

use crate::catalog::{ClassTables, FieldSource, LayerDef, Profile};
use crate::error::{Error, Result};
use crate::io::source::SourceInfo;
use crate::model::{FieldType, Value};

pub(super) type Mapping = Vec<Option<(usize, FieldSource)>>;

/// Column index standing for the pseudo-field `@fid`: the source feature id (or position when the format
/// has no feature ids), for sources that carry no key of their own.
pub(super) const FID_COLUMN: usize = usize::MAX;

/// The raw value of a mapped column for a feature.
pub(super) fn raw_value(f: &crate::io::source::SourceFeature, column: usize) -> Value {
    if column == FID_COLUMN {
        Value::Int(f.fid.map(|x| x as i64).unwrap_or(f.index as i64))
    } else {
        f.values[column].clone()
    }
}

/// For each layer field, the source column it comes from. A required field with no source column is an
/// error for the whole source (every record would fail).
pub(super) fn map_fields(src: &SourceInfo, def: &LayerDef, profile: &Profile) -> Result<Mapping> {
    let lower: Vec<String> = src.field_names.iter().map(|n| n.to_lowercase()).collect();
    let mut out = Vec::with_capacity(def.fields.len());
    let mut missing = Vec::new();
    for f in &def.fields {
        let cands = profile.fields.get(&f.name);
        let found = cands.and_then(|cs| {
            cs.iter().find_map(|c| {
                if c.field() == "@fid" {
                    return Some((FID_COLUMN, c.clone()));
                }
                lower.iter().position(|n| *n == c.field().to_lowercase()).map(|i| (i, c.clone()))
            })
        });
        if found.is_none() && f.required {
            let looked: Vec<&str> = cands.map(|cs| cs.iter().map(FieldSource::field).collect()).unwrap_or_default();
            missing.push(format!("{} {} (looked for {})", f.name, f.title, looked.join(", ")));
        }
        out.push(found);
    }
    if !missing.is_empty() {
        return Err(Error::Invalid(format!(
            "{}: layer {}: no source field for required {}; source fields are: {} (use --profile or a profile file to map them)",
            src.path.display(),
            src.layer,
            missing.join("; "),
            src.field_names.join(", ")
        )));
    }
    Ok(out)
}

pub(super) fn rewrite(v: &Value, how: &FieldSource) -> Value {
    match (how, v) {
        (FieldSource::Rewrite { strip_prefix: Some(p), .. }, Value::Text(s)) => {
            Value::Text(s.strip_prefix(p.as_str()).unwrap_or(s).to_string())
        }
        _ => v.clone(),
    }
}

/// Coerce and check one value against its field definition.
pub(super) fn check_value(
    def: &LayerDef,
    i: usize,
    v: Value,
    classes: &ClassTables,
) -> std::result::Result<Value, String> {
    let fd = &def.fields[i];
    let v = match v {
        Value::Text(s) if s.trim().is_empty() => Value::Null,
        Value::Text(s) => Value::Text(s.trim().to_string()),
        other => other,
    };
    if matches!(v, Value::Null) {
        return if fd.required { Err("required value is missing".into()) } else { Ok(Value::Null) };
    }
    let v = match fd.field_type {
        FieldType::Text => match v {
            Value::Real(r) if r.fract() == 0.0 && r.abs() < 1e15 => Value::Text(format!("{}", r as i64)),
            other => Value::Text(other.to_string()),
        },
        FieldType::Integer => match v {
            Value::Int(i) => Value::Int(i),
            Value::Real(r) if r.fract() == 0.0 => Value::Int(r as i64),
            Value::Text(s) => Value::Int(s.parse::<i64>().map_err(|_| format!("expected an integer, found '{s}'"))?),
            other => return Err(format!("expected an integer, found {other}")),
        },
        FieldType::Real => match v {
            Value::Int(i) => Value::Real(i as f64),
            Value::Real(r) => Value::Real(r),
            Value::Text(s) => Value::Real(
                s.parse::<f64>()
                    .ok()
                    .filter(|r| r.is_finite())
                    .ok_or_else(|| format!("expected a number, found '{s}'"))?,
            ),
            Value::Null => Value::Null,
        },
        FieldType::Date => {
            let s = v.to_string();
            let d = s.get(..10).unwrap_or(&s).replace('/', "-");
            crate::model::parse_date(&d).map_err(|e| format!("expected a date: {e}"))?;
            Value::Text(d)
        }
    };
    if let (Some(min), Some(x)) = (fd.min, v.as_f64()) {
        if x < min {
            return Err(format!("{x} is below the minimum {min}"));
        }
    }
    if let (Some(max), Some(x)) = (fd.max, v.as_f64()) {
        if x > max {
            return Err(format!("{x} is above the maximum {max}"));
        }
    }
    if let Some(s) = v.as_str() {
        let max = fd.max_length.unwrap_or(crate::catalog::FieldDef::TEXT_MAX);
        let n = s.chars().count();
        if n > max {
            let head: String = s.chars().take(24).collect();
            return Err(format!("'{head}…' is {n} characters long; {} holds at most {max}", fd.name));
        }
    }
    if let (Some(re), Some(s)) = (&def.patterns[i], v.as_str()) {
        if !re.is_match(s) {
            return Err(format!("'{s}' does not match the pattern {}", re.as_str()));
        }
    }
    if let (Some(table), Some(s)) = (&fd.codes, v.as_str()) {
        let t = classes.table(table).expect("checked at load");
        return match t.normalise(s) {
            Some(code) => Ok(Value::Text(code.to_string())),
            None => {
                let mut msg = format!("unknown code '{s}' (not in the {table} table)");
                let padded = format!("0{s}");
                if t.normalise(&padded).is_some() {
                    msg.push_str(&format!("; did you mean '{padded}'? (a leading zero may have been lost)"));
                }
                Err(msg)
            }
        };
    }
    Ok(v)
}
