//! Quay's Alembic chain: the revisions Quay 3.8 added.
//! Transcribed facts (names, types, indexes, lookup rows); see docs/UPGRADES.md.
#![allow(unused_imports)]
use super::super::ops::{Backfill as Code, Migration, Op::*};
use crate::schema::ColType::*;
use crate::schema::DefaultValue::{Bool as DBool, Int as DInt, Now as DNow, Str as DStr};
use crate::schema::{c, fk, id, ix, n, ux, Column, ForeignKey, Index, Table};

pub(super) static M_2d66ad598b56: Migration = Migration {
    revision: "2d66ad598b56",
    down_revision: Some("d94d328733e4"),
    title: "Change metadata_json size in logentry3 table for MySQL",
    created: "2022-08-31",
    ops: &[Skip(
        "MySQL only: logentry3.metadata_json becomes MEDIUMTEXT; nothing on PostgreSQL/SQLite",
    )],
};

pub(super) static M_7bca88923f2c: Migration = Migration {
    revision: "7bca88923f2c",
    down_revision: Some("2d66ad598b56"),
    title: "add proxy cache logentrykind",
    created: "2022-11-10",
    ops: &[InsertLookup(
        "logentrykind",
        &["create_proxy_cache_config", "delete_proxy_cache_config"],
    )],
};
