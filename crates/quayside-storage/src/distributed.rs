//! Quay's named storage locations and the preference order between them
//! (`DISTRIBUTED_STORAGE_CONFIG`, `DISTRIBUTED_STORAGE_PREFERENCE`).

use std::collections::BTreeMap;

use crate::driver::LocationConfig;
use crate::{Engine, StorageError};

/// All configured locations of one instance.
#[derive(Clone, Debug)]
pub struct DistributedStorage {
    engines: BTreeMap<String, Engine>,
    preference: Vec<String>,
}

impl DistributedStorage {
    /// Opens every configured location. An empty `preference` means every
    /// location, in id order (what Quay does at runtime).
    pub fn open(locations: &[LocationConfig], preference: &[String]) -> Result<Self, StorageError> {
        let engines = locations
            .iter()
            .map(|loc| Engine::open(loc).map(|e| (loc.id.clone(), e)))
            .collect::<Result<BTreeMap<_, _>, _>>()?;
        Self::from_engines(engines.into_values().collect(), preference)
    }

    /// Builds from already-open engines (tests use in-memory ones).
    pub fn from_engines(engines: Vec<Engine>, preference: &[String]) -> Result<Self, StorageError> {
        if engines.is_empty() {
            return Err(StorageError::NoLocations);
        }
        let engines: BTreeMap<String, Engine> = engines
            .into_iter()
            .map(|e| (e.id().to_string(), e))
            .collect();
        if let Some(missing) = preference.iter().find(|p| !engines.contains_key(*p)) {
            return Err(StorageError::UnknownLocation(missing.clone()));
        }
        let preference = if preference.is_empty() {
            engines.keys().cloned().collect()
        } else {
            preference.to_vec()
        };
        Ok(DistributedStorage {
            engines,
            preference,
        })
    }

    /// The location that receives new uploads (first preference).
    pub fn preferred(&self) -> &Engine {
        // `from_engines` guarantees a non-empty preference naming real engines.
        &self.engines[&self.preference[0]]
    }

    pub fn preference(&self) -> &[String] {
        &self.preference
    }

    pub fn engine(&self, id: &str) -> Option<&Engine> {
        self.engines.get(id)
    }

    pub fn engines(&self) -> impl Iterator<Item = &Engine> {
        self.engines.values()
    }

    /// Every configured location holding a blob, in the order to read from: preferred
    /// locations first (in preference order), then the other placements.
    pub fn read_locations(&self, placements: &[String]) -> Vec<&Engine> {
        let mut out: Vec<&Engine> = Vec::new();
        let ordered = self
            .preference
            .iter()
            .filter(|p| placements.contains(p))
            .chain(placements.iter());
        for id in ordered {
            if let Some(e) = self.engines.get(id) {
                if !out.iter().any(|o| o.id() == e.id()) {
                    out.push(e);
                }
            }
        }
        out
    }

    /// Picks where to read a blob from, given the locations it is placed in:
    /// the first preferred location that has it, else any placement.
    pub fn read_location(&self, placements: &[String]) -> Option<&Engine> {
        self.preference
            .iter()
            .find(|p| placements.contains(p))
            .or_else(|| placements.iter().find(|p| self.engines.contains_key(*p)))
            .and_then(|id| self.engines.get(id))
    }
}
