//! Quay's Alembic chain: the revisions Quay 3.15 added.
//! Transcribed facts (names, types, indexes, lookup rows); see docs/UPGRADES.md.
#![allow(unused_imports)]
use super::super::ops::{Backfill as Code, Migration, Op::*};
use crate::schema::ColType::*;
use crate::schema::DefaultValue::{Bool as DBool, Int as DInt, Now as DNow, Str as DStr};
use crate::schema::{c, fk, id, ix, n, ux, Column, ForeignKey, Index, Table};

pub(super) static M_e8ed3fb547da: Migration = Migration {
    revision: "e8ed3fb547da",
    down_revision: Some("3634f2df3c5b"),
    title: "alter manifestblob id",
    created: "2025-05-13",
    // PostgreSQL only in Quay (skipped when the column is already bigint). On PostgreSQL
    // the sequence manifestblob_id_seq also becomes AS BIGINT with MAXVALUE
    // 9223372036854775807.
    ops: &[Skip(
        "PostgreSQL only in Quay: manifestblob.id becomes bigint (and its sequence AS BIGINT); \
         quayside's head schema keeps the serial id of Quay's schema snapshot, see docs/UPGRADES.md",
    )],
};

pub(super) static M_1623f40582ed: Migration = Migration {
    revision: "1623f40582ed",
    down_revision: Some("e8ed3fb547da"),
    title: "Add skopeo timeout to mirroring config",
    created: "2025-06-12",
    ops: &[AddColumn(
        "repomirrorconfig",
        c("skopeo_timeout", BigInt).default(DInt(300)),
    )],
};
