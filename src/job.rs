//! One-shot jobs — data in, neighbours out — planned before anything is built: an index
//! is worth building only if it will prune enough to repay its build; otherwise the
//! dense engine ([`crate::query::dense_knn`]) scans every pair in tiles. The index is a
//! k-d tree over the coordinates ([`crate::query::kd_knn`]) for Euclidean data in at most
//! 16 dimensions without exact duplicates in the sample, a cover tree otherwise.
//!
//! ```
//! use pcct::job::{Engine, Job};
//! use pcct::{datagen, Dataset, Euclidean, Pool};
//! let pool = Pool::new(2)?;
//! let points = |n, seed| Euclidean::new(Dataset::from_rows(&datagen::uniform(n, 3, seed), n, 3)?);
//! let (data, queries) = (points(2_000, 1)?, points(50, 2)?);
//! let done = Job::knn(data.clone(), &queries, 5).run(&pool)?;
//! println!("{}", done.plan.reason()); // which engine, and why
//! let forced = Job::knn(data, &queries, 5).engine(Engine::Tree).run(&pool)?;
//! assert_eq!(done.neighbors, forced.neighbors); // every engine gives the same answers
//! # Ok::<(), pcct::Error>(())
//! ```
//!
//! **The plan.** A sample of up to [`SAMPLE`] points, evenly spaced by id, is measured
//! pair by pair. The `k/n` quantile of those distances estimates a query's k-th
//! neighbour distance `r_k` at full size; the share of sample pairs within `2·r_k` is
//! the *reach*: the share of the points a search has to measure because the k-NN ball,
//! widened by the cover radii around it, touches them (1 where all distances are alike,
//! as with the residual metric of a smooth, long-lengthscale model). Costs, in canonical
//! distance evaluations:
//!
//! ```text
//! tree  = n·(build + reach·n/2)  +  queries·(descent·log2 n + visit·n)
//!         visit = reach (two-phase metrics: at least 0.3, their searches prune little)
//! kd    = pair·(3·n·log2 n  +  queries·(24·k + 100·2^(d/2)))  (rows a k-d search measures)
//! dense = pairs · pair           pairs: queries·n (k-NN), n² (self), n²/2 (predecessors)
//! ```
//!
//! with `build`, `descent` and `pair` the constants below (measured; BENCHMARKS.md,
//! section Plans). The cheaper engine runs; both give the same answers, so a plan can
//! only cost time, never exactness.

use crate::metric::Metric;
use crate::pool::Pool;
use crate::query::{check_k, dense_observed, kd_observed, unobserved, Neighbors, Observer, QueryStats, Rows};
use crate::tree::Tree;
use crate::{Error, Result};
use std::time::{Duration, Instant};

/// Most points the plan measures pairwise.
pub const SAMPLE: usize = 256;

/// Canonical evaluations a build spends per point on data it can split (two-phase
/// metrics: their phase-1 bounds and exact distances, per point, on W8).
const BUILD_EVALS: f64 = 600.0;
const BUILD_EVALS_TWO_PHASE: f64 = 3_000.0;
/// Evaluations per level of a query's descent.
const DESCENT_EVALS: f64 = 20.0;
/// A dense pair in canonical evaluations: a blocked kernel row for plain metrics, one
/// entry of a matrix product (plus its kernel value) for two-phase ones.
const DENSE_PAIR: f64 = 1.0 / 3.0;
const DENSE_PAIR_TWO_PHASE: f64 = 1.0 / 8.0;
/// Least share of the points a two-phase metric's tree search costs per query, in
/// canonical evaluations, whatever the reach: the residual metric's phase-1 bounds
/// prune little even where the k-NN ball is small (100,000 points in d = 2, Matérn 3/2
/// ℓ = 0.2, m = 50, predecessors, k = 30: reach 0.1 %, yet 33 % of the rows bounded per
/// query, 0.37·n evaluations' time; BENCHMARKS.md, section Dense engine).
const SEARCH_SHARE_TWO_PHASE: f64 = 0.3;

/// Which engine answers a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Engine {
    /// The plan decides (the default).
    #[default]
    Auto,
    /// Build a cover tree and search it.
    Tree,
    /// Build a k-d tree over the coordinates and search it (Euclidean, ≤ 16 dimensions).
    Kd,
    /// The dense engine: every pair, in tiles.
    Dense,
}

impl Engine {
    /// `auto`, `tree` or `dense`.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Auto => "auto",
            Engine::Tree => "tree",
            Engine::Kd => "kd",
            Engine::Dense => "dense",
        }
    }
}

impl std::str::FromStr for Engine {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(Engine::Auto),
            "tree" => Ok(Engine::Tree),
            "kd" => Ok(Engine::Kd),
            "dense" => Ok(Engine::Dense),
            _ => Err(Error::invalid(
                "engine",
                format!("unknown engine {s:?} (expected auto, tree, kd or dense)"),
            )),
        }
    }
}

/// What a job asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The k nearest data points of each of this many queries.
    Knn(usize),
    /// Each point's k nearest other points.
    SelfKnn,
    /// Each point's k nearest among the points before it.
    Predecessor,
}

/// The plan of a job: the engine chosen and the estimates behind the choice.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The engine that runs ([`Engine::Tree`], [`Engine::Kd`] or [`Engine::Dense`]).
    pub engine: Engine,
    /// Whether the engine was forced rather than chosen.
    pub forced: bool,
    /// Points sampled.
    pub sample: usize,
    /// Estimated k-th neighbour distance at full size.
    pub kth: f64,
    /// Estimated share of the points a search measures (0–1).
    pub reach: f64,
    /// Estimated cost of the index (a cover tree or, where it applies, a k-d tree: build
    /// and queries), in canonical evaluations.
    pub tree_cost: f64,
    /// Estimated cost of the dense engine, in canonical evaluations.
    pub dense_cost: f64,
    /// Time spent planning.
    pub time: Duration,
}

impl Plan {
    /// The same estimates with `engine` forced ([`Engine::Auto`] leaves the plan as it is).
    pub fn forcing(self, engine: Engine) -> Plan {
        match engine {
            Engine::Auto => self,
            engine => Plan {
                engine,
                forced: true,
                ..self
            },
        }
    }

    /// One line: the engine and why (for `--stats`, the bench table, logs).
    pub fn reason(&self) -> String {
        let why = if self.forced {
            "forced".to_string()
        } else if self.engine == Engine::Dense && self.reach >= 0.5 {
            "the tree cannot prune".to_string()
        } else if self.engine == Engine::Dense {
            "a tree would not repay its build".to_string()
        } else {
            "the index prunes".to_string()
        };
        format!(
            "{} ({why}: reach {:.1} % of the points, est. cost tree {:.2e} vs dense {:.2e} evaluations)",
            self.engine.name(),
            100.0 * self.reach,
            self.tree_cost,
            self.dense_cost
        )
    }
}

/// The plan for `kind` on `data` with `k` neighbours (`engine` forces one).
pub fn plan<M: Metric>(data: &M, k: usize, kind: Kind, engine: Engine) -> Plan {
    let t = Instant::now();
    let n = data.len();
    let Sample {
        points: s,
        duplicates,
        kth,
        reach,
    } = sample(data, k);
    let two_phase = data.capabilities().two_phase;
    let (build, pair) = if two_phase {
        (BUILD_EVALS_TWO_PHASE, DENSE_PAIR_TWO_PHASE)
    } else {
        (BUILD_EVALS, DENSE_PAIR)
    };
    let nf = n as f64;
    let (queries, pairs) = match kind {
        Kind::Knn(q) => (q as f64, q as f64 * nf),
        Kind::SelfKnn => (nf, nf * nf),
        Kind::Predecessor => (nf, nf * nf / 2.0),
    };
    let log_n = nf.log2().max(1.0);
    let kd = crate::tree::kd_pays(data) && duplicates == 0;
    let (index, tree_cost) = if kd {
        let dim = data.capabilities().coordinate_dim as f64;
        let rows = 24.0 * k as f64 + 100.0 * 2f64.powf(dim / 2.0);
        (Engine::Kd, pair * (3.0 * nf * log_n + queries * rows))
    } else {
        let visit = if two_phase {
            reach.max(SEARCH_SHARE_TWO_PHASE)
        } else {
            reach
        };
        let cost = nf * (build + reach * nf / 2.0) + queries * (DESCENT_EVALS * log_n + visit * nf);
        (Engine::Tree, cost)
    };
    let dense_cost = pairs * pair;
    let chosen = if tree_cost < dense_cost {
        index
    } else {
        Engine::Dense
    };
    Plan {
        engine: chosen,
        forced: false,
        sample: s,
        kth,
        reach,
        tree_cost,
        dense_cost,
        time: t.elapsed(),
    }
    .forcing(engine)
}

/// What [`plan`] reads from its sample: the k-th neighbour distance and the reach.
pub(crate) struct Sample {
    /// Points sampled.
    pub(crate) points: usize,
    /// Sampled pairs at distance 0.
    pub(crate) duplicates: usize,
    /// Estimated k-th neighbour distance at full size.
    pub(crate) kth: f64,
    /// Share of the sampled pairs (duplicates left out) within `2·kth`.
    pub(crate) reach: f64,
}

/// Measures up to [`SAMPLE`] points of `data`, evenly spaced by id, pair by pair (the
/// estimates of the module docs, for `k` neighbours).
pub(crate) fn sample<M: Metric>(data: &M, k: usize) -> Sample {
    let n = data.len();
    let s = n.min(SAMPLE);
    let ids: Vec<u32> = (0..s).map(|i| (i * n / s) as u32).collect();
    let mut d = Vec::with_capacity(s * s.saturating_sub(1) / 2);
    for (a, &i) in ids.iter().enumerate() {
        for &j in &ids[..a] {
            d.push(data.distance(data, i, j));
        }
    }
    d.sort_unstable_by(f64::total_cmp);
    // Exact duplicates cost a cover tree nothing (they sit in lists) and a k-d tree a
    // search each: they leave the estimates, and send the index to the cover tree.
    let duplicates = d.partition_point(|&x| x == 0.0);
    let d = &d[duplicates..];
    let (kth, reach) = if d.is_empty() {
        // All sampled pairs identical: a cover tree keeps them in lists (reach 0).
        (0.0, if duplicates > 0 { 0.0 } else { 1.0 })
    } else {
        let q = (k as f64 / n as f64).min(1.0);
        let kth = d[((q * d.len() as f64) as usize).min(d.len() - 1)];
        let within = d.partition_point(|&x| x <= 2.0 * kth);
        (kth, within as f64 / d.len() as f64)
    };
    Sample {
        points: s,
        duplicates,
        kth,
        reach,
    }
}

/// A finished job: the answers, the plan, and what each stage took.
#[derive(Clone, Debug)]
pub struct Done<M> {
    /// `k` neighbours per row, as every query path gives them.
    pub neighbors: Neighbors,
    /// The plan that ran.
    pub plan: Plan,
    /// The cover tree, when the plan built one (reuse it for more queries).
    pub tree: Option<Tree<M>>,
    /// The tree's query statistics, when it ran.
    pub stats: Option<QueryStats>,
    /// Building the cover tree (zero for the other engines).
    pub build: Duration,
    /// Answering (for the k-d engine, its index's build included).
    pub answer: Duration,
}

/// A one-shot k-NN job: made by [`Job::knn`], [`Job::self_knn`] or
/// [`Job::predecessor_knn`], planned and answered by [`Job::run`].
#[must_use = "a job does nothing until it is run"]
pub struct Job<'q, M> {
    data: M,
    queries: Option<&'q M>,
    kind: Kind,
    k: usize,
    engine: Engine,
    observe: Observer<'q>,
}

impl<'q, M: Metric> Job<'q, M> {
    /// The `k` nearest points of `data` to each point of `queries`.
    pub fn knn(data: M, queries: &'q M, k: usize) -> Self {
        Job {
            data,
            queries: Some(queries),
            kind: Kind::Knn(queries.len()),
            k,
            engine: Engine::Auto,
            observe: unobserved(),
        }
    }

    /// Each point's `k` nearest other points.
    pub fn self_knn(data: M, k: usize) -> Self {
        Job {
            data,
            queries: None,
            kind: Kind::SelfKnn,
            k,
            engine: Engine::Auto,
            observe: unobserved(),
        }
    }

    /// Each point `i`'s `k` nearest among the points with ids below `i` (Vecchia
    /// conditioning sets in the data's order).
    pub fn predecessor_knn(data: M, k: usize) -> Self {
        Job {
            data,
            queries: None,
            kind: Kind::Predecessor,
            k,
            engine: Engine::Auto,
            observe: unobserved(),
        }
    }

    /// Forces an engine ([`Engine::Auto`], the default, lets the plan choose).
    pub fn engine(mut self, engine: Engine) -> Self {
        self.engine = engine;
        self
    }

    /// Tells `observe` how many more queries are answered, as the dense and k-d engines
    /// answer them (from the pool's workers; a cover tree reports once, at the end).
    pub fn observe(mut self, observe: Observer<'q>) -> Self {
        self.observe = observe;
        self
    }

    /// The plan this job would run, without running it.
    pub fn plan(&self) -> Plan {
        plan(&self.data, self.k.max(1), self.kind, self.engine)
    }

    /// Plans and answers the job on `pool`. Errors as the tree's requests and the
    /// dense engine's: `k` outside `1..=n`, queries that do not match the data.
    pub fn run(self, pool: &Pool) -> Result<Done<M>> {
        let plan = self.plan();
        self.run_planned(plan, pool)
    }

    /// Answers the job on `pool` with a plan made before ([`Job::plan`], [`plan`]; its
    /// engine runs, whatever [`Job::engine`] says).
    pub fn run_planned(self, plan: Plan, pool: &Pool) -> Result<Done<M>> {
        if self.data.len() == 0 {
            return Err(Error::invalid("data", "no points to search".into()));
        }
        let Job {
            data,
            queries,
            k,
            kind,
            observe,
            ..
        } = self;
        if plan.engine != Engine::Tree {
            let t = Instant::now();
            let (rows, mode) = match kind {
                Kind::Knn(_) => (Rows::All, "k-NN"),
                Kind::SelfKnn => (Rows::Others, "self-kNN"),
                Kind::Predecessor => (Rows::Before, "predecessor"),
            };
            check_k(k, data.len(), mode)?;
            let qm = match queries {
                Some(q) => {
                    data.check_queries(q)?;
                    q
                }
                None => &data,
            };
            let neighbors = if plan.engine == Engine::Kd {
                kd_observed(&data, qm, k, rows, pool, observe)?
            } else {
                dense_observed(&data, qm, k, rows, pool, observe)
            };
            return Ok(Done {
                neighbors,
                plan,
                tree: None,
                stats: None,
                build: Duration::ZERO,
                answer: t.elapsed(),
            });
        }
        let t = Instant::now();
        let tree = Tree::build(data, pool)?;
        let build = t.elapsed();
        let t = Instant::now();
        let (neighbors, stats) = match (queries, kind) {
            (Some(q), _) => tree.knn(q, k).run(pool)?,
            (None, Kind::SelfKnn) => tree.self_knn(k).run(pool)?,
            (None, _) => tree.predecessor_knn(k).run(pool)?,
        };
        observe(neighbors.len());
        Ok(Done {
            neighbors,
            plan,
            tree: Some(tree),
            stats: Some(stats),
            build,
            answer: t.elapsed(),
        })
    }
}
