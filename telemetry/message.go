package telemetry

import (
	"errors"
	"fmt"
	"time"
)

// Field is a bit naming one payload field; Message.Has records which were
// present.
type Field uint32

// Payload fields.
const (
	FieldV Field = 1 << iota
	FieldBoot
	FieldSeq
	FieldTS
	FieldLift
	FieldMode
	FieldFloor
	FieldMoving
	FieldDirection
	FieldDoor
	FieldDoorZone
	FieldOccupied
	FieldTrips
	FieldDoorCycles
	FieldRunS
	FieldBattery
	FieldFrom
	FieldTo
	FieldDuration
	FieldMaxSpeed
	FieldLoad
	FieldOpenMS
	FieldReopens
	FieldCode
	FieldState
	FieldDetail
	FieldSource
	fieldCount = iota
)

var fieldNames = [fieldCount]string{
	"v", "boot", "seq", "ts", "lift", "mode", "floor", "moving", "direction", "door",
	"door_zone", "occupied", "trips", "door_cycles", "run_s", "battery_pct", "from", "to",
	"duration_ms", "max_speed", "load_pct", "open_ms", "reopens", "code", "state", "detail", "source",
}

func (f Field) String() string {
	for i := 0; i < fieldCount; i++ {
		if f == 1<<i {
			return fieldNames[i]
		}
	}
	return "?"
}

const commonFields = FieldV | FieldBoot | FieldSeq | FieldTS

// required lists the fields each kind must carry.
var required = [...]Field{
	KindStatus: commonFields | FieldMode | FieldFloor | FieldMoving | FieldDirection | FieldDoor |
		FieldDoorZone | FieldOccupied | FieldTrips | FieldDoorCycles | FieldRunS,
	KindTrip:  commonFields | FieldFrom | FieldTo | FieldDuration | FieldMaxSpeed,
	KindDoor:  commonFields | FieldFloor | FieldOpenMS | FieldReopens,
	KindFault: commonFields | FieldCode | FieldState,
	KindAlarm: commonFields | FieldSource,
}

// Key identifies a message: a repeat with the same key is a duplicate.
type Key struct {
	Lift string
	Boot int64
	Seq  int64
}

// Message is one decoded telemetry message. Only the fields of its Kind are
// meaningful; Has says which optional ones were present.
type Message struct {
	Kind Kind
	Lift string // from the topic, the authority
	Has  Field

	Boot int64
	Seq  int64
	TS   int64 // event time, Unix milliseconds UTC

	// status
	Mode       Mode
	Moving     bool
	Direction  Direction
	Door       DoorState
	DoorZone   bool // also optional in fault
	Occupied   bool // also optional in fault and alarm
	Trips      int64
	DoorCycles int64
	RunS       int64
	BatteryPct int

	Floor int // status, door; optional in fault and alarm

	// trip
	From       int
	To         int
	DurationMS int64
	MaxSpeed   float64
	LoadPct    int

	// door
	OpenMS  int64
	Reopens int64

	// fault
	Code   string
	State  FaultState
	Detail string

	// alarm
	Source AlarmSource
}

// Key returns the message's identity.
func (m *Message) Key() Key { return Key{Lift: m.Lift, Boot: m.Boot, Seq: m.Seq} }

// Time is the event time.
func (m *Message) Time() time.Time { return time.UnixMilli(m.TS) }

// PointTime is the InfluxDB timestamp in nanoseconds: ts milliseconds plus
// seq mod 1,000,000 nanoseconds.
func (m *Message) PointTime() int64 { return m.TS*1_000_000 + m.Seq%1_000_000 }

// Reason is why a message was rejected; a small closed set usable as a metric
// label.
type Reason string

// Rejection reasons.
const (
	ReasonBadTopic     Reason = "bad_topic"      // topic not <root>/<lift>/<kind>
	ReasonTooLarge     Reason = "too_large"      // payload over the size limit
	ReasonMalformed    Reason = "malformed_json" // not one valid JSON object
	ReasonBadVersion   Reason = "bad_version"    // v is not 1
	ReasonMissingField Reason = "missing_field"  // a required field is absent
	ReasonWrongType    Reason = "wrong_type"     // a field has the wrong JSON type
	ReasonOutOfRange   Reason = "out_of_range"   // a number outside its range
	ReasonInvalidValue Reason = "invalid_value"  // an unknown enumeration value or bad string
	ReasonLiftMismatch Reason = "lift_mismatch"  // the payload names another lift than the topic
	ReasonUnknownLift  Reason = "unknown_lift"   // the lift is not in the registry
	ReasonFuture       Reason = "ts_future"      // ts too far in the future
	ReasonTooOld       Reason = "ts_too_old"     // ts older than the horizon
	// ReasonSuspectSeq: seq jumped further ahead than any terminal could
	// (ingest: a forged or corrupt counter), judged against the lift's
	// sequence, not by the decoder.
	ReasonSuspectSeq Reason = "suspect_sequence"
)

// Reasons lists every reason, for pre-registering metric label values.
var Reasons = [...]Reason{ReasonBadTopic, ReasonTooLarge, ReasonMalformed, ReasonBadVersion,
	ReasonMissingField, ReasonWrongType, ReasonOutOfRange, ReasonInvalidValue, ReasonLiftMismatch,
	ReasonUnknownLift, ReasonFuture, ReasonTooOld, ReasonSuspectSeq}

// DecodeError is a rejection with its reason.
type DecodeError struct {
	Reason Reason
	Field  string // the offending field, when there is one
	Msg    string
}

func (e *DecodeError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: field %q: %s", e.Reason, e.Field, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Reason, e.Msg)
}

// ReasonOf extracts the reason of a rejection error, or "" if err is not one.
func ReasonOf(err error) Reason {
	var de *DecodeError
	if errors.As(err, &de) {
		return de.Reason
	}
	return ""
}
