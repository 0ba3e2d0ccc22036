package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/registry"
)

func TestDeployedAlertsConfigIsValid(t *testing.T) {
	cfg, err := LoadAlertsConfig("../../deploy/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Policies.For("yixian").EntrapmentAfter != 20*time.Second || cfg.Policies.Default.EntrapmentAfter != 30*time.Second {
		t.Fatalf("deploy/alerts.yaml not read as written: %+v", cfg.Policies)
	}
}

func TestLoadAlertsConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "a.yaml")
	os.WriteFile(good, []byte(`
policy:
  entrapment_after: 20s
  renotify: 2m
  severities: {door_obstructed: major}
estates:
  yixian: {ack_within: 3m}
receivers:
  - {name: maintainer, url: "http://127.0.0.1:9/hook", secret: s, estates: [yixian]}
  - {name: desk, url: "http://127.0.0.1:9/desk", tier: 2, min_severity: critical}
`), 0o644)
	cfg, err := LoadAlertsConfig(good)
	if err != nil {
		t.Fatal(err)
	}
	d := cfg.Policies.Default
	if d.EntrapmentAfter != 20*time.Second || d.Renotify != 2*time.Minute || d.AckWithin != 5*time.Minute || d.Severities["door_obstructed"] != "major" {
		t.Fatalf("default policy %+v", d)
	}
	y := cfg.Policies.For("yixian")
	if y.AckWithin != 3*time.Minute || y.EntrapmentAfter != 20*time.Second || y.OnSiteWithin != 30*time.Minute {
		t.Fatalf("estate override must start from the default: %+v", y)
	}
	if cfg.Policies.For("guyuan").AckWithin != 5*time.Minute {
		t.Fatal("other estates keep the default")
	}
	if len(cfg.Receivers) != 2 || cfg.Receivers[1].Tier != 2 || cfg.Receivers[0].MaxAttempts != 6 {
		t.Fatalf("receivers %+v", cfg.Receivers)
	}
	for want, body := range map[string]string{
		"line 1: unknown key bogus":                                       "bogus: 1",
		"line 1: unknown key policy.ack_witin (did you mean ack_within?)": "policy: {ack_witin: 3m}",
		"entrapment_after":                                                "policy: {entrapment_after: 0s}",
		"estate yixian":                                                   "estates: {yixian: {ack_within: 40m}}",
		"type \"sms\"":                                                    "receivers: [{name: x, url: 'http://h/p', type: sms}]",
		"severities[door_lock]":                                           "policy: {severities: {door_lock: loud}}",
	} {
		p := filepath.Join(dir, "bad.yaml")
		os.WriteFile(p, []byte(body), 0o644)
		if _, err := LoadAlertsConfig(p); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want an error naming %q", body, err, want)
		}
	}
}

// TestLoadAlertsConfigReportsEveryProblem: one load names every problem of
// the file, each with its line, not only the first.
func TestLoadAlertsConfigReportsEveryProblem(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a.yaml")
	os.WriteFile(p, []byte("polcy: {}\nestates:\n  yixian: {ack_witin: 3m}\n  guyuan: {renotify: 0s}\nreceivers:\n"+
		"  - {name: a, url: 'http://h/p'}\n  - {name: a, url: 'http://h/q'}\n"), 0o644)
	_, err := LoadAlertsConfig(p)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"line 1: unknown key polcy (did you mean policy?)", "line 3: unknown key estates.yixian.ack_witin",
		"line 4: estate guyuan: renotify must be positive", `line 7: receivers[1].name: duplicate name "a" (first at line 6)`} {
		if !strings.Contains(err.Error(), "alerts config "+p+": "+want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

// TestLoadAlertsConfigReportsEveryValueProblem: every bad value of one
// policy or one receiver is reported, each at its key's line, not only the
// first; a severity for a code outside the fault catalogue and a negative
// max_attempts are refused.
func TestLoadAlertsConfigReportsEveryValueProblem(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a.yaml")
	os.WriteFile(p, []byte("policy:\n  ack_within: -5m\n  low_battery_pct: 250\n  severities:\n    door_lock: critical\n    nosuchcode: huge\n"+
		"estates:\n  yixian: {renotify: 0s, severities: {door_obstruct: major}}\n"+
		"receivers:\n  - name: desk\n    url: http://h/p\n    tier: 7\n    min_severity: huge\n    max_attempts: -1\n"), 0o644)
	_, err := LoadAlertsConfig(p)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"line 2: policy: ack_within -5m0s must be positive",
		"line 3: policy: low_battery_pct 250 must be in 0..95",
		`line 6: policy: severities[nosuchcode]: "nosuchcode" is not a fault code of the catalogue`,
		`line 6: policy: severities[nosuchcode] = "huge": want warning`,
		"line 12: receiver desk: tier 7: want 1, 2 or 3",
		`line 13: receiver desk: min_severity "huge"`,
		"line 14: receiver desk: max_attempts -1: must not be negative",
	} {
		if !strings.Contains(err.Error(), "alerts config "+p+": "+want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	// With a good default policy, an estate's problems are all reported too.
	os.WriteFile(p, []byte("estates:\n  yixian: {renotify: 0s, severities: {door_obstruct: major}}\n"), 0o644)
	_, err = LoadAlertsConfig(p)
	for _, want := range []string{"line 2: estate yixian: renotify must be positive",
		`line 2: estate yixian: severities[door_obstruct]: "door_obstruct" is not a fault code of the catalogue (did you mean door_obstructed?)`} {
		if err == nil || !strings.Contains(err.Error(), "alerts config "+p+": "+want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

// TestCheckAlertsFileRefusesUnknownReceiverEstates: a receiver limited to an
// estate that is not in the register could never be notified: refused like
// a policy override for one, naming the key and the line.
func TestCheckAlertsFileRefusesUnknownReceiverEstates(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a.yaml")
	os.WriteFile(p, []byte("receivers:\n  - {name: desk, url: 'http://h/p', estates: [yixian, atlantis]}\n"+
		"  - {name: all, url: 'http://h/q'}\n"), 0o644)
	lifts := []registry.Lift{{ID: "JW-0001", Estate: "yixian"}}
	err := CheckAlertsFile(p, lifts)
	want := "alerts config " + p + `: line 2: receivers[0].estates: "atlantis" is not an estate of the lift register: receiver desk would never be notified of it`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	lifts = append(lifts, registry.Lift{ID: "JW-0002", Estate: "atlantis"})
	if err := CheckAlertsFile(p, lifts); err != nil {
		t.Fatalf("every estate in the register: %v", err)
	}
}

// TestAlertsConfigReceiverTypes: a receiver's types, exclude_types and
// public_url are read, and a bad entry is refused at its key's line.
func TestAlertsConfigReceiverTypes(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "a.yaml")
	os.WriteFile(good, []byte(`receivers:
  - name: am
    type: alertmanager
    url: "http://127.0.0.1:9093"
    public_url: "https://liftwatch.example"
    types: [entrapment, "fault.", "supervision.contract_expiring"]
    exclude_types: ["fault.power_loss"]
`), 0o644)
	cfg, err := LoadAlertsConfig(good)
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Receivers[0]
	if len(r.Types) != 3 || r.ExcludeTypes[0] != "fault.power_loss" || r.PublicURL != "https://liftwatch.example" {
		t.Fatalf("receiver %+v", r)
	}
	bad := filepath.Join(dir, "b.yaml")
	os.WriteFile(bad, []byte(`receivers:
  - name: am
    type: alertmanager
    url: "http://127.0.0.1:9093"
    types: [entrapment]
    exclude_types: [supervison.]
    public_url: "liftwatch.example"
`), 0o644)
	_, err = LoadAlertsConfig(bad)
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"line 6: receiver am: exclude_types[supervison.]: not an alert type",
		`line 7: receiver am: public_url "liftwatch.example"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

// TestLoadAlertsConfigChannels: the channels: map is read into
// AlertsConfig.Channels and built into notifiers; every bad or missing key
// of a channel is reported with its line.
func TestLoadAlertsConfigChannels(t *testing.T) {
	t.Setenv("LW_TEST_ALIYUN_SECRET", "s3cret")
	p := filepath.Join(t.TempDir(), "a.yaml")
	os.WriteFile(p, []byte(`channels:
  sms:
    type: aliyun_sms
    access_key_id: LTAI-test
    access_key_secret_env: LW_TEST_ALIYUN_SECRET
    sign_name: 电梯卫士
    template_code: SMS_123
  duty-group: {type: dingtalk, access_token: tok, secret: SECabc}
  mail: {type: email, host: smtp.example.com, from: "liftwatch <alerts@example.com>"}
`), 0o644)
	cfg, err := LoadAlertsConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Channels) != 3 || cfg.Channels["sms"].SignName != "电梯卫士" || cfg.Channels["duty-group"].Secret != "SECabc" {
		t.Fatalf("channels %+v", cfg.Channels)
	}
	ns, err := cfg.Notifiers(nil, nil)
	if err != nil || len(ns) != 3 || ns["sms"] == nil || ns["duty-group"] == nil || ns["mail"] == nil {
		t.Fatalf("notifiers %v, %v", ns, err)
	}

	os.WriteFile(p, []byte(`channels:
  sms:
    type: aliyun_sms
    access_key_id: LTAI-test
    sign_name: 电梯卫士
    tts_code: TTS_1
    tempalte_code: SMS_123
  voice: {type: aliyun_voice, access_key_id: a, access_key_secret: s, called_show_number: "021", tts_code: T, play_times: many}
  group: {type: wecom, key_env: LW_TEST_UNSET_KEY}
  pigeon: {type: carrier}
  mail: {type: email, from: nobody}
`), 0o644)
	_, err = LoadAlertsConfig(p)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"line 2: channel sms: access_key_secret is required (or access_key_secret_env",
		"line 2: channel sms: template_code is required",
		"line 6: channel sms: tts_code: not a key of type aliyun_sms",
		"line 7: unknown key channels.sms.tempalte_code (did you mean template_code?)",
		"line 8: channel voice: cannot unmarshal !!str `many` into int",
		"line 9: channel group: key_env: environment variable LW_TEST_UNSET_KEY is not set",
		`line 10: channel pigeon: type "carrier": want one of aliyun_sms, aliyun_voice, wecom, dingtalk, email`,
		"line 11: channel mail: host is required",
		`line 11: channel mail: from "nobody"`,
	} {
		if !strings.Contains(err.Error(), "alerts config "+p+": "+want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	os.WriteFile(p, []byte("channels: [sms]\n"), 0o644)
	if _, err := LoadAlertsConfig(p); err == nil || !strings.Contains(err.Error(), "line 1: channels: want a mapping from channel name to its settings") {
		t.Errorf("channels as a list: %v", err)
	}
}

// TestDeployedChannelExamplesAreValid: the commented channels: example of
// deploy/alerts.yaml, uncommented, is a valid file.
func TestDeployedChannelExamplesAreValid(t *testing.T) {
	b, err := os.ReadFile("../../deploy/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, example, ok := strings.Cut(string(b), "# channels:\n")
	if !ok {
		t.Fatal("deploy/alerts.yaml has no commented channels: example")
	}
	var lines []string
	for _, l := range strings.Split("# channels:\n"+example, "\n") {
		if l, ok := strings.CutPrefix(l, "# "); ok {
			lines = append(lines, l)
		}
	}
	for _, env := range []string{"ALIYUN_ACCESS_KEY_SECRET", "WECOM_ROBOT_KEY", "DINGTALK_ROBOT_TOKEN", "DINGTALK_ROBOT_SECRET", "SMTP_PASSWORD"} {
		t.Setenv(env, "SECset")
	}
	p := filepath.Join(t.TempDir(), "a.yaml")
	os.WriteFile(p, []byte(strings.Join(lines, "\n")), 0o644)
	cfg, err := LoadAlertsConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Channels) != 5 {
		t.Fatalf("%d channels read from the example, want 5: %v", len(cfg.Channels), cfg.Channels)
	}
}
