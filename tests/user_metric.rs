//! User metrics: two metrics written here, outside the crate, against the public
//! [`pcct::Metric`] trait with only its small core — `len`, `distance`, `permuted`,
//! `concat` (for inserts), `check_queries` and the `errors().distance_rel` that their
//! rounding needs — and nothing else: every query kind, along every path that applies
//! (the engine's choice, the tree and the scan forced; the k-d path refused), answers
//! exactly what a naive brute force written here answers (ids and distances bit for
//! bit, ties by id), for parallel and sequential builds, small and default buckets,
//! 1 and 2 threads, and through inserts and deletes.
//!
//! * [`Manhattan`]: L1 over `f64` rows of any dimension (seeded uniform, clustered,
//!   duplicated, grid and line data; the grid's integer distances tie massively).
//! * [`GreatCircle`]: the great-circle distance between (latitude, longitude) points in
//!   degrees on the unit sphere, by the haversine (uniform, clustered and duplicated
//!   points, exact and near poles, both sides of the antimeridian, points on meridians
//!   and on the equator, where the triangle inequality is tight).

mod common;

use common::pool;
use pcct::datagen::{self, Rng};
use pcct::metric::Errors;
use pcct::query::{brute_force_knn, brute_force_predecessor_knn, brute_force_range, brute_force_self_knn};
use pcct::tree::NONE;
use pcct::{Error, Metric, Neighbors, Pool, QueryPath, RangeNeighbors, Result, Tree, Via};

/// The neighbour counts checked (the oracle keeps `KMAX` per row; smaller k are its prefixes).
const KS: [usize; 3] = [1, 5, 17];
const KMAX: usize = 17;

/// Bucket size of the re-laid-out trees: small, so that searches descend through the
/// levels (and prune with the triangle inequality) instead of scanning one big bucket
/// (builds use buckets of 1,024 nodes, most of these trees).
const SMALL_BUCKETS: usize = 8;

// ---------------------------------------------------------------------------------
// The metrics.
// ---------------------------------------------------------------------------------

/// The L1 (Manhattan) distance `Σ |a_c − b_c|` over `f64` rows of any dimension,
/// summed in column order.
///
/// Rounding: each `|a − b|` is one subtraction of exact inputs (relative error ≤ ε/2,
/// exact when the difference is subnormal), and a left-to-right sum of `dim`
/// non-negative terms adds at most `(dim − 1)·ε/2` more: `dim·ε/2` in all, no absolute
/// term (no underflow loss). [`Metric::errors`] claims a `distance_rel` of
/// `2·(dim + 1)·ε`, four times that and more. (The default, 4ε, would understate it
/// beyond 8 columns.)
#[derive(Clone, Debug)]
struct Manhattan {
    dim: usize,
    rows: Vec<f64>,
}

impl Manhattan {
    /// `rows.len() / dim` points, row-major.
    fn new(rows: Vec<f64>, dim: usize) -> Self {
        assert!(
            dim > 0 && rows.len().is_multiple_of(dim),
            "whole rows of dimension {dim}"
        );
        Manhattan { dim, rows }
    }

    fn row(&self, i: u32) -> &[f64] {
        &self.rows[i as usize * self.dim..(i as usize + 1) * self.dim]
    }
}

impl Metric for Manhattan {
    fn len(&self) -> usize {
        self.rows.len() / self.dim
    }

    fn distance(&self, queries: &Self, i: u32, j: u32) -> f64 {
        queries
            .row(i)
            .iter()
            .zip(self.row(j))
            .fold(0.0, |s, (a, b)| s + (a - b).abs())
    }

    fn errors(&self) -> Errors {
        Errors::distance(2.0 * (self.dim as f64 + 1.0) * f64::EPSILON, 0.0)
    }

    fn permuted(&self, order: &[u32]) -> Self {
        let rows = order.iter().flat_map(|&i| self.row(i)).copied().collect();
        Manhattan::new(rows, self.dim)
    }

    fn concat(&self, other: &Self) -> Result<Self> {
        self.check_queries(other)?;
        let mut rows = self.rows.clone();
        rows.extend_from_slice(&other.rows);
        Ok(Manhattan::new(rows, self.dim))
    }

    fn check_queries(&self, queries: &Self) -> Result<()> {
        if queries.dim != self.dim {
            return Err(Error::invalid(
                "queries",
                format!(
                    "dimension {} does not match the data's dimension {}",
                    queries.dim, self.dim
                ),
            ));
        }
        Ok(())
    }
}

/// Degrees to radians, halved: the haversine works with half-angles.
const HALF_RAD: f64 = std::f64::consts::PI / 360.0;

/// The great-circle distance (radians of arc on the unit sphere) between points given
/// as (latitude, longitude) in degrees, latitudes in `[−90, 90]`, longitudes in
/// `[−180, 180]`: a true metric on the sphere, and on the stored points (see
/// [`GreatCircle::new`]).
///
/// By the haversine `hav d = sin²(Δφ/2)·cos²(Δλ/2) + cos²(Σφ/2)·sin²(Δλ/2)` (the usual
/// `sin²(Δφ/2) + cos φ₁ cos φ₂ sin²(Δλ/2)` rewritten as a sum of non-negative products),
/// as `d = 2·atan2(√hav d, √hav(π − d))` with `hav(π − d) = cos²(Δφ/2)·cos²(Δλ/2) +
/// sin²(Σφ/2)·sin²(Δλ/2)` — not `2·asin(√h)` with `h` clamped to `[0, 1]`: that is
/// ill-conditioned near antipodes (an error of a few ε in `h` becomes ~1e-7 in `d`),
/// which only an absolute error term of that size could state honestly.
///
/// Rounding: the differences and sums of the input degrees are single roundings of
/// exact inputs (relative error ≤ ε/2); `Σφ/2` is taken as its distance from the nearer
/// pole, `((90 ∓ φ₁) + (90 ∓ φ₂))/2`, so that `cos(Σφ/2)` keeps a relative error near
/// the pole (and is exactly 0 there); `Δλ` is reduced to `[−180, 180]` without
/// rounding a ~360° difference. Every factor that `√hav d` depends on then has a
/// relative error of a few ε; the factors of `√hav(π − d)` may not (near ±90° or
/// ±180°), but an absolute error `e` there moves the angle by at most `e·√hav d ≤ e·d/2`,
/// relative again. With `hypot`, `atan2` and the sines within an ulp or two, the total
/// is about 10·ε; [`Metric::errors`] claims a `distance_rel` of 64·ε, and no absolute
/// term is needed (`distance_abs` stays 0). Zero exactly when the true distance is
/// zero (e.g. two points at a pole).
#[derive(Clone, Debug)]
struct GreatCircle {
    points: Vec<[f64; 2]>,
}

impl GreatCircle {
    /// The points, each stored in one canonical form per point of the sphere: longitude
    /// 0 at the poles, −180 for 180 (and +0 for −0). That makes the distance a true
    /// metric on what is stored — zero only between identical rows — which pcct needs:
    /// points at distance 0 become duplicates of one node and are reported with its
    /// distance, so two rows at distance 0 must measure the same to everything, bit for
    /// bit. (Two spellings of a pole do not: their distances to a third point differ in
    /// the last bit.)
    fn new(points: Vec<[f64; 2]>) -> Self {
        let points = points
            .into_iter()
            .map(|[lat, lon]| {
                assert!(
                    (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon),
                    "({lat}, {lon}) is not a (latitude, longitude) in degrees"
                );
                let lon = if lat.abs() == 90.0 {
                    0.0
                } else if lon == 180.0 {
                    -180.0
                } else {
                    lon + 0.0
                };
                [lat + 0.0, lon]
            })
            .collect();
        GreatCircle { points }
    }
}

/// `a − b` for longitudes in `[−180, 180]`, reduced to `[−180, 180]` with a small
/// relative error: beyond ±180 the two shifted terms have the same sign, so the
/// result keeps their relative errors (the naive `(a − b) ∓ 360` keeps the absolute
/// error of rounding a ~360° difference, large next to a small result).
fn lon_diff(a: f64, b: f64) -> f64 {
    let d = a - b;
    if d > 180.0 {
        (a - 180.0) - (b + 180.0)
    } else if d < -180.0 {
        (a + 180.0) - (b - 180.0)
    } else {
        d
    }
}

impl Metric for GreatCircle {
    fn len(&self) -> usize {
        self.points.len()
    }

    fn distance(&self, queries: &Self, i: u32, j: u32) -> f64 {
        let [p1, l1] = queries.points[i as usize];
        let [p2, l2] = self.points[j as usize];
        // Half-angles in radians, as magnitudes (so that d(a, b) = d(b, a) bit for bit).
        let dp = (p1 - p2).abs() * HALF_RAD;
        let dl = lon_diff(l1, l2).abs() * HALF_RAD;
        // π/2 − |Σφ/2|: how far the mean latitude is from the nearer pole.
        let co = if p1 + p2 >= 0.0 {
            (90.0 - p1) + (90.0 - p2)
        } else {
            (90.0 + p1) + (90.0 + p2)
        } * HALF_RAD;
        let (s_dp, c_dp) = dp.sin_cos();
        let (s_dl, c_dl) = dl.sin_cos();
        // sin(co) = cos(Σφ/2), cos(co) = |sin(Σφ/2)|.
        let (s_co, c_co) = co.sin_cos();
        let y = (s_dp * c_dl).hypot(s_co * s_dl); // √hav d
        let x = (c_dp * c_dl).hypot(c_co * s_dl); // √hav(π − d)
        2.0 * y.atan2(x)
    }

    fn errors(&self) -> Errors {
        Errors::distance(64.0 * f64::EPSILON, 0.0)
    }

    fn permuted(&self, order: &[u32]) -> Self {
        GreatCircle::new(order.iter().map(|&i| self.points[i as usize]).collect())
    }

    fn concat(&self, other: &Self) -> Result<Self> {
        let mut points = self.points.clone();
        points.extend_from_slice(&other.points);
        Ok(GreatCircle::new(points))
    }

    /// Every point has two coordinates: any two sets can be measured against each
    /// other (the default says the same; written out as the check a user would write).
    fn check_queries(&self, _queries: &Self) -> Result<()> {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------
// Data.
// ---------------------------------------------------------------------------------

/// Manhattan datasets: `(name, dim, rows)`, seeded, from every generator.
fn manhattan_cases(n: usize, seed: u64) -> Vec<(String, Manhattan)> {
    let mk = |name: &str, dim: usize, rows: Vec<f64>| (format!("{name} d={dim}"), Manhattan::new(rows, dim));
    vec![
        mk("uniform", 2, datagen::uniform(n, 2, seed)),
        mk("clusters", 5, datagen::clusters(n, 5, 8, 0.02, seed + 1)),
        mk("duplicates", 3, datagen::with_duplicates(n, 3, 0.4, seed + 2)),
        mk("grid", 2, datagen::grid(n, 2, 12, seed + 3)),
        mk("line", 4, datagen::line(n, 4, seed + 4)),
        mk("uniform", 9, datagen::uniform(n, 9, seed + 5)),
    ]
}

/// Manhattan queries for a dataset: uniform points, grid points (ties) and copies of
/// some data rows (distance 0).
fn manhattan_queries(data: &Manhattan, nq: usize, seed: u64) -> Manhattan {
    let dim = data.dim;
    let mut rows = datagen::uniform(nq, dim, seed);
    rows.extend(datagen::grid(nq / 4, dim, 12, seed + 1));
    for i in (0..data.len() as u32).step_by(data.len() / (nq / 4) + 1) {
        rows.extend_from_slice(data.row(i));
    }
    Manhattan::new(rows, dim)
}

/// `[0, 1)²` pairs to (latitude, longitude): `[−90, 90]` × `[−180, 180)`, latitudes
/// clamped and longitudes wrapped (for generators that stray outside the square).
fn to_sphere(unit: &[f64]) -> Vec<[f64; 2]> {
    unit.chunks_exact(2)
        .map(|p| {
            let lat = (p[0] * 180.0 - 90.0).clamp(-90.0, 90.0);
            let lon = (p[1] * 360.0).rem_euclid(360.0) - 180.0;
            [lat, lon]
        })
        .collect()
}

/// Points exactly at and near the poles, on both sides of the antimeridian, on a
/// meridian and on the equator (great circles: collinear triples), `n` in all.
fn sphere_edges(n: usize, seed: u64) -> Vec<[f64; 2]> {
    let mut r = Rng::new(seed);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let u = r.uniform();
        let lon = r.uniform() * 360.0 - 180.0;
        out.push(match i % 8 {
            // Exactly at a pole: every longitude is the same point.
            0 => [if i % 16 == 0 { 90.0 } else { -90.0 }, lon],
            1 => [90.0 - 2.0 * u * u, lon],
            2 => [-90.0 + 1e-6 * u, lon],
            // Straddling the antimeridian, some exactly on it (±180 alike).
            3 => [r.uniform() * 120.0 - 60.0, 180.0 - 3.0 * u],
            4 => [r.uniform() * 120.0 - 60.0, -180.0 + 3.0 * u * u],
            5 => [
                r.uniform() * 2.0 - 1.0,
                if r.below(2) == 0 { 180.0 } else { -180.0 },
            ],
            // A meridian and the equator (crossing the antimeridian).
            6 => [u * 180.0 - 90.0, 30.0],
            _ => [0.0, (150.0 + 60.0 * u + 180.0).rem_euclid(360.0) - 180.0],
        });
    }
    out
}

/// GreatCircle datasets, seeded.
fn great_circle_cases(n: usize, seed: u64) -> Vec<(String, GreatCircle)> {
    let mut mixed = to_sphere(&datagen::uniform(n / 2, 2, seed + 3));
    mixed.extend(sphere_edges(n - n / 2, seed + 4));
    vec![
        (
            "uniform".into(),
            GreatCircle::new(to_sphere(&datagen::uniform(n, 2, seed))),
        ),
        (
            "clusters".into(),
            GreatCircle::new(to_sphere(&datagen::clusters(n, 2, 6, 0.01, seed + 1))),
        ),
        (
            "duplicates".into(),
            GreatCircle::new(to_sphere(&datagen::with_duplicates(n, 2, 0.4, seed + 2))),
        ),
        (
            "poles, antimeridian, great circles".into(),
            GreatCircle::new(mixed),
        ),
    ]
}

/// GreatCircle queries: uniform points, edge points and copies of some data points.
fn great_circle_queries(data: &GreatCircle, nq: usize, seed: u64) -> GreatCircle {
    let mut points = to_sphere(&datagen::uniform(nq, 2, seed));
    points.extend(sphere_edges(nq / 2, seed + 1));
    points.extend(data.points.iter().step_by(data.len() / (nq / 4) + 1));
    GreatCircle::new(points)
}

// ---------------------------------------------------------------------------------
// The oracle.
// ---------------------------------------------------------------------------------

/// One oracle row: `(distance, id)` sorted by distance, then id.
type Row = Vec<(f64, u32)>;

/// The first `k` candidates by (distance, id), padded with `(+∞, NONE)` to `k`.
fn top(mut cands: Row, k: usize) -> Row {
    cands.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    cands.resize(k.max(cands.len()), (f64::INFINITY, NONE));
    cands.truncate(k);
    cands
}

/// What the oracle sees of a tree: every point ever given, by id, and which are live.
struct World<M> {
    all: M,
    live: Vec<bool>,
}

/// The oracle's answers for one [`World`] and query set, `KMAX` per k-NN row.
struct Expect {
    knn: Vec<Row>,
    self_knn: Vec<Row>,
    predecessor: Vec<Row>,
    /// `(radius, rows)`.
    range: Vec<(f64, Vec<Row>)>,
}

impl<M: Metric + Clone> World<M> {
    fn new(all: M) -> Self {
        let live = vec![true; all.len()];
        World { all, live }
    }

    fn live_ids(&self) -> Vec<u32> {
        (0..self.all.len() as u32)
            .filter(|&i| self.live[i as usize])
            .collect()
    }

    /// Naive answers: every live candidate measured, sorted, cut. Range radii: 0 (exact
    /// duplicates only) and the median of the queries' 5th-neighbour distances.
    fn expect(&self, queries: &M) -> Expect {
        let live = self.live_ids();
        let measure = |qm: &M, q: u32, admit: &dyn Fn(u32) -> bool| -> Row {
            live.iter()
                .filter(|&&j| admit(j))
                .map(|&j| (self.all.distance(qm, q, j), j))
                .collect()
        };
        let knn: Vec<Row> = (0..queries.len() as u32)
            .map(|q| top(measure(queries, q, &|_| true), KMAX))
            .collect();
        let (mut self_knn, mut predecessor) = (Vec::new(), Vec::new());
        for i in 0..self.all.len() as u32 {
            if !self.live[i as usize] {
                // A deleted id's rows are all padding.
                self_knn.push(top(Vec::new(), KMAX));
                predecessor.push(top(Vec::new(), KMAX));
                continue;
            }
            let others = measure(&self.all, i, &|j| j != i);
            predecessor.push(top(others.iter().copied().filter(|x| x.1 < i).collect(), KMAX));
            self_knn.push(top(others, KMAX));
        }
        let mut fifth: Vec<f64> = knn.iter().map(|r| r[4].0).collect();
        fifth.sort_by(f64::total_cmp);
        let range = [0.0, fifth[fifth.len() / 2]]
            .into_iter()
            .map(|r| {
                let rows = (0..queries.len() as u32)
                    .map(|q| {
                        let hits = measure(queries, q, &|_| true);
                        let hits: Row = hits.into_iter().filter(|x| x.0 <= r).collect();
                        top(hits.clone(), hits.len())
                    })
                    .collect();
                (r, rows)
            })
            .collect();
        Expect {
            knn,
            self_knn,
            predecessor,
            range,
        }
    }

    /// The live points alone, ascending by id (so that ties by id agree), for the
    /// library's brute force; `dense id → id` is `live_ids()`.
    fn dense(&self) -> M {
        self.all.permuted(&self.live_ids())
    }
}

fn bits(ds: &[f64]) -> Vec<u64> {
    ds.iter().map(|d| d.to_bits()).collect()
}

/// Asserts that `(ids, dists)` is the oracle row `want` (cut to `ids.len()`): ids
/// equal, distances bit-equal.
fn assert_row(ids: &[u32], dists: &[f64], want: &[(f64, u32)], what: &str) {
    let want = &want[..ids.len().min(want.len())];
    let wi: Vec<u32> = want.iter().map(|x| x.1).collect();
    let wd: Vec<f64> = want.iter().map(|x| x.0).collect();
    assert_eq!(ids, &wi[..], "{what}: ids");
    assert_eq!(bits(dists), bits(&wd), "{what}: distances {dists:?} vs {wd:?}");
}

/// Asserts a k-NN answer row by row against the oracle's rows.
fn assert_knn(got: &Neighbors, want: &[Row], k: usize, what: &str) {
    assert_eq!((got.k(), got.len()), (k, want.len()), "{what}: shape");
    for (i, w) in want.iter().enumerate() {
        let (ids, ds) = got.row(i);
        assert_row(ids, ds, &w[..k], &format!("{what}, row {i}"));
    }
}

/// Asserts a range answer row by row against the oracle's rows.
fn assert_range(got: &RangeNeighbors, want: &[Row], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: rows");
    for (i, w) in want.iter().enumerate() {
        let (ids, ds) = got.row(i);
        assert_eq!(ids.len(), w.len(), "{what}, row {i}: hits");
        assert_row(ids, ds, w, &format!("{what}, row {i}"));
    }
}

/// Asserts that no answer names a deleted id (the oracle comparison implies it; said
/// outright because it is what deletes promise).
fn assert_only_live<M: Metric>(tree: &Tree<M>, ids: &[u32], what: &str) {
    let dead = ids.iter().find(|&&id| id != NONE && !tree.contains(id));
    assert_eq!(dead, None, "{what}: a deleted or unknown id answered");
}

/// That a forced path ran, and the engine's choice is one of the paths that apply.
fn assert_path(via: Via, path: QueryPath, what: &str) {
    let ok = match via {
        Via::Tree => path == QueryPath::Tree,
        Via::Scan => matches!(path, QueryPath::Scan { .. }),
        _ => !matches!(path, QueryPath::Kd { .. }),
    };
    assert!(ok, "{what}: via {via:?} took {path:?}");
}

/// The library's brute force over the live points agrees with the oracle, for each
/// of `ks` and every radius.
fn check_brute_force<M: Metric + Clone>(
    world: &World<M>,
    queries: &M,
    want: &Expect,
    ks: &[usize],
    pool: &Pool,
) {
    let (dense, live) = (world.dense(), world.live_ids());
    let to_id = |d: &u32| if *d == NONE { NONE } else { live[*d as usize] };
    for &k in ks {
        let got = brute_force_knn(&dense, queries, k, pool).unwrap();
        for (i, w) in want.knn.iter().enumerate() {
            let (ids, ds) = got.row(i);
            let ids: Vec<u32> = ids.iter().map(to_id).collect();
            assert_row(&ids, ds, &w[..k], &format!("brute-force k-NN, k={k}, row {i}"));
        }
        let self_knn = brute_force_self_knn(&dense, k, pool).unwrap();
        let predecessor = brute_force_predecessor_knn(&dense, k, pool).unwrap();
        for (name, got, want) in [
            ("self", &self_knn, &want.self_knn),
            ("predecessor", &predecessor, &want.predecessor),
        ] {
            assert_eq!(got.len(), live.len(), "brute-force {name}: rows");
            for (r, &id) in live.iter().enumerate() {
                let (ids, ds) = got.row(r);
                let ids: Vec<u32> = ids.iter().map(to_id).collect();
                let what = format!("brute-force {name}, k={k}, id {id}");
                assert_row(&ids, ds, &want[id as usize][..k], &what);
            }
        }
    }
    for (r, rows) in &want.range {
        let got = brute_force_range(&dense, queries, *r, pool).unwrap();
        assert_eq!(got.len(), rows.len());
        for (i, w) in rows.iter().enumerate() {
            let (ids, ds) = got.row(i);
            let ids: Vec<u32> = ids.iter().map(to_id).collect();
            assert_eq!(ids.len(), w.len(), "brute-force range {r}, row {i}");
            assert_row(&ids, ds, w, &format!("brute-force range {r}, row {i}"));
        }
    }
}

/// Every query kind on `tree` against the oracle, for each k and radius: as the engine
/// chooses ([`Via::Auto`]) on each pool, the answers also compared between pools; and
/// along each path of `forced` on the last pool. The k-d path is refused (no
/// Euclidean coordinates).
fn check_tree<M: Metric>(
    tree: &Tree<M>,
    queries: &M,
    want: &Expect,
    pools: &[Pool],
    forced: &[Via],
    what: &str,
) {
    assert_eq!(tree.id_bound(), want.self_knn.len(), "{what}: id bound");
    let mut per_pool: Vec<(Vec<Neighbors>, Vec<RangeNeighbors>)> = Vec::new();
    for (p, pool) in pools.iter().enumerate() {
        let t = pool.threads();
        let vias = if p + 1 == pools.len() { forced } else { &[] };
        let (mut knns, mut ranges) = (Vec::new(), Vec::new());
        for k in KS {
            let (got, _) = tree.knn(queries, k).run(pool).unwrap();
            assert_knn(&got, &want.knn, k, &format!("{what}: knn k={k} t={t}"));
            assert_only_live(tree, got.ids(), what);
            knns.push(got);
            let (got, _) = tree.self_knn(k).run(pool).unwrap();
            assert_knn(&got, &want.self_knn, k, &format!("{what}: self k={k} t={t}"));
            assert_only_live(tree, got.ids(), what);
            knns.push(got);
            let (got, _) = tree.predecessor_knn(k).run(pool).unwrap();
            assert_knn(
                &got,
                &want.predecessor,
                k,
                &format!("{what}: predecessor k={k} t={t}"),
            );
            assert_only_live(tree, got.ids(), what);
            knns.push(got);
            for &via in vias {
                let w = format!("{what}: knn via {via:?} k={k} t={t}");
                let (got, stats) = tree.knn(queries, k).via(via).run(pool).unwrap();
                assert_knn(&got, &want.knn, k, &w);
                assert_path(via, stats.path, &w);
                let w = format!("{what}: self via {via:?} k={k} t={t}");
                let (got, stats) = tree.self_knn(k).via(via).run(pool).unwrap();
                assert_knn(&got, &want.self_knn, k, &w);
                assert_path(via, stats.path, &w);
                let w = format!("{what}: predecessor via {via:?} k={k} t={t}");
                let (got, stats) = tree.predecessor_knn(k).via(via).run(pool).unwrap();
                assert_knn(&got, &want.predecessor, k, &w);
                assert_path(via, stats.path, &w);
            }
        }
        for (r, rows) in &want.range {
            let (got, _) = tree.range(queries, *r).run(pool).unwrap();
            assert_range(&got, rows, &format!("{what}: range {r} t={t}"));
            ranges.push(got);
            for &via in vias {
                let w = format!("{what}: range {r} via {via:?} t={t}");
                let (got, stats) = tree.range(queries, *r).via(via).run(pool).unwrap();
                assert_range(&got, rows, &w);
                assert_path(via, stats.path, &w);
            }
        }
        per_pool.push((knns, ranges));
    }
    for other in &per_pool[1..] {
        assert!(
            *other == per_pool[0],
            "{what}: answers differ between thread counts"
        );
    }
    // The k-d path needs Euclidean coordinates: forcing it is an error, for every kind.
    let pool = &pools[0];
    let refusals = [
        tree.knn(queries, 1).via(Via::Kd).run(pool).map(|_| ()),
        tree.self_knn(1).via(Via::Kd).run(pool).map(|_| ()),
        tree.predecessor_knn(1).via(Via::Kd).run(pool).map(|_| ()),
        tree.range(queries, 0.0).via(Via::Kd).run(pool).map(|_| ()),
    ];
    for (kind, got) in ["knn", "self", "predecessor", "range"].iter().zip(refusals) {
        let e = got.expect_err("the k-d path must be refused for a metric without coordinates");
        assert!(e.to_string().contains("k-d"), "{what}: {kind} via Kd: {e}");
    }
}

fn assert_valid<M: Metric>(tree: &Tree<M>, what: &str) {
    let v = tree.validate();
    assert!(v.is_empty(), "{what}: {v:?}");
}

/// Parallel builds on 1 and 2 threads (the same tree), the sequential build, and small
/// buckets: valid, and every query kind exact along every path.
fn check_builds<M: Metric + Clone>(data: &M, queries: &M, pools: &[Pool], what: &str) {
    let world = World::new(data.clone());
    let want = world.expect(queries);
    check_brute_force(&world, queries, &want, &[1, KMAX], &pools[1]);
    let trees: Vec<Tree<M>> = pools
        .iter()
        .map(|p| Tree::build(data.clone(), p).unwrap())
        .collect();
    for (t, p) in trees.iter().zip(pools) {
        assert_valid(t, &format!("{what}: build on {} threads", p.threads()));
        assert_eq!(t.len(), data.len());
    }
    assert_eq!(
        trees[0].layout_digest(),
        trees[1].layout_digest(),
        "{what}: the same tree for any pool size"
    );
    let sequential = Tree::build_sequential(data.clone()).unwrap();
    assert_valid(&sequential, &format!("{what}: sequential build"));
    let small = trees[1].relayout(SMALL_BUCKETS);
    assert_valid(&small, &format!("{what}: small buckets"));
    check_tree(
        &small,
        queries,
        &want,
        pools,
        &[Via::Tree, Via::Scan],
        &format!("{what} (small buckets)"),
    );
    check_tree(&trees[1], queries, &want, &pools[1..], &[], what);
    let small_seq = sequential.relayout(SMALL_BUCKETS);
    check_tree(
        &small_seq,
        queries,
        &want,
        &pools[1..],
        &[Via::Tree],
        &format!("{what} (sequential)"),
    );
}

/// Inserts and deletes on a tree of `data`: after each, the tree is valid and every
/// query kind equals the oracle over the live ids (deleted ids never answer; their
/// self and predecessor rows are padding); the version before stays as it was.
/// `more` and `again` are the two batches to insert.
fn check_updates<M: Metric + Clone>(data: &M, more: &M, again: &M, queries: &M, pools: &[Pool], what: &str) {
    let pool = &pools[1];
    // After deletes the scan is forced too: deleted ids are holes in its query list.
    let check = |tree: &Tree<M>, world: &World<M>, step: &str| {
        let forced: &[Via] = if step.starts_with("deleted") {
            &[Via::Tree, Via::Scan]
        } else {
            &[Via::Tree]
        };
        let what = format!("{what}, {step}");
        assert_valid(tree, &what);
        assert_eq!(tree.len(), world.live_ids().len(), "{what}: len");
        let want = world.expect(queries);
        check_brute_force(world, queries, &want, &[KMAX], pool);
        check_tree(tree, queries, &want, &pools[1..], &[], &what);
        let small = tree.relayout(SMALL_BUCKETS);
        assert_valid(&small, &what);
        check_tree(
            &small,
            queries,
            &want,
            pools,
            forced,
            &format!("{what} (small buckets)"),
        );
        want
    };
    let t0 = Tree::build(data.clone(), pool).unwrap();
    let mut world = World::new(data.clone());
    let want0 = check(&t0, &world, "built");

    // Insert: new ids follow the old ones.
    let (t1, _) = t0.insert(more, pool).unwrap();
    world.all = world.all.concat(more).unwrap();
    world.live.resize(world.all.len(), true);
    check(&t1, &world, "inserted");

    // Delete: every 7th id, the root's point, points with duplicates, inserted points.
    let (nb, _) = t1.self_knn(1).run(pool).unwrap();
    let mut gone: Vec<u32> = (0..t1.id_bound() as u32).step_by(7).collect();
    gone.push(t1.root_id());
    gone.extend(
        (0..t1.id_bound() as u32)
            .filter(|&i| nb.row(i as usize).1[0] == 0.0)
            .step_by(3),
    );
    gone.extend(data.len() as u32..data.len() as u32 + 10);
    let t2 = t1.delete(&gone, pool).unwrap();
    for &i in &gone {
        world.live[i as usize] = false;
    }
    assert!(gone.iter().all(|&i| !t2.contains(i)), "{what}: deleted");
    check(&t2, &world, "deleted");

    // Insert again (ids are never reused), then delete some of those and more.
    let (t3, _) = t2.insert(again, pool).unwrap();
    world.all = world.all.concat(again).unwrap();
    world.live.resize(world.all.len(), true);
    check(&t3, &world, "inserted again");
    let bound = t3.id_bound() as u32;
    let gone: Vec<u32> = (0..bound)
        .filter(|&i| world.live[i as usize] && (i % 5 == 1 || i >= bound - 6))
        .collect();
    let t4 = t3.delete(&gone, pool).unwrap();
    for &i in &gone {
        world.live[i as usize] = false;
    }
    check(&t4, &world, "deleted again");

    // Deleting again, or inserting nothing, is refused; the first version is unchanged.
    assert!(t4.delete(&gone[..1], pool).is_err(), "{what}: a second delete");
    assert_valid(&t0, &format!("{what}: first version"));
    let (got, _) = t0.knn(queries, 5).run(pool).unwrap();
    assert_knn(&got, &want0.knn, 5, &format!("{what}: first version"));
}

// ---------------------------------------------------------------------------------
// Tests.
// ---------------------------------------------------------------------------------

#[test]
fn manhattan_answers_exactly_on_every_path() {
    let pools = [pool(1), pool(2)];
    for (i, (name, data)) in manhattan_cases(1000, 40).into_iter().enumerate() {
        let queries = manhattan_queries(&data, 80, 50 + i as u64);
        check_builds(&data, &queries, &pools, &format!("manhattan {name}"));
    }
}

#[test]
fn great_circle_answers_exactly_on_every_path() {
    let pools = [pool(1), pool(2)];
    for (i, (name, data)) in great_circle_cases(650, 60).into_iter().enumerate() {
        let queries = great_circle_queries(&data, 60, 70 + i as u64);
        check_builds(&data, &queries, &pools, &format!("great circle {name}"));
    }
}

#[test]
fn manhattan_trees_update_exactly() {
    let pools = [pool(1), pool(2)];
    for (dim, seed) in [(3, 80), (6, 90)] {
        let mut rows = datagen::with_duplicates(600, dim, 0.2, seed);
        rows.extend(datagen::grid(200, dim, 4, seed + 1));
        let data = Manhattan::new(rows, dim);
        let mut more = datagen::uniform(150, dim, seed + 2);
        more.extend_from_slice(&data.rows[..20 * dim]); // copies of live points
        let more = Manhattan::new(more, dim);
        let again = Manhattan::new(datagen::clusters(120, dim, 3, 0.01, seed + 3), dim);
        let queries = manhattan_queries(&data, 60, seed + 4);
        check_updates(
            &data,
            &more,
            &again,
            &queries,
            &pools,
            &format!("manhattan d={dim}"),
        );
    }
}

#[test]
fn great_circle_trees_update_exactly() {
    let pools = [pool(1), pool(2)];
    let mut points = to_sphere(&datagen::with_duplicates(400, 2, 0.2, 100));
    points.extend(sphere_edges(200, 101));
    let data = GreatCircle::new(points);
    let mut more = sphere_edges(100, 102);
    more.extend(to_sphere(&datagen::uniform(60, 2, 103)));
    more.extend_from_slice(&data.points[..20]);
    let more = GreatCircle::new(more);
    let again = GreatCircle::new(to_sphere(&datagen::clusters(100, 2, 3, 0.002, 104)));
    let queries = great_circle_queries(&data, 50, 105);
    check_updates(&data, &more, &again, &queries, &pools, "great circle");
}

/// Queries and inserts of another dimension are refused through `check_queries`, by
/// the tree and the brute force alike.
#[test]
fn manhattan_refuses_other_dimensions() {
    let pool = pool(2);
    let data = Manhattan::new(datagen::uniform(300, 3, 1), 3);
    let tree = Tree::build(data.clone(), &pool).unwrap();
    let flat = Manhattan::new(datagen::uniform(10, 2, 2), 2);
    let errors = [
        tree.knn(&flat, 3).run(&pool).map(|_| ()),
        tree.knn(&flat, 3).via(Via::Scan).run(&pool).map(|_| ()),
        tree.range(&flat, 0.5).run(&pool).map(|_| ()),
        tree.insert(&flat, &pool).map(|_| ()),
        brute_force_knn(&data, &flat, 3, &pool).map(|_| ()),
        brute_force_range(&data, &flat, 0.5, &pool).map(|_| ()),
    ];
    for (i, e) in errors.into_iter().enumerate() {
        let e = e.expect_err("another dimension must be refused").to_string();
        assert!(e.contains("dimension"), "case {i}: {e}");
    }
    // Known values: grid rows have exact integer L1 distances.
    let grid = Manhattan::new(vec![0.0, 0.0, 3.0, -4.0, 1.0, 1.0], 2);
    assert_eq!(grid.distance(&grid, 0, 1), 7.0);
    assert_eq!(grid.distance(&grid, 1, 2), 7.0);
    assert_eq!(grid.distance(&grid, 2, 0), 2.0);
    assert_eq!(grid.distance(&grid, 2, 2), 0.0);
}

/// The great-circle distance against known values and an independent formula
/// (`atan2(|p × q|, p · q)` of unit vectors): within its stated relative error where
/// the truth is known, symmetric bit for bit, zero exactly for the same point (a pole
/// at any longitude, ±180) and only between identical stored rows, and the triangle
/// inequality holds within the stated error, also for collinear triples on great
/// circles (where it is tight).
#[test]
fn great_circle_is_an_honest_metric() {
    use std::f64::consts::{FRAC_PI_2, PI};
    let rel = GreatCircle::new(vec![]).errors().distance_rel;
    let d = |a: [f64; 2], b: [f64; 2]| {
        let m = GreatCircle::new(vec![a, b]);
        let ab = m.distance(&m, 0, 1);
        assert_eq!(
            ab.to_bits(),
            m.distance(&m, 1, 0).to_bits(),
            "symmetry: {a:?} {b:?}"
        );
        ab
    };
    let close = |got: f64, want: f64, what: &str| {
        // The reference value's own rounding: a few ε.
        let tol = (rel + 8.0 * f64::EPSILON) * want;
        assert!((got - want).abs() <= tol, "{what}: {got:e} vs {want:e}");
    };
    // One stored form per point of the sphere.
    let forms = GreatCircle::new(vec![[90.0, 123.0], [-90.0, -5.0], [10.0, 180.0], [-0.0, -0.0]]);
    assert_eq!(
        forms.points,
        [[90.0, 0.0], [-90.0, 0.0], [10.0, -180.0], [0.0, 0.0]]
    );
    assert!(forms
        .points
        .iter()
        .flatten()
        .all(|x| x.is_sign_positive() || *x < 0.0));
    // Zero exactly for the same point, also as the formula sees other spellings.
    let spelled = GreatCircle {
        points: vec![[90.0, 71.8], [90.0, -77.6], [-12.0, 180.0], [-12.0, -180.0]],
    };
    assert_eq!(spelled.distance(&spelled, 0, 1), 0.0);
    assert_eq!(spelled.distance(&spelled, 2, 3), 0.0);
    assert_eq!(d([90.0, 0.0], [90.0, 123.0]), 0.0);
    assert_eq!(d([-90.0, -180.0], [-90.0, 45.5]), 0.0);
    assert_eq!(d([12.5, 180.0], [12.5, -180.0]), 0.0);
    assert_eq!(d([-33.0, 151.0], [-33.0, 151.0]), 0.0);
    // Long distances, antipodes included (where 2·asin(√h) would be ill-conditioned).
    close(d([90.0, 0.0], [-90.0, 17.0]), PI, "pole to pole");
    close(d([0.0, 0.0], [0.0, 180.0]), PI, "antipodes on the equator");
    close(d([40.0, -74.0], [-40.0, 106.0]), PI, "antipodes");
    close(d([0.0, 10.0], [0.0, 100.0]), FRAC_PI_2, "quarter of the equator");
    close(d([0.0, 10.0], [90.0, 100.0]), FRAC_PI_2, "equator to pole");
    let t = 2f64.powi(-20);
    close(
        d([0.0, 0.0], [0.0, 180.0 - t]),
        PI - t * PI / 180.0,
        "near-antipodes",
    );
    // Tiny distances: relative accuracy across the antimeridian and near the poles.
    let t = 2f64.powi(-30);
    let deg = |x: f64| x * PI / 180.0;
    close(d([10.0, 5.0], [10.0 + t, 5.0]), deg(t), "along a meridian");
    close(
        d([0.0, 180.0 - t], [0.0, -180.0 + t]),
        deg(2.0 * t),
        "across the antimeridian",
    );
    close(
        d([90.0 - t, 0.0], [90.0 - t, 180.0]),
        deg(2.0 * t),
        "across the pole",
    );
    close(
        d([-90.0 + t, 0.0], [-90.0 + t, -180.0]),
        deg(2.0 * t),
        "across the south pole",
    );
    let a = deg(t); // colatitude; sin(d/2) = sin(a)·sin(45°) exactly
    let want = 2.0 * (a.sin() * std::f64::consts::FRAC_1_SQRT_2).asin();
    close(
        d([90.0 - t, 20.0], [90.0 - t, 110.0]),
        want,
        "near the pole, 90° apart",
    );

    // Against unit vectors (absolute error a few ε): all kinds of pairs.
    let unit = |[lat, lon]: [f64; 2]| {
        let (p, l) = (lat.to_radians(), lon.to_radians());
        [p.cos() * l.cos(), p.cos() * l.sin(), p.sin()]
    };
    let by_vectors = |a: [f64; 2], b: [f64; 2]| {
        let (p, q) = (unit(a), unit(b));
        let cross = [
            p[1] * q[2] - p[2] * q[1],
            p[2] * q[0] - p[0] * q[2],
            p[0] * q[1] - p[1] * q[0],
        ];
        let norm = (cross[0] * cross[0] + cross[1] * cross[1] + cross[2] * cross[2]).sqrt();
        norm.atan2(p[0] * q[0] + p[1] * q[1] + p[2] * q[2])
    };
    let mut pts = to_sphere(&datagen::uniform(300, 2, 7));
    pts.extend(sphere_edges(300, 8));
    let mut rng = Rng::new(9);
    let mut worst: f64 = 0.0;
    for _ in 0..20_000 {
        let a = pts[rng.below(pts.len() as u64) as usize];
        let b = pts[rng.below(pts.len() as u64) as usize];
        let (got, want) = (d(a, b), by_vectors(a, b));
        let stored = GreatCircle::new(vec![a, b]).points;
        assert_eq!(
            got == 0.0,
            stored[0] == stored[1],
            "zero only for one point: {a:?} {b:?}"
        );
        let err = (got - want).abs();
        assert!(
            err <= rel * want + 32.0 * f64::EPSILON,
            "{a:?} {b:?}: {got:e} vs {want:e}"
        );
        worst = worst.max(err);
    }
    assert!(worst > 0.0, "the two formulas round differently somewhere");

    // The triangle inequality within the stated error: d(a, c) ≤ (d(a, b) + d(b, c))
    // · (1 + δ)/(1 − δ), plus one rounding of the sum. Random triples, and collinear
    // ones on the equator and a meridian (b between a and c: equality in truth).
    let slack = (1.0 + rel) / (1.0 - rel) * (1.0 + 2.0 * f64::EPSILON);
    let triangle = |a: [f64; 2], b: [f64; 2], c: [f64; 2]| {
        let (ac, ab, bc) = (d(a, c), d(a, b), d(b, c));
        assert!(
            ac <= (ab + bc) * slack,
            "{a:?} {b:?} {c:?}: {ac:e} > {ab:e} + {bc:e}"
        );
    };
    for _ in 0..20_000 {
        let [a, b, c] = [0, 1, 2].map(|_| pts[rng.below(pts.len() as u64) as usize]);
        triangle(a, b, c);
        let mut u = [0, 1, 2].map(|_| rng.uniform());
        u.sort_by(f64::total_cmp);
        let [lo, mid, hi] = u;
        let lon = |u: f64| (170.0 + 170.0 * u + 180.0).rem_euclid(360.0) - 180.0;
        triangle([0.0, lon(lo)], [0.0, lon(mid)], [0.0, lon(hi)]);
        triangle(
            [lo * 180.0 - 90.0, -40.0],
            [mid * 180.0 - 90.0, -40.0],
            [hi * 180.0 - 90.0, -40.0],
        );
    }
}
