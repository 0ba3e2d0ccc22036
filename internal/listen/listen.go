// Package listen opens TCP listeners with errors that say which address is
// taken and which flag or environment variable chooses another.
package listen

import (
	"errors"
	"fmt"
	"net"
	"syscall"
)

// TCP listens on addr; flagName and envName name the setting that chose it.
func TCP(addr, flagName, envName string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err == nil {
		return l, nil
	}
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("address %s is already in use (another program listens there): choose another with --%s HOST:PORT or %s=HOST:PORT", addr, flagName, envName)
	}
	return nil, fmt.Errorf("cannot listen on %s (set --%s or %s): %w", addr, flagName, envName, err)
}

// Check reports whether addr could be listened on, with TCP's errors.
func Check(addr, flagName, envName string) error {
	l, err := TCP(addr, flagName, envName)
	if err != nil {
		return err
	}
	return l.Close()
}
