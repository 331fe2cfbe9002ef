//! Tests of the codec and argument binding, run natively by guests/rust/test.sh.

use crate::rt::{Args, IntoResult, Param};
use crate::*;

fn enc<T: Encode + ?Sized>(v: &T) -> Vec<u8> {
    to_vec(v)
}

#[test]
fn integers_use_the_shortest_encoding() {
    let cases: &[(i64, &[u8])] = &[
        (0, &[0x00]),
        (127, &[0x7f]),
        (128, &[0xcc, 0x80]),
        (256, &[0xcd, 0x01, 0x00]),
        (65536, &[0xce, 0, 1, 0, 0]),
        (1 << 32, &[0xcf, 0, 0, 0, 1, 0, 0, 0, 0]),
        (-1, &[0xff]),
        (-32, &[0xe0]),
        (-33, &[0xd0, 0xdf]),
        (-129, &[0xd1, 0xff, 0x7f]),
        (-32769, &[0xd2, 0xff, 0xff, 0x7f, 0xff]),
        (i64::MIN, &[0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0]),
    ];
    for &(v, want) in cases {
        assert_eq!(enc(&v), want, "{}", v);
        assert_eq!(from_slice::<i64>(want).unwrap(), v);
    }
    assert_eq!(enc(&u64::MAX), [0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    assert_eq!(from_slice::<u64>(&enc(&u64::MAX)).unwrap(), u64::MAX);
    assert!(from_slice::<i64>(&enc(&u64::MAX)).unwrap_err().to_string().contains("overflows int64"));
    assert!(from_slice::<u8>(&[0xcd, 0x01, 0x00]).is_err());
    assert!(from_slice::<u64>(&[0xff]).is_err());
}

#[test]
fn values_round_trip() {
    let v = Value::Map(vec![
        (Value::Str("a".into()), Value::Array(vec![Value::Nil, Value::Bool(true), Value::Int(-5), Value::Uint(u64::MAX)])),
        (Value::Str("b".into()), Value::Bin(vec![1, 2, 3])),
        (Value::Int(7), Value::F32(1.5)),
        (Value::Str("é".repeat(40)), Value::F64(f64::INFINITY)),
        (Value::Str("e".into()), Value::Ext(9, vec![1, 2, 3])),
        (Value::Str("m".into()), Value::Map(vec![])),
    ]);
    let b = enc(&v);
    let back: Value = from_slice(&b).unwrap();
    assert_eq!(back, v);
    assert_eq!(enc(&back), b);
    let nan: Value = from_slice(&enc(&f64::NAN)).unwrap();
    assert!(matches!(nan, Value::F64(x) if x.is_nan()));
}

#[test]
fn malformed_input_is_an_error() {
    for bad in [&[][..], &[0xc1], &[0x92, 0x01], &[0xa3, b'a'], &[0xdd, 0xff, 0xff, 0xff, 0xff], &[0xa1, 0xff]] {
        assert!(from_slice::<Value>(bad).is_err(), "{:x?}", bad);
        assert!(Reader::new(bad).skip().is_err() || bad == [0xa1, 0xff], "{:x?}", bad);
    }
    let mut deep = vec![0x91; 600];
    deep.push(0xc0);
    assert!(from_slice::<Value>(&deep).unwrap_err().to_string().contains("nesting deeper"));
    assert!(Reader::new(&deep).skip().is_ok());
    assert!(from_slice::<i64>(&[0x01, 0x02]).unwrap_err().to_string().contains("trailing"));
}

#[test]
fn errors_name_the_path() {
    let b = enc(&(1.0, "x"));
    let e = from_slice::<Vec<f64>>(&b).unwrap_err();
    assert_eq!(e.to_string(), "[1]: expected float, got str");
    let e = from_slice::<Vec<Vec<i64>>>(&enc(&vec![vec![1i64], vec![2, 3]])).map(|_| ());
    assert!(e.is_ok());
}

#[test]
fn bytes_are_bin_and_lists_are_arrays() {
    assert_eq!(enc(&vec![1u8, 2]), [0xc4, 2, 1, 2]);
    assert_eq!(enc(&vec![1i64, 2]), [0x92, 1, 2]);
    assert_eq!(from_slice::<Vec<u8>>(&[0xc4, 2, 1, 2]).unwrap(), [1, 2]);
    assert_eq!(from_slice::<&[u8]>(&[0xc4, 2, 1, 2]).unwrap(), [1, 2]);
    assert_eq!(enc(&"abc"), [0xa3, b'a', b'b', b'c']);
    assert_eq!(enc(&"x".repeat(32))[..2], [0xd9, 32]);
    assert_eq!(enc(&()), [0xc0]);
    assert_eq!(enc(&Some(1i64)), [0x01]);
    assert_eq!(enc(&None::<i64>), [0xc0]);
}

#[test]
fn arguments_bind_in_order() {
    // [[41, "a"], {"k": 2}]
    let frame = [0x92, 0x92, 41, 0xa1, b'a', 0x81, 0xa1, b'k', 0x02];
    let mut a = Args::new("f", &frame).unwrap();
    let x: i64 = Param::extract(&mut a, "x").unwrap();
    let s: &str = Param::extract(&mut a, "s").unwrap();
    let kw: Kwargs = Param::extract(&mut a, "kw").unwrap();
    assert_eq!((x, s), (41, "a"));
    assert_eq!(kw.get_or("k", 0i64).unwrap(), 2);
    assert_eq!(kw.get_or("z", 9i64).unwrap(), 9);
    assert_eq!(kw.names(), ["k"]);
    assert_eq!(kw.get::<&str>("k").unwrap_err().to_string(), "f: keyword argument k: expected str, got int");
    assert_eq!(kw.allow(&["q"]).unwrap_err().to_string(), "f: unexpected keyword argument \"k\"");
    a.finish().unwrap();

    let mut a = Args::new("f", &frame).unwrap();
    let e = <&str as Param>::extract(&mut a, "x").unwrap_err();
    assert_eq!(e.to_string(), "f: argument 1 (x): expected str, got int");
    assert_eq!(e.kind(), ErrorKind::Argument);

    let mut a = Args::new("f", &frame).unwrap();
    let _: i64 = Param::extract(&mut a, "x").unwrap();
    assert_eq!(a.finish().unwrap_err().to_string(), "f: takes 1 positional argument but 2 were given");

    let mut a = Args::new("f", &[0x92, 0x90, 0x80]).unwrap();
    assert_eq!(<i64 as Param>::extract(&mut a, "x").unwrap_err().to_string(), "f: missing argument 1 (x)");

    let mut a = Args::new("f", &frame).unwrap();
    let _: (i64, &str) = (Param::extract(&mut a, "x").unwrap(), Param::extract(&mut a, "s").unwrap());
    assert_eq!(a.finish().unwrap_err().to_string(), "f: unexpected keyword argument \"k\"");

    for bad in [&[][..], &[0x93, 0x90, 0x80, 0x80], &[0x92, 0x91], &[0x92, 0x90, 0x90]] {
        let e = Args::new("f", bad).map(|_| ()).unwrap_err();
        assert!(e.to_string().starts_with("f: malformed argument frame: "), "{}", e);
    }
}

#[test]
fn results_keep_the_error_kind() {
    let mut w = Writer::new();
    let child = Error::with_kind(ErrorKind::Task { handle: 3 }, "task fail: Boom.");
    let r: Result<i64, Error> = Err(child.context("parent"));
    let e = r.write(&mut w).unwrap_err();
    assert_eq!(e.task_handle(), Some(3));
    assert_eq!(e.message(), "parent: task fail: Boom.");
    let r: Result<i64, String> = Err("plain".into());
    assert_eq!(r.write(&mut w).unwrap_err().kind(), ErrorKind::Other);
    (1i64, "a").write(&mut w).unwrap();
    assert_eq!(w.as_bytes(), [0x92, 1, 0xa1, b'a']);
}

#[test]
fn tensors_are_read_in_place_when_aligned() {
    let t = Tensor::new(&[2, 2], vec![1.0f64, 2.0, 3.0, 4.0]).unwrap();
    let b = enc(&t);
    assert_eq!(&b[..3], [0xc7, 0x38, 0x04]); // 8 header + 16 shape + 32 elements
    assert_eq!(&b[3..5], [10, 2]);
    // Decoding from an 8-aligned buffer whose payload starts at offset 8 borrows.
    let mut words = vec![0u64; (b.len() + 16) / 8];
    let buf: &mut [u8] = unsafe { std::slice::from_raw_parts_mut(words.as_mut_ptr() as *mut u8, words.len() * 8) };
    buf[5..5 + b.len()].copy_from_slice(&b);
    let aligned: Tensor = from_slice(&buf[5..5 + b.len()]).unwrap();
    assert!(aligned.is_borrowed());
    assert_eq!(aligned.as_f64().unwrap(), [1.0, 2.0, 3.0, 4.0]);
    assert_eq!(aligned.shape(), [2, 2]);
    let aligned = aligned.into_owned();
    buf[6..6 + b.len()].copy_from_slice(&b);
    let copied: Tensor = from_slice(&buf[6..6 + b.len()]).unwrap();
    assert!(!copied.is_borrowed());
    assert_eq!(copied, aligned);
    assert!(copied.as_f32().is_none());
    let v: Value = from_slice(&b).unwrap();
    assert_eq!(enc(&v), b);

    let s = Tensor::from_slice(&[3], &[1i32, 2, 3][..]).unwrap();
    assert_eq!(from_slice::<Tensor>(&enc(&s)).unwrap().into_owned().as_i32().unwrap(), [1, 2, 3]);
    assert!(Tensor::new(&[3], vec![1.0f64]).is_err());
    let scalar = Tensor::new(&[], vec![7i64]).unwrap();
    assert_eq!(scalar.len(), 1);
}

#[test]
fn malformed_tensors_are_errors() {
    let ok = enc(&Tensor::new(&[1], vec![1.0f64]).unwrap());
    let mut bad_dtype = ok.clone();
    bad_dtype[3] = 12;
    let mut bad_pad = ok.clone();
    bad_pad[5] = 1;
    let mut bad_ndim = ok.clone();
    bad_ndim[4] = 33;
    let mut bad_len = ok.clone();
    bad_len[5 + 6] = 2;
    for b in [bad_dtype, bad_pad, bad_ndim, bad_len] {
        assert!(from_slice::<Tensor>(&b).is_err(), "{:x?}", b);
        assert!(from_slice::<Value>(&b).is_err(), "{:x?}", b);
    }
    assert_eq!(from_slice::<Tensor>(&[0x01]).unwrap_err().to_string(), "expected tensor, got int");
}

#[test]
fn execute_takes_objects_in_every_form() {
    // Outside a wasm guest the imports answer "unsupported"; this checks the forms compile
    // and that a spawn's error is carried by its Object.
    let a = spawn("inc", (1,));
    let b = spawn("inc", (2,));
    assert_eq!(a.error().map(Error::kind), Some(ErrorKind::Host(HostCode::Unsupported)));
    let v = vec![a.clone(), b.clone()];
    for r in [execute(&v), execute(&v[..]), execute(&[&a, &b]), execute([&a, &b]), execute(v.clone())] {
        assert_eq!(r.unwrap_err().kind(), ErrorKind::Host(HostCode::Unsupported));
    }
    assert_eq!(spawn_n("divmod", (7, 2), 2).len(), 2);
    assert!(spawn("add", (&a, b.by_ref())).error().is_some());
}

#[test]
fn impure_spawns_set_bit_30_of_n_output() {
    let last = || crate::host::imports::LAST_N_OUTPUT.with(|c| c.get());
    spawn("inc", (1,));
    assert_eq!(last(), 1);
    Task::new("inc").impure().spawn((1,));
    assert_eq!(last(), 1 << 30 | 1);
    Task::new("divmod").n_output(2).impure().spawn((7, 2));
    assert_eq!(last(), 1 << 30 | 2);
    spawn_n("divmod", (7, 2), 2);
    assert_eq!(last(), 2);
}

#[test]
fn hash_maps_encode_in_key_order() {
    let mut m = std::collections::HashMap::new();
    for k in ["b", "a", "c", "aa"] {
        m.insert(k.to_owned(), 1i64);
    }
    let b = enc(&m);
    assert_eq!(b, [0x84, 0xa1, b'a', 1, 0xa1, b'b', 1, 0xa1, b'c', 1, 0xa2, b'a', b'a', 1]);
    let back: std::collections::HashMap<String, i64> = from_slice(&b).unwrap();
    assert_eq!(back, m);
}

// export! compiles in all its forms (the exports themselves only run in a wasm guest).
crate::export! {
    /// A plain function.
    #[mrun(kwargs = r#"punct: str = "!""#)]
    #[inline]
    fn plain(x: i64, s: &str, kw: Kwargs) -> Result<String, Error> {
        let punct: &str = kw.get_or("punct", "!")?;
        Ok(format!("{}{}{}", s, x, punct))
    }

    /// A function exported under a name that is not a Rust identifier.
    "renamed-fn" => pub fn renamed() {}
}

#[test]
fn exported_functions_stay_callable() {
    let frame = [0x92, 0x90, 0x80];
    let kw = Args::new("plain", &frame).unwrap().kwargs();
    assert_eq!(plain(1, "a", kw).unwrap(), "a1!");
    renamed();
}

#[test]
fn numbers_are_ints_or_floats() {
    let xs: Vec<Number> = from_slice(&enc(&(1i64, 2.5f64, u64::MAX, -3i64))).unwrap();
    assert_eq!(xs, [Number::Int(1), Number::Float(2.5), Number::Uint(u64::MAX), Number::Int(-3)]);
    let e = from_slice::<Vec<Number>>(&enc(&(1i64, "x"))).unwrap_err();
    assert_eq!(e.to_string(), "[1]: expected number, got str");
    assert_eq!(enc(&Number::try_from(-5i128).unwrap()), [0xfb]);
}

// signature! compiles outside wasm32 too, where its line is a plain static.
crate::signature!(r#"greet(name: str, *, greeting: str = "hello") -> str  -- Greets."#);

#[test]
fn signature_bytes_copies_the_line() {
    const LINE: &str = "inc(x: int) -> int  -- Adds one.\n";
    let got: [u8; LINE.len()] = crate::rt::signature_bytes(LINE);
    assert_eq!(&got[..], b"inc(x: int) -> int  -- Adds one.\n");
}
