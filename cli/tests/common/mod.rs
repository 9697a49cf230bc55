//! What the CLI's process tests share.

use std::io::{BufRead, BufReader};
use std::process::Child;
use std::sync::mpsc;
use std::thread::JoinHandle;

/// Reads the child's stdout line by line on a thread (the child must have a piped stdout).
pub fn stdout_lines(child: &mut Child) -> (mpsc::Receiver<String>, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel();
    let out = child.stdout.take().expect("stdout piped");
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (rx, reader)
}
