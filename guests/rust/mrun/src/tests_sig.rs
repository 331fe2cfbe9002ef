//! Tests of the signature lines that export! derives from the functions' types.

use crate::sig::{SigLine, SigName};
use crate::{md, mt, Kwargs, Number, Object, SigType, Table, Tensor, Value};
use std::collections::{BTreeMap, HashMap};

fn name<T: SigType + ?Sized>() -> &'static str {
    // A leaked copy: the constant lives in a temporary otherwise.
    let n: &'static SigName = Box::leak(Box::new(T::NAME));
    n.as_str()
}

fn result<T: SigType + ?Sized>() -> &'static str {
    let n: &'static SigName = Box::leak(Box::new(T::RESULT));
    n.as_str()
}

#[test]
fn types_have_value_model_names() {
    assert_eq!(name::<i64>(), "int");
    assert_eq!(name::<u8>(), "int");
    assert_eq!(name::<usize>(), "int");
    assert_eq!(name::<f32>(), "float");
    assert_eq!(name::<bool>(), "bool");
    assert_eq!(name::<&str>(), "str");
    assert_eq!(name::<String>(), "str");
    assert_eq!(name::<&[u8]>(), "bytes");
    assert_eq!(name::<Vec<u8>>(), "bytes");
    assert_eq!(name::<Vec<f64>>(), "list[float]");
    assert_eq!(name::<&[i32]>(), "list[int]");
    assert_eq!(name::<Vec<Vec<u8>>>(), "list[bytes]");
    assert_eq!(name::<Vec<Vec<String>>>(), "list[list[str]]");
    assert_eq!(name::<Vec<Number>>(), "list");
    assert_eq!(name::<Vec<Value>>(), "list");
    assert_eq!(name::<BTreeMap<String, i64>>(), "map[str, int]");
    assert_eq!(name::<HashMap<&str, Vec<bool>>>(), "map[str, list[bool]]");
    assert_eq!(name::<BTreeMap<String, Value>>(), "map");
    assert_eq!(name::<Value>(), "any");
    assert_eq!(name::<Number>(), "any");
    assert_eq!(name::<Object>(), "any");
    assert_eq!(name::<Option<i64>>(), "any");
    assert_eq!(name::<Tensor>(), "tensor");
    assert_eq!(name::<Table>(), "table");
    assert_eq!(name::<mt::Expr>(), "map[str, any]");
    assert_eq!(name::<md::Expr>(), "map[str, any]");
    assert_eq!(name::<()>(), "none");
    assert_eq!(name::<(i64, u64)>(), "list[int]");
    assert_eq!(name::<(i64, String)>(), "list");
    assert_eq!(name::<(f64,)>(), "list[float]");
    assert_eq!(name::<Result<Vec<i64>, String>>(), "list[int]");
}

#[test]
fn tuple_results_are_outputs() {
    assert_eq!(result::<(Vec<f64>, Vec<f64>)>(), "(list[float], list[float])");
    assert_eq!(result::<Result<(i64, i64), String>>(), "(int, int)");
    assert_eq!(result::<(f64,)>(), "list[float]");
    assert_eq!(result::<Vec<(i64, i64)>>(), "list[list[int]]");
    assert_eq!(result::<i64>(), "int");
}

fn text(l: SigLine) -> String {
    l.as_str().to_owned()
}

// A type without SigType.
struct Point;

#[test]
fn lines_are_derived_from_the_function() {
    const INC: SigLine = crate::__sig_line!(() inc (x: i64) (Result<i64, String>)
        #[doc = " inc(x) is x + 1."]
        #[doc = " It fails when x + 1 overflows."]);
    assert_eq!(text(INC), "inc(x: int) -> int  -- inc(x) is x + 1.\n");

    // The first sentence, over two lines; no result is none; an unknown type is any.
    const F: SigLine = crate::__sig_line!(() f (p: Point, r#type: &str) ()
        #[doc = " f(p, type) does nothing with p, a point, and"]
        #[doc = " type. Then it returns."]
        #[inline]);
    assert_eq!(text(F), "f(p: any, type: str) -> none  -- f(p, type) does nothing with p, a point, and type.\n");

    // A blank line ends the doc; a name with a space is quoted.
    const G: SigLine = crate::__sig_line!(("odd name") g () (Vec<(i64, i64)>)
        #[doc = " Returns pairs"] #[doc = ""] #[doc = " More."]);
    assert_eq!(text(G), "\"odd name\"() -> list[list[int]]  -- Returns pairs\n");
}

#[test]
fn options_say_what_the_types_cannot() {
    const GREET: SigLine = crate::__sig_line!(() greet (name: &str, kw: Kwargs) (Result<String, crate::Error>)
        #[doc = " greet(name) greets."]
        #[mrun(kwargs = r#"greeting: str = "hello", punct: str = "!""#)]);
    assert_eq!(text(GREET), "greet(name: str, *, greeting: str = \"hello\", punct: str = \"!\") -> str  -- greet(name) greets.\n");

    const KW_ONLY: SigLine = crate::__sig_line!(() k (kw: Kwargs) ()
        #[doc = " k."] #[mrun(kwargs = "n: int")]);
    assert_eq!(text(KW_ONLY), "k(*, n: int) -> none  -- k.\n");

    const MM: SigLine = crate::__sig_line!(() mm (a: Tensor, b: Tensor) (Tensor<'static>)
        #[doc = " mm(a, b) multiplies."]
        #[mrun(impure, args(a = "tensor[float64]", b = "tensor[float64]"), returns = "tensor[float64]")]);
    assert_eq!(
        text(MM),
        "mm(a: tensor[float64], b: tensor[float64]) -> tensor[float64]  impure  -- mm(a, b) multiplies.\n"
    );

    const HAND: SigLine = crate::__sig_line!(() h (x: Value) (Value)
        #[mrun(sig = "h(x: int) -> int")] #[doc = " Hand-written."]);
    assert_eq!(text(HAND), "h(x: int) -> int  -- Hand-written.\n");
}
