// Package channel turns a paging channel's configuration (one entry of the
// alerts file's channels: map) into a notify.Notifier: an Aliyun SMS or
// voice sender, a WeCom or DingTalk group robot, or an SMTP sender.
//
// Secrets are given in the file (access_key_secret: …) or, better, named by
// an environment variable (access_key_secret_env: LIFTWATCH_SMS_SECRET);
// every secret key has its _env twin, and giving both is an error.
package channel

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/liftwatch/liftwatch/alerts/notify"
	"github.com/liftwatch/liftwatch/alerts/notify/aliyun"
	"github.com/liftwatch/liftwatch/alerts/notify/dingtalk"
	"github.com/liftwatch/liftwatch/alerts/notify/email"
	"github.com/liftwatch/liftwatch/alerts/notify/wecom"
)

// Types of channel.
const (
	AliyunSMS   = "aliyun_sms"
	AliyunVoice = "aliyun_voice"
	WeCom       = "wecom"
	DingTalk    = "dingtalk"
	Email       = "email"
)

// Types lists every type, in the order the docs give them.
var Types = []string{AliyunSMS, AliyunVoice, WeCom, DingTalk, Email}

// Config is one channel. Only the keys of its type may be set.
type Config struct {
	Type string `yaml:"type"`
	// Timeout bounds one delivery attempt (0: 10 s; 30 s for email).
	Timeout time.Duration `yaml:"timeout"`

	// aliyun_sms and aliyun_voice
	Endpoint           string `yaml:"endpoint"`
	RegionID           string `yaml:"region_id"`
	AccessKeyID        string `yaml:"access_key_id"`
	AccessKeySecret    string `yaml:"access_key_secret"`
	AccessKeySecretEnv string `yaml:"access_key_secret_env"`
	SignName           string `yaml:"sign_name"`          // aliyun_sms
	TemplateCode       string `yaml:"template_code"`      // aliyun_sms
	CalledShowNumber   string `yaml:"called_show_number"` // aliyun_voice
	TtsCode            string `yaml:"tts_code"`           // aliyun_voice
	PlayTimes          int    `yaml:"play_times"`         // aliyun_voice
	// TemplateParams names the template's variables, taken from the page's
	// parameters (lift, address, kind, link); unset: all of them.
	TemplateParams []string `yaml:"template_params"`

	// wecom and dingtalk: URL is the robot's endpoint without its key or
	// token (the public one unless set).
	URL            string `yaml:"url"`
	Key            string `yaml:"key"` // wecom
	KeyEnv         string `yaml:"key_env"`
	MsgType        string `yaml:"msgtype"`      // wecom: markdown (default) or text
	AccessToken    string `yaml:"access_token"` // dingtalk
	AccessTokenEnv string `yaml:"access_token_env"`
	Secret         string `yaml:"secret"` // dingtalk, when the robot signs ("SEC…")
	SecretEnv      string `yaml:"secret_env"`

	// email
	Host        string `yaml:"host"`
	Port        int    `yaml:"port"`
	From        string `yaml:"from"`
	Username    string `yaml:"username"`
	Password    string `yaml:"password"`
	PasswordEnv string `yaml:"password_env"`
	StartTLS    string `yaml:"starttls"` // required (default), opportunistic, off
	CAFile      string `yaml:"ca_file"`
	Hello       string `yaml:"hello"`
}

var aliyunKeys = []string{"endpoint", "region_id", "access_key_id", "access_key_secret", "access_key_secret_env", "template_params"}

// keysOf lists the keys each type takes besides type and timeout.
var keysOf = map[string][]string{
	AliyunSMS:   append([]string{"sign_name", "template_code"}, aliyunKeys...),
	AliyunVoice: append([]string{"called_show_number", "tts_code", "play_times"}, aliyunKeys...),
	WeCom:       {"url", "key", "key_env", "msgtype"},
	DingTalk:    {"url", "access_token", "access_token_env", "secret", "secret_env"},
	Email:       {"host", "port", "from", "username", "password", "password_env", "starttls", "ca_file", "hello"},
}

// Keys lists every key a channel can have (for the loader's unknown-key
// check).
func Keys() []string {
	t := reflect.TypeOf(Config{})
	keys := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		keys = append(keys, t.Field(i).Tag.Get("yaml"))
	}
	return keys
}

// setKeys lists the keys given a value (non-zero), in field order.
func (c *Config) setKeys() []string {
	v, t := reflect.ValueOf(c).Elem(), reflect.TypeOf(*c)
	var keys []string
	for i := range t.NumField() {
		if !v.Field(i).IsZero() {
			keys = append(keys, t.Field(i).Tag.Get("yaml"))
		}
	}
	return keys
}

// ValidName says whether a channel name is usable: letters, digits, - and _.
func ValidName(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// Validate reports every bad or missing key, each as "channel NAME: KEY …"
// (errors.Join), so a loader can point at the key's line.
func (c *Config) Validate(name string) error {
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("channel %s: "+format, append([]any{name}, a...)...))
	}
	if !ValidName(name) {
		bad("name: want letters, digits, - and _")
	}
	keys, known := keysOf[c.Type]
	switch {
	case c.Type == "":
		bad("type is required: one of %s", strings.Join(Types, ", "))
		return errors.Join(errs...)
	case !known:
		bad("type %q: want one of %s", c.Type, strings.Join(Types, ", "))
		return errors.Join(errs...)
	}
	for _, k := range c.setKeys() {
		if k != "type" && k != "timeout" && !slices.Contains(keys, k) {
			bad("%s: not a key of type %s (its keys: type, timeout, %s)", k, c.Type, strings.Join(keys, ", "))
		}
	}
	if c.Timeout < 0 {
		bad("timeout %v: must not be negative (0 or unset: the default)", c.Timeout)
	}
	required := func(key, value string) {
		if value == "" {
			bad("%s is required", key)
		}
	}
	secret := func(key, value, envKey, env string) {
		switch {
		case value != "" && env != "":
			bad("%s: give %s or %s, not both", envKey, key, envKey)
		case strings.HasPrefix(env, "LIFTWATCH_"):
			bad("%s: %s: names starting LIFTWATCH_ are liftwatch's own settings (an unknown one stops the service); use another, such as %s", envKey, env, strings.TrimPrefix(env, "LIFTWATCH_"))
		case env != "":
			if v, ok := os.LookupEnv(env); !ok || v == "" {
				bad("%s: environment variable %s is not set", envKey, env)
			}
		case value == "":
			bad("%s is required (or %s: the name of an environment variable holding it)", key, envKey)
		}
	}
	httpURL := func(key, value string) {
		if value == "" {
			return
		}
		if u, err := url.Parse(value); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("%s %q: want http(s)://host/path", key, value)
		}
	}
	switch c.Type {
	case AliyunSMS, AliyunVoice:
		httpURL("endpoint", c.Endpoint)
		required("access_key_id", c.AccessKeyID)
		secret("access_key_secret", c.AccessKeySecret, "access_key_secret_env", c.AccessKeySecretEnv)
		for i, p := range c.TemplateParams {
			if p == "" || slices.Contains(c.TemplateParams[:i], p) {
				bad("template_params: %q: want distinct names of the page's parameters (lift, address, kind, link)", p)
			}
		}
		if c.Type == AliyunSMS {
			required("sign_name", c.SignName)
			required("template_code", c.TemplateCode)
		} else {
			required("called_show_number", c.CalledShowNumber)
			required("tts_code", c.TtsCode)
			if c.PlayTimes < 0 || c.PlayTimes > 3 {
				bad("play_times %d: want 1 to 3 (0 or unset: the provider's default)", c.PlayTimes)
			}
		}
	case WeCom:
		httpURL("url", c.URL)
		secret("key", c.Key, "key_env", c.KeyEnv)
		if c.MsgType != "" && c.MsgType != "markdown" && c.MsgType != "text" {
			bad("msgtype %q: want markdown or text", c.MsgType)
		}
	case DingTalk:
		httpURL("url", c.URL)
		secret("access_token", c.AccessToken, "access_token_env", c.AccessTokenEnv)
		if c.Secret != "" && c.SecretEnv != "" {
			bad("secret_env: give secret or secret_env, not both")
		} else if strings.HasPrefix(c.SecretEnv, "LIFTWATCH_") {
			secret("secret", "", "secret_env", c.SecretEnv)
		} else if c.SecretEnv != "" {
			if v, ok := os.LookupEnv(c.SecretEnv); !ok || v == "" {
				bad("secret_env: environment variable %s is not set", c.SecretEnv)
			}
		} else if c.Secret != "" && !strings.HasPrefix(c.Secret, "SEC") {
			bad("secret: a DingTalk signing secret starts with SEC (the robot's 加签 setting)")
		}
	case Email:
		required("host", c.Host)
		if c.Port < 0 || c.Port > 65535 {
			bad("port %d: want 1 to 65535 (0 or unset: 587)", c.Port)
		}
		if c.From == "" {
			bad("from is required")
		} else if _, err := mail.ParseAddress(c.From); err != nil {
			bad("from %q: %v", c.From, err)
		}
		switch {
		case c.Username != "":
			secret("password", c.Password, "password_env", c.PasswordEnv)
		case c.Password != "" || c.PasswordEnv != "":
			bad("username is required with a password")
		}
		if !slices.Contains([]string{"", email.TLSRequired, email.TLSOpportunistic, email.TLSOff}, c.StartTLS) {
			bad("starttls %q: want required, opportunistic or off", c.StartTLS)
		}
		if c.CAFile != "" {
			if _, err := certPool(c.CAFile); err != nil {
				bad("ca_file: %v", err)
			}
		}
	}
	return errors.Join(errs...)
}

func certPool(file string) (*x509.CertPool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s: no PEM certificate in it", file)
	}
	return p, nil
}

// secretOf is the value, or the environment variable's.
func secretOf(value, env string) string {
	if env != "" {
		return os.Getenv(env)
	}
	return value
}

// Build validates the channel and makes its Notifier. clock stamps signed
// requests and mail (nil: time.Now); client makes the HTTP requests (nil:
// a client of its own). Every error of the Notifier names the channel.
func Build(name string, c Config, clock func() time.Time, client *http.Client) (notify.Notifier, error) {
	if err := c.Validate(name); err != nil {
		return nil, err
	}
	if clock == nil {
		clock = time.Now
	}
	if client == nil {
		client = &http.Client{}
	}
	timeout := c.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	var n notify.Notifier
	account := aliyun.Account{Endpoint: c.Endpoint, RegionID: c.RegionID, AccessKeyID: c.AccessKeyID,
		AccessKeySecret: secretOf(c.AccessKeySecret, c.AccessKeySecretEnv), Client: client, Now: clock}
	switch c.Type {
	case AliyunSMS:
		n = &aliyun.SMS{Account: account, SignName: c.SignName, TemplateCode: c.TemplateCode, Params: c.TemplateParams}
	case AliyunVoice:
		n = &aliyun.Voice{Account: account, CalledShowNumber: c.CalledShowNumber, TtsCode: c.TtsCode, PlayTimes: c.PlayTimes, Params: c.TemplateParams}
	case WeCom:
		n = &wecom.Robot{URL: c.URL, Key: secretOf(c.Key, c.KeyEnv), MsgType: c.MsgType, Client: client}
	case DingTalk:
		n = &dingtalk.Robot{URL: c.URL, AccessToken: secretOf(c.AccessToken, c.AccessTokenEnv), Secret: secretOf(c.Secret, c.SecretEnv), Client: client, Now: clock}
	case Email:
		if c.Timeout == 0 {
			timeout = 30 * time.Second
		}
		s := &email.Sender{Host: c.Host, Port: c.Port, From: c.From, Username: c.Username, Password: secretOf(c.Password, c.PasswordEnv),
			StartTLS: c.StartTLS, Hello: c.Hello, Timeout: timeout, Now: clock}
		if c.CAFile != "" {
			p, err := certPool(c.CAFile)
			if err != nil {
				return nil, fmt.Errorf("channel %s: ca_file: %w", name, err)
			}
			s.RootCAs = p
		}
		n = s
	}
	return &named{name: name, n: n, timeout: timeout}, nil
}

// BuildAll builds every channel, reporting every bad one (errors.Join).
func BuildAll(cs map[string]Config, clock func() time.Time, client *http.Client) (map[string]notify.Notifier, error) {
	names := make([]string, 0, len(cs))
	for name := range cs {
		names = append(names, name)
	}
	sort.Strings(names)
	out := make(map[string]notify.Notifier, len(cs))
	var errs []error
	for _, name := range names {
		n, err := Build(name, cs[name], clock, client)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out[name] = n
	}
	return out, errors.Join(errs...)
}

// named bounds each attempt by the channel's timeout and names the channel
// in its errors: "sms (aliyun_sms): status 400: …".
type named struct {
	name    string
	n       notify.Notifier
	timeout time.Duration
}

func (c *named) Notify(ctx context.Context, m notify.Message) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	err := c.n.Notify(ctx, m)
	var ne *notify.Error
	if errors.As(err, &ne) && !strings.HasPrefix(ne.Channel, c.name+" ") {
		ne.Channel = c.name + " (" + ne.Channel + ")"
	}
	return err
}
