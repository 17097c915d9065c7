//! Quota enforcement as a real client sees it: with `FEATURE_QUOTA_MANAGEMENT` and a
//! system default reject limit of 10 MB, skopeo pushes a small image, then fails to push
//! the 51 MB Debian image with Quay's message, and the refused image is not there — on
//! SQLite and PostgreSQL.

use crate::backends;
use crate::fixtures;
use crate::skopeo::{skopeo, testdata};

const USER: &str = "quota";
const PASSWORD: &str = "quota-password-1";

fn push(host: &str, layout: &str, tag: &str, repo: &str) -> std::process::Output {
    let creds = format!("{USER}:{PASSWORD}");
    let src = format!("oci:{}:{tag}", testdata(layout).display());
    let dest = format!("docker://{host}/{USER}/{repo}:{tag}");
    skopeo(&[
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        &creds,
        &src,
        &dest,
    ])
}

#[tokio::test]
async fn a_push_over_quota_fails_with_quays_message_and_leaves_nothing() {
    for postgres in [false, true] {
        let run = backends::quay_config_with(postgres, |yaml| {
            yaml + "FEATURE_QUOTA_MANAGEMENT: true\nDEFAULT_SYSTEM_REJECT_QUOTA_BYTES: 10000000\n"
        })
        .await;
        fixtures::create_user(&run.db_uri, USER, PASSWORD, "quota@example.com").await;
        let small = push(&run.host(), "artifact", "base", "small");
        assert!(
            small.status.success(),
            "{}: {}",
            run.label,
            String::from_utf8_lossy(&small.stderr)
        );
        let big = push(&run.host(), "debian-bookworm", "bookworm", "debian");
        let stderr = String::from_utf8_lossy(&big.stderr);
        assert!(!big.status.success(), "{}: the push must fail", run.label);
        assert!(
            stderr.contains("Quota has been exceeded on namespace"),
            "{}: skopeo shows Quay's message: {stderr}",
            run.label
        );
        let creds = format!("{USER}:{PASSWORD}");
        let gone = skopeo(&[
            "inspect",
            "--raw",
            "--tls-verify=false",
            "--creds",
            &creds,
            &format!("docker://{}/{USER}/debian:bookworm", run.host()),
        ]);
        assert!(
            !gone.status.success(),
            "{}: nothing of the refused image is visible",
            run.label
        );
        run.stop().await;
    }
}
