package alerts

import (
	"slices"
	"time"
)

// AlertQuery selects alerts; zero fields select everything. Each of State,
// Lift, Estate, Severity and Type is one more allowed value of its plural
// field: an alert matches if it has any of the allowed values. The store
// answers it in SQL; Match answers it for one alert (the live stream).
type AlertQuery struct {
	Open     bool
	State    string
	Lift     string
	Estate   string
	Severity string
	Type     string
	Since    time.Time // opened at or after
	Until    time.Time // opened before
	Limit    int
	// BeforeID selects alerts with a smaller id (the next page of a list,
	// which is newest first); 0: from the newest.
	BeforeID int64

	States, Lifts, Estates, Severities, Types []string
}

// AnyOf returns the allowed values of one field of a query: the plural list
// plus the single value (none: any value).
func AnyOf(single string, multi []string) []string {
	if single == "" {
		return multi
	}
	return append(append([]string(nil), multi...), single)
}

// Match applies the query, Limit aside, to one alert, as the store's List
// does.
func (q *AlertQuery) Match(a *Alert) bool {
	in := func(v, single string, multi []string) bool {
		allowed := AnyOf(single, multi)
		return len(allowed) == 0 || slices.Contains(allowed, v)
	}
	return (!q.Open || a.Open()) && in(string(a.State), q.State, q.States) && in(a.Lift, q.Lift, q.Lifts) &&
		in(a.Estate, q.Estate, q.Estates) && in(a.Severity.String(), q.Severity, q.Severities) && in(a.Type, q.Type, q.Types) &&
		(q.Since.IsZero() || !a.OpenedAt.Before(q.Since)) && (q.Until.IsZero() || a.OpenedAt.Before(q.Until)) && (q.BeforeID == 0 || a.ID < q.BeforeID)
}
