// Package api serves switchboard's OpenAPI description (openapi.yaml at the
// repository's top level) and renders the reference page from it.
package api

import "switchboard"

// Spec returns the OpenAPI document (YAML) that describes every route.
// Callers must not modify it.
func Spec() []byte { return switchboard.OpenAPI() }
