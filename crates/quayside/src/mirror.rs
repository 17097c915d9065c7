//! `quayside mirror`: copies a list of images from upstream registries into a quayside
//! namespace, for clusters that cannot reach the upstreams, and writes what points a
//! cluster at the mirror (`ImageContentSourcePolicy`, `ImageDigestMirrorSet`,
//! `registries.conf`, and a `mapping.txt` of what went where).
//!
//! Each image lands in `<to>/<last path component>`, keeping its tag; an image named only by
//! digest is tagged `sha256-<hex>` so that it stays alive (a manifest pushed by digest alone
//! is only kept for `PUSH_TEMP_TAG_EXPIRATION_SEC`). Two sources that would land in one
//! repository are refused before anything is copied. Blobs the destination already has are
//! skipped, so running the same list again resumes an interrupted mirror. An image that
//! fails is reported and the others still go; the exit code is non-zero if any failed.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{bail, Context};
use quayside_upstream::client::Credentials;
use quayside_upstream::copy::Progress;
use quayside_upstream::mapping::{self, MirrorPair};
use quayside_upstream::{copy_image, ImageReference, RegistryClient};

/// What the command was asked to do.
pub struct MirrorArgs {
    pub images: Vec<String>,
    pub images_file: Option<PathBuf>,
    pub to: String,
    pub src_creds: Option<String>,
    pub dest_creds: Option<String>,
    pub src_tls_verify: bool,
    pub dest_tls_verify: bool,
    pub output_dir: PathBuf,
    pub name: String,
}

/// The images of a list file: one per line, the last whitespace-separated field of each
/// (so `oc adm release info --pullspecs`' `NAME  PULLSPEC` lines work); blank lines and
/// `#` comments are skipped.
pub fn read_image_list(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or_default().trim())
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split_whitespace().last().map(str::to_owned))
        .collect()
}

/// One image to copy and where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub source: ImageReference,
    /// `namespace/name` in the destination.
    pub repository: String,
    pub tag: String,
}

/// Where each image goes in `namespace`; refuses two sources sharing a destination.
pub fn plan(images: &[String], namespace: &str) -> anyhow::Result<Vec<Planned>> {
    let mut out: Vec<Planned> = Vec::new();
    for raw in images {
        let source = ImageReference::parse(raw)?;
        let repository = format!("{namespace}/{}", source.short_name());
        if let Some(other) = out.iter().find(|p| {
            p.repository == repository && p.source.repository_name() != source.repository_name()
        }) {
            bail!(
                "{} and {} would both be mirrored into {repository}; mirror them into different namespaces",
                other.source.repository_name(),
                source.repository_name()
            );
        }
        let tag = match (&source.tag, &source.digest) {
            (Some(t), _) => t.clone(),
            (None, Some(d)) => d.replace(':', "-"),
            (None, None) => "latest".to_owned(),
        };
        out.push(Planned {
            source,
            repository,
            tag,
        });
    }
    Ok(out)
}

/// A progress bar of the bytes of the blob being copied (hidden when stderr is not a
/// terminal).
struct Bars {
    bar: Mutex<Option<indicatif::ProgressBar>>,
}

impl Progress for Bars {
    fn blob_started(&self, digest: &str, size: Option<u64>) {
        let bar = match size {
            Some(n) => indicatif::ProgressBar::new(n),
            None => indicatif::ProgressBar::new_spinner(),
        };
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(digest.chars().take(19).collect::<String>());
        if let Ok(mut b) = self.bar.lock() {
            *b = Some(bar);
        }
    }
    fn blob_bytes(&self, n: u64) {
        if let Ok(b) = self.bar.lock() {
            if let Some(bar) = b.as_ref() {
                bar.inc(n);
            }
        }
    }
    fn blob_done(&self, _digest: &str, _copied: bool) {
        if let Ok(mut b) = self.bar.lock() {
            if let Some(bar) = b.take() {
                bar.finish_and_clear();
            }
        }
    }
}

fn write(dir: &Path, name: &str, text: &str) -> anyhow::Result<PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// Runs the command; `Ok(false)` when some image failed.
pub async fn run(args: MirrorArgs) -> anyhow::Result<bool> {
    let mut images = args.images.clone();
    if let Some(file) = &args.images_file {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("reading the image list {}", file.display()))?;
        images.extend(read_image_list(&text));
    }
    if images.is_empty() {
        bail!("no images to mirror: give --image or --images-file");
    }
    let (dest_host, namespace) = args
        .to
        .trim_end_matches('/')
        .split_once('/')
        .filter(|(h, n)| !h.is_empty() && !n.is_empty() && !n.contains('/'))
        .with_context(|| format!("--to must be HOST[:PORT]/NAMESPACE, not '{}'", args.to))?;
    let creds = |s: &Option<String>, flag: &str| -> anyhow::Result<Option<Credentials>> {
        match s {
            None => Ok(None),
            Some(s) => Credentials::parse(s)
                .map(Some)
                .with_context(|| format!("{flag} must be USER:PASSWORD")),
        }
    };
    let src_creds = creds(&args.src_creds, "--src-creds")?;
    let dest = RegistryClient::new(
        dest_host,
        !args.dest_tls_verify,
        creds(&args.dest_creds, "--dest-creds")?,
    )?;
    let planned = plan(&images, namespace)?;
    std::fs::create_dir_all(&args.output_dir)
        .with_context(|| format!("creating {}", args.output_dir.display()))?;

    let progress = Arc::new(Bars {
        bar: Mutex::new(None),
    });
    let mut sources: std::collections::HashMap<String, RegistryClient> = Default::default();
    let mut pairs = Vec::new();
    let mut mapping_lines = Vec::new();
    let mut failed = 0usize;
    for p in &planned {
        let host = p.source.api_host().to_owned();
        if !sources.contains_key(&host) {
            sources.insert(
                host.clone(),
                RegistryClient::new(&host, !args.src_tls_verify, src_creds.clone())?,
            );
        }
        let Some(src) = sources.get(&host) else {
            continue;
        };
        let result = copy_image(
            src,
            &p.source.repository,
            p.source.fetch_reference(),
            &dest,
            &p.repository,
            Some(&p.tag),
            progress.clone(),
        )
        .await;
        match result {
            Ok(out) => {
                println!(
                    "mirrored {} -> {dest_host}/{}:{} ({}; {} manifest(s), {} blob(s) sent, {} already there, {} bytes)",
                    p.source,
                    p.repository,
                    p.tag,
                    out.digest,
                    out.manifests,
                    out.blobs_copied,
                    out.blobs_present,
                    out.bytes_copied
                );
                pairs.push(MirrorPair {
                    source: p.source.repository_name(),
                    mirror: format!("{dest_host}/{}", p.repository),
                });
                mapping_lines.push(format!(
                    "{}@{}={dest_host}/{}:{}",
                    p.source.repository_name(),
                    out.digest,
                    p.repository,
                    p.tag
                ));
            }
            Err(e) => {
                failed += 1;
                eprintln!("error: mirroring {} failed: {e}", p.source);
            }
        }
    }
    pairs.sort();
    pairs.dedup();
    let dir = &args.output_dir;
    let written = [
        write(
            dir,
            "imageContentSourcePolicy.yaml",
            &mapping::image_content_source_policy(&args.name, &pairs),
        )?,
        write(
            dir,
            "imageDigestMirrorSet.yaml",
            &mapping::image_digest_mirror_set(&args.name, &pairs),
        )?,
        write(
            dir,
            "registries.conf",
            &mapping::registries_conf(&pairs, !args.dest_tls_verify),
        )?,
        write(dir, "mapping.txt", &(mapping_lines.join("\n") + "\n"))?,
    ];
    for w in &written {
        println!("wrote {}", w.display());
    }
    if failed > 0 {
        eprintln!(
            "{failed} of {} image(s) failed; run the same command again to resume",
            planned.len()
        );
    }
    Ok(failed == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_lists_take_the_last_field_and_skip_comments() {
        let list = "# release payload\n\
                    cli  quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:1111111111111111111111111111111111111111111111111111111111111111\n\
                    \n  registry.example.com/a/b:v1   # pinned\n";
        assert_eq!(
            read_image_list(list),
            [
                "quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:1111111111111111111111111111111111111111111111111111111111111111",
                "registry.example.com/a/b:v1"
            ]
        );
    }

    #[test]
    fn plans_keep_tags_name_digests_and_refuse_collisions() {
        let d = format!("sha256:{}", "a".repeat(64));
        let p = plan(
            &[
                format!("quay.io/x/app@{d}"),
                "quay.io/x/app:v2".into(),
                "nginx".into(),
            ],
            "mirror",
        )
        .expect("plan");
        assert_eq!(p[0].repository, "mirror/app");
        assert_eq!(p[0].tag, format!("sha256-{}", "a".repeat(64)));
        assert_eq!(p[1].tag, "v2");
        assert_eq!(p[2].repository, "mirror/nginx");
        let err = plan(&["quay.io/x/app:1".into(), "quay.io/y/app:1".into()], "m")
            .expect_err("collision");
        assert!(
            err.to_string()
                .contains("would both be mirrored into m/app"),
            "{err}"
        );
    }
}
