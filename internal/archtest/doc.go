// Package archtest keeps etap's package layering true: its test reads the
// import graph from `go list -deps -json ./...` and checks every project
// package against the import table in DESIGN.md ("Packages and what each may
// import"). Only non-test imports count; tests may import what they need.
//
// The rules live in one table in archtest_test.go. When the design changes,
// change DESIGN.md and that table together.
package archtest
