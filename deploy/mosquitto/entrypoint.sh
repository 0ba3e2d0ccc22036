#!/bin/sh
# Hash the development passwords into the broker's password file, then run
# Mosquitto. Production keeps a hashed file (mosquitto_passwd) in a secret.
set -e
mkdir -p /mosquitto/config /mosquitto/data
cp /deploy/mosquitto.conf /deploy/acl /mosquitto/config/
cp /deploy/passwd.plain /mosquitto/config/passwd
mosquitto_passwd -U /mosquitto/config/passwd
chown -R mosquitto:mosquitto /mosquitto/config /mosquitto/data 2>/dev/null || true
chmod 0700 /mosquitto/config/passwd /mosquitto/config/acl
exec mosquitto -c /mosquitto/config/mosquitto.conf
