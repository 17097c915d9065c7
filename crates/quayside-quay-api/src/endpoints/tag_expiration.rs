//! A namespace's time-machine window (`user.removed_tag_expiration_s`, shown as
//! `tag_expiration_s`) may only take one of `TAG_EXPIRATION_OPTIONS` (Quay's
//! `change_user_tag_expiration`). Shared by the user and organization update operations.

use crate::{QuayApiError, QuayApiSettings};

/// Quay's refusal (a `DataModelException`, so `400 {"message"}`).
pub(crate) const INVALID_TAG_EXPIRATION: &str = "Invalid tag expiration option";

/// The allowed windows in seconds (`TAG_EXPIRATION_OPTIONS`, default
/// `[0s, 1d, 1w, 2w, 4w]`); options that are not durations are ignored.
pub(crate) fn tag_expiration_options(settings: &QuayApiSettings) -> Vec<i64> {
    settings
        .config
        .tag_expiration_options
        .iter()
        .filter_map(|o| o.seconds())
        .filter_map(|s| i64::try_from(s).ok())
        .collect()
}

/// `Ok` when `seconds` is one of `TAG_EXPIRATION_OPTIONS`, else
/// `400 {"message": "Invalid tag expiration option"}`.
pub(crate) fn validate_tag_expiration(
    settings: &QuayApiSettings,
    seconds: i64,
) -> Result<(), QuayApiError> {
    if tag_expiration_options(settings).contains(&seconds) {
        Ok(())
    } else {
        Err(QuayApiError::bad_request(INVALID_TAG_EXPIRATION))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn settings(yaml: &str) -> QuayApiSettings {
        let config = quayside_config::Config::from_yaml_str(yaml).expect("config");
        QuayApiSettings {
            config: Arc::new(config),
            ..QuayApiSettings::default()
        }
    }

    #[test]
    fn defaults_allow_quays_options_only() {
        let s = settings("{}");
        for ok in [0, 86_400, 604_800, 1_209_600, 2_419_200] {
            assert!(validate_tag_expiration(&s, ok).is_ok(), "{ok}");
        }
        for bad in [1, 3600, 172_800, -1] {
            let e = validate_tag_expiration(&s, bad).expect_err("refused");
            assert_eq!(e.status(), 400);
            assert_eq!(e.to_string(), INVALID_TAG_EXPIRATION);
        }
    }

    #[test]
    fn configured_options_replace_the_defaults() {
        let s = settings("TAG_EXPIRATION_OPTIONS: [1h, 3d]");
        assert!(validate_tag_expiration(&s, 3600).is_ok());
        assert!(validate_tag_expiration(&s, 259_200).is_ok());
        assert!(validate_tag_expiration(&s, 1_209_600).is_err());
    }
}
