// Package silence holds the silences people set: a time window in which the
// non-critical alerts of a lift or an estate are recorded but not notified
// (Alertmanager's silences). Inhibition by the lift's situation is package
// inhibit.
package silence

import (
	"strconv"
	"strings"
	"time"
)

// Silence suppresses notification of non-critical alerts of a lift or an
// estate for a time window.
type Silence struct {
	ID        int64     `json:"id"`
	Lift      string    `json:"lift,omitempty"`
	Estate    string    `json:"estate,omitempty"`
	StartsAt  time.Time `json:"starts_at"`
	EndsAt    time.Time `json:"ends_at"`
	Reason    string    `json:"reason"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

// MaxLength is the longest a silence may last.
const MaxLength = 31 * 24 * time.Hour

// Matches reports whether s silences lift (of estate) at at.
func (s *Silence) Matches(lift, estate string, at time.Time) bool {
	return (s.Lift != "" && s.Lift == lift || s.Estate != "" && s.Estate == estate) &&
		!at.Before(s.StartsAt) && at.Before(s.EndsAt)
}

// Invalid says what is wrong with a new silence and the field at fault, or
// "" if nothing is.
func (s *Silence) Invalid() (msg, field string) {
	switch {
	case (s.Lift == "") == (s.Estate == ""):
		return "a silence names either a lift or an estate", "lift"
	case !s.EndsAt.After(s.StartsAt):
		return "ends_at must be after starts_at", "ends_at"
	case strings.TrimSpace(s.Reason) == "" || strings.TrimSpace(s.CreatedBy) == "":
		return "reason and created_by are required", ""
	case s.EndsAt.Sub(s.StartsAt) > MaxLength:
		return "a silence lasts at most 31 days", "ends_at"
	}
	return "", ""
}

// Set is the silences in force or to come. It is not safe for concurrent
// use: its owner (the engine) locks.
type Set struct{ list []Silence }

// NewSet holds list.
func NewSet(list []Silence) *Set { return &Set{list: list} }

// Add adds a stored silence.
func (st *Set) Add(s Silence) { st.list = append(st.list, s) }

// Has reports whether a silence id is held.
func (st *Set) Has(id int64) bool {
	for i := range st.list {
		if st.list[i].ID == id {
			return true
		}
	}
	return false
}

// Remove removes silence id, reporting whether it was held.
func (st *Set) Remove(id int64) bool {
	for i := range st.list {
		if st.list[i].ID == id {
			st.list = append(st.list[:i], st.list[i+1:]...)
			return true
		}
	}
	return false
}

// List copies the silences.
func (st *Set) List() []Silence { return append([]Silence(nil), st.list...) }

// Len is how many silences are held.
func (st *Set) Len() int { return len(st.list) }

// Reason is "silence:<id>" for the first silence matching lift (of estate)
// at at, "" if none does.
func (st *Set) Reason(lift, estate string, at time.Time) string {
	for i := range st.list {
		if st.list[i].Matches(lift, estate, at) {
			return "silence:" + strconv.FormatInt(st.list[i].ID, 10)
		}
	}
	return ""
}
