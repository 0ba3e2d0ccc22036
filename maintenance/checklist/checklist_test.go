package checklist

import "testing"

// TestCumulativeCounts pins annex A's sizes: 31, 44, 59 and 76 items, every
// item labelled in both languages, codes unique, levels in order.
func TestCumulativeCounts(t *testing.T) {
	want := map[Level]int{HalfMonthly: 31, Quarterly: 44, SemiAnnual: 59, Annual: 76}
	for l, n := range want {
		if got := len(For(l)); got != n {
			t.Errorf("%s: %d items, want %d", l, got, n)
		}
	}
	if len(All()) != 76 {
		t.Fatalf("%d items, want 76", len(All()))
	}
	seen := map[string]bool{}
	prev := HalfMonthly
	tests := 0
	for _, it := range All() {
		if it.ZH == "" || it.EN == "" || it.Code == "" {
			t.Errorf("item %+v lacks a label or code", it)
		}
		if seen[it.Code] {
			t.Errorf("duplicate code %s", it.Code)
		}
		seen[it.Code] = true
		if it.Level < prev {
			t.Errorf("item %s out of level order", it.Code)
		}
		prev = it.Level
		if it.Test {
			tests++
		}
		if got, ok := Lookup(it.Code); !ok || got != it {
			t.Errorf("Lookup(%s) = %+v, %v", it.Code, got, ok)
		}
	}
	if tests == 0 {
		t.Error("no item is a test")
	}
	for _, l := range Levels {
		if p, ok := ParseLevel(l.String()); !ok || p != l {
			t.Errorf("ParseLevel(%q) = %v, %v", l.String(), p, ok)
		}
	}
}
