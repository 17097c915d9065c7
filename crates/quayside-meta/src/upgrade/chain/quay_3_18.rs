//! Quay's Alembic chain: the revisions of Quay's development line after 3.17, up to the head quayside serves.
//! Transcribed facts (names, types, indexes, lookup rows); see docs/UPGRADES.md.
#![allow(unused_imports)]
use super::super::ops::{Backfill as Code, Migration, Op::*};
use crate::schema::ColType::*;
use crate::schema::DefaultValue::{Bool as DBool, Int as DInt, Now as DNow, Str as DStr};
use crate::schema::{c, fk, id, ix, n, ux, Column, ForeignKey, Index, Table};

pub(super) static M_b1a79fa8e630: Migration = Migration {
    revision: "b1a79fa8e630",
    down_revision: Some("c3d4e5f6a7b8"),
    title: "replace user email unique constraint with partial index",
    created: "2026-06-23",
    // Quay checks each index first (creates only if absent, drops only if present) and
    // builds the PostgreSQL indexes CONCURRENTLY; the new indexes are made before the old
    // one is dropped.
    ops: &[
        Data {
            what: "copy organizationcontactemail.contact_email back into user.email for \
                   organizations whose email is a placeholder (contains no '@')",
            pg: "UPDATE \"user\" SET email = (SELECT oce.contact_email \
                 FROM organizationcontactemail oce \
                 WHERE oce.organization_id = \"user\".id AND oce.contact_email IS NOT NULL) \
                 WHERE organization = true AND email NOT LIKE '%@%' \
                 AND EXISTS (SELECT 1 FROM organizationcontactemail oce \
                 WHERE oce.organization_id = \"user\".id AND oce.contact_email IS NOT NULL)",
            sqlite: "UPDATE \"user\" SET email = (SELECT oce.contact_email \
                     FROM organizationcontactemail oce \
                     WHERE oce.organization_id = \"user\".id AND oce.contact_email IS NOT NULL) \
                     WHERE organization = 1 AND email NOT LIKE '%@%' \
                     AND EXISTS (SELECT 1 FROM organizationcontactemail oce \
                     WHERE oce.organization_id = \"user\".id AND oce.contact_email IS NOT NULL)",
        },
        CreateIndex(
            "user",
            ux("user_email_unique_non_org", &["email"]).predicate("organization = false"),
        ),
        CreateIndex("user", ix("user_email_idx", &["email"])),
        DropIndex("user", ux("user_email", &["email"])),
    ],
};

pub(super) static M_d064a4f00d4a: Migration = Migration {
    revision: "d064a4f00d4a",
    down_revision: Some("b1a79fa8e630"),
    title: "add oauth api token metadata and audit log kinds",
    created: "2026-07-07",
    ops: &[
        AddColumn("oauthaccesstoken", n("last_accessed", DateTime)),
        AddColumn("oauthaccesstoken", n("created", DateTime)),
        CreateIndex(
            "oauthaccesstoken",
            ix(
                "oauthaccesstoken_application_id_last_accessed",
                &["application_id", "last_accessed"],
            ),
        ),
        InsertLookup(
            "logentrykind",
            &["create_oauth_api_token", "revoke_oauth_api_token"],
        ),
    ],
};

pub(super) static M_6715e4719375: Migration = Migration {
    revision: "6715e4719375",
    down_revision: Some("d064a4f00d4a"),
    title: "add_namespace_notification_tables",
    created: "2026-06-15",
    ops: &[
        CreateHeadTable("namespacenotification"),
        CreateHeadTable("quotanotificationstate"),
        InsertLookup(
            "externalnotificationevent",
            &["quota_warning", "quota_error"],
        ),
    ],
};

pub(super) static M_9fa37f66a9b6: Migration = Migration {
    revision: "9fa37f66a9b6",
    down_revision: Some("6715e4719375"),
    title: "add_namespace_notification_log_entry_kinds",
    created: "2026-06-15",
    ops: &[InsertLookup(
        "logentrykind",
        &[
            "create_namespace_notification",
            "delete_namespace_notification",
            "reset_namespace_notification",
        ],
    )],
};
