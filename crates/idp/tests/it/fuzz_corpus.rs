//! The kept fuzz corpus (crates/idp/fuzz/corpus/<target>/: the seeds and every crash fixed since)
//! replayed through the fuzz targets' own bodies (`idp::fuzzing`), on stable and without
//! libFuzzer, so `cargo xtask test` keeps each of those inputs passing.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use idp::fuzzing::TARGETS;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn names_in(dir: &Path, strip: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter_map(|name| name.strip_suffix(strip).map(str::to_owned))
        .collect();
    names.sort();
    names
}

#[test]
fn every_fuzz_target_has_a_body_and_a_corpus() {
    let bodies: Vec<&str> = TARGETS.iter().map(|(name, _)| *name).collect();
    assert_eq!(names_in(&fuzz_dir().join("fuzz_targets"), ".rs"), bodies);
    assert_eq!(names_in(&fuzz_dir().join("corpus"), ""), bodies);
}

#[test]
fn every_kept_fuzz_input_passes_its_target() {
    let mut failed = Vec::new();
    let mut replayed = 0;
    for (name, body) in TARGETS {
        let dir = fuzz_dir().join("corpus").join(name);
        let inputs = names_in(&dir, "");
        assert!(!inputs.is_empty(), "{} is empty", dir.display());
        for input in inputs {
            let path = dir.join(input);
            let data = std::fs::read(&path).unwrap();
            if catch_unwind(AssertUnwindSafe(|| body(&data))).is_err() {
                failed.push(path.display().to_string());
            }
            replayed += 1;
        }
    }
    assert!(failed.is_empty(), "fuzz inputs that fail: {failed:#?}");
    println!("{replayed} fuzz inputs replayed");
}
