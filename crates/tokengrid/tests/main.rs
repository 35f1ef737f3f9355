//! End-to-end tests of the `tokengrid` binary: exit codes, stdout and stderr as a user sees them.

mod catalog;
mod energy;
mod net;
mod plan;
mod scenario;
mod serve;
mod simulate;

use std::path::PathBuf;
use std::process::{Command, Output};

/// Runs the binary with `args` from the repository root.
pub fn tokengrid(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tokengrid"))
        .args(args)
        .current_dir(repo_root())
        .output()
        .expect("run tokengrid")
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
