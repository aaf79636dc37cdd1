//! The formulas of an indicator system (`value = "100 * land[03] / region.area"`): numbers, named cells,
//! `+ - * /`, parentheses and the functions `or` (the first argument with data), `min` and `max`.
//!
//! A formula is parsed once, when the system is loaded, so a misspelt cell or an unbalanced bracket is
//! refused before anything is computed; it is evaluated for each period against a [`Cells`] source, and a
//! cell without data (or a division by zero) makes the whole value "no data" rather than a number.

use std::fmt;

/// A named cell: `namespace(.part)*([key, key])?(.part)*`, e.g. `findings[NR601].area`.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// The dotted name with the keys left out: `findings.area`, `land`, `land.8class`.
    pub path: Vec<String>,
    /// The bracketed keys, if any.
    pub keys: Vec<String>,
    /// Where the keys stood (index into `path` before which they were written).
    pub keys_at: usize,
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let before = self.path[..self.keys_at].join(".");
        let after: String = self.path[self.keys_at..].iter().map(|p| format!(".{p}")).collect();
        if self.keys.is_empty() {
            write!(f, "{before}{after}")
        } else {
            write!(f, "{before}[{}]{after}", self.keys.join(","))
        }
    }
}

/// A parsed formula.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A number.
    Num(f64),
    /// A named cell.
    Cell(Cell),
    /// A binary operation.
    Op(char, Box<Expr>, Box<Expr>),
    /// Negation.
    Neg(Box<Expr>),
    /// `or`, `min` or `max` over its arguments.
    Call(String, Vec<Expr>),
}

/// Where cell values come from: `Ok(None)` means the cell has no data (for that period).
pub trait Cells {
    /// The value of `cell`.
    fn get(&self, cell: &Cell) -> Option<f64>;
}

impl Expr {
    /// Parse a formula; the error says what was expected where.
    pub fn parse(text: &str) -> Result<Expr, String> {
        let mut p = Parser { s: text.chars().collect(), i: 0 };
        let e = p.expr()?;
        p.ws();
        if p.i < p.s.len() {
            return Err(format!("unexpected '{}' at character {}", p.s[p.i], p.i + 1));
        }
        Ok(e)
    }

    /// Every cell the formula names, in order.
    pub fn cells(&self) -> Vec<&Cell> {
        let mut out = Vec::new();
        self.visit(&mut |c| out.push(c));
        out
    }

    fn visit<'a>(&'a self, f: &mut impl FnMut(&'a Cell)) {
        match self {
            Expr::Num(_) => {}
            Expr::Cell(c) => f(c),
            Expr::Op(_, a, b) => {
                a.visit(f);
                b.visit(f);
            }
            Expr::Neg(a) => a.visit(f),
            Expr::Call(_, args) => args.iter().for_each(|a| a.visit(f)),
        }
    }

    /// The value, or None when a cell it needs has no data or a divisor is zero.
    pub fn eval(&self, cells: &dyn Cells) -> Option<f64> {
        match self {
            Expr::Num(x) => Some(*x),
            Expr::Cell(c) => cells.get(c),
            Expr::Neg(a) => a.eval(cells).map(|x| -x),
            Expr::Op(op, a, b) => {
                let (a, b) = (a.eval(cells)?, b.eval(cells)?);
                match op {
                    '+' => Some(a + b),
                    '-' => Some(a - b),
                    '*' => Some(a * b),
                    _ => (b != 0.0).then(|| a / b),
                }
            }
            Expr::Call(f, args) => {
                let mut vals = args.iter().map(|a| a.eval(cells));
                match f.as_str() {
                    "or" => vals.flatten().next(),
                    "min" => vals.try_fold(f64::INFINITY, |m, v| v.map(|v| m.min(v))),
                    _ => vals.try_fold(f64::NEG_INFINITY, |m, v| v.map(|v| m.max(v))),
                }
            }
        }
    }
}

struct Parser {
    s: Vec<char>,
    i: usize,
}

const FUNCTIONS: [&str; 3] = ["or", "min", "max"];

impl Parser {
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(|c| c.is_whitespace()) {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<char> {
        self.ws();
        self.s.get(self.i).copied()
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        match self.peek() {
            Some(x) if x == c => {
                self.i += 1;
                Ok(())
            }
            Some(x) => Err(format!("expected '{c}' at character {}, found '{x}'", self.i + 1)),
            None => Err(format!("expected '{c}' at the end")),
        }
    }

    fn expr(&mut self) -> Result<Expr, String> {
        let mut e = self.term()?;
        while let Some(op @ ('+' | '-')) = self.peek() {
            self.i += 1;
            e = Expr::Op(op, Box::new(e), Box::new(self.term()?));
        }
        Ok(e)
    }

    fn term(&mut self) -> Result<Expr, String> {
        let mut e = self.factor()?;
        while let Some(op @ ('*' | '/')) = self.peek() {
            self.i += 1;
            e = Expr::Op(op, Box::new(e), Box::new(self.factor()?));
        }
        Ok(e)
    }

    fn factor(&mut self) -> Result<Expr, String> {
        match self.peek() {
            Some('(') => {
                self.i += 1;
                let e = self.expr()?;
                self.expect(')')?;
                Ok(e)
            }
            Some('-') => {
                self.i += 1;
                Ok(Expr::Neg(Box::new(self.factor()?)))
            }
            Some(c) if c.is_ascii_digit() || c == '.' => self.number(),
            Some(c) if c.is_alphabetic() || c == '_' => self.cell_or_call(),
            Some(c) => Err(format!("unexpected '{c}' at character {}", self.i + 1)),
            None => Err("a number, a cell or '(' expected at the end".into()),
        }
    }

    fn number(&mut self) -> Result<Expr, String> {
        let start = self.i;
        while self.s.get(self.i).is_some_and(|c| c.is_ascii_digit() || *c == '.' || *c == 'e') {
            self.i += 1;
        }
        let t: String = self.s[start..self.i].iter().collect();
        t.parse().map(Expr::Num).map_err(|_| format!("'{t}' at character {} is not a number", start + 1))
    }

    fn ident(&mut self) -> Result<String, String> {
        self.ws();
        let start = self.i;
        while self.s.get(self.i).is_some_and(|c| c.is_alphanumeric() || *c == '_') {
            self.i += 1;
        }
        if start == self.i {
            return Err(format!("a name expected at character {}", start + 1));
        }
        Ok(self.s[start..self.i].iter().collect())
    }

    fn cell_or_call(&mut self) -> Result<Expr, String> {
        let first = self.ident()?;
        if self.s.get(self.i) == Some(&'(') {
            if !FUNCTIONS.contains(&first.as_str()) {
                return Err(format!("unknown function '{first}' (functions: {})", FUNCTIONS.join(", ")));
            }
            self.i += 1;
            let mut args = vec![self.expr()?];
            while self.peek() == Some(',') {
                self.i += 1;
                args.push(self.expr()?);
            }
            self.expect(')')?;
            return Ok(Expr::Call(first, args));
        }
        let mut cell = Cell { path: vec![first], keys: vec![], keys_at: 0 };
        loop {
            match self.s.get(self.i) {
                Some('.') => {
                    self.i += 1;
                    cell.path.push(self.ident()?);
                }
                Some('[') if cell.keys.is_empty() => {
                    self.i += 1;
                    cell.keys_at = cell.path.len();
                    cell.keys = self.keys()?;
                }
                _ => break,
            }
        }
        if cell.keys.is_empty() {
            cell.keys_at = cell.path.len();
        }
        Ok(Expr::Cell(cell))
    }

    fn keys(&mut self) -> Result<Vec<String>, String> {
        let start = self.i;
        while self.s.get(self.i).is_some_and(|c| *c != ']') {
            self.i += 1;
        }
        if self.i == self.s.len() {
            return Err(format!("'[' at character {start} is not closed"));
        }
        let inner: String = self.s[start..self.i].iter().collect();
        self.i += 1;
        let keys: Vec<String> = inner.split(',').map(|k| k.trim().to_string()).collect();
        if keys.iter().any(String::is_empty) {
            return Err(format!("an empty key in '[{inner}]'"));
        }
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed;
    impl Cells for Fixed {
        fn get(&self, c: &Cell) -> Option<f64> {
            match (c.path.join(".").as_str(), c.keys.join(",").as_str()) {
                ("land", "03") => Some(30.0),
                ("land", "01,02") => Some(12.0),
                ("region.area", "") => Some(120.0),
                ("findings.area", "NR601") => Some(0.5),
                _ => None,
            }
        }
    }

    fn v(s: &str) -> Option<f64> {
        Expr::parse(s).unwrap().eval(&Fixed)
    }

    #[test]
    fn arithmetic_cells_and_precedence() {
        assert_eq!(v("100 * land[03] / region.area"), Some(25.0));
        assert_eq!(v("land[01, 02] + 2 * 3"), Some(18.0));
        assert_eq!(v("(land[01,02] + 2) * 3"), Some(42.0));
        assert_eq!(v("-findings[NR601].area * 2"), Some(-1.0));
        assert_eq!(v("1.5e2"), Some(150.0));
        let e = Expr::parse("findings[NR601].area").unwrap();
        assert_eq!(e.cells()[0].to_string(), "findings[NR601].area");
        assert_eq!(e.cells()[0].path, vec!["findings", "area"]);
    }

    #[test]
    fn missing_data_and_zero_divisors_give_no_value() {
        assert_eq!(v("land[04] + 1"), None);
        assert_eq!(v("land[03] / (region.area - 120)"), None);
        assert_eq!(v("or(land[04], land[03])"), Some(30.0));
        assert_eq!(v("max(land[03], region.area)"), Some(120.0));
        assert_eq!(v("min(land[03], land[04])"), None);
    }

    #[test]
    fn bad_formulas_say_where() {
        for (f, want) in [
            ("land[03", "not closed"),
            ("(1 + 2", "expected ')'"),
            ("1 +", "at the end"),
            ("sum(1)", "unknown function 'sum'"),
            ("land[03] land[01]", "unexpected 'l' at character 10"),
            ("land[]", "empty key"),
            ("3 # 4", "unexpected '#'"),
        ] {
            let e = Expr::parse(f).unwrap_err();
            assert!(e.contains(want), "{f}: {e}");
        }
    }
}
