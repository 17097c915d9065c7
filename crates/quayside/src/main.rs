//! The `quayside` binary: parses the command line and hands over to
//! `quayside-app`. Every role (server, migrations, config checks) is one
//! subcommand of one binary, as every Quay role runs from one image.

use std::path::PathBuf;
use std::process::ExitCode;

mod mirror;
use clap::{Parser, Subcommand};
use quayside_app::bootstrap::{self, Resolved, Source};
use quayside_app::{checks, listen, server, tls};
use quayside_config::{EnvOverrides, ValidationFailure};
use quayside_meta::{upgrade, Db, MigrateOutcome, SchemaState, ALEMBIC_REVISION};

/// jemalloc keeps freed pages for reuse instead of handing every large buffer back to the
/// kernel: with the system allocator, each ~400 KiB request-body buffer of a blob upload was
/// a fresh `mmap` (page faults and zeroing) and a `munmap` (docs/PERFORMANCE.md).
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser, Debug)]
#[command(
    name = "quayside",
    version,
    about = "A container registry that is a drop-in replacement for Red Hat Quay"
)]
struct Cli {
    /// Quay config directory holding config.yaml (Quay's /conf/stack). Without
    /// it, ./conf/stack is used when it has a config.yaml, else the embedded default.
    #[arg(long, global = true, env = "QUAYSIDE_CONFIG_DIR")]
    config_dir: Option<PathBuf>,

    /// Data directory of the embedded default (SQLite database, blobs, secrets).
    #[arg(long, global = true, env = "QUAYSIDE_DATA_DIR", default_value = bootstrap::DEFAULT_DATA_DIR)]
    data_dir: PathBuf,

    /// Address to listen on. For the embedded default it also sets SERVER_HOSTNAME.
    #[arg(long, global = true, env = "QUAYSIDE_LISTEN")]
    listen: Option<String>,

    /// Where Prometheus scrapes `/metrics` (Quay's port 9091); `off` disables it.
    #[arg(
        long,
        global = true,
        env = "QUAYSIDE_METRICS_LISTEN",
        default_value = "0.0.0.0:9091"
    )]
    metrics_listen: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the registry and API server (migrates the database first).
    Serve {
        /// Do not migrate; refuse to start unless the schema is already current
        /// (Quay's registry-nomigrate).
        #[arg(long)]
        no_migrate: bool,
        /// Do not run the background workers (GC, repository/namespace purges, upload
        /// cleanup) in this process; run them elsewhere with `quayside worker <name>`.
        #[arg(long, env = "QUAYSIDE_NO_WORKERS")]
        no_workers: bool,
    },
    /// Run one background worker in the foreground: gc, repositorygc, namespacegc,
    /// blobuploadcleanup, storagereplication.
    Worker {
        /// The worker (Quay's program name, e.g. gcworker, works too).
        name: String,
        /// Run once now and exit, instead of at the worker's period forever.
        #[arg(long)]
        once: bool,
    },
    /// Garbage-collect now: one pass of the gc worker over every repository.
    Gc {
        /// Only report what would be deleted (tags, manifests, blobs, bytes).
        #[arg(long)]
        dry_run: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Bring the database schema to Quay's Alembic head (or `--to` an older revision),
    /// running Quay's migration chain on a database an older Quay wrote.
    Migrate {
        /// Print the revisions that would run, and which need `--offline`, without running.
        #[arg(long)]
        plan: bool,
        /// Stop at this revision or Quay release (e.g. `3.9`) instead of the head.
        #[arg(long, value_name = "REVISION|RELEASE")]
        to: Option<String>,
        /// Allow revisions that are unsafe while an older version still serves this
        /// database (drops, type changes, renames); stop the old version first.
        #[arg(long)]
        offline: bool,
    },
    /// Back up the registry while it serves: a database dump (pg_dump on PostgreSQL, a
    /// consistent copy on SQLite), the config bundle and, with --with-blobs, every blob.
    Backup {
        /// A new (or empty) directory, or `s3://bucket/prefix` (credentials from
        /// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, endpoint from AWS_ENDPOINT_URL).
        #[arg(long, value_name = "DIR|s3://BUCKET/PREFIX")]
        to: String,
        /// Also copy every stored blob the database references.
        #[arg(long)]
        with_blobs: bool,
        /// Hash each blob while copying and refuse one that does not match its digest.
        #[arg(long)]
        verify_blobs: bool,
    },
    /// Restore a backup into this configuration's empty database and storage, then check
    /// that every manifest's blobs are present.
    Restore {
        /// The backup: a directory or `s3://bucket/prefix`.
        #[arg(long, value_name = "DIR|s3://BUCKET/PREFIX")]
        from: String,
        /// Also hash every blob and compare it with its digest.
        #[arg(long)]
        verify_blobs: bool,
    },
    /// Storage locations and geo-replication (Quay's util/backfillreplication.py and
    /// util/removelocation.py).
    Storage {
        #[command(subcommand)]
        command: StorageCommand,
    },
    /// Configuration commands.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Copy images from upstream registries into a quayside namespace for disconnected
    /// clusters, and write the ImageContentSourcePolicy, ImageDigestMirrorSet and
    /// registries.conf that point a cluster at the mirror. Blobs already mirrored are
    /// skipped, so running it again resumes.
    Mirror {
        /// An image to copy: REGISTRY/PATH:TAG or REGISTRY/PATH@sha256:... (repeatable).
        #[arg(long = "image", value_name = "REF")]
        images: Vec<String>,
        /// A file of images, one per line (the last field of each line; blank lines and
        /// `#` comments are skipped).
        #[arg(long, value_name = "FILE")]
        images_file: Option<PathBuf>,
        /// Where to: the quayside HOST[:PORT]/NAMESPACE.
        #[arg(long, value_name = "HOST/NAMESPACE")]
        to: String,
        /// Credentials for the upstream registries.
        #[arg(long, value_name = "USER:PASSWORD", env = "QUAYSIDE_MIRROR_SRC_CREDS")]
        src_creds: Option<String>,
        /// Credentials for quayside (a user, or a robot and its token).
        #[arg(long, value_name = "USER:PASSWORD", env = "QUAYSIDE_MIRROR_DEST_CREDS")]
        dest_creds: Option<String>,
        /// Verify the upstreams' TLS certificates (false also allows plain HTTP).
        #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set,
              num_args = 0..=1, default_missing_value = "true")]
        src_tls_verify: bool,
        /// Verify quayside's TLS certificate (false also allows plain HTTP).
        #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set,
              num_args = 0..=1, default_missing_value = "true")]
        dest_tls_verify: bool,
        /// Where to write the mapping files.
        #[arg(long, value_name = "DIR", default_value = "quayside-mirror")]
        output_dir: PathBuf,
        /// The name of the ImageContentSourcePolicy and ImageDigestMirrorSet objects.
        #[arg(long, default_value = "quayside-mirror")]
        name: String,
    },
    /// Print the version and the Quay schema revision.
    Version,
    /// Service keys (Quay's tools/generatekeypair.py).
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Subcommand, Debug)]
enum StorageCommand {
    /// Queue every blob that a required location (DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS and
    /// the namespace's regions) lacks, for the storagereplication worker; run after adding a
    /// location.
    BackfillReplication,
    /// Forget a location: its in-progress uploads, every placement in it and its row. Run
    /// after removing it from DISTRIBUTED_STORAGE_CONFIG, with pushes disabled or read-only.
    RemoveLocation {
        /// The location id (an imagestoragelocation name).
        location: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Subcommand, Debug)]
enum KeysCommand {
    /// Write <name>.jwk (public JWK), <name>.kid (key ID) and <name>.pem (PKCS#1
    /// private key, mode 0600), e.g. for a read-only registry's service key.
    Generate {
        /// File name prefix, e.g. quay-readonly.
        name: String,
        /// Directory to write into (default: the current directory).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Replace existing files of the same name.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand, Debug)]
enum ConfigCommand {
    /// Run every configuration check and print all failures.
    Check,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("QUAYSIDE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("JSONLOG").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Command::Version => {
            println!("quayside {}", env!("CARGO_PKG_VERSION"));
            println!("quay schema revision {ALEMBIC_REVISION}");
            if let Some(release) = upgrade::releases::current() {
                println!(
                    "quay release {} (upgrades databases of Quay {} and, hop by hop, back to {})",
                    release.name(),
                    upgrade::releases::RELEASES
                        .iter()
                        .filter(|r| r.minor < release.minor
                            && upgrade::releases::direct(r.minor, release.minor))
                        .map(|r| r.name())
                        .collect::<Vec<_>>()
                        .join(", "),
                    upgrade::releases::RELEASES
                        .first()
                        .map(|r| r.name())
                        .unwrap_or_default()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Config {
            command: ConfigCommand::Check,
        } => {
            let (resolved, _) = resolve(&cli)?;
            let failures = checks::check_all(&resolved).await;
            if failures.is_empty() {
                println!("Configuration is valid.");
                Ok(ExitCode::SUCCESS)
            } else {
                report(&failures);
                Ok(ExitCode::FAILURE)
            }
        }
        Command::Migrate { plan, to, offline } => {
            let (resolved, _) = resolve(&cli)?;
            let db = connect(&resolved).await?;
            let secrets = upgrade_secrets(&resolved.config)?;
            migrate(&db, to.as_deref(), *plan, *offline, secrets.as_ref()).await
        }
        Command::Serve {
            no_migrate,
            no_workers,
        } => serve(&cli, *no_migrate, *no_workers).await,
        Command::Worker { name, once } => worker(&cli, name, *once).await,
        Command::Gc { dry_run, json } => gc(&cli, *dry_run, *json).await,
        Command::Mirror {
            images,
            images_file,
            to,
            src_creds,
            dest_creds,
            src_tls_verify,
            dest_tls_verify,
            output_dir,
            name,
        } => {
            let ok = mirror::run(mirror::MirrorArgs {
                images: images.clone(),
                images_file: images_file.clone(),
                to: to.clone(),
                src_creds: src_creds.clone(),
                dest_creds: dest_creds.clone(),
                src_tls_verify: *src_tls_verify,
                dest_tls_verify: *dest_tls_verify,
                output_dir: output_dir.clone(),
                name: name.clone(),
            })
            .await?;
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Storage { command } => storage(&cli, command).await,
        Command::Backup {
            to,
            with_blobs,
            verify_blobs,
        } => {
            let (resolved, _) = resolve(&cli)?;
            let opts = quayside_backup::BackupOptions {
                with_blobs: *with_blobs,
                verify_blobs: *verify_blobs,
            };
            match quayside_backup::backup(&resolved, to, &opts).await {
                Ok(info) => {
                    println!(
                        "backup written to {}: {} database at revision {}, {} config file(s){}",
                        to,
                        info.backend,
                        info.alembic_revision,
                        info.config_files.len(),
                        match (info.blobs, info.blob_bytes) {
                            (Some(n), Some(b)) => format!(", {n} blob(s), {b} bytes"),
                            _ => ", no blobs (use --with-blobs)".to_string(),
                        }
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("quayside backup: {e}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Restore { from, verify_blobs } => {
            let (resolved, _) = resolve(&cli)?;
            let opts = quayside_backup::RestoreOptions {
                verify_blobs: *verify_blobs,
            };
            match quayside_backup::restore(&resolved, from, &opts).await {
                Ok((info, check)) if check.problems.is_empty() => {
                    println!(
                        "restored {} (revision {}); verified {} blob(s){}: all present",
                        from,
                        info.alembic_revision,
                        check.blobs_checked,
                        if *verify_blobs {
                            " and their digests"
                        } else {
                            ""
                        }
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Ok((_, check)) => {
                    eprintln!(
                        "quayside restore: restored {}, but {} problem(s) found:",
                        from,
                        check.problems.len()
                    );
                    for p in &check.problems {
                        eprintln!("  {p}");
                    }
                    Ok(ExitCode::FAILURE)
                }
                Err(e) => {
                    eprintln!("quayside restore: {e}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Keys {
            command: KeysCommand::Generate { name, dir, force },
        } => {
            let name = name.clone();
            let dir = dir.clone();
            let force = *force;
            tokio::task::spawn_blocking(move || {
                quayside_auth::keygen::generate_key_pair(dir.as_deref(), &name, force, |line| {
                    println!("{line}")
                })
            })
            .await??;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The configuration, plus the address the embedded default listens on (a Quay
/// config directory's listeners are decided by [`listen::for_config`] once the
/// configuration has passed its checks).
fn resolve(cli: &Cli) -> anyhow::Result<(Resolved, Option<std::net::SocketAddr>)> {
    let source = bootstrap::choose_source(cli.config_dir.as_deref(), &cli.data_dir);
    let env = EnvOverrides::from_process_env();
    match source {
        Source::Embedded(_) => {
            let listen = cli.listen.as_deref().unwrap_or(bootstrap::DEFAULT_LISTEN);
            let (addr, hostname) = bootstrap::parse_listen(listen)?;
            Ok((bootstrap::resolve(&source, &hostname, &env)?, Some(addr)))
        }
        Source::ConfigDir(_) => Ok((bootstrap::resolve(&source, "", &env)?, None)),
    }
}

async fn connect(resolved: &Resolved) -> anyhow::Result<Db> {
    let config = &resolved.config;
    Ok(Db::connect(&config.db_uri, &checks::connect_options(config)).await?)
}

fn report(failures: &[ValidationFailure]) {
    eprintln!("{}", quayside_config::render_table(failures));
    eprintln!(
        "{} configuration problem{} found.",
        failures.len(),
        if failures.len() == 1 { "" } else { "s" }
    );
}

/// The keys Quay's credential migrations encrypt with, when the config has them.
fn upgrade_secrets(
    config: &quayside_config::Config,
) -> anyhow::Result<Option<quayside_auth::secret::UpgradeSecrets>> {
    let Some(key) = config.database_secret_key.as_deref() else {
        return Ok(None);
    };
    Ok(Some(quayside_auth::secret::UpgradeSecrets::new(
        key,
        config.secret_key.as_deref(),
    )?))
}

/// `quayside migrate`: plan from the database's revision to the target under the
/// upgrade-path rules, print or run it. Refusals change nothing and exit 1.
async fn migrate(
    db: &Db,
    to: Option<&str>,
    print_plan: bool,
    offline: bool,
    secrets: Option<&quayside_auth::secret::UpgradeSecrets>,
) -> anyhow::Result<ExitCode> {
    let target = match to {
        Some(t) => upgrade::Target::Named(t.to_string()),
        None => upgrade::Target::Head,
    };
    let found = match db.schema_state().await? {
        SchemaState::Empty => None,
        SchemaState::AtHead => Some(ALEMBIC_REVISION.to_string()),
        SchemaState::OtherRevision(rev) => Some(rev),
        SchemaState::NotQuay => {
            // The strict path words this refusal.
            db.migrate().await?;
            return Ok(ExitCode::FAILURE);
        }
    };
    let plan = match upgrade::plan(found.as_deref(), &target) {
        Ok(plan) => plan,
        Err(e) => {
            eprintln!("quayside migrate: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let offline_steps = plan.offline_steps();
    if print_plan {
        print!("{}", plan.render());
        if !offline_steps.is_empty() {
            println!(
                "{} step(s) are offline: stop every Quay or quayside serving this database, then run `quayside migrate{} --offline`",
                offline_steps.len(),
                to.map(|t| format!(" --to {t}")).unwrap_or_default()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    match (&plan.from, plan.target == ALEMBIC_REVISION) {
        (None, true) => {
            db.migrate().await?;
            println!("created Quay schema at revision {ALEMBIC_REVISION}");
            return Ok(ExitCode::SUCCESS);
        }
        (Some(from), true) if plan.steps.is_empty() => {
            db.migrate().await?;
            println!("schema already at revision {from}");
            return Ok(ExitCode::SUCCESS);
        }
        (Some(from), false) if plan.steps.is_empty() => {
            println!("schema already at revision {from}");
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    if !offline_steps.is_empty() && !offline {
        eprintln!(
            "quayside migrate: {} of the {} revision(s) are not safe while an older version still serves this database:",
            offline_steps.len(),
            plan.steps.len()
        );
        for m in &offline_steps {
            eprintln!("  {}  {}", m.revision, m.title);
        }
        eprintln!(
            "stop every Quay or quayside serving it, then run again with --offline (nothing was changed)"
        );
        return Ok(ExitCode::FAILURE);
    }
    let secrets = secrets.map(|s| s as &dyn upgrade::Secrets);
    // Without --offline the old version may still serve: build indexes concurrently.
    let plan = if offline { plan } else { plan.online() };
    let report = db.upgrade(&plan, secrets).await?;
    match &plan.from {
        None => println!("created Quay schema at revision {}", report.at),
        Some(from) => println!(
            "upgraded from revision {from} to {}: {} revision(s) applied",
            report.at,
            report.applied.len()
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// Connects for a standalone worker: the schema must be current (no migration here).
async fn worker_context(cli: &Cli) -> anyhow::Result<quayside_workers::WorkerContext> {
    let (resolved, _) = resolve(cli)?;
    let db = connect(&resolved).await?;
    match db.schema_state().await? {
        // At Quay's revision `migrate` only ensures quayside's own tables (the worker lease).
        SchemaState::AtHead => {
            db.migrate().await?;
        }
        other => anyhow::bail!(
            "the database schema is not at Quay revision {ALEMBIC_REVISION} ({other:?}); run `quayside migrate` first"
        ),
    }
    Ok(quayside_app::workers::standalone_context(
        &resolved.config,
        db,
    )?)
}

async fn worker(cli: &Cli, name: &str, once: bool) -> anyhow::Result<ExitCode> {
    let Some(worker) = quayside_workers::find(name) else {
        let names: Vec<&str> = quayside_workers::ALL.iter().map(|w| w.name()).collect();
        anyhow::bail!("unknown worker {name:?}; workers: {}", names.join(", "));
    };
    let ctx = worker_context(cli).await?;
    if once {
        let outcome = quayside_workers::run_once(&ctx, worker).await?;
        println!("{}: {outcome:?}", worker.name());
        return Ok(ExitCode::SUCCESS);
    }
    tokio::select! {
        _ = quayside_workers::run_forever(ctx, worker) => {}
        _ = server::shutdown_signal() => {}
    }
    Ok(ExitCode::SUCCESS)
}

async fn storage(cli: &Cli, command: &StorageCommand) -> anyhow::Result<ExitCode> {
    let ctx = worker_context(cli).await?;
    if !ctx.settings.storage_replication {
        let msg = match command {
            StorageCommand::BackfillReplication => "Storage replication is not enabled",
            StorageCommand::RemoveLocation { .. } => "Storage replication is not enabled. Exiting.",
        };
        eprintln!("{msg}");
        return Ok(ExitCode::FAILURE);
    }
    match command {
        StorageCommand::BackfillReplication => {
            let n = quayside_workers::replication::backfill(
                &ctx.db,
                &ctx.settings.default_locations,
                |line| println!("{line}"),
            )
            .await?;
            println!("queued {n} blobs for replication");
            Ok(ExitCode::SUCCESS)
        }
        StorageCommand::RemoveLocation { location, yes } => {
            if !(ctx.live.disable_pushes() || ctx.live.read_only()) {
                eprintln!("Pushes are not disabled. Exiting.");
                return Ok(ExitCode::FAILURE);
            }
            if !yes {
                println!(
                    "WARNING: This is a destructive operation. Are you sure you want to remove \
                     {location} from your storage locations? [y/n]"
                );
                let mut answer = String::new();
                std::io::stdin().read_line(&mut answer)?;
                if !answer.trim().eq_ignore_ascii_case("y") {
                    println!("Canceling operation...");
                    return Ok(ExitCode::FAILURE);
                }
            }
            match ctx.db.remove_storage_location(location).await {
                Ok(removed) => {
                    if !removed.location {
                        eprintln!("Error removing storage location: no location named {location}");
                        return Ok(ExitCode::FAILURE);
                    }
                    println!(
                        "Removed {} temporary blobs from blobupload table.",
                        removed.uploads
                    );
                    for id in &removed.placements {
                        println!("Deleted placement {id}");
                    }
                    println!("Deleted location {location}");
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("Error removing storage location: {e}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}

async fn gc(cli: &Cli, dry_run: bool, json: bool) -> anyhow::Result<ExitCode> {
    use quayside_workers::gc;
    let ctx = worker_context(cli).await?;
    let clock = gc::GcClock::now(ctx.settings.immutable_can_expire);
    if dry_run {
        let plan = gc::plan(&ctx.db, &clock).await?;
        let report = plan.report(&ctx.storage);
        if json {
            println!(
                "{}",
                serde_json::json!({"dry_run": true, "report": report, "plan": plan})
            );
        } else {
            print!("{}", plan.render(&ctx.storage));
            println!("dry run: nothing was deleted");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let lease = quayside_workers::LeaseLock::new(
        ctx.db.clone(),
        quayside_workers::Worker::quay_name(&quayside_workers::gc::GcWorker),
        &ctx.instance,
        ctx.settings.lease,
    );
    if !lease.acquire().await? {
        anyhow::bail!("another instance is collecting garbage right now; try again later");
    }
    let result = gc::run_pass(&ctx.db, &ctx.storage, &clock).await;
    lease.release().await?;
    let (plan, outcome) = result?;
    if json {
        println!(
            "{}",
            serde_json::json!({"dry_run": false, "report": outcome.report, "rows": outcome.rows, "plan": plan})
        );
    } else {
        print!("{}", plan.render(&ctx.storage));
        let r = outcome.report;
        println!(
            "deleted: {} repositories, {} tags, {} manifests, {} labels, {} uploaded blob links, {} blobs, {} objects, {} bytes",
            r.repositories, r.tags, r.manifests, r.labels, r.uploaded_blobs, r.blobs, r.objects, r.bytes
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn serve(cli: &Cli, no_migrate: bool, no_workers: bool) -> anyhow::Result<ExitCode> {
    let (resolved, embedded_addr) = resolve(cli)?;
    match &resolved.source {
        Source::Embedded(dir) => {
            tracing::info!(data_dir = %dir.display(), "running on the embedded default")
        }
        Source::ConfigDir(dir) => {
            tracing::info!(config_dir = %dir.display(), "using Quay config directory")
        }
    }
    let failures = checks::check_all_with(&resolved, true).await;
    if !failures.is_empty() {
        report(&failures);
        eprintln!("quayside will not start until the configuration is fixed.");
        return Ok(ExitCode::FAILURE);
    }
    let config = &resolved.config;
    let db = connect(&resolved).await?;
    if no_migrate {
        match db.schema_state().await? {
            SchemaState::AtHead => {}
            other => anyhow::bail!(
                "--no-migrate: the database schema is not at Quay revision {ALEMBIC_REVISION} ({other:?}); run `quayside migrate` first"
            ),
        }
    } else {
        // Quay's registry mode migrates at every start; so does serve, under the same
        // upgrade-path rules as `quayside migrate` (offline steps included).
        if let SchemaState::OtherRevision(found) = db.schema_state().await? {
            if config.is_readonly() {
                anyhow::bail!(
                    "the database is at Quay revision {found}, not {ALEMBIC_REVISION}, and a \
                     read-only registry does not migrate it; run `quayside migrate` first"
                );
            }
            let plan = upgrade::plan(Some(&found), &upgrade::Target::Head)?;
            let secrets = upgrade_secrets(config)?;
            let report = db
                .upgrade(&plan, secrets.as_ref().map(|s| s as &dyn upgrade::Secrets))
                .await?;
            tracing::info!(
                from = %found,
                to = %report.at,
                revisions = report.applied.len(),
                "upgraded the database schema"
            );
        }
        match db.migrate().await? {
            MigrateOutcome::Created => {
                tracing::info!("created Quay schema at revision {ALEMBIC_REVISION}")
            }
            MigrateOutcome::AlreadyAtHead => {
                tracing::info!("database schema already at Quay revision {ALEMBIC_REVISION}")
            }
        }
    }
    // Quay's boot records its release per region when QUAY_REGION is set.
    if let Ok(region) = std::env::var("QUAY_REGION") {
        if !region.is_empty() && !config.is_readonly() {
            let version = format!("quayside-{}", env!("CARGO_PKG_VERSION"));
            if db.record_release("quay", &region, &version).await? {
                tracing::info!(%region, %version, "recorded quayrelease");
            }
        }
    }
    let location_ids: Vec<String> = config.distributed_storage_config.keys().cloned().collect();
    db.sync_storage_locations(&location_ids).await?;
    let state = quayside_app::assemble::assemble(&resolved, db.clone())
        .await?
        .with_http(tls::outbound_client(config)?);
    if config.feature("USER_INITIALIZE") && db.count_accounts().await? == 0 {
        tracing::info!(
            "no users yet: create the first one with curl -X POST {}://{}/api/v1/user/initialize -H 'Content-Type: application/json' -d '{{\"username\": \"quayadmin\", \"password\": \"<at least 8 characters>\", \"email\": \"quayadmin@example.com\", \"access_token\": true}}'",
            config.preferred_url_scheme,
            config.server_hostname
        );
    }
    let tls_config = if tls::serves_tls(config) {
        match tls::server_files(config) {
            Some((cert, key)) => Some(tls::server_config(&cert, &key)?),
            None => anyhow::bail!("PREFERRED_URL_SCHEME is https but there is no config directory holding ssl.cert and ssl.key"),
        }
    } else {
        None
    };
    let specs = match embedded_addr {
        Some(addr) => vec![listen::explicit(addr, None)],
        None => listen::for_config(config, cli.listen.as_deref())?,
    };
    let mut listeners = Vec::new();
    for l in listen::bind_all(&specs)? {
        listeners.push(match &tls_config {
            Some(c) => server::Bound::Tls(tls::TlsListener::new(l, c.clone())?),
            None => server::Bound::Plain(l),
        });
    }
    let metrics_server = match cli.metrics_listen.as_str() {
        "off" => None,
        value => {
            let (addr, _) = bootstrap::parse_listen(value)?;
            let listener = server::bind(addr).await?;
            tracing::info!(addr = %listener.local_addr()?, "metrics listening (GET /metrics)");
            let router = quayside_metrics::router(state.v2.metrics.clone());
            Some(tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, router).await {
                    tracing::error!(error = %e, "metrics listener stopped");
                }
            }))
        }
    };
    let stats = quayside_app::stats::spawn(
        db.clone(),
        state.v2.metrics.clone(),
        std::time::Duration::from_secs(
            config
                .get("GLOBAL_PROMETHEUS_STATS_FREQUENCY")
                .and_then(|v| v.as_u64())
                .unwrap_or(3600),
        ),
    );
    let reload = tokio::spawn(quayside_app::reload::on_sighup(
        resolved.source.clone(),
        state.settings.live.clone(),
    ));
    let refresh = (!config.is_readonly()).then(|| {
        server::spawn_instance_key_refresh(
            state.v2.auth.clone(),
            std::time::Duration::from_secs(config.instance_service_key_refresh.saturating_mul(60)),
            state.settings.live.clone(),
        )
    });
    let workers = if no_workers {
        Vec::new()
    } else {
        quayside_app::workers::spawn(&state, config)
    };
    let served = server::serve_all(listeners, state, server::shutdown_signal()).await;
    for task in workers {
        task.abort();
    }
    if let Some(task) = refresh {
        task.abort();
    }
    for task in [Some(stats), Some(reload), metrics_server]
        .into_iter()
        .flatten()
    {
        task.abort();
    }
    served?;
    Ok(ExitCode::SUCCESS)
}
