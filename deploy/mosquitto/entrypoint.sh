#!/bin/sh
# Hash the development passwords into the broker's two password files (the
# terminals' listener and the services'), then run Mosquitto. Production
# keeps hashed files (mosquitto_passwd) in a secret.
set -e
mkdir -p /mosquitto/config /mosquitto/data
cp /deploy/mosquitto.conf /deploy/terminals.acl /deploy/services.acl /mosquitto/config/
for f in terminals services; do
  cp "/deploy/$f.passwd.plain" "/mosquitto/config/$f.passwd"
  mosquitto_passwd -U "/mosquitto/config/$f.passwd"
done
chown -R mosquitto:mosquitto /mosquitto/config /mosquitto/data 2>/dev/null || true
chmod 0700 /mosquitto/config/terminals.passwd /mosquitto/config/services.passwd /mosquitto/config/terminals.acl /mosquitto/config/services.acl
exec mosquitto -c /mosquitto/config/mosquitto.conf
