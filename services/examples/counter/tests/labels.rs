//! The counter image's labels parse as Switchyard reads them, declare the parameters this
//! binary reads, and its Temperature interface mirrors the sensor's, so the two can connect.

#[path = "../../labels.rs"]
mod labels;

use switchyard_core::model::ParameterType::{Integer, String as Text};

#[test]
fn counter_labels() {
    let labels = labels::labels("counter-1.0.0.Dockerfile");
    assert_eq!(labels["org.flexiblepower.serviceName"], "Counter");

    let interfaces = labels::interfaces(&labels);
    assert_eq!(interfaces.len(), 1);
    let temperature = &interfaces[0];
    assert_eq!((temperature.id.as_str(), temperature.service_id.as_str()), ("counter/temperature", "counter"));
    assert!(!temperature.allow_multiple && !temperature.auto_connect);
    let (sends, receives) = labels::temperature_hashes(&[], &["TemperatureReading"]);
    let version = &temperature.interface_versions[0];
    assert_eq!((&version.sends_hash, &version.receives_hash), (&sends, &receives));

    let sensor = labels::interfaces(&labels::labels("sensor-1.0.0.Dockerfile"));
    assert!(temperature.is_compatible_with(&sensor[0]), "counter and sensor mirror each other");
    assert!(!temperature.is_compatible_with(temperature), "a receiver does not fit a receiver");

    let expected = vec![
        ("step".to_string(), Integer, false),
        ("interval_ms".to_string(), Integer, true),
        ("name".to_string(), Text, true),
    ];
    assert_eq!(labels::parameters(&labels), expected);

    // 1.1.0: the same but autoConnect.
    let labels11 = labels::labels("counter-1.1.0.Dockerfile");
    let interfaces11 = labels::interfaces(&labels11);
    assert!(interfaces11[0].auto_connect && !interfaces11[0].allow_multiple);
    assert_eq!(interfaces11[0].interface_versions, temperature.interface_versions);
    assert_eq!(labels::parameters(&labels11), expected);
}

/// 2.0.0 adds interface version "2" (it relays readings: sends and receives them), which no
/// sensor speaks; its version "1" is 1.0.0's, so an upgrade keeps a sensor's connection on "1".
#[test]
fn counter_2_adds_an_interface_version() {
    let v1 = labels::interfaces(&labels::labels("counter-1.0.0.Dockerfile"));
    let v2 = labels::interfaces(&labels::labels("counter-2.0.0.Dockerfile"));
    let versions = &v2[0].interface_versions;
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0], v1[0].interface_versions[0]);
    let (sends, receives) = labels::temperature_hashes(&["TemperatureReading"], &["TemperatureReading"]);
    assert_eq!(
        (versions[1].version_name.as_str(), &versions[1].sends_hash, &versions[1].receives_hash),
        ("2", &sends, &receives)
    );
    let sensor = labels::interfaces(&labels::labels("sensor-1.0.0.Dockerfile"));
    let (mine, theirs) = switchyard_core::model::choose_versions(&v2[0], &sensor[0]).expect("still fits the sensor");
    assert_eq!((mine.version_name.as_str(), theirs.version_name.as_str()), ("1", "1"));
    assert_eq!(
        labels::parameters(&labels::labels("counter-2.0.0.Dockerfile")),
        labels::parameters(&labels::labels("counter-1.0.0.Dockerfile"))
    );
}
