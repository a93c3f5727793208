//! The one error type of pcct.

use pcct_kernels::IsaError;
use std::fmt;
use std::path::PathBuf;

/// Everything that can go wrong in pcct, each naming what is wrong.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The kernel ISA level could not be used (unknown name or missing on this CPU).
    Isa(IsaError),
    /// A parameter is out of its allowed range.
    InvalidArgument {
        /// The parameter's name.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A file could not be read or written.
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl Error {
    /// An [`Error::InvalidArgument`] for parameter `name`.
    pub fn invalid(name: &'static str, reason: String) -> Self {
        Error::InvalidArgument { name, reason }
    }
}

/// `Result` with pcct's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Isa(e) => write!(f, "{e}"),
            Error::InvalidArgument { name, reason } => write!(f, "invalid {name}: {reason}"),
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Isa(e) => Some(e),
            Error::Io { source, .. } => Some(source),
            Error::InvalidArgument { .. } => None,
        }
    }
}

impl From<IsaError> for Error {
    fn from(e: IsaError) -> Self {
        Error::Isa(e)
    }
}
