// Package archtest holds the test of liftwatch's import rules: which package
// may import which (docs/architecture.md, "Who may import whom"). It has no
// code of its own.
package archtest
