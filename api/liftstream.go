package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/liftwatch/liftwatch/identity"
)

// LiftFeed is the coalesced feed of lift changes (liftstate.Feed): at most
// one change per lift per flush interval, whatever the message rate.
type LiftFeed interface {
	Subscribe() (ready <-chan struct{}, take func() []string, cancel func())
}

// streamLifts serves GET /api/v1/lifts/stream: server-sent events
// `event: lift` whose data is the lift's view (as GET /api/v1/lifts/{id}),
// for every change of a lift the actor may read (at most one per lift per
// second: the feed coalesces), optionally only of ?estate= and ?lift=. The
// client loads /api/v1/lifts first and applies the events on top.
func (s *Server) streamLifts(w http.ResponseWriter, r *http.Request) int {
	fl, ok := w.(http.Flusher)
	if !ok {
		return writeError(w, http.StatusInternalServerError, "streaming unsupported")
	}
	q := r.URL.Query()
	if err := params(q, []string{"estate", "lift"}, nil); err != nil {
		return writeBad(w, err)
	}
	estates, _ := values(q, "estate", nil, "")
	lifts, _ := values(q, "lift", nil, "")
	if err := s.inRegister(r, estates, lifts); err != nil {
		return writeBad(w, err)
	}
	ctx, stop := s.streamContext(r)
	defer stop()
	ready, take, cancel := s.d.LiftFeed.Subscribe()
	defer cancel()
	may := s.liftFilter(r, identity.ReadLift)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": liftwatch lift stream\n\n")
	fl.Flush()
	keep := time.NewTicker(15 * time.Second)
	defer keep.Stop()
	for {
		select {
		case <-ctx.Done():
			if r.Context().Err() == nil {
				fmt.Fprint(w, streamEnded)
				fl.Flush()
			}
			return http.StatusOK
		case <-keep.C:
			fmt.Fprint(w, ": keep-alive\n\n")
			fl.Flush()
		case <-ready:
			sent := false
			for _, id := range take() {
				if len(lifts) > 0 && !slices.Contains(lifts, id) || !may(id) {
					continue
				}
				l, ok := s.d.Lifts.Get(id)
				if !ok || len(estates) > 0 && !slices.Contains(estates, l.Estate) {
					continue
				}
				b, _ := json.Marshal(s.view(l))
				fmt.Fprintf(w, "event: lift\ndata: %s\n\n", b)
				sent = true
			}
			if sent {
				fl.Flush()
			}
		}
	}
}
