package telemetry

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"
)

// Limits of contract v1, the defaults of a Decoder.
const (
	DefaultMaxPayload = 4096
	DefaultMaxFuture  = 5 * time.Minute
	DefaultHorizon    = 7 * 24 * time.Hour
	MaxDetailRunes    = 256
	MinFloor          = -9
	MaxFloor          = 199
	maxDepth          = 32
)

// Decoder decodes and validates payloads. The zero value uses the contract's
// defaults. A Decoder is safe for concurrent use.
type Decoder struct {
	MaxPayload int           // bytes; 0 means DefaultMaxPayload
	MaxFuture  time.Duration // 0 means DefaultMaxFuture
	Horizon    time.Duration // 0 means DefaultHorizon
}

func (d *Decoder) limits() (int, time.Duration, time.Duration) {
	mp, mf, h := d.MaxPayload, d.MaxFuture, d.Horizon
	if mp <= 0 {
		mp = DefaultMaxPayload
	}
	if mf <= 0 {
		mf = DefaultMaxFuture
	}
	if h <= 0 {
		h = DefaultHorizon
	}
	return mp, mf, h
}

// Decode parses payload, published on the topic of lift and kind, into m and
// validates it against the contract at time now. A rejection is a
// *DecodeError. m is overwritten whole; strings in m never alias payload.
func (d *Decoder) Decode(lift string, kind Kind, payload []byte, now time.Time, m *Message) error {
	maxPayload, maxFuture, horizon := d.limits()
	if len(payload) > maxPayload {
		return &DecodeError{Reason: ReasonTooLarge, Msg: "payload of " + strconv.Itoa(len(payload)) + " bytes exceeds " + strconv.Itoa(maxPayload)}
	}
	if kind == KindInvalid || int(kind) >= len(required) {
		return &DecodeError{Reason: ReasonBadTopic, Msg: "invalid kind"}
	}
	*m = Message{Kind: kind, Lift: lift, BatteryPct: -1, LoadPct: -1}
	p := parser{b: payload}
	if err := p.object(m); err != nil {
		return err
	}
	if missing := required[kind] &^ m.Has; missing != 0 {
		return &DecodeError{Reason: ReasonMissingField, Field: (missing & -missing).String(), Msg: "required for " + kind.String()}
	}
	if kind == KindTrip && m.From == m.To {
		return &DecodeError{Reason: ReasonInvalidValue, Field: "to", Msg: "equals from"}
	}
	nowMS := now.UnixMilli()
	if m.TS > nowMS+maxFuture.Milliseconds() {
		return &DecodeError{Reason: ReasonFuture, Field: "ts", Msg: "more than " + maxFuture.String() + " in the future"}
	}
	if m.TS < nowMS-horizon.Milliseconds() {
		return &DecodeError{Reason: ReasonTooOld, Field: "ts", Msg: "older than the horizon of " + horizon.String()}
	}
	return nil
}

type parser struct {
	b []byte
	i int
}

func malformed(msg string) error { return &DecodeError{Reason: ReasonMalformed, Msg: msg} }

func (p *parser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) object(m *Message) error {
	p.ws()
	if p.i >= len(p.b) || p.b[p.i] != '{' {
		return malformed("payload is not a JSON object")
	}
	p.i++
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
	} else {
		for {
			p.ws()
			key, esc, err := p.str()
			if err != nil {
				return err
			}
			if esc { // a key with escapes is never one of ours
				key = nil
			}
			p.ws()
			if p.i >= len(p.b) || p.b[p.i] != ':' {
				return malformed("expected ':' after object key")
			}
			p.i++
			p.ws()
			if err := p.field(m, key); err != nil {
				return err
			}
			p.ws()
			if p.i >= len(p.b) {
				return malformed("unterminated object")
			}
			if p.b[p.i] == ',' {
				p.i++
				continue
			}
			if p.b[p.i] == '}' {
				p.i++
				break
			}
			return malformed("expected ',' or '}' in object")
		}
	}
	p.ws()
	if p.i != len(p.b) {
		return malformed("trailing data after the JSON object")
	}
	return nil
}

// field decodes the value of key into m, or skips it if the key is not a
// field of m's kind.
func (p *parser) field(m *Message, key []byte) error {
	f := lookupField(m.Kind, key)
	if f == 0 {
		return p.skip(0)
	}
	if m.Has&f != 0 {
		return malformed("duplicate field " + f.String())
	}
	m.Has |= f
	switch f {
	case FieldV:
		v, err := p.int(f, math.MinInt64, math.MaxInt64)
		if err != nil {
			return err
		}
		if v != 1 {
			return &DecodeError{Reason: ReasonBadVersion, Field: "v", Msg: "unsupported schema version " + strconv.FormatInt(v, 10)}
		}
	case FieldBoot:
		return p.intTo(&m.Boot, f, 0, math.MaxInt64)
	case FieldSeq:
		return p.intTo(&m.Seq, f, 1, math.MaxInt64)
	case FieldTS:
		return p.intTo(&m.TS, f, 1, math.MaxInt64/1_000_000-1)
	case FieldLift:
		s, esc, err := p.strValue(f)
		if err != nil {
			return err
		}
		if esc || string(s) != m.Lift {
			return &DecodeError{Reason: ReasonLiftMismatch, Field: "lift", Msg: "payload names another lift than the topic"}
		}
	case FieldMode:
		v, err := p.enum(f, modeNames)
		m.Mode = Mode(v)
		return err
	case FieldDirection:
		v, err := p.enum(f, directionNames)
		m.Direction = Direction(v)
		return err
	case FieldDoor:
		v, err := p.enum(f, doorNames)
		m.Door = DoorState(v)
		return err
	case FieldState:
		v, err := p.enum(f, faultStateNames)
		m.State = FaultState(v)
		return err
	case FieldSource:
		v, err := p.enum(f, alarmSourceNames)
		m.Source = AlarmSource(v)
		return err
	case FieldFloor:
		return p.smallInt(&m.Floor, f, MinFloor, MaxFloor)
	case FieldFrom:
		return p.smallInt(&m.From, f, MinFloor, MaxFloor)
	case FieldTo:
		return p.smallInt(&m.To, f, MinFloor, MaxFloor)
	case FieldBattery:
		return p.smallInt(&m.BatteryPct, f, 0, 100)
	case FieldLoad:
		return p.smallInt(&m.LoadPct, f, 0, 150)
	case FieldMoving:
		return p.bool(&m.Moving, f)
	case FieldDoorZone:
		return p.bool(&m.DoorZone, f)
	case FieldOccupied:
		return p.bool(&m.Occupied, f)
	case FieldTrips:
		return p.intTo(&m.Trips, f, 0, math.MaxInt64)
	case FieldDoorCycles:
		return p.intTo(&m.DoorCycles, f, 0, math.MaxInt64)
	case FieldRunS:
		return p.intTo(&m.RunS, f, 0, math.MaxInt64)
	case FieldDuration:
		return p.intTo(&m.DurationMS, f, 1, math.MaxInt64)
	case FieldOpenMS:
		return p.intTo(&m.OpenMS, f, 0, math.MaxInt64)
	case FieldReopens:
		return p.intTo(&m.Reopens, f, 0, math.MaxInt64)
	case FieldMaxSpeed:
		v, err := p.float(f)
		if err != nil {
			return err
		}
		if v < 0 {
			return &DecodeError{Reason: ReasonOutOfRange, Field: "max_speed", Msg: "negative"}
		}
		m.MaxSpeed = v
	case FieldCode:
		s, esc, err := p.strValue(f)
		if err != nil {
			return err
		}
		if code, ok := canonicalFaultCode(s); ok && !esc {
			m.Code = code
		} else if !esc && validUnknownCode(s) {
			m.Code = string(s)
		} else {
			return &DecodeError{Reason: ReasonInvalidValue, Field: "code", Msg: "not a fault code"}
		}
	case FieldDetail:
		s, esc, err := p.strValue(f)
		if err != nil {
			return err
		}
		if esc {
			var out string
			if err := json.Unmarshal(p.b[p.i-len(s)-2:p.i], &out); err != nil {
				return malformed("bad string escape")
			}
			m.Detail = out
		} else {
			m.Detail = string(s)
		}
		if utf8.RuneCountInString(m.Detail) > MaxDetailRunes {
			return &DecodeError{Reason: ReasonOutOfRange, Field: "detail", Msg: "longer than 256 characters"}
		}
		m.Detail = cleanText(m.Detail)
	}
	return nil
}

// cleanText is a terminal's free text as people may be shown it: control
// characters (line breaks and tabs kept) and bidirectional controls, which
// reorder what is shown (U+202E), become U+FFFD. The message is kept — a
// fault always reaches the alert engine — only its text is made safe.
func cleanText(s string) string {
	bad := func(r rune) bool {
		return r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || r >= 0x80 && r < 0xa0 ||
			r == 0x061c || r == 0x200e || r == 0x200f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069
	}
	if strings.IndexFunc(s, bad) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if bad(r) {
			return utf8.RuneError
		}
		return r
	}, s)
}

// lookupField maps a key to the field it names for kind, or 0 if the key is
// unknown for that kind (and so ignored).
func lookupField(k Kind, key []byte) Field {
	switch string(key) {
	case "v":
		return FieldV
	case "boot":
		return FieldBoot
	case "seq":
		return FieldSeq
	case "ts":
		return FieldTS
	case "lift":
		return FieldLift
	}
	switch k {
	case KindStatus:
		switch string(key) {
		case "mode":
			return FieldMode
		case "floor":
			return FieldFloor
		case "moving":
			return FieldMoving
		case "direction":
			return FieldDirection
		case "door":
			return FieldDoor
		case "door_zone":
			return FieldDoorZone
		case "occupied":
			return FieldOccupied
		case "trips":
			return FieldTrips
		case "door_cycles":
			return FieldDoorCycles
		case "run_s":
			return FieldRunS
		case "battery_pct":
			return FieldBattery
		}
	case KindTrip:
		switch string(key) {
		case "from":
			return FieldFrom
		case "to":
			return FieldTo
		case "duration_ms":
			return FieldDuration
		case "max_speed":
			return FieldMaxSpeed
		case "load_pct":
			return FieldLoad
		}
	case KindDoor:
		switch string(key) {
		case "floor":
			return FieldFloor
		case "open_ms":
			return FieldOpenMS
		case "reopens":
			return FieldReopens
		}
	case KindFault:
		switch string(key) {
		case "code":
			return FieldCode
		case "state":
			return FieldState
		case "floor":
			return FieldFloor
		case "door_zone":
			return FieldDoorZone
		case "occupied":
			return FieldOccupied
		case "detail":
			return FieldDetail
		}
	case KindAlarm:
		switch string(key) {
		case "source":
			return FieldSource
		case "floor":
			return FieldFloor
		case "occupied":
			return FieldOccupied
		}
	}
	return 0
}

func wrongType(f Field, want string) error {
	return &DecodeError{Reason: ReasonWrongType, Field: f.String(), Msg: "want " + want}
}

// str reads a JSON string at p.i and returns its raw contents (between the
// quotes) and whether it contains escapes.
func (p *parser) str() ([]byte, bool, error) {
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return nil, false, malformed("expected a string")
	}
	p.i++
	start := p.i
	esc := false
	ascii := true
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			s := p.b[start:p.i]
			p.i++
			if !ascii && !utf8.Valid(s) {
				return nil, false, malformed("string is not valid UTF-8")
			}
			return s, esc, nil
		case c == '\\':
			esc = true
			if p.i+1 >= len(p.b) {
				return nil, false, malformed("unterminated string")
			}
			switch p.b[p.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p.i += 2
			case 'u':
				if p.i+6 > len(p.b) {
					return nil, false, malformed("short \\u escape")
				}
				for _, h := range p.b[p.i+2 : p.i+6] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return nil, false, malformed("bad \\u escape")
					}
				}
				p.i += 6
			default:
				return nil, false, malformed("bad escape in string")
			}
		case c < 0x20:
			return nil, false, malformed("control character in string")
		default:
			if c >= 0x80 {
				ascii = false
			}
			p.i++
		}
	}
	return nil, false, malformed("unterminated string")
}

func (p *parser) strValue(f Field) ([]byte, bool, error) {
	if p.i < len(p.b) && p.b[p.i] != '"' {
		if err := p.skip(0); err != nil {
			return nil, false, err
		}
		return nil, false, wrongType(f, "string")
	}
	return p.str()
}

func (p *parser) enum(f Field, e enum) (uint8, error) {
	s, esc, err := p.strValue(f)
	if err != nil {
		return 0, err
	}
	v, ok := e.lookup(s)
	if !ok || esc {
		return 0, &DecodeError{Reason: ReasonInvalidValue, Field: f.String(), Msg: "not one of the allowed values"}
	}
	return v, nil
}

func (p *parser) bool(dst *bool, f Field) error {
	switch {
	case hasPrefix(p.b[p.i:], "true"):
		p.i += 4
		*dst = true
	case hasPrefix(p.b[p.i:], "false"):
		p.i += 5
		*dst = false
	default:
		if err := p.skip(0); err != nil {
			return err
		}
		return wrongType(f, "boolean")
	}
	return nil
}

func hasPrefix(b []byte, s string) bool { return len(b) >= len(s) && string(b[:len(s)]) == s }

// number reads a JSON number and reports whether it is an integer literal.
func (p *parser) number() ([]byte, bool, error) {
	start := p.i
	isInt := true
	if p.i < len(p.b) && p.b[p.i] == '-' {
		p.i++
	}
	if p.i >= len(p.b) {
		return nil, false, malformed("bad number")
	}
	if p.b[p.i] == '0' {
		p.i++
	} else if p.b[p.i] >= '1' && p.b[p.i] <= '9' {
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
		}
	} else {
		return nil, false, malformed("bad number")
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		isInt = false
		p.i++
		d := p.i
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
		}
		if p.i == d {
			return nil, false, malformed("bad number fraction")
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		isInt = false
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		d := p.i
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
		}
		if p.i == d {
			return nil, false, malformed("bad number exponent")
		}
	}
	return p.b[start:p.i], isInt, nil
}

func (p *parser) isNumberStart() bool {
	return p.i < len(p.b) && (p.b[p.i] == '-' || p.b[p.i] >= '0' && p.b[p.i] <= '9')
}

func (p *parser) int(f Field, lo, hi int64) (int64, error) {
	if !p.isNumberStart() {
		if err := p.skip(0); err != nil {
			return 0, err
		}
		return 0, wrongType(f, "integer")
	}
	raw, isInt, err := p.number()
	if err != nil {
		return 0, err
	}
	if !isInt {
		return 0, wrongType(f, "integer")
	}
	v, err := strconv.ParseInt(unsafe.String(unsafe.SliceData(raw), len(raw)), 10, 64)
	if err != nil || v < lo || v > hi {
		return 0, &DecodeError{Reason: ReasonOutOfRange, Field: f.String(), Msg: "must be in " + strconv.FormatInt(lo, 10) + ".." + strconv.FormatInt(hi, 10)}
	}
	return v, nil
}

func (p *parser) intTo(dst *int64, f Field, lo, hi int64) error {
	v, err := p.int(f, lo, hi)
	*dst = v
	return err
}

func (p *parser) smallInt(dst *int, f Field, lo, hi int64) error {
	v, err := p.int(f, lo, hi)
	*dst = int(v)
	return err
}

func (p *parser) float(f Field) (float64, error) {
	if !p.isNumberStart() {
		if err := p.skip(0); err != nil {
			return 0, err
		}
		return 0, wrongType(f, "number")
	}
	raw, _, err := p.number()
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(raw), len(raw)), 64)
	if err != nil {
		return 0, &DecodeError{Reason: ReasonOutOfRange, Field: f.String(), Msg: "number out of range"}
	}
	return v, nil
}

// skip validates and skips any JSON value.
func (p *parser) skip(depth int) error {
	if depth > maxDepth {
		return malformed("nesting too deep")
	}
	if p.i >= len(p.b) {
		return malformed("expected a value")
	}
	switch c := p.b[p.i]; {
	case c == '"':
		_, _, err := p.str()
		return err
	case c == '{' || c == '[':
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		p.i++
		p.ws()
		if p.i < len(p.b) && p.b[p.i] == closer {
			p.i++
			return nil
		}
		for {
			p.ws()
			if c == '{' {
				if _, _, err := p.str(); err != nil {
					return err
				}
				p.ws()
				if p.i >= len(p.b) || p.b[p.i] != ':' {
					return malformed("expected ':' after object key")
				}
				p.i++
				p.ws()
			}
			if err := p.skip(depth + 1); err != nil {
				return err
			}
			p.ws()
			if p.i >= len(p.b) {
				return malformed("unterminated container")
			}
			if p.b[p.i] == ',' {
				p.i++
				continue
			}
			if p.b[p.i] == closer {
				p.i++
				return nil
			}
			return malformed("expected ',' or closing bracket")
		}
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		_, _, err := p.number()
		return err
	}
	return malformed("unexpected character")
}

func (p *parser) literal(s string) error {
	if !hasPrefix(p.b[p.i:], s) {
		return malformed("bad literal")
	}
	p.i += len(s)
	return nil
}
