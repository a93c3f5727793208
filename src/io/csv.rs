//! Numeric CSV: comma-separated, one row per line, an optional header line.

use super::{CsvHeader, Matrix, Output};
use std::fmt::Write;

/// Parses numeric CSV; `header` says what line 1 is (see [`CsvHeader`]). Returns the
/// matrix and, where `header` was [`CsvHeader::Auto`], whether line 1 was taken for a
/// header. A leading UTF-8 byte-order mark is skipped.
pub(super) fn parse(bytes: &[u8], header: CsvHeader) -> Result<(Matrix, Option<bool>), String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())?;
    let mut values = Vec::new();
    let mut d = None;
    let mut n = 0;
    let mut guessed = None;
    for (lineno, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if lineno == 0 {
            let skip = match header {
                CsvHeader::Yes => true,
                CsvHeader::No => false,
                // A header holds no number at all; a line with some numbers is data (and
                // its other fields are errors, as on any line).
                CsvHeader::Auto => {
                    let is_header = line.split(',').all(|f| f.trim().parse::<f64>().is_err());
                    guessed = Some(is_header);
                    is_header
                }
            };
            if skip {
                continue;
            }
        }
        let finite = |f: &str| f.trim().parse::<f64>().ok().filter(|v| v.is_finite());
        let fields: Option<Vec<f64>> = line.split(',').map(finite).collect();
        let Some(row) = fields else {
            let (col, bad) = line
                .split(',')
                .enumerate()
                .find(|(_, f)| finite(f).is_none())
                .expect("one field failed");
            return Err(format!(
                "line {}, column {}: {:?} is not a finite number",
                lineno + 1,
                col + 1,
                bad.trim()
            ));
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
    let m = Matrix::F64 {
        n,
        d: d.unwrap_or(0),
        values,
    };
    Ok((m, guessed))
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
        let parse = |b: &[u8]| parse(b, CsvHeader::Auto).map(|(m, _)| m);
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
        let back = parse(&encode(Output::F64(&[0.1, -7.25]), 2)).unwrap();
        assert_eq!(
            back,
            Matrix::F64 {
                n: 1,
                d: 2,
                values: vec![0.1, -7.25]
            }
        );
        // Missing and non-finite values are one error, wherever they stand.
        for bad in ["nan", "NaN", "inf", "-inf", "NA", ""] {
            let text = format!("1,2\n3,{bad}\n");
            let err = parse(text.as_bytes()).unwrap_err();
            assert!(
                err.contains("line 2, column 2") && err.contains("not a finite number"),
                "{bad}: {err}"
            );
        }
    }

    /// Line 1 is a header only when asked or when it holds no number; a byte-order
    /// mark is skipped; a line 1 with some numbers and a gap is an error like any line.
    #[test]
    fn line_one_is_never_guessed_silently() {
        let two = |values: Vec<f64>| Matrix::F64 { n: 2, d: 2, values };
        let bom = b"\xEF\xBB\xBF1,2\n3,4\n";
        assert_eq!(
            parse(bom, CsvHeader::Auto).unwrap(),
            (two(vec![1.0, 2.0, 3.0, 4.0]), Some(false))
        );
        let pandas = b"0,1\n5,6\n7,8\n";
        assert_eq!(
            parse(pandas, CsvHeader::Yes).unwrap(),
            (two(vec![5.0, 6.0, 7.0, 8.0]), None)
        );
        assert_eq!(parse(pandas, CsvHeader::Auto).unwrap().1, Some(false));
        assert_eq!(
            parse(b"x,y\n5,6\n7,8\n", CsvHeader::Auto).unwrap(),
            (two(vec![5.0, 6.0, 7.0, 8.0]), Some(true))
        );
        assert!(parse(b"x,y\n5,6\n", CsvHeader::No)
            .unwrap_err()
            .contains("line 1, column 1"));
        assert!(parse(b"1,NA,3\n4,5,6\n", CsvHeader::Auto)
            .unwrap_err()
            .contains("line 1, column 2"));
        assert!(parse(b"1,2,3\n4,NA,6\n", CsvHeader::Auto)
            .unwrap_err()
            .contains("line 2, column 2"));
    }

    /// Seeded mutations of a valid file (bytes from the characters CSV files are made of,
    /// a byte-order mark, invalid UTF-8; truncations) never panic under any header mode,
    /// and every matrix read is whole.
    #[test]
    fn mutated_files_never_panic() {
        let good = encode(Output::F64(&[1.0, -2.5, 3e-7, 4.0, 5.0, 6.0]), 2);
        let alphabet = b"0123456789,.-+eE \n\rNAnaif\xEF\xBB\xBF\xFF";
        let mut rng = crate::datagen::Rng::new(7);
        let (mut ok, mut err) = (0, 0);
        for _ in 0..5000 {
            let mut b = good.clone();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(b.len() as u64 + 1) as usize;
                let c = alphabet[rng.below(alphabet.len() as u64) as usize];
                match rng.below(3) {
                    0 if at < b.len() => b[at] = c,
                    1 if at < b.len() => {
                        b.remove(at);
                    }
                    _ => b.insert(at.min(b.len()), c),
                }
            }
            if rng.below(4) == 0 {
                b.truncate(rng.below(b.len() as u64 + 1) as usize);
            }
            for header in [CsvHeader::Auto, CsvHeader::Yes, CsvHeader::No] {
                match parse(&b, header) {
                    Ok((m, _)) => {
                        let (n, d) = m.shape();
                        assert_eq!(n * d, m.to_f64().len(), "{:?}", String::from_utf8_lossy(&b));
                        ok += 1;
                    }
                    Err(_) => err += 1,
                }
            }
        }
        assert!(
            ok > 0 && err > 0,
            "mutations should give both outcomes: {ok} ok, {err} errors"
        );
    }
}
