//! `pcct info`: one fact per line about this CPU and how pcct will run on it.

use crate::kernels::{isa, IsaChoice};
use crate::{Error, Result};
use std::io::Write;

/// How tree searches scan large buckets at level `isa`.
fn sketch_line(isa: crate::kernels::Isa) -> String {
    match crate::tree::sketch_kernel_for(isa) {
        Some(k) if k.uses_bf16_dot() => "bf16 (vdpbf16ps, AVX-512 BF16)".into(),
        Some(k) => format!("bf16 ({} f32 lanes)", k.isa()),
        None => format!("off at {isa} (f64 scans; needs avx2)"),
    }
}

/// Writes the facts to `out`. Fails if `PCCT_ISA` names an unknown or unavailable level.
pub fn run(out: &mut impl Write) -> Result<()> {
    // The profile first: it may select the ISA level.
    let profile = match crate::tuning::Profile::from_env() {
        Ok(Some(p)) => match p.apply(&mut crate::BuildOptions::default()) {
            Ok(()) => format!("active: {}", p.describe()),
            Err(e) => format!("refused: {e}"),
        },
        Ok(None) => format!(
            "none ({}=FILE loads one; pcct tune writes one)",
            crate::tuning::PROFILE_ENV
        ),
        Err(e) => format!("refused: {e}"),
    };
    let choice = isa::active()?;
    let names: Vec<&str> = isa::available().iter().map(|i| i.name()).collect();
    let why = match choice {
        IsaChoice::Detected(_) => "best detected".to_string(),
        IsaChoice::Selected(_) => "selected by the tuning profile".to_string(),
        IsaChoice::Forced(_) => format!(
            "forced by {}={}",
            isa::ISA_ENV,
            std::env::var(isa::ISA_ENV).unwrap_or_default()
        ),
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let topology = crate::pool::Topology::detect();
    let nodes: Vec<String> = topology
        .nodes
        .iter()
        .enumerate()
        .map(|(i, cpus)| format!("node{i}: {} cpus", cpus.len()))
        .collect();
    let lines = [
        format!("pcct version: {}", env!("CARGO_PKG_VERSION")),
        format!(
            "cpu: {}",
            crate::tuning::cpu_model().unwrap_or_else(|| std::env::consts::ARCH.to_string())
        ),
        format!("arch: {}", std::env::consts::ARCH),
        format!("logical cores: {cores}"),
        format!("numa nodes: {} ({})", topology.nodes.len(), nodes.join(", ")),
        format!("default pool: {cores} threads, unpinned (Pool::builder().pin(true) pins, NUMA policy auto)"),
        format!("isa available: {}", names.join(", ")),
        format!("isa active: {} ({why})", choice.isa()),
        format!("f32 lanes: {}", choice.isa().f32_lanes()),
        format!("f64 lanes: {}", choice.isa().f64_lanes()),
        format!("bucket sketches: {}", sketch_line(choice.isa())),
        format!("tuning profile: {profile}"),
    ];
    for line in lines {
        writeln!(out, "{line}").map_err(|source| Error::Io {
            path: "<stdout>".into(),
            source,
        })?;
    }
    Ok(())
}
