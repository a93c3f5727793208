//! The parallel, stable counting-sort CSR builder.
//!
//! Input: `n_items` items, each emitting any number of `(key, value)` pairs with
//! `key < num_keys` — a slice of pairs (one pair per item) or a producer closure
//! that is called twice per item (count, then scatter), so pairs never need to be
//! materialized. Output: the CSR with one row per key, values in input order.
//!
//! ```text
//! items:  [ chunk 0 | chunk 1 | … ]        one chunk per pool worker
//! pass 1: hist[c][key] += 1                per-chunk histograms, no sharing
//! pass 2: offsets[key] = Σ totals < key;   per key blocks, in parallel:
//!         start[c][key] = offsets[key] + Σ_{c' < c} hist[c'][key]
//! pass 3: values[start[c][key]++] = v      each (chunk, key) owns its slot
//! ```
//!
//! Within a key, chunk 0's values precede chunk 1's and each chunk keeps input
//! order, so the output is the stable order whatever the number of threads.

use crate::csr::{Csr, CsrError};
use crate::shared::SharedSlice;
use allocator_api2::alloc::Allocator;
use allocator_api2::vec::Vec as AVec;
use rayon::prelude::*;
use rayon::ThreadPool;
use std::mem::MaybeUninit;
use std::ops::Range;

/// Builds CSRs by counting sort. Configure once, build many times.
///
/// ```
/// use pcct_arenas::CsrBuilder;
/// let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
/// let pairs = [(2u32, 10u32), (0, 11), (2, 12), (0, 11)];
/// let csr = CsrBuilder::new(3).dedupe(true).from_pairs(&pool, &pairs).unwrap();
/// assert_eq!(csr.offsets(), &[0, 1, 1, 3]);
/// assert_eq!(csr.values(), &[11, 10, 12]);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct CsrBuilder {
    num_keys: usize,
    dedupe: bool,
}

/// The sink a producer emits its pairs into (see [`CsrBuilder::build_in`]).
pub struct Emit<'a, V> {
    mode: Mode<'a, V>,
    num_keys: usize,
    emitted: u64,
    bad_key: Option<u32>,
    overrun: bool,
}

enum Mode<'a, V> {
    Count(&'a mut [u32]),
    Scatter {
        cursor: &'a mut [u32],
        end: &'a [u32],
        out: &'a SharedSlice<'a, MaybeUninit<V>>,
    },
}

impl<'a, V> Emit<'a, V> {
    fn new(mode: Mode<'a, V>, num_keys: usize) -> Self {
        Emit {
            mode,
            num_keys,
            emitted: 0,
            bad_key: None,
            overrun: false,
        }
    }

    /// Emits one pair. A key outside `0..num_keys` makes the build fail with
    /// [`CsrError::KeyOutOfRange`].
    #[inline]
    pub fn emit(&mut self, key: u32, value: V) {
        let k = key as usize;
        if k >= self.num_keys {
            self.bad_key.get_or_insert(key);
            return;
        }
        self.emitted += 1;
        match &mut self.mode {
            Mode::Count(hist) => hist[k] = hist[k].wrapping_add(1),
            Mode::Scatter { cursor, end, out } => {
                let p = cursor[k];
                if p >= end[k] {
                    self.overrun = true;
                    return;
                }
                // SAFETY: p lies in [start[c][k], end[c][k]), the slot of this chunk
                // and key, which no other worker writes in this pass.
                unsafe { out.write(p as usize, MaybeUninit::new(value)) };
                cursor[k] = p + 1;
            }
        }
    }
}

/// Where the pairs of a per-thread build come from: two passes over the same items.
trait Source<V>: Sync {
    /// Whether pass 3 may see other pairs than pass 1 (then every write is held to its
    /// slot and the slots are checked to be exactly full).
    const MAY_DIFFER: bool;
    fn n_items(&self) -> usize;
    /// Pass 1: histogram `items` into `hist`; returns (pairs, first bad key).
    fn count(&self, items: Range<usize>, hist: &mut [u32], num_keys: usize) -> (u64, Option<u32>);
    /// Pass 3: write each value at its key's cursor; false if the pairs differ from pass 1.
    fn scatter(
        &self,
        items: Range<usize>,
        cursor: &mut [u32],
        ends: &[u32],
        out: &SharedSlice<'_, MaybeUninit<V>>,
        expected: u64,
        num_keys: usize,
    ) -> bool;
}

/// An immutable slice of pairs: both passes see the same pairs by construction.
struct Pairs<'a, V>(&'a [(u32, V)]);

impl<V: Copy + Sync + Send> Source<V> for Pairs<'_, V> {
    const MAY_DIFFER: bool = false;
    fn n_items(&self) -> usize {
        self.0.len()
    }
    fn count(&self, items: Range<usize>, hist: &mut [u32], num_keys: usize) -> (u64, Option<u32>) {
        let mut bad = None;
        for &(key, _) in &self.0[items.clone()] {
            match hist.get_mut(key as usize) {
                Some(h) if (key as usize) < num_keys => *h += 1,
                _ => {
                    bad.get_or_insert(key);
                }
            }
        }
        (items.len() as u64, bad)
    }
    #[inline]
    fn scatter(
        &self,
        items: Range<usize>,
        cursor: &mut [u32],
        _ends: &[u32],
        out: &SharedSlice<'_, MaybeUninit<V>>,
        _expected: u64,
        _num_keys: usize,
    ) -> bool {
        for &(key, v) in &self.0[items] {
            let p = &mut cursor[key as usize];
            // SAFETY: pass 1 counted exactly these pairs (the slice is immutable), so
            // this chunk writes count[c][key] values from start[c][key]: its own slot,
            // which no other worker writes.
            unsafe { out.write(*p as usize, MaybeUninit::new(v)) };
            *p += 1;
        }
        true
    }
}

/// A producer closure, called once per item and pass.
struct Producer<F> {
    n_items: usize,
    produce: F,
}

impl<V, F> Source<V> for Producer<F>
where
    V: Copy + Send + Sync,
    F: Fn(usize, &mut Emit<'_, V>) + Sync,
{
    const MAY_DIFFER: bool = true;
    fn n_items(&self) -> usize {
        self.n_items
    }
    fn count(&self, items: Range<usize>, hist: &mut [u32], num_keys: usize) -> (u64, Option<u32>) {
        let mut e = Emit::new(Mode::Count(hist), num_keys);
        for i in items {
            (self.produce)(i, &mut e);
        }
        (e.emitted, e.bad_key)
    }
    fn scatter(
        &self,
        items: Range<usize>,
        cursor: &mut [u32],
        ends: &[u32],
        out: &SharedSlice<'_, MaybeUninit<V>>,
        expected: u64,
        num_keys: usize,
    ) -> bool {
        let mut e = Emit::new(
            Mode::Scatter {
                cursor,
                end: ends,
                out,
            },
            num_keys,
        );
        for i in items {
            (self.produce)(i, &mut e);
        }
        e.bad_key.is_none() && !e.overrun && e.emitted == expected
    }
}

/// A CSR's offsets and values before the final check.
type Parts<V, A> = (AVec<u32, A>, AVec<V, A>);

/// Up to this many keys a pair slice is scattered directly (a chunk's cursors, 512 KiB,
/// stay in L2); beyond, it is first partitioned by the high bits of the key into at
/// most [`MAX_BUCKETS`] buckets. Chosen by measurement; see pcct's BENCHMARKS.md, section
/// CSR builder.
const DIRECT_KEYS: usize = 1 << 17;

/// Buckets of the two-level sort's partition pass (cursors in L1).
const MAX_BUCKETS: usize = 1 << 12;

/// Splits `n` items into one contiguous chunk per thread (at least one chunk):
/// the chunk count and chunk `c`'s item range. Chunk order is input order, which is
/// what keeps every pass stable.
fn chunks(n: usize, threads: usize) -> (usize, impl Fn(usize) -> Range<usize> + Copy + Sync) {
    let count = threads.min(n).max(1);
    (count, move |c: usize| (c * n / count)..((c + 1) * n / count))
}

/// `n` zeroed `u32` in `alloc`.
fn zeroed_in<A: Allocator>(n: usize, alloc: A) -> AVec<u32, A> {
    let mut v = AVec::with_capacity_in(n, alloc);
    v.resize(n, 0);
    v
}

/// Key-block size for the per-key passes.
fn key_block(num_keys: usize, threads: usize) -> usize {
    num_keys.div_ceil(threads * 4).max(1 << 14)
}

impl CsrBuilder {
    /// A builder for keys in `0..num_keys` (the CSR gets `num_keys` rows).
    pub fn new(num_keys: usize) -> Self {
        CsrBuilder {
            num_keys,
            dedupe: false,
        }
    }

    /// Drop repeated values within a key, keeping the first occurrence (default off).
    pub fn dedupe(mut self, on: bool) -> Self {
        self.dedupe = on;
        self
    }

    /// The CSR of a slice of `(key, value)` pairs, on the global heap.
    pub fn from_pairs<V>(&self, pool: &ThreadPool, pairs: &[(u32, V)]) -> Result<Csr<V>, CsrError>
    where
        V: Copy + Ord + Send + Sync,
    {
        self.from_pairs_in(pool, pairs, allocator_api2::alloc::Global)
    }

    /// The CSR of a slice of `(key, value)` pairs, its buffers (and temporaries) in `alloc`.
    pub fn from_pairs_in<V, A>(
        &self,
        pool: &ThreadPool,
        pairs: &[(u32, V)],
        alloc: A,
    ) -> Result<Csr<V, A>, CsrError>
    where
        V: Copy + Ord + Send + Sync,
        A: Allocator + Clone,
    {
        let (offsets, values) = if self.num_keys > DIRECT_KEYS {
            self.two_level(pool, pairs, alloc.clone())?
        } else {
            self.per_thread(pool, &Pairs(pairs), alloc.clone())?
        };
        self.finish(pool, offsets, values, alloc)
    }

    /// The CSR of the pairs that `produce(i, emit)` emits for items `i` in `0..n_items`.
    ///
    /// `produce` is called twice per item (count pass, scatter pass) and must emit the
    /// same pairs both times; if it does not, the build fails with
    /// [`CsrError::ProducerNotDeterministic`] (never a wrong or partly written CSR).
    /// Buffers and temporaries are allocated in `alloc` on the calling thread.
    pub fn build_in<V, A, F>(
        &self,
        pool: &ThreadPool,
        n_items: usize,
        produce: F,
        alloc: A,
    ) -> Result<Csr<V, A>, CsrError>
    where
        V: Copy + Ord + Send + Sync,
        A: Allocator + Clone,
        F: Fn(usize, &mut Emit<'_, V>) + Sync,
    {
        let (offsets, values) = self.per_thread(pool, &Producer { n_items, produce }, alloc.clone())?;
        self.finish(pool, offsets, values, alloc)
    }

    fn finish<V, A>(
        &self,
        pool: &ThreadPool,
        offsets: AVec<u32, A>,
        values: AVec<V, A>,
        alloc: A,
    ) -> Result<Csr<V, A>, CsrError>
    where
        V: Copy + Ord + Send + Sync,
        A: Allocator + Clone,
    {
        let (offsets, values) = if self.dedupe {
            dedupe_rows(pool, offsets, values, alloc)
        } else {
            (offsets, values)
        };
        Csr::new_in(offsets, values)
    }

    fn per_thread<V, A, S>(&self, pool: &ThreadPool, source: &S, alloc: A) -> Result<Parts<V, A>, CsrError>
    where
        V: Copy + Send + Sync,
        A: Allocator + Clone,
        S: Source<V>,
    {
        let n_items = source.n_items();
        let k = self.num_keys;
        let kw = k.max(1);
        let threads = pool.current_num_threads().max(1);
        let (nchunks, items) = chunks(n_items, threads);

        // Pass 1: per-chunk histograms.
        let mut hist_buf = zeroed_in(nchunks * kw, alloc.clone());
        let hist: &mut [u32] = &mut hist_buf;
        let counted: Vec<(u64, Option<u32>)> = pool.install(|| {
            hist.par_chunks_mut(kw)
                .enumerate()
                .map(|(c, h)| source.count(items(c), h, k))
                .collect()
        });
        if let Some(key) = counted.iter().find_map(|c| c.1) {
            return Err(CsrError::KeyOutOfRange { key, num_keys: k });
        }
        let total: u64 = counted.iter().map(|c| c.0).sum();
        let total = u32::try_from(total).map_err(|_| CsrError::TooManyValues(total))?;

        // Pass 2: offsets, and per (chunk, key) slot starts (cursor) and ends (hist).
        let mut offsets_buf = zeroed_in(k + 1, alloc.clone());
        let mut cursor_buf = zeroed_in(nchunks * kw, alloc.clone());
        let (offsets, cursor): (&mut [u32], &mut [u32]) = (&mut offsets_buf, &mut cursor_buf);
        let bs = key_block(k, threads);
        pool.install(|| {
            let block_totals: Vec<u64> = (0..k.div_ceil(bs))
                .into_par_iter()
                .map(|b| {
                    let keys = b * bs..((b + 1) * bs).min(k);
                    (0..nchunks)
                        .map(|c| {
                            hist[c * kw + keys.start..c * kw + keys.end]
                                .iter()
                                .map(|&x| x as u64)
                                .sum::<u64>()
                        })
                        .sum()
                })
                .collect();
            let mut base = 0u64;
            let bases: Vec<u32> = block_totals
                .iter()
                .map(|t| {
                    let b = base as u32;
                    base += t;
                    b
                })
                .collect();
            let hist_w = SharedSlice::new(hist);
            let cursor_w = SharedSlice::new(cursor);
            offsets[..k].par_chunks_mut(bs).enumerate().for_each(|(b, offs)| {
                let mut run = bases[b];
                for (j, o) in offs.iter_mut().enumerate() {
                    let key = b * bs + j;
                    *o = run;
                    for c in 0..nchunks {
                        let at = c * kw + key;
                        // SAFETY: position (c, key) belongs to key block b, which only
                        // this worker touches in this pass; hist[at] was written by pass 1.
                        unsafe {
                            let n = hist_w.read(at);
                            cursor_w.write(at, run);
                            hist_w.write(at, run + n);
                            run += n;
                        }
                    }
                }
            });
        });
        offsets[k] = total;

        // Pass 3: scatter; each (chunk, key) writes only its own slot.
        let mut values: AVec<V, A> = AVec::with_capacity_in(total as usize, alloc);
        let out = SharedSlice::uninit(&mut values.spare_capacity_mut()[..total as usize]);
        let ends: &[u32] = hist;
        let ok = pool.install(|| {
            cursor.par_chunks_mut(kw).enumerate().all(|(c, cur)| {
                source.scatter(items(c), cur, &ends[c * kw..(c + 1) * kw], &out, counted[c].0, k)
            }) && (!S::MAY_DIFFER
                || cursor
                    .par_chunks(kw)
                    .zip(ends.par_chunks(kw))
                    .all(|(a, b)| a == b))
        });
        if !ok {
            return Err(CsrError::ProducerNotDeterministic);
        }
        // SAFETY: the slots [start, end) of all (chunk, key) partition 0..total (pass 2
        // built them by a running sum); every cursor started at its slot's start and
        // moved one past each write. A source that may differ between passes was held
        // to its slot on every write and checked to end exactly at each slot's end; an
        // immutable pair slice writes exactly what pass 1 counted. Either way every
        // position in 0..total was written exactly once.
        unsafe { values.set_len(total as usize) };
        Ok((offsets_buf, values))
    }

    /// The counting sort in two levels, for pair slices with many keys: a stable
    /// partition into at most [`MAX_BUCKETS`] buckets of consecutive keys (cursors in
    /// L1, few write streams), then per bucket a local counting sort whose counters
    /// and output stay in cache. Same output as the direct sort.
    fn two_level<V, A>(
        &self,
        pool: &ThreadPool,
        pairs: &[(u32, V)],
        alloc: A,
    ) -> Result<Parts<V, A>, CsrError>
    where
        V: Copy + Send + Sync,
        A: Allocator + Clone,
    {
        let k = self.num_keys;
        let n = pairs.len();
        let threads = pool.current_num_threads().max(1);
        let (nchunks, items) = chunks(n, threads);
        let mut shift = 0;
        while (k - 1) >> shift >= MAX_BUCKETS {
            shift += 1;
        }
        let nb = ((k - 1) >> shift) + 1;
        if n > u32::MAX as usize {
            return Err(CsrError::TooManyValues(n as u64));
        }

        // Pass 1: per-chunk bucket histograms; keys validated.
        let mut hist_buf = zeroed_in(nchunks * nb, alloc.clone());
        let hist: &mut [u32] = &mut hist_buf;
        let bad: Option<u32> = pool.install(|| {
            hist.par_chunks_mut(nb)
                .enumerate()
                .map(|(c, h)| {
                    let mut bad = None;
                    for &(key, _) in &pairs[items(c)] {
                        if (key as usize) < k {
                            h[(key >> shift) as usize] += 1;
                        } else {
                            bad.get_or_insert(key);
                        }
                    }
                    bad
                })
                .reduce(|| None, |a, b| a.or(b))
        });
        if let Some(key) = bad {
            return Err(CsrError::KeyOutOfRange { key, num_keys: k });
        }

        // Pass 2: bucket starts, and per (chunk, bucket) cursors, bucket-major.
        let mut bucket_start = zeroed_in(nb + 1, alloc.clone());
        let mut run = 0u32;
        for b in 0..nb {
            bucket_start[b] = run;
            for c in 0..nchunks {
                let h = &mut hist[c * nb + b];
                let cnt = *h;
                *h = run;
                run += cnt;
            }
        }
        bucket_start[nb] = run;
        let cursor: &mut [u32] = hist;

        // Pass 3: stable partition into `tmp`; each (chunk, bucket) fills its own slot.
        let mut tmp: AVec<(u32, V), A> = AVec::with_capacity_in(n, alloc.clone());
        {
            let out = SharedSlice::uninit(&mut tmp.spare_capacity_mut()[..n]);
            pool.install(|| {
                cursor.par_chunks_mut(nb).enumerate().for_each(|(c, cur)| {
                    for &(key, v) in &pairs[items(c)] {
                        let p = &mut cur[(key >> shift) as usize];
                        // SAFETY: pass 1 counted exactly these pairs (an immutable slice),
                        // so chunk c writes count[c][b] pairs from its slot start: its own
                        // slot, which no other worker writes.
                        unsafe { out.write(*p as usize, MaybeUninit::new((key, v))) };
                        *p += 1;
                    }
                })
            });
        }
        // SAFETY: the (chunk, bucket) slots partition 0..n and each was filled exactly
        // (the pairs written are the pairs counted).
        unsafe { tmp.set_len(n) };

        // Pass 4: per bucket, a local counting sort of its keys into the output.
        let mut offsets_buf = zeroed_in(k + 1, alloc.clone());
        let mut values: AVec<V, A> = AVec::with_capacity_in(n, alloc);
        {
            let out = SharedSlice::uninit(&mut values.spare_capacity_mut()[..n]);
            let (tmp, starts): (&[(u32, V)], &[u32]) = (&tmp, &bucket_start);
            let width = 1usize << shift;
            let offs_all: &mut [u32] = &mut offsets_buf[..k];
            pool.install(|| {
                offs_all
                    .par_chunks_mut(width)
                    .enumerate()
                    .for_each_init(Vec::new, |local, (b, offs)| {
                        let base_key = (b << shift) as u32;
                        let (lo, hi) = (starts[b] as usize, starts[b + 1] as usize);
                        local.clear();
                        local.resize(offs.len(), 0u32);
                        for &(key, _) in &tmp[lo..hi] {
                            local[(key - base_key) as usize] += 1;
                        }
                        let mut run = starts[b];
                        for (o, l) in offs.iter_mut().zip(local.iter_mut()) {
                            *o = run;
                            let cnt = *l;
                            *l = run;
                            run += cnt;
                        }
                        for &(key, v) in &tmp[lo..hi] {
                            let p = &mut local[(key - base_key) as usize];
                            // SAFETY: positions of bucket b lie in [starts[b], starts[b+1]),
                            // which only this worker writes; each key's cursor stays in its
                            // own counted range.
                            unsafe { out.write(*p as usize, MaybeUninit::new(v)) };
                            *p += 1;
                        }
                    })
            });
        }
        offsets_buf[k] = n as u32;
        // SAFETY: every bucket's range was filled exactly by its local sort, and the
        // ranges partition 0..n.
        unsafe { values.set_len(n) };
        Ok((offsets_buf, values))
    }
}

/// Splits `values` into the slices of consecutive key blocks of `bs` keys:
/// `(first key, values of keys first..first+bs)`.
fn split_blocks<'v, T>(values: &'v mut [T], offsets: &[u32], bs: usize) -> Vec<(usize, &'v mut [T])> {
    let k = offsets.len() - 1;
    let mut rest = values;
    let mut out = Vec::with_capacity(k.div_ceil(bs));
    let mut first = 0;
    while first < k {
        let last = (first + bs).min(k);
        let len = (offsets[last] - offsets[first]) as usize;
        let (head, tail) = std::mem::take(&mut rest).split_at_mut(len);
        out.push((first, head));
        rest = tail;
        first = last;
    }
    out
}

/// Removes repeated values within each row, keeping first occurrences in order.
/// Returns the row's new length.
fn dedupe_row<V: Copy + Ord>(row: &mut [V], scratch: &mut Vec<(V, u32)>) -> usize {
    if row.len() <= 32 {
        let mut w = 0;
        for i in 0..row.len() {
            if !row[..w].contains(&row[i]) {
                row[w] = row[i];
                w += 1;
            }
        }
        return w;
    }
    scratch.clear();
    scratch.extend(row.iter().enumerate().map(|(i, &v)| (v, i as u32)));
    scratch.sort_unstable();
    // keep[i]: position i holds the first occurrence of its value.
    let mut keep = vec![false; row.len()];
    for (j, &(v, i)) in scratch.iter().enumerate() {
        if j == 0 || scratch[j - 1].0 != v {
            keep[i as usize] = true;
        }
    }
    let mut w = 0;
    for i in 0..row.len() {
        if keep[i] {
            row[w] = row[i];
            w += 1;
        }
    }
    w
}

fn dedupe_rows<V, A>(
    pool: &ThreadPool,
    mut offsets: AVec<u32, A>,
    mut values: AVec<V, A>,
    alloc: A,
) -> Parts<V, A>
where
    V: Copy + Ord + Send + Sync,
    A: Allocator + Clone,
{
    let k = offsets.len() - 1;
    let bs = key_block(k, pool.current_num_threads().max(1));
    let mut lens = zeroed_in(k, alloc);
    {
        let blocks = split_blocks(&mut values, &offsets, bs);
        let offs: &[u32] = &offsets;
        let lens: &mut [u32] = &mut lens;
        pool.install(|| {
            blocks
                .into_par_iter()
                .zip(lens.par_chunks_mut(bs))
                .for_each(|((first, slice), lens)| {
                    let base = offs[first] as usize;
                    let mut scratch = Vec::new();
                    for (j, len) in lens.iter_mut().enumerate() {
                        let key = first + j;
                        let r = offs[key] as usize - base..offs[key + 1] as usize - base;
                        *len = dedupe_row(&mut slice[r], &mut scratch) as u32;
                    }
                })
        });
    }
    // Compact rows to the front, in order (each row moves left or stays).
    let mut w = 0u32;
    for key in 0..k {
        let start = offsets[key] as usize;
        values.copy_within(start..start + lens[key] as usize, w as usize);
        offsets[key] = w;
        w += lens[key];
    }
    offsets[k] = w;
    values.truncate(w as usize);
    (offsets, values)
}
