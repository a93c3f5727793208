//! Row storage for vector data: padded rows, validated on the way in.

use crate::kernels::Element;
use crate::{Error, Result};

/// The most points a dataset may hold: ids are `u32` and `u32::MAX` means "none".
pub const MAX_POINTS: usize = u32::MAX as usize - 1;

/// `n` points of dimension `dim`, row-major, each row padded with zeros to `stride`
/// elements (a multiple of 16 bytes) so kernels can walk rows at a fixed step.
///
/// ```text
/// data: | x0[0..dim] 0 0 | x1[0..dim] 0 0 | … |     stride = dim rounded up to 16 bytes
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset<T> {
    data: Vec<T>,
    n: usize,
    dim: usize,
    stride: usize,
}

impl<T: Element> Dataset<T> {
    /// A dataset from `n × dim` row-major values. Errors on a length that is not
    /// `n·dim`, on `dim = 0` with points, on NaN or infinite values (naming the first
    /// one), and on more than [`MAX_POINTS`] points.
    pub fn from_rows(values: &[T], n: usize, dim: usize) -> Result<Self> {
        if n > MAX_POINTS {
            return Err(Error::invalid(
                "points",
                format!("{n} points exceed the u32 id range ({MAX_POINTS})"),
            ));
        }
        if n.checked_mul(dim) != Some(values.len()) {
            return Err(Error::invalid(
                "data",
                format!("{} values do not form {n} rows of dimension {dim}", values.len()),
            ));
        }
        if dim == 0 && n > 0 {
            return Err(Error::invalid("data", "points have dimension 0".into()));
        }
        if let Some(p) = values.iter().position(|v| !v.to_f64().is_finite()) {
            return Err(Error::invalid(
                "data",
                format!(
                    "row {} column {} is {:?} (NaN and infinity are not allowed)",
                    p / dim,
                    p % dim,
                    values[p]
                ),
            ));
        }
        let stride = dim.next_multiple_of(16 / T::BYTES);
        let mut data = vec![T::from_f64(0.0); n * stride];
        for (i, row) in values.chunks_exact(dim.max(1)).enumerate().take(n) {
            data[i * stride..i * stride + dim].copy_from_slice(row);
        }
        Ok(Dataset { data, n, dim, stride })
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether there are no points.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Elements between row starts.
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// Row `i` (its `dim` values). Panics if `i >= len()`.
    pub fn row(&self, i: usize) -> &[T] {
        &self.data[i * self.stride..i * self.stride + self.dim]
    }

    /// The padded rows from `first` on, for block kernels.
    pub fn rows_from(&self, first: usize) -> &[T] {
        &self.data[first * self.stride..]
    }

    /// The largest absolute coordinate (0 for an empty dataset).
    pub fn max_abs(&self) -> f64 {
        self.data.iter().fold(0.0f64, |m, v| m.max(v.to_f64().abs()))
    }

    /// The rows of `self` followed by those of `other` (same dimension), or an error
    /// naming both dimensions, or the id range if the result would exceed it.
    pub fn concat(&self, other: &Self) -> Result<Self> {
        if other.dim != self.dim {
            return Err(Error::invalid(
                "points",
                format!(
                    "dimension {} differs from the tree's dimension {}",
                    other.dim, self.dim
                ),
            ));
        }
        let n = self.n + other.n;
        if n > MAX_POINTS {
            return Err(Error::invalid(
                "points",
                format!("{n} points exceed the u32 id range ({MAX_POINTS})"),
            ));
        }
        let mut data = self.data.clone();
        data.extend_from_slice(&other.data);
        Ok(Dataset {
            data,
            n,
            dim: self.dim,
            stride: self.stride,
        })
    }

    /// A copy whose row `k` is row `order[k]` of `self`.
    pub fn permuted(&self, order: &[u32]) -> Self {
        let mut data = Vec::with_capacity(order.len() * self.stride);
        for &o in order {
            let o = o as usize;
            data.extend_from_slice(&self.data[o * self.stride..(o + 1) * self.stride]);
        }
        Dataset {
            data,
            n: order.len(),
            dim: self.dim,
            stride: self.stride,
        }
    }
}
