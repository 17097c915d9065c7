//! Quay's Alembic chain: the revisions Quay 3.17 added.
//! Transcribed facts (names, types, indexes, lookup rows); see docs/UPGRADES.md.
#![allow(unused_imports)]
use super::super::ops::{Backfill as Code, Migration, Op::*};
use crate::schema::ColType::*;
use crate::schema::DefaultValue::{Bool as DBool, Int as DInt, Now as DNow, Str as DStr};
use crate::schema::{c, fk, id, ix, n, ux, Column, ForeignKey, Index, Table};

pub(super) static M_27d0df099ac4: Migration = Migration {
    revision: "27d0df099ac4",
    down_revision: Some("9307c3d604b4"),
    title: "add architecture filter to repomirrorconfig",
    created: "2026-01-14",
    ops: &[AddColumn(
        "repomirrorconfig",
        n("architecture_filter", Text),
    )],
};

pub(super) static M_a1b2c3d4e5f6: Migration = Migration {
    revision: "a1b2c3d4e5f6",
    down_revision: Some("27d0df099ac4"),
    title: "add organization level mirror tables",
    created: "2026-01-15",
    // Quay creates each table/index only when it does not exist yet.
    ops: &[
        CreateTable(Table {
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
                c("external_namespace", Varchar(255)),
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
                c("sync_status", Int).default(DInt(0)),
                c("sync_retries_remaining", Int).default(DInt(3)),
                n("sync_transaction_id", Varchar(36)),
                c("skopeo_timeout", BigInt).default(DInt(300)),
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
        }),
        CreateTable(Table {
            name: "orgmirrorrepository",
            pk: "pk_orgmirrorrepository",
            pk_column: "id",
            columns: &[
                id(),
                c("org_mirror_config_id", Int),
                c("repository_name", Varchar(255)),
                n("repository_id", Int),
                c("discovery_date", DateTime),
                c("sync_status", Int).default(DInt(0)),
                n("sync_start_date", DateTime),
                n("sync_expiration_date", DateTime),
                n("last_sync_date", DateTime),
                n("status_message", Text),
                c("creation_date", DateTime),
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
        }),
        // Quay inserts each kind only when no row of that name exists.
        InsertLookup(
            "logentrykind",
            &[
                "org_mirror_enabled",
                "org_mirror_disabled",
                "org_mirror_config_changed",
                "org_mirror_sync_started",
                "org_mirror_sync_failed",
                "org_mirror_sync_success",
                "org_mirror_sync_now_requested",
                "org_mirror_sync_cancelled",
                "org_mirror_repo_created",
            ],
        ),
    ],
};

pub(super) static M_285f36ce97fd: Migration = Migration {
    revision: "285f36ce97fd",
    down_revision: Some("a1b2c3d4e5f6"),
    title: "immutability_policy",
    created: "2026-01-19",
    ops: &[
        CreateHeadTable("namespaceimmutabilitypolicy"),
        CreateHeadTable("repositoryimmutabilitypolicy"),
        InsertLookup(
            "logentrykind",
            &[
                "create_immutability_policy",
                "update_immutability_policy",
                "delete_immutability_policy",
            ],
        ),
    ],
};

pub(super) static M_b2c3d4e5f6a7: Migration = Migration {
    revision: "b2c3d4e5f6a7",
    down_revision: Some("285f36ce97fd"),
    title: "add org mirror worker columns",
    created: "2026-01-22",
    ops: &[
        AddColumn(
            "orgmirrorrepository",
            c("sync_retries_remaining", Int).default(DInt(3)),
        ),
        AddColumn("orgmirrorrepository", n("sync_transaction_id", Varchar(36))),
        AddColumn(
            "orgmirrorconfig",
            c("architecture_filter", Text).default(DStr("[]")),
        ),
    ],
};

pub(super) static M_b1c2d3e4f5a6: Migration = Migration {
    revision: "b1c2d3e4f5a6",
    down_revision: Some("b2c3d4e5f6a7"),
    title: "add org_mirror_repo_creation_failed log kind",
    created: "2026-01-28",
    ops: &[InsertLookup(
        "logentrykind",
        &["org_mirror_repo_creation_failed"],
    )],
};

pub(super) static M_15f06d00c4b3: Migration = Migration {
    revision: "15f06d00c4b3",
    down_revision: Some("b1c2d3e4f5a6"),
    title: "drop namespacegeorestriction table",
    created: "2026-02-17",
    ops: &[DropTable(Table {
        name: "namespacegeorestriction",
        pk: "pk_namespacegeorestriction",
        pk_column: "id",
        columns: &[
            id(),
            c("namespace_id", Int),
            c("added", DateTime),
            c("description", Varchar(255)),
            c("unstructured_json", Text),
            c("restricted_region_iso_code", Varchar(255)),
        ],
        indexes: &[
            ix("namespacegeorestriction_namespace_id", &["namespace_id"]),
            ux(
                "namespacegeorestriction_namespace_id_restricted_region_iso_code",
                &["namespace_id", "restricted_region_iso_code"],
            ),
            ix(
                "namespacegeorestriction_restricted_region_iso_code",
                &["restricted_region_iso_code"],
            ),
        ],
        fks: &[fk(
            "fk_namespacegeorestriction_namespace_id_user",
            "namespace_id",
            "user",
        )],
    })],
};

pub(super) static M_414c5e2fc487: Migration = Migration {
    revision: "414c5e2fc487",
    down_revision: Some("15f06d00c4b3"),
    title: "add organization contact email",
    created: "2026-02-25",
    ops: &[
        CreateHeadTable("organizationcontactemail"),
        Data {
            what: "copy each organization's email (non-null, shorter than 64 chars) into organizationcontactemail",
            pg: "INSERT INTO organizationcontactemail (organization_id, contact_email) \
                 SELECT id, email FROM \"user\" \
                 WHERE organization = true AND email IS NOT NULL AND length(email) < 64 \
                 ON CONFLICT (organization_id) DO NOTHING",
            sqlite: "INSERT OR IGNORE INTO organizationcontactemail (organization_id, contact_email) \
                     SELECT id, email FROM \"user\" \
                     WHERE organization = 1 AND email IS NOT NULL AND length(email) < 64",
        },
    ],
};

pub(super) static M_c3d4e5f6a7b8: Migration = Migration {
    revision: "c3d4e5f6a7b8",
    down_revision: Some("414c5e2fc487"),
    title: "add immutability audit log kinds",
    created: "2026-03-11",
    ops: &[InsertLookup(
        "logentrykind",
        &[
            "tag_made_immutable_by_policy",
            "tags_made_immutable_by_policy",
        ],
    )],
};
