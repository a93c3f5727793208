//! `pcct knn --save-tree / --load-tree` and `pcct update` end to end: a loaded tree
//! answers as the built one, an updated tree answers as brute force over the new point
//! set (deleted ids padded), and bad trees, ids and flags are exit status 2, one line.

use pcct::query::{brute_force_knn, brute_force_predecessor_knn};
use pcct::{datagen, Dataset, Euclidean, Pool};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pcct-cli-update-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn s(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

fn pcct(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pcct"))
        .args(args)
        .env_remove("PCCT_PROFILE")
        .output()
        .unwrap()
}

fn ok(out: Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn refused(out: Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(needle), "{needle:?} not in {err}");
}

fn write_csv(path: &Path, values: &[f64], dim: usize) {
    let text: String = values
        .chunks(dim)
        .map(|r| r.iter().map(|v| format!("{v:?}")).collect::<Vec<_>>().join(",") + "\n")
        .collect();
    std::fs::write(path, text).unwrap();
}

fn read_csv<T: std::str::FromStr>(path: &Path) -> Vec<T>
where
    T::Err: std::fmt::Debug,
{
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .flat_map(|l| l.split(',').map(|v| v.parse::<T>().unwrap()).collect::<Vec<_>>())
        .collect()
}

fn metric(values: &[f64], dim: usize) -> Euclidean<f64> {
    Euclidean::new(Dataset::from_rows(values, values.len() / dim, dim).unwrap()).unwrap()
}

#[test]
fn saved_trees_answer_and_update_like_brute_force() {
    let dim = 3;
    let values = datagen::with_duplicates(600, dim, 0.2, 5);
    let qvalues = datagen::uniform(40, dim, 6);
    let (data, queries) = (tmp("x.csv"), tmp("q.csv"));
    write_csv(&data, &values, dim);
    write_csv(&queries, &qvalues, dim);
    let (tree, a, b) = (tmp("t.pcct"), tmp("a.csv"), tmp("b.csv"));
    ok(pcct(&[
        "knn",
        "--data",
        &s(&data),
        "--k",
        "5",
        "--queries",
        &s(&queries),
        "--out-ids",
        &s(&a),
        "--save-tree",
        &s(&tree),
        "--quiet",
    ]));
    let stats = tmp("load.jsonl");
    ok(pcct(&[
        "knn",
        "--load-tree",
        &s(&tree),
        "--k",
        "5",
        "--queries",
        &s(&queries),
        "--out-ids",
        &s(&b),
        "--stats",
        &s(&stats),
        "--quiet",
    ]));
    assert_eq!(read_csv::<i64>(&a), read_csv::<i64>(&b));
    assert!(std::fs::read_to_string(&stats)
        .unwrap()
        .contains("\"builder\":\"loaded\""));

    // Update: delete some ids (text file, comments and blank lines allowed), insert rows.
    let gone: Vec<u32> = (0..600).step_by(7).collect();
    let ids_file = tmp("gone.txt");
    let text: String = gone.iter().map(|i| format!("{i}\n")).collect();
    std::fs::write(&ids_file, format!("# ids to delete\n\n{text}")).unwrap();
    let new_values = datagen::uniform(50, dim, 7);
    let new_file = tmp("new.csv");
    write_csv(&new_file, &new_values, dim);
    let t2 = tmp("t2.pcct");
    let said = ok(pcct(&[
        "update",
        "--tree",
        &s(&tree),
        "--delete",
        &s(&ids_file),
        "--insert",
        &s(&new_file),
        "--out",
        &s(&t2),
        "--quiet",
    ]));
    assert!(
        said.contains("ids 600..649") && said.contains("→ 564 points"),
        "{said}"
    );

    let (c, cd) = (tmp("c.csv"), tmp("cd.csv"));
    ok(pcct(&[
        "knn",
        "--load-tree",
        &s(&t2),
        "--k",
        "4",
        "--predecessor",
        "--out-ids",
        &s(&c),
        "--out-dists",
        &s(&cd),
        "--quiet",
    ]));
    // The oracle over the live points, in id order (so ties by id agree).
    let mut all = values.clone();
    all.extend_from_slice(&new_values);
    let live: Vec<u32> = (0..650u32).filter(|i| !gone.contains(i)).collect();
    let dense: Vec<f64> = live
        .iter()
        .flat_map(|&i| all[i as usize * dim..(i as usize + 1) * dim].to_vec())
        .collect();
    let pool = Pool::new(2).unwrap();
    let want = brute_force_predecessor_knn(&metric(&dense, dim), 4, &pool).unwrap();
    let (got_ids, got_d) = (read_csv::<i64>(&c), read_csv::<f64>(&cd));
    assert_eq!(got_ids.len(), 650 * 4);
    for (r, &id) in live.iter().enumerate() {
        for j in 0..4 {
            let w = want.ids()[r * 4 + j];
            let w = if w == u32::MAX {
                -1
            } else {
                live[w as usize] as i64
            };
            assert_eq!(got_ids[id as usize * 4 + j], w, "id {id}");
            assert_eq!(got_d[id as usize * 4 + j], want.dists()[r * 4 + j], "id {id}");
        }
    }
    for &g in &gone {
        assert!(got_ids[g as usize * 4..g as usize * 4 + 4]
            .iter()
            .all(|&x| x == -1));
    }
    // The old file is untouched and still answers as before.
    let b2 = tmp("b2.csv");
    ok(pcct(&[
        "knn",
        "--load-tree",
        &s(&tree),
        "--k",
        "5",
        "--queries",
        &s(&queries),
        "--out-ids",
        &s(&b2),
        "--quiet",
    ]));
    assert_eq!(read_csv::<i64>(&a), read_csv::<i64>(&b2));
    let want = brute_force_knn(&metric(&values, dim), &metric(&qvalues, dim), 5, &pool).unwrap();
    let want: Vec<i64> = want.ids().iter().map(|&i| i as i64).collect();
    assert_eq!(read_csv::<i64>(&b2), want);

    // Ids as int64 .npy.
    let npy = tmp("gone.npy");
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    let dict = "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }\n";
    bytes.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    bytes.extend_from_slice(dict.as_bytes());
    for id in [1i64, 2] {
        bytes.extend_from_slice(&id.to_le_bytes());
    }
    std::fs::write(&npy, bytes).unwrap();
    let t3 = tmp("t3.pcct");
    let said = ok(pcct(&[
        "update",
        "--tree",
        &s(&t2),
        "--delete",
        &s(&npy),
        "--out",
        &s(&t3),
        "--quiet",
    ]));
    assert!(
        said.contains("deleted 2") && said.contains("→ 562 points"),
        "{said}"
    );

    // Bad input: one line, exit status 2.
    refused(
        pcct(&["update", "--tree", &s(&tree), "--out", &s(&t3)]),
        "--insert",
    );
    refused(
        pcct(&[
            "update",
            "--tree",
            &s(&t2),
            "--delete",
            &s(&ids_file),
            "--out",
            &s(&t3),
        ]),
        "point 0 is not in the tree (deleted before)",
    );
    let bad_ids = tmp("bad.txt");
    std::fs::write(&bad_ids, "3\nseven\n").unwrap();
    refused(
        pcct(&[
            "update",
            "--tree",
            &s(&tree),
            "--delete",
            &s(&bad_ids),
            "--out",
            &s(&t3),
        ]),
        "line 2",
    );
    std::fs::write(&bad_ids, "-4\n").unwrap();
    refused(
        pcct(&[
            "update",
            "--tree",
            &s(&tree),
            "--delete",
            &s(&bad_ids),
            "--out",
            &s(&t3),
        ]),
        "id -4 is outside",
    );
    let mut corrupt = std::fs::read(&tree).unwrap();
    let mid = corrupt.len() / 2;
    corrupt[mid] ^= 4;
    let bad_tree = tmp("bad.pcct");
    std::fs::write(&bad_tree, corrupt).unwrap();
    refused(
        pcct(&[
            "knn",
            "--load-tree",
            &s(&bad_tree),
            "--k",
            "3",
            "--self",
            "--out-ids",
            &s(&b),
        ]),
        "checksum",
    );
    refused(
        pcct(&[
            "update",
            "--tree",
            &s(&bad_tree),
            "--delete",
            &s(&npy),
            "--out",
            &s(&t3),
        ]),
        "checksum",
    );
    refused(
        pcct(&[
            "knn",
            "--load-tree",
            &s(&tree),
            "--data",
            &s(&data),
            "--k",
            "3",
            "--self",
            "--out-ids",
            &s(&b),
        ]),
        "cannot be used with",
    );
    let flat = tmp("flat.csv");
    write_csv(&flat, &[0.5, 0.5], 2);
    refused(
        pcct(&[
            "update",
            "--tree",
            &s(&tree),
            "--insert",
            &s(&flat),
            "--out",
            &s(&t3),
        ]),
        "dimension",
    );
}

#[test]
fn residual_trees_save_load_and_update() {
    let dim = 2;
    let (x, z, q) = (tmp("rx.csv"), tmp("rz.csv"), tmp("rq.csv"));
    write_csv(&x, &datagen::uniform(300, dim, 1), dim);
    write_csv(&z, &datagen::uniform(20, dim, 2), dim);
    write_csv(&q, &datagen::uniform(25, dim, 3), dim);
    let (tree, a, b) = (tmp("r.pcct"), tmp("ra.csv"), tmp("rb.csv"));
    let (x_s, q_s, z_s, a_s, tree_s) = (s(&x), s(&q), s(&z), s(&a), s(&tree));
    let model = [
        "--metric",
        "residual",
        "--inducing",
        &z_s,
        "--kernel",
        "matern52",
        "--lengthscale",
        "0.3",
    ];
    let mut args = vec!["knn", "--data", &x_s, "--k", "6", "--queries", &q_s];
    args.extend_from_slice(&model);
    args.extend_from_slice(&["--out-ids", &a_s, "--save-tree", &tree_s, "--quiet"]);
    ok(pcct(&args));
    ok(pcct(&[
        "knn",
        "--load-tree",
        &s(&tree),
        "--k",
        "6",
        "--queries",
        &s(&q),
        "--out-ids",
        &s(&b),
        "--quiet",
    ]));
    assert_eq!(read_csv::<i64>(&a), read_csv::<i64>(&b));
    let t2 = tmp("r2.pcct");
    let said = ok(pcct(&[
        "update",
        "--tree",
        &s(&tree),
        "--insert",
        &s(&q),
        "--out",
        &s(&t2),
        "--quiet",
    ]));
    assert!(said.contains("→ 325 points"), "{said}");
    // Each query point is now in the tree: its nearest neighbour is itself.
    ok(pcct(&[
        "knn",
        "--load-tree",
        &s(&t2),
        "--k",
        "1",
        "--queries",
        &s(&q),
        "--out-ids",
        &s(&b),
        "--quiet",
    ]));
    assert_eq!(read_csv::<i64>(&b), (300..325).collect::<Vec<i64>>());
}
