//! "sensor": a simulated temperature sensor, the example of a service that sends. Every
//! `interval_ms` it logs one reading; the count of readings is its state, so a sensor that is
//! suspended and resumed elsewhere goes on counting where it stopped. Each reading is also sent
//! as a `TemperatureReading` on every connected "Temperature" connection (any number of them).
//!
//! Parameters (see `services/images/sensor-*.Dockerfile`): `interval_ms` (integer, default
//! 1000), `unit` (`celsius`, `fahrenheit` or `kelvin`), `offset` (double, added in the chosen
//! unit), `verbose` (boolean: also log the raw simulated value), and from version 1.1.0
//! `precision` (integer, decimals shown, default 1).

use std::{
    process::ExitCode,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use switchyard_service::{
    CallbackError, Config, Connection, ConnectionHandler, ConnectionState, InterfaceVersion, Message, Service,
};
use temperature::TemperatureReading;

#[path = "../../temperature.rs"]
mod temperature;
use tokio::{task::JoinHandle, time::MissedTickBehavior};
use tracing::info;

fn main() -> ExitCode {
    switchyard_service::run(Sensor::default())
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Unit {
    Celsius,
    Fahrenheit,
    Kelvin,
}

impl Unit {
    fn parse(text: &str) -> Result<Self, CallbackError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "celsius" => Ok(Unit::Celsius),
            "fahrenheit" => Ok(Unit::Fahrenheit),
            "kelvin" => Ok(Unit::Kelvin),
            other => Err(format!("unit must be celsius, fahrenheit or kelvin, not {other:?}").into()),
        }
    }

    fn convert(self, celsius: f64) -> f64 {
        match self {
            Unit::Celsius => celsius,
            Unit::Fahrenheit => celsius * 9.0 / 5.0 + 32.0,
            Unit::Kelvin => celsius + 273.15,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Unit::Celsius => "celsius",
            Unit::Fahrenheit => "fahrenheit",
            Unit::Kelvin => "kelvin",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
struct Settings {
    interval: Duration,
    unit: Unit,
    offset: f64,
    verbose: bool,
    precision: usize,
}

impl Settings {
    fn from_config(config: &Config) -> Result<Self, CallbackError> {
        let interval_ms = config.get_i64_or("interval_ms", 1000)?;
        if !(1..=86_400_000).contains(&interval_ms) {
            return Err(format!("interval_ms must be between 1 and 86400000, not {interval_ms}").into());
        }
        let precision = config.get_i64_or("precision", 1)?;
        if !(0..=9).contains(&precision) {
            return Err(format!("precision must be between 0 and 9, not {precision}").into());
        }
        Ok(Settings {
            interval: Duration::from_millis(interval_ms as u64),
            unit: Unit::parse(config.get_str_or("unit", "celsius"))?,
            offset: config.get_f64_or("offset", 0.0)?,
            verbose: config.get_bool_or("verbose", false)?,
            precision: precision as usize,
        })
    }
}

/// A day-like swing around 20 °C, one period every 60 readings: deterministic, so a test
/// can tell readings apart by their sequence number alone.
fn simulated_celsius(sequence: u64) -> f64 {
    20.0 + 3.0 * (sequence as f64 * std::f64::consts::TAU / 60.0).sin()
}

/// The connections readings go to.
type Links = Arc<Mutex<Vec<Connection>>>;

#[derive(Default)]
struct Sensor {
    /// Readings taken so far, shared with the ticking task.
    readings: Arc<AtomicU64>,
    ticker: Option<JoinHandle<()>>,
    links: Links,
}

/// A connection of the sensor's: it only sends, so it just forgets the connection at the end.
struct Link {
    id: String,
    links: Links,
}

impl ConnectionHandler for Link {
    fn on_message(&mut self, message: Message<'_>) {
        info!(connection = %self.id, bytes = message.payload().len(), "unexpected message on the sending interface; dropped");
    }
    fn terminated(&mut self) {
        self.links.lock().expect("not poisoned").retain(|c| c.info().connection_id != self.id);
        info!(connection = %self.id, "connection ended");
    }
}

impl Sensor {
    fn start(&mut self, settings: Settings) {
        self.stop();
        info!(
            interval_ms = settings.interval.as_millis() as u64,
            unit = settings.unit.name(),
            offset = settings.offset,
            "sensor running"
        );
        let readings = self.readings.clone();
        let links = self.links.clone();
        // Callbacks run inside the service library's tokio runtime.
        self.ticker = Some(tokio::spawn(async move {
            let mut ticks =
                tokio::time::interval_at(tokio::time::Instant::now() + settings.interval, settings.interval);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let sequence = readings.fetch_add(1, Ordering::SeqCst) + 1;
                let raw = simulated_celsius(sequence);
                let value = settings.unit.convert(raw) + settings.offset;
                let unit = settings.unit.name();
                let reading = TemperatureReading { sequence, value, unit: unit.to_string() };
                let targets: Vec<Connection> = links.lock().expect("not poisoned").clone();
                let mut sent = 0;
                for link in targets.iter().filter(|c| c.state() == ConnectionState::Connected) {
                    match link.send(&reading) {
                        Ok(()) => sent += 1,
                        Err(e) => info!(connection = %link.info().connection_id, "reading not sent: {e}"),
                    }
                }
                if sent > 0 {
                    info!(readings = sequence, connections = sent, "sent reading {sequence}");
                }
                if settings.verbose {
                    info!(
                        readings = sequence,
                        raw_celsius = raw,
                        "temperature {value:.prec$} {unit}",
                        prec = settings.precision
                    );
                } else {
                    info!(readings = sequence, "temperature {value:.prec$} {unit}", prec = settings.precision);
                }
            }
        }));
    }

    fn stop(&mut self) {
        if let Some(ticker) = self.ticker.take() {
            ticker.abort();
        }
    }
}

impl Service for Sensor {
    fn interfaces(&self) -> Vec<InterfaceVersion> {
        vec![temperature::interface_version(true)]
    }

    fn connected(&mut self, _version: &InterfaceVersion, connection: Connection) -> Option<Box<dyn ConnectionHandler>> {
        let id = connection.info().connection_id.clone();
        info!(connection = %id, peer = %connection.info().remote_process_name, "connected: readings go there too");
        self.links.lock().expect("not poisoned").push(connection);
        Some(Box::new(Link { id, links: self.links.clone() }))
    }

    fn init(&mut self, config: &Config) -> Result<(), CallbackError> {
        self.start(Settings::from_config(config)?);
        Ok(())
    }

    fn modify(&mut self, config: &Config) -> Result<(), CallbackError> {
        self.init(config)
    }

    /// The state is the number of readings so far, as 8 big-endian bytes.
    fn suspend(&mut self) -> Vec<u8> {
        self.stop();
        let readings = self.readings.load(Ordering::SeqCst);
        info!(readings, "sensor suspended");
        readings.to_be_bytes().to_vec()
    }

    fn resume_from(&mut self, state: Option<&[u8]>) -> Result<(), CallbackError> {
        let readings = match state {
            None => 0,
            Some(bytes) => u64::from_be_bytes(
                bytes.try_into().map_err(|_| format!("the sensor's state is 8 bytes, not {}", bytes.len()))?,
            ),
        };
        // The ticker, if init already started it, continues from here.
        self.readings.store(readings, Ordering::SeqCst);
        info!(readings, "sensor resumed");
        Ok(())
    }

    fn terminate(&mut self) {
        self.stop();
        info!(readings = self.readings.load(Ordering::SeqCst), "sensor terminated");
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
    fn settings_from_the_configuration() {
        let s = Settings::from_config(&config(&[])).unwrap();
        assert_eq!(
            s,
            Settings {
                interval: Duration::from_secs(1),
                unit: Unit::Celsius,
                offset: 0.0,
                verbose: false,
                precision: 1
            }
        );
        let s = Settings::from_config(&config(&[
            ("interval_ms", "250"),
            ("unit", "Kelvin"),
            ("offset", "-0.5"),
            ("verbose", "true"),
            ("precision", "3"),
        ]))
        .unwrap();
        assert_eq!(
            s,
            Settings {
                interval: Duration::from_millis(250),
                unit: Unit::Kelvin,
                offset: -0.5,
                verbose: true,
                precision: 3
            }
        );
        for bad in [
            ("interval_ms", "0"),
            ("interval_ms", "fast"),
            ("unit", "rankine"),
            ("verbose", "maybe"),
            ("precision", "12"),
        ] {
            assert!(Settings::from_config(&config(&[bad])).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn units_and_the_simulation() {
        assert_eq!(Unit::Fahrenheit.convert(100.0), 212.0);
        assert_eq!(Unit::Kelvin.convert(0.0), 273.15);
        assert_eq!(simulated_celsius(0), 20.0);
        assert!((simulated_celsius(15) - 23.0).abs() < 1e-9);
    }

    #[test]
    fn state_round_trip() {
        let mut sensor = Sensor::default();
        sensor.readings.store(1234, Ordering::SeqCst);
        let state = sensor.suspend();
        assert_eq!(state, 1234u64.to_be_bytes());
        let mut next = Sensor::default();
        next.resume_from(Some(&state)).unwrap();
        assert_eq!(next.readings.load(Ordering::SeqCst), 1234);
        assert!(next.resume_from(Some(&[1, 2, 3])).is_err());
        next.resume_from(None).unwrap();
        assert_eq!(next.readings.load(Ordering::SeqCst), 0);
    }
}
