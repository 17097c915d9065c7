//! Quay's Alembic chain: the revisions Quay 3.12 added.
//! Transcribed facts (names, types, indexes, lookup rows); see docs/UPGRADES.md.
#![allow(unused_imports)]
use super::super::ops::{Backfill as Code, Migration, Op::*};
use crate::schema::ColType::*;
use crate::schema::DefaultValue::{Bool as DBool, Int as DInt, Now as DNow, Str as DStr};
use crate::schema::{c, fk, id, ix, n, ux, Column, ForeignKey, Index, Table};

pub(super) static M_cead4183265c: Migration = Migration {
    revision: "cead4183265c",
    down_revision: Some("135fd3e94615"),
    title: "recreate index for repository autoprune policy",
    created: "2024-03-05",
    // The foreign key is dropped and re-added around the index swap (MySQL needs it).
    ops: &[
        DropForeignKey(
            "repositoryautoprunepolicy",
            fk(
                "fk_repositoryautoprunepolicy_namespace_id_user",
                "namespace_id",
                "user",
            ),
        ),
        DropIndex(
            "repositoryautoprunepolicy",
            ux("repositoryautoprunepolicy_namespace_id", &["namespace_id"]),
        ),
        AddForeignKey(
            "repositoryautoprunepolicy",
            fk(
                "fk_repositoryautoprunepolicy_namespace_id_user",
                "namespace_id",
                "user",
            ),
        ),
        CreateIndex(
            "repositoryautoprunepolicy",
            ix("repositoryautoprunepolicy_namespace_id", &["namespace_id"]),
        ),
    ],
};

pub(super) static M_36cd2b747a08: Migration = Migration {
    revision: "36cd2b747a08",
    down_revision: Some("cead4183265c"),
    title: "team sync logs",
    created: "2024-03-12",
    ops: &[InsertLookup(
        "logentrykind",
        &["enable_team_sync", "disable_team_sync"],
    )],
};

pub(super) static M_946f0e90f9c9: Migration = Migration {
    revision: "946f0e90f9c9",
    down_revision: Some("36cd2b747a08"),
    title: "Create manifestsubject table",
    created: "2023-11-17",
    // Quay skips each step whose column/index already exists.
    ops: &[
        AddColumn("manifest", n("subject", Varchar(255))),
        AddColumn("manifest", n("subject_backfilled", Bool)),
        CreateIndex(
            "manifest",
            ix(
                "manifest_repository_id_subject",
                &["repository_id", "subject"],
            ),
        ),
    ],
};

// Quay creates the index only when it does not already exist.
pub(super) static M_0cdd1f27a450: Migration = Migration {
    revision: "0cdd1f27a450",
    down_revision: Some("946f0e90f9c9"),
    title: "add subject backfilled index",
    created: "2024-06-21",
    ops: &[CreateIndex(
        "manifest",
        ix("manifest_subject_backfilled", &["subject_backfilled"]),
    )],
};

pub(super) static M_0988213e0885: Migration = Migration {
    revision: "0988213e0885",
    down_revision: Some("0cdd1f27a450"),
    title: "add oauth assigned token table",
    created: "2024-05-15",
    ops: &[
        CreateHeadTable("oauthassignedtoken"),
        InsertLookup("notificationkind", &["assigned_authorization"]),
    ],
};

pub(super) static M_66147b81aad2: Migration = Migration {
    revision: "66147b81aad2",
    down_revision: Some("0988213e0885"),
    title: "create repo_image_expiry notification type",
    created: "2024-05-13",
    ops: &[InsertLookup(
        "externalnotificationevent",
        &["repo_image_expiry"],
    )],
};

pub(super) static M_f67fe4871771: Migration = Migration {
    revision: "f67fe4871771",
    down_revision: Some("66147b81aad2"),
    title: "create tag_notification_sent table",
    created: "2024-05-13",
    ops: &[CreateHeadTable("tagnotificationsuccess")],
};

pub(super) static M_2664723e1b4b: Migration = Migration {
    revision: "2664723e1b4b",
    down_revision: Some("f67fe4871771"),
    title: "add last_ran_ms to repository_notification_table",
    created: "2024-05-13",
    // The stored copy only adds the column; the head has its index too and no other revision
    // creates it.
    ops: &[
        AddColumn("repositorynotification", n("last_ran_ms", BigInt)),
        CreateIndex(
            "repositorynotification",
            ix("repositorynotification_last_ran_ms", &["last_ran_ms"]),
        ),
    ],
};

pub(super) static M_8a7ba94c2e84: Migration = Migration {
    revision: "8a7ba94c2e84",
    down_revision: Some("2664723e1b4b"),
    title: "add assign token logentry",
    created: "2024-07-16",
    ops: &[InsertLookup(
        "logentrykind",
        &["oauth_token_assigned", "oauth_token_revoked"],
    )],
};

pub(super) static M_3f8d7acdf7f9: Migration = Migration {
    revision: "3f8d7acdf7f9",
    down_revision: Some("8a7ba94c2e84"),
    title: "Add artifact_type column",
    created: "2024-07-16",
    ops: &[
        AddColumn("manifest", n("artifact_type", Varchar(255))),
        AddColumn("manifest", n("artifact_type_backfilled", Bool)),
        CreateIndex(
            "manifest",
            ix(
                "manifest_repository_id_artifact_type",
                &["repository_id", "artifact_type"],
            ),
        ),
        CreateIndex(
            "manifest",
            ix(
                "manifest_artifact_type_backfilled",
                &["artifact_type_backfilled"],
            ),
        ),
    ],
};
