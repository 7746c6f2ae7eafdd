//! The fuzz corpora, replayed on stable: every input cargo fuzz saved (`fuzz/corpus/<target>/`) and every
//! input that once failed (`fuzz/regressions/<target>/`) goes through the same target body again. A panic or a
//! broken invariant names the file.

use std::path::{Path, PathBuf};

fn inputs(folder: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_saved_fuzz_input_runs_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut failures = Vec::new();
    for (target, run) in hookarr::fuzzing::TARGETS {
        let corpus = inputs(&root.join("corpus").join(target));
        assert!(
            corpus.len() >= 3,
            "fuzz/corpus/{target} holds {} inputs: run `python3 fuzz/seed.py`",
            corpus.len()
        );
        let regressions = inputs(&root.join("regressions").join(target));
        for path in corpus.iter().chain(&regressions) {
            // A fuzzer running beside the tests may have just merged the file away.
            let data = match std::fs::read(path) {
                Ok(data) => data,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => panic!("{}: {e}", path.display()),
            };
            if std::panic::catch_unwind(|| run(&data)).is_err() {
                failures.push(path.display().to_string());
            }
        }
    }
    assert!(failures.is_empty(), "inputs that fail: {failures:#?}");
}
