package api

import (
	"time"

	"github.com/liftwatch/liftwatch/alerts"
	"github.com/liftwatch/liftwatch/alerts/notify"
	"github.com/liftwatch/liftwatch/history"
	"github.com/liftwatch/liftwatch/ingest"
	"github.com/liftwatch/liftwatch/liftstate"
	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/telemetry"
)

// The API's view types: what each response shows, with explicit JSON names,
// built from the domain's types by one function each. Domain structs are
// never serialised as they are, so a change in a domain package does not
// change the API by accident. Every timestamp goes through ts (TimeFormat,
// UTC); no other text is touched.

// ts formats a timestamp in the one format of every response.
func ts(t time.Time) string { return t.UTC().Format(TimeFormat) }

// tsp formats an optional timestamp; "" (left out) if there is none.
func tsp(t *time.Time) string {
	if t == nil {
		return ""
	}
	return ts(*t)
}

// Lift is a lift as the API shows it: register entry and live state.
type Lift struct {
	ID              string  `json:"id"`
	RegCode         string  `json:"reg_code"`
	Estate          string  `json:"estate"`
	EstateName      string  `json:"estate_name"`
	Building        string  `json:"building"`
	Unit            string  `json:"unit"`
	Address         string  `json:"address"`
	Landings        int     `json:"landings"`
	HalfLandings    []int   `json:"half_landings"`
	RatedSpeed      float64 `json:"rated_speed"`
	InstallDate     string  `json:"install_date"`
	PropertyManager string  `json:"property_manager"`
	Contractor      string  `json:"contractor"`
	// ContractorPhone is the contractor's duty phone from the contractor
	// directory ("" when it has none).
	ContractorPhone string `json:"contractor_phone"`

	Online     bool   `json:"online"`
	LastSeen   string `json:"last_seen,omitempty"`
	LastEvent  string `json:"last_event,omitempty"`
	Boot       int64  `json:"boot"`
	Messages   int64  `json:"messages"`
	Duplicates int64  `json:"duplicates"`
	Gaps       int64  `json:"gaps"`
	// Stale counts messages too far behind the lift's sequence to check for
	// repeats; SeqBackwards flags a lift whose sequence went backwards (a
	// counter reset without a reboot, a backlog out of order).
	Stale          int64  `json:"stale"`
	SeqBackwards   bool   `json:"seq_backwards"`
	SeqBackwardsAt string `json:"seq_backwards_at,omitempty"`
	// OpenAlerts and Unsafe come from the alert engine: OpenAlerts counts
	// alerts about how the lift works (rescues, faults, offline), not the
	// supervision notices about its paperwork; Unsafe is set by an open
	// critical fault until a technician resolves it.
	OpenAlerts int  `json:"open_alerts"`
	Unsafe     bool `json:"unsafe"`
	// ReportsEntrapment is set while the terminal reports a trapped
	// passenger: fault entrapment active, or an occupied car that cannot
	// release its passengers (whatever any alert says: no page may show
	// such a lift as normal or working); ReportsEntrapmentWhy says which.
	ReportsEntrapment    bool    `json:"reports_entrapment"`
	ReportsEntrapmentWhy string  `json:"reports_entrapment_why,omitempty"`
	Status               *Status `json:"status,omitempty"`
}

// Status is a lift's last status report.
type Status struct {
	Time       string `json:"time"`
	Mode       string `json:"mode"`
	Floor      int    `json:"floor"`
	Moving     bool   `json:"moving"`
	Direction  string `json:"direction"`
	Door       string `json:"door"`
	DoorZone   bool   `json:"door_zone"`
	Occupied   bool   `json:"occupied"`
	Trips      int64  `json:"trips"`
	DoorCycles int64  `json:"door_cycles"`
	RunS       int64  `json:"run_s"`
	BatteryPct *int   `json:"battery_pct,omitempty"`
}

// liftView is the one place a lift's view is built: the register entry, its
// live state (if any message came) and its alert summary (if alerts are on).
// phone is the contractor's duty phone.
func liftView(l *registry.Lift, phone string, st *liftstate.Lift, openAlerts int, unsafe bool) Lift {
	v := Lift{ID: l.ID, RegCode: l.RegCode, Estate: l.Estate, EstateName: l.EstateName, Building: l.Building, Unit: l.Unit,
		Address: l.Address, Landings: l.Landings, HalfLandings: l.HalfLandings, RatedSpeed: l.RatedSpeed, InstallDate: l.InstallDate,
		PropertyManager: l.PropertyManager, Contractor: l.Contractor, ContractorPhone: phone, OpenAlerts: openAlerts, Unsafe: unsafe}
	if v.HalfLandings == nil {
		v.HalfLandings = []int{}
	}
	if st == nil {
		return v
	}
	v.Online, v.LastSeen, v.LastEvent, v.Boot = st.Online, tsp(st.LastSeen), tsp(st.LastEvent), st.Boot
	v.Messages, v.Duplicates, v.Gaps = st.Messages, st.Duplicates, st.Gaps
	v.Stale, v.SeqBackwards, v.SeqBackwardsAt = st.Stale, st.SeqBackwards, tsp(st.SeqBackwardsAt)
	v.ReportsEntrapment, v.ReportsEntrapmentWhy = alerts.ReportsEntrapment(&st.Car)
	if m := st.Status; m != nil {
		v.Status = &Status{Time: ts(m.Time()), Mode: m.Mode.String(), Floor: m.Floor, Moving: m.Moving,
			Direction: m.Direction.String(), Door: m.Door.String(), DoorZone: m.DoorZone, Occupied: m.Occupied,
			Trips: m.Trips, DoorCycles: m.DoorCycles, RunS: m.RunS}
		if m.Has&telemetry.FieldBattery != 0 {
			b := m.BatteryPct
			v.Status.BatteryPct = &b
		}
	}
	return v
}

// AlertView is an alert as the API shows it: with where the lift is and
// who is responsible for it, from the register, so a person can act on it
// without a second lookup.
type AlertView struct {
	ID              int64  `json:"id"`
	Lift            string `json:"lift"`
	Estate          string `json:"estate"`
	Type            string `json:"type"`
	Rescue          bool   `json:"rescue"`
	Summary         string `json:"summary"`
	State           string `json:"state"`
	ConditionActive bool   `json:"condition_active"`
	Derived         bool   `json:"derived"`
	Suppressed      string `json:"suppressed,omitempty"`
	Count           int64  `json:"count"`
	FirstSeen       string `json:"first_seen"`
	LastSeen        string `json:"last_seen"`
	OpenedAt        string `json:"opened_at"`
	AckAt           string `json:"acknowledged_at,omitempty"`
	AckBy           string `json:"acknowledged_by,omitempty"`
	DispatchedAt    string `json:"dispatched_at,omitempty"`
	DispatchedTo    string `json:"dispatched_to,omitempty"`
	OnSiteAt        string `json:"on_site_at,omitempty"`
	OnSiteBy        string `json:"on_site_by,omitempty"`
	ResolvedAt      string `json:"resolved_at,omitempty"`
	ResolvedBy      string `json:"resolved_by,omitempty"`
	Tier            int    `json:"tier"`
	LastNotified    string `json:"last_notified"`
	// Version is what an action sends back (body version or If-Match) so
	// that a change in between is a 409, not a silent overwrite.
	Version int64 `json:"version"`

	History []EventView `json:"history,omitempty"`
	// Text is what the pages show for the alert, as a code of the pages'
	// labels with its parameters (web/assets/js/i18n.js), for the types
	// that have one; the summary is the record's words.
	Text *TextView `json:"text,omitempty"`

	Severity   string `json:"severity"`
	EstateName string `json:"estate_name"`
	Address    string `json:"address"`
	Building   string `json:"building"`
	Unit       string `json:"unit"`
	Contractor string `json:"contractor"`
	// ContractorPhone is the contractor's duty phone from the contractor
	// directory ("" when it has none), for the card's call button.
	ContractorPhone string `json:"contractor_phone"`
	PropertyManager string `json:"property_manager"`
}

// TextView is a text of the pages: a label code and its parameters.
type TextView struct {
	Code   string            `json:"code"`
	Params map[string]string `json:"params,omitempty"`
}

// TextCodes are the label codes alertText gives (each labelled in both
// languages of the pages: TestTextCodesHaveLabels).
var TextCodes = []string{"text.still_reported", "text.still_reported_car"}

// alertText is the pages' text of an alert, nil for a type whose title and
// summary say it.
func alertText(a *alerts.Alert) *TextView {
	if a.Type != alerts.TypeStillReported {
		return nil
	}
	code := TextCodes[0]
	if a.Derived {
		code = TextCodes[1] // the car shows it; the terminal's fault is not active
	}
	return &TextView{Code: code, Params: map[string]string{"lift": a.Lift}}
}

// EventView is one entry of an alert's record.
type EventView struct {
	At     string `json:"at"`
	Action string `json:"action"`
	Actor  string `json:"actor"`
	Note   string `json:"note,omitempty"`
	Tier   int    `json:"tier,omitempty"`
}

func eventView(e alerts.Event) EventView {
	return EventView{At: ts(e.At), Action: e.Action, Actor: e.Actor, Note: e.Note, Tier: e.Tier}
}

// alertView builds an alert's view; l is its lift's register entry (nil if
// the lift is no longer registered), phone its contractor's duty phone.
func alertView(a *alerts.Alert, l *registry.Lift, phone string) AlertView {
	v := AlertView{ID: a.ID, Lift: a.Lift, Estate: a.Estate, Type: a.Type, Rescue: a.Rescue, Summary: a.Summary, State: string(a.State),
		ConditionActive: a.ConditionActive, Derived: a.Derived, Suppressed: a.Suppressed, Count: a.Count,
		FirstSeen: ts(a.FirstSeen), LastSeen: ts(a.LastSeen), OpenedAt: ts(a.OpenedAt),
		AckAt: tsp(a.AckAt), AckBy: a.AckBy, DispatchedAt: tsp(a.DispatchedAt), DispatchedTo: a.DispatchedTo,
		OnSiteAt: tsp(a.OnSiteAt), OnSiteBy: a.OnSiteBy, ResolvedAt: tsp(a.ResolvedAt), ResolvedBy: a.ResolvedBy,
		Tier: a.Tier, LastNotified: ts(a.LastNotified), Severity: a.Severity.String(), Version: a.Version, Text: alertText(a)}
	for _, e := range a.History {
		v.History = append(v.History, eventView(e))
	}
	if l != nil {
		v.EstateName, v.Address, v.Building, v.Unit = l.EstateName, l.Address, l.Building, l.Unit
		v.Contractor, v.PropertyManager, v.ContractorPhone = l.Contractor, l.PropertyManager, phone
	}
	return v
}

// StreamEvent is one alert change on the stream.
type StreamEvent struct {
	Seq   uint64    `json:"seq"`
	Event EventView `json:"event"`
	Alert AlertView `json:"alert"`
}

// SilenceView is a silence.
type SilenceView struct {
	ID        int64  `json:"id"`
	Lift      string `json:"lift,omitempty"`
	Estate    string `json:"estate,omitempty"`
	StartsAt  string `json:"starts_at"`
	EndsAt    string `json:"ends_at"`
	Reason    string `json:"reason"`
	CreatedBy string `json:"created_by"`
	CreatedAt string `json:"created_at"`
}

func silenceView(s *alerts.Silence) SilenceView {
	return SilenceView{ID: s.ID, Lift: s.Lift, Estate: s.Estate, StartsAt: ts(s.StartsAt), EndsAt: ts(s.EndsAt),
		Reason: s.Reason, CreatedBy: s.CreatedBy, CreatedAt: ts(s.CreatedAt)}
}

// NotificationView is one line of the notification log.
type NotificationView struct {
	ID         int64  `json:"id"`
	AlertID    int64  `json:"alert_id"`
	Receiver   string `json:"receiver"`
	Event      string `json:"event"`
	Tier       int    `json:"tier"`
	At         string `json:"at"`
	Attempts   int    `json:"attempts"`
	Outcome    string `json:"outcome"`
	StatusCode int    `json:"status_code"`
	Error      string `json:"error,omitempty"`
	Retryable  bool   `json:"retryable"`
}

func notificationView(r *notify.Record) NotificationView {
	return NotificationView{ID: r.ID, AlertID: r.AlertID, Receiver: r.Receiver, Event: r.Event, Tier: r.Tier, At: ts(r.At),
		Attempts: r.Attempts, Outcome: r.Outcome, StatusCode: r.StatusCode, Error: r.Error, Retryable: r.Retryable}
}

// DeadLetterView is one rejected message.
type DeadLetterView struct {
	Time    string `json:"time"`
	Topic   string `json:"topic"`
	Reason  string `json:"reason"`
	Error   string `json:"error"`
	Size    int    `json:"size"`
	Excerpt string `json:"excerpt"`
	Seq     int64  `json:"seq"`
}

func deadLetterView(d *ingest.DeadLetter) DeadLetterView {
	return DeadLetterView{Time: ts(d.Time), Topic: d.Topic, Reason: string(d.Reason), Error: d.Error, Size: d.Size, Excerpt: d.Excerpt, Seq: d.Seq}
}

// PointView is one stored telemetry point. Fields a kind does not carry (or
// an optional field the terminal left out) are left out.
type PointView struct {
	Kind string `json:"kind"`
	Time string `json:"time"`
	Lift string `json:"lift"`
	Boot int64  `json:"boot"`
	Seq  int64  `json:"seq"`

	Mode       *string  `json:"mode,omitempty"`
	Floor      *int64   `json:"floor,omitempty"`
	Moving     *bool    `json:"moving,omitempty"`
	Direction  *string  `json:"direction,omitempty"`
	Door       *string  `json:"door,omitempty"`
	DoorZone   *bool    `json:"door_zone,omitempty"`
	Occupied   *bool    `json:"occupied,omitempty"`
	Trips      *int64   `json:"trips,omitempty"`
	DoorCycles *int64   `json:"door_cycles,omitempty"`
	RunS       *int64   `json:"run_s,omitempty"`
	BatteryPct *int64   `json:"battery_pct,omitempty"`
	From       *int64   `json:"from,omitempty"`
	To         *int64   `json:"to,omitempty"`
	DurationMS *int64   `json:"duration_ms,omitempty"`
	MaxSpeed   *float64 `json:"max_speed,omitempty"`
	LoadPct    *int64   `json:"load_pct,omitempty"`
	OpenMS     *int64   `json:"open_ms,omitempty"`
	Reopens    *int64   `json:"reopens,omitempty"`
	Code       *string  `json:"code,omitempty"`
	State      *string  `json:"state,omitempty"`
	Detail     *string  `json:"detail,omitempty"`
	Source     *string  `json:"source,omitempty"`
}

func pointView(p *history.Point) PointView {
	return PointView{Kind: p.Kind, Time: ts(p.Time), Lift: p.Lift, Boot: p.Boot, Seq: p.Seq,
		Mode: p.Mode, Floor: p.Floor, Moving: p.Moving, Direction: p.Direction, Door: p.Door, DoorZone: p.DoorZone,
		Occupied: p.Occupied, Trips: p.Trips, DoorCycles: p.DoorCycles, RunS: p.RunS, BatteryPct: p.BatteryPct,
		From: p.From, To: p.To, DurationMS: p.DurationMS, MaxSpeed: p.MaxSpeed, LoadPct: p.LoadPct, OpenMS: p.OpenMS,
		Reopens: p.Reopens, Code: p.Code, State: p.State, Detail: p.Detail, Source: p.Source}
}

// HistoryPage is the answer of /api/v1/lifts/{id}/history.
type HistoryPage struct {
	Points []PointView `json:"points"`
	// NextCursor, if set, is the cursor parameter that fetches the next
	// (older) page.
	NextCursor string `json:"next_cursor,omitempty"`
}

// RescueReportView is one estate's emergency-rescue figures for a month.
type RescueReportView struct {
	Estate              string  `json:"estate"`
	Month               string  `json:"month"`
	Lifts               int     `json:"lifts"`
	Entrapments         int     `json:"entrapments"`
	EntrapmentsPerLift  float64 `json:"entrapments_per_lift"`
	Arrived             int     `json:"arrived"`
	MeanArrivalMinutes  float64 `json:"mean_arrival_minutes"`
	ShareWithin30       float64 `json:"share_on_site_within_limit"`
	MeanAckSeconds      float64 `json:"mean_acknowledge_seconds"`
	MeanResolveMinutes  float64 `json:"mean_resolve_minutes"`
	OnSiteLimitMinutes  float64 `json:"on_site_limit_minutes"`
	StillOpen           int     `json:"still_open"`
	Pending             int     `json:"pending"` // no arrival yet, still inside the limit: not in the share
	EscalatedToTier2Or3 int     `json:"escalated"`
}

func rescueReportView(r *alerts.RescueReport) RescueReportView {
	return RescueReportView{Estate: r.Estate, Month: r.Month, Lifts: r.Lifts, Entrapments: r.Entrapments,
		EntrapmentsPerLift: r.EntrapmentsPerLift, Arrived: r.Arrived, MeanArrivalMinutes: r.MeanArrivalMinutes,
		ShareWithin30: r.ShareWithin30, MeanAckSeconds: r.MeanAckSeconds, MeanResolveMinutes: r.MeanResolveMinutes,
		OnSiteLimitMinutes: r.OnSiteLimitMinutes, StillOpen: r.StillOpen, Pending: r.Pending, EscalatedToTier2Or3: r.EscalatedToTier2Or3}
}
