//! Files of the config bundle that live next to `config.yaml` (recorded, never parsed here).

use std::path::{Path, PathBuf};

/// TLS-related files present in the config directory. Paths only; the app layer parses them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BundleFiles {
    /// `<dir>/ssl.cert` if it exists.
    pub ssl_cert: Option<PathBuf>,
    /// `<dir>/ssl.key` if it exists.
    pub ssl_key: Option<PathBuf>,
    /// `<dir>/extra_ca_certs/` if it exists and is a directory.
    pub extra_ca_certs_dir: Option<PathBuf>,
    /// Regular files inside `extra_ca_certs/`, sorted.
    pub extra_ca_certs: Vec<PathBuf>,
}

impl BundleFiles {
    /// Look for `ssl.cert`, `ssl.key` and `extra_ca_certs/` in `dir`.
    pub fn scan(dir: &Path) -> BundleFiles {
        let file = |name: &str| {
            let p = dir.join(name);
            p.is_file().then_some(p)
        };
        let extra_dir = dir.join("extra_ca_certs");
        let (extra_ca_certs_dir, extra_ca_certs) = if extra_dir.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&extra_dir)
                .map(|rd| {
                    rd.filter_map(Result::ok)
                        .map(|e| e.path())
                        .filter(|p| p.is_file())
                        .collect()
                })
                .unwrap_or_default();
            files.sort();
            (Some(extra_dir), files)
        } else {
            (None, Vec::new())
        };
        BundleFiles {
            ssl_cert: file("ssl.cert"),
            ssl_key: file("ssl.key"),
            extra_ca_certs_dir,
            extra_ca_certs,
        }
    }
}
