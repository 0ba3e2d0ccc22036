// Package maintenance is the domain core of routine maintenance under the
// post-construction management model (docs/maintenance.md): the plans
// (periodic TSG T5002 levels, on-demand intervals from usage and health,
// meter triggers, periodic inspection), work orders and their lifecycle,
// proof of visit from inspection mode, supervision events and the monthly
// compliance report. It reads everything it does not own through small
// interfaces (contractor of a lift, counters and health, inspection
// sessions, rescue call-outs) and keeps its records in a Store
// (store/maintenance.go).
package maintenance
