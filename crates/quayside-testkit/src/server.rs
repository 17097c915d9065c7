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

pub(crate) fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
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
