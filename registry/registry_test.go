package registry

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestShippedFleetIsReproducible(t *testing.T) {
	shipped, err := Jiangwan()
	if err != nil {
		t.Fatal(err)
	}
	if len(shipped) != JiangwanSize {
		t.Fatalf("shipped fleet has %d lifts, want %d", len(shipped), JiangwanSize)
	}
	if !reflect.DeepEqual(shipped, Generate(JiangwanSeed)) {
		t.Fatal("fleets/jiangwan.json differs from Generate(JiangwanSeed); regenerate with: go run ./cmd/liftwatch fleet > registry/fleets/jiangwan.json")
	}
	estates := map[string]int{}
	for _, l := range shipped {
		estates[l.Estate]++
	}
	for _, e := range []string{"yixian", "guyuan", "jinian"} {
		if estates[e] == 0 {
			t.Errorf("estate %s missing", e)
		}
	}
}

func TestCSVRoundTrip(t *testing.T) {
	lifts := Generate(1)[:20]
	var buf bytes.Buffer
	if err := WriteCSV(&buf, lifts); err != nil {
		t.Fatal(err)
	}
	got, err := ParseCSV(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, lifts) {
		t.Fatalf("CSV round trip differs")
	}
	path := t.TempDir() + "/fleet.csv"
	var b2 bytes.Buffer
	_ = WriteCSV(&b2, lifts)
	if err := os.WriteFile(path, b2.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := LoadFile(path); err != nil || len(got) != 20 {
		t.Fatalf("LoadFile: %v", err)
	}
}

func TestValidationMessages(t *testing.T) {
	good := Generate(1)[0]
	cases := map[string]func(l *Lift){
		"id must be":        func(l *Lift) { l.ID = "-bad" },
		"estate slug":       func(l *Lift) { l.Estate = "a b" },
		"landings 1 out of": func(l *Lift) { l.Landings = 1 },
		"rated_speed":       func(l *Lift) { l.RatedSpeed = 0 },
		"half landing 9":    func(l *Lift) { l.HalfLandings = []int{9} },
		"install_date":      func(l *Lift) { l.InstallDate = "2020/01/01" },
	}
	for want, mutate := range cases {
		l := good
		mutate(&l)
		err := ValidateAll([]Lift{l})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want error containing %q, got %v", want, err)
		}
	}
	if err := ValidateAll([]Lift{good, good}); err == nil || !strings.Contains(err.Error(), "duplicate") {
		t.Errorf("duplicate not caught: %v", err)
	}
	if _, err := ParseCSV(strings.NewReader("id,x\n")); err == nil {
		t.Error("bad CSV header accepted")
	}
	b, _ := json.Marshal([]map[string]any{{"id": "A1", "bogus": 1}})
	if _, err := ParseJSON(b); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("unknown JSON field not reported: %v", err)
	}
}

func TestIndex(t *testing.T) {
	ix := NewIndex(GenerateN(1, 1000))
	if ix.Len() != 1000 {
		t.Fatal(ix.Len())
	}
	l, ok := ix.Get("LW-000500")
	if !ok || l.ID != "LW-000500" {
		t.Fatal("lookup")
	}
	if _, ok := ix.Get("nope"); ok {
		t.Fatal("phantom lift")
	}
}
