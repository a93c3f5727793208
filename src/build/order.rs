//! The insertion order of a build: which points go into which batch.
//!
//! ```text
//! Hilbert:  sort by Hilbert index ──► h[0] h[1] … h[n−1]   (neighbours on the curve are near)
//!           take positions in bit-reversed order: 0, n/2, n/4, 3n/4, …
//!           ──► every prefix is spread evenly along the curve, so a batch
//!               samples the whole data set (few conflicts), and inside a batch
//!               points are processed in curve order (cache locality)
//! Natural:  ids 0, 1, 2, …          Random: a seeded shuffle
//! ```
//!
//! Batches are prefixes of this sequence that roughly double (1, 1, 2, 4, …), so
//! each batch is about the size of the tree it enters (DESIGN.md §3).

use super::Order;
use crate::datagen::Rng;
use crate::metric::Metric;
use rayon::prelude::*;

/// The insertion sequence and, for every point id, its rank in processing order
/// (inside a batch, points are traversed by ascending rank).
pub(crate) struct Sequence {
    pub(crate) ids: Vec<u32>,
    pub(crate) rank: Vec<u32>,
}

/// The sequence of the points `ids` (the whole data set for a build, the new points of
/// an insert) for `order`; Hilbert falls back to natural order for a metric without
/// coordinates. `rank` is indexed by point id (0 for ids not in `ids`).
pub(crate) fn sequence<M: Metric>(metric: &M, ids: &[u32], order: Order, seed: u64) -> Sequence {
    let n = ids.len();
    let ranked = |ids: Vec<u32>| {
        let mut rank = vec![0u32; metric.len()];
        for (r, &id) in ids.iter().enumerate() {
            rank[id as usize] = r as u32;
        }
        (ids, rank)
    };
    match order {
        Order::Hilbert if metric.capabilities().coordinate_dim > 0 => {
            let (sorted, rank) = ranked(hilbert_sorted(metric, ids, 128));
            Sequence {
                ids: bit_reversed(n).map(|p| sorted[p]).collect(),
                rank,
            }
        }
        Order::Hilbert | Order::Natural => {
            let mut sorted = ids.to_vec();
            sorted.sort_unstable();
            let (ids, rank) = ranked(sorted);
            Sequence { ids, rank }
        }
        Order::Random => {
            let mut shuffled = ids.to_vec();
            shuffled.sort_unstable();
            let mut rng = Rng::new(seed);
            for i in (1..n).rev() {
                shuffled.swap(i, rng.below(i as u64 + 1) as usize);
            }
            let (ids, rank) = ranked(shuffled);
            Sequence { ids, rank }
        }
    }
}

/// Positions `0..n` in bit-reversed order of `⌈log2 n⌉`-bit integers (those `< n`).
fn bit_reversed(n: usize) -> impl Iterator<Item = usize> {
    let bits = n.next_power_of_two().trailing_zeros();
    (0..n.next_power_of_two()).filter_map(move |i| {
        let j = if bits == 0 {
            0
        } else {
            i.reverse_bits() >> (usize::BITS - bits)
        };
        (j < n).then_some(j)
    })
}

/// Point ids sorted by Hilbert index (ties by id), coordinates quantized per
/// dimension to `bits` bits with `dim · bits ≤ key_bits` where possible (at least one
/// bit, at most 16, per dimension; a key costs about `dim · bits` steps).
pub(crate) fn hilbert_sorted<M: Metric>(metric: &M, ids: &[u32], key_bits: usize) -> Vec<u32> {
    let n = ids.len();
    let dim = metric.capabilities().coordinate_dim;
    let bits = (key_bits / dim).clamp(1, 16) as u32;
    let words = (dim * bits as usize).div_ceil(64);

    let mut coords = vec![0.0; n * dim];
    for (&id, row) in ids.iter().zip(coords.chunks_exact_mut(dim)) {
        metric.coordinates(id, row);
    }
    let mut lo = vec![f64::INFINITY; dim];
    let mut hi = vec![f64::NEG_INFINITY; dim];
    for row in coords.chunks_exact(dim) {
        for j in 0..dim {
            lo[j] = lo[j].min(row[j]);
            hi[j] = hi[j].max(row[j]);
        }
    }
    let top = ((1u64 << bits) - 1) as f64;
    // Keys in parallel (the build runs inside its pool), a chunk of rows at a time:
    // at most 1,024 rows, and 16 chunks or more where there are 1,024 rows or more, so
    // that a query batch of 1,024 points is shared among the threads instead of being
    // one serial chunk.
    let mut keys = vec![0u64; n * words];
    let rows_per = n.div_ceil(16).clamp(64, 1024);
    coords
        .par_chunks(rows_per * dim)
        .zip(keys.par_chunks_mut(rows_per * words))
        .for_each(|(rows, ks)| {
            let mut axes = vec![0u32; dim];
            for (row, key) in rows.chunks_exact(dim).zip(ks.chunks_exact_mut(words)) {
                for j in 0..dim {
                    let w = hi[j] - lo[j];
                    let t = if w > 0.0 { (row[j] - lo[j]) / w } else { 0.0 };
                    axes[j] = round_cell(t * top, top);
                }
                hilbert_key(&mut axes, bits, key);
            }
        });
    if words <= 2 {
        // One u128 per key (most significant word first), then the id: the pairs
        // themselves are sorted (contiguous), not indexes into them.
        let mut wide: Vec<(u128, u32)> = keys
            .par_chunks(words)
            .zip(ids.par_iter())
            .map(|(k, &id)| {
                let hi = k[0] as u128;
                let lo = k.get(1).copied().unwrap_or(0) as u128;
                ((hi << 64) | lo, id)
            })
            .collect();
        wide.par_sort_unstable();
        return wide.into_iter().map(|(_, id)| id).collect();
    }
    let mut order: Vec<u32> = (0..n as u32).collect();
    order.par_sort_unstable_by(|&a, &b| {
        let (a, b) = (a as usize, b as usize);
        keys[a * words..(a + 1) * words]
            .cmp(&keys[b * words..(b + 1) * words])
            .then(ids[a].cmp(&ids[b]))
    });
    order.into_iter().map(|i| ids[i as usize]).collect()
}

/// `x.round().clamp(0.0, top) as u32` for `x ≤ top < 2^32` (NaN gives 0), without the
/// libm call that `round` is on baseline x86-64: truncation, then up where the exact
/// remainder is at least one half.
#[inline]
fn round_cell(x: f64, top: f64) -> u32 {
    // Saturating: negative and NaN give 0. Then x − f is exact (f = ⌊x⌋ ≤ x < 2^52, or 0).
    let f = x as u64;
    let r = f + u64::from(x - f as f64 >= 0.5);
    r.min(top as u64) as u32
}

/// The Hilbert index of `axes` (each `< 2^bits`), most significant bit first in
/// `key` (Skilling, "Programming the Hilbert curve", AIP Conf. Proc. 707, 2004:
/// axes to transposed index, then bit interleaving). `axes` is overwritten.
fn hilbert_key(axes: &mut [u32], bits: u32, key: &mut [u64]) {
    inverse_undo(axes, bits);
    gray_encode(axes, bits);
    interleave(axes, bits, key);
}

/// Skilling's inverse undo, without branches (the bits tested are as good as random,
/// so a branch here would be mispredicted about half the time): where bit q of axis i
/// is set, invert the low bits of axis 0; else exchange them between axes 0 and i.
/// Axis 0 stays in a register: written through the slice, every step would reload it
/// (a possible alias of axis i), a dependency chain that would dominate a key's cost.
fn inverse_undo(axes: &mut [u32], bits: u32) {
    let Some((first, rest)) = axes.split_first_mut() else {
        return;
    };
    let mut a0 = *first;
    let mut q = 1u32 << (bits - 1);
    while q > 1 {
        let p = q - 1;
        // Axis 0 itself: invert its low bits where bit q is set (an exchange with
        // itself changes nothing).
        a0 ^= p & 0u32.wrapping_sub(u32::from(a0 & q != 0));
        for ai in rest.iter_mut() {
            let set = 0u32.wrapping_sub(u32::from(*ai & q != 0));
            let t = (a0 ^ *ai) & p & !set;
            a0 ^= (p & set) | t;
            *ai ^= t;
        }
        q >>= 1;
    }
    *first = a0;
}

/// Gray encoding of the transposed index.
fn gray_encode(axes: &mut [u32], bits: u32) {
    let n = axes.len();
    for i in 1..n {
        axes[i] ^= axes[i - 1];
    }
    let mut t = 0;
    let mut q = 1u32 << (bits - 1);
    while q > 1 {
        if axes[n - 1] & q != 0 {
            t ^= q - 1;
        }
        q >>= 1;
    }
    for a in axes.iter_mut() {
        *a ^= t;
    }
}

/// Bit b of axis i lands at position (bits−1−b)·n + i from the top of `key`: in one
/// u128 a level's n bits at a time where the key fits, else bit by bit.
fn interleave(axes: &[u32], bits: u32, key: &mut [u64]) {
    let n = axes.len();
    let total = n * bits as usize;
    if total > 128 {
        interleave_bits(axes, bits, key);
        return;
    }
    let mut acc = 0u128;
    for b in (0..bits).rev() {
        // A level's n bits: in a u64 where they fit (one register per step).
        let w = if n <= 64 {
            u128::from(axes.iter().fold(0u64, |w, a| (w << 1) | u64::from((a >> b) & 1)))
        } else {
            axes.iter()
                .fold(0u128, |w, a| (w << 1) | u128::from((a >> b) & 1))
        };
        acc = if n >= 128 { w } else { (acc << n) | w };
    }
    acc <<= 128 - total;
    key[0] = (acc >> 64) as u64;
    if let Some(k1) = key.get_mut(1) {
        *k1 = acc as u64;
    }
}

/// [`interleave`] one bit at a time, for keys of any length.
fn interleave_bits(axes: &[u32], bits: u32, key: &mut [u64]) {
    key.fill(0);
    let mut pos = 0usize;
    for b in (0..bits).rev() {
        for a in axes {
            key[pos / 64] |= (((a >> b) & 1) as u64) << (63 - pos % 64);
            pos += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key as first written — the inverse undo with branches, the bit-at-a-time
    /// interleave — that the faster [`hilbert_key`] must equal.
    fn reference_key(axes: &mut [u32], bits: u32, key: &mut [u64]) {
        let mut q = 1u32 << (bits - 1);
        while q > 1 {
            let p = q - 1;
            for i in 0..axes.len() {
                if axes[i] & q != 0 {
                    axes[0] ^= p;
                } else {
                    let t = (axes[0] ^ axes[i]) & p;
                    axes[0] ^= t;
                    axes[i] ^= t;
                }
            }
            q >>= 1;
        }
        gray_encode(axes, bits);
        interleave_bits(axes, bits, key);
    }

    /// `round_cell` is `round().clamp(0.0, top) as u32` on halves, their neighbours,
    /// negatives, values past `top`, random values and NaN.
    #[test]
    fn round_cell_equals_round_and_clamp() {
        let mut rng = Rng::new(11);
        for top in [1.0f64, 15.0, 255.0, 65535.0] {
            let mut xs = vec![
                -1.5,
                -0.5,
                -0.0,
                0.0,
                top,
                top + 0.4,
                top + 0.6,
                2.0 * top,
                f64::NAN,
            ];
            for i in 0..=(top as u64).min(300) {
                let h = i as f64 + 0.5;
                xs.extend([h, h.next_down(), h.next_up(), i as f64, (i as f64).next_down()]);
            }
            xs.extend((0..2000).map(|_| rng.below(1 << 40) as f64 / (1u64 << 40) as f64 * top));
            for x in xs {
                let want = if x.is_nan() {
                    0
                } else {
                    x.round().clamp(0.0, top) as u32
                };
                assert_eq!(round_cell(x, top), want, "x = {x:e}, top = {top}");
            }
        }
    }

    /// The branch-free key equals the reference on random axes for every dimension
    /// and bit count the builds and queries use (one word, two words, many words).
    #[test]
    fn hilbert_key_equals_the_reference() {
        let mut rng = Rng::new(7);
        for dim in [1usize, 2, 3, 5, 8, 16, 17, 32, 100, 128, 129, 300] {
            for bits in [1u32, 2, 3, 8, 16] {
                let words = (dim * bits as usize).div_ceil(64);
                for _ in 0..50 {
                    let axes: Vec<u32> = (0..dim).map(|_| rng.below(1u64 << bits) as u32).collect();
                    let (mut a, mut b) = (axes.clone(), axes.clone());
                    let (mut ka, mut kb) = (vec![u64::MAX; words], vec![0u64; words]);
                    hilbert_key(&mut a, bits, &mut ka);
                    reference_key(&mut b, bits, &mut kb);
                    assert_eq!(ka, kb, "dim {dim}, bits {bits}, axes {axes:?}");
                }
            }
        }
    }

    #[test]
    fn bit_reversal_is_a_permutation_spreading_prefixes() {
        for n in [1usize, 2, 3, 5, 8, 13, 100] {
            let v: Vec<usize> = bit_reversed(n).collect();
            let mut s = v.clone();
            s.sort_unstable();
            assert_eq!(s, (0..n).collect::<Vec<_>>(), "n = {n}");
        }
        assert_eq!(bit_reversed(8).collect::<Vec<_>>(), [0, 4, 2, 6, 1, 5, 3, 7]);
    }

    /// In 2-D with 2 bits the Hilbert curve visits the 16 cells as a path of
    /// unit steps: consecutive indices are adjacent cells, and every index occurs once.
    #[test]
    fn hilbert_2d_is_a_unit_step_path() {
        let bits = 3;
        let side = 1u32 << bits;
        let mut cells: Vec<(u64, u32, u32)> = Vec::new();
        for x in 0..side {
            for y in 0..side {
                let mut key = [0u64];
                hilbert_key(&mut [x, y], bits, &mut key);
                cells.push((key[0] >> (64 - 2 * bits), x, y));
            }
        }
        cells.sort_unstable();
        for (i, c) in cells.iter().enumerate() {
            assert_eq!(c.0, i as u64);
        }
        for w in cells.windows(2) {
            let step = w[0].1.abs_diff(w[1].1) + w[0].2.abs_diff(w[1].2);
            assert_eq!(step, 1, "{:?} -> {:?}", w[0], w[1]);
        }
    }

    /// Same property in 3-D.
    #[test]
    fn hilbert_3d_is_a_unit_step_path() {
        let bits = 2;
        let side = 1u32 << bits;
        let mut cells = Vec::new();
        for x in 0..side {
            for y in 0..side {
                for z in 0..side {
                    let mut key = [0u64];
                    hilbert_key(&mut [x, y, z], bits, &mut key);
                    cells.push((key[0] >> (64 - 3 * bits), [x, y, z]));
                }
            }
        }
        cells.sort_unstable();
        for w in cells.windows(2) {
            let step: u32 = (0..3).map(|j| w[0].1[j].abs_diff(w[1].1[j])).sum();
            assert_eq!(step, 1, "{:?} -> {:?}", w[0], w[1]);
        }
    }
}
