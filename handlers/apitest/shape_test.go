package apitest

import (
	"slices"
	"testing"
)

func TestShape_Missing(t *testing.T) {
	const example = `{"data":{"id":1,"name":"a","meta":null,"cas":{"meta":{"contact":{"id":2}}},
		"users":[{"id":3,"user":{"roles":[]}},{"id":4,"meta":null}],"attachments":[]}}`
	tests := []struct {
		name string
		got  string
		want []string
	}{
		{"the same", example, nil},
		{"more fields are fine",
			`{"data":{"id":1,"name":"a","x":1,"meta":{},"cas":{"meta":{"contact":{"id":2}}},"users":[{"id":3,"meta":null,"user":{"roles":[]}}],"attachments":[]}}`, nil},
		{"null where we have no value",
			`{"data":{"id":null,"name":null,"meta":null,"cas":null,"users":[{"id":3,"user":null,"meta":null}],"attachments":[]}}`, nil},
		{"a missing key",
			`{"data":{"id":1,"meta":null,"cas":{"meta":{"contact":{"id":2}}},"users":[{"id":3,"meta":null,"user":{"roles":[]}}],"attachments":[]}}`,
			[]string{"data.name: missing (the example has string)"}},
		{"a nested key elsewhere",
			`{"data":{"id":1,"name":"a","meta":null,"cas":{"contact":{"id":2}},"users":[],"attachments":[]}}`,
			[]string{"data.cas.meta: missing (the example has object)"}},
		{"another type",
			`{"data":{"id":"1","name":"a","meta":null,"cas":{"meta":{"contact":{"id":2}}},"users":[{"id":3,"meta":null,"user":{"roles":{}}}],"attachments":{}}}`,
			[]string{"data.attachments: object, the example has array", "data.id: string, the example has number", "data.users[].user.roles: object, the example has array"}},
		{"an item's key missing",
			`{"data":{"id":1,"name":"a","meta":null,"cas":{"meta":{"contact":{"id":2}}},"users":[{"meta":null,"user":{"roles":[]}}],"attachments":[]}}`,
			[]string{"data.users[].id: missing (the example has number)"}},
	}
	want, err := ShapeOf([]byte(example))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ShapeOf([]byte(tt.got))
			if err != nil {
				t.Fatal(err)
			}
			if m := want.Missing(got); !slices.Equal(m, tt.want) {
				t.Errorf("Missing = %q, want %q", m, tt.want)
			}
		})
	}
	if _, err := ShapeOf([]byte(`{`)); err == nil {
		t.Error("ShapeOf accepted a truncated document")
	}
}
