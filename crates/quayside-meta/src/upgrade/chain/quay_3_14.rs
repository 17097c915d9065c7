//! Quay's Alembic chain: the revisions Quay 3.14 added.
//! Transcribed facts (names, types, indexes, lookup rows); see docs/UPGRADES.md.
#![allow(unused_imports)]
use super::super::ops::{Backfill as Code, Migration, Op::*};
use crate::schema::ColType::*;
use crate::schema::DefaultValue::{Bool as DBool, Int as DInt, Now as DNow, Str as DStr};
use crate::schema::{c, fk, id, ix, n, ux, Column, ForeignKey, Index, Table};

pub(super) static M_3634f2df3c5b: Migration = Migration {
    revision: "3634f2df3c5b",
    down_revision: Some("8e97c2cfee57"),
    title: "drop unique constraint on org sku table",
    created: "2024-11-04",
    ops: &[
        DropIndex(
            "organizationrhskus",
            ux("organizationrhskus_subscription_id", &["subscription_id"]),
        ),
        CreateIndex(
            "organizationrhskus",
            ix("organizationrhskus_subscription_id", &["subscription_id"]),
        ),
    ],
};
