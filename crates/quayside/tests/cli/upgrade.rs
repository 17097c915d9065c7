//! `quayside migrate` over a database an older Quay wrote, as a user runs it: `--to` builds
//! the older database from the chain, the upgrade-path rules refuse the jump from two
//! releases back and name the hop, `--plan` prints the steps, offline steps need
//! `--offline`, `serve` upgrades from the previous release itself, and the upgraded registry
//! serves skopeo; an unknown revision is refused untouched.

use quayside_meta::upgrade::releases;
use quayside_meta::{with_pool, ConnectOptions, Db};

use crate::backends::prepare_quay_config;
use crate::fixtures;
use crate::harness::run;
use crate::skopeo;

fn migrate(p: &crate::backends::Prepared, extra: &[&str]) -> (bool, String, String) {
    let mut args = p.config_args();
    args.push("migrate".into());
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&refs, p.dir.path());
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn revision(db_uri: &str) -> String {
    let db = Db::connect(db_uri, &ConnectOptions::default())
        .await
        .expect("connect");
    let v: String =
        with_pool!(db, pool => sqlx::query_scalar("SELECT version_num FROM alembic_version")
        .fetch_one(pool).await)
        .expect("alembic_version");
    db.close().await;
    v
}

async fn set_revision(db_uri: &str, rev: &str) {
    let db = Db::connect(db_uri, &ConnectOptions::default())
        .await
        .expect("connect");
    with_pool!(db, pool => sqlx::query("UPDATE alembic_version SET version_num = $1")
        .bind(rev).execute(pool).await.map(|_| ()))
    .expect("stamp");
    db.close().await;
}

async fn suite(postgres: bool) {
    let current = releases::current().expect("current release");
    let (major, minor) = current.minor;
    let n1 = releases::by_name(&format!("{major}.{}", minor - 1)).expect("N-1");
    let n2 = releases::by_name(&format!("{major}.{}", minor - 2)).expect("N-2");
    let p = prepare_quay_config(postgres).await;
    let label = if postgres { "postgres" } else { "sqlite" };

    // An empty database built at Quay N-2's head from the chain.
    let (ok, out, err) = migrate(&p, &["--to", &n2.name()]);
    assert!(ok, "[{label}] {out}{err}");
    assert!(
        out.contains(&format!("created Quay schema at revision {}", n2.head)),
        "{out}"
    );
    assert_eq!(revision(&p.db_uri).await, n2.head);

    // Straight to the head is refused: the message names the version found, what is allowed
    // and the hop to take; nothing changes.
    let (ok, out, err) = migrate(&p, &[]);
    assert!(!ok, "[{label}] N-2 → head must be refused: {out}");
    assert!(err.contains(n2.head), "{err}");
    assert!(err.contains(&format!("Quay {}", n2.name())), "{err}");
    assert!(
        err.contains(&format!("may be upgraded from {}", n1.name())),
        "{err}"
    );
    assert!(
        err.contains(&format!("quayside migrate --to {}", n1.name())),
        "{err}"
    );
    assert_eq!(revision(&p.db_uri).await, n2.head);
    let (ok, _, err) = migrate(&p, &["--plan"]);
    assert!(!ok, "--plan refuses the same jump: {err}");

    // The hop: its plan lists each revision, online or offline.
    let (ok, out, err) = migrate(&p, &["--to", &n1.name(), "--plan"]);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains(&format!("to {} (Quay {})", n1.head, n1.name())),
        "{out}"
    );
    assert!(out.contains(n1.head), "{out}");
    assert_eq!(revision(&p.db_uri).await, n2.head, "--plan changed nothing");
    let offline = out.lines().filter(|l| l.contains(" offline ")).count();
    if offline > 0 {
        let (ok, _, err) = migrate(&p, &["--to", &n1.name()]);
        assert!(!ok, "offline steps need --offline");
        assert!(
            err.contains("--offline") && err.contains("nothing was changed"),
            "{err}"
        );
        assert_eq!(revision(&p.db_uri).await, n2.head);
    }
    let (ok, out, err) = migrate(&p, &["--to", &n1.name(), "--offline"]);
    assert!(ok, "[{label}] {out}{err}");
    assert!(
        out.contains(&format!("upgraded from revision {}", n2.head)),
        "{out}"
    );
    assert_eq!(revision(&p.db_uri).await, n1.head);

    // A revision nobody in the chain knows (a newer Quay): refused, untouched; the old
    // Quay's stamp put back, serve takes it from there.
    set_revision(&p.db_uri, "fedcba987654").await;
    let (ok, _, err) = migrate(&p, &[]);
    assert!(!ok);
    assert!(
        err.contains("fedcba987654") && err.contains("does not know"),
        "{err}"
    );
    assert_eq!(revision(&p.db_uri).await, "fedcba987654");
    set_revision(&p.db_uri, n1.head).await;

    // A user in the N-1 database.
    fixtures::create_user(
        &p.db_uri,
        "olduser",
        "correct-horse-battery",
        "old@example.com",
    )
    .await;

    // serve upgrades from N-1 by itself, as Quay's registry mode does, and serves.
    let db_uri = p.db_uri.clone();
    let running = p.start().await;
    assert_eq!(revision(&db_uri).await, quayside_meta::ALEMBIC_REVISION);
    assert!(
        running
            .server
            .log_text()
            .contains("upgraded the database schema"),
        "{}",
        running.server.log_text()
    );
    let client = skopeo::Client::new(&running, "olduser", "correct-horse-battery");
    skopeo::round_trip(&client, "multiarch", "latest", "upgraded", true);

    running.stop().await;
}

#[tokio::test]
async fn upgrade_from_older_quay_releases_sqlite() {
    suite(false).await;
}

#[tokio::test]
async fn upgrade_from_older_quay_releases_postgres() {
    suite(true).await;
}

async fn count(db_uri: &str, sql: &str) -> i64 {
    let db = Db::connect(db_uri, &ConnectOptions::default())
        .await
        .expect("connect");
    let n: i64 = with_pool!(db, pool => sqlx::query_scalar(sql).fetch_one(pool).await).expect(sql);
    db.close().await;
    n
}

/// `/health/dbrevision` as Quay has it (only with FEATURE_BILLING), and the `quayrelease`
/// row boot records once per (service, version, region) when QUAY_REGION is set.
#[tokio::test]
async fn dbrevision_and_quayrelease() {
    for postgres in [false, true] {
        let run = crate::backends::quay_config_env(
            postgres,
            |y| y + "FEATURE_BILLING: true\n",
            &[("QUAY_REGION", "eu-central")],
        )
        .await;
        let (code, body) = run.server.get_json("/health/dbrevision").await;
        assert_eq!(code, 200, "{body}");
        assert_eq!(body["data"]["db_revision"], quayside_meta::ALEMBIC_REVISION);
        assert_eq!(
            body["data"]["local_revision"],
            quayside_meta::ALEMBIC_REVISION
        );
        let releases = "SELECT COUNT(*) FROM quayrelease q JOIN quayregion r ON r.id = q.region_id \
                        JOIN quayservice s ON s.id = q.service_id \
                        WHERE r.name = 'eu-central' AND s.name = 'quay' AND q.version LIKE 'quayside-%'";
        assert_eq!(count(&run.db_uri, releases).await, 1, "[{}]", run.label);
        let run = run.restart().await;
        assert_eq!(
            count(&run.db_uri, releases).await,
            1,
            "restart adds no second row"
        );

        // A database another version moved: 400, naming both revisions.
        let db_uri = run.db_uri.clone();
        set_revision(&db_uri, "c3d4e5f6a7b8").await;
        let (code, body) = run.server.get_json("/health/dbrevision").await;
        assert_eq!(code, 400, "{body}");
        assert_eq!(body["data"]["db_revision"], "c3d4e5f6a7b8");
        set_revision(&db_uri, quayside_meta::ALEMBIC_REVISION).await;
        run.stop().await;
    }
    // Without FEATURE_BILLING the route does not exist.
    let run = crate::backends::quay_config_with(false, |y| y).await;
    let code = reqwest::get(format!("http://{}/health/dbrevision", run.host()))
        .await
        .expect("get")
        .status();
    assert_eq!(code, 404);
    run.stop().await;
}

/// Every column of every table, as `table.column`, from the live database.
async fn live_columns(db_uri: &str) -> std::collections::BTreeSet<String> {
    let db = Db::connect(db_uri, &ConnectOptions::default())
        .await
        .expect("connect");
    let rows: Vec<(String, String)> = match db.pool() {
        quayside_meta::Pool::Postgres(pool) => sqlx::query_as(
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema()",
        )
        .fetch_all(pool)
        .await
        .expect("columns"),
        quayside_meta::Pool::Sqlite(pool) => sqlx::query_as(
            "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'",
        )
        .fetch_all(pool)
        .await
        .expect("columns"),
    };
    db.close().await;
    rows.into_iter().map(|(t, c)| format!("{t}.{c}")).collect()
}

/// Swap back: after quayside has served and written (a user, pushes, tags, API writes, a GC
/// pass), Quay's tables have exactly Quay's columns, quayside's own state is only in
/// `quayside_*` tables, and the database is at Quay's revision with nothing left to migrate.
#[tokio::test]
async fn quayside_leaves_a_database_quay_can_take_back() {
    for postgres in [false, true] {
        let run = crate::backends::quay_config_with(postgres, |y| y).await;
        fixtures::create_user(
            &run.db_uri,
            "swap",
            "correct-horse-battery",
            "s@example.com",
        )
        .await;
        let c = skopeo::Client::new(&run, "swap", "correct-horse-battery");
        skopeo::round_trip(&c, "multiarch", "latest", "swapped", true);
        skopeo::round_trip(&c, "artifact", "v1", "swapped", false);
        let gc = ["--config-dir", run.dir.path().to_str().expect("utf8"), "gc"];
        let out = crate::harness::run(&gc, run.dir.path());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );

        let quay: std::collections::BTreeSet<String> = quayside_meta::schema::TABLES
            .iter()
            .flat_map(|t| {
                t.columns
                    .iter()
                    .map(move |c| format!("{}.{}", t.name, c.name))
            })
            .collect();
        let live = live_columns(&run.db_uri).await;
        let (ours, theirs): (Vec<&String>, Vec<&String>) =
            live.iter().partition(|c| c.starts_with("quayside_"));
        assert!(!ours.is_empty(), "quayside keeps its own tables");
        let theirs: std::collections::BTreeSet<String> = theirs.into_iter().cloned().collect();
        assert_eq!(theirs, quay, "[{}] Quay's tables changed", run.label);
        assert_eq!(revision(&run.db_uri).await, quayside_meta::ALEMBIC_REVISION);
        run.stop().await;
    }
}

/// A read-only registry never migrates: started on a database one release back, `serve`
/// refuses and names the command to run, and the database stays where it was.
#[tokio::test]
async fn a_read_only_registry_refuses_to_migrate() {
    let current = releases::current().expect("current release");
    let n1 =
        releases::by_name(&format!("{}.{}", current.minor.0, current.minor.1 - 1)).expect("N-1");
    let p = prepare_quay_config(false).await;
    let (ok, out, err) = migrate(&p, &["--to", &n1.name()]);
    assert!(ok, "{out}{err}");
    // The documented read-only key: generated, then inserted and approved.
    let dir = p.dir.path();
    let out = run(&["keys", "generate", "quay-readonly"], dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let kid = std::fs::read_to_string(dir.join("quay-readonly.kid")).expect("kid");
    let jwk = std::fs::read_to_string(dir.join("quay-readonly.jwk")).expect("jwk");
    let db = Db::connect(&p.db_uri, &ConnectOptions::default())
        .await
        .expect("connect");
    let now = chrono::Utc::now().naive_utc();
    with_pool!(db, pool => {
        sqlx::query(
            "INSERT INTO servicekey (name, service, metadata, kid, jwk, created_date, expiration_date) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind("quay-readonly")
        .bind("quay")
        .bind("{}")
        .bind(&kid)
        .bind(&jwk)
        .bind(now)
        .bind(now + chrono::Duration::days(30))
        .execute(pool)
        .await
        .map(|_| ())
    })
    .expect("insert servicekey");
    db.close().await;
    let config = dir.join("config.yaml");
    let yaml = std::fs::read_to_string(&config).expect("config");
    let yaml = yaml
        .replace(
            &format!(
                "INSTANCE_SERVICE_KEY_KID_LOCATION: {}/quay.kid",
                dir.display()
            ),
            &format!(
                "INSTANCE_SERVICE_KEY_KID_LOCATION: {}/quay-readonly.kid",
                dir.display()
            ),
        )
        .replace(
            &format!("INSTANCE_SERVICE_KEY_LOCATION: {}/quay.pem", dir.display()),
            &format!(
                "INSTANCE_SERVICE_KEY_LOCATION: {}/quay-readonly.pem",
                dir.display()
            ),
        );
    std::fs::write(&config, format!("{yaml}REGISTRY_STATE: readonly\n")).expect("write");

    let port = crate::harness::free_port().to_string();
    let out = run(
        &[
            "--config-dir",
            dir.to_str().expect("utf8"),
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ],
        dir,
    );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("read-only registry does not migrate") && text.contains(n1.head),
        "{text}"
    );
    assert_eq!(revision(&p.db_uri).await, n1.head, "nothing was migrated");
}
