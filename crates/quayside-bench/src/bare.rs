//! The download reference: a bare HTTP/1.1 server in the harness that answers every request
//! with one file sent by `sendfile(2)`. No framework, no auth, no database, no routing: what a
//! server that does nothing but hand the file to the kernel achieves with the harness's client
//! over one loopback connection on this machine, measured in the same run as the registries.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;

use anyhow::{Context, Result};

/// A running bare server; it serves until the harness exits.
pub struct BareServer {
    pub addr: SocketAddr,
    pub size: u64,
}

impl BareServer {
    /// Writes `data` to `dir/bare-sendfile-blob` and serves it on a free loopback port.
    pub fn start(dir: &Path, data: &[u8]) -> Result<BareServer> {
        let path = dir.join("bare-sendfile-blob");
        std::fs::write(&path, data).context("write the bare server's blob")?;
        let listener = TcpListener::bind("127.0.0.1:0").context("bind the bare server")?;
        let addr = listener.local_addr().context("bare server address")?;
        std::thread::Builder::new()
            .name("bare-accept".into())
            .spawn(move || {
                for conn in listener.incoming().flatten() {
                    let path = path.clone();
                    let _ = std::thread::Builder::new()
                        .name("bare-conn".into())
                        .spawn(move || {
                            // A failed connection is the client's business; it reports it.
                            let _ = serve(conn, &path);
                        });
                }
            })
            .context("start the bare server")?;
        Ok(BareServer {
            addr,
            size: data.len() as u64,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}/blob", self.addr)
    }
}

/// Answers requests on one keep-alive connection until the client closes it.
fn serve(mut conn: TcpStream, path: &Path) -> std::io::Result<()> {
    conn.set_nodelay(true)?;
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        // Read one request head (the harness sends GETs without bodies).
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = conn.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            head.extend_from_slice(&buf[..n]);
        }
        let end = head
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(head.len(), |p| p + 4);
        head.drain(..end);
        let file = std::fs::File::open(path)?;
        let size = file.metadata()?.len();
        conn.write_all(
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\
                 Content-Length: {size}\r\n\r\n"
            )
            .as_bytes(),
        )?;
        let mut offset = 0u64;
        while offset < size {
            let left = usize::try_from(size - offset).unwrap_or(usize::MAX);
            let n = rustix::fs::sendfile(&conn, &file, Some(&mut offset), left.min(1 << 30))?;
            if n == 0 {
                return Ok(());
            }
        }
    }
}
