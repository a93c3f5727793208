//! The `.npy` format (versions 1–3): little-endian f4/f8 in, i8/f8 out, 2-D.

use super::{Matrix, Output};

const MAGIC: &[u8] = b"\x93NUMPY";

/// The value of `'key':` in a numpy header dict, as raw text up to the next key.
fn field<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header.find(&format!("'{key}'"))? + key.len() + 2;
    let rest = header[at..].trim_start().strip_prefix(':')?.trim_start();
    if let Some(r) = rest.strip_prefix('(') {
        return Some(&r[..r.find(')')?]);
    }
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    Some(rest[..end].trim())
}

/// Point ids from a 1-D (or `n × 1`) integer `.npy` (int64, int32, uint32 or uint64).
pub(super) fn parse_ids(bytes: &[u8]) -> Result<Vec<i64>, String> {
    let Header {
        descr, shape, body, ..
    } = header(bytes)?;
    let n = match shape[..] {
        [n] | [n, 1] | [1, n] => n,
        _ => return Err(format!("expected a 1-D array of ids, found shape {shape:?}")),
    };
    let (width, read): (usize, ReadId) = match descr {
        "<i8" | "=i8" => (8, |c| Ok(i64::from_le_bytes(c.try_into().expect("8")))),
        "<u8" | "=u8" => (8, |c| {
            i64::try_from(u64::from_le_bytes(c.try_into().expect("8")))
                .map_err(|_| "an id beyond int64".to_string())
        }),
        "<i4" | "=i4" => (4, |c| Ok(i32::from_le_bytes(c.try_into().expect("4")) as i64)),
        "<u4" | "=u4" => (4, |c| Ok(u32::from_le_bytes(c.try_into().expect("4")) as i64)),
        other => {
            return Err(format!(
                "unsupported id dtype {other:?} (expected int64, int32, uint32 or uint64)"
            ))
        }
    };
    let len = n.checked_mul(width).ok_or("shape overflows")?;
    let data = body
        .get(..len)
        .ok_or_else(|| format!("truncated: {} data bytes for {n} ids", body.len()))?;
    data.chunks_exact(width).map(read).collect()
}

/// Decodes one little-endian id.
type ReadId = fn(&[u8]) -> Result<i64, String>;

/// An `.npy` header's fields and the data bytes after it.
struct Header<'a> {
    descr: &'a str,
    fortran: bool,
    shape: Vec<usize>,
    body: &'a [u8],
}

/// The header fields (dtype, Fortran order, shape) and the data bytes.
fn header(bytes: &[u8]) -> Result<Header<'_>, String> {
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err("not an .npy file (bad magic)".into());
    }
    let (hlen, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize, 12),
        v => return Err(format!("unsupported .npy version {v}")),
    };
    let header = bytes
        .get(start..start + hlen)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or("truncated or non-text .npy header")?;
    let body = &bytes[start + hlen..];
    let descr = field(header, "descr")
        .ok_or("no 'descr' in .npy header")?
        .trim_matches(['\'', '"']);
    let fortran = match field(header, "fortran_order") {
        Some("True") => true,
        Some("False") => false,
        _ => return Err("no valid 'fortran_order' in .npy header".into()),
    };
    let shape: Vec<usize> = field(header, "shape")
        .ok_or("no 'shape' in .npy header")?
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| format!("bad shape entry {s:?}")))
        .collect::<Result<_, _>>()?;
    Ok(Header {
        descr,
        fortran,
        shape,
        body,
    })
}

pub(super) fn parse(bytes: &[u8]) -> Result<Matrix, String> {
    let Header {
        descr,
        fortran,
        shape,
        body,
    } = header(bytes)?;
    let [n, d] = shape[..] else {
        return Err(format!("expected a 2-D array, found shape {shape:?}"));
    };
    let count = n.checked_mul(d).ok_or("shape overflows")?;
    let width = match descr {
        "<f4" | "=f4" => 4,
        "<f8" | "=f8" => 8,
        ">f4" | ">f8" => return Err("big-endian .npy data is not supported".into()),
        other => {
            return Err(format!(
                "unsupported dtype {other:?} (expected float32 or float64)"
            ))
        }
    };
    let bytes = count.checked_mul(width).ok_or("shape overflows")?;
    let data = body.get(..bytes).ok_or_else(|| {
        format!(
            "truncated: {} data bytes for {n} × {d} values of {width} bytes",
            body.len()
        )
    })?;
    // Fortran order stores column after column: value (i, j) at j·n + i.
    Ok(if width == 4 {
        let raw: Vec<f32> = data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        Matrix::F32 {
            n,
            d,
            values: row_major(raw, n, d, fortran),
        }
    } else {
        let raw: Vec<f64> = data
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
            .collect();
        Matrix::F64 {
            n,
            d,
            values: row_major(raw, n, d, fortran),
        }
    })
}

/// `raw` in row-major order; Fortran order stores column after column, value (i, j) at j·n + i.
fn row_major<T: Copy>(raw: Vec<T>, n: usize, d: usize, fortran: bool) -> Vec<T> {
    if !fortran {
        return raw;
    }
    (0..n * d).map(|at| raw[(at % d) * n + at / d]).collect()
}

pub(super) fn encode(data: Output<'_>, rows: usize, cols: usize) -> Vec<u8> {
    let descr = match data {
        Output::I64(_) => "<i8",
        Output::F64(_) | Output::Text(_) | Output::Bytes(_) => "<f8",
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    // Pad so that magic + version + length + header is a multiple of 64, ending in '\n'.
    let total = MAGIC.len() + 2 + 2 + header.len() + 1;
    header.push_str(&" ".repeat(total.next_multiple_of(64) - total));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + rows * cols * 8);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    match data {
        Output::I64(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        Output::F64(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        Output::Text(t) => out.extend_from_slice(t.as_bytes()),
        Output::Bytes(b) => out.extend_from_slice(b),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A version-1 file with the given header dict and data bytes.
    fn file(dict: &str, data: &[u8]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
        out.extend_from_slice(dict.as_bytes());
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn round_trip_and_fortran_order() {
        let vals = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let bytes = encode(Output::F64(&vals), 2, 3);
        assert_eq!((bytes.len() - 48) % 64, 0, "header padded to 64 bytes");
        assert_eq!(
            parse(&bytes).unwrap(),
            Matrix::F64 {
                n: 2,
                d: 3,
                values: vals.to_vec()
            }
        );
        // Fortran order stores columns: [1,2,3,4,5,6] as a 2×3 is [[1,3,5],[2,4,6]].
        let data: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
        let f = file(
            "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }\n",
            &data,
        );
        assert_eq!(
            parse(&f).unwrap(),
            Matrix::F64 {
                n: 2,
                d: 3,
                values: vec![1.0, 3.0, 5.0, 2.0, 4.0, 6.0]
            }
        );
        let data32: Vec<u8> = [1.5f32, 2.5].iter().flat_map(|v| v.to_le_bytes()).collect();
        let f = file(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1), }\n",
            &data32,
        );
        assert_eq!(
            parse(&f).unwrap(),
            Matrix::F32 {
                n: 2,
                d: 1,
                values: vec![1.5, 2.5]
            }
        );
        let f = file(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n",
            &data32,
        );
        assert!(parse(&f).unwrap_err().contains("2-D"));
    }

    /// Seeded mutations of a valid file (flipped bytes, truncations) never panic.
    #[test]
    fn mutated_files_never_panic() {
        let good = encode(Output::F64(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]), 3, 2);
        let mut rng = crate::datagen::Rng::new(99);
        let (mut ok, mut err) = (0, 0);
        for _ in 0..5000 {
            let mut b = good.clone();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(b.len() as u64) as usize;
                b[at] = rng.next_u64() as u8;
            }
            if rng.below(4) == 0 {
                b.truncate(rng.below(b.len() as u64) as usize);
            }
            match parse(&b) {
                Ok(m) => {
                    let (n, d) = m.shape();
                    assert!(n.checked_mul(d).is_some());
                    ok += 1;
                }
                Err(_) => err += 1,
            }
        }
        assert!(
            ok > 0 && err > 0,
            "mutations should give both outcomes: {ok} ok, {err} errors"
        );
    }

    #[test]
    fn bad_files_are_errors() {
        assert!(parse(b"hello").is_err());
        let bytes = encode(Output::F64(&[1.0, 2.0]), 1, 2);
        assert!(parse(&bytes[..bytes.len() - 1])
            .unwrap_err()
            .contains("truncated"));
        let ints = encode(Output::I64(&[1, 2]), 1, 2);
        assert!(parse(&ints).unwrap_err().contains("unsupported dtype"));
    }
}
