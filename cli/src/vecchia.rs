//! `pcct vecchia`: both halves of a Vecchia approximation's set-up in one command — the
//! exact maximin ordering, then each point's k nearest among the points before it in
//! that order.

use super::input::{read_input, HeaderArgs};
use super::model::ModelArgs;
use super::progress::Progress;
use super::saved::euclidean;
use clap::Args;
use pcct::io::{check_files, check_output_path, write_all, Matrix, Output};
use pcct::kernels::Element;
use pcct::ordering::{maximin, Maximin};
use pcct::tree::NONE;
use pcct::{Error, Job, Metric, Pool, Result};
use std::path::PathBuf;

/// Arguments of `pcct vecchia`.
#[derive(Args, Debug)]
pub struct VecchiaArgs {
    /// Data points: .npy (2-D float32/float64) or .csv.
    #[arg(long, value_name = "DATA")]
    pub data: PathBuf,
    /// Conditioning-set size: neighbours per point among the points before it.
    #[arg(long)]
    pub k: usize,
    /// Output: the ordering, int64 n × 1 — row r holds the id (row of --data) of the
    /// r-th point in maximin order.
    #[arg(long, value_name = "ORDER")]
    pub out_order: PathBuf,
    /// Output: int64 n × k — row r holds the positions *in the new order* of point r's
    /// nearest predecessors (all < r), nearest first; -1 pads the first rows.
    #[arg(long, value_name = "IDS")]
    pub out_ids: PathBuf,
    /// Output: float64 n × k, their distances (+inf padding).
    #[arg(long, value_name = "DISTS")]
    pub out_dists: Option<PathBuf>,
    /// Output: float64 n × 1, each point's maximin radius (its distance to the points
    /// before it in the order; +inf for the first).
    #[arg(long, value_name = "RADII")]
    pub out_radii: Option<PathBuf>,
    /// Ordering: maximin (exact greedy permutation from the point nearest the mean) or
    /// natural (the rows as given).
    #[arg(long, default_value = "maximin", value_parser = ["maximin", "natural"])]
    pub order: String,
    /// Worker threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Metric: euclidean, or residual (needs --inducing; maximin in the residual
    /// correlation, as Kang & Katzfuss).
    #[arg(long, default_value = "euclidean", value_parser = ["euclidean", "residual"])]
    pub metric: String,
    /// The residual model (`--inducing`, `--kernel`, `--lengthscale`, `--variance`, `--jitter`).
    #[command(flatten)]
    pub model: ModelArgs,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// What line 1 of CSV inputs is.
    #[command(flatten)]
    pub header: HeaderArgs,
}

/// Runs `pcct vecchia`.
pub fn run(args: &VecchiaArgs) -> Result<()> {
    let outputs: Vec<&std::path::Path> = [
        Some(&args.out_order),
        Some(&args.out_ids),
        args.out_dists.as_ref(),
        args.out_radii.as_ref(),
    ]
    .into_iter()
    .flatten()
    .map(|p| p.as_path())
    .collect();
    for p in &outputs {
        check_output_path(p)?;
    }
    let inputs: Vec<&std::path::Path> = [Some(&args.data), args.model.inducing.as_ref()]
        .into_iter()
        .flatten()
        .map(|p| p.as_path())
        .collect();
    check_files(&inputs, &outputs)?;
    if args.k == 0 {
        return Err(Error::invalid("k", "k must be at least 1".into()));
    }
    if args.out_radii.is_some() && args.order != "maximin" {
        return Err(Error::invalid(
            "out-radii",
            "radii come with --order maximin".into(),
        ));
    }
    let data = read_input(&args.data, args.header.mode())?;
    let pool = Pool::new(args.threads)?;
    if args.metric == "residual" {
        let m = args.model.metric(&data, args.header.mode(), &pool)?;
        return answer(args, &m, &pool);
    }
    if args.model.inducing.is_some() {
        return Err(Error::invalid(
            "inducing",
            "--inducing needs --metric residual".into(),
        ));
    }
    match data {
        Matrix::F32 { .. } => typed::<f32>(args, &data, &pool),
        _ => typed::<f64>(args, &data, &pool),
    }
}

fn typed<T: Element>(args: &VecchiaArgs, data: &Matrix, pool: &Pool) -> Result<()> {
    answer(args, &euclidean::<T>(data, "data")?, pool)
}

/// Orders, permutes, answers and writes.
fn answer<M: Metric>(args: &VecchiaArgs, m: &M, pool: &Pool) -> Result<()> {
    let n = m.len();
    let progress = Progress::new(2, "pcct vecchia", args.quiet);
    // Without a k-d index (residual data, or more than 16 coordinates) the exact ordering
    // measures every untaken point per step: say so, it is the long part.
    let scan = !pcct::ordering::by_kd_index(m);
    let cost = if scan && args.order == "maximin" {
        format!(" ({:.1e} distances)", n as f64 * n as f64 / 2.0)
    } else {
        String::new()
    };
    progress.step(format!("{} ordering of {n} points{cost}", args.order));
    let mm = if args.order == "maximin" {
        maximin(m, pool)?
    } else {
        Maximin {
            order: (0..n as u32).collect(),
            radius: Vec::new(),
        }
    };
    progress.inc(1);
    progress.step(format!("conditioning sets, k = {}", args.k));
    let ordered = m.permuted(&mm.order);
    let done = Job::predecessor_knn(ordered, args.k).run(pool)?;
    progress.inc(1);
    progress.finish();
    let nb = &done.neighbors;
    let order: Vec<i64> = mm.order.iter().map(|&i| i as i64).collect();
    let ids: Vec<i64> = nb
        .ids()
        .iter()
        .map(|&i| if i == NONE { -1 } else { i as i64 })
        .collect();
    let mut outputs = vec![
        (args.out_order.as_path(), Output::I64(&order), n, 1),
        (args.out_ids.as_path(), Output::I64(&ids), n, args.k),
    ];
    if let Some(p) = &args.out_dists {
        outputs.push((p.as_path(), Output::F64(nb.dists()), n, args.k));
    }
    if let Some(p) = &args.out_radii {
        outputs.push((p.as_path(), Output::F64(&mm.radius), n, 1));
    }
    write_all(&outputs)
}
