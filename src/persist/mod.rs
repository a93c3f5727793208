//! Save and load a frozen tree with its points (DESIGN.md §7): a versioned,
//! checksummed file read back without rebuilding. The metric tags are [`MetricTag`]'s
//! table; how each metric stores its points is in `points.rs`.
//!
//! ```text
//! offset  size  field
//!      0     8  magic "PCCTTREE"
//!      8     4  format version (u32 LE)
//!     12     4  metric tag (u32 LE): MetricTag's code
//!     16     8  payload length in bytes (u64 LE)
//!     24     8  checksum of the payload (u64 LE; 64-bit words, FNV-style)
//!     32     …  payload: the metric's points, then the tree's arrays, each a u64 count
//!               followed by little-endian values, then (from version 2) a u64 of
//!               flags: bit 0 for a flat tree
//! ```
//!
//! Loading checks everything before a query can touch it: magic, version, tag, length
//! and checksum, then every array's length and every index (parents, children, ids,
//! duplicates) and every number's range, so a truncated, corrupt or hostile file is a
//! clear error, never a panic or a wrong answer. Loading costs one pass over the bytes.

mod points;

use crate::metric::Metric;
use crate::tree::{Tree, NONE};
use crate::{Error, Result};
use pcct_arenas::Csr;
use std::path::Path;

const MAGIC: &[u8; 8] = b"PCCTTREE";
/// The file format version this pcct writes and reads.
pub const FORMAT_VERSION: u32 = 2;
const HEADER: usize = 32;

/// The metrics a tree file can hold, by the tag its header names them with: the one
/// table of tags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricTag {
    /// [`crate::Euclidean`] over `f32` rows.
    EuclideanF32 = 1,
    /// [`crate::Euclidean`] over `f64` rows.
    EuclideanF64 = 2,
    /// [`crate::metric::Residual`].
    Residual = 3,
}

impl MetricTag {
    const ALL: [MetricTag; 3] = [
        MetricTag::EuclideanF32,
        MetricTag::EuclideanF64,
        MetricTag::Residual,
    ];

    /// The code written in the header.
    pub fn code(self) -> u32 {
        self as u32
    }

    /// The tag of a header code, if this pcct knows it.
    pub fn from_code(code: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.code() == code)
    }

    /// A name for messages.
    pub fn name(self) -> &'static str {
        match self {
            MetricTag::EuclideanF32 => "Euclidean f32",
            MetricTag::EuclideanF64 => "Euclidean f64",
            MetricTag::Residual => "residual",
        }
    }
}

/// A metric that can be stored in a tree file.
pub trait Persist: Metric {
    /// The tag naming this metric in the file header.
    const TAG: MetricTag;
    /// Appends the points.
    fn write_points(&self, w: &mut Writer);
    /// Reads the points back.
    fn read_points(r: &mut Reader<'_>) -> Result<Self>;
}

/// Little-endian output.
#[derive(Default)]
pub struct Writer(Vec<u8>);

impl Writer {
    /// Appends one u64.
    pub fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    /// Appends a length-prefixed u32 array.
    pub fn u32s(&mut self, v: &[u32]) {
        self.u64(v.len() as u64);
        v.iter().for_each(|x| self.0.extend_from_slice(&x.to_le_bytes()));
    }
    /// Appends a length-prefixed i32 array.
    pub fn i32s(&mut self, v: &[i32]) {
        self.u64(v.len() as u64);
        v.iter().for_each(|x| self.0.extend_from_slice(&x.to_le_bytes()));
    }
    /// Appends a length-prefixed f64 array.
    pub fn f64s(&mut self, v: &[f64]) {
        self.u64(v.len() as u64);
        v.iter().for_each(|x| self.0.extend_from_slice(&x.to_le_bytes()));
    }
    /// Appends a length-prefixed f32 array.
    pub fn f32s(&mut self, v: impl ExactSizeIterator<Item = f32>) {
        self.u64(v.len() as u64);
        v.for_each(|x| self.0.extend_from_slice(&x.to_le_bytes()));
    }
}

/// Bounds-checked little-endian input.
pub struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

fn corrupt(what: String) -> Error {
    Error::invalid("tree file", what)
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize, what: &str) -> Result<&'a [u8]> {
        let end = self
            .at
            .checked_add(len)
            .filter(|&e| e <= self.b.len())
            .ok_or_else(|| corrupt(format!("truncated in {what}")))?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    /// One u64.
    pub fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(
            self.take(8, what)?.try_into().expect("8 bytes"),
        ))
    }
    fn array<const W: usize>(&mut self, what: &str) -> Result<impl Iterator<Item = [u8; W]> + 'a> {
        let n = self.u64(what)?;
        let len = usize::try_from(n)
            .ok()
            .and_then(|n| n.checked_mul(W))
            .ok_or_else(|| corrupt(format!("impossible length {n} in {what}")))?;
        Ok(self
            .take(len, what)?
            .chunks_exact(W)
            .map(|c| c.try_into().expect("W bytes")))
    }
    /// A length-prefixed u32 array.
    pub fn u32s(&mut self, what: &str) -> Result<Vec<u32>> {
        Ok(self.array::<4>(what)?.map(u32::from_le_bytes).collect())
    }
    /// A length-prefixed i32 array.
    pub fn i32s(&mut self, what: &str) -> Result<Vec<i32>> {
        Ok(self.array::<4>(what)?.map(i32::from_le_bytes).collect())
    }
    /// A length-prefixed f64 array.
    pub fn f64s(&mut self, what: &str) -> Result<Vec<f64>> {
        Ok(self.array::<8>(what)?.map(f64::from_le_bytes).collect())
    }
    /// A length-prefixed f32 array.
    pub fn f32s(&mut self, what: &str) -> Result<Vec<f32>> {
        Ok(self.array::<4>(what)?.map(f32::from_le_bytes).collect())
    }
}

/// 64-bit words folded FNV-style (the tail zero-padded), then mixed.
fn checksum(b: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let words = b.chunks_exact(8);
    let tail = words.remainder();
    for w in words {
        h = (h ^ u64::from_le_bytes(w.try_into().expect("8 bytes"))).wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut last = [0u8; 8];
    last[..tail.len()].copy_from_slice(tail);
    h = (h ^ u64::from_le_bytes(last)).wrapping_mul(0x0000_0100_0000_01b3);
    h ^= b.len() as u64;
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

impl<M: Persist> Tree<M> {
    /// The tree and its points as the bytes of a tree file.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::default();
        self.metric.write_points(&mut w);
        w.u64(self.n_points as u64);
        w.u32s(&self.id);
        w.i32s(&self.level);
        w.u32s(&self.parent);
        w.f64s(&self.dist_parent);
        w.f64s(&self.radius);
        w.u32s(&self.min_id);
        w.u32s(&self.child_first);
        w.u32s(&self.child_count);
        w.f64s(&self.child_radius_max);
        w.u32s(&self.bucket_end);
        w.u32s(self.dups.offsets());
        w.u32s(self.dups.values());
        w.u32s(&self.pos_of_id);
        w.u64(self.flat as u64);
        let payload = w.0;
        let mut out = Vec::with_capacity(HEADER + payload.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&M::TAG.code().to_le_bytes());
        out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        out.extend_from_slice(&checksum(&payload).to_le_bytes());
        out.extend_from_slice(&payload);
        out
    }

    /// Writes the tree file (through a temporary file renamed into place).
    pub fn save(&self, path: &Path) -> Result<()> {
        let bytes = self.to_bytes();
        crate::io::write_all(&[(path, crate::io::Output::Bytes(&bytes), 0, 0)])
    }

    /// Reads a tree from the bytes of a tree file; every error names what is wrong.
    pub fn from_bytes(b: &[u8]) -> Result<Self> {
        if b.len() < HEADER || &b[..8] != MAGIC {
            return Err(corrupt(
                "not a pcct tree file (bad magic or shorter than its header)".into(),
            ));
        }
        let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().expect("4 bytes"));
        let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().expect("8 bytes"));
        let version = u32_at(8);
        if !(1..=FORMAT_VERSION).contains(&version) {
            return Err(corrupt(format!(
                "format version {version}; this pcct reads versions 1 to {FORMAT_VERSION}"
            )));
        }
        let tag = file_tag(b)?;
        if tag != M::TAG {
            return Err(corrupt(format!(
                "holds {} points (tag {}), not {} (tag {})",
                tag.name(),
                tag.code(),
                M::TAG.name(),
                M::TAG.code()
            )));
        }
        let payload = &b[HEADER..];
        if u64_at(16) != payload.len() as u64 {
            return Err(corrupt(format!(
                "payload is {} bytes but the header says {} (truncated or padded)",
                payload.len(),
                u64_at(16)
            )));
        }
        if checksum(payload) != u64_at(24) {
            return Err(corrupt("checksum mismatch (the file is corrupt)".into()));
        }
        let mut r = Reader { b: payload, at: 0 };
        let metric = M::read_points(&mut r).map_err(|e| match e {
            Error::InvalidArgument {
                name: "tree file", ..
            } => e,
            e => corrupt(format!("points: {e}")),
        })?;
        let n_points = r.u64("point count")? as usize;
        let tree = Tree {
            metric,
            n_points,
            id: r.u32s("ids")?,
            level: r.i32s("levels")?,
            parent: r.u32s("parents")?,
            dist_parent: r.f64s("parent distances")?,
            radius: r.f64s("radii")?,
            min_id: r.u32s("minimum ids")?,
            child_first: r.u32s("child offsets")?,
            child_count: r.u32s("child counts")?,
            child_radius_max: r.f64s("child radii")?,
            bucket_end: r.u32s("bucket ends")?,
            dups: {
                let offsets = r.u32s("duplicate offsets")?;
                let values = r.u32s("duplicates")?;
                Csr::new(&offsets, &values).map_err(|e| corrupt(format!("duplicates: {e}")))?
            },
            pos_of_id: r.u32s("positions")?,
            kd: Default::default(),
            sketch: Default::default(),
            // Version 2 added the flags word (bit 0: a flat tree).
            flat: match version {
                1 => false,
                _ => match r.u64("flags")? {
                    0 => false,
                    1 => true,
                    f => return Err(corrupt(format!("unknown flags {f:#x}"))),
                },
            },
        };
        if r.at != payload.len() {
            return Err(corrupt("bytes after the last section".into()));
        }
        tree.check_loaded()?;
        Ok(tree)
    }

    /// Loads a tree file written by [`Tree::save`].
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(&bytes).map_err(|e| match e {
            Error::InvalidArgument { reason, .. } => corrupt(format!("{}: {reason}", path.display())),
            e => e,
        })
    }

    /// Every index and length a query relies on (O(n), no distances).
    fn check_loaded(&self) -> Result<()> {
        let nodes = self.id.len();
        let n = self.n_points;
        let bad = |what: &str| Err(corrupt(format!("inconsistent tree: {what}")));
        if nodes == 0 || self.metric.len() != nodes {
            return bad("node count does not match the points");
        }
        for (name, len) in [
            ("levels", self.level.len()),
            ("parents", self.parent.len()),
            ("parent distances", self.dist_parent.len()),
            ("radii", self.radius.len()),
            ("minimum ids", self.min_id.len()),
            ("child offsets", self.child_first.len()),
            ("child counts", self.child_count.len()),
            ("child radii", self.child_radius_max.len()),
            ("bucket ends", self.bucket_end.len()),
            ("duplicate rows", self.dups.num_rows()),
        ] {
            if len != nodes {
                return bad(&format!("{name} has {len} entries for {nodes} nodes"));
            }
        }
        let bound = self.pos_of_id.len();
        if bound > crate::metric::MAX_POINTS || nodes + self.dups.num_values() != n || n > bound {
            return bad("point count does not match nodes and duplicates");
        }
        let mut seen = vec![false; bound];
        let ids = self.id.iter().chain(self.dups.values());
        for &i in ids {
            if i as usize >= bound || std::mem::replace(&mut seen[i as usize], true) {
                return bad(&format!("id {i} out of range or repeated"));
            }
        }
        // Ids not in the tree (deleted) have no position.
        if seen.iter().zip(&self.pos_of_id).any(|(&s, &p)| !s && p != NONE) {
            return bad("a position names an id that is in no node");
        }
        if self.parent[0] != NONE {
            return bad("the root has a parent");
        }
        for p in 0..nodes {
            if p > 0 && self.parent[p] as usize >= p {
                return bad(&format!(
                    "node {p} has parent {} (parents precede children)",
                    self.parent[p]
                ));
            }
            let (f, c) = (self.child_first[p] as usize, self.child_count[p] as usize);
            if f.checked_add(c).is_none_or(|e| e > nodes) || (c > 0 && f <= p) {
                return bad(&format!("node {p} has children out of range"));
            }
            if (f..f + c).any(|ch| self.parent[ch] as usize != p) {
                return bad(&format!("a child of node {p} names another parent"));
            }
            let be = self.bucket_end[p];
            if be != NONE && (be as usize > nodes || (be as usize) < f + c) {
                return bad(&format!("node {p} has a bucket end out of range"));
            }
            let nums = [self.dist_parent[p], self.radius[p], self.child_radius_max[p]];
            if nums.iter().any(|x| !(x.is_finite() && *x >= 0.0)) {
                return bad(&format!("node {p} has a negative or non-finite distance"));
            }
            if self.min_id[p] as usize >= bound {
                return bad(&format!("node {p} has a minimum id out of range"));
            }
            let pos = self.pos_of_id[self.id[p] as usize];
            if pos as usize != p
                || self
                    .dups
                    .row(p)
                    .iter()
                    .any(|&d| self.pos_of_id[d as usize] as usize != p)
            {
                return bad(&format!("positions disagree with node {p}"));
            }
        }
        // Every node but the root is some node's child, exactly once.
        let children: usize = self.child_count.iter().map(|&c| c as usize).sum();
        if children != nodes - 1 {
            return bad("child counts do not cover the nodes");
        }
        Ok(())
    }
}

/// The metric tag in a tree file's header (to pick the type to load it as), or an error
/// if the bytes do not start like a tree file of a known metric.
pub fn file_tag(b: &[u8]) -> Result<MetricTag> {
    if b.len() < HEADER || &b[..8] != MAGIC {
        return Err(corrupt(
            "not a pcct tree file (bad magic or shorter than its header)".into(),
        ));
    }
    let code = u32::from_le_bytes(b[12..16].try_into().expect("4 bytes"));
    MetricTag::from_code(code)
        .ok_or_else(|| corrupt(format!("unknown metric tag {code} (written by a newer pcct?)")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{datagen, Pool};
    use crate::{Dataset, Euclidean};

    fn small_tree() -> Tree<Euclidean<f64>> {
        let rows = datagen::with_duplicates(300, 3, 0.2, 5);
        let m = Euclidean::new(Dataset::from_rows(&rows, 300, 3).unwrap()).unwrap();
        Tree::build(m, &Pool::new(2).unwrap()).unwrap()
    }

    /// Structurally hostile files (payload changed, checksum recomputed) are refused
    /// or, when every index is still in range, load into a tree that validates and
    /// queries without panicking.
    #[test]
    fn resealed_corruptions_never_panic() {
        let tree = small_tree();
        let pool = Pool::new(2).unwrap();
        let good = tree.to_bytes();
        let mut rng = datagen::Rng::new(11);
        let (mut refused, mut loaded) = (0, 0);
        for _ in 0..400 {
            let mut b = good.clone();
            for _ in 0..1 + rng.below(3) {
                let at = HEADER + rng.below((b.len() - HEADER) as u64) as usize;
                b[at] ^= 1 << rng.below(8);
            }
            let sum = checksum(&b[HEADER..]);
            b[24..32].copy_from_slice(&sum.to_le_bytes());
            match Tree::<Euclidean<f64>>::from_bytes(&b) {
                Err(e) => {
                    assert!(e.to_string().starts_with("invalid tree file:"), "{e}");
                    refused += 1;
                }
                Ok(t) => {
                    let _ = t.validate();
                    let _ = t.self_knn(3).run(&pool);
                    let _ = t.predecessor_knn(3).run(&pool);
                    loaded += 1;
                }
            }
        }
        assert!(refused > 100, "{refused} refused, {loaded} loaded");
    }

    /// Version 1 files (no flags word) still load, as cover trees; version 2 files keep
    /// a flat tree flat; unknown flags are refused.
    #[test]
    fn version_one_files_and_flags() {
        let reseal = |mut b: Vec<u8>| {
            let len = (b.len() - HEADER) as u64;
            b[16..24].copy_from_slice(&len.to_le_bytes());
            let sum = checksum(&b[HEADER..]);
            b[24..32].copy_from_slice(&sum.to_le_bytes());
            b
        };
        let tree = small_tree();
        let mut v1 = tree.to_bytes();
        v1.truncate(v1.len() - 8);
        v1[8..12].copy_from_slice(&1u32.to_le_bytes());
        let back = Tree::<Euclidean<f64>>::from_bytes(&reseal(v1)).unwrap();
        assert_eq!(back.layout_digest(), tree.layout_digest());
        assert!(!back.is_flat() && back.validate().is_empty());

        let opts = crate::BuildOptions {
            flat: crate::Flat::Always,
            ..Default::default()
        };
        let pool = Pool::new(2).unwrap();
        let flat = Tree::build_with(tree.metric().clone(), &pool, &opts).unwrap().0;
        let back = Tree::<Euclidean<f64>>::from_bytes(&flat.to_bytes()).unwrap();
        assert!(back.is_flat() && back.validate().is_empty());
        assert_eq!(
            back.self_knn(4).run(&pool).unwrap().0,
            flat.self_knn(4).run(&pool).unwrap().0
        );
        let mut odd = flat.to_bytes();
        let at = odd.len() - 8;
        odd[at] = 2;
        let e = Tree::<Euclidean<f64>>::from_bytes(&reseal(odd)).unwrap_err();
        assert!(e.to_string().contains("unknown flags"), "{e}");
    }

    #[test]
    fn checksum_sees_every_byte() {
        let b: Vec<u8> = (0..37u8).collect();
        let c = checksum(&b);
        for i in 0..b.len() {
            let mut x = b.clone();
            x[i] ^= 0x10;
            assert_ne!(checksum(&x), c, "byte {i}");
        }
        assert_ne!(checksum(&b[..36]), c);
    }
}
