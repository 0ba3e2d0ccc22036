package testrig

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

func TestInfluxDBWriteCountRestart(t *testing.T) {
	db := StartInfluxDB(t)
	ctx := context.Background()
	body := "trip,lift=A1,estate=e seq=1i 1000000\ntrip,lift=A1,estate=e seq=2i 2000000\ntrip,lift=A1,estate=e seq=2i 2000000\n"
	resp, err := http.Post(db.URL+"/api/v2/write?bucket="+db.Bucket+"&precision=ns", "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("v2 write: %s", resp.Status)
	}
	db.Stop()
	db.Start()
	n, err := db.Count(ctx, "trip")
	if err != nil || n != 2 {
		t.Fatalf("count after restart = %d, %v (want 2: same point twice is one point)", n, err)
	}
}

// TestMosquittoRestartKeepsQueuedMessages: a message queued for an offline
// persistent session survives a broker restart (persistence really works).
func TestMosquittoRestartKeepsQueuedMessages(t *testing.T) {
	m := StartMosquitto(t, MosquittoOptions{})
	got := make(chan string, 1)
	opts := func(id string) *mqtt.ClientOptions {
		return mqtt.NewClientOptions().AddBroker(m.URL).SetClientID(id).SetCleanSession(false).
			SetDefaultPublishHandler(func(_ mqtt.Client, msg mqtt.Message) { got <- string(msg.Payload()) })
	}
	sub := mqtt.NewClient(opts("sub"))
	if tok := sub.Connect(); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	if tok := sub.Subscribe("q/#", 1, nil); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	sub.Disconnect(100)
	pub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(m.URL).SetClientID("pub"))
	if tok := pub.Connect(); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	if tok := pub.Publish("q/1", 1, false, "kept"); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	pub.Disconnect(100)
	m.Stop()
	m.Start()
	sub = mqtt.NewClient(opts("sub"))
	if tok := sub.Connect(); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer sub.Disconnect(100)
	select {
	case p := <-got:
		if p != "kept" {
			t.Fatalf("got %q", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("queued message lost across the restart; broker log:\n%s", m.Log())
	}
}

// A server started at a niceness runs at it, in every thread: the latency
// benchmark's priorities are real, not a flag that does nothing.
func TestNice(t *testing.T) {
	prio, err := syscall.Getpriority(syscall.PRIO_PROCESS, 0)
	if err != nil {
		t.Fatal(err)
	}
	base := 20 - prio // the raw system call answers 20 - niceness
	if base+7 > 19 {
		t.Skipf("the test runs at niceness %d: 7 steps below it is past 19, so the check would prove nothing", base)
	}
	for _, n := range []int{0, 7} {
		out, err := Nice(n, "sh", "-c", "nice").Output()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := strings.TrimSpace(string(out)), strconv.Itoa(base+n); got != want {
			t.Errorf("Nice(%d): the command runs at niceness %s, want %s", n, got, want)
		}
	}
	db := StartInfluxDBWith(t, InfluxOptions{Nice: 7})
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", db.p.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", db.p.cmd.Process.Pid, task.Name()))
		if err != nil {
			continue // the thread ended
		}
		// after "(comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime priority nice
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if want := strconv.Itoa(base + 7); f[16] != want {
			t.Errorf("influxd thread %s runs at niceness %s, want %s", task.Name(), f[16], want)
		}
	}
	if len(tasks) < 2 {
		t.Errorf("influxd has %d threads; the check wants a running server", len(tasks))
	}
}
