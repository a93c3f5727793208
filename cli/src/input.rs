//! Reading input matrices, and the notes a command leaves on stderr once it has
//! succeeded (a failed command prints its one error line only).

use clap::Args;
use pcct::io::{read_matrix, CsvHeader, Matrix};
use pcct::Result;
use std::path::Path;
use std::sync::Mutex;

/// Notes for stderr, printed by [`flush_notes`] when the command succeeds.
static NOTES: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Keeps `text` for stderr, printed if the command succeeds.
pub(crate) fn note(text: String) {
    NOTES.lock().unwrap_or_else(|p| p.into_inner()).push(text);
}

/// Prints the notes kept so far.
pub(crate) fn flush_notes() {
    for n in NOTES.lock().unwrap_or_else(|p| p.into_inner()).drain(..) {
        eprintln!("pcct: note: {n}");
    }
}

/// What line 1 of CSV inputs is: `--header`, `--no-header`, or neither (guessed).
#[derive(Args, Debug, Clone, Copy)]
pub struct HeaderArgs {
    /// Line 1 of CSV inputs is a header (skipped). Without --header or --no-header a line 1
    /// that holds no number is taken for a header, and stderr says what it was taken for.
    #[arg(long, conflicts_with = "no_header")]
    header: bool,
    /// Line 1 of CSV inputs is data.
    #[arg(long)]
    no_header: bool,
}

impl HeaderArgs {
    /// The reader's setting.
    pub fn mode(self) -> CsvHeader {
        match (self.header, self.no_header) {
            (true, _) => CsvHeader::Yes,
            (_, true) => CsvHeader::No,
            _ => CsvHeader::Auto,
        }
    }
}

/// The matrix in `path`; what a guessed CSV header was taken for becomes a note.
pub(crate) fn read_input(path: &Path, header: CsvHeader) -> Result<Matrix> {
    let (m, guessed) = read_matrix(path, header)?;
    match guessed {
        Some(true) => note(format!(
            "{}: line 1 read as a header (it holds no number); --no-header reads it as data",
            path.display()
        )),
        Some(false) => note(format!(
            "{}: line 1 read as data (it holds only numbers); --header skips it",
            path.display()
        )),
        None => {}
    }
    Ok(m)
}
