//! `pcct info`: one fact per line, and a bad `PCCT_ISA` is exit status 2 with one line.

use std::process::Command;

fn pcct() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pcct"))
}

#[test]
fn info_prints_one_fact_per_line() {
    let out = pcct().arg("info").env_remove("PCCT_ISA").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    for key in [
        "pcct version:",
        "cpu:",
        "logical cores:",
        "isa available:",
        "isa active:",
        "bucket sketches:",
    ] {
        assert_eq!(
            text.lines().filter(|l| l.starts_with(key)).count(),
            1,
            "{key} in\n{text}"
        );
    }
    let best = pcct::kernels::isa::best();
    assert!(
        text.contains(&format!("isa active: {best} (best detected)")),
        "{text}"
    );
    let sketches = best >= pcct::kernels::Isa::Avx2Fma || cfg!(target_arch = "aarch64");
    assert_eq!(text.contains("bucket sketches: bf16 ("), sketches, "{text}");
}

#[test]
fn info_reports_forced_level() {
    let out = pcct().arg("info").env("PCCT_ISA", "scalar").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("isa active: scalar (forced by PCCT_ISA=scalar)"),
        "{text}"
    );
    assert!(text.contains("bucket sketches: off at scalar"), "{text}");
}

#[test]
fn unknown_isa_is_exit_2_with_one_line() {
    let out = pcct().arg("info").env("PCCT_ISA", "sse9").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("sse9") && err.contains("PCCT_ISA"), "{err}");
}

#[test]
fn unknown_command_is_exit_2() {
    let out = pcct().arg("no-such-command").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}
