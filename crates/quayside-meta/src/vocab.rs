//! The repository vocabulary Quay keeps in its tables: `repository.state` (an integer
//! column), `visibility.name` and `repositorykind.name` (lookup tables). Each is one enum
//! here, decoded straight from rows and bound straight into statements on both backends, so
//! no module spells a code or a name of its own.
//!
//! A value Quay does not define (a newer Quay's state, say) fails the row's decoding with a
//! message naming it, as Quay's own enum fields refuse it: it is never read as another state.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode, Type};

/// Defines a closed enum over the values of one column, with its wire names, and the sqlx
/// `Type`/`Encode`/`Decode` impls that carry it as its underlying column type.
macro_rules! column_enum {
    (
        $(#[$meta:meta])*
        $name:ident: $repr:ty, $what:literal {
            $($(#[$vmeta:meta])* $variant:ident = $code:expr, $text:literal;)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in column order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The name Quay shows for this value.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// The value Quay shows as `name`.
            pub fn from_name(name: &str) -> Option<$name> {
                match name {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        /// Serialized as its name, as Quay's API shows it.
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl $name {
            fn to_column(self) -> $repr {
                match self {
                    $($name::$variant => $code,)+
                }
            }

            fn from_column(v: &$repr) -> Option<$name> {
                $(if *v == $code { return Some($name::$variant); })+
                None
            }
        }

        impl<DB: Database> Type<DB> for $name
        where
            $repr: Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <$repr as Type<DB>>::type_info()
            }

            fn compatible(ty: &DB::TypeInfo) -> bool {
                <$repr as Type<DB>>::compatible(ty)
            }
        }

        impl<'q, DB: Database> Encode<'q, DB> for $name
        where
            $repr: Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as Database>::ArgumentBuffer<'q>,
            ) -> Result<IsNull, BoxDynError> {
                self.to_column().encode(buf)
            }
        }

        impl<'r, DB: Database> Decode<'r, DB> for $name
        where
            $repr: Decode<'r, DB>,
        {
            fn decode(value: <DB as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
                let raw = <$repr as Decode<'r, DB>>::decode(value)?;
                $name::from_column(&raw)
                    .ok_or_else(|| format!("{} {:?} is not one Quay defines", $what, raw).into())
            }
        }
    };
}

column_enum! {
    /// Quay's `RepositoryState` (`repository.state`).
    RepositoryState: i32, "repository state" {
        Normal = 0, "NORMAL";
        /// Pulls only; writes answer as Quay's read-only repositories do.
        ReadOnly = 1, "READ_ONLY";
        /// Written only by the mirroring worker.
        Mirror = 2, "MIRROR";
        /// Deleted by the API and waiting for the namespace GC worker: invisible everywhere.
        MarkedForDeletion = 3, "MARKED_FOR_DELETION";
        OrgMirror = 4, "ORG_MIRROR";
    }
}

column_enum! {
    /// Quay's `RepoMirrorStatus` (`repomirrorconfig.sync_status`).
    MirrorStatus: i32, "mirror sync status" {
        /// Cancelled by the API: no sync until a manual one.
        Cancel = -2, "CANCEL";
        Fail = -1, "FAIL";
        NeverRun = 0, "NEVER_RUN";
        Success = 1, "SUCCESS";
        /// Claimed by a mirror worker (until `sync_expiration_date`).
        Syncing = 2, "SYNCING";
        /// Asked for by the API: the next worker cycle takes it.
        SyncNow = 3, "SYNC_NOW";
    }
}

column_enum! {
    /// `visibility.name`.
    Visibility: String, "visibility" {
        Public = "public".to_owned(), "public";
        Private = "private".to_owned(), "private";
    }
}

column_enum! {
    /// `repositorykind.name`.
    RepositoryKind: String, "repository kind" {
        Image = "image".to_owned(), "image";
        /// Quay's application (Helm-era "app registry") repositories.
        Application = "application".to_owned(), "application";
    }
}

impl RepositoryState {
    /// The integer kept in `repository.state`.
    pub fn code(self) -> i32 {
        self.to_column()
    }

    /// Whether tags may be written through the API and pushes accepted (Quay's
    /// `check_repository_state`: only a normal repository).
    pub fn is_writable(self) -> bool {
        self == RepositoryState::Normal
    }
}

/// Quay's `repo_kind` default.
impl Default for RepositoryKind {
    fn default() -> Self {
        RepositoryKind::Image
    }
}

impl Visibility {
    pub fn is_public(self) -> bool {
        self == Visibility::Public
    }

    pub fn public_if(public: bool) -> Visibility {
        if public {
            Visibility::Public
        } else {
            Visibility::Private
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_keep_quays_codes_and_names() {
        let pairs: Vec<(i32, &str)> = RepositoryState::ALL
            .iter()
            .map(|s| (s.code(), s.name()))
            .collect();
        assert_eq!(
            pairs,
            [
                (0, "NORMAL"),
                (1, "READ_ONLY"),
                (2, "MIRROR"),
                (3, "MARKED_FOR_DELETION"),
                (4, "ORG_MIRROR")
            ]
        );
        assert_eq!(RepositoryState::from_column(&7), None);
        assert_eq!(
            RepositoryState::from_name("MIRROR"),
            Some(RepositoryState::Mirror)
        );
        assert_eq!(RepositoryState::from_name("mirror"), None);
    }

    #[test]
    fn names_round_trip() {
        for v in Visibility::ALL {
            assert_eq!(Visibility::from_name(v.name()), Some(*v));
        }
        for k in RepositoryKind::ALL {
            assert_eq!(RepositoryKind::from_name(k.name()), Some(*k));
        }
        assert_eq!(RepositoryKind::from_name("helm"), None);
    }
}
