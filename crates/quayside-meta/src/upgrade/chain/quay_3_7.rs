//! Quay's Alembic chain: the revisions Quay 3.7 added.
//! Transcribed facts (names, types, indexes, lookup rows); see docs/UPGRADES.md.
#![allow(unused_imports)]
use super::super::ops::{Backfill as Code, Migration, Op::*};
use crate::schema::ColType::*;
use crate::schema::DefaultValue::{Bool as DBool, Int as DInt, Now as DNow, Str as DStr};
use crate::schema::{c, fk, id, ix, n, ux, Column, ForeignKey, Index, Table};

pub(super) static M_e9f3e4dbb979: Migration = Migration {
    revision: "e9f3e4dbb979",
    down_revision: Some("909d725887d3"),
    title: "quota_management_reporting",
    created: "2021-12-16",
    ops: &[
        // One stored copy creates limit_bytes as Integer; the head has BIGINT and no revision
        // of the chain widens it, so the live one is taken to create BIGINT.
        CreateHeadTable("userorganizationquota"),
        CreateHeadTable("quotatype"),
        InsertLookup("quotatype", &["Warning", "Reject"]),
        CreateHeadTable("quotalimits"),
        // Dropped again by 8a70b8777089.
        CreateTable(Table {
            name: "repositorysize",
            pk: "pk_repositorysizeid",
            pk_column: "id",
            columns: &[id(), c("repository_id", Int), c("size_bytes", Numeric)],
            indexes: &[ux("repositorysize_repository_id", &["repository_id"])],
            fks: &[fk(
                "fk_repositorysize_repository_id_repository",
                "repository_id",
                "repository",
            )],
        }),
        InsertLookup("notificationkind", &["quota_warning", "quota_error"]),
    ],
};

pub(super) static M_10d34e6536f8: Migration = Migration {
    revision: "10d34e6536f8",
    down_revision: Some("e9f3e4dbb979"),
    title: "create proxy_cache_config table",
    created: "2022-01-13",
    ops: &[CreateTable(Table {
        name: "proxycacheconfig",
        pk: "pk_proxy_cache_config",
        pk_column: "id",
        columns: &[
            id(),
            c("organization_id", Int),
            c("creation_date", DateTime),
            c("upstream_registry", Varchar(2048)),
            n("upstream_registry_username", Varchar(2048)),
            n("upstream_registry_password", Varchar(2048)),
            n("expiration_s", Int).default(DInt(86400)),
            c("insecure", Bool).default(DBool(false)),
        ],
        indexes: &[],
        fks: &[fk(
            "fk_proxy_cache_config_organization_id",
            "organization_id",
            "user",
        )],
    })],
};

pub(super) static M_b43b44996c26: Migration = Migration {
    revision: "b43b44996c26",
    down_revision: Some("10d34e6536f8"),
    title: "increase proxy cache config creds max len",
    created: "2022-04-12",
    ops: &[
        AlterColumn {
            table: "proxycacheconfig",
            from: n("upstream_registry_username", Varchar(2048)),
            to: n("upstream_registry_username", Varchar(4096)),
        },
        AlterColumn {
            table: "proxycacheconfig",
            from: n("upstream_registry_password", Varchar(2048)),
            to: n("upstream_registry_password", Varchar(4096)),
        },
    ],
};

pub(super) static M_d94d328733e4: Migration = Migration {
    revision: "d94d328733e4",
    down_revision: Some("b43b44996c26"),
    title: "Increase repomirrorconfig char size",
    created: "2022-04-12",
    ops: &[
        AlterColumn {
            table: "repomirrorconfig",
            from: n("external_registry_username", Varchar(2048)),
            to: n("external_registry_username", Varchar(4096)),
        },
        AlterColumn {
            table: "repomirrorconfig",
            from: n("external_registry_password", Varchar(2048)),
            to: n("external_registry_password", Varchar(4096)),
        },
    ],
};
