//! Compressed sparse rows: `offsets` + `values`, with their invariants checked.
//!
//! ```text
//! offsets: [0, 2, 2, 5]            row r = values[offsets[r]..offsets[r+1]]
//! values:  [a b | | c d e]         3 rows: [a b], [], [c d e]
//! ```
//!
//! Invariants (checked by [`Csr::new_in`] and [`CsrRef::new`]):
//! 1. `offsets` is not empty and `offsets[0] == 0`;
//! 2. `offsets` never decreases;
//! 3. `offsets[last] == values.len()` (so `values.len() ≤ u32::MAX`);
//! 4. with a bound `b` ([`CsrRef::check_bound`]), every value is `< b`.

use allocator_api2::alloc::{Allocator, Global};
use allocator_api2::vec::Vec as AVec;
use std::fmt;

/// What is wrong with a CSR or with the input of a CSR builder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CsrError {
    /// `offsets` is empty (it needs at least the leading 0).
    NoOffsets,
    /// `offsets[0]` is not 0.
    FirstOffsetNotZero(u32),
    /// `offsets[row + 1] < offsets[row]`.
    DecreasingOffsets {
        /// The first row whose end is before its start.
        row: usize,
    },
    /// The last offset is not the number of values.
    LastOffsetMismatch {
        /// The last offset.
        last: u32,
        /// The number of values.
        len: usize,
    },
    /// A value is not below the bound it was checked against.
    ValueOutOfBound {
        /// Its position in `values`.
        index: usize,
    },
    /// More values than `u32` offsets can address.
    TooManyValues(u64),
    /// A builder got a key outside `0..num_keys`.
    KeyOutOfRange {
        /// The key.
        key: u32,
        /// The number of keys the builder was given.
        num_keys: usize,
    },
    /// A producer emitted different pairs in the counting and the scatter pass.
    ProducerNotDeterministic,
}

impl fmt::Display for CsrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CsrError::NoOffsets => write!(f, "CSR offsets are empty (need at least [0])"),
            CsrError::FirstOffsetNotZero(o) => write!(f, "CSR offsets start at {o}, not 0"),
            CsrError::DecreasingOffsets { row } => write!(f, "CSR offsets decrease at row {row}"),
            CsrError::LastOffsetMismatch { last, len } => {
                write!(f, "last CSR offset {last} differs from the {len} values")
            }
            CsrError::ValueOutOfBound { index } => write!(f, "CSR value at {index} is out of bound"),
            CsrError::TooManyValues(n) => write!(f, "{n} CSR values exceed the u32 offset range"),
            CsrError::KeyOutOfRange { key, num_keys } => {
                write!(f, "key {key} is outside 0..{num_keys}")
            }
            CsrError::ProducerNotDeterministic => {
                write!(f, "the pair producer emitted different pairs on its two passes")
            }
        }
    }
}

impl std::error::Error for CsrError {}

/// Checks invariants 1–3 of the module docs.
fn check_structure(offsets: &[u32], len: usize) -> Result<(), CsrError> {
    let (&first, _) = offsets.split_first().ok_or(CsrError::NoOffsets)?;
    if first != 0 {
        return Err(CsrError::FirstOffsetNotZero(first));
    }
    if let Some(row) = offsets.windows(2).position(|w| w[1] < w[0]) {
        return Err(CsrError::DecreasingOffsets { row });
    }
    let last = *offsets.last().expect("non-empty");
    if last as usize != len {
        return Err(CsrError::LastOffsetMismatch { last, len });
    }
    Ok(())
}

/// Offsets (`[0, l0, l0+l1, …]`) from row lengths, in `alloc`; an error if the sum
/// exceeds `u32::MAX`.
pub fn offsets_from_lengths_in<A: Allocator>(
    lengths: impl IntoIterator<Item = usize>,
    alloc: A,
) -> Result<AVec<u32, A>, CsrError> {
    let it = lengths.into_iter();
    let mut offsets = AVec::with_capacity_in(it.size_hint().0 + 1, alloc);
    let mut run: u64 = 0;
    offsets.push(0);
    for l in it {
        run += l as u64;
        let o = u32::try_from(run).map_err(|_| CsrError::TooManyValues(run))?;
        offsets.push(o);
    }
    Ok(offsets)
}

/// A borrowed CSR: cheap to copy, rows are slices.
#[derive(Debug)]
pub struct CsrRef<'a, V> {
    offsets: &'a [u32],
    values: &'a [V],
}

impl<V> Clone for CsrRef<'_, V> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<V> Copy for CsrRef<'_, V> {}

impl<'a, V> CsrRef<'a, V> {
    /// A checked view (invariants 1–3).
    pub fn new(offsets: &'a [u32], values: &'a [V]) -> Result<Self, CsrError> {
        check_structure(offsets, values.len())?;
        Ok(CsrRef { offsets, values })
    }

    /// Number of rows (`offsets.len() - 1`).
    pub fn num_rows(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Number of values over all rows.
    pub fn num_values(&self) -> usize {
        self.values.len()
    }

    /// Row `r`. Panics if `r >= num_rows()`.
    pub fn row(&self, r: usize) -> &'a [V] {
        &self.values[self.offsets[r] as usize..self.offsets[r + 1] as usize]
    }

    /// The rows in order.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = &'a [V]> + 'a {
        let values = self.values;
        self.offsets
            .windows(2)
            .map(move |w| &values[w[0] as usize..w[1] as usize])
    }

    /// The offsets.
    pub fn offsets(&self) -> &'a [u32] {
        self.offsets
    }

    /// All values, row after row.
    pub fn values(&self) -> &'a [V] {
        self.values
    }

    /// Checks invariant 4: every value is `< bound`.
    pub fn check_bound(&self, bound: V) -> Result<(), CsrError>
    where
        V: PartialOrd,
    {
        match self.values.iter().position(|v| *v >= bound) {
            Some(index) => Err(CsrError::ValueOutOfBound { index }),
            None => Ok(()),
        }
    }
}

/// An owned CSR whose buffers live in allocator `A`: the global heap by default, or an
/// arena (`&bumpalo::Bump`) for per-batch buffers that are dropped all at once.
pub struct Csr<V = u32, A: Allocator = Global> {
    offsets: AVec<u32, A>,
    values: AVec<V, A>,
}

impl<V: Clone, A: Allocator + Clone> Clone for Csr<V, A> {
    fn clone(&self) -> Self {
        Csr {
            offsets: self.offsets.clone(),
            values: self.values.clone(),
        }
    }
}

impl<V: fmt::Debug, A: Allocator> fmt::Debug for Csr<V, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Csr")
            .field("offsets", &&self.offsets[..])
            .field("values", &&self.values[..])
            .finish()
    }
}

impl<V> Csr<V> {
    /// A checked CSR on the global heap.
    pub fn new(offsets: &[u32], values: &[V]) -> Result<Self, CsrError>
    where
        V: Clone,
    {
        check_structure(offsets, values.len())?;
        let mut o = AVec::with_capacity(offsets.len());
        o.extend_from_slice(offsets);
        let mut v = AVec::with_capacity(values.len());
        v.extend_from_slice(values);
        Ok(Csr {
            offsets: o,
            values: v,
        })
    }
}

impl<V, A: Allocator> Csr<V, A> {
    /// A checked CSR from buffers (invariants 1–3).
    pub fn new_in(offsets: AVec<u32, A>, values: AVec<V, A>) -> Result<Self, CsrError> {
        check_structure(&offsets, values.len())?;
        Ok(Csr { offsets, values })
    }

    /// A CSR from buffers, unchecked.
    ///
    /// # Safety
    /// The buffers must satisfy invariants 1–3 of the module docs. No memory safety
    /// depends on them inside this crate (rows are bounds-checked slices), but callers
    /// may rely on them, e.g. to index without checks.
    pub unsafe fn new_unchecked(offsets: AVec<u32, A>, values: AVec<V, A>) -> Self {
        debug_assert!(check_structure(&offsets, values.len()).is_ok());
        Csr { offsets, values }
    }

    /// The borrowed view.
    pub fn view(&self) -> CsrRef<'_, V> {
        CsrRef {
            offsets: &self.offsets,
            values: &self.values,
        }
    }

    /// Number of rows.
    pub fn num_rows(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Number of values over all rows.
    pub fn num_values(&self) -> usize {
        self.values.len()
    }

    /// Row `r`. Panics if `r >= num_rows()`.
    pub fn row(&self, r: usize) -> &[V] {
        &self.values[self.offsets[r] as usize..self.offsets[r + 1] as usize]
    }

    /// The offsets.
    pub fn offsets(&self) -> &[u32] {
        &self.offsets
    }

    /// All values, row after row.
    pub fn values(&self) -> &[V] {
        &self.values
    }
}
