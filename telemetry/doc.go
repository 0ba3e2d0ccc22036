// Package telemetry implements version 1 of the lift telemetry contract: what a
// monitoring terminal publishes over MQTT and how it is stored in the
// time-series database.
//
// # Topics
//
// A terminal publishes on <root>/<lift>/<kind>. The root defaults to "lifts"
// and may have several levels ("hongkou/lifts"). The lift ID is 1–64
// characters of A-Z a-z 0-9 _ . - and starts with a letter or digit. The kind
// is one of status, trip, door, fault, alarm. The lift named by the topic is
// the authority: a payload carrying a "lift" field that names another lift is
// rejected (ReasonLiftMismatch).
//
// # Payloads
//
// One UTF-8 JSON object of at most 4 KiB. Every kind carries v (=1), boot
// (≥0), seq (≥1, restarting at 1 on each boot) and ts (Unix ms). Unknown fields
// are skipped, whatever their JSON type. Missing required fields, wrong JSON
// types, out-of-range values and unknown enumeration values are rejected with
// a Reason, a small closed set that is safe to use as a metric label.
// Decisions the contract leaves open, taken here:
//   - integers must be written as JSON integers; 3.0 or 3e0 for an int field is
//     a wrong type;
//   - a field that appears twice is malformed JSON (encoding/json would keep
//     the last; a terminal never legitimately does this);
//   - a fault code outside the catalogue but of the form [a-z0-9_]{1,64} is
//     accepted as an unknown code of major severity: a newer terminal's fault
//     must reach a person rather than be dropped;
//   - floors range from -9 to 199 (basements, half-landings numbered as their
//     own landings).
//
// (lift, boot, seq) identifies a message; the Key type carries it.
//
// # Storage
//
// AppendLine encodes a message as one InfluxDB line-protocol point: the
// measurement is the kind, the tags are lift and estate, the fields are the
// payload's fields except v (boot and seq kept as integer fields), and the
// timestamp is ts milliseconds plus seq mod 1,000,000 nanoseconds, so a
// redelivered message lands on the very same point.
package telemetry
