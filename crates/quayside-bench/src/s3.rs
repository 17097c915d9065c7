//! `--storage s3`: both registries on one real S3 server (Garage, as the tests run it), each
//! in its own bucket, and the S3 server's own single-stream PUT/GET rate as the reference
//! both are held to.

use std::time::Instant;

use anyhow::{anyhow, Context, Result};
use bytes::Bytes;
use futures::StreamExt;
use quayside_testkit::garage::{self, Bucket};

/// The buckets of one benchmark.
pub struct S3Setup {
    pub quayside: Bucket,
    pub distribution: Bucket,
    reference: Bucket,
}

fn bucket() -> Result<Bucket> {
    std::panic::catch_unwind(garage::bucket).map_err(|p| {
        let why = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        anyhow!(
            "could not start Garage (set ${} or build it as .ci/run does into {}): {why}",
            garage::GARAGE_ENV,
            garage::CACHED_GARAGE
        )
    })
}

impl S3Setup {
    pub fn start() -> Result<S3Setup> {
        Ok(S3Setup {
            quayside: bucket()?,
            distribution: bucket()?,
            reference: bucket()?,
        })
    }

    /// quayside's `DISTRIBUTED_STORAGE_CONFIG`: one `S3Storage` location.
    pub fn quayside_storage_yaml(&self) -> String {
        let mut block = String::from("DISTRIBUTED_STORAGE_CONFIG:\n  s3_bench:\n    - S3Storage\n");
        for (i, (k, v)) in self.quayside.s3_storage_params("/bench").iter().enumerate() {
            let lead = if i == 0 { "    - " } else { "      " };
            block.push_str(&format!("{lead}{k}: {v}\n"));
        }
        block.push_str(
            "DISTRIBUTED_STORAGE_PREFERENCE: [s3_bench]\nDISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: [s3_bench]\n",
        );
        block
    }

    /// distribution's `storage:` block: its S3 driver on the same server, path-style.
    pub fn distribution_storage_yaml(&self) -> String {
        let b = &self.distribution;
        format!(
            "  s3:\n    accesskey: {}\n    secretkey: {}\n    region: {}\n    regionendpoint: {}\n    \
             bucket: {}\n    rootdirectory: /bench\n    secure: false\n    v4auth: true\n    \
             forcepathstyle: true\n",
            garage::ACCESS_KEY,
            garage::SECRET_KEY,
            garage::REGION,
            b.endpoint,
            b.name
        )
    }

    /// The S3 server's own rate for one object of `data`: a streaming PUT (one part in
    /// flight at a time) and a GET through OpenDAL's S3 client (what quayside uses), in MB/s.
    pub async fn reference(&self, data: &Bytes, chunk: usize) -> Result<(f64, f64)> {
        let mut params = serde_json::Map::new();
        for (k, v) in self.reference.s3_storage_params("/reference") {
            params.insert(k.to_string(), serde_json::Value::String(v));
        }
        let engine = quayside_storage::Engine::open(&quayside_storage::LocationConfig {
            id: "reference".into(),
            driver: "S3Storage".into(),
            params,
            ..Default::default()
        })
        .context("open the reference bucket")?;
        let path = format!("object-{}", uuid::Uuid::new_v4());
        let started = Instant::now();
        let mut w = engine
            .writer_sequential(&path)
            .await
            .context("reference writer")?;
        for part in data.chunks(chunk.max(1)) {
            w.write(Bytes::copy_from_slice(part))
                .await
                .context("reference PUT")?;
        }
        w.finish().await.context("reference PUT")?;
        let put = crate::mb_per_s(data.len(), started.elapsed());
        let started = Instant::now();
        let mut stream = engine.stream(&path, None).await.context("reference GET")?;
        let mut n = 0usize;
        while let Some(c) = stream.next().await {
            n += c.context("reference GET")?.len();
        }
        let get = crate::mb_per_s(n, started.elapsed());
        engine.delete(&path).await.context("reference cleanup")?;
        Ok((put, get))
    }
}
