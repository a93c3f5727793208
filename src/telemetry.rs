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
#[derive(Clone, Debug)]
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

#[cfg(test)]
mod tests {
    use super::*;

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
