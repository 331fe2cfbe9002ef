//! The conformance module of the Rust SDK: every function of guests/CONFORMANCE.md.
//! Built by guests/rust/build.sh into testdata/rust/conformance.wasm.

use mrun::{Error, Kwargs, Number, Object, Tensor, Value};
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
    fn parent_fail(msg: &str) -> Result<Value, Error> {
        let child = mrun::spawn("fail", (msg,));
        let value = child.execute().and_then(|()| child.fetch());
        value.map_err(|e| e.context("parent_fail"))
    }
}

// Tensors.

mrun::export! {
    /// tensor_sum(t) is the sum of the elements of a float64 tensor, in row-major order.
    fn tensor_sum(t: Tensor) -> Result<f64, String> {
        let xs = t.as_f64().ok_or_else(|| format!("tensor_sum: want a float64 tensor, got {}", t.dtype()))?;
        Ok(xs.iter().sum())
    }
}

mrun::export! {
    /// matmul(a, b) is the matrix product of an m×k and a k×n float64 tensor.
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
    fn rand_matrix(r: u32, c: u32) -> Result<Tensor<'static>, String> {
        let n = (r as usize).checked_mul(c as usize).filter(|&n| n <= 1 << 24);
        let n = n.ok_or_else(|| format!("rand_matrix: {}×{} is too large", r, c))?;
        let mut state = random_seed();
        let data: Vec<f64> = (0..n).map(|_| (splitmix64(&mut state) >> 11) as f64 / (1u64 << 53) as f64).collect();
        Tensor::new(&[r as u64, c as u64], data).map_err(|e| format!("rand_matrix: {}", e))
    }
}

mrun::export! {
    /// driver2() is mt.random.rand(10, 10).sum(): it spawns rand_matrix(10, 10), impure
    /// because its numbers are random, and tensor_sum of it, executes the sum and returns it.
    fn driver2() -> Result<f64, Error> {
        let m = mrun::Task::new("rand_matrix").impure().spawn((10, 10)).remove(0);
        let total = mrun::spawn("tensor_sum", (&m,));
        total.execute()?;
        total.fetch()
    }
}

// Beyond the contract: guests/rust/guest_test.go calls it.

mrun::export! {
    /// rand_sums(n) spawns rand_matrix(10, 10) impure n times and tensor_sum of each, executes
    /// the n sums together and returns them. Pure spawns would be one task with one matrix, and
    /// n equal sums; impure, each spawn is a task of its own and the n sums differ.
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
