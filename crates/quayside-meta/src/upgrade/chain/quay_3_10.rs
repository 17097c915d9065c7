//! Quay's Alembic chain: the revisions Quay 3.10 added.
//! Transcribed facts (names, types, indexes, lookup rows); see docs/UPGRADES.md.
#![allow(unused_imports)]
use super::super::ops::{Backfill as Code, Migration, Op::*};
use crate::schema::ColType::*;
use crate::schema::DefaultValue::{Bool as DBool, Int as DInt, Now as DNow, Str as DStr};
use crate::schema::{c, fk, id, ix, n, ux, Column, ForeignKey, Index, Table};

pub(super) static M_8cf90670bf38: Migration = Migration {
    revision: "8cf90670bf38",
    down_revision: Some("ab5a24478052"),
    title: "add permanently delete tag log entry kind",
    created: "2023-05-15",
    ops: &[InsertLookup("logentrykind", &["permanently_delete_tag"])],
};

pub(super) static M_46980ea2dde5: Migration = Migration {
    revision: "46980ea2dde5",
    down_revision: Some("8cf90670bf38"),
    title: "change removed_tag_expiration_s to BIGINT",
    created: "2023-06-04",
    ops: &[AlterColumn {
        table: "user",
        from: c("removed_tag_expiration_s", Int).default(DInt(1_209_600)),
        to: c("removed_tag_expiration_s", BigInt).default(DInt(1_209_600)),
    }],
};

pub(super) static M_a0fc06d604a4: Migration = Migration {
    revision: "a0fc06d604a4",
    down_revision: Some("46980ea2dde5"),
    title: "Unlink deprecated tables",
    created: "2022-05-27",
    ops: &[
        DropForeignKey(
            "derivedstorageforimage",
            fk(
                "fk_derivedstorageforimage_derivative_id_imagestorage",
                "derivative_id",
                "imagestorage",
            ),
        ),
        DropForeignKey(
            "derivedstorageforimage",
            fk(
                "fk_derivedstorageforimage_source_image_id_image",
                "source_image_id",
                "image",
            ),
        ),
        DropForeignKey(
            "derivedstorageforimage",
            fk(
                "fk_derivedstorageforimage_transformation_constraint",
                "transformation_id",
                "imagestoragetransformation",
            ),
        ),
        DropForeignKey(
            "repositorytag",
            fk("fk_repositorytag_image_id_image", "image_id", "image"),
        ),
        DropForeignKey(
            "repositorytag",
            fk(
                "fk_repositorytag_repository_id_repository",
                "repository_id",
                "repository",
            ),
        ),
        DropForeignKey(
            "torrentinfo",
            fk(
                "fk_torrentinfo_storage_id_imagestorage",
                "storage_id",
                "imagestorage",
            ),
        ),
        DropForeignKey(
            "tagmanifest",
            fk(
                "fk_tagmanifest_tag_id_repositorytag",
                "tag_id",
                "repositorytag",
            ),
        ),
        DropForeignKey(
            "tagmanifesttomanifest",
            fk(
                "fk_tagmanifesttomanifest_manifest_id_manifest",
                "manifest_id",
                "manifest",
            ),
        ),
        DropForeignKey(
            "tagmanifesttomanifest",
            fk(
                "fk_tagmanifesttomanifest_tag_manifest_id_tagmanifest",
                "tag_manifest_id",
                "tagmanifest",
            ),
        ),
        DropForeignKey(
            "tagmanifestlabel",
            fk(
                "fk_tagmanifestlabel_annotated_id_tagmanifest",
                "annotated_id",
                "tagmanifest",
            ),
        ),
        DropForeignKey(
            "tagmanifestlabel",
            fk("fk_tagmanifestlabel_label_id_label", "label_id", "label"),
        ),
        DropForeignKey(
            "tagmanifestlabel",
            fk(
                "fk_tagmanifestlabel_repository_id_repository",
                "repository_id",
                "repository",
            ),
        ),
        DropForeignKey(
            "tagmanifestlabelmap",
            fk("fk_tagmanifestlabelmap_label_id_label", "label_id", "label"),
        ),
        DropForeignKey(
            "tagmanifestlabelmap",
            fk(
                "fk_tagmanifestlabelmap_manifest_id_manifest",
                "manifest_id",
                "manifest",
            ),
        ),
        DropForeignKey(
            "tagmanifestlabelmap",
            fk(
                "fk_tagmanifestlabelmap_manifest_label_id_manifestlabel",
                "manifest_label_id",
                "manifestlabel",
            ),
        ),
        DropForeignKey(
            "tagmanifestlabelmap",
            fk(
                "fk_tagmanifestlabelmap_tag_manifest_id_tagmanifest",
                "tag_manifest_id",
                "tagmanifest",
            ),
        ),
        DropForeignKey(
            "tagmanifestlabelmap",
            fk(
                "fk_tagmanifestlabelmap_tag_manifest_label_id_tagmanifestlabel",
                "tag_manifest_label_id",
                "tagmanifestlabel",
            ),
        ),
        DropForeignKey(
            "tagtorepositorytag",
            fk(
                "fk_tagtorepositorytag_repository_id_repository",
                "repository_id",
                "repository",
            ),
        ),
        DropForeignKey(
            "tagtorepositorytag",
            fk(
                "fk_tagtorepositorytag_repository_tag_id_repositorytag",
                "repository_tag_id",
                "repositorytag",
            ),
        ),
        DropForeignKey(
            "tagtorepositorytag",
            fk("fk_tagtorepositorytag_tag_id_tag", "tag_id", "tag"),
        ),
        DropForeignKey(
            "image",
            fk(
                "fk_image_repository_id_repository",
                "repository_id",
                "repository",
            ),
        ),
        DropForeignKey(
            "image",
            fk(
                "fk_image_storage_id_imagestorage",
                "storage_id",
                "imagestorage",
            ),
        ),
        DropForeignKey(
            "manifestlegacyimage",
            fk("fk_manifestlegacyimage_image_id_image", "image_id", "image"),
        ),
        DropForeignKey(
            "manifestlegacyimage",
            fk(
                "fk_manifestlegacyimage_manifest_id_manifest",
                "manifest_id",
                "manifest",
            ),
        ),
        DropForeignKey(
            "manifestlegacyimage",
            fk(
                "fk_manifestlegacyimage_repository_id_repository",
                "repository_id",
                "repository",
            ),
        ),
    ],
};

pub(super) static M_8a70b8777089: Migration = Migration {
    revision: "8a70b8777089",
    down_revision: Some("a0fc06d604a4"),
    title: "drop deprecated tables",
    created: "2023-08-01",
    // Foreign keys of every table below except repositorysize were dropped by a0fc06d604a4.
    ops: &[
        DropTable(Table {
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
        DropTable(Table {
            name: "image",
            pk: "pk_image",
            pk_column: "id",
            columns: &[
                id(),
                c("docker_image_id", Varchar(255)),
                c("repository_id", Int),
                n("ancestors", Varchar(60535)),
                n("storage_id", Int),
                n("created", DateTime),
                n("comment", Text),
                n("command", Text),
                n("aggregate_size", BigInt),
                n("v1_json_metadata", Text),
                n("v1_checksum", Varchar(255)),
                c("security_indexed", Bool).default(DBool(false)),
                c("security_indexed_engine", Int).default(DInt(-1)),
                n("parent_id", Int),
            ],
            indexes: &[
                ix("image_ancestors", &["ancestors"]),
                ix("image_docker_image_id", &["docker_image_id"]),
                ix("image_parent_id", &["parent_id"]),
                ix("image_repository_id", &["repository_id"]),
                ux(
                    "image_repository_id_docker_image_id",
                    &["repository_id", "docker_image_id"],
                ),
                ix("image_security_indexed", &["security_indexed"]),
                ix(
                    "image_security_indexed_engine",
                    &["security_indexed_engine"],
                ),
                ix(
                    "image_security_indexed_engine_security_indexed",
                    &["security_indexed_engine", "security_indexed"],
                ),
                ix("image_storage_id", &["storage_id"]),
            ],
            fks: &[],
        }),
        DropTable(Table {
            name: "derivedstorageforimage",
            pk: "pk_derivedstorageforimage",
            pk_column: "id",
            columns: &[
                id(),
                c("source_image_id", Int),
                c("derivative_id", Int),
                c("transformation_id", Int),
                n("uniqueness_hash", Varchar(255)),
            ],
            indexes: &[
                ix("derivedstorageforimage_derivative_id", &["derivative_id"]),
                ix(
                    "derivedstorageforimage_source_image_id",
                    &["source_image_id"],
                ),
                ux(
                    "uniqueness_index",
                    &["source_image_id", "transformation_id", "uniqueness_hash"],
                ),
                ix(
                    "derivedstorageforimage_transformation_id",
                    &["transformation_id"],
                ),
            ],
            fks: &[],
        }),
        DropTable(Table {
            name: "repositorytag",
            pk: "pk_repositorytag",
            pk_column: "id",
            columns: &[
                id(),
                c("name", Varchar(255)),
                c("image_id", Int),
                c("repository_id", Int),
                c("lifetime_start_ts", Int).default(DInt(0)),
                n("lifetime_end_ts", Int),
                c("hidden", Bool).default(DBool(false)),
                c("reversion", Bool).default(DBool(false)),
            ],
            indexes: &[
                ix("repositorytag_image_id", &["image_id"]),
                ix("repositorytag_lifetime_end_ts", &["lifetime_end_ts"]),
                ix("repositorytag_repository_id", &["repository_id"]),
                ix(
                    "repositorytag_repository_id_name",
                    &["repository_id", "name"],
                ),
                ux(
                    "repositorytag_repository_id_name_lifetime_end_ts",
                    &["repository_id", "name", "lifetime_end_ts"],
                ),
                ix(
                    "repositorytag_repository_id_lifetime_end_ts",
                    &["repository_id", "lifetime_end_ts"],
                ),
                ix(
                    "repositorytag_repository_id_lifetime_start_ts",
                    &["repository_id", "lifetime_start_ts"],
                ),
            ],
            fks: &[],
        }),
        DropTable(Table {
            name: "torrentinfo",
            pk: "pk_torrentinfo",
            pk_column: "id",
            columns: &[
                id(),
                c("storage_id", Int),
                c("piece_length", Int),
                c("pieces", Text),
            ],
            indexes: &[
                ix("torrentinfo_storage_id", &["storage_id"]),
                ux(
                    "torrentinfo_storage_id_piece_length",
                    &["storage_id", "piece_length"],
                ),
            ],
            fks: &[],
        }),
        DropTable(Table {
            name: "manifestlegacyimage",
            pk: "pk_manifestlegacyimage",
            pk_column: "id",
            columns: &[
                id(),
                c("repository_id", Int),
                c("manifest_id", Int),
                c("image_id", Int),
            ],
            indexes: &[
                ix("manifestlegacyimage_image_id", &["image_id"]),
                ux("manifestlegacyimage_manifest_id", &["manifest_id"]),
                ix("manifestlegacyimage_repository_id", &["repository_id"]),
            ],
            fks: &[],
        }),
        DropTable(Table {
            name: "tagmanifest",
            pk: "pk_tagmanifest",
            pk_column: "id",
            columns: &[
                id(),
                c("tag_id", Int),
                c("digest", Varchar(255)),
                c("json_data", Text),
            ],
            indexes: &[
                ix("tagmanifest_digest", &["digest"]),
                ux("tagmanifest_tag_id", &["tag_id"]),
            ],
            fks: &[],
        }),
        DropTable(Table {
            name: "tagmanifesttomanifest",
            pk: "pk_tagmanifesttomanifest",
            pk_column: "id",
            columns: &[
                id(),
                c("tag_manifest_id", Int),
                c("manifest_id", Int),
                c("broken", Bool).default(DBool(false)),
            ],
            indexes: &[
                ix("tagmanifesttomanifest_broken", &["broken"]),
                ix("tagmanifesttomanifest_manifest_id", &["manifest_id"]),
                ux(
                    "tagmanifesttomanifest_tag_manifest_id",
                    &["tag_manifest_id"],
                ),
            ],
            fks: &[],
        }),
        DropTable(Table {
            name: "tagmanifestlabel",
            pk: "pk_tagmanifestlabel",
            pk_column: "id",
            columns: &[
                id(),
                c("repository_id", Int),
                c("annotated_id", Int),
                c("label_id", Int),
            ],
            indexes: &[
                ix("tagmanifestlabel_annotated_id", &["annotated_id"]),
                ux(
                    "tagmanifestlabel_annotated_id_label_id",
                    &["annotated_id", "label_id"],
                ),
                ix("tagmanifestlabel_label_id", &["label_id"]),
                ix("tagmanifestlabel_repository_id", &["repository_id"]),
            ],
            fks: &[],
        }),
        DropTable(Table {
            name: "tagmanifestlabelmap",
            pk: "pk_tagmanifestlabelmap",
            pk_column: "id",
            columns: &[
                id(),
                c("tag_manifest_id", Int),
                n("manifest_id", Int),
                c("label_id", Int),
                c("tag_manifest_label_id", Int),
                n("manifest_label_id", Int),
                c("broken_manifest", Bool).default(DBool(false)),
            ],
            indexes: &[
                ix("tagmanifestlabelmap_broken_manifest", &["broken_manifest"]),
                ix("tagmanifestlabelmap_label_id", &["label_id"]),
                ix("tagmanifestlabelmap_manifest_id", &["manifest_id"]),
                ix(
                    "tagmanifestlabelmap_manifest_label_id",
                    &["manifest_label_id"],
                ),
                ix("tagmanifestlabelmap_tag_manifest_id", &["tag_manifest_id"]),
                ix(
                    "tagmanifestlabelmap_tag_manifest_label_id",
                    &["tag_manifest_label_id"],
                ),
            ],
            fks: &[],
        }),
        DropTable(Table {
            name: "tagtorepositorytag",
            pk: "pk_tagtorepositorytag",
            pk_column: "id",
            columns: &[
                id(),
                c("repository_id", Int),
                c("tag_id", Int),
                c("repository_tag_id", Int),
            ],
            indexes: &[
                ix("tagtorepositorytag_repository_id", &["repository_id"]),
                ux(
                    "tagtorepositorytag_repository_tag_id",
                    &["repository_tag_id"],
                ),
                ux("tagtorepositorytag_tag_id", &["tag_id"]),
            ],
            fks: &[],
        }),
    ],
};

pub(super) static M_b82361fba1cd: Migration = Migration {
    revision: "b82361fba1cd",
    down_revision: Some("8a70b8777089"),
    title: "Create table for org to sku relations",
    created: "2023-06-07",
    ops: &[CreateTable(Table {
        name: "organizationrhskus",
        pk: "pk_organizationrhskus",
        pk_column: "id",
        columns: &[
            id(),
            c("subscription_id", Int),
            c("org_id", Int),
            c("user_id", Int),
        ],
        indexes: &[
            ux("organizationrhskus_subscription_id", &["subscription_id"]),
            ux(
                "organizationrhskus_subscription_id_org_id",
                &["subscription_id", "org_id"],
            ),
            ux(
                "organizationrhskus_subscription_id_org_id_user_id",
                &["subscription_id", "org_id", "user_id"],
            ),
        ],
        fks: &[
            fk("fk_organizationrhskus_userid", "user_id", "user"),
            fk("fk_organizationrhskus_orgid", "org_id", "user"),
        ],
    })],
};

pub(super) static M_4366f54be43c: Migration = Migration {
    revision: "4366f54be43c",
    down_revision: Some("b82361fba1cd"),
    title: "add indexes to quotanamespacesize and quotarepositorysize tables",
    created: "2023-09-27",
    ops: &[
        CreateIndex(
            "quotanamespacesize",
            ux(
                "quotanamespacesize_namespace_user_id",
                &["namespace_user_id"],
            ),
        ),
        CreateIndex(
            "quotanamespacesize",
            ix(
                "quotanamespacesize_backfill_start_ms",
                &["backfill_start_ms"],
            ),
        ),
        CreateIndex(
            "quotanamespacesize",
            ix("quotanamespacesize_size_bytes", &["size_bytes"]),
        ),
        CreateIndex(
            "quotarepositorysize",
            ux("quotarepositorysize_repository_id", &["repository_id"]),
        ),
        CreateIndex(
            "quotarepositorysize",
            ix("quotarepositorysize_size_bytes", &["size_bytes"]),
        ),
    ],
};

pub(super) static M_222debc16e18: Migration = Migration {
    revision: "222debc16e18",
    down_revision: Some("4366f54be43c"),
    title: "\u{201c}autopruning\u{201d}",
    created: "2023-08-15",
    ops: &[
        CreateTable(Table {
            name: "namespaceautoprunepolicy",
            pk: "pk_namespaceautoprunepolicyid",
            pk_column: "id",
            columns: &[
                id(),
                c("uuid", Varchar(36)),
                c("namespace_id", Int),
                c("policy", Text),
            ],
            indexes: &[
                ux("namespaceautoprunepolicy_namespace_id", &["namespace_id"]),
                ux("namespaceautoprunepolicy_uuid", &["uuid"]),
            ],
            fks: &[fk(
                "fk_namespaceautoprunepolicy_namespace_id_user",
                "namespace_id",
                "user",
            )],
        }),
        CreateHeadTable("autoprunetaskstatus"),
    ],
};

pub(super) static M_2062bbd5ef0e: Migration = Migration {
    revision: "2062bbd5ef0e",
    down_revision: Some("222debc16e18"),
    title: "insert logentrykind",
    created: "2023-10-04",
    ops: &[InsertLookup("logentrykind", &["autoprune_tag_delete"])],
};
