//! What pcct knows about this machine and how it will run on it: the facts `pcct info`
//! prints and the Python package's `pcct.info()` returns.

use crate::kernels::{isa, IsaChoice};
use crate::Result;

/// The facts as `(name, value)` pairs, in the order `pcct info` prints them. Fails if
/// `PCCT_ISA` names an unknown or unavailable level.
pub fn facts() -> Result<Vec<(&'static str, String)>> {
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
    Ok(vec![
        ("pcct version", env!("CARGO_PKG_VERSION").to_string()),
        (
            "cpu",
            crate::tuning::cpu_model().unwrap_or_else(|| std::env::consts::ARCH.to_string()),
        ),
        ("arch", std::env::consts::ARCH.to_string()),
        ("logical cores", cores.to_string()),
        (
            "numa nodes",
            format!("{} ({})", topology.nodes.len(), nodes.join(", ")),
        ),
        (
            "default pool",
            format!("{cores} threads, unpinned (Pool::builder().pin(true) pins, NUMA policy auto)"),
        ),
        ("isa available", names.join(", ")),
        ("isa active", format!("{} ({why})", choice.isa())),
        ("f32 lanes", choice.isa().f32_lanes().to_string()),
        ("f64 lanes", choice.isa().f64_lanes().to_string()),
        ("bucket sketches", crate::tree::bucket_scan(choice.isa())),
        ("tuning profile", profile),
    ])
}
