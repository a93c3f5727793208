//! `pcct tune`: measures on this CPU what pcct can choose at run time — the kernel ISA
//! level and the build's pair budget — picks the fastest (a default stays unless another
//! setting beats it by more than 3 %), checks the pick against the defaults side by side,
//! and writes a profile (`pcct::tuning`).

use super::bench::Timing;
use super::progress::Progress;
use clap::Args;
use pcct::io::{check_files, write_all, Output};
use pcct::kernels::isa::{self, Isa};
use pcct::kernels::Kernels;
use pcct::metric::{Dataset, Euclidean};
use pcct::tuning::{cpu_id, Profile};
use pcct::workload::Workload;
use pcct::{BuildOptions, Error, Pool, Result, Tree};
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `pcct tune`.
#[derive(Args, Debug)]
pub struct TuneArgs {
    /// Where to write the profile (load it with --profile or PCCT_PROFILE=FILE).
    #[arg(long, default_value = "pcct-profile.json", value_name = "PROFILE")]
    pub out: PathBuf,
    /// Worker threads (0: one per core); tune with the count you will run with.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Small inputs and one run each: a rough profile in seconds.
    #[arg(long)]
    pub quick: bool,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// A setting replaces the default only if it is faster by more than this fraction:
/// smaller differences are noise on a shared machine.
const MARGIN: f64 = 0.03;

/// The pair budgets tried (log2).
const BUDGETS: [u32; 4] = [16, 20, 24, 28];

fn metric(rows: &[f64], n: usize, dim: usize, isa: Isa) -> Result<Euclidean<f64>> {
    Euclidean::with_kernels(Dataset::from_rows(rows, n, dim)?, Kernels::new(isa)?)
}

/// Inputs: (data metric rows, query rows, n, queries, dim, k) of W3 and W6, scaled.
struct Input {
    w: Workload,
    data: Vec<f64>,
    queries: Vec<f64>,
}

impl Input {
    fn new(id: &str, scale: f64) -> Result<Input> {
        let w = Workload::find(id)?.scaled(scale);
        let data = w.data();
        let queries = w.query_rows(&data).expect("W3 and W6 have query points");
        Ok(Input { w, data, queries })
    }

    fn metrics(&self, isa: Isa) -> Result<(Euclidean<f64>, Euclidean<f64>)> {
        Ok((
            metric(&self.data, self.w.n, self.w.dim, isa)?,
            metric(&self.queries, self.w.query_count(), self.w.dim, isa)?,
        ))
    }
}

fn time<R>(f: impl FnOnce() -> Result<R>) -> Result<f64> {
    let t = Instant::now();
    f()?;
    Ok(t.elapsed().as_secs_f64())
}

/// Runs `pcct tune`.
pub fn run(args: &TuneArgs) -> Result<()> {
    check_files(&[], &[args.out.as_path()])?;
    if std::env::var(isa::ISA_ENV).is_ok_and(|v| !v.trim().is_empty()) {
        return Err(Error::invalid(
            "environment",
            format!(
                "{} is set: unset it so that pcct tune can try every level",
                isa::ISA_ENV
            ),
        ));
    }
    let pool = Pool::new(args.threads)?;
    let (scale, repeat) = if args.quick { (1.0 / 32.0, 1) } else { (0.25, 3) };
    let inputs = [Input::new("W3", scale)?, Input::new("W6", scale)?];
    let levels = isa::available();
    let checks = if args.quick { 1 } else { 5 };
    let progress = Progress::new(
        (levels.len() * inputs.len() * repeat + BUDGETS.len() * repeat + 2 * checks) as u64,
        "pcct tune",
        args.quiet,
    );
    let default = BuildOptions::default();
    let mut measurements: Vec<(&'static str, f64)> = Vec::new();
    println!("pcct tune on {} with {} threads", cpu_id(), pool.threads());

    // 1. The ISA level: queries of W3 and W6 (the kernels run in the queries).
    let mut best_isa = (f64::INFINITY, isa::best());
    for &level in levels {
        let mut total = 0.0;
        for input in &inputs {
            let (m, q) = input.metrics(level)?;
            let tree = Tree::build_with(m, &pool, &default)?.0;
            let mut runs = Vec::new();
            for _ in 0..repeat {
                progress.step(format!("isa {level}: {} queries", input.w.id));
                runs.push(time(|| tree.knn(&q, input.w.k).run(&pool))?);
                progress.inc(1);
            }
            total += Timing::of(&runs).median;
        }
        println!(
            "  isa {:<8} queries (W3 + W6 at {scale}×): {total:.4} s",
            level.name()
        );
        measurements.push((isa_key(level), total));
        if total < best_isa.0 {
            best_isa = (total, level);
        }
    }
    let isa = match measurements.iter().find(|(k, _)| *k == isa_key(isa::best())) {
        Some(&(_, t_best)) if best_isa.0 >= t_best * (1.0 - MARGIN) => isa::best(),
        _ => best_isa.1,
    };

    // 2. The pair budget: builds of W3.
    let w3 = &inputs[0];
    let mut best_budget = (f64::INFINITY, default.pair_budget);
    for &b in &BUDGETS {
        let opts = BuildOptions {
            pair_budget: 1 << b,
            ..default
        };
        let mut runs = Vec::new();
        for _ in 0..repeat {
            progress.step(format!("pair budget 2^{b}: W3 build"));
            let (m, _) = w3.metrics(isa)?;
            runs.push(time(|| Tree::build_with(m, &pool, &opts))?);
            progress.inc(1);
        }
        let t = Timing::of(&runs).median;
        println!("  pair budget 2^{b:<2}  build (W3 at {scale}×): {t:.4} s");
        measurements.push((budget_key(b), t));
        if t < best_budget.0 {
            best_budget = (t, 1 << b);
        }
    }
    let pair_budget = match measurements.iter().find(|(k, _)| *k == budget_key(24)) {
        Some(&(_, t_default)) if best_budget.0 >= t_default * (1.0 - MARGIN) => default.pair_budget,
        _ => best_budget.1,
    };

    // 3. The check: default and tuned settings alternating, W3 build + queries.
    let tuned = BuildOptions {
        pair_budget,
        ..default
    };
    let (mut td, mut tt) = (Vec::new(), Vec::new());
    for _ in 0..checks {
        for (level, opts, runs) in [(isa::best(), &default, &mut td), (isa, &tuned, &mut tt)] {
            progress.step("check: default vs tuned");
            let (m, q) = w3.metrics(level)?;
            runs.push(time(|| {
                let tree = Tree::build_with(m, &pool, opts)?.0;
                tree.knn(&q, w3.w.k).run(&pool)
            })?);
            progress.inc(1);
        }
    }
    progress.finish();
    let (d, t) = (Timing::of(&td).median, Timing::of(&tt).median);
    measurements.push(("check_default_s", d));
    measurements.push(("check_tuned_s", t));
    println!(
        "  check (W3 at {scale}×, build + queries, median of {checks}): default ({}, 2^24) {d:.4} s, tuned ({isa}, 2^{}) {t:.4} s, tuned / default {:.3}",
        isa::best(),
        pair_budget.trailing_zeros(),
        t / d
    );

    let profile = Profile {
        cpu: cpu_id(),
        isa,
        pair_budget,
        threads: pool.threads(),
        measurements,
        path: Some(args.out.clone()),
    };
    let text = profile.to_json();
    write_all(&[(args.out.as_path(), Output::Text(&text), 0, 0)])?;
    println!(
        "wrote {}: isa {isa}, pair budget {pair_budget} (use it: pcct bench --profile {0}, or PCCT_PROFILE={0})",
        args.out.display()
    );
    Ok(())
}

fn isa_key(level: Isa) -> &'static str {
    match level {
        Isa::Scalar => "isa_scalar_s",
        Isa::Portable => "isa_portable_s",
        Isa::Avx2Fma => "isa_avx2_s",
        Isa::Avx512 => "isa_avx512_s",
    }
}

fn budget_key(log2: u32) -> &'static str {
    match log2 {
        16 => "budget_2^16_s",
        20 => "budget_2^20_s",
        24 => "budget_2^24_s",
        _ => "budget_2^28_s",
    }
}
