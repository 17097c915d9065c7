//! Quay's Alembic chain: the revisions Quay 3.6 added.
//! Transcribed facts (names, types, indexes, lookup rows); see docs/UPGRADES.md.
#![allow(unused_imports)]
use super::super::ops::{Backfill as Code, Migration, Op::*};
use crate::schema::ColType::*;
use crate::schema::DefaultValue::{Bool as DBool, Int as DInt, Now as DNow, Str as DStr};
use crate::schema::{c, fk, id, ix, n, ux, Column, ForeignKey, Index, Table};

pub(super) static M_909d725887d3: Migration = Migration {
    revision: "909d725887d3",
    down_revision: Some("88e64904d000"),
    title: "Add composite index on manifestblob",
    created: "2021-04-23",
    // Quay skips it when the index already exists.
    ops: &[CreateIndex(
        "manifestblob",
        ix(
            "manifestblob_repository_id_blob_id",
            &["repository_id", "blob_id"],
        ),
    )],
};
