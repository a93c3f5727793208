//! `pcct bench`, `pcct stats` and `pcct tune` end to end: the table and its files, the
//! telemetry summary and plot, profiles written, used, shown and refused; bad input is
//! exit status 2 with one line.

use pcct::telemetry::Parsed;
use std::path::PathBuf;
use std::process::{Command, Output};

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pcct-cli-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn pcct(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pcct"))
        .args(args)
        .env_remove("PCCT_ISA")
        .env_remove("PCCT_PROFILE")
        .output()
        .unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "status {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// Exit status 2 and one line on stderr containing `needle`.
fn refused(out: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(needle), "{needle:?} not in {err}");
}

fn records(path: &PathBuf) -> Vec<Parsed> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| Parsed::parse(l).unwrap())
        .collect()
}

#[test]
fn bench_prints_the_table_and_writes_json_stats_and_plot() {
    let (json, stats, svg) = (tmp("b.json"), tmp("b.jsonl"), tmp("b.svg"));
    let text = ok(&pcct(&[
        "bench",
        "--workload",
        "W1,W8",
        "--scale",
        "0.0625",
        "--threads",
        "2",
        "--engine",
        "tree",
        "--baselines",
        "brute,other,sequential",
        "--markdown",
        "--quiet",
        "--json",
        json.to_str().unwrap(),
        "--stats",
        stats.to_str().unwrap(),
        "--plot",
        svg.to_str().unwrap(),
    ]));
    let rows: Vec<&str> = text.lines().filter(|l| l.starts_with("| W")).collect();
    assert_eq!(rows.len(), 2, "{text}");
    assert!(
        rows[0].starts_with("| W1 | 128 | 32 | 8 | 8 | euclidean |"),
        "{text}"
    );
    assert!(
        rows[1].starts_with("| W8 | 4096 | 4096 (pred.) | 30 | 3 | residual matern32"),
        "{text}"
    );
    assert!(text.contains("|---|"), "{text}");
    // Every row has every baseline: only W1's model cell (no GP model) is a dash.
    for col in ["engine", "model s", "brute s", "other build s", "seq build s"] {
        assert!(text.contains(&format!("| {col} |")), "{col}: {text}");
    }
    assert_eq!(rows[0].matches('—').count(), 1, "{text}");
    assert!(!rows[1].contains('—'), "{text}");
    assert!(
        rows.iter().all(|r| r.contains("| tree (")),
        "forced engine: {text}"
    );
    // A legend under the table, and the line that says the answers were checked.
    assert!(
        text.contains("legend: queries:") && text.contains("evals/query = "),
        "{text}"
    );
    assert!(
        text.contains(
            "checked: every pcct answer above equals a naive ranking of 64 queries per row, brute force's answers, \
             the other engine's answers, the sequential tree's answers"
        ),
        "{text}"
    );
    let unchecked = ok(&pcct(&[
        "bench",
        "--workload",
        "W1,W4",
        "--scale",
        "0.0625",
        "--baselines",
        "none",
        "--quiet",
    ]));
    assert!(
        unchecked.contains(
            "checked: every pcct answer above equals a naive ranking of 64 queries per row in this run"
        ),
        "{unchecked}"
    );
    // The plan's choice: a few queries do not repay a build; W4's residual model cannot be split.
    let w4 = unchecked
        .lines()
        .find(|l| l.starts_with("W4 "))
        .expect("a W4 row");
    assert!(w4.contains("dense (100.0 %)"), "{unchecked}");
    assert!(
        !w4.contains("brute"),
        "no baseline columns without baselines: {unchecked}"
    );
    // The terminal table is narrow: the metric by its kind, the residual model below it.
    let table: Vec<&str> = unchecked.lines().filter(|l| l.starts_with('W')).collect();
    assert!(
        table.iter().any(|l| l.starts_with("W4: residual rbf")),
        "{unchecked}"
    );
    assert!(table.iter().all(|l| l.chars().count() <= 170), "{unchecked}");

    let j = std::fs::read_to_string(&json).unwrap();
    assert!(j.starts_with("{\"pcct_version\""), "{j}");
    let rows: Vec<Parsed> = j
        .lines()
        .filter(|l| l.starts_with("{\"record\""))
        .map(|l| Parsed::parse(l.trim_end_matches(',')).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].str("workload"), Some("W8"));
    assert!(rows[1].num("residual_variance_median").unwrap() > 0.05);
    for r in &rows {
        assert!(r.num("build_s").unwrap() > 0.0 && r.num("brute_s").unwrap() > 0.0);
        assert!(r.num("sequential_build_s").is_some());
        assert_eq!(r.str("engine"), Some("tree"));
        assert!(r.str("plan").unwrap().contains("forced"));
    }
    assert!(rows[1].num("model_s").unwrap() > 0.0);

    let recs = records(&stats);
    for kind in ["plan", "batch", "build", "query", "summary"] {
        for w in ["W1", "W8"] {
            assert!(
                recs.iter()
                    .any(|r| r.str("record") == Some(kind) && r.str("workload") == Some(w)),
                "no {kind} record for {w}"
            );
        }
    }

    // Four sizes per workload, one panel each, a line per engine.
    let s = std::fs::read_to_string(&svg).unwrap();
    assert!(s.starts_with("<svg") && s.contains("W1: euclidean") && s.contains("W8: residual"));
    assert_eq!(s.matches("<polyline").count(), 2 * 4);

    // The stats summary of the same file, and its plot.
    let plot = tmp("s.svg");
    let summary = ok(&pcct(&[
        "stats",
        stats.to_str().unwrap(),
        "--plot",
        plot.to_str().unwrap(),
    ]));
    assert!(summary.contains("build stages over"), "{summary}");
    for stage in ["traverse", "scope_csr", "conflicts", "grid", "mis", "apply"] {
        assert!(summary.contains(stage), "{stage} in {summary}");
    }
    assert!(
        summary.contains("slowest batches:") && summary.contains("W8 batch"),
        "{summary}"
    );
    let p = std::fs::read_to_string(&plot).unwrap();
    assert!(p.contains("build time per batch") && p.contains("share of build time by stage"));
}

#[test]
fn bench_refuses_bad_arguments() {
    refused(&pcct(&["bench", "--workload", "W10"]), "unknown workload \"W10\"");
    let same = tmp("same.json");
    let same = same.to_str().unwrap();
    refused(
        &pcct(&["bench", "--json", same, "--stats", same]),
        "are the same file",
    );
    refused(&pcct(&["bench", "--repeat", "0"]), "--repeat must be at least 1");
    refused(&pcct(&["bench", "--scale", "0"]), "not a positive factor");
    refused(
        &pcct(&["bench", "--baselines", "kdtree"]),
        "unknown baseline \"kdtree\"",
    );
    refused(
        &pcct(&["bench", "--json", "/no/such/folder/b.json"]),
        "folder does not exist",
    );
    refused(
        &pcct(&["bench", "--profile", "/no/such/profile.json"]),
        "profile.json",
    );
}

#[test]
fn stats_refuses_bad_files() {
    let bad = tmp("bad.jsonl");
    std::fs::write(&bad, "{\"record\":\"batch\",\"size\":3}\n{\"record\":\n").unwrap();
    refused(&pcct(&["stats", bad.to_str().unwrap()]), "line 2");
    let empty = tmp("empty.jsonl");
    std::fs::write(&empty, "\n").unwrap();
    refused(&pcct(&["stats", empty.to_str().unwrap()]), "no records");
    refused(&pcct(&["stats", "/no/such/file.jsonl"]), "file.jsonl");
}

#[test]
fn tune_writes_a_profile_that_bench_info_and_knn_use() {
    let profile = tmp("profile.json");
    let text = ok(&pcct(&[
        "tune",
        "--quick",
        "--quiet",
        "--threads",
        "2",
        "--out",
        profile.to_str().unwrap(),
    ]));
    assert!(
        text.contains("check (W3") && text.contains("tuned / default"),
        "{text}"
    );
    let p = pcct::tuning::Profile::load(&profile).unwrap();
    assert!(p.isa.is_available());
    assert!(p.measurements.iter().any(|(k, _)| *k == "check_tuned_s"));

    let info = Command::new(env!("CARGO_BIN_EXE_pcct"))
        .arg("info")
        .env_remove("PCCT_ISA")
        .env("PCCT_PROFILE", &profile)
        .output()
        .unwrap();
    let info = ok(&info);
    assert!(
        info.contains(&format!("isa active: {} (selected by the tuning profile)", p.isa)),
        "{info}"
    );
    assert!(info.contains("tuning profile: active:"), "{info}");

    let table = ok(&pcct(&[
        "bench",
        "--workload",
        "W1",
        "--scale",
        "0.25",
        "--quiet",
        "--profile",
        profile.to_str().unwrap(),
    ]));
    assert!(
        table.contains(&format!("ISA {} · profile {}", p.isa, profile.display())),
        "{table}"
    );

    // A profile from another CPU is refused, by every command that loads one.
    let foreign = tmp("foreign.json");
    let text = std::fs::read_to_string(&profile).unwrap();
    let cpu = format!("\"cpu\":\"{}\"", pcct::tuning::cpu_id());
    assert!(text.contains(&cpu));
    std::fs::write(
        &foreign,
        text.replace(&cpu, "\"cpu\":\"Other CPU (x86_64; scalar)\""),
    )
    .unwrap();
    let f = foreign.to_str().unwrap();
    refused(
        &pcct(&["bench", "--workload", "W1", "--profile", f]),
        "made on CPU",
    );
    let data = tmp("x.csv");
    std::fs::write(&data, "0,0\n1,1\n2,2\n").unwrap();
    let ids = tmp("ids.csv");
    refused(
        &pcct(&[
            "knn",
            "--data",
            data.to_str().unwrap(),
            "--k",
            "1",
            "--self",
            "--out-ids",
            ids.to_str().unwrap(),
            "--profile",
            f,
        ]),
        "run pcct tune on this machine",
    );
    let info = Command::new(env!("CARGO_BIN_EXE_pcct"))
        .arg("info")
        .env_remove("PCCT_ISA")
        .env("PCCT_PROFILE", &foreign)
        .output()
        .unwrap();
    assert!(ok(&info).contains("tuning profile: refused:"));
}
