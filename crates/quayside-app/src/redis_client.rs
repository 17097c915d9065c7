//! Redis as Quay configures it: an object such as `BUILDLOGS_REDIS`
//! (`host`, `port`, `password`, `db`, `ssl`) rather than a URL.

use std::time::Duration;

use redis::AsyncCommands;
use serde_json::{Map, Value};

/// A Redis target from one of Quay's `*_REDIS` keys.
#[derive(Clone)]
pub struct RedisTarget {
    key: String,
    display: String,
    client: redis::Client,
}

impl std::fmt::Debug for RedisTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisTarget")
            .field("key", &self.key)
            .field("target", &self.display)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    #[error("{key}.{field} {problem}")]
    Config {
        key: String,
        field: &'static str,
        problem: &'static str,
    },
    #[error(
        "Could not connect to Redis with values provided in {key}. Error: {target}: {message}"
    )]
    Unreachable {
        key: String,
        target: String,
        message: String,
    },
}

impl RedisTarget {
    /// Builds a client from a Quay Redis object. Nothing is dialled yet.
    pub fn from_config(key: &str, obj: &Map<String, Value>) -> Result<RedisTarget, RedisError> {
        let cfg_err = |field, problem| RedisError::Config {
            key: key.to_string(),
            field,
            problem,
        };
        let host = match obj.get("host") {
            Some(Value::String(h)) if !h.is_empty() => h.clone(),
            Some(Value::String(_)) | None | Some(Value::Null) => {
                return Err(cfg_err("host", "is required"))
            }
            Some(_) => return Err(cfg_err("host", "must be a string")),
        };
        let port = match obj.get("port") {
            None | Some(Value::Null) => 6379,
            Some(Value::Number(n)) => n
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .ok_or_else(|| cfg_err("port", "must be a port number"))?,
            Some(Value::String(s)) => s
                .parse()
                .map_err(|_| cfg_err("port", "must be a port number"))?,
            Some(_) => return Err(cfg_err("port", "must be a port number")),
        };
        let db = match obj.get("db") {
            None | Some(Value::Null) => 0,
            Some(Value::Number(n)) => n
                .as_i64()
                .ok_or_else(|| cfg_err("db", "must be an integer"))?,
            Some(_) => return Err(cfg_err("db", "must be an integer")),
        };
        let password = match obj.get("password") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.is_empty() => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(cfg_err("password", "must be a string")),
        };
        let username = match obj.get("username") {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            _ => None,
        };
        let ssl = matches!(obj.get("ssl"), Some(Value::Bool(true)));
        let addr = if ssl {
            // TLS to Redis needs a TLS-enabled client; refuse clearly rather than
            // silently talking plain text.
            return Err(cfg_err(
                "ssl",
                "is not supported by this quayside build yet",
            ));
        } else {
            redis::ConnectionAddr::Tcp(host.clone(), port)
        };
        let info = redis::ConnectionInfo {
            addr,
            redis: redis::RedisConnectionInfo {
                db,
                username,
                password,
                ..Default::default()
            },
        };
        let client = redis::Client::open(info).map_err(|e| RedisError::Unreachable {
            key: key.to_string(),
            target: format!("{host}:{port}"),
            message: e.to_string(),
        })?;
        Ok(RedisTarget {
            key: key.to_string(),
            display: format!("{host}:{port}/{db}"),
            client,
        })
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    /// PING, then SET and GET a health key, as Quay's Redis health check does.
    pub async fn check(&self) -> Result<(), RedisError> {
        let unreachable = |message: String| RedisError::Unreachable {
            key: self.key.clone(),
            target: self.display.clone(),
            message,
        };
        let mut conn = tokio::time::timeout(
            Duration::from_secs(3),
            self.client.get_multiplexed_async_connection(),
        )
        .await
        .map_err(|_| unreachable("timed out after 3s".into()))?
        .map_err(|e| unreachable(e.to_string()))?;
        let pong: String = redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        if pong != "PONG" {
            return Err(unreachable(format!("unexpected PING reply {pong:?}")));
        }
        // A key of its own per check: concurrent checks (several instances,
        // or two config keys naming one server) must not read each other's value.
        let value = uuid::Uuid::new_v4().to_string();
        let key = format!("_health_check_quayside_{value}");
        let key = key.as_str();
        let _: () = conn
            .set_ex(key, &value, 60)
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let got: Option<String> = conn
            .get(key)
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let _: Result<(), _> = conn.del(key).await;
        if got.as_deref() != Some(value.as_str()) {
            return Err(unreachable("health key did not read back".into()));
        }
        Ok(())
    }
}
