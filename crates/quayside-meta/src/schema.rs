//! Declarative description of Quay's database schema at Alembic revision
//! [`ALEMBIC_REVISION`](crate::ALEMBIC_REVISION) (`9fa37f66a9b6`), plus DDL generators
//! for PostgreSQL and SQLite.
//!
//! Every table is a [`Table`] literal in [`TABLES`]; grep for `name: "<table>"` to find
//! one. Column, index, constraint and seed names/values are Quay's; they must not change.
//! The revision is Quay's generated SQLite DDL/seed snapshot (`c3d4e5f6a7b8`) plus the
//! migrations on the path to the head: `b1a79fa8e630` (user email partial unique index),
//! `d064a4f00d4a` (oauthaccesstoken.last_accessed/created + log kinds),
//! `6715e4719375` (namespacenotification, quotanotificationstate, quota events) and
//! `9fa37f66a9b6` (namespace notification log kinds).

use std::fmt::Write as _;

/// Neutral column type; rendered per dialect by [`ColType::pg`] / [`ColType::sqlite`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColType {
    /// Auto-incrementing 32-bit id: `serial` on PostgreSQL, `INTEGER` (rowid alias) on SQLite.
    Pk,
    /// Auto-incrementing 64-bit id: `bigserial` on PostgreSQL, `INTEGER` (rowid alias) on SQLite.
    BigPk,
    /// 64-bit id that Quay's SQLite DDL declares as `BIGINT` (legacy `logentry.id`).
    BigPkLegacy,
    Int,
    BigInt,
    Bool,
    Varchar(u32),
    Text,
    DateTime,
    Date,
    Float,
    Numeric,
}

impl ColType {
    /// PostgreSQL type as Quay's Alembic migrations create it.
    pub fn pg(self) -> String {
        match self {
            ColType::Pk => "serial".into(),
            ColType::BigPk | ColType::BigPkLegacy => "bigserial".into(),
            ColType::Int => "integer".into(),
            ColType::BigInt => "bigint".into(),
            ColType::Bool => "boolean".into(),
            ColType::Varchar(n) => format!("character varying({n})"),
            ColType::Text => "text".into(),
            ColType::DateTime => "timestamp without time zone".into(),
            ColType::Date => "date".into(),
            ColType::Float => "double precision".into(),
            ColType::Numeric => "numeric".into(),
        }
    }

    /// SQLite type as in Quay's generated SQLite DDL.
    pub fn sqlite(self) -> String {
        match self {
            ColType::Pk | ColType::BigPk | ColType::Int => "INTEGER".into(),
            ColType::BigPkLegacy | ColType::BigInt => "BIGINT".into(),
            ColType::Bool => "BOOLEAN".into(),
            ColType::Varchar(n) => format!("VARCHAR({n})"),
            ColType::Text => "TEXT".into(),
            ColType::DateTime => "DATETIME".into(),
            ColType::Date => "DATE".into(),
            ColType::Float => "FLOAT".into(),
            ColType::Numeric => "NUMERIC".into(),
        }
    }
}

/// Server-side column default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultValue {
    Int(i64),
    Bool(bool),
    Str(&'static str),
    /// Current timestamp at insert time.
    Now,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub ty: ColType,
    pub nullable: bool,
    pub default: Option<DefaultValue>,
}

impl Column {
    /// Adds a server default.
    pub const fn default(self, d: DefaultValue) -> Self {
        Column {
            default: Some(d),
            ..self
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Index {
    pub name: &'static str,
    pub columns: &'static [&'static str],
    pub unique: bool,
    /// Partial-index predicate (same text on both dialects).
    pub predicate: Option<&'static str>,
    /// On PostgreSQL: `USING gin (<col> gin_trgm_ops)` (needs `pg_trgm`). Plain index on SQLite.
    pub trigram: bool,
}

impl Index {
    pub const fn predicate(self, p: &'static str) -> Self {
        Index {
            predicate: Some(p),
            ..self
        }
    }
    pub const fn trigram(self) -> Self {
        Index {
            trigram: true,
            ..self
        }
    }
}

/// Foreign key `column -> ref_table(id)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForeignKey {
    pub name: &'static str,
    pub column: &'static str,
    pub ref_table: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    pub name: &'static str,
    /// Primary key constraint name (Quay's, e.g. `pk_user`).
    pub pk: &'static str,
    /// Primary key column (always `id` except `alembic_version`).
    pub pk_column: &'static str,
    pub columns: &'static [Column],
    pub indexes: &'static [Index],
    pub fks: &'static [ForeignKey],
}

/// A borrowed table for the DDL generators: a static [`Table`] or an owned model of an
/// older revision (see [`crate::upgrade::model`]).
#[derive(Debug, Clone, Copy)]
pub struct TableView<'a> {
    pub name: &'a str,
    pub pk: &'a str,
    pub pk_column: &'a str,
    pub columns: &'a [Column],
    pub indexes: &'a [Index],
    pub fks: &'a [ForeignKey],
}

impl<'a> From<&'a Table> for TableView<'a> {
    fn from(t: &'a Table) -> Self {
        TableView {
            name: t.name,
            pk: t.pk,
            pk_column: t.pk_column,
            columns: t.columns,
            indexes: t.indexes,
            fks: t.fks,
        }
    }
}

use ColType::{BigInt, Bool, DateTime, Int, Text, Varchar};
use DefaultValue::{Bool as DBool, Int as DInt, Str as DStr};

const V36: ColType = Varchar(36);
const V255: ColType = Varchar(255);

/// `id` primary-key column (serial).
pub(crate) const fn id() -> Column {
    c("id", ColType::Pk)
}
/// NOT NULL column.
pub(crate) const fn c(name: &'static str, ty: ColType) -> Column {
    Column {
        name,
        ty,
        nullable: false,
        default: None,
    }
}
/// Nullable column.
pub(crate) const fn n(name: &'static str, ty: ColType) -> Column {
    Column {
        name,
        ty,
        nullable: true,
        default: None,
    }
}
/// Plain index.
pub(crate) const fn ix(name: &'static str, columns: &'static [&'static str]) -> Index {
    Index {
        name,
        columns,
        unique: false,
        predicate: None,
        trigram: false,
    }
}
/// Unique index.
pub(crate) const fn ux(name: &'static str, columns: &'static [&'static str]) -> Index {
    Index {
        unique: true,
        ..ix(name, columns)
    }
}
pub(crate) const fn fk(
    name: &'static str,
    column: &'static str,
    ref_table: &'static str,
) -> ForeignKey {
    ForeignKey {
        name,
        column,
        ref_table,
    }
}

/// A lookup ("enum") table: `id`, `name varchar(255)`, index `<table>_name`.
macro_rules! lookup {
    ($t:literal) => {
        lookup!($t, true)
    };
    ($t:literal, non_unique) => {
        lookup!($t, false)
    };
    ($t:literal, $unique:expr) => {
        Table {
            name: $t,
            pk: concat!("pk_", $t),
            pk_column: "id",
            columns: &[id(), c("name", V255)],
            indexes: &[Index {
                name: concat!($t, "_name"),
                columns: &["name"],
                unique: $unique,
                predicate: None,
                trigram: false,
            }],
            fks: &[],
        }
    };
}

/// Every Quay table at [`crate::ALEMBIC_REVISION`], in creation order.
pub static TABLES: &[Table] = &[
    Table {
        name: "alembic_version",
        pk: "alembic_version_pkc",
        pk_column: "version_num",
        columns: &[c("version_num", Varchar(32))],
        indexes: &[],
        fks: &[],
    },
    lookup!("accesstokenkind"),
    lookup!("buildtriggerservice"),
    lookup!("externalnotificationevent"),
    lookup!("externalnotificationmethod"),
    lookup!("imagestoragelocation"),
    lookup!("imagestoragesignaturekind"),
    lookup!("imagestoragetransformation"),
    Table {
        name: "labelsourcetype",
        pk: "pk_labelsourcetype",
        pk_column: "id",
        columns: &[id(), c("name", V255), c("mutable", Bool)],
        indexes: &[ux("labelsourcetype_name", &["name"])],
        fks: &[],
    },
    lookup!("logentrykind"),
    lookup!("loginservice"),
    lookup!("mediatype"),
    lookup!("notificationkind"),
    lookup!("quayregion"),
    lookup!("quayservice"),
    Table {
        name: "queueitem",
        pk: "pk_queueitem",
        pk_column: "id",
        columns: &[
            id(),
            c("queue_name", Varchar(1024)),
            c("body", Text),
            c("available_after", DateTime),
            c("available", Bool),
            n("processing_expires", DateTime),
            c("retries_remaining", Int),
            c("state_id", V255).default(DStr("")),
        ],
        indexes: &[
            ix("queueitem_queue_name", &["queue_name"]),
            ix(
                "queueitem_processing_expires_available",
                &["processing_expires", "available"],
            ),
            ix(
                "queueitem_pe_aafter_qname_rremaining_available",
                &[
                    "processing_expires",
                    "available_after",
                    "queue_name",
                    "retries_remaining",
                    "available",
                ],
            ),
            ix(
                "queueitem_pexpires_aafter_rremaining_available",
                &[
                    "processing_expires",
                    "available_after",
                    "retries_remaining",
                    "available",
                ],
            ),
            ix(
                "queueitem_processing_expires_queue_name_available",
                &["processing_expires", "queue_name", "available"],
            ),
            ux("queueitem_state_id", &["state_id"]),
        ],
        fks: &[],
    },
    lookup!("role"),
    Table {
        name: "servicekeyapproval",
        pk: "pk_servicekeyapproval",
        pk_column: "id",
        columns: &[
            id(),
            n("approver_id", Int),
            c("approval_type", V255),
            c("approved_date", DateTime),
            c("notes", Text),
        ],
        indexes: &[
            ix("servicekeyapproval_approval_type", &["approval_type"]),
            ix("servicekeyapproval_approver_id", &["approver_id"]),
        ],
        fks: &[],
    },
    lookup!("teamrole", non_unique),
    lookup!("visibility"),
    Table {
        name: "user",
        pk: "pk_user",
        pk_column: "id",
        columns: &[
            id(),
            n("uuid", V36),
            c("username", V255),
            n("password_hash", V255),
            c("email", V255),
            c("verified", Bool),
            n("stripe_id", V255),
            c("organization", Bool),
            c("robot", Bool),
            c("invoice_email", Bool),
            c("invalid_login_attempts", Int).default(DInt(0)),
            c("last_invalid_login", DateTime),
            c("removed_tag_expiration_s", BigInt).default(DInt(1_209_600)),
            c("enabled", Bool).default(DBool(true)),
            n("invoice_email_address", V255),
            n("company", V255),
            n("family_name", V255),
            n("given_name", V255),
            n("location", V255),
            n("maximum_queued_builds_count", Int),
            n("creation_date", DateTime),
            n("last_accessed", DateTime),
        ],
        indexes: &[
            ix("user_stripe_id", &["stripe_id"]),
            ix("user_robot", &["robot"]),
            ix("user_invoice_email_address", &["invoice_email_address"]),
            ix("user_last_accessed", &["last_accessed"]),
            ix("user_uuid", &["uuid"]),
            ux("user_username", &["username"]),
            ix("user_organization", &["organization"]),
            // b1a79fa8e630: the full unique `user_email` index was replaced by these two.
            ux("user_email_unique_non_org", &["email"]).predicate("organization = false"),
            ix("user_email_idx", &["email"]),
        ],
        fks: &[],
    },
    Table {
        name: "emailconfirmation",
        pk: "pk_emailconfirmation",
        pk_column: "id",
        columns: &[
            id(),
            c("code", V255),
            c("user_id", Int),
            c("pw_reset", Bool),
            n("new_email", V255),
            c("email_confirm", Bool),
            c("created", DateTime),
            n("verification_code", V255),
        ],
        indexes: &[
            ux("emailconfirmation_code", &["code"]),
            ix("emailconfirmation_user_id", &["user_id"]),
        ],
        fks: &[fk("fk_emailconfirmation_user_id_user", "user_id", "user")],
    },
    Table {
        name: "federatedlogin",
        pk: "pk_federatedlogin",
        pk_column: "id",
        columns: &[
            id(),
            c("user_id", Int),
            c("service_id", Int),
            c("service_ident", V255),
            c("metadata_json", Text),
        ],
        indexes: &[
            ix("federatedlogin_service_id", &["service_id"]),
            ux(
                "federatedlogin_service_id_service_ident",
                &["service_id", "service_ident"],
            ),
            ux(
                "federatedlogin_service_id_user_id",
                &["service_id", "user_id"],
            ),
            ix("federatedlogin_user_id", &["user_id"]),
        ],
        fks: &[
            fk(
                "fk_federatedlogin_service_id_loginservice",
                "service_id",
                "loginservice",
            ),
            fk("fk_federatedlogin_user_id_user", "user_id", "user"),
        ],
    },
    Table {
        name: "imagestorage",
        pk: "pk_imagestorage",
        pk_column: "id",
        columns: &[
            id(),
            c("uuid", V255),
            n("image_size", BigInt),
            n("uncompressed_size", BigInt),
            n("uploading", Bool),
            c("cas_path", Bool).default(DBool(false)),
            n("content_checksum", V255),
        ],
        indexes: &[
            ix("imagestorage_content_checksum", &["content_checksum"]),
            ux("imagestorage_uuid", &["uuid"]),
        ],
        fks: &[],
    },
    Table {
        name: "imagestorageplacement",
        pk: "pk_imagestorageplacement",
        pk_column: "id",
        columns: &[id(), c("storage_id", Int), c("location_id", Int)],
        indexes: &[
            ix("imagestorageplacement_location_id", &["location_id"]),
            ix("imagestorageplacement_storage_id", &["storage_id"]),
            ux(
                "imagestorageplacement_storage_id_location_id",
                &["storage_id", "location_id"],
            ),
        ],
        fks: &[
            fk(
                "fk_imagestorageplacement_location_id_imagestoragelocation",
                "location_id",
                "imagestoragelocation",
            ),
            fk(
                "fk_imagestorageplacement_storage_id_imagestorage",
                "storage_id",
                "imagestorage",
            ),
        ],
    },
    Table {
        name: "imagestoragesignature",
        pk: "pk_imagestoragesignature",
        pk_column: "id",
        columns: &[
            id(),
            c("storage_id", Int),
            c("kind_id", Int),
            n("signature", Text),
            n("uploading", Bool),
        ],
        indexes: &[
            ix("imagestoragesignature_kind_id", &["kind_id"]),
            ux(
                "imagestoragesignature_kind_id_storage_id",
                &["kind_id", "storage_id"],
            ),
            ix("imagestoragesignature_storage_id", &["storage_id"]),
        ],
        fks: &[
            fk(
                "fk_imagestoragesignature_kind_id_imagestoragesignaturekind",
                "kind_id",
                "imagestoragesignaturekind",
            ),
            fk(
                "fk_imagestoragesignature_storage_id_imagestorage",
                "storage_id",
                "imagestorage",
            ),
        ],
    },
    Table {
        name: "label",
        pk: "pk_label",
        pk_column: "id",
        columns: &[
            id(),
            c("uuid", V255),
            c("key", V255),
            c("value", Text),
            c("media_type_id", Int),
            c("source_type_id", Int),
        ],
        indexes: &[
            ix("label_key", &["key"]),
            ix("label_media_type_id", &["media_type_id"]),
            ix("label_source_type_id", &["source_type_id"]),
            ux("label_uuid", &["uuid"]),
        ],
        fks: &[
            fk(
                "fk_label_media_type_id_mediatype",
                "media_type_id",
                "mediatype",
            ),
            fk(
                "fk_label_source_type_id_labelsourcetype",
                "source_type_id",
                "labelsourcetype",
            ),
        ],
    },
    Table {
        name: "notification",
        pk: "pk_notification",
        pk_column: "id",
        columns: &[
            id(),
            c("uuid", V255),
            c("kind_id", Int),
            c("target_id", Int),
            c("metadata_json", Text),
            c("created", DateTime),
            c("dismissed", Bool),
            n("lookup_path", V255),
        ],
        indexes: &[
            ix("notification_created", &["created"]),
            ix("notification_kind_id", &["kind_id"]),
            ix("notification_lookup_path", &["lookup_path"]),
            ix("notification_target_id", &["target_id"]),
            ix("notification_uuid", &["uuid"]),
        ],
        fks: &[
            fk(
                "fk_notification_kind_id_notificationkind",
                "kind_id",
                "notificationkind",
            ),
            fk("fk_notification_target_id_user", "target_id", "user"),
        ],
    },
    Table {
        name: "quayrelease",
        pk: "pk_quayrelease",
        pk_column: "id",
        columns: &[
            id(),
            c("service_id", Int),
            c("version", V255),
            c("region_id", Int),
            c("reverted", Bool),
            c("created", DateTime),
        ],
        indexes: &[
            ix("quayrelease_created", &["created"]),
            ix("quayrelease_region_id", &["region_id"]),
            ix("quayrelease_service_id", &["service_id"]),
            ix(
                "quayrelease_service_id_region_id_created",
                &["service_id", "region_id", "created"],
            ),
            ux(
                "quayrelease_service_id_version_region_id",
                &["service_id", "version", "region_id"],
            ),
        ],
        fks: &[
            fk(
                "fk_quayrelease_region_id_quayregion",
                "region_id",
                "quayregion",
            ),
            fk(
                "fk_quayrelease_service_id_quayservice",
                "service_id",
                "quayservice",
            ),
        ],
    },
    Table {
        name: "servicekey",
        pk: "pk_servicekey",
        pk_column: "id",
        columns: &[
            id(),
            c("name", V255),
            c("kid", V255),
            c("service", V255),
            c("jwk", Text),
            c("metadata", Text),
            c("created_date", DateTime),
            n("expiration_date", DateTime),
            n("rotation_duration", Int),
            n("approval_id", Int),
        ],
        indexes: &[
            ix("servicekey_approval_id", &["approval_id"]),
            ux("servicekey_kid", &["kid"]),
            ix("servicekey_service", &["service"]),
        ],
        fks: &[fk(
            "fk_servicekey_approval_id_servicekeyapproval",
            "approval_id",
            "servicekeyapproval",
        )],
    },
    Table {
        name: "team",
        pk: "pk_team",
        pk_column: "id",
        columns: &[
            id(),
            c("name", V255),
            c("organization_id", Int),
            c("role_id", Int),
            c("description", Text),
        ],
        indexes: &[
            ix("team_name", &["name"]),
            ux("team_name_organization_id", &["name", "organization_id"]),
            ix("team_organization_id", &["organization_id"]),
            ix("team_role_id", &["role_id"]),
        ],
        fks: &[
            fk("fk_team_organization_id_user", "organization_id", "user"),
            fk("fk_team_role_id_teamrole", "role_id", "teamrole"),
        ],
    },
    Table {
        name: "userregion",
        pk: "pk_userregion",
        pk_column: "id",
        columns: &[id(), c("user_id", Int), c("location_id", Int)],
        indexes: &[
            ix("userregion_location_id", &["location_id"]),
            ix("userregion_user_id", &["user_id"]),
        ],
        fks: &[
            fk(
                "fk_userregion_location_id_imagestoragelocation",
                "location_id",
                "imagestoragelocation",
            ),
            fk("fk_userregion_user_id_user", "user_id", "user"),
        ],
    },
    Table {
        name: "permissionprototype",
        pk: "pk_permissionprototype",
        pk_column: "id",
        columns: &[
            id(),
            c("org_id", Int),
            c("uuid", V255),
            n("activating_user_id", Int),
            n("delegate_user_id", Int),
            n("delegate_team_id", Int),
            c("role_id", Int),
        ],
        indexes: &[
            ix(
                "permissionprototype_activating_user_id",
                &["activating_user_id"],
            ),
            ix(
                "permissionprototype_delegate_team_id",
                &["delegate_team_id"],
            ),
            ix(
                "permissionprototype_delegate_user_id",
                &["delegate_user_id"],
            ),
            ix("permissionprototype_org_id", &["org_id"]),
            ix(
                "permissionprototype_org_id_activating_user_id",
                &["org_id", "activating_user_id"],
            ),
            ix("permissionprototype_role_id", &["role_id"]),
            ix("permissionprototype_uuid", &["uuid"]),
        ],
        fks: &[
            fk(
                "fk_permissionprototype_activating_user_id_user",
                "activating_user_id",
                "user",
            ),
            fk(
                "fk_permissionprototype_delegate_team_id_team",
                "delegate_team_id",
                "team",
            ),
            fk(
                "fk_permissionprototype_delegate_user_id_user",
                "delegate_user_id",
                "user",
            ),
            fk("fk_permissionprototype_org_id_user", "org_id", "user"),
            fk("fk_permissionprototype_role_id_role", "role_id", "role"),
        ],
    },
    lookup!("repositorykind"),
    Table {
        name: "repository",
        pk: "pk_repository",
        pk_column: "id",
        columns: &[
            id(),
            n("namespace_user_id", Int),
            c("name", V255),
            c("visibility_id", Int),
            n("description", Text),
            c("badge_token", V255),
            c("kind_id", Int).default(DInt(1)),
            c("trust_enabled", Bool).default(DBool(false)),
            c("state", Int).default(DInt(0)),
        ],
        indexes: &[
            ix("repository_kind_id", &["kind_id"]),
            ix("repository_visibility_id", &["visibility_id"]),
            ux(
                "repository_namespace_user_id_name",
                &["namespace_user_id", "name"],
            ),
            ix("repository_namespace_user_id", &["namespace_user_id"]),
            ix("repository_name__fulltext", &["name"]).trigram(),
            ix("repository_description__fulltext", &["description"]).trigram(),
            ix("repository_state", &["state"]),
        ],
        fks: &[
            fk(
                "fk_repository_visibility_id_visibility",
                "visibility_id",
                "visibility",
            ),
            fk(
                "fk_repository_namespace_user_id_user",
                "namespace_user_id",
                "user",
            ),
            fk(
                "fk_repository_kind_id_repositorykind",
                "kind_id",
                "repositorykind",
            ),
        ],
    },
    Table {
        name: "repositoryactioncount",
        pk: "pk_repositoryactioncount",
        pk_column: "id",
        columns: &[
            id(),
            c("repository_id", Int),
            c("count", Int),
            c("date", ColType::Date),
        ],
        indexes: &[
            ix("repositoryactioncount_date", &["date"]),
            ix("repositoryactioncount_repository_id", &["repository_id"]),
            ux(
                "repositoryactioncount_repository_id_date",
                &["repository_id", "date"],
            ),
        ],
        fks: &[fk(
            "fk_repositoryactioncount_repository_id_repository",
            "repository_id",
            "repository",
        )],
    },
    Table {
        name: "repositoryauthorizedemail",
        pk: "pk_repositoryauthorizedemail",
        pk_column: "id",
        columns: &[
            id(),
            c("repository_id", Int),
            c("email", V255),
            c("code", V255),
            c("confirmed", Bool),
        ],
        indexes: &[
            ux("repositoryauthorizedemail_code", &["code"]),
            ux(
                "repositoryauthorizedemail_email_repository_id",
                &["email", "repository_id"],
            ),
            ix(
                "repositoryauthorizedemail_repository_id",
                &["repository_id"],
            ),
        ],
        fks: &[fk(
            "fk_repositoryauthorizedemail_repository_id_repository",
            "repository_id",
            "repository",
        )],
    },
    Table {
        name: "repositorynotification",
        pk: "pk_repositorynotification",
        pk_column: "id",
        columns: &[
            id(),
            c("uuid", V255),
            c("repository_id", Int),
            c("event_id", Int),
            c("method_id", Int),
            n("title", V255),
            c("config_json", Text),
            c("event_config_json", Text),
            c("number_of_failures", Int).default(DInt(0)),
            n("last_ran_ms", BigInt),
        ],
        indexes: &[
            ix("repositorynotification_event_id", &["event_id"]),
            ix("repositorynotification_method_id", &["method_id"]),
            ix("repositorynotification_repository_id", &["repository_id"]),
            ix("repositorynotification_uuid", &["uuid"]),
            ix("repositorynotification_last_ran_ms", &["last_ran_ms"]),
        ],
        fks: &[
            fk(
                "fk_repositorynotification_event_id_externalnotificationevent",
                "event_id",
                "externalnotificationevent",
            ),
            fk(
                "fk_repositorynotification_method_id_externalnotificationmethod",
                "method_id",
                "externalnotificationmethod",
            ),
            fk(
                "fk_repositorynotification_repository_id_repository",
                "repository_id",
                "repository",
            ),
        ],
    },
    Table {
        name: "repositorypermission",
        pk: "pk_repositorypermission",
        pk_column: "id",
        columns: &[
            id(),
            n("team_id", Int),
            n("user_id", Int),
            c("repository_id", Int),
            c("role_id", Int),
        ],
        indexes: &[
            ix("repositorypermission_repository_id", &["repository_id"]),
            ix("repositorypermission_role_id", &["role_id"]),
            ix("repositorypermission_team_id", &["team_id"]),
            ux(
                "repositorypermission_team_id_repository_id",
                &["team_id", "repository_id"],
            ),
            ix("repositorypermission_user_id", &["user_id"]),
            ux(
                "repositorypermission_user_id_repository_id",
                &["user_id", "repository_id"],
            ),
        ],
        fks: &[
            fk(
                "fk_repositorypermission_repository_id_repository",
                "repository_id",
                "repository",
            ),
            fk("fk_repositorypermission_role_id_role", "role_id", "role"),
            fk("fk_repositorypermission_team_id_team", "team_id", "team"),
            fk("fk_repositorypermission_user_id_user", "user_id", "user"),
        ],
    },
    Table {
        name: "star",
        pk: "pk_star",
        pk_column: "id",
        columns: &[
            id(),
            c("user_id", Int),
            c("repository_id", Int),
            c("created", DateTime),
        ],
        indexes: &[
            ix("star_repository_id", &["repository_id"]),
            ix("star_user_id", &["user_id"]),
            ux("star_user_id_repository_id", &["user_id", "repository_id"]),
        ],
        fks: &[
            fk(
                "fk_star_repository_id_repository",
                "repository_id",
                "repository",
            ),
            fk("fk_star_user_id_user", "user_id", "user"),
        ],
    },
    Table {
        name: "teammember",
        pk: "pk_teammember",
        pk_column: "id",
        columns: &[id(), c("user_id", Int), c("team_id", Int)],
        indexes: &[
            ix("teammember_team_id", &["team_id"]),
            ix("teammember_user_id", &["user_id"]),
            ux("teammember_user_id_team_id", &["user_id", "team_id"]),
        ],
        fks: &[
            fk("fk_teammember_team_id_team", "team_id", "team"),
            fk("fk_teammember_user_id_user", "user_id", "user"),
        ],
    },
    Table {
        name: "teammemberinvite",
        pk: "pk_teammemberinvite",
        pk_column: "id",
        columns: &[
            id(),
            n("user_id", Int),
            n("email", V255),
            c("team_id", Int),
            c("inviter_id", Int),
            c("invite_token", V255),
        ],
        indexes: &[
            ix("teammemberinvite_inviter_id", &["inviter_id"]),
            ix("teammemberinvite_team_id", &["team_id"]),
            ix("teammemberinvite_user_id", &["user_id"]),
        ],
        fks: &[
            fk("fk_teammemberinvite_inviter_id_user", "inviter_id", "user"),
            fk("fk_teammemberinvite_team_id_team", "team_id", "team"),
            fk("fk_teammemberinvite_user_id_user", "user_id", "user"),
        ],
    },
    lookup!("disablereason"),
    Table {
        name: "accesstoken",
        pk: "pk_accesstoken",
        pk_column: "id",
        columns: &[
            id(),
            n("friendly_name", V255),
            c("repository_id", Int),
            c("created", DateTime),
            c("role_id", Int),
            c("temporary", Bool),
            n("kind_id", Int),
            c("token_code", V255),
            c("token_name", V255),
        ],
        indexes: &[
            ix("accesstoken_role_id", &["role_id"]),
            ix("accesstoken_kind_id", &["kind_id"]),
            ux("accesstoken_token_name", &["token_name"]),
            ix("accesstoken_repository_id", &["repository_id"]),
        ],
        fks: &[
            fk("fk_accesstoken_role_id_role", "role_id", "role"),
            fk(
                "fk_accesstoken_repository_id_repository",
                "repository_id",
                "repository",
            ),
            fk(
                "fk_accesstoken_kind_id_accesstokenkind",
                "kind_id",
                "accesstokenkind",
            ),
        ],
    },
    Table {
        name: "repositorybuildtrigger",
        pk: "pk_repositorybuildtrigger",
        pk_column: "id",
        columns: &[
            id(),
            c("uuid", V255),
            c("service_id", Int),
            c("repository_id", Int),
            c("connected_user_id", Int),
            c("config", Text),
            n("write_token_id", Int),
            n("pull_robot_id", Int),
            n("disabled_reason_id", Int),
            c("enabled", Bool).default(DBool(true)),
            c("successive_failure_count", Int).default(DInt(0)),
            c("successive_internal_error_count", Int).default(DInt(0)),
            n("disabled_datetime", DateTime),
            n("secure_auth_token", V255),
            n("secure_private_key", Text),
            c("fully_migrated", Bool).default(DBool(false)),
        ],
        indexes: &[
            ix("repositorybuildtrigger_write_token_id", &["write_token_id"]),
            ix(
                "repositorybuildtrigger_disabled_datetime",
                &["disabled_datetime"],
            ),
            ix("repositorybuildtrigger_repository_id", &["repository_id"]),
            ix("repositorybuildtrigger_pull_robot_id", &["pull_robot_id"]),
            ix(
                "repositorybuildtrigger_connected_user_id",
                &["connected_user_id"],
            ),
            ix("repositorybuildtrigger_service_id", &["service_id"]),
            ix(
                "repositorybuildtrigger_disabled_reason_id",
                &["disabled_reason_id"],
            ),
            ix("repositorybuildtrigger_uuid", &["uuid"]),
        ],
        fks: &[
            fk(
                "fk_repositorybuildtrigger_write_token_id_accesstoken",
                "write_token_id",
                "accesstoken",
            ),
            fk(
                "fk_repositorybuildtrigger_disabled_reason_id_disablereason",
                "disabled_reason_id",
                "disablereason",
            ),
            fk(
                "fk_repositorybuildtrigger_repository_id_repository",
                "repository_id",
                "repository",
            ),
            fk(
                "fk_repositorybuildtrigger_service_id_buildtriggerservice",
                "service_id",
                "buildtriggerservice",
            ),
            fk(
                "fk_repositorybuildtrigger_pull_robot_id_user",
                "pull_robot_id",
                "user",
            ),
            fk(
                "fk_repositorybuildtrigger_connected_user_id_user",
                "connected_user_id",
                "user",
            ),
        ],
    },
    Table {
        name: "repositorybuild",
        pk: "pk_repositorybuild",
        pk_column: "id",
        columns: &[
            id(),
            c("uuid", V255),
            c("repository_id", Int),
            c("access_token_id", Int),
            n("resource_key", V255),
            c("job_config", Text),
            c("phase", V255),
            c("started", DateTime),
            c("display_name", V255),
            n("trigger_id", Int),
            n("pull_robot_id", Int),
            c("logs_archived", Bool).default(DBool(false)),
            n("queue_id", V255),
        ],
        indexes: &[
            ix("repositorybuild_access_token_id", &["access_token_id"]),
            ix("repositorybuild_pull_robot_id", &["pull_robot_id"]),
            ix("repositorybuild_queue_id", &["queue_id"]),
            ix("repositorybuild_repository_id", &["repository_id"]),
            ix(
                "repositorybuild_repository_id_started_phase",
                &["repository_id", "started", "phase"],
            ),
            ix("repositorybuild_resource_key", &["resource_key"]),
            ix("repositorybuild_started", &["started"]),
            ix(
                "repositorybuild_started_logs_archived_phase",
                &["started", "logs_archived", "phase"],
            ),
            ix("repositorybuild_trigger_id", &["trigger_id"]),
            ix("repositorybuild_uuid", &["uuid"]),
            ix("repositorybuild_logs_archived", &["logs_archived"]),
        ],
        fks: &[
            fk(
                "fk_repositorybuild_access_token_id_accesstoken",
                "access_token_id",
                "accesstoken",
            ),
            fk(
                "fk_repositorybuild_pull_robot_id_user",
                "pull_robot_id",
                "user",
            ),
            fk(
                "fk_repositorybuild_repository_id_repository",
                "repository_id",
                "repository",
            ),
            fk(
                "fk_repositorybuild_trigger_id_repositorybuildtrigger",
                "trigger_id",
                "repositorybuildtrigger",
            ),
        ],
    },
    lookup!("userpromptkind", non_unique),
    Table {
        name: "userprompt",
        pk: "pk_userprompt",
        pk_column: "id",
        columns: &[id(), c("user_id", Int), c("kind_id", Int)],
        indexes: &[
            ix("userprompt_kind_id", &["kind_id"]),
            ix("userprompt_user_id", &["user_id"]),
            ux("userprompt_user_id_kind_id", &["user_id", "kind_id"]),
        ],
        fks: &[
            fk(
                "fk_userprompt_kind_id_userpromptkind",
                "kind_id",
                "userpromptkind",
            ),
            fk("fk_userprompt_user_id_user", "user_id", "user"),
        ],
    },
    Table {
        name: "messages",
        pk: "pk_messages",
        pk_column: "id",
        columns: &[
            id(),
            c("content", Text),
            c("uuid", V36).default(DStr("")),
            c("media_type_id", Int).default(DInt(1)),
            c("severity", V255).default(DStr("info")),
        ],
        indexes: &[
            ix("messages_uuid", &["uuid"]),
            ix("messages_severity", &["severity"]),
            ix("messages_media_type_id", &["media_type_id"]),
        ],
        fks: &[fk(
            "fk_messages_media_type_id_mediatype",
            "media_type_id",
            "mediatype",
        )],
    },
    Table {
        name: "teamsync",
        pk: "pk_teamsync",
        pk_column: "id",
        columns: &[
            id(),
            c("team_id", Int),
            c("transaction_id", V255),
            n("last_updated", DateTime),
            c("service_id", Int),
            c("config", Text),
        ],
        indexes: &[
            ix("teamsync_last_updated", &["last_updated"]),
            ix("teamsync_service_id", &["service_id"]),
            ux("teamsync_team_id", &["team_id"]),
        ],
        fks: &[
            fk(
                "fk_teamsync_service_id_loginservice",
                "service_id",
                "loginservice",
            ),
            fk("fk_teamsync_team_id_team", "team_id", "team"),
        ],
    },
    Table {
        name: "repositorysearchscore",
        pk: "pk_repositorysearchscore",
        pk_column: "id",
        columns: &[
            id(),
            c("repository_id", Int),
            c("score", BigInt),
            n("last_updated", DateTime),
        ],
        indexes: &[
            ux("repositorysearchscore_repository_id", &["repository_id"]),
            ix("repositorysearchscore_score", &["score"]),
        ],
        fks: &[fk(
            "fk_repositorysearchscore_repository_id_repository",
            "repository_id",
            "repository",
        )],
    },
    Table {
        name: "blobupload",
        pk: "pk_blobupload",
        pk_column: "id",
        columns: &[
            id(),
            c("repository_id", Int),
            c("uuid", V255),
            c("byte_count", BigInt),
            n("sha_state", Text),
            c("location_id", Int),
            n("storage_metadata", Text),
            c("chunk_count", Int).default(DInt(0)),
            n("uncompressed_byte_count", BigInt),
            c("created", DateTime).default(DefaultValue::Now),
            n("piece_sha_state", Text),
            n("piece_hashes", Text),
        ],
        indexes: &[
            ix("blobupload_location_id", &["location_id"]),
            ix("blobupload_created", &["created"]),
            ux("blobupload_uuid", &["uuid"]),
            ux("blobupload_repository_id_uuid", &["repository_id", "uuid"]),
            ix("blobupload_repository_id", &["repository_id"]),
        ],
        fks: &[
            fk(
                "fk_blobupload_location_id_imagestoragelocation",
                "location_id",
                "imagestoragelocation",
            ),
            fk(
                "fk_blobupload_repository_id_repository",
                "repository_id",
                "repository",
            ),
        ],
    },
    Table {
        name: "deletednamespace",
        pk: "pk_deletednamespace",
        pk_column: "id",
        columns: &[
            id(),
            c("namespace_id", Int),
            c("marked", DateTime),
            c("original_username", V255),
            c("original_email", V255),
            n("queue_id", V255),
        ],
        indexes: &[
            ux("deletednamespace_namespace_id", &["namespace_id"]),
            ix("deletednamespace_original_email", &["original_email"]),
            ix("deletednamespace_original_username", &["original_username"]),
            ix("deletednamespace_queue_id", &["queue_id"]),
        ],
        fks: &[fk(
            "fk_deletednamespace_namespace_id_user",
            "namespace_id",
            "user",
        )],
    },
    Table {
        name: "robotaccountmetadata",
        pk: "pk_robotaccountmetadata",
        pk_column: "id",
        columns: &[
            id(),
            c("robot_account_id", Int),
            c("description", V255),
            c("unstructured_json", Text),
        ],
        indexes: &[ux(
            "robotaccountmetadata_robot_account_id",
            &["robot_account_id"],
        )],
        fks: &[fk(
            "fk_robotaccountmetadata_robot_account_id_user",
            "robot_account_id",
            "user",
        )],
    },
    Table {
        name: "logentry2",
        pk: "pk_logentry2",
        pk_column: "id",
        columns: &[
            id(),
            c("kind_id", Int),
            c("account_id", Int),
            n("performer_id", Int),
            n("repository_id", Int),
            c("datetime", DateTime),
            n("ip", V255),
            c("metadata_json", Text),
        ],
        indexes: &[
            ix("logentry2_account_id", &["account_id"]),
            ix("logentry2_account_id_datetime", &["account_id", "datetime"]),
            ix("logentry2_datetime", &["datetime"]),
            ix("logentry2_kind_id", &["kind_id"]),
            ix("logentry2_performer_id", &["performer_id"]),
            ix(
                "logentry2_performer_id_datetime",
                &["performer_id", "datetime"],
            ),
            ix("logentry2_repository_id", &["repository_id"]),
            ix(
                "logentry2_repository_id_datetime",
                &["repository_id", "datetime"],
            ),
            ix(
                "logentry2_repository_id_datetime_kind_id",
                &["repository_id", "datetime", "kind_id"],
            ),
        ],
        fks: &[fk(
            "fk_logentry2_kind_id_logentrykind",
            "kind_id",
            "logentrykind",
        )],
    },
    lookup!("apprblobplacementlocation"),
    lookup!("apprtagkind"),
    Table {
        name: "apprblob",
        pk: "pk_apprblob",
        pk_column: "id",
        columns: &[
            id(),
            c("digest", V255),
            c("media_type_id", Int),
            c("size", BigInt),
            n("uncompressed_size", BigInt),
        ],
        indexes: &[
            ux("apprblob_digest", &["digest"]),
            ix("apprblob_media_type_id", &["media_type_id"]),
        ],
        fks: &[fk(
            "fk_apprblob_media_type_id_mediatype",
            "media_type_id",
            "mediatype",
        )],
    },
    Table {
        name: "apprmanifest",
        pk: "pk_apprmanifest",
        pk_column: "id",
        columns: &[
            id(),
            c("digest", V255),
            c("media_type_id", Int),
            c("manifest_json", Text),
        ],
        indexes: &[
            ux("apprmanifest_digest", &["digest"]),
            ix("apprmanifest_media_type_id", &["media_type_id"]),
        ],
        fks: &[fk(
            "fk_apprmanifest_media_type_id_mediatype",
            "media_type_id",
            "mediatype",
        )],
    },
    Table {
        name: "apprmanifestlist",
        pk: "pk_apprmanifestlist",
        pk_column: "id",
        columns: &[
            id(),
            c("digest", V255),
            c("manifest_list_json", Text),
            c("schema_version", V255),
            c("media_type_id", Int),
        ],
        indexes: &[
            ux("apprmanifestlist_digest", &["digest"]),
            ix("apprmanifestlist_media_type_id", &["media_type_id"]),
        ],
        fks: &[fk(
            "fk_apprmanifestlist_media_type_id_mediatype",
            "media_type_id",
            "mediatype",
        )],
    },
    Table {
        name: "apprblobplacement",
        pk: "pk_apprblobplacement",
        pk_column: "id",
        columns: &[id(), c("blob_id", Int), c("location_id", Int)],
        indexes: &[
            ix("apprblobplacement_blob_id", &["blob_id"]),
            ux(
                "apprblobplacement_blob_id_location_id",
                &["blob_id", "location_id"],
            ),
            ix("apprblobplacement_location_id", &["location_id"]),
        ],
        fks: &[
            fk(
                "fk_apprblobplacement_blob_id_apprblob",
                "blob_id",
                "apprblob",
            ),
            fk(
                "fk_apprblobplacement_location_id_apprblobplacementlocation",
                "location_id",
                "apprblobplacementlocation",
            ),
        ],
    },
    Table {
        name: "apprmanifestblob",
        pk: "pk_apprmanifestblob",
        pk_column: "id",
        columns: &[id(), c("manifest_id", Int), c("blob_id", Int)],
        indexes: &[
            ix("apprmanifestblob_blob_id", &["blob_id"]),
            ix("apprmanifestblob_manifest_id", &["manifest_id"]),
            ux(
                "apprmanifestblob_manifest_id_blob_id",
                &["manifest_id", "blob_id"],
            ),
        ],
        fks: &[
            fk(
                "fk_apprmanifestblob_blob_id_apprblob",
                "blob_id",
                "apprblob",
            ),
            fk(
                "fk_apprmanifestblob_manifest_id_apprmanifest",
                "manifest_id",
                "apprmanifest",
            ),
        ],
    },
    Table {
        name: "apprmanifestlistmanifest",
        pk: "pk_apprmanifestlistmanifest",
        pk_column: "id",
        columns: &[
            id(),
            c("manifest_list_id", Int),
            c("manifest_id", Int),
            n("operating_system", V255),
            n("architecture", V255),
            n("platform_json", Text),
            c("media_type_id", Int),
        ],
        indexes: &[
            ix("apprmanifestlistmanifest_manifest_id", &["manifest_id"]),
            ix(
                "apprmanifestlistmanifest_manifest_list_id",
                &["manifest_list_id"],
            ),
            ix(
                "apprmanifestlistmanifest_manifest_list_id_media_type_id",
                &["manifest_list_id", "media_type_id"],
            ),
            ix(
                "apprmanifestlistmanifest_manifest_list_id_operating_system_arch",
                &[
                    "manifest_list_id",
                    "operating_system",
                    "architecture",
                    "media_type_id",
                ],
            ),
            ix("apprmanifestlistmanifest_media_type_id", &["media_type_id"]),
        ],
        fks: &[
            fk(
                "fk_apprmanifestlistmanifest_manifest_id_apprmanifest",
                "manifest_id",
                "apprmanifest",
            ),
            fk(
                "fk_apprmanifestlistmanifest_manifest_list_id_apprmanifestlist",
                "manifest_list_id",
                "apprmanifestlist",
            ),
            fk(
                "fk_apprmanifestlistmanifest_media_type_id_mediatype",
                "media_type_id",
                "mediatype",
            ),
        ],
    },
    Table {
        name: "apprtag",
        pk: "pk_apprtag",
        pk_column: "id",
        columns: &[
            id(),
            c("name", V255),
            c("repository_id", Int),
            n("manifest_list_id", Int),
            c("lifetime_start", BigInt),
            n("lifetime_end", BigInt),
            c("hidden", Bool),
            c("reverted", Bool),
            c("protected", Bool),
            c("tag_kind_id", Int),
            n("linked_tag_id", Int),
        ],
        indexes: &[
            ix("apprtag_lifetime_end", &["lifetime_end"]),
            ix("apprtag_linked_tag_id", &["linked_tag_id"]),
            ix("apprtag_manifest_list_id", &["manifest_list_id"]),
            ix("apprtag_repository_id", &["repository_id"]),
            ix("apprtag_repository_id_name", &["repository_id", "name"]),
            ix(
                "apprtag_repository_id_name_hidden",
                &["repository_id", "name", "hidden"],
            ),
            ux(
                "apprtag_repository_id_name_lifetime_end",
                &["repository_id", "name", "lifetime_end"],
            ),
            ix("apprtag_tag_kind_id", &["tag_kind_id"]),
        ],
        fks: &[
            fk(
                "fk_apprtag_linked_tag_id_apprtag",
                "linked_tag_id",
                "apprtag",
            ),
            fk(
                "fk_apprtag_manifest_list_id_apprmanifestlist",
                "manifest_list_id",
                "apprmanifestlist",
            ),
            fk(
                "fk_apprtag_repository_id_repository",
                "repository_id",
                "repository",
            ),
            fk(
                "fk_apprtag_tag_kind_id_apprtagkind",
                "tag_kind_id",
                "apprtagkind",
            ),
        ],
    },
    Table {
        name: "logentry",
        pk: "pk_logentry",
        pk_column: "id",
        columns: &[
            c("id", ColType::BigPkLegacy),
            c("kind_id", Int),
            c("account_id", Int),
            n("performer_id", Int),
            n("repository_id", Int),
            c("datetime", DateTime),
            n("ip", V255),
            c("metadata_json", Text),
        ],
        indexes: &[
            ix("logentry_account_id", &["account_id"]),
            ix("logentry_datetime", &["datetime"]),
            ix(
                "logentry_repository_id_datetime",
                &["repository_id", "datetime"],
            ),
            ix("logentry_account_id_datetime", &["account_id", "datetime"]),
            ix(
                "logentry_repository_id_datetime_kind_id",
                &["repository_id", "datetime", "kind_id"],
            ),
            ix("logentry_repository_id", &["repository_id"]),
            ix("logentry_kind_id", &["kind_id"]),
            ix(
                "logentry_performer_id_datetime",
                &["performer_id", "datetime"],
            ),
            ix("logentry_performer_id", &["performer_id"]),
        ],
        fks: &[fk(
            "fk_logentry_kind_id_logentrykind",
            "kind_id",
            "logentrykind",
        )],
    },
    Table {
        name: "manifest",
        pk: "pk_manifest",
        pk_column: "id",
        columns: &[
            id(),
            c("repository_id", Int),
            c("digest", V255),
            c("media_type_id", Int),
            c("manifest_bytes", Text),
            n("config_media_type", V255),
            n("layers_compressed_size", BigInt),
            n("subject", V255),
            n("subject_backfilled", Bool),
            n("artifact_type", V255),
            n("artifact_type_backfilled", Bool),
        ],
        indexes: &[
            ix("manifest_repository_id", &["repository_id"]),
            ix("manifest_media_type_id", &["media_type_id"]),
            ix(
                "manifest_repository_id_media_type_id",
                &["repository_id", "media_type_id"],
            ),
            ix("manifest_digest", &["digest"]),
            ux(
                "manifest_repository_id_digest",
                &["repository_id", "digest"],
            ),
            ix(
                "manifest_repository_id_config_media_type",
                &["repository_id", "config_media_type"],
            ),
            ix(
                "manifest_repository_id_subject",
                &["repository_id", "subject"],
            ),
            ix("manifest_subject_backfilled", &["subject_backfilled"]),
            ix(
                "manifest_repository_id_artifact_type",
                &["repository_id", "artifact_type"],
            ),
            ix(
                "manifest_artifact_type_backfilled",
                &["artifact_type_backfilled"],
            ),
        ],
        fks: &[
            fk(
                "fk_manifest_media_type_id_mediatype",
                "media_type_id",
                "mediatype",
            ),
            fk(
                "fk_manifest_repository_id_repository",
                "repository_id",
                "repository",
            ),
        ],
    },
    Table {
        name: "manifestlabel",
        pk: "pk_manifestlabel",
        pk_column: "id",
        columns: &[
            id(),
            c("repository_id", Int),
            c("manifest_id", Int),
            c("label_id", Int),
        ],
        indexes: &[
            ix("manifestlabel_label_id", &["label_id"]),
            ix("manifestlabel_manifest_id", &["manifest_id"]),
            ux(
                "manifestlabel_manifest_id_label_id",
                &["manifest_id", "label_id"],
            ),
            ix("manifestlabel_repository_id", &["repository_id"]),
        ],
        fks: &[
            fk("fk_manifestlabel_label_id_label", "label_id", "label"),
            fk(
                "fk_manifestlabel_manifest_id_manifest",
                "manifest_id",
                "manifest",
            ),
            fk(
                "fk_manifestlabel_repository_id_repository",
                "repository_id",
                "repository",
            ),
        ],
    },
    Table {
        name: "manifestblob",
        pk: "pk_manifestblob",
        pk_column: "id",
        columns: &[
            id(),
            c("repository_id", Int),
            c("manifest_id", Int),
            c("blob_id", Int),
        ],
        indexes: &[
            ix("manifestblob_repository_id", &["repository_id"]),
            ux(
                "manifestblob_manifest_id_blob_id",
                &["manifest_id", "blob_id"],
            ),
            ix("manifestblob_manifest_id", &["manifest_id"]),
            ix("manifestblob_blob_id", &["blob_id"]),
            ix(
                "manifestblob_repository_id_blob_id",
                &["repository_id", "blob_id"],
            ),
        ],
        fks: &[
            fk(
                "fk_manifestblob_blob_id_imagestorage",
                "blob_id",
                "imagestorage",
            ),
            fk(
                "fk_manifestblob_repository_id_repository",
                "repository_id",
                "repository",
            ),
            fk(
                "fk_manifestblob_manifest_id_manifest",
                "manifest_id",
                "manifest",
            ),
        ],
    },
    lookup!("tagkind"),
    Table {
        name: "manifestchild",
        pk: "pk_manifestchild",
        pk_column: "id",
        columns: &[
            id(),
            c("repository_id", Int),
            c("manifest_id", Int),
            c("child_manifest_id", Int),
        ],
        indexes: &[
            ix("manifestchild_child_manifest_id", &["child_manifest_id"]),
            ix("manifestchild_manifest_id", &["manifest_id"]),
            ux(
                "manifestchild_manifest_id_child_manifest_id",
                &["manifest_id", "child_manifest_id"],
            ),
            ix("manifestchild_repository_id", &["repository_id"]),
            ix(
                "manifestchild_repository_id_child_manifest_id",
                &["repository_id", "child_manifest_id"],
            ),
            ix(
                "manifestchild_repository_id_manifest_id",
                &["repository_id", "manifest_id"],
            ),
            ix(
                "manifestchild_repository_id_manifest_id_child_manifest_id",
                &["repository_id", "manifest_id", "child_manifest_id"],
            ),
        ],
        fks: &[
            fk(
                "fk_manifestchild_child_manifest_id_manifest",
                "child_manifest_id",
                "manifest",
            ),
            fk(
                "fk_manifestchild_manifest_id_manifest",
                "manifest_id",
                "manifest",
            ),
            fk(
                "fk_manifestchild_repository_id_repository",
                "repository_id",
                "repository",
            ),
        ],
    },
    Table {
        name: "tag",
        pk: "pk_tag",
        pk_column: "id",
        columns: &[
            id(),
            c("name", V255),
            c("repository_id", Int),
            n("manifest_id", Int),
            c("lifetime_start_ms", BigInt),
            n("lifetime_end_ms", BigInt),
            c("hidden", Bool).default(DBool(false)),
            c("reversion", Bool).default(DBool(false)),
            c("tag_kind_id", Int),
            n("linked_tag_id", Int),
            c("immutable", Bool).default(DBool(false)),
        ],
        indexes: &[
            ix("tag_lifetime_end_ms", &["lifetime_end_ms"]),
            ix("tag_linked_tag_id", &["linked_tag_id"]),
            ix("tag_manifest_id", &["manifest_id"]),
            ix("tag_repository_id", &["repository_id"]),
            ix("tag_repository_id_name", &["repository_id", "name"]),
            ix(
                "tag_repository_id_name_hidden",
                &["repository_id", "name", "hidden"],
            ),
            ux(
                "tag_repository_id_name_lifetime_end_ms",
                &["repository_id", "name", "lifetime_end_ms"],
            ),
            ix(
                "tag_repository_id_name_tag_kind_id",
                &["repository_id", "name", "tag_kind_id"],
            ),
            ix("tag_tag_kind_id", &["tag_kind_id"]),
            ix(
                "tag_repository_id_lifetime_end_ms",
                &["repository_id", "lifetime_end_ms"],
            ),
            ix(
                "tag_repository_id_lifetime_start_ms",
                &["repository_id", "lifetime_start_ms"],
            ),
            ix(
                "tag_repository_id_immutable",
                &["repository_id", "immutable"],
            ),
            ix("tag_manifest_id_immutable", &["manifest_id", "immutable"]),
            ix(
                "tag_manifest_id_lifetime_end_ms",
                &["manifest_id", "lifetime_end_ms"],
            ),
        ],
        fks: &[
            fk("fk_tag_linked_tag_id_tag", "linked_tag_id", "tag"),
            fk("fk_tag_manifest_id_manifest", "manifest_id", "manifest"),
            fk(
                "fk_tag_repository_id_repository",
                "repository_id",
                "repository",
            ),
            fk("fk_tag_tag_kind_id_tagkind", "tag_kind_id", "tagkind"),
        ],
    },
    Table {
        name: "logentry3",
        pk: "pk_logentry3",
        pk_column: "id",
        columns: &[
            c("id", ColType::BigPk),
            c("kind_id", Int),
            c("account_id", Int),
            n("performer_id", Int),
            n("repository_id", Int),
            c("datetime", DateTime),
            n("ip", V255),
            c("metadata_json", Text),
        ],
        indexes: &[
            ix("logentry3_account_id_datetime", &["account_id", "datetime"]),
            ix("logentry3_datetime", &["datetime"]),
            ix(
                "logentry3_performer_id_datetime",
                &["performer_id", "datetime"],
            ),
            ix(
                "logentry3_repository_id_datetime_kind_id",
                &["repository_id", "datetime", "kind_id"],
            ),
        ],
        fks: &[],
    },
    Table {
        name: "repomirrorrule",
        pk: "pk_repomirrorrule",
        pk_column: "id",
        columns: &[
            id(),
            c("uuid", V36),
            c("repository_id", Int),
            c("creation_date", DateTime),
            c("rule_type", Int),
            c("rule_value", Text),
            n("left_child_id", Int),
            n("right_child_id", Int),
        ],
        indexes: &[
            ix("repomirrorrule_left_child_id", &["left_child_id"]),
            ix("repomirrorrule_repository_id", &["repository_id"]),
            ix("repomirrorrule_right_child_id", &["right_child_id"]),
            ix("repomirrorrule_rule_type", &["rule_type"]),
            ux("repomirrorrule_uuid", &["uuid"]),
        ],
        fks: &[
            fk(
                "fk_repomirrorrule_left_child_id_repomirrorrule",
                "left_child_id",
                "repomirrorrule",
            ),
            fk(
                "fk_repomirrorrule_repository_id_repository",
                "repository_id",
                "repository",
            ),
            fk(
                "fk_repomirrorrule_right_child_id_repomirrorrule",
                "right_child_id",
                "repomirrorrule",
            ),
        ],
    },
    Table {
        name: "robotaccounttoken",
        pk: "pk_robotaccounttoken",
        pk_column: "id",
        columns: &[
            id(),
            c("robot_account_id", Int),
            c("token", V255),
            c("fully_migrated", Bool).default(DBool(false)),
        ],
        indexes: &[ux(
            "robotaccounttoken_robot_account_id",
            &["robot_account_id"],
        )],
        fks: &[fk(
            "fk_robotaccounttoken_robot_account_id_user",
            "robot_account_id",
            "user",
        )],
    },
    Table {
        name: "appspecificauthtoken",
        pk: "pk_appspecificauthtoken",
        pk_column: "id",
        columns: &[
            id(),
            c("user_id", Int),
            c("uuid", V36),
            c("title", V255),
            c("created", DateTime),
            n("expiration", DateTime),
            n("last_accessed", DateTime),
            c("token_name", V255),
            c("token_secret", V255),
        ],
        indexes: &[
            ux("appspecificauthtoken_token_name", &["token_name"]),
            ix("appspecificauthtoken_user_id", &["user_id"]),
            ix("appspecificauthtoken_uuid", &["uuid"]),
            ix(
                "appspecificauthtoken_user_id_expiration",
                &["user_id", "expiration"],
            ),
        ],
        fks: &[fk(
            "fk_appspecificauthtoken_user_id_user",
            "user_id",
            "user",
        )],
    },
    Table {
        name: "oauthapplication",
        pk: "pk_oauthapplication",
        pk_column: "id",
        columns: &[
            id(),
            c("client_id", V255),
            c("redirect_uri", V255),
            c("application_uri", V255),
            c("organization_id", Int),
            c("name", V255),
            c("description", Text),
            n("gravatar_email", V255),
            n("secure_client_secret", V255),
            c("fully_migrated", Bool).default(DBool(false)),
        ],
        indexes: &[
            ix("oauthapplication_client_id", &["client_id"]),
            ix("oauthapplication_organization_id", &["organization_id"]),
        ],
        fks: &[fk(
            "fk_oauthapplication_organization_id_user",
            "organization_id",
            "user",
        )],
    },
    Table {
        name: "oauthaccesstoken",
        pk: "pk_oauthaccesstoken",
        pk_column: "id",
        columns: &[
            id(),
            c("uuid", V255),
            c("application_id", Int),
            c("authorized_user_id", Int),
            c("scope", V255),
            c("token_type", V255),
            c("expires_at", DateTime),
            c("data", Text),
            c("token_code", V255),
            c("token_name", V255),
            // d064a4f00d4a
            n("last_accessed", DateTime),
            n("created", DateTime),
        ],
        indexes: &[
            ix("oauthaccesstoken_application_id", &["application_id"]),
            ux("oauthaccesstoken_token_name", &["token_name"]),
            ix("oauthaccesstoken_uuid", &["uuid"]),
            ix(
                "oauthaccesstoken_authorized_user_id",
                &["authorized_user_id"],
            ),
            ix(
                "oauthaccesstoken_application_id_last_accessed",
                &["application_id", "last_accessed"],
            ),
        ],
        fks: &[
            fk(
                "fk_oauthaccesstoken_authorized_user_id_user",
                "authorized_user_id",
                "user",
            ),
            fk(
                "fk_oauthaccesstoken_application_id_oauthapplication",
                "application_id",
                "oauthapplication",
            ),
        ],
    },
    Table {
        name: "oauthauthorizationcode",
        pk: "pk_oauthauthorizationcode",
        pk_column: "id",
        columns: &[
            id(),
            c("application_id", Int),
            c("scope", V255),
            c("data", Text),
            c("code_credential", V255),
            c("code_name", V255),
        ],
        indexes: &[
            ix("oauthauthorizationcode_application_id", &["application_id"]),
            ux("oauthauthorizationcode_code_name", &["code_name"]),
        ],
        fks: &[fk(
            "fk_oauthauthorizationcode_application_id_oauthapplication",
            "application_id",
            "oauthapplication",
        )],
    },
    Table {
        name: "deletedrepository",
        pk: "pk_deletedrepository",
        pk_column: "id",
        columns: &[
            id(),
            c("repository_id", Int),
            c("marked", DateTime),
            c("original_name", V255),
            n("queue_id", V255),
        ],
        indexes: &[
            ix("deletedrepository_original_name", &["original_name"]),
            ix("deletedrepository_queue_id", &["queue_id"]),
            ux("deletedrepository_repository_id", &["repository_id"]),
        ],
        fks: &[fk(
            "fk_deletedrepository_repository_id_repository",
            "repository_id",
            "repository",
        )],
    },
    Table {
        name: "manifestsecuritystatus",
        pk: "pk_manifestsecuritystatus",
        pk_column: "id",
        columns: &[
            id(),
            c("manifest_id", Int),
            c("repository_id", Int),
            c("index_status", Int),
            c("error_json", Text),
            c("last_indexed", DateTime),
            c("indexer_hash", Varchar(128)),
            c("indexer_version", Int),
            c("metadata_json", Text),
        ],
        indexes: &[
            ix("manifestsecuritystatus_index_status", &["index_status"]),
            ix("manifestsecuritystatus_indexer_hash", &["indexer_hash"]),
            ix(
                "manifestsecuritystatus_indexer_version",
                &["indexer_version"],
            ),
            ix("manifestsecuritystatus_last_indexed", &["last_indexed"]),
            ux("manifestsecuritystatus_manifest_id", &["manifest_id"]),
            ix("manifestsecuritystatus_repository_id", &["repository_id"]),
        ],
        fks: &[
            fk(
                "fk_manifestsecuritystatus_manifest_id_manifest",
                "manifest_id",
                "manifest",
            ),
            fk(
                "fk_manifestsecuritystatus_repository_id_repository",
                "repository_id",
                "repository",
            ),
        ],
    },
    Table {
        name: "uploadedblob",
        pk: "pk_uploadedblob",
        pk_column: "id",
        columns: &[
            c("id", ColType::BigPk),
            c("repository_id", Int),
            c("blob_id", Int),
            c("uploaded_at", DateTime),
            c("expires_at", DateTime),
        ],
        indexes: &[
            ix("uploadedblob_blob_id", &["blob_id"]),
            ix("uploadedblob_expires_at", &["expires_at"]),
            ix("uploadedblob_repository_id", &["repository_id"]),
        ],
        fks: &[
            fk(
                "fk_uploadedblob_blob_id_imagestorage",
                "blob_id",
                "imagestorage",
            ),
            fk(
                "fk_uploadedblob_repository_id_repository",
                "repository_id",
                "repository",
            ),
        ],
    },
    Table {
        name: "userorganizationquota",
        pk: "pk_userorganizationquota",
        pk_column: "id",
        columns: &[id(), c("namespace_id", Int), c("limit_bytes", BigInt)],
        indexes: &[ux("userorganizationquota_organization", &["namespace_id"])],
        fks: &[fk(
            "fk_userorganizationquota_organization",
            "namespace_id",
            "user",
        )],
    },
    Table {
        name: "quotatype",
        pk: "pk_quotatype",
        pk_column: "id",
        columns: &[id(), c("name", V255)],
        indexes: &[],
        fks: &[],
    },
    Table {
        name: "quotalimits",
        pk: "pk_quotalimits",
        pk_column: "id",
        columns: &[
            id(),
            c("quota_id", Int),
            c("quota_type_id", Int),
            c("percent_of_limit", Int),
        ],
        indexes: &[ix("quotalimits_quota_id", &["quota_id"])],
        fks: &[
            fk("fk_quotalimit_type", "quota_type_id", "quotatype"),
            fk("fk_quotalimit_id", "quota_id", "userorganizationquota"),
        ],
    },
    Table {
        name: "proxycacheconfig",
        pk: "pk_proxy_cache_config",
        pk_column: "id",
        columns: &[
            id(),
            c("organization_id", Int),
            c("creation_date", DateTime),
            c("upstream_registry", Varchar(2048)),
            n("upstream_registry_username", Varchar(4096)),
            n("upstream_registry_password", Varchar(4096)),
            n("expiration_s", Int).default(DInt(86400)),
            c("insecure", Bool).default(DBool(false)),
        ],
        indexes: &[],
        fks: &[fk(
            "fk_proxy_cache_config_organization_id",
            "organization_id",
            "user",
        )],
    },
    Table {
        name: "quotanamespacesize",
        pk: "pk_quotanamespacesizeid",
        pk_column: "id",
        columns: &[
            id(),
            c("namespace_user_id", Int),
            c("size_bytes", BigInt).default(DInt(0)),
            n("backfill_start_ms", BigInt),
            c("backfill_complete", Bool).default(DBool(false)),
        ],
        indexes: &[
            ux(
                "quotanamespacesize_namespace_user_id",
                &["namespace_user_id"],
            ),
            ix(
                "quotanamespacesize_backfill_start_ms",
                &["backfill_start_ms"],
            ),
            ix("quotanamespacesize_size_bytes", &["size_bytes"]),
        ],
        fks: &[fk(
            "fk_quotanamespacesize_namespace_user_id_user",
            "namespace_user_id",
            "user",
        )],
    },
    Table {
        name: "quotarepositorysize",
        pk: "pk_quotarepositorysizeid",
        pk_column: "id",
        columns: &[
            id(),
            c("repository_id", Int),
            c("size_bytes", BigInt).default(DInt(0)),
            n("backfill_start_ms", BigInt),
            c("backfill_complete", Bool).default(DBool(false)),
        ],
        indexes: &[
            ux("quotarepositorysize_repository_id", &["repository_id"]),
            ix("quotarepositorysize_size_bytes", &["size_bytes"]),
        ],
        fks: &[fk(
            "fk_quotarepositorysize_repository_id_repository",
            "repository_id",
            "repository",
        )],
    },
    Table {
        name: "redhatsubscriptions",
        pk: "pk_redhatsubscriptions",
        pk_column: "id",
        columns: &[id(), c("user_id", Int), c("account_number", Int)],
        indexes: &[],
        fks: &[fk("fk_redhatsubscriptions", "user_id", "user")],
    },
    Table {
        name: "quotaregistrysize",
        pk: "pk_quotaregistrysizeid",
        pk_column: "id",
        columns: &[
            id(),
            c("size_bytes", BigInt).default(DInt(0)),
            c("running", Bool).default(DBool(false)),
            c("queued", Bool).default(DBool(false)),
            n("completed_ms", BigInt),
        ],
        indexes: &[],
        fks: &[],
    },
    Table {
        name: "organizationrhskus",
        pk: "pk_organizationrhskus",
        pk_column: "id",
        columns: &[
            id(),
            c("subscription_id", Int),
            c("org_id", Int),
            c("user_id", Int),
            n("quantity", Int),
        ],
        indexes: &[
            ux(
                "organizationrhskus_subscription_id_org_id",
                &["subscription_id", "org_id"],
            ),
            ux(
                "organizationrhskus_subscription_id_org_id_user_id",
                &["subscription_id", "org_id", "user_id"],
            ),
            ix("organizationrhskus_subscription_id", &["subscription_id"]),
        ],
        fks: &[
            fk("fk_organizationrhskus_userid", "user_id", "user"),
            fk("fk_organizationrhskus_orgid", "org_id", "user"),
        ],
    },
    Table {
        name: "namespaceautoprunepolicy",
        pk: "pk_namespaceautoprunepolicyid",
        pk_column: "id",
        columns: &[
            id(),
            c("uuid", V36),
            c("namespace_id", Int),
            c("policy", Text),
        ],
        indexes: &[
            ux("namespaceautoprunepolicy_uuid", &["uuid"]),
            ix("namespaceautoprunepolicy_namespace_id", &["namespace_id"]),
        ],
        fks: &[fk(
            "fk_namespaceautoprunepolicy_namespace_id_user",
            "namespace_id",
            "user",
        )],
    },
    Table {
        name: "autoprunetaskstatus",
        pk: "pk_autoprunetaskstatusid",
        pk_column: "id",
        columns: &[
            id(),
            c("namespace_id", Int),
            n("last_ran_ms", BigInt),
            n("status", Text),
        ],
        indexes: &[
            ux("autoprunetaskstatus_namespace_id", &["namespace_id"]),
            ix("autoprunetaskstatus_last_ran_ms", &["last_ran_ms"]),
        ],
        fks: &[fk(
            "fk_autoprunetaskstatus_namespace_id_user",
            "namespace_id",
            "user",
        )],
    },
    Table {
        name: "repositoryautoprunepolicy",
        pk: "pk_repositoryautoprunepolicyid",
        pk_column: "id",
        columns: &[
            id(),
            c("uuid", V36),
            c("repository_id", Int),
            c("namespace_id", Int),
            c("policy", Text),
        ],
        indexes: &[
            ux("repositoryautoprunepolicy_uuid", &["uuid"]),
            ix("repositoryautoprunepolicy_namespace_id", &["namespace_id"]),
            ix(
                "repositoryautoprunepolicy_repository_id",
                &["repository_id"],
            ),
        ],
        fks: &[
            fk(
                "fk_repositoryautoprunepolicy_repository_id_repository",
                "repository_id",
                "repository",
            ),
            fk(
                "fk_repositoryautoprunepolicy_namespace_id_user",
                "namespace_id",
                "user",
            ),
        ],
    },
    Table {
        name: "oauthassignedtoken",
        pk: "pk_oauthassignedtoken",
        pk_column: "id",
        columns: &[
            id(),
            c("uuid", V255),
            c("assigned_user_id", Int),
            c("application_id", Int),
            n("redirect_uri", V255),
            c("scope", V255),
            n("response_type", V255),
        ],
        indexes: &[
            ux("oauthassignedtoken_uuid", &["uuid"]),
            ix("oauthassignedtoken_application_id", &["application_id"]),
            ix("oauthassignedtoken_assigned_user", &["assigned_user_id"]),
        ],
        fks: &[
            fk(
                "fk_oauthassignedtoken_application_oauthapplication",
                "application_id",
                "oauthapplication",
            ),
            fk(
                "fk_oauthassignedtoken_assigned_user_user",
                "assigned_user_id",
                "user",
            ),
        ],
    },
    Table {
        name: "tagnotificationsuccess",
        pk: "pk_tag_notification_success",
        pk_column: "id",
        columns: &[
            id(),
            c("notification_id", Int),
            c("tag_id", Int),
            c("method_id", Int),
        ],
        indexes: &[
            ix(
                "tagnotificationsuccess_notification_id",
                &["notification_id"],
            ),
            ix("tagnotificationsuccess_tag_id", &["tag_id"]),
        ],
        fks: &[
            fk(
                "fk_tag_notification_success_notification_id",
                "notification_id",
                "repositorynotification",
            ),
            fk("fk_tag_notification_success_tag_id", "tag_id", "tag"),
            fk(
                "fk_tag_notification_success_method_id",
                "method_id",
                "externalnotificationmethod",
            ),
        ],
    },
    Table {
        name: "repomirrorconfig",
        pk: "pk_repomirrorconfig",
        pk_column: "id",
        columns: &[
            id(),
            c("repository_id", Int),
            c("creation_date", DateTime),
            c("is_enabled", Bool),
            c("mirror_type", Int),
            c("internal_robot_id", Int),
            n("external_registry_username", Varchar(4096)),
            c("external_registry_config", Text),
            c("sync_interval", Int).default(DInt(60)),
            n("sync_start_date", DateTime),
            n("sync_expiration_date", DateTime),
            c("sync_retries_remaining", Int).default(DInt(3)),
            c("sync_status", Int),
            n("sync_transaction_id", V36),
            c("root_rule_id", Int),
            c("external_reference", Text),
            n("external_registry_password", Varchar(9000)),
            c("skopeo_timeout", BigInt).default(DInt(300)),
            n("architecture_filter", Text),
        ],
        indexes: &[
            ix("repomirrorconfig_root_rule_id", &["root_rule_id"]),
            ix(
                "repomirrorconfig_sync_transaction_id",
                &["sync_transaction_id"],
            ),
            ix("repomirrorconfig_internal_robot_id", &["internal_robot_id"]),
            ix("repomirrorconfig_mirror_type", &["mirror_type"]),
            ux("repomirrorconfig_repository_id", &["repository_id"]),
            ix("repomirrorconfig_sync_status", &["sync_status"]),
        ],
        fks: &[
            fk(
                "fk_repomirrorconfig_root_rule_id_repomirrorrule",
                "root_rule_id",
                "repomirrorrule",
            ),
            fk(
                "fk_repomirrorconfig_repository_id_repository",
                "repository_id",
                "repository",
            ),
            fk(
                "fk_repomirrorconfig_internal_robot_id_user",
                "internal_robot_id",
                "user",
            ),
        ],
    },
    Table {
        name: "tagpullstatistics",
        pk: "pk_tagpullstatistics",
        pk_column: "id",
        columns: &[
            id(),
            c("repository_id", Int),
            c("tag_name", V255),
            c("tag_pull_count", BigInt),
            c("last_tag_pull_date", DateTime),
            n("current_manifest_digest", V255),
        ],
        indexes: &[ux(
            "tagpullstatistics_repository_id_tag_name",
            &["repository_id", "tag_name"],
        )],
        fks: &[fk(
            "fk_tagpullstatistics_repository_id_repository",
            "repository_id",
            "repository",
        )],
    },
    Table {
        name: "manifestpullstatistics",
        pk: "pk_manifestpullstatistics",
        pk_column: "id",
        columns: &[
            id(),
            c("repository_id", Int),
            c("manifest_digest", V255),
            c("manifest_pull_count", BigInt),
            c("last_manifest_pull_date", DateTime),
        ],
        indexes: &[ux(
            "manifestpullstatistics_repository_id_manifest_digest",
            &["repository_id", "manifest_digest"],
        )],
        fks: &[fk(
            "fk_manifestpullstatistics_repository_id_repository",
            "repository_id",
            "repository",
        )],
    },
    Table {
        name: "orgmirrorconfig",
        pk: "pk_orgmirrorconfig",
        pk_column: "id",
        columns: &[
            id(),
            c("organization_id", Int),
            c("creation_date", DateTime),
            c("is_enabled", Bool).default(DBool(true)),
            c("mirror_type", Int).default(DInt(1)),
            c("external_registry_type", Int),
            c("external_registry_url", Varchar(2048)),
            c("external_namespace", V255),
            n("external_registry_username", Varchar(4096)),
            n("external_registry_password", Varchar(9000)),
            c("external_registry_config", Text),
            c("internal_robot_id", Int),
            c("repository_filters", Text),
            c("visibility_id", Int),
            c("delete_stale_repos", Bool).default(DBool(false)),
            c("sync_interval", Int),
            n("sync_start_date", DateTime),
            n("sync_expiration_date", DateTime),
            c("sync_retries_remaining", Int).default(DInt(3)),
            c("sync_status", Int).default(DInt(0)),
            n("sync_transaction_id", V36),
            c("skopeo_timeout", BigInt).default(DInt(300)),
            c("architecture_filter", Text).default(DStr("[]")),
        ],
        indexes: &[
            ux("orgmirrorconfig_organization_id", &["organization_id"]),
            ix("orgmirrorconfig_internal_robot_id", &["internal_robot_id"]),
            ix("orgmirrorconfig_sync_status", &["sync_status"]),
            ix("orgmirrorconfig_sync_start_date", &["sync_start_date"]),
        ],
        fks: &[
            fk(
                "fk_orgmirrorconfig_organization_id_user",
                "organization_id",
                "user",
            ),
            fk(
                "fk_orgmirrorconfig_internal_robot_id_user",
                "internal_robot_id",
                "user",
            ),
            fk(
                "fk_orgmirrorconfig_visibility_id_visibility",
                "visibility_id",
                "visibility",
            ),
        ],
    },
    Table {
        name: "orgmirrorrepository",
        pk: "pk_orgmirrorrepository",
        pk_column: "id",
        columns: &[
            id(),
            c("org_mirror_config_id", Int),
            c("repository_name", V255),
            n("repository_id", Int),
            c("discovery_date", DateTime),
            c("sync_status", Int).default(DInt(0)),
            n("sync_start_date", DateTime),
            n("sync_expiration_date", DateTime),
            n("last_sync_date", DateTime),
            n("status_message", Text),
            c("creation_date", DateTime),
            c("sync_retries_remaining", Int).default(DInt(3)),
            n("sync_transaction_id", V36),
        ],
        indexes: &[
            ix(
                "orgmirrorrepository_org_mirror_config_id",
                &["org_mirror_config_id"],
            ),
            ix("orgmirrorrepository_repository_id", &["repository_id"]),
            ix("orgmirrorrepository_sync_status", &["sync_status"]),
            ux(
                "orgmirrorrepository_config_repo_name",
                &["org_mirror_config_id", "repository_name"],
            ),
            ix(
                "orgmirrorrepository_config_status",
                &["org_mirror_config_id", "sync_status"],
            ),
        ],
        fks: &[
            fk(
                "fk_orgmirrorrepository_org_mirror_config_id_orgmirrorconfig",
                "org_mirror_config_id",
                "orgmirrorconfig",
            ),
            fk(
                "fk_orgmirrorrepository_repository_id_repository",
                "repository_id",
                "repository",
            ),
        ],
    },
    Table {
        name: "namespaceimmutabilitypolicy",
        pk: "pk_namespaceimmutabilitypolicyid",
        pk_column: "id",
        columns: &[
            id(),
            c("uuid", V36),
            c("namespace_id", Int),
            c("policy", Text),
        ],
        indexes: &[
            ix(
                "namespaceimmutabilitypolicy_namespace_id",
                &["namespace_id"],
            ),
            ux("namespaceimmutabilitypolicy_uuid", &["uuid"]),
        ],
        fks: &[fk(
            "fk_namespaceimmutabilitypolicy_namespace_id_user",
            "namespace_id",
            "user",
        )],
    },
    Table {
        name: "repositoryimmutabilitypolicy",
        pk: "pk_repositoryimmutabilitypolicyid",
        pk_column: "id",
        columns: &[
            id(),
            c("uuid", V36),
            c("repository_id", Int),
            c("namespace_id", Int),
            c("policy", Text),
        ],
        indexes: &[
            ix(
                "repositoryimmutabilitypolicy_repository_id",
                &["repository_id"],
            ),
            ix(
                "repositoryimmutabilitypolicy_namespace_id",
                &["namespace_id"],
            ),
            ux("repositoryimmutabilitypolicy_uuid", &["uuid"]),
        ],
        fks: &[
            fk(
                "fk_repositoryimmutabilitypolicy_repository_id_repository",
                "repository_id",
                "repository",
            ),
            fk(
                "fk_repositoryimmutabilitypolicy_namespace_id_user",
                "namespace_id",
                "user",
            ),
        ],
    },
    Table {
        name: "organizationcontactemail",
        pk: "pk_organizationcontactemail",
        pk_column: "id",
        columns: &[id(), c("organization_id", Int), n("contact_email", V255)],
        indexes: &[
            ux(
                "organizationcontactemail_organization_id",
                &["organization_id"],
            ),
            ix("organizationcontactemail_contact_email", &["contact_email"]),
        ],
        fks: &[fk(
            "fk_organizationcontactemail_organization_id_user",
            "organization_id",
            "user",
        )],
    },
    // 6715e4719375
    Table {
        name: "namespacenotification",
        pk: "pk_namespacenotification",
        pk_column: "id",
        columns: &[
            id(),
            c("uuid", V255),
            c("namespace_id", Int),
            c("event_id", Int),
            c("method_id", Int),
            n("title", V255),
            c("config_json", Text),
            c("event_config_json", Text).default(DStr("{}")),
            c("number_of_failures", Int).default(DInt(0)),
            n("last_ran_ms", BigInt),
        ],
        indexes: &[
            ix("namespacenotification_uuid", &["uuid"]),
            ix("namespacenotification_namespace_id", &["namespace_id"]),
        ],
        fks: &[
            fk(
                "fk_namespacenotification_namespace_id",
                "namespace_id",
                "user",
            ),
            fk(
                "fk_namespacenotification_event_id",
                "event_id",
                "externalnotificationevent",
            ),
            fk(
                "fk_namespacenotification_method_id",
                "method_id",
                "externalnotificationmethod",
            ),
        ],
    },
    // 6715e4719375
    Table {
        name: "quotanotificationstate",
        pk: "pk_quotanotificationstate",
        pk_column: "id",
        columns: &[
            id(),
            c("namespace_id", Int),
            c("threshold_percent", Int),
            n("last_notified_at", DateTime),
            c("cleared", Bool).default(DBool(true)),
        ],
        indexes: &[
            ix("quotanotificationstate_namespace_id", &["namespace_id"]),
            ux(
                "quotanotificationstate_namespace_threshold",
                &["namespace_id", "threshold_percent"],
            ),
        ],
        fks: &[fk(
            "fk_quotanotificationstate_namespace_id",
            "namespace_id",
            "user",
        )],
    },
];

/// Looks a table up by name.
pub fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.name == name)
}

/// Rows of a lookup table (`id`, `name`), inserted with these exact ids.
#[derive(Debug, Clone, Copy)]
pub struct Seed {
    pub table: &'static str,
    pub rows: &'static [(i64, &'static str)],
}

/// `labelsourcetype` rows: (id, name, mutable).
pub static LABEL_SOURCE_TYPES: &[(i64, &str, bool)] = &[
    (1, "manifest", false),
    (2, "api", true),
    (3, "internal", false),
];

/// Lookup-table seed rows at [`crate::ALEMBIC_REVISION`] (except `labelsourcetype`,
/// see [`LABEL_SOURCE_TYPES`]).
pub static SEEDS: &[Seed] = &[
    Seed {
        table: "accesstokenkind",
        rows: &[(1, "build-worker"), (2, "pushpull-token")],
    },
    Seed {
        table: "apprblobplacementlocation",
        rows: &[(1, "local_eu"), (2, "local_us")],
    },
    Seed {
        table: "apprtagkind",
        rows: &[(1, "tag"), (2, "release"), (3, "channel")],
    },
    Seed {
        table: "buildtriggerservice",
        rows: &[
            (1, "github"),
            (2, "gitlab"),
            (3, "bitbucket"),
            (4, "custom-git"),
        ],
    },
    Seed {
        table: "disablereason",
        rows: &[
            (1, "user_toggled"),
            (2, "successive_build_failures"),
            (3, "successive_build_internal_errors"),
        ],
    },
    Seed {
        table: "externalnotificationevent",
        rows: &[
            (1, "build_failure"),
            (2, "build_queued"),
            (3, "build_start"),
            (4, "build_success"),
            (5, "repo_push"),
            (6, "vulnerability_found"),
            (7, "build_cancelled"),
            (8, "repo_mirror_sync_started"),
            (9, "repo_mirror_sync_success"),
            (10, "repo_mirror_sync_failed"),
            (11, "repo_image_expiry"),
            // 6715e4719375
            (12, "quota_warning"),
            (13, "quota_error"),
        ],
    },
    Seed {
        table: "externalnotificationmethod",
        rows: &[
            (1, "email"),
            (2, "flowdock"),
            (3, "hipchat"),
            (4, "quay_notification"),
            (5, "slack"),
            (6, "webhook"),
        ],
    },
    Seed {
        table: "imagestoragelocation",
        rows: &[
            (1, "s3_us_east_1"),
            (2, "s3_eu_west_1"),
            (3, "s3_ap_southeast_1"),
            (4, "s3_ap_southeast_2"),
            (5, "s3_ap_northeast_1"),
            (6, "s3_sa_east_1"),
            (7, "local"),
            (8, "s3_us_west_1"),
        ],
    },
    Seed {
        table: "imagestoragesignaturekind",
        rows: &[(1, "gpg2")],
    },
    Seed {
        table: "imagestoragetransformation",
        rows: &[(1, "squash"), (2, "aci")],
    },
    Seed {
        table: "logentrykind",
        rows: &[
            (1, "account_change_cc"),
            (2, "account_change_password"),
            (3, "account_change_plan"),
            (4, "account_convert"),
            (5, "add_repo_accesstoken"),
            (6, "add_repo_notification"),
            (7, "add_repo_permission"),
            (8, "add_repo_webhook"),
            (9, "build_dockerfile"),
            (10, "change_repo_permission"),
            (11, "change_repo_visibility"),
            (12, "create_application"),
            (13, "create_prototype_permission"),
            (14, "create_repo"),
            (15, "create_robot"),
            (16, "create_tag"),
            (17, "delete_application"),
            (18, "delete_prototype_permission"),
            (19, "delete_repo"),
            (20, "delete_repo_accesstoken"),
            (21, "delete_repo_notification"),
            (22, "delete_repo_permission"),
            (23, "delete_repo_trigger"),
            (24, "delete_repo_webhook"),
            (25, "delete_robot"),
            (26, "delete_tag"),
            (27, "manifest_label_add"),
            (28, "manifest_label_delete"),
            (29, "modify_prototype_permission"),
            (30, "move_tag"),
            (31, "org_add_team_member"),
            (32, "org_create_team"),
            (33, "org_delete_team"),
            (34, "org_delete_team_member_invite"),
            (35, "org_invite_team_member"),
            (36, "org_remove_team_member"),
            (37, "org_set_team_description"),
            (38, "org_set_team_role"),
            (39, "org_team_member_invite_accepted"),
            (40, "org_team_member_invite_declined"),
            (41, "pull_repo"),
            (42, "push_repo"),
            (43, "regenerate_robot_token"),
            (44, "repo_verb"),
            (45, "reset_application_client_secret"),
            (46, "revert_tag"),
            (47, "service_key_approve"),
            (48, "service_key_create"),
            (49, "service_key_delete"),
            (50, "service_key_extend"),
            (51, "service_key_modify"),
            (52, "service_key_rotate"),
            (53, "setup_repo_trigger"),
            (54, "set_repo_description"),
            (55, "take_ownership"),
            (56, "update_application"),
            (57, "change_repo_trust"),
            (58, "reset_repo_notification"),
            (59, "change_tag_expiration"),
            (60, "create_app_specific_token"),
            (61, "revoke_app_specific_token"),
            (62, "toggle_repo_trigger"),
            (63, "repo_mirror_enabled"),
            (64, "repo_mirror_disabled"),
            (65, "repo_mirror_config_changed"),
            (66, "repo_mirror_sync_started"),
            (67, "repo_mirror_sync_failed"),
            (68, "repo_mirror_sync_success"),
            (69, "repo_mirror_sync_now_requested"),
            (70, "repo_mirror_sync_tag_success"),
            (71, "repo_mirror_sync_tag_failed"),
            (72, "repo_mirror_sync_test_success"),
            (73, "repo_mirror_sync_test_failed"),
            (74, "repo_mirror_sync_test_started"),
            (75, "change_repo_state"),
            (76, "create_proxy_cache_config"),
            (77, "delete_proxy_cache_config"),
            (78, "start_build_trigger"),
            (79, "cancel_build"),
            (80, "org_create"),
            (81, "org_delete"),
            (82, "org_change_email"),
            (83, "org_change_invoicing"),
            (84, "org_change_tag_expiration"),
            (85, "org_change_name"),
            (86, "user_create"),
            (87, "user_delete"),
            (88, "user_disable"),
            (89, "user_enable"),
            (90, "user_change_email"),
            (91, "user_change_password"),
            (92, "user_change_name"),
            (93, "user_change_invoicing"),
            (94, "user_change_tag_expiration"),
            (95, "user_change_metadata"),
            (96, "user_generate_client_key"),
            (97, "login_success"),
            (98, "logout_success"),
            (99, "permanently_delete_tag"),
            (100, "autoprune_tag_delete"),
            (101, "create_namespace_autoprune_policy"),
            (102, "update_namespace_autoprune_policy"),
            (103, "delete_namespace_autoprune_policy"),
            (104, "login_failure"),
            (105, "push_repo_failed"),
            (106, "pull_repo_failed"),
            (107, "delete_tag_failed"),
            (108, "create_repository_autoprune_policy"),
            (109, "update_repository_autoprune_policy"),
            (110, "delete_repository_autoprune_policy"),
            (111, "enable_team_sync"),
            (112, "disable_team_sync"),
            (113, "oauth_token_assigned"),
            (114, "oauth_token_revoked"),
            (115, "change_tag_immutability"),
            (116, "create_robot_federation"),
            (117, "delete_robot_federation"),
            (118, "federated_robot_token_exchange"),
            (119, "export_logs_success"),
            (120, "export_logs_failure"),
            (121, "org_create_quota"),
            (122, "org_change_quota"),
            (123, "org_delete_quota"),
            (124, "org_create_quota_limit"),
            (125, "org_change_quota_limit"),
            (126, "org_delete_quota_limit"),
            (127, "org_mirror_enabled"),
            (128, "org_mirror_disabled"),
            (129, "org_mirror_config_changed"),
            (130, "org_mirror_sync_started"),
            (131, "org_mirror_sync_failed"),
            (132, "org_mirror_sync_success"),
            (133, "org_mirror_sync_now_requested"),
            (134, "org_mirror_sync_cancelled"),
            (135, "org_mirror_repo_created"),
            (136, "create_immutability_policy"),
            (137, "update_immutability_policy"),
            (138, "delete_immutability_policy"),
            (139, "org_mirror_repo_creation_failed"),
            (140, "tag_made_immutable_by_policy"),
            (141, "tags_made_immutable_by_policy"),
            // d064a4f00d4a
            (142, "create_oauth_api_token"),
            (143, "revoke_oauth_api_token"),
            // 9fa37f66a9b6
            (144, "create_namespace_notification"),
            (145, "delete_namespace_notification"),
            (146, "reset_namespace_notification"),
        ],
    },
    Seed {
        table: "loginservice",
        rows: &[
            (1, "github"),
            (2, "quayrobot"),
            (3, "ldap"),
            (4, "google"),
            (5, "keystone"),
            (6, "dex"),
            (7, "jwtauthn"),
            (8, "oidc"),
        ],
    },
    Seed {
        table: "mediatype",
        rows: &[
            (1, "text/plain"),
            (2, "application/json"),
            (3, "text/markdown"),
            (4, "application/vnd.cnr.blob.v0.tar+gzip"),
            (5, "application/vnd.cnr.package-manifest.helm.v0.json"),
            (6, "application/vnd.cnr.package-manifest.kpm.v0.json"),
            (
                7,
                "application/vnd.cnr.package-manifest.docker-compose.v0.json",
            ),
            (8, "application/vnd.cnr.package.kpm.v0.tar+gzip"),
            (9, "application/vnd.cnr.package.helm.v0.tar+gzip"),
            (10, "application/vnd.cnr.package.docker-compose.v0.tar+gzip"),
            (11, "application/vnd.cnr.manifests.v0.json"),
            (12, "application/vnd.cnr.manifest.list.v0.json"),
            (
                13,
                "application/vnd.docker.distribution.manifest.v1+prettyjws",
            ),
            (14, "application/vnd.docker.distribution.manifest.v1+json"),
            (15, "application/vnd.docker.distribution.manifest.v2+json"),
            (
                16,
                "application/vnd.docker.distribution.manifest.list.v2+json",
            ),
            (17, "application/vnd.oci.image.manifest.v1+json"),
            (18, "application/vnd.oci.image.index.v1+json"),
        ],
    },
    Seed {
        table: "notificationkind",
        rows: &[
            (1, "build_failure"),
            (2, "build_queued"),
            (3, "build_start"),
            (4, "build_success"),
            (5, "expiring_license"),
            (6, "maintenance"),
            (7, "org_team_invite"),
            (8, "over_private_usage"),
            (9, "password_required"),
            (10, "repo_push"),
            (11, "service_key_submitted"),
            (12, "vulnerability_found"),
            (13, "build_cancelled"),
            (14, "repo_mirror_sync_started"),
            (15, "repo_mirror_sync_success"),
            (16, "repo_mirror_sync_failed"),
            (17, "quota_warning"),
            (18, "quota_error"),
            (19, "assigned_authorization"),
        ],
    },
    Seed {
        table: "quotatype",
        rows: &[(1, "Warning"), (2, "Reject")],
    },
    Seed {
        table: "repositorykind",
        rows: &[(1, "image"), (2, "application")],
    },
    Seed {
        table: "role",
        rows: &[(1, "admin"), (2, "write"), (3, "read")],
    },
    Seed {
        table: "tagkind",
        rows: &[(1, "tag")],
    },
    Seed {
        table: "teamrole",
        rows: &[(1, "admin"), (2, "creator"), (3, "member")],
    },
    Seed {
        table: "userpromptkind",
        rows: &[
            (1, "confirm_username"),
            (2, "enter_name"),
            (3, "enter_company"),
        ],
    },
    Seed {
        table: "visibility",
        rows: &[(1, "public"), (2, "private")],
    },
];

/// SQL dialect for DDL generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    Sqlite,
}

fn q(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

fn sql_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

pub(crate) fn render_default(d: DefaultValue, dialect: Dialect) -> String {
    match (d, dialect) {
        (DefaultValue::Int(i), _) => format!("'{i}'"),
        (DefaultValue::Bool(b), Dialect::Postgres) => if b { "true" } else { "false" }.into(),
        (DefaultValue::Bool(b), Dialect::Sqlite) => if b { "1" } else { "0" }.into(),
        (DefaultValue::Str(s), _) => sql_str(s),
        (DefaultValue::Now, Dialect::Postgres) => "now()".into(),
        (DefaultValue::Now, Dialect::Sqlite) => "CURRENT_TIMESTAMP".into(),
    }
}

/// `CREATE TABLE` for one table. SQLite gets foreign keys inline; PostgreSQL gets them
/// from [`foreign_key_ddl`] after all tables exist.
pub fn create_table_ddl<'a>(t: impl Into<TableView<'a>>, dialect: Dialect) -> String {
    let t = t.into();
    let mut parts: Vec<String> = t
        .columns
        .iter()
        .map(|col| {
            let ty = match dialect {
                Dialect::Postgres => col.ty.pg(),
                Dialect::Sqlite => col.ty.sqlite(),
            };
            let mut s = format!("{} {ty}", q(col.name));
            if let Some(d) = col.default {
                let _ = write!(s, " DEFAULT {}", render_default(d, dialect));
            }
            if !col.nullable {
                s.push_str(" NOT NULL");
            }
            s
        })
        .collect();
    parts.push(format!(
        "CONSTRAINT {} PRIMARY KEY ({})",
        q(t.pk),
        q(t.pk_column)
    ));
    if dialect == Dialect::Sqlite {
        for f in t.fks {
            parts.push(format!(
                "CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} (\"id\")",
                q(f.name),
                q(f.column),
                q(f.ref_table)
            ));
        }
    }
    format!("CREATE TABLE {} (\n\t{}\n)", q(t.name), parts.join(",\n\t"))
}

/// `CREATE INDEX` statements for one table.
pub fn index_ddl<'a>(t: impl Into<TableView<'a>>, dialect: Dialect) -> Vec<String> {
    let t = t.into();
    t.indexes
        .iter()
        .map(|i| {
            let cols = i
                .columns
                .iter()
                .map(|c| {
                    if i.trigram && dialect == Dialect::Postgres {
                        format!("{} gin_trgm_ops", q(c))
                    } else {
                        q(c)
                    }
                })
                .collect::<Vec<_>>()
                .join(", ");
            let using = if i.trigram && dialect == Dialect::Postgres {
                " USING gin"
            } else {
                ""
            };
            let mut s = format!(
                "CREATE {}INDEX {} ON {}{using} ({cols})",
                if i.unique { "UNIQUE " } else { "" },
                q(i.name),
                q(t.name)
            );
            if let Some(p) = i.predicate {
                let _ = write!(s, " WHERE {p}");
            }
            s
        })
        .collect()
}

/// PostgreSQL `ALTER TABLE … ADD CONSTRAINT … FOREIGN KEY` statements for one table.
pub fn foreign_key_ddl<'a>(t: impl Into<TableView<'a>>) -> Vec<String> {
    let t = t.into();
    t.fks
        .iter()
        .map(|f| {
            format!(
                "ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} (\"id\")",
                q(t.name),
                q(f.name),
                q(f.column),
                q(f.ref_table)
            )
        })
        .collect()
}

/// `INSERT` statements for every seed row (lookup tables, `labelsourcetype`), with
/// literal values; on PostgreSQL followed by sequence resets so later inserts by Quay
/// (which rely on the `serial` sequence) do not collide.
pub fn seed_statements(dialect: Dialect) -> Vec<String> {
    let mut out = Vec::new();
    for s in SEEDS {
        for (id, name) in s.rows {
            out.push(format!(
                "INSERT INTO {} (\"id\", \"name\") VALUES ({id}, {})",
                q(s.table),
                sql_str(name)
            ));
        }
    }
    for (id, name, mutable) in LABEL_SOURCE_TYPES {
        let m = render_default(DefaultValue::Bool(*mutable), dialect);
        out.push(format!(
            "INSERT INTO \"labelsourcetype\" (\"id\", \"name\", \"mutable\") VALUES ({id}, {}, {m})",
            sql_str(name)
        ));
    }
    if dialect == Dialect::Postgres {
        let seeded = SEEDS
            .iter()
            .map(|s| s.table)
            .chain(std::iter::once("labelsourcetype"));
        for t in seeded {
            out.push(format!(
                "SELECT setval(pg_get_serial_sequence('{}', 'id'), (SELECT MAX(\"id\") FROM {}))",
                q(t),
                q(t)
            ));
        }
    }
    out
}

/// The complete, ordered DDL + seed script that creates Quay's schema at
/// [`crate::ALEMBIC_REVISION`] on an empty database (including the `alembic_version`
/// stamp; PostgreSQL also gets `CREATE EXTENSION IF NOT EXISTS pg_trgm`).
pub fn full_schema_statements(dialect: Dialect) -> Vec<String> {
    let mut out = Vec::new();
    if dialect == Dialect::Postgres {
        out.push("CREATE EXTENSION IF NOT EXISTS pg_trgm".to_string());
    }
    for t in TABLES {
        out.push(create_table_ddl(t, dialect));
        out.extend(index_ddl(t, dialect));
    }
    if dialect == Dialect::Postgres {
        for t in TABLES {
            out.extend(foreign_key_ddl(t));
        }
    }
    out.extend(seed_statements(dialect));
    out.push(format!(
        "INSERT INTO \"alembic_version\" (\"version_num\") VALUES ({})",
        sql_str(crate::ALEMBIC_REVISION)
    ));
    out
}

/// Renders [`full_schema_statements`] as one script (for inspection / `psql`).
pub fn full_schema_script(dialect: Dialect) -> String {
    let mut s = String::new();
    for stmt in full_schema_statements(dialect) {
        s.push_str(&stmt);
        s.push_str(";\n");
    }
    s
}

/// quayside's own tables (prefixed `quayside_`); never touch Quay's tables.
pub fn quayside_tables_ddl(dialect: Dialect) -> Vec<String> {
    let ts = match dialect {
        Dialect::Postgres => "timestamp without time zone",
        Dialect::Sqlite => "DATETIME",
    };
    vec![
        format!(
            "CREATE TABLE IF NOT EXISTS \"quayside_schema_version\" (\
             \"name\" TEXT NOT NULL PRIMARY KEY, \"version\" INTEGER NOT NULL, \"applied_at\" {ts} NOT NULL)"
        ),
        // Cross-instance worker leases (quayside-workers): one row per lock name; a lease is
        // held by `holder` until `expires_at_ms` (milliseconds since the epoch).
        "CREATE TABLE IF NOT EXISTS \"quayside_worker_lock\" (\
         \"name\" TEXT NOT NULL PRIMARY KEY, \"holder\" TEXT NOT NULL, \"expires_at_ms\" BIGINT NOT NULL)"
            .to_string(),
    ]
}

/// quayside's own schema level recorded in `quayside_schema_version` under name `quayside`.
pub const QUAYSIDE_SCHEMA_VERSION: i32 = 1;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_fks_resolve() {
        let mut tables = std::collections::HashSet::new();
        let mut indexes = std::collections::HashSet::new();
        for t in TABLES {
            assert!(tables.insert(t.name), "duplicate table {}", t.name);
            for i in t.indexes {
                assert!(indexes.insert(i.name), "duplicate index {}", i.name);
                for c in i.columns {
                    assert!(t.columns.iter().any(|col| col.name == *c), "{}.{c}", i.name);
                }
            }
            for f in t.fks {
                assert!(
                    table(f.ref_table).is_some(),
                    "{} -> {}",
                    f.name,
                    f.ref_table
                );
                assert!(
                    t.columns.iter().any(|col| col.name == f.column),
                    "{}",
                    f.name
                );
            }
        }
        assert_eq!(TABLES.len(), 105);
        for s in SEEDS {
            assert!(
                table(s.table).is_some(),
                "seed for unknown table {}",
                s.table
            );
        }
    }
}
