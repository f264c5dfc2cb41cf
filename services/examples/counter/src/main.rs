//! "counter": counts up by `step` every `interval_ms` and logs the count, the example of a
//! service that receives: its "Temperature" interface mirrors the sensor's (one connection at
//! most), and it logs every reading that arrives on it. The count is its state across suspend
//! and resume.
//!
//! Parameters (see `services/images/counter-1.0.0.Dockerfile`): `step` (integer, required,
//! no default: a configuration without it is refused), `interval_ms` (integer, default 1000),
//! `name` (string, shown in the log, default "counter").

use std::{
    process::ExitCode,
    sync::{
        atomic::{AtomicI64, Ordering},
        Arc,
    },
    time::Duration,
};

use switchyard_service::{CallbackError, Config, Connection, ConnectionHandler, InterfaceVersion, Message, Service};
use temperature::TemperatureReading;

#[path = "../../temperature.rs"]
mod temperature;

/// The counter's end of a "Temperature" connection: logs each reading.
struct Readings {
    peer: String,
    received: u64,
}

impl ConnectionHandler for Readings {
    fn on_message(&mut self, message: Message<'_>) {
        match message.decode::<TemperatureReading>() {
            Ok(Some(r)) => {
                self.received += 1;
                info!(
                    from = %self.peer,
                    received = self.received,
                    "received reading {}: {:.3} {}",
                    r.sequence,
                    r.value,
                    r.unit
                );
            }
            Ok(None) => info!(type_name = message.type_name().unwrap_or("?"), "unexpected message type; dropped"),
            Err(e) => info!("undecodable reading: {e}"),
        }
    }
    fn on_interrupt(&mut self) {
        info!(from = %self.peer, "connection interrupted");
    }
    fn resume_after_interrupt(&mut self) {
        info!(from = %self.peer, "connection back");
    }
    fn terminated(&mut self) {
        info!(from = %self.peer, received = self.received, "connection ended");
    }
}
use tokio::{task::JoinHandle, time::MissedTickBehavior};
use tracing::info;

fn main() -> ExitCode {
    switchyard_service::run(Counter::default())
}

#[derive(Clone, Debug, PartialEq)]
struct Settings {
    step: i64,
    interval: Duration,
    name: String,
}

impl Settings {
    fn from_config(config: &Config) -> Result<Self, CallbackError> {
        let interval_ms = config.get_i64_or("interval_ms", 1000)?;
        if !(1..=86_400_000).contains(&interval_ms) {
            return Err(format!("interval_ms must be between 1 and 86400000, not {interval_ms}").into());
        }
        Ok(Settings {
            step: config.get_i64("step")?,
            interval: Duration::from_millis(interval_ms as u64),
            name: config.get_str_or("name", "counter").to_string(),
        })
    }
}

#[derive(Default)]
struct Counter {
    count: Arc<AtomicI64>,
    ticker: Option<JoinHandle<()>>,
}

impl Counter {
    fn start(&mut self, settings: Settings) {
        self.stop();
        let interval_ms = settings.interval.as_millis() as u64;
        info!(name = %settings.name, step = settings.step, interval_ms, "counter running");
        let count = self.count.clone();
        self.ticker = Some(tokio::spawn(async move {
            let mut ticks =
                tokio::time::interval_at(tokio::time::Instant::now() + settings.interval, settings.interval);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                // Wrapping, so an absurd step cannot panic the task.
                let now = count.fetch_add(settings.step, Ordering::SeqCst).wrapping_add(settings.step);
                info!(name = %settings.name, count = now, "counted");
            }
        }));
    }

    fn stop(&mut self) {
        if let Some(ticker) = self.ticker.take() {
            ticker.abort();
        }
    }
}

impl Service for Counter {
    fn interfaces(&self) -> Vec<InterfaceVersion> {
        vec![temperature::interface_version(false)]
    }

    fn connected(&mut self, _version: &InterfaceVersion, connection: Connection) -> Option<Box<dyn ConnectionHandler>> {
        let peer = connection.info().remote_process_name.clone();
        info!(peer = %peer, connection = %connection.info().connection_id, "connected");
        Some(Box::new(Readings { peer, received: 0 }))
    }

    fn init(&mut self, config: &Config) -> Result<(), CallbackError> {
        self.start(Settings::from_config(config)?);
        Ok(())
    }

    fn modify(&mut self, config: &Config) -> Result<(), CallbackError> {
        self.init(config)
    }

    /// The state is the current count, as 8 big-endian bytes (two's complement).
    fn suspend(&mut self) -> Vec<u8> {
        self.stop();
        let count = self.count.load(Ordering::SeqCst);
        info!(count, "counter suspended");
        count.to_be_bytes().to_vec()
    }

    fn resume_from(&mut self, state: Option<&[u8]>) -> Result<(), CallbackError> {
        let count = match state {
            None => 0,
            Some(bytes) => i64::from_be_bytes(
                bytes.try_into().map_err(|_| format!("the counter's state is 8 bytes, not {}", bytes.len()))?,
            ),
        };
        self.count.store(count, Ordering::SeqCst);
        info!(count, "counter resumed");
        Ok(())
    }

    fn terminate(&mut self) {
        self.stop();
        info!(count = self.count.load(Ordering::SeqCst), "counter terminated");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Config {
        Config::new(pairs.iter().copied(), Arc::default())
    }

    #[test]
    fn step_is_required() {
        let err = Settings::from_config(&config(&[])).unwrap_err();
        assert_eq!(err.to_string(), "configuration value 'step' is missing");
        let s = Settings::from_config(&config(&[("step", "-3"), ("interval_ms", "50"), ("name", "down")])).unwrap();
        assert_eq!(s, Settings { step: -3, interval: Duration::from_millis(50), name: "down".into() });
        assert!(Settings::from_config(&config(&[("step", "1"), ("interval_ms", "-1")])).is_err());
    }

    #[test]
    fn state_round_trip() {
        let mut counter = Counter::default();
        counter.count.store(-42, Ordering::SeqCst);
        let state = counter.suspend();
        let mut next = Counter::default();
        next.resume_from(Some(&state)).unwrap();
        assert_eq!(next.count.load(Ordering::SeqCst), -42);
        assert!(next.resume_from(Some(&[])).is_err());
    }
}
