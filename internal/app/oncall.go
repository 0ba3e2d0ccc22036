package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/liftwatch/liftwatch/alerts/notify/channel"
	"github.com/liftwatch/liftwatch/api"
	"github.com/liftwatch/liftwatch/oncall"
	"github.com/liftwatch/liftwatch/registry"
)

// OnCallConfig points at the on-call roster file.
type OnCallConfig struct {
	File string `flag:"file" help:"on-call roster YAML (people and duty windows), imported at every start: its entries replace those of the previous import, entries added in the web app are kept; empty: the stored roster as it is"`
}

// RosterChannels are the paging channels a roster's contacts may name: the
// channels: of the alerts file, each with the kind of address its type
// takes (SMS and voice: a mobile number; email: an address; a robot: none).
func RosterChannels(acfg AlertsConfig) oncall.Channels {
	out := oncall.Channels{}
	for name, c := range acfg.Channels {
		switch c.Type {
		case channel.AliyunSMS, channel.AliyunVoice:
			out[name] = oncall.AddrPhone
		case channel.Email:
			out[name] = oncall.AddrEmail
		default:
			out[name] = oncall.AddrNone
		}
	}
	return out
}

// demoChannel is the demo's simulated paging gateway, the channel of the
// demo roster's contacts.
const demoChannel = "demo"

// registerNames are the contractors and estates of the register, each once,
// in register order.
func registerNames(lifts []registry.Lift) (contractors, estates []string) {
	seenC, seenE := map[string]bool{}, map[string]bool{}
	for _, l := range lifts {
		if l.Contractor != "" && !seenC[l.Contractor] {
			seenC[l.Contractor] = true
			contractors = append(contractors, l.Contractor)
		}
		if !seenE[l.Estate] {
			seenE[l.Estate] = true
			estates = append(estates, l.Estate)
		}
	}
	return contractors, estates
}

// loadRosterFile reads and checks the roster file against the register
// (lifts nil: the register did not load, only the file is checked) and the
// configured channels (nil: names not checked).
func loadRosterFile(path string, lifts []registry.Lift, channels oncall.Channels) (*oncall.File, error) {
	f, err := oncall.LoadFile(path, channels)
	if f != nil && lifts != nil {
		contractors, estates := registerNames(lifts)
		err = errors.Join(err, f.CheckRegister(
			func(c string) bool { return slices.Contains(contractors, c) },
			func(e string) bool { return slices.Contains(estates, e) }))
	}
	return f, err
}

// CheckOnCallFile validates a roster file as serve does at start (every
// problem, each with its line and key), against the register of lifts and
// the configured channels (nil: channel names not checked); the roster's
// holes (times with nobody on duty for a contractor, an estate or the
// subdistrict) are returned as warnings, not errors.
func CheckOnCallFile(path string, lifts []registry.Lift, channels oncall.Channels) (warnings []string, err error) {
	f, err := loadRosterFile(path, lifts, channels)
	if err != nil {
		return nil, err
	}
	r, err := f.Roster()
	if err != nil {
		return nil, fmt.Errorf("oncall file %s: %w", path, err)
	}
	contractors, estates := registerNames(lifts)
	for _, g := range r.Gaps(contractors, estates) {
		warnings = append(warnings, "warning: "+g.String())
	}
	return warnings, nil
}

// IsOnCallFile says whether the YAML file at path looks like a roster
// (top-level people: or duty:) rather than an alerts file.
func IsOnCallFile(b []byte) bool {
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "people:") || strings.HasPrefix(line, "duty:") {
			return true
		}
	}
	return false
}

// buildOnCall loads the stored roster and imports the roster file, if any.
func (a *App) buildOnCall(ctx context.Context, f *oncall.File, channels oncall.Channels, log *slog.Logger) error {
	var err error
	if a.oncall, err = oncall.NewService(ctx, a.db.OnCall(), channels); err != nil {
		return err
	}
	if f != nil {
		kept, err := a.oncall.Import(ctx, oncall.SourceFile, f.People, f.Duty)
		if err != nil {
			return &ConfigError{Err: fmt.Errorf("oncall.file %s: %w", f.Path, err)}
		}
		if len(kept) > 0 {
			log.Warn("people no longer in the roster file are kept, as web entries, because duty entries added in the web app name them",
				"people", kept, "flag", "--oncall.file")
		}
		log.Info("on-call roster imported", "file", f.Path, "people", len(f.People), "duty", len(f.Duty))
	}
	a.rosterGaps = &gapCache{lifts: a.index.Lifts()}
	return nil
}

// OnCall is the on-call roster: its Roster() is the live snapshot the
// pager reads (Chain), refreshed on every change.
func (a *App) OnCall() *oncall.Service { return a.oncall }

// gapCache computes the roster's holes once per snapshot (/readyz asks
// often; the roster changes seldom).
type gapCache struct {
	lifts []registry.Lift
	mu    sync.Mutex
	of    *oncall.Roster
	gaps  []oncall.Gap
}

func (c *gapCache) get(r *oncall.Roster) []oncall.Gap {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.of != r || c.gaps == nil {
		contractors, estates := registerNames(c.lifts)
		c.of, c.gaps = r, append([]oncall.Gap{}, r.Gaps(contractors, estates)...)
	}
	return c.gaps
}

// rosterReady is the /readyz check of the roster: degraded while some
// contractor, estate or the subdistrict has nobody on duty at some time of
// the week (an alert then reaches fewer people, or nobody).
func (a *App) rosterReady(context.Context) error {
	gaps := a.rosterGaps.get(a.oncall.Roster())
	if len(gaps) == 0 {
		return nil
	}
	msg := gaps[0].String()
	if len(gaps) > 1 {
		msg += fmt.Sprintf(" (and %d more holes)", len(gaps)-1)
	}
	return &api.DegradedError{Reason: "on-call roster has holes: " + msg + " (--oncall.file or the On-call page)"}
}

// SeedDemoRoster gives the demo a roster on duty around the clock, on the
// demo's simulated paging gateway (channel demo, which contacts edited in
// the web app may name too): for the incident lift's
// contractor a duty technician (user demo-contractor) and a supervisor,
// for its estate the manager demo-manager, the subdistrict officer
// demo-subdistrict; and a technician, a supervisor and a manager for every
// other contractor and estate of the register, so every lift has a chain.
// It replaces the previous demo roster; web edits are kept.
func (a *App) SeedDemoRoster(ctx context.Context, incidentLift string) error {
	l, ok := a.index.Get(incidentLift)
	if !ok {
		l = &a.index.Lifts()[0]
	}
	a.oncall.AllowChannel(demoChannel, oncall.AddrNone)
	allDay := oncall.Window{From: 0, To: 24 * 60}
	// The incident's four people have 13800000001…4, the others 1390000….
	n := 0
	phone := func() string {
		n++
		if n <= 4 {
			return fmt.Sprintf("1380000000%d", n)
		}
		return fmt.Sprintf("1390000%04d", n)
	}
	var people []oncall.Person
	var duty []oncall.Duty
	add := func(p oncall.Person, d oncall.Duty) {
		p.Phone = phone()
		p.Lang = "zh"
		p.Contacts = []oncall.Contact{{Channel: demoChannel, To: p.Phone}}
		people = append(people, p)
		d.Person, d.Window = p.ID, allDay
		duty = append(duty, d)
	}
	contractors, estates := registerNames(a.index.Lifts())
	// The incident's people first: they head their chains.
	add(oncall.Person{ID: "demo-technician", Name: "张师傅", Role: oncall.RoleTechnician, User: "demo-contractor", Contractor: l.Contractor},
		oncall.Duty{Contractor: l.Contractor})
	add(oncall.Person{ID: "demo-manager", Name: "李经理", Role: oncall.RoleManager, User: "demo-manager", Estate: l.Estate}, oncall.Duty{Estate: l.Estate})
	add(oncall.Person{ID: "demo-supervisor", Name: "王主管", Role: oncall.RoleSupervisor, Contractor: l.Contractor}, oncall.Duty{Contractor: l.Contractor})
	add(oncall.Person{ID: "demo-subdistrict", Name: "赵科长", Role: oncall.RoleSubdistrict, User: "demo-subdistrict"}, oncall.Duty{Subdistrict: true})
	for i, c := range contractors {
		if c == l.Contractor {
			continue
		}
		add(oncall.Person{ID: fmt.Sprintf("demo-tech-%d", i+1), Name: fmt.Sprintf("值班技术员%d", i+1), Role: oncall.RoleTechnician, Contractor: c},
			oncall.Duty{Contractor: c})
		add(oncall.Person{ID: fmt.Sprintf("demo-sup-%d", i+1), Name: fmt.Sprintf("维保主管%d", i+1), Role: oncall.RoleSupervisor, Contractor: c},
			oncall.Duty{Contractor: c})
	}
	for _, e := range estates {
		if e == l.Estate {
			continue
		}
		add(oncall.Person{ID: "demo-mgr-" + e, Name: e + "物业经理", Role: oncall.RoleManager, Estate: e}, oncall.Duty{Estate: e})
	}
	_, err := a.oncall.Import(ctx, oncall.SourceDemo, people, duty)
	return err
}
