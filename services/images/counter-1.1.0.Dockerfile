# The counter 1.1.0 image: the same binary as 1.0.0, its Temperature interface marked
# autoConnect, so a counter 1.1.0 and a sensor 1.1.0 of one user connect themselves. FROM
# scratch: one static musl binary and the labels the original dEF-Pi code generators write (layout of their Dockerfile template: JSON pretty-printed by
# Jackson, one line continuation per line). Built and pushed by scripts/images; the interface
# hashes follow from services/examples/proto/Temperature.proto (checked by the crate's tests).

FROM scratch

COPY counter /counter

LABEL org.flexiblepower.serviceName="Counter"
LABEL org.flexiblepower.parameters='[ { \
  "id" : "step", \
  "name" : "Step", \
  "type" : "integer", \
  "array" : false, \
  "optional" : false \
}, { \
  "id" : "interval_ms", \
  "name" : "Interval (ms)", \
  "type" : "integer", \
  "default" : "1000", \
  "array" : false, \
  "optional" : true \
}, { \
  "id" : "name", \
  "name" : "Name", \
  "type" : "string", \
  "default" : "counter", \
  "array" : false, \
  "optional" : true \
} ]'
LABEL org.flexiblepower.interfaces='[ { \
  "id" : "counter/temperature", \
  "name" : "Temperature", \
  "serviceId" : "counter", \
  "interfaceVersions" : [ { \
    "versionName" : "1", \
    "receivesHash" : "63c386b2dfbd481c19444a63d3b7b7300a50651665ee4f57457fc7a5fdbed746", \
    "sendsHash" : "ee54eafdd182302c62dc1273c6901357a24d0315c767a5099ccac9c68d750803", \
    "sends" : [ ], \
    "receives" : [ "TemperatureReading" ] \
  } ], \
  "allowMultiple" : false, \
  "autoConnect" : true \
} ]'
LABEL org.flexiblepower.defpi_api_version='1'

ENTRYPOINT ["/counter"]
