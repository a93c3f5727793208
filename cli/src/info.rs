//! `pcct info`: one fact per line about this CPU and how pcct will run on it
//! ([`pcct::about::facts`]).

use pcct::{Error, Result};
use std::io::Write;

/// Writes the facts to `out`. Fails if `PCCT_ISA` names an unknown or unavailable level.
pub fn run(out: &mut impl Write) -> Result<()> {
    for (name, value) in pcct::about::facts()? {
        writeln!(out, "{name}: {value}").map_err(|source| Error::Io {
            path: "<stdout>".into(),
            source,
        })?;
    }
    Ok(())
}
