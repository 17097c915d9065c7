//! Quay's Alembic chain: the revisions Quay 3.11 added.
//! Transcribed facts (names, types, indexes, lookup rows); see docs/UPGRADES.md.
#![allow(unused_imports)]
use super::super::ops::{Backfill as Code, Migration, Op::*};
use crate::schema::ColType::*;
use crate::schema::DefaultValue::{Bool as DBool, Int as DInt, Now as DNow, Str as DStr};
use crate::schema::{c, fk, id, ix, n, ux, Column, ForeignKey, Index, Table};

pub(super) static M_8d47693829a0: Migration = Migration {
    revision: "8d47693829a0",
    down_revision: Some("2062bbd5ef0e"),
    title: "auto prune policy audit logs",
    created: "2023-10-23",
    ops: &[InsertLookup(
        "logentrykind",
        &[
            "create_namespace_autoprune_policy",
            "update_namespace_autoprune_policy",
            "delete_namespace_autoprune_policy",
        ],
    )],
};

pub(super) static M_3f8e3657bb67: Migration = Migration {
    revision: "3f8e3657bb67",
    down_revision: Some("8d47693829a0"),
    title: "add login and pull failure logentrykind",
    created: "2023-05-06",
    ops: &[InsertLookup(
        "logentrykind",
        &[
            "login_failure",
            "push_repo_failed",
            "pull_repo_failed",
            "delete_tag_failed",
        ],
    )],
};

pub(super) static M_41d15c93c299: Migration = Migration {
    revision: "41d15c93c299",
    down_revision: Some("3f8e3657bb67"),
    title: "add quantity field to orgRhSkus",
    created: "2024-01-24",
    ops: &[AddColumn("organizationrhskus", n("quantity", Int))],
};

// Two stored files carry this revision; the head schema has no teamsync_config index, so the
// live one is 135fd3e94615_insert_oidc_in_loginservice.py.
pub(super) static M_135fd3e94615: Migration = Migration {
    revision: "135fd3e94615",
    down_revision: Some("41d15c93c299"),
    title: "insert oidc in loginservice",
    created: "2024-02-21",
    ops: &[InsertLookup("loginservice", &["oidc"])],
};
