//! Which Quay release shipped which head revision, and which release may go straight to
//! which (the upgrade guide's rules).
//!
//! Quay's code has no version→revision table: each image bakes its head. The table here is
//! built from Quay's changelog (release dates, the commits that added each migration) and
//! the revisions' create dates; see docs/UPGRADES.md.

/// How a release's head revision was established.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// Quay's changelog lists the commit that added the head revision (or its successor)
    /// under this release, or a document in Quay's repository names it.
    Evidence,
    /// The newest revision created before the release's date, and after the revisions of
    /// the release before it; create dates are not merge dates, so this can be off.
    Dates,
    /// The schema quayside itself serves (Quay's development line after the newest release).
    Head,
}

/// A Quay minor release and the head revision its images carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Release {
    pub minor: (u32, u32),
    pub head: &'static str,
    pub basis: Basis,
}

impl Release {
    pub fn name(&self) -> String {
        format!("{}.{}", self.minor.0, self.minor.1)
    }
}

const fn r(minor: u32, head: &'static str, basis: Basis) -> Release {
    Release {
        minor: (3, minor),
        head,
        basis,
    }
}

/// Quay's minor releases, oldest first. 3.4 and 3.5 shipped no new revision. The last row
/// is Quay's development line at [`crate::ALEMBIC_REVISION`], the schema quayside serves;
/// quayside stands in for it as the release after the newest one.
pub static RELEASES: &[Release] = &[
    r(0, "b918abdbee43", Basis::Dates),
    r(1, "c059b952ed76", Basis::Dates),
    r(2, "34c8ef052ec9", Basis::Dates),
    r(3, "04b9d2191450", Basis::Dates),
    r(4, "88e64904d000", Basis::Dates),
    r(5, "88e64904d000", Basis::Dates),
    r(6, "909d725887d3", Basis::Evidence),
    r(7, "d94d328733e4", Basis::Dates),
    r(8, "7bca88923f2c", Basis::Evidence),
    r(9, "ab5a24478052", Basis::Evidence),
    r(10, "2062bbd5ef0e", Basis::Evidence),
    r(11, "135fd3e94615", Basis::Evidence),
    r(12, "3f8d7acdf7f9", Basis::Evidence),
    r(13, "8e97c2cfee57", Basis::Dates),
    r(14, "3634f2df3c5b", Basis::Dates),
    r(15, "1623f40582ed", Basis::Dates),
    r(16, "9307c3d604b4", Basis::Dates),
    r(17, "c3d4e5f6a7b8", Basis::Dates),
    r(18, crate::ALEMBIC_REVISION, Basis::Head),
];

/// The release quayside stands in for: the one whose head is [`crate::ALEMBIC_REVISION`].
pub fn current() -> Option<&'static Release> {
    RELEASES.iter().find(|r| r.head == crate::ALEMBIC_REVISION)
}

/// Looks a release up by `3.N` (or `3.N.z`).
pub fn by_name(name: &str) -> Option<&'static Release> {
    let mut parts = name.trim().trim_start_matches('v').split('.');
    let major: u32 = parts.next()?.parse().ok()?;
    let minor: u32 = parts.next()?.parse().ok()?;
    RELEASES.iter().find(|r| r.minor == (major, minor))
}

/// Whether a database written by `from` may be upgraded straight to `to`: the previous
/// minor release (N-1), the same release, or one of the guide's named exceptions
/// (3.3 → 3.6, 3.4 → 3.6, 3.4 → 3.7, 3.5 → 3.7).
pub fn direct(from: (u32, u32), to: (u32, u32)) -> bool {
    type Minor = (u32, u32);
    const EXCEPTIONS: &[(Minor, Minor)] = &[
        ((3, 3), (3, 6)),
        ((3, 4), (3, 6)),
        ((3, 4), (3, 7)),
        ((3, 5), (3, 7)),
    ];
    if from.0 != to.0 {
        return false;
    }
    to.1 >= from.1 && (to.1 - from.1 <= 1 || EXCEPTIONS.contains(&(from, to)))
}

/// The releases to go through from `from` to `to`, each hop allowed by [`direct`], taking
/// the longest allowed hop each time (ends with `to`). Empty when `from` is `to`.
pub fn path(from: &Release, to: &Release) -> Vec<&'static Release> {
    let mut out = Vec::new();
    let mut at = from.minor;
    while at != to.minor {
        let next = RELEASES
            .iter()
            .filter(|r| r.minor > at && r.minor <= to.minor && direct(at, r.minor))
            .max_by_key(|r| r.minor);
        let Some(next) = next else {
            break;
        };
        out.push(next);
        at = next.minor;
    }
    out
}
