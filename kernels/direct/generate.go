package direct

// The microkernels (kernel_amd64.s), their declarations (kernel_amd64.go),
// their pure-Go twins (kernel_generic.go) and the family tables
// (kernel_table.go) are emitted by one avo generator (module
// internal/asmgen, kept out of this module's dependencies) from the same
// code path for AVX2 and AVX-512.
//go:generate sh -c "cd internal/asmgen && go run . -out ../../kernel_amd64.s -stubs ../../kernel_amd64.go -pkg direct -goout ../../kernel"
