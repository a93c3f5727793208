//! # pcct
//!
//! Exact k-nearest-neighbour search with a parallel compressed cover tree, for Euclidean
//! data (f32, f64), the residual-correlation metric of Vecchia-inducing-points GP models,
//! and user metrics ([`Metric`]). Every answer is exact: the set brute force would give,
//! ties broken by id, identical for any thread count.
//!
//! The crate is layered (DESIGN.md §1): [`kernels`] (SIMD distance kernels with
//! run-time CPU dispatch) and the arenas crate sit below; this crate holds the
//! metrics, tree, build pipeline ([`build`]), queries ([`query`]), the workload table
//! ([`workload`]) and tuning profiles ([`tuning`]). The `pcct` command line is the
//! `pcct-cli` crate beside this one.
//!
//! Inside the crate a module uses only modules before it in this order:
//!
//! ```text
//! error, datagen, telemetry        leaves: no pcct modules
//! pool                             the explicit thread pool
//! metric                           metrics (Euclidean, residual + its GP model), user metrics
//! tree                             the tree: growing, layout, k-d index, sketches, validate
//! build                            the parallel build, insert and delete
//! query                            queries: requests, planning, engine, searches, brute force,
//!                                  the dense engine
//! job                              one-shot jobs: the plan (tree or dense) and the run
//! ordering                         the exact maximin ordering (uses the tree's k-d index)
//! io                               .npy and CSV in and out
//! persist                          tree files (format, metric tags, points)
//! tuning, workload                 tuning profiles, the workload table
//! about                            the facts `pcct info` prints (uses tuning)
//! ```

pub use pcct_kernels as kernels;

pub mod about;
pub mod build;
pub mod datagen;
pub mod error;
pub mod io;
pub mod job;
pub mod metric;
pub mod ordering;
pub mod persist;
pub mod pool;
pub mod query;
pub mod telemetry;
pub mod tree;
pub mod tuning;
pub mod workload;

pub use build::{BuildOptions, BuildStats, Flat};
pub use error::{Error, Result};
pub use job::{Engine, Job};
pub use metric::{Dataset, Euclidean, Metric};
pub use persist::Persist;
pub use pool::Pool;
pub use query::{Neighbors, QueryPath, QueryStats, RangeNeighbors, Via};
pub use tree::{Tree, TreeShape};

/// The README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
