//! The one generic body of every kernel, and the small vector schema each ISA implements.
//!
//! A kernel is `init → accumulate (per chunk of W lanes) → combine → finish`:
//! [`Op::step`] is the accumulate step, [`Lanes::reduce`] / [`Lanes::reduce4`] the
//! combine. Each ISA implements [`Lanes`] for `f32` and `f64` on its token type; the
//! bodies below are instantiated once per ISA inside a `#[target_feature]` function,
//! so they compile to that ISA's instructions.
//!
//! Block layout (one query against `n` rows, row-major, `stride ≥ dim`):
//!
//! ```text
//! rows: | r0[0..dim] pad | r1[0..dim] pad | r2 ... |      out: [op(q,r0), op(q,r1), ...]
//!        <---- stride --->
//! ```
//!
//! Rows are taken four at a time: four independent accumulators hide the FMA
//! latency, and one query chunk load serves all four rows. The last `dim % W`
//! columns go through a masked (or zero-filled) tail load, so padding is never read.

/// The vector operations one ISA offers for element type `T`.
///
/// Implemented on the ISA's token type: holding `self` proves the CPU supports
/// the instructions.
pub(crate) trait Lanes<T: Copy>: Copy {
    /// The vector register type.
    type V: Copy;
    /// Lanes per vector.
    const W: usize;
    /// All lanes zero.
    fn zero(self) -> Self::V;
    /// Loads the first `W` elements of `s`. Panics if `s.len() < W`.
    fn load(self, s: &[T]) -> Self::V;
    /// Loads `s` (`s.len() < W`) into the low lanes and zeroes the rest; reads nothing past `s`.
    fn load_tail(self, s: &[T]) -> Self::V;
    /// Loads `W` elements from `p`.
    ///
    /// # Safety
    /// `p` must be valid for reads of `W` elements of `T`.
    unsafe fn load_ptr(self, p: *const T) -> Self::V;
    /// Loads `n < W` elements from `p` into the low lanes, zeroing the rest.
    ///
    /// # Safety
    /// `p` must be valid for reads of `n` elements of `T`, and `n < W`.
    unsafe fn load_tail_ptr(self, p: *const T, n: usize) -> Self::V;
    /// `a - b`.
    fn sub(self, a: Self::V, b: Self::V) -> Self::V;
    /// `a + b`.
    fn add(self, a: Self::V, b: Self::V) -> Self::V;
    /// `a * b + c` (fused where the ISA has FMA).
    fn mul_add(self, a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// The sum of all lanes.
    fn reduce(self, a: Self::V) -> T;
    /// The lane sums of four vectors at once (ISAs override this with a transpose-add).
    #[inline(always)]
    fn reduce4(self, a: [Self::V; 4]) -> [T; 4] {
        [
            self.reduce(a[0]),
            self.reduce(a[1]),
            self.reduce(a[2]),
            self.reduce(a[3]),
        ]
    }
    /// The lane sums of eight vectors at once.
    #[inline(always)]
    fn reduce8(self, a: [Self::V; 8]) -> [T; 8] {
        let [a0, a1, a2, a3, a4, a5, a6, a7] = a;
        let [s0, s1, s2, s3] = self.reduce4([a0, a1, a2, a3]);
        let [s4, s5, s6, s7] = self.reduce4([a4, a5, a6, a7]);
        [s0, s1, s2, s3, s4, s5, s6, s7]
    }
}

/// The accumulate step of a kernel.
pub(crate) trait Op {
    /// Folds one chunk of the query `q` and a row `r` into `acc`.
    fn step<T: Copy, S: Lanes<T>>(s: S, q: S::V, r: S::V, acc: S::V) -> S::V;
}

/// Squared Euclidean distance: `Σ (q - r)²`.
pub(crate) struct SqL2;
/// Dot product: `Σ q·r`.
pub(crate) struct Dot;
/// Squared norm of the row: `Σ r²` (the query is ignored; its loads are dead code).
pub(crate) struct SqNorm;

impl Op for SqL2 {
    #[inline(always)]
    fn step<T: Copy, S: Lanes<T>>(s: S, q: S::V, r: S::V, acc: S::V) -> S::V {
        let d = s.sub(q, r);
        s.mul_add(d, d, acc)
    }
}

impl Op for Dot {
    #[inline(always)]
    fn step<T: Copy, S: Lanes<T>>(s: S, q: S::V, r: S::V, acc: S::V) -> S::V {
        s.mul_add(q, r, acc)
    }
}

impl Op for SqNorm {
    #[inline(always)]
    fn step<T: Copy, S: Lanes<T>>(s: S, _q: S::V, r: S::V, acc: S::V) -> S::V {
        s.mul_add(r, r, acc)
    }
}

/// `op(a, b)` for two equal-length slices. Two accumulators for latency hiding.
#[inline(always)]
pub(crate) fn one<T: Copy, S: Lanes<T>, O: Op>(s: S, a: &[T], b: &[T]) -> T {
    assert_eq!(a.len(), b.len(), "pcct-kernels: operands differ in length");
    let d = a.len();
    let w = S::W;
    let mut acc0 = s.zero();
    let mut acc1 = s.zero();
    let mut j = 0;
    while j + 2 * w <= d {
        acc0 = O::step(s, s.load(&a[j..]), s.load(&b[j..]), acc0);
        acc1 = O::step(s, s.load(&a[j + w..]), s.load(&b[j + w..]), acc1);
        j += 2 * w;
    }
    if j + w <= d {
        acc0 = O::step(s, s.load(&a[j..]), s.load(&b[j..]), acc0);
        j += w;
    }
    if j < d {
        acc1 = O::step(s, s.load_tail(&a[j..]), s.load_tail(&b[j..]), acc1);
    }
    s.reduce(s.add(acc0, acc1))
}

/// Panics unless `rows` holds `n` rows of `dim` elements `stride` apart.
#[inline(always)]
pub(crate) fn check_block(dim: usize, rows_len: usize, stride: usize, n: usize) {
    if n == 0 {
        return;
    }
    assert!(
        n == 1 || stride >= dim,
        "pcct-kernels: stride {stride} is smaller than the dimension {dim}"
    );
    let need = (n - 1)
        .checked_mul(stride)
        .and_then(|x| x.checked_add(dim))
        .expect("pcct-kernels: block size overflows usize");
    assert!(
        rows_len >= need,
        "pcct-kernels: {n} rows of dimension {dim} with stride {stride} need {need} elements, got {rows_len}"
    );
}

/// The accumulators of `R` consecutive rows starting at row `i`.
///
/// Pointer arithmetic instead of slicing: at d = 8 the per-row bounds checks
/// of sliced rows cost more than the arithmetic itself.
///
/// # Safety
/// Rows `i..i + R` of `rows` (row `r` = `rows[r * stride..r * stride + q.len()]`)
/// must be in bounds, as [`check_block`] establishes for a whole block.
#[inline(always)]
unsafe fn accumulate<T: Copy, S: Lanes<T>, O: Op, const R: usize>(
    s: S,
    q: &[T],
    rows: &[T],
    stride: usize,
    i: usize,
) -> [S::V; R] {
    let d = q.len();
    let w = S::W;
    let full = d - d % w;
    // SAFETY: row i + k starts inside `rows` (caller's contract).
    let r: [*const T; R] = std::array::from_fn(|k| unsafe { rows.as_ptr().add((i + k) * stride) });
    let qp = q.as_ptr();
    let mut acc = [s.zero(); R];
    let mut j = 0;
    while j < full {
        // SAFETY: j + w ≤ full ≤ d: the query and every row hold elements j..j + w.
        let qv = unsafe { s.load_ptr(qp.add(j)) };
        for k in 0..R {
            // SAFETY: as above, row k has d elements from r[k].
            acc[k] = O::step(s, qv, unsafe { s.load_ptr(r[k].add(j)) }, acc[k]);
        }
        j += w;
    }
    if j < d {
        // SAFETY: elements j..d exist in the query and in every row, and d − j < w.
        let qv = unsafe { s.load_tail_ptr(qp.add(j), d - j) };
        for k in 0..R {
            // SAFETY: as above.
            acc[k] = O::step(s, qv, unsafe { s.load_tail_ptr(r[k].add(j), d - j) }, acc[k]);
        }
    }
    acc
}

/// `out[i] = op(q, row i)` for the `out.len()` rows of `rows`, `stride` elements apart.
///
/// Eight rows per step (one query chunk load serves all eight, eight independent
/// FMA chains, one transpose-reduce for the eight sums), then a four-row step,
/// then single rows.
#[inline(always)]
pub(crate) fn block<T: Copy, S: Lanes<T>, O: Op>(s: S, q: &[T], rows: &[T], stride: usize, out: &mut [T]) {
    let d = q.len();
    let n = out.len();
    check_block(d, rows.len(), stride, n);
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: check_block proved rows 0..n in bounds; i + 8 ≤ n.
        let acc = unsafe { accumulate::<T, S, O, 8>(s, q, rows, stride, i) };
        out[i..i + 8].copy_from_slice(&s.reduce8(acc));
        i += 8;
    }
    if i + 4 <= n {
        // SAFETY: check_block proved rows 0..n in bounds; i + 4 ≤ n.
        let acc = unsafe { accumulate::<T, S, O, 4>(s, q, rows, stride, i) };
        out[i..i + 4].copy_from_slice(&s.reduce4(acc));
        i += 4;
    }
    while i < n {
        let b = i * stride;
        out[i] = one::<T, S, O>(s, q, &rows[b..b + d]);
        i += 1;
    }
}

/// The accumulators of `Q` queries against `R` consecutive rows starting at row `i`:
/// each row chunk is loaded once for all `Q` queries, so a block of rows read from
/// L2 serves a tile of queries.
///
/// # Safety
/// Rows `i..i + R` of `rows` must be in bounds (as for [`accumulate`]) and every
/// query must hold `qs[0].len()` elements.
#[inline(always)]
unsafe fn accumulate_multi<T: Copy, S: Lanes<T>, O: Op, const Q: usize, const R: usize>(
    s: S,
    qs: [&[T]; Q],
    rows: &[T],
    stride: usize,
    i: usize,
) -> [[S::V; R]; Q] {
    let d = qs[0].len();
    let w = S::W;
    let full = d - d % w;
    // SAFETY: row i + k starts inside `rows` (caller's contract).
    let r: [*const T; R] = std::array::from_fn(|k| unsafe { rows.as_ptr().add((i + k) * stride) });
    let qp: [*const T; Q] = std::array::from_fn(|a| qs[a].as_ptr());
    let mut acc = [[s.zero(); R]; Q];
    let mut j = 0;
    while j < full {
        // SAFETY: j + w ≤ full ≤ d: every row and every query hold elements j..j + w.
        let rv: [S::V; R] = std::array::from_fn(|k| unsafe { s.load_ptr(r[k].add(j)) });
        for a in 0..Q {
            // SAFETY: as above.
            let qv = unsafe { s.load_ptr(qp[a].add(j)) };
            for k in 0..R {
                acc[a][k] = O::step(s, qv, rv[k], acc[a][k]);
            }
        }
        j += w;
    }
    if j < d {
        // SAFETY: elements j..d exist in every row and query, and d − j < w.
        let rv: [S::V; R] = std::array::from_fn(|k| unsafe { s.load_tail_ptr(r[k].add(j), d - j) });
        for a in 0..Q {
            // SAFETY: as above.
            let qv = unsafe { s.load_tail_ptr(qp[a].add(j), d - j) };
            for k in 0..R {
                acc[a][k] = O::step(s, qv, rv[k], acc[a][k]);
            }
        }
    }
    acc
}

/// Panics unless `qs` are of one length and `out` holds `qs.len()` equal rows of
/// results; returns the rows per query.
#[inline(always)]
pub(crate) fn check_multi<T>(qs: &[&[T]], out_len: usize) -> usize {
    let Some(first) = qs.first() else {
        assert!(out_len == 0, "pcct-kernels: {out_len} results for no queries");
        return 0;
    };
    assert!(
        qs.iter().all(|q| q.len() == first.len()),
        "pcct-kernels: queries of a tile differ in length"
    );
    assert!(
        out_len.is_multiple_of(qs.len()),
        "pcct-kernels: {out_len} results are not a multiple of {} queries",
        qs.len()
    );
    out_len / qs.len()
}

/// `out[a * n + i] = op(qs[a], row i)` for `n = out.len() / qs.len()` rows: queries
/// four at a time against rows four at a time (sixteen independent FMA chains, each
/// row chunk loaded once for four queries, two transpose-reduces for the sixteen
/// sums, stored four contiguous per query), the last rows of a tile one at a time,
/// then the remaining queries through [`block`]. (Rows of at most [`SHORT_VECTORS`]
/// vectors do not come here: see [`per_query`].)
#[inline(always)]
pub(crate) fn multi<T: Copy, S: Lanes<T>, O: Op>(
    s: S,
    qs: &[&[T]],
    rows: &[T],
    stride: usize,
    out: &mut [T],
) {
    let n = check_multi(qs, out.len());
    if n == 0 {
        return;
    }
    let d = qs[0].len();
    check_block(d, rows.len(), stride, n);
    let mut a = 0;
    while a + 4 <= qs.len() {
        let g = [qs[a], qs[a + 1], qs[a + 2], qs[a + 3]];
        let tile = &mut out[a * n..(a + 4) * n];
        let mut i = 0;
        while i + 4 <= n {
            // SAFETY: check_block proved rows 0..n in bounds; i + 4 ≤ n; check_multi
            // proved the queries of one length.
            let [x0, x1, x2, x3] = unsafe { accumulate_multi::<T, S, O, 4, 4>(s, g, rows, stride, i) };
            let lo = s.reduce8([x0[0], x0[1], x0[2], x0[3], x1[0], x1[1], x1[2], x1[3]]);
            let hi = s.reduce8([x2[0], x2[1], x2[2], x2[3], x3[0], x3[1], x3[2], x3[3]]);
            for (qi, sums) in lo.chunks_exact(4).chain(hi.chunks_exact(4)).enumerate() {
                tile[qi * n + i..qi * n + i + 4].copy_from_slice(sums);
            }
            i += 4;
        }
        while i < n {
            let b = i * stride;
            for (qi, q) in g.iter().enumerate() {
                tile[qi * n + i] = one::<T, S, O>(s, q, &rows[b..b + d]);
            }
            i += 1;
        }
        a += 4;
    }
    for (q, o) in qs[a..].iter().zip(out[a * n..].chunks_exact_mut(n)) {
        block::<T, S, O>(s, q, rows, stride, o);
    }
}

/// A token that implies a narrower one (AVX-512 implies AVX2).
pub(crate) trait Implies<N> {
    /// The narrower token.
    fn narrow(self) -> N;
}

/// [`block`] on the narrower vectors of `N` when the whole row fits in one of
/// them: at d ≤ 8 (f32) a 512-bit vector would be mostly masked-off lanes, and
/// every reduction would move twice the data. Decided once per block.
#[inline(always)]
pub(crate) fn block_narrowing<T: Copy, S: Lanes<T> + Implies<N>, N: Lanes<T>, O: Op>(
    s: S,
    q: &[T],
    rows: &[T],
    stride: usize,
    out: &mut [T],
) {
    if q.len() <= N::W && N::W < S::W {
        block::<T, N, O>(s.narrow(), q, rows, stride, out)
    } else {
        block::<T, S, O>(s, q, rows, stride, out)
    }
}

/// Rows of at most this many vectors of a level are cheap to load again: the
/// several-query kernels run the one-query block kernel per query for them (its
/// eight-row step reduces and stores more cheaply). Chosen by measurement; see pcct's
/// BENCHMARKS.md, section Kernels.
pub(crate) const SHORT_VECTORS: usize = 2;

/// `out[a * n + i] = f(qs[a], row i)`, one block call per query: the scalar
/// reference's several-query kernels, and the other levels' for short rows (`f` their
/// own block kernel, called through its table entry so that it is the very code a
/// single query runs).
pub(crate) fn per_query<T>(
    qs: &[&[T]],
    rows: &[T],
    stride: usize,
    out: &mut [T],
    f: fn(&[T], &[T], usize, &mut [T]),
) {
    let n = check_multi(qs, out.len());
    if n == 0 {
        return;
    }
    for (q, o) in qs.iter().zip(out.chunks_exact_mut(n)) {
        f(q, rows, stride, o);
    }
}
