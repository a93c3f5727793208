//! Reading and writing matrices: `.npy` (2-D, f32 or f64 in; int64 or f64 out, C or
//! Fortran order) and `.csv` (numeric, an optional header line), chosen by extension.
//!
//! Outputs are written to a temporary file beside the target and renamed into place
//! only when every output of a command succeeded, so a failed command never leaves a
//! half-written file.

mod csv;
mod npy;

use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// A dense row-major matrix read from a file, in its stored precision.
#[derive(Clone, Debug, PartialEq)]
pub enum Matrix {
    /// 32-bit floats.
    F32 {
        /// Rows.
        n: usize,
        /// Columns.
        d: usize,
        /// Row-major values.
        values: Vec<f32>,
    },
    /// 64-bit floats.
    F64 {
        /// Rows.
        n: usize,
        /// Columns.
        d: usize,
        /// Row-major values.
        values: Vec<f64>,
    },
}

impl Matrix {
    /// `(rows, columns)`.
    pub fn shape(&self) -> (usize, usize) {
        match self {
            Matrix::F32 { n, d, .. } | Matrix::F64 { n, d, .. } => (*n, *d),
        }
    }

    /// The values widened to f64.
    pub fn to_f64(&self) -> Vec<f64> {
        match self {
            Matrix::F32 { values, .. } => values.iter().map(|&v| v as f64).collect(),
            Matrix::F64 { values, .. } => values.clone(),
        }
    }
}

/// A matrix to write.
#[derive(Clone, Copy, Debug)]
pub enum Output<'a> {
    /// int64 values (ids; −1 for none).
    I64(&'a [i64]),
    /// f64 values.
    F64(&'a [f64]),
    /// Text written as is, whatever the extension (e.g. JSON Lines telemetry).
    Text(&'a str),
    /// Bytes written as is, whatever the extension (e.g. a tree file).
    Bytes(&'a [u8]),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Npy,
    Csv,
}

fn format_of(path: &Path) -> Result<Format> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
    {
        Some(e) if e == "npy" => Ok(Format::Npy),
        Some(e) if e == "csv" => Ok(Format::Csv),
        _ => Err(Error::invalid(
            "file",
            format!("{}: unknown extension (expected .npy or .csv)", path.display()),
        )),
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Checks that `path` has an extension pcct can write (`.npy` or `.csv`).
pub fn check_output_path(path: &Path) -> Result<()> {
    format_of(path).map(|_| ())
}

/// Point ids from `.npy` (a 1-D integer array) or a text file with one id per line
/// (blank lines and `#` comments skipped). Errors name the file and the first bad entry;
/// negative ids or ids beyond the u32 range are errors.
pub fn read_ids(path: &Path) -> Result<Vec<u32>> {
    let bytes = std::fs::read(path).map_err(io_err(path))?;
    let bad = |reason: String| Error::invalid("ids", format!("{}: {reason}", path.display()));
    let is_npy = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("npy"));
    let raw: Vec<i64> = if is_npy {
        npy::parse_ids(&bytes).map_err(bad)?
    } else {
        let text = std::str::from_utf8(&bytes).map_err(|_| bad("not UTF-8 text".into()))?;
        text.lines()
            .enumerate()
            .map(|(i, l)| (i, l.split('#').next().unwrap_or("").trim()))
            .filter(|(_, l)| !l.is_empty())
            .map(|(i, l)| {
                l.parse::<i64>()
                    .map_err(|_| bad(format!("line {}: {l:?} is not an integer id", i + 1)))
            })
            .collect::<Result<_>>()?
    };
    raw.into_iter()
        .map(|id| {
            u32::try_from(id)
                .ok()
                .filter(|&i| i != crate::tree::NONE)
                .ok_or_else(|| bad(format!("id {id} is outside 0..{}", crate::tree::NONE)))
        })
        .collect()
}

/// Checks, before any work, that a text output (telemetry, JSON, SVG) can go to
/// `path`: its folder exists and it is not a folder itself.
pub fn check_text_path(path: &Path) -> Result<()> {
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    if parent.is_some_and(|p| !p.is_dir()) {
        return Err(Error::invalid(
            "file",
            format!("{}: its folder does not exist", path.display()),
        ));
    }
    if path.is_dir() {
        return Err(Error::invalid("file", format!("{}: is a folder", path.display())));
    }
    Ok(())
}

/// Checks, before any work, a command's files: every output can be written (its folder
/// exists, it is not a folder), no two outputs are the same file, and no output is one
/// of the inputs — by identity (two spellings of one path, a symbolic or hard link), not
/// by spelling.
pub fn check_files(inputs: &[&Path], outputs: &[&Path]) -> Result<()> {
    let mut seen: Vec<(&Path, FileId)> = Vec::with_capacity(outputs.len());
    for &out in outputs {
        check_text_path(out)?;
        let id = FileId::of(out);
        if let Some((other, _)) = seen.iter().find(|(_, o)| o.same(&id)) {
            return Err(Error::invalid(
                "file",
                format!(
                    "{} and {} are the same file: give each output its own",
                    other.display(),
                    out.display()
                ),
            ));
        }
        seen.push((out, id));
    }
    for &input in inputs {
        let id = FileId::of(input);
        if let Some((out, _)) = seen.iter().find(|(_, o)| o.same(&id)) {
            return Err(Error::invalid(
                "file",
                format!("{} would overwrite the input {}", out.display(), input.display()),
            ));
        }
    }
    Ok(())
}

/// What makes two paths one file: the canonical path (of the folder, for a file not
/// written yet) and, for existing files on Unix, the device and inode.
struct FileId {
    path: PathBuf,
    inode: Option<(u64, u64)>,
}

impl FileId {
    fn of(path: &Path) -> Self {
        let resolved = std::fs::canonicalize(path).unwrap_or_else(|_| {
            let parent = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let parent = std::fs::canonicalize(parent).unwrap_or_else(|_| parent.to_path_buf());
            parent.join(path.file_name().unwrap_or_default())
        });
        #[cfg(unix)]
        let inode = {
            use std::os::unix::fs::MetadataExt;
            std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
        };
        #[cfg(not(unix))]
        let inode = None;
        FileId {
            path: resolved,
            inode,
        }
    }

    fn same(&self, other: &FileId) -> bool {
        self.path == other.path || (self.inode.is_some() && self.inode == other.inode)
    }
}

/// What line 1 of a CSV file is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CsvHeader {
    /// A header when it holds no number at all, else data; the reader says which.
    #[default]
    Auto,
    /// A header: skipped.
    Yes,
    /// Data.
    No,
}

/// Reads a 2-D matrix from `.npy` or `.csv` (line 1 as `header` says). Returns the matrix
/// and, for a CSV file read with [`CsvHeader::Auto`], whether line 1 was taken for a
/// header (callers say so: the guess is never silent).
pub fn read_matrix(path: &Path, header: CsvHeader) -> Result<(Matrix, Option<bool>)> {
    let format = format_of(path)?;
    let bytes = std::fs::read(path).map_err(io_err(path))?;
    let (m, guessed) = match format {
        Format::Npy => npy::parse(&bytes).map(|m| (m, None)),
        Format::Csv => csv::parse(&bytes, header),
    }
    .map_err(|reason| Error::invalid("file", format!("{}: {reason}", path.display())))?;
    let (n, d) = m.shape();
    if n == 0 || d == 0 {
        return Err(Error::invalid(
            "file",
            format!("{}: empty matrix ({n} × {d})", path.display()),
        ));
    }
    Ok((m, guessed))
}

/// Writes several `rows × cols` matrices, all or none: each goes to a temporary file
/// first, and only when all are written are they renamed into place.
pub fn write_all(outputs: &[(&Path, Output<'_>, usize, usize)]) -> Result<()> {
    let mut temps: Vec<(PathBuf, &Path)> = Vec::new();
    let cleanup = |temps: &[(PathBuf, &Path)]| {
        for (t, _) in temps {
            let _ = std::fs::remove_file(t);
        }
    };
    for &(path, data, rows, cols) in outputs {
        let bytes = match (data, format_of(path)) {
            (Output::Text(t), _) => t.as_bytes().to_vec(),
            (Output::Bytes(b), _) => b.to_vec(),
            (_, Ok(Format::Npy)) => npy::encode(data, rows, cols),
            (_, Ok(Format::Csv)) => csv::encode(data, cols),
            (_, Err(e)) => {
                cleanup(&temps);
                return Err(e);
            }
        };
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".pcct-tmp");
        let tmp = PathBuf::from(tmp);
        if let Err(e) = std::fs::write(&tmp, bytes) {
            cleanup(&temps);
            let _ = std::fs::remove_file(&tmp);
            return Err(Error::Io {
                path: path.to_path_buf(),
                source: e,
            });
        }
        temps.push((tmp, path));
    }
    for (i, (tmp, path)) in temps.iter().enumerate() {
        if let Err(e) = std::fs::rename(tmp, path) {
            cleanup(&temps[i..]);
            return Err(Error::Io {
                path: path.to_path_buf(),
                source: e,
            });
        }
    }
    Ok(())
}
