package alerts

import "time"

// RescueReport is one estate's emergency-rescue figures for a month.
type RescueReport struct {
	Estate              string  `json:"estate"`
	Month               string  `json:"month"` // YYYY-MM
	Lifts               int     `json:"lifts"`
	Entrapments         int     `json:"entrapments"`
	EntrapmentsPerLift  float64 `json:"entrapments_per_lift"`
	Arrived             int     `json:"arrived"`
	MeanArrivalMinutes  float64 `json:"mean_arrival_minutes"`
	ShareWithin30       float64 `json:"share_on_site_within_limit"`
	MeanAckSeconds      float64 `json:"mean_acknowledge_seconds"`
	MeanResolveMinutes  float64 `json:"mean_resolve_minutes"`
	OnSiteLimitMinutes  float64 `json:"on_site_limit_minutes"`
	StillOpen           int     `json:"still_open"`
	Pending             int     `json:"pending"` // no arrival yet, still inside the limit: not in ShareWithin30
	EscalatedToTier2Or3 int     `json:"escalated"`
}

// Report computes an estate's rescue report from its entrapment alerts of
// the month; lifts is the number of lifts in the estate and limit the
// on-site limit of its policy. ShareWithin30 counts decided outcomes only:
// an arrival (within or after the limit) or no arrival with the limit passed
// at now (late); an alert still inside its limit is Pending.
func Report(estate, month string, lifts int, limit time.Duration, now time.Time, entrapments []*Alert) RescueReport {
	r := RescueReport{Estate: estate, Month: month, Lifts: lifts, Entrapments: len(entrapments), OnSiteLimitMinutes: limit.Minutes()}
	if lifts > 0 {
		r.EntrapmentsPerLift = float64(len(entrapments)) / float64(lifts)
	}
	var arrive, ack, resolve time.Duration
	var acked, resolved, within, decided int
	for _, a := range entrapments {
		switch {
		case a.OnSiteAt != nil:
			decided++
		case now.Sub(a.OpenedAt) > limit:
			decided++ // late: nobody there and the limit has passed
		default:
			r.Pending++
		}
		if a.OnSiteAt != nil {
			r.Arrived++
			d := a.OnSiteAt.Sub(a.OpenedAt)
			arrive += d
			if d <= limit {
				within++
			}
		}
		if a.AckAt != nil {
			acked++
			ack += a.AckAt.Sub(a.OpenedAt)
		}
		if a.ResolvedAt != nil {
			resolved++
			resolve += a.ResolvedAt.Sub(a.OpenedAt)
		} else {
			r.StillOpen++
		}
		if a.Tier > 1 {
			r.EscalatedToTier2Or3++
		}
	}
	if r.Arrived > 0 {
		r.MeanArrivalMinutes = arrive.Minutes() / float64(r.Arrived)
	}
	if decided > 0 {
		r.ShareWithin30 = float64(within) / float64(decided)
	}
	if acked > 0 {
		r.MeanAckSeconds = ack.Seconds() / float64(acked)
	}
	if resolved > 0 {
		r.MeanResolveMinutes = resolve.Minutes() / float64(resolved)
	}
	return r
}
