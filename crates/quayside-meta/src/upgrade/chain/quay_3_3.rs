//! Quay's Alembic chain: the revisions Quay 3.3 added.
//! Transcribed facts (names, types, indexes, lookup rows); see docs/UPGRADES.md.
#![allow(unused_imports)]
use super::super::ops::{Backfill as Code, Migration, Op::*};
use crate::schema::ColType::*;
use crate::schema::DefaultValue::{Bool as DBool, Int as DInt, Now as DNow, Str as DStr};
use crate::schema::{c, fk, id, ix, n, ux, Column, ForeignKey, Index, Table};

pub(super) static M_4fd6b8463eb2: Migration = Migration {
    revision: "4fd6b8463eb2",
    down_revision: Some("34c8ef052ec9"),
    title: "Add new DeletedRepository tracking table.",
    created: "2019-12-22",
    ops: &[CreateHeadTable("deletedrepository")],
};

pub(super) static M_8e6a363784bb: Migration = Migration {
    revision: "8e6a363784bb",
    down_revision: Some("4fd6b8463eb2"),
    title: "add manifestsecuritystatus table",
    created: "2020-03-17",
    ops: &[CreateHeadTable("manifestsecuritystatus")],
};

// Quay inserts each OCI content type separately and ignores a row that already exists.
pub(super) static M_04b9d2191450: Migration = Migration {
    revision: "04b9d2191450",
    down_revision: Some("8e6a363784bb"),
    title: "Add OCI content types",
    created: "2020-03-23",
    ops: &[InsertLookup(
        "mediatype",
        &[
            "application/vnd.oci.image.manifest.v1+json",
            "application/vnd.oci.image.index.v1+json",
        ],
    )],
};
