//! Writing results to standard output. A closed pipe (`lnedge … | head`) ends the output
//! quietly instead of panicking.

use std::io::{ErrorKind, Write};

/// Prints `text` and a newline. A broken pipe is not an error: the reader has all it wanted.
pub fn line(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() != ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}
