//! The conformance module of the Rust SDK: every function of guests/CONFORMANCE.md.
//! Built by guests/rust/build.sh into testdata/rust/conformance.wasm.

use mrun::{md, mt};
use mrun::{Column, ColumnData, DType, Error, Kwargs, Number, Object, Strings, Table, Tensor, Value};
use std::borrow::Cow;
use std::collections::BTreeMap;

// Values.

mrun::export! {
    /// inc(x) is x + 1.
    fn inc(x: i64) -> Result<i64, String> {
        x.checked_add(1).ok_or_else(|| format!("inc: {} + 1 overflows int64", x))
    }
}

mrun::export! {
    /// add(a, b) is a + b.
    fn add(a: i64, b: i64) -> Result<i64, String> {
        a.checked_add(b).ok_or_else(|| format!("add: {} + {} overflows int64", a, b))
    }

    /// concat(a, b) is the two strings joined.
    fn concat(a: &str, b: &str) -> String {
        let mut s = String::with_capacity(a.len() + b.len());
        s.push_str(a);
        s.push_str(b);
        s
    }

    /// rev_bytes(b) is the bytes of b in reverse order.
    fn rev_bytes(b: &[u8]) -> Vec<u8> {
        b.iter().rev().copied().collect()
    }

    /// ints(i, u) decodes a signed and an unsigned 64-bit integer and returns both.
    #[mrun(returns = "list[int]")]
    fn ints(i: i64, u: u64) -> (i64, u64) {
        (i, u)
    }

    /// fdiv(a, b) is a / b in IEEE 754: 1/0 is +Inf, 0/0 is NaN.
    fn fdiv(a: f64, b: f64) -> f64 {
        a / b
    }

    /// identity(v) decodes any value into a mrun::Value and encodes it again.
    fn identity(v: Value) -> Value {
        v
    }

    /// nothing() returns nil.
    fn nothing() {}

    /// empties() is ["", b"", [], {}].
    #[mrun(returns = "list[any]")]
    fn empties() -> (&'static str, Vec<u8>, Vec<i64>, BTreeMap<String, i64>) {
        ("", Vec::new(), Vec::new(), BTreeMap::new())
    }
}

mrun::export! {
    /// sum_all(xs) is the sum of a list of numbers: an int when all are ints, otherwise a
    /// float64 added left to right.
    fn sum_all(xs: Vec<Number>) -> Result<Number, String> {
        let ints: Option<i128> = xs.iter().map(Number::as_i128).sum();
        match ints {
            Some(sum) => Number::try_from(sum).map_err(|_| format!("sum_all: the sum {} overflows 64 bits", sum)),
            None => Ok(Number::Float(xs.iter().map(Number::as_f64).sum())),
        }
    }

    /// triage(xs) splits xs into the elements below 0.5 and the others: two outputs.
    fn triage(xs: Vec<f64>) -> (Vec<f64>, Vec<f64>) {
        xs.iter().partition(|&&x| x < 0.5)
    }
}

mrun::export! {
    /// greet(name, greeting="hello", punct="!") is greeting + ", " + name + punct.
    #[mrun(kwargs = r#"greeting: str = "hello", punct: str = "!""#)]
    fn greet(name: &str, kw: Kwargs) -> Result<String, Error> {
        kw.allow(&["greeting", "punct"])?;
        let greeting: &str = kw.get_or("greeting", "hello")?;
        let punct: &str = kw.get_or("punct", "!")?;
        Ok(format!("{}, {}{}", greeting, name, punct))
    }
}

mrun::export! {
    /// fail(msg) fails with msg.
    fn fail(msg: &str) -> Result<(), String> {
        Err(msg.to_owned())
    }
}

// Nested spawn.

mrun::export! {
    /// divmod(a, b) is [a / b, a % b]: two outputs.
    fn divmod(a: i64, b: i64) -> Result<(i64, i64), String> {
        if b == 0 {
            return Err("divmod: division by zero".to_owned());
        }
        Ok((a.wrapping_div(b), a.wrapping_rem(b)))
    }
}

mrun::export! {
    /// driver() spawns inc(i) for i in 0..10, executes the ten together and returns their
    /// values, [1, 2, ..., 10].
    fn driver() -> Result<Vec<i64>, Error> {
        let incs: Vec<Object> = (0..10).map(|i| mrun::spawn("inc", (i,))).collect();
        mrun::execute(&incs)?;
        incs.iter().map(|o| o.fetch()).collect()
    }
}

mrun::export! {
    /// nested_split(a, b) spawns divmod(a, b) with two outputs and add(q, r) over them,
    /// executes only the add, and returns [q, r, q + r].
    #[mrun(returns = "list[int]")]
    fn nested_split(a: i64, b: i64) -> Result<(i64, i64, i64), Error> {
        let qr = mrun::spawn_n("divmod", (a, b), 2);
        let (q, r) = (&qr[0], &qr[1]);
        let sum = mrun::spawn("add", (q, r)); // q and r are dependencies
        sum.execute()?;
        Ok((q.fetch()?, r.fetch()?, sum.fetch()?))
    }
}

mrun::export! {
    /// parent_fail(msg) spawns fail(msg) and fails with "parent_fail: " and the child's
    /// error; the host records the child as the cause.
    fn parent_fail(msg: &str) -> Result<(), Error> {
        let child = mrun::spawn("fail", (msg,));
        let value = child.execute().and_then(|()| child.fetch());
        value.map_err(|e| e.context("parent_fail"))
    }
}

// Tensors.

mrun::export! {
    /// tensor_sum(t) is the sum of the elements of a float64 tensor, in row-major order.
    #[mrun(args(t = "tensor[float64]"))]
    fn tensor_sum(t: Tensor) -> Result<f64, String> {
        let xs = t.as_f64().ok_or_else(|| format!("tensor_sum: want a float64 tensor, got {}", t.dtype()))?;
        Ok(xs.iter().sum())
    }
}

mrun::export! {
    /// matmul(a, b) is the matrix product of an m×k and a k×n float64 tensor.
    #[mrun(args(a = "tensor[float64]", b = "tensor[float64]"), returns = "tensor[float64]")]
    fn matmul(a: Tensor, b: Tensor) -> Result<Tensor<'static>, String> {
        let (x, y) = match (a.as_f64(), b.as_f64(), a.shape(), b.shape()) {
            (Some(x), Some(y), &[_, k1], &[k2, _]) if k1 == k2 => (x, y),
            _ => {
                return Err(format!(
                    "matmul: want float64 matrices m×k and k×n, got {} {:?} and {} {:?}",
                    a.dtype(), a.shape(), b.dtype(), b.shape()
                ))
            }
        };
        let (m, k, n) = (a.shape()[0] as usize, a.shape()[1] as usize, b.shape()[1] as usize);
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            let row = &mut c[i * n..(i + 1) * n];
            for p in 0..k {
                let aip = x[i * k + p];
                for (cij, bpj) in row.iter_mut().zip(&y[p * n..(p + 1) * n]) {
                    *cij += aip * bpj;
                }
            }
        }
        Tensor::new(&[m as u64, n as u64], c).map_err(|e| format!("matmul: {}", e))
    }
}

mrun::export! {
    /// rand_matrix(r, c) is an r×c float64 tensor of pseudo-random numbers in [0, 1).
    #[mrun(impure, returns = "tensor[float64]")]
    fn rand_matrix(r: u32, c: u32) -> Result<Tensor<'static>, String> {
        let n = (r as usize).checked_mul(c as usize).filter(|&n| n <= 1 << 24);
        let n = n.ok_or_else(|| format!("rand_matrix: {}×{} is too large", r, c))?;
        let mut state = random_seed();
        let data: Vec<f64> = (0..n).map(|_| (splitmix64(&mut state) >> 11) as f64 / (1u64 << 53) as f64).collect();
        Tensor::new(&[r as u64, c as u64], data).map_err(|e| format!("rand_matrix: {}", e))
    }
}

mrun::export! {
    /// driver2() is mt.random.rand(10, 10).sum(), by nested spawns. It spawns
    /// rand_matrix(10, 10), impure because its numbers are random, and tensor_sum of it,
    /// executes the sum and returns it.
    #[mrun(impure)]
    fn driver2() -> Result<f64, Error> {
        let m = mrun::Task::new("rand_matrix").impure().spawn((10, 10)).remove(0);
        let total = mrun::spawn("tensor_sum", (&m,));
        total.execute()?;
        total.fetch()
    }
}

// Beyond the contract: guests/rust/guest_test.go calls it.

mrun::export! {
    /// rand_sums(n) is the sums of n random 10 × 10 matrices. It spawns rand_matrix(10, 10)
    /// impure n times and tensor_sum of each, executes the n sums together and returns them.
    /// Pure spawns would be one task with one matrix, and n equal sums; impure, each spawn is
    /// a task of its own and the n sums differ.
    #[mrun(impure)]
    fn rand_sums(n: u32) -> Result<Vec<f64>, Error> {
        let sums: Vec<Object> = (0..n)
            .map(|_| {
                let m = mrun::Task::new("rand_matrix").impure().spawn((10, 10)).remove(0);
                mrun::spawn("tensor_sum", (&m,))
            })
            .collect();
        mrun::execute(&sums)?;
        sums.iter().map(|o| o.fetch()).collect()
    }
}

// Chunked tensors and tables, beyond the contract: guests/rust/guest_test.go calls them.

mrun::export! {
    /// driver2_tensor(seed) is rand(seed, 10, 10).sum(), evaluated by mrun:tensor. It spawns
    /// eval of the expression of chunked tensors, nested, and returns the number.
    fn driver2_tensor(seed: i64) -> Result<f64, Error> {
        mt::rand(seed, &[10, 10]).sum(None).float64()
    }
}

mrun::export! {
    /// mt_matmul(seed) is rand(seed, 4, 4) @ ones(4, 4), in chunks of 2 × 2, as a tensor.
    #[mrun(returns = "tensor[float64]")]
    fn mt_matmul(seed: i64) -> Result<Tensor<'static>, Error> {
        let a = mt::rand(seed, &[4, 4]).with_chunks(&[2, 2]);
        a.matmul(mt::ones(&[4, 4])).tensor()
    }

    /// mt_bad_shapes() fails: ones(2, 3) + ones(5) do not broadcast. Its error is the
    /// planner's, the error of its child eval.
    fn mt_bad_shapes() -> Result<f64, Error> {
        mt::ones(&[2, 3]).add(mt::ones(&[5])).sum(None).float64()
    }

    /// mt_exprs() is one expression per operator, built with mrun::mt, for comparison with
    /// the host's builder.
    fn mt_exprs() -> Vec<mt::Expr> {
        let m = Tensor::new(&[2], vec![1.0, 2.0]).expect("a tensor of 2 elements");
        let x = mt::arange(0, 12, 1).reshape(&[3, 4]);
        vec![
            mt::rand(1, &[10, 10]).sum(None),
            mt::rand(2, &[6, 4]).with_chunks(&[3, -1]).mul(mt::ones(&[6, 4])).add(2.5).sub(1).div(2)
                .pow(2.0).neg().abs().sqrt().exp().log(),
            mt::concatenate(0, &[x.eq(1), x.ne(1), x.lt(1), x.le(1), x.gt(1), x.ge(true)]),
            mt::where_(x.gt(5), &x, 0).std(&[0], 1).keep_dims(),
            mt::concatenate(0, &[x.mean(&[1]), x.var(None, 0), x.min(&[0]), x.max(None), x.argmin(None), x.argmax(&[1])]),
            x.t().transpose(&[1, 0]).slice(&[[None, None, Some(-1)], [Some(1), None, None]]).rechunk(&[2, 2])
                .matmul(mt::zeros(&[3, 3])),
            mt::concatenate(0, &[
                mt::full(7, DType::Int32, &[2]),
                mt::zeros(&[2]).astype(DType::Float32),
                mt::linspace(0.0, 1.0, 2),
                mt::from_tensor(m.clone()).add(&m),
            ]),
        ]
    }
}

mrun::export! {
    /// table_stats(t) is {"rows": n, "columns": [[name, type], …], "summary": {name: …}}.
    /// A column's summary is for int64 the sum, for float64 the sum of the numbers and the
    /// count of NaNs, for bool the count of trues, for string the count of characters and of
    /// empty values, for timestamp the earliest and latest.
    #[mrun(returns = "map[str, any]")]
    fn table_stats(t: Table) -> Value {
        let mut columns = Vec::new();
        let mut summary = Vec::new();
        for c in t.columns() {
            columns.push(Value::Array(vec![c.name().into(), c.column_type().name().into()]));
            let s = match c.data() {
                ColumnData::Int64(v) => Value::Int(v.iter().fold(0i64, |a, &x| a.wrapping_add(x))),
                ColumnData::Float64(v) => {
                    let nans = v.iter().filter(|x| x.is_nan()).count();
                    let sum: f64 = v.iter().filter(|x| !x.is_nan()).sum();
                    Value::Array(vec![sum.into(), (nans as i64).into()])
                }
                ColumnData::Bool(v) => Value::Int(v.iter().filter(|&&b| b).count() as i64),
                ColumnData::String(s) => {
                    let chars = s.iter().map(|x| x.chars().count()).sum::<usize>();
                    let empty = s.iter().filter(|x| x.is_empty()).count();
                    Value::Array(vec![(chars as i64).into(), (empty as i64).into()])
                }
                ColumnData::Timestamp(v) => {
                    let (lo, hi) = (v.iter().min(), v.iter().max());
                    Value::Array(vec![lo.map_or(Value::Nil, |&x| x.into()), hi.map_or(Value::Nil, |&x| x.into())])
                }
            };
            summary.push((c.name().into(), s));
        }
        Value::Map(vec![
            ("rows".into(), (t.rows() as i64).into()),
            ("columns".into(), Value::Array(columns)),
            ("summary".into(), Value::Map(summary)),
        ])
    }

    /// table_echo(t) returns the table it is given.
    fn table_echo(t: Table) -> Table {
        t
    }
}

mrun::export! {
    /// table_head(t, n) is the first n rows of t. Its numeric columns are slices of the
    /// argument's: the result is written from the frame without another copy.
    fn table_head(t: Table, n: u32) -> Result<Table, Error> {
        let n = (n as usize).min(t.rows());
        let mut columns = Vec::new();
        for c in t.into_columns() {
            let (name, data) = c.into_parts();
            let data = match data {
                ColumnData::Int64(v) => ColumnData::Int64(first(v, n)),
                ColumnData::Float64(v) => ColumnData::Float64(first(v, n)),
                ColumnData::Bool(v) => ColumnData::Bool(first(v, n)),
                ColumnData::Timestamp(v) => ColumnData::Timestamp(first(v, n)),
                ColumnData::String(s) => ColumnData::String(Strings::new(s.iter().take(n))?),
            };
            columns.push(Column::new(name, data));
        }
        Ok(Table::new(columns)?)
    }
}

mrun::export! {
    /// table_totals(t) is t grouped by its column city with the sum and the count of its
    /// column amount, computed by mrun:table in chunks of 2 rows.
    fn table_totals(t: Table) -> Result<Table<'static>, Error> {
        let aggs = [md::agg("amount", "sum"), md::agg("amount", "count").named("n")];
        md::table(&t).with("chunk_rows", 2).groupby(&["city"], &aggs).table()
    }
}

/// first is the first n values, borrowed where `v` is.
fn first<T: Clone>(v: Cow<'_, [T]>, n: usize) -> Cow<'_, [T]> {
    match v {
        Cow::Borrowed(s) => Cow::Borrowed(&s[..n]),
        Cow::Owned(mut v) => {
            v.truncate(n);
            Cow::Owned(v)
        }
    }
}

/// random_seed is 64 random bits from the host (WASI random_get, through std's hasher keys).
fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new().build_hasher().finish()
}

/// splitmix64 advances the state and returns the next pseudo-random number.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
