//! `parachute start|stop|restart [service]` (the work is in
//! [`crate::lifecycle::ops`]).

use std::process::ExitCode;

use clap::Args;

use super::Context;
use super::events::{exit_code, say, verb_word};
use crate::error::Error;
use crate::lifecycle::ops::{self, run, stop};
use crate::lifecycle::start::Verb;

#[derive(Debug, Args)]
pub struct LifecycleArgs {
    /// The service, by short name (`vault`) or manifestName
    /// (`parachute-vault`); `hub` for the hub. Omit for the whole suite.
    pub service: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Start,
    Stop,
    Restart,
}

pub async fn run(cx: &Context, op: Op, args: LifecycleArgs) -> Result<ExitCode, Error> {
    let service = args.service.as_deref();
    let whole_suite_or_hub = service.is_none_or(|s| matches!(s, "hub" | "parachute-hub"));
    let init = cx.init_lazy();
    let verb = match op {
        Op::Start => Verb::Start,
        Op::Restart => Verb::Restart,
        Op::Stop => {
            let inventory = cx.inventory()?;
            let host = cx.host(&init);
            return Ok(exit_code(
                stop::run(&host, &inventory, service, &mut say).await?,
            ));
        }
    };
    // Without the hub's units the target starts nothing that serves; saying
    // "started" then would be a lie.
    if whole_suite_or_hub && !ops::hub_is_set_up(&cx.host(&init)) {
        return Err(Error::HubNotSetUp {
            verb: verb_word(verb),
        });
    }
    let inventory = cx.inventory()?;
    // Starting renders units from the rows: an unreadable registry stops here.
    if let Some(e) = inventory.unreadable {
        return Err(e);
    }
    let init = init.connect().await?;
    let host = cx.host(&init);
    let verdict = run::run(&host, &inventory.services, service, verb, &mut say).await?;
    Ok(exit_code(verdict))
}
