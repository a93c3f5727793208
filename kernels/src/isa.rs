//! Instruction-set levels, CPU-feature proof tokens and the `PCCT_ISA` override.
//!
//! Every SIMD level has a zero-sized *token* type. A token can only be obtained
//! through [`Avx2Fma::try_new`] (or its siblings), which checks the running CPU
//! once and caches the answer, or through an `unsafe` `new_unchecked` whose
//! caller promises the features are present. Code that holds a token may call
//! that level's `#[target_feature]` functions: the token is the proof.

use std::fmt;
use std::sync::OnceLock;

/// The name of the environment variable that forces an ISA level.
pub const ISA_ENV: &str = "PCCT_ISA";

/// An instruction-set level that pcct has kernels for, from slowest to fastest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Isa {
    /// Plain Rust, accumulating in `f64`: the reference every other level is tested against.
    Scalar,
    /// The `wide` crate's portable vectors: SSE2 on x86-64, NEON on aarch64.
    Portable,
    /// x86-64 AVX2 with FMA, 256-bit vectors.
    Avx2Fma,
    /// x86-64 AVX-512F (with AVX2 and FMA), 512-bit vectors.
    Avx512,
}

/// Every level pcct knows, slowest first.
pub const ALL_ISAS: [Isa; 4] = [Isa::Scalar, Isa::Portable, Isa::Avx2Fma, Isa::Avx512];

impl Isa {
    /// The short name used by `PCCT_ISA` and printed by `pcct info`.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Portable => "portable",
            Isa::Avx2Fma => "avx2",
            Isa::Avx512 => "avx512",
        }
    }

    /// Parses a `PCCT_ISA` value (case-insensitive; `avx2fma` is accepted for `avx2`).
    pub fn from_name(name: &str) -> Result<Isa, IsaError> {
        match name.trim().to_ascii_lowercase().as_str() {
            "scalar" => Ok(Isa::Scalar),
            "portable" => Ok(Isa::Portable),
            "avx2" | "avx2fma" => Ok(Isa::Avx2Fma),
            "avx512" => Ok(Isa::Avx512),
            _ => Err(IsaError::UnknownName(name.to_string())),
        }
    }

    /// Whether the running CPU supports this level (detected once, cached).
    pub fn is_available(self) -> bool {
        available().contains(&self)
    }

    /// The number of `f32` lanes one vector of this level holds.
    pub fn f32_lanes(self) -> usize {
        match self {
            Isa::Scalar => 1,
            Isa::Portable | Isa::Avx2Fma => 8,
            Isa::Avx512 => 16,
        }
    }

    /// The number of `f64` lanes one vector of this level holds.
    pub fn f64_lanes(self) -> usize {
        self.f32_lanes().div_ceil(2)
    }
}

impl fmt::Display for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why an ISA level could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IsaError {
    /// `PCCT_ISA` (or a caller) named a level pcct does not know.
    UnknownName(String),
    /// The level was asked for but the running CPU lacks it. pcct never falls back silently.
    Unavailable(Isa),
    /// [`select`] asked for a level after this process had already fixed another one.
    AlreadyFixed {
        /// The level in use.
        active: Isa,
        /// The level asked for.
        requested: Isa,
    },
}

impl fmt::Display for IsaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IsaError::UnknownName(name) => write!(
                f,
                "unknown ISA level {name:?} in {ISA_ENV}: expected one of scalar, portable, avx2, avx512"
            ),
            IsaError::AlreadyFixed { active, requested } => write!(
                f,
                "ISA level {requested} was asked for, but this process already uses {active} \
                 (select a level before building any metric)"
            ),
            IsaError::Unavailable(isa) => write!(
                f,
                "ISA level {isa} was forced but this CPU does not support it (available: {})",
                available()
                    .iter()
                    .map(|i| i.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

impl std::error::Error for IsaError {}

/// The levels the running CPU supports, slowest first (detected once, cached).
pub fn available() -> &'static [Isa] {
    static AVAILABLE: OnceLock<Vec<Isa>> = OnceLock::new();
    AVAILABLE.get_or_init(|| {
        let mut v = vec![Isa::Scalar, Isa::Portable];
        if Avx2Fma::detect() {
            v.push(Isa::Avx2Fma);
        }
        if Avx512::detect() {
            v.push(Isa::Avx512);
        }
        v
    })
}

/// The fastest level the running CPU supports.
pub fn best() -> Isa {
    *available().last().expect("scalar is always available")
}

/// How the active level was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IsaChoice {
    /// The fastest level the CPU supports.
    Detected(Isa),
    /// Forced through `PCCT_ISA`.
    Forced(Isa),
    /// Chosen by the program through [`select`] (e.g. from a tuning profile).
    Selected(Isa),
}

impl IsaChoice {
    /// The chosen level.
    pub fn isa(self) -> Isa {
        match self {
            IsaChoice::Detected(i) | IsaChoice::Forced(i) | IsaChoice::Selected(i) => i,
        }
    }
}

/// Resolves a `PCCT_ISA` value (or its absence) against the running CPU.
///
/// An unknown name or a level the CPU lacks is an error, never a silent fallback.
pub fn resolve(env_value: Option<&str>) -> Result<IsaChoice, IsaError> {
    match env_value {
        None => Ok(IsaChoice::Detected(best())),
        Some(v) if v.trim().is_empty() => Ok(IsaChoice::Detected(best())),
        Some(v) => {
            let isa = Isa::from_name(v)?;
            if isa.is_available() {
                Ok(IsaChoice::Forced(isa))
            } else {
                Err(IsaError::Unavailable(isa))
            }
        }
    }
}

/// The level pcct uses in this process: `PCCT_ISA` if set, else the best detected.
/// Read once and cached.
pub fn active() -> Result<IsaChoice, IsaError> {
    ACTIVE
        .get_or_init(|| resolve(std::env::var(ISA_ENV).ok().as_deref()))
        .clone()
}

static ACTIVE: OnceLock<Result<IsaChoice, IsaError>> = OnceLock::new();

/// Makes `isa` the level of this process (what [`active`] returns from now on), unless
/// `PCCT_ISA` is set: the environment wins and its choice is returned. Call it before
/// anything asks for the active level; asking for a different level after that is
/// [`IsaError::AlreadyFixed`]. A level the CPU lacks is [`IsaError::Unavailable`].
pub fn select(isa: Isa) -> Result<IsaChoice, IsaError> {
    if std::env::var(ISA_ENV).is_ok_and(|v| !v.trim().is_empty()) {
        return active();
    }
    if !isa.is_available() {
        return Err(IsaError::Unavailable(isa));
    }
    match ACTIVE.get_or_init(|| Ok(IsaChoice::Selected(isa))).clone()? {
        c if c.isa() == isa => Ok(c),
        c => Err(IsaError::AlreadyFixed {
            active: c.isa(),
            requested: isa,
        }),
    }
}

/// Proof that `wide`'s portable vectors may be used. Always available.
#[derive(Clone, Copy, Debug)]
pub struct Portable(());

impl Portable {
    /// Portable vectors need no CPU check.
    pub fn new() -> Self {
        Portable(())
    }
}

impl Default for Portable {
    fn default() -> Self {
        Self::new()
    }
}

/// Proof that the running CPU supports AVX2 and FMA.
#[derive(Clone, Copy, Debug)]
pub struct Avx2Fma(());

impl Avx2Fma {
    fn detect() -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }

    /// Returns the token if the running CPU supports AVX2 and FMA.
    pub fn try_new() -> Option<Self> {
        Isa::Avx2Fma.is_available().then_some(Avx2Fma(()))
    }

    /// Creates the token without checking.
    ///
    /// # Safety
    /// The running CPU must support AVX2 and FMA.
    pub unsafe fn new_unchecked() -> Self {
        Avx2Fma(())
    }
}

/// Proof that the running CPU supports AVX-512F, AVX2 and FMA.
#[derive(Clone, Copy, Debug)]
pub struct Avx512(());

impl Avx512 {
    fn detect() -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            std::arch::is_x86_feature_detected!("avx512f") && Avx2Fma::detect()
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }

    /// Returns the token if the running CPU supports AVX-512F, AVX2 and FMA.
    pub fn try_new() -> Option<Self> {
        Isa::Avx512.is_available().then_some(Avx512(()))
    }

    /// Creates the token without checking.
    ///
    /// # Safety
    /// The running CPU must support AVX-512F, AVX2 and FMA.
    pub unsafe fn new_unchecked() -> Self {
        Avx512(())
    }
}
