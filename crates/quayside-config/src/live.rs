//! The settings a running server may switch on a configuration reload
//! (SIGHUP) without a restart: `REGISTRY_STATE` and `DISABLE_PUSHES`.
//! Everything else needs a restart, as in Quay.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::Config;

/// Live, lock-free view of the reloadable settings.
#[derive(Debug, Default)]
pub struct LiveSettings {
    read_only: AtomicBool,
    disable_pushes: AtomicBool,
}

impl LiveSettings {
    pub fn from_config(config: &Config) -> LiveSettings {
        let live = LiveSettings::default();
        live.apply(config);
        live
    }

    /// Takes the reloadable values from a (validated) configuration.
    /// Returns whether anything changed.
    pub fn apply(&self, config: &Config) -> bool {
        let ro = config.is_readonly();
        let dp = config.disable_pushes;
        let before = (self.read_only(), self.disable_pushes());
        self.read_only.store(ro, Ordering::SeqCst);
        self.disable_pushes.store(dp, Ordering::SeqCst);
        before != (ro, dp)
    }

    /// `REGISTRY_STATE: readonly`.
    pub fn read_only(&self) -> bool {
        self.read_only.load(Ordering::SeqCst)
    }

    /// `DISABLE_PUSHES`.
    pub fn disable_pushes(&self) -> bool {
        self.disable_pushes.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_switches_and_reports_changes() {
        let normal = Config::from_yaml_str("REGISTRY_STATE: normal\n").expect("config");
        let ro = Config::from_yaml_str("REGISTRY_STATE: readonly\nDISABLE_PUSHES: true\n")
            .expect("config");
        let live = LiveSettings::from_config(&normal);
        assert!(!live.read_only() && !live.disable_pushes());
        assert!(live.apply(&ro), "a change is reported");
        assert!(live.read_only() && live.disable_pushes());
        assert!(!live.apply(&ro), "no change is reported as none");
        assert!(live.apply(&normal));
        assert!(!live.read_only() && !live.disable_pushes());
    }
}
