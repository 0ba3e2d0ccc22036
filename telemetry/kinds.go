package telemetry

// Kind is the message kind, the last topic level.
type Kind uint8

// The five message kinds of contract v1.
const (
	KindInvalid Kind = iota
	KindStatus
	KindTrip
	KindDoor
	KindFault
	KindAlarm
)

// Kinds lists the valid kinds in a stable order.
var Kinds = [...]Kind{KindStatus, KindTrip, KindDoor, KindFault, KindAlarm}

var kindNames = [...]string{"invalid", "status", "trip", "door", "fault", "alarm"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "invalid"
}

// ParseKind maps a topic level to a Kind; ok is false for anything else.
func ParseKind(s string) (Kind, bool) {
	switch s {
	case "status":
		return KindStatus, true
	case "trip":
		return KindTrip, true
	case "door":
		return KindDoor, true
	case "fault":
		return KindFault, true
	case "alarm":
		return KindAlarm, true
	}
	return KindInvalid, false
}

// enum is a closed set of string values decoded without allocation.
type enum []string

func (e enum) lookup(b []byte) (uint8, bool) {
	for i, s := range e {
		if string(b) == s {
			return uint8(i), true
		}
	}
	return 0, false
}

// Mode is the service mode reported in status.
type Mode uint8

// Service modes.
const (
	ModeNormal Mode = iota
	ModeInspection
	ModeOutOfService
	ModeFire
	ModeEmergencyPower
	ModeEarthquake
	ModeUnknown
)

var modeNames = enum{"normal", "inspection", "out_of_service", "fire", "emergency_power", "earthquake", "unknown"}

func (m Mode) String() string { return name(modeNames, uint8(m)) }

// ParseMode parses a mode name.
func ParseMode(s string) (Mode, bool) { v, ok := modeNames.lookup([]byte(s)); return Mode(v), ok }

// Direction of travel.
type Direction uint8

// Directions.
const (
	DirNone Direction = iota
	DirUp
	DirDown
)

var directionNames = enum{"none", "up", "down"}

func (d Direction) String() string { return name(directionNames, uint8(d)) }

// DoorState is the car door state in status.
type DoorState uint8

// Door states.
const (
	DoorClosed DoorState = iota
	DoorOpen
	DoorOpening
	DoorClosing
)

var doorNames = enum{"closed", "open", "opening", "closing"}

func (d DoorState) String() string { return name(doorNames, uint8(d)) }

// FaultState says whether a fault message raises or clears.
type FaultState uint8

// Fault states.
const (
	FaultActive FaultState = iota
	FaultCleared
)

var faultStateNames = enum{"active", "cleared"}

func (s FaultState) String() string { return name(faultStateNames, uint8(s)) }

// AlarmSource is what the passenger used.
type AlarmSource uint8

// Alarm sources.
const (
	AlarmButton AlarmSource = iota
	AlarmIntercom
)

var alarmSourceNames = enum{"button", "intercom"}

func (s AlarmSource) String() string { return name(alarmSourceNames, uint8(s)) }

func name(e enum, i uint8) string {
	if int(i) < len(e) {
		return e[i]
	}
	return "invalid"
}
