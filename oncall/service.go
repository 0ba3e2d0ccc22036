package oncall

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// Errors of the roster's edits.
var (
	ErrNotFound = errors.New("not found")
	// ErrInUse: a person that duty entries still name cannot be deleted.
	ErrInUse = errors.New("in use")
)

// InvalidError is an edit refused for what it says, each problem naming
// its field.
type InvalidError struct{ Problems []Problem }

func (e *InvalidError) Error() string {
	var s []string
	for _, p := range e.Problems {
		s = append(s, p.Error())
	}
	return "invalid: " + strings.Join(s, "; ")
}

// Store keeps the roster (store.OnCall): people by id, duty entries by a
// generated id, in the order added.
type Store interface {
	LoadRoster(ctx context.Context) ([]Person, []Duty, error)
	PutPerson(ctx context.Context, p Person) (created bool, err error)
	DeletePerson(ctx context.Context, id string) error
	AddDuty(ctx context.Context, d *Duty) error
	PutDuty(ctx context.Context, d Duty) error
	DeleteDuty(ctx context.Context, id int64) error
	// ReplaceSource replaces, in one transaction, every person and duty
	// entry of source with people and duty (people of another source with
	// the same id are replaced too), and turns the people of keep, which
	// other duty entries still name, into web entries instead of deleting
	// them.
	ReplaceSource(ctx context.Context, source string, people []Person, duty []Duty, keep []string) error
}

// Service is the roster kept in SQL, with its live snapshot refreshed on
// every change: edits are checked (CheckPerson, CheckDuty) before they are
// stored, and the pager reads Live without touching SQL.
type Service struct {
	store    Store
	channels Channels
	live     Live
	mu       sync.Mutex // one edit at a time, so the snapshot follows the store
}

// NewService loads the stored roster; channels are the configured paging
// channels, for checking contacts.
func NewService(ctx context.Context, st Store, channels Channels) (*Service, error) {
	s := &Service{store: st, channels: maps.Clone(channels)}
	if err := s.reload(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Roster is the current snapshot.
func (s *Service) Roster() *Roster { return s.live.Roster() }

// Chain is the current roster's Chain: the pager's Roster.
func (s *Service) Chain(estate, contractor string, tier int, at time.Time) []Person {
	return s.live.Roster().Chain(estate, contractor, tier, at)
}

// Live is the snapshot holder the pager reads.
func (s *Service) Live() *Live { return &s.live }

// Channels are the configured paging channels.
func (s *Service) Channels() Channels {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.channels)
}

// AllowChannel adds a channel contacts may name besides the configured
// ones (the demo's simulated paging gateway).
func (s *Service) AllowChannel(name, kind string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.channels == nil {
		s.channels = Channels{}
	}
	s.channels[name] = kind
}

func (s *Service) reload(ctx context.Context) error {
	people, duty, err := s.store.LoadRoster(ctx)
	if err != nil {
		return fmt.Errorf("load roster: %w", err)
	}
	r, err := New(people, duty)
	if err != nil {
		return fmt.Errorf("stored %w", err)
	}
	s.live.Set(r)
	return nil
}

// Import replaces the entries of source (SourceFile at start, SourceDemo)
// with people and duty; entries of other sources are kept. A person of
// source that the new set no longer has but a kept duty entry names is kept
// too, as a web entry; their ids are returned (to be logged). Nothing is
// changed if the result is not a consistent roster.
func (s *Service) Import(ctx context.Context, source string, people []Person, duty []Duty) (kept []string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.live.Roster()
	newIDs := map[string]bool{}
	for i := range people {
		people[i].Source = source
		newIDs[people[i].ID] = true
	}
	for i := range duty {
		duty[i].Source = source
	}
	var allDuty []Duty
	named := map[string]bool{}
	for _, d := range cur.Duty() {
		if d.Source != source {
			allDuty = append(allDuty, d)
			named[d.Person] = true
		}
	}
	allPeople := slices.Clone(people)
	for _, p := range cur.People() {
		switch {
		case newIDs[p.ID]:
		case p.Source != source:
			allPeople = append(allPeople, p)
		case named[p.ID]:
			p.Source = SourceWeb
			allPeople = append(allPeople, p)
			kept = append(kept, p.ID)
		}
	}
	if _, err := New(allPeople, append(allDuty, duty...)); err != nil {
		return nil, fmt.Errorf("importing the %s roster with the entries added in the web app: %w", source, err)
	}
	if err := s.store.ReplaceSource(ctx, source, people, duty, kept); err != nil {
		return nil, err
	}
	return kept, s.reload(ctx)
}

// PutPerson adds or replaces the person of p.ID (a web entry); it must
// still fit every duty entry naming it.
func (s *Service) PutPerson(ctx context.Context, p Person) (created bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p.Source = SourceWeb
	probs := CheckPerson(p, s.channels)
	for _, d := range s.live.Roster().Duty() {
		if d.Person == p.ID && len(probs) == 0 {
			for _, e := range CheckDuty(p, d) {
				_, msg, _ := strings.Cut(e, ": ")
				probs = append(probs, Problem{"role", fmt.Sprintf("duty entry %d (%s): %s", d.ID, d.Target(), msg)})
			}
		}
	}
	if len(probs) > 0 {
		return false, &InvalidError{probs}
	}
	if created, err = s.store.PutPerson(ctx, p); err != nil {
		return false, err
	}
	return created, s.reload(ctx)
}

// DeletePerson deletes a person no duty entry names (ErrInUse otherwise).
func (s *Service) DeletePerson(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.live.Roster().Person(id); !ok {
		return fmt.Errorf("person %q: %w", id, ErrNotFound)
	}
	var uses []string
	for _, d := range s.live.Roster().Duty() {
		if d.Person == id {
			uses = append(uses, fmt.Sprint(d.ID))
		}
	}
	if len(uses) > 0 {
		return fmt.Errorf("person %q is on duty entries %s: delete those first: %w", id, strings.Join(uses, ", "), ErrInUse)
	}
	if err := s.store.DeletePerson(ctx, id); err != nil {
		return err
	}
	return s.reload(ctx)
}

// checkDuty is what is wrong with d against the current people.
func (s *Service) checkDuty(d Duty) error {
	p, ok := s.live.Roster().Person(d.Person)
	if !ok {
		return &InvalidError{[]Problem{{"person", fmt.Sprintf("unknown person %q", d.Person)}}}
	}
	var probs []Problem
	for _, e := range CheckDuty(p, d) {
		f, msg, _ := strings.Cut(e, ": ")
		probs = append(probs, Problem{f, msg})
	}
	if d.Window.From == d.Window.To || d.Window.To > minutesPerDay || d.Window.From >= minutesPerDay {
		probs = append(probs, Problem{"to", "an empty or impossible window"})
	}
	if d.Window.Date != "" {
		if err := ParseDate(d.Window.Date); err != nil {
			probs = append(probs, Problem{"date", err.Error()})
		}
	}
	if len(probs) > 0 {
		return &InvalidError{probs}
	}
	return nil
}

// AddDuty adds a web duty entry and sets its ID.
func (s *Service) AddDuty(ctx context.Context, d *Duty) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d.Source = SourceWeb
	if err := s.checkDuty(*d); err != nil {
		return err
	}
	if err := s.store.AddDuty(ctx, d); err != nil {
		return err
	}
	return s.reload(ctx)
}

// PutDuty replaces duty entry d.ID (it keeps its source: a file entry
// edited here is the file's again at the next start).
func (s *Service) PutDuty(ctx context.Context, d Duty) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.duty(d.ID)
	if !ok {
		return fmt.Errorf("duty entry %d: %w", d.ID, ErrNotFound)
	}
	d.Source = old.Source
	if err := s.checkDuty(d); err != nil {
		return err
	}
	if err := s.store.PutDuty(ctx, d); err != nil {
		return err
	}
	return s.reload(ctx)
}

// DeleteDuty deletes duty entry id.
func (s *Service) DeleteDuty(ctx context.Context, id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.duty(id); !ok {
		return fmt.Errorf("duty entry %d: %w", id, ErrNotFound)
	}
	if err := s.store.DeleteDuty(ctx, id); err != nil {
		return err
	}
	return s.reload(ctx)
}

func (s *Service) duty(id int64) (Duty, bool) {
	for _, d := range s.live.Roster().Duty() {
		if d.ID == id {
			return d, true
		}
	}
	return Duty{}, false
}

// DutyEntry is duty entry id of the current roster.
func (s *Service) DutyEntry(id int64) (Duty, bool) { return s.duty(id) }
