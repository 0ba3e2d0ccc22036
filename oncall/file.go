package oncall

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/liftwatch/liftwatch/internal/suggest"
)

// File is a roster file, read and checked:
//
//	people:
//	  - {id: zhang, name: 张师傅, role: technician, phone: "13800000001",
//	     contacts: [{channel: sms, to: "13800000001"}]}
//	duty:
//	  - {person: zhang, contractor: "上海某电梯工程有限公司", days: [mon,tue,wed,thu,fri], from: "08:00", to: "20:00"}
//	  - {person: li, estate: yixian, from: "00:00", to: "24:00"}
//	  - {person: wang, subdistrict: true, days: [sat, sun], from: "00:00", to: "24:00"}
//	  - {person: zhang, contractor: "上海某电梯工程有限公司", date: 2026-10-01, off: true, from: "08:00", to: "20:00"}
type File struct {
	Path   string
	People []Person
	Duty   []Duty
	names  []named // where the file names a contractor or an estate
}

// named is a contractor or estate the file names, and where.
type named struct {
	kind, name, key string
	line            int
}

var (
	fileKeys    = []string{"people", "duty"}
	personKeys  = []string{"id", "name", "role", "user", "phone", "lang", "contacts", "contractor", "estate"}
	contactKeys = []string{"channel", "to"}
	dutyKeys    = []string{"person", "contractor", "estate", "subdistrict", "days", "date", "off", "from", "to"}
)

// LoadFile reads and checks a roster file, reporting every problem at
// once, each with the file, its line and its key; channels are the
// configured paging channels (nil: names not checked). Entries get Source SourceFile.
func LoadFile(path string, channels Channels) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("oncall.file: %w", err)
	}
	return Parse(path, b, channels)
}

// Parse is LoadFile of b, named path in messages.
func Parse(path string, b []byte, channels Channels) (*File, error) {
	f := &File{Path: path}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("oncall file %s: %w", path, err)
	}
	if len(doc.Content) == 0 {
		return f, nil
	}
	var errs []error
	bad := func(line int, format string, args ...any) {
		errs = append(errs, fmt.Errorf("oncall file %s: line %d: %s", path, line, fmt.Sprintf(format, args...)))
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("oncall file %s: line %d: want a mapping with people: and duty:", path, top.Line)
	}
	unknownKeys(top, "", fileKeys, bad)
	_, peopleNode := entry(top, "people")
	_, dutyNode := entry(top, "duty")
	lines := map[string]int{} // person id: its line
	for i, n := range seq(peopleNode, "people", bad) {
		where := fmt.Sprintf("people[%d]", i)
		unknownKeys(n, where+".", personKeys, bad)
		for j, c := range seq(field(n, "contacts"), where+".contacts", bad) {
			unknownKeys(c, fmt.Sprintf("%s.contacts[%d].", where, j), contactKeys, bad)
		}
		var p Person
		if err := n.Decode(&p); err != nil {
			decodeErrs(err, where, n.Line, bad)
			continue
		}
		p.Source = SourceFile
		for _, pr := range CheckPerson(p, channels) {
			bad(lineOf(n, pr.Field), "%s.%s: %s", where, pr.Field, pr.Msg)
		}
		if first, dup := lines[p.ID]; dup {
			bad(lineOf(n, "id"), "%s.id: %q twice (first at line %d)", where, p.ID, first)
			continue
		}
		lines[p.ID] = n.Line
		f.People = append(f.People, p)
		if p.Contractor != "" {
			f.names = append(f.names, named{"contractor", p.Contractor, where + ".contractor", lineOf(n, "contractor")})
		}
		if p.Estate != "" {
			f.names = append(f.names, named{"estate", p.Estate, where + ".estate", lineOf(n, "estate")})
		}
	}
	ids := make([]string, 0, len(f.People))
	for _, p := range f.People {
		ids = append(ids, p.ID)
	}
	for i, n := range seq(dutyNode, "duty", bad) {
		where := fmt.Sprintf("duty[%d]", i)
		unknownKeys(n, where+".", dutyKeys, bad)
		var raw struct {
			Person      string   `yaml:"person"`
			Contractor  string   `yaml:"contractor"`
			Estate      string   `yaml:"estate"`
			Subdistrict bool     `yaml:"subdistrict"`
			Days        []string `yaml:"days"`
			Date        string   `yaml:"date"`
			Off         bool     `yaml:"off"`
			From        string   `yaml:"from"`
			To          string   `yaml:"to"`
		}
		if err := n.Decode(&raw); err != nil {
			decodeErrs(err, where, n.Line, bad)
			continue
		}
		d := Duty{ID: int64(i + 1), Person: raw.Person, Contractor: raw.Contractor, Estate: raw.Estate, Subdistrict: raw.Subdistrict, Off: raw.Off, Source: SourceFile}
		ok := true
		if raw.Date != "" {
			if err := ParseDate(raw.Date); err != nil {
				bad(lineOf(n, "date"), "%s.date: %v", where, err)
				ok = false
			}
		}
		for j, day := range raw.Days {
			if _, err := ParseDay(day); err != nil {
				bad(seqLine(field(n, "days"), j, n.Line), "%s.days[%d]: %v", where, j, err)
				ok = false
			}
		}
		for _, k := range []string{"from", "to"} {
			v := map[string]string{"from": raw.From, "to": raw.To}[k]
			if _, err := ParseClock(v, k == "to"); err != nil {
				bad(lineOf(n, k), "%s.%s: %v", where, k, err)
				ok = false
			}
		}
		if ok {
			w, err := ParseWindow(raw.Days, raw.From, raw.To)
			if err != nil {
				bad(lineOf(n, "to"), "%s: %v", where, err)
				ok = false
			}
			w.Date = raw.Date
			d.Window = w
		}
		idx := slices.IndexFunc(f.People, func(p Person) bool { return p.ID == raw.Person })
		switch {
		case raw.Person == "":
			bad(n.Line, "%s.person: required (the id of one of people)", where)
			ok = false
		case idx < 0:
			msg := fmt.Sprintf("%s.person: unknown person %q", where, raw.Person)
			if s := suggest.Closest(raw.Person, ids, 2); s != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", s)
			}
			bad(lineOf(n, "person"), "%s", msg)
			ok = false
		default:
			for _, pr := range CheckDuty(f.People[idx], d) {
				k, msg, _ := strings.Cut(pr, ": ")
				bad(lineOf(n, k), "%s.%s: %s", where, k, msg)
				ok = false
			}
		}
		if d.Contractor != "" {
			f.names = append(f.names, named{"contractor", d.Contractor, where + ".contractor", lineOf(n, "contractor")})
		}
		if d.Estate != "" {
			f.names = append(f.names, named{"estate", d.Estate, where + ".estate", lineOf(n, "estate")})
		}
		if ok {
			f.Duty = append(f.Duty, d)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return f, err
	}
	return f, nil
}

// CheckRegister reports every contractor and estate the file names that
// the register does not have, each with its key and line: a misspelt one
// would leave its lifts' alerts with nobody to page.
func (f *File) CheckRegister(isContractor, isEstate func(string) bool) error {
	var errs []error
	sort.SliceStable(f.names, func(i, j int) bool { return f.names[i].line < f.names[j].line })
	for _, n := range f.names {
		known := isEstate
		if n.kind == "contractor" {
			known = isContractor
		}
		if !known(n.name) {
			errs = append(errs, fmt.Errorf("oncall file %s: line %d: %s: %q is not a%s %s of the lift register",
				f.Path, n.line, n.key, n.name, map[bool]string{true: "n", false: ""}[n.kind == "estate"], n.kind))
		}
	}
	return errors.Join(errs...)
}

// Roster builds the file's roster.
func (f *File) Roster() (*Roster, error) { return New(f.People, f.Duty) }

// entry is the key and value nodes of key in mapping n; nil if none.
func entry(n *yaml.Node, key string) (k, v *yaml.Node) {
	for i := 0; n != nil && n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i], n.Content[i+1]
		}
	}
	return nil, nil
}

func field(n *yaml.Node, key string) *yaml.Node { _, v := entry(n, key); return v }

// seq is the items of a sequence node (nil: none), reporting another kind.
func seq(n *yaml.Node, where string, bad func(int, string, ...any)) []*yaml.Node {
	if n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		bad(n.Line, "%s: want a list", where)
		return nil
	}
	return n.Content
}

// seqLine is the line of item i of sequence n, or def.
func seqLine(n *yaml.Node, i, def int) int {
	if n != nil && n.Kind == yaml.SequenceNode && i < len(n.Content) {
		return n.Content[i].Line
	}
	return def
}

// lineOf is the line of a field path ("contacts[1].to") inside mapping n,
// or of the deepest part found, or of n.
func lineOf(n *yaml.Node, path string) int {
	line := n.Line
	cur := n
	for _, part := range strings.Split(path, ".") {
		name, idx, hasIdx := strings.Cut(strings.TrimSuffix(part, "]"), "[")
		k, v := entry(cur, name)
		if k == nil {
			return line
		}
		line, cur = k.Line, v
		if hasIdx {
			i, err := strconv.Atoi(idx)
			if err != nil || cur.Kind != yaml.SequenceNode || i >= len(cur.Content) {
				return line
			}
			cur = cur.Content[i]
			line = cur.Line
		}
	}
	return line
}

// unknownKeys reports every key of mapping n not in known, with the
// closest known key.
func unknownKeys(n *yaml.Node, where string, known []string, bad func(int, string, ...any)) {
	if n.Kind != yaml.MappingNode {
		if n.Kind != 0 && where != "" {
			bad(n.Line, "%s: want a mapping", strings.TrimSuffix(where, "."))
		}
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if slices.Contains(known, k.Value) {
			continue
		}
		msg := fmt.Sprintf("unknown key %s%s", where, k.Value)
		if s := suggest.Closest(k.Value, known, 2); s != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", s)
		}
		bad(k.Line, "%s; known keys: %s", msg, strings.Join(known, ", "))
	}
}

// decodeErrs reports a decoding error, one problem per bad value.
func decodeErrs(err error, where string, line int, bad func(int, string, ...any)) {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		bad(line, "%s: %v", where, err)
		return
	}
	for _, e := range te.Errors {
		if l, rest, ok := strings.Cut(e, ": "); ok && strings.HasPrefix(l, "line ") {
			if n, err := strconv.Atoi(strings.TrimPrefix(l, "line ")); err == nil {
				bad(n, "%s: %s", where, rest)
				continue
			}
		}
		bad(line, "%s: %s", where, e)
	}
}
