// Package maintenance will schedule routine maintenance under the
// post-construction management model: regulatory cycles (TSG T5002) and
// usage-based intervals fed by the lifts' counters, work orders, proof of
// visits from inspection mode, and the owners' fund. It holds no code yet.
package maintenance
