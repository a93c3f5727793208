//! # pcct-arenas
//!
//! The grouping machinery of the pcct build pipeline (DESIGN.md §3, stages 2–3):
//! millions of `(key, value)` pairs per batch — scope memberships by tree node,
//! candidate pairs by batch point, conflict edges by vertex — grouped into CSR
//! without a comparison sort and without allocating per batch.
//!
//! - [`Csr`] / [`CsrRef`]: validated compressed-sparse-row buffers (u32 offsets),
//!   owned on the heap or in an arena (`Csr<V, &Bump>`).
//! - [`CsrBuilder`]: a parallel, stable counting sort from a pair slice or a
//!   producer closure, on the rayon pool it is given (never the global pool).
//! - [`Arena`]: a bump arena, reset per batch, that keeps its high-water chunk so a
//!   repeat batch allocates nothing.
//! - [`CountingAlloc`]: a counting global allocator for peak-memory benchmarks.
//!
//! ## Safety
//!
//! `unsafe` is confined to the builder's scatter passes: workers write a shared
//! output buffer at positions that belong to exactly one (chunk, key) slot each
//! (`shared.rs` bounds-checks every write), and `set_len` runs only after a check
//! that every slot was filled exactly. [`Csr::new_unchecked`] is `unsafe` only as
//! a contract for callers; nothing here relies on it for memory safety.

mod arena;
mod builder;
mod counting;
mod csr;
mod shared;

pub use allocator_api2;
pub use arena::Arena;
pub use builder::{CsrBuilder, Emit};
pub use bumpalo;
pub use counting::CountingAlloc;
pub use csr::{offsets_from_lengths_in, Csr, CsrError, CsrRef};
