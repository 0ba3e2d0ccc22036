package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is set at build time: go build -ldflags "-X main.version=v1.2.3".
var version = "dev"

// buildVersion describes the binary: version, VCS commit (from the build
// info Go records when built in a git checkout) and Go version.
// bi is debug.ReadBuildInfo's (nil: none).
func buildVersion(bi *debug.BuildInfo) string {
	commit, modified, when := "unknown", false, ""
	if bi != nil {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			case "vcs.time":
				when = s.Value
			}
		}
	}
	if modified {
		commit += " (modified)"
	}
	if when != "" {
		commit += " " + when
	}
	return fmt.Sprintf("liftwatch %s\ncommit %s\n%s %s/%s", version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("version", "Prints liftwatch's version (\"dev\" unless set at build time), the commit it was built from and the Go version.", stderr)
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
	}
	bi, _ := debug.ReadBuildInfo()
	fmt.Fprintln(stdout, buildVersion(bi))
	return 0
}
