//! A condition on a record's fields, as a read can be restricted by (the service's CQL2 filters): a tree of
//! comparisons the store writes as SQL itself — column names from the layer's definition, values quoted by
//! it — so no text from a request reaches SQLite as SQL.

use crate::catalog::LayerDef;
use crate::model::Value;

/// How a field is compared with a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Compare {
    fn sql(self) -> &'static str {
        match self {
            Compare::Eq => "=",
            Compare::Ne => "<>",
            Compare::Lt => "<",
            Compare::Le => "<=",
            Compare::Gt => ">",
            Compare::Ge => ">=",
        }
    }
}

/// A condition on fields of one layer (named as its definition names them).
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// Always (or never) true.
    Constant(bool),
    /// All of them.
    All(Vec<Condition>),
    /// Any of them.
    Any(Vec<Condition>),
    /// Not this one.
    Not(Box<Condition>),
    /// A field compared with a value.
    Compare(String, Compare, Value),
    /// A field matching a pattern: `%` any run of characters, `_` one, `\` makes the next one literal
    /// (CQL2's `LIKE`, case-sensitive).
    Like(String, String),
    /// A field holding one of the values.
    In(String, Vec<Value>),
    /// A field from the first value to the second, both included.
    Between(String, Value, Value),
    /// A field without a value.
    IsNull(String),
}

/// A value as an SQL literal.
fn literal(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Int(n) => n.to_string(),
        Value::Real(x) if x.is_finite() => format!("{x:?}"),
        Value::Real(_) => "NULL".into(),
        Value::Text(t) => format!("'{}'", t.replace('\'', "''")),
    }
}

/// A CQL2 `LIKE` pattern as an SQLite `GLOB` pattern (which, unlike SQLite's `LIKE`, is case-sensitive).
fn glob(pattern: &str) -> String {
    let mut out = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '%' => out.push('*'),
            '_' => out.push('?'),
            '\\' => match chars.next() {
                Some(n) => push_literal(&mut out, n),
                None => push_literal(&mut out, '\\'),
            },
            c => push_literal(&mut out, c),
        }
    }
    out
}

fn push_literal(out: &mut String, c: char) {
    match c {
        '*' | '?' | '[' => {
            out.push('[');
            out.push(c);
            out.push(']');
        }
        c => out.push(c),
    }
}

impl Condition {
    /// `field` equal to `value`.
    pub fn equal(field: &str, value: Value) -> Condition {
        Condition::Compare(field.to_string(), Compare::Eq, value)
    }

    /// The condition as an SQL expression over the layer's table. A field the layer does not have makes
    /// its comparison false.
    pub fn sql(&self, def: &LayerDef) -> String {
        let col = |name: &str| {
            def.fields.iter().find(|f| f.name == name).map(|f| format!("\"{}\"", f.name.replace('"', "\"\"")))
        };
        let on = |name: &str, then: &dyn Fn(String) -> String| col(name).map_or("0".to_string(), then);
        let join = |parts: &[Condition], op: &str, empty: &str| {
            if parts.is_empty() {
                return empty.to_string();
            }
            let each: Vec<String> = parts.iter().map(|p| format!("({})", p.sql(def))).collect();
            each.join(op)
        };
        match self {
            Condition::Constant(b) => if *b { "1" } else { "0" }.into(),
            Condition::All(parts) => join(parts, " AND ", "1"),
            Condition::Any(parts) => join(parts, " OR ", "0"),
            Condition::Not(c) => format!("NOT ({})", c.sql(def)),
            Condition::Compare(f, op, v) => on(f, &|c| format!("{c} {} {}", op.sql(), literal(v))),
            Condition::Like(f, p) => on(f, &|c| format!("{c} GLOB {}", literal(&Value::Text(glob(p))))),
            Condition::In(f, vs) if vs.is_empty() => on(f, &|_| "0".into()),
            Condition::In(f, vs) => {
                let list: Vec<String> = vs.iter().map(literal).collect();
                on(f, &|c| format!("{c} IN ({})", list.join(", ")))
            }
            Condition::Between(f, lo, hi) => on(f, &|c| format!("{c} BETWEEN {} AND {}", literal(lo), literal(hi))),
            Condition::IsNull(f) => on(f, &|c| format!("{c} IS NULL")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_become_case_sensitive_globs_with_their_escapes() {
        assert_eq!(glob("水%"), "水*");
        assert_eq!(glob("01_3"), "01?3");
        assert_eq!(glob(r"50\%"), "50%");
        assert_eq!(glob(r"a\_b*[c]?"), "a_b[*][[]c][?]");
        assert_eq!(literal(&Value::Text("it's".into())), "'it''s'");
    }
}
