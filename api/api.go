// Package api holds switchboard's OpenAPI description, embedded in the
// binary so that the server can serve it and tests can check every route
// and response against it.
package api

import _ "embed"

//go:embed openapi.yaml
var spec []byte

// Spec returns the OpenAPI document (YAML) that describes every route.
// Callers must not modify it.
func Spec() []byte { return spec }
