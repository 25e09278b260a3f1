//! services.json, read strictly (a row the lenient readers skip is a fault).

use super::{Env, Finding};
use crate::manifest::Services;

pub fn check<I>(env: &Env<'_, I>) -> Vec<Finding> {
    let path = env.paths.services_json();
    vec![match Services::load_strict(&path) {
        Ok(services) => Finding::pass(
            "services-json",
            format!(
                "{} valid ({} services)",
                path.display(),
                services.rows.len()
            ),
        ),
        Err(e) => Finding::fail(
            "services-json",
            e.to_string(),
            format!("fix or remove {}", path.display()),
        ),
    }]
}
