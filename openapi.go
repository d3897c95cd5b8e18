// Package switchboard is the repository's top level. It holds openapi.yaml,
// the OpenAPI description of every route, embedded so that the binary serves
// it and the tests check every route and response against it; package api
// renders it.
package switchboard

import _ "embed"

//go:embed openapi.yaml
var openAPI []byte

// OpenAPI returns the OpenAPI document (YAML) that describes every route.
// Callers must not modify it.
func OpenAPI() []byte { return openAPI }
