package api_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"switchboard/api"
)

// loadSpec parses the embedded spec without validating it.
func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(api.Spec())
	if err != nil {
		t.Fatalf("load openapi.yaml: %v", err)
	}
	return doc
}

// TestSpec_Valid validates openapi.yaml with every example checked against
// its schema: an example that does not match (a null in a field that is not
// nullable, a missing required field, a wrong type) fails the test.
func TestSpec_Valid(t *testing.T) {
	doc := loadSpec(t)
	err := doc.Validate(context.Background(),
		openapi3.EnableExamplesValidation(),
		openapi3.EnableSchemaDefaultsValidation(),
		openapi3.EnableSchemaPatternValidation(),
		openapi3.EnableMultiError(),
	)
	if err == nil {
		return
	}
	var me openapi3.MultiError
	if errors.As(err, &me) {
		for _, e := range me {
			t.Errorf("openapi.yaml: %v", e)
		}
		return
	}
	t.Errorf("openapi.yaml: %v", err)
}

// TestSpec_EveryOperationHasAnExample checks that every operation shows at
// least one example: of its request body, of a response, or of a parameter
// it declares itself (a shared component parameter, such as
// Idempotency-Key, shows nothing about the operation and does not count).
func TestSpec_EveryOperationHasAnExample(t *testing.T) {
	doc := loadSpec(t)
	paths := doc.Paths.InMatchingOrder()
	slices.Sort(paths)
	n := 0
	for _, path := range paths {
		for method, op := range doc.Paths.Value(path).Operations() {
			n++
			if !hasExample(op) {
				t.Errorf("%s %s (%s): no example in its request body, responses or own parameters", method, path, op.OperationID)
			}
		}
	}
	if n == 0 {
		t.Fatal("openapi.yaml has no operations")
	}
}

func hasExample(op *openapi3.Operation) bool {
	if rb := op.RequestBody; rb != nil && rb.Value != nil && contentHasExample(rb.Value.Content) {
		return true
	}
	if op.Responses != nil {
		for _, r := range op.Responses.Map() {
			if r.Value != nil && contentHasExample(r.Value.Content) {
				return true
			}
		}
	}
	for _, p := range op.Parameters {
		if p.Ref != "" && strings.HasPrefix(p.Ref, "#/components/") || p.Value == nil {
			continue
		}
		if p.Value.Example != nil || len(p.Value.Examples) > 0 || contentHasExample(p.Value.Content) {
			return true
		}
	}
	return false
}

func contentHasExample(c openapi3.Content) bool {
	for _, mt := range c {
		if mt != nil && (mt.Example != nil || len(mt.Examples) > 0) {
			return true
		}
	}
	return false
}

// TestSpec_SecurityByDialect checks that every operation asks for its
// dialect's credentials: HTTP Basic for REVE, a bearer API key for
// HelpCrunch and Acquire, and for CallGear none at the HTTP level (its key
// is params.access_token in the body, which x-body-credential documents)
// like the health operations and the spec's own, and the console's session
// cookie but on its public sign-in page and assets.
func TestSpec_SecurityByDialect(t *testing.T) {
	doc := loadSpec(t)
	// Operations of any other tag (the health ones, the spec and its page)
	// are public.
	want := map[string]string{
		"reve":       "revechatBasic",
		"helpcrunch": "bearerAuth",
		"acquire":    "bearerAuth",
		"callgear":   "",
		// Our own namespace, /switchboard/v1.
		"switchboard": "bearerAuth",
		// The web console: its session cookie; its sign-in page and
		// assets say security: [] and are public.
		"console": "consoleSession",
	}
	schemes := doc.Components.SecuritySchemes
	if s := schemes["revechatBasic"]; s == nil || s.Value.Type != "http" || s.Value.Scheme != "basic" {
		t.Errorf("securitySchemes.revechatBasic is not HTTP Basic")
	}
	if s := schemes["bearerAuth"]; s == nil || s.Value.Type != "http" || s.Value.Scheme != "bearer" {
		t.Errorf("securitySchemes.bearerAuth is not an HTTP bearer scheme")
	}
	paths := doc.Paths.InMatchingOrder()
	slices.Sort(paths)
	for _, path := range paths {
		for method, op := range doc.Paths.Value(path).Operations() {
			name := method + " " + path
			if len(op.Tags) != 1 {
				t.Errorf("%s: tags %v, want exactly one dialect tag", name, op.Tags)
				continue
			}
			scheme := want[op.Tags[0]]
			if op.Tags[0] == "console" && op.Security != nil && len(*op.Security) == 0 {
				scheme = ""
			}
			reqs := doc.Security
			if op.Security != nil {
				reqs = *op.Security
			}
			var got []string
			for _, req := range reqs {
				for s := range req {
					got = append(got, s)
				}
			}
			switch {
			case scheme == "" && len(got) != 0:
				t.Errorf("%s: security %v, want none", name, got)
			case scheme != "" && !slices.Equal(got, []string{scheme}):
				t.Errorf("%s: security %v, want [%s]", name, got, scheme)
			}
			if op.Tags[0] == "callgear" {
				ext, ok := op.Extensions["x-body-credential"].(map[string]any)
				if !ok || ext["pointer"] != "/params/access_token" {
					t.Errorf("%s: x-body-credential does not document params.access_token: %v", name, op.Extensions["x-body-credential"])
				}
			}
		}
	}
}
