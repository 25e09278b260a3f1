//! A fake systemd manager served with zbus over a socket pair, so the real
//! client is exercised end to end (marshalling, signals, error names).

// D-Bus methods and properties are `&self` methods even when they answer a constant.
#![allow(clippy::unused_self)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use zbus::interface;
use zbus::object_server::SignalEmitter;
use zbus::zvariant::{ObjectPath, OwnedObjectPath, OwnedValue};
use zbus::{Connection, Guid};

use super::SystemdUser;

/// What the fake answers.
#[derive(Clone, Copy)]
pub(super) struct Script {
    /// `MemoryCurrent` of `web.service`; `u64::MAX` means "not accounted".
    pub memory_current: u64,
    /// The `JobRemoved` result of `StartUnit`.
    pub start_result: &'static str,
    /// The `JobRemoved` result of `StartTransientUnit`.
    pub transient_result: &'static str,
}

impl Default for Script {
    fn default() -> Self {
        Self {
            memory_current: u64::MAX,
            start_result: "failed",
            transient_result: "done",
        }
    }
}

#[derive(Clone, Default)]
struct Record {
    calls: Arc<Mutex<Vec<String>>>,
    transient: Arc<Mutex<Vec<(String, OwnedValue)>>>,
}

impl Record {
    fn push(&self, call: String) {
        self.calls.lock().expect("fake state lock").push(call);
    }
}

/// The real client, connected to the fake; keeps the server side alive.
pub(super) struct Fake {
    pub client: SystemdUser,
    record: Record,
    _server: Connection,
}

impl Fake {
    pub async fn serve(script: Script) -> Self {
        let record = Record::default();
        let (server_end, client_end) = tokio::net::UnixStream::pair().expect("socket pair");
        let mut server = zbus::connection::Builder::unix_stream(server_end)
            .server(Guid::generate())
            .expect("server guid")
            .p2p()
            .serve_at(
                super::MANAGER_PATH,
                FakeManager {
                    script,
                    record: record.clone(),
                    next_job: Mutex::new(10),
                },
            )
            .expect("serve the manager");
        for (name, object) in units(&script) {
            server = server
                .serve_at(unit_path(name), object.unit)
                .expect("serve a unit");
            if let Some(service) = object.service {
                server = server
                    .serve_at(unit_path(name), service)
                    .expect("serve a service");
            }
            if let Some(socket) = object.socket {
                server = server
                    .serve_at(unit_path(name), socket)
                    .expect("serve a socket");
            }
        }
        let client = zbus::connection::Builder::unix_stream(client_end)
            .p2p()
            .build();
        let (server, client) = tokio::try_join!(server.build(), client).expect("p2p handshake");
        Self {
            client: SystemdUser::from_connection(client, true)
                .await
                .expect("client over the pair"),
            record,
            _server: server,
        }
    }

    /// Manager method calls in the order the fake received them.
    pub fn calls(&self) -> Vec<String> {
        self.record.calls.lock().expect("fake state lock").clone()
    }

    /// The properties of the last `StartTransientUnit`, as `Name:signature=value`.
    pub fn transient_properties(&self) -> Vec<String> {
        self.record
            .transient
            .lock()
            .expect("fake state lock")
            .iter()
            .map(|(k, v)| format!("{k}:{}={}", v.value_signature(), &**v))
            .collect()
    }
}

/// systemd's object path escaping, enough for the names used here.
fn unit_path(name: &str) -> OwnedObjectPath {
    let escaped: String = name
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' => c.to_string(),
            _ => format!("_{:02x}", c as u32),
        })
        .collect();
    OwnedObjectPath::try_from(format!("/org/freedesktop/systemd1/unit/{escaped}"))
        .expect("valid path")
}

fn known(name: &str) -> bool {
    ["web.service", "hub.socket", "parachute.target"].contains(&name)
}

#[derive(zbus::DBusError, Debug)]
#[zbus(prefix = "org.freedesktop.systemd1")]
enum SystemdError {
    #[zbus(error)]
    ZBus(zbus::Error),
    NoSuchUnit(String),
}

struct FakeManager {
    script: Script,
    record: Record,
    next_job: Mutex<u32>,
}

impl FakeManager {
    fn job(&self) -> (u32, OwnedObjectPath) {
        let mut next = self.next_job.lock().expect("fake state lock");
        *next += 1;
        let path = format!("/org/freedesktop/systemd1/job/{next}");
        (*next, OwnedObjectPath::try_from(path).expect("valid path"))
    }

    /// Announces an unrelated job first, then ours — both before the method
    /// reply, as a fast job can on a real manager.
    async fn finish(
        &self,
        emitter: &SignalEmitter<'_>,
        unit: &str,
        result: &str,
    ) -> Result<OwnedObjectPath, SystemdError> {
        let (other_id, other) = self.job();
        let (id, ours) = self.job();
        Self::job_removed(emitter, other_id, other.as_ref(), "other.service", "done").await?;
        Self::job_removed(emitter, id, ours.as_ref(), unit, result).await?;
        Ok(ours)
    }

    fn require(name: &str) -> Result<(), SystemdError> {
        if name == "missing.service" {
            return Err(SystemdError::NoSuchUnit(format!("Unit {name} not found.")));
        }
        Ok(())
    }
}

#[interface(name = "org.freedesktop.systemd1.Manager")]
impl FakeManager {
    fn subscribe(&self) {
        self.record.push("Subscribe".into());
    }

    fn reload(&self) {
        self.record.push("Reload".into());
    }

    async fn start_unit(
        &self,
        name: String,
        mode: String,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) -> Result<OwnedObjectPath, SystemdError> {
        self.record.push(format!("StartUnit {name} {mode}"));
        Self::require(&name)?;
        self.finish(&emitter, &name, self.script.start_result).await
    }

    async fn stop_unit(
        &self,
        name: String,
        mode: String,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) -> Result<OwnedObjectPath, SystemdError> {
        self.record.push(format!("StopUnit {name} {mode}"));
        Self::require(&name)?;
        self.finish(&emitter, &name, "done").await
    }

    async fn restart_unit(
        &self,
        name: String,
        mode: String,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) -> Result<OwnedObjectPath, SystemdError> {
        self.record.push(format!("RestartUnit {name} {mode}"));
        Self::require(&name)?;
        self.finish(&emitter, &name, "done").await
    }

    fn reset_failed_unit(&self, name: &str) -> Result<(), SystemdError> {
        self.record.push(format!("ResetFailedUnit {name}"));
        if known(name) {
            Ok(())
        } else {
            Err(SystemdError::NoSuchUnit(format!("Unit {name} not loaded.")))
        }
    }

    fn load_unit(&self, name: &str) -> OwnedObjectPath {
        if known(name) {
            unit_path(name)
        } else {
            unit_path("ghost.service")
        }
    }

    fn enable_unit_files(
        &self,
        files: Vec<String>,
        runtime: bool,
        force: bool,
    ) -> (bool, Vec<(String, String, String)>) {
        self.record.push(format!(
            "EnableUnitFiles {} runtime={runtime} force={force}",
            files.join(",")
        ));
        let changes = files
            .into_iter()
            .map(|f| ("symlink".to_owned(), format!("/wants/{f}"), f))
            .collect();
        (true, changes)
    }

    fn disable_unit_files(
        &self,
        files: Vec<String>,
        runtime: bool,
    ) -> Vec<(String, String, String)> {
        self.record.push(format!(
            "DisableUnitFiles {} runtime={runtime}",
            files.join(",")
        ));
        files
            .into_iter()
            .map(|f| ("unlink".to_owned(), format!("/wants/{f}"), String::new()))
            .collect()
    }

    async fn start_transient_unit(
        &self,
        name: String,
        mode: String,
        properties: Vec<(String, OwnedValue)>,
        aux: Vec<(String, Vec<(String, OwnedValue)>)>,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) -> Result<OwnedObjectPath, SystemdError> {
        self.record.push(format!(
            "StartTransientUnit {name} {mode} aux={}",
            aux.len()
        ));
        *self.record.transient.lock().expect("fake state lock") = properties;
        self.finish(&emitter, &name, self.script.transient_result)
            .await
    }

    #[zbus(signal)]
    async fn job_removed(
        emitter: &SignalEmitter<'_>,
        id: u32,
        job: ObjectPath<'_>,
        unit: &str,
        result: &str,
    ) -> zbus::Result<()>;

    #[zbus(property)]
    fn version(&self) -> String {
        "252.38-fake".into()
    }
}

struct FakeUnit {
    load_state: &'static str,
    active_state: &'static str,
    sub_state: &'static str,
    active_enter_timestamp: u64,
    unit_file_state: &'static str,
}

#[interface(name = "org.freedesktop.systemd1.Unit")]
impl FakeUnit {
    #[zbus(property)]
    fn load_state(&self) -> String {
        self.load_state.into()
    }
    #[zbus(property)]
    fn active_state(&self) -> String {
        self.active_state.into()
    }
    #[zbus(property)]
    fn sub_state(&self) -> String {
        self.sub_state.into()
    }
    #[zbus(property)]
    fn active_enter_timestamp(&self) -> u64 {
        self.active_enter_timestamp
    }
    #[zbus(property)]
    fn unit_file_state(&self) -> String {
        self.unit_file_state.into()
    }
    #[zbus(property, name = "InvocationID")]
    fn invocation_id(&self) -> Vec<u8> {
        if self.active_state == "active" {
            vec![
                0x91, 0x90, 0xb4, 0xdb, 0x17, 0x5c, 0x4c, 0xc8, 0xbe, 0x0e, 0x31, 0x65, 0xec, 0xec,
                0x07, 0x27,
            ]
        } else {
            Vec::new()
        }
    }
}

struct FakeService {
    result: &'static str,
    main_pid: u32,
    n_restarts: u32,
    memory_current: u64,
}

#[interface(name = "org.freedesktop.systemd1.Service")]
impl FakeService {
    #[zbus(property)]
    fn result(&self) -> String {
        self.result.into()
    }
    #[zbus(property)]
    fn exec_main_status(&self) -> i32 {
        0
    }
    #[zbus(property, name = "MainPID")]
    fn main_pid(&self) -> u32 {
        self.main_pid
    }
    #[zbus(property, name = "NRestarts")]
    fn n_restarts(&self) -> u32 {
        self.n_restarts
    }
    #[zbus(property)]
    fn memory_current(&self) -> u64 {
        self.memory_current
    }
    #[allow(clippy::type_complexity)]
    #[zbus(property)]
    fn exec_start(&self) -> Vec<(String, Vec<String>, bool, u64, u64, u64, u64, u32, i32, i32)> {
        vec![(
            "/opt/web/bin/web".into(),
            vec!["/opt/web/bin/web".into(), "serve".into()],
            false,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
        )]
    }
}

struct FakeSocket;

#[interface(name = "org.freedesktop.systemd1.Socket")]
impl FakeSocket {
    #[zbus(property)]
    fn result(&self) -> String {
        "trigger-limit-hit".into()
    }
}

struct FakeObject {
    unit: FakeUnit,
    service: Option<FakeService>,
    socket: Option<FakeSocket>,
}

fn units(script: &Script) -> HashMap<&'static str, FakeObject> {
    let unit = |load_state, active_state, sub_state, entered, file_state| FakeUnit {
        load_state,
        active_state,
        sub_state,
        active_enter_timestamp: entered,
        unit_file_state: file_state,
    };
    HashMap::from([
        (
            "web.service",
            FakeObject {
                unit: unit(
                    "loaded",
                    "active",
                    "running",
                    1_700_000_000_000_000,
                    "enabled",
                ),
                service: Some(FakeService {
                    result: "success",
                    main_pid: 4242,
                    n_restarts: 3,
                    memory_current: script.memory_current,
                }),
                socket: None,
            },
        ),
        (
            // systemd still answers for a unit it cannot find, with defaults.
            "ghost.service",
            FakeObject {
                unit: unit("not-found", "inactive", "dead", 0, ""),
                service: Some(FakeService {
                    result: "success",
                    main_pid: 0,
                    n_restarts: 0,
                    memory_current: u64::MAX,
                }),
                socket: None,
            },
        ),
        (
            "hub.socket",
            FakeObject {
                unit: unit("loaded", "failed", "failed", 0, "enabled"),
                service: None,
                socket: Some(FakeSocket),
            },
        ),
        (
            "parachute.target",
            FakeObject {
                unit: unit("loaded", "active", "active", 1, "static"),
                service: None,
                socket: None,
            },
        ),
    ])
}
