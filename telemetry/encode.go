package telemetry

import (
	"encoding/json"
	"strconv"
)

// AppendJSON appends m as a contract v1 payload. It is the inverse of
// Decoder.Decode for every valid message.
func AppendJSON(b []byte, m *Message) []byte {
	b = append(b, `{"v":1,"boot":`...)
	b = strconv.AppendInt(b, m.Boot, 10)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, m.Seq, 10)
	b = append(b, `,"ts":`...)
	b = strconv.AppendInt(b, m.TS, 10)
	w := jsonWriter{b}
	m.fields(&w)
	return append(w.b, '}')
}

// AppendLine appends m as one InfluxDB line-protocol point (with a trailing
// newline) tagged with estate.
func AppendLine(b []byte, m *Message, estate string) []byte {
	b = append(b, m.Kind.String()...)
	b = append(b, ",estate="...)
	b = appendTagValue(b, estate)
	b = append(b, ",lift="...)
	b = appendTagValue(b, m.Lift)
	b = append(b, " boot="...)
	b = strconv.AppendInt(b, m.Boot, 10)
	b = append(b, "i,seq="...)
	b = strconv.AppendInt(b, m.Seq, 10)
	b = append(b, "i,ts="...)
	b = strconv.AppendInt(b, m.TS, 10)
	b = append(b, 'i')
	w := lineWriter{b}
	m.fields(&w)
	b = append(w.b, ' ')
	b = strconv.AppendInt(b, m.PointTime(), 10)
	return append(b, '\n')
}

// fieldWriter receives a message's kind-specific fields in a fixed order.
type fieldWriter interface {
	int(name string, v int64)
	float(name string, v float64)
	bool(name string, v bool)
	str(name string, v string)
}

func (m *Message) fields(w fieldWriter) {
	switch m.Kind {
	case KindStatus:
		w.str("mode", m.Mode.String())
		w.int("floor", int64(m.Floor))
		w.bool("moving", m.Moving)
		w.str("direction", m.Direction.String())
		w.str("door", m.Door.String())
		w.bool("door_zone", m.DoorZone)
		w.bool("occupied", m.Occupied)
		w.int("trips", m.Trips)
		w.int("door_cycles", m.DoorCycles)
		w.int("run_s", m.RunS)
		if m.Has&FieldBattery != 0 {
			w.int("battery_pct", int64(m.BatteryPct))
		}
	case KindTrip:
		w.int("from", int64(m.From))
		w.int("to", int64(m.To))
		w.int("duration_ms", m.DurationMS)
		w.float("max_speed", m.MaxSpeed)
		if m.Has&FieldLoad != 0 {
			w.int("load_pct", int64(m.LoadPct))
		}
	case KindDoor:
		w.int("floor", int64(m.Floor))
		w.int("open_ms", m.OpenMS)
		w.int("reopens", m.Reopens)
	case KindFault:
		w.str("code", m.Code)
		w.str("state", m.State.String())
		m.optionalPlace(w)
		if m.Has&FieldDoorZone != 0 {
			w.bool("door_zone", m.DoorZone)
		}
		if m.Has&FieldDetail != 0 {
			w.str("detail", m.Detail)
		}
	case KindAlarm:
		w.str("source", m.Source.String())
		m.optionalPlace(w)
	}
}

func (m *Message) optionalPlace(w fieldWriter) {
	if m.Has&FieldFloor != 0 {
		w.int("floor", int64(m.Floor))
	}
	if m.Has&FieldOccupied != 0 {
		w.bool("occupied", m.Occupied)
	}
}

type jsonWriter struct{ b []byte }

func (w *jsonWriter) key(name string) {
	w.b = append(w.b, ',', '"')
	w.b = append(w.b, name...)
	w.b = append(w.b, '"', ':')
}
func (w *jsonWriter) int(name string, v int64) { w.key(name); w.b = strconv.AppendInt(w.b, v, 10) }
func (w *jsonWriter) float(name string, v float64) {
	w.key(name)
	w.b = strconv.AppendFloat(w.b, v, 'f', -1, 64)
}
func (w *jsonWriter) bool(name string, v bool) { w.key(name); w.b = strconv.AppendBool(w.b, v) }
func (w *jsonWriter) str(name string, v string) {
	w.key(name)
	q, _ := json.Marshal(v) // cannot fail for a string
	w.b = append(w.b, q...)
}

type lineWriter struct{ b []byte }

func (w *lineWriter) key(name string) {
	w.b = append(w.b, ',')
	w.b = append(w.b, name...)
	w.b = append(w.b, '=')
}
func (w *lineWriter) int(name string, v int64) {
	w.key(name)
	w.b = strconv.AppendInt(w.b, v, 10)
	w.b = append(w.b, 'i')
}
func (w *lineWriter) float(name string, v float64) {
	w.key(name)
	w.b = strconv.AppendFloat(w.b, v, 'g', -1, 64)
}
func (w *lineWriter) bool(name string, v bool) { w.key(name); w.b = strconv.AppendBool(w.b, v) }
func (w *lineWriter) str(name string, v string) {
	w.key(name)
	w.b = append(w.b, '"')
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '"', '\\':
			w.b = append(w.b, '\\', c)
		case '\n':
			w.b = append(w.b, '\\', 'n')
		default:
			w.b = append(w.b, c)
		}
	}
	w.b = append(w.b, '"')
}

// appendTagValue escapes commas, equals signs and spaces, as line protocol
// requires in tag values.
func appendTagValue(b []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case ',', '=', ' ':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, ' ')
		default:
			b = append(b, c)
		}
	}
	return b
}
