//! The parallel PCCT build (DESIGN.md §3): batch insertion into the growing tree.
//!
//! ```text
//! sequence (order.rs) ──► batches 1, 1, 2, 4, … (cut by the pair budget)
//! per batch, inside the pool, until every batch point is placed:
//!   1 traverse   each pending point: lowest feasible level, parent, scope   (parallel)
//!   2 scope CSR  (tree node → pending points whose scope holds it)          (counting sort)
//!   3 conflicts  children-to-be of node y × scope of y → exact test → edges (parallel, CSR)
//!   4 grid       optional: one leader per grid cell of same-level new nodes (parallel sort)
//!   5 MIS        Luby with seeded hash priorities, among the leaders        (parallel)
//!   6 apply      winners become nodes, ancestors' radii raised              (parallel distances)
//!                losers go back to 1 against the grown tree
//! ```
//!
//! With Euclidean coordinates in at most 16 dimensions ([`BuildOptions::kd_index`]), stage 1
//! finds the parent through one k-d index per tree level and stages 2–3 become a k-d
//! self-join of the pending new nodes (v, w conflict iff d ≤ b^ℓ(v) for the lower key):
//! no scopes, the same edges (`tree::kd`). Candidate pairs are then the join's measured
//! pairs, so the pair budget cuts batches elsewhere than on the scope path.
//!
//! Every stage is a deterministic function of the data, the sequence and the seed
//! (stable counting sorts, fixed priorities, canonical distances), so the tree is
//! identical for any number of threads.

mod batch;
mod flat;
mod grid;
mod mis;
mod order;
pub(crate) use order::hilbert_sorted;
mod update;

use crate::metric::Metric;
use crate::pool::Pool;
use crate::telemetry::{Record, Value};
use crate::tree::Tree;
use crate::{Error, Result};
use std::time::Duration;

/// The order in which points enter the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Order {
    /// Along a Hilbert curve through the coordinates, batches spread over the curve
    /// (natural order for a metric without coordinates). The default.
    #[default]
    Hilbert,
    /// By id.
    Natural,
    /// A seeded random permutation.
    Random,
}

impl std::str::FromStr for Order {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "hilbert" => Ok(Order::Hilbert),
            "natural" => Ok(Order::Natural),
            "random" => Ok(Order::Random),
            _ => Err(Error::invalid(
                "order",
                format!("unknown order {s:?} (expected hilbert, natural or random)"),
            )),
        }
    }
}

/// When a build gives a flat tree (`build::flat`: the root and every other point its
/// child, searched by scanning) instead of a cover tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Flat {
    /// When a sample of the points says the metric cannot be split: at least 4,096
    /// points, a k-NN search (k = 8) would measure at least half of them, and the
    /// sample holds no exact duplicates (a cover tree keeps those in lists). The default.
    #[default]
    Auto,
    /// Never: always a cover tree, however long its build.
    Never,
    /// Always.
    Always,
}

impl std::str::FromStr for Flat {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(Flat::Auto),
            "never" => Ok(Flat::Never),
            "always" => Ok(Flat::Always),
            _ => Err(Error::invalid(
                "flat",
                format!("unknown flat rule {s:?} (expected auto, never or always)"),
            )),
        }
    }
}

/// Options of the parallel build.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BuildOptions {
    /// Seed of the MIS priorities (and of [`Order::Random`]).
    pub seed: u64,
    /// Insertion order.
    pub order: Order,
    /// Most candidate pairs (conflict tests) one batch may create: batches are sized
    /// from the last two batches' pairs, and one that still exceeds it is cut (at least
    /// one point always goes in).
    pub pair_budget: u64,
    /// Traverse through a k-d index of the tree's nodes where the metric has Euclidean
    /// coordinates in at most 16 dimensions (the default), with conflicts from a k-d
    /// join instead of scopes: the same tree as the cover-tree descent (`false`) when the
    /// pair budget shapes no batch, found with far fewer distance evaluations. The two
    /// paths count candidate pairs differently (join pairs vs scope pairs), so a
    /// [`BuildOptions::pair_budget`] near those counts may size or cut batches
    /// elsewhere — another valid tree.
    pub kd_index: bool,
    /// Grid election before the MIS (metrics with Euclidean coordinates): new nodes of
    /// one level that share a grid cell (side `b^ℓ/√d`, so they conflict) elect the one
    /// with the highest MIS priority and the others sit the round out. Another valid,
    /// deterministic tree; see `build::grid`. Off by default: on this crate's workloads
    /// conflicts are rare and the election does not pay (see BENCHMARKS.md, section
    /// Build).
    pub grid: bool,
    /// When to build a flat tree instead ([`Flat`]).
    pub flat: Flat,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            seed: 0,
            order: Order::Hilbert,
            pair_budget: 1 << 24,
            kd_index: true,
            grid: false,
            flat: Flat::Auto,
        }
    }
}

/// Counters and stage times of one batch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BatchStats {
    /// Points in the batch (after the pair budget).
    pub size: usize,
    /// Points the pair budget moved to the next batch.
    pub deferred: usize,
    /// Traverse → MIS → apply rounds until every point was placed.
    pub rounds: u32,
    /// Points traversed again after losing an MIS (summed over rounds).
    pub retraversed: usize,
    /// Points that became duplicates of a node.
    pub duplicates: usize,
    /// Scope entries (node, point) over all rounds.
    pub scope_entries: u64,
    /// Candidate pairs tested exactly over all rounds.
    pub candidate_pairs: u64,
    /// Candidate pairs of the first round (what the pair budget caps, unless the
    /// batch is a single point).
    pub first_round_pairs: u64,
    /// Conflict edges over all rounds.
    pub edges: u64,
    /// Luby rounds over all MIS runs.
    pub mis_rounds: u32,
    /// Grid cells that held several new nodes and elected a leader ([`BuildOptions::grid`]),
    /// over all rounds.
    pub grid_leaders: u64,
    /// New nodes that sat a round out because another in their cell was elected.
    pub grid_benched: u64,
    /// Distance evaluations of the traversals (for the k-d traversal: the rows its SIMD
    /// kernel measured plus the canonical distances of those within reach).
    pub traverse_evals: u64,
    /// Stage 1: traversal.
    pub traverse: Duration,
    /// Stage 2: scope and children CSRs.
    pub scope_csr: Duration,
    /// Stage 3: conflict graph.
    pub conflicts: Duration,
    /// Stage 4: grid election (zero when off).
    pub grid: Duration,
    /// Stage 5: MIS.
    pub mis: Duration,
    /// Stage 6: apply.
    pub apply: Duration,
}

impl BatchStats {
    /// Sum of the stage times.
    pub fn total(&self) -> Duration {
        self.traverse + self.scope_csr + self.conflicts + self.grid + self.mis + self.apply
    }

    /// The batch as a telemetry record (`kind = "batch"`, times in seconds).
    pub fn record(&self, index: usize) -> Record {
        let s = |d: Duration| Value::Num(d.as_secs_f64());
        Record::new("batch")
            .with("batch", Value::Int(index as u64))
            .with("size", Value::Int(self.size as u64))
            .with("deferred", Value::Int(self.deferred as u64))
            .with("rounds", Value::Int(self.rounds as u64))
            .with("retraversed", Value::Int(self.retraversed as u64))
            .with("duplicates", Value::Int(self.duplicates as u64))
            .with("scope_entries", Value::Int(self.scope_entries))
            .with("candidate_pairs", Value::Int(self.candidate_pairs))
            .with("first_round_pairs", Value::Int(self.first_round_pairs))
            .with("edges", Value::Int(self.edges))
            .with("mis_rounds", Value::Int(self.mis_rounds as u64))
            .with("grid_leaders", Value::Int(self.grid_leaders))
            .with("grid_benched", Value::Int(self.grid_benched))
            .with("traverse_evals", Value::Int(self.traverse_evals))
            .with("traverse_s", s(self.traverse))
            .with("scope_csr_s", s(self.scope_csr))
            .with("conflicts_s", s(self.conflicts))
            .with("grid_s", s(self.grid))
            .with("mis_s", s(self.mis))
            .with("apply_s", s(self.apply))
            .with("total_s", s(self.total()))
    }
}

/// What a parallel build did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BuildStats {
    /// Ordering the points.
    pub order: Duration,
    /// One entry per batch, in order.
    pub batches: Vec<BatchStats>,
    /// Freezing into the query layout.
    pub freeze: Duration,
    /// Wall time of the whole build.
    pub total: Duration,
    /// Threads of the pool.
    pub threads: usize,
    /// Whether the tree is flat ([`Flat`], [`Tree::is_flat`]); then `batches` holds one
    /// entry: every point placed under the root (all but the root, or the inserted ones).
    pub flat: bool,
    /// The sample's estimate of the share of points a k-NN search (k = 8) measures,
    /// where [`Flat::Auto`] measured it.
    pub reach: Option<f64>,
}

impl BuildStats {
    /// Distance evaluations of all traversals.
    pub fn traverse_evals(&self) -> u64 {
        self.batches.iter().map(|b| b.traverse_evals).sum()
    }

    /// The summary telemetry record (`kind = "build"`).
    pub fn record(&self) -> Record {
        let sum = |f: fn(&BatchStats) -> Duration| {
            Value::Num(self.batches.iter().map(f).sum::<Duration>().as_secs_f64())
        };
        Record::new("build")
            .with("builder", Value::Str("pcct".into()))
            .with("threads", Value::Int(self.threads as u64))
            .with("batches", Value::Int(self.batches.len() as u64))
            .with(
                "rounds",
                Value::Int(self.batches.iter().map(|b| b.rounds as u64).sum()),
            )
            .with("order_s", Value::Num(self.order.as_secs_f64()))
            .with("traverse_s", sum(|b| b.traverse))
            .with("scope_csr_s", sum(|b| b.scope_csr))
            .with("conflicts_s", sum(|b| b.conflicts))
            .with("mis_s", sum(|b| b.mis))
            .with("apply_s", sum(|b| b.apply))
            .with("freeze_s", Value::Num(self.freeze.as_secs_f64()))
            .with("build_s", Value::Num(self.total.as_secs_f64()))
            .with(
                "candidate_pairs",
                Value::Int(self.batches.iter().map(|b| b.candidate_pairs).sum()),
            )
            .with("traverse_evals", Value::Int(self.traverse_evals()))
            .with("flat", Value::Int(self.flat as u64))
            .with("reach", Value::Num(self.reach.unwrap_or(f64::NAN)))
    }
}

impl<M: Metric> Tree<M> {
    /// Builds the tree with the parallel PCCT pipeline on `pool`, default options.
    ///
    /// ```
    /// use pcct::{datagen, Dataset, Euclidean, Pool, Tree};
    /// let pool = Pool::new(2)?;
    /// let rows = datagen::uniform(1000, 3, 7);
    /// let tree = Tree::build(Euclidean::new(Dataset::from_rows(&rows, 1000, 3)?)?, &pool)?;
    /// assert!(tree.validate().is_empty());
    /// # Ok::<(), pcct::Error>(())
    /// ```
    pub fn build(metric: M, pool: &Pool) -> Result<Self> {
        Ok(Self::build_with(metric, pool, &BuildOptions::default())?.0)
    }

    /// Builds the tree with the parallel PCCT pipeline on `pool`, returning what
    /// every batch did. Same data and options ⇒ the same tree for any pool size.
    pub fn build_with(metric: M, pool: &Pool, options: &BuildOptions) -> Result<(Self, BuildStats)> {
        Self::build_observed(metric, pool, options, &mut |_, _| {})
    }

    /// [`Tree::build_with`], calling `observe(batch, placed)` after every batch with
    /// its stats and the number of points in the tree so far (for progress bars).
    ///
    /// ```
    /// use pcct::{datagen, BuildOptions, Dataset, Euclidean, Pool, Tree};
    /// let pool = Pool::new(2)?;
    /// let m = Euclidean::new(Dataset::from_rows(&datagen::uniform(500, 2, 1), 500, 2)?)?;
    /// let mut seen = Vec::new();
    /// let (tree, stats) =
    ///     Tree::build_observed(m, &pool, &BuildOptions::default(), &mut |_, placed| seen.push(placed))?;
    /// assert_eq!(seen.len(), stats.batches.len());
    /// assert_eq!(seen.last(), Some(&tree.len()));
    /// # Ok::<(), pcct::Error>(())
    /// ```
    pub fn build_observed(
        metric: M,
        pool: &Pool,
        options: &BuildOptions,
        observe: &mut (dyn FnMut(&BatchStats, usize) + Send),
    ) -> Result<(Self, BuildStats)> {
        if metric.len() == 0 {
            return Err(Error::invalid("data", "no points to build a tree from".into()));
        }
        if options.pair_budget == 0 {
            return Err(Error::invalid(
                "pair_budget",
                "the pair budget must be at least 1".into(),
            ));
        }
        let t0 = std::time::Instant::now();
        let sample = match options.flat {
            Flat::Auto => flat::reach(&metric),
            _ => None,
        };
        let reach = sample.map(|s| s.0);
        if options.flat == Flat::Always || flat::chosen(sample) {
            let n = metric.len();
            let ids: Vec<u32> = (0..n as u32).collect();
            let tree = pool.install(|| flat::build(&metric, &ids, n));
            let stats = flat::stats(n - 1, t0.elapsed(), pool.threads(), reach);
            observe(&stats.batches[0], n);
            return Ok((tree, stats));
        }
        let (tree, mut stats) = pool.install(|| batch::build(metric, pool, options, observe))?;
        stats.reach = reach;
        stats.total = t0.elapsed();
        Ok((tree, stats))
    }
}
