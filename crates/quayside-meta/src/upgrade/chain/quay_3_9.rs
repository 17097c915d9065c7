//! Quay's Alembic chain: the revisions Quay 3.9 added.
//! Transcribed facts (names, types, indexes, lookup rows); see docs/UPGRADES.md.
#![allow(unused_imports)]
use super::super::ops::{Backfill as Code, Migration, Op::*};
use crate::schema::ColType::*;
use crate::schema::DefaultValue::{Bool as DBool, Int as DInt, Now as DNow, Str as DStr};
use crate::schema::{c, fk, id, ix, n, ux, Column, ForeignKey, Index, Table};

pub(super) static M_b2d1e4b95fc2: Migration = Migration {
    revision: "b2d1e4b95fc2",
    down_revision: Some("7bca88923f2c"),
    title: "add build triggers' logentrykind",
    created: "2022-12-15",
    ops: &[InsertLookup(
        "logentrykind",
        &["start_build_trigger", "cancel_build"],
    )],
};

pub(super) static M_f0875fbc7c7a: Migration = Migration {
    revision: "f0875fbc7c7a",
    down_revision: Some("b2d1e4b95fc2"),
    title: "\u{201c}quota-v2\u{201d}",
    created: "2023-01-25",
    // The stored version that matches schema.rs (quotanamespacesize / quotarepositorysize).
    // Its indexes are added later by 4366f54be43c.
    ops: &[
        CreateTable(Table {
            name: "quotanamespacesize",
            pk: "pk_quotanamespacesizeid",
            pk_column: "id",
            columns: &[
                id(),
                c("namespace_user_id", Int),
                c("size_bytes", BigInt).default(DInt(0)),
                n("backfill_start_ms", BigInt),
                c("backfill_complete", Bool).default(DBool(false)),
            ],
            indexes: &[],
            fks: &[fk(
                "fk_quotanamespacesize_namespace_user_id_user",
                "namespace_user_id",
                "user",
            )],
        }),
        CreateTable(Table {
            name: "quotarepositorysize",
            pk: "pk_quotarepositorysizeid",
            pk_column: "id",
            columns: &[
                id(),
                c("repository_id", Int),
                c("size_bytes", BigInt).default(DInt(0)),
                n("backfill_start_ms", BigInt),
                c("backfill_complete", Bool).default(DBool(false)),
            ],
            indexes: &[],
            fks: &[fk(
                "fk_quotarepositorysize_repository_id_repository",
                "repository_id",
                "repository",
            )],
        }),
    ],
};

pub(super) static M_a648ab200ab7: Migration = Migration {
    revision: "a648ab200ab7",
    down_revision: Some("f0875fbc7c7a"),
    title: "add org auditing",
    created: "2023-04-27",
    ops: &[InsertLookup(
        "logentrykind",
        &[
            "org_create",
            "org_delete",
            "org_change_email",
            "org_change_invoicing",
            "org_change_tag_expiration",
            "org_change_name",
            "user_create",
            "user_delete",
            "user_disable",
            "user_enable",
            "user_change_email",
            "user_change_password",
            "user_change_name",
            "user_change_invoicing",
            "user_change_tag_expiration",
            "user_change_metadata",
            "user_generate_client_key",
        ],
    )],
};

pub(super) static M_43fea47d641f: Migration = Migration {
    revision: "43fea47d641f",
    down_revision: Some("a648ab200ab7"),
    title: "create RH subscriptions table",
    created: "2023-03-15",
    ops: &[CreateHeadTable("redhatsubscriptions")],
};

pub(super) static M_0246c2d0e750: Migration = Migration {
    revision: "0246c2d0e750",
    down_revision: Some("43fea47d641f"),
    title: "add login logout logentrykind",
    created: "2023-05-04",
    ops: &[InsertLookup(
        "logentrykind",
        &["login_success", "logout_success"],
    )],
};

pub(super) static M_ab5a24478052: Migration = Migration {
    revision: "ab5a24478052",
    down_revision: Some("0246c2d0e750"),
    title: "add_registry_size_table",
    created: "2023-03-07",
    ops: &[CreateHeadTable("quotaregistrysize")],
};
