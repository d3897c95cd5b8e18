package api

import (
	"html"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

func mustDocs(t *testing.T) string {
	t.Helper()
	page, err := Docs()
	if err != nil {
		t.Fatalf("Docs: %v", err)
	}
	return string(page)
}

// article returns the HTML of the operation's entry on the page.
func article(page, id string) (string, bool) {
	start := strings.Index(page, `<article class="op" id="`+id+`">`)
	if start < 0 {
		return "", false
	}
	end := strings.Index(page[start:], "</article>")
	if end < 0 {
		return "", false
	}
	return page[start : start+end], true
}

// TestDocs_EveryOperation checks, against the spec as kin-openapi reads it,
// that the page is titled by it and has an entry for every operation, with
// its method, path, summary, parameters, request body, every response
// status with its headers and media types, every example, and a link to it
// in the contents.
func TestDocs_EveryOperation(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(Spec())
	if err != nil {
		t.Fatal(err)
	}
	page := mustDocs(t)
	ops := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			ops++
			name := method + " " + path
			if !regexp.MustCompile(`^[A-Za-z0-9_.]+$`).MatchString(op.OperationID) {
				t.Errorf("%s: operationId %q is not a plain name", name, op.OperationID)
				continue
			}
			id := "op-" + op.OperationID
			a, ok := article(page, id)
			if !ok {
				t.Errorf("%s: no entry %q on the page", name, id)
				continue
			}
			text := html.UnescapeString(a)
			if want := `">` + method + `</span> <code class="path">` + path + `</code>`; !strings.Contains(text, want) {
				t.Errorf("%s: the entry lacks its method and path (%s)", name, want)
			}
			if !strings.Contains(page, `href="#`+id+`"`) {
				t.Errorf("%s: the contents do not link to it", name)
			}
			if !strings.Contains(text, op.Summary) {
				t.Errorf("%s: the entry lacks its summary %q", name, op.Summary)
			}
			for _, p := range append(item.Parameters, op.Parameters...) {
				if !strings.Contains(text, `<span class="name">`+p.Value.Name+`</span>`) {
					t.Errorf("%s: the entry lacks parameter %s", name, p.Value.Name)
				}
			}
			examples := 0
			count := func(content openapi3.Content) {
				for _, c := range content {
					if c.Example != nil {
						examples++
					}
					examples += len(c.Examples)
				}
			}
			if op.RequestBody != nil {
				if !strings.Contains(text, "<h4>Request body") {
					t.Errorf("%s: the entry lacks its request body", name)
				}
				count(op.RequestBody.Value.Content)
			}
			for status, resp := range op.Responses.Map() {
				if !strings.Contains(text, `">`+status+`</span>`) {
					t.Errorf("%s: the entry lacks response %s", name, status)
				}
				for h := range resp.Value.Headers {
					if !strings.Contains(text, ">"+h+"<") {
						t.Errorf("%s: response %s lacks header %s", name, status, h)
					}
				}
				for mt := range resp.Value.Content {
					if !strings.Contains(text, `<div class="mtype">`+mt+`</div>`) {
						t.Errorf("%s: response %s lacks %s", name, status, mt)
					}
				}
				count(resp.Value.Content)
			}
			if n := strings.Count(text, `<div class="example">`); n != examples {
				t.Errorf("%s: the entry shows %d examples of bodies, the spec has %d", name, n, examples)
			}
		}
	}
	if n := strings.Count(page, `<article class="op"`); n != ops {
		t.Errorf("the page has %d operations, the spec %d", n, ops)
	}
	if ops == 0 {
		t.Fatal("the spec has no operations")
	}
	title := "<h1>" + html.EscapeString(doc.Info.Title) + " <small>" + html.EscapeString(doc.Info.Version) + "</small></h1>"
	if !strings.Contains(page, title) {
		t.Errorf("the page lacks %s", title)
	}
}

// TestDocs_SelfContained checks that the page loads nothing: no scripts,
// no stylesheets or images from elsewhere, no links to other hosts.
func TestDocs_SelfContained(t *testing.T) {
	page := mustDocs(t)
	// Every tag of the page, in lower case, once: the text between them
	// is escaped, so only tags can load anything.
	tags := map[string]bool{}
	for rest := page; ; {
		i := strings.IndexByte(rest, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '>')
		if j < 0 {
			t.Fatalf("unclosed tag at %q", rest[i:min(len(rest), i+40)])
		}
		tags[strings.ToLower(rest[i:i+j+1])] = true
		rest = rest[i+j+1:]
	}
	bad := []*regexp.Regexp{
		regexp.MustCompile(`^<(script|link|img|iframe|object|embed|frame|audio|video|source|base|form)\b`),
		regexp.MustCompile(`\b(src|href|action|srcset|poster|data)\s*=\s*["']?\s*(https?:|javascript:|data:|//)`),
		regexp.MustCompile(`\son[a-z]+\s*=`),
	}
	for tag := range tags {
		for _, re := range bad {
			if re.MatchString(tag) {
				t.Errorf("the page has %s", tag)
				break
			}
		}
	}
	style := page[strings.Index(page, "<style>"):strings.Index(page, "</style>")]
	if m := regexp.MustCompile(`(?i)url\(|@import|@font-face|https?:`).FindString(style); m != "" {
		t.Errorf("the page's styles have %q", m)
	}
	for _, want := range []string{"<!DOCTYPE html>", `<meta charset="utf-8">`} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

// hostile puts markup in every place of a spec that the page shows.
const hostile = `
openapi: 3.0.3
info:
  title: "T<script>alert('title')</script>"
  version: "1<b>"
  description: |
    Intro <script>alert(1)</script> with ` + "`<img src=x onerror=alert(2)>`" + ` code.

    - item <i>one</i>
    - item ` + "`two`" + `
servers:
  - url: "javascript:alert(3)"
    description: <script>s</script>
tags:
  - name: "t<x>"
    description: "<iframe src=//evil.example>"
paths:
  "/p/{id}<script>":
    get:
      tags: ["t<x>"]
      operationId: "a\" onmouseover=\"alert(4)"
      summary: "<script>alert(5)</script>"
      description: "</article><script>alert(6)</script>"
      security: []
      parameters:
        - name: "id<svg onload=alert(7)>"
          in: path
          required: true
          description: "<script>alert(8)</script>"
          schema: {type: string, pattern: "^<a>$", enum: ["<e>"]}
          example: "<x-example>"
      responses:
        '200':
          description: "<b>ok</b>"
          headers:
            "X-<h>":
              description: "<script>alert(9)</script>"
              schema: {type: string}
          content:
            application/json:
              schema:
                type: object
                required: ["<req>"]
                properties:
                  "<req>": {type: string, description: "<script>alert(10)</script>", default: "<d>"}
                  nested:
                    type: object
                    properties:
                      deep: {type: integer, nullable: true, minimum: 1}
              example: {"<req>": "</pre><script>alert(11)</script>"}
`

// TestDocs_Escapes checks that whatever the spec says is shown as text:
// markup in any description, name, value or example is escaped.
func TestDocs_Escapes(t *testing.T) {
	out, err := renderDocs([]byte(hostile))
	if err != nil {
		t.Fatal(err)
	}
	page := string(out)
	for _, bad := range []string{"<script", "<img", "<iframe", "<svg", "<b>", "<i>", "<x", "<e>", "<h>", "<d>", "<req>",
		"onmouseover=\"", `href="javascript`, "</article><"} {
		if strings.Contains(page, bad) {
			t.Errorf("the page has %q unescaped", bad)
		}
	}
	for _, want := range []string{
		"&lt;script&gt;alert(1)&lt;/script&gt;",
		"<code>&lt;img src=x onerror=alert(2)&gt;</code>",
		"<li>item <code>two</code></li>",
		"&lt;script&gt;alert(5)&lt;/script&gt;",
		"&lt;script&gt;alert(10)&lt;/script&gt;",
		"&lt;/pre&gt;&lt;script&gt;alert(11)&lt;/script&gt;",
		`<span class="req">required</span>`,
		`<span class="name">deep</span> <span class="type">integer</span> <span class="tag">nullable</span> <span class="note">≥ 1</span>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if n := strings.Count(page, `<article class="op"`); n != 1 {
		t.Errorf("the page has %d operations, want 1", n)
	}
}

func TestDocs_BadSpec(t *testing.T) {
	for name, src := range map[string]string{
		"not YAML":      "openapi: [",
		"unknown $ref":  "openapi: 3.0.3\npaths:\n  /x:\n    get:\n      responses:\n        '200': {$ref: '#/components/responses/Nope'}\n",
		"external $ref": "openapi: 3.0.3\npaths:\n  /x:\n    get:\n      responses:\n        '200': {$ref: 'other.yaml#/x'}\n",
		"looping schema": "openapi: 3.0.3\npaths:\n  /x:\n    get:\n      responses:\n        '200':\n          description: x\n" +
			"          content: {application/json: {schema: {$ref: '#/components/schemas/A'}}}\n" +
			"components:\n  schemas:\n    A: {$ref: '#/components/schemas/B'}\n    B: {$ref: '#/components/schemas/A'}\n",
	} {
		if _, err := renderDocs([]byte(src)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestDocs_RecursiveSchema checks that a schema that contains itself is
// named where it recurs rather than expanded forever.
func TestDocs_RecursiveSchema(t *testing.T) {
	src := "openapi: 3.0.3\npaths:\n  /x:\n    get:\n      responses:\n        '200':\n          description: x\n" +
		"          content: {application/json: {schema: {$ref: '#/components/schemas/Node'}}}\n" +
		"components:\n  schemas:\n    Node:\n      type: object\n      properties:\n" +
		"        children: {type: array, items: {$ref: '#/components/schemas/Node'}}\n"
	out, err := renderDocs([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "(as above)") {
		t.Error("the recursion is not named")
	}
}

func TestMarkdown(t *testing.T) {
	got := markdown("One `a` two\nthree `unpaired\n\nIntro:\n- first `x`\n  goes on\n- second\nAfter.\n")
	want := []block{
		{Spans: []span{{Text: "One "}, {Text: "a", Code: true}, {Text: " two three `unpaired"}}},
		{Spans: []span{{Text: "Intro:"}}},
		{List: true, Items: [][]span{{{Text: "first "}, {Text: "x", Code: true}, {Text: " goes on"}}, {{Text: "second"}}}},
		{Spans: []span{{Text: "After."}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("markdown =\n%+v\nwant\n%+v", got, want)
	}
}
