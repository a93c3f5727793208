//! Shared, seeded setup for the kernel benches (criterion and gungraun twins).

#![allow(dead_code)] // each bench uses part of this module

use pcct::kernels::{Element, Isa, Kernels};

/// Dimensions every kernel bench covers.
pub const DIMS: [usize; 5] = [3, 8, 32, 128, 512];

/// One query against a block of rows, with the kernel set to run it.
pub struct BlockInput<T: Element> {
    /// The kernel set under test.
    pub kernels: Kernels<T>,
    /// The query row.
    pub query: Vec<T>,
    /// The block, row-major, rows `stride` apart.
    pub rows: Vec<T>,
    /// Elements between row starts (`dim` padded to 32 bytes).
    pub stride: usize,
    /// One result per row.
    pub out: Vec<T>,
}

/// Rows in a block: 1024, fewer at high `d` so the block stays in L2 (≤ 256 KiB).
pub fn rows_for(dim: usize, bytes: usize) -> usize {
    (256 * 1024 / (dim.next_multiple_of(32 / bytes) * bytes)).min(1024)
}

/// Seeded uniform [0, 1) rows padded to 32 bytes, and a query.
pub fn block_input<T: Element>(isa: Isa, dim: usize) -> BlockInput<T> {
    let stride = dim.next_multiple_of(32 / T::BYTES);
    let n = rows_for(dim, T::BYTES);
    let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ dim as u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        T::from_f64((state >> 11) as f64 / (1u64 << 53) as f64)
    };
    let mut rows = vec![T::from_f64(0.0); n * stride];
    for r in 0..n {
        for j in 0..dim {
            rows[r * stride + j] = next();
        }
    }
    let query = (0..dim).map(|_| next()).collect();
    BlockInput {
        kernels: Kernels::new(isa).expect("benchmarked ISA available on this CPU"),
        query,
        rows,
        stride,
        out: vec![T::from_f64(0.0); n],
    }
}

impl<T: Element> BlockInput<T> {
    /// One pass: the query against every row.
    #[inline]
    pub fn run(&mut self) -> T {
        self.kernels
            .sq_dist_block(&self.query, &self.rows, self.stride, &mut self.out);
        self.out[self.out.len() - 1]
    }
}
