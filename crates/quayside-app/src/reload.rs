//! Configuration reload on SIGHUP: the reloadable settings
//! ([`quayside_config::LiveSettings`]: `REGISTRY_STATE`, `DISABLE_PUSHES`)
//! switch atomically; requests in flight finish under the settings they
//! started with. A configuration that fails to load or to validate is
//! refused and the running settings stay.

use std::sync::Arc;

use quayside_config::{EnvOverrides, LiveSettings};

use crate::bootstrap::Source;

/// Re-reads the configuration and applies the reloadable settings.
/// Returns whether anything changed, or every problem found.
pub fn reload(source: &Source, env: &EnvOverrides, live: &LiveSettings) -> Result<bool, String> {
    let Source::ConfigDir(dir) = source else {
        return Err("the embedded default has no configuration file to reload".into());
    };
    let config = quayside_config::load_dir(dir, env).map_err(|e| e.to_string())?;
    let failures = quayside_config::validate(&config, &config.bundle);
    if !failures.is_empty() {
        return Err(quayside_config::render_table(&failures));
    }
    Ok(live.apply(&config))
}

/// Reloads on every SIGHUP until the process ends.
pub async fn on_sighup(source: Source, live: Arc<LiveSettings>) {
    #[cfg(unix)]
    {
        let mut hup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGHUP; configuration reload is off");
                return;
            }
        };
        while hup.recv().await.is_some() {
            match reload(&source, &EnvOverrides::from_process_env(), &live) {
                Ok(changed) => tracing::info!(
                    changed,
                    read_only = live.read_only(),
                    disable_pushes = live.disable_pushes(),
                    "configuration reloaded"
                ),
                Err(problems) => tracing::error!(
                    "configuration reload failed; keeping the running settings:\n{problems}"
                ),
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (source, live);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reload_applies_valid_configs_and_refuses_broken_ones() {
        let dir = tempfile::tempdir().expect("tempdir");
        let base = format!(
            "SETUP_COMPLETE: true\nSERVER_HOSTNAME: localhost:8080\nDB_URI: sqlite:///{db}\nDATABASE_SECRET_KEY: k\n\
             BUILDLOGS_REDIS: {{host: localhost}}\nUSER_EVENTS_REDIS: {{host: localhost}}\n\
             DISTRIBUTED_STORAGE_CONFIG: {{local: [LocalStorage, {{storage_path: {st}}}]}}\nDISTRIBUTED_STORAGE_PREFERENCE: [local]\n",
            db = dir.path().join("q.db").display(),
            st = dir.path().join("s").display()
        );
        let write = |extra: &str| {
            std::fs::write(dir.path().join("config.yaml"), format!("{base}{extra}")).expect("write")
        };
        let source = Source::ConfigDir(dir.path().to_path_buf());
        let env = EnvOverrides::default();
        let live = LiveSettings::default();
        write("");
        assert_eq!(reload(&source, &env, &live), Ok(false));
        write("REGISTRY_STATE: readonly\n");
        assert_eq!(reload(&source, &env, &live), Ok(true));
        assert!(live.read_only());
        write("REGISTRY_STATE: sideways\n");
        let err = reload(&source, &env, &live).expect_err("invalid state refused");
        assert!(err.contains("REGISTRY_STATE"), "{err}");
        assert!(
            live.read_only(),
            "a refused reload keeps the running settings"
        );
        std::fs::write(dir.path().join("config.yaml"), "REGISTRY_STATE: [broken\n").expect("write");
        assert!(reload(&source, &env, &live).is_err());
        assert!(live.read_only());
        assert!(reload(&Source::Embedded(dir.path().to_path_buf()), &env, &live).is_err());
    }
}
