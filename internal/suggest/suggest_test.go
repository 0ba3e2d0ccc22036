package suggest

import "testing"

func TestClosest(t *testing.T) {
	known := []string{"ack_within", "arrive_within", "mqtt.broker", "door_obstructed"}
	for _, c := range []struct {
		s    string
		max  int
		want string
	}{
		{"ack_witin", 2, "ack_within"},
		{"mqtt.brokr", 3, "mqtt.broker"},
		{"door_obstruct", 3, "door_obstructed"},
		{"something_else", 3, ""},
		{"ack_wi", 2, ""}, // 4 edits away
		{"", 3, ""},
	} {
		if got := Closest(c.s, known, c.max); got != c.want {
			t.Errorf("Closest(%q, %d) = %q, want %q", c.s, c.max, got, c.want)
		}
	}
}
