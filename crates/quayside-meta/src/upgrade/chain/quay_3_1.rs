//! Quay's Alembic chain: the revisions Quay 3.1 added.
//! Transcribed facts (names, types, indexes, lookup rows); see docs/UPGRADES.md.
#![allow(unused_imports)]
use super::super::ops::{Backfill as Code, Migration, Op::*};
use crate::schema::ColType::*;
use crate::schema::DefaultValue::{Bool as DBool, Int as DInt, Now as DNow, Str as DStr};
use crate::schema::{c, fk, id, ix, n, ux, Column, ForeignKey, Index, Table};

pub(super) static M_5248ddf35167: Migration = Migration {
    revision: "5248ddf35167",
    down_revision: Some("b918abdbee43"),
    title: "Repository Mirror.",
    created: "2019-06-25",
    ops: &[
        CreateHeadTable("repomirrorrule"),
        CreateTable(Table {
            name: "repomirrorconfig",
            pk: "pk_repomirrorconfig",
            pk_column: "id",
            columns: &[
                id(),
                c("repository_id", Int),
                c("creation_date", DateTime),
                c("is_enabled", Bool),
                c("mirror_type", Int),
                c("internal_robot_id", Int),
                c("external_registry", Varchar(255)),
                c("external_namespace", Varchar(255)),
                c("external_repository", Varchar(255)),
                n("external_registry_username", Varchar(2048)),
                n("external_registry_password", Varchar(2048)),
                c("external_registry_config", Text),
                c("sync_interval", Int).default(DInt(60)),
                n("sync_start_date", DateTime),
                n("sync_expiration_date", DateTime),
                c("sync_retries_remaining", Int).default(DInt(3)),
                c("sync_status", Int),
                n("sync_transaction_id", Varchar(36)),
                c("root_rule_id", Int),
            ],
            indexes: &[
                ix("repomirrorconfig_mirror_type", &["mirror_type"]),
                ux("repomirrorconfig_repository_id", &["repository_id"]),
                ix("repomirrorconfig_root_rule_id", &["root_rule_id"]),
                ix("repomirrorconfig_sync_status", &["sync_status"]),
                ix(
                    "repomirrorconfig_sync_transaction_id",
                    &["sync_transaction_id"],
                ),
                ix("repomirrorconfig_internal_robot_id", &["internal_robot_id"]),
            ],
            fks: &[
                fk(
                    "fk_repomirrorconfig_repository_id_repository",
                    "repository_id",
                    "repository",
                ),
                fk(
                    "fk_repomirrorconfig_root_rule_id_repomirrorrule",
                    "root_rule_id",
                    "repomirrorrule",
                ),
                fk(
                    "fk_repomirrorconfig_internal_robot_id_user",
                    "internal_robot_id",
                    "user",
                ),
            ],
        }),
        AddColumn("repository", c("state", Int).default(DInt(0))),
        CreateIndex("repository", ix("repository_state", &["state"])),
        InsertLookup(
            "logentrykind",
            &[
                "repo_mirror_enabled",
                "repo_mirror_disabled",
                "repo_mirror_config_changed",
                "repo_mirror_sync_started",
                "repo_mirror_sync_failed",
                "repo_mirror_sync_success",
                "repo_mirror_sync_now_requested",
                "repo_mirror_sync_tag_success",
                "repo_mirror_sync_tag_failed",
                "repo_mirror_sync_test_success",
                "repo_mirror_sync_test_failed",
                "repo_mirror_sync_test_started",
                "change_repo_state",
            ],
        ),
    ],
};

pub(super) static M_c13c8052f7a6: Migration = Migration {
    revision: "c13c8052f7a6",
    down_revision: Some("5248ddf35167"),
    title: "Add new fields and tables for encrypted tokens.",
    created: "2019-08-19",
    // Test-data population (tester.populate_*) omitted.
    ops: &[
        CreateHeadTable("robotaccounttoken"),
        AddColumn("accesstoken", n("token_code", Varchar(255))),
        AddColumn("accesstoken", n("token_name", Varchar(255))),
        CreateIndex("accesstoken", ux("accesstoken_token_name", &["token_name"])),
        AddColumn("appspecificauthtoken", n("token_name", Varchar(255))),
        AddColumn("appspecificauthtoken", n("token_secret", Varchar(255))),
        CreateIndex(
            "appspecificauthtoken",
            ux("appspecificauthtoken_token_name", &["token_name"]),
        ),
        AddColumn("emailconfirmation", n("verification_code", Varchar(255))),
        AddColumn("oauthaccesstoken", n("token_code", Varchar(255))),
        AddColumn("oauthaccesstoken", n("token_name", Varchar(255))),
        CreateIndex(
            "oauthaccesstoken",
            ux("oauthaccesstoken_token_name", &["token_name"]),
        ),
        AddColumn("oauthapplication", n("secure_client_secret", Varchar(255))),
        AddColumn(
            "oauthapplication",
            c("fully_migrated", Bool).default(DBool(false)),
        ),
        AddColumn("oauthauthorizationcode", n("code_credential", Varchar(255))),
        AddColumn("oauthauthorizationcode", n("code_name", Varchar(255))),
        CreateIndex(
            "oauthauthorizationcode",
            ux("oauthauthorizationcode_code_name", &["code_name"]),
        ),
        // The index on code is recreated as unique.
        DropIndex(
            "oauthauthorizationcode",
            ix("oauthauthorizationcode_code", &["code"]),
        ),
        CreateIndex(
            "oauthauthorizationcode",
            ux("oauthauthorizationcode_code", &["code"]),
        ),
        AddColumn(
            "repositorybuildtrigger",
            n("secure_auth_token", Varchar(255)),
        ),
        AddColumn("repositorybuildtrigger", n("secure_private_key", Text)),
        AddColumn(
            "repositorybuildtrigger",
            c("fully_migrated", Bool).default(DBool(false)),
        ),
    ],
};

pub(super) static M_703298a825c2: Migration = Migration {
    revision: "703298a825c2",
    down_revision: Some("c13c8052f7a6"),
    title: "Backfill new encrypted fields",
    created: "2019-08-19",
    ops: &[Backfill(Code::EncryptCredentials)],
};

pub(super) static M_49e1138ed12d: Migration = Migration {
    revision: "49e1138ed12d",
    down_revision: Some("703298a825c2"),
    title: "Change token column types for encrypted columns.",
    created: "2019-08-19",
    ops: &[
        // Old plaintext columns become nullable.
        AlterColumn {
            table: "accesstoken",
            from: c("code", Varchar(255)),
            to: n("code", Varchar(255)),
        },
        AlterColumn {
            table: "oauthaccesstoken",
            from: c("access_token", Varchar(255)),
            to: n("access_token", Varchar(255)),
        },
        AlterColumn {
            table: "oauthauthorizationcode",
            from: c("code", Varchar(255)),
            to: n("code", Varchar(255)),
        },
        AlterColumn {
            table: "appspecificauthtoken",
            from: c("token_code", Varchar(255)),
            to: n("token_code", Varchar(255)),
        },
        // New name/secret columns become NOT NULL.
        AlterColumn {
            table: "accesstoken",
            from: n("token_name", Varchar(255)),
            to: c("token_name", Varchar(255)),
        },
        AlterColumn {
            table: "accesstoken",
            from: n("token_code", Varchar(255)),
            to: c("token_code", Varchar(255)),
        },
        AlterColumn {
            table: "appspecificauthtoken",
            from: n("token_name", Varchar(255)),
            to: c("token_name", Varchar(255)),
        },
        AlterColumn {
            table: "appspecificauthtoken",
            from: n("token_secret", Varchar(255)),
            to: c("token_secret", Varchar(255)),
        },
        AlterColumn {
            table: "oauthaccesstoken",
            from: n("token_name", Varchar(255)),
            to: c("token_name", Varchar(255)),
        },
        AlterColumn {
            table: "oauthaccesstoken",
            from: n("token_code", Varchar(255)),
            to: c("token_code", Varchar(255)),
        },
        AlterColumn {
            table: "oauthauthorizationcode",
            from: n("code_name", Varchar(255)),
            to: c("code_name", Varchar(255)),
        },
        AlterColumn {
            table: "oauthauthorizationcode",
            from: n("code_credential", Varchar(255)),
            to: c("code_credential", Varchar(255)),
        },
    ],
};

pub(super) static M_c059b952ed76: Migration = Migration {
    revision: "c059b952ed76",
    down_revision: Some("49e1138ed12d"),
    title: "Remove unencrypted fields and data",
    created: "2019-08-19",
    ops: &[
        DropIndex(
            "oauthaccesstoken",
            ix("oauthaccesstoken_refresh_token", &["refresh_token"]),
        ),
        DropColumn("oauthaccesstoken", n("refresh_token", Varchar(255))),
        // Quay drops the column only; the index on it goes with it (explicit here).
        DropIndex("accesstoken", ux("accesstoken_code", &["code"])),
        DropColumn("accesstoken", n("code", Varchar(255))),
        // Same: the unique index on token_code goes with the column.
        DropIndex(
            "appspecificauthtoken",
            ux("appspecificauthtoken_token_code", &["token_code"]),
        ),
        DropColumn("appspecificauthtoken", n("token_code", Varchar(255))),
        // Same: the index on access_token goes with the column.
        DropIndex(
            "oauthaccesstoken",
            ix("oauthaccesstoken_access_token", &["access_token"]),
        ),
        DropColumn("oauthaccesstoken", n("access_token", Varchar(255))),
        // NOT NULL since the base schema; no revision on the way made it nullable.
        DropColumn("oauthapplication", c("client_secret", Varchar(255))),
        // Same: the unique index on code (made unique by c13c8052f7a6) goes with the column.
        DropIndex(
            "oauthauthorizationcode",
            ux("oauthauthorizationcode_code", &["code"]),
        ),
        DropColumn("oauthauthorizationcode", n("code", Varchar(255))),
        DropColumn("repositorybuildtrigger", n("private_key", Text)),
        DropColumn("repositorybuildtrigger", n("auth_token", Varchar(255))),
        // Overwrite plaintext robot credentials (Quay: only when SETUP_COMPLETE, i.e. on every
        // installed registry). For each robotaccounttoken with fully_migrated = false: the robot
        // user's email (which held the plaintext token) becomes a fresh uuid4 string, its
        // federatedlogin.service_ident becomes 'robot:<user id>', then fully_migrated = true.
        // The flag is set last, so the three steps can be re-run.
        Data {
            what: "robot users not yet migrated: replace email (plaintext token) with a random uuid",
            pg: "UPDATE \"user\" SET email = \
                 uuid_in(md5(random()::text || clock_timestamp()::text || id::text)::cstring)::text \
                 WHERE id IN (SELECT robot_account_id FROM robotaccounttoken \
                 WHERE fully_migrated = false)",
            sqlite: "UPDATE \"user\" SET email = lower(hex(randomblob(4)) || '-' || \
                     hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || \
                     substr('89AB', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || \
                     '-' || hex(randomblob(6))) \
                     WHERE id IN (SELECT robot_account_id FROM robotaccounttoken \
                     WHERE fully_migrated = 0)",
        },
        Data {
            what: "robot users not yet migrated: federatedlogin.service_ident = 'robot:<user id>'",
            pg: "UPDATE federatedlogin SET service_ident = 'robot:' || user_id::text \
                 WHERE user_id IN (SELECT robot_account_id FROM robotaccounttoken \
                 WHERE fully_migrated = false)",
            sqlite: "UPDATE federatedlogin SET service_ident = 'robot:' || user_id \
                     WHERE user_id IN (SELECT robot_account_id FROM robotaccounttoken \
                     WHERE fully_migrated = 0)",
        },
        Data {
            what: "mark robot tokens fully migrated",
            pg: "UPDATE robotaccounttoken SET fully_migrated = true WHERE fully_migrated = false",
            sqlite: "UPDATE robotaccounttoken SET fully_migrated = 1 WHERE fully_migrated = 0",
        },
    ],
};
