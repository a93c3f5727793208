//! Telemetry records as JSON Lines: one flat object per line.
//!
//! Schema of `pcct knn --stats FILE` (one record per line, `"record"` names the kind):
//! - `build`: `build_s`, `points`, `nodes`, `root_level`, `builder`;
//! - `query`: `mode` (`knn`|`self`|`predecessor`), `path` (`tree`|`scan`), `queries`,
//!   `k`, `query_s`, `distance_evals`, `exact_evals`, `evals_per_query`;
//! - `summary`: `build_s`, `query_s`, `distance_evals` (total), `path`, `n`, `dim`,
//!   `queries`, `k`, `threads`, `isa`, `dtype`.

use std::fmt::Write;

/// A JSON value of a record field.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A number (non-finite numbers are written as `null`).
    Num(f64),
    /// An integer.
    Int(u64),
    /// A string.
    Str(String),
}

/// One JSON Lines record: ordered `(key, value)` fields.
#[derive(Clone, Debug, Default)]
pub struct Record(Vec<(&'static str, Value)>);

impl Record {
    /// A record whose `"record"` field is `kind`.
    pub fn new(kind: &str) -> Self {
        Record(vec![("record", Value::Str(kind.to_string()))])
    }

    /// Adds a field (replacing the value of a key already present).
    pub fn with(mut self, key: &'static str, value: Value) -> Self {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
        self
    }

    /// The record as one line of JSON (without the newline).
    pub fn to_json(&self) -> String {
        let mut s = String::from("{");
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            let _ = write!(s, "\"{k}\":");
            match v {
                Value::Num(x) if x.is_finite() => {
                    let _ = write!(s, "{x:?}");
                }
                Value::Num(_) => s.push_str("null"),
                Value::Int(x) => {
                    let _ = write!(s, "{x}");
                }
                Value::Str(t) => {
                    s.push('"');
                    for c in t.chars() {
                        match c {
                            '"' => s.push_str("\\\""),
                            '\\' => s.push_str("\\\\"),
                            c if (c as u32) < 0x20 => {
                                let _ = write!(s, "\\u{:04x}", c as u32);
                            }
                            c => s.push(c),
                        }
                    }
                    s.push('"');
                }
            }
        }
        s.push('}');
        s
    }
}

/// A record read back from JSON: a flat object of numbers, strings and `null`s (the
/// records this module writes; nested values are refused).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Parsed(pub Vec<(String, Value)>);

impl Parsed {
    /// Parses one line. Errors name the column where the text stops being a flat JSON object.
    pub fn parse(line: &str) -> Result<Parsed, String> {
        let mut p = Cursor {
            s: line.as_bytes(),
            i: 0,
        };
        let mut fields = Vec::new();
        p.expect(b'{')?;
        if p.peek() == Some(b'}') {
            p.i += 1;
        } else {
            loop {
                let key = p.string()?;
                p.expect(b':')?;
                let value = p.value()?;
                fields.push((key, value));
                match p.next() {
                    Some(b',') => continue,
                    Some(b'}') => break,
                    _ => return Err(p.error("expected , or }")),
                }
            }
        }
        if p.peek().is_some() {
            return Err(p.error("text after the object"));
        }
        Ok(Parsed(fields))
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The string value of `key`.
    pub fn str(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// The numeric value of `key` (integers widened).
    pub fn num(&self, key: &str) -> Option<f64> {
        match self.get(key) {
            Some(Value::Num(x)) => Some(*x),
            Some(Value::Int(x)) => Some(*x as f64),
            _ => None,
        }
    }
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn error(&self, what: &str) -> String {
        format!("column {}: {what}", self.i + 1)
    }

    fn skip_ws(&mut self) {
        while self.s.get(self.i).is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.s.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.peek();
        self.i += c.is_some() as usize;
        c
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.next() == Some(c) {
            Ok(())
        } else {
            Err(self.error(&format!("expected {}", c as char)))
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.expect(b'"')?;
        let mut out = Vec::new();
        loop {
            let c = *self
                .s
                .get(self.i)
                .ok_or_else(|| self.error("unterminated string"))?;
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let e = *self
                        .s
                        .get(self.i)
                        .ok_or_else(|| self.error("unterminated escape"))?;
                    self.i += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'u' => {
                            let hex = self
                                .s
                                .get(self.i..self.i + 4)
                                .and_then(|h| std::str::from_utf8(h).ok())
                                .and_then(|h| u32::from_str_radix(h, 16).ok())
                                .and_then(char::from_u32)
                                .ok_or_else(|| self.error("bad \\u escape"))?;
                            self.i += 4;
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(hex.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => return Err(self.error("unknown escape")),
                    }
                }
                c => out.push(c),
            }
        }
        String::from_utf8(out).map_err(|_| self.error("a string is not UTF-8"))
    }

    fn value(&mut self) -> Result<Value, String> {
        match self.peek() {
            Some(b'"') => self.string().map(Value::Str),
            Some(b'n') if self.s[self.i..].starts_with(b"null") => {
                self.i += 4;
                Ok(Value::Num(f64::NAN))
            }
            Some(c) if c == b'-' || c.is_ascii_digit() => {
                let start = self.i;
                while self
                    .s
                    .get(self.i)
                    .is_some_and(|c| c.is_ascii_digit() || b"+-.eE".contains(c))
                {
                    self.i += 1;
                }
                let text = std::str::from_utf8(&self.s[start..self.i]).expect("ASCII");
                if let Ok(v) = text.parse::<u64>() {
                    Ok(Value::Int(v))
                } else {
                    text.parse::<f64>()
                        .map(Value::Num)
                        .map_err(|_| self.error(&format!("bad number {text:?}")))
                }
            }
            _ => Err(self.error("expected a string, a number or null")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_parse_back() {
        let r = Record::new("batch")
            .with("size", Value::Int(7))
            .with("t", Value::Num(-1.5e-3))
            .with("s", Value::Str("q\"u\\o\u{1}te ℓ".into()))
            .with("x", Value::Num(f64::INFINITY));
        let p = Parsed::parse(&r.to_json()).unwrap();
        assert_eq!(p.str("record"), Some("batch"));
        assert_eq!(p.num("size"), Some(7.0));
        assert_eq!(p.num("t"), Some(-1.5e-3));
        assert_eq!(p.str("s"), Some("q\"u\\o\u{1}te ℓ"));
        assert!(p.num("x").unwrap().is_nan());
        assert_eq!(Parsed::parse(" { } ").unwrap(), Parsed::default());
        for bad in [
            "",
            "{",
            "{\"a\":}",
            "{\"a\":1,}",
            "{\"a\":[1]}",
            "{\"a\":1} x",
            "{\"a\":\"\\q\"}",
        ] {
            assert!(Parsed::parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn records_are_json() {
        let r = Record::new("summary")
            .with("build_s", Value::Num(0.5))
            .with("distance_evals", Value::Int(42))
            .with("path", Value::Str("a\"b".into()))
            .with("x", Value::Num(f64::NAN));
        assert_eq!(
            r.to_json(),
            r#"{"record":"summary","build_s":0.5,"distance_evals":42,"path":"a\"b","x":null}"#
        );
    }
}
