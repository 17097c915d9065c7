//! Quay's Alembic chain: the revisions Quay 3.2 added.
//! Transcribed facts (names, types, indexes, lookup rows); see docs/UPGRADES.md.
#![allow(unused_imports)]
use super::super::ops::{Backfill as Code, Migration, Op::*};
use crate::schema::ColType::*;
use crate::schema::DefaultValue::{Bool as DBool, Int as DInt, Now as DNow, Str as DStr};
use crate::schema::{c, fk, id, ix, n, ux, Column, ForeignKey, Index, Table};

pub(super) static M_cc6778199cdb: Migration = Migration {
    revision: "cc6778199cdb",
    down_revision: Some("c059b952ed76"),
    title: "repository mirror notification.",
    created: "2019-10-03",
    ops: &[
        InsertLookup(
            "notificationkind",
            &[
                "repo_mirror_sync_started",
                "repo_mirror_sync_success",
                "repo_mirror_sync_failed",
            ],
        ),
        InsertLookup(
            "externalnotificationevent",
            &[
                "repo_mirror_sync_started",
                "repo_mirror_sync_success",
                "repo_mirror_sync_failed",
            ],
        ),
    ],
};

pub(super) static M_34c8ef052ec9: Migration = Migration {
    revision: "34c8ef052ec9",
    down_revision: Some("cc6778199cdb"),
    title: "repo mirror columns.",
    created: "2019-10-07",
    ops: &[
        AddColumn("repomirrorconfig", n("external_reference", Text)),
        Backfill(Code::ReencryptMirrorCredentials),
        Data {
            what: "backfill repomirrorconfig.external_reference as \
                   external_registry/external_namespace/external_repository",
            pg: "UPDATE repomirrorconfig SET external_reference = external_registry || '/' || \
                 external_namespace || '/' || external_repository WHERE external_reference IS NULL",
            sqlite: "UPDATE repomirrorconfig SET external_reference = external_registry || '/' || \
                     external_namespace || '/' || external_repository WHERE external_reference IS NULL",
        },
        DropColumn("repomirrorconfig", c("external_registry", Varchar(255))),
        DropColumn("repomirrorconfig", c("external_namespace", Varchar(255))),
        DropColumn("repomirrorconfig", c("external_repository", Varchar(255))),
        AlterColumn {
            table: "repomirrorconfig",
            from: n("external_reference", Text),
            to: c("external_reference", Text),
        },
    ],
};
