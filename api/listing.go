package api

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/liftwatch/liftwatch/identity"
	"github.com/liftwatch/liftwatch/internal/civil"
)

// Helpers of the maintenance and fund lists and queries. Pagination itself
// (limit, cursor, the Link header) is page.go's; here a list's cursor is
// the key of the last item of the page before, in the list's order, so a
// page does not shift when earlier items are added.

// paginate cuts the page out of items, which are in the list's order and
// each has a unique key; after(item, cursor) reports that item comes after
// the cursor's. It returns the page and the next cursor ("" on the last
// page).
func paginate[T any](items []T, p page, key func(T) string, after func(T, string) bool) ([]T, string) {
	start := 0
	if p.cursor != "" {
		start = len(items)
		for i, it := range items {
			if after(it, p.cursor) {
				start = i
				break
			}
		}
	}
	end := min(start+p.limit, len(items))
	page := items[start:end]
	if end < len(items) && len(page) > 0 {
		return page, key(page[len(page)-1])
	}
	return page, ""
}

// registeredLift is the Object finder of the maintenance, trusteeship and
// fund routes under /lifts/{id}: a lift not in the register is a 404 for
// everyone (with auth on, too: not a 403 that says nothing).
func (s *Server) registeredLift(r *http.Request) (identity.Object, error) {
	id := r.PathValue("id")
	if _, ok := s.d.Lifts.Get(id); !ok {
		return identity.Object{}, notFound("no lift " + strconv.Quote(id))
	}
	return identity.Object{Lift: id}, nil
}

// checkCursor refuses a cursor that is not a key of the shape re.
func checkCursor(p page, re *regexp.Regexp) error {
	if p.cursor != "" && !re.MatchString(p.cursor) {
		return badField("cursor", "cursor %q is not one this list gave (take it from the Link header)", p.cursor)
	}
	return nil
}

var (
	idCursor   = regexp.MustCompile(`^[0-9]{20}$`)
	timeCursor = regexp.MustCompile(`^[0-9]{20}\|.+$`)
)

// timeKey is a sortable key for an instant and a tie-breaker: fixed-width
// milliseconds, then the rest.
func timeKey(t time.Time, rest string) string {
	return pad(t.UnixMilli()) + "|" + rest
}

// idKey is a sortable key for a positive id.
func idKey(id int64) string { return pad(id) }

// pad writes n ≥ 0 with leading zeros, so keys sort as numbers (instants
// before 1970 are not in these lists).
func pad(n int64) string {
	s := strconv.FormatInt(max(n, 0), 10)
	return strings.Repeat("0", 20-len(s)) + s
}

// dateParam reads an optional YYYY-MM-DD parameter (a Shanghai date).
func dateParam(q url.Values, name string) (civil.Date, error) {
	v := q.Get(name)
	if v == "" {
		return civil.Date{}, nil
	}
	d, err := civil.Parse(v)
	if err != nil {
		return d, badField(name, "%s must be a date YYYY-MM-DD, not %q", name, v)
	}
	return d, nil
}

// periodQuery is period for a query whose only parameters are from, to
// and extra: any other parameter is refused.
func periodQuery(q url.Values, required bool, extra ...string) (from, to civil.Date, err error) {
	if err = params(q, nil, append([]string{"from", "to"}, extra...)); err != nil {
		return
	}
	return period(q, required)
}

// period reads from and to (inclusive dates); both are required when
// required is set, and to must not be before from.
func period(q url.Values, required bool) (from, to civil.Date, err error) {
	if from, err = dateParam(q, "from"); err != nil {
		return
	}
	if to, err = dateParam(q, "to"); err != nil {
		return
	}
	switch {
	case required && from.IsZero():
		err = badField("from", "from is required (a date YYYY-MM-DD)")
	case required && to.IsZero():
		err = badField("to", "to is required (a date YYYY-MM-DD)")
	case !from.IsZero() && !to.IsZero() && to.Before(from):
		err = badField("to", "to %s is before from %s", to, from)
	case !from.IsZero() && (from.Before(earliestDate) || from.After(latestDate)):
		err = badField("from", "from %s is outside %s..%s: no lift's ledger reaches there", from, earliestDate, latestDate)
	case !to.IsZero() && (to.Before(earliestDate) || to.After(latestDate)):
		err = badField("to", "to %s is outside %s..%s: no lift's ledger reaches there", to, earliestDate, latestDate)
	case !from.IsZero() && !to.IsZero() && from.DaysUntil(to) >= maxPeriodDays:
		err = badField("to", "a period is at most %d days (five years); %s..%s is %d: ask for it in parts", maxPeriodDays, from, to, from.DaysUntil(to)+1)
	}
	return
}

// The dates a period may name, and its longest span: what a report can
// serve in bounded time and memory beside the alert path (issue 18: one
// reconciliation over 0001-01-01..9999-12-31 returned 91.5 MB in 15.6 s).
var (
	earliestDate = civil.New(2000, time.January, 1)
	latestDate   = civil.New(2099, time.December, 31)
)

const maxPeriodDays = 5*365 + 2
