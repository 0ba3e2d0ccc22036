// Package testrig starts private instances of the real services liftwatch
// talks to (Mosquitto, InfluxDB 1.8) on free loopback ports in temporary
// directories, for integration tests, and stops them afterwards.
//
// When a server binary is missing the test is skipped with a message saying
// how to install it, unless LIFTWATCH_REQUIRE_SERVICES=1 (set by the README's
// test command, so CI never skips), in which case it fails.
package testrig

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// findBinary looks for name in PATH and the extra directories.
func findBinary(t testing.TB, name, install string, extra ...string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, d := range extra {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	msg := fmt.Sprintf("%s not found; install it with: %s (or run the README's test command, scripts/test, which does)", name, install)
	if os.Getenv("LIFTWATCH_REQUIRE_SERVICES") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// process is one server process that can be stopped and started again with
// the same configuration, ports and data.
type process struct {
	t     testing.TB
	name  string
	bin   string
	args  []string
	log   string
	cmd   *exec.Cmd
	ready func(context.Context) error
	// nice, if not 0, runs the server at that CPU niceness (Nice).
	nice int
}

func (p *process) start() {
	p.t.Helper()
	logf, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		p.t.Fatalf("%s log: %v", p.name, err)
	}
	cmd := Nice(p.nice, p.bin, p.args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		p.t.Fatalf("start %s: %v", p.name, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(exited) }()
	p.cmd = cmd
	// Generous: on a loaded 2-core machine (parallel test binaries under
	// -race) a server has been seen taking over a minute to answer.
	const startLimit = 3 * time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), startLimit)
	defer cancel()
	for {
		if err := p.ready(ctx); err == nil {
			return
		}
		select {
		case <-exited:
			p.t.Fatalf("%s exited during start-up; log:\n%s", p.name, p.tail())
		case <-ctx.Done():
			p.stop(syscall.SIGKILL)
			p.t.Fatalf("%s not ready after %v; log:\n%s", p.name, startLimit, p.tail())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stop signals the process group and waits for it to exit.
func (p *process) stop(sig syscall.Signal) {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, sig)
	done := make(chan struct{})
	go func() {
		for {
			if err := syscall.Kill(p.cmd.Process.Pid, 0); err != nil {
				close(done)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	p.cmd = nil
}

func (p *process) tail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(bytes.TrimSpace(b))
}

func dialReady(addr string) func(context.Context) error {
	return func(ctx context.Context) error {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// Nice makes a command that runs bin n niceness steps below the caller
// (through coreutils' nice, which adds n to the caller's niceness and execs
// bin: the command's process is bin's, and every thread bin starts
// inherits the niceness); n == 0 runs bin as it is. Benchmarks
// use it to give load generators, and servers that stand for machines of
// their own in production, a lower priority than the service measured.
func Nice(n int, bin string, args ...string) *exec.Cmd {
	if n == 0 {
		return exec.Command(bin, args...)
	}
	return exec.Command("nice", append([]string{"-n", strconv.Itoa(n), bin}, args...)...)
}
