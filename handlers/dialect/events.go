package dialect

import (
	"slices"

	"switchboard/models"
)

// EventName is one of a vendor's webhook event names and the model's event
// types it stems from.
type EventName struct {
	Name  string
	Types []models.EventType
}

// EventNames is a vendor's table of webhook event names, in a fixed order:
// the part of a webhook format's catalog every format has alike.
type EventNames []EventName

// EventNames returns the table's names, in its order.
func (t EventNames) EventNames() []string {
	out := make([]string, len(t))
	for i, e := range t {
		out[i] = e.Name
	}
	return out
}

// TypesOf returns the model's event types the named event stems from, and
// false for a name the table does not have.
func (t EventNames) TypesOf(name string) ([]models.EventType, bool) {
	for _, e := range t {
		if e.Name == name {
			return slices.Clone(e.Types), true
		}
	}
	return nil, false
}
