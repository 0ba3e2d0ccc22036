package channel

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/alerts/notify"
	"github.com/liftwatch/liftwatch/alerts/notify/aliyun"
	"github.com/liftwatch/liftwatch/alerts/notify/dingtalk"
	"github.com/liftwatch/liftwatch/alerts/notify/email"
	"github.com/liftwatch/liftwatch/alerts/notify/wecom"
)

// TestValidateNamesEveryBadKey: each problem of a channel is reported,
// naming the channel and the key.
func TestValidateNamesEveryBadKey(t *testing.T) {
	t.Setenv("LW_TEST_SET", "value")
	os.Unsetenv("LW_TEST_UNSET")
	garbage := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(garbage, []byte("not a certificate"), 0o644)
	cases := []struct {
		name string
		c    Config
		want []string
	}{
		{"sms", Config{}, []string{"channel sms: type is required: one of aliyun_sms, aliyun_voice, wecom, dingtalk, email"}},
		{"sms", Config{Type: "twilio"}, []string{`channel sms: type "twilio": want one of`}},
		{"sms", Config{Type: AliyunSMS}, []string{
			"channel sms: access_key_id is required", "channel sms: access_key_secret is required (or access_key_secret_env",
			"channel sms: sign_name is required", "channel sms: template_code is required"}},
		{"sms", Config{Type: AliyunSMS, AccessKeyID: "a", AccessKeySecret: "s", AccessKeySecretEnv: "LW_TEST_SET", SignName: "s", TemplateCode: "t", TtsCode: "x", Endpoint: "ftp://h"}, []string{
			"channel sms: access_key_secret_env: give access_key_secret or access_key_secret_env, not both",
			"channel sms: tts_code: not a key of type aliyun_sms", `channel sms: endpoint "ftp://h": want http(s)://host/path`}},
		{"voice", Config{Type: AliyunVoice, AccessKeyID: "a", AccessKeySecretEnv: "LW_TEST_UNSET", PlayTimes: 5, Timeout: -time.Second, TemplateParams: []string{"lift", "lift"}}, []string{
			`channel voice: template_params: "lift": want distinct names`,
			"channel voice: access_key_secret_env: environment variable LW_TEST_UNSET is not set", "channel voice: called_show_number is required",
			"channel voice: tts_code is required", "channel voice: play_times 5: want 1 to 3", "channel voice: timeout -1s: must not be negative"}},
		{"group", Config{Type: WeCom, MsgType: "card", Host: "h"}, []string{
			"channel group: key is required (or key_env", `channel group: msgtype "card": want markdown or text`, "channel group: host: not a key of type wecom"}},
		{"ding", Config{Type: DingTalk, Secret: "abc"}, []string{
			"channel ding: access_token is required", "channel ding: secret: a DingTalk signing secret starts with SEC"}},
		{"mail", Config{Type: Email, Port: 70000, From: "not an address", Password: "p", StartTLS: "maybe", CAFile: garbage}, []string{
			"channel mail: host is required", "channel mail: port 70000", `channel mail: from "not an address"`,
			"channel mail: username is required with a password", `channel mail: starttls "maybe"`, "channel mail: ca_file: " + garbage + ": no PEM certificate"}},
		{"mail", Config{Type: Email, Host: "h", From: "a@b", Username: "u"}, []string{"channel mail: password is required (or password_env"}},
		{"group", Config{Type: WeCom, KeyEnv: "LIFTWATCH_WECOM_KEY"}, []string{"channel group: key_env: LIFTWATCH_WECOM_KEY: names starting LIFTWATCH_ are liftwatch's own settings"}},
		{"ding", Config{Type: DingTalk, AccessToken: "t", SecretEnv: "LIFTWATCH_DING"}, []string{"channel ding: secret_env: LIFTWATCH_DING: names starting LIFTWATCH_"}},
		{"bad name", Config{Type: WeCom, Key: "k"}, []string{"channel bad name: name: want letters, digits, - and _"}},
	}
	for _, c := range cases {
		err := c.c.Validate(c.name)
		if err == nil {
			t.Errorf("%s %+v: no error, want %q", c.name, c.c, c.want)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s %+v: %v\nwant it to say %q", c.name, c.c, err, w)
			}
		}
	}
	for name, good := range map[string]Config{
		"sms":   {Type: AliyunSMS, AccessKeyID: "a", AccessKeySecretEnv: "LW_TEST_SET", SignName: "电梯卫士", TemplateCode: "SMS_1"},
		"voice": {Type: AliyunVoice, AccessKeyID: "a", AccessKeySecret: "s", CalledShowNumber: "021", TtsCode: "TTS_1", PlayTimes: 2},
		"group": {Type: WeCom, KeyEnv: "LW_TEST_SET", MsgType: "text"},
		"ding":  {Type: DingTalk, AccessToken: "t", Secret: "SECx"},
		"mail":  {Type: Email, Host: "smtp.example.com", From: "liftwatch <a@b.example>", Username: "u", PasswordEnv: "LW_TEST_SET", StartTLS: "opportunistic"},
	} {
		if err := good.Validate(name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestBuildMakesEachType: Build gives each type's notifier, with the secret
// read from the environment variable named.
func TestBuildMakesEachType(t *testing.T) {
	t.Setenv("LW_TEST_SECRET", "from-env")
	clock := func() time.Time { return time.Unix(1_800_000_000, 0) }
	cs := map[string]Config{
		"sms":   {Type: AliyunSMS, AccessKeyID: "a", AccessKeySecretEnv: "LW_TEST_SECRET", SignName: "s", TemplateCode: "t"},
		"voice": {Type: AliyunVoice, AccessKeyID: "a", AccessKeySecret: "s", CalledShowNumber: "021", TtsCode: "T"},
		"group": {Type: WeCom, KeyEnv: "LW_TEST_SECRET"},
		"ding":  {Type: DingTalk, AccessToken: "t", SecretEnv: "LW_TEST_SECRET"},
		"mail":  {Type: Email, Host: "h", From: "a@b", Username: "u", PasswordEnv: "LW_TEST_SECRET"},
	}
	ns, err := BuildAll(cs, clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	inner := func(name string) notify.Notifier { return ns[name].(*named).n }
	if s := inner("sms").(*aliyun.SMS); s.AccessKeySecret != "from-env" || s.Now().Unix() != 1_800_000_000 {
		t.Errorf("sms %+v", s)
	}
	if _, ok := inner("voice").(*aliyun.Voice); !ok {
		t.Error("voice is not an aliyun.Voice")
	}
	if r := inner("group").(*wecom.Robot); r.Key != "from-env" {
		t.Errorf("wecom %+v", r)
	}
	if r := inner("ding").(*dingtalk.Robot); r.Secret != "from-env" || r.AccessToken != "t" {
		t.Errorf("dingtalk %+v", r)
	}
	if s := inner("mail").(*email.Sender); s.Password != "from-env" || s.Timeout != 30*time.Second {
		t.Errorf("email %+v", s)
	}
	cs["broken"] = Config{Type: WeCom}
	cs["worse"] = Config{Type: "pigeon"}
	if _, err := BuildAll(cs, clock, nil); err == nil || !strings.Contains(err.Error(), "channel broken: key is required") || !strings.Contains(err.Error(), `channel worse: type "pigeon"`) {
		t.Errorf("BuildAll with bad channels: %v", err)
	}
}

// TestBuiltNotifierSendsNamesAndTimesOut: a built WeCom channel reaches its
// robot with the key from the environment; its errors name the channel; an
// attempt is bounded by the channel's timeout, and a timeout is retryable.
func TestBuiltNotifierSendsNamesAndTimesOut(t *testing.T) {
	t.Setenv("LW_TEST_KEY", "k-env")
	release := make(chan struct{})
	var keys []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		keys = append(keys, r.URL.Query().Get("key"))
		switch r.URL.Path {
		case "/slow":
			select {
			case <-release:
			case <-r.Context().Done():
			}
		case "/limited":
			io.WriteString(w, `{"errcode":45009,"errmsg":"api freq out of limit"}`)
		default:
			io.WriteString(w, `{"errcode":0,"errmsg":"ok"}`)
		}
	}))
	defer srv.Close()
	defer close(release)
	build := func(path string, timeout time.Duration) notify.Notifier {
		n, err := Build("duty-group", Config{Type: WeCom, URL: srv.URL + path, KeyEnv: "LW_TEST_KEY", Timeout: timeout}, nil, srv.Client())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	m := notify.Message{Key: "k", Subject: "s", Text: "t"}
	if err := build("/ok", 0).Notify(context.Background(), m); err != nil || keys[0] != "k-env" {
		t.Fatalf("ok: %v, key %q", err, keys)
	}
	err := build("/limited", 0).Notify(context.Background(), m)
	var ne *notify.Error
	if !errors.As(err, &ne) || ne.Channel != "duty-group (wecom)" || !ne.Retryable {
		t.Errorf("limited: %v, want a retryable error of channel duty-group (wecom)", err)
	}
	err = build("/slow", 50*time.Millisecond).Notify(context.Background(), m)
	var ue *url.Error
	if !notify.Retryable(err) || !errors.As(err, &ue) || !ue.Timeout() {
		t.Errorf("slow: %v, want a retryable timeout", err)
	}
}

func TestKeysAreEveryYAMLKey(t *testing.T) {
	keys := Keys()
	for _, list := range keysOf {
		for _, k := range list {
			if !strings.Contains(" "+strings.Join(keys, " ")+" ", " "+k+" ") {
				t.Errorf("key %s of keysOf is not a field of Config", k)
			}
		}
	}
}
