// Package config derives command-line flags and LIFTWATCH_<FLAG> environment
// variables from typed configuration structs, so that a setting is declared
// once: as a field with its flag name and help text in struct tags.
//
//	type HTTP struct {
//		Listen string `flag:"listen" help:"HTTP address for the API"`
//	}
//	type Config struct {
//		HTTP  HTTP        `flag:"http."`  // a group: its flags are http.<name>
//		Ingest IngestConf                 // a group with no tag: names as written
//		Extra string                      // no tag: not a flag
//	}
//
// A field's current value is its flag's default, so a caller fills the
// defaults first (a Defaults function next to the struct), then calls Bind.
// A struct field with a tag ending in "." is a group whose fields' names get
// that prefix; an untagged struct field is a group with no prefix of its own.
// Supported leaf types: string, bool, int, int64, float64, time.Duration, and
// any type whose pointer implements flag.Value or encoding.TextUnmarshaler
// (with encoding.TextMarshaler). Anything else is a programming error: Bind
// panics, which the commands' tests catch.
package config

import (
	"bytes"
	"encoding"
	"errors"
	"flag"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/liftwatch/liftwatch/internal/suggest"
)

// Bind registers one flag per tagged leaf field of the struct v points to,
// names prefixed with prefix ("mqtt." gives mqtt.broker), each pointing at
// its field and defaulting to the field's current value.
func Bind(fs *flag.FlagSet, prefix string, v any) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		panic(fmt.Sprintf("config.Bind: want a pointer to a struct, got %T", v))
	}
	bind(fs, prefix, rv.Elem())
}

var (
	durationType  = reflect.TypeOf(time.Duration(0))
	flagValueType = reflect.TypeOf((*flag.Value)(nil)).Elem()
	unmarshalType = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()
	marshalType   = reflect.TypeOf((*encoding.TextMarshaler)(nil)).Elem()
)

func bind(fs *flag.FlagSet, prefix string, s reflect.Value) {
	t := s.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag, tagged := f.Tag.Lookup("flag")
		fv := s.Field(i)
		if isGroup(f.Type) {
			switch {
			case !tagged:
				bind(fs, prefix, fv)
			case strings.HasSuffix(tag, "."):
				bind(fs, prefix+tag, fv)
			default:
				panic(fmt.Sprintf("config: %s.%s: a group's flag tag is a prefix ending in \".\", got %q", t, f.Name, tag))
			}
			continue
		}
		if !tagged || tag == "-" {
			continue
		}
		help, ok := f.Tag.Lookup("help")
		if !ok || help == "" {
			panic(fmt.Sprintf("config: %s.%s (flag %s%s) has no help tag", t, f.Name, prefix, tag))
		}
		leaf(fs, prefix+tag, help, fv, t.String()+"."+f.Name)
	}
}

// isGroup: a struct that is not itself a value type the binder knows.
func isGroup(t reflect.Type) bool {
	if t.Kind() != reflect.Struct {
		return false
	}
	p := reflect.PointerTo(t)
	return !p.Implements(flagValueType) && !p.Implements(unmarshalType)
}

func leaf(fs *flag.FlagSet, name, help string, v reflect.Value, field string) {
	p := v.Addr().Interface()
	switch {
	case v.Addr().Type().Implements(flagValueType):
		fs.Var(p.(flag.Value), name, help)
		return
	case v.Addr().Type().Implements(unmarshalType) && v.Type().Implements(marshalType):
		fs.TextVar(p.(encoding.TextUnmarshaler), name, v.Interface().(encoding.TextMarshaler), help)
		return
	case v.Type() == durationType:
		fs.DurationVar(p.(*time.Duration), name, time.Duration(v.Int()), help)
		return
	}
	switch v.Kind() {
	case reflect.String:
		fs.StringVar(p.(*string), name, v.String(), help)
	case reflect.Bool:
		fs.BoolVar(p.(*bool), name, v.Bool(), help)
	case reflect.Int:
		fs.IntVar(p.(*int), name, int(v.Int()), help)
	case reflect.Int64:
		fs.Int64Var(p.(*int64), name, v.Int(), help)
	case reflect.Float64:
		fs.Float64Var(p.(*float64), name, v.Float(), help)
	default:
		panic(fmt.Sprintf("config: %s (flag %s): type %s is not supported", field, name, v.Type()))
	}
}

// EnvName is the environment variable that sets flag name: LIFTWATCH_ and
// the name in capitals, dots and dashes as underscores (mqtt.client-id is
// LIFTWATCH_MQTT_CLIENT_ID).
func EnvName(name string) string {
	return EnvPrefix + strings.NewReplacer(".", "_", "-", "_").Replace(strings.ToUpper(name))
}

// ApplyEnv sets every flag of fs not given on the command line (fs is
// parsed) from its environment variable, looked up with lookup (os.LookupEnv).
// The error names the variable and its flag.
func ApplyEnv(fs *flag.FlagSet, lookup func(string) (string, bool)) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var bad error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || bad != nil {
			return
		}
		if v, ok := lookup(EnvName(f.Name)); ok {
			if err := f.Value.Set(v); err != nil {
				bad = fmt.Errorf("invalid value %q for %s (flag --%s): %v", v, EnvName(f.Name), f.Name, err)
			}
		}
	})
	return bad
}

// PrintDefaults prints fs's flags to fs.Output() as flag.PrintDefaults does,
// but each written as the documentation writes it: --name, not -name.
func PrintDefaults(fs *flag.FlagSet) {
	out := fs.Output()
	var b bytes.Buffer
	fs.SetOutput(&b)
	fs.PrintDefaults()
	fs.SetOutput(out)
	// A flag's line starts "  -name"; its help's lines start "    \t".
	for _, line := range strings.SplitAfter(b.String(), "\n") {
		if strings.HasPrefix(line, "  -") {
			line = "  --" + line[len("  -"):]
		}
		io.WriteString(out, line)
	}
}

// EnvPrefix starts the name of every environment variable liftwatch reads.
const EnvPrefix = "LIFTWATCH_"

// UnknownEnv reports every variable of environ ("NAME=value" entries, as
// os.Environ gives) that starts with EnvPrefix but is not in known, naming
// it and the closest known name: a misspelt variable would otherwise be
// ignored silently and its setting left at the default.
func UnknownEnv(environ []string, known []string) error {
	var names []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, EnvPrefix) && !slices.Contains(known, name) && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	var errs []error
	for _, name := range names {
		msg := fmt.Sprintf("environment variable %s is no setting of any liftwatch command", name)
		if c := Closest(name, known); c != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", c)
		}
		errs = append(errs, errors.New(msg+"; unset it, or see \"liftwatch help <command>\" for the settings"))
	}
	return errors.Join(errs...)
}

// Closest is the name in known nearest to s, if within edit distance 3
// ("" if none): the suggestion for a misspelt name.
func Closest(s string, known []string) string { return suggest.Closest(s, known, 3) }
