//! `pcct bench`: the workload table of DESIGN.md §8 on generated data, pcct against
//! brute force and the sequential cover tree in the same run, on the same pool.

use super::progress::Progress;
use clap::Args;
use pcct::io::{check_files, write_all, Output};
use pcct::job::{plan, Engine, Kind, Plan};
use pcct::kernels::isa;
use pcct::metric::{Dataset, Euclidean};
use pcct::query::{
    brute_force_knn, brute_force_predecessor_knn, dense_knn, dense_predecessor_knn, kd_knn,
    kd_predecessor_knn, Via,
};
use pcct::telemetry::{Record, Value};
use pcct::tuning::Profile;
use pcct::workload::{Queries, Workload, WorkloadMetric, WORKLOADS};
use pcct::{BuildOptions, Error, Metric, Neighbors, Pool, QueryStats, Result, Tree};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `pcct bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Workloads to run, comma-separated (W1 … W9); all of them by default.
    #[arg(long, value_delimiter = ',', value_name = "W")]
    pub workload: Vec<String>,
    /// Worker threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Runs per measurement; the table shows the median (and min–max when > 1).
    #[arg(long, default_value_t = 1)]
    pub repeat: usize,
    /// Multiplies every workload's points and queries (0.125 for a quick look).
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Baselines, comma-separated: brute (the per-query blocked brute force), other (the
    /// engine the plan did not choose: a tree where it chose dense, and the reverse),
    /// sequential (the one-point-at-a-time cover tree), or none. Every answer is spot-checked
    /// against a naive ranking of 64 queries whatever the baselines.
    #[arg(long, value_delimiter = ',', default_value = "none")]
    pub baselines: Vec<String>,
    /// The sequential-tree baseline runs only on workloads with at most this many points
    /// (it builds one point at a time: at 2^20 points it alone takes many minutes).
    #[arg(long, default_value_t = 1 << 18)]
    pub sequential_max_n: usize,
    /// Print the table as markdown (the BENCHMARKS.md format).
    #[arg(long)]
    pub markdown: bool,
    /// Also write every measurement (all repeats) as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write telemetry as JSON Lines (per build batch, per query phase, one summary per workload).
    #[arg(long, value_name = "STATS")]
    pub stats: Option<PathBuf>,
    /// Draw time vs n (the workloads at 1/8, 1/4, 1/2 and full size) for pcct and the baselines as SVG.
    #[arg(long, value_name = "SVG")]
    pub plot: Option<PathBuf>,
    /// A tuning profile from `pcct tune` (default: $PCCT_PROFILE if set).
    #[arg(long, value_name = "PROFILE")]
    pub profile: Option<PathBuf>,
    /// Query path on a tree: auto (the engine decides), tree, scan or kd (forced; same answers).
    #[arg(long, default_value = "auto")]
    pub via: String,
    /// Engine: auto (the plan chooses per workload), tree (cover tree), kd (Euclidean
    /// rows only) or dense (forced; same answers).
    #[arg(long, default_value = "auto")]
    pub engine: String,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Median, min and max of a set of seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Timing {
    /// The median.
    pub median: f64,
    /// The fastest run.
    pub min: f64,
    /// The slowest run.
    pub max: f64,
}

impl Timing {
    /// The summary of `runs` (non-empty).
    pub fn of(runs: &[f64]) -> Timing {
        let mut v = runs.to_vec();
        v.sort_by(f64::total_cmp);
        let m = v.len() / 2;
        let median = if v.len() % 2 == 1 {
            v[m]
        } else {
            (v[m - 1] + v[m]) / 2.0
        };
        Timing {
            median,
            min: v[0],
            max: v[v.len() - 1],
        }
    }
}

/// One workload's results.
#[derive(Clone, Debug)]
pub struct Row {
    /// The workload as run (after `--scale`).
    pub workload: Workload,
    /// pcct build seconds.
    pub build: Timing,
    /// pcct query seconds.
    pub query: Timing,
    /// Distance evaluations per query (pcct), all kinds.
    pub evals_per_query: f64,
    /// Of those, canonical (exact) evaluations per query: for the residual metric the
    /// phase-2 distances, the rest being phase-1 bounds.
    pub exact_per_query: f64,
    /// `dense`, or the tree's query path (`tree`, `scan`, `kd`).
    pub path: &'static str,
    /// The plan that chose the engine.
    pub plan: Plan,
    /// Residual workloads: seconds to build the GP model (`V`, `p`) of the data and queries.
    pub model: Option<f64>,
    /// Brute-force query seconds, if run.
    pub brute: Option<Timing>,
    /// The engine the plan did not choose, if run: (build, query) seconds.
    pub other: Option<(Timing, Timing)>,
    /// Sequential tree build and query seconds, if run.
    pub sequential: Option<(Timing, Timing)>,
    /// Why a baseline did not run.
    pub skipped: Vec<String>,
    /// Residual workloads: the median of `p_i / σ²` over the data.
    pub residual_median: Option<f64>,
}

impl Row {
    /// Model (residual), build and queries: the job end to end.
    fn total(&self) -> f64 {
        self.model.unwrap_or(0.0) + self.build.median + self.query.median
    }
}

/// What one run measures: the workload, its options and where telemetry goes.
struct Runner<'a> {
    pool: &'a Pool,
    opts: BuildOptions,
    via: Via,
    engine: Engine,
    repeat: usize,
    brute: bool,
    other: bool,
    sequential_max_n: usize,
    sequential: bool,
    progress: &'a Progress,
    telemetry: Vec<Record>,
}

fn seconds(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

impl Runner<'_> {
    fn run(&mut self, w: &Workload) -> Result<Row> {
        let p = self.progress;
        p.step(format!("{}: generating data", w.id));
        let data = w.data();
        let rows = w.query_rows(&data);
        match w.metric {
            WorkloadMetric::Euclidean => {
                let m = Euclidean::new(Dataset::from_rows(&data, w.n, w.dim)?)?;
                let q = match rows {
                    Some(r) => Some(Euclidean::new(Dataset::from_rows(&r, w.query_count(), w.dim)?)?),
                    None => None,
                };
                let row = self.measure(w, m, q, None)?;
                self.telemetry.push(summary(&row, self.pool.threads()));
                Ok(row)
            }
            WorkloadMetric::Residual { .. } => {
                p.step(format!("{}: GP model", w.id));
                let t = Instant::now();
                let m = w.residual(&data, self.pool)?.expect("a residual workload");
                let q = rows.map(|r| m.queries(&r, self.pool)).transpose()?;
                let model = seconds(t);
                let median = m.median_relative_variance();
                let mut row = self.measure(w, m, q, Some(median))?;
                row.model = Some(model);
                self.telemetry.push(summary(&row, self.pool.threads()));
                Ok(row)
            }
        }
    }

    /// Builds (where the engine is a tree) and answers `repeat` times.
    fn engine_run<M: Metric + Clone>(
        &mut self,
        w: &Workload,
        m: &M,
        q: Option<&M>,
        engine: Engine,
        what: &str,
    ) -> Result<Measured> {
        let p = self.progress;
        let (mut build, mut query) = (Vec::new(), Vec::new());
        let (mut answer, mut stats) = (None, None);
        for r in 0..self.repeat {
            p.step(format!(
                "{}: {what} {} ({}/{})",
                w.id,
                engine.name(),
                r + 1,
                self.repeat
            ));
            if engine != Engine::Tree {
                // No cover tree: the k-d engine's index build counts as answering.
                build.push(0.0);
                let t = Instant::now();
                answer = Some(match (q, engine) {
                    (Some(q), Engine::Kd) => kd_knn(m, q, w.k, self.pool)?,
                    (Some(q), _) => dense_knn(m, q, w.k, self.pool)?,
                    (None, Engine::Kd) => kd_predecessor_knn(m, w.k, self.pool)?,
                    (None, _) => dense_predecessor_knn(m, w.k, self.pool)?,
                });
                query.push(seconds(t));
            } else {
                let t = Instant::now();
                let (tree, bs) = Tree::build_observed(m.clone(), self.pool, &self.opts, &mut |_, placed| {
                    p.step(format!(
                        "{}: {what} tree ({}/{}), {placed}/{} points",
                        w.id,
                        r + 1,
                        self.repeat,
                        w.n
                    ));
                })?;
                build.push(seconds(t));
                let t = Instant::now();
                let (nb, qs) = match q {
                    Some(q) => tree.knn(q, w.k).via(self.via).run(self.pool)?,
                    None => tree.predecessor_knn(w.k).via(self.via).run(self.pool)?,
                };
                query.push(seconds(t));
                answer = Some(nb);
                stats = Some((bs, qs));
            }
            p.inc(1);
        }
        Ok(Measured {
            build: Timing::of(&build),
            query: Timing::of(&query),
            answer: answer.expect("at least one repeat"),
            stats,
        })
    }

    fn measure<M: Metric + Clone>(
        &mut self,
        w: &Workload,
        m: M,
        q: Option<M>,
        residual_median: Option<f64>,
    ) -> Result<Row> {
        let p = self.progress;
        let id = Value::Str(w.id.into());
        let kind = match &q {
            Some(q) => Kind::Knn(q.len()),
            None => Kind::Predecessor,
        };
        let plan = plan(&m, w.k, kind, self.engine);
        self.telemetry
            .push(plan_record(&plan).with("workload", id.clone()));
        let ran = self.engine_run(w, &m, q.as_ref(), plan.engine, "pcct")?;
        p.step(format!("{}: spot check", w.id));
        spot_check(w, &m, q.as_ref(), &ran.answer)?;
        let (path, evals_per_query, exact_per_query) = match &ran.stats {
            Some((bs, qs)) => {
                self.telemetry.extend(
                    bs.batches
                        .iter()
                        .enumerate()
                        .map(|(i, b)| b.record(i).with("workload", id.clone())),
                );
                self.telemetry.push(bs.record().with("workload", id.clone()));
                self.telemetry.push(
                    Record::new("query")
                        .with("workload", id.clone())
                        .with("path", Value::Str(qs.path.name().into()))
                        .with("queries", Value::Int(qs.queries as u64))
                        .with("k", Value::Int(w.k as u64))
                        .with("query_s", Value::Num(ran.query.median))
                        .with("distance_evals", Value::Int(qs.distance_evals))
                        .with("exact_evals", Value::Int(qs.exact_evals))
                        .with("evals_per_query", Value::Num(qs.evals_per_query())),
                );
                (
                    qs.path.name(),
                    qs.evals_per_query(),
                    qs.exact_evals as f64 / qs.queries.max(1) as f64,
                )
            }
            // Dense: every pair the job may see is bounded; k-d: not counted.
            None if plan.engine == Engine::Kd => ("kd index", f64::NAN, f64::NAN),
            None => (
                "dense",
                match kind {
                    Kind::Knn(_) => w.n as f64,
                    _ => (w.n as f64 - 1.0) / 2.0,
                },
                f64::NAN,
            ),
        };
        let disagree = |what: &str| {
            Error::invalid(
                "bench",
                format!("{}: pcct and {what} disagree — please report this", w.id),
            )
        };

        let mut skipped = Vec::new();
        let brute = if self.brute {
            let mut runs = Vec::new();
            for r in 0..self.repeat {
                p.step(format!("{}: brute force ({}/{})", w.id, r + 1, self.repeat));
                let t = Instant::now();
                let bf = match &q {
                    Some(q) => brute_force_knn(&m, q, w.k, self.pool)?,
                    None => brute_force_predecessor_knn(&m, w.k, self.pool)?,
                };
                runs.push(seconds(t));
                if bf != ran.answer {
                    return Err(disagree("brute force"));
                }
                p.inc(1);
            }
            Some(Timing::of(&runs))
        } else {
            None
        };
        let other = if self.other {
            // The cover tree for dense rows, the dense engine for the others.
            let engine = if plan.engine == Engine::Dense {
                Engine::Tree
            } else {
                Engine::Dense
            };
            let o = self.engine_run(w, &m, q.as_ref(), engine, "other engine:")?;
            if o.answer != ran.answer {
                return Err(disagree(&format!("the {} engine", engine.name())));
            }
            Some((o.build, o.query))
        } else {
            None
        };
        let sequential = if !self.sequential {
            None
        } else if w.n > self.sequential_max_n {
            skipped.push(format!(
                "{}: sequential tree skipped (n = {} > --sequential-max-n {})",
                w.id, w.n, self.sequential_max_n
            ));
            p.inc(self.repeat as u64);
            None
        } else {
            let (mut b, mut qt) = (Vec::new(), Vec::new());
            for r in 0..self.repeat {
                p.step(format!("{}: sequential tree ({}/{})", w.id, r + 1, self.repeat));
                let t = Instant::now();
                let tree = Tree::build_sequential(m.clone())?;
                b.push(seconds(t));
                let t = Instant::now();
                let (nb, _) = match &q {
                    Some(q) => tree.knn(q, w.k).via(self.via).run(self.pool)?,
                    None => tree.predecessor_knn(w.k).via(self.via).run(self.pool)?,
                };
                qt.push(seconds(t));
                if nb != ran.answer {
                    return Err(disagree("the sequential tree"));
                }
                p.inc(1);
            }
            Some((Timing::of(&b), Timing::of(&qt)))
        };
        Ok(Row {
            workload: *w,
            build: ran.build,
            query: ran.query,
            evals_per_query,
            exact_per_query,
            path,
            plan,
            model: None,
            brute,
            other,
            sequential,
            skipped,
            residual_median,
        })
    }
}

/// What one engine's runs gave.
struct Measured {
    build: Timing,
    query: Timing,
    answer: Neighbors,
    /// The tree's build and query statistics (none for the dense engine).
    stats: Option<(pcct::BuildStats, QueryStats)>,
}

/// Queries spot-checked against a naive ranking on every row.
const SPOT_CHECKS: usize = 64;

/// Compares [`SPOT_CHECKS`] evenly spaced rows of `answer` with a naive ranking of the
/// canonical distances (ties by id): independent of every engine's pruning and tiles.
fn spot_check<M: Metric>(w: &Workload, m: &M, q: Option<&M>, answer: &Neighbors) -> Result<()> {
    let (qm, nq) = match q {
        Some(q) => (q, q.len()),
        None => (m, m.len()),
    };
    let step = nq.div_ceil(SPOT_CHECKS).max(1);
    for i in (0..nq).step_by(step) {
        let end = if q.is_some() { m.len() } else { i };
        let mut all: Vec<(f64, u32)> = (0..end as u32)
            .map(|j| (m.distance(qm, i as u32, j), j))
            .collect();
        all.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        all.truncate(w.k);
        let (ids, dists) = answer.row(i);
        let same = all.len() <= ids.len()
            && all
                .iter()
                .zip(ids.iter().zip(dists))
                .all(|(a, (&id, &d))| a.1 == id && a.0 == d)
            && ids[all.len()..].iter().all(|&id| id == pcct::tree::NONE);
        if !same {
            return Err(Error::invalid(
                "bench",
                format!(
                    "{}: row {i} differs from a naive ranking — please report this",
                    w.id
                ),
            ));
        }
    }
    Ok(())
}

/// The plan as a telemetry record (`kind = "plan"`).
fn plan_record(plan: &Plan) -> Record {
    Record::new("plan")
        .with("engine", Value::Str(plan.engine.name().into()))
        .with("reach", Value::Num(plan.reach))
        .with("tree_cost", Value::Num(plan.tree_cost))
        .with("dense_cost", Value::Num(plan.dense_cost))
        .with("reason", Value::Str(plan.reason()))
}

fn summary(row: &Row, threads: usize) -> Record {
    let w = &row.workload;
    let mut r = Record::new("summary")
        .with("workload", Value::Str(w.id.into()))
        .with("metric", Value::Str(w.metric_name()))
        .with("n", Value::Int(w.n as u64))
        .with("dim", Value::Int(w.dim as u64))
        .with("queries", Value::Int(w.query_count() as u64))
        .with("k", Value::Int(w.k as u64))
        .with("threads", Value::Int(threads as u64))
        .with("engine", Value::Str(row.plan.engine.name().into()))
        .with("plan", Value::Str(row.plan.reason()))
        .with("model_s", Value::Num(row.model.unwrap_or(0.0)))
        .with("total_s", Value::Num(row.total()))
        .with("build_s", Value::Num(row.build.median))
        .with("build_min_s", Value::Num(row.build.min))
        .with("build_max_s", Value::Num(row.build.max))
        .with("query_s", Value::Num(row.query.median))
        .with("query_min_s", Value::Num(row.query.min))
        .with("query_max_s", Value::Num(row.query.max))
        .with("evals_per_query", Value::Num(row.evals_per_query))
        .with("exact_per_query", Value::Num(row.exact_per_query))
        .with("path", Value::Str(row.path.into()));
    if let Some(b) = row.brute {
        r = r
            .with("brute_s", Value::Num(b.median))
            .with("brute_min_s", Value::Num(b.min))
            .with("brute_max_s", Value::Num(b.max));
    }
    if let Some((b, q)) = row.sequential {
        r = r
            .with("sequential_build_s", Value::Num(b.median))
            .with("sequential_query_s", Value::Num(q.median));
    }
    if let Some(p) = row.residual_median {
        r = r.with("residual_variance_median", Value::Num(p));
    }
    r
}

/// `1.234` or, over several runs, `1.234 (1.2–1.3)`.
fn cell(t: &Timing, repeat: usize) -> String {
    if repeat > 1 {
        format!("{} ({}–{})", secs(t.median), secs(t.min), secs(t.max))
    } else {
        secs(t.median)
    }
}

fn secs(s: f64) -> String {
    if s >= 10.0 {
        format!("{s:.1}")
    } else if s >= 0.1 {
        format!("{s:.3}")
    } else {
        format!("{s:.4}")
    }
}

fn ratio(a: f64, b: f64) -> String {
    format!("{:.1}×", a / b)
}

/// What the columns mean, printed under the table.
const LEGEND: &str = "\
legend: queries: (data) = dataset points as queries, (pred.) = each point's k nearest among the points before it.
        engine = what the plan chose (dense = every pair in tiles, tree = build and search a cover tree), with the
        plan's reach: the share of the points a search would measure. model = the residual GP model (V, p).
        p/σ² = a point's residual variance over the kernel variance (median).
        evals/query = distance evaluations per query, probes included; in parentheses the tree's path
        (kd = k-d index, scan = tiled scan, none = the cover tree) and the exact f64 distances per query;
        for the dense engine the pairs bounded per query.
        total = model + build + queries. brute = per-query blocked brute force, other = the engine the plan
        did not choose, seq = the sequential cover tree; a ratio x/pcct above 1× means pcct's plan is faster.
";

/// A row's metric, with the residual model's median p/σ².
fn metric_cell(r: &Row) -> String {
    let mut metric = r.workload.metric_name();
    if let Some(p) = r.residual_median {
        let _ = write!(metric, ", median p/σ² {p:.2}");
    }
    metric
}

/// The table as rows of cells, header first: every column with `wide` (markdown), else
/// a narrower one for terminals (the metric by its kind, no queries/s).
fn table(rows: &[Row], repeat: usize, wide: bool) -> Vec<Vec<String>> {
    let mut t = vec![[
        "id",
        "n",
        "queries",
        "k",
        "d",
        "metric",
        "engine",
        "model s",
        "build s",
        "query s",
        "total s",
        "queries/s",
        "evals/query",
        "brute s",
        "brute/pcct total",
        "other build s",
        "other query s",
        "other/pcct total",
        "seq build s",
        "seq query s",
        "seq/pcct total",
    ]
    .map(String::from)
    .to_vec()];
    let dash = || "—".to_string();
    for r in rows {
        let w = &r.workload;
        let queries = match w.queries {
            Queries::Predecessor => format!("{} (pred.)", w.n),
            Queries::Dataset(q) => format!("{q} (data)"),
            Queries::New(q) => q.to_string(),
        };
        let metric = if wide {
            metric_cell(r)
        } else {
            w.metric_name().split(' ').next().unwrap_or_default().to_string()
        };
        let mut cells = vec![
            w.id.to_string(),
            w.n.to_string(),
            queries,
            w.k.to_string(),
            w.dim.to_string(),
            metric,
            format!("{} ({:.1} %)", r.plan.engine.name(), 100.0 * r.plan.reach),
            r.model.map_or_else(dash, secs),
            cell(&r.build, repeat),
            cell(&r.query, repeat),
            secs(r.total()),
            format!("{:.0}", w.query_count() as f64 / r.query.median),
            match r.path {
                "dense" => format!("{:.0} (dense)", r.evals_per_query),
                "kd index" => "— (kd index)".to_string(),
                path => format!(
                    "{:.0} ({}{:.0} exact)",
                    r.evals_per_query,
                    if path == "tree" {
                        String::new()
                    } else {
                        format!("{path}, ")
                    },
                    r.exact_per_query
                ),
            },
        ];
        match r.brute {
            Some(b) => cells.extend([
                cell(&b, repeat),
                ratio(b.median + r.model.unwrap_or(0.0), r.total()),
            ]),
            None => cells.extend([dash(), dash()]),
        }
        match r.other {
            Some((b, q)) => cells.extend([
                cell(&b, repeat),
                cell(&q, repeat),
                ratio(b.median + q.median + r.model.unwrap_or(0.0), r.total()),
            ]),
            None => cells.extend([dash(), dash(), dash()]),
        }
        match r.sequential {
            Some((b, q)) => cells.extend([
                cell(&b, repeat),
                cell(&q, repeat),
                ratio(b.median + q.median + r.model.unwrap_or(0.0), r.total()),
            ]),
            None => cells.extend([dash(), dash(), dash()]),
        }
        t.push(cells);
    }
    // Columns of baselines that did not run (all dashes) go; so does queries/s in a terminal.
    let keep: Vec<bool> = (0..t[0].len())
        .map(|c| (wide || t[0][c] != "queries/s") && (t.len() == 1 || t[1..].iter().any(|r| r[c] != "—")))
        .collect();
    for row in &mut t {
        let mut c = 0;
        row.retain(|_| {
            c += 1;
            keep[c - 1]
        });
    }
    t
}

fn render(t: &[Vec<String>], markdown: bool) -> String {
    let mut out = String::new();
    if markdown {
        for (i, row) in t.iter().enumerate() {
            let _ = writeln!(out, "| {} |", row.join(" | "));
            if i == 0 {
                let _ = writeln!(out, "|{}", "---|".repeat(row.len()));
            }
        }
        return out;
    }
    let widths: Vec<usize> = (0..t[0].len())
        .map(|c| t.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for row in t {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(s, &w)| format!("{s:>w$}"))
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    out
}

/// The JSON document of `--json`: the machine, then one object per row.
fn json(rows: &[Row], threads: usize, repeat: usize) -> String {
    let mut s = format!(
        "{{\"pcct_version\":\"{}\",\"isa\":\"{}\",\"threads\":{threads},\"repeat\":{repeat},\"rows\":[\n",
        env!("CARGO_PKG_VERSION"),
        isa_name()
    );
    let lines: Vec<String> = rows.iter().map(|r| summary(r, threads).to_json()).collect();
    s.push_str(&lines.join(",\n"));
    s.push_str("\n]}\n");
    s
}

fn isa_name() -> &'static str {
    isa::active().map(|c| c.isa().name()).unwrap_or("unknown")
}

/// Which workloads `--workload` names (all by default).
fn selected(args: &BenchArgs) -> Result<Vec<Workload>> {
    if !(args.scale > 0.0 && args.scale.is_finite()) {
        return Err(Error::invalid(
            "scale",
            format!("{} is not a positive factor", args.scale),
        ));
    }
    let base: Vec<Workload> = if args.workload.is_empty() {
        WORKLOADS.to_vec()
    } else {
        args.workload
            .iter()
            .map(|id| Workload::find(id))
            .collect::<Result<_>>()?
    };
    Ok(base.into_iter().map(|w| w.scaled(args.scale)).collect())
}

/// Runs `pcct bench`.
pub fn run(args: &BenchArgs) -> Result<()> {
    let workloads = selected(args)?;
    if args.repeat == 0 {
        return Err(Error::invalid("repeat", "--repeat must be at least 1".into()));
    }
    let (mut brute, mut sequential, mut other) = (false, false, false);
    for b in &args.baselines {
        match b.as_str() {
            "brute" => brute = true,
            "sequential" => sequential = true,
            "other" => other = true,
            "none" => {}
            name => {
                return Err(Error::invalid(
                    "baselines",
                    format!("unknown baseline {name:?} (expected brute, other, sequential or none)"),
                ))
            }
        }
    }
    let engine: Engine = args.engine.parse()?;
    let outputs: Vec<&std::path::Path> = [&args.json, &args.stats, &args.plot]
        .into_iter()
        .flatten()
        .map(|p| p.as_path())
        .collect();
    check_files(&args.profile.as_deref().into_iter().collect::<Vec<_>>(), &outputs)?;
    let profile = Profile::from_arg_or_env(args.profile.as_deref())?;
    let pool = Pool::new(args.threads)?;
    let mut opts = BuildOptions::default();
    if let Some(p) = &profile {
        p.apply(&mut opts)?;
    }

    let sweep: &[f64] = if args.plot.is_some() {
        &[0.125, 0.25, 0.5, 1.0]
    } else {
        &[1.0]
    };
    let runs_per_workload = args.repeat as u64 * (1 + brute as u64 + other as u64 + sequential as u64);
    let progress = Progress::new(
        runs_per_workload * (workloads.len() * sweep.len()) as u64,
        "pcct bench",
        args.quiet,
    );
    let mut runner = Runner {
        pool: &pool,
        opts,
        via: args.via.parse()?,
        engine,
        repeat: args.repeat,
        brute,
        other,
        sequential,
        sequential_max_n: args.sequential_max_n,
        progress: &progress,
        telemetry: Vec::new(),
    };
    let mut rows = Vec::new();
    let mut curves = Vec::new();
    for w in &workloads {
        let mut points = Vec::new();
        for &f in sweep {
            let ws = if f == 1.0 { *w } else { w.scaled(f) };
            let row = runner.run(&ws)?;
            points.push(row.clone());
            if f == 1.0 {
                rows.push(row);
            }
        }
        curves.push(points);
    }
    progress.finish();

    let mut text = format!(
        "pcct {} · {} threads · ISA {} · profile {} · repeat {} (median{}) · seconds\n\n",
        env!("CARGO_PKG_VERSION"),
        pool.threads(),
        isa_name(),
        profile.as_ref().map_or("none".to_string(), |p| p.describe()),
        args.repeat,
        if args.repeat > 1 { ", min–max" } else { "" },
    );
    text.push_str(&render(&table(&rows, args.repeat, args.markdown), args.markdown));
    if !args.markdown {
        // The narrow table names the metric by its kind; the model is spelled out here.
        for r in rows.iter().filter(|r| r.residual_median.is_some()) {
            let _ = writeln!(text, "{}: {}", r.workload.id, metric_cell(r));
        }
    }
    for r in &rows {
        for s in &r.skipped {
            let _ = writeln!(text, "note: {s}");
        }
    }
    text.push('\n');
    text.push_str(LEGEND);
    let mut checked = vec![format!("a naive ranking of {SPOT_CHECKS} queries per row")];
    for (name, ran) in [
        ("brute force", rows.iter().any(|r| r.brute.is_some())),
        ("the other engine", rows.iter().any(|r| r.other.is_some())),
        ("the sequential tree", rows.iter().any(|r| r.sequential.is_some())),
    ] {
        if ran {
            checked.push(format!("{name}'s answers"));
        }
    }
    let _ = writeln!(
        text,
        "checked: every pcct answer above equals {} in this run (ids and distances).",
        checked.join(", ")
    );
    print!("{text}");

    let json_text = args
        .json
        .as_ref()
        .map(|_| json(&rows, pool.threads(), args.repeat));
    let stats_text = args.stats.as_ref().map(|_| {
        runner
            .telemetry
            .iter()
            .map(|r| r.to_json() + "\n")
            .collect::<String>()
    });
    let plot_text = args.plot.as_ref().map(|_| super::plot::bench_svg(&curves));
    let mut outputs = Vec::new();
    for (path, text) in [
        (&args.json, &json_text),
        (&args.stats, &stats_text),
        (&args.plot, &plot_text),
    ] {
        if let (Some(p), Some(t)) = (path, text) {
            outputs.push((p.as_path(), Output::Text(t), 0, 0));
        }
    }
    write_all(&outputs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timing_summarizes() {
        let t = Timing::of(&[3.0, 1.0, 2.0]);
        assert_eq!((t.median, t.min, t.max), (2.0, 1.0, 3.0));
        assert_eq!(Timing::of(&[1.0, 4.0]).median, 2.5);
    }

    #[test]
    fn markdown_has_a_rule_under_the_header() {
        let t = vec![
            vec!["a".to_string(), "b".to_string()],
            vec!["1".into(), "2".into()],
        ];
        assert_eq!(render(&t, true), "| a | b |\n|---|---|\n| 1 | 2 |\n");
        assert_eq!(render(&t, false), "a  b\n1  2\n");
    }
}
