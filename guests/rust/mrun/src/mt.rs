//! mt is a thin wrapper over module `mrun:tensor`, the chunked tensors built into every mrun
//! process and worker (docs/tensors.md). It builds an expression, the MessagePack map that
//! function `eval` of `mrun:tensor` takes, and evaluates it by spawning `eval` from the
//! running function, like Mars's `mt` inside a spawned function:
//!
//! ```ignore
//! let sum = mrun::mt::rand(1, &[10, 10]).sum(None).float64()?; // mt.random.rand(10, 10).sum()
//! ```
//!
//! The names follow the Go guest SDK's package `mt` and the host's `tensor/expr` in snake
//! case (`where_` for `Where`, since `where` is a keyword), and an expression built here has
//! the same value as the one built there. An expression is a [`Value`]; nothing is planned or
//! computed in the guest. Like everything that spawns, evaluation works only while a function
//! runs.

use crate::codec::{to_vec, DecodeOwned, Encode, Writer};
use crate::error::Error;
use crate::spawn::{Object, Task};
use crate::tensor::{DType, Tensor};
use crate::value::Value;

/// The module of the planner.
pub const MODULE: &str = "mrun:tensor";
/// The function of the planner.
pub const FUNC: &str = "eval";

/// Expr is a lazy tensor expression: an operand of another expression, or the argument of
/// `eval`. Methods build bigger expressions and compute nothing; [`Expr::spawn`],
/// [`Expr::eval`], [`Expr::float64`] and [`Expr::tensor`] evaluate it. Methods take `&self`
/// and copy the operands, so an expression can be used twice (`x.mul(&x)`).
///
/// An operand (`impl Into<Expr>`) is an `Expr` or `&Expr`, a tensor (made a `tensor`
/// expression, as [`from_tensor`]), or a bare `f64`, `i64` or `bool`: a scalar that takes
/// the other operand's dtype where its kind allows, like a Python scalar next to a NumPy 2
/// array.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr(Value);

/// Axes is the axis field of a reduction: every axis (`None`), one axis (`0`, `-1`) or a
/// list of them (`&[0, 1]`, `vec![0, 1]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Axes(Option<Vec<i64>>);

impl From<Option<i64>> for Axes {
    fn from(a: Option<i64>) -> Axes {
        Axes(a.map(|a| vec![a]))
    }
}

impl From<i64> for Axes {
    fn from(a: i64) -> Axes {
        Axes(Some(vec![a]))
    }
}

impl From<&[i64]> for Axes {
    fn from(a: &[i64]) -> Axes {
        Axes(Some(a.to_vec()))
    }
}

impl<const N: usize> From<&[i64; N]> for Axes {
    fn from(a: &[i64; N]) -> Axes {
        Axes(Some(a.to_vec()))
    }
}

impl From<Vec<i64>> for Axes {
    fn from(a: Vec<i64>) -> Axes {
        Axes(Some(a))
    }
}

fn ints<T: Copy + Into<Value>>(v: &[T]) -> Value {
    Value::Array(v.iter().map(|&x| x.into()).collect())
}

/// op makes the expression `{"op": name, fields…}`: any operator the planner accepts, with
/// any fields, for what the typed functions do not cover. Its keys are written in canonical
/// order (ABI.md section 5.2), so equal expressions have equal bytes.
pub fn op(name: &str, fields: Vec<(&str, Value)>) -> Expr {
    let mut m: Vec<(Value, Value)> = Vec::with_capacity(fields.len() + 1);
    m.push((Value::from("op"), Value::from(name)));
    for (k, v) in fields {
        m.retain(|(key, _)| key.as_str() != Some(k));
        m.push((Value::from(k), v));
    }
    m.sort_by_cached_key(|(k, _)| to_vec(k));
    Expr(Value::Map(m))
}

/// rand is a float64 tensor of the given shape, uniform in [0, 1). Element i (row-major) is
/// a function of `seed` and i only, so the values do not depend on the chunks.
pub fn rand(seed: i64, shape: &[u64]) -> Expr {
    op("rand", vec![("seed", seed.into()), ("shape", ints(shape))])
}

/// zeros is a float64 tensor of zeros ([`Expr::with_dtype`] for another dtype).
pub fn zeros(shape: &[u64]) -> Expr {
    op("zeros", vec![("shape", ints(shape))])
}

/// ones is a float64 tensor of ones ([`Expr::with_dtype`] for another dtype).
pub fn ones(shape: &[u64]) -> Expr {
    op("ones", vec![("shape", ints(shape))])
}

/// full is a tensor of the given dtype and shape filled with `value`, a number or a bool.
pub fn full(value: impl Into<Value>, dtype: DType, shape: &[u64]) -> Expr {
    op("full", vec![("value", value.into()), ("dtype", dtype.name().into()), ("shape", ints(shape))])
}

/// arange is the int64 tensor start, start + step, … up to `stop` (excluded), as
/// `numpy.arange`.
pub fn arange(start: i64, stop: i64, step: i64) -> Expr {
    op("arange", vec![("start", start.into()), ("stop", stop.into()), ("step", step.into())])
}

/// linspace is `num` float64 numbers evenly spaced from `start` to `stop` (included), as
/// `numpy.linspace` (`.with("endpoint", false)` excludes `stop`).
pub fn linspace(start: f64, stop: f64, num: u64) -> Expr {
    op("linspace", vec![("start", start.into()), ("stop", stop.into()), ("num", num.into())])
}

/// from_tensor is an expression whose value is `t`; the planner cuts it into chunks.
pub fn from_tensor(t: Tensor<'_>) -> Expr {
    op("tensor", vec![("value", Value::Tensor(t.into_owned()))])
}

/// where_ is `x` where `cond` is true and `y` elsewhere, broadcasting all three (NumPy's
/// `where`).
pub fn where_(cond: impl Into<Expr>, x: impl Into<Expr>, y: impl Into<Expr>) -> Expr {
    op("where", vec![("cond", cond.into().0), ("x", x.into().0), ("y", y.into().0)])
}

/// concatenate joins `xs` along `axis`.
pub fn concatenate(axis: i64, xs: &[Expr]) -> Expr {
    let xs = xs.iter().map(|e| e.0.clone()).collect();
    op("concatenate", vec![("xs", Value::Array(xs)), ("axis", axis.into())])
}

impl Expr {
    /// from_value is the expression `v`: a map with an `"op"`, a tensor or a number.
    pub fn from_value(v: Value) -> Expr {
        Expr(v)
    }

    /// value is the expression as a MessagePack value.
    pub fn value(&self) -> &Value {
        &self.0
    }

    /// into_value is the expression as a MessagePack value.
    pub fn into_value(self) -> Value {
        self.0
    }

    /// with is the expression with field `key` set to `value` (replaced if it is there): a
    /// field the typed methods do not set, such as `"endpoint"` of `linspace`. On a bare
    /// number or a tensor it does nothing.
    pub fn with(&self, key: &str, value: impl Into<Value>) -> Expr {
        match &self.0 {
            Value::Map(m) => {
                let mut m = m.clone();
                let v = value.into();
                match m.iter_mut().find(|(k, _)| k.as_str() == Some(key)) {
                    Some(entry) => entry.1 = v,
                    None => {
                        m.push((Value::from(key), v));
                        m.sort_by_cached_key(|(k, _)| to_vec(k));
                    }
                }
                Expr(Value::Map(m))
            }
            _ => self.clone(),
        }
    }

    /// with_dtype sets the dtype of a creation (`rand`: float64 or float32; `zeros`, `ones`,
    /// `arange`, `linspace`, `full`: any).
    pub fn with_dtype(&self, d: DType) -> Expr {
        self.with("dtype", d.name())
    }

    /// with_chunks sets the chunk shape: one size per axis, -1 for a whole axis. On a
    /// creation or a tensor it says how the tensor is made; on anything else it rechunks the
    /// result.
    pub fn with_chunks(&self, chunks: &[i64]) -> Expr {
        self.with("chunks", ints(chunks))
    }

    /// rechunk is the expression split into chunks of the given sizes (one per axis, -1 for
    /// a whole axis).
    pub fn rechunk(&self, chunks: &[i64]) -> Expr {
        op("rechunk", vec![("x", self.0.clone()), ("chunks", ints(chunks))])
    }

    fn unary(&self, name: &str) -> Expr {
        op(name, vec![("x", self.0.clone())])
    }

    fn binary(&self, name: &str, y: impl Into<Expr>) -> Expr {
        op(name, vec![("x", self.0.clone()), ("y", y.into().0)])
    }

    /// add is self + y, broadcasting as NumPy does.
    pub fn add(&self, y: impl Into<Expr>) -> Expr {
        self.binary("add", y)
    }

    /// sub is self − y.
    pub fn sub(&self, y: impl Into<Expr>) -> Expr {
        self.binary("sub", y)
    }

    /// mul is self × y.
    pub fn mul(&self, y: impl Into<Expr>) -> Expr {
        self.binary("mul", y)
    }

    /// div is self / y, true division: integers give float64.
    pub fn div(&self, y: impl Into<Expr>) -> Expr {
        self.binary("div", y)
    }

    /// pow is self ** y.
    pub fn pow(&self, y: impl Into<Expr>) -> Expr {
        self.binary("pow", y)
    }

    /// eq is the bool tensor self == y.
    pub fn eq(&self, y: impl Into<Expr>) -> Expr {
        self.binary("eq", y)
    }

    /// ne is the bool tensor self != y.
    pub fn ne(&self, y: impl Into<Expr>) -> Expr {
        self.binary("ne", y)
    }

    /// lt is the bool tensor self < y.
    pub fn lt(&self, y: impl Into<Expr>) -> Expr {
        self.binary("lt", y)
    }

    /// le is the bool tensor self <= y.
    pub fn le(&self, y: impl Into<Expr>) -> Expr {
        self.binary("le", y)
    }

    /// gt is the bool tensor self > y.
    pub fn gt(&self, y: impl Into<Expr>) -> Expr {
        self.binary("gt", y)
    }

    /// ge is the bool tensor self >= y.
    pub fn ge(&self, y: impl Into<Expr>) -> Expr {
        self.binary("ge", y)
    }

    /// neg is −self.
    pub fn neg(&self) -> Expr {
        self.unary("neg")
    }

    /// abs is |self|.
    pub fn abs(&self) -> Expr {
        self.unary("abs")
    }

    /// sqrt is the square root of self (integers give float64).
    pub fn sqrt(&self) -> Expr {
        self.unary("sqrt")
    }

    /// exp is e raised to the power of self's elements (integers give float64).
    pub fn exp(&self) -> Expr {
        self.unary("exp")
    }

    /// log is the natural logarithm of self (integers give float64).
    pub fn log(&self) -> Expr {
        self.unary("log")
    }

    /// astype is self converted to dtype `d`, as NumPy's `astype` (floats to integers
    /// truncate).
    pub fn astype(&self, d: DType) -> Expr {
        op("astype", vec![("x", self.0.clone()), ("dtype", d.name().into())])
    }

    fn reduce(&self, name: &str, axis: Axes, ddof: Option<i64>) -> Expr {
        let axis = match axis.0 {
            None => Value::Nil,
            Some(a) => ints(&a),
        };
        let mut f = vec![("x", self.0.clone()), ("axis", axis)];
        if let Some(d) = ddof {
            f.push(("ddof", d.into()));
        }
        op(name, f)
    }

    /// sum is the sum over `axis` (`None`: every axis, giving a number).
    pub fn sum(&self, axis: impl Into<Axes>) -> Expr {
        self.reduce("sum", axis.into(), None)
    }

    /// mean is the mean over `axis` (`None`: every axis).
    pub fn mean(&self, axis: impl Into<Axes>) -> Expr {
        self.reduce("mean", axis.into(), None)
    }

    /// var is the variance over `axis` (`None`: every axis), dividing by n − ddof.
    pub fn var(&self, axis: impl Into<Axes>, ddof: i64) -> Expr {
        self.reduce("var", axis.into(), Some(ddof))
    }

    /// std is the standard deviation over `axis` (`None`: every axis), with n − ddof.
    pub fn std(&self, axis: impl Into<Axes>, ddof: i64) -> Expr {
        self.reduce("std", axis.into(), Some(ddof))
    }

    /// min is the minimum over `axis` (`None`: every axis); NaN if any element is.
    pub fn min(&self, axis: impl Into<Axes>) -> Expr {
        self.reduce("min", axis.into(), None)
    }

    /// max is the maximum over `axis` (`None`: every axis); NaN if any element is.
    pub fn max(&self, axis: impl Into<Axes>) -> Expr {
        self.reduce("max", axis.into(), None)
    }

    /// argmin is the int64 index of the first minimum: flat over the whole tensor for
    /// `None`, else along the one axis given.
    pub fn argmin(&self, axis: impl Into<Axes>) -> Expr {
        self.reduce("argmin", axis.into(), None)
    }

    /// argmax is the int64 index of the first maximum, as [`Expr::argmin`].
    pub fn argmax(&self, axis: impl Into<Axes>) -> Expr {
        self.reduce("argmax", axis.into(), None)
    }

    /// keep_dims is the reduction keeping its reduced axes with size 1.
    pub fn keep_dims(&self) -> Expr {
        self.with("keepdims", true)
    }

    /// matmul is the matrix product of self and `y`, both two-dimensional.
    pub fn matmul(&self, y: impl Into<Expr>) -> Expr {
        self.binary("matmul", y)
    }

    /// t is self with its axes reversed.
    pub fn t(&self) -> Expr {
        self.unary("transpose")
    }

    /// transpose is self with its axes permuted: axis k of the result is axis `axes[k]`.
    pub fn transpose(&self, axes: &[i64]) -> Expr {
        op("transpose", vec![("x", self.0.clone()), ("axes", ints(axes))])
    }

    /// slice is `self[start:stop:step, …]`, one `[start, stop, step]` per leading axis,
    /// `None` for an omitted entry; negative indices count from the end, as in Python.
    pub fn slice(&self, index: &[[Option<i64>; 3]]) -> Expr {
        let index = index
            .iter()
            .map(|s| Value::Array(s.iter().map(|x| x.map_or(Value::Nil, Value::Int)).collect()))
            .collect();
        op("slice", vec![("x", self.0.clone()), ("index", Value::Array(index))])
    }

    /// reshape is self with a new shape of the same size (one entry may be -1). It works
    /// chunk by chunk: self must be split along axis 0 only, in whole rows of the result.
    pub fn reshape(&self, shape: &[i64]) -> Expr {
        op("reshape", vec![("x", self.0.clone()), ("shape", ints(shape))])
    }

    /// spawn spawns `eval` of `mrun:tensor` with the expression and returns its lazy
    /// Object: execute it, with other Objects if you like, then fetch its value.
    pub fn spawn(&self) -> Object {
        let mut v = Task::new(FUNC).module(MODULE).spawn((&self.0,));
        v.swap_remove(0)
    }

    /// eval spawns `eval`, executes it and fetches its value as a `T`. A planner or kernel
    /// error comes back as the failed child's error.
    pub fn eval<T: DecodeOwned>(&self) -> Result<T, Error> {
        let o = self.spawn();
        o.execute()?;
        o.fetch()
    }

    /// float64 evaluates an expression whose value is a number (a full `sum`, `mean`, …).
    pub fn float64(&self) -> Result<f64, Error> {
        self.eval()
    }

    /// tensor evaluates an expression whose value is a tensor (at least one dimension).
    pub fn tensor(&self) -> Result<Tensor<'static>, Error> {
        match self.eval()? {
            Value::Tensor(t) => Ok(t),
            v => Err(Error::new(format!("mt: eval returned a {}, not a tensor", v.kind()))),
        }
    }
}

/// An expression is written as its value, so it can be an argument of any spawn.
impl Encode for Expr {
    fn encode(&self, w: &mut Writer) {
        self.0.encode(w)
    }
}

impl From<&Expr> for Expr {
    fn from(e: &Expr) -> Expr {
        e.clone()
    }
}

impl From<f64> for Expr {
    fn from(x: f64) -> Expr {
        Expr(Value::F64(x))
    }
}

impl From<i64> for Expr {
    fn from(x: i64) -> Expr {
        Expr(Value::Int(x))
    }
}

impl From<bool> for Expr {
    fn from(x: bool) -> Expr {
        Expr(Value::Bool(x))
    }
}

impl From<Tensor<'_>> for Expr {
    fn from(t: Tensor<'_>) -> Expr {
        from_tensor(t)
    }
}

impl From<&Tensor<'_>> for Expr {
    fn from(t: &Tensor<'_>) -> Expr {
        from_tensor(t.clone())
    }
}
