//! The workload table of DESIGN.md §8 (W1–W9): shapes, seeds and generated data.
//!
//! `pcct bench` runs these; the benches in `benches/` use the same definitions, so a
//! number in BENCHMARKS.md always names one fixed, reproducible input.
//!
//! ```
//! let w = pcct::workload::Workload::find("W3")?;
//! assert_eq!((w.n, w.k, w.dim), (32_768, 8, 8));
//! let small = w.scaled(1.0 / 16.0); // same shape, 1/16 of the points and queries
//! assert_eq!(small.n, 2_048);
//! # Ok::<(), pcct::Error>(())
//! ```

use crate::datagen;
use crate::metric::{Kernel, KernelKind, Residual};
use crate::{Error, Pool, Result};

/// How a workload's data points are drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Points {
    /// Uniform in `[0, 1)^d`.
    Uniform,
    /// Gaussian clusters: `count` centres uniform in `[0, 1)^d`, standard deviation `sigma`.
    Clusters {
        /// Number of clusters.
        count: usize,
        /// Per-coordinate standard deviation.
        sigma: f64,
    },
}

/// What a workload asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Queries {
    /// k-NN of `count` new points drawn from the data's distribution.
    New(usize),
    /// k-NN of `count` dataset points (evenly spaced ids; each finds itself first).
    Dataset(usize),
    /// Every point's k nearest among the points before it (Vecchia).
    Predecessor,
}

/// The metric of a workload.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum WorkloadMetric {
    /// Euclidean distance (f64 rows).
    Euclidean,
    /// The residual correlation of a Vecchia-inducing-points GP: `m` inducing points
    /// uniform in `[0, 1)^d` (drawn separately from the data), variance 1, jitter 1e-6.
    Residual {
        /// The kernel family.
        kernel: KernelKind,
        /// The (isotropic) lengthscale.
        lengthscale: f64,
        /// The number of inducing points.
        inducing: usize,
    },
}

/// One row of the workload table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Workload {
    /// `W1` … `W9`.
    pub id: &'static str,
    /// Tree points.
    pub n: usize,
    /// Dimension.
    pub dim: usize,
    /// Neighbours per query.
    pub k: usize,
    /// The queries.
    pub queries: Queries,
    /// How the points are drawn.
    pub points: Points,
    /// The metric.
    pub metric: WorkloadMetric,
}

const fn euclid(id: &'static str, n: usize, dim: usize, k: usize, queries: Queries) -> Workload {
    Workload {
        id,
        n,
        dim,
        k,
        queries,
        points: Points::Uniform,
        metric: WorkloadMetric::Euclidean,
    }
}

/// The table of DESIGN.md §8.
pub const WORKLOADS: [Workload; 9] = [
    euclid("W1", 2_048, 8, 8, Queries::New(512)),
    euclid("W2", 8_192, 8, 16, Queries::New(1_024)),
    euclid("W3", 32_768, 8, 8, Queries::New(1_024)),
    Workload {
        id: "W4",
        n: 32_768,
        dim: 8,
        k: 8,
        queries: Queries::Dataset(1_024),
        points: Points::Uniform,
        metric: WorkloadMetric::Residual {
            kernel: KernelKind::Rbf,
            lengthscale: 0.5,
            inducing: 512,
        },
    },
    euclid("W5", 1_048_576, 8, 8, Queries::New(16_384)),
    Workload {
        id: "W6",
        n: 32_768,
        dim: 32,
        k: 8,
        queries: Queries::New(1_024),
        points: Points::Clusters {
            count: 64,
            sigma: 0.02,
        },
        metric: WorkloadMetric::Euclidean,
    },
    euclid("W7", 262_144, 3, 30, Queries::Predecessor),
    Workload {
        id: "W8",
        n: 65_536,
        dim: 3,
        k: 30,
        queries: Queries::Predecessor,
        points: Points::Uniform,
        metric: WorkloadMetric::Residual {
            kernel: KernelKind::Matern32,
            lengthscale: 0.2,
            inducing: 200,
        },
    },
    // Structureless: all distances alike in 32 dimensions (a one-shot job, DESIGN.md §8).
    euclid("W9", 32_768, 32, 8, Queries::New(1_024)),
];

/// Seeds: data, queries and inducing points are independent draws.
const DATA_SEED: u64 = 1;
const QUERY_SEED: u64 = 2;
const INDUCING_SEED: u64 = 3;

impl Workload {
    /// The workload named `id` (`W1` … `W9`, case-insensitive).
    pub fn find(id: &str) -> Result<Workload> {
        WORKLOADS
            .iter()
            .find(|w| w.id.eq_ignore_ascii_case(id.trim()))
            .copied()
            .ok_or_else(|| Error::invalid("workload", format!("unknown workload {id:?} (known: W1 … W9)")))
    }

    /// The same workload with `n` and the query count multiplied by `factor` (at
    /// least `k + 1` points and one query), for quick runs; the id keeps its name.
    pub fn scaled(mut self, factor: f64) -> Workload {
        let scale = |v: usize, min: usize| ((v as f64 * factor).round() as usize).max(min);
        self.n = scale(self.n, self.k + 1);
        self.queries = match self.queries {
            Queries::New(q) => Queries::New(scale(q, 1)),
            Queries::Dataset(q) => Queries::Dataset(scale(q, 1).min(self.n)),
            Queries::Predecessor => Queries::Predecessor,
        };
        self
    }

    /// Number of queries the workload answers.
    pub fn query_count(&self) -> usize {
        match self.queries {
            Queries::New(q) | Queries::Dataset(q) => q,
            Queries::Predecessor => self.n,
        }
    }

    /// A short description of the metric (`euclidean`, `residual rbf ℓ=0.5 m=512`).
    pub fn metric_name(&self) -> String {
        match self.metric {
            WorkloadMetric::Euclidean => "euclidean".into(),
            WorkloadMetric::Residual {
                kernel,
                lengthscale,
                inducing,
            } => format!("residual {} ℓ={lengthscale} m={inducing}", kernel.name()),
        }
    }

    fn draw(&self, n: usize, seed: u64) -> Vec<f64> {
        match self.points {
            Points::Uniform => datagen::uniform(n, self.dim, seed),
            Points::Clusters { count, sigma } => datagen::clusters(n, self.dim, count, sigma, seed),
        }
    }

    /// The data points, `n × dim` row-major.
    pub fn data(&self) -> Vec<f64> {
        self.draw(self.n, DATA_SEED)
    }

    /// The query rows (coordinates), `query_count() × dim`, or `None` for predecessor
    /// queries. Clustered queries come from the same mixture as the data (the same
    /// centres, later draws); dataset queries are evenly spaced data rows.
    pub fn query_rows(&self, data: &[f64]) -> Option<Vec<f64>> {
        match self.queries {
            Queries::Predecessor => None,
            Queries::Dataset(q) => {
                let step = self.n / q.max(1);
                Some(
                    (0..q)
                        .flat_map(|i| &data[i * step * self.dim..(i * step + 1) * self.dim])
                        .copied()
                        .collect(),
                )
            }
            Queries::New(q) => Some(match self.points {
                Points::Uniform => datagen::uniform(q, self.dim, QUERY_SEED),
                Points::Clusters { .. } => self.draw(self.n + q, DATA_SEED).split_off(self.n * self.dim),
            }),
        }
    }

    /// The inducing points of a residual workload, `m × dim`.
    pub fn inducing(&self) -> Option<Vec<f64>> {
        match self.metric {
            WorkloadMetric::Euclidean => None,
            WorkloadMetric::Residual { inducing, .. } => {
                Some(datagen::uniform(inducing, self.dim, INDUCING_SEED))
            }
        }
    }

    /// The residual metric of a residual workload over `rows` (the data, or query
    /// coordinates through [`Residual::queries`]).
    pub fn residual(&self, data: &[f64], pool: &Pool) -> Result<Option<Residual>> {
        let WorkloadMetric::Residual {
            kernel, lengthscale, ..
        } = self.metric
        else {
            return Ok(None);
        };
        let z = self.inducing().expect("a residual workload has inducing points");
        let kernel = Kernel::new(kernel, 1.0, &[lengthscale])?;
        Residual::from_inducing(data, self.dim, &z, kernel, 1e-6, pool).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_the_design() {
        let ids: Vec<_> = WORKLOADS.iter().map(|w| w.id).collect();
        assert_eq!(ids, ["W1", "W2", "W3", "W4", "W5", "W6", "W7", "W8", "W9"]);
        assert_eq!(Workload::find("w7").unwrap().query_count(), 262_144);
        assert!(Workload::find("W10").is_err());
        let w9 = Workload::find("W9").unwrap();
        assert_eq!((w9.n, w9.dim, w9.k, w9.query_count()), (32_768, 32, 8, 1_024));
        for w in WORKLOADS {
            let s = w.scaled(1.0 / 64.0);
            let data = s.data();
            assert_eq!(data.len(), s.n * s.dim);
            if let Some(q) = s.query_rows(&data) {
                assert_eq!(q.len(), s.query_count() * s.dim);
            }
        }
    }

    #[test]
    fn dataset_queries_are_data_rows() {
        let w = Workload::find("W4").unwrap().scaled(1.0 / 32.0);
        let data = w.data();
        let q = w.query_rows(&data).unwrap();
        let step = w.n / w.query_count();
        assert_eq!(&q[w.dim..2 * w.dim], &data[step * w.dim..(step + 1) * w.dim]);
    }
}
