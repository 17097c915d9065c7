//! What the real-server harnesses ([`crate::garage`], [`crate::azurite`]) share: finding the
//! server's program, a free loopback port, and running it under a shell that stops it when
//! the test process ends, however it ends.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The program `$<env>`, else `name` on `PATH`, else the copy `.ci/run` caches at `cached`.
pub(crate) fn find_program(env: &str, name: &str, cached: &str) -> Result<PathBuf, String> {
    if let Ok(p) = std::env::var(env) {
        return Ok(PathBuf::from(p));
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    let cached = PathBuf::from(cached);
    if cached.is_file() {
        return Ok(cached);
    }
    Err(format!(
        "no {name} found (${env}, PATH, {})",
        cached.display()
    ))
}

/// The lowest and one past the highest port [`free_port`] hands out: below Linux's default
/// ephemeral range (32768–60999), so no outgoing connection of this or another process (to
/// PostgreSQL, Garage, …) can be given the port between the probe and the server's bind. A
/// port from `bind(":0")` comes from that very range and was taken by such a connection once
/// in CI.
const PORTS: std::ops::Range<u32> = 15_000..32_000;

/// A loopback port nothing listens on, for a server the test starts next. Each call in a
/// process gives a different port (a counter seeded from the pid, so test binaries run one
/// after another do not start on the same ports), probed with a bind.
pub fn free_port() -> Result<u16, String> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);
    let span = PORTS.end - PORTS.start;
    let _ = NEXT.compare_exchange(
        u32::MAX,
        (std::process::id().wrapping_mul(7919)) % span,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    for _ in 0..span {
        let offset = NEXT.fetch_add(1, Ordering::SeqCst) % span;
        let Ok(port) = u16::try_from(PORTS.start + offset) else {
            continue;
        };
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    Err(format!("no free loopback port in {PORTS:?}"))
}

/// Starts `server_command` (a shell command line using `$0`, `$1`, … for `args`) in the
/// background under `sh`, output to `log`. The shell waits on a pipe from this process: when
/// the returned end closes (the test process exits), it kills the server and removes `dir`.
pub(crate) fn spawn_with_lifeline(
    server_command: &str,
    args: &[&OsStr],
    dir: &Path,
    log: &Path,
    envs: &[(&str, &str)],
) -> Result<std::process::ChildStdin, String> {
    let log = std::fs::File::create(log).map_err(|e| format!("log file: {e}"))?;
    let dir_arg = args.len();
    let script = format!(
        "{server_command} & pid=$!; cat >/dev/null; kill -9 $pid; wait $pid; rm -rf \"${dir_arg}\""
    );
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .args(args)
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .envs(envs.iter().copied())
        .spawn()
        .map_err(|e| format!("starting {server_command}: {e}"))?;
    let lifeline = child
        .stdin
        .take()
        .ok_or_else(|| "no pipe to the server's shell".to_string())?;
    // The shell is reaped by nobody; it ends with the process.
    std::mem::forget(child);
    Ok(lifeline)
}
