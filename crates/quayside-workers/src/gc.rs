//! The `gc` worker: Quay's `gcworker` / `data/model/gc.py::garbage_collect_repo`.
//!
//! A pass first **plans** (read only) and then **executes** the plan, re-checking every
//! deletion inside its own transaction. `quayside gc --dry-run` prints the plan; a real pass
//! deletes exactly the plan unless pushes changed something in between (then the re-checks
//! keep whatever became used again).
//!
//! Rules (per repository not marked for deletion, in an enabled namespace):
//! 1. tags are unrecoverable when `lifetime_end_ms <= now - removed_tag_expiration_s*1000`
//!    (the namespace's time-machine window; immutable tags only with
//!    `FEATURE_IMMUTABLE_TAGS_CAN_EXPIRE`); they are deleted;
//! 2. the manifests those tags pointed at are deleted when no tag row (alive or still in
//!    the window) points at them, they are no child of a manifest list, and no manifest of
//!    the repository names them as `subject`; their child manifests are then considered
//!    in turn (a fixpoint, like Quay's `_run_garbage_collection` loop);
//! 3. labels of deleted manifests go when no other manifest uses them;
//! 4. `uploadedblob` rows past `expires_at` are deleted;
//! 5. blobs of deleted manifests and expired upload links go (placements + row) when no
//!    `manifestblob` and no `uploadedblob` row anywhere links them and they have a
//!    placement; their object is deleted only when no other `imagestorage` row shares the
//!    content checksum (content-addressed paths are shared).
//!
//! Safety of object deletion against a concurrent push of the same content: an upload
//! finishing checks whether `sha256/<2>/<hex>` exists and, if so, drops its own copy before
//! writing its rows. So GC first moves the object aside, then deletes the rows in a
//! transaction holding the digest's blob lock that also checks that no other row has the
//! checksum and no `blobupload` of exactly this size is in progress. If that check fails the
//! object is moved back; otherwise the moved object is deleted. Every upload that saw the
//! object before it moved is either committed (a row exists) or still has its `blobupload`
//! row at the blob's size, so it is always caught.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::NaiveDateTime;
use quayside_meta::gc::{BlobDeleted, GcRepo, GcTag, RepoSnapshot};
use quayside_meta::Db;
use quayside_storage::{layout, DistributedStorage};
use serde::Serialize;

use crate::WorkerError;

/// When a pass runs and what may expire.
#[derive(Debug, Clone, Copy)]
pub struct GcClock {
    pub now: NaiveDateTime,
    pub now_ms: i64,
    /// `FEATURE_IMMUTABLE_TAGS_CAN_EXPIRE`.
    pub immutable_can_expire: bool,
}

impl GcClock {
    /// Now (UTC).
    pub fn now(immutable_can_expire: bool) -> GcClock {
        let t = chrono::Utc::now();
        GcClock {
            now: t.naive_utc(),
            now_ms: t.timestamp_millis(),
            immutable_can_expire,
        }
    }
}

/// What one repository loses.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RepoPlan {
    pub repository_id: i64,
    pub repository: String,
    /// (tag id, name, lifetime_end_ms)
    pub tags: Vec<(i64, String, Option<i64>)>,
    /// (manifest id, digest), parents before their children.
    pub manifests: Vec<(i64, String)>,
    pub labels: Vec<i64>,
    /// `uploadedblob` ids.
    pub uploaded: Vec<i64>,
}

/// One blob to delete.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BlobPlan {
    pub id: i64,
    pub digest: Option<String>,
    pub size: i64,
    pub cas_path: bool,
    pub uuid: String,
    pub locations: Vec<String>,
    /// The object goes too (no other row shares the checksum).
    pub remove_object: bool,
}

/// A whole pass.
#[derive(Debug, Clone, Serialize, Default, PartialEq, Eq)]
pub struct GcPlan {
    pub repositories: Vec<RepoPlan>,
    pub blobs: Vec<BlobPlan>,
}

/// Totals of a plan or of a pass.
#[derive(Debug, Clone, Copy, Serialize, Default, PartialEq, Eq)]
pub struct GcReport {
    pub repositories: u64,
    pub tags: u64,
    pub manifests: u64,
    pub labels: u64,
    pub uploaded_blobs: u64,
    pub blobs: u64,
    pub objects: u64,
    pub bytes: u64,
}

impl GcPlan {
    /// The totals this plan deletes.
    pub fn report(&self, storage: &DistributedStorage) -> GcReport {
        let mut r = GcReport {
            repositories: self.repositories.len() as u64,
            ..GcReport::default()
        };
        for p in &self.repositories {
            r.tags += p.tags.len() as u64;
            r.manifests += p.manifests.len() as u64;
            r.labels += p.labels.len() as u64;
            r.uploaded_blobs += p.uploaded.len() as u64;
        }
        for b in &self.blobs {
            r.blobs += 1;
            if b.remove_object {
                for loc in &b.locations {
                    if storage.engine(loc).is_some() {
                        r.objects += 1;
                        r.bytes += u64::try_from(b.size).unwrap_or(0);
                    }
                }
            }
        }
        r
    }

    /// Human-readable listing (the `--dry-run` output).
    pub fn render(&self, storage: &DistributedStorage) -> String {
        let mut out = String::new();
        for p in &self.repositories {
            for (_, name, end) in &p.tags {
                out.push_str(&format!(
                    "tag {} {} (ended {})\n",
                    p.repository,
                    name,
                    end.map(|e| e.to_string()).unwrap_or_default()
                ));
            }
            for (_, digest) in &p.manifests {
                out.push_str(&format!("manifest {}@{}\n", p.repository, digest));
            }
            for id in &p.labels {
                out.push_str(&format!("label {id}\n"));
            }
            for id in &p.uploaded {
                out.push_str(&format!("uploadedblob {} {id}\n", p.repository));
            }
        }
        for b in &self.blobs {
            let what = if b.remove_object {
                "object"
            } else {
                "row only"
            };
            out.push_str(&format!(
                "blob {} {} bytes ({what})\n",
                b.digest.as_deref().unwrap_or(&b.uuid),
                b.size
            ));
        }
        let r = self.report(storage);
        out.push_str(&format!(
            "total: {} repositories, {} tags, {} manifests, {} labels, {} uploaded blob links, {} blobs, {} objects, {} bytes\n",
            r.repositories, r.tags, r.manifests, r.labels, r.uploaded_blobs, r.blobs, r.objects, r.bytes
        ));
        out
    }
}

fn unrecoverable(t: &GcTag, cutoff_ms: i64, clock: &GcClock) -> bool {
    match t.lifetime_end_ms {
        Some(end) => end <= cutoff_ms && (!t.immutable || clock.immutable_can_expire),
        None => false,
    }
}

/// Plans one repository: returns its plan and the blob ids to consider.
fn plan_repository(
    repo: &GcRepo,
    snap: &RepoSnapshot,
    clock: &GcClock,
    purge: bool,
) -> (RepoPlan, BTreeSet<i64>) {
    let cutoff = clock.now_ms - repo.window_s.saturating_mul(1000);
    let dead_tags: Vec<&GcTag> = snap
        .tags
        .iter()
        .filter(|t| purge || unrecoverable(t, cutoff, clock))
        .collect();
    let dead_tag_ids: HashSet<i64> = dead_tags.iter().map(|t| t.id).collect();
    // Tag references that remain.
    let mut tag_refs: HashMap<i64, usize> = HashMap::new();
    for t in &snap.tags {
        if let (Some(m), false) = (t.manifest_id, dead_tag_ids.contains(&t.id)) {
            *tag_refs.entry(m).or_default() += 1;
        }
    }
    let digests: HashMap<i64, &str> = snap
        .manifests
        .iter()
        .map(|m| (m.id, m.digest.as_str()))
        .collect();
    let mut deleted: Vec<(i64, String)> = Vec::new();
    let mut deleted_set: HashSet<i64> = HashSet::new();
    let mut candidates: Vec<i64> = Vec::new();
    for t in &dead_tags {
        if let Some(m) = t.manifest_id {
            if !candidates.contains(&m) {
                candidates.push(m);
            }
        }
    }
    if purge {
        // A purge removes every manifest, tagged or not.
        for m in &snap.manifests {
            if !candidates.contains(&m.id) {
                candidates.push(m.id);
            }
        }
    }
    let mut changed = true;
    while changed {
        changed = false;
        let mut i = 0;
        while i < candidates.len() {
            let m = candidates[i];
            i += 1;
            if deleted_set.contains(&m) || !digests.contains_key(&m) {
                continue;
            }
            if tag_refs.get(&m).copied().unwrap_or(0) > 0 {
                continue;
            }
            let is_child = snap
                .children
                .iter()
                .any(|(p, c)| *c == m && !deleted_set.contains(p));
            if is_child {
                continue;
            }
            let digest = digests.get(&m).copied().unwrap_or_default();
            let is_subject = snap.manifests.iter().any(|s| {
                s.id != m && !deleted_set.contains(&s.id) && s.subject.as_deref() == Some(digest)
            });
            if is_subject {
                continue;
            }
            deleted_set.insert(m);
            deleted.push((m, digest.to_string()));
            changed = true;
            for (p, c) in &snap.children {
                if *p == m && !candidates.contains(c) {
                    candidates.push(*c);
                }
            }
        }
    }
    let mut blob_ids: BTreeSet<i64> = BTreeSet::new();
    for (m, b) in &snap.manifest_blobs {
        if deleted_set.contains(m) {
            blob_ids.insert(*b);
        }
    }
    let mut labels: BTreeSet<i64> = BTreeSet::new();
    for (m, l) in &snap.manifest_labels {
        if deleted_set.contains(m) {
            labels.insert(*l);
        }
    }
    // A label still linked by a surviving manifest stays.
    for (m, l) in &snap.manifest_labels {
        if !deleted_set.contains(m) {
            labels.remove(l);
        }
    }
    let mut uploaded = Vec::new();
    for u in &snap.uploaded {
        if purge || u.expires_at <= clock.now {
            uploaded.push(u.id);
            blob_ids.insert(u.blob_id);
        }
    }
    let plan = RepoPlan {
        repository_id: repo.id,
        repository: format!("{}/{}", repo.namespace, repo.name),
        tags: dead_tags
            .iter()
            .map(|t| (t.id, t.name.clone(), t.lifetime_end_ms))
            .collect(),
        manifests: deleted,
        labels: labels.into_iter().collect(),
        uploaded,
    };
    (plan, blob_ids)
}

/// Plans the blobs: those no surviving link keeps, and whether their object goes.
async fn plan_blobs(
    db: &Db,
    candidates: &BTreeSet<i64>,
    deleted_manifests: &HashSet<i64>,
    deleted_uploaded: &HashSet<i64>,
) -> Result<Vec<BlobPlan>, WorkerError> {
    let mut plans: BTreeMap<i64, (BlobPlan, Vec<i64>)> = BTreeMap::new();
    for id in candidates {
        let Some(refs) = db.gc_blob_refs(*id).await? else {
            continue;
        };
        let linked = refs
            .manifests
            .iter()
            .any(|m| !deleted_manifests.contains(m))
            || refs.uploaded.iter().any(|u| !deleted_uploaded.contains(u));
        if linked || refs.locations.is_empty() {
            continue;
        }
        plans.insert(
            refs.id,
            (
                BlobPlan {
                    id: refs.id,
                    digest: refs.checksum.clone(),
                    size: refs.size.unwrap_or(0),
                    cas_path: refs.cas_path,
                    uuid: refs.uuid.clone(),
                    locations: refs.locations.clone(),
                    remove_object: false,
                },
                refs.same_checksum.clone(),
            ),
        );
    }
    // The object goes with the last (highest id) of the rows sharing it, and only when every
    // row sharing it goes in this pass.
    let ids: BTreeSet<i64> = plans.keys().copied().collect();
    for (id, (plan, same)) in plans.iter_mut() {
        plan.remove_object = if plan.cas_path {
            same.iter().all(|s| ids.contains(s)) && same.iter().all(|s| s < id)
        } else {
            true
        };
    }
    Ok(plans.into_values().map(|(p, _)| p).collect())
}

/// Plans a whole pass over every repository with garbage.
pub async fn plan(db: &Db, clock: &GcClock) -> Result<GcPlan, WorkerError> {
    let repos = db
        .gc_repositories(clock.now_ms, clock.now, clock.immutable_can_expire)
        .await?;
    plan_repos(db, &repos, clock, false).await
}

/// Plans the removal of all contents of `repo` (a repository purge): every tag, manifest
/// and upload link, then the blobs nothing else links.
pub async fn plan_purge(db: &Db, repo: &GcRepo, clock: &GcClock) -> Result<GcPlan, WorkerError> {
    plan_repos(db, std::slice::from_ref(repo), clock, true).await
}

async fn plan_repos(
    db: &Db,
    repos: &[GcRepo],
    clock: &GcClock,
    purge: bool,
) -> Result<GcPlan, WorkerError> {
    let mut out = GcPlan::default();
    let mut blob_candidates = BTreeSet::new();
    let mut deleted_manifests = HashSet::new();
    let mut deleted_uploaded = HashSet::new();
    for repo in repos {
        let snap = db.gc_repo_snapshot(repo.id).await?;
        let (p, blobs) = plan_repository(repo, &snap, clock, purge);
        blob_candidates.extend(blobs);
        deleted_manifests.extend(p.manifests.iter().map(|(m, _)| *m));
        deleted_uploaded.extend(p.uploaded.iter().copied());
        if !(p.tags.is_empty() && p.manifests.is_empty() && p.uploaded.is_empty()) {
            out.repositories.push(p);
        }
    }
    out.blobs = plan_blobs(db, &blob_candidates, &deleted_manifests, &deleted_uploaded).await?;
    Ok(out)
}

/// What a real pass deleted, by Quay table name (`quay_gc_table_rows_deleted{table}`).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct GcOutcome {
    pub report: GcReport,
    pub rows: BTreeMap<&'static str, u64>,
}

impl GcOutcome {
    fn add(&mut self, table: &'static str, n: u64) {
        if n > 0 {
            *self.rows.entry(table).or_default() += n;
        }
    }
}

/// Object path of a blob in its location.
fn object_path(b: &BlobPlan) -> Option<String> {
    if b.cas_path {
        b.digest.as_deref().and_then(layout::blob_path_for_digest)
    } else {
        uuid::Uuid::parse_str(&b.uuid)
            .ok()
            .map(|u| layout::legacy_blob_path(&u))
    }
}

/// Runs `plan`, re-checking each deletion. Returns what was really deleted.
pub async fn execute(
    db: &Db,
    storage: &DistributedStorage,
    plan: &GcPlan,
    clock: &GcClock,
) -> Result<GcOutcome, WorkerError> {
    execute_with(db, storage, plan, Some(clock.now)).await
}

/// [`execute`]; `uploaded_before = None` deletes upload links whatever their expiry (purges).
pub(crate) async fn execute_with(
    db: &Db,
    storage: &DistributedStorage,
    plan: &GcPlan,
    uploaded_before: Option<NaiveDateTime>,
) -> Result<GcOutcome, WorkerError> {
    let mut out = GcOutcome::default();
    for p in &plan.repositories {
        let mut any = false;
        for (id, _, end) in &p.tags {
            let (n, notes) = db.gc_delete_tag(*id, *end).await?;
            out.add("Tag", n);
            out.add("TagNotificationSuccess", notes);
            out.report.tags += n;
            any |= n > 0;
        }
        for (id, _) in &p.manifests {
            if let Some(d) = db.gc_delete_manifest(p.repository_id, *id).await? {
                out.add("Manifest", 1);
                out.add("ManifestLabel", d.manifestlabel);
                out.add("ManifestChild", d.manifestchild);
                out.add("ManifestBlob", d.manifestblob);
                out.add("ManifestSecurityStatus", d.manifestsecuritystatus);
                out.report.manifests += 1;
                any = true;
            }
        }
        for id in &p.labels {
            if db.gc_delete_label(*id).await? {
                out.add("Label", 1);
                out.report.labels += 1;
            }
        }
        for id in &p.uploaded {
            if db.gc_delete_uploaded_blob(*id, uploaded_before).await? {
                out.add("UploadedBlob", 1);
                out.report.uploaded_blobs += 1;
                any = true;
            }
        }
        if any {
            out.report.repositories += 1;
        }
    }
    for b in &plan.blobs {
        delete_blob(db, storage, b, &mut out).await?;
    }
    Ok(out)
}

/// Deletes one planned blob; see the module documentation for the object protocol.
async fn delete_blob(
    db: &Db,
    storage: &DistributedStorage,
    b: &BlobPlan,
    out: &mut GcOutcome,
) -> Result<(), WorkerError> {
    let path = object_path(b);
    if !b.remove_object || path.is_none() {
        if let BlobDeleted::Deleted {
            placements,
            signatures,
        } = db.gc_delete_blob(b.id, false).await?
        {
            out.add("ImageStorage", 1);
            out.add("ImageStoragePlacement", placements);
            out.add("ImageStorageSignature", signatures);
            out.report.blobs += 1;
        }
        return Ok(());
    }
    let path = path.unwrap_or_default();
    // Move the object aside in every configured location holding it.
    let mut moved: Vec<(String, String)> = Vec::new();
    for loc in &b.locations {
        let Some(engine) = storage.engine(loc) else {
            tracing::warn!(location = %loc, blob = b.id, "blob placed in a location this instance does not configure; its object there is left alone");
            continue;
        };
        let aside = format!(
            "{}quayside-gc-{}",
            layout::UPLOADS_PREFIX,
            uuid::Uuid::new_v4()
        );
        match engine.rename(&path, &aside).await {
            Ok(()) => moved.push((loc.clone(), aside)),
            Err(quayside_storage::StorageError::NotFound { .. }) => {}
            Err(e) => {
                restore(storage, &path, &moved).await;
                return Err(e.into());
            }
        }
    }
    let result = db.gc_delete_blob(b.id, true).await;
    match result {
        Ok(BlobDeleted::Deleted {
            placements,
            signatures,
        }) => {
            out.add("ImageStorage", 1);
            out.add("ImageStoragePlacement", placements);
            out.add("ImageStorageSignature", signatures);
            out.report.blobs += 1;
            for (loc, aside) in &moved {
                if let Some(engine) = storage.engine(loc) {
                    engine.delete(aside).await?;
                    out.report.objects += 1;
                    out.report.bytes += u64::try_from(b.size).unwrap_or(0);
                }
            }
            Ok(())
        }
        Ok(BlobDeleted::InUse) | Ok(BlobDeleted::Guarded) => {
            restore(storage, &path, &moved).await;
            Ok(())
        }
        Err(e) => {
            restore(storage, &path, &moved).await;
            Err(e.into())
        }
    }
}

/// Puts moved objects back (or drops the moved copy when a push wrote the same content to
/// the path meanwhile: content-addressed, so identical).
async fn restore(storage: &DistributedStorage, path: &str, moved: &[(String, String)]) {
    for (loc, aside) in moved {
        let Some(engine) = storage.engine(loc) else {
            continue;
        };
        let result = match engine.exists(path).await {
            Ok(true) => engine.delete(aside).await,
            _ => engine.rename(aside, path).await,
        };
        if let Err(e) = result {
            tracing::error!(location = %loc, path, aside = %aside, error = %e, "could not put a blob object back after an aborted collection");
        }
    }
}

/// One collection pass now: plan + execute. Returns the plan and what was deleted.
pub async fn run_pass(
    db: &Db,
    storage: &DistributedStorage,
    clock: &GcClock,
) -> Result<(GcPlan, GcOutcome), WorkerError> {
    let plan = plan(db, clock).await?;
    let outcome = execute(db, storage, &plan, clock).await?;
    Ok((plan, outcome))
}

/// Quay's `gcworker` as a [`crate::Worker`]: one [`run_pass`] per period.
pub struct GcWorker;

impl crate::Worker for GcWorker {
    fn name(&self) -> &'static str {
        "gc"
    }

    fn quay_name(&self) -> &'static str {
        "gcworker"
    }

    fn enabled(&self, settings: &crate::WorkerSettings) -> bool {
        settings.gc_enabled
    }

    fn period(&self, settings: &crate::WorkerSettings) -> std::time::Duration {
        settings.gc_frequency
    }

    fn idles_when_pushes_disabled(&self) -> bool {
        true
    }

    fn run<'a>(&'a self, ctx: &'a crate::WorkerContext) -> crate::RunFuture<'a> {
        Box::pin(async move {
            let name = self.quay_name();
            let _op = ctx
                .metrics
                .worker_operation(name, "_garbage_collection_repos");
            let clock = GcClock::now(ctx.settings.immutable_can_expire);
            let (_, outcome) = run_pass(&ctx.db, &ctx.storage, &clock).await?;
            crate::purge::record(&ctx.metrics, &outcome);
            ctx.metrics.gc().iteration();
            let r = outcome.report;
            tracing::info!(
                worker = name,
                repositories = r.repositories,
                tags = r.tags,
                manifests = r.manifests,
                labels = r.labels,
                uploaded_blobs = r.uploaded_blobs,
                blobs = r.blobs,
                objects = r.objects,
                bytes = r.bytes,
                "garbage collection pass"
            );
            Ok(())
        })
    }
}
