//! The image's build stage without a container engine: the files the Dockerfile's build stage `COPY`s, less
//! what `.dockerignore` leaves out of the context, laid out in a scratch folder, and the binary compiled
//! there (`cargo check`: every `include_str!`, template and migration the build reads) — so a file the build
//! needs and the image does not copy fails here, not at a user's `docker build`.
//!
//! A cold check of every dependency takes minutes: it runs where `HOOKARR_TEST_CONTAINER_BUILD` is set
//! (`.ci/run` sets it), else says SKIPPED. The parsing of both files is checked everywhere.

use crate::helpers::report_skip;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One `COPY` of the build stage: its sources (relative to the context) and its destination (relative to
/// the stage's `WORKDIR`).
#[derive(Debug, PartialEq)]
struct Copy {
    sources: Vec<String>,
    dest: String,
}

/// The `COPY` lines of the Dockerfile's first stage (up to its second `FROM`), but `--from=` ones.
fn build_stage_copies(dockerfile: &str) -> Vec<Copy> {
    let mut froms = 0;
    let mut copies = Vec::new();
    for line in dockerfile.lines().map(str::trim) {
        let mut words = line.split_whitespace();
        match words.next().map(str::to_ascii_uppercase).as_deref() {
            Some("FROM") => {
                froms += 1;
                if froms > 1 {
                    break;
                }
            }
            Some("COPY") => {
                let args: Vec<String> = words
                    .filter(|w| !w.starts_with("--"))
                    .map(str::to_owned)
                    .collect();
                if line.contains("--from=") || args.len() < 2 {
                    continue;
                }
                let (dest, sources) = args.split_last().unwrap();
                copies.push(Copy {
                    sources: sources.to_vec(),
                    dest: dest.clone(),
                });
            }
            _ => {}
        }
    }
    copies
}

/// `.dockerignore`'s patterns in order (`!` ones re-include), as Docker reads them.
struct Ignore(Vec<(bool, String)>);

impl Ignore {
    fn parse(text: &str) -> Ignore {
        Ignore(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(|l| match l.strip_prefix('!') {
                    Some(p) => (false, p.trim_matches('/').to_owned()),
                    None => (true, l.trim_matches('/').to_owned()),
                })
                .collect(),
        )
    }

    /// Whether `path` (relative to the context) is left out: the last pattern that matches it or a
    /// folder above it decides.
    fn excludes(&self, path: &str) -> bool {
        let parts: Vec<&str> = path.split('/').collect();
        let mut excluded = false;
        for (exclude, pattern) in &self.0 {
            let pattern: Vec<&str> = pattern.split('/').collect();
            let hits = (1..=parts.len()).any(|n| {
                n == pattern.len() && parts[..n].iter().zip(&pattern).all(|(p, g)| glob(g, p))
            });
            if hits {
                excluded = *exclude;
            }
        }
        excluded
    }
}

/// `*` and `?` within one path component.
fn glob(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], n: &[u8]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], n) || (!n.is_empty() && go(p, &n[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &n[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), name.as_bytes())
}

/// Every file under `root/rel` (or the file itself), as paths relative to `root`.
fn files_under(root: &Path, rel: &str) -> Vec<String> {
    let path = root.join(rel);
    if path.is_file() {
        return vec![rel.to_owned()];
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&path).unwrap_or_else(|e| panic!("{rel}: {e}")) {
        let name = entry.unwrap().file_name().into_string().unwrap();
        out.extend(files_under(root, &format!("{rel}/{name}")));
    }
    out
}

/// Lays out in `into` what the build stage would hold in its `WORKDIR`.
fn lay_out(repo: &Path, into: &Path) -> Vec<PathBuf> {
    let dockerfile = std::fs::read_to_string(repo.join("Dockerfile")).unwrap();
    let ignore =
        Ignore::parse(&std::fs::read_to_string(repo.join(".dockerignore")).unwrap_or_default());
    let mut laid = Vec::new();
    for copy in build_stage_copies(&dockerfile) {
        let into_folder = copy.dest.ends_with('/') || copy.dest == "." || copy.sources.len() > 1;
        for source in &copy.sources {
            let source = source.trim_end_matches('/');
            for file in files_under(repo, source) {
                if ignore.excludes(&file) {
                    continue;
                }
                // A folder's contents go to the destination (not the folder itself); a file goes into it
                // when it is a folder (`./`), else becomes it.
                let dest = match file.strip_prefix(&format!("{source}/")) {
                    Some(below) => Path::new(&copy.dest).join(below),
                    None if into_folder => Path::new(&copy.dest).join(&file),
                    None => PathBuf::from(&copy.dest),
                };
                let target = into.join(dest);
                std::fs::create_dir_all(target.parent().unwrap()).unwrap();
                std::fs::copy(repo.join(&file), &target).unwrap();
                laid.push(target);
            }
        }
    }
    laid
}

#[test]
fn the_dockerfile_and_dockerignore_are_read_as_docker_reads_them() {
    let copies = build_stage_copies(
        "FROM rust AS build\nWORKDIR /src\nCOPY Cargo.toml Cargo.lock ./\nCOPY src src\n\
         COPY --chown=1:1 docs/tautulli docs/tautulli\nFROM debian\nCOPY --from=build /x /y\nCOPY a b\n",
    );
    assert_eq!(
        copies,
        vec![
            Copy {
                sources: vec!["Cargo.toml".into(), "Cargo.lock".into()],
                dest: "./".into()
            },
            Copy {
                sources: vec!["src".into()],
                dest: "src".into()
            },
            Copy {
                sources: vec!["docs/tautulli".into()],
                dest: "docs/tautulli".into()
            },
        ]
    );
    let ignore = Ignore::parse("target\n*.db\ndocs/*\n!docs/tautulli\n# a comment\n");
    assert!(ignore.excludes("target/release/hookarr"));
    assert!(ignore.excludes("hookarr.db"));
    assert!(
        !ignore.excludes("data/hookarr.db"),
        "`*.db` is the context root's only"
    );
    assert!(ignore.excludes("docs/reference.md"));
    assert!(!ignore.excludes("docs/tautulli/media.json"));
    assert!(!ignore.excludes("src/main.rs"));
}

#[test]
fn the_images_build_stage_compiles_from_what_it_copies() {
    let name = "it::container_build::the_images_build_stage_compiles_from_what_it_copies";
    if std::env::var_os("HOOKARR_TEST_CONTAINER_BUILD").is_none() {
        return report_skip(
            name,
            "a cold `cargo check` in a scratch folder takes minutes; set HOOKARR_TEST_CONTAINER_BUILD=1 (CI does)",
        );
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let scratch = tempfile::tempdir().unwrap();
    let laid = lay_out(repo, scratch.path());
    assert!(
        laid.iter().any(|p| p.ends_with("Cargo.toml")),
        "the build stage copies the manifest: {laid:?}"
    );
    // Its own target folder, kept between runs beside the usual one (a check of the scratch copy is a
    // package of its own to cargo).
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.join("target"))
        .join("container-build-check");
    let out = Command::new(env!("CARGO"))
        .args(["check", "--locked", "--bin", "hookarr"])
        .current_dir(scratch.path())
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the image's build stage does not compile from what the Dockerfile copies:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
