//! Upgrades of a database that Quay (or an older quayside) wrote: Quay's Alembic chain as
//! data ([`chain::CHAIN`]), the upgrade-path rules ([`releases`]), planning ([`plan`]) and
//! running ([`crate::Db::upgrade`]).

mod backfill;
mod chain;
pub mod model;
pub mod ops;
pub mod releases;
mod run;
mod sql;

pub use backfill::Secrets;
pub use chain::CHAIN;
pub use run::UpgradeReport;

use ops::{Migration, Op};
use releases::Release;

/// Where `quayside migrate` should take the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// [`crate::ALEMBIC_REVISION`].
    Head,
    /// A revision of the chain, or a release name such as `3.9` (its head).
    Named(String),
}

/// A refusal; every one leaves the database untouched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanError {
    /// The database carries a revision quayside does not know (a newer Quay, or a branch).
    UnknownRevision(String),
    /// The database predates the oldest revision quayside can upgrade from.
    TooOld { found: String, oldest: &'static str },
    /// `--to` names nothing in the chain.
    UnknownTarget(String),
    /// `--to` is older than the database.
    Backwards { found: String, target: &'static str },
    /// The jump breaks the upgrade-path rules.
    Unsupported {
        found: String,
        from: &'static Release,
        to: &'static Release,
        allowed: Vec<&'static Release>,
        path: Vec<&'static Release>,
    },
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlanError::UnknownRevision(rev) => write!(
                f,
                "the database is at Alembic revision {rev}, which this quayside does not know \
                 (a newer Quay, or a revision outside Quay's chain); it was not changed. \
                 Use the Quay release that wrote it, or a quayside that knows {rev}"
            ),
            PlanError::TooOld { found, oldest } => write!(
                f,
                "the database is at Alembic revision {found}, older than Quay {} (revision \
                 {oldest}), the oldest release quayside upgrades from; upgrade it with Quay 3.0 \
                 first (nothing was changed)",
                releases::RELEASES
                    .first()
                    .map(Release::name)
                    .unwrap_or_default()
            ),
            PlanError::UnknownTarget(t) => write!(
                f,
                "--to {t}: not a revision of Quay's chain nor a Quay release this quayside knows"
            ),
            PlanError::Backwards { found, target } => write!(
                f,
                "the database is at revision {found}, already past --to {target}; quayside does \
                 not downgrade (nothing was changed)"
            ),
            PlanError::Unsupported {
                found,
                from,
                to,
                allowed,
                path,
            } => {
                let allowed = allowed.iter().map(|r| r.name()).collect::<Vec<_>>();
                write!(
                    f,
                    "the database is at revision {found} (Quay {}); upgrading it straight to Quay {} \
                     is not supported: Quay {} may be upgraded from {}. ",
                    from.name(),
                    to.name(),
                    to.name(),
                    allowed.join(", "),
                )?;
                let hops = path.iter().map(|r| r.name()).collect::<Vec<_>>();
                match path.first() {
                    Some(first) if path.len() > 1 => write!(
                        f,
                        "Go through Quay {} first (path: {} → {}): run `quayside migrate --to {}`, \
                         then continue hop by hop (nothing was changed)",
                        first.name(),
                        from.name(),
                        hops.join(" → "),
                        first.name()
                    ),
                    _ => write!(f, "(nothing was changed)"),
                }
            }
        }
    }
}

impl std::error::Error for PlanError {}

/// What [`plan`] decided.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The revision found (`None`: an empty database, created whole at `target`).
    pub from: Option<String>,
    pub target: &'static str,
    /// Revisions to run, oldest first (empty for an empty database or when at `target`).
    pub steps: Vec<&'static Migration>,
    /// Build the indexes of index-only revisions `CONCURRENTLY` on PostgreSQL (set when the
    /// old version keeps serving; see [`Plan::online`]).
    pub concurrent_indexes: bool,
}

impl Plan {
    /// This plan for an online upgrade: index-only revisions build their indexes
    /// concurrently on PostgreSQL.
    pub fn online(mut self) -> Plan {
        self.concurrent_indexes = true;
        self
    }

    /// The steps that are not safe while the old version still serves.
    pub fn offline_steps(&self) -> Vec<&'static Migration> {
        self.steps.iter().copied().filter(|m| !online(m)).collect()
    }

    /// The plan as `quayside migrate --plan` prints it.
    pub fn render(&self) -> String {
        let mut s = String::new();
        match &self.from {
            None => s.push_str(&format!(
                "empty database: create Quay's schema at revision {}{}\n",
                self.target,
                release_label(self.target)
            )),
            Some(from) if self.steps.is_empty() => s.push_str(&format!(
                "database already at revision {from}; nothing to do\n"
            )),
            Some(from) => {
                s.push_str(&format!(
                    "upgrade from revision {from}{} to {}{}: {} step(s)\n",
                    release_label(from),
                    self.target,
                    release_label(self.target),
                    self.steps.len()
                ));
                for m in &self.steps {
                    s.push_str(&format!(
                        "  {}  {:<7}  {}  {}\n",
                        m.revision,
                        if online(m) { "online" } else { "offline" },
                        m.created,
                        m.title
                    ));
                }
            }
        }
        s
    }
}

fn release_label(rev: &str) -> String {
    match releases::RELEASES.iter().rev().find(|r| r.head == rev) {
        Some(r) => format!(" (Quay {})", r.name()),
        None => String::new(),
    }
}

/// Position of `revision` in [`CHAIN`].
pub fn position(revision: &str) -> Option<usize> {
    CHAIN.iter().position(|m| m.revision == revision)
}

/// Whether a revision is safe to run while the previous version keeps serving: it only adds
/// (tables, nullable or defaulted columns, indexes, lookup rows, backfills of new columns).
pub fn online(m: &Migration) -> bool {
    m.ops.iter().all(|op| match op {
        Op::CreateTable(_)
        | Op::CreateHeadTable(_)
        | Op::CreateIndex(..)
        | Op::InsertLookup(..)
        | Op::Data { .. }
        | Op::Backfill(_)
        | Op::Skip(_) => true,
        Op::AddColumn(_, c) => c.nullable || c.default.is_some(),
        _ => false,
    })
}

/// The last release whose head is at or before position `pos`.
fn release_at(pos: usize) -> Option<&'static Release> {
    releases::RELEASES
        .iter()
        .filter(|r| position(r.head).is_some_and(|p| p <= pos))
        .max_by_key(|r| r.minor)
}

/// The first release whose head is at or after position `pos`.
fn release_towards(pos: usize) -> Option<&'static Release> {
    releases::RELEASES
        .iter()
        .filter(|r| position(r.head).is_some_and(|p| p >= pos))
        .min_by_key(|r| r.minor)
}

/// Resolves a `--to` value (revision or release) to a revision of the chain.
pub fn resolve(target: &Target) -> Result<&'static str, PlanError> {
    match target {
        Target::Head => Ok(crate::ALEMBIC_REVISION),
        Target::Named(name) => {
            if let Some(m) = CHAIN.iter().find(|m| m.revision == name.as_str()) {
                return Ok(m.revision);
            }
            match releases::by_name(name) {
                Some(r) => Ok(r.head),
                None => Err(PlanError::UnknownTarget(name.clone())),
            }
        }
    }
}

/// Plans the way from `found` (the `alembic_version` row, `None` for an empty database) to
/// `target`, applying the upgrade-path rules.
pub fn plan(found: Option<&str>, target: &Target) -> Result<Plan, PlanError> {
    let target = resolve(target)?;
    let Some(found) = found else {
        return Ok(Plan {
            from: None,
            target,
            steps: Vec::new(),
            concurrent_indexes: false,
        });
    };
    let to_pos = position(target).ok_or_else(|| PlanError::UnknownTarget(target.to_string()))?;
    let Some(from_pos) = position(found) else {
        return Err(PlanError::UnknownRevision(found.to_string()));
    };
    if from_pos > to_pos {
        return Err(PlanError::Backwards {
            found: found.to_string(),
            target,
        });
    }
    if from_pos == to_pos {
        return Ok(Plan {
            from: Some(found.to_string()),
            target,
            steps: Vec::new(),
            concurrent_indexes: false,
        });
    }
    let Some(from) = release_at(from_pos) else {
        return Err(PlanError::TooOld {
            found: found.to_string(),
            oldest: releases::RELEASES
                .first()
                .map(|r| r.head)
                .unwrap_or_default(),
        });
    };
    if let Some(to) = release_towards(to_pos) {
        if !releases::direct(from.minor, to.minor) {
            let allowed = releases::RELEASES
                .iter()
                .filter(|r| r.minor < to.minor && releases::direct(r.minor, to.minor))
                .collect();
            let path = releases::path(from, to);
            return Err(PlanError::Unsupported {
                found: found.to_string(),
                from,
                to,
                allowed,
                path,
            });
        }
    }
    Ok(Plan {
        from: Some(found.to_string()),
        target,
        steps: CHAIN[from_pos + 1..=to_pos].to_vec(),
        concurrent_indexes: false,
    })
}
