//! Saved trees as the CLI meets them: a tree file read back with the type its metric tag
//! names, and new points (queries, inserts) converted to that metric.

use pcct::io::Matrix;
use pcct::metric::{Dataset, Euclidean, Residual};
use pcct::persist::{file_tag, MetricTag};
use pcct::{Error, Metric, Pool, Result, Tree};
use std::path::Path;

/// A tree file read back, typed by its metric tag.
pub(super) enum SavedTree {
    /// Euclidean, f32 rows.
    F32(Tree<Euclidean<f32>>),
    /// Euclidean, f64 rows.
    F64(Tree<Euclidean<f64>>),
    /// The residual-correlation metric.
    Residual(Box<Tree<Residual>>),
}

impl SavedTree {
    /// Reads the tree file at `path`; errors name the file.
    pub(super) fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let named = |e: Error| match e {
            Error::InvalidArgument { name, reason } => {
                Error::invalid(name, format!("{}: {reason}", path.display()))
            }
            e => e,
        };
        let tree = match file_tag(&bytes).map_err(named)? {
            MetricTag::EuclideanF32 => SavedTree::F32(Tree::from_bytes(&bytes).map_err(named)?),
            MetricTag::EuclideanF64 => SavedTree::F64(Tree::from_bytes(&bytes).map_err(named)?),
            MetricTag::Residual => SavedTree::Residual(Box::new(Tree::from_bytes(&bytes).map_err(named)?)),
        };
        Ok(tree)
    }
}

/// A matrix's values in element type `T` (f32 files stay exact in f32).
fn values<T: pcct::kernels::Element>(m: &Matrix) -> Vec<T> {
    match m {
        Matrix::F32 { values, .. } if T::BYTES == 4 => {
            values.iter().map(|&v| T::from_f64(v as f64)).collect()
        }
        _ => m.to_f64().into_iter().map(T::from_f64).collect(),
    }
}

/// The Euclidean metric over a matrix's rows; errors name `what` (data, queries, insert).
pub(super) fn euclidean<T: pcct::kernels::Element>(m: &Matrix, what: &'static str) -> Result<Euclidean<T>> {
    let (n, d) = m.shape();
    let data = Dataset::from_rows(&values::<T>(m), n, d).map_err(|e| match e {
        Error::InvalidArgument { reason, .. } => Error::invalid(what, reason),
        e => e,
    })?;
    Euclidean::new(data)
}

/// New points (coordinates) under a residual tree's model: their own `v`, `p`.
pub(super) fn residual_points(
    tree: &Tree<Residual>,
    m: &Matrix,
    what: &'static str,
    pool: &Pool,
) -> Result<Residual> {
    let dim = tree.metric().capabilities().coordinate_dim;
    if m.shape().1 != dim {
        return Err(Error::invalid(
            what,
            format!("points have dimension {} but the tree's have {dim}", m.shape().1),
        ));
    }
    tree.metric().queries(&m.to_f64(), pool)
}
