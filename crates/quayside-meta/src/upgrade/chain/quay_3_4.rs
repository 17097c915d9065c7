//! Quay's Alembic chain: the revisions Quay 3.4 added (3.5 added none).
//! Transcribed facts (names, types, indexes, lookup rows); see docs/UPGRADES.md.
#![allow(unused_imports)]
use super::super::ops::{Backfill as Code, Migration, Op::*};
use crate::schema::ColType::*;
use crate::schema::DefaultValue::{Bool as DBool, Int as DInt, Now as DNow, Str as DStr};
use crate::schema::{c, fk, id, ix, n, ux, Column, ForeignKey, Index, Table};

// Quay creates the table and each index only when they do not already exist.
pub(super) static M_3383aad1e992: Migration = Migration {
    revision: "3383aad1e992",
    down_revision: Some("04b9d2191450"),
    title: "Add UploadedBlob table",
    created: "2020-04-21",
    ops: &[CreateHeadTable("uploadedblob")],
};

pub(super) static M_88e64904d000: Migration = Migration {
    revision: "88e64904d000",
    down_revision: Some("3383aad1e992"),
    title: "Add new metadata columns to Manifest table",
    created: "2020-04-21",
    // Quay skips each step whose column/index already exists.
    ops: &[
        AddColumn("manifest", n("config_media_type", Varchar(255))),
        AddColumn("manifest", n("layers_compressed_size", BigInt)),
        CreateIndex(
            "manifest",
            ix(
                "manifest_repository_id_config_media_type",
                &["repository_id", "config_media_type"],
            ),
        ),
    ],
};
