package main

import (
	"strings"
	"syscall"
	"testing"

	"github.com/liftwatch/liftwatch/internal/testrig"
)

// TestCLIDebugFlags: the debug endpoints exist only on the debug listener,
// so asking for them without one is a settings error naming the flag.
func TestCLIDebugFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--debug.fake-clock"}, "debug.fake-clock: needs debug.listen"},
		{[]string{"--debug.pprof"}, "debug.pprof: needs debug.listen"},
		{[]string{"--debug.listen", "nope"}, `debug.listen "nope": want HOST:PORT`},
	} {
		args := append([]string{"serve", "--data.dir", t.TempDir(), "--http.listen", "127.0.0.1:0"}, c.args...)
		code, _, errs := runCLI(args)
		if code != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("liftwatch %v: exit %d, want 2 with %q; stderr:\n%s", args, code, c.want, errs)
		}
	}
}

// TestCLIDebugListenerIsApart: through the binary, the fake clock is served
// on --debug.listen and nowhere on the API's address, which answers 404 for
// /debug/*.
func TestCLIDebugListenerIsApart(t *testing.T) {
	broker := testrig.StartMosquitto(t, testrig.MosquittoOptions{})
	s := startAlertServe(t, broker, t.TempDir(), "")
	defer func() { _ = s.cmd.Process.Signal(syscall.SIGTERM); _ = s.cmd.Wait() }()
	for _, r := range []struct{ method, path string }{{"POST", "/debug/clock?advance=1m"}, {"GET", "/debug/pprof/"}, {"GET", "/debug/"}} {
		if code, b := s.do(r.method, r.path, ""); code != 404 || !strings.Contains(string(b), `"not_found"`) {
			t.Errorf("API address %s %s: %d %s, want 404", r.method, r.path, code, b)
		}
	}
	if code, b := doURL("POST", s.debug+"/debug/clock?advance=1m", ""); code != 200 || !strings.Contains(string(b), `"now"`) {
		t.Fatalf("debug listener clock: %d %s", code, b)
	}
	if code, _ := doURL("GET", s.debug+"/api/v1/lifts", ""); code != 404 {
		t.Errorf("the debug listener serves the API: %d", code)
	}
}
