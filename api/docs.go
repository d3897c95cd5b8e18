package api

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

//go:embed docs.html.tmpl
var docsTemplate string

// Docs returns the API reference page (HTML) rendered from the embedded
// spec: every operation by tag, with its parameters, request body and
// responses. The page is self-contained (inline CSS, no scripts, nothing
// loaded from elsewhere). Each call renders it anew (tens of milliseconds):
// the server renders it once, at start. It returns an error only for a spec
// the page cannot show (a broken $ref), which the tests rule out.
func Docs() ([]byte, error) { return renderDocs(Spec()) }

// renderDocs renders the reference page of an OpenAPI 3.0 document.
func renderDocs(src []byte) ([]byte, error) {
	var doc document
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("docs: parse the spec: %w", err)
	}
	p, err := newPage(&doc)
	if err != nil {
		return nil, fmt.Errorf("docs: %w", err)
	}
	tmpl, err := template.New("docs").Parse(docsTemplate)
	if err != nil {
		return nil, fmt.Errorf("docs: parse the template: %w", err)
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, p); err != nil {
		return nil, fmt.Errorf("docs: render: %w", err)
	}
	return buf.Bytes(), nil
}

// The part of OpenAPI 3.0 the page shows. Mappings whose order matters to a
// reader (paths, properties, responses, headers, examples) keep the
// document's order.

type document struct {
	Info struct {
		Title       string `yaml:"title"`
		Version     string `yaml:"version"`
		Description string `yaml:"description"`
	} `yaml:"info"`
	Servers []struct {
		URL         string `yaml:"url"`
		Description string `yaml:"description"`
	} `yaml:"servers"`
	Tags []struct {
		Name        string `yaml:"name"`
		Description string `yaml:"description"`
	} `yaml:"tags"`
	Paths      ordered[*pathItem]    `yaml:"paths"`
	Security   *[]ordered[yaml.Node] `yaml:"security"`
	Components struct {
		Schemas         ordered[*schema]         `yaml:"schemas"`
		Responses       ordered[*response]       `yaml:"responses"`
		Parameters      ordered[*parameter]      `yaml:"parameters"`
		Headers         ordered[*header]         `yaml:"headers"`
		RequestBodies   ordered[*requestBody]    `yaml:"requestBodies"`
		Examples        ordered[*example]        `yaml:"examples"`
		SecuritySchemes ordered[*securityScheme] `yaml:"securitySchemes"`
	} `yaml:"components"`
}

type pathItem struct {
	Parameters []*parameter `yaml:"parameters"`
	Get        *operation   `yaml:"get"`
	Put        *operation   `yaml:"put"`
	Post       *operation   `yaml:"post"`
	Delete     *operation   `yaml:"delete"`
	Options    *operation   `yaml:"options"`
	Head       *operation   `yaml:"head"`
	Patch      *operation   `yaml:"patch"`
	Trace      *operation   `yaml:"trace"`
}

func (p *pathItem) operations() []struct {
	method string
	op     *operation
} {
	all := []struct {
		method string
		op     *operation
	}{{"GET", p.Get}, {"PUT", p.Put}, {"POST", p.Post}, {"DELETE", p.Delete},
		{"OPTIONS", p.Options}, {"HEAD", p.Head}, {"PATCH", p.Patch}, {"TRACE", p.Trace}}
	out := all[:0]
	for _, o := range all {
		if o.op != nil {
			out = append(out, o)
		}
	}
	return out
}

type operation struct {
	Tags        []string              `yaml:"tags"`
	OperationID string                `yaml:"operationId"`
	Summary     string                `yaml:"summary"`
	Description string                `yaml:"description"`
	Deprecated  bool                  `yaml:"deprecated"`
	Security    *[]ordered[yaml.Node] `yaml:"security"`
	Parameters  []*parameter          `yaml:"parameters"`
	RequestBody *requestBody          `yaml:"requestBody"`
	Responses   ordered[*response]    `yaml:"responses"`
}

type parameter struct {
	Ref         string             `yaml:"$ref"`
	Name        string             `yaml:"name"`
	In          string             `yaml:"in"`
	Required    bool               `yaml:"required"`
	Deprecated  bool               `yaml:"deprecated"`
	Description string             `yaml:"description"`
	Schema      *schema            `yaml:"schema"`
	Example     yaml.Node          `yaml:"example"`
	Examples    ordered[*example]  `yaml:"examples"`
	Content     ordered[mediaType] `yaml:"content"`
}

type requestBody struct {
	Ref         string             `yaml:"$ref"`
	Description string             `yaml:"description"`
	Required    bool               `yaml:"required"`
	Content     ordered[mediaType] `yaml:"content"`
}

type response struct {
	Ref         string             `yaml:"$ref"`
	Description string             `yaml:"description"`
	Headers     ordered[*header]   `yaml:"headers"`
	Content     ordered[mediaType] `yaml:"content"`
}

type header struct {
	Ref         string    `yaml:"$ref"`
	Description string    `yaml:"description"`
	Required    bool      `yaml:"required"`
	Schema      *schema   `yaml:"schema"`
	Example     yaml.Node `yaml:"example"`
}

type mediaType struct {
	Schema   *schema           `yaml:"schema"`
	Example  yaml.Node         `yaml:"example"`
	Examples ordered[*example] `yaml:"examples"`
}

type example struct {
	Ref         string    `yaml:"$ref"`
	Summary     string    `yaml:"summary"`
	Description string    `yaml:"description"`
	Value       yaml.Node `yaml:"value"`
}

type securityScheme struct {
	Type         string `yaml:"type"`
	Scheme       string `yaml:"scheme"`
	BearerFormat string `yaml:"bearerFormat"`
	Name         string `yaml:"name"`
	In           string `yaml:"in"`
	Description  string `yaml:"description"`
}

type schema struct {
	Ref                  string           `yaml:"$ref"`
	Type                 string           `yaml:"type"`
	Format               string           `yaml:"format"`
	Description          string           `yaml:"description"`
	Nullable             bool             `yaml:"nullable"`
	ReadOnly             bool             `yaml:"readOnly"`
	WriteOnly            bool             `yaml:"writeOnly"`
	Deprecated           bool             `yaml:"deprecated"`
	Enum                 []yaml.Node      `yaml:"enum"`
	Default              yaml.Node        `yaml:"default"`
	Minimum              yaml.Node        `yaml:"minimum"`
	Maximum              yaml.Node        `yaml:"maximum"`
	ExclusiveMinimum     bool             `yaml:"exclusiveMinimum"`
	ExclusiveMaximum     bool             `yaml:"exclusiveMaximum"`
	MultipleOf           yaml.Node        `yaml:"multipleOf"`
	MinLength            *int             `yaml:"minLength"`
	MaxLength            *int             `yaml:"maxLength"`
	Pattern              string           `yaml:"pattern"`
	MinItems             *int             `yaml:"minItems"`
	MaxItems             *int             `yaml:"maxItems"`
	UniqueItems          bool             `yaml:"uniqueItems"`
	MinProperties        *int             `yaml:"minProperties"`
	MaxProperties        *int             `yaml:"maxProperties"`
	Required             []string         `yaml:"required"`
	Properties           ordered[*schema] `yaml:"properties"`
	AdditionalProperties *additional      `yaml:"additionalProperties"`
	Items                *schema          `yaml:"items"`
	AllOf                []*schema        `yaml:"allOf"`
	OneOf                []*schema        `yaml:"oneOf"`
	AnyOf                []*schema        `yaml:"anyOf"`
	Not                  *schema          `yaml:"not"`
	Discriminator        *struct {
		PropertyName string `yaml:"propertyName"`
	} `yaml:"discriminator"`
}

// additional is additionalProperties: a boolean or a schema.
type additional struct {
	Allowed bool
	Schema  *schema
}

func (a *additional) UnmarshalYAML(n *yaml.Node) error {
	n = deref(n)
	if n.Kind == yaml.ScalarNode {
		a.Allowed = n.Value == "true"
		return nil
	}
	a.Allowed = true
	return n.Decode(&a.Schema)
}

// ordered is a YAML mapping that keeps its keys' order.
type ordered[T any] []pair[T]

type pair[T any] struct {
	Key   string
	Value T
}

func (o *ordered[T]) UnmarshalYAML(n *yaml.Node) error {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: want a mapping", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		var v T
		if err := n.Content[i+1].Decode(&v); err != nil {
			return err
		}
		*o = append(*o, pair[T]{Key: n.Content[i].Value, Value: v})
	}
	return nil
}

func (o ordered[T]) get(key string) (T, bool) {
	for _, p := range o {
		if p.Key == key {
			return p.Value, true
		}
	}
	var zero T
	return zero, false
}

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// The page, ready for the template: every string in it is plain text that
// the template escapes.

type page struct {
	Title, Version string
	Description    []block
	Servers        []server
	Schemes        []schemeView
	Security       string
	Headers        []headerView // the common headers, in components
	Tags           []tagView
}

type server struct {
	URL  string
	Desc []block
}

type schemeView struct {
	Name, Kind string
	Desc       []block
}

type tagView struct {
	Name, ID string
	Desc     []block
	Ops      []*opView
}

type opView struct {
	ID, Method, Path, Summary string
	Desc                      []block
	Deprecated                bool
	Security                  string
	Params                    []paramView
	Body                      *bodyView
	Responses                 []respView
}

type paramView struct {
	Name, In   string
	Required   bool
	Deprecated bool
	Type       field
	Desc       []block
	Example    string
}

type bodyView struct {
	Required bool
	Desc     []block
	Media    []mediaView
}

type mediaView struct {
	Type     string
	Schema   *field
	Examples []exampleView
}

type exampleView struct {
	Name, Summary string
	Desc          []block
	Text          string
}

type respView struct {
	Status, Class string
	Open          bool
	Summary       []span
	Desc          []block
	Headers       []headerView
	Media         []mediaView
}

type headerView struct {
	Name     string
	ID       string // the anchor of a common header
	Common   string // the anchor of the common header this one is
	Required bool
	Type     field
	Desc     []block
	Example  string
}

// field is a schema as the page lists it: a line with its name, type and
// constraints, its description, and the fields inside it.
type field struct {
	Name     string
	Type     string
	Ref      string
	Required bool
	Nullable bool
	Notes    [][]span
	Desc     []block
	Fields   []field
	Variants []variant
	// VariantsOf says how Variants combine: "one of" or "any of".
	VariantsOf string
	Recursive  bool
}

type variant struct {
	Label string
	Field field
}

func newPage(doc *document) (*page, error) {
	r := &resolver{doc: doc, headerNames: map[string]string{}}
	p := &page{
		Title:       doc.Info.Title,
		Version:     doc.Info.Version,
		Description: markdown(doc.Info.Description),
	}
	for _, s := range doc.Servers {
		p.Servers = append(p.Servers, server{URL: s.URL, Desc: markdown(s.Description)})
	}
	for _, s := range doc.Components.SecuritySchemes {
		p.Schemes = append(p.Schemes, schemeView{Name: s.Key, Kind: schemeKind(s.Value), Desc: markdown(s.Value.Description)})
	}
	p.Security = securityText(doc.Security, "")

	tags := map[string]*tagView{}
	var order []*tagView
	tagFor := func(name string) *tagView {
		if t, ok := tags[name]; ok {
			return t
		}
		t := &tagView{Name: name, ID: "tag-" + slug(name)}
		tags[name] = t
		order = append(order, t)
		return t
	}
	for _, t := range doc.Tags {
		tagFor(t.Name).Desc = markdown(t.Description)
	}
	ids := map[string]bool{}
	for _, pi := range doc.Paths {
		for _, mo := range pi.Value.operations() {
			op, err := r.operation(pi.Key, mo.method, pi.Value, mo.op, doc.Security)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", mo.method, pi.Key, err)
			}
			id := op.ID
			for i := 2; ids[op.ID]; i++ {
				op.ID = id + "-" + strconv.Itoa(i)
			}
			ids[op.ID] = true
			tag := "other"
			if len(mo.op.Tags) > 0 {
				tag = mo.op.Tags[0]
			}
			t := tagFor(tag)
			t.Ops = append(t.Ops, op)
		}
	}
	for _, h := range doc.Components.Headers {
		name := h.Key
		if n, ok := r.headerNames[h.Key]; ok {
			name = n // as the responses name it
		}
		hv, err := r.headerView(name, h.Value)
		if err != nil {
			return nil, fmt.Errorf("header %s: %w", h.Key, err)
		}
		hv.ID = "header-" + slug(h.Key)
		p.Headers = append(p.Headers, hv)
	}
	for _, t := range order {
		if len(t.Ops) > 0 {
			p.Tags = append(p.Tags, *t)
		}
	}
	return p, nil
}

type resolver struct {
	doc *document
	// headerNames has the name responses first give each common header.
	headerNames map[string]string
}

// refName returns the component name of a local reference of the section.
func refName(ref, section string) (string, error) {
	prefix := "#/components/" + section + "/"
	if !strings.HasPrefix(ref, prefix) {
		return "", fmt.Errorf("unsupported reference %q", ref)
	}
	name := strings.TrimPrefix(ref, prefix)
	return strings.ReplaceAll(strings.ReplaceAll(name, "~1", "/"), "~0", "~"), nil
}

func lookup[T any](components ordered[*T], ref, section string) (*T, error) {
	name, err := refName(ref, section)
	if err != nil {
		return nil, err
	}
	v, ok := components.get(name)
	if !ok || v == nil {
		return nil, fmt.Errorf("reference %q names nothing", ref)
	}
	return v, nil
}

func (r *resolver) parameter(p *parameter) (*parameter, error) {
	for i := 0; p.Ref != ""; i++ {
		if i > 32 {
			return nil, fmt.Errorf("reference %q loops", p.Ref)
		}
		var err error
		if p, err = lookup(r.doc.Components.Parameters, p.Ref, "parameters"); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (r *resolver) response(p *response) (*response, error) {
	for i := 0; p.Ref != ""; i++ {
		if i > 32 {
			return nil, fmt.Errorf("reference %q loops", p.Ref)
		}
		var err error
		if p, err = lookup(r.doc.Components.Responses, p.Ref, "responses"); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (r *resolver) header(p *header) (*header, error) {
	for i := 0; p.Ref != ""; i++ {
		if i > 32 {
			return nil, fmt.Errorf("reference %q loops", p.Ref)
		}
		var err error
		if p, err = lookup(r.doc.Components.Headers, p.Ref, "headers"); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (r *resolver) requestBody(p *requestBody) (*requestBody, error) {
	for i := 0; p.Ref != ""; i++ {
		if i > 32 {
			return nil, fmt.Errorf("reference %q loops", p.Ref)
		}
		var err error
		if p, err = lookup(r.doc.Components.RequestBodies, p.Ref, "requestBodies"); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (r *resolver) example(p *example) (*example, error) {
	for i := 0; p.Ref != ""; i++ {
		if i > 32 {
			return nil, fmt.Errorf("reference %q loops", p.Ref)
		}
		var err error
		if p, err = lookup(r.doc.Components.Examples, p.Ref, "examples"); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// schema follows s's references; it returns the name of the first one.
func (r *resolver) schema(s *schema) (*schema, string, error) {
	name := ""
	for i := 0; s.Ref != ""; i++ {
		if i > 32 {
			return nil, "", fmt.Errorf("reference %q loops", s.Ref)
		}
		n, err := refName(s.Ref, "schemas")
		if err != nil {
			return nil, "", err
		}
		if name == "" {
			name = n
		}
		if s, err = lookup(r.doc.Components.Schemas, s.Ref, "schemas"); err != nil {
			return nil, "", err
		}
	}
	return s, name, nil
}

func (r *resolver) operation(path, method string, item *pathItem, o *operation, global *[]ordered[yaml.Node]) (*opView, error) {
	id := o.OperationID
	if id == "" {
		id = strings.ToLower(method) + "-" + path
	}
	v := &opView{
		ID:         "op-" + slug(id),
		Method:     method,
		Path:       path,
		Summary:    o.Summary,
		Desc:       markdown(o.Description),
		Deprecated: o.Deprecated,
		Security:   securityText(o.Security, securityText(global, "none")),
	}

	// Operation parameters override the path's of the same name and place.
	var params []*parameter
	seen := map[string]bool{}
	for _, list := range [][]*parameter{o.Parameters, item.Parameters} {
		for _, p := range list {
			p, err := r.parameter(p)
			if err != nil {
				return nil, err
			}
			if k := p.In + " " + p.Name; !seen[k] {
				seen[k] = true
				params = append(params, p)
			}
		}
	}
	for _, p := range params {
		pv := paramView{Name: p.Name, In: p.In, Required: p.Required, Deprecated: p.Deprecated, Desc: markdown(p.Description)}
		s := p.Schema
		if s == nil {
			for _, m := range p.Content {
				s = m.Value.Schema
				break
			}
		}
		if s != nil {
			f, err := r.field("", s, false, nil)
			if err != nil {
				return nil, fmt.Errorf("parameter %s: %w", p.Name, err)
			}
			pv.Type = f
		}
		if p.Example.Kind != 0 {
			pv.Example = scalarText(&p.Example)
		} else {
			for _, e := range p.Examples {
				ex, err := r.example(e.Value)
				if err != nil {
					return nil, err
				}
				pv.Example = scalarText(&ex.Value)
				break
			}
		}
		v.Params = append(v.Params, pv)
	}

	if o.RequestBody != nil {
		b, err := r.requestBody(o.RequestBody)
		if err != nil {
			return nil, err
		}
		bv := &bodyView{Required: b.Required, Desc: markdown(b.Description)}
		if bv.Media, err = r.media(b.Content); err != nil {
			return nil, fmt.Errorf("request body: %w", err)
		}
		v.Body = bv
	}

	statuses := make([]pair[*response], len(o.Responses))
	copy(statuses, o.Responses)
	sort.SliceStable(statuses, func(i, j int) bool { return statusOrder(statuses[i].Key) < statusOrder(statuses[j].Key) })
	for _, st := range statuses {
		resp, err := r.response(st.Value)
		if err != nil {
			return nil, fmt.Errorf("response %s: %w", st.Key, err)
		}
		rv := respView{Status: st.Key, Class: "s" + st.Key[:1], Open: strings.HasPrefix(st.Key, "2")}
		desc := markdown(resp.Description)
		if len(desc) > 0 && !desc[0].List {
			rv.Summary, desc = desc[0].Spans, desc[1:]
		}
		rv.Desc = desc
		for _, h := range resp.Headers {
			hv, err := r.headerView(h.Key, h.Value)
			if err != nil {
				return nil, fmt.Errorf("response %s header %s: %w", st.Key, h.Key, err)
			}
			if hv.Common != "" {
				// Described once, under the common headers.
				hv.Desc = nil
			}
			rv.Headers = append(rv.Headers, hv)
		}
		if rv.Media, err = r.media(resp.Content); err != nil {
			return nil, fmt.Errorf("response %s: %w", st.Key, err)
		}
		v.Responses = append(v.Responses, rv)
	}
	return v, nil
}

// headerView describes a header; a reference to a common header (in
// components) links to it.
func (r *resolver) headerView(name string, h *header) (headerView, error) {
	hv := headerView{Name: name}
	if h.Ref != "" {
		n, err := refName(h.Ref, "headers")
		if err != nil {
			return hv, err
		}
		hv.Common = "header-" + slug(n)
		if _, ok := r.headerNames[n]; !ok {
			r.headerNames[n] = name
		}
	}
	h, err := r.header(h)
	if err != nil {
		return hv, err
	}
	hv.Required, hv.Desc = h.Required, markdown(h.Description)
	if h.Schema != nil {
		if hv.Type, err = r.field("", h.Schema, false, nil); err != nil {
			return hv, err
		}
	}
	if h.Example.Kind != 0 {
		hv.Example = scalarText(&h.Example)
	}
	return hv, nil
}

func statusOrder(s string) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	if len(s) == 3 && strings.HasSuffix(strings.ToUpper(s), "XX") && s[0] >= '1' && s[0] <= '5' {
		return int(s[0]-'0')*100 + 99
	}
	return 1000 // default
}

func (r *resolver) media(content ordered[mediaType]) ([]mediaView, error) {
	var out []mediaView
	for _, c := range content {
		mv := mediaView{Type: c.Key}
		json := strings.Contains(c.Key, "json")
		if c.Value.Schema != nil {
			f, err := r.field("", c.Value.Schema, false, nil)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.Key, err)
			}
			mv.Schema = &f
		}
		if c.Value.Example.Kind != 0 {
			mv.Examples = append(mv.Examples, exampleView{Text: exampleText(&c.Value.Example, json)})
		}
		for _, e := range c.Value.Examples {
			ex, err := r.example(e.Value)
			if err != nil {
				return nil, fmt.Errorf("%s example %s: %w", c.Key, e.Key, err)
			}
			mv.Examples = append(mv.Examples, exampleView{
				Name: e.Key, Summary: ex.Summary, Desc: markdown(ex.Description), Text: exampleText(&ex.Value, json),
			})
		}
		out = append(out, mv)
	}
	return out, nil
}

// field describes schema s under the name (empty for a body or a
// parameter); stack holds the components being described, so that a
// schema that contains itself is named rather than expanded forever.
func (r *resolver) field(name string, s *schema, required bool, stack []string) (field, error) {
	s, ref, err := r.schema(s)
	if err != nil {
		return field{}, err
	}
	f := field{Name: name, Required: required, Ref: ref}
	if ref != "" {
		for _, n := range stack {
			if n == ref {
				f.Type, f.Recursive = "object", true
				return f, nil
			}
		}
		stack = append(stack[:len(stack):len(stack)], ref)
	}
	m, err := r.merge(s, stack)
	if err != nil {
		return field{}, err
	}
	if f.Ref == "" {
		f.Ref = m.ref
	}
	f.Nullable = m.Nullable
	f.Desc = markdown(m.Description)
	f.Notes = notes(m)
	f.Type = m.typeName()
	if f.Type == "null" {
		f.Nullable = false
	}

	switch {
	case len(m.OneOf) > 0 || len(m.AnyOf) > 0:
		alts := m.OneOf
		word := "one of"
		if len(alts) == 0 {
			alts, word = m.AnyOf, "any of"
		}
		var vs []variant
		simple := true
		for _, a := range alts {
			af, err := r.field("", a, false, stack)
			if err != nil {
				return field{}, err
			}
			if len(af.Fields) > 0 || len(af.Variants) > 0 || len(af.Notes) > 0 || len(af.Desc) > 0 {
				simple = false
			}
			label := af.Ref
			if label == "" {
				label = af.Type
			}
			vs = append(vs, variant{Label: label, Field: af})
		}
		if simple {
			labels := make([]string, len(vs))
			for i, v := range vs {
				labels[i] = v.Label
			}
			f.Type = strings.Join(labels, " | ")
		} else {
			if f.Type == "any" {
				f.Type = word
			}
			f.Variants, f.VariantsOf = vs, word
		}
	case m.Items != nil:
		it, err := r.field("", m.Items, false, stack)
		if err != nil {
			return field{}, err
		}
		f.Type = "array of " + it.Type
		if it.Ref != "" && f.Ref == "" {
			f.Type = "array of " + it.Ref
		}
		f.Notes = append(f.Notes, prefixNotes("items: ", it.Notes)...)
		if len(f.Desc) == 0 {
			f.Desc = it.Desc
		}
		f.Fields, f.Variants, f.VariantsOf, f.Recursive = it.Fields, it.Variants, it.VariantsOf, it.Recursive
	}
	req := map[string]bool{}
	for _, n := range m.Required {
		req[n] = true
	}
	for _, p := range m.Properties {
		pf, err := r.field(p.Key, p.Value, req[p.Key], stack)
		if err != nil {
			return field{}, fmt.Errorf("%s: %w", p.Key, err)
		}
		f.Fields = append(f.Fields, pf)
	}
	if a := m.AdditionalProperties; a != nil && a.Schema != nil {
		af, err := r.field("{any name}", a.Schema, false, stack)
		if err != nil {
			return field{}, err
		}
		f.Fields = append(f.Fields, af)
	}
	return f, nil
}

func prefixNotes(prefix string, ns [][]span) [][]span {
	out := make([][]span, len(ns))
	for i, n := range ns {
		out[i] = append([]span{{Text: prefix}}, n...)
	}
	return out
}

// merged is a schema with its allOf parts folded in.
type merged struct {
	schema
	ref string // the component an allOf of one reference names
}

func (r *resolver) merge(s *schema, stack []string) (*merged, error) {
	m := &merged{schema: *s}
	m.AllOf = nil
	m.Properties = append(ordered[*schema](nil), s.Properties...)
	m.Required = append([]string(nil), s.Required...)
	refs := 0
	for _, part := range s.AllOf {
		ps, name, err := r.schema(part)
		if err != nil {
			return nil, err
		}
		if name != "" {
			refs++
			m.ref = name
		}
		pm, err := r.merge(ps, stack)
		if err != nil {
			return nil, err
		}
		if m.Type == "" {
			m.Type = pm.Type
		}
		if m.Format == "" {
			m.Format = pm.Format
		}
		if m.Description == "" {
			m.Description = pm.Description
		}
		m.Nullable = m.Nullable || pm.Nullable
		if len(m.Enum) == 0 {
			m.Enum = pm.Enum
		}
		if m.Default.Kind == 0 {
			m.Default = pm.Default
		}
		if m.Minimum.Kind == 0 {
			m.Minimum = pm.Minimum
		}
		if m.Maximum.Kind == 0 {
			m.Maximum = pm.Maximum
		}
		m.ExclusiveMinimum = m.ExclusiveMinimum || pm.ExclusiveMinimum
		m.ExclusiveMaximum = m.ExclusiveMaximum || pm.ExclusiveMaximum
		m.MinLength, m.MaxLength = firstI(m.MinLength, pm.MinLength), firstI(m.MaxLength, pm.MaxLength)
		m.MinItems, m.MaxItems = firstI(m.MinItems, pm.MinItems), firstI(m.MaxItems, pm.MaxItems)
		if m.Pattern == "" {
			m.Pattern = pm.Pattern
		}
		if m.Items == nil {
			m.Items = pm.Items
		}
		if m.AdditionalProperties == nil {
			m.AdditionalProperties = pm.AdditionalProperties
		}
		if len(m.OneOf) == 0 {
			m.OneOf = pm.OneOf
		}
		if len(m.AnyOf) == 0 {
			m.AnyOf = pm.AnyOf
		}
		if m.Discriminator == nil {
			m.Discriminator = pm.Discriminator
		}
		m.Properties = append(m.Properties, pm.Properties...)
		m.Required = append(m.Required, pm.Required...)
	}
	if refs != 1 || len(s.Properties) > 0 {
		m.ref = ""
	}
	// A property that several parts describe is listed once, with what
	// each part says (the schema's own words first).
	var props ordered[*schema]
	at := map[string]int{}
	for _, p := range m.Properties {
		if i, ok := at[p.Key]; ok {
			props[i].Value = &schema{AllOf: []*schema{props[i].Value, p.Value}}
			continue
		}
		at[p.Key] = len(props)
		props = append(props, p)
	}
	m.Properties = props
	return m, nil
}

func firstI(a, b *int) *int {
	if a != nil {
		return a
	}
	return b
}

func (m *merged) typeName() string {
	if len(m.Enum) == 1 && deref(&m.Enum[0]).ShortTag() == "!!null" {
		return "null"
	}
	t := m.Type
	if t == "" {
		switch {
		case len(m.Properties) > 0 || m.AdditionalProperties != nil:
			t = "object"
		case m.Items != nil:
			t = "array"
		default:
			t = "any"
		}
	}
	if m.Format != "" {
		t += " (" + m.Format + ")"
	}
	return t
}

func notes(m *merged) [][]span {
	var out [][]span
	add := func(s ...span) { out = append(out, s) }
	if len(m.Enum) > 0 && !(len(m.Enum) == 1 && deref(&m.Enum[0]).ShortTag() == "!!null") {
		s := []span{{Text: "one of "}}
		if len(m.Enum) == 1 {
			s = []span{{Text: "always "}}
		}
		for i := range m.Enum {
			if i > 0 {
				s = append(s, span{Text: ", "})
			}
			s = append(s, span{Code: true, Text: scalarText(&m.Enum[i])})
		}
		add(s...)
	}
	if m.Default.Kind != 0 {
		add(span{Text: "default "}, span{Code: true, Text: scalarText(&m.Default)})
	}
	bound := func(v *yaml.Node, exclusive bool, op, xop string) {
		if v.Kind == 0 {
			return
		}
		if exclusive {
			op = xop
		}
		add(span{Text: op + " " + scalarText(v)})
	}
	bound(&m.Minimum, m.ExclusiveMinimum, "≥", ">")
	bound(&m.Maximum, m.ExclusiveMaximum, "≤", "<")
	if m.MultipleOf.Kind != 0 {
		add(span{Text: "multiple of " + scalarText(&m.MultipleOf)})
	}
	if t := rangeText(m.MinLength, m.MaxLength, "characters"); t != "" {
		add(span{Text: t})
	}
	if t := rangeText(m.MinItems, m.MaxItems, "items"); t != "" {
		add(span{Text: t})
	}
	if m.UniqueItems {
		add(span{Text: "unique items"})
	}
	if t := rangeText(m.MinProperties, m.MaxProperties, "members"); t != "" {
		add(span{Text: t})
	}
	if m.Pattern != "" {
		add(span{Text: "pattern "}, span{Code: true, Text: m.Pattern})
	}
	if a := m.AdditionalProperties; a != nil && !a.Allowed && len(m.Properties) > 0 {
		add(span{Text: "no other members"})
	}
	if m.Discriminator != nil && m.Discriminator.PropertyName != "" {
		add(span{Text: "chosen by "}, span{Code: true, Text: m.Discriminator.PropertyName})
	}
	if m.ReadOnly {
		add(span{Text: "read-only"})
	}
	if m.WriteOnly {
		add(span{Text: "write-only"})
	}
	if m.Deprecated {
		add(span{Text: "deprecated"})
	}
	return out
}

func rangeText(lo, hi *int, unit string) string {
	if hi != nil && *hi == 1 || hi == nil && lo != nil && *lo == 1 {
		unit = strings.TrimSuffix(unit, "s")
	}
	switch {
	case lo != nil && hi != nil && *lo == *hi:
		return fmt.Sprintf("exactly %d %s", *lo, unit)
	case lo != nil && hi != nil:
		return fmt.Sprintf("%d to %d %s", *lo, *hi, unit)
	case lo != nil:
		return fmt.Sprintf("at least %d %s", *lo, unit)
	case hi != nil:
		return fmt.Sprintf("at most %d %s", *hi, unit)
	}
	return ""
}

func schemeKind(s *securityScheme) string {
	switch s.Type {
	case "http":
		k := "HTTP " + s.Scheme
		if s.Scheme == "basic" {
			k = "HTTP Basic"
		} else if strings.EqualFold(s.Scheme, "bearer") {
			k = "HTTP Bearer"
		}
		if s.BearerFormat != "" {
			k += " (" + s.BearerFormat + ")"
		}
		return k
	case "apiKey":
		return fmt.Sprintf("API key in %s %s", s.In, s.Name)
	}
	return s.Type
}

// securityText names the schemes of a security requirement list: the
// alternatives joined by "or", the schemes one alternative needs by "and".
// A missing list is inherited; an empty one (or one with an empty
// alternative only) needs no authentication.
func securityText(reqs *[]ordered[yaml.Node], inherited string) string {
	if reqs == nil {
		return inherited
	}
	var alts []string
	for _, req := range *reqs {
		var names []string
		for _, p := range req {
			names = append(names, p.Key)
		}
		if len(names) == 0 {
			names = []string{"none"}
		}
		alts = append(alts, strings.Join(names, " and "))
	}
	if len(alts) == 0 {
		return "none"
	}
	return strings.Join(alts, " or ")
}

// scalarText shows a value inline: a string as it is, anything else as
// JSON.
func scalarText(n *yaml.Node) string {
	n = deref(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" && n.Value != "" {
		return n.Value
	}
	return exampleText(n, true)
}

// exampleText shows an example: JSON (in the document's key order) for a
// JSON media type, otherwise a string as it is and anything else as YAML.
func exampleText(n *yaml.Node, asJSON bool) string {
	n = deref(n)
	if !asJSON {
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
			return n.Value
		}
		out, err := yaml.Marshal(n)
		if err != nil {
			return fmt.Sprintf("(%v)", err)
		}
		return string(out)
	}
	var buf bytes.Buffer
	writeJSON(&buf, n)
	var out bytes.Buffer
	if err := json.Indent(&out, buf.Bytes(), "", "  "); err != nil {
		return buf.String()
	}
	return out.String()
}

func writeJSON(buf *bytes.Buffer, n *yaml.Node) {
	n = deref(n)
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) > 0 {
			writeJSON(buf, n.Content[0])
			return
		}
		buf.WriteString("null")
	case yaml.MappingNode:
		buf.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeString(buf, deref(n.Content[i]).Value)
			buf.WriteByte(':')
			writeJSON(buf, n.Content[i+1])
		}
		buf.WriteByte('}')
	case yaml.SequenceNode:
		buf.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeJSON(buf, c)
		}
		buf.WriteByte(']')
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			buf.WriteString("null")
		case "!!bool", "!!int", "!!float":
			var v any
			if err := n.Decode(&v); err == nil {
				if b, err := json.Marshal(v); err == nil {
					buf.Write(b)
					return
				}
			}
			writeString(buf, n.Value)
		default:
			writeString(buf, n.Value)
		}
	default:
		buf.WriteString("null")
	}
}

func writeString(buf *bytes.Buffer, s string) {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	buf.Truncate(buf.Len() - 1)
}

func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, c := range s {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' {
			b.WriteRune(c)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

// A description is Markdown-ish: paragraphs split by blank lines, lists of
// "- " items, and `code` spans. Nothing else is interpreted, and the
// template escapes all of it.

type block struct {
	List  bool
	Spans []span   // a paragraph
	Items [][]span // a list
}

type span struct {
	Text string
	Code bool
}

func markdown(s string) []block {
	var out []block
	var para []string
	var items []string
	flushPara := func() {
		if len(para) > 0 {
			out = append(out, block{Spans: inline(strings.Join(para, " "))})
			para = nil
		}
	}
	flushList := func() {
		if len(items) > 0 {
			b := block{List: true}
			for _, it := range items {
				b.Items = append(b.Items, inline(it))
			}
			out = append(out, b)
			items = nil
		}
	}
	for _, line := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		t := strings.TrimSpace(line)
		switch {
		case t == "":
			flushPara()
			flushList()
		case strings.HasPrefix(t, "- ") || strings.HasPrefix(t, "* "):
			flushPara()
			items = append(items, strings.TrimSpace(t[2:]))
		case len(items) > 0 && line != t: // an indented line goes on the item
			items[len(items)-1] += " " + t
		default:
			flushList()
			para = append(para, t)
		}
	}
	flushPara()
	flushList()
	return out
}

// inline splits text into plain and `code` spans; an unpaired backtick is
// plain text.
func inline(s string) []span {
	var out []span
	for {
		i := strings.IndexByte(s, '`')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i+1:], '`')
		if j < 0 {
			break
		}
		if i > 0 {
			out = append(out, span{Text: s[:i]})
		}
		out = append(out, span{Text: s[i+1 : i+1+j], Code: true})
		s = s[i+1+j+1:]
	}
	if s != "" {
		out = append(out, span{Text: s})
	}
	return out
}
