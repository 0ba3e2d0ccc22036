package simulator

import (
	"math"
	"math/rand/v2"
	"time"
)

// shanghai is China Standard Time; the daily profile follows local hours.
var shanghai = time.FixedZone("CST", 8*3600)

// hourWeight is the relative traffic of each local hour: morning (7–9) and
// evening (17–20) peaks, little between 0 and 6.
var hourWeight = [24]float64{
	0.15, 0.08, 0.05, 0.05, 0.08, 0.3, // 0–5
	1.0, 2.6, 2.8, 1.6, 1.1, 1.2, // 6–11
	1.4, 1.1, 1.0, 1.0, 1.3, 2.4, // 12–17
	2.8, 2.6, 1.9, 1.2, 0.7, 0.35, // 18–23
}

var hourShare, maxShare = func() ([24]float64, float64) {
	var s [24]float64
	sum := 0.0
	for _, w := range hourWeight {
		sum += w
	}
	mx := 0.0
	for i, w := range hourWeight {
		s[i] = w / sum
		mx = math.Max(mx, s[i])
	}
	return s, mx
}()

// runsPerCall is how many car runs a passenger call makes on average: the
// journey itself plus, about half the time, a run to fetch the car.
const runsPerCall = 1.5

// nextCall draws the time of the next passenger call after t for a lift that
// averages tripsPerDay runs a day, from an inhomogeneous Poisson process
// (thinning against the peak hour).
func nextCall(r *rand.Rand, t time.Time, tripsPerDay float64) time.Time {
	callsPerDay := tripsPerDay / runsPerCall
	peakPerSec := callsPerDay * maxShare / 3600
	for i := 0; i < 10000; i++ {
		t = t.Add(time.Duration(r.ExpFloat64() / peakPerSec * float64(time.Second)))
		h := t.In(shanghai).Hour()
		if r.Float64() < hourShare[h]/maxShare {
			return t
		}
	}
	return t
}

// expDuration draws an exponentially distributed interval with the given
// mean, for rare events (faults, reboots).
func expDuration(r *rand.Rand, mean time.Duration) time.Duration {
	return time.Duration(r.ExpFloat64() * float64(mean))
}

func uniform(r *rand.Rand, lo, hi time.Duration) time.Duration {
	return lo + time.Duration(r.Int64N(int64(hi-lo)+1))
}
