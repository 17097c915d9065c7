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
    ops: &[CreateTable(Table {
        name: "deletedrepository",
        pk: "pk_deletedrepository",
        pk_column: "id",
        columns: &[
            id(),
            c("repository_id", Int),
            c("marked", DateTime),
            c("original_name", Varchar(255)),
            n("queue_id", Varchar(255)),
        ],
        indexes: &[
            ix("deletedrepository_original_name", &["original_name"]),
            ix("deletedrepository_queue_id", &["queue_id"]),
            ux("deletedrepository_repository_id", &["repository_id"]),
        ],
        fks: &[fk(
            "fk_deletedrepository_repository_id_repository",
            "repository_id",
            "repository",
        )],
    })],
};

pub(super) static M_8e6a363784bb: Migration = Migration {
    revision: "8e6a363784bb",
    down_revision: Some("4fd6b8463eb2"),
    title: "add manifestsecuritystatus table",
    created: "2020-03-17",
    ops: &[CreateTable(Table {
        name: "manifestsecuritystatus",
        pk: "pk_manifestsecuritystatus",
        pk_column: "id",
        columns: &[
            id(),
            c("manifest_id", Int),
            c("repository_id", Int),
            c("index_status", Int),
            c("error_json", Text),
            c("last_indexed", DateTime),
            c("indexer_hash", Varchar(128)),
            c("indexer_version", Int),
            c("metadata_json", Text),
        ],
        indexes: &[
            ix("manifestsecuritystatus_index_status", &["index_status"]),
            ix("manifestsecuritystatus_indexer_hash", &["indexer_hash"]),
            ix(
                "manifestsecuritystatus_indexer_version",
                &["indexer_version"],
            ),
            ix("manifestsecuritystatus_last_indexed", &["last_indexed"]),
            ux("manifestsecuritystatus_manifest_id", &["manifest_id"]),
            ix("manifestsecuritystatus_repository_id", &["repository_id"]),
        ],
        fks: &[
            fk(
                "fk_manifestsecuritystatus_manifest_id_manifest",
                "manifest_id",
                "manifest",
            ),
            fk(
                "fk_manifestsecuritystatus_repository_id_repository",
                "repository_id",
                "repository",
            ),
        ],
    })],
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
