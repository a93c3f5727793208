//! `pcct info`: one fact per line about this CPU and how pcct will run on it.

use pcct::kernels::{isa, IsaChoice};
use pcct::{Error, Result};
use std::io::Write;

/// Writes the facts to `out`. Fails if `PCCT_ISA` names an unknown or unavailable level.
pub fn run(out: &mut impl Write) -> Result<()> {
    // The profile first: it may select the ISA level.
    let profile = match pcct::tuning::Profile::from_env() {
        Ok(Some(p)) => match p.apply(&mut pcct::BuildOptions::default()) {
            Ok(()) => format!("active: {}", p.describe()),
            Err(e) => format!("refused: {e}"),
        },
        Ok(None) => format!(
            "none ({}=FILE loads one; pcct tune writes one)",
            pcct::tuning::PROFILE_ENV
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
    let topology = pcct::pool::Topology::detect();
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
            pcct::tuning::cpu_model().unwrap_or_else(|| std::env::consts::ARCH.to_string())
        ),
        format!("arch: {}", std::env::consts::ARCH),
        format!("logical cores: {cores}"),
        format!("numa nodes: {} ({})", topology.nodes.len(), nodes.join(", ")),
        format!("default pool: {cores} threads, unpinned (Pool::builder().pin(true) pins, NUMA policy auto)"),
        format!("isa available: {}", names.join(", ")),
        format!("isa active: {} ({why})", choice.isa()),
        format!("f32 lanes: {}", choice.isa().f32_lanes()),
        format!("f64 lanes: {}", choice.isa().f64_lanes()),
        format!("bucket sketches: {}", pcct::tree::bucket_scan(choice.isa())),
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
