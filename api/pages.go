package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/liftwatch/liftwatch/alerts"

	"github.com/liftwatch/liftwatch/alerts/paging"
	"github.com/liftwatch/liftwatch/identity"
)

// AlertPages lists the pages sent for an alert (alerts/paging): who was
// paged, on which channel, what became of it.
type AlertPages interface {
	Pages(ctx context.Context, alertID int64) ([]paging.View, error)
}

// HandleAlertPages serves GET /api/v1/alerts/{id}/pages, scoped as the
// alert itself. Call it before serving, with the alert routes on.
func (s *Server) HandleAlertPages(p AlertPages) {
	s.handle("GET /api/v1/alerts/{id}/pages", Guard{Action: identity.ReadAlert, Object: s.alertInPath}, func(w http.ResponseWriter, r *http.Request) int {
		id, err := pathID(r)
		if err != nil {
			return writeBad(w, err)
		}
		_, err = s.d.Alerts.Records.Alert(r.Context(), id)
		var nf *alerts.NotFoundError
		if errors.As(err, &nf) {
			return writeError(w, http.StatusNotFound, err.Error())
		}
		if err != nil {
			s.d.Logger.Error("get alert", "id", id, "err", err)
			return writeError(w, http.StatusInternalServerError, "reading the alert failed")
		}
		list, err := p.Pages(r.Context(), id)
		if err != nil {
			s.d.Logger.Error("pages of alert", "alert", id, "err", err)
			return writeCoded(w, http.StatusInternalServerError, "internal", "cannot list the pages now")
		}
		if list == nil {
			list = []paging.View{}
		}
		return writeJSON(w, http.StatusOK, list)
	})
}
