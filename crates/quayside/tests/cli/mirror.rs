//! `quayside mirror` against real registries, on SQLite and PostgreSQL: CNCF distribution
//! (with htpasswd auth) holds a multi-arch index and an image pinned by digest; a list file
//! like a release payload's names them and one image the upstream lacks. The mirror copies
//! what exists, says clearly what failed and exits non-zero; a second run resumes without
//! sending a blob again. Then the upstream is stopped and every digest — the index, each of
//! its children, the pinned image — is pulled by its upstream name through the generated
//! `registries.conf`, byte-identical; the policies name the same mapping.

use std::path::Path;

use base64::Engine as _;
use sha2::Digest as _;

use crate::backends;
use crate::fixtures;
use crate::harness;
use crate::skopeo::{skopeo, testdata};

const USER: &str = "mirror";
const PASSWORD: &str = "mirror-password-1";
const UP_USER: &str = "upstream";
const UP_PASSWORD: &str = "upstream-password-1";

fn layout_digest(layout: &str, tag: &str) -> String {
    crate::skopeo::layout_digest(&testdata(layout), tag)
}

fn blob_json(layout: &str, digest: &str) -> serde_json::Value {
    let hex = digest.strip_prefix("sha256:").expect("sha256");
    serde_json::from_slice(
        &std::fs::read(testdata(layout).join("blobs/sha256").join(hex)).expect("blob"),
    )
    .expect("json")
}

fn ok(out: &std::process::Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn mirror(run_dir: &Path, list: &Path, to: &str, out: &Path) -> std::process::Output {
    harness::run(
        &[
            "mirror",
            "--images-file",
            &list.display().to_string(),
            "--to",
            to,
            "--src-creds",
            &format!("{UP_USER}:{UP_PASSWORD}"),
            "--src-tls-verify=false",
            "--dest-creds",
            &format!("{USER}:{PASSWORD}"),
            "--dest-tls-verify=false",
            "--output-dir",
            &out.display().to_string(),
        ],
        run_dir,
    )
}

#[tokio::test]
async fn mirror_a_release_list_then_pull_every_digest_through_the_mapping() {
    for postgres in [false, true] {
        let mut up =
            quayside_testkit::distribution::Distribution::start(Some((UP_USER, UP_PASSWORD)))
                .await
                .expect("distribution");
        let up_creds = format!("{UP_USER}:{UP_PASSWORD}");
        let index = layout_digest("multiarch", "latest");
        let base = layout_digest("artifact", "base");
        for (layout, tag, dest, all) in [
            ("multiarch", "latest", "library/multiarch:latest", true),
            ("artifact", "base", "tools/base:v1", false),
        ] {
            let src = format!("oci:{}:{tag}", testdata(layout).display());
            let dst = format!("docker://{}/{dest}", up.host());
            let mut args = vec!["copy", "--dest-tls-verify=false", "--dest-creds", &up_creds];
            if all {
                args.push("--all");
            }
            args.push(&src);
            args.push(&dst);
            ok(&skopeo(&args), "seeding the upstream");
        }

        let run = backends::quay_config_with(postgres, |yaml| yaml).await;
        fixtures::create_user(&run.db_uri, USER, PASSWORD, "mirror@example.com").await;
        let work = tempfile::tempdir().expect("tempdir");
        let list = work.path().join("images.txt");
        let good = format!(
            "# payload images\nmultiarch  {up}/library/multiarch:latest\n{up}/tools/base@{base}\n",
            up = up.host()
        );
        std::fs::write(&list, format!("{good}{}/tools/missing:v9\n", up.host())).expect("list");
        let to = format!("{}/{USER}", run.host());
        let out_dir = work.path().join("out");

        let first = mirror(work.path(), &list, &to, &out_dir);
        let stdout = String::from_utf8_lossy(&first.stdout);
        let stderr = String::from_utf8_lossy(&first.stderr);
        assert!(
            !first.status.success(),
            "{}: a missing image fails the run",
            run.label
        );
        assert!(
            stderr.contains(&format!("mirroring {}/tools/missing:v9 failed", up.host()))
                && stderr.contains("404"),
            "{}: the failure names the image and the upstream's answer: {stderr}",
            run.label
        );
        assert!(
            stdout.contains(&format!("mirrored {}/library/multiarch:latest", up.host())),
            "{stdout}"
        );
        assert!(
            stdout.contains(&format!("({index};")),
            "the index digest is kept: {stdout}"
        );

        // Resume: the same (now good) list again sends no blob.
        std::fs::write(&list, &good).expect("list");
        let second = mirror(work.path(), &list, &to, &out_dir);
        let stdout = ok(&second, "the second mirror run");
        assert_eq!(
            stdout.matches("0 blob(s) sent").count(),
            2,
            "{}: nothing is sent twice: {stdout}",
            run.label
        );

        let icsp: serde_json::Value = serde_yaml_ng::from_str(
            &std::fs::read_to_string(out_dir.join("imageContentSourcePolicy.yaml")).expect("icsp"),
        )
        .expect("yaml");
        assert_eq!(
            icsp["spec"]["repositoryDigestMirrors"],
            serde_json::json!([
                {"mirrors": [format!("{}/{USER}/multiarch", run.host())],
                 "source": format!("{}/library/multiarch", up.host())},
                {"mirrors": [format!("{}/{USER}/base", run.host())],
                 "source": format!("{}/tools/base", up.host())},
            ])
        );
        let idms =
            std::fs::read_to_string(out_dir.join("imageDigestMirrorSet.yaml")).expect("idms");
        assert!(idms.contains("kind: ImageDigestMirrorSet"), "{idms}");

        // The upstream goes away; every digest still pulls by its upstream name.
        up.stop();
        let auth = work.path().join("auth.json");
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
        std::fs::write(
            &auth,
            serde_json::json!({"auths": {run.host(): {"auth": token}}}).to_string(),
        )
        .expect("authfile");
        let conf = out_dir.join("registries.conf");
        let mut digests = vec![
            (format!("{}/library/multiarch", up.host()), index.clone()),
            (format!("{}/tools/base", up.host()), base.clone()),
        ];
        for child in blob_json("multiarch", &index)["manifests"]
            .as_array()
            .expect("children")
        {
            digests.push((
                format!("{}/library/multiarch", up.host()),
                child["digest"].as_str().expect("digest").to_owned(),
            ));
        }
        assert!(digests.len() >= 4, "an index with several children");
        for (repo, digest) in &digests {
            let reference = format!("docker://{repo}@{digest}");
            let raw = skopeo(&[
                "--registries-conf",
                &conf.display().to_string(),
                "inspect",
                "--raw",
                "--authfile",
                &auth.display().to_string(),
                &reference,
            ]);
            let body = raw.stdout.clone();
            ok(
                &raw,
                &format!("{}: pulling {reference} through the mirror", run.label),
            );
            assert_eq!(
                format!("sha256:{}", hex::encode(sha2::Sha256::digest(&body))),
                *digest,
                "{reference} byte-identical"
            );
        }
        let pulled = work.path().join("pulled");
        let reference = format!("docker://{}/tools/base@{base}", up.host());
        ok(
            &skopeo(&[
                "--registries-conf",
                &conf.display().to_string(),
                "copy",
                "--authfile",
                &auth.display().to_string(),
                &reference,
                &format!("dir:{}", pulled.display()),
            ]),
            "copying the pinned image through the mirror",
        );
        run.stop().await;
    }
}
