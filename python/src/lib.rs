//! `pcct._pcct`: the native half of the `pcct` Python package.
//!
//! It converts and reports, nothing more: numpy arrays in, [`pcct`] calls, numpy arrays
//! out. The documented API (argument checks that numpy does best, scipy-style shapes,
//! pickling) is the pure-Python `pcct/__init__.py` over these classes.
//!
//! Every input array is copied into pcct's own buffers while the GIL is held; every
//! build, query and update then runs with the GIL released ([`Python::detach`]), so other
//! Python threads run meanwhile and no array another thread mutates is read after that.
//! Errors come back as `ValueError` (bad input, with the library's one-line message, the
//! one the CLI prints) or `OSError` (files); a panic inside pcct would be a bug, and is
//! caught at this boundary and raised as `RuntimeError` instead of aborting Python.

use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2};
use pcct::kernels::Element;
use pcct::metric::{Kernel, KernelKind, Residual};
use pcct::{BuildOptions, Dataset, Euclidean, Job, Neighbors, Pool, RangeNeighbors, Tree};
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::Arc;

/// pcct's error as the Python exception a user expects.
fn py_err(e: pcct::Error) -> PyErr {
    match e {
        pcct::Error::Io { .. } => PyOSError::new_err(e.to_string()),
        _ => PyValueError::new_err(e.to_string()),
    }
}

/// Runs `f` with the GIL released; a panic becomes `RuntimeError`, an error its exception.
fn detached<T: Send>(py: Python<'_>, f: impl FnOnce() -> pcct::Result<T> + Send) -> PyResult<T> {
    py.detach(|| catch_unwind(AssertUnwindSafe(f)))
        .map_err(|p| {
            let what = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            PyRuntimeError::new_err(format!("pcct: internal error (please report): {what}"))
        })?
        .map_err(py_err)
}

/// A pool of `threads` workers (0: one per available CPU).
fn pool(threads: usize) -> PyResult<Arc<Pool>> {
    Pool::new(threads).map(Arc::new).map_err(py_err)
}

/// The values of a 2-D array in row-major order (one copy, whatever its strides) and
/// its shape.
fn rows<T: numpy::Element + Copy>(a: &PyReadonlyArray2<'_, T>) -> (Vec<T>, usize, usize) {
    let view = a.as_array();
    let (n, d) = view.dim();
    let values = match view.as_slice() {
        Some(s) => s.to_vec(),
        None => view.iter().copied().collect(),
    };
    (values, n, d)
}

/// Neighbours as numpy arrays `(ids, distances)`, `queries × k`; ids are int64 with -1
/// (and distance +inf) padding rows that have fewer than k neighbours.
fn neighbors<'py>(py: Python<'py>, nn: Neighbors) -> PyResult<NeighborArrays<'py>> {
    let (rows, k) = (nn.len(), nn.k());
    let ids: Vec<i64> = nn
        .ids()
        .iter()
        .map(|&i| if i == pcct::tree::NONE { -1 } else { i as i64 })
        .collect();
    Ok((
        matrix(py, rows, k, ids)?,
        matrix(py, rows, k, nn.dists().to_vec())?,
    ))
}

/// `values` as a numpy `rows × cols` array (row-major).
fn matrix<T: numpy::Element>(
    py: Python<'_>,
    rows: usize,
    cols: usize,
    values: Vec<T>,
) -> PyResult<Bound<'_, PyArray2<T>>> {
    Array2::from_shape_vec((rows, cols), values)
        .map(|a| a.into_pyarray(py))
        .map_err(|e| PyRuntimeError::new_err(e.to_string()))
}

/// Neighbours and the engine's seconds.
type TimedArrays<'py> = (Bound<'py, PyArray2<i64>>, Bound<'py, PyArray2<f64>>, f64);
type NeighborArrays<'py> = (Bound<'py, PyArray2<i64>>, Bound<'py, PyArray2<f64>>);
type PartArrays<'py> = (Bound<'py, PyArray2<f64>>, Bound<'py, PyArray1<f64>>);
type RangeArrays<'py> = (
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<f64>>,
);

/// Range answers as flat arrays `(offsets, ids, distances)`: query `i`'s hits are
/// `offsets[i]..offsets[i + 1]`, sorted by (distance, id).
fn ranges<'py>(py: Python<'py>, rn: RangeNeighbors) -> RangeArrays<'py> {
    let mut offsets = vec![0i64];
    let (mut ids, mut dists) = (Vec::new(), Vec::new());
    for i in 0..rn.len() {
        let (ri, rd) = rn.row(i);
        ids.extend(ri.iter().map(|&x| x as i64));
        dists.extend_from_slice(rd);
        offsets.push(ids.len() as i64);
    }
    (
        offsets.into_pyarray(py),
        ids.into_pyarray(py),
        dists.into_pyarray(py),
    )
}

/// Point ids from Python integers (checked: not negative, below pcct's u32 limit).
fn point_ids(ids: &PyReadonlyArray1<'_, i64>) -> PyResult<Vec<u32>> {
    ids.as_array()
        .iter()
        .map(|&i| {
            u32::try_from(i)
                .ok()
                .filter(|&u| u != pcct::tree::NONE)
                .ok_or_else(|| PyValueError::new_err(format!("invalid ids: {i} is not a point id")))
        })
        .collect()
}

/// A Euclidean tree over float32 or float64 rows.
#[derive(Clone)]
enum Euclid {
    F32(Tree<Euclidean<f32>>),
    F64(Tree<Euclidean<f64>>),
}

/// Evaluates `$body` with `$t` bound to the tree, whichever its element type.
macro_rules! on_tree {
    ($tree:expr, $t:ident => $body:expr) => {
        match $tree {
            Euclid::F32($t) => $body,
            Euclid::F64($t) => $body,
        }
    };
}

fn euclidean<T: Element + numpy::Element>(a: &PyReadonlyArray2<'_, T>) -> pcct::Result<Euclidean<T>> {
    let (v, n, d) = rows(a);
    Euclidean::new(Dataset::from_rows(&v, n, d)?)
}

/// Reads `x` as points of element type `T` (the caller converted it already).
fn points_of<T: Element + numpy::Element>(x: &Bound<'_, PyAny>) -> PyResult<Euclidean<T>> {
    let a: PyReadonlyArray2<'_, T> = x
        .extract()
        .map_err(|_| PyTypeError::new_err("points must be a 2-D array of the tree's dtype"))?;
    euclidean(&a).map_err(py_err)
}

/// The native Euclidean cover tree (use `pcct.CoverTree`).
#[pyclass(frozen, module = "pcct._pcct")]
struct EuclideanTree {
    tree: Euclid,
    pool: Arc<Pool>,
}

impl EuclideanTree {
    fn with(&self, tree: Euclid) -> Self {
        EuclideanTree {
            tree,
            pool: self.pool.clone(),
        }
    }
}

#[pymethods]
impl EuclideanTree {
    /// Builds the tree over `x` (C-contiguous or not; float32 or float64) on `threads`
    /// workers (0: all CPUs) with MIS seed `seed`.
    #[staticmethod]
    fn build(py: Python<'_>, x: &Bound<'_, PyAny>, threads: usize, seed: u64) -> PyResult<Self> {
        let pool = pool(threads)?;
        let opts = BuildOptions {
            seed,
            ..BuildOptions::default()
        };
        let p = &*pool;
        let tree = if let Ok(a) = x.extract::<PyReadonlyArray2<'_, f32>>() {
            let m = euclidean(&a).map_err(py_err)?;
            Euclid::F32(detached(py, || Ok(Tree::build_with(m, p, &opts)?.0))?)
        } else if let Ok(a) = x.extract::<PyReadonlyArray2<'_, f64>>() {
            let m = euclidean(&a).map_err(py_err)?;
            Euclid::F64(detached(py, || Ok(Tree::build_with(m, p, &opts)?.0))?)
        } else {
            return Err(PyTypeError::new_err(
                "points must be a 2-D float32 or float64 array",
            ));
        };
        Ok(EuclideanTree { tree, pool })
    }

    /// `"float32"` or `"float64"`: how the rows are stored.
    #[getter]
    fn dtype(&self) -> &'static str {
        match self.tree {
            Euclid::F32(_) => "float32",
            Euclid::F64(_) => "float64",
        }
    }

    /// Coordinates per point.
    #[getter]
    fn dim(&self) -> usize {
        on_tree!(&self.tree, t => t.metric().dataset().dim())
    }

    /// Points in the tree.
    #[getter]
    fn size(&self) -> usize {
        on_tree!(&self.tree, t => t.len())
    }

    /// Whether the tree is flat (the metric could not be split; queries scan).
    #[getter]
    fn flat(&self) -> bool {
        on_tree!(&self.tree, t => t.is_flat())
    }

    /// Every id is below this (deleted ids are never reused).
    #[getter]
    fn id_bound(&self) -> usize {
        on_tree!(&self.tree, t => t.id_bound())
    }

    /// Worker threads.
    #[getter]
    fn threads(&self) -> usize {
        self.pool.threads()
    }

    /// Whether point `id` is in the tree.
    fn contains(&self, id: i64) -> bool {
        u32::try_from(id).is_ok_and(|i| on_tree!(&self.tree, t => t.contains(i)))
    }

    /// The broken invariants (empty for a valid tree).
    fn validate(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        let tree = &self.tree;
        detached(py, || {
            Ok(on_tree!(tree, t => t.validate().iter().map(|v| format!("{v:?}")).collect()))
        })
    }

    /// A 64-bit digest of the layout (equal trees, equal digests).
    fn layout_digest(&self) -> u64 {
        on_tree!(&self.tree, t => t.layout_digest())
    }

    /// The k nearest points to each row of `q` (converted to the tree's dtype).
    fn knn<'py>(&self, py: Python<'py>, q: &Bound<'py, PyAny>, k: usize) -> PyResult<NeighborArrays<'py>> {
        let (ids, dists, _) = self.knn_timed(py, q, k)?;
        Ok((ids, dists))
    }

    /// [`EuclideanTree::knn`] and the seconds the engine itself took (the rest of the
    /// call is the Python boundary: checks, copies in and out; `perf/python_peers.py`).
    fn knn_timed<'py>(&self, py: Python<'py>, q: &Bound<'py, PyAny>, k: usize) -> PyResult<TimedArrays<'py>> {
        let p = &*self.pool;
        let (nn, secs) = on_tree!(&self.tree, t => {
            let queries = points_of(q)?;
            detached(py, || {
                let t0 = std::time::Instant::now();
                let nn = t.knn(&queries, k).run(p)?.0;
                Ok((nn, t0.elapsed().as_secs_f64()))
            })?
        });
        let (ids, dists) = neighbors(py, nn)?;
        Ok((ids, dists, secs))
    }

    /// Each point's k nearest other points.
    fn self_knn<'py>(&self, py: Python<'py>, k: usize) -> PyResult<NeighborArrays<'py>> {
        let p = &*self.pool;
        let nn = on_tree!(&self.tree, t => detached(py, || Ok(t.self_knn(k).run(p)?.0))?);
        neighbors(py, nn)
    }

    /// Each point's k nearest among the points with smaller ids.
    fn predecessor_knn<'py>(&self, py: Python<'py>, k: usize) -> PyResult<NeighborArrays<'py>> {
        let p = &*self.pool;
        let nn = on_tree!(&self.tree, t => detached(py, || Ok(t.predecessor_knn(k).run(p)?.0))?);
        neighbors(py, nn)
    }

    /// Every point within `r` of each row of `q`, as `(offsets, ids, distances)`.
    fn range<'py>(
        &self,
        py: Python<'py>,
        q: &Bound<'py, PyAny>,
        r: f64,
        max_pairs: usize,
    ) -> PyResult<RangeArrays<'py>> {
        let p = &*self.pool;
        let rn = on_tree!(&self.tree, t => {
            let queries = points_of(q)?;
            detached(py, || Ok(t.range(&queries, r).max_pairs(max_pairs).run(p)?.0))?
        });
        Ok(ranges(py, rn))
    }

    /// A new tree with the rows of `x` added (ids continue from `id_bound`).
    fn insert(&self, py: Python<'_>, x: &Bound<'_, PyAny>) -> PyResult<Self> {
        let p = &*self.pool;
        let tree = match &self.tree {
            Euclid::F32(t) => {
                let m = points_of(x)?;
                Euclid::F32(detached(py, || Ok(t.insert(&m, p)?.0))?)
            }
            Euclid::F64(t) => {
                let m = points_of(x)?;
                Euclid::F64(detached(py, || Ok(t.insert(&m, p)?.0))?)
            }
        };
        Ok(self.with(tree))
    }

    /// A new tree without the points `ids`.
    fn delete(&self, py: Python<'_>, ids: PyReadonlyArray1<'_, i64>) -> PyResult<Self> {
        let ids = point_ids(&ids)?;
        let p = &*self.pool;
        let tree = match &self.tree {
            Euclid::F32(t) => Euclid::F32(detached(py, || t.delete(&ids, p))?),
            Euclid::F64(t) => Euclid::F64(detached(py, || t.delete(&ids, p))?),
        };
        Ok(self.with(tree))
    }

    /// Writes the tree file `path` (the CLI's format).
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let tree = &self.tree;
        detached(py, || on_tree!(tree, t => t.save(&path)))
    }

    /// The tree file's bytes (what pickling stores).
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let tree = &self.tree;
        let b = detached(py, || Ok(on_tree!(tree, t => t.to_bytes())))?;
        Ok(PyBytes::new(py, &b))
    }

    /// A tree from a file's bytes, on `threads` workers.
    #[staticmethod]
    fn from_bytes(py: Python<'_>, b: &[u8], threads: usize) -> PyResult<Self> {
        let pool = pool(threads)?;
        let tree = detached(py, || match pcct::persist::file_tag(b)? {
            pcct::persist::MetricTag::EuclideanF32 => Ok(Euclid::F32(Tree::from_bytes(b)?)),
            pcct::persist::MetricTag::EuclideanF64 => Ok(Euclid::F64(Tree::from_bytes(b)?)),
            other => Err(pcct::Error::invalid(
                "tree",
                format!("this file holds a {} tree, not a Euclidean one", other.name()),
            )),
        })?;
        Ok(EuclideanTree { tree, pool })
    }
}

/// The native residual-correlation cover tree (use `pcct.ResidualCoverTree`).
#[pyclass(frozen, module = "pcct._pcct")]
struct ResidualTree {
    tree: Tree<Residual>,
    pool: Arc<Pool>,
}

fn f64_rows(x: &Bound<'_, PyAny>, what: &str) -> PyResult<(Vec<f64>, usize, usize)> {
    let a: PyReadonlyArray2<'_, f64> = x
        .extract()
        .map_err(|_| PyTypeError::new_err(format!("{what} must be a 2-D float64 array")))?;
    Ok(rows(&a))
}

/// A residual model's metric, made once from Python's arguments and handed to one
/// build, ordering or job (`pcct.ResidualCoverTree`, `ordered_knn`, `maximin_order`).
#[pyclass(frozen, module = "pcct._pcct")]
struct ResidualModel {
    metric: std::sync::Mutex<Option<Residual>>,
}

#[pymethods]
impl ResidualModel {
    /// The residual metric of the points `x` under the kernel: `V`, `p` from the
    /// inducing points `z` (Cholesky of `K_ZZ + jitter·σ²·I`, on `threads` workers with
    /// the GIL released) or supplied as `v`, `p`.
    #[new]
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (x, kernel, lengthscale, variance, jitter, threads, z=None, v=None, p=None))]
    fn new(
        py: Python<'_>,
        x: &Bound<'_, PyAny>,
        kernel: &str,
        lengthscale: Vec<f64>,
        variance: f64,
        jitter: f64,
        threads: usize,
        z: Option<&Bound<'_, PyAny>>,
        v: Option<&Bound<'_, PyAny>>,
        p: Option<PyReadonlyArray1<'_, f64>>,
    ) -> PyResult<Self> {
        let pool = pool(threads)?;
        let pool = &*pool;
        let kind: KernelKind = kernel.parse().map_err(py_err)?;
        let kernel = Kernel::new(kind, variance, &lengthscale).map_err(py_err)?;
        let (xs, n, dim) = f64_rows(x, "X")?;
        let metric = match (z, v, p) {
            (Some(z), None, None) => {
                let (zs, _, zd) = f64_rows(z, "inducing")?;
                if zd != dim {
                    return Err(PyValueError::new_err(format!(
                        "invalid inducing: {zd} columns, the data has {dim}"
                    )));
                }
                detached(py, || {
                    Residual::from_inducing(&xs, dim, &zs, kernel, jitter, pool)
                })
            }
            (None, Some(v), Some(p)) => {
                let (vs, vn, m) = f64_rows(v, "V")?;
                if vn != n {
                    return Err(PyValueError::new_err(format!(
                        "invalid V: {vn} rows, the data has {n}"
                    )));
                }
                let ps = p.as_array().iter().copied().collect::<Vec<f64>>();
                detached(py, || Residual::from_parts(&xs, n, dim, &vs, m, &ps, kernel))
            }
            _ => Err(PyValueError::new_err(
                "invalid model: give the inducing points, or both V and p (not both kinds)",
            )),
        }?;
        Ok(ResidualModel {
            metric: std::sync::Mutex::new(Some(metric)),
        })
    }
}

impl ResidualModel {
    /// The metric, once (a model is spent by what it is given to).
    fn take(&self) -> PyResult<Residual> {
        self.metric
            .lock()
            .ok()
            .and_then(|mut m| m.take())
            .ok_or_else(|| PyValueError::new_err("invalid model: this residual model was used already"))
    }
}

#[pymethods]
impl ResidualTree {
    /// Builds the tree over a residual model's metric on `threads` workers, MIS seed `seed`.
    #[staticmethod]
    fn build(py: Python<'_>, model: &ResidualModel, threads: usize, seed: u64) -> PyResult<Self> {
        let pool = pool(threads)?;
        let (m, pl) = (model.take()?, &*pool);
        let opts = BuildOptions {
            seed,
            ..BuildOptions::default()
        };
        let tree = detached(py, || Ok(Tree::build_with(m, pl, &opts)?.0))?;
        Ok(ResidualTree { tree, pool })
    }

    /// Points in the tree.
    #[getter]
    fn size(&self) -> usize {
        self.tree.len()
    }

    /// Whether the tree is flat (the metric could not be split; queries scan).
    #[getter]
    fn flat(&self) -> bool {
        self.tree.is_flat()
    }

    /// Columns of `V`.
    #[getter]
    fn rank(&self) -> usize {
        self.tree.metric().rank()
    }

    /// Worker threads.
    #[getter]
    fn threads(&self) -> usize {
        self.pool.threads()
    }

    /// The broken invariants (empty for a valid tree).
    fn validate(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        let t = &self.tree;
        detached(py, || Ok(t.validate().iter().map(|v| format!("{v:?}")).collect()))
    }

    /// `(V, p)` of the points, in id order (the rows the tree holds: a point stored as a
    /// duplicate of another, at distance 0, reads its twin's; every id below `id_bound`
    /// must be in the tree).
    fn parts<'py>(&self, py: Python<'py>) -> PyResult<PartArrays<'py>> {
        let t = &self.tree;
        let all: Vec<u32> = (0..t.id_bound() as u32).collect();
        let m = detached(py, || t.points(&all))?;
        let v = matrix(py, pcct::Metric::len(&m), m.rank(), m.factor().to_vec())?;
        Ok((v, m.residual_variance().to_vec().into_pyarray(py)))
    }

    /// The k nearest points to new points `x` (their own `v`, `p` from the model).
    fn knn_points<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        k: usize,
    ) -> PyResult<NeighborArrays<'py>> {
        let (xs, _, d) = f64_rows(x, "queries")?;
        let (t, p) = (&self.tree, &*self.pool);
        let dim = pcct::Metric::capabilities(t.metric()).coordinate_dim;
        if d != dim {
            return Err(PyValueError::new_err(format!(
                "invalid queries: {d} coordinates, the tree has {dim}"
            )));
        }
        let nn = detached(py, || {
            let q = t.metric().queries(&xs, p)?;
            Ok(t.knn(&q, k).run(p)?.0)
        })?;
        neighbors(py, nn)
    }

    /// The k nearest points to the tree's points `ids`.
    fn knn_ids<'py>(
        &self,
        py: Python<'py>,
        ids: PyReadonlyArray1<'py, i64>,
        k: usize,
    ) -> PyResult<NeighborArrays<'py>> {
        let ids = point_ids(&ids)?;
        let (t, p) = (&self.tree, &*self.pool);
        let nn = detached(py, || {
            let q = t.points(&ids)?;
            Ok(t.knn(&q, k).run(p)?.0)
        })?;
        neighbors(py, nn)
    }

    /// Each point's k nearest other points.
    fn self_knn<'py>(&self, py: Python<'py>, k: usize) -> PyResult<NeighborArrays<'py>> {
        let (t, p) = (&self.tree, &*self.pool);
        let nn = detached(py, || Ok(t.self_knn(k).run(p)?.0))?;
        neighbors(py, nn)
    }

    /// Each point's k nearest among the points with smaller ids.
    fn predecessor_knn<'py>(&self, py: Python<'py>, k: usize) -> PyResult<NeighborArrays<'py>> {
        let (t, p) = (&self.tree, &*self.pool);
        let nn = detached(py, || Ok(t.predecessor_knn(k).run(p)?.0))?;
        neighbors(py, nn)
    }

    /// Writes the tree file `path` (the CLI's format).
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let t = &self.tree;
        detached(py, || t.save(&path))
    }

    /// The tree file's bytes (what pickling stores).
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let t = &self.tree;
        let b = detached(py, || Ok(t.to_bytes()))?;
        Ok(PyBytes::new(py, &b))
    }

    /// A tree from a file's bytes, on `threads` workers.
    #[staticmethod]
    fn from_bytes(py: Python<'_>, b: &[u8], threads: usize) -> PyResult<Self> {
        let pool = pool(threads)?;
        let tree = detached(py, || Tree::from_bytes(b))?;
        Ok(ResidualTree { tree, pool })
    }
}

/// Each row's k nearest among the rows before it (Vecchia conditioning sets), planned
/// (k-d, dense or cover tree, whichever is cheapest), as `(ids, distances)`.
#[pyfunction]
fn ordered_knn<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    k: usize,
    threads: usize,
) -> PyResult<NeighborArrays<'py>> {
    let pool = pool(threads)?;
    let p = &*pool;
    let nn = if let Ok(a) = x.extract::<PyReadonlyArray2<'_, f32>>() {
        let m = euclidean(&a).map_err(py_err)?;
        detached(py, || Ok(Job::predecessor_knn(m, k).run(p)?.neighbors))?
    } else if let Ok(a) = x.extract::<PyReadonlyArray2<'_, f64>>() {
        let m = euclidean(&a).map_err(py_err)?;
        detached(py, || Ok(Job::predecessor_knn(m, k).run(p)?.neighbors))?
    } else {
        return Err(PyTypeError::new_err(
            "points must be a 2-D float32 or float64 array",
        ));
    };
    neighbors(py, nn)
}

/// [`ordered_knn`] in a residual model's metric, planned the same way.
#[pyfunction]
fn ordered_knn_residual<'py>(
    py: Python<'py>,
    model: &ResidualModel,
    k: usize,
    threads: usize,
) -> PyResult<NeighborArrays<'py>> {
    let pool = pool(threads)?;
    let (m, pl) = (model.take()?, &*pool);
    let nn = detached(py, || Ok(Job::predecessor_knn(m, k).run(pl)?.neighbors))?;
    neighbors(py, nn)
}

type OrderArrays<'py> = (Bound<'py, PyArray1<i64>>, Bound<'py, PyArray1<f64>>);

/// An ordering as numpy arrays `(order, radius)`.
fn order_arrays(py: Python<'_>, mm: pcct::ordering::Maximin) -> OrderArrays<'_> {
    let order: Vec<i64> = mm.order.iter().map(|&i| i as i64).collect();
    (order.into_pyarray(py), mm.radius.into_pyarray(py))
}

/// The exact maximin ordering of Euclidean rows `x` as `(order, radius)`.
#[pyfunction]
fn maximin_order<'py>(py: Python<'py>, x: &Bound<'py, PyAny>, threads: usize) -> PyResult<OrderArrays<'py>> {
    let pool = pool(threads)?;
    let p = &*pool;
    let mm = if let Ok(a) = x.extract::<PyReadonlyArray2<'_, f32>>() {
        let m = euclidean(&a).map_err(py_err)?;
        detached(py, || pcct::ordering::maximin(&m, p))?
    } else if let Ok(a) = x.extract::<PyReadonlyArray2<'_, f64>>() {
        let m = euclidean(&a).map_err(py_err)?;
        detached(py, || pcct::ordering::maximin(&m, p))?
    } else {
        return Err(PyTypeError::new_err(
            "points must be a 2-D float32 or float64 array",
        ));
    };
    Ok(order_arrays(py, mm))
}

/// [`maximin_order`] in a residual model's metric.
#[pyfunction]
fn maximin_order_residual<'py>(
    py: Python<'py>,
    model: &ResidualModel,
    threads: usize,
) -> PyResult<OrderArrays<'py>> {
    let pool = pool(threads)?;
    let (m, pl) = (model.take()?, &*pool);
    let mm = detached(py, || pcct::ordering::maximin(&m, pl))?;
    Ok(order_arrays(py, mm))
}

/// What `pcct info` prints, as `(name, value)` pairs.
#[pyfunction]
fn info() -> PyResult<Vec<(&'static str, String)>> {
    pcct::about::facts().map_err(py_err)
}

/// The native module `pcct._pcct`.
#[pymodule]
fn _pcct(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<EuclideanTree>()?;
    m.add_class::<ResidualTree>()?;
    m.add_class::<ResidualModel>()?;
    m.add_function(wrap_pyfunction!(ordered_knn, m)?)?;
    m.add_function(wrap_pyfunction!(ordered_knn_residual, m)?)?;
    m.add_function(wrap_pyfunction!(maximin_order, m)?)?;
    m.add_function(wrap_pyfunction!(maximin_order_residual, m)?)?;
    m.add_function(wrap_pyfunction!(info, m)?)?;
    Ok(())
}
