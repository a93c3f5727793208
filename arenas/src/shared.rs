//! A slice that several pool workers write at provably disjoint positions.

use std::marker::PhantomData;
use std::mem::MaybeUninit;

/// Raw, shared write access to a `[MaybeUninit<T>]` (or a `[u32]` of cursors).
///
/// The builder hands one of these to every worker of a pass; each worker writes only
/// positions no other worker writes in that pass (its own slots of a counting sort),
/// and every write is bounds-checked against `len`.
pub(crate) struct SharedSlice<'a, T> {
    ptr: *mut T,
    len: usize,
    _life: PhantomData<&'a mut [T]>,
}

// SAFETY: a SharedSlice is only a pointer to a buffer that outlives it ('a); sending
// or sharing it across workers is sound because the passes that use it write
// disjoint positions (documented at each use) and nothing reads during a pass.
unsafe impl<T: Send> Send for SharedSlice<'_, T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for SharedSlice<'_, T> {}

impl<'a, T> SharedSlice<'a, T> {
    pub(crate) fn new(s: &'a mut [T]) -> Self {
        SharedSlice {
            ptr: s.as_mut_ptr(),
            len: s.len(),
            _life: PhantomData,
        }
    }

    /// Writes `v` at `i`.
    ///
    /// # Safety
    /// No other thread may read or write position `i` during the current pass.
    #[inline(always)]
    pub(crate) unsafe fn write(&self, i: usize, v: T) {
        assert!(i < self.len, "pcct-arenas: shared write out of bounds");
        // SAFETY: `i < len` (asserted) so the pointer is inside the buffer, which is
        // alive for 'a; exclusivity of position `i` is the caller's promise.
        unsafe { self.ptr.add(i).write(v) }
    }

    /// Reads position `i`.
    ///
    /// # Safety
    /// No other thread may write position `i` during the current pass, and it must
    /// hold an initialized value.
    #[inline(always)]
    pub(crate) unsafe fn read(&self, i: usize) -> T
    where
        T: Copy,
    {
        assert!(i < self.len, "pcct-arenas: shared read out of bounds");
        // SAFETY: in bounds (asserted); the caller promises no concurrent writer.
        unsafe { self.ptr.add(i).read() }
    }
}

impl<'a, T> SharedSlice<'a, MaybeUninit<T>> {
    pub(crate) fn uninit(s: &'a mut [MaybeUninit<T>]) -> Self {
        Self::new(s)
    }
}
