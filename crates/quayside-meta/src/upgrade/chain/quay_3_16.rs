//! Quay's Alembic chain: the revisions Quay 3.16 added.
//! Transcribed facts (names, types, indexes, lookup rows); see docs/UPGRADES.md.
#![allow(unused_imports)]
use super::super::ops::{Backfill as Code, Migration, Op::*};
use crate::schema::ColType::*;
use crate::schema::DefaultValue::{Bool as DBool, Int as DInt, Now as DNow, Str as DStr};
use crate::schema::{c, fk, id, ix, n, ux, Column, ForeignKey, Index, Table};

pub(super) static M_7078c84d14e8: Migration = Migration {
    revision: "7078c84d14e8",
    down_revision: Some("1623f40582ed"),
    title: "add_pull_statistics_tables",
    created: "2024-09-30",
    ops: &[
        CreateHeadTable("tagpullstatistics"),
        CreateHeadTable("manifestpullstatistics"),
    ],
};

pub(super) static M_9307c3d604b4: Migration = Migration {
    revision: "9307c3d604b4",
    down_revision: Some("7078c84d14e8"),
    title: "add_quota_audit_log_kinds",
    created: "2025-12-08",
    ops: &[InsertLookup(
        "logentrykind",
        &[
            "org_create_quota",
            "org_change_quota",
            "org_delete_quota",
            "org_create_quota_limit",
            "org_change_quota_limit",
            "org_delete_quota_limit",
        ],
    )],
};
