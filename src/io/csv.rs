//! Numeric CSV: comma-separated, one row per line, an optional header line.

use super::{Matrix, Output};
use std::fmt::Write;

pub(super) fn parse(bytes: &[u8]) -> Result<Matrix, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())?;
    let mut values = Vec::new();
    let mut d = None;
    let mut n = 0;
    for (lineno, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let fields: Result<Vec<f64>, _> = line.split(',').map(|f| f.trim().parse::<f64>()).collect();
        let row = match fields {
            Ok(r) => r,
            Err(_) if lineno == 0 => continue, // a header line
            Err(_) => {
                let (col, bad) = line
                    .split(',')
                    .enumerate()
                    .find(|(_, f)| f.trim().parse::<f64>().is_err())
                    .expect("one field failed");
                return Err(format!(
                    "line {}, column {}: {:?} is not a number",
                    lineno + 1,
                    col + 1,
                    bad.trim()
                ));
            }
        };
        match d {
            None => d = Some(row.len()),
            Some(d) if d != row.len() => {
                return Err(format!(
                    "line {} has {} fields, earlier lines have {d} (ragged rows)",
                    lineno + 1,
                    row.len()
                ));
            }
            _ => {}
        }
        values.extend(row);
        n += 1;
    }
    Ok(Matrix::F64 {
        n,
        d: d.unwrap_or(0),
        values,
    })
}

pub(super) fn encode(data: Output<'_>, cols: usize) -> Vec<u8> {
    let mut s = String::new();
    let cols = cols.max(1);
    match data {
        Output::I64(v) => v.chunks(cols).for_each(|r| {
            let line: Vec<String> = r.iter().map(|x| x.to_string()).collect();
            let _ = writeln!(s, "{}", line.join(","));
        }),
        Output::F64(v) => v.chunks(cols).for_each(|r| {
            let line: Vec<String> = r.iter().map(|x| format!("{x:?}")).collect();
            let _ = writeln!(s, "{}", line.join(","));
        }),
        Output::Text(t) => s.push_str(t),
        Output::Bytes(b) => return b.to_vec(),
    }
    s.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_ragged_and_bad_fields() {
        let m = parse(b"x,y\n1,2\n3.5,-4e2\n\n").unwrap();
        assert_eq!(
            m,
            Matrix::F64 {
                n: 2,
                d: 2,
                values: vec![1.0, 2.0, 3.5, -400.0]
            }
        );
        assert!(parse(b"1,2\n3\n").unwrap_err().contains("ragged"));
        assert!(parse(b"1,2\n3,abc\n").unwrap_err().contains("line 2, column 2"));
        let back = parse(&encode(Output::F64(&[0.1, f64::INFINITY]), 2)).unwrap();
        assert_eq!(
            back,
            Matrix::F64 {
                n: 1,
                d: 2,
                values: vec![0.1, f64::INFINITY]
            }
        );
    }
}
