package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDomainPoliciesNameTheKey: the maintenance config file's every
// problem is reported with the file and key path; a good file overrides the
// default and an estate starting from it.
func TestDomainPoliciesNameTheKey(t *testing.T) {
	dir := t.TempDir()
	file := func(body string) string {
		p := filepath.Join(dir, "m.yaml")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	isEstate := func(e string) bool { return e == "yixian" }
	p := file("default:\n  maintenance: {routine_lead_days: 20}\n  fund: {low_balance_months: -1}\n")
	_, err := loadDomainPolicies(p, isEstate)
	for _, want := range []string{"default.maintenance: routine_lead_days 20 must be in 0..14", "default.fund: low_balance_months -1"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
	p = file("default:\n  trusteeship: {expiry_warning_days: 10}\nestates:\n  atlantis: {}\n  yixian:\n    maintenance: {routine_lead_dayz: 2}\n")
	_, err = loadDomainPolicies(p, isEstate)
	for _, want := range []string{"estates.atlantis: not an estate of the register", "estates.yixian.maintenance: line 6:", "routine_lead_dayz"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
	p = file("default:\n  trusteeship: {expiry_warning_days: 10}\nestates:\n  yixian:\n    maintenance: {routine_lead_days: 5}\n")
	pol, err := loadDomainPolicies(p, isEstate)
	if err != nil {
		t.Fatal(err)
	}
	if pol.Maintenance.For("yixian").RoutineLeadDays != 5 || pol.Maintenance.For("other").RoutineLeadDays != 3 ||
		pol.Trusteeship.For("yixian").ExpiryWarningDays != 10 || pol.Maintenance.For("yixian").ProofMinutes[0] != 20 {
		t.Fatalf("policies: %+v", pol)
	}
	cfg := DefaultConfig()
	cfg.Maintenance.SweepInterval = 0
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "maintenance.sweep-interval 0s") {
		t.Fatalf("sweep interval 0: %v", err)
	}
}
