//! `pcct knn`: files in, exact neighbours out.

use super::input::{note, read_input, HeaderArgs};
use super::model::ModelArgs;
use super::progress::Progress;
use super::saved::{euclidean, residual_points, SavedTree};
use clap::{ArgGroup, Args};
use pcct::build::Order;
use pcct::io::{check_files, check_output_path, write_all, Matrix, Output};
use pcct::job::{plan, Engine, Job, Kind, Plan};
use pcct::kernels::{isa, Element};
use pcct::persist::Persist;
use pcct::telemetry::{Record, Value};
use pcct::tree::NONE;
use pcct::tuning::Profile;
use pcct::{BuildOptions, Error, Flat, Metric, Neighbors, Pool, QueryStats, Result, Tree, Via};
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `pcct knn`.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("mode").required(true).args(["queries", "self_", "predecessor"])))]
pub struct KnnArgs {
    /// Data points: .npy (2-D float32/float64, C or Fortran order) or .csv (numeric, optional header).
    #[arg(
        long,
        value_name = "DATA",
        required_unless_present = "load_tree",
        conflicts_with = "load_tree"
    )]
    pub data: Option<PathBuf>,
    /// Neighbours per query (1 ≤ k ≤ n).
    #[arg(long)]
    pub k: usize,
    /// Query points (same dimension as the data): their k nearest data points.
    #[arg(long, value_name = "QUERIES")]
    pub queries: Option<PathBuf>,
    /// Each data point's k nearest other data points (its duplicates included).
    #[arg(long = "self")]
    pub self_: bool,
    /// Each data point's k nearest among the points before it (Vecchia); short rows padded with -1 / inf.
    #[arg(long)]
    pub predecessor: bool,
    /// Output ids: int64 n_queries × k, .npy or .csv (-1 where a row has fewer than k).
    #[arg(long, value_name = "IDS")]
    pub out_ids: PathBuf,
    /// Output distances: float64 n_queries × k (true distances, not squared).
    #[arg(long, value_name = "DISTS")]
    pub out_dists: Option<PathBuf>,
    /// Worker threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Write telemetry as JSON Lines (one record per build batch, then build, query and summary).
    #[arg(long, value_name = "STATS")]
    pub stats: Option<PathBuf>,
    /// Seed of the parallel build (MIS priorities, random order); same seed ⇒ same tree for any --threads.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Insertion order of the parallel build: hilbert, natural or random.
    #[arg(long, default_value = "hilbert")]
    pub order: String,
    /// Grid election before each MIS of the parallel build (Euclidean data): another
    /// valid tree, the same for any --threads; same answers.
    #[arg(long)]
    pub grid: bool,
    /// Flat tree (the root and every other point its child; queries scan): auto (where a
    /// sample says the metric cannot be split: ≥ 4,096 points, a k-NN search would measure
    /// half of them, no duplicates), never or always. Same answers.
    #[arg(long, default_value = "auto")]
    pub flat: String,
    /// Query path: auto (the engine decides), tree, scan or kd (k-d index; Euclidean
    /// data in at most 16 dimensions). Every path gives the same answers.
    #[arg(long, default_value = "auto")]
    pub via: String,
    /// Engine: auto (plan from a sample: an index where it will prune enough to repay its
    /// build — a k-d tree for Euclidean data in ≤ 16 dimensions, else a cover tree — or
    /// the dense engine over every pair), tree (cover tree), kd or dense. Same answers.
    /// The options that shape a tree or its search (--save-tree, --builder, --via,
    /// --grid, --flat, --order, --seed) choose the tree.
    #[arg(long, default_value = "auto")]
    pub engine: String,
    /// Metric: euclidean, or residual (the residual correlation of a Vecchia-inducing-points GP; needs --inducing).
    #[arg(long, default_value = "euclidean", value_parser = ["euclidean", "residual"])]
    pub metric: String,
    /// The residual model (`--inducing`, `--kernel`, `--lengthscale`, `--variance`, `--jitter`).
    #[command(flatten)]
    pub model: ModelArgs,
    /// Residual metric: audit mode — every row the cheap phase-1 bound rules out is also
    /// measured exactly; the counts go to stderr, and a miss (which would be a bug) is an error.
    #[arg(long)]
    pub audit: bool,
    /// Tree builder: pcct (the parallel pipeline) or sequential (the one-point-at-a-time reference).
    #[arg(long, default_value = "pcct", value_parser = ["pcct", "sequential"])]
    pub builder: String,
    /// A tuning profile from `pcct tune` (default: $PCCT_PROFILE if set).
    #[arg(long, value_name = "PROFILE")]
    pub profile: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// What line 1 of CSV inputs is.
    #[command(flatten)]
    pub header: HeaderArgs,
    /// Also save the built tree (with its points) to this file; `--load-tree` reads it back.
    #[arg(long, value_name = "TREE")]
    pub save_tree: Option<PathBuf>,
    /// Answer from a saved tree instead of building one (replaces --data and the metric options).
    #[arg(long, value_name = "TREE")]
    pub load_tree: Option<PathBuf>,
}

impl KnnArgs {
    /// Every option at its default (clap's own), for telling which ones were given.
    fn defaults() -> KnnArgs {
        #[derive(clap::Parser)]
        struct Only {
            #[command(flatten)]
            args: KnnArgs,
        }
        let minimal = [
            "pcct",
            "--data",
            "d.npy",
            "--k",
            "1",
            "--self",
            "--out-ids",
            "o.npy",
        ];
        <Only as clap::Parser>::try_parse_from(minimal)
            .expect("the minimal knn arguments parse")
            .args
    }
}

/// Runs `pcct knn`.
pub fn run(args: &KnnArgs) -> Result<()> {
    // Everything that can be checked before the work is checked first.
    check_output_path(&args.out_ids)?;
    if let Some(p) = &args.out_dists {
        check_output_path(p)?;
    }
    let inputs = [
        &args.data,
        &args.queries,
        &args.model.inducing,
        &args.load_tree,
        &args.profile,
    ];
    let outputs = [
        Some(&args.out_ids),
        args.out_dists.as_ref(),
        args.stats.as_ref(),
        args.save_tree.as_ref(),
    ];
    check_files(
        &inputs.iter().filter_map(|p| p.as_deref()).collect::<Vec<_>>(),
        &outputs.iter().flatten().map(|p| p.as_path()).collect::<Vec<_>>(),
    )?;
    if args.k == 0 {
        return Err(Error::invalid("k", "k must be at least 1".into()));
    }
    args.via.parse::<Via>()?;
    args.engine.parse::<Engine>()?;
    // The profile before any metric exists: it may select the kernels' ISA level.
    let mut opts = BuildOptions {
        seed: args.seed,
        order: args.order.parse::<Order>()?,
        grid: args.grid,
        flat: args.flat.parse::<Flat>()?,
        ..BuildOptions::default()
    };
    if let Some(p) = Profile::from_arg_or_env(args.profile.as_deref())? {
        p.apply(&mut opts)?;
    }
    if let Some(path) = &args.load_tree {
        return run_loaded(args, path);
    }
    if args.metric == "residual" {
        return run_residual(args, &opts);
    }
    if args.audit {
        return Err(Error::invalid(
            "audit",
            "--audit checks the residual metric's phase 1: it needs --metric residual".into(),
        ));
    }
    if args.model.inducing.is_some() {
        return Err(Error::invalid(
            "inducing",
            "--inducing needs --metric residual".into(),
        ));
    }
    let data = read_input(data_path(args), args.header.mode())?;
    let queries = args
        .queries
        .as_deref()
        .map(|q| read_input(q, args.header.mode()))
        .transpose()?;
    let all_f32 = matches!(data, Matrix::F32 { .. })
        && queries.as_ref().is_none_or(|q| matches!(q, Matrix::F32 { .. }));
    if all_f32 {
        run_typed::<f32>(args, &opts, &data, queries.as_ref())
    } else {
        run_typed::<f64>(args, &opts, &data, queries.as_ref())
    }
}

/// `--data` (clap makes it present unless `--load-tree` is).
fn data_path(args: &KnnArgs) -> &std::path::Path {
    args.data
        .as_deref()
        .expect("clap requires --data without --load-tree")
}

/// `--load-tree`: the file's metric tag picks the type; queries are converted to it.
/// Options that shape a new tree or its metric do not apply and are refused.
fn run_loaded(args: &KnnArgs, path: &std::path::Path) -> Result<()> {
    let defaults = KnnArgs::defaults();
    let model = args.model.given(&defaults.model);
    let ignored = [
        ("--metric", args.metric != defaults.metric),
        model[0],
        model[1],
        model[2],
        model[3],
        model[4],
        ("--builder", args.builder != defaults.builder),
        ("--order", args.order != defaults.order),
        ("--grid", args.grid),
        ("--flat", args.flat != defaults.flat),
        ("--seed", args.seed != defaults.seed),
        ("--save-tree", args.save_tree.is_some()),
        ("--engine", args.engine != defaults.engine),
    ];
    if let Some((name, _)) = ignored.iter().find(|(_, set)| *set) {
        return Err(Error::invalid(
            "load-tree",
            format!("{name} does not apply to a loaded tree: it answers in the metric it was saved with"),
        ));
    }
    let t0 = Instant::now();
    let progress = Progress::new(1, "pcct knn", args.quiet);
    progress.step("loading the tree");
    let saved = SavedTree::read(path)?;
    let built = Built {
        stats: None,
        seconds: t0.elapsed().as_secs_f64(),
        builder: "loaded",
        plan: None,
    };
    let queries = args
        .queries
        .as_deref()
        .map(|q| read_input(q, args.header.mode()))
        .transpose()?;
    let pool = Pool::new(args.threads)?;
    match saved {
        SavedTree::F32(tree) => {
            let q = queries.map(|q| euclidean::<f32>(&q, "queries")).transpose()?;
            answer(args, tree, built, q, pool, "f32", progress)
        }
        SavedTree::F64(tree) => {
            let q = queries.map(|q| euclidean::<f64>(&q, "queries")).transpose()?;
            answer(args, tree, built, q, pool, "f64", progress)
        }
        SavedTree::Residual(tree) => {
            let q = queries
                .map(|q| residual_points(&tree, &q, "queries", &pool))
                .transpose()?;
            answer(args, *tree, built, q, pool, "f64-residual", progress)
        }
    }
}

fn run_residual(args: &KnnArgs, opts: &BuildOptions) -> Result<()> {
    let data = read_input(data_path(args), args.header.mode())?;
    let queries = args
        .queries
        .as_deref()
        .map(|q| read_input(q, args.header.mode()))
        .transpose()?;
    let dim = data.shape().1;
    let pool = Pool::new(args.threads)?;
    let m = args.model.metric(&data, args.header.mode(), &pool)?;
    let q = match &queries {
        Some(q) if q.shape().1 != dim => {
            return Err(Error::invalid(
                "queries",
                format!("queries have dimension {} but the data has {dim}", q.shape().1),
            ))
        }
        Some(q) => Some(m.queries(&q.to_f64(), &pool)?),
        None => None,
    };
    let m = if args.audit { m.with_audit() } else { m };
    let audit = m.audit();
    run_metric(args, opts, m, q, pool, "f64-residual")?;
    if let Some(a) = audit {
        eprintln!(
            "audit: phase 1 ruled out {} rows in the build and the queries; {} misses",
            a.rejections(),
            a.misses()
        );
        if a.misses() > 0 {
            return Err(Error::invalid(
                "audit",
                format!(
                    "{} phase-1 rejections were within their radius — please report this",
                    a.misses()
                ),
            ));
        }
    }
    Ok(())
}

fn run_typed<T: Element>(
    args: &KnnArgs,
    opts: &BuildOptions,
    data: &Matrix,
    queries: Option<&Matrix>,
) -> Result<()> {
    let pool = Pool::new(args.threads)?;
    let m = euclidean::<T>(data, "data")?;
    let q = queries.map(|q| euclidean::<T>(q, "queries")).transpose()?;
    run_metric(args, opts, m, q, pool, std::any::type_name::<T>())
}

fn run_metric<M: Metric + Persist>(
    args: &KnnArgs,
    opts: &BuildOptions,
    m: M,
    q: Option<M>,
    pool: Pool,
    dtype: &str,
) -> Result<()> {
    let n = m.len();
    if let Some(q) = &q {
        m.check_queries(q)?;
    }
    if args.k > n {
        return Err(Error::invalid(
            "k",
            format!("k = {} exceeds the {n} data points", args.k),
        ));
    }
    // Checked before the build, which the query would otherwise follow to fail.
    args.via.parse::<Via>()?.kd_open(&m)?;
    let defaults = KnnArgs::defaults();
    let tree_options = [
        ("--save-tree", args.save_tree.is_some()),
        ("--builder sequential", args.builder == "sequential"),
        ("--via", args.via != defaults.via),
        ("--grid", args.grid),
        ("--flat", args.flat != defaults.flat),
        ("--order", args.order != defaults.order),
        ("--seed", args.seed != defaults.seed),
    ];
    let mut engine: Engine = args.engine.parse()?;
    if let Some((name, _)) = tree_options.iter().find(|(_, set)| *set) {
        if matches!(engine, Engine::Dense | Engine::Kd) {
            return Err(Error::invalid(
                "engine",
                format!(
                    "{name} needs a cover tree, and --engine {} answers without one",
                    engine.name()
                ),
            ));
        }
        engine = Engine::Tree;
    }
    let kind = match &q {
        Some(q) => Kind::Knn(q.len()),
        None if args.self_ => Kind::SelfKnn,
        None => Kind::Predecessor,
    };
    let auto = plan(&m, args.k, kind, Engine::Auto);
    let plan = auto.clone().forcing(engine);
    if plan.forced && args.engine == defaults.engine {
        // A tree option chose the cover tree: say when the plan would not have.
        if auto.engine != Engine::Tree {
            note(format!(
                "the options given need a cover tree; without them the plan would answer \
                 with the {} engine: {}",
                auto.engine.name(),
                auto.reason()
            ));
        }
    }
    let progress = Progress::new(n as u64, "pcct knn", args.quiet);
    if plan.engine != Engine::Tree {
        return answer_without_tree(args, m, q, pool, dtype, plan, progress);
    }
    let t0 = Instant::now();
    if args.builder == "sequential" && args.flat == "always" {
        return Err(Error::invalid(
            "flat",
            "--flat always needs the parallel builder: --builder sequential builds a cover tree".into(),
        ));
    }
    let (tree, stats, builder) = if args.builder == "sequential" {
        progress.step("sequential build");
        (Tree::build_sequential(m)?, None, "sequential")
    } else {
        progress.step("build");
        let (t, s) = Tree::build_observed(m, &pool, opts, &mut |_, placed| progress.set(placed as u64))?;
        (t, Some(s), "pcct")
    };
    let built = Built {
        stats,
        seconds: t0.elapsed().as_secs_f64(),
        builder,
        plan: Some(plan),
    };
    progress.set(n as u64);
    answer(args, tree, built, q, pool, dtype, progress)
}

/// The dense or k-d engine's answer: no cover tree; the plan and the run go to the telemetry.
fn answer_without_tree<M: Metric>(
    args: &KnnArgs,
    m: M,
    q: Option<M>,
    pool: Pool,
    dtype: &str,
    plan: Plan,
    progress: Progress,
) -> Result<()> {
    let k = args.k;
    let engine = plan.engine.name();
    let kd = plan.engine == Engine::Kd;
    progress.step(if kd { "k-d index and queries" } else { "dense scan" });
    let (n, nq) = (m.len() as u64, q.as_ref().map_or(m.len(), |q| q.len()));
    progress.set_len(nq as u64);
    progress.set(0);
    // The summary's shape fields now: the job takes the metric.
    let shape = summary(&m, &pool, dtype, k, nq);
    let observe = |done: usize| progress.inc(done as u64);
    let t1 = Instant::now();
    let (mode, job) = match &q {
        Some(q) => ("knn", Job::knn(m, q, k)),
        None if args.self_ => ("self", Job::self_knn(m, k)),
        None => ("predecessor", Job::predecessor_knn(m, k)),
    };
    let nb = job.observe(&observe).run_planned(plan.clone(), &pool)?.neighbors;
    let query_s = t1.elapsed().as_secs_f64();
    progress.finish();
    // Pairs the dense engine bounded: every (query, row) pair the job may see.
    let pairs = match &q {
        _ if kd => None,
        Some(q) => Some(q.len() as u64 * n),
        None if args.self_ => Some(n * n.saturating_sub(1)),
        None => Some(n * n.saturating_sub(1) / 2),
    };
    let records = vec![
        plan_record(&plan),
        Record::new("query")
            .with("mode", Value::Str(mode.into()))
            .with("path", Value::Str(engine.into()))
            .with("queries", Value::Int(nb.len() as u64))
            .with("k", Value::Int(k as u64))
            .with("query_s", Value::Num(query_s)),
        shape
            .with("build_s", Value::Num(0.0))
            .with("query_s", Value::Num(query_s))
            .with("distance_evals", pairs.map_or(Value::Num(f64::NAN), Value::Int))
            .with("path", Value::Str(engine.into())),
    ];
    write_answers(args, &nb, &records, None)
}

/// The plan as a telemetry record (`kind = "plan"`).
fn plan_record(plan: &Plan) -> Record {
    Record::new("plan")
        .with("engine", Value::Str(plan.engine.name().into()))
        .with("forced", Value::Str(plan.forced.to_string()))
        .with("sample", Value::Int(plan.sample as u64))
        .with("kth", Value::Num(plan.kth))
        .with("reach", Value::Num(plan.reach))
        .with("tree_cost", Value::Num(plan.tree_cost))
        .with("dense_cost", Value::Num(plan.dense_cost))
        .with("plan_s", Value::Num(plan.time.as_secs_f64()))
        .with("reason", Value::Str(plan.reason()))
}

/// The summary record's shape fields (`kind = "summary"`); times and path are added by the caller.
fn summary<M: Metric>(m: &M, pool: &Pool, dtype: &str, k: usize, queries: usize) -> Record {
    let isa_name = isa::active().map(|c| c.isa().name()).unwrap_or("unknown");
    Record::new("summary")
        .with("n", Value::Int(m.len() as u64))
        .with("dim", Value::Int(m.capabilities().coordinate_dim as u64))
        .with("queries", Value::Int(queries as u64))
        .with("k", Value::Int(k as u64))
        .with("threads", Value::Int(pool.threads() as u64))
        .with("isa", Value::Str(isa_name.into()))
        .with("dtype", Value::Str(dtype.into()))
}

/// Writes ids, distances, the telemetry records and the tree file (each where asked).
fn write_answers(
    args: &KnnArgs,
    nb: &Neighbors,
    records: &[Record],
    tree_bytes: Option<Vec<u8>>,
) -> Result<()> {
    let k = args.k;
    let ids: Vec<i64> = nb
        .ids()
        .iter()
        .map(|&i| if i == NONE { -1 } else { i as i64 })
        .collect();
    let rows = nb.len();
    let mut outputs = vec![(args.out_ids.as_path(), Output::I64(&ids), rows, k)];
    if let Some(p) = &args.out_dists {
        outputs.push((p.as_path(), Output::F64(nb.dists()), rows, k));
    }
    let stats_text = records.iter().map(|r| r.to_json() + "\n").collect::<String>();
    if let Some(p) = &args.stats {
        outputs.push((p.as_path(), Output::Text(&stats_text), 0, 0));
    }
    if let (Some(p), Some(b)) = (&args.save_tree, &tree_bytes) {
        outputs.push((p.as_path(), Output::Bytes(b), 0, 0));
    }
    write_all(&outputs)
}

/// How the tree came to be: the build's stats (if the parallel build ran), seconds
/// spent building or loading, and `pcct`, `sequential` or `loaded`.
struct Built {
    stats: Option<pcct::BuildStats>,
    seconds: f64,
    builder: &'static str,
    /// The plan that chose the tree (none for a loaded tree).
    plan: Option<Plan>,
}

/// Runs the queries on `tree` and writes ids, distances, telemetry and the tree file.
fn answer<M: Metric + Persist>(
    args: &KnnArgs,
    tree: Tree<M>,
    built: Built,
    q: Option<M>,
    pool: Pool,
    dtype: &str,
    progress: Progress,
) -> Result<()> {
    let (n, k) = (tree.len(), args.k);
    if k > n {
        return Err(Error::invalid(
            "k",
            format!("k = {k} exceeds the tree's {n} points"),
        ));
    }
    if let Some(q) = &q {
        tree.metric().check_queries(q)?;
    }
    let (build_stats, build_s) = (built.stats, built.seconds);
    progress.step("queries");
    let t1 = Instant::now();
    let via: Via = args.via.parse()?;
    let (mode, (nb, qs)): (&str, (Neighbors, QueryStats)) = match &q {
        Some(q) => ("knn", tree.knn(q, k).via(via).run(&pool)?),
        None if args.self_ => ("self", tree.self_knn(k).via(via).run(&pool)?),
        None => ("predecessor", tree.predecessor_knn(k).via(via).run(&pool)?),
    };
    let query_s = t1.elapsed().as_secs_f64();
    progress.finish();

    let mut records: Vec<Record> = built.plan.iter().map(plan_record).collect();
    if args.stats.is_some() {
        records.extend(
            build_stats
                .iter()
                .flat_map(|s| s.batches.iter().enumerate().map(|(i, b)| b.record(i))),
        );
        let build = build_stats.as_ref().map_or_else(
            || Record::new("build").with("builder", Value::Str(built.builder.into())),
            |s| s.record(),
        );
        records.extend([
            build
                .with("build_s", Value::Num(build_s))
                .with("points", Value::Int(n as u64))
                .with("nodes", Value::Int(tree.num_nodes() as u64))
                .with("root_level", Value::Num(tree.root_level() as f64)),
            Record::new("query")
                .with("mode", Value::Str(mode.into()))
                .with("path", Value::Str(qs.path.name().into()))
                .with("queries", Value::Int(qs.queries as u64))
                .with("k", Value::Int(k as u64))
                .with("query_s", Value::Num(query_s))
                .with("distance_evals", Value::Int(qs.distance_evals))
                .with("exact_evals", Value::Int(qs.exact_evals))
                .with("evals_per_query", Value::Num(qs.evals_per_query())),
            summary(tree.metric(), &pool, dtype, k, qs.queries)
                .with("build_s", Value::Num(build_s))
                .with("query_s", Value::Num(query_s))
                .with("distance_evals", Value::Int(qs.distance_evals))
                .with("path", Value::Str(qs.path.name().into())),
        ]);
    }
    let tree_bytes = args.save_tree.as_ref().map(|_| tree.to_bytes());
    write_answers(args, &nb, &records, tree_bytes)
}
