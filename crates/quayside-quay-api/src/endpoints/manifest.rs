//! Manifests and their labels (Quay `endpoints/api/manifest.py`).
//!
//! The manifest view's `layers` are Quay's `list_manifest_layers`. A schema 1 manifest
//! carries everything in its bytes (each layer's command, author, comment and creation
//! time are in its history). A Docker schema 2 manifest, or an OCI manifest whose config
//! is an image config, is read together with its config blob (through the state's
//! [`crate::BlobReader`], at most 8 MiB): one entry per `config.history` entry, `empty_layer`
//! entries showing the shared empty layer, the others taking the manifest's layers in
//! order; an OCI config without history gives one entry per layer with the config's own
//! details on the last. When that list cannot be built — no reader in the state, the
//! config blob missing, too large, of another size than its descriptor says or not
//! matching Quay's config schema, or a history that does not fit the layers — quayside
//! shows the layers from the manifest bytes with those four fields `null` (where Quay
//! answers 404), as it does for every other manifest (artifacts).
//!
//! Labels are `label` + `manifestlabel` rows as Quay writes them. Adding
//! `quay.expires-after` (possible only when an operator removes `quay` from the reserved
//! prefixes) sets the end of every alive tag of the manifest to its start plus the
//! duration, like Quay's label handler.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use quayside_auth::Role;
use quayside_meta::tags::{ApiManifestRow, LabelOutcome, LabelRow, NewLabel};
use quayside_oci::labels;
use serde_json::{json, Value};

use super::tag::{guard_repo, is_manifest_list, now_ms, LABEL_EXPIRY_KEY};
use crate::ctx::{no_content, ok, py_repr, with_status, Body, Ctx};
use crate::routes::{delete, get, h, post, ApiResult, Operation, QueryParam};
use crate::views::format_date;
use crate::{QuayApiError, QuayApiSettings};

/// Werkzeug's 404 text (Flask-RESTful `abort(404)` when a manifest's layers cannot be read).
const URL_NOT_FOUND: &str = "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.";
/// Quay's `VALID_LABEL_KEY_REGEX`, as its message quotes it.
const LABEL_KEY_REGEX: &str = r"^[a-z0-9](([a-z0-9]|[-.](?![.-]))*[a-z0-9])?$";
/// `DEFAULT_LABEL_KEY_RESERVED_PREFIXES`.
const DEFAULT_RESERVED_PREFIXES: [&str; 12] = [
    "com.docker.",
    "io.docker.",
    "org.dockerproject.",
    "org.opencontainers.",
    "io.cncf.",
    "io.kubernetes.",
    "io.k8s.",
    "io.quay",
    "com.coreos",
    "com.tectonic",
    "internal",
    "quay",
];
const MEDIA_TYPES: [&str; 2] = ["text/plain", "application/json"];

pub(crate) fn operations(_settings: &QuayApiSettings) -> Vec<Operation> {
    vec![
        get(
            "/api/v1/repository/{repository:repo}/manifest/{manifestref}",
            "getRepoManifest",
            h!(get_manifest),
        )
        .tag("manifest")
        .summary("Resource for retrieving a specific repository manifest.")
        .scope("repo:read"),
        get(
            "/api/v1/repository/{repository:repo}/manifest/{manifestref}/labels",
            "listManifestLabels",
            h!(list_labels),
        )
        .tag("manifest")
        .summary("Resource for listing the labels on a specific repository manifest.")
        .scope("repo:read")
        .query(&[QueryParam {
            name: "filter",
            kind: "string",
            description: "If specified, only labels matching the given prefix will be returned",
        }]),
        post(
            "/api/v1/repository/{repository:repo}/manifest/{manifestref}/labels",
            "addManifestLabel",
            h!(add_label),
        )
        .tag("manifest")
        .summary("Adds a new label into the tag manifest.")
        .scope("repo:write"),
        get(
            "/api/v1/repository/{repository:repo}/manifest/{manifestref}/labels/{labelid}",
            "getManifestLabel",
            h!(get_label),
        )
        .tag("manifest")
        .summary("Retrieves the label with the specific ID under the manifest.")
        .scope("repo:read"),
        delete(
            "/api/v1/repository/{repository:repo}/manifest/{manifestref}/labels/{labelid}",
            "deleteManifestLabel",
            h!(delete_label),
        )
        .tag("manifest")
        .summary("Deletes an existing label from a manifest.")
        .scope("repo:write"),
    ]
}

/// Quay's route only matches `<algorithm>:<hex>` (`digest_tools.DIGEST_PATTERN`), so any
/// other reference is a 404 there (Werkzeug's page). quayside's route table matches the
/// segment, so the operation answers 404 itself — with the API's `not_found` body, which
/// keeps discovery's documented paths distinguishable from unrouted ones.
fn check_manifestref(r: &str) -> Result<(), QuayApiError> {
    let good = r.split_once(':').is_some_and(|(alg, hex)| {
        !alg.is_empty()
            && alg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '.' | '-'))
            && !hex.is_empty()
            && hex.chars().all(|c| c.is_ascii_hexdigit())
    });
    if good {
        Ok(())
    } else {
        Err(QuayApiError::not_found())
    }
}

/// Guard + repository + manifest (alive, visible), each failing as Quay does.
async fn load(
    ctx: &Ctx,
    role: Role,
    check_state: bool,
) -> Result<(quayside_meta::registry::RegistryRepo, ApiManifestRow), QuayApiError> {
    let manifestref = ctx.param("manifestref");
    check_manifestref(manifestref)?;
    let repo = guard_repo(ctx, role, false, check_state)
        .await?
        .ok_or_else(QuayApiError::not_found)?;
    let manifest = find_manifest(ctx, &repo).await?;
    Ok((repo, manifest))
}

async fn find_manifest(
    ctx: &Ctx,
    repo: &quayside_meta::registry::RegistryRepo,
) -> Result<ApiManifestRow, QuayApiError> {
    ctx.auth()
        .db()
        .api_manifest(
            i64::from(repo.id),
            ctx.param("manifestref"),
            false,
            now_ms(),
        )
        .await?
        .ok_or_else(QuayApiError::not_found)
}

fn label_view(l: &LabelRow) -> Value {
    json!({
        "id": l.uuid,
        "key": l.key,
        "value": l.value,
        "source_type": l.source_type,
        "media_type": l.media_type,
    })
}

fn str_of(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// A creation time as Quay's `dateutil` parse reads the usual forms (RFC 3339, or the same
/// without an offset, taken as UTC), in RFC 2822; `null` when absent, empty or unreadable.
fn created_view(s: Option<&str>) -> Value {
    let Some(s) = s.filter(|s| !s.is_empty()) else {
        return Value::Null;
    };
    let t = chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.naive_utc())
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f"));
    t.map_or(Value::Null, |t| Value::from(format_date(t)))
}

/// Schema 1 `v1Compatibility` time (`2018-04-03T18:37:09.284840891Z`) as RFC 2822.
fn v1_created(v: &Value) -> Value {
    created_view(v.get("created").and_then(Value::as_str))
}

/// `_layer_dict`'s `command`: a false-y command is `null`; a string is parsed as JSON
/// (schema 1 stores `["/bin/sh","-c",…]`) and, when it is not JSON, wrapped in a
/// one-element list; anything else (an OCI config's `Cmd` list) is wrapped as it is.
fn command_view(command: Option<&Value>) -> Value {
    match command.filter(|c| crate::json::truthy(c)) {
        None => Value::Null,
        Some(Value::String(s)) => serde_json::from_str(s).unwrap_or_else(|_| json!([s])),
        Some(other) => json!([other]),
    }
}

/// The largest config blob read for the manifest view.
const MAX_CONFIG_BYTES: u64 = 8 << 20;

/// The history fields of one layer entry (all `null` when there is no history for it).
struct LayerDetails {
    command: Value,
    comment: Value,
    author: Value,
    created_datetime: Value,
}

impl LayerDetails {
    fn none() -> LayerDetails {
        LayerDetails {
            command: Value::Null,
            comment: Value::Null,
            author: Value::Null,
            created_datetime: Value::Null,
        }
    }
}

/// One entry of the manifest view's `layers`.
fn layer_entry(index: usize, blob: (Value, bool, Value, Value), d: LayerDetails) -> Value {
    let (compressed_size, is_remote, urls, blob_digest) = blob;
    json!({
        "index": index,
        "compressed_size": compressed_size,
        "is_remote": is_remote,
        "urls": urls,
        "command": d.command,
        "comment": d.comment,
        "author": d.author,
        "blob_digest": blob_digest,
        "created_datetime": d.created_datetime,
    })
}

/// A schema 2 / OCI layer descriptor's own fields: compressed size, remote flag, URLs and
/// digest.
fn descriptor_blob(layer: &Value) -> (Value, bool, Value, Value) {
    let media_type = layer.get("mediaType").and_then(Value::as_str).unwrap_or("");
    let urls = layer
        .get("urls")
        .filter(|u| u.as_array().is_some_and(|a| !a.is_empty()))
        .cloned();
    let remote = urls.is_some()
        || media_type == quayside_oci::media_types::DOCKER_FOREIGN_LAYER
        || media_type.starts_with("application/vnd.oci.image.layer.nondistributable.");
    (
        layer.get("size").cloned().unwrap_or(Value::Null),
        remote,
        urls.unwrap_or(Value::Null),
        str_of(layer, "digest").map_or(Value::Null, Value::from),
    )
}

/// The `layers` of the manifest view from the manifest bytes alone.
fn layers_view(doc: &Value) -> Option<Vec<Value>> {
    let mut out = Vec::new();
    if let Some(fs_layers) = doc.get("fsLayers").and_then(Value::as_array) {
        // Schema 1: newest layer first, with the image history alongside.
        let history = doc
            .get("history")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for (index, (i, layer)) in fs_layers.iter().enumerate().rev().enumerate() {
            let v1: Value = history
                .get(i)
                .and_then(|h| h.get("v1Compatibility"))
                .and_then(Value::as_str)
                .and_then(|s| serde_json::from_str(s).ok())
                .unwrap_or(Value::Null);
            let command = v1
                .get("container_config")
                .and_then(|c| c.get("Cmd"))
                .filter(|c| !c.is_null())
                .cloned()
                .unwrap_or(Value::Null);
            out.push(json!({
                "index": index,
                "compressed_size": v1.get("Size").cloned().unwrap_or(Value::Null),
                "is_remote": false,
                "urls": Value::Null,
                "command": command,
                "comment": str_of(&v1, "comment"),
                "author": str_of(&v1, "author"),
                "blob_digest": str_of(layer, "blobSum"),
                "created_datetime": v1_created(&v1),
            }));
        }
        return Some(out);
    }
    let layers = doc.get("layers").and_then(Value::as_array)?;
    for (index, layer) in layers.iter().enumerate() {
        out.push(layer_entry(
            index,
            descriptor_blob(layer),
            LayerDetails::none(),
        ));
    }
    Some(out)
}

/// Image manifests whose layers Quay describes from their config blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ImageKind {
    /// Docker schema 2 (`DockerSchema2Config`: `history` is required).
    Docker,
    /// An OCI manifest whose config is an image config (`OCIConfig`: `history` optional).
    Oci,
}

fn image_kind(media_type: &str, doc: &Value) -> Option<ImageKind> {
    use quayside_oci::media_types::{DOCKER_MANIFEST_V2, OCI_CONFIG, OCI_MANIFEST};
    if media_type == DOCKER_MANIFEST_V2 {
        Some(ImageKind::Docker)
    } else if media_type == OCI_MANIFEST
        && doc.pointer("/config/mediaType").and_then(Value::as_str) == Some(OCI_CONFIG)
    {
        Some(ImageKind::Oci)
    } else {
        None
    }
}

/// The manifest's config blob as JSON when it can be used: readable in the repository,
/// at most [`MAX_CONFIG_BYTES`], exactly the size the descriptor states (Quay refuses
/// a mismatch) and a JSON object.
async fn read_config(ctx: &Ctx, repository_id: i64, doc: &Value) -> Option<Value> {
    let reader = ctx.state.blob_reader.as_ref()?;
    let digest = doc.pointer("/config/digest").and_then(Value::as_str)?;
    let size = doc.pointer("/config/size").and_then(Value::as_u64)?;
    if size > MAX_CONFIG_BYTES {
        return None;
    }
    let bytes = match reader
        .read_blob(repository_id, digest, MAX_CONFIG_BYTES)
        .await
    {
        Ok(bytes) => bytes?,
        Err(error) => {
            tracing::warn!(%error, digest, "reading a manifest's config blob failed");
            return None;
        }
    };
    if bytes.len() as u64 != size {
        return None;
    }
    serde_json::from_slice::<Value>(&bytes)
        .ok()
        .filter(Value::is_object)
}

/// A JSON type test (`Value::is_string`, …).
type IsType = fn(&Value) -> bool;

/// Whether `v` (when present) has the JSON type a config schema demands.
fn typed(v: Option<&Value>, ok: IsType) -> bool {
    v.is_none_or(ok)
}

/// The parts of Quay's config schemas (`DockerSchema2Config` / `OCIConfig` METASCHEMA)
/// that decide whether it reads the config at all.
fn config_conforms(kind: ImageKind, config: &Value) -> bool {
    let rootfs = config.get("rootfs");
    let history_ok = typed(config.get("history"), |h| {
        h.as_array().is_some_and(|entries| {
            entries.iter().all(|e| {
                e.is_object()
                    && typed(e.get("empty_layer"), Value::is_boolean)
                    && ["created", "created_by", "comment", "author"]
                        .iter()
                        .all(|k| typed(e.get(*k), Value::is_string))
            })
        })
    });
    match kind {
        ImageKind::Docker => {
            history_ok
                && config.get("history").is_some()
                && rootfs.is_some_and(|r| r.get("type").is_some_and(Value::is_string))
        }
        ImageKind::Oci => {
            const EXEC_TYPES: [(&str, IsType); 9] = [
                ("User", Value::is_string),
                ("ExposedPorts", Value::is_object),
                ("Env", Value::is_array),
                ("Entrypoint", Value::is_array),
                ("Cmd", Value::is_array),
                ("Volumes", Value::is_object),
                ("WorkingDir", Value::is_string),
                ("Labels", Value::is_object),
                ("StopSignal", Value::is_string),
            ];
            let exec_ok = typed(config.get("config"), |c| {
                c.is_null()
                    || (c.is_object() && EXEC_TYPES.iter().all(|(k, ok)| typed(c.get(*k), *ok)))
            });
            let rootfs_ok = rootfs.is_some_and(|r| {
                r.get("type").and_then(Value::as_str) == Some("layers")
                    && r.get("diff_ids")
                        .and_then(Value::as_array)
                        .is_some_and(|ids| ids.iter().all(Value::is_string))
            });
            history_ok
                && exec_ok
                && rootfs_ok
                && ["architecture", "os"]
                    .iter()
                    .all(|k| config.get(*k).is_some_and(Value::is_string))
                && ["created", "author"]
                    .iter()
                    .all(|k| typed(config.get(*k), Value::is_string))
        }
    }
}

/// A history entry's fields, as `_layer_dict` shows them.
fn history_details(entry: &Value) -> LayerDetails {
    LayerDetails {
        command: command_view(entry.get("created_by")),
        comment: entry.get("comment").cloned().unwrap_or(Value::Null),
        author: entry.get("author").cloned().unwrap_or(Value::Null),
        created_datetime: created_view(entry.get("created").and_then(Value::as_str)),
    }
}

/// Quay's layers of an image manifest read with its config (`_manifest_image_layers`):
///
/// * with history: one entry per history entry, base first; an `empty_layer` entry shows
///   the shared empty layer, every other entry takes the next manifest layer. Fewer history
///   entries than layers, or a non-empty entry with no layer left, is malformed (`None`);
///   layers beyond the last non-empty entry are not shown.
/// * an OCI config without history (absent or empty): one entry per manifest layer, the
///   last one carrying the config's own creation time, author and `Cmd`. (Quay's
///   `get_layers` dereferences the missing history of the other layers and fails, so it
///   serves only single-layer images of this kind; quayside shows them with `null`s.)
fn config_layers(kind: ImageKind, doc: &Value, config: &Value) -> Option<Vec<Value>> {
    if !config_conforms(kind, config) {
        return None;
    }
    let layers = doc.get("layers").and_then(Value::as_array)?;
    let history: &[Value] = config
        .get("history")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    let mut out = Vec::new();
    if kind == ImageKind::Oci && history.is_empty() {
        let last = layers.len().saturating_sub(1);
        for (index, layer) in layers.iter().enumerate() {
            let details = if index == last {
                let exec = config.get("config");
                LayerDetails {
                    command: command_view(exec.and_then(|c| c.get("Cmd"))),
                    comment: Value::Null,
                    author: config.get("author").cloned().unwrap_or(Value::Null),
                    created_datetime: created_view(config.get("created").and_then(Value::as_str)),
                }
            } else {
                LayerDetails::none()
            };
            out.push(layer_entry(index, descriptor_blob(layer), details));
        }
        return Some(out);
    }
    if history.len() < layers.len() {
        return None;
    }
    let mut next = layers.iter();
    for (index, entry) in history.iter().enumerate() {
        let empty = entry
            .get("empty_layer")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let blob = if empty {
            (
                Value::from(quayside_oci::media_types::EMPTY_LAYER_SIZE),
                false,
                Value::Null,
                Value::from(quayside_oci::media_types::EMPTY_LAYER_DIGEST),
            )
        } else {
            descriptor_blob(next.next()?)
        };
        out.push(layer_entry(index, blob, history_details(entry)));
    }
    Some(out)
}

async fn get_manifest(ctx: Ctx) -> ApiResult {
    let (_, m) = load(&ctx, Role::Read, false).await?;
    let list = is_manifest_list(&m.media_type);
    let layers = if list {
        Value::Null
    } else {
        let doc: Option<Value> = serde_json::from_str(&m.bytes).ok();
        let mut view = None;
        if let Some((doc, kind)) = doc
            .as_ref()
            .and_then(|d| image_kind(&m.media_type, d).map(|k| (d, k)))
        {
            if let Some(config) = read_config(&ctx, m.repository_id, doc).await {
                view = config_layers(kind, doc, &config);
                if view.is_none() {
                    tracing::debug!(
                        digest = %m.digest,
                        "config history does not fit the manifest; layers from the manifest alone"
                    );
                }
            }
        }
        match view.or_else(|| doc.as_ref().and_then(layers_view)) {
            Some(l) if l.is_empty() => Value::Null,
            Some(l) => Value::Array(l),
            None => {
                return Err(QuayApiError::Message(
                    StatusCode::NOT_FOUND,
                    URL_NOT_FOUND.into(),
                ))
            }
        }
    };
    Ok(ok(json!({
        "digest": m.digest,
        "is_manifest_list": list,
        "manifest_data": m.bytes,
        "config_media_type": m.config_media_type,
        "layers_compressed_size": m.layers_compressed_size,
        "layers": layers,
    })))
}

async fn list_labels(ctx: Ctx) -> ApiResult {
    let (_, m) = load(&ctx, Role::Read, false).await?;
    let prefix = ctx.query_str("filter").map(str::to_lowercase);
    let labels: Vec<Value> = ctx
        .auth()
        .db()
        .manifest_labels(m.id)
        .await?
        .iter()
        .filter(|l| {
            prefix
                .as_deref()
                .is_none_or(|p| l.key.to_lowercase().starts_with(p))
        })
        .map(label_view)
        .collect();
    Ok(ok(json!({ "labels": labels })))
}

/// `AddLabel` schema: `key`, `value`, `media_type` required; strings; `media_type` one of
/// the allowed types or null.
fn validate_add_label(body: &Body) -> Result<(), QuayApiError> {
    for key in ["key", "value", "media_type"] {
        if !body.has(key) {
            return Err(QuayApiError::invalid_request(format!(
                "'{key}' is a required property"
            )));
        }
    }
    for key in ["key", "value"] {
        if let Some(v) = body.get(key).filter(|v| !v.is_string()) {
            return Err(QuayApiError::invalid_request(format!(
                "{} is not of type 'string'",
                py_repr(v)
            )));
        }
    }
    match body.get("media_type") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(s)) if MEDIA_TYPES.contains(&s.as_str()) => Ok(()),
        Some(v @ Value::String(_)) => Err(QuayApiError::invalid_request(format!(
            "{} is not one of ['text/plain', 'application/json', None]",
            py_repr(v)
        ))),
        Some(v) => Err(QuayApiError::invalid_request(format!(
            "{} is not of type 'string', 'null'",
            py_repr(v)
        ))),
    }
}

/// `LabelValidator.has_reserved_prefix`: `DEFAULT_LABEL_KEY_RESERVED_PREFIXES` (overridable)
/// plus `LABEL_KEY_RESERVED_PREFIXES`.
fn has_reserved_prefix(settings: &QuayApiSettings, key: &str) -> bool {
    let list = |name: &str| -> Option<Vec<String>> {
        settings
            .config
            .get(name)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
    };
    let defaults = list("DEFAULT_LABEL_KEY_RESERVED_PREFIXES").unwrap_or_else(|| {
        DEFAULT_RESERVED_PREFIXES
            .iter()
            .map(|s| (*s).to_owned())
            .collect()
    });
    let extra = list("LABEL_KEY_RESERVED_PREFIXES").unwrap_or_default();
    defaults
        .iter()
        .chain(extra.iter())
        .any(|p| key.starts_with(p.as_str()))
}

/// `validate_label_key`: at most 255 characters matching `VALID_LABEL_KEY_REGEX` (Python's
/// `$` also accepts one trailing newline).
fn valid_label_key(key: &str) -> bool {
    if key.chars().count() > 255 {
        return false;
    }
    let k = key.strip_suffix('\n').unwrap_or(key);
    let b = k.as_bytes();
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let (Some(first), Some(last)) = (b.first(), b.last()) else {
        return false;
    };
    if !alnum(*first) || !alnum(*last) {
        return false;
    }
    b.windows(2).all(|w| {
        let sep = |c: u8| c == b'-' || c == b'.';
        (alnum(w[0]) || sep(w[0])) && (alnum(w[1]) || sep(w[1])) && !(sep(w[0]) && sep(w[1]))
    }) && b.iter().all(|c| alnum(*c) || *c == b'-' || *c == b'.')
}

async fn add_label(ctx: Ctx) -> ApiResult {
    check_manifestref(ctx.param("manifestref"))?;
    let repo = guard_repo(&ctx, Role::Write, false, true).await?;
    let body = ctx.json()?;
    validate_add_label(&body)?;
    let key = body.req_str("key")?;
    let value = body.req_str("value")?;
    let media_type = body.opt_str("media_type")?;
    if has_reserved_prefix(&ctx.state.settings, key) {
        return Err(QuayApiError::bad_request("Label has a reserved prefix"));
    }
    let repo = repo.ok_or_else(QuayApiError::not_found)?;
    let m = find_manifest(&ctx, &repo).await?;
    if key.is_empty() || !valid_label_key(key) {
        return Err(QuayApiError::bad_request(format!(
            "Label is of an invalid format or missing please use {LABEL_KEY_REGEX} format for labels"
        )));
    }
    let media_type = media_type.unwrap_or(labels::value_media_type(value));
    let uuid = uuid::Uuid::new_v4().hyphenated().to_string();
    let db = ctx.auth().db();
    let label =
        match db
            .create_manifest_label(&NewLabel {
                repository_id: i64::from(repo.id),
                manifest_id: m.id,
                uuid: &uuid,
                key,
                value,
                media_type,
                source_type: "api",
            })
            .await?
        {
            LabelOutcome::Created(l) => l,
            LabelOutcome::UnknownMediaType => return Err(QuayApiError::bad_request(
                "Media type is invalid please use a valid media type: text/plain, application/json",
            )),
            LabelOutcome::NoManifest => return Err(QuayApiError::not_found()),
        };
    if key == LABEL_EXPIRY_KEY {
        if let Some(secs) = labels::duration_seconds(value) {
            for t in db.alive_tags_for_manifest(m.id, now_ms()).await? {
                let end = t
                    .lifetime_start_ms
                    .saturating_add(secs.saturating_mul(1000));
                db.set_tag_end(t.id, t.lifetime_end_ms, Some(end)).await?;
            }
        }
    }
    let (ns, repo_name) = ctx.repo_param();
    let manifestref = ctx.param("manifestref");
    ctx.log(
        "manifest_label_add",
        i64::from(repo.namespace_id),
        Some(i64::from(repo.id)),
        json!({
            "id": label.uuid,
            "key": label.key,
            "value": label.value,
            "manifest_digest": manifestref,
            "media_type": label.media_type,
            "namespace": ns,
            "repo": repo_name,
        }),
    )
    .await?;
    let location = format!(
        "/api/v1/repository/{ns}/{repo_name}/manifest/{manifestref}/labels/{}",
        label.uuid
    );
    let mut resp: Response =
        with_status(StatusCode::CREATED, json!({ "label": label_view(&label) }));
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

async fn get_label(ctx: Ctx) -> ApiResult {
    let (_, m) = load(&ctx, Role::Read, false).await?;
    let label = ctx
        .auth()
        .db()
        .manifest_label(m.id, ctx.param("labelid"))
        .await?
        .ok_or_else(QuayApiError::not_found)?;
    Ok(ok(label_view(&label)))
}

async fn delete_label(ctx: Ctx) -> ApiResult {
    let (repo, m) = load(&ctx, Role::Write, true).await?;
    let db = ctx.auth().db();
    let label_id = ctx.param("labelid");
    let label = db
        .manifest_label(m.id, label_id)
        .await?
        .ok_or_else(QuayApiError::not_found)?;
    if !label.mutable {
        return Err(QuayApiError::bad_request("Cannot delete immutable label"));
    }
    db.delete_label(label.id).await?;
    let (ns, repo_name) = ctx.repo_param();
    ctx.log(
        "manifest_label_delete",
        i64::from(repo.namespace_id),
        Some(i64::from(repo.id)),
        json!({
            "id": label_id,
            "key": label.key,
            "value": label.value,
            "manifest_digest": ctx.param("manifestref"),
            "namespace": ns,
            "repo": repo_name,
        }),
    )
    .await?;
    Ok(no_content())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_keys_follow_quays_pattern() {
        for good in ["a", "abc", "a.b-c", "com.example.key", "1x9", "a-b.c"] {
            assert!(valid_label_key(good), "{good}");
        }
        for bad in ["", "A", "-a", "a-", "a..b", "a.-b", "a_b", "a b", ".a"] {
            assert!(!valid_label_key(bad), "{bad}");
        }
        assert!(!valid_label_key(&"a".repeat(256)));
    }

    #[test]
    fn commands_are_normalised_like_layer_dict() {
        let c = |v: Value| command_view(Some(&v));
        assert_eq!(command_view(None), Value::Null);
        assert_eq!(c(json!("")), Value::Null);
        assert_eq!(c(json!([])), Value::Null);
        assert_eq!(c(json!("/bin/sh -c make")), json!(["/bin/sh -c make"]));
        assert_eq!(c(json!(r#"["a","b"]"#)), json!(["a", "b"]));
        // Any JSON text is taken as it parses, as `json.loads` does.
        assert_eq!(c(json!("123")), json!(123));
        assert_eq!(c(json!(["sh"])), json!([["sh"]]));
    }

    #[test]
    fn creation_times_are_rfc_2822() {
        assert_eq!(
            created_view(Some("2018-04-03T18:37:09.284840891Z")),
            "Tue, 03 Apr 2018 18:37:09 -0000"
        );
        assert_eq!(
            created_view(Some("2023-11-14T22:13:20-02:00")),
            "Wed, 15 Nov 2023 00:13:20 -0000"
        );
        assert_eq!(
            created_view(Some("2023-11-14T22:13:20")),
            "Tue, 14 Nov 2023 22:13:20 -0000"
        );
        for none in [None, Some(""), Some("yesterday")] {
            assert_eq!(created_view(none), Value::Null);
        }
    }

    #[test]
    fn manifest_refs_must_be_digests() {
        assert!(check_manifestref("sha256:abcdef0123").is_ok());
        assert!(check_manifestref("latest").is_err());
        assert!(check_manifestref("sha256:xyz").is_err());
    }
}
