//! md is a thin wrapper over module `mrun:table`, the chunked table operations built into
//! every mrun process and worker (docs/tables.md), as [`crate::mt`] is over `mrun:tensor`: it
//! builds an expression, the map that function `eval` of `mrun:table` takes, and evaluates it
//! by spawning `eval` from the running function, like Mars's `md` inside a spawned function:
//!
//! ```ignore
//! let sums = mrun::md::table(&t).groupby(&["city"], &[mrun::md::agg("amount", "sum")]).table()?;
//! ```
//!
//! Each method is one operator of the planner, with its fields; [`Expr::with`] sets any
//! other field, such as `"chunk_rows"` of a source.

use crate::codec::{DecodeOwned, Encode, Writer};
use crate::error::Error;
use crate::spawn::{Object, Task};
use crate::table::Table;
use crate::value::Value;

/// The module of the planner.
pub const MODULE: &str = "mrun:table";
/// The function of the planner.
pub const FUNC: &str = "eval";

/// Expr is a lazy table expression: the input of another expression, or the argument of
/// `eval`. Methods build bigger expressions and compute nothing; [`Expr::spawn`],
/// [`Expr::eval`] and [`Expr::table`] evaluate it.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr(Value);

/// Agg is one aggregation of a group-by: a column, a function (`sum`, `mean`, `count`,
/// `min` or `max`) and, optionally, the name of the result column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Agg {
    column: String,
    func: String,
    name: Option<String>,
}

/// agg is the aggregation `func` of `column`, named `column_func` in the result.
pub fn agg(column: &str, func: &str) -> Agg {
    Agg { column: column.to_owned(), func: func.to_owned(), name: None }
}

impl Agg {
    /// named is the aggregation with its result column named `name`.
    pub fn named(mut self, name: &str) -> Agg {
        self.name = Some(name.to_owned());
        self
    }
}

fn strs(v: &[&str]) -> Value {
    Value::Array(v.iter().map(|&s| s.into()).collect())
}

/// op makes the expression `{"op": name, fields…}`, keys in canonical order: any operator
/// the planner accepts, with any fields.
pub fn op(name: &str, fields: Vec<(&str, Value)>) -> Expr {
    Expr(crate::mt::op(name, fields).into_value())
}

/// table is the source whose value is `t`; the planner cuts it into chunks of
/// `chunk_rows` rows (65,536 unless set with [`Expr::with`]).
pub fn table(t: &Table<'_>) -> Expr {
    op("table", vec![("value", Value::Table(t.clone().into_owned()))])
}

/// read_csv is the table of CSV text `data`: a header row, then records; column types are
/// inferred as pandas does unless set with `.with("types", …)`.
pub fn read_csv(data: &str) -> Expr {
    op("read_csv", vec![("data", data.into())])
}

impl Expr {
    /// from_value is the expression `v`, a map with an `"op"`.
    pub fn from_value(v: Value) -> Expr {
        Expr(v)
    }

    /// value is the expression as a MessagePack value.
    pub fn value(&self) -> &Value {
        &self.0
    }

    /// with is the expression with field `key` set to `value`, such as `"chunk_rows"` of a
    /// source or `"partitions"` of a join.
    pub fn with(&self, key: &str, value: impl Into<Value>) -> Expr {
        Expr(crate::mt::Expr::from_value(self.0.clone()).with(key, value).into_value())
    }

    fn on(&self, name: &str, mut fields: Vec<(&str, Value)>) -> Expr {
        fields.push(("x", self.0.clone()));
        op(name, fields)
    }

    /// select is the columns named, in that order.
    pub fn select(&self, columns: &[&str]) -> Expr {
        self.on("select", vec![("columns", strs(columns))])
    }

    /// filter is the rows where condition `cond` is true, such as `"amount > 4 and city !=
    /// 'Oslo'"`.
    pub fn filter(&self, cond: &str) -> Expr {
        self.on("filter", vec![("where", cond.into())])
    }

    /// assign is the table with column `name` set to the value of arithmetic `expr`, such
    /// as `"price * qty"`.
    pub fn assign(&self, name: &str, expr: &str) -> Expr {
        self.on("assign", vec![("name", name.into()), ("expr", expr.into())])
    }

    /// head is the first `n` rows.
    pub fn head(&self, n: u64) -> Expr {
        self.on("head", vec![("n", n.into())])
    }

    /// sort is the rows sorted stably by the columns `by`, each ascending or, where
    /// `descending` says so, descending (an empty `descending`: all ascending); NaN last.
    pub fn sort(&self, by: &[&str], descending: &[bool]) -> Expr {
        let mut f = vec![("by", strs(by))];
        if !descending.is_empty() {
            f.push(("descending", Value::Array(descending.iter().map(|&d| d.into()).collect())));
        }
        self.on("sort", f)
    }

    /// groupby is one row per distinct value of the columns `keys`, sorted by them, with the
    /// keys then one column per aggregation.
    pub fn groupby(&self, keys: &[&str], aggs: &[Agg]) -> Expr {
        let aggs = aggs
            .iter()
            .map(|a| {
                let mut v = vec![a.column.as_str().into(), a.func.as_str().into()];
                if let Some(n) = &a.name {
                    v.push(n.as_str().into());
                }
                Value::Array(v)
            })
            .collect();
        self.on("groupby", vec![("keys", strs(keys)), ("aggs", Value::Array(aggs))])
    }

    /// join is the inner join of the table with `y` on the columns `on`, sorted by them.
    pub fn join(&self, y: &Expr, on: &[&str]) -> Expr {
        self.on("join", vec![("y", y.0.clone()), ("on", strs(on))])
    }

    /// spawn spawns `eval` of `mrun:table` with the expression and returns its lazy Object.
    pub fn spawn(&self) -> Object {
        let mut v = Task::new(FUNC).module(MODULE).spawn((&self.0,));
        v.swap_remove(0)
    }

    /// eval spawns `eval`, executes it and fetches its value as a `T`.
    pub fn eval<T: DecodeOwned>(&self) -> Result<T, Error> {
        let o = self.spawn();
        o.execute()?;
        o.fetch()
    }

    /// table evaluates the expression and returns the table.
    pub fn table(&self) -> Result<Table<'static>, Error> {
        match self.eval()? {
            Value::Table(t) => Ok(t),
            v => Err(Error::new(format!("md: eval returned a {}, not a table", v.kind()))),
        }
    }
}

/// An expression is written as its value, so it can be an argument of any spawn.
impl Encode for Expr {
    fn encode(&self, w: &mut Writer) {
        self.0.encode(w)
    }
}
