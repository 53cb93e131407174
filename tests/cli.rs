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

fn tunelab(args: &[&str]) -> (bool, String, String) {
    let output =
        Command::new(env!("CARGO_BIN_EXE_tunelab")).args(args).args(["--data", concat!(env!("CARGO_MANIFEST_DIR"), "/public/mnist")]).output().unwrap();
    (output.status.success(), String::from_utf8_lossy(&output.stdout).into(), String::from_utf8_lossy(&output.stderr).into())
}

#[test]
fn train_tunes_the_learning_rate_and_l2_by_their_hypergradients() {
    let common = ["train", "--subset", "300", "--epochs", "1", "--batch", "32", "--conv-layers", "1", "--dense", "0", "--l2", "0.01"];
    let (ok, out, err) = tunelab(&[&common[..], &["--lr-hypergradient", "0.0001", "--l2-hypergradient", "0.02"]].concat());
    assert!(ok, "{err}");
    assert!(out.contains("learning rate moved by its hypergradient from 0.01 to"), "{out}");
    assert!(out.contains("L2 moved by its hypergradient from 0.01 to") && out.contains("over 1 hyper steps"), "{out}");
    // With all 60,000 images in training there is nothing held out to tune L2 on.
    let (ok, _, err) = tunelab(&["train", "--full", "--epochs", "1", "--l2-hypergradient", "0.02"]);
    assert!(!ok && err.contains("held-out training images"), "{err}");
}
