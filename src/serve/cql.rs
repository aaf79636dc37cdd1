//! CQL2 filters (OGC API – Features Part 3): `filter=` in cql2-text (the default) or cql2-json
//! (`filter-lang`), parsed by the `cql2` crate and turned into a [`Condition`] the store writes as SQL.
//! Offered: Basic CQL2 (`=`, `<>`, `<`, `<=`, `>`, `>=`, `AND`, `OR`, `NOT`, `IS NULL`) and the advanced
//! comparison operators (`LIKE`, `BETWEEN`, `IN`) on the collection's queryables. Anything else (spatial
//! and temporal operators, functions, arithmetic, one property compared with another) is a 400 that
//! names it, as is a property that is not queryable or a value its field cannot hold.

use cql2::Expr;

use super::problem::{clip, ApiError};
use crate::catalog::{FieldDef, LayerDef};
use crate::model::{FieldType, Value};
use crate::store::{Compare, Condition};

/// The conformance classes of the filters offered.
pub const CONFORMANCE: &[&str] = &[
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
];

fn bad(why: impl Into<String>) -> ApiError {
    ApiError::bad("filter", why.into())
}

/// The condition a `filter` (in `lang`, cql2-text when absent) states over `queryable`, the fields of
/// `def` that can be filtered by.
pub fn condition(
    filter: &str,
    lang: Option<&str>,
    def: &LayerDef,
    queryable: &[&FieldDef],
) -> Result<Condition, ApiError> {
    let expr = match lang.map(str::trim) {
        None | Some("cql2-text") => cql2::parse_text(filter).map_err(|e| e.to_string()),
        Some("cql2-json") => cql2::parse_json(filter).map_err(|e| e.to_string()),
        Some(other) => {
            return Err(ApiError::bad(
                "filter-lang",
                format!("filter-lang '{}' is not offered; use cql2-text or cql2-json", clip(other)),
            ))
        }
    }
    .map_err(|e| bad(format!("'{}' is not CQL2 this server reads: {}", clip(filter), clip(&first_line(&e)))))?;
    Translate { def, queryable }.condition(&expr)
}

fn first_line(s: &str) -> String {
    s.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")
}

struct Translate<'a> {
    def: &'a LayerDef,
    queryable: &'a [&'a FieldDef],
}

impl Translate<'_> {
    fn condition(&self, e: &Expr) -> Result<Condition, ApiError> {
        let Expr::Operation { op, args } = e else {
            return match e {
                Expr::Bool(b) => Ok(Condition::Constant(*b)),
                other => Err(bad(format!("'{}' is not a condition", clip(&text(other))))),
            };
        };
        let arg = |i: usize| args.get(i).map(|a| a.as_ref()).ok_or_else(|| bad(format!("{op} lacks an operand")));
        Ok(match op.as_str() {
            "and" => Condition::All(args.iter().map(|a| self.condition(a)).collect::<Result<_, _>>()?),
            "or" => Condition::Any(args.iter().map(|a| self.condition(a)).collect::<Result<_, _>>()?),
            "not" => Condition::Not(Box::new(self.condition(arg(0)?)?)),
            "isNull" => Condition::IsNull(self.field(arg(0)?)?.name.clone()),
            "=" | "<>" | "<" | "<=" | ">" | ">=" => {
                let (field, value, flipped) = match (self.field(arg(0)?), self.field(arg(1)?)) {
                    (Ok(f), Err(_)) => (f, arg(1)?, false),
                    (Err(_), Ok(f)) => (f, arg(0)?, true),
                    (Ok(_), Ok(_)) => return Err(bad("comparing one property with another is not offered")),
                    (Err(e), Err(_)) => return Err(e),
                };
                Condition::Compare(field.name.clone(), compare(op, flipped), self.value(field, value)?)
            }
            "like" => {
                let field = self.field(arg(0)?)?;
                match arg(1)? {
                    Expr::Literal(p)
                        if field.field_type != FieldType::Integer && field.field_type != FieldType::Real =>
                    {
                        Condition::Like(field.name.clone(), p.clone())
                    }
                    _ => return Err(bad(format!("LIKE takes a text field and a quoted pattern ({})", field.name))),
                }
            }
            "between" => {
                let field = self.field(arg(0)?)?;
                Condition::Between(field.name.clone(), self.value(field, arg(1)?)?, self.value(field, arg(2)?)?)
            }
            "in" => {
                let field = self.field(arg(0)?)?;
                let Expr::Array(items) = arg(1)? else { return Err(bad("IN takes a list of values in parentheses")) };
                Condition::In(field.name.clone(), items.iter().map(|v| self.value(field, v)).collect::<Result<_, _>>()?)
            }
            other => {
                return Err(bad(format!(
                    "the operator or function '{}' is not offered (Basic CQL2 with LIKE, BETWEEN and IN)",
                    clip(other)
                )))
            }
        })
    }

    /// The queryable field a property names.
    fn field(&self, e: &Expr) -> Result<&FieldDef, ApiError> {
        let Expr::Property { property } = e else {
            return Err(bad(format!("'{}' is not a property", clip(&text(e)))));
        };
        self.queryable.iter().copied().find(|f| &f.name == property).ok_or_else(|| {
            bad(format!(
                "'{}' is not a queryable property of {} (see its queryables)",
                clip(property),
                self.def.kind.name()
            ))
        })
    }

    /// A literal as a value `field` can hold.
    fn value(&self, field: &FieldDef, e: &Expr) -> Result<Value, ApiError> {
        let name = &field.name;
        match (field.field_type, e) {
            (_, Expr::Null) => Ok(Value::Null),
            (FieldType::Integer | FieldType::Real, Expr::Float(x)) if x.is_finite() => {
                Ok(if field.field_type == FieldType::Integer && x.fract() == 0.0 && x.abs() < 9e15 {
                    Value::Int(*x as i64)
                } else {
                    Value::Real(*x)
                })
            }
            (FieldType::Text, Expr::Literal(t)) => Ok(Value::Text(t.clone())),
            (FieldType::Date, Expr::Literal(t)) => date(name, t),
            (FieldType::Date, Expr::Date { date: d }) => match d.as_ref() {
                Expr::Literal(t) => date(name, t),
                other => Err(bad(format!("{name}: '{}' is not a date", clip(&text(other))))),
            },
            (FieldType::Text | FieldType::Date, Expr::Float(x)) => Err(bad(format!(
                "{name} holds text: write the value in quotes ('{x}'), as codes such as DLBM keep their leading zeros"
            ))),
            (_, other) => Err(bad(format!("{name} cannot hold '{}'", clip(&text(other))))),
        }
    }
}

fn date(field: &str, t: &str) -> Result<Value, ApiError> {
    chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .map(|_| Value::Text(t.to_string()))
        .map_err(|_| bad(format!("{field}: '{}' is not a date (YYYY-MM-DD)", clip(t))))
}

/// The comparison `op`, its sides exchanged when the value came first (`5 < TBMJ`).
fn compare(op: &str, flipped: bool) -> Compare {
    match (op, flipped) {
        ("=", _) => Compare::Eq,
        ("<>", _) => Compare::Ne,
        ("<", false) | (">", true) => Compare::Lt,
        ("<=", false) | (">=", true) => Compare::Le,
        ("<", true) | (">", false) => Compare::Gt,
        _ => Compare::Ge,
    }
}

fn text(e: &Expr) -> String {
    e.to_text().unwrap_or_else(|_| format!("{e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parcels() -> LayerDef {
        crate::catalog::Catalog::embedded().unwrap().layer(crate::model::LayerKind::Parcels).clone()
    }

    fn cond(f: &str) -> Result<Condition, ApiError> {
        let def = parcels();
        let q: Vec<&FieldDef> = def.fields.iter().collect();
        condition(f, None, &def, &q)
    }

    #[test]
    fn basic_cql2_becomes_a_condition_and_the_rest_is_refused() {
        let c = cond("DLBM = '0103' AND NOT (QSXZ <> '20') OR TBMJ BETWEEN 1 AND 2.5").unwrap();
        let Condition::Any(parts) = &c else { panic!("{c:?}") };
        assert_eq!(parts.len(), 2);
        assert_eq!(cond("5 < TBMJ").unwrap(), Condition::Compare("TBMJ".into(), Compare::Gt, Value::Real(5.0)));
        assert_eq!(cond("DLMC LIKE '水%'").unwrap(), Condition::Like("DLMC".into(), "水%".into()));
        assert!(matches!(cond("DLBM IN ('0101','0102')").unwrap(), Condition::In(_, v) if v.len() == 2));
        assert!(matches!(cond("DLBM IS NOT NULL").unwrap(), Condition::Not(_)));
        for refused in [
            "DLBM = 0103",
            "NOSUCH = 'a'",
            "DLBM = DLMC",
            "S_INTERSECTS(geom, POINT(1 2))",
            "casei(DLMC) = 'a'",
            "TBMJ + 1 > 2",
            "DLBM = '",
            "'; DROP TABLE parcels; --",
        ] {
            let e = cond(refused).err().unwrap_or_else(|| panic!("{refused} was taken"));
            assert_eq!(e.status(), axum::http::StatusCode::BAD_REQUEST, "{refused}");
        }
    }
}
