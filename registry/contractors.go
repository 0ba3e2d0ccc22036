package registry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Contractor is one maintenance company of the contractor directory: the
// name the register's contractor column uses, and the duty phone that is
// answered day and night (the number a duty manager calls for a rescue).
type Contractor struct {
	Name      string `json:"name"`
	DutyPhone string `json:"duty_phone"`
}

// dutyPhone: digits, optionally a leading +, with spaces or dashes between
// groups (021-6541 2300, 400-820-0000, +86 21 6541 2300).
var dutyPhone = regexp.MustCompile(`^\+?[0-9][0-9 -]{3,22}[0-9]$`)

// Contractors is the directory: contractor name → its entry. The zero
// value (nil) is an empty directory: every phone is "".
type Contractors map[string]Contractor

// Phone is the duty phone of contractor, "" if the directory has none.
func (c Contractors) Phone(contractor string) string { return c[contractor].DutyPhone }

// JiangwanContractors is the shipped directory of the contractors of the
// shipped Jiangwan fleet (fleets/jiangwan-contractors.json).
func JiangwanContractors() (Contractors, error) {
	b, err := fleets.ReadFile("fleets/jiangwan-contractors.json")
	if err != nil {
		return nil, fmt.Errorf("read embedded contractor directory: %w", err)
	}
	return ParseContractors(b)
}

// LoadContractors reads a contractor directory file (JSON, as the shipped
// one).
func LoadContractors(path string) (Contractors, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read contractor directory: %w", err)
	}
	c, err := ParseContractors(b)
	if err != nil {
		return nil, fmt.Errorf("contractor directory %s: %w", path, err)
	}
	return c, nil
}

// ParseContractors reads a JSON array of contractors and validates them:
// a name, a duty phone of digits (spaces, dashes, a leading +), no name
// twice.
func ParseContractors(b []byte) (Contractors, error) {
	var list []Contractor
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&list); err != nil {
		return nil, fmt.Errorf("parse JSON: %w", err)
	}
	out := make(Contractors, len(list))
	for i, c := range list {
		switch {
		case strings.TrimSpace(c.Name) == "":
			return nil, fmt.Errorf("record %d: name is empty", i+1)
		case !dutyPhone.MatchString(c.DutyPhone):
			return nil, fmt.Errorf("record %d (%s): duty_phone %q is not a phone number (digits, spaces, dashes, a leading +)", i+1, c.Name, c.DutyPhone)
		}
		if _, dup := out[c.Name]; dup {
			return nil, fmt.Errorf("record %d: contractor %s twice", i+1, c.Name)
		}
		out[c.Name] = c
	}
	return out, nil
}

// Missing lists the contractors of lifts that the directory has no phone
// for, each once, in the order met.
func (c Contractors) Missing(lifts []Lift) []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range lifts {
		if l.Contractor == "" || seen[l.Contractor] {
			continue
		}
		seen[l.Contractor] = true
		if c.Phone(l.Contractor) == "" {
			out = append(out, l.Contractor)
		}
	}
	return out
}
