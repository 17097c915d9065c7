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
