package winograd

// The AVX2 transforms (transform_amd64.s), their declarations
// (transform_amd64.go) and their pure-Go twins (transform_generic.go, for
// noasm or non-amd64 builds) are emitted by one avo generator (module
// internal/asmgen, kept out of this module's dependencies), the doc
// comments of both from the same template.
//go:generate sh -c "cd internal/asmgen && go run . -out ../../transform_amd64.s -stubs ../../transform_amd64.go -goout ../../transform_generic.go -pkg winograd"
