//! Tests of tables and of the tensor expression builder, run natively by guests/rust/test.sh.

use crate::*;
use std::borrow::Cow;

/// The example of ABI.md section 5.4: int64 column a = [1, 2], string column b = ["x", "yz"].
const ABI_EXAMPLE: &[u8] = &[
    0xc7, 0x48, 0x05, //
    2, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, //
    4, 0, 1, 0, b'a', 32, 0, 1, 0, b'b', 0, 0, 0, 0, 0, 0, //
    1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, //
    0, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, //
    b'x', b'y', b'z', 0, 0, 0, 0, 0,
];

/// aligned copies `b` to offset `at` of an 8-byte-aligned buffer and decodes it from there.
fn at_offset<R>(b: &[u8], at: usize, f: impl FnOnce(&[u8]) -> R) -> R {
    let mut words = vec![0u64; (b.len() + at + 7) / 8];
    // Safety: the words are initialised and outlive buf.
    let buf: &mut [u8] = unsafe { std::slice::from_raw_parts_mut(words.as_mut_ptr() as *mut u8, words.len() * 8) };
    buf[at..at + b.len()].copy_from_slice(b);
    f(&buf[at..at + b.len()])
}

fn every_type() -> Table<'static> {
    Table::new(vec![
        Column::int64("i", vec![1, -2, i64::MAX]),
        Column::float64("f", vec![0.5, f64::NAN, -0.0]),
        Column::bool("b", vec![true, false, true]),
        Column::string("s", Strings::new(["", "Zürich", "東京"]).unwrap()),
        Column::timestamp("t", vec![0, 1_796_644_800_500_000_000, -1]),
    ])
    .unwrap()
}

#[test]
fn tables_encode_as_the_abi_example() {
    let t = Table::new(vec![Column::int64("a", vec![1, 2]), Column::string("b", Strings::new(["x", "yz"]).unwrap())])
        .unwrap();
    assert_eq!(to_vec(&t), ABI_EXAMPLE);
    let back: Table = from_slice(ABI_EXAMPLE).unwrap();
    assert_eq!(back, t);
    assert_eq!(back.rows(), 2);
    assert_eq!(back.column("a").unwrap().as_i64().unwrap(), [1, 2]);
    let b = back.column("b").unwrap().as_strings().unwrap();
    assert_eq!(b.iter().collect::<Vec<_>>(), ["x", "yz"]);
    assert_eq!((b.get(1), b.get(2)), (Some("yz"), None));
    assert!(back.column("c").is_none());
    assert_eq!(back.to_string(), "table of 2 rows [a int64, b string]");
}

#[test]
fn tables_round_trip_every_type() {
    let t = every_type();
    let b = to_vec(&t);
    let back: Table = from_slice(&b).unwrap();
    assert_eq!(to_vec(&back), b);
    assert!(back.column("f").unwrap().as_f64().unwrap()[1].is_nan());
    assert_eq!(back.column("s").unwrap().as_strings().unwrap().get(2), Some("東京"));
    assert_eq!(back.column("t").unwrap().as_timestamp().unwrap()[1], 1_796_644_800_500_000_000);
    assert_eq!(back.column("b").unwrap().as_bool().unwrap(), [true, false, true]);
    assert!(back.column("b").unwrap().as_i64().is_none());
    // In a Value, and as an owned copy.
    let v: Value = from_slice(&b).unwrap();
    assert_eq!(v.kind(), "table");
    assert_eq!(to_vec(&v), b);
    assert_eq!(to_vec(&back.into_owned()), b);
    // Zero rows, and no columns at all.
    let empty = Table::new(vec![Column::float64("x", vec![]), Column::string("s", Strings::new::<&str>([]).unwrap())]).unwrap();
    let b = to_vec(&empty);
    let back: Table = from_slice(&b).unwrap();
    assert_eq!((back.rows(), back.columns().len()), (0, 2));
    let none = Table::new(vec![]).unwrap();
    assert_eq!(to_vec(&none), [0xd8, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(from_slice::<Table>(&to_vec(&none)).unwrap().rows(), 0);
}

#[test]
fn tables_are_read_in_place_when_aligned() {
    let t = every_type();
    let b = to_vec(&t);
    assert_eq!(b[0], 0xc7); // ext 8: a 3-byte header, so the payload is 8-aligned at offset 5
    at_offset(&b, 5, |p| {
        let t: Table = from_slice(p).unwrap();
        assert!(t.columns().iter().all(Column::is_borrowed), "{:?}", t);
    });
    at_offset(&b, 6, |p| {
        let t: Table = from_slice(p).unwrap();
        assert!(!t.column("i").unwrap().is_borrowed());
        assert!(t.column("b").unwrap().is_borrowed()); // bytes are always in place
        assert_eq!(to_vec(&t), b);
    });
}

#[test]
fn malformed_tables_are_errors() {
    let ok = ABI_EXAMPLE;
    let with = |at: usize, v: u8| {
        let mut b = ok.to_vec();
        b[at] = v;
        b
    };
    let p = 3; // the payload's offset
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (vec![0xd6, 5, 0, 0, 0, 0], "malformed table: a payload of 4 bytes is shorter than the 16-byte header"),
        (with(p + 4, 1), "malformed table: the flags are not zero"),
        (with(p, 3), "malformed table: column 2: a name is 1 to 65535 bytes of UTF-8"),
        (with(p + 2, 1), "malformed table: 65538 columns, more than 65536"),
        (with(p + 12, 1), "malformed table: 4294967298 rows, more than 2^32-1"),
        (with(p + 16, 7), "malformed table: column \"a\" has unknown type 7"),
        (with(p + 17, 1), "malformed table: column descriptor 0 is cut short or its padding is not zero"),
        (with(p + 18, 0), "malformed table: column 0: a name is 1 to 65535 bytes of UTF-8"),
        (with(p + 20, 0xff), "malformed table: column 0: a name is 1 to 65535 bytes of UTF-8"),
        (with(p + 25, b'a'), "malformed table: two columns are named \"a\""),
        (with(p + 27, 1), "malformed table: the column descriptors' padding is cut short or not zero"),
        (with(p + 48, 1), "malformed table: string column \"b\": its offsets are not n+1 offsets from 0"),
        (with(p + 52, 4), "malformed table: string column \"b\": value 0 is out of order, out of range or not UTF-8"),
        (with(p + 56, 2), "malformed table: column \"b\" runs past the payload or its padding is not zero"),
        (with(p + 56, 9), "malformed table: column \"b\" runs past the payload or its padding is not zero"),
        (with(p + 67, 1), "malformed table: column \"b\" runs past the payload or its padding is not zero"),
        (with(p + 64, 0xff), "malformed table: string column \"b\": its text is not UTF-8"),
    ];
    for (b, want) in &cases {
        assert_eq!(from_slice::<Table>(b).unwrap_err().to_string(), *want, "{:x?}", b);
        assert_eq!(from_slice::<Value>(b).unwrap_err().to_string(), *want, "{:x?}", b);
    }
    // A length that disagrees with nrows, and bytes after the last column.
    let mut long = ok.to_vec();
    long[1] += 8;
    long.extend_from_slice(&[0; 8]);
    assert_eq!(from_slice::<Table>(&long).unwrap_err().to_string(), "malformed table: 8 bytes after the last column");
    let mut b = to_vec(&Table::new(vec![Column::bool("b", vec![true])]).unwrap());
    *b.iter_mut().rev().nth(7).unwrap() = 2;
    assert_eq!(
        from_slice::<Table>(&b).unwrap_err().to_string(),
        "malformed table: bool column \"b\" holds a byte other than 0 and 1"
    );
    // Offsets that cut a character.
    let mut b = to_vec(&Table::new(vec![Column::string("s", Strings::new(["é", ""]).unwrap())]).unwrap());
    let i = b.len() - 8 - 16 + 4; // offset 1
    b[i] = 1;
    assert_eq!(
        from_slice::<Table>(&b).unwrap_err().to_string(),
        "malformed table: string column \"s\": value 0 is out of order, out of range or not UTF-8"
    );
    assert_eq!(from_slice::<Table>(&[0x01]).unwrap_err().to_string(), "expected table, got int");
    assert_eq!(from_slice::<Table>(&[0xd4, 0x04, 0x00]).unwrap_err().to_string(), "expected table, got ext type 4");
}

#[test]
fn new_tables_are_checked() {
    let err = |cols: Vec<Column<'static>>| Table::new(cols).unwrap_err().to_string();
    assert_eq!(
        err(vec![Column::int64("a", vec![1]), Column::bool("b", vec![])]),
        "column \"b\" has 0 values, column \"a\" has 1"
    );
    assert_eq!(err(vec![Column::int64("a", vec![]), Column::int64("a", vec![])]), "two columns are named \"a\"");
    assert_eq!(err(vec![Column::int64("", vec![])]), "column 0: a name is 1 to 65535 bytes of UTF-8");
    assert_eq!(
        Strings::from_parts(vec![0u32, 2], "éa").unwrap_err().to_string(),
        "string column \"\": the last offset is not its length"
    );
    let text = "ab";
    let s = Strings::from_parts(&[0u32, 1, 2][..], text).unwrap();
    assert!(s.is_borrowed());
    let t = Table::new(vec![Column::new(Cow::Borrowed("s"), ColumnData::String(s))]).unwrap();
    assert_eq!(t.column("s").unwrap().as_strings().unwrap().text(), "ab");
}

#[test]
fn expressions_are_maps_in_canonical_order() {
    let e = mt::rand(7, &[10, 10]).sum(None);
    let want = Value::Map(vec![
        ("x".into(), Value::Map(vec![
            ("op".into(), "rand".into()),
            ("seed".into(), Value::Int(7)),
            ("shape".into(), Value::Array(vec![Value::Int(10), Value::Int(10)])),
        ])),
        ("op".into(), "sum".into()),
        ("axis".into(), Value::Nil),
    ]);
    assert_eq!(e.value(), &want);
    // Every form of an axis.
    let x = mt::ones(&[2, 3]);
    assert_eq!(x.sum(1), x.sum(&[1]));
    assert_eq!(x.sum(Some(1)), x.sum(vec![1]));
    assert_eq!(x.sum(&[0, 1][..]).value().get("axis"), Some(&Value::Array(vec![Value::Int(0), Value::Int(1)])));
    // with replaces a field, and keeps the order.
    let c = mt::rand(1, &[4]).with_chunks(&[2]).with_chunks(&[-1]);
    assert_eq!(c.value().get("chunks"), Some(&Value::Array(vec![Value::Int(-1)])));
    assert_eq!(to_vec(&c), to_vec(&mt::op("rand", vec![("shape", Value::Array(vec![Value::Int(4)])), ("chunks", Value::Array(vec![Value::Int(-1)])), ("seed", Value::Int(1))])));
    // Operands: expressions, numbers, bools and tensors.
    let t = Tensor::new(&[2], vec![1.0f64, 2.0]).unwrap();
    let w = mt::where_(x.gt(0.5), &t, 0i64).mul(true);
    assert_eq!(w.value().get("y"), Some(&Value::Bool(true)));
    let inner = w.value().get("x").unwrap();
    assert_eq!(inner.get("y"), Some(&Value::Int(0)));
    assert_eq!(inner.get("x").unwrap().get("value"), Some(&Value::Tensor(t)));
    let s = x.slice(&[[Some(1), None, Some(-1)]]);
    assert_eq!(s.value().get("index"), Some(&Value::Array(vec![Value::Array(vec![Value::Int(1), Value::Nil, Value::Int(-1)])])));
}

#[test]
fn table_expressions_are_maps_in_canonical_order() {
    let t = Table::new(vec![Column::int64("a", vec![1, 2])]).unwrap();
    let e = md::table(&t).with("chunk_rows", 1).filter("a > 1").groupby(&["a"], &[md::agg("a", "count").named("n")]);
    let want = Value::Map(vec![
        ("x".into(), Value::Map(vec![
            ("x".into(), Value::Map(vec![
                ("op".into(), "table".into()),
                ("value".into(), Value::Table(t.clone())),
                ("chunk_rows".into(), Value::Int(1)),
            ])),
            ("op".into(), "filter".into()),
            ("where".into(), "a > 1".into()),
        ])),
        ("op".into(), "groupby".into()),
        ("aggs".into(), Value::Array(vec![Value::Array(vec!["a".into(), "count".into(), "n".into()])])),
        ("keys".into(), Value::Array(vec!["a".into()])),
    ]);
    assert_eq!(e.value(), &want);
    let s = md::read_csv("a\n1\n").sort(&["a"], &[]).head(3);
    assert_eq!(s.value().get("n"), Some(&Value::Int(3)));
    assert_eq!(s.value().get("x").unwrap().get("descending"), None);
    let j = md::read_csv("a\n1\n").join(&md::read_csv("a\n2\n"), &["a"]).select(&["a"]).assign("b", "a * 2");
    assert_eq!(j.value().get("expr"), Some(&Value::from("a * 2")));
    assert_eq!(j.value().get("x").unwrap().get("columns"), Some(&Value::Array(vec!["a".into()])));
}

/// total is the example of docs/tables.md ("In Rust").
fn total(t: Table) -> Result<f64, String> {
    let c = t.column("amount").and_then(|c| c.as_f64());
    let amounts = c.ok_or("want a float64 column amount")?;
    Ok(amounts.iter().sum())
}

#[test]
fn the_example_of_the_docs_sums_a_column() {
    let t = Table::new(vec![Column::float64("amount", vec![1.5, 2.0])]).unwrap();
    assert_eq!(total(t), Ok(3.5));
    let t = Table::new(vec![Column::int64("amount", vec![1])]).unwrap();
    assert_eq!(total(t), Err("want a float64 column amount".to_owned()));
}
