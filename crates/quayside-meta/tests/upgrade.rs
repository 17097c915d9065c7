//! Quay's migration chain on real databases, both backends: a database created at each Quay
//! release's head upgrades to the head with exactly the schema a fresh install has; a
//! database filled with a row in every table at the oldest release keeps every row through
//! the whole chain; refusals leave the database untouched.

mod introspect;

use std::collections::{BTreeMap, BTreeSet};

use introspect::introspect;
use quayside_meta::schema::{ColType, Dialect};
use quayside_meta::upgrade::model::{Model, TableModel};
use quayside_meta::upgrade::{self, releases, PlanError, Target, CHAIN};
use quayside_meta::{with_pool, Backend, Db, SchemaState, ALEMBIC_REVISION};
use quayside_testkit::{backends, TestDb};

/// Readable stand-ins for Quay's field encryption and bcrypt, so the tests can see what the
/// credential backfills wrote (the binary's tests use the real ones).
struct Plain;

impl upgrade::Secrets for Plain {
    fn encrypt(&self, plain: &str) -> String {
        format!("enc({plain})")
    }
    fn decrypts(&self, stored: &str) -> bool {
        stored.starts_with("enc(")
    }
    fn reencrypt_legacy(&self, stored: &str) -> Option<String> {
        stored
            .strip_prefix("old(")
            .and_then(|s| s.strip_suffix(')'))
            .map(|p| self.encrypt(p))
    }
    fn hash(&self, plain: &str) -> Option<String> {
        Some(format!("hash({plain})"))
    }
}

async fn exec(db: &Db, sql: &str) {
    with_pool!(db, pool => sqlx::query(sql).execute(pool).await.map(|_| ()))
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Creates the schema of `revision` on an empty database, from the chain.
async fn create_at(db: &Db, revision: &str) {
    let plan = upgrade::plan(None, &Target::Named(revision.to_string())).expect("plan create");
    let report = db
        .upgrade(&plan, Some(&Plain))
        .await
        .expect("create at revision");
    assert!(report.created);
    assert_eq!(
        db.schema_state().await.expect("state"),
        if revision == ALEMBIC_REVISION {
            SchemaState::AtHead
        } else {
            SchemaState::OtherRevision(revision.to_string())
        }
    );
}

/// Upgrades hop by hop along the release path (each hop allowed by the rules) to the head.
async fn upgrade_to_head(db: &Db, from_release: &releases::Release) -> Vec<&'static str> {
    let current = releases::current().expect("current release");
    let mut applied = Vec::new();
    let mut hops: Vec<Target> = releases::path(from_release, current)
        .into_iter()
        .map(|r| Target::Named(r.name()))
        .collect();
    hops.push(Target::Head);
    for hop in hops {
        let found = match db.schema_state().await.expect("state") {
            SchemaState::OtherRevision(r) => r,
            SchemaState::AtHead => ALEMBIC_REVISION.to_string(),
            other => panic!("unexpected state {other:?}"),
        };
        let plan = upgrade::plan(Some(&found), &hop).expect("hop allowed");
        let report = db.upgrade(&plan, Some(&Plain)).await.expect("upgrade hop");
        applied.extend(report.applied);
    }
    applied
}

/// Seed facts without ids: a database that went through the chain numbers lookup rows in
/// the order Quay's revisions inserted them; quayside looks them up by name.
fn without_seed_ids(facts: BTreeSet<String>) -> BTreeSet<String> {
    facts
        .into_iter()
        .map(|f| match f.strip_prefix("seed ") {
            Some(rest) => {
                let mut parts = rest.splitn(3, ' ');
                let (t, _id, name) = (parts.next(), parts.next(), parts.next());
                format!("seed {} {}", t.unwrap_or(""), name.unwrap_or(""))
            }
            None => f,
        })
        .collect()
}

fn diff(a: &BTreeSet<String>, b: &BTreeSet<String>) -> String {
    let mut s = String::new();
    for l in a.difference(b) {
        s.push_str(&format!("- {l}\n"));
    }
    for l in b.difference(a) {
        s.push_str(&format!("+ {l}\n"));
    }
    s
}

#[test]
fn chain_links_from_the_oldest_release_to_the_head() {
    assert_eq!(CHAIN.last().map(|m| m.revision), Some(ALEMBIC_REVISION));
    for pair in CHAIN.windows(2) {
        assert_eq!(
            pair[1].down_revision,
            Some(pair[0].revision),
            "{} does not follow {}",
            pair[1].revision,
            pair[0].revision
        );
    }
    let oldest = releases::RELEASES.first().expect("releases");
    assert!(upgrade::position(oldest.head).is_some(), "{:?}", oldest);
    for r in releases::RELEASES {
        assert!(
            upgrade::position(r.head).is_some(),
            "release {} head {} not in the chain",
            r.name(),
            r.head
        );
    }
    assert_eq!(releases::current().map(|r| r.head), Some(ALEMBIC_REVISION));
}

#[test]
fn every_revision_derives_and_replays_to_the_head() {
    let base = CHAIN.first().expect("chain").revision;
    let mut model = Model::at(CHAIN, base).unwrap_or_else(|e| panic!("{e}"));
    for m in &CHAIN[1..] {
        model.apply(m).unwrap_or_else(|e| panic!("{e}"));
        Model::at(CHAIN, m.revision).unwrap_or_else(|e| panic!("{e}"));
    }
    let head = Model::head();
    let names = |m: &Model| {
        m.tables
            .iter()
            .map(|t| t.name.clone())
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(names(&model), names(&head));
    for t in &head.tables {
        let r = model.table(&t.name).expect("table");
        let set = |t: &TableModel| {
            (
                t.columns
                    .iter()
                    .map(|c| format!("{c:?}"))
                    .collect::<BTreeSet<_>>(),
                t.indexes
                    .iter()
                    .map(|c| format!("{c:?}"))
                    .collect::<BTreeSet<_>>(),
                t.fks
                    .iter()
                    .map(|c| format!("{c:?}"))
                    .collect::<BTreeSet<_>>(),
            )
        };
        assert_eq!(set(r), set(t), "table {}", t.name);
    }
    let lookups = |m: &Model| {
        m.lookups
            .iter()
            .map(|(t, v)| (t.clone(), v.iter().cloned().collect::<BTreeSet<_>>()))
            .collect::<BTreeMap<_, _>>()
    };
    assert_eq!(lookups(&model), lookups(&head));
}

#[test]
fn upgrade_path_rules() {
    let current = releases::current().expect("current");
    let (major, minor) = current.minor;
    // N-1 goes straight; N-2 does not (no exception names the current release).
    assert!(releases::direct((major, minor - 1), current.minor));
    assert!(!releases::direct((major, minor - 2), current.minor));
    // The guide's named exceptions.
    assert!(releases::direct((3, 3), (3, 6)));
    assert!(releases::direct((3, 4), (3, 7)));
    assert!(releases::direct((3, 5), (3, 7)));
    assert!(!releases::direct((3, 3), (3, 7)));
    assert!(!releases::direct((3, 2), (3, 6)));
    // 3.0 → 3.5 goes one release at a time, as the guide lists it.
    let (r30, r35) = (
        releases::by_name("3.0").expect("3.0"),
        releases::by_name("3.5").expect("3.5"),
    );
    let path: Vec<String> = releases::path(r30, r35).iter().map(|r| r.name()).collect();
    assert_eq!(path, ["3.1", "3.2", "3.3", "3.4", "3.5"]);
    // 3.3 → 3.7 uses the 3.3 → 3.6 exception.
    let path: Vec<String> = releases::path(
        releases::by_name("3.3").expect("3.3"),
        releases::by_name("3.7").expect("3.7"),
    )
    .iter()
    .map(|r| r.name())
    .collect();
    assert_eq!(path, ["3.6", "3.7"]);

    // A plan from two releases back is refused, naming what was found, what is allowed and
    // the release to go through.
    let older = releases::RELEASES
        .iter()
        .find(|r| r.minor == (major, minor - 2))
        .expect("N-2");
    let err = upgrade::plan(Some(older.head), &Target::Head).expect_err("refused");
    let PlanError::Unsupported { ref path, .. } = err else {
        panic!("{err:?}");
    };
    assert_eq!(path.len(), 2);
    let msg = err.to_string();
    assert!(msg.contains(older.head), "{msg}");
    assert!(msg.contains(&format!("Quay {}", older.name())), "{msg}");
    assert!(msg.contains(&format!("{major}.{}", minor - 1)), "{msg}");
    assert!(
        msg.contains(&format!("quayside migrate --to {major}.{}", minor - 1)),
        "{msg}"
    );

    // Unknown revisions and targets, and downgrades, are refused.
    assert!(matches!(
        upgrade::plan(Some("0123456789ab"), &Target::Head),
        Err(PlanError::UnknownRevision(_))
    ));
    assert!(matches!(
        upgrade::plan(None, &Target::Named("nope".into())),
        Err(PlanError::UnknownTarget(_))
    ));
    assert!(matches!(
        upgrade::plan(Some(ALEMBIC_REVISION), &Target::Named(older.head.into())),
        Err(PlanError::Backwards { .. })
    ));
}

#[tokio::test]
async fn every_release_upgrades_to_the_schema_of_a_fresh_install() {
    for backend in backends() {
        let fresh = TestDb::new(backend).await;
        let want = without_seed_ids(introspect(fresh.db()).await);
        fresh.cleanup().await;
        for release in releases::RELEASES {
            let t = TestDb::empty(backend).await;
            let db = t.db();
            create_at(db, release.head).await;
            upgrade_to_head(db, release).await;
            assert_eq!(db.schema_state().await.expect("state"), SchemaState::AtHead);
            let got = without_seed_ids(introspect(db).await);
            assert!(
                got == want,
                "[{backend}] Quay {} upgraded differs from a fresh install:\n{}",
                release.name(),
                diff(&want, &got)
            );
            t.cleanup().await;
        }
    }
}

fn literal(ty: ColType, dialect: Dialect, table: &str, column: &str) -> String {
    match ty {
        ColType::Pk | ColType::BigPk | ColType::BigPkLegacy => "1".into(),
        ColType::Int | ColType::BigInt | ColType::Numeric => "7".into(),
        ColType::Float => "1.5".into(),
        ColType::Bool => match dialect {
            Dialect::Postgres => "true".into(),
            Dialect::Sqlite => "1".into(),
        },
        ColType::Varchar(n) => {
            let mut v = format!("{table}.{column}");
            v.truncate(n as usize);
            format!("'{v}'")
        }
        ColType::Text => format!("'{table}.{column} text'"),
        ColType::DateTime => "'2020-02-03 04:05:06'".into(),
        ColType::Date => "'2020-02-03'".into(),
    }
}

/// One row in every table that has none (id 1; every foreign key points at id 1 of its
/// table, filled first), as an old Quay would have left them.
async fn fill_every_table(db: &Db, model: &Model) -> Vec<String> {
    let dialect = match db.backend() {
        Backend::Postgres => Dialect::Postgres,
        Backend::Sqlite => Dialect::Sqlite,
    };
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut filled = Vec::new();
    for (t, rows) in &model.lookups {
        if !rows.is_empty() {
            done.insert(t.clone());
        }
    }
    done.insert("alembic_version".into());
    if model.table("labelsourcetype").is_some() {
        done.insert("labelsourcetype".into());
    }
    loop {
        let ready: Vec<&TableModel> = model
            .tables
            .iter()
            .filter(|t| !done.contains(&t.name))
            .filter(|t| {
                t.fks
                    .iter()
                    .all(|f| f.ref_table == t.name || done.contains(f.ref_table))
            })
            .collect();
        if ready.is_empty() {
            break;
        }
        for t in ready {
            let (cols, vals): (Vec<String>, Vec<String>) = t
                .columns
                .iter()
                .map(|c| {
                    let v = if t.fks.iter().any(|f| f.column == c.name) {
                        "1".to_string()
                    } else {
                        literal(c.ty, dialect, &t.name, c.name)
                    };
                    (format!("\"{}\"", c.name), v)
                })
                .unzip();
            exec(
                db,
                &format!(
                    "INSERT INTO \"{}\" ({}) VALUES ({})",
                    t.name,
                    cols.join(", "),
                    vals.join(", ")
                ),
            )
            .await;
            done.insert(t.name.clone());
            filled.push(t.name.clone());
        }
    }
    let left: Vec<&str> = model
        .tables
        .iter()
        .filter(|t| !done.contains(&t.name))
        .map(|t| t.name.as_str())
        .collect();
    assert!(left.is_empty(), "tables left unfilled: {left:?}");
    filled
}

/// Every column of row id 1 of `table`, as text.
async fn row(db: &Db, table: &TableModel) -> BTreeMap<String, Option<String>> {
    let mut out = BTreeMap::new();
    for c in &table.columns {
        let sql = match db.backend() {
            Backend::Postgres => format!(
                "SELECT CAST(\"{}\" AS TEXT) FROM \"{}\" WHERE \"{}\" = 1",
                c.name, table.name, table.pk_column
            ),
            Backend::Sqlite => format!(
                "SELECT CAST(\"{}\" AS TEXT) FROM \"{}\" WHERE \"{}\" = 1",
                c.name, table.name, table.pk_column
            ),
        };
        let v: Option<String> =
            with_pool!(db, pool => sqlx::query_scalar(&sql).fetch_one(pool).await)
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        out.insert(c.name.to_string(), v);
    }
    out
}

/// Columns the chain's own data steps rewrite (Quay 3.1 replaced robots' plaintext
/// credentials: the robot's e-mail becomes a random value and its login identifier
/// `robot:<id>`).
fn rewritten(table: &str, column: &str) -> bool {
    matches!(
        (table, column),
        ("user", "email") | ("federatedlogin", "service_ident")
    )
}

#[tokio::test]
async fn a_full_database_keeps_every_row_through_the_whole_chain() {
    let oldest = releases::RELEASES.first().expect("releases");
    let old_model = Model::at(CHAIN, oldest.head).expect("model");
    let head = Model::head();
    for backend in backends() {
        let t = TestDb::empty(backend).await;
        let db = t.db();
        create_at(db, oldest.head).await;
        let filled = fill_every_table(db, &old_model).await;
        assert!(filled.len() > 60, "filled only {}", filled.len());
        let mut before = BTreeMap::new();
        for name in &filled {
            let table = old_model.table(name).expect("table");
            before.insert(name.clone(), row(db, table).await);
        }
        let applied = upgrade_to_head(db, oldest).await;
        let from = upgrade::position(oldest.head).expect("pos");
        assert_eq!(applied.len(), CHAIN.len() - 1 - from, "[{backend}]");
        let mut kept = 0;
        for (name, old_row) in &before {
            let Some(table) = head.table(name) else {
                continue; // dropped by the chain (Quay's deprecated tables)
            };
            let new_row = row(db, table).await;
            for (col, v) in old_row {
                if let Some(nv) = new_row.get(col) {
                    let old_ty = old_model
                        .table(name)
                        .and_then(|t| t.column(col))
                        .map(|c| c.ty);
                    let new_ty = table.column(col).map(|c| c.ty);
                    if old_ty == new_ty && !rewritten(name, col) {
                        assert_eq!(nv, v, "[{backend}] {name}.{col} changed");
                    }
                }
            }
            kept += 1;
        }
        assert!(kept > 50, "[{backend}] only {kept} tables kept their row");
        t.cleanup().await;
    }
}

#[tokio::test]
async fn refusals_leave_the_database_untouched() {
    let current = releases::current().expect("current");
    let older = releases::RELEASES
        .iter()
        .find(|r| r.minor == (current.minor.0, current.minor.1 - 2))
        .expect("N-2");
    for backend in backends() {
        let t = TestDb::empty(backend).await;
        let db = t.db();
        create_at(db, older.head).await;
        let before = introspect(db).await;
        let err = upgrade::plan(Some(older.head), &Target::Head).expect_err("N-2 refused");
        assert!(matches!(err, PlanError::Unsupported { .. }));
        // The strict path used by workers refuses too and writes nothing.
        db.migrate().await.expect_err("strict migrate refuses");
        // An unknown revision: stamped by a newer Quay.
        exec(
            db,
            &format!(
                "UPDATE alembic_version SET version_num = 'fedcba987654' WHERE version_num = '{}'",
                older.head
            ),
        )
        .await;
        assert!(matches!(
            upgrade::plan(Some("fedcba987654"), &Target::Head),
            Err(PlanError::UnknownRevision(_))
        ));
        exec(
            db,
            &format!(
                "UPDATE alembic_version SET version_num = '{}' WHERE version_num = 'fedcba987654'",
                older.head
            ),
        )
        .await;
        assert_eq!(introspect(db).await, before, "[{backend}]");
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_failing_revision_rolls_back_to_the_previous_one() {
    let current = releases::current().expect("current");
    let prev = releases::RELEASES
        .iter()
        .find(|r| r.minor == (current.minor.0, current.minor.1 - 1))
        .expect("N-1");
    let plan = upgrade::plan(Some(prev.head), &Target::Head).expect("plan");
    // Find a step that creates a table, and make it collide.
    let (i, table) = plan
        .steps
        .iter()
        .enumerate()
        .find_map(|(i, m)| {
            m.ops.iter().find_map(|op| match op {
                upgrade::ops::Op::CreateTable(t) => Some((i, t.name)),
                upgrade::ops::Op::CreateHeadTable(name) => Some((i, *name)),
                _ => None,
            })
        })
        .expect("a step that creates a table");
    for backend in backends() {
        let t = TestDb::empty(backend).await;
        let db = t.db();
        create_at(db, prev.head).await;
        exec(db, &format!("CREATE TABLE \"{table}\" (x INTEGER)")).await;
        let err = db.upgrade(&plan, Some(&Plain)).await.expect_err("collides");
        let msg = err.to_string();
        assert!(msg.contains(plan.steps[i].revision), "{msg}");
        let at = if i == 0 {
            prev.head
        } else {
            plan.steps[i - 1].revision
        };
        assert_eq!(
            db.schema_state().await.expect("state"),
            SchemaState::OtherRevision(at.to_string()),
            "[{backend}]"
        );
        t.cleanup().await;
    }
}

async fn text(db: &Db, sql: &str) -> Option<String> {
    with_pool!(db, pool => sqlx::query_scalar::<_, Option<String>>(sql).fetch_one(pool).await)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

#[tokio::test]
async fn quay_3_0_credentials_are_encrypted_on_the_way_to_3_1() {
    let r30 = releases::by_name("3.0").expect("3.0");
    let model = Model::at(CHAIN, r30.head).expect("model");
    for backend in backends() {
        let t = TestDb::empty(backend).await;
        let db = t.db();
        create_at(db, r30.head).await;
        fill_every_table(db, &model).await;
        let access = format!("{}tail-of-access", "a".repeat(32));
        let app = format!("{}tail-of-app", "p".repeat(60));
        let oauth = format!("{}tail-of-oauth", "o".repeat(20));
        exec(db, &format!("UPDATE accesstoken SET code = '{access}'")).await;
        exec(
            db,
            &format!("UPDATE appspecificauthtoken SET token_code = '{app}'"),
        )
        .await;
        exec(
            db,
            &format!("UPDATE oauthaccesstoken SET access_token = '{oauth}'"),
        )
        .await;
        exec(db, "UPDATE \"user\" SET email = 'robot-token-value'").await;

        let plan = upgrade::plan(Some(r30.head), &Target::Named("3.1".into())).expect("plan");
        assert!(upgrade::position(plan.target) > upgrade::position(r30.head));
        let err = db.upgrade(&plan, None).await.expect_err("needs the keys");
        assert!(err.to_string().contains("DATABASE_SECRET_KEY"), "{err}");
        assert_eq!(
            db.schema_state().await.expect("state"),
            SchemaState::OtherRevision(r30.head.into()),
            "[{backend}] refused plan wrote something"
        );
        db.upgrade(&plan, Some(&Plain))
            .await
            .expect("upgrade to 3.1");

        assert_eq!(
            text(db, "SELECT token_name FROM accesstoken")
                .await
                .as_deref(),
            Some("a".repeat(32).as_str())
        );
        assert_eq!(
            text(db, "SELECT token_code FROM accesstoken")
                .await
                .as_deref(),
            Some("enc(tail-of-access)")
        );
        assert_eq!(
            text(db, "SELECT token_secret FROM appspecificauthtoken")
                .await
                .as_deref(),
            Some("enc(tail-of-app)")
        );
        assert_eq!(
            text(db, "SELECT token_name FROM oauthaccesstoken")
                .await
                .as_deref(),
            Some("o".repeat(20).as_str())
        );
        assert_eq!(
            text(db, "SELECT token_code FROM oauthaccesstoken")
                .await
                .as_deref(),
            Some("hash(tail-of-oauth)")
        );
        assert_eq!(
            text(db, "SELECT token FROM robotaccounttoken")
                .await
                .as_deref(),
            Some("enc(robot-token-value)"),
            "[{backend}]"
        );
        // The plaintext columns are gone, and the robot's e-mail no longer holds its token.
        assert_ne!(
            text(db, "SELECT email FROM \"user\"").await.as_deref(),
            Some("robot-token-value")
        );
        t.cleanup().await;
    }
}

#[test]
fn docs_list_exactly_the_offline_revisions() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/UPGRADES.md"
    ))
    .expect("docs/UPGRADES.md");
    let section = doc
        .split("## Online and offline revisions")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("offline section");
    let listed: BTreeSet<&str> = section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .collect();
    let offline: BTreeSet<&str> = CHAIN[1..]
        .iter()
        .filter(|m| !upgrade::online(m))
        .map(|m| m.revision)
        .collect();
    assert_eq!(listed, offline);
}

#[tokio::test]
async fn online_index_revisions_build_concurrently_on_postgres() {
    // A revision that only adds indexes to tables that already exist.
    let (i, m) = CHAIN
        .iter()
        .enumerate()
        .skip(1)
        .find(|(_, m)| {
            m.ops
                .iter()
                .any(|op| matches!(op, upgrade::ops::Op::CreateIndex(..)))
                && m.ops.iter().all(|op| {
                    matches!(
                        op,
                        upgrade::ops::Op::CreateIndex(..) | upgrade::ops::Op::Skip(_)
                    )
                })
        })
        .expect("an index-only revision");
    let parent = CHAIN[i - 1].revision;
    let names: Vec<&str> = m
        .ops
        .iter()
        .filter_map(|op| match op {
            upgrade::ops::Op::CreateIndex(_, ix) => Some(ix.name),
            _ => None,
        })
        .collect();
    let t = TestDb::empty_postgres().await;
    let db = t.db();
    create_at(db, parent).await;
    let plan = upgrade::plan(Some(parent), &Target::Named(m.revision.into()))
        .expect("plan")
        .online();
    assert!(plan.concurrent_indexes && plan.offline_steps().is_empty());
    db.upgrade(&plan, None).await.expect("online upgrade");
    let quayside_meta::Pool::Postgres(pool) = db.pool() else {
        panic!("postgres");
    };
    for name in names {
        let valid: bool = sqlx::query_scalar(
            "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
             WHERE c.relname = $1",
        )
        .bind(name)
        .fetch_one(pool)
        .await
        .expect("index exists");
        assert!(valid, "{name}");
    }
    assert_eq!(
        db.schema_state().await.expect("state"),
        SchemaState::OtherRevision(m.revision.to_string())
    );
    t.cleanup().await;
}
