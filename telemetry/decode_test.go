package telemetry

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

var now = time.UnixMilli(1_790_000_000_000)

const nowMS = "1790000000000"

func decode(t testing.TB, kind Kind, payload string) (Message, error) {
	t.Helper()
	var d Decoder
	var m Message
	err := d.Decode("JW-0042", kind, []byte(payload), now, &m)
	return m, err
}

const (
	validStatus = `{"v":1,"boot":3,"seq":17,"ts":` + nowMS + `,"mode":"normal","floor":4,"moving":false,"direction":"none","door":"closed","door_zone":true,"occupied":false,"trips":1200,"door_cycles":1400,"run_s":18000,"battery_pct":87}`
	validTrip   = `{"v":1,"boot":3,"seq":18,"ts":` + nowMS + `,"from":1,"to":6,"duration_ms":14000,"max_speed":1.0,"load_pct":40}`
	validDoor   = `{"v":1,"boot":3,"seq":19,"ts":` + nowMS + `,"floor":6,"open_ms":4200,"reopens":1}`
	validFault  = `{"v":1,"boot":3,"seq":20,"ts":` + nowMS + `,"code":"stopped_outside_door_zone","state":"active","floor":3,"door_zone":false,"occupied":true,"detail":"between 3 and 4"}`
	validAlarm  = `{"v":1,"boot":3,"seq":21,"ts":` + nowMS + `,"source":"button","floor":3,"occupied":true}`
)

func TestDecodeValid(t *testing.T) {
	m, err := decode(t, KindStatus, validStatus)
	if err != nil {
		t.Fatal(err)
	}
	if m.Boot != 3 || m.Seq != 17 || m.TS != 1790000000000 || m.Mode != ModeNormal || m.Floor != 4 ||
		m.Moving || m.Direction != DirNone || m.Door != DoorClosed || !m.DoorZone || m.Occupied ||
		m.Trips != 1200 || m.DoorCycles != 1400 || m.RunS != 18000 || m.BatteryPct != 87 || m.Lift != "JW-0042" {
		t.Fatalf("status decoded wrong: %+v", m)
	}
	m, err = decode(t, KindTrip, validTrip)
	if err != nil || m.From != 1 || m.To != 6 || m.DurationMS != 14000 || m.MaxSpeed != 1.0 || m.LoadPct != 40 {
		t.Fatalf("trip: %v %+v", err, m)
	}
	m, err = decode(t, KindDoor, validDoor)
	if err != nil || m.Floor != 6 || m.OpenMS != 4200 || m.Reopens != 1 {
		t.Fatalf("door: %v %+v", err, m)
	}
	m, err = decode(t, KindFault, validFault)
	if err != nil || m.Code != FaultStoppedOutsideDoorZone || m.State != FaultActive || m.Floor != 3 ||
		m.Has&FieldOccupied == 0 || !m.Occupied || m.Has&FieldDoorZone == 0 || m.DoorZone || m.Detail != "between 3 and 4" {
		t.Fatalf("fault: %v %+v", err, m)
	}
	m, err = decode(t, KindAlarm, validAlarm)
	if err != nil || m.Source != AlarmButton || m.Floor != 3 || !m.Occupied {
		t.Fatalf("alarm: %v %+v", err, m)
	}
}

func TestDecodeOptionalFieldsAbsent(t *testing.T) {
	m, err := decode(t, KindTrip, `{"v":1,"boot":0,"seq":1,"ts":`+nowMS+`,"from":2,"to":1,"duration_ms":1,"max_speed":0}`)
	if err != nil {
		t.Fatal(err)
	}
	if m.Has&FieldLoad != 0 || m.LoadPct != -1 {
		t.Fatalf("load_pct should be absent: %+v", m)
	}
	m, err = decode(t, KindFault, `{"v":1,"boot":0,"seq":1,"ts":`+nowMS+`,"code":"overspeed","state":"cleared"}`)
	if err != nil || m.Has&(FieldFloor|FieldOccupied|FieldDoorZone|FieldDetail) != 0 {
		t.Fatalf("fault optional: %v %+v", err, m)
	}
}

func TestDecodeRejections(t *testing.T) {
	base := `"v":1,"boot":1,"seq":5,"ts":` + nowMS
	tooOld := now.Add(-DefaultHorizon - time.Minute).UnixMilli()
	future := now.Add(DefaultMaxFuture + time.Second).UnixMilli()
	cases := []struct {
		name    string
		kind    Kind
		payload string
		reason  Reason
		field   string
	}{
		{"not json", KindAlarm, `hello`, ReasonMalformed, ""},
		{"empty", KindAlarm, ``, ReasonMalformed, ""},
		{"array", KindAlarm, `[1,2]`, ReasonMalformed, ""},
		{"truncated", KindAlarm, `{` + base + `,"source":"button"`, ReasonMalformed, ""},
		{"trailing", KindAlarm, `{` + base + `,"source":"button"} x`, ReasonMalformed, ""},
		{"two objects", KindAlarm, `{` + base + `,"source":"button"}{}`, ReasonMalformed, ""},
		{"trailing comma", KindAlarm, `{` + base + `,"source":"button",}`, ReasonMalformed, ""},
		{"bad escape", KindAlarm, `{` + base + `,"source":"button","x":"\q"}`, ReasonMalformed, ""},
		{"control char", KindAlarm, "{" + base + `,"source":"button","x":"a` + "\x01" + `"}`, ReasonMalformed, ""},
		{"invalid utf8", KindAlarm, "{" + base + `,"source":"button","x":"\xff"}`, ReasonMalformed, ""},
		{"duplicate field", KindAlarm, `{` + base + `,"source":"button","source":"intercom"}`, ReasonMalformed, ""},
		{"leading zero", KindAlarm, `{"v":1,"boot":01,"seq":5,"ts":` + nowMS + `,"source":"button"}`, ReasonMalformed, ""},
		{"deep unknown", KindAlarm, `{` + base + `,"source":"button","x":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, ReasonMalformed, ""},
		{"v2", KindAlarm, `{"v":2,"boot":1,"seq":5,"ts":` + nowMS + `,"source":"button"}`, ReasonBadVersion, "v"},
		{"v string", KindAlarm, `{"v":"1","boot":1,"seq":5,"ts":` + nowMS + `,"source":"button"}`, ReasonWrongType, "v"},
		{"missing v", KindAlarm, `{"boot":1,"seq":5,"ts":` + nowMS + `,"source":"button"}`, ReasonMissingField, "v"},
		{"missing boot", KindAlarm, `{"v":1,"seq":5,"ts":` + nowMS + `,"source":"button"}`, ReasonMissingField, "boot"},
		{"missing seq", KindAlarm, `{"v":1,"boot":1,"ts":` + nowMS + `,"source":"button"}`, ReasonMissingField, "seq"},
		{"missing ts", KindAlarm, `{"v":1,"boot":1,"seq":5,"source":"button"}`, ReasonMissingField, "ts"},
		{"negative boot", KindAlarm, `{"v":1,"boot":-1,"seq":5,"ts":` + nowMS + `,"source":"button"}`, ReasonOutOfRange, "boot"},
		{"seq zero", KindAlarm, `{"v":1,"boot":1,"seq":0,"ts":` + nowMS + `,"source":"button"}`, ReasonOutOfRange, "seq"},
		{"seq float", KindAlarm, `{"v":1,"boot":1,"seq":5.0,"ts":` + nowMS + `,"source":"button"}`, ReasonWrongType, "seq"},
		{"seq exponent", KindAlarm, `{"v":1,"boot":1,"seq":5e0,"ts":` + nowMS + `,"source":"button"}`, ReasonWrongType, "seq"},
		{"seq overflow", KindAlarm, `{"v":1,"boot":1,"seq":99999999999999999999,"ts":` + nowMS + `,"source":"button"}`, ReasonOutOfRange, "seq"},
		{"ts string", KindAlarm, `{"v":1,"boot":1,"seq":5,"ts":"now","source":"button"}`, ReasonWrongType, "ts"},
		{"ts future", KindAlarm, `{"v":1,"boot":1,"seq":5,"ts":` + itoa(future) + `,"source":"button"}`, ReasonFuture, "ts"},
		{"ts too old", KindAlarm, `{"v":1,"boot":1,"seq":5,"ts":` + itoa(tooOld) + `,"source":"button"}`, ReasonTooOld, "ts"},
		{"ts zero", KindAlarm, `{"v":1,"boot":1,"seq":5,"ts":0,"source":"button"}`, ReasonOutOfRange, "ts"},
		{"forged lift", KindAlarm, `{` + base + `,"lift":"JW-0043","source":"button"}`, ReasonLiftMismatch, "lift"},
		{"forged lift escaped", KindAlarm, `{` + base + `,"lift":"JW-004\u0032","source":"button"}`, ReasonLiftMismatch, "lift"},
		{"alarm bad source", KindAlarm, `{` + base + `,"source":"siren"}`, ReasonInvalidValue, "source"},
		{"alarm source number", KindAlarm, `{` + base + `,"source":1}`, ReasonWrongType, "source"},
		{"alarm missing source", KindAlarm, `{` + base + `}`, ReasonMissingField, "source"},
		{"alarm occupied string", KindAlarm, `{` + base + `,"source":"button","occupied":"yes"}`, ReasonWrongType, "occupied"},
		{"status missing mode", KindStatus, strings.Replace(validStatus, `"mode":"normal",`, "", 1), ReasonMissingField, "mode"},
		{"status bad mode", KindStatus, strings.Replace(validStatus, `"mode":"normal"`, `"mode":"party"`, 1), ReasonInvalidValue, "mode"},
		{"status bad direction", KindStatus, strings.Replace(validStatus, `"direction":"none"`, `"direction":"sideways"`, 1), ReasonInvalidValue, "direction"},
		{"status bad door", KindStatus, strings.Replace(validStatus, `"door":"closed"`, `"door":"ajar"`, 1), ReasonInvalidValue, "door"},
		{"status moving int", KindStatus, strings.Replace(validStatus, `"moving":false`, `"moving":0`, 1), ReasonWrongType, "moving"},
		{"status floor range", KindStatus, strings.Replace(validStatus, `"floor":4`, `"floor":500`, 1), ReasonOutOfRange, "floor"},
		{"status negative trips", KindStatus, strings.Replace(validStatus, `"trips":1200`, `"trips":-1`, 1), ReasonOutOfRange, "trips"},
		{"status negative door cycles", KindStatus, strings.Replace(validStatus, `"door_cycles":1400`, `"door_cycles":-1`, 1), ReasonOutOfRange, "door_cycles"},
		{"status negative run_s", KindStatus, strings.Replace(validStatus, `"run_s":18000`, `"run_s":-5`, 1), ReasonOutOfRange, "run_s"},
		{"status battery 101", KindStatus, strings.Replace(validStatus, `"battery_pct":87`, `"battery_pct":101`, 1), ReasonOutOfRange, "battery_pct"},
		{"status door_zone null", KindStatus, strings.Replace(validStatus, `"door_zone":true`, `"door_zone":null`, 1), ReasonWrongType, "door_zone"},
		{"trip same floor", KindTrip, strings.Replace(validTrip, `"to":6`, `"to":1`, 1), ReasonInvalidValue, "to"},
		{"trip zero duration", KindTrip, strings.Replace(validTrip, `"duration_ms":14000`, `"duration_ms":0`, 1), ReasonOutOfRange, "duration_ms"},
		{"trip negative speed", KindTrip, strings.Replace(validTrip, `"max_speed":1.0`, `"max_speed":-0.5`, 1), ReasonOutOfRange, "max_speed"},
		{"trip speed string", KindTrip, strings.Replace(validTrip, `"max_speed":1.0`, `"max_speed":"fast"`, 1), ReasonWrongType, "max_speed"},
		{"trip huge speed", KindTrip, strings.Replace(validTrip, `"max_speed":1.0`, `"max_speed":1e999`, 1), ReasonOutOfRange, "max_speed"},
		{"trip load 151", KindTrip, strings.Replace(validTrip, `"load_pct":40`, `"load_pct":151`, 1), ReasonOutOfRange, "load_pct"},
		{"trip missing to", KindTrip, strings.Replace(validTrip, `"to":6,`, ``, 1), ReasonMissingField, "to"},
		{"door negative open", KindDoor, strings.Replace(validDoor, `"open_ms":4200`, `"open_ms":-1`, 1), ReasonOutOfRange, "open_ms"},
		{"door negative reopens", KindDoor, strings.Replace(validDoor, `"reopens":1`, `"reopens":-1`, 1), ReasonOutOfRange, "reopens"},
		{"door missing floor", KindDoor, strings.Replace(validDoor, `"floor":6,`, ``, 1), ReasonMissingField, "floor"},
		{"fault bad code", KindFault, strings.Replace(validFault, `"code":"stopped_outside_door_zone"`, `"code":"Bad Code!"`, 1), ReasonInvalidValue, "code"},
		{"fault bad state", KindFault, strings.Replace(validFault, `"state":"active"`, `"state":"maybe"`, 1), ReasonInvalidValue, "state"},
		{"fault long detail", KindFault, strings.Replace(validFault, `"detail":"between 3 and 4"`, `"detail":"`+strings.Repeat("梯", 257)+`"`, 1), ReasonOutOfRange, "detail"},
		{"fault missing state", KindFault, strings.Replace(validFault, `"state":"active",`, ``, 1), ReasonMissingField, "state"},
		{"too large", KindAlarm, `{` + base + `,"source":"button","pad":"` + strings.Repeat("x", 4096) + `"}`, ReasonTooLarge, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decode(t, tc.kind, tc.payload)
			if err == nil {
				t.Fatalf("accepted %s", tc.payload)
			}
			de, ok := err.(*DecodeError)
			if !ok {
				t.Fatalf("error %T %v is not a *DecodeError", err, err)
			}
			if de.Reason != tc.reason || (tc.field != "" && de.Field != tc.field) {
				t.Fatalf("got %v (field %q), want reason %s field %q", err, de.Field, tc.reason, tc.field)
			}
		})
	}
}

func itoa(v int64) string { b, _ := json.Marshal(v); return string(b) }

func TestDecodeForwardCompatible(t *testing.T) {
	// Unknown fields of any type are ignored, as are known fields of another kind.
	p := `{"future":{"a":[1,2,{"b":null}],"c":"\u00e9"},"v":1,"boot":0,"seq":1,"ts":` + nowMS +
		`,"source":"intercom","mode":42,"x":-1.5e3,"y":true}`
	m, err := decode(t, KindAlarm, p)
	if err != nil || m.Source != AlarmIntercom {
		t.Fatalf("%v %+v", err, m)
	}
	// An unknown but well-formed fault code is accepted (severity major).
	m, err = decode(t, KindFault, `{"v":1,"boot":0,"seq":1,"ts":`+nowMS+`,"code":"brake_wear_v2","state":"active"}`)
	if err != nil || m.Code != "brake_wear_v2" || FaultSeverity(m.Code) != SeverityMajor {
		t.Fatalf("%v %+v", err, m)
	}
	// The payload may repeat its own lift.
	if _, err := decode(t, KindAlarm, `{"v":1,"boot":0,"seq":1,"ts":`+nowMS+`,"lift":"JW-0042","source":"button"}`); err != nil {
		t.Fatal(err)
	}
	// Escaped detail is unescaped.
	m, err = decode(t, KindFault, `{"v":1,"boot":0,"seq":1,"ts":`+nowMS+`,"code":"door_lock","state":"active","detail":"a\"b\n\u95e8"}`)
	if err != nil || m.Detail != "a\"b\n门" {
		t.Fatalf("%v %q", err, m.Detail)
	}
}

func TestDecodeTimeWindowConfigurable(t *testing.T) {
	d := Decoder{Horizon: time.Hour, MaxFuture: time.Second, MaxPayload: 64}
	var m Message
	old := `{"v":1,"boot":0,"seq":1,"ts":` + itoa(now.Add(-2*time.Hour).UnixMilli()) + `,"source":"button"}`
	if err := d.Decode("L1", KindAlarm, []byte(old), now, &m); ReasonOf(err) != ReasonTooOld {
		t.Fatalf("want ts_too_old, got %v", err)
	}
	fut := `{"v":1,"boot":0,"seq":1,"ts":` + itoa(now.Add(2*time.Second).UnixMilli()) + `,"source":"button"}`
	if err := d.Decode("L1", KindAlarm, []byte(fut), now, &m); ReasonOf(err) != ReasonFuture {
		t.Fatalf("want ts_future, got %v", err)
	}
	if err := d.Decode("L1", KindAlarm, []byte(validAlarm), now, &m); ReasonOf(err) != ReasonTooLarge {
		t.Fatalf("want too_large, got %v", err)
	}
}

func TestRoundTripJSONAndLine(t *testing.T) {
	for _, p := range []struct {
		k Kind
		s string
	}{{KindStatus, validStatus}, {KindTrip, validTrip}, {KindDoor, validDoor}, {KindFault, validFault}, {KindAlarm, validAlarm}} {
		m1, err := decode(t, p.k, p.s)
		if err != nil {
			t.Fatal(err)
		}
		enc := AppendJSON(nil, &m1)
		if !json.Valid(enc) {
			t.Fatalf("invalid JSON %s", enc)
		}
		m2, err := decode(t, p.k, string(enc))
		if err != nil {
			t.Fatalf("re-decode %s: %v", enc, err)
		}
		if m1 != m2 {
			t.Fatalf("round trip differs:\n%+v\n%+v", m1, m2)
		}
	}
	m, _ := decode(t, KindTrip, validTrip)
	line := string(AppendLine(nil, &m, "yixian"))
	want := "trip,estate=yixian,lift=JW-0042 boot=3i,seq=18i,ts=1790000000000i,from=1i,to=6i,duration_ms=14000i,max_speed=1,load_pct=40i 1790000000000000018\n"
	if line != want {
		t.Fatalf("line:\n%s\nwant\n%s", line, want)
	}
	m, _ = decode(t, KindFault, validFault)
	line = string(AppendLine(nil, &m, "a b,c=d"))
	want = `fault,estate=a\ b\,c\=d,lift=JW-0042 boot=3i,seq=20i,ts=1790000000000i,code="stopped_outside_door_zone",state="active",floor=3i,occupied=true,door_zone=false,detail="between 3 and 4" 1790000000000000020` + "\n"
	if line != want {
		t.Fatalf("line:\n%s\nwant\n%s", line, want)
	}
}

func TestPointTimeDistinctWithinMillisecond(t *testing.T) {
	a := Message{TS: 1000, Seq: 1}
	b := Message{TS: 1000, Seq: 2}
	c := Message{TS: 1000, Seq: 1_000_001}
	if a.PointTime() == b.PointTime() || a.PointTime() != 1000*1_000_000+1 || c.PointTime() != a.PointTime() {
		t.Fatal("point time rule broken")
	}
}

func TestTopics(t *testing.T) {
	lift, k, err := ParseTopic("hongkou/lifts", "hongkou/lifts/JW-0042/fault")
	if err != nil || lift != "JW-0042" || k != KindFault {
		t.Fatal(lift, k, err)
	}
	if Topic("lifts", "A1", KindDoor) != "lifts/A1/door" || Subscription("lifts") != "lifts/+/+" {
		t.Fatal("topic build")
	}
	for _, bad := range []string{"lifts", "lifts/", "lifts/A1", "lifts/A1/", "lifts/A1/trips", "lifts/-A1/trip",
		"other/A1/trip", "liftsX/A1/trip", "lifts/A 1/trip", "lifts/A1/trip/x", "lifts/" + strings.Repeat("a", 65) + "/trip", "lifts//trip"} {
		if _, _, err := ParseTopic("lifts", bad); ReasonOf(err) != ReasonBadTopic {
			t.Errorf("%q: want bad_topic, got %v", bad, err)
		}
	}
	for _, ok := range []string{"A", "0", "JW-0042", "a.b_c-d", strings.Repeat("x", 64), "31101234567890123456"} {
		if !ValidLiftID(ok) {
			t.Errorf("%q should be valid", ok)
		}
	}
	for _, bad := range []string{"", "_a", ".a", "-a", "a/b", "a+b", "梯", strings.Repeat("x", 65)} {
		if ValidLiftID(bad) {
			t.Errorf("%q should be invalid", bad)
		}
	}
	if ValidRoot("a//b") == nil || ValidRoot("a/+") == nil || ValidRoot("") == nil || ValidRoot("hongkou/lifts") != nil {
		t.Fatal("root validation")
	}
}

func TestCatalogue(t *testing.T) {
	if len(Catalogue) != 16 {
		t.Fatalf("catalogue has %d codes", len(Catalogue))
	}
	seen := map[string]bool{}
	for _, f := range Catalogue {
		if seen[f.Code] || f.NameZH == "" || f.NameEN == "" {
			t.Fatalf("bad entry %+v", f)
		}
		seen[f.Code] = true
	}
	e, _ := LookupFault("entrapment")
	if !e.Rescue || e.Severity != SeverityCritical {
		t.Fatal("entrapment must be critical rescue")
	}
	if f, _ := LookupFault("power_loss"); f.GB != 41 || !f.GBEvent {
		t.Fatal("power_loss GB code")
	}
	if f, _ := LookupFault("no_restart"); f.GB != 8 {
		t.Fatal("no_restart GB code")
	}
	for _, c := range []string{"unintended_movement", "overspeed", "overtravel_top", "overtravel_bottom", "door_open_while_moving"} {
		if FaultSeverity(c) != SeverityCritical {
			t.Fatalf("%s should be critical", c)
		}
	}
	if FaultSeverity("door_obstructed") != SeverityMinor {
		t.Fatal("door_obstructed minor")
	}
}

// FuzzDecode checks that the decoder never panics, never accepts what is not
// JSON, and that whatever it accepts re-encodes to an equal message.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{validStatus, validTrip, validDoor, validFault, validAlarm, `{}`, `{"a":[{}]}`, `"x"`} {
		f.Add(uint8(KindAlarm), []byte(s))
		f.Add(uint8(KindStatus), []byte(s))
	}
	f.Fuzz(func(t *testing.T, kind uint8, payload []byte) {
		k := Kind(kind%5 + 1)
		var d Decoder
		var m Message
		err := d.Decode("JW-0042", k, payload, now, &m)
		if err != nil {
			if ReasonOf(err) == "" {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if !json.Valid(payload) {
			t.Fatalf("accepted invalid JSON %q", payload)
		}
		var m2 Message
		enc := AppendJSON(nil, &m)
		if err := d.Decode("JW-0042", k, enc, now, &m2); err != nil {
			t.Fatalf("re-decode of %s failed: %v", enc, err)
		}
		m2.Has = m.Has // the encoder omits lift, which is optional
		if m != m2 {
			t.Fatalf("round trip differs:\n%+v\n%+v", m, m2)
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	for _, p := range []struct {
		k Kind
		s string
	}{{KindStatus, validStatus}, {KindTrip, validTrip}, {KindFault, validFault}} {
		b.Run(p.k.String(), func(b *testing.B) {
			var d Decoder
			var m Message
			payload := []byte(p.s)
			b.SetBytes(int64(len(payload)))
			b.ReportAllocs()
			for b.Loop() {
				if err := d.Decode("JW-0042", p.k, payload, now, &m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("status/encoding_json_baseline", func(b *testing.B) {
		type status struct {
			V, Boot, Seq, TS                    int64
			Mode                                string
			Floor                               int
			Moving                              bool
			Direction, Door                     string
			DoorZone                            bool `json:"door_zone"`
			Occupied                            bool
			Trips, DoorCycles, RunS, BatteryPct int64
		}
		payload := []byte(validStatus)
		b.ReportAllocs()
		for b.Loop() {
			var s status
			if err := json.Unmarshal(payload, &s); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkAppendLine(b *testing.B) {
	m, _ := decode(b, KindStatus, validStatus)
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendLine(buf[:0], &m, "yixian")
	}
}

// TestFaultDetailIsCleaned (issue 18): a fault's detail with a NUL, an
// escape sequence or U+202E is kept as a fault (it must reach the alert
// engine), its text with those characters replaced by U+FFFD; line breaks
// and Chinese stay.
func TestFaultDetailIsCleaned(t *testing.T) {
	payload := strings.Replace(validFault, `"between 3 and 4"`, `"rlo \u202e nul \u0000 esc \u001b[31m 门区\n第二行"`, 1)
	m, err := decode(t, KindFault, payload)
	if err != nil {
		t.Fatalf("%v (payload %s)", err, payload)
	}
	if want := "rlo \ufffd nul \ufffd esc \ufffd[31m 门区\n第二行"; m.Detail != want {
		t.Fatalf("detail %q, want %q", m.Detail, want)
	}
}
