//! `tunelab ask-tell` driven from outside, as a user's script would: a child process fed one
//! result per proposal over pipes, on a function the project's unit tests do not use.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

#[test]
fn a_script_can_tune_its_own_function_over_json_lines() {
    let dir = std::env::temp_dir().join(format!("tunelab-ask-tell-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let space = dir.join("space.json");
    std::fs::write(&space, r#"{"params": [{"name": "x", "type": "float", "low": -3, "high": 3}, {"name": "y", "type": "float", "low": 0.01, "high": 100, "log": true}, {"name": "shape", "type": "categorical", "choices": ["bowl", "ridge"]}]}"#).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tunelab"))
        .args(["ask-tell", "--space", space.to_str().unwrap(), "--method", "random", "--seed", "11", "--budget", "40", "--batch", "4", "--maximize"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let mut output = BufReader::new(child.stdout.take().unwrap()).lines();
    // A function to maximise: best at x = 1, y = 1, on the bowl; every 7th trial "crashes".
    let f = |x: f64, y: f64, shape: &str| -(x - 1.0).powi(2) - y.ln().powi(2) - if shape == "ridge" { 0.5 } else { 0.0 };
    let (mut best, mut answered) = (f64::NEG_INFINITY, 0);
    // Send a malformed line first: it must be reported and ignored.
    writeln!(input, "{{\"trial\": \"zero\"}}").unwrap();
    while answered < 40 {
        let line = output.next().unwrap().unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        let id = v["trial"].as_u64().unwrap();
        let p = &v["params"];
        if id % 7 == 6 {
            writeln!(input, "{{\"trial\": {id}, \"state\": \"failed\"}}").unwrap();
        } else {
            let value = f(p["x"].as_f64().unwrap(), p["y"].as_f64().unwrap(), p["shape"].as_str().unwrap());
            best = best.max(value);
            writeln!(input, "{{\"trial\": {id}, \"value\": {value}}}").unwrap();
        }
        answered += 1;
    }
    // The budget is spent: the summary comes without closing the input (a driver may wait for
    // it first). Read it on another thread, so that a regression fails instead of hanging.
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || sender.send(output.next().unwrap().unwrap()).ok());
    let line = receiver.recv_timeout(std::time::Duration::from_secs(30));
    drop(input);
    let summary: serde_json::Value = serde_json::from_str(&line.expect("the summary arrives while the input is still open")).unwrap();
    assert_eq!(summary["trials"], 40);
    assert_eq!(summary["failed"], 5);
    assert_eq!(summary["best"]["value"].as_f64().unwrap(), best);
    let status = child.wait_with_output().unwrap();
    assert!(status.status.success());
    let stderr = String::from_utf8(status.stderr).unwrap();
    assert!(stderr.contains("cannot read"), "the bad line is reported: {stderr}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_bad_space_file_is_an_error_naming_the_param() {
    let dir = std::env::temp_dir().join(format!("tunelab-ask-tell-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let space = dir.join("space.json");
    std::fs::write(&space, r#"{"params": [{"name": "lr", "type": "float", "low": 0, "high": 1, "log": true}]}"#).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tunelab"))
        .args(["ask-tell", "--space", space.to_str().unwrap(), "--method", "random"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("lr: a log scale needs a positive lower bound"), "{stderr}");
    std::fs::remove_dir_all(&dir).ok();
}
