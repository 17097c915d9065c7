//! Quay's Alembic chain: the revisions Quay 3.13 added.
//! Transcribed facts (names, types, indexes, lookup rows); see docs/UPGRADES.md.
#![allow(unused_imports)]
use super::super::ops::{Backfill as Code, Migration, Op::*};
use crate::schema::ColType::*;
use crate::schema::DefaultValue::{Bool as DBool, Int as DInt, Now as DNow, Str as DStr};
use crate::schema::{c, fk, id, ix, n, ux, Column, ForeignKey, Index, Table};

pub(super) static M_a32e17bfad20: Migration = Migration {
    revision: "a32e17bfad20",
    down_revision: Some("3f8d7acdf7f9"),
    title: "increase upstreamregistry's password length (PROJQUAY-7430)",
    created: "2024-07-13",
    ops: &[
        AddColumn(
            "repomirrorconfig",
            n("external_registry_password_new", Varchar(9000)),
        ),
        Data {
            what: "copy repomirrorconfig.external_registry_password into \
                   external_registry_password_new",
            pg: "UPDATE repomirrorconfig \
                 SET external_registry_password_new = external_registry_password",
            sqlite: "UPDATE repomirrorconfig \
                     SET external_registry_password_new = external_registry_password",
        },
        DropColumn(
            "repomirrorconfig",
            n("external_registry_password", Varchar(4096)),
        ),
        RenameColumn {
            table: "repomirrorconfig",
            from: "external_registry_password_new",
            to: "external_registry_password",
        },
    ],
};

// From 5b8dc452f5c3_add_tag_immutability_column_and_logentry_kinds.py (the newer stored
// version, rebased onto a32e17bfad20); 5b8dc452f5c3_add_tag_immutability_column.py is an
// older version of the same revision (onto ab5a24478052, without the log kind).
pub(super) static M_5b8dc452f5c3: Migration = Migration {
    revision: "5b8dc452f5c3",
    down_revision: Some("a32e17bfad20"),
    title: "add tag immutability column",
    created: "2023-05-21",
    ops: &[
        AddColumn("tag", c("immutable", Bool).default(DBool(false))),
        CreateIndex(
            "tag",
            ix(
                "tag_repository_id_immutable",
                &["repository_id", "immutable"],
            ),
        ),
        CreateIndex(
            "tag",
            ix("tag_manifest_id_immutable", &["manifest_id", "immutable"]),
        ),
        CreateIndex(
            "tag",
            ix(
                "tag_manifest_id_lifetime_end_ms",
                &["manifest_id", "lifetime_end_ms"],
            ),
        ),
        InsertLookup("logentrykind", &["change_tag_immutability"]),
    ],
};

pub(super) static M_ba263f9be4a6: Migration = Migration {
    revision: "ba263f9be4a6",
    down_revision: Some("5b8dc452f5c3"),
    title: "remove unique constraint for autoprunepolicy",
    created: "2024-09-09",
    ops: &[
        DropIndex(
            "namespaceautoprunepolicy",
            ux("namespaceautoprunepolicy_namespace_id", &["namespace_id"]),
        ),
        CreateIndex(
            "namespaceautoprunepolicy",
            ix("namespaceautoprunepolicy_namespace_id", &["namespace_id"]),
        ),
        DropIndex(
            "repositoryautoprunepolicy",
            ux(
                "repositoryautoprunepolicy_repository_id",
                &["repository_id"],
            ),
        ),
        CreateIndex(
            "repositoryautoprunepolicy",
            ix(
                "repositoryautoprunepolicy_repository_id",
                &["repository_id"],
            ),
        ),
    ],
};

pub(super) static M_9085e82074f2: Migration = Migration {
    revision: "9085e82074f2",
    down_revision: Some("ba263f9be4a6"),
    title: "Add log event kind for federated robot",
    created: "2024-09-09",
    ops: &[InsertLookup(
        "logentrykind",
        &[
            "create_robot_federation",
            "delete_robot_federation",
            "federated_robot_token_exchange",
        ],
    )],
};

pub(super) static M_8e97c2cfee57: Migration = Migration {
    revision: "8e97c2cfee57",
    down_revision: Some("9085e82074f2"),
    title: "Add export logs auditing",
    created: "2024-08-19",
    ops: &[InsertLookup(
        "logentrykind",
        &["export_logs_success", "export_logs_failure"],
    )],
};
