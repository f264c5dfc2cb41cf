# The sensor 1.1.0 image (adds the precision parameter; its interface is autoConnect), FROM scratch: one static musl binary and the labels the original
# dEF-Pi code generators write (layout of their Dockerfile template: JSON pretty-printed by
# Jackson, one line continuation per line). Built and pushed by scripts/images; the interface
# hashes follow from services/examples/proto/Temperature.proto (checked by the crate's tests).

FROM scratch

COPY sensor /sensor

LABEL org.flexiblepower.serviceName="Temperature Sensor"
LABEL org.flexiblepower.parameters='[ { \
  "id" : "interval_ms", \
  "name" : "Interval (ms)", \
  "type" : "integer", \
  "default" : "1000", \
  "array" : false, \
  "optional" : false \
}, { \
  "id" : "unit", \
  "name" : "Unit", \
  "type" : "string", \
  "values" : [ "celsius", "fahrenheit", "kelvin" ], \
  "labels" : [ "Celsius", "Fahrenheit", "Kelvin" ], \
  "default" : "celsius", \
  "array" : false, \
  "optional" : true \
}, { \
  "id" : "offset", \
  "name" : "Offset", \
  "type" : "double", \
  "default" : "0.0", \
  "array" : false, \
  "optional" : true \
}, { \
  "id" : "verbose", \
  "name" : "Verbose", \
  "type" : "boolean", \
  "default" : "false", \
  "array" : false, \
  "optional" : true \
}, { \
  "id" : "precision", \
  "name" : "Decimals shown", \
  "type" : "integer", \
  "default" : "1", \
  "array" : false, \
  "optional" : true \
} ]'
LABEL org.flexiblepower.interfaces='[ { \
  "id" : "sensor/temperature", \
  "name" : "Temperature", \
  "serviceId" : "sensor", \
  "interfaceVersions" : [ { \
    "versionName" : "1", \
    "receivesHash" : "ee54eafdd182302c62dc1273c6901357a24d0315c767a5099ccac9c68d750803", \
    "sendsHash" : "63c386b2dfbd481c19444a63d3b7b7300a50651665ee4f57457fc7a5fdbed746", \
    "sends" : [ "TemperatureReading" ], \
    "receives" : [ ] \
  } ], \
  "allowMultiple" : true, \
  "autoConnect" : true \
} ]'
LABEL org.flexiblepower.defpi_api_version='1'

ENTRYPOINT ["/sensor"]
