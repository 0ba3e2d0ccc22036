// Package alerts will turn each lift's ordered telemetry into alerts that
// people act on: entrapment (explicit and derived), dangerous faults, offline
// terminals, and the SLA clocks and escalation of emergency rescue. It is the
// subject of the next issue and holds no code yet; ingest.Consumer and
// ingest.Ingester.OnStateChange are the hooks it will use.
package alerts
