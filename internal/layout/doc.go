// Package layout holds no code: its tests keep the tree's rules true as it grows. They
// read the module's packages with `go list` and check the import rules of DESIGN.md
// (imports point one way; each heavy or cgo dependency stays in the one package that
// owns it; each binary links only what its main needs) and that every package has a
// package comment.
package layout
