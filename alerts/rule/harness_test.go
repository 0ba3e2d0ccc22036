package rule_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/alerts/rule"
	"github.com/liftwatch/liftwatch/liftstate"
	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/telemetry"
)

// The rules' table tests: a sequence of steps (messages applied to a real
// liftstate.Store, clock ticks, transitions) through one rule, and the
// verdicts it gave, as "raise <type> <severity>[ derived][ sustained][ inactive]"
// or "clear <type>", and "settled <type>" when a person resolving the alert
// settles a condition that still holds. Open alerts are modelled as the
// engine keeps them.

var t0 = time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)

const lift = "JW-0001"

type step struct {
	msg    *telemetry.Message
	tick   time.Duration // > 0: move the clock and tick
	online *bool         // a transition
	// resolve: a person on site resolves the open alert of this type (the
	// engine then tells the Settler rules, with the car as it is now).
	resolve string
}

var seq int64

func at(d time.Duration) time.Time { return t0.Add(d) }

func status(d time.Duration, f func(m *telemetry.Message)) step {
	return mk(telemetry.KindStatus, d, f)
}

func fault(d time.Duration, code string, cleared bool) step {
	return mk(telemetry.KindFault, d, func(m *telemetry.Message) {
		m.Code = code
		if cleared {
			m.State = telemetry.FaultCleared
		}
	})
}

func mk(k telemetry.Kind, d time.Duration, f func(m *telemetry.Message)) step {
	seq++
	m := &telemetry.Message{Kind: k, Lift: lift, Boot: 1, Seq: seq, TS: at(d).UnixMilli(), BatteryPct: -1, LoadPct: -1, DoorZone: true}
	if f != nil {
		f(m)
	}
	return step{msg: m}
}

func tick(d time.Duration) step { return step{tick: d} }

func transition(online bool) step { return step{online: &online} }

// resolved is a person resolving the open alert of typ.
func resolved(typ string) step { return step{resolve: typ} }

func run(t *testing.T, r rule.Rule, steps []step) []string {
	t.Helper()
	fleet, err := registry.Jiangwan()
	if err != nil {
		t.Fatal(err)
	}
	lifts := liftstate.New(registry.NewIndex(fleet), liftstate.Options{})
	p := rule.DefaultPolicy()
	open := map[string]rule.Open{}
	now := t0
	var got []string
	for _, s := range steps {
		in := rule.Input{Lift: lift, Policy: &p, Open: func(typ string) (rule.Open, bool) { o, ok := open[typ]; return o, ok }}
		var car liftstate.Car
		switch {
		case s.resolve != "":
			if _, ok := open[s.resolve]; !ok {
				t.Fatalf("resolving %s: no open alert", s.resolve)
			}
			delete(open, s.resolve)
			car, _ = lifts.Car(lift)
			if st, ok := r.(rule.Settler); ok {
				if why := st.Resolved(lift, s.resolve, &car); why != "" {
					got = append(got, "settled "+s.resolve)
				}
			}
			continue
		case s.msg != nil:
			u, ok := lifts.Observe(s.msg, now, true)
			if !ok {
				t.Fatal("lift not registered")
			}
			if u.Redelivery {
				continue // the engine stops there
			}
			car = u.Car
			in.Trigger, in.Msg, in.Late, in.FaultLate, in.Now = rule.OnMessage, s.msg, u.Late, u.FaultLate, s.msg.Time()
			if in.Now.After(now) {
				now = in.Now
			}
		case s.tick > 0:
			now = now.Add(s.tick)
			car, _ = lifts.Car(lift)
			if tm, ok := r.(rule.Timer); !ok || !tm.Waiting(lift, &car) {
				continue
			}
			in.Trigger, in.Now = rule.OnTick, now
		default:
			car, _ = lifts.Car(lift)
			in.Trigger, in.Online, in.LastSeen, in.Now = rule.OnTransition, *s.online, now.Add(-time.Minute), now
		}
		in.Car = &car
		for _, res := range r.Eval(&in, nil) {
			switch res.Action {
			case rule.Raise:
				v := fmt.Sprintf("raise %s %s", res.Type, res.Severity)
				for _, f := range []struct {
					on   bool
					name string
				}{{res.Derived, "derived"}, {res.Sustained, "sustained"}, {res.Inactive, "inactive"}} {
					if f.on {
						v += " " + f.name
					}
				}
				got = append(got, v)
				o := open[res.Type]
				open[res.Type] = rule.Open{Severity: res.Severity, Rescue: res.Type == rule.TypeEntrapment, ConditionActive: o.ConditionActive || !res.Inactive, Derived: res.Derived}
			case rule.Clear:
				got = append(got, "clear "+res.Type)
				if o := open[res.Type]; o.Rescue || o.Severity >= telemetry.SeverityCritical {
					o.ConditionActive = false
					open[res.Type] = o
				} else {
					delete(open, res.Type)
				}
			}
		}
	}
	return got
}

type tcase struct {
	name  string
	steps []step
	want  []string
}

func table(t *testing.T, newRule func() rule.Rule, cases []tcase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := run(t, newRule(), tc.steps)
			if strings.Join(got, "; ") != strings.Join(tc.want, "; ") {
				t.Fatalf("verdicts\n got  %q\n want %q", got, tc.want)
			}
		})
	}
}

// redeliver repeats a step's message as is (same boot and seq).
func redeliver(s step) step { m := *s.msg; return step{msg: &m} }

func sevOf(code string) string { return telemetry.FaultSeverity(code).String() }
