# The anchor image, FROM scratch: one static binary that waits until SIGTERM/SIGINT.
# Switchyard runs it joined to every user network with the alias "orchestrator" and opens
# management connections to processes from its network namespace. Not a service: no
# org.flexiblepower labels, and it lives outside the services/ repository prefix.

FROM scratch

COPY switchyard-anchor /switchyard-anchor

LABEL org.opencontainers.image.title="switchyard-anchor"

STOPSIGNAL SIGTERM
ENTRYPOINT ["/switchyard-anchor"]
