//! `pcct stats`: summarizes a telemetry file (`--stats` of `pcct knn` or `pcct bench`):
//! stage shares of the build, the slowest batches, the query phases; `--plot` draws them.

use clap::Args;
use pcct::io::{check_files, write_all, Output};
use pcct::telemetry::Parsed;
use pcct::{Error, Result};
use std::fmt::Write as _;
use std::path::PathBuf;

/// Arguments of `pcct stats`.
#[derive(Args, Debug)]
pub struct StatsArgs {
    /// A JSON Lines telemetry file written by `--stats`.
    #[arg(value_name = "STATS")]
    pub file: PathBuf,
    /// Draw build time per batch (by stage) and the stage shares as SVG.
    #[arg(long, value_name = "SVG")]
    pub plot: Option<PathBuf>,
    /// How many of the slowest batches to list.
    #[arg(long, default_value_t = 5)]
    pub top: usize,
}

/// The build stages of a `batch` record, in pipeline order.
pub const STAGES: [&str; 6] = ["traverse", "scope_csr", "conflicts", "grid", "mis", "apply"];

/// Reads and parses every line; an unparsable line is an error naming it.
fn read(args: &StatsArgs) -> Result<Vec<Parsed>> {
    let text = std::fs::read_to_string(&args.file).map_err(|source| Error::Io {
        path: args.file.clone(),
        source,
    })?;
    let records: Vec<Parsed> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            Parsed::parse(l)
                .map_err(|e| Error::invalid("stats", format!("{} line {}: {e}", args.file.display(), i + 1)))
        })
        .collect::<Result<_>>()?;
    if records.is_empty() {
        return Err(Error::invalid(
            "stats",
            format!("{} holds no records", args.file.display()),
        ));
    }
    Ok(records)
}

/// The summary text of `records`, and the per-batch stage seconds for the plot.
pub fn summarize(records: &[Parsed], top: usize) -> (String, Vec<Vec<f64>>) {
    let mut out = String::new();
    let kinds = ["batch", "build", "query", "summary"];
    let counts: Vec<String> = kinds
        .iter()
        .map(|k| {
            let c = records.iter().filter(|r| r.str("record") == Some(k)).count();
            format!("{c} {k}")
        })
        .collect();
    let _ = writeln!(out, "records: {}", counts.join(", "));

    let batches: Vec<&Parsed> = records
        .iter()
        .filter(|r| r.str("record") == Some("batch"))
        .collect();
    let per_batch: Vec<Vec<f64>> = batches
        .iter()
        .map(|b| {
            STAGES
                .iter()
                .map(|s| b.num(&format!("{s}_s")).filter(|v| v.is_finite()).unwrap_or(0.0))
                .collect()
        })
        .collect();
    if !batches.is_empty() {
        let totals: Vec<f64> = (0..STAGES.len())
            .map(|j| per_batch.iter().map(|b| b[j]).sum())
            .collect();
        let all: f64 = totals.iter().sum();
        let _ = writeln!(out, "build stages over {} batches ({all:.3} s):", batches.len());
        for (s, t) in STAGES.iter().zip(&totals) {
            let share = if all > 0.0 { 100.0 * t / all } else { 0.0 };
            let _ = writeln!(out, "  {s:<10} {t:>10.4} s  {share:>5.1}%");
        }
        let mut order: Vec<usize> = (0..batches.len()).collect();
        order.sort_by(|&a, &b| {
            let ta: f64 = per_batch[a].iter().sum();
            let tb: f64 = per_batch[b].iter().sum();
            tb.total_cmp(&ta).then(a.cmp(&b))
        });
        let _ = writeln!(out, "slowest batches:");
        for &i in order.iter().take(top) {
            let b = batches[i];
            let field = |k: &str| b.num(k).map_or("?".into(), |v| format!("{v}"));
            let _ = writeln!(
                out,
                "  {}batch {:>3}: {:.4} s, size {}, rounds {}, candidate pairs {}, traverse evals {}",
                b.str("workload").map_or(String::new(), |w| format!("{w} ")),
                field("batch"),
                per_batch[i].iter().sum::<f64>(),
                field("size"),
                field("rounds"),
                field("candidate_pairs"),
                field("traverse_evals"),
            );
        }
    }
    for r in records.iter().filter(|r| r.str("record") == Some("build")) {
        let _ = writeln!(
            out,
            "build{}: {} s, builder {}, threads {}",
            r.str("workload").map_or(String::new(), |w| format!(" {w}")),
            r.num("build_s").map_or("?".into(), |v| format!("{v:.4}")),
            r.str("builder").unwrap_or("?"),
            r.num("threads").map_or("?".into(), |v| v.to_string()),
        );
    }
    for r in records.iter().filter(|r| r.str("record") == Some("query")) {
        let _ = writeln!(
            out,
            "query{}: {} s, {} queries via {}, {} distance evaluations per query",
            r.str("workload").map_or(String::new(), |w| format!(" {w}")),
            r.num("query_s").map_or("?".into(), |v| format!("{v:.4}")),
            r.num("queries").map_or("?".into(), |v| v.to_string()),
            r.str("path").unwrap_or("?"),
            r.num("evals_per_query").map_or("?".into(), |v| format!("{v:.0}")),
        );
    }
    (out, per_batch)
}

/// Runs `pcct stats`.
pub fn run(args: &StatsArgs) -> Result<()> {
    if let Some(p) = &args.plot {
        check_files(&[args.file.as_path()], &[p.as_path()])?;
    }
    let records = read(args)?;
    let (text, per_batch) = summarize(&records, args.top);
    print!("{text}");
    if let Some(p) = &args.plot {
        if per_batch.is_empty() {
            return Err(Error::invalid(
                "plot",
                "the file has no batch records to plot (was it made with the sequential builder?)".into(),
            ));
        }
        let svg = super::plot::stats_svg(&STAGES, &per_batch);
        write_all(&[(p.as_path(), Output::Text(&svg), 0, 0)])?;
    }
    Ok(())
}
