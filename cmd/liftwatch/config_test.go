package main

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigCheck: liftwatch config check reports "FILE: ok" for good alerts
// files and every problem of a bad one with its line and key (exit 2), checks
// estate overrides against the register given like serve's, and says why a
// file cannot be read.
func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := "../../deploy/alerts.yaml"
	empty := file("empty.yaml", "")
	multi := file("multi.yaml", "policy:\n  ack_witin: 3m\nestates:\n  yixian: {renotify: 1}\n  atlantis: {ack_within: 3m}\nreceivers:\n"+
		"  - {name: desk, url: 'http://127.0.0.1:9/h'}\n  - {name: desk, url: 'http://127.0.0.1:9/i'}\n  - {name: pager, url: 'ftp://x'}\n  - {name: x, teir: 2, url: 'http://h/p'}\n")
	badPolicy := file("policy.yaml", "policy: {ack_within: 40m}\n")
	syntax := file("syntax.yaml", "policy: [\n")
	reg := filepath.Join(dir, "reg.json")
	_, fleet, _ := runCLI([]string{"fleet", "--lifts", "1"})
	if err := os.WriteFile(reg, []byte(strings.ReplaceAll(fleet, `"estate": "yixian"`, `"estate": "atlantis"`)), 0o644); err != nil {
		t.Fatal(err)
	}
	estates := file("estates.yaml", "estates:\n  yixian: {ack_within: 3m}\n  atlantis: {ack_within: 3m}\n")
	atlantis := file("atlantis.yaml", "estates:\n  atlantis: {ack_within: 3m}\n")
	rcvEstates := file("rcvestates.yaml", "receivers:\n  - {name: desk, url: 'http://127.0.0.1:9/h', estates: [yixian]}\n"+
		"  - name: pager\n    url: 'http://127.0.0.1:9/p'\n    estates:\n      - guyuan\n      - atlantis\n")
	missing := filepath.Join(dir, "missing.yaml")
	badChannel := file("channel.yaml", "channels:\n  sms: {type: aliyun_sms, access_key_id: a, access_key_secret: s, sign_name: x}\n  group: {type: wecom, key: k, msgtype: card}\n")

	cases := []struct {
		name   string
		args   []string
		env    []string
		code   int
		stdout []string
		stderr []string
	}{
		{"good", []string{good, empty}, nil, 0, []string{good + ": ok\n", empty + ": ok\n"}, nil},
		{"every problem of a file, each with its line and key", []string{multi}, nil, 2, nil, []string{
			"alerts config " + multi + ": line 2: unknown key policy.ack_witin (did you mean ack_within?)",
			"alerts config " + multi + ": line 4: estate yixian: cannot unmarshal !!int `1` into time.Duration",
			"alerts config " + multi + ": line 5: estates: \"atlantis\" is not an estate of the lift register",
			"alerts config " + multi + ": line 8: receivers[1].name: duplicate name \"desk\" (first at line 7)",
			"alerts config " + multi + `: line 9: receiver pager: url "ftp://x": want http(s)://host/path`,
			"alerts config " + multi + ": line 10: unknown key receivers[3].teir (did you mean tier?)",
		}},
		{"bad policy value", []string{badPolicy}, nil, 2, nil, []string{"alerts config " + badPolicy + ": line 1: policy: ack_within 40m0s must be positive and below on_site_within"}},
		{"not YAML", []string{syntax}, nil, 2, nil, []string{"alerts config " + syntax + ": yaml: line"}},
		{"missing file", []string{missing}, nil, 2, nil, []string{missing + ": stat " + missing + ": no such file or directory"}},
		{"a bad file fails the run, the good one is still ok", []string{badPolicy, good}, nil, 2, []string{good + ": ok"}, []string{"alerts config " + badPolicy + ": line 1"}},
		{"estates of the shipped fleet", []string{estates}, nil, 2, nil, []string{"alerts config " + estates + `: line 3: estates: "atlantis" is not an estate`}},
		{"estates of --registry.file", []string{"--registry.file", reg, estates}, nil, 2, nil, []string{"alerts config " + estates + `: line 2: estates: "yixian" is not an estate`}},
		{"a receiver's estates", []string{rcvEstates}, nil, 2, nil, []string{"alerts config " + rcvEstates +
			`: line 7: receivers[1].estates: "atlantis" is not an estate of the lift register: receiver pager would never be notified of it`}},
		{"a receiver's estates of --registry.file", []string{"--registry.file", reg, rcvEstates}, nil, 2, nil, []string{
			"alerts config " + rcvEstates + `: line 2: receivers[0].estates: "yixian" is not an estate of the lift register: receiver desk`,
			"alerts config " + rcvEstates + `: line 6: receivers[1].estates: "guyuan" is not an estate`}},
		{"flags after files", []string{atlantis, "--registry.file", reg}, nil, 0, []string{atlantis + ": ok"}, nil},
		{"LIFTWATCH_REGISTRY_FILE", []string{atlantis}, []string{"LIFTWATCH_REGISTRY_FILE=" + reg}, 0, []string{atlantis + ": ok"}, nil},
		{"missing register", []string{"--registry.file", filepath.Join(dir, "nope.json"), good}, nil, 2, nil, []string{"registry.file: "}},
		{"a bad paging channel", []string{badChannel}, nil, 2, nil, []string{
			"alerts config " + badChannel + ": line 2: channel sms: template_code is required",
			"alerts config " + badChannel + `: line 3: channel group: msgtype "card": want markdown or text`}},
		{"no file", nil, nil, 2, nil, []string{"no FILE given", "Usage: liftwatch config check"}},
		{"unknown flag", []string{"--nope", good}, nil, 2, nil, []string{"flag provided but not defined: -nope"}},
		{"help", []string{"--help"}, nil, 0, []string{"Usage: liftwatch config check [flags] FILE...", "-registry.file"}, nil},
	}
	for _, c := range cases {
		code, out, errs := runCLI(append([]string{"config", "check"}, c.args...), c.env...)
		ok := code == c.code
		for _, w := range c.stdout {
			ok = ok && strings.Contains(out, w)
		}
		for _, w := range c.stderr {
			ok = ok && strings.Contains(errs, w)
		}
		if c.stdout == nil && out != "" { // a bad file is never said ok
			ok = false
		}
		if !ok {
			t.Errorf("%s: liftwatch config check %v: exit %d, want %d; want %q on stdout and %q on stderr; got stdout:\n%s\nstderr:\n%s",
				c.name, c.args, code, c.code, c.stdout, c.stderr, out, errs)
		}
	}
	for _, args := range [][]string{{"config"}, {"config", "bogus"}} {
		if code, _, errs := runCLI(args); code != 2 || !strings.Contains(errs, "Usage: liftwatch config check") {
			t.Errorf("liftwatch %v: exit %d\n%s", args, code, errs)
		}
	}
	if code, out, _ := runCLI([]string{"help", "config"}); code != 0 || !strings.Contains(out, "Usage: liftwatch config check") {
		t.Errorf("liftwatch help config: exit %d\n%s", code, out)
	}
}

// TestServeFlagsKeepNamesAndDefaults: the flags derived from app.Config are
// the ones serve always had, with the same defaults (and debug.listen, new,
// off by default).
func TestServeFlagsKeepNamesAndDefaults(t *testing.T) {
	want := map[string]string{
		"alerts.config":                       "",
		"data.dir":                            "./data",
		"debug.fake-clock":                    "false",
		"debug.listen":                        "",
		"debug.pprof":                         "false",
		"debug.trace-lift":                    "",
		"http.listen":                         "127.0.0.1:8080",
		"http.secure-cookie":                  "false",
		"http.public-url":                     "",
		"influx.bucket":                       "liftwatch",
		"influx.org":                          "",
		"influx.token":                        "",
		"influx.url":                          "",
		"ingest.batch-points":                 "5000",
		"ingest.flush-interval":               "1s",
		"ingest.gap-grace":                    "30s",
		"ingest.max-unacked":                  "20000",
		"ingest.shards":                       "0",
		"log.format":                          "text",
		"maintenance.config":                  "",
		"maintenance.disable":                 "false",
		"maintenance.seed.contract-price-fen": "360000",
		"maintenance.sweep-interval":          "5m0s",
		"log.level":                           "info",
		"mqtt.broker":                         "tcp://127.0.0.1:1883",
		"mqtt.ca-file":                        "",
		"mqtt.cert-file":                      "",
		"mqtt.client-id":                      "liftwatch-ingest",
		"mqtt.urgent-lane":                    "true",
		"runtime.gc-percent":                  "400",
		"mqtt.insecure-skip-verify":           "false",
		"mqtt.key-file":                       "",
		"mqtt.max-reconnect-interval":         "5s",
		"mqtt.password":                       "",
		"mqtt.shared-group":                   "",
		"mqtt.username":                       "",
		"offline-after":                       "3m0s",
		"oncall.file":                         "",
		"payload.max-bytes":                   "4096",
		"registry.contractors":                "",
		"registry.file":                       "",
		"registry.subdistrict":                "jiangwan",
		"registry.subdistricts":               "",
		"shutdown.timeout":                    "5s",
		"spool.max-bytes":                     "2147483648",
		"store.url":                           "",
		"topic.root":                          "lifts",
		"ts.horizon":                          "168h0m0s",
		"ts.max-future":                       "5m0s",
	}
	fs, cfg, _ := newServeFlags(io.Discard)
	got := map[string]string{}
	fs.VisitAll(func(f *flag.Flag) { got[f.Name] = f.DefValue })
	for name, def := range want {
		if d, ok := got[name]; !ok || d != def {
			t.Errorf("--%s: default %q (defined %v), want %q", name, d, ok, def)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("--%s: new flag; add it here and to the README", name)
		}
	}
	// Flags write through to the typed config.
	if err := fs.Parse([]string{"--ingest.shards=3", "--mqtt.client-id=c", "--influx.url=http://i:8086", "--debug.listen=127.0.0.1:6060", "--data.dir=/d"}); err != nil {
		t.Fatal(err)
	}
	if cfg.Ingest.Shards != 3 || cfg.MQTT.ClientID != "c" || cfg.Influx.URL != "http://i:8086" || cfg.Debug.Listen != "127.0.0.1:6060" || cfg.Data.Dir != "/d" {
		t.Fatalf("flags did not fill the config: %+v", cfg)
	}
}
