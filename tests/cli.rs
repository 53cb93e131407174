//! The `tunelab` command line as a shell uses it.

use std::process::{Command, Stdio};

#[test]
fn a_closed_standard_output_ends_a_command_quietly() {
    // `tunelab bench | head -0`: the reader is gone before the first line is written.
    let mut child = Command::new(env!("CARGO_BIN_EXE_tunelab"))
        .args(["bench", "--net", "lenet5", "--runs", "1", "--images", "64", "--data", concat!(env!("CARGO_MANIFEST_DIR"), "/public/mnist")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success() && !stderr.contains("panicked"), "{:?}: {stderr}", output.status);
}
