package mqttconn

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// TestBufferedConnDeliversEverything: small writes are coalesced but all
// arrive, in order, without an explicit flush; reads see every byte.
func TestBufferedConnDeliversEverything(t *testing.T) {
	a, b := net.Pipe()
	bc := newBufferedConn(a)
	var want bytes.Buffer
	go func() {
		for i := 0; i < 1000; i++ {
			p := []byte{byte(i), byte(i >> 8), 0x42}
			bc.Write(p)
		}
	}()
	for i := 0; i < 1000; i++ {
		want.Write([]byte{byte(i), byte(i >> 8), 0x42})
	}
	got := make([]byte, want.Len())
	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(b, got); err != nil {
		t.Fatalf("read: %v", err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatal("bytes reordered or lost")
	}
	go b.Write([]byte("hello"))
	r := make([]byte, 5)
	if _, err := io.ReadFull(bc, r); err != nil || string(r) != "hello" {
		t.Fatalf("buffered read: %q %v", r, err)
	}
	bc.Close()
	if _, err := bc.Write([]byte("x")); err == nil {
		t.Fatal("write after close accepted")
	}
}
