package mqttconn

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// flushDelay is how long writes are gathered before they go out in one
// system call. paho writes every packet (each PUBACK, each PUBLISH) straight
// to the socket and reads each packet in several small reads; at tens of
// thousands of messages a second those system calls were a third of
// liftwatch's CPU. A buffered reader and this short write coalescing remove
// most of them, for at most this much added latency per packet.
const flushDelay = 300 * time.Microsecond

// openBuffered dials tcp/ssl brokers and wraps the connection; it is paho's
// CustomOpenConnectionFn for those schemes.
func openBuffered(uri *url.URL, o mqtt.ClientOptions) (net.Conn, error) {
	d := &net.Dialer{Timeout: o.ConnectTimeout}
	host := uri.Host
	var c net.Conn
	var err error
	switch uri.Scheme {
	case "tcp", "mqtt":
		if uri.Port() == "" {
			host = net.JoinHostPort(uri.Hostname(), "1883")
		}
		c, err = d.Dial("tcp", host)
	case "ssl", "tls", "mqtts":
		if uri.Port() == "" {
			host = net.JoinHostPort(uri.Hostname(), "8883")
		}
		cfg := o.TLSConfig
		if cfg == nil {
			cfg = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		if cfg.ServerName == "" && !cfg.InsecureSkipVerify {
			cfg = cfg.Clone()
			cfg.ServerName = uri.Hostname()
		}
		c, err = tls.DialWithDialer(d, "tcp", host, cfg)
	default:
		return nil, fmt.Errorf("scheme %q has no buffered dialer", uri.Scheme)
	}
	if err != nil {
		return nil, err
	}
	return newBufferedConn(c), nil
}

type bufferedConn struct {
	net.Conn
	r *bufio.Reader

	mu      sync.Mutex
	w       *bufio.Writer
	pending bool
	err     error
	kick    chan struct{}
	done    chan struct{}
	once    sync.Once
}

func newBufferedConn(c net.Conn) *bufferedConn {
	b := &bufferedConn{Conn: c, r: bufio.NewReaderSize(c, 64<<10), w: bufio.NewWriterSize(c, 64<<10),
		kick: make(chan struct{}, 1), done: make(chan struct{})}
	go b.flusher()
	return b
}

func (b *bufferedConn) Read(p []byte) (int, error) { return b.r.Read(p) }

func (b *bufferedConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.w.Write(p) // a full buffer is written through at once
	if err != nil {
		b.err = err
		return n, err
	}
	if !b.pending {
		b.pending = true
		select {
		case b.kick <- struct{}{}:
		default:
		}
	}
	return n, nil
}

func (b *bufferedConn) flusher() {
	t := time.NewTimer(time.Hour)
	t.Stop()
	for {
		select {
		case <-b.done:
			return
		case <-b.kick:
		}
		t.Reset(flushDelay)
		select {
		case <-b.done:
			return
		case <-t.C:
		}
		b.mu.Lock()
		if err := b.w.Flush(); err != nil && b.err == nil {
			b.err = err
		}
		b.pending = false
		b.mu.Unlock()
	}
}

func (b *bufferedConn) Close() error {
	b.once.Do(func() {
		b.mu.Lock()
		_ = b.w.Flush()
		if b.err == nil {
			b.err = net.ErrClosed
		}
		b.mu.Unlock()
		close(b.done)
	})
	return b.Conn.Close()
}
