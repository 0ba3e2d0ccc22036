package simulator

import (
	"fmt"
	"strings"
	"time"

	"github.com/liftwatch/liftwatch/telemetry"
)

// HostileReasons are the kinds of bad message the hostile mode sends, named
// by the reason the service must reject each with.
var HostileReasons = []telemetry.Reason{
	telemetry.ReasonMalformed, telemetry.ReasonWrongType, telemetry.ReasonTooLarge,
	telemetry.ReasonLiftMismatch, telemetry.ReasonUnknownLift, telemetry.ReasonFuture,
	telemetry.ReasonBadTopic, telemetry.ReasonMissingField,
}

// hostile makes one bad message in the name of lift l. It never consumes a
// sequence number, so it cannot create a gap in l's real traffic.
func (s *Simulator) hostile(l *lift, ts int64) *Out {
	reason := HostileReasons[s.r.IntN(len(HostileReasons))]
	return s.hostileOf(l, reason, ts)
}

func (s *Simulator) hostileOf(l *lift, reason telemetry.Reason, ts int64) *Out {
	id := l.reg.ID
	kind := telemetry.KindStatus
	seq := max(l.seq, 1)
	base := fmt.Sprintf(`"v":1,"boot":%d,"seq":%d,"ts":%d`, l.boot, seq, ts)
	alarm := `{` + base + `,"source":"button"}`
	var payload string
	topic := ""
	switch reason {
	case telemetry.ReasonMalformed:
		kind = telemetry.KindAlarm
		switch s.r.IntN(3) {
		case 0:
			payload = alarm[:len(alarm)/2]
		case 1:
			payload = "not json at all"
		default:
			payload = strings.Replace(alarm, ":", "=", 1)
		}
	case telemetry.ReasonWrongType:
		kind = telemetry.KindTrip
		payload = `{` + base + `,"from":"1","to":3,"duration_ms":9000,"max_speed":1.0}`
	case telemetry.ReasonTooLarge:
		kind = telemetry.KindFault
		payload = `{` + base + `,"code":"door_lock","state":"active","pad":"` + strings.Repeat("x", telemetry.DefaultMaxPayload) + `"}`
	case telemetry.ReasonLiftMismatch:
		kind = telemetry.KindAlarm
		other := s.lifts[s.r.IntN(len(s.lifts))].reg.ID
		if other == id {
			other = id + "x"
		}
		payload = `{` + base + `,"lift":"` + other + `","source":"button"}`
	case telemetry.ReasonUnknownLift:
		kind = telemetry.KindAlarm
		ghost := fmt.Sprintf("ZZ-%06d", s.r.IntN(1_000_000))
		for s.known[ghost] {
			ghost += "9"
		}
		topic = telemetry.Topic(s.cfg.Root, ghost, kind)
		payload = alarm
	case telemetry.ReasonFuture:
		kind = telemetry.KindAlarm
		future := max(ts, s.cfg.Now().UnixMilli()) + (24 * time.Hour).Milliseconds()
		payload = fmt.Sprintf(`{"v":1,"boot":%d,"seq":%d,"ts":%d,"source":"button"}`, l.boot, seq, future)
	case telemetry.ReasonBadTopic:
		topic = s.cfg.Root + "/" + id + "/telemetry"
		payload = alarm
	case telemetry.ReasonMissingField:
		kind = telemetry.KindDoor
		payload = `{` + base + `,"open_ms":4000,"reopens":0}`
	default:
		panic("simulator: no hostile message for reason " + string(reason))
	}
	if topic == "" {
		topic = telemetry.Topic(s.cfg.Root, id, kind)
	}
	return &Out{Lift: id, Kind: kind, Topic: topic, Payload: []byte(payload), Hostile: reason}
}
