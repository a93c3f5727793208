//! Per-CPU tuning profiles: what `pcct tune` measured and chose, and how pcct uses it.
//!
//! A profile is one flat JSON object (a versioned file) naming the CPU it was made on,
//! the kernel ISA level and the build's pair budget that ran fastest there, and the
//! measurements behind the choice. A profile made on another CPU is refused with a
//! message that says so: its numbers say nothing about this one.
//!
//! ```no_run
//! use pcct::tuning::Profile;
//! use pcct::BuildOptions;
//! let mut opts = BuildOptions::default();
//! if let Some(profile) = Profile::from_env()? {   // $PCCT_PROFILE, if set
//!     profile.apply(&mut opts)?;                   // its ISA level and pair budget
//! }
//! # Ok::<(), pcct::Error>(())
//! ```

use crate::kernels::isa::{self, Isa};
use crate::telemetry::{Parsed, Record, Value};
use crate::{BuildOptions, Error, Result};
use std::path::{Path, PathBuf};

/// The environment variable naming the profile to load.
pub const PROFILE_ENV: &str = "PCCT_PROFILE";

/// The profile format this pcct reads and writes.
pub const PROFILE_VERSION: u64 = 1;

/// What a profile's `record` field says.
const KIND: &str = "pcct-profile";

/// A tuning profile.
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    /// The CPU it was made on ([`cpu_id`]).
    pub cpu: String,
    /// The kernel ISA level to use.
    pub isa: Isa,
    /// The build's pair budget ([`BuildOptions::pair_budget`]).
    pub pair_budget: u64,
    /// Threads it was measured with.
    pub threads: usize,
    /// The measurements behind the choice (seconds, medians), as written by `pcct tune`.
    pub measurements: Vec<(&'static str, f64)>,
    /// The file it came from, if loaded.
    pub path: Option<PathBuf>,
}

/// The model name of this CPU (from `/proc/cpuinfo` where there is one).
pub fn cpu_model() -> Option<String> {
    let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    text.lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
}

/// This CPU as profiles name it: model, architecture and the ISA levels it supports.
pub fn cpu_id() -> String {
    let levels: Vec<&str> = isa::available().iter().map(|i| i.name()).collect();
    format!(
        "{} ({}; {})",
        cpu_model().unwrap_or_else(|| "unknown model".into()),
        std::env::consts::ARCH,
        levels.join(",")
    )
}

/// The keys under which measurements are written; unknown keys in a file are ignored.
pub const MEASUREMENT_KEYS: [&str; 10] = [
    "isa_scalar_s",
    "isa_portable_s",
    "isa_avx2_s",
    "isa_avx512_s",
    "budget_2^16_s",
    "budget_2^20_s",
    "budget_2^24_s",
    "budget_2^28_s",
    "check_default_s",
    "check_tuned_s",
];

impl Profile {
    /// The profile as one line of JSON.
    pub fn to_json(&self) -> String {
        let mut r = Record::new(KIND)
            .with("version", Value::Int(PROFILE_VERSION))
            .with("cpu", Value::Str(self.cpu.clone()))
            .with("isa", Value::Str(self.isa.name().into()))
            .with("pair_budget", Value::Int(self.pair_budget))
            .with("threads", Value::Int(self.threads as u64))
            .with("pcct_version", Value::Str(env!("CARGO_PKG_VERSION").into()));
        for &(k, v) in &self.measurements {
            r = r.with(k, Value::Num(v));
        }
        r.to_json() + "\n"
    }

    /// Parses a profile's text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Profile> {
        let bad = |why: String| Error::invalid("profile", format!("{}: {why}", path.display()));
        let p = Parsed::parse(text.trim()).map_err(|e| bad(format!("not a profile ({e})")))?;
        if p.str("record") != Some(KIND) {
            return Err(bad("not a pcct profile (no \"record\":\"pcct-profile\")".into()));
        }
        match p.num("version") {
            Some(v) if v == PROFILE_VERSION as f64 => {}
            v => {
                return Err(bad(format!(
                "profile format version {} — this pcct reads version {PROFILE_VERSION}; run pcct tune again",
                v.map_or("missing".into(), |v| v.to_string())
            )))
            }
        }
        let cpu = p.str("cpu").ok_or_else(|| bad("no cpu".into()))?.to_string();
        let here = cpu_id();
        if cpu != here {
            return Err(bad(format!(
                "made on CPU {cpu:?}, but this is {here:?}; run pcct tune on this machine"
            )));
        }
        let isa = Isa::from_name(p.str("isa").ok_or_else(|| bad("no isa".into()))?)?;
        let pair_budget = match p.num("pair_budget") {
            Some(b) if b >= 1.0 && b.fract() == 0.0 && b <= u64::MAX as f64 => b as u64,
            _ => return Err(bad("pair_budget is not a positive integer".into())),
        };
        let threads = p.num("threads").unwrap_or(0.0).max(0.0) as usize;
        let measurements = MEASUREMENT_KEYS
            .iter()
            .filter_map(|&k| p.num(k).map(|v| (k, v)))
            .collect();
        Ok(Profile {
            cpu,
            isa,
            pair_budget,
            threads,
            measurements,
            path: Some(path.to_path_buf()),
        })
    }

    /// Loads the profile at `path`. Errors: unreadable, malformed, another format
    /// version, made on another CPU.
    pub fn load(path: &Path) -> Result<Profile> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// The profile `$PCCT_PROFILE` names, if it is set and not empty.
    pub fn from_env() -> Result<Option<Profile>> {
        match std::env::var_os(PROFILE_ENV) {
            Some(p) if !p.is_empty() => Self::load(Path::new(&p)).map(Some),
            _ => Ok(None),
        }
    }

    /// The profile at `path` if given, else the one `$PCCT_PROFILE` names, if any.
    pub fn from_arg_or_env(path: Option<&Path>) -> Result<Option<Profile>> {
        match path {
            Some(p) => Self::load(p).map(Some),
            None => Self::from_env(),
        }
    }

    /// Makes the profile's ISA level this process's ([`isa::select`]; `PCCT_ISA`
    /// still wins) and sets its pair budget in `opts`.
    pub fn apply(&self, opts: &mut BuildOptions) -> Result<()> {
        isa::select(self.isa)?;
        opts.pair_budget = self.pair_budget;
        Ok(())
    }

    /// One line: file, ISA level, pair budget.
    pub fn describe(&self) -> String {
        format!(
            "{} (isa {}, pair budget {})",
            self.path
                .as_ref()
                .map_or("<in memory>".into(), |p| p.display().to_string()),
            self.isa,
            self.pair_budget
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Profile {
        Profile {
            cpu: cpu_id(),
            isa: Isa::Portable,
            pair_budget: 1 << 20,
            threads: 2,
            measurements: vec![("isa_portable_s", 0.5), ("budget_2^20_s", 1.25)],
            path: None,
        }
    }

    #[test]
    fn profiles_round_trip() {
        let p = sample();
        let back = Profile::parse(&p.to_json(), Path::new("p.json")).unwrap();
        assert_eq!(
            back,
            Profile {
                path: Some("p.json".into()),
                ..p
            }
        );
    }

    #[test]
    fn foreign_or_old_profiles_are_refused() {
        let p = sample();
        let other = Profile {
            cpu: "Some Other CPU (x86_64; scalar)".into(),
            ..p.clone()
        };
        let e = Profile::parse(&other.to_json(), Path::new("p.json"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("made on CPU") && e.contains("run pcct tune"), "{e}");
        let old = p.to_json().replace("\"version\":1", "\"version\":0");
        let e = Profile::parse(&old, Path::new("p.json")).unwrap_err().to_string();
        assert!(e.contains("version 0"), "{e}");
        let bad_isa = p.to_json().replace("\"portable\"", "\"sse9\"");
        assert!(Profile::parse(&bad_isa, Path::new("p.json")).is_err());
        let zero = p.to_json().replace("1048576", "0");
        assert!(Profile::parse(&zero, Path::new("p.json")).is_err());
        assert!(Profile::parse("{\"record\":\"batch\"}", Path::new("p.json")).is_err());
        assert!(Profile::parse("not json", Path::new("p.json")).is_err());
    }
}
