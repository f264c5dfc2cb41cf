//! The sensor images' labels parse as Switchyard reads them, declare the parameters this
//! binary reads, and carry the interface hashes of Temperature.proto.

#[path = "../../labels.rs"]
mod labels;

use switchyard_core::model::ParameterType::{Boolean, Double, Integer, String as Text};

#[test]
fn sensor_labels() {
    let (sends, receives) = labels::temperature_hashes(&["TemperatureReading"], &[]);
    for (dockerfile, with_precision) in [("sensor-1.0.0.Dockerfile", false), ("sensor-1.1.0.Dockerfile", true)] {
        let labels = labels::labels(dockerfile);
        assert_eq!(labels["org.flexiblepower.serviceName"], "Temperature Sensor");
        assert_eq!(labels["org.flexiblepower.defpi_api_version"], "1");

        let interfaces = labels::interfaces(&labels);
        assert_eq!(interfaces.len(), 1);
        let temperature = &interfaces[0];
        assert_eq!(
            (temperature.id.as_str(), temperature.name.as_str(), temperature.service_id.as_str()),
            ("sensor/temperature", "Temperature", "sensor")
        );
        assert!(temperature.allow_multiple);
        assert_eq!(temperature.auto_connect, with_precision, "{dockerfile}: only 1.1.0 connects itself");
        let version = &temperature.interface_versions[0];
        assert_eq!(
            (&version.sends_hash, &version.receives_hash),
            (&sends, &receives),
            "{dockerfile}: hashes of Temperature.proto"
        );

        let mut expected = vec![
            ("interval_ms".to_string(), Integer, false),
            ("unit".to_string(), Text, true),
            ("offset".to_string(), Double, true),
            ("verbose".to_string(), Boolean, true),
        ];
        if with_precision {
            expected.push(("precision".to_string(), Integer, true));
        }
        assert_eq!(labels::parameters(&labels), expected, "{dockerfile}");
    }
}
