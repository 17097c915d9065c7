//! `quayside-bench`: quayside against CNCF distribution, in the same run, with
//! identical clients on loopback. See `docs/PERFORMANCE.md`.
//!
//! ```sh
//! cargo build --release -p quayside -p quayside-bench
//! cargo run --release -p quayside-bench -- --runs 3 --out bench.md
//! cargo run --release -p quayside-bench -- --smoke      # seconds; what CI runs
//! ```

mod bare;
mod client;
mod report;
mod s3;
mod servers;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use clap::Parser;
use futures::{StreamExt, TryStreamExt};

use client::{digest, http_client, Credentials, Target};
use report::{Better, Results};
use servers::{which, ServerProc};

const USER: &str = "bench";
const PASSWORD: &str = "bench-password-1";
const REPO: &str = "bench/r";
const TAGS_REPO: &str = "bench/tags";
const MIB: usize = 1024 * 1024;
const QUAYSIDE: usize = 0;
const DISTRIBUTION: usize = 1;

/// Benchmarks quayside (embedded default) against CNCF distribution
/// (`docker-registry`, filesystem storage) on loopback and prints a Markdown
/// table of medians with the ratio quayside / distribution.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Repetitions of every measurement; the table shows medians.
    #[arg(long, default_value_t = 3)]
    runs: usize,

    /// Tiny sizes, one run, short loads: completes in seconds (for CI).
    #[arg(long)]
    smoke: bool,

    /// The quayside binary to measure [default: target/release/quayside;
    /// build it with `cargo build --release -p quayside`].
    #[arg(long)]
    quayside: Option<PathBuf>,

    /// The CNCF distribution binary (Debian package `docker-registry`).
    #[arg(long, default_value = "docker-registry")]
    registry: String,

    /// Also write the report (Markdown) to this file.
    #[arg(long)]
    out: Option<PathBuf>,

    /// Seconds of load per manifest GET/HEAD point.
    #[arg(long, default_value_t = 5.0)]
    duration_secs: f64,

    /// Tags in the repository whose `tags/list` is timed.
    #[arg(long, default_value_t = 10_000)]
    tags: usize,

    /// Where the temporary data directories go [default: the system temp dir].
    #[arg(long)]
    work_dir: Option<PathBuf>,

    /// Measure only these groups (comma-separated: blobs, manifests, tags, api) [default:
    /// all]. RSS rows are always reported. For profiling one path at a time.
    #[arg(long, value_delimiter = ',', value_parser = ["blobs", "manifests", "tags", "api"])]
    only: Vec<String>,

    /// Blob sizes in MiB (comma-separated) [default: 1,32,256]. For profiling one size.
    #[arg(long, value_delimiter = ',')]
    sizes: Vec<usize>,

    /// Where both registries keep blobs: `fs` (quayside's embedded default against
    /// distribution's filesystem driver) or `s3` (one Garage server, a bucket each; quayside
    /// from a Quay config directory with `S3Storage`, distribution with its S3 driver).
    #[arg(long, default_value = "fs", value_parser = ["fs", "s3"])]
    storage: String,
}

/// What one invocation measures.
struct Plan {
    runs: usize,
    /// Groups to measure (`blobs`, `manifests`, `tags`, `api`).
    groups: Vec<String>,
    sizes: Vec<usize>,
    /// Bytes one blob measurement moves at least (small blobs are repeated).
    blob_bytes: usize,
    /// Bytes one download measurement moves at least (downloads repeat the same blob).
    download_bytes: usize,
    chunk: usize,
    concurrency: Vec<usize>,
    load: Duration,
    tags: usize,
    latency_reps: usize,
    settle: Duration,
}

impl Plan {
    fn wants(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }

    fn from_args(a: &Args) -> Result<Plan> {
        let groups: Vec<String> = if a.only.is_empty() {
            ["blobs", "manifests", "tags", "api"]
                .iter()
                .map(|g| g.to_string())
                .collect()
        } else {
            a.only.clone()
        };
        if a.smoke {
            return Ok(Plan {
                runs: 1,
                groups,
                sizes: vec![4 * 1024, 64 * 1024, 256 * 1024],
                blob_bytes: 0,
                download_bytes: 0,
                chunk: 64 * 1024,
                concurrency: vec![1, 16, 64],
                load: Duration::from_millis(200),
                tags: 30,
                latency_reps: 3,
                settle: Duration::from_millis(200),
            });
        }
        if a.runs == 0 {
            bail!("--runs must be at least 1");
        }
        if !(a.duration_secs.is_finite() && a.duration_secs > 0.0 && a.duration_secs <= 600.0) {
            bail!("--duration-secs must be in (0, 600]");
        }
        if a.tags == 0 || a.tags > 1_000_000 {
            bail!("--tags must be in 1..=1000000");
        }
        if a.sizes.iter().any(|&s| s == 0 || s > 4096) {
            bail!("--sizes must be in 1..=4096 (MiB)");
        }
        let sizes = if a.sizes.is_empty() {
            vec![MIB, 32 * MIB, 256 * MIB]
        } else {
            a.sizes.iter().map(|s| s * MIB).collect()
        };
        Ok(Plan {
            runs: a.runs,
            groups,
            sizes,
            blob_bytes: BLOB_BYTES_PER_MEASUREMENT,
            download_bytes: DOWNLOAD_BYTES_PER_MEASUREMENT,
            chunk: 8 * MIB,
            concurrency: vec![1, 16, 64],
            load: Duration::from_secs_f64(a.duration_secs),
            tags: a.tags,
            latency_reps: 20,
            settle: Duration::from_secs(2),
        })
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let outcome = tokio::select! {
        r = run(args) => r,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("quayside-bench: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn locate_quayside(arg: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = arg {
        if p.is_file() {
            return p
                .canonicalize()
                .with_context(|| format!("resolve {}", p.display()));
        }
        bail!(
            "quayside binary not found at {}: build it first with \
             `cargo build --release -p quayside`",
            p.display()
        );
    }
    let candidates = [
        PathBuf::from("target/release/quayside"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/release/quayside"),
    ];
    let found = candidates.iter().find(|p| p.is_file()).context(
        "quayside binary not found at target/release/quayside: build it first with \
             `cargo build --release -p quayside` (or pass --quayside PATH)",
    )?;
    // Absolute: the server is started in a directory of its own (a Quay config directory
    // for `--storage s3`), where a relative path names nothing.
    found
        .canonicalize()
        .with_context(|| format!("resolve {}", found.display()))
}

fn human_size(bytes: usize) -> String {
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{} KiB", bytes / 1024)
    }
}

/// Deterministic incompressible bytes (xorshift64), different per `seed`.
fn make_blob(len: usize, seed: u64) -> Bytes {
    let mut v = Vec::with_capacity(len);
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while v.len() + 8 <= len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    while v.len() < len {
        v.push(x as u8);
        x = x.rotate_left(8);
    }
    Bytes::from(v)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn mb_per_s(bytes: usize, elapsed: Duration) -> f64 {
    bytes as f64 / 1e6 / elapsed.as_secs_f64().max(1e-9)
}

fn median_ms(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v.get(v.len() / 2).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// `sync(1)`: writes every dirty page back before the next timings. Best effort (a
/// missing `sync` only makes the runs noisier).
async fn quiesce_disk() {
    match tokio::process::Command::new("sync").status().await {
        Ok(s) if s.success() => {}
        other => eprintln!("warning: sync before the run failed: {other:?}"),
    }
}

/// Server order for a run: alternate who goes first, so neither always
/// measures on a colder (or warmer) machine.
fn order(run: usize) -> [usize; 2] {
    if run.is_multiple_of(2) {
        [QUAYSIDE, DISTRIBUTION]
    } else {
        [DISTRIBUTION, QUAYSIDE]
    }
}

fn scopes() -> Vec<String> {
    vec![
        format!("repository:{REPO}:pull,push"),
        format!("repository:{TAGS_REPO}:pull,push"),
    ]
}

async fn run(args: Args) -> Result<()> {
    let plan = Plan::from_args(&args)?;
    let quayside_bin = locate_quayside(args.quayside.as_deref())?;
    let registry_bin = which(&args.registry).with_context(|| {
        format!(
            "{} not found: install CNCF distribution with `apt-get install docker-registry` \
             (or pass --registry PATH)",
            args.registry
        )
    })?;
    if cfg!(debug_assertions) && !args.smoke {
        eprintln!(
            "warning: quayside-bench itself is a debug build; the client may be the bottleneck \
             (use `cargo run --release -p quayside-bench`)"
        );
    }

    let work_parent = args.work_dir.clone().unwrap_or_else(std::env::temp_dir);
    let work = tempfile::Builder::new()
        .prefix("quayside-bench-")
        .tempdir_in(&work_parent)
        .with_context(|| format!("temp dir in {}", work_parent.display()))?;
    let qdir = work.path().join("quayside");
    let ddir = work.path().join("distribution");
    std::fs::create_dir_all(&qdir).context("quayside work dir")?;
    std::fs::create_dir_all(&ddir).context("distribution work dir")?;

    let max_conc = plan.concurrency.iter().copied().max().unwrap_or(1);
    let http = http_client(max_conc * 2)?;
    let mut results = Results::default();

    // Start both; idle RSS is read after a short settle, before any request
    // but the readiness probe.
    eprintln!(
        "starting quayside ({}) and distribution ({})",
        quayside_bin.display(),
        registry_bin.display()
    );
    let s3 = if args.storage == "s3" {
        Some(s3::S3Setup::start()?)
    } else {
        None
    };
    let (mut q, db_uri) = match &s3 {
        Some(s3) => ServerProc::start_quayside_config_dir(
            &quayside_bin,
            &qdir,
            &s3.quayside_storage_yaml(),
        )?,
        None => (
            ServerProc::start_quayside(&quayside_bin, &qdir)?,
            format!("sqlite:///{}", qdir.join("data/quayside.db").display()),
        ),
    };
    let mut d = match &s3 {
        Some(s3) => ServerProc::start_distribution_with(
            &registry_bin,
            &ddir,
            &s3.distribution_storage_yaml(),
        )?,
        None => ServerProc::start_distribution(&registry_bin, &ddir)?,
    };
    q.wait_ready(&http, "/_internal_ping", 200).await?;
    d.wait_ready(&http, "/v2/", 200).await?;
    tokio::time::sleep(plan.settle).await;
    let idle = [q.memory_mib("VmRSS")?, d.memory_mib("VmRSS")?];

    // quayside needs a user (created in its database, as the tests do) and
    // a token; distribution runs without auth.
    let api_token = create_user(&db_uri, work.path()).await?;
    let targets = [
        Arc::new(Target::new(
            "quayside",
            q.port,
            Some(Credentials {
                username: USER.to_string(),
                password: PASSWORD.to_string(),
            }),
            http.clone(),
        )),
        Arc::new(Target::new("distribution", d.port, None, http.clone())),
    ];

    // Setup (not timed): the manifest under test, the 10,000-tag repository,
    // and whether a single `POST ?digest=` is supported.
    let manifest = setup_manifest(&targets, REPO).await?;
    let mut single_post = [false; 2];
    for (i, t) in targets.iter().enumerate() {
        let probe = make_blob(1024, 0xfeed + i as u64);
        single_post[i] = t.upload_single_post(REPO, &probe, &digest(&probe)).await?;
    }
    for t in targets.iter().filter(|_| plan.wants("tags")) {
        let started = Instant::now();
        t.refresh_token(&scopes()).await?;
        setup_tags(t, &plan, &manifest).await?;
        eprintln!(
            "{}: {} tags created in {:.1} s",
            t.name,
            plan.tags,
            started.elapsed().as_secs_f64()
        );
    }

    // The download reference (a bare sendfile server in the harness) serves the largest blob.
    let bare = if plan.wants("blobs") {
        let size = probe_bytes(&plan);
        Some(bare::BareServer::start(
            work.path(),
            &make_blob(size, 0xce11),
        )?)
    } else {
        None
    };
    let mut bare_samples: Vec<f64> = Vec::new();
    let mut probes: Vec<f64> = Vec::new();
    for run in 0..plan.runs {
        eprintln!("run {}/{}", run + 1, plan.runs);
        for t in &targets {
            t.refresh_token(&scopes()).await?;
        }
        if plan.wants("blobs") {
            // Every run starts from a quiet disk: dirty pages of the previous run's uploads
            // are written back now, not by the kernel's flusher threads on these two cores
            // in the middle of this run's timings (distribution fsyncs its own writes
            // inside its timings; quayside, like Quay, leaves them to the page cache).
            quiesce_disk().await;
            probes.push(page_cache_probe(work.path(), &plan).await?);
            let bare = bare.as_ref().map(|c| (&http, c, &mut bare_samples));
            measure_blobs(&targets, &plan, run, single_post, bare, &mut results).await?;
        }
        if plan.wants("manifests") {
            measure_manifests(&targets, &plan, run, &mut results).await?;
        }
        if plan.wants("tags") {
            measure_tags(&targets, &plan, run, &mut results).await?;
        }
        if plan.wants("api") {
            measure_api(&targets, &plan, &api_token, &mut results).await?;
        }
    }

    let mut s3_reference = None;
    if let (Some(s3), true) = (&s3, plan.wants("blobs")) {
        let size = probe_bytes(&plan);
        let data = make_blob(size, 0x53_33);
        let mut puts = Vec::new();
        let mut gets = Vec::new();
        for _ in 0..plan.runs {
            let (put, get) = s3.reference(&data, plan.chunk).await?;
            puts.push(put);
            gets.push(get);
        }
        s3_reference = Some((size, median(puts), median(gets)));
    }

    for (i, mib) in idle.into_iter().enumerate() {
        results.add(
            "server idle RSS (after start)",
            "MiB",
            Better::Lower,
            i,
            mib,
        );
    }
    results.add(
        "server peak RSS (VmHWM, whole run)",
        "MiB",
        Better::Lower,
        QUAYSIDE,
        q.memory_mib("VmHWM")?,
    );
    results.add(
        "server peak RSS (VmHWM, whole run)",
        "MiB",
        Better::Lower,
        DISTRIBUTION,
        d.memory_mib("VmHWM")?,
    );

    for s in [&mut q, &mut d] {
        if !s.stop()? {
            eprintln!(
                "warning: {} did not stop within 20 s of SIGTERM and was killed",
                s.name
            );
        }
    }

    let mut report = format!(
        "{}\n{}",
        header(&plan, &quayside_bin, &registry_bin, s3.is_some()),
        results.markdown()
    );
    if !probes.is_empty() {
        let each: Vec<String> = probes.iter().map(|p| format!("{p:.0}")).collect();
        report.push_str(&format!(
            "\nEnvironment probe, no server involved: the harness itself writing {} to a new \
             file in the work dir ({} B writes, as the servers receive bodies), before each \
             run's blob timings: {} MB/s. Uploads cannot outrun the page cache; a low figure \
             means the machine was slow in that run for both servers.\n",
            human_size(probe_bytes(&plan)),
            PROBE_WRITE,
            each.join(" / ")
        ));
    }
    if let Some(c) = &bare {
        report.push_str(&bare_note(c, &bare_samples, &results));
    }
    if let Some((size, put, get)) = s3_reference {
        report.push_str(&format!(
            "\nS3 reference, no registry involved: the Garage server itself taking one {} object \
             through OpenDAL's S3 client (single stream, {} writes), median of {} run(s): PUT \
             {put:.0} MB/s, GET {get:.0} MB/s. Both registries store in their own bucket on \
             that server; blob GETs are answered with a redirect to a presigned URL by both \
             (Quay's and distribution's default), so the download rows time the client \
             following it to Garage.\n",
            human_size(size),
            human_size(plan.chunk),
            plan.runs
        ));
    }
    println!("{report}");
    if let Some(out) = &args.out {
        std::fs::write(out, &report).with_context(|| format!("write {}", out.display()))?;
        eprintln!("wrote {}", out.display());
    }
    // Dropping `work` removes both data directories; distribution's
    // 10,000-tag tree is tens of thousands of small files, which can take a
    // while on a filesystem with online discard.
    eprintln!("removing {}", work.path().display());
    Ok(())
}

/// One download from the bare sendfile server by the harness's client, body read and counted.
async fn bare_download(http: &reqwest::Client, c: &bare::BareServer) -> Result<()> {
    let resp = http
        .get(c.url())
        .send()
        .await
        .context("GET from the bare sendfile server")?;
    let n = client::body_len(resp)
        .await
        .context("the bare sendfile server's body")?;
    if n != c.size {
        bail!("bare sendfile server: got {n} bytes, expected {}", c.size);
    }
    Ok(())
}

/// The line under the table that puts both registries' download of the largest blob next to
/// the bare sendfile server measured in the same runs.
fn bare_note(c: &bare::BareServer, samples: &[f64], results: &Results) -> String {
    let each: Vec<String> = samples.iter().map(|v| format!("{v:.0}")).collect();
    let bare = report::Cell::Samples(samples.to_vec()).median();
    let label = format!("blob download, {}", human_size(c.size as usize));
    let row = results.rows.iter().find(|r| r.label == label);
    let median = |i: usize| row.and_then(|r| r.cells[i].median());
    let mut note = format!(
        "\nDownload reference: the same client fetching a {} file from a bare HTTP/1.1 server in \
         the harness that sends it with `sendfile` (no framework, auth or database), taking its \
         turn between the registries' downloads of that size: {} MB/s per run",
        human_size(c.size as usize),
        each.join(" / ")
    );
    if let (Some(top), Some(q), Some(d)) = (bare, median(QUAYSIDE), median(DISTRIBUTION)) {
        note.push_str(&format!(
            ". Medians against it: bare server {:.2}× distribution; quayside {:.0}%, distribution \
             {:.0}% of the bare server",
            top / d,
            100.0 * q / top,
            100.0 * d / top
        ));
    }
    note.push_str(".\n");
    note
}

/// Write size of the page-cache probe: what one socket read of a request body yields.
const PROBE_WRITE: usize = 417_792;

/// Bytes the page-cache probe writes: the largest blob of the plan.
fn probe_bytes(plan: &Plan) -> usize {
    plan.sizes.iter().copied().max().unwrap_or(MIB)
}

/// Times writing the largest blob size into a new file under `dir` in body-sized writes (no
/// fsync), then removes it: how fast this machine takes new data into its page cache right
/// now. Outside every server timing.
async fn page_cache_probe(dir: &Path, plan: &Plan) -> Result<f64> {
    let path = dir.join("page-cache-probe");
    let total = probe_bytes(plan);
    let data = make_blob(PROBE_WRITE, 0x9a9e);
    tokio::task::spawn_blocking(move || -> Result<f64> {
        use std::io::Write as _;
        let started = Instant::now();
        let mut file = std::fs::File::create(&path).context("create the probe file")?;
        let mut left = total;
        while left > 0 {
            let n = left.min(data.len());
            file.write_all(&data[..n]).context("write the probe file")?;
            left -= n;
        }
        drop(file);
        let elapsed = started.elapsed();
        std::fs::remove_file(&path).context("remove the probe file")?;
        Ok(mb_per_s(total, elapsed))
    })
    .await
    .context("probe thread")?
}

/// Creates the bench user in quayside's database with quayside's own account
/// code (as `crates/quayside/tests/cli/fixtures.rs` does), and an OAuth access
/// token of that user for `/api/v1` (`repo:read user:read`). Returns the token.
async fn create_user(db_uri: &str, work: &Path) -> Result<String> {
    let db = quayside_meta::Db::connect(db_uri, &quayside_meta::ConnectOptions::default())
        .await
        .context("connect to quayside's database")?;
    let keys = work.join("fixture-keys");
    std::fs::create_dir_all(&keys).context("fixture key dir")?;
    // Quay's default bcrypt cost (12) for the password and the OAuth token's code, as a
    // real installation has them: a request that re-ran bcrypt (~0.25 s) would show.
    let settings = quayside_auth::AuthSettings {
        kid_path: keys.join("bench.kid"),
        pem_path: keys.join("bench.pem"),
        ..quayside_auth::AuthSettings::default()
    };
    let auth = quayside_auth::Auth::start(db.clone(), settings)
        .await
        .context("quayside auth on its database")?;
    let user_id = auth
        .create_user(USER, PASSWORD, "bench@example.com")
        .await
        .context("create the bench user")?;
    let token = auth
        .create_oauth_token(user_id, "repo:read user:read")
        .await
        .context("create the bench user's OAuth token")?;
    db.close().await;
    Ok(token)
}

fn header(plan: &Plan, quayside: &Path, registry: &Path, s3: bool) -> String {
    let version = |bin: &Path, arg: &str| {
        std::process::Command::new(bin)
            .arg(arg)
            .output()
            .ok()
            .map(|o| {
                let s = String::from_utf8_lossy(&o.stdout).trim().to_string();
                s.lines().next().unwrap_or_default().to_string()
            })
            .unwrap_or_default()
    };
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let sizes: Vec<String> = plan.sizes.iter().map(|s| human_size(*s)).collect();
    let (q_storage, d_storage) = if s3 {
        (
            "Quay config directory, SQLite + `S3Storage` on a Garage bucket",
            "its S3 driver on another bucket of the same Garage server",
        )
    } else {
        (
            "embedded default (SQLite + local files)",
            "filesystem storage",
        )
    };
    format!(
        "quayside-bench: {} run(s), medians shown; {} CPU(s); loopback; one reqwest client \
         (HTTP/1.1 keep-alive) for both servers\n\n\
         - quayside: `{}` ({}), {q_storage}, metrics off, bearer token\n\
         - distribution: `{}` ({}), {d_storage}, in-memory blob descriptor cache, no auth\n\
         - blobs: {}, each upload measurement over at least {} (smaller blobs repeated), each \
         download measurement over at least {} (the servers taking turns per request); chunked \
         uploads in {} PATCHes; manifest load {:.1} s per point; \
         tags/list over {} tags; latencies are p50 of {} requests per run\n\
         - MB = 10^6 bytes; RSS from /proc/<pid>/status, one server lifetime covering all runs\n",
        plan.runs,
        cpus,
        quayside.display(),
        version(quayside, "version"),
        registry.display(),
        version(registry, "--version"),
        sizes.join(", "),
        human_size(plan.blob_bytes.max(1)),
        human_size(plan.download_bytes.max(1)),
        human_size(plan.chunk),
        plan.load.as_secs_f64(),
        plan.tags,
        plan.latency_reps,
    )
}

/// Pushes a config and a layer blob to `repo` on every target and puts a
/// schema-2 manifest referencing them as `latest`. Returns the manifest.
async fn setup_manifest(targets: &[Arc<Target>; 2], repo: &str) -> Result<Bytes> {
    let config = Bytes::from_static(
        br#"{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[]}}"#,
    );
    let layer = make_blob(2048, 42);
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": client::MANIFEST_V2,
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": config.len(),
            "digest": digest(&config),
        },
        "layers": [{
            "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
            "size": layer.len(),
            "digest": digest(&layer),
        }],
    });
    let manifest = Bytes::from(serde_json::to_vec(&manifest).context("manifest JSON")?);
    for t in targets {
        t.refresh_token(&scopes()).await?;
        for r in [REPO, TAGS_REPO] {
            for b in [&config, &layer] {
                t.upload_post_put(r, b, &digest(b))
                    .await
                    .with_context(|| format!("{}: push setup blob to {r}", t.name))?;
            }
        }
        t.put_manifest(repo, "latest", &manifest)
            .await
            .with_context(|| format!("{}: put manifest", t.name))?;
    }
    Ok(manifest)
}

/// PUTs the same manifest under `plan.tags` tags (8 at a time).
async fn setup_tags(t: &Arc<Target>, plan: &Plan, manifest: &Bytes) -> Result<()> {
    futures::stream::iter(0..plan.tags)
        .map(|i| {
            let t = Arc::clone(t);
            let manifest = manifest.clone();
            async move {
                t.put_manifest(TAGS_REPO, &format!("t{i:05}"), &manifest)
                    .await
            }
        })
        .buffer_unordered(8)
        .try_collect::<Vec<()>>()
        .await
        .with_context(|| format!("{}: create tags", t.name))?;
    let n = t.list_tags(TAGS_REPO).await?;
    if n != plan.tags {
        bail!(
            "{}: tags/list returned {n} tags, expected {}",
            t.name,
            plan.tags
        );
    }
    Ok(())
}

/// Bytes each blob measurement moves at least: a size below it is timed over several blobs
/// of that size, one after the other (a 1 MiB upload takes a few milliseconds; one of them
/// per run is mostly noise).
const BLOB_BYTES_PER_MEASUREMENT: usize = 16 * MIB;

/// Bytes each download measurement moves at least. One 256 MiB download takes ~0.15 s, and
/// this VM's speed changes from one second to the next; downloads need no fresh data, so each
/// is timed over 1 GiB, the servers taking turns request by request.
const DOWNLOAD_BYTES_PER_MEASUREMENT: usize = 1024 * MIB;

/// How many blobs of `size` one measurement moves, for at least `floor` bytes.
fn blob_reps(size: usize, floor: usize) -> usize {
    floor.div_ceil(size.max(1)).max(1)
}

/// The upload modes timed per blob size.
#[derive(Clone, Copy)]
enum UploadMode {
    PostPut,
    SinglePost,
    Chunked,
}

async fn measure_blobs(
    targets: &[Arc<Target>; 2],
    plan: &Plan,
    run: usize,
    single_post: [bool; 2],
    mut bare: Option<(&reqwest::Client, &bare::BareServer, &mut Vec<f64>)>,
    results: &mut Results,
) -> Result<()> {
    let chunk_label = human_size(plan.chunk);
    let mut downloads = Vec::new();
    for (si, &size) in plan.sizes.iter().enumerate() {
        let size_label = human_size(size);
        let reps = blob_reps(size, plan.blob_bytes);
        let modes = [
            (
                UploadMode::PostPut,
                format!("blob upload monolithic (POST + PUT), {size_label}"),
            ),
            (
                UploadMode::SinglePost,
                format!("blob upload monolithic (single POST ?digest=), {size_label}"),
            ),
            (
                UploadMode::Chunked,
                format!("blob upload chunked ({chunk_label} PATCHes), {size_label}"),
            ),
        ];
        // Which mode goes first rotates from run to run: on this VM the first writes of a run
        // are the fastest (docs/PERFORMANCE.md, "Why runs differ"), and no mode should get
        // that place every time.
        let mut modes: Vec<(usize, (UploadMode, String))> = modes.into_iter().enumerate().collect();
        let len = modes.len();
        modes.rotate_left(run % len);
        for (mi, (mode, label)) in modes {
            // Fresh blobs per (run, size, mode, rep): no server ever sees a blob it already
            // has. Generation and hashing are outside the timings.
            let blobs: Vec<(Bytes, String)> = (0..reps)
                .map(|rep| {
                    let seed = ((run as u64) << 40)
                        | ((si as u64) << 32)
                        | ((mi as u64) << 24)
                        | rep as u64;
                    let blob = make_blob(size, seed);
                    let d = digest(&blob);
                    (blob, d)
                })
                .collect();
            for i in order(run) {
                if matches!(mode, UploadMode::SinglePost) && !single_post[i] {
                    results.not_applicable(
                        &label,
                        "MB/s",
                        Better::Higher,
                        i,
                        "unsupported: answers 202",
                    );
                    continue;
                }
                let t = &targets[i];
                let started = Instant::now();
                for (blob, d) in &blobs {
                    match mode {
                        UploadMode::PostPut => t.upload_post_put(REPO, blob, d).await,
                        UploadMode::Chunked => t.upload_chunked(REPO, blob, d, plan.chunk).await,
                        UploadMode::SinglePost => match t.upload_single_post(REPO, blob, d).await {
                            Ok(true) => Ok(()),
                            Ok(false) => {
                                Err(anyhow::anyhow!("answered 202 after accepting the probe"))
                            }
                            Err(e) => Err(e),
                        },
                    }
                    .with_context(|| format!("{}: {label}", t.name))?;
                }
                results.add(
                    &label,
                    "MB/s",
                    Better::Higher,
                    i,
                    mb_per_s(size * reps, started.elapsed()),
                );
            }
            if matches!(mode, UploadMode::PostPut) {
                if let Some((_, d)) = blobs.first() {
                    downloads.push((size, d.clone()));
                }
            }
        }
    }
    // Downloads are of blobs at rest: quayside (like Quay) leaves the writeback of what it just
    // received to the kernel, which would otherwise run on these two cores during quayside's
    // download timings, while distribution paid for its fsyncs inside its own upload timings.
    // Untimed.
    quiesce_disk().await;
    for (size, d) in downloads {
        let label = format!("blob download, {}", human_size(size));
        let reps = blob_reps(size, plan.download_bytes);
        // The servers (and, for its size, the bare sendfile server) take turns request by
        // request, so a change in the machine's speed during the measurement hits all alike.
        let mut spent = [Duration::ZERO; 2];
        let mut bare_spent = Duration::ZERO;
        for _ in 0..reps {
            for i in order(run) {
                let started = Instant::now();
                let n = targets[i]
                    .download(REPO, &d)
                    .await
                    .with_context(|| format!("{}: {label}", targets[i].name))?;
                spent[i] += started.elapsed();
                if n != size as u64 {
                    bail!(
                        "{}: {label}: got {n} bytes, expected {size}",
                        targets[i].name
                    );
                }
            }
            if let Some((http, c, _)) = &bare {
                if c.size == size as u64 {
                    let started = Instant::now();
                    bare_download(http, c).await?;
                    bare_spent += started.elapsed();
                }
            }
        }
        for (i, elapsed) in spent.into_iter().enumerate() {
            results.add(
                &label,
                "MB/s",
                Better::Higher,
                i,
                mb_per_s(size * reps, elapsed),
            );
        }
        if let Some((_, c, samples)) = &mut bare {
            if c.size == size as u64 {
                samples.push(mb_per_s(size * reps, bare_spent));
            }
        }
    }
    Ok(())
}

/// Requests/s of manifest GET (body read) and HEAD by tag, `conc` clients
/// in a closed loop for `plan.load` after two untimed warm-up requests each.
async fn measure_manifests(
    targets: &[Arc<Target>; 2],
    plan: &Plan,
    run: usize,
    results: &mut Results,
) -> Result<()> {
    for head in [false, true] {
        for &conc in &plan.concurrency {
            let label = format!(
                "manifest {} by tag, concurrency {conc}",
                if head { "HEAD" } else { "GET" }
            );
            for i in order(run) {
                let rps = manifest_load(&targets[i], head, conc, plan.load)
                    .await
                    .with_context(|| format!("{}: {label}", targets[i].name))?;
                results.add(&label, "req/s", Better::Higher, i, rps);
            }
        }
    }
    Ok(())
}

async fn manifest_load(t: &Arc<Target>, head: bool, conc: usize, load: Duration) -> Result<f64> {
    let barrier = Arc::new(tokio::sync::Barrier::new(conc + 1));
    let mut tasks = Vec::with_capacity(conc);
    for _ in 0..conc {
        let t = Arc::clone(t);
        let barrier = Arc::clone(&barrier);
        tasks.push(tokio::spawn(async move {
            let warm = async {
                for _ in 0..2 {
                    t.fetch_manifest(REPO, "latest", head).await?;
                }
                anyhow::Ok(())
            }
            .await;
            // Always reach the barrier, so a failed warm-up cannot hang the rest.
            barrier.wait().await;
            warm?;
            let deadline = Instant::now() + load;
            let mut n = 0u64;
            while Instant::now() < deadline {
                t.fetch_manifest(REPO, "latest", head).await?;
                n += 1;
            }
            anyhow::Ok(n)
        }));
    }
    barrier.wait().await;
    let started = Instant::now();
    let mut total = 0u64;
    let mut first_err = None;
    for task in tasks {
        match task.await.context("load task")? {
            Ok(n) => total += n,
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    let elapsed = started.elapsed();
    if let Some(e) = first_err {
        return Err(e);
    }
    Ok(total as f64 / elapsed.as_secs_f64().max(1e-9))
}

async fn measure_tags(
    targets: &[Arc<Target>; 2],
    plan: &Plan,
    run: usize,
    results: &mut Results,
) -> Result<()> {
    let label = format!("tags/list, {} tags, p50", plan.tags);
    for i in order(run) {
        let mut samples = Vec::with_capacity(plan.latency_reps);
        for _ in 0..plan.latency_reps {
            let started = Instant::now();
            let n = targets[i].list_tags(TAGS_REPO).await?;
            samples.push(started.elapsed());
            if n != plan.tags {
                bail!(
                    "{}: tags/list returned {n} tags, expected {}",
                    targets[i].name,
                    plan.tags
                );
            }
        }
        results.add(&label, "ms", Better::Lower, i, median_ms(samples));
    }
    Ok(())
}

/// quayside's `GET /api/v1/repository/<repo>` with the bench user's OAuth
/// bearer token: timed only when it answers 2xx; otherwise reported as not
/// implemented. Distribution has no such API. Two untimed requests first (the
/// first verifies the token with bcrypt; later ones hit the credential cache).
async fn measure_api(
    targets: &[Arc<Target>; 2],
    plan: &Plan,
    token: &str,
    results: &mut Results,
) -> Result<()> {
    let label = "/api/v1/repository/<repo>, p50";
    let path = format!("/api/v1/repository/{REPO}");
    let q = &targets[QUAYSIDE];
    let status = q.get_status_with(&path, token).await?;
    if (200..300).contains(&status) {
        q.get_status_with(&path, token).await?;
        let mut samples = Vec::with_capacity(plan.latency_reps);
        for _ in 0..plan.latency_reps {
            let started = Instant::now();
            let status = q.get_status_with(&path, token).await?;
            samples.push(started.elapsed());
            if !(200..300).contains(&status) {
                bail!("quayside: GET {path} answered {status} after answering 2xx");
            }
        }
        results.add(label, "ms", Better::Lower, QUAYSIDE, median_ms(samples));
    } else {
        results.not_applicable(
            label,
            "ms",
            Better::Lower,
            QUAYSIDE,
            &format!("API not implemented: {status}"),
        );
    }
    results.not_applicable(label, "ms", Better::Lower, DISTRIBUTION, "no such API");
    Ok(())
}
