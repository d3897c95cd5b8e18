package store

import (
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm/schema"

	"switchboard/models"
)

// TestColumns_MatchModels checks that each explicit column list of the hot
// paths names its model's columns, every one and in field order, so that a
// field added to a model cannot be left out of (or scanned into the wrong
// place by) scanCase, scanAgent, scanContact or insertMessage.
func TestColumns_MatchModels(t *testing.T) {
	tests := []struct {
		name   string
		model  any
		fields string
		skipID bool
	}{
		{"case", &models.Case{}, caseFields, false},
		{"agent", &models.Agent{}, agentFields, false},
		{"contact", &models.Contact{}, contactFields, false},
		{"message insert", &models.Message{}, messageInsertFields, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sch, err := schema.Parse(tt.model, &sync.Map{}, schema.NamingStrategy{})
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, f := range sch.Fields {
				if f.DBName == "" || (tt.skipID && f.PrimaryKey) {
					continue
				}
				want = append(want, f.DBName)
			}
			var got []string
			for _, c := range strings.Split(tt.fields, ",") {
				got = append(got, strings.TrimSpace(c))
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("columns\n got %v\nwant %v", got, want)
			}
		})
	}
}
