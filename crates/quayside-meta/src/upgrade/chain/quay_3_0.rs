//! Quay's Alembic chain: Quay 3.0's head, the chain's base (created whole, never run).
//! Transcribed facts (names, types, indexes, lookup rows); see docs/UPGRADES.md.
#![allow(unused_imports)]
use super::super::ops::{Backfill as Code, Migration, Op::*};
use crate::schema::ColType::*;
use crate::schema::DefaultValue::{Bool as DBool, Int as DInt, Now as DNow, Str as DStr};
use crate::schema::{c, fk, id, ix, n, ux, Column, ForeignKey, Index, Table};

pub(super) static M_b918abdbee43: Migration = Migration {
    revision: "b918abdbee43",
    down_revision: Some("481623ba00ba"),
    title: "Run full tag backfill.",
    created: "2019-03-14",
    ops: &[Skip(
        "no-op: Quay removed this backfill (upgrade() is pass). An older version, only when \
         SETUP_COMPLETE, ran workers.tagbackfillworker.backfill_tag (Python) on every \
         non-hidden repositorytag whose repository exists and that has no tagtorepositorytag \
         row, in id ranges, creating the matching tag/manifest rows",
    )],
};
