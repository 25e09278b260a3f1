//! `uninstall`: stop, disable and forget a service; its data is kept.

use crate::error::Error;
use crate::lifecycle::InitSystem;
use crate::manifest::{Row, Services};

use super::{Event, Host};

/// Remove `row`'s unit and its services.json row (the caller confirmed).
pub async fn run(
    host: &Host<'_, impl InitSystem>,
    row: &Row,
    say: &mut impl FnMut(Event),
) -> Result<(), Error> {
    let unit = row.unit();
    host.init.stop(&unit).await?;
    host.init.disable(std::slice::from_ref(&unit)).await?;
    host.init.reset_failed(&unit).await?;
    if host.init.remove_unit(host.paths(), &unit)? {
        host.init.reload().await?;
    }
    Services::update(host.paths(), |s| {
        Ok::<_, Error>((s.remove(&row.name).is_some(), ()))
    })?;
    say(Event::Uninstalled {
        name: row.name.clone(),
    });
    let data = host.paths().home.join(row.short());
    if data.exists() {
        say(Event::DataKept { path: data });
    }
    Ok(())
}
