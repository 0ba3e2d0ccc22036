package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigCheckRoster: config check recognises a roster file (people:,
// duty:), reports every problem with its line and key (exit 2), checks its
// contractors and estates against the register, and prints the roster's
// holes as warnings without failing.
func TestConfigCheckRoster(t *testing.T) {
	dir := t.TempDir()
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := file("good.yaml", `people:
  - {id: zhang, name: 张师傅, role: technician, phone: "13800000001", contacts: [{channel: sms, to: "13800000001"}]}
  - {id: li, name: 李经理, role: manager, contacts: [{channel: voice, to: "13800000002"}]}
duty:
  - {person: zhang, contractor: 上海三菱电梯维保站, days: [mon,tue,wed,thu,fri], from: "08:00", to: "20:00"}
  - {person: li, estate: yixian, from: "00:00", to: "24:00"}
`)
	bad := file("bad.yaml", `people:
  - {id: zhang, name: 张师傅, role: technician, phone: "1380000", contacts: [{channel: pager, to: "x"}]}
duty:
  - {person: zhang, contractor: 上海三菱电梯维保, from: "08:00", to: "20:00"}
  - {person: zhang, estate: atlantis, form: "08:00", to: "20:00"}
`)
	alerts := file("alerts.yaml", `channels:
  sms: {type: aliyun_sms, access_key_id: LTAI, access_key_secret: s, sign_name: 电梯卫士, template_code: SMS_1}
  voice: {type: aliyun_voice, access_key_id: LTAI, access_key_secret: s, called_show_number: "02150000000", tts_code: TTS_2}
`)
	onlyMail := file("mail.yaml", "channels:\n  mail: {type: email, host: 127.0.0.1, port: 2525, from: duty@example.com}\n")
	code, out, errs := runCLI([]string{"config", "check", good, alerts})
	for _, want := range []string{
		good + ": warning: contractor 上海三菱电梯维保站: no technician on duty from mon 20:00 to tue 08:00",
		good + ": warning: contractor 上海三菱电梯维保站: no supervisor on duty at any time",
		good + ": warning: estate guyuan: no manager on duty at any time",
		good + ": ok\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("good roster: missing %q; exit %d, stdout:\n%s\nstderr:\n%s", want, code, out, errs)
		}
	}
	if code != 0 || strings.Contains(out, "yixian: no manager") || strings.Contains(out, "note:") {
		t.Errorf("good roster: exit %d\n%s%s", code, out, errs)
	}
	// Alone, its channel names cannot be checked: it says so.
	if code, out, errs := runCLI([]string{"config", "check", good}); code != 0 || !strings.Contains(out, good+": note: contact channels not checked") {
		t.Errorf("roster alone: exit %d\n%s%s", code, out, errs)
	}
	// With an alerts file whose channels are others: every contact is refused.
	code, _, errs = runCLI([]string{"config", "check", onlyMail, good})
	if code != 2 || !strings.Contains(errs, "oncall file "+good+`: line 2: people[0].contacts[0].channel: "sms" is not a configured channel (mail)`) {
		t.Errorf("roster against other channels: exit %d\n%s", code, errs)
	}
	code, out, errs = runCLI([]string{"config", "check", alerts, bad})
	for _, want := range []string{
		"oncall file " + bad + `: line 2: people[0].phone: "1380000": want an 11-digit mobile number`,
		"oncall file " + bad + `: line 2: people[0].contacts[0].channel: "pager" is not a configured channel`,
		"oncall file " + bad + `: line 4: duty[0].contractor: "上海三菱电梯维保" is not a contractor of the lift register`,
		"oncall file " + bad + `: line 5: unknown key duty[1].form (did you mean from?)`,
		"oncall file " + bad + `: line 5: duty[1].estate: "atlantis" is not an estate of the lift register`,
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("bad roster: missing %q; stderr:\n%s", want, errs)
		}
	}
	if code != 2 || out != alerts+": ok\n" {
		t.Errorf("bad roster: exit %d, stdout %q", code, out)
	}
}
