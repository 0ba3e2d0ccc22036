package api

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/liftwatch/liftwatch/identity"
)

// Lists are paginated the same way everywhere (docs/identity.md):
// ?limit= (default 100, at most 1000) and ?cursor= (opaque: the value the
// previous page's Link gave). The body stays a JSON array; the next page's
// URL is in a `Link: <…&cursor=X>; rel="next"` header, absent on the last
// page. Items out of the actor's scope are never counted: a page is full of
// visible items, or it is the last one.
const (
	defaultPage = 100
	maxPage     = 1000
)

// page is a list request's limit and cursor ("" for the first page).
type page struct {
	limit  int
	cursor string
}

// pageParams reads ?limit= and ?cursor= (each at most once: params checks).
func pageParams(r *http.Request) (page, error) {
	n, err := intParam(r, "limit", defaultPage, 1, maxPage)
	if err != nil {
		return page{}, err
	}
	return page{limit: n, cursor: r.URL.Query().Get("cursor")}, nil
}

// int64Cursor reads a cursor that is a positive id ("" is 0: from the start).
func (p page) int64Cursor() (int64, error) {
	if p.cursor == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(p.cursor, 10, 64)
	if err != nil || n <= 0 {
		return 0, badField("cursor", "cursor %q is not one this list gave (take it from the Link header)", p.cursor)
	}
	return n, nil
}

// setNext adds the Link header of the page after this one, which starts at
// cursor; "" leaves it out (this is the last page).
func setNext(w http.ResponseWriter, r *http.Request, cursor string) {
	if cursor == "" {
		return
	}
	q := r.URL.Query()
	q.Set("cursor", cursor)
	u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
	w.Header().Set("Link", "<"+u.String()+`>; rel="next"`)
}

// writePage answers a list's page: items (at most p.limit of them), and the
// Link to the next page if there is one.
func writePage[T any](w http.ResponseWriter, r *http.Request, items []T, next string) int {
	if items == nil {
		items = []T{}
	}
	setNext(w, r, next)
	return writeJSON(w, http.StatusOK, items)
}

// scopeLifts is the set of registered lifts the request's actor may do act
// on; all is true when that is every lift (an admin, or no auth), and the
// set is then nil. List handlers narrow their queries to it, so a page is
// counted in visible items.
func (s *Server) scopeLifts(r *http.Request, act identity.Action) (set map[string]bool, all bool) {
	if s.d.Auth == nil {
		return nil, true
	}
	a, ok := identity.ActorFrom(r.Context())
	if !ok {
		return map[string]bool{}, false
	}
	if a.Role == identity.RoleAdmin {
		return nil, true
	}
	set = map[string]bool{}
	for _, l := range s.d.Lifts.Lifts() {
		if s.visible(r, act, identity.Object{Lift: l.ID}) {
			set[l.ID] = true
		}
	}
	return set, false
}

// narrow limits a lift filter to the lifts in scope: the filter's lifts
// that are in it, or (no filter) all of them. ok is false when nothing is
// left: the answer is an empty list.
func narrow(filter []string, set map[string]bool, all bool) (out []string, ok bool) {
	if all {
		return filter, true
	}
	if len(filter) == 0 {
		for id := range set {
			out = append(out, id)
		}
	} else {
		for _, id := range filter {
			if set[id] {
				out = append(out, id)
			}
		}
	}
	return out, len(out) > 0
}
